//! The catalog: items (scenes) and their assets (COGs), built by reading headers only, kept as GeoParquet,
//! queried by place and time.
//!
//! ```no_run
//! # async fn run() -> geochips::Result<()> {
//! use geochips::catalog::{BuildOptions, Catalog};
//! use geochips::{Bounds, Crs, Interval};
//! let (catalog, report) = Catalog::build(&["s3://bucket/scenes/"], &BuildOptions::default()).await?;
//! for failure in &report.failures {
//!     eprintln!("left out: {failure}");
//! }
//! catalog.write("catalog.parquet")?;
//! let hits = catalog.query(&Bounds::new(2.0, 48.0, 3.0, 49.0), Crs::from_epsg(4326), &Interval::OPEN)?;
//! # Ok(()) }
//! ```

mod build;
mod datetime;
mod geoparquet;
mod item;
mod query;
mod remote;
mod slices;
mod sources;
mod stac;
mod stac_geoparquet;
mod wkb;

pub use build::{BuildOptions, BuildReport, Failure, Progress};
pub use datetime::{FilenameDates, parse_with_format};
pub use item::{Asset, Item};
pub use slices::{slices_to_geoparquet, write_slices};

use geochips_samplers::{Bounds, Crs, Footprint, Interval};

use crate::error::{Error, Result};

/// A set of items, each with its assets, footprint and time interval, indexed for queries.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    items: Vec<Item>,
    index: query::Index,
}

impl PartialEq for Catalog {
    fn eq(&self, other: &Catalog) -> bool {
        self.items == other.items
    }
}

impl Catalog {
    /// A catalog holding `items`.
    pub fn from_items(items: Vec<Item>) -> Catalog {
        let index = query::Index::new(&items);
        Catalog { items, index }
    }

    /// All items, in catalog order (an item's index is its position here).
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the catalog holds no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The footprints samplers draw from, one per item, in catalog order.
    pub fn footprints(&self) -> Vec<Footprint> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, item)| item.footprint(i))
            .collect()
    }

    /// The footprints samplers draw from to make chips in `crs` at `res` (pixel width and height in `crs`
    /// units), one per item in catalog order: each item's bounds transformed into `crs` (edges densified),
    /// shrunk to whole pixels of one grid shared by every item, aligned on multiples of `res` (GDAL's
    /// target-aligned pixels) — so chips from any item line up, and the loader warps each item onto them.
    /// Errors for a CRS without a known definition, a resolution that is not positive, or an item that
    /// covers less than a pixel of the grid.
    pub fn footprints_in(&self, crs: Crs, res: (f64, f64)) -> Result<Vec<Footprint>> {
        if !(res.0 > 0.0 && res.1 > 0.0 && res.0.is_finite() && res.1.is_finite()) {
            return Err(Error::Loader {
                reason: format!("footprints in {crs} need a positive resolution, got {res:?}"),
            });
        }
        self.items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let b = crate::crs::transform_bounds(item.crs, crs, &item.bounds)?;
                let snap = |v: f64, r: f64, round: fn(f64) -> f64| round(v / r) * r;
                let bounds = Bounds::new(
                    snap(b.minx, res.0, f64::ceil),
                    snap(b.miny, res.1, f64::ceil),
                    snap(b.maxx, res.0, f64::floor),
                    snap(b.maxy, res.1, f64::floor),
                );
                if bounds.minx >= bounds.maxx || bounds.miny >= bounds.maxy {
                    return Err(Error::Item {
                        item: item.id.clone(),
                        reason: format!("it covers less than a {res:?} pixel of {crs}"),
                    });
                }
                Ok(Footprint {
                    crs,
                    bounds,
                    res,
                    ..item.footprint(i)
                })
            })
            .collect()
    }

    /// Indices (ascending) of the items whose EPSG:4326 footprint box shares area with `bounds` (given in
    /// `crs`, transformed with densified edges) and whose interval meets `interval`. Errors for a CRS
    /// without a known EPSG definition.
    pub fn query(&self, bounds: &Bounds, crs: Crs, interval: &Interval) -> Result<Vec<usize>> {
        let bounds = query::to_4326(bounds, crs)?;
        Ok(self.index.query_4326(&self.items, &bounds, interval))
    }

    /// A new catalog of the items for which `keep` is true, in the same order (indices change).
    pub fn filter(&self, keep: impl Fn(&Item) -> bool) -> Catalog {
        Catalog::from_items(self.items.iter().filter(|i| keep(i)).cloned().collect())
    }
}

/// The smallest box holding every one of `boxes` (inverted, empty, when there is none).
pub(crate) fn union(boxes: impl IntoIterator<Item = Bounds>) -> Bounds {
    boxes.into_iter().fold(crate::crs::bounds_of(&[]), |u, b| {
        Bounds::new(
            u.minx.min(b.minx),
            u.miny.min(b.miny),
            u.maxx.max(b.maxx),
            u.maxy.max(b.maxy),
        )
    })
}
