//! Adapters that hand the loader's batches to Rust training frameworks: [`burn`] (cargo feature `burn`) and
//! [`candle`] (cargo feature `candle`). They consume [`Batch`]es; nothing before them knows they exist.
//!
//! Both give, on the device the caller picks, the image as `f32` [B, C, H, W] (the samples' values, cast,
//! not scaled), the mask — the labels of [`crate::LoaderConfig::labels`] as class indices [B, H, W], none
//! when the loader reads no labels — and the validity [B, H, W], as the Python batch does.

#[cfg(feature = "burn")]
pub mod burn;
#[cfg(feature = "candle")]
pub mod candle;

use crate::dtype::DataType;
use crate::loader::{Batch, Sample};

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
                    DataType::U8 => samples::<u8>(batch, plane).iter().map(|&v| v as $o).collect(),
                    DataType::I8 => samples::<i8>(batch, plane).iter().map(|&v| v as $o).collect(),
                    DataType::U16 => samples::<u16>(batch, plane).iter().map(|&v| v as $o).collect(),
                    DataType::I16 => samples::<i16>(batch, plane).iter().map(|&v| v as $o).collect(),
                    DataType::U32 => samples::<u32>(batch, plane).iter().map(|&v| v as $o).collect(),
                    DataType::I32 => samples::<i32>(batch, plane).iter().map(|&v| v as $o).collect(),
                    DataType::F32 => samples::<f32>(batch, plane).iter().map(|&v| v as $o).collect(),
                    DataType::F64 => samples::<f64>(batch, plane).iter().map(|&v| v as $o).collect(),
                    DataType::F16 => samples::<half::f16>(batch, plane).iter().map(|&v| v.to_f32() as $o).collect(),
                    DataType::BF16 => samples::<half::bf16>(batch, plane).iter().map(|&v| v.to_f32() as $o).collect(),
                }
            }
        })*
    };
}
cast!(f32, i64, u32);
