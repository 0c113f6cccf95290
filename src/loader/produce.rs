//! The producer: draws slices, runs up to `prefetch` batch jobs at once on the loader's runtime (each
//! reserving in-flight bytes and then a ring slot in batch order), and hands finished batches to the consumer
//! (in order, or as they complete).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use geochips_samplers::{GeoSlice, Sampler};
use tokio::sync::mpsc;

use super::batch::Batch;
use super::config::OnError;
use super::plan::chip_transform;
use super::stats::Counters;
use super::turn::{Turn, Turnstile};
use super::{Shared, assemble};
use crate::error::{Error, Result};
use crate::grid::GeoTransform;
use crate::ring::{Ring, Slot};

type SharedSampler = Arc<Mutex<Box<dyn Sampler>>>;

/// What the consumer sees of the producer, to tell "slow" from "stuck".
#[derive(Debug, Default)]
struct Progress {
    /// A batch is waiting for a free slot.
    waiting_for_slot: AtomicBool,
    /// Batches holding a slot that the consumer has not been handed yet.
    holding: AtomicUsize,
    /// The run was dropped: its tasks, which may linger a moment on the runtime's threads, draw no more
    /// slices (they belong to the next run of the same sampler).
    stopped: AtomicBool,
}

/// One epoch's pipeline: its runtime (with the producer task on it) and the consumer's end of the channel.
#[derive(Debug)]
pub(crate) struct Run {
    pid: u32,
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
    rx: mpsc::Receiver<Result<Batch>>,
    ring: Ring,
    progress: Arc<Progress>,
    shared: Arc<Shared>,
    done: bool,
}

impl Run {
    /// Start the producer for the sampler's current epoch.
    pub(crate) fn start(shared: Arc<Shared>, sampler: SharedSampler, ring: Ring) -> Run {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            // Local-file reads run on blocking threads; few of them keep the allocator's per-thread arenas
            // (and so RSS) from multiplying.
            .max_blocking_threads(4)
            .thread_name("geochips-loader-io")
            .enable_all()
            .build()
            .expect("a tokio runtime can be built");
        let (tx, rx) = mpsc::channel(shared.config.prefetch);
        let progress = Arc::new(Progress::default());
        runtime.spawn(produce(
            shared.clone(),
            sampler,
            ring.clone(),
            tx,
            progress.clone(),
        ));
        Run {
            pid: std::process::id(),
            runtime: Some(runtime),
            rx,
            ring,
            progress,
            shared,
            done: false,
        }
    }

    /// The process that started this run.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The next batch, waiting for it; an error instead of waiting forever when every ring slot is held by
    /// batches the consumer keeps alive.
    pub(crate) fn next_blocking(&mut self) -> Option<Result<Batch>> {
        if self.done {
            return None;
        }
        let start = Instant::now();
        // Stuck three checks in a row (150 ms): an export dropped on another thread meanwhile frees a slot.
        let mut stuck_checks = 0;
        let got = loop {
            let rx = &mut self.rx;
            let wait = async { tokio::time::timeout(Duration::from_millis(50), rx.recv()).await };
            let runtime = self
                .runtime
                .as_ref()
                .expect("a run has its runtime until dropped");
            match runtime.block_on(wait) {
                Ok(got) => break got,
                Err(_) if !self.stuck() => stuck_checks = 0,
                Err(_) if stuck_checks < 2 => stuck_checks += 1,
                Err(_) => {
                    break Some(Err(Error::Loader {
                        reason: format!(
                            "all {} ring slots are held by batches still alive: drop batches (and their \
                             exports) before asking for more, or raise ring_slots",
                            self.ring.slots()
                        ),
                    }));
                }
            }
        };
        Counters::time(&self.shared.counters.consumer_wait_ns, start.elapsed());
        self.note(got)
    }

    /// Poll for the next batch (the async stream).
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Batch>>> {
        if self.done {
            return Poll::Ready(None);
        }
        self.rx.poll_recv(cx).map(|got| self.note(got))
    }

    /// Whether the producer cannot go on until the consumer drops a batch.
    fn stuck(&self) -> bool {
        self.progress.waiting_for_slot.load(SeqCst)
            && self.progress.holding.load(SeqCst) == 0
            && self.rx.is_empty()
            && self.ring.free() == 0
    }

    /// Count a delivered batch; remember the end of the epoch, or an error (the run stops after it).
    fn note(&mut self, got: Option<Result<Batch>>) -> Option<Result<Batch>> {
        match &got {
            Some(Ok(batch)) => {
                Counters::add(&self.shared.counters.batches, 1);
                Counters::add(&self.shared.counters.chips, batch.len() as u64);
            }
            Some(Err(_)) | None => self.done = true,
        }
        got
    }
}

impl Drop for Run {
    /// Stop the producer without waiting for it, so a loader can be dropped anywhere, an async context
    /// included. Decode jobs already on the pool finish and return their slots to the ring.
    fn drop(&mut self) {
        self.progress.stopped.store(true, SeqCst);
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Up to `n` slices from the sampler; none once the run is stopped (checked under the sampler's lock, so no
/// slice is taken after whoever stopped the run takes the lock to reset the sampler).
fn draw(sampler: &SharedSampler, n: usize, progress: &Progress) -> Vec<GeoSlice> {
    let mut sampler = sampler.lock().unwrap_or_else(|e| e.into_inner());
    if progress.stopped.load(SeqCst) {
        return Vec::new();
    }
    sampler.by_ref().take(n).collect()
}

/// The producer task: up to `prefetch` batch jobs at once, each reserving its bytes and then taking its ring
/// slot in batch order (a turnstile for each), so no later batch holds what an earlier one waits for; finished
/// batches sent in order or as they complete.
async fn produce(
    shared: Arc<Shared>,
    sampler: SharedSampler,
    ring: Ring,
    tx: mpsc::Sender<Result<Batch>>,
    progress: Arc<Progress>,
) {
    let (bytes_gate, slot_gate) = (Turnstile::new(), Turnstile::new());
    let mut jobs = FuturesUnordered::new();
    let mut ready: BTreeMap<u64, Result<Batch>> = BTreeMap::new();
    let (mut next_index, mut next_out, mut exhausted) = (0u64, 0u64, false);
    loop {
        while !exhausted && jobs.len() < shared.config.prefetch {
            let slices = draw(&sampler, shared.batch_chips(), &progress);
            if slices.is_empty() {
                exhausted = true;
                break;
            }
            let turns = (bytes_gate.ticket(next_index), slot_gate.ticket(next_index));
            let job = Job {
                shared: shared.clone(),
                sampler: sampler.clone(),
                ring: ring.clone(),
                progress: progress.clone(),
                index: next_index,
            };
            let handle = tokio::spawn(job.run(slices, turns));
            let index = next_index;
            jobs.push(async move { (index, handle.await) });
            next_index += 1;
        }
        let Some((index, joined)) = jobs.next().await else {
            break;
        };
        let result = joined.unwrap_or_else(|e| {
            Err(Error::Loader {
                reason: format!("a batch task failed: {e}"),
            })
        });
        ready.insert(index, result);
        loop {
            let key = if shared.config.ordered {
                next_out
            } else {
                match ready.keys().next() {
                    Some(k) => *k,
                    None => break,
                }
            };
            let Some(result) = ready.remove(&key) else {
                break;
            };
            next_out += 1;
            let start = Instant::now();
            let failed = result.is_err();
            let held = result.is_ok();
            let sent = tx.send(result).await;
            if held {
                progress.holding.fetch_sub(1, SeqCst);
            }
            Counters::time(&shared.counters.wait_consumer_ns, start.elapsed());
            if sent.is_err() || failed {
                return;
            }
        }
    }
}

/// One batch being made.
struct Job {
    shared: Arc<Shared>,
    sampler: SharedSampler,
    ring: Ring,
    progress: Arc<Progress>,
    index: u64,
}

impl Job {
    /// Fill a ring slot with the chips of `slices`: gather (plan, reserve bytes in turn, fetch), take a slot
    /// in turn, decode and paste. With `on_error = skip`, failed chips are replaced by the sampler's next
    /// slices (and the batch shortened if the epoch runs out) — except in time series, where a failed step
    /// stays in its place as fill, marked invalid.
    async fn run(
        self,
        mut slices: Vec<GeoSlice>,
        (bytes_turn, slot_turn): (Turn, Turn),
    ) -> Result<Batch> {
        let shared = &self.shared;
        whole_samples(&slices, shared.config.time_steps)?;
        let mut positions: Vec<usize> = (0..slices.len()).collect();
        let mut gathered = assemble::gather(shared, &slices, &positions, Some(bytes_turn)).await;
        slot_turn.wait().await;
        let start = Instant::now();
        let slot = match self.ring.try_acquire() {
            Some(slot) => slot,
            None => {
                self.progress.waiting_for_slot.store(true, SeqCst);
                let slot = self.ring.acquire_async().await;
                self.progress.waiting_for_slot.store(false, SeqCst);
                slot
            }
        };
        self.progress.holding.fetch_add(1, SeqCst);
        Counters::time(&shared.counters.wait_slot_ns, start.elapsed());
        drop(slot_turn);
        let mut slot = slot;
        let mut transforms = vec![None; slices.len()];
        let mut dropped = Vec::new();
        loop {
            let filled;
            (slot, filled) = assemble::fill(shared, gathered, slot).await;
            let mut failed = Vec::new();
            for (&p, result) in positions.iter().zip(filled) {
                match (result, shared.config.on_error) {
                    (Ok(t), _) => transforms[p] = Some(t),
                    (Err(e), OnError::Raise) => {
                        self.progress.holding.fetch_sub(1, SeqCst);
                        return Err(e);
                    }
                    (Err(_), OnError::Skip) => {
                        Counters::add(&shared.counters.skipped, 1);
                        failed.push(p);
                    }
                }
            }
            if shared.config.time_steps > 1 {
                for &p in &failed {
                    self.blank(&mut slot, p);
                    transforms[p] = Some(chip_transform(&slices[p]));
                }
                break;
            }
            let replacements = draw(&self.sampler, failed.len(), &self.progress);
            dropped.extend(failed.drain(replacements.len()..));
            if failed.is_empty() {
                break;
            }
            for (&p, s) in failed.iter().zip(&replacements) {
                slices[p] = *s;
            }
            positions = failed;
            gathered = assemble::gather(shared, &replacements, &positions, None).await;
        }
        Ok(self.finish(slot, slices, transforms, &dropped))
    }

    /// Write chip `p` of `slot` as fill (the configured fill, else 0), invalid, labels 0.
    fn blank(&self, slot: &mut Slot, p: usize) {
        let shared = &self.shared;
        let (chip, dtype) = (shared.chip_bytes(), shared.spec.dtype);
        let mut value = [0u8; 8];
        dtype.write_value(
            shared.config.fill.unwrap_or(0.0),
            &mut value[..dtype.size()],
        );
        let (image, mask) = slot.parts_mut();
        let (valid, labels) = mask.split_at_mut(shared.labels_offset());
        for sample in image[p * chip.image..][..chip.image].chunks_exact_mut(dtype.size()) {
            sample.copy_from_slice(&value[..dtype.size()]);
        }
        valid[p * chip.valid..][..chip.valid].fill(0);
        labels[p * chip.labels..][..chip.labels].fill(0);
    }

    /// Close the gaps `dropped` chips left (moving later chips down) and freeze the slot into a Batch.
    fn finish(
        &self,
        mut slot: Slot,
        slices: Vec<GeoSlice>,
        transforms: Vec<Option<GeoTransform>>,
        dropped: &[usize],
    ) -> Batch {
        let shared = &self.shared;
        let keep: Vec<usize> = (0..slices.len()).filter(|p| !dropped.contains(p)).collect();
        let chip = shared.chip_bytes();
        let (image, mask) = slot.parts_mut();
        let (valid, labels) = mask.split_at_mut(shared.labels_offset());
        for (to, &from) in keep.iter().enumerate().filter(|(to, from)| to != *from) {
            for (region, n) in [
                (&mut *image, chip.image),
                (&mut *valid, chip.valid),
                (&mut *labels, chip.labels),
            ] {
                region.copy_within(from * n..(from + 1) * n, to * n);
            }
        }
        let slices: Vec<GeoSlice> = keep.iter().map(|&p| slices[p]).collect();
        let spec = &shared.spec;
        Batch {
            lease: slot.freeze(),
            index: self.index,
            dtype: spec.dtype,
            label_dtype: shared.label_dtype,
            labels_offset: shared.labels_offset(),
            steps: shared.config.time_steps,
            shape: [
                slices.len(),
                spec.bands.len(),
                spec.height as usize,
                spec.width as usize,
            ],
            items: slices
                .iter()
                .map(|s| shared.catalog.items()[s.item].id.clone())
                .collect(),
            transforms: keep
                .iter()
                .map(|&p| transforms[p].expect("every kept chip was filled"))
                .collect(),
            slices,
        }
    }
}

/// With time series (`steps` > 1): that `slices` are whole samples, each `steps` slices of one place (as a
/// [`TimeSeriesSampler`](crate::samplers::TimeSeriesSampler) draws them).
fn whole_samples(slices: &[GeoSlice], steps: usize) -> Result<()> {
    let place = |s: &GeoSlice| (s.bounds, s.crs, s.size);
    match slices
        .chunks(steps)
        .find(|g| g.len() < steps || g.iter().any(|s| place(s) != place(&g[0])))
    {
        None => Ok(()),
        Some(g) => Err(Error::Loader {
            reason: format!(
                "time_steps is {steps}, but slices {} to {} are not {steps} slices of one place: draw time \
                 series with a TimeSeriesSampler of steps = {steps}",
                g[0].id,
                g[g.len() - 1].id
            ),
        }),
    }
}
