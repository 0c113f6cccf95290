//! `geochips.write_cog`: a numpy array to a Cloud-Optimized GeoTIFF. The GIL is released while Rust encodes
//! and writes.

use std::io;
use std::path::PathBuf;

use numpy::{
    PyArray3, PyArrayDescr, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::dtype::DataType;
use crate::grid::GeoTransform;
use crate::write::{CogOptions, Compression};

/// Write `data`, a numpy array shaped (bands, height, width), as a Cloud-Optimized GeoTIFF at `path`.
///
/// ``transform`` is rasterio's Affine order (a, b, c, d, e, f) (``affine[:6]``); ``epsg`` the CRS code
/// (geographic for 4000..4999, else projected); ``nodata`` is written as GDAL_NODATA and pads the edge tiles.
/// Tiles are ``tile_size`` px square (a multiple of 16), ``compression`` is ``"deflate"`` or ``"none"``,
/// ``predictor`` adds horizontal differencing to deflated integer data, and ``overviews`` is the number of
/// 2x overview levels (nearest decimation: the top-left pixel of each 2x2 block). Any native-endian
/// uint8/int8/uint16/int16/uint32/int32/float32/float64 array; raises ValueError for bad shapes or options,
/// TypeError for other dtypes, OSError when the file cannot be written.
#[pyfunction]
#[pyo3(signature = (
    path, data, transform, *, epsg=None, nodata=None, tile_size=512, compression="deflate", predictor=true,
    overviews=0,
))]
#[allow(clippy::too_many_arguments)] // the Python signature, keyword arguments past the third
fn write_cog(
    py: Python<'_>,
    path: PathBuf,
    data: &Bound<'_, PyAny>,
    transform: [f64; 6],
    epsg: Option<u16>,
    nodata: Option<f64>,
    tile_size: u32,
    compression: &str,
    predictor: bool,
    overviews: u32,
) -> PyResult<()> {
    let compression = match compression {
        "deflate" => Compression::Deflate,
        "none" => Compression::None,
        other => {
            let message = format!("compression must be \"deflate\" or \"none\", not {other:?}");
            return Err(PyValueError::new_err(message));
        }
    };
    let [a, b, c, d, e, f] = transform;
    let transform = GeoTransform::new(a, b, c, d, e, f);
    let opts = CogOptions {
        tile_size,
        compression,
        predictor,
        overviews,
        nodata,
        epsg,
        transform,
    };

    let array = py
        .import("numpy")?
        .call_method1("ascontiguousarray", (data,))?;
    let array = array.downcast::<PyUntypedArray>()?;
    let Ok([bands, height, width]) = <[usize; 3]>::try_from(array.shape()) else {
        let message = format!(
            "data must be shaped (bands, height, width), not {:?}",
            array.shape()
        );
        return Err(PyValueError::new_err(message));
    };
    let dtype = data_type(&array.dtype()).ok_or_else(|| {
        PyTypeError::new_err(format!(
            "cannot write data of dtype {}: use a native-endian uint8, int8, uint16, int16, uint32, int32, \
             float32 or float64 array",
            array.dtype()
        ))
    })?;
    // The same memory as bytes, without a copy: the array is C-contiguous.
    let bytes = array
        .call_method1("view", ("u1",))?
        .downcast_into::<PyArray3<u8>>()?
        .readonly();
    let bytes = bytes.as_slice()?;
    py.allow_threads(|| crate::write::write_cog(&path, bytes, dtype, bands, width, height, &opts))
        .map_err(|e| match e.kind() {
            io::ErrorKind::InvalidInput => PyValueError::new_err(e.to_string()),
            _ => e.into(),
        })
}

/// Our data type for a native-endian numpy dtype.
fn data_type(dtype: &Bound<'_, PyArrayDescr>) -> Option<DataType> {
    let py = dtype.py();
    [
        (numpy::dtype::<u8>(py), DataType::U8),
        (numpy::dtype::<i8>(py), DataType::I8),
        (numpy::dtype::<u16>(py), DataType::U16),
        (numpy::dtype::<i16>(py), DataType::I16),
        (numpy::dtype::<u32>(py), DataType::U32),
        (numpy::dtype::<i32>(py), DataType::I32),
        (numpy::dtype::<f32>(py), DataType::F32),
        (numpy::dtype::<f64>(py), DataType::F64),
    ]
    .into_iter()
    .find(|(numpy_dtype, _)| dtype.is_equiv_to(numpy_dtype))
    .map(|(_, data_type)| data_type)
}

/// Adds `write_cog` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(write_cog, m)?)
}
