//! What a catalog is built from: each source string becomes item specs (id, interval, asset hrefs) before any
//! header is read. A source is a local file, directory or glob, an object-store href or prefix, or a STAC
//! ItemCollection (`.json`/`.geojson`) or stac-geoparquet file (`.parquet`), local or remote.

use geochips_samplers::Interval;

use super::datetime::FilenameDates;
use super::remote::{self, is_url, redact};
use super::{stac, stac_geoparquet};
use crate::error::{Error, Result};

/// One item to build, before its headers are read.
#[derive(Debug, Clone)]
pub(crate) struct ItemSpec {
    pub(crate) id: String,
    pub(crate) interval: Interval,
    pub(crate) assets: Vec<AssetSpec>,
}

/// One asset of an [`ItemSpec`].
#[derive(Debug, Clone)]
pub(crate) struct AssetSpec {
    pub(crate) key: String,
    pub(crate) href: String,
    /// Band names the source gives (STAC `eo:bands`/`raster:bands`), if any.
    pub(crate) bands: Option<Vec<String>>,
}

/// What expanding the sources gave: item specs, the sources that failed (href, error), files passed over.
#[derive(Debug, Default)]
pub(crate) struct Expanded {
    pub(crate) items: Vec<ItemSpec>,
    pub(crate) failures: Vec<(String, Error)>,
    pub(crate) skipped: usize,
}

/// How sources are expanded.
pub(crate) struct Rules<'a> {
    pub(crate) extensions: &'a [String],
    pub(crate) dates: Option<&'a FilenameDates>,
    pub(crate) stac_assets: Option<&'a [String]>,
}

impl Rules<'_> {
    fn has_raster_extension(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        self.extensions.is_empty()
            || self
                .extensions
                .iter()
                .any(|e| lower.ends_with(&format!(".{}", e.trim_start_matches('.'))))
    }
}

fn is_parquet(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.ends_with(".parquet") || lower.ends_with(".geoparquet")
}

fn is_stac(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.ends_with(".json") || lower.ends_with(".geojson")
}

/// Expand every source, in order; a source that cannot be expanded is a failure (or the error, with
/// `fail_fast`). Malformed STAC files are always errors.
pub(crate) async fn expand(
    sources: &[String],
    rules: &Rules<'_>,
    fail_fast: bool,
) -> Result<Expanded> {
    let mut out = Expanded::default();
    // Band-per-file items seen so far (over every source): id -> index in `out.items`.
    let mut bands_of: std::collections::HashMap<String, usize> = Default::default();
    for source in sources {
        let hrefs = if is_parquet(source) {
            out.items
                .extend(stac_geoparquet::read(source, rules.stac_assets).await?);
            continue;
        } else if is_stac(source) {
            out.items
                .extend(stac::read(source, rules.stac_assets).await?);
            continue;
        } else if is_url(source) {
            if rules.has_raster_extension(source) && !source.ends_with('/') {
                Ok(vec![source.clone()])
            } else {
                list_prefix(source, rules).await
            }
        } else if source.contains(['*', '?', '[']) {
            glob_paths(source, rules)
        } else if std::path::Path::new(source).is_dir() {
            walk_dir(source, rules)
        } else {
            // A local file, or a path that does not exist: opening it says which.
            Ok(vec![absolute(source)])
        };
        match hrefs {
            Ok(hrefs) if hrefs.is_empty() => out.failures.push((
                redact(source),
                Error::Catalog {
                    path: redact(source),
                    reason: "matches no raster files".into(),
                },
            )),
            Ok(hrefs) => {
                for href in hrefs {
                    match file_item(&href, rules) {
                        Ok(Some(item)) if !rules.dates.is_some_and(|d| d.has_band_group()) => {
                            out.items.push(item)
                        }
                        // One asset of a band-per-file item: join the item's other files.
                        Ok(Some(mut item)) => match bands_of.get(&item.id) {
                            Some(&i) => out.items[i].assets.append(&mut item.assets),
                            None => {
                                bands_of.insert(item.id.clone(), out.items.len());
                                out.items.push(item);
                            }
                        },
                        Ok(None) => out.skipped += 1,
                        Err(e) => out.failures.push((redact(&href), e)),
                    }
                }
            }
            Err(e) => out.failures.push((redact(source), e)),
        }
        if fail_fast && let Some((_, e)) = out.failures.pop() {
            return Err(e);
        }
    }
    Ok(out)
}

/// The item of one raster file: its id is the file name without extension; its interval from the
/// filename regex. `None` when the name does not match the regex (the file is passed over, as TorchGeo
/// does). When the regex has a `band` group (TorchGeo's band-per-file naming, e.g. `_(?P<band>B\d{2})`),
/// the file is the asset keyed by that band of the item named by the regex's `item` group, else by the
/// file name with the band's text cut out: the expansion joins an item's files into one.
fn file_item(href: &str, rules: &Rules<'_>) -> Result<Option<ItemSpec>> {
    let name = href.rsplit(['/', '\\']).next().unwrap_or(href);
    let interval = match rules.dates {
        Some(dates) if !dates.matches(name) => return Ok(None),
        Some(dates) => dates.interval(name).map_err(|reason| Error::Catalog {
            path: redact(href),
            reason,
        })?,
        None => Interval::OPEN,
    };
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let (id, key) = match rules.dates.and_then(|d| d.item_and_band(name)) {
        Some((item, band)) => (item, band),
        None => (stem.to_string(), "image".to_string()),
    };
    Ok(Some(ItemSpec {
        id,
        interval,
        assets: vec![AssetSpec {
            key,
            href: href.to_string(),
            bands: None,
        }],
    }))
}

fn absolute(path: &str) -> String {
    std::path::absolute(path)
        .map_or_else(|_| path.to_string(), |p| p.to_string_lossy().into_owned())
}

fn walk_dir(dir: &str, rules: &Rules<'_>) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(absolute(dir))];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::Catalog {
            path: dir.display().to_string(),
            reason: format!("cannot list directory: {e}"),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if rules.has_raster_extension(&path.to_string_lossy()) {
                files.push(path.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    Ok(files)
}

fn glob_paths(pattern: &str, rules: &Rules<'_>) -> Result<Vec<String>> {
    let bad = |reason: String| Error::Catalog {
        path: pattern.to_string(),
        reason,
    };
    let mut files: Vec<String> = glob::glob(pattern)
        .map_err(|e| bad(format!("bad glob: {e}")))?
        .filter_map(|p| p.ok())
        .filter(|p| p.is_file() && rules.has_raster_extension(&p.to_string_lossy()))
        .map(|p| absolute(&p.to_string_lossy()))
        .collect();
    files.sort();
    Ok(files)
}

/// The raster files under an object-store prefix (`s3://bucket/some/prefix/`), listed.
async fn list_prefix(prefix: &str, rules: &Rules<'_>) -> Result<Vec<String>> {
    Ok(remote::list(prefix)
        .await?
        .into_iter()
        .filter(|href| rules.has_raster_extension(href))
        .collect())
}
