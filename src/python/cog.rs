//! `geochips.open` and the `Cog` class.

use std::sync::Arc;

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;

use super::to_py;
use crate::cog::Cog;
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
    /// The href the file was opened from.
    #[getter]
    fn href(&self) -> &str {
        self.inner.href()
    }
    /// Width of the full-resolution image in pixels.
    #[getter]
    fn width(&self) -> u64 {
        self.inner.width()
    }
    /// Height of the full-resolution image in pixels.
    #[getter]
    fn height(&self) -> u64 {
        self.inner.height()
    }
    /// Number of bands.
    #[getter]
    fn count(&self) -> usize {
        self.inner.count()
    }
    /// The numpy name of the bands' data type.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.inner.dtype().name()
    }
    /// The transform in rasterio's Affine order (a, b, c, d, e, f); the identity without georeferencing.
    #[getter]
    fn transform(&self) -> [f64; 6] {
        self.inner
            .transform()
            .map_or([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], |t| t.to_affine())
    }
    /// "EPSG:<code>", None where the file has no CRS; raises GeochipsError for a CRS without an EPSG code.
    #[getter]
    fn crs(&self) -> PyResult<Option<String>> {
        Ok(self.inner.crs().map_err(to_py)?.map(|c| c.to_string()))
    }
    /// GDAL's nodata value (NaN included), or None.
    #[getter]
    fn nodata(&self) -> Option<f64> {
        self.inner.nodata()
    }
    /// (rows, cols) of a tile, or of a strip for stripped files.
    #[getter]
    fn block_shape(&self) -> (u64, u64) {
        self.inner.block_shape()
    }
    /// Whether the file is tiled (else stripped).
    #[getter]
    fn tiled(&self) -> bool {
        self.inner.tiled()
    }
    /// The compression, by GDAL's name in lower case ("deflate", "lzw", ...).
    #[getter]
    fn compression(&self) -> String {
        self.inner.compression().name()
    }
    /// The TIFF predictor: 1 none, 2 horizontal, 3 floating point.
    #[getter]
    fn predictor(&self) -> u16 {
        self.inner.predictor()
    }
    /// "band" or "pixel", as GDAL reports INTERLEAVE.
    #[getter]
    fn interleave(&self) -> &'static str {
        if self.inner.band_interleaved() {
            "band"
        } else {
            "pixel"
        }
    }
    /// (width, height) of each internal overview, largest first.
    #[getter]
    fn overviews(&self) -> Vec<(u64, u64)> {
        self.inner.overviews()
    }
    /// Whether the file has an internal per-dataset mask.
    #[getter]
    fn has_mask(&self) -> bool {
        self.inner.has_mask()
    }
    /// Per-band scale from GDAL metadata (1 where absent).
    #[getter]
    fn scales(&self) -> Vec<f64> {
        self.inner.geo().scales.clone()
    }
    /// Per-band offset from GDAL metadata (0 where absent).
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
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let cog = &self.inner;
        let (w, h) = cog.size_of(overview).unwrap_or((cog.width(), cog.height()));
        let (col, row, width, height) = window.unwrap_or((0, 0, w, h));
        let window = Window::new(col, row, width, height);
        let bands: Vec<usize> = match indexes {
            Some(ix) => ix.iter().map(|i| i.wrapping_sub(1)).collect(),
            None => (0..cog.count()).collect(),
        };
        // Planning checks the window, bands and overview before anything is allocated.
        let plan = cog.plan(&window, &bands, overview).map_err(to_py)?;
        let shape = (bands.len(), height as usize, width as usize);
        let numpy = py.import("numpy")?;
        let bytes = |n: usize| -> PyResult<Bound<'py, PyArray1<u8>>> {
            // numpy.zeros raises MemoryError where the array cannot be had.
            Ok(numpy
                .call_method1("zeros", (n, "uint8"))?
                .downcast_into::<PyArray1<u8>>()?)
        };
        let data = bytes(cog.buffer_len(&window, bands.len()))?;
        let mask = bytes(window.pixels() as usize * bands.len())?;
        {
            let (mut out, mut valid) = (data.readwrite(), mask.readwrite());
            let (out, valid) = (out.as_slice_mut()?, valid.as_slice_mut()?);
            py.allow_threads(|| {
                let fetched = block_on(cog.fetch(&plan))?;
                cog.decode_into(&plan, fetched, out, Some(valid))
            })
            .map_err(to_py)?;
        }
        let data = data
            .call_method1("view", (cog.dtype().name(),))?
            .call_method1("reshape", (shape,))?;
        Ok((data, mask.call_method1("reshape", (shape,))?))
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

/// Add `open` and `Cog` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCog>()?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    Ok(())
}
