"""geochips: image chips from Cloud-Optimized GeoTIFFs, fast, for machine-learning training.

``Catalog`` indexes COGs; ``RandomSampler`` / ``GridSampler`` / ``TimeSeriesSampler`` draw ``GeoSlice`` chips
over it; ``Loader`` reads them into ``Batch`` objects whose ``image`` and ``mask`` export through DLPack without a
copy. Ops (normalisation, indices, cloud masks, augmentations) live in ``geochips.ops`` and run inside the
loader (``Loader(..., ops=...)``). ``Stitcher`` blends a model's per-chip predictions back into one COG and
``write_cog`` writes arrays as COGs. The torch wrappers live in ``geochips.torch`` (imported on demand, so torch is
not needed otherwise).
"""

from geochips._geochips import (
    Batch,
    BatchArray,
    Catalog,
    ChipReader,
    Cog,
    GeochipsError,
    GeoSlice,
    GridSampler,
    Loader,
    RandomSampler,
    Stitcher,
    TimeSeriesSampler,
    open,
    write_cog,
)

__all__ = [
    "Batch",
    "BatchArray",
    "Catalog",
    "ChipReader",
    "Cog",
    "GeoSlice",
    "GeochipsError",
    "GridSampler",
    "Loader",
    "RandomSampler",
    "Stitcher",
    "TimeSeriesSampler",
    "open",
    "write_cog",
]
