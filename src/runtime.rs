//! The tokio runtime behind the blocking API (the Python bindings): created on first use, once per process.

use std::future::Future;
use std::sync::{Arc, Mutex};

/// Run `future` to completion on this process's geochips runtime, blocking the calling thread.
///
/// Must not be called from inside an async context.
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

fn runtime() -> Arc<tokio::runtime::Runtime> {
    static RUNTIME: Mutex<Option<(u32, Arc<tokio::runtime::Runtime>)>> = Mutex::new(None);
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    match &*slot {
        Some((owner, rt)) if *owner == pid => rt.clone(),
        _ => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("geochips-io")
                .enable_all()
                .build()
                .expect("a tokio runtime can be built");
            let rt = Arc::new(rt);
            // A runtime inherited through fork has no threads; leak it rather than run its destructor.
            if let Some((_, old)) = slot.replace((pid, rt.clone())) {
                std::mem::forget(old);
            }
            rt
        }
    }
}
