//! PreChipped: one slice per item, for catalogs whose items already are chips.

use crate::raster::Raster;
use crate::schedule::Progress;
use crate::{Footprint, GeoSlice, Interval, Sampler, SamplerError, SamplerState, Shard};

/// One slice per item: the whole item at its own resolution (`size` = its pixel size), in catalog order,
/// the same every epoch. Items outside `toi` are left out. Sharding and padding as in
/// [`GridSampler`](crate::GridSampler).
#[derive(Debug, Clone)]
pub struct PreChipped {
    rasters: Vec<Raster>,
    progress: Progress,
}

impl PreChipped {
    /// One slice for each footprint meeting `toi`; `seed` is only recorded in the [`SamplerState`].
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

impl Iterator for PreChipped {
    type Item = GeoSlice;

    fn next(&mut self) -> Option<GeoSlice> {
        let id = self.progress.next_id()?;
        self.slice(id)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.progress.remaining() as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for PreChipped {}

impl Sampler for PreChipped {
    fn set_epoch(&mut self, epoch: u64) {
        self.progress.set_epoch(epoch);
    }

    fn set_shard(&mut self, shard: Shard) {
        self.progress.set_shard(shard);
    }

    fn epoch_len(&self) -> u64 {
        self.progress.len()
    }

    fn state(&self) -> SamplerState {
        self.progress.state()
    }

    fn restore(&mut self, state: &SamplerState) {
        self.progress.restore(state);
    }
}
