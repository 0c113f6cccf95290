"""Catalog build over HTTP with latency: 1,000 COG headers served by a 127.0.0.1 Range server that adds 20 ms
to every request, read 64 at a time (bounded concurrency hides the latency).

    python benches/catalog_http.py [--files 1000] [--delay 0.02] [--concurrency 64] [--runs 3]

Needs the extension built (`maturin develop --release`) and rasterio. Prints the median build time.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
import geochips
from servers import serve_directory


def write_files(root: Path, count: int) -> list[str]:
    """`count` small COGs (256 × 256 px, 2 bands, a 1-level pyramid) named scene_0000.tif..., in two UTM zones."""
    names = []
    for zone, crs in enumerate(["EPSG:32631", "EPSG:32632"]):
        template = root / f"template{zone}.tif"
        with rasterio.open(
            template,
            "w",
            driver="COG",
            width=256,
            height=256,
            count=2,
            dtype="uint16",
            crs=crs,
            transform=Affine(10.0, 0.0, 400_000.0, 0.0, -10.0, 5_300_000.0),
            blocksize=128,
            overview_count=1,
            compress="DEFLATE",
        ) as ds:
            ds.write(np.ones((2, 256, 256), dtype=np.uint16))
    for i in range(count):
        name = f"scene_{i:04d}.tif"
        shutil.copyfile(root / f"template{i % 2}.tif", root / name)
        names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds added to every request")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names = write_files(root, args.files)
        with serve_directory(root, delay=args.delay) as server:
            hrefs = [server.url(name) for name in names]
            times = []
            for _ in range(args.runs):
                start = server.requests_since(0).__len__()
                t0 = time.perf_counter()
                catalog = geochips.Catalog.build(hrefs, concurrency=args.concurrency)
                times.append(time.perf_counter() - t0)
                requests = len(server.requests_since(start))
                assert len(catalog) == args.files and not catalog.failures, catalog.failures[:3]
        print(
            f"{args.files} COG headers over HTTP (+{args.delay * 1000:.0f} ms per request), "
            f"concurrency {args.concurrency}: median {statistics.median(times):.3f} s "
            f"(runs: {', '.join(f'{t:.3f}' for t in times)}), {requests} requests per build"
        )


if __name__ == "__main__":
    main()
