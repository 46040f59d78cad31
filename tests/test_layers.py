"""dlcourse.layers: batch-norm vs nn.BatchNorm1d/2d, dropout statistics, initialisation laws."""

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import assert_close, seeds

from dlcourse.layers import (batchnorm_backward, batchnorm_forward, dropout, dropout_backward,
                             he_normal, xavier_normal, xavier_uniform)


# ------------------------------------------------------------------------------ helpers

@st.composite
def bn_shapes(draw):
    """(N, D) or (N, C, H, W) with at least 2 values per channel (PyTorch's training rule)."""
    if draw(st.booleans()):
        shape = (draw(st.integers(2, 8)), draw(st.integers(1, 5)))
    else:
        shape = tuple(draw(st.integers(1, 4)) for _ in range(4))
        assume(shape[0] * shape[2] * shape[3] >= 2)
    return shape


def _torch_bn(shape, gamma, beta, eps, momentum):
    cls = torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d
    bn = cls(shape[1], eps=eps, momentum=momentum).double()
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
    return bn


def _numerical_grad(f, a, h=1e-6):
    """Central differences of the scalar f() with respect to every entry of a (in place)."""
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + h
        plus = f()
        a[idx] = old - h
        minus = f()
        a[idx] = old
        grad[idx] = (plus - minus) / (2 * h)
    return grad


# --------------------------------------------------------------------------- batch-norm

@given(shape=bn_shapes(), seed=seeds, eps=st.sampled_from([1e-5, 1e-3, 0.1]),
       momentum=st.sampled_from([0.1, 0.5, 1.0, 0.0]))
def test_batchnorm_matches_torch_over_steps_then_eval(shape, seed, eps, momentum):
    rng = np.random.default_rng(seed)
    C = shape[1]
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    bn = _torch_bn(shape, gamma, beta, eps, momentum)
    running = {"mean": np.zeros(C), "var": np.ones(C)}
    for step in range(4):
        x = rng.standard_normal(shape) * 3 + rng.standard_normal()
        out, _ = batchnorm_forward(x, gamma, beta, eps=eps, training=True, running=running,
                                   momentum=momentum)
        bn.train()
        expected = bn(torch.from_numpy(x)).detach().numpy()
        assert_close(out, expected, what=f"train output, step {step}")
        assert_close(running["mean"], bn.running_mean.numpy(), what="running mean")
        assert_close(running["var"], bn.running_var.numpy(), what="running var")
    x = rng.standard_normal(shape)
    out, _ = batchnorm_forward(x, gamma, beta, eps=eps, training=False, running=running)
    bn.eval()
    assert_close(out, bn(torch.from_numpy(x)).detach().numpy(), what="eval output")


@given(shape=bn_shapes(), seed=seeds, training=st.booleans())
def test_batchnorm_backward_matches_autograd(shape, seed, training):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    running = {"mean": rng.standard_normal(C), "var": rng.random(C) + 0.5}
    bn = _torch_bn(shape, gamma, beta, 1e-5, 0.1)
    bn.running_mean.copy_(torch.from_numpy(running["mean"]))
    bn.running_var.copy_(torch.from_numpy(running["var"]))
    bn.train(training)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    bn(tx).backward(torch.from_numpy(dout))
    _, cache = batchnorm_forward(x, gamma, beta, training=training, running=running)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert_close(dx, tx.grad.numpy(), atol=1e-9, what="dx")
    assert_close(dgamma, bn.weight.grad.numpy(), what="dgamma")
    assert_close(dbeta, bn.bias.grad.numpy(), what="dbeta")


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_backward_finite_differences(shape, training):
    rng = np.random.default_rng(7)
    C = shape[1]
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    stats = {"mean": rng.standard_normal(C), "var": rng.random(C) + 0.5}

    def E():  # scalar loss whose gradient with respect to out is dout
        out, _ = batchnorm_forward(x, gamma, beta, training=training,
                                   running=None if training else stats)
        return float(np.sum(out * dout))

    _, cache = batchnorm_forward(x, gamma, beta, training=training,
                                 running=None if training else stats)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert_close(dx, _numerical_grad(E, x), atol=1e-6, rtol=1e-6, what="dx")
    assert_close(dgamma, _numerical_grad(E, gamma), atol=1e-6, rtol=1e-6, what="dgamma")
    assert_close(dbeta, _numerical_grad(E, beta), atol=1e-6, rtol=1e-6, what="dbeta")


@given(shape=bn_shapes(), seed=seeds)
def test_batchnorm_training_output_is_normalised(shape, seed):
    """With gamma = 1, beta = 0 every channel has mean 0 and variance 1/(1 + eps/var)."""
    x = np.random.default_rng(seed).standard_normal(shape) * 5 + 2
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    C = shape[1]
    out, cache = batchnorm_forward(x, np.ones(C), np.zeros(C), eps=0.0)
    assume(np.all(x.var(axis=axes) > 1e-6))
    assert_close(out.mean(axis=axes), np.zeros(C), atol=1e-10)
    assert_close(out.var(axis=axes), np.ones(C), atol=1e-8)
    assert_close(cache["x_hat"], out)


def test_batchnorm_without_running_leaves_no_state_and_equals_with_running():
    rng = np.random.default_rng(0)
    x, gamma, beta = rng.standard_normal((6, 3)), rng.standard_normal(3), rng.standard_normal(3)
    running = {"mean": np.zeros(3), "var": np.ones(3)}
    out_a, _ = batchnorm_forward(x, gamma, beta, running=None)
    out_b, _ = batchnorm_forward(x, gamma, beta, running=running)
    assert_close(out_a, out_b)
    assert not np.all(running["mean"] == 0)  # updated in place


def test_batchnorm_eval_does_not_update_running():
    running = {"mean": np.full(2, 0.5), "var": np.full(2, 2.0)}
    batchnorm_forward(np.ones((3, 2)), np.ones(2), np.zeros(2), training=False, running=running)
    assert np.all(running["mean"] == 0.5) and np.all(running["var"] == 2.0)


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: batchnorm_forward(np.ones((2, 3, 4)), np.ones(3), np.zeros(3)), ValueError,
     r"'x' parameter of batchnorm_forward must be an array of shape \(N, D\) or \(N, C, H, W\)"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(2), np.zeros(3)), ValueError,
     r"'gamma'.*shape \(3,\)\. Got an array of shape \(2,\)"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros((3, 1))), ValueError,
     r"'beta'"),
    (lambda: batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3)), ValueError,
     r"more than 1 value per channel"),
    (lambda: batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3), training=False),
     ValueError, r"'running'.*evaluation mode"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), running={"mean": 0}),
     TypeError, r"'running'.*keys 'mean' and 'var'"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3),
                               running={"mean": np.zeros(2), "var": np.ones(3)}),
     TypeError, r"running\['mean'\].*shape \(3,\)"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), momentum=1.5),
     ValueError, r"'momentum'.*\[0, 1\]"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), eps=-1.0),
     ValueError, r"'eps'"),
    (lambda: batchnorm_backward(np.ones((4, 3)), None), TypeError, r"'cache'"),
    (lambda: batchnorm_backward(np.ones((4, 3)), {"x_hat": np.ones((4, 3))}), TypeError,
     r"'cache'.*returned by batchnorm_forward"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), training="False"), TypeError,
     r"'training' parameter of batchnorm_forward must be True or False"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), eps=0.0), ValueError,
     r"'eps'.*zero variance"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), training=False,
                               running={"mean": np.zeros(3), "var": -np.ones(3)}), ValueError,
     r"'running'.*variances >= 0"),
])
def test_batchnorm_bad_inputs(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_batchnorm_backward_bad_dout_shape():
    _, cache = batchnorm_forward(np.arange(6.0).reshape(3, 2), np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"'dout'.*\(3, 2\).*\(2, 3\)"):
        batchnorm_backward(np.ones((2, 3)), cache)


# ------------------------------------------------------------------------------ dropout

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    x = np.random.default_rng(0).random(400_000) + 0.5
    out, mask = dropout(x, p, training=True, rng=1, return_mask=True)
    n = x.size
    dropped = np.mean(out == 0)
    # 5 standard deviations of a binomial proportion.
    assert abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / n)
    kept = out != 0
    assert_close(out[kept], x[kept] / (1 - p))  # kept values scaled exactly
    assert_close(out, x * mask)
    # The mean is preserved: E[out] = x.
    var_out = np.mean(x**2) / (1 - p) - x.mean() ** 2
    assert abs(out.mean() - x.mean()) < 5 * math.sqrt(var_out / n)


@given(seed=seeds, p=st.floats(0.0, 0.99), shape=st.lists(st.integers(1, 5), max_size=3))
def test_dropout_eval_identity_and_seed_determinism(seed, p, shape):
    x = np.random.default_rng(seed).standard_normal(shape)
    assert np.array_equal(dropout(x, p, training=False, rng=seed), x)
    a = dropout(x, p, training=True, rng=seed)
    b = dropout(x, p, training=True, rng=np.random.default_rng(seed))
    assert np.array_equal(a, b) and a.shape == x.shape
    assert np.array_equal(dropout(x, 0.0, training=True, rng=seed), x)


def test_dropout_generator_advances():
    rng = np.random.default_rng(0)
    a, b = dropout(np.ones(100), 0.5, rng=rng), dropout(np.ones(100), 0.5, rng=rng)
    assert not np.array_equal(a, b)


@given(seed=seeds, p=st.sampled_from([0.2, 0.5]))
def test_dropout_backward_matches_autograd(seed, p):
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    out, mask = dropout(x, p, training=True, rng=seed, return_mask=True)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    (tx * torch.from_numpy(mask)).backward(torch.from_numpy(dout))
    assert_close(dropout_backward(dout, mask), tx.grad.numpy())
    # Dropout is linear in x for a fixed mask: the finite difference is exact.
    assert_close(dropout_backward(dout, mask),
                 _numerical_grad(lambda: float(np.sum(dropout(x, p, rng=seed) * dout)), x),
                 atol=1e-8, rtol=1e-8)


def test_dropout_matches_torch_in_distribution():
    """Same law as torch's F.dropout: zeros with rate p, the rest scaled by 1/(1-p)."""
    torch.manual_seed(0)
    x = torch.ones(200_000, dtype=torch.float64)
    theirs = torch.nn.functional.dropout(x, p=0.3, training=True).numpy()
    ours = dropout(x.numpy(), 0.3, rng=0)
    assert set(np.unique(ours)) == set(np.unique(theirs)) == {0.0, 1 / 0.7}
    assert abs(np.mean(ours == 0) - np.mean(theirs == 0)) < 0.01


@pytest.mark.parametrize("kwargs, exc, pattern", [
    (dict(p=1.0), ValueError, r"'p' parameter of dropout must be a drop probability in \[0, 1\)"),
    (dict(p=-0.1), ValueError, r"'p'"),
    (dict(p="0.5"), ValueError, r"'p'"),
    (dict(p=0.5, rng="seed"), TypeError, r"'rng' parameter of dropout"),
    (dict(p=0.5, rng=-1), TypeError, r"'rng'"),
    (dict(p=0.5, training="False"), TypeError, r"'training' parameter of dropout must be True or False"),
])
def test_dropout_bad_inputs(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        dropout(np.ones(3), **kwargs)


@pytest.mark.parametrize("mask, exc, pattern", [
    (np.array([True, False, True]), TypeError, "boolean keep mask"),
    (dropout(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), 0.5, rng=1)[:3], ValueError, "dropout's output"),
    (np.array([0.5, 0.0, 0.5]), ValueError, r"0 or 1/\(1-p\)"),
])
def test_dropout_backward_wants_the_multiplier(mask, exc, pattern):
    with pytest.raises(exc, match=pattern):
        dropout_backward(np.ones(3), mask)


def test_dropout_backward_bad_shape():
    with pytest.raises(ValueError, match=r"'dout' parameter of dropout_backward.*\(3,\)"):
        dropout_backward(np.ones(2), np.ones(3))


# ------------------------------------------------------------------------ initialisation

INITS = {
    # name: (ours, variance formula, torch initialiser of a (n_out, n_in) tensor)
    "xavier_uniform": (xavier_uniform, lambda i, o: 2 / (i + o), torch.nn.init.xavier_uniform_),
    "xavier_normal": (xavier_normal, lambda i, o: 2 / (i + o), torch.nn.init.xavier_normal_),
    "he_normal": (he_normal, lambda i, o: 2 / i,
                  lambda w: torch.nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")),
}


@pytest.mark.parametrize("name", list(INITS))
@pytest.mark.parametrize("n_in, n_out", [(600, 300), (1000, 120), (150, 900)])
def test_init_variance_and_law_match_formula_and_torch(name, n_in, n_out):
    ours_fn, var_formula, torch_init = INITS[name]
    W = ours_fn(n_in, n_out, rng=0)
    assert W.shape == (n_out, n_in) == tuple(torch.nn.Linear(n_in, n_out).weight.shape)
    var = var_formula(n_in, n_out)
    # Relative standard error of a variance over n samples is about sqrt(2/n) <= 0.4 % here.
    assert abs(W.var() / var - 1) < 0.02
    assert abs(W.mean()) < 5 * math.sqrt(var / W.size)
    torch.manual_seed(0)
    T = torch_init(torch.empty(n_out, n_in, dtype=torch.float64)).numpy()
    assert abs(T.var() / var - 1) < 0.02  # torch's gain convention gives the same variance
    # Same law, not only same variance: matching quantiles.
    qs = np.linspace(0.05, 0.95, 19)
    assert_close(np.quantile(W, qs), np.quantile(T, qs), atol=0.03 * math.sqrt(var), rtol=0)


@pytest.mark.parametrize("n_in, n_out", [(20, 30), (500, 100)])
def test_xavier_uniform_bound_matches_torch(n_in, n_out):
    a = math.sqrt(6 / (n_in + n_out))
    torch.manual_seed(1)
    T = torch.nn.init.xavier_uniform_(torch.empty(n_out, n_in, dtype=torch.float64)).numpy()
    W = xavier_uniform(n_in, n_out, rng=1)
    for sample in (W, T):  # the largest of n uniforms on [-a, a] is within ~a/n of a
        assert a * (1 - 20 / sample.size) < np.abs(sample).max() <= a


@pytest.mark.parametrize("name", list(INITS))
@given(n_in=st.integers(1, 6), n_out=st.integers(1, 6), seed=seeds)
def test_init_shapes_and_seeding(name, n_in, n_out, seed):
    fn = INITS[name][0]
    W = fn(n_in, n_out, rng=seed)
    assert W.shape == (n_out, n_in) and W.dtype == np.float64
    assert np.array_equal(W, fn(n_in, n_out, rng=np.random.default_rng(seed)))
    assert fn(n_in, n_out).shape == (n_out, n_in)  # rng=None: fresh entropy


@pytest.mark.parametrize("name", list(INITS))
def test_init_bad_inputs(name):
    fn = INITS[name][0]
    with pytest.raises(ValueError, match=rf"'n_in' parameter of {name} must be a positive integer"):
        fn(0, 3)
    with pytest.raises(ValueError, match=r"'n_out'"):
        fn(3, 2.5)
    with pytest.raises(ValueError, match=r"'n_in'"):
        fn(True, 3)
    with pytest.raises(TypeError, match=rf"'rng' parameter of {name}"):
        fn(3, 3, rng=np.random.RandomState(0))
