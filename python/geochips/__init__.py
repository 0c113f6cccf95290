"""geochips: image chips from Cloud-Optimized GeoTIFFs, fast, for machine-learning training."""

from geochips._geochips import Catalog, Cog, GeochipsError, open, write_cog

__all__ = ["Catalog", "Cog", "GeochipsError", "open", "write_cog"]
