//! [`Cog`]: an opened GeoTIFF — its images (full resolution, overviews, masks) and geo metadata.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use object_store::ObjectStore;
use object_store::path::Path;

use super::geo::GeoInfo;
use super::image::{Compression, Image, Samples};
use super::{decode, header, store};
use crate::crs::Crs;
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::grid::{GeoTransform, Window};

/// One resolution level: its image and, where the file has one, its internal mask image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Level {
    pub(crate) image: usize,
    pub(crate) mask: Option<usize>,
}

/// An opened (Cloud-Optimized) GeoTIFF. Cheap to share (`Arc<Cog>`); reads borrow it immutably.
pub struct Cog {
    pub(crate) href: String,
    store: Arc<dyn ObjectStore>,
    /// The process that opened the file and, where its store came from the href, the href as given (so
    /// another process can build its own store; `href` hides its credentials).
    opened_by: (u32, Option<String>),
    /// Tells this Cog's read plans from other Cogs'.
    pub(crate) id: u64,
    pub(crate) path: Path,
    pub(crate) size: u64,
    header_requests: usize,
    bigtiff: bool,
    pub(crate) images: Vec<Image>,
    /// Level 0 is full resolution, then the overviews, largest first.
    pub(crate) levels: Vec<Level>,
    pub(crate) dtype: DataType,
    geo: GeoInfo,
}

impl fmt::Debug for Cog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cog")
            .field("href", &self.href)
            .field("width", &self.width())
            .field("height", &self.height())
            .field("count", &self.count())
            .field("dtype", &self.dtype)
            .field("levels", &self.levels.len())
            .finish()
    }
}

impl Cog {
    /// Open `href` (a local path, file://, s3://, gs://, az:// or http(s)://) and read its header.
    pub async fn open(href: &str) -> Result<Cog> {
        let (store, path) = store::resolve(href)?;
        let mut cog = Cog::open_in(store, path, href).await?;
        cog.opened_by.1 = Some(href.to_string());
        Ok(cog)
    }

    /// Open the object at `path` in `store`; `href` names it in errors.
    pub async fn open_in(store: Arc<dyn ObjectStore>, path: Path, href: &str) -> Result<Cog> {
        let href = &store::redact(href);
        let header = header::fetch(store.as_ref(), &path, href).await?;
        let invalid = |reason: String| Error::InvalidTiff {
            href: href.to_string(),
            reason,
        };
        let tiff = &header.tiff;
        let mut images = Vec::with_capacity(tiff.ifds.len());
        for (i, ifd) in tiff.ifds.iter().enumerate() {
            match Image::from_ifd(tiff, ifd, i) {
                Ok(image) => images.push(Image {
                    index: images.len(),
                    ..image
                }),
                Err(e) if i == 0 => return Err(invalid(format!("IFD 0: {e}"))),
                // An image we cannot use (an odd thumbnail, a private layout) is passed over, as GDAL
                // passes over IFDs it does not take for overviews or masks.
                Err(_) => {}
            }
        }
        let full = &images[0];
        let dtype = match &full.samples {
            Ok(samples) => samples.dtype(),
            Err(feature) => {
                return Err(Error::Unsupported {
                    href: href.to_string(),
                    feature: feature.clone(),
                });
            }
        };
        let levels = levels(&images);
        let mut geo = GeoInfo::from_ifd(tiff, &tiff.ifds[0], full.samples_per_pixel as usize);
        if dtype == DataType::F32 {
            // GDAL keeps a float32 band's nodata as a float32.
            geo.nodata = geo.nodata.map(|n| n as f32 as f64);
        }
        static IDS: AtomicU64 = AtomicU64::new(0);
        Ok(Cog {
            href: href.to_string(),
            store,
            opened_by: (std::process::id(), None),
            id: IDS.fetch_add(1, Ordering::Relaxed),
            path,
            size: header.size,
            header_requests: header.requests,
            bigtiff: tiff.big,
            images,
            levels,
            dtype,
            geo,
        })
    }

    /// The store to fetch from in this process: the one the file was opened with or, in a process forked
    /// since, this process's own store for the href (the parent's connections belong to its runtime).
    pub(crate) fn store(&self) -> Result<Arc<dyn ObjectStore>> {
        match &self.opened_by {
            (pid, Some(href)) if *pid != std::process::id() => Ok(store::resolve(href)?.0),
            _ => Ok(self.store.clone()),
        }
    }

    /// The href this asset was opened from, with any credentials in it (a URL's user info or query) shown
    /// as `***`: the name errors give.
    pub fn href(&self) -> &str {
        &self.href
    }

    /// Size of the file in bytes.
    pub fn file_size(&self) -> u64 {
        self.size
    }

    /// Requests it took to read the header.
    pub fn header_requests(&self) -> usize {
        self.header_requests
    }

    /// Whether the file is a BigTIFF.
    pub fn bigtiff(&self) -> bool {
        self.bigtiff
    }

    /// Width of the full-resolution image in pixels.
    pub fn width(&self) -> u64 {
        self.images[0].width
    }

    /// Height of the full-resolution image in pixels.
    pub fn height(&self) -> u64 {
        self.images[0].height
    }

    /// Number of bands.
    pub fn count(&self) -> usize {
        self.images[0].samples_per_pixel as usize
    }

    /// Sample type of every band.
    pub fn dtype(&self) -> DataType {
        self.dtype
    }

    /// The full-resolution pixel-to-world transform, `None` for a file without georeferencing.
    pub fn transform(&self) -> Option<GeoTransform> {
        self.geo.transform
    }

    /// The CRS (`None` where the file has none); an error for a CRS without an EPSG code.
    pub fn crs(&self) -> Result<Option<Crs>> {
        self.geo.crs.clone().map_err(|reason| Error::Crs {
            href: self.href.clone(),
            reason,
        })
    }

    /// GDAL's nodata value, NaN included.
    pub fn nodata(&self) -> Option<f64> {
        self.geo.nodata
    }

    /// All geo metadata, including GDAL's per-band scale and offset.
    pub fn geo(&self) -> &GeoInfo {
        &self.geo
    }

    /// (width, height) of each overview, largest first (`overview` index 0 is the first of these).
    pub fn overviews(&self) -> Vec<(u64, u64)> {
        self.levels[1..]
            .iter()
            .map(|l| (self.images[l.image].width, self.images[l.image].height))
            .collect()
    }

    /// The (width, height) of full resolution (`None`) or of overview `overview`.
    pub fn size_of(&self, overview: Option<usize>) -> Option<(u64, u64)> {
        let level = self
            .levels
            .get(overview.map_or(Some(0), |o| o.checked_add(1))?)?;
        Some((
            self.images[level.image].width,
            self.images[level.image].height,
        ))
    }

    /// The transform of overview `overview` (`None` = full resolution), scaled as GDAL scales it.
    pub fn transform_of(&self, overview: Option<usize>) -> Option<GeoTransform> {
        let (w, h) = self.size_of(overview)?;
        Some(
            self.transform()?
                .overview(self.width(), self.height(), w, h),
        )
    }

    /// (rows, cols) of a block: a tile, or a strip of the full image width.
    pub fn block_shape(&self) -> (u64, u64) {
        (self.images[0].tile_height, self.images[0].tile_width)
    }

    /// Whether the file is tiled (else stripped).
    pub fn tiled(&self) -> bool {
        self.images[0].tiled
    }

    /// The compression of the full-resolution image.
    pub fn compression(&self) -> Compression {
        self.images[0].compression
    }

    /// The TIFF predictor (1 none, 2 horizontal, 3 floating point).
    pub fn predictor(&self) -> u16 {
        self.images[0].predictor
    }

    /// Whether bands are stored separately (PlanarConfiguration 2), or there is only one band: GDAL's
    /// `INTERLEAVE=BAND`.
    pub fn band_interleaved(&self) -> bool {
        self.images[0].planar || self.count() == 1
    }

    /// Whether the file has an internal (per-dataset) mask.
    pub fn has_mask(&self) -> bool {
        self.levels[0].mask.is_some()
    }

    /// Why pixels of this file cannot be read, if they cannot (an unsupported codec, predictor or layout).
    pub fn unsupported(&self) -> Option<String> {
        decode::check_supported(&self.images[0]).err()
    }

    /// Bytes a buffer needs for `bands` bands of `window` in this file's dtype.
    pub fn buffer_len(&self, window: &Window, bands: usize) -> usize {
        window.pixels() as usize * bands * self.dtype.size()
    }
}

/// The resolution levels of a file: the first image, then reduced images of the same layout, largest first,
/// each with the mask image of its size.
fn levels(images: &[Image]) -> Vec<Level> {
    let full = &images[0];
    let mut data: Vec<&Image> = images
        .iter()
        .filter(|im| {
            im.index == 0
                || (im.is_reduced()
                    && !im.is_mask()
                    && im.samples == full.samples
                    && im.samples_per_pixel == full.samples_per_pixel
                    && im.width < full.width)
        })
        .collect();
    data[1..].sort_by_key(|im| std::cmp::Reverse(im.width));
    data.iter()
        .map(|im| Level {
            image: im.index,
            mask: images
                .iter()
                .find(|m| {
                    m.is_mask()
                        && (m.width, m.height) == (im.width, im.height)
                        && m.samples_per_pixel == 1
                        && matches!(m.samples, Ok(Samples::Bit | Samples::Typed(DataType::U8)))
                })
                .map(|m| m.index),
        })
        .collect()
}
