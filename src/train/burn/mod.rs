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

use ::burn::tensor::{
    AllocationProperty, Bool, BoolStore, Bytes, DType, Device, Int, Tensor, TensorData,
};
use geochips_samplers::GeoSlice;

use crate::dtype::DataType;
use crate::loader::Batch;
use crate::ring::Lease;

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
    /// `batch` as tensors on `device`. burn reads the ring slot in place: an image of the device's float type
    /// (`f32`: see [`crate::train::with_f32_images`]) becomes a tensor of burn's CPU device without a copy,
    /// holding the slot until it is dropped (as a DLPack export does); other samples, the labels and the
    /// validity are cast by burn in one pass each. On another device burn copies each from the slot once.
    pub fn new(batch: &Batch, device: &Device) -> BurnBatch {
        BurnBatch::head(batch, batch.len(), device)
    }

    /// The first `chips` chips of `batch` (all of them when `chips` is larger) as tensors on `device`.
    fn head(batch: &Batch, chips: usize, device: &Device) -> BurnBatch {
        let [b, c, h, w] = batch.shape();
        let chips = chips.min(b);
        let image = SlotRegion::shared(batch.lease(), Lease::image);
        let masks = SlotRegion::shared(batch.lease(), Lease::mask);
        let image_bytes = chips * c * h * w * batch.dtype().size();
        let image = image.read(
            &batch.image_bytes()[..image_bytes],
            [chips, c, h, w],
            burn_dtype(batch.dtype()),
        );
        let labels = batch.mask_bytes().zip(batch.mask_dtype());
        let mask = labels.map(|(bytes, dtype)| {
            masks.read(
                &bytes[..chips * h * w * dtype.size()],
                [chips, h, w],
                burn_dtype(dtype),
            )
        });
        let valid = masks.read(
            &batch.valid_bytes()[..chips * h * w],
            [chips, h, w],
            DType::Bool(BoolStore::U8),
        );
        let slices = batch.slices()[..chips].to_vec();
        BurnBatch::from_data(image, mask, valid, slices, device)
    }

    /// The tensors of `image` [B, C, H, W], `mask` and `valid` ([B, H, W], `u8` 0 or 1) on `device`, burn
    /// casting each to the device's type of its kind.
    fn from_data(
        image: TensorData,
        mask: Option<TensorData>,
        valid: TensorData,
        slices: Vec<GeoSlice>,
        device: &Device,
    ) -> BurnBatch {
        BurnBatch {
            image: Tensor::from_data(image, device),
            mask: mask.map(|mask| Tensor::from_data(mask, device)),
            valid: Tensor::from_data(valid, device),
            slices,
        }
    }
}

/// A region of a ring slot (its image or its mask region) shared with burn without a copy.
struct SlotRegion(bytes::Bytes);

impl SlotRegion {
    /// `region` of `lease`'s slot.
    fn shared(lease: &Lease, region: fn(&Lease) -> &[u8]) -> SlotRegion {
        SlotRegion(bytes::Bytes::from_owner(Leased {
            lease: lease.clone(),
            region,
        }))
    }

    /// `samples`, a part of this region, as burn data of `shape` and type `dtype`, read in place.
    fn read<const D: usize>(&self, samples: &[u8], shape: [usize; D], dtype: DType) -> TensorData {
        let bytes = Bytes::from_shared(self.0.slice_ref(samples), AllocationProperty::Other);
        TensorData::from_bytes(bytes, shape, dtype)
    }
}

/// A region of a slot with the slot's lease: the slot goes back to the ring once every tensor reading it is
/// dropped.
struct Leased {
    lease: Lease,
    region: fn(&Lease) -> &[u8],
}

impl AsRef<[u8]> for Leased {
    fn as_ref(&self) -> &[u8] {
        (self.region)(&self.lease)
    }
}

/// burn's name for a sample type.
fn burn_dtype(dtype: DataType) -> DType {
    match dtype {
        DataType::U8 => DType::U8,
        DataType::I8 => DType::I8,
        DataType::U16 => DType::U16,
        DataType::I16 => DType::I16,
        DataType::U32 => DType::U32,
        DataType::I32 => DType::I32,
        DataType::F32 => DType::F32,
        DataType::F64 => DType::F64,
        DataType::F16 => DType::F16,
        DataType::BF16 => DType::BF16,
    }
}
