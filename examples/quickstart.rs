//! Quickstart: a catalog of COGs (paths, directories or URLs given on the command line, else a small demo
//! dataset), random 256 x 256 chips through the loader, and per-band means of the first batch's valid pixels.
//!
//! `cargo run --release --example quickstart -- [SOURCE...]`

use std::sync::Arc;

use geochips::demo::DemoDataset;
use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::{BuildOptions, Catalog, Loader, LoaderConfig, runtime};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut sources: Vec<String> = std::env::args().skip(1).collect();
    if sources.is_empty() {
        let dir = std::env::temp_dir().join("geochips-quickstart");
        let dataset = DemoDataset {
            scenes: 2,
            size: 1024,
            ..DemoDataset::default()
        };
        dataset.build(&dir)?;
        sources.push(dir.display().to_string());
    }
    let (catalog, report) = runtime::block_on(Catalog::build(&sources, &BuildOptions::default()))?;
    for failure in &report.failures {
        eprintln!("left out: {failure}");
    }
    println!("catalog: {} items", catalog.len());
    let options = RandomOptions {
        size: ChipSize::pixels(256),
        length: Some(256),
        seed: 42,
        ..RandomOptions::default()
    };
    let sampler = RandomSampler::new(&catalog.footprints(), options)?;
    let loader = Loader::new(Arc::new(catalog), sampler, LoaderConfig::new(256, 256))?;
    let start = std::time::Instant::now();
    let mut chips = 0;
    for (i, batch) in loader.enumerate() {
        let batch = batch?;
        chips += batch.len();
        if i == 0 {
            let [b, c, h, w] = batch.shape();
            println!(
                "batch 0: [{b}, {c}, {h}, {w}] {} (pinned: {})",
                batch.dtype(),
                batch.pinned()
            );
            let bytes = batch.image_bytes();
            let size = batch.dtype().size();
            for band in 0..c {
                let (mut sum, mut n) = (0.0, 0usize);
                for chip in 0..b {
                    for p in 0..h * w {
                        if batch.valid_bytes()[chip * h * w + p] != 0 {
                            let at = ((chip * c + band) * h * w + p) * size;
                            sum += batch.dtype().read_value(&bytes[at..at + size]);
                            n += 1;
                        }
                    }
                }
                println!(
                    "  band {}: mean {:.2} over {n} valid pixels",
                    band + 1,
                    sum / n.max(1) as f64
                );
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{chips} chips in {seconds:.2} s: {:.0} chips/s",
        chips as f64 / seconds
    );
    Ok(())
}
