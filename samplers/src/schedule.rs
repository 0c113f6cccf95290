//! Which slice ids a shard draws, and where it stands: the sharding and resuming rules every sampler shares.
//!
//! An epoch is `total` slices numbered `0..total`, cut into blocks of `block` consecutive ids (a neighbourhood
//! group, or the `T` slices of one time series). Block `b` goes to shard `b % count`. Every shard draws the same
//! number of slices — the count of real ids of shard 0, which holds the most — and a shard that runs out of real
//! ids pads with repeats: its id `x >= total` is replaced by `x % total`. Without that, DDP ranks of unequal
//! length would hang at the epoch's last collective.

use crate::{SamplerState, Shard};

/// The ids of one shard of one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    total: u64,
    block: u64,
    index: u64,
    count: u64,
    len: u64,
}

impl Schedule {
    /// The schedule of `shard` over `total` ids cut in blocks of `block` (at least 1).
    ///
    /// A shard with `world_size` or `num_workers` zero counts as one; its index is taken modulo the count.
    pub(crate) fn new(total: u64, block: u64, shard: Shard) -> Schedule {
        let block = block.max(1);
        let count = (shard.world_size.max(1) * shard.num_workers.max(1)) as u64;
        let index = (shard.rank * shard.num_workers.max(1) + shard.worker) as u64 % count;
        let blocks = total.div_ceil(block);
        let len = if blocks == 0 {
            0
        } else {
            let of_shard0 = blocks.div_ceil(count);
            let last = blocks - 1;
            if last.is_multiple_of(count) {
                (of_shard0 - 1) * block + (total - last * block)
            } else {
                of_shard0 * block
            }
        };
        Schedule {
            total,
            block,
            index,
            count,
            len,
        }
    }

    /// Number of slices this shard draws per epoch.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The epoch-wide id of this shard's slice number `position` (`position < len`).
    #[inline]
    pub(crate) fn id(&self, position: u64) -> u64 {
        let block = (position / self.block) * self.count + self.index;
        let id = block * self.block + position % self.block;
        if id >= self.total {
            id % self.total
        } else {
            id
        }
    }
}

/// A sampler's seed, epoch, shard and position, with the rules that move them.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    pub(crate) seed: u64,
    pub(crate) epoch: u64,
    pub(crate) shard: Shard,
    pub(crate) position: u64,
    total: u64,
    block: u64,
    schedule: Schedule,
}

impl Progress {
    /// Epoch 0 of the whole (unsharded) stream of `total` ids in blocks of `block`.
    pub(crate) fn new(seed: u64, total: u64, block: u64) -> Progress {
        Progress {
            seed,
            epoch: 0,
            shard: Shard::WHOLE,
            position: 0,
            total,
            block,
            schedule: Schedule::new(total, block, Shard::WHOLE),
        }
    }

    /// The next id to draw, advancing; `None` at the end of the shard's epoch.
    #[inline]
    pub(crate) fn next_id(&mut self) -> Option<u64> {
        if self.position >= self.schedule.len() {
            return None;
        }
        let id = self.schedule.id(self.position);
        self.position += 1;
        Some(id)
    }

    /// Slices left in this shard's epoch.
    pub(crate) fn remaining(&self) -> u64 {
        self.schedule.len().saturating_sub(self.position)
    }

    /// Slices in the whole (unsharded) epoch.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Slices in this shard's epoch.
    pub(crate) fn len(&self) -> u64 {
        self.schedule.len()
    }

    /// Restart at epoch `epoch`.
    pub(crate) fn set_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
        self.position = 0;
    }

    /// Draw `shard` from the beginning of the current epoch.
    pub(crate) fn set_shard(&mut self, shard: Shard) {
        self.shard = shard;
        self.schedule = Schedule::new(self.total, self.block, shard);
        self.position = 0;
    }

    /// Where we stand.
    pub(crate) fn state(&self) -> SamplerState {
        SamplerState {
            seed: self.seed,
            epoch: self.epoch,
            shard: self.shard,
            position: self.position,
        }
    }

    /// Go back to `state`.
    pub(crate) fn restore(&mut self, state: &SamplerState) {
        self.seed = state.seed;
        self.epoch = state.epoch;
        self.set_shard(state.shard);
        self.position = state.position.min(self.schedule.len());
    }
}

/// The `Iterator` and [`Sampler`](crate::Sampler) impls every sampler shares. The sampler type has a
/// `progress: Progress` field and two inherent methods: `slice_at(&mut self, id: u64) -> GeoSlice` (slice `id`
/// of the current epoch) and `rekey(&mut self)` (run after the epoch or the position changes).
macro_rules! sampler_impls {
    ($sampler:ty) => {
        impl Iterator for $sampler {
            type Item = $crate::GeoSlice;

            fn next(&mut self) -> Option<$crate::GeoSlice> {
                let id = self.progress.next_id()?;
                Some(self.slice_at(id))
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                let n = self.progress.remaining() as usize;
                (n, Some(n))
            }
        }

        impl ExactSizeIterator for $sampler {}

        impl $crate::Sampler for $sampler {
            fn set_epoch(&mut self, epoch: u64) {
                self.progress.set_epoch(epoch);
                self.rekey();
            }

            fn set_shard(&mut self, shard: $crate::Shard) {
                self.progress.set_shard(shard);
            }

            fn epoch_len(&self) -> u64 {
                self.progress.len()
            }

            fn state(&self) -> $crate::SamplerState {
                self.progress.state()
            }

            fn restore(&mut self, state: &$crate::SamplerState) {
                self.progress.restore(state);
                self.rekey();
            }
        }
    };
}
pub(crate) use sampler_impls;

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(index: usize, count: usize) -> Shard {
        Shard {
            rank: index,
            world_size: count,
            worker: 0,
            num_workers: 1,
        }
    }

    #[test]
    fn shards_have_equal_length_and_their_union_is_every_id() {
        for total in 0..40u64 {
            for block in 1..5u64 {
                for count in 1..6usize {
                    let s: Vec<Schedule> = (0..count)
                        .map(|i| Schedule::new(total, block, shard(i, count)))
                        .collect();
                    let len = s[0].len();
                    assert!(s.iter().all(|x| x.len() == len));
                    let mut ids: Vec<u64> =
                        s.iter().flat_map(|x| (0..len).map(|p| x.id(p))).collect();
                    assert!(ids.iter().all(|&i| i < total));
                    ids.sort();
                    ids.dedup();
                    assert_eq!(
                        ids,
                        (0..total).collect::<Vec<_>>(),
                        "total {total} block {block} count {count}"
                    );
                    if count == 1 {
                        assert_eq!(len, total);
                    }
                    // Padding is never more than one block per shard.
                    assert!(len * count as u64 <= total + count as u64 * block);
                }
            }
        }
    }

    #[test]
    fn blocks_stay_whole_within_a_shard() {
        let s = Schedule::new(24, 4, shard(1, 3));
        let ids: Vec<u64> = (0..s.len()).map(|p| s.id(p)).collect();
        assert_eq!(ids, vec![4, 5, 6, 7, 16, 17, 18, 19]);
    }
}
