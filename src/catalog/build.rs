//! Building a catalog: expand the sources into items, read every asset's COG header (only the header),
//! a bounded number in flight, and record what each says. Bad files are listed with their reason and the
//! catalog is built from the rest, unless `fail_fast`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use futures::StreamExt;
use geochips_samplers::Crs;

use super::datetime::FilenameDates;
use super::remote::redact;
use super::sources::{self, ItemSpec, Rules};
use super::{Asset, Catalog, Item, union};
use crate::cog::Cog;
use crate::crs::{transform_ring, wgs84};
use crate::error::{Error, Result};

/// A progress callback: `(done, total)` headers read.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// How [`Catalog::build`] reads its sources.
#[derive(Clone)]
pub struct BuildOptions {
    /// Headers read at once (default 64).
    pub concurrency: usize,
    /// Fail on the first bad file or source instead of listing it in the [`BuildReport`].
    pub fail_fast: bool,
    /// A regex matched against each file name (not STAC items): files that do not match are passed over;
    /// its named group `date` (or groups `start` and `stop`) is parsed with `date_format`. A `band` group
    /// makes each file one asset (keyed by the band; a single-band asset's band is named so) of the item
    /// named by the `item` group, or by the file name without the band: one COG per band, as Sentinel-2.
    pub filename_regex: Option<String>,
    /// The chrono (strftime) format of the regex's date groups (default `"%Y%m%d"`).
    pub date_format: String,
    /// File extensions that directories, globs and prefixes yield (default `tif`, `tiff`; empty: every file).
    pub extensions: Vec<String>,
    /// STAC asset keys to take (default: every GeoTIFF asset that is not a thumbnail, overview or metadata).
    pub stac_assets: Option<Vec<String>>,
    /// Called with `(done, total)` as headers are read.
    pub progress: Option<Progress>,
}

impl Default for BuildOptions {
    fn default() -> BuildOptions {
        BuildOptions {
            concurrency: 64,
            fail_fast: false,
            filename_regex: None,
            date_format: "%Y%m%d".into(),
            extensions: vec!["tif".into(), "tiff".into()],
            stac_assets: None,
            progress: None,
        }
    }
}

impl fmt::Debug for BuildOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildOptions")
            .field("concurrency", &self.concurrency)
            .field("fail_fast", &self.fail_fast)
            .field("filename_regex", &self.filename_regex)
            .field("date_format", &self.date_format)
            .field("extensions", &self.extensions)
            .field("stac_assets", &self.stac_assets)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// One file, source or item left out of a build, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The href, source or item id (credentials hidden).
    pub href: String,
    /// What went wrong; the text names the file.
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// What a build left out: the failures (each with its reason) and the files the filename regex passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Each bad file, unreachable href, bad source or inconsistent item, in source order.
    pub failures: Vec<Failure>,
    /// Files whose names did not match the filename regex.
    pub skipped: usize,
    /// Headers read (successfully or not).
    pub headers: usize,
}

/// What one header says, kept after the file is closed.
#[derive(Debug, Clone)]
struct Header {
    href: String,
    count: usize,
    dtype: crate::dtype::DataType,
    nodata: Option<f64>,
    width: u64,
    height: u64,
    transform: crate::grid::GeoTransform,
    crs: Crs,
    tile: (u64, u64),
    overviews: usize,
}

impl Header {
    fn read(cog: &Cog) -> Result<Header> {
        let bad = |reason: &str| Error::Catalog {
            path: cog.href().to_string(),
            reason: reason.into(),
        };
        let crs = cog.crs()?.ok_or_else(|| bad("no CRS"))?;
        let transform = cog.transform().ok_or_else(|| bad("no georeferencing"))?;
        if !transform.is_north_up() || transform.a == 0.0 || transform.e == 0.0 {
            return Err(bad("rotated or degenerate grid (not supported)"));
        }
        let (rows, cols) = cog.block_shape();
        Ok(Header {
            href: cog.href().to_string(),
            count: cog.count(),
            dtype: cog.dtype(),
            nodata: cog.nodata(),
            width: cog.width(),
            height: cog.height(),
            transform,
            crs,
            tile: (cols, rows),
            overviews: cog.overviews().len(),
        })
    }
}

impl Catalog {
    /// Build a catalog from `sources` by reading COG headers only, `options.concurrency` at a time.
    ///
    /// Each source is a local file, directory (walked for `options.extensions`) or glob; an object-store
    /// href (`s3://bucket/a.tif`) or prefix (`s3://bucket/scenes/`, listed); or a STAC ItemCollection file
    /// (`.json`/`.geojson`) or stac-geoparquet file (`.parquet`), local or remote, whose items may hold
    /// several assets. A file becomes an item with one asset keyed `"image"` and bands `b1..bN`, its id the file name
    /// without extension (band-per-file items: see [`BuildOptions::filename_regex`]).
    ///
    /// Bad files, unreachable hrefs and items whose assets are in different CRSs are listed in the returned
    /// [`BuildReport`] and left out; with `fail_fast` the first of them is the error. Malformed STAC files
    /// and bad options are always errors.
    pub async fn build<S: AsRef<str>>(
        sources: &[S],
        options: &BuildOptions,
    ) -> Result<(Catalog, BuildReport)> {
        if options.concurrency == 0 {
            return Err(Error::Catalog {
                path: "build options".into(),
                reason: "concurrency must be at least 1".into(),
            });
        }
        let dates = options
            .filename_regex
            .as_deref()
            .map(|r| FilenameDates::new(r, &options.date_format))
            .transpose()
            .map_err(|reason| Error::Catalog {
                path: "build options".into(),
                reason,
            })?;
        let sources: Vec<String> = sources.iter().map(|s| s.as_ref().to_string()).collect();
        let rules = Rules {
            extensions: &options.extensions,
            dates: dates.as_ref(),
            stac_assets: options.stac_assets.as_deref(),
        };
        let expanded = sources::expand(&sources, &rules, options.fail_fast).await?;
        let mut report = BuildReport {
            skipped: expanded.skipped,
            failures: expanded
                .failures
                .into_iter()
                .map(|(href, e)| Failure {
                    href,
                    reason: e.to_string(),
                })
                .collect(),
            headers: 0,
        };
        let headers = read_headers(&expanded.items, options).await?;
        report.headers = headers.len();
        let mut items = Vec::with_capacity(expanded.items.len());
        for spec in &expanded.items {
            match assemble(spec, &headers) {
                Ok(item) => items.push(item),
                Err(e) if options.fail_fast => return Err(e),
                Err(e) => report.failures.push(Failure {
                    href: failing_href(spec, &headers),
                    reason: e.to_string(),
                }),
            }
        }
        unique_ids(&mut items);
        Ok((Catalog::from_items(items), report))
    }
}

/// Items whose ids collide (files of the same name in different folders) take their first asset's href as
/// id instead.
fn unique_ids(items: &mut [Item]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in items.iter() {
        *seen.entry(item.id.clone()).or_default() += 1;
    }
    for item in items.iter_mut() {
        if seen[&item.id] > 1 {
            item.id = item.assets[0].href.clone();
        }
    }
}

/// Every distinct asset href's header, read `concurrency` at a time.
async fn read_headers(
    items: &[ItemSpec],
    options: &BuildOptions,
) -> Result<HashMap<String, Result<Header, Arc<Error>>>> {
    let mut hrefs: Vec<&str> = items
        .iter()
        .flat_map(|i| i.assets.iter().map(|a| a.href.as_str()))
        .collect();
    hrefs.sort_unstable();
    hrefs.dedup();
    let total = hrefs.len();
    if let Some(progress) = &options.progress {
        progress(0, total);
    }
    let mut stream = futures::stream::iter(hrefs)
        .map(|href| async move {
            let header = match Cog::open(href).await {
                Ok(cog) => Header::read(&cog),
                Err(e) => Err(e),
            };
            (href, header)
        })
        .buffer_unordered(options.concurrency);
    let mut headers = HashMap::with_capacity(total);
    while let Some((href, header)) = stream.next().await {
        let header = match header {
            Ok(h) => Ok(h),
            Err(e) if options.fail_fast => return Err(e),
            Err(e) => Err(Arc::new(e)),
        };
        headers.insert(href.to_string(), header);
        if let Some(progress) = &options.progress {
            progress(headers.len(), total);
        }
    }
    Ok(headers)
}

/// The first asset href of `spec` whose header failed, else its first asset's (the item as a whole failed).
fn failing_href(spec: &ItemSpec, headers: &HashMap<String, Result<Header, Arc<Error>>>) -> String {
    let bad = spec
        .assets
        .iter()
        .find(|a| matches!(headers.get(&a.href), Some(Err(_))));
    redact(&bad.unwrap_or(&spec.assets[0]).href)
}

/// The item `spec` describes, from its assets' headers.
fn assemble(
    spec: &ItemSpec,
    headers: &HashMap<String, Result<Header, Arc<Error>>>,
) -> Result<Item> {
    let mut assets = Vec::with_capacity(spec.assets.len());
    for a in &spec.assets {
        let header = match headers.get(&a.href) {
            Some(Ok(h)) => h,
            Some(Err(e)) => {
                return Err(Error::Catalog {
                    path: redact(&a.href),
                    reason: strip_href(&e.to_string(), &redact(&a.href)),
                });
            }
            None => unreachable!("every asset href was read"),
        };
        let bands = match &a.bands {
            Some(names) if names.len() == header.count => names.clone(),
            _ if a.key != "image" && header.count == 1 => vec![a.key.clone()],
            _ => (1..=header.count).map(|b| format!("b{b}")).collect(),
        };
        assets.push(Asset {
            key: a.key.clone(),
            href: header.href.clone(),
            bands,
            dtype: header.dtype,
            nodata: header.nodata,
            width: header.width,
            height: header.height,
            transform: header.transform,
            crs: header.crs,
            tile: header.tile,
            overviews: header.overviews,
        });
    }
    let crs = assets[0].crs;
    if assets.iter().any(|a| a.crs != crs) {
        let crss: Vec<String> = assets
            .iter()
            .map(|a| format!("{} {}", a.key, a.crs))
            .collect();
        return Err(Error::Catalog {
            path: format!("item {:?} ({})", spec.id, assets[0].href),
            reason: format!("assets in different CRSs: {}", crss.join(", ")),
        });
    }
    let bounds = union(assets.iter().map(Asset::bounds));
    let footprint = transform_ring(crs, wgs84(), &bounds).map_err(|e| Error::Catalog {
        path: format!("item {:?} ({})", spec.id, assets[0].href),
        reason: e.to_string(),
    })?;
    Ok(Item {
        id: spec.id.clone(),
        interval: spec.interval,
        assets,
        crs,
        bounds,
        footprint,
    })
}

/// An error text without its leading `"{href}: "` (the failure names the href already).
fn strip_href(text: &str, href: &str) -> String {
    text.strip_prefix(href)
        .and_then(|t| t.strip_prefix(": "))
        .unwrap_or(text)
        .to_string()
}
