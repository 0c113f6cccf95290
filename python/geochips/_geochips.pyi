"""Type stubs for the Rust extension module."""

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from typing_extensions import Self, TypeAlias

from geochips.ops import Op, Sequential

class GeochipsError(Exception):
    """Any error geochips raises: the message names the href and what failed."""

class Catalog:
    """Items (scenes) and their assets (COGs), built by reading headers only; kept as GeoParquet 1.1."""

    failures: list[tuple[str, str]]
    """What the build left out: ``(href, reason)`` pairs, the reason naming the file."""
    skipped: int
    """Files the filename regex passed over."""
    ids: list[str]

    @staticmethod
    def build(
        sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        filename_regex: str | None = None,
        date_format: str = "%Y%m%d",
        concurrency: int = 64,
        fail_fast: bool = False,
        stac_assets: Sequence[str] | None = None,
        progress: Callable[[int, int], object] | None = None,
    ) -> Catalog:
        """Build from paths, directories, globs, object-store hrefs or prefixes, or STAC ItemCollection files,
        reading COG headers only, ``concurrency`` at a time. Bad files go to ``failures`` unless ``fail_fast``."""

    @staticmethod
    def open(path: str | os.PathLike[str]) -> Catalog:
        """Open a catalog written by ``write``."""

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write as GeoParquet 1.1 (footprints in EPSG:4326); ``geopandas.read_parquet`` reads it."""

    def item(self, index: int) -> dict:
        """Item ``index``: id, crs, bounds, start/end (µs, None where open), footprint, assets."""

    def query(
        self,
        bounds: tuple[float, float, float, float],
        crs: str = "EPSG:4326",
        start: int | None = None,
        end: int | None = None,
    ) -> list[int]:
        """Indices of the items meeting ``bounds`` (in ``crs``) and ``[start, end]`` (µs since the epoch)."""

    def __len__(self) -> int: ...

class Cog:
    """An opened (Cloud-Optimized) GeoTIFF: its header, parsed once; reads fetch only the tiles they need."""

    href: str
    width: int
    height: int
    count: int
    dtype: str
    transform: tuple[float, float, float, float, float, float]
    """rasterio's Affine order (a, b, c, d, e, f): ``Affine(*cog.transform)``."""
    crs: str | None
    """``"EPSG:<code>"``, or None where the file has no CRS; raises GeochipsError for a user-defined CRS."""
    nodata: float | None
    block_shape: tuple[int, int]
    """(rows, cols) of a tile, or of a strip for stripped files."""
    tiled: bool
    compression: str
    predictor: int
    interleave: str
    """``"pixel"`` or ``"band"``."""
    overviews: list[tuple[int, int]]
    """(width, height) of each internal overview, largest first."""
    has_mask: bool
    scales: list[float]
    offsets: list[float]

    def read(
        self,
        window: tuple[int, int, int, int] | None = None,
        indexes: Sequence[int] | None = None,
        overview: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Boundless read of ``window=(col_off, row_off, width, height)`` (default: the whole raster).

        ``indexes`` are 1-based band numbers as in rasterio (default: all); ``overview`` is rasterio's
        ``overview_level`` (0 = the first overview; None = full resolution). Returns ``(data, mask)``, both
        shaped (bands, height, width): data in the file's dtype, filled with nodata (else 0) outside the
        raster; mask uint8, 1 where valid and 0 where outside the raster, nodata, or masked by an internal mask.
        """

def open(href: str) -> Cog:
    """Open a GeoTIFF by local path, file://, s3://, gs://, az:// or http(s):// href."""

def write_cog(
    path: str | os.PathLike,
    data: np.ndarray,
    transform: tuple[float, float, float, float, float, float],
    *,
    epsg: int | None = None,
    nodata: float | None = None,
    tile_size: int = 512,
    compression: Literal["deflate", "none"] = "deflate",
    predictor: bool = True,
    overviews: int = 0,
) -> None:
    """Write ``data`` (bands, height, width) as a tiled COG on the grid ``transform`` (Affine order)."""

class Stitcher:
    """Blends per-chip predictions onto one output grid and writes them as a COG at ``path``, streaming.

    ``blend="average"`` averages overlapping chips (rounded for integer dtypes); ``"center"`` takes each pixel
    from the chip it lies most central in, dropping ``margin`` px at chip edges inside the grid. Pixels no chip
    lands on are ``nodata`` (else 0). Add chips in GridSampler order; ``finish()`` (or leaving a ``with`` block
    cleanly) writes the file.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        crs: str | int,
        transform: Sequence[float],
        width: int,
        height: int,
        bands: int = 1,
        dtype: str = "float32",
        blend: Literal["average", "center"] = "average",
        margin: int = 0,
        nodata: float | None = None,
        tile_size: int = 512,
        compression: Literal["deflate", "none"] = "deflate",
        predictor: bool = True,
        overviews: int = 0,
    ) -> None:
        """An output of ``bands`` x ``height`` x ``width`` ``dtype`` on ``transform`` (Affine order) in ``crs``."""
    def add(self, predictions: Any, slices: Sequence[GeoSlice | Bounds]) -> None:
        """Land a batch: [B, C, H, W] (or [B, H, W]) numpy array or torch tensor, and its B slices or bounds."""
    def finish(self) -> None:
        """Write the remaining tile rows and the COG."""
    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: object, exc: object, traceback: object) -> bool: ...

Size: TypeAlias = int | float | tuple[int | float, int | float]
Time: TypeAlias = tuple[int | None, int | None]
Bounds: TypeAlias = tuple[float, float, float, float]

class GeoSlice:
    """One chip to read: where (bounds in a CRS), when (time) and on which pixel grid (size, res)."""

    id: int
    """Position of the slice in its sampler's epoch (unsharded numbering)."""
    item: int
    """Index of the catalog item the slice was drawn from."""
    bounds: Bounds
    """``(minx, miny, maxx, maxy)`` in ``crs`` units."""
    crs: str
    """"EPSG:<code>"."""
    time: Time
    """``(start, end)`` in µs since the Unix epoch, each None where open."""
    size: tuple[int, int]
    """``(width, height)`` in pixels."""
    res: tuple[float, float]
    """Pixel ``(width, height)`` in ``crs`` units."""

    def __init__(
        self,
        item: int,
        bounds: Bounds,
        crs: str,
        size: tuple[int, int],
        *,
        time: Time | None = None,
        id: int = 0,
    ) -> None:
        """A slice by hand: catalog ``item`` index, ``bounds`` in ``crs``, ``size`` in pixels."""
    def key(self) -> tuple[int, int, Bounds, str, Time]:
        """A hashable tuple ``(id, item, bounds, crs, time)`` naming the chip."""

class _Sampler:
    """What both samplers offer: epochs, shards, state and resume."""

    def set_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch`` from its beginning."""
    def set_shard(self, rank: int = 0, world_size: int = 1, worker: int = 0, num_workers: int = 1) -> None:
        """Draw only one shard of each epoch (DDP rank, DataLoader worker); all shards have equal length."""
    def state(self) -> dict[str, int]:
        """seed, epoch, rank, world_size, worker, num_workers, position: what ``restore`` takes back."""
    def restore(self, state: dict[str, int]) -> None:
        """Go back to a ``state()``: the next slice is the one that followed when it was taken."""
    def slices(self) -> list[GeoSlice]:
        """The slices still to come in this epoch (of this shard), without advancing the sampler."""
    def __len__(self) -> int:
        """Number of slices in this shard's epoch."""

class RandomSampler(_Sampler):
    """Random chips, uniform over the union of the catalog's footprints, each snapped to its item's grid.

    Slice ``i`` of an epoch is a pure function of ``(seed, epoch, i)``."""

    def __init__(
        self,
        catalog: Catalog,
        size: Size | None = None,
        *,
        length: int | None = None,
        seed: int = 0,
        units: Literal["pixels", "crs"] = "pixels",
        roi: Bounds | Sequence[tuple[float, float]] | None = None,
        roi_crs: str | None = None,
        toi: Time | None = None,
        weighting: Literal["uniform", "item_area"] = "uniform",
        boundless: bool = False,
        chips_per_neighbourhood: int = 1,
        neighbourhood: float = 2.0,
        crs: str | None = None,
        res: float | tuple[float, float] | None = None,
    ) -> None:
        """``size`` (default 256 px) chips, ``length`` per epoch (None: items' area over chip area)."""
    def copy(self) -> RandomSampler:
        """An independent copy, in the same state."""

class GridSampler(_Sampler):
    """Chips on a regular grid over every item, in the order (item, row, column), the same every epoch."""

    def __init__(
        self,
        catalog: Catalog,
        size: Size | None = None,
        stride: Size | None = None,
        *,
        units: Literal["pixels", "crs"] = "pixels",
        edge: Literal["clamp", "pad"] = "clamp",
        roi: Bounds | Sequence[tuple[float, float]] | None = None,
        roi_crs: str | None = None,
        toi: Time | None = None,
        seed: int = 0,
        crs: str | None = None,
        res: float | tuple[float, float] | None = None,
    ) -> None:
        """Every item tiled with ``size`` chips every ``stride`` (default ``size``)."""
    def copy(self) -> GridSampler:
        """An independent copy, in the same state."""

class TimeSeriesSampler(_Sampler):
    """Samples of ``steps`` chips at one place from items of distinct dates, in increasing time (slices
    ``g*steps`` to ``g*steps + steps - 1`` form sample ``g``); read with ``Loader(..., time_steps=steps)``."""

    def __init__(
        self,
        catalog: Catalog,
        size: Size | None = None,
        *,
        steps: int = 4,
        length: int | None = None,
        seed: int = 0,
        units: Literal["pixels", "crs"] = "pixels",
        roi: Bounds | Sequence[tuple[float, float]] | None = None,
        roi_crs: str | None = None,
        toi: Time | None = None,
        boundless: bool = False,
        crs: str | None = None,
        res: float | tuple[float, float] | None = None,
    ) -> None:
        """``length`` samples per epoch of ``steps`` ``size`` chips each."""
    def copy(self) -> TimeSeriesSampler:
        """An independent copy, in the same state."""

class BatchArray:
    """A batch's image or mask, exported with DLPack (no copy); it keeps the ring slot leased."""

    shape: list[int]
    """The C-order shape."""
    dtype: str
    """The numpy name of the element type."""
    address: int
    """The address of the first element: the ring slot's memory."""

    def __dlpack__(
        self,
        *,
        stream: object | None = None,
        max_version: tuple[int, int] | None = None,
        dl_device: tuple[int, int] | None = None,
        copy: bool | None = None,
    ) -> object:
        """A DLPack capsule: versioned (1.x, read-only) when ``max_version >= (1, 0)``, else legacy."""
    def __dlpack_device__(self) -> tuple[int, int]:
        """``(1, 0)``: kDLCPU, pinned or not."""

class Batch:
    """A batch of chips in a ring slot; the slot is reused once the Batch and every export of it are gone."""

    image: BatchArray
    """[B, C, H, W] of ``dtype`` ([B, T, C, H, W] for time series): ``torch.from_dlpack(batch.image)``."""
    valid: BatchArray
    """[B, H, W] uint8 ([B, T, H, W] for time series): 1 where every band is valid."""
    mask: BatchArray | None
    """[B, H, W] ([B, T, H, W]) labels of the label raster's type; None when the loader reads no labels."""
    index: int
    """Position of the batch in its epoch."""
    shape: list[int]
    """The shape of ``image``."""
    steps: int
    """Time steps per sample: 1, or T for time series (the per-chip lists then hold B·T entries, sample-major)."""
    dtype: str
    """The numpy name of the image type."""
    slices: list[GeoSlice]
    bounds: list[Bounds]
    crs: list[str]
    time: list[Time]
    items: list[str]
    """Each chip's catalog item id."""
    transforms: list[list[float]]
    """Each chip's pixel → CRS transform, Affine order (a, b, c, d, e, f)."""
    pinned: bool
    """Whether the slot is pinned (CUDA-registered) host memory."""

    def __len__(self) -> int: ...

class Loader:
    """Batches of chips for a sampler's epoch; nothing starts before the first batch (fork safe)."""

    batch_size: int
    channels: int
    dtype: str
    pinned: bool | None
    """Whether the ring is pinned host memory (None before the first batch)."""

    def __init__(
        self,
        catalog: Catalog,
        sampler: RandomSampler | GridSampler | TimeSeriesSampler,
        *,
        size: int | tuple[int, int] | None = None,
        bands: Sequence[str] | None = None,
        labels: str | None = None,
        mosaic: Literal["newest", "oldest", "catalog", "single"] = "newest",
        resampling: Literal["bilinear", "nearest"] = "bilinear",
        asset_resampling: Mapping[str, Literal["bilinear", "nearest"]] | None = None,
        batch_size: int = 32,
        time_steps: int = 1,
        dtype: str | None = None,
        prefetch: int | None = None,
        ring_slots: int | None = None,
        max_requests: int = 256,
        max_bytes: int = 256 << 20,
        tile_cache_bytes: int = 256 << 20,
        decode_threads: int | None = None,
        fill: float | None = None,
        on_error: Literal["raise", "skip"] = "raise",
        ordered: bool = True,
        ops: Sequential | Sequence[Op] | Ops | None = None,
    ) -> None:
        """A loader of a copy of ``sampler`` (its state and shard as they are) over ``catalog``; ``ops`` run on
        each chip on the decode threads (the batches hold their output: ``dtype``, ``channels`` follow)."""
    def __iter__(self) -> Loader: ...
    def __next__(self) -> Batch:
        """The next batch (the GIL is released while it waits); StopIteration at the end of the epoch."""
    def __len__(self) -> int:
        """Batches in an epoch of the sampler's shard."""
    def set_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch`` from its beginning."""
    def resume(self, epoch: int, batches: int) -> None:
        """Start epoch ``epoch`` after its first ``batches`` batches."""
    def sampler_state(self) -> dict[str, int]:
        """The sampler's state; it counts slices of batches still in flight."""
    def stats(self) -> dict[str, float]:
        """Counters: chips, batches, skipped, bytes_fetched, requests, cache_hits, seconds spent..."""

class ChipReader:
    """Reads given GeoSlices into a Batch on demand (the loader's pipeline): for map-style datasets."""

    def __init__(
        self,
        catalog: Catalog,
        size: int | tuple[int, int],
        *,
        bands: Sequence[str] | None = None,
        labels: str | None = None,
        mosaic: Literal["newest", "oldest", "catalog", "single"] = "newest",
        resampling: Literal["bilinear", "nearest"] = "bilinear",
        asset_resampling: Mapping[str, Literal["bilinear", "nearest"]] | None = None,
        batch_size: int = 64,
        dtype: str | None = None,
        fill: float | None = None,
    ) -> None:
        """A reader of ``size`` chips, up to ``batch_size`` per ``read``."""
    def read(self, slices: Sequence[GeoSlice]) -> Batch:
        """Read ``slices`` (1 to ``batch_size``, each of the reader's size) into one Batch, in order."""

class Ops:
    """A checked sequence of ops (the Rust side of ``geochips.ops.Sequential``)."""

    def __init__(self, config: str) -> None:
        """The ops of a JSON config: a list of ``{"op": name, ...}``."""
    @staticmethod
    def from_yaml(config: str) -> Ops:
        """The ops of a YAML config."""
    def to_json(self) -> str: ...
    def to_yaml(self) -> str: ...
    def output(
        self, dtype: str, bands: Sequence[str], size: tuple[int, int]
    ) -> tuple[str, list[str], tuple[int, int]]:
        """``(dtype, bands, (width, height))`` of the chips the ops make of such chips."""
    def apply(
        self,
        image: np.ndarray,
        dtype: str,
        shape: tuple[int, int, int, int],
        bands: Sequence[str],
        *,
        valid: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        labels_dtype: str | None = None,
        seed: int = 0,
        epoch: int = 0,
        indices: Sequence[int] | None = None,
        transforms: Sequence[tuple[float, float, float, float, float, float]] | None = None,
        crs: int | None = None,
        meta: Sequence[tuple[str, float | None, float, float]] | None = None,
    ) -> tuple[
        np.ndarray,
        np.ndarray,
        np.ndarray | None,
        tuple[str, list[str], tuple[int, int]],
        list[tuple[float, float, float, float, float, float]],
    ]:
        """Apply to a batch given as uint8 bytes; see ``geochips.ops.Sequential.__call__``."""

def band_stats(
    catalog: Catalog,
    size: tuple[int, int],
    *,
    chips: int = 1000,
    seed: int = 0,
    bands: Sequence[str] | None = None,
    percentiles: Sequence[float] | None = None,
) -> str:
    """Band statistics as JSON; see ``geochips.ops.band_stats``."""
