"""Data used across the course: MNIST, Fashion-MNIST and small 2-D toy problems.

Image loaders use the real torchvision datasets (they download on a student's machine). When the
files are absent and cannot be downloaded (offline machine, exam room, CI), they fall back to data
that ships without a network:

- MNIST: a bundled subset of 10 000 real digits (``_data/mnist_subset.npz``, 8 000 train / 2 000 test);
- Fashion-MNIST: Debian's package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``)
  when installed.

Images come back as whole tensors (``N×1×28×28``), ready for fast training: no per-sample PIL pipeline.
Each loader logs one line (on stdout) saying which data is in use, and the returned
:class:`ImageData` says it too (``.source``).

Set ``DLCOURSE_OFFLINE=1`` to skip download attempts, ``DLCOURSE_DATA`` to choose the data folder.
"""

from __future__ import annotations

import gzip
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ._checks import boolean, error, one_of, positive_float, positive_int, seed_or_none
from ._french import french_number

__all__ = [
    "ImageData", "load_mnist", "load_fashion_mnist", "logic_gate",
    "make_blobs", "make_moons", "make_circles", "make_spirals",
    "MNIST_MEAN", "MNIST_STD", "FASHION_MEAN", "FASHION_STD", "FASHION_CLASSES", "DEBIAN_FASHION_DIR",
]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
FASHION_CLASSES = ["T-shirt/top", "Pantalon", "Pull", "Robe", "Manteau",
                   "Sandale", "Chemise", "Basket", "Sac", "Bottine"]
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
_BUNDLED = Path(__file__).resolve().parent / "_data" / "mnist_subset.npz"


class _StdoutHandler(logging.StreamHandler):
    """Writes to the *current* sys.stdout (Jupyter swaps it), never to stderr:
    nbgrader zeroes a test cell that writes to stderr, and the book build treats it as a warning."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


logger = logging.getLogger("dlcourse.data")
if not logger.handlers:
    logger.addHandler(_StdoutHandler())
    logger.setLevel(logging.INFO)
    logger.propagate = False


@dataclass
class ImageData:
    """A whole image dataset held as tensors.

    Attributes
    ----------
    x : torch.Tensor of shape (N, 1, 28, 28)
        float32 images normalised by ``(x/255 - mean) / std``, or uint8 pixels if not normalised.
    y : torch.Tensor of shape (N,)
        int64 labels in ``0..9``.
    source : str
        French sentence naming the data in use (shown to students).
    classes : list of str
        Class names, index = label.
    is_subset : bool
        True for the bundled 10 000-digit MNIST subset.
    """

    x: torch.Tensor
    y: torch.Tensor
    source: str
    classes: list = field(default_factory=lambda: [str(i) for i in range(10)])
    is_subset: bool = False
    mean: float = MNIST_MEAN
    std: float = MNIST_STD

    def __post_init__(self):
        if not (isinstance(self.x, torch.Tensor) and isinstance(self.y, torch.Tensor)):
            raise TypeError(f"The 'x' and 'y' parameters of ImageData must be torch tensors. "
                            f"Got {type(self.x).__name__} and {type(self.y).__name__} instead.")
        if len(self.x) != len(self.y):
            error("ImageData", "y", f"one label per image ({len(self.x)})", f"{len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index):
        return self.x[index], self.y[index]

    def subset(self, n: int, seed: int = 0) -> "ImageData":
        """The first ``n`` images of a seeded permutation (same class mix on average)."""
        n = positive_int(n, "n", "ImageData.subset")
        if n > len(self):
            error("ImageData.subset", "n", f"at most the number of images, {len(self)}", repr(n))
        seed = seed_or_none(seed, "seed", "ImageData.subset")
        if seed is None:
            error("ImageData.subset", "seed", "a non-negative integer", "None", TypeError)
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        return ImageData(self.x[idx], self.y[idx], self.source, self.classes, self.is_subset,
                         self.mean, self.std)

    def __repr__(self) -> str:
        return (f"ImageData(x={tuple(self.x.shape)} {self.x.dtype}, y={tuple(self.y.shape)}, "
                f"source={self.source!r})")


def _data_root(root) -> Path:
    if root is None:
        root = os.environ.get("DLCOURSE_DATA", Path.home() / ".cache" / "dlcourse")
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"The 'root' parameter must be a folder path (str or Path). Got {root!r} instead.")
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise ValueError(f"The 'root' parameter must be a folder. Got {str(root)!r}, which is a file.")
    return root


def _check_train(train) -> bool:
    if not isinstance(train, (bool, np.bool_)):
        raise ValueError(f"The 'train' parameter must be True (training split) or False (test split). "
                         f"Got {train!r} instead.")
    return bool(train)


def _offline() -> bool:
    return os.environ.get("DLCOURSE_OFFLINE", "").lower() not in ("", "0", "false", "no")


def _finish(pixels, labels, source: str, classes, is_subset: bool, normalize: bool,
            mean: float, std: float) -> ImageData:
    # A copy: torchvision and np.frombuffer may hand over read-only buffers, which torch warns about.
    x = torch.from_numpy(np.array(pixels, dtype=np.uint8)).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(np.array(labels, dtype=np.int64))
    if len(x) != len(y):
        raise ValueError(f"Corrupt dataset: {len(x)} images but {len(y)} labels.")
    if len(y) and (int(y.min()) < 0 or int(y.max()) > 9):
        raise ValueError("Corrupt dataset: labels must lie in 0..9.")
    if normalize:
        x = (x.float().div_(255.0) - mean) / std
    logger.info("[dlcourse] Données : %s", source)
    return ImageData(x, y, source, list(classes), is_subset, mean, std)


def _torchvision(dataset_cls, root: Path, train: bool, download: bool):
    """Return (uint8 images, labels) from torchvision, or None when absent and not downloadable.

    Files that are present but unreadable raise ValueError: they are never silently replaced.
    """
    where = root / dataset_cls.__name__ / "raw"
    try:
        ds = dataset_cls(str(root), train=train, download=False)
    except RuntimeError as err:
        if "not found" not in str(err).lower():
            raise ValueError(f"Corrupt {dataset_cls.__name__} files in {where} ({err}); "
                             f"delete that folder to download them again.") from None
        if not download or _offline():
            return None
        try:
            ds = dataset_cls(str(root), train=train, download=True)
        except Exception:  # no network (URLError, RuntimeError "Error downloading"...): fall back
            return None
    except Exception as err:  # unreadable IDX files raise assorted errors inside torchvision
        raise ValueError(f"Corrupt {dataset_cls.__name__} files in {where} ({type(err).__name__}: {err}); "
                         f"delete that folder to download them again.") from None
    return ds.data.numpy(), ds.targets.numpy()


def load_mnist(train: bool = True, root=None, download: bool = True, normalize: bool = True) -> ImageData:
    """Load MNIST (full, via torchvision) or, offline, the bundled 10 000-digit subset.

    Parameters
    ----------
    train : bool
        True for the training split (60 000 images, or 8 000 in the subset), False for the test split
        (10 000, or 2 000).
    root : str or Path, optional
        Folder where torchvision keeps/downloads MNIST. Default: ``$DLCOURSE_DATA`` or
        ``~/.cache/dlcourse``.
    download : bool
        Try to download when the files are absent (ignored when ``DLCOURSE_OFFLINE=1``).
    normalize : bool
        Return float32 images normalised with MNIST's mean and std (default) or raw uint8 pixels.

    Returns
    -------
    ImageData
        ``x`` of shape (N, 1, 28, 28), ``y`` of shape (N,), and ``source`` saying which data it is.

    Examples
    --------
    >>> import os; os.environ["DLCOURSE_OFFLINE"] = "1"
    >>> test = load_mnist(train=False, root="/nonexistent-dlcourse")  # doctest: +ELLIPSIS
    [dlcourse] Données : ...
    >>> tuple(test.x.shape[1:])
    (1, 28, 28)
    """
    from torchvision.datasets import MNIST

    train = _check_train(train)
    download = boolean(download, "download", "load_mnist")
    normalize = boolean(normalize, "normalize", "load_mnist")
    split = "apprentissage" if train else "test"
    found = _torchvision(MNIST, _data_root(root), train, download)
    if found is not None:
        source = f"MNIST complet (torchvision), {split} : {french_number(len(found[1]))} images"
        return _finish(*found, source, [str(i) for i in range(10)], False, normalize, MNIST_MEAN, MNIST_STD)
    pixels, labels = _load_bundled(train)
    # One short line (it is printed in the book): "the full MNIST could not be downloaded" is
    # what "hors ligne" says; the docstring and ImageData.is_subset carry the details.
    source = f"sous-ensemble MNIST embarqué (hors ligne), {split} : {french_number(len(labels))} images"
    return _finish(pixels, labels, source, [str(i) for i in range(10)], True, normalize, MNIST_MEAN, MNIST_STD)


def _load_bundled(train: bool):
    try:
        with np.load(_BUNDLED) as archive:
            key = "train" if train else "test"
            return archive[f"x_{key}"], archive[f"y_{key}"]
    except (OSError, KeyError, ValueError) as err:
        raise RuntimeError(f"The bundled MNIST subset {_BUNDLED} is missing or corrupt ({err}); "
                           f"reinstall the dlcourse package.") from None


def _read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"Corrupt IDX file {path}: {err}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != expected_ndim:
        raise ValueError(f"Corrupt IDX file {path}: expected a uint8 IDX header with {expected_ndim} "
                         f"dimension(s).")
    header = 4 + 4 * expected_ndim
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(expected_ndim)]
    if len(raw) < header or len(raw) - header != int(np.prod(dims)):
        raise ValueError(f"Corrupt IDX file {path}: header announces shape {dims}, "
                         f"found {max(0, len(raw) - header)} bytes of data.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_fashion_mnist(train: bool = True, root=None, download: bool = True, normalize: bool = True,
                       debian_dir=DEBIAN_FASHION_DIR) -> ImageData:
    """Load Fashion-MNIST via torchvision, else from Debian's ``dataset-fashion-mnist`` files.

    Parameters are those of :func:`load_mnist`; ``debian_dir`` is where Debian installs the files.

    Raises
    ------
    FileNotFoundError
        When neither torchvision's files (nor a download) nor Debian's files are available.
    """
    from torchvision.datasets import FashionMNIST

    train = _check_train(train)
    download = boolean(download, "download", "load_fashion_mnist")
    normalize = boolean(normalize, "normalize", "load_fashion_mnist")
    if not isinstance(debian_dir, (str, os.PathLike)):
        error("load_fashion_mnist", "debian_dir", "a folder path", repr(debian_dir), TypeError)
    split = "apprentissage" if train else "test"
    found = _torchvision(FashionMNIST, _data_root(root), train, download)
    if found is not None:
        source = f"Fashion-MNIST complet (torchvision), {split} : {french_number(len(found[1]))} images"
        return _finish(*found, source, FASHION_CLASSES, False, normalize, FASHION_MEAN, FASHION_STD)
    prefix = "train" if train else "t10k"
    images = Path(debian_dir) / f"{prefix}-images-idx3-ubyte.gz"
    labels = Path(debian_dir) / f"{prefix}-labels-idx1-ubyte.gz"
    if not (images.exists() and labels.exists()):
        raise FileNotFoundError(
            "Fashion-MNIST is not available: no torchvision files under the data root, no network to "
            f"download them, and no Debian files in {debian_dir} (apt-get install dataset-fashion-mnist).")
    source = f"Fashion-MNIST complet (paquet Debian), {split}"
    pixels, targets = _read_idx(images, 3), _read_idx(labels, 1)
    return _finish(pixels, targets, f"{source} : {french_number(len(targets))} images", FASHION_CLASSES, False,
                   normalize, FASHION_MEAN, FASHION_STD)


# --------------------------------------------------------------------------- toy problems

_GATES = {
    # Truth tables in the lecture's order: (0,0), (0,1), (1,0), (1,1).
    "OR": [0, 1, 1, 1],
    "AND": [0, 0, 0, 1],
    "XOR": [0, 1, 1, 0],
    "NAND": [1, 1, 1, 0],
}


def logic_gate(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Truth table of a logic gate, in the lecture's order (0,0), (0,1), (1,0), (1,1).

    Returns
    -------
    X : ndarray of shape (4, 2)
    t : ndarray of shape (4,)
        Targets in {0, 1}.

    >>> X, t = logic_gate("OR"); t.tolist()
    [0.0, 1.0, 1.0, 1.0]
    """
    key = one_of(str(name).upper() if isinstance(name, str) else name, "name", "logic_gate", tuple(_GATES))
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return X, np.array(_GATES[key], dtype=np.float64)


def _toy_args(func: str, n, noise, seed):
    n = positive_int(n, "n", func)
    if n < 2:
        raise ValueError(f"The 'n' parameter of {func} must be >= 2. Got {n} instead.")
    noise = positive_float(noise, "noise", func, allow_zero=True)
    return n, noise, np.random.default_rng(seed_or_none(seed, "seed", func))


def make_blobs(n: int = 100, noise: float = 0.5, seed: int | None = 0, separable: bool = True):
    """Two Gaussian blobs in 2-D, centred at (−1.5, −1.5) and (1.5, 1.5).

    With ``separable=True`` the points that fall on the wrong side of the line x1 + x2 = 0 are
    dropped and redrawn, so the classes are linearly separable (the perceptron converges).

    Returns ``X`` of shape (n, 2) and ``t`` of shape (n,) with values in {0, 1}.
    """
    n, noise, rng = _toy_args("make_blobs", n, noise, seed)
    separable = boolean(separable, "separable", "make_blobs")
    t = np.arange(n) % 2
    centres = np.where(t[:, None] == 1, 1.5, -1.5)
    X = centres + noise * rng.standard_normal((n, 2))
    if separable:
        wrong = (X.sum(axis=1) > 0) != (t == 1)
        while wrong.any():
            X[wrong] = centres[wrong] + noise * rng.standard_normal((int(wrong.sum()), 2))
            wrong = (X.sum(axis=1) > 0) != (t == 1)
    return X, t.astype(np.int64)


def make_moons(n: int = 200, noise: float = 0.1, seed: int | None = 0):
    """Two interleaving half circles. Returns ``X`` (n, 2) and ``t`` (n,) in {0, 1}."""
    n, noise, rng = _toy_args("make_moons", n, noise, seed)
    t = np.arange(n) % 2
    angle = rng.uniform(0, np.pi, n)
    X = np.where(t[:, None] == 0,
                 np.c_[np.cos(angle), np.sin(angle)],
                 np.c_[1 - np.cos(angle), 0.5 - np.sin(angle)])
    return X + noise * rng.standard_normal((n, 2)), t.astype(np.int64)


def make_circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int | None = 0):
    """A small circle (class 1, radius ``factor``) inside a unit circle (class 0)."""
    n, noise, rng = _toy_args("make_circles", n, noise, seed)
    ok = isinstance(factor, (int, float, np.integer, np.floating)) and not isinstance(factor, bool)
    if not ok or not 0 < factor < 1:
        raise ValueError(f"The 'factor' parameter of make_circles must be in (0, 1). Got {factor!r} instead.")
    t = np.arange(n) % 2
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(t == 1, factor, 1.0)
    X = radius[:, None] * np.c_[np.cos(angle), np.sin(angle)]
    return X + noise * rng.standard_normal((n, 2)), t.astype(np.int64)


def make_spirals(n: int = 200, noise: float = 0.1, turns: float = 1.5, seed: int | None = 0):
    """Two interleaved spirals (class 0 and class 1, rotated by π)."""
    n, noise, rng = _toy_args("make_spirals", n, noise, seed)
    turns = positive_float(turns, "turns", "make_spirals")
    t = np.arange(n) % 2
    r = rng.uniform(0.1, 1.0, n)
    angle = 2 * np.pi * turns * r + np.pi * t
    X = r[:, None] * np.c_[np.cos(angle), np.sin(angle)]
    return X + noise * rng.standard_normal((n, 2)), t.astype(np.int64)
