"""geochips reads GeoTIFFs written by GDAL bit-identically to rasterio.

The files cover compression x predictor x dtype x interleave x tile shape x overviews x nodata x band count x
raster size x driver, not as the full cross product but as a covering array: every pair of values of any two
axes that GDAL can write together occurs in at least one file. A few files add strips, BigTIFF, big-endian
byte order and internal masks. Every file is read at 30 seeded windows per resolution level (inside, across
an edge, outside, some with band subsets) and compared with rasterio's boundless read of the same window.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Callable

import geochips
import pytest
from conftest import (
    FLOAT_DTYPES,
    INT_DTYPES,
    CogSpec,
    assert_crs_matches,
    assert_metadata_matches,
    assert_windows_match,
    band_subsets,
    codec_family,
    open_oracle,
    random_windows,
    spec_seed,
)

WINDOWS_PER_LEVEL = 30

# The axes of the matrix. Sizes are odd so that edge tiles are partial; 203x149 fits in one partial tile.
AXES = {
    "codec": [
        "none",
        "deflate",
        "lzw",
        "zstd",
        "packbits",
        "jpeg_ycbcr",
        "jpeg_rgb",
        "webp_lossless",
        "webp_lossy",
        "lerc",
        "lerc_deflate",
        "lerc_zstd",
    ],
    "dtype": ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"],
    "predictor": [1, 2, 3],
    "nodata": ["none", "value", "nan"],
    "count": [1, 3, 4],
    "interleave": ["pixel", "band"],
    "block": [(256, 256), (512, 512), (256, 128)],
    "overviews": [False, True],
    "size": [(1000, 777), (517, 1031), (1199, 301), (203, 149)],
    "driver": ["GTiff", "COG"],
}

JPEG = ("jpeg_ycbcr", "jpeg_rgb")
WEBP = ("webp_lossless", "webp_lossy")
LERC = ("lerc", "lerc_deflate", "lerc_zstd")
LOSSY = (*JPEG, "webp_lossy")
PREDICTED = ("deflate", "lzw", "zstd")  # the codecs GDAL applies PREDICTOR= to

# What GDAL can write: each rule names the axes it reads and must hold where all of them are set.
RULES: list[tuple[tuple[str, ...], Callable[..., bool]]] = [
    (("codec", "dtype"), lambda codec, dtype: dtype == "uint8" if codec in JPEG + WEBP else True),
    (("codec", "dtype"), lambda codec, dtype: dtype in ("uint16", "float32") if codec in LERC else True),
    (("codec", "count"), lambda codec, count: count == 3 if codec in JPEG else True),
    (("codec", "count"), lambda codec, count: count in (3, 4) if codec in WEBP else True),
    # YCbCr JPEG is pixel-interleaved by definition; GDAL cannot read back band-interleaved WebP.
    (("codec", "interleave"), lambda codec, il: il == "pixel" if codec in WEBP + ("jpeg_ycbcr",) else True),
    # Lossy codecs do not keep the nodata value in the pixels that hold it.
    (("codec", "nodata"), lambda codec, nodata: nodata == "none" if codec in LOSSY else True),
    (("codec", "predictor"), lambda codec, predictor: predictor == 1 or codec in PREDICTED),
    (("dtype", "predictor"), lambda dtype, predictor: predictor != 2 or dtype in INT_DTYPES),
    (("dtype", "predictor"), lambda dtype, predictor: predictor != 3 or dtype in FLOAT_DTYPES),
    (("dtype", "nodata"), lambda dtype, nodata: nodata != "nan" or dtype in FLOAT_DTYPES),
    (("count", "interleave"), lambda count, il: il == "pixel" or count > 1),
    # GDAL 3.10's COG driver writes square tiles, pixel interleaving and YCbCr JPEG only.
    (("driver", "block"), lambda driver, block: driver == "GTiff" or block[0] == block[1]),
    (("driver", "interleave"), lambda driver, il: driver == "GTiff" or il == "pixel"),
    (("driver", "codec"), lambda driver, codec: driver == "GTiff" or codec != "jpeg_rgb"),
]


def writable(config: dict) -> bool:
    """Whether a (possibly partial) configuration breaks no rule."""
    return all(rule(*(config[a] for a in axes)) for axes, rule in RULES if all(a in config for a in axes))


def covering_array(axes: dict[str, list], allowed: Callable[[dict], bool], seed: int) -> list[dict]:
    """Configurations in which every pair of values of two axes that some allowed configuration holds occurs.

    Greedy, as AETG: each configuration starts from a pair not yet covered and gives each other axis the
    value that covers most uncovered pairs while the configuration stays completable.
    """
    names = list(axes)  # completions are searched in this order: the most constrained axes come first
    rng = random.Random(seed)

    def completable(config: dict) -> bool:
        if not allowed(config):
            return False
        free = next((n for n in names if n not in config), None)
        return free is None or any(completable({**config, free: v}) for v in axes[free])

    def pair(a: tuple, b: tuple) -> tuple:
        return (a, b) if names.index(a[0]) < names.index(b[0]) else (b, a)

    def pairs_of(config: dict) -> set:
        return {pair(a, b) for a, b in itertools.combinations(config.items(), 2)}

    all_pairs = [
        ((a, va), (b, vb)) for a, b in itertools.combinations(names, 2) for va in axes[a] for vb in axes[b]
    ]
    uncovered = {p for p in all_pairs if completable(dict(p))}
    configs = []
    while uncovered:
        config = dict(rng.choice(sorted(uncovered, key=repr)))
        rest = [n for n in names if n not in config]
        rng.shuffle(rest)
        for name in rest:
            gain = {v: sum(pair((name, v), item) in uncovered for item in config.items()) for v in axes[name]}
            ranked = sorted(axes[name], key=lambda v: (-gain[v], rng.random()))
            config[name] = next(v for v in ranked if completable({**config, name: v}))
        configs.append(config)
        uncovered -= pairs_of(config)
    return configs


MATRIX = covering_array(AXES, writable, seed=20240611)


def spec_of(config: dict) -> CogSpec:
    width, height = config["size"]
    return CogSpec(
        width=width,
        height=height,
        **{k: v for k, v in config.items() if k != "size"},
    )


# Layouts the matrix does not reach: strips, BigTIFF, big-endian, internal masks (as in JPEG aerial COGs).
EXTRA_SPECS = [
    CogSpec(codec="deflate", predictor=2, dtype="uint16", count=3, block=None, nodata="value"),
    CogSpec(codec="none", dtype="uint8", count=3, interleave="band", block=None, width=517, height=301),
    CogSpec(codec="lzw", predictor=3, dtype="float32", count=2, block=None, overviews=True, nodata="nan"),
    CogSpec(codec="deflate", dtype="int16", count=2, overviews=True, extra=(("BIGTIFF", "YES"),)),
    CogSpec(codec="deflate", predictor=2, dtype="uint16", count=3, extra=(("ENDIANNESS", "BIG"),)),
    CogSpec(codec="lzw", predictor=3, dtype="float32", nodata="nan", extra=(("ENDIANNESS", "BIG"),)),
    CogSpec(codec="none", dtype="int32", count=2, interleave="band", extra=(("ENDIANNESS", "BIG"),)),
    CogSpec(codec="packbits", dtype="float64", block=None, extra=(("ENDIANNESS", "BIG"),)),
    CogSpec(codec="jpeg_ycbcr", dtype="uint8", count=3, internal_mask=True, overviews=True, driver="COG"),
    CogSpec(codec="deflate", dtype="uint16", count=2, interleave="band", internal_mask=True, overviews=True),
    CogSpec(codec="zstd", dtype="float32", count=1, internal_mask=True, nodata="value", block=(512, 512)),
]

SPECS = [spec_of(config) for config in MATRIX] + EXTRA_SPECS


def test_matrix_covers_every_value_of_every_axis_several_times():
    for axis, values in AXES.items():
        counts = Counter(config[axis] for config in MATRIX)
        assert all(counts[v] >= 3 for v in values), f"{axis}: {dict(counts)}"
    assert 50 <= len(MATRIX) <= 120, len(MATRIX)
    assert len({spec.name for spec in SPECS}) == len(SPECS), "two specs write the same file"


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_header_matches_rasterio(spec, make_cog):
    path = make_cog(spec)
    cog = geochips.open(str(path))
    with open_oracle(path) as ds:
        assert_metadata_matches(cog, path, ds)
        assert_crs_matches(cog, ds)
    # What was written, in geochips' words (GDAL's metadata does not say these plainly).
    assert cog.tiled == (spec.block is not None)
    assert cog.compression == codec_family(spec.codec)
    if spec.count > 1:
        assert cog.interleave == spec.interleave
    assert len(cog.overviews) == (2 if spec.overviews else 0)
    assert cog.has_mask == spec.internal_mask


@pytest.mark.parametrize(
    ("spec", "overview"),
    [(spec, level) for spec in SPECS for level in spec.overview_levels],
    ids=lambda v: str(v) if isinstance(v, CogSpec) else ("full" if v is None else f"overview{v}"),
)
def test_windows_read_like_rasterio(spec, overview, make_cog):
    path = make_cog(spec)
    cog = geochips.open(str(path))
    seed = spec_seed(spec) + (overview or 0) + 1
    with open_oracle(path, overview) as ds:
        windows = random_windows(ds.width, ds.height, WINDOWS_PER_LEVEL, seed)
    indexes = band_subsets(spec.count, WINDOWS_PER_LEVEL, seed)
    assert_windows_match(cog, path, windows, overview, indexes)
