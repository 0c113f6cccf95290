"""Ops on chips, after geotoolz: preprocessing and seeded augmentations that run in Rust on the loader's
decode threads, between the decode and the ring slot, declared in code or in a JSON / YAML config.

::

    from geochips import ops

    pipeline = ops.Sequential([
        ops.CloudMask.sentinel2_scl("SCL"),
        ops.Normalize(mean=[1200, 1100, 1000, 2500], std=[400, 380, 420, 900]),
        ops.Cast("float32"),
        ops.RandomFlip(),
    ])
    loader = geochips.Loader(catalog, sampler, ops=pipeline)   # or ChipDataset(..., ops=pipeline)
    text = pipeline.to_yaml()                                  # into a training config...
    assert ops.Sequential.from_yaml(text) == pipeline          # ...and back

An op sees each chip's image [C, H, W], its validity mask ``valid`` [H, W] (1 where every band is valid), its
label mask [H, W] when the loader reads one, and the chip's transform, CRS, band metadata and the
(seed, epoch, chip index) its augmentations draw from. Geometric ops move the image, the validity mask and the
labels alike and update the transform. Each op's parameters are those of its Rust namesake
(``geochips::ops``), whose documentation states the arithmetic (types, rounding, invalid pixels).

``Sequential(...)(image, valid=..., mask=...)`` applies the ops to numpy arrays, for checks and for data that
does not come through the loader.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from geochips._geochips import Ops
from geochips._geochips import band_stats as _band_stats

__all__ = [
    "Cast",
    "Clip",
    "CloudMask",
    "FillNodata",
    "Index",
    "Normalize",
    "NormalizedDifference",
    "Op",
    "PercentileStretch",
    "RandomCrop",
    "RandomFlip",
    "RandomRot90",
    "ScaleOffset",
    "SelectBands",
    "Sequential",
    "band_stats",
]


def _numbers(values: float | Sequence[float] | None) -> float | list[float] | None:
    """One number, or a list of numbers (one per band)."""
    if values is None or isinstance(values, (int, float)):
        return values
    return [float(v) for v in np.asarray(values, dtype=float).ravel()]


class Op:
    """One op: its config ``{"op": name, **params}`` (parameters left at None are left out)."""

    op: ClassVar[str]

    def __init__(self, **params: Any) -> None:
        self.params = {k: v for k, v in params.items() if v is not None}

    def config(self) -> dict[str, Any]:
        """The op as a config entry."""
        return {"op": self.op, **self.params}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Op) and self.config() == other.config()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


class SelectBands(Op):
    """Keep the named bands, in the order given."""

    op = "select_bands"

    def __init__(self, bands: Sequence[str]) -> None:
        super().__init__(bands=list(bands))


class Cast(Op):
    """Cast samples to ``dtype`` ("float32", "float16", "bfloat16", "uint8", ...): floats round to nearest
    even; to integers, values truncate toward zero and saturate (NaN becomes 0)."""

    op = "cast"

    def __init__(self, dtype: str) -> None:
        super().__init__(dtype=str(np.dtype(dtype)) if dtype != "bfloat16" else dtype)


class ScaleOffset(Op):
    """``x * scale + offset`` per band (one value or one per band); a coefficient left at None comes from each
    chip's asset (GDAL's scale/offset metadata; 1 and 0 where absent). Integers become float32."""

    op = "scale_offset"

    def __init__(
        self, scale: float | Sequence[float] | None = None, offset: float | Sequence[float] | None = None
    ) -> None:
        super().__init__(scale=_numbers(scale), offset=_numbers(offset))


class Normalize(Op):
    """``(x - mean) / std`` per band, in float32 (float64 for float64 chips). ``from_stats`` takes the numbers
    of ``band_stats``."""

    op = "normalize"

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        super().__init__(mean=_numbers(mean), std=_numbers(std))

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any]) -> Normalize:
        """Normalize with the means and standard deviations of ``band_stats``'s result (a band without valid
        pixels: mean 0, std 1; a constant band: std 1), as Rust's ``BandStats::normalize``."""
        pairs = [
            (0.0, 1.0) if not b["count"] else (b["mean"], b["std"] if b["std"] > 0 else 1.0)
            for b in stats["bands"]
        ]
        return cls([m for m, _ in pairs], [s for _, s in pairs])


class Clip(Op):
    """Limit samples to ``[min, max]`` per band in their own type (integer bounds rounded inward)."""

    op = "clip"

    def __init__(
        self, min: float | Sequence[float] | None = None, max: float | Sequence[float] | None = None
    ) -> None:
        super().__init__(min=_numbers(min), max=_numbers(max))


class PercentileStretch(Op):
    """Stretch each chip's bands between their own ``low``-th and ``high``-th percentiles (over valid pixels)
    to [0, 1]."""

    op = "percentile_stretch"

    def __init__(self, low: float = 2.0, high: float = 98.0) -> None:
        super().__init__(low=float(low), high=float(high))


class NormalizedDifference(Op):
    """Append band ``name`` = ``(a - b) / (a + b)`` (0 where ``a + b`` is 0)."""

    op = "normalized_difference"

    def __init__(self, a: str, b: str, name: str) -> None:
        super().__init__(a=a, b=b, name=name)


class Index(Op):
    """Append a named index ("ndvi", "ndwi", "mndwi", "nbr", "ndmi", "ndbi"); ``bands`` maps its roles ("nir",
    "red", "green", "swir1", "swir2") to band names (a role not mapped is a band of that name)."""

    op = "index"

    def __init__(self, index: str, bands: Mapping[str, str] | None = None, name: str | None = None) -> None:
        super().__init__(index=index, bands=dict(bands) if bands else None, name=name)


class CloudMask(Op):
    """Clear the validity mask where QA band ``band`` holds one of ``classes``, or has one of ``bits`` set."""

    op = "cloud_mask"

    def __init__(
        self, band: str, classes: Sequence[int] | None = None, bits: Sequence[int] | None = None
    ) -> None:
        super().__init__(
            band=band,
            classes=[int(c) for c in classes] if classes is not None else None,
            bits=[int(b) for b in bits] if bits is not None else None,
        )

    @classmethod
    def sentinel2_scl(cls, band: str = "SCL") -> CloudMask:
        """Sentinel-2 L2A scene classes: cloud shadow (3), cloud (8, 9), cirrus (10)."""
        return cls(band, classes=[3, 8, 9, 10])

    @classmethod
    def landsat_qa_pixel(cls, band: str = "QA_PIXEL") -> CloudMask:
        """Landsat Collection 2 QA_PIXEL bits: dilated cloud (1), cirrus (2), cloud (3), cloud shadow (4)."""
        return cls(band, bits=[1, 2, 3, 4])


class FillNodata(Op):
    """Write ``value`` (one, one per band, or "mean": each band's mean over the chip's valid pixels) into the
    pixels the validity mask marks invalid."""

    op = "fill_nodata"

    def __init__(self, value: float | Sequence[float] | str) -> None:
        super().__init__(value=value if isinstance(value, str) else _numbers(value))


class RandomFlip(Op):
    """Flip left-right and top-bottom, each with probability ``p``, per chip from (seed, epoch, chip index)."""

    op = "random_flip"

    def __init__(self, horizontal: bool = True, vertical: bool = True, p: float = 0.5) -> None:
        super().__init__(horizontal=horizontal, vertical=vertical, p=float(p))


class RandomRot90(Op):
    """Turn square chips by k quarter turns, k uniform in 0..3 per chip (``numpy.rot90(x, k, (-2, -1))``)."""

    op = "random_rot90"

    def __init__(self) -> None:
        super().__init__()


class RandomCrop(Op):
    """Cut a ``width`` x ``height`` window at a random offset per chip."""

    op = "random_crop"

    def __init__(self, width: int, height: int) -> None:
        super().__init__(width=int(width), height=int(height))


_OPS: dict[str, type[Op]] = {cls.op: cls for cls in Op.__subclasses__()}


def _dtype(name: str) -> np.dtype:
    """The numpy dtype of a geochips dtype name; bfloat16 (which numpy lacks) as its uint16 bit patterns."""
    return np.dtype("uint16" if name == "bfloat16" else name)


class Sequential:
    """Ops applied in order; checked in Rust when made (unknown ops and bad parameters raise GeochipsError)."""

    def __init__(self, ops: Sequence[Op]) -> None:
        self.ops = list(ops)
        self._ops = Ops(json.dumps(self.config()))

    def config(self) -> list[dict[str, Any]]:
        """The ops as a config: a list of ``{"op": name, ...}``."""
        return [op.config() for op in self.ops]

    @classmethod
    def from_config(cls, config: Sequence[Mapping[str, Any]]) -> Sequential:
        """The ops of a config (as ``config()`` gives, or as a JSON / YAML file holds)."""
        return cls.from_json(json.dumps(list(config)))

    @classmethod
    def from_json(cls, text: str) -> Sequential:
        """The ops of a JSON config."""
        return cls._from_rust(Ops(text))

    @classmethod
    def from_yaml(cls, text: str) -> Sequential:
        """The ops of a YAML config."""
        return cls._from_rust(Ops.from_yaml(text))

    @classmethod
    def _from_rust(cls, ops: Ops) -> Sequential:
        entries = json.loads(ops.to_json())
        return cls([_OPS[entry.pop("op")](**entry) for entry in entries])

    def to_json(self) -> str:
        """The config as JSON."""
        return self._ops.to_json()

    def to_yaml(self) -> str:
        """The config as YAML."""
        return self._ops.to_yaml()

    def output(
        self, dtype: str, bands: Sequence[str], size: tuple[int, int]
    ) -> tuple[str, list[str], tuple[int, int]]:
        """``(dtype, bands, (width, height))`` of the chips the ops make of chips of ``dtype``, ``bands`` and
        ``size`` (width, height)."""
        return self._ops.output(str(dtype), list(bands), tuple(size))

    def __call__(
        self,
        image: np.ndarray,
        valid: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        *,
        bands: Sequence[str] | None = None,
        seed: int = 0,
        epoch: int = 0,
        index: int | Sequence[int] = 0,
        transforms: Sequence[Sequence[float]] | None = None,
        crs: int | None = None,
        nodata: Sequence[float | None] | None = None,
        scales: Sequence[float] | None = None,
        offsets: Sequence[float] | None = None,
    ) -> dict[str, Any]:
        """Apply the ops to a batch ``image`` [B, C, H, W] (or one chip [C, H, W]) with its validity ``valid``
        [B, H, W] (None: all valid) and labels ``mask`` [B, H, W] (or None), as the loader would.

        Chip ``k`` draws its augmentations from ``(seed, epoch, index + k)`` (or ``index[k]`` when ``index``
        is a sequence: a batch's slice ids); ``transforms`` (rasterio's affine
        order, one per chip; None: pixel coordinates) and ``crs`` (an EPSG code) place it; ``bands`` names the
        bands (None: "b1", "b2", ..., as the catalog names a plain file's bands) and ``nodata`` / ``scales`` / ``offsets`` give their metadata.

        Returns ``{"image", "valid", "mask" (None without labels), "bands", "transforms"}``, shaped as given
        (bfloat16 images come back as their uint16 bit patterns: numpy has no bfloat16).
        """
        image = np.asarray(image)
        single = image.ndim == 3
        if single:
            image = image[None]
            valid = None if valid is None else np.asarray(valid)[None]
            mask = None if mask is None else np.asarray(mask)[None]
        if image.ndim != 4:
            raise ValueError(f"image must be [B, C, H, W] or [C, H, W], not {image.shape}")
        n, c = image.shape[:2]
        names = [str(b) for b in bands] if bands is not None else [f"b{i + 1}" for i in range(c)]

        def raw(a: np.ndarray | None, dtype: np.dtype | None = None) -> np.ndarray | None:
            if a is None:
                return None
            a = np.ascontiguousarray(a, dtype=dtype)
            return a.reshape(-1).view(np.uint8)

        meta = None
        if nodata is not None or scales is not None or offsets is not None:
            meta = [
                (
                    name,
                    None if nodata is None or nodata[i] is None else float(nodata[i]),
                    1.0 if scales is None else float(scales[i]),
                    0.0 if offsets is None else float(offsets[i]),
                )
                for i, name in enumerate(names)
            ]
        labels = None if mask is None else np.asarray(mask)
        out_image, out_valid, out_labels, (dtype, out_bands, (w, h)), out_transforms = self._ops.apply(
            raw(image),
            str(image.dtype),
            tuple(image.shape),
            names,
            valid=raw(valid, np.uint8),
            labels=raw(labels),
            labels_dtype=None if labels is None else str(labels.dtype),
            seed=seed,
            epoch=epoch,
            indices=[index + k for k in range(n)] if isinstance(index, int) else [int(i) for i in index],
            transforms=None if transforms is None else [tuple(float(v) for v in t[:6]) for t in transforms],
            crs=crs,
            meta=meta,
        )
        result = {
            "image": out_image.view(_dtype(dtype)).reshape(n, len(out_bands), h, w),
            "valid": out_valid.reshape(n, h, w),
            "mask": None if out_labels is None else out_labels.view(labels.dtype).reshape(n, h, w),
            "bands": out_bands,
            "transforms": out_transforms,
        }
        if single:
            for key in ("image", "valid", "mask"):
                if result[key] is not None:
                    result[key] = result[key][0]
        return result

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequential) and self.config() == other.config()

    def __repr__(self) -> str:
        return f"Sequential({self.ops!r})"


def band_stats(
    catalog: Any,
    size: int | tuple[int, int],
    *,
    chips: int = 1000,
    seed: int = 0,
    bands: Sequence[str] | None = None,
    percentiles: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Per-band count, mean, std (population), min, max and percentiles (numpy's linear method) over the valid
    pixels of the chips of ``RandomSampler(catalog, size, length=chips, seed=seed)``, reading ``bands`` (None:
    all). Returns ``{"chips": n, "bands": [{"name", "count", "mean", "std", "min", "max", "percentiles":
    {p: value}}]}`` (None where a band had no valid pixel)."""
    wh = (size, size) if isinstance(size, int) else tuple(size)
    stats = json.loads(
        _band_stats(
            catalog,
            wh,
            chips=chips,
            seed=seed,
            bands=list(bands) if bands is not None else None,
            percentiles=list(percentiles) if percentiles is not None else None,
        )
    )
    for band in stats["bands"]:
        band["percentiles"] = {p: v for p, v in band["percentiles"]}
    return stats
