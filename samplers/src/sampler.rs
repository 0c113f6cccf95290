//! The Sampler trait: a seeded, sharded, resumable stream of GeoSlices.

use crate::GeoSlice;

/// One consumer's share of an epoch: a DDP rank and a DataLoader worker within it.
///
/// Global shard index = `rank * num_workers + worker`, out of `world_size * num_workers` shards.
///
/// Samplers give shard `index` the slices (or whole groups of slices: a neighbourhood, a time series) whose
/// number is `index` modulo the count, and pad short shards with repeats so that every shard has the same length.
/// A shard with `world_size` or `num_workers` zero counts as one; an index past the count wraps around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// This process's rank (0-based).
    pub rank: usize,
    /// Number of ranks.
    pub world_size: usize,
    /// This DataLoader worker (0-based) within the rank.
    pub worker: usize,
    /// Number of workers per rank.
    pub num_workers: usize,
}

impl Shard {
    /// The whole epoch, unsharded.
    pub const WHOLE: Shard = Shard {
        rank: 0,
        world_size: 1,
        worker: 0,
        num_workers: 1,
    };

    /// This shard's index among all shards.
    pub fn index(&self) -> usize {
        self.rank * self.num_workers + self.worker
    }

    /// Number of shards.
    pub fn count(&self) -> usize {
        self.world_size * self.num_workers
    }
}

impl Default for Shard {
    fn default() -> Shard {
        Shard::WHOLE
    }
}

/// Where a sampler stands: enough to resume at the exact next slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SamplerState {
    /// The sampler's seed.
    pub seed: u64,
    /// The current epoch.
    pub epoch: u64,
    /// The shard being drawn.
    pub shard: Shard,
    /// Slices of this shard's epoch already handed out.
    pub position: u64,
}

/// A seeded, sharded, resumable stream of [`GeoSlice`]s. `(seed, epoch, shard)` fixes the sequence.
pub trait Sampler: Iterator<Item = GeoSlice> + Send {
    /// Start epoch `epoch` from its beginning.
    fn set_epoch(&mut self, epoch: u64);

    /// Draw only `shard`'s share of each epoch, from the beginning of the current epoch.
    fn set_shard(&mut self, shard: Shard);

    /// Number of slices in this shard's epoch (equal for every rank).
    fn epoch_len(&self) -> u64;

    /// Where the sampler stands now.
    fn state(&self) -> SamplerState;

    /// Go back to `state`: the next slice is the one that followed when `state` was taken.
    fn restore(&mut self, state: &SamplerState);
}
