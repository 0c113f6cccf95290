//! Filling one batch slot: plan every chip, fetch each distinct block once (cache hits skip the fetch), decode
//! the distinct blocks once on the decode pool, and paste every chip straight into its place in the slot.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rayon::prelude::*;

use super::Shared;
use super::plan::{ChipPlan, plan_chip};
use super::stats::Counters;
use crate::cog::{BlockKey, Cog, coalesce};
use crate::error::{Error, Result};
use crate::grid::GeoTransform;
use crate::ring::Slot;
use geochips_samplers::GeoSlice;

/// A distinct block's samples: `None` until decoded (or found in the cache), else the samples or the index
/// of its error in the batch's error list.
type Decoded = Option<Result<Arc<Vec<u8>>, usize>>;

/// A distinct block a batch needs.
struct Need {
    cog: Arc<Cog>,
    key: BlockKey,
    range: Range<u64>,
    rows: u64,
}

/// The outcome of filling some chips of a slot: each chip's transform where it succeeded, or its error.
pub(crate) type Filled = Vec<Result<GeoTransform>>;

/// Fill chips `positions` (chip indices in the slot) of `slot` from `slices`: images [B, C, H, W] and mask
/// [B, H, W]. A chip that fails leaves its place in an unspecified state. The slot comes back with the
/// outcome (it travels with the paste job, so a dropped future cannot free it while the job writes).
pub(crate) async fn fill(
    shared: &Arc<Shared>,
    slices: &[GeoSlice],
    positions: &[usize],
    mut slot: Slot,
) -> (Slot, Filled) {
    let mut chips: Vec<Result<ChipPlan>> = Vec::with_capacity(slices.len());
    for slice in slices {
        chips.push(plan_one(shared, *slice).await);
    }
    // The distinct blocks, decoded ones from the cache.
    let mut index: HashMap<BlockKey, usize> = HashMap::new();
    let mut needs: Vec<Need> = Vec::new();
    let mut decoded: Vec<Decoded> = Vec::new();
    for chip in chips.iter().flatten() {
        for part in &chip.parts {
            for (key, range, rows) in part.plan.blocks() {
                if range.is_empty() {
                    continue;
                }
                let i = *index.entry(key).or_insert_with(|| {
                    let hit = shared.tiles.get(&key);
                    if hit.is_some() {
                        Counters::add(&shared.counters.cache_hits, 1);
                    }
                    decoded.push(hit.map(Ok));
                    needs.push(Need {
                        cog: part.cog.clone(),
                        key,
                        range: range.clone(),
                        rows: 0,
                    });
                    needs.len() - 1
                });
                needs[i].rows = needs[i].rows.max(rows);
            }
        }
    }
    let mut errors: Vec<Error> = Vec::new();
    let fetched = fetch_missing(shared, &needs, &decoded, &mut errors).await;
    decode_missing(shared, &needs, fetched, &mut decoded, &mut errors).await;
    let pool = shared.pool();
    let shared = shared.clone();
    let positions = positions.to_vec();
    let paste = move || {
        let (image, mask) = slot.parts_mut();
        let filled = paste_chips(
            &shared, chips, &index, &decoded, errors, &positions, image, mask,
        );
        (slot, filled)
    };
    on_pool(&pool, paste).await
}

/// The plan of one chip, from its slice's item.
async fn plan_one(shared: &Shared, slice: GeoSlice) -> Result<ChipPlan> {
    let item = shared
        .catalog
        .items()
        .get(slice.item)
        .ok_or_else(|| Error::Loader {
            reason: format!(
                "slice {} names item {}, not in the catalog",
                slice.id, slice.item
            ),
        })?;
    plan_chip(slice, item, &shared.layouts[slice.item], &shared.headers).await
}

/// Fetch the blocks not found decoded: one `get_ranges` per COG, all COGs at once, within the in-flight
/// request and byte limits. Failed COGs leave their blocks `None` and their error in `errors`.
async fn fetch_missing(
    shared: &Shared,
    needs: &[Need],
    decoded: &[Decoded],
    errors: &mut Vec<Error>,
) -> Vec<Option<Result<Bytes, usize>>> {
    let mut by_cog: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, need) in needs.iter().enumerate() {
        if decoded[i].is_none() {
            by_cog
                .entry(Arc::as_ptr(&need.cog) as usize)
                .or_default()
                .push(i);
        }
    }
    let gap = shared.config.coalesce_gap;
    let fetches = by_cog.into_values().map(|blocks| async move {
        let cog = &needs[blocks[0]].cog;
        let ranges: Vec<Range<u64>> = blocks.iter().map(|&i| needs[i].range.clone()).collect();
        let merged = coalesce(ranges.iter().cloned(), gap);
        let bytes: u64 = merged.iter().map(|r| r.end - r.start).sum();
        let requests = (merged.len() as u32).clamp(1, shared.requests_limit);
        let kib = (bytes.div_ceil(1024) as u32).clamp(1, shared.kib_limit);
        let _requests = shared.requests.acquire_many(requests).await;
        let _bytes = shared.bytes.acquire_many(kib).await;
        let start = Instant::now();
        let got = cog.fetch_ranges(&ranges, gap).await;
        Counters::time(&shared.counters.fetch_ns, start.elapsed());
        Counters::add(&shared.counters.requests, merged.len() as u64);
        Counters::add(&shared.counters.bytes_fetched, bytes);
        (blocks, got)
    });
    let mut fetched: Vec<Option<Result<Bytes, usize>>> = vec![None; needs.len()];
    for (blocks, got) in futures::future::join_all(fetches).await {
        match got {
            Ok(parts) => {
                for (i, bytes) in blocks.into_iter().zip(parts) {
                    fetched[i] = Some(Ok(bytes));
                }
            }
            Err(e) => {
                errors.push(e);
                for i in blocks {
                    fetched[i] = Some(Err(errors.len() - 1));
                }
            }
        }
    }
    fetched
}

/// Decode the fetched blocks on the decode pool (whole blocks when the tile cache keeps them, else only the
/// rows the batch needs) and keep them in the cache.
async fn decode_missing(
    shared: &Arc<Shared>,
    needs: &[Need],
    fetched: Vec<Option<Result<Bytes, usize>>>,
    decoded: &mut [Decoded],
    errors: &mut Vec<Error>,
) {
    let whole = shared.tiles.enabled();
    let jobs: Vec<(usize, Arc<Cog>, BlockKey, u64, Bytes)> = fetched
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| match f? {
            Ok(bytes) => {
                let n = &needs[i];
                let rows = if whole { u64::MAX } else { n.rows };
                Some((i, n.cog.clone(), n.key, rows, bytes))
            }
            Err(e) => {
                decoded[i] = Some(Err(e));
                None
            }
        })
        .collect();
    if jobs.is_empty() {
        return;
    }
    let shared2 = shared.clone();
    let results = on_pool(&shared.pool(), move || {
        let start = Instant::now();
        let out: Vec<(usize, Result<Arc<Vec<u8>>>)> = jobs
            .into_par_iter()
            .map(|(i, cog, key, rows, bytes)| {
                let reuse = shared2.blocks.take();
                let block = cog.decode_block(key, &bytes, rows, reuse).map(Arc::new);
                if let (true, Ok(block)) = (whole, &block) {
                    for evicted in shared2.tiles.insert(key, block.clone()) {
                        shared2.blocks.give(evicted);
                    }
                }
                (i, block)
            })
            .collect();
        Counters::add(&shared2.counters.blocks_decoded, out.len() as u64);
        Counters::time(&shared2.counters.decode_ns, start.elapsed());
        out
    })
    .await;
    for (i, block) in results {
        decoded[i] = Some(block.map_err(|e| {
            errors.push(e);
            errors.len() - 1
        }));
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

/// Paste every planned chip into its place (chip `k` of `chips` at slot position `positions[k]`), in
/// parallel; returns each chip's transform or error, in the order of `chips`.
#[allow(clippy::too_many_arguments)]
fn paste_chips(
    shared: &Shared,
    chips: Vec<Result<ChipPlan>>,
    index: &HashMap<BlockKey, usize>,
    decoded: &[Decoded],
    errors: Vec<Error>,
    positions: &[usize],
    image: &mut [u8],
    mask: &mut [u8],
) -> Filled {
    let start = Instant::now();
    let (w, h) = shared.config.chip_size;
    let plane = w as usize * h as usize;
    let chip_bytes = shared.channels * plane * shared.dtype.size();
    let mut images: Vec<Option<&mut [u8]>> = image.chunks_exact_mut(chip_bytes).map(Some).collect();
    let mut masks: Vec<Option<&mut [u8]>> = mask.chunks_exact_mut(plane).map(Some).collect();
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
                let place = images[p].take().zip(masks[p].take());
                places.push((k, chip, place.expect("each slot position is filled once")));
                results.push(None);
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    let pasted: Vec<(usize, Result<GeoTransform>)> = places
        .into_par_iter()
        .map(|(k, chip, (img, m))| {
            let result = paste_chip(shared, &chip, index, decoded, &take_error, img, m);
            (k, result.map(|()| chip.transform))
        })
        .collect();
    for (k, result) in pasted {
        results[k] = Some(result);
    }
    Counters::time(&shared.counters.decode_ns, start.elapsed());
    results
        .into_iter()
        .map(|r| r.expect("every planned chip was pasted"))
        .collect()
}

/// Paste one chip: each part's bands into their channels (cast to the output type if it differs), the fill
/// value where a band is not valid (if one is set), and the chip's mask: 1 where every band is valid.
fn paste_chip(
    shared: &Shared,
    chip: &ChipPlan,
    index: &HashMap<BlockKey, usize>,
    decoded: &[Decoded],
    take_error: &(dyn Fn(usize) -> Error + Sync),
    image: &mut [u8],
    mask: &mut [u8],
) -> Result<()> {
    let plane = mask.len();
    let out = shared.dtype;
    let mut scratch = shared.scratch.take();
    mask.fill(1);
    for part in &chip.parts {
        let mut blocks: Vec<Option<&[u8]>> = Vec::with_capacity(part.plan.block_count());
        for (key, range, _) in part.plan.blocks() {
            if range.is_empty() {
                blocks.push(None);
                continue;
            }
            match index.get(&key).and_then(|&i| decoded[i].as_ref()) {
                Some(Ok(block)) => blocks.push(Some(block.as_slice())),
                Some(Err(e)) => return Err(take_error(*e)),
                None => unreachable!("every block of a planned chip is in the batch's index"),
            }
        }
        let nb = part.plan.bands().len();
        let src = part.cog.dtype();
        let region =
            &mut image[part.first_channel * plane * out.size()..][..nb * plane * out.size()];
        let (data, valid) = &mut scratch;
        valid.resize(nb * plane, 0);
        if src == out {
            part.cog.paste(&part.plan, &blocks, region, Some(valid))?;
        } else {
            data.resize(nb * plane * src.size(), 0);
            part.cog.paste(&part.plan, &blocks, data, Some(valid))?;
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
    shared.scratch.put(scratch);
    Ok(())
}
