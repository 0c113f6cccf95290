//! Object-store access the catalog needs beyond COG headers: listing a prefix, reading a STAC or catalog file
//! whole, writing a catalog file.
//!
//! The reader's own href resolution (`cog::store`) is private to its room, so this builds stores with
//! object_store's `parse_url_opts`, from the same environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`)
//! its builders' `from_env` read, plain HTTP allowed.

use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use url::Url;

use crate::error::{Error, Result};

/// Whether `s` is a URL (a scheme longer than a Windows drive letter), not a local path.
pub(crate) fn is_url(s: &str) -> bool {
    matches!(Url::parse(s), Ok(u) if u.scheme().len() > 1)
}

/// `href` with a URL's user info and query (credentials, signatures) shown as `***`.
pub(crate) fn redact(href: &str) -> String {
    match Url::parse(href) {
        Ok(mut url) if url.scheme().len() > 1 => {
            if !url.username().is_empty() || url.password().is_some() {
                let _ = url.set_username("***");
                let _ = url.set_password(None);
            }
            if url.query().is_some() {
                url.set_query(Some("***"));
            }
            url.to_string()
        }
        _ => href.to_string(),
    }
}

fn resolve(href: &str) -> Result<(Box<dyn ObjectStore>, Path, Url)> {
    let refuse = |reason: String| Error::Href {
        href: redact(href),
        reason,
    };
    let url = if is_url(href) {
        Url::parse(href).map_err(|e| refuse(e.to_string()))?
    } else {
        let abs = std::path::absolute(href).map_err(|e| refuse(e.to_string()))?;
        Url::from_file_path(&abs).map_err(|_| refuse("not an absolute path".into()))?
    };
    let env = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("AWS_") || k.starts_with("GOOGLE_") || k.starts_with("AZURE_")
        })
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .chain([("allow_http".to_string(), "true".to_string())]);
    let (store, path) =
        object_store::parse_url_opts(&url, env).map_err(|e| refuse(e.to_string()))?;
    Ok((store, path, url))
}

/// Every object under the prefix `href` (`s3://bucket/scenes/`), as hrefs of the same scheme and bucket,
/// sorted.
pub(crate) async fn list(href: &str) -> Result<Vec<String>> {
    let (store, path, url) = resolve(href)?;
    let base = format!("{}://{}", url.scheme(), url.authority());
    let prefix = (!path.as_ref().is_empty()).then_some(&path);
    let listed: Vec<_> = store
        .list(prefix)
        .try_collect()
        .await
        .map_err(|source| Error::Store {
            href: redact(href),
            source,
        })?;
    let mut hrefs: Vec<String> = listed
        .into_iter()
        .map(|meta| format!("{base}/{}", meta.location))
        .collect();
    hrefs.sort();
    Ok(hrefs)
}

/// The whole object at `href` (a local path or URL).
pub(crate) async fn read_all(href: &str) -> Result<bytes::Bytes> {
    let (store, path, _) = resolve(href)?;
    let store_err = |source| Error::Store {
        href: redact(href),
        source,
    };
    store
        .get(&path)
        .await
        .map_err(store_err)?
        .bytes()
        .await
        .map_err(store_err)
}

/// Store `bytes` as the object at `href` (a local path or URL), in one PUT.
pub(crate) async fn put(href: &str, bytes: Vec<u8>) -> Result<()> {
    let (store, path, _) = resolve(href)?;
    store
        .put(&path, bytes.into())
        .await
        .map(|_| ())
        .map_err(|source| Error::Store {
            href: redact(href),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_catalog_errors() {
        assert_eq!(
            redact("https://user:secret@host/a.json?sig=abc"),
            "https://***@host/a.json?***"
        );
        assert_eq!(redact("/data/a b.json"), "/data/a b.json");
    }
}
