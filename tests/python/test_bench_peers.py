"""The peers benchmark harness (benches/peers) end to end on a tiny dataset, with the tools this interpreter
has (geochips' Rust and Python paths, rasterio; the peers' own virtualenv is not made here), and its parts
checked against independent counts: the chips the window-based tools read, the tiles a chip touches, the
memory the process sampler sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PEERS = REPO / "benches" / "peers"
sys.path.insert(0, str(PEERS))

import ceiling
import chips
import dataset
import geochips
import procs
import run

SPEC = dataset.Spec(scenes=2, size=1024, overviews=1)
TOOLS = ["geochips-rust", "geochips-python", "rasterio-1", "rasterio-2"]


@pytest.fixture(scope="module")
def geochips_bin() -> Path:
    """The `geochips` binary (debug build, as the CLI tests use)."""
    subprocess.run(["cargo", "build", "--quiet", "--bin", "geochips"], cwd=REPO, check=True)
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug" / "geochips"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dataset.Dataset:
    return dataset.ensure(tmp_path_factory.mktemp("bench-data"), SPEC, log=lambda _: None)


def test_harness_runs_every_scenario_and_writes_the_report(tmp_path, data, geochips_bin):
    out = tmp_path / "docs" / "benchmarks.md"
    args = ["--data", str(data.root), "--scenes", str(SPEC.scenes), "--scene-size", str(SPEC.size)]
    args += ["--chips", "96", "--chip", "128", "--batch", "16", "--reps", "1", "--labels", "--band-files"]
    args += ["--no-peers", "--tools", ",".join(TOOLS), "--geochips-bin", str(geochips_bin), "--out", str(out)]
    code = run.main(args)
    results = json.loads(out.with_suffix(".json").read_text())
    assert [(r["scenario"], r["tool"], r["error"]) for r in results["runs"] if r["error"]] == []
    assert code == 0
    scenarios = ["random-small-cache", "random-default", "grid", "http", "labels", "band-files"]
    assert results["meta"]["scenarios"] == scenarios
    ran = {(r["scenario"], r["tool"]): r for r in results["runs"]}
    assert set(ran) == {(s, t) for s in scenarios for t in TOOLS}
    for (scenario, tool), r in ran.items():
        # Every process leaves out its first batch of 16: rasterio-2's two processes read 48 chips each.
        assert r["chips"] == (64 if tool == "rasterio-2" else 80), (scenario, tool)
        assert r["chips_per_second"] > 0 and r["peak_rss"] > 0
    for tool in TOOLS:
        over_http = ran[("http", tool)]
        assert over_http["served_requests"] > 0 and over_http["served_bytes"] > 0
    # The loader's own count of range requests is at most what the server saw (headers come on top).
    assert (
        ran[("http", "geochips-rust")]["stats"]["requests"]
        <= ran[("http", "geochips-rust")]["served_requests"]
    )
    assert results["ceilings"] and results["ceilings"][0]["chips_per_second"] > 0
    text = out.read_text()
    assert "## The decode ceiling" in text and "## Where geochips' time goes" in text
    for title in (
        "16 MB cache",
        "default settings",
        "Grid chips",
        "over HTTP",
        "label pairs",
        "one COG per band",
    ):
        assert title in text


def test_grid_windows_are_the_chips_geochips_grid_sampler_draws(data):
    """rasterio and async-geotiff read the windows of `chips.windows`; in the grid scenario they must be the
    chips geochips' GridSampler draws, in its order (the catalog lists the scenes in file order)."""
    catalog = geochips.Catalog.build([str(p) for p in data.scenes()])
    sampler = geochips.GridSampler(catalog, 256, stride=256)
    drawn = []
    for s in sampler.slices():
        _, transform = dataset.scene_grid(SPEC, s.item)
        minx, _, _, maxy = s.bounds
        drawn.append((s.item, round((minx - transform[2]) / 10), round((transform[5] - maxy) / 10)))
    spec = {"sampler": "grid", "size": 256, "chips": len(drawn) + 5, "scene_size": SPEC.size, "seed": 0}
    assert chips.windows(spec, SPEC.scenes) == drawn


def test_random_windows_lie_inside_the_scenes_and_follow_the_seed():
    spec = {"sampler": "random", "size": 256, "chips": 500, "scene_size": 1024, "seed": 3}
    first = chips.windows(spec, 2)
    assert first == chips.windows(spec, 2) != chips.windows({**spec, "seed": 4}, 2)
    assert {s for s, _, _ in first} == {0, 1}
    assert all(0 <= c <= 768 and 0 <= r <= 768 for _, c, r in first)


def test_tiles_per_chip_counts_the_tiles_a_chip_crosses():
    # 1024 px, 128-px chips on 512-px tiles: 897 offsets per axis, of which 385..511 (127) cross a tile edge.
    assert ceiling.tiles_per_chip(1024, 128, 512) == pytest.approx(1 + 127 / 897)
    assert ceiling.tiles_per_chip(1024, 512, 512) == pytest.approx(1 + 511 / 513)


def test_peak_rss_counts_every_process_below_the_one_started(tmp_path):
    """A process holding 300 MB whose child holds 200 MB at the same time: the peak counts both."""
    script = tmp_path / "hold.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys, time
            held = bytearray(os.urandom(1 << 20)) * int(sys.argv[1])
            if len(sys.argv) > 2:
                import subprocess
                subprocess.run([sys.executable, __file__, sys.argv[2]], check=True)
            else:
                time.sleep(1.0)
            print('{"done": true}')
            """
        )
    )
    out = procs.run([sys.executable, str(script), "300", "200"], dict(os.environ), tmp_path, 60)
    assert out.result == {"done": True}
    assert out.peak_rss >= 500 << 20
    assert out.peak_rss < 800 << 20
