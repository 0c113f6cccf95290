//! The bounded batch-buffer ring: N reusable, page-aligned slots, pinned for CUDA when a driver is present.
//!
//! A [`Ring`] allocates its slots once; each holds a batch image of `image_bytes` and a validity mask of
//! `mask_bytes`, both starting on a page boundary. A producer [`acquire`](Ring::acquire)s a [`Slot`]
//! (exclusive, writable), fills it and [`freeze`](Slot::freeze)s it into a [`Lease`] (read-only, cheap to
//! clone, `Send + Sync`). The slot returns to the ring only when the last clone of its Lease drops — from any
//! thread, a DLPack deleter's included — so a consumer's view is never overwritten: while every slot is
//! leased the producer waits ([`acquire`](Ring::acquire), [`acquire_async`](Ring::acquire_async)) or is told
//! so ([`try_acquire`](Ring::try_acquire)). Nothing allocates per batch.
//!
//! ```
//! use geochips::ring::Ring;
//! let ring = Ring::new(2, 1024, 256);
//! let mut slot = ring.acquire();
//! let (image, mask) = slot.parts_mut();
//! image.fill(7);
//! mask.fill(1);
//! let lease = slot.freeze();
//! let view = lease.clone();
//! assert_eq!(ring.free(), 1);
//! drop(lease);
//! assert_eq!(view.image()[0], 7);
//! drop(view); // the last clone: the slot goes back
//! assert_eq!(ring.free(), 2);
//! ```
//!
//! **Pinning.** When `libcuda.so.1` can be loaded (at ring creation, never at import), every slot is
//! registered with `cuMemHostRegister` (portable, device 0's primary context) so host→device copies run at
//! full DMA speed; it is unregistered when the ring's storage drops. Any failure leaves ordinary memory and
//! [`Ring::pin_status`] says why. `GEOCHIPS_NO_PIN=1` turns pinning off. A ring must be created in the
//! process that uses it (after any fork).

mod alloc;
mod cuda;

use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use alloc::PageBuf;

/// Environment variable that disables CUDA pinning when set to anything but `""` or `"0"`.
pub const NO_PIN_ENV: &str = "GEOCHIPS_NO_PIN";

/// Everything a ring's handles share; freed (and unregistered) when the last Ring, Slot or Lease drops.
struct Storage {
    /// Registration of `bufs` with CUDA; declared before `bufs` so it drops (unregisters) first.
    pinning: Option<cuda::Pinning>,
    bufs: Vec<PageBuf>,
    /// Per slot: live Lease clones (0 while free or held as a Slot).
    refs: Vec<AtomicUsize>,
    /// Indices of free slots; capacity = slots, so pushing never allocates.
    free: Mutex<Vec<usize>>,
    /// Wakes blocking acquirers.
    cond: Condvar,
    /// Wakes async acquirers.
    notify: tokio::sync::Notify,
    pin_status: String,
    image_bytes: usize,
    mask_bytes: usize,
}

impl Storage {
    fn lock(&self) -> MutexGuard<'_, Vec<usize>> {
        // The free list is a Vec of indices, consistent after every push/pop: a poisoned lock (a panic in
        // another thread while holding it, which our code never does) is safe to keep using.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `index` back on the free list and wakes one blocking and every async waiter.
    fn release(&self, index: usize) {
        {
            let mut free = self.lock();
            debug_assert!(!free.contains(&index), "ring slot {index} released twice");
            free.push(index);
        }
        self.cond.notify_one();
        // Async waiters register (`enable`) before re-checking the free list, so waking all registered ones
        // cannot lose a wakeup, even if one of them is cancelled after being woken.
        self.notify.notify_waiters();
    }
}

/// The bounded batch-buffer ring. Cloning gives another handle to the same slots.
#[derive(Clone)]
pub struct Ring {
    inner: Arc<Storage>,
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("slots", &self.slots())
            .field("free", &self.free())
            .field("image_bytes", &self.inner.image_bytes)
            .field("mask_bytes", &self.inner.mask_bytes)
            .field("pinned", &self.pinned())
            .finish()
    }
}

fn pin_disabled_by_env() -> bool {
    std::env::var_os(NO_PIN_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

impl Ring {
    /// A ring of `slots` slots, each with an image region of `image_bytes` and a mask region of `mask_bytes`
    /// (0 allowed), page-aligned and zeroed. Registers them with CUDA when a driver is present and
    /// `GEOCHIPS_NO_PIN` is not set; otherwise, or on any CUDA failure, the ring is ordinary memory.
    ///
    /// # Panics
    /// If `slots` is 0 or the sizes overflow `isize`.
    pub fn new(slots: usize, image_bytes: usize, mask_bytes: usize) -> Ring {
        Ring::with_pinning(slots, image_bytes, mask_bytes, true)
    }

    /// Like [`Ring::new`], but `pin: false` skips CUDA entirely (no driver is loaded).
    ///
    /// # Panics
    /// If `slots` is 0 or the sizes overflow `isize`.
    pub fn with_pinning(slots: usize, image_bytes: usize, mask_bytes: usize, pin: bool) -> Ring {
        assert!(slots > 0, "a ring needs at least one slot");
        let bufs: Vec<PageBuf> = (0..slots)
            .map(|_| PageBuf::new(image_bytes, mask_bytes))
            .collect();
        let (pinning, pin_status) = if !pin {
            (None, "not pinned: pinning not requested".to_owned())
        } else if pin_disabled_by_env() {
            (None, format!("not pinned: {NO_PIN_ENV} is set"))
        } else {
            let regions: Vec<(*mut u8, usize)> =
                bufs.iter().map(|b| (b.base(), b.total_bytes())).collect();
            // SAFETY: each region is a whole live PageBuf allocation; the Pinning is stored in the same
            // Storage as `bufs`, declared before it, so it is dropped (unregistering) before they are freed.
            match unsafe { cuda::register(&regions) } {
                Ok(p) => {
                    let total: usize = regions.iter().map(|r| r.1).sum();
                    let status = format!(
                        "pinned: {slots} slots, {total} bytes registered with cuMemHostRegister (portable, device 0)"
                    );
                    (Some(p), status)
                }
                Err(why) => (None, format!("not pinned: {why}")),
            }
        };
        let mut free = Vec::with_capacity(slots);
        free.extend((0..slots).rev()); // pop() hands out slot 0 first
        Ring {
            inner: Arc::new(Storage {
                pinning,
                refs: (0..slots).map(|_| AtomicUsize::new(0)).collect(),
                bufs,
                free: Mutex::new(free),
                cond: Condvar::new(),
                notify: tokio::sync::Notify::new(),
                pin_status,
                image_bytes,
                mask_bytes,
            }),
        }
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.inner.bufs.len()
    }

    /// Slots not leased right now (neither held as a [`Slot`] nor by a live [`Lease`]).
    pub fn free(&self) -> usize {
        self.inner.lock().len()
    }

    /// Bytes in each slot's image region.
    pub fn image_bytes(&self) -> usize {
        self.inner.image_bytes
    }

    /// Bytes in each slot's mask region.
    pub fn mask_bytes(&self) -> usize {
        self.inner.mask_bytes
    }

    /// True only if every slot was registered with `cuMemHostRegister`.
    pub fn pinned(&self) -> bool {
        self.inner.pinning.is_some()
    }

    /// Why the ring is (or is not) pinned, for diagnostics: e.g. `"not pinned: no CUDA driver (...)"`,
    /// `"not pinned: cuInit failed: CUDA_ERROR_NO_DEVICE (100)"`, `"pinned: 4 slots, ... bytes ..."`.
    pub fn pin_status(&self) -> &str {
        &self.inner.pin_status
    }

    fn slot(&self, index: usize) -> Slot {
        Slot {
            ring: Arc::clone(&self.inner),
            index,
        }
    }

    /// Waits (on a condition variable, no spinning) until a slot is free and takes it.
    pub fn acquire(&self) -> Slot {
        let mut free = self.inner.lock();
        loop {
            if let Some(i) = free.pop() {
                return self.slot(i);
            }
            free = self
                .inner
                .cond
                .wait(free)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Takes a free slot if there is one now.
    pub fn try_acquire(&self) -> Option<Slot> {
        let i = self.inner.lock().pop()?;
        Some(self.slot(i))
    }

    /// Waits at most `timeout` for a free slot.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<Slot> {
        let deadline = Instant::now().checked_add(timeout);
        let mut free = self.inner.lock();
        loop {
            if let Some(i) = free.pop() {
                return Some(self.slot(i));
            }
            let left = match deadline {
                Some(d) => d
                    .checked_duration_since(Instant::now())
                    .filter(|l| !l.is_zero())?,
                None => Duration::from_secs(3600), // "forever": wait in long steps
            };
            free = self
                .inner
                .cond
                .wait_timeout(free, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits for a free slot without blocking the async runtime's thread (for a tokio producer).
    /// Cancel-safe: dropping the future takes no slot.
    pub async fn acquire_async(&self) -> Slot {
        loop {
            let notified = self.inner.notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Register as a waiter before looking, so a release between the look and the await still wakes us.
            notified.as_mut().enable();
            if let Some(slot) = self.try_acquire() {
                return slot;
            }
            notified.await;
        }
    }
}

/// A slot held for writing: exclusive access to its image and mask until it is frozen or dropped.
/// Dropping it without freezing returns it to the ring.
pub struct Slot {
    ring: Arc<Storage>,
    index: usize,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").field("index", &self.index).finish()
    }
}

impl Slot {
    /// The slot's index in its ring, `0..slots`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The image region, writable.
    pub fn image_mut(&mut self) -> &mut [u8] {
        self.parts_mut().0
    }

    /// The mask region, writable.
    pub fn mask_mut(&mut self) -> &mut [u8] {
        self.parts_mut().1
    }

    /// The image and mask regions at once.
    pub fn parts_mut(&mut self) -> (&mut [u8], &mut [u8]) {
        let buf = &self.ring.bufs[self.index];
        let (ip, il) = buf.image();
        let (mp, ml) = buf.mask();
        // SAFETY: this Slot is the only handle to slot `index`: the index was popped off the free list, which
        // holds each index at most once, and it goes back only when this Slot drops or its last Lease drops,
        // so no Lease or other Slot can view these bytes now. The regions lie inside the live allocation (kept
        // alive by our Arc), are disjoint (the mask starts after the image's pages), and the borrows are tied
        // to `&mut self`, so they cannot outlive the Slot or alias each other.
        unsafe {
            (
                std::slice::from_raw_parts_mut(ip, il),
                std::slice::from_raw_parts_mut(mp, ml),
            )
        }
    }

    /// Done writing: turns the slot into a read-only, shareable [`Lease`].
    pub fn freeze(self) -> Lease {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so moving the Arc out of it transfers ownership
        // (no double drop, no leak).
        let ring = unsafe { std::ptr::read(&this.ring) };
        // Relaxed suffices: the Lease is handed to other threads only through synchronising operations.
        ring.refs[this.index].store(1, Ordering::Relaxed);
        Lease {
            ring,
            index: this.index,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.ring.release(self.index);
    }
}

/// A filled slot, read-only and shareable. Clones are cheap (two atomic increments, no allocation); the slot
/// goes back to the ring when the last clone drops, on whatever thread that is.
pub struct Lease {
    ring: Arc<Storage>,
    index: usize,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("index", &self.index)
            .field("refs", &self.ring.refs[self.index].load(Ordering::Relaxed))
            .finish()
    }
}

impl Lease {
    /// The slot's index in its ring, `0..slots`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The image region.
    pub fn image(&self) -> &[u8] {
        let (p, l) = self.ring.bufs[self.index].image();
        // SAFETY: while any Lease of slot `index` lives, its refcount is > 0, so the slot is not on the free
        // list and nobody can hold a Slot (a writer) for it; all views are shared. The memory is kept alive
        // by our Arc, and the Slot's writes happen-before this read (the Lease reached us through whatever
        // synchronisation moved it between threads).
        unsafe { std::slice::from_raw_parts(p, l) }
    }

    /// The mask region.
    pub fn mask(&self) -> &[u8] {
        let (p, l) = self.ring.bufs[self.index].mask();
        // SAFETY: as in `image`: shared, read-only, alive while this Lease is.
        unsafe { std::slice::from_raw_parts(p, l) }
    }

    /// True if the slot's memory is registered with CUDA (page-locked).
    pub fn pinned(&self) -> bool {
        self.ring.pinning.is_some()
    }
}

impl Clone for Lease {
    fn clone(&self) -> Lease {
        // Relaxed, as in Arc::clone: a new reference can only be made from an existing one.
        let old = self.ring.refs[self.index].fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            std::process::abort(); // a refcount overflow would free a slot still in use
        }
        Lease {
            ring: Arc::clone(&self.ring),
            index: self.index,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Release, then Acquire on the last drop (as in Arc): every clone's reads happen-before the slot is
        // handed to a writer again.
        if self.ring.refs[self.index].fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        self.ring.release(self.index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_are_send_sync_and_small() {
        assert_send_sync::<Ring>();
        assert_send_sync::<Slot>();
        assert_send_sync::<Lease>();
        assert_eq!(size_of::<Lease>(), 2 * size_of::<usize>());
    }

    #[test]
    fn refcount_follows_clones() {
        let ring = Ring::with_pinning(1, 16, 0, false);
        let lease = ring.acquire().freeze();
        let i = lease.index();
        assert_eq!(ring.inner.refs[i].load(Ordering::Relaxed), 1);
        let c = lease.clone();
        assert_eq!(ring.inner.refs[i].load(Ordering::Relaxed), 2);
        drop(lease);
        assert_eq!(ring.inner.refs[i].load(Ordering::Relaxed), 1);
        assert_eq!(ring.free(), 0);
        drop(c);
        assert_eq!(ring.inner.refs[i].load(Ordering::Relaxed), 0);
        assert_eq!(ring.free(), 1);
    }

    #[test]
    fn storage_outlives_ring_handle() {
        let ring = Ring::with_pinning(2, 100, 10, false);
        let mut s = ring.acquire();
        s.image_mut().fill(9);
        let lease = s.freeze();
        drop(ring);
        assert!(lease.image().iter().all(|&b| b == 9));
    }

    #[test]
    fn unpinned_status() {
        let ring = Ring::with_pinning(1, 1, 1, false);
        assert!(!ring.pinned());
        assert!(ring.pin_status().starts_with("not pinned"));
    }
}
