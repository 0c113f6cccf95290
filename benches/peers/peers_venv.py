"""The peers' virtualenv: TorchGeo, rasterio, async-geotiff, obstore, libdeflate and matplotlib, kept apart from
the project's own so their pins never meet ours.

torch is the large part (4 GB with its CUDA libraries). When the project virtualenv already holds the torch that
``requirements-torch.txt`` pins, the peers' venv links to it: a folder of symlinks to the files of torch and of
the packages that file installs with it, put on ``sys.path`` by a ``.pth`` file (pip then sees torch as
installed). Otherwise torch is installed from that file, as ``scripts/test`` does (``--no-deps``, without the
CUDA extras). Either way pip's resolver would still add what torch's metadata asks for and that file leaves out
(triton, the CUDA toolkit wheels: gigabytes): so the peers' requirements are resolved first (``--dry-run
--report``) and what pip chose is installed with ``--no-deps``, less those.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TORCH_REQUIREMENTS = ROOT / "requirements-torch.txt"
PEER_REQUIREMENTS = HERE / "requirements.txt"
# torch's own dependencies that requirements-torch.txt leaves out on purpose (see there).
TORCH_EXTRAS = re.compile(r"^(triton|cuda-(bindings|pathfinder|toolkit)|nvidia-.*)$")


def pinned(requirements: Path) -> dict[str, str]:
    """``name -> version`` of the ``name==version`` lines of a requirements file."""
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def torch_distributions() -> list[importlib.metadata.Distribution] | None:
    """The distributions of this interpreter that make up the pinned torch (torch and what
    requirements-torch.txt installs with it, torchdata aside), or None when this interpreter's torch is not the
    pinned one."""
    pins = pinned(TORCH_REQUIREMENTS)
    pins.pop("torchdata", None)
    found = []
    for name, version in pins.items():
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            return None
        if dist.version.split("+")[0] != version:
            return None
        found.append(dist)
    return found


def link_torch(venv: Path, dists: list[importlib.metadata.Distribution]) -> None:
    """Give `venv` this interpreter's torch: symlinks to the top-level files of `dists` in one folder, and a .pth
    file naming it."""
    folder = venv / "torch-from-project"
    folder.mkdir(exist_ok=True)
    for dist in dists:
        base = Path(dist.locate_file(""))
        tops = {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            link = folder / top
            if not link.exists() and (base / top).exists():
                link.symlink_to(base / top)
    (site_packages(venv) / "torch-from-project.pth").write_text(f"{folder}\n")


def site_packages(venv: Path) -> Path:
    """The site-packages folder of `venv` (made by this interpreter's Python version)."""
    return venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def ensure(venv: Path) -> Path:
    """Make (or bring up to date) the peers' virtualenv at `venv`; returns its Python. Skips everything when the
    requirements have not changed since the last time."""
    python = venv / "bin" / "python"
    stamp = venv / ".peers-requirements"
    digest = hashlib.sha256(PEER_REQUIREMENTS.read_bytes() + TORCH_REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    dists = torch_distributions()
    if dists is not None:
        print(f"peers venv {venv}: torch linked from {dists[0].locate_file('')}", flush=True)
        link_torch(venv, dists)
    else:
        print(f"peers venv {venv}: installing torch from {TORCH_REQUIREMENTS.name}", flush=True)
        subprocess.run([*pip, "--no-deps", "-r", str(TORCH_REQUIREMENTS)], check=True)
    print(f"peers venv {venv}: resolving {PEER_REQUIREMENTS.relative_to(ROOT)}", flush=True)
    report = venv / "peers-resolve.json"
    subprocess.run([*pip, "--dry-run", "--report", str(report), "-r", str(PEER_REQUIREMENTS)], check=True)
    chosen = [
        f"{meta['name']}=={meta['version']}"
        for meta in (entry["metadata"] for entry in json.loads(report.read_text())["install"])
        if not TORCH_EXTRAS.match(meta["name"].lower().replace("_", "-"))
    ]
    print(f"peers venv {venv}: installing {len(chosen)} packages", flush=True)
    if chosen:
        subprocess.run([*pip, "--no-deps", *chosen], check=True)
    stamp.write_text(digest)
    return python


if __name__ == "__main__":
    default = Path.home() / ".cache" / "geochips" / "peers-venv"
    print(ensure(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
