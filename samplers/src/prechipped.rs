//! PreChipped: one slice per item, for catalogs whose items already are chips.

use crate::raster::Raster;
use crate::schedule::{Progress, sampler_impls};
use crate::{Footprint, GeoSlice, Interval, SamplerError};

/// One slice per item: the whole item at its own resolution (`size` = its pixel size), in catalog order,
/// the same every epoch. Items outside `toi` are left out. Sharding and padding as in
/// [`GridSampler`](crate::GridSampler).
#[derive(Debug, Clone)]
pub struct PreChipped {
    rasters: Vec<Raster>,
    progress: Progress,
}

impl PreChipped {
    /// Derive the per-epoch state from `progress` (after the epoch or position changed).
    fn rekey(&mut self) {}

    /// One slice for each footprint meeting `toi`; `seed` is only recorded in the [`SamplerState`](crate::SamplerState).
    pub fn new(
        footprints: &[Footprint],
        toi: Interval,
        seed: u64,
    ) -> Result<PreChipped, SamplerError> {
        let mut rasters = Vec::new();
        for fp in footprints {
            let r = Raster::new(fp)?;
            if fp.interval.intersects(&toi) {
                rasters.push(r);
            }
        }
        let progress = Progress::new(seed, rasters.len() as u64, 1);
        Ok(PreChipped { rasters, progress })
    }

    /// Slice `id` of an id the schedule handed out (always below the item count).
    fn slice_at(&mut self, id: u64) -> GeoSlice {
        self.slice(id)
            .expect("the schedule hands out ids below the item count")
    }

    /// Slice number `id` of the epoch (unsharded numbering); `None` past the last.
    pub fn slice(&self, id: u64) -> Option<GeoSlice> {
        let r = self.rasters.get(usize::try_from(id).ok()?)?;
        let (w, h) = (
            r.width.min(u32::MAX as i64) as u32,
            r.height.min(u32::MAX as i64) as u32,
        );
        Some(GeoSlice {
            id,
            item: r.fp.item,
            bounds: r.window(0, 0, w, h),
            crs: r.fp.crs,
            interval: r.fp.interval,
            size: (w, h),
            res: r.fp.res,
        })
    }
}

sampler_impls!(PreChipped);
