//! Window-read throughput against its codec ceiling, on one local COG: 2048 x 2048 px, 4 bands uint16,
//! 512-px pixel-interleaved tiles, DEFLATE + predictor 2 (the demo dataset's first scene, written once into
//! the system temp dir).
//!
//! - `read_window/read_window_256_random`: [`Cog::read_window`] of a seeded cycle of 64 random 256 x 256
//!   windows inside the raster, all 4 bands, full resolution, on a tokio current-thread runtime, into a
//!   buffer reused across iterations. Throughput is decoded output bytes (256 * 256 * 4 * 2 per read).
//!   Tiles decode on the crate's rayon pool, which takes every core the process may use: run the bench with
//!   `RAYON_NUM_THREADS=1` (or under `taskset -c 0`) for the single-core figure.
//! - `inflate_ceiling/libdeflate_full_res_tiles`: a plain single-threaded `libdeflater` zlib inflate of every
//!   full-resolution tile of the same file (no predictor undo, no paste). Throughput is inflated bytes.
//! - `inflate_ceiling/zlib_rs_full_res_tiles`: the same with `flate2` on its zlib-rs backend, the other
//!   DEFLATE that builds with no system library: why the reader inflates with libdeflate.
//!
//! Setup prints the decode-pool size and the average number of tiles a window touches, so the output rate of
//! a read can be set against the inflate rate.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geochips::demo::DemoDataset;
use geochips::{Cog, Window};
use rand::{Rng, SeedableRng, rngs::StdRng};

const SIZE: usize = 2048;
const BANDS: usize = 4;
const TILE: usize = 512;
const CHIP: u64 = 256;
const WINDOWS: usize = 64;

/// The COG under test: written on first run, reused after.
fn dataset() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("geochips-bench-read-window");
    let paths = DemoDataset {
        scenes: 1,
        size: SIZE,
        bands: BANDS,
        seed: 0,
    }
    .build(&dir)
    .expect("the bench COG can be written");
    paths.into_iter().next().expect("one scene")
}

/// The stored bytes of every tile of the first (full-resolution) image: a minimal little-endian classic-TIFF
/// read of TileOffsets (324) and TileByteCounts (325).
fn raw_tiles(path: &Path) -> Vec<Vec<u8>> {
    let file = std::fs::read(path).expect("the bench COG can be read");
    let u16_at = |o: usize| u16::from_le_bytes(file[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(file[o..o + 4].try_into().unwrap()) as usize;
    assert_eq!(&file[..4], b"II*\0", "a little-endian classic TIFF");
    let ifd = u32_at(4);
    let mut offsets = Vec::new();
    let mut counts = Vec::new();
    for e in 0..u16_at(ifd) {
        let entry = ifd + 2 + 12 * e;
        let (tag, kind, count) = (u16_at(entry), u16_at(entry + 2), u32_at(entry + 4));
        if tag != 324 && tag != 325 {
            continue;
        }
        let size = match kind {
            3 => 2, // SHORT
            4 => 4, // LONG
            other => panic!("tag {tag} of type {other}"),
        };
        let data = if size * count <= 4 {
            entry + 8
        } else {
            u32_at(entry + 8)
        };
        let values: Vec<usize> = (0..count)
            .map(|i| match size {
                2 => u16_at(data + 2 * i),
                _ => u32_at(data + 4 * i),
            })
            .collect();
        if tag == 324 {
            offsets = values;
        } else {
            counts = values;
        }
    }
    assert_eq!(offsets.len(), (SIZE / TILE) * (SIZE / TILE));
    assert_eq!(offsets.len(), counts.len());
    offsets
        .iter()
        .zip(&counts)
        .map(|(&o, &n)| file[o..o + n].to_vec())
        .collect()
}

fn bench(c: &mut Criterion) {
    let path = dataset();
    let href = path.to_str().expect("a UTF-8 temp path").to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be built");
    let cog = rt.block_on(Cog::open(&href)).expect("the bench COG opens");
    let bands: Vec<usize> = (0..cog.count()).collect();
    let mut rng = StdRng::seed_from_u64(42);
    let span = SIZE as i64 - CHIP as i64;
    let windows: Vec<Window> = (0..WINDOWS)
        .map(|_| {
            Window::new(
                rng.random_range(0..=span),
                rng.random_range(0..=span),
                CHIP,
                CHIP,
            )
        })
        .collect();
    let tiles: usize = windows
        .iter()
        .map(|w| cog.plan(w, &bands, None).expect("a plan").block_count())
        .sum();
    let chip_bytes = cog.buffer_len(&windows[0], bands.len());
    let tile_bytes = TILE * TILE * BANDS * 2;
    eprintln!(
        "read_window setup: {href}; decode pool threads (RAYON_NUM_THREADS or available cores): {}; \
         {WINDOWS} windows of {CHIP}x{CHIP} touch {:.3} tiles each on average; \
         chip {chip_bytes} B, tile {tile_bytes} B decoded",
        rayon::current_num_threads(),
        tiles as f64 / WINDOWS as f64,
    );

    let mut group = c.benchmark_group("read_window");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Bytes(chip_bytes as u64));
    let mut out = vec![0u8; chip_bytes];
    let mut next = 0;
    group.bench_function("read_window_256_random", |b| {
        b.iter(|| {
            let window = &windows[next % WINDOWS];
            next += 1;
            rt.block_on(cog.read_window(window, &bands, None, &mut out, None))
                .expect("the window reads");
            black_box(&out);
        })
    });
    group.finish();

    let tiles = raw_tiles(&path);
    let stored: usize = tiles.iter().map(Vec::len).sum();
    eprintln!(
        "inflate_ceiling setup: {} tiles, {stored} B stored, {} B inflated (ratio {:.2})",
        tiles.len(),
        tiles.len() * tile_bytes,
        (tiles.len() * tile_bytes) as f64 / stored as f64,
    );
    let mut group = c.benchmark_group("inflate_ceiling");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Bytes((tiles.len() * tile_bytes) as u64));
    let mut inflater = libdeflater::Decompressor::new();
    let mut raw = vec![0u8; tile_bytes];
    group.bench_function("libdeflate_full_res_tiles", |b| {
        b.iter(|| {
            for tile in &tiles {
                let n = inflater
                    .zlib_decompress(tile, &mut raw)
                    .expect("the tile inflates");
                assert_eq!(n, tile_bytes);
                black_box(&raw);
            }
        })
    });
    group.bench_function("zlib_rs_full_res_tiles", |b| {
        b.iter(|| {
            for tile in &tiles {
                let mut z = flate2::Decompress::new(true);
                z.decompress(tile, &mut raw, flate2::FlushDecompress::Finish)
                    .expect("the tile inflates");
                assert_eq!(z.total_out() as usize, tile_bytes);
                black_box(&raw);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
