//! The small option types the samplers share: chip sizes, weighting, edge handling.

use crate::SamplerError;

/// A chip size (or grid stride), in pixels of each item's grid or in CRS units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ChipSize {
    /// Width and height in pixels: every chip has this pixel size, whatever the item's resolution.
    Pixels(u32, u32),
    /// Width and height in CRS units, converted to pixels with each item's resolution (rounded, at least 1):
    /// TorchGeo's `units=Units.CRS`.
    Units(f64, f64),
}

impl ChipSize {
    /// A square chip of `n × n` pixels.
    pub fn pixels(n: u32) -> ChipSize {
        ChipSize::Pixels(n, n)
    }

    /// This size in pixels of a grid of resolution `res`.
    pub fn to_pixels(&self, res: (f64, f64)) -> (u32, u32) {
        match *self {
            ChipSize::Pixels(w, h) => (w, h),
            ChipSize::Units(w, h) => (
                ((w / res.0).round().clamp(1.0, u32::MAX as f64)) as u32,
                ((h / res.1).round().clamp(1.0, u32::MAX as f64)) as u32,
            ),
        }
    }

    pub(crate) fn check(&self, option: &'static str) -> Result<(), SamplerError> {
        let ok = match *self {
            ChipSize::Pixels(w, h) => w > 0 && h > 0,
            ChipSize::Units(w, h) => w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0,
        };
        if ok {
            Ok(())
        } else {
            Err(SamplerError::InvalidOption {
                option,
                reason: format!("must be positive and finite, got {self:?}"),
            })
        }
    }
}

/// How a random sampler chooses where to put a chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weighting {
    /// Every location of the union of the footprints is equally likely, however many items cover it (the
    /// default). Where several items cover a location, each of them is equally likely to be the slice's item.
    #[default]
    Uniform,
    /// Pick an item with probability proportional to its area, then a location in it: TorchGeo's
    /// RandomGeoSampler. Places covered by several items are drawn that many times as often.
    ItemArea,
}

/// What a grid sampler does with the last row and column of chips when the stride does not fit the raster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Edge {
    /// Shift the last row/column back so that it ends on the raster's edge (overlapping its neighbour): every
    /// chip lies inside the raster (the default, like TorchGeo's GridGeoSampler).
    #[default]
    Clamp,
    /// Keep the stride: the last row/column reaches past the raster's edge and reads as fill (a boundless read).
    Pad,
}
