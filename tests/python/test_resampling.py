"""Chips off their assets' grids, against GDAL (rasterio): bands of another resolution stacked onto a chip,
chips coarser or finer than the data (GDAL's overview choice), chips in another CRS, and band-per-file scenes
against the same scenes as multiband COGs. Every COG here is written by GDAL's COG driver (with overviews)."""

from __future__ import annotations

import geochips
import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.warp import reproject
from rasterio.windows import from_bounds

X0, Y0, SIZE, CRS = 600_000.0, 5_000_000.0, 512, "EPSG:32631"
BANDS_10M = ["B02", "B03", "B04", "B08"]
REGEX = r"^(?P<item>s\d)_(?P<band>B\d\d)\.tif$"


def smooth(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """uint16 samples: a smooth field (in world units, so bands of any resolution agree) with noise."""
    y, x = np.mgrid[0:height, 0:width] * scale
    field = 20_000 + 15_000 * np.sin(x / 170.0 + rng.random() * 6) * np.cos(y / 230.0)
    return (field + rng.integers(0, 400, (height, width))).astype(np.uint16)


def write(path, data: np.ndarray, res: float) -> None:
    """A GDAL COG of `data` [C, H, W] at `res` metres, 128-px blocks (so with overviews)."""
    count, height, width = data.shape
    profile = {"driver": "COG", "width": width, "height": height, "count": count, "dtype": data.dtype}
    profile |= {"crs": CRS, "transform": Affine(res, 0, X0, 0, -res, Y0), "blocksize": 128}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """One Sentinel-2-like scene twice: as one COG per band (B02-B08 at 10 m, B11 at 20 m; `perband`) and
    with the 10 m bands in one multiband COG (`multiband`)."""
    root = tmp_path_factory.mktemp("scenes")
    (root / "perband").mkdir()
    (root / "multiband").mkdir()
    rng = np.random.default_rng(11)
    bands = {name: smooth(rng, SIZE, SIZE, 10.0) for name in BANDS_10M}
    for name, data in bands.items():
        write(root / "perband" / f"s1_{name}.tif", data[None], 10.0)
    write(root / "perband" / "s1_B11.tif", smooth(rng, SIZE // 2, SIZE // 2, 20.0)[None], 20.0)
    write(root / "multiband" / "s1.tif", np.stack([bands[n] for n in BANDS_10M]), 10.0)
    return root


def slice_at(col: float, row: float, size: int, res: float, crs: str = CRS) -> geochips.GeoSlice:
    """A chip of `size` px at `res` m whose top-left corner is 10 m pixel (col, row) of the scene."""
    minx, maxy = X0 + 10.0 * col, Y0 - 10.0 * row
    return geochips.GeoSlice(0, (minx, maxy - size * res, minx + size * res, maxy), crs, (size, size))


def chips(catalog, slices, size: int, **options) -> tuple[np.ndarray, np.ndarray]:
    """The images and validity of `slices`, read through a ChipReader."""
    batch = geochips.ChipReader(catalog, size, **options).read(slices)
    return np.from_dlpack(batch.image), np.from_dlpack(batch.valid)


def gdal_read(path, bounds, size: int, method: Resampling) -> np.ndarray:
    """rasterio's read of `bounds` from band 1 of `path` into `size` x `size` px."""
    with rasterio.open(path) as src:
        window = from_bounds(*bounds, transform=src.transform)
        return src.read(1, window=window, out_shape=(size, size), resampling=method)


def assert_close(ours: np.ndarray, gdal: np.ndarray, method: Resampling, what: str) -> None:
    """Nearest: bit for bit; bilinear: within one unit (rounding of the weighted mean)."""
    if method == Resampling.nearest:
        np.testing.assert_array_equal(ours, gdal, err_msg=what)
    else:
        diff = np.abs(ours.astype(np.int64) - gdal.astype(np.int64))
        assert diff.max() <= 1, f"{what}: up to {diff.max()} off GDAL"


@pytest.mark.parametrize("method", [Resampling.nearest, Resampling.bilinear])
def test_a_20_m_band_stacks_onto_10_m_chips_as_rasterio_reads_it(scenes, method):
    catalog = geochips.Catalog.build([str(scenes / "perband")], filename_regex=REGEX)
    assert len(catalog) == 1
    places = [(0, 0), (37, 101), (200, 17), (451, 300), (128, 128)]
    slices = [slice_at(col, row, 60, 10.0) for col, row in places]
    bands = [*BANDS_10M, "B11"]
    image, valid = chips(catalog, slices, 60, bands=bands, resampling=method.name)
    assert image.shape == (len(slices), 5, 60, 60) and image.dtype == np.uint16
    assert valid.all()
    for k, s in enumerate(slices):
        for c, name in enumerate(bands):
            gdal = gdal_read(scenes / "perband" / f"s1_{name}.tif", s.bounds, 60, method)
            assert_close(image[k, c], gdal, method, f"{name} at {places[k]}")


@pytest.mark.parametrize("method", [Resampling.nearest, Resampling.bilinear])
@pytest.mark.parametrize("scale", [0.5, 2.0, 2.5, 3.5, 4.0])
def test_coarser_and_finer_chips_equal_rasterio_reads_through_its_overview_choice(scenes, method, scale):
    """Chips `scale` times the data's pixel size: GDAL reads the coarsest overview no coarser than the chip
    (20% coarser allowed with nearest, so 3.5 reads different levels per method), then resamples."""
    catalog = geochips.Catalog.build([str(scenes / "multiband")])
    size = 48
    slices = [slice_at(col, row, size, 10.0 * scale) for col, row in [(3, 5), (200, 90), (41, 303)]]
    image, valid = chips(catalog, slices, size, resampling=method.name)
    assert valid.all()
    with rasterio.open(scenes / "multiband" / "s1.tif") as src:
        for k, s in enumerate(slices):
            window = from_bounds(*s.bounds, transform=src.transform)
            gdal = src.read(window=window, out_shape=(4, size, size), resampling=method)
            assert_close(image[k], gdal, method, f"slice {k} at {scale}x")


@pytest.mark.parametrize("method", [Resampling.nearest, Resampling.bilinear])
def test_chips_in_another_crs_equal_rasterio_warp_reproject(scenes, method):
    """Chips in Web Mercator over a UTM scene, against `rasterio.warp.reproject` onto the chip's grid: nearest
    equal on at least 99.9% of the pixels valid in both; bilinear within 1 unit (both were exact when measured:
    GDAL's approximate transformer and kernel, reproduced)."""
    catalog = geochips.Catalog.build([str(scenes / "multiband")])
    size, res = 64, 12.0
    with rasterio.open(scenes / "multiband" / "s1.tif") as src:
        data, transform = src.read(), src.transform
    to_mercator = Transformer.from_crs(CRS, "EPSG:3857", always_xy=True)
    slices = []
    for col, row in [(100, 100), (250, 180), (300, 330)]:
        x, y = to_mercator.transform(X0 + 10.0 * col, Y0 - 10.0 * row)
        slices.append(geochips.GeoSlice(0, (x, y - size * res, x + size * res, y), "EPSG:3857", (size, size)))
    image, valid = chips(catalog, slices, size, resampling=method.name)
    assert valid.mean() > 0.99
    for k, s in enumerate(slices):
        gdal = np.zeros((4, size, size), dtype=np.uint16)
        dst_transform = Affine(res, 0, s.bounds[0], 0, -res, s.bounds[3])
        reproject(data, gdal, src_transform=transform, src_crs=CRS, dst_transform=dst_transform,
                  dst_crs="EPSG:3857", resampling=method, dst_nodata=0)  # fmt: skip
        both = valid[k].astype(bool) & (gdal != 0).all(axis=0)
        assert both.mean() > 0.99
        ours, theirs = image[k][:, both].astype(np.int64), gdal[:, both].astype(np.int64)
        if method == Resampling.nearest:
            assert (ours == theirs).mean() >= 0.999
        else:
            assert np.abs(ours - theirs).max() <= 1


def test_band_per_file_and_multiband_scenes_give_identical_chips(scenes):
    """The same scene as one COG per band and as one multiband COG: identical chips for identical slices,
    through a seeded random sampler (the same slices over both) and the loader."""
    perband = geochips.Catalog.build([str(scenes / "perband")], filename_regex=REGEX)
    multiband = geochips.Catalog.build([str(scenes / "multiband")])
    batches = []
    # The multiband COG's bands are named by number (GDAL band descriptions are not read as names yet).
    for catalog, names in [(perband, BANDS_10M), (multiband, ["b1", "b2", "b3", "b4"])]:
        sampler = geochips.RandomSampler(catalog, 64, length=48, seed=3)
        loader = geochips.Loader(catalog, sampler, batch_size=16, bands=names)
        batches.append(
            [(b.bounds, np.from_dlpack(b.image).copy(), np.from_dlpack(b.valid).copy()) for b in loader]
        )
    assert len(batches[0]) == 3
    for (bounds_a, image_a, valid_a), (bounds_b, image_b, valid_b) in zip(*batches, strict=True):
        assert bounds_a == bounds_b
        np.testing.assert_array_equal(image_a, image_b)
        np.testing.assert_array_equal(valid_a, valid_b)


def utm_scene(path, epsg: int, lon: float, lat: float, seed: int) -> None:
    """A 1-band uint16 COG of 200 x 200 px at 10 m in UTM `epsg`, its top-left corner at (lon, lat)."""
    x, y = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    data = smooth(np.random.default_rng(seed), 200, 200, 10.0)[None] + np.uint16(seed)
    profile = {"driver": "COG", "width": 200, "height": 200, "count": 1, "dtype": "uint16", "nodata": 0}
    profile |= {
        "crs": f"EPSG:{epsg}",
        "transform": Affine(10, 0, round(x), 0, -10, round(y)),
        "blocksize": 64,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def test_samplers_in_a_target_crs_warp_items_of_two_utm_zones_and_mosaic_them(tmp_path):
    """Two scenes on either side of the UTM 31/32 boundary, overlapping, sampled on one Web Mercator grid:
    each chip read from its own item equals `rasterio.warp.reproject` of that item (nearest, >= 99.9% of the
    pixels valid in both), and the default mosaic fills the chip from the other zone's scene where its own
    has no data, with that scene's reprojected values."""
    utm_scene(tmp_path / "a.tif", 32631, 5.99, 45.0, 1)
    utm_scene(tmp_path / "b.tif", 32632, 6.01, 45.005, 2)
    catalog = geochips.Catalog.build([str(tmp_path)])
    assert sorted(catalog.item(i)["crs"] for i in range(2)) == ["EPSG:32631", "EPSG:32632"]
    sampler = geochips.GridSampler(catalog, 32, crs="EPSG:3857", res=15.0)
    slices = sampler.slices()
    assert slices and all(s.crs == "EPSG:3857" and s.res == (15.0, 15.0) for s in slices)

    def read(mosaic: str) -> list[tuple[list, np.ndarray, np.ndarray]]:
        loader = geochips.Loader(catalog, sampler, batch_size=16, mosaic=mosaic, resampling="nearest")
        return [
            (b.slices, np.from_dlpack(b.image)[:, 0].copy(), np.from_dlpack(b.valid) == 1) for b in loader
        ]

    single, mosaic = read("single"), read("newest")
    sources = {}
    for name in ("a.tif", "b.tif"):
        with rasterio.open(tmp_path / name) as src:
            sources[str(tmp_path / name)] = (src.read(1), src.transform, src.crs)
    hrefs = [catalog.item(i)["assets"][0]["href"] for i in range(len(catalog))]

    def gdal(item: int, bounds) -> np.ndarray:
        data, transform, crs = sources[hrefs[item]]
        out = np.zeros((32, 32), dtype=np.uint16)
        dst_transform = Affine(15.0, 0, bounds[0], 0, -15.0, bounds[3])
        reproject(data, out, src_transform=transform, src_crs=crs, src_nodata=0, dst_transform=dst_transform,
                  dst_crs="EPSG:3857", resampling=Resampling.nearest, dst_nodata=0)  # fmt: skip
        return out

    same = total = gained = gained_same = 0
    for (slices, image, valid), (m_slices, m_image, m_valid) in zip(single, mosaic, strict=True):
        assert [s.key() for s in slices] == [s.key() for s in m_slices]
        for k, s in enumerate(slices):
            theirs = gdal(s.item, s.bounds)
            both = valid[k] & (theirs != 0)
            same, total = same + int((image[k][both] == theirs[both]).sum()), total + int(both.sum())
            assert (m_valid[k] | ~valid[k]).all(), "the mosaic keeps every pixel of the slice's item"
            np.testing.assert_array_equal(m_image[k][valid[k]], image[k][valid[k]])
            new = m_valid[k] & ~valid[k]
            other = gdal(1 - s.item, s.bounds)
            gained, gained_same = (
                gained + int(new.sum()),
                gained_same + int((m_image[k][new] == other[new]).sum()),
            )
    assert total > 0 and same / total >= 0.999
    assert gained > 0 and gained_same / gained >= 0.999
