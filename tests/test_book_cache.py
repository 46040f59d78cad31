"""tools/book_cache.py: `make book` re-executes every chapter after a change of the package,
which myst-nb's execution cache (keyed on the notebooks' code) cannot see."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import book_cache  # noqa: E402


def _layout(tmp_path: Path) -> tuple[Path, Path]:
    package, build = tmp_path / "src" / "dlcourse", tmp_path / "_build"
    (package / "_data").mkdir(parents=True)
    (package / "conv.py").write_text("def conv2d(x, W, b):\n    ...\n")
    (package / "_data" / "mnist.npz").write_bytes(b"\x00\x01")
    (build / ".jupyter_cache" / "executed").mkdir(parents=True)
    return build, package


def test_an_unchanged_package_keeps_the_cache(tmp_path):
    build, package = _layout(tmp_path)
    book_cache.record(build, package)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "conv.cpython-311.pyc").write_bytes(b"compiled")  # not the package's source
    assert book_cache.check(build, package) == ""
    assert (build / ".jupyter_cache" / "executed").is_dir()


def test_a_changed_renamed_or_new_file_empties_the_cache(tmp_path):
    for change in (lambda p: (p / "conv.py").write_text("def conv2d(x, W, b):\n    return x\n"),
                   lambda p: (p / "_data" / "mnist.npz").write_bytes(b"\x00\x02"),
                   lambda p: (p / "conv.py").rename(p / "convolution.py"),
                   lambda p: (p / "pooling.py").write_text("")):
        build, package = _layout(tmp_path / str(id(change)))
        book_cache.record(build, package)
        change(package)
        assert book_cache.check(build, package) == "--all"
        assert not (build / ".jupyter_cache").exists()
        book_cache.record(build, package)
        assert book_cache.check(build, package) == ""


def test_a_cache_of_unknown_origin_is_not_trusted(tmp_path):
    """A cache left by a build before this tool (no record): start afresh once."""
    build, package = _layout(tmp_path)
    assert book_cache.check(build, package) == "--all"
    assert book_cache.check(build, package) == "", "nothing to distrust once the cache is gone"


def test_make_book_runs_the_check_and_the_record():
    makefile = (ROOT / "Makefile").read_text()
    book = makefile.split("\nbook:", 1)[1].split("\n\n", 1)[0]
    assert "jupyter-book build . --warningiserror --keep-going $$($(BIN)/python tools/book_cache.py check)" in book
    assert book.rstrip().endswith("$(BIN)/python tools/book_cache.py record")
