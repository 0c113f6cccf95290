//! An HTTP/1.1 file server on 127.0.0.1 that honours single byte ranges, keeps connections alive, adds a
//! fixed delay before every response (a stand-in for object-store latency) and counts requests.

use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A running server; it stops with the process.
pub struct RangeServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Requests answered so far.
    pub requests: Arc<AtomicU64>,
}

impl RangeServer {
    /// Serve the files of `root`, sleeping `delay` before each response; one thread per connection.
    pub fn start(root: PathBuf, delay: Duration) -> RangeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (root, counter) = (root.clone(), counter.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &root, delay, &counter);
                });
            }
        });
        RangeServer { url, requests }
    }
}

/// Answer requests on one connection until the client closes it.
fn serve(
    stream: TcpStream,
    root: &std::path::Path,
    delay: Duration,
    counter: &AtomicU64,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let (mut range, mut body_len) = (None, 0usize);
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            match name.to_ascii_lowercase().as_str() {
                "range" => range = value.trim().strip_prefix("bytes=").map(str::to_owned),
                "content-length" => body_len = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
        reader
            .by_ref()
            .take(body_len as u64)
            .read_to_end(&mut Vec::new())?;
        counter.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(delay);
        let path = root.join(target.trim_start_matches('/'));
        let Ok(mut file) = std::fs::File::open(&path) else {
            out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
            continue;
        };
        let size = file.metadata()?.len() as usize;
        let (status, first, last) = match range.as_deref().and_then(|r| r.split_once('-')) {
            Some((a, b)) => {
                let first: usize = a.parse().unwrap_or(0);
                let last = b.parse().map_or(size - 1, |l: usize| l.min(size - 1));
                ("206 Partial Content", first, last)
            }
            None => ("200 OK", 0, size - 1),
        };
        let mut body = vec![0u8; last.max(first) + 1 - first];
        file.seek(std::io::SeekFrom::Start(first as u64))?;
        file.read_exact(&mut body)?;
        let mut head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nLast-Modified: Tue, 24 Nov 2026 00:00:00 GMT\r\nETag: \"{size}\"\r\n",
            body.len()
        );
        if status.starts_with("206") {
            head += &format!("Content-Range: bytes {first}-{last}/{size}\r\n");
        }
        out.write_all(head.as_bytes())?;
        out.write_all(b"\r\n")?;
        if method != "HEAD" {
            out.write_all(&body)?;
        }
    }
}
