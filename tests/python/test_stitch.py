"""geochips.Stitcher: chips of a GridSampler with overlap, read by the Loader and fed back as "predictions",
stitch to the raster they were cut from, as rasterio reads both; the output is a valid COG."""

from __future__ import annotations

from pathlib import Path

import geochips
import numpy as np
import pytest
import rasterio
import torch
from rasterio.crs import CRS
from rasterio.transform import Affine
from rio_cogeo.cogeo import cog_validate

# 301 x 217 px: no stride below divides either side, so the last row and column of chips are clamped or padded.
WIDTH, HEIGHT, BANDS = 301, 217, 2
UTM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)


def known_pixels(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    if dtype == "float32":
        return rng.normal(0.0, 100.0, (BANDS, HEIGHT, WIDTH)).astype(dtype)
    return rng.integers(0, 256, (BANDS, HEIGHT, WIDTH), dtype=dtype)


@pytest.fixture(scope="module", params=["uint8", "float32"])
def source(request, tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A tiled GeoTIFF written by rasterio, and its pixels."""
    data = known_pixels(request.param)
    path = tmp_path_factory.mktemp("stitch") / f"source-{request.param}.tif"
    profile = {
        "driver": "GTiff",
        "width": WIDTH,
        "height": HEIGHT,
        "count": BANDS,
        "dtype": request.param,
        "crs": CRS.from_epsg(32631),
        "transform": UTM,
        "tiled": True,
        "blockxsize": 64,
        "blockysize": 64,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path, data


def stitch_loader_chips(src: Path, out: Path, *, blend: str, edge: str, margin: int = 0, **options) -> None:
    """Grid chips of ``src`` (64 px every 48 px) through the Loader, each batch stitched as its own prediction
    onto the grid of the catalog's item."""
    catalog = geochips.Catalog.build([str(src)])
    sampler = geochips.GridSampler(catalog, 64, 48, edge=edge)
    loader = geochips.Loader(catalog, sampler, batch_size=8)
    item = catalog.item(0)
    asset = item["assets"][0]
    with geochips.Stitcher(
        out,
        crs=item["crs"],
        transform=asset["transform"],
        width=asset["width"],
        height=asset["height"],
        bands=BANDS,
        dtype=loader.dtype,
        blend=blend,
        margin=margin,
        **options,
    ) as stitcher:
        for batch in loader:
            stitcher.add(np.from_dlpack(batch.image), batch.slices)


@pytest.mark.parametrize(("blend", "margin"), [("average", 0), ("center", 0), ("center", 8)])
@pytest.mark.parametrize("edge", ["clamp", "pad"])
def test_chips_stitch_back_to_the_raster_they_came_from(source, tmp_path, blend, margin, edge):
    path, data = source
    out = tmp_path / "stitched.tif"
    stitch_loader_chips(path, out, blend=blend, edge=edge, margin=margin, tile_size=64, overviews=2)
    with rasterio.open(out) as dst:
        assert (dst.width, dst.height, dst.count) == (WIDTH, HEIGHT, BANDS)
        assert dst.dtypes == (data.dtype.name,) * BANDS
        assert dst.crs == CRS.from_epsg(32631) and dst.transform == UTM
        assert dst.overviews(1) == [2, 4]
        np.testing.assert_array_equal(dst.read(), data)
    with rasterio.open(out, overview_level=0) as overview:
        # The writer's overviews: the top-left pixel of each 2 x 2 block.
        np.testing.assert_array_equal(overview.read(), data[:, ::2, ::2])
    valid, errors, _ = cog_validate(str(out))
    assert valid, errors


def test_torch_tensors_and_bounds_tuples_average_overlaps(tmp_path):
    """Two overlapping chips given as torch tensors and bounds: the overlap holds their mean, elsewhere nodata."""
    out = tmp_path / "mean.tif"
    a = torch.full((1, 1, 32, 32), 1.0)
    b = torch.full((1, 1, 32, 32), 4.0)
    x0, y0 = UTM.c, UTM.f
    with geochips.Stitcher(
        out, crs=32631, transform=UTM[:6], width=64, height=40, nodata=-1.0, tile_size=16
    ) as stitcher:
        stitcher.add(a, [(x0, y0 - 320, x0 + 320, y0)])
        stitcher.add(b.squeeze(1), [(x0 + 160, y0 - 320, x0 + 480, y0)])
    expected = np.full((40, 64), -1.0, dtype="float32")
    expected[:32, :32] = 1.0
    expected[:32, 16:48] = 4.0
    expected[:32, 16:32] = 2.5
    with rasterio.open(out) as dst:
        assert dst.nodata == -1.0
        np.testing.assert_array_equal(dst.read(1), expected)


def test_bad_input_raises_and_an_exception_leaves_no_file(tmp_path):
    out = tmp_path / "bad.tif"
    chip = np.zeros((1, 1, 16, 16), dtype="uint8")
    x0, y0 = UTM.c, UTM.f
    top, bottom = (x0, y0 - 160, x0 + 160, y0), (x0, y0 - 480, x0 + 160, y0 - 320)
    with (
        pytest.raises(geochips.GeochipsError, match="row order"),
        geochips.Stitcher(
            out, crs=32631, transform=UTM[:6], width=32, height=48, dtype="uint8", tile_size=16
        ) as s,
    ):
        with pytest.raises(ValueError, match="do not match"):
            s.add(chip, [top, bottom])
        with pytest.raises(ValueError, match="blend"):
            geochips.Stitcher(out, crs=32631, transform=UTM[:6], width=8, height=8, blend="max")
        s.add(chip, [bottom])
        s.add(chip, [top])
    assert list(tmp_path.iterdir()) == []
