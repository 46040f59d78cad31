"""The instructor's grading loop, from Moodle's submissions zip to a grade CSV.

``dlcourse-grade <id> --moodle-zip FILE`` (or ``python -m dlcourse.grade``), run from the
course root (the folder of ``nbgrader_config.py``), does in order:

1. put the zip into ``downloaded/<id>/archive/`` (and keep a copy in ``downloaded/<id>/zips/``)
   and run ``nbgrader zip_collect`` (the Moodle file-name pattern is
   :data:`MOODLE_FILE_REGEXP`); a submission holding a single notebook under another name is
   renamed to the released name; Moodle's names go into the gradebook (formgrader shows them);
2. one ``nbgrader autograde <id>`` for all the students of the zip (one nbgrader start-up,
   one kernel per notebook), watched: nbgrader reports a notebook that kills its kernel and
   goes on; a student that runs longer than the wall-time limit is killed with the batch,
   which restarts after it. Either way the notebook is reported as such while the others
   are still graded (the per-cell limit is ``Execute.timeout``);
3. ``nbgrader generate_feedback`` (configured in ``nbgrader_config.py`` to drop hidden tests
   and the tracebacks that quote them);
4. ``grades/<id>-moodle.csv``, a Moodle "offline grading worksheet" (columns ``Identifier``
   = "Participant <id>", ``Full name``, ``Grade``, ``Maximum grade``, ``Last modified
   (grade)``, ``Feedback comments``, plus ``Grading status`` which Moodle ignores),
   ``grades/<id>-feedback.zip`` (the HTML feedback named for Moodle's "upload multiple
   feedback files in a zip"), ``grades/<id>-nbgrader.csv`` (``nbgrader export``) and
   ``grades/<id>-questions.csv`` (per question: full marks, mean, most frequent errors). A
   grade stays empty until nbgrader has every score: a notebook it could not grade, or written
   answers not yet graded by hand (``--provisional`` writes those grades, counting them 0). With
   ``--moodle-worksheet FILE``, also the worksheet downloaded from Moodle, filled in
   (``grades/<id>-moodle-worksheet.csv``: Moodle names its columns in the interface language).

After manual grading of the written answers (formgrader), ``dlcourse-grade <id>
--report-only`` rebuilds the feedback and the CSV files from the gradebook.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import filecmp
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import GetGrades
from traitlets import Bool

from . import grading

__all__ = ["MOODLE_FILE_REGEXP", "FEEDBACK_TEMPLATE_DIRS", "GetGradesFr", "StripTracebacks",
           "StudentResult", "moodle_names", "grade_assignment", "question_report", "main"]

#: File names of Moodle's "Download all submissions" zip, flat or in per-student folders:
#: "Ada Lovelace_12345_assignsubmission_file_tp01-perceptron.ipynb" (flat),
#: "Ada Lovelace_12345_assignsubmission_file_/tp01-perceptron.ipynb" (folders, Moodle < 4.1) or
#: "Ada Lovelace_12345_assignsubmission_file/tp01-perceptron.ipynb" (folders, Moodle >= 4.1).
#: The resource forks a Mac adds when it re-zips (__MACOSX/, ._*) are not submissions.
#: nbgrader matches it against the whole path of the extracted file.
MOODLE_FILE_REGEXP = (r"^(?!(?:.*/)?__MACOSX/)(?:.*/)?(?P<full_name>[^/]+?)_(?P<student_id>\d+)"
                      r"_assignsubmission_file(?:_?/(?:.*/)?|_)(?P<file_id>(?!\._)[^/]+)$")

MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Maximum grade",
                  "Last modified (grade)", "Feedback comments", "Grading status"]

#: Names Moodle gives the grade and the comment columns of its grading worksheet, in English
#: and in French: Moodle names the columns in the language of the user's interface and looks
#: them up the same way when the worksheet comes back.
WORKSHEET_GRADE_COLUMNS = ("Grade", "Note")
#: (French names from Moodle's language pack: core "grade", assignfeedback_comments "pluginname".)
WORKSHEET_COMMENT_COLUMNS = ("Feedback comments", "Feedback par commentaires",
                             "Commentaires de feedback")
WORKSHEET_MAXIMUM_COLUMNS = ("Maximum grade", "Maximum Grade", "Note maximale")

#: A « Question » heading of an assignment: "## Question 3 — …", "## Questions 1 et 2 — …".
_QUESTION_HEADING = re.compile(r"^#{1,6}\s*Questions?\s+(\d+(?:\s*(?:,|et)\s*\d+)*)", re.M)


#: Where nbconvert finds the French feedback template, "feedback_fr" (nbgrader_config.py).
FEEDBACK_TEMPLATE_DIRS = [str(Path(__file__).parent / "templates")]

#: What the feedback says of a cell stopped at the per-cell time limit.
TIMEOUT_MESSAGE = ("cellule arrêtée par la correction automatique, faute d'avoir terminé dans "
                   "le temps accordé à chaque cellule (boucle infinie, ou calcul beaucoup trop "
                   "lent ?).")


class StripTracebacks(Preprocessor):
    """Feedback preprocessor: keep only "ExceptionName: message" of errors in test cells.

    IPython tracebacks quote the source lines of the cell, i.e. the hidden tests; the
    French message of :mod:`dlcourse.grading` is all a student needs.
    """

    enabled = Bool(True).tag(config=True)  # nbconvert preprocessors are off by default

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        is_test = meta.get("grade") and not meta.get("solution")
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") != "error":
                continue
            if output.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
                # nbgrader's own words are empty ("KeyboardInterrupt: "): say what happened.
                output["ename"], output["evalue"] = "Interruption", TIMEOUT_MESSAGE
                output["traceback"] = ([] if is_test else output.get("traceback", [])[1:-1]) \
                    + [f"Interruption : {TIMEOUT_MESSAGE}"]
            elif is_test:
                output["evalue"] = _as_read(output)
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output['evalue']}"]
        return cell, resources


class GetGradesFr(GetGrades):
    """nbgrader's GetGrades, plus what the French feedback template shows: the question each
    graded cell belongs to ("Q3") and whether its score still waits for a human reader (a
    written answer not graded yet scores 0 in nbgrader: the page says « à corriger »)."""

    def preprocess(self, nb, resources):
        for cell, question in _graded_with_questions(nb.cells):
            if question:
                cell.metadata.nbgrader["question"] = question
        nb, resources = super().preprocess(nb, resources)
        resources["nbgrader"]["pending"] = any(
            c.metadata.get("nbgrader", {}).get("pending") for c in nb.cells)
        return nb, resources

    def _get_score(self, cell, resources) -> None:
        # GetGrades's own, plus the pending flag from the same gradebook row.
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"],
                                          self.notebook_id, self.assignment_id, self.student_id)
        cell.metadata.nbgrader.update(score=grade.score, points=grade.max_score,
                                      pending=bool(grade.needs_manual_grade))


def _as_read(output) -> str:
    """The text of a test cell's error as the feedback gives it: the release's bare
    NotImplementedError names the function to write (from the traceback's last frame, "Cell
    In[4], line 3, in forward(params, X)": the student's own code); Python's and NumPy's English
    words get their French gloss; the French AssertionErrors of the tests stay as they are."""
    ename, evalue = output.get("ename", "Error"), output.get("evalue", "")
    if ename == "NotImplementedError" and not evalue:
        frames = [re.search(r", in (\w+)\(", re.sub(r"\x1b\[[0-9;]*m", "", entry))
                  for entry in output.get("traceback", [])]
        names = [m.group(1) for m in frames if m]
        which = f"« {names[-1]} »" if names else "une fonction testée ici"
        return f"{which} n'est pas encore écrite : {grading._WRITE_IT}"
    return evalue if ename == "AssertionError" else evalue + grading.gloss(ename, evalue)


@dataclass
class StudentResult:
    """What happened to one submission."""

    student_id: str
    full_name: str = ""
    # ok | no notebook | several notebooks | unreadable notebook | kernel died | did not finish
    # | autograde failed
    status: str = "ok"
    score: float | None = None
    max_score: float | None = None
    needs_manual: bool = False
    cells: list[tuple[str, float | None, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    deleted_cells: list[str] = field(default_factory=list)
    # Cells graded by hand before this notebook was (re)graded: nbgrader keeps that score.
    earlier_manual: list[str] = field(default_factory=list)
    # Test cell -> the first line of the error it showed (what the student read).
    cell_errors: dict[str, str] = field(default_factory=dict)


def moodle_names(zip_path: str | os.PathLike) -> dict[str, str]:
    """Participant number → full name, read from the file names of a Moodle zip."""
    names = {}
    with zipfile.ZipFile(zip_path) as archive:
        for entry in archive.namelist():
            match = re.match(MOODLE_FILE_REGEXP, entry)
            if match:
                names[match["student_id"]] = match["full_name"]
    return names


def _stray_notebooks(zip_path: str | os.PathLike) -> list[str]:
    """Notebooks of a zip whose names are not Moodle submission names: they are not collected."""
    with zipfile.ZipFile(zip_path) as archive:
        return [entry for entry in archive.namelist()
                if entry.endswith(".ipynb") and not re.match(MOODLE_FILE_REGEXP, entry)
                and "__MACOSX/" not in entry and not Path(entry).name.startswith("._")]


def _graded_cells(path: Path) -> dict[str, str]:
    """The graded cells of a released notebook, in order, each with the question it belongs
    to as students read it ("Q3", "Q1 et 2"): the last « Question » heading above it."""
    import nbformat

    cells = _graded_with_questions(nbformat.read(path, as_version=4).cells)
    return {cell.metadata.nbgrader["grade_id"]: question or cell.metadata.nbgrader["grade_id"]
            for cell, question in cells}


def _graded_with_questions(notebook_cells):
    """(graded cell, "Q3" or None) in order: the last « Question » heading above each."""
    question = None
    for cell in notebook_cells:
        heading = _QUESTION_HEADING.search(cell.source) if cell.cell_type == "markdown" else None
        if heading:
            question = "Q" + " ".join(heading.group(1).split())
        if cell.metadata.get("nbgrader", {}).get("grade"):
            yield cell, question


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # nbgrader runs the `alembic` executable and jupyter kernels: this interpreter's bin first.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    env.setdefault("MPLBACKEND", "Agg")
    return env


# `python -m nbgrader`, minus one second: of nbgrader's 1.8 s start-up, 1 s goes to importing
# rfc3987_syntax (it builds a grammar at import), an optional dependency of jsonschema that
# only checks "iri" formats, which no notebook schema uses. jsonschema skips it when it
# cannot be imported; a None entry in sys.modules makes its import fail.
_NBGRADER_MAIN = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); "
                  "sys.argv[0] = 'nbgrader'; "
                  "from nbgrader.apps.nbgraderapp import main; sys.exit(main())")


def _nbgrader_command() -> list[str]:
    """How nbgrader is started (the tests replace it by a fake nbgrader)."""
    return [sys.executable, "-c", _NBGRADER_MAIN]


def _nbgrader(course: Path, *args: str, log: Path | None = None) -> tuple[int, str]:
    """Run one nbgrader command from the course root."""
    cmd = [*_nbgrader_command(), *args]
    proc = subprocess.run(cmd, cwd=course, env=_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {' '.join(cmd)}\n{proc.stdout}", encoding="utf-8")
    return proc.returncode, proc.stdout


def _notebooks(course: Path, assignment: str) -> list[str]:
    release = course / "exercises" / assignment
    return sorted(p.name for p in release.glob("*.ipynb"))


def _ensure_in_gradebook(course: Path, assignment: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    db = course / "gradebook.db"
    if db.exists():
        with Gradebook(f"sqlite:///{db}") as gb:
            try:
                gb.find_assignment(assignment)
                return
            except MissingEntry:
                pass
    print(f"'{assignment}' is not in the gradebook: running nbgrader generate_assignment.")
    rc, out = _nbgrader(course, "generate_assignment", assignment, "--force")
    if rc != 0:
        raise SystemExit(f"error: nbgrader generate_assignment {assignment} failed:\n{out}")


def _collect(course: Path, assignment: str,
             zip_path: Path) -> tuple[list[str], dict[str, list[str]], dict[str, StudentResult]]:
    """Moodle zip → submitted/<sid>/<assignment>/.

    Returns the participant numbers, notes for some of them (a notebook renamed or ignored),
    and the submissions that cannot be graded automatically (several notebooks, none of them
    under the released name: which one to grade is the instructor's call)."""
    base = course / "downloaded" / assignment
    for step in ("archive", "extracted"):
        shutil.rmtree(base / step, ignore_errors=True)
    (base / "archive").mkdir(parents=True)
    shutil.copy(zip_path, base / "archive" / zip_path.name)
    # archive/ holds this zip only (zip_collect takes all it finds); zips/ keeps every one.
    kept = base / "zips" / zip_path.name
    if kept.exists() and not filecmp.cmp(kept, zip_path, shallow=False):
        kept = kept.with_name(f"{zip_path.stem} ({_dt.datetime.now():%Y-%m-%d %H%M%S})"
                              f"{zip_path.suffix}")
    kept.parent.mkdir(exist_ok=True)
    shutil.copy(zip_path, kept)
    rc, out = _nbgrader(course, "zip_collect", assignment, "--force",
                        log=base / "logs" / "zip_collect.log")
    if rc != 0:
        raise SystemExit(f"error: nbgrader zip_collect failed (log in {base / 'logs'}):\n{out}")
    students = sorted(moodle_names(zip_path))
    expected = _notebooks(course, assignment)
    notes: dict[str, list[str]] = {}
    ambiguous: dict[str, StudentResult] = {}
    for sid in students:
        folder = course / "submitted" / sid / assignment
        found = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
        if len(expected) != 1 or len(found) < 1 or found == expected:
            continue
        if expected[0] not in found and len(found) == 1:
            (folder / found[0]).rename(folder / expected[0])
            print(f"  {sid}: notebook '{found[0]}' renamed to '{expected[0]}'.")
        elif expected[0] in found:
            ignored = [f for f in found if f != expected[0]]
            print(f"  warning: {sid} handed in {len(found)} notebooks; grading '{expected[0]}', "
                  f"ignoring {', '.join(ignored)}.")
            notes[sid] = [f"Vous avez déposé {len(found)} notebooks : seul {expected[0]} a été "
                          f"corrigé ({', '.join(ignored)} ignoré(s))."]
        else:
            print(f"  warning: {sid} handed in {len(found)} notebooks, none named "
                  f"'{expected[0]}': not graded.")
            ambiguous[sid] = StudentResult(sid, status="several notebooks", notes=[
                f"Vous avez déposé {len(found)} notebooks ({', '.join(found)}) et aucun ne "
                f"s'appelle {expected[0]} : impossible de savoir lequel corriger ; votre travail "
                f"sera corrigé à la main."])
    return students, notes, ambiguous


def _name_students(course: Path, names: dict[str, str]) -> None:
    """Moodle's names into the gradebook, so that formgrader shows them next to the
    participant numbers (the gradebook is git-ignored: it already holds student work)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sid, full_name in names.items():
            if full_name.strip():
                first, _, last = full_name.strip().partition(" ")
                gb.update_or_create_student(sid, first_name=first, last_name=last)


def _section_start(line: str, assignment: str) -> str | None:
    """The student whose grading a line of `nbgrader autograde`'s log starts, if any."""
    match = re.search(r"Creating/updating student with ID '([^']+)'", line) or \
        re.search(r"Sanitizing .*[/\\]submitted[/\\]([^/\\]+)[/\\]"
                  + re.escape(assignment) + r"[/\\]", line)
    return match.group(1) if match else None


def _run_autograde(course: Path, assignment: str, args: list[str], student_timeout: float,
                   log: Path, names: dict[str, str], counter: list[int],
                   total: int) -> tuple[int | None, list[tuple[str, str]], str | None]:
    """One `nbgrader autograde` over several students, watched: the student that runs longer
    than ``student_timeout`` is killed with the whole batch (nbgrader and its kernel).

    Returns the exit code (None if killed), the log split into one section per student, in
    the order graded, and the student that was killed (or None).
    """
    cmd = [*_nbgrader_command(), "autograde", assignment, *args]
    proc = subprocess.Popen(cmd, cwd=course, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    sections: list[tuple[str, list[str]]] = [("", [])]
    state = {"since": time.monotonic()}
    lock = threading.Lock()

    def read() -> None:
        for line in proc.stdout:
            sid = _section_start(line, assignment)
            with lock:
                if sid is not None and sid != sections[-1][0]:
                    sections.append((sid, []))
                    state["since"] = time.monotonic()
                    counter[0] += 1
                    print(f"[{counter[0]}/{total}] autograding {sid} ({names.get(sid, '')})...",
                          flush=True)
                sections[-1][1].append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    killed, timed_out = None, False
    while True:
        try:
            proc.wait(timeout=0.25)
            break
        except subprocess.TimeoutExpired:
            with lock:
                current, since = sections[-1][0], state["since"]
            if time.monotonic() - since > student_timeout:  # a student, or nbgrader's start
                os.killpg(proc.pid, signal.SIGKILL)  # nbgrader and the kernel it started
                proc.wait()
                killed, timed_out = current or None, True
                break
    # A kernel still alive keeps the pipe open; it exits when it sees nbgrader gone.
    reader.join(timeout=60)
    with lock:
        parts = [(sid, "".join(part)) for sid, part in sections]
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ {' '.join(cmd)}\n" + "".join(text for _, text in parts),
                   encoding="utf-8")
    return None if timed_out else proc.returncode, parts, killed


def _autograde_all(course: Path, assignment: str, students: Sequence[str], cell_timeout: int,
                   student_timeout: float, names: dict[str, str]) -> dict[str, StudentResult]:
    """`nbgrader autograde` of every student in one process (one nbgrader start-up instead
    of one per student), and robust like one process per student: a submission that kills
    its kernel is reported by nbgrader, which goes on with the next; one that runs longer
    than ``student_timeout`` is killed, reported, and the batch restarts after it."""
    results: dict[str, StudentResult] = {}
    todo = []
    for sid in students:
        folder = course / "submitted" / sid / assignment
        if folder.is_dir() and any(folder.glob("*.ipynb")):
            todo.append(sid)
        else:
            results[sid] = StudentResult(sid, status="no notebook",
                                         notes=["Aucun notebook (.ipynb) trouvé dans le dépôt."])
    logs = course / "downloaded" / assignment / "logs"
    counter, run, total = [0], 0, len(todo)
    while todo:
        run += 1
        # Only this zip's students: others may be in submitted/ from an earlier batch.
        others = sorted(p.name for p in (course / "submitted").iterdir()
                        if p.is_dir() and p.name not in todo)
        args = ["--force", f"--Execute.timeout={cell_timeout}", "--Autograde.create_student=True"]
        if others:
            args.append(f"--CourseDirectory.student_id_exclude={','.join(others)}")
        rc, sections, killed = _run_autograde(course, assignment, args, student_timeout,
                                              logs / f"autograde-batch{run}.log", names,
                                              counter, total)
        out = "".join(text for _, text in sections)
        errors = set(re.findall(r"There was an error processing assignment '[^']*' for "
                                r"student '([^']*)'", out))
        graded = [(sid, text) for sid, text in sections if sid in todo]
        if not graded:  # nbgrader failed before any student: report them all
            for sid in todo:
                results[sid] = StudentResult(sid, status="autograde failed", notes=[
                    "La correction automatique a échoué : votre notebook sera corrigé à la "
                    "main."])
            (logs / f"autograde-{todo[0]}.log").write_text(out, encoding="utf-8")
            break
        crashed = rc not in (0, None) and not errors  # nbgrader itself stopped
        for i, (sid, text) in enumerate(graded):
            (logs / f"autograde-{sid}.log").write_text(text, encoding="utf-8")
            failed = sid in errors or (crashed and i == len(graded) - 1)
            results[sid] = _status(sid, text, failed, sid == killed, student_timeout)
        todo = [sid for sid in todo if sid not in results]
    for r in results.values():
        if r.status not in ("ok", "no notebook"):
            # Neither a half-graded notebook nor the feedback of an earlier submission stays.
            for step in ("autograded", "feedback"):
                shutil.rmtree(course / step / r.student_id / assignment, ignore_errors=True)
    return results


def _status(sid: str, log: str, failed: bool, killed: bool,
            student_timeout: float) -> StudentResult:
    """What happened to one submission, from its part of nbgrader's log."""
    result = StudentResult(sid)
    if killed:
        result.status = "did not finish"
        result.notes.append(f"La correction automatique n'a pas terminé en {student_timeout:g} s "
                            f"(boucle infinie ?) : votre notebook sera corrigé à la main.")
    elif failed and ("CellTimeoutError" in log or "Timeout waiting for" in log):
        # The kernel ignored the interruption sent at the cell timeout (nbgrader gives up).
        result.status = "did not finish"
        result.notes.append("Une cellule de votre notebook ne s'est pas arrêtée quand la "
                            "correction automatique l'a interrompue : il sera corrigé à la main.")
    elif failed and ("NotJSONError" in log or "not valid JSON" in log
                     or "Unreadable Notebook" in log or "NBFormatError" in log):
        result.status = "unreadable notebook"
        result.notes.append("Votre fichier n'est pas un notebook lisible (contenu JSON invalide, "
                            "fichier tronqué ou d'un autre type) : vérifiez qu'il s'ouvre dans "
                            "Jupyter et déposez-le à nouveau.")
    elif "DeadKernelError" in log or "Kernel died" in log:
        result.status = "kernel died"
        result.notes.append("Le noyau Python s'est arrêté pendant l'exécution de votre "
                            "notebook (plantage, mémoire épuisée ou appel à exit) : il sera "
                            "corrigé à la main.")
    elif failed:
        result.status = "autograde failed"
        result.notes.append("La correction automatique a échoué : votre notebook sera corrigé "
                            "à la main.")
    return result


def _autograded_cells(course: Path, assignment: str,
                      sid: str) -> tuple[list[str], set[str], dict[str, str]]:
    """One read of a student's autograded notebooks: the cells stopped at the time limit,
    the graded cells still present (a student may have deleted some), and the error each
    failing test cell showed."""
    import nbformat

    timed_out, present, errors = [], set(), {}
    for path in sorted((course / "autograded" / sid / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                present.add(meta["grade_id"])
            failed = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
            if any(out.get("ename") == "CellTimeoutError" for out in failed):
                timed_out.append(meta.get("grade_id", "?"))
            if failed and meta.get("grade") and not meta.get("solution"):
                errors[meta["grade_id"]] = _error_line(failed[0])
    return timed_out, present, errors


def _error_line(output) -> str:
    """The first line of a test cell's error, as the feedback shows it (StripTracebacks)."""
    ename = output.get("ename", "Error")
    if ename in ("CellTimeoutError", "KeyboardInterrupt"):
        return f"Interruption : {TIMEOUT_MESSAGE}"
    line = (_as_read(output).strip().splitlines() or [""])[0]
    return line if ename == "AssertionError" else f"{ename}: {line}"


def question_report(results: Sequence[StudentResult], cells: Sequence[str]) -> list[dict]:
    """Per graded cell, over the graded submissions: how many got full marks, the mean score,
    and the most frequent errors of the test cells (the case numbers of ``check_function``'s
    messages removed, so that one mistake caught by different cases in different notebooks
    counts as one message)."""
    rows = []
    for name in cells:
        scores, maximum, errors = [], None, {}
        for r in results:
            for cell, score, max_score in r.cells:
                if cell == name and score is not None:
                    scores.append(score)
                    maximum = max_score
            if name in r.cell_errors:
                key = re.sub(r" \(cas \d+ sur \d+[^)]*\)", "", r.cell_errors[name])
                errors[key] = errors.get(key, 0) + 1
        frequent = sorted(errors.items(), key=lambda item: (-item[1], item[0]))[:3]
        rows.append({
            "question": name, "points": maximum, "graded": len(scores),
            "full_marks": sum(1 for x in scores if maximum is not None and x >= maximum),
            "mean": sum(scores) / len(scores) if scores else None,
            "frequent_errors": frequent})
    return rows


def _write_question_report(path: Path, rows: list[dict], labels: dict[str, str]) -> None:
    """The per-question CSV; ``labels`` gives each cell's question as students read it (Q3)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question", "notebook question", "points", "graded", "full marks", "mean",
                         "most frequent errors"])
        for row in rows:
            writer.writerow([row["question"], labels.get(row["question"], ""),
                             "" if row["points"] is None else _fmt_points(row["points"]),
                             row["graded"], row["full_marks"],
                             "" if row["mean"] is None else f"{row['mean']:.2f}",
                             "\n".join(f"{n} × {message}" for message, n in row["frequent_errors"])])


def _fill_scores(course: Path, assignment: str, result: StudentResult) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            sub = gb.find_submission(assignment, result.student_id)
        except MissingEntry:
            result.status = "autograde failed" if result.status == "ok" else result.status
            return
        result.score, result.max_score = float(sub.score), float(sub.max_score)
        result.needs_manual = bool(sub.needs_manual_grade)
        for nb in sub.notebooks:
            for grade in sorted(nb.grades, key=lambda g: g.name):
                auto_or_manual = grade.manual_score if grade.manual_score is not None \
                    else grade.auto_score
                if grade.manual_score is not None and grade.needs_manual_grade:
                    result.earlier_manual.append(grade.name)
                result.cells.append((grade.name, None if auto_or_manual is None
                                     else float(auto_or_manual), float(grade.max_score)))


def _max_points(course: Path, assignment: str) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return float(gb.find_assignment(assignment).max_score)


def _fmt_points(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


@dataclass
class _Marking:
    """How points become the grade and the comment Moodle gets."""

    max_points: float                 # the notebook's total
    scale: float | None               # --scale: the maximum grade in Moodle, if not max_points
    provisional: bool                 # --provisional: grade before the written answers are read
    questions: dict[str, str]         # graded cell -> "Q3", in the notebook's order

    @property
    def maximum(self) -> float:
        return self.scale if self.scale is not None else self.max_points


def _comment(r: StudentResult, marking: _Marking) -> str:
    """What the student reads in Moodle: the points per question, then the notes."""
    parts = list(r.notes)
    if r.score is not None:
        scores = {name: (s, m) for name, s, m in r.cells}
        by_question: dict[str, list[tuple[float | None, float]]] = {}
        # In the notebook's order; a cell the release does not have (none should) goes last.
        for name in [*marking.questions, *(n for n in scores if n not in marking.questions)]:
            if name in scores:
                by_question.setdefault(marking.questions.get(name, name), []).append(scores[name])
        detail = " ; ".join(
            f"{q} à corriger (sur {_fmt_points(sum(m for _, m in cells))})"
            if any(s is None for s, _ in cells) else
            f"{q} {_fmt_points(sum(s for s, _ in cells))}/{_fmt_points(sum(m for _, m in cells))}"
            for q, cells in by_question.items())
        total = f"{_fmt_points(r.score)}/{_fmt_points(r.max_score or 0)} points"
        if r.needs_manual:
            parts.insert(0, f"Note provisoire : {total} ({detail}). Les réponses rédigées, pas "
                            f"encore corrigées, y comptent pour 0.")
        else:
            parts.insert(0, f"Note : {total} ({detail}).")
        parts.append("Le détail des tests est dans le fichier de retour (HTML).")
    return " ".join(parts)


def _write_moodle_csv(path: Path, results: Sequence[StudentResult], marking: _Marking) -> None:
    now = _dt.datetime.now().strftime("%A, %d %B %Y, %I:%M %p")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(MOODLE_COLUMNS)
        for r in results:
            grade = _moodle_grade(r, marking)
            status = r.status + ("; manual grading pending" if r.needs_manual else "")
            # An empty grade leaves Moodle's grade untouched: failures are graded by hand.
            writer.writerow([f"Participant {r.student_id}", r.full_name, grade,
                             _fmt_points(marking.maximum), now if grade else "",
                             _comment(r, marking), status])


def _moodle_grade(r: StudentResult, marking: _Marking) -> str:
    """The grade Moodle gets: empty (left untouched) unless the notebook was graded, and, but
    with --provisional, until its written answers are graded too (else they would count 0
    in a grade that looks final)."""
    if r.status != "ok" or r.score is None or (r.needs_manual and not marking.provisional):
        return ""
    return _fmt_points(r.score * marking.maximum / marking.max_points if marking.max_points
                       else 0.0)


def _read_worksheet(worksheet: Path) -> tuple[list[list[str]], int, int | None]:
    """Rows of a Moodle grading worksheet, with its grade and comment column indexes."""
    if not worksheet.is_file():
        raise SystemExit(f"error: {worksheet} does not exist.")
    try:
        with open(worksheet, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as err:
        raise SystemExit(f"error: {worksheet.name} is not a UTF-8 CSV file ({err}); expected "
                         f"Moodle's 'Download grading worksheet' file.") from None
    header = [h.strip() for h in rows[0]] if rows else []
    grade_col = next((i for i, h in enumerate(header) if h in WORKSHEET_GRADE_COLUMNS), None)
    if grade_col is None:
        raise SystemExit(f"error: {worksheet.name} has no grade column (named "
                         f"{' or '.join(WORKSHEET_GRADE_COLUMNS)}); its columns are {header}. "
                         f"Expected Moodle's 'Download grading worksheet' file.")
    comment_col = next((i for i, h in enumerate(header) if h in WORKSHEET_COMMENT_COLUMNS), None)
    if comment_col is None:
        print(f"warning: {worksheet.name} has no feedback comment column: tick 'Feedback "
              f"comments' in the assignment's settings to send the per-question detail.")
    return rows, grade_col, comment_col


def _check_worksheet_maximum(worksheet: tuple[list[list[str]], int, int | None], name: str,
                             marking: _Marking) -> None:
    """Refuse to fill grades out of 20 into an assignment whose maximum grade is 12."""
    rows = worksheet[0]
    header = [h.strip() for h in rows[0]]
    col = next((i for i, h in enumerate(header) if h in WORKSHEET_MAXIMUM_COLUMNS), None)
    if col is None:
        return
    for value in {row[col].strip() for row in rows[1:] if len(row) > col and row[col].strip()}:
        try:
            maximum = float(value.replace("\u00a0", "").replace(" ", "").replace(",", "."))
        except ValueError:
            continue
        if abs(maximum - marking.maximum) > 0.005:
            wanted = (f"--scale {_fmt_points(maximum)}" if marking.scale is None
                      else f"--scale {_fmt_points(maximum)} instead of --scale "
                           f"{_fmt_points(marking.scale)}")
            raise SystemExit(
                f"error: the maximum grade of {name} is {value}, but the grades would be out of "
                f"{_fmt_points(marking.maximum)}: give {wanted}, or change the assignment's "
                f"maximum grade in Moodle and download the worksheet again. Nothing was changed.")


def _fill_worksheet(worksheet: tuple[list[list[str]], int, int | None], out: Path,
                    results: Sequence[StudentResult], marking: _Marking) -> tuple[int, list[str]]:
    """Fill the grading worksheet downloaded from Moodle, in whatever language its columns are.

    Its header, identifiers and dates stay as Moodle wrote them; the grade and comment of
    each graded participant are filled in. Returns the number of rows filled and the
    participants graded here that the worksheet lacks.
    """
    rows, grade_col, comment_col = worksheet  # as _read_worksheet returned it
    by_id = {r.student_id: r for r in results}
    filled, seen = 0, set()
    for row in rows[1:]:
        match = re.search(r"(\d+)\s*$", row[0]) if row else None
        if match is None or match.group(1) not in by_id:
            continue
        r = by_id[match.group(1)]
        seen.add(r.student_id)
        grade = _moodle_grade(r, marking)
        if grade:
            row[grade_col] = grade
        if comment_col is not None:
            row[comment_col] = _comment(r, marking)
        filled += 1
    with open(out, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return filled, [sid for sid in by_id if sid not in seen]


def _write_feedback_zip(course: Path, assignment: str, path: Path,
                        results: Sequence[StudentResult]) -> int:
    count = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for r in results:
            if r.status != "ok":
                continue
            for html in sorted((course / "feedback" / r.student_id / assignment).glob("*.html")):
                prefix = f"{r.full_name or r.student_id}_{r.student_id}_assignsubmission_file_"
                archive.write(html, prefix + html.name)
                count += 1
    return count


def grade_assignment(course: str | os.PathLike, assignment: str,
                     moodle_zip: str | os.PathLike | None = None, *, cell_timeout: int = 60,
                     student_timeout: float = 600.0, scale: float | None = None,
                     report_only: bool = False, provisional: bool = False,
                     moodle_worksheet: str | os.PathLike | None = None) -> list[StudentResult]:
    """Run the whole loop (see the module docstring); return one result per student."""
    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise SystemExit(f"error: no nbgrader_config.py in {course}; run from the course root "
                         f"or give --course-dir.")
    if not (course / "exercises" / assignment).is_dir():
        raise SystemExit(f"error: exercises/{assignment} does not exist in {course}; release "
                         f"it first with: nbgrader generate_assignment {assignment} --force")
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise SystemExit(f"error: --scale must be a number > 0 (the maximum grade in Moodle); "
                         f"got {scale}.")
    # Bad input stops us before anything changes: the worksheet, then the zip.
    worksheet = None
    if moodle_worksheet is not None:
        worksheet = _read_worksheet(Path(moodle_worksheet).expanduser().resolve())
    statuses: dict[str, StudentResult] = {}
    status_file = course / "downloaded" / assignment / "status.csv"
    stray: list[str] = []
    if report_only:
        if not status_file.exists():
            raise SystemExit(f"error: nothing collected yet for {assignment} (no "
                             f"{status_file.relative_to(course)}): run with --moodle-zip first.")
    else:
        if moodle_zip is None:
            raise SystemExit("error: give --moodle-zip FILE (or --report-only).")
        zip_path = Path(moodle_zip).expanduser().resolve()
        if not zip_path.exists():
            raise SystemExit(f"error: {zip_path} does not exist.")
        if not zipfile.is_zipfile(zip_path):
            raise SystemExit(f"error: {zip_path} is not a zip file.")
        names = moodle_names(zip_path)
        stray = _stray_notebooks(zip_path)
        if not names:
            with zipfile.ZipFile(zip_path) as archive:
                sample = archive.namelist()[:5]
            raise SystemExit(
                f"error: no file of {zip_path.name} is named like a Moodle submission "
                f"('Firstname Lastname_<participant>_assignsubmission_file_...'); is it the zip "
                f"of 'Download all submissions'? First entries: {sample}. Nothing was changed.")
    _ensure_in_gradebook(course, assignment)
    questions = {c: q for nb in sorted((course / "exercises" / assignment).glob("*.ipynb"))
                 for c, q in _graded_cells(nb).items()}
    marking = _Marking(_max_points(course, assignment), scale, provisional, questions)
    if worksheet is not None:
        _check_worksheet_maximum(worksheet, Path(moodle_worksheet).name, marking)
    # Every student collected so far, over all the zips of this assignment (late submissions
    # come in a second zip): the reports cover them all.
    if status_file.exists():
        with open(status_file, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                statuses[row["student_id"]] = StudentResult(
                    row["student_id"], row["full_name"], row["status"],
                    notes=[n for n in row["notes"].split("\n") if n])
    if not report_only:
        print(f"Collecting {len(names)} submission(s) from {zip_path.name}...")
        for entry in stray:
            print(f"  warning: '{entry}' is not named like a Moodle submission: not collected.")
        batch, notes, ambiguous = _collect(course, assignment, zip_path)
        batch_results = _autograde_all(course, assignment,
                                       [sid for sid in batch if sid not in ambiguous],
                                       cell_timeout, student_timeout, names)
        batch_results.update(ambiguous)
        for sid in batch:
            batch_results[sid].full_name = names.get(sid, "")
            batch_results[sid].notes[:0] = notes.get(sid, [])
            statuses.pop(sid, None)
        statuses.update(batch_results)
        _name_students(course, {sid: names.get(sid, "") for sid in batch})
        status_file.parent.mkdir(parents=True, exist_ok=True)
        with open(status_file, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["student_id", "full_name", "status", "notes"])
            for r in sorted(statuses.values(), key=lambda r: r.student_id):
                writer.writerow([r.student_id, r.full_name, r.status, "\n".join(r.notes)])
    students = sorted(statuses)
    graded = [sid for sid in students if statuses[sid].status == "ok"]
    if graded:
        log = course / "downloaded" / assignment / "logs" / "generate_feedback.log"
        rc, _ = _nbgrader(course, "generate_feedback", assignment, "--force", log=log)
        if rc != 0:  # the students would get no feedback, or last run's: stop and say so
            raise SystemExit(f"error: nbgrader generate_feedback failed; see {log}. The grades "
                             f"are in the gradebook: fix the cause, then run this command "
                             f"again with --report-only.")
    expected_cells = list(questions)
    results = []
    for sid in students:
        r = statuses[sid]
        if r.status == "ok":
            _fill_scores(course, assignment, r)
            slow, present, r.cell_errors = _autograded_cells(course, assignment, sid)
            if slow:
                r.notes.append("Cellule(s) arrêtée(s) faute de terminer à temps : "
                               + ", ".join(slow) + ".")
            missing = [c for c in expected_cells if c not in present]
            if missing:
                r.notes.append("Cellule(s) notée(s) supprimée(s) de votre notebook : "
                               + ", ".join(missing) + " ; elles seront corrigées à la main.")
                r.deleted_cells = missing
        results.append(r)
    out = course / "grades"
    out.mkdir(exist_ok=True)
    _write_moodle_csv(out / f"{assignment}-moodle.csv", results, marking)
    question_rows = question_report([r for r in results if r.status == "ok"], expected_cells)
    _write_question_report(out / f"{assignment}-questions.csv", question_rows, marking.questions)
    n_html = _write_feedback_zip(course, assignment, out / f"{assignment}-feedback.zip", results)
    worksheet_out = out / f"{assignment}-moodle-worksheet.csv"
    if worksheet is not None:
        filled, absent = _fill_worksheet(worksheet, worksheet_out, results, marking)
    _nbgrader(course, "export", f"--to={out / f'{assignment}-nbgrader.csv'}",
              f"--assignment=['{assignment}']",
              log=course / "downloaded" / assignment / "logs" / "export.log")
    print(f"\n{'student':>10}  {'points':>9}  {'grade':>6}  status  name")
    for r in results:
        score = "-" if r.score is None else f"{_fmt_points(r.score)}/{_fmt_points(r.max_score)}"
        grade = _moodle_grade(r, marking) or "-"
        extra = "; manual grading pending" if r.needs_manual else ""
        print(f"{r.student_id:>10}  {score:>9}  {grade:>6}  {r.status}{extra}  {r.full_name}")
    problems = [r for r in results if r.status != "ok"]
    print(f"\nMoodle worksheet: {out / f'{assignment}-moodle.csv'}")
    if worksheet is not None:
        print(f"Your Moodle worksheet, filled ({filled} rows): {worksheet_out}")
        if absent:
            print(f"warning: graded here but absent from {Path(moodle_worksheet).name} "
                  f"(download it again?): {', '.join(absent)}")
    print(f"Feedback files ({n_html} HTML): {out / f'{assignment}-feedback.zip'}")
    print(f"nbgrader export: {out / f'{assignment}-nbgrader.csv'}")
    print(f"\nPer question (graded submissions; written answers once graded by hand): "
          f"{out / f'{assignment}-questions.csv'}")
    for q in question_rows:
        mean = "-" if q["mean"] is None else f"{q['mean']:.2f}"
        points = "?" if q["points"] is None else _fmt_points(q["points"])
        common = f"  most frequent: {q['frequent_errors'][0][1]} × {q['frequent_errors'][0][0][:90]}" \
            if q["frequent_errors"] else ""
        print(f"  {marking.questions.get(q['question'], ''):<8} {q['question']:<28} "
              f"{q['full_marks']:>3}/{q['graded']:<3} full marks, mean "
              f"{mean}/{points}{common}")
    if problems:
        print(f"{len(problems)} submission(s) could not be graded automatically (empty Grade "
              f"in the CSV; see INSTRUCTORS.md): "
              + ", ".join(f"{r.student_id} ({r.status})" for r in problems))
    pending = [r.student_id for r in results if r.status == "ok" and r.needs_manual]
    if pending:
        how = ("their Grade counts those answers 0 (--provisional)" if provisional else
               "empty Grade in the CSV until then; --provisional writes it now, counting them 0")
        print(f"{len(pending)} submission(s) have written answers to grade in formgrader "
              f"({how}): {', '.join(pending)}")
    for r in results:
        if r.deleted_cells:
            print(f"warning: {r.student_id} deleted graded cell(s) {', '.join(r.deleted_cells)}: "
                  f"grade them by hand in formgrader.")
        if r.earlier_manual:
            print(f"warning: {r.student_id} was regraded after you graded {', '.join(r.earlier_manual)} "
                  f"by hand: nbgrader keeps those earlier scores (counted in the grade) until you "
                  f"review them in formgrader.")
    if stray:
        print(f"warning: {len(stray)} notebook(s) of the zip were not collected (not named like "
              f"Moodle submissions): {', '.join(stray)}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point of ``dlcourse-grade``."""
    parser = argparse.ArgumentParser(
        prog="dlcourse-grade",
        description="Grade one assignment from Moodle's 'Download all submissions' zip: "
                    "nbgrader zip_collect, autograde, generate_feedback, then a grade CSV "
                    "for Moodle's offline grading worksheet import.")
    parser.add_argument("assignment", help="assignment id, e.g. tp01-perceptron")
    parser.add_argument("--moodle-zip", metavar="FILE", help="the zip downloaded from Moodle")
    parser.add_argument("--report-only", action="store_true",
                        help="skip collection and autograding; rebuild feedback and CSV files "
                             "from the gradebook (after manual grading)")
    parser.add_argument("--course-dir", default=".", metavar="DIR",
                        help="course root, the folder of nbgrader_config.py (default: .)")
    parser.add_argument("--cell-timeout", type=int, default=60, metavar="S",
                        help="time limit of one notebook cell, in seconds (default: 60)")
    parser.add_argument("--student-timeout", type=float, default=600.0, metavar="S",
                        help="time limit of one student's whole notebook (default: 600)")
    parser.add_argument("--moodle-worksheet", metavar="FILE",
                        help="also fill this grading worksheet downloaded from Moodle (columns "
                             "in Moodle's interface language, e.g. French) into "
                             "grades/<id>-moodle-worksheet.csv")
    parser.add_argument("--scale", type=float, default=None, metavar="MAX",
                        help="rescale grades to this maximum (e.g. 20); default: raw points")
    parser.add_argument("--provisional", action="store_true",
                        help="write the Grade of submissions whose written answers are not "
                             "graded yet (they count 0); by default it stays empty until then")
    args = parser.parse_args(argv)
    grade_assignment(args.course_dir, args.assignment, args.moodle_zip,
                     cell_timeout=args.cell_timeout, student_timeout=args.student_timeout,
                     scale=args.scale, report_only=args.report_only,
                     provisional=args.provisional, moodle_worksheet=args.moodle_worksheet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
