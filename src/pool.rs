//! The decode thread pools: created on first use, once per process, so a fork (a DataLoader worker) gets its
//! own pool instead of a copy of threads that do not exist in the child.

use std::sync::{Arc, Mutex};

/// Where a per-process pool is kept: the process that made it, and the pool.
pub(crate) type PoolSlot = Mutex<Option<(u32, Arc<rayon::ThreadPool>)>>;

/// The rayon pool that decodes tiles in this process (one thread per core).
pub(crate) fn decode_pool() -> Arc<rayon::ThreadPool> {
    static POOL: PoolSlot = Mutex::new(None);
    per_process(&POOL, None, "geochips-decode")
}

/// The pool in `slot` if this process made it, else a new one of `threads` threads (`None`: one per core)
/// named `name-N`, kept in `slot`.
pub(crate) fn per_process(
    slot: &PoolSlot,
    threads: Option<usize>,
    name: &str,
) -> Arc<rayon::ThreadPool> {
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    match &*slot {
        Some((owner, pool)) if *owner == pid => pool.clone(),
        _ => {
            let name = name.to_owned();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads.unwrap_or(0))
                .thread_name(move |i| format!("{name}-{i}"))
                .build()
                .expect("a rayon pool can be built");
            let pool = Arc::new(pool);
            // A pool inherited through fork has no threads; leak it rather than run its destructor.
            if let Some((_, old)) = slot.replace((pid, pool.clone())) {
                std::mem::forget(old);
            }
            pool
        }
    }
}
