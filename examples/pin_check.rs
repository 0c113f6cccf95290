//! Is the batch ring pinned here, and what does pinning buy? Prints the ring's pin status and, when it is
//! pinned, times host→device copies of one slot from the pinned ring vs from an ordinary `Vec` of the same size
//! (CUDA driver API, loaded at run time). Without a CUDA driver it prints `pinned=false` and exits 0.
//!
//! ```text
//! cargo run --release --example pin_check [-- MIB_PER_SLOT]
//! ```

use std::ffi::{c_int, c_void};
use std::time::Instant;

use geochips::ring::Ring;

type CuResult = c_int;
type CuDevice = c_int;
type CuContext = *mut c_void;
type CuDevicePtr = u64; // CUdeviceptr of the _v2 API on 64-bit hosts

/// The driver functions the measurement needs.
struct Cuda {
    _lib: libloading::Library,
    device_get: unsafe extern "C" fn(*mut CuDevice, c_int) -> CuResult,
    primary_ctx_retain: unsafe extern "C" fn(*mut CuContext, CuDevice) -> CuResult,
    primary_ctx_release: unsafe extern "C" fn(CuDevice) -> CuResult,
    ctx_push: unsafe extern "C" fn(CuContext) -> CuResult,
    ctx_pop: unsafe extern "C" fn(*mut CuContext) -> CuResult,
    ctx_synchronize: unsafe extern "C" fn() -> CuResult,
    mem_alloc: unsafe extern "C" fn(*mut CuDevicePtr, usize) -> CuResult,
    mem_free: unsafe extern "C" fn(CuDevicePtr) -> CuResult,
    memcpy_htod: unsafe extern "C" fn(CuDevicePtr, *const c_void, usize) -> CuResult,
}

fn check(what: &str, rc: CuResult) -> Result<(), String> {
    if rc == 0 {
        Ok(())
    } else {
        Err(format!("{what} failed: CUresult {rc}"))
    }
}

impl Cuda {
    fn load() -> Result<Cuda, String> {
        // SAFETY: loading the CUDA driver library runs its initialisers; it is never unloaded while in use
        // (the fn pointers below live in the same struct as the Library).
        let lib = unsafe { libloading::Library::new("libcuda.so.1") }.map_err(|e| e.to_string())?;
        /// Looks up `name` as a function of type `T`.
        ///
        /// # Safety
        /// `T` must be the C signature of the CUDA driver API function `name`.
        unsafe fn get<T: Copy>(lib: &libloading::Library, name: &str) -> Result<T, String> {
            // SAFETY: forwarded from the caller: T matches the symbol's signature; the pointer stays valid
            // while `lib` lives, and Cuda keeps both together.
            unsafe { lib.get::<T>(name.as_bytes()) }
                .map(|s| *s)
                .map_err(|e| format!("{name}: {e}"))
        }
        // SAFETY: each type is the C signature of the named CUDA driver API function (CUresult = int,
        // CUdevice = int, CUcontext = pointer, CUdeviceptr = u64, size_t = usize).
        unsafe {
            Ok(Cuda {
                device_get: get(&lib, "cuDeviceGet")?,
                primary_ctx_retain: get(&lib, "cuDevicePrimaryCtxRetain")?,
                primary_ctx_release: get(&lib, "cuDevicePrimaryCtxRelease_v2")?,
                ctx_push: get(&lib, "cuCtxPushCurrent_v2")?,
                ctx_pop: get(&lib, "cuCtxPopCurrent_v2")?,
                ctx_synchronize: get(&lib, "cuCtxSynchronize")?,
                mem_alloc: get(&lib, "cuMemAlloc_v2")?,
                mem_free: get(&lib, "cuMemFree_v2")?,
                memcpy_htod: get(&lib, "cuMemcpyHtoD_v2")?,
                _lib: lib,
            })
        }
    }

    /// Copies `src` to device memory `reps` times (after one warm-up copy) and returns GB/s (1e9 bytes/s).
    fn htod_gbps(&self, dst: CuDevicePtr, src: &[u8], reps: usize) -> Result<f64, String> {
        // SAFETY: `dst` is a device allocation of at least src.len() bytes; `src` is a live host slice; a
        // context is current (pushed by the caller). cuCtxSynchronize makes each copy complete before timing.
        unsafe {
            check(
                "cuMemcpyHtoD",
                (self.memcpy_htod)(dst, src.as_ptr().cast(), src.len()),
            )?;
            check("cuCtxSynchronize", (self.ctx_synchronize)())?;
            let t = Instant::now();
            for _ in 0..reps {
                check(
                    "cuMemcpyHtoD",
                    (self.memcpy_htod)(dst, src.as_ptr().cast(), src.len()),
                )?;
            }
            check("cuCtxSynchronize", (self.ctx_synchronize)())?;
            Ok((src.len() * reps) as f64 / t.elapsed().as_secs_f64() / 1e9)
        }
    }
}

fn measure(ring: &Ring) -> Result<(), String> {
    let cuda = Cuda::load()?;
    let bytes = ring.image_bytes();
    let reps = 20;
    let mut dev: CuDevice = 0;
    let mut ctx: CuContext = std::ptr::null_mut();
    let mut dst: CuDevicePtr = 0;
    // SAFETY: out-pointers to locals; the pushed context is popped and released below, and the device
    // allocation freed, on every path after it succeeds.
    unsafe {
        check("cuDeviceGet", (cuda.device_get)(&mut dev, 0))?;
        check(
            "cuDevicePrimaryCtxRetain",
            (cuda.primary_ctx_retain)(&mut ctx, dev),
        )?;
        check("cuCtxPushCurrent", (cuda.ctx_push)(ctx))?;
    }
    // SAFETY: a context is current; out-pointer to a local.
    let result = check("cuMemAlloc", unsafe { (cuda.mem_alloc)(&mut dst, bytes) }).and_then(|()| {
        let mut slot = ring.acquire();
        slot.image_mut().fill(1);
        let lease = slot.freeze();
        let pinned = cuda.htod_gbps(dst, lease.image(), reps)?;
        let pageable = vec![1u8; bytes];
        let unpinned = cuda.htod_gbps(dst, &pageable, reps)?;
        println!(
            "host->device, {:.1} MiB x {reps}: pinned ring slot {pinned:.2} GB/s, pageable Vec {unpinned:.2} GB/s ({:.1}x)",
            bytes as f64 / (1 << 20) as f64,
            pinned / unpinned
        );
        Ok(())
    });
    // SAFETY: frees what was allocated above (dst == 0 if cuMemAlloc failed), pops our context, releases it.
    unsafe {
        if dst != 0 {
            (cuda.mem_free)(dst);
        }
        let mut popped: CuContext = std::ptr::null_mut();
        (cuda.ctx_pop)(&mut popped);
        (cuda.primary_ctx_release)(dev);
    }
    result
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(32); // 32 images of 256x256x4 uint16 = 16 MiB; 32 MiB by default
    let ring = Ring::new(2, mib << 20, 256 * 256 * 32);
    println!("pinned={}", ring.pinned());
    println!("pin status: {}", ring.pin_status());
    if ring.pinned()
        && let Err(e) = measure(&ring)
    {
        println!("measurement failed: {e}");
    }
}
