"""The answer key handed out after grading: the solutions and the visible tests, never a line of
the hidden tests; it runs from top to bottom."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlcourse import answer_key
from notebook_regions import hidden_lines, nbgrader_meta, strip_markers

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if any(p.glob("*.ipynb")))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_answer_key_keeps_solutions_and_visible_tests_and_drops_every_hidden_test(assignment):
    for path in sorted((ROOT / "solutions" / assignment).glob("*.ipynb")):
        source = nbformat.read(path, as_version=4)
        key = answer_key.strip_for_students(source, path.name)
        key_code = "\n".join(c.source for c in key.cells if c.cell_type == "code")
        key_text = json.dumps(key, ensure_ascii=False)
        hidden = hidden_lines(source)
        assert hidden, f"{assignment} has no hidden test: nothing to check"
        leaked = [line for line in hidden if line in key_code]
        assert not leaked, f"hidden test lines in the answer key of {assignment}: {leaked[:5]}"
        for cell in (c for c in source.cells if nbgrader_meta(c).get("solution")):
            if cell.cell_type == "code":
                assert strip_markers(cell.source) in key_code, f"{assignment}: a solution is missing from the key"
            else:
                assert any(c.source == answer_key.MODEL_ANSWER + cell.source for c in key.cells), \
                    f"{assignment}: a model answer is missing from the key"
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", '"nbgrader"'):
            assert marker not in key_text, f"{marker} left in the answer key of {assignment}"
        assert answer_key.NOTE in key_text and "(corrigé)" in key.cells[0].source
        assert source.cells[0].metadata.get("nbgrader"), "strip_for_students changed its input"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_command_writes_an_executed_answer_key_that_runs_without_error(assignment, tmp_path):
    """Also a property of the assignment: the release with the solution written in passes every
    visible test without the hidden tests (grading always runs them together)."""
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder / assignment, tmp_path / folder / assignment)
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), DLCOURSE_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "dlcourse.answer_key", assignment,
                           "--course-dir", str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = tmp_path / "answer_keys" / assignment / f"{assignment}.ipynb"
    assert f"answer key: {written}" in proc.stdout
    key = nbformat.read(written, as_version=4)
    outputs = [o for c in key.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    passed = sum(o.get("text", "").count("Tests visibles réussis") for o in outputs)
    expected = sum(c.source.count("Tests visibles réussis") for c in key.cells if c.cell_type == "code")
    assert expected and passed == expected, f"{passed} of {expected} visible tests passed"


def test_bad_input_is_refused_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="tp01-perceptron"):
        answer_key.answer_key("tp01-perceptronn", ROOT, execute=False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nassert x")])
    with pytest.raises(ValueError, match="never closed"):
        answer_key.strip_for_students(nb, "cassé.ipynb")
    assert answer_key.main(["nope", "--course-dir", str(tmp_path), "--no-execute"]) == 2


def test_the_console_script_is_installed():
    """INSTRUCTORS.md calls it by this name (pyproject.toml's [project.scripts])."""
    script = Path(sys.executable).parent / "dlcourse-answer-key"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "answer_keys/<id>/" in proc.stdout, proc.stderr


def test_a_solution_that_fails_its_visible_tests_gets_no_answer_key(tmp_path, capsys):
    """INSTRUCTORS.md: if a cell fails, the command says which notebook and writes nothing for it."""
    folder = tmp_path / "solutions" / "tp00"
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# TP 0"),
        nbformat.v4.new_code_cell("assert 1 + 1 == 3, 'test visible'")]), folder / "tp00.ipynb")
    assert answer_key.main(["tp00", "--course-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "tp00.ipynb: the answer key fails when executed" in err and "test visible" in err, err
    assert not (tmp_path / "answer_keys" / "tp00" / "tp00.ipynb").exists()
