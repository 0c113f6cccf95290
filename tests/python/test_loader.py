"""geochips.Loader from Python: samplers, batches equal to one-by-one reads, DLPack export without a copy
(numpy), leases that outlive the batch and the loader, and bad input raising exceptions that name the problem."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import geochips
import numpy as np
import pytest

CHIP = 32
X0, Y0, RES, SIZE = 500_000.0, 5_000_000.0, 10.0, 160


def scene_pixels(i: int) -> np.ndarray:
    rng = np.random.default_rng(i)
    return rng.integers(0, 60_000, (3, SIZE, SIZE), dtype=np.uint16)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> list[Path]:
    """Two side-by-side 160 x 160 px, 3-band uint16 COGs (64-px tiles) in UTM 31N."""
    d = tmp_path_factory.mktemp("scenes")
    paths = []
    for i in range(2):
        p = d / f"scene{i}.tif"
        x0 = X0 + i * SIZE * RES
        geochips.write_cog(p, scene_pixels(i), (RES, 0.0, x0, 0.0, -RES, Y0), epsg=32631, tile_size=64)
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def catalog(scenes) -> geochips.Catalog:
    return geochips.Catalog.build([str(p) for p in scenes])


def expected_chip(catalog: geochips.Catalog, s: geochips.GeoSlice) -> np.ndarray:
    """The chip of slice ``s`` cut straight from the pixels written."""
    item = catalog.item(s.item)
    a, _, c, _, e, f = item["assets"][0]["transform"]
    col = round((s.bounds[0] - c) / a)
    row = round((s.bounds[3] - f) / e)
    index = int(Path(item["assets"][0]["href"]).stem[-1])
    return scene_pixels(index)[:, row : row + CHIP, col : col + CHIP]


def test_batches_equal_the_pixels_and_the_sampler(catalog):
    sampler = geochips.RandomSampler(catalog, CHIP, length=40, seed=3)
    want = [s.id for s in sampler.slices()]
    loader = geochips.Loader(catalog, sampler, batch_size=8, prefetch=2)
    assert len(loader) == 5 and loader.channels == 3 and loader.dtype == "uint16"
    ids = []
    for k, batch in enumerate(loader):
        assert batch.index == k and batch.shape == [8, 3, CHIP, CHIP]
        image = np.from_dlpack(batch.image)
        mask = np.from_dlpack(batch.valid)
        assert image.shape == (8, 3, CHIP, CHIP) and image.dtype == np.uint16
        assert mask.shape == (8, CHIP, CHIP) and mask.dtype == np.uint8 and mask.all()
        assert not image.flags.writeable, "the ring slot is exported read-only (DLPack 1.x flag)"
        for j, s in enumerate(batch.slices):
            np.testing.assert_array_equal(image[j], expected_chip(catalog, s))
            assert batch.crs[j] == "EPSG:32631" and batch.bounds[j] == s.bounds
            assert batch.transforms[j][2] == s.bounds[0] and batch.transforms[j][5] == s.bounds[3]
            assert batch.items[j] == catalog.ids[s.item]
        ids += [s.id for s in batch.slices]
    assert ids == want
    assert loader.stats()["chips"] == 40


def test_same_seed_same_batches_and_set_epoch(catalog):
    def run(seed: int, epoch: int) -> list[bytes]:
        sampler = geochips.RandomSampler(catalog, CHIP, length=16, seed=seed)
        loader = geochips.Loader(catalog, sampler, batch_size=8)
        loader.set_epoch(epoch)
        return [np.from_dlpack(b.image).tobytes() for b in loader]

    assert run(1, 0) == run(1, 0)
    assert run(1, 0) != run(1, 1)
    assert run(1, 0) != run(2, 0)


def test_dlpack_address_is_the_slot_and_legacy_capsules(catalog):
    sampler = geochips.GridSampler(catalog, CHIP, stride=CHIP)
    loader = geochips.Loader(catalog, sampler, batch_size=4)
    batch = next(iter(loader))
    image = batch.image
    assert image.__dlpack_device__() == (1, 0)
    legacy = image.__dlpack__()
    assert "dltensor" in repr(legacy) and "versioned" not in repr(legacy)
    versioned = image.__dlpack__(max_version=(1, 0))
    assert "dltensor_versioned" in repr(versioned)
    del legacy, versioned  # unconsumed capsules free their lease
    a = np.from_dlpack(image)
    assert a.__array_interface__["data"][0] == image.address
    assert a.__array_interface__["data"][0] % 4096 == 0, "ring slots are page-aligned"
    with pytest.raises(BufferError, match="copy"):
        image.__dlpack__(copy=True)
    with pytest.raises(BufferError, match="device"):
        image.__dlpack__(dl_device=(2, 0))


def test_exports_outlive_batch_and_loader_and_free_from_any_thread(catalog):
    sampler = geochips.RandomSampler(catalog, CHIP, length=64, seed=5)
    loader = geochips.Loader(catalog, sampler, batch_size=8, prefetch=1, ring_slots=4)
    it = iter(loader)
    held = [np.from_dlpack(next(it).image) for _ in range(2)]
    copies = [h.copy() for h in held]
    # Two free slots (one in flight, one for the batch the loop variable still holds during `next`) cycle
    # through the rest of the epoch; the held exports are never overwritten.
    rest = [np.from_dlpack(b.image).copy() for b in it]
    assert len(rest) == 6
    for h, c in zip(held, copies):
        np.testing.assert_array_equal(h, c)
    del loader, it
    gc.collect()
    for h, c in zip(held, copies):
        np.testing.assert_array_equal(h, c)
    # The last reference dropped on another thread runs the deleter there.
    t = threading.Thread(target=held.clear)
    t.start()
    t.join()


def test_holding_every_slot_raises_instead_of_hanging(catalog):
    sampler = geochips.RandomSampler(catalog, CHIP, length=80, seed=6)
    loader = geochips.Loader(catalog, sampler, batch_size=8, prefetch=1, ring_slots=2)
    it = iter(loader)
    held = [np.from_dlpack(next(it).valid) for _ in range(2)]
    with pytest.raises(geochips.GeochipsError, match="ring slots are held"):
        next(it)
    del held


def test_grid_sampler_options(catalog):
    sampler = geochips.GridSampler(catalog, CHIP, stride=48)
    # (160 - 32) / 48 -> 3 steps + the clamped last: 4 x 4 chips per item.
    assert len(sampler) == 2 * 16
    pad = geochips.GridSampler(catalog, (CHIP, CHIP), stride=48, edge="pad")
    assert len(pad) == 2 * 16
    units = geochips.GridSampler(catalog, CHIP * RES, units="crs")
    assert len(units) == 2 * 25
    roi = (X0, Y0 - 50 * RES, X0 + 50 * RES, Y0)
    assert len(geochips.GridSampler(catalog, CHIP, roi=roi, roi_crs="EPSG:32631")) == 4
    s = geochips.RandomSampler(catalog, CHIP, length=10)
    s.set_shard(rank=1, world_size=2)
    assert len(s) == 5 and all(x.id % 2 == 1 for x in s.slices())
    state = s.state()
    again = s.copy()
    assert again.state() == state


def test_bad_input_raises_naming_the_problem(catalog, scenes, tmp_path):
    sampler = geochips.RandomSampler(catalog, CHIP, length=8)
    with pytest.raises(geochips.GeochipsError, match="nope"):
        geochips.Loader(catalog, sampler, bands=["nope"])
    with pytest.raises(ValueError, match="size"):
        geochips.RandomSampler(catalog, 0)
    with pytest.raises(ValueError, match="stride"):
        geochips.GridSampler(catalog, CHIP, stride=-4)
    with pytest.raises(ValueError, match="size"):
        geochips.Loader(catalog, sampler, size=0)
    with pytest.raises(ValueError, match="batch_size"):
        geochips.Loader(catalog, sampler, batch_size=0)
    with pytest.raises(ValueError, match="on_error"):
        geochips.Loader(catalog, sampler, on_error="ignore")
    with pytest.raises(ValueError, match="dtype"):
        geochips.Loader(catalog, sampler, dtype="complex64")
    with pytest.raises(ValueError, match="sampler"):
        geochips.Loader(catalog, "random")
    with pytest.raises(ValueError, match="weighting"):
        geochips.RandomSampler(catalog, CHIP, weighting="area")
    with pytest.raises(ValueError, match="roi_crs"):
        geochips.RandomSampler(catalog, CHIP, roi=(0, 0, 1, 1))
    with pytest.raises(geochips.GeochipsError, match="missing.tif"):
        geochips.Catalog.build([str(tmp_path / "missing.tif")], fail_fast=True)
    not_parquet = tmp_path / "catalog.parquet"
    not_parquet.write_text("not a parquet file")
    with pytest.raises(geochips.GeochipsError, match="catalog.parquet"):
        geochips.Catalog.open(not_parquet)


def test_missing_file_at_read_time_raises_or_skips(scenes, tmp_path):
    paths = []
    for i, src in enumerate(scenes):
        p = tmp_path / f"copy{i}.tif"
        p.write_bytes(src.read_bytes())
        paths.append(p)
    catalog = geochips.Catalog.build([str(p) for p in paths])
    paths[1].unlink()
    sampler = geochips.GridSampler(catalog, CHIP)
    with pytest.raises(geochips.GeochipsError, match="copy1.tif"):
        for _ in geochips.Loader(catalog, sampler, batch_size=5):
            pass
    skipped = geochips.Loader(catalog, sampler, batch_size=5, on_error="skip")
    chips = sum(len(b) for b in skipped)
    assert chips == 25 and skipped.stats()["skipped"] == 25


def test_labels_of_a_band_per_file_item_equal_rasterio_reads(tmp_path):
    """An image COG and a label COG (written by GDAL) joined into one item by the filename regex: the batch
    ``mask`` equals rasterio's read of the label raster over each chip, the image its read of the image."""
    import rasterio
    from rasterio.transform import Affine
    from rasterio.windows import from_bounds

    rng = np.random.default_rng(5)
    profile = {"driver": "COG", "width": 300, "height": 200, "crs": "EPSG:32631", "blocksize": 64}
    profile["transform"] = Affine(RES, 0, X0, 0, -RES, Y0)
    with rasterio.open(tmp_path / "t_image.tif", "w", count=2, dtype="uint16", **profile) as dst:
        dst.write(rng.integers(0, 60_000, (2, 200, 300), dtype=np.uint16))
    with rasterio.open(tmp_path / "t_label.tif", "w", count=1, dtype="uint8", **profile) as dst:
        dst.write(rng.integers(0, 10, (1, 200, 300), dtype=np.uint8))
    regex = r"^(?P<item>t)_(?P<band>image|label)\.tif$"
    catalog = geochips.Catalog.build([str(tmp_path)], filename_regex=regex)
    assert len(catalog) == 1
    sampler = geochips.RandomSampler(catalog, CHIP, length=16, seed=1)
    loader = geochips.Loader(catalog, sampler, batch_size=8, labels="label")
    assert loader.channels == 2
    with rasterio.open(tmp_path / "t_image.tif") as img, rasterio.open(tmp_path / "t_label.tif") as lab:
        for batch in loader:
            image, labels = np.from_dlpack(batch.image), np.from_dlpack(batch.mask)
            assert labels.shape == (8, CHIP, CHIP) and labels.dtype == np.uint8
            for j, bounds in enumerate(batch.bounds):
                window = from_bounds(*bounds, transform=lab.transform)
                np.testing.assert_array_equal(labels[j], lab.read(1, window=window))
                np.testing.assert_array_equal(image[j], img.read(window=window))
    unlabelled = next(iter(geochips.Loader(catalog, sampler, batch_size=8, bands=["b1", "b2"])))
    assert unlabelled.mask is None
    with pytest.raises(ValueError, match="mosaic"):
        geochips.Loader(catalog, sampler, mosaic="max")
