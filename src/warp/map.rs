//! The pixel map: where the centre of each destination pixel falls in a source raster's pixel space, the
//! source window a resampling method reads for it, and the scale between the two grids.

use super::Resampling;
use super::approx::{self, Segment};
use crate::crs::{self, Crs, DENSIFY_PTS};
use crate::error::{Error, Result};
use crate::grid::{GeoTransform, Window};

/// GDAL's nudge before it truncates a source position to a pixel index (`RasterIO` and the warper alike).
pub(super) const EPS: f64 = 1e-10;

/// GDAL's warper keeps the 2 x 2 bilinear kernel while both axes' scales (destination over source pixels)
/// are at least this.
const WARP_UNIT_KERNEL_SCALE: f64 = 0.95;

/// GDAL's warper rounds a downsampling ratio to the nearest integer when it is closer than this.
const WARP_RATIO_SNAP: f64 = 0.05;

/// A raster's pixel grid: its transform, its size in pixels and its CRS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Pixel (col, row) to world (x, y).
    pub transform: GeoTransform,
    /// Columns.
    pub width: u64,
    /// Rows.
    pub height: u64,
    /// The CRS of the world coordinates.
    pub crs: Crs,
}

/// How a map computes positions.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `x = c[0] + c[1]·u + c[2]·v`, `y = c[3] + c[4]·u + c[5]·v` at the pixel centre (u, v) = (i + ½, j + ½).
    Affine([f64; 6]),
    /// Linear segments along each row, as GDAL's approximate transformer makes them (`segments`, row `j`'s
    /// from `row_starts[j]` to `row_starts[j + 1]`).
    Rows,
}

/// World coordinates to a source raster's pixel coordinates: the inverse of its transform.
#[derive(Debug, Clone, Copy)]
struct ToPixel {
    t: GeoTransform,
    det: f64,
}

impl ToPixel {
    fn new(t: &GeoTransform) -> Result<ToPixel> {
        let det = t.a * t.e - t.b * t.d;
        if !(det.is_finite() && det != 0.0 && t.c.is_finite() && t.f.is_finite()) {
            return Err(Error::Warp {
                reason: format!(
                    "the source transform {:?} cannot be inverted",
                    t.to_affine()
                ),
            });
        }
        Ok(ToPixel { t: *t, det })
    }

    /// The pixel coordinates of the world vector (x, y) (no translation).
    fn linear(&self, x: f64, y: f64) -> (f64, f64) {
        let t = &self.t;
        if t.is_north_up() {
            (x / t.a, y / t.e)
        } else {
            (
                (t.e * x - t.b * y) / self.det,
                (t.a * y - t.d * x) / self.det,
            )
        }
    }

    /// The pixel coordinates of the world point (x, y).
    fn point(&self, x: f64, y: f64) -> (f64, f64) {
        self.linear(x - self.t.c, y - self.t.f)
    }
}

/// Where each pixel centre of a destination grid falls in a source raster's pixel space.
///
/// Set it with [`PixelMap::set`] (reusing its buffers), ask it for the [`source_window`](Self::source_window)
/// a method reads, read that window, and [`resample`](super::resample) it.
#[derive(Debug, Clone)]
pub struct PixelMap {
    width: usize,
    height: usize,
    src_width: u64,
    src_height: u64,
    kind: Kind,
    /// A reprojected map's row segments, row after row.
    segments: Vec<Segment>,
    /// Where each row's segments start in `segments`, and the end of the last.
    row_starts: Vec<usize>,
    /// Points transformed while setting a reprojected map: the outline, then each row's ends and middle.
    scratch: Vec<(f64, f64)>,
    /// The box of every position: min x, min y, max x, max y.
    extent: [f64; 4],
    scale: (f64, f64),
    kernel: (f64, f64),
}

impl Default for PixelMap {
    /// An empty map (0 x 0 pixels), to [`set`](Self::set).
    fn default() -> PixelMap {
        PixelMap {
            width: 0,
            height: 0,
            src_width: 0,
            src_height: 0,
            kind: Kind::Affine([0.0; 6]),
            segments: Vec::new(),
            row_starts: Vec::new(),
            scratch: Vec::new(),
            extent: [0.0; 4],
            scale: (1.0, 1.0),
            kernel: (1.0, 1.0),
        }
    }
}

impl PixelMap {
    /// The map of `dst`'s pixel centres into `src`'s pixel space (see [`PixelMap::set`]).
    pub fn new(dst: &Grid, src: &Grid) -> Result<PixelMap> {
        let mut map = PixelMap::default();
        map.set(dst, src)?;
        Ok(map)
    }

    /// Make this the map of `dst`'s pixel centres into `src`'s pixel space, reusing its buffers.
    ///
    /// - Same CRS: the exact affine composition of the two transforms; the bilinear kernel widens by the
    ///   scale whenever the destination is coarser, as GDAL's `RasterIO` does.
    /// - Different CRSs: destination pixel centres are transformed as GDAL's warper transforms them, through
    ///   its approximate transformer (see [`APPROX_ERROR_PX`](super::APPROX_ERROR_PX)): per row, linear
    ///   between exactly transformed pixels, within 0.125 source pixels of the exact transform at each
    ///   run's middle pixel. The bilinear kernel follows GDAL's warper too: the scale is the extent of the
    ///   chip's outline in source pixels (cut at the raster's right and bottom edges) over its size, rounded
    ///   to an integer within 0.05, and the 2 x 2 kernel is kept while both axes' destination-over-source
    ///   scales are at least 0.95.
    ///
    /// Errors when `dst` has no pixels, `src`'s transform cannot be inverted, or (reprojected) a point has
    /// no image in `src`'s CRS or a CRS is unknown.
    pub fn set(&mut self, dst: &Grid, src: &Grid) -> Result<()> {
        let (width, height) = (to_usize(dst.width)?, to_usize(dst.height)?);
        if width == 0 || height == 0 {
            return Err(Error::Warp {
                reason: format!("the destination grid has no pixels ({width} x {height})"),
            });
        }
        let to_pixel = ToPixel::new(&src.transform)?;
        self.width = width;
        self.height = height;
        self.src_width = src.width;
        self.src_height = src.height;
        if dst.crs == src.crs {
            self.set_affine(&dst.transform, &to_pixel);
            Ok(())
        } else {
            self.set_reprojected(dst, src.crs, &to_pixel)
        }
    }

    fn set_affine(&mut self, dst: &GeoTransform, to_pixel: &ToPixel) {
        let (c0, c3) = to_pixel.point(dst.c, dst.f);
        let (c1, c4) = to_pixel.linear(dst.a, dst.d);
        let (c2, c5) = to_pixel.linear(dst.b, dst.e);
        let c = [c0, c1, c2, c3, c4, c5];
        self.kind = Kind::Affine(c);
        let (w, h) = (self.width as f64, self.height as f64);
        let corners = [
            (0.5, 0.5),
            (w - 0.5, 0.5),
            (0.5, h - 0.5),
            (w - 0.5, h - 0.5),
        ];
        self.extent =
            extent(corners.map(|(u, v)| (c[0] + c[1] * u + c[2] * v, c[3] + c[4] * u + c[5] * v)));
        // The outline's extent over the size: |c1| for a north-up grid, exactly.
        self.scale = (c1.abs() + c2.abs() * h / w, c4.abs() * w / h + c5.abs());
        self.kernel = (self.scale.0.max(1.0), self.scale.1.max(1.0));
    }

    fn set_reprojected(&mut self, dst: &Grid, src_crs: Crs, to_pixel: &ToPixel) -> Result<()> {
        let mut exact = |points: &mut [(f64, f64)]| {
            transform_pixels(&dst.transform, dst.crs, src_crs, to_pixel, points)
        };
        let (w, h) = (self.width as f64, self.height as f64);
        // The outline, as GDAL's warper samples it to size its source window: DENSIFY_PTS points an edge.
        let n = (DENSIFY_PTS - 1) as f64;
        self.scratch.clear();
        for k in 0..DENSIFY_PTS {
            let t = k as f64 / n;
            self.scratch
                .extend([(t * w, 0.0), (t * w, h), (0.0, t * h), (w, t * h)]);
        }
        exact(&mut self.scratch)?;
        let [x0, y0, x1, y1] = extent(self.scratch.iter().copied());
        // GDAL cuts the extent at the raster's right and bottom edges (from the first whole pixel).
        let cut =
            |lo: f64, hi: f64, size: u64| (hi - lo).min(size as f64 - lo.max(0.0).floor()).max(0.0);
        self.scale = (
            cut(x0, x1, self.src_width) / w,
            cut(y0, y1, self.src_height) / h,
        );
        self.kernel = warp_kernel(self.scale);

        // Each row's first, middle and last pixel centres, all rows at once.
        let mid = ((self.width - 1) / 2) as f64 + 0.5;
        self.scratch.clear();
        for j in 0..self.height {
            let v = j as f64 + 0.5;
            self.scratch.extend([(0.5, v), (mid, v), (w - 0.5, v)]);
        }
        exact(&mut self.scratch)?;
        self.segments.clear();
        self.row_starts.clear();
        self.row_starts.push(0);
        for (j, ends) in self.scratch.chunks_exact(3).enumerate() {
            let ends = [ends[0], ends[1], ends[2]];
            approx::row(j, self.width, ends, &mut exact, &mut self.segments)?;
            self.row_starts.push(self.segments.len());
        }
        self.kind = Kind::Rows;
        self.extent = extent(
            self.segments
                .iter()
                .flat_map(|s| [s.position(s.first), s.position(s.last)]),
        );
        Ok(())
    }

    /// Destination columns.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Destination rows.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Source pixels per destination pixel along x and y: the extent of the destination's outline in source
    /// pixel space over the destination's size (for north-up grids in one CRS, the ratio of pixel sizes;
    /// reprojected, the extent is cut at the raster's right and bottom edges as GDAL's warper cuts it).
    /// Above 1 the destination is coarser (a downsample).
    pub fn scale(&self) -> (f64, f64) {
        self.scale
    }

    /// The half-width, in source pixels, of the bilinear kernel along x and y (1 unless downsampling).
    pub(super) fn kernel(&self) -> (f64, f64) {
        self.kernel
    }

    /// The source raster's size in pixels.
    pub(super) fn source_size(&self) -> (u64, u64) {
        (self.src_width, self.src_height)
    }

    /// The position, in source pixel space, of the centre of destination pixel (`i`, `j`).
    pub fn position(&self, i: usize, j: usize) -> (f64, f64) {
        let mut p = (f64::NAN, f64::NAN);
        self.row(j, i..i + 1, |_, x, y| p = (x, y));
        p
    }

    /// Call `f(i, x, y)` with the source position of each destination pixel `i` of `cols` in row `j`.
    pub(super) fn row(
        &self,
        j: usize,
        cols: std::ops::Range<usize>,
        mut f: impl FnMut(usize, f64, f64),
    ) {
        match self.kind {
            Kind::Affine(c) => {
                let v = j as f64 + 0.5;
                let (x0, y0) = (c[0] + c[2] * v, c[3] + c[5] * v);
                for i in cols {
                    let u = i as f64 + 0.5;
                    f(i, x0 + c[1] * u, y0 + c[4] * u);
                }
            }
            Kind::Rows => {
                for seg in &self.segments[self.row_starts[j]..self.row_starts[j + 1]] {
                    for i in seg.first.max(cols.start)..(seg.last + 1).min(cols.end) {
                        let (x, y) = seg.position(i);
                        f(i, x, y);
                    }
                }
            }
        }
    }

    /// The source window `method` reads for this map, clipped to the source raster (pixels outside it are
    /// invalid, read or not); `None` when no destination pixel takes anything from the raster. Bilinear
    /// windows include the kernel's margin.
    pub fn source_window(&self, method: Resampling) -> Option<Window> {
        let [x0, y0, x1, y1] = self.extent;
        let (c0, c1, r0, r1) = match method {
            Resampling::Nearest => (
                (x0 + EPS).floor(),
                (x1 + EPS).floor(),
                (y0 + EPS).floor(),
                (y1 + EPS).floor(),
            ),
            Resampling::Bilinear => {
                let (kx, ky) = self.kernel;
                (
                    taps(x0, kx).0,
                    taps(x1, kx).1,
                    taps(y0, ky).0,
                    taps(y1, ky).1,
                )
            }
        };
        let clip = |lo: f64, hi: f64, size: u64| {
            let (lo, hi) = (lo.max(0.0), hi.min(size as f64 - 1.0));
            // NaN fails this too.
            (lo <= hi).then_some((lo as i64, hi as i64))
        };
        let (c0, c1) = clip(c0, c1, self.src_width)?;
        let (r0, r1) = clip(r0, r1, self.src_height)?;
        Some(Window::new(
            c0,
            r0,
            (c1 - c0 + 1) as u64,
            (r1 - r0 + 1) as u64,
        ))
    }
}

/// The first and last source pixel under a tent kernel of half-width `k` centred on position `x`: those
/// whose centres lie strictly within `k` of it.
pub(super) fn taps(x: f64, k: f64) -> (f64, f64) {
    (floor(x - 0.5 - k) + 1.0, -floor(-(x - 0.5 + k)) - 1.0)
}

/// `v.floor()` for finite `v`, inline: x86-64 without SSE4.1 has no rounding instruction and calls libm's
/// `floor`, which the resampler's inner loop cannot afford. Saturates beyond ±2^63; NaN gives 0.
pub(super) fn floor(v: f64) -> f64 {
    let t = v as i64 as f64;
    if t > v { t - 1.0 } else { t }
}

/// The bilinear kernel's half-widths for a reprojection at `scale` (source over destination pixels), by the
/// rule of GDAL's warper.
fn warp_kernel(scale: (f64, f64)) -> (f64, f64) {
    let snap = |r: f64| {
        if r > 1.0 && (r - r.round()).abs() < WARP_RATIO_SNAP {
            r.round()
        } else {
            r
        }
    };
    let (rx, ry) = (snap(scale.0), snap(scale.1));
    if 1.0 / rx >= WARP_UNIT_KERNEL_SCALE && 1.0 / ry >= WARP_UNIT_KERNEL_SCALE {
        (1.0, 1.0)
    } else {
        (rx.max(1.0), ry.max(1.0))
    }
}

/// Replace destination pixel coordinates in `points` by their source pixel coordinates.
fn transform_pixels(
    dst: &GeoTransform,
    dst_crs: Crs,
    src_crs: Crs,
    to_pixel: &ToPixel,
    points: &mut [(f64, f64)],
) -> Result<()> {
    for p in points.iter_mut() {
        *p = dst.apply(p.0, p.1);
    }
    crs::transform_points(dst_crs, src_crs, points)?;
    for p in points.iter_mut() {
        *p = to_pixel.point(p.0, p.1);
    }
    Ok(())
}

/// The box (min x, min y, max x, max y) of `points`.
fn extent(points: impl IntoIterator<Item = (f64, f64)>) -> [f64; 4] {
    points.into_iter().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |b, (x, y)| [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)],
    )
}

fn to_usize(n: u64) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::Warp {
        reason: format!("a destination of {n} pixels a side does not fit in memory"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(epsg: u32, res: f64, x: f64, y: f64, size: u64) -> Grid {
        Grid {
            transform: GeoTransform::new(res, 0.0, x, 0.0, -res, y),
            width: size,
            height: size,
            crs: Crs::from_epsg(epsg),
        }
    }

    #[test]
    fn same_crs_positions_are_the_affine_composition() {
        // A 10 m chip 110 m east and 30 m south of a 20 m raster's corner.
        let src = grid(32631, 20.0, 500_000.0, 5_000_000.0, 100);
        let dst = grid(32631, 10.0, 500_110.0, 4_999_970.0, 8);
        let map = PixelMap::new(&dst, &src).unwrap();
        assert_eq!(map.position(0, 0), (5.75, 1.75));
        assert_eq!(map.position(3, 5), (7.25, 4.25));
        assert_eq!(map.scale(), (0.5, 0.5));
        // Centres from 5.75 to 9.25 and 1.75 to 5.25: both methods read columns 5..=9 and rows 1..=5 (the
        // bilinear taps of 5.75 are 5 and 6, of 9.25 are 8 and 9).
        assert_eq!(
            map.source_window(Resampling::Nearest),
            Some(Window::new(5, 1, 5, 5))
        );
        assert_eq!(
            map.source_window(Resampling::Bilinear),
            Some(Window::new(5, 1, 5, 5))
        );
    }

    #[test]
    fn downsampling_widens_the_bilinear_window_by_the_scale() {
        // 30 m onto a 10 m raster: scale 3, the kernel reaches 3 source pixels each way.
        let src = grid(32631, 10.0, 0.0, 1000.0, 100);
        let dst = grid(32631, 30.0, 300.0, 700.0, 4);
        let map = PixelMap::new(&dst, &src).unwrap();
        assert_eq!(map.scale(), (3.0, 3.0));
        assert_eq!(map.position(0, 0), (31.5, 31.5));
        // Centres 31.5 .. 40.5; taps within 3 px: 29..=42.
        assert_eq!(
            map.source_window(Resampling::Bilinear),
            Some(Window::new(29, 29, 14, 14))
        );
    }

    #[test]
    fn windows_are_clipped_to_the_raster_and_none_off_it() {
        let src = grid(32631, 10.0, 0.0, 1000.0, 100);
        let over_corner = grid(32631, 10.0, -50.0, 1050.0, 10);
        // Centres from -4.5 to 4.5: pixel 4 is the last under a kernel (4.5 is its centre).
        let map = PixelMap::new(&over_corner, &src).unwrap();
        assert_eq!(
            map.source_window(Resampling::Bilinear),
            Some(Window::new(0, 0, 5, 5))
        );
        let off = grid(32631, 10.0, 5000.0, 1000.0, 10);
        assert_eq!(
            PixelMap::new(&off, &src)
                .unwrap()
                .source_window(Resampling::Nearest),
            None
        );
    }

    #[test]
    fn reprojected_positions_are_near_the_exact_transform_everywhere() {
        // GDAL's approximation is within 0.125 px at the middle of each run; along a 256-px chip row in
        // these CRS pairs it is far closer everywhere.
        let cases = [
            (
                grid(32631, 10.0, 736_000.0, 4_990_000.0, 10),
                grid(32632, 10.0, 265_000.0, 4_989_000.0, 256),
            ),
            (
                grid(32631, 10.0, 500_000.0, 9_000_000.0, 10),
                grid(3857, 30.0, 330_000.0, 17_000_000.0, 256),
            ),
            (
                grid(3413, 100.0, 0.0, -1_000_000.0, 10),
                grid(4326, 0.002, -50.0, 80.0, 256),
            ),
        ];
        for (src, dst) in cases {
            let map = PixelMap::new(&dst, &src).unwrap();
            let to_pixel = ToPixel::new(&src.transform).unwrap();
            let n = dst.width as usize;
            let mut exact: Vec<(f64, f64)> = (0..n * n)
                .map(|p| ((p % n) as f64 + 0.5, (p / n) as f64 + 0.5))
                .collect();
            transform_pixels(&dst.transform, dst.crs, src.crs, &to_pixel, &mut exact).unwrap();
            let worst = (0..n * n)
                .map(|p| {
                    let (x, y) = map.position(p % n, p / n);
                    (x - exact[p].0).abs() + (y - exact[p].1).abs()
                })
                .fold(0.0, f64::max);
            println!("{} -> {}: {worst:.2e} px", dst.crs, src.crs);
            assert!(
                worst <= super::super::APPROX_ERROR_PX,
                "{} -> {}: {worst} px",
                dst.crs,
                src.crs
            );
        }
    }

    #[test]
    fn bad_grids_are_errors() {
        let src = grid(32631, 10.0, 0.0, 1000.0, 100);
        let mut flat = src;
        flat.transform.e = 0.0;
        let err = PixelMap::new(&src, &flat).unwrap_err();
        assert!(err.to_string().contains("cannot be inverted"), "{err}");
        let empty = grid(32631, 10.0, 0.0, 1000.0, 0);
        assert!(PixelMap::new(&empty, &src).is_err());
        let unknown = grid(999_999, 10.0, 0.0, 1000.0, 4);
        let err = PixelMap::new(&unknown, &src).unwrap_err();
        assert!(err.to_string().contains("EPSG:999999"), "{err}");
    }

    #[test]
    fn warper_kernel_rule() {
        // Unit kernel while both scales are >= 0.95 (ratios <= 1/0.95); ratios within 0.05 of an integer snap.
        assert_eq!(warp_kernel((1.05, 0.5)), (1.0, 1.0));
        assert_eq!(warp_kernel((1.07, 1.0)), (1.07, 1.0));
        assert_eq!(warp_kernel((2.04, 2.5)), (2.0, 2.5));
    }
}
