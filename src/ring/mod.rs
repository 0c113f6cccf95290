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
//!
//! **Handing over.** A loader's ring made to hand images over (`LoaderConfig::hand_over_images`) that is not
//! pinned holds each slot's image region in an allocation of its own, laid out as an array of the image's
//! samples (aligned to the sample type, not to a page), so that a framework whose tensors own their memory
//! (candle's CPU tensors are `Vec`s) can take a batch's image out of its slot without a copy
//! (`Batch::into_image`, through the slot's only lease); the slot is given fresh memory when it is next
//! acquired. A pinned ring never hands memory over: its regions stay registered.

mod alloc;
mod cuda;
mod image;

use std::alloc::Layout;
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use alloc::PageBuf;
/// For the training adapters' fresh buffers, as for the ring's own.
#[cfg(any(feature = "burn", feature = "candle"))]
pub(crate) use alloc::huge_pages;
use image::ImageBuf;

/// Environment variable that disables CUDA pinning when set to anything but `""` or `"0"`.
pub const NO_PIN_ENV: &str = "GEOCHIPS_NO_PIN";

/// Everything a ring's handles share; freed (and unregistered) when the last Ring, Slot or Lease drops.
struct Storage {
    /// Registration of `bufs` with CUDA; declared before `bufs` so it drops (unregisters) first.
    pinning: Option<cuda::Pinning>,
    /// Per slot: its image and mask regions, or only its mask region when the ring hands images over.
    bufs: Vec<PageBuf>,
    /// Per slot, its image region when the ring hands images over (see [`Ring::handing_over`]); else empty.
    images: Vec<ImageBuf>,
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
    /// Slot `index`'s image region: pointer and length. The pointer is live (not taken) while the slot has a
    /// handle: a region is taken only through the slot's only Lease, which is consumed doing so, and a slot is
    /// refilled when it is acquired, before its Slot or any Lease reads it.
    fn image(&self, index: usize) -> (*mut u8, usize) {
        match self.images.get(index) {
            Some(image) => image.region(),
            None => self.bufs[index].image(),
        }
    }

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
            .field("hands_over_images", &!self.inner.images.is_empty())
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
        Ring::build(slots, image_bytes, mask_bytes, pin, None)
    }

    /// Like [`Ring::new`], but when the ring is not pinned each slot's image region is an allocation of its
    /// own, of alignment `align` — that of the image's sample type, which must divide `image_bytes` — rather
    /// than part of a page-aligned one: [`Lease::take_image`] can then hand it over as a `Vec` of the samples.
    ///
    /// # Panics
    /// As [`Ring::new`].
    pub(crate) fn handing_over(
        slots: usize,
        image_bytes: usize,
        mask_bytes: usize,
        align: usize,
    ) -> Ring {
        Ring::build(slots, image_bytes, mask_bytes, true, Some(align))
    }

    /// A ring pinned when `pin` asks and CUDA can, else holding its images apart in regions of alignment
    /// `align` when that is given (and fits `image_bytes`: a non-zero multiple of it).
    fn build(
        slots: usize,
        image_bytes: usize,
        mask_bytes: usize,
        pin: bool,
        align: Option<usize>,
    ) -> Ring {
        assert!(slots > 0, "a ring needs at least one slot");
        let unpinned = if !pin {
            Some("pinning not requested".to_owned())
        } else if pin_disabled_by_env() {
            Some(format!("{NO_PIN_ENV} is set"))
        } else {
            cuda::driver().err().map(str::to_owned)
        };
        let apart = align
            .filter(|_| unpinned.is_some())
            .and_then(|align| Layout::from_size_align(image_bytes, align).ok())
            .filter(|layout| layout.size() > 0 && layout.size() % layout.align() == 0);
        let in_page_buf = if apart.is_some() { 0 } else { image_bytes };
        let bufs: Vec<PageBuf> = (0..slots)
            .map(|_| PageBuf::new(in_page_buf, mask_bytes))
            .collect();
        let images = apart.map_or_else(Vec::new, |layout| {
            (0..slots).map(|_| ImageBuf::new(layout)).collect()
        });
        let (pinning, pin_status) = if let Some(why) = unpinned {
            (None, format!("not pinned: {why}"))
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
                images,
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

    /// The Slot of `index`, just popped off the free list (outside the lock: it may allocate).
    fn slot(&self, index: usize) -> Slot {
        if let Some(image) = self.inner.images.get(index) {
            // SAFETY: `index` was just popped off the free list, so the Slot made here is its only handle.
            unsafe { image.refill() };
        }
        Slot {
            ring: Arc::clone(&self.inner),
            index,
        }
    }

    /// Waits (on a condition variable, no spinning) until a slot is free and takes it.
    pub fn acquire(&self) -> Slot {
        let mut free = self.inner.lock();
        let index = loop {
            if let Some(i) = free.pop() {
                break i;
            }
            free = self
                .inner
                .cond
                .wait(free)
                .unwrap_or_else(|e| e.into_inner());
        };
        drop(free);
        self.slot(index)
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
        let index = loop {
            if let Some(i) = free.pop() {
                break i;
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
        };
        drop(free);
        Some(self.slot(index))
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
        let (ip, il) = self.ring.image(self.index);
        let (mp, ml) = self.ring.bufs[self.index].mask();
        // SAFETY: this Slot is the only handle to slot `index`: the index was popped off the free list, which
        // holds each index at most once, and it goes back only when this Slot drops or its last Lease drops,
        // so no Lease or other Slot can view these bytes now. The regions lie inside live allocations (kept
        // alive by our Arc; the image region refilled when the slot was acquired), are disjoint (the mask
        // starts after the image's pages, or the image is an allocation of its own), and the borrows are tied
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
        let (p, l) = self.ring.image(self.index);
        // SAFETY: while any Lease of slot `index` lives, its refcount is > 0, so the slot is not on the free
        // list and nobody can hold a Slot (a writer) for it; all views are shared. The memory is kept alive
        // by our Arc (and is not taken: `take_image` consumes the only Lease), and the Slot's writes
        // happen-before this read (the Lease reached us through whatever synchronisation moved it between
        // threads).
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

    /// Whether [`Lease::take_image`] would hand the slot's image region over as `len` samples of `T`: the
    /// ring hands images over ([`Ring::handing_over`], not pinned), this is the slot's only lease, and the
    /// region is an array of `T` (its layout is `Layout::array::<T>` of its length) holding at least `len`.
    pub(crate) fn hands_over<T>(&self, len: usize) -> bool {
        let Some(image) = self.ring.images.get(self.index) else {
            return false;
        };
        let layout = image.layout();
        let capacity = layout.size().checked_div(size_of::<T>()).unwrap_or(0);
        let is_array = Layout::array::<T>(capacity).is_ok_and(|array| array == layout);
        // Acquire, as in `Arc::get_mut`: every other clone's reads of the region happen-before it changes
        // hands (their drops decremented the count with Release).
        is_array && len <= capacity && self.ring.refs[self.index].load(Ordering::Acquire) == 1
    }

    /// The slot's image region as a `Vec` of its first `len` samples of type `T`, taken out of the slot
    /// without a copy: the memory is the Vec's from now on, and the slot, back in the ring, gets fresh memory
    /// when it is next acquired. The lease comes back, and nothing changes, unless [`Lease::hands_over`].
    ///
    /// # Safety
    /// Every bit pattern of `size_of::<T>()` bytes must be a valid `T` (a plain number type).
    pub(crate) unsafe fn take_image<T>(self, len: usize) -> Result<Vec<T>, Lease> {
        if !self.hands_over::<T>(len) {
            return Err(self);
        }
        let image = &self.ring.images[self.index];
        let capacity = image.layout().size() / size_of::<T>();
        // SAFETY: this Lease is the slot's only handle: its count is 1, no Slot exists while a Lease does,
        // and a new clone can only be made from this one, which we hold by value. It is dropped (the slot
        // released) at the end of this function without reading the region again.
        let start = unsafe { image.take() };
        // SAFETY: `start` was allocated by the global allocator with the region's layout, which is
        // `Layout::array::<T>(capacity)` (checked by `hands_over`): what a Vec<T> of that capacity frees with.
        // It now has no other owner (the slot's pointer is null until refilled with other memory), so the Vec
        // is its only one. `len <= capacity`, and its first `len` T are initialised: the bytes were zeroed
        // when allocated and since written only as bytes, and the caller vouches that any bytes are a valid T.
        Ok(unsafe { Vec::from_raw_parts(start.as_ptr().cast::<T>(), len, capacity) })
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

    /// An unpinned ring of `slots` slots of `floats` f32 samples, its images held apart to be handed over.
    fn handing_over(slots: usize, floats: usize) -> Ring {
        Ring::build(slots, floats * 4, 16, false, Some(align_of::<f32>()))
    }

    /// A lease of a slot of `ring` whose image holds `floats` samples of value `value` and its mask `value`.
    fn filled(ring: &Ring, value: f32) -> Lease {
        let mut slot = ring.acquire();
        let (image, mask) = slot.parts_mut();
        for sample in image.chunks_exact_mut(4) {
            sample.copy_from_slice(&value.to_ne_bytes());
        }
        mask.fill(value as u8);
        slot.freeze()
    }

    #[test]
    fn the_only_lease_hands_its_image_over_and_the_slot_gets_fresh_memory() {
        let ring = handing_over(1, 1000);
        let lease = filled(&ring, 3.0);
        let first = lease.image().as_ptr();
        let clone = lease.clone();
        // SAFETY (every take_image here): f32 is valid for every bit pattern.
        let lease =
            unsafe { lease.take_image::<f32>(1000) }.expect_err("a clone holds the slot too");
        drop(clone);
        let image = unsafe { lease.take_image::<f32>(600) }.expect("the only lease");
        assert_eq!((image.len(), image.capacity()), (600, 1000));
        assert_eq!(image.as_ptr().cast(), first);
        assert_eq!(ring.free(), 1, "taking the image released the slot");
        let mut slot = ring.acquire();
        let (fresh, mask) = slot.parts_mut();
        assert_ne!(fresh.as_ptr(), first, "the slot got fresh memory");
        assert_eq!(fresh.len(), 4000);
        assert!(fresh.iter().all(|&b| b == 0), "fresh memory starts zeroed");
        assert!(
            mask.iter().all(|&b| b == 3),
            "the mask region stays the slot's"
        );
        fresh.fill(0xFF);
        drop(slot.freeze());
        assert!(
            image.iter().all(|&v| v == 3.0),
            "the taken image was overwritten"
        );
    }

    #[test]
    fn images_are_handed_over_only_as_arrays_of_their_samples_from_unpinned_rings() {
        let ring = handing_over(1, 1000);
        let lease = filled(&ring, 1.0);
        // SAFETY (every take_image here): u16, u64 and f32 are valid for every bit pattern.
        let lease = unsafe { lease.take_image::<u16>(10) }.expect_err("alignment 2, not 4");
        let lease = unsafe { lease.take_image::<u64>(10) }.expect_err("alignment 8, not 4");
        let lease = unsafe { lease.take_image::<f32>(1001) }.expect_err("past the region");
        assert_eq!(lease.image().len(), 4000, "a refused take changes nothing");
        for ring in [
            Ring::with_pinning(1, 4000, 16, false),
            Ring::build(1, 4000, 16, false, Some(8)),
        ] {
            let lease = filled(&ring, 1.0);
            unsafe { lease.take_image::<f32>(1000) }.expect_err("images not held apart as f32s");
        }
    }

    #[test]
    fn taken_images_outlive_their_slots_reuse() {
        // Two slots cycled through 64 batches; every third image is kept, the others dropped at once.
        let ring = handing_over(2, 4096);
        let mut kept = Vec::new();
        let mut held: Option<Lease> = None;
        for batch in 0..64u16 {
            let lease = filled(&ring, f32::from(batch));
            // Hold each batch's lease until the next one is filled, as a consumer one batch behind does.
            let Some(previous) = held.replace(lease) else {
                continue;
            };
            let value = f32::from(batch - 1);
            // SAFETY: f32 is valid for every bit pattern.
            let image = unsafe { previous.take_image::<f32>(4096) }.expect("the only lease");
            if batch % 3 == 0 {
                kept.push((value, image));
            }
        }
        assert_eq!(kept.len(), 21);
        for (value, image) in &kept {
            assert!(image.iter().all(|v| v == value), "image {value} changed");
        }
    }

    #[test]
    fn unpinned_status() {
        let ring = Ring::with_pinning(1, 1, 1, false);
        assert!(!ring.pinned());
        assert!(ring.pin_status().starts_with("not pinned"));
    }
}
