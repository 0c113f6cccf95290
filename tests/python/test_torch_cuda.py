"""device="cuda" where a GPU is present: batches arrive on CUDA, equal to the host batches, copied from the
pinned ring; prints host-to-device GB/s from the pinned ring versus from pageable memory."""

import time

import geochips
import numpy as np
import pytest
import torch
from geochips.torch import ChipDataset
from torch.utils.data import DataLoader

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    d = tmp_path_factory.mktemp("cuda_scenes")
    data = np.random.default_rng(3).integers(0, 60_000, (4, 1024, 1024), dtype=np.uint16)
    p = d / "scene.tif"
    geochips.write_cog(p, data, (10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0), epsg=32631, tile_size=256)
    return geochips.Catalog.build([str(p)])


def test_cuda_batches_equal_host_batches(catalog):
    sampler = geochips.RandomSampler(catalog, 128, length=256, seed=1)
    host = [
        {k: b[k].clone() for k in ("image", "valid")}
        for b in DataLoader(ChipDataset(catalog, sampler), batch_size=None)
    ]
    ds = ChipDataset(catalog, sampler, device="cuda")
    got = list(DataLoader(ds, batch_size=None))
    assert len(got) == len(host) == 8
    for g, h in zip(got, host):
        assert g["image"].is_cuda and g["valid"].is_cuda
        assert torch.equal(g["image"].cpu(), h["image"]) and torch.equal(g["valid"].cpu(), h["valid"])


def test_h2d_bandwidth_pinned_ring_vs_pageable(catalog):
    sampler = geochips.RandomSampler(catalog, 256, length=64, seed=2)
    loader = geochips.Loader(catalog, sampler, batch_size=32, dtype="float32")
    batch = next(iter(loader))
    assert loader.pinned, "the ring is registered with CUDA where a driver is present"
    ring = torch.from_dlpack(batch.image)
    # torch's is_pinned() knows only its own allocator's blocks; the driver knows the ring is registered, and the
    # copy rate below shows it.
    pageable = ring.clone()
    assert not pageable.is_pinned()

    def gbps(src):
        dst = torch.empty(src.shape, dtype=src.dtype, device="cuda")
        for _ in range(3):
            dst.copy_(src, non_blocking=True)
        torch.cuda.synchronize()
        n = 20
        start = time.perf_counter()
        for _ in range(n):
            dst.copy_(src, non_blocking=True)
        torch.cuda.synchronize()
        return n * src.numel() * src.element_size() / (time.perf_counter() - start) / 1e9

    pinned, plain = gbps(ring), gbps(pageable)
    print(
        f"H2D of a {ring.numel() * 4 / 1e6:.0f} MB batch: pinned ring {pinned:.1f} GB/s, pageable {plain:.1f} GB/s"
    )
    assert pinned > 1.5 * plain
