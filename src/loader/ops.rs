//! The loader's ops: a [`Pipeline`] run over every chip once it is pasted, on the decode pool, in parallel,
//! before the batch is handed out — in place in the ring slot when every op can, else from a staging batch
//! (the pasted layout, reused across batches) into the slot, sized from the ops' output spec.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use geochips_samplers::GeoSlice;
use rayon::prelude::*;

use super::assemble::{Filled, Gathered};
use super::plan::{ChipPlan, Dest};
use super::stats::Counters;
use super::{ChipBytes, Shared};
use crate::error::Result;
use crate::grid::GeoTransform;
use crate::ops::{BandMeta, ChipMut, Context, Pipeline, Spec, bytes_of};

/// What a loader with ops keeps.
#[derive(Debug)]
pub(crate) struct LoaderOps {
    pipeline: Pipeline,
    /// Per catalog item: its bands' metadata (nodata, GDAL scale and offset), from the COG headers its first
    /// chip opened. A mosaicked chip gets its slice's item's.
    meta: Vec<OnceLock<Vec<BandMeta>>>,
    /// Staging batches not in use.
    staging: Mutex<Vec<Staging>>,
    /// The running epoch's (seed, epoch): with a chip's slice id, what its augmentations draw from.
    draws: Mutex<(u64, u64)>,
}

/// A batch of pasted chips before the ops: image, validity and labels buffers, aligned for every sample type.
#[derive(Debug, Default)]
struct Staging {
    image: Vec<u64>,
    valid: Vec<u8>,
    labels: Vec<u64>,
}

impl Staging {
    /// The buffers as `n` chips of `bytes` each: image, validity, labels.
    fn parts(&mut self, bytes: ChipBytes, n: usize) -> (&mut [u8], &mut [u8], &mut [u8]) {
        self.valid.resize(n * bytes.valid, 0);
        (
            bytes_of(&mut self.image, n * bytes.image),
            &mut self.valid,
            bytes_of(&mut self.labels, n * bytes.labels),
        )
    }
}

/// The chips of a batch's buffers, `bytes` each, in slot order.
fn split<'a>(
    bytes: ChipBytes,
    image: &'a mut [u8],
    valid: &'a mut [u8],
    labels: &'a mut [u8],
) -> Vec<ChipMut<'a>> {
    let mut labels = labels.chunks_exact_mut(bytes.labels.max(1));
    image
        .chunks_exact_mut(bytes.image)
        .zip(valid.chunks_exact_mut(bytes.valid))
        .map(|(image, valid)| ChipMut {
            image,
            valid,
            labels: match bytes.labels {
                0 => &mut [],
                _ => labels.next().unwrap_or_default(),
            },
        })
        .collect()
}

impl LoaderOps {
    /// `pipeline` for a catalog of `items` items.
    pub(crate) fn new(pipeline: Pipeline, items: usize) -> LoaderOps {
        LoaderOps {
            pipeline,
            meta: (0..items).map(|_| OnceLock::new()).collect(),
            staging: Mutex::default(),
            draws: Mutex::default(),
        }
    }

    /// The spec of the chips the ops give: the ring slots' layout.
    pub(crate) fn output(&self) -> &Spec {
        self.pipeline.output()
    }

    /// Note the (seed, epoch) of the run about to start.
    pub(crate) fn start(&self, seed: u64, epoch: u64) {
        *self.draws.lock().unwrap_or_else(|e| e.into_inner()) = (seed, epoch);
    }

    /// Paste `gathered`'s chips and run the ops on each one pasted: in the slot (`image`, `valid`, `labels`)
    /// when the pipeline runs in place, else from a staging batch into the slot. A chip the ops fail on gets
    /// their error; the transforms become those of the ops' output.
    pub(crate) fn paste(
        &self,
        shared: &Shared,
        gathered: Gathered,
        image: &mut [u8],
        valid: &mut [u8],
        labels: &mut [u8],
    ) -> Filled {
        let chips: Vec<(usize, GeoSlice)> = gathered
            .planned()
            .map(|(position, slice, plan)| {
                if let Some(plan) = plan {
                    self.meta[slice.item].get_or_init(|| self.band_meta(plan));
                }
                (position, *slice)
            })
            .collect();
        if self.pipeline.in_place() {
            let filled = gathered.paste(shared, image, valid, labels);
            let places = split(shared.chip_bytes(), image, valid, labels);
            return self.run(
                &shared.counters,
                filled,
                &chips,
                places.into_iter().map(|p| (None, p)).collect(),
            );
        }
        let mut staging = self.take();
        let pasted = shared.pasted_bytes();
        let n = shared.batch_chips();
        let (s_image, s_valid, s_labels) = staging.parts(pasted, n);
        let filled = gathered.paste(shared, s_image, s_valid, s_labels);
        let sources = split(pasted, s_image, s_valid, s_labels);
        let places = split(shared.chip_bytes(), image, valid, labels);
        let filled = self.run(
            &shared.counters,
            filled,
            &chips,
            sources.into_iter().map(Some).zip(places).collect(),
        );
        self.put(staging);
        filled
    }

    /// Run the pipeline over every chip `k` that `filled` has a transform for: from `places[p].0` (the
    /// staging chip; `None`: in place) into `places[p].1`, `p` its slot position.
    fn run(
        &self,
        counters: &Counters,
        mut filled: Filled,
        chips: &[(usize, GeoSlice)],
        places: Vec<(Option<ChipMut<'_>>, ChipMut<'_>)>,
    ) -> Filled {
        let start = Instant::now();
        let (seed, epoch) = *self.draws.lock().unwrap_or_else(|e| e.into_inner());
        let mut places: Vec<Option<_>> = places.into_iter().map(Some).collect();
        let jobs: Vec<_> = filled
            .iter()
            .zip(chips)
            .enumerate()
            .filter_map(|(k, (result, &(p, slice)))| {
                let transform = *result.as_ref().ok()?;
                Some((k, slice, transform, places[p].take()?))
            })
            .collect();
        let done: Vec<(usize, Result<GeoTransform>)> = jobs
            .into_par_iter()
            .map(|(k, slice, transform, (src, dst))| {
                let meta = self.meta[slice.item].get().map_or(&[][..], Vec::as_slice);
                let mut ctx =
                    Context::new(transform, Some(slice.crs), meta, (seed, epoch, slice.id));
                let ran = match src {
                    Some(src) => self.pipeline.run(src, dst, &mut ctx),
                    None => self.pipeline.run_in_place(dst, &mut ctx),
                };
                (k, ran.map(|()| ctx.transform))
            })
            .collect();
        for (k, result) in done {
            filled[k] = result;
        }
        Counters::time(&counters.ops_ns, start.elapsed());
        filled
    }

    fn take(&self) -> Staging {
        let mut staging = self.staging.lock().unwrap_or_else(|e| e.into_inner());
        staging.pop().unwrap_or_default()
    }

    fn put(&self, buffers: Staging) {
        self.staging
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(buffers);
    }

    /// The metadata of the input bands of a chip planned as `plan`.
    fn band_meta(&self, plan: &ChipPlan) -> Vec<BandMeta> {
        let mut meta: Vec<BandMeta> = self
            .pipeline
            .input()
            .bands
            .iter()
            .map(BandMeta::named)
            .collect();
        // The slice's own item (source 0): a mosaic's other items lend pixels, not metadata.
        for part in plan.parts.iter().filter(|p| p.source == 0) {
            let Dest::Image(first) = part.dest else {
                continue;
            };
            let geo = part.cog.geo();
            for (m, &b) in meta[first..].iter_mut().zip(part.plan.bands()) {
                m.nodata = geo.nodata;
                m.scale = geo.scales.get(b).copied().unwrap_or(1.0);
                m.offset = geo.offsets.get(b).copied().unwrap_or(0.0);
            }
        }
        meta
    }
}
