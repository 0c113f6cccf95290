//! The catalog: items (scenes) and their assets (COGs), built by reading headers only.

mod item;

pub use item::{Asset, Item};

use geochips_samplers::Footprint;

/// A set of items, each with its assets, footprint and time interval.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    items: Vec<Item>,
}

impl Catalog {
    /// A catalog holding `items`.
    pub fn from_items(items: Vec<Item>) -> Catalog {
        Catalog { items }
    }

    /// All items, in catalog order (an item's index is its position here).
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The footprints samplers draw from, one per item, in catalog order.
    pub fn footprints(&self) -> Vec<Footprint> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, item)| item.footprint(i))
            .collect()
    }
}
