//! candle: batches as candle tensors on a chosen device — [`CandleBatch`], through [`CandleBatches`], an
//! iterator adapter over a [`Loader`](crate::Loader) (or any iterator of batches).
//!
//! candle cannot borrow foreign memory, so each region of the ring slot is copied exactly once. On the CPU
//! the images and labels are cast into fresh memory the tensor takes over (in huge pages where Linux gives
//! them: filling fresh memory costs more than the cast), so a loader that casts the images to `f32` itself
//! ([`crate::train::with_f32_images`]) gains nothing there. On a GPU, `f32` images are copied straight from the
//! (pinned) slot to the device, so that loader is the one to use.
//!
//! ```no_run
//! # fn main() -> geochips::Result<()> {
//! use geochips::train::candle::CandleBatches;
//! # let mut loader: geochips::Loader = unimplemented!();
//! for batch in CandleBatches::new(&mut loader, candle_core::Device::Cpu) {
//!     let batch = batch?; // image: f32 [B, C, H, W], mask: Option<u32 [B, H, W]>, valid: u8 [B, H, W]
//! }
//! # Ok(()) }
//! ```

use candle_core::{Device, Tensor};

use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::loader::Batch;

/// A batch as candle tensors on one device.
#[derive(Debug, Clone)]
pub struct CandleBatch {
    /// The images, `f32` [B, C, H, W]: the samples' values, cast.
    pub image: Tensor,
    /// The labels, `u32` class indices [B, H, W] (what candle's losses take); `None` when the loader reads
    /// no labels.
    pub mask: Option<Tensor>,
    /// Validity, `u8` [B, H, W]: 1 where every band of the chip is valid.
    pub valid: Tensor,
}

impl CandleBatch {
    /// `batch` as tensors on `device`.
    pub fn new(batch: &Batch, device: &Device) -> Result<CandleBatch> {
        let [b, c, h, w] = batch.shape();
        let failed = |e: candle_core::Error| Error::Tensor {
            framework: "candle",
            reason: format!("batch {}: {e}", batch.index()),
        };
        let image = if batch.dtype() == DataType::F32 && !device.is_cpu() {
            let view = batch.image::<f32>()?;
            let samples = view.to_slice().expect("slot planes are contiguous");
            Tensor::from_slice(samples, (b, c, h, w), device)
        } else {
            Tensor::from_vec(super::image_as::<f32>(batch), (b, c, h, w), device)
        };
        let mask = super::labels_as::<u32>(batch)
            .map(|labels| Tensor::from_vec(labels, (b, h, w), device))
            .transpose();
        Ok(CandleBatch {
            image: image.map_err(failed)?,
            mask: mask.map_err(failed)?,
            valid: Tensor::from_slice(batch.valid_bytes(), (b, h, w), device).map_err(failed)?,
        })
    }
}

/// An iterator of [`CandleBatch`]es over an iterator of batches: pass `&mut loader` to keep the loader for
/// the next epoch.
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
    type Item = Result<CandleBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.batches.next()?;
        Some(batch.and_then(|batch| CandleBatch::new(&batch, &self.device)))
    }
}
