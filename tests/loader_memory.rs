//! Memory stays bounded: 100,000 chips streamed through the loader (a tile cache smaller than the data, so
//! blocks are decoded, cached and evicted all along). Alone in its test binary so the process's memory is the
//! loader's. `GEOCHIPS_SOAK_CHIPS` changes the count.
//!
//! Flatness is judged on the bytes the program holds, counted by a global allocator: the high-water mark of
//! the second half of the stream may not exceed the first half's, and dropping the loader gives back all it
//! took. RSS is only bounded (peak within the limits plus a fixed overhead: the decoded blocks of the batches
//! being pasted and the recycled-block pool are not under a configured limit) and printed: it moves by ±10 MiB
//! with how glibc's heap fragments around the in-flight buffers, which would hide a leak of that size. The
//! run happens in a child with `MALLOC_ARENA_MAX=1`, which keeps that fragmentation (and RSS) lower.

mod common;

use common::{catalog_of, scratch_dir, write_scenes};
use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::{Loader, LoaderConfig};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting the bytes held now and their high-water mark since [`Counting::reset`].
struct Counting {
    held: AtomicUsize,
    peak: AtomicUsize,
}

impl Counting {
    /// Bytes held now.
    fn held(&self) -> u64 {
        self.held.load(Relaxed) as u64
    }

    /// The high-water mark since the last reset, and a new mark starting from now.
    fn reset(&self) -> u64 {
        self.peak.swap(self.held.load(Relaxed), Relaxed) as u64
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let held = self.held.fetch_add(layout.size(), Relaxed) + layout.size();
            self.peak.fetch_max(held, Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.held.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static HEAP: Counting = Counting {
    held: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

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
    // High-water marks of the bytes held over [a tenth, half) and [half, all) of the chips.
    let (mut seen, mut first_half) = (0u64, None);
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
        if last < chips / 10 && seen >= chips / 10 {
            HEAP.reset();
        }
        if last < chips / 2 && seen >= chips / 2 {
            first_half = Some(HEAP.reset());
        }
    }
    let second_half = HEAP.reset();
    let (end, peak) = (status_bytes("VmRSS:"), status_bytes("VmHWM:"));
    let stats = loader.stats();
    drop(loader);
    let held_after = HEAP.held();
    let first_half = first_half.expect("half the chips");
    let limits = ring + config.tile_cache_bytes + config.max_bytes;
    println!(
        "{seen} chips: RSS before {} MiB, at the end {} MiB, peak {} MiB; held at most {:.1} MiB over the first \
         half, {:.1} MiB over the second, {} bytes more after the loader than before; ring {} MiB + cache {} MiB \
         + in-flight {} MiB = {} MiB of limits; stats {stats:?}",
        before / MIB,
        end / MIB,
        peak / MIB,
        first_half as f64 / MIB as f64,
        second_half as f64 / MIB as f64,
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
    // The marks move by a few decoded tiles (384 KiB each) with how decodes overlap; a leak of 3 KiB per
    // batch would add 4 MiB over the second half's 1,560 batches.
    assert!(
        second_half <= first_half + 4 * MIB,
        "bytes held grew from at most {first_half} over the first half to {second_half} over the second"
    );
    assert!(
        held_after <= held_before + 64 * 1024,
        "dropping the loader left {} bytes held",
        held_after - held_before
    );
}
