"""The first code cell of every chapter and assignment that uses ``dlcourse``: install it where missing.

A chapter or an exercise opened through a launch button (Colab, Binder) or downloaded alone runs in a
Jupyter where the course package is not installed. This cell installs it from the repository named in
``_config.yml`` (``repository.url``), and does nothing where the package is already importable (a
clone with ``make``, the book build, nbgrader's autograding).

Run after changing the repository URL, or after adding a chapter or an assignment::

    python tools/setup_cell.py        # writes the cell into book/*.ipynb and solutions/*/*.ipynb
    make release                      # regenerates exercises/ from solutions/

``tests/test_setup_cell.py`` checks that every notebook carries the current cell.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# dlcourse-setup"


def repository_url(config: Path = ROOT / "_config.yml") -> str:
    """The ``repository.url`` of the book's ``_config.yml``."""
    match = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)", config.read_text(), re.M)
    if match is None:
        raise ValueError(f"{config} has no 'repository: url:' entry; the setup cell installs from it.")
    return match.group(1)


def cell_source(url: str) -> str:
    """Source of the setup cell (French: students read it)."""
    return (
        f"{MARKER} : installe le paquet du cours s'il manque (Colab, Binder...),\n"
        "# une fois par session, en une minute environ ; ailleurs, ne fait rien.\n"
        "import importlib\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("dlcourse") is None:\n'
        f'    %pip install --quiet "dlcourse @ git+{url}"\n'
        "    importlib.invalidate_caches()\n"
    )


def notebooks() -> list[Path]:
    """The notebooks that may carry the cell: the chapters and the assignments' sources."""
    return sorted(ROOT.glob("book/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb"))


_INSTRUCTOR_ONLY = re.compile(r"### BEGIN (HIDDEN TESTS|SOLUTION).*?### END \1", re.S)
_IMPORTS_PACKAGE = re.compile(r"^\s*(import dlcourse|from dlcourse[ .])", re.M)


def needs_package(notebook: dict) -> bool:
    """Whether the code a student runs imports ``dlcourse`` (hidden tests and solutions excluded:
    they run where the package is installed). NumPy-only assignments need no install."""
    return any(
        _IMPORTS_PACKAGE.search(_INSTRUCTOR_ONLY.sub("", "".join(c["source"])))
        for c in notebook["cells"] if c["cell_type"] == "code" and not "".join(c["source"]).startswith(MARKER)
    )


def _setup_cell(source: str, in_book: bool) -> dict:
    # In the book's HTML the cell is noise (the build has the package): removed there, kept in the
    # notebook that a launch button opens.
    metadata = {"tags": ["remove-cell"]} if in_book else {}
    return {"cell_type": "code", "execution_count": None, "id": "dlcourse-setup", "metadata": metadata,
            "outputs": [], "source": source.splitlines(keepends=True)}


def write(path: Path, source: str, in_book: bool | None = None) -> bool:
    """Make the setup cell the first code cell of a notebook that needs the package (and remove it
    from one that does not); True if the file changed. ``in_book`` defaults to "is in book/"."""
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    cells = notebook["cells"]
    cells[:] = [c for c in cells if not "".join(c["source"]).startswith(MARKER)]
    if needs_package(notebook):
        first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
        in_book = path.parent.name == "book" if in_book is None else in_book
        cells.insert(first_code, _setup_cell(source, in_book))
    new_text = json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"
    if new_text == text:
        return False
    path.write_text(new_text, encoding="utf-8")
    return True


def main() -> int:
    source = cell_source(repository_url())
    changed = [p for p in notebooks() if write(p, source)]
    for path in changed:
        print(f"updated {path.relative_to(ROOT)}")
    if any(p.parts[-3] == "solutions" for p in changed):
        print("now run `make release` to regenerate exercises/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
