//! TimeSeriesSampler: T slices at one place, from T items of distinct times, in time order.

mod common;

use common::{footprint, on_grid, within};
use geochips_samplers::{
    ChipSize, Footprint, Interval, Sampler, TimeSeriesOptions, TimeSeriesSampler,
};

/// Tile A at 6 dates, tile B (overlapping A's right half) at 2 other dates, tile C (apart) at 1 date.
fn catalog() -> Vec<Footprint> {
    let mut fps = Vec::new();
    for t in 0..6 {
        fps.push(footprint(
            fps.len(),
            32631,
            0.0,
            200.0,
            200,
            200,
            1.0,
            t * 10,
        ));
    }
    for t in [15, 25] {
        fps.push(footprint(fps.len(), 32631, 100.0, 200.0, 200, 200, 1.0, t));
    }
    fps.push(footprint(fps.len(), 32631, 1000.0, 200.0, 200, 200, 1.0, 3));
    fps
}

#[test]
fn each_sample_is_t_slices_at_one_place_in_increasing_time() {
    let fps = catalog();
    let t = 4;
    let opts = TimeSeriesOptions {
        size: ChipSize::pixels(32),
        steps: t,
        length: Some(500),
        seed: 9,
        ..Default::default()
    };
    let s = TimeSeriesSampler::new(&fps, opts).unwrap();
    assert_eq!(s.epoch_len(), 500 * t as u64);
    let slices: Vec<_> = s.collect();
    let mut reaches_b_only = 0;
    for (g, sample) in slices.chunks(t).enumerate() {
        for (k, s) in sample.iter().enumerate() {
            assert_eq!(s.id, (g * t + k) as u64);
            assert_eq!(
                (s.bounds, s.crs, s.size, s.res),
                (
                    sample[0].bounds,
                    sample[0].crs,
                    sample[0].size,
                    sample[0].res
                )
            );
            assert!(
                within(&s.bounds, &fps[s.item].bounds),
                "slice {s:?} inside its item"
            );
            assert_eq!(s.interval, fps[s.item].interval);
            assert_ne!(s.item, 8, "C is covered once: never part of a series");
        }
        assert!(
            sample
                .windows(2)
                .all(|w| w[0].interval.start < w[1].interval.start),
            "{sample:?}"
        );
        on_grid(&sample[0], &fps[sample[0].item]);
        reaches_b_only += usize::from(sample[0].bounds.maxx > 200.0);
    }
    // B's right half is covered twice only (< T): no chip lies there.
    assert_eq!(reaches_b_only, 0);
}

#[test]
fn fewer_than_t_distinct_times_anywhere_makes_an_empty_sampler() {
    let fps = catalog();
    let opts = TimeSeriesOptions {
        size: ChipSize::pixels(32),
        steps: 9,
        ..Default::default()
    };
    assert_eq!(TimeSeriesSampler::new(&fps, opts).unwrap().epoch_len(), 0);
    let opts = TimeSeriesOptions {
        steps: 0,
        ..Default::default()
    };
    assert!(TimeSeriesSampler::new(&fps, opts).is_err());
}

#[test]
fn runs_of_t_steps_start_at_every_possible_date() {
    // Inside A only, 6 dates and T = 4: runs start at dates 0, 10 or 20.
    let fps: Vec<Footprint> = catalog().into_iter().take(6).collect();
    let opts = TimeSeriesOptions {
        size: ChipSize::pixels(32),
        steps: 4,
        length: Some(300),
        toi: Interval::OPEN,
        ..Default::default()
    };
    let mut starts = [0; 3];
    for sample in TimeSeriesSampler::new(&fps, opts)
        .unwrap()
        .collect::<Vec<_>>()
        .chunks(4)
    {
        starts[(sample[0].interval.start / 10) as usize] += 1;
    }
    assert!(starts.iter().all(|&n| n > 60), "{starts:?}");
}
