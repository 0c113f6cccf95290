//! From an href to an object store and a path in it: local paths, file://, s3://, gs://, az://, http(s)://.
//!
//! Stores are built once per scheme and bucket (or host) and shared, so connections are pooled. Cloud
//! credentials and endpoints come from the environment, as each object_store builder's `from_env` reads them
//! (e.g. `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP` for a local S3 server).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore};
use url::Url;

use crate::error::{Error, Result};

/// The store serving `href` and the object's path in it.
pub(crate) fn resolve(href: &str) -> Result<(Arc<dyn ObjectStore>, Path)> {
    let refuse = |reason: String| Error::Href {
        href: redact(href),
        reason,
    };
    let url = match Url::parse(href) {
        Ok(url) if url.scheme().len() > 1 => url,
        // No scheme (or a Windows drive letter): a local path.
        _ => {
            let abs = std::path::absolute(href).map_err(|e| refuse(e.to_string()))?;
            Url::from_file_path(&abs).map_err(|_| refuse("not an absolute path".into()))?
        }
    };
    let path = match url.scheme() {
        "file" => {
            let file = url
                .to_file_path()
                .map_err(|_| refuse("bad file URL".into()))?;
            // Resolve `..` and links where the file exists; object_store paths cannot hold `..`.
            let file = std::fs::canonicalize(&file).unwrap_or(file);
            Path::from_absolute_path(file).map_err(|e| refuse(e.to_string()))?
        }
        _ => Path::from_url_path(url.path()).map_err(|e| refuse(e.to_string()))?,
    };
    // Keyed by process too: a forked child must not reuse connections owned by its parent's runtime.
    let key = format!(
        "{} {}://{}",
        std::process::id(),
        url.scheme(),
        url.authority()
    );
    let mut stores = registry().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(store) = stores.get(&key) {
        return Ok((store.clone(), path));
    }
    let store = build(&url).map_err(|e| refuse(e.to_string()))?;
    stores.insert(key, store.clone());
    Ok((store, path))
}

/// `href` with the credentials a URL may carry (user info, a query such as a SAS token or a presigned
/// signature) replaced by `***`: the form errors and logs may show.
pub(crate) fn redact(href: &str) -> String {
    match Url::parse(href) {
        Ok(mut url) if url.scheme().len() > 1 => {
            let user_info = !url.username().is_empty() || url.password().is_some();
            if !user_info && url.query().is_none() {
                return href.to_string();
            }
            if user_info {
                // Only URLs that cannot hold user info refuse these, and they hold none.
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

fn registry() -> &'static Mutex<HashMap<String, Arc<dyn ObjectStore>>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
    STORES.get_or_init(Default::default)
}

fn build(url: &Url) -> object_store::Result<Arc<dyn ObjectStore>> {
    let bucket = url.host_str().unwrap_or_default();
    Ok(match url.scheme() {
        "file" => Arc::new(LocalFileSystem::new()),
        "s3" | "s3a" => Arc::new(
            AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()?,
        ),
        "gs" => Arc::new(
            GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(bucket)
                .build()?,
        ),
        "az" | "azure" | "abfs" => Arc::new(
            MicrosoftAzureBuilder::from_env()
                .with_container_name(bucket)
                .build()?,
        ),
        "http" | "https" => {
            let base = format!("{}://{}", url.scheme(), url.authority());
            let options = ClientOptions::new().with_allow_http(true);
            Arc::new(
                HttpBuilder::new()
                    .with_url(base)
                    .with_client_options(options)
                    .build()?,
            )
        }
        other => {
            return Err(object_store::Error::NotSupported {
                source: format!("scheme {other}:// (use a path, file, s3, gs, az or http(s))")
                    .into(),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_file_urls_name_the_same_object() {
        let (_, a) = resolve("/tmp/some dir/x.tif").unwrap();
        let (_, b) = resolve("file:///tmp/some%20dir/x.tif").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_ref(), "tmp/some dir/x.tif");
    }

    #[test]
    fn credentials_in_hrefs_never_reach_errors() {
        assert_eq!(
            redact("https://user:secret@host/a.tif?sig=abc&se=1"),
            "https://***@host/a.tif?***"
        );
        assert_eq!(redact("/data/a b.tif"), "/data/a b.tif");
        assert_eq!(redact("s3://bucket/a.tif"), "s3://bucket/a.tif");
        let err = resolve("ftp://user:secret@host/a.tif")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn http_urls_keep_their_path_and_unknown_schemes_are_refused() {
        let (_, p) = resolve("http://127.0.0.1:9/data/a.tif").unwrap();
        assert_eq!(p.as_ref(), "data/a.tif");
        let err = resolve("ftp://host/a.tif").unwrap_err().to_string();
        assert!(
            err.contains("ftp://host/a.tif") && err.contains("scheme ftp"),
            "{err}"
        );
    }
}
