"""A fast, device-aware training loop for the course's PyTorch models.

The loop follows the steps of lecture 001 (forward, loss, backward, update, repeated over
mini-batches and epochs) and is fast by design:

- the whole dataset is moved to the device once, as two tensors;
- an epoch is a random permutation of the indices, and a mini-batch is a slice of it
  (no per-sample Python, no ``DataLoader`` in the hot loop);
- the loss and the number of correct predictions are accumulated on the device and read once per
  epoch (no ``loss.item()`` synchronisation per batch);
- on CUDA, ``torch.autocast`` (bfloat16 when supported, else float16 with a gradient scaler);
- the ``channels_last`` memory format for convolutional models (CUDA and CPU);
- on Linux CPUs, glibc's allocator is told to keep freed memory for reuse (see
  :func:`_keep_freed_memory`), so that a training step does not page-fault its activations in again.

``get_device()`` picks CUDA, then Apple's MPS, then the CPU; the ``DLCOURSE_DEVICE`` environment
variable or the ``device`` argument override it.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ._checks import one_of, positive_float, positive_int

__all__ = ["get_device", "fit", "evaluate", "History"]

_OPTIMIZERS = ("sgd", "adam", "adagrad")


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on: ``device`` if given, else ``$DLCOURSE_DEVICE``, else
    CUDA if available, else MPS if available, else the CPU.

    >>> get_device("cpu")
    device(type='cpu')
    """
    if device is None:
        device = os.environ.get("DLCOURSE_DEVICE") or None
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"The 'device' parameter must be 'cpu', 'cuda', 'cuda:N' or 'mps'. "
                         f"Got {device!r} instead.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("The 'device' parameter asks for 'cuda', but no CUDA GPU is available here.")
    return device


@dataclass
class History:
    """Per-epoch record of a training run (lists indexed by epoch)."""

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    device: str = "cpu"

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def plot(self, title: str | None = None):
        """Plot loss and accuracy curves (train and validation); returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
        epochs = range(1, self.epochs + 1)
        ax_loss.plot(epochs, self.train_loss, "o-", label="apprentissage")
        ax_acc.plot(epochs, [100 * a for a in self.train_acc], "o-", label="apprentissage")
        if self.val_loss:
            ax_loss.plot(epochs, self.val_loss, "s--", label="validation")
            ax_acc.plot(epochs, [100 * a for a in self.val_acc], "s--", label="validation")
        ax_loss.set(xlabel="époque", ylabel="perte (entropie croisée)")
        ax_acc.set(xlabel="époque", ylabel="taux de bonnes réponses (%)")
        for ax in (ax_loss, ax_acc):
            ax.grid(alpha=0.3)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig


def _as_tensors(data, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise TypeError(f"The '{name}' parameter must be an ImageData or a tuple (x, y) of tensors. "
                        f"Got {type(data).__name__} instead.")
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(f"The '{name}' parameter must hold as many labels as inputs (at least one). "
                         f"Got {len(x)} inputs and {len(y)} labels.")
    if x.dtype == torch.uint8:
        x = x.float().div_(255.0)
    return x, y.long()


def _make_optimizer(optimizer, params, lr: float, momentum: float, weight_decay: float,
                    device: torch.device):
    if callable(optimizer):
        return optimizer(params)
    name = one_of(optimizer, "optimizer", "fit", _OPTIMIZERS)
    # One fused kernel for all parameters (CPU and CUDA): measured ~8 % faster per LeNet-5 step.
    fused = device.type in ("cpu", "cuda")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, fused=fused)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused)
    return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)


def _autocast(device: torch.device):
    """Mixed precision on CUDA only (on CPU, float32 is the fast and exact choice)."""
    if device.type != "cuda":
        return None, None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return dtype, scaler


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers, from glibc's malloc.h
_allocator_tuned = False


def _keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks below 64 MiB for reuse instead of returning them to
    the system. Returns True if the allocator is (now) tuned.

    PyTorch's CPU allocator is plain ``malloc``. With glibc's defaults, the megabyte-sized activations
    of a training step can be unmapped and faulted in again at every step (measured: 500 to 1 100
    page faults per LeNet-5 batch on synthetic data, 80 to 160 on Fashion-MNIST; ``tests/test_train.py``
    checks that no batch faults after the first epoch). How much time that costs depends on what the
    process allocated before: a Fashion-MNIST epoch on two cores went from 4.4 to 3.55 s (medians of
    four runs) when loaded from Debian's files, and from 3.54 to 3.47 s in ``bench/train_loop.py``.
    Resident memory grew by less than 1 MB in those runs. Process-wide and done once: other processes
    and other allocators are left alone. ``DLCOURSE_MALLOC_TUNING=0`` opts out.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    wanted = os.environ.get("DLCOURSE_MALLOC_TUNING", "1")
    if wanted not in ("0", "1"):
        raise ValueError(f"The 'DLCOURSE_MALLOC_TUNING' environment variable must be 0 or 1. "
                         f"Got {wanted!r} instead.")
    if wanted == "0":
        return False
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    _allocator_tuned = bool(mallopt(_M_MMAP_THRESHOLD, 64 << 20) and mallopt(_M_TRIM_THRESHOLD, 256 << 20))
    return _allocator_tuned


def _has_conv(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def fit(model: nn.Module, train, val=None, *, epochs: int, batch_size: int = 64,
        optimizer: str | Callable = "adam", lr: float = 1e-3, momentum: float = 0.0,
        weight_decay: float = 0.0, scheduler: Callable | None = None,
        device: str | torch.device | None = None, seed: int | None = None,
        progress: bool = True) -> History:
    """Train ``model`` with mini-batch gradient descent on the cross-entropy loss.

    Parameters
    ----------
    model : nn.Module
        Maps inputs to logits of shape (N, n_classes).
    train, val : ImageData or tuple (x, y)
        Training data and optional validation data (x of shape (N, ...), y of shape (N,)).
    epochs, batch_size : int
        Number of passes over ``train``; mini-batch size (the last batch may be smaller).
    optimizer : {"adam", "sgd", "adagrad"} or callable
        A name, or a function ``params -> torch.optim.Optimizer``.
    lr, momentum, weight_decay : float
        Optimiser settings (``momentum`` for SGD only).
    scheduler : callable, optional
        ``optimizer -> torch.optim.lr_scheduler.LRScheduler``, stepped once per epoch.
    device : str or torch.device, optional
        Default: :func:`get_device`.
    seed : int, optional
        Seeds the batch order and dropout: two CPU runs with the same seed and initial weights
        give the same history.
    progress : bool
        Show a tqdm bar per epoch (on stdout).

    Returns
    -------
    History
    """
    epochs = positive_int(epochs, "epochs", "fit")
    batch_size = positive_int(batch_size, "batch_size", "fit")
    lr = positive_float(lr, "lr", "fit")
    device = get_device(device)
    x_train, y_train = (t.to(device) for t in _as_tensors(train, "train"))
    if val is not None:
        val = tuple(t.to(device) for t in _as_tensors(val, "val"))
    if seed is not None:
        torch.manual_seed(seed)
    generator = torch.Generator(device="cpu")
    # Without a seed, the batch order is drawn from the global generator (reproducible after
    # torch.manual_seed); torch.seed() would silently reseed the user's global state.
    generator.manual_seed(seed if seed is not None else int(torch.randint(2**62, ()).item()))

    if device.type == "cpu":
        _keep_freed_memory()
    model.to(device)
    if device.type in ("cuda", "cpu") and _has_conv(model) and x_train.dim() == 4:
        # channels_last: faster convolutions with cuDNN and oneDNN (measured ~1.4x for LeNet-5 on CPU).
        model.to(memory_format=torch.channels_last)
        x_train = x_train.contiguous(memory_format=torch.channels_last)
    opt = _make_optimizer(optimizer, model.parameters(), lr, momentum, weight_decay, device)
    sched = scheduler(opt) if scheduler is not None else None
    amp_dtype, scaler = _autocast(device)
    history = History(device=str(device))
    n = len(y_train)

    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        batches = range(0, n, batch_size)
        if progress:
            from tqdm.auto import tqdm
            batches = tqdm(batches, desc=f"époque {epoch + 1}/{epochs}", file=sys.stdout, leave=True)
        for first in batches:
            idx = order[first:first + batch_size]
            xb, yb = x_train[idx], y_train[idx]
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(yb)
                correct += (logits.argmax(1) == yb).sum()
        if sched is not None:
            sched.step()
        history.train_loss.append(loss_sum.item() / n)
        history.train_acc.append(correct.item() / n)
        if val is not None:
            v_loss, v_acc = evaluate(model, val, device=device)
            history.val_loss.append(v_loss)
            history.val_acc.append(v_acc)
        history.epoch_time.append(time.perf_counter() - start)
    return history


def evaluate(model: nn.Module, data, batch_size: int = 1000,
             device: str | torch.device | None = None) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (fraction in [0, 1]) of ``model`` on ``data``."""
    batch_size = positive_int(batch_size, "batch_size", "evaluate")
    device = get_device(device) if device is not None else next(model.parameters()).device
    x, y = (t.to(device) for t in _as_tensors(data, "data"))
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for first in range(0, len(y), batch_size):
            logits = model(x[first:first + batch_size]).float()
            yb = y[first:first + batch_size]
            loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
    return loss_sum / len(y), correct / len(y)
