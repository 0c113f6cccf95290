//! Slot image regions that can be handed over: each one an allocation of its own, laid out as an array of the
//! image's samples, so that a consumer can take it out of its slot as a `Vec` (a framework that owns its
//! tensors' memory then holds the batch without a copy) and the slot gets fresh memory before it is next
//! written.

use std::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use std::ptr::{NonNull, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering::Relaxed};

use super::alloc::huge_pages;

/// One slot's image region, allocated with `layout` by the global allocator (as a `Vec` of its samples
/// would be); null from the moment it is taken until the slot is next acquired.
///
/// The pointer is atomic only so that the buffer is `Sync` without an `UnsafeCell`: it is changed while its
/// slot has exactly one handle (a [`super::Slot`] just acquired, or the only [`super::Lease`]), and the
/// ring's free list and lease counts order those changes before any other handle reads it.
pub(crate) struct ImageBuf {
    ptr: AtomicPtr<u8>,
    layout: Layout,
}

impl ImageBuf {
    /// A zeroed region of `layout` (non-zero size).
    pub(crate) fn new(layout: Layout) -> ImageBuf {
        ImageBuf {
            ptr: AtomicPtr::new(allocate(layout).as_ptr()),
            layout,
        }
    }

    /// The region's layout: what it was allocated with.
    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// The region: pointer (null while taken) and length.
    pub(crate) fn region(&self) -> (*mut u8, usize) {
        (self.ptr.load(Relaxed), self.layout.size())
    }

    /// Give the slot fresh memory if its region was taken.
    ///
    /// # Safety
    /// The caller holds the slot's only handle (nothing reads the region's pointer meanwhile).
    pub(crate) unsafe fn refill(&self) {
        if self.ptr.load(Relaxed).is_null() {
            self.ptr.store(allocate(self.layout).as_ptr(), Relaxed);
        }
    }

    /// Take the region out of the slot: its memory belongs to the caller from now on, to free with
    /// [`ImageBuf::layout`] (a `Vec` of the samples does).
    ///
    /// # Safety
    /// The caller holds the slot's only handle, and gives it up without reading the region again: the slot is
    /// refilled before it is next written or read. (Taking a region twice without a refill panics.)
    pub(crate) unsafe fn take(&self) -> NonNull<u8> {
        NonNull::new(self.ptr.swap(null_mut(), Relaxed)).expect("an image region is taken once")
    }
}

impl Drop for ImageBuf {
    fn drop(&mut self) {
        let ptr = *self.ptr.get_mut();
        if !ptr.is_null() {
            // SAFETY: a non-null pointer here came from `allocate(self.layout)` and was not taken (a taken
            // region's pointer is swapped out for null), so this buffer still owns it; it is freed once, here.
            unsafe { dealloc(ptr, self.layout) }
        }
    }
}

/// Zeroed memory of `layout` (non-zero size) from the global allocator, asked for in transparent huge pages:
/// the decode pool fills it soon after, and faulting fresh memory in 4 KiB pages costs about as much as
/// copying into it would. Zeroed, as every slot region starts (a large region is freshly mapped, zero pages
/// the allocator does not write). Aborts (like `Vec`) if the allocator fails.
fn allocate(layout: Layout) -> NonNull<u8> {
    assert!(layout.size() > 0, "an image region is never empty");
    // SAFETY: `layout` has a non-zero size.
    let raw = unsafe { alloc_zeroed(layout) };
    let Some(ptr) = NonNull::new(raw) else {
        handle_alloc_error(layout)
    };
    huge_pages(ptr.as_ptr(), layout.size());
    ptr
}
