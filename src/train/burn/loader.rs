//! BurnLoader: burn's `DataLoader` over a [`Loader`]; batches come from our pipeline (prefetch, ring, decode
//! pool), burn only receives them as tensors.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ::burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use ::burn::data::dataset::DatasetError;
use ::burn::tensor::Device;
use geochips_samplers::Sampler;

use super::BurnBatch;
use crate::catalog::Catalog;
use crate::error::Result;
use crate::loader::{Loader, LoaderConfig};
use crate::train::with_f32_images;

/// Makes a fresh [`Loader`] of the same catalog, sampler and configuration.
type MakeLoader = dyn Fn() -> Result<Loader> + Send + Sync;

/// A burn [`DataLoader`] of [`BurnBatch`]es read by a [`Loader`].
///
/// Each [`DataLoader::iter`] call runs one epoch of the sampler — epoch 0 first, then 1, 2, … (see
/// [`BurnLoader::set_epoch`]) — through the same loader, so its tile cache and ring carry over. The iterator
/// holds the loader: a second `iter` on this loader (or a [`DataLoader::to_device`] copy) waits until the first
/// iterator is dropped. [`DataLoader::slice`] makes an independent loader over part of each epoch (burn uses
/// it to split an epoch across devices). On burn's CPU device a batch's image reads its ring slot in place
/// ([`BurnBatch::new`]): a loop that keeps `ring_slots` batches alive gets the loader's error saying so.
pub struct BurnLoader {
    make: Arc<MakeLoader>,
    loader: Arc<Mutex<Option<Loader>>>,
    device: Device,
    /// The chips of each epoch this loader serves.
    range: Range<usize>,
    /// The epoch the next `iter` runs.
    epoch: Arc<AtomicU64>,
}

impl std::fmt::Debug for BurnLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BurnLoader")
            .field("device", &self.device)
            .field("range", &self.range)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl BurnLoader {
    /// Batches of `sampler`'s slices over `catalog`, read as [`Loader::new`] reads them with `config`'s ops
    /// followed by a cast of the image to `f32` ([`crate::train::with_f32_images`]: the decode pool casts, and
    /// burn's CPU device takes the image without a copy), handed out as tensors on `device`. Fails as
    /// [`Loader::new`] does.
    pub fn new<S: Sampler + Clone + Sync + 'static>(
        catalog: Arc<Catalog>,
        sampler: S,
        config: LoaderConfig,
        device: Device,
    ) -> Result<BurnLoader> {
        let chips = sampler.epoch_len() as usize;
        let config = with_f32_images(config);
        let make = Arc::new(move || Loader::new(catalog.clone(), sampler.clone(), config.clone()));
        let loader = make()?;
        Ok(BurnLoader {
            make,
            loader: Arc::new(Mutex::new(Some(loader))),
            device,
            range: 0..chips,
            epoch: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Make the next [`DataLoader::iter`] run epoch `epoch` (the ones after it go on from there).
    pub fn set_epoch(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::Relaxed);
    }

    /// The loader, made now if this is a slice that has not run yet.
    fn lock(&self) -> MutexGuard<'_, Option<Loader>> {
        let mut guard = self.loader.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let loader = (self.make)().expect("`new` made a loader of the same arguments");
            *guard = Some(loader);
        }
        guard
    }
}

impl DataLoader<BurnBatch> for BurnLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<BurnBatch> + 'a> {
        let mut guard = self.lock();
        let loader = guard.as_mut().expect("lock makes the loader");
        loader.set_epoch(self.epoch.fetch_add(1, Ordering::Relaxed));
        if self.range.start > 0 {
            let mut state = loader.sampler_state();
            state.position = self.range.start as u64;
            loader.restore_sampler(&state);
        }
        Box::new(Epoch {
            guard,
            device: &self.device,
            done: 0,
            total: self.range.len(),
        })
    }

    fn num_items(&self) -> usize {
        self.range.len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<BurnBatch>> {
        Arc::new(BurnLoader {
            make: self.make.clone(),
            loader: self.loader.clone(),
            device: device.clone(),
            range: self.range.clone(),
            epoch: self.epoch.clone(),
        })
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<BurnBatch>> {
        let end = (self.range.start + end).min(self.range.end);
        Arc::new(BurnLoader {
            make: self.make.clone(),
            loader: Arc::new(Mutex::new(None)),
            device: self.device.clone(),
            range: (self.range.start + start).min(end)..end,
            epoch: Arc::new(AtomicU64::new(self.epoch.load(Ordering::Relaxed))),
        })
    }
}

/// One epoch of a [`BurnLoader`]: the loader's batches, the last one cut at the end of the range.
struct Epoch<'a> {
    guard: MutexGuard<'a, Option<Loader>>,
    device: &'a Device,
    done: usize,
    total: usize,
}

impl Iterator for Epoch<'_> {
    type Item = Result<BurnBatch, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done >= self.total {
            return None;
        }
        let loader = self.guard.as_mut().expect("an epoch runs on a made loader");
        Some(match loader.next()? {
            Ok(batch) => {
                let chips = batch.len().min(self.total - self.done);
                self.done += chips;
                Ok(BurnBatch::head(&batch, chips, self.device))
            }
            Err(e) => Err(DatasetError::new(e)),
        })
    }
}

impl DataLoaderIterator<BurnBatch> for Epoch<'_> {
    fn progress(&self) -> Progress {
        Progress::new(self.done, self.total, Some("chips".into()))
    }
}
