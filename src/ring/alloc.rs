//! Page-aligned, zeroed slot buffers allocated once per ring, and the huge-page advice for fresh memory about
//! to be filled.

use std::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use std::ptr::NonNull;
use std::sync::OnceLock;

/// The OS page size (at least 4096): the alignment of every slot region.
pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        #[cfg(unix)]
        {
            // SAFETY: sysconf has no preconditions; it returns -1 for an unknown name, which we clamp below.
            let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            if n > 0 && (n as usize).is_power_of_two() {
                return (n as usize).max(4096);
            }
        }
        4096
    })
}

/// `n` rounded up to a multiple of `page`, or `None` on overflow.
pub(crate) fn round_up(n: usize, page: usize) -> Option<usize> {
    n.checked_add(page - 1).map(|v| v & !(page - 1))
}

/// Advise the kernel to back the whole 2 MiB pages of the `bytes` bytes at `start` (an allocation about to
/// be filled) with transparent huge pages (`madvise(MADV_HUGEPAGE)`): filling fresh memory then takes a page
/// fault per 2 MiB rather than per 4 KiB, which costs more than the writes themselves when the memory is
/// written once. Only advice: where the kernel gives no huge pages (or off Linux) the memory is as it was.
pub(crate) fn huge_pages(start: *mut u8, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let first = (start as usize).next_multiple_of(HUGE);
        let end = (start as usize + bytes) / HUGE * HUGE;
        if end > first {
            // SAFETY: the range lies inside an allocation the caller owns; the advice changes how its pages
            // are backed, never what they hold. An error leaves the pages as they were.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, bytes);
}

/// One slot's memory: an image region followed by a mask region, each starting on a page boundary,
/// in a single zeroed allocation (so one `cuMemHostRegister` covers both).
pub(crate) struct PageBuf {
    ptr: NonNull<u8>,
    layout: Layout,
    image_bytes: usize,
    mask_offset: usize,
    mask_bytes: usize,
}

// SAFETY: PageBuf owns its allocation outright (like a Box<[u8]>); it holds no thread-bound state. Who may read
// or write the bytes, and when, is decided by the ring (exclusive Slot / shared Leases), not by the buffer.
unsafe impl Send for PageBuf {}
// SAFETY: &PageBuf only exposes the raw pointer and sizes; creating references to the bytes is the ring's job.
unsafe impl Sync for PageBuf {}

impl PageBuf {
    /// Allocates `image_bytes` + `mask_bytes`, each region page-aligned. Panics if the sizes overflow `isize`;
    /// aborts (like `Vec`) if the allocator fails.
    pub(crate) fn new(image_bytes: usize, mask_bytes: usize) -> PageBuf {
        let page = page_size();
        let mask_offset = round_up(image_bytes, page).expect("ring: image_bytes overflows");
        let total = round_up(mask_bytes, page)
            .and_then(|m| m.checked_add(mask_offset))
            .expect("ring: slot size overflows")
            .max(page); // never a zero-sized allocation
        let layout = Layout::from_size_align(total, page).expect("ring: slot size overflows isize");
        // SAFETY: `layout` has a non-zero size (at least one page) and a power-of-two alignment.
        let raw = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            handle_alloc_error(layout)
        };
        PageBuf {
            ptr,
            layout,
            image_bytes,
            mask_offset,
            mask_bytes,
        }
    }

    /// Start of the whole allocation (= start of the image region).
    pub(crate) fn base(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Bytes in the whole allocation (a multiple of the page size): what gets registered with CUDA.
    pub(crate) fn total_bytes(&self) -> usize {
        self.layout.size()
    }

    /// The image region: pointer and requested length.
    pub(crate) fn image(&self) -> (*mut u8, usize) {
        (self.ptr.as_ptr(), self.image_bytes)
    }

    /// The mask region: pointer (page-aligned, after the image's pages) and requested length.
    pub(crate) fn mask(&self) -> (*mut u8, usize) {
        // SAFETY: mask_offset + mask_bytes <= layout.size() by construction, so the offset stays in bounds.
        (
            unsafe { self.ptr.as_ptr().add(self.mask_offset) },
            self.mask_bytes,
        )
    }
}

impl Drop for PageBuf {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `alloc_zeroed(self.layout)` and is freed exactly once, here.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_page_aligned_and_disjoint() {
        let page = page_size();
        assert!(page >= 4096 && page.is_power_of_two());
        for (img, mask) in [(0, 0), (1, 0), (4096, 1), (5000, 300), (page * 3, page)] {
            let b = PageBuf::new(img, mask);
            let (ip, il) = b.image();
            let (mp, ml) = b.mask();
            assert_eq!((il, ml), (img, mask));
            assert_eq!(ip as usize % page, 0);
            assert_eq!(mp as usize % page, 0);
            assert!(mp as usize >= ip as usize + il);
            assert!(mp as usize + ml <= b.base() as usize + b.total_bytes());
            assert_eq!(b.total_bytes() % page, 0);
        }
    }

    #[test]
    fn round_up_overflow() {
        assert_eq!(round_up(0, 4096), Some(0));
        assert_eq!(round_up(1, 4096), Some(4096));
        assert_eq!(round_up(4096, 4096), Some(4096));
        assert_eq!(round_up(usize::MAX, 4096), None);
    }
}
