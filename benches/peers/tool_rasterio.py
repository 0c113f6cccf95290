"""rasterio windowed reads: every file opened once per process, each chip one ``read(window=...)`` per file
(the 4-band scene; or its 4 band files; or the scene and its label), chips stacked into numpy batches.
``job["processes"]`` processes (fork) share the chips, each reading its own contiguous part.

GDAL's block cache is GDAL_CACHEMAX (set by the harness for small-cache scenarios; else GDAL's default, 5% of
RAM per process).
"""

from __future__ import annotations

import multiprocessing
from typing import Any

import numpy as np
import rasterio
from chips import Clock, batched, job, windows
from rasterio.windows import Window


def hrefs(spec: dict[str, Any]) -> list[list[str]]:
    """Per scene, the files one chip reads (GDAL paths: /vsicurl/ for URLs)."""
    prefix = "/vsicurl/" if spec["root"].startswith("http") else ""
    return [[f"{prefix}{spec['root']}/{rel}" for rel in files] for files in spec["files"]]


def read_chips(spec: dict[str, Any], part: list[tuple[int, int, int]]) -> int:
    """Read the chips of `part` in batches; returns how many."""
    datasets = [[rasterio.open(h) for h in files] for files in hrefs(spec)]
    size, n = spec["size"], 0
    for batch in batched(part, spec["batch"]):
        arrays = []
        for scene, col, row in batch:
            window = Window(col, row, size, size)
            arrays.append(np.concatenate([ds.read(window=window) for ds in datasets[scene]]))
        n += len(np.stack(arrays))
    return n


def main() -> None:
    spec = job()
    with rasterio.open(hrefs(spec)[0][0]) as ds:
        shape = (ds.width, ds.height)
    chips = windows([shape] * len(spec["files"]), spec)
    processes = spec.get("processes", 1)
    clock = Clock()
    if processes == 1:
        n = read_chips(spec, chips)
    else:
        step = -(-len(chips) // processes)
        parts = [chips[i : i + step] for i in range(0, len(chips), step)]
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            n = sum(pool.starmap(read_chips, [(spec, p) for p in parts]))
    clock.done(n)


if __name__ == "__main__":
    main()
