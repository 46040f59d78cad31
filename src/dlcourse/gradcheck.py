"""Finite-difference gradient checking, the test of every hand-written backward pass.

Three functions:

* :func:`numerical_gradient` estimates :math:`\\partial f / \\partial x` by central
  differences (as in Stanford's CS231n assignments);
* :func:`relative_error` compares two gradients;
* :func:`gradient_check` does both and raises ``AssertionError`` (with the worst entry)
  when an analytic gradient disagrees with the estimate.

``f`` is called as ``f(x)`` with the **same array object** ``x``, perturbed in place one
entry at a time and restored afterwards. So ``f`` may either use its argument or read
``x`` through a closure (e.g. a weight array of a model), as CS231n does.

For a function with an array output (a layer), pass ``dout``: the checked scalar is
then :math:`\\sum f(x) \\odot \\mathrm{dout}`, whose gradient is what a backward pass
``backward(dout)`` returns.

Example
-------
>>> x = np.array([1.0, 2.0])
>>> g = numerical_gradient(lambda v: np.sum(v ** 2), x)
>>> relative_error(g, 2 * x) < 1e-8
True
>>> gradient_check(lambda v: v ** 3, x, 3 * x ** 2 * np.ones(2), dout=np.ones(2)) < 1e-8
True
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_float_array, positive_float

__all__ = ["numerical_gradient", "relative_error", "gradient_check"]


def _check_x(x: Any, func: str) -> None:
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = f"an array of dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"The 'x' parameter of {func} must be a float64 ndarray "
                        f"(it is perturbed in place). Got {got} instead.")


def numerical_gradient(f: Callable[[np.ndarray], Any], x: np.ndarray, h: float = 1e-6,
                       dout: ArrayLike | None = None) -> np.ndarray:
    """Central-difference estimate of the gradient of ``f`` at ``x``.

    .. math:: \\frac{\\partial f}{\\partial x_i} \\approx
              \\frac{f(x + h e_i) - f(x - h e_i)}{2h}

    The error is :math:`O(h^2)` plus rounding of order :math:`\\varepsilon |f| / h`;
    ``h = 1e-6`` balances both in float64 (relative errors around 1e-8 to 1e-10).

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a number, or an array of the shape of ``dout`` if ``dout`` is given.
    x : ndarray of float64 of any shape
        Perturbed in place during the call, restored on return (even on error).
    h : float, default 1e-6
        Step, > 0.
    dout : array_like, optional
        Upstream gradient: the gradient of :math:`\\sum f(x) \\odot \\mathrm{dout}` is
        estimated.

    Returns
    -------
    ndarray of the shape of ``x``

    Examples
    --------
    >>> numerical_gradient(lambda v: v[0] * v[1], np.array([3.0, 4.0]))
    array([4., 3.])
    """
    _check_x(x, "numerical_gradient")
    if not callable(f):
        raise TypeError(f"The 'f' parameter of numerical_gradient must be callable. "
                        f"Got {type(f).__name__} instead.")
    if not x.flags.writeable:
        raise ValueError("The 'x' parameter of numerical_gradient must be a writeable array "
                         "(it is perturbed in place). Got a read-only array; pass x.copy().")
    h = positive_float(h, "h", "numerical_gradient")
    if np.any(x + h == x) or np.any(x - h == x):
        raise ValueError(f"The 'h' parameter of numerical_gradient must be large enough to move every "
                         f"entry of x (x + h != x). Got {h!r}, lost in rounding for |x| up to "
                         f"{np.max(np.abs(x)):.3g}.")
    d = None if dout is None else as_float_array(dout, "dout", "numerical_gradient")

    def scalar(value: Any) -> float:
        if value is None or isinstance(value, (bool, np.bool_, str, bytes)):
            raise TypeError("The 'f' parameter of numerical_gradient must return a number. "
                            f"Got {value!r}{' (a forgotten return?)' if value is None else ''}.")
        try:
            value = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError("The 'f' parameter of numerical_gradient must return a number or an array. "
                            f"Got {type(value).__name__}.") from None
        if not np.all(np.isfinite(value)):
            raise ValueError("The 'f' parameter of numerical_gradient must return finite values. "
                             f"Got {value} near x.")
        if d is None:
            if value.size != 1:
                raise ValueError("The 'f' parameter of numerical_gradient must return a number "
                                 f"when dout is None. Got an array of shape {value.shape}.")
            return float(value.reshape(()))
        if value.shape != d.shape:
            raise ValueError(f"The 'dout' parameter of numerical_gradient must have the shape "
                             f"of f(x), {value.shape}. Got {d.shape} instead.")
        return float(np.sum(value * d))

    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        try:
            x[i] = old + h
            plus = scalar(f(x))
            x[i] = old - h
            minus = scalar(f(x))
        finally:
            x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a: ArrayLike, b: ArrayLike) -> float:
    """Relative distance :math:`\\frac{\\|a - b\\|_2}{\\max(\\|a\\|_2 + \\|b\\|_2,\\ 10^{-12})}`.

    A norm-wise measure: unlike the entry-wise maximum, it is not fooled by entries that
    are both nearly zero. Below 1e-7 the gradients agree; above 1e-4 something is wrong.

    Parameters
    ----------
    a, b : array_like of the same shape

    Examples
    --------
    >>> relative_error([1.0, 2.0], [1.0, 2.0])
    0.0
    >>> relative_error([1.0], [3.0])
    0.5
    """
    a = as_float_array(a, "a", "relative_error")
    b = as_float_array(b, "b", "relative_error")
    if a.shape != b.shape:
        raise ValueError(f"The 'b' parameter of relative_error must have the shape of a, "
                         f"{a.shape}. Got {b.shape} instead.")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))


def gradient_check(f: Callable[[np.ndarray], Any], x: np.ndarray, grad: ArrayLike,
                   h: float = 1e-6, dout: ArrayLike | None = None, tol: float = 1e-6) -> float:
    """Compare an analytic gradient with :func:`numerical_gradient`; raise if they differ.

    Parameters
    ----------
    f, x, h, dout
        As in :func:`numerical_gradient`.
    grad : array_like of the shape of ``x``
        The analytic gradient to check (e.g. the ``dx`` of a backward pass given ``dout``).
    tol : float, default 1e-6
        Largest accepted :func:`relative_error`.

    Returns
    -------
    float
        The relative error.

    Raises
    ------
    AssertionError
        If the relative error exceeds ``tol``; the message shows the worst entry.

    Examples
    --------
    >>> x = np.array([0.5, -1.0])
    >>> gradient_check(lambda v: np.sum(np.sin(v)), x, np.cos(x)) < 1e-8
    True
    """
    _check_x(x, "gradient_check")
    grad = as_float_array(grad, "grad", "gradient_check")
    if grad.shape != x.shape:
        raise ValueError("The 'grad' parameter of gradient_check must have the shape of x, "
                         f"{getattr(x, 'shape', None)}. Got {grad.shape} instead.")
    tol = positive_float(tol, "tol", "gradient_check")
    numeric = numerical_gradient(f, x, h=h, dout=dout)
    err = relative_error(grad, numeric)
    if err > tol:
        diff = np.abs(grad - numeric)
        i = np.unravel_index(np.argmax(diff), diff.shape)
        raise AssertionError(
            f"Gradient check failed: relative error {err:.3e} > tol {tol:.1e}; worst entry "
            f"{tuple(int(k) for k in i)}: analytic {grad[i]!r}, numerical {numeric[i]!r}.")
    return err
