//! Adapters that hand the loader's batches to Rust training frameworks: [`burn`] (cargo feature `burn`) and
//! [`candle`] (cargo feature `candle`). They consume [`Batch`]es; nothing before them knows they exist.
//!
//! Both give, on the device the caller picks, the image as `f32` [B, C, H, W] (the samples' values, cast,
//! not scaled), the mask — the labels of [`crate::LoaderConfig::labels`] as class indices [B, H, W], none
//! when the loader reads no labels — and the validity [B, H, W], as the Python batch does.
//!
//! Both take the slot's `f32` samples as they are, so the loader best casts the images itself, on its decode
//! pool ([`with_f32_images`]): burn's CPU device reads them in the slot (`BurnLoader` makes its loader so),
//! candle's CPU tensors take the slot's image memory over, and on a GPU both copy them straight from the
//! slot. Images of another type each adapter casts in one pass on the consumer's thread.

#[cfg(feature = "burn")]
pub mod burn;
#[cfg(feature = "candle")]
pub mod candle;

use crate::dtype::DataType;
use crate::loader::{Batch, LoaderConfig, Sample};

/// `config` with its ops followed by a cast of the image to `f32` (the only op when it has none; an image
/// already `f32` is left as it is), and the ring's images ready to be handed over
/// ([`LoaderConfig::hand_over_images`]): its batches hold the values the adapters would cast them to (`as`,
/// after every op), cast on the decode pool in parallel. The cast costs the loader a pass and its slots twice
/// the bytes of `u16` samples, and saves the adapters theirs: burn and candle take the slot's `f32` samples
/// without a cast (on the CPU without a copy), so this is the configuration to give them.
pub fn with_f32_images(mut config: LoaderConfig) -> LoaderConfig {
    let ops = config.ops.take().unwrap_or_default();
    config.ops = Some(ops.then(crate::ops::Cast::new(DataType::F32)));
    config.hand_over_images = true;
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
/// cast itself, so the buffer asks for transparent huge pages ([`crate::ring::huge_pages`]), which about
/// halved the candle adapter's cost of casting `u16` images (benches/train_adapters: 0.54 ms down to 0.29 ms
/// per chip of 4 x 256² samples).
fn fill<S: Copy, O>(samples: &[S], cast: impl Fn(S) -> O) -> Vec<O> {
    let mut out: Vec<O> = Vec::with_capacity(samples.len());
    crate::ring::huge_pages(out.as_mut_ptr().cast(), samples.len() * size_of::<O>());
    out.extend(samples.iter().map(|&v| cast(v)));
    out
}
