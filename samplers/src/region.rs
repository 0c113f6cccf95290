//! Where a chip may go: the chip placements of a set of footprints, drawn uniformly over their union.
//!
//! Footprints with the same CRS, bounds and resolution (the time steps of one tile) are merged into one *site*
//! whose *members* they are. A draw picks a site with probability proportional to the area of its valid chip
//! positions, a position in it, and — under [`Weighting::Uniform`] — accepts it only if the site *owns* the chip:
//! no lower-numbered site of that CRS could hold the same chip. Every place has one owner, so that rejection step
//! makes every location of the union equally likely however many footprints overlap there (the expected number of
//! tries is the mean overlap, counting a stack once). Ownership needs a bucket-index query, except in a site's
//! *core* — the positions no other site can hold, found once at construction: most draws of a tiled catalog.

use std::collections::HashMap;

use crate::alias::Alias;
use crate::index::{BucketIndex, Entry};
use crate::raster::Raster;
use crate::rng::SliceRng;
use crate::{Bounds, ChipSize, Footprint, Interval, Polygon, SamplerError, Weighting};

/// Tries before a draw gives up and takes a site's known-good fallback position.
const MAX_TRIES: usize = 10_000;
/// Probes per side when estimating which share of a site's positions an roi (or a time-series cover) allows.
const PROBES: u64 = 16;

/// How to build a [`Region`].
#[derive(Debug, Clone)]
pub(crate) struct RegionSpec<'a> {
    pub(crate) size: ChipSize,
    pub(crate) roi: Option<&'a Polygon>,
    pub(crate) toi: Interval,
    pub(crate) weighting: Weighting,
    pub(crate) boundless: bool,
    /// A chip is valid only where at least this many distinct time intervals cover it (time series; else 1).
    pub(crate) min_times: usize,
}

/// Footprints sharing one pixel grid (same CRS, bounds, resolution), and the chip positions allowed on it.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub(crate) raster: Raster,
    /// Dense CRS number (index into the bucket index's groups).
    pub(crate) group: u32,
    /// Chip size in pixels on this grid.
    pub(crate) size: (u32, u32),
    /// Allowed top-left columns: `c0 .. c0 + nc`, rows `r0 .. r0 + nr` (before the roi polygon test).
    pub(crate) c0: i64,
    pub(crate) nc: u64,
    pub(crate) r0: i64,
    pub(crate) nr: u64,
    /// Whether the roi polygon constrains this site (same CRS).
    constrained: bool,
    /// Whether draws may start here (some valid position was found).
    proposes: bool,
    /// A position known to be valid.
    pub(crate) fallback: (i64, i64),
    /// This site's footprints are `members[m0..m1]`, sorted by time.
    pub(crate) m0: u32,
    pub(crate) m1: u32,
    /// Share of probed positions that were valid.
    valid_share: f64,
    /// Positions no other proposing site can hold (columns `core.0..=core.1`, rows `core.2..=core.3`): a draw
    /// there needs no coverage count. Empty when `core.0 > core.1`.
    core: (i64, i64, i64, i64),
}

/// A chip position: a site and the top-left pixel of the chip on its grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placement {
    pub(crate) site: u32,
    pub(crate) col: i64,
    pub(crate) row: i64,
}

/// The sites of a sampler and how to draw chip positions over their union.
#[derive(Debug, Clone)]
pub(crate) struct Region {
    pub(crate) sites: Vec<Site>,
    pub(crate) members: Vec<Footprint>,
    alias: Option<Alias>,
    index: BucketIndex,
    roi: Option<Polygon>,
    boundless: bool,
    uniform: bool,
    min_times: usize,
}

impl Region {
    /// The region of `footprints` under `spec`: footprints outside `toi`, in which no chip fits (unless
    /// boundless) or which miss the roi are left out.
    pub(crate) fn new(
        footprints: &[Footprint],
        spec: &RegionSpec<'_>,
    ) -> Result<Region, SamplerError> {
        spec.size.check("size")?;
        let mut crs_numbers = HashMap::new();
        let mut by_key: HashMap<(u32, [u64; 6]), Vec<Footprint>> = HashMap::new();
        let mut order = Vec::new();
        for fp in footprints {
            Raster::new(fp)?;
            if !fp.interval.intersects(&spec.toi) {
                continue;
            }
            let b = fp.bounds;
            let key = (
                fp.crs.epsg(),
                [b.minx, b.miny, b.maxx, b.maxy, fp.res.0, fp.res.1].map(f64::to_bits),
            );
            let list = by_key.entry(key).or_default();
            if list.is_empty() {
                order.push(key);
            }
            list.push(*fp);
        }
        let mut sites = Vec::new();
        let mut members = Vec::new();
        for key in order {
            let mut list = by_key.remove(&key).unwrap_or_default();
            list.sort_by_key(|f| (f.interval.start, f.interval.end, f.item));
            let raster = Raster::new(&list[0])?;
            let n = crs_numbers.len() as u32;
            let group = *crs_numbers.entry(list[0].crs).or_insert(n);
            let constrained = spec.roi.is_some_and(|r| r.crs() == list[0].crs);
            let size = spec.size.to_pixels(list[0].res);
            let Some((c0, nc, r0, nr)) = positions(
                &raster,
                size,
                spec.roi.filter(|_| constrained),
                spec.boundless,
            ) else {
                continue;
            };
            let m0 = members.len() as u32;
            members.extend(list);
            sites.push(Site {
                raster,
                group,
                size,
                c0,
                nc,
                r0,
                nr,
                constrained,
                proposes: true,
                fallback: (c0, r0),
                m0,
                m1: members.len() as u32,
                valid_share: 1.0,
                core: (0, -1, 0, -1),
            });
        }
        let n_groups = crs_numbers.len();
        let mut region = Region {
            index: index(&sites, n_groups),
            sites,
            members,
            alias: None,
            roi: spec.roi.cloned(),
            boundless: spec.boundless,
            uniform: spec.weighting == Weighting::Uniform,
            min_times: spec.min_times.max(1),
        };
        region.probe();
        // Again, now that the index's flags can say which sites propose.
        region.index = index(&region.sites, n_groups);
        region.cores();
        let weights: Vec<f64> = region
            .sites
            .iter()
            .map(|s| {
                let pixel = s.raster.fp.res.0 * s.raster.fp.res.1;
                let stack = if region.uniform {
                    1.0
                } else {
                    (s.m1 - s.m0) as f64
                };
                // The area of all positions, not only the valid ones: rejecting invalid positions then leaves
                // every valid one equally likely across sites.
                if s.proposes {
                    s.nc as f64 * s.nr as f64 * pixel * stack
                } else {
                    0.0
                }
            })
            .collect();
        if weights.iter().any(|&w| w > 0.0) {
            region.alias = Some(Alias::new(&weights));
        }
        Ok(region)
    }

    /// Whether any chip can be drawn.
    pub(crate) fn is_empty(&self) -> bool {
        self.alias.is_none()
    }

    /// TorchGeo's default epoch length: the summed area of the usable footprints (clipped to the roi's box, times
    /// the share of positions the roi allows) over the chip area, counting every member of a stack.
    pub(crate) fn default_length(&self) -> u64 {
        let mut total = 0.0;
        for s in self.sites.iter().filter(|s| s.proposes) {
            let (sw, sh) = (s.size.0 as f64, s.size.1 as f64);
            let (w, h) = if self.boundless {
                (s.nc as f64, s.nr as f64)
            } else {
                (s.nc as f64 + sw - 1.0, s.nr as f64 + sh - 1.0)
            };
            total += w * h * s.valid_share / (sw * sh) * (s.m1 - s.m0) as f64;
        }
        if self.is_empty() {
            0
        } else {
            (total.floor() as u64).max(1)
        }
    }

    /// Bounds of a placement's chip.
    #[inline]
    pub(crate) fn bounds(&self, p: Placement) -> Bounds {
        let s = &self.sites[p.site as usize];
        s.raster.window(p.col, p.row, s.size.0, s.size.1)
    }

    /// Whether a chip at `b` on `site` satisfies the roi and the time cover.
    #[inline]
    pub(crate) fn valid(&self, site: &Site, b: &Bounds) -> bool {
        if let Some(roi) = self.roi.as_ref().filter(|_| site.constrained) {
            let ok = if self.boundless {
                roi.contains_point((b.minx + b.maxx) / 2.0, (b.miny + b.maxy) / 2.0)
            } else {
                roi.contains_bounds(b)
            };
            if !ok {
                return false;
            }
        }
        self.min_times <= 1 || self.times_covering(site.group, b, &mut Vec::new()) >= self.min_times
    }

    /// Whether the indexed site `e` could hold the chip `b`: contains it, or its centre when boundless.
    #[inline]
    fn holds(&self, e: &Entry, b: &Bounds) -> bool {
        let (f, tol) = (&e.rect, e.tol);
        if self.boundless {
            let (x, y) = ((b.minx + b.maxx) / 2.0, (b.miny + b.maxy) / 2.0);
            f.minx - tol <= x && x <= f.maxx + tol && f.miny - tol <= y && y <= f.maxy + tol
        } else {
            f.minx - tol <= b.minx
                && b.maxx <= f.maxx + tol
                && f.miny - tol <= b.miny
                && b.maxy <= f.maxy + tol
        }
    }

    /// Whether site `si` owns the chip `b`: no lower-numbered site that draws start from could hold it.
    ///
    /// Each place has exactly one owner, so accepting a proposal only from its owner makes every place of the
    /// union equally likely. A rejection usually stops at the first entry of the bucket (they are sorted by site).
    #[inline]
    fn owns(&self, si: u32, group: u32, b: &Bounds) -> bool {
        let (x, y) = ((b.minx + b.maxx) / 2.0, (b.miny + b.maxy) / 2.0);
        for e in self.index.candidates(group, x, y) {
            if e.id >= si {
                break;
            }
            if e.flag && self.holds(e, b) {
                return false;
            }
        }
        true
    }

    /// Number of sites that draws start from and that could hold `b` (at least 1).
    #[cfg(test)]
    fn proposers_holding(&self, group: u32, b: &Bounds) -> u64 {
        let (x, y) = ((b.minx + b.maxx) / 2.0, (b.miny + b.maxy) / 2.0);
        let mut n = 0;
        for e in self.index.candidates(group, x, y) {
            if e.flag && self.holds(e, b) {
                n += 1;
            }
        }
        n.max(1)
    }

    /// The members of all sites holding `b`, one per distinct interval, sorted by time, into `out`; returns
    /// their number.
    pub(crate) fn times_covering(&self, group: u32, b: &Bounds, out: &mut Vec<u32>) -> usize {
        out.clear();
        let (x, y) = ((b.minx + b.maxx) / 2.0, (b.miny + b.maxy) / 2.0);
        for e in self.index.candidates(group, x, y) {
            if self.holds(e, b) {
                let s = &self.sites[e.id as usize];
                out.extend(s.m0..s.m1);
            }
        }
        let m = &self.members;
        out.sort_by_key(|&i| {
            (
                m[i as usize].interval.start,
                m[i as usize].interval.end,
                m[i as usize].item,
            )
        });
        out.dedup_by_key(|i| m[*i as usize].interval);
        out.len()
    }

    /// One chip position, uniform over the union (or item-area weighted).
    pub(crate) fn draw(&self, rng: &mut SliceRng) -> Placement {
        let alias = self.alias.as_ref().expect("draw on an empty region");
        for _ in 0..MAX_TRIES {
            let si = alias.sample(rng);
            let s = &self.sites[si];
            let col = s.c0 + rng.below(s.nc) as i64;
            let row = s.r0 + rng.below(s.nr) as i64;
            let b = s.raster.window(col, row, s.size.0, s.size.1);
            if self.uniform {
                let in_core =
                    s.core.0 <= col && col <= s.core.1 && s.core.2 <= row && row <= s.core.3;
                if !in_core && !self.owns(si as u32, s.group, &b) {
                    continue;
                }
            }
            if !self.valid(s, &b) {
                continue;
            }
            return Placement {
                site: si as u32,
                col,
                row,
            };
        }
        let si = alias.sample(rng);
        let (col, row) = self.sites[si].fallback;
        Placement {
            site: si as u32,
            col,
            row,
        }
    }

    /// Find each proposing site's core: its positions minus, for every other proposing site that could hold some
    /// of its chips, the rectangle of positions that site holds (widened by one), cut off by the side that keeps
    /// the most positions.
    fn cores(&mut self) {
        let mut near = Vec::new();
        for i in 0..self.sites.len() {
            let s = &self.sites[i];
            if !s.proposes {
                continue;
            }
            let mut core = (s.c0, s.c0 + s.nc as i64 - 1, s.r0, s.r0 + s.nr as i64 - 1);
            let reach = s
                .raster
                .window(s.c0, s.r0, s.nc as u32 + s.size.0, s.nr as u32 + s.size.1);
            self.index.overlapping(s.group, &reach, &mut near);
            for &j in &near {
                let o = &self.sites[j as usize];
                if j as usize == i || !o.proposes || core.0 > core.1 {
                    continue;
                }
                let (h0, h1, k0, k1) = held(s, o, self.boundless);
                if h0 > core.1 || h1 < core.0 || k0 > core.3 || k1 < core.2 {
                    continue;
                }
                let area =
                    |c: (i64, i64, i64, i64)| (c.1 - c.0 + 1).max(0) * (c.3 - c.2 + 1).max(0);
                let cuts = [
                    (h1 + 1, core.1, core.2, core.3),
                    (core.0, h0 - 1, core.2, core.3),
                    (core.0, core.1, k1 + 1, core.3),
                    (core.0, core.1, core.2, k0 - 1),
                ];
                core = cuts.into_iter().max_by_key(|&c| area(c)).unwrap();
                if area(core) == 0 {
                    core = (0, -1, 0, -1);
                }
            }
            self.sites[i].core = core;
        }
    }

    /// Estimate each constrained site's share of valid positions on a `PROBES²` lattice; sites with none stop
    /// proposing.
    fn probe(&mut self) {
        let constrained_by_time = self.min_times > 1;
        for k in 0..self.sites.len() {
            let s = &self.sites[k];
            if !s.constrained && !constrained_by_time {
                continue;
            }
            let (pc, pr) = (PROBES.min(s.nc), PROBES.min(s.nr));
            let (mut ok, mut first) = (0u64, None);
            for i in 0..pc {
                for j in 0..pr {
                    let col = s.c0 + ((2 * i + 1) * s.nc / (2 * pc)) as i64;
                    let row = s.r0 + ((2 * j + 1) * s.nr / (2 * pr)) as i64;
                    if self.valid(s, &s.raster.window(col, row, s.size.0, s.size.1)) {
                        ok += 1;
                        first.get_or_insert((col, row));
                    }
                }
            }
            let share = ok as f64 / (pc * pr) as f64;
            let s = &mut self.sites[k];
            s.valid_share = share;
            s.proposes = ok > 0;
            if let Some(f) = first {
                s.fallback = f;
            }
        }
    }
}

/// The top-left positions `(c0, nc, r0, nr)` allowed on `raster` for chips of `size`: inside the raster (or with
/// the chip's centre inside, when boundless) and inside the roi's bounding box; `None` if there are none.
fn positions(
    raster: &Raster,
    size: (u32, u32),
    roi: Option<&Polygon>,
    boundless: bool,
) -> Option<(i64, u64, i64, u64)> {
    let (mut a, mut b) = (0.0, raster.width as f64);
    let (mut top, mut bottom) = (0.0, raster.height as f64);
    if let Some(roi) = roi {
        let rb = roi.bounds();
        let (l, t) = raster.to_pixel(rb.minx, rb.maxy);
        let (r, btm) = raster.to_pixel(rb.maxx, rb.miny);
        a = f64::max(a, l);
        b = f64::min(b, r);
        top = f64::max(top, t);
        bottom = f64::min(bottom, btm);
    }
    const EPS: f64 = 1e-6;
    let range = |lo: f64, hi: f64, n: u32| -> Option<(i64, u64)> {
        let (first, last) = if boundless {
            let half = n as f64 / 2.0;
            ((lo - half - EPS).ceil(), (hi - half + EPS).floor())
        } else {
            ((lo - EPS).ceil(), (hi + EPS).floor() - n as f64)
        };
        (last >= first).then(|| (first as i64, (last - first) as u64 + 1))
    };
    let (c0, nc) = range(a, b, size.0)?;
    let (r0, nr) = range(top, bottom, size.1)?;
    Some((c0, nc, r0, nr))
}

/// The bucket index of `sites`, flagged with whether each proposes.
fn index(sites: &[Site], n_groups: usize) -> BucketIndex {
    let rects: Vec<Bounds> = sites.iter().map(|s| s.raster.fp.bounds).collect();
    let tols: Vec<f64> = sites
        .iter()
        .map(|s| 1e-6 * (s.raster.fp.res.0 + s.raster.fp.res.1))
        .collect();
    let flags: Vec<bool> = sites.iter().map(|s| s.proposes).collect();
    let groups: Vec<u32> = sites.iter().map(|s| s.group).collect();
    BucketIndex::new(&rects, &tols, &flags, &groups, n_groups)
}

/// The positions `(cols h0..=h1, rows k0..=k1)` of `s`'s chips that site `o` could hold, widened by one position
/// on each side so that rounding never leaves one out.
fn held(s: &Site, o: &Site, boundless: bool) -> (i64, i64, i64, i64) {
    let r = &o.raster.fp.bounds;
    let tol = 1e-6 * (o.raster.fp.res.0 + o.raster.fp.res.1);
    let (x0, y0) = (s.raster.fp.bounds.minx, s.raster.fp.bounds.maxy);
    let (rx, ry) = s.raster.fp.res;
    let (sw, sh) = (s.size.0 as f64, s.size.1 as f64);
    let (c_lo, c_hi, r_lo, r_hi) = if boundless {
        (
            (r.minx - tol - x0) / rx - sw / 2.0,
            (r.maxx + tol - x0) / rx - sw / 2.0,
            (y0 - r.maxy - tol) / ry - sh / 2.0,
            (y0 - r.miny + tol) / ry - sh / 2.0,
        )
    } else {
        (
            (r.minx - tol - x0) / rx,
            (r.maxx + tol - x0) / rx - sw,
            (y0 - r.maxy - tol) / ry,
            (y0 - r.miny + tol) / ry - sh,
        )
    };
    let lo = |v: f64| v.floor().clamp(-1e15, 1e15) as i64 - 1;
    let hi = |v: f64| v.ceil().clamp(-1e15, 1e15) as i64 + 1;
    (lo(c_lo), hi(c_hi), lo(r_lo), hi(r_hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RngKey;
    use crate::{Crs, Interval};

    fn jittered(boundless: bool) -> Region {
        // 5 × 4 tiles of 100 px at 1 m, 90 m apart with jitter, and a few big scenes across them.
        let mut fps = Vec::new();
        let mut rng = RngKey::new(5, 0, 0).at(0);
        for k in 0..20 {
            let (x, y) = (
                (k % 5) as f64 * 90.0 + rng.below(7) as f64,
                (k / 5) as f64 * 90.0 + rng.below(7) as f64,
            );
            let res = if k % 3 == 0 { 0.5 } else { 1.0 };
            fps.push(Footprint {
                item: k,
                crs: Crs::from_epsg(32631),
                bounds: Bounds::new(x, y, x + 100.0, y + 100.0),
                res: (res, res),
                interval: Interval::OPEN,
            });
        }
        fps.push(Footprint {
            item: 20,
            bounds: Bounds::new(30.0, 20.0, 300.0, 200.0),
            ..fps[0]
        });
        let spec = RegionSpec {
            size: ChipSize::Units(12.0, 12.0),
            roi: None,
            toi: Interval::OPEN,
            weighting: Weighting::Uniform,
            boundless,
            min_times: 1,
        };
        Region::new(&fps, &spec).unwrap()
    }

    #[test]
    fn no_other_site_holds_a_chip_of_a_sites_core() {
        for boundless in [false, true] {
            let region = jittered(boundless);
            let mut cores = 0;
            for (i, s) in region.sites.iter().enumerate() {
                for col in s.c0..s.c0 + s.nc as i64 {
                    for row in s.r0..s.r0 + s.nr as i64 {
                        let b = s.raster.window(col, row, s.size.0, s.size.1);
                        let n = region.proposers_holding(s.group, &b);
                        let in_core = s.core.0 <= col
                            && col <= s.core.1
                            && s.core.2 <= row
                            && row <= s.core.3;
                        if in_core {
                            cores += 1;
                            assert_eq!(n, 1, "site {i} at ({col}, {row}), boundless {boundless}");
                        }
                    }
                }
            }
            assert!(cores > 1000, "cores are not empty ({cores})");
        }
    }
}
