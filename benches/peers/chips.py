"""What the workers share: the job they are given, the chip windows of the tools that take windows (rasterio,
async-geotiff), and the result they print.

A worker is ``python tool_X.py JOB_JSON``; it reads ``job["chips"]`` chips in batches of ``job["batch"]`` and
prints one JSON line: ``{"chips": n, "seconds": s, ...}``, the chips after its first batch and the time from
that batch to its last (set-up and start-up not included). Pure numpy: imported by both the
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


def windows(spec: dict[str, Any], scenes: int) -> list[tuple[int, int, int]]:
    """``(scene, col_off, row_off)`` of the chips of `spec` over `scenes` scenes of ``spec["scene_size"]`` px.

    ``random``: uniform over the scenes' area (chips wholly inside a scene, on its pixel grid), seeded like
    the job. ``grid``: every scene tiled in (scene, row, column) order every ``size`` pixels, the last row and
    column clamped to the scene's edge; the first ``chips`` of them.
    """
    size, n, extent = spec["size"], spec["chips"], spec["scene_size"]
    if spec["sampler"] == "grid":
        starts = _starts(extent, size)
        return [(s, col, row) for s in range(scenes) for row in starts for col in starts][:n]
    rng = np.random.default_rng(spec["seed"])
    return [
        (int(s), int(col), int(row))
        for s, col, row in zip(
            rng.integers(0, scenes, size=n),
            rng.integers(0, extent - size + 1, size=n),
            rng.integers(0, extent - size + 1, size=n),
        )
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
    """Times a worker's run from its first batch received to its last: the first batch (start-up: opening
    files, starting workers or the pipeline) is neither timed nor counted, for every tool alike."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.chips = 0

    def tick(self, chips: int) -> None:
        """A batch of `chips` was received."""
        if self.first is None:
            self.first = time.perf_counter()
        else:
            self.chips += chips

    def span(self) -> tuple[int, float, float]:
        """(chips counted, first batch time, now): perf_counter times, comparable across processes."""
        now = time.perf_counter()
        return self.chips, self.first if self.first is not None else now, now

    def done(self, spans: list[tuple[int, float, float]] | None = None, **extra: Any) -> None:
        """Print the result line: this clock's chips and seconds, or those of processes that each timed a
        share of the chips side by side (`spans`: from the earliest first batch to the latest end)."""
        spans = spans or [self.span()]
        chips = sum(c for c, _, _ in spans)
        seconds = max(end for _, _, end in spans) - min(first for _, first, _ in spans)
        print(json.dumps({"chips": chips, "seconds": seconds, **extra}), flush=True)
