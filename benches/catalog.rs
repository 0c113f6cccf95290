//! Catalog queries: a random bbox over 10,000 synthetic items, in EPSG:4326 (the R-tree alone) and in a
//! UTM zone (the box transformed first, 21 points per edge).
//!
//! `cargo bench --bench catalog`

use criterion::{Criterion, criterion_group, criterion_main};
use geochips::catalog::{Asset, Catalog, Item};
use geochips::crs::densify;
use geochips::{Bounds, Crs, DataType, GeoTransform, Interval};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// 10,000 items of 0.1° × 0.1° scattered over Europe, each a year-long interval somewhere in 2015..2025.
fn synthetic(n: usize) -> Catalog {
    let mut rng = StdRng::seed_from_u64(0);
    let wgs84 = Crs::from_epsg(4326);
    let items = (0..n)
        .map(|i| {
            let (x, y) = (rng.random_range(-10.0..30.0), rng.random_range(35.0..60.0));
            let bounds = Bounds::new(x, y, x + 0.1, y + 0.1);
            let start = rng.random_range(1_420_070_400_000_000i64..1_735_689_600_000_000);
            Item {
                id: format!("item{i}"),
                interval: Interval::new(start, start + 31_536_000_000_000),
                assets: vec![Asset {
                    key: "image".into(),
                    href: format!("s3://bucket/item{i}.tif"),
                    bands: vec!["b1".into()],
                    dtype: DataType::U16,
                    nodata: None,
                    width: 1000,
                    height: 1000,
                    transform: GeoTransform::new(1e-4, 0.0, x, 0.0, -1e-4, y + 0.1),
                    crs: wgs84,
                    tile: (512, 512),
                    overviews: 2,
                }],
                crs: wgs84,
                bounds,
                footprint: densify(&bounds),
            }
        })
        .collect();
    Catalog::from_items(items)
}

fn query(c: &mut Criterion) {
    let catalog = synthetic(10_000);
    let mut rng = StdRng::seed_from_u64(1);
    let wgs84 = Crs::from_epsg(4326);
    let year = Interval::new(1_600_000_000_000_000, 1_631_536_000_000_000);
    c.bench_function("query_random_bbox_4326_10k_items", |b| {
        b.iter(|| {
            let (x, y) = (rng.random_range(-10.0..30.0), rng.random_range(35.0..60.0));
            catalog
                .query(&Bounds::new(x, y, x + 0.5, y + 0.5), wgs84, &year)
                .unwrap()
        })
    });
    let utm = Crs::from_epsg(32632);
    c.bench_function("query_random_bbox_utm32_10k_items", |b| {
        b.iter(|| {
            let (x, y) = (
                rng.random_range(200_000.0..800_000.0),
                rng.random_range(4_000_000.0..6_500_000.0),
            );
            catalog
                .query(
                    &Bounds::new(x, y, x + 20_000.0, y + 20_000.0),
                    utm,
                    &Interval::OPEN,
                )
                .unwrap()
        })
    });
}

criterion_group!(benches, query);
criterion_main!(benches);
