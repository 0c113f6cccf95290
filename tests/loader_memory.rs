//! Memory stays bounded: 100,000 chips streamed through the loader (a tile cache smaller than the data, so
//! blocks are decoded, cached and evicted all along), peak RSS within ring + tile cache + in-flight bytes + a
//! fixed overhead, and flat once warm. Alone in its test binary so the process's RSS is the loader's.
//! `GEOCHIPS_SOAK_CHIPS` changes the count.
//!
//! The measurement runs in a child process with `MALLOC_ARENA_MAX=1`: with glibc's default of 8 arenas per
//! core, freed blocks scattered over many per-thread arenas let RSS creep by ~10 MiB per 100,000 chips before
//! it settles, which would hide a real leak of the same size. With one arena the same run is flat.

mod common;

use common::{catalog_of, scratch_dir, write_scenes};
use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::{Loader, LoaderConfig};

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
    let before = status_bytes("VmRSS:");
    let mut loader = Loader::new(catalog, sampler, config.clone()).expect("loader");
    let (mut seen, mut warm) = (0u64, None);
    let mut checksum = 0u64;
    for batch in loader.by_ref() {
        let batch = batch.expect("batch");
        checksum =
            checksum.wrapping_add(batch.image_bytes().iter().map(|&b| b as u64).sum::<u64>());
        seen += batch.len() as u64;
        if seen % 10_000 < batch.len() as u64 {
            println!("{seen} chips: RSS {} MiB", status_bytes("VmRSS:") / MIB);
        }
        if warm.is_none() && seen >= chips / 10 {
            warm = Some(status_bytes("VmRSS:"));
        }
    }
    let (end, peak) = (status_bytes("VmRSS:"), status_bytes("VmHWM:"));
    let warm = warm.expect("a tenth of the chips");
    let limits = ring + config.tile_cache_bytes + config.max_bytes;
    println!(
        "{seen} chips: RSS before {} MiB, after a tenth of them {} MiB, at the end {} MiB, peak {} MiB; ring {} MiB + \
         cache {} MiB + in-flight {} MiB = {} MiB of limits; stats {:?}",
        before / MIB,
        warm / MIB,
        end / MIB,
        peak / MIB,
        ring / MIB,
        config.tile_cache_bytes / MIB,
        config.max_bytes / MIB,
        limits / MIB,
        loader.stats()
    );
    assert_eq!(seen, chips);
    assert!(checksum > 0);
    assert!(
        peak < before + limits + 128 * MIB,
        "peak RSS {peak} over the limits {limits} + 128 MiB"
    );
    // Allowed: the recycled-block pool reaching its high-water mark (a leak of even 1 KiB per batch would
    // add 3 MiB here, of a chip per batch hundreds).
    assert!(
        end < warm + 8 * MIB,
        "RSS grew from {warm} after a tenth of the chips to {end}"
    );
}
