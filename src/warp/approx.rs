//! GDAL's approximate transformer, which its warper (`rasterio.warp.reproject`, `WarpedVRT`) applies to every
//! destination row: the source positions of a row's pixel centres are interpolated linearly between the exact
//! positions of its first and last pixels when, at its middle pixel, the interpolation is within a tolerance
//! of the exact position; otherwise the row is cut in two halves that are treated the same way, and rows of
//! at most 5 pixels are transformed exactly.

use crate::error::Result;

/// gdalwarp's default error threshold (`-et`), in source pixels: the sum of the x and y errors allowed at a
/// row's middle pixel.
pub const APPROX_ERROR_PX: f64 = 0.125;

/// Rows (or halves) of at most this many pixels are transformed exactly.
const EXACT_MAX: usize = 5;

/// A source position.
type Point = (f64, f64);

/// A run of destination pixels `first..=last` of one row whose source positions are linear in the column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Segment {
    pub(super) first: usize,
    pub(super) last: usize,
    start: Point,
    step: Point,
}

impl Segment {
    /// The source position of pixel `i` of the segment.
    pub(super) fn position(&self, i: usize) -> Point {
        let d = (i - self.first) as f64;
        (
            self.start.0 + self.step.0 * d,
            self.start.1 + self.step.1 * d,
        )
    }

    fn exact(i: usize, p: Point) -> Segment {
        Segment {
            first: i,
            last: i,
            start: p,
            step: (0.0, 0.0),
        }
    }
}

/// Destination pixel coordinates to exact source pixel coordinates, in place.
pub(super) trait Exact: FnMut(&mut [Point]) -> Result<()> {}

impl<F: FnMut(&mut [Point]) -> Result<()>> Exact for F {}

/// Append to `out` the segments of destination row `j`, `width` pixels. `ends` are the exact source
/// positions of its first, middle (`(width - 1) / 2`) and last pixel centres.
pub(super) fn row(
    j: usize,
    width: usize,
    ends: [Point; 3],
    exact: &mut impl Exact,
    out: &mut Vec<Segment>,
) -> Result<()> {
    let mut row = Row {
        v: j as f64 + 0.5,
        exact,
        out,
    };
    if width <= EXACT_MAX {
        return row.exact_run(0, width);
    }
    row.split(0, width, ends)
}

/// One destination row being approximated.
struct Row<'a, E> {
    /// The row's pixel-centre coordinate.
    v: f64,
    exact: &'a mut E,
    out: &'a mut Vec<Segment>,
}

impl<E: Exact> Row<'_, E> {
    /// The exact source position of pixel `i`'s centre.
    fn at(&mut self, i: usize) -> Result<Point> {
        let mut p = [(i as f64 + 0.5, self.v)];
        (self.exact)(&mut p)?;
        Ok(p[0])
    }

    /// GDAL's `GDALApproxTransformInternal` over pixels `first..first + n` whose start, middle and end
    /// positions are `sme`.
    fn split(&mut self, first: usize, n: usize, sme: [Point; 3]) -> Result<()> {
        let mid = (n - 1) / 2;
        let span = (n - 1) as f64;
        let step = ((sme[2].0 - sme[0].0) / span, (sme[2].1 - sme[0].1) / span);
        let error = (sme[0].0 + step.0 * mid as f64 - sme[1].0).abs()
            + (sme[0].1 + step.1 * mid as f64 - sme[1].1).abs();
        if error <= APPROX_ERROR_PX {
            self.out.push(Segment {
                first,
                last: first + n - 1,
                start: sme[0],
                step,
            });
            return Ok(());
        }
        // Halves first..first + mid and first + mid..first + n, each with its own start, middle and end.
        if mid <= EXACT_MAX {
            self.exact_run(first, mid)?;
        } else {
            let sme1 = [
                sme[0],
                self.at(first + (mid - 1) / 2)?,
                self.at(first + mid - 1)?,
            ];
            self.split(first, mid, sme1)?;
        }
        let rest = n - mid;
        if rest <= EXACT_MAX {
            self.exact_run(first + mid, rest)
        } else {
            let sme2 = [sme[1], self.at(first + mid + (rest - 1) / 2)?, sme[2]];
            self.split(first + mid, rest, sme2)
        }
    }

    /// One exact segment for each pixel of `first..first + n` (`n` <= 5).
    fn exact_run(&mut self, first: usize, n: usize) -> Result<()> {
        let mut points = [(0.0, 0.0); EXACT_MAX];
        let run = &mut points[..n];
        for (k, p) in run.iter_mut().enumerate() {
            *p = ((first + k) as f64 + 0.5, self.v);
        }
        (self.exact)(run)?;
        self.out.extend(
            run.iter()
                .enumerate()
                .map(|(k, &p)| Segment::exact(first + k, p)),
        );
        Ok(())
    }
}
