//! Loader throughput on local files and through an HTTP server on 127.0.0.1 that adds 20 ms to every
//! request: random 256² chips (4 bands uint16, batches of 32, no tile cache so every chip decodes its tiles)
//! from the demo dataset. Runs the two interleaved, 3 rounds, and prints the medians, requests per chip and
//! the remote/local ratio. `cargo bench --bench loader`; `GEOCHIPS_BENCH_CHIPS` sets chips per run and
//! `GEOCHIPS_BENCH_PREFETCH` batches in flight (default: the loader's). With `GEOCHIPS_BENCH_OPS=1` it runs
//! local files without and with a typical op pipeline (Normalize + Cast f32 + RandomFlip) instead, interleaved
//! the same way, and prints what the ops cost.

#[path = "support/range_server.rs"]
mod range_server;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use geochips::demo::DemoDataset;
use geochips::dtype::DataType;
use geochips::ops::{Cast, Normalize, RandomFlip, Sequential};
use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::{BuildOptions, Catalog, Loader, LoaderConfig, runtime};
use range_server::RangeServer;

/// What one run measured.
struct Run {
    chips_per_second: f64,
    requests: u64,
    chips: u64,
    bytes: u64,
}

fn run(hrefs: &[String], chips: u64, seed: u64, ops: Option<Sequential>) -> Run {
    let (catalog, report) =
        runtime::block_on(Catalog::build(hrefs, &BuildOptions::default())).expect("catalog");
    assert!(report.failures.is_empty(), "{report:?}");
    let options = RandomOptions {
        size: ChipSize::pixels(256),
        length: Some(chips),
        seed,
        ..RandomOptions::default()
    };
    let sampler = RandomSampler::new(&catalog.footprints(), options).expect("sampler");
    let mut config = LoaderConfig::new(256, 256);
    config.tile_cache_bytes = 0;
    config.ops = ops;
    config.prefetch = env("GEOCHIPS_BENCH_PREFETCH", config.prefetch as u64) as usize;
    let mut loader = Loader::new(std::sync::Arc::new(catalog), sampler, config).expect("loader");
    let start = Instant::now();
    let mut seen = 0;
    for batch in loader.by_ref() {
        seen += batch.expect("batch").len() as u64;
    }
    let stats = loader.stats();
    Run {
        chips_per_second: seen as f64 / start.elapsed().as_secs_f64(),
        requests: stats.requests,
        chips: seen,
        bytes: stats.bytes_fetched,
    }
}

/// The integer environment variable `name`, else `default`.
fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let chips: u64 = std::env::var("GEOCHIPS_BENCH_CHIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = std::env::temp_dir().join("geochips-bench-loader");
    let paths = DemoDataset::default().build(&dir).expect("dataset");
    let server = RangeServer::start(dir.clone(), Duration::from_millis(20));
    let local: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let remote: Vec<String> = paths
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                server.url,
                p.file_name().unwrap().to_string_lossy()
            )
        })
        .collect();
    if env("GEOCHIPS_BENCH_OPS", 0) != 0 {
        compare_ops(&local, chips);
        return;
    }
    let (mut l, mut r) = (Vec::new(), Vec::new());
    for round in 0..3 {
        let a = run(&local, chips, round, None);
        let served = server.requests.load(Ordering::Relaxed);
        let b = run(&remote, chips, round, None);
        let served = server.requests.load(Ordering::Relaxed) - served;
        println!(
            "round {round}: local {:.0} chips/s | HTTP +20 ms {:.0} chips/s, {:.2} requests/chip served \
             (headers included; the loader asked for {} ranges, object_store merged them), {:.2} MB fetched/chip",
            a.chips_per_second,
            b.chips_per_second,
            served as f64 / b.chips as f64,
            b.requests,
            b.bytes as f64 / 1e6 / b.chips as f64,
        );
        l.push(a.chips_per_second);
        r.push(b.chips_per_second);
    }
    let (l, r) = (median(l), median(r));
    println!(
        "median of 3: local {l:.0} chips/s, HTTP +20 ms {r:.0} chips/s, ratio {:.2}",
        r / l
    );
}

/// Local files without and with Normalize + Cast f32 + RandomFlip, interleaved, 3 rounds.
fn compare_ops(local: &[String], chips: u64) {
    let ops = Sequential::default()
        .then(Normalize::new(
            vec![1200.0, 1100.0, 1000.0, 2500.0],
            vec![400.0, 380.0, 420.0, 900.0],
        ))
        .then(Cast::new(DataType::F32))
        .then(RandomFlip::default());
    let (mut plain, mut with) = (Vec::new(), Vec::new());
    for round in 0..3 {
        let a = run(local, chips, round, None).chips_per_second;
        let b = run(local, chips, round, Some(ops.clone())).chips_per_second;
        println!("round {round}: without ops {a:.0} chips/s | with ops {b:.0} chips/s");
        plain.push(a);
        with.push(b);
    }
    let (a, b) = (median(plain), median(with));
    println!(
        "median of 3: without ops {a:.0} chips/s, with ops {b:.0} chips/s ({:+.1}%)",
        100.0 * (b / a - 1.0)
    );
}
