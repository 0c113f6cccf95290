//! GeoSlices and the samplers that draw them: pure geometry and seeded randomness, no I/O.
//!
//! This crate knows nothing of files: a sampler sees each catalog item as a [`Footprint`] (its CRS, bounds,
//! pixel size and time) and draws [`GeoSlice`]s from them — the windows the loader will read.
//!
//! - [`RandomSampler`]: random chips, uniform over the union of the footprints (or TorchGeo's item-area
//!   weighting), each snapped to its item's pixel grid; optional roi, toi, boundless chips and locality
//!   (several chips per neighbourhood, for tile-cache hits).
//! - [`GridSampler`]: every item tiled with a size and stride, last row/column clamped or padded.
//! - [`PreChipped`]: one slice per item, for catalogs of ready-made chips.
//! - [`TimeSeriesSampler`]: `T` slices at one place from `T` dates.
//!
//! Every sampler is an [`Iterator`] of [`GeoSlice`] and a [`Sampler`]: `(seed, epoch, shard)` fixes its
//! sequence. Slice `id` of an epoch is a pure function of `(seed, epoch, id)`, so a shard (a DDP rank and a
//! DataLoader worker) simply takes every `count`-th slice, all shards draw the same number of slices (short
//! ones repeat slices of the epoch), and [`Sampler::restore`] resumes in O(1).
//!
//! ```
//! use geochips_samplers::*;
//!
//! // Two overlapping 10 m scenes of 1000 × 1000 px in UTM 31N.
//! let scene = |item: usize, x0: f64| Footprint {
//!     item,
//!     crs: Crs::from_epsg(32631),
//!     bounds: Bounds::new(x0, 4_990_000.0, x0 + 10_000.0, 5_000_000.0),
//!     res: (10.0, 10.0),
//!     interval: Interval::OPEN,
//! };
//! let catalog = [scene(0, 500_000.0), scene(1, 505_000.0)];
//!
//! let options = RandomOptions { size: ChipSize::pixels(256), length: Some(1000), seed: 7, ..Default::default() };
//! let mut sampler = RandomSampler::new(&catalog, options)?;
//! // This process is rank 1 of 2, DataLoader worker 0 of 4.
//! sampler.set_shard(Shard { rank: 1, world_size: 2, worker: 0, num_workers: 4 });
//! for epoch in 0..2 {
//!     sampler.set_epoch(epoch);
//!     assert_eq!(sampler.epoch_len(), 125);
//!     for slice in sampler.by_ref() {
//!         // Snapped to the item's grid: whole pixels from its top-left corner.
//!         assert_eq!(slice.size, (256, 256));
//!         assert_eq!((slice.bounds.minx - 500_000.0) % 10.0, 0.0);
//!     }
//! }
//! // Resume mid-epoch elsewhere: the state is four numbers and a shard.
//! let state = sampler.state();
//! let mut again = RandomSampler::new(&catalog, RandomOptions { size: ChipSize::pixels(256), length: Some(1000), ..Default::default() })?;
//! again.restore(&state);
//! assert_eq!(again.next(), sampler.next());
//! # Ok::<(), SamplerError>(())
//! ```
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod alias;
mod bounds;
mod crs;
mod error;
mod grid;
mod index;
mod interval;
mod options;
mod polygon;
mod prechipped;
mod random;
mod raster;
mod region;
mod rng;
mod sampler;
mod schedule;
mod slice;
mod timeseries;

pub use bounds::Bounds;
pub use crs::Crs;
pub use error::SamplerError;
pub use grid::{GridOptions, GridSampler};
pub use interval::Interval;
pub use options::{ChipSize, Edge, Weighting};
pub use polygon::Polygon;
pub use prechipped::PreChipped;
pub use random::{RandomOptions, RandomSampler};
pub use rng::{RngKey, SliceRng};
pub use sampler::{Sampler, SamplerState, Shard};
pub use slice::{Footprint, GeoSlice};
pub use timeseries::{TimeSeriesOptions, TimeSeriesSampler};
