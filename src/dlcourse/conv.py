"""2-D convolution: forward and backward passes, loop and vectorised, and image kernels.

All tensors follow PyTorch's layout: inputs ``x`` of shape ``(N, C, H, W)`` (batch,
channels, height, width), filters ``w`` of shape ``(F, C, kh, kw)``, biases ``b`` of
shape ``(F,)``, outputs of shape ``(N, F, H', W')``. Like ``torch.nn.functional.conv2d``
(and every deep-learning library), "convolution" here is a cross-correlation: the
kernel is not flipped.

Two implementations of each pass are provided and tested equal:

* ``conv2d_naive`` / ``conv2d_backward_naive``: explicit loops over the output
  positions, one line per term of the lecture's formulas. Read these.
* ``conv2d`` / ``conv2d_backward``: the same sums computed as matrix products on the
  "im2col" matrix of all receptive fields, the batch cut into cache-sized chunks run
  on a few threads. Use these: ``bench/conv.py`` compares them with PyTorch.

Lectures: 000 (Lefort), "Couche de convolution - Bilan" (output size); 001 (Mahmoudi),
"Extraction de caractéristiques et filtrage d'image" (image kernels); 002 (Boulch et
al.), "Convolution" forward and backward; 004 (Chan-Hon-Tong), "Convolution", "Gabor".

Example
-------
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> conv2d(x, np.ones((1, 1, 2, 2)), stride=2)[0, 0]
array([[10., 18.],
       [42., 50.]])
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided
from numpy.typing import ArrayLike

from ._checks import _fail, as_float_array, one_of, positive_int

__all__ = [
    "conv_output_size", "conv2d", "conv2d_naive", "conv2d_backward", "conv2d_backward_naive",
    "KERNELS", "filter_image",
]

IntOrPair = int | tuple[int, int]


# --------------------------------------------------------------------------- validation

def _pair(value: Any, name: str, func: str, allow_zero: bool = False) -> tuple[int, int]:
    """An int or a pair of ints (vertical, horizontal), as PyTorch accepts."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            kind = "a non-negative" if allow_zero else "a positive"
            _fail(func, name, f"{kind} integer or a pair of them", value)
        try:
            return (positive_int(value[0], name, func, allow_zero),
                    positive_int(value[1], name, func, allow_zero))
        except ValueError:
            kind = "non-negative" if allow_zero else "positive"
            _fail(func, name, f"a {kind} integer or a pair of {kind} integers", value)
    v = positive_int(value, name, func, allow_zero)
    return v, v


def _as_tensor(value: Any, name: str, func: str, shape_doc: str) -> np.ndarray:
    """A 4-D float array; float32 stays float32 (for speed), anything else becomes float64.

    NaN and infinities are not refused: they propagate, as in PyTorch.
    """
    if isinstance(value, np.ndarray) and value.dtype in (np.float32, np.float64):
        arr = value
    else:
        arr = as_float_array(value, name, func)
    if arr.ndim != 4:
        raise ValueError(f"The '{name}' parameter of {func} must be an array of shape "
                         f"{shape_doc}. Got an array of shape {arr.shape} instead.")
    return arr


def _check_conv(func: str, x: Any, w: Any, stride: Any, padding: Any):
    """Validate conv2d arguments; return x, w, (sh, sw), (ph, pw), (Ho, Wo), dtype."""
    x = _as_tensor(x, "x", func, "(N, C, H, W)")
    w = _as_tensor(w, "w", func, "(F, C, kh, kw)")
    sh, sw = _pair(stride, "stride", func)
    ph, pw = _pair(padding, "padding", func, allow_zero=True)
    c = x.shape[1]
    if w.shape[1] != c:
        raise ValueError(f"The 'w' parameter of {func} must be an array of shape (F, {c}, kh, kw): "
                         f"its channel count must match x's {c} channels. "
                         f"Got an array of shape {w.shape} instead.")
    if 0 in x.shape or 0 in w.shape:
        raise ValueError(f"The 'x' and 'w' parameters of {func} must be non-empty. "
                         f"Got shapes {x.shape} and {w.shape} instead.")
    kh, kw = w.shape[2:]
    h, wd = x.shape[2:]
    if kh > h + 2 * ph or kw > wd + 2 * pw:
        raise ValueError(
            f"The 'w' parameter of {func} must be an array of shape (F, {c}, kh, kw) with "
            f"kh <= H + 2*padding = {h + 2 * ph} and kw <= W + 2*padding = {wd + 2 * pw}: "
            f"the kernel must fit in the padded input. Got an array of shape {w.shape} instead.")
    out_hw = ((h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1)
    dtype = np.result_type(x.dtype, w.dtype)
    return x, w, (sh, sw), (ph, pw), out_hw, dtype


def _check_bias(b: Any, func: str, f: int, dtype) -> np.ndarray | None:
    if b is None:
        return None
    if isinstance(b, np.ndarray) and b.dtype in (np.float32, np.float64):
        arr = b
    else:
        arr = as_float_array(b, "b", func)
    if arr.shape != (f,):
        raise ValueError(f"The 'b' parameter of {func} must be an array of shape ({f},), "
                         f"one bias per filter. Got an array of shape {arr.shape} instead.")
    return arr.astype(dtype, copy=False)


def _check_dout(dout: Any, func: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    d = _as_tensor(dout, "dout", func, str(shape))
    if d.shape != shape:
        raise ValueError(f"The 'dout' parameter of {func} must be an array of shape {shape}, "
                         f"the shape of the layer's output. Got an array of shape {d.shape} "
                         f"instead.")
    return d.astype(dtype, copy=False)


def _pad(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """Zero-pad the two spatial axes of an (N, C, H, W) array."""
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


# --------------------------------------------------------------------------- output size

def conv_output_size(n: int, kernel_size: int, padding: int = 0, stride: int = 1) -> int:
    r"""Size of a convolution (or pooling) output along one spatial axis.

    .. math:: n_{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1

    the number of positions of the kernel in the padded input (Lecture 000, Lefort,
    slide "Couche de convolution - Bilan").

    Parameters
    ----------
    n : int
        Input size (height or width), >= 1.
    kernel_size : int
        Kernel size k, >= 1.
    padding : int, default 0
        Zeros added on each side, p >= 0.
    stride : int, default 1
        Step s between two positions of the kernel, >= 1.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If a parameter is out of range or the kernel is larger than the padded input
        (the output would be empty).

    Examples
    --------
    >>> conv_output_size(31, 3, padding=1, stride=2)
    16
    >>> conv_output_size(28, 5, padding=2)
    28
    """
    func = "conv_output_size"
    n = positive_int(n, "n", func)
    kernel_size = positive_int(kernel_size, "kernel_size", func)
    padding = positive_int(padding, "padding", func, allow_zero=True)
    stride = positive_int(stride, "stride", func)
    if kernel_size > n + 2 * padding:
        _fail(func, "kernel_size", f"at most n + 2*padding = {n + 2 * padding} "
              "(the kernel must fit in the padded input)", kernel_size)
    return (n + 2 * padding - kernel_size) // stride + 1


# --------------------------------------------------------------------------- forward

def conv2d_naive(x: ArrayLike, w: ArrayLike, b: ArrayLike | None = None,
                 stride: IntOrPair = 1, padding: IntOrPair = 0) -> np.ndarray:
    r"""2-D convolution (cross-correlation) with explicit loops: the formula of the slide.

    .. math:: y_{n,f,i,j} = b_f + \sum_{c} \sum_{a} \sum_{b}
              w_{f,c,a,b}\; x^{pad}_{n,\,c,\,s i + a,\,s j + b}

    (Lecture 002, Boulch et al., slide "Convolution", forward:
    :math:`x^l_{i,j} = \sum_a \sum_b \omega_{a,b}\, y^{l-1}_{i+a,j+b}`, here with channels,
    a batch, a stride :math:`s` and zero padding.)

    Parameters and result: see :func:`conv2d`, which computes the same thing much faster.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv2d_naive(x, np.ones((1, 1, 2, 2)))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    x, w, (sh, sw), (ph, pw), (ho, wo), dtype = _check_conv("conv2d_naive", x, w, stride, padding)
    nf, _, kh, kw = w.shape
    b = _check_bias(b, "conv2d_naive", nf, dtype)
    xp = _pad(x, ph, pw)
    y = np.zeros((x.shape[0], nf, ho, wo), dtype=dtype)
    for n in range(x.shape[0]):
        for f in range(nf):
            for i in range(ho):
                for j in range(wo):
                    field = xp[n, :, sh * i:sh * i + kh, sw * j:sw * j + kw]  # receptive field
                    y[n, f, i, j] = np.sum(w[f] * field) + (b[f] if b is not None else 0.0)
    return y


def _im2col(x: np.ndarray, kh: int, kw: int, stride, padding, ones: bool) -> np.ndarray:
    """All receptive fields, one per column: array of shape (N, C*kh*kw [+ 1], H'*W').

    A strided view of the padded input lists every window without copying: its element
    (n, c, a, b, i, j) is ``xp[n, c, s_h*i + a, s_w*j + b]``. One copy lays each window out
    as a column of the matrix product. With ``ones`` a last row of 1 is appended: the bias
    is then the weight of a constant input, as the x0 = 1 of the perceptron (Lecture 000),
    and comes out of the same product.
    """
    (sh, sw), (ph, pw) = stride, padding
    xp = _pad(x, ph, pw)
    n, c, hp, wp = xp.shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    sn, sc, sy, sx = xp.strides
    win = as_strided(xp, (n, c, kh, kw, ho, wo), (sn, sc, sy, sx, sh * sy, sw * sx), writeable=False)
    ckk = c * kh * kw
    cols = np.empty((n, ckk + ones, ho * wo), dtype=x.dtype)
    cols[:, :ckk].reshape(win.shape)[...] = win
    if ones:
        cols[:, ckk] = 1.0
    return cols


def _col2im(dcols: np.ndarray, shape, kh: int, kw: int, stride, padding) -> np.ndarray:
    """Inverse of the im2col layout: add each column back onto its receptive field.

    ``dcols`` of shape (N, C*kh*kw, H'*W') -> (N, C, H, W). One strided slice-add per
    kernel offset (a, b), so that overlapping fields (stride < kernel) add up.
    """
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, w = shape
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    dcols = dcols.reshape(n, c, kh, kw, ho, wo)
    dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dcols.dtype)
    for a in range(kh):
        for b in range(kw):
            dxp[:, :, a:a + sh * ho:sh, b:b + sw * wo:sw] += dcols[:, :, a, b]
    return dxp[:, :, ph:ph + h, pw:pw + w]


# Batches are cut into chunks of about a core's L2 cache (2 MB on the machines measured:
# whole-batch temporaries of several MB made every pass go to memory, while smaller chunks
# paid more per-chunk Python overhead: 768 KiB measured 10-25 % slower on a quiet machine),
# and the chunks are shared among a few threads: NumPy releases the GIL inside copies,
# ufuncs and matrix products.
_WORKERS = os.cpu_count() or 1
_CHUNK_BYTES = 1 << 21  # im2col bytes per chunk (2 MiB)
_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    global _pool
    _pool = None  # a forked child has no threads: it builds its own pool


if hasattr(os, "register_at_fork"):  # POSIX only
    os.register_at_fork(after_in_child=_forget_pool)


def _map_batch(work, n: int, sample_bytes: int) -> list:
    """Return ``[work(chunk) for chunk in slices of range(n)]``, in threads when worth it.

    Thread i runs chunks i, i + k, i + 2k, ... in order (k threads); the chunks and the
    order of the results depend only on the shapes and ``_WORKERS``, so sums over them
    are reproducible.
    """
    global _pool
    size = max(1, _CHUNK_BYTES // sample_bytes)
    chunks = [slice(i, min(i + size, n)) for i in range(0, n, size)]
    workers = min(_WORKERS, len(chunks))
    if workers == 1 or n * sample_bytes < 2 * _CHUNK_BYTES:
        return [work(chunk) for chunk in chunks]
    if _pool is None:
        _pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="dlcourse-conv")
    shares = [chunks[i::workers] for i in range(workers)]
    return [r for done in _pool.map(lambda share: [work(c) for c in share], shares) for r in done]


def conv2d(x: ArrayLike, w: ArrayLike, b: ArrayLike | None = None,
           stride: IntOrPair = 1, padding: IntOrPair = 0) -> np.ndarray:
    r"""2-D convolution (cross-correlation, as ``torch.nn.functional.conv2d``), vectorised.

    .. math:: y_{n,f,i,j} = b_f + \sum_{c=1}^{C} \sum_{a=0}^{k_h-1} \sum_{b=0}^{k_w-1}
              w_{f,c,a,b}\; x^{pad}_{n,\,c,\,s_h i + a,\,s_w j + b}

    with :math:`x^{pad}` the input surrounded by ``padding`` zeros (Lecture 002, Boulch et
    al., slide "Convolution"; Lecture 000, Lefort, "Couche de convolution" for padding and
    stride). Each output is the dot product of a filter with one receptive field, so all of
    them form a single matrix product :math:`Y = W_{F \times Ckk}\, X_{col}` where the
    columns of :math:`X_{col}` ("im2col") are the receptive fields. The batch is cut
    into chunks small enough to stay in cache, shared among a few threads (NumPy releases
    the GIL in copies and matrix products); the chunks depend only on the shapes and the
    number of cores, so results are reproducible.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input batch.
    w : ndarray of shape (F, C, kh, kw)
        F filters.
    b : ndarray of shape (F,), optional
        One bias per filter.
    stride : int or (int, int), default 1
        Step of the kernel, >= 1.
    padding : int or (int, int), default 0
        Zeros added on each side of both spatial axes, >= 0.

    Returns
    -------
    y : ndarray of shape (N, F, H', W')
        :math:`H' = \lfloor (H + 2p - k_h)/s \rfloor + 1` (see :func:`conv_output_size`),
        same for :math:`W'`. float32 if ``x`` and ``w`` are float32, else float64.

    Raises
    ------
    ValueError
        Wrong number of dimensions, channel mismatch, stride < 1, padding < 0, kernel larger
        than the padded input, bias of the wrong shape.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv2d(x, np.ones((1, 1, 2, 2)), b=np.array([1.0]))[0, 0]
    array([[ 9., 13.],
           [21., 25.]])
    """
    x, w, stride, padding, (ho, wo), dtype = _check_conv("conv2d", x, w, stride, padding)
    nf, c, kh, kw = w.shape
    b = _check_bias(b, "conv2d", nf, dtype)
    x = x.astype(dtype, copy=False)
    w2 = w.reshape(nf, c * kh * kw).astype(dtype, copy=False)
    if b is not None:  # the bias is the weight of the row of ones of im2col
        w2 = np.concatenate([w2, b[:, None]], axis=1)
    y = np.empty((x.shape[0], nf, ho * wo), dtype=dtype)

    def work(chunk: slice) -> None:
        np.matmul(w2, _im2col(x[chunk], kh, kw, stride, padding, b is not None), out=y[chunk])

    _map_batch(work, x.shape[0], w2.shape[1] * ho * wo * y.itemsize)
    return y.reshape(x.shape[0], nf, ho, wo)


# --------------------------------------------------------------------------- backward

def conv2d_backward_naive(dout: ArrayLike, x: ArrayLike, w: ArrayLike, stride: IntOrPair = 1,
                          padding: IntOrPair = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of a convolution with explicit loops (see :func:`conv2d_backward`).

    Each output :math:`y_{n,f,i,j}` received :math:`\delta_{n,f,i,j}` = ``dout[n, f, i, j]``;
    it was :math:`b_f + \sum w_f \odot \text{field}`, so it sends
    :math:`\delta \cdot \text{field}` to :math:`w_f`, :math:`\delta` to :math:`b_f` and
    :math:`\delta \cdot w_f` back to the field (Lecture 002, slides "Convolution"
    backward). Parameters and results: see :func:`conv2d_backward`.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> dx, dw, db = conv2d_backward_naive(np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 2, 2)))
    >>> dx[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    func = "conv2d_backward_naive"
    x, w, (sh, sw), (ph, pw), (ho, wo), dtype = _check_conv(func, x, w, stride, padding)
    nf, _, kh, kw = w.shape
    n_batch, _, h, wd = x.shape
    dout = _check_dout(dout, func, (n_batch, nf, ho, wo), dtype)
    xp = _pad(x, ph, pw)
    dxp = np.zeros(xp.shape, dtype=dtype)
    dw = np.zeros(w.shape, dtype=dtype)
    db = np.zeros(nf, dtype=dtype)
    for n in range(n_batch):
        for f in range(nf):
            for i in range(ho):
                for j in range(wo):
                    delta = dout[n, f, i, j]
                    rows, cols = slice(sh * i, sh * i + kh), slice(sw * j, sw * j + kw)
                    db[f] += delta
                    dw[f] += delta * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += delta * w[f]
    return dxp[:, :, ph:ph + h, pw:pw + wd].copy(), dw, db


def conv2d_backward(dout: ArrayLike, x: ArrayLike, w: ArrayLike, stride: IntOrPair = 1,
                    padding: IntOrPair = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of :func:`conv2d` with respect to its input, filters and biases.

    With :math:`\delta_{n,f,i,j} = \partial E / \partial y_{n,f,i,j}` (``dout``):

    .. math::
        \frac{\partial E}{\partial b_f} = \sum_{n,i,j} \delta_{n,f,i,j}, \qquad
        \frac{\partial E}{\partial w_{f,c,a,b}} = \sum_{n,i,j} \delta_{n,f,i,j}\,
            x^{pad}_{n,\,c,\,s i + a,\,s j + b},

    .. math::
        \frac{\partial E}{\partial x^{pad}_{n,c,u,v}} = \sum_{f} \sum_{\substack{a, i \\
            s i + a = u}} \sum_{\substack{b, j \\ s j + b = v}} \delta_{n,f,i,j}\, w_{f,c,a,b}

    (Lecture 002, Boulch et al., slides "Convolution" backward: the weight gradient sums
    :math:`\frac{\partial E}{\partial x_{i,j}} y_{i+a,j+b}` over positions since the weights
    are shared — the slide writes :math:`y_{i,j}`, the field's shift is implicit — and the
    error sent back is :math:`\sum_a \sum_b \frac{\partial E}{\partial x_{i-a,j-b}}\,
    \omega_{a,b}`, a "full" convolution with the flipped kernel.) Vectorised as two matrix
    products on the im2col matrix :math:`X_{col}`: :math:`dW = \Delta X_{col}^T` and
    :math:`dX_{col} = W^T \Delta`, then "col2im" adds each column of :math:`dX_{col}` back
    where its receptive field came from, one kernel offset :math:`(a, b)` at a time.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W')
        Upstream gradient :math:`\delta`.
    x : ndarray of shape (N, C, H, W)
        The forward input.
    w : ndarray of shape (F, C, kh, kw)
        The filters.
    stride, padding : int or (int, int)
        As in the forward call.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (F, C, kh, kw)
    db : ndarray of shape (F,)

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 2, 2)))
    >>> dw[0, 0], db
    (array([[ 8., 12.],
           [20., 24.]]), array([4.]))
    """
    func = "conv2d_backward"
    x, w, stride, padding, (ho, wo), dtype = _check_conv(func, x, w, stride, padding)
    nf, c, kh, kw = w.shape
    n_batch = x.shape[0]
    delta = _check_dout(dout, func, (n_batch, nf, ho, wo), dtype).reshape(n_batch, nf, ho * wo)
    x = x.astype(dtype, copy=False)
    w2 = w.reshape(nf, c * kh * kw).astype(dtype, copy=False)
    dx = np.empty(x.shape, dtype=dtype)

    def work(chunk: slice) -> np.ndarray:
        cols = _im2col(x[chunk], kh, kw, stride, padding, ones=True)
        d = delta[chunk]
        dx[chunk] = _col2im(np.matmul(w2.T, d), dx[chunk].shape, kh, kw, stride, padding)
        return np.matmul(d, cols.transpose(0, 2, 1)).sum(axis=0)  # [dW | db] of the chunk

    dwb = sum(_map_batch(work, n_batch, (c * kh * kw + 1) * ho * wo * dx.itemsize))
    return dx, dwb[:, :-1].reshape(w.shape), dwb[:, -1].copy()


# --------------------------------------------------------------------------- image kernels

def _kernels() -> dict[str, np.ndarray]:
    sobel_x = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    gauss5 = np.array([[0, 1, 2, 1, 0], [1, 3, 5, 3, 1], [2, 5, 9, 5, 2],
                       [1, 3, 5, 3, 1], [0, 1, 2, 1, 0]], dtype=np.float64)
    kernels = {
        "identity": np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
        "sharpen": np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
        "blur": np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0,
        "box_blur": np.full((3, 3), 1.0 / 9.0),
        "gaussian_5x5": gauss5 / gauss5.sum(),
        "laplacian_of_gaussian": np.array(
            [[0, 0, -1, 0, 0], [0, -1, -2, -1, 0], [-1, -2, 16, -2, -1],
             [0, -1, -2, -1, 0], [0, 0, -1, 0, 0]], dtype=np.float64),
        "sobel_x": sobel_x,
        "sobel_y": sobel_x.T.copy(),
    }
    for k in kernels.values():
        k.setflags(write=False)  # shared module constants: copy before editing
    return kernels


#: The image kernels of the lectures, by name, as read-only float64 arrays (3×3 unless
#: named otherwise). Filter an image with :func:`filter_image`.
#:
#: * ``"identity"``: leaves the image unchanged (the reference of setosa.io's demo,
#:   linked from Lecture 001).
#: * ``"sharpen"``: :math:`5` at the centre, :math:`-1` at the four neighbours (Lecture 001,
#:   Mahmoudi, "Exemple de convolution", giving 114; Lecture 004, Chan-Hon-Tong,
#:   "Convolution").
#: * ``"blur"``: the Gaussian :math:`\frac{1}{16}[[1,2,1],[2,4,2],[1,2,1]]`, weights 0.0625,
#:   0.125, 0.25 (Lecture 001, blur example giving 178).
#: * ``"box_blur"``: the plain mean of the 3×3 neighbourhood, the 2-D version of the moving
#:   average :math:`\frac{1}{3}(g(x-1) + g(x) + g(x+1))` of Lecture 003 (Panloup).
#: * ``"gaussian_5x5"`` and ``"laplacian_of_gaussian"``: filters (b) and (c) of Lecture 001,
#:   "Exemples de filtres" (the first normalised to sum 1; the second sums to 0 and
#:   responds to edges and spots).
#: * ``"sobel_x"``: :math:`G_x = [[-1,0,1],[-2,0,2],[-1,0,1]]`, positive where intensity
#:   increases to the right (Lectures 001 and 004). ``"sobel_y"``: its transpose
#:   :math:`[[-1,-2,-1],[0,0,0],[1,2,1]]`, positive where intensity increases downwards,
#:   as written in Lecture 004; Lecture 001 shows the opposite sign (y axis pointing up).
KERNELS: dict[str, np.ndarray] = _kernels()


def filter_image(image: ArrayLike, kernel: ArrayLike | str, padding: int | str = "same",
                 padding_mode: str = "zeros") -> np.ndarray:
    r"""Filter one grey-level image with one kernel (cross-correlation, as in the slides).

    .. math:: \mathrm{out}_{i,j} = \sum_{a} \sum_{b} K_{a,b}\; I^{pad}_{i+a,\,j+b}

    Lecture 001 (Mahmoudi), "Extraction de caractéristiques et filtrage d'image";
    Lecture 004 (Chan-Hon-Tong), "Convolution". The kernels are symmetric or, for Sobel,
    given in correlation form, so flipping would only change signs.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey levels (any scale, e.g. 0–255).
    kernel : ndarray of shape (kh, kw) or str
        A kernel, or the name of one of :data:`KERNELS` (e.g. ``"sharpen"``).
    padding : int or {"same", "valid"}, default "same"
        Pixels added on each side. ``"same"`` keeps the size (odd kernels only: pads by
        ``(k - 1) // 2``), ``"valid"`` is 0 (only positions where the kernel fits).
    padding_mode : {"zeros", "replicate"}, default "zeros"
        Value of the added pixels: 0 (as in the slide giving 114), or a copy of the nearest
        border pixel (as in Lecture 004's sharpen example, whose border stays at 100).

    Returns
    -------
    ndarray of shape (H', W'), float64
        :math:`H' = H + 2p - k_h + 1`, same for :math:`W'`. Not clipped to 0–255.

    Examples
    --------
    >>> image = np.full((5, 5), 100.0)
    >>> image[2, 2] = 150.0
    >>> filter_image(image, "sharpen", padding="valid")
    array([[100.,  50., 100.],
           [ 50., 350.,  50.],
           [100.,  50., 100.]])
    """
    func = "filter_image"
    img = as_float_array(image, "image", func, ndim=2, shape_doc="(H, W)")
    if isinstance(kernel, str):
        one_of(kernel, "kernel", func, tuple(KERNELS))
        k = KERNELS[kernel]
    else:
        k = as_float_array(kernel, "kernel", func, ndim=2, shape_doc="(kh, kw)")
    one_of(padding_mode, "padding_mode", func, ("zeros", "replicate"))
    kh, kw = k.shape
    if isinstance(padding, str):
        one_of(padding, "padding", func, ("same", "valid"))
        if padding == "same" and (kh % 2 == 0 or kw % 2 == 0):
            _fail(func, "kernel", "of odd size for padding='same'", k.shape)
        ph, pw = ((kh - 1) // 2, (kw - 1) // 2) if padding == "same" else (0, 0)
    else:
        ph, pw = _pair(padding, "padding", func, allow_zero=True)
    if padding_mode == "replicate":
        img = np.pad(img, ((ph, ph), (pw, pw)), mode="edge")
        ph = pw = 0
    try:
        out = conv2d(img[None, None], k[None, None], padding=(ph, pw))
    except ValueError:
        raise ValueError(f"The 'kernel' parameter of {func} must fit in the padded image "
                         f"({img.shape[0] + 2 * ph}, {img.shape[1] + 2 * pw}). "
                         f"Got a kernel of shape {k.shape} instead.") from None
    return out[0, 0]
