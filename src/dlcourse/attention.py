r"""Self-attention, as written in lecture 004 (Chan-Hon-Tong, slide "Transformer").

The slide: for :math:`H = h_1, \dots, h_R`, :math:`R` vectors of dimension :math:`D`,

.. math::

    S(H) = \mathrm{softmax}\left(\frac{(QH)(KH)^T}{\sqrt{L}}\right)(VH),
    \qquad Q, K \in \mathbb R^{L \times D}.

**Convention used here (rows are tokens).** ``H`` is an array of shape (R, D) whose row
:math:`r` is :math:`h_r^T`, and the lecture's :math:`QH` is read as "apply :math:`Q` to
every :math:`h_r`": the (R, L) matrix whose row :math:`r` is :math:`(Q h_r)^T`, that is
``H @ Wq.T``. Likewise :math:`KH` = ``H @ Wk.T`` (R, L) and :math:`VH` = ``H @ Wv.T``
(R, Dv). Then :math:`(QH)(KH)^T` is the (R, R) matrix of scores
:math:`\langle Q h_r, K h_s \rangle`, the softmax is taken along each row (over
:math:`s`, so each row of weights sums to 1) and row :math:`r` of the (R, Dv) result is
:math:`\sum_s a_{rs}\, V h_s`. :math:`L` is the number of rows of :math:`Q` and
:math:`K`, the dimension of queries and keys; dividing by :math:`\sqrt L` keeps the
scores of order 1 when the entries are. (Reading :math:`H` literally as a D×R matrix of
columns would make :math:`(QH)(KH)^T` an L×L matrix, which is not an attention between
the R vectors.) The weight matrices ``Wq, Wk, Wv`` have the (out, in) layout of
``torch.nn.Linear`` weights; their size does not depend on :math:`R`, as the slide
stresses. This is ``torch.nn.functional.scaled_dot_product_attention(H @ Wq.T,
H @ Wk.T, H @ Wv.T)``.

A leading batch axis is accepted: ``H`` of shape (N, R, D) gives (N, R, Dv).
"""

from __future__ import annotations

import numpy as np

from ._checks import _fail, as_float_array, boolean, positive_int
from ._checks import error as _error

__all__ = ["self_attention", "masked_self_attention", "scaled_dot_product_attention",
           "causal_mask"]


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    """Softmax along the last axis; subtracting the row maximum avoids overflow."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def causal_mask(n: int) -> np.ndarray:
    r"""Boolean (n, n) mask letting position :math:`r` attend to positions :math:`s \le r`.

    ``True`` means "may attend", as the boolean ``attn_mask`` of
    ``torch.nn.functional.scaled_dot_product_attention``.

    Examples
    --------
    >>> causal_mask(3).astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
    """
    n = positive_int(n, "n", "causal_mask")
    return np.tril(np.ones((n, n), dtype=bool))


def _check_mask(mask, scores_shape: tuple[int, ...], func: str) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.dtype != bool:
        got = (f"an array of dtype {mask.dtype}" if isinstance(mask, np.ndarray)
               else f"a {type(mask).__name__}")
        _error(func, "mask", "a boolean ndarray (True = may attend)", got, TypeError)
    R = scores_shape[-1]
    if mask.shape not in ((R, R), scores_shape):
        want = " or ".join(dict.fromkeys([f"({R}, {R})", str(scores_shape)]))
        _error(func, "mask", f"an array of shape {want}", f"an array of shape {mask.shape}")
    if not mask.any(axis=-1).all():
        # An all-False row would give softmax(-inf, ..., -inf) = 0/0.
        _error(func, "mask", "a mask with at least one True per row", "a row of False")
    return mask


def scaled_dot_product_attention(Q: np.ndarray, K: np.ndarray, V: np.ndarray,
                                 mask: np.ndarray | None = None,
                                 return_weights: bool = False):
    r"""Attention of queries on keys: :math:`\mathrm{softmax}(Q K^T/\sqrt L)\, V`.

    Rows are tokens; the softmax runs along each row; masked scores are set to
    :math:`-\infty` (weight 0). Same as
    ``torch.nn.functional.scaled_dot_product_attention`` with a boolean mask.

    Parameters
    ----------
    Q, K : ndarray of shape (R, L) or (N, R, L)
        Queries and keys, one per row.
    V : ndarray of shape (R, Dv) or (N, R, Dv)
    mask : bool ndarray of shape (R, R) or (N, R, R), optional
        ``mask[r, s]`` True if row ``r`` may attend to row ``s``.
    return_weights : bool, default False
        Also return the attention weights A, shape (R, R) or (N, R, R).

    Returns
    -------
    S : ndarray of shape (R, Dv) or (N, R, Dv)
    A : ndarray (only if ``return_weights``)

    Examples
    --------
    >>> Q = K = np.eye(2)
    >>> V = np.array([[1.0], [3.0]])
    >>> S, A = scaled_dot_product_attention(Q, K, V, return_weights=True)
    >>> A.sum(axis=1)
    array([1., 1.])
    """
    f = "scaled_dot_product_attention"
    Q = as_float_array(Q, "Q", f, ndim=(2, 3), shape_doc="(R, L) or (N, R, L)")
    K = as_float_array(K, "K", f, ndim=Q.ndim, shape_doc=f"{Q.ndim}-D like Q")
    V = as_float_array(V, "V", f, ndim=Q.ndim, shape_doc=f"{Q.ndim}-D like Q")
    if K.shape != Q.shape:
        _error(f, "K", f"an array of shape {Q.shape} (as Q)", f"an array of shape {K.shape}")
    if V.shape[:-1] != Q.shape[:-1]:
        _error(f, "V", f"an array of shape ({', '.join(map(str, Q.shape[:-1]))}, Dv)",
               f"an array of shape {V.shape}")
    if 0 in Q.shape or 0 in V.shape:
        _error(f, "Q", "an array with no empty dimension", f"an array of shape {Q.shape}")
    return _attend(Q, K, V, mask, return_weights, f)


def _attend(Q, K, V, mask, return_weights, func):
    """softmax(Q K^T / sqrt(L)) V on validated arrays; ``func`` names the public caller."""
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if mask is not None:
        scores = np.where(_check_mask(mask, scores.shape, func), scores, -np.inf)
    A = _softmax_rows(scores)
    S = A @ V
    return (S, A) if return_weights else S


def self_attention(H: np.ndarray, Wq: np.ndarray, Wk: np.ndarray, Wv: np.ndarray,
                   mask: np.ndarray | None = None, return_weights: bool = False):
    r"""Self-attention of lecture 004:
    :math:`S(H) = \mathrm{softmax}\big((QH)(KH)^T/\sqrt L\big)(VH)`.

    Rows are tokens: :math:`QH` is ``H @ Wq.T`` (see the module docstring for the
    convention). Lecture 004 (Chan-Hon-Tong), slide "Transformer".

    Parameters
    ----------
    H : ndarray of shape (R, D) or (N, R, D)
        The R input vectors, one per row.
    Wq, Wk : ndarray of shape (L, D)
        The lecture's Q and K.
    Wv : ndarray of shape (Dv, D)
        The lecture's V.
    mask : bool ndarray of shape (R, R) or (N, R, R), optional
        True where row r may attend to row s (see :func:`causal_mask`).
    return_weights : bool, default False
        Also return the (R, R) (or (N, R, R)) attention weights.

    Returns
    -------
    S : ndarray of shape (R, Dv) or (N, R, Dv)
    A : ndarray (only if ``return_weights``)

    Examples
    --------
    >>> H = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> W0 = np.zeros((2, 2))  # zero scores: uniform weights, S = mean of the values
    >>> self_attention(H, W0, W0, np.eye(2))
    array([[0.66666667, 0.66666667],
           [0.66666667, 0.66666667],
           [0.66666667, 0.66666667]])
    """
    return _self_attention(H, Wq, Wk, Wv, mask, return_weights, "self_attention")


def _self_attention(H, Wq, Wk, Wv, mask, return_weights, f):
    H = as_float_array(H, "H", f, ndim=(2, 3), shape_doc="(R, D) or (N, R, D)")
    if 0 in H.shape:
        _error(f, "H", "an array of shape (R, D) or (N, R, D) with every size >= 1",
               f"an array of shape {H.shape}")
    return_weights = boolean(return_weights, "return_weights", f)
    D = H.shape[-1]
    W = {}
    for name, value in (("Wq", Wq), ("Wk", Wk), ("Wv", Wv)):
        rows = "Dv" if name == "Wv" else "L"
        W[name] = as_float_array(value, name, f, ndim=2, shape_doc=f"({rows}, {D})")
        if W[name].shape[1] != D or W[name].shape[0] == 0:
            _error(f, name, f"an array of shape ({rows}, {D}) with {rows} >= 1",
                   f"an array of shape {W[name].shape}")
    if W["Wk"].shape != W["Wq"].shape:
        _error(f, "Wk", f"an array of shape {W['Wq'].shape} (as Wq)",
               f"an array of shape {W['Wk'].shape}")
    Wq, Wk, Wv = W["Wq"], W["Wk"], W["Wv"]
    return _attend(H @ Wq.T, H @ Wk.T, H @ Wv.T, mask, return_weights, f)


def masked_self_attention(H: np.ndarray, Wq: np.ndarray, Wk: np.ndarray, Wv: np.ndarray,
                          mask: np.ndarray, return_weights: bool = False):
    r"""Self-attention where row r only attends to the rows s with ``mask[r, s]`` True.

    .. math::

        S(H) = \mathrm{softmax}\left(\frac{(QH)(KH)^T}{\sqrt{L}} + M\right)(VH),
        \qquad M_{rs} = 0 \text{ if allowed, } -\infty \text{ otherwise}.

    Same parameters as :func:`self_attention`, ``mask`` being required; with
    ``causal_mask(R)`` token r sees only tokens 1..r (decoder of a Transformer).

    Examples
    --------
    >>> H = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> S = masked_self_attention(H, np.eye(2), np.eye(2), np.eye(2), causal_mask(2))
    >>> S[0]  # the first token only sees itself
    array([1., 0.])
    """
    if mask is None:
        _fail("masked_self_attention", "mask", "a boolean ndarray", None, TypeError)
    return _self_attention(H, Wq, Wk, Wv, mask, return_weights, "masked_self_attention")
