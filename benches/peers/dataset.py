"""The benchmark dataset of DESIGN.md, generated and seeded: scenes of 4 uint16 bands at 10 m in two UTM zones
(EPSG:32631 and 32632), 512-px tiles, DEFLATE + predictor 2, overviews; a uint8 label COG per scene; the same
scenes as one COG per band (1024-px tiles, as Sentinel-2 archives store them); STAC ItemCollections that group
each scene's band files, and each scene with its labels, into one item.

Written with geochips' own COG writer (``geochips.write_cog``). A finished dataset is kept (its ``dataset.json``
says with which parameters) and reused.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

BANDS = ("B1", "B2", "B3", "B4")
LABEL_BAND = "label"
"""The band name of the label asset in the image + label STAC items."""
ZONES = (32631, 32632)
RES = 10.0


@dataclass(frozen=True)
class Spec:
    """The shape of a dataset."""

    scenes: int = 16
    size: int = 4096
    seed: int = 0
    overviews: int = 3

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Dataset:
    """Where a generated dataset's files are."""

    root: Path
    spec: Spec

    def scenes(self) -> list[Path]:
        """The 4-band scene COGs, in scene order."""
        return [self.root / "scenes" / f"scene-{i:02d}.tif" for i in range(self.spec.scenes)]

    def labels(self) -> list[Path]:
        """The uint8 label COGs, one per scene, in scene order."""
        return [self.root / "labels" / f"scene-{i:02d}.tif" for i in range(self.spec.scenes)]

    def band_files(self) -> list[list[Path]]:
        """Per scene, its one-band COGs (1024-px tiles), in band order."""
        return [
            [self.root / "bands" / f"scene-{i:02d}-{b}.tif" for b in BANDS] for i in range(self.spec.scenes)
        ]

    @property
    def stac_bands(self) -> Path:
        """ItemCollection: one item per scene, one asset per band file."""
        return self.root / "stac-bands.json"

    @property
    def stac_labels(self) -> Path:
        """ItemCollection: one item per scene, its 4-band image and its label."""
        return self.root / "stac-labels.json"


def scene_grid(spec: Spec, i: int) -> tuple[int, tuple[float, float, float, float, float, float]]:
    """EPSG code and affine transform of scene `i`: half the scenes in each zone, in rows of four."""
    zone = ZONES[i * len(ZONES) // spec.scenes]
    k = i % max(spec.scenes // len(ZONES), 1)
    col, row = k % 4, k // 4
    side = spec.size * RES
    return zone, (RES, 0.0, 300_000.0 + col * side, 0.0, -RES, 5_000_000.0 - row * side)


def scene_pixels(spec: Spec, i: int) -> np.ndarray:
    """Scene `i`'s 4 bands: smooth fields plus seeded noise, about as compressible as optical imagery."""
    rng = np.random.default_rng([spec.seed, i])
    n = spec.size
    x = np.arange(n, dtype=np.float32)
    out = np.empty((len(BANDS), n, n), dtype=np.uint16)
    for b in range(len(BANDS)):
        fx, fy = rng.uniform(0.002, 0.02, size=2).astype(np.float32)
        smooth = (np.sin(x * fx)[None, :] + np.cos(x * fy)[:, None]) * 400.0
        noise = rng.uniform(0.0, 16.0, size=(n, n)).astype(np.float32)
        out[b] = (1000.0 + 500.0 * b + smooth + noise).astype(np.uint16)
    return out


def label_pixels(spec: Spec, i: int) -> np.ndarray:
    """Scene `i`'s label raster: ten classes in smooth blobs (uint8, one band)."""
    rng = np.random.default_rng([spec.seed, i, 1])
    x = np.arange(spec.size, dtype=np.float32)
    fx, fy = rng.uniform(0.001, 0.01, size=2).astype(np.float32)
    field = np.sin(x * fx)[None, :] + np.cos(x * fy)[:, None]  # in [-2, 2]
    return np.clip((field + 2.0) * 2.5, 0, 9).astype(np.uint8)[None]


def stac_collection(items: list[tuple[str, dict[str, tuple[str, list[str]]]]]) -> dict:
    """A STAC ItemCollection of `(id, {asset key: (relative href, band names)})` items."""

    def asset(href: str, bands: list[str]) -> dict:
        return {
            "href": href,
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
            "eo:bands": [{"name": b} for b in bands],
        }

    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item_id,
                "geometry": None,
                "properties": {"datetime": "2024-06-01T00:00:00Z"},
                "assets": {key: asset(href, bands) for key, (href, bands) in assets.items()},
            }
            for item_id, assets in items
        ],
    }


def ensure(root: Path, spec: Spec = Spec(), log=print) -> Dataset:
    """The dataset `spec` under `root`, generated there first unless a finished one with the same spec is."""
    import geochips

    data = Dataset(root, spec)
    stamp = root / "dataset.json"
    if stamp.exists() and stamp.read_text() == spec.key():
        return data
    if root.exists():
        shutil.rmtree(root)
    for folder in ("scenes", "labels", "bands"):
        (root / folder).mkdir(parents=True)
    for i in range(spec.scenes):
        log(f"dataset: scene {i + 1}/{spec.scenes} ({spec.size} px) into {root}")
        epsg, transform = scene_grid(spec, i)
        pixels = scene_pixels(spec, i)
        common = {"epsg": epsg, "overviews": spec.overviews}
        geochips.write_cog(data.scenes()[i], pixels, transform, tile_size=512, **common)
        geochips.write_cog(data.labels()[i], label_pixels(spec, i), transform, tile_size=512, **common)
        for b, path in enumerate(data.band_files()[i]):
            geochips.write_cog(path, pixels[b : b + 1], transform, tile_size=1024, **common)
    ids = [p.stem for p in data.scenes()]
    bands = [
        (item_id, {b: (f"bands/{p.name}", [b]) for b, p in zip(BANDS, files)})
        for item_id, files in zip(ids, data.band_files())
    ]
    labels = [
        (item_id, {"image": (f"scenes/{s.name}", list(BANDS)), "label": (f"labels/{lab.name}", [LABEL_BAND])})
        for item_id, s, lab in zip(ids, data.scenes(), data.labels())
    ]
    data.stac_bands.write_text(json.dumps(stac_collection(bands), indent=1))
    data.stac_labels.write_text(json.dumps(stac_collection(labels), indent=1))
    stamp.write_text(spec.key())
    return data
