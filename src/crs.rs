//! Coordinate reference systems. A [`Crs`] is its EPSG code (the value type lives in the samplers crate so
//! every room shares it); transforms between CRSs arrive with the catalog (proj4rs).

pub use geochips_samplers::Crs;
