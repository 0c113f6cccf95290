"""geochips.ops against numpy: every op equals a numpy reference (bit for bit for integer results; float
results within the tolerance each test states), invalid pixels and labels handled as documented, seeded
augmentations reproducible and applied alike to image, validity and labels, configs round-tripping through
JSON and YAML to identical outputs, ops inside the loader equal to ops applied to the loader's batches, and
band statistics equal to numpy's over the same sampled chips."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import geochips
import numpy as np
import pytest
import yaml
from geochips import ops

B, C, H, W = 3, 4, 16, 16
BANDS = ["blue", "green", "red", "nir"]
RES, X0, Y0 = 10.0, 500_000.0, 4_000_000.0
REPO = Path(__file__).resolve().parents[2]


def batch(dtype: str = "uint16", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded [B, C, H, W] image spanning most of `dtype`'s range (floats: ±1e4 with a few NaNs) and its
    validity [B, H, W] (a quarter invalid)."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        image = rng.uniform(-1e4, 1e4, (B, C, H, W)).astype(dtype)
        image[rng.random(image.shape) < 0.01] = np.nan
    else:
        info = np.iinfo(dtype)
        image = rng.integers(info.min, info.max, (B, C, H, W), endpoint=True, dtype=dtype)
    valid = (rng.random((B, H, W)) > 0.25).astype(np.uint8)
    return image, valid


def run(op_or_ops, image, valid=None, mask=None, **kwargs):
    pipeline = op_or_ops if isinstance(op_or_ops, ops.Sequential) else ops.Sequential([op_or_ops])
    return pipeline(image, valid, mask, bands=kwargs.pop("bands", BANDS[: image.shape[1]]), **kwargs)


def assert_masks_kept(out, valid, mask=None):
    np.testing.assert_array_equal(out["valid"], valid)
    if mask is not None:
        np.testing.assert_array_equal(out["mask"], mask)


def bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, rounding to nearest even (NaN kept a quiet NaN)."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(x), ((bits >> 16) | 0x40).astype(np.uint16), rounded)


def saturating_cast(x: np.ndarray, dtype: str) -> np.ndarray:
    """numpy reference of a float -> integer cast as Rust's `as`: truncate, saturate, NaN -> 0."""
    info = np.iinfo(dtype)
    t = np.nan_to_num(np.trunc(x.astype(np.float64)), nan=0.0)
    return np.clip(t, info.min, info.max).astype(dtype)


# --- per-op references -----------------------------------------------------------------------------------


def test_select_bands_reorders_and_repeats_bands_bit_exactly():
    image, valid = batch()
    labels = np.arange(B * H * W, dtype=np.uint8).reshape(B, H, W)
    out = run(ops.SelectBands(["nir", "red", "nir"]), image, valid, labels)
    np.testing.assert_array_equal(out["image"], image[:, [3, 2, 3]])
    assert out["bands"] == ["nir", "red", "nir"]
    assert_masks_kept(out, valid, labels)


@pytest.mark.parametrize("src", ["uint8", "int16", "uint16", "int32", "uint32", "float32", "float64"])
@pytest.mark.parametrize(
    "dst", ["uint8", "int8", "uint16", "int16", "int32", "float32", "float64", "float16"]
)
def test_cast_matches_numpy(src, dst):
    """Integer results bit-exact (floats truncated and saturated as Rust's `as`); float results bit-exact
    against numpy's own rounding (one rounding to nearest even)."""
    image, valid = batch(src)
    out = run(ops.Cast(dst), image, valid)
    assert out["image"].dtype == np.dtype(dst)
    if np.dtype(dst).kind == "f":
        with np.errstate(over="ignore"):  # int32 beyond float16's range: inf, as ours
            want = image.astype(dst)
    elif np.dtype(src).kind == "f":
        want = saturating_cast(image, dst)
    else:
        info = np.iinfo(dst)
        want = np.clip(image.astype(np.int64), info.min, info.max).astype(dst)
    np.testing.assert_array_equal(out["image"], want)
    assert_masks_kept(out, valid)


@pytest.mark.parametrize("src", ["uint16", "float32"])
def test_cast_to_bfloat16_rounds_to_nearest_even(src):
    image, valid = batch(src)
    out = run(ops.Cast("bfloat16"), image, valid)
    np.testing.assert_array_equal(out["image"], bf16_bits(image.astype(np.float32)))


def test_scale_offset_given_and_from_metadata_within_one_ulp():
    """x * scale + offset in float32, against numpy's float32 arithmetic: at most 1 ulp apart."""
    image, valid = batch()
    scale, offset = [1e-4, 2e-4, 3e-4, 4e-4], [-0.1, 0.0, 0.1, 0.2]
    want = image.astype(np.float32) * np.float32(scale)[:, None, None] + np.float32(offset)[:, None, None]
    given = run(ops.ScaleOffset(scale, offset), image, valid)
    np.testing.assert_array_max_ulp(given["image"], want, maxulp=1)
    from_meta = run(ops.ScaleOffset(), image, valid, scales=scale, offsets=offset)
    np.testing.assert_array_equal(from_meta["image"], given["image"])
    assert_masks_kept(from_meta, valid)
    # Without metadata: scale 1, offset 0.
    plain = run(ops.ScaleOffset(), image, valid)
    np.testing.assert_array_equal(plain["image"], image.astype(np.float32))


@pytest.mark.parametrize("dtype", ["uint16", "int16", "float32", "float64"])
def test_normalize_within_two_ulp(dtype):
    """(x - mean) / std, against numpy in the output type (float32, float64 for float64): at most 2 ulp apart
    (we multiply by 1/std)."""
    image, valid = batch(dtype)
    mean, std = [100.0, -50.0, 3000.0, 0.5], [10.0, 7.5, 1234.5, 0.25]
    out = run(ops.Normalize(mean, std), image, valid)
    ftype = np.float64 if dtype == "float64" else np.float32
    want = (image.astype(ftype) - ftype(mean)[:, None, None]) / ftype(std)[:, None, None]
    assert out["image"].dtype == ftype
    finite = ~np.isnan(want)
    np.testing.assert_array_equal(np.isnan(out["image"]), ~finite)
    np.testing.assert_array_max_ulp(out["image"][finite], want[finite], maxulp=2)
    assert_masks_kept(out, valid)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "float32"])
def test_clip_matches_numpy_bit_exactly(dtype):
    image, valid = batch(dtype)
    lo, hi = [10.0, 20.0, -5.0, 0.0], [200.0, 250.0, 100.0, 255.0]
    out = run(ops.Clip(lo, hi), image, valid)
    kind = np.dtype(dtype).kind
    lo_t = np.array(lo)[:, None, None]
    hi_t = np.array(hi)[:, None, None]
    if kind != "f":
        info = np.iinfo(dtype)
        lo_t, hi_t = np.clip(lo_t, info.min, info.max), np.clip(hi_t, info.min, info.max)
    want = np.clip(image, lo_t.astype(dtype), hi_t.astype(dtype))
    np.testing.assert_array_equal(out["image"], want)
    assert out["image"].dtype == image.dtype
    assert_masks_kept(out, valid)


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_percentile_stretch_matches_numpy_over_valid_pixels(dtype):
    """Per chip and band: numpy's percentiles of the valid, non-NaN samples; output within 1e-6 of numpy's
    float64 stretch (values in [0, 1]: a few float32 ulps)."""
    image, valid = batch(dtype)
    valid[1] = 0  # a chip with no valid pixel: all 0
    out = run(ops.PercentileStretch(2, 98), image, valid)
    want = np.zeros(image.shape)
    for k in range(B):
        for b in range(C):
            values = image[k, b][valid[k] == 1].astype(np.float64)
            values = values[~np.isnan(values)]
            if values.size == 0:
                continue
            lo, hi = np.percentile(values, [2, 98])
            want[k, b] = np.clip((image[k, b].astype(np.float64) - lo) / (hi - lo), 0, 1)
    got = out["image"].astype(np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=0, atol=1e-6)
    assert not out["image"][1].any()
    assert_masks_kept(out, valid)


@pytest.mark.parametrize("dtype", ["uint16", "int16", "float32"])
def test_normalized_difference_and_indices_match_numpy_bit_exactly(dtype):
    """(a - b) / (a + b) in float32, 0 where a + b is 0: the same float32 operations as numpy's."""
    image, valid = batch(dtype)
    image[0, 3, 0, :4] = 0
    image[0, 2, 0, :4] = 0  # nir + red == 0
    f = image.astype(np.float32)

    def nd(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            s = f[:, a] + f[:, b]
            return np.where(s == 0, np.float32(0), (f[:, a] - f[:, b]) / s).astype(np.float32)

    pipeline = ops.Sequential(
        [
            ops.Index("ndvi"),
            ops.Index("ndwi", bands={"green": "green", "nir": "nir"}, name="water"),
            ops.NormalizedDifference("blue", "red", "br"),
        ]
    )
    out = run(pipeline, image, valid)
    assert out["bands"] == BANDS + ["ndvi", "water", "br"]
    np.testing.assert_array_equal(out["image"][:, :4], f)
    np.testing.assert_array_equal(out["image"][:, 4], nd(3, 2))
    np.testing.assert_array_equal(out["image"][:, 5], nd(1, 3))
    np.testing.assert_array_equal(out["image"][:, 6], nd(0, 2))
    assert not out["image"][0, 4, 0, :4].any()
    assert_masks_kept(out, valid)


def test_cloud_mask_clears_validity_on_classes_and_bits():
    rng = np.random.default_rng(5)
    image, valid = batch()
    image[:, 3] = rng.integers(0, 12, (B, H, W))  # SCL-like classes in band "nir"
    out = run(ops.CloudMask.sentinel2_scl("nir"), image, valid)
    want = valid & ~np.isin(image[:, 3], [3, 8, 9, 10])
    np.testing.assert_array_equal(out["valid"], want)
    np.testing.assert_array_equal(out["image"], image)
    qa = rng.integers(0, 1 << 16, (B, H, W), dtype=np.uint16)
    image[:, 0] = qa
    out = run(ops.CloudMask.landsat_qa_pixel("blue"), image, valid)
    flags = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4)
    np.testing.assert_array_equal(out["valid"], valid & ((qa & flags) == 0))


@pytest.mark.parametrize("dtype", ["uint16", "int16", "float32"])
def test_fill_nodata_constant_per_band_and_mean(dtype):
    """Invalid pixels get the value (cast as Cast casts), every other sample and the masks are kept; "mean" is
    each band's mean over the chip's valid pixels (numpy's mean, then cast)."""
    image, valid = batch(dtype)
    invalid = (valid == 0)[:, None]
    out = run(ops.FillNodata(7), image, valid)
    np.testing.assert_array_equal(out["image"], np.where(invalid, np.array(7).astype(dtype), image))
    assert_masks_kept(out, valid)
    per_band = [1.0, 2.0, 3.0, 4.0]
    out = run(ops.FillNodata(per_band), image, valid)
    np.testing.assert_array_equal(
        out["image"], np.where(invalid, np.array(per_band, dtype)[:, None, None], image)
    )
    out = run(ops.FillNodata("mean"), image, valid)
    want = image.copy()
    for k in range(B):
        for b in range(C):
            m = image[k, b][valid[k] == 1].astype(np.float64).mean()
            fill = (
                np.array([m]).astype(dtype)[0]
                if np.dtype(dtype).kind == "f"
                else saturating_cast(np.array(m), dtype)
            )
            want[k, b][valid[k] == 0] = fill
    if np.dtype(dtype).kind == "f":
        # numpy's mean sums pairwise: the float mean may differ in the last bits.
        np.testing.assert_allclose(out["image"], want, rtol=1e-6, equal_nan=True)
    else:
        np.testing.assert_array_equal(out["image"], want)


# --- augmentations -----------------------------------------------------------------------------------------


def coordinate_batch(n: int = 8, size: int = 12):
    """Image band 0 and the labels hold each pixel's row * size + col (uint16); band 1 its row, band 2 its
    column; validity is 0 on a checkerboard of 3-px squares. Each chip sits at its own place."""
    rows, cols = np.mgrid[0:size, 0:size]
    code = (rows * size + cols).astype(np.uint16)
    image = np.stack([code, rows.astype(np.uint16), cols.astype(np.uint16)])[None].repeat(n, 0)
    labels = code[None].repeat(n, 0).copy()
    valid = (((rows // 3) + (cols // 3)) % 2).astype(np.uint8)[None].repeat(n, 0)
    transforms = [(RES, 0.0, X0 + 1000 * k, 0.0, -RES, Y0) for k in range(n)]
    return image, valid, labels, transforms


def world(t, col, row):
    a, b, c, d, e, f = t
    return a * col + b * row + c, d * col + e * row + f


def check_moved_alike(out, image, valid, labels, transforms, size=12):
    """Image, validity and labels moved alike, and each output pixel's center maps (through the new
    transform) to the same place as its source pixel (through the old one)."""
    code = out["image"][:, 0].astype(np.int64)
    np.testing.assert_array_equal(out["mask"], out["image"][:, 0])
    rows, cols = code // size, code % size
    np.testing.assert_array_equal(out["image"][:, 1], rows)
    np.testing.assert_array_equal(out["image"][:, 2], cols)
    np.testing.assert_array_equal(out["valid"], ((rows // 3 + cols // 3) % 2).astype(np.uint8))
    h, w = code.shape[1:]
    r, c = np.mgrid[0:h, 0:w]
    for k in range(len(code)):
        moved = world(out["transforms"][k], c + 0.5, r + 0.5)
        source = world(transforms[k], cols[k] + 0.5, rows[k] + 0.5)
        np.testing.assert_allclose(moved, source, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "op",
    [ops.RandomFlip(), ops.RandomFlip(vertical=False, p=0.7), ops.RandomRot90(), ops.RandomCrop(7, 5)],
    ids=["flip", "hflip", "rot90", "crop"],
)
def test_augmentations_move_image_validity_and_labels_alike(op):
    image, valid, labels, transforms = coordinate_batch()
    out = run(op, image, valid, labels, bands=["code", "row", "col"], seed=11, transforms=transforms)
    check_moved_alike(out, image, valid, labels, transforms)
    # Each chip is one of the op's numpy outcomes.
    for k in range(len(image)):
        x = image[k]
        if isinstance(op, ops.RandomRot90):
            candidates = [np.rot90(x, q, axes=(-2, -1)) for q in range(4)]
        elif isinstance(op, ops.RandomCrop):
            candidates = [x[:, r : r + 5, c : c + 7] for r in range(8) for c in range(6)]
        else:
            candidates = [x, x[..., ::-1], x[..., ::-1, :], x[..., ::-1, ::-1]]
            if not op.params["vertical"]:
                candidates = candidates[:2]
        assert any(np.array_equal(out["image"][k], cand) for cand in candidates)


def test_flips_with_certainty_equal_numpy():
    image, valid, labels, _ = coordinate_batch(2)
    out = run(ops.RandomFlip(p=1.0), image, valid, labels, bands=["code", "row", "col"])
    np.testing.assert_array_equal(out["image"], image[..., ::-1, ::-1])
    np.testing.assert_array_equal(out["mask"], labels[..., ::-1, ::-1])
    np.testing.assert_array_equal(out["valid"], valid[..., ::-1, ::-1])
    out = run(ops.RandomFlip(p=0.0), image, valid, labels, bands=["code", "row", "col"])
    np.testing.assert_array_equal(out["image"], image)


def test_augmentations_are_reproducible_and_vary_with_seed_epoch_and_chip():
    image, valid, labels, transforms = coordinate_batch(16)
    pipeline = ops.Sequential([ops.RandomFlip(), ops.RandomRot90(), ops.RandomCrop(9, 9)])

    def draw(**kw):
        out = run(pipeline, image, valid, labels, bands=["code", "row", "col"], transforms=transforms, **kw)
        return out["image"], out["transforms"]

    a, ta = draw(seed=1, epoch=0)
    b, tb = draw(seed=1, epoch=0)
    np.testing.assert_array_equal(a, b)
    assert ta == tb
    assert any(not np.array_equal(a[k], a[0]) for k in range(1, 16)), "every chip drew the same"
    for other in (draw(seed=2, epoch=0)[0], draw(seed=1, epoch=1)[0], draw(seed=1, epoch=0, index=100)[0]):
        assert not np.array_equal(a, other)
    # A chip's draw depends on its index, not its position in the batch.
    c, _ = draw(seed=1, epoch=0, index=list(range(15, -1, -1)))
    np.testing.assert_array_equal(c[3], draw(seed=1, epoch=0, index=[12] * 16)[0][0])


# --- configs -----------------------------------------------------------------------------------------------


def every_op() -> ops.Sequential:
    return ops.Sequential(
        [
            ops.CloudMask("nir", classes=[1, 2]),
            ops.FillNodata("mean"),
            ops.Clip(0, 60_000),
            ops.ScaleOffset(1e-4, [0.0, 0.1, 0.2, 0.3]),
            ops.Index("ndvi"),
            ops.NormalizedDifference("green", "nir", "ndwi"),
            ops.SelectBands(["red", "green", "blue", "nir", "ndvi", "ndwi"]),
            ops.PercentileStretch(1, 99),
            ops.Normalize(0.5, [0.2, 0.2, 0.2, 0.3, 0.5, 0.5]),
            ops.Cast("float16"),
            ops.RandomFlip(),
            ops.RandomRot90(),
            ops.RandomCrop(12, 10),
        ]
    )


def test_config_round_trips_through_json_and_yaml_to_identical_outputs():
    pipeline = every_op()
    image, valid = batch()
    labels = np.arange(B * H * W, dtype=np.uint16).reshape(B, H, W)
    want = run(pipeline, image, valid, labels, seed=4, epoch=2)
    for text, parse in [
        (pipeline.to_json(), ops.Sequential.from_json),
        (pipeline.to_yaml(), ops.Sequential.from_yaml),
    ]:
        again = parse(text)
        assert again == pipeline
        got = run(again, image, valid, labels, seed=4, epoch=2)
        for key in ("image", "valid", "mask"):
            np.testing.assert_array_equal(got[key], want[key])
        assert got["transforms"] == want["transforms"]
    # A config file as a training script writes it by hand.
    assert ops.Sequential.from_config(yaml.safe_load(pipeline.to_yaml())) == pipeline
    assert ops.Sequential.from_config(json.loads(pipeline.to_json())) == pipeline
    assert want["image"].dtype == np.float16 and want["image"].shape == (B, 6, 10, 12)
    assert pipeline.output("uint16", BANDS, (W, H)) == (
        "float16",
        ["red", "green", "blue", "nir", "ndvi", "ndwi"],
        (12, 10),
    )


@pytest.mark.parametrize(
    "config",
    [
        [{"op": "sharpen"}],
        [{"op": "normalize", "mean": 1}],
        [{"op": "cast", "dtype": "float128"}],
        [{"op": "cloud_mask", "band": "nir", "classes": [1], "bits": [2]}],
        [{"op": "random_flip", "p": 0.5, "axis": 1}],
    ],
)
def test_bad_configs_raise_naming_the_problem(config):
    with pytest.raises(geochips.GeochipsError, match="op config"):
        ops.Sequential.from_config(config)


def test_ops_that_do_not_fit_the_chips_raise():
    image, valid = batch()
    for op, words in [
        (ops.SelectBands(["swir"]), "no band named"),
        (ops.Normalize([1, 2], 1), "one per band"),
        (ops.RandomCrop(64, 4), "does not fit"),
        (ops.Index("nbr"), "swir2"),
    ]:
        with pytest.raises(geochips.GeochipsError, match=words):
            run(op, image, valid)


# --- the loader --------------------------------------------------------------------------------------------


CHIP = 32


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> geochips.Catalog:
    """Two scenes, each a 4-band uint16 COG (nodata 0 in a corner block and a few scattered pixels) and a
    uint8 label COG beside it, joined into one item each by the filename regex."""
    d = tmp_path_factory.mktemp("ops")
    paths = []
    for i in range(2):
        rng = np.random.default_rng(40 + i)
        pixels = rng.integers(1, 12_000, (4, 128, 128), dtype=np.uint16)
        pixels[:, :20, :30] = 0
        pixels[:, rng.random((128, 128)) < 0.02] = 0
        transform = (RES, 0.0, X0 + i * 128 * RES, 0.0, -RES, Y0)
        for band, data in [("image", pixels), ("label", rng.integers(0, 7, (1, 128, 128), dtype=np.uint8))]:
            p = d / f"scene{i}-{band}.tif"
            geochips.write_cog(
                p, data, transform, epsg=32631, nodata=0 if band == "image" else None, tile_size=64
            )
            paths.append(str(p))
    catalog = geochips.Catalog.build(paths, filename_regex=r"^(?P<item>scene\d)-(?P<band>image|label)\.tif$")
    assert len(catalog) == 2
    return catalog


PIPELINES = {
    # Normalize makes float32 of uint16: the chips go through a staging batch into the slot.
    "staging": ops.Sequential(
        [
            ops.FillNodata("mean"),
            ops.Normalize([5000] * 4, [3000] * 4),
            ops.Cast("float32"),
            ops.RandomFlip(),
            ops.RandomCrop(24, 20),
        ]
    ),
    # Every op keeps the layout: they run in the ring slot itself.
    "in_place": ops.Sequential([ops.Clip(100, 9000), ops.FillNodata(1), ops.RandomFlip()]),
}


@pytest.mark.parametrize("name", PIPELINES)
def test_loader_ops_equal_ops_applied_to_the_loader_batches(catalog, name):
    """Loader(ops=...) (run on the decode threads, into the ring slot) gives what the same ops give applied
    to the batches of a loader without ops, chip by chip with the same seed, epoch, slice ids and transforms:
    image, validity and labels bit for bit."""
    pipeline = PIPELINES[name]
    sampler = geochips.RandomSampler(catalog, CHIP, length=20, seed=9)
    sampler.set_epoch(3)
    plain = geochips.Loader(catalog, sampler, batch_size=8, labels="label")
    with_ops = geochips.Loader(catalog, sampler, batch_size=8, labels="label", ops=pipeline)
    dtype, _, (w, h) = pipeline.output("uint16", ["b1", "b2", "b3", "b4"], (CHIP, CHIP))
    assert (with_ops.dtype, with_ops.channels) == (dtype, 4)
    count = 0
    for a, b in zip(plain, with_ops, strict=True):
        want = pipeline(
            np.from_dlpack(a.image),
            np.from_dlpack(a.valid),
            np.from_dlpack(a.mask),
            seed=9,
            epoch=3,
            index=[s.id for s in a.slices],
            transforms=a.transforms,
            crs=32631,
        )
        assert b.shape == [len(a), 4, h, w]
        np.testing.assert_array_equal(np.from_dlpack(b.image), want["image"])
        np.testing.assert_array_equal(np.from_dlpack(b.valid), want["valid"])
        np.testing.assert_array_equal(np.from_dlpack(b.mask), want["mask"])
        assert [tuple(t) for t in b.transforms] == [tuple(t) for t in want["transforms"]]
        count += len(a)
    assert count == 20
    assert with_ops.stats()["ops_seconds"] > 0 and plain.stats()["ops_seconds"] == 0


def test_loader_refuses_ops_that_do_not_fit_its_chips(catalog):
    sampler = geochips.RandomSampler(catalog, CHIP, length=4, seed=0)
    with pytest.raises(geochips.GeochipsError, match="no band named"):
        geochips.Loader(catalog, sampler, labels="label", ops=[ops.SelectBands(["swir"])])


# --- band statistics ---------------------------------------------------------------------------------------


PERCENTILES = [0, 1, 2, 25, 50, 75, 98, 99, 100]
IMAGE_BANDS = ["b1", "b2", "b3", "b4"]


def check_stats(stats, catalog, chips, seed):
    """`stats` equal numpy's over the valid pixels of the chips of RandomSampler(catalog, CHIP, length=chips,
    seed=seed): count, min, max and percentiles exactly; mean and std to 1e-12 (numpy sums pairwise)."""
    sampler = geochips.RandomSampler(catalog, CHIP, length=chips, seed=seed)
    loader = geochips.Loader(catalog, sampler, batch_size=8, bands=IMAGE_BANDS)
    values = [[] for _ in range(4)]
    for b in loader:
        image, valid = np.from_dlpack(b.image), np.from_dlpack(b.valid).astype(bool)
        for band in range(4):
            values[band].append(image[:, band][valid])
    assert stats["chips"] == chips
    assert len(stats["bands"]) == 4
    for band, got in enumerate(stats["bands"]):
        v = np.concatenate(values[band]).astype(np.float64)
        assert got["count"] == v.size and v.size < chips * CHIP * CHIP  # nodata left out
        assert (got["min"], got["max"]) == (v.min(), v.max())
        np.testing.assert_allclose([got["mean"], got["std"]], [v.mean(), v.std()], rtol=1e-12)
        assert [got["percentiles"][p] for p in PERCENTILES] == list(np.percentile(v, PERCENTILES))


def test_band_stats_match_numpy_over_the_same_chips(catalog):
    stats = ops.band_stats(catalog, CHIP, chips=24, seed=5, percentiles=PERCENTILES, bands=IMAGE_BANDS)
    check_stats(stats, catalog, 24, 5)
    normalize = ops.Normalize.from_stats(stats)
    assert normalize.params["mean"] == [b["mean"] for b in stats["bands"]]


def test_stats_command_prints_the_same_numbers(catalog, tmp_path):
    path = tmp_path / "catalog.parquet"
    catalog.write(path)
    args = ["stats", str(path), "--size", str(CHIP), "--chips", "24", "--seed", "5", "--json"]
    args += ["--percentiles", ",".join(map(str, PERCENTILES)), "--bands", ",".join(IMAGE_BANDS)]
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--bin", "geochips", "--", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    stats = json.loads(out)
    for band in stats["bands"]:
        band["percentiles"] = {int(p): v for p, v in band["percentiles"]}
    check_stats(stats, catalog, 24, 5)


def test_chip_dataset_takes_ops(catalog):
    """ChipDataset(..., ops=...) yields the loader's op output as tensors (float32 from uint16 here)."""
    from geochips.torch import ChipDataset

    pipeline = PIPELINES["staging"]
    sampler = geochips.RandomSampler(catalog, CHIP, length=16, seed=2)
    dataset = ChipDataset(catalog, sampler, batch_size=8, labels="label", ops=pipeline)
    loader = geochips.Loader(catalog, sampler, batch_size=8, labels="label", ops=pipeline)
    for sample, batch in zip(dataset, loader, strict=True):
        assert str(sample["image"].dtype) == "torch.float32" and tuple(sample["image"].shape) == (
            8,
            4,
            20,
            24,
        )
        np.testing.assert_array_equal(sample["image"].numpy(), np.from_dlpack(batch.image))
        np.testing.assert_array_equal(sample["mask"].numpy(), np.from_dlpack(batch.mask))
