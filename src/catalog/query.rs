//! Spatial and temporal queries: an R-tree (rstar) over the items' EPSG:4326 bounding boxes.

use geochips_samplers::{Bounds, Crs, Interval};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::Item;
use crate::crs::{self, bounds_of, wgs84};
use crate::error::Result;

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// The R-tree over the items' footprint boxes in EPSG:4326, holding item indices.
#[derive(Clone, Default)]
pub(crate) struct Index {
    tree: RTree<Entry>,
    /// Each item's footprint box, by item index (the exact test after the tree's candidates).
    boxes: Vec<Bounds>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("items", &self.boxes.len())
            .finish()
    }
}

impl Index {
    /// The index of `items`' footprints.
    pub(crate) fn new(items: &[Item]) -> Index {
        let boxes: Vec<Bounds> = items.iter().map(|i| bounds_of(&i.footprint)).collect();
        let entries = boxes
            .iter()
            .enumerate()
            .filter(|(_, b)| b.minx <= b.maxx && b.miny <= b.maxy)
            .map(|(i, b)| {
                GeomWithData::new(
                    Rectangle::from_corners([b.minx, b.miny], [b.maxx, b.maxy]),
                    i,
                )
            })
            .collect();
        Index {
            tree: RTree::bulk_load(entries),
            boxes,
        }
    }

    /// Indices (ascending) of the items whose footprint box shares area with `bounds` (EPSG:4326) and whose
    /// interval meets `interval`.
    pub(crate) fn query_4326(
        &self,
        items: &[Item],
        bounds: &Bounds,
        interval: &Interval,
    ) -> Vec<usize> {
        let envelope = AABB::from_corners([bounds.minx, bounds.miny], [bounds.maxx, bounds.maxy]);
        let mut hits: Vec<usize> = self
            .tree
            .locate_in_envelope_intersecting(envelope)
            .map(|e| e.data)
            .filter(|&i| self.boxes[i].intersects(bounds) && items[i].interval.intersects(interval))
            .collect();
        hits.sort_unstable();
        hits
    }
}

/// `bounds` in `crs` as an EPSG:4326 box (densified edges).
pub(crate) fn to_4326(bounds: &Bounds, crs: Crs) -> Result<Bounds> {
    crs::transform_bounds(crs, wgs84(), bounds)
}
