//! Item and Asset: what the catalog records of each scene and each of its raster files.

use geochips_samplers::{Bounds, Crs, Footprint, Interval};

use crate::dtype::DataType;
use crate::grid::GeoTransform;

/// One raster file of an item, with what its header says.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// The asset's key within its item (`"image"` for single-file items, STAC asset keys such as `"B02"`).
    pub key: String,
    /// Where the COG is: a path or URL that [`crate::cog::Cog::open`] takes.
    pub href: String,
    /// One name per band of the file, in band order.
    pub bands: Vec<String>,
    /// Sample type.
    pub dtype: DataType,
    /// GDAL nodata value, if any.
    pub nodata: Option<f64>,
    /// Raster width in pixels (full resolution).
    pub width: u64,
    /// Raster height in pixels (full resolution).
    pub height: u64,
    /// Pixel → CRS affine transform (full resolution).
    pub transform: GeoTransform,
    /// The raster's CRS.
    pub crs: Crs,
    /// Tile (or strip) width and height in pixels.
    pub tile: (u64, u64),
    /// Number of overview levels.
    pub overviews: usize,
}

impl Asset {
    /// The raster's bounds in its CRS.
    pub fn bounds(&self) -> Bounds {
        self.transform
            .bounds(self.width, self.height)
            .expect("a catalog asset has a north-up, non-degenerate transform")
    }

    /// Pixel width and height in CRS units (both positive).
    pub fn res(&self) -> (f64, f64) {
        (self.transform.a.abs(), self.transform.e.abs())
    }
}

/// One scene (or time step): its assets, when it was taken, where it lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Unique id within the catalog.
    pub id: String,
    /// When the item was taken ([`Interval::OPEN`] when unknown).
    pub interval: Interval,
    /// The item's raster files; at least one, all in `crs`.
    pub assets: Vec<Asset>,
    /// The CRS of every asset.
    pub crs: Crs,
    /// Native bounds: the union of the assets' bounds, in `crs`.
    pub bounds: Bounds,
    /// The footprint in EPSG:4326 as a closed ring of (lon, lat) points.
    pub footprint: Vec<(f64, f64)>,
}

impl Item {
    /// The asset with key `key`.
    pub fn asset(&self, key: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.key == key)
    }

    /// What a sampler sees of this item (as catalog item `index`): native bounds on the grid of its finest
    /// asset.
    pub fn footprint(&self, index: usize) -> Footprint {
        let res = self
            .assets
            .iter()
            .map(Asset::res)
            .fold((f64::INFINITY, f64::INFINITY), |a, r| {
                (a.0.min(r.0), a.1.min(r.1))
            });
        Footprint {
            item: index,
            crs: self.crs,
            bounds: self.bounds,
            res,
            interval: self.interval,
        }
    }
}
