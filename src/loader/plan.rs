//! The planner: a GeoSlice becomes, for each asset the chip reads, an opened COG, a pixel window and a read
//! plan — at the level whose grid the chip is on, else at the level GDAL would read for the chip's resolution,
//! with the map that resamples the window onto the chip's grid.

use std::sync::Arc;

use geochips_samplers::GeoSlice;

use super::LoaderConfig;
use super::config::Labels;
use crate::catalog::{Asset, Item};
use crate::cog::{Cog, HeaderCache, ReadPlan};
use crate::error::{Error, Result};
use crate::grid::{GeoTransform, Window};
use crate::warp::{Grid, PixelMap, Resampling};

/// Bands read from one asset of an item, landing in consecutive output channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    /// Index of the asset in the item.
    pub(crate) asset: usize,
    /// 0-based bands of the asset, in output order.
    pub(crate) bands: Vec<usize>,
    /// The output channel of the first band.
    pub(crate) first_channel: usize,
    /// How the asset is resampled onto a chip's grid that is not its own.
    pub(crate) resampling: Resampling,
}

/// Where each output channel of `item`'s chips comes from: the config's `bands` looked up by name in the
/// item's assets (in asset order), or every band of every asset but the labels band.
pub(crate) fn layout(item: &Item, config: &LoaderConfig) -> Result<Vec<Group>> {
    let except = config
        .labels
        .as_ref()
        .map(|Labels::Band(name)| name.as_str());
    let sources: Vec<(usize, usize)> = match config.bands.as_deref() {
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
                resampling: config.resampling_of(&item.assets[asset].key),
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
    /// How the plan's window becomes the chip's pixels; `None`: the window is the chip (same grid).
    pub(crate) warp: Option<Warp>,
}

/// The resampling of a part's window onto the chip's grid.
#[derive(Debug)]
pub(crate) struct Warp {
    /// Chip pixel centres in the pixel space of the level read.
    pub(crate) map: PixelMap,
    pub(crate) method: Resampling,
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

/// Plan `slice` over its `sources` (mosaic priority order), opening COGs through `headers`.
pub(crate) async fn plan_chip(
    slice: GeoSlice,
    sources: &[Source<'_>],
    headers: &HeaderCache,
) -> Result<ChipPlan> {
    let mut parts = Vec::new();
    for (source, &(item, groups, labels)) in sources.iter().enumerate() {
        plan_item(&slice, item, groups, labels, source, headers, &mut parts).await?;
    }
    Ok(ChipPlan {
        transform: chip_transform(&slice),
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
        resampling: Resampling::Nearest,
    });
    let reads = groups
        .iter()
        .map(|g| (g, Dest::Image(g.first_channel)))
        .chain(label_group.iter().map(|g| (g, Dest::Labels)));
    for (g, dest) in reads {
        let asset = &item.assets[g.asset];
        let cog = headers.open(&asset.href).await?;
        let (level, window, warp) = place(slice, asset, &cog, g.resampling)?;
        parts.push(Part {
            plan: cog.plan(&window, &g.bands, level)?,
            cog,
            dest,
            source,
            warp,
        });
    }
    Ok(())
}

/// The transform of `slice`'s chip: north-up, its top-left corner at the bounds' (minx, maxy).
pub(crate) fn chip_transform(slice: &GeoSlice) -> GeoTransform {
    let b = slice.bounds;
    GeoTransform::new(slice.res.0, 0.0, b.minx, 0.0, -slice.res.1, b.maxy)
}

/// Where `slice`'s chip lies in `asset` (opened as `cog`): the level (`None`: full resolution) to read, the
/// window of it, and the resampling of that window onto the chip — `None` when the chip is on the level's
/// grid (same CRS, same resolution, whole-pixel offset), read as is.
///
/// Otherwise the level is the one GDAL's `RasterIO` picks for the chip's resolution: the coarsest overview at
/// most as coarse as the chip (1.2 times as coarse with nearest: GDAL's oversampling threshold), else full
/// resolution; finer chips than full resolution are upsampled from it.
fn place(
    slice: &GeoSlice,
    asset: &Asset,
    cog: &Cog,
    method: Resampling,
) -> Result<(Option<usize>, Window, Option<Warp>)> {
    let size = (slice.size.0 as u64, slice.size.1 as u64);
    let overviews = cog.overviews();
    if slice.crs == asset.crs {
        let mut levels = std::iter::once(None).chain((0..overviews.len()).map(Some));
        let on_grid = levels.find_map(|level| {
            let window = cog.transform_of(level)?.window(&slice.bounds)?;
            ((window.width, window.height) == size).then_some((level, window))
        });
        if let Some((level, window)) = on_grid {
            return Ok((level, window, None));
        }
    }
    let chip = Grid {
        transform: chip_transform(slice),
        width: size.0,
        height: size.1,
        crs: slice.crs,
    };
    let grid = |level: Option<usize>| {
        let (width, height) = cog.size_of(level).expect("a level of the file");
        let transform = cog.transform_of(level).ok_or_else(|| Error::Unsupported {
            href: asset.href.clone(),
            feature: "resampling a raster without a geotransform".into(),
        })?;
        Ok::<_, Error>(Grid {
            transform,
            width,
            height,
            crs: asset.crs,
        })
    };
    let failed = |e: Error| Error::BadRead {
        href: asset.href.clone(),
        window: Window::new(0, 0, size.0, size.1),
        reason: format!(
            "the chip {:?} in {} cannot be mapped onto it: {e}",
            slice.bounds, slice.crs
        ),
    };
    let full = PixelMap::new(&chip, &grid(None)?).map_err(failed)?;
    let (scale_x, scale_y) = full.scale();
    let asked = scale_x.min(scale_y);
    let threshold = if method == Resampling::Nearest {
        1.2
    } else {
        1.0
    };
    let (width, height) = (cog.width() as f64, cog.height() as f64);
    let level = overviews
        .iter()
        .position(|&(w, h)| (width / w as f64).min(height / h as f64) > asked * threshold)
        .unwrap_or(overviews.len())
        .checked_sub(1);
    let map = match level {
        None => full,
        Some(_) => PixelMap::new(&chip, &grid(level)?).map_err(failed)?,
    };
    // No pixel of the chip takes anything from the raster: a window outside it reads nothing, and every
    // pixel resamples to invalid.
    let window = map
        .source_window(method)
        .unwrap_or(Window::new(-1, -1, 1, 1));
    Ok((level, window, Some(Warp { map, method })))
}
