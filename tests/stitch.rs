//! The Stitcher against a whole-raster computation written independently: chips of a GridSampler with
//! overlap, blended by averaging or by the most central chip, streamed through tile rows far smaller than a
//! chip, and read back with geochips' COG reader (itself checked against rasterio).

use std::path::PathBuf;

use geochips::runtime;
use geochips::samplers::{ChipSize, Edge, GridOptions, GridSampler};
use geochips::stitch::{Blend, Stitcher};
use geochips::write::CogOptions;
use geochips::{
    Bounds, Cog, Crs, DataType, Error, Footprint, GeoSlice, GeoTransform, Interval, Window,
};

/// The output grid: 150 × 97 px of 10 m in UTM 31N (sizes that no chip stride divides).
const W: usize = 150;
const H: usize = 97;
const X0: f64 = 500_000.0;
const Y0: f64 = 4_000_000.0;
const RES: f64 = 10.0;
const EPSG: u16 = 32631;

fn grid() -> GeoTransform {
    GeoTransform::new(RES, 0.0, X0, 0.0, -RES, Y0)
}

/// The GridSampler's slices over the output grid: `size` px chips every `stride` px.
fn slices(size: u32, stride: u32, edge: Edge) -> Vec<GeoSlice> {
    let footprint = Footprint {
        item: 0,
        crs: Crs::from_epsg(EPSG.into()),
        bounds: Bounds::new(X0, Y0 - H as f64 * RES, X0 + W as f64 * RES, Y0),
        res: (RES, RES),
        interval: Interval::OPEN,
    };
    let options = GridOptions {
        size: ChipSize::pixels(size),
        stride: Some(ChipSize::pixels(stride)),
        edge,
        ..GridOptions::default()
    };
    GridSampler::new(&[footprint], options)
        .expect("sampler")
        .collect()
}

/// The output pixel (column, row) of a slice's top-left corner, straight from its bounds.
fn origin(slice: &GeoSlice) -> (i64, i64) {
    (
        ((slice.bounds.minx - X0) / RES).round() as i64,
        ((Y0 - slice.bounds.maxy) / RES).round() as i64,
    )
}

/// A made-up prediction of chip `k` at band `b`, chip pixel (x, y): multiples of 1/8 below 64, so sums of a
/// few are exact in any order.
fn prediction(k: usize, b: usize, x: usize, y: usize) -> f64 {
    let h = (k * 7919 + b * 104_729 + x * 31 + y * 131) ^ (k << 5);
    (h % 512) as f64 / 8.0
}

/// Pixel values of `bands` bands per chip as native-endian `dtype` samples, band-sequential.
fn chip_bytes(
    dtype: DataType,
    bands: usize,
    size: usize,
    value: impl Fn(usize, usize, usize) -> f64,
) -> Vec<u8> {
    let n = dtype.size();
    let mut out = vec![0; bands * size * size * n];
    for b in 0..bands {
        for y in 0..size {
            for x in 0..size {
                dtype.write_value(
                    value(b, x, y),
                    &mut out[((b * size + y) * size + x) * n..][..n],
                );
            }
        }
    }
    out
}

fn out_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("stitch-{}-{name}.tif", std::process::id()))
}

/// Stitches `chips` and reads the whole output back, band-sequential samples as f64.
fn stitch(
    name: &str,
    dtype: DataType,
    bands: usize,
    blend: Blend,
    opts: &CogOptions,
    chips: &[(GeoSlice, Vec<u8>)],
) -> Vec<f64> {
    let path = out_path(name);
    let mut stitcher = Stitcher::create(&path, dtype, bands, W, H, blend, opts).expect("create");
    for (slice, chip) in chips {
        stitcher.add(slice, chip).expect("add");
    }
    stitcher.finish().expect("finish");
    let cog = runtime::block_on(Cog::open(path.to_str().unwrap())).expect("open");
    assert_eq!(
        (cog.width(), cog.height(), cog.count()),
        (W as u64, H as u64, bands)
    );
    let mut out = vec![0; bands * W * H * dtype.size()];
    let all: Vec<usize> = (0..bands).collect();
    runtime::block_on(cog.read_window(
        &Window::new(0, 0, W as u64, H as u64),
        &all,
        None,
        &mut out,
        None,
    ))
    .expect("read");
    std::fs::remove_file(&path).unwrap();
    out.chunks_exact(dtype.size())
        .map(|s| dtype.read_value(s))
        .collect()
}

fn opts(tile_size: u32, nodata: Option<f64>) -> CogOptions {
    CogOptions {
        tile_size,
        overviews: 2,
        nodata,
        epsg: Some(EPSG),
        ..CogOptions::new(grid())
    }
}

#[test]
fn average_is_the_mean_of_every_chip_over_each_pixel() {
    for edge in [Edge::Clamp, Edge::Pad] {
        let slices = slices(32, 24, edge);
        let chips: Vec<_> = slices
            .iter()
            .enumerate()
            .map(|(k, s)| {
                (
                    *s,
                    chip_bytes(DataType::F32, 2, 32, |b, x, y| prediction(k, b, x, y)),
                )
            })
            .collect();
        // Independently: for every pixel, loop over all chips.
        let mut expected = vec![-1.0; 2 * W * H];
        for row in 0..H {
            for col in 0..W {
                for b in 0..2 {
                    let covering: Vec<f64> = slices
                        .iter()
                        .enumerate()
                        .filter_map(|(k, s)| {
                            let (c0, r0) = origin(s);
                            let (x, y) = (col as i64 - c0, row as i64 - r0);
                            ((0..32).contains(&x) && (0..32).contains(&y))
                                .then(|| prediction(k, b, x as usize, y as usize))
                        })
                        .collect();
                    if !covering.is_empty() {
                        expected[(b * H + row) * W + col] =
                            covering.iter().sum::<f64>() / covering.len() as f64;
                    }
                }
            }
        }
        assert!(
            expected.iter().all(|&v| v >= 0.0),
            "the grid covers every pixel"
        );
        let got = stitch(
            "average",
            DataType::F32,
            2,
            Blend::Average,
            &opts(16, Some(-1.0)),
            &chips,
        );
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(
                *g,
                *e as f32 as f64,
                "{edge:?}: band {} row {} col {}",
                i / (W * H),
                i / W % H,
                i % W
            );
        }
    }
}

/// The value of the chip in which (col, row) lies farthest from the chip edges inside the grid, dropping
/// `margin` px at those edges; `None` where every chip drops the pixel.
fn most_central(slices: &[GeoSlice], size: i64, margin: i64, col: i64, row: i64) -> Option<usize> {
    let mut best: Option<(i64, usize)> = None;
    for (k, s) in slices.iter().enumerate() {
        let (c0, r0) = origin(s);
        let (x, y) = (col - c0, row - r0);
        if !((0..size).contains(&x) && (0..size).contains(&y)) {
            continue;
        }
        // (distance to the edge, whether the grid goes on past it) for the left, right, top, bottom edges.
        let edges = [
            (x, c0 > 0),
            (size - 1 - x, c0 + size < W as i64),
            (y, r0 > 0),
            (size - 1 - y, r0 + size < H as i64),
        ];
        let distance = edges
            .iter()
            .filter(|e| e.1)
            .map(|e| e.0)
            .min()
            .unwrap_or(i64::MAX);
        if distance >= margin && best.is_none_or(|(d, _)| distance > d) {
            best = Some((distance, k));
        }
    }
    best.map(|(_, k)| k)
}

#[test]
fn center_takes_each_pixel_from_its_most_central_chip() {
    for (edge, margin) in [
        (Edge::Clamp, 0),
        (Edge::Clamp, 4),
        (Edge::Pad, 4),
        (Edge::Pad, 9),
    ] {
        let slices = slices(32, 24, edge);
        // Class maps: chip k's pixels hold class k + 1 at band 0 and their chip row at band 1.
        let chips: Vec<_> = slices
            .iter()
            .enumerate()
            .map(|(k, s)| {
                (
                    *s,
                    chip_bytes(DataType::U8, 2, 32, |b, _, y| {
                        if b == 0 { (k + 1) as f64 } else { y as f64 }
                    }),
                )
            })
            .collect();
        let got = stitch(
            "center",
            DataType::U8,
            2,
            Blend::Center { margin },
            &opts(16, Some(255.0)),
            &chips,
        );
        let mut dropped = 0;
        for row in 0..H {
            for col in 0..W {
                let (class, chip_row) =
                    match most_central(&slices, 32, margin.into(), col as i64, row as i64) {
                        Some(k) => ((k + 1) as f64, (row as i64 - origin(&slices[k]).1) as f64),
                        None => (255.0, 255.0),
                    };
                dropped += usize::from(class == 255.0);
                let at = row * W + col;
                assert_eq!(
                    (got[at], got[W * H + at]),
                    (class, chip_row),
                    "{edge:?} margin {margin}: row {row} col {col}"
                );
            }
        }
        // Overlaps of 8 px: a margin up to 4 keeps every pixel, a margin of 9 drops some.
        assert_eq!(
            dropped > 0,
            margin > 4,
            "{edge:?} margin {margin}: {dropped} pixels dropped"
        );
    }
}

#[test]
fn chips_cut_from_a_raster_stitch_back_to_it_exactly() {
    let raster: Vec<f64> = (0..W * H)
        .map(|i| ((i * 2_654_435_761) % 251) as f64)
        .collect();
    for dtype in [DataType::U8, DataType::F32] {
        for blend in [Blend::Average, Blend::Center { margin: 3 }] {
            let chips: Vec<_> = slices(40, 33, Edge::Clamp)
                .into_iter()
                .map(|s| {
                    let (c0, r0) = origin(&s);
                    (
                        s,
                        chip_bytes(dtype, 1, 40, |_, x, y| {
                            raster[(r0 as usize + y) * W + c0 as usize + x]
                        }),
                    )
                })
                .collect();
            let got = stitch("roundtrip", dtype, 1, blend, &opts(32, None), &chips);
            assert_eq!(got, raster, "{dtype} {blend:?}");
        }
    }
}

#[test]
fn pixels_no_chip_lands_on_are_nodata() {
    let chips: Vec<_> = slices(32, 32, Edge::Clamp)
        .into_iter()
        .filter(|s| origin(s).1 == 32)
        .map(|s| (s, chip_bytes(DataType::I16, 1, 32, |_, _, _| 7.0)))
        .collect();
    let got = stitch(
        "gaps",
        DataType::I16,
        1,
        Blend::Average,
        &opts(16, Some(-9999.0)),
        &chips,
    );
    for (i, v) in got.iter().enumerate() {
        let expected = if (32..64).contains(&(i / W)) {
            7.0
        } else {
            -9999.0
        };
        assert_eq!(*v, expected, "row {} col {}", i / W, i % W);
    }
}

#[test]
fn bad_chips_are_refused_with_the_reason_and_no_file_is_left() {
    let path = out_path("refused");
    let mut stitcher = Stitcher::create(
        &path,
        DataType::U8,
        1,
        W,
        H,
        Blend::Average,
        &opts(16, None),
    )
    .expect("create");
    let slices = slices(32, 32, Edge::Clamp);
    let chip = vec![0u8; 32 * 32];
    let reason = |result: geochips::Result<()>| match result {
        Err(Error::Stitch { reason, .. }) => reason,
        other => panic!("expected a stitch error, got {other:?}"),
    };
    assert!(reason(stitcher.add(&slices[0], &chip[1..])).contains("bytes"));
    let other_crs = GeoSlice {
        crs: Crs::from_epsg(32632),
        ..slices[0]
    };
    assert!(reason(stitcher.add(&other_crs, &chip)).contains("EPSG:32632"));
    let mut shifted = slices[0];
    shifted.bounds = Bounds::new(
        shifted.bounds.minx + 3.0,
        shifted.bounds.miny,
        shifted.bounds.maxx + 3.0,
        shifted.bounds.maxy,
    );
    assert!(reason(stitcher.add(&shifted, &chip)).contains("output grid"));
    let last = slices.last().unwrap();
    stitcher.add(last, &chip).expect("the bottom row");
    assert!(reason(stitcher.add(&slices[0], &chip)).contains("row order"));
    drop(stitcher);
    let parent = path.parent().unwrap();
    let stem = path.file_name().unwrap().to_str().unwrap();
    let left: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(stem)))
        .collect();
    assert!(
        left.is_empty(),
        "an unfinished stitcher leaves nothing: {left:?}"
    );
}
