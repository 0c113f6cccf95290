"""PyTorch wrappers: ``ChipDataset``, an ``IterableDataset`` of ready batches for ``DataLoader(ds, batch_size=None)``.

Each item the dataset yields is one batch, a dict::

    {"image": Tensor[B, C, H, W], "mask": Tensor[B, H, W] (uint8, 1 = every band valid),
     "bounds": [(minx, miny, maxx, maxy), ...], "crs": ["EPSG:32631", ...],
     "time": [(start_us | None, end_us | None), ...], "items": [item id, ...], "ids": [slice id, ...],
     "transforms": [affine, ...]}

The tensors are views of the loader's ring slot (``torch.from_dlpack``, no copy): the slot is reused only once
every tensor of the batch is gone. Keep at most ``ring_slots - prefetch`` batches alive at once (copy what you
keep longer, e.g. ``image.float()``); asking for more raises rather than hanging.

``num_workers=0`` is the recommended mode: Rust already reads and decodes on every core. With
``num_workers > 0`` each worker builds its own loader lazily (after ``fork``) over its shard of the epoch, from
``torch.utils.data.get_worker_info()``. Under ``torch.distributed`` the epoch is also sharded by rank and world
size; every shard has the same number of batches.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import IterableDataset, get_worker_info

from geochips._geochips import Batch, Catalog, GridSampler, Loader, RandomSampler

__all__ = ["ChipDataset", "batch_to_dict"]

# Loaders inherited through fork by a DataLoader worker: their runtime has no threads in the child, so they are
# kept here, never dropped (the worker leaves with os._exit).
_inherited: list[Loader] = []


def batch_to_dict(batch: Batch) -> dict[str, Any]:
    """A ``Batch`` as the sample dict ``ChipDataset`` yields; the tensors share the ring slot (no copy)."""
    return {
        "image": torch.from_dlpack(batch.image),
        "mask": torch.from_dlpack(batch.mask),
        "bounds": batch.bounds,
        "crs": batch.crs,
        "time": batch.time,
        "items": batch.items,
        "ids": [s.id for s in batch.slices],
        "transforms": batch.transforms,
    }


def _shard() -> tuple[int, int, int, int]:
    """(rank, world_size, worker, num_workers) of the calling process."""
    rank, world_size = 0, 1
    if dist.is_available() and dist.is_initialized():
        rank, world_size = dist.get_rank(), dist.get_world_size()
    info = get_worker_info()
    worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank, world_size, worker, num_workers


class ChipDataset(IterableDataset):
    """Batches of chips drawn by ``sampler`` over ``catalog``, read by a ``geochips.Loader``.

    ``loader_options`` go to ``geochips.Loader`` (``bands``, ``batch_size``, ``dtype``, ``prefetch``,
    ``on_error``, ...). Use with ``DataLoader(dataset, batch_size=None)``. Call ``set_epoch(e)`` before each
    epoch; ``state_dict()`` / ``load_state_dict()`` resume mid-epoch at the exact next batch (in each
    DataLoader worker, as torchdata's ``StatefulDataLoader`` asks).
    """

    def __init__(self, catalog: Catalog, sampler: RandomSampler | GridSampler, **loader_options: Any) -> None:
        self.catalog = catalog
        self.sampler = sampler.copy()
        self.loader_options = loader_options
        self.batch_size: int = loader_options.get("batch_size", 32)
        self.epoch = 0
        self._loader: Loader | None = None
        self._owner: tuple[int, tuple[int, int, int, int]] | None = None
        self._batches = 0
        self._resume: dict[str, int] | None = None
        # Check the options now, in the main process, so that mistakes raise here rather than in a worker.
        Loader(catalog, self.sampler, **loader_options)

    def _make_loader(self) -> Loader:
        """This process's loader over its shard, made on first use (after any fork)."""
        shard = _shard()
        owner = (os.getpid(), shard)
        if self._loader is None or self._owner != owner:
            if self._loader is not None and self._owner is not None and self._owner[0] != os.getpid():
                _inherited.append(self._loader)
            sampler = self.sampler.copy()
            sampler.set_shard(*shard)
            self._loader = Loader(self.catalog, sampler, **self.loader_options)
            self._owner = owner
        return self._loader

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (a fresh permutation for random samplers)."""
        self.epoch = epoch
        self._batches = 0
        self._resume = None

    def __iter__(self):
        loader = self._make_loader()
        if self._resume is not None:
            self.epoch = self._resume["epoch"]
            self._batches = self._resume["batches"]
            self._resume = None
            loader.resume(self.epoch, self._batches)
        else:
            self._batches = 0
            loader.set_epoch(self.epoch)
        for batch in loader:
            self._batches += 1
            yield batch_to_dict(batch)

    def __len__(self) -> int:
        """Batches per epoch of this process's shard (of one worker's shard inside a worker)."""
        sampler = self.sampler.copy()
        sampler.set_shard(*_shard())
        return (len(sampler) + self.batch_size - 1) // self.batch_size

    def state_dict(self) -> dict[str, int]:
        """Where iteration stands: the epoch and the batches of it already yielded."""
        if self._resume is not None:
            return dict(self._resume)
        return {"epoch": self.epoch, "batches": self._batches}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume at ``state``: the next iteration starts with the batch after those already yielded."""
        self._resume = {"epoch": int(state["epoch"]), "batches": int(state["batches"])}
        self.epoch = self._resume["epoch"]
