//! `geochips bench`: stream chips out of a catalog with a user's sampler and loader settings and report where
//! the time goes (throughput, bytes, requests, cache hits, the loader's time split, peak memory).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use geochips::catalog::{BuildOptions, Catalog};
use geochips::samplers::{ChipSize, GridOptions, GridSampler, RandomOptions, RandomSampler};
use geochips::{Error, Labels, Loader, LoaderConfig, LoaderStats, Sampler};

/// Which sampler draws the chips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SamplerKind {
    /// Uniform random chips over the union of the items' footprints.
    Random,
    /// Chips on a regular grid over every item (item, row, column order), `--stride` apart.
    Grid,
}

/// The arguments of `geochips bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A GeoParquet catalog (.parquet), or sources to build one from: files, directories, globs,
    /// object-store hrefs or prefixes, STAC ItemCollection files.
    #[arg(required = true)]
    sources: Vec<String>,
    /// Chips to read.
    #[arg(long, default_value_t = 2048)]
    chips: u64,
    /// Chip width and height in pixels.
    #[arg(long, default_value_t = 256)]
    chip: u32,
    /// Chips per batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// The sampler.
    #[arg(long, value_enum, default_value_t = SamplerKind::Random)]
    sampler: SamplerKind,
    /// Grid stride in pixels (default: the chip size).
    #[arg(long)]
    stride: Option<u32>,
    /// Random chips drawn per neighbourhood (tile locality; 1: every chip independent).
    #[arg(long, default_value_t = 1)]
    chips_per_neighbourhood: u32,
    /// Neighbourhood side, in chip sizes.
    #[arg(long, default_value_t = 2.0)]
    neighbourhood: f64,
    /// Seed of the chip positions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Decoded-tile cache in MiB (default: the loader's, 256; 0: none).
    #[arg(long)]
    cache_mb: Option<u64>,
    /// Batches fetched ahead (default: the loader's).
    #[arg(long)]
    prefetch: Option<usize>,
    /// Decode threads (default: one per core).
    #[arg(long)]
    decode_threads: Option<usize>,
    /// Band names to stack (comma-separated; default every band of every asset but the labels).
    #[arg(long, value_delimiter = ',')]
    bands: Option<Vec<String>>,
    /// The band name of a label raster read into each batch's mask (image + label pairs).
    #[arg(long)]
    labels: Option<String>,
    /// Print one JSON object instead of the report (for scripts), and no progress bar.
    #[arg(long)]
    json: bool,
}

/// What a run measured.
struct Measured {
    chips: u64,
    seconds: f64,
    chip_bytes: u64,
    /// Seconds the consumer (this loop) waited for batches.
    waited: f64,
    /// When the first batch arrived (seconds from the start: the pipeline's start-up) and its chips.
    first: (f64, u64),
    stats: LoaderStats,
    cache_bytes: u64,
    items: usize,
    peak_rss: Option<u64>,
}

/// Run `geochips bench`.
pub async fn run(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let catalog = Arc::new(open_catalog(&args.sources).await?);
    let mut config = LoaderConfig::new(args.chip, args.chip);
    config.batch_size = args.batch;
    config.bands = args.bands.clone();
    config.labels = args.labels.clone().map(Labels::Band);
    config.decode_threads = args.decode_threads;
    if let Some(mb) = args.cache_mb {
        config.tile_cache_bytes = mb << 20;
    }
    if let Some(prefetch) = args.prefetch {
        config.prefetch = prefetch;
    }
    let cache_bytes = config.tile_cache_bytes;
    let (mut loader, epoch_len) = make_loader(&args, catalog.clone(), config)?;
    let wanted = args.chips.min(epoch_len);
    let bar = progress_bar(wanted, args.json);
    let start = Instant::now();
    let (mut chips, mut chip_bytes, mut waited, mut first) = (0, 0, Duration::ZERO, (0.0, 0));
    {
        let mut batches = loader.stream();
        while chips < wanted {
            let asked = Instant::now();
            let next = batches.next().await;
            waited += asked.elapsed();
            let Some(batch) = next else {
                break;
            };
            let batch = batch?;
            if chips == 0 {
                first = (start.elapsed().as_secs_f64(), batch.len() as u64);
            }
            chips += batch.len() as u64;
            chip_bytes += batch.image_bytes().len() as u64;
            bar.set_position(chips.min(wanted));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let measured = Measured {
        chips,
        seconds,
        chip_bytes,
        waited: waited.as_secs_f64(),
        first,
        stats: loader.stats(),
        cache_bytes,
        items: catalog.len(),
        peak_rss: peak_rss(),
    };
    if args.json {
        println!("{}", json(&args, &measured));
    } else {
        report(&args, &measured);
    }
    Ok(())
}

/// The catalog at `sources`: opened when it is one .parquet file, else built from the sources (a bad source
/// fails the build, naming it).
async fn open_catalog(sources: &[String]) -> Result<Catalog, Error> {
    if let [one] = sources
        && Path::new(one).extension().is_some_and(|e| e == "parquet")
    {
        return Catalog::open(one);
    }
    let options = BuildOptions {
        fail_fast: true,
        ..BuildOptions::default()
    };
    let (catalog, _) = Catalog::build(sources, &options).await?;
    Ok(catalog)
}

/// A loader of the chips the arguments ask for (random, `--chips` of them, or tiling the catalog), and the
/// length of its sampler's epoch.
fn make_loader(
    args: &BenchArgs,
    catalog: Arc<Catalog>,
    config: LoaderConfig,
) -> Result<(Loader, u64), Error> {
    let size = ChipSize::pixels(args.chip);
    let footprints = catalog.footprints();
    let bad = |e: geochips::samplers::SamplerError| Error::Loader {
        reason: format!("sampler: {e}"),
    };
    match args.sampler {
        SamplerKind::Random => {
            let options = RandomOptions {
                size,
                length: Some(args.chips),
                seed: args.seed,
                chips_per_neighbourhood: args.chips_per_neighbourhood,
                neighbourhood: args.neighbourhood,
                ..RandomOptions::default()
            };
            let sampler = RandomSampler::new(&footprints, options).map_err(bad)?;
            let len = sampler.epoch_len();
            Ok((Loader::new(catalog, sampler, config)?, len))
        }
        SamplerKind::Grid => {
            let options = GridOptions {
                size,
                stride: args.stride.map(ChipSize::pixels),
                seed: args.seed,
                ..GridOptions::default()
            };
            let sampler = GridSampler::new(&footprints, options).map_err(bad)?;
            let len = sampler.epoch_len();
            Ok((Loader::new(catalog, sampler, config)?, len))
        }
    }
}

/// A progress bar of chips on stderr, hidden for `--json`.
fn progress_bar(chips: u64, hidden: bool) -> ProgressBar {
    let bar = ProgressBar::new(chips).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} chips {elapsed} {per_sec}")
            .expect("a valid template"),
    );
    if hidden {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// The most resident memory this process has held, in bytes.
fn peak_rss() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful call (and zeroed before it).
    let kib = unsafe { usage.assume_init() }.ru_maxrss as u64;
    // Linux reports KiB, macOS bytes.
    ok.then_some(if cfg!(target_os = "macos") {
        kib
    } else {
        kib << 10
    })
}

/// The share of blocks found in the tile cache.
fn hit_rate(s: &LoaderStats) -> f64 {
    s.cache_hits as f64 / (s.cache_hits + s.blocks_decoded).max(1) as f64
}

/// The human report.
fn report(args: &BenchArgs, m: &Measured) {
    let s = &m.stats;
    let per_s = |x: u64| x as f64 / 1e6 / m.seconds;
    let chips = m.chips.max(1) as f64;
    println!(
        "{} chips of {c}x{c} ({:?} sampler, batches of {}, {} items) in {:.2} s: {:.0} chips/s, {:.0} MB/s of chips",
        m.chips,
        args.sampler,
        args.batch,
        m.items,
        m.seconds,
        m.chips as f64 / m.seconds,
        per_s(m.chip_bytes),
        c = args.chip,
    );
    let steady = (m.chips - m.first.1) as f64 / (m.seconds - m.first.0);
    println!(
        "first batch after {:.2} s; after it {steady:.0} chips/s",
        m.first.0
    );
    println!(
        "fetched {:.0} MB/s ({:.2} MB per chip) in {:.2} requests per chip; decoded {:.0} MB/s ({:.2} MB per chip)",
        per_s(s.bytes_fetched),
        s.bytes_fetched as f64 / 1e6 / chips,
        s.requests as f64 / chips,
        per_s(s.bytes_decoded),
        s.bytes_decoded as f64 / 1e6 / chips,
    );
    println!(
        "tile cache {} MiB: {:.0}% of {} blocks were hits",
        m.cache_bytes >> 20,
        100.0 * hit_rate(s),
        s.cache_hits + s.blocks_decoded,
    );
    println!(
        "time (seconds summed over concurrent batches, {:.2} s of wall clock): plan {:.2}, waiting for the byte \
         budget {:.2}, fetch {:.2}, decode {:.2}, paste {:.2}, ops {:.2}, waiting for a ring slot {:.2}, \
         waiting for the consumer {:.2}; the consumer waited {:.2}",
        m.seconds,
        s.plan_seconds,
        s.wait_bytes_seconds,
        s.fetch_seconds,
        s.decode_seconds,
        s.paste_seconds,
        s.ops_seconds,
        s.wait_slot_seconds,
        s.wait_consumer_seconds,
        m.waited,
    );
    match m.peak_rss {
        Some(rss) => println!("peak RSS {:.0} MB", rss as f64 / 1e6),
        None => println!("peak RSS unknown"),
    }
}

/// The measurements as one JSON object.
fn json(args: &BenchArgs, m: &Measured) -> serde_json::Value {
    let s = &m.stats;
    serde_json::json!({
        "chips": m.chips,
        "seconds": m.seconds,
        "first_batch_seconds": m.first.0,
        "first_batch_chips": m.first.1,
        "chip_size": args.chip,
        "batch_size": args.batch,
        "chip_bytes": m.chip_bytes,
        "items": m.items,
        "tile_cache_bytes": m.cache_bytes,
        "peak_rss_bytes": m.peak_rss,
        "cache_hit_rate": hit_rate(s),
        "stats": {
            "batches": s.batches,
            "skipped": s.skipped,
            "requests": s.requests,
            "bytes_fetched": s.bytes_fetched,
            "bytes_decoded": s.bytes_decoded,
            "cache_hits": s.cache_hits,
            "blocks_decoded": s.blocks_decoded,
            "plan_seconds": s.plan_seconds,
            "wait_bytes_seconds": s.wait_bytes_seconds,
            "fetch_seconds": s.fetch_seconds,
            "decode_seconds": s.decode_seconds,
            "paste_seconds": s.paste_seconds,
            "ops_seconds": s.ops_seconds,
            "wait_slot_seconds": s.wait_slot_seconds,
            "wait_consumer_seconds": s.wait_consumer_seconds,
            "consumer_wait_seconds": m.waited,
        },
    })
}
