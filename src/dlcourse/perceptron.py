"""Rosenblatt's perceptron and the delta rule (Widrow-Hoff) for a linear neuron.

Lecture 000 (Lefort), slides "Perceptron - Rosenblatt (1957)", "Un exemple : le OU" and
"Perceptron - Descente de gradient stochastique".

Conventions, as on the slides:

* an example ``x`` carries the bias input first, :math:`x_0 = 1`, so that the weight
  :math:`w_0` plays the role of the threshold (use :func:`add_bias`);
* ``X`` has shape ``(n_samples, n_features + 1)``, ``w`` has shape ``(n_features + 1,)``;
* targets ``t`` are 0 or 1 for the perceptron, real numbers for the delta rule;
* ``lr`` is the learning rate :math:`\\eta`.

Example
-------
>>> import numpy as np
>>> X = add_bias([[0, 0], [0, 1], [1, 0], [1, 1]])
>>> w, history = train_perceptron(X, [0, 1, 1, 1], w0=[0, 1, 0])
>>> w
array([0., 1., 1.])
>>> predict(w, X)
array([0, 1, 1, 1])
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_float_array, non_empty_rows, one_of, positive_float, positive_int

__all__ = [
    "PerceptronStep", "add_bias", "predict", "perceptron_step", "train_perceptron",
    "history_table", "format_history", "train_delta_rule",
]


class PerceptronStep(NamedTuple):
    """One presentation of one example to the perceptron (one row of the slide's table).

    Attributes
    ----------
    epoch : int
        Pass over the data set this presentation belongs to, counted from 1.
    x : ndarray of shape (n_features + 1,)
        The example, bias input ``x[0] = 1`` included.
    w_before : ndarray of shape (n_features + 1,)
        The weights used to compute ``y``.
    y : int
        The output, 0 or 1.
    t : int
        The target, 0 or 1.
    w_after : ndarray of shape (n_features + 1,)
        The weights after the update :math:`w + \\eta x (t - y)`.
    """

    epoch: int
    x: np.ndarray
    w_before: np.ndarray
    y: int
    t: int
    w_after: np.ndarray


def add_bias(X: ArrayLike) -> np.ndarray:
    """Prepend the constant bias input :math:`x_0 = 1` to every example.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features) or (n_features,)

    Returns
    -------
    ndarray of shape (n_samples, n_features + 1) or (n_features + 1,)
        ``X`` with a first column of ones.

    Notes
    -----
    Lecture 000 (Lefort), slide "Neurone artificiel": the threshold :math:`\\theta` becomes
    the weight :math:`w_0` of a constant input, :math:`\\sum_{i=1}^n w_i x_i - \\theta =
    \\sum_{i=0}^n w_i x_i`.

    Examples
    --------
    >>> add_bias([[0, 1], [1, 1]])
    array([[1., 0., 1.],
           [1., 1., 1.]])
    """
    X = as_float_array(X, "X", "add_bias", ndim=(1, 2), shape_doc="(n_samples, n_features)")
    if X.ndim == 1:
        return np.concatenate([[1.0], X])
    return np.hstack([np.ones((X.shape[0], 1)), X])


def _check_w_X(w: Any, X: Any, func: str, x_name: str = "X") -> tuple[np.ndarray, np.ndarray]:
    w = as_float_array(w, "w", func, ndim=1, shape_doc="(n_features + 1,)")
    X = as_float_array(X, x_name, func, ndim=(1, 2), shape_doc="(n_samples, n_features + 1)")
    if X.shape[-1] != w.shape[0]:
        raise ValueError(
            f"The '{x_name}' parameter of {func} must have {w.shape[0]} columns, one per weight "
            f"(bias column included). Got an array of shape {X.shape} instead.")
    return w, X


def _check_binary(t: Any, name: str, func: str, ndim: int) -> np.ndarray:
    t = as_float_array(t, name, func, ndim=ndim,
                       shape_doc="(n_samples,)" if ndim == 1 else "() (a scalar)")
    if not np.all((t == 0) | (t == 1)):
        raise ValueError(f"The '{name}' parameter of {func} must contain only 0 and 1. "
                         f"Got {np.unique(t).tolist()} instead.")
    return t.astype(int)


def predict(w: ArrayLike, X: ArrayLike) -> np.ndarray | int:
    """Output of the threshold neuron: 1 where :math:`w^\\top x > 0`, 0 elsewhere.

    .. math:: y = \\begin{cases} 1 & \\text{if } \\sum_{i=0}^n w_i x_i > 0 \\\\
              0 & \\text{otherwise} \\end{cases}

    Lecture 000 (Lefort), slide "Perceptron - Rosenblatt (1957)". Note the strict
    inequality: a zero activation gives 0.

    Parameters
    ----------
    w : array_like of shape (n_features + 1,)
    X : array_like of shape (n_samples, n_features + 1) or (n_features + 1,)
        Examples with their bias column (see :func:`add_bias`).

    Returns
    -------
    ndarray of int of shape (n_samples,), or int when ``X`` is a single example.

    Examples
    --------
    >>> predict([-0.5, 1.0, 1.0], [[1, 0, 0], [1, 0, 1]])
    array([0, 1])
    """
    w, X = _check_w_X(w, X, "predict")
    y = (X @ w > 0).astype(int)
    return int(y) if X.ndim == 1 else y


def perceptron_step(w: ArrayLike, x: ArrayLike, t: int, lr: float = 1.0) -> np.ndarray:
    """One Rosenblatt update on one example; returns the new weights (``w`` is not modified).

    .. math:: w \\leftarrow w + \\Delta w, \\qquad \\Delta w = \\eta\\, x\\,(t - y)

    Lecture 000 (Lefort), slide "Perceptron - Rosenblatt (1957)", rule
    :math:`\\Delta W = \\eta X (t - y)`.

    Parameters
    ----------
    w : array_like of shape (n_features + 1,)
    x : array_like of shape (n_features + 1,)
        One example, bias input first.
    t : {0, 1}
        Its target.
    lr : float, default 1.0
        Learning rate :math:`\\eta > 0`.

    Returns
    -------
    ndarray of shape (n_features + 1,)

    Examples
    --------
    >>> perceptron_step([0, 1, 0], [1, 0, 1], t=1)
    array([1., 1., 1.])
    """
    w, x = _check_w_X(w, x, "perceptron_step", x_name="x")
    if x.ndim != 1:
        raise ValueError("The 'x' parameter of perceptron_step must be an array of shape "
                         f"(n_features + 1,). Got an array of shape {x.shape} instead.")
    t = int(_check_binary(t, "t", "perceptron_step", ndim=0))
    lr = positive_float(lr, "lr", "perceptron_step")
    y = int(x @ w > 0)
    return w + lr * x * (t - y)


def train_perceptron(X: ArrayLike, t: ArrayLike, w0: ArrayLike | None = None,
                     lr: float = 1.0, epochs: int = 10
                     ) -> tuple[np.ndarray, list[PerceptronStep]]:
    """Train a perceptron online, examples presented in the order of ``X``.

    Each example gets one :func:`perceptron_step`; training stops at the end of the first
    epoch (pass over ``X``) during which no example was misclassified, or after
    ``epochs`` epochs.

    Lecture 000 (Lefort), slides "Un exemple : le OU": the trace of the OR function, from
    :math:`w = (0, 1, 0)` with :math:`\\eta = 1`, is ``history``.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features + 1)
        Examples with their bias column (see :func:`add_bias`).
    t : array_like of shape (n_samples,)
        Targets, 0 or 1.
    w0 : array_like of shape (n_features + 1,), optional
        Initial weights; zeros by default.
    lr : float, default 1.0
        Learning rate :math:`\\eta > 0`.
    epochs : int, default 10
        Maximum number of passes over the data.

    Returns
    -------
    w : ndarray of shape (n_features + 1,)
        Final weights.
    history : list of PerceptronStep
        One record per presented example, in order. Its length is a multiple of
        ``n_samples``; the last epoch has no error iff training converged.

    Examples
    --------
    >>> w, history = train_perceptron(add_bias([[0], [1]]), [1, 0])
    >>> w, len(history)
    (array([ 1., -1.]), 6)
    """
    X = non_empty_rows(as_float_array(X, "X", "train_perceptron", ndim=2,
                                      shape_doc="(n_samples, n_features + 1)"), "X", "train_perceptron")
    t = _check_binary(t, "t", "train_perceptron", ndim=1)
    if t.shape[0] != X.shape[0]:
        raise ValueError("The 't' parameter of train_perceptron must have shape "
                         f"({X.shape[0]},), one target per row of X. Got {t.shape} instead.")
    w = np.zeros(X.shape[1]) if w0 is None else as_float_array(
        w0, "w0", "train_perceptron", ndim=1, shape_doc=f"({X.shape[1]},)")
    if w.shape[0] != X.shape[1]:
        raise ValueError(f"The 'w0' parameter of train_perceptron must have shape ({X.shape[1]},), "
                         f"one weight per column of X. Got {w.shape} instead.")
    lr = positive_float(lr, "lr", "train_perceptron")
    epochs = positive_int(epochs, "epochs", "train_perceptron")
    history: list[PerceptronStep] = []
    for epoch in range(1, epochs + 1):
        errors = 0
        for x, target in zip(X, t):
            y = int(x @ w > 0)
            w_new = w + lr * x * (target - y)
            history.append(PerceptronStep(epoch, x.copy(), w.copy(), y, int(target), w_new))
            errors += y != target
            w = w_new
        if errors == 0:
            break
    return w, history


def history_table(history: list[PerceptronStep]) -> list[dict[str, float | int]]:
    """The trace as a list of rows, with the columns of the lecture's table.

    Columns: ``epoch``, ``x_0 … x_n``, ``w_0 … w_n`` (weights *before* the update, used to
    compute y), ``y``, ``t``, ``new_w_0 … new_w_n`` (after the update). The result can be
    given to ``pandas.DataFrame`` or printed with :func:`format_history`.

    Examples
    --------
    >>> _, h = train_perceptron(add_bias([[0], [1]]), [1, 0])
    >>> row = history_table(h)[0]
    >>> list(row)
    ['epoch', 'x_0', 'x_1', 'w_0', 'w_1', 'y', 't', 'new_w_0', 'new_w_1']
    >>> row["x_1"], row["w_0"], row["y"], row["t"], row["new_w_0"]
    (0.0, 0.0, 0, 1, 1.0)
    """
    if not isinstance(history, (list, tuple)) or not all(isinstance(s, PerceptronStep) for s in history):
        raise TypeError("The 'history' parameter of history_table must be the list of PerceptronStep "
                        "returned second by train_perceptron (w, history = train_perceptron(...)). "
                        f"Got {type(history).__name__} instead.")
    rows = []
    for step in history:
        row: dict[str, float | int] = {"epoch": step.epoch}
        row.update({f"x_{i}": float(v) for i, v in enumerate(step.x)})
        row.update({f"w_{i}": float(v) for i, v in enumerate(step.w_before)})
        row.update({"y": step.y, "t": step.t})
        row.update({f"new_w_{i}": float(v) for i, v in enumerate(step.w_after)})
        rows.append(row)
    return rows


def format_history(history: list[PerceptronStep]) -> str:
    """The trace as a plain-text table (integral values printed without decimals).

    Examples
    --------
    >>> _, h = train_perceptron(add_bias([[0], [1]]), [1, 0])
    >>> print(format_history(h[:2]))
    epoch  x_0  x_1  w_0  w_1  y  t  new_w_0  new_w_1
        1    1    0    0    0  0  1        1        0
        1    1    1    1    0  1  0        0       -1
    """
    rows = history_table(history)
    if not rows:
        return ""
    cells = [[f"{v:g}" for v in row.values()] for row in rows]
    header = list(rows[0])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(n) for h, n in zip(header, widths))]
    lines += ["  ".join(c.rjust(n) for c, n in zip(cell, widths)) for cell in cells]
    return "\n".join(lines)


def train_delta_rule(X: ArrayLike, t: ArrayLike, lr: float, epochs: int, mode: str = "online",
                     w0: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradient descent on the squared error of a linear neuron (delta rule).

    The neuron is :math:`y = \\sum_{i=0}^n w_i x_i` and the error
    :math:`E = \\frac{1}{2} \\sum_x (t - y)^2`, whose gradient gives

    .. math:: \\Delta w = -\\eta \\frac{\\partial E}{\\partial w} = \\eta \\sum_x x\\,(t - y).

    ``mode="batch"`` applies this sum once per epoch; ``mode="online"`` applies the
    term of each example right after presenting it, in the order of ``X``
    (:math:`w \\leftarrow w + \\eta\\, x (t - y)`).

    Lecture 000 (Lefort), slides "Perceptron - Descente de gradient stochastique"; lecture
    003 (Panloup), slide "Descente de gradient stochastique" (its exercise: for the loss
    :math:`(t - \\langle\\theta, x\\rangle)^2` and step :math:`\\gamma`, the online rule
    with :math:`\\eta = 2\\gamma`).

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features + 1)
        Examples with their bias column (see :func:`add_bias`).
    t : array_like of shape (n_samples,)
        Real targets.
    lr : float
        Learning rate :math:`\\eta > 0`. Too large a value makes the weights diverge:
        the errors then grow to ``inf`` (no warning is emitted).
    epochs : int
        Number of passes over the data.
    mode : {"online", "batch"}, default "online"
    w0 : array_like of shape (n_features + 1,), optional
        Initial weights; zeros by default.

    Returns
    -------
    w : ndarray of shape (n_features + 1,)
    errors : ndarray of shape (epochs,)
        :math:`E` on the whole data set at the end of each epoch.

    Examples
    --------
    >>> X = add_bias([[0.0], [1.0], [2.0]])
    >>> w, errors = train_delta_rule(X, [1.0, 3.0, 5.0], lr=0.1, epochs=500, mode="batch")
    >>> np.round(w, 6), bool(errors[-1] < 1e-12)
    (array([1., 2.]), True)
    """
    func = "train_delta_rule"
    X = non_empty_rows(as_float_array(X, "X", func, ndim=2, shape_doc="(n_samples, n_features + 1)"),
                       "X", func)
    t = as_float_array(t, "t", func, ndim=1, shape_doc=f"({X.shape[0]},)")
    if t.shape[0] != X.shape[0]:
        raise ValueError(f"The 't' parameter of {func} must have shape ({X.shape[0]},), "
                         f"one target per row of X. Got {t.shape} instead.")
    lr = positive_float(lr, "lr", func)
    epochs = positive_int(epochs, "epochs", func)
    one_of(mode, "mode", func, ("online", "batch"))
    w = np.zeros(X.shape[1]) if w0 is None else as_float_array(
        w0, "w0", func, ndim=1, shape_doc=f"({X.shape[1]},)")
    if w.shape[0] != X.shape[1]:
        raise ValueError(f"The 'w0' parameter of {func} must have shape ({X.shape[1]},), "
                         f"one weight per column of X. Got {w.shape} instead.")
    errors = np.empty(epochs)
    # Divergence (lr too large) is a lesson of the course, not a failure: stay silent.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            if mode == "batch":
                w = w + lr * X.T @ (t - X @ w)
            else:
                for x, target in zip(X, t):
                    w = w + lr * x * (target - x @ w)
            errors[epoch] = 0.5 * np.sum((t - X @ w) ** 2)
    return w, errors
