//! [`HeaderCache`]: opened COGs by href, bounded, shared by every read of a loader.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::open::Cog;
use crate::error::Result;

/// A bounded cache of opened COGs, least recently used evicted first. Headers are parsed once per href
/// while they stay in the cache.
#[derive(Debug)]
pub struct HeaderCache {
    capacity: usize,
    inner: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    tick: u64,
    by_href: HashMap<String, (Arc<Cog>, u64)>,
    by_use: BTreeMap<u64, String>,
}

impl HeaderCache {
    /// A cache holding at most `capacity` headers (at least 1).
    pub fn new(capacity: usize) -> HeaderCache {
        HeaderCache {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    /// The opened COG for `href`, from the cache or opened now.
    pub async fn open(&self, href: &str) -> Result<Arc<Cog>> {
        if let Some(cog) = self.lock().get(href) {
            return Ok(cog);
        }
        let cog = Arc::new(Cog::open(href).await?);
        self.lock().insert(href, cog.clone(), self.capacity);
        Ok(cog)
    }

    /// Number of headers held.
    pub fn len(&self) -> usize {
        self.lock().by_href.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for HeaderCache {
    /// A cache of 4096 headers.
    fn default() -> HeaderCache {
        HeaderCache::new(4096)
    }
}

impl Lru {
    fn get(&mut self, href: &str) -> Option<Arc<Cog>> {
        self.tick += 1;
        let (cog, used) = self.by_href.get_mut(href)?;
        self.by_use.remove(used);
        *used = self.tick;
        self.by_use.insert(self.tick, href.to_string());
        Some(cog.clone())
    }

    fn insert(&mut self, href: &str, cog: Arc<Cog>, capacity: usize) {
        self.tick += 1;
        if let Some((_, used)) = self.by_href.insert(href.to_string(), (cog, self.tick)) {
            self.by_use.remove(&used);
        }
        self.by_use.insert(self.tick, href.to_string());
        while self.by_href.len() > capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.by_href.remove(&oldest);
        }
    }
}
