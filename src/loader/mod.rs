//! The loader: GeoSlices from a sampler become batches of chips in a bounded ring of reusable slots.
//!
//! Per batch: draw `batch_size` slices, plan each chip (item → assets → COG level and pixel window), reserve
//! the batch's stored bytes (in batch order), fetch each distinct block once (one `get_ranges` per COG;
//! blocks in the decoded-tile cache are not fetched at all), take a free ring slot (in batch order, waiting
//! while every slot is being filled or held by the consumer), decode the distinct blocks once on the decode
//! pool and paste every chip straight into its place in the slot. Up to `prefetch` batches are in flight on a
//! tokio runtime the loader creates in the process that iterates it.

mod assemble;
mod batch;
mod config;
mod mosaic;
mod ops;
mod plan;
mod produce;
mod reader;
mod stats;
mod tile_cache;
mod turn;

pub use batch::{Batch, Sample};
pub use config::{Labels, LoaderConfig, OnError};
pub use mosaic::{Mosaic, Priority};
pub use reader::ChipReader;
pub use stats::LoaderStats;

use std::sync::{Arc, Mutex};

use futures::Stream;
use geochips_samplers::{Sampler, SamplerState};
use tokio::sync::Semaphore;

use crate::catalog::Catalog;
use crate::cog::HeaderCache;
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::ops::Spec;
use crate::ring::Ring;
use ops::LoaderOps;
use plan::{Group, find_band, layout};
use produce::Run;
use stats::Counters;
use tile_cache::TileCache;

/// What every task of a loader shares: the catalog, the configuration and the caches and limits.
#[derive(Debug)]
pub(crate) struct Shared {
    catalog: Arc<Catalog>,
    config: LoaderConfig,
    /// Per item: where each output channel comes from.
    layouts: Vec<Vec<Group>>,
    channels: usize,
    dtype: DataType,
    /// Per item: the (asset, band) of its labels, when the loader reads labels.
    labels: Vec<Option<(usize, usize)>>,
    /// The labels' sample type.
    label_dtype: Option<DataType>,
    /// The chips in the ring slots: the ops' output (the pasted chips when there are no ops).
    spec: Spec,
    ops: Option<LoaderOps>,
    headers: HeaderCache,
    tiles: TileCache,
    counters: Counters,
    requests: Semaphore,
    requests_limit: u32,
    bytes: Arc<Semaphore>,
    kib_limit: u32,
    scratch: Scratch,
    blocks: BlockPool,
    pool: crate::pool::PoolSlot,
}

/// Decoded-block buffers no chip needs any more, kept (up to [`BlockPool::LIMIT`] bytes) for the next
/// decodes, so steady-state decoding allocates nothing.
#[derive(Debug, Default)]
struct BlockPool(Mutex<(Vec<Vec<u8>>, usize)>);

impl BlockPool {
    /// Bytes of buffers kept at most.
    const LIMIT: usize = 32 << 20;

    /// A buffer to decode into (empty when the pool is).
    fn take(&self) -> Vec<u8> {
        let mut pool = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let buffer = pool.0.pop().unwrap_or_default();
        pool.1 -= buffer.capacity();
        buffer
    }

    /// Keep `block`'s buffer if nothing else holds it and the pool has room.
    fn give(&self, block: Arc<Vec<u8>>) {
        let Ok(buffer) = Arc::try_unwrap(block) else {
            return;
        };
        let mut pool = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if pool.1 + buffer.capacity() <= Self::LIMIT {
            pool.1 += buffer.capacity();
            pool.0.push(buffer);
        }
    }
}

/// Per-chip working buffers, reused across chips.
#[derive(Debug, Default)]
struct Buffers {
    /// Samples before a cast.
    data: Vec<u8>,
    /// Per-band validity.
    valid: Vec<u8>,
    /// A later mosaic item's chip: image, validity, labels.
    chip: (Vec<u8>, Vec<u8>, Vec<u8>),
    /// A resampled part's source window: samples and per-band validity.
    window: (Vec<u8>, Vec<u8>),
}

/// [`Buffers`] kept between chips.
#[derive(Debug, Default)]
struct Scratch(Mutex<Vec<Buffers>>);

impl Scratch {
    fn take(&self) -> Buffers {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    fn put(&self, buffers: Buffers) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(buffers);
    }
}

impl Shared {
    /// The pool chips are decoded on: the loader's own (`decode_threads`), made once per process, or the
    /// process's shared decode pool.
    fn pool(&self) -> Arc<rayon::ThreadPool> {
        match self.config.decode_threads {
            None => crate::pool::decode_pool(),
            Some(threads) => crate::pool::per_process(&self.pool, Some(threads), "geochips-loader"),
        }
    }

    /// Bytes of one chip's image, validity mask and labels in a slot (the ops' output).
    fn chip_bytes(&self) -> ChipBytes {
        ChipBytes {
            image: self.spec.image_bytes(),
            valid: self.spec.pixels(),
            labels: self.spec.labels_bytes(),
        }
    }

    /// Bytes of one chip's image, validity mask and labels as pasted (before the ops).
    fn pasted_bytes(&self) -> ChipBytes {
        let (w, h) = self.config.chip_size;
        let plane = w as usize * h as usize;
        ChipBytes {
            image: plane * self.channels * self.dtype.size(),
            valid: plane,
            labels: plane * self.label_dtype.map_or(0, DataType::size),
        }
    }

    /// Chips in a full batch: its samples times their time steps.
    fn batch_chips(&self) -> usize {
        self.config.batch_size * self.config.time_steps
    }

    /// Where the labels start in a slot's mask region: after the validity masks, 64-byte aligned.
    fn labels_offset(&self) -> usize {
        (self.chip_bytes().valid * self.batch_chips()).next_multiple_of(64)
    }

    /// Bytes of one ring slot's image region and mask region (validity masks, then labels).
    fn slot_bytes(&self) -> (usize, usize) {
        let chip = self.chip_bytes();
        let b = self.batch_chips();
        (chip.image * b, self.labels_offset() + chip.labels * b)
    }
}

/// Bytes of one chip's parts in a ring slot.
#[derive(Debug, Clone, Copy)]
struct ChipBytes {
    image: usize,
    valid: usize,
    labels: usize,
}

/// Batches of chips for a sampler's epoch: an `Iterator<Item = Result<Batch>>` (and [`Loader::stream`]).
///
/// Nothing starts at construction: the runtime, the decode pool and the ring are made on the first batch
/// asked for, in the process that asks (fork safe). Iteration ends with the sampler's epoch; call
/// [`Loader::set_epoch`] to go on.
pub struct Loader {
    shared: Arc<Shared>,
    sampler: Arc<Mutex<Box<dyn Sampler>>>,
    run: Option<Run>,
    ring: Option<(u32, Ring)>,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("config", &self.shared.config)
            .field("spec", &self.shared.spec)
            .finish_non_exhaustive()
    }
}

impl Loader {
    /// A loader of `sampler`'s slices over `catalog`. Checks that every item serves the configured bands with
    /// one channel count and sample type.
    pub fn new(
        catalog: Arc<Catalog>,
        sampler: impl Sampler + 'static,
        config: LoaderConfig,
    ) -> Result<Loader> {
        let bad = |reason: String| Err(Error::Loader { reason });
        if config.batch_size == 0
            || config.time_steps == 0
            || config.prefetch == 0
            || config.chip_size.0 == 0
            || config.chip_size.1 == 0
        {
            return bad("batch_size, time_steps, prefetch and chip_size must be positive".into());
        }
        if config.ring_slots < 2 {
            return bad(format!(
                "ring_slots is {}: at least 2 (one for the consumer, one being filled)",
                config.ring_slots
            ));
        }
        let Some(first) = catalog.items().first() else {
            return bad("the catalog has no items".into());
        };
        let label_band = config
            .labels
            .as_ref()
            .map(|Labels::Band(name)| name.as_str());
        let layouts: Vec<Vec<Group>> = catalog
            .items()
            .iter()
            .map(|item| layout(item, &config))
            .collect::<Result<_>>()?;
        let labels: Vec<Option<(usize, usize)>> = catalog
            .items()
            .iter()
            .map(|item| label_band.map(|name| find_band(item, name)).transpose())
            .collect::<Result<_>>()?;
        let label_dtype = labels[0].map(|(a, _)| first.assets[a].dtype);
        for (item, found) in catalog.items().iter().zip(&labels) {
            if let Some((a, _)) = found
                && Some(item.assets[*a].dtype) != label_dtype
            {
                return Err(Error::Item {
                    item: item.id.clone(),
                    reason: format!(
                        "labels are {}, item {}'s are {}",
                        item.assets[*a].dtype,
                        first.id,
                        label_dtype.expect("the first item has labels")
                    ),
                });
            }
        }
        let channels = |groups: &[Group]| groups.iter().map(|g| g.bands.len()).sum::<usize>();
        let Some(g0) = layouts[0].first() else {
            return Err(Error::Item {
                item: first.id.clone(),
                reason: "no image bands to read (only labels)".into(),
            });
        };
        let source = first.assets[g0.asset].dtype;
        for (item, groups) in catalog.items().iter().zip(&layouts) {
            let reason = if channels(groups) != channels(&layouts[0]) {
                format!(
                    "{} channels, item {} has {}",
                    channels(groups),
                    first.id,
                    channels(&layouts[0])
                )
            } else if let Some(g) = groups.iter().find(|g| item.assets[g.asset].dtype != source) {
                format!(
                    "asset {} is {}, item {}'s is {source}",
                    item.assets[g.asset].key, item.assets[g.asset].dtype, first.id
                )
            } else {
                continue;
            };
            return Err(Error::Item {
                item: item.id.clone(),
                reason,
            });
        }
        let names = layouts[0].iter().flat_map(|g| {
            let asset = &first.assets[g.asset];
            g.bands.iter().map(|&b| asset.bands[b].clone())
        });
        let (w, h) = config.chip_size;
        let pasted = Spec {
            labels: label_dtype,
            ..Spec::new(config.dtype.unwrap_or(source), names.collect(), w, h)
        };
        let ops = match &config.ops {
            Some(ops) => Some(LoaderOps::new(ops.pipeline(pasted.clone())?, catalog.len())),
            None => None,
        };
        let spec = ops.as_ref().map_or(pasted, |o| o.output().clone());
        let requests_limit = config.max_requests.clamp(1, Semaphore::MAX_PERMITS) as u32;
        let kib_limit = config.max_bytes.div_ceil(1024).clamp(1, u32::MAX as u64) as u32;
        let shared = Shared {
            channels: channels(&layouts[0]),
            dtype: config.dtype.unwrap_or(source),
            layouts,
            labels,
            label_dtype,
            spec,
            ops,
            headers: HeaderCache::default(),
            tiles: TileCache::new(config.tile_cache_bytes),
            counters: Counters::default(),
            requests: Semaphore::new(requests_limit as usize),
            requests_limit,
            bytes: Arc::new(Semaphore::new(kib_limit as usize)),
            kib_limit,
            scratch: Scratch::default(),
            blocks: BlockPool::default(),
            pool: Mutex::default(),
            catalog,
            config,
        };
        Ok(Loader {
            shared: Arc::new(shared),
            sampler: Arc::new(Mutex::new(Box::new(sampler))),
            run: None,
            ring: None,
        })
    }

    /// Start epoch `epoch` from its beginning (batches of the previous epoch still in flight are dropped).
    pub fn set_epoch(&mut self, epoch: u64) {
        self.run = None;
        self.lock_sampler().set_epoch(epoch);
    }

    /// Go back to the sampler state `state` (taken from this loader's sampler, or one like it): batches in flight
    /// are dropped and the next batch starts with the slice that followed when `state` was taken. To resume
    /// after `k` whole batches of an epoch, pass that epoch with `position = k * batch_size` (exact while no
    /// chip was skipped: `OnError::Skip` draws replacement slices).
    pub fn restore_sampler(&mut self, state: &SamplerState) {
        self.run = None;
        self.lock_sampler().restore(state);
    }

    /// Where the sampler stands: the slices drawn so far include those of batches still in flight.
    pub fn sampler_state(&self) -> SamplerState {
        self.lock_sampler().state()
    }

    /// The loader's counters so far.
    pub fn stats(&self) -> LoaderStats {
        self.shared.counters.snapshot()
    }

    /// Channels per chip (after the ops).
    pub fn channels(&self) -> usize {
        self.shared.spec.bands.len()
    }

    /// The batch image sample type (after the ops).
    pub fn dtype(&self) -> DataType {
        self.shared.spec.dtype
    }

    /// What the batches hold per chip, after the ops: sample type, band names, size, labels type.
    pub fn spec(&self) -> &Spec {
        &self.shared.spec
    }

    /// Whether the ring's slots are pinned host memory (`None` before the first batch made the ring).
    pub fn pinned(&self) -> Option<bool> {
        self.ring.as_ref().map(|(_, r)| r.pinned())
    }

    /// The batches as an async stream, for a consumer already on a tokio runtime. The pipeline itself runs on
    /// the loader's own runtime.
    pub fn stream(&mut self) -> impl Stream<Item = Result<Batch>> + '_ {
        let run = self.running();
        futures::stream::poll_fn(move |cx| run.poll_next(cx))
    }

    fn lock_sampler(&self) -> std::sync::MutexGuard<'_, Box<dyn Sampler>> {
        self.sampler.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current epoch's pipeline, started now if it is not running; the ring made once per process.
    fn running(&mut self) -> &mut Run {
        let pid = std::process::id();
        if self.run.as_ref().is_some_and(|r| r.pid() != pid) {
            // Inherited through fork: its runtime has no threads. Leak it rather than run its destructor.
            std::mem::forget(self.run.take());
        }
        let ring = match &self.ring {
            Some((owner, ring)) if *owner == pid => ring.clone(),
            _ => {
                let (image, mask) = self.shared.slot_bytes();
                let slots = self.shared.config.ring_slots;
                let ring = if self.shared.config.hand_over_images {
                    Ring::handing_over(slots, image, mask, self.shared.spec.dtype.size())
                } else {
                    Ring::new(slots, image, mask)
                };
                if let Some((_, old)) = self.ring.replace((pid, ring.clone())) {
                    std::mem::forget(old);
                }
                ring
            }
        };
        if self.run.is_none()
            && let Some(ops) = &self.shared.ops
        {
            let state = self.lock_sampler().state();
            ops.start(state.seed, state.epoch);
        }
        self.run
            .get_or_insert_with(|| Run::start(self.shared.clone(), self.sampler.clone(), ring))
    }
}

impl Iterator for Loader {
    type Item = Result<Batch>;

    /// The next batch; `None` at the end of the epoch. Blocks while the batch is being read. Must not be called
    /// from inside an async runtime (use [`Loader::stream`] there).
    fn next(&mut self) -> Option<Result<Batch>> {
        self.running().next_blocking()
    }
}
