//! What a loader did: counters shared by its tasks, read as a plain snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// A snapshot of a loader's counters since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoaderStats {
    /// Chips delivered in batches.
    pub chips: u64,
    /// Batches delivered.
    pub batches: u64,
    /// Chips whose read failed and were replaced (`on_error = skip`).
    pub skipped: u64,
    /// Stored bytes fetched.
    pub bytes_fetched: u64,
    /// Bytes of samples decoded (each block down to the last row its chips need).
    pub bytes_decoded: u64,
    /// Range requests made (after coalescing).
    pub requests: u64,
    /// Blocks found decoded in the tile cache.
    pub cache_hits: u64,
    /// Blocks decoded.
    pub blocks_decoded: u64,
    /// Seconds spent planning chips: item to assets, COG headers opened, pixel windows (summed over batches).
    pub plan_seconds: f64,
    /// Seconds batches waited for their turn at the in-flight byte limit (summed over batches).
    pub wait_bytes_seconds: f64,
    /// Seconds spent fetching (summed over concurrent fetches).
    pub fetch_seconds: f64,
    /// Seconds spent decoding blocks (summed over batches; each batch decodes on every core of the pool).
    pub decode_seconds: f64,
    /// Seconds spent pasting decoded blocks into the ring slot (summed over batches, on every core).
    pub paste_seconds: f64,
    /// Seconds spent running the ops on pasted chips (summed over batches).
    pub ops_seconds: f64,
    /// Seconds the producer waited for a free ring slot.
    pub wait_slot_seconds: f64,
    /// Seconds the producer waited for the consumer to take a finished batch.
    pub wait_consumer_seconds: f64,
    /// Seconds the consumer waited in `next()` for a batch (time a GPU would starve).
    pub consumer_wait_seconds: f64,
}

/// The live counters behind [`LoaderStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) chips: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) bytes_fetched: AtomicU64,
    pub(crate) bytes_decoded: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) blocks_decoded: AtomicU64,
    pub(crate) plan_ns: AtomicU64,
    pub(crate) wait_bytes_ns: AtomicU64,
    pub(crate) fetch_ns: AtomicU64,
    pub(crate) decode_ns: AtomicU64,
    pub(crate) paste_ns: AtomicU64,
    pub(crate) ops_ns: AtomicU64,
    pub(crate) wait_slot_ns: AtomicU64,
    pub(crate) wait_consumer_ns: AtomicU64,
    pub(crate) consumer_wait_ns: AtomicU64,
}

impl Counters {
    /// Add `n` to `counter`.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Add the duration `d` to the nanosecond `counter`.
    pub(crate) fn time(counter: &AtomicU64, d: Duration) {
        counter.fetch_add(d.as_nanos() as u64, Relaxed);
    }

    /// The counters now.
    pub(crate) fn snapshot(&self) -> LoaderStats {
        let secs = |c: &AtomicU64| c.load(Relaxed) as f64 / 1e9;
        LoaderStats {
            chips: self.chips.load(Relaxed),
            batches: self.batches.load(Relaxed),
            skipped: self.skipped.load(Relaxed),
            bytes_fetched: self.bytes_fetched.load(Relaxed),
            bytes_decoded: self.bytes_decoded.load(Relaxed),
            requests: self.requests.load(Relaxed),
            cache_hits: self.cache_hits.load(Relaxed),
            blocks_decoded: self.blocks_decoded.load(Relaxed),
            plan_seconds: secs(&self.plan_ns),
            wait_bytes_seconds: secs(&self.wait_bytes_ns),
            fetch_seconds: secs(&self.fetch_ns),
            decode_seconds: secs(&self.decode_ns),
            paste_seconds: secs(&self.paste_ns),
            ops_seconds: secs(&self.ops_ns),
            wait_slot_seconds: secs(&self.wait_slot_ns),
            wait_consumer_seconds: secs(&self.wait_consumer_ns),
            consumer_wait_seconds: secs(&self.consumer_wait_ns),
        }
    }
}
