"""TorchGeo: a RasterDataset over the scenes (one 4-band file per scene; or one file per band,
``separate_files``; or the scenes intersected with a label RasterDataset), RandomGeoSampler or GridGeoSampler
(stride = size) in pixels, ``DataLoader(num_workers=job["workers"], batch_size, collate_fn=stack_samples)``.

TorchGeo works in the CRS of the first file it finds, so the scenes of the second UTM zone are warped (as its
users get them); images come as float32. GDAL's block cache is GDAL_CACHEMAX in every worker.
"""

from __future__ import annotations

from typing import Any

import torch
from chips import Clock, job
from torch.utils.data import DataLoader
from torchgeo.datasets import IntersectionDataset, RasterDataset, stack_samples
from torchgeo.samplers import GridGeoSampler, RandomGeoSampler

BANDS = ("B1", "B2", "B3", "B4")


class Scenes(RasterDataset):
    """The 4-band scenes."""

    filename_glob = "scene-*.tif"
    filename_regex = r"^scene-(?P<id>\d+)\.tif$"
    all_bands = BANDS


class BandFiles(RasterDataset):
    """The scenes as one file per band."""

    filename_glob = "scene-*-B1.tif"
    filename_regex = r"^scene-(?P<id>\d+)-(?P<band>B\d)\.tif$"
    separate_files = True
    all_bands = BANDS


class Labels(RasterDataset):
    """The uint8 label rasters (the sample's "mask")."""

    filename_glob = "scene-*.tif"
    filename_regex = r"^scene-(?P<id>\d+)\.tif$"
    is_image = False


def dataset(spec: dict[str, Any]):
    """The dataset of the job's layout over its files (GDAL paths: /vsicurl/ for URLs)."""
    prefix = "/vsicurl/" if spec["root"].startswith("http") else ""
    paths = [[f"{prefix}{spec['root']}/{rel}" for rel in files] for files in spec["files"]]
    if spec["layout"] == "bands":
        return BandFiles([p[0] for p in paths])
    if spec["layout"] == "labels":
        return IntersectionDataset(Scenes([p[0] for p in paths]), Labels([p[1] for p in paths]))
    return Scenes([p[0] for p in paths])


def main() -> None:
    spec = job()
    ds = dataset(spec)
    size = spec["size"]
    if spec["sampler"] == "grid":
        sampler = GridGeoSampler(ds, size=size, stride=size)
    else:
        generator = torch.Generator().manual_seed(spec["seed"])
        sampler = RandomGeoSampler(ds, size=size, length=spec["chips"], generator=generator)
    loader = DataLoader(
        ds,
        sampler=sampler,
        batch_size=spec["batch"],
        num_workers=spec["workers"],
        collate_fn=stack_samples,
        # GDAL's /vsicurl/ connections, opened by the index in this process, must not be shared with forked
        # workers (their reads fail): over HTTP the workers are spawned.
        multiprocessing_context="spawn" if spec["root"].startswith("http") else None,
    )
    clock, n = Clock(), 0
    for batch in loader:
        n += len(batch["image"])
        clock.tick(len(batch["image"]))
        if n >= spec["chips"]:
            break
    clock.done()


if __name__ == "__main__":
    main()
