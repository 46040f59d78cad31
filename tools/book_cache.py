"""Keep ``make book``'s execution cache honest: start afresh when the ``dlcourse`` package changed.

myst-nb's cache (``_build/.jupyter_cache``) re-executes a chapter only when the chapter's own code
cells change. The chapters run the package's code, so after an edit of ``src/dlcourse/`` the cached
outputs (printed values, figures, widget states) would show the old package. ``make book`` therefore
runs, around ``jupyter-book build``::

    python tools/book_cache.py check    # prints --all and empties the cache if the package changed
    python tools/book_cache.py record   # after a successful build: the package it was built with

The package's fingerprint (SHA-256 of every file under ``src/dlcourse/``, names included) is kept in
``_build/dlcourse.sha256``. ``--all`` makes Sphinx rewrite every page, not only the changed notebooks.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_digest(package: Path) -> str:
    """SHA-256 over the relative names and contents of the package's files (no ``__pycache__``)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def check(build: Path, package: Path) -> str:
    """Empty ``build/.jupyter_cache`` and return ``"--all"`` if the package differs from the one the
    last build recorded (or none was recorded while a cache exists); else return ``""``."""
    cache, stamp = build / ".jupyter_cache", build / "dlcourse.sha256"
    recorded = stamp.read_text().strip() if stamp.exists() else None
    if recorded == package_digest(package) or (recorded is None and not cache.exists()):
        return ""
    shutil.rmtree(cache, ignore_errors=True)
    print("src/dlcourse changed since the last book build: every chapter runs again", file=sys.stderr)
    return "--all"


def record(build: Path, package: Path) -> None:
    build.mkdir(parents=True, exist_ok=True)
    (build / "dlcourse.sha256").write_text(package_digest(package) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("check", "record"):
        print("usage: python tools/book_cache.py check|record", file=sys.stderr)
        return 2
    build, package = ROOT / "_build", ROOT / "src" / "dlcourse"
    if argv[0] == "check":
        print(check(build, package))
    else:
        record(build, package)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
