//! CUDA host registration through the driver API, loaded at run time (no build-time CUDA dependency).
//!
//! `libcuda.so.1` is opened on first use (never at load time: fork safety), `cuInit(0)` runs once per
//! process, and each ring retains device 0's primary context, registers its slot buffers with
//! `cuMemHostRegister_v2(.., CU_MEMHOSTREGISTER_PORTABLE)` and unregisters them when its storage drops.
//! Every CUDA call is bracketed by `cuCtxPushCurrent_v2` / `cuCtxPopCurrent_v2`, so the calling thread's
//! current context (torch's, say) is left as it was.

use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::sync::OnceLock;

type CuResult = c_int;
type CuDevice = c_int;
type CuContext = *mut c_void;

const CUDA_SUCCESS: CuResult = 0;
const CU_MEMHOSTREGISTER_PORTABLE: c_uint = 0x01;

#[cfg(windows)]
const LIBRARY: &str = "nvcuda.dll";
#[cfg(not(windows))]
const LIBRARY: &str = "libcuda.so.1";

/// The driver entry points the ring needs, copied out of the library (which stays loaded for the process).
struct Driver {
    _lib: libloading::Library,
    device_get: unsafe extern "C" fn(*mut CuDevice, c_int) -> CuResult,
    primary_ctx_retain: unsafe extern "C" fn(*mut CuContext, CuDevice) -> CuResult,
    primary_ctx_release: unsafe extern "C" fn(CuDevice) -> CuResult,
    ctx_push: unsafe extern "C" fn(CuContext) -> CuResult,
    ctx_pop: unsafe extern "C" fn(*mut CuContext) -> CuResult,
    host_register: unsafe extern "C" fn(*mut c_void, usize, c_uint) -> CuResult,
    host_unregister: unsafe extern "C" fn(*mut c_void) -> CuResult,
    error_name: Option<unsafe extern "C" fn(CuResult, *mut *const c_char) -> CuResult>,
}

/// Looks up `name` in `lib` as a function of type `T`.
///
/// # Safety
/// `T` must be the exact C signature of the symbol `name` in the CUDA driver API.
unsafe fn sym<T: Copy>(lib: &libloading::Library, name: &str) -> Result<T, String> {
    // SAFETY: the caller guarantees T matches the symbol's signature; the copied fn pointer stays valid while
    // `lib` is loaded, and Driver keeps `lib` alive in a never-dropped static.
    unsafe { lib.get::<T>(name.as_bytes()) }
        .map(|s| *s)
        .map_err(|e| format!("{LIBRARY} lacks {name}: {e}"))
}

impl Driver {
    fn load() -> Result<Driver, String> {
        // SAFETY: loading the CUDA driver runs its initialisers, which have no preconditions on us. We never
        // unload it (the Driver lives in a static OnceLock).
        let lib = unsafe { libloading::Library::new(LIBRARY) }
            .map_err(|e| format!("no CUDA driver ({e})"))?;
        // SAFETY (each `sym` call): the function types below are the CUDA driver API's C signatures, with
        // CUresult = int, CUdevice = int, CUcontext = pointer, and size_t = usize.
        let driver = unsafe {
            let init: unsafe extern "C" fn(c_uint) -> CuResult = sym(&lib, "cuInit")?;
            let error_name = sym(&lib, "cuGetErrorName").ok();
            let primary_ctx_release = sym(&lib, "cuDevicePrimaryCtxRelease_v2")
                .or_else(|_| sym(&lib, "cuDevicePrimaryCtxRelease"))?;
            let d = Driver {
                device_get: sym(&lib, "cuDeviceGet")?,
                primary_ctx_retain: sym(&lib, "cuDevicePrimaryCtxRetain")?,
                primary_ctx_release,
                ctx_push: sym(&lib, "cuCtxPushCurrent_v2")?,
                ctx_pop: sym(&lib, "cuCtxPopCurrent_v2")?,
                host_register: sym(&lib, "cuMemHostRegister_v2")?,
                host_unregister: sym(&lib, "cuMemHostUnregister")?,
                error_name,
                _lib: lib,
            };
            // cuInit(0): flags must be 0.
            let rc = init(0);
            if rc != CUDA_SUCCESS {
                return Err(format!("cuInit failed: {}", d.describe(rc)));
            }
            d
        };
        Ok(driver)
    }

    /// The process's driver, loaded and initialised on first use; the error says why there is none.
    fn get() -> Result<&'static Driver, &'static str> {
        static DRIVER: OnceLock<Result<Driver, String>> = OnceLock::new();
        DRIVER
            .get_or_init(Driver::load)
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// `CUDA_ERROR_NAME (code)`, or just the code if the driver cannot name it.
    fn describe(&self, rc: CuResult) -> String {
        let mut name: *const c_char = std::ptr::null();
        if let Some(f) = self.error_name {
            // SAFETY: cuGetErrorName writes a pointer to a static NUL-terminated string or fails.
            if unsafe { f(rc, &mut name) } == CUDA_SUCCESS && !name.is_null() {
                // SAFETY: on success `name` points to a static C string owned by the driver.
                let s = unsafe { CStr::from_ptr(name) }.to_string_lossy();
                return format!("{s} ({rc})");
            }
        }
        format!("CUresult {rc}")
    }

    /// Runs `f` with `ctx` current on this thread, restoring the previous context afterwards.
    fn with_ctx<R>(&self, ctx: CuContext, f: impl FnOnce() -> R) -> Result<R, String> {
        // SAFETY: ctx is a primary context we retained (still retained while a Pinning exists).
        let rc = unsafe { (self.ctx_push)(ctx) };
        if rc != CUDA_SUCCESS {
            return Err(format!("cuCtxPushCurrent failed: {}", self.describe(rc)));
        }
        let r = f();
        let mut popped: CuContext = std::ptr::null_mut();
        // SAFETY: pops the context we pushed just above, on the same thread.
        unsafe { (self.ctx_pop)(&mut popped) };
        Ok(r)
    }
}

/// Whether the CUDA driver is there, loaded and initialised (on first use); the error says why it is not.
pub(crate) fn driver() -> Result<(), &'static str> {
    Driver::get().map(|_| ())
}

/// A ring's registration: the retained primary context and the registered buffers.
pub(crate) struct Pinning {
    driver: &'static Driver,
    device: CuDevice,
    ctx: CuContext,
    buffers: Vec<*mut c_void>,
}

// SAFETY: a CUcontext handle and registered host addresses are plain process-wide values in the CUDA driver;
// they may be used from any thread (we make the context current around each use), and `Pinning` only uses
// them in `Drop`, which runs once.
unsafe impl Send for Pinning {}
// SAFETY: &Pinning exposes nothing; all use of the handles happens through `&mut self` in Drop.
unsafe impl Sync for Pinning {}

impl std::fmt::Debug for Pinning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pinning")
            .field("device", &self.device)
            .field("buffers", &self.buffers.len())
            .finish()
    }
}

/// Registers every `(ptr, bytes)` buffer as portable page-locked memory with device 0's primary context.
/// All or nothing: on any failure the ones already registered are unregistered and the reason is returned.
///
/// # Safety
/// Each buffer must be a live allocation of at least `bytes` bytes that outlives the returned `Pinning`
/// (which must be dropped before the memory is freed).
pub(crate) unsafe fn register(buffers: &[(*mut u8, usize)]) -> Result<Pinning, String> {
    let driver = Driver::get().map_err(str::to_owned)?;
    let mut device: CuDevice = 0;
    // SAFETY: out-pointer to a local; ordinal 0.
    let rc = unsafe { (driver.device_get)(&mut device, 0) };
    if rc != CUDA_SUCCESS {
        return Err(format!("cuDeviceGet(0) failed: {}", driver.describe(rc)));
    }
    let mut ctx: CuContext = std::ptr::null_mut();
    // SAFETY: out-pointer to a local; `device` is valid per cuDeviceGet.
    let rc = unsafe { (driver.primary_ctx_retain)(&mut ctx, device) };
    if rc != CUDA_SUCCESS {
        return Err(format!(
            "cuDevicePrimaryCtxRetain failed: {}",
            driver.describe(rc)
        ));
    }
    // From here on, dropping `pinning` unregisters what it holds and releases the context.
    let mut pinning = Pinning {
        driver,
        device,
        ctx,
        buffers: Vec::with_capacity(buffers.len()),
    };
    let outcome = driver.with_ctx(ctx, || {
        for &(ptr, bytes) in buffers {
            // SAFETY: the caller guarantees ptr..ptr+bytes is a live allocation that outlives `pinning`.
            let rc =
                unsafe { (driver.host_register)(ptr.cast(), bytes, CU_MEMHOSTREGISTER_PORTABLE) };
            if rc != CUDA_SUCCESS {
                return Err(format!(
                    "cuMemHostRegister({bytes} bytes) failed: {}",
                    driver.describe(rc)
                ));
            }
            pinning.buffers.push(ptr.cast());
        }
        Ok(())
    });
    outcome.and_then(|r| r)?;
    Ok(pinning)
}

impl Drop for Pinning {
    fn drop(&mut self) {
        let (driver, buffers) = (self.driver, std::mem::take(&mut self.buffers));
        // Failures here (say the driver is already shutting down at process exit) are ignored: the memory is
        // freed by the allocator right after, and there is nobody to tell.
        let _ = driver.with_ctx(self.ctx, || {
            for p in buffers {
                // SAFETY: `p` was registered by us and is still allocated (the caller of `register` drops the
                // Pinning before freeing the memory).
                unsafe { (driver.host_unregister)(p) };
            }
        });
        // SAFETY: balances the cuDevicePrimaryCtxRetain in `register`.
        unsafe { (driver.primary_ctx_release)(self.device) };
    }
}
