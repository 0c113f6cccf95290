"""geochips: image chips from Cloud-Optimized GeoTIFFs, fast, for machine-learning training."""

from geochips._geochips import Cog, GeochipsError, open, write_cog

__all__ = ["Cog", "GeochipsError", "open", "write_cog"]
