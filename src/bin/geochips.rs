//! The `geochips` command: `info` describes a GeoTIFF as gdalinfo would, `catalog` builds a GeoParquet
//! catalog from COG headers, `stats` measures band statistics over a seeded sample of chips, `bench` streams
//! chips out of a catalog and says where the time goes, `demo` builds a small dataset and streams random chips
//! out of it.

#[path = "geochips/bench.rs"]
mod bench;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::sync::Arc;

use geochips::Cog;
use geochips::band_stats::{BandStats, StatsOptions};
use geochips::catalog::{BuildOptions, Catalog};
use geochips::demo::{DemoDataset, random_chips};
use geochips::ops::Sequential;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(
    name = "geochips",
    version,
    about = "Image chips from Cloud-Optimized GeoTIFFs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Describe a GeoTIFF: size, bands, dtype, CRS, transform, nodata, tiling, compression, overviews.
    Info {
        /// A local path, file://, s3://, gs://, az:// or http(s):// href.
        href: String,
    },
    /// Build a GeoParquet catalog by reading COG headers only; bad files are listed with their reasons.
    Catalog {
        /// Sources: local files, directories or globs; object-store hrefs or prefixes (s3://bucket/scenes/);
        /// STAC ItemCollection files (.json).
        #[arg(required = true)]
        sources: Vec<String>,
        /// Where to write the catalog (GeoParquet 1.1).
        #[arg(short, long)]
        output: PathBuf,
        /// Regex matched against file names; its named group `date` holds the date (non-matching files are
        /// passed over).
        #[arg(long)]
        filename_regex: Option<String>,
        /// chrono (strftime) format of the regex's date group.
        #[arg(long, default_value = "%Y%m%d")]
        date_format: String,
        /// Stop at the first bad file instead of listing it.
        #[arg(long)]
        fail_fast: bool,
        /// Headers read at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Band statistics (count, mean, std, min, max, percentiles) over the valid pixels of a seeded sample of
    /// random chips, and the `normalize` op they give (a line for an ops config).
    Stats {
        /// A catalog written by `geochips catalog` (.parquet), or sources to build one from (as `catalog`).
        #[arg(required = true)]
        sources: Vec<String>,
        /// Chip width and height in pixels.
        #[arg(long, default_value_t = 256)]
        size: u32,
        /// Chips to sample.
        #[arg(long, default_value_t = 1000)]
        chips: u64,
        /// Seed of the chip positions.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Band names to read (comma-separated; default: every band).
        #[arg(long, value_delimiter = ',')]
        bands: Option<Vec<String>>,
        /// Percentiles to compute (comma-separated).
        #[arg(long, value_delimiter = ',', default_values_t = geochips::band_stats::DEFAULT_PERCENTILES)]
        percentiles: Vec<f64>,
        /// Print the statistics as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stream chips out of a catalog with given sampler and loader settings; print chips/s, MB/s fetched and
    /// decoded, requests per chip, the tile-cache hit rate, where the time went and the peak RSS.
    Bench(bench::BenchArgs),
    /// Build a small seeded COG dataset (once) and stream random chips out of it, printing chips/s.
    Demo {
        /// Where the dataset lives (default: ~/.cache/geochips/demo).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Number of chips to read.
        #[arg(long, default_value_t = 2000)]
        chips: u64,
        /// Chip width and height in pixels.
        #[arg(long, default_value_t = 256)]
        chip: u32,
        /// Decoded-tile cache in MiB (0: every chip decodes its tiles).
        #[arg(long, default_value_t = 256)]
        cache_mb: u64,
        /// Seed of the dataset and of the chip positions.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Info { href } => info(&href).await,
        Command::Catalog {
            sources,
            output,
            filename_regex,
            date_format,
            fail_fast,
            concurrency,
        } => {
            let options = BuildOptions {
                concurrency,
                fail_fast,
                filename_regex,
                date_format,
                ..BuildOptions::default()
            };
            catalog(&sources, &output, options).await
        }
        Command::Stats {
            sources,
            size,
            chips,
            seed,
            bands,
            percentiles,
            json,
        } => {
            let options = StatsOptions {
                size: (size, size),
                chips,
                seed,
                bands,
                percentiles,
            };
            stats(&sources, options, json).await
        }
        Command::Demo {
            dir,
            chips,
            chip,
            cache_mb,
            seed,
        } => demo(dir, chips, chip, cache_mb, seed).await,
        Command::Bench(args) => bench::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("geochips: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn catalog(
    sources: &[String],
    output: &std::path::Path,
    mut options: BuildOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} headers {elapsed} {msg}")
            .expect("a valid template"),
    );
    let b = bar.clone();
    options.progress = Some(Arc::new(move |done, total| {
        b.set_length(total as u64);
        b.set_position(done as u64);
    }));
    let (catalog, report) = Catalog::build(sources, &options).await?;
    bar.finish();
    for failure in &report.failures {
        eprintln!("left out: {failure}");
    }
    catalog.write(output)?;
    println!(
        "{} items, {} failures, {} files passed over by the filename regex -> {}",
        catalog.len(),
        report.failures.len(),
        report.skipped,
        output.display()
    );
    Ok(())
}

async fn stats(
    sources: &[String],
    options: StatsOptions,
    json: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let catalog = match sources {
        [one] if one.ends_with(".parquet") => Catalog::open(one)?,
        _ => {
            let (catalog, report) = Catalog::build(sources, &BuildOptions::default()).await?;
            for failure in &report.failures {
                eprintln!("left out: {failure}");
            }
            catalog
        }
    };
    let catalog = Arc::new(catalog);
    let stats = tokio::task::spawn_blocking(move || BandStats::sample(catalog, &options)).await??;
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
        return Ok(());
    }
    println!("{} chips", stats.chips);
    for band in &stats.bands {
        let percentiles: Vec<String> = band
            .percentiles
            .iter()
            .map(|(p, v)| format!("p{p}={v}"))
            .collect();
        println!(
            "{}: count={} mean={} std={} min={} max={} {}",
            band.name,
            band.count,
            band.mean,
            band.std,
            band.min,
            band.max,
            percentiles.join(" ")
        );
    }
    println!(
        "normalize op: {}",
        Sequential::new([stats.normalize().into()]).to_json()?
    );
    Ok(())
}

async fn info(href: &str) -> Result<(), Box<dyn std::error::Error>> {
    let cog = Cog::open(href).await?;
    let kind = if cog.bigtiff() { "BigTIFF" } else { "TIFF" };
    let interleave = if cog.band_interleaved() {
        "band"
    } else {
        "pixel"
    };
    let (bytes, requests) = (cog.file_size(), cog.header_requests());
    println!(
        "File: {} ({kind}, {bytes} bytes, header in {requests} request(s))",
        cog.href()
    );
    println!("Size: {} x {}", cog.width(), cog.height());
    println!(
        "Bands: {} x {}, {interleave}-interleaved",
        cog.count(),
        cog.dtype()
    );
    match cog.crs() {
        Ok(Some(crs)) => println!("CRS: {crs}"),
        Ok(None) => println!("CRS: none"),
        Err(e) => println!("CRS: {e}"),
    }
    match cog.transform() {
        Some(t) => {
            let [a, b, c, d, e, f] = t.to_affine();
            println!("Origin: ({c}, {f})");
            println!("Pixel size: ({a}, {e})");
            println!("Transform: ({a}, {b}, {c}, {d}, {e}, {f})");
            if let Some(bb) = t.bounds(cog.width(), cog.height()) {
                println!(
                    "Bounds: ({}, {}, {}, {})",
                    bb.minx, bb.miny, bb.maxx, bb.maxy
                );
            }
        }
        None => println!("Transform: none (not georeferenced)"),
    }
    match cog.nodata() {
        Some(n) => println!("NoData: {n}"),
        None => println!("NoData: none"),
    }
    let (rows, cols) = cog.block_shape();
    let layout = if cog.tiled() { "tiled" } else { "stripped" };
    println!("Block: {cols}x{rows} ({layout})");
    println!(
        "Compression: {}, predictor {}",
        cog.compression().name(),
        cog.predictor()
    );
    let overviews: Vec<String> = cog
        .overviews()
        .iter()
        .map(|(w, h)| format!("{w}x{h}"))
        .collect();
    let overviews = if overviews.is_empty() {
        "none".into()
    } else {
        overviews.join(", ")
    };
    println!("Overviews: {overviews}");
    println!(
        "Mask: {}",
        if cog.has_mask() {
            "internal per-dataset mask"
        } else {
            "none"
        }
    );
    let geo = cog.geo();
    for (i, (s, o)) in geo.scales.iter().zip(&geo.offsets).enumerate() {
        if *s != 1.0 || *o != 0.0 {
            println!("Band {}: offset {o}, scale {s}", i + 1);
        }
    }
    if let Some(reason) = cog.unsupported() {
        println!("Pixels: not readable by geochips ({reason})");
    }
    Ok(())
}

async fn demo(
    dir: Option<PathBuf>,
    chips: u64,
    chip: u32,
    cache_mb: u64,
    seed: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = dir.unwrap_or_else(|| {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        home.join(".cache/geochips/demo")
    });
    let dataset = DemoDataset {
        seed,
        ..DemoDataset::default()
    };
    println!(
        "dataset: {} scenes of {} x {} px, {} bands uint16, 512-px tiles, DEFLATE + predictor 2, in {}",
        dataset.scenes,
        dataset.size,
        dataset.size,
        dataset.bands,
        dir.display()
    );
    let paths = tokio::task::spawn_blocking(move || dataset.build(&dir)).await??;
    let hrefs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let (t, stats) = random_chips(&hrefs, chips, chip, cache_mb << 20, seed).await?;
    println!(
        "{} random {chip}x{chip} chips in {:.2} s: {:.0} chips/s, {:.0} MB/s into the batch ring ({} cores)",
        t.chips,
        t.seconds,
        t.chips_per_second(),
        t.megabytes_per_second(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let looked_up = stats.cache_hits + stats.blocks_decoded;
    println!(
        "loader: {} batches, {} blocks decoded, {} tile-cache hits ({:.0}% of blocks, cache {cache_mb} MiB), \
         {} range requests, {:.1} MB fetched",
        stats.batches,
        stats.blocks_decoded,
        stats.cache_hits,
        100.0 * stats.cache_hits as f64 / looked_up.max(1) as f64,
        stats.requests,
        stats.bytes_fetched as f64 / 1e6
    );
    Ok(())
}
