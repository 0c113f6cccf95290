//! Adapters that hand the loader's batches to Rust training frameworks: [`burn`] (cargo feature `burn`) and
//! [`candle`] (cargo feature `candle`). They consume [`Batch`]es; nothing before them knows they exist.
//!
//! Both give the image as `f32` [B, C, H, W] — the samples' values, cast, not scaled — and the mask
//! [B, H, W] as integers, on the device the caller picks.

#[cfg(feature = "burn")]
pub mod burn;
#[cfg(feature = "candle")]
pub mod candle;

use crate::dtype::DataType;
use crate::loader::Batch;

/// The batch's images cast to `f32`, [B, C, H, W] in C order: the one pass that reads the ring slot.
pub(crate) fn image_f32(batch: &Batch) -> Vec<f32> {
    fn cast<T: crate::loader::Sample + Into<f64>>(batch: &Batch) -> Vec<f32> {
        let view = batch
            .image::<T>()
            .expect("cast is called with the batch's dtype");
        let samples = view.as_slice().expect("batch images are contiguous");
        samples
            .iter()
            .map(|&v| Into::<f64>::into(v) as f32)
            .collect()
    }
    match batch.dtype() {
        DataType::U8 => cast::<u8>(batch),
        DataType::I8 => cast::<i8>(batch),
        DataType::U16 => cast::<u16>(batch),
        DataType::I16 => cast::<i16>(batch),
        DataType::U32 => cast::<u32>(batch),
        DataType::I32 => cast::<i32>(batch),
        DataType::F32 => cast::<f32>(batch),
        DataType::F64 => cast::<f64>(batch),
    }
}

/// The batch's mask [B, H, W], one byte per pixel.
pub(crate) fn mask(batch: &Batch) -> &[u8] {
    batch.mask_bytes()
}
