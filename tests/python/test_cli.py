"""`geochips info` prints what rasterio (GDAL) reports: size, bands, CRS, transform, nodata, blocks, overviews."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import rasterio

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
INFO_FILES = [
    "rasterio/RGB.byte.tif",
    "rasterio/float_nan.tif",
    "rasterio/cogeo.tif",
    "rasterio/rgb1_fake_nir_epsg3857.tif",
    "rasterio/world.byte.tif",
    "image-tiff/bigtiff/BigTIFFMotorola.tif",
]


def geochips_info(path: Path) -> dict[str, str]:
    """`geochips info PATH` as a dict of its `key: value` / `key=value` lines (built by `cargo`)."""
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--bin", "geochips", "--", "info", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = {}
    for line in out.splitlines():
        key, _, value = line.partition(": ")
        fields[key] = value
    return fields


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
@pytest.mark.parametrize("name", INFO_FILES)
def test_info_reports_what_rasterio_reports(name):
    path = CORPUS / name
    info = geochips_info(path)
    with rasterio.open(path) as ds:
        assert info["Size"] == f"{ds.width} x {ds.height}"
        assert info["Bands"].startswith(f"{ds.count} x {ds.dtypes[0]}, {ds.interleaving.name.lower()}")
        epsg = ds.crs.to_epsg() if ds.crs else None
        assert info["CRS"] == (f"EPSG:{epsg}" if epsg else "none")
        if ds.transform.is_identity:
            assert info["Transform"] == "none (not georeferenced)"
        else:
            affine = [float(v) for v in info["Transform"].strip("()").split(", ")]
            assert affine == list(ds.transform)[:6]
        if ds.nodata is None:
            assert info["NoData"] == "none"
        else:
            assert float(info["NoData"]) == ds.nodata or math.isnan(ds.nodata) and info["NoData"] == "NaN"
        rows, cols = ds.block_shapes[0]
        if not ds.profile.get("tiled") and ds.compression is None:
            # libtiff chops an uncompressed single-strip image into strips of about 8 KiB for GDAL; geochips
            # reports the strips the file holds.
            rows = int(info["Block"].split("x")[1].split(" ")[0])
        assert info["Block"] == f"{cols}x{rows} ({'tiled' if ds.profile.get('tiled') else 'stripped'})"
        compression = ds.compression.name.lower() if ds.compression else "none"
        assert info["Compression"].startswith(f"{compression}, predictor")
        listed = [] if info["Overviews"] == "none" else info["Overviews"].split(", ")
        assert len(listed) == len(ds.overviews(1))
        for size, factor in zip(listed, ds.overviews(1)):
            width = int(size.split("x")[0])
            assert round(ds.width / width) == factor


def test_info_on_a_missing_file_fails_with_a_message_naming_it():
    path = CORPUS / "rasterio" / "not-there.tif"
    with pytest.raises(subprocess.CalledProcessError) as failure:
        subprocess.run(
            ["cargo", "run", "--quiet", "--bin", "geochips", "--", "info", str(path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    assert str(path) in failure.value.stderr
