//! Draw rate of the samplers over a 10,000-item catalog: two UTM zones of 100 × 50 Sentinel-2-like tiles
//! (10,980 px of 10 m, 100 km apart, so neighbours overlap by 9.8 km).
//!
//! `cargo bench -p geochips-samplers`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geochips_samplers::{
    Bounds, ChipSize, Crs, Footprint, GridOptions, GridSampler, Interval, RandomOptions,
    RandomSampler, Sampler, Weighting,
};
use std::hint::black_box;

fn catalog() -> Vec<Footprint> {
    let mut fps = Vec::new();
    for epsg in [32631, 32632] {
        for row in 0..50 {
            for col in 0..100 {
                let (x0, y0) = (100_000.0 * col as f64, 9_000_000.0 - 100_000.0 * row as f64);
                fps.push(Footprint {
                    item: fps.len(),
                    crs: Crs::from_epsg(epsg),
                    bounds: Bounds::new(x0, y0 - 109_800.0, x0 + 109_800.0, y0),
                    res: (10.0, 10.0),
                    interval: Interval::instant(fps.len() as i64),
                });
            }
        }
    }
    fps
}

const BATCH: u64 = 10_000;

fn draw(c: &mut Criterion, name: &str, mut sampler: impl Sampler) {
    let mut g = c.benchmark_group("samplers");
    g.throughput(Throughput::Elements(BATCH));
    let mut epoch = 0;
    g.bench_function(name, |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                match sampler.next() {
                    Some(s) => {
                        black_box(s);
                    }
                    None => {
                        epoch += 1;
                        sampler.set_epoch(epoch);
                    }
                }
            }
        })
    });
    g.finish();
}

fn samplers(c: &mut Criterion) {
    let fps = catalog();
    let random = |weighting, k| {
        let o = RandomOptions {
            size: ChipSize::pixels(256),
            length: Some(1 << 40),
            seed: 1,
            weighting,
            chips_per_neighbourhood: k,
            ..Default::default()
        };
        RandomSampler::new(&fps, o).unwrap()
    };
    draw(c, "random_uniform_10k_items", random(Weighting::Uniform, 1));
    draw(
        c,
        "random_item_area_10k_items",
        random(Weighting::ItemArea, 1),
    );
    draw(
        c,
        "random_uniform_8_per_neighbourhood",
        random(Weighting::Uniform, 8),
    );
    // The worst case for uniform weighting: 100 scenes of one place whose bounds all differ (a jitter of up to
    // 3 km), so every place is held by ~100 distinct footprints.
    let jittered: Vec<Footprint> = (0..100)
        .map(|i| {
            let (dx, dy) = ((i * 37 % 300) as f64 * 10.0, (i * 91 % 300) as f64 * 10.0);
            Footprint {
                item: i,
                crs: Crs::from_epsg(32631),
                bounds: Bounds::new(dx, dy, dx + 109_800.0, dy + 109_800.0),
                res: (10.0, 10.0),
                interval: Interval::instant(i as i64),
            }
        })
        .collect();
    let o = RandomOptions {
        size: ChipSize::pixels(256),
        length: Some(1 << 40),
        ..Default::default()
    };
    draw(
        c,
        "random_uniform_100_jittered_scenes",
        RandomSampler::new(&jittered, o).unwrap(),
    );
    let grid = GridSampler::new(
        &fps,
        GridOptions {
            size: ChipSize::pixels(256),
            ..Default::default()
        },
    )
    .unwrap();
    draw(c, "grid_10k_items", grid);
}

criterion_group!(benches, samplers);
criterion_main!(benches);
