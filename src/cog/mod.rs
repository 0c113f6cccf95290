//! COG access: open an asset by href (header fetched once, in one or two requests), then read boundless
//! pixel windows of any band subset at any overview level, fetching only the tiles the window touches.
//!
//! The rooms inside: [`tiff`](self) parses structure, `image` interprets one IFD, `geo` reads GeoTIFF
//! metadata, `header` fetches header bytes, `read` plans, fetches and pastes a window, `decode` turns one
//! tile's bytes into samples. Nothing here knows of samplers or batches.

mod cache;
mod decode;
mod geo;
mod header;
mod image;
mod open;
mod read;
pub(crate) mod store;
mod tiff;

pub use cache::HeaderCache;
pub use geo::GeoInfo;
pub use image::Compression;
pub use open::Cog;
pub use read::{BlockKey, MAX_WINDOW_SIDE, ReadPlan, coalesce};
