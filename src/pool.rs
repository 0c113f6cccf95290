//! The decode thread pool: created on first use, once per process, so a fork (a DataLoader worker) gets its
//! own pool instead of a copy of threads that do not exist in the child.

use std::sync::{Arc, Mutex};

/// The rayon pool that decodes tiles in this process.
pub(crate) fn decode_pool() -> Arc<rayon::ThreadPool> {
    static POOL: Mutex<Option<(u32, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    match &*slot {
        Some((owner, pool)) if *owner == pid => pool.clone(),
        _ => {
            let pool = rayon::ThreadPoolBuilder::new()
                .thread_name(|i| format!("geochips-decode-{i}"))
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
