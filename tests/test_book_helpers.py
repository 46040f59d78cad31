"""dlcourse.book: the helpers the chapters call (source display, French numbers, glue, scale)."""

import inspect
import textwrap
import sys
import types

import pytest
from IPython.display import Markdown

from dlcourse import book, models, perceptron, train


@pytest.fixture
def fake_myst(monkeypatch):
    calls = []
    module = types.ModuleType("myst_nb")
    module.glue = lambda name, variable, display=True: calls.append((name, variable, display))
    monkeypatch.setitem(sys.modules, "myst_nb", module)
    return calls


def test_glue_goes_to_myst_nb_in_the_book_build(fake_myst):
    book.glue("acc", 0.97, display=False)
    assert fake_myst == [("acc", 0.97, False)]


@pytest.mark.parametrize("display", [True, False])
def test_glue_without_myst_nb_only_displays(monkeypatch, display):
    # As in Colab: myst-nb is not installed, and the chapter must still run.
    monkeypatch.setitem(sys.modules, "myst_nb", None)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda value: shown.append(value))
    book.glue("acc", 0.97, display=display)
    assert shown == ([0.97] if display else [])


@pytest.mark.parametrize("value, fmt, expected", [(92.54, ".1f", "92,5"), (185300, ",d", "185\u202f300"),
                                                  (0.5, ".2%", "50,00%")])
def test_glue_number_pastes_french_markdown(fake_myst, value, fmt, expected):
    book.glue_number("x", value, fmt)
    [(name, variable, display)] = fake_myst
    assert name == "x" and display is False and isinstance(variable, Markdown) and variable.data == expected


def test_show_source_is_the_code_the_package_runs():
    assert book.show_source(perceptron.perceptron_step, docstrings=True).data == \
        inspect.getsource(perceptron.perceptron_step)
    # Without its docstrings: every other line, in order, and the code still compiles.
    for obj in (perceptron.perceptron_step, models.LeNet5, train.fit):
        full, shown = inspect.getsource(obj), book.show_source(obj).data
        assert '"""' not in shown and len(shown) < len(full)
        remaining = iter(full.splitlines())
        assert all(line in remaining for line in shown.splitlines())
        compile(textwrap.dedent(shown), "<shown>", "exec")
    with pytest.raises(TypeError, match="'obj' parameter of source"):
        book.show_source(42)


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "nan"])
def test_scale_rejects_what_is_not_a_positive_number(monkeypatch, raw):
    monkeypatch.setenv("DLCOURSE_SCALE", raw)
    with pytest.raises(ValueError, match="DLCOURSE_SCALE.*positive number"):
        book._read_scale()


def test_scaled_multiplies_and_keeps_a_minimum(monkeypatch):
    monkeypatch.setattr(book, "SCALE", 2.5)
    assert book.scaled(4) == 10 and book.scaled(0, minimum=3) == 3


def test_figures_label_ticks_with_a_decimal_comma():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib import scale

    # Importing dlcourse.book installed it; calling it again changes nothing.
    installed = scale.LinearScale.set_default_locators_and_formatters
    book.french_tick_labels()
    assert scale.LinearScale.set_default_locators_and_formatters is installed
    fig, ax = plt.subplots()
    ax.plot([0.0, 1.0], [0.0, 0.25])
    fig.canvas.draw()
    xs = [t.get_text() for t in ax.get_xticklabels()]
    ys = [t.get_text() for t in ax.get_yticklabels()]
    plt.close(fig)
    assert "0,2" in xs and "0,05" in ys and not any("." in t for t in xs + ys), (xs, ys)
