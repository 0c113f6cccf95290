"""examples/train_torch.py trains: the loss after a short run is well below the loss at its start."""

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_torch.py"


def test_example_trains(tmp_path):
    spec = importlib.util.spec_from_file_location("train_torch", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.train(steps=60, batch_size=8, chip=32, directory=str(tmp_path))
    assert result["steps"] == 60
    assert result["last_loss"] < 0.5 * result["first_loss"], result
