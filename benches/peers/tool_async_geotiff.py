"""async-geotiff (DevSeed: async-tiff + obstore) windowed reads: every file opened once, ``job["in_flight"]``
chip reads at once on one asyncio loop (each fetches its tiles and decodes them in async-tiff's Rust code),
chips stacked into numpy batches in order. No tile cache.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from async_geotiff import GeoTIFF, Window
from chips import Clock, batched, job, windows
from obstore.store import HTTPStore, LocalStore


def store(root: str):
    """The obstore store over the dataset's root (a folder or an http:// URL)."""
    if root.startswith("http"):
        return HTTPStore.from_url(root, client_options={"allow_http": True})
    return LocalStore(prefix=root)


async def run(spec: dict[str, Any]) -> None:
    files = spec["files"]
    st = store(spec["root"])
    opened = await asyncio.gather(*(GeoTIFF.open(rel, store=st) for scene in files for rel in scene))
    per_scene = len(files[0])
    tiffs = [opened[i : i + per_scene] for i in range(0, len(opened), per_scene)]
    chips = windows(spec, len(files))
    size, gate = spec["size"], asyncio.Semaphore(spec["in_flight"])

    async def read(scene: int, col: int, row: int) -> np.ndarray:
        async with gate:
            window = Window(col_off=col, row_off=row, width=size, height=size)
            parts = await asyncio.gather(*(t.read(window=window) for t in tiffs[scene]))
            return np.concatenate([p.data for p in parts])

    clock = Clock()
    # Batches in order, the reads of the next ones already in flight (up to the gate).
    tasks = [asyncio.ensure_future(read(*c)) for c in chips]
    for batch in batched(tasks, spec["batch"]):
        clock.tick(len(np.stack(await asyncio.gather(*batch))))
    clock.done()


if __name__ == "__main__":
    asyncio.run(run(job()))
