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
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ._checks import error, one_of, positive_float, positive_int, seed_or_none
from ._french import french_tick_formatter

__all__ = ["get_device", "fit", "evaluate", "History", "TrainingDiverged"]

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


class TrainingDiverged(FloatingPointError):
    """Raised by :func:`fit` when the training loss stops being a finite number.

    The weights have diverged (typically a learning rate too large for the problem) and every
    further epoch would only compute NaN. ``history`` holds the epochs completed before.
    """

    def __init__(self, message: str, history: "History"):
        super().__init__(message)
        self.history = history


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
        ax_acc.set(xlabel="époque", ylabel="exactitude (%)")
        from matplotlib.ticker import MaxNLocator

        for ax in (ax_loss, ax_acc):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
            ax.yaxis.set_major_formatter(french_tick_formatter())
            ax.grid(alpha=0.3)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig


def _as_tensors(data, name: str, func: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``data`` as (x, y): x floating (``dtype``; uint8 pixels divided by 255), y int64 class indices."""
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise TypeError(f"The '{name}' parameter of {func} must be an ImageData or a tuple (x, y) of "
                        f"tensors or arrays. Got {type(data).__name__} instead.")
    try:
        x, y = torch.as_tensor(x), torch.as_tensor(y)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"The '{name}' parameter of {func} must hold two tensors or arrays (x, y). "
                        f"Got something torch cannot convert ({err}).") from None
    if x.dim() < 2:
        raise ValueError(f"The inputs x of '{name}' ({func}) must have shape (N, ...), one row per example. "
                         f"Got shape {tuple(x.shape)} instead.")
    if y.dim() != 1:
        raise ValueError(f"The labels y of '{name}' ({func}) must have shape (N,): one class index per example, "
                         f"not one-hot rows. Got shape {tuple(y.shape)} instead.")
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(f"The '{name}' parameter of {func} must hold as many labels as inputs (at least one). "
                         f"Got {len(x)} inputs and {len(y)} labels.")
    if x.dtype == torch.uint8:  # pixels 0..255, as stored in ImageData(normalize=False)
        x = x.to(dtype).div_(255.0)
    elif x.is_floating_point():
        x = x.to(dtype)
    else:
        raise TypeError(f"The inputs x of '{name}' ({func}) must be floating-point numbers (or uint8 pixels). "
                        f"Got dtype {x.dtype} instead.")
    # The sum is NaN or infinite if any entry is; it needs no N-sized temporary (which would also
    # move glibc's dynamic mmap threshold, see _keep_freed_memory).
    if not torch.isfinite(x.sum()) and not torch.isfinite(x).all():
        raise ValueError(f"The inputs x of '{name}' ({func}) must contain only finite numbers. Got NaN or infinity.")
    if y.is_floating_point() and not torch.equal(y, y.round()):
        raise ValueError(f"The labels y of '{name}' ({func}) must be class indices 0, 1, 2, ... "
                         f"Got non-integer values such as {y[y != y.round()][0].item()!r}.")
    if not (y.is_floating_point() or y.dtype in (torch.bool, torch.uint8, torch.int8, torch.int16,
                                                   torch.int32, torch.int64)):
        raise TypeError(f"The labels y of '{name}' ({func}) must be integer class indices. "
                        f"Got dtype {y.dtype} instead.")
    y = y.long()
    if y.min() < 0:
        raise ValueError(f"The labels y of '{name}' ({func}) must be class indices 0, 1, 2, ... "
                         f"Got {y.min().item()}.")
    return x, y


def _check_model(model, func: str) -> nn.Module:
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise TypeError(f"The 'model' parameter of {func} must be a model instance, e.g. {model.__name__}(). "
                        f"Got the class {model.__name__} instead.")
    if not isinstance(model, nn.Module):
        raise TypeError(f"The 'model' parameter of {func} must be a torch.nn.Module. "
                        f"Got {type(model).__name__} instead.")
    if next(model.parameters(), None) is None:
        raise ValueError(f"The 'model' parameter of {func} must have parameters. Got {type(model).__name__}, "
                         f"which has none.")
    return model


def _input_dtype(model: nn.Module) -> torch.dtype:
    """The dtype inputs are converted to: the model's (floating) parameters', else torch's default."""
    dtype = next(model.parameters()).dtype
    return dtype if dtype.is_floating_point else torch.get_default_dtype()


def _check_outputs(model: nn.Module, x: torch.Tensor, y: torch.Tensor, name: str, func: str) -> None:
    """One example through the model (eval mode, no gradient): its scores must cover every label."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(x[:1])
    model.train(was_training)
    if out.dim() != 2:
        raise ValueError(f"The 'model' of {func} must return scores of shape (N, n_classes). "
                         f"Got shape {tuple(out.shape)} for one example.")
    top = int(y.max())
    if top >= out.shape[1]:
        raise ValueError(f"The labels y of '{name}' ({func}) must be class indices below the model's number "
                         f"of outputs, {out.shape[1]}. Got a label {top}.")


def _make_optimizer(optimizer, model: nn.Module, lr, momentum, weight_decay, device: torch.device):
    """A torch optimizer from a name (with lr, momentum, weight_decay), a function params -> Optimizer,
    or an Optimizer built on the model's parameters."""
    f = "fit"
    expected = ("'sgd', 'adam', 'adagrad', a function params -> Optimizer "
                "(e.g. lambda p: torch.optim.SGD(p, lr=0.1)) or an optimizer of the model's parameters")
    if isinstance(optimizer, str):
        name = one_of(optimizer, "optimizer", f, _OPTIMIZERS)
        lr = 1e-3 if lr is None else positive_float(lr, "lr", f)
        weight_decay = 0.0 if weight_decay is None else positive_float(weight_decay, "weight_decay", f,
                                                                       allow_zero=True)
        if momentum is not None and name != "sgd":
            error(f, "momentum", f"None with optimizer={name!r} (momentum is an SGD setting)", repr(momentum))
        momentum = 0.0 if momentum is None else positive_float(momentum, "momentum", f, allow_zero=True)
        if momentum >= 1:
            error(f, "momentum", "in [0, 1)", repr(momentum))
        # One fused kernel for all parameters (CPU and CUDA): measured ~8 % faster per LeNet-5 step.
        fused = device.type in ("cpu", "cuda")
        params = model.parameters()
        if name == "sgd":
            return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, fused=fused)
        if name == "adam":
            return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused)
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    settings = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
    given = [k for k, v in settings.items() if v is not None]
    if isinstance(optimizer, type):
        error(f, "optimizer", expected, f"the class {optimizer.__name__}", TypeError)
    if given and (callable(optimizer) or isinstance(optimizer, torch.optim.Optimizer)):
        error(f, given[0], "None when 'optimizer' is not a name (the optimizer you give sets it)",
              repr(settings[given[0]]))
    if isinstance(optimizer, torch.optim.Optimizer):
        opt = optimizer
    elif callable(optimizer):
        opt = optimizer(model.parameters())
        if not isinstance(opt, torch.optim.Optimizer):
            error(f, "optimizer", "a function that returns a torch.optim.Optimizer",
                  f"a function that returned {type(opt).__name__}", TypeError)
    else:
        error(f, "optimizer", expected, repr(optimizer), TypeError)
    own = {id(p) for p in model.parameters()}
    if not all(id(p) in own for group in opt.param_groups for p in group["params"]):
        error(f, "optimizer", "an optimizer of this model's parameters",
              "an optimizer of other tensors (built for another model?)")
    return opt


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
    checks that no batch faults after the first epoch, even under glibc's static 128 KiB threshold). How much time that costs depends on what the
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


@dataclass
class _Run:
    """What :func:`fit` trains with, once its arguments are checked and placed on the device."""

    device: torch.device
    x: torch.Tensor
    y: torch.Tensor
    val: tuple | None
    optimizer: torch.optim.Optimizer
    scheduler: object
    generator: torch.Generator
    amp_dtype: torch.dtype | None
    scaler: object


def _rows(x: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """``idx -> x[idx]`` by ``index_select``, which copies whole examples (measured 30 µs instead
    of 72 µs for ``x[idx]`` per batch of 64 Fashion-MNIST images on CPU); channels_last stays
    channels_last (``index_select`` alone would return an NCHW batch)."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        nhwc = x.permute(0, 2, 3, 1)  # a contiguous view: one example per row block
        return lambda idx: nhwc.index_select(0, idx).permute(0, 3, 1, 2)
    return lambda idx: x.index_select(0, idx)


def _prepare(model, train, val, optimizer, lr, momentum, weight_decay, scheduler, device, seed) -> _Run:
    """Check fit's arguments; move model and data to the device once; build the optimizer."""
    model = _check_model(model, "fit")
    seed = seed_or_none(seed, "seed", "fit")
    if scheduler is not None and (not callable(scheduler) or isinstance(scheduler, type)):
        error("fit", "scheduler", "a function optimizer -> LRScheduler, e.g. "
              "lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=5)", repr(scheduler), TypeError)
    device = get_device(device)
    dtype = _input_dtype(model)
    x, y = (t.to(device) for t in _as_tensors(train, "train", "fit", dtype))
    if val is not None:
        val = tuple(t.to(device) for t in _as_tensors(val, "val", "fit", dtype))
    if seed is not None:
        torch.manual_seed(seed)
    generator = torch.Generator(device="cpu")
    # Without a seed, the batch order is drawn from the global generator (reproducible after
    # torch.manual_seed); torch.seed() would silently reseed the user's global state.
    generator.manual_seed(seed if seed is not None else int(torch.randint(2**62, ()).item()))
    if device.type == "cpu":
        _keep_freed_memory()
    model.to(device)
    if device.type in ("cuda", "cpu") and _has_conv(model) and x.dim() == 4:
        # channels_last: faster convolutions with cuDNN and oneDNN (measured ~1.4x for LeNet-5 on CPU).
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    _check_outputs(model, x, y, "train", "fit")
    if val is not None:
        _check_outputs(model, *val, "val", "fit")
    opt = _make_optimizer(optimizer, model, lr, momentum, weight_decay, device)
    amp_dtype, scaler = _autocast(device)
    return _Run(device, x, y, val, opt, scheduler(opt) if scheduler is not None else None,
                generator, amp_dtype, scaler)


def fit(model: nn.Module, train, val=None, *, epochs: int, batch_size: int = 64,
        optimizer: str | Callable | torch.optim.Optimizer = "adam", lr: float | None = None,
        momentum: float | None = None, weight_decay: float | None = None,
        scheduler: Callable | None = None, device: str | torch.device | None = None,
        seed: int | None = None, progress: bool = True) -> History:
    """Train ``model`` with mini-batch gradient descent on the cross-entropy loss.

    Parameters
    ----------
    model : nn.Module
        Maps inputs to logits of shape (N, n_classes).
    train, val : ImageData or tuple (x, y)
        Training data and optional validation data: x of shape (N, ...), floating point (converted
        to the model's dtype) or uint8 pixels (divided by 255); y of shape (N,), class indices.
    epochs, batch_size : int
        Number of passes over ``train``; mini-batch size (the last batch may be smaller).
    optimizer : {"adam", "sgd", "adagrad"}, callable or torch.optim.Optimizer
        A name, a function ``params -> torch.optim.Optimizer``, or an optimizer already built on
        ``model.parameters()``.
    lr, momentum, weight_decay : float, optional
        Settings of a named optimizer (defaults 1e-3, 0, 0; ``momentum`` for SGD only). Leave
        them unset when ``optimizer`` is a function or an optimizer: it carries its own.
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

    Raises
    ------
    TrainingDiverged
        At the end of an epoch whose mean training loss is NaN or infinite (the completed
        epochs are in the exception's ``history``).
    """
    epochs = positive_int(epochs, "epochs", "fit")
    batch_size = positive_int(batch_size, "batch_size", "fit")
    run = _prepare(model, train, val, optimizer, lr, momentum, weight_decay, scheduler, device, seed)
    device, x_train, y_train, opt = run.device, run.x, run.y, run.optimizer
    history = History(device=str(device))
    n = len(y_train)
    x_rows = _rows(x_train)
    # One loss and n predictions per epoch, written in place and summed once at the epoch's end:
    # two small ops per step instead of six for running totals.
    starts = range(0, n, batch_size)
    batch_losses = torch.empty(len(starts), device=device)
    batch_sizes = torch.tensor([min(batch_size, n - first) for first in starts], device=device)
    predictions = torch.empty(n, dtype=torch.long, device=device)

    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=run.generator).to(device)
        batches = enumerate(starts)
        if progress:
            from tqdm.auto import tqdm
            batches = tqdm(batches, total=len(starts), desc=f"époque {epoch + 1}/{epochs}",
                           file=sys.stdout, leave=True)
        for b, first in batches:
            idx = order[first:first + batch_size]
            xb, yb = x_rows(idx), y_train.index_select(0, idx)
            with torch.autocast(device.type, dtype=run.amp_dtype, enabled=run.amp_dtype is not None):
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            if run.scaler is not None:  # float16 on CUDA: scale the loss so small gradients survive
                run.scaler.scale(loss).backward()
                run.scaler.step(opt)
                run.scaler.update()
            else:
                loss.backward()
                opt.step()
            with torch.no_grad():
                batch_losses[b] = loss.detach()
                torch.argmax(logits, 1, out=predictions[first:first + len(yb)])
        if run.scheduler is not None:
            run.scheduler.step()
        train_loss = (batch_losses * batch_sizes).sum().item() / n
        correct = (predictions == y_train.index_select(0, order)).sum()
        if not math.isfinite(train_loss):
            lr_now = opt.param_groups[0]["lr"]
            raise TrainingDiverged(
                f"fit: the training loss became {train_loss} during epoch {epoch + 1} of {epochs}: "
                f"the weights diverged. Try a smaller learning rate (lr was {lr_now:g}) or inputs "
                f"of a smaller scale. The error's .history holds the {epoch} epoch(s) completed "
                f"before.", history)
        history.train_loss.append(train_loss)
        history.train_acc.append(correct.item() / n)
        if run.val is not None:
            v_loss, v_acc = _evaluate(model, *run.val, batch_size=1000)
            history.val_loss.append(v_loss)
            history.val_acc.append(v_acc)
        history.epoch_time.append(time.perf_counter() - start)
    return history


def evaluate(model: nn.Module, data, batch_size: int = 1000,
             device: str | torch.device | None = None) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (fraction in [0, 1]) of ``model`` on ``data``
    (an ImageData or a tuple (x, y), as in :func:`fit`), computed in eval mode (dropout off,
    batch-norm's running statistics) without gradients; the model is left in the mode it was in."""
    model = _check_model(model, "evaluate")
    batch_size = positive_int(batch_size, "batch_size", "evaluate")
    device = get_device(device) if device is not None else next(model.parameters()).device
    x, y = (t.to(device) for t in _as_tensors(data, "data", "evaluate", _input_dtype(model)))
    _check_outputs(model, x, y, "data", "evaluate")
    return _evaluate(model, x, y, batch_size)


def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """:func:`evaluate` on checked tensors already on the model's device (fit's validation).
    The model goes back to the mode it was in: a student's loop that evaluates between two
    epochs must not go on training with dropout and batch-norm frozen in eval mode."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    try:
        with torch.no_grad():
            for first in range(0, len(y), batch_size):
                logits = model(x[first:first + batch_size]).float()
                yb = y[first:first + batch_size]
                loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
                correct += (logits.argmax(1) == yb).sum().item()
    finally:
        model.train(was_training)
    return loss_sum / len(y), correct / len(y)
