"""The answer key of an assignment, to hand out once the submissions are graded.

``dlcourse-answer-key <id>`` (or ``python -m dlcourse.answer_key``), run from the course root,
writes ``answer_keys/<id>/<notebook>.ipynb`` for every notebook of ``solutions/<id>/``:

- the solution code, without nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines;
- the visible tests, as the students had them; the **hidden tests are removed** (they stay
  private, so that the assignment can be given again);
- the model answers of the written questions, headed « Réponse type »;
- « (corrigé) » after the title, a note under it saying what the notebook is, and no nbgrader metadata (it is not an
  assignment any more: nbgrader would not grade it);
- executed (``--no-execute`` to skip): the outputs show the results the questions ask for.

Other files of the release folder (data) are copied next to the notebooks.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
from pathlib import Path
from typing import Sequence

import nbformat

__all__ = ["answer_key", "strip_for_students", "main"]

# nbgrader's delimiters of a solution region (ClearSolutions): a line containing one. The hidden
# tests go with nbgrader's own ClearHiddenTests, as in the feedback (nbgrader_config.py).
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"

NOTE = ("> **Corrigé.** Ce carnet donne une solution de chaque question et une réponse type pour les "
        "questions rédigées ; d'autres solutions justes existent. Les tests visibles sont ceux de "
        "l'énoncé ; les tests cachés de la correction automatique ne sont pas publiés.")
MODEL_ANSWER = "**Réponse type.**\n\n"


def _without_hidden_tests(cell, index: int, where: str) -> str:
    from nbgrader.preprocessors import ClearHiddenTests

    try:  # the key's cells have lost their metadata: no grade-cell check
        ClearHiddenTests(enforce_metadata=False).preprocess_cell(cell, {}, index)
    except RuntimeError as err:
        raise ValueError(f"{where}: a hidden-test region is never closed, or nested ({err}).") from None
    return cell.source.rstrip()


def strip_for_students(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The answer key of one source notebook (a copy; ``nb`` is left as it is): hidden tests
    and solution delimiters removed, written answers headed « Réponse type », the title marked
    « (corrigé) » with a note under it, no nbgrader metadata and no outputs.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    >>> source = new_notebook(cells=[
    ...     new_markdown_cell("# TP 0"),
    ...     new_code_cell("def double(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION"),
    ...     new_code_cell("assert double(1) == 2\\n### BEGIN HIDDEN TESTS\\nassert double(3) == 6\\n"
    ...                   "### END HIDDEN TESTS")])
    >>> key = strip_for_students(source)
    >>> key.cells[0].source
    '# TP 0 (corrigé)'
    >>> print(key.cells[2].source)
    def double(x):
        return 2 * x
    >>> print(key.cells[3].source)
    assert double(1) == 2
    """
    key = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(key.cells):
        grading = cell.metadata.pop("nbgrader", {})
        where = f"{name}, cell {index + 1}"
        if cell.cell_type == "code":
            source = _without_hidden_tests(cell, index, where)
            source = "\n".join(l for l in source.splitlines()
                               if BEGIN_SOLUTION not in l and END_SOLUTION not in l)
            if not source.strip():
                continue  # a test cell that held only hidden tests
            cell.source = source
            cell.outputs, cell.execution_count = [], None
        elif grading.get("solution") and cell.cell_type == "markdown":
            cell.source = MODEL_ANSWER + cell.source
        cells.append(cell)
    if cells and cells[0].cell_type == "markdown" and cells[0].source.startswith("# "):
        title, newline, rest = cells[0].source.partition("\n")
        cells[0].source = f"{title} (corrigé){newline}{rest}"
    at = 1 if cells and cells[0].cell_type == "markdown" else 0
    key.cells = cells[:at] + [nbformat.v4.new_markdown_cell(NOTE)] + cells[at:]
    key.metadata.pop("nbgrader", None)
    return key


def _execute(nb: nbformat.NotebookNode, folder: Path, cell_timeout: int, name: str) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    try:
        NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    except (CellExecutionError, CellTimeoutError) as err:
        raise RuntimeError(f"{name}: the answer key fails when executed (does the solution pass "
                           f"its own visible tests?). {str(err).strip()[-1500:]}") from None


def answer_key(assignment: str, course_dir: str | Path = ".", *, execute: bool = True,
               cell_timeout: int = 600) -> list[Path]:
    """Write ``answer_keys/<assignment>/`` in ``course_dir`` and return the notebooks written.

    Parameters
    ----------
    assignment : str
        Assignment id, the name of a folder of ``solutions/`` (e.g. ``"tp01-perceptron"``).
    course_dir : path
        The course root, where ``solutions/`` and ``exercises/`` are.
    execute : bool
        Run each answer key so that it carries its outputs.
    cell_timeout : int
        Seconds allowed per cell when executing.
    """
    course = Path(course_dir).resolve()
    source = course / "solutions" / assignment
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        known = sorted(p.name for p in (course / "solutions").glob("*/") if any(p.glob("*.ipynb")))
        raise FileNotFoundError(f"No notebook in {source}. Expected an assignment id among: "
                                f"{', '.join(known) or 'none (is course_dir the course root?)'}.")
    out = course / "answer_keys" / assignment
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    release = course / "exercises" / assignment
    for extra in sorted(release.rglob("*")) if release.is_dir() else []:
        if extra.is_file() and extra.suffix != ".ipynb" and ".ipynb_checkpoints" not in extra.parts:
            target = out / extra.relative_to(release)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(extra, target)
    written = []
    for path in notebooks:
        key = strip_for_students(nbformat.read(path, as_version=4), path.name)
        if execute:
            _execute(key, out, cell_timeout, path.name)
        target = out / path.name
        nbformat.write(key, target)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dlcourse-answer-key",
        description="Write answer_keys/<id>/: the solution notebooks without their hidden tests, "
                    "executed, to hand out after grading.")
    parser.add_argument("assignment", help="assignment id, e.g. tp01-perceptron")
    parser.add_argument("--course-dir", default=".", metavar="DIR",
                        help="course root, where solutions/ and exercises/ are (default: .)")
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without outputs")
    parser.add_argument("--cell-timeout", type=int, default=600, metavar="S",
                        help="seconds allowed per cell when executing (default: 600)")
    args = parser.parse_args(argv)
    try:
        written = answer_key(args.assignment, args.course_dir, execute=not args.no_execute,
                             cell_timeout=args.cell_timeout)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"dlcourse-answer-key: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(f"answer key: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
