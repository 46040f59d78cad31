"""Benchmark: wall time of ``nbgrader autograde`` for one student, per assignment.

Issue target: each assignment grades in at most 30 s for one student on a 2-core CPU (the CNN one
at most 90 s). For every assignment of ``solutions/``, a temporary course is released
(``nbgrader generate_assignment``), the solution notebook is submitted for one student, and the
``nbgrader autograde`` command is timed (kernel start, every cell, hidden tests included).

Usage::

    python bench/grading_time.py [tp01-perceptron ...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = {"tp07-cnn": 90.0}


def _nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def time_one(assignment: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
        _nbgrader(course, "generate_assignment", assignment, "--force")
        submitted = course / "submitted" / "student1" / assignment
        submitted.mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / assignment / f"{assignment}.ipynb", submitted)
        start = time.perf_counter()
        _nbgrader(course, "autograde", assignment, "--student", "student1", "--force")
        return time.perf_counter() - start


def main(argv: list[str]) -> None:
    names = argv or sorted(d.name for d in (ROOT / "solutions").iterdir() if d.is_dir()
                           and (d / f"{d.name}.ipynb").exists())
    worst = 0.0
    for name in names:
        seconds = time_one(name)
        budget = BUDGET.get(name, 30.0)
        worst = max(worst, seconds / budget)
        print(f"{name:<24} autograde {seconds:5.1f} s  (budget {budget:.0f} s)", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}; worst time / budget: {worst:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
