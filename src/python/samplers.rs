//! `geochips.RandomSampler`, `geochips.GridSampler`, `geochips.TimeSeriesSampler` and `geochips.GeoSlice`:
//! the samplers with TorchGeo-like keyword options, drawing slices over a catalog's footprints.

use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::catalog::PyCatalog;
use super::to_py;
use crate::samplers::{
    ChipSize, Edge, GridOptions, GridSampler, Polygon, RandomOptions, RandomSampler, SamplerError,
    TimeSeriesOptions, TimeSeriesSampler, Weighting,
};
use crate::{Bounds, Crs, Footprint, GeoSlice, Interval, Sampler, SamplerState, Shard};

/// One of the samplers the Python package exposes, as one `Sampler` type the loader can own.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per loader, never in a collection
pub(crate) enum AnySampler {
    /// A `geochips.RandomSampler`.
    Random(RandomSampler),
    /// A `geochips.GridSampler`.
    Grid(GridSampler),
    /// A `geochips.TimeSeriesSampler`.
    TimeSeries(TimeSeriesSampler),
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            AnySampler::Random($s) => $e,
            AnySampler::Grid($s) => $e,
            AnySampler::TimeSeries($s) => $e,
        }
    };
}

impl Iterator for AnySampler {
    type Item = GeoSlice;

    fn next(&mut self) -> Option<GeoSlice> {
        each!(self, s => s.next())
    }
}

impl Sampler for AnySampler {
    fn set_epoch(&mut self, epoch: u64) {
        each!(self, s => s.set_epoch(epoch))
    }
    fn set_shard(&mut self, shard: Shard) {
        each!(self, s => s.set_shard(shard))
    }
    fn epoch_len(&self) -> u64 {
        each!(self, s => s.epoch_len())
    }
    fn state(&self) -> SamplerState {
        each!(self, s => s.state())
    }
    fn restore(&mut self, state: &SamplerState) {
        each!(self, s => s.restore(state))
    }
}

/// A sampler error as a Python `ValueError` naming the option and the problem.
fn sampler_err(e: SamplerError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// `size` as given from Python: an int (square) or a `(width, height)` pair, in pixels or CRS units.
fn chip_size(obj: &Bound<'_, PyAny>, units: &str, option: &str) -> PyResult<ChipSize> {
    let (w, h): (f64, f64) = if let Ok(n) = obj.extract::<f64>() {
        (n, n)
    } else {
        obj.extract().map_err(|_| {
            PyValueError::new_err(format!(
                "{option} must be a number or a (width, height) pair"
            ))
        })?
    };
    let bad = |why: &str| {
        Err(PyValueError::new_err(format!(
            "{option} {why}, got ({w}, {h})"
        )))
    };
    if !(w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0) {
        return bad("must be positive");
    }
    match units {
        "pixels" => {
            if w.fract() != 0.0 || h.fract() != 0.0 || w > u32::MAX as f64 || h > u32::MAX as f64 {
                return bad("must be whole pixels with units=\"pixels\"");
            }
            Ok(ChipSize::Pixels(w as u32, h as u32))
        }
        "crs" => Ok(ChipSize::Units(w, h)),
        other => Err(PyValueError::new_err(format!(
            "units must be \"pixels\" or \"crs\", not {other:?}"
        ))),
    }
}

/// The footprints a sampler draws from: each item's own grid, or with `crs` one grid in that CRS at `res` (a
/// number or an `(x, y)` pair of pixel sizes in its units), onto which the loader warps the items.
fn footprints(
    catalog: &PyCatalog,
    crs: Option<&str>,
    res: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<Footprint>> {
    let (crs, res) = match (crs, res) {
        (None, None) => return Ok(catalog.inner.footprints()),
        (Some(crs), Some(res)) => (crs, res),
        _ => {
            return Err(PyValueError::new_err(
                "crs and res go together: chips in crs (\"EPSG:<code>\") at res (pixel size in its units)",
            ));
        }
    };
    let res: (f64, f64) = match res.extract::<f64>() {
        Ok(r) => (r, r),
        Err(_) => res
            .extract()
            .map_err(|_| PyValueError::new_err("res must be a number or an (x, y) pair"))?,
    };
    catalog
        .inner
        .footprints_in(parse_crs(crs)?, res)
        .map_err(to_py)
}

/// "EPSG:<code>" (or a bare code) as a Crs.
pub(crate) fn parse_crs(text: &str) -> PyResult<Crs> {
    text.strip_prefix("EPSG:")
        .unwrap_or(text)
        .parse()
        .ok()
        .map(Crs::from_epsg)
        .ok_or_else(|| PyValueError::new_err(format!("crs must be \"EPSG:<code>\", not {text:?}")))
}

/// `roi`: `(minx, miny, maxx, maxy)` bounds or a list of `(x, y)` vertices, in `roi_crs`.
fn roi(obj: Option<&Bound<'_, PyAny>>, roi_crs: Option<&str>) -> PyResult<Option<Polygon>> {
    let Some(obj) = obj else {
        return Ok(None);
    };
    let crs = parse_crs(roi_crs.ok_or_else(|| {
        PyValueError::new_err("roi needs roi_crs (\"EPSG:<code>\"), the CRS of its coordinates")
    })?)?;
    let polygon = if let Ok((a, b, c, d)) = obj.extract::<(f64, f64, f64, f64)>() {
        Polygon::rectangle(crs, Bounds::new(a, b, c, d))
    } else {
        let ring: Vec<(f64, f64)> = obj.extract().map_err(|_| {
            PyValueError::new_err(
                "roi must be (minx, miny, maxx, maxy) bounds or a list of (x, y) vertices",
            )
        })?;
        Polygon::new(crs, ring)
    };
    polygon.map(Some).map_err(sampler_err)
}

/// `toi`: `(start, end)` in µs since the Unix epoch, either end None for open; None for all of time.
fn toi(toi: Option<(Option<i64>, Option<i64>)>) -> PyResult<Interval> {
    let Some((start, end)) = toi else {
        return Ok(Interval::OPEN);
    };
    let interval = Interval::new(start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX));
    if interval.start > interval.end {
        return Err(PyValueError::new_err(format!(
            "toi must have start <= end, got ({}, {})",
            interval.start, interval.end
        )));
    }
    Ok(interval)
}

/// What the Python sampler classes share: the sampler behind a lock.
#[derive(Debug)]
pub(crate) struct Held(Mutex<AnySampler>);

impl Held {
    fn lock(&self) -> MutexGuard<'_, AnySampler> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the sampler as it stands.
    pub(crate) fn get(&self) -> AnySampler {
        self.lock().clone()
    }
}

/// A sampler's state as a dict: seed, epoch, rank, world_size, worker, num_workers, position.
pub(crate) fn state_dict<'py>(py: Python<'py>, s: &SamplerState) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("seed", s.seed)?;
    d.set_item("epoch", s.epoch)?;
    d.set_item("rank", s.shard.rank)?;
    d.set_item("world_size", s.shard.world_size)?;
    d.set_item("worker", s.shard.worker)?;
    d.set_item("num_workers", s.shard.num_workers)?;
    d.set_item("position", s.position)?;
    Ok(d)
}

/// The SamplerState a dict from [`state_dict`] describes.
pub(crate) fn state_from(d: &Bound<'_, PyDict>) -> PyResult<SamplerState> {
    let get = |key: &str| -> PyResult<u64> {
        d.get_item(key)?
            .ok_or_else(|| PyValueError::new_err(format!("sampler state has no {key:?}")))?
            .extract()
    };
    Ok(SamplerState {
        seed: get("seed")?,
        epoch: get("epoch")?,
        shard: Shard {
            rank: get("rank")? as usize,
            world_size: get("world_size")? as usize,
            worker: get("worker")? as usize,
            num_workers: get("num_workers")? as usize,
        },
        position: get("position")?,
    })
}

/// The methods both sampler classes have.
macro_rules! sampler_methods {
    ($t:ty, $($ctor:tt)*) => {
        #[pymethods]
        impl $t {
            $($ctor)*

            /// Start epoch ``epoch`` from its beginning.
            fn set_epoch(&self, epoch: u64) {
                self.held.lock().set_epoch(epoch)
            }

            /// Draw only one shard of each epoch: DDP ``rank`` of ``world_size``, DataLoader ``worker`` of
            /// ``num_workers``. Every shard has the same length (short ones repeat slices).
            #[pyo3(signature = (rank=0, world_size=1, worker=0, num_workers=1))]
            fn set_shard(
                &self,
                rank: usize,
                world_size: usize,
                worker: usize,
                num_workers: usize,
            ) -> PyResult<()> {
                if world_size == 0 || num_workers == 0 || rank >= world_size || worker >= num_workers {
                    return Err(PyValueError::new_err(format!(
                        "shard must have rank < world_size and worker < num_workers, got rank {rank} of \
                         {world_size}, worker {worker} of {num_workers}"
                    )));
                }
                self.held.lock().set_shard(Shard {
                    rank,
                    world_size,
                    worker,
                    num_workers,
                });
                Ok(())
            }

            /// Where the sampler stands: a dict (seed, epoch, rank, world_size, worker, num_workers,
            /// position) that ``restore`` takes back.
            fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                state_dict(py, &self.held.lock().state())
            }

            /// Go back to a ``state()``: the next slice is the one that followed when it was taken.
            fn restore(&self, state: &Bound<'_, PyDict>) -> PyResult<()> {
                let state = state_from(state)?;
                self.held.lock().restore(&state);
                Ok(())
            }

            /// An independent copy of the sampler, in the same state.
            fn copy(&self) -> Self {
                Self {
                    held: Held(Mutex::new(self.held.get())),
                }
            }

            /// The slices still to come in this epoch (of this shard), without advancing the sampler.
            fn slices(&self) -> Vec<PyGeoSlice> {
                self.held.get().map(PyGeoSlice).collect()
            }

            /// Number of slices in this shard's epoch.
            fn __len__(&self) -> usize {
                self.held.lock().epoch_len() as usize
            }

            fn __repr__(&self) -> String {
                let s = self.held.lock();
                format!(
                    "<geochips.{} {} slices, state {:?}>",
                    stringify!($t).trim_start_matches("Py"),
                    s.epoch_len(),
                    s.state()
                )
            }
        }
    };
}

/// Random chips, uniform over the union of the catalog's footprints (or TorchGeo's item-area weighting), each
/// snapped to its item's pixel grid. Slice ``i`` of an epoch is a pure function of ``(seed, epoch, i)``.
#[pyclass(name = "RandomSampler", module = "geochips", frozen)]
pub(crate) struct PyRandomSampler {
    pub(crate) held: Held,
}

sampler_methods!(
    PyRandomSampler,
    /// Random ``size`` chips (an int or ``(width, height)``, in ``units`` "pixels" or "crs") over
    /// ``catalog``: ``length`` per epoch (None: the items' area over the chip area, as TorchGeo), ``roi``
    /// (bounds or vertices in ``roi_crs``), ``toi`` ``(start, end)`` µs since the epoch, ``weighting``
    /// "uniform" or "item_area", ``boundless`` (only the chip's centre must lie inside), and locality
    /// (``chips_per_neighbourhood`` chips within ``neighbourhood`` chip sizes, for tile-cache hits); with
    /// ``crs`` and ``res``, chips in that CRS at that pixel size (the loader warps the items onto them).
    #[new]
    #[pyo3(signature = (
        catalog, size=None, *, length=None, seed=0, units="pixels", roi=None, roi_crs=None, toi=None,
        weighting="uniform", boundless=false, chips_per_neighbourhood=1, neighbourhood=2.0, crs=None,
        res=None,
    ))]
    #[allow(clippy::too_many_arguments)] // the Python signature
    fn new(
        catalog: &PyCatalog,
        size: Option<&Bound<'_, PyAny>>,
        length: Option<u64>,
        seed: u64,
        units: &str,
        roi: Option<&Bound<'_, PyAny>>,
        roi_crs: Option<&str>,
        toi: Option<(Option<i64>, Option<i64>)>,
        weighting: &str,
        boundless: bool,
        chips_per_neighbourhood: u32,
        neighbourhood: f64,
        crs: Option<&str>,
        res: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let weighting = match weighting {
            "uniform" => Weighting::Uniform,
            "item_area" => Weighting::ItemArea,
            other => {
                return Err(PyValueError::new_err(format!(
                    "weighting must be \"uniform\" or \"item_area\", not {other:?}"
                )));
            }
        };
        let options = RandomOptions {
            size: match size {
                Some(s) => chip_size(s, units, "size")?,
                None => ChipSize::pixels(256),
            },
            length,
            seed,
            roi: self::roi(roi, roi_crs)?,
            toi: self::toi(toi)?,
            weighting,
            boundless,
            chips_per_neighbourhood,
            neighbourhood,
        };
        let sampler =
            RandomSampler::new(&footprints(catalog, crs, res)?, options).map_err(sampler_err)?;
        Ok(PyRandomSampler {
            held: Held(Mutex::new(AnySampler::Random(sampler))),
        })
    }
);

/// Chips on a regular grid over every item, in the order (item, row, column), the same every epoch.
#[pyclass(name = "GridSampler", module = "geochips", frozen)]
pub(crate) struct PyGridSampler {
    pub(crate) held: Held,
}

sampler_methods!(
    PyGridSampler,
    /// Every item of ``catalog`` tiled with ``size`` chips every ``stride`` (None: ``size``), both an int or
    /// ``(width, height)`` in ``units`` "pixels" or "crs"; ``edge`` "clamp" (the last row/column ends on the
    /// raster's edge, as TorchGeo) or "pad" (keeps the stride, reads past the edge as fill); ``roi`` bounds or
    /// vertices in ``roi_crs`` (its bounding box limits the tiling); ``toi`` ``(start, end)`` µs; with ``crs``
    /// and ``res``, chips in that CRS at that pixel size (the loader warps the items onto them).
    #[new]
    #[pyo3(signature = (
        catalog, size=None, stride=None, *, units="pixels", edge="clamp", roi=None, roi_crs=None, toi=None,
        seed=0, crs=None, res=None,
    ))]
    #[allow(clippy::too_many_arguments)] // the Python signature
    fn new(
        catalog: &PyCatalog,
        size: Option<&Bound<'_, PyAny>>,
        stride: Option<&Bound<'_, PyAny>>,
        units: &str,
        edge: &str,
        roi: Option<&Bound<'_, PyAny>>,
        roi_crs: Option<&str>,
        toi: Option<(Option<i64>, Option<i64>)>,
        seed: u64,
        crs: Option<&str>,
        res: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let edge = match edge {
            "clamp" => Edge::Clamp,
            "pad" => Edge::Pad,
            other => {
                return Err(PyValueError::new_err(format!(
                    "edge must be \"clamp\" or \"pad\", not {other:?}"
                )));
            }
        };
        let options = GridOptions {
            size: match size {
                Some(s) => chip_size(s, units, "size")?,
                None => ChipSize::pixels(256),
            },
            stride: stride.map(|s| chip_size(s, units, "stride")).transpose()?,
            edge,
            toi: self::toi(toi)?,
            roi: self::roi(roi, roi_crs)?,
            seed,
        };
        let sampler =
            GridSampler::new(&footprints(catalog, crs, res)?, options).map_err(sampler_err)?;
        Ok(PyGridSampler {
            held: Held(Mutex::new(AnySampler::Grid(sampler))),
        })
    }
);

/// Time series: each sample is ``steps`` slices of one place from ``steps`` items of distinct dates, in
/// increasing time (slices ``g*steps`` to ``g*steps + steps - 1`` form sample ``g``). Read them with
/// ``Loader(..., time_steps=steps)``: images [B, T, C, H, W].
#[pyclass(name = "TimeSeriesSampler", module = "geochips", frozen)]
pub(crate) struct PyTimeSeriesSampler {
    pub(crate) held: Held,
}

sampler_methods!(
    PyTimeSeriesSampler,
    /// Samples of ``steps`` chips of ``size`` (an int or ``(width, height)``, in ``units`` "pixels" or
    /// "crs") at one place over ``catalog``, from items with distinct dates: ``length`` samples per epoch
    /// (None: the area covered ``steps`` times over the chip area, over ``steps``), ``roi`` (bounds or
    /// vertices in ``roi_crs``), ``toi`` ``(start, end)`` µs since the epoch, ``boundless``; with ``crs`` and
    /// ``res``, chips in that CRS at that pixel size (the loader warps the items onto them).
    #[new]
    #[pyo3(signature = (
        catalog, size=None, *, steps=4, length=None, seed=0, units="pixels", roi=None, roi_crs=None,
        toi=None, boundless=false, crs=None, res=None,
    ))]
    #[allow(clippy::too_many_arguments)] // the Python signature
    fn new(
        catalog: &PyCatalog,
        size: Option<&Bound<'_, PyAny>>,
        steps: usize,
        length: Option<u64>,
        seed: u64,
        units: &str,
        roi: Option<&Bound<'_, PyAny>>,
        roi_crs: Option<&str>,
        toi: Option<(Option<i64>, Option<i64>)>,
        boundless: bool,
        crs: Option<&str>,
        res: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let options = TimeSeriesOptions {
            size: match size {
                Some(s) => chip_size(s, units, "size")?,
                None => ChipSize::pixels(256),
            },
            steps,
            length,
            seed,
            roi: self::roi(roi, roi_crs)?,
            toi: self::toi(toi)?,
            boundless,
        };
        let sampler = TimeSeriesSampler::new(&footprints(catalog, crs, res)?, options)
            .map_err(sampler_err)?;
        Ok(PyTimeSeriesSampler {
            held: Held(Mutex::new(AnySampler::TimeSeries(sampler))),
        })
    }
);

/// One chip to read: where (bounds in a CRS), when (time) and on which pixel grid (size, res).
#[pyclass(name = "GeoSlice", module = "geochips", frozen)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct PyGeoSlice(pub(crate) GeoSlice);

#[pymethods]
impl PyGeoSlice {
    /// A slice by hand: catalog ``item`` index, ``bounds`` ``(minx, miny, maxx, maxy)`` in ``crs``, ``size``
    /// ``(width, height)`` in pixels (the resolution follows), ``time`` ``(start, end)`` µs (None: open).
    #[new]
    #[pyo3(signature = (item, bounds, crs, size, *, time=None, id=0))]
    fn new(
        item: usize,
        bounds: (f64, f64, f64, f64),
        crs: &str,
        size: (u32, u32),
        time: Option<(Option<i64>, Option<i64>)>,
        id: u64,
    ) -> PyResult<Self> {
        let (minx, miny, maxx, maxy) = bounds;
        if !(minx < maxx && miny < maxy) || size.0 == 0 || size.1 == 0 {
            return Err(PyValueError::new_err(format!(
                "a GeoSlice needs minx < maxx, miny < maxy and a positive size, got {bounds:?}, {size:?}"
            )));
        }
        Ok(PyGeoSlice(GeoSlice {
            id,
            item,
            bounds: Bounds::new(minx, miny, maxx, maxy),
            crs: parse_crs(crs)?,
            interval: toi(time)?,
            size,
            res: ((maxx - minx) / size.0 as f64, (maxy - miny) / size.1 as f64),
        }))
    }

    /// Position of the slice in its sampler's epoch (unsharded numbering).
    #[getter]
    fn id(&self) -> u64 {
        self.0.id
    }
    /// Index of the catalog item the slice was drawn from.
    #[getter]
    fn item(&self) -> usize {
        self.0.item
    }
    /// ``(minx, miny, maxx, maxy)`` in ``crs`` units.
    #[getter]
    fn bounds(&self) -> (f64, f64, f64, f64) {
        let b = self.0.bounds;
        (b.minx, b.miny, b.maxx, b.maxy)
    }
    /// "EPSG:<code>".
    #[getter]
    fn crs(&self) -> String {
        self.0.crs.to_string()
    }
    /// ``(start, end)`` in µs since the Unix epoch, each None where open.
    #[getter]
    fn time(&self) -> (Option<i64>, Option<i64>) {
        time(&self.0.interval)
    }
    /// ``(width, height)`` in pixels.
    #[getter]
    fn size(&self) -> (u32, u32) {
        self.0.size
    }
    /// Pixel ``(width, height)`` in ``crs`` units.
    #[getter]
    fn res(&self) -> (f64, f64) {
        self.0.res
    }

    /// A hashable tuple ``(id, item, bounds, crs, time)`` naming the chip.
    fn key(&self) -> SliceKey {
        (
            self.id(),
            self.item(),
            self.bounds(),
            self.crs(),
            self.time(),
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .downcast::<PyGeoSlice>()
            .is_ok_and(|o| o.get().0 == self.0)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.0.id.hash(&mut h);
        self.0.item.hash(&mut h);
        for v in [
            self.0.bounds.minx,
            self.0.bounds.miny,
            self.0.bounds.maxx,
            self.0.bounds.maxy,
        ] {
            v.to_bits().hash(&mut h);
        }
        h.finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "GeoSlice(id={}, item={}, bounds={:?}, crs={}, size={:?})",
            self.0.id,
            self.0.item,
            self.bounds(),
            self.crs(),
            self.0.size
        )
    }
}

/// `(id, item, bounds, crs, time)`: a GeoSlice as a hashable Python tuple.
type SliceKey = (
    u64,
    usize,
    (f64, f64, f64, f64),
    String,
    (Option<i64>, Option<i64>),
);

/// An interval as `(start, end)` µs, None where open.
pub(crate) fn time(i: &Interval) -> (Option<i64>, Option<i64>) {
    (
        (i.start != i64::MIN).then_some(i.start),
        (i.end != i64::MAX).then_some(i.end),
    )
}

/// The sampler behind a Python `RandomSampler` or `GridSampler`, copied.
pub(crate) fn extract(obj: &Bound<'_, PyAny>) -> PyResult<AnySampler> {
    if let Ok(s) = obj.downcast::<PyRandomSampler>() {
        return Ok(s.get().held.get());
    }
    if let Ok(s) = obj.downcast::<PyGridSampler>() {
        return Ok(s.get().held.get());
    }
    if let Ok(s) = obj.downcast::<PyTimeSeriesSampler>() {
        return Ok(s.get().held.get());
    }
    Err(PyValueError::new_err(
        "sampler must be a geochips.RandomSampler, GridSampler or TimeSeriesSampler",
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRandomSampler>()?;
    m.add_class::<PyGridSampler>()?;
    m.add_class::<PyTimeSeriesSampler>()?;
    m.add_class::<PyGeoSlice>()
}
