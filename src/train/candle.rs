//! candle: batches as `(image, mask)` candle tensors on a chosen device, through [`CandleBatches`], an
//! iterator adapter over a [`Loader`](crate::Loader) (or any iterator of batches).
//!
//! candle cannot borrow foreign memory, so the ring slot is copied exactly once: `f32` images are copied
//! straight into the tensor's storage (on a GPU, one host-to-device copy from the — pinned — slot), other
//! sample types are cast into a buffer the CPU tensor takes over without a copy; the mask is copied as `u8`.
//!
//! ```no_run
//! # fn main() -> geochips::Result<()> {
//! use geochips::train::candle::CandleBatches;
//! # let mut loader: geochips::Loader = unimplemented!();
//! for tensors in CandleBatches::new(&mut loader, candle_core::Device::Cpu) {
//!     let (image, mask) = tensors?; // f32 [B, C, H, W], u8 [B, H, W]
//! }
//! # Ok(()) }
//! ```

use candle_core::{Device, Tensor};

use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::loader::Batch;

/// `batch` as `(image, mask)`: image `f32` [B, C, H, W] (the samples' values, cast), mask `u8` [B, H, W], on
/// `device`.
pub fn tensors(batch: &Batch, device: &Device) -> Result<(Tensor, Tensor)> {
    let [b, c, h, w] = batch.shape();
    let image = if batch.dtype() == DataType::F32 {
        let view = batch.image::<f32>()?;
        let samples = view.as_slice().expect("batch images are contiguous");
        Tensor::from_slice(samples, (b, c, h, w), device)
    } else {
        Tensor::from_vec(super::image_f32(batch), (b, c, h, w), device)
    };
    let mask = Tensor::from_slice(super::mask(batch), (b, h, w), device);
    let failed = |e: candle_core::Error| Error::Tensor {
        framework: "candle",
        reason: format!("batch {}: {e}", batch.index()),
    };
    Ok((image.map_err(failed)?, mask.map_err(failed)?))
}

/// An iterator of `(image, mask)` candle tensors (see [`tensors`]) over an iterator of batches: pass
/// `&mut loader` to keep the loader for the next epoch.
#[derive(Debug)]
pub struct CandleBatches<I> {
    batches: I,
    device: Device,
}

impl<I: Iterator<Item = Result<Batch>>> CandleBatches<I> {
    /// The tensors of `batches`' batches on `device`.
    pub fn new(batches: I, device: Device) -> CandleBatches<I> {
        CandleBatches { batches, device }
    }
}

impl<I: Iterator<Item = Result<Batch>>> Iterator for CandleBatches<I> {
    type Item = Result<(Tensor, Tensor)>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.batches.next()?;
        Some(batch.and_then(|batch| tensors(&batch, &self.device)))
    }
}
