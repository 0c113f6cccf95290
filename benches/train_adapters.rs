//! Chips/s of the training adapters against the bare `Loader` iterator on the same data and loader
//! configuration: random 256² chips (4 bands uint16 and the uint8 labels, batches of 32) from the demo dataset,
//! read by the loader alone, through `BurnLoader` onto burn's flex CPU device and through `CandleBatches` onto
//! candle's CPU device. Two configurations: the images as read (uint16; the candle adapter casts them to f32 on
//! the consumer's thread) and cast to f32 by the loader's ops on the decode pool (`with_f32_images`, what
//! `BurnLoader` always does; candle's tensors then take the slot's image memory over, and the slot is given
//! fresh memory, faulted in by the decode pool as it writes the next batch). Runs every pair interleaved, 3 rounds, and prints the medians of chips/s, with
//! each adapter's ratio to the loader of the same configuration, and of CPU time per chip: the process's and
//! that of the thread that iterates, where the adapter works. The adapter's own cost is its thread's time
//! beyond the bare loader's (which sets up the ring and waits), given as a share of the loader's process time:
//! what it takes from the decode pool when every core is busy, less swayed than wall time by other work on
//! the machine (Linux only: the thread's time comes from `RUSAGE_THREAD`).
//! `cargo bench --bench train_adapters --features burn,candle`; `GEOCHIPS_BENCH_CHIPS` sets chips per run,
//! `GEOCHIPS_BENCH_CACHE_MB` the tile cache (default 256).

use std::sync::Arc;
use std::time::Instant;

use burn::data::dataloader::DataLoader;
use geochips::demo::DemoDataset;
use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::train::burn::BurnLoader;
use geochips::train::candle::CandleBatches;
use geochips::train::with_f32_images;
use geochips::{Catalog, Labels, Loader, LoaderConfig};

/// What consumes the batches.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Consumer {
    /// The bare `Loader` iterator.
    Loader,
    /// `BurnLoader` onto burn's flex device (its loader casts the images to f32 whatever the configuration).
    Burn,
    /// `CandleBatches` onto candle's CPU device.
    Candle,
}

/// The loader configurations compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Images {
    /// uint16, as read.
    AsRead,
    /// Cast to f32 by the loader's ops.
    F32,
}

/// The runs of a round, each adapter after the loader of its configuration.
const RUNS: [(Consumer, Images); 5] = [
    (Consumer::Loader, Images::AsRead),
    (Consumer::Candle, Images::AsRead),
    (Consumer::Loader, Images::F32),
    (Consumer::Burn, Images::F32),
    (Consumer::Candle, Images::F32),
];

/// Chips/s, and CPU milliseconds per chip of the process and of this thread, of `consumer` over `chips`
/// random chips, the images as `images` says.
fn run(
    (consumer, images): (Consumer, Images),
    catalog: &Arc<Catalog>,
    chips: u64,
    cache_bytes: u64,
) -> [f64; 3] {
    let options = RandomOptions {
        size: ChipSize::pixels(256),
        length: Some(chips),
        seed: 7,
        ..RandomOptions::default()
    };
    let sampler = RandomSampler::new(&catalog.footprints(), options).expect("sampler");
    let mut config = LoaderConfig::new(256, 256);
    config.tile_cache_bytes = cache_bytes;
    config.labels = Some(Labels::Band("label".into()));
    let (start, process, thread) = (
        Instant::now(),
        cpu_seconds(libc::RUSAGE_SELF),
        cpu_seconds(libc::RUSAGE_THREAD),
    );
    let seen: usize = match consumer {
        Consumer::Burn => {
            let device = burn::tensor::Device::flex();
            let loader = BurnLoader::new(catalog.clone(), sampler, config, device).expect("loader");
            loader
                .iter()
                .map(|b| b.expect("batch").image.dims()[0])
                .sum()
        }
        Consumer::Loader | Consumer::Candle => {
            if images == Images::F32 {
                config = with_f32_images(config);
            }
            let loader = Loader::new(catalog.clone(), sampler, config).expect("loader");
            if consumer == Consumer::Loader {
                loader.map(|b| b.expect("batch").len()).sum()
            } else {
                CandleBatches::new(loader, candle_core::Device::Cpu)
                    .map(|b| b.expect("tensors").image.dims()[0])
                    .sum()
            }
        }
    };
    let seen = seen as f64;
    [
        seen / start.elapsed().as_secs_f64(),
        (cpu_seconds(libc::RUSAGE_SELF) - process) * 1e3 / seen,
        (cpu_seconds(libc::RUSAGE_THREAD) - thread) * 1e3 / seen,
    ]
}

/// User and system CPU seconds used by `who`: the process (`RUSAGE_SELF`) or this thread (`RUSAGE_THREAD`).
fn cpu_seconds(who: libc::c_int) -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; both `who` passed here are valid on Linux.
    assert_eq!(unsafe { libc::getrusage(who, usage.as_mut_ptr()) }, 0);
    // SAFETY: initialised by the successful call.
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The integer environment variable `name`, else `default`.
fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let chips = env("GEOCHIPS_BENCH_CHIPS", 2048);
    let cache_bytes = env("GEOCHIPS_BENCH_CACHE_MB", 256) << 20;
    let dir = std::env::temp_dir().join("geochips-bench-demo");
    let catalog = Arc::new(DemoDataset::default().catalog(&dir).expect("demo dataset"));
    let mut results: Vec<Vec<[f64; 3]>> = vec![Vec::new(); RUNS.len()];
    for round in 0..3 {
        for (pair, runs) in RUNS.iter().zip(&mut results) {
            let [rate, process, thread] = run(*pair, &catalog, chips, cache_bytes);
            println!(
                "round {round} {pair:?}: {rate:.0} chips/s, CPU per chip {process:.2} ms ({thread:.2} ms on the \
                 iterating thread)"
            );
            runs.push([rate, process, thread]);
        }
    }
    let medians: Vec<[f64; 3]> = results
        .iter()
        .map(|runs| {
            [0, 1, 2].map(|k| {
                let mut values: Vec<f64> = runs.iter().map(|r| r[k]).collect();
                values.sort_by(f64::total_cmp);
                values[values.len() / 2]
            })
        })
        .collect();
    println!(
        "{chips} chips a run, cache {} MiB; medians:",
        cache_bytes >> 20
    );
    for (&(consumer, images), &[rate, process, thread]) in RUNS.iter().zip(&medians) {
        let [loader_rate, loader_process, loader_thread] = RUNS
            .iter()
            .zip(&medians)
            .find(|((c, i), _)| *c == Consumer::Loader && *i == images)
            .map(|(_, &medians)| medians)
            .expect("every configuration has its loader run");
        println!(
            "{consumer:?}, images {images:?}: {rate:.0} chips/s ({:.2} of the loader's); CPU per chip {process:.2} \
             ms, {thread:.2} ms on the iterating thread (beyond the loader's: {:.0}% of the loader's process time)",
            rate / loader_rate,
            (thread - loader_thread) / loader_process * 100.0,
        );
    }
}
