//! GeoSlices and the samplers that draw them: pure geometry and seeded randomness, no I/O.
//!
//! This crate knows nothing of files. The samplers arrive with the catalog (see the catalog issue); for now it
//! holds the value types every other room shares.
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod bounds;

pub use bounds::Bounds;
