"""Time series through the loader: a TimeSeriesSampler's samples of T dated chips at one place become batches
of [B, T, C, H, W] images and [B, T, H, W] validity, steps in increasing time, each step equal to rasterio's
read of its own scene (one of them on a coarser grid, resampled); a step that cannot be read stays in place
as fill, marked invalid."""

from __future__ import annotations

import datetime as dt

import geochips
import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.windows import from_bounds

X0, Y0, SIZE, CRS, CHIP, STEPS = 500_000.0, 4_000_000.0, 256, "EPSG:32631", 32, 3
DATES = ["20240105", "20240301", "20240420", "20240611"]
REGEX = r"_(?P<date>\d{8})\.tif$"


def scene(path, date_index: int, res: float, nodata_box: bool) -> None:
    """A 2-band uint16 scene whose samples say its date (thousands) and its place (the field), nodata 0 in
    a box when `nodata_box`."""
    n = int(SIZE * 10.0 / res)
    y, x = np.mgrid[0:n, 0:n] * res
    field = (300 + 200 * np.sin(x / 190.0) * np.cos(y / 130.0)).astype(np.uint16)
    data = np.stack([field + 1000 * (date_index + 1), field + 1000 * (date_index + 5)])
    if nodata_box:
        data[:, 40:120, 40:120] = 0
    profile = {"driver": "COG", "width": n, "height": n, "count": 2, "dtype": "uint16", "nodata": 0}
    profile |= {"crs": CRS, "transform": Affine(res, 0, X0, 0, -res, Y0), "blocksize": 64}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


@pytest.fixture
def dated(tmp_path):
    """Four dated scenes of one place; the second at 20 m (off the others' 10 m grid), the third with a
    nodata box."""
    for i, date in enumerate(DATES):
        scene(tmp_path / f"s_{date}.tif", i, 20.0 if i == 1 else 10.0, nodata_box=i == 2)
    return tmp_path


def utc(date: str) -> int:
    """Midnight UTC of `date` (YYYYMMDD), in µs since the Unix epoch."""
    day = dt.datetime.strptime(date, "%Y%m%d").replace(tzinfo=dt.timezone.utc)
    return int(day.timestamp()) * 1_000_000


def test_time_series_batches_have_the_documented_shape_times_and_masks(dated):
    catalog = geochips.Catalog.build([str(dated)], filename_regex=REGEX)
    assert len(catalog) == 4
    sampler = geochips.TimeSeriesSampler(catalog, CHIP, steps=STEPS, length=10, seed=4)
    loader = geochips.Loader(catalog, sampler, batch_size=4, time_steps=STEPS, resampling="nearest")
    assert len(loader) == 3
    paths = {utc(d): dated / f"s_{d}.tif" for d in DATES}
    samples, invalid = 0, 0
    for batch in loader:
        image, valid = np.from_dlpack(batch.image), np.from_dlpack(batch.valid)
        b = len(batch)
        assert batch.steps == STEPS and batch.shape == [b, STEPS, 2, CHIP, CHIP]
        assert image.shape == (b, STEPS, 2, CHIP, CHIP) and valid.shape == (b, STEPS, CHIP, CHIP)
        assert len(batch.slices) == len(batch.time) == b * STEPS
        for k in range(b):
            steps = batch.slices[k * STEPS : (k + 1) * STEPS]
            starts = [s.time[0] for s in steps]
            assert starts == sorted(set(starts)), "steps are distinct dates in increasing time"
            assert all(s.bounds == steps[0].bounds for s in steps)
            for t, s in enumerate(steps):
                with rasterio.open(paths[s.time[0]]) as src:
                    window = from_bounds(*s.bounds, transform=src.transform)
                    gdal = src.read(window=window, out_shape=(2, CHIP, CHIP), resampling=Resampling.nearest)
                np.testing.assert_array_equal(image[k, t], gdal)
                np.testing.assert_array_equal(valid[k, t], (gdal != 0).all(axis=0))
                invalid += int((valid[k, t] == 0).sum())
        samples += b
    assert samples == 10
    assert invalid > 0, "some chips meet the third scene's nodata box"


def test_a_step_that_cannot_be_read_is_fill_and_invalid_in_place(dated):
    catalog = geochips.Catalog.build([str(dated)], filename_regex=REGEX)
    broken = dated / f"s_{DATES[2]}.tif"
    broken.write_bytes(broken.read_bytes()[:2000])  # headers intact, tiles gone
    sampler = geochips.TimeSeriesSampler(catalog, CHIP, steps=STEPS, length=8, seed=1)
    loader = geochips.Loader(catalog, sampler, batch_size=8, time_steps=STEPS, on_error="skip", fill=7)
    batch = next(iter(loader))
    image, valid = np.from_dlpack(batch.image), np.from_dlpack(batch.valid)
    assert image.shape == (8, STEPS, 2, CHIP, CHIP)
    lost = [i for i, s in enumerate(batch.slices) if s.time[0] == utc(DATES[2])]
    assert lost and loader.stats()["skipped"] == len(lost)
    for i in range(8 * STEPS):
        k, t = divmod(i, STEPS)
        if i in lost:
            assert (image[k, t] == 7).all() and (valid[k, t] == 0).all()
        else:
            assert valid[k, t].any()


def test_time_steps_need_samples_of_one_place(dated):
    catalog = geochips.Catalog.build([str(dated)], filename_regex=REGEX)
    sampler = geochips.RandomSampler(catalog, CHIP, length=12, seed=0)
    loader = geochips.Loader(catalog, sampler, batch_size=2, time_steps=STEPS)
    with pytest.raises(geochips.GeochipsError, match="TimeSeriesSampler"):
        next(iter(loader))
