"""The decode ceiling of random chips without tile reuse: the single-core inflate rate of the dataset's own
tiles (libdeflate, as GDAL uses, through the ``deflate`` package; zlib where it is missing, and said so), times
the cores, over the decoded bytes a random chip costs (whole tiles: the tiles it touches on average × a tile's
decoded size).

A worker like the tools: ``python ceiling.py JOB_JSON`` prints one JSON line.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from typing import Any

import numpy as np
import rasterio
from chips import job

try:
    import deflate

    INFLATER = "libdeflate"

    def inflate(data: bytes, size: int) -> bytes:
        return deflate.zlib_decompress(data, size)

except ImportError:
    INFLATER = "zlib"

    def inflate(data: bytes, size: int) -> bytes:
        return zlib.decompress(data, bufsize=size)


def tiles_per_chip(extent: int, chip: int, tile: int) -> float:
    """The mean number of tiles a `chip`-px chip touches along an `extent`-px axis, over every offset that
    keeps it inside (each offset equally likely, as the random samplers draw)."""
    offsets = range(extent - chip + 1)
    return sum((o + chip - 1) // tile - o // tile + 1 for o in offsets) / len(offsets)


def stored_tiles(path: str, limit: int) -> tuple[list[bytes], int]:
    """Up to `limit` stored full-resolution tiles of the (pixel-interleaved) COG at `path`, spread over it,
    and a tile's decoded size in bytes."""
    with rasterio.open(path) as ds:
        (th, tw), count = ds.block_shapes[0], ds.count
        decoded = th * tw * count * np.dtype(ds.dtypes[0]).itemsize
        rows, cols = -(-ds.height // th), -(-ds.width // tw)
        keys = [(r, c) for r in range(rows) for c in range(cols)]
        keys = keys[:: max(len(keys) // limit, 1)][:limit]
        spans = [
            (
                int(ds.get_tag_item(f"BLOCK_OFFSET_{c}_{r}", "TIFF", bidx=1)),
                int(ds.get_tag_item(f"BLOCK_SIZE_{c}_{r}", "TIFF", bidx=1)),
            )
            for r, c in keys
        ]
    with open(path, "rb") as f:
        tiles = []
        for offset, size in spans:
            f.seek(offset)
            tiles.append(f.read(size))
    return tiles, decoded


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Inflate the first scene's tiles on one core for about `spec["seconds"]`; the ceiling it implies."""
    path = f"{spec['root']}/{spec['files'][0][0]}"
    tiles, decoded = stored_tiles(path, 64)
    with rasterio.open(path) as ds:
        width, height, (tile, _) = ds.width, ds.height, ds.block_shapes[0]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < spec.get("seconds", 2.0):
        for data in tiles:
            assert len(inflate(data, decoded)) == decoded
        done += len(tiles)
    seconds = time.perf_counter() - start
    per_core = done * decoded / seconds
    touched = tiles_per_chip(width, spec["size"], tile) * tiles_per_chip(height, spec["size"], tile)
    cores = os.cpu_count() or 1
    return {
        "inflater": INFLATER,
        "inflate_bytes_per_second_per_core": per_core,
        "cores": cores,
        "tiles_per_chip": touched,
        "tile_bytes": decoded,
        "decoded_bytes_per_chip": touched * decoded,
        "chips_per_second": per_core * cores / (touched * decoded),
    }


if __name__ == "__main__":
    print(json.dumps(measure(job())), flush=True)
