"""PROJ's answers for the CRS accuracy test (tests/crs.rs).

Usage: crs.py CASES OUT. CASES is a JSON object {"codes": [EPSG, ...], "pairs": [[EPSG, EPSG], ...]}. For each
code, points are sampled over its area of use (a 7 x 7 lattice over the area's box, edges included, and 200
seeded random points; latitudes kept 0.01 degree off the poles, where longitude means nothing) and projected by
pyproj. For each pair, the first code's projected points are transformed to the second. OUT gets JSON:
{"codes": {EPSG: {"lonlat": [[lon, lat], ...], "xy": [[x, y], ...]}}, "pairs": [{"from", "to", "xy", "out"}]}.
"""

import json
import sys

import numpy as np
from pyproj import CRS, Transformer

RANDOM_POINTS = 200
LATTICE = 7


def sample(code: int, rng: np.random.Generator) -> np.ndarray:
    area = CRS.from_epsg(code).area_of_use
    south, north = max(area.south, -89.99), min(area.north, 89.99)
    u, v = np.meshgrid(np.linspace(0, 1, LATTICE), np.linspace(0, 1, LATTICE))
    u = np.concatenate([u.ravel(), rng.random(RANDOM_POINTS)])
    v = np.concatenate([v.ravel(), rng.random(RANDOM_POINTS)])
    return np.stack([area.west + u * (area.east - area.west), south + v * (north - south)], axis=1)


def transform(src: int, dst: int, points: np.ndarray) -> np.ndarray:
    transformer = Transformer.from_crs(f"EPSG:{src}", f"EPSG:{dst}", always_xy=True)
    x, y = transformer.transform(points[:, 0], points[:, 1], errcheck=True)
    return np.stack([x, y], axis=1)


def main(cases_path: str, out_path: str) -> None:
    with open(cases_path) as f:
        cases = json.load(f)
    rng = np.random.default_rng(0)
    codes = {}
    for code in cases["codes"]:
        lonlat = sample(code, rng)
        codes[str(code)] = {"lonlat": lonlat.tolist(), "xy": transform(4326, code, lonlat).tolist()}
    pairs = []
    for src, dst in cases["pairs"]:
        xy = np.asarray(codes[str(src)]["xy"])
        pairs.append({"from": src, "to": dst, "xy": xy.tolist(), "out": transform(src, dst, xy).tolist()})
    with open(out_path, "w") as f:
        json.dump({"codes": codes, "pairs": pairs}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
