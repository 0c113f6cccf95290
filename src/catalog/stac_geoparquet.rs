//! stac-geoparquet as a catalog source: one row per STAC item, its properties as top-level columns
//! (`datetime`, `start_datetime`, `end_datetime`) and its `assets` as a struct column with one field per
//! asset key. Rows are turned into STAC JSON items and read as [`super::stac`] reads an ItemCollection.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value, json};

use super::remote::{read_all, redact};
use super::sources::ItemSpec;
use super::stac;
use crate::error::{Error, Result};

/// Columns of a stac-geoparquet file the catalog reads.
const COLUMNS: [&str; 5] = ["id", "datetime", "start_datetime", "end_datetime", "assets"];

/// The item specs of the stac-geoparquet file at `href`; `keys` keeps only those asset keys.
pub(crate) async fn read(href: &str, keys: Option<&[String]>) -> Result<Vec<ItemSpec>> {
    let bytes = read_all(href).await?;
    let bad = |reason: String| Error::Catalog {
        path: redact(href),
        reason,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| bad(format!("not a Parquet file: {e}")))?;
    for required in ["id", "assets"] {
        if builder.schema().field_with_name(required).is_err() {
            return Err(bad(format!(
                "no column {required:?}: not a stac-geoparquet file"
            )));
        }
    }
    let mask = ProjectionMask::columns(builder.parquet_schema(), COLUMNS);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    let base = href
        .rsplit_once('/')
        .map_or(String::new(), |(dir, _)| format!("{dir}/"));
    let mut items = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(format!("cannot read: {e}")))?;
        for row in 0..batch.num_rows() {
            let feature = feature(&batch, row);
            let spec = stac::item(&feature, &base, keys)
                .map_err(|reason| bad(format!("row {}: {reason}", items.len())))?;
            items.push(spec);
        }
    }
    Ok(items)
}

/// Row `row` as a STAC Item's JSON (id, properties with the datetimes, assets).
fn feature(batch: &RecordBatch, row: usize) -> Value {
    let get = |name: &str| {
        batch
            .column_by_name(name)
            .map_or(Value::Null, |a| to_json(a.as_ref(), row))
    };
    json!({
        "type": "Feature",
        "id": get("id"),
        "properties": {
            "datetime": get("datetime"),
            "start_datetime": get("start_datetime"),
            "end_datetime": get("end_datetime"),
        },
        "assets": get("assets"),
    })
}

/// The value at `row` of `array` as JSON: structs as objects (null fields left out), lists as arrays,
/// timestamps as RFC 3339 text; types a STAC asset does not use are null.
fn to_json(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    macro_rules! number {
        ($t:ty) => {
            json!(array.as_primitive::<$t>().value(row))
        };
    }
    match array.data_type() {
        DataType::Utf8 => json!(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => json!(array.as_string::<i64>().value(row)),
        DataType::Utf8View => json!(array.as_string_view().value(row)),
        DataType::Boolean => json!(array.as_boolean().value(row)),
        DataType::Int8 => number!(Int8Type),
        DataType::Int16 => number!(Int16Type),
        DataType::Int32 => number!(Int32Type),
        DataType::Int64 => number!(Int64Type),
        DataType::UInt8 => number!(UInt8Type),
        DataType::UInt16 => number!(UInt16Type),
        DataType::UInt32 => number!(UInt32Type),
        DataType::UInt64 => number!(UInt64Type),
        DataType::Float32 => number!(Float32Type),
        DataType::Float64 => number!(Float64Type),
        DataType::Timestamp(unit, _) => {
            let micros = match unit {
                TimeUnit::Second => array
                    .as_primitive::<TimestampSecondType>()
                    .value(row)
                    .saturating_mul(1_000_000),
                TimeUnit::Millisecond => array
                    .as_primitive::<TimestampMillisecondType>()
                    .value(row)
                    .saturating_mul(1_000),
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => {
                    array.as_primitive::<TimestampNanosecondType>().value(row) / 1_000
                }
            };
            chrono::DateTime::from_timestamp_micros(micros).map_or(Value::Null, |t| {
                json!(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            })
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut object = Map::new();
            for (field, column) in fields.iter().zip(s.columns()) {
                let value = to_json(column.as_ref(), row);
                if !value.is_null() {
                    object.insert(field.name().clone(), value);
                }
            }
            Value::Object(object)
        }
        DataType::List(_) => list(array.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => list(array.as_list::<i64>().value(row).as_ref()),
        _ => Value::Null,
    }
}

fn list(values: &dyn Array) -> Value {
    Value::Array((0..values.len()).map(|i| to_json(values, i)).collect())
}
