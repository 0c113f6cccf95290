//! The decoded-tile cache: blocks decoded once and reused by every chip of a loader that needs them, least
//! recently used evicted first, bounded in bytes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::cog::BlockKey;

/// Decoded blocks by key, at most `limit` bytes of them (their allocations: a recycled buffer may hold a
/// partial block in more room than it fills).
#[derive(Debug)]
pub(crate) struct TileCache {
    limit: u64,
    inner: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    tick: u64,
    bytes: u64,
    by_key: HashMap<BlockKey, (Arc<Vec<u8>>, u64)>,
    by_use: BTreeMap<u64, BlockKey>,
}

impl TileCache {
    /// A cache of at most `limit` bytes (0: holds nothing).
    pub(crate) fn new(limit: u64) -> TileCache {
        TileCache {
            limit,
            inner: Mutex::default(),
        }
    }

    /// The decoded block `key`, marked as just used.
    pub(crate) fn get(&self, key: &BlockKey) -> Option<Arc<Vec<u8>>> {
        let mut lru = self.lock();
        let tick = lru.next_tick();
        let (block, used) = lru.by_key.get_mut(key)?;
        let (block, old) = (block.clone(), std::mem::replace(used, tick));
        lru.by_use.remove(&old);
        lru.by_use.insert(tick, *key);
        Some(block)
    }

    /// Keep `block` under `key` (a block decoded down to some row: it replaces a shorter one, never a longer
    /// one), evicting the least recently used blocks beyond the limit; returns the evicted blocks. A block
    /// larger than the whole limit is not kept.
    pub(crate) fn insert(&self, key: BlockKey, block: Arc<Vec<u8>>) -> Vec<Arc<Vec<u8>>> {
        let size = block.capacity() as u64;
        let mut evicted = Vec::new();
        if size > self.limit {
            return evicted;
        }
        let mut lru = self.lock();
        if lru
            .by_key
            .get(&key)
            .is_some_and(|(old, _)| old.len() >= block.len())
        {
            return evicted;
        }
        let tick = lru.next_tick();
        if let Some((old, used)) = lru.by_key.insert(key, (block, tick)) {
            lru.bytes -= old.capacity() as u64;
            lru.by_use.remove(&used);
            evicted.push(old);
        }
        lru.by_use.insert(tick, key);
        lru.bytes += size;
        while lru.bytes > self.limit {
            let Some((_, oldest)) = lru.by_use.pop_first() else {
                break;
            };
            if let Some((gone, _)) = lru.by_key.remove(&oldest) {
                lru.bytes -= gone.capacity() as u64;
                evicted.push(gone);
            }
        }
        evicted
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Lru {
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }
}
