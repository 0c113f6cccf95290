//! Chips/s of the training adapters against the bare `Loader` iterator on the same data: random 256² chips
//! (4 bands uint16 and the uint8 labels, batches of 32) from the demo dataset, read by the loader alone,
//! through `BurnLoader` onto burn's flex CPU device and through `CandleBatches` onto candle's CPU device (each
//! adapter casts every sample once: the image to f32, the labels to burn's i64 or candle's u32). Runs the three interleaved, 3 rounds, and prints the medians and each adapter's
//! ratio to the loader. `cargo bench --bench train_adapters --features burn,candle`;
//! `GEOCHIPS_BENCH_CHIPS` sets chips per run, `GEOCHIPS_BENCH_CACHE_MB` the tile cache (default 256).

use std::sync::Arc;
use std::time::Instant;

use burn::data::dataloader::DataLoader;
use geochips::demo::DemoDataset;
use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::train::burn::BurnLoader;
use geochips::train::candle::CandleBatches;
use geochips::{Catalog, Labels, Loader, LoaderConfig};

/// The consumers compared.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// The bare `Loader` iterator.
    Loader,
    /// `BurnLoader` onto burn's flex device.
    Burn,
    /// `CandleBatches` onto candle's CPU device.
    Candle,
}

const MODES: [Mode; 3] = [Mode::Loader, Mode::Burn, Mode::Candle];

/// Chips/s of `mode` over `chips` random chips.
fn run(mode: Mode, catalog: &Arc<Catalog>, chips: u64, cache_bytes: u64) -> f64 {
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
    let start = Instant::now();
    let seen: usize = match mode {
        Mode::Loader => Loader::new(catalog.clone(), sampler, config)
            .expect("loader")
            .map(|b| b.expect("batch").len())
            .sum(),
        Mode::Burn => {
            let device = burn::tensor::Device::flex();
            let loader = BurnLoader::new(catalog.clone(), sampler, config, device).expect("loader");
            loader
                .iter()
                .map(|b| b.expect("batch").image.dims()[0])
                .sum()
        }
        Mode::Candle => {
            let loader = Loader::new(catalog.clone(), sampler, config).expect("loader");
            CandleBatches::new(loader, candle_core::Device::Cpu)
                .map(|b| b.expect("tensors").image.dims()[0])
                .sum()
        }
    };
    seen as f64 / start.elapsed().as_secs_f64()
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
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];
    for round in 0..3 {
        for (mode, runs) in MODES.iter().zip(&mut results) {
            let rate = run(*mode, &catalog, chips, cache_bytes);
            println!("round {round} {mode:?}: {rate:.0} chips/s");
            runs.push(rate);
        }
    }
    let median = |runs: &mut Vec<f64>| {
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    };
    let loader = median(&mut results[0]);
    for (mode, runs) in MODES.iter().zip(&mut results) {
        let rate = median(runs);
        println!(
            "{mode:?}: median {rate:.0} chips/s ({:.2} of the loader's); {chips} chips, cache {} MiB",
            rate / loader,
            cache_bytes >> 20
        );
    }
}
