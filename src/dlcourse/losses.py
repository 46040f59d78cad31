"""Loss functions and their gradients with respect to the network output (NumPy, float64).

Naming convention: ``loss(y, t)`` returns a number (or per-sample values with
``reduction="none"``) and ``loss_grad(y, t)`` returns :math:`\\partial L / \\partial y`, an
array of the shape of ``y``. ``y`` is the network output, ``t`` the target, as in the
lectures. ``reduction`` is ``"mean"`` (PyTorch's default) or ``"sum"``.

Classification targets ``t`` are either integer class indices of shape (N,) or one-hot
rows (more generally, rows of probabilities) of shape (N, C); :func:`one_hot` converts
the first form into the second.

Lectures: 000 (Lefort) :math:`E = \\frac{1}{2}\\sum_x (t - y)^2`; 001 (Mahmoudi) slides
"Exemple de calcul d'erreur", "Encodage et calcul d'erreur" (MSE, one-hot); 003
(Panloup) slides "Entropie croisée : détails" (:math:`H(p, q) = -\\sum_k p(k)\\log q(k)`).

Example
-------
>>> round(cross_entropy([[0.0, 0.0]], [1]), 6)  # log 2
0.693147
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_float_array, one_of, positive_int

__all__ = [
    "one_hot", "squared_error", "squared_error_grad", "mse", "mse_grad",
    "cross_entropy", "cross_entropy_grad", "cross_entropy_from_probs",
    "cross_entropy_from_probs_grad",
]


def one_hot(t: ArrayLike, n_classes: int) -> np.ndarray:
    """One-hot encoding: row n has a 1 in column ``t[n]`` and 0 elsewhere.

    Lecture 001 (Mahmoudi), slide "Encodage et calcul d'erreur" (label 6 among 10 classes).

    Parameters
    ----------
    t : array_like of int of shape (N,), or an int
        Class indices in ``[0, n_classes)``.
    n_classes : int

    Returns
    -------
    ndarray of float64 of shape (N, n_classes), or (n_classes,) for a single index.

    Examples
    --------
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    n_classes = positive_int(n_classes, "n_classes", "one_hot")
    t = _class_indices(t, "one_hot", ndim=(0, 1))
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        raise ValueError(f"The 't' parameter of one_hot must contain class indices in "
                         f"[0, {n_classes - 1}]. Got values from {t.min()} to {t.max()} instead.")
    return np.eye(n_classes)[t]


def _class_indices(t: Any, func: str, ndim: tuple[int, ...] = (1,)) -> np.ndarray:
    arr = np.asarray(t)
    if arr.dtype.kind not in "iu" or arr.ndim not in ndim:
        raise TypeError(f"The 't' parameter of {func} must be integer class indices of shape "
                        f"(N,). Got an array of dtype {arr.dtype} and shape {arr.shape} instead.")
    return arr.astype(np.int64)


def _targets(t: Any, shape: tuple[int, int], func: str) -> np.ndarray:
    """Targets as an (N, C) float matrix, from class indices or one-hot rows."""
    n, c = shape
    if n == 0 or c == 0:
        raise ValueError(f"The output given to {func} must have shape (N, C) with N >= 1 and "
                         f"C >= 1. Got shape {shape} instead.")
    arr = np.asarray(t) if not isinstance(t, (str, bytes)) else np.asarray(None)
    if arr.dtype.kind in "iu" and arr.ndim == 1:
        if arr.shape != (n,):
            raise ValueError(f"The 't' parameter of {func} must have shape ({n},), one class "
                             f"index per row of the output. Got shape {arr.shape} instead.")
        if n and (arr.min() < 0 or arr.max() >= c):
            raise ValueError(f"The 't' parameter of {func} must contain class indices in "
                             f"[0, {c - 1}]. Got values from {arr.min()} to {arr.max()} instead.")
        return np.eye(c)[arr]
    if arr.ndim != 2:
        raise TypeError(f"The 't' parameter of {func} must be integer class indices of shape "
                        f"({n},) or one-hot rows of shape ({n}, {c}). Got an array of dtype "
                        f"{arr.dtype} and shape {arr.shape} instead.")
    T = as_float_array(arr, "t", func, ndim=2, shape_doc=f"({n}, {c})")
    if T.shape != (n, c):
        raise ValueError(f"The 't' parameter of {func} must have shape ({n}, {c}), the shape of "
                         f"the output. Got shape {T.shape} instead.")
    if (T < 0).any():
        raise ValueError(f"The 't' parameter of {func} must contain probabilities (>= 0). "
                         f"Got a minimum of {T.min()} instead.")
    _rows_sum_to_one(T, "t", func)
    return T


def _rows_sum_to_one(a: np.ndarray, name: str, func: str) -> None:
    sums = a.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-5)
    if bad.size:
        raise ValueError(f"The '{name}' parameter of {func} must hold probability rows that sum to 1. "
                         f"Got row {bad[0]} summing to {sums[bad[0]]:.6g} instead.")


def _same_shape(y: Any, t: Any, func: str) -> tuple[np.ndarray, np.ndarray]:
    y = as_float_array(y, "y", func)
    t = as_float_array(t, "t", func)
    if y.shape != t.shape:
        raise ValueError(f"The 't' parameter of {func} must have the shape of y, {y.shape}. "
                         f"Got an array of shape {t.shape} instead.")
    if y.size == 0:
        raise ValueError(f"The 'y' parameter of {func} must not be empty. Got shape {y.shape}.")
    return y, t


def _reduce(values: np.ndarray, reduction: str, n: int) -> float | np.ndarray:
    if reduction == "none":
        return values
    total = float(np.sum(values))
    return total / n if reduction == "mean" else total


def squared_error(y: ArrayLike, t: ArrayLike) -> float:
    """The lectures' error :math:`E = \\frac{1}{2}\\sum (t - y)^2`, summed over every entry.

    Lecture 000 (Lefort), slides "Perceptron - Descente de gradient stochastique" and
    "Perceptron multi-couches" (:math:`E = \\frac{1}{2}\\sum_{x, i}(t - y)^2`).

    Parameters
    ----------
    y, t : array_like of the same shape

    Examples
    --------
    >>> squared_error([1.0, 2.0], [0.0, 0.0])
    2.5
    """
    y, t = _same_shape(y, t, "squared_error")
    return 0.5 * float(np.sum((t - y) ** 2))


def squared_error_grad(y: ArrayLike, t: ArrayLike) -> np.ndarray:
    """:math:`\\partial E / \\partial y = y - t` for :math:`E = \\frac{1}{2}\\sum (t - y)^2`.

    Examples
    --------
    >>> squared_error_grad([1.0, 2.0], [0.0, 0.0])
    array([1., 2.])
    """
    y, t = _same_shape(y, t, "squared_error_grad")
    return y - t


def mse(y: ArrayLike, t: ArrayLike, reduction: str = "mean") -> float | np.ndarray:
    """Mean squared error :math:`\\frac{1}{n}\\sum (y - t)^2`, as ``F.mse_loss``.

    Lecture 001 (Mahmoudi), slide "Encodage et calcul d'erreur". The mean is over every
    entry (n = ``y.size``), like PyTorch; ``reduction="sum"`` gives the lecture's
    :math:`L_2` loss :math:`\\sum (y - t)^2`, twice :func:`squared_error`.

    Parameters
    ----------
    y, t : array_like of the same shape
    reduction : {"mean", "sum", "none"}, default "mean"
        ``"none"`` returns the element-wise squares.

    Examples
    --------
    >>> mse([1.0, 2.0], [0.0, 0.0]), mse([1.0, 2.0], [0.0, 0.0], reduction="sum")
    (2.5, 5.0)
    """
    y, t = _same_shape(y, t, "mse")
    one_of(reduction, "reduction", "mse", ("mean", "sum", "none"))
    return _reduce((y - t) ** 2, reduction, y.size)


def mse_grad(y: ArrayLike, t: ArrayLike, reduction: str = "mean") -> np.ndarray:
    """:math:`\\partial\\, \\mathrm{mse} / \\partial y = \\frac{2}{n}(y - t)` (``n = 1`` for "sum").

    Examples
    --------
    >>> mse_grad([1.0, 2.0], [0.0, 0.0])
    array([1., 2.])
    """
    y, t = _same_shape(y, t, "mse_grad")
    one_of(reduction, "reduction", "mse_grad", ("mean", "sum"))
    return 2.0 * (y - t) / (y.size if reduction == "mean" else 1)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = np.max(z, axis=1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))


def cross_entropy(logits: ArrayLike, t: ArrayLike, reduction: str = "mean") -> float | np.ndarray:
    """Cross-entropy of the softmax of ``logits`` with the targets, as ``F.cross_entropy``.

    .. math:: L_n = -\\sum_k t_{nk} \\log \\mathrm{softmax}(z_n)_k
              = -\\sum_k t_{nk}\\Big(z_{nk} - \\log \\sum_i e^{z_{ni}}\\Big)

    computed with a stable log-sum-exp. Lecture 003 (Panloup), slide "Entropie croisée :
    détails"; lecture 001 (Mahmoudi), softmax classification of MNIST.

    Parameters
    ----------
    logits : array_like of shape (N, C)
        Scores :math:`z` before the softmax.
    t : array_like of int of shape (N,), or of float of shape (N, C)
        Class indices, or one-hot (probability) rows.
    reduction : {"mean", "sum", "none"}, default "mean"
        Mean over the N samples, sum, or the N per-sample losses.

    Examples
    --------
    >>> round(cross_entropy([[2.0, 0.0], [0.0, 2.0]], [0, 1]), 6)
    0.126928
    """
    z = as_float_array(logits, "logits", "cross_entropy", ndim=2, shape_doc="(N, C)")
    T = _targets(t, z.shape, "cross_entropy")
    one_of(reduction, "reduction", "cross_entropy", ("mean", "sum", "none"))
    return _reduce(-np.sum(T * _log_softmax(z), axis=1), reduction, z.shape[0])


def cross_entropy_grad(logits: ArrayLike, t: ArrayLike, reduction: str = "mean") -> np.ndarray:
    """Gradient with respect to the logits: :math:`\\mathrm{softmax}(z_n) - t_n` (divided by N).

    Returns
    -------
    ndarray of shape (N, C)

    Examples
    --------
    >>> cross_entropy_grad([[0.0, 0.0]], [1])
    array([[ 0.5, -0.5]])
    """
    z = as_float_array(logits, "logits", "cross_entropy_grad", ndim=2, shape_doc="(N, C)")
    T = _targets(t, z.shape, "cross_entropy_grad")
    one_of(reduction, "reduction", "cross_entropy_grad", ("mean", "sum"))
    grad = np.exp(_log_softmax(z)) - T
    return grad / z.shape[0] if reduction == "mean" else grad


def _check_probs(p: Any, func: str) -> np.ndarray:
    p = as_float_array(p, "p", func, ndim=2, shape_doc="(N, C)")
    if (p < 0).any() or (p > 1).any():
        raise ValueError(f"The 'p' parameter of {func} must contain probabilities in [0, 1]. "
                         f"Got values from {p.min()} to {p.max()} instead.")
    _rows_sum_to_one(p, "p", func)
    return p


def cross_entropy_from_probs(p: ArrayLike, t: ArrayLike,
                             reduction: str = "mean") -> float | np.ndarray:
    """Cross-entropy :math:`L_n = -\\sum_k t_{nk}\\log p_{nk}` of given probabilities.

    Equal to ``F.nll_loss(torch.log(p), t)``. Terms with :math:`t_{nk} = 0` count as 0
    (convention :math:`0 \\log 0 = 0`); a zero probability on a target class gives
    ``inf`` (no warning). Prefer :func:`cross_entropy` on logits, which is stable.
    Lecture 003 (Panloup), slide "Entropie croisée : détails".

    Parameters
    ----------
    p : array_like of shape (N, C)
        Probabilities, e.g. the output of a softmax.
    t : array_like of int of shape (N,), or of float of shape (N, C)
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> round(cross_entropy_from_probs([[0.5, 0.5], [0.0, 1.0]], [0, 1]), 6)  # log(2) / 2
    0.346574
    """
    p = _check_probs(p, "cross_entropy_from_probs")
    T = _targets(t, p.shape, "cross_entropy_from_probs")
    one_of(reduction, "reduction", "cross_entropy_from_probs", ("mean", "sum", "none"))
    with np.errstate(divide="ignore"):
        terms = np.where(T > 0, T * np.log(np.where(T > 0, p, 1.0)), 0.0)
    return _reduce(-np.sum(terms, axis=1), reduction, p.shape[0])


def cross_entropy_from_probs_grad(p: ArrayLike, t: ArrayLike,
                                  reduction: str = "mean") -> np.ndarray:
    """Gradient with respect to the probabilities: :math:`-t_{nk} / p_{nk}` (divided by N).

    Returns
    -------
    ndarray of shape (N, C); 0 where :math:`t_{nk} = 0`.

    Examples
    --------
    >>> cross_entropy_from_probs_grad([[0.5, 0.5]], [0])
    array([[-2.,  0.]])
    """
    p = _check_probs(p, "cross_entropy_from_probs_grad")
    T = _targets(t, p.shape, "cross_entropy_from_probs_grad")
    one_of(reduction, "reduction", "cross_entropy_from_probs_grad", ("mean", "sum"))
    with np.errstate(divide="ignore"):
        grad = np.where(T > 0, -T / np.where(T > 0, p, 1.0), 0.0)
    return grad / p.shape[0] if reduction == "mean" else grad
