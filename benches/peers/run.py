"""geochips against its peers, in one run: every scenario for every tool, interleaved, repeated, medians; then
docs/benchmarks.md and a bar chart. ``benches/peers/run`` builds what it needs and calls this.

    benches/peers/run [--chips 2048] [--reps 3] [--scenarios random-small-cache,http] [--labels] [--band-files]
                      [--note TEXT] [--notes FILE]

Steps: (1) the DESIGN.md dataset, generated once into ``--data`` (default ~/.cache/geochips/bench-data);
(2) the peers' virtualenv (``--peers-venv``, default ~/.cache/geochips/peers-venv; ``--no-peers``: the
project's own interpreter only, for the tools it can import); (3) the page cache warmed, an HTTP server with
20 ms per request on 127.0.0.1 for the HTTP scenario; per repetition the decode ceiling, then each scenario's
tools, each in its own process with its peak RSS sampled; (4) the raw results as JSON beside the report.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))

import dataset
import peers_venv
import procs
import report
from scenarios import SCENARIOS, TOOLS, Scenario, Tool
from servers import serve_directory

DELAY = 0.02
"""Seconds the HTTP server adds to every request."""


def parse(argv: list[str] | None) -> argparse.Namespace:
    cache = Path.home() / ".cache" / "geochips"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=cache / "bench-data", help="where the dataset is kept")
    p.add_argument("--scenes", type=int, default=dataset.Spec.scenes)
    p.add_argument("--scene-size", type=int, default=dataset.Spec.size, help="scene width and height, px")
    p.add_argument("--chips", type=int, default=2048, help="chips per run")
    p.add_argument("--chip", type=int, default=256, help="chip width and height, px")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--reps", type=int, default=3, help="repetitions (medians are reported)")
    p.add_argument("--scenarios", default="", help="comma-separated names (default: all switched on)")
    p.add_argument("--tools", default="", help="comma-separated names (default: all)")
    p.add_argument("--labels", action="store_true", help="also the image + label scenario")
    p.add_argument("--band-files", action="store_true", help="also the one-COG-per-band scenario")
    p.add_argument("--peers-venv", type=Path, default=cache / "peers-venv")
    p.add_argument("--no-peers", action="store_true", help="no peers' virtualenv: project interpreter only")
    p.add_argument(
        "--geochips-bin",
        type=Path,
        default=Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "geochips",
    )
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--note", default="", help="a line shown at the top of the report (e.g. provisional)")
    p.add_argument("--notes", type=Path, help="markdown file included in the report under Notes")
    p.add_argument(
        "--from-json", type=Path, help="measure nothing: rewrite the report of an earlier run's JSON"
    )
    return p.parse_args(argv)


def selected(args: argparse.Namespace) -> list[Scenario]:
    """The scenarios of this run: those named, else those on by default plus those their flag switches on."""
    if args.scenarios:
        return [SCENARIOS[n] for n in args.scenarios.split(",")]
    flags = {"--labels": args.labels, "--band-files": args.band_files}
    return [s for s in SCENARIOS.values() if not s.flag or flags[s.flag]]


def interpreters(args: argparse.Namespace) -> dict[str, str]:
    """The Python of each runner: the project's (this one) and the peers' (made if missing)."""
    peers = sys.executable if args.no_peers else str(peers_venv.ensure(args.peers_venv))
    return {"project": sys.executable, "peers": peers}


def imports(python: str, module: str) -> bool:
    """Whether `python` can import `module`."""
    return (
        subprocess.run([python, "-c", f"import {module}"], check=False, capture_output=True).returncode == 0
    )


def runnable(args: argparse.Namespace, pythons: dict[str, str]) -> dict[str, Tool]:
    """The tools of this run that can run here (a tool's interpreter lacking its module is left out, and
    said so)."""
    names = args.tools.split(",") if args.tools else list(TOOLS)
    out = {}
    for name in names:
        tool = TOOLS[name]
        if tool.runner == "bench":
            ok = args.geochips_bin.exists()
        else:
            ok = imports(pythons[tool.runner], tool.needs)
        if ok:
            out[name] = tool
        else:
            print(f"left out: {name} (no {tool.needs or args.geochips_bin} here)", flush=True)
    return out


def files(data: dataset.Dataset, layout: str) -> tuple[list[list[str]], str | None]:
    """Per scene, the files (relative to the dataset root) a chip of `layout` reads; and the STAC file that
    groups them into items (None for the single-file scenes)."""
    rel = lambda p: str(p.relative_to(data.root))
    if layout == "bands":
        return [[rel(p) for p in scene] for scene in data.band_files()], rel(data.stac_bands)
    if layout == "labels":
        return [[rel(s), rel(lab)] for s, lab in zip(data.scenes(), data.labels())], rel(data.stac_labels)
    return [[rel(s)] for s in data.scenes()], None


def job(args, tool: Tool, scenario: Scenario, data: dataset.Dataset, root: str, rep: int) -> dict[str, Any]:
    """What `tool` is asked to do in `scenario`, repetition `rep` (the seed)."""
    per_scene, stac = files(data, scenario.layout)
    return {
        "chips": args.chips,
        "batch": args.batch,
        "size": args.chip,
        "scene_size": data.spec.size,
        "seed": rep,
        "sampler": scenario.sampler,
        "layout": scenario.layout,
        "root": root,
        "files": per_scene,
        "stac": stac,
        "cache_mb": scenario.cache_mb,
        **tool.options,
    }


def command(args, tool: Tool, spec: dict[str, Any], pythons: dict[str, str]) -> list[str]:
    """The process that runs `spec` with `tool`."""
    if tool.runner != "bench":
        return [pythons[tool.runner], str(HERE / tool.script), json.dumps(spec)]
    sources = (
        [f"{spec['root']}/{spec['stac']}"]
        if spec["stac"]
        else [f"{spec['root']}/{f[0]}" for f in spec["files"]]
    )
    cmd = [str(args.geochips_bin), "bench", *sources, "--json", "--sampler", spec["sampler"]]
    cmd += ["--chips", str(spec["chips"]), "--chip", str(spec["size"]), "--batch", str(spec["batch"])]
    cmd += ["--seed", str(spec["seed"])]
    if spec["cache_mb"] is not None:
        cmd += ["--cache-mb", str(spec["cache_mb"])]
    if spec["layout"] == "labels":
        cmd += ["--labels", dataset.LABEL_BAND]
    return cmd


def environment(scenario: Scenario) -> dict[str, str]:
    """The environment of every tool in `scenario`: GDAL's cache and COG-friendly settings, no proxy for
    127.0.0.1."""
    env = dict(os.environ)
    env.update(
        {
            "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
            "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    env.pop("GDAL_CACHEMAX", None)
    if scenario.cache_mb is not None:
        env["GDAL_CACHEMAX"] = str(scenario.cache_mb)  # GDAL reads small values as MB
    return env


def warm(data: dataset.Dataset) -> None:
    """Read every file of the dataset once, so local runs read from the page cache from the first one on."""
    for path in sorted(data.root.rglob("*.tif")):
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


def measure_ceiling(args, pythons: dict[str, str], data: dataset.Dataset) -> dict[str, Any] | None:
    """The decode ceiling, with libdeflate where the peers' interpreter has it."""
    python = pythons["peers"] if imports(pythons["peers"], "deflate") else pythons["project"]
    spec = {"root": str(data.root), "files": files(data, "scenes")[0], "size": args.chip, "seconds": 2.0}
    out = procs.run([python, str(HERE / "ceiling.py"), json.dumps(spec)], dict(os.environ), HERE, 120)
    if out.result is None:
        print(f"decode ceiling failed: {out.error}", flush=True)
    return out.result


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        return write_report(args, results, args.peers_venv / "bin" / "python")
    scenarios = selected(args)
    spec = dataset.Spec(scenes=args.scenes, size=args.scene_size)
    data = dataset.ensure(args.data, spec, log=lambda m: print(m, flush=True))
    pythons = interpreters(args)
    tools = runnable(args, pythons)
    warm(data)
    runs: list[dict[str, Any]] = []
    ceilings: list[dict[str, Any]] = []
    serving = any(s.http for s in scenarios)
    started = time.time()
    with serve_directory(data.root, delay=DELAY) if serving else nullcontext() as server:
        for rep in range(args.reps):
            ceiling = measure_ceiling(args, pythons, data)
            if ceiling:
                ceilings.append(ceiling)
            for scenario in scenarios:
                order = [t for t in scenario.tools if t in tools]
                order = order[rep % max(len(order), 1) :] + order[: rep % max(len(order), 1)]
                for name in order:
                    runs.append(one_run(args, tools[name], scenario, data, pythons, server, rep))
    meta = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "dataset": spec.__dict__,
        "scenarios": [s.name for s in scenarios],
        "tools": list(tools),
        "seconds": time.time() - started,
        "machine": report.machine(pythons),
        "delay": DELAY,
    }
    results = {"meta": meta, "ceilings": ceilings, "runs": runs}
    write_report(args, results, pythons["peers"])
    return 0 if all(r["error"] is None for r in runs) else 1


def write_report(args: argparse.Namespace, results: dict[str, Any], python: str | Path) -> int:
    """Write the results as JSON, the chart (with `python`, when it has matplotlib) and the markdown report
    beside `--out`."""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raw = args.out.with_suffix(".json")
    if not (args.from_json and args.from_json.resolve() == raw.resolve()):
        raw.write_text(json.dumps(results, indent=1))
    chart = args.out.with_suffix(".png")
    drew = report.draw(raw, chart, str(python))
    notes = args.notes.read_text() if args.notes else ""
    args.out.write_text(report.markdown(results, chart.name if drew else None, args.note, notes))
    print(f"wrote {args.out}, {raw.name}" + (f", {chart.name}" if drew else ""), flush=True)
    return 0


def one_run(args, tool: Tool, scenario: Scenario, data, pythons, server, rep: int) -> dict[str, Any]:
    """Run `tool` in `scenario` once; what it measured, the server's counts for it, its peak RSS."""
    root = server.url("").rstrip("/") if scenario.http else str(data.root)
    spec = job(args, tool, scenario, data, root, rep)
    first = len(server.requests) if server else 0
    procs.wait_idle()
    out = procs.run(command(args, tool, spec, pythons), environment(scenario), HERE, 120 + args.chips / 4)
    served = server.requests_since(first) if server and scenario.http else []
    result = out.result or {}
    chips, seconds = result.get("chips", 0), result.get("seconds")
    if "first_batch_chips" in result:  # `geochips bench` times its whole run: leave out its first batch too
        chips -= result["first_batch_chips"]
        seconds -= result["first_batch_seconds"]
    record = {
        "scenario": scenario.name,
        "tool": tool.name,
        "rep": rep,
        "chips": chips,
        "seconds": seconds,
        "wall_seconds": result.get("seconds"),
        "chips_per_second": chips / seconds if out.result and chips > 0 else None,
        "peak_rss": out.peak_rss,
        "served_requests": len(served) if scenario.http else None,
        "served_bytes": sum(r.sent for r in served) if scenario.http else None,
        "cache_mb": spec["cache_mb"],
        "stats": result.get("stats"),
        "error": None if out.result else out.error or "no result",
    }
    if out.result and chips <= 0:
        record["error"] = "no chips after the first batch: ask for more chips than one batch per process"
    shown = (
        f"{record['chips_per_second']:.0f} chips/s"
        if not record["error"]
        else f"FAILED: {record['error'][-300:]}"
    )
    print(
        f"[rep {rep + 1}/{args.reps}] {scenario.name:<20} {tool.name:<22} {shown}, "
        f"peak RSS {out.peak_rss / 1e9:.2f} GB",
        flush=True,
    )
    return record


if __name__ == "__main__":
    sys.exit(main())
