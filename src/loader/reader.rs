//! ChipReader: the loader's pipeline on demand — given GeoSlices (from any sampler, or made by hand) read into
//! one batch, for map-style datasets that ask for chips by index.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use geochips_samplers::{GeoSlice, Sampler, SamplerState, Shard};

use super::{Batch, Loader, LoaderConfig};
use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// Reads the GeoSlices it is given into a [`Batch`], up to `batch_size` at a time, in the order given.
///
/// A [`Loader`] fed from a queue: every read goes through the same planning, fetching (one `get_ranges` per
/// COG), decoding and tile cache as a loader's batches; nothing is read ahead.
#[derive(Debug)]
pub struct ChipReader {
    loader: Loader,
    queue: Queue,
    size: (u32, u32),
    batch_size: usize,
    items: usize,
}

impl ChipReader {
    /// A reader of `config.chip_size` chips from `catalog`, up to `config.batch_size` per [`ChipReader::read`];
    /// `prefetch` and `ring_slots` are set to what reading on demand needs (1 and 3).
    pub fn new(catalog: Arc<Catalog>, mut config: LoaderConfig) -> Result<ChipReader> {
        if config.time_steps != 1 {
            return Err(Error::Loader {
                reason: format!(
                    "a ChipReader reads the slices it is given, one chip each: time_steps must be 1, not {}",
                    config.time_steps
                ),
            });
        }
        config.prefetch = 1;
        config.ring_slots = 3;
        let (size, batch_size, items) = (config.chip_size, config.batch_size, catalog.len());
        let queue = Queue::default();
        let loader = Loader::new(catalog, queue.clone(), config)?;
        Ok(ChipReader {
            loader,
            queue,
            size,
            batch_size,
            items,
        })
    }

    /// The most slices one read takes.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Read `slices` (1 to `batch_size`, each of the reader's chip size, naming an item of the catalog) into
    /// one batch, in order. Blocks while the batch is read; must not be called from inside an async runtime.
    pub fn read(&mut self, slices: &[GeoSlice]) -> Result<Batch> {
        let bad = |reason: String| Err(Error::Loader { reason });
        if slices.is_empty() || slices.len() > self.batch_size {
            return bad(format!(
                "read takes 1 to {} slices, got {}",
                self.batch_size,
                slices.len()
            ));
        }
        if let Some(s) = slices.iter().find(|s| s.item >= self.items) {
            return bad(format!(
                "slice {} names item {}, the catalog has {} items",
                s.id, s.item, self.items
            ));
        }
        if let Some(s) = slices.iter().find(|s| s.size != self.size) {
            return bad(format!(
                "slice {} is {:?} px, the reader's chips are {:?}",
                s.id, s.size, self.size
            ));
        }
        // Stop the last read's run first: it must not take these slices.
        self.loader.set_epoch(0);
        self.queue.lock().extend(slices.iter().copied());
        let batch = self.loader.next();
        self.queue.lock().clear();
        batch.unwrap_or_else(|| bad("no slice was read".into()))
    }
}

/// A sampler that hands out the slices pushed into its queue: the epoch is whatever is queued.
#[derive(Debug, Clone, Default)]
struct Queue(Arc<Mutex<VecDeque<GeoSlice>>>);

impl Queue {
    fn lock(&self) -> MutexGuard<'_, VecDeque<GeoSlice>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Iterator for Queue {
    type Item = GeoSlice;

    fn next(&mut self) -> Option<GeoSlice> {
        self.lock().pop_front()
    }
}

impl Sampler for Queue {
    fn set_epoch(&mut self, _epoch: u64) {}

    fn set_shard(&mut self, _shard: Shard) {}

    fn epoch_len(&self) -> u64 {
        self.lock().len() as u64
    }

    fn state(&self) -> SamplerState {
        SamplerState {
            seed: 0,
            epoch: 0,
            shard: Shard::WHOLE,
            position: 0,
        }
    }

    fn restore(&mut self, _state: &SamplerState) {}
}
