"""Other DLPack consumers take batch images without a copy: JAX (where it is installed) reads the ring slot
itself. CuPy takes only device memory, and the ring is host memory (kDLCPU, pinned or not), so it is left out."""

import geochips
import numpy as np
import pytest

jax = pytest.importorskip("jax")


def test_jax_views_the_ring_slot(tmp_path):
    data = np.random.default_rng(5).integers(0, 60_000, (2, 512, 512), dtype=np.uint16)
    path = tmp_path / "scene.tif"
    geochips.write_cog(path, data, (10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0), epsg=32631, tile_size=256)
    catalog = geochips.Catalog.build([str(path)])
    loader = geochips.Loader(catalog, geochips.RandomSampler(catalog, 128, length=8, seed=1), batch_size=8)
    batch = next(iter(loader))
    with jax.default_device(jax.devices("cpu")[0]):
        image = jax.numpy.from_dlpack(batch.image)
    assert image.unsafe_buffer_pointer() == batch.image.address, "JAX copied the batch"
    np.testing.assert_array_equal(np.asarray(image), np.from_dlpack(batch.image))
