"""Every docstring example of the package runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import dlcourse

MODULES = sorted(m.name for m in pkgutil.iter_modules(dlcourse.__path__, "dlcourse."))
# Modules whose public objects need files, a kernel or a model to show anything useful.
WITHOUT_EXAMPLES = {"dlcourse._checks", "dlcourse.grade", "dlcourse.models"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{result.failed} failing docstring example(s) in {name}"
    if name not in WITHOUT_EXAMPLES:
        assert result.attempted > 0, f"{name} has no docstring example: add one or list it in WITHOUT_EXAMPLES"

