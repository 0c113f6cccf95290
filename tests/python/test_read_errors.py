"""Bad read requests raise GeochipsError naming the file, before anything is allocated."""

from __future__ import annotations

from pathlib import Path

import geochips
import pytest

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
RGB = str(CORPUS / "rasterio" / "RGB.byte.tif")


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"window": (0, 0, 1 << 40, 1 << 40)}, "at most"),
        ({"window": (2**63 - 10, 0, 100, 100)}, "at most"),
        ({"window": (0, 0, 0, 10)}, "empty window"),
        ({"indexes": [4]}, "bands"),
        ({"indexes": [0]}, "bands"),
        ({"overview": 0}, "overview"),
        ({"overview": 2**64 - 1}, "overview"),
    ],
)
def test_bad_reads_raise_an_error_naming_the_file(kwargs, reason):
    cog = geochips.open(RGB)
    with pytest.raises(geochips.GeochipsError) as error:
        cog.read(**kwargs)
    assert RGB in str(error.value) and reason in str(error.value)


def test_a_good_read_after_bad_ones_still_works():
    cog = geochips.open(RGB)
    with pytest.raises(geochips.GeochipsError):
        cog.read(window=(0, 0, 1 << 40, 1))
    data, mask = cog.read(window=(10, 10, 5, 4), indexes=[3, 1])
    assert data.shape == mask.shape == (2, 4, 5)
    assert data.dtype.name == "uint8" and mask.dtype.name == "uint8"
