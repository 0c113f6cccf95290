"""Type stubs for the Rust extension module."""

import os
from collections.abc import Sequence
from typing import Literal

import numpy as np

class GeochipsError(Exception):
    """Any error geochips raises: the message names the href and what failed."""

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
