"""The report of a peers run: medians per scenario and tool, the issue's must-show ratios, where geochips' time
went, the machine and settings, as markdown; and a bar chart (matplotlib, from the peers' interpreter:
``python report.py RESULTS_JSON CHART_PNG``).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from scenarios import SCENARIOS, SMALL_CACHE_MB, TOOLS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HEADLINE = "random-small-cache"
GEOCHIPS = "geochips-rust"
VERSIONS = ["geochips", "torch", "torchgeo", "rasterio", "async-geotiff", "obstore", "numpy"]


def machine(pythons: dict[str, str]) -> dict[str, Any]:
    """What this machine is and what is installed where, for the report."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line
    )
    probe = (
        "import importlib.metadata as m, json, sys\n"
        "v = {}\n"
        f"for n in {VERSIONS!r}:\n"
        "    try: v[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "try:\n"
        "    import rasterio; v['GDAL'] = rasterio.__gdal_version__\n"
        "except ImportError: pass\n"
        "print(json.dumps(v))\n"
    )
    versions = {}
    for runner, python in pythons.items():
        out = subprocess.run([python, "-c", probe], check=False, capture_output=True, text=True)
        versions[runner] = json.loads(out.stdout) if out.returncode == 0 else {}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": int(mem) / 1e6,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_at_start": os.getloadavg(),
        "commit": commit.stdout.strip() + (" (with local changes)" if dirty.stdout.strip() else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions,
    }


def chip_bytes(layout: str, chip: int) -> int:
    """Bytes of one chip as the files store it: 4 uint16 bands, plus a uint8 label for image + label pairs."""
    return chip * chip * (4 * 2 + (1 if layout == "labels" else 0))


def summary(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (scenario, tool): medians over the repetitions that succeeded, and the errors of those that failed."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in results["runs"]:
        groups.setdefault((run["scenario"], run["tool"]), []).append(run)
    out = {}
    for key, runs in groups.items():
        good = [r for r in runs if r["error"] is None]
        entry: dict[str, Any] = {"runs": len(runs), "errors": [r["error"] for r in runs if r["error"]]}
        if good:
            rates = sorted(good, key=lambda r: r["chips_per_second"])
            median_run = rates[len(rates) // 2]
            entry.update(
                chips_per_second=statistics.median(r["chips_per_second"] for r in good),
                peak_rss=statistics.median(r["peak_rss"] for r in good),
                requests_per_chip=_median([requests(r) for r in good]),
                served_mb_per_chip=_median(
                    [
                        r["served_bytes"] / 1e6 / r["chips"] if r["served_bytes"] is not None else None
                        for r in good
                    ]
                ),
                stats=median_run["stats"],
                seconds=median_run["seconds"],
                wall_seconds=median_run.get("wall_seconds") or median_run["seconds"],
                chips=median_run["chips"],
                cache_mb=median_run["cache_mb"],
            )
        out[key] = entry
    return out


def requests(run: dict[str, Any]) -> float | None:
    """Requests per chip: as the HTTP server counted them, else as geochips' loader did (local files)."""
    if run["served_requests"] is not None:
        return run["served_requests"] / run["chips"]
    if run["stats"]:
        return run["stats"]["requests"] / run["chips"]
    return None


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def rate(s: dict, scenario: str, tool: str) -> float | None:
    return s.get((scenario, tool), {}).get("chips_per_second")


def ceiling(results: dict[str, Any]) -> dict[str, Any] | None:
    """The median decode ceiling of the run's repetitions."""
    found = results["ceilings"]
    if not found:
        return None
    middle = sorted(found, key=lambda c: c["chips_per_second"])[len(found) // 2]
    return middle


def checks(results: dict[str, Any], s: dict) -> list[tuple[str, str, str, bool]]:
    """The issue's must-show ratios that this run measured: (what, target, measured, met)."""
    out = []

    def ratio(name: str, target: float, a: float | None, b: float | None, text: str) -> None:
        if a is not None and b:
            measured = f"{a / b:.2f}" + (f" ({text})" if text else "")
            out.append((name, f"≥ {target:g}", measured, a / b >= target))

    small = {t: rate(s, HEADLINE, t) for t in ("geochips-rust", "geochips-rust-nocache")}
    best = max((t for t in small if small[t]), key=lambda t: small[t], default=None)
    if best:
        g = small[best]
        which = TOOLS[best].label
        ceil = ceiling(results)
        if ceil:
            ratio("Small cache: geochips ÷ decode ceiling", 0.95, g, ceil["chips_per_second"], which)
        ratio("Small cache: geochips ÷ TorchGeo", 2.5, g, rate(s, HEADLINE, "torchgeo"), which)
        ratio("Small cache: geochips ÷ rasterio, 2 processes", 1.2, g, rate(s, HEADLINE, "rasterio-2"), which)
        ratio(
            "Python DataLoader ÷ Rust Loader (small cache)",
            0.95,
            rate(s, HEADLINE, "geochips-python"),
            rate(s, HEADLINE, GEOCHIPS),
            "same cache",
        )
    d = "random-default"
    g, tg = s.get((d, GEOCHIPS), {}), s.get((d, "torchgeo"), {})
    if "peak_rss" in g and "peak_rss" in tg:
        out.append(
            (
                "Default settings: geochips peak RSS ≤ TorchGeo's",
                "≤ 1",
                f"{g['peak_rss'] / 1e9:.2f} GB vs {tg['peak_rss'] / 1e9:.2f} GB",
                g["peak_rss"] <= tg["peak_rss"],
            )
        )
    ratio("Default settings: geochips ÷ TorchGeo", 8, rate(s, d, GEOCHIPS), rate(s, d, "torchgeo"), "")
    ratio(
        "Default settings: geochips ÷ rasterio, 2 processes",
        2,
        rate(s, d, GEOCHIPS),
        rate(s, d, "rasterio-2"),
        "",
    )
    ratio(
        "Python DataLoader ÷ Rust Loader (default settings)",
        0.95,
        rate(s, d, "geochips-python"),
        rate(s, d, GEOCHIPS),
        "",
    )
    h = "http"
    ratio(
        "HTTP +20 ms: geochips ÷ its local rate (same cache)",
        0.9,
        rate(s, h, GEOCHIPS),
        rate(s, HEADLINE, GEOCHIPS),
        f"{SMALL_CACHE_MB} MB cache",
    )
    ratio("HTTP +20 ms: geochips ÷ TorchGeo", 8, rate(s, h, GEOCHIPS), rate(s, h, "torchgeo"), "")
    ratio("HTTP +20 ms: geochips ÷ async-geotiff", 2.5, rate(s, h, GEOCHIPS), rate(s, h, "async-geotiff"), "")
    return out


def markdown(results: dict[str, Any], chart: str | None, note: str, notes: str) -> str:
    """The whole report."""
    meta, s = results["meta"], summary(results)
    m, args, ds = meta["machine"], meta["args"], meta["dataset"]
    chip = int(args["chip"])
    lines = ["# Benchmarks: geochips and its peers", ""]
    if note:
        lines += [f"> **{note}**", ""]
    lines += [
        (
            f"Measured {m['date']} on commit {m['commit']} by `benches/peers/run` "
            f"(`--chips {args['chips']} --reps {args['reps']}`; {meta['seconds'] / 60:.0f} minutes). Every "
            "scenario runs every tool in one run, interleaved, each tool in its own process; figures are medians "
            f"of {args['reps']} repetitions (seeds 0..{int(args['reps']) - 1}, the same for every tool)."
        ),
        "",
    ]
    if chart:
        lines += [f"![chips per second by scenario and tool]({chart})", ""]
    ceil = ceiling(results)
    lines += ["## The decode ceiling", ""]
    if ceil:
        g = rate(s, HEADLINE, GEOCHIPS)
        share = (
            f" geochips (Rust, {SMALL_CACHE_MB} MB cache) reaches {g / ceil['chips_per_second']:.0%} of it."
            if g
            else ""
        )
        lines += [
            (
                f"{ceil['inflater']} inflates this dataset's tiles at {ceil['inflate_bytes_per_second_per_core'] / 1e6:.0f} "
                f"MB/s of output on one core. A random {chip}² chip touches {ceil['tiles_per_chip']:.2f} tiles on "
                f"average, {ceil['decoded_bytes_per_chip'] / 1e6:.1f} MB decoded when whole tiles are inflated, so "
                f"{ceil['cores']} cores cap random reads without tile reuse at "
                f"**{ceil['chips_per_second']:.0f} chips/s**.{share} A reader beats the ceiling only by decoding "
                "less (stopping a tile's inflate at the last row a chip needs) or by reusing decoded tiles."
            ),
            "",
        ]
    else:
        lines += ["(not measured in this run)", ""]
    found = checks(results, s)
    if found:
        lines += ["## Must-show ratios (issue 8)", "", "| | target | measured | met |", "|---|---|---|---|"]
        lines += [
            f"| {what} | {target} | {measured} | {'yes' if met else '**no**'} |"
            for what, target, measured, met in found
        ]
        lines += [""]
    lines += ["## Results", ""]
    for name in meta["scenarios"]:
        sc = SCENARIOS[name]
        rows = [(t, s[(name, t)]) for t in sc.tools if (name, t) in s]
        if not rows:
            continue
        g = rate(s, name, GEOCHIPS)
        lines += [
            f"### {sc.title}",
            "",
            "| tool | chips/s | MB/s | requests/chip | peak RSS | cache | geochips ÷ tool |",
            "|---|---:|---:|---:|---:|---|---:|",
        ]
        for tool, e in rows:
            label = TOOLS[tool].label
            if "chips_per_second" not in e:
                lines.append(f"| {label} | failed: {e['errors'][0][-160:]!r} | | | | | |")
                continue
            cps = e["chips_per_second"]
            req = f"{e['requests_per_chip']:.2f}" if e["requests_per_chip"] is not None else "–"
            if e["served_mb_per_chip"] is not None:
                req += f" ({e['served_mb_per_chip']:.2f} MB)"
            ratio = f"{g / cps:.2f}" if g else "–"
            lines.append(
                f"| {label} | {cps:.0f} | {cps * chip_bytes(sc.layout, chip) / 1e6:.0f} | {req} | "
                f"{e['peak_rss'] / 1e9:.2f} GB | {cache_text(tool, e['cache_mb'])} | {ratio} |"
            )
        lines += [""]
    lines += time_split(meta, s)
    lines += settings(meta, m, ds, chip)
    if notes:
        lines += ["## Notes", "", notes.strip(), ""]
    return "\n".join(lines) + "\n"


def cache_text(tool: str, cache_mb: int | None) -> str:
    """The cache a tool ran with, in words."""
    geochips = TOOLS[tool].geochips
    if cache_mb is None:
        return (
            "default (256 MiB tile cache)"
            if geochips
            else ("none" if tool == "async-geotiff" else "GDAL default")
        )
    if tool == "async-geotiff":
        return "none"
    if cache_mb == 0:
        return "no tile cache"
    return f"{cache_mb} MiB tile cache" if geochips else f"GDAL_CACHEMAX={cache_mb} MB"


def time_split(meta: dict[str, Any], s: dict) -> list[str]:
    """Where geochips' Rust loader spent its time, per scenario (its median run's counters)."""
    rows = []
    for name in meta["scenarios"]:
        for tool in ("geochips-rust", "geochips-rust-nocache"):
            e = s.get((name, tool), {})
            st = e.get("stats")
            if not st:
                continue
            chips = e["chips"]
            looked = st["cache_hits"] + st["blocks_decoded"]
            rows.append(
                f"| {name}{' (no cache)' if tool.endswith('nocache') else ''} | {e['wall_seconds']:.1f} | "
                f"{st['decode_seconds']:.1f} | {st['paste_seconds']:.1f} | {st['fetch_seconds']:.1f} | "
                f"{st['plan_seconds']:.2f} | {st['wait_bytes_seconds']:.1f} | {st['wait_slot_seconds']:.1f} | "
                f"{st['consumer_wait_seconds']:.1f} | {st['blocks_decoded'] / chips:.2f} | "
                f"{st['cache_hits'] / max(looked, 1):.0%} | {st['bytes_decoded'] / 1e6 / chips:.2f} | "
                f"{st['bytes_fetched'] / 1e6 / chips:.2f} |"
            )
    if not rows:
        return []
    return [
        "## Where geochips' time goes",
        "",
        (
            "The Rust loader's own counters (`geochips bench` prints them), from each scenario's median run. "
            "Seconds are summed over the batches in flight at once (so they can exceed the wall clock); decode "
            "and paste run on every core."
        ),
        "",
        (
            "| scenario | wall s | decode s | paste s | fetch s | plan s | waiting for byte budget s | "
            "waiting for a ring slot s | consumer waited s | blocks decoded/chip | cache hits | MB decoded/chip | "
            "MB fetched/chip |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]


def settings(meta: dict[str, Any], m: dict[str, Any], ds: dict[str, Any], chip: int) -> list[str]:
    """The machine, the versions and the settings of the run."""
    versions = {**m["versions"].get("peers", {}), **m["versions"].get("project", {})}
    shown = ", ".join(f"{k} {v}" for k, v in versions.items())
    load = ", ".join(f"{x:.1f}" for x in m["load_at_start"])
    return [
        "## Machine and settings",
        "",
        (
            f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']:.0f} GB RAM, Linux {m['kernel']}, "
            f"Python {m['python']}; load average at the start {load}."
        ),
        f"- Versions: {shown}.",
        (
            f"- Dataset (generated, seed {ds['seed']}, `benches/peers/dataset.py`): {ds['scenes']} scenes of "
            f"{ds['size']}×{ds['size']} px, 4 bands uint16, 10 m, half in EPSG:32631 and half in EPSG:32632, "
            f"512-px tiles, DEFLATE + predictor 2, {ds['overviews']} overviews; a uint8 label COG per scene; the "
            "same scenes as one COG per band with 1024-px tiles. Written by geochips' COG writer (libdeflate "
            "level 6), read from the page cache (the harness reads every file once first)."
        ),
        (
            f"- Chips: {meta['args']['chips']} per run, {chip}×{chip} px, all 4 bands, batches of "
            f"{meta['args']['batch']}. Random chips lie wholly inside a scene on its pixel grid (rasterio and "
            "async-geotiff draw the same windows, seeded; geochips and TorchGeo use their own samplers with the "
            "same seed). Grid chips tile each scene with stride = chip size; every tool reads the first chips of "
            "its grid order."
        ),
        (
            "- Timing: in the tool's process, from its first batch received to its last; the first batch's "
            "chips are not counted (opening files, building TorchGeo's index or geochips' catalog, starting "
            "DataLoader workers or the loader's pipeline are left out for every tool alike). Peak RSS: the sum "
            "over the tool's processes (DataLoader workers, process pools), sampled every 20 ms from /proc, "
            "set-up included; pages shared between forked processes count once per process."
        ),
        (
            f"- Caches: the small-cache scenarios set GDAL_CACHEMAX={SMALL_CACHE_MB} (MB) for GDAL (rasterio, "
            f'TorchGeo: per process) and `tile_cache_bytes` = {SMALL_CACHE_MB} MiB for geochips; "default" '
            "leaves GDAL's (5% of RAM per process) and geochips' (256 MiB). async-geotiff keeps no decoded tiles. "
            "GDAL runs with GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR and CPL_VSIL_CURL_ALLOWED_EXTENSIONS=.tif."
        ),
        (
            f"- HTTP: a threaded Range server on 127.0.0.1 (`tests/python/servers.py`) sleeping "
            f"{meta['delay'] * 1000:.0f} ms before every answer; GDAL reads through /vsicurl/, geochips and "
            "async-geotiff through object_store. Its request counts include opening files (headers), and, for "
            "geochips, building the catalog."
        ),
        (
            "- TorchGeo: a RasterDataset per layout, RandomGeoSampler / GridGeoSampler in pixels, "
            "DataLoader(num_workers=2, collate_fn=stack_samples); it works in the first file's CRS, so the "
            "second UTM zone's scenes are warped, and yields float32."
        ),
        "",
    ]


def draw(raw: Path, png: Path, python: str) -> bool:
    """Draw the chart of the results in `raw` into `png` with `python` (which must have matplotlib)."""
    out = subprocess.run(
        [python, str(HERE / "report.py"), str(raw), str(png)], check=False, capture_output=True, text=True
    )
    if out.returncode != 0:
        print(f"no chart: {out.stderr.strip()[-300:]}", flush=True)
    return out.returncode == 0


def chart(results: dict[str, Any], png: Path) -> None:
    """Horizontal bars of chips/s, one panel per scenario, geochips in colour, the decode ceiling as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = summary(results)
    names = [n for n in results["meta"]["scenarios"] if any((n, t) in s for t in TOOLS)]
    heights = [len([t for t in SCENARIOS[n].tools if (n, t) in s]) for n in names]
    fig, axes = plt.subplots(
        len(names),
        1,
        figsize=(9, 0.45 * sum(heights) + 1.1 * len(names)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    ceil = ceiling(results)
    for ax, name in zip(axes[:, 0], names):
        tools = [t for t in SCENARIOS[name].tools if (name, t) in s]
        values = [s[(name, t)].get("chips_per_second", 0) for t in tools]
        colors = ["#d95f02" if TOOLS[t].geochips else "#7f7f7f" for t in tools]
        ax.barh(range(len(tools)), values, color=colors)
        ax.set_yticks(range(len(tools)), [TOOLS[t].label for t in tools], fontsize=8)
        ax.invert_yaxis()
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.0f}" if v else " failed", va="center", fontsize=8)
        if ceil and name == HEADLINE:
            ax.axvline(ceil["chips_per_second"], color="black", linestyle="--", linewidth=1)
            ax.text(ceil["chips_per_second"], len(tools) - 0.6, " decode ceiling", fontsize=7)
        ax.set_title(textwrap.fill(SCENARIOS[name].title, 80), fontsize=9, loc="left")
        ax.margins(x=0.15)
    axes[-1, 0].set_xlabel("chips per second (256² px, 4 bands; median of the repetitions)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    chart(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
