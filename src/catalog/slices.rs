//! Sampled GeoSlices as GeoParquet, to look at a sampler's output in any GIS (geopandas, QGIS).
//!
//! One row per slice: `id`, `item` (uint64), `crs` (`"EPSG:<code>"`), `start`/`end` (timestamp µs UTC, null
//! where open), `res_x`/`res_y`, `width`/`height` (pixels), `bounds` (struct minx/miny/maxx/maxy in the slice's
//! CRS), `bbox` (EPSG:4326 covering) and `geometry` (WKB polygon in EPSG:4326: the slice's densified outline).

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use geochips_samplers::{Bounds, GeoSlice};

use super::geoparquet::{box_array, interval_arrays, timestamp_type, to_parquet, write_file};
use super::{union, wkb};
use crate::crs::{bounds_of, transform_ring, wgs84};
use crate::error::{Error, Result};

/// Write `slices` as a GeoParquet 1.1 file at the local `path` (geometry in EPSG:4326; see the module docs).
pub fn write_slices(path: impl AsRef<std::path::Path>, slices: &[GeoSlice]) -> Result<()> {
    write_file(path.as_ref(), &slices_to_geoparquet(slices)?)
}

/// `slices` as GeoParquet 1.1 bytes (see [`write_slices`]).
pub fn slices_to_geoparquet(slices: &[GeoSlice]) -> Result<Vec<u8>> {
    let mut rings = Vec::with_capacity(slices.len());
    for s in slices {
        rings.push(
            transform_ring(s.crs, wgs84(), &s.bounds).map_err(|e| Error::Catalog {
                path: format!("slice {}", s.id),
                reason: e.to_string(),
            })?,
        );
    }
    let boxes: Vec<Bounds> = rings.iter().map(|r| bounds_of(r)).collect();
    let (start, end) = interval_arrays(&slices.iter().map(|s| s.interval).collect::<Vec<_>>());
    let f64s = |f: fn(&GeoSlice) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(slices.iter().map(f)))
    };
    let u32s = |f: fn(&GeoSlice) -> u32| -> ArrayRef {
        Arc::new(UInt32Array::from_iter_values(slices.iter().map(f)))
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::UInt64, false),
        Field::new("item", DataType::UInt64, false),
        Field::new("crs", DataType::Utf8, false),
        Field::new("start", timestamp_type(), true),
        Field::new("end", timestamp_type(), true),
        Field::new("res_x", DataType::Float64, false),
        Field::new("res_y", DataType::Float64, false),
        Field::new("width", DataType::UInt32, false),
        Field::new("height", DataType::UInt32, false),
        Field::new(
            "bounds",
            box_array(["minx", "miny", "maxx", "maxy"], &[])
                .data_type()
                .clone(),
            false,
        ),
        Field::new(
            "bbox",
            box_array(["xmin", "ymin", "xmax", "ymax"], &[])
                .data_type()
                .clone(),
            false,
        ),
        Field::new("geometry", DataType::Binary, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(slices.iter().map(|s| s.id))),
        Arc::new(UInt64Array::from_iter_values(
            slices.iter().map(|s| s.item as u64),
        )),
        Arc::new(StringArray::from_iter_values(
            slices.iter().map(|s| s.crs.to_string()),
        )),
        start,
        end,
        f64s(|s| s.res.0),
        f64s(|s| s.res.1),
        u32s(|s| s.size.0),
        u32s(|s| s.size.1),
        box_array(
            ["minx", "miny", "maxx", "maxy"],
            &slices.iter().map(|s| s.bounds).collect::<Vec<_>>(),
        ),
        box_array(["xmin", "ymin", "xmax", "ymax"], &boxes),
        Arc::new(BinaryArray::from_iter_values(
            rings.iter().map(|r| wkb::polygon(r)),
        )),
    ];
    let batch = RecordBatch::try_new(schema, columns).map_err(|e| Error::Catalog {
        path: "slices".into(),
        reason: e.to_string(),
    })?;
    to_parquet(&batch, &union(boxes))
}
