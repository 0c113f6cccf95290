//! GridSampler and PreChipped: exact coverage, clamp and pad edges, small items, exact epoch length.

mod common;

use common::{catalogs, footprint, on_grid, within};
use geochips_samplers::{
    ChipSize, Edge, Footprint, GridOptions, GridSampler, Interval, PreChipped, Sampler,
};
use proptest::prelude::*;

/// How many chips of `slices` cover each pixel of `fp` (row-major), and the chips' top-left pixels.
fn coverage(fp: &Footprint, slices: &[geochips_samplers::GeoSlice]) -> (Vec<u32>, Vec<(i64, i64)>) {
    let w = (fp.bounds.width() / fp.res.0).round() as i64;
    let h = (fp.bounds.height() / fp.res.1).round() as i64;
    let mut hits = vec![0u32; (w * h) as usize];
    let mut corners = Vec::new();
    for s in slices.iter().filter(|s| s.item == fp.item) {
        let (c, r) = on_grid(s, fp);
        corners.push((c, r));
        for y in r.max(0)..(r + s.size.1 as i64).min(h) {
            for x in c.max(0)..(c + s.size.0 as i64).min(w) {
                hits[(y * w + x) as usize] += 1;
            }
        }
    }
    (hits, corners)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn with_stride_equal_to_size_every_pixel_is_covered_exactly_once_when_the_size_divides(
        tiles in prop::collection::vec((1u32..6, 1u32..6), 1..5),
        chip in (1u32..9, 1u32..9),
        edge in prop::sample::select(vec![Edge::Clamp, Edge::Pad]),
    ) {
        let fps: Vec<Footprint> = tiles.iter().enumerate()
            .map(|(i, &(nx, ny))| footprint(i, 32631, i as f64 * 10.0, 0.0, nx * chip.0, ny * chip.1, 2.0, 0))
            .collect();
        let opts = GridOptions { size: ChipSize::Pixels(chip.0, chip.1), edge, ..Default::default() };
        let slices: Vec<_> = GridSampler::new(&fps, opts).unwrap().collect();
        let expected: u64 = tiles.iter().map(|&(x, y)| (x * y) as u64).sum();
        prop_assert_eq!(slices.len() as u64, expected);
        for fp in &fps {
            let (hits, _) = coverage(fp, &slices);
            prop_assert!(hits.iter().all(|&n| n == 1));
        }
        // Order: item, row, column.
        for w in slices.windows(2) {
            let key = |s: &geochips_samplers::GeoSlice| (s.item, -s.bounds.maxy, s.bounds.minx);
            prop_assert!(key(&w[0]) < key(&w[1]));
        }
    }

    #[test]
    fn when_the_size_does_not_divide_clamp_stays_inside_and_pad_reaches_past_the_edge(
        fps in catalogs(),
        chip in 1u32..50,
        stride in 1u32..60,
    ) {
        for edge in [Edge::Clamp, Edge::Pad] {
            let opts = GridOptions { size: ChipSize::pixels(chip), stride: Some(ChipSize::pixels(stride)), edge, ..Default::default() };
            let sampler = GridSampler::new(&fps, opts).unwrap();
            let n = sampler.epoch_len();
            let slices: Vec<_> = sampler.collect();
            prop_assert_eq!(slices.len() as u64, n);
            for fp in &fps {
                let w = (fp.bounds.width() / fp.res.0).round() as i64;
                let h = (fp.bounds.height() / fp.res.1).round() as i64;
                let (hits, corners) = coverage(fp, &slices);
                let small = w < chip as i64 || h < chip as i64;
                if stride <= chip {
                    prop_assert!(hits.iter().all(|&k| k >= 1), "every pixel covered ({:?})", edge);
                }
                if stride == chip && edge == Edge::Pad {
                    prop_assert!(hits.iter().all(|&k| k == 1));
                }
                // Chips needed to reach the far edge; padded ones never start past it.
                let count = |e: i64| {
                    let (c, s) = (chip as i64, stride as i64);
                    let n = if e <= c { 1 } else { (e - c + s - 1) / s + 1 };
                    if edge == Edge::Pad && e > c { n.min((e + s - 1) / s) } else { n }
                };
                let (cols, rows) = (count(w), count(h));
                prop_assert_eq!(corners.len() as i64, cols * rows);
                for (c, r) in corners {
                    prop_assert!(c >= 0 && r >= 0);
                    let past = c + chip as i64 > w || r + chip as i64 > h;
                    match edge {
                        Edge::Clamp => prop_assert!(!past || small, "clamped chips stay inside"),
                        Edge::Pad => {
                            prop_assert!(c % stride as i64 == 0 && r % stride as i64 == 0, "pad keeps the stride");
                            prop_assert!(c < w.max(1) && r < h.max(1));
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn an_item_smaller_than_a_chip_gives_one_padded_chip() {
    let fps = vec![footprint(0, 32631, 0.0, 100.0, 10, 30, 1.0, 0)];
    let slices: Vec<_> = GridSampler::new(
        &fps,
        GridOptions {
            size: ChipSize::pixels(16),
            ..Default::default()
        },
    )
    .unwrap()
    .collect();
    // 10 px wide: one column; 30 px high: rows at 0 and 14 (clamped).
    assert_eq!(slices.len(), 2);
    assert_eq!(on_grid(&slices[0], &fps[0]), (0, 0));
    assert_eq!(on_grid(&slices[1], &fps[0]), (0, 14));
    assert!(slices.iter().all(|s| s.bounds.maxx > fps[0].bounds.maxx));
}

#[test]
fn the_grid_is_the_same_every_epoch_and_toi_filters_items() {
    let fps = vec![
        footprint(0, 32631, 0.0, 100.0, 64, 64, 1.0, 5),
        footprint(1, 32631, 0.0, 100.0, 64, 64, 1.0, 9),
    ];
    let opts = GridOptions {
        size: ChipSize::pixels(16),
        toi: Interval::new(0, 6),
        ..Default::default()
    };
    let mut g = GridSampler::new(&fps, opts).unwrap();
    let a: Vec<_> = g.by_ref().collect();
    g.set_epoch(1);
    let b: Vec<_> = g.collect();
    assert_eq!(a, b);
    assert_eq!(a.len(), 16);
    assert!(
        a.iter()
            .all(|s| s.item == 0 && s.interval == Interval::instant(5))
    );
}

proptest! {
    #[test]
    fn prechipped_gives_each_item_whole_at_its_resolution(fps in catalogs()) {
        let slices: Vec<_> = PreChipped::new(&fps, Interval::OPEN, 0).unwrap().collect();
        prop_assert_eq!(slices.len(), fps.len());
        for (s, fp) in slices.iter().zip(&fps) {
            prop_assert_eq!(on_grid(s, fp), (0, 0));
            prop_assert!(within(&s.bounds, &fp.bounds) && within(&fp.bounds, &s.bounds));
            prop_assert_eq!(s.interval, fp.interval);
        }
    }
}

#[test]
fn an_roi_limits_the_grid_to_its_box_in_its_crs_only() {
    use geochips_samplers::{Bounds, Crs, Polygon};
    let fps = vec![
        footprint(0, 32631, 0.0, 100.0, 100, 100, 1.0, 0),
        footprint(1, 32632, 0.0, 100.0, 100, 100, 1.0, 0),
    ];
    let roi =
        Polygon::rectangle(Crs::from_epsg(32631), Bounds::new(10.5, 60.0, 50.0, 90.0)).unwrap();
    let opts = GridOptions {
        size: ChipSize::pixels(10),
        roi: Some(roi),
        ..Default::default()
    };
    let mut g = GridSampler::new(&fps, opts).unwrap();
    let slices: Vec<_> = g.by_ref().collect();
    // Item 0: columns 10..50 (snapped outward from 10.5), rows 10..40: 4 × 3 chips; item 1 whole: 100.
    assert_eq!(slices.iter().filter(|s| s.item == 0).count(), 12);
    assert_eq!(slices.iter().filter(|s| s.item == 1).count(), 100);
    for s in slices.iter().filter(|s| s.item == 0) {
        assert!(
            within(&s.bounds, &Bounds::new(10.0, 60.0, 50.0, 90.0)),
            "{s:?}"
        );
    }
    assert_eq!(g.slice(111), Some(slices[111]));
    assert_eq!(g.slice(112), None);
}
