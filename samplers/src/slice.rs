//! GeoSlice, the unit of work, and Footprint, what a sampler knows of one catalog item.

use crate::{Bounds, Crs, Interval};

/// One chip to read: where (bounds in a CRS), when (interval), and on which pixel grid (resolution and size).
///
/// `bounds` spans exactly `size` pixels of `res`: `bounds.width() == size.0 as f64 * res.0`, and likewise in y.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoSlice {
    /// Position of this slice in its sampler's epoch (unsharded numbering): the key that orders batches.
    pub id: u64,
    /// Index of the catalog item the slice was drawn from (its [`Footprint::item`]).
    pub item: usize,
    /// Bounds in `crs` units.
    pub bounds: Bounds,
    /// The CRS of `bounds`.
    pub crs: Crs,
    /// The time interval to read.
    pub interval: Interval,
    /// Width and height in pixels.
    pub size: (u32, u32),
    /// Pixel width and height in `crs` units (both positive).
    pub res: (f64, f64),
}

/// What a sampler knows of one catalog item: its raster's bounds on its pixel grid, and when it was taken.
///
/// The grid is north-up with its origin at the top-left corner `(bounds.minx, bounds.maxy)`; a slice snapped to
/// it has corners at whole multiples of `res` from that origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    /// Index of the item in its catalog.
    pub item: usize,
    /// The item's CRS.
    pub crs: Crs,
    /// The raster's bounds in `crs` units.
    pub bounds: Bounds,
    /// Pixel width and height in `crs` units (both positive).
    pub res: (f64, f64),
    /// When the item was taken.
    pub interval: Interval,
}
