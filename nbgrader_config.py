"""nbgrader configuration of the course (course root = this file's folder).

Copy this file into another folder to grade there (the tests do): every path below is
relative to the folder that holds it. See INSTRUCTORS.md for the grading loop.
"""

from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests

from dlcourse.grade import FEEDBACK_TEMPLATE_DIRS, MOODLE_FILE_REGEXP, GetGradesFr, StripTracebacks

ROOT = Path(__file__).resolve().parent

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'gradebook.db'}"
# The grading-cases file holds near-solutions: it must never reach exercises/.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "grading_cases.toml"]

# What students see in place of a solution (French course).
c.ClearSolutions.code_stub = {"python": "# VOTRE CODE ICI\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "VOTRE RÉPONSE ICI"

# Autograding. The timeout is per cell: a loop that never ends costs the student that cell,
# and nbgrader interrupts the kernel and goes on with the next cell.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# A warning written to stderr would zero a test cell (nbgrader counts any stderr as failure):
# drop stderr outputs that are only warnings (overflow in np.exp, deprecations...).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"^(\S+:\d+: )?\w*Warning: "

# Feedback given to students: no hidden tests (neither their source nor the tracebacks
# that quote it), only the French message of each failed test, on a page in French
# (points per question, written answers « à corriger » until graded).
c.GenerateFeedback.preprocessors = [GetGradesFr, ClearHiddenTests, StripTracebacks,
                                    CSSHTMLHeaderPreprocessor]
c.HTMLExporter.template_name = "feedback_fr"
c.HTMLExporter.extra_template_basedirs = FEEDBACK_TEMPLATE_DIRS

# Moodle's "Download all submissions" zip: files named
# "Firstname Lastname_12345_assignsubmission_file_<notebook>.ipynb", or the same inside
# folders "Firstname Lastname_12345_assignsubmission_file/<notebook>.ipynb".
# The student id is Moodle's participant number (the "Participant 12345" of the worksheet).
c.ZipCollectApp.archive_directory = "archive"
c.FileNameCollectorPlugin.named_regexp = MOODLE_FILE_REGEXP
c.FileNameCollectorPlugin.valid_ext = [".ipynb"]
