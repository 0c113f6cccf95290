"""geochips through Python: a Catalog of the scenes (or of the STAC items for band files and labels, the label
band read into the batch's "mask"), a RandomSampler or GridSampler, ``geochips.torch.ChipDataset`` in ``DataLoader(batch_size=None, num_workers=0)``
(the Rust loader reads on every core). ``job["cache_mb"]`` sets ``tile_cache_bytes`` (None: the default).
"""

from __future__ import annotations

from typing import Any

import geochips
from chips import Clock, job
from dataset import LABEL_BAND
from geochips.torch import ChipDataset
from torch.utils.data import DataLoader


def catalog(spec: dict[str, Any]) -> geochips.Catalog:
    """The job's catalog: its STAC file for multi-file items, else its scenes."""
    root = spec["root"]
    sources = [f"{root}/{spec['stac']}"] if spec.get("stac") else [f"{root}/{f[0]}" for f in spec["files"]]
    cat = geochips.Catalog.build(sources)
    if cat.failures:
        raise SystemExit(f"catalog: {cat.failures[:3]}")
    return cat


def main() -> None:
    spec = job()
    cat = catalog(spec)
    size = spec["size"]
    if spec["sampler"] == "grid":
        sampler = geochips.GridSampler(cat, size, stride=size)
    else:
        sampler = geochips.RandomSampler(cat, size, length=spec["chips"], seed=spec["seed"])
    options = {"batch_size": spec["batch"]}
    if spec["layout"] == "labels":
        options["labels"] = LABEL_BAND  # the label asset's band: the batch's "mask"
    if spec.get("cache_mb") is not None:
        options["tile_cache_bytes"] = spec["cache_mb"] << 20
    loader = DataLoader(ChipDataset(cat, sampler, **options), batch_size=None, num_workers=0)
    clock, n = Clock(), 0
    for batch in loader:
        n += len(batch["image"])
        clock.tick(len(batch["image"]))
        del batch
        if n >= spec["chips"]:
            break
    clock.done()


if __name__ == "__main__":
    main()
