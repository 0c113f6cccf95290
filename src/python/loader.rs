//! `geochips.Loader`, `geochips.Batch` and `geochips.BatchArray`: batches of chips in ring slots, exported
//! to torch, numpy, JAX or CuPy through DLPack without a copy. The GIL is released while Rust fetches,
//! decodes or waits for a batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::catalog::PyCatalog;
use super::dlpack::{Export, KDL_CPU};
use super::samplers::{self, AnySampler, PyGeoSlice, state_dict};
use super::to_py;
use crate::dtype::DataType;
use crate::loader::{Batch, ChipReader, Labels, Loader, LoaderConfig, Mosaic, OnError, Priority};
use crate::{Sampler, SamplerState};

fn parse_dtype(name: &str) -> PyResult<DataType> {
    Ok(match name {
        "uint8" => DataType::U8,
        "int8" => DataType::I8,
        "uint16" => DataType::U16,
        "int16" => DataType::I16,
        "uint32" => DataType::U32,
        "int32" => DataType::I32,
        "float32" => DataType::F32,
        "float64" => DataType::F64,
        other => {
            return Err(PyValueError::new_err(format!(
                "dtype must be one of uint8, int8, uint16, int16, uint32, int32, float32, float64; not {other:?}"
            )));
        }
    })
}

fn parse_mosaic(name: &str) -> PyResult<Mosaic> {
    Ok(match name {
        "newest" => Mosaic::FirstValid(Priority::Newest),
        "oldest" => Mosaic::FirstValid(Priority::Oldest),
        "catalog" => Mosaic::FirstValid(Priority::Catalog),
        "single" => Mosaic::Single,
        other => {
            return Err(PyValueError::new_err(format!(
                "mosaic must be \"newest\", \"oldest\", \"catalog\" or \"single\", not {other:?}"
            )));
        }
    })
}

/// The resampling of image bands, `resampling` for every asset but those `by_asset` names (see
/// [`LoaderConfig::resampling`]), set on `config`.
fn set_resampling(
    config: &mut LoaderConfig,
    resampling: &str,
    by_asset: Option<HashMap<String, String>>,
) -> PyResult<()> {
    config.resampling = resampling.parse().map_err(to_py)?;
    for (key, name) in by_asset.unwrap_or_default() {
        config
            .asset_resampling
            .insert(key, name.parse().map_err(to_py)?);
    }
    Ok(())
}

/// The chip size of a sampler's slices, when it is fixed in pixels.
fn sampler_size(sampler: &AnySampler) -> Option<(u32, u32)> {
    sampler.clone().next().map(|s| s.size)
}

/// Batches of chips for a sampler's epoch: iterate it to get ``Batch`` objects.
///
/// Nothing starts at construction: the runtime, the decode pool and the ring are made on the first batch, in
/// the process that iterates (so a loader made before ``fork`` works in the child).
#[pyclass(name = "Loader", module = "geochips", frozen)]
struct PyLoader {
    inner: Mutex<Loader>,
    /// A copy of the sampler as given, for lengths.
    sampler: AnySampler,
    /// Samples per batch.
    batch_size: usize,
    /// Chips per batch: samples times time steps.
    batch_chips: usize,
}

impl PyLoader {
    fn lock(&self) -> MutexGuard<'_, Loader> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PyLoader {
    /// A loader of ``sampler``'s slices (a copy of it, in its current state and shard) over ``catalog``.
    ///
    /// ``size``: chip width and height (an int or a pair; None: the sampler's); ``bands``: band names to stack
    /// (None: all bands of all assets but the labels); ``labels``: the band name of the label raster read into
    /// each batch's ``mask`` (None: no labels); ``mosaic``: how a chip over several items is filled, each pixel
    /// from the first valid item, ``"newest"`` first (default), ``"oldest"`` or in ``"catalog"`` order, or
    /// ``"single"`` (the slice's item alone); ``time_steps``: 1, or ``T`` to read a ``TimeSeriesSampler``'s
    /// samples of ``T`` steps as ``image`` [B, T, C, H, W], ``valid`` and ``mask`` [B, T, H, W]; ``resampling``: ``"bilinear"`` (default) or ``"nearest"``, how
    /// image bands are resampled onto a chip's grid that is not their own (another resolution or CRS), and
    /// ``asset_resampling`` a dict of asset key to method for the assets that differ (labels: always nearest);
    /// ``dtype``: the image type (None: the assets'); ``prefetch`` batches
    /// fetched ahead (None: 16) and ``ring_slots`` reusable slots for batches being decoded or held (None: 4;
    /// at least 2); ``max_requests``/``max_bytes`` in
    /// flight; ``tile_cache_bytes`` of decoded tiles; ``decode_threads`` (None: one per core); ``fill`` where
    /// pixels are invalid (None: nodata, else 0); ``on_error`` "raise" or "skip"; ``ordered`` batches in
    /// sampler order (else as they complete); ``ops``: a ``geochips.ops.Sequential`` (or a list of ops) run on
    /// each chip on the decode threads (the batches hold their output).
    #[new]
    #[pyo3(signature = (
        catalog, sampler, *, size=None, bands=None, labels=None, mosaic="newest", resampling="bilinear",
        asset_resampling=None, batch_size=32, time_steps=1, dtype=None, prefetch=None, ring_slots=None,
        max_requests=256, max_bytes=256 << 20, tile_cache_bytes=256 << 20, decode_threads=None, fill=None,
        on_error="raise", ordered=true, ops=None,
    ))]
    #[allow(clippy::too_many_arguments)] // the Python signature
    fn new(
        catalog: &PyCatalog,
        sampler: &Bound<'_, PyAny>,
        size: Option<&Bound<'_, PyAny>>,
        bands: Option<Vec<String>>,
        labels: Option<String>,
        mosaic: &str,
        resampling: &str,
        asset_resampling: Option<HashMap<String, String>>,
        batch_size: usize,
        time_steps: usize,
        dtype: Option<&str>,
        prefetch: Option<usize>,
        ring_slots: Option<usize>,
        max_requests: usize,
        max_bytes: u64,
        tile_cache_bytes: u64,
        decode_threads: Option<usize>,
        fill: Option<f64>,
        on_error: &str,
        ordered: bool,
        ops: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let sampler = samplers::extract(sampler)?;
        let size = match size {
            Some(s) => {
                if let Ok(n) = s.extract::<i64>() {
                    (n, n)
                } else {
                    s.extract::<(i64, i64)>().map_err(|_| {
                        PyValueError::new_err("size must be an int or a (width, height) pair")
                    })?
                }
            }
            None => match sampler_size(&sampler) {
                Some((w, h)) => (w as i64, h as i64),
                None => {
                    return Err(PyValueError::new_err(
                        "the sampler draws no slice: nothing to load (check size, roi and toi)",
                    ));
                }
            },
        };
        if size.0 <= 0 || size.1 <= 0 || size.0 > u32::MAX as i64 || size.1 > u32::MAX as i64 {
            return Err(PyValueError::new_err(format!(
                "size must be positive, got {size:?}"
            )));
        }
        if let Some(s) = sampler_size(&sampler).filter(|s| (s.0 as i64, s.1 as i64) != size) {
            return Err(PyValueError::new_err(format!(
                "size {size:?} differs from the sampler's chips {s:?}"
            )));
        }
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be positive, got 0"));
        }
        let mut config = LoaderConfig::new(size.0 as u32, size.1 as u32);
        config.bands = bands;
        config.labels = labels.map(Labels::Band);
        config.mosaic = parse_mosaic(mosaic)?;
        set_resampling(&mut config, resampling, asset_resampling)?;
        config.batch_size = batch_size;
        config.time_steps = time_steps;
        config.dtype = dtype.map(parse_dtype).transpose()?;
        config.ops = ops.map(super::ops::extract).transpose()?;
        config.prefetch = prefetch.unwrap_or(config.prefetch);
        config.ring_slots = ring_slots.unwrap_or(config.ring_slots);
        config.max_requests = max_requests;
        config.max_bytes = max_bytes;
        config.tile_cache_bytes = tile_cache_bytes;
        config.decode_threads = decode_threads;
        config.fill = fill;
        config.on_error = match on_error {
            "raise" => OnError::Raise,
            "skip" => OnError::Skip,
            other => {
                return Err(PyValueError::new_err(format!(
                    "on_error must be \"raise\" or \"skip\", not {other:?}"
                )));
            }
        };
        config.ordered = ordered;
        let loader = Loader::new(catalog.inner.clone(), sampler.clone(), config).map_err(to_py)?;
        Ok(PyLoader {
            inner: Mutex::new(loader),
            sampler,
            batch_chips: batch_size * time_steps,
            batch_size,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The next batch; StopIteration at the end of the epoch. The GIL is released while it waits.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyBatch>> {
        match py.allow_threads(|| self.lock().next()) {
            None => Ok(None),
            Some(Ok(batch)) => Ok(Some(PyBatch(Arc::new(batch)))),
            Some(Err(e)) => Err(to_py(e)),
        }
    }

    /// Start epoch ``epoch`` from its beginning (batches of the previous epoch still in flight are dropped).
    fn set_epoch(&self, py: Python<'_>, epoch: u64) {
        py.allow_threads(|| self.lock().set_epoch(epoch))
    }

    /// Start epoch ``epoch`` after its first ``batches`` batches (of this loader's shard): the next batch is
    /// the one that came after them. Exact while no chip was skipped (``on_error="skip"`` draws replacements).
    fn resume(&self, py: Python<'_>, epoch: u64, batches: u64) {
        py.allow_threads(|| {
            let mut loader = self.lock();
            let state = SamplerState {
                epoch,
                position: batches * self.batch_chips as u64,
                ..loader.sampler_state()
            };
            loader.restore_sampler(&state);
        })
    }

    /// The sampler's state (a dict, see ``RandomSampler.state``); it counts slices of batches still in flight.
    fn sampler_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        state_dict(py, &self.lock().sampler_state())
    }

    /// Batches in an epoch of the sampler's shard (the last one may be short).
    fn __len__(&self) -> usize {
        (self.sampler.epoch_len() as usize).div_ceil(self.batch_chips)
    }

    /// Samples per batch: chips, or time series.
    #[getter]
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Channels per chip.
    #[getter]
    fn channels(&self) -> usize {
        self.lock().channels()
    }

    /// The numpy name of the batch image type.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.lock().dtype().name()
    }

    /// Whether the ring is pinned host memory (None before the first batch).
    #[getter]
    fn pinned(&self) -> Option<bool> {
        self.lock().pinned()
    }

    /// The loader's counters so far, as a dict (chips, batches, skipped, bytes_fetched, bytes_decoded,
    /// requests, cache_hits, blocks_decoded, and seconds spent planning, fetching, decoding, pasting, in ops
    /// and waiting).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.lock().stats();
        let d = PyDict::new(py);
        d.set_item("chips", s.chips)?;
        d.set_item("batches", s.batches)?;
        d.set_item("skipped", s.skipped)?;
        d.set_item("bytes_fetched", s.bytes_fetched)?;
        d.set_item("bytes_decoded", s.bytes_decoded)?;
        d.set_item("requests", s.requests)?;
        d.set_item("cache_hits", s.cache_hits)?;
        d.set_item("blocks_decoded", s.blocks_decoded)?;
        d.set_item("plan_seconds", s.plan_seconds)?;
        d.set_item("wait_bytes_seconds", s.wait_bytes_seconds)?;
        d.set_item("fetch_seconds", s.fetch_seconds)?;
        d.set_item("decode_seconds", s.decode_seconds)?;
        d.set_item("paste_seconds", s.paste_seconds)?;
        d.set_item("ops_seconds", s.ops_seconds)?;
        d.set_item("wait_slot_seconds", s.wait_slot_seconds)?;
        d.set_item("wait_consumer_seconds", s.wait_consumer_seconds)?;
        d.set_item("consumer_wait_seconds", s.consumer_wait_seconds)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!("<geochips.Loader {:?}>", self.lock())
    }
}

/// A batch of chips in a ring slot: ``image`` [B, C, H, W], ``valid`` [B, H, W] (1 where every band is
/// valid), ``mask`` [B, H, W] (the labels, when the loader reads them), each chip's GeoSlice, item id and
/// transform. Time series batches (``steps`` > 1) add a T axis after B: [B, T, C, H, W] and [B, T, H, W];
/// their per-chip lists (slices, bounds, time, ...) hold B·T entries, sample-major. The slot is reused only
/// when the Batch and every DLPack export of it are gone.
#[pyclass(name = "Batch", module = "geochips", frozen)]
struct PyBatch(Arc<Batch>);

impl PyBatch {
    /// The leading axes of the batch's arrays: [B], or [B, T] for time series.
    fn leading(&self) -> Vec<usize> {
        let (n, steps) = (self.0.len(), self.0.steps());
        match steps {
            1 => vec![n],
            _ => vec![n / steps, steps],
        }
    }

    /// An export of a region of the slot: the leading axes, then `rest`.
    fn export(&self, bytes: &[u8], dtype: DataType, rest: &[usize]) -> PyBatchArray {
        PyBatchArray(Export {
            lease: self.0.lease().clone(),
            data: bytes.as_ptr(),
            dtype,
            shape: [self.leading().as_slice(), rest].concat(),
        })
    }

    /// An export of one [B, H, W] plane of the slot.
    fn plane(&self, bytes: &[u8], dtype: DataType) -> PyBatchArray {
        let [_, _, h, w] = self.0.shape();
        self.export(bytes, dtype, &[h, w])
    }
}

#[pymethods]
impl PyBatch {
    /// The images, [B, C, H, W] ([B, T, C, H, W] for time series): pass to ``torch.from_dlpack`` /
    /// ``numpy.from_dlpack`` (no copy).
    #[getter]
    fn image(&self) -> PyBatchArray {
        let [_, c, h, w] = self.0.shape();
        self.export(self.0.image_bytes(), self.0.dtype(), &[c, h, w])
    }

    /// The validity mask, [B, H, W] uint8: 1 where every band is valid.
    #[getter]
    fn valid(&self) -> PyBatchArray {
        self.plane(self.0.valid_bytes(), DataType::U8)
    }

    /// The labels, [B, H, W] of the label raster's type; None when the loader reads no labels.
    #[getter]
    fn mask(&self) -> Option<PyBatchArray> {
        let b = &self.0;
        Some(self.plane(b.mask_bytes()?, b.mask_dtype()?))
    }

    /// Position of the batch in its epoch.
    #[getter]
    fn index(&self) -> u64 {
        self.0.index()
    }

    /// The shape of ``image``: (B, C, H, W), or (B, T, C, H, W) for time series.
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.image().0.shape
    }

    /// Time steps per sample: 1, or T for time series.
    #[getter]
    fn steps(&self) -> usize {
        self.0.steps()
    }

    /// The numpy name of the image type.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.0.dtype().name()
    }

    /// Each chip's GeoSlice.
    #[getter]
    fn slices(&self) -> Vec<PyGeoSlice> {
        self.0.slices().iter().copied().map(PyGeoSlice).collect()
    }

    /// Each chip's ``(minx, miny, maxx, maxy)``.
    #[getter]
    fn bounds(&self) -> Vec<(f64, f64, f64, f64)> {
        let b = |s: &crate::GeoSlice| (s.bounds.minx, s.bounds.miny, s.bounds.maxx, s.bounds.maxy);
        self.0.slices().iter().map(b).collect()
    }

    /// Each chip's CRS, "EPSG:<code>".
    #[getter]
    fn crs(&self) -> Vec<String> {
        self.0.slices().iter().map(|s| s.crs.to_string()).collect()
    }

    /// Each chip's ``(start, end)`` µs since the Unix epoch (None where open).
    #[getter]
    fn time(&self) -> Vec<(Option<i64>, Option<i64>)> {
        self.0
            .slices()
            .iter()
            .map(|s| samplers::time(&s.interval))
            .collect()
    }

    /// Each chip's catalog item id.
    #[getter]
    fn items(&self) -> Vec<String> {
        self.0.items().to_vec()
    }

    /// Each chip's pixel → CRS transform, rasterio's Affine order (a, b, c, d, e, f).
    #[getter]
    fn transforms(&self) -> Vec<[f64; 6]> {
        self.0.transforms().iter().map(|t| t.to_affine()).collect()
    }

    /// Whether the slot is pinned (page-locked, CUDA-registered) host memory.
    #[getter]
    fn pinned(&self) -> bool {
        self.0.pinned()
    }

    /// Samples: chips, or time series.
    fn __len__(&self) -> usize {
        self.0.len() / self.0.steps()
    }

    fn __repr__(&self) -> String {
        format!(
            "<geochips.Batch {} shape={:?} {}>",
            self.0.index(),
            self.shape(),
            self.0.dtype()
        )
    }
}

/// One array of a batch (its image or mask), exported with the DLPack protocol; it keeps the slot leased.
#[pyclass(name = "BatchArray", module = "geochips", frozen)]
struct PyBatchArray(Export);

#[pymethods]
impl PyBatchArray {
    /// A DLPack capsule of the array (no copy): DLPack 1.x ("dltensor_versioned", flagged read-only) when
    /// ``max_version >= (1, 0)``, legacy "dltensor" otherwise. The device is the CPU, pinned or not.
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__(
        &self,
        py: Python<'_>,
        stream: Option<&Bound<'_, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<PyObject> {
        let _ = stream; // CPU memory: nothing to synchronize
        if let Some(d) = dl_device.filter(|d| *d != (KDL_CPU, 0)) {
            return Err(PyBufferError::new_err(format!(
                "geochips batches are on the CPU (kDLCPU, 0); cannot export to device {d:?}"
            )));
        }
        if copy == Some(true) {
            return Err(PyBufferError::new_err(
                "geochips exports batches without a copy; copy=True is not supported",
            ));
        }
        let versioned = max_version.is_some_and(|(major, _)| major >= 1);
        self.0.capsule(py, versioned)
    }

    /// ``(kDLCPU, 0)``: batches live in host memory (pinned when CUDA is present).
    fn __dlpack_device__(&self) -> (i32, i32) {
        (KDL_CPU, 0)
    }

    /// The C-order shape.
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.0.shape.clone()
    }

    /// The numpy name of the element type.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.0.dtype.name()
    }

    /// The address of the first element: the ring slot's memory.
    #[getter]
    fn address(&self) -> usize {
        self.0.data as usize
    }

    fn __repr__(&self) -> String {
        format!(
            "<geochips.BatchArray shape={:?} {} at {:#x}>",
            self.0.shape, self.0.dtype, self.0.data as usize
        )
    }
}

/// Reads given GeoSlices (from any sampler, or made by hand) into a batch: the loader's pipeline on demand,
/// for map-style datasets.
#[pyclass(name = "ChipReader", module = "geochips", frozen)]
struct PyChipReader(Mutex<ChipReader>);

#[pymethods]
impl PyChipReader {
    /// A reader of ``size`` chips (an int or ``(width, height)``) of ``bands`` (None: all but the labels) and
    /// the ``labels`` band (None: no labels) from ``catalog``, mosaicked and resampled as ``Loader``'s
    /// ``mosaic``, ``resampling`` and ``asset_resampling`` say, up to ``batch_size`` per ``read``, as ``dtype``
    /// (None: the assets' type); ``fill`` where invalid.
    #[new]
    #[pyo3(signature = (
        catalog, size, *, bands=None, labels=None, mosaic="newest", resampling="bilinear", asset_resampling=None,
        batch_size=64, dtype=None, fill=None,
    ))]
    #[allow(clippy::too_many_arguments)] // the Python signature
    fn new(
        catalog: &PyCatalog,
        size: &Bound<'_, PyAny>,
        bands: Option<Vec<String>>,
        labels: Option<String>,
        mosaic: &str,
        resampling: &str,
        asset_resampling: Option<HashMap<String, String>>,
        batch_size: usize,
        dtype: Option<&str>,
        fill: Option<f64>,
    ) -> PyResult<Self> {
        let (w, h) = if let Ok(n) = size.extract::<i64>() {
            (n, n)
        } else {
            size.extract::<(i64, i64)>().map_err(|_| {
                PyValueError::new_err("size must be an int or a (width, height) pair")
            })?
        };
        if w <= 0 || h <= 0 || w > u32::MAX as i64 || h > u32::MAX as i64 {
            return Err(PyValueError::new_err(format!(
                "size must be positive, got ({w}, {h})"
            )));
        }
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be positive, got 0"));
        }
        let mut config = LoaderConfig::new(w as u32, h as u32);
        config.bands = bands;
        config.labels = labels.map(Labels::Band);
        config.mosaic = parse_mosaic(mosaic)?;
        set_resampling(&mut config, resampling, asset_resampling)?;
        config.batch_size = batch_size;
        config.dtype = dtype.map(parse_dtype).transpose()?;
        config.fill = fill;
        let reader = ChipReader::new(catalog.inner.clone(), config).map_err(to_py)?;
        Ok(PyChipReader(Mutex::new(reader)))
    }

    /// Read ``slices`` (at most ``batch_size``, each of the reader's size) into one Batch, in order. The GIL
    /// is released while Rust reads.
    fn read(&self, py: Python<'_>, slices: Vec<PyGeoSlice>) -> PyResult<PyBatch> {
        let slices: Vec<crate::GeoSlice> = slices.iter().map(|s| s.0).collect();
        py.allow_threads(|| {
            let mut reader = self.0.lock().unwrap_or_else(|e| e.into_inner());
            reader
                .read(&slices)
                .map(|b| PyBatch(Arc::new(b)))
                .map_err(to_py)
        })
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLoader>()?;
    m.add_class::<PyChipReader>()?;
    m.add_class::<PyBatch>()?;
    m.add_class::<PyBatchArray>()
}
