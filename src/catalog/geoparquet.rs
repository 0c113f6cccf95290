//! The catalog as GeoParquet 1.1: one row per item.
//!
//! Columns: `id` (string); `start`, `end` (timestamp µs UTC, null where open); `crs` (`"EPSG:<code>"`);
//! `bounds` (struct minx/miny/maxx/maxy, native CRS); `assets` (list of struct: key, href, bands (list of
//! string), dtype, nodata, width, height, transform (6 floats, rasterio's Affine order), tile_width,
//! tile_height, overviews); `bbox` (struct xmin/ymin/xmax/ymax, EPSG:4326: the GeoParquet 1.1 covering
//! column); `geometry` (WKB polygon, the footprint in EPSG:4326, longitude first).
//! The file's `geo` metadata names `geometry` the primary column, its CRS (PROJJSON of EPSG:4326), its bbox
//! and its covering.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType, UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, FixedSizeListArray, Float64Array, ListArray, RecordBatch,
    StringArray, StructArray, TimestampMicrosecondArray, UInt32Array, UInt64Array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use geochips_samplers::{Bounds, Crs, Interval};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::json;

use super::{Asset, Catalog, Item, remote, union, wkb};
use crate::crs::bounds_of;
use crate::dtype::DataType as PixelType;
use crate::error::{Error, Result};
use crate::grid::GeoTransform;

/// PROJJSON of EPSG:4326 (as PROJ writes it), the CRS of every geometry column we write.
pub(crate) const EPSG_4326_PROJJSON: &str = include_str!("epsg4326.projjson");

fn f64_field(name: &str) -> Field {
    Field::new(name, DataType::Float64, false)
}

fn box_type(names: [&str; 4]) -> DataType {
    DataType::Struct(Fields::from(names.map(f64_field).to_vec()))
}

pub(crate) fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn asset_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("href", DataType::Utf8, false),
        Field::new(
            "bands",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
            false,
        ),
        Field::new("dtype", DataType::Utf8, false),
        Field::new("nodata", DataType::Float64, true),
        Field::new("width", DataType::UInt64, false),
        Field::new("height", DataType::UInt64, false),
        Field::new(
            "transform",
            DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float64, false)), 6),
            false,
        ),
        Field::new("tile_width", DataType::UInt64, false),
        Field::new("tile_height", DataType::UInt64, false),
        Field::new("overviews", DataType::UInt32, false),
    ])
}

fn asset_list_field() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Struct(asset_fields()), false))
}

/// The catalog's Arrow schema.
pub(crate) fn catalog_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("start", timestamp_type(), true),
        Field::new("end", timestamp_type(), true),
        Field::new("crs", DataType::Utf8, false),
        Field::new("bounds", box_type(["minx", "miny", "maxx", "maxy"]), false),
        Field::new("assets", DataType::List(asset_list_field()), false),
        Field::new("bbox", box_type(["xmin", "ymin", "xmax", "ymax"]), false),
        Field::new("geometry", DataType::Binary, false),
    ]))
}

/// A struct array of boxes with field names `names`.
pub(crate) fn box_array(names: [&str; 4], boxes: &[Bounds]) -> ArrayRef {
    let cols: [Vec<f64>; 4] = [
        boxes.iter().map(|b| b.minx).collect(),
        boxes.iter().map(|b| b.miny).collect(),
        boxes.iter().map(|b| b.maxx).collect(),
        boxes.iter().map(|b| b.maxy).collect(),
    ];
    let arrays: Vec<ArrayRef> = cols
        .into_iter()
        .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
        .collect();
    let DataType::Struct(fields) = box_type(names) else {
        unreachable!()
    };
    Arc::new(StructArray::new(fields, arrays, None))
}

/// Open ends of an interval as nulls.
pub(crate) fn interval_arrays(intervals: &[Interval]) -> (ArrayRef, ArrayRef) {
    let start: Vec<Option<i64>> = intervals
        .iter()
        .map(|i| (i.start != i64::MIN).then_some(i.start))
        .collect();
    let end: Vec<Option<i64>> = intervals
        .iter()
        .map(|i| (i.end != i64::MAX).then_some(i.end))
        .collect();
    (
        Arc::new(TimestampMicrosecondArray::from(start).with_timezone("UTC")),
        Arc::new(TimestampMicrosecondArray::from(end).with_timezone("UTC")),
    )
}

fn assets_array(items: &[Item]) -> Result<ArrayRef> {
    let assets: Vec<&Asset> = items.iter().flat_map(|i| &i.assets).collect();
    let strings = |f: fn(&Asset) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(assets.iter().map(|a| f(a))))
    };
    let u64s = |f: fn(&Asset) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(assets.iter().map(|a| f(a))))
    };
    let band_values = StringArray::from_iter_values(assets.iter().flat_map(|a| &a.bands));
    let bands = ListArray::try_new(
        Arc::new(Field::new("item", DataType::Utf8, false)),
        OffsetBuffer::from_lengths(assets.iter().map(|a| a.bands.len())),
        Arc::new(band_values),
        None,
    )
    .map_err(internal)?;
    let transforms =
        Float64Array::from_iter_values(assets.iter().flat_map(|a| a.transform.to_affine()));
    let transform = FixedSizeListArray::try_new(
        Arc::new(Field::new("item", DataType::Float64, false)),
        6,
        Arc::new(transforms),
        None,
    )
    .map_err(internal)?;
    let columns: Vec<ArrayRef> = vec![
        strings(|a| &a.key),
        strings(|a| &a.href),
        Arc::new(bands),
        strings(|a| a.dtype.name()),
        Arc::new(Float64Array::from(
            assets.iter().map(|a| a.nodata).collect::<Vec<_>>(),
        )),
        u64s(|a| a.width),
        u64s(|a| a.height),
        Arc::new(transform),
        u64s(|a| a.tile.0),
        u64s(|a| a.tile.1),
        Arc::new(UInt32Array::from_iter_values(
            assets.iter().map(|a| a.overviews as u32),
        )),
    ];
    let structs = StructArray::try_new(asset_fields(), columns, None).map_err(internal)?;
    let list = ListArray::try_new(
        asset_list_field(),
        OffsetBuffer::from_lengths(items.iter().map(|i| i.assets.len())),
        Arc::new(structs),
        None,
    )
    .map_err(internal)?;
    Ok(Arc::new(list))
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Catalog {
        path: "catalog".into(),
        reason: format!("cannot build the Arrow table: {e}"),
    }
}

/// The `geo` file metadata of a table whose `geometry` column holds polygons in EPSG:4326 with `bbox` as its
/// covering, over all of `bbox`.
pub(crate) fn geo_metadata(bbox: &Bounds) -> String {
    let projjson: serde_json::Value =
        serde_json::from_str(EPSG_4326_PROJJSON).expect("the embedded PROJJSON is JSON");
    let bbox = if bbox.minx <= bbox.maxx {
        vec![bbox.minx, bbox.miny, bbox.maxx, bbox.maxy]
    } else {
        vec![]
    };
    json!({
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": ["Polygon"],
                "crs": projjson,
                "edges": "planar",
                "bbox": bbox,
                "covering": {"bbox": {
                    "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"],
                    "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"],
                }},
            }
        }
    })
    .to_string()
}

/// `batch` as GeoParquet bytes (snappy) with `geo` metadata over `bbox`.
pub(crate) fn to_parquet(batch: &RecordBatch, bbox: &Bounds) -> Result<Vec<u8>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).map_err(internal)?;
    writer.append_key_value_metadata(KeyValue::new("geo".into(), geo_metadata(bbox)));
    writer.write(batch).map_err(internal)?;
    writer.close().map_err(internal)?;
    Ok(out)
}

/// Write `bytes` to the local file `path`.
pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::Catalog {
        path: path.display().to_string(),
        reason: format!("cannot write: {e}"),
    })
}

impl Catalog {
    /// The catalog as a GeoParquet 1.1 file's bytes (see the module docs for the columns).
    pub fn to_geoparquet(&self) -> Result<Vec<u8>> {
        let items = self.items();
        let (start, end) = interval_arrays(&items.iter().map(|i| i.interval).collect::<Vec<_>>());
        let boxes: Vec<Bounds> = items.iter().map(|i| bounds_of(&i.footprint)).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(items.iter().map(|i| &i.id))),
            start,
            end,
            Arc::new(StringArray::from_iter_values(
                items.iter().map(|i| i.crs.to_string()),
            )),
            box_array(
                ["minx", "miny", "maxx", "maxy"],
                &items.iter().map(|i| i.bounds).collect::<Vec<_>>(),
            ),
            assets_array(items)?,
            box_array(["xmin", "ymin", "xmax", "ymax"], &boxes),
            Arc::new(BinaryArray::from_iter_values(
                items.iter().map(|i| wkb::polygon(&i.footprint)),
            )),
        ];
        let batch = RecordBatch::try_new(catalog_schema(), columns).map_err(internal)?;
        to_parquet(&batch, &union(boxes))
    }

    /// Write the catalog as GeoParquet 1.1 to the local file `path`.
    pub fn write(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        write_file(path.as_ref(), &self.to_geoparquet()?)
    }

    /// Open a catalog that [`Catalog::write`] wrote, from the local file `path`.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Catalog> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::Catalog {
            path: path.display().to_string(),
            reason: format!("cannot read: {e}"),
        })?;
        Catalog::from_geoparquet(Bytes::from(bytes), &path.display().to_string())
    }

    /// Open a catalog from any href: a local path, file://, s3://, gs://, az:// or http(s):// (read whole).
    pub async fn open_href(href: &str) -> Result<Catalog> {
        let bytes = remote::read_all(href).await?;
        Catalog::from_geoparquet(bytes, &remote::redact(href))
    }

    /// Write the catalog as GeoParquet 1.1 to any href: a local path or an object store (one PUT).
    pub async fn write_href(&self, href: &str) -> Result<()> {
        remote::put(href, self.to_geoparquet()?).await
    }

    /// A catalog from GeoParquet bytes (as [`Catalog::to_geoparquet`] writes them); `name` names the file in
    /// errors.
    pub fn from_geoparquet(bytes: Bytes, name: &str) -> Result<Catalog> {
        let bad = |reason: String| Error::Catalog {
            path: name.to_string(),
            reason,
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .map_err(|e| bad(format!("not a Parquet file: {e}")))?;
        let geo = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|kv| kv.key == "geo"))
            .and_then(|kv| kv.value.clone())
            .ok_or_else(|| bad("no \"geo\" metadata: not a GeoParquet file".into()))?;
        let geo: serde_json::Value = serde_json::from_str(&geo)
            .map_err(|e| bad(format!("\"geo\" metadata is not JSON: {e}")))?;
        if geo["primary_column"] != "geometry" || geo["columns"]["geometry"]["encoding"] != "WKB" {
            return Err(bad(
                "\"geo\" metadata does not name a WKB \"geometry\" primary column".into(),
            ));
        }
        let expected = catalog_schema();
        let found = builder.schema().clone();
        for field in expected.fields() {
            let column = found
                .field_with_name(field.name())
                .map_err(|_| bad(format!("no column {:?}", field.name())))?;
            if !column.data_type().equals_datatype(field.data_type()) {
                return Err(bad(format!(
                    "column {:?} is {}, expected {}",
                    field.name(),
                    column.data_type(),
                    field.data_type()
                )));
            }
        }
        let reader = builder
            .build()
            .map_err(|e| bad(format!("cannot read: {e}")))?;
        let mut items = Vec::new();
        for batch in reader {
            let batch = batch.map_err(|e| bad(format!("cannot read: {e}")))?;
            read_items(&batch, &mut items).map_err(bad)?;
        }
        Ok(Catalog::from_items(items))
    }
}

fn read_items(batch: &RecordBatch, items: &mut Vec<Item>) -> Result<(), String> {
    let col = |name: &str| batch.column_by_name(name).expect("schema checked");
    let ids = col("id").as_string::<i32>();
    let start = col("start").as_primitive::<TimestampMicrosecondType>();
    let end = col("end").as_primitive::<TimestampMicrosecondType>();
    let crs = col("crs").as_string::<i32>();
    let bounds = read_boxes(col("bounds").as_struct());
    let assets = col("assets").as_list::<i32>();
    let geometry = col("geometry").as_binary::<i32>();
    for (row, bounds) in bounds.into_iter().enumerate() {
        let id = ids.value(row).to_string();
        let at = |what: &str, reason: String| format!("row {row} (item {id:?}): {what}: {reason}");
        let crs_text = crs.value(row);
        let item_crs = parse_crs(crs_text)
            .ok_or_else(|| at("crs", format!("{crs_text:?} is not EPSG:<code>")))?;
        let interval = Interval::new(
            if start.is_null(row) {
                i64::MIN
            } else {
                start.value(row)
            },
            if end.is_null(row) {
                i64::MAX
            } else {
                end.value(row)
            },
        );
        let footprint = wkb::parse_polygon(geometry.value(row)).map_err(|e| at("geometry", e))?;
        let list = assets.value(row);
        let item_assets = read_assets(list.as_struct(), item_crs).map_err(|e| at("assets", e))?;
        if item_assets.is_empty() {
            return Err(at("assets", "none".into()));
        }
        items.push(Item {
            id,
            interval,
            assets: item_assets,
            crs: item_crs,
            bounds,
            footprint,
        });
    }
    Ok(())
}

fn parse_crs(text: &str) -> Option<Crs> {
    text.strip_prefix("EPSG:")?.parse().ok().map(Crs::from_epsg)
}

fn read_boxes(s: &StructArray) -> Vec<Bounds> {
    let c = |i: usize| s.column(i).as_primitive::<Float64Type>();
    let (a, b, c2, d) = (c(0), c(1), c(2), c(3));
    (0..s.len())
        .map(|r| Bounds::new(a.value(r), b.value(r), c2.value(r), d.value(r)))
        .collect()
}

fn read_assets(s: &StructArray, crs: Crs) -> Result<Vec<Asset>, String> {
    let c = |name: &str| s.column_by_name(name).expect("schema checked");
    let key = c("key").as_string::<i32>();
    let href = c("href").as_string::<i32>();
    let bands = c("bands").as_list::<i32>();
    let dtype = c("dtype").as_string::<i32>();
    let nodata = c("nodata").as_primitive::<Float64Type>();
    let width = c("width").as_primitive::<UInt64Type>();
    let height = c("height").as_primitive::<UInt64Type>();
    let transform = c("transform").as_fixed_size_list();
    let tile_w = c("tile_width").as_primitive::<UInt64Type>();
    let tile_h = c("tile_height").as_primitive::<UInt64Type>();
    let overviews = c("overviews").as_primitive::<UInt32Type>();
    (0..s.len())
        .map(|i| {
            let names = bands.value(i);
            let names = names.as_string::<i32>();
            let t = transform.value(i);
            let t = t.as_primitive::<Float64Type>();
            let dt = parse_dtype(dtype.value(i))
                .ok_or_else(|| format!("unknown dtype {:?}", dtype.value(i)))?;
            Ok(Asset {
                key: key.value(i).to_string(),
                href: href.value(i).to_string(),
                bands: (0..names.len())
                    .map(|b| names.value(b).to_string())
                    .collect(),
                dtype: dt,
                nodata: (!nodata.is_null(i)).then(|| nodata.value(i)),
                width: width.value(i),
                height: height.value(i),
                transform: GeoTransform::new(
                    t.value(0),
                    t.value(1),
                    t.value(2),
                    t.value(3),
                    t.value(4),
                    t.value(5),
                ),
                crs,
                tile: (tile_w.value(i), tile_h.value(i)),
                overviews: overviews.value(i) as usize,
            })
        })
        .collect()
}

fn parse_dtype(name: &str) -> Option<PixelType> {
    [
        PixelType::U8,
        PixelType::I8,
        PixelType::U16,
        PixelType::I16,
        PixelType::U32,
        PixelType::I32,
        PixelType::F32,
        PixelType::F64,
    ]
    .into_iter()
    .find(|t| t.name() == name)
}
