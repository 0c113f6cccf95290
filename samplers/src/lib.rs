//! GeoSlices and the samplers that draw them: pure geometry and seeded randomness, no I/O.
//!
//! This crate knows nothing of files: a sampler sees each catalog item as a [`Footprint`] and draws
//! [`GeoSlice`]s from them.
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
pub use sampler::{Sampler, SamplerState, Shard};
pub use slice::{Footprint, GeoSlice};
pub use timeseries::{TimeSeriesOptions, TimeSeriesSampler};
