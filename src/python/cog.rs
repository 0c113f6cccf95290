//! `geochips.open` and the `Cog` class.

use std::sync::Arc;

use numpy::{Element, PyArray3, PyArrayMethods};
use pyo3::prelude::*;

use super::to_py;
use crate::cog::Cog;
use crate::dtype::DataType;
use crate::grid::Window;
use crate::runtime::block_on;

/// An opened (Cloud-Optimized) GeoTIFF: its header, parsed once; reads fetch only the tiles they need.
#[pyclass(name = "Cog", module = "geochips", frozen)]
struct PyCog {
    inner: Arc<Cog>,
}

/// Open a GeoTIFF by local path, file://, s3://, gs://, az:// or http(s):// href.
#[pyfunction]
fn open(py: Python<'_>, href: String) -> PyResult<PyCog> {
    let cog = py
        .allow_threads(|| block_on(Cog::open(&href)))
        .map_err(to_py)?;
    Ok(PyCog {
        inner: Arc::new(cog),
    })
}

#[pymethods]
impl PyCog {
    #[getter]
    fn href(&self) -> &str {
        self.inner.href()
    }
    #[getter]
    fn width(&self) -> u64 {
        self.inner.width()
    }
    #[getter]
    fn height(&self) -> u64 {
        self.inner.height()
    }
    #[getter]
    fn count(&self) -> usize {
        self.inner.count()
    }
    #[getter]
    fn dtype(&self) -> &'static str {
        self.inner.dtype().name()
    }
    /// rasterio's Affine order (a, b, c, d, e, f); the identity for a file without georeferencing.
    #[getter]
    fn transform(&self) -> [f64; 6] {
        self.inner
            .transform()
            .map_or([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], |t| t.to_affine())
    }
    #[getter]
    fn crs(&self) -> PyResult<Option<String>> {
        Ok(self.inner.crs().map_err(to_py)?.map(|c| c.to_string()))
    }
    #[getter]
    fn nodata(&self) -> Option<f64> {
        self.inner.nodata()
    }
    #[getter]
    fn block_shape(&self) -> (u64, u64) {
        self.inner.block_shape()
    }
    #[getter]
    fn tiled(&self) -> bool {
        self.inner.tiled()
    }
    #[getter]
    fn compression(&self) -> String {
        self.inner.compression().name()
    }
    #[getter]
    fn predictor(&self) -> u16 {
        self.inner.predictor()
    }
    #[getter]
    fn interleave(&self) -> &'static str {
        if self.inner.band_interleaved() {
            "band"
        } else {
            "pixel"
        }
    }
    #[getter]
    fn overviews(&self) -> Vec<(u64, u64)> {
        self.inner.overviews()
    }
    #[getter]
    fn has_mask(&self) -> bool {
        self.inner.has_mask()
    }
    #[getter]
    fn scales(&self) -> Vec<f64> {
        self.inner.geo().scales.clone()
    }
    #[getter]
    fn offsets(&self) -> Vec<f64> {
        self.inner.geo().offsets.clone()
    }

    /// Boundless read of `window=(col_off, row_off, width, height)` (default: the whole raster) of the
    /// 1-based band `indexes` (default: all) at `overview` (None: full resolution). Returns (data, mask).
    #[pyo3(signature = (window=None, indexes=None, overview=None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        window: Option<(i64, i64, u64, u64)>,
        indexes: Option<Vec<usize>>,
        overview: Option<usize>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray3<u8>>)> {
        let cog = &self.inner;
        let (w, h) = cog.size_of(overview).unwrap_or((cog.width(), cog.height()));
        let (col, row, width, height) = window.unwrap_or((0, 0, w, h));
        let window = Window::new(col, row, width, height);
        let bands: Vec<usize> = match indexes {
            Some(ix) => ix.iter().map(|i| i.wrapping_sub(1)).collect(),
            None => (0..cog.count()).collect(),
        };
        let shape = [bands.len(), height as usize, width as usize];
        let mask = PyArray3::<u8>::zeros(py, shape, false);
        let data = match cog.dtype() {
            DataType::U8 => read_into::<u8>(py, cog, &window, &bands, overview, shape, &mask)?,
            DataType::I8 => read_into::<i8>(py, cog, &window, &bands, overview, shape, &mask)?,
            DataType::U16 => read_into::<u16>(py, cog, &window, &bands, overview, shape, &mask)?,
            DataType::I16 => read_into::<i16>(py, cog, &window, &bands, overview, shape, &mask)?,
            DataType::U32 => read_into::<u32>(py, cog, &window, &bands, overview, shape, &mask)?,
            DataType::I32 => read_into::<i32>(py, cog, &window, &bands, overview, shape, &mask)?,
            DataType::F32 => read_into::<f32>(py, cog, &window, &bands, overview, shape, &mask)?,
            DataType::F64 => read_into::<f64>(py, cog, &window, &bands, overview, shape, &mask)?,
        };
        Ok((data, mask))
    }

    fn __repr__(&self) -> String {
        let c = &self.inner;
        format!(
            "<geochips.Cog {} {}x{}x{} {}>",
            c.href(),
            c.width(),
            c.height(),
            c.count(),
            c.dtype()
        )
    }
}

/// Read into a new numpy array of `T` (the file's dtype), and the mask into `mask`, without the GIL.
fn read_into<'py, T: Element + Copy + Send>(
    py: Python<'py>,
    cog: &Cog,
    window: &Window,
    bands: &[usize],
    overview: Option<usize>,
    shape: [usize; 3],
    mask: &Bound<'py, PyArray3<u8>>,
) -> PyResult<Bound<'py, PyAny>> {
    let data = PyArray3::<T>::zeros(py, shape, false);
    // SAFETY: both arrays are new, C-contiguous and owned by this function; nothing else can see them until
    // they are returned, so the mutable views are unique. Every T here is plain old data, so viewing its
    // memory as bytes is sound.
    let (out, mask) = unsafe {
        let out = data.as_slice_mut().expect("contiguous");
        let bytes = std::slice::from_raw_parts_mut(
            out.as_mut_ptr().cast::<u8>(),
            std::mem::size_of_val(out),
        );
        (bytes, mask.as_slice_mut().expect("contiguous"))
    };
    py.allow_threads(|| block_on(cog.read_window(window, bands, overview, out, Some(mask))))
        .map_err(to_py)?;
    Ok(data.into_any())
}

/// Add `open` and `Cog` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCog>()?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    Ok(())
}
