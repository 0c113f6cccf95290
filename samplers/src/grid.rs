//! GridSampler: every item tiled with chips of a given size and stride, in a fixed order.

use crate::raster::Raster;
use crate::schedule::{Progress, sampler_impls};
use crate::{ChipSize, Edge, Footprint, GeoSlice, Interval, Polygon, SamplerError};

/// Options of a [`GridSampler`].
#[derive(Debug, Clone, PartialEq)]
pub struct GridOptions {
    /// Chip size, in pixels or CRS units (converted with each item's resolution). Default 256×256 px.
    pub size: ChipSize,
    /// Step between chips; `None` (default) = `size` (chips tile without overlap).
    pub stride: Option<ChipSize>,
    /// What the last row and column do when the stride does not fit (default [`Edge::Clamp`]).
    pub edge: Edge,
    /// Time of interest: items whose interval does not meet it are left out.
    pub toi: Interval,
    /// Region of interest: items in its CRS are tiled only over their part inside the polygon's bounding box
    /// (snapped outward to whole pixels); chips are not tested against the polygon itself. Items in other CRSs
    /// are tiled whole.
    pub roi: Option<Polygon>,
    /// Recorded in [`SamplerState`](crate::SamplerState); the grid's order does not depend on it.
    pub seed: u64,
}

impl Default for GridOptions {
    fn default() -> GridOptions {
        GridOptions {
            size: ChipSize::pixels(256),
            stride: None,
            edge: Edge::Clamp,
            toi: Interval::OPEN,
            roi: None,
            seed: 0,
        }
    }
}

/// Chips on a regular grid over every item, in the order (item, row, column), the same every epoch.
///
/// On each item the grid starts at the top-left pixel and steps by `stride`; with [`Edge::Clamp`] the last row
/// and column are moved back to end on the raster's edge, with [`Edge::Pad`] they keep the stride and reach past
/// it. An item smaller than a chip gives one chip at its top-left corner, reaching past its edge (padded).
/// Sharding gives slice `i` to shard `i % count`; shards that run short repeat slices from the start of the
/// epoch so that all have the same length (see [`Sampler::epoch_len`](crate::Sampler::epoch_len)).
#[derive(Debug, Clone)]
pub struct GridSampler {
    tiles: Vec<Tiling>,
    /// Slices of item `k` have ids `starts[k]..starts[k + 1]`.
    starts: Vec<u64>,
    edge: Edge,
    progress: Progress,
    last: usize,
}

/// How one item is tiled.
#[derive(Debug, Clone)]
struct Tiling {
    raster: Raster,
    size: (u32, u32),
    stride: (i64, i64),
    /// Tiled window: top-left pixel and size in pixels.
    origin: (i64, i64),
    extent: (i64, i64),
    cols: u64,
}

impl GridSampler {
    /// Derive the per-epoch state from `progress` (after the epoch or position changed).
    fn rekey(&mut self) {}

    /// A sampler over `footprints`, tiling them in the given order.
    pub fn new(
        footprints: &[Footprint],
        options: GridOptions,
    ) -> Result<GridSampler, SamplerError> {
        options.size.check("size")?;
        let stride = options.stride.unwrap_or(options.size);
        stride.check("stride")?;
        let mut tiles = Vec::new();
        let mut starts = vec![0u64];
        for fp in footprints {
            let raster = Raster::new(fp)?;
            if !fp.interval.intersects(&options.toi) {
                continue;
            }
            let (mut c0, mut r0, mut c1, mut r1) = (0, 0, raster.width, raster.height);
            if let Some(roi) = options.roi.as_ref().filter(|r| r.crs() == fp.crs) {
                let rb = roi.bounds();
                let (l, t) = raster.to_pixel(rb.minx, rb.maxy);
                let (r, b) = raster.to_pixel(rb.maxx, rb.miny);
                const EPS: f64 = 1e-6;
                c0 = c0.max((l + EPS).floor() as i64);
                r0 = r0.max((t + EPS).floor() as i64);
                c1 = c1.min((r - EPS).ceil() as i64);
                r1 = r1.min((b - EPS).ceil() as i64);
                if c1 <= c0 || r1 <= r0 {
                    continue;
                }
            }
            let size = options.size.to_pixels(fp.res);
            let st = stride.to_pixels(fp.res);
            let stride = (st.0 as i64, st.1 as i64);
            // Enough chips to reach the far edge; with Pad and a stride larger than the chip, none may start
            // past that edge.
            let edge = options.edge;
            let count = |extent: i64, chip: u32, step: i64| -> u64 {
                if extent <= chip as i64 {
                    return 1;
                }
                let n = ((extent - chip as i64) as u64).div_ceil(step as u64) + 1;
                match edge {
                    Edge::Clamp => n,
                    Edge::Pad => n.min((extent as u64).div_ceil(step as u64)),
                }
            };
            let extent = (c1 - c0, r1 - r0);
            let cols = count(extent.0, size.0, stride.0);
            let rows = count(extent.1, size.1, stride.1);
            starts.push(starts.last().unwrap() + cols * rows);
            tiles.push(Tiling {
                raster,
                size,
                stride,
                origin: (c0, r0),
                extent,
                cols,
            });
        }
        let total = *starts.last().unwrap();
        Ok(GridSampler {
            tiles,
            starts,
            edge: options.edge,
            progress: Progress::new(options.seed, total, 1),
            last: 0,
        })
    }

    /// Number of chips over all items (the unsharded epoch's length).
    pub fn total(&self) -> u64 {
        *self.starts.last().unwrap()
    }

    /// Slice number `id` of the epoch (unsharded numbering); `None` past the last.
    pub fn slice(&mut self, id: u64) -> Option<GeoSlice> {
        (id < self.total()).then(|| self.slice_at(id))
    }

    fn slice_at(&mut self, id: u64) -> GeoSlice {
        let k = if self.starts[self.last] <= id && id < self.starts[self.last + 1] {
            self.last
        } else {
            self.starts.partition_point(|&s| s <= id) - 1
        };
        self.last = k;
        let t = &self.tiles[k];
        let local = id - self.starts[k];
        let (row, col) = ((local / t.cols) as i64, (local % t.cols) as i64);
        let place = |i: i64, step: i64, extent: i64, chip: u32| {
            let chip = chip as i64;
            if extent <= chip {
                0
            } else {
                match self.edge {
                    Edge::Clamp => (i * step).min(extent - chip),
                    Edge::Pad => i * step,
                }
            }
        };
        let c = t.origin.0 + place(col, t.stride.0, t.extent.0, t.size.0);
        let r = t.origin.1 + place(row, t.stride.1, t.extent.1, t.size.1);
        let fp = &t.raster.fp;
        GeoSlice {
            id,
            item: fp.item,
            bounds: t.raster.window(c, r, t.size.0, t.size.1),
            crs: fp.crs,
            interval: fp.interval,
            size: t.size,
            res: fp.res,
        }
    }
}

sampler_impls!(GridSampler);
