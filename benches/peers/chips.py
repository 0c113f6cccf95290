"""What the workers share: the job they are given, the chip windows of the tools that take windows (rasterio,
async-geotiff), and the result they print.

A worker is ``python tool_X.py JOB_JSON``; it reads ``job["chips"]`` chips in batches of ``job["batch"]`` and
prints one JSON line: ``{"chips": n, "seconds": s, ...}``, timed from its first batch asked for to its last
received (setup — opening files, building an index or catalog — not included). Pure numpy: imported by both the
project's and the peers' interpreters.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np


def job() -> dict[str, Any]:
    """The job this worker was started with (its one argument)."""
    return json.loads(sys.argv[1])


def windows(shapes: list[tuple[int, int]], spec: dict[str, Any]) -> list[tuple[int, int, int]]:
    """``(scene, col_off, row_off)`` of the chips of `spec` over scenes of `shapes` ``(width, height)``.

    ``random``: uniform over the scenes' area (chips wholly inside a scene, on its pixel grid), seeded like
    the job. ``grid``: every scene tiled in (scene, row, column) order every ``size`` pixels, the last row and
    column clamped to the scene's edge; the first ``chips`` of them.
    """
    size, n = spec["size"], spec["chips"]
    if spec["sampler"] == "grid":
        out = []
        for s, (w, h) in enumerate(shapes):
            for row in _starts(h, size):
                for col in _starts(w, size):
                    out.append((s, col, row))
        return out[:n]
    rng = np.random.default_rng(spec["seed"])
    areas = np.array([(w - size + 1) * (h - size + 1) for w, h in shapes], dtype=float)
    scenes = rng.choice(len(shapes), size=n, p=areas / areas.sum())
    return [
        (int(s), int(rng.integers(0, shapes[s][0] - size + 1)), int(rng.integers(0, shapes[s][1] - size + 1)))
        for s in scenes
    ]


def _starts(extent: int, size: int) -> list[int]:
    """Chip offsets every `size` pixels along `extent`, the last one clamped to end on the edge."""
    starts = list(range(0, max(extent - size, 0) + 1, size))
    if starts[-1] + size < extent:
        starts.append(extent - size)
    return starts


def batched(items: Iterable[Any], n: int) -> Iterator[list[Any]]:
    """`items` in lists of `n` (the last one shorter)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


class Clock:
    """Times a worker's run: started just before its first batch is asked for."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def done(self, chips: int, **extra: Any) -> None:
        """Print the result line: chips read, seconds since the start, and `extra` fields."""
        print(json.dumps({"chips": chips, "seconds": time.perf_counter() - self.start, **extra}), flush=True)
