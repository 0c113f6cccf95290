//! candle: batches as candle tensors on a chosen device — [`CandleBatch`], through [`CandleBatches`], an
//! iterator adapter over a [`Loader`](crate::Loader) (or any iterator of batches).
//!
//! candle cannot borrow foreign memory: its CPU tensors own theirs, as `Vec`s. So give it a loader that casts
//! the images to `f32` itself, on its decode pool ([`crate::train::with_f32_images`]): on the CPU the image
//! tensor then takes the ring slot's image memory over without a copy ([`Batch::into_image`]), and the slot
//! gets fresh memory for its next batch (faulted in by the decode pool as it writes, in huge pages); on a GPU
//! the `f32` samples are copied straight from the (pinned) slot to the device. Images of another type are
//! cast once, into fresh memory the tensor takes over, as are the labels (to `u32`); the validity is copied.
//! On 256² chips of 4 bands (benches/train_adapters) the consumer's thread spends beyond the bare loader's
//! 3–4% of the loader's CPU time with `f32` images, 20–30% when it casts `u16` ones. The fresh memory still
//! costs the decode pool the kernel's zeroing of it (candle's chips/s: 0.88–0.93 of the bare `f32` loader's):
//! glibc unmaps a freed block above its mmap threshold (32 MiB at most by default; a batch of 32 such chips
//! is 32 MiB). Raising it lets the next slot reuse what the last tensor gave back (0.97):
//! `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=100000000:glibc.malloc.trim_threshold=400000000`. A pinned
//! ring (a CUDA driver is present) hands nothing over, so there `f32` images are copied on the CPU
//! (`GEOCHIPS_NO_PIN=1` for a CPU-only run on such a machine), as they are when the batch is also held
//! elsewhere (a clone of it or of its lease).
//!
//! ```no_run
//! # fn main() -> geochips::Result<()> {
//! use geochips::train::{candle::CandleBatches, with_f32_images};
//! # let (catalog, sampler): (std::sync::Arc<geochips::Catalog>, geochips::samplers::RandomSampler) = unimplemented!();
//! let config = with_f32_images(geochips::LoaderConfig::new(256, 256));
//! let mut loader = geochips::Loader::new(catalog, sampler, config)?;
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
    /// `batch` as tensors on `device`: on the CPU, `f32` images are taken out of the ring slot without a copy
    /// (see the [module docs](self)); everything else is cast or copied from the slot once.
    pub fn new(batch: Batch, device: &Device) -> Result<CandleBatch> {
        let [b, c, h, w] = batch.shape();
        let index = batch.index();
        let failed = |e: candle_core::Error| Error::Tensor {
            framework: "candle",
            reason: format!("batch {index}: {e}"),
        };
        let mask = super::labels_as::<u32>(&batch)
            .map(|labels| Tensor::from_vec(labels, (b, h, w), device))
            .transpose()
            .map_err(failed)?;
        let valid = Tensor::from_slice(batch.valid_bytes(), (b, h, w), device).map_err(failed)?;
        let image = match batch.dtype() {
            DataType::F32 if !device.is_cpu() => {
                let view = batch.image::<f32>()?;
                let samples = view.to_slice().expect("slot planes are contiguous");
                Tensor::from_slice(samples, (b, c, h, w), device)
            }
            DataType::F32 => {
                let samples = batch
                    .into_image::<f32>()
                    .unwrap_or_else(|batch| super::image_as::<f32>(&batch));
                Tensor::from_vec(samples, (b, c, h, w), device)
            }
            _ => Tensor::from_vec(super::image_as::<f32>(&batch), (b, c, h, w), device),
        };
        Ok(CandleBatch {
            image: image.map_err(failed)?,
            mask,
            valid,
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
        Some(batch.and_then(|batch| CandleBatch::new(batch, &self.device)))
    }
}
