//! Adapters that hand the loader's batches to Rust training frameworks: [`burn`] (cargo feature `burn`) and
//! [`candle`] (cargo feature `candle`). They consume [`Batch`]es; nothing before them knows they exist.
//!
//! Both give, on the device the caller picks, the image as `f32` [B, C, H, W] (the samples' values, cast,
//! not scaled), the mask — the labels of [`crate::LoaderConfig::labels`] as class indices [B, H, W], none
//! when the loader reads no labels — and the validity [B, H, W], as the Python batch does.
//!
//! Where the adapter can hand the slot's `f32` samples over as they are — burn (whose `BurnLoader`
//! makes its loader so) and candle on a GPU — the loader best casts the images itself, on its decode pool:
//! [`with_f32_images`].

#[cfg(feature = "burn")]
pub mod burn;
#[cfg(feature = "candle")]
pub mod candle;

use crate::dtype::DataType;
use crate::loader::{Batch, LoaderConfig, Sample};

/// `config` with its ops followed by a cast of the image to `f32` (the only op when it has none; an image
/// already `f32` is left as it is): its batches hold the values the adapters would cast them to (`as`, after
/// every op), cast on the decode pool in parallel. The cast costs the loader a pass and its slots twice the
/// bytes of `u16` samples, so it pays where the adapter then takes the slot's samples without a cast: burn,
/// candle on a GPU; not candle on the CPU, which casts while it fills the fresh memory its tensors need.
pub fn with_f32_images(mut config: LoaderConfig) -> LoaderConfig {
    let ops = config.ops.take().unwrap_or_default();
    config.ops = Some(ops.then(crate::ops::Cast::new(DataType::F32)));
    config
}

/// The batch's images cast to `O`, [B, C, H, W] in C order: one pass over the ring slot.
pub(crate) fn image_as<O: Cast>(batch: &Batch) -> Vec<O> {
    O::cast(batch, batch.dtype(), Plane::Image)
}

/// The batch's labels cast to `O`, [B, H, W] in C order (one pass over the ring slot); `None` when the
/// loader reads no labels.
pub(crate) fn labels_as<O: Cast>(batch: &Batch) -> Option<Vec<O>> {
    Some(O::cast(batch, batch.mask_dtype()?, Plane::Labels))
}

/// A region of a batch's slot.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Plane {
    Image,
    Labels,
}

/// The samples of `plane`, viewed as `T` (its own type).
fn samples<T: Sample>(batch: &Batch, plane: Plane) -> &[T] {
    let view = match plane {
        Plane::Image => batch.image::<T>().map(|v| v.to_slice()),
        Plane::Labels => batch.mask::<T>().map(|v| v.to_slice()),
    };
    view.expect("viewed as the plane's own type")
        .expect("slot planes are contiguous")
}

/// Number types the adapters hand over, cast from every sample type with `as`.
pub(crate) trait Cast: Sized {
    /// The samples of `plane`, of type `dtype`, cast.
    fn cast(batch: &Batch, dtype: DataType, plane: Plane) -> Vec<Self>;
}

macro_rules! cast {
    ($($o:ty),*) => {
        $(impl Cast for $o {
            fn cast(batch: &Batch, dtype: DataType, plane: Plane) -> Vec<$o> {
                match dtype {
                    DataType::U8 => fill(samples::<u8>(batch, plane), |v| v as $o),
                    DataType::I8 => fill(samples::<i8>(batch, plane), |v| v as $o),
                    DataType::U16 => fill(samples::<u16>(batch, plane), |v| v as $o),
                    DataType::I16 => fill(samples::<i16>(batch, plane), |v| v as $o),
                    DataType::U32 => fill(samples::<u32>(batch, plane), |v| v as $o),
                    DataType::I32 => fill(samples::<i32>(batch, plane), |v| v as $o),
                    DataType::F32 => fill(samples::<f32>(batch, plane), |v| v as $o),
                    DataType::F64 => fill(samples::<f64>(batch, plane), |v| v as $o),
                    DataType::F16 => fill(samples::<half::f16>(batch, plane), |v| v.to_f32() as $o),
                    DataType::BF16 => fill(samples::<half::bf16>(batch, plane), |v| v.to_f32() as $o),
                }
            }
        })*
    };
}
cast!(f32, i64, u32);

/// `samples` cast by `cast` into fresh memory that a framework takes over (candle's CPU tensors own their
/// storage, so it cannot be reused across batches). Filling fresh memory costs more in page faults than the
/// cast itself, so on Linux the buffer asks for transparent huge pages (`madvise(MADV_HUGEPAGE)`: a fault per
/// 2 MiB rather than per 4 KiB), which about halves the candle adapter's own cost (benches/train_adapters:
/// 0.54 ms down to 0.29 ms per chip of 4 x 256² samples). The advice covers only whole 2 MiB pages inside the
/// buffer; where the kernel gives none, the buffer is as it would be without.
fn fill<S: Copy, O>(samples: &[S], cast: impl Fn(S) -> O) -> Vec<O> {
    let mut out: Vec<O> = Vec::with_capacity(samples.len());
    #[cfg(target_os = "linux")]
    huge_pages(out.as_mut_ptr().cast(), samples.len() * size_of::<O>());
    out.extend(samples.iter().map(|&v| cast(v)));
    out
}

/// Advise the kernel to back the whole 2 MiB pages of the `bytes` bytes at `start` (an allocation about to
/// be filled) with huge pages.
#[cfg(target_os = "linux")]
fn huge_pages(start: *mut u8, bytes: usize) {
    const HUGE: usize = 2 << 20;
    let first = (start as usize).next_multiple_of(HUGE);
    let end = (start as usize + bytes) / HUGE * HUGE;
    if end > first {
        // SAFETY: the range lies inside an allocation this thread owns; the advice changes how its pages are
        // backed, never what they hold. It is only advice: an error leaves the pages as they were.
        unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
    }
}
