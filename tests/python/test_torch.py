"""geochips.torch with real torch: zero-copy tensors on the ring slot, DataLoader with 0 and 2 (forked)
workers, disjoint shards, set_epoch, mid-epoch resume, and a torchrun (gloo) run with two ranks."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import geochips
import numpy as np
import pytest
import torch
from geochips.torch import ChipDataset
from torch.utils.data import DataLoader

CHIP = 32
RES, SIZE = 10.0, 160


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> geochips.Catalog:
    """Two 160 x 160 px, 3-band uint16 COGs (64-px tiles) in UTM 31N."""
    d = tmp_path_factory.mktemp("torch_scenes")
    paths = []
    for i in range(2):
        data = np.random.default_rng(10 + i).integers(0, 60_000, (3, SIZE, SIZE), dtype=np.uint16)
        p = d / f"scene{i}.tif"
        x0 = 500_000.0 + i * SIZE * RES
        geochips.write_cog(p, data, (RES, 0.0, x0, 0.0, -RES, 5_000_000.0), epsg=32631, tile_size=64)
        paths.append(str(p))
    return geochips.Catalog.build(paths)


def chips(batches) -> Counter:
    """The multiset of (slice id, bounds, sha1 of the chip's pixels and mask) of some batches."""
    out = Counter()
    for b in batches:
        image, mask = b["image"].numpy(), b["valid"].numpy()
        for j, (i, bounds) in enumerate(zip(b["ids"], b["bounds"])):
            digest = hashlib.sha1(image[j].tobytes() + mask[j].tobytes()).hexdigest()
            out[(i, tuple(bounds), digest)] += 1
    return out


def test_tensors_are_views_of_the_ring_slot(catalog):
    sampler = geochips.RandomSampler(catalog, CHIP, length=96, seed=1)
    loader = geochips.Loader(catalog, sampler, batch_size=8, prefetch=1, ring_slots=4)
    it = iter(loader)
    held, copies = [], []
    for _ in range(2):  # 2 batches = 4 tensors held, while the loader cycles its other slots
        batch = next(it)
        image, mask = torch.from_dlpack(batch.image), torch.from_dlpack(batch.valid)
        assert image.data_ptr() == batch.image.address, "no copy: the tensor is the ring slot"
        assert mask.data_ptr() == batch.valid.address
        assert image.dtype == torch.uint16 and image.shape == (8, 3, CHIP, CHIP)
        assert mask.dtype == torch.uint8 and mask.shape == (8, CHIP, CHIP)
        held += [image, mask]
        copies += [image.clone(), mask.clone()]
        del batch
    seen = 2
    for batch in it:  # 10 more batches through the 2 slots left: no stall
        seen += 1
        assert torch.from_dlpack(batch.image).data_ptr() not in {t.data_ptr() for t in held}
    assert seen == 12
    for t, c in zip(held, copies):
        assert torch.equal(t, c), "a held tensor's slot was overwritten"
    # Dropping the held tensors frees their slots: a fresh epoch can use all four again.
    del held, t, c, image, mask, batch
    loader.set_epoch(1)
    it = iter(loader)
    kept = [torch.from_dlpack(next(it).image) for _ in range(3)]
    assert len({k.data_ptr() for k in kept}) == 3


def epoch(catalog, num_workers: int, epoch: int = 0, ds: ChipDataset | None = None) -> list[dict]:
    if ds is None:
        ds = ChipDataset(catalog, geochips.RandomSampler(catalog, CHIP, length=64, seed=7), batch_size=8)
    ds.set_epoch(epoch)
    kwargs = {"multiprocessing_context": "fork"} if num_workers else {}
    dl = DataLoader(ds, batch_size=None, num_workers=num_workers, **kwargs)
    # Copy each batch: the main process keeps them all.
    return [{**b, "image": b["image"].clone(), "valid": b["valid"].clone()} for b in dl]


def test_dataloader_workers_same_multiset_disjoint_shards(catalog):
    ds = ChipDataset(catalog, geochips.RandomSampler(catalog, CHIP, length=64, seed=7), batch_size=8)
    single = epoch(catalog, 0, ds=ds)
    # The same dataset's loader has run in the parent (its runtime, pools and ring are up) before the fork:
    # each worker makes its own, with no deadlock.
    two = epoch(catalog, 2, ds=ds)
    assert len(single) == len(two) == 8
    assert sum(chips(single).values()) == 64
    assert chips(single) == chips(two)
    assert sorted(i for b in single for i in b["ids"]) == list(range(64))
    # DataLoader takes batches from its workers in turn; worker w's shard is the slices w, w + 2, ...
    for k, b in enumerate(two):
        assert {i % 2 for i in b["ids"]} == {k % 2}
    assert chips(epoch(catalog, 0, epoch=1)) != chips(single)
    assert b["crs"][0] == "EPSG:32631" and tuple(b["time"][0]) == (None, None)


def test_resume_mid_epoch(catalog):
    sampler = geochips.RandomSampler(catalog, CHIP, length=80, seed=9)
    full = [chips([b]) for b in DataLoader(ChipDataset(catalog, sampler, batch_size=8), batch_size=None)]
    assert len(full) == 10
    ds = ChipDataset(catalog, sampler, batch_size=8)
    ds.set_epoch(0)
    first = []
    for b in DataLoader(ds, batch_size=None):
        first.append(chips([b]))
        if len(first) == 4:
            break
    state = ds.state_dict()
    assert state == {"epoch": 0, "batches": 4}
    again = ChipDataset(catalog, sampler, batch_size=8)
    again.load_state_dict(json.loads(json.dumps(state)))
    rest = [chips([b]) for b in DataLoader(again, batch_size=None)]
    assert first + rest == full
    assert again.state_dict() == {"epoch": 0, "batches": 10}


def test_resume_through_torchdatas_stateful_dataloader(catalog):
    from torchdata.stateful_dataloader import StatefulDataLoader

    sampler = geochips.RandomSampler(catalog, CHIP, length=80, seed=10)
    full = [chips([b]) for b in DataLoader(ChipDataset(catalog, sampler, batch_size=8), batch_size=None)]
    loader = StatefulDataLoader(ChipDataset(catalog, sampler, batch_size=8), batch_size=None)
    first = []
    for b in loader:
        first.append(chips([b]))
        if len(first) == 3:
            break
    state = loader.state_dict()
    again = StatefulDataLoader(ChipDataset(catalog, sampler, batch_size=8), batch_size=None)
    again.load_state_dict(state)
    rest = [chips([b]) for b in again]
    assert len(rest) == 7
    assert first + rest == full


def test_float_dtype_and_training_step(catalog):
    sampler = geochips.GridSampler(catalog, CHIP)
    ds = ChipDataset(catalog, sampler, batch_size=10, dtype="float32")
    assert len(ds) == 5
    model = torch.nn.Conv2d(3, 1, 3, padding=1)
    for b in DataLoader(ds, batch_size=None):
        assert b["image"].dtype == torch.float32
        out = model(b["image"] / 60_000.0)
        out.mean().backward()


TORCHRUN_SCRIPT = """
import json, sys
import geochips, torch.distributed as dist
from geochips.torch import ChipDataset
from torch.utils.data import DataLoader
dist.init_process_group("gloo")
catalog = geochips.Catalog.build(sys.argv[1:3])
ds = ChipDataset(catalog, geochips.RandomSampler(catalog, 32, length=60, seed=4), batch_size=8)
ids = [b["ids"] for b in DataLoader(ds, batch_size=None)]
with open(sys.argv[3] + f".{dist.get_rank()}", "w") as f:
    json.dump(ids, f)
dist.destroy_process_group()
"""


def test_torchrun_two_ranks(catalog, tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(TORCHRUN_SCRIPT)
    hrefs = [catalog.item(i)["assets"][0]["href"] for i in range(2)]
    out = tmp_path / "ids"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # In its own session, so that a hang kills the ranks too.
    proc = subprocess.Popen([*cmd, str(script), *hrefs, str(out)], env=env, start_new_session=True)
    try:
        assert proc.wait(timeout=180) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    ranks = [json.loads(Path(f"{out}.{r}").read_text()) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == 4  # 30 slices per rank: 3 batches of 8 and one of 6
    flat = [[i for b in r for i in b] for r in ranks]
    assert not set(flat[0]) & set(flat[1]), "the ranks' chips are disjoint"
    single = geochips.RandomSampler(catalog, 32, length=60, seed=4)
    assert sorted(flat[0] + flat[1]) == sorted(s.id for s in single.slices())


def test_map_style_dataset_under_a_batch_sampler(catalog):
    from geochips.torch import ChipMapDataset
    from torch.utils.data import BatchSampler

    sampler = geochips.RandomSampler(catalog, CHIP, length=24, seed=2)
    slices = sampler.slices()
    ds = ChipMapDataset(catalog, CHIP, crs="EPSG:32631", batch_size=8)
    # The same chips as the iterable dataset, through a standard BatchSampler and the default collate.
    want = [b for b in DataLoader(ChipDataset(catalog, sampler, batch_size=8), batch_size=None)]
    got = list(DataLoader(ds, batch_sampler=BatchSampler(slices, batch_size=8, drop_last=False)))
    assert len(got) == len(want) == 3
    for g, w in zip(got, want):
        assert torch.equal(g["image"], w["image"]) and torch.equal(g["valid"], w["valid"])
    # One chip by slice, and by TorchGeo-style bounds in the catalog's CRS.
    s = slices[5]
    one = ds[s]
    assert one["image"].shape == (3, CHIP, CHIP) and one["item"] == s.item
    by_bounds = ds[s.bounds]
    assert torch.equal(by_bounds["image"], one["image"])
    with pytest.raises(KeyError, match="no catalog item"):
        ds[(0.0, 0.0, 320.0, 320.0)]
    with pytest.raises(ValueError, match="px"):
        ds[geochips.GeoSlice(0, s.bounds, "EPSG:32631", (16, 16))]
    with pytest.raises(ValueError, match="item"):
        ds[geochips.GeoSlice(7, s.bounds, "EPSG:32631", (CHIP, CHIP))]
