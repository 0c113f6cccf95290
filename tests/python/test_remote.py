"""geochips reads COGs over HTTP and S3 exactly as from disk, and with few requests.

The HTTP server (servers.RangeHTTPServer) honours Range and logs every request, so request counts are
asserted over HTTP; moto's S3 server has no request log to count with, so S3 is checked for equality only.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import geochips
import numpy as np
import pytest
from conftest import CogSpec, random_windows, spec_seed
from servers import NO_PROXY_OPENER, moto_s3_server, parse_range, point_aws_at, serve_directory

BUCKET = "geochips-test"

REMOTE_SPECS = [
    # The layout of the benchmark scenes: DEFLATE + predictor 2, 4 bands uint16, 512-px tiles, a real COG.
    CogSpec(
        codec="deflate",
        predictor=2,
        dtype="uint16",
        count=4,
        block=(512, 512),
        width=1100,
        height=900,
        driver="COG",
    ),
    # Band-interleaved: each band's tiles lie in their own part of the file.
    CogSpec(codec="zstd", dtype="int16", count=3, interleave="band", nodata="value", width=700, height=650),
    # Overviews in COG layout: all IFDs up front, the smallest overview's tiles first.
    CogSpec(codec="lzw", predictor=3, dtype="float32", count=2, overviews=True, nodata="nan", driver="COG"),
]
WINDOWS_PER_LEVEL = 12


@pytest.fixture(scope="module")
def remote_files(make_cog) -> dict[CogSpec, str]:
    """The REMOTE_SPECS files, by spec: their names in make_cog.directory (and in the bucket)."""
    return {spec: make_cog(spec).name for spec in REMOTE_SPECS}


@pytest.fixture(scope="module")
def http_server(make_cog, remote_files):
    with serve_directory(make_cog.directory) as server:
        yield server


@pytest.fixture(scope="module")
def s3_bucket(make_cog, remote_files, tmp_path_factory):
    """A bucket on moto's S3 server holding the REMOTE_SPECS files; the AWS_* variables object_store's
    AmazonS3Builder::from_env() reads point at it for the duration."""
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with moto_s3_server(log) as endpoint, pytest.MonkeyPatch.context() as env:
        s3 = point_aws_at(endpoint, env)
        s3.create_bucket(Bucket=BUCKET)
        for name in remote_files.values():
            s3.upload_file(str(make_cog.directory / name), BUCKET, name)
        yield BUCKET


def level_size(cog, level: int | None) -> tuple[int, int]:
    return (cog.width, cog.height) if level is None else tuple(cog.overviews[level])


def tile_rows_touched(window, size: tuple[int, int], tile_height: int) -> int:
    """Rows of tiles that `window`, clipped to a raster of `size` (width, height), touches."""
    col, row, width, height = window
    left, top = max(col, 0), max(row, 0)
    right, bottom = min(col + width, size[0]), min(row + height, size[1])
    if left >= right or top >= bottom:
        return 0
    return (bottom - 1) // tile_height - top // tile_height + 1


def header(cog) -> dict:
    keys = ["width", "height", "count", "dtype", "transform", "crs", "block_shape", "tiled", "compression"]
    keys += ["predictor", "interleave", "overviews", "has_mask", "scales", "offsets"]
    values = {key: getattr(cog, key) for key in keys}
    values["nodata"] = "nan" if cog.nodata is not None and np.isnan(cog.nodata) else cog.nodata
    return values


def test_range_server_honours_byte_ranges(http_server, make_cog, remote_files):
    name = remote_files[REMOTE_SPECS[0]]
    data = (make_cog.directory / name).read_bytes()

    def fetch(method: str, byte_range: str | None = None):
        request = urllib.request.Request(http_server.url(name), method=method)
        if byte_range:
            request.add_header("Range", byte_range)
        try:
            with NO_PROXY_OPENER.open(request) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), b""

    status, headers, body = fetch("GET", "bytes=100-199")
    assert (status, headers["Content-Range"], headers["Content-Length"]) == (
        206,
        f"bytes 100-199/{len(data)}",
        "100",
    )
    assert body == data[100:200]
    status, headers, body = fetch("HEAD")
    assert (status, headers["Content-Length"], body) == (200, str(len(data)), b"")
    assert fetch("GET", "bytes=-10")[2] == data[-10:]
    assert fetch("GET", f"bytes={len(data)}-")[0] == 416
    assert parse_range("bytes=5-", 10) == (5, 9)
    assert http_server.requests[-1].range == f"bytes={len(data)}-"


@pytest.mark.parametrize("scheme", ["http", "s3"])
@pytest.mark.parametrize("spec", REMOTE_SPECS, ids=str)
def test_remote_reads_equal_local_reads(spec, scheme, make_cog, remote_files, request):
    name = remote_files[spec]
    if scheme == "http":
        href = request.getfixturevalue("http_server").url(name)
    else:
        href = f"s3://{request.getfixturevalue('s3_bucket')}/{name}"
    local = geochips.open(str(make_cog.directory / name))
    remote = geochips.open(href)
    assert header(remote) == header(local)
    for level in spec.overview_levels:
        width, height = level_size(local, level)
        for window in random_windows(width, height, WINDOWS_PER_LEVEL, spec_seed(spec) + (level or 0)):
            data, mask = remote.read(window=window, overview=level)
            local_data, local_mask = local.read(window=window, overview=level)
            where = f"{href} overview={level} window={window}"
            assert data.dtype == local_data.dtype and data.shape == local_data.shape, where
            assert data.tobytes() == local_data.tobytes(), where
            assert np.array_equal(mask, local_mask), where


@pytest.mark.parametrize("spec", REMOTE_SPECS, ids=str)
def test_http_open_takes_at_most_two_requests(spec, http_server, remote_files):
    url = http_server.url(remote_files[spec])
    start = len(http_server.requests)
    geochips.open(url)
    requests = http_server.requests_since(start)
    assert len(requests) <= 2, requests


@pytest.mark.parametrize("spec", REMOTE_SPECS, ids=str)
def test_http_read_makes_at_most_one_request_per_tile_row_plus_one(spec, http_server, remote_files):
    """Tiles of a row are adjacent in the file and fetched in one coalesced range request; band-interleaved
    files store each band's tiles apart, so there the allowance is one request per tile row per band."""
    cog = geochips.open(http_server.url(remote_files[spec]))
    tile_height = cog.block_shape[0]
    planes = cog.count if cog.interleave == "band" else 1
    too_many = []
    for level in spec.overview_levels:
        size = level_size(cog, level)
        for window in random_windows(*size, WINDOWS_PER_LEVEL, spec_seed(spec) + 7 * (level or 0)):
            start = len(http_server.requests)
            cog.read(window=window, overview=level)
            gets = [r for r in http_server.requests_since(start) if r.method == "GET"]
            allowed = tile_rows_touched(window, size, tile_height) * planes + 1
            if len(gets) > allowed:
                too_many.append(f"overview={level} window={window}: {len(gets)} GETs > {allowed}: {gets}")
    assert not too_many, "\n".join(too_many)


def test_missing_http_file_raises_error_naming_href(http_server):
    href = http_server.url("no-such-file.tif")
    with pytest.raises(geochips.GeochipsError) as raised:
        geochips.open(href).read()
    assert href in str(raised.value)
    answers = [r.status for r in http_server.requests if r.path == "/no-such-file.tif"]
    assert 404 in answers, f"the server answered {answers}"


def test_missing_s3_object_raises_error_naming_href(s3_bucket):
    href = f"s3://{s3_bucket}/no-such-file.tif"
    with pytest.raises(geochips.GeochipsError) as raised:
        geochips.open(href).read()
    assert href in str(raised.value)
