"""geochips.write_cog: COGs that GDAL reads back bit-identical and rio-cogeo validates."""

import math

import numpy as np
import pytest
import rasterio
from geochips._geochips import write_cog
from rasterio.crs import CRS
from rasterio.enums import Compression, Interleaving
from rasterio.transform import Affine
from rio_cogeo.cogeo import cog_validate

UTM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)
LONLAT = Affine(0.001, 0.0, 2.0, 0.0, -0.001, 49.0)


def pixels(dtype: str, bands: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random samples over the whole range of `dtype` (floats: with NaNs), shaped (bands, height, width)."""
    rng = np.random.default_rng(seed)
    shape = (bands, height, width)
    if np.dtype(dtype).kind == "f":
        data = rng.normal(0.0, 1000.0, shape).astype(dtype)
        data[rng.random(shape) < 0.01] = np.nan
        return data
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def bits(a: np.ndarray) -> np.ndarray:
    """The samples as unsigned integers of the same size: equal when bit-identical, NaNs included."""
    return a.view(f"u{a.itemsize}")


def same_nodata(actual, expected) -> bool:
    if expected is None or actual is None:
        return actual is expected
    return (math.isnan(actual) and math.isnan(expected)) or actual == expected


# dtype, bands, (height, width), tile size, compression, predictor, nodata, overviews, epsg
CASES = [
    ("uint8", 1, (512, 512), 256, "deflate", True, None, 0, 32631),
    ("uint8", 4, (777, 1000), 512, "deflate", True, 0, 2, 32631),
    ("uint8", 4, (777, 1000), 256, "none", False, 255, 2, 32632),
    ("int16", 1, (777, 1000), 256, "deflate", True, -9999, 2, 32631),
    ("int16", 4, (100, 37), 16, "deflate", False, None, 0, 3857),
    ("uint16", 4, (777, 1000), 512, "deflate", True, 0, 2, 32631),
    ("uint16", 1, (1000, 777), 512, "none", False, None, 0, 32632),
    ("uint16", 4, (513, 600), 512, "deflate", False, 65535, 2, 32631),
    ("float32", 1, (777, 1000), 512, "deflate", True, math.nan, 2, 4326),
    ("float32", 4, (777, 1000), 256, "deflate", False, -1.5, 0, 4326),
    ("float32", 4, (300, 301), 512, "none", False, None, 2, 32631),
]


@pytest.mark.parametrize(
    ("dtype", "bands", "shape", "tile", "compression", "predictor", "nodata", "overviews", "epsg"), CASES
)
def test_written_cog_reads_back_bit_identical_in_rasterio(
    tmp_path, dtype, bands, shape, tile, compression, predictor, nodata, overviews, epsg
):
    data = pixels(dtype, bands, *shape)
    transform = LONLAT if epsg == 4326 else UTM
    path = tmp_path / "written.tif"
    write_cog(
        path,
        data,
        transform[:6],
        epsg=epsg,
        nodata=nodata,
        tile_size=tile,
        compression=compression,
        predictor=predictor,
        overviews=overviews,
    )

    with rasterio.open(path) as ds:
        assert (ds.count, ds.height, ds.width) == data.shape
        assert ds.dtypes == (dtype,) * bands
        assert np.array_equal(bits(ds.read()), bits(data))
        assert ds.transform == transform
        assert ds.crs == CRS.from_epsg(epsg)
        assert same_nodata(ds.nodata, nodata)
        assert ds.profile["tiled"]
        assert ds.block_shapes == [(tile, tile)] * bands
        assert ds.compression == (Compression.deflate if compression == "deflate" else None)
        integer_predictor = predictor and compression == "deflate" and np.dtype(dtype).kind != "f"
        assert ds.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR") == ("2" if integer_predictor else None)
        if bands > 1:
            assert ds.interleaving == Interleaving.pixel
        assert ds.overviews(1) == [2**level for level in range(1, overviews + 1)]

    for level in range(overviews):
        step = 2 ** (level + 1)
        with rasterio.open(path, overview_level=level) as ov:
            assert (ov.height, ov.width) == (math.ceil(shape[0] / step), math.ceil(shape[1] / step))
            assert ov.block_shapes == [(tile, tile)] * bands
            assert np.array_equal(bits(ov.read()), bits(data[:, ::step, ::step]))

    valid, errors, _warnings = cog_validate(path, quiet=True)
    assert valid and errors == []


@pytest.mark.parametrize(
    ("dtype", "nodata"),
    [
        ("int8", -128),
        ("uint32", 4_000_000_000),
        ("int32", -2_000_000_000),
        ("float64", -3.4028234663852886e38),
    ],
)
def test_the_other_dtypes_round_trip_with_extreme_nodata(tmp_path, dtype, nodata):
    data = pixels(dtype, 2, 50, 70)
    path = tmp_path / f"{dtype}.tif"
    write_cog(path, data, UTM[:6], epsg=32631, nodata=nodata, tile_size=32, overviews=1)
    with rasterio.open(path) as ds:
        assert ds.dtypes == (dtype, dtype)
        assert ds.nodata == nodata
        assert np.array_equal(bits(ds.read()), bits(data))
    with rasterio.open(path, overview_level=0) as ov:
        assert np.array_equal(bits(ov.read()), bits(data[:, ::2, ::2]))


def test_edge_tiles_are_full_size_and_padded_with_nodata(tmp_path):
    data = np.ones((1, 20, 20), dtype="int16")
    path = tmp_path / "padded.tif"
    write_cog(path, data, UTM[:6], epsg=32631, nodata=-7, tile_size=16, compression="none")
    with rasterio.open(path) as ds:
        # GDAL says where the uncompressed bottom-right tile (row 1, column 1) is stored.
        offset = int(ds.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
        size = int(ds.get_tag_item("BLOCK_SIZE_1_1", "TIFF", bidx=1))
    assert size == 16 * 16 * 2
    tile = np.frombuffer(path.read_bytes()[offset : offset + size], dtype="<i2").reshape(16, 16)
    assert (tile[:4, :4] == 1).all()
    assert (tile[4:, :] == -7).all() and (tile[:, 4:] == -7).all()


def test_rotated_grid_and_no_crs(tmp_path):
    rotated = Affine(10.0, 2.0, 500_000.0, 1.0, -10.0, 4_000_000.0)
    data = pixels("uint8", 1, 40, 50)
    path = tmp_path / "rotated.tif"
    write_cog(path, data, rotated[:6], tile_size=16)
    with rasterio.open(path) as ds:
        assert ds.transform == rotated
        assert ds.crs is None
        assert np.array_equal(ds.read(), data)


def test_non_contiguous_input_is_written_as_its_values(tmp_path):
    base = pixels("uint16", 3, 64, 48)
    flipped = base[::-1, :, ::-1]
    path = tmp_path / "view.tif"
    write_cog(path, flipped, UTM[:6], epsg=32631, tile_size=32)
    with rasterio.open(path) as ds:
        assert np.array_equal(ds.read(), flipped)


@pytest.mark.parametrize(
    ("data", "options", "error"),
    [
        (np.zeros((4, 4), dtype="uint8"), {}, ValueError),
        (np.zeros((1, 4, 4), dtype="complex64"), {}, TypeError),
        (np.zeros((1, 4, 4), dtype=">u2"), {}, TypeError),
        (np.zeros((1, 0, 4), dtype="uint8"), {}, ValueError),
        (np.zeros((1, 4, 4), dtype="uint8"), {"tile_size": 100}, ValueError),
        (np.zeros((1, 4, 4), dtype="uint8"), {"compression": "lzw"}, ValueError),
    ],
)
def test_bad_input_raises_and_writes_nothing(tmp_path, data, options, error):
    path = tmp_path / "bad.tif"
    with pytest.raises(error):
        write_cog(path, data, UTM[:6], **options)
    assert not path.exists()


def test_unwritable_path_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        write_cog(tmp_path / "missing" / "x.tif", np.zeros((1, 4, 4), dtype="uint8"), UTM[:6])
