//! The planner: a GeoSlice becomes, for each asset the chip reads, an opened COG, a pixel window at the
//! level whose grid the slice is on, and a read plan.

use std::sync::Arc;

use geochips_samplers::GeoSlice;

use crate::catalog::Item;
use crate::cog::{Cog, HeaderCache, ReadPlan};
use crate::error::{Error, Result};
use crate::grid::GeoTransform;

/// Bands read from one asset of an item, landing in consecutive output channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    /// Index of the asset in the item.
    pub(crate) asset: usize,
    /// 0-based bands of the asset, in output order.
    pub(crate) bands: Vec<usize>,
    /// The output channel of the first band.
    pub(crate) first_channel: usize,
}

/// Where each output channel of `item`'s chips comes from: `bands` looked up by name in the item's assets
/// (in asset order), or every band of every asset but the band named `except` (the labels).
pub(crate) fn layout(
    item: &Item,
    bands: Option<&[String]>,
    except: Option<&str>,
) -> Result<Vec<Group>> {
    let sources: Vec<(usize, usize)> = match bands {
        None => item
            .assets
            .iter()
            .enumerate()
            .flat_map(|(a, asset)| {
                let keep = move |&b: &usize| Some(asset.bands[b].as_str()) != except;
                (0..asset.bands.len()).filter(keep).map(move |b| (a, b))
            })
            .collect(),
        Some(names) => names
            .iter()
            .map(|name| find_band(item, name))
            .collect::<Result<_>>()?,
    };
    let mut groups: Vec<Group> = Vec::new();
    for (channel, (asset, band)) in sources.into_iter().enumerate() {
        match groups.last_mut() {
            Some(g) if g.asset == asset => g.bands.push(band),
            _ => groups.push(Group {
                asset,
                bands: vec![band],
                first_channel: channel,
            }),
        }
    }
    Ok(groups)
}

/// The (asset, band) of `item` named `name`: the first asset, in order, that has a band so named.
pub(crate) fn find_band(item: &Item, name: &str) -> Result<(usize, usize)> {
    item.assets
        .iter()
        .enumerate()
        .find_map(|(a, asset)| asset.bands.iter().position(|b| b == name).map(|b| (a, b)))
        .ok_or_else(|| Error::Item {
            item: item.id.clone(),
            reason: format!("no asset has a band named {name:?}"),
        })
}

/// Where a part's samples go in the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    /// The image, from this channel on.
    Image(usize),
    /// The labels.
    Labels,
}

/// One asset's share of a chip.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) cog: Arc<Cog>,
    pub(crate) plan: ReadPlan,
    pub(crate) dest: Dest,
    /// Which of the chip's items (in mosaic priority order) the part reads.
    pub(crate) source: usize,
}

/// A chip ready to fetch: the transform of its pixels, and one part per asset read, grouped by source item
/// in mosaic priority order.
#[derive(Debug)]
pub(crate) struct ChipPlan {
    pub(crate) transform: GeoTransform,
    pub(crate) parts: Vec<Part>,
    /// Items the chip reads (1 unless mosaicked).
    pub(crate) sources: usize,
}

/// One item a chip reads: the item, where its image channels come from, and its labels band as (asset, band).
pub(crate) type Source<'a> = (&'a Item, &'a [Group], Option<(usize, usize)>);

/// Plan `slice` over its `sources` (mosaic priority order), opening COGs through `headers`. The slice must
/// be in each item's CRS and on the grid of full resolution or of one overview (no resampling yet).
pub(crate) async fn plan_chip(
    slice: GeoSlice,
    sources: &[Source<'_>],
    headers: &HeaderCache,
) -> Result<ChipPlan> {
    let mut parts = Vec::new();
    for (source, &(item, groups, labels)) in sources.iter().enumerate() {
        plan_item(&slice, item, groups, labels, source, headers, &mut parts).await?;
    }
    let b = slice.bounds;
    Ok(ChipPlan {
        transform: GeoTransform::new(slice.res.0, 0.0, b.minx, 0.0, -slice.res.1, b.maxy),
        parts,
        sources: sources.len(),
    })
}

/// Plan the parts of one `item` of a chip (its `source` number) onto `parts`.
async fn plan_item(
    slice: &GeoSlice,
    item: &Item,
    groups: &[Group],
    labels: Option<(usize, usize)>,
    source: usize,
    headers: &HeaderCache,
    parts: &mut Vec<Part>,
) -> Result<()> {
    let label_group = labels.map(|(asset, band)| Group {
        asset,
        bands: vec![band],
        first_channel: 0,
    });
    let reads = groups
        .iter()
        .map(|g| (g, Dest::Image(g.first_channel)))
        .chain(label_group.iter().map(|g| (g, Dest::Labels)));
    for (g, dest) in reads {
        let asset = &item.assets[g.asset];
        let cog = headers.open(&asset.href).await?;
        if slice.crs != asset.crs {
            return Err(Error::Unsupported {
                href: asset.href.clone(),
                feature: format!(
                    "a slice in {} over an asset in {} (reprojection is not built yet)",
                    slice.crs, asset.crs
                ),
            });
        }
        let size = (slice.size.0 as u64, slice.size.1 as u64);
        let on_grid = std::iter::once(None)
            .chain((0..cog.overviews().len()).map(Some))
            .find_map(|level| {
                let window = cog.transform_of(level)?.window(&slice.bounds)?;
                ((window.width, window.height) == size).then_some((level, window))
            });
        let Some((level, window)) = on_grid else {
            return Err(Error::Unsupported {
                href: asset.href.clone(),
                feature: format!(
                    "slice {:?} at resolution {:?} is on no level's grid (resampling is not built yet)",
                    slice.bounds, slice.res
                ),
            });
        };
        parts.push(Part {
            plan: cog.plan(&window, &g.bands, level)?,
            cog,
            dest,
            source,
        });
    }
    Ok(())
}
