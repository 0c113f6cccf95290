//! The demo job: build a small seeded COG dataset locally, then stream random chips out of it through the
//! loader and measure the throughput. `geochips demo` runs it; the benchmarks reuse the dataset builder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::catalog::{BuildOptions, Catalog};
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::grid::GeoTransform;
use crate::loader::{Loader, LoaderConfig, LoaderStats};
use crate::samplers::{ChipSize, RandomOptions, RandomSampler};
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
    /// The [`crate::catalog::BuildOptions::filename_regex`] that joins each scene and its label COG (from
    /// [`DemoDataset::build_labels`]) into one item with a `"label"` band.
    pub const FILENAME_REGEX: &str =
        r"^(?P<item>scene-\d+-\d+px-\d+b-seed\d+)(-(?P<band>label))?\.tif$";

    /// Write the scenes into `dir` (those already there are kept) and return their paths.
    pub fn build(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        self.write_each(dir, "", |i| (self.pixels(i), DataType::U16, self.bands))
    }

    /// Write a uint8 label COG per scene beside it (`...-label.tif`: classes 0-3 that follow the scene's
    /// first band, so a model can learn them) and return their paths.
    pub fn build_labels(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        self.write_each(dir, "-label", |i| (self.labels(i), DataType::U8, 1))
    }

    /// Write each scene's COG named with `suffix` into `dir` unless it is there; `data(i)` gives scene `i`'s
    /// samples, type and band count.
    fn write_each(
        &self,
        dir: &Path,
        suffix: &str,
        data: impl Fn(usize) -> (Vec<u8>, DataType, usize),
    ) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        (0..self.scenes)
            .map(|i| {
                let name = format!(
                    "scene-{i:02}-{}px-{}b-seed{}{suffix}.tif",
                    self.size, self.bands, self.seed
                );
                let path = dir.join(name);
                if !path.exists() {
                    let tmp = path.with_extension("tif.partial");
                    let (samples, dtype, bands) = data(i);
                    let size = self.size;
                    write_cog(&tmp, &samples, dtype, bands, size, size, &self.options(i))?;
                    std::fs::rename(&tmp, &path)?;
                }
                Ok(path)
            })
            .collect()
    }

    /// Write the scenes and their labels into `dir` (as [`DemoDataset::build`] and
    /// [`DemoDataset::build_labels`]) and return a catalog of them: one item per scene, its image bands and a
    /// `"label"` band. Blocks; must not be called from inside an async runtime.
    pub fn catalog(&self, dir: &Path) -> Result<Catalog> {
        let written = |e: std::io::Error| Error::Catalog {
            path: dir.display().to_string(),
            reason: format!("writing the demo dataset: {e}"),
        };
        let mut paths = self.build(dir).map_err(written)?;
        paths.extend(self.build_labels(dir).map_err(written)?);
        let hrefs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let options = BuildOptions {
            filename_regex: Some(Self::FILENAME_REGEX.into()),
            ..BuildOptions::default()
        };
        let (catalog, report) = crate::runtime::block_on(Catalog::build(&hrefs, &options))?;
        if let Some(failure) = report.failures.first() {
            return Err(Error::Catalog {
                path: failure.href.clone(),
                reason: failure.reason.clone(),
            });
        }
        Ok(catalog)
    }

    /// Scene `i`'s grid: 10 m pixels in UTM zone 31N, scenes side by side.
    fn options(&self, i: usize) -> CogOptions {
        let x0 = 300_000.0 + (i * self.size) as f64 * 10.0;
        let mut opts = CogOptions::new(GeoTransform::new(10.0, 0.0, x0, 0.0, -10.0, 5_000_000.0));
        opts.overviews = 2;
        opts.epsg = Some(32631);
        opts
    }

    /// The seeded generator of scene `i`.
    fn rng(&self, i: usize) -> StdRng {
        StdRng::seed_from_u64(self.seed.wrapping_mul(1_000_003).wrapping_add(i as u64))
    }

    /// The smooth field of a band at (x, y), in [-2, 2], with the band's frequencies.
    fn smooth(x: usize, y: usize, (fx, fy): (f64, f64)) -> f64 {
        (x as f64 * fx).sin() + (y as f64 * fy).cos()
    }

    /// Scene `i`'s pixels, band-sequential native-endian uint16: smooth fields plus seeded noise, about as
    /// compressible as optical imagery.
    fn pixels(&self, i: usize) -> Vec<u8> {
        let mut rng = self.rng(i);
        let n = self.size;
        let mut out = Vec::with_capacity(self.bands * n * n * 2);
        for b in 0..self.bands {
            let f = (rng.random_range(0.002..0.02), rng.random_range(0.002..0.02));
            let base = 1000.0 + 500.0 * b as f64;
            for y in 0..n {
                for x in 0..n {
                    let v = base + Self::smooth(x, y, f) * 400.0 + rng.random_range(0.0..16.0);
                    out.extend_from_slice(&(v as u16).to_ne_bytes());
                }
            }
        }
        out
    }

    /// Scene `i`'s labels: the first band's smooth field cut into four classes of equal width.
    fn labels(&self, i: usize) -> Vec<u8> {
        let mut rng = self.rng(i);
        let f = (rng.random_range(0.002..0.02), rng.random_range(0.002..0.02));
        let n = self.size;
        (0..n * n)
            .map(|p| (Self::smooth(p % n, p / n, f) + 2.0).clamp(0.0, 3.0) as u8)
            .collect()
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

/// Stream `chips` random `chip` x `chip` chips (all bands, full resolution, seeded) out of `hrefs` through
/// the [`Loader`] (batches of 32, a tile cache of `cache_bytes`), consuming its async stream; returns what
/// was measured and the loader's counters.
pub async fn random_chips(
    hrefs: &[String],
    chips: u64,
    chip: u32,
    cache_bytes: u64,
    seed: u64,
) -> Result<(Throughput, LoaderStats)> {
    let (catalog, report) = Catalog::build(hrefs, &BuildOptions::default()).await?;
    if let Some(failure) = report.failures.first() {
        return Err(Error::Catalog {
            path: failure.href.clone(),
            reason: failure.reason.clone(),
        });
    }
    let options = RandomOptions {
        size: ChipSize::pixels(chip),
        length: Some(chips),
        seed,
        ..RandomOptions::default()
    };
    let sampler =
        RandomSampler::new(&catalog.footprints(), options).map_err(|e| Error::Loader {
            reason: e.to_string(),
        })?;
    let mut config = LoaderConfig::new(chip, chip);
    config.tile_cache_bytes = cache_bytes;
    let mut loader = Loader::new(Arc::new(catalog), sampler, config)?;
    let start = Instant::now();
    let (mut delivered, mut bytes) = (0, 0);
    let mut batches = loader.stream();
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        delivered += batch.len();
        bytes += batch.image_bytes().len() as u64;
    }
    drop(batches);
    let throughput = Throughput {
        chips: delivered,
        bytes,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((throughput, loader.stats()))
}
