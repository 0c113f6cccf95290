//! The CRS value every room shares. Transforms between CRSs live in the root crate's `crs.rs`.

use std::fmt;

/// A coordinate reference system, identified by its EPSG code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Crs {
    epsg: u32,
}

impl Crs {
    /// The CRS with EPSG code `code`.
    pub fn from_epsg(code: u32) -> Crs {
        Crs { epsg: code }
    }

    /// The EPSG code.
    pub fn epsg(&self) -> u32 {
        self.epsg
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EPSG:{}", self.epsg)
    }
}
