"""Shared helpers of the reader conformance suites.

rasterio (GDAL) is both the writer of the test GeoTIFFs and the oracle: for any window, geochips' pixels and
validity mask must equal rasterio's boundless read of the same window (DESIGN.md, "Correctness oracle").
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio._err import CPLE_BaseError  # what a failed boundless (VRT) read raises
from rasterio.enums import MaskFlags, Resampling
from rasterio.errors import NodataShadowWarning, NotGeoreferencedWarning, RasterioIOError
from rasterio.io import MemoryFile
from rasterio.windows import Window

# GDAL reads sidecar files (.msk masks, .ovr overviews, .aux.xml) next to a GeoTIFF; geochips reads only the
# file itself. With the directory listing disabled GDAL sees no sidecars, so both read the same bytes.
GDAL_WITHOUT_SIDECARS = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}

FLOAT_DTYPES = ("float32", "float64")
INT_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32")

# The nodata value written for `nodata="value"`: one per dtype, including extremes of the type.
NODATA_VALUES = {
    "uint8": 0,
    "int8": -128,
    "uint16": 65535,
    "int16": -9999,
    "uint32": 4_000_000_000,
    "int32": -2_000_000_000,
    "float32": -9999.0,
    "float64": -3.4028234663852886e38,
}

# GDAL creation options of each codec, for the GTiff driver.
GTIFF_CODEC_OPTIONS = {
    "none": {},
    "deflate": {"COMPRESS": "DEFLATE"},
    "lzw": {"COMPRESS": "LZW"},
    "zstd": {"COMPRESS": "ZSTD"},
    "packbits": {"COMPRESS": "PACKBITS"},
    "jpeg_ycbcr": {"COMPRESS": "JPEG", "PHOTOMETRIC": "YCBCR", "JPEG_QUALITY": "85"},
    "jpeg_rgb": {"COMPRESS": "JPEG", "PHOTOMETRIC": "RGB", "JPEG_QUALITY": "85"},
    "webp_lossless": {"COMPRESS": "WEBP", "WEBP_LOSSLESS": "YES"},
    "webp_lossy": {"COMPRESS": "WEBP", "WEBP_LEVEL": "80"},
    "lerc": {"COMPRESS": "LERC"},
    "lerc_deflate": {"COMPRESS": "LERC_DEFLATE"},
    "lerc_zstd": {"COMPRESS": "LERC_ZSTD"},
}

# The same for the COG driver, which names some options differently (JPEG is always YCbCr for 3 bands there;
# QUALITY=100 turns WebP lossless).
COG_CODEC_OPTIONS = {
    **{codec: opts for codec, opts in GTIFF_CODEC_OPTIONS.items() if not codec.startswith(("jpeg", "webp"))},
    "none": {"COMPRESS": "NONE"},  # the COG driver's default is LZW
    "jpeg_ycbcr": {"COMPRESS": "JPEG", "QUALITY": "85"},
    "webp_lossless": {"COMPRESS": "WEBP", "QUALITY": "100"},
    "webp_lossy": {"COMPRESS": "WEBP", "QUALITY": "80"},
}
COG_PREDICTOR = {1: "NO", 2: "STANDARD", 3: "FLOATING_POINT"}

# (crs, transform) pairs the generated files cycle through.
GEOREFERENCES = (
    ("EPSG:32631", Affine(10.0, 0.0, 499_980.0, 0.0, -10.0, 5_300_040.0)),
    ("EPSG:4326", Affine(0.000244140625, 0.0, 2.25, 0.0, -0.000244140625, 48.875)),
    ("EPSG:3857", Affine(0.5971642834779395, 0.0, -13_627_361.2, 0.0, -0.5971642834779395, 4_547_675.3)),
)


@dataclass(frozen=True)
class CogSpec:
    """How to write one test GeoTIFF with rasterio/GDAL."""

    width: int = 1000
    height: int = 777
    count: int = 1
    dtype: str = "uint16"
    codec: str = "deflate"
    """A key of GTIFF_CODEC_OPTIONS."""
    predictor: int = 1
    interleave: str = "pixel"
    block: tuple[int, int] | None = (256, 256)
    """(width, height) of a tile; None writes strips of 16 rows."""
    overviews: bool = False
    """Two internal overview levels (factors 2 and 4, nearest)."""
    nodata: str = "none"
    """"none", "value" (NODATA_VALUES[dtype]) or "nan"; 2% of the pixels and a corner block hold it."""
    driver: str = "GTiff"
    """"GTiff" (rasterio writes it, then builds overviews in place) or "COG" (GDAL's COG driver copies it)."""
    internal_mask: bool = False
    """A per-dataset internal mask (a 1-bit mask IFD), with stripes of invalid pixels."""
    extra: tuple[tuple[str, str], ...] = ()
    """Further GTiff creation options, e.g. (("BIGTIFF", "YES"),)."""

    @property
    def name(self) -> str:
        """A file name that says what the file is."""
        block = "strips" if self.block is None else "{}x{}".format(*self.block)
        parts = [
            self.driver.lower(),
            self.codec,
            f"p{self.predictor}",
            self.dtype,
            f"{self.count}b",
            self.interleave,
            block,
            "ovr" if self.overviews else "",
            f"nodata-{self.nodata}" if self.nodata != "none" else "",
            "mask" if self.internal_mask else "",
            f"{self.width}x{self.height}",
            *(f"{key}-{value}".lower() for key, value in self.extra),
        ]
        return "-".join(p for p in parts if p)

    def __str__(self) -> str:
        return self.name

    @property
    def nodata_value(self) -> float | None:
        return {"none": None, "value": NODATA_VALUES[self.dtype], "nan": math.nan}[self.nodata]

    @property
    def overview_levels(self) -> list[int | None]:
        """rasterio's overview_level values to read: None (full resolution), then 0, 1 where written."""
        return [None, 0, 1] if self.overviews else [None]


def spec_seed(spec: CogSpec) -> int:
    """A seed derived from the spec, stable across processes (unlike hash())."""
    return zlib.crc32(spec.name.encode())


def synthetic_pixels(spec: CogSpec) -> np.ndarray:
    """Seeded (count, height, width) pixels: smooth gradients plus noise (compressible), spanning the dtype's
    range (so every byte of a sample varies), with the nodata value in 2% of the pixels and in a corner block."""
    rng = np.random.default_rng(spec_seed(spec))
    y, x = np.mgrid[0 : spec.height, 0 : spec.width] / max(spec.width, spec.height)
    bands = []
    for b in range(spec.count):
        smooth = (
            0.5 + 0.25 * np.sin(2 * np.pi * (x * (b + 1) + 0.7 * y)) + 0.2 * np.cos(2 * np.pi * y * (b + 2))
        )
        bands.append(smooth + rng.normal(0.0, 0.01, smooth.shape))
    unit = np.clip(np.stack(bands), 0.0, 1.0)
    if spec.dtype in FLOAT_DTYPES:
        # Multiples of 1/256 in roughly [-600, 1400]: exact in both float types and compressible.
        data = (np.round((unit - 0.3) * 2000 * 256) / 256).astype(spec.dtype)
    else:
        info = np.iinfo(spec.dtype)
        data = np.round(info.min + unit * (float(info.max) - float(info.min))).astype(spec.dtype)
    if spec.nodata != "none":
        holes = rng.random(data.shape) < 0.02
        holes[:, : spec.height // 5, : spec.width // 7] = True
        data[holes] = spec.nodata_value
    if spec.count == 4 and spec.dtype == "uint8":
        # GDAL makes band 4 of a 4-band uint8 image its alpha band: give it transparent pixels.
        transparent = rng.random(data.shape[1:]) < 0.02
        transparent[-spec.height // 6 :, -spec.width // 5 :] = True
        data[3] = np.where(transparent, 0, 255)
    return data


def synthetic_mask(spec: CogSpec) -> np.ndarray:
    """A (height, width) GDAL mask (255 valid, 0 invalid): diagonal stripes that cross tile borders."""
    y, x = np.mgrid[0 : spec.height, 0 : spec.width]
    return np.where((x + 2 * y) % 97 < 13, 0, 255).astype("uint8")


def write_cog(path: Path, spec: CogSpec) -> Path:
    """Write `spec` to `path` with rasterio and return the path."""
    crs, transform = GEOREFERENCES[spec_seed(spec) % len(GEOREFERENCES)]
    profile = {
        "driver": "GTiff",
        "width": spec.width,
        "height": spec.height,
        "count": spec.count,
        "dtype": spec.dtype,
        "crs": crs,
        "transform": transform,
        "nodata": spec.nodata_value,
    }
    if spec.block is None:
        layout = {"TILED": "NO", "BLOCKYSIZE": "16"}
    else:
        layout = {"TILED": "YES", "BLOCKXSIZE": str(spec.block[0]), "BLOCKYSIZE": str(spec.block[1])}
    if spec.driver == "COG":
        # The COG driver only copies: write a plain tiled GTiff first, then let it lay out the COG.
        plain = path.with_suffix(".src.tif")
        _write_gtiff(plain, spec, {**profile, **layout})
        options = {
            **COG_CODEC_OPTIONS[spec.codec],
            "BLOCKSIZE": str(spec.block[0]),
            "PREDICTOR": COG_PREDICTOR[spec.predictor],
            **(
                {"OVERVIEW_COUNT": "2", "OVERVIEW_RESAMPLING": "NEAREST"}
                if spec.overviews
                else {"OVERVIEWS": "NONE"}
            ),
            **dict(spec.extra),
        }
        rasterio.shutil.copy(plain, path, driver="COG", **options)
        plain.unlink()
    else:
        options = {
            **layout,
            **GTIFF_CODEC_OPTIONS[spec.codec],
            "INTERLEAVE": spec.interleave.upper(),
            **({"PREDICTOR": str(spec.predictor)} if spec.predictor != 1 else {}),
            **dict(spec.extra),
        }
        _write_gtiff(path, spec, {**profile, **options}, overviews=spec.overviews)
    return path


def _write_gtiff(path: Path, spec: CogSpec, profile: dict, overviews: bool = False) -> None:
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "w", **profile) as ds:
        ds.write(synthetic_pixels(spec))
        if spec.internal_mask:
            ds.write_mask(synthetic_mask(spec))
        if overviews:
            ds.build_overviews([2, 4], Resampling.nearest)


@cache
def gdal_can_write(codec: str) -> bool:
    """Whether rasterio's GDAL has `codec` (LERC, WebP and ZSTD are optional in GDAL builds). GDAL writes an
    uncompressed file, with a warning, for a COMPRESS= it lacks: look at what it wrote."""
    spec = CogSpec(width=16, height=16, count=3, dtype="uint8", codec=codec, block=(16, 16))
    options = {"TILED": "YES", "BLOCKXSIZE": "16", "BLOCKYSIZE": "16", **GTIFF_CODEC_OPTIONS[codec]}
    with warnings.catch_warnings(), MemoryFile() as memfile:
        warnings.simplefilter("ignore")
        with memfile.open(driver="GTiff", width=16, height=16, count=3, dtype="uint8", **options) as ds:
            ds.write(synthetic_pixels(spec))
        with memfile.open() as ds:
            return gdal_compression(ds) == codec_family(codec)


def codec_family(codec: str) -> str:
    """The TIFF compression a codec of GTIFF_CODEC_OPTIONS writes, as geochips names it ("jpeg_rgb" -> "jpeg")."""
    return codec.split("_")[0]


class CogFactory:
    """Writes each CogSpec once per test session, into one directory (also served over HTTP and S3)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def __call__(self, spec: CogSpec) -> Path:
        path = self.directory / f"{spec.name}.tif"
        if not path.exists():
            if not gdal_can_write(spec.codec):
                pytest.skip(f"rasterio's GDAL {rasterio.__gdal_version__} cannot write {spec.codec}")
            write_cog(path, spec)
        return path


@pytest.fixture(scope="session")
def make_cog(tmp_path_factory) -> CogFactory:
    """`make_cog(spec) -> Path`: the GeoTIFF for `spec`, written on first use."""
    return CogFactory(tmp_path_factory.mktemp("cogs"))


def pytest_configure(config):
    # rasterio 1.4 multiplies Affine objects with `*`, which affine 3 warns about on every windowed read.
    config.addinivalue_line("filterwarnings", "ignore:Use `@` matmul:PendingDeprecationWarning")


@contextmanager
def open_oracle(path: str | Path, overview_level: int | None = None) -> Iterator[rasterio.DatasetReader]:
    """rasterio's view of `path` (at `overview_level`), without sidecar files."""
    kwargs = {} if overview_level is None else {"overview_level": overview_level}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        warnings.simplefilter("ignore", NodataShadowWarning)  # nodata, where set, overrides an alpha band
        with rasterio.Env(**GDAL_WITHOUT_SIDECARS), rasterio.open(path, **kwargs) as ds:
            yield ds


Window4 = tuple[int, int, int, int]


def rasterio_read(ds, window: Window4, indexes=None) -> tuple[np.ndarray, np.ndarray]:
    """The oracle for window = (col_off, row_off, width, height): rasterio's boundless read, and its masks.

    Masks are rasterio's for the part of the window inside the raster, all outside being invalid: that is what
    its boundless read_masks returns too, but for two quirks of the VRT behind it: at an overview level it
    gives the full-resolution internal mask, and for an alpha band itself it calls the outside valid. Pixels of
    a rotated raster are pasted the same way, as the VRT resamples those (rotated.tif loses its first row).
    """
    fill = 0 if ds.nodata is None else ds.nodata
    col, row, width, height = window
    bands = indexes or list(range(1, ds.count + 1))
    masks = np.zeros((len(bands), height, width), dtype="uint8")
    left, top = max(col, 0), max(row, 0)
    right, bottom = min(col + width, ds.width), min(row + height, ds.height)
    inside = Window(left, top, right - left, bottom - top) if left < right and top < bottom else None
    inside_slice = np.s_[:, top - row : bottom - row, left - col : right - col]
    if ds.transform.b == 0 and ds.transform.d == 0:
        data = ds.read(bands, window=Window(*window), boundless=True, fill_value=fill)
    else:
        data = np.full(masks.shape, fill, dtype=ds.dtypes[0])
        if inside is not None:
            data[inside_slice] = ds.read(bands, window=inside)
    if inside is not None:
        masks[inside_slice] = ds.read_masks(bands, window=inside)
    return data, masks


def random_windows(width: int, height: int, n: int, seed: int) -> list[Window4]:
    """`n` seeded windows of 1..300 px a side over a width x height raster: a third wholly inside, a third
    straddling an edge, the rest wholly outside; plus the whole raster, its last pixel and a 1-px margin."""
    rng = np.random.default_rng(seed)
    windows = [(0, 0, width, height), (width - 1, height - 1, 1, 1), (-1, -1, width + 2, height + 2)]
    while len(windows) < n:
        kind = len(windows) % 3
        w, h = (int(v) for v in rng.integers(1, 301, size=2))
        if kind == 0:  # wholly inside
            w, h = min(w, width), min(h, height)
            col, row = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        elif kind == 1:  # straddles the left/right and/or top/bottom edge
            w, h = max(w, 2), max(h, 2)
            col = int(rng.integers(-w + 1, width))
            row = int(rng.integers(-h + 1, height))
            if 0 <= col and col + w <= width and 0 <= row and row + h <= height:
                col = -int(rng.integers(1, w)) if rng.random() < 0.5 else width - w + int(rng.integers(1, w))
        else:  # wholly outside, beyond one side
            side = int(rng.integers(4))
            col = int(rng.integers(-w - 40, width + 40))
            row = int(rng.integers(-h - 40, height + 40))
            if side == 0:
                col = -w - int(rng.integers(0, 40))
            elif side == 1:
                col = width + int(rng.integers(0, 40))
            elif side == 2:
                row = -h - int(rng.integers(0, 40))
            else:
                row = height + int(rng.integers(0, 40))
        windows.append((col, row, w, h))
    return windows


def band_subsets(count: int, n: int, seed: int) -> list[list[int] | None]:
    """`n` seeded `indexes` arguments: mostly None (all bands), else a shuffled subset of 1-based bands."""
    rng = np.random.default_rng(seed)
    subsets: list[list[int] | None] = []
    for i in range(n):
        if count == 1 or i % 4 != 3:
            subsets.append(None)
        else:
            k = int(rng.integers(1, count + 1))
            subsets.append([int(b) + 1 for b in rng.permutation(count)[:k]])
    return subsets


def max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| over pixels where neither is NaN (0 for empty arrays)."""
    a64, b64 = a.astype("float64"), b.astype("float64")
    finite = ~(np.isnan(a64) | np.isnan(b64))
    return float(np.max(np.abs(a64 - b64)[finite], initial=0.0))


# Every codec is held to bit-exactness, the lossy ones (JPEG, WebP) included: geochips decodes JPEG as the
# libjpeg 9 inside rasterio's wheel does (accurate integer IDCT, chroma upsampled in the IDCT, its YCbCr
# tables), and image-webp matches libwebp.


def pixel_difference(actual, expected) -> str | None:
    """None if geochips' (data, mask) equals rasterio's (data bit for bit, mask validity exactly), else a
    description of the difference."""
    data, mask = actual
    want_data, want_mask = expected
    if data.dtype != want_data.dtype or data.shape != want_data.shape:
        return f"got {data.dtype}{list(data.shape)}, rasterio {want_data.dtype}{list(want_data.shape)}"
    if mask.shape != want_mask.shape:
        return f"mask shape {list(mask.shape)}, rasterio {list(want_mask.shape)}"
    problems = []
    nan_aware = data.dtype.kind == "f"
    if not np.array_equal(data, want_data, equal_nan=nan_aware):
        differs = data != want_data
        if nan_aware:
            differs &= ~(np.isnan(data) & np.isnan(want_data))
        first = tuple(int(i) for i in np.argwhere(differs)[0])
        problems.append(
            f"{int(differs.sum())} of {data.size} samples differ (max |diff| "
            f"{max_abs_difference(data, want_data):g}); first at [band, row, col] {list(first)}: "
            f"geochips {data[first]!r}, rasterio {want_data[first]!r}"
        )
    valid, want_valid = mask != 0, want_mask != 0
    if not np.array_equal(valid, want_valid):
        differs = valid != want_valid
        first = tuple(int(i) for i in np.argwhere(differs)[0])
        problems.append(
            f"mask: {int(differs.sum())} of {mask.size} differ; first at {list(first)}: geochips valid="
            f"{bool(valid[first])}, rasterio valid={bool(want_valid[first])}"
        )
    return "; ".join(problems) or None


def window_failures(
    cog,
    path: str | Path,
    windows: list[Window4],
    overview: int | None = None,
    indexes: list | None = None,
) -> list[str]:
    """Read every window of `path` with geochips and rasterio; describe each window where they differ.

    Where rasterio fails to read a window (a corrupt tile),
    geochips must raise GeochipsError naming the href. A GDAL read error sticks to the dataset handle (later
    reads fail too, even outside the raster), so the oracle reopens the file after each one.
    """
    from geochips import GeochipsError  # conftest stays importable while the extension is not built

    failures = []
    pending = list(zip(windows, indexes or [None] * len(windows)))
    while pending:
        with open_oracle(path, overview) as ds:
            while pending:
                window, bands = pending.pop(0)
                where = f"overview={overview} window={window} indexes={bands}"
                try:
                    expected = rasterio_read(ds, window, bands)
                except (RasterioIOError, CPLE_BaseError) as gdal_error:
                    try:
                        cog.read(window=window, indexes=bands, overview=overview)
                        failures.append(f"{where}: GDAL fails ({gdal_error}), geochips reads it")
                    except GeochipsError as error:
                        if cog.href not in str(error):
                            failures.append(f"{where}: the error does not name the href: {error}")
                    break
                try:
                    actual = cog.read(window=window, indexes=bands, overview=overview)
                except GeochipsError as error:
                    failures.append(f"{where}: geochips raised {error}")
                    continue
                problem = pixel_difference(actual, expected)
                if problem:
                    failures.append(f"{where}: {problem}")
    return failures


def assert_windows_match(cog, path, windows, overview=None, indexes=None) -> None:
    """Fail with the list of all windows where geochips and rasterio differ."""
    failures = window_failures(cog, path, windows, overview, indexes)
    assert not failures, f"{cog.href}: {len(failures)} of {len(windows)} windows differ:\n" + "\n".join(
        failures
    )


def overview_sizes(path: str | Path, ds) -> list[tuple[int, int]]:
    """(width, height) of each overview GDAL sees in the file itself, largest first."""
    sizes = []
    for level in range(len(ds.overviews(1))):
        with open_oracle(path, level) as ovr:
            sizes.append((ovr.width, ovr.height))
    return sizes


def gdal_compression(ds) -> str:
    """The TIFF compression as geochips names it, from GDAL's IMAGE_STRUCTURE metadata."""
    name = ds.tags(ns="IMAGE_STRUCTURE").get("COMPRESSION", "NONE").lower()
    # GDAL says "YCbCr JPEG" for JPEG with YCbCr photometric, and LERC_DEFLATE/LERC_ZSTD for LERC variants.
    return {"ycbcr jpeg": "jpeg", "lerc_deflate": "lerc", "lerc_zstd": "lerc"}.get(name, name)


def has_internal_mask(ds) -> bool:
    """Whether GDAL found a per-dataset mask that is neither alpha nor nodata: an internal mask IFD."""
    return all(flags == [MaskFlags.per_dataset] for flags in ds.mask_flag_enums)


def _nan_safe(value):
    return "nan" if isinstance(value, float) and math.isnan(value) else value


def expected_metadata(path: str | Path, ds) -> dict:
    """geochips' Cog attributes as rasterio sees them (CRS aside: see expected_crs)."""
    structure = ds.tags(ns="IMAGE_STRUCTURE")
    meta = {
        "width": ds.width,
        "height": ds.height,
        "count": ds.count,
        "dtype": ds.dtypes[0],
        "transform": tuple(ds.transform)[:6],
        "nodata": _nan_safe(ds.nodata),
        "block_shape": tuple(ds.block_shapes[0]),
        "overviews": overview_sizes(path, ds),
        "compression": gdal_compression(ds),
        "predictor": int(structure.get("PREDICTOR", 1)),
        "has_mask": has_internal_mask(ds),
        "scales": list(ds.scales),
        "offsets": list(ds.offsets),
    }
    if ds.count > 1:  # GDAL calls every one-band image band-interleaved; planar configuration is moot there
        meta["interleave"] = structure["INTERLEAVE"].lower()
    return meta


def cog_metadata(cog, keys) -> dict:
    """The same attributes from geochips' Cog."""
    meta = {key: getattr(cog, key) for key in keys}
    meta["nodata"] = _nan_safe(meta["nodata"])
    meta["transform"] = tuple(meta["transform"])
    meta["block_shape"] = tuple(meta["block_shape"])
    meta["overviews"] = [tuple(o) for o in meta["overviews"]]
    meta["scales"], meta["offsets"] = list(meta["scales"]), list(meta["offsets"])
    return meta


def assert_metadata_matches(cog, path: str | Path, ds) -> None:
    expected = expected_metadata(path, ds)
    assert cog_metadata(cog, expected) == expected


USER_DEFINED_CRS = "user-defined CRS"


def expected_crs(ds) -> str | None:
    """geochips' `crs` for rasterio's CRS: "EPSG:n" where GDAL identifies an EPSG code exactly, None where the
    file has no CRS, else USER_DEFINED_CRS (then reading `crs` raises GeochipsError)."""
    if not ds.crs:
        return None
    code = ds.crs.to_epsg(confidence_threshold=100)
    return f"EPSG:{code}" if code else USER_DEFINED_CRS


def assert_crs_matches(cog, ds) -> None:
    from geochips import GeochipsError

    expected = expected_crs(ds)
    if expected == USER_DEFINED_CRS:
        with pytest.raises(GeochipsError) as raised:
            _ = cog.crs
        assert cog.href in str(raised.value)
    else:
        assert cog.crs == expected
