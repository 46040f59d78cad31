"""Interactive demos of the book (ipywidgets): perceptron stepper, kernel explorer, MLP playground.

Each public function returns an ``ipywidgets.VBox`` subclass that also keeps the demo's state as
attributes, so the logic can be driven without a browser (``widget.next_button.click()``) and
tested headless. Every figure is rendered to PNG and stored in an ``ipywidgets.Output`` as a
display-data bundle: the first state is therefore already a picture, which the static HTML book
shows even when no kernel runs behind the page. Each demo also stores, with the PNG, an HTML
``<img>`` whose ``alt`` text describes the current state (screen readers read it).

* :func:`perceptron_stepper` -- one Rosenblatt update per click, hyperplane and normal vector
  redrawn (lecture 000, Lefort, slides "Perceptron - Rosenblatt (1957)" and "Un exemple : le OU").
* :func:`kernel_explorer` -- edit a 3x3 kernel, see the filtered image (lecture 001, Mahmoudi,
  slides on image kernels; the lectures point to setosa.io's explorer).
* :func:`mlp_playground` -- train a small MLP on 2-D data, see its decision boundary and loss
  curve (the lectures point to playground.tensorflow.org).

Widget labels are in French: they are read by students.

Example
-------
>>> demo = perceptron_stepper()
>>> demo.w
array([0., 1., 0.])
>>> demo.next_button.click(); demo.next_button.click()
>>> demo.w, demo.step_index
(array([1., 1., 1.]), 2)
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from ._checks import as_float_array, one_of, positive_float
from ._french import french_number, localise

__all__ = [
    "perceptron_stepper", "kernel_explorer", "mlp_playground",
    "PerceptronStepper", "KernelExplorer", "MLPPlayground", "figure_bundle",
    "make_dataset", "parse_hidden", "train_playground_model", "DATASETS", "ACTIVATIONS",
]


def figure_bundle(fig: Figure, dpi: int = 80, alt: str | None = None) -> dict[str, Any]:
    """Render a matplotlib figure to a Jupyter ``display_data`` output (PNG, base64).

    Setting ``Output.outputs = (bundle,)`` shows the picture in Jupyter and keeps it in the saved
    widget state, so the executed HTML book displays it too. With ``alt``, the bundle also holds
    an HTML ``<img>`` of the same PNG carrying that text alternative: Jupyter and the book's
    widget manager prefer HTML to a bare PNG, which they draw without any ``alt``.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    data = {"image/png": png,
            "text/plain": f"<Figure size {fig.get_figwidth():g}x{fig.get_figheight():g} in>"}
    if alt is not None:
        data["text/html"] = f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt)}">'
    return {"output_type": "display_data", "data": data, "metadata": {}}


def _show(output: widgets.Output, fig: Figure, alt: str) -> None:
    output.outputs = (figure_bundle(fig, alt=alt),)


# --------------------------------------------------------------------------------------------
# Perceptron stepper
# --------------------------------------------------------------------------------------------

class PerceptronStepper(widgets.VBox):
    """The perceptron stepper (see :func:`perceptron_stepper`); a ``VBox`` keeping its state.

    Attributes
    ----------
    X : ndarray of shape (n_samples, 3)
        Examples with their bias column :math:`x_0 = 1`.
    t : ndarray of int of shape (n_samples,)
    w0, w : ndarray of shape (3,)
        Initial and current weights.
    step_index : int
        Number of examples presented so far (the next one is ``X[step_index % n_samples]``).
    last : dict or None
        The last presentation: ``x``, ``w_before``, ``y``, ``t``, ``w_after``.
    errors_in_epoch : int
        Misclassified examples in the epoch under way.
    converged : bool
        True once a whole epoch went by without error.
    """

    def __init__(self, X: ArrayLike | None = None, t: ArrayLike | None = None,
                 w0: ArrayLike | None = None, lr: float = 1.0) -> None:
        from . import perceptron

        func = "perceptron_stepper"
        if X is None and t is None:
            X, t = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 1]  # OR, truth-table order
            if w0 is None:
                w0 = [0.0, 1.0, 0.0]  # the lecture's starting point
        elif X is None or t is None:
            raise ValueError(f"The 'X' and 't' parameters of {func} must be given together. "
                             f"Got only {'X' if t is None else 't'} instead.")
        X = as_float_array(X, "X", func, ndim=2, shape_doc="(n_samples, 2)")
        if X.shape[1] != 2 or X.shape[0] == 0:
            raise ValueError(f"The 'X' parameter of {func} must be an array of shape (n_samples, 2) "
                             f"(two features, no bias column). Got an array of shape {X.shape} instead.")
        t = as_float_array(t, "t", func, ndim=1, shape_doc=f"({X.shape[0]},)")
        if t.shape[0] != X.shape[0] or not np.all((t == 0) | (t == 1)):
            raise ValueError(f"The 't' parameter of {func} must be {X.shape[0]} targets equal to 0 "
                             f"or 1. Got {t.tolist()} instead.")
        w0 = np.zeros(3) if w0 is None else as_float_array(w0, "w0", func, ndim=1, shape_doc="(3,)")
        if w0.shape != (3,):
            raise ValueError(f"The 'w0' parameter of {func} must be an array of shape (3,). "
                             f"Got an array of shape {w0.shape} instead.")
        self._perceptron = perceptron
        self.X = perceptron.add_bias(X)
        self.t = t.astype(int)
        self.w0 = w0.copy()
        self.lr = positive_float(lr, "lr", func)
        self._limits = _padded_limits(X)

        self.next_button = widgets.Button(description="Pas suivant", button_style="primary",
                                          tooltip="Présenter l'exemple suivant et corriger les poids")
        self.reset_button = widgets.Button(description="Réinitialiser",
                                           tooltip="Revenir aux poids initiaux")
        self.info = widgets.HTML()
        self.figure_output = widgets.Output()
        self.next_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.reset())
        super().__init__([widgets.HBox([self.next_button, self.reset_button]),
                          self.info, self.figure_output])
        self.reset()

    def reset(self) -> None:
        """Go back to ``w0`` and to the first example."""
        self.w = self.w0.copy()
        self.step_index = 0
        self.last: dict[str, Any] | None = None
        self.errors_in_epoch = 0
        self.converged = False
        self._redraw()

    def step(self) -> None:
        """Present the next example and apply one Rosenblatt update (:func:`perceptron_step`)."""
        n = len(self.t)
        i = self.step_index % n
        x, target = self.X[i], int(self.t[i])
        y = int(self._perceptron.predict(self.w, x))
        w_after = self._perceptron.perceptron_step(self.w, x, target, lr=self.lr)
        self.last = {"x": x, "w_before": self.w, "y": y, "t": target, "w_after": w_after}
        self.w = w_after
        self.errors_in_epoch += int(y != target)
        self.step_index += 1
        if self.step_index % n == 0:
            self.converged = self.converged or self.errors_in_epoch == 0
            self.errors_in_epoch = 0
        self._redraw()

    def figure(self) -> Figure:
        """The current picture: examples, presented example, hyperplane, normal vector."""
        fig = Figure(figsize=(4.6, 4.2))
        ax = fig.add_subplot()
        _draw_linear_boundary(ax, self.w, self._limits)
        pts = self.X[:, 1:]
        for cls, marker, colour, name in ((0, "o", "tab:blue", "t = 0"), (1, "s", "tab:red", "t = 1")):
            sel = self.t == cls
            ax.scatter(pts[sel, 0], pts[sel, 1], marker=marker, c=colour, s=70,
                       edgecolors="k", zorder=3, label=name)
        if self.last is not None:
            x = self.last["x"]
            ax.scatter([x[1]], [x[2]], s=330, facecolors="none", edgecolors="gold",
                       linewidths=3, zorder=4, label="exemple présenté")
        ax.set_xlim(*self._limits[0])
        ax.set_ylim(*self._limits[1])
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.set_aspect("equal")
        ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
        ax.set_title(f"pas {self.step_index}, w = ({_fmt(self.w)})", fontsize=10)
        return fig

    def _redraw(self) -> None:
        n = len(self.t)
        epoch = self.step_index // n + 1
        lines = [f"<b>Poids courants</b> w = ({_fmt(self.w)}) &nbsp; η = {self.lr:g} &nbsp; "
                 f"exemples présentés : {self.step_index} (époque {epoch})"]
        if self.last is None:
            lines.append("Cliquez sur « Pas suivant » pour présenter le premier exemple.")
        else:
            last = self.last
            verdict = "bien classé, poids inchangés" if last["y"] == last["t"] else "erreur, correction"
            lines.append(f"Exemple présenté x = ({_fmt(last['x'])}) : y = {last['y']}, t = {last['t']} "
                         f"→ {verdict} ; w devient ({_fmt(last['w_after'])}).")
        if self.converged:
            lines.append("<b>Convergence</b> : une époque entière sans erreur.")
        self.info.value = "<br>".join(lines)
        _show(self.figure_output, self.figure(), self.alt_text())

    def alt_text(self) -> str:
        """The picture in words (French, like the labels): weights, line, misclassified examples."""
        text = ("Plan (x1, x2) : exemples de sortie voulue 0 en ronds bleus, de sortie voulue 1 en "
                f"carrés rouges ; poids w = ({_fmt(self.w)}). ")
        if self.w[1] == 0 and self.w[2] == 0:
            text += f"Pas de droite : le neurone répond {int(self.w[0] > 0)} partout. "
        else:
            text += ("La droite où le neurone hésite sépare le demi-plan où il répond 1, en rose, "
                     "du reste ; le vecteur normal (w1, w2) est dessiné en flèche. ")
        if self.last is not None:
            text += f"L'exemple présenté, ({_fmt(self.last['x'][1:])}), est entouré en jaune. "
        wrong = self.X[self._perceptron.predict(self.w, self.X) != self.t][:, 1:]
        if len(wrong) == 0:
            return text + "Tous les exemples sont bien classés."
        if len(wrong) > 4:
            return text + f"{len(wrong)} exemples sur {len(self.t)} sont mal classés."
        listed = " ; ".join(f"({_fmt(x)})" for x in wrong)
        return text + f"Mal classé{'s' if len(wrong) > 1 else ''} : {listed}."


def perceptron_stepper(X: ArrayLike | None = None, t: ArrayLike | None = None,
                       w0: ArrayLike | None = None, lr: float = 1.0) -> PerceptronStepper:
    """A perceptron trained one example per click of "Pas suivant".

    Each click presents the next example (in the order of ``X``, cycling) and applies
    :func:`dlcourse.perceptron.perceptron_step`,

    .. math:: w \\leftarrow w + \\eta\\, x\\,(t - y),

    then redraws the hyperplane :math:`w_0 + w_1 x_1 + w_2 x_2 = 0`, the half-plane where
    :math:`y = 1` and the normal vector :math:`(w_1, w_2)`. Lecture 000 (Lefort), slides
    "Perceptron - Rosenblatt (1957)" and "Un exemple : le OU".

    Parameters
    ----------
    X : array_like of shape (n_samples, 2), optional
        Examples *without* their bias column. Default: the OR gate's inputs in truth-table order.
    t : array_like of shape (n_samples,), optional
        Targets, 0 or 1. Default: the OR gate's outputs.
    w0 : array_like of shape (3,), optional
        Initial weights :math:`(w_0, w_1, w_2)`. Default: the lecture's :math:`(0, 1, 0)` for
        the OR gate, zeros otherwise.
    lr : float, default 1.0
        Learning rate :math:`\\eta > 0`.

    Returns
    -------
    PerceptronStepper
        An ``ipywidgets.VBox``; its attributes ``w``, ``step_index``, ``last``,
        ``next_button``, ``reset_button`` and ``figure_output`` expose the state.

    Examples
    --------
    >>> demo = perceptron_stepper()
    >>> for _ in range(5):
    ...     demo.next_button.click()
    >>> demo.w  # the lecture's trace after the fifth example
    array([0., 1., 1.])
    """
    return PerceptronStepper(X, t, w0, lr)


def _fmt(v: np.ndarray) -> str:
    return ", ".join(f"{float(a):g}" for a in v)


def _padded_limits(X: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum(0.5, 0.25 * (hi - lo))
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0])), (float(lo[1] - pad[1]), float(hi[1] + pad[1]))


def _draw_linear_boundary(ax, w: np.ndarray, limits) -> None:
    """Shade {w0 + w1 x1 + w2 x2 > 0}, draw the line and the normal vector (w1, w2)."""
    (x0, x1), (y0, y1) = limits
    gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    positive = (w[0] + w[1] * gx + w[2] * gy > 0).astype(float)
    ax.contourf(gx, gy, positive, levels=[-0.5, 0.5, 1.5], colors=["#dbe8f6", "#f8dcdc"])
    normal = np.array([w[1], w[2]])
    norm = float(np.linalg.norm(normal))
    if norm == 0:
        # No hyperplane: the sign of w0 alone decides, the whole plane is one class.
        ax.text(0.5, 0.04, "w₁ = w₂ = 0 : pas d'hyperplan", transform=ax.transAxes,
                ha="center", fontsize=9)
        return
    ax.contour(gx, gy, w[0] + w[1] * gx + w[2] * gy, levels=[0.0], colors="k", linewidths=2)
    # Foot of the perpendicular from the centre of the view: a visible point of the line.
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    foot = centre - (w[0] + normal @ centre) / norm**2 * normal
    arrow = 0.6 * normal / norm
    ax.annotate("", xy=foot + arrow, xytext=foot,
                arrowprops={"arrowstyle": "-|>", "color": "k", "lw": 1.5})
    ax.text(*(foot + 1.15 * arrow), "$(w_1, w_2)$", fontsize=9, ha="center", va="center")


# --------------------------------------------------------------------------------------------
# Kernel explorer
# --------------------------------------------------------------------------------------------

_CUSTOM = "personnalisé"
# French names shown to students for the keys of dlcourse.conv.KERNELS (the values stay the keys).
KERNEL_LABELS = {"identity": "identité", "sharpen": "accentuation", "blur": "flou (gaussien)",
                 "box_blur": "flou (moyenne)", "sobel_x": "Sobel horizontal (x)",
                 "sobel_y": "Sobel vertical (y)"}


class KernelExplorer(widgets.VBox):
    """The image-kernel explorer (see :func:`kernel_explorer`); a ``VBox`` keeping its state.

    Attributes
    ----------
    image : ndarray of shape (H, W)
    kernel : ndarray of shape (3, 3)
        The kernel read from the grid.
    filtered : ndarray
        ``dlcourse.conv.filter_image(image, kernel)``.
    preset : ipywidgets.Dropdown
        Presets from ``dlcourse.conv.KERNELS`` (3x3 ones), plus "personnalisé".
    cells : list of ipywidgets.FloatText
        The 9 kernel entries, row by row.
    """

    def __init__(self, image: ArrayLike | None = None, description: str | None = None) -> None:
        from . import conv

        self._conv = conv
        if image is None:
            image, description = _default_image()
        image = as_float_array(image, "image", "kernel_explorer", ndim=2, shape_doc="(H, W)")
        if min(image.shape) < 3:
            raise ValueError("The 'image' parameter of kernel_explorer must be at least 3x3. "
                             f"Got an array of shape {image.shape} instead.")
        self.image = image
        self.description = description or "image fournie"
        self.presets = {name: np.asarray(k, dtype=float) for name, k in conv.KERNELS.items()
                        if np.shape(k) == (3, 3)}
        # Start on an edge detector: an identity kernel would show two identical pictures.
        first = next((k for k in ("sobel_x", "sharpen") if k in self.presets),
                     next(iter(self.presets), None))
        self.preset = widgets.Dropdown(options=[(KERNEL_LABELS.get(k, k), k) for k in self.presets]
                                       + [(_CUSTOM, _CUSTOM)],
                                       value=first if first is not None else _CUSTOM,
                                       description="Noyau :")
        self.cells = [widgets.FloatText(value=0.0, layout=widgets.Layout(width="70px"))
                      for _ in range(9)]
        self.figure_output = widgets.Output()
        self._syncing = False
        self.preset.observe(self._on_preset, names="value")
        for cell in self.cells:
            cell.observe(self._on_cell, names="value")
        grid = widgets.GridBox(self.cells, layout=widgets.Layout(
            grid_template_columns="repeat(3, 75px)", grid_gap="2px"))
        controls = widgets.VBox([self.preset, widgets.HTML("Coefficients du noyau (3×3) :"), grid])
        super().__init__([controls, self.figure_output])
        initial = self.presets[first] if first is not None else np.eye(3)[[1]].T @ np.eye(3)[[1]]
        self.set_kernel(initial)

    def set_kernel(self, kernel: ArrayLike) -> None:
        """Write a 3x3 kernel into the grid and redraw (one redraw, not nine)."""
        kernel = as_float_array(kernel, "kernel", "KernelExplorer.set_kernel", ndim=2, shape_doc="(3, 3)")
        if kernel.shape != (3, 3):
            raise ValueError("The 'kernel' parameter of KernelExplorer.set_kernel must be an array "
                             f"of shape (3, 3). Got an array of shape {kernel.shape} instead.")
        self._syncing = True
        try:
            for cell, value in zip(self.cells, kernel.ravel()):
                cell.value = float(value)
        finally:
            self._syncing = False
        self._update()

    def _on_preset(self, change: dict[str, Any]) -> None:
        if self._syncing or change["new"] == _CUSTOM:
            return
        self.set_kernel(self.presets[change["new"]])

    def _on_cell(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        # A hand-edited kernel no longer matches the preset shown: say so.
        self._syncing = True
        try:
            self.preset.value = self._matching_preset(self._read_grid())
        finally:
            self._syncing = False
        self._update()

    def _read_grid(self) -> np.ndarray:
        return np.array([c.value for c in self.cells], dtype=float).reshape(3, 3)

    def _matching_preset(self, kernel: np.ndarray) -> str:
        for name, k in self.presets.items():
            if np.allclose(k, kernel):
                return name
        return _CUSTOM

    def _update(self) -> None:
        self.kernel = self._read_grid()
        self.filtered = np.asarray(self._conv.filter_image(self.image, self.kernel))
        _show(self.figure_output, self.figure(), self.alt_text())

    def alt_text(self) -> str:
        """The picture in words (French, like the labels): image, kernel, range of the response."""
        rows = " ; ".join(" ".join(localise(f"{v:.3g}") for v in row) for row in self.kernel)
        return (f"Deux images en niveaux de gris. À gauche, l'original ({self.description}) ; à "
                f"droite, sa version filtrée par le noyau « {self.preset.label} », de lignes "
                f"{rows}. Les valeurs filtrées vont de {french_number(self.filtered.min(), 2)} à "
                f"{french_number(self.filtered.max(), 2)}, du noir au blanc.")

    def figure(self) -> Figure:
        """Original image beside the filtered one."""
        fig = Figure(figsize=(7.0, 3.4))
        axes = fig.subplots(1, 2)
        axes[0].imshow(self.image, cmap="gray")
        axes[0].set_title(f"original ({self.description})", fontsize=9)
        im = axes[1].imshow(self.filtered, cmap="gray")
        axes[1].set_title(f"filtré : {self.preset.label}", fontsize=9)
        fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.04)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        return fig


def _default_image() -> tuple[np.ndarray, str]:
    """A bundled MNIST digit, or a synthetic picture (square, disc, gradient) if none loads."""
    try:
        from . import data

        digits = data.load_mnist(train=False, download=False)
        return np.asarray(digits.x[0, 0], dtype=float), "un chiffre MNIST"
    except Exception:  # no data at all: fall back to a drawing rather than failing the demo
        yy, xx = np.mgrid[0:48, 0:48]
        img = 0.3 * xx / 47
        img[8:24, 8:24] = 1.0
        img[((yy - 32) ** 2 + (xx - 32) ** 2) < 90] = 0.7
        return img, "image synthétique"


def kernel_explorer(image: ArrayLike | None = None) -> KernelExplorer:
    """Edit a 3x3 kernel and see the image it filters.

    The filtered picture is :func:`dlcourse.conv.filter_image` of ``image`` with the kernel of
    the grid: each output pixel is :math:`\\sum_{u,v} K_{u,v}\\, I_{i+u, j+v}`. The dropdown
    loads the 3x3 presets of :data:`dlcourse.conv.KERNELS` (sharpen, blur, Sobel...); editing a
    cell switches it to "personnalisé". Lecture 001 (Mahmoudi), slides on image kernels;
    lecture 004 (Chan-Hon-Tong), slides "Convolution" and "Sobel".

    Parameters
    ----------
    image : array_like of shape (H, W), optional
        A grey-level image, at least 3x3. Default: a digit of the bundled MNIST subset
        (``dlcourse.data.load_mnist``), or a synthetic picture if no data can be loaded.

    Returns
    -------
    KernelExplorer
        An ``ipywidgets.VBox``; ``kernel``, ``filtered``, ``preset``, ``cells`` and
        ``figure_output`` expose the state.

    Examples
    --------
    >>> demo = kernel_explorer(np.arange(36.0).reshape(6, 6))
    >>> demo.cells[4].value = 2.0
    >>> demo.preset.value, float(demo.kernel[1, 1])
    ('personnalisé', 2.0)
    """
    return KernelExplorer(image)


# --------------------------------------------------------------------------------------------
# MLP playground
# --------------------------------------------------------------------------------------------

DATASETS = {"moons": "lunes", "circles": "cercles", "spirals": "spirales", "xor": "XOR (4 nuages)"}
HIDDEN_CHOICES = ("2", "4", "8", "16", "4,4", "8,8", "16,16", "8,8,8")
ACTIVATIONS = ("sigmoid", "tanh", "relu")
ACTIVATION_LABELS = {"sigmoid": "sigmoïde", "tanh": "tanh", "relu": "ReLU"}


def make_dataset(name: str, n: int = 200, noise: float = 0.1, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The 2-D data sets of the playground: ``(X (n, 2), t (n,))`` with integer classes.

    ``"moons"``, ``"circles"`` and ``"spirals"`` come from :mod:`dlcourse.data`; ``"xor"`` is
    four Gaussian blobs centred on :math:`(\\pm 1, \\pm 1)`, class 1 where the signs differ.
    """
    one_of(name, "name", "make_dataset", tuple(DATASETS))
    if name == "xor":
        rng = np.random.default_rng(seed)
        centres = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=float)
        labels = np.array([0, 1, 1, 0])
        k = rng.integers(0, 4, size=n)
        X = centres[k] + (0.25 + noise) * rng.standard_normal((n, 2))
        return X, labels[k]
    from . import data

    maker = {"moons": data.make_moons, "circles": data.make_circles, "spirals": data.make_spirals}[name]
    X, t = maker(n=n, noise=noise, seed=seed)
    return np.asarray(X, dtype=float), np.asarray(t).astype(int)


def parse_hidden(spec: str) -> list[int]:
    """``"8,8"`` -> ``[8, 8]``: the hidden-layer widths of the playground."""
    try:
        sizes = [int(s) for s in str(spec).replace(" ", "").split(",") if s]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise ValueError("The 'hidden' parameter of mlp_playground must be comma-separated positive "
                         f"integers such as '8,8'. Got {spec!r} instead.")
    return sizes


def train_playground_model(X: np.ndarray, t: np.ndarray, hidden: list[int], activation: str,
                           lr: float, epochs: int, seed: int = 0):
    """Full-batch Adam on the cross-entropy of a small torch MLP; returns ``(model, losses)``.

    ``X`` should be standardised (the playground does it) so that one learning rate suits every
    data set. ``losses`` has shape ``(epochs,)``: the training loss before each update.
    """
    import torch
    from torch import nn

    one_of(activation, "activation", "mlp_playground", ACTIVATIONS)
    act = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[activation]
    gen = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    width = 2
    for h in hidden:
        layers += [nn.Linear(width, h), act()]
        width = h
    layers.append(nn.Linear(width, int(t.max()) + 1))
    model = nn.Sequential(*layers)
    with torch.no_grad():  # seeded init without touching torch's global generator
        for layer in model:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / np.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=gen)
                layer.bias.uniform_(-bound, bound, generator=gen)
    xs = torch.as_tensor(X, dtype=torch.float32)
    ts = torch.as_tensor(t, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    losses = np.empty(epochs)
    # Tensors this small gain nothing from intra-op threads, and on a busy machine the thread
    # hand-offs cost 20x the arithmetic: train on one thread, then restore the user's setting.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for epoch in range(epochs):
            opt.zero_grad()
            loss = loss_fn(model(xs), ts)
            loss.backward()
            opt.step()
            losses[epoch] = loss.item()
    finally:
        torch.set_num_threads(threads)
    return model, losses


class MLPPlayground(widgets.VBox):
    """The MLP playground (see :func:`mlp_playground`); a ``VBox`` keeping its state.

    Attributes
    ----------
    X, t : ndarray of shapes (n, 2) and (n,)
        The current data set.
    model : torch.nn.Module or None
        The last trained network.
    losses : ndarray of shape (epochs,)
        Its training loss curve.
    accuracy : float
        Its training accuracy.
    dataset, hidden, activation, lr, epochs, noise : ipywidgets controls
    train_button : ipywidgets.Button
    """

    def __init__(self, dataset: str = "moons", hidden: str = "8,8", activation: str = "tanh",
                 lr: float = 0.03, epochs: int = 300, n: int = 200, seed: int = 0) -> None:
        one_of(dataset, "dataset", "mlp_playground", tuple(DATASETS))
        one_of(activation, "activation", "mlp_playground", ACTIVATIONS)
        parse_hidden(hidden)
        self.n, self.seed = n, seed
        style = {"description_width": "150px"}
        self.dataset = widgets.Dropdown(options=[(v, k) for k, v in DATASETS.items()], value=dataset,
                                        description="Données :", style=style)
        self.noise = widgets.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.05,
                                         description="Bruit :", style=style)
        options = list(HIDDEN_CHOICES) if hidden in HIDDEN_CHOICES else [hidden, *HIDDEN_CHOICES]
        # "8,8" is two layers of 8: shown as "8-8" (a comma would read as a decimal mark).
        self.hidden = widgets.Dropdown(options=[(o.replace(",", "-"), o) for o in options], value=hidden,
                                       description="Couches cachées :", style=style)
        self.activation = widgets.Dropdown(options=[(ACTIVATION_LABELS[a], a) for a in ACTIVATIONS],
                                           value=activation,
                                           description="Activation :", style=style)
        self.lr = widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.25,
                                         description="Pas η (Adam) :", style=style, readout_format=".3g")
        self.epochs = widgets.IntSlider(value=epochs, min=10, max=1500, step=10,
                                        description="Époques :", style=style)
        self.train_button = widgets.Button(description="Entraîner", button_style="primary")
        self.info = widgets.HTML()
        self.figure_output = widgets.Output()
        self.model = None
        self.losses = np.empty(0)
        self.accuracy = float("nan")
        self.train_button.on_click(lambda _: self.train())
        for control in (self.dataset, self.noise):
            control.observe(lambda _: self._load_data(), names="value")
        controls = widgets.VBox([self.dataset, self.noise, self.hidden, self.activation, self.lr,
                                 self.epochs, self.train_button])
        super().__init__([widgets.HBox([controls, self.info]), self.figure_output])
        self._load_data(redraw=False)
        self.train()  # the first picture is already a trained network

    def _load_data(self, redraw: bool = True) -> None:
        self.X, self.t = make_dataset(self.dataset.value, n=self.n, noise=self.noise.value, seed=self.seed)
        self._mean, self._std = self.X.mean(axis=0), self.X.std(axis=0) + 1e-12
        self.model, self.losses, self.accuracy = None, np.empty(0), float("nan")
        if redraw:
            self.info.value = "Nouvelles données : cliquez sur « Entraîner »."
            _show(self.figure_output, self.figure(), self.alt_text())

    def train(self) -> None:
        """Train a fresh network with the current settings, then redraw."""
        self.info.value = "Entraînement…"
        self.model, self.losses = train_playground_model(
            (self.X - self._mean) / self._std, self.t, parse_hidden(self.hidden.value),
            self.activation.value, float(self.lr.value), int(self.epochs.value), seed=self.seed)
        self.accuracy = float(np.mean(self.predict_proba(self.X).argmax(1) == self.t))
        self.info.value = (f"Perte finale : {french_number(self.losses[-1], 3)}<br>"
                           f"Exactitude (apprentissage) : {french_number(100 * self.accuracy, 1)}\u202f%")
        _show(self.figure_output, self.figure(), self.alt_text())

    def alt_text(self) -> str:
        """The picture in words (French, like the labels): data, network, loss, accuracy."""
        points = (f"Deux graphiques. À gauche, les {len(self.t)} points du jeu de données "
                  f"« {self.dataset.label} », de la couleur de leur classe")
        if self.model is None:
            return points + (" ; aucun réseau n'est encore entraîné : pas de fond coloré, et la "
                             "courbe de perte, à droite, est vide.")
        return (f"{points}, sur un fond qui indique la prédiction du réseau (couches cachées "
                f"{self.hidden.label}, activation {self.activation.label}). À droite, "
                "l'entropie croisée d'apprentissage en fonction de l'époque, en échelle "
                f"logarithmique : de {french_number(self.losses[0], 3)} à "
                f"{french_number(self.losses[-1], 3)} en {self.losses.size} époques. Exactitude "
                f"sur les données d'apprentissage : {french_number(100 * self.accuracy, 1)} %.")

    def predict_proba(self, points: ArrayLike) -> np.ndarray:
        """Class probabilities of the trained network, shape ``(n_points, n_classes)``."""
        import torch

        if self.model is None:
            raise ValueError("The 'model' of MLPPlayground must be trained first (call train()). "
                             "Got None instead.")
        pts = (np.asarray(points, dtype=float) - self._mean) / self._std
        with torch.no_grad():
            logits = self.model(torch.as_tensor(pts, dtype=torch.float32))
        return torch.softmax(logits, dim=1).numpy()

    def figure(self) -> Figure:
        """Decision regions with the data, and the loss curve."""
        fig = Figure(figsize=(8.0, 3.6))
        ax, ax_loss = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        (x0, x1), (y0, y1) = _padded_limits(self.X)
        if self.model is not None:
            gx, gy = np.meshgrid(np.linspace(x0, x1, 150), np.linspace(y0, y1, 150))
            proba = self.predict_proba(np.c_[gx.ravel(), gy.ravel()])
            # Probability of class 1 for two classes; otherwise the predicted class.
            z = proba[:, 1] if proba.shape[1] == 2 else proba.argmax(1)
            ax.contourf(gx, gy, z.reshape(gx.shape), levels=20, cmap="RdBu_r", alpha=0.5)
        ax.scatter(self.X[:, 0], self.X[:, 1], c=self.t, cmap="RdBu_r", s=18, edgecolors="k",
                   linewidths=0.4)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.set_title("frontière de décision", fontsize=10)
        if self.losses.size:
            ax_loss.plot(np.arange(1, self.losses.size + 1), self.losses)
            ax_loss.set_yscale("log")
        ax_loss.set_xlabel("époque")
        ax_loss.set_ylabel("entropie croisée (apprentissage)")
        ax_loss.set_title("courbe de perte", fontsize=10)
        ax_loss.grid(True, alpha=0.3)
        fig.tight_layout()
        return fig


def mlp_playground(dataset: str = "moons", hidden: str = "8,8", activation: str = "tanh",
                   lr: float = 0.03, epochs: int = 300) -> MLPPlayground:
    """Train a small MLP on 2-D data and see its decision boundary and loss curve.

    Controls: data set (moons, circles, spirals, XOR blobs) and its noise, hidden layers
    (``"8,8"`` = two layers of 8 neurons), activation (sigmoid, tanh, ReLU), learning rate of
    Adam, number of epochs (full-batch updates); "Entraîner" trains a fresh network (well
    under 2 s on a CPU for the default sizes) by minimising the cross-entropy

    .. math:: E = -\\frac{1}{N} \\sum_{k=1}^{N} \\log \\operatorname{softmax}(f_\\theta(x_k))_{t_k}.

    The widget trains once when built, so its first picture is a trained network. In the spirit
    of playground.tensorflow.org, to which the lectures point.

    Parameters
    ----------
    dataset : {"moons", "circles", "spirals", "xor"}, default "moons"
    hidden : str, default "8,8"
        Widths of the hidden layers, comma-separated.
    activation : {"sigmoid", "tanh", "relu"}, default "tanh"
    lr : float, default 0.03
        Learning rate of Adam (the slider spans 0.001 to 1).
    epochs : int, default 300

    Returns
    -------
    MLPPlayground
        An ``ipywidgets.VBox``; ``model``, ``losses``, ``accuracy``, the controls and
        ``train_button`` expose the state.

    Examples
    --------
    >>> demo = mlp_playground("xor", hidden="4", epochs=200)
    >>> bool(demo.losses[-1] < demo.losses[0])
    True
    """
    return MLPPlayground(dataset, hidden, activation, lr, epochs)
