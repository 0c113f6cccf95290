//! Object-store access the catalog needs beyond COG headers: listing a prefix, reading a STAC or catalog file
//! whole, writing a catalog file. Hrefs resolve to stores as the reader's do (`cog::store`).

use futures::TryStreamExt;
use object_store::ObjectStore;
use url::Url;

pub(crate) use crate::cog::store::redact;
use crate::cog::store::resolve;
use crate::error::{Error, Result};

/// Whether `s` is a URL (a scheme longer than a Windows drive letter), not a local path.
pub(crate) fn is_url(s: &str) -> bool {
    matches!(Url::parse(s), Ok(u) if u.scheme().len() > 1)
}

/// Every object under the prefix `href` (`s3://bucket/scenes/`), as hrefs of the same scheme and bucket,
/// sorted.
pub(crate) async fn list(href: &str) -> Result<Vec<String>> {
    let (store, path) = resolve(href)?;
    let base = match Url::parse(href) {
        Ok(url) if is_url(href) => format!("{}://{}", url.scheme(), url.authority()),
        _ => "file://".to_string(),
    };
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
    let (store, path) = resolve(href)?;
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
    let (store, path) = resolve(href)?;
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
