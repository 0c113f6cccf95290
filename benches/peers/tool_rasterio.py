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


def read_chips(spec: dict[str, Any], part: list[tuple[int, int, int]]) -> tuple[int, float, float]:
    """Read the chips of `part` in batches; returns this process's timed span (see `Clock`)."""
    datasets = [[rasterio.open(h) for h in files] for files in hrefs(spec)]
    size, clock = spec["size"], Clock()
    for batch in batched(part, spec["batch"]):
        arrays = []
        for scene, col, row in batch:
            window = Window(col, row, size, size)
            arrays.append(np.concatenate([ds.read(window=window) for ds in datasets[scene]]))
        clock.tick(len(np.stack(arrays)))
    return clock.span()


def main() -> None:
    spec = job()
    # No GDAL call before the fork: a child inheriting GDAL's open /vsicurl/ connections fails to read.
    chips = windows(spec, len(spec["files"]))
    processes = spec.get("processes", 1)
    step = -(-len(chips) // processes)
    parts = [(spec, chips[i : i + step]) for i in range(0, len(chips), step)]
    if processes == 1:
        spans = [read_chips(*parts[0])]
    else:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            spans = pool.starmap(read_chips, parts)
    Clock().done(spans)


if __name__ == "__main__":
    main()
