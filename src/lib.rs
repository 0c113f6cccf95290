//! geochips feeds machine-learning training with image chips cut from Cloud-Optimized GeoTIFFs on local disk
//! or object storage (S3, GCS, Azure, HTTP).
//!
//! This first layer is the COG window reader: [`Cog::open`] reads a file's header in one or two requests,
//! and [`Cog::read_window`] fetches only the tiles a window touches, decodes them on a rayon pool and pastes
//! them into a buffer the caller owns. Pixels are bit-identical to rasterio's boundless read of the same
//! window; outside the raster the buffer holds the fill value (nodata, else 0) and the validity mask says so.
//!
//! ```no_run
//! # async fn run() -> geochips::Result<()> {
//! use geochips::{Cog, Window};
//! let cog = Cog::open("s3://bucket/scene.tif").await?;
//! let window = Window::new(1024, 2048, 256, 256);
//! let bands: Vec<usize> = (0..cog.count()).collect();
//! let mut pixels = vec![0u8; cog.buffer_len(&window, bands.len())];
//! let mut mask = vec![0u8; window.pixels() as usize * bands.len()];
//! cog.read_window(&window, &bands, None, &mut pixels, Some(&mut mask)).await?;
//! # Ok(()) }
//! ```
#![warn(
    missing_docs,
    unreachable_pub,
    missing_debug_implementations,
    rustdoc::broken_intra_doc_links
)]

pub mod band_stats;
pub mod catalog;
pub mod cog;
pub mod crs;
pub mod demo;
pub mod dtype;
pub mod error;
pub mod grid;
pub mod loader;
pub mod ops;
mod pool;
pub mod ring;
pub mod runtime;
pub mod stitch;
mod tags;
#[cfg(any(feature = "burn", feature = "candle"))]
pub mod train;
pub mod warp;
pub mod write;

#[cfg(feature = "python")]
mod python;

pub use catalog::{Asset, BuildOptions, BuildReport, Catalog, Item};
pub use cog::{Cog, HeaderCache};
pub use crs::Crs;
pub use dtype::DataType;
pub use error::{Error, Result};
/// GeoSlices and the samplers that draw them (the `geochips-samplers` crate).
pub use geochips_samplers as samplers;
pub use geochips_samplers::{Bounds, Footprint, GeoSlice, Interval, Sampler, SamplerState, Shard};
pub use grid::{GeoTransform, Window};
pub use loader::{
    Batch, ChipReader, Labels, Loader, LoaderConfig, LoaderStats, Mosaic, OnError, Priority,
};
pub use ring::{Lease, Ring, Slot};
