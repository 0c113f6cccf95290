"""Train a small segmentation CNN on random chips streamed by geochips, and print loss and chips/s.

Makes a small seeded dataset first (4-band uint16 image COGs and a uint8 label COG per scene, on the same
grid), then streams random chips of both through ``geochips.torch.ChipDataset``: the image and label datasets share
the sampler's seed, so they draw the same slices. Usage::

    python examples/train_torch.py [--steps 300] [--batch-size 16] [--chip 64] [--dir /tmp/geochips-train]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geochips
import numpy as np
import torch
from geochips.torch import ChipDataset
from torch.utils.data import DataLoader

SCENES, SIZE, RES = 2, 512, 10.0


def make_dataset(directory: Path) -> tuple[list[str], list[str]]:
    """Seeded scenes: smooth fields plus noise; the label is 1 where the first band's field is high."""
    directory.mkdir(parents=True, exist_ok=True)
    images, labels = [], []
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    for i in range(SCENES):
        rng = np.random.default_rng(i)
        transform = (RES, 0.0, 300_000.0 + i * SIZE * RES, 0.0, -RES, 5_000_000.0)
        fields = [
            np.sin(xx * rng.uniform(0.01, 0.05)) + np.cos(yy * rng.uniform(0.01, 0.05)) for _ in range(4)
        ]
        image = np.stack([1000 + 400 * f + rng.normal(0, 60, f.shape) for f in fields]).astype(np.uint16)
        label = (fields[0] > 0.3).astype(np.uint8)[None]
        image_path, label_path = directory / f"image-{i}.tif", directory / f"label-{i}.tif"
        geochips.write_cog(image_path, image, transform, epsg=32631, tile_size=256)
        geochips.write_cog(label_path, label, transform, epsg=32631, tile_size=256)
        images.append(str(image_path))
        labels.append(str(label_path))
    return images, labels


def train(
    steps: int = 300, batch_size: int = 16, chip: int = 64, directory: str = "/tmp/geochips-train"
) -> dict:
    """Train for ``steps`` batches; returns the mean loss of the first and last tenth of the steps and
    chips/s."""
    torch.manual_seed(0)
    images, labels = make_dataset(Path(directory))
    image_catalog, label_catalog = geochips.Catalog.build(images), geochips.Catalog.build(labels)
    options = {"size": chip, "length": steps * batch_size, "seed": 1}
    image_ds = ChipDataset(
        image_catalog,
        geochips.RandomSampler(image_catalog, **options),
        batch_size=batch_size,
        dtype="float32",
    )
    label_ds = ChipDataset(
        label_catalog, geochips.RandomSampler(label_catalog, **options), batch_size=batch_size
    )
    model = torch.nn.Sequential(
        torch.nn.Conv2d(4, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 1, 1),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses, chips = [], 0
    start = time.perf_counter()
    batches = zip(DataLoader(image_ds, batch_size=None), DataLoader(label_ds, batch_size=None))
    for step, (x, y) in enumerate(batches):
        assert x["bounds"] == y["bounds"], "the two datasets draw the same slices"
        image = (x["image"] - 1000.0) / 400.0
        target = y["image"][:, 0].float()
        logits = model(image)[:, 0]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        chips += len(x["bounds"])
        if step % 50 == 0:
            print(
                f"step {step:4d}  loss {loss.item():.4f}  {chips / (time.perf_counter() - start):.0f} chips/s"
            )
    seconds = time.perf_counter() - start
    tenth = max(1, len(losses) // 10)
    result = {
        "steps": len(losses),
        "first_loss": float(np.mean(losses[:tenth])),
        "last_loss": float(np.mean(losses[-tenth:])),
        "chips_per_second": chips / seconds,
    }
    print(
        f"{result['steps']} steps: loss {result['first_loss']:.4f} -> {result['last_loss']:.4f}, "
        f"{result['chips_per_second']:.0f} chips/s (data + training)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--chip", type=int, default=64)
    parser.add_argument("--dir", default="/tmp/geochips-train")
    args = parser.parse_args()
    train(args.steps, args.batch_size, args.chip, args.dir)


if __name__ == "__main__":
    main()
