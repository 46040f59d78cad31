r"""2-D max and average pooling: forward and backward passes, loop and vectorised.

Tensors are ``(N, C, H, W)`` as in PyTorch. A pooling layer slides a
``kernel_size`` window with step ``stride`` (by default the window's own size, so that
windows do not overlap, as in ``torch.nn.functional.max_pool2d``) over each channel
separately and keeps the maximum or the mean of each window; there is no padding and the
output size is :math:`\lfloor (H - k)/s \rfloor + 1` (see
:func:`dlcourse.conv.conv_output_size`).

The ``*_naive`` functions loop over output positions and are the ones to read; the others
loop over the few kernel offsets instead, each step a whole-array operation on a strided
view of the input, and are tested equal.

Lectures: 000 (Lefort), "Couche de Pooling" and "Apprentissage" (gradient goes back to
the arg-max; average pooling is a weighted sum); 001 (Mahmoudi), "CNN : pooling"; 002
(Boulch et al.), "Couches : Max Pooling" forward and backward; 004 (Chan-Hon-Tong),
"ConvNet : pooling" (4×4 → [[7, 9], [17, 19]]).

Example
-------
>>> x = np.array([[1.0, 2, 3, 4], [6, 7, 8, 9], [11, 12, 13, 14], [16, 17, 18, 19]])
>>> max_pool2d(x[None, None], 2)[0, 0]
array([[ 7.,  9.],
       [17., 19.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .conv import IntOrPair, _as_tensor, _check_dout, _pair

__all__ = [
    "max_pool2d", "avg_pool2d", "max_pool2d_backward", "avg_pool2d_backward",
    "max_pool2d_naive", "avg_pool2d_naive", "max_pool2d_backward_naive",
    "avg_pool2d_backward_naive",
]


def _check_pool(func: str, x: Any, kernel_size: Any, stride: Any):
    """Validate; return x, (kh, kw), (sh, sw), (Ho, Wo)."""
    x = _as_tensor(x, "x", func, "(N, C, H, W)")
    kh, kw = _pair(kernel_size, "kernel_size", func)
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride", func)
    h, w = x.shape[2:]
    if 0 in x.shape:
        raise ValueError(f"The 'x' parameter of {func} must be a non-empty array of shape "
                         f"(N, C, H, W). Got an array of shape {x.shape} instead.")
    if kh > h or kw > w:
        raise ValueError(f"The 'kernel_size' parameter of {func} must be at most the input's "
                         f"(H, W) = {(h, w)}: the window must fit in the input. "
                         f"Got {kernel_size!r} instead.")
    return x, (kh, kw), (sh, sw), ((h - kh) // sh + 1, (w - kw) // sw + 1)


def _offsets(x: np.ndarray, k, s, out_hw):
    """Yield ``(a, b, view)`` per kernel offset, ``view[n, c, i, j] = x[n, c, s i + a, s j + b]``.

    Looping over the :math:`k_h k_w` offsets (a few) rather than over the windows (many)
    keeps every NumPy operation large: the vectorised pooling is a handful of whole-array
    operations, one per offset.
    """
    (kh, kw), (sh, sw), (ho, wo) = k, s, out_hw
    for a in range(kh):
        for b in range(kw):
            yield a, b, x[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw]


def _first_argmax(x: np.ndarray, k, s, out_hw) -> tuple[np.ndarray, np.ndarray]:
    """Max of each window and the offset index a*kw + b of its first occurrence."""
    best, where = None, None
    for a, b, view in _offsets(x, k, s, out_hw):
        if best is None:
            best, where = view.copy(), np.zeros(view.shape, dtype=np.intp)
            continue
        larger = view > best  # strict: on a tie the earlier offset keeps the gradient
        where = np.where(larger, a * k[1] + b, where)
        best = np.maximum(best, view)
    return best, where


# --------------------------------------------------------------------------- forward

def max_pool2d_naive(x: ArrayLike, kernel_size: IntOrPair,
                     stride: IntOrPair | None = None) -> np.ndarray:
    r"""Max pooling with loops: :math:`y_{n,c,i,j} = \max_{a,b} x_{n,c,\,s i+a,\,s j+b}`.

    Lecture 002 (Boulch et al.), "Couches : Max Pooling", forward. See :func:`max_pool2d`.

    Examples
    --------
    >>> max_pool2d_naive(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    x, (kh, kw), (sh, sw), (ho, wo) = _check_pool("max_pool2d_naive", x, kernel_size, stride)
    n_batch, c = x.shape[:2]
    y = np.empty((n_batch, c, ho, wo), dtype=x.dtype)
    for n in range(n_batch):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    y[n, ch, i, j] = x[n, ch, sh * i:sh * i + kh, sw * j:sw * j + kw].max()
    return y


def max_pool2d(x: ArrayLike, kernel_size: IntOrPair,
               stride: IntOrPair | None = None) -> np.ndarray:
    r"""Max pooling over each channel, as ``torch.nn.functional.max_pool2d`` (no padding).

    .. math:: y_{n,c,i,j} = \max_{0 \le a < k_h,\ 0 \le b < k_w} x_{n,\,c,\,s_h i + a,\,s_w j + b}

    Lecture 002 (Boulch et al.), "Couches : Max Pooling": the maximum of each window is
    passed on; Lecture 001 (Mahmoudi), "CNN : pooling" (2×2 windows, stride 2).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    kernel_size : int or (int, int)
        Window size :math:`(k_h, k_w)`, at most (H, W).
    stride : int or (int, int), optional
        Step; defaults to ``kernel_size`` (non-overlapping windows).

    Returns
    -------
    ndarray of shape (N, C, H', W')
        :math:`H' = \lfloor (H - k_h)/s_h \rfloor + 1`, same for :math:`W'`.

    Examples
    --------
    >>> x = np.array([[1.0, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])
    >>> max_pool2d(x[None, None], 2, stride=2)[0, 0]
    array([[6., 8.],
           [3., 4.]])
    """
    x, k, s, out_hw = _check_pool("max_pool2d", x, kernel_size, stride)
    y = None
    for _, _, view in _offsets(x, k, s, out_hw):
        y = view.copy() if y is None else np.maximum(y, view, out=y)
    return y


def avg_pool2d_naive(x: ArrayLike, kernel_size: IntOrPair,
                     stride: IntOrPair | None = None) -> np.ndarray:
    r"""Average pooling with loops: :math:`y_{n,c,i,j} = \frac{1}{k_h k_w}\sum_{a,b}
    x_{n,c,\,s i+a,\,s j+b}`. See :func:`avg_pool2d`.

    Examples
    --------
    >>> avg_pool2d_naive(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    x, (kh, kw), (sh, sw), (ho, wo) = _check_pool("avg_pool2d_naive", x, kernel_size, stride)
    n_batch, c = x.shape[:2]
    y = np.empty((n_batch, c, ho, wo), dtype=x.dtype)
    for n in range(n_batch):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    y[n, ch, i, j] = x[n, ch, sh * i:sh * i + kh, sw * j:sw * j + kw].mean()
    return y


def avg_pool2d(x: ArrayLike, kernel_size: IntOrPair,
               stride: IntOrPair | None = None) -> np.ndarray:
    r"""Average ("mean") pooling, as ``torch.nn.functional.avg_pool2d`` (no padding).

    .. math:: y_{n,c,i,j} = \frac{1}{k_h k_w} \sum_{a=0}^{k_h-1} \sum_{b=0}^{k_w-1}
              x_{n,\,c,\,s_h i + a,\,s_w j + b}

    Lecture 003 (Panloup), "Pooling" (mean-pooling); Lecture 000 (Lefort), "Couche de
    Pooling".

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.

    Returns
    -------
    ndarray of shape (N, C, H', W')

    Examples
    --------
    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    x, k, s, out_hw = _check_pool("avg_pool2d", x, kernel_size, stride)
    total = np.zeros((x.shape[0], x.shape[1]) + out_hw, dtype=x.dtype)
    for _, _, view in _offsets(x, k, s, out_hw):
        total += view
    return total / (k[0] * k[1])


# --------------------------------------------------------------------------- backward

def max_pool2d_backward_naive(dout: ArrayLike, x: ArrayLike, kernel_size: IntOrPair,
                              stride: IntOrPair | None = None) -> np.ndarray:
    r"""Gradient of max pooling with loops: each :math:`\delta_{n,c,i,j}` goes to the
    first maximum of its window, in reading order. See :func:`max_pool2d_backward`.

    Examples
    --------
    >>> x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    >>> max_pool2d_backward_naive(np.ones((1, 1, 1, 1)), x, 2)[0, 0]
    array([[0., 1.],
           [0., 0.]])
    """
    func = "max_pool2d_backward_naive"
    x, (kh, kw), (sh, sw), (ho, wo) = _check_pool(func, x, kernel_size, stride)
    n_batch, c = x.shape[:2]
    dout = _check_dout(dout, func, (n_batch, c, ho, wo), x.dtype)
    dx = np.zeros_like(x)
    for n in range(n_batch):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    window = x[n, ch, sh * i:sh * i + kh, sw * j:sw * j + kw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)  # first max
                    dx[n, ch, sh * i + a, sw * j + b] += dout[n, ch, i, j]
    return dx


def max_pool2d_backward(dout: ArrayLike, x: ArrayLike, kernel_size: IntOrPair,
                        stride: IntOrPair | None = None) -> np.ndarray:
    r"""Gradient of :func:`max_pool2d` with respect to its input.

    .. math:: \frac{\partial E}{\partial x_{n,c,u,v}} = \sum_{i,j}
              \delta_{n,c,i,j}\; [\,(u, v) = \operatorname{argmax\,window}(i, j)\,]

    The maximum is the only input of a window that reaches the output, so it alone
    receives the window's gradient; the others get 0 (Lecture 002, Boulch et al., "Couches :
    Max Pooling", backward; Lecture 000, Lefort, "Apprentissage"). With overlapping windows
    (stride < kernel) an input that is the maximum of several windows sums their
    gradients. **Ties**: when a window holds its maximum several times, the whole gradient
    goes to the first one in reading order (row by row), which is PyTorch's choice on CPU;
    the maximum is not a differentiable function there, any split would be a subgradient.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W')
        Upstream gradient :math:`\delta`.
    x : ndarray of shape (N, C, H, W)
        The forward input (the arg-max is recomputed from it).
    kernel_size, stride :
        As in the forward call.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)

    Examples
    --------
    >>> x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    >>> max_pool2d_backward(np.array([[[[5.0]]]]), x, 2)[0, 0]
    array([[0., 5.],
           [0., 0.]])
    """
    func = "max_pool2d_backward"
    x, (kh, kw), (sh, sw), (ho, wo) = _check_pool(func, x, kernel_size, stride)
    n_batch, c, h, w = x.shape
    dout = _check_dout(dout, func, (n_batch, c, ho, wo), x.dtype)
    _, first = _first_argmax(x, (kh, kw), (sh, sw), (ho, wo))
    dx = np.zeros_like(x)
    # Route each gradient by kernel offset: one strided slice per offset, so that windows
    # that overlap add up instead of overwriting each other.
    for a, b, view in _offsets(dx, (kh, kw), (sh, sw), (ho, wo)):
        view += np.where(first == a * kw + b, dout, 0.0)
    return dx


def avg_pool2d_backward_naive(dout: ArrayLike, x: ArrayLike, kernel_size: IntOrPair,
                              stride: IntOrPair | None = None) -> np.ndarray:
    r"""Gradient of average pooling with loops: each :math:`\delta_{n,c,i,j}` is shared
    equally by the :math:`k_h k_w` inputs of its window. See :func:`avg_pool2d_backward`.

    Examples
    --------
    >>> avg_pool2d_backward_naive(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 2, 2)), 2)[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    func = "avg_pool2d_backward_naive"
    x, (kh, kw), (sh, sw), (ho, wo) = _check_pool(func, x, kernel_size, stride)
    n_batch, c = x.shape[:2]
    dout = _check_dout(dout, func, (n_batch, c, ho, wo), x.dtype)
    dx = np.zeros_like(x)
    for n in range(n_batch):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    share = dout[n, ch, i, j] / (kh * kw)
                    dx[n, ch, sh * i:sh * i + kh, sw * j:sw * j + kw] += share
    return dx


def avg_pool2d_backward(dout: ArrayLike, x: ArrayLike, kernel_size: IntOrPair,
                        stride: IntOrPair | None = None) -> np.ndarray:
    r"""Gradient of :func:`avg_pool2d` with respect to its input.

    .. math:: \frac{\partial E}{\partial x_{n,c,u,v}} = \frac{1}{k_h k_w}
              \sum_{(i,j)\,:\,(u,v) \in \text{window}(i,j)} \delta_{n,c,i,j}

    The mean is a weighted sum with weights :math:`1/(k_h k_w)`, so its gradient is spread
    evenly over the window (Lecture 000, Lefort, "Apprentissage"). Inputs covered by no
    window (when the stride skips them) get 0; those covered by several windows sum.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W')
    x : ndarray of shape (N, C, H, W)
        The forward input (only its shape is used).
    kernel_size, stride :
        As in the forward call.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)

    Examples
    --------
    >>> avg_pool2d_backward(np.array([[[[4.0]]]]), np.zeros((1, 1, 2, 3)), 2)[0, 0]
    array([[1., 1., 0.],
           [1., 1., 0.]])
    """
    func = "avg_pool2d_backward"
    x, (kh, kw), (sh, sw), (ho, wo) = _check_pool(func, x, kernel_size, stride)
    n_batch, c = x.shape[:2]
    dout = _check_dout(dout, func, (n_batch, c, ho, wo), x.dtype)
    share = dout / (kh * kw)
    dx = np.zeros_like(x)
    for _, _, view in _offsets(dx, (kh, kw), (sh, sw), (ho, wo)):
        view += share
    return dx
