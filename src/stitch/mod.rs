//! Stitching per-chip predictions back into one raster: chips from a grid sampler with overlap are blended
//! (averaged, or each pixel taken from the chip it is most central in) onto an output grid and streamed into
//! a COG, one tile row at a time.
//!
//! The output grid is north-up (a [`crate::GeoTransform`] with no rotation) and each chip's
//! [`crate::GeoSlice`] must lie on it: its bounds span whole pixels of the grid, as many as its size. Chips
//! are added in the order a [`crate::samplers::GridSampler`] gives them (rows from top to bottom); a tile row
//! of the output is finished, encoded and dropped from memory once a chip starts below it.

mod blend;
mod stitcher;
mod strip;

pub use blend::Blend;
pub use stitcher::Stitcher;
