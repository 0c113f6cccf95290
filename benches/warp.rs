//! Resampling throughput of `geochips::warp`, one thread, 4 bands of 256 x 256 u16 (Mpx/s = destination
//! pixels, all bands, per second):
//!
//! - `warp/{nearest,bilinear}_same_crs`: a 20 m source onto a 10 m chip (the map is affine);
//! - `warp/{nearest,bilinear}_utm31_to_32`: a 10 m UTM 31N source onto a 10 m UTM 32N chip by the zone line;
//! - `warp/map_utm31_to_32`: setting that reprojected map (GDAL's approximate transformer: 3 exact transforms a
//!   row, plus the outline), the per-chip cost before resampling.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geochips::warp::{Grid, PixelMap, Resampling, Source, Target, resample};
use geochips::{Crs, DataType, GeoTransform};

const CHIP: u64 = 256;
const BANDS: usize = 4;

fn grid(epsg: u32, res: f64, x: f64, y: f64, size: u64) -> Grid {
    Grid {
        transform: GeoTransform::new(res, 0.0, x, 0.0, -res, y),
        width: size,
        height: size,
        crs: Crs::from_epsg(epsg),
    }
}

/// A source window's samples for `map` and `method`: a u16 ramp, all valid.
fn source(map: &PixelMap, method: Resampling) -> (geochips::Window, Vec<u8>, Vec<u8>) {
    let window = map
        .source_window(method)
        .expect("the chip overlaps the source");
    let px = window.pixels() as usize;
    let data = (0..BANDS * px)
        .flat_map(|i| ((i % 4099) as u16).to_ne_bytes())
        .collect();
    (window, data, vec![1; px])
}

fn bench(c: &mut Criterion) {
    let cases = [
        (
            "same_crs",
            grid(32631, 10.0, 600_000.0, 5_000_000.0, CHIP),
            grid(32631, 20.0, 599_000.0, 5_001_000.0, 1000),
        ),
        (
            "utm31_to_32",
            grid(32632, 10.0, 262_000.0, 4_989_000.0, CHIP),
            grid(32631, 10.0, 733_000.0, 4_992_000.0, 1000),
        ),
    ];
    let mut group = c.benchmark_group("warp");
    group.throughput(Throughput::Elements(CHIP * CHIP));
    for (name, dst, src) in cases {
        let map = PixelMap::new(&dst, &src).expect("map");
        for method in Resampling::ALL {
            let (window, data, mask) = source(&map, method);
            let src = Source {
                dtype: DataType::U16,
                window,
                bands: BANDS,
                data: &data,
                mask: &mask,
            };
            let plane = (CHIP * CHIP) as usize;
            let (mut out, mut out_mask) = (vec![0u8; plane * BANDS * 2], vec![0u8; plane]);
            group.bench_function(format!("{method}_{name}"), |b| {
                b.iter(|| {
                    let mut target = Target {
                        data: &mut out,
                        mask: &mut out_mask,
                        fill: 0.0,
                    };
                    resample(black_box(&map), method, &src, &mut target).expect("resample");
                })
            });
        }
    }
    let (dst, src) = (&cases[1].1, &cases[1].2);
    let mut map = PixelMap::default();
    group.bench_function("map_utm31_to_32", |b| {
        b.iter(|| map.set(black_box(dst), src).expect("map"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
