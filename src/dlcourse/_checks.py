"""Validation helpers shared by the public functions.

Every message follows one template: it names the parameter, what was expected and what
was received, e.g. ``"The 'stride' parameter of conv2d must be a positive integer. Got 0
instead."``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def error(func: str, name: str, expected: str, got: str, exc: type[Exception] = ValueError):
    """Raise the house error: ``got`` is a description of what came (e.g. "an array of shape (2,)")."""
    raise exc(f"The '{name}' parameter of {func} must be {expected}. Got {got} instead.")


def _fail(func: str, name: str, expected: str, got: Any, exc: type[Exception] = ValueError):
    error(func, name, expected, repr(got), exc)


def as_float_array(value: Any, name: str, func: str, ndim: int | tuple[int, ...] | None = None,
                   shape_doc: str | None = None) -> np.ndarray:
    """Return ``value`` as a float64 ndarray, checking its number of dimensions.

    Parameters
    ----------
    value : array_like
        What the caller received.
    name, func : str
        Parameter and function names, used in the error message.
    ndim : int or tuple of int, optional
        Accepted numbers of dimensions.
    shape_doc : str, optional
        Human description of the expected shape, e.g. ``"(N, C, H, W)"``.
    """
    if isinstance(value, (str, bytes)) or value is None:
        _fail(func, name, f"an array{' of shape ' + shape_doc if shape_doc else ''}",
              value, TypeError)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        # RuntimeError: a torch tensor that requires grad refuses numpy(); say which parameter it was.
        raise TypeError(
            f"The '{name}' parameter of {func} must be a numeric array. "
            f"Got {type(value).__name__} instead ({err})."
        ) from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = shape_doc or " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(
                f"The '{name}' parameter of {func} must be an array of shape {want}. "
                f"Got an array of shape {arr.shape} instead."
            )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"The '{name}' parameter of {func} must contain only finite numbers. "
                         f"Got NaN or infinity.")
    return arr


def non_empty_rows(X: np.ndarray, name: str, func: str) -> np.ndarray:
    """Return the 2-D array ``X`` if it has at least one row and one column."""
    if X.shape[0] == 0 or X.shape[1] == 0:
        error(func, name, "an array with at least one row and one column", f"shape {X.shape}")
    return X


def positive_int(value: Any, name: str, func: str, allow_zero: bool = False) -> int:
    """Return ``value`` as an int, refusing bools, floats and values < 1 (or < 0)."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    low = 0 if allow_zero else 1
    if not ok or value < low:
        kind = "a non-negative integer" if allow_zero else "a positive integer"
        _fail(func, name, kind, value)
    return int(value)


def positive_float(value: Any, name: str, func: str, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, refusing non-numbers, NaN and values <= 0 (or < 0)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        _fail(func, name, "a number >= 0" if allow_zero else "a number > 0", value,
              ValueError if ok else TypeError)
    return float(value)


def boolean(value: Any, name: str, func: str) -> bool:
    """Return ``value`` if it is a bool (a string such as ``"False"`` would be truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        _fail(func, name, "True or False", value, TypeError)
    return bool(value)


def seed_or_none(value: Any, name: str, func: str) -> int | None:
    """Return ``value`` if it is None or a non-negative integer (a random seed)."""
    if value is None:
        return None
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < 0:
        _fail(func, name, "a non-negative integer or None", value, TypeError if not ok else ValueError)
    return int(value)


def one_of(value: Any, name: str, func: str, choices) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        _fail(func, name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value
