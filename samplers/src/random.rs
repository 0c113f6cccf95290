//! RandomSampler: chips at random places, uniform over the union of the footprints, snapped to pixel grids.

use crate::region::{Placement, Region, RegionSpec};
use crate::rng::RngKey;
use crate::schedule::{Progress, sampler_impls};
use crate::{ChipSize, Footprint, GeoSlice, Interval, Polygon, SamplerError, Weighting};

/// Options of a [`RandomSampler`]; start from `RandomOptions::default()` and set what you need.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomOptions {
    /// Chip size, in pixels or in CRS units (converted with each item's resolution). Default 256×256 px.
    pub size: ChipSize,
    /// Slices per epoch (all shards together). Default (`None`): like TorchGeo, the summed area of the usable
    /// items over the chip area (at least 1).
    pub length: Option<u64>,
    /// Seed of the whole sequence. Default 0.
    pub seed: u64,
    /// Region of interest: chips lie inside this polygon. Only footprints in the polygon's CRS are constrained
    /// (see [`Polygon`]); those in other CRSs are sampled whole. An item whose chip positions in the roi's box
    /// fail the polygon test on all of a 16×16 probe lattice is left out (the roi touches only a sliver of it).
    pub roi: Option<Polygon>,
    /// Time of interest: footprints whose interval does not meet it are left out. Default all of time.
    pub toi: Interval,
    /// Uniform over the union of the footprints (default) or TorchGeo's item-area weighting.
    pub weighting: Weighting,
    /// `false` (default): chips lie wholly inside their item (and the roi); items smaller than a chip are skipped.
    /// `true`: only the chip's centre must lie inside (the rest reads as fill); small items are then used too.
    pub boundless: bool,
    /// Locality: draw this many consecutive chips within one neighbourhood (default 1: every chip independent).
    ///
    /// Like TorchGeo's RandomBatchGeoSampler, this biases batches — neighbouring chips are correlated, and a
    /// batch of `k` covers one place — but their tiles overlap, so most decodes become cache hits. Groups of `k`
    /// slices stay whole within a shard.
    pub chips_per_neighbourhood: u32,
    /// Neighbourhood side as a multiple of the chip size (default 2.0): a group's chips lie in a window of
    /// `neighbourhood × size` centred on the group's anchor chip, on the anchor's item.
    pub neighbourhood: f64,
}

impl Default for RandomOptions {
    fn default() -> RandomOptions {
        RandomOptions {
            size: ChipSize::pixels(256),
            length: None,
            seed: 0,
            roi: None,
            toi: Interval::OPEN,
            weighting: Weighting::Uniform,
            boundless: false,
            chips_per_neighbourhood: 1,
            neighbourhood: 2.0,
        }
    }
}

/// Random chips, uniform over the union of the footprints (see [`Weighting`]), each snapped to its item's grid.
///
/// Slice `i` of an epoch is a pure function of `(seed, epoch, i)`: sharding takes every `count`-th slice (or
/// neighbourhood group), and [`Sampler::restore`](crate::Sampler::restore) is O(1). Footprints in different CRSs are different places.
/// When no chip fits anywhere, the sampler is empty (`epoch_len() == 0`).
///
/// Cost: under [`Weighting::Uniform`] a draw is retried as often as the mean number of distinct footprints
/// covering a place (footprints with identical bounds and resolution, the dates of one tile, count once); each
/// try outside a footprint's exclusive core checks, in a bucket index, that no lower-numbered footprint holds the
/// chip. A tiled catalog draws millions of slices per second; 100 scenes of one place with differing bounds draw
/// ~175,000 per second (`benches/samplers.rs`). [`Weighting::ItemArea`] does not pay for the overlap.
/// Chips are snapped to the chosen item's grid, so "uniform" holds over each grid's chip positions; where
/// overlapping items have different grids, the coverage count is taken for the chosen item's chip.
#[derive(Debug, Clone)]
pub struct RandomSampler {
    region: Region,
    progress: Progress,
    per_group: u64,
    neighbourhood: f64,
    keys: (RngKey, RngKey),
    /// The last group's anchor (slices of a group are usually drawn together).
    anchor: Option<(u64, Anchor)>,
}

/// A neighbourhood: one member of one site and a window of allowed top-left pixels on its grid.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    at: Placement,
    member: u32,
    c0: i64,
    nc: u64,
    r0: i64,
    nr: u64,
}

const SLICE_STREAM: u64 = 0;
const GROUP_STREAM: u64 = 1;

impl RandomSampler {
    /// Derive the per-epoch state from `progress` (after the epoch or position changed).
    fn rekey(&mut self) {
        self.keys = keys(self.progress.seed, self.progress.epoch);
        self.anchor = None;
    }

    /// A sampler over `footprints`.
    pub fn new(
        footprints: &[Footprint],
        options: RandomOptions,
    ) -> Result<RandomSampler, SamplerError> {
        if options.chips_per_neighbourhood == 0 {
            return Err(SamplerError::InvalidOption {
                option: "chips_per_neighbourhood",
                reason: "must be at least 1".into(),
            });
        }
        if !(options.neighbourhood.is_finite() && options.neighbourhood >= 1.0) {
            return Err(SamplerError::InvalidOption {
                option: "neighbourhood",
                reason: format!(
                    "must be a finite factor of at least 1, got {}",
                    options.neighbourhood
                ),
            });
        }
        let region = Region::new(
            footprints,
            &RegionSpec {
                size: options.size,
                roi: options.roi.as_ref(),
                toi: options.toi,
                weighting: options.weighting,
                boundless: options.boundless,
                min_times: 1,
            },
        )?;
        let length = if region.is_empty() {
            0
        } else {
            options.length.unwrap_or_else(|| region.default_length())
        };
        let per_group = options.chips_per_neighbourhood as u64;
        let progress = Progress::new(options.seed, length, per_group);
        Ok(RandomSampler {
            keys: keys(options.seed, 0),
            region,
            progress,
            per_group,
            neighbourhood: options.neighbourhood,
            anchor: None,
        })
    }

    /// Slice number `id` of the current epoch (unsharded numbering), whatever the shard and position; `None`
    /// past the epoch's length.
    pub fn slice(&mut self, id: u64) -> Option<GeoSlice> {
        (id < self.progress.total()).then(|| self.slice_at(id))
    }

    fn slice_at(&mut self, id: u64) -> GeoSlice {
        if self.per_group == 1 {
            let mut rng = self.keys.0.at(id);
            let p = self.region.draw(&mut rng);
            let s = &self.region.sites[p.site as usize];
            let member = s.m0 + rng.below((s.m1 - s.m0) as u64) as u32;
            return self.make(id, p, member);
        }
        let group = id / self.per_group;
        let anchor = match self.anchor {
            Some((g, a)) if g == group => a,
            _ => {
                let a = self.anchor(group);
                self.anchor = Some((group, a));
                a
            }
        };
        let s = &self.region.sites[anchor.at.site as usize];
        let mut rng = self.keys.0.at(id);
        let mut at = anchor.at;
        for _ in 0..64 {
            let col = anchor.c0 + rng.below(anchor.nc) as i64;
            let row = anchor.r0 + rng.below(anchor.nr) as i64;
            if self
                .region
                .valid(s, &s.raster.window(col, row, s.size.0, s.size.1))
            {
                at.col = col;
                at.row = row;
                break;
            }
        }
        self.make(id, at, anchor.member)
    }

    fn anchor(&self, group: u64) -> Anchor {
        let mut rng = self.keys.1.at(group);
        let at = self.region.draw(&mut rng);
        let s = &self.region.sites[at.site as usize];
        let member = s.m0 + rng.below((s.m1 - s.m0) as u64) as u32;
        let window = |pos: i64, chip: u32, lo: i64, n: u64| {
            let side = (self.neighbourhood * chip as f64).ceil() as i64;
            let slack = (side - chip as i64).max(0);
            let first = (pos - slack / 2).max(lo);
            let last = (pos - slack / 2 + slack).min(lo + n as i64 - 1);
            (first, (last - first + 1).max(1) as u64)
        };
        let (c0, nc) = window(at.col, s.size.0, s.c0, s.nc);
        let (r0, nr) = window(at.row, s.size.1, s.r0, s.nr);
        Anchor {
            at,
            member,
            c0,
            nc,
            r0,
            nr,
        }
    }

    fn make(&self, id: u64, p: Placement, member: u32) -> GeoSlice {
        let s = &self.region.sites[p.site as usize];
        let fp = &self.region.members[member as usize];
        GeoSlice {
            id,
            item: fp.item,
            bounds: self.region.bounds(p),
            crs: fp.crs,
            interval: fp.interval,
            size: s.size,
            res: fp.res,
        }
    }
}

fn keys(seed: u64, epoch: u64) -> (RngKey, RngKey) {
    (
        RngKey::new(seed, epoch, SLICE_STREAM),
        RngKey::new(seed, epoch, GROUP_STREAM),
    )
}

sampler_impls!(RandomSampler);
