"""The assignments, graded for real: nbgrader round trips in a temporary copy of the course.

Every folder of ``solutions/`` holding a notebook is an assignment and gets the same checks
(so assignments added later are covered without touching this file):

* the release ``exercises/<id>/`` is what ``nbgrader generate_assignment`` produces now, and
  holds no solution and no hidden test;
* one Moodle "download all submissions" zip (built here with Moodle's file names) goes through
  ``dlcourse.grade``: zip_collect, autograde, generate_feedback, CSV. It holds the release
  filled with the solution (full marks), the untouched release (0), and the variants of
  ``solutions/<id>/grading_cases.toml`` (wrong or cheating answers: exactly the declared test
  cells lose their points, with the declared French message);
* the feedback HTML holds no hidden-test source; the Moodle CSV holds the right rows.

Nothing is written in the working tree: gradebook, submitted/, autograded/... live in tmp.
"""

from __future__ import annotations

import copy
import csv
import html
import re
import shutil
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from notebook_regions import hidden_lines, nbgrader_meta, solution_lines, strip_markers

from dlcourse import grade
from dlcourse.grade import (MOODLE_COLUMNS, MOODLE_FILE_REGEXP, StripTracebacks,
                            grade_assignment, main)

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(d.name for d in (ROOT / "solutions").iterdir()
                     if d.is_dir() and any(d.glob("*.ipynb")))
CELL_TIMEOUT = 60       # seconds per cell, as in production
STUDENT_TIMEOUT = 300   # generous: the watchdog is tested with a fake nbgrader below

pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------- helpers
def _nbgrader(course: Path, *args: str) -> str:
    rc, out = grade._nbgrader(course, *args)  # as dlcourse-grade runs it (env, start-up)
    assert rc == 0, out
    return out


_TEMPLATES: dict[str, Path] = {}  # assignment -> a course generated once per session


def _new_course(tmp: Path, assignment: str, factory: pytest.TempPathFactory) -> Path:
    """A course root in tmp: the config, the sources, a fresh release and gradebook.

    ``nbgrader generate_assignment`` runs once per assignment and session; every course
    of that assignment is a copy of the result."""
    if assignment not in _TEMPLATES:
        template = factory.mktemp(f"{assignment}-template") / "course"
        template.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", template)
        shutil.copytree(ROOT / "solutions" / assignment, template / "solutions" / assignment)
        _nbgrader(template, "generate_assignment", assignment, "--force")
        _TEMPLATES[assignment] = template
    course = tmp / "course"
    shutil.copytree(_TEMPLATES[assignment], course)
    return course


def _visible_text(path: Path) -> str:
    """Text of an HTML file as a reader sees it (tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@dataclass
class Submission:
    student_id: str
    full_name: str
    kind: str                 # solution | release | wrong | cheat | right
    lost: tuple[str, ...] = ()
    message: str | None = None


@dataclass
class Graded:
    assignment: str
    course: Path
    notebook: str
    source: nbformat.NotebookNode
    points: dict[str, float]          # auto-graded test cells
    manual: dict[str, float]          # manually graded answers
    submissions: dict[str, Submission]
    results: dict


def _fill(release, solution_sources: dict[str, str], replace: dict[str, str] | None = None):
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            gid = meta["grade_id"]
            cell.source = (replace or {}).get(gid, solution_sources[gid])
    return nb


def _moodle_zip(path: Path, notebook: str, subs: list[tuple[Submission, nbformat.NotebookNode]]):
    """Moodle's layouts: flat names, per-student folders, and one renamed notebook."""
    with zipfile.ZipFile(path, "w") as archive:
        for i, (sub, nb) in enumerate(subs):
            prefix = f"{sub.full_name}_{sub.student_id}_assignsubmission_file"
            name = (f"{prefix}_{notebook}" if i % 3 == 0 else
                    f"{prefix}/{notebook}" if i % 3 == 1 else
                    f"{prefix}/{Path(notebook).stem} (1).ipynb")
            archive.writestr(name, nbformat.writes(nb))
        archive.writestr("Ada Lovelace_1999_assignsubmission_onlinetext_onlinetext.html", "<p/>")


def _cases(assignment: str) -> list[dict]:
    path = ROOT / "solutions" / assignment / "grading_cases.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")).get("variant", []) \
        if path.exists() else []


# ---------------------------------------------------------------------------- fixture
@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory) -> Graded:
    assignment = request.param
    release_dir = ROOT / "exercises" / assignment
    if not release_dir.is_dir():
        pytest.fail(f"exercises/{assignment} is missing: run "
                    f"`nbgrader generate_assignment {assignment} --force`")
    notebooks = sorted(p.name for p in (ROOT / "solutions" / assignment).glob("*.ipynb"))
    assert len(notebooks) == 1, "one notebook per assignment (the Moodle rename relies on it)"
    notebook = notebooks[0]
    course = _new_course(tmp_path_factory.mktemp(assignment), assignment, tmp_path_factory)
    source = nbformat.read(ROOT / "solutions" / assignment / notebook, as_version=4)
    release = nbformat.read(release_dir / notebook, as_version=4)
    sol = {nbgrader_meta(c)["grade_id"]: strip_markers(c.source)
           for c in source.cells if nbgrader_meta(c).get("solution")}
    points = {m["grade_id"]: float(m["points"]) for m in map(nbgrader_meta, source.cells)
              if m.get("grade") and not m.get("solution")}
    manual = {m["grade_id"]: float(m["points"]) for m in map(nbgrader_meta, source.cells)
              if m.get("grade") and m.get("solution")}

    subs = [(Submission("1001", "Ada Lovelace", "solution"), _fill(release, sol)),
            (Submission("1002", "Alan Turing", "release"), copy.deepcopy(release))]
    for i, case in enumerate(_cases(assignment)):
        unknown = set(case["cells"]) - set(sol)
        assert not unknown, f"{case['name']}: no solution cell {unknown}"
        assert set(case["lost"]) <= set(points), f"{case['name']}: unknown test cells"
        subs.append((Submission(str(1003 + i), f"Variant {case['name']}", case["kind"],
                                tuple(case["lost"]), case.get("message")),
                     _fill(release, sol, {k: v.strip("\n") for k, v in case["cells"].items()})))
    zip_path = course / "moodle-submissions.zip"
    _moodle_zip(zip_path, notebook, subs)
    results = grade_assignment(course, assignment, zip_path, cell_timeout=CELL_TIMEOUT,
                               student_timeout=STUDENT_TIMEOUT)
    return Graded(assignment, course, notebook, source, points, manual,
                  {s.student_id: s for s, _ in subs}, {r.student_id: r for r in results})


def _cell_scores(g: Graded, sid: str) -> dict[str, float | None]:
    return {name: score for name, score, _ in g.results[sid].cells}


# ------------------------------------------------------------------------------ tests
def test_solution_gets_full_marks(graded):
    scores = _cell_scores(graded, "1001")
    assert graded.results["1001"].status == "ok"
    assert {k: scores[k] for k in graded.points} == graded.points
    assert all(scores[k] is None for k in graded.manual), "written answers await manual grading"
    assert graded.manual, "every assignment has a manually graded written question"
    assert len(graded.points) >= 3, "several graded test cells, for partial credit"


def test_untouched_release_scores_zero(graded):
    r = graded.results["1002"]
    assert r.status == "ok" and r.score == 0.0
    assert set(_cell_scores(graded, "1002")) == set(graded.points) | set(graded.manual)
    # Its feedback says, in French, which function is still to write.
    feedback = _visible_text(graded.course / "feedback" / "1002" / graded.assignment
                             / graded.notebook.replace(".ipynb", ".html"))
    assert "n'est pas encore écrite : remplacez" in feedback


def test_variants_lose_exactly_their_points(graded):
    variants = [s for s in graded.submissions.values() if s.kind in ("wrong", "cheat", "right")]
    assert {s.kind for s in variants} == {"wrong", "cheat", "right"}, \
        "grading_cases.toml needs at least one 'wrong', one 'cheat' and one 'right' variant"
    assert all(not s.lost for s in variants if s.kind == "right"), "a 'right' variant loses nothing"
    for sub in variants:
        scores = _cell_scores(graded, sub.student_id)
        expected = {k: (0.0 if k in sub.lost else p) for k, p in graded.points.items()}
        assert {k: scores[k] for k in graded.points} == expected, sub.full_name
        if sub.message:
            nb = nbformat.read(graded.course / "autograded" / sub.student_id / graded.assignment
                               / graded.notebook, as_version=4)
            for cell in nb.cells:
                if nbgrader_meta(cell).get("grade_id") in sub.lost:
                    errors = [o.get("evalue", "") for o in cell.outputs
                              if o.output_type == "error"]
                    assert any(sub.message in e for e in errors), (sub.full_name, errors)


def test_feedback_has_no_hidden_tests(graded):
    hidden = hidden_lines(graded.source)
    assert hidden, "the assignment has hidden tests"
    files = sorted((graded.course / "feedback").glob(f"*/{graded.assignment}/*.html"))
    assert len(files) == len(graded.submissions)
    for path in files:
        text = _visible_text(path)
        assert "HIDDEN TESTS" not in text and "grading." not in text, path
        leaked = [line for line in hidden if line in text]
        assert not leaked, (path, leaked[:3])
    # The page is in French, points per question; a written answer not graded yet says so.
    for path in files:
        text = " ".join(_visible_text(path).split())
        assert "Votre réponse" in text and re.search(r"Q1[ ,]", text), path
        english = [w for w in ("Student's answer", "Score:", "Grade cell", "Comments:",
                               "Written response", "No response.", "(Top)") if w in text]
        assert not english, (path, english)
    solution = " ".join(_visible_text(graded.course / "feedback" / "1001" / graded.assignment
                                      / graded.notebook.replace(".ipynb", ".html")).split())
    assert "note provisoire" in solution and "réponse rédigée : à corriger (sur " in solution
    # A failing hidden test still shows its French message to the student.
    wrong = next(s for s in graded.submissions.values() if s.kind == "cheat")
    text = _visible_text(graded.course / "feedback" / wrong.student_id / graded.assignment
                         / graded.notebook.replace(".ipynb", ".html"))
    assert "l'exercice consiste à l'écrire vous-même" in text


def test_moodle_csv_rows(graded):
    path = graded.course / "grades" / f"{graded.assignment}-moodle.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == MOODLE_COLUMNS
    by_id = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert set(by_id) == {f"Participant {sid}" for sid in graded.submissions}
    total = sum(graded.points.values())
    for sid, sub in graded.submissions.items():
        row = by_id[f"Participant {sid}"]
        lost = sum(graded.points[k] for k in sub.lost)
        expected = 0.0 if sub.kind == "release" else total - lost
        assert row["Full name"] == sub.full_name
        # The points, per question as the notebook numbers them; the grade only once the
        # written answers are graded (the blank release's is 0 without a reader).
        comment = row["Feedback comments"]
        points = re.match(r"Note (provisoire )?: ([\d.]+)/([\d.]+) points \(Q1 ", comment)
        assert points and float(points.group(2)) == expected, (sub.full_name, comment)
        assert float(points.group(3)) == float(row["Maximum grade"]) == total + sum(graded.manual.values())
        if sub.kind == "release":
            assert row["Grade"] == "0" and not points.group(1) and row["Last modified (grade)"]
        else:
            assert row["Grade"] == "" and points.group(1), (sub.full_name, row)
            assert " à corriger (sur " in comment
    with open(graded.course / "grades" / f"{graded.assignment}-nbgrader.csv") as fh:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    assert exported["1001"] == total and exported["1002"] == 0.0
    with zipfile.ZipFile(graded.course / "grades" / f"{graded.assignment}-feedback.zip") as z:
        expected = f"Ada Lovelace_1001_assignsubmission_file_{graded.notebook[:-6]}.html"
        assert expected in z.namelist()


def test_question_report_counts_what_each_submission_lost(graded):
    """grades/<id>-questions.csv: per test cell, who got full marks, the mean, and the errors
    students read, grouped (the blank release's "not written yet" counts once per cell)."""
    with open(graded.course / "grades" / f"{graded.assignment}-questions.csv", newline="",
              encoding="utf-8") as fh:
        rows = {row["question"]: row for row in csv.DictReader(fh)}
    subs = graded.submissions.values()
    assert set(graded.points) | set(graded.manual) == set(rows)
    for cell, points in graded.points.items():
        row = rows[cell]
        assert re.fullmatch(r"Q\d+( et \d+)?", row["notebook question"]), row
        losers = [s for s in subs if s.kind == "release" or cell in s.lost]
        assert int(row["graded"]) == len(subs) and float(row["points"]) == points
        assert int(row["full marks"]) == len(subs) - len(losers), cell
        mean = points * (len(subs) - len(losers)) / len(subs)  # written with two decimals
        assert float(row["mean"]) == pytest.approx(mean, abs=0.005 + 1e-9)
        errors = row["most frequent errors"].splitlines()
        counted = sum(int(e.split(" × ")[0]) for e in errors)
        assert len(errors) <= 3 and " (cas " not in row["most frequent errors"]
        if len(errors) < 3:  # all distinct errors listed: one per submission that lost the cell
            assert counted == len(losers), (cell, errors)
        else:
            assert counted <= len(losers)
    for cell in graded.manual:  # written answers: not graded by hand yet, except the blank
        assert (rows[cell]["graded"], rows[cell]["mean"]) == ("1", "0.00")  # nbgrader: 0, unchanged


def test_release_is_up_to_date(graded):
    fresh = nbformat.read(graded.course / "exercises" / graded.assignment / graded.notebook, 4)
    committed = nbformat.read(ROOT / "exercises" / graded.assignment / graded.notebook, 4)
    def cells(nb):
        return [(c.cell_type, c.source, nbgrader_meta(c)) for c in nb.cells]
    assert cells(committed) == cells(fresh), (
        f"exercises/{graded.assignment} is stale: run "
        f"`nbgrader generate_assignment {graded.assignment} --force`")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solution_or_hidden_test(assignment):
    release_dir = ROOT / "exercises" / assignment
    assert not list(release_dir.glob("grading_cases*"))
    for path in release_dir.glob("*.ipynb"):
        source = nbformat.read(ROOT / "solutions" / assignment / path.name, as_version=4)
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "dlcourse.grading",
                       "check_function"):
            assert marker not in text, (path, marker)
        leaked = [line for line in solution_lines(source) + hidden_lines(source)
                  if line in text]
        assert not leaked, (path, leaked[:3])
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_broken_submissions_are_reported_and_others_graded(tmp_path, tmp_path_factory, capsys):
    """A notebook that kills its kernel and one that never finishes (it ignores the
    interruption) are reported as such, with an empty grade; the batch goes on."""
    assignment = ASSIGNMENTS[0]
    notebook = next((ROOT / "exercises" / assignment).glob("*.ipynb")).name
    course = _new_course(tmp_path, assignment, tmp_path_factory)
    release = nbformat.read(ROOT / "exercises" / assignment / notebook, as_version=4)

    def with_first_cell(code: str):
        nb = copy.deepcopy(release)
        next(c for c in nb.cells if nbgrader_meta(c).get("solution")).source = code
        return nb

    killer = with_first_cell("import os\nos._exit(1)")
    hang = with_first_cell("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                           "while True:\n    time.sleep(0.1)")
    loop = with_first_cell("while True:\n    pass")  # interrupted at the cell timeout
    subs = [(Submission("2001", "Kernel Killer", "broken"), killer),
            (Submission("2002", "Never Ends", "broken"), hang),
            (Submission("2003", "Alan Turing", "release"), release),
            (Submission("2004", "Endless Loop", "broken"), loop)]
    zip_path = tmp_path / "moodle.zip"
    _moodle_zip(zip_path, notebook, subs)
    # The command as INSTRUCTORS.md gives it.
    assert main([assignment, "--moodle-zip", str(zip_path), "--course-dir", str(course),
                 "--cell-timeout", "5", "--student-timeout", "120"]) == 0
    with open(course / "downloaded" / assignment / "status.csv", encoding="utf-8") as fh:
        results = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert {sid: r["status"] for sid, r in results.items()} == {
        "2001": "kernel died", "2002": "did not finish", "2003": "ok", "2004": "ok"}
    def moodle_rows():
        with open(course / "grades" / f"{assignment}-moodle.csv", encoding="utf-8") as fh:
            return [{k: v for k, v in r.items() if k != "Last modified (grade)"}
                    for r in csv.DictReader(fh)]
    first_rows = moodle_rows()
    # After manual grading: feedback and CSV again from the gradebook, same rows.
    assert main([assignment, "--report-only", "--course-dir", str(course)]) == 0
    assert moodle_rows() == first_rows
    first = next(nbgrader_meta(c)["grade_id"] for c in release.cells
                 if nbgrader_meta(c).get("solution"))
    with open(course / "grades" / f"{assignment}-moodle.csv", newline="", encoding="utf-8") as fh:
        rows = {r["Identifier"]: r for r in csv.DictReader(fh)}
    assert rows["Participant 2001"]["Grade"] == "" and "noyau" in \
        rows["Participant 2001"]["Feedback comments"]
    assert rows["Participant 2002"]["Grade"] == ""
    assert rows["Participant 2003"]["Grade"] == "0" and rows["Participant 2004"]["Grade"] == "0"
    assert "arrêtée" in rows["Participant 2004"]["Feedback comments"]
    assert f"à temps : {first}." in rows["Participant 2004"]["Feedback comments"]
    # A French Moodle names the worksheet's columns in French and reads them back in French:
    # the worksheet it exports is filled, header, identifiers and dates untouched.
    header = ["Identifiant", "Nom complet", "Adresse de courriel", "Statut", "Note",
              "Note maximale", "La note peut être modifiée", "Dernière modification (travail remis)",
              "Dernière modification (note)", "Feedback par commentaires"]
    moodle_rows = [[f"Participant{sid}", name, f"{sid}@etu.fr", "Remis pour évaluation", note, "12,00",
                    "Oui", "lundi 16 novembre 2026, 10:02", "", ""]
                   for sid, name, note in (("2001", "Kernel Killer", "3,00"), ("2003", "Alan Turing", ""),
                                           ("2004", "Endless Loop", ""), ("9999", "Sans Dépôt", ""))]
    worksheet = tmp_path / "Notes-TP1.csv"
    with open(worksheet, "w", newline="", encoding="utf-8-sig") as fh:
        csv.writer(fh).writerows([header, *moodle_rows])
    capsys.readouterr()
    assert main([assignment, "--report-only", "--course-dir", str(course),
                 "--moodle-worksheet", str(worksheet)]) == 0
    assert "absent from Notes-TP1.csv (download it again?): 2002" in capsys.readouterr().out
    with open(course / "grades" / f"{assignment}-moodle-worksheet.csv", encoding="utf-8") as fh:
        filled = list(csv.reader(fh))
    assert filled[0] == header
    by_id = {row[0]: row for row in filled[1:]}
    assert by_id["Participant2001"][4] == "3,00" and "noyau" in by_id["Participant2001"][9]
    assert by_id["Participant2003"][4] == "0" and by_id["Participant2004"][4] == "0"
    assert "arrêtée" in by_id["Participant2004"][9]
    assert by_id["Participant9999"] == moodle_rows[3]
    assert [row[:4] + row[5:9] for row in filled[1:]] == [row[:4] + row[5:9] for row in moodle_rows]
    with pytest.raises(SystemExit, match="not a UTF-8 CSV file"):
        main([assignment, "--report-only", "--course-dir", str(course),
              "--moodle-worksheet", str(zip_path)])
    # Grades out of 20 into a worksheet whose maximum is 12: refused before anything changes.
    before = (course / "grades" / f"{assignment}-moodle-worksheet.csv").read_bytes()
    with pytest.raises(SystemExit, match=r"maximum grade of Notes-TP1.csv is 12,00, but the grades "
                                         r"would be out of 20: give --scale 12 instead of --scale 20"):
        main([assignment, "--report-only", "--scale", "20", "--course-dir", str(course),
              "--moodle-worksheet", str(worksheet)])
    assert (course / "grades" / f"{assignment}-moodle-worksheet.csv").read_bytes() == before
    with pytest.raises(SystemExit, match="--scale must be a number > 0"):
        main([assignment, "--report-only", "--scale", "0", "--course-dir", str(course)])
    # Feedback that nbgrader fails to write stops the command instead of leaving last run's.
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write('\nc.HTMLExporter.template_name = "no-such-template"\n')
    with pytest.raises(SystemExit, match="nbgrader generate_feedback failed"):
        main([assignment, "--report-only", "--course-dir", str(course)])
    (tmp_path / "other.csv").write_text("Nom,Prénom\nTuring,Alan\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no grade column"):
        main([assignment, "--report-only", "--course-dir", str(course),
              "--moodle-worksheet", str(tmp_path / "other.csv")])


def test_moodle_batches_layouts_and_mistakes(tmp_path, tmp_path_factory, capsys):
    """Real zips as they come: Moodle < 4.1 folders, a Mac's __MACOSX entries, two notebooks,
    a corrupt file, a deleted test cell, late submissions in a second zip and a resubmission
    that breaks. Nobody is lost from the reports, nobody gets stale feedback, and a zip that
    is not Moodle's changes nothing."""
    assignment = ASSIGNMENTS[0]
    notebook = next((ROOT / "exercises" / assignment).glob("*.ipynb")).name
    course = _new_course(tmp_path, assignment, tmp_path_factory)
    release = nbformat.read(ROOT / "exercises" / assignment / notebook, as_version=4)
    source = nbformat.read(ROOT / "solutions" / assignment / notebook, as_version=4)
    solution = _fill(release, {nbgrader_meta(c)["grade_id"]: strip_markers(c.source)
                               for c in source.cells if nbgrader_meta(c).get("solution")})
    test_ids = [nbgrader_meta(c)["grade_id"] for c in release.cells
                if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]
    no_test = copy.deepcopy(solution)
    no_test.cells = [c for c in no_test.cells if nbgrader_meta(c).get("grade_id") != test_ids[0]]
    killer = copy.deepcopy(release)
    next(c for c in killer.cells if nbgrader_meta(c).get("solution")).source = "import os\nos._exit(1)"

    def folder(name, sid):  # Moodle < 4.1: one folder per student, ending in "_"
        return f"{name}_{sid}_assignsubmission_file_/"

    first = tmp_path / "first.zip"
    with zipfile.ZipFile(first, "w") as z:
        z.writestr(folder("Zoé Lefèvre", "5001") + notebook, nbformat.writes(solution))
        z.writestr("__MACOSX/" + folder("Zoé Lefèvre", "5001") + "._" + notebook, "\x00\x05")
        z.writestr(folder("Two Files", "5002") + notebook, nbformat.writes(release))
        z.writestr(folder("Two Files", "5002") + "v2.ipynb", nbformat.writes(solution))
        z.writestr(folder("Two Others", "5003") + "a.ipynb", nbformat.writes(solution))
        z.writestr(folder("Two Others", "5003") + "b.ipynb", nbformat.writes(release))
        z.writestr(folder("Corrupt File", "5004") + notebook, '{"cells": [')
        z.writestr("notes-du-prof.ipynb", nbformat.writes(release))
    assert main([assignment, "--moodle-zip", str(first), "--course-dir", str(course)]) == 0
    out = capsys.readouterr().out
    assert "'notes-du-prof.ipynb' is not named like a Moodle submission" in out
    assert re.search(rf"\n  Q1 +{test_ids[0]} +\d+/\d+ +full marks, mean [\d.]+/", out), "per-question summary"
    # The instructor grades 5001's written answer in formgrader (which clears the review flag);
    # then 5001 hands in again, with the late ones.
    written, written_points = next((m["grade_id"], float(m["points"]))
                                   for m in map(nbgrader_meta, source.cells)
                                   if m.get("grade") and m.get("solution"))
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade(written, notebook.removesuffix(".ipynb"), assignment, "5001")
        grade.manual_score, grade.needs_manual_grade = written_points, False
        gb.db.commit()
    late = tmp_path / "late.zip"
    with zipfile.ZipFile(late, "w") as z:
        z.writestr(folder("Deleted Test", "5005") + notebook, nbformat.writes(no_test))
        z.writestr(folder("Two Files", "5002") + notebook, nbformat.writes(killer))
        z.writestr(folder("Zoé Lefèvre", "5001") + notebook, nbformat.writes(solution))
    assert main([assignment, "--moodle-zip", str(late), "--course-dir", str(course)]) == 0
    out = capsys.readouterr().out
    assert f"5005 deleted graded cell(s) {test_ids[0]}" in out
    assert f"5001 was regraded after you graded {written} by hand" in out

    def rows():
        with open(course / "grades" / f"{assignment}-moodle.csv", encoding="utf-8") as fh:
            return {r["Identifier"]: r for r in csv.DictReader(fh)}

    for report in ("batch", "report-only"):
        if report == "report-only":
            assert main([assignment, "--report-only", "--course-dir", str(course)]) == 0
        r = rows()
        assert sorted(r) == [f"Participant {n}" for n in range(5001, 5006)], report
        auto_points = sum(float(nbgrader_meta(c)["points"]) for c in source.cells
                          if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution"))
        # nbgrader keeps the earlier manual score of a regraded notebook, flagged for review:
        # no grade in Moodle until the review.
        assert r["Participant 5001"]["Grade"] == ""
        assert f"Note provisoire : {auto_points + written_points:g}/" in r["Participant 5001"]["Feedback comments"]
        assert "manual grading pending" in r["Participant 5001"]["Grading status"]
        assert r["Participant 5001"]["Full name"] == "Zoé Lefèvre"
        assert r["Participant 5002"]["Grade"] == "" and "noyau" in r["Participant 5002"]["Feedback comments"]
        assert r["Participant 5003"]["Grade"] == ""
        assert "aucun ne s'appelle" in r["Participant 5003"]["Feedback comments"]
        assert r["Participant 5004"]["Grade"] == ""
        assert "pas un notebook lisible" in r["Participant 5004"]["Feedback comments"]
        assert f"supprimée(s) de votre notebook : {test_ids[0]}" in r["Participant 5005"]["Feedback comments"]
    with zipfile.ZipFile(course / "grades" / f"{assignment}-feedback.zip") as z:
        shipped = sorted(n.split("_")[1] for n in z.namelist())
    assert shipped == ["5001", "5005"], "feedback only for the notebooks graded now"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # reviewed in formgrader
        gb.find_grade(written, notebook.removesuffix(".ipynb"), assignment, "5001").needs_manual_grade = False
        gb.db.commit()
    capsys.readouterr()
    assert main([assignment, "--report-only", "--course-dir", str(course)]) == 0
    assert "was regraded after" not in capsys.readouterr().out
    assert float(rows()["Participant 5001"]["Grade"]) == auto_points + written_points
    assert rows()["Participant 5005"]["Grade"] == ""  # its written answer still awaits a reader
    assert main([assignment, "--report-only", "--provisional", "--course-dir", str(course)]) == 0
    assert "have written answers to grade in formgrader (their Grade counts those answers 0 " \
           "(--provisional)): 5005" in capsys.readouterr().out
    assert rows()["Participant 5005"]["Grade"] != ""
    # Formgrader shows Moodle's names; every zip handed in is kept.
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        student = gb.find_student("5001")
        assert (student.first_name, student.last_name) == ("Zoé", "Lefèvre")
    kept = sorted(p.name for p in (course / "downloaded" / assignment / "zips").iterdir())
    assert kept == ["first.zip", "late.zip"]
    # A zip that is not Moodle's: a clear error, the reports stay as they were.
    before = (course / "grades" / f"{assignment}-moodle.csv").read_bytes()
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr(notebook, nbformat.writes(solution))
    with pytest.raises(SystemExit, match="named like a Moodle submission"):
        main([assignment, "--moodle-zip", str(other), "--course-dir", str(course)])
    with pytest.raises(SystemExit, match="does not exist"):
        main([assignment, "--moodle-zip", str(tmp_path / "missing.zip"), "--course-dir", str(course)])
    assert (course / "grades" / f"{assignment}-moodle.csv").read_bytes() == before


_FAKE_NBGRADER = """
import sys, time
from pathlib import Path

_, assignment, *options = sys.argv[2:]  # autograde <id> [options]
if Path("hang_at_start").exists():
    time.sleep(600)
exclude = [o.split("=", 1)[1].split(",") for o in options
           if o.startswith("--CourseDirectory.student_id_exclude=")]
errors = []
for folder in sorted(Path("submitted").iterdir()):
    if exclude and folder.name in exclude[0]:
        continue
    print(f"[AutogradeApp | INFO] Creating/updating student with ID '{folder.name}': {{}}",
          flush=True)
    behaviour = (folder / assignment / "behaviour.txt").read_text()
    out = Path("autograded") / folder.name / assignment
    out.mkdir(parents=True, exist_ok=True)
    (out / "nb.ipynb").write_text("{}")
    if behaviour == "hang":
        time.sleep(600)
    elif behaviour == "die":
        print("nbclient.exceptions.DeadKernelError: Kernel died", flush=True)
        errors.append(folder.name)
for sid in errors:
    print(f"[AutogradeApp | ERROR] There was an error processing assignment "
          f"'{assignment}' for student '{sid}'")
sys.exit(1 if errors else 0)
"""


def test_one_batch_survives_a_submission_that_never_ends(tmp_path, monkeypatch):
    """All students go through one `nbgrader autograde`, watched: a student running longer
    than the student time limit is killed and reported, the batch restarts after it; a
    kernel death is reported by nbgrader, which goes on. (A fake nbgrader plays the
    submissions, so that the limit can be short.)"""
    from dlcourse import grade

    fake = tmp_path / "fake_nbgrader.py"
    fake.write_text(_FAKE_NBGRADER)
    monkeypatch.setattr(grade, "_nbgrader_command", lambda: [sys.executable, str(fake), "-"])
    behaviours = {"3000": "ok", "3001": "ok", "3002": "hang", "3003": "die", "3004": "ok",
                  "3005": None}
    for sid, behaviour in behaviours.items():
        folder = tmp_path / "submitted" / sid / "tp"
        folder.mkdir(parents=True)
        if behaviour:
            (folder / "tp.ipynb").write_text("{}")
            (folder / "behaviour.txt").write_text(behaviour)
    students = ["3001", "3002", "3003", "3004", "3005"]  # 3000: an earlier batch
    results = grade._autograde_all(tmp_path, "tp", students, cell_timeout=5,
                                   student_timeout=2, names={})
    assert {sid: r.status for sid, r in results.items()} == {
        "3001": "ok", "3002": "did not finish", "3003": "kernel died", "3004": "ok",
        "3005": "no notebook"}
    assert "n'a pas terminé en 2 s" in results["3002"].notes[0]
    assert not (tmp_path / "autograded" / "3000").exists(), "only this batch is graded"
    for sid in ("3002", "3003"):  # no half-graded notebook left behind
        assert not (tmp_path / "autograded" / sid / "tp").exists()
    logs = tmp_path / "downloaded" / "tp" / "logs"
    assert "DeadKernelError" in (logs / "autograde-3003.log").read_text()
    assert sorted(p.name for p in logs.glob("autograde-batch*.log")) == [
        "autograde-batch1.log", "autograde-batch2.log"]
    (tmp_path / "hang_at_start").write_text("")  # nbgrader itself never starts grading
    results = grade._autograde_all(tmp_path, "tp", ["3001"], cell_timeout=5,
                                   student_timeout=2, names={})
    assert results["3001"].status == "autograde failed"


@pytest.mark.parametrize("name, student, file_id", [
    ("/x/extracted/moodle/Ada Lovelace_1001_assignsubmission_file_tp01-perceptron.ipynb",
     "1001", "tp01-perceptron.ipynb"),
    ("/x/Jean-Éric D'Arc_42_assignsubmission_file/tp01-perceptron.ipynb",
     "42", "tp01-perceptron.ipynb"),
    ("/x/A B_7_assignsubmission_file/sub/tp01 (1).ipynb", "7", "tp01 (1).ipynb"),
    ("/x/Zoé L_8_assignsubmission_file_/tp01-perceptron.ipynb", "8", "tp01-perceptron.ipynb"),
])
def test_moodle_file_names(name, student, file_id):
    match = re.match(MOODLE_FILE_REGEXP, name)
    assert match and match["student_id"] == student and match["file_id"] == file_id
    assert not re.match(MOODLE_FILE_REGEXP, "/x/A B_7_assignsubmission_onlinetext_a.html")
    assert not re.match(MOODLE_FILE_REGEXP, "/x/__MACOSX/A B_7_assignsubmission_file_/._a.ipynb")
    assert not re.match(MOODLE_FILE_REGEXP, "/x/A B_7_assignsubmission_file/._a.ipynb")


def test_feedback_keeps_only_the_message_of_errors_in_test_cells():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", metadata={
        "nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}})])
    nb.cells[0].outputs = [nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="message en français",
        traceback=["Cell In[3], line 5", "grading.check_function(secret)"])]
    out, _ = StripTracebacks().preprocess(nb, {})
    assert out.cells[0].outputs[0]["traceback"] == ["AssertionError: message en français"]


def test_feedback_names_the_function_not_written_and_glosses_python_errors():
    """A visible test that runs a blank function, or hits a NumPy error, reads French."""
    test_meta = {"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", metadata=test_meta),
                                         nbformat.v4.new_code_cell("y", metadata=test_meta)])
    # IPython's own traceback of a blank forward called by a visible test (colours included).
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="NotImplementedError", evalue="", traceback=[
        "\x1b[31mNotImplementedError\x1b[39m                       Traceback (most recent call last)",
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 2\x1b[39m\n----> 2 forward(1)\n",
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line 4\x1b[39m, in "
        "\x1b[36mforward\x1b[39m\x1b[34m(x)\x1b[39m\n----> 4     raise NotImplementedError()\n",
        "\x1b[31mNotImplementedError\x1b[39m: "])]
    nb.cells[1].outputs = [nbformat.v4.new_output(
        "error", ename="ValueError", evalue="operands could not be broadcast together with shapes (3,) (4,)",
        traceback=["Cell In[3], line 5", "secret"])]
    out, _ = StripTracebacks().preprocess(nb, {})
    blank, numpy_error = (c.outputs[0]["traceback"] for c in out.cells)
    assert blank == ["NotImplementedError: « forward » n'est pas encore écrite : remplacez "
                     "« raise NotImplementedError() » par votre code."]
    assert numpy_error == ["ValueError: operands could not be broadcast together with shapes (3,) (4,) — "
                           "en clair : deux tableaux de formes incompatibles dans une opération élément "
                           "par élément ; affichez leurs .shape."]


def test_feedback_explains_a_cell_stopped_at_the_time_limit_in_french():
    test_meta = {"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", metadata=test_meta),
                                         nbformat.v4.new_code_cell("while True: pass")])
    for cell, ename in zip(nb.cells, ("CellTimeoutError", "KeyboardInterrupt")):
        cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue="", traceback=[
            "----", "Cell In[3], line 1", "while True: pass", f"{ename}: "])]
    out, _ = StripTracebacks().preprocess(nb, {})
    test, student = (c.outputs[0] for c in out.cells)
    assert test["traceback"] == [f"Interruption : {grade.TIMEOUT_MESSAGE}"]
    assert student["traceback"] == ["Cell In[3], line 1", "while True: pass",
                                    f"Interruption : {grade.TIMEOUT_MESSAGE}"]
    assert "boucle infinie" in test["evalue"]

