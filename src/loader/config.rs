//! LoaderConfig: what a loader reads, how much it keeps in flight, and what it does on errors.

use std::collections::BTreeMap;

use super::Mosaic;
use crate::dtype::DataType;
use crate::ops::Sequential;
use crate::warp::Resampling;

/// What to do when a chip cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop: the iterator yields the error (naming the href and window) and ends.
    #[default]
    Raise,
    /// Replace the chip by the sampler's next slice and count it in [`super::LoaderStats::skipped`].
    Skip,
}

/// Where a loader's labels (the batch `mask`, TorchGeo's word for a target raster) come from. Labels are
/// categorical: read with nearest resampling only, never blended across items.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    /// The band of that name among each item's assets (e.g. a `"label"` COG beside the image bands); it is
    /// left out of the image when [`LoaderConfig::bands`] is `None`.
    Band(String),
}

/// How a [`super::Loader`] reads: the defaults suit random 256² chips from local or remote COGs.
#[derive(Debug, Clone, PartialEq)]
pub struct LoaderConfig {
    /// Band names to stack, in order, looked up in each item's assets; `None`: every band of every asset.
    pub bands: Option<Vec<String>>,
    /// The label raster read into each batch's `mask` [B, H, W] (its own sample type); `None`: no labels.
    pub labels: Option<Labels>,
    /// How a chip that covers several items is filled (default: first valid, newest first).
    pub mosaic: Mosaic,
    /// How image bands are resampled onto a chip's grid that is not their asset's own (another resolution, as
    /// a 20 m band stacked onto a 10 m chip, or another CRS): bilinear by default, as TorchGeo reads images.
    /// Chips on an asset's grid are read as stored, never resampled. Labels are always nearest.
    pub resampling: Resampling,
    /// [`LoaderConfig::resampling`] for the assets of these keys (e.g. nearest for a `"SCL"` class band).
    pub asset_resampling: BTreeMap<String, Resampling>,
    /// Chip width and height in pixels; every slice the sampler draws must have this size.
    pub chip_size: (u32, u32),
    /// Sample type of the batch image; `None`: the assets' own type (casting costs a copy per chip).
    pub dtype: Option<DataType>,
    /// Ops run on each chip after it is pasted, on the decode pool, before the batch is handed out (the ring
    /// slots hold their output); `None`: the chips as read.
    pub ops: Option<Sequential>,
    /// Samples per batch: chips, or time series of `time_steps` chips each.
    pub batch_size: usize,
    /// Chips per sample: 1 (default), or `T` for a time series sampler's samples of `T` slices at one place
    /// (a [`crate::samplers::TimeSeriesSampler`] of `steps = T`); a batch then holds `batch_size * T` chips,
    /// sample-major, viewed as [B, T, C, H, W] by [`super::Batch::image_series`] (and in Python).
    pub time_steps: usize,
    /// Batches being planned and fetched ahead of the consumer (their stored bytes count against
    /// `max_bytes`; they take a ring slot only to decode). Deeper hides more latency.
    pub prefetch: usize,
    /// Ring slots: batches being decoded or held by the consumer. At least 2.
    pub ring_slots: usize,
    /// Range requests in flight at once.
    pub max_requests: usize,
    /// Fetched (compressed) bytes in flight at once.
    pub max_bytes: u64,
    /// Decoded tiles kept for reuse across chips, in bytes (0: no cache, and partial tiles decoded).
    pub tile_cache_bytes: u64,
    /// Blocks whose stored bytes lie closer than this are fetched in one range request.
    pub coalesce_gap: u64,
    /// Threads of the loader's own decode pool; `None`: the process's shared pool (one thread per core).
    pub decode_threads: Option<usize>,
    /// Value written where a pixel is not valid; `None`: the asset's nodata, else 0 (as a boundless read).
    pub fill: Option<f64>,
    /// What to do when a chip cannot be read.
    pub on_error: OnError,
    /// Batches in sampler order (`true`) or as they complete (`false`).
    pub ordered: bool,
    /// Hold each ring slot's image in an allocation of its own, an array of its samples (aligned to the sample
    /// type, not to a page), so that [`super::Batch::into_image`] can hand it over as a `Vec` without a copy,
    /// for a framework whose tensors own their memory (candle's CPU tensors); the slot then gets fresh memory
    /// for its next batch. Set by [`crate::train::with_f32_images`]. A pinned ring (a CUDA driver is present)
    /// hands nothing over.
    pub hand_over_images: bool,
}

impl LoaderConfig {
    /// The defaults for chips of `width` x `height` pixels.
    pub fn new(width: u32, height: u32) -> LoaderConfig {
        LoaderConfig {
            bands: None,
            labels: None,
            mosaic: Mosaic::default(),
            resampling: Resampling::Bilinear,
            asset_resampling: BTreeMap::new(),
            chip_size: (width, height),
            dtype: None,
            ops: None,
            batch_size: 32,
            time_steps: 1,
            prefetch: 16,
            ring_slots: 4,
            max_requests: 256,
            max_bytes: 256 << 20,
            tile_cache_bytes: 256 << 20,
            coalesce_gap: 32 << 10,
            decode_threads: None,
            fill: None,
            on_error: OnError::Raise,
            ordered: true,
            hand_over_images: false,
        }
    }

    /// How the image bands of the asset keyed `key` are resampled.
    pub fn resampling_of(&self, key: &str) -> Resampling {
        self.asset_resampling
            .get(key)
            .copied()
            .unwrap_or(self.resampling)
    }
}
