"""Hypothesis strategies and comparison helpers shared by the whole test suite.

Add a strategy here (not in a test module) when more than one test can use it.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Values small enough that sums of products stay exact to ~1e-12 in float64.
FINITE = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False, width=64)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
small_dims = st.integers(min_value=1, max_value=6)


def arrays(shape, elements=FINITE):
    """float64 arrays of a given shape (tuple or strategy of tuples)."""
    return hnp.arrays(np.float64, shape, elements=elements)


def random_array(seed: int, shape, scale: float = 1.0) -> np.ndarray:
    """A reproducible standard-normal float64 array: cheaper than element-wise strategies."""
    return scale * np.random.default_rng(seed).standard_normal(shape)


@st.composite
def matrices(draw, min_rows=1, max_rows=8, min_cols=1, max_cols=8):
    """(rows, cols) float64 matrices."""
    rows = draw(st.integers(min_rows, max_rows))
    cols = draw(st.integers(min_cols, max_cols))
    return draw(arrays((rows, cols)))


@st.composite
def conv_cases(draw, max_n=3, max_c=3, max_f=4, max_hw=9, max_k=4):
    """A valid conv2d configuration: dict with x (N,C,H,W), w (F,C,kh,kw), b (F,), stride, padding."""
    seed = draw(seeds)
    n, c, f = draw(st.integers(1, max_n)), draw(st.integers(1, max_c)), draw(st.integers(1, max_f))
    kh, kw = draw(st.integers(1, max_k)), draw(st.integers(1, max_k))
    # An int or an (vertical, horizontal) pair: a swapped pair must give a different answer.
    padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2))))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    ph, pw = padding if isinstance(padding, tuple) else (padding, padding)
    h = draw(st.integers(max(1, kh - 2 * ph), max_hw))
    w_ = draw(st.integers(max(1, kw - 2 * pw), max_hw))
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((n, c, h, w_)),
        "w": rng.standard_normal((f, c, kh, kw)),
        "b": rng.standard_normal(f),
        "stride": stride,
        "padding": padding,
    }


@st.composite
def pool_cases(draw, max_n=3, max_c=3, max_hw=10, max_k=4):
    """A valid pooling configuration: dict with x (N,C,H,W), kernel_size, stride."""
    seed = draw(seeds)
    k = draw(st.integers(1, max_k))
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    n, c = draw(st.integers(1, max_n)), draw(st.integers(1, max_c))
    h, w_ = draw(st.integers(k, max_hw)), draw(st.integers(k, max_hw))
    # Continuous random values: ties in a max-pool window have probability zero.
    x = np.random.default_rng(seed).standard_normal((n, c, h, w_))
    return {"x": x, "kernel_size": k, "stride": stride}


@st.composite
def layer_sizes(draw, min_layers=2, max_layers=4, max_width=6):
    """MLP layer sizes [n_in, n_hidden..., n_out]."""
    n = draw(st.integers(min_layers, max_layers))
    return draw(st.lists(st.integers(1, max_width), min_size=n, max_size=n))


def assert_close(actual, expected, atol: float = 1e-10, rtol: float = 1e-10, what: str = "") -> None:
    """Assert two arrays are equal to tolerance; the message prints shapes and the worst entry."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (
        f"{what} shape {actual.shape} != expected {expected.shape}")
    if not np.allclose(actual, expected, atol=atol, rtol=rtol):
        diff = np.abs(actual - expected)
        idx = np.unravel_index(np.argmax(diff), diff.shape)
        raise AssertionError(
            f"{what} differs: max |diff| = {diff.max():.3e} at index {idx} "
            f"(got {actual[idx]!r}, expected {expected[idx]!r})")
