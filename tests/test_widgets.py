"""Headless tests of the book's ipywidgets demos: build, click or edit, check state and picture.

Buttons are clicked programmatically (``button.click()`` runs the handlers as a browser would);
the picture is the PNG bundle stored in the ``Output`` widget, so "the figure changed" means the
stored PNG changed.
"""

from __future__ import annotations

import base64
import io

import ipywidgets
import numpy as np
import pytest

from dlcourse import perceptron, widgets
from dlcourse._french import french_number, localise


def _png(output: ipywidgets.Output) -> bytes:
    """The single PNG an Output widget holds (fails if it holds anything else)."""
    assert len(output.outputs) == 1, output.outputs
    bundle = output.outputs[0]
    assert bundle["output_type"] == "display_data"
    data = base64.b64decode(bundle["data"]["image/png"])
    assert data.startswith(b"\x89PNG"), "the Output does not hold a PNG image"
    return data


def _alt(output: ipywidgets.Output) -> str:
    """The alt text of the HTML <img> an Output widget holds beside its PNG (the same picture)."""
    import html
    import re

    bundle = output.outputs[0]["data"]
    match = re.fullmatch(r'<img src="data:image/png;base64,([^"]*)" alt="([^"]*)">', bundle["text/html"])
    assert match, bundle["text/html"][:200]
    assert match.group(1) == bundle["image/png"], "the HTML image is not the PNG of the bundle"
    return html.unescape(match.group(2))


def test_figure_bundle_adds_an_html_image_only_with_alt_text():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1])
    assert "text/html" not in widgets.figure_bundle(fig)["data"]
    output = ipywidgets.Output()
    output.outputs = (widgets.figure_bundle(fig, alt='Une droite « y = x » & <rien> d"autre'),)
    assert _alt(output) == 'Une droite « y = x » & <rien> d"autre'


def _image_array(png: bytes) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(png), format="png")


# ------------------------------------------------------------------------ perceptron stepper

def test_stepper_first_state_is_a_picture_of_the_lecture_start():
    demo = widgets.perceptron_stepper()
    assert isinstance(demo, ipywidgets.VBox)
    np.testing.assert_array_equal(demo.w, [0.0, 1.0, 0.0])
    assert demo.step_index == 0 and demo.last is None
    image = _image_array(_png(demo.figure_output))
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.05, "the first picture is blank"
    assert "Pas suivant" in demo.next_button.description
    assert "w = (0, 1, 0)" in demo.info.value


def test_stepper_clicks_follow_perceptron_step_and_reproduce_the_or_trace():
    X, t = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 1]
    demo = widgets.perceptron_stepper()
    _, history = perceptron.train_perceptron(perceptron.add_bias(X), t, w0=[0, 1, 0], lr=1.0)
    pictures = {_png(demo.figure_output)}
    w = np.array([0.0, 1.0, 0.0])
    for k in range(len(history)):
        demo.next_button.click()
        x = perceptron.add_bias(X[k % 4])
        w = perceptron.perceptron_step(w, x, t[k % 4], lr=1.0)
        np.testing.assert_array_equal(demo.w, w)
        np.testing.assert_array_equal(demo.w, history[k].w_after)
        np.testing.assert_array_equal(demo.last["x"], x)
        assert demo.last["y"] == history[k].y
        assert demo.step_index == k + 1
        pictures.add(_png(demo.figure_output))
    # Every click redraws: the highlighted example moves even when w does not.
    assert len(pictures) == len(history) + 1
    assert demo.converged, "an error-free epoch must be reported as convergence"
    np.testing.assert_array_equal(demo.w, [0.0, 1.0, 1.0])


def test_stepper_picture_has_alt_text_that_follows_the_state():
    demo = widgets.perceptron_stepper()
    assert _alt(demo.figure_output) == demo.alt_text()
    assert "w = (0, 1, 0)" in demo.alt_text() and demo.alt_text().endswith("Mal classé : (0, 1).")
    assert "entouré" not in demo.alt_text()
    demo.next_button.click()
    demo.next_button.click()  # (0, 1) misclassified: w becomes (1, 1, 1), (0, 0) is now wrong
    assert _alt(demo.figure_output) == demo.alt_text()
    assert "w = (1, 1, 1)" in demo.alt_text()
    assert "L'exemple présenté, (0, 1), est entouré" in demo.alt_text()
    assert demo.alt_text().endswith("Mal classé : (0, 0).")
    for _ in range(3):
        demo.next_button.click()
    assert demo.alt_text().endswith("Tous les exemples sont bien classés.")
    flat = widgets.perceptron_stepper(X=[[0, 0], [1, 1]], t=[0, 1], w0=[1, 0, 0])
    assert "Pas de droite : le neurone répond 1 partout." in flat.alt_text()
    many = widgets.perceptron_stepper(X=[[0, k] for k in range(6)], t=[1] * 6, w0=[-1, 0, -1])
    assert many.alt_text().endswith("6 exemples sur 6 sont mal classés.")


def test_stepper_reset_returns_to_w0_and_first_picture():
    demo = widgets.perceptron_stepper(X=[[0.0, 0.0], [1.0, 1.0]], t=[1, 0], w0=[0.5, -1, 2], lr=0.5)
    first = _png(demo.figure_output)
    for _ in range(3):
        demo.next_button.click()
    assert demo.step_index == 3
    assert not np.array_equal(demo.w, [0.5, -1, 2])
    demo.reset_button.click()
    np.testing.assert_array_equal(demo.w, [0.5, -1, 2])
    assert demo.step_index == 0 and demo.last is None and not demo.converged
    assert _png(demo.figure_output) == first


def test_stepper_on_xor_never_converges():
    X, t = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0]
    demo = widgets.perceptron_stepper(X=X, t=t)
    for _ in range(40):
        demo.step()
    assert not demo.converged


def test_stepper_draws_without_hyperplane_when_w1_w2_are_zero():
    demo = widgets.perceptron_stepper(X=[[0, 0], [1, 1]], t=[0, 1], w0=[1, 0, 0])
    _png(demo.figure_output)


@pytest.mark.parametrize("kwargs, match", [
    ({"X": [[0, 0, 0]], "t": [1]}, "'X' parameter of perceptron_stepper"),
    ({"X": [[0, 0]], "t": [2]}, "'t' parameter of perceptron_stepper"),
    ({"X": [[0, 0]]}, "'X' and 't' parameters"),
    ({"w0": [0, 1]}, "'w0' parameter of perceptron_stepper"),
    ({"lr": 0}, "'lr' parameter of perceptron_stepper"),
])
def test_stepper_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.perceptron_stepper(**kwargs)


# ------------------------------------------------------------------------ kernel explorer

def test_kernel_explorer_default_state_shows_a_filtered_image():
    conv = pytest.importorskip("dlcourse.conv")
    demo = widgets.kernel_explorer()
    assert isinstance(demo, ipywidgets.VBox)
    assert demo.image.ndim == 2
    np.testing.assert_allclose(demo.filtered, conv.filter_image(demo.image, demo.kernel))
    assert demo.preset.value in conv.KERNELS
    np.testing.assert_allclose(demo.kernel, conv.KERNELS[demo.preset.value])
    _png(demo.figure_output)


def test_kernel_explorer_presets_load_and_filter_like_filter_image():
    conv = pytest.importorskip("dlcourse.conv")
    rng = np.random.default_rng(0)
    image = rng.random((12, 10))
    demo = widgets.kernel_explorer(image)
    pictures = {_png(demo.figure_output)}
    three_by_three = [name for name, k in conv.KERNELS.items() if np.shape(k) == (3, 3)]
    assert len(three_by_three) >= 2, "the explorer needs several 3x3 presets"
    for name in three_by_three:
        demo.preset.value = name
        np.testing.assert_allclose(demo.kernel, conv.KERNELS[name])
        np.testing.assert_allclose([c.value for c in demo.cells], np.ravel(conv.KERNELS[name]))
        np.testing.assert_allclose(demo.filtered, conv.filter_image(image, conv.KERNELS[name]))
        pictures.add(_png(demo.figure_output))
    assert len(pictures) >= len(set(map(str, (np.ravel(conv.KERNELS[n]) for n in three_by_three))))


def test_kernel_explorer_edited_cell_gives_custom_kernel():
    conv = pytest.importorskip("dlcourse.conv")
    image = np.random.default_rng(1).random((9, 9))
    demo = widgets.kernel_explorer(image)
    before = _png(demo.figure_output)
    expected = demo.kernel.copy()
    expected[0, 2] += 3.0
    demo.cells[2].value = float(expected[0, 2])
    assert demo.preset.value == "personnalisé"
    np.testing.assert_allclose(demo.kernel, expected)
    np.testing.assert_allclose(demo.filtered, conv.filter_image(image, expected))
    assert _png(demo.figure_output) != before
    # The picture's alt text follows the kernel: its first row now ends in the edited entry.
    assert _alt(demo.figure_output) == demo.alt_text()
    first_row = " ".join(localise(f"{v:.3g}") for v in expected[0])
    assert f"« personnalisé », de lignes {first_row} ;" in demo.alt_text()
    assert f"à {french_number(demo.filtered.max(), 2)}, du noir au blanc" in demo.alt_text()


def test_kernel_explorer_rejects_bad_image():
    pytest.importorskip("dlcourse.conv")
    with pytest.raises(ValueError, match="'image' parameter of kernel_explorer"):
        widgets.kernel_explorer(np.zeros((2, 8)))
    with pytest.raises(ValueError, match="'image' parameter of kernel_explorer"):
        widgets.kernel_explorer(np.zeros((4, 4, 3)))


# ------------------------------------------------------------------------ MLP playground

def test_playground_first_state_is_trained_and_drawn():
    demo = widgets.mlp_playground()
    assert isinstance(demo, ipywidgets.VBox)
    assert demo.model is not None and demo.losses.shape == (demo.epochs.value,)
    assert demo.losses[-1] < 0.5 * demo.losses[0], "training did not reduce the loss"
    assert demo.accuracy > 0.9
    _png(demo.figure_output)
    alt = _alt(demo.figure_output)
    assert alt == demo.alt_text()
    assert "« lunes »" in alt and "couches cachées 8-8, activation tanh" in alt
    assert f"en {demo.epochs.value} époques" in alt
    assert f"{100 * demo.accuracy:.1f} %".replace(".", ",") in alt
    demo.dataset.value = "xor"
    assert "« XOR (4 nuages) »" in _alt(demo.figure_output)
    assert "aucun réseau n'est encore entraîné" in _alt(demo.figure_output)


@pytest.mark.parametrize("dataset, activation", [("xor", "relu"), ("circles", "sigmoid"),
                                                  ("spirals", "tanh")])
def test_playground_train_button_uses_the_controls(dataset, activation):
    demo = widgets.mlp_playground(epochs=50)
    first = _png(demo.figure_output)
    demo.dataset.value = dataset
    assert demo.model is None, "changing the data must discard the old network"
    demo.activation.value = activation
    demo.hidden.value = "4,4"
    demo.epochs.value = 120
    demo.train_button.click()
    linears = [m for m in demo.model if m.__class__.__name__ == "Linear"]
    assert [m.out_features for m in linears] == [4, 4, 2]
    assert type(demo.model[1]).__name__.lower() == activation
    assert demo.losses.shape == (120,)
    assert demo.losses[-1] < demo.losses[0]
    proba = demo.predict_proba(demo.X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert demo.accuracy == pytest.approx(np.mean(proba.argmax(1) == demo.t))
    assert _png(demo.figure_output) != first


def test_playground_training_is_reproducible():
    a = widgets.mlp_playground("moons", epochs=60)
    b = widgets.mlp_playground("moons", epochs=60)
    np.testing.assert_array_equal(a.losses, b.losses)


def test_playground_rejects_bad_settings():
    with pytest.raises(ValueError, match="'dataset' parameter of mlp_playground"):
        widgets.mlp_playground("iris")
    with pytest.raises(ValueError, match="'hidden' parameter of mlp_playground"):
        widgets.mlp_playground(hidden="8,x")
    with pytest.raises(ValueError, match="'activation' parameter of mlp_playground"):
        widgets.mlp_playground(activation="softplus")
