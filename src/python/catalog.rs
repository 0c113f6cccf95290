//! `geochips.Catalog`: build a catalog from COG headers, write and open it as GeoParquet, query it. The GIL is
//! released while Rust reads headers and files.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::to_py;
use crate::catalog::{BuildOptions, BuildReport, Catalog};
use crate::runtime::block_on;
use crate::{Bounds, Crs, Interval};

/// Items (scenes) and their assets (COGs), built by reading headers only; kept as GeoParquet.
#[pyclass(name = "Catalog", module = "geochips", frozen)]
pub(crate) struct PyCatalog {
    pub(crate) inner: Arc<Catalog>,
    report: BuildReport,
}

/// Sources as a list of strings: one str or os.PathLike, or a sequence of them.
fn sources(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(one) = obj.extract::<PathBuf>() {
        return Ok(vec![one.to_string_lossy().into_owned()]);
    }
    obj.extract::<Vec<PathBuf>>()
        .map(|v| {
            v.into_iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        })
        .map_err(|_| PyValueError::new_err("sources must be a path or href, or a list of them"))
}

fn parse_crs(text: &str) -> PyResult<Crs> {
    text.strip_prefix("EPSG:")
        .and_then(|c| c.parse().ok())
        .map(Crs::from_epsg)
        .ok_or_else(|| PyValueError::new_err(format!("crs must be \"EPSG:<code>\", not {text:?}")))
}

#[pymethods]
impl PyCatalog {
    /// Build a catalog from ``sources`` (a path, directory, glob, object-store href or prefix, STAC
    /// ItemCollection .json, or a list of them) by reading COG headers only, ``concurrency`` at a time.
    ///
    /// ``filename_regex``/``date_format`` take dates from file names as TorchGeo does; ``progress`` is called
    /// with ``(done, total)``. Bad files are listed in ``failures`` and left out, unless ``fail_fast``.
    #[staticmethod]
    #[pyo3(signature = (
        sources, *, filename_regex=None, date_format="%Y%m%d", concurrency=64, fail_fast=false,
        stac_assets=None, progress=None,
    ))]
    #[allow(clippy::too_many_arguments)] // the Python signature, keyword arguments past the first
    fn build(
        py: Python<'_>,
        sources: &Bound<'_, PyAny>,
        filename_regex: Option<String>,
        date_format: &str,
        concurrency: usize,
        fail_fast: bool,
        stac_assets: Option<Vec<String>>,
        progress: Option<PyObject>,
    ) -> PyResult<PyCatalog> {
        let sources = self::sources(sources)?;
        let progress = progress.map(|callback| {
            Arc::new(move |done: usize, total: usize| {
                Python::with_gil(|py| {
                    if let Err(e) = callback.call1(py, (done, total)) {
                        e.print(py);
                    }
                })
            }) as crate::catalog::Progress
        });
        let options = BuildOptions {
            concurrency,
            fail_fast,
            filename_regex,
            date_format: date_format.to_string(),
            stac_assets,
            progress,
            ..BuildOptions::default()
        };
        let (inner, report) = py
            .allow_threads(|| block_on(Catalog::build(&sources, &options)))
            .map_err(to_py)?;
        Ok(PyCatalog {
            inner: Arc::new(inner),
            report,
        })
    }

    /// Open a catalog written by ``write``: a local path or an object-store href (s3://, gs://, az://,
    /// http(s)://).
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<PyCatalog> {
        let href = path.to_string_lossy().into_owned();
        let inner = py
            .allow_threads(|| block_on(Catalog::open_href(&href)))
            .map_err(to_py)?;
        Ok(PyCatalog {
            inner: Arc::new(inner),
            report: BuildReport::default(),
        })
    }

    /// Write the catalog as GeoParquet 1.1 (geometry: footprints in EPSG:4326) to a local path or an
    /// object-store href.
    fn write(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let href = path.to_string_lossy().into_owned();
        py.allow_threads(|| block_on(self.inner.write_href(&href)))
            .map_err(to_py)
    }

    /// What the build left out: ``(href, reason)`` pairs, the reason naming the file.
    #[getter]
    fn failures(&self) -> Vec<(String, String)> {
        self.report
            .failures
            .iter()
            .map(|f| (f.href.clone(), f.reason.clone()))
            .collect()
    }

    /// Files the filename regex passed over.
    #[getter]
    fn skipped(&self) -> usize {
        self.report.skipped
    }

    /// Item ids, in catalog order.
    #[getter]
    fn ids(&self) -> Vec<String> {
        self.inner.items().iter().map(|i| i.id.clone()).collect()
    }

    /// Item ``index`` as a dict: id, crs, bounds, start/end (µs since the epoch, None where open), footprint
    /// (EPSG:4326 ring) and assets (key, href, bands, dtype, nodata, width, height, transform, tile,
    /// overviews).
    fn item<'py>(
        &self,
        py: Python<'py>,
        index: usize,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        use pyo3::types::{PyDict, PyList};
        let item = self
            .inner
            .items()
            .get(index)
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err(index))?;
        let d = PyDict::new(py);
        d.set_item("id", &item.id)?;
        d.set_item("crs", item.crs.to_string())?;
        let b = item.bounds;
        d.set_item("bounds", (b.minx, b.miny, b.maxx, b.maxy))?;
        d.set_item(
            "start",
            (item.interval.start != i64::MIN).then_some(item.interval.start),
        )?;
        d.set_item(
            "end",
            (item.interval.end != i64::MAX).then_some(item.interval.end),
        )?;
        d.set_item("footprint", item.footprint.clone())?;
        let assets = PyList::empty(py);
        for a in &item.assets {
            let ad = PyDict::new(py);
            ad.set_item("key", &a.key)?;
            ad.set_item("href", &a.href)?;
            ad.set_item("bands", a.bands.clone())?;
            ad.set_item("dtype", a.dtype.name())?;
            ad.set_item("nodata", a.nodata)?;
            ad.set_item("width", a.width)?;
            ad.set_item("height", a.height)?;
            ad.set_item("transform", a.transform.to_affine())?;
            ad.set_item("tile", a.tile)?;
            ad.set_item("overviews", a.overviews)?;
            assets.append(ad)?;
        }
        d.set_item("assets", assets)?;
        Ok(d)
    }

    /// Indices of the items whose footprint box meets ``bounds`` (left, bottom, right, top in ``crs``) and
    /// whose time meets ``[start, end]`` (µs since the epoch; None: open).
    #[pyo3(signature = (bounds, crs="EPSG:4326", start=None, end=None))]
    fn query(
        &self,
        bounds: (f64, f64, f64, f64),
        crs: &str,
        start: Option<i64>,
        end: Option<i64>,
    ) -> PyResult<Vec<usize>> {
        let bounds = Bounds::new(bounds.0, bounds.1, bounds.2, bounds.3);
        let interval = Interval::new(start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX));
        self.inner
            .query(&bounds, parse_crs(crs)?, &interval)
            .map_err(to_py)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Whether the two catalogs hold equal items.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .downcast::<PyCatalog>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "Catalog({} items, {} failures)",
            self.inner.len(),
            self.report.failures.len()
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCatalog>()
}
