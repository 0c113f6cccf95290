//! Memory stays bounded: 100,000 chips streamed through the loader (a tile cache smaller than the data, so
//! blocks are decoded, cached and evicted all along). Alone in its test binary so the process's memory is the
//! loader's. `GEOCHIPS_SOAK_CHIPS` changes the count.
//!
//! Flatness is judged on the bytes the program holds, counted by a global allocator and sampled after every
//! batch: their mean over the second half of the stream may not exceed their mean over the first (after a
//! tenth, to warm up), and dropping the loader gives back all it took (within five seconds, as its runtime
//! shuts down in the background). RSS is only bounded (peak within the limits plus a fixed overhead: the
//! decoded blocks of the batches being pasted and the recycled-block pool are not under a configured limit)
//! and printed: it moves by ±10 MiB with how glibc's heap fragments around the in-flight buffers, which would
//! hide a leak of that size. The run happens in a child with `MALLOC_ARENA_MAX=1`, which keeps that
//! fragmentation (and RSS) lower.

mod common;

use common::{catalog_of, scratch_dir, write_scenes};
use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::{Loader, LoaderConfig};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting the bytes held.
struct Counting(AtomicUsize);

impl Counting {
    /// Bytes held now.
    fn held(&self) -> u64 {
        self.0.load(Relaxed) as u64
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.0.fetch_add(layout.size(), Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.0.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static HEAP: Counting = Counting(AtomicUsize::new(0));

/// A field of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .expect("field present");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("a number");
    kib * 1024
}

#[test]
fn rss_is_bounded_and_flat_over_a_long_stream() {
    if std::env::var_os("GEOCHIPS_MEMORY_CHILD").is_none() {
        let exe = std::env::current_exe().expect("test binary");
        let status = std::process::Command::new(exe)
            .args([
                "rss_is_bounded_and_flat_over_a_long_stream",
                "--exact",
                "--nocapture",
            ])
            .env("GEOCHIPS_MEMORY_CHILD", "1")
            .env("MALLOC_ARENA_MAX", "1")
            .status()
            .expect("run the measurement in a child process");
        assert!(status.success(), "the measurement failed: {status}");
        return;
    }
    const MIB: u64 = 1 << 20;
    let chips: u64 = std::env::var("GEOCHIPS_SOAK_CHIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let catalog = catalog_of(&write_scenes(
        &scratch_dir("loader-memory"),
        4,
        3,
        1024,
        1024,
    ));
    let mut config = LoaderConfig::new(64, 64);
    config.tile_cache_bytes = 4 * MIB;
    config.max_bytes = 16 * MIB;
    let ring = config.ring_slots as u64 * config.batch_size as u64 * (3 * 64 * 64 * 2 + 64 * 64);
    let options = RandomOptions {
        size: ChipSize::pixels(64),
        length: Some(chips),
        seed: 9,
        ..RandomOptions::default()
    };
    let sampler = RandomSampler::new(&catalog.footprints(), options).expect("sampler");
    let (before, held_before) = (status_bytes("VmRSS:"), HEAP.held());
    let mut loader = Loader::new(catalog, sampler, config.clone()).expect("loader");
    // Sums and counts of the bytes held after each batch of (a tenth, half] and (half, all] of the chips.
    let (mut seen, mut halves) = (0u64, [(0f64, 0u32); 2]);
    let mut checksum = 0u64;
    for batch in loader.by_ref() {
        let batch = batch.expect("batch");
        checksum =
            checksum.wrapping_add(batch.image_bytes().iter().map(|&b| b as u64).sum::<u64>());
        let last = seen;
        seen += batch.len() as u64;
        drop(batch);
        if seen % 10_000 < last % 10_000 {
            println!(
                "{seen} chips: RSS {} MiB, held {:.1} MiB",
                status_bytes("VmRSS:") / MIB,
                HEAP.held() as f64 / MIB as f64
            );
        }
        if seen > chips / 10 {
            let half = &mut halves[usize::from(seen > chips / 2)];
            *half = (half.0 + HEAP.held() as f64, half.1 + 1);
        }
    }
    let [first_half, second_half] = halves.map(|(sum, n)| sum / n as f64);
    let (end, peak) = (status_bytes("VmRSS:"), status_bytes("VmHWM:"));
    let stats = loader.stats();
    drop(loader);
    // The runtime shuts down in the background and decode jobs finish on the pool: give them a moment.
    let mut held_after = HEAP.held();
    for _ in 0..100 {
        if held_after <= held_before + 64 * 1024 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        held_after = HEAP.held();
    }
    let limits = ring + config.tile_cache_bytes + config.max_bytes;
    println!(
        "{seen} chips: RSS before {} MiB, at the end {} MiB, peak {} MiB; held {:.1} MiB on average over the first \
         half, {:.1} MiB over the second, {} bytes more after the loader than before; ring {} MiB + cache {} MiB \
         + in-flight {} MiB = {} MiB of limits; stats {stats:?}",
        before / MIB,
        end / MIB,
        peak / MIB,
        first_half / MIB as f64,
        second_half / MIB as f64,
        held_after as i64 - held_before as i64,
        ring / MIB,
        config.tile_cache_bytes / MIB,
        config.max_bytes / MIB,
        limits / MIB,
    );
    assert_eq!(seen, chips);
    assert!(checksum > 0);
    assert!(
        peak < before + limits + 128 * MIB,
        "peak RSS {peak} over the limits {limits} + 128 MiB"
    );
    // A leak of 1.5 KiB per batch would add 2 MiB between the halves' means (1,400 batches apart).
    assert!(
        second_half <= first_half + 2.0 * MIB as f64,
        "bytes held grew from {first_half} on average over the first half to {second_half} over the second"
    );
    assert!(
        held_after <= held_before + 64 * 1024,
        "dropping the loader left {} bytes held",
        held_after - held_before
    );
}
