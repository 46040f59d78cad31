"""Capacity and generalisation: classifiers that memorise, and what a test set guarantees.

Lecture 004 (Chan-Hon-Tong), slides on the nearest neighbour, the test-set bound and the ReLU
constructions; a variant of Zhang et al. (2017), theorem 1: with an output bias, one hidden
layer of N - 1 ReLU units fits any N targets of distinct inputs (theirs uses N units, no bias).

Conventions, as in chapter 6 of the book:

* ``X_train`` has shape ``(N, D)`` (one example per row), ``t_train`` the N targets;
* ``K`` is the size of a test set and ``eps`` the probability :math:`\\varepsilon` that the
  test-set bound fails;
* a one-dimensional ReLU network :math:`f(x) = t_0 + \\sum_k c_k\\,\\mathrm{relu}(x - z_k)` is
  given by its knots ``z_k`` (minus the biases of its hidden units, whose input weights are 1),
  its output weights ``c`` and its output bias ``t0``.

Example
-------
>>> import numpy as np
>>> knots, t0, c = relu_interpolant([1.0, -1.0, 0.0], [1.0, 1.0, 0.0])   # |x| on three points
>>> knots, t0, c
(array([-1.,  0.]), 1.0, array([-1.,  2.]))
>>> one_hidden_layer_relu(np.array([-1.0, -0.5, 0.0, 3.0]), knots, t0, c)
array([1. , 0.5, 0. , 3. ])
>>> round(hoeffding_margin(10_000, 0.05), 4), required_test_size(0.01, 0.05)
(0.0122, 14979)
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_float_array, error, non_empty_rows, positive_float, positive_int

__all__ = ["nearest_neighbour", "hoeffding_margin", "required_test_size", "ReluInterpolant",
           "relu_interpolant", "one_hidden_layer_relu"]

#: Test examples handled per matrix product in :func:`nearest_neighbour`: the distances take
#: ``_BLOCK * N`` floats, 400 MB for the 60 000 images of MNIST instead of 4.8 GB for all 10 000.
_BLOCK = 1024


def _check_examples(X_train, t_train, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X_train = non_empty_rows(as_float_array(X_train, "X_train", "nearest_neighbour", 2, "(N, D)"),
                             "X_train", "nearest_neighbour")
    t_train = np.asarray(t_train)
    if t_train.shape != (len(X_train),):
        error("nearest_neighbour", "t_train", f"an array of shape ({len(X_train)},), one target per "
              "row of X_train", f"an array of shape {t_train.shape}")
    X = as_float_array(X, "X", "nearest_neighbour", 2, "(M, D)")
    if X.shape[1] != X_train.shape[1]:
        error("nearest_neighbour", "X", f"an array with {X_train.shape[1]} columns, like X_train",
              f"{X.shape[1]} columns")
    return X_train, t_train, X


def nearest_neighbour(X_train: ArrayLike, t_train: ArrayLike, X: ArrayLike) -> np.ndarray:
    """Predict, for each row of ``X``, the target of its nearest training example.

    Parameters
    ----------
    X_train : array_like of shape (N, D)
        The training examples.
    t_train : array_like of shape (N,)
        Their targets (class numbers, -1/+1 labels or real values).
    X : array_like of shape (M, D)
        The examples to classify.

    Returns
    -------
    ndarray of shape (M,)
        ``t_train[i]`` where ``X_train[i]`` is the training example closest to the row
        (Euclidean distance; on a tie, the first such example).
    """
    X_train, t_train, X = _check_examples(X_train, t_train, X)
    # ||x - x_j||^2 = ||x||^2 - 2 <x, x_j> + ||x_j||^2: one matrix product for all pairs;
    # ||x||^2, the same for every j, cannot change which j is the nearest.
    sq_norms = (X_train ** 2).sum(axis=1)
    nearest = np.empty(len(X), dtype=np.intp)
    for start in range(0, len(X), _BLOCK):
        block = X[start:start + _BLOCK]
        distances = sq_norms - 2 * block @ X_train.T      # squared, minus ||x||^2
        nearest[start:start + _BLOCK] = np.argmin(distances, axis=1)
    return t_train[nearest]


def _probability(eps: Any, func: str) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)) \
            or not 0 < eps < 1:
        error(func, "eps", "a probability strictly between 0 and 1", repr(eps))
    return float(eps)


def hoeffding_margin(K: int, eps: float) -> float:
    """Margin :math:`\\sqrt{\\ln(1/\\varepsilon) / (2K)}` of Hoeffding's test-set bound.

    With probability at least ``1 - eps`` over the draw of ``K`` independent test examples,
    the real error of a classifier chosen without them is below its test error plus this margin.

    Parameters
    ----------
    K : int
        Number of test examples.
    eps : float
        Probability that the bound fails, in ]0, 1[.

    Returns
    -------
    float
    """
    K = positive_int(K, "K", "hoeffding_margin")
    eps = _probability(eps, "hoeffding_margin")
    return math.sqrt(math.log(1 / eps) / (2 * K))


def required_test_size(margin: float, eps: float) -> int:
    """Smallest number of test examples ``K`` whose Hoeffding margin is at most ``margin``.

    Parameters
    ----------
    margin : float
        The margin wanted, as a fraction (0.01 for one point of error rate), > 0.
    eps : float
        Probability that the bound fails, in ]0, 1[.

    Returns
    -------
    int
        :math:`\\lceil \\ln(1/\\varepsilon) / (2\\,\\mathrm{margin}^2) \\rceil`.
    """
    margin = positive_float(margin, "margin", "required_test_size")
    eps = _probability(eps, "required_test_size")
    return math.ceil(math.log(1 / eps) / (2 * margin ** 2))


class ReluInterpolant(NamedTuple):
    """Parameters of :math:`f(x) = t_0 + \\sum_k c_k\\,\\mathrm{relu}(x - z_k)`."""

    knots: np.ndarray
    t0: float
    c: np.ndarray


def _check_points(z, t) -> tuple[np.ndarray, np.ndarray]:
    z = as_float_array(z, "z", "relu_interpolant", 1, "(N,)")
    t = as_float_array(t, "t", "relu_interpolant", 1, "(N,)")
    if len(z) == 0 or t.shape != z.shape:
        error("relu_interpolant", "t", f"an array of shape ({len(z)},) like z, z not empty",
              f"z of shape {z.shape} and t of shape {t.shape}")
    return z, t


def relu_interpolant(z: ArrayLike, t: ArrayLike) -> ReluInterpolant:
    """One hidden layer of N - 1 ReLU units whose output passes through the N points (z_n, t_n).

    Sorted by z, consecutive points are joined by segments: unit k switches on at the knot
    ``z_(k)`` and its output weight ``c_k`` is the change of slope there.

    Parameters
    ----------
    z : array_like of shape (N,)
        Distinct abscissas, in any order.
    t : array_like of shape (N,)
        The values to reach.

    Returns
    -------
    ReluInterpolant
        ``knots`` (the N - 1 smallest z, sorted), ``t0`` (the target of the smallest z) and
        ``c`` (N - 1 output weights); evaluate it with :func:`one_hidden_layer_relu`.
    """
    z, t = _check_points(z, t)
    order = np.argsort(z)
    z, t = z[order], t[order]
    if np.any(np.diff(z) == 0):
        error("relu_interpolant", "z", "an array of distinct values", "a repeated value")
    slopes = np.diff(t) / np.diff(z)
    c = np.diff(slopes, prepend=0.0)
    return ReluInterpolant(z[:-1], float(t[0]), c)


def _check_network(x, knots, t0, c) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    x = as_float_array(x, "x", "one_hidden_layer_relu")
    knots = as_float_array(knots, "knots", "one_hidden_layer_relu", 1, "(M,)")
    c = as_float_array(c, "c", "one_hidden_layer_relu", 1, "(M,)")
    if c.shape != knots.shape:
        error("one_hidden_layer_relu", "c", f"an array of shape {knots.shape} like knots",
              f"an array of shape {c.shape}")
    t0 = float(as_float_array(t0, "t0", "one_hidden_layer_relu", 0))
    return x, knots, t0, c


def one_hidden_layer_relu(x: ArrayLike, knots: ArrayLike, t0: float, c: ArrayLike) -> np.ndarray:
    """Output :math:`t_0 + \\sum_k c_k\\,\\mathrm{relu}(x - z_k)` of a 1-D ReLU network.

    Parameters
    ----------
    x : array_like
        Inputs, any shape.
    knots : array_like of shape (M,)
        The ``z_k``: hidden unit k has input weight 1 and bias ``-z_k``.
    t0 : float
        Output bias.
    c : array_like of shape (M,)
        Output weights.

    Returns
    -------
    ndarray of the shape of ``x``
    """
    x, knots, t0, c = _check_network(x, knots, t0, c)
    hidden = np.maximum(np.subtract.outer(x, knots), 0.0)
    return t0 + hidden @ c
