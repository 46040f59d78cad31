"""Benchmark: one epoch of ``dlcourse.train.fit`` vs a pytorch/examples-style training loop.

Same data, same model (LeNet-5, same initial weights), batch size 64, Adam (lr 1e-3), same seed.
The peer is the loop of pytorch/examples' MNIST script: a torchvision dataset with
``ToTensor()`` + ``Normalize()`` transforms, ``DataLoader(batch_size=64, shuffle=True)``, and per batch
``zero_grad / forward / loss / backward / step`` with a ``loss.item()`` log every 10 batches.

Data: Fashion-MNIST (full size) when available (torchvision files or Debian's dataset-fashion-mnist),
else the bundled MNIST subset. Both loops read the same IDX files through torchvision.

Usage::

    python bench/train_loop.py [--epochs 1] [--repeats 1]

The last line reads ``speed-up vs pytorch/examples loop: <x>`` (peer epoch time / ours).
"""

from __future__ import annotations

import argparse
import copy
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from dlcourse import data, models, train

BATCH_SIZE, LR, SEED = 64, 1e-3, 0


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def prepare_root(tmp: Path, limit: int | None = None) -> tuple[type, str, float, float]:
    """Lay out torchvision-style raw files in ``tmp`` (the first ``limit`` training images if given);
    return (dataset class, name, mean, std)."""
    if data.DEBIAN_FASHION_DIR.exists():
        cls, folder, name = datasets.FashionMNIST, "FashionMNIST", "Fashion-MNIST (full, 60 000 / 10 000)"
        mean, std = data.FASHION_MEAN, data.FASHION_STD
        splits = {train: data.load_fashion_mnist(train=train, root=tmp / "none", normalize=False)
                  for train in (True, False)}
    else:
        cls, folder, name = datasets.MNIST, "MNIST", "bundled MNIST subset (8 000 / 2 000)"
        mean, std = data.MNIST_MEAN, data.MNIST_STD
        splits = {train: data.load_mnist(train=train, root=tmp / "none", normalize=False)
                  for train in (True, False)}
    raw = tmp / folder / "raw"
    raw.mkdir(parents=True)
    for train, prefix in ((True, "train"), (False, "t10k")):
        n = limit if (train and limit) else len(splits[train])
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", splits[train].x[:n].numpy().reshape(-1, 28, 28))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", splits[train].y[:n].numpy().astype(np.uint8))
    if limit:
        name += f", training limited to {limit} images (smoke run)"
    return cls, name, mean, std


def examples_loop(model, root: Path, dataset_cls, mean, std, epochs: int):
    """The pytorch/examples MNIST loop (train + test functions), on the CPU/GPU chosen by get_device."""
    device = train.get_device()
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
    train_ds = dataset_cls(str(root), train=True, download=False, transform=transform)
    test_ds = dataset_cls(str(root), train=False, download=False, transform=transform)
    train_loader = DataLoader(train_ds, batch_size=BATCH_SIZE, shuffle=True)
    test_loader = DataLoader(test_ds, batch_size=1000)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    log = io.StringIO()
    times = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        for batch_idx, (x, target) in enumerate(train_loader):
            x, target = x.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(x)
            loss = F.cross_entropy(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % 10 == 0:
                print(f"Train Epoch: {epoch} [{batch_idx * len(x)}/{len(train_loader.dataset)}]"
                      f"\tLoss: {loss.item():.6f}", file=log)
        times.append(time.perf_counter() - start)
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, target in test_loader:
            x, target = x.to(device), target.to(device)
            correct += model(x).argmax(dim=1).eq(target).sum().item()
    return times, correct / len(test_loader.dataset)


def ours(model, root: Path, dataset_cls, epochs: int):
    loader = data.load_fashion_mnist if dataset_cls is datasets.FashionMNIST else data.load_mnist
    start = time.perf_counter()
    train_set, test_set = loader(train=True, root=root), loader(train=False, root=root)
    load_time = time.perf_counter() - start
    history = train.fit(model, train_set, epochs=epochs, batch_size=BATCH_SIZE, optimizer="adam", lr=LR,
                        seed=SEED, progress=False)
    return history.epoch_time, train.evaluate(model, test_set)[1], load_time


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="alternate runs, keep the best epoch time")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads for both loops (default: torch's choice); 1 is "
                             "robust on a machine where other processes compete for the cores")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N training images (a quick smoke run, not a measurement)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ["DLCOURSE_OFFLINE"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dataset_cls, name, mean, std = prepare_root(root, args.limit)
        torch.manual_seed(SEED)
        initial = models.LeNet5()
        print(f"data: {name}; model: LeNet-5; batch {BATCH_SIZE}; Adam lr {LR}; device {train.get_device()}; "
              f"torch threads {torch.get_num_threads()}")
        best_peer, best_ours, acc_peer, acc_ours = np.inf, np.inf, None, None
        for _ in range(args.repeats):
            torch.manual_seed(SEED)
            t_peer, acc_peer = examples_loop(copy.deepcopy(initial), root, dataset_cls, mean, std, args.epochs)
            torch.manual_seed(SEED)
            t_ours, acc_ours, load_time = ours(copy.deepcopy(initial), root, dataset_cls, args.epochs)
            best_peer, best_ours = min(best_peer, np.mean(t_peer)), min(best_ours, np.mean(t_ours))
        print(f"pytorch/examples loop: {best_peer:.2f} s/epoch, test accuracy {100 * acc_peer:.2f} %")
        print(f"dlcourse.train.fit:    {best_ours:.2f} s/epoch, test accuracy {100 * acc_ours:.2f} % "
              f"(one-off tensor loading: {load_time:.2f} s)")
        print(f"accuracy difference: {100 * (acc_ours - acc_peer):+.2f} points")
        print(f"speed-up vs pytorch/examples loop: {best_peer / best_ours:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
