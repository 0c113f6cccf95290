//! The pixel grid of one footprint: its size in pixels and the bounds of pixel windows on it.

use crate::{Bounds, Footprint, SamplerError};

/// A footprint with its pixel size; windows on it are computed as origin + whole multiples of `res`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Raster {
    pub(crate) fp: Footprint,
    /// Width in pixels.
    pub(crate) width: i64,
    /// Height in pixels.
    pub(crate) height: i64,
}

impl Raster {
    /// The grid of `fp`: its width and height in pixels are its bounds over its resolution, rounded.
    pub(crate) fn new(fp: &Footprint) -> Result<Raster, SamplerError> {
        let bad = |reason: &str| SamplerError::InvalidFootprint {
            item: fp.item,
            reason: reason.to_string(),
        };
        let b = fp.bounds;
        if ![b.minx, b.miny, b.maxx, b.maxy, fp.res.0, fp.res.1]
            .iter()
            .all(|v| v.is_finite())
        {
            return Err(bad("bounds and resolution must be finite"));
        }
        if fp.res.0 <= 0.0 || fp.res.1 <= 0.0 {
            return Err(bad("resolution must be positive"));
        }
        let width = (b.width() / fp.res.0).round();
        let height = (b.height() / fp.res.1).round();
        if width < 1.0 || height < 1.0 || width > 1e12 || height > 1e12 {
            return Err(bad("the raster must be at least one pixel wide and high"));
        }
        Ok(Raster {
            fp: *fp,
            width: width as i64,
            height: height as i64,
        })
    }

    /// The bounds of the window of `w × h` pixels whose top-left pixel is `(col, row)` (may reach outside).
    #[inline]
    pub(crate) fn window(&self, col: i64, row: i64, w: u32, h: u32) -> Bounds {
        let (x0, y0) = (self.fp.bounds.minx, self.fp.bounds.maxy);
        let (rx, ry) = self.fp.res;
        Bounds {
            minx: x0 + col as f64 * rx,
            maxx: x0 + (col + w as i64) as f64 * rx,
            maxy: y0 - row as f64 * ry,
            miny: y0 - (row + h as i64) as f64 * ry,
        }
    }

    /// A point in CRS units as fractional pixel coordinates `(col, row)` on this grid.
    pub(crate) fn to_pixel(self, x: f64, y: f64) -> (f64, f64) {
        (
            (x - self.fp.bounds.minx) / self.fp.res.0,
            (self.fp.bounds.maxy - y) / self.fp.res.1,
        )
    }
}
