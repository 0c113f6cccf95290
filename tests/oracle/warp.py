"""GDAL's answers for the resampling and reprojection tests (tests/warp.rs), through rasterio.

Usage: warp.py CASES DIR. CASES is a JSON list of cases; for each, DIR gets NAME.src, the seeded source raster
(all bands, little-endian, band by band), and NAME.out, GDAL's result; DIR/nodata.json maps each dtype to
[source nodata, destination nodata] (see RANGES). A case is
    {"name", "dtype", "bands", "resampling": "nearest" | "bilinear", "seed",
     "src": {"width", "height", "transform": [a, b, c, d, e, f], "crs": "EPSG:..."},
     "nodata": bool,
and either
     "window": [col_off, row_off, width, height], "out_shape": [height, width]}
for `dataset.read(window=..., out_shape=..., resampling=...)` of the source (a same-CRS resample), or
     "dst": {"width", "height", "transform", "crs"}}
for `rasterio.warp.reproject` onto that grid (default error threshold), the source's nodata pixels (when
"nodata") given as `src_nodata`. Values of each type, its source nodata and the destination's nodata (which
marks pixels GDAL leaves empty) are in RANGES; no valid value or mean of values equals either nodata.
"""

import json
import sys

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.warp import reproject
from rasterio.windows import Window

# dtype: (lowest value, highest value, source nodata, destination nodata)
RANGES = {
    "uint8": (10, 240, 255, 0),
    "int8": (-100, 100, 127, -128),
    "uint16": (100, 60_000, 65_535, 0),
    "int16": (-20_000, 20_000, 32_767, -32_768),
    "uint32": (100, 4_000_000_000, 4_294_967_295, 0),
    "int32": (-2_000_000_000, 2_000_000_000, 2_147_483_647, -2_147_483_648),
    "float32": (-1000.0, 1000.0, 9999.0, -9999.0),
    "float64": (-1000.0, 1000.0, 9999.0, -9999.0),
}


def source(case: dict) -> np.ndarray:
    """A smooth pattern with noise over most of the type's range, and nodata pixels when asked: 5% at random
    and a block."""
    rng = np.random.default_rng(case["seed"])
    lo, hi, nodata, _ = RANGES[case["dtype"]]
    h, w = case["src"]["height"], case["src"]["width"]
    y, x = np.mgrid[0:h, 0:w]
    bands = []
    for b in range(case["bands"]):
        smooth = 0.5 + 0.35 * np.sin(x / (7.0 + b) + b) * np.cos(y / (5.0 + b))
        bands.append(lo + (hi - lo) * (smooth + 0.1 * rng.random((h, w))))
    data = np.stack(bands)
    if np.dtype(case["dtype"]).kind in "iu":
        data = np.round(data)
    data = data.astype(case["dtype"])
    if case["nodata"]:
        holes = rng.random((h, w)) < 0.05
        holes[h // 3 : h // 3 + 12, w // 2 : w // 2 + 20] = True
        data[:, holes] = nodata
    return data


def read(case: dict, data: np.ndarray) -> np.ndarray:
    src = case["src"]
    profile = {
        "driver": "GTiff",
        "width": src["width"],
        "height": src["height"],
        "count": case["bands"],
        "dtype": case["dtype"],
        "crs": src["crs"],
        "transform": Affine(*src["transform"]),
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(data)
        with mem.open() as ds:
            return ds.read(
                window=Window(*case["window"]),
                out_shape=(case["bands"], *case["out_shape"]),
                resampling=Resampling[case["resampling"]],
            )


def warp(case: dict, data: np.ndarray) -> np.ndarray:
    src, dst = case["src"], case["dst"]
    _, _, src_nodata, dst_nodata = RANGES[case["dtype"]]
    out = np.full((case["bands"], dst["height"], dst["width"]), dst_nodata, dtype=case["dtype"])
    reproject(
        data,
        out,
        src_transform=Affine(*src["transform"]),
        src_crs=src["crs"],
        src_nodata=src_nodata if case["nodata"] else None,
        dst_transform=Affine(*dst["transform"]),
        dst_crs=dst["crs"],
        dst_nodata=dst_nodata,
        resampling=Resampling[case["resampling"]],
        # `out` starts as dst_nodata; GDAL's own initialisation would use the source nodata when there is one,
        # which makes unwritten pixels look like source nodata copied through.
        init_dest_nodata=False,
    )
    return out


def main(cases_path: str, out_dir: str) -> None:
    with open(cases_path) as f:
        cases = json.load(f)
    with open(f"{out_dir}/nodata.json", "w") as f:
        json.dump({dtype: [r[2], r[3]] for dtype, r in RANGES.items()}, f)
    with rasterio.Env():
        for case in cases:
            data = source(case)
            out = read(case, data) if "window" in case else warp(case, data)
            little = data.dtype.newbyteorder("<")
            data.astype(little).tofile(f"{out_dir}/{case['name']}.src")
            out.astype(little).tofile(f"{out_dir}/{case['name']}.out")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
