//! Catalog queries agree with a brute-force scan: the R-tree finds exactly the items whose EPSG:4326
//! footprint box shares area with the query box and whose interval meets the query interval.

use geochips::catalog::{Asset, Catalog, Item};
use geochips::crs::{bounds_of, densify, transform_bounds};
use geochips::{Bounds, Crs, DataType, GeoTransform, Interval};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn item(i: usize, crs: Crs, bounds: Bounds, interval: Interval) -> Item {
    let wgs84 = Crs::from_epsg(4326);
    let footprint = geochips::crs::transform_ring(crs, wgs84, &bounds).unwrap();
    Item {
        id: format!("item{i}"),
        interval,
        assets: vec![Asset {
            key: "image".into(),
            href: format!("/data/item{i}.tif"),
            bands: vec!["b1".into()],
            dtype: DataType::U8,
            nodata: None,
            width: 100,
            height: 100,
            transform: GeoTransform::new(
                bounds.width() / 100.0,
                0.0,
                bounds.minx,
                0.0,
                -bounds.height() / 100.0,
                bounds.maxy,
            ),
            crs,
            tile: (256, 256),
            overviews: 0,
        }],
        crs,
        bounds,
        footprint,
    }
}

#[test]
fn rtree_query_equals_brute_force_over_random_items_and_boxes() {
    let mut rng = StdRng::seed_from_u64(7);
    let utm = Crs::from_epsg(32631);
    let items: Vec<Item> = (0..2000)
        .map(|i| {
            let (x, y) = (
                rng.random_range(300_000.0..700_000.0),
                rng.random_range(5_000_000.0..5_500_000.0),
            );
            let size = rng.random_range(1_000.0..30_000.0);
            let start = rng.random_range(0..1_000i64);
            let interval = if i % 10 == 0 {
                Interval::OPEN
            } else {
                Interval::new(start, start + rng.random_range(0..100))
            };
            item(i, utm, Bounds::new(x, y, x + size, y + size), interval)
        })
        .collect();
    let boxes: Vec<Bounds> = items.iter().map(|i| bounds_of(&i.footprint)).collect();
    let catalog = Catalog::from_items(items.clone());
    let mut total_hits = 0;
    for _ in 0..300 {
        let (x, y) = (
            rng.random_range(280_000.0..720_000.0),
            rng.random_range(4_980_000.0..5_520_000.0),
        );
        let size = rng.random_range(100.0..50_000.0);
        let query = Bounds::new(x, y, x + size, y + size);
        let start = rng.random_range(-50..1_050i64);
        let interval = Interval::new(start, start + rng.random_range(0..200));
        let hits = catalog.query(&query, utm, &interval).unwrap();
        let query_4326 = transform_bounds(utm, Crs::from_epsg(4326), &query).unwrap();
        let expected: Vec<usize> = (0..items.len())
            .filter(|&i| {
                boxes[i].intersects(&query_4326) && items[i].interval.intersects(&interval)
            })
            .collect();
        assert_eq!(hits, expected, "query {query:?} {interval:?}");
        total_hits += hits.len();
    }
    assert!(
        total_hits > 300,
        "the queries must find items: {total_hits}"
    );
}

#[test]
fn filter_keeps_order_and_reindexes() {
    let wgs84 = Crs::from_epsg(4326);
    let items: Vec<Item> = (0..5)
        .map(|i| {
            let x = i as f64;
            item(i, wgs84, Bounds::new(x, 0.0, x + 0.5, 0.5), Interval::OPEN)
        })
        .collect();
    let catalog = Catalog::from_items(items);
    let odd = catalog.filter(|i| i.id.ends_with(['1', '3']));
    assert_eq!(odd.len(), 2);
    let everywhere = Bounds::new(-10.0, -10.0, 10.0, 10.0);
    assert_eq!(
        odd.query(&everywhere, wgs84, &Interval::OPEN).unwrap(),
        vec![0, 1]
    );
    assert_eq!(odd.items()[1].id, "item3");
    assert_eq!(densify(&everywhere).len(), 81);
}

#[test]
fn footprints_in_a_target_crs_lie_on_one_aligned_grid_inside_each_items_box() {
    let mercator = Crs::from_epsg(3857);
    let zones = [(32631, 720_000.0), (32632, 280_000.0)];
    let items: Vec<Item> = zones
        .iter()
        .enumerate()
        .map(|(i, &(epsg, x))| {
            let b = Bounds::new(x, 4_980_000.0, x + 2_000.0, 4_982_000.0);
            item(i, Crs::from_epsg(epsg), b, Interval::OPEN)
        })
        .collect();
    let catalog = Catalog::from_items(items.clone());
    let res = (15.0, 20.0);
    let footprints = catalog.footprints_in(mercator, res).expect("footprints");
    for (f, item) in footprints.iter().zip(&items) {
        assert_eq!((f.crs, f.res), (mercator, res));
        let outer = transform_bounds(item.crs, mercator, &item.bounds).unwrap();
        let b = f.bounds;
        assert!(
            b.minx >= outer.minx
                && b.maxx <= outer.maxx
                && b.miny >= outer.miny
                && b.maxy <= outer.maxy
        );
        assert!(
            outer.minx + res.0 > b.minx && outer.maxy - res.1 < b.maxy,
            "shrunk by less than a pixel"
        );
        for (v, r) in [
            (b.minx, res.0),
            (b.maxx, res.0),
            (b.miny, res.1),
            (b.maxy, res.1),
        ] {
            assert_eq!((v / r).fract(), 0.0, "{v} on the grid of {r}");
        }
    }
    assert!(catalog.footprints_in(mercator, (0.0, 1.0)).is_err());
    assert!(catalog.footprints_in(mercator, (1e7, 1e7)).is_err());
}
