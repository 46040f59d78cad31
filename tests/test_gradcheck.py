"""The gradient checker itself: exactness on polynomials, agreement with autograd, failures
detected, x restored, errors documented."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis.extra import numpy as hnp
from strategies import assert_close, random_array, seeds

from dlcourse.gradcheck import gradient_check, numerical_gradient, relative_error

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@given(seed=seeds, shape=shapes)
def test_central_differences_are_exact_on_quadratics(seed, shape):
    # (f(x+h) - f(x-h)) / 2h has no truncation error for a polynomial of degree <= 2.
    x, a = random_array(seed, shape), random_array(seed + 1, shape)
    g = numerical_gradient(lambda v: np.sum(a * v ** 2 + 3 * v), x, h=1e-3)
    assert_close(g, 2 * a * x + 3, atol=1e-9, rtol=1e-9)


@given(seed=seeds, shape=shapes)
def test_numerical_gradient_agrees_with_torch_autograd(seed, shape):
    x = random_array(seed, shape)
    f = lambda v: torch.sum(torch.sin(v) * torch.exp(v / 2))
    xt = torch.tensor(x, requires_grad=True)
    f(xt).backward()
    numeric = numerical_gradient(lambda v: f(torch.from_numpy(v)).item(), x)
    assert relative_error(numeric, xt.grad.numpy()) < 1e-8


@given(seed=seeds, shape=shapes)
def test_dout_checks_a_vector_jacobian_product(seed, shape):
    x, dout = random_array(seed, shape), random_array(seed + 1, shape)
    xt = torch.tensor(x, requires_grad=True)
    torch.tanh(xt).backward(torch.from_numpy(dout))
    err = gradient_check(np.tanh, x, xt.grad.numpy(), dout=dout)
    assert err < 1e-8


def test_x_is_restored_and_closures_work():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = W.copy()
    g = numerical_gradient(lambda _: float(np.sum(W ** 3)), W)  # f reads W, not its argument
    assert np.array_equal(W, before)
    assert relative_error(g, 3 * W ** 2) < 1e-9


def test_x_is_restored_when_f_raises():
    x = np.array([1.0, 2.0])
    def f(v):
        if v[0] != 1.0:
            raise RuntimeError("boom")
        return 0.0
    with pytest.raises(RuntimeError):
        numerical_gradient(f, x)
    assert x.tolist() == [1.0, 2.0]


def test_gradient_check_catches_a_wrong_gradient():
    x = np.array([0.3, -0.7, 1.2])
    with pytest.raises(AssertionError, match=r"relative error .* worst entry \(1,\)"):
        gradient_check(lambda v: np.sum(v ** 2), x, 2 * x + np.array([0.0, 1e-3, 0.0]))
    # A gradient off by a factor 2 (a classic missing 1/2) is far beyond tolerance.
    with pytest.raises(AssertionError):
        gradient_check(lambda v: 0.5 * np.sum(v ** 2), x, 2 * x)
    assert gradient_check(lambda v: 0.5 * np.sum(v ** 2), x, x) < 1e-9


def test_relative_error_values():
    assert relative_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert relative_error([1.0, 0.0], [-1.0, 0.0]) == 1.0
    assert relative_error([3.0, 4.0], [3.0, 4.0 + 1e-6]) == pytest.approx(1e-6 / 10)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: numerical_gradient(np.sum, [1.0, 2.0]), TypeError, "float64 ndarray"),
    (lambda: numerical_gradient(np.sum, np.array([1, 2])), TypeError, "dtype int64"),
    (lambda: numerical_gradient("f", np.zeros(2)), TypeError, "'f' parameter"),
    (lambda: numerical_gradient(np.sum, np.zeros(2), h=0), ValueError, "'h' parameter"),
    (lambda: numerical_gradient(lambda v: v, np.zeros(2)), ValueError, "must return a number"),
    (lambda: numerical_gradient(lambda v: v, np.zeros(2), dout=np.ones(3)), ValueError, "'dout'"),
    (lambda: relative_error([1.0], [1.0, 2.0]), ValueError, "'b' parameter of relative_error"),
    (lambda: gradient_check(np.sum, np.zeros(2), np.zeros(3)), ValueError, "'grad' parameter"),
    (lambda: gradient_check(np.sum, np.zeros(2), np.ones(2), tol=-1), ValueError, "'tol'"),
    (lambda: numerical_gradient(np.sum, np.array([1.0, 2.0]), h=1e-20), ValueError, "'h'.*lost in rounding"),
    (lambda: numerical_gradient(lambda v: None, np.zeros(2)), TypeError, "forgotten return"),
    (lambda: numerical_gradient(lambda v: v[0] > 0, np.zeros(2)), TypeError, "must return a number"),
    (lambda: numerical_gradient(lambda v: float("nan"), np.zeros(2)), ValueError, "finite values"),
    (lambda: numerical_gradient(np.sum, np.broadcast_to(np.ones(1), (3,))), ValueError, "writeable"),
    (lambda: gradient_check(np.sum, [1.0, 2.0], [1.0, 1.0]), TypeError, "'x' parameter of gradient_check"),
])
def test_bad_inputs_raise_documented_errors(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_doctests_of_the_lecture_modules():
    # The docstring examples are part of the documentation the book shows: keep them true.
    import doctest

    from dlcourse import activations, gradcheck, losses, mlp, perceptron
    for module in (perceptron, activations, losses, mlp, gradcheck):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__
