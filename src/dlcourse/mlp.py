"""Multi-layer perceptron in NumPy: forward pass, back-propagation with the lecture's
:math:`\\delta`, training by gradient descent.

Conventions:

* ``params`` is a list of ``(W, b)``, one per layer, with ``W`` of shape (n_out, n_in) and
  ``b`` of shape (n_out,), so that ``W[k, j]`` is the weight :math:`w_{kj}` from unit j
  to unit k (lecture 003 (Panloup), slide "Construction itérative du réseau":
  :math:`W^{(\\ell)} \\in \\mathcal{M}(d_\\ell, d_{\\ell-1})`);
* examples are rows: ``X`` has shape (n_samples, n_in) and layer l computes
  :math:`Y_l = \\varphi(Y_{l-1} W_l^\\top + b_l)`;
* ``sizes = [n_in, n_hidden_1, ..., n_out]``;
* every layer, the output one included, uses the same activation :math:`\\varphi`, as in
  lecture 000 unless ``output_activation`` says otherwise;
* the error is the lectures' :math:`E = \\frac{1}{2}\\sum_x\\sum_k (t_k - y_k)^2`,
  **summed** over the batch.

Lecture 000 (Lefort), slides "Perceptron multi-couches - Werbos & Rumelhart": the
:math:`\\delta` recursion and the 4-step algorithm.

Example
-------
>>> params = init_params([2, 3, 1], seed=0)
>>> [W.shape for W, b in params], count_parameters([2, 3, 1])
([(3, 2), (1, 3)], 13)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_float_array, non_empty_rows, one_of, positive_float, positive_int, seed_or_none
from .activations import relu, sigmoid, tanh

__all__ = ["ACTIVATIONS", "init_params", "count_parameters", "forward", "backward",
           "train_mlp"]

Params = list[tuple[np.ndarray, np.ndarray]]

#: Activations usable in an MLP: name -> (phi, phi' written as a function of y = phi(s)).
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda y: y * (1.0 - y)),
    "tanh": (tanh, lambda y: 1.0 - y ** 2),
    "relu": (relu, lambda y: (y > 0).astype(np.float64)),
    "identity": (lambda s: s, np.ones_like),
}


def _check_sizes(sizes: Any, func: str) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ValueError(f"The 'sizes' parameter of {func} must be a list of at least two "
                         f"positive integers [n_in, ..., n_out]. Got {sizes!r} instead.")
    return [positive_int(n, "sizes", func) for n in sizes]


def _check_params(params: Any, func: str) -> Params:
    if not isinstance(params, Sequence) or len(params) == 0:
        raise ValueError(f"The 'params' parameter of {func} must be a non-empty list of (W, b). "
                         f"Got {type(params).__name__} instead.")
    checked: Params = []
    for l, layer in enumerate(params):
        if not isinstance(layer, Sequence) or len(layer) != 2:
            raise ValueError(f"The 'params' parameter of {func} must hold (W, b) pairs. "
                             f"Got {type(layer).__name__} for layer {l} instead.")
        W = as_float_array(layer[0], "params", func, ndim=2, shape_doc="(n_out, n_in) for W")
        b = as_float_array(layer[1], "params", func, ndim=1, shape_doc="(n_out,) for b")
        if b.shape[0] != W.shape[0] or (checked and W.shape[1] != checked[-1][0].shape[0]):
            n_in = checked[-1][0].shape[0] if checked else W.shape[1]
            raise ValueError(f"The 'params' parameter of {func} must chain layers: layer {l} "
                             f"needs W of shape (n_out, {n_in}) and b of shape (n_out,). "
                             f"Got W {W.shape} and b {b.shape} instead.")
        checked.append((W, b))
    return checked


def _activations(activation: str, output_activation: str | None, n_layers: int, func: str):
    one_of(activation, "activation", func, tuple(ACTIVATIONS))
    out = activation if output_activation is None else output_activation
    one_of(out, "output_activation", func, tuple(ACTIVATIONS))
    return [ACTIVATIONS[activation]] * (n_layers - 1) + [ACTIVATIONS[out]]


def init_params(sizes: Sequence[int], seed: int | None = None) -> Params:
    """Random weights and biases, :math:`\\mathcal{U}(-1/\\sqrt{n_{in}}, 1/\\sqrt{n_{in}})`.

    The same law as PyTorch's ``nn.Linear`` default, small enough for the sigmoid not to
    saturate (lecture 002 (Boulch et al.) derives better laws: see ``dlcourse.layers``).

    Parameters
    ----------
    sizes : sequence of int
        ``[n_in, n_hidden_1, ..., n_out]``, at least two positive integers.
    seed : int, optional
        Seed of ``numpy.random.default_rng``; the same seed gives the same parameters.

    Returns
    -------
    list of (W, b)
        W of shape (sizes[l + 1], sizes[l]), b of shape (sizes[l + 1],).

    Examples
    --------
    >>> [(W.shape, b.shape) for W, b in init_params([784, 16, 16, 10], seed=0)]
    [((16, 784), (16,)), ((16, 16), (16,)), ((10, 16), (10,))]
    """
    sizes = _check_sizes(sizes, "init_params")
    rng = np.random.default_rng(seed_or_none(seed, "seed", "init_params"))
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        params.append((rng.uniform(-bound, bound, (n_out, n_in)),
                       rng.uniform(-bound, bound, n_out)))
    return params


def count_parameters(sizes: Sequence[int]) -> int:
    """Number of weights and biases of a fully connected network.

    .. math:: \\dim \\Theta = \\sum_{\\ell=1}^{L+1} (d_{\\ell-1} + 1)\\, d_\\ell

    Lecture 003 (Panloup), slide "Paramètres" (exercise 2-3-1); lecture 001 (Mahmoudi),
    slide "Exemple de calcul d'erreur" (13,002 weights and biases for 784-16-16-10).

    Examples
    --------
    >>> count_parameters([784, 16, 16, 10])
    13002
    """
    sizes = _check_sizes(sizes, "count_parameters")
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def forward(params: Params, X: ArrayLike, activation: str = "sigmoid",
            output_activation: str | None = None) -> list[np.ndarray]:
    """Forward propagation, layer by layer: :math:`Y_l = \\varphi(Y_{l-1} W_l^\\top + b_l)`.

    Step 1 of the lecture's algorithm (lecture 000, Lefort): :math:`s_k = \\sum_j w_{kj}
    y_j + b_k`, :math:`y_k = \\varphi(s_k)`.

    Parameters
    ----------
    params : list of (W, b)
        W of shape (n_out, n_in), b of shape (n_out,).
    X : array_like of shape (n_samples, n_in)
    activation : {"sigmoid", "tanh", "relu", "identity"}, default "sigmoid"
    output_activation : same choices, optional
        Activation of the last layer; by default ``activation``.

    Returns
    -------
    list of ndarray
        ``[X, Y_1, ..., Y_L]``: **the input comes first**, then each layer's output of
        shape (n_samples, n_out_l); ``outputs[-1]`` is the network's output. Keeping the
        input lets :func:`backward` compute the first layer's gradient.

    Examples
    --------
    >>> params = [(np.zeros((1, 2)), np.zeros(1))]
    >>> forward(params, np.ones((3, 2)))[-1]
    array([[0.5],
           [0.5],
           [0.5]])
    """
    params = _check_params(params, "forward")
    n_in = params[0][0].shape[1]
    X = as_float_array(X, "X", "forward", ndim=2, shape_doc=f"(n_samples, {n_in})")
    if X.shape[1] != n_in:
        raise ValueError(f"The 'X' parameter of forward must be an array of shape "
                         f"(n_samples, {n_in}). Got an array of shape {X.shape} instead.")
    return _forward(params, X, _activations(activation, output_activation, len(params),
                                            "forward"))


def _forward(params: Params, X: np.ndarray, phis: list) -> list[np.ndarray]:
    outputs = [X]
    for (W, b), (phi, _) in zip(params, phis):
        outputs.append(phi(outputs[-1] @ W.T + b))
    return outputs


def backward(params: Params, outputs: list[np.ndarray], T: ArrayLike,
             activation: str = "sigmoid", output_activation: str | None = None) -> Params:
    """Back-propagation: gradients of :math:`E = \\frac{1}{2}\\sum_x\\sum_k (t_k - y_k)^2`.

    With the lecture's sign convention :math:`\\delta = -\\partial E / \\partial s`
    (lecture 000 (Lefort), slides "Perceptron multi-couches"), for the sigmoid:

    .. math::
        \\delta_k = y_k(1 - y_k)(t_k - y_k), \\qquad
        \\delta_j = y_j(1 - y_j)\\sum_k \\delta_k w_{kj}, \\qquad
        \\frac{\\partial E}{\\partial w_{kj}} = -\\sum_x \\delta_k y_j, \\qquad
        \\frac{\\partial E}{\\partial b_k} = -\\sum_x \\delta_k

    (another activation replaces :math:`y(1-y)` by its :math:`\\varphi'(s)`). The weight
    update of step 4, :math:`\\Delta w_{kj} = \\eta \\sum_x \\delta_k y_j`, is
    ``W -= lr * dW``.

    Parameters
    ----------
    params : list of (W, b)
        The parameters used by :func:`forward`.
    outputs : list of ndarray
        What :func:`forward` returned, ``[X, Y_1, ..., Y_L]``.
    T : array_like of shape (n_samples, n_out)
        Targets, the shape of ``outputs[-1]``.
    activation, output_activation : str
        The ones given to :func:`forward`.

    Returns
    -------
    list of (dW, db)
        :math:`(\\partial E / \\partial W_l, \\partial E / \\partial b_l)`, gradients (not
        updates), with the shapes of ``(W_l, b_l)``.

    Examples
    --------
    >>> params = [(np.zeros((1, 1)), np.zeros(1))]
    >>> X, T = np.array([[2.0]]), np.array([[1.0]])
    >>> backward(params, forward(params, X), T)  # delta = 0.5 * 0.5 * (1 - 0.5)
    [(array([[-0.25]]), array([-0.125]))]
    """
    params = _check_params(params, "backward")
    if not isinstance(outputs, Sequence) or len(outputs) != len(params) + 1:
        raise ValueError(f"The 'outputs' parameter of backward must be the list [X, Y_1, ..., "
                         f"Y_L] returned by forward, of length {len(params) + 1}. "
                         f"Got {type(outputs).__name__} of length {len(outputs)} instead.")
    Y = [as_float_array(y, "outputs", "backward", ndim=2) for y in outputs]
    n = Y[0].shape[0]
    for l, y in enumerate(Y):
        want = (n, params[l][0].shape[1] if l < len(params) else params[-1][0].shape[0])
        if y.shape != want:
            raise ValueError(f"The 'outputs' parameter of backward must hold arrays matching "
                             f"params: outputs[{l}] of shape {want}. Got {y.shape} instead.")
    T = as_float_array(T, "T", "backward", ndim=2, shape_doc=str(Y[-1].shape))
    if T.shape != Y[-1].shape:
        raise ValueError(f"The 'T' parameter of backward must be an array of shape "
                         f"{Y[-1].shape}, the network output's. Got {T.shape} instead.")
    return _backward(params, Y, T, _activations(activation, output_activation, len(params),
                                                "backward"))


def _backward(params: Params, Y: list[np.ndarray], T: np.ndarray, phis: list) -> Params:
    delta = phis[-1][1](Y[-1]) * (T - Y[-1])                 # step 2: output layer
    grads: Params = []
    for l in range(len(params) - 1, -1, -1):
        grads.append((-delta.T @ Y[l], -delta.sum(axis=0)))  # dE/dW = -sum_x delta y^T
        if l > 0:                                             # step 3: back through W_l
            delta = phis[l - 1][1](Y[l]) * (delta @ params[l][0])
    return grads[::-1]


def train_mlp(X: ArrayLike, T: ArrayLike, hidden: Sequence[int] = (3,), lr: float = 0.5,
              epochs: int = 5000, mode: str = "batch", activation: str = "sigmoid",
              seed: int | None = 0) -> tuple[Params, np.ndarray]:
    """Train an MLP by gradient descent on :math:`E = \\frac{1}{2}\\sum_x\\sum_k (t_k - y_k)^2`.

    The 4-step algorithm of lecture 000 (Lefort), slide "Perceptron multi-couches":
    forward pass, output :math:`\\delta`, back-propagated :math:`\\delta`, update
    :math:`\\Delta w = \\eta\\,\\delta\\, y`. ``mode="online"`` updates after each example,
    in the order of ``X``; ``mode="batch"`` sums the updates over ``X`` first.
    Initial parameters come from :func:`init_params` with ``seed``: the run is
    deterministic.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_in)
    T : array_like of shape (n_samples, n_out)
    hidden : sequence of int, default (3,)
        Sizes of the hidden layers.
    lr : float, default 0.5
        Learning rate :math:`\\eta > 0`.
    epochs : int, default 5000
    mode : {"batch", "online"}, default "batch"
    activation : {"sigmoid", "tanh", "relu", "identity"}, default "sigmoid"
        Used by every layer.
    seed : int or None, default 0

    Returns
    -------
    params : list of (W, b)
    errors : ndarray of shape (epochs,)
        :math:`E` on ``X`` at the end of each epoch.

    Examples
    --------
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    >>> T = np.array([[0], [1], [1], [0]], dtype=float)
    >>> params, errors = train_mlp(X, T)
    >>> (forward(params, X)[-1] > 0.5).astype(int).ravel()
    array([0, 1, 1, 0])
    """
    func = "train_mlp"
    X = non_empty_rows(as_float_array(X, "X", func, ndim=2, shape_doc="(n_samples, n_in)"), "X", func)
    T = as_float_array(T, "T", func, ndim=2, shape_doc=f"({X.shape[0]}, n_out)")
    if T.shape[0] != X.shape[0]:
        raise ValueError(f"The 'T' parameter of {func} must have {X.shape[0]} rows, one per "
                         f"example. Got an array of shape {T.shape} instead.")
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise ValueError(f"The 'hidden' parameter of {func} must be a sequence of positive "
                         f"integers. Got {hidden!r} instead.")
    hidden = [positive_int(n, "hidden", func) for n in hidden]
    sizes = _check_sizes([X.shape[1], *hidden, T.shape[1]], func)
    lr = positive_float(lr, "lr", func)
    epochs = positive_int(epochs, "epochs", func)
    one_of(mode, "mode", func, ("batch", "online"))
    phis = _activations(activation, None, len(sizes) - 1, func)
    params = init_params(sizes, seed=seed_or_none(seed, "seed", func))
    batches = [slice(None)] if mode == "batch" else [slice(i, i + 1) for i in range(len(X))]
    errors = np.empty(epochs)
    for epoch in range(epochs):
        for rows in batches:
            grads = _backward(params, _forward(params, X[rows], phis), T[rows], phis)
            params = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
        errors[epoch] = 0.5 * np.sum((T - _forward(params, X, phis)[-1]) ** 2)
    return params, errors
