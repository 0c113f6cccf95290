//! `geochips._geochips.Ops` and `band_stats`: op pipelines parsed from JSON/YAML configs (the one format
//! both languages share), their output specs, and their application to numpy batches (for checks and for
//! data that does not come through the loader); band statistics over a seeded sample of a catalog's chips.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

use super::catalog::PyCatalog;
use super::to_py;
use crate::band_stats::{BandStats, StatsOptions};
use crate::dtype::DataType;
use crate::grid::GeoTransform;
use crate::ops::{BandMeta, ChipBuf, ChipMut, Context, Sequential, Spec, bytes_of};
use crate::{Crs, Error};

/// The transform of chips given without one: pixel coordinates.
const PIXELS: GeoTransform = GeoTransform {
    a: 1.0,
    b: 0.0,
    c: 0.0,
    d: 0.0,
    e: 1.0,
    f: 0.0,
};

fn dtype(name: &str) -> PyResult<DataType> {
    name.parse().map_err(PyValueError::new_err)
}

/// A sequence of ops (the Rust side of ``geochips.ops.Sequential``), parsed and checked from a config.
#[pyclass(name = "Ops", module = "geochips", frozen)]
pub(crate) struct PyOps(pub(crate) Sequential);

#[pymethods]
impl PyOps {
    /// The ops of a JSON config: a list of objects, each naming its ``op``.
    #[new]
    fn new(config: &str) -> PyResult<Self> {
        Sequential::from_json(config).map(PyOps).map_err(to_py)
    }

    /// The ops of a YAML config.
    #[staticmethod]
    fn from_yaml(config: &str) -> PyResult<Self> {
        Sequential::from_yaml(config).map(PyOps).map_err(to_py)
    }

    /// The config as JSON.
    fn to_json(&self) -> PyResult<String> {
        self.0.to_json().map_err(to_py)
    }

    /// The config as YAML.
    fn to_yaml(&self) -> PyResult<String> {
        self.0.to_yaml().map_err(to_py)
    }

    /// ``(dtype, bands, (width, height))`` of the chips the ops give for chips of ``dtype``, ``bands`` and
    /// ``size``.
    fn output(
        &self,
        dtype: &str,
        bands: Vec<String>,
        size: (u32, u32),
    ) -> PyResult<(&'static str, Vec<String>, (u32, u32))> {
        let input = Spec::new(self::dtype(dtype)?, bands, size.0, size.1);
        let out = self.0.output(&input).map_err(to_py)?;
        Ok((out.dtype.name(), out.bands, (out.width, out.height)))
    }

    /// Apply the ops to each chip of a batch given as C-order bytes: ``image`` [B, C, H, W] of ``dtype``,
    /// ``valid`` [B, H, W] (None: all valid), ``labels`` [B, H, W] of ``labels_dtype`` (or None). Chip ``k``
    /// draws its augmentations from ``(seed, epoch, indices[k])`` (None: k) and is at ``transforms[k]`` (rasterio's
    /// order; None: the pixel grid itself) in ``crs``; ``meta`` is ``(name, nodata, scale, offset)`` per band.
    /// Returns ``(image bytes, valid, labels bytes or None, (dtype, bands, (width, height)), transforms)``.
    #[pyo3(signature = (
        image, dtype, shape, bands, *, valid=None, labels=None, labels_dtype=None, seed=0, epoch=0, indices=None,
        transforms=None, crs=None, meta=None,
    ))]
    #[allow(clippy::too_many_arguments)] // the Python signature
    #[allow(clippy::type_complexity)] // the tuple Python unpacks
    fn apply<'py>(
        &self,
        py: Python<'py>,
        image: PyReadonlyArray1<'py, u8>,
        dtype: &str,
        shape: [usize; 4],
        bands: Vec<String>,
        valid: Option<PyReadonlyArray1<'py, u8>>,
        labels: Option<PyReadonlyArray1<'py, u8>>,
        labels_dtype: Option<&str>,
        seed: u64,
        epoch: u64,
        indices: Option<Vec<u64>>,
        transforms: Option<Vec<[f64; 6]>>,
        crs: Option<u32>,
        meta: Option<Vec<(String, Option<f64>, f64, f64)>>,
    ) -> PyResult<(
        Bound<'py, PyArray1<u8>>,
        Bound<'py, PyArray1<u8>>,
        Option<Bound<'py, PyArray1<u8>>>,
        (&'static str, Vec<String>, (u32, u32)),
        Vec<[f64; 6]>,
    )> {
        let [n, c, h, w] = shape;
        let input = Spec {
            labels: labels_dtype.map(self::dtype).transpose()?,
            ..Spec::new(self::dtype(dtype)?, bands, w as u32, h as u32)
        };
        let bad =
            |what: &str| PyValueError::new_err(format!("{what} does not match shape {shape:?}"));
        if c != input.bands.len() || image.len()? != n * input.image_bytes() {
            return Err(bad("image (or its band names)"));
        }
        let valid = valid.as_ref().map(|v| v.as_slice()).transpose()?;
        if valid.is_some_and(|v| v.len() != n * input.pixels()) {
            return Err(bad("valid"));
        }
        let labels = labels.as_ref().map(|l| l.as_slice()).transpose()?;
        if labels.is_some() != input.labels.is_some()
            || labels.is_some_and(|l| l.len() != n * input.labels_bytes())
        {
            return Err(bad("labels (with labels_dtype)"));
        }
        if transforms.as_ref().is_some_and(|t| t.len() != n) {
            return Err(bad("transforms"));
        }
        let indices = indices.unwrap_or_else(|| (0..n as u64).collect());
        if indices.len() != n {
            return Err(bad("indices"));
        }
        let pipeline = self.0.pipeline(input).map_err(to_py)?;
        let meta: Vec<BandMeta> = meta
            .unwrap_or_default()
            .into_iter()
            .map(|(name, nodata, scale, offset)| BandMeta {
                name,
                nodata,
                scale,
                offset,
            })
            .collect();
        let image = image.as_slice()?;
        let (input, output) = (pipeline.input(), pipeline.output());
        let (image_len, label_len) = (output.image_bytes(), output.labels_bytes());
        let (mut image_words, mut label_words) = (Vec::new(), Vec::new());
        let image_out = bytes_of(&mut image_words, n * image_len);
        let labels_out = bytes_of(&mut label_words, n * label_len);
        let mut valid_out = vec![0u8; n * output.pixels()];
        let chip = |k: usize, buf: &mut ChipBuf, dst: ChipMut<'_>| -> Result<GeoTransform, Error> {
            let src = buf.view(input);
            let at = |len: usize| k * len..(k + 1) * len;
            src.image.copy_from_slice(&image[at(input.image_bytes())]);
            match valid {
                Some(v) => src.valid.copy_from_slice(&v[at(input.pixels())]),
                None => src.valid.fill(1),
            }
            if let Some(l) = labels {
                src.labels.copy_from_slice(&l[at(input.labels_bytes())]);
            }
            let transform = transforms.as_ref().map_or(PIXELS, |t| {
                let [a, b, c, d, e, f] = t[k];
                GeoTransform::new(a, b, c, d, e, f)
            });
            let crs = crs.map(Crs::from_epsg);
            let mut ctx = Context::new(transform, crs, &meta, (seed, epoch, indices[k]));
            pipeline.run(src, dst, &mut ctx)?;
            Ok(ctx.transform)
        };
        let result: Result<Vec<GeoTransform>, Error> = py.allow_threads(|| {
            let dsts: Vec<ChipMut<'_>> = image_out
                .chunks_exact_mut(image_len.max(1))
                .zip(valid_out.chunks_exact_mut(output.pixels().max(1)))
                .zip(
                    labels_out
                        .chunks_mut(label_len.max(1))
                        .map(Some)
                        .chain(std::iter::repeat_with(|| None)),
                )
                .map(|((image, valid), labels)| ChipMut {
                    image,
                    valid,
                    labels: labels.unwrap_or_default(),
                })
                .collect();
            crate::pool::decode_pool().install(|| {
                dsts.into_par_iter()
                    .enumerate()
                    .map_init(ChipBuf::default, |buf, (k, dst)| chip(k, buf, dst))
                    .collect()
            })
        });
        let transforms = result.map_err(to_py)?;
        Ok((
            PyArray1::from_slice(py, image_out),
            PyArray1::from_slice(py, &valid_out),
            output.labels.map(|_| PyArray1::from_slice(py, labels_out)),
            (
                output.dtype.name(),
                output.bands.clone(),
                (output.width, output.height),
            ),
            transforms.iter().map(GeoTransform::to_affine).collect(),
        ))
    }

    fn __repr__(&self) -> String {
        format!("<geochips.Ops {}>", self.0.to_json().unwrap_or_default())
    }
}

/// The ops of `ops`: an `Ops`, a `geochips.ops.Sequential` (its `_ops`), or anything
/// `geochips.ops.Sequential` takes (a list of ops).
pub(crate) fn extract(ops: &Bound<'_, PyAny>) -> PyResult<Sequential> {
    if let Ok(o) = ops.downcast::<PyOps>() {
        return Ok(o.get().0.clone());
    }
    let sequential = if ops.hasattr("_ops")? {
        ops.clone()
    } else {
        let module = ops.py().import("geochips.ops")?;
        module.getattr("Sequential")?.call1((ops,))?
    };
    Ok(sequential
        .getattr("_ops")?
        .downcast::<PyOps>()?
        .get()
        .0
        .clone())
}

/// Band statistics (JSON: ``{"chips": n, "bands": [{"name", "count", "mean", "std", "min", "max",
/// "percentiles": [[p, value], ...]}]}``) over the valid pixels of the chips of
/// ``RandomSampler(catalog, size, length=chips, seed=seed)``, reading ``bands`` (None: all). The GIL is
/// released while Rust reads.
#[pyfunction]
#[pyo3(signature = (catalog, size, *, chips=1000, seed=0, bands=None, percentiles=None))]
fn band_stats(
    py: Python<'_>,
    catalog: &PyCatalog,
    size: (u32, u32),
    chips: u64,
    seed: u64,
    bands: Option<Vec<String>>,
    percentiles: Option<Vec<f64>>,
) -> PyResult<String> {
    let mut options = StatsOptions::new(size.0, chips);
    options.size = size;
    options.seed = seed;
    options.bands = bands;
    if let Some(p) = percentiles {
        options.percentiles = p;
    }
    let catalog = catalog.inner.clone();
    let stats = py
        .allow_threads(|| BandStats::sample(catalog, &options))
        .map_err(to_py)?;
    serde_json::to_string(&stats).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Add `Ops` and `band_stats` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyOps>()?;
    m.add_function(wrap_pyfunction!(band_stats, m)?)
}
