//! Resampling and reprojection of source pixels onto a chip's grid, matching GDAL.
//!
//! Two steps, both pure and synchronous. A [`PixelMap`] says where each destination pixel's centre falls in a
//! source raster's pixel space (pixel-is-area: source pixel (i, j) covers [i, i+1) × [j, j+1)), and which
//! source [`Window`](crate::Window) a [`Resampling`] method reads for it. [`resample`] then turns the samples of
//! that window (all bands, with a validity mask) into the chip's samples and validity mask.
//!
//! - **Same CRS** (stacking a 20 m band onto a 10 m chip, resampling a read from an overview): the map is the
//!   exact affine composition of the two grids, and results equal GDAL's `RasterIO` with a resampling method —
//!   rasterio's `read(window=..., out_shape=..., resampling=...)`.
//! - **Different CRSs**: the map transforms destination pixel centres as GDAL's warper does — exactly at the
//!   ends of each row, linearly between them where that is within [`APPROX_ERROR_PX`] of the exact transform
//!   (gdalwarp's default error threshold) — and results follow `rasterio.warp.reproject` onto the same grid.
//!
//! The rule for a destination pixel's validity, the same for both methods (GDAL's warper's): its centre must
//! fall inside the source raster (`0 <= x < width`, `0 <= y < height`) and in a valid source pixel. Its value
//! is then, with [`Resampling::Nearest`], that pixel's, bit for bit; with [`Resampling::Bilinear`], the
//! weighted mean of the valid source pixels under the kernel (weights renormalised over the valid ones). An
//! invalid destination pixel gets the fill value in every band and 0 in the mask.
//!
//! Buffers are the caller's: a map is reset in place ([`PixelMap::set`]) and [`resample`] writes into the
//! slices it is given, so a loader warps chip after chip without allocating.

mod approx;
mod map;
mod resample;
mod sample;

pub use approx::APPROX_ERROR_PX;
pub use map::{Grid, PixelMap};
pub use resample::{Source, Target, resample};

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// How source samples become destination samples.
///
/// Only [`Resampling::Nearest`] keeps values that exist in the source: it is the only method for categorical
/// data (labels, classes, bit masks), where a weighted mean of two classes is meaningless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Resampling {
    /// The source pixel the destination pixel's centre falls in (GDAL's `near`).
    #[default]
    Nearest,
    /// The mean of the source pixels around the centre weighted by a tent kernel — the 2 x 2 bilinear
    /// interpolation when upsampling, widened by the scale when downsampling, as GDAL does (`bilinear`).
    Bilinear,
}

impl Resampling {
    /// Every method, in the order of their names.
    pub const ALL: [Resampling; 2] = [Resampling::Nearest, Resampling::Bilinear];

    /// The method's name, as GDAL and rasterio spell it: `"nearest"` or `"bilinear"`.
    pub fn name(self) -> &'static str {
        match self {
            Resampling::Nearest => "nearest",
            Resampling::Bilinear => "bilinear",
        }
    }
}

impl fmt::Display for Resampling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Resampling {
    type Err = Error;

    /// The method named `s` (see [`Resampling::name`]).
    fn from_str(s: &str) -> Result<Resampling> {
        Resampling::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| Error::Warp {
                reason: format!("unknown resampling {s:?} (known: nearest, bilinear)"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for m in Resampling::ALL {
            assert_eq!(m.to_string().parse::<Resampling>().unwrap(), m);
        }
        let err = "cubic".parse::<Resampling>().unwrap_err();
        assert!(err.to_string().contains("\"cubic\""), "{err}");
    }
}
