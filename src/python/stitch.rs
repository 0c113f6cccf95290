//! `geochips.Stitcher`: predictions of an inference loop ([B, C, H, W] arrays or tensors with the chips'
//! slices) blended into one COG, streaming. The GIL is released while Rust blends and writes.

use std::path::PathBuf;

use numpy::{PyArray1, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use super::samplers::{PyGeoSlice, parse_crs};
use super::to_py;
use crate::dtype::DataType;
use crate::grid::GeoTransform;
use crate::stitch::{Blend, Stitcher};
use crate::write::{CogOptions, Compression};
use crate::{Bounds, Crs, GeoSlice, Interval};

/// Blends per-chip predictions onto one output grid and writes them as a Cloud-Optimized GeoTIFF at
/// ``path``, streaming: memory holds the tile rows chips still land on, not the raster.
///
/// The output is ``bands`` x ``height`` x ``width`` of ``dtype`` on the grid ``transform`` (rasterio's
/// Affine order, north-up) in ``crs`` ("EPSG:<code>" or a code). ``blend="average"`` averages overlapping
/// chips (rounded for integer types); ``"center"`` takes each pixel from the chip it lies most central in,
/// dropping ``margin`` px at chip edges inside the grid (for class maps). Pixels no chip lands on are
/// ``nodata`` (else 0). ``tile_size``, ``compression``, ``predictor`` and ``overviews`` are ``write_cog``'s.
/// Add chips in the order a GridSampler gives them; ``finish()`` writes the file (a ``with`` block calls it
/// on a clean exit and discards the output on an exception). One COG per item takes the item's grid:
/// ``item = catalog.item(i); a = item["assets"][0]``, then ``crs=item["crs"], transform=a["transform"],
/// width=a["width"], height=a["height"]``.
#[pyclass(name = "Stitcher", module = "geochips")]
pub(crate) struct PyStitcher {
    inner: Option<Stitcher>,
    dtype: DataType,
    bands: usize,
    crs: Crs,
}

#[pymethods]
impl PyStitcher {
    #[new]
    #[pyo3(signature = (
        path, *, crs, transform, width, height, bands=1, dtype="float32", blend="average", margin=0,
        nodata=None, tile_size=512, compression="deflate", predictor=true, overviews=0,
    ))]
    #[allow(clippy::too_many_arguments)] // the Python signature, keyword arguments past the first
    fn new(
        py: Python<'_>,
        path: PathBuf,
        crs: &Bound<'_, PyAny>,
        transform: Vec<f64>,
        width: usize,
        height: usize,
        bands: usize,
        dtype: &str,
        blend: &str,
        margin: u32,
        nodata: Option<f64>,
        tile_size: u32,
        compression: &str,
        predictor: bool,
        overviews: u32,
    ) -> PyResult<Self> {
        let crs = match crs.extract::<u32>() {
            Ok(code) => Crs::from_epsg(code),
            Err(_) => parse_crs(&crs.extract::<String>()?)?,
        };
        let epsg = u16::try_from(crs.epsg())
            .map_err(|_| PyValueError::new_err(format!("{crs}: a COG's EPSG code fits 16 bits")))?;
        let [a, b, c, d, e, f] = <[f64; 6]>::try_from(transform.get(..6).unwrap_or_default())
            .map_err(|_| PyValueError::new_err("transform must hold (a, b, c, d, e, f)"))?;
        let dtype = [
            DataType::U8,
            DataType::I8,
            DataType::U16,
            DataType::I16,
            DataType::U32,
            DataType::I32,
            DataType::F32,
            DataType::F64,
        ]
        .into_iter()
        .find(|t| t.name() == dtype)
        .ok_or_else(|| PyTypeError::new_err(format!("cannot write dtype {dtype:?}")))?;
        let blend = match blend {
            "average" => Blend::Average,
            "center" => Blend::Center { margin },
            other => {
                let message = format!("blend must be \"average\" or \"center\", not {other:?}");
                return Err(PyValueError::new_err(message));
            }
        };
        let compression = match compression {
            "deflate" => Compression::Deflate,
            "none" => Compression::None,
            other => {
                let message = format!("compression must be \"deflate\" or \"none\", not {other:?}");
                return Err(PyValueError::new_err(message));
            }
        };
        let opts = CogOptions {
            tile_size,
            compression,
            predictor,
            overviews,
            nodata,
            epsg: Some(epsg),
            transform: GeoTransform::new(a, b, c, d, e, f),
        };
        let inner = py
            .allow_threads(|| Stitcher::create(&path, dtype, bands, width, height, blend, &opts))
            .map_err(to_py)?;
        Ok(PyStitcher {
            inner: Some(inner),
            dtype,
            bands,
            crs,
        })
    }

    /// Lands a batch: ``predictions`` a numpy array or torch tensor (any device) shaped [B, C, H, W] (or
    /// [B, H, W] for one band), cast to the output dtype as numpy casts; ``slices`` the B chips' GeoSlices
    /// (``batch.slices``) or ``(minx, miny, maxx, maxy)`` bounds in the output CRS.
    fn add(
        &mut self,
        py: Python<'_>,
        predictions: &Bound<'_, PyAny>,
        slices: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let mut predictions = predictions.clone();
        if predictions.hasattr("detach")? {
            // A torch tensor: off the autograd graph and onto the host.
            predictions = predictions.call_method0("detach")?.call_method0("cpu")?;
        }
        let array = py
            .import("numpy")?
            .call_method1("ascontiguousarray", (predictions, self.dtype.name()))?;
        let array = array.downcast::<PyUntypedArray>()?;
        let (batch, bands, height, width) = match *array.shape() {
            [b, c, h, w] => (b, c, h, w),
            [b, h, w] => (b, 1, h, w),
            ref other => {
                let message = format!("predictions must be shaped [B, C, H, W], not {other:?}");
                return Err(PyValueError::new_err(message));
            }
        };
        if bands != self.bands || batch != slices.len() {
            let message = format!(
                "predictions of shape {:?} do not match {} slices of {} bands",
                array.shape(),
                slices.len(),
                self.bands
            );
            return Err(PyValueError::new_err(message));
        }
        let slices = slices
            .iter()
            .map(|s| self.slice(s, (width, height)))
            .collect::<PyResult<Vec<_>>>()?;
        // The same memory as bytes, without a copy: the array is C-contiguous.
        let bytes = array
            .call_method1("reshape", (-1,))?
            .call_method1("view", ("u1",))?
            .downcast_into::<PyArray1<u8>>()?
            .readonly();
        let bytes = bytes.as_slice()?;
        let inner = self.inner.as_mut().ok_or_else(finished)?;
        let chip_len = bytes.len() / batch.max(1);
        py.allow_threads(|| {
            slices
                .iter()
                .zip(bytes.chunks_exact(chip_len.max(1)))
                .try_for_each(|(slice, chip)| inner.add(slice, chip))
        })
        .map_err(to_py)
    }

    /// Writes the remaining tile rows and the COG; the stitcher takes no more chips.
    fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = self.inner.take().ok_or_else(finished)?;
        py.allow_threads(|| inner.finish()).map_err(to_py)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// On a clean exit, ``finish()`` (unless called already); on an exception, discard the output.
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        match (exc_type, self.inner.is_some()) {
            (None, true) => self.finish(py)?,
            _ => self.inner = None,
        }
        Ok(false)
    }
}

impl PyStitcher {
    /// A batch's slice: a GeoSlice as it is, or bounds in the output CRS of a chip `size` px wide and high.
    fn slice(&self, obj: &Bound<'_, PyAny>, size: (usize, usize)) -> PyResult<GeoSlice> {
        if let Ok(slice) = obj.downcast::<PyGeoSlice>() {
            let slice = slice.get().0;
            if (slice.size.0 as usize, slice.size.1 as usize) != size {
                let message = format!(
                    "chip {} is {:?} px (width, height), its prediction {size:?}",
                    slice.id, slice.size
                );
                return Err(PyValueError::new_err(message));
            }
            return Ok(slice);
        }
        let (minx, miny, maxx, maxy): (f64, f64, f64, f64) = obj.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "a slice must be a GeoSlice or (minx, miny, maxx, maxy) bounds, not {obj}"
            ))
        })?;
        let (width, height) = (size.0 as u32, size.1 as u32);
        Ok(GeoSlice {
            id: 0,
            item: 0,
            bounds: Bounds::new(minx, miny, maxx, maxy),
            crs: self.crs,
            interval: Interval::OPEN,
            size: (width, height),
            res: (
                (maxx - minx) / f64::from(width),
                (maxy - miny) / f64::from(height),
            ),
        })
    }
}

/// The error of using a stitcher after `finish()`.
fn finished() -> PyErr {
    PyValueError::new_err("the Stitcher is finished")
}

/// Adds `Stitcher` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStitcher>()
}
