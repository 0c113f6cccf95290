//! DLPack export of a batch's image or mask: the `#[repr(C)]` structs of DLPack 1.x and the capsules
//! (`"dltensor_versioned"` for consumers that ask for `max_version >= (1, 0)`, legacy `"dltensor"` otherwise).
//!
//! The exported tensor points straight into the ring slot (no copy). Its manager context holds a clone of the
//! slot's [`Lease`], so the slot stays leased until the consumer calls the deleter — from any thread, with or
//! without the GIL (the deleter touches no Python object) — or until an unconsumed capsule is collected.

use std::ffi::{CStr, c_void};

use pyo3::ffi;
use pyo3::prelude::*;

use crate::dtype::DataType;
use crate::ring::Lease;

/// `DLDeviceType::kDLCPU`.
pub(crate) const KDL_CPU: i32 = 1;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct DLDataType {
    /// kDLInt 0, kDLUInt 1, kDLFloat 2, kDLBfloat 4.
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
#[derive(Debug)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
#[derive(Debug)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
#[derive(Debug)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

/// What a legacy export owns: the managed tensor first (so a pointer to it is a pointer to the whole), its
/// shape and strides, and the lease that keeps the slot alive.
#[repr(C)]
struct Legacy {
    managed: DLManagedTensor,
    shape: [i64; MAX_DIMS],
    strides: [i64; MAX_DIMS],
    _lease: Lease,
}

/// What a versioned (DLPack 1.x) export owns; laid out like [`Legacy`].
#[repr(C)]
struct Versioned {
    managed: DLManagedTensorVersioned,
    shape: [i64; MAX_DIMS],
    strides: [i64; MAX_DIMS],
    _lease: Lease,
}

const LEGACY: &CStr = c"dltensor";
const VERSIONED: &CStr = c"dltensor_versioned";

/// One array of a batch to export: where its bytes are, their type and C-order shape.
#[derive(Debug, Clone)]
pub(crate) struct Export {
    pub(crate) lease: Lease,
    pub(crate) data: *const u8,
    pub(crate) dtype: DataType,
    pub(crate) shape: Vec<usize>,
}

// SAFETY: `data` points into the ring slot `lease` keeps alive and read-only; the pointer is only read.
unsafe impl Send for Export {}
// SAFETY: as above; nothing writes through `data`.
unsafe impl Sync for Export {}

fn dl_dtype(d: DataType) -> DLDataType {
    let code = match d {
        DataType::I8 | DataType::I16 | DataType::I32 => 0,
        DataType::U8 | DataType::U16 | DataType::U32 => 1,
        DataType::F32 | DataType::F64 | DataType::F16 => 2,
        DataType::BF16 => 4,
    };
    DLDataType {
        code,
        bits: (d.size() * 8) as u8,
        lanes: 1,
    }
}

/// The most dimensions an export has: [B, T, C, H, W] time series images.
const MAX_DIMS: usize = 5;

/// Shape and C-order strides (in elements) of `shape`, padded to [`MAX_DIMS`] (unused entries last).
fn dims(shape: &[usize]) -> ([i64; MAX_DIMS], [i64; MAX_DIMS]) {
    let (mut s, mut st) = ([0i64; MAX_DIMS], [0i64; MAX_DIMS]);
    let mut step = 1i64;
    for (k, &n) in shape.iter().enumerate().rev() {
        s[k] = n as i64;
        st[k] = step;
        step *= n as i64;
    }
    (s, st)
}

unsafe extern "C" fn delete_legacy(managed: *mut DLManagedTensor) {
    if !managed.is_null() {
        // SAFETY: `managed` is the first field of a `Legacy` made by `Box::into_raw` in `capsule`, and the
        // DLPack contract calls the deleter once.
        drop(unsafe { Box::from_raw(managed.cast::<Legacy>()) });
    }
}

unsafe extern "C" fn delete_versioned(managed: *mut DLManagedTensorVersioned) {
    if !managed.is_null() {
        // SAFETY: as in `delete_legacy`, for `Versioned`.
        drop(unsafe { Box::from_raw(managed.cast::<Versioned>()) });
    }
}

/// Destructor of an unconsumed legacy capsule (a consumer renames the capsule to "used_dltensor" and takes
/// over the deleter).
unsafe extern "C" fn capsule_legacy(capsule: *mut ffi::PyObject) {
    // SAFETY: called by Python with the GIL on a live capsule; `PyCapsule_IsValid` sets no exception.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, LEGACY.as_ptr()) == 1 {
            let managed =
                ffi::PyCapsule_GetPointer(capsule, LEGACY.as_ptr()).cast::<DLManagedTensor>();
            if let Some(deleter) = (*managed).deleter {
                deleter(managed);
            }
        }
    }
}

/// Destructor of an unconsumed versioned capsule.
unsafe extern "C" fn capsule_versioned(capsule: *mut ffi::PyObject) {
    // SAFETY: as in `capsule_legacy`.
    unsafe {
        if ffi::PyCapsule_IsValid(capsule, VERSIONED.as_ptr()) == 1 {
            let managed = ffi::PyCapsule_GetPointer(capsule, VERSIONED.as_ptr())
                .cast::<DLManagedTensorVersioned>();
            if let Some(deleter) = (*managed).deleter {
                deleter(managed);
            }
        }
    }
}

impl Export {
    fn tensor(&self, shape: &mut [i64; MAX_DIMS], strides: &mut [i64; MAX_DIMS]) -> DLTensor {
        DLTensor {
            data: self.data as *mut c_void,
            device: DLDevice {
                device_type: KDL_CPU,
                device_id: 0,
            },
            ndim: self.shape.len() as i32,
            dtype: dl_dtype(self.dtype),
            shape: shape.as_mut_ptr(),
            strides: strides.as_mut_ptr(),
            byte_offset: 0,
        }
    }

    /// A DLPack capsule of this array: versioned (DLPack 1.1, flagged read-only) when `versioned`, else legacy.
    pub(crate) fn capsule(&self, py: Python<'_>, versioned: bool) -> PyResult<PyObject> {
        let (shape, strides) = dims(&self.shape);
        let empty = DLTensor {
            data: std::ptr::null_mut(),
            device: DLDevice {
                device_type: KDL_CPU,
                device_id: 0,
            },
            ndim: 0,
            dtype: dl_dtype(self.dtype),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            byte_offset: 0,
        };
        // SAFETY (both arms): the boxes are leaked into the capsule; the tensor's shape/strides point into the
        // same box, which does not move; the capsule destructor or the consumer's deleter frees it once.
        let capsule = if versioned {
            let mut b = Box::new(Versioned {
                managed: DLManagedTensorVersioned {
                    version: DLPackVersion { major: 1, minor: 1 },
                    manager_ctx: std::ptr::null_mut(),
                    deleter: Some(delete_versioned),
                    flags: 1, // DLPACK_FLAG_BITMASK_READ_ONLY: the ring slot is shared and read-only
                    dl_tensor: empty,
                },
                shape,
                strides,
                _lease: self.lease.clone(),
            });
            let Versioned {
                managed,
                shape,
                strides,
                ..
            } = &mut *b;
            managed.dl_tensor = self.tensor(shape, strides);
            let raw = Box::into_raw(b);
            // SAFETY: `raw` is valid; the manager context is the owning box itself.
            unsafe {
                (*raw).managed.manager_ctx = raw.cast();
                ffi::PyCapsule_New(raw.cast(), VERSIONED.as_ptr(), Some(capsule_versioned))
            }
        } else {
            let mut b = Box::new(Legacy {
                managed: DLManagedTensor {
                    dl_tensor: empty,
                    manager_ctx: std::ptr::null_mut(),
                    deleter: Some(delete_legacy),
                },
                shape,
                strides,
                _lease: self.lease.clone(),
            });
            let Legacy {
                managed,
                shape,
                strides,
                ..
            } = &mut *b;
            managed.dl_tensor = self.tensor(shape, strides);
            let raw = Box::into_raw(b);
            // SAFETY: as above.
            unsafe {
                (*raw).managed.manager_ctx = raw.cast();
                ffi::PyCapsule_New(raw.cast(), LEGACY.as_ptr(), Some(capsule_legacy))
            }
        };
        // SAFETY: PyCapsule_New returns a new reference or NULL with an exception set (the box then leaks,
        // which only happens when Python is out of memory).
        unsafe { Bound::from_owned_ptr_or_err(py, capsule) }.map(Bound::unbind)
    }
}
