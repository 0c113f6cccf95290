//! GeoSlices and the samplers that draw them: pure geometry and seeded randomness, no I/O.
//!
//! This crate knows nothing of files: a sampler sees each catalog item as a [`Footprint`] and draws
//! [`GeoSlice`]s from them.
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod bounds;
mod crs;
mod interval;
mod sampler;
mod slice;

pub use bounds::Bounds;
pub use crs::Crs;
pub use interval::Interval;
pub use sampler::{Sampler, SamplerState, Shard};
pub use slice::{Footprint, GeoSlice};
