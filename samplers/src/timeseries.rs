//! TimeSeriesSampler: `T` slices at one place, from `T` items that cover it at different times.

use crate::region::{Region, RegionSpec};
use crate::rng::RngKey;
use crate::schedule::{Progress, sampler_impls};
use crate::{ChipSize, Footprint, GeoSlice, Interval, Polygon, SamplerError, Weighting};

/// Options of a [`TimeSeriesSampler`].
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeriesOptions {
    /// Chip size, in pixels or in CRS units. Default 256×256 px.
    pub size: ChipSize,
    /// Time steps per sample, `T` (at least 1). Default 4.
    pub steps: usize,
    /// Samples (groups of `T` slices) per epoch. Default: the usable area over the chip area, as for
    /// [`RandomSampler`](crate::RandomSampler), divided by `T`.
    pub length: Option<u64>,
    /// Seed of the whole sequence.
    pub seed: u64,
    /// Region of interest, as for [`RandomOptions::roi`](crate::RandomOptions::roi).
    pub roi: Option<Polygon>,
    /// Time of interest: items whose interval does not meet it are left out.
    pub toi: Interval,
    /// As for [`RandomOptions::boundless`](crate::RandomOptions::boundless).
    pub boundless: bool,
}

impl Default for TimeSeriesOptions {
    fn default() -> TimeSeriesOptions {
        TimeSeriesOptions {
            size: ChipSize::pixels(256),
            steps: 4,
            length: None,
            seed: 0,
            roi: None,
            toi: Interval::OPEN,
            boundless: false,
        }
    }
}

/// Time series of chips: each sample is `T` consecutive slices with the same bounds, CRS, resolution and size,
/// from `T` items with distinct intervals, in increasing time.
///
/// A sample's place is drawn uniformly over the part of the union covered by at least `T` distinct intervals,
/// snapped to the grid of one item there; among the items holding the chip (one per distinct interval, sorted by
/// start), a random run of `T` consecutive ones is taken. Slices `g*T .. g*T + T` form sample `g`; shards get
/// whole samples, so a DataLoader worker can batch them as `[T, bands, h, w]`. Items of the run on another grid
/// than the chosen one get the chosen grid's bounds and resolution (the loader warps them).
/// When no place is covered `T` times, the sampler is empty.
#[derive(Debug, Clone)]
pub struct TimeSeriesSampler {
    region: Region,
    steps: u64,
    progress: Progress,
    key: RngKey,
    /// The last sample: its number, and its slices' common part and items.
    last: Option<(u64, GeoSlice, Vec<u32>)>,
}

impl TimeSeriesSampler {
    /// Derive the per-epoch state from `progress` (after the epoch or position changed).
    fn rekey(&mut self) {
        self.key = RngKey::new(self.progress.seed, self.progress.epoch, 2);
        self.last = None;
    }

    /// A sampler over `footprints`.
    pub fn new(
        footprints: &[Footprint],
        options: TimeSeriesOptions,
    ) -> Result<TimeSeriesSampler, SamplerError> {
        if options.steps == 0 {
            return Err(SamplerError::InvalidOption {
                option: "steps",
                reason: "must be at least 1".into(),
            });
        }
        let region = Region::new(
            footprints,
            &RegionSpec {
                size: options.size,
                roi: options.roi.as_ref(),
                toi: options.toi,
                weighting: Weighting::Uniform,
                boundless: options.boundless,
                min_times: options.steps,
            },
        )?;
        let steps = options.steps as u64;
        let samples = if region.is_empty() {
            0
        } else {
            options
                .length
                .unwrap_or_else(|| (region.default_length() / steps).max(1))
        };
        Ok(TimeSeriesSampler {
            region,
            steps,
            progress: Progress::new(options.seed, samples * steps, steps),
            key: RngKey::new(options.seed, 0, 2),
            last: None,
        })
    }

    /// Time steps per sample, `T`.
    pub fn steps(&self) -> usize {
        self.steps as usize
    }

    /// Slice number `id` of the current epoch (unsharded numbering): step `id % T` of sample `id / T`; `None`
    /// past the epoch's length.
    pub fn slice(&mut self, id: u64) -> Option<GeoSlice> {
        (id < self.progress.total()).then(|| self.slice_at(id))
    }

    fn slice_at(&mut self, id: u64) -> GeoSlice {
        let sample = id / self.steps;
        if self.last.as_ref().is_none_or(|(g, _, _)| *g != sample) {
            let mut rng = self.key.at(sample);
            let p = self.region.draw(&mut rng);
            let s = &self.region.sites[p.site as usize];
            let bounds = self.region.bounds(p);
            let mut items = Vec::new();
            let n = self.region.times_covering(s.group, &bounds, &mut items);
            let t = self.steps as usize;
            let first = if n > t {
                rng.below((n - t + 1) as u64) as usize
            } else {
                0
            };
            items.drain(..first);
            items.truncate(t);
            while items.len() < t {
                // Only reachable through a draw's fallback on a degenerate catalog: repeat the last step.
                items.push(*items.last().unwrap_or(&s.m0));
            }
            let fp = &s.raster.fp;
            let common = GeoSlice {
                id: 0,
                item: fp.item,
                bounds,
                crs: fp.crs,
                interval: fp.interval,
                size: s.size,
                res: fp.res,
            };
            self.last = Some((sample, common, items));
        }
        let (_, common, items) = self.last.as_ref().unwrap();
        let member = &self.region.members[items[(id % self.steps) as usize] as usize];
        GeoSlice {
            id,
            item: member.item,
            interval: member.interval,
            ..*common
        }
    }
}

sampler_impls!(TimeSeriesSampler);
