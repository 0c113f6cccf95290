//! A region of interest: a simple polygon (one ring) in one CRS.

use crate::{Bounds, Crs, SamplerError};

/// A simple polygon given by one ring of `(x, y)` points in `crs` units (no holes).
///
/// A sampler given a `Polygon` as its `roi` constrains only the footprints in the polygon's CRS; footprints in
/// other CRSs are other places, which the polygon says nothing about, and they are sampled unconstrained.
/// Reproject the roi into each CRS first (the root crate's `crs` room) to constrain them too.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    crs: Crs,
    ring: Vec<(f64, f64)>,
    bounds: Bounds,
}

impl Polygon {
    /// The polygon with vertices `ring` in `crs` (closing the ring by repeating the first point is optional).
    ///
    /// Fails on fewer than three distinct points or a non-finite coordinate.
    pub fn new(crs: Crs, mut ring: Vec<(f64, f64)>) -> Result<Polygon, SamplerError> {
        if ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        if ring.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
            return Err(SamplerError::InvalidRoi(
                "a coordinate is not finite".into(),
            ));
        }
        if ring.len() < 3 {
            return Err(SamplerError::InvalidRoi(format!(
                "a polygon needs at least 3 points, got {}",
                ring.len()
            )));
        }
        let mut b = Bounds::new(
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for &(x, y) in &ring {
            b.minx = b.minx.min(x);
            b.miny = b.miny.min(y);
            b.maxx = b.maxx.max(x);
            b.maxy = b.maxy.max(y);
        }
        if b.width() <= 0.0 || b.height() <= 0.0 {
            return Err(SamplerError::InvalidRoi("the polygon has no area".into()));
        }
        Ok(Polygon {
            crs,
            ring,
            bounds: b,
        })
    }

    /// The rectangle `bounds` as a polygon.
    pub fn rectangle(crs: Crs, bounds: Bounds) -> Result<Polygon, SamplerError> {
        let Bounds {
            minx,
            miny,
            maxx,
            maxy,
        } = bounds;
        Polygon::new(
            crs,
            vec![(minx, miny), (maxx, miny), (maxx, maxy), (minx, maxy)],
        )
    }

    /// The CRS of the ring's coordinates.
    pub fn crs(&self) -> Crs {
        self.crs
    }

    /// The ring's vertices (not closed).
    pub fn ring(&self) -> &[(f64, f64)] {
        &self.ring
    }

    /// The polygon's bounding box.
    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// Whether `(x, y)` is inside (even-odd rule; points on the boundary may go either way).
    pub fn contains_point(&self, x: f64, y: f64) -> bool {
        let mut inside = false;
        let n = self.ring.len();
        let mut j = n - 1;
        for i in 0..n {
            let (xi, yi) = self.ring[i];
            let (xj, yj) = self.ring[j];
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
        inside
    }

    /// Whether the rectangle `b` lies inside the polygon (its edges may touch the polygon's boundary).
    ///
    /// True when the rectangle's centre is inside and no polygon edge passes through the rectangle's interior
    /// (shrunk by a relative 1e-9 so that shared edges do not count as crossings).
    pub fn contains_bounds(&self, b: &Bounds) -> bool {
        if b.minx < self.bounds.minx - tol(&self.bounds)
            || b.maxx > self.bounds.maxx + tol(&self.bounds)
            || b.miny < self.bounds.miny - tol(&self.bounds)
            || b.maxy > self.bounds.maxy + tol(&self.bounds)
        {
            return false;
        }
        if !self.contains_point((b.minx + b.maxx) / 2.0, (b.miny + b.maxy) / 2.0) {
            return false;
        }
        let ex = b.width() * 1e-9;
        let ey = b.height() * 1e-9;
        let inner = Bounds::new(b.minx + ex, b.miny + ey, b.maxx - ex, b.maxy - ey);
        let n = self.ring.len();
        (0..n).all(|i| !segment_meets(self.ring[i], self.ring[(i + 1) % n], &inner))
    }
}

fn tol(b: &Bounds) -> f64 {
    (b.width() + b.height()) * 1e-12
}

/// Whether the segment `a`–`b` meets the closed rectangle `r` (Liang–Barsky clipping).
fn segment_meets(a: (f64, f64), b: (f64, f64), r: &Bounds) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let p = [-dx, dx, -dy, dy];
    let q = [a.0 - r.minx, r.maxx - a.0, a.1 - r.miny, r.maxy - a.1];
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for k in 0..4 {
        if p[k] == 0.0 {
            if q[k] < 0.0 {
                return false;
            }
        } else {
            let t = q[k] / p[k];
            if p[k] < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    t0 <= t1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l_shape() -> Polygon {
        // An L: the square [0,10]² without its top-right quarter [5,10]².
        let ring = vec![
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 5.0),
            (5.0, 5.0),
            (5.0, 10.0),
            (0.0, 10.0),
        ];
        Polygon::new(Crs::from_epsg(32631), ring).unwrap()
    }

    #[test]
    fn rectangles_inside_an_l_shape_are_told_from_those_across_its_notch() {
        let p = l_shape();
        assert!(p.contains_bounds(&Bounds::new(0.0, 0.0, 10.0, 5.0)));
        assert!(p.contains_bounds(&Bounds::new(1.0, 1.0, 4.0, 9.0)));
        assert!(!p.contains_bounds(&Bounds::new(4.0, 4.0, 6.0, 6.0)));
        assert!(!p.contains_bounds(&Bounds::new(6.0, 6.0, 9.0, 9.0)));
        assert!(!p.contains_bounds(&Bounds::new(-1.0, 1.0, 2.0, 2.0)));
        assert!(p.contains_point(2.0, 8.0) && !p.contains_point(8.0, 8.0));
    }

    #[test]
    fn degenerate_rings_are_refused() {
        let c = Crs::from_epsg(4326);
        assert!(Polygon::new(c, vec![(0.0, 0.0), (1.0, 1.0)]).is_err());
        assert!(Polygon::new(c, vec![(0.0, 0.0), (1.0, 0.0), (f64::NAN, 1.0)]).is_err());
        assert!(Polygon::new(c, vec![(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)]).is_err());
    }
}
