"""Type stubs for the Rust extension module."""

import os
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

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
