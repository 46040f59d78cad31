"""Benchmark: one epoch of ``dlcourse.train.fit`` vs a pytorch/examples-style training loop.

Same data, same model (LeNet-5, same initial weights), batch size 64, Adam (lr 1e-3), same seed.
The peer is the loop of pytorch/examples' MNIST script: a torchvision dataset with
``ToTensor()`` + ``Normalize()`` transforms, ``DataLoader(batch_size=64, shuffle=True)``, and per batch
``zero_grad / forward / loss / backward / step`` with a ``loss.item()`` log every 10 batches.

Data: Fashion-MNIST (full size) when available (torchvision files or Debian's dataset-fashion-mnist),
else the bundled MNIST subset. Both loops read the same IDX files through torchvision.

Each loop runs in its own fresh Python process, as a student would run it: neither inherits the
other's warmed-up allocator or thread pools. With ``--repeats N``, the two loops alternate N times
with seeds 0..N-1 (same initial weights): the best epoch time of each loop is kept, and the test
accuracies are averaged over the seeds, since one epoch's accuracy depends on the batch order by
about a point.

Usage::

    python bench/train_loop.py [--epochs 1] [--repeats 1] [--breakdown]

The last line reads ``speed-up vs pytorch/examples loop: <x>`` (peer epoch time / ours).
``--breakdown`` adds the peer's data pipeline alone and the bare model step alone, and the bound
that the latter puts on any loop's speed-up over the peer on this machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
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


def ours(model, root: Path, dataset_cls, epochs: int, seed: int = SEED):
    loader = data.load_fashion_mnist if dataset_cls is datasets.FashionMNIST else data.load_mnist
    start = time.perf_counter()
    train_set, test_set = loader(train=True, root=root), loader(train=False, root=root)
    load_time = time.perf_counter() - start
    history = train.fit(model, train_set, epochs=epochs, batch_size=BATCH_SIZE, optimizer="adam", lr=LR,
                        seed=seed, progress=False)
    return history.epoch_time, train.evaluate(model, test_set)[1], load_time


def peer_data_only(root: Path, dataset_cls, mean, std) -> float:
    """One epoch of the peer's DataLoader alone (no model): what its data pipeline costs."""
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
    loader = DataLoader(dataset_cls(str(root), train=True, download=False, transform=transform),
                        batch_size=BATCH_SIZE, shuffle=True)
    start = time.perf_counter()
    for x, target in loader:
        pass
    return time.perf_counter() - start


def model_step_only(model, root: Path, dataset_cls) -> float:
    """One epoch's worth of bare LeNet-5 steps (forward, loss, backward, fused Adam; channels_last and
    allocator settings as in fit) on batches gathered beforehand: no data handling, no bookkeeping.
    A training loop that runs this float32 computation cannot beat it on this machine."""
    train._keep_freed_memory()
    loader = data.load_fashion_mnist if dataset_cls is datasets.FashionMNIST else data.load_mnist
    train_set = loader(train=True, root=root)
    n_batches = -(-len(train_set) // BATCH_SIZE)
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    order = torch.randperm(len(train_set))
    batches = [(train_set.x[order[i:i + BATCH_SIZE]].contiguous(memory_format=torch.channels_last),
                train_set.y[order[i:i + BATCH_SIZE]]) for i in range(0, 50 * BATCH_SIZE, BATCH_SIZE)]

    def step(x, target):
        loss = F.cross_entropy(model(x), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for x, target in batches[:10]:  # warm-up: oneDNN primitives, allocator
        step(x, target)
    start = time.perf_counter()
    for i in range(n_batches):
        step(*batches[i % len(batches)])
    return time.perf_counter() - start


def _worker(args) -> None:
    """Run one loop in this (fresh) process and print its result as one JSON line."""
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ["DLCOURSE_OFFLINE"] = "1"
    root = Path(args.root)
    dataset_cls = datasets.FashionMNIST if (root / "FashionMNIST").exists() else datasets.MNIST
    mean, std = ((data.FASHION_MEAN, data.FASHION_STD) if dataset_cls is datasets.FashionMNIST
                 else (data.MNIST_MEAN, data.MNIST_STD))
    model = models.LeNet5()
    model.load_state_dict(torch.load(root / "initial.pt"))
    torch.manual_seed(args.seed)
    if args.worker == "peer-data":
        return print(json.dumps({"epoch_time": peer_data_only(root, dataset_cls, mean, std)}))
    if args.worker == "step":
        return print(json.dumps({"epoch_time": model_step_only(model, root, dataset_cls)}))
    if args.worker == "peer":
        times, acc = examples_loop(model, root, dataset_cls, mean, std, args.epochs)
        load_time = None
    else:
        times, acc, load_time = ours(model, root, dataset_cls, args.epochs, args.seed)
    print(json.dumps({"epoch_time": float(np.mean(times)), "accuracy": acc, "load_time": load_time}))


def _run_worker(which: str, root: Path, args, seed: int) -> dict:
    command = [sys.executable, __file__, "--worker", which, "--root", str(root), "--epochs", str(args.epochs),
               "--seed", str(seed)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"the {which} loop failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="alternate runs, keep the best epoch time")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads for both loops (default: torch's choice); 1 is "
                             "robust on a machine where other processes compete for the cores")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N training images (a quick smoke run, not a measurement)")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the peer's data pipeline alone and the bare model step alone "
                             "(the best any loop can do with this float32 model on this machine)")
    parser.add_argument("--worker", choices=("peer", "ours", "peer-data", "step"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=SEED, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)
    os.environ["DLCOURSE_OFFLINE"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _, name, _, _ = prepare_root(root, args.limit)
        torch.manual_seed(SEED)
        torch.save(models.LeNet5().state_dict(), root / "initial.pt")
        threads = args.threads or torch.get_num_threads()
        print(f"data: {name}; model: LeNet-5; batch {BATCH_SIZE}; Adam lr {LR}; device {train.get_device()}; "
              f"torch threads {threads}; each loop in a fresh process")
        peer_runs, our_runs = [], []
        for repeat in range(args.repeats):
            # Same initial weights throughout; the seed (batch order) changes between repeats, so
            # that the accuracy comparison averages over batch orders instead of reading one draw.
            peer_runs.append(_run_worker("peer", root, args, SEED + repeat))
            our_runs.append(_run_worker("ours", root, args, SEED + repeat))
        peer_time = min(r["epoch_time"] for r in peer_runs)
        our_time = min(r["epoch_time"] for r in our_runs)
        peer_acc = float(np.mean([r["accuracy"] for r in peer_runs]))
        our_acc = float(np.mean([r["accuracy"] for r in our_runs]))
        if args.repeats > 1:
            for label, runs in (("pytorch/examples loop", peer_runs), ("dlcourse.train.fit", our_runs)):
                print(f"{label} runs (seeds {SEED}..{SEED + args.repeats - 1}): "
                      + ", ".join(f"{r['epoch_time']:.2f} s / {100 * r['accuracy']:.2f} %" for r in runs))
        kept = "best epoch time, mean accuracy" if args.repeats > 1 else "one run"
        print(f"pytorch/examples loop: {peer_time:.2f} s/epoch, test accuracy {100 * peer_acc:.2f} % ({kept})")
        print(f"dlcourse.train.fit:    {our_time:.2f} s/epoch, test accuracy {100 * our_acc:.2f} % ({kept}; "
              f"one-off tensor loading: {our_runs[0]['load_time']:.2f} s)")
        print(f"accuracy difference: {100 * (our_acc - peer_acc):+.2f} points")
        if args.breakdown:
            data_time = min(_run_worker("peer-data", root, args, SEED)["epoch_time"] for _ in range(args.repeats))
            step_time = min(_run_worker("step", root, args, SEED)["epoch_time"] for _ in range(args.repeats))
            print(f"breakdown: the peer's DataLoader alone {data_time:.2f} s/epoch; the bare LeNet-5 step "
                  f"alone {step_time:.2f} s/epoch, so fit's own overhead is {our_time - step_time:+.2f} s/epoch")
            print(f"bound: no loop running this float32 step here beats the peer by more than "
                  f"{peer_time / step_time:.2f}x")
        print(f"speed-up vs pytorch/examples loop: {peer_time / our_time:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
