//! Typed errors: each names the asset href and what failed.

use crate::grid::Window;

/// Every error geochips returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The href could not be turned into an object store and path.
    #[error("{href}: not a readable href: {reason}")]
    Href {
        /// The href as given.
        href: String,
        /// Why it was refused.
        reason: String,
    },
    /// The object store failed to deliver bytes (after its own retries).
    #[error("{href}: {source}")]
    Store {
        /// The asset.
        href: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// The file is not a TIFF we can parse: bad structure, truncated, or absurd values.
    #[error("{href}: invalid TIFF: {reason}")]
    InvalidTiff {
        /// The asset.
        href: String,
        /// What is wrong, where.
        reason: String,
    },
    /// A valid TIFF that uses a feature geochips does not read (yet).
    #[error("{href}: unsupported: {feature}")]
    Unsupported {
        /// The asset.
        href: String,
        /// The feature, named as the TIFF/GDAL spec names it.
        feature: String,
    },
    /// A tile's bytes could not be decoded.
    #[error("{href}: tile {tile} of image {image}: {reason}")]
    Decode {
        /// The asset.
        href: String,
        /// Index of the image (IFD) in the file: 0 full resolution, then overviews and masks.
        image: usize,
        /// Index of the tile (or strip) in that image.
        tile: usize,
        /// What the decoder said.
        reason: String,
    },
    /// A read was asked for something the asset does not have.
    #[error("{href}: bad read of window {window:?}: {reason}")]
    BadRead {
        /// The asset.
        href: String,
        /// The window asked for.
        window: Window,
        /// What was wrong with the request.
        reason: String,
    },
    /// The file's CRS cannot be expressed as an EPSG code.
    #[error("{href}: CRS not supported: {reason}")]
    Crs {
        /// The asset.
        href: String,
        /// What the GeoKeys say, and why we cannot use it.
        reason: String,
    },
    /// A catalog item cannot serve what the loader was asked for (a band it lacks, a grid it is not on).
    #[error("item {item}: {reason}")]
    Item {
        /// The item's id.
        item: String,
        /// What is missing or wrong.
        reason: String,
    },
    /// The loader cannot go on: a bad configuration, or every ring slot held by batches still alive.
    #[error("loader: {reason}")]
    Loader {
        /// What is wrong and what to change.
        reason: String,
    },
    /// A tensor framework (burn, candle) could not take a batch: a device it cannot allocate on, say.
    #[error("{framework}: {reason}")]
    Tensor {
        /// The framework.
        framework: &'static str,
        /// Which batch, and what the framework said.
        reason: String,
    },
    /// A transform between CRSs failed: an unknown EPSG code, or a point the projection cannot take.
    #[error("{crs}: transform failed: {reason}")]
    Transform {
        /// The CRS (or "from -> to" pair).
        crs: String,
        /// What failed.
        reason: String,
    },
    /// A resample or reprojection onto a chip's grid cannot be done: a grid that is degenerate (a singular
    /// transform, no pixels) or buffers whose sizes do not match the grids.
    #[error("warp: {reason}")]
    Warp {
        /// What is wrong.
        reason: String,
    },
    /// An op cannot take the chips it is given (a band it needs is missing, a parameter out of range), or an
    /// op config does not parse.
    #[error("op {op}: {reason}")]
    Op {
        /// The op (its config name, with the parameter where one is at fault).
        op: String,
        /// What is wrong.
        reason: String,
    },
    /// A catalog source or file could not be used: a malformed STAC or GeoParquet file, an item whose
    /// assets disagree, a bad option.
    #[error("{path}: {reason}")]
    Catalog {
        /// The file, href or item (credentials hidden).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Chips cannot be stitched onto the output: a slice off the output grid or in another CRS, a chip of
    /// the wrong size, chips out of row order, or an output grid or shape the COG writer refuses.
    #[error("{path}: cannot stitch: {reason}")]
    Stitch {
        /// The output file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be written.
    #[error("write failed: {source}")]
    Write {
        /// The file.
        path: String,
        /// The writer's error; its message starts with the file's path.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with geochips' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
