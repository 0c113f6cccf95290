//! Pixel grids: the affine GeoTransform, pixel windows, and the one rule that turns bounds into a window.
//!
//! Pixel-is-area, origin at the top-left corner of the top-left pixel. A [`GeoTransform`] keeps the six
//! coefficients in the order of rasterio's `Affine(a, b, c, d, e, f)`; [`GeoTransform::to_gdal`] gives GDAL's.

use geochips_samplers::Bounds;

/// Fractional pixel offsets closer than this to an integer snap to it before rounding outward.
pub const SNAP_PX: f64 = 1e-3;

/// An affine map from pixel (col, row) to world (x, y): `x = a·col + b·row + c`, `y = d·col + e·row + f`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoTransform {
    /// x size of a pixel (x resolution).
    pub a: f64,
    /// Row rotation (0 for north-up grids).
    pub b: f64,
    /// x of the top-left corner.
    pub c: f64,
    /// Column rotation (0 for north-up grids).
    pub d: f64,
    /// y size of a pixel, negative for north-up grids.
    pub e: f64,
    /// y of the top-left corner.
    pub f: f64,
}

impl GeoTransform {
    /// The transform in rasterio's `Affine` order `(a, b, c, d, e, f)`.
    pub fn new(a: f64, b: f64, c: f64, d: f64, e: f64, f: f64) -> GeoTransform {
        GeoTransform { a, b, c, d, e, f }
    }

    /// The transform from GDAL's geotransform order `[c, a, b, f, d, e]`.
    pub fn from_gdal(g: [f64; 6]) -> GeoTransform {
        GeoTransform::new(g[1], g[2], g[0], g[4], g[5], g[3])
    }

    /// GDAL's geotransform order `[c, a, b, f, d, e]`.
    pub fn to_gdal(&self) -> [f64; 6] {
        [self.c, self.a, self.b, self.f, self.d, self.e]
    }

    /// rasterio's `Affine` order `[a, b, c, d, e, f]`.
    pub fn to_affine(&self) -> [f64; 6] {
        [self.a, self.b, self.c, self.d, self.e, self.f]
    }

    /// Whether the grid is north-up (no rotation terms).
    pub fn is_north_up(&self) -> bool {
        self.b == 0.0 && self.d == 0.0
    }

    /// World coordinates of the pixel corner (col, row).
    pub fn apply(&self, col: f64, row: f64) -> (f64, f64) {
        (
            self.a * col + self.b * row + self.c,
            self.d * col + self.e * row + self.f,
        )
    }

    /// The transform of an overview of a `width` × `height` raster that is `ov_width` × `ov_height` px.
    ///
    /// Same origin; pixel sizes scaled by the size ratios, as GDAL does for overviews.
    pub fn overview(&self, width: u64, height: u64, ov_width: u64, ov_height: u64) -> GeoTransform {
        let sx = width as f64 / ov_width as f64;
        let sy = height as f64 / ov_height as f64;
        GeoTransform::new(
            self.a * sx,
            self.b * sy,
            self.c,
            self.d * sx,
            self.e * sy,
            self.f,
        )
    }

    /// The bounds covered by a `width` × `height` raster on this grid (north-up grids only).
    pub fn bounds(&self, width: u64, height: u64) -> Option<Bounds> {
        self.window_bounds(&Window::new(0, 0, width, height))
    }

    /// The bounds covered by `window` on this grid; `None` for a rotated grid.
    pub fn window_bounds(&self, window: &Window) -> Option<Bounds> {
        if !self.is_north_up() {
            return None;
        }
        let (x0, y0) = self.apply(window.col_off as f64, window.row_off as f64);
        let (x1, y1) = self.apply(
            (window.col_off + window.width as i64) as f64,
            (window.row_off + window.height as i64) as f64,
        );
        Some(Bounds::new(x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)))
    }

    /// The pixel window covering `bounds` on this grid, by the one rounding rule of geochips:
    /// fractional edges within [`SNAP_PX`] of an integer snap to it, then the window grows outward to whole
    /// pixels. `None` for a rotated grid or a degenerate transform.
    pub fn window(&self, bounds: &Bounds) -> Option<Window> {
        if !self.is_north_up() || self.a == 0.0 || self.e == 0.0 {
            return None;
        }
        let c0 = (bounds.minx - self.c) / self.a;
        let c1 = (bounds.maxx - self.c) / self.a;
        let r0 = (bounds.maxy - self.f) / self.e;
        let r1 = (bounds.miny - self.f) / self.e;
        // Non-finite or absurd values (a NaN fails this too) have no window that fits an i64.
        if ![c0, c1, r0, r1].into_iter().all(|v| v.abs() < 4.0e18) {
            return None;
        }
        let (col_start, col_end) = outward(c0.min(c1), c0.max(c1));
        let (row_start, row_end) = outward(r0.min(r1), r0.max(r1));
        Some(Window::new(
            col_start,
            row_start,
            (col_end - col_start) as u64,
            (row_end - row_start) as u64,
        ))
    }
}

/// The integer span `[floor(start), ceil(end))` after snapping both ends within [`SNAP_PX`] of an integer.
fn outward(start: f64, end: f64) -> (i64, i64) {
    let snap = |v: f64| {
        if (v - v.round()).abs() < SNAP_PX {
            v.round()
        } else {
            v
        }
    };
    let s = snap(start).floor() as i64;
    let e = (snap(end).ceil() as i64).max(s);
    (s, e)
}

/// A rectangle of pixels: like rasterio's `Window(col_off, row_off, width, height)`, integer-valued.
///
/// Offsets may be negative and the window may reach past the raster: reads are boundless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// First column (may be negative).
    pub col_off: i64,
    /// First row (may be negative).
    pub row_off: i64,
    /// Number of columns.
    pub width: u64,
    /// Number of rows.
    pub height: u64,
}

impl Window {
    /// A window from its offsets and size.
    pub fn new(col_off: i64, row_off: i64, width: u64, height: u64) -> Window {
        Window {
            col_off,
            row_off,
            width,
            height,
        }
    }

    /// Number of pixels.
    pub fn pixels(&self) -> u64 {
        self.width * self.height
    }

    /// The part of this window inside a `width` × `height` raster, or `None` where they do not overlap.
    pub fn intersect(&self, width: u64, height: u64) -> Option<Window> {
        let c0 = self.col_off.max(0);
        let r0 = self.row_off.max(0);
        let c1 = (self.col_off + self.width as i64).min(width as i64);
        let r1 = (self.row_off + self.height as i64).min(height as i64);
        (c1 > c0 && r1 > r0).then(|| Window::new(c0, r0, (c1 - c0) as u64, (r1 - r0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utm() -> GeoTransform {
        GeoTransform::new(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)
    }

    #[test]
    fn gdal_order_round_trips() {
        let t = utm();
        assert_eq!(t.to_gdal(), [500_000.0, 10.0, 0.0, 4_000_000.0, 0.0, -10.0]);
        assert_eq!(GeoTransform::from_gdal(t.to_gdal()), t);
    }

    #[test]
    fn bounds_on_the_grid_give_the_exact_window() {
        let t = utm();
        let w = Window::new(3, 7, 256, 128);
        let b = t.window_bounds(&w).unwrap();
        assert_eq!(
            b,
            Bounds::new(500_030.0, 4_000_000.0 - 1350.0, 502_590.0, 3_999_930.0)
        );
        assert_eq!(t.window(&b), Some(w));
    }

    #[test]
    fn edges_within_the_snap_tolerance_snap_and_others_round_outward() {
        let t = utm();
        // 0.0005 px off the grid: snaps, the window stays 2 x 2.
        let near = Bounds::new(500_000.005, 3_999_980.0, 500_020.005, 4_000_000.0);
        assert_eq!(t.window(&near), Some(Window::new(0, 0, 2, 2)));
        // 0.5 px off the grid: grows outward to cover it, 3 x 2.
        let off = Bounds::new(500_005.0, 3_999_980.0, 500_025.0, 4_000_000.0);
        assert_eq!(t.window(&off), Some(Window::new(0, 0, 3, 2)));
        // Bounds before the origin give negative offsets.
        let before = Bounds::new(499_980.0, 4_000_000.0, 500_000.0, 4_000_020.0);
        assert_eq!(t.window(&before), Some(Window::new(-2, -2, 2, 2)));
    }

    #[test]
    fn overview_transform_scales_pixel_size_by_the_size_ratio() {
        let t = utm().overview(1000, 600, 250, 150);
        assert_eq!(
            t,
            GeoTransform::new(40.0, 0.0, 500_000.0, 0.0, -40.0, 4_000_000.0)
        );
    }

    #[test]
    fn non_finite_or_absurd_bounds_have_no_window() {
        let t = utm();
        assert_eq!(t.window(&Bounds::new(f64::NAN, 0.0, 1.0, 1.0)), None);
        assert_eq!(t.window(&Bounds::new(0.0, 0.0, f64::INFINITY, 1.0)), None);
        let tiny = GeoTransform::new(1e-300, 0.0, 0.0, 0.0, -1e-300, 0.0);
        assert_eq!(tiny.window(&Bounds::new(-1.0, -1.0, 1.0, 1.0)), None);
    }

    #[test]
    fn rotated_grids_have_no_windows_for_bounds() {
        let t = GeoTransform::new(10.0, 1.0, 0.0, 1.0, -10.0, 0.0);
        assert_eq!(t.window(&Bounds::new(0.0, -10.0, 10.0, 0.0)), None);
    }

    #[test]
    fn intersect_clips_to_the_raster() {
        let w = Window::new(-5, 90, 20, 20);
        assert_eq!(w.intersect(100, 100), Some(Window::new(0, 90, 15, 10)));
        assert_eq!(Window::new(100, 0, 5, 5).intersect(100, 100), None);
    }
}
