//! burn: the loader as a burn [`DataLoader`](::burn::data::dataloader::DataLoader) ([`BurnLoader`]: our
//! prefetch and ring, not burn's worker threads) and as a burn [`Dataset`](::burn::data::dataset::Dataset)
//! ([`BurnDataset`] + [`BurnBatcher`], for burn's own pipeline).
//!
//! ```no_run
//! # fn main() -> geochips::Result<()> {
//! use std::sync::Arc;
//! use burn::data::dataloader::DataLoader;
//! use burn::tensor::Device;
//! use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
//! use geochips::train::burn::BurnLoader;
//! use geochips::{Catalog, LoaderConfig};
//!
//! # let catalog: Catalog = unimplemented!();
//! let options = RandomOptions { size: ChipSize::pixels(256), length: Some(1024), ..RandomOptions::default() };
//! let sampler = RandomSampler::new(&catalog.footprints(), options).expect("sampler");
//! let device = Device::flex().autodiff();
//! let loader = BurnLoader::new(Arc::new(catalog), sampler, LoaderConfig::new(256, 256), device)?;
//! for batch in loader.iter() {
//!     let batch = batch.expect("batch"); // image: Tensor<4> [B, C, H, W], mask: Option<Tensor<3, Int>>
//! }
//! # Ok(()) }
//! ```

mod dataset;
mod loader;

pub use dataset::{BurnBatcher, BurnChip, BurnDataset};
pub use loader::BurnLoader;

use ::burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use geochips_samplers::GeoSlice;

use crate::loader::Batch;

/// A batch as burn tensors on one device.
#[derive(Debug, Clone)]
pub struct BurnBatch {
    /// The images, `f32` [B, C, H, W]: the samples' values, cast.
    pub image: Tensor<4>,
    /// The labels [B, H, W] (class indices); `None` when the loader reads no labels.
    pub mask: Option<Tensor<3, Int>>,
    /// Validity [B, H, W]: true where every band of the chip is valid.
    pub valid: Tensor<3, Bool>,
    /// Each chip's GeoSlice, in batch order.
    pub slices: Vec<GeoSlice>,
}

impl BurnBatch {
    /// `batch` as tensors on `device`: one pass over the ring slot, then burn's own copy onto the device.
    pub fn new(batch: &Batch, device: &Device) -> BurnBatch {
        BurnBatch::head(batch, batch.len(), device)
    }

    /// The first `chips` chips of `batch` (all of them when `chips` is larger) as tensors on `device`.
    fn head(batch: &Batch, chips: usize, device: &Device) -> BurnBatch {
        let [b, c, h, w] = batch.shape();
        let chips = chips.min(b);
        let mut image = super::image_as::<f32>(batch);
        image.truncate(chips * c * h * w);
        let mut mask = super::labels_as::<i64>(batch);
        if let Some(mask) = &mut mask {
            mask.truncate(chips * h * w);
        }
        let valid = &batch.valid_bytes()[..chips * h * w];
        let slices = batch.slices()[..chips].to_vec();
        BurnBatch::from_parts(image, mask, valid, [chips, c, h, w], slices, device)
    }

    /// The tensors of `image` ([B, C, H, W] given by `shape`), `mask` and `valid` ([B, H, W]) on `device`.
    fn from_parts(
        image: Vec<f32>,
        mask: Option<Vec<i64>>,
        valid: &[u8],
        shape: [usize; 4],
        slices: Vec<GeoSlice>,
        device: &Device,
    ) -> BurnBatch {
        let [b, _, h, w] = shape;
        let valid: Vec<bool> = valid.iter().map(|&v| v != 0).collect();
        BurnBatch {
            image: Tensor::from_data(TensorData::new(image, shape), device),
            mask: mask.map(|mask| Tensor::from_data(TensorData::new(mask, [b, h, w]), device)),
            valid: Tensor::from_data(TensorData::new(valid, [b, h, w]), device),
            slices,
        }
    }
}
