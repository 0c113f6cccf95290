//! STAC items as catalog sources: an ItemCollection (or a single Item) JSON file, each item with one or
//! more COG assets (one per band, as Sentinel-2 L2A archives store them), band names from `eo:bands` or
//! `raster:bands` (else the asset key), times from `datetime` or `start_datetime`/`end_datetime`. The same
//! items from stac-geoparquet go through [`item`] too.

use geochips_samplers::Interval;
use serde_json::{Map, Value};

use super::datetime::parse_rfc3339;
use super::remote::{is_url, read_all, redact};
use super::sources::{AssetSpec, ItemSpec};
use crate::error::{Error, Result};

/// Asset roles that never hold the item's pixels.
const NON_DATA_ROLES: [&str; 4] = ["thumbnail", "overview", "metadata", "visual"];

/// The item specs of the STAC file at `href`; `keys` keeps only those asset keys. Any malformed part is an
/// error naming the file, the item and what is wrong.
pub(crate) async fn read(href: &str, keys: Option<&[String]>) -> Result<Vec<ItemSpec>> {
    let bytes = read_all(href).await?;
    let bad = |reason: String| Error::Catalog {
        path: redact(href),
        reason,
    };
    let json: Value = serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
    let features = match json.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => json
            .get("features")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("ItemCollection without a \"features\" array".into()))?
            .iter()
            .collect::<Vec<_>>(),
        Some("Feature") => vec![&json],
        _ => {
            return Err(bad(
                "not a STAC ItemCollection or Item (\"type\" is not \"FeatureCollection\" or \"Feature\")"
                    .into(),
            ));
        }
    };
    let base = href
        .rsplit_once('/')
        .map_or(String::new(), |(dir, _)| format!("{dir}/"));
    features
        .iter()
        .enumerate()
        .map(|(n, f)| item(f, &base, keys).map_err(|reason| bad(format!("item {n}: {reason}"))))
        .collect()
}

/// The spec of one STAC item (a GeoJSON Feature); the error says what is wrong.
pub(crate) fn item(
    feature: &Value,
    base: &str,
    keys: Option<&[String]>,
) -> Result<ItemSpec, String> {
    let id = feature
        .get("id")
        .and_then(Value::as_str)
        .ok_or("no string \"id\"")?;
    let in_item = |reason: String| format!("{id:?}: {reason}");
    let properties = feature
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| in_item("no \"properties\" object".into()))?;
    let interval = interval(properties).map_err(in_item)?;
    let assets = feature
        .get("assets")
        .and_then(Value::as_object)
        .ok_or_else(|| in_item("no \"assets\" object".into()))?;
    let mut specs = Vec::new();
    for (key, asset) in assets {
        if keys.is_some_and(|k| !k.contains(key)) {
            continue;
        }
        let asset = asset
            .as_object()
            .ok_or_else(|| in_item(format!("asset {key:?} is not an object")))?;
        let href = asset
            .get("href")
            .and_then(Value::as_str)
            .ok_or_else(|| in_item(format!("asset {key:?} has no string \"href\"")))?;
        if keys.is_none() && !is_raster(href, asset) {
            continue;
        }
        specs.push(AssetSpec {
            key: key.clone(),
            href: resolve(base, href),
            bands: band_names(asset),
        });
    }
    if specs.is_empty() {
        return Err(in_item("no COG assets".into()));
    }
    Ok(ItemSpec {
        id: id.to_string(),
        interval,
        assets: specs,
    })
}

/// Whether an asset holds the item's pixels: a GeoTIFF media type (or a `.tif` href without one) and no
/// thumbnail/overview/metadata role.
fn is_raster(href: &str, asset: &Map<String, Value>) -> bool {
    let tiff = match asset.get("type").and_then(Value::as_str) {
        Some(t) => t.starts_with("image/tiff"),
        None => {
            let h = href.to_ascii_lowercase();
            h.ends_with(".tif") || h.ends_with(".tiff")
        }
    };
    let roles = asset.get("roles").and_then(Value::as_array);
    let data_role = roles.is_none_or(|r| {
        !r.iter()
            .filter_map(Value::as_str)
            .any(|r| NON_DATA_ROLES.contains(&r))
    });
    tiff && data_role
}

/// Band names from `eo:bands` (else `raster:bands`, else STAC 1.1 `bands`): each entry's `name`, falling
/// back to `common_name`.
fn band_names(asset: &Map<String, Value>) -> Option<Vec<String>> {
    ["eo:bands", "raster:bands", "bands"].iter().find_map(|k| {
        let bands = asset.get(*k)?.as_array()?;
        bands
            .iter()
            .map(|b| {
                b.get("name")
                    .or_else(|| b.get("common_name"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect::<Option<Vec<_>>>()
            .filter(|names| !names.is_empty())
    })
}

fn interval(properties: &Map<String, Value>) -> Result<Interval, String> {
    let get = |k: &str| -> Result<Option<i64>, String> {
        match properties.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_rfc3339(s).map(Some).map_err(|e| format!("{k}: {e}")),
            Some(other) => Err(format!("{k} is not a string: {other}")),
        }
    };
    let (start, end) = (get("start_datetime")?, get("end_datetime")?);
    Ok(match (get("datetime")?, start, end) {
        (_, Some(s), Some(e)) if s <= e => Interval::new(s, e),
        (_, Some(s), Some(e)) => return Err(format!("start_datetime {s} after end_datetime {e}")),
        (Some(t), _, _) => Interval::instant(t),
        (None, Some(s), None) => Interval::new(s, i64::MAX),
        (None, None, Some(e)) => Interval::new(i64::MIN, e),
        (None, None, None) => Interval::OPEN,
    })
}

/// An asset href relative to the STAC file's directory made absolute; absolute hrefs and URLs unchanged.
fn resolve(base: &str, href: &str) -> String {
    if is_url(href) || href.starts_with('/') || base.is_empty() {
        href.to_string()
    } else {
        let href = href.strip_prefix("./").unwrap_or(href);
        let joined = format!("{base}{href}");
        if is_url(&joined) {
            joined
        } else {
            std::path::absolute(&joined).map_or(joined, |p| p.to_string_lossy().into_owned())
        }
    }
}
