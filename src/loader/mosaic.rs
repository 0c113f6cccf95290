//! Mosaics: which items fill a chip, in which order, and how a later item fills the pixels the earlier ones
//! left invalid.

use geochips_samplers::GeoSlice;

use crate::catalog::{Catalog, Item};
use crate::error::Result;

/// How a chip that covers several items is filled. Never a blend across nodata: a pixel comes from one item,
/// where all of that item's bands are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mosaic {
    /// Each pixel from the first item, in priority order, whose bands are all valid there; the items are the
    /// slice's item and every other item whose bounds meet the chip (in another CRS: whose lon/lat box meets
    /// the chip's; it is reprojected onto the chip's grid) and whose time meets the slice's (so a dated scene
    /// is mosaicked with the scenes of its own date, not with other dates).
    FirstValid(Priority),
    /// From the slice's item alone: outside it (or where it has nodata) the chip is fill, marked invalid.
    Single,
}

impl Default for Mosaic {
    /// First valid, newest first.
    fn default() -> Mosaic {
        Mosaic::FirstValid(Priority::default())
    }
}

/// The order in which [`Mosaic::FirstValid`] tries the items of a chip. Ties keep the slice's item first,
/// then catalog order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// Latest end of interval first (items without a time come last).
    #[default]
    Newest,
    /// Earliest start of interval first (items without a time come last).
    Oldest,
    /// The slice's item, then catalog order.
    Catalog,
}

/// The catalog indices of the items that fill `slice`'s chip, in priority order: the slice's item alone, or it
/// and the items that meet it.
pub(crate) fn sources(catalog: &Catalog, slice: &GeoSlice, mosaic: Mosaic) -> Result<Vec<usize>> {
    let Mosaic::FirstValid(priority) = mosaic else {
        return Ok(vec![slice.item]);
    };
    let items = catalog.items();
    let meets = |item: &Item| {
        let (a, b) = (&item.bounds, &slice.bounds);
        item.crs != slice.crs
            || (a.minx < b.maxx && b.minx < a.maxx && a.miny < b.maxy && b.miny < a.maxy)
    };
    let mut found: Vec<usize> = catalog
        .query(&slice.bounds, slice.crs, &slice.interval)?
        .into_iter()
        .filter(|&i| i != slice.item && meets(&items[i]))
        .collect();
    found.insert(0, slice.item);
    let open = |i: usize| items[i].interval.is_open();
    match priority {
        Priority::Newest => {
            found.sort_by_key(|&i| (open(i), std::cmp::Reverse(items[i].interval.end)))
        }
        Priority::Oldest => found.sort_by_key(|&i| (open(i), items[i].interval.start)),
        Priority::Catalog => {}
    }
    Ok(found)
}

/// Fill the pixels `valid` marks invalid from a later item's chip (`image`, `valid`, `labels` of the same
/// layout) where that item is valid; `sample` is the image sample size in bytes.
pub(crate) fn fill_from(
    into: (&mut [u8], &mut [u8], &mut [u8]),
    from: (&[u8], &[u8], &[u8]),
    sample: usize,
) {
    let (image, valid, labels) = into;
    let (their_image, their_valid, their_labels) = from;
    let plane = valid.len();
    let label_size = labels.len() / plane.max(1);
    for p in 0..plane {
        if valid[p] == 1 || their_valid[p] == 0 {
            continue;
        }
        valid[p] = 1;
        for c in 0..image.len() / (plane * sample) {
            let at = (c * plane + p) * sample;
            image[at..at + sample].copy_from_slice(&their_image[at..at + sample]);
        }
        let at = p * label_size;
        labels[at..at + label_size].copy_from_slice(&their_labels[at..at + label_size]);
    }
}
