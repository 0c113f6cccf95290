//! Filling one batch slot: plan every chip, fetch each distinct block once (cache hits skip the fetch), decode
//! the distinct blocks once on the decode pool, and paste every chip straight into its place in the slot.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rayon::prelude::*;

use super::mosaic;
use super::plan::{ChipPlan, Dest, Part, Source, plan_chip};
use super::stats::Counters;
use super::turn::Turn;
use super::{Buffers, Shared};
use crate::cog::{BlockKey, Cog, coalesce};
use crate::error::{Error, Result};
use crate::grid::GeoTransform;
use crate::ring::Slot;
use crate::warp::{self, Target, resample};
use geochips_samplers::GeoSlice;
use tokio::sync::OwnedSemaphorePermit;

/// A distinct block's samples: `None` until decoded (or found in the cache), else the samples or the index
/// of its error in the batch's error list.
type Decoded = Option<Result<Arc<Vec<u8>>, usize>>;

/// One COG's share of a batch's fetch: its blocks (indices into the needs), their byte ranges, the number
/// of range requests once coalesced, and the bytes those requests carry.
type FetchGroup = (Vec<usize>, Vec<Range<u64>>, usize, u64);

/// What decoding one fetched block gave: the samples and whether they were decoded now (`false`: found in
/// the cache), or the decode error; `Err` outside when its fetch had failed (the index of that error).
type Outcome = Result<Result<(Arc<Vec<u8>>, bool)>, usize>;

/// A distinct block a batch needs: its top `rows` rows, or every row (`whole`) when the tile cache held fewer
/// rows of it than this batch needs — a block needed again is decoded whole, so it is decoded at most twice.
struct Need {
    cog: Arc<Cog>,
    key: BlockKey,
    range: Range<u64>,
    rows: u64,
    whole: bool,
}

impl Need {
    /// The decoded bytes that serve this need.
    fn bytes(&self) -> usize {
        self.cog.decoded_bytes(self.key, self.rows)
    }
}

/// The outcome of filling some chips of a slot: each chip's transform where it succeeded, or its error.
pub(crate) type Filled = Vec<Result<GeoTransform>>;

/// Some chips of a batch, planned, with the stored bytes of every distinct block they need that the tile cache
/// does not hold: all a batch needs before it takes a ring slot. Holds its share of the in-flight byte limit
/// until it is decoded.
pub(crate) struct Gathered {
    chips: Vec<Result<ChipPlan>>,
    /// Each chip's slice.
    slices: Vec<GeoSlice>,
    /// Slot position of each chip.
    positions: Vec<usize>,
    index: HashMap<BlockKey, usize>,
    needs: Vec<Need>,
    decoded: Vec<Decoded>,
    fetched: Vec<Option<Result<Bytes, usize>>>,
    errors: Vec<Error>,
    /// This batch's share of the in-flight byte limit, held until its blocks are decoded.
    reserved: Option<OwnedSemaphorePermit>,
}

/// Plan the chips of `slices` (for slot `positions`) and fetch the blocks they need: one `get_ranges` per
/// COG, all COGs at once, within the in-flight request and byte limits; blocks in the tile cache are taken
/// from it instead. The batch's bytes are reserved when `turn` comes (batches reserve in order).
pub(crate) async fn gather(
    shared: &Arc<Shared>,
    slices: &[GeoSlice],
    positions: &[usize],
    turn: Option<Turn>,
) -> Gathered {
    let (mut chips, start) = (Vec::with_capacity(slices.len()), Instant::now());
    for slice in slices {
        chips.push(plan_one(shared, *slice).await);
    }
    Counters::time(&shared.counters.plan_ns, start.elapsed());
    let mut index: HashMap<BlockKey, usize> = HashMap::new();
    let mut needs: Vec<Need> = Vec::new();
    for chip in chips.iter().flatten() {
        for part in &chip.parts {
            for (key, range, rows) in part.plan.blocks() {
                if range.is_empty() {
                    continue;
                }
                let i = *index.entry(key).or_insert_with(|| {
                    needs.push(Need {
                        cog: part.cog.clone(),
                        key,
                        range: range.clone(),
                        rows: 0,
                        whole: false,
                    });
                    needs.len() - 1
                });
                needs[i].rows = needs[i].rows.max(rows);
            }
        }
    }
    let decoded: Vec<Decoded> = needs
        .iter_mut()
        .map(|need| {
            let cached = shared.tiles.get(&need.key)?;
            if cached.len() < need.bytes() {
                need.whole = true;
                return None;
            }
            Counters::add(&shared.counters.cache_hits, 1);
            Some(Ok(cached))
        })
        .collect();
    let mut gathered = Gathered {
        chips,
        slices: slices.to_vec(),
        positions: positions.to_vec(),
        index,
        fetched: vec![None; needs.len()],
        needs,
        decoded,
        errors: Vec::new(),
        reserved: None,
    };
    gathered.fetch(shared, turn).await;
    gathered
}

/// Decode what `gathered` fetched and paste its chips into `slot` (images [B, C, H, W], validity [B, H, W],
/// labels [B, H, W]), on the decode pool. A chip that fails leaves its place in an unspecified state. The slot comes back with
/// the outcome (it travels with the pool job, so a dropped future cannot free it while the job writes).
pub(crate) async fn fill(
    shared: &Arc<Shared>,
    gathered: Gathered,
    mut slot: Slot,
) -> (Slot, Filled) {
    let shared = shared.clone();
    let pool = shared.pool();
    on_pool(&pool, move || {
        let mut gathered = gathered;
        gathered.decode(&shared);
        let (image, mask) = slot.parts_mut();
        let (valid, labels) = mask.split_at_mut(shared.labels_offset());
        let filled = match &shared.ops {
            Some(ops) => ops.paste(&shared, gathered, image, valid, labels),
            None => gathered.paste(&shared, image, valid, labels),
        };
        (slot, filled)
    })
    .await
}

/// The plan of one chip, from its slice's item.
async fn plan_one(shared: &Shared, slice: GeoSlice) -> Result<ChipPlan> {
    if slice.item >= shared.catalog.len() {
        return Err(Error::Loader {
            reason: format!(
                "slice {} names item {}, not in the catalog",
                slice.id, slice.item
            ),
        });
    }
    let order = mosaic::sources(&shared.catalog, &slice, shared.config.mosaic)?;
    let sources: Vec<Source<'_>> = order
        .into_iter()
        .map(|i| {
            let item = &shared.catalog.items()[i];
            (item, shared.layouts[i].as_slice(), shared.labels[i])
        })
        .collect();
    plan_chip(slice, &sources, &shared.headers).await
}

impl Gathered {
    /// Each chip's slot position, slice and plan (`None` where planning failed), in chip order.
    pub(crate) fn planned(&self) -> impl Iterator<Item = (usize, &GeoSlice, Option<&ChipPlan>)> {
        let plans = self.chips.iter().map(|c| c.as_ref().ok());
        self.positions
            .iter()
            .copied()
            .zip(&self.slices)
            .zip(plans)
            .map(|((p, s), c)| (p, s, c))
    }

    /// Fetch the blocks not found decoded, after reserving their bytes when `turn` comes. A COG whose fetch
    /// fails leaves its error for its blocks.
    async fn fetch(&mut self, shared: &Shared, turn: Option<Turn>) {
        let mut by_cog: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, need) in self.needs.iter().enumerate() {
            if self.decoded[i].is_none() {
                by_cog
                    .entry(Arc::as_ptr(&need.cog) as usize)
                    .or_default()
                    .push(i);
            }
        }
        let gap = shared.config.coalesce_gap;
        let needs = &self.needs;
        let groups: Vec<FetchGroup> = by_cog
            .into_values()
            .map(|blocks| {
                let ranges: Vec<Range<u64>> =
                    blocks.iter().map(|&i| needs[i].range.clone()).collect();
                let merged = coalesce(ranges.iter().cloned(), gap);
                let bytes = merged.iter().map(|r| r.end - r.start).sum();
                (blocks, ranges, merged.len(), bytes)
            })
            .collect();
        let total: u64 = groups.iter().map(|g| g.3).sum();
        let waited = Instant::now();
        if let Some(turn) = &turn {
            turn.wait().await;
        }
        let kib = (total.div_ceil(1024) as u32).clamp(1, shared.kib_limit);
        self.reserved = shared.bytes.clone().acquire_many_owned(kib).await.ok();
        Counters::time(&shared.counters.wait_bytes_ns, waited.elapsed());
        drop(turn);
        let fetches = groups
            .into_iter()
            .map(|(blocks, ranges, requests, bytes)| async move {
                let cog = &needs[blocks[0]].cog;
                let permits = (requests as u32).clamp(1, shared.requests_limit);
                let _requests = shared.requests.acquire_many(permits).await;
                let start = Instant::now();
                let got = cog.fetch_ranges(&ranges, gap).await;
                Counters::time(&shared.counters.fetch_ns, start.elapsed());
                Counters::add(&shared.counters.requests, requests as u64);
                Counters::add(&shared.counters.bytes_fetched, bytes);
                (blocks, got)
            });
        for (blocks, got) in futures::future::join_all(fetches).await {
            match got {
                Ok(parts) => {
                    for (i, bytes) in blocks.into_iter().zip(parts) {
                        self.fetched[i] = Some(Ok(bytes));
                    }
                }
                Err(e) => {
                    self.errors.push(e);
                    for i in blocks {
                        self.fetched[i] = Some(Err(self.errors.len() - 1));
                    }
                }
            }
        }
    }

    /// Decode the fetched blocks in parallel, each down to the last row this batch's chips need (see
    /// [`Need`]), keep them in the cache, and let go of the fetched bytes. A block another batch put in the
    /// cache since this one was gathered is taken from there instead, if it holds the rows needed.
    fn decode(&mut self, shared: &Shared) {
        let start = Instant::now();
        let fetched = std::mem::take(&mut self.fetched);
        let needs = &self.needs;
        let decode = |i: usize, bytes: Bytes| -> Result<(Arc<Vec<u8>>, bool)> {
            let n = &needs[i];
            if let Some(hit) = shared.tiles.get(&n.key).filter(|b| b.len() >= n.bytes()) {
                return Ok((hit, false));
            }
            let rows = if n.whole { u64::MAX } else { n.rows };
            let block = Arc::new(
                n.cog
                    .decode_block(n.key, &bytes, rows, shared.blocks.take())?,
            );
            Counters::add(&shared.counters.bytes_decoded, block.len() as u64);
            for evicted in shared.tiles.insert(n.key, block.clone()) {
                shared.blocks.give(evicted);
            }
            Ok((block, true))
        };
        let results: Vec<(usize, Outcome)> = fetched
            .into_par_iter()
            .enumerate()
            .filter_map(|(i, f)| Some((i, f?.map(|bytes| decode(i, bytes)))))
            .collect();
        let (mut decoded, mut hits) = (0, 0);
        for (i, block) in results {
            self.decoded[i] = Some(match block {
                Ok(Ok((block, fresh))) => {
                    if fresh {
                        decoded += 1;
                    } else {
                        hits += 1;
                    }
                    Ok(block)
                }
                Ok(Err(e)) => {
                    self.errors.push(e);
                    Err(self.errors.len() - 1)
                }
                Err(e) => Err(e),
            });
        }
        self.reserved = None;
        Counters::add(&shared.counters.blocks_decoded, decoded);
        Counters::add(&shared.counters.cache_hits, hits);
        Counters::time(&shared.counters.decode_ns, start.elapsed());
    }
}

/// Run `job` on the loader's decode pool and wait for it without holding an async worker thread. The job
/// runs to completion even if the waiting future is dropped.
async fn on_pool<T: Send + 'static>(
    pool: &rayon::ThreadPool,
    job: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool.spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)));
    });
    match rx.await {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => unreachable!("the decode pool runs every job it is given"),
    }
}

impl Gathered {
    /// Paste every planned chip into its place (chip `k` at slot position `positions[k]`) in parallel, then
    /// recycle the decoded blocks; returns each chip's transform or error, in chip order.
    pub(crate) fn paste(
        self,
        shared: &Shared,
        image: &mut [u8],
        valid: &mut [u8],
        labels: &mut [u8],
    ) -> Filled {
        let start = Instant::now();
        let Gathered {
            chips,
            positions,
            index,
            decoded,
            errors,
            ..
        } = self;
        let bytes = shared.pasted_bytes();
        let mut images: Vec<Option<&mut [u8]>> =
            image.chunks_exact_mut(bytes.image).map(Some).collect();
        let mut valids: Vec<Option<&mut [u8]>> =
            valid.chunks_exact_mut(bytes.valid).map(Some).collect();
        let mut labels: Vec<&mut [u8]> = match bytes.labels {
            0 => Vec::new(),
            n => labels.chunks_exact_mut(n).collect(),
        };
        let errors = std::sync::Mutex::new(errors.into_iter().map(Some).collect::<Vec<_>>());
        let take_error = |e: usize| {
            let mut errors = errors.lock().unwrap_or_else(|p| p.into_inner());
            errors[e].take().unwrap_or_else(|| Error::Loader {
                reason: "a block this chip needs failed (its error went with another chip)".into(),
            })
        };
        let mut results: Vec<Option<Result<GeoTransform>>> = Vec::with_capacity(chips.len());
        let mut places = Vec::with_capacity(chips.len());
        for (k, chip) in chips.into_iter().enumerate() {
            match chip {
                Ok(chip) => {
                    let p = positions[k];
                    let label = labels.get_mut(p).map(std::mem::take).unwrap_or_default();
                    let place = images[p].take().zip(valids[p].take());
                    let (img, v) = place.expect("each slot position is filled once");
                    places.push((
                        k,
                        chip,
                        Place {
                            image: img,
                            valid: v,
                            labels: label,
                        },
                    ));
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let pasted: Vec<(usize, Result<GeoTransform>)> = places
            .into_par_iter()
            .map(|(k, chip, place)| {
                let result = paste_chip(shared, &chip, &index, &decoded, &take_error, place);
                (k, result.map(|()| chip.transform))
            })
            .collect();
        for (k, result) in pasted {
            results[k] = Some(result);
        }
        for block in decoded.into_iter().flatten().flatten() {
            shared.blocks.give(block);
        }
        Counters::time(&shared.counters.paste_ns, start.elapsed());
        results
            .into_iter()
            .map(|r| r.expect("every planned chip was pasted"))
            .collect()
    }
}

/// One chip's place in a slot.
struct Place<'a> {
    image: &'a mut [u8],
    valid: &'a mut [u8],
    /// Empty when the loader reads no labels.
    labels: &'a mut [u8],
}

/// Paste one chip from its items in mosaic priority order: the first straight into its place, each later
/// one into scratch buffers, then into the pixels still invalid (see [`mosaic::fill_from`]).
fn paste_chip(
    shared: &Shared,
    chip: &ChipPlan,
    index: &HashMap<BlockKey, usize>,
    decoded: &[Decoded],
    take_error: &(dyn Fn(usize) -> Error + Sync),
    place: Place<'_>,
) -> Result<()> {
    let mut scratch = shared.scratch.take();
    let result = (|| {
        let parts = |source: usize| chip.parts.iter().filter(move |p| p.source == source);
        let blocks = Blocks {
            index,
            decoded,
            take_error,
        };
        let Place {
            image,
            valid,
            labels,
        } = place;
        paste_item(
            shared,
            parts(0),
            &blocks,
            &mut scratch,
            image,
            valid,
            labels,
        )?;
        for source in 1..chip.sources {
            let mut theirs = std::mem::take(&mut scratch.chip);
            theirs.0.resize(image.len(), 0);
            theirs.1.resize(valid.len(), 0);
            theirs.2.resize(labels.len(), 0);
            let (i, v, l) = &mut theirs;
            let pasted = paste_item(shared, parts(source), &blocks, &mut scratch, i, v, l);
            if pasted.is_ok() {
                let into = (&mut *image, &mut *valid, &mut *labels);
                mosaic::fill_from(into, (i, v, l), shared.dtype.size());
            }
            scratch.chip = theirs;
            pasted?;
        }
        Ok(())
    })();
    shared.scratch.put(scratch);
    result
}

/// The decoded blocks of a batch, and how to take a failed block's error.
struct Blocks<'a> {
    index: &'a HashMap<BlockKey, usize>,
    decoded: &'a [Decoded],
    take_error: &'a (dyn Fn(usize) -> Error + Sync),
}

/// Paste one item's parts: each part's bands into their channels (resampled onto the chip's grid if the part
/// says so, cast to the output type if it differs), the fill value where a band is not valid (if one is set),
/// and the validity: 1 where every image band is valid. Labels are pasted as read (the label asset's nodata,
/// else 0, outside its data); they do not count towards validity.
fn paste_item<'p>(
    shared: &Shared,
    parts: impl Iterator<Item = &'p Part>,
    blocks: &Blocks<'_>,
    scratch: &mut Buffers,
    image: &mut [u8],
    mask: &mut [u8],
    labels: &mut [u8],
) -> Result<()> {
    let plane = mask.len();
    mask.fill(1);
    for part in parts {
        let mut found: Vec<Option<&[u8]>> = Vec::with_capacity(part.plan.block_count());
        for (key, range, _) in part.plan.blocks() {
            if range.is_empty() {
                found.push(None);
                continue;
            }
            match blocks
                .index
                .get(&key)
                .and_then(|&i| blocks.decoded[i].as_ref())
            {
                Some(Ok(block)) => found.push(Some(block.as_slice())),
                Some(Err(e)) => return Err((blocks.take_error)(*e)),
                None => unreachable!("every block of a planned chip is in the batch's index"),
            }
        }
        let nb = part.plan.bands().len();
        let src = part.cog.dtype();
        let Buffers {
            data,
            valid,
            window,
            ..
        } = scratch;
        valid.resize(nb * plane, 0);
        let fill = shared.config.fill.or(part.cog.nodata()).unwrap_or(0.0);
        let Dest::Image(first_channel) = part.dest else {
            read_part(part, &found, labels, valid, window, fill)?;
            continue;
        };
        let out = shared.dtype;
        let region = &mut image[first_channel * plane * out.size()..][..nb * plane * out.size()];
        if src == out {
            read_part(part, &found, region, valid, window, fill)?;
        } else {
            data.resize(nb * plane * src.size(), 0);
            read_part(part, &found, data, valid, window, fill)?;
            src.cast_into(data, out, region);
        }
        if let Some(fill) = shared.config.fill {
            let mut value = [0u8; 8];
            out.write_value(fill, &mut value[..out.size()]);
            let samples = region.chunks_exact_mut(out.size()).zip(valid.iter());
            for (sample, _) in samples.filter(|(_, v)| **v == 0) {
                sample.copy_from_slice(&value[..out.size()]);
            }
        }
        for band in valid.chunks_exact(plane) {
            for (m, v) in mask.iter_mut().zip(band) {
                *m &= v;
            }
        }
    }
    Ok(())
}

/// Read `part`'s bands from its decoded blocks (`found`, in plan order) into `out` [C, H, W] of the chip and
/// their validity into `valid` [C, H, W]: pasted as they lie, or pasted into `window`'s buffers and resampled
/// onto the chip's grid. A resampled pixel is valid where its source pixels are valid in every band of the
/// part (so its bands share one validity), and `fill` elsewhere.
fn read_part(
    part: &Part,
    found: &[Option<&[u8]>],
    out: &mut [u8],
    valid: &mut [u8],
    window: &mut (Vec<u8>, Vec<u8>),
    fill: f64,
) -> Result<()> {
    let Some(warp) = &part.warp else {
        return part.cog.paste(&part.plan, found, out, Some(valid));
    };
    let (nb, dtype) = (part.plan.bands().len(), part.cog.dtype());
    let n = part.plan.window().pixels() as usize;
    let (data, mask) = window;
    data.resize(nb * n * dtype.size(), 0);
    mask.resize(nb * n, 0);
    part.cog.paste(&part.plan, found, data, Some(mask))?;
    let (pixels, bands) = mask.split_at_mut(n);
    for band in bands.chunks_exact(n) {
        for (m, v) in pixels.iter_mut().zip(band) {
            *m &= v;
        }
    }
    let source = warp::Source {
        dtype,
        window: *part.plan.window(),
        bands: nb,
        data,
        mask: pixels,
    };
    let plane = valid.len() / nb;
    let (chip_valid, band_valids) = valid.split_at_mut(plane);
    let mut target = Target {
        data: out,
        mask: chip_valid,
        fill,
    };
    resample(&warp.map, warp.method, &source, &mut target)?;
    for band in band_valids.chunks_exact_mut(plane) {
        band.copy_from_slice(chip_valid);
    }
    Ok(())
}
