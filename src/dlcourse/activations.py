"""Activation functions and their derivatives (NumPy, float64).

Naming convention: for every activation ``f`` there is ``f_grad`` taking the **same
input** ``x`` (the pre-activation :math:`s`, not the output) and returning the derivative
:math:`f'(x)`:

* for the element-wise functions (``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``)
  ``f_grad(x)`` has the shape of ``x``; the chain rule is ``dout * f_grad(x)``;
* ``softmax`` mixes the entries along ``axis``, so ``softmax_grad`` returns the Jacobian
  (one :math:`K \\times K` matrix per slice) and :func:`softmax_backward` gives the
  product ``dout`` times Jacobian directly, as a backward pass needs.

At the non-differentiable point 0, ``relu_grad`` is 0 and ``leaky_relu_grad`` is
``alpha``, as in PyTorch's autograd.

Lectures: 000 (Lefort) for the sigmoid neuron, 001 (Mahmoudi) slide "Fonctions
d'activation : recommandation de choix" (sigmoid, tanh, ReLU, leaky ReLU with 0.01,
softmax), 003 (Panloup) slides "Fonctions d'activation" (ReLU with a slope
:math:`\\alpha` on the negative side, softmax).

Inputs may be any array_like; infinite values are accepted (``sigmoid(inf) == 1``) but
NaN raises ``ValueError``.

Example
-------
>>> sigmoid([0.0]), sigmoid_grad([0.0])
(array([0.5]), array([0.25]))
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._checks import positive_float

__all__ = [
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad",
    "leaky_relu", "leaky_relu_grad", "softmax", "softmax_grad", "softmax_backward",
]


def _as_array(x: Any, func: str, name: str = "x") -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"The '{name}' parameter of {func} must be a numeric array. "
                        f"Got {type(x).__name__} instead.")
    try:
        if np.iscomplexobj(x):
            raise TypeError("complex numbers")
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"The '{name}' parameter of {func} must be an array of real numbers. "
                        f"Got {type(x).__name__} instead ({err}).") from None
    if np.isnan(arr).any():
        raise ValueError(f"The '{name}' parameter of {func} must not contain NaN. "
                         f"Got {int(np.isnan(arr).sum())} NaN value(s) instead.")
    return arr


def sigmoid(x: ArrayLike) -> np.ndarray:
    """Logistic sigmoid :math:`\\sigma(x) = \\frac{1}{1 + e^{-x}}`, element-wise.

    Computed as :math:`e^{x} / (1 + e^{x})` for negative x so that ``exp`` never
    overflows. Lecture 000 (Lefort), slide "Perceptron multi-couches".

    Parameters
    ----------
    x : array_like of any shape

    Returns
    -------
    ndarray of the shape of ``x``, values in [0, 1].

    Examples
    --------
    >>> sigmoid([-1000.0, 0.0, 1000.0])
    array([0. , 0.5, 1. ])
    """
    x = _as_array(x, "sigmoid")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x: ArrayLike) -> np.ndarray:
    """Derivative :math:`\\sigma'(x) = \\sigma(x)\\,(1 - \\sigma(x))`, element-wise.

    The factor :math:`y(1 - y)` of the lecture's :math:`\\delta` (lecture 000, slide
    "Perceptron multi-couches").

    Examples
    --------
    >>> sigmoid_grad([0.0])
    array([0.25])
    """
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: ArrayLike) -> np.ndarray:
    """Hyperbolic tangent :math:`\\tanh(x) = \\frac{e^x - e^{-x}}{e^x + e^{-x}}`, element-wise.

    Lecture 001 (Mahmoudi) and 003 (Panloup), "Fonctions d'activation".

    Examples
    --------
    >>> tanh([0.0])
    array([0.])
    """
    return np.tanh(_as_array(x, "tanh"))


def tanh_grad(x: ArrayLike) -> np.ndarray:
    """Derivative :math:`\\tanh'(x) = 1 - \\tanh^2(x)`, element-wise.

    Examples
    --------
    >>> tanh_grad([0.0])
    array([1.])
    """
    return 1.0 - np.tanh(_as_array(x, "tanh_grad")) ** 2


def relu(x: ArrayLike) -> np.ndarray:
    """Rectified linear unit :math:`\\max(0, x)`, element-wise.

    Lecture 001 (Mahmoudi) and 003 (Panloup), "Fonctions d'activation".

    Examples
    --------
    >>> relu([-2.0, 0.0, 3.0])
    array([0., 0., 3.])
    """
    x = _as_array(x, "relu")
    return np.where(x > 0, x, 0.0)


def relu_grad(x: ArrayLike) -> np.ndarray:
    """Derivative :math:`\\mathbf{1}_{x > 0}` (0 at x = 0), element-wise.

    Examples
    --------
    >>> relu_grad([-2.0, 0.0, 3.0])
    array([0., 0., 1.])
    """
    return (_as_array(x, "relu_grad") > 0).astype(np.float64)


def leaky_relu(x: ArrayLike, alpha: float = 0.01) -> np.ndarray:
    """Leaky ReLU :math:`\\max(x, 0) + \\alpha \\min(x, 0)`, element-wise.

    Lecture 003 (Panloup), slide "Fonctions d'activation" (this formula); lecture 001
    (Mahmoudi) uses :math:`\\alpha = 0.01`, the default here and in PyTorch.

    Parameters
    ----------
    x : array_like of any shape
    alpha : float, default 0.01
        Slope on the negative side, :math:`\\alpha \\ge 0`.

    Examples
    --------
    >>> leaky_relu([-2.0, 3.0], alpha=0.1)
    array([-0.2,  3. ])
    """
    x = _as_array(x, "leaky_relu")
    alpha = positive_float(alpha, "alpha", "leaky_relu", allow_zero=True)
    y = x.copy()
    negative = ~(x > 0)
    # alpha = 0 must give relu exactly, also at -inf (where 0 * -inf would be NaN).
    y[negative] = alpha * x[negative] if alpha > 0 else 0.0
    return y


def leaky_relu_grad(x: ArrayLike, alpha: float = 0.01) -> np.ndarray:
    """Derivative: 1 where x > 0, :math:`\\alpha` elsewhere (0 included), element-wise.

    Examples
    --------
    >>> leaky_relu_grad([-2.0, 0.0, 3.0], alpha=0.1)
    array([0.1, 0.1, 1. ])
    """
    x = _as_array(x, "leaky_relu_grad")
    alpha = positive_float(alpha, "alpha", "leaky_relu_grad", allow_zero=True)
    return np.where(x > 0, 1.0, alpha)


def _check_axis(axis: Any, ndim: int, func: str) -> int:
    ok = isinstance(axis, (int, np.integer)) and not isinstance(axis, bool)
    if not ok or not -ndim <= axis < ndim:
        raise ValueError(f"The 'axis' parameter of {func} must be an integer in "
                         f"[{-ndim}, {ndim - 1}] for an input with {ndim} dimension(s). "
                         f"Got {axis!r} instead.")
    return int(axis) % ndim


def softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: :math:`\\mathrm{softmax}(x)_k = \\frac{e^{x_k}}{\\sum_i e^{x_i}}`.

    Computed as :math:`e^{x_k - m} / \\sum_i e^{x_i - m}` with :math:`m = \\max_i x_i`,
    which is the same number but never overflows. Entries equal to ``-inf`` (masked
    entries) get probability 0; ``+inf`` is refused, and so is a slice with no finite
    entry.

    Lecture 001 (Mahmoudi), slide "Perceptron (fonction softmax)"; lecture 003
    (Panloup), slide "Fonctions d'activation".

    Parameters
    ----------
    x : array_like of shape (..., K, ...)
        Scores (logits), ``K`` along ``axis``.
    axis : int, default -1

    Returns
    -------
    ndarray of the shape of ``x``, non-negative, summing to 1 along ``axis``.

    Examples
    --------
    >>> softmax([[1000.0, 1000.0], [0.0, np.log(3.0)]])
    array([[0.5 , 0.5 ],
           [0.25, 0.75]])
    """
    x = _as_array(x, "softmax")
    if x.ndim == 0:
        raise ValueError("The 'x' parameter of softmax must be an array with at least one "
                         "dimension. Got a scalar instead.")
    axis = _check_axis(axis, x.ndim, "softmax")
    if x.shape[axis] == 0:
        raise ValueError(f"The 'x' parameter of softmax must have at least one entry along axis {axis}. "
                         f"Got an array of shape {x.shape}.")
    if np.isposinf(x).any():
        raise ValueError("The 'x' parameter of softmax must not contain +inf. Got +inf.")
    m = np.max(x, axis=axis, keepdims=True)
    if np.isneginf(m).any():
        raise ValueError("The 'x' parameter of softmax must have at least one finite entry "
                         f"along axis {axis}. Got a slice where every entry is -inf.")
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_grad(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """Jacobian of the softmax, :math:`y = \\mathrm{softmax}(x)` along ``axis``.

    .. math:: \\frac{\\partial y_i}{\\partial x_j} = y_i(\\delta_{ij} - y_j)

    Parameters
    ----------
    x : array_like of shape (..., K, ...)
    axis : int, default -1

    Returns
    -------
    ndarray of shape ``np.moveaxis(x, axis, -1).shape + (K,)``
        ``J[..., i, j]`` is :math:`\\partial y_i / \\partial x_j` for each slice; for a
        2-D ``x`` of shape (N, K) and ``axis=-1`` the shape is (N, K, K).

    Examples
    --------
    >>> softmax_grad([0.0, 0.0])
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    y = np.moveaxis(softmax(x, axis=axis), axis, -1)
    return y[..., :, None] * (np.eye(y.shape[-1]) - y[..., None, :])


def softmax_backward(dout: ArrayLike, y: ArrayLike, axis: int = -1) -> np.ndarray:
    """Backward pass of the softmax: ``dout`` times the Jacobian, without building it.

    .. math:: \\frac{\\partial L}{\\partial x_j} = \\sum_i \\frac{\\partial L}{\\partial y_i}
              y_i(\\delta_{ij} - y_j) = y_j \\Big(\\frac{\\partial L}{\\partial y_j}
              - \\sum_i \\frac{\\partial L}{\\partial y_i} y_i\\Big)

    Parameters
    ----------
    dout : array_like of shape (..., K, ...)
        :math:`\\partial L / \\partial y`.
    y : array_like of the same shape
        The softmax **output** (from the forward pass).
    axis : int, default -1

    Returns
    -------
    ndarray of the shape of ``y``: :math:`\\partial L / \\partial x`.

    Examples
    --------
    >>> softmax_backward([1.0, 0.0], softmax([0.0, 0.0]))
    array([ 0.25, -0.25])
    """
    dout = _as_array(dout, "softmax_backward", "dout")
    y = _as_array(y, "softmax_backward", "y")
    if dout.shape != y.shape:
        raise ValueError("The 'dout' parameter of softmax_backward must have the shape of y, "
                         f"{y.shape}. Got an array of shape {dout.shape} instead.")
    if y.ndim == 0:
        raise ValueError("The 'y' parameter of softmax_backward must be an array with at "
                         "least one dimension. Got a scalar instead.")
    axis = _check_axis(axis, y.ndim, "softmax_backward")
    sums = np.sum(y, axis=axis)
    if (y < 0).any() or (y > 1).any() or not np.allclose(sums, 1.0, rtol=0, atol=1e-6):
        raise ValueError("The 'y' parameter of softmax_backward must be the softmax output "
                         f"(values in [0, 1] summing to 1 along axis {axis}), not the scores. Got "
                         f"values from {y.min():.3g} to {y.max():.3g}, sums from {sums.min():.3g} "
                         f"to {sums.max():.3g}.")
    return y * (dout - np.sum(dout * y, axis=axis, keepdims=True))
