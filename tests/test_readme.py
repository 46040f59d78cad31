"""The README stays true: it starts with the two commands, and the other commands it gives
students, instructors and contributors run (`make book`/`make test` themselves are exercised by
test_book.py and by CI)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _run(args, cwd=ROOT, timeout=600):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", DLCOURSE_OFFLINE="1")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _code_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_readme_starts_with_exactly_the_two_commands():
    first = _code_blocks()[0]
    commands = [line.split("#")[0].strip() for line in first.strip().splitlines()]
    assert commands == ["make book", "make test"]
    assert README.index("```bash") < README.index("## "), "the two commands come before any section"


def test_every_readme_command_is_known_here():
    """Each command line of the README is one this file (or test_book.py / CI) exercises."""
    known = ("make book", "make test", "make release", ".venv/bin/nbgrader validate",
             ".venv/bin/python -m dlcourse.grade",
             ".venv/bin/python -m dlcourse.answer_key",  # run in tests/test_answer_key.py
             ".venv/bin/python bench/train_loop.py",
             ".venv/bin/python bench/conv.py", ".venv/bin/python bench/grading_time.py",
             ".venv/bin/python tools/setup_cell.py")  # run in tests/test_setup_cell.py
    lines = [l.split("#")[0].strip() for block in _code_blocks() for l in block.splitlines()]
    inline = re.findall(r"`(\.venv/bin/[^`]+|make \w+)`", README)
    for command in filter(None, lines + inline):
        assert command.startswith(known), f"README command not exercised by any test: {command}"


def test_student_validate_command_reports_the_blank_release():
    proc = _run([str(BIN / "nbgrader"), "validate", "exercises/tp01-perceptron/tp01-perceptron.ipynb"])
    assert proc.returncode == 0, proc.stderr
    # The blank release fails its tests, and validate says so (in nbgrader's words).
    assert "VALIDATION FAILED" in proc.stdout or "failed" in proc.stdout.lower(), proc.stdout[-2000:]


def test_make_release_regenerates_exercises_unchanged(tmp_path):
    for name in ("Makefile", "nbgrader_config.py", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path)
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises")
    (tmp_path / ".venv").symlink_to(BIN.parent)
    stamp = BIN / ".installed"
    if not stamp.exists():
        pytest.skip("make release needs the Makefile's venv (run through `make test`)")
    os.utime(stamp)  # the venv counts as up to date for this copy's Makefile
    proc = _run(["make", "release"], cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    import nbformat

    for nb_path in (ROOT / "exercises").rglob("*.ipynb"):
        ours = nbformat.read(nb_path, as_version=4)
        fresh = nbformat.read(tmp_path / nb_path.relative_to(ROOT), as_version=4)
        assert [c.source for c in ours.cells] == [c.source for c in fresh.cells], f"{nb_path} is stale"


def test_grade_command_answers_help():
    proc = _run([sys.executable, "-m", "dlcourse.grade", "--help"])
    assert proc.returncode == 0 and "--moodle-zip" in proc.stdout


def test_train_loop_benchmark_runs_and_prints_its_ratio():
    proc = _run([sys.executable, "bench/train_loop.py", "--limit", "256", "--threads", "1", "--breakdown"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"^bound: .* more than \d+\.\d+x$", proc.stdout, re.M)
    assert re.search(r"^speed-up vs pytorch/examples loop: \d+\.\d+$", proc.stdout.strip().splitlines()[-1])


def test_grading_time_benchmark_runs():
    proc = _run([sys.executable, "bench/grading_time.py", "tp09-attention"])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert re.search(r"tp09-attention\s+autograde\s+\d+\.\d s", proc.stdout)


def test_conv_benchmark_runs_and_prints_its_ratio():
    proc = _run([sys.executable, "bench/conv.py", "--rounds", "2"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"^float64 forward\+backward ratio ours/torch: \d+\.\d+$",
                     proc.stdout.strip().splitlines()[-1])


def test_instructors_guide_examples_of_chapters_showing_assignment_code_hold():
    """INSTRUCTORS.md warns that chapters show the reference code of functions the assignments
    ask for; each example it gives ("chapter 8 `conv2d_backward`") is shown by that chapter
    (show_source) and written by a student in some assignment."""
    import json

    from notebook_regions import nbgrader_meta

    text = (ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8")
    item = text[text.index("3. Know what the grading catches"):text.index("## 2. Grade")]
    examples = re.findall(r"chapter (\d+)(?: shows)? `(\w+)`", " ".join(item.split()))
    assert len(examples) >= 4, examples
    asked = set()
    for path in (ROOT / "solutions").glob("*/*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code" and nbgrader_meta(cell).get("solution"):
                asked |= set(re.findall(r"^def (\w+)\(", "".join(cell["source"]), re.M))
    for chapter, name in examples:
        page = next((ROOT / "book").glob(f"{int(chapter):02d}_*.ipynb")).read_text(encoding="utf-8")
        assert re.search(rf"show_source\([^)]*\.{name}\b", page), f"chapter {chapter} does not show {name}"
        assert name in asked, f"no assignment asks for {name}"
