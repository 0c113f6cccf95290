"""geochips reads the real-world corpus in ../shared/corpus like rasterio does, or refuses a file clearly.

Each GeoTIFF there is either read bit-identically to rasterio (header, the whole raster and seeded boundless
windows, at every overview level) or it is listed in REFUSED with the reason, and then geochips must raise
GeochipsError naming the file. A file that GDAL cannot read either must be refused the same way, never crash.

Sidecars: GDAL also reads `x.tif.msk` (an external mask) and `x.tif.ovr` (external overviews) next to a file;
geochips reads only the file itself. The oracle is therefore GDAL with sidecars hidden (conftest's
open_oracle): for RGB2.byte.tif, which has a .msk sidecar, that compares data and the file's own mask (all
valid), not the sidecar mask; for red.tif the .ovr overviews are not compared.
"""

from __future__ import annotations

from pathlib import Path

import geochips
import pytest
from conftest import (
    assert_crs_matches,
    band_subsets,
    cog_metadata,
    expected_metadata,
    open_oracle,
    random_windows,
    window_failures,
)
from rasterio._err import CPLE_BaseError
from rasterio.errors import RasterioIOError

# The corpus sits beside the repository: parents[0] is tests/python, [1] tests, [2] the repository root.
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"

SIDECAR_SUFFIXES = (".msk", ".ovr", ".aux.xml")
NOT_RASTERS = ("LICENSE", "README", "COPYRIGHT")

# File (relative to CORPUS) -> why geochips refuses it (with GeochipsError naming the file) although GDAL
# reads it. A file here that geochips starts reading fails the test until its entry is removed, and a file
# geochips newly refuses fails until it is added, so this list is always the truth. Empty at present: the
# fp16 files (image-tiff/random-fp16-pred*.tiff) were refused until geochips read them as float32, as GDAL does.
REFUSED: dict[str, str] = {}

# Broken files made from corpus files, which GDAL cannot open or read: geochips must refuse them too.
BROKEN = {
    "empty.tif": lambda: b"",
    "not-a-tiff.tif": lambda: (CORPUS / "README.md").read_bytes(),
    "truncated-in-header.tif": lambda: (CORPUS / "rasterio/RGB.byte.tif").read_bytes()[:120],
    "truncated-in-tiles.tif": lambda: (CORPUS / "rasterio/cogeo.tif").read_bytes()[:150_000],
}

# File -> {Cog attribute: (what geochips reports, why GDAL's view differs)}, where GDAL does not report
# what the file says. Checked exactly like the rest of the header.
STRIP_CHOPPING = "one uncompressed strip of 64 rows, which libtiff hands GDAL as strips of ~8 KB (42 rows)"
HEADER_DIFFERENCES = {
    "image-tiff/bigtiff/BigTIFF.tif": {"block_shape": ((64, 64), STRIP_CHOPPING)},
    "image-tiff/bigtiff/BigTIFFMotorola.tif": {"block_shape": ((64, 64), STRIP_CHOPPING)},
    "image-tiff/int8_rgb.tif": {"block_shape": ((64, 64), STRIP_CHOPPING)},
}

WINDOWS_PER_LEVEL = 13  # the whole raster, its last pixel, a 1-px margin around it, and 10 random windows


def corpus_files() -> list[str]:
    files = [
        path.relative_to(CORPUS).as_posix()
        for path in CORPUS.rglob("*")
        if path.is_file()
        and not path.name.endswith(SIDECAR_SUFFIXES)
        and not path.name.startswith(NOT_RASTERS)
    ]
    return sorted(files)


def gdal_reads(path: Path, whole: bool = False) -> bool:
    """Whether GDAL opens `path` (and, with `whole`, reads all of its pixels)."""
    try:
        with open_oracle(path) as ds:
            if whole:
                ds.read()
            return True
    except (RasterioIOError, CPLE_BaseError):
        return False


CORPUS_FILES = corpus_files()
READABLE = [name for name in CORPUS_FILES if name not in REFUSED and gdal_reads(CORPUS / name)]
UNREADABLE = [name for name in CORPUS_FILES if name not in READABLE]


def test_corpus_is_there():
    assert CORPUS.is_dir(), f"no corpus at {CORPUS}"
    assert len(CORPUS_FILES) >= 30, CORPUS_FILES
    assert set(REFUSED) | set(HEADER_DIFFERENCES) <= set(CORPUS_FILES), "entries for files not in the corpus"


@pytest.mark.parametrize("name", [*UNREADABLE, *BROKEN])
def test_unreadable_file_raises_error_naming_it(name, tmp_path):
    """REFUSED files, corpus files GDAL cannot open, and BROKEN files: GeochipsError at open or read."""
    if name in BROKEN:
        path = tmp_path / name
        path.write_bytes(BROKEN[name]())
        assert not gdal_reads(path, whole=True), "GDAL reads it: not broken"
    else:
        path = CORPUS / name
    with pytest.raises(geochips.GeochipsError) as raised:
        geochips.open(str(path)).read()
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("name", READABLE)
def test_header_matches_rasterio(name):
    path = CORPUS / name
    cog = geochips.open(str(path))
    with open_oracle(path) as ds:
        expected = expected_metadata(path, ds)
        expected.update({key: value for key, (value, _) in HEADER_DIFFERENCES.get(name, {}).items()})
        assert cog_metadata(cog, expected) == expected
        assert_crs_matches(cog, ds)


@pytest.mark.parametrize("name", READABLE)
def test_pixels_match_rasterio_at_every_level(name):
    path = CORPUS / name
    cog = geochips.open(str(path))
    failures = []
    for level in [None, *range(len(cog.overviews))]:
        with open_oracle(path, level) as ds:
            seed = sum(name.encode()) + (level or 0)
            windows = random_windows(ds.width, ds.height, WINDOWS_PER_LEVEL, seed)
            indexes = band_subsets(ds.count, WINDOWS_PER_LEVEL, seed)
        failures += window_failures(cog, path, windows, level, indexes)
    assert not failures, f"{path}: {len(failures)} reads differ:\n" + "\n".join(failures)
