"""Gradient-descent optimisers on NumPy arrays (lecture 002, Boulch et al., slide "Optimiseurs").

One interface for every optimiser, as in CS231n:

* the constructor takes ``params``, a list of NumPy float arrays (the weights W, b, ...),
  and the hyper-parameters (``lr`` is the lecture's learning rate :math:`\\eta`, written
  :math:`\\alpha` on the slides);
* ``opt.step(grads)`` takes ``grads``, a list of arrays of the same length and the same
  shapes as ``params`` (:math:`\\partial E/\\partial W`, written :math:`\\Delta \\mathbf{w}`
  on the slides), and updates every parameter **in place**; it returns ``None``;
* ``opt.t`` counts the steps taken so far; ``opt.lr`` may be changed between steps (a
  learning-rate schedule, "variation du learning rate" on the slide).

The update rules are those of ``torch.optim`` with its default options (no weight decay,
no Nesterov, dampening 0, no ``maximize``), and the tests check step by step that both
agree to 1e-10 in float64. Where the slide writes a rule differently, the class docstring
says why the two agree or how little they differ.

Examples
--------
>>> import numpy as np
>>> W = np.array([1.0, -2.0])
>>> opt = SGD([W], lr=0.1)
>>> opt.step([np.array([0.5, 0.5])])
>>> W
array([ 0.95, -2.05])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import _fail, as_float_array, positive_float
from ._checks import error as _error

__all__ = ["SGD", "Adagrad", "Adam"]


class _Optimizer:
    """Shared checks and bookkeeping; subclasses implement ``_update(i, p, g)``."""

    def __init__(self, params: Sequence[np.ndarray], lr: float):
        name = type(self).__name__
        if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)):
            _error(name, "params", "a list of NumPy float arrays", f"a {type(params).__name__}",
                   TypeError)
        if len(params) == 0:
            _fail(name, "params", "a non-empty list of NumPy float arrays", params)
        for i, p in enumerate(params):
            # In-place updates need a real, writeable float array: a list or an int array
            # would silently stay unchanged, or be truncated.
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                what = (f"an array of dtype {p.dtype}" if isinstance(p, np.ndarray)
                        else f"a {type(p).__name__}")
                _error(name, f"params[{i}]", "a NumPy float array", what, TypeError)
            if not p.flags.writeable:
                _error(name, f"params[{i}]", "a writeable array", "a read-only array")
            for j in range(i):
                # The same array twice would be updated twice per step.
                if np.shares_memory(params[j], p):
                    _error(name, f"params[{i}]", "an array distinct from the other parameters",
                           f"an array that shares memory with params[{j}]")
        self.params = list(params)
        self.lr = lr
        self.t = 0

    @property
    def lr(self) -> float:
        """Learning rate :math:`\\eta`; may be changed between steps (a schedule), stays > 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = positive_float(value, "lr", type(self).__name__)

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place from its gradient.

        Parameters
        ----------
        grads : list of ndarray
            ``grads[i]`` is :math:`\\partial E/\\partial` ``params[i]``, same shape.
        """
        name = f"{type(self).__name__}.step"
        if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
            _error(name, "grads", "a list of arrays", f"a {type(grads).__name__}", TypeError)
        if len(grads) != len(self.params):
            _error(name, "grads", f"a list of {len(self.params)} arrays (one per parameter)",
                   f"{len(grads)} arrays")
        checked = []
        for i, (p, g) in enumerate(zip(self.params, grads)):
            g = as_float_array(g, f"grads[{i}]", name)
            if g.shape != p.shape:
                _error(name, f"grads[{i}]", f"an array of shape {p.shape}",
                       f"an array of shape {g.shape}")
            checked.append(g)
        # Validate everything before touching anything: a failed step leaves no half-update.
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, checked)):
            self._update(i, p, g)

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError


class SGD(_Optimizer):
    r"""Stochastic gradient descent, with optional momentum.

    .. math::

        v_t = \mu\, v_{t-1} + g_t, \qquad W \leftarrow W - \eta\, v_t,
        \qquad v_0 = 0,

    which for ``momentum=0`` is plain gradient descent :math:`W \leftarrow W - \eta g`.

    Lecture 002 (Boulch et al.), slide "Optimiseurs: lissage du gradient", writes momentum
    as :math:`v_t = \gamma v_{t-1} + \eta g_t,\ W \leftarrow W - v_t`. With a constant
    ``lr`` both forms make exactly the same moves: the slide's velocity is :math:`\eta`
    times ours. We keep PyTorch's form (``torch.optim.SGD``, dampening 0): its velocity
    does not depend on :math:`\eta`, so a learning-rate schedule rescales the next move
    at once instead of being blended with the past ones.

    Parameters
    ----------
    params : list of ndarray
        Parameters, updated in place by :meth:`step`.
    lr : float
        Learning rate :math:`\eta > 0`.
    momentum : float, default 0.0
        :math:`\mu \in [0, 1)`.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros(1)
    >>> opt = SGD([w], lr=1.0, momentum=0.5)
    >>> for _ in range(3):
    ...     opt.step([np.ones(1)])
    >>> w  # moves of 1, 1.5, 1.75
    array([-4.25])
    """

    def __init__(self, params: Sequence[np.ndarray], lr: float, momentum: float = 0.0):
        super().__init__(params, lr)
        self.momentum = positive_float(momentum, "momentum", "SGD", allow_zero=True)
        if self.momentum >= 1:
            _fail("SGD", "momentum", "in [0, 1)", momentum)
        self.velocity = [np.zeros_like(p, dtype=np.float64) for p in self.params]

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        if self.momentum == 0.0:
            p -= self.lr * g
            return
        v = self.velocity[i]
        # v starts at 0, so step 1 gives v = g: PyTorch's first-step buffer.
        v *= self.momentum
        v += g
        p -= self.lr * v


class Adagrad(_Optimizer):
    r"""Adagrad: one learning rate per weight, shrinking with its squared gradients.

    .. math::

        G_t = G_{t-1} + g_t^2, \qquad
        W \leftarrow W - \frac{\eta}{\sqrt{G_t} + \epsilon}\, g_t,
        \qquad G_0 = 0 \text{ (element-wise)}.

    Lecture 002 (Boulch et al.), slide "Méthodes adaptatives", writes
    :math:`\eta / \sqrt{G_t + \epsilon}`: :math:`\epsilon` inside the square root. We put
    it outside, as ``torch.optim.Adagrad`` does. Both only guard against a division by
    zero, and give practically the same step once :math:`G_t` is large next to
    :math:`\epsilon` (and :math:`\epsilon^2`).

    Parameters
    ----------
    params : list of ndarray
        Parameters, updated in place by :meth:`step`.
    lr : float
        Learning rate :math:`\eta > 0`.
    eps : float, default 1e-10
        :math:`\epsilon > 0`.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros(2)
    >>> Adagrad([w], lr=0.1).step([np.array([3.0, -0.01])])
    >>> w.round(6)  # the first step has size lr whatever the gradient's scale
    array([-0.1,  0.1])
    """

    def __init__(self, params: Sequence[np.ndarray], lr: float, eps: float = 1e-10):
        super().__init__(params, lr)
        self.eps = positive_float(eps, "eps", "Adagrad")
        self.sum_sq = [np.zeros_like(p, dtype=np.float64) for p in self.params]

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        G = self.sum_sq[i]
        G += g * g
        p -= self.lr * g / (np.sqrt(G) + self.eps)


class Adam(_Optimizer):
    r"""Adam: momentum on the gradient and on its square, with bias correction.

    .. math::

        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,

        \hat m_t = \frac{m_t}{1-\beta_1^t}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t},
        \qquad W \leftarrow W - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon},

    with :math:`m_0 = v_0 = 0`. The division by :math:`1-\beta^t` undoes the bias toward 0
    of the first averages ("moments biaisés vers 0").

    Lecture 002 (Boulch et al.), slide "Adam", writes :math:`\eta\,\hat m_t /
    \sqrt{\hat v_t + \epsilon}`; like ``torch.optim.Adam`` and Kingma & Ba (2015) we add
    :math:`\epsilon` outside the square root (same role: avoid dividing by zero).

    Parameters
    ----------
    params : list of ndarray
        Parameters, updated in place by :meth:`step`.
    lr : float, default 1e-3
        Learning rate :math:`\eta > 0`.
    betas : tuple of 2 floats, default (0.9, 0.999)
        :math:`(\beta_1, \beta_2)`, each in [0, 1).
    eps : float, default 1e-8
        :math:`\epsilon > 0`.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros(2)
    >>> Adam([w], lr=0.01).step([np.array([5.0, -0.2])])
    >>> w.round(6)  # bias correction: the first step is lr * sign(g)
    array([-0.01,  0.01])
    """

    def __init__(self, params: Sequence[np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            _fail("Adam", "betas", "a pair (beta1, beta2)", betas, TypeError)
        for k, beta in enumerate(betas):
            beta = positive_float(beta, f"betas[{k}]", "Adam", allow_zero=True)
            if beta >= 1:
                _fail("Adam", f"betas[{k}]", "in [0, 1)", beta)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = positive_float(eps, "eps", "Adam")
        self.m = [np.zeros_like(p, dtype=np.float64) for p in self.params]
        self.v = [np.zeros_like(p, dtype=np.float64) for p in self.params]

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        beta1, beta2 = self.betas
        m, v = self.m[i], self.v[i]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** self.t)
        v_hat = v / (1 - beta2 ** self.t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
