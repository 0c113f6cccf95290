//! The demo job: build a small seeded COG dataset locally, then stream random chips out of it and measure
//! the throughput. `geochips demo` runs it; the benchmarks reuse the dataset builder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::cog::HeaderCache;
use crate::dtype::DataType;
use crate::error::Result;
use crate::grid::{GeoTransform, Window};
use crate::write::{CogOptions, write_cog};

/// The shape of the demo dataset.
#[derive(Debug, Clone)]
pub struct DemoDataset {
    /// Number of scenes (one COG each).
    pub scenes: usize,
    /// Width and height of each scene in pixels.
    pub size: usize,
    /// Bands per scene (uint16).
    pub bands: usize,
    /// Seed of the synthetic pixels.
    pub seed: u64,
}

impl Default for DemoDataset {
    /// 4 scenes of 2048 x 2048 px, 4 bands uint16: 512-px tiles, DEFLATE + predictor 2, 2 overviews.
    fn default() -> DemoDataset {
        DemoDataset {
            scenes: 4,
            size: 2048,
            bands: 4,
            seed: 0,
        }
    }
}

impl DemoDataset {
    /// Write the scenes into `dir` (those already there are kept) and return their paths.
    pub fn build(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        (0..self.scenes)
            .map(|i| {
                let name = format!(
                    "scene-{i:02}-{}px-{}b-seed{}.tif",
                    self.size, self.bands, self.seed
                );
                let path = dir.join(name);
                if !path.exists() {
                    let tmp = path.with_extension("tif.partial");
                    write_cog(
                        &tmp,
                        &self.pixels(i),
                        DataType::U16,
                        self.bands,
                        self.size,
                        self.size,
                        &self.options(i),
                    )?;
                    std::fs::rename(&tmp, &path)?;
                }
                Ok(path)
            })
            .collect()
    }

    /// Scene `i`'s grid: 10 m pixels in UTM zone 31N, scenes side by side.
    fn options(&self, i: usize) -> CogOptions {
        let x0 = 300_000.0 + (i * self.size) as f64 * 10.0;
        let mut opts = CogOptions::new(GeoTransform::new(10.0, 0.0, x0, 0.0, -10.0, 5_000_000.0));
        opts.overviews = 2;
        opts.epsg = Some(32631);
        opts
    }

    /// Scene `i`'s pixels, band-sequential native-endian uint16: smooth fields plus seeded noise, about as
    /// compressible as optical imagery.
    fn pixels(&self, i: usize) -> Vec<u8> {
        let mut rng =
            StdRng::seed_from_u64(self.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        let n = self.size;
        let mut out = Vec::with_capacity(self.bands * n * n * 2);
        for b in 0..self.bands {
            let (fx, fy) = (rng.random_range(0.002..0.02), rng.random_range(0.002..0.02));
            let base = 1000.0 + 500.0 * b as f64;
            for y in 0..n {
                for x in 0..n {
                    let smooth = ((x as f64 * fx).sin() + (y as f64 * fy).cos()) * 400.0;
                    let v = base + smooth + rng.random_range(0.0..16.0);
                    out.extend_from_slice(&(v as u16).to_ne_bytes());
                }
            }
        }
        out
    }
}

/// What a run of random chips measured.
#[derive(Debug, Clone)]
pub struct Throughput {
    /// Chips read.
    pub chips: usize,
    /// Decoded bytes delivered.
    pub bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Throughput {
    /// Chips per second.
    pub fn chips_per_second(&self) -> f64 {
        self.chips as f64 / self.seconds
    }

    /// Decoded megabytes (10^6 bytes) per second.
    pub fn megabytes_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds
    }
}

/// Read `chips` random `chip` x `chip` windows (all bands, full resolution, seeded) from `hrefs`, with
/// `concurrency` reads in flight; each chip is fetched, then decoded on the decode pool.
pub async fn random_chips(
    hrefs: &[String],
    chips: usize,
    chip: u64,
    concurrency: usize,
    seed: u64,
) -> Result<Throughput> {
    let cache = Arc::new(HeaderCache::default());
    let mut rng = StdRng::seed_from_u64(seed);
    let mut jobs = Vec::with_capacity(chips);
    for href in hrefs {
        cache.open(href).await?;
    }
    for _ in 0..chips {
        jobs.push((
            rng.random_range(0..hrefs.len()),
            rng.random::<f64>(),
            rng.random::<f64>(),
        ));
    }
    let start = Instant::now();
    let reads = futures::stream::iter(jobs).map(|(i, fx, fy)| {
        let cache = cache.clone();
        async move {
            let cog = cache.open(&hrefs[i]).await?;
            let col = (fx * (cog.width().saturating_sub(chip)) as f64) as i64;
            let row = (fy * (cog.height().saturating_sub(chip)) as f64) as i64;
            let window = Window::new(col, row, chip, chip);
            let bands: Vec<usize> = (0..cog.count()).collect();
            let plan = cog.plan(&window, &bands, None)?;
            let fetched = cog.fetch(&plan).await?;
            let decode = move || {
                let mut out = vec![0u8; cog.buffer_len(&window, bands.len())];
                cog.decode_into(&plan, fetched, &mut out, None)
                    .map(|()| out.len() as u64)
            };
            // A panic in the decode task is a bug: carry it on here.
            tokio::task::spawn_blocking(decode)
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        }
    });
    let mut stream = reads.buffer_unordered(concurrency.max(1));
    let mut bytes = 0;
    while let Some(n) = stream.next().await {
        bytes += n?;
    }
    Ok(Throughput {
        chips,
        bytes,
        seconds: start.elapsed().as_secs_f64(),
    })
}
