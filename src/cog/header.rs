//! Fetching a TIFF header: one request for the first bytes (which also tells the file size), then one
//! request for whatever IFDs or tag arrays lie beyond them, until the structure is complete.

use std::ops::Range;

use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};

use super::tiff::{self, Fetched, Parsed, Tiff};
use crate::error::{Error, Result};

/// Bytes asked for by the first request: enough for the whole header of most COGs.
pub(crate) const FIRST_REQUEST: u64 = 32 << 10;
/// Smallest later request: header pieces beyond the first bytes are fetched in chunks at least this big.
const MIN_FOLLOW_UP: u64 = 64 << 10;
/// Most header bytes we fetch before calling the file unreasonable.
const MAX_HEADER_BYTES: u64 = 256 << 20;

/// A parsed TIFF structure and what it took to get it.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) tiff: Tiff,
    /// Size of the file in bytes.
    pub(crate) size: u64,
    /// Requests made to read the header.
    pub(crate) requests: usize,
}

/// Fetch and parse the header of `path` in `store`; errors name `href`.
pub(crate) async fn fetch(store: &dyn ObjectStore, path: &Path, href: &str) -> Result<Header> {
    let store_err = |source| Error::Store {
        href: href.to_string(),
        source,
    };
    let invalid = |reason: String| Error::InvalidTiff {
        href: href.to_string(),
        reason,
    };
    let opts = GetOptions {
        range: Some(GetRange::Bounded(0..FIRST_REQUEST)),
        ..Default::default()
    };
    let first = store.get_opts(path, opts).await.map_err(store_err)?;
    let size = first.meta.size;
    let mut fetched = Fetched::default();
    fetched.add(0, first.bytes().await.map_err(store_err)?);
    let mut requests = 1;
    loop {
        match tiff::parse(&fetched, size).map_err(invalid)? {
            Parsed::Done(tiff) => {
                return Ok(Header {
                    tiff,
                    size,
                    requests,
                });
            }
            Parsed::Need(needs) => {
                let ranges = follow_up(needs, size);
                let total: u64 = ranges.iter().map(|r| r.end - r.start).sum();
                if fetched.len() + total > MAX_HEADER_BYTES {
                    return Err(invalid(format!(
                        "header larger than {MAX_HEADER_BYTES} bytes"
                    )));
                }
                let parts = store.get_ranges(path, &ranges).await.map_err(store_err)?;
                for (r, b) in ranges.iter().zip(parts) {
                    fetched.add(r.start, b);
                }
                requests += 1;
            }
        }
    }
}

/// The ranges to fetch for `needs`: each grown to [`MIN_FOLLOW_UP`] bytes (within the file), overlapping ones
/// merged.
fn follow_up(mut needs: Vec<Range<u64>>, size: u64) -> Vec<Range<u64>> {
    needs.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::new();
    for r in needs {
        let grown = r.start..r.end.max(r.start + MIN_FOLLOW_UP).min(size);
        match out.last_mut() {
            Some(last) if grown.start <= last.end => last.end = last.end.max(grown.end),
            _ => out.push(grown),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_up_requests_grow_and_merge() {
        let size = 1 << 20;
        let ranges = follow_up(vec![40_000..40_100, 50_000..50_010, 900_000..900_004], size);
        assert_eq!(
            ranges,
            vec![
                40_000..50_000 + MIN_FOLLOW_UP,
                900_000..900_000 + MIN_FOLLOW_UP
            ]
        );
        assert_eq!(
            follow_up(std::iter::once(size - 10..size - 2).collect(), size),
            vec![size - 10..size]
        );
    }
}
