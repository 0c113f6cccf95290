"""PyTorch wrappers: ``ChipDataset``, an ``IterableDataset`` of ready batches for
``DataLoader(ds, batch_size=None)``, and the map-style ``ChipMapDataset``.

Each item the dataset yields is one batch, a dict::

    {"image": Tensor[B, C, H, W], "valid": Tensor[B, H, W] (uint8, 1 = every band valid),
     "mask": Tensor[B, H, W] (the labels; only when the dataset reads ``labels``),
     "bounds": [(minx, miny, maxx, maxy), ...], "crs": ["EPSG:32631", ...],
     "time": [(start_us | None, end_us | None), ...], "items": [item id, ...], "ids": [slice id, ...],
     "transforms": [affine, ...]}

The tensors are views of the loader's ring slot (``torch.from_dlpack``, no copy): the slot is reused only once
every tensor of the batch is gone. Keep fewer than ``ring_slots`` batches alive at once (default 4; copy what
you keep longer, e.g. ``image.float()``); asking for more raises rather than hanging.

``num_workers=0`` is the recommended mode: Rust already reads and decodes on every core. With
``num_workers > 0`` each worker builds its own loader lazily (after ``fork``) over its shard of the epoch,
from ``torch.utils.data.get_worker_info()``. Under ``torch.distributed`` the epoch is also sharded by rank and
world size; every shard has the same number of batches.

``ChipMapDataset`` is the map-style counterpart: ``dataset[geoslice]`` (or TorchGeo-style bounds) reads one
chip, so it works under samplers that yield GeoSlices and a standard ``BatchSampler`` (its ``__getitems__``
reads a whole batch at once).
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from geochips._geochips import Batch, Catalog, ChipReader, GeoSlice, GridSampler, Loader, RandomSampler

__all__ = ["ChipDataset", "ChipMapDataset", "batch_to_dict"]

# The tensors of a sample dict, in order.
_TENSORS = ("image", "valid", "mask")

# Loaders inherited through fork by a DataLoader worker: their runtime has no threads in the child, so they
# are kept here, never dropped (the worker leaves with os._exit).
_inherited: list[Loader] = []


def batch_to_dict(batch: Batch) -> dict[str, Any]:
    """A ``Batch`` as the sample dict ``ChipDataset`` yields; the tensors share the ring slot (no copy)."""
    sample = {"image": torch.from_dlpack(batch.image), "valid": torch.from_dlpack(batch.valid)}
    if batch.mask is not None:
        sample["mask"] = torch.from_dlpack(batch.mask)
    return sample | {
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
    ``on_error``, ...). With ``device="cuda"`` the image and mask arrive on the GPU: each batch is copied with a
    non-blocking copy from the (pinned) ring slot, and the slot stays leased until a CUDA event recorded after
    the copy has completed (checked before the next batch but one is handed out). Use with ``DataLoader(dataset, batch_size=None)``. Call ``set_epoch(e)`` before each
    epoch; ``state_dict()`` / ``load_state_dict()`` resume mid-epoch at the exact next batch (in each
    DataLoader worker, as torchdata's ``StatefulDataLoader`` asks).
    """

    def __init__(
        self,
        catalog: Catalog,
        sampler: RandomSampler | GridSampler,
        device: str | torch.device | None = None,
        **loader_options: Any,
    ) -> None:
        self.catalog = catalog
        self.device = torch.device(device) if device is not None else None
        self.sampler = sampler.copy()
        self.loader_options = loader_options
        self.batch_size: int = loader_options.get("batch_size", 32)
        self.batch_chips: int = self.batch_size * loader_options.get("time_steps", 1)
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
        copies: list = []  # (event, host views) of batches whose copy to the GPU may still be running
        for batch in loader:
            self._batches += 1
            sample = batch_to_dict(batch)
            del batch
            if self.device is not None and self.device.type != "cpu":
                keys = [k for k in _TENSORS if k in sample]
                host = [sample[k] for k in keys]
                for k, tensor in zip(keys, host):
                    sample[k] = tensor.to(self.device, non_blocking=True)
                event = torch.cuda.Event()
                event.record()
                # Release the previous batch's slot once its copy is done; this batch's stays leased.
                for done, _ in copies:
                    done.synchronize()
                copies = [(event, host)]
            yield sample

    def __len__(self) -> int:
        """Batches per epoch of this process's shard (of one worker's shard inside a worker)."""
        sampler = self.sampler.copy()
        sampler.set_shard(*_shard())
        return (len(sampler) + self.batch_chips - 1) // self.batch_chips

    def state_dict(self) -> dict[str, int]:
        """Where iteration stands: the epoch and the batches of it already yielded."""
        if self._resume is not None:
            return dict(self._resume)
        return {"epoch": self.epoch, "batches": self._batches}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume at ``state``: the next iteration starts with the batch after those already yielded."""
        self._resume = {"epoch": int(state["epoch"]), "batches": int(state["batches"])}
        self.epoch = self._resume["epoch"]


_OPEN = (-(2**63), 2**63 - 1)


def _collatable(time: tuple[int | None, int | None]) -> tuple[int, int]:
    """``(start, end)`` µs with open ends as the int64 extremes (the default collate refuses None)."""
    return (_OPEN[0] if time[0] is None else time[0], _OPEN[1] if time[1] is None else time[1])


class ChipMapDataset(Dataset):
    """Map-style: ``dataset[query]`` reads one chip of ``size`` pixels and returns a sample dict.

    ``query`` is a ``geochips.GeoSlice`` (from a sampler's ``slices()``, or made by hand) or TorchGeo-style
    bounds ``(minx, miny, maxx, maxy)`` in ``crs`` (the chip, ``size`` pixels over the bounds, is read from
    the first catalog item they meet). The sample holds ``image`` [C, H, W],
    ``valid`` [H, W] and, with ``labels``, ``mask`` [H, W] (copied out of the ring, so the default collate can
    keep many), ``bounds``, ``crs``,
    ``time`` (``(start, end)`` µs, open ends as the int64 extremes) and ``item``. ``reader_options`` go to
    ``geochips.ChipReader`` (``bands``, ``dtype``, ``fill``, ``batch_size``: the most chips one
    ``__getitems__`` call reads at once).
    """

    def __init__(
        self, catalog: Catalog, size: int | tuple[int, int], crs: str = "EPSG:4326", **reader_options
    ):
        self.catalog = catalog
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.crs = crs
        self.reader_options = reader_options
        self._reader: ChipReader | None = None
        self._pid: int | None = None
        ChipReader(catalog, self.size, **reader_options)  # check the options here, not in a worker

    def _get_reader(self) -> ChipReader:
        if self._reader is None or self._pid != os.getpid():
            if self._reader is not None:
                _inherited.append(self._reader)
            self._reader = ChipReader(self.catalog, self.size, **self.reader_options)
            self._pid = os.getpid()
        return self._reader

    def _slice(self, query: GeoSlice | tuple[float, float, float, float]) -> GeoSlice:
        if isinstance(query, GeoSlice):
            if tuple(query.size) != tuple(self.size):
                raise ValueError(f"slice {query.id} is {query.size} px, this dataset's chips are {self.size}")
            if not 0 <= query.item < len(self.catalog):
                raise ValueError(
                    f"slice {query.id} names item {query.item}, the catalog has {len(self.catalog)} items"
                )
            return query
        bounds = tuple(float(v) for v in query)
        items = self.catalog.query(bounds, self.crs)
        if not items:
            raise KeyError(f"no catalog item meets bounds {bounds} in {self.crs}")
        return GeoSlice(items[0], bounds, self.crs, self.size)

    def __getitem__(self, query: GeoSlice | tuple[float, float, float, float]) -> dict[str, Any]:
        return self.__getitems__([query])[0]

    def __getitems__(self, queries: list) -> list[dict[str, Any]]:
        """Read several chips with one pipeline run per ``batch_size`` of them (the DataLoader calls this)."""
        slices = [self._slice(q) for q in queries]
        reader = self._get_reader()
        step = self.reader_options.get("batch_size", 64)
        samples = []
        for start in range(0, len(slices), step):
            batch = reader.read(slices[start : start + step])
            planes = {k: t.clone() for k, t in batch_to_dict(batch).items() if k in _TENSORS}
            del batch
            for j, s in enumerate(slices[start : start + step]):
                samples.append(
                    {k: t[j] for k, t in planes.items()}
                    | {
                        "bounds": s.bounds,
                        "crs": s.crs,
                        "time": _collatable(s.time),
                        "item": s.item,
                    }
                )
        return samples
