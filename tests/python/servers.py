"""Test servers on 127.0.0.1: an HTTP file server that honours Range and logs every request, and moto's S3.

Python's http.server ignores Range headers, so RangeRequestHandler implements single byte ranges itself
(206 + Content-Range, 416 when unsatisfiable, HEAD alike) on top of ThreadingHTTPServer.
"""

from __future__ import annotations

import email.utils
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class Request:
    """One request the HTTP server answered."""

    method: str
    path: str
    range: str | None
    """The Range header as sent, e.g. "bytes=0-16383"; None without one."""
    status: int
    sent: int = 0
    """Body bytes answered (0 for HEAD and errors)."""


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single-range `Range` header over a `size`-byte file, or None when
    it cannot be satisfied. Raises ValueError for a header that is not one `bytes=` range."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or match.groups() == ("", ""):
        raise ValueError(header)
    first, last = match.groups()
    if first == "":  # the last N bytes
        first, last = max(size - int(last), 0), size - 1
    else:
        first, last = int(first), min(int(last), size - 1) if last else size - 1
    return (first, last) if first <= last and first < size else None


class RangeRequestHandler(BaseHTTPRequestHandler):
    """Serves the files under `server.root`, honouring single byte ranges."""

    protocol_version = "HTTP/1.1"  # keep-alive, as object stores serve
    server: RangeHTTPServer

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def _serve(self, send_body: bool) -> None:
        self.server.enter()
        try:
            if self.server.delay:
                time.sleep(self.server.delay)  # the latency of a remote store, per request
            self._answer(send_body)
        finally:
            self.server.leave()

    def _answer(self, send_body: bool) -> None:
        range_header = self.headers.get("Range")
        status, headers, body = self._response(range_header, send_body)
        self.server.log(Request(self.command, urlsplit(self.path).path, range_header, status, len(body)))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _response(self, range_header: str | None, send_body: bool) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body (only the bytes asked for are read; no body for HEAD)."""
        root = self.server.root
        path = (root / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
        if root not in path.parents or not path.is_file():
            return HTTPStatus.NOT_FOUND, {"Content-Length": "0"}, b""
        stat = path.stat()
        size = stat.st_size
        headers = {
            "Content-Type": "image/tiff",
            "Accept-Ranges": "bytes",
            "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
            "ETag": f'"{stat.st_mtime_ns:x}-{size:x}"',
        }

        def read(first: int, length: int) -> bytes:
            if not send_body:
                return b""
            with open(path, "rb") as f:
                f.seek(first)
                return f.read(length)

        if range_header is None:
            return HTTPStatus.OK, {**headers, "Content-Length": str(size)}, read(0, size)
        try:
            byte_range = parse_range(range_header, size)
        except ValueError:
            return HTTPStatus.BAD_REQUEST, {"Content-Length": "0"}, b""
        if byte_range is None:
            return (
                HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                {"Content-Range": f"bytes */{size}", "Content-Length": "0"},
                b"",
            )
        first, last = byte_range
        headers.update(
            {"Content-Range": f"bytes {first}-{last}/{size}", "Content-Length": str(last - first + 1)}
        )
        return HTTPStatus.PARTIAL_CONTENT, headers, read(first, last - first + 1)

    def log_message(self, format: str, *args) -> None:
        pass  # requests are logged in server.requests instead of on stderr


class RangeHTTPServer(ThreadingHTTPServer):
    """A threaded file server whose `requests` list records every request, in order of answer; `delay`
    seconds are added to every request (0: none)."""

    daemon_threads = True
    request_queue_size = 256  # many clients connecting at once must not be refused

    def __init__(self, root: Path, delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), RangeRequestHandler)
        self.root = root.resolve()
        self.delay = delay
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        """The most requests being answered at once so far."""
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def requests_since(self, start: int) -> list[Request]:
        with self._lock:
            return self.requests[start:]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"


@contextmanager
def serve_directory(root: Path, delay: float = 0.0) -> Iterator[RangeHTTPServer]:
    """A RangeHTTPServer on a free port of 127.0.0.1, serving `root` from a background thread, adding `delay`
    seconds to every request."""
    server = RangeHTTPServer(root, delay)
    thread = threading.Thread(target=server.serve_forever, name="range-http-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# Requests to 127.0.0.1 never go through a proxy that the environment may name.
NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_s3_server(log_path: Path, timeout: float = 60.0) -> Iterator[str]:
    """moto's S3 server (`moto_server -H 127.0.0.1 -p PORT`, from this virtualenv) as a subprocess; yields its
    endpoint URL once it answers, and stops it afterwards. Its request log goes to `log_path`."""
    executable = Path(sys.executable).with_name("moto_server")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(executable), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {process.returncode}: {log_path.read_text()}")
            try:
                with NO_PROXY_OPENER.open(endpoint, timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"moto_server did not answer on {endpoint} within {timeout} s"
                    ) from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def point_aws_at(endpoint: str, env) -> object:
    """Point the AWS_* variables that object_store's AmazonS3Builder::from_env() reads at moto's S3 server at
    `endpoint` (set through `env`, a pytest MonkeyPatch, so they are undone after), and return a boto3 S3
    client for it."""
    import boto3

    settings = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    for name, value in settings.items():
        env.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST"):
        env.delenv(name, raising=False)
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
