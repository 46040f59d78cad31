"""What the hidden tests of the assignments call: compare a student's function with the
reference on many seeded cases, and refuse shortcuts.

Every message a student reads is French; nothing is ever written to stderr (nbgrader
gives 0 to a test cell that writes to stderr).

Three tools:

* :func:`check_function` runs a student function and the reference on a list of
  :class:`Case` (hand-written edge cases plus :func:`random_cases` from a seeded
  generator) and raises ``AssertionError`` naming the first failing case, the inputs,
  expected vs obtained values and where the largest difference is. Results are
  converted to plain float64 arrays by :func:`as_plain_array` before any comparison,
  after their type and shape are checked, so an object whose ``__eq__`` always answers
  ``True`` cannot pass.
* :func:`forbidden` is the shortcut guard: while it is active, calling the reference
  package or a listed library function (``torch.nn.functional.conv2d``, ``torch.optim``
  …) is recorded, whatever alias was used to reach it, and so is the tensor or array
  method of the same name (``t.softmax(-1)`` for ``torch.softmax``); on exit the guard
  fails with "l'exercice consiste à l'écrire vous-même", naming the function as the
  assignment listed it. It relies on :func:`sys.setprofile`: ``'call'`` events give the
  code object of every Python function called, ``'c_call'`` events the object of every
  builtin called (for a method, a bound builtin whose ``__self__`` is the tensor).
* :func:`call_student` runs one student call under the guard, with a time limit,
  warnings and stderr silenced, and turns any exception into a French message: a
  ``NotImplementedError`` names the function still to write, and the usual Python and
  NumPy errors keep their English text followed by a French reading (:func:`gloss`, which
  the feedback of visible tests uses too).

Example
-------
>>> import numpy as np
>>> def ref(x):
...     return 2 * x
>>> def student(x):
...     return x + x
>>> cases = [case(np.zeros(3), label="zéros")] + random_cases(
...     lambda rng: (rng.standard_normal(4),), n=5, seed=0)
>>> check_function(student, ref, cases, name="double")
>>> check_function(lambda x: 3 * x, ref, cases, name="double")
Traceback (most recent call last):
...
AssertionError: La fonction « double » ne donne pas le résultat attendu (cas 2 sur 6 : ...
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.util
import inspect
import io
import os
import signal
import sys
import threading
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

__all__ = [
    "Case", "case", "random_cases", "random_conv_case", "as_plain_array", "compare",
    "check_function", "check_raises", "check_value", "call_student", "forbidden",
    "ShortcutError", "REFERENCE_MODULES", "gloss",
]

#: Modules of the package that hold reference solutions: forbidden by default while a
#: student function runs (the data loaders, the book helpers and this module are not).
REFERENCE_MODULES = (
    "dlcourse.perceptron", "dlcourse.mlp", "dlcourse.activations", "dlcourse.losses",
    "dlcourse.gradcheck", "dlcourse.conv", "dlcourse.pooling", "dlcourse.optim",
    "dlcourse.layers", "dlcourse.attention", "dlcourse.models", "dlcourse.train",
    "dlcourse.capacity",
)

_SMALL = 24  # arrays with at most this many entries are printed in full


class ShortcutError(AssertionError):
    """A student function called a forbidden function (the reference or a library op)."""


class _Timeout(BaseException):
    """Raised by the alarm inside a student call; a BaseException so that a student's
    ``except Exception`` cannot swallow it."""


# ----------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One call: positional and keyword arguments, and a label shown in messages."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: str = ""


def case(*args: Any, label: str = "", **kwargs: Any) -> Case:
    """Build a :class:`Case`: ``case(w, X, label="poids nuls")``."""
    return Case(tuple(args), dict(kwargs), label)


def random_cases(make: Callable[[np.random.Generator], Any], n: int, seed: int = 0,
                 label: str = "aléatoire") -> list[Case]:
    """``n`` reproducible cases drawn by ``make(rng)``.

    Parameters
    ----------
    make : callable
        ``make(rng)`` returns a :class:`Case`, a tuple of positional arguments or a dict of
        keyword arguments. ``rng`` is a :class:`numpy.random.Generator`.
    n : int
        Number of cases.
    seed : int, default 0
        The same seed gives the same cases on every machine.
    label : str
        Prefix of the labels ("aléatoire n°1", …).
    """
    rng = np.random.default_rng(seed)
    out = []
    for i in range(1, n + 1):
        made = make(rng)
        if isinstance(made, Case):
            made.label = made.label or f"{label} n°{i}"
        elif isinstance(made, dict):
            made = Case((), made, f"{label} n°{i}")
        else:
            made = Case(tuple(made), {}, f"{label} n°{i}")
        out.append(made)
    return out


def random_conv_case(rng: np.random.Generator, max_n: int = 3, max_c: int = 3, max_f: int = 4,
                     max_hw: int = 9, max_k: int = 4, max_stride: int = 3,
                     max_padding: int = 2) -> dict:
    """A valid convolution/pooling configuration for the hidden tests of tp05/tp06.

    Returns a dict with ``x`` of shape (N, C, H, W), ``w`` (F, C, kh, kw), ``b`` (F,),
    ``stride`` and ``padding`` such that the output size is at least 1.
    """
    n, c, f = (int(rng.integers(1, m + 1)) for m in (max_n, max_c, max_f))
    kh, kw = (int(rng.integers(1, max_k + 1)) for _ in range(2))
    padding = int(rng.integers(0, max_padding + 1))
    stride = int(rng.integers(1, max_stride + 1))
    h = int(rng.integers(max(1, kh - 2 * padding), max(max_hw, kh) + 1))
    w = int(rng.integers(max(1, kw - 2 * padding), max(max_hw, kw) + 1))
    return {"x": rng.standard_normal((n, c, h, w)), "w": rng.standard_normal((f, c, kh, kw)),
            "b": rng.standard_normal(f), "stride": stride, "padding": padding}


# ------------------------------------------------------------------ values to arrays
class _Mismatch(Exception):
    """Internal: a French description of why a result is not the expected one."""


def _is_scalar(value: Any) -> bool:
    return type(value) in (int, float, bool) or isinstance(value, np.generic)


def as_plain_array(value: Any, what: str = "le résultat") -> np.ndarray:
    """Convert a result to a plain float64 ndarray, refusing what is not numbers.

    Accepted: ndarrays (subclasses are reduced to their data, so an overridden ``__eq__``
    is never used), Python and NumPy numbers, (nested) lists and tuples of them, and
    PyTorch tensors. Refused with a French ``AssertionError``: ``None``, objects of any
    other type, strings, complex numbers, ragged lists.

    Examples
    --------
    >>> as_plain_array([1, 2])
    array([1., 2.])
    >>> class Liar:
    ...     def __eq__(self, other):
    ...         return True
    >>> as_plain_array(Liar())
    Traceback (most recent call last):
    ...
    AssertionError: le résultat est un objet de type Liar : un tableau NumPy ou un nombre ...
    """
    try:
        arr = _plain(value, what)
    except _Mismatch as err:
        raise AssertionError(str(err)) from None
    return arr


def _plain(value: Any, what: str) -> np.ndarray:
    if value is None:
        raise _Mismatch(f"{what} vaut None : avez-vous oublié le « return » ?")
    if isinstance(value, np.ndarray):
        arr = value.view(np.ndarray)
    elif _is_scalar(value):
        arr = np.asarray(value)
    elif type(value) in (list, tuple):
        items = [_plain(v, what) for v in value]
        if len({a.shape for a in items}) > 1:
            raise _Mismatch(f"{what} est une liste de tableaux de formes différentes "
                            f"({', '.join(str(a.shape) for a in items[:4])}…).")
        arr = np.array(items, dtype=np.float64) if items else np.zeros(0)
    elif "torch" in sys.modules and isinstance(value, sys.modules["torch"].Tensor):
        arr = value.detach().cpu().to(sys.modules["torch"].float64).numpy()
    else:
        raise _Mismatch(f"{what} est un objet de type {type(value).__name__} : "
                        f"un tableau NumPy ou un nombre est attendu.")
    if arr.dtype.kind not in "biuf":
        raise _Mismatch(f"{what} est un tableau de type {arr.dtype} : des nombres réels "
                        f"sont attendus.")
    return np.array(arr, dtype=np.float64, copy=True)


def _fmt(a: np.ndarray) -> str:
    if a.ndim == 0:
        return f"{float(a):.6g}"
    if a.size <= _SMALL:
        return np.array2string(a, precision=6, separator=", ", max_line_width=100,
                               suppress_small=False).replace("\n", "\n    ")
    finite = a[np.isfinite(a)]
    span = (f", valeurs de {finite.min():.4g} à {finite.max():.4g}" if finite.size else "")
    return f"tableau de forme {a.shape}{span}"


def _fmt_input(value: Any) -> str:
    if isinstance(value, np.ndarray) or (type(value) in (list, tuple) and value
                                         and all(_is_scalar(v) for v in value)):
        try:
            return _fmt(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            pass
    if type(value) in (list, tuple) and len(value) <= 6:
        inner = ", ".join(_fmt_input(v) for v in value)
        return f"[{inner}]" if type(value) is list else f"({inner})"
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def compare(got: Any, expected: Any, *, atol: float = 1e-8, rtol: float = 1e-6,
            what: str = "le résultat", names: Sequence[str] | None = None) -> None:
    """Raise ``AssertionError`` (French) unless ``got`` matches ``expected``.

    ``expected`` (the reference's output) fixes the structure: an array or a number is
    compared with :func:`numpy.isclose` after :func:`as_plain_array` and a shape check;
    a tuple or list of arrays is compared entry by entry (``names`` label its entries,
    e.g. ``("dW", "db")``).
    """
    try:
        _compare(got, expected, what, atol, rtol, names)
    except _Mismatch as err:
        raise AssertionError(str(err)) from None


def _compare(got: Any, expected: Any, what: str, atol: float, rtol: float,
             names: Sequence[str] | None, path: tuple[str, ...] = ()) -> None:
    if path:  # e.g. "le résultat (élément n°2 → db)"
        what = f"{what.split(' (élément')[0]} (élément {' → '.join(path)})"
    if isinstance(expected, (list, tuple)) and not all(_is_scalar(v) for v in expected):
        if got is None or type(got) not in (list, tuple) and not isinstance(got, tuple):
            kind = "None" if got is None else f"un objet de type {type(got).__name__}"
            raise _Mismatch(f"{what} est {kind} ; une séquence de {len(expected)} valeurs "
                            f"est attendue.")
        if len(got) != len(expected):
            raise _Mismatch(f"{what} contient {len(got)} valeur(s) au lieu de "
                            f"{len(expected)}.")
        # Names label the tuples of their length (e.g. (dW, db)); lists are numbered.
        named = bool(names) and isinstance(expected, tuple) and len(names) == len(expected)
        for i, (g, e) in enumerate(zip(got, expected)):
            label = names[i] if named else f"n°{i + 1}"
            _compare(g, e, what, atol, rtol, names, path + (label,))
        return
    exp = np.asarray(expected, dtype=np.float64)
    arr = _plain(got, what)
    if arr.shape != exp.shape:
        raise _Mismatch(f"{what} a la forme {arr.shape} ; la forme attendue est {exp.shape}.")
    ok = np.isclose(arr, exp, atol=atol, rtol=rtol, equal_nan=True)
    if ok.all():
        return
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(ok, 0.0, np.abs(arr - exp))
    diff = np.where(np.isnan(diff), np.inf, diff)
    where = np.unravel_index(int(np.argmax(diff)), exp.shape) if exp.ndim else ()
    at = f" à l'indice {tuple(int(i) for i in where)}" if exp.ndim else ""
    raise _Mismatch(
        f"{what} ne correspond pas : {int((~ok).sum())} valeur(s) sur {exp.size} diffèrent.\n"
        f"  attendu : {_fmt(exp)}\n  obtenu  : {_fmt(arr)}\n"
        f"  plus grand écart{at} : attendu {exp[where]:.6g}, obtenu {arr[where]:.6g} "
        f"(tolérance {atol:g} + {rtol:g} × |attendu|).")


# ------------------------------------------------------------------- shortcut guard
def _resolve(target: Any) -> Any:
    """A dotted name ("torch.nn.functional.conv2d", "dlcourse.conv") to the object."""
    if not isinstance(target, str):
        return target
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _module_files(name: str) -> tuple[set[str], tuple[str, ...]]:
    """Files of a module (a package gives a directory prefix), found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return set(), ()
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return set(), ()
    files = {spec.origin, os.path.realpath(spec.origin)}
    if spec.submodule_search_locations:  # a package: everything below its folder
        dirs = tuple(os.path.join(p, "") for p in spec.submodule_search_locations)
        return files, dirs + tuple(os.path.join(os.path.realpath(p), "") for p in dirs)
    return files, ()


def _describe(obj: Any) -> str:
    mod = getattr(obj, "__module__", None) or getattr(getattr(obj, "__self__", None),
                                                     "__name__", "")
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", repr(obj))
    return f"{mod}.{name}" if mod else name


#: Array type of a library: forbidding one of its functions also forbids the method of the
#: same name of its arrays (``torch.softmax`` → ``tensor.softmax(-1)``).
_ARRAY_TYPES = {"torch": "torch.Tensor", "numpy": "numpy.ndarray"}

_MISSING = object()


def _names(labels: list[str]) -> str:
    """The forbidden thing as the assignment listed it, with its other listed names."""
    if len(labels) == 1:
        return labels[0]
    return f"{labels[0]} (alias : {', '.join(labels[1:])})"


def _note(table: dict, key: Any, label: str) -> None:
    labels = table.setdefault(key, [])
    if label not in labels:
        labels.append(label)


class _Guard:
    """The set of forbidden things, and the profile hook that spots them.

    Every forbidden thing is recorded with the name(s) the assignment listed, which is
    what the student reads, rather than PyTorch's internal names
    (``torch._VariableFunctionsClass.conv2d``).
    """

    def __init__(self, targets: Iterable[Any]):
        self.codes: dict[types.CodeType, list[str]] = {}
        # Code shared by the closures of a factory (torch's boolean_dispatch): code -> list
        # of (values of the free variables of one forbidden closure, its labels).
        self.closures: dict[types.CodeType, list[tuple[tuple, list[str]]]] = {}
        self.files: dict[str, str] = {}     # file of a forbidden module -> module name
        self.prefixes: tuple[str, ...] = ()  # folders of forbidden packages
        self.prefix_names: dict[str, str] = {}
        self.builtins: dict[int, list[str]] = {}
        # Bound builtins, created anew at each access (tensor.softmax): name -> list of
        # (owner: a class matched with isinstance, or the id of one object, labels).
        self.bound: dict[str, list[tuple[type | int, list[str]]]] = {}
        self.keep: list[Any] = []  # keep resolved objects alive: their ids are keys
        self.seen: str | None = None
        # Targets of libraries not imported yet (root -> names): resolving them would import
        # the library (2 s for torch) in every NumPy assignment. They are resolved as soon
        # as the library is imported, by the student's code if ever.
        self.deferred: dict[str, list[str]] = {}
        self._modules = sys.modules
        self._n_modules = len(sys.modules)
        for target in targets:
            self._add(target)

    def _add(self, target: Any) -> None:
        if isinstance(target, str):
            root = target.split(".")[0]
            if root not in sys.modules:  # resolved later, or never: not installed
                if importlib.util.find_spec(root) is not None:
                    self.deferred.setdefault(root, []).append(target)
                return
            if _is_module_name(target) and self._add_module(target):
                return
        obj = _resolve(target)
        if obj is None:
            return
        label = target if isinstance(target, str) else _describe(obj)
        self.keep.append(obj)
        if isinstance(obj, types.ModuleType):
            self._add_module(obj.__name__)
            return
        if isinstance(obj, type):
            for klass in obj.__mro__[:-1]:
                for attr in vars(klass).values():
                    func = getattr(attr, "__func__", attr)
                    if isinstance(func, types.FunctionType):
                        _note(self.codes, func.__code__, label)
            return
        self._add_callable(obj, label)
        # The method twins: tensor.softmax(-1) for torch.softmax, x.cumsum() for np.cumsum.
        library = target.split(".")[0] if isinstance(target, str) else \
            (getattr(obj, "__module__", None) or "").split(".")[0]
        array_name = _ARRAY_TYPES.get(library)
        if array_name is None or isinstance(obj, types.MethodDescriptorType):
            return
        array_type = getattr(sys.modules.get(library), array_name.split(".")[1], None)
        if not isinstance(array_type, type):
            return
        method_names = {getattr(obj, "__name__", None)}
        if isinstance(target, str):
            method_names.add(target.rsplit(".", 1)[-1])
        for method_name in method_names - {None}:
            method = getattr(array_type, method_name, None)
            if method is not None and method is not obj:
                self._add_callable(method, f"{array_name}.{method_name}")

    def _add_callable(self, obj: Any, label: str) -> None:
        if isinstance(obj, types.MethodDescriptorType):  # a C method: torch.Tensor.softmax
            self._add_bound(obj.__name__, obj.__objclass__, label)
        elif isinstance(obj, (types.FunctionType, types.MethodType)):
            self._add_function(inspect_unwrap(getattr(obj, "__func__", obj)), label)
        elif isinstance(getattr(obj, "_implementation", None), types.FunctionType):
            # NumPy's public functions are C dispatchers around a Python implementation.
            self._add_function(obj._implementation, label)
        elif callable(obj):  # builtins (torch.conv2d); ufuncs are not seen by the profiler
            _note(self.builtins, id(obj), label)
            owner = getattr(obj, "__self__", None)
            if owner is not None and not isinstance(owner, types.ModuleType) and \
                    hasattr(obj, "__name__"):  # a bound method of an object
                self._add_bound(obj.__name__, id(owner), label)

    def _add_bound(self, name: str, owner: type | int, label: str) -> None:
        entries = self.bound.setdefault(name, [])
        for known, labels in entries:
            if known is owner:
                if label not in labels:
                    labels.append(label)
                return
        entries.append((owner, [label]))

    def _add_function(self, func: types.FunctionType, label: str) -> None:
        code = func.__code__
        if code.co_freevars and func.__closure__:
            # A closure made by a factory shares its code with its siblings (every
            # torch.nn.functional.*_pool*d built by boolean_dispatch runs the same `fn`):
            # the values of its free variables tell which one is running.
            try:
                values = tuple(cell.cell_contents for cell in func.__closure__)
            except ValueError:  # an empty cell: the code alone identifies it
                values = None
            if values is not None:
                for known, labels in self.closures.setdefault(code, []):
                    if len(known) == len(values) and all(a is b for a, b in zip(known, values)):
                        if label not in labels:
                            labels.append(label)
                        return
                self.keep.append(values)
                self.closures[code].append((values, [label]))
                return
        _note(self.codes, code, label)

    def _add_module(self, name: str) -> bool:
        files, prefixes = _module_files(name)
        self.files.update(dict.fromkeys(files, name))
        self.prefixes += prefixes
        self.prefix_names.update(dict.fromkeys(prefixes, name))
        return bool(files)

    def _module_of(self, filename: str) -> str:
        if filename in self.files:
            return self.files[filename]
        return next(n for p, n in self.prefix_names.items() if filename.startswith(p))

    def _closure_labels(self, frame: types.FrameType) -> list[str] | None:
        code = frame.f_code
        try:
            # Before its first instruction, f_locals copies the free variables from the
            # function's closure (CPython 3.11+).
            local = frame.f_locals
            values = tuple(local.get(name, _MISSING) for name in code.co_freevars)
        except Exception:  # cannot tell the siblings apart: forbidden, to be safe
            return self.closures[code][0][1]
        for known, labels in self.closures[code]:
            if len(known) == len(values) and all(a is b for a, b in zip(known, values)):
                return labels
        return None

    def _wake(self) -> None:
        """Resolve the deferred targets of the libraries imported (completely) since."""
        self._n_modules = len(self._modules)
        for root in list(self.deferred):
            module = self._modules.get(root)
            if module is None:
                continue
            if getattr(getattr(module, "__spec__", None), "_initializing", False):
                self._n_modules = -1  # still importing: look again at the next event
                continue
            for target in self.deferred.pop(root):
                self._add(target)

    def hook(self, frame: types.FrameType, event: str, arg: Any) -> None:
        # Called for every event of the student's code: the common paths are kept short.
        if event == "c_call":
            labels = self.builtins.get(id(arg))
            if labels is None:
                if self.deferred and len(self._modules) != self._n_modules:
                    self._wake()  # a library was imported: its targets may now be known
                    labels = self.builtins.get(id(arg))
                if labels is None:
                    entries = self.bound.get(getattr(arg, "__name__", None)) if self.bound \
                        else None
                    if entries is None:
                        return
                    labels = self._owner_labels(arg, entries)
                    if labels is None:
                        return
            self.seen = _names(labels)
        elif event == "call":
            code = frame.f_code
            labels = self.codes.get(code)
            if labels is None:
                if self.deferred and len(self._modules) != self._n_modules:
                    self._wake()
                    labels = self.codes.get(code)
                if labels is None and self.closures and code in self.closures:
                    labels = self._closure_labels(frame)
            if labels is not None:
                self.seen = _names(labels)
            elif code.co_name != "<module>" and (  # importing is no shortcut
                    code.co_filename in self.files or
                    (self.prefixes and code.co_filename.startswith(self.prefixes))):
                module = frame.f_globals.get("__name__", "?")
                target = self._module_of(code.co_filename)
                self.seen = f"{module}.{code.co_qualname}" if module == target else \
                    f"{target} ({module}.{code.co_qualname})"
            else:
                return
        else:
            return
        sys.setprofile(None)  # one forbidden call is enough: let the rest run at full speed

    @staticmethod
    def _owner_labels(arg: Any, entries: list[tuple[type | int, list[str]]]) -> list[str] | None:
        owner = getattr(arg, "__self__", None)
        for known, labels in entries:
            if (id(owner) == known) if type(known) is int else isinstance(owner, known):
                return labels
        return None


def _is_module_name(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def inspect_unwrap(func: Any) -> Any:
    """Follow ``__wrapped__`` chains (functools.wraps) down to the innermost function."""
    seen = set()
    while isinstance(getattr(func, "__wrapped__", None), types.FunctionType) and \
            id(func) not in seen:
        seen.add(id(func))
        func = func.__wrapped__
    return func


_MESSAGE = ("{who} appelle {what}, ce qui est interdit ici : l'exercice consiste à l'écrire "
            "vous-même (sans la solution de référence dlcourse ni la fonction toute faite "
            "de la bibliothèque).")


@contextlib.contextmanager
def forbidden(*targets: Any, who: str = "Votre code") -> Iterator[_Guard]:
    """Context manager: fail if a forbidden function is called inside the block.

    Parameters
    ----------
    *targets : str, function, class, module or builtin
        What is forbidden. Dotted names ("torch.nn.functional.conv2d", "torch.optim",
        "dlcourse.conv") are resolved when the guard starts, or, for a library not imported
        yet, as soon as the guarded code imports it (the guard never imports a library
        itself). A module or package forbids every function defined in its files, a class
        every method, a function its code object (whatever name it is reached by:
        ``from dlcourse.conv import conv2d as c`` is caught), a builtin its object
        (``torch.conv2d`` and ``F.conv2d`` are one builtin), a C method its calls on any
        instance ("torch.Tensor.softmax"). A function of PyTorch or NumPy also forbids the
        method of the same name of tensors or arrays (``torch.softmax`` → ``t.softmax()``,
        ``numpy.cumsum`` → ``x.cumsum()``). Names of libraries that are not installed are
        ignored. Messages name the target as given here (with its listed aliases).
    who : str
        Subject of the French message, e.g. "La fonction « conv2d »".

    Raises
    ------
    ShortcutError
        On exit, if a forbidden function was called, after the previous profiler was put
        back; also if the block replaced the profiler (the guard was switched off).

    Notes
    -----
    The calls are recorded, not interrupted: the block runs to its end, then the guard
    fails. Threads started inside the block are not watched.

    Examples
    --------
    >>> import numpy as np
    >>> with forbidden("numpy.linalg.solve"):
    ...     _ = np.linalg.inv(np.eye(2))
    >>> from numpy.linalg import solve as s
    >>> with forbidden("numpy.linalg.solve"):
    ...     _ = s(np.eye(2), np.ones(2))
    Traceback (most recent call last):
    ...
    dlcourse.grading.ShortcutError: Votre code appelle numpy.linalg.solve, ...
    """
    guard = _Guard(targets)
    previous = sys.getprofile()
    hook = guard.hook  # one bound-method object, to recognise it on exit
    sys.setprofile(hook)
    try:
        yield guard
    finally:
        current = sys.getprofile()
        sys.setprofile(previous)
    if guard.seen is not None:
        raise ShortcutError(_MESSAGE.format(who=who, what=guard.seen))
    if current is not hook:  # the block switched the guard off
        raise ShortcutError(f"{who} a désactivé la surveillance des appels (sys.setprofile) : "
                            f"ce n'est pas autorisé pendant la correction.")


# ------------------------------------------------------------------- student calls
@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[list[bool]]:
    """Interrupt the block after ``seconds`` (main thread on Unix only; else no limit)."""
    fired = [False]
    usable = (seconds is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield fired
        return

    def _alarm(signum, frame):
        fired[0] = True
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _forbid_list(forbid: Iterable[Any], forbid_reference: bool) -> list[Any]:
    return [*(REFERENCE_MODULES if forbid_reference else ()), *forbid]


# Python's and NumPy's messages are English: a French gloss of the usual ones, matched on
# the message (most specific first), then on the exception's class.
_GLOSSES_BY_MESSAGE = (
    ("could not be broadcast", "deux tableaux de formes incompatibles dans une opération "
                               "élément par élément ; affichez leurs .shape"),
    ("mismatch in its core dimension", "produit matriciel (@) entre des formes incompatibles : "
                                       "le nombre de colonnes de gauche doit égaler le nombre "
                                       "de lignes de droite"),
    ("shapes", "formes incompatibles ; affichez les .shape des tableaux en jeu"),
    ("cannot reshape", "reshape vers une forme qui n'a pas le même nombre d'éléments"),
    ("is not defined", "un nom qui n'existe pas : faute de frappe, ou variable d'une "
                       "cellule non exécutée ?"),
    ("'NoneType'", "une valeur None, souvent le résultat d'une fonction sans return"),
    ("unsupported operand", "une opération entre des types incompatibles"),
    ("not subscriptable", "des crochets sur un objet qui n'est pas un tableau"),
    ("not iterable", "une boucle ou un dépaquetage sur un objet qui n'est pas une séquence"),
    ("out of bounds for array of dimension", "un axe (axis=…) que ce tableau n'a pas"),
    ("out of bounds", "un indice hors des limites du tableau"),
)
_GLOSSES_BY_NAME = {
    "RecursionError": "une récursion sans fin",
    "ZeroDivisionError": "une division par zéro",
    "IndexError": "un indice hors des limites",
    "KeyError": "une clé absente du dictionnaire",
    "AttributeError": "un attribut ou une méthode qui n'existe pas sur cet objet",
    "MemoryError": "un tableau bien trop grand pour la mémoire",
}
# The end of every "not written yet" message (here and in the feedback of visible tests).
_WRITE_IT = "remplacez « raise NotImplementedError() » par votre code."


def gloss(ename: str, message: str) -> str:
    """`` — en clair : …``, a French reading of a usual Python/NumPy error, else ``""``.

    ``ename`` is the exception's class name (as in a notebook's error output), ``message``
    its text: ``gloss("ZeroDivisionError", "division by zero")``.
    """
    text = next((text for fragment, text in _GLOSSES_BY_MESSAGE if fragment in message),
                _GLOSSES_BY_NAME.get(ename))
    if not text:
        return ""
    return f" — en clair : {text}" + ("" if text.endswith(("?", "!", ".")) else ".")


def _not_written(err: NotImplementedError, fn: Callable, name: str, where: str) -> str:
    """The blank release's ``raise NotImplementedError()`` (no message), in ``fn`` itself or in
    a function it calls (e.g. train_xor calling a backward not written yet): say which one to
    write."""
    fn = getattr(fn, "_student_target", fn)  # check_raises's wrapper stands for the student's fn
    who = f"La classe « {name} »" if isinstance(fn, type) else f"La fonction « {name} »"
    tb = err.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    raiser = tb.tb_frame.f_code
    if isinstance(fn, type):  # a class: its own methods, e.g. __init__ or forward
        own = {getattr(inspect_unwrap(m), "__code__", None) for m in vars(fn).values()}
    else:
        own = {getattr(inspect_unwrap(getattr(fn, "__func__", fn)), "__code__", None)}
    if raiser in own:
        method = f" (méthode « {raiser.co_name} »)" if isinstance(fn, type) else ""
        return f"{who} n'est pas encore écrite{method}{where} : {_WRITE_IT}"
    return (f"{who} appelle « {raiser.co_name} », qui n'est pas encore écrite{where} "
            "(elle lève NotImplementedError) : écrivez-la d'abord.")


def call_student(fn: Callable, args: tuple = (), kwargs: dict | None = None, *,
                 name: str | None = None, forbid: Iterable[Any] = (),
                 forbid_reference: bool = True, max_seconds: float | None = 10.0,
                 where: str = "") -> Any:
    """Call ``fn(*args, **kwargs)`` as a student function and return its result.

    The call runs under :func:`forbidden` (the reference modules unless
    ``forbid_reference=False``, plus ``forbid``), with warnings, NumPy floating-point
    warnings and stderr silenced, and at most ``max_seconds`` of wall time. Every failure
    becomes an ``AssertionError`` with a French message: an exception raised by ``fn``
    (its type and text), a timeout, a forbidden call.

    Parameters
    ----------
    fn : callable
        The student's function.
    args, kwargs
        Its arguments (passed as is: copy them first if they must survive).
    name : str, optional
        Shown in messages; ``fn.__name__`` by default.
    forbid : iterable
        More forbidden targets (see :func:`forbidden`).
    forbid_reference : bool, default True
        Forbid :data:`REFERENCE_MODULES`.
    max_seconds : float or None, default 10
        Time limit of the call.
    where : str
        Appended to messages, e.g. " (cas 3 sur 20 : …)".
    """
    name = name or getattr(fn, "__name__", "votre fonction")
    who = f"La classe « {name} »" if isinstance(fn, type) else f"La fonction « {name} »"
    if not callable(fn):
        raise AssertionError(f"« {name} » n'est pas une fonction (objet de type "
                             f"{type(fn).__name__}).")
    kwargs = kwargs or {}
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
            stack.enter_context(np.errstate(all="ignore"))
            stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
            fired = stack.enter_context(_time_limit(max_seconds))
            stack.enter_context(forbidden(*_forbid_list(forbid, forbid_reference), who=who))
            try:
                result = fn(*args, **kwargs)
            except _Timeout:
                raise
            except (Exception, SystemExit) as err:
                # The release's bare stub; PyTorch's unsupported ops raise it with a message.
                if type(err) is NotImplementedError and not str(err):
                    raise AssertionError(_not_written(err, fn, name, where)) from None
                text = str(err).strip() or "(sans message)"
                ename = type(err).__name__
                raise AssertionError(f"{who} a levé une exception{where} : "
                                     f"{ename}: {text}{gloss(ename, text)}") from None
            if fired[0]:
                raise _Timeout()
    except _Timeout:
        raise AssertionError(f"{who} n'a pas terminé en {max_seconds:g} s{where} : "
                             f"boucle infinie, ou calcul beaucoup trop lent ?") from None
    except ShortcutError as err:
        raise ShortcutError(f"{err}{where}") from None
    return result


def check_function(student_fn: Callable, reference_fn: Callable, cases: Iterable[Case | tuple],
                   *, atol: float = 1e-8, rtol: float = 1e-6, name: str | None = None,
                   output: Callable[[Any], Any] | None = None,
                   output_names: Sequence[str] | None = None, forbid: Iterable[Any] = (),
                   forbid_reference: bool = True, max_seconds: float | None = 10.0) -> None:
    """Compare a student function with the reference on every case; raise on the first failure.

    For each case, the reference and the student get their own deep copy of the inputs
    (a function that modifies its arguments cannot corrupt the other). The student runs
    through :func:`call_student`. The results go through ``output`` (if given) and are
    compared by :func:`compare`. An array argument (NumPy or torch) that the reference leaves
    unchanged must come back unchanged from the student too: ``w += ...`` on an input fails.

    Parameters
    ----------
    student_fn, reference_fn : callable
    cases : iterable of Case (or of tuples of positional arguments)
        Hand-written edge cases first, then :func:`random_cases`.
    atol, rtol : float
        Tolerances of :func:`numpy.isclose` (float64 computations agree to ~1e-12).
    name : str, optional
        The function's name in messages (default ``student_fn.__name__``).
    output : callable, optional
        Applied to both results before comparing, e.g. ``lambda r: r[0]`` to grade only
        the weights of a ``(w, history)`` pair.
    output_names : sequence of str, optional
        Names of the entries of a tuple result, e.g. ``("dW", "db")``.
    forbid, forbid_reference, max_seconds
        As in :func:`call_student`.

    Returns
    -------
    None
        Nothing, on purpose: a value displayed by the last line of a test cell would be
        read by nbgrader as a partial score.

    Raises
    ------
    AssertionError
        French message: which case (label, position), its inputs, expected vs obtained,
        where the largest difference is; or the exception/timeout/forbidden call.
    """
    name = name or getattr(student_fn, "__name__", "votre fonction")
    cases = [c if isinstance(c, Case) else Case(tuple(c)) for c in cases]
    if not cases:
        raise ValueError("The 'cases' parameter of check_function must not be empty. "
                         "Got 0 cases instead.")
    for i, c in enumerate(cases, 1):
        where = f" (cas {i} sur {len(cases)}{' : ' + c.label if c.label else ''})"
        ref_args, ref_kwargs = copy.deepcopy(c.args), copy.deepcopy(c.kwargs)
        expected = reference_fn(*ref_args, **ref_kwargs)
        kept = _kept_inputs(c, ref_args, ref_kwargs)
        args, kwargs = copy.deepcopy(c.args), copy.deepcopy(c.kwargs)
        try:
            got = call_student(student_fn, args, kwargs,
                               name=name, forbid=forbid, forbid_reference=forbid_reference,
                               max_seconds=max_seconds, where=where)
        except ShortcutError:
            raise
        except AssertionError as err:  # an exception or a timeout: show the case that caused it
            raise AssertionError(f"{err}\n  entrées : {_fmt_case(c)}") from None
        if output is not None:
            expected = output(expected)
            try:
                got = output(got)
            except Exception as err:  # the student returned something of the wrong form
                raise AssertionError(
                    f"La fonction « {name} » ne renvoie pas un résultat de la forme attendue"
                    f"{where} : {type(err).__name__}: {err}") from None
        try:
            _compare(got, expected, "le résultat", atol, rtol, output_names)
        except _Mismatch as err:
            raise AssertionError(
                f"La fonction « {name} » ne donne pas le résultat attendu{where}.\n"
                f"  entrées : {_fmt_case(c)}\n  {err}") from None
        for key, before in kept.items():
            after = args[key] if isinstance(key, int) else kwargs[key]
            if not _same_array(before, after):
                label = _argument_label(student_fn, key)  # the name the student reads
                raise AssertionError(
                    f"La fonction « {name} » modifie son argument {label} sur place{where} : "
                    f"elle doit le laisser intact. Travaillez sur une copie (x = x.copy()) ou "
                    f"créez un nouveau tableau (w = w + ... plutôt que w += ...).\n"
                    f"  entrées : {_fmt_case(c)}") from None


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or (
        type(value).__module__.startswith("torch") and hasattr(value, "detach"))


def _same_array(a: Any, b: Any) -> bool:
    if type(a) is not type(b) or tuple(a.shape) != tuple(b.shape):
        return False
    if not isinstance(a, np.ndarray):  # torch
        a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _kept_inputs(c: Case, ref_args: tuple, ref_kwargs: dict) -> dict:
    """The array arguments of a case that the reference did not modify. The case's own
    arguments serve as the record of the inputs: each side only ever gets deep copies."""
    kept = {}
    for key, value in [*enumerate(c.args), *c.kwargs.items()]:
        after = ref_args[key] if isinstance(key, int) else ref_kwargs[key]
        if _is_array(value) and _same_array(value, after):
            kept[key] = value
    return kept


def _argument_label(fn: Callable, key: int | str) -> str:
    if isinstance(key, str):
        return f"« {key} »"
    try:
        params = list(inspect.signature(fn).parameters)
        return f"« {params[key]} »" if key < len(params) else f"n°{key + 1}"
    except (TypeError, ValueError):
        return f"n°{key + 1}"


def check_raises(student_fn: Callable, cases: Iterable[Case | tuple],
                 exception: type[BaseException] | tuple = ValueError, *,
                 name: str | None = None, forbid: Iterable[Any] = (),
                 forbid_reference: bool = True, max_seconds: float | None = 10.0) -> None:
    """Check that a student function refuses bad inputs with ``exception``.

    Each case must make ``student_fn`` raise ``exception`` (or a subclass); returning
    normally, or raising another exception, fails with a French message naming the case.
    The calls run under the shortcut guard and the time limit of :func:`call_student`.

    Examples
    --------
    >>> def size(n):
    ...     if n <= 0:
    ...         raise ValueError("n must be > 0")
    ...     return n
    >>> check_raises(size, [case(0), case(-1)], name="size")
    >>> check_raises(lambda n: n, [case(0, label="zéro")], name="size")
    Traceback (most recent call last):
    ...
    AssertionError: La fonction « size » doit lever une ValueError (cas 1 sur 1 : zéro), mais ...
    """
    name = name or getattr(student_fn, "__name__", "votre fonction")
    wanted = exception if isinstance(exception, tuple) else (exception,)
    wanted_names = " ou ".join(e.__name__ for e in wanted)
    cases = [c if isinstance(c, Case) else Case(tuple(c)) for c in cases]
    for i, c in enumerate(cases, 1):
        where = f" (cas {i} sur {len(cases)}{' : ' + c.label if c.label else ''})"

        def _call(c=c):
            try:
                return ("returned", student_fn(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs)))
            except wanted:
                return ("raised", None)
        _call._student_target = student_fn
        try:
            outcome, value = call_student(_call, name=name, forbid=forbid,
                                          forbid_reference=forbid_reference,
                                          max_seconds=max_seconds, where=where)
        except ShortcutError:
            raise
        except AssertionError as err:
            if "a levé une exception" not in str(err):
                raise
            raise AssertionError(f"{err} ; une {wanted_names} est attendue.") from None
        if outcome == "returned":
            shown = _fmt_input(value)
            raise AssertionError(f"La fonction « {name} » doit lever une {wanted_names}{where}, "
                                 f"mais elle a renvoyé {shown}.")


def _fmt_case(c: Case) -> str:
    parts = [_fmt_input(a) for a in c.args]
    parts += [f"{k}={_fmt_input(v)}" for k, v in c.kwargs.items()]
    text = "; ".join(parts) if parts else "(aucune)"
    return text if len(text) <= 800 else text[:800] + " […]"


def check_value(got: Any, expected: Any, *, name: str, atol: float = 1e-8,
                rtol: float = 1e-6) -> None:
    """Compare a value the student computed (a variable of the notebook) with ``expected``.

    Examples
    --------
    >>> check_value(0.5, 0.5, name="w")
    >>> check_value([1.0, 2.0], [1.0, 3.0], name="w")
    Traceback (most recent call last):
    ...
    AssertionError: La variable « w » n'a pas la valeur attendue : le résultat ne correspond ...
    """
    try:
        _compare(got, expected, "le résultat", atol, rtol, None)
    except _Mismatch as err:
        raise AssertionError(f"La variable « {name} » n'a pas la valeur attendue : {err}") \
            from None

