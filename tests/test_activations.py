"""Activations and their derivatives against PyTorch (values and autograd) in float64."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import assert_close, seeds

from dlcourse import activations as A
from dlcourse.gradcheck import gradient_check

shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5)
alphas = st.sampled_from([0.0, 0.01, 0.1, 0.2, 1.0, 3.0])


def _x(seed, shape, scale=3.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def _torch_value_and_grad(fn, x):
    """Value of an element-wise torch function and its derivative at x (autograd)."""
    xt = torch.tensor(x, requires_grad=True)
    y = fn(xt)
    y.backward(torch.ones_like(y))
    return y.detach().numpy(), xt.grad.numpy()


ELEMENTWISE = [
    ("sigmoid", A.sigmoid, A.sigmoid_grad, torch.sigmoid),
    ("tanh", A.tanh, A.tanh_grad, torch.tanh),
    ("relu", A.relu, A.relu_grad, F.relu),
]


@pytest.mark.parametrize("name, f, f_grad, torch_f", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
@given(seed=seeds, shape=shapes)
def test_elementwise_activation_equals_torch(name, f, f_grad, torch_f, seed, shape):
    x = _x(seed, shape)
    y, dy = _torch_value_and_grad(torch_f, x)
    assert_close(f(x), y, what=name)
    assert_close(f_grad(x), dy, what=name + "_grad")


@given(seed=seeds, shape=shapes, alpha=alphas)
def test_leaky_relu_equals_torch(seed, shape, alpha):
    x = _x(seed, shape)
    y, dy = _torch_value_and_grad(lambda v: F.leaky_relu(v, negative_slope=alpha), x)
    assert_close(A.leaky_relu(x, alpha=alpha), y)
    assert_close(A.leaky_relu_grad(x, alpha=alpha), dy)
    # Lecture 003's form max(x, 0) + alpha min(x, 0).
    assert_close(A.leaky_relu(x, alpha), np.maximum(x, 0) + alpha * np.minimum(x, 0))


def test_derivatives_at_zero_follow_pytorch():
    x = np.zeros(3)
    for f_grad, torch_f in [(A.relu_grad, F.relu), (lambda v: A.leaky_relu_grad(v, 0.1),
                                                    lambda v: F.leaky_relu(v, 0.1))]:
        assert_close(f_grad(x), _torch_value_and_grad(torch_f, x)[1])
    assert A.leaky_relu_grad([0.0], alpha=0.1)[0] == 0.1 and A.relu_grad([0.0])[0] == 0.0


@pytest.mark.parametrize("f, f_grad", [(A.sigmoid, A.sigmoid_grad), (A.tanh, A.tanh_grad),
                                       (A.relu, A.relu_grad),
                                       (lambda v: A.leaky_relu(v, 0.2), lambda v: A.leaky_relu_grad(v, 0.2))])
@given(seed=seeds)
def test_derivatives_pass_finite_differences(f, f_grad, seed):
    x = _x(seed, (3, 4))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from relu's kink
    dout = np.random.default_rng(seed + 1).standard_normal(x.shape)
    gradient_check(f, x, dout * f_grad(x), dout=dout)


def test_sigmoid_and_tanh_identities_of_the_lectures():
    x = np.linspace(-5, 5, 11)
    # Lecture 000: sigma'(s) = y (1 - y); lecture 003: sigmoid(x) = e^x / (1 + e^x).
    assert_close(A.sigmoid_grad(x), A.sigmoid(x) * (1 - A.sigmoid(x)))
    assert_close(A.sigmoid(x), np.exp(x) / (1 + np.exp(x)))
    assert_close(A.tanh(x), (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)))


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-1000.0, -50.0, 50.0, 1000.0, -np.inf, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = A.sigmoid(x)
        g = A.sigmoid_grad(x)
    assert_close(y, torch.sigmoid(torch.from_numpy(x)).numpy(), atol=1e-300, rtol=1e-12)
    assert np.all(np.isfinite(g))


@given(seed=seeds, shape=shapes, data=st.data())
def test_softmax_equals_torch_on_any_axis(seed, shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _x(seed, shape, scale=10.0)
    expected = F.softmax(torch.from_numpy(x), dim=axis).numpy()
    assert_close(A.softmax(x, axis=axis), expected)
    assert_close(A.softmax(x, axis=axis).sum(axis=axis), np.ones(np.delete(shape, axis % len(shape))))


@given(seed=seeds, shape=shapes, data=st.data())
def test_softmax_grad_is_torch_jacobian(seed, shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _x(seed, shape)
    jac = torch.autograd.functional.jacobian(lambda v: F.softmax(v, dim=axis), torch.from_numpy(x))
    jac = jac.numpy()  # shape + shape; keep the blocks of the same slice
    ndim = len(shape)
    xm = np.moveaxis(x, axis, -1)
    expected = np.empty(xm.shape + (xm.shape[-1],))
    # jac[i..., j...] -> for each slice (other indices equal) the K x K block.
    jm = np.moveaxis(np.moveaxis(jac, axis % ndim, ndim - 1), ndim + axis % ndim, 2 * ndim - 1)
    for idx in np.ndindex(xm.shape[:-1]):
        expected[idx] = jm[idx + (slice(None),) + idx + (slice(None),)]
    assert_close(A.softmax_grad(x, axis=axis), expected)


@given(seed=seeds, shape=shapes, data=st.data())
def test_softmax_backward_equals_autograd(seed, shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _x(seed, shape)
    dout = np.random.default_rng(seed + 1).standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    F.softmax(xt, dim=axis).backward(torch.from_numpy(dout))
    assert_close(A.softmax_backward(dout, A.softmax(x, axis=axis), axis=axis), xt.grad.numpy())
    y = A.softmax(x, axis=axis)
    gradient_check(lambda v: A.softmax(v, axis=axis), x, A.softmax_backward(dout, y, axis), dout=dout)


def test_softmax_is_stable_and_handles_masked_entries():
    x = np.array([[1000.0, 1001.0, -np.inf], [-1000.0, -1000.0, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = A.softmax(x)
    assert_close(y, F.softmax(torch.from_numpy(x), dim=-1).numpy())
    assert y[0, 2] == 0.0


def test_leaky_relu_with_zero_alpha_is_relu_even_at_minus_infinity():
    x = np.array([-np.inf, -1.0, 0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(A.leaky_relu(x, alpha=0.0), A.relu(x))


@pytest.mark.parametrize("call, exc, words", [
    (lambda: A.sigmoid([np.nan]), ValueError, "'x' parameter of sigmoid must not contain NaN"),
    (lambda: A.relu("abc"), TypeError, "'x' parameter of relu"),
    (lambda: A.tanh(None), TypeError, "'x' parameter of tanh"),
    (lambda: A.leaky_relu([1.0], alpha=-0.1), ValueError, "'alpha' parameter of leaky_relu"),
    (lambda: A.leaky_relu_grad([1.0], alpha="a"), TypeError, "'alpha' parameter"),
    (lambda: A.softmax(np.zeros((2, 3)), axis=2), ValueError, "'axis' parameter of softmax"),
    (lambda: A.softmax(np.zeros((2, 3)), axis=1.0), ValueError, "'axis' parameter"),
    (lambda: A.softmax(1.0), ValueError, "at least one dimension"),
    (lambda: A.softmax([np.inf, 0.0]), ValueError, r"\+inf"),
    (lambda: A.softmax([-np.inf, -np.inf]), ValueError, "at least one finite entry"),
    (lambda: A.softmax_grad(np.zeros(3), axis=-2), ValueError, "'axis' parameter"),
    (lambda: A.softmax(np.zeros((2, 0))), ValueError, "at least one entry along axis 1"),
    (lambda: A.softmax_backward([1.0, 2.0, 3.0], [0.0, -2.0, -3.0]), ValueError, "softmax output.*not the scores"),
    (lambda: A.softmax_backward([1.0, 0.0], [0.5, 0.6]), ValueError, "sums from 1.1"),
    (lambda: A.sigmoid(np.array([1 + 2j])), TypeError, "real numbers"),
    (lambda: A.softmax_backward(np.zeros(3), np.zeros(4)), ValueError, "'dout' parameter"),
    (lambda: A.softmax_backward(0.0, 0.0), ValueError, "'y' parameter"),
])
def test_bad_inputs_raise_documented_errors(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
