//! BurnDataset: the chips of a sampler's epoch as a burn `Dataset` (read on demand by a [`ChipReader`]), and
//! BurnBatcher, which stacks them into a [`BurnBatch`] — for users of burn's own `DataLoaderBuilder`.

use std::sync::{Arc, Mutex};

use ::burn::data::dataloader::batcher::Batcher;
use ::burn::data::dataset::{Dataset, DatasetError};
use ::burn::tensor::{BoolStore, DType, Device, TensorData};
use geochips_samplers::{GeoSlice, Sampler};

use super::BurnBatch;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::loader::{ChipReader, LoaderConfig};

/// One chip, copied out of the ring: what a [`BurnDataset`] item is.
#[derive(Debug, Clone)]
pub struct BurnChip {
    /// The image, `f32` [C, H, W]: the samples' values, cast.
    pub image: Vec<f32>,
    /// The labels [H, W] (class indices); `None` when the loader reads no labels.
    pub mask: Option<Vec<i64>>,
    /// Validity [H, W]: 1 where every band of the chip is valid.
    pub valid: Vec<u8>,
    /// (channels, height, width).
    pub shape: [usize; 3],
    /// The chip's GeoSlice.
    pub slice: GeoSlice,
}

/// The chips of one epoch of a sampler, by index: item `i` is the sampler's `i`-th slice, read when asked
/// for. `get_many` reads up to `config.batch_size` chips at once (one pass of the loader's pipeline).
#[derive(Debug)]
pub struct BurnDataset {
    reader: Mutex<ChipReader>,
    slices: Vec<GeoSlice>,
}

impl BurnDataset {
    /// The chips of `sampler`'s current epoch over `catalog` (its slices are drawn now and kept, about 100
    /// bytes each), read as `config` says. Fails as [`crate::Loader::new`] does.
    pub fn new(
        catalog: Arc<Catalog>,
        mut sampler: impl Sampler,
        config: LoaderConfig,
    ) -> Result<BurnDataset> {
        let len = sampler.epoch_len() as usize;
        let slices = sampler.by_ref().take(len).collect();
        Ok(BurnDataset {
            reader: Mutex::new(ChipReader::new(catalog, config)?),
            slices,
        })
    }

    /// The slices of the chips at `indexes`, or an error naming the first index past the end.
    fn slices(&self, indexes: &[usize]) -> Result<Vec<GeoSlice>> {
        indexes
            .iter()
            .map(|&i| {
                self.slices.get(i).copied().ok_or_else(|| Error::Loader {
                    reason: format!("chip {i} asked for, the dataset has {}", self.slices.len()),
                })
            })
            .collect()
    }

    /// Read `slices` in chunks the reader takes, each chip copied out of the ring.
    fn read(&self, slices: &[GeoSlice]) -> Result<Vec<BurnChip>> {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut chips = Vec::with_capacity(slices.len());
        for part in slices.chunks(reader.batch_size()) {
            let batch = reader.read(part)?;
            let [_, c, h, w] = batch.shape();
            let image = crate::train::image_as::<f32>(&batch);
            let mask = crate::train::labels_as::<i64>(&batch);
            let valid = batch.valid_bytes().chunks_exact(h * w);
            for (i, (valid, slice)) in valid.zip(batch.slices()).enumerate() {
                chips.push(BurnChip {
                    image: image[i * c * h * w..][..c * h * w].to_vec(),
                    mask: mask.as_ref().map(|m| m[i * h * w..][..h * w].to_vec()),
                    valid: valid.to_vec(),
                    shape: [c, h, w],
                    slice: *slice,
                });
            }
        }
        Ok(chips)
    }
}

impl Dataset<BurnChip> for BurnDataset {
    /// Chip `index`; an index past the end is an error (not a panic).
    fn get(&self, index: usize) -> Result<BurnChip, DatasetError> {
        self.get_many(vec![index])?.pop().ok_or_else(|| {
            DatasetError::new(Error::Loader {
                reason: format!("chip {index} not read"),
            })
        })
    }

    fn get_many(&self, indexes: Vec<usize>) -> Result<Vec<BurnChip>, DatasetError> {
        self.slices(&indexes)
            .and_then(|slices| self.read(&slices))
            .map_err(DatasetError::new)
    }

    fn len(&self) -> usize {
        self.slices.len()
    }
}

/// Stacks [`BurnChip`]s into a [`BurnBatch`] on the device burn's data loader asks for (with a mask when
/// every chip has labels).
#[derive(Debug, Clone, Copy, Default)]
pub struct BurnBatcher;

impl Batcher<BurnChip, BurnBatch> for BurnBatcher {
    fn batch(&self, chips: Vec<BurnChip>, device: &Device) -> BurnBatch {
        let [c, h, w] = chips.first().map_or([0; 3], |chip| chip.shape);
        let b = chips.len();
        let image = chips
            .iter()
            .flat_map(|chip| chip.image.iter().copied())
            .collect();
        let mask = chips
            .iter()
            .map(|chip| chip.mask.as_deref())
            .collect::<Option<Vec<&[i64]>>>()
            .map(|masks| TensorData::new(masks.concat(), [b, h, w]));
        let valid = chips
            .iter()
            .flat_map(|chip| chip.valid.iter().copied())
            .collect();
        let slices = chips.iter().map(|chip| chip.slice).collect();
        BurnBatch::from_data(
            TensorData::new::<f32, _>(image, [b, c, h, w]),
            mask,
            TensorData::from_bytes_vec(valid, [b, h, w], DType::Bool(BoolStore::U8)),
            slices,
            device,
        )
    }
}
