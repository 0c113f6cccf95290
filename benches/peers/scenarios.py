"""The tools compared and the scenarios they run in: what each tool's process is, and what each scenario reads,
how, and with which cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SMALL_CACHE_MB = 16
"""The equal small cache of the headline: an archive far larger than RAM, where no tool can keep much."""


@dataclass(frozen=True)
class Tool:
    """One way of reading chips, run in its own process."""

    name: str
    label: str
    runner: str
    """"bench" (the `geochips bench` binary), or the Python interpreter that runs `script`: "project" (the
    project virtualenv, with geochips) or "peers" (the peers' virtualenv, where the project one is the
    fallback for tools it also has)."""
    script: str = ""
    needs: str = ""
    """The module the interpreter must import for this tool to run."""
    options: dict = field(default_factory=dict)
    """Extra job fields (processes, workers, reads in flight, a cache override)."""
    geochips: bool = False


TOOLS = {
    t.name: t
    for t in [
        Tool("geochips-rust", "geochips, Rust Loader (`geochips bench`)", "bench", geochips=True),
        Tool(
            "geochips-rust-nocache",
            "geochips, Rust Loader, no tile cache",
            "bench",
            options={"cache_mb": 0},
            geochips=True,
        ),
        Tool(
            "geochips-python",
            "geochips, Python ChipDataset + DataLoader(num_workers=0)",
            "project",
            "tool_geochips.py",
            "geochips.torch",
            geochips=True,
        ),
        Tool(
            "torchgeo",
            "TorchGeo 0.8.1, DataLoader(num_workers=2)",
            "peers",
            "tool_torchgeo.py",
            "torchgeo",
            {"workers": 2},
        ),
        Tool("rasterio-1", "rasterio windowed reads, 1 process", "peers", "tool_rasterio.py", "rasterio"),
        Tool(
            "rasterio-2",
            "rasterio windowed reads, 2 processes",
            "peers",
            "tool_rasterio.py",
            "rasterio",
            {"processes": 2},
        ),
        Tool(
            "async-geotiff",
            "async-geotiff 0.5.1 (obstore), 64 reads in flight",
            "peers",
            "tool_async_geotiff.py",
            "async_geotiff",
            {"in_flight": 64},
        ),
    ]
}


@dataclass(frozen=True)
class Scenario:
    """What every tool of a scenario reads, and how."""

    name: str
    title: str
    tools: tuple[str, ...]
    sampler: str = "random"
    layout: str = "scenes"
    """"scenes" (one 4-band COG per scene), "bands" (one COG per band) or "labels" (the scene and its label)."""
    http: bool = False
    """Read through the harness's HTTP server on 127.0.0.1 (20 ms added to every request) instead of files."""
    cache_mb: int | None = SMALL_CACHE_MB
    """Every tool's cache in MB (GDAL_CACHEMAX, geochips' tile_cache_bytes); None: each tool's default."""
    flag: str = ""
    """The command-line flag that switches this scenario on ("" : on by default)."""


ALL_TOOLS = ("geochips-rust", "geochips-python", "torchgeo", "rasterio-1", "rasterio-2", "async-geotiff")

SCENARIOS = {
    s.name: s
    for s in [
        Scenario(
            "random-small-cache",
            f"Random chips, local files, every tool held to a {SMALL_CACHE_MB} MB cache (an archive much "
            "larger than RAM)",
            ("geochips-rust", "geochips-rust-nocache", *ALL_TOOLS[1:]),
        ),
        Scenario(
            "random-default",
            "Random chips, local files, every tool's default settings",
            ALL_TOOLS,
            cache_mb=None,
        ),
        Scenario(
            "grid",
            "Grid chips (stride = chip size), local files, every tool's default settings",
            ALL_TOOLS,
            sampler="grid",
            cache_mb=None,
        ),
        Scenario(
            "http",
            f"Random chips over HTTP, 20 ms added to every request, {SMALL_CACHE_MB} MB caches",
            ALL_TOOLS,
            http=True,
        ),
        Scenario(
            "labels",
            f"Random image + label pairs, local files, {SMALL_CACHE_MB} MB caches",
            ALL_TOOLS,
            layout="labels",
            flag="--labels",
        ),
        Scenario(
            "band-files",
            f"Random chips from one COG per band (1024-px tiles), local files, {SMALL_CACHE_MB} MB caches",
            ALL_TOOLS,
            layout="bands",
            flag="--band-files",
        ),
    ]
}
