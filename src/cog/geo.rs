//! Geo metadata of a GeoTIFF: the transform (tiepoint + pixel scale or ModelTransformation, PixelIsArea or
//! PixelIsPoint), the CRS from GeoKeys, GDAL's nodata and GDAL's per-band scale/offset metadata.

use super::tiff::{Ifd, Tiff};
use crate::crs::Crs;
use crate::grid::GeoTransform;
use crate::tags::geokey::{
    GEOGRAPHIC_TYPE, GT_MODEL_TYPE, GT_RASTER_TYPE, PROJECTED_CS_TYPE, USER_DEFINED,
};
use crate::tags::{
    GDAL_METADATA, GDAL_NODATA, GEO_ASCII_PARAMS, GEO_KEY_DIRECTORY, MODEL_PIXEL_SCALE,
    MODEL_TIEPOINT, MODEL_TRANSFORMATION,
};

/// The geo metadata of a GeoTIFF, as GDAL reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoInfo {
    /// Pixel-to-world transform; `None` for a file without georeferencing.
    pub transform: Option<GeoTransform>,
    /// The CRS: `Ok(None)` where the file has none, `Err(reason)` where GeoKeys describe one without an EPSG
    /// code (a user-defined CRS).
    pub crs: Result<Option<Crs>, String>,
    /// GDAL's nodata value (`GDAL_NODATA` tag), NaN included.
    pub nodata: Option<f64>,
    /// Per-band scale from GDAL metadata (1 where absent).
    pub scales: Vec<f64>,
    /// Per-band offset from GDAL metadata (0 where absent).
    pub offsets: Vec<f64>,
}

impl GeoInfo {
    /// Read the geo metadata of `ifd` (the full-resolution image) with `bands` bands.
    pub(crate) fn from_ifd(tiff: &Tiff, ifd: &Ifd, bands: usize) -> GeoInfo {
        let keys = tiff
            .uints(ifd, GEO_KEY_DIRECTORY)
            .map(|d| GeoKeys::parse(&d))
            .unwrap_or_default();
        let metadata = tiff.ascii(ifd, GDAL_METADATA).unwrap_or_default();
        GeoInfo {
            transform: transform(tiff, ifd, keys.get(GT_RASTER_TYPE) == Some(2)),
            crs: keys.crs(tiff.ascii(ifd, GEO_ASCII_PARAMS)),
            nodata: tiff.ascii(ifd, GDAL_NODATA).and_then(|s| parse_nodata(&s)),
            scales: band_items(&metadata, "scale", bands, 1.0),
            offsets: band_items(&metadata, "offset", bands, 0.0),
        }
    }
}

/// The transform from ModelTransformation, else from the first tiepoint and the pixel scale.
fn transform(tiff: &Tiff, ifd: &Ifd, pixel_is_point: bool) -> Option<GeoTransform> {
    let t = if let Some(m) = tiff
        .floats(ifd, MODEL_TRANSFORMATION)
        .filter(|m| m.len() >= 16)
    {
        GeoTransform::new(m[0], m[1], m[3], m[4], m[5], m[7])
    } else {
        let tie = tiff.floats(ifd, MODEL_TIEPOINT).filter(|t| t.len() >= 6)?;
        let scale = tiff
            .floats(ifd, MODEL_PIXEL_SCALE)
            .filter(|s| s.len() >= 2)?;
        let (sx, sy) = (scale[0], scale[1]);
        GeoTransform::new(
            sx,
            0.0,
            tie[3] - tie[0] * sx,
            0.0,
            -sy,
            tie[4] + tie[1] * sy,
        )
    };
    if !pixel_is_point {
        return Some(t);
    }
    // PixelIsPoint: the tiepoint names a pixel centre; GDAL moves the origin to the pixel corner.
    let (c, f) = t.apply(-0.5, -0.5);
    Some(GeoTransform { c, f, ..t })
}

/// The GeoKey directory: key id to its SHORT value or its ASCII parameter slice.
#[derive(Debug, Default)]
struct GeoKeys {
    entries: Vec<[u64; 4]>,
}

impl GeoKeys {
    fn parse(dir: &[u64]) -> GeoKeys {
        let n = dir.get(3).copied().unwrap_or(0) as usize;
        let entries = dir.get(4..).unwrap_or_default().chunks_exact(4).take(n);
        GeoKeys {
            entries: entries.map(|e| [e[0], e[1], e[2], e[3]]).collect(),
        }
    }

    /// The value of a key stored inline as a SHORT.
    fn get(&self, key: u16) -> Option<u64> {
        self.entries
            .iter()
            .find(|e| e[0] == u64::from(key) && e[1] == 0)
            .map(|e| e[3])
    }

    /// The text of an ASCII key (held in GeoAsciiParams).
    fn ascii(&self, key: u64, params: &str) -> Option<String> {
        let e = self
            .entries
            .iter()
            .find(|e| e[0] == key && e[1] == GEO_ASCII_PARAMS as u64)?;
        let (start, len) = (e[3] as usize, e[2] as usize);
        let text = params.get(start..start + len)?;
        Some(text.trim_end_matches(['|', '\0']).to_string())
    }

    fn crs(&self, ascii: Option<String>) -> Result<Option<Crs>, String> {
        let projected = self.get(PROJECTED_CS_TYPE);
        let geographic = self.get(GEOGRAPHIC_TYPE);
        let code = match self.get(GT_MODEL_TYPE) {
            Some(1) => projected,
            Some(2) => geographic,
            None => projected.or(geographic),
            Some(m) => {
                return Err(format!(
                    "GTModelType {m} (neither projected nor geographic)"
                ));
            }
        };
        match code {
            Some(c) if (1..u64::from(USER_DEFINED)).contains(&c) => {
                Ok(Some(Crs::from_epsg(c as u32)))
            }
            Some(_) => {
                let citation = [3073, 2049, 1026]
                    .iter()
                    .find_map(|k| self.ascii(*k, ascii.as_deref().unwrap_or("")))
                    .unwrap_or_default();
                Err(format!(
                    "user-defined CRS without an EPSG code (citation: {citation:?})"
                ))
            }
            None if self.entries.is_empty() => Ok(None),
            None => Err("GeoKeys name no projected or geographic CRS".into()),
        }
    }
}

/// GDAL's nodata text as a number ("nan", "-inf" and friends included).
fn parse_nodata(text: &str) -> Option<f64> {
    let t = text.trim();
    match t.to_ascii_lowercase().trim_start_matches(['+', '-']) {
        "nan" => Some(f64::NAN),
        "inf" | "infinity" => Some(if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        _ => t.parse().ok(),
    }
}

/// Per-band values of GDAL metadata items with `role` ("scale", "offset"), `default` where absent.
fn band_items(xml: &str, role: &str, bands: usize, default: f64) -> Vec<f64> {
    let mut values = vec![default; bands];
    for item in xml.split("<Item ").skip(1) {
        let Some((attrs, rest)) = item.split_once('>') else {
            continue;
        };
        let attr = |name: &str| {
            let start = attrs.find(&format!("{name}=\""))? + name.len() + 2;
            attrs[start..].split('"').next()
        };
        if attr("role") != Some(role) {
            continue;
        }
        let band = attr("sample").and_then(|s| s.parse::<usize>().ok());
        let value = rest
            .split('<')
            .next()
            .and_then(|v| v.trim().parse::<f64>().ok());
        if let (Some(b), Some(v)) = (band, value)
            && let Some(slot) = values.get_mut(b)
        {
            *slot = v;
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodata_text_parses_like_gdal() {
        assert_eq!(parse_nodata(" -9999 "), Some(-9999.0));
        assert!(parse_nodata("nan").unwrap().is_nan());
        assert!(parse_nodata("-NaN").unwrap().is_nan());
        assert_eq!(parse_nodata("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_nodata("garbage"), None);
    }

    #[test]
    fn scale_and_offset_come_from_gdal_metadata_per_band() {
        let xml = r#"<GDALMetadata>
  <Item name="SCALE" sample="1" role="scale">0.0001</Item>
  <Item name="OFFSET" sample="1" role="offset">-0.1</Item>
  <Item name="AREA_OR_POINT">Area</Item>
</GDALMetadata>"#;
        assert_eq!(band_items(xml, "scale", 3, 1.0), vec![1.0, 0.0001, 1.0]);
        assert_eq!(band_items(xml, "offset", 3, 0.0), vec![0.0, -0.1, 0.0]);
    }

    #[test]
    fn geokeys_give_epsg_or_a_reason() {
        let utm = GeoKeys::parse(&[1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 32631]);
        assert_eq!(utm.crs(None), Ok(Some(Crs::from_epsg(32631))));
        let user = GeoKeys::parse(&[1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 32767]);
        assert!(user.crs(None).unwrap_err().contains("user-defined"));
        assert_eq!(GeoKeys::default().crs(None), Ok(None));
    }
}
