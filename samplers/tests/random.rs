//! RandomSampler: chips inside footprint ∩ roi on the item's grid; uniform over the union; locality.

mod common;

use common::{catalogs, footprint, on_grid, within};
use geochips_samplers::{
    Bounds, ChipSize, Crs, Footprint, Interval, Polygon, RandomOptions, RandomSampler, Weighting,
};
use proptest::prelude::*;

/// Whether every corner of `b` is inside the convex counter-clockwise triangle `t` (an oracle independent of
/// `Polygon`).
fn in_triangle(b: &Bounds, t: &[(f64, f64); 3]) -> bool {
    let corners = [
        (b.minx, b.miny),
        (b.maxx, b.miny),
        (b.maxx, b.maxy),
        (b.minx, b.maxy),
    ];
    corners.iter().all(|&(x, y)| {
        (0..3).all(|i| {
            let (ax, ay) = t[i];
            let (bx, by) = t[(i + 1) % 3];
            (bx - ax) * (y - ay) - (by - ay) * (x - ax) >= -1e-6
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_chips_lie_inside_roi_and_footprint_on_the_item_grid(
        fps in catalogs(),
        chip in 1u32..40,
        seed in any::<u64>(),
        tri in (-300.0f64..300.0, -300.0f64..300.0, 100.0f64..900.0),
        use_roi in any::<bool>(),
    ) {
        let (cx, cy, r) = tri;
        let (x0, y0) = (500_000.0 + cx, 4_000_000.0 + cy);
        let triangle = [(x0 - r, y0 - r), (x0 + r, y0 - r), (x0, y0 + r)];
        let roi = Polygon::new(Crs::from_epsg(32631), triangle.to_vec()).unwrap();
        let opts = RandomOptions {
            size: ChipSize::pixels(chip),
            length: Some(300),
            seed,
            roi: use_roi.then(|| roi.clone()),
            ..RandomOptions::default()
        };
        let sampler = RandomSampler::new(&fps, opts).unwrap();
        let fits = fps.iter().any(|f| f.bounds.width() / f.res.0 >= chip as f64 - 1e-9 && f.bounds.height() / f.res.1 >= chip as f64 - 1e-9);
        if !use_roi {
            prop_assert_eq!(fits, sampler.len() == 300);
        }
        for s in sampler {
            let fp = fps[s.item];
            prop_assert_eq!(s.size, (chip, chip));
            on_grid(&s, &fp);
            prop_assert!(within(&s.bounds, &fp.bounds), "{:?} outside {:?}", s, fp);
            if use_roi && fp.crs == roi.crs() {
                prop_assert!(in_triangle(&s.bounds, &triangle), "{:?} outside the roi", s);
            }
        }
    }

    #[test]
    fn boundless_chips_have_their_centre_inside_and_use_small_items(
        fps in catalogs(),
        chip in 1u32..200,
        seed in any::<u64>(),
    ) {
        let opts = RandomOptions { size: ChipSize::pixels(chip), length: Some(100), seed, boundless: true, ..Default::default() };
        let sampler = RandomSampler::new(&fps, opts).unwrap();
        prop_assert_eq!(sampler.len(), 100);
        for s in sampler {
            let fp = fps[s.item];
            on_grid(&s, &fp);
            let (x, y) = ((s.bounds.minx + s.bounds.maxx) / 2.0, (s.bounds.miny + s.bounds.maxy) / 2.0);
            let b = fp.bounds;
            prop_assert!(b.minx - 1e-6 <= x && x <= b.maxx + 1e-6 && b.miny - 1e-6 <= y && y <= b.maxy + 1e-6);
        }
    }

    #[test]
    fn chips_in_crs_units_take_each_items_resolution(fps in catalogs(), seed in any::<u64>()) {
        let opts = RandomOptions { size: ChipSize::Units(30.0, 30.0), length: Some(50), seed, ..Default::default() };
        for s in RandomSampler::new(&fps, opts).unwrap() {
            let fp = fps[s.item];
            on_grid(&s, &fp);
            prop_assert_eq!(s.size.0, (30.0 / fp.res.0).round().max(1.0) as u32);
        }
    }
}

/// Chip centres of `n` draws from two items overlapping over 40 of their 100 px, counted in three bins:
/// only in A, in both, only in B (by the chip's position relative to both footprints).
fn overlap_counts(fps: &[Footprint], weighting: Weighting, n: u64) -> [f64; 3] {
    let opts = RandomOptions {
        size: ChipSize::pixels(10),
        length: Some(n),
        seed: 42,
        weighting,
        ..Default::default()
    };
    let mut bins = [0.0; 3];
    for s in RandomSampler::new(fps, opts).unwrap() {
        let in_a = within(&s.bounds, &fps[0].bounds);
        let in_b = within(&s.bounds, &fps.last().unwrap().bounds);
        match (in_a, in_b) {
            (true, false) => bins[0] += 1.0,
            (true, true) => bins[1] += 1.0,
            (false, true) => bins[2] += 1.0,
            _ => panic!("chip {s:?} in neither item"),
        }
    }
    bins
}

fn chi_square(observed: &[f64; 3], expected_share: &[f64; 3]) -> f64 {
    let n: f64 = observed.iter().sum();
    observed
        .iter()
        .zip(expected_share)
        .map(|(o, p)| (o - n * p).powi(2) / (n * p))
        .sum()
}

/// χ² with 2 degrees of freedom at p = 0.001.
const CHI2_2DF_P001: f64 = 13.82;

fn two_overlapping_items() -> Vec<Footprint> {
    // A = [0,100]², B = [50,150]×[0,100], 1 m pixels: chip (10 px) x-offsets 0..=90 on each, 141 distinct in
    // the union; 41 of them lie in both items, 50 only in A, 50 only in B.
    vec![
        footprint(0, 32631, 0.0, 100.0, 100, 100, 1.0, 0),
        footprint(1, 32631, 50.0, 100.0, 100, 100, 1.0, 0),
    ]
}

#[test]
fn uniform_weighting_does_not_oversample_the_overlap() {
    let obs = overlap_counts(&two_overlapping_items(), Weighting::Uniform, 60_000);
    let uniform = [50.0 / 141.0, 41.0 / 141.0, 50.0 / 141.0];
    let chi2 = chi_square(&obs, &uniform);
    assert!(chi2 < CHI2_2DF_P001, "χ² = {chi2} for {obs:?}");
}

#[test]
fn item_area_weighting_draws_the_overlap_once_per_item() {
    let obs = overlap_counts(&two_overlapping_items(), Weighting::ItemArea, 60_000);
    let uniform = [50.0 / 141.0, 41.0 / 141.0, 50.0 / 141.0];
    let per_item = [50.0 / 182.0, 82.0 / 182.0, 50.0 / 182.0];
    assert!(chi_square(&obs, &uniform) > 1000.0, "{obs:?}");
    assert!(chi_square(&obs, &per_item) < CHI2_2DF_P001, "{obs:?}");
}

#[test]
fn a_stack_of_time_steps_is_one_place_and_its_items_share_it_equally() {
    // A three times (same footprint, three dates), B once: still uniform over the union.
    let mut fps = two_overlapping_items();
    let b = fps.pop().unwrap();
    fps.push(Footprint {
        item: 1,
        interval: Interval::instant(1),
        ..fps[0]
    });
    fps.push(Footprint {
        item: 2,
        interval: Interval::instant(2),
        ..fps[0]
    });
    fps.push(Footprint { item: 3, ..b });
    let obs = overlap_counts(&fps, Weighting::Uniform, 60_000);
    let chi2 = chi_square(&obs, &[50.0 / 141.0, 41.0 / 141.0, 50.0 / 141.0]);
    assert!(chi2 < CHI2_2DF_P001, "χ² = {chi2} for {obs:?}");
    let opts = RandomOptions {
        size: ChipSize::pixels(10),
        length: Some(30_000),
        seed: 7,
        ..Default::default()
    };
    let mut per_item = [0.0; 4];
    for s in RandomSampler::new(&fps, opts).unwrap() {
        per_item[s.item] += 1.0;
    }
    let a: f64 = per_item[..3].iter().sum();
    let chi2 = chi_square(&[per_item[0], per_item[1], per_item[2]], &[1.0 / 3.0; 3]);
    assert!(chi2 < CHI2_2DF_P001, "A's dates {per_item:?} (of {a})");
}

#[test]
fn items_smaller_than_a_chip_are_skipped_and_a_catalog_of_them_is_empty() {
    let fps = vec![
        footprint(0, 32631, 0.0, 100.0, 10, 10, 1.0, 0),
        footprint(1, 32631, 200.0, 100.0, 50, 50, 1.0, 0),
    ];
    let opts = RandomOptions {
        size: ChipSize::pixels(20),
        length: Some(200),
        ..Default::default()
    };
    assert!(
        RandomSampler::new(&fps, opts.clone())
            .unwrap()
            .all(|s| s.item == 1)
    );
    let empty = RandomSampler::new(&fps[..1], opts).unwrap();
    assert_eq!(empty.len(), 0);
}

#[test]
fn the_default_length_is_the_area_over_the_chip_area() {
    let fps = vec![
        footprint(0, 32631, 0.0, 100.0, 100, 100, 1.0, 0),
        footprint(1, 32632, 0.0, 100.0, 200, 50, 1.0, 0),
    ];
    let s = RandomSampler::new(
        &fps,
        RandomOptions {
            size: ChipSize::pixels(10),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.len(), 100 + 100);
}

#[test]
fn toi_leaves_out_items_of_other_times() {
    let fps = vec![
        footprint(0, 32631, 0.0, 100.0, 100, 100, 1.0, 10),
        footprint(1, 32631, 0.0, 100.0, 100, 100, 1.0, 20),
    ];
    let opts = RandomOptions {
        size: ChipSize::pixels(10),
        length: Some(100),
        toi: Interval::new(15, 25),
        ..Default::default()
    };
    assert!(
        RandomSampler::new(&fps, opts)
            .unwrap()
            .all(|s| s.item == 1 && s.interval == Interval::instant(20))
    );
}

#[test]
fn chips_of_one_neighbourhood_share_an_item_and_a_window_of_twice_the_chip() {
    let fps: Vec<Footprint> = (0..9)
        .map(|i| {
            footprint(
                i,
                32631,
                (i % 3) as f64 * 900.0,
                3000.0 - (i / 3) as f64 * 900.0,
                1000,
                1000,
                1.0,
                0,
            )
        })
        .collect();
    let k = 8;
    let opts = RandomOptions {
        size: ChipSize::pixels(64),
        length: Some(800),
        chips_per_neighbourhood: k,
        seed: 3,
        ..Default::default()
    };
    let slices: Vec<_> = RandomSampler::new(&fps, opts).unwrap().collect();
    let mut distinct_places = 0;
    for group in slices.chunks(k as usize) {
        assert!(group.iter().all(|s| s.item == group[0].item));
        let minx = group
            .iter()
            .map(|s| s.bounds.minx)
            .fold(f64::INFINITY, f64::min);
        let maxx = group
            .iter()
            .map(|s| s.bounds.maxx)
            .fold(f64::NEG_INFINITY, f64::max);
        let miny = group
            .iter()
            .map(|s| s.bounds.miny)
            .fold(f64::INFINITY, f64::min);
        let maxy = group
            .iter()
            .map(|s| s.bounds.maxy)
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(
            maxx - minx <= 128.0 + 1e-9 && maxy - miny <= 128.0 + 1e-9,
            "{group:?}"
        );
        for s in group {
            assert!(within(&s.bounds, &fps[s.item].bounds));
            on_grid(s, &fps[s.item]);
        }
        distinct_places += usize::from(group.iter().any(|s| s.bounds != group[0].bounds));
    }
    assert!(distinct_places > 90, "chips within a neighbourhood vary");
}

#[test]
fn an_roi_in_another_crs_leaves_footprints_unconstrained() {
    let fps = vec![footprint(0, 32632, 0.0, 100.0, 100, 100, 1.0, 0)];
    let roi = Polygon::rectangle(Crs::from_epsg(32631), Bounds::new(0.0, 0.0, 20.0, 20.0)).unwrap();
    let opts = RandomOptions {
        size: ChipSize::pixels(10),
        length: Some(500),
        roi: Some(roi),
        ..Default::default()
    };
    let far = RandomSampler::new(&fps, opts)
        .unwrap()
        .filter(|s| s.bounds.minx > 30.0)
        .count();
    assert!(far > 300);
}

#[test]
fn bad_options_are_errors_not_panics() {
    let fps = two_overlapping_items();
    assert!(
        RandomSampler::new(
            &fps,
            RandomOptions {
                size: ChipSize::pixels(0),
                ..Default::default()
            }
        )
        .is_err()
    );
    assert!(
        RandomSampler::new(
            &fps,
            RandomOptions {
                chips_per_neighbourhood: 0,
                ..Default::default()
            }
        )
        .is_err()
    );
    let mut bad = fps.clone();
    bad[0].res = (0.0, 1.0);
    assert!(RandomSampler::new(&bad, RandomOptions::default()).is_err());
}

#[test]
fn any_slice_can_be_drawn_directly_by_its_id() {
    let fps = two_overlapping_items();
    let opts = RandomOptions {
        size: ChipSize::pixels(10),
        length: Some(50),
        seed: 11,
        chips_per_neighbourhood: 4,
        ..Default::default()
    };
    let mut s = RandomSampler::new(&fps, opts).unwrap();
    let all: Vec<_> = s.by_ref().collect();
    for id in [49u64, 0, 17, 18, 3] {
        assert_eq!(s.slice(id), Some(all[id as usize]));
    }
    assert_eq!(s.slice(50), None);
}

#[test]
fn where_three_items_overlap_each_place_is_still_drawn_equally_often() {
    // A = [0,100]², B shifted 50 east, C shifted 50 north (and 30 east): places held by 1, 2 or 3 items.
    let fps = vec![
        footprint(0, 32631, 0.0, 100.0, 100, 100, 1.0, 0),
        footprint(1, 32631, 50.0, 100.0, 100, 100, 1.0, 0),
        footprint(2, 32631, 30.0, 150.0, 100, 100, 1.0, 0),
    ];
    let chip = 10u32;
    // Oracle: every chip position of the union (top-left corners on the shared 1 m grid), by how many items
    // hold it.
    let holders = |x: f64, y: f64| {
        let b = Bounds::new(x, y - chip as f64, x + chip as f64, y);
        fps.iter().filter(|f| within(&b, &f.bounds)).count()
    };
    let mut places = [0.0f64; 3];
    for x in 0..=200 {
        for y in 0..=200 {
            let n = holders(x as f64, y as f64);
            if n > 0 {
                places[n - 1] += 1.0;
            }
        }
    }
    let total: f64 = places.iter().sum();
    let expected = places.map(|p| p / total);
    let opts = RandomOptions {
        size: ChipSize::pixels(chip),
        length: Some(60_000),
        seed: 5,
        ..Default::default()
    };
    let mut obs = [0.0; 3];
    for s in RandomSampler::new(&fps, opts).unwrap() {
        obs[holders(s.bounds.minx, s.bounds.maxy) - 1] += 1.0;
    }
    let chi2 = chi_square(&obs, &expected);
    assert!(
        chi2 < CHI2_2DF_P001,
        "χ² = {chi2}: observed {obs:?}, expected shares {expected:?}"
    );
}

#[test]
fn an_roi_keeps_the_draw_uniform_over_the_valid_positions_of_all_items() {
    // Two separate items; a triangular roi covers much of A and a small corner of B.
    let fps = vec![
        footprint(0, 32631, 0.0, 100.0, 100, 100, 1.0, 0),
        footprint(1, 32631, 200.0, 100.0, 100, 100, 1.0, 0),
    ];
    let triangle = [(0.0, 0.0), (260.0, 0.0), (0.0, 100.0)];
    let roi = Polygon::new(Crs::from_epsg(32631), triangle.to_vec()).unwrap();
    let chip = 8u32;
    let mut valid = [0.0f64; 2];
    for (k, fp) in fps.iter().enumerate() {
        for col in 0..=(100 - chip) {
            for row in 0..=(100 - chip) {
                let (x, y) = (fp.bounds.minx + col as f64, fp.bounds.maxy - row as f64);
                valid[k] += f64::from(in_triangle(
                    &Bounds::new(x, y - chip as f64, x + chip as f64, y),
                    &triangle,
                ));
            }
        }
    }
    let opts = RandomOptions {
        size: ChipSize::pixels(chip),
        length: Some(40_000),
        seed: 8,
        roi: Some(roi),
        ..Default::default()
    };
    let mut obs = [0.0; 2];
    for s in RandomSampler::new(&fps, opts).unwrap() {
        assert!(in_triangle(&s.bounds, &triangle));
        obs[s.item] += 1.0;
    }
    let n = obs[0] + obs[1];
    let total = valid[0] + valid[1];
    let chi2: f64 = (0..2)
        .map(|k| (obs[k] - n * valid[k] / total).powi(2) / (n * valid[k] / total))
        .sum();
    assert!(
        valid[1] > 0.0 && chi2 < 10.83,
        "χ² = {chi2}: observed {obs:?}, valid positions {valid:?}"
    );
}
