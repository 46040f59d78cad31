"""Layers and tricks of lecture 002 (Boulch et al.): batch normalisation, dropout and
weight initialisation, in NumPy.

Forward/backward pairs follow the CS231n convention: ``*_forward`` returns ``(out,
cache)`` and ``*_backward(dout, cache)`` returns the gradients, ``dout`` being
:math:`\\partial E/\\partial\\,\\text{out}`. Randomness comes from ``rng``: a
``numpy.random.Generator``, an integer seed, or ``None`` (fresh entropy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import _fail, as_float_array, boolean, positive_float, positive_int
from ._checks import error as _error

__all__ = ["batchnorm_forward", "batchnorm_backward", "dropout", "dropout_backward",
           "xavier_uniform", "xavier_normal", "he_normal"]


def _as_generator(rng: Any, func: str) -> np.random.Generator:
    """A Generator from a Generator, a non-negative integer seed or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    _fail(func, "rng", "a numpy.random.Generator, a non-negative integer seed or None",
          rng, TypeError)


# --------------------------------------------------------------------------- batch-norm

def _channel_axes(x: np.ndarray) -> tuple[int, ...]:
    """Axes averaged over: the batch for (N, D), batch and space for (N, C, H, W)."""
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _per_channel(a: np.ndarray, ndim: int) -> np.ndarray:
    """Reshape a (C,) vector so that it broadcasts along axis 1 of an ndim-D array."""
    return a if ndim == 2 else a.reshape(1, -1, 1, 1)


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5,
                      training: bool = True, running: dict | None = None,
                      momentum: float = 0.1) -> tuple[np.ndarray, dict]:
    r"""Batch normalisation, per feature (N, D) or per channel (N, C, H, W).

    .. math::

        y^{*} = \frac{y - \mu}{\sqrt{\sigma^2 + \epsilon}}\,\gamma + \beta

    Lecture 002 (Boulch et al.), slide "Couches : Batch Norm"; Ioffe & Szegedy (2015).
    In training mode :math:`\mu, \sigma^2` are the mean and the *biased* variance over the
    batch (and over H, W for images), one per feature/channel, as in
    ``nn.BatchNorm1d``/``nn.BatchNorm2d``. In evaluation mode they are the running
    estimates, updated at each training step like PyTorch's:

    .. math::

        \mu_{run} \leftarrow (1-m)\,\mu_{run} + m\,\mu, \qquad
        \sigma^2_{run} \leftarrow (1-m)\,\sigma^2_{run} + m\,\frac{M}{M-1}\sigma^2,

    with :math:`m` the ``momentum`` and :math:`M` the number of values averaged per
    channel (the *unbiased* variance goes into the running estimate).

    Parameters
    ----------
    x : ndarray of shape (N, D) or (N, C, H, W)
    gamma, beta : ndarray of shape (D,) or (C,)
        Learned scale and shift.
    eps : float, default 1e-5
    training : bool, default True
        Batch statistics (True) or running statistics (False).
    running : dict or None
        ``{"mean": ndarray (D,)/(C,), "var": ndarray (D,)/(C,)}``, float64; PyTorch
        starts them at 0 and 1. Updated **in place** when ``training`` is True (None: no
        update); required when ``training`` is False.
    momentum : float, default 0.1
        :math:`m \in [0, 1]`.

    Returns
    -------
    out : ndarray, same shape as x
    cache : dict
        What :func:`batchnorm_backward` needs: ``x_hat`` (normalised input),
        ``inv_std`` (:math:`1/\sqrt{\sigma^2+\epsilon}` per channel), ``gamma``,
        ``training``.

    Examples
    --------
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> run = {"mean": np.zeros(2), "var": np.ones(2)}
    >>> out, cache = batchnorm_forward(x, np.ones(2), np.zeros(2), eps=0.0, running=run)
    >>> out
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> run["mean"], run["var"]  # 0.9 * (0, 1) + 0.1 * (mean, unbiased var)
    (array([0.2, 2. ]), array([ 1.1, 20.9]))
    """
    f = "batchnorm_forward"
    x = as_float_array(x, "x", f, ndim=(2, 4), shape_doc="(N, D) or (N, C, H, W)")
    C = x.shape[1]
    gamma = as_float_array(gamma, "gamma", f, ndim=1, shape_doc=f"({C},)")
    beta = as_float_array(beta, "beta", f, ndim=1, shape_doc=f"({C},)")
    for name, a in (("gamma", gamma), ("beta", beta)):
        if a.shape != (C,):
            _error(f, name, f"an array of shape ({C},)", f"an array of shape {a.shape}")
    eps = positive_float(eps, "eps", f, allow_zero=True)
    training = boolean(training, "training", f)
    momentum = positive_float(momentum, "momentum", f, allow_zero=True)
    if momentum > 1:
        _fail(f, "momentum", "in [0, 1]", momentum)
    if running is not None:
        if not isinstance(running, dict) or not {"mean", "var"} <= running.keys():
            _error(f, "running", "a dict with keys 'mean' and 'var'",
                   f"a {type(running).__name__}" if not isinstance(running, dict)
                   else f"keys {list(running)}", TypeError)
        for key in ("mean", "var"):
            r = running[key]
            if not (isinstance(r, np.ndarray) and r.dtype == np.float64 and r.shape == (C,)):
                got = (f"an array of dtype {r.dtype} and shape {r.shape}"
                       if isinstance(r, np.ndarray) else f"a {type(r).__name__}")
                _error(f, f"running['{key}']", f"a float64 ndarray of shape ({C},)", got,
                       TypeError)
        if not (np.all(np.isfinite(running["mean"])) and np.all(running["var"] >= 0)):
            _error(f, "running", "finite means and variances >= 0",
                   f"mean {running['mean']} and var {running['var']}")
    axes = _channel_axes(x)
    M = x.size // C
    if training:
        if M < 2:
            _error(f, "x", "an array with more than 1 value per channel in training mode",
                   f"an array of shape {x.shape}")
        mu = x.mean(axis=axes)
        var = x.var(axis=axes)
        if running is not None:
            running["mean"] *= 1 - momentum
            running["mean"] += momentum * mu
            running["var"] *= 1 - momentum
            running["var"] += momentum * var * M / (M - 1)
    else:
        if running is None:
            _fail(f, "running", "the running statistics dict in evaluation mode", None,
                  ValueError)
        mu, var = running["mean"], running["var"]
    if np.any(var + eps == 0):
        _error(f, "eps", "> 0 here: a channel has zero variance, so 1/sqrt(var + eps) is infinite",
               repr(eps))
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - _per_channel(mu, x.ndim)) * _per_channel(inv_std, x.ndim)
    out = x_hat * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)
    return out, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}


def batchnorm_backward(dout: np.ndarray, cache: dict) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
    r"""Gradients of batch normalisation.

    With :math:`\hat x = (x-\mu)/\sqrt{\sigma^2+\epsilon}` and :math:`M` values per channel,
    sums running over the batch (and H, W):

    .. math::

        \frac{\partial E}{\partial \gamma} = \sum \delta\,\hat x, \qquad
        \frac{\partial E}{\partial \beta} = \sum \delta, \qquad
        \frac{\partial E}{\partial x} = \frac{\gamma}{M\sqrt{\sigma^2+\epsilon}}
        \Big(M\,\delta - \sum \delta - \hat x \sum \delta\,\hat x\Big)

    in training mode, where :math:`\mu` and :math:`\sigma^2` depend on :math:`x`; in
    evaluation mode the statistics are constants and
    :math:`\partial E/\partial x = \gamma\,\delta/\sqrt{\sigma^2_{run}+\epsilon}`.
    Here :math:`\delta = \partial E/\partial y^*` is ``dout``.
    Lecture 002 (Boulch et al.), slide "Couches : Batch Norm"; Ioffe & Szegedy (2015).

    Parameters
    ----------
    dout : ndarray, same shape as the forward's x
    cache : dict
        Returned by :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray, same shape as x
    dgamma, dbeta : ndarray of shape (D,) or (C,)

    Examples
    --------
    >>> x = np.array([[1.0], [3.0]])
    >>> out, cache = batchnorm_forward(x, np.ones(1), np.zeros(1), eps=0.0)
    >>> dx, dgamma, dbeta = batchnorm_backward(np.ones((2, 1)), cache)
    >>> dx.ravel(), dgamma, dbeta  # shifting every output does not depend on x
    (array([0., 0.]), array([0.]), array([2.]))
    """
    if not isinstance(cache, dict) or not {"x_hat", "inv_std", "gamma", "training"} <= cache.keys():
        _error("batchnorm_backward", "cache", "the dict returned by batchnorm_forward",
               f"a {type(cache).__name__}", TypeError)
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dout = as_float_array(dout, "dout", "batchnorm_backward")
    if dout.shape != x_hat.shape:
        _error("batchnorm_backward", "dout", f"an array of shape {x_hat.shape}",
               f"an array of shape {dout.shape}")
    axes, nd = _channel_axes(dout), dout.ndim
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    scale = _per_channel(gamma * inv_std, nd)
    if not cache["training"]:
        return dout * scale, dgamma, dbeta
    M = dout.size // dout.shape[1]
    dx = scale / M * (M * dout - _per_channel(dbeta, nd) - x_hat * _per_channel(dgamma, nd))
    return dx, dgamma, dbeta


# ------------------------------------------------------------------------------ dropout

def dropout(x: np.ndarray, p: float, training: bool = True, rng: Any = None,
            return_mask: bool = False):
    r"""Inverted dropout: zero each value with probability ``p`` while training.

    .. math::

        \text{training: } y = \frac{m \odot x}{1-p},\ m_i \sim \text{Bernoulli}(1-p);
        \qquad \text{test: } y = x.

    Here ``p`` is the probability of **dropping** a unit, as in ``torch.nn.Dropout`` and
    lecture 003 (Panloup, "Dropout"). Lecture 002 (Boulch et al., slide "Dropout") calls
    :math:`p` the probability of **keeping** a unit: it turns units off with probability
    :math:`1-p` during training and, at test time, keeps every unit but weights it by
    :math:`p` (its keep probability), so that each unit sends on average the same signal
    as during training. Inverted dropout moves that factor to training time, dividing
    the kept values by the keep probability :math:`1-p` (our ``p``): the expectation
    :math:`\mathbb E[y] = x` is the same, the test-time network needs no change, and a
    network trained this way equals the lecture's one with its next-layer weights
    multiplied by the keep probability. (Lecture 003 says "reduce the weights by a factor
    p" with p the drop probability; the factor that keeps the mean is the keep
    probability 1 − p.)

    Parameters
    ----------
    x : ndarray of any shape
    p : float
        Drop probability, in [0, 1).
    training : bool, default True
        False: return ``x`` unchanged (test time).
    rng : numpy.random.Generator, int or None
        Source of the mask; an integer seed makes it reproducible.
    return_mask : bool, default False
        Also return the multiplier ``mask`` (:math:`m/(1-p)`, ones at test time) with
        ``out = x * mask``, which :func:`dropout_backward` needs.

    Returns
    -------
    out : ndarray, same shape as x
    mask : ndarray, same shape as x (only if ``return_mask``)

    Examples
    --------
    >>> out = dropout(np.ones(8), p=0.5, rng=0)
    >>> sorted(set(out.tolist()))  # dropped units are 0, kept ones are scaled by 1 / (1 - p)
    [0.0, 2.0]
    >>> dropout(np.ones(3), p=0.5, training=False)
    array([1., 1., 1.])
    """
    x = as_float_array(x, "x", "dropout")
    ok = isinstance(p, (int, float, np.integer, np.floating)) and not isinstance(p, bool)
    if not ok or not 0 <= p < 1:
        _fail("dropout", "p", "a drop probability in [0, 1)", p)
    training = boolean(training, "training", "dropout")
    return_mask = boolean(return_mask, "return_mask", "dropout")
    if training:
        keep = _as_generator(rng, "dropout").random(x.shape) >= p
        mask = keep / (1.0 - p)
    else:
        mask = np.ones_like(x)
    out = x * mask
    return (out, mask) if return_mask else out


def dropout_backward(dout: np.ndarray, mask: np.ndarray) -> np.ndarray:
    r"""Gradient of :func:`dropout`: :math:`\partial E/\partial x = \delta \odot m/(1-p)`.

    Parameters
    ----------
    dout : ndarray
        :math:`\delta = \partial E/\partial y`.
    mask : ndarray, same shape
        The multiplier returned by ``dropout(..., return_mask=True)``.

    Examples
    --------
    >>> out, mask = dropout(np.arange(4.0), p=0.5, rng=1, return_mask=True)
    >>> bool(np.all(dropout_backward(np.ones(4), mask) == mask))
    True
    """
    f = "dropout_backward"
    expected = "the multiplier returned by dropout(..., return_mask=True): 0 or 1/(1-p) everywhere"
    if isinstance(mask, np.ndarray) and mask.dtype == bool:
        _error(f, "mask", expected, "a boolean keep mask (the 1/(1-p) factor would be lost)", TypeError)
    dout = as_float_array(dout, "dout", f)
    mask = as_float_array(mask, "mask", f)
    if dout.shape != mask.shape:
        _error(f, "dout", f"an array of shape {mask.shape}", f"an array of shape {dout.shape}")
    kept = np.unique(mask[mask != 0])
    if len(kept) > 1 or (len(kept) == 1 and kept[0] < 1):
        _error(f, "mask", expected, f"values such as {kept[:3]} (is it dropout's output?)")
    return dout * mask


# ------------------------------------------------------------------------ initialisation

def _fans(n_in: Any, n_out: Any, func: str) -> tuple[int, int]:
    return positive_int(n_in, "n_in", func), positive_int(n_out, "n_out", func)


def xavier_uniform(n_in: int, n_out: int, rng: Any = None) -> np.ndarray:
    r"""Glorot/Xavier uniform weights: :math:`W \sim \mathcal U(-a, a)`,
    :math:`a = \sqrt{6/(n_{in}+n_{out})}`, hence :math:`\mathrm{Var}(W) = a^2/3 =
    2/(n_{in}+n_{out})`.

    Lecture 002 (Boulch et al.), slide "Initialisation Xavier": keeping the variance of
    the signal asks :math:`\mathrm{Var}(W) = 1/n_{in}` forward and :math:`1/n_{out}`
    backward; Glorot & Bengio (2010) take their harmonic mean
    :math:`2/(n_{in}+n_{out})` (the slide's "moyenne des deux" prints
    :math:`1/(n_{in}+n_{out})`, without the factor 2). Same law as
    ``torch.nn.init.xavier_uniform_`` (gain 1).

    Parameters
    ----------
    n_in, n_out : int
        Fan-in and fan-out (positive).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    W : ndarray of shape (n_out, n_in)
        Like the ``weight`` of ``torch.nn.Linear(n_in, n_out)``.

    Examples
    --------
    >>> W = xavier_uniform(300, 100, rng=0)
    >>> W.shape, bool(np.abs(W).max() <= np.sqrt(6 / 400))
    ((100, 300), True)
    """
    n_in, n_out = _fans(n_in, n_out, "xavier_uniform")
    a = np.sqrt(6.0 / (n_in + n_out))
    return _as_generator(rng, "xavier_uniform").uniform(-a, a, size=(n_out, n_in))


def xavier_normal(n_in: int, n_out: int, rng: Any = None) -> np.ndarray:
    r"""Glorot/Xavier normal weights:
    :math:`W \sim \mathcal N\big(0,\ 2/(n_{in}+n_{out})\big)`.

    Lecture 002 (Boulch et al.), slide "Initialisation Xavier" (see
    :func:`xavier_uniform` for the variance). Same law as
    ``torch.nn.init.xavier_normal_`` (gain 1).

    Parameters
    ----------
    n_in, n_out : int
    rng : numpy.random.Generator, int or None

    Returns
    -------
    W : ndarray of shape (n_out, n_in)

    Examples
    --------
    >>> xavier_normal(3, 2, rng=0).shape
    (2, 3)
    """
    n_in, n_out = _fans(n_in, n_out, "xavier_normal")
    std = np.sqrt(2.0 / (n_in + n_out))
    return _as_generator(rng, "xavier_normal").normal(0.0, std, size=(n_out, n_in))


def he_normal(n_in: int, n_out: int, rng: Any = None) -> np.ndarray:
    r"""He (Kaiming) normal weights for ReLU layers: :math:`W \sim \mathcal N(0,\ 2/n_{in})`.

    Lecture 002 (Boulch et al.), slide "Initialisation Xavier", He et al. (2015): a ReLU
    zeroes about half of its inputs, so the forward variance :math:`1/n_{in}` is doubled.
    Same law as ``torch.nn.init.kaiming_normal_(W, mode="fan_in",
    nonlinearity="relu")`` (gain :math:`\sqrt 2`).

    Parameters
    ----------
    n_in, n_out : int
    rng : numpy.random.Generator, int or None

    Returns
    -------
    W : ndarray of shape (n_out, n_in)

    Examples
    --------
    >>> W = he_normal(1000, 200, rng=0)
    >>> round(float(W.var() * 1000), 1)  # n_in * Var(W) = 2
    2.0
    """
    n_in, n_out = _fans(n_in, n_out, "he_normal")
    return _as_generator(rng, "he_normal").normal(0.0, np.sqrt(2.0 / n_in),
                                                 size=(n_out, n_in))
