//! Time intervals, in microseconds since the Unix epoch (UTC), closed at both ends like TorchGeo's
//! `mint`/`maxt`.

/// A closed time interval `[start, end]` in microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    /// First instant, inclusive.
    pub start: i64,
    /// Last instant, inclusive.
    pub end: i64,
}

impl Interval {
    /// All of time: what an item without a datetime covers.
    pub const OPEN: Interval = Interval {
        start: i64::MIN,
        end: i64::MAX,
    };

    /// The interval `[start, end]`.
    pub fn new(start: i64, end: i64) -> Interval {
        Interval { start, end }
    }

    /// A single instant.
    pub fn instant(at: i64) -> Interval {
        Interval { start: at, end: at }
    }

    /// Whether the two intervals share at least one instant.
    pub fn intersects(&self, other: &Interval) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// Whether this is all of time.
    pub fn is_open(&self) -> bool {
        *self == Interval::OPEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_intervals_touching_at_an_instant_intersect() {
        let a = Interval::new(0, 10);
        assert!(a.intersects(&Interval::new(10, 20)));
        assert!(!a.intersects(&Interval::new(11, 20)));
        assert!(Interval::OPEN.intersects(&Interval::instant(-5)));
        assert!(Interval::OPEN.is_open() && !a.is_open());
    }
}
