//! Python bindings (`geochips._geochips`): open a COG and read windows into numpy arrays; build, write and
//! open catalogs; samplers, the loader and its batches, exported through DLPack without a copy. The GIL is
//! released while Rust fetches, decodes and waits.

mod catalog;
mod cog;
mod dlpack;
mod loader;
mod ops;
mod samplers;
mod stitch;
mod write;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _geochips,
    GeochipsError,
    PyException,
    "Any error geochips raises: the message names the href and what failed."
);

/// A geochips error as a Python `GeochipsError`.
pub(crate) fn to_py(e: crate::Error) -> PyErr {
    GeochipsError::new_err(e.to_string())
}

#[pymodule]
fn _geochips(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("GeochipsError", m.py().get_type::<GeochipsError>())?;
    catalog::register(m)?;
    cog::register(m)?;
    loader::register(m)?;
    ops::register(m)?;
    samplers::register(m)?;
    stitch::register(m)?;
    write::register(m)?;
    Ok(())
}
