"""dlcourse.pooling: equal to PyTorch (values and autograd), loops equal to vectorised code."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import assert_close, pool_cases, random_array, seeds

from dlcourse import pooling
from dlcourse.gradcheck import numerical_gradient
from dlcourse.pooling import (avg_pool2d, avg_pool2d_backward, avg_pool2d_backward_naive,
                              avg_pool2d_naive, max_pool2d, max_pool2d_backward,
                              max_pool2d_backward_naive, max_pool2d_naive)

TORCH = {"max": F.max_pool2d, "avg": F.avg_pool2d}
OURS = {  # kind -> (forward, forward_naive, backward, backward_naive)
    "max": (max_pool2d, max_pool2d_naive, max_pool2d_backward, max_pool2d_backward_naive),
    "avg": (avg_pool2d, avg_pool2d_naive, avg_pool2d_backward, avg_pool2d_backward_naive),
}
kinds = st.sampled_from(sorted(OURS))


def torch_pool(kind, x, kernel_size, stride, dout):
    """Output and autograd input gradient of F.max_pool2d / F.avg_pool2d in float64."""
    tx = torch.tensor(x, requires_grad=True)
    y = TORCH[kind](tx, kernel_size, stride)
    y.backward(torch.tensor(dout))
    return y.detach().numpy(), tx.grad.numpy()


def _ties(seed, shape):
    """Small integers: most windows hold their maximum several times."""
    return np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)


@given(pool_cases(), kinds, seeds)
def test_pooling_equals_torch(case, kind, seed):
    x, k, s = case["x"], case["kernel_size"], case["stride"]
    forward, _, backward, _ = OURS[kind]
    y = forward(x, k, s)
    dout = random_array(seed, y.shape)
    y_t, dx_t = torch_pool(kind, x, k, s, dout)
    assert_close(y, y_t, what=f"{kind}_pool2d")
    assert_close(backward(dout, x, k, s), dx_t, what=f"{kind}_pool2d_backward")


@given(pool_cases(max_hw=7), kinds, seeds)
def test_naive_equals_vectorised(case, kind, seed):
    x, k, s = case["x"], case["kernel_size"], case["stride"]
    forward, forward_naive, backward, backward_naive = OURS[kind]
    y = forward(x, k, s)
    assert_close(forward_naive(x, k, s), y, what=f"{kind}_pool2d_naive")
    dout = random_array(seed, y.shape)
    assert_close(backward_naive(dout, x, k, s), backward(dout, x, k, s),
                 what=f"{kind}_pool2d_backward_naive")


@given(seeds, st.integers(1, 3), st.one_of(st.none(), st.integers(1, 3)), seeds)
def test_max_pool_ties_go_to_the_first_maximum_as_torch(seed, k, s, seed2):
    x = _ties(seed, (2, 2, 7, 6))
    dout = random_array(seed2, max_pool2d(x, k, s).shape)
    _, dx_t = torch_pool("max", x, k, s, dout)
    assert_close(max_pool2d_backward(dout, x, k, s), dx_t, what="ties")
    assert_close(max_pool2d_backward_naive(dout, x, k, s), dx_t, what="ties naive")


def test_max_pool_tie_example():
    x = np.array([[[[1.0, 3.0, 3.0], [3.0, 0.0, 3.0], [1.0, 1.0, 1.0]]]])
    # Windows (2x2, stride 1): the first 3 in reading order takes each window's gradient.
    dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, stride=1)
    assert np.array_equal(dx[0, 0], [[0, 2, 0], [1, 0, 1], [0, 0, 0]])


@given(seeds, st.tuples(st.integers(1, 3), st.integers(1, 3)),
       st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))), kinds)
def test_pairs_as_torch(seed, k, s, kind):
    x = random_array(seed, (2, 3, 8, 7))
    forward, forward_naive, backward, backward_naive = OURS[kind]
    dout = random_array(seed + 1, forward(x, k, s).shape)
    y_t, dx_t = torch_pool(kind, x, k, s, dout)
    assert_close(forward(x, k, s), y_t, what="forward")
    assert_close(forward_naive(x, k, s), y_t, what="forward naive")
    assert_close(backward(dout, x, k, s), dx_t, what="backward")
    assert_close(backward_naive(dout, x, k, s), dx_t, what="backward naive")


@pytest.mark.parametrize("kind", sorted(OURS))
@pytest.mark.parametrize("k,s", [(2, None), (3, 1), (2, 3), ((3, 2), (1, 2))])
def test_backward_finite_differences(kind, k, s):
    forward, _, backward, _ = OURS[kind]
    x = random_array(7, (2, 2, 7, 6))  # continuous values: no ties, max is differentiable
    dout = random_array(8, forward(x, k, s).shape)
    assert_close(backward(dout, x, k, s),
                 numerical_gradient(lambda v: forward(v, k, s), x, dout=dout),
                 atol=1e-7, rtol=1e-6, what=f"{kind} vs finite differences")


def test_stride_defaults_to_kernel_size():
    x = random_array(3, (1, 2, 9, 9))
    assert max_pool2d(x, 3).shape == (1, 2, 3, 3)
    assert np.array_equal(max_pool2d(x, 3), max_pool2d(x, 3, stride=3))
    assert np.array_equal(avg_pool2d(x, 3), avg_pool2d(x, 3, stride=3))


def test_float32_stays_float32():
    x = random_array(0, (2, 3, 6, 6)).astype(np.float32)
    for forward, _, backward, _ in OURS.values():
        y = forward(x, 2)
        assert y.dtype == np.float32
        assert backward(np.ones_like(y), x, 2).dtype == np.float32


# --------------------------------------------------------------------------- the slides' examples


def test_lecture_004_pooling_example():
    # Lecture 004 (Chan-Hon-Tong), "ConvNet": 2x2 max pooling of a 4x4 grid.
    x = np.array([[1, 2, 3, 4], [6, 7, 8, 9], [11, 12, 13, 14], [16, 17, 18, 19]], float)
    assert np.array_equal(max_pool2d(x[None, None], 2)[0, 0], [[7, 9], [17, 19]])
    assert np.array_equal(max_pool2d_naive(x[None, None], 2)[0, 0], [[7, 9], [17, 19]])
    # The gradient goes back to those four maxima only (Lecture 002, "Max Pooling").
    dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), x[None, None], 2)[0, 0]
    assert np.array_equal(dx, np.isin(x, [7, 9, 17, 19]).astype(float))


def test_lecture_001_max_pooling_example():
    # Lecture 001 (Mahmoudi), "CNN : pooling": 2x2 filters, stride 2 give [[6, 8], [3, 4]]
    # (the figure's input, lost in the text, is the classic CS231n one reproduced here).
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], float)
    assert np.array_equal(max_pool2d(x[None, None], 2, stride=2)[0, 0], [[6, 8], [3, 4]])


def test_avg_pool_spreads_evenly():
    x = np.zeros((1, 1, 4, 4))
    dx = avg_pool2d_backward(np.array([[[[4.0, 8.0], [12.0, 16.0]]]]), x, 2)[0, 0]
    assert np.array_equal(dx, [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])


# --------------------------------------------------------------------------- bad inputs


ALL = [f for group in OURS.values() for f in group[:2]]
ALL_BACKWARD = [f for group in OURS.values() for f in group[2:]]


@pytest.mark.parametrize("func", ALL)
@pytest.mark.parametrize("x,k,s,match", [
    (np.zeros((1, 1, 4, 4)), 0, None, r"'kernel_size'.*positive integer.*Got 0"),
    (np.zeros((1, 1, 4, 4)), 2, 0, r"'stride'.*positive integer.*Got 0"),
    (np.zeros((1, 1, 4, 4)), 2, -1, r"'stride'.*Got -1"),
    (np.zeros((1, 1, 4, 4)), 5, None, r"'kernel_size'.*at most.*\(4, 4\).*Got 5"),
    (np.zeros((1, 1, 4, 4)), (2, 5), None, r"'kernel_size'.*Got \(2, 5\)"),
    (np.zeros((4, 4)), 2, None, r"'x'.*shape \(N, C, H, W\).*\(4, 4\)"),
])
def test_pooling_rejects_bad_inputs(func, x, k, s, match):
    with pytest.raises(ValueError, match=match):
        func(x, k, s)


@pytest.mark.parametrize("func", ALL_BACKWARD)
def test_backward_rejects_bad_dout(func):
    x = np.zeros((2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"'dout'.*shape \(2, 3, 2, 2\).*\(2, 3, 4, 4\)"):
        func(np.zeros((2, 3, 4, 4)), x, 2)
    with pytest.raises(ValueError, match=r"'dout'.*\(2, 3, 2, 2\)"):
        func(np.zeros((3, 2, 2)), x, 2)


@pytest.mark.parametrize("module", [pooling])
def test_doctests(module):
    result = doctest.testmod(module, extraglobs={"np": np})
    assert result.attempted > 0 and result.failed == 0
