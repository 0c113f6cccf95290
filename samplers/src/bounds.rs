//! Axis-aligned bounds in a CRS's units.

/// An axis-aligned rectangle `[minx, maxx] × [miny, maxy]` in the units of some CRS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Smallest x (west).
    pub minx: f64,
    /// Smallest y (south).
    pub miny: f64,
    /// Largest x (east).
    pub maxx: f64,
    /// Largest y (north).
    pub maxy: f64,
}

impl Bounds {
    /// Bounds from their four edges, in rasterio's order (left, bottom, right, top).
    pub fn new(minx: f64, miny: f64, maxx: f64, maxy: f64) -> Bounds {
        Bounds {
            minx,
            miny,
            maxx,
            maxy,
        }
    }

    /// Width (x extent).
    pub fn width(&self) -> f64 {
        self.maxx - self.minx
    }

    /// Height (y extent).
    pub fn height(&self) -> f64 {
        self.maxy - self.miny
    }

    /// Whether the two rectangles share any area (touching edges do not count).
    pub fn intersects(&self, other: &Bounds) -> bool {
        self.minx < other.maxx
            && other.minx < self.maxx
            && self.miny < other.maxy
            && other.miny < self.maxy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_edges_do_not_intersect_but_overlap_does() {
        let a = Bounds::new(0.0, 0.0, 10.0, 10.0);
        assert!(!a.intersects(&Bounds::new(10.0, 0.0, 20.0, 10.0)));
        assert!(a.intersects(&Bounds::new(9.5, 9.5, 20.0, 20.0)));
        assert_eq!(a.width(), 10.0);
        assert_eq!(a.height(), 10.0);
    }
}
