//! Every sampler: determinism under (seed, epoch), sharding (disjoint, equal length, union = the epoch) and
//! resuming from `state()` at any position.

mod common;

use common::catalogs;
use geochips_samplers::{
    ChipSize, Footprint, GeoSlice, GridOptions, GridSampler, Interval, PreChipped, RandomOptions,
    RandomSampler, Sampler, Shard, TimeSeriesOptions, TimeSeriesSampler, Weighting,
};
use proptest::prelude::*;

const KINDS: [&str; 5] = [
    "random",
    "random-local-itemarea",
    "grid",
    "prechipped",
    "timeseries",
];

/// A sampler of kind `kind` over `fps`, and its block size (slices that stay together in a shard).
fn build(kind: &str, fps: &[Footprint], seed: u64) -> (Box<dyn Sampler>, u64) {
    match kind {
        "random" => {
            let o = RandomOptions {
                size: ChipSize::pixels(8),
                length: Some(37),
                seed,
                ..Default::default()
            };
            (Box::new(RandomSampler::new(fps, o).unwrap()), 1)
        }
        "random-local-itemarea" => {
            let o = RandomOptions {
                size: ChipSize::pixels(8),
                length: Some(41),
                seed,
                chips_per_neighbourhood: 3,
                weighting: Weighting::ItemArea,
                boundless: true,
                ..Default::default()
            };
            (Box::new(RandomSampler::new(fps, o).unwrap()), 3)
        }
        "grid" => {
            let o = GridOptions {
                size: ChipSize::pixels(16),
                stride: Some(ChipSize::pixels(11)),
                seed,
                ..Default::default()
            };
            (Box::new(GridSampler::new(fps, o).unwrap()), 1)
        }
        "prechipped" => (
            Box::new(PreChipped::new(fps, Interval::OPEN, seed).unwrap()),
            1,
        ),
        "timeseries" => {
            let o = TimeSeriesOptions {
                size: ChipSize::pixels(4),
                steps: 2,
                length: Some(13),
                seed,
                ..Default::default()
            };
            (Box::new(TimeSeriesSampler::new(fps, o).unwrap()), 2)
        }
        _ => unreachable!(),
    }
}

/// Catalogs with at least one place covered twice at different times (for the time series).
fn stacked_catalogs() -> impl Strategy<Value = Vec<Footprint>> {
    catalogs().prop_map(|mut fps| {
        let first = fps[0];
        fps.push(Footprint {
            item: fps.len(),
            interval: Interval::instant(first.interval.start + 100),
            ..first
        });
        fps
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn shards_are_disjoint_equal_length_and_their_union_is_the_epoch(
        fps in stacked_catalogs(),
        kind in prop::sample::select(KINDS.to_vec()),
        world_size in 1usize..4,
        num_workers in 1usize..4,
        seed in any::<u64>(),
        epoch in 0u64..3,
    ) {
        let (mut whole, block) = build(kind, &fps, seed);
        whole.set_epoch(epoch);
        let all: Vec<GeoSlice> = whole.by_ref().collect();
        let total = all.len() as u64;
        prop_assert!(all.iter().enumerate().all(|(i, s)| s.id == i as u64), "unsharded ids are 0..len");
        let count = (world_size * num_workers) as u64;
        let mut union = vec![0u32; total as usize];
        let mut len = None;
        for rank in 0..world_size {
            for worker in 0..num_workers {
                let shard = Shard { rank, world_size, worker, num_workers };
                let (mut s, _) = build(kind, &fps, seed);
                s.set_epoch(epoch);
                s.set_shard(shard);
                let n = s.epoch_len();
                prop_assert_eq!(*len.get_or_insert(n), n, "every shard has the same length");
                let got: Vec<GeoSlice> = s.collect();
                prop_assert_eq!(got.len() as u64, n);
                // The shard's own ids: whole blocks b with b % count == index, in order; then padding.
                let own: Vec<u64> = (0..total).filter(|x| (x / block) % count == shard.index() as u64).collect();
                prop_assert!(got.len() >= own.len() && got.len() - own.len() <= block as usize);
                prop_assert_eq!(got.iter().take(own.len()).map(|s| s.id).collect::<Vec<_>>(), own.clone());
                for g in &got {
                    prop_assert_eq!(g, &all[g.id as usize], "a shard's slice is the unsharded slice of that id");
                }
                for &x in &own {
                    union[x as usize] += 1;
                }
            }
        }
        prop_assert!(union.iter().all(|&n| n == 1), "shards partition the epoch");
    }

    #[test]
    fn restore_continues_identically_from_any_position(
        fps in stacked_catalogs(),
        kind in prop::sample::select(KINDS.to_vec()),
        seed in any::<u64>(),
        epoch in 0u64..4,
        rank in 0usize..2,
        at in 0.0f64..1.0,
    ) {
        let shard = Shard { rank, world_size: 2, worker: 0, num_workers: 1 };
        let (mut a, _) = build(kind, &fps, seed);
        a.set_epoch(epoch);
        a.set_shard(shard);
        let p = (a.epoch_len() as f64 * at) as usize;
        a.by_ref().take(p).for_each(drop);
        let state = a.state();
        prop_assert_eq!(state.position, p as u64);
        let (mut b, _) = build(kind, &fps, seed ^ 1);
        b.set_epoch(epoch + 1);
        b.next();
        b.restore(&state);
        prop_assert_eq!(b.collect::<Vec<_>>(), a.collect::<Vec<_>>());
    }

    #[test]
    fn the_same_seed_and_epoch_give_the_same_sequence(
        fps in stacked_catalogs(),
        kind in prop::sample::select(KINDS.to_vec()),
        seed in any::<u64>(),
        epoch in 0u64..4,
    ) {
        let (mut a, _) = build(kind, &fps, seed);
        let (mut b, _) = build(kind, &fps, seed);
        a.set_epoch(epoch);
        b.set_epoch(epoch + 1);
        b.by_ref().take(3).for_each(drop);
        b.set_epoch(epoch);
        prop_assert_eq!(a.collect::<Vec<_>>(), b.collect::<Vec<_>>());
    }
}

/// A catalog with room for many chip positions and time steps.
fn roomy() -> Vec<Footprint> {
    (0..6)
        .map(|i| {
            common::footprint(
                i,
                32631,
                (i % 2) as f64 * 300.0,
                1000.0,
                400,
                400,
                1.0,
                i as i64,
            )
        })
        .collect()
}

#[test]
fn another_epoch_or_seed_gives_another_sequence() {
    for kind in ["random", "random-local-itemarea", "timeseries"] {
        let first = |seed, epoch| {
            let (mut s, _) = build(kind, &roomy(), seed);
            s.set_epoch(epoch);
            s.collect::<Vec<_>>()
        };
        assert_eq!(first(1, 0), first(1, 0));
        assert_ne!(first(1, 0), first(1, 1), "{kind}: epochs differ");
        assert_ne!(first(1, 0), first(2, 0), "{kind}: seeds differ");
    }
}
