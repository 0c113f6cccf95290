//! Peak memory of stitching a large area: synthetic predictions for every chip of a GridSampler with overlap
//! (256-px chips every 224 px) over a SIDE × SIDE px single-band grid, stitched into a COG with overviews,
//! then the peak RSS of the process (getrusage) and a check of the output against the values fed in.
//!
//! ```text
//! cargo run --release --example stitch_memory [-- SIDE [u8|f32] [OUT.tif]]
//! ```
//! Defaults: 20000 px, u8 (class maps, center blend); f32 uses the average blend.

use std::path::PathBuf;
use std::time::Instant;

use geochips::samplers::{ChipSize, GridOptions, GridSampler};
use geochips::stitch::{Blend, Stitcher};
use geochips::write::CogOptions;
use geochips::{Bounds, Cog, Crs, DataType, Footprint, GeoTransform, Interval, Window, runtime};

const CHIP: usize = 256;
const STRIDE: u32 = 224;
const RES: f64 = 10.0;
const X0: f64 = 500_000.0;
const Y0: f64 = 4_000_000.0;

/// The value every chip predicts at output pixel (col, row): a blocky class map, the same from every chip,
/// so the stitched raster is known whatever the blend.
fn value(col: usize, row: usize) -> f64 {
    ((col / 97 + 3 * (row / 61)) % 11) as f64
}

/// Peak resident set size of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    usage.ru_maxrss as f64 / 1024.0 // kilobytes on Linux
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let side: usize = args.get(1).map_or(Ok(20_000), |s| s.parse())?;
    let (dtype, blend) = match args.get(2).map_or("u8", String::as_str) {
        "u8" => (DataType::U8, Blend::Center { margin: 16 }),
        "f32" => (DataType::F32, Blend::Average),
        other => return Err(format!("dtype must be u8 or f32, not {other}").into()),
    };
    let path = args.get(3).map_or_else(
        || std::env::temp_dir().join(format!("stitch-memory-{}.tif", std::process::id())),
        PathBuf::from,
    );
    let extent = side as f64 * RES;
    let footprint = Footprint {
        item: 0,
        crs: Crs::from_epsg(32631),
        bounds: Bounds::new(X0, Y0 - extent, X0 + extent, Y0),
        res: (RES, RES),
        interval: Interval::OPEN,
    };
    let options = GridOptions {
        size: ChipSize::pixels(CHIP as u32),
        stride: Some(ChipSize::pixels(STRIDE)),
        ..GridOptions::default()
    };
    let sampler = GridSampler::new(&[footprint], options)?;
    let opts = CogOptions {
        overviews: 5,
        epsg: Some(32631),
        ..CogOptions::new(GeoTransform::new(RES, 0.0, X0, 0.0, -RES, Y0))
    };

    let start = Instant::now();
    let mut stitcher = Stitcher::create(&path, dtype, 1, side, side, blend, &opts)?;
    let mut chip = vec![0u8; CHIP * CHIP * dtype.size()];
    let mut chips = 0;
    for slice in sampler {
        let col0 = ((slice.bounds.minx - X0) / RES).round() as usize;
        let row0 = ((Y0 - slice.bounds.maxy) / RES).round() as usize;
        for (i, sample) in chip.chunks_exact_mut(dtype.size()).enumerate() {
            dtype.write_value(value(col0 + i % CHIP, row0 + i / CHIP), sample);
        }
        stitcher.add(&slice, &chip)?;
        chips += 1;
    }
    stitcher.finish()?;
    let seconds = start.elapsed().as_secs_f64();
    let rss = peak_rss_mib();
    let file_mib = std::fs::metadata(&path)?.len() as f64 / (1 << 20) as f64;

    // The output holds what the chips predicted: a window across the middle, read back.
    let cog = runtime::block_on(Cog::open(path.to_str().ok_or("path is not UTF-8")?))?;
    let (c0, r0, n) = (side / 2 - 300, side / 2 - 300, 600);
    let mut out = vec![0u8; n * n * dtype.size()];
    let window = Window::new(c0 as i64, r0 as i64, n as u64, n as u64);
    runtime::block_on(cog.read_window(&window, &[0], None, &mut out, None))?;
    for (i, sample) in out.chunks_exact(dtype.size()).enumerate() {
        let expected = value(c0 + i % n, r0 + i / n);
        if dtype.read_value(sample) != expected {
            return Err(format!("pixel ({}, {}) is not {expected}", c0 + i % n, r0 + i / n).into());
        }
    }
    if args.get(3).is_none() {
        std::fs::remove_file(&path)?;
    }
    println!(
        "stitched {side} x {side} px {dtype} ({blend:?}) from {chips} chips in {seconds:.1} s: \
         COG {file_mib:.1} MiB, peak RSS {rss:.0} MiB"
    );
    Ok(())
}
