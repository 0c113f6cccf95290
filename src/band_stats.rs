//! Band statistics — count, mean, standard deviation, min, max and percentiles per band over the valid
//! pixels of a seeded sample of chips: the numbers [`Normalize`] and [`crate::ops::PercentileStretch`]-like
//! choices need, for a catalog (`geochips stats`) or any loader.
//!
//! Exact over the sample: 8- and 16-bit integer bands are counted in a histogram (64 Ki bins per band,
//! whatever the sample size); other types keep their valid samples (8 bytes each) until the end. Percentiles
//! are numpy's default (linear), the standard deviation numpy's default (population, `ddof=0`).

use std::sync::Arc;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::loader::{Batch, Loader, LoaderConfig};
use crate::ops::Normalize;
use crate::ops::percentile::{percentile, percentile_of};
use geochips_samplers::{ChipSize, RandomOptions, RandomSampler};

/// The percentiles computed unless others are asked for.
pub const DEFAULT_PERCENTILES: [f64; 7] = [1.0, 2.0, 25.0, 50.0, 75.0, 98.0, 99.0];

/// Statistics of one band over the valid pixels of the sampled chips (NaN where it had none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// The band's name.
    pub name: String,
    /// Valid samples counted.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// `(p, value)` for each percentile asked for.
    pub percentiles: Vec<(f64, f64)>,
}

/// Statistics of every band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandStats {
    /// Chips read.
    pub chips: u64,
    /// One entry per band, in band order.
    pub bands: Vec<Band>,
}

/// Which chips [`BandStats::sample`] reads: those of `RandomSampler(catalog, size, length=chips, seed=seed)`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsOptions {
    /// Chip width and height in pixels.
    pub size: (u32, u32),
    /// Chips to read.
    pub chips: u64,
    /// The sampler's seed.
    pub seed: u64,
    /// Band names to read; `None`: every band.
    pub bands: Option<Vec<String>>,
    /// Percentiles (0 to 100) to compute.
    pub percentiles: Vec<f64>,
}

impl StatsOptions {
    /// `chips` random chips of `size` × `size` px, seed 0, every band, the default percentiles.
    pub fn new(size: u32, chips: u64) -> StatsOptions {
        StatsOptions {
            size: (size, size),
            chips,
            seed: 0,
            bands: None,
            percentiles: DEFAULT_PERCENTILES.to_vec(),
        }
    }
}

impl BandStats {
    /// The statistics of the chips `options` describes, read from `catalog` without ops.
    pub fn sample(catalog: Arc<Catalog>, options: &StatsOptions) -> Result<BandStats> {
        let sampler_options = RandomOptions {
            size: ChipSize::Pixels(options.size.0, options.size.1),
            length: Some(options.chips),
            seed: options.seed,
            ..Default::default()
        };
        let sampler = RandomSampler::new(&catalog.footprints(), sampler_options).map_err(|e| {
            Error::Loader {
                reason: format!("stats sampler: {e}"),
            }
        })?;
        let mut config = LoaderConfig::new(options.size.0, options.size.1);
        config.bands = options.bands.clone();
        let mut loader = Loader::new(catalog, sampler, config)?;
        BandStats::of_loader(&mut loader, &options.percentiles)
    }

    /// The statistics of every chip `loader` gives for the rest of its epoch (after its ops, if it has any).
    pub fn of_loader(loader: &mut Loader, percentiles: &[f64]) -> Result<BandStats> {
        if let Some(p) = percentiles.iter().find(|p| !(0.0..=100.0).contains(*p)) {
            return Err(Error::Loader {
                reason: format!("percentile {p} is not between 0 and 100"),
            });
        }
        let spec = loader.spec().clone();
        let mut bands: Vec<Accumulator> = spec
            .bands
            .iter()
            .map(|_| Accumulator::new(spec.dtype))
            .collect();
        let mut chips = 0;
        for batch in loader.by_ref() {
            let batch = batch?;
            chips += batch.len() as u64;
            add_batch(&batch, &mut bands);
        }
        Ok(BandStats {
            chips,
            bands: spec
                .bands
                .iter()
                .zip(bands)
                .map(|(name, acc)| acc.finish(name, percentiles))
                .collect(),
        })
    }

    /// Normalize by these means and standard deviations (a band with none valid gets mean 0, std 1).
    pub fn normalize(&self) -> Normalize {
        let (mean, std) = self
            .bands
            .iter()
            .map(|b| match b.count {
                0 => (0.0, 1.0),
                _ if b.std > 0.0 => (b.mean, b.std),
                _ => (b.mean, 1.0),
            })
            .unzip::<f64, f64, Vec<f64>, Vec<f64>>();
        Normalize::new(mean, std)
    }
}

/// Count every valid sample of `batch` into its band's accumulator.
fn add_batch(batch: &Batch, bands: &mut [Accumulator]) {
    let [n, c, h, w] = batch.shape();
    let size = batch.dtype().size();
    let plane = h * w;
    let (image, valid) = (batch.image_bytes(), batch.valid_bytes());
    for chip in 0..n {
        let valid = &valid[chip * plane..][..plane];
        for (band, acc) in bands.iter_mut().enumerate().take(c) {
            let samples = &image[(chip * c + band) * plane * size..][..plane * size];
            acc.add(batch.dtype(), samples, valid);
        }
    }
}

/// One band's valid samples so far.
#[derive(Debug)]
enum Accumulator {
    /// Counts of each value of an 8- or 16-bit integer type, offset by `min` (the type's minimum).
    Histogram { min: i64, counts: Vec<u64> },
    /// The samples themselves (other types; NaNs left out).
    Values(Vec<f64>),
}

impl Accumulator {
    fn new(dtype: DataType) -> Accumulator {
        match dtype {
            DataType::U8 | DataType::U16 => Accumulator::Histogram {
                min: 0,
                counts: vec![0; 1 << (8 * dtype.size())],
            },
            DataType::I8 | DataType::I16 => Accumulator::Histogram {
                min: -(1 << (8 * dtype.size() - 1)),
                counts: vec![0; 1 << (8 * dtype.size())],
            },
            _ => Accumulator::Values(Vec::new()),
        }
    }

    /// Add the samples (of `dtype`, native-endian bytes) whose `valid` is not 0.
    fn add(&mut self, dtype: DataType, samples: &[u8], valid: &[u8]) {
        let kept = samples
            .chunks_exact(dtype.size())
            .zip(valid)
            .filter(|(_, v)| **v != 0)
            .map(|(s, _)| dtype.read_value(s));
        match self {
            Accumulator::Histogram { min, counts } => {
                for x in kept {
                    counts[(x as i64 - *min) as usize] += 1;
                }
            }
            Accumulator::Values(values) => values.extend(kept.filter(|x| !x.is_nan())),
        }
    }

    /// The band's statistics.
    fn finish(self, name: &str, percentiles: &[f64]) -> Band {
        let empty = Band {
            name: name.to_owned(),
            count: 0,
            mean: f64::NAN,
            std: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
            percentiles: percentiles.iter().map(|&p| (p, f64::NAN)).collect(),
        };
        match self {
            Accumulator::Histogram { min, counts } => {
                let bins = || {
                    counts
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| **c > 0)
                        .map(|(i, &c)| ((i as i64 + min) as f64, c))
                };
                let count: u64 = counts.iter().sum();
                if count == 0 {
                    return empty;
                }
                let sum: f64 = bins().map(|(v, c)| v * c as f64).sum();
                let mean = sum / count as f64;
                let squares: f64 = bins()
                    .map(|(v, c)| (v - mean) * (v - mean) * c as f64)
                    .sum();
                // The k-th smallest: walk the cumulative counts.
                let nth = |k: usize| {
                    let mut seen = 0u64;
                    bins()
                        .find(|(_, c)| {
                            seen += c;
                            seen > k as u64
                        })
                        .map_or(f64::NAN, |(v, _)| v)
                };
                Band {
                    count,
                    mean,
                    std: (squares / count as f64).sqrt(),
                    min: bins().next().map_or(f64::NAN, |b| b.0),
                    max: bins().next_back().map_or(f64::NAN, |b| b.0),
                    percentiles: percentiles
                        .iter()
                        .map(|&p| (p, percentile(count as usize, p, nth)))
                        .collect(),
                    ..empty
                }
            }
            Accumulator::Values(mut values) => {
                if values.is_empty() {
                    return empty;
                }
                let n = values.len() as f64;
                let mean = values.iter().sum::<f64>() / n;
                let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
                let (min, max) = values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    });
                Band {
                    count: values.len() as u64,
                    mean,
                    std: (squares / n).sqrt(),
                    min,
                    max,
                    percentiles: percentiles
                        .iter()
                        .map(|&p| (p, percentile_of(&mut values, p)))
                        .collect(),
                    ..empty
                }
            }
        }
    }
}
