"""Helpers the book's chapters use: show the package's own code, and size long runs.

The book never pastes a copy of a reference function: it shows the source of the function the
package really runs (``show_source``), so book and package cannot drift apart.

``SCALE`` is the one setting long trainings take their size from. It defaults to 1 (sized for a
2-core CPU so the whole book builds in minutes); a reader with a GPU can set the environment
variable ``DLCOURSE_SCALE`` (e.g. ``DLCOURSE_SCALE=10``) before starting Jupyter to train longer.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

# french_number is part of this module's API (the chapters import it from here).
from ._french import french_number, french_tick_formatter, localise  # noqa: F401


def _read_scale() -> float:
    raw = os.environ.get("DLCOURSE_SCALE", "1")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"The 'DLCOURSE_SCALE' environment variable must be a positive number. Got {raw!r} instead."
        ) from None
    if not value > 0:
        raise ValueError(
            f"The 'DLCOURSE_SCALE' environment variable must be a positive number. Got {raw!r} instead.")
    return value


SCALE: float = _read_scale()


def french_tick_labels() -> None:
    """Make the ticks of every linear matplotlib axis read the French way (0,5 rather than 0.5).

    Called when this module is imported, so every chapter's figures follow; idempotent.
    """
    try:
        from matplotlib import scale
    except ImportError:  # the package does not need matplotlib to run
        return
    original = scale.LinearScale.set_default_locators_and_formatters
    if getattr(original, "french", False):
        return

    def set_default_locators_and_formatters(self, axis):
        original(self, axis)
        axis.set_major_formatter(french_tick_formatter())

    set_default_locators_and_formatters.french = True
    scale.LinearScale.set_default_locators_and_formatters = set_default_locators_and_formatters


french_tick_labels()


def scaled(n: int, minimum: int = 1) -> int:
    """Return ``n`` multiplied by :data:`SCALE` (at least ``minimum``), for epochs or sample counts.

    >>> scaled(3) >= 1
    True
    """
    return max(minimum, int(round(n * SCALE)))


def source(obj: Any) -> str:
    """Return the source code of a function or class of the package, as a string."""
    try:
        return inspect.getsource(obj)
    except (TypeError, OSError) as err:
        raise TypeError(
            f"The 'obj' parameter of source must be a Python function, class or module. "
            f"Got {obj!r} instead ({err})."
        ) from None


def without_docstrings(code: str) -> str:
    r"""``code`` with the docstrings of its functions and classes removed (the rest untouched).

    >>> print(without_docstrings("def f(x):\n    'Twice x.'\n    return 2 * x\n"))
    def f(x):
        return 2 * x
    <BLANKLINE>
    """
    import ast
    import textwrap

    tree = ast.parse(textwrap.dedent(code))
    drop: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str) and len(node.body) > 1):
                drop.update(range(first.lineno, first.end_lineno + 1))
    lines = code.splitlines(keepends=True)
    # A blank line that separated a docstring from the body goes with it.
    drop |= {n + 1 for n in drop if n + 1 not in drop and n < len(lines) and not lines[n].strip()}
    return "".join(line for number, line in enumerate(lines, start=1) if number not in drop)


def show_source(*objs: Any, docstrings: bool = False):
    """Display the source of one or more package objects, syntax-highlighted, in a notebook.

    The docstrings (English reference documentation, in reStructuredText) are left out unless
    ``docstrings=True``: the chapter's French prose explains the code. Returns an
    ``IPython.display.Code`` object (rendered by Jupyter and by the book).
    """
    from IPython.display import Code

    texts = [source(o) if docstrings else without_docstrings(source(o)) for o in objs]
    return Code("\n\n".join(texts), language="python")


def glue_number(name: str, value: float, fmt: str = ".1f") -> None:
    """Glue a computed number into the page's prose (``{glue:md}`name```) with a decimal comma.

    NumPy scalars are converted first: ``{glue:text}`` cannot format NumPy 2's ``np.float64`` repr.
    """
    from IPython.display import Markdown

    number = int(value) if fmt.endswith("d") else float(value)
    glue(name, Markdown(localise(format(number, fmt))), display=False)


def glue(name: str, variable: Any, display: bool = True) -> None:
    """``myst_nb.glue`` where myst-nb is installed (the book build); elsewhere, e.g. a chapter opened
    in Colab, only ``display`` the value, so that the chapter still runs.

    Parameters
    ----------
    name : str
        Key used by the ``{glue}`` roles of the chapter's prose.
    variable : object
        The value to paste (a number, a figure, a ``Markdown`` object...).
    display : bool
        Also show the value in the cell's output.
    """
    try:
        from myst_nb import glue as myst_glue
    except ModuleNotFoundError:
        if display:
            from IPython.display import display as show
            show(variable)
        return
    myst_glue(name, variable, display=display)
