"""Losses and their gradients against PyTorch (values and autograd) in float64."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import assert_close, seeds

from dlcourse import losses as L
from dlcourse.activations import softmax
from dlcourse.gradcheck import gradient_check

batch = st.integers(1, 8)
classes = st.integers(1, 7)
reductions = st.sampled_from(["mean", "sum"])


def _case(seed, n, c, one_hot_targets, scale=3.0):
    rng = np.random.default_rng(seed)
    z = scale * rng.standard_normal((n, c))
    idx = rng.integers(0, c, n)
    return z, idx, (np.eye(c)[idx] if one_hot_targets else idx)


def _torch_loss_and_grad(loss_fn, y, *args, **kwargs):
    yt = torch.tensor(y, requires_grad=True)
    loss = loss_fn(yt, *args, **kwargs)
    loss.backward()
    return loss.item(), yt.grad.numpy()


# --- squared errors ----------------------------------------------------------------------

@given(seed=seeds, n=batch, c=classes, reduction=reductions)
def test_mse_equals_torch(seed, n, c, reduction):
    rng = np.random.default_rng(seed)
    y, t = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    value, grad = _torch_loss_and_grad(F.mse_loss, y, torch.from_numpy(t), reduction=reduction)
    assert_close(L.mse(y, t, reduction=reduction), value)
    assert_close(L.mse_grad(y, t, reduction=reduction), grad)
    assert_close(L.mse(y, t, reduction="none"), F.mse_loss(torch.from_numpy(y), torch.from_numpy(t),
                                                           reduction="none").numpy())


@given(seed=seeds, n=batch, c=classes)
def test_squared_error_is_the_lecture_E(seed, n, c):
    # Lecture 000: E = 1/2 sum_x sum_k (t_k - y_k)^2, half of the summed MSE.
    rng = np.random.default_rng(seed)
    y, t = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    value, grad = _torch_loss_and_grad(lambda v: 0.5 * ((torch.from_numpy(t) - v) ** 2).sum(), y)
    assert_close(L.squared_error(y, t), value)
    assert_close(L.squared_error(y, t), 0.5 * L.mse(y, t, reduction="sum"))
    assert_close(L.squared_error_grad(y, t), grad)
    gradient_check(lambda v: L.squared_error(v, t), y, L.squared_error_grad(y, t))


def test_cost_example_of_lecture_001():
    # Lecture 001 (Mahmoudi), slide "Exemple de calcul d'erreur": a digit "3" (one-hot over
    # 10 classes), outputs shown rounded to 2 decimals, cost 3.37 (sum of squares).
    y = np.array([0.43, 0.28, 0.19, 0.88, 0.72, 0.01, 0.64, 0.86, 0.99, 0.63])
    t = L.one_hot(3, 10)
    # Rounding each output by up to 0.005 moves each square by up to 2|y - t| 0.005 + 0.005^2,
    # and the slide's total is itself rounded to 0.005.
    bound = np.sum(2 * np.abs(y - t) * 0.005 + 0.005 ** 2) + 0.005
    assert abs(L.mse(y, t, reduction="sum") - 3.37) <= bound


def test_one_hot_of_lecture_001():
    # Lecture 001, slide "Encodage et calcul d'erreur": label 6 among the digits 0-9.
    assert L.one_hot(6, 10).tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0]


@given(seed=seeds, n=batch, c=classes)
def test_one_hot_equals_torch(seed, n, c):
    idx = np.random.default_rng(seed).integers(0, c, n)
    assert_close(L.one_hot(idx, c), F.one_hot(torch.from_numpy(idx), c).numpy())


# --- cross-entropy ------------------------------------------------------------------------

@given(seed=seeds, n=batch, c=classes, one_hot_targets=st.booleans(), reduction=reductions)
def test_cross_entropy_from_logits_equals_torch(seed, n, c, one_hot_targets, reduction):
    z, idx, t = _case(seed, n, c, one_hot_targets)
    target = torch.from_numpy(t)  # float rows are class probabilities for torch too
    value, grad = _torch_loss_and_grad(F.cross_entropy, z, target, reduction=reduction)
    assert_close(L.cross_entropy(z, t, reduction=reduction), value)
    assert_close(L.cross_entropy_grad(z, t, reduction=reduction), grad)
    assert_close(L.cross_entropy(z, t, reduction="none"),
                 F.cross_entropy(torch.from_numpy(z), target, reduction="none").numpy())


@given(seed=seeds, n=batch, c=classes)
def test_cross_entropy_with_soft_targets_equals_torch(seed, n, c):
    rng = np.random.default_rng(seed)
    z, t = 3 * rng.standard_normal((n, c)), rng.dirichlet(np.ones(c), n)
    value, grad = _torch_loss_and_grad(F.cross_entropy, z, torch.from_numpy(t))
    assert_close(L.cross_entropy(z, t), value)
    assert_close(L.cross_entropy_grad(z, t), grad)


@given(seed=seeds, n=batch, c=classes, one_hot_targets=st.booleans(), reduction=reductions)
def test_cross_entropy_from_probs_equals_torch(seed, n, c, one_hot_targets, reduction):
    z, idx, t = _case(seed, n, c, one_hot_targets)
    p = softmax(z)
    value, grad = _torch_loss_and_grad(lambda q: F.nll_loss(torch.log(q), torch.from_numpy(idx),
                                                            reduction=reduction), p)
    assert_close(L.cross_entropy_from_probs(p, t, reduction=reduction), value)
    assert_close(L.cross_entropy_from_probs_grad(p, t, reduction=reduction), grad)
    # Same number as from the logits (lecture 003: H(p, q) = -sum p log q).
    assert_close(L.cross_entropy_from_probs(p, t, reduction=reduction),
                 L.cross_entropy(z, t, reduction=reduction))


@given(seed=seeds, n=batch, c=classes, reduction=reductions)
def test_cross_entropy_from_probs_with_soft_targets_equals_torch(seed, n, c, reduction):
    rng = np.random.default_rng(seed)
    p, t = rng.dirichlet(np.ones(c), n), rng.dirichlet(np.full(c, 0.5), n)
    q = torch.tensor(p, requires_grad=True)
    per_sample = -(torch.from_numpy(t) * torch.log(q)).sum(1)
    value = {"mean": per_sample.mean(), "sum": per_sample.sum(), "none": per_sample}[reduction]
    assert_close(L.cross_entropy_from_probs(p, t, reduction=reduction), value.detach().numpy())
    if reduction != "none":
        value.backward()
        assert_close(L.cross_entropy_from_probs_grad(p, t, reduction=reduction), q.grad.numpy())


@given(seed=seeds, n=batch, c=classes, one_hot_targets=st.booleans())
def test_cross_entropy_gradients_pass_finite_differences(seed, n, c, one_hot_targets):
    z, idx, t = _case(seed, n, c, one_hot_targets, scale=1.0)
    gradient_check(lambda v: L.cross_entropy(v, t), z, L.cross_entropy_grad(z, t))
    if c > 1:  # with one class p = 1 and the step x + h would leave [0, 1]
        p = np.random.default_rng(seed).dirichlet(np.full(c, 5.0), n)  # rows away from 0, summing to 1
        gradient_check(lambda q: L.cross_entropy_from_probs(q, t), p,
                       L.cross_entropy_from_probs_grad(p, t))
    y = np.random.default_rng(seed).standard_normal((n, c))
    gradient_check(lambda v: L.mse(v, z), y, L.mse_grad(y, z))


def test_cross_entropy_is_kl_plus_entropy():
    # Lecture 003, slide "Entropie croisée : détails": H(p, q) = H(p) + KL(p || q).
    rng = np.random.default_rng(0)
    p, z = rng.dirichlet(np.ones(5), 4), rng.standard_normal((4, 5))
    q = softmax(z)
    entropy = -np.sum(p * np.log(p), axis=1)
    kl = np.sum(p * np.log(p / q), axis=1)
    assert_close(L.cross_entropy(z, p, reduction="none"), entropy + kl)


def test_cross_entropy_is_stable_and_silent():
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert L.cross_entropy(z, [0, 1]) == 0.0
        assert L.cross_entropy(z, [1, 0], reduction="none").tolist() == [2000.0, 2000.0]
        # A zero probability on a non-target class is fine; on the target it costs inf.
        assert L.cross_entropy_from_probs([[1.0, 0.0]], [0]) == 0.0
        assert L.cross_entropy_from_probs([[1.0, 0.0]], [1]) == np.inf


@pytest.mark.parametrize("call, exc, words", [
    (lambda: L.mse([1.0, 2.0], [1.0]), ValueError, "'t' parameter of mse must have the shape"),
    (lambda: L.mse([1.0], [1.0], reduction="avg"), ValueError, "'reduction' parameter of mse"),
    (lambda: L.mse_grad([1.0], [1.0], reduction="none"), ValueError, "'reduction'"),
    (lambda: L.mse([], []), ValueError, "must not be empty"),
    (lambda: L.squared_error(np.zeros((2, 1)), np.zeros(2)), ValueError, "'t' parameter"),
    (lambda: L.cross_entropy([0.0, 1.0], [1]), ValueError, r"'logits' parameter .* \(N, C\)"),
    (lambda: L.cross_entropy([[0.0, 1.0]], [2]), ValueError, r"class indices in \[0, 1\]"),
    (lambda: L.cross_entropy([[0.0, 1.0]], [0, 1]), ValueError, r"shape \(1,\)"),
    (lambda: L.cross_entropy([[0.0, 1.0]], [[0.0, 1.0, 0.0]]), ValueError, r"shape \(1, 2\)"),
    (lambda: L.cross_entropy([[0.0, 1.0]], [1.0]), TypeError, "integer class indices"),
    (lambda: L.cross_entropy([[0.0, 1.0]], [[-1.0, 2.0]]), ValueError, "probabilities"),
    (lambda: L.cross_entropy(np.zeros((0, 2)), np.zeros(0, int)), ValueError, "N >= 1"),
    (lambda: L.cross_entropy_grad([[0.0, 1.0]], [1], reduction="none"), ValueError, "'reduction'"),
    (lambda: L.cross_entropy_from_probs([[0.5, 1.5]], [1]), ValueError, "'p' parameter"),
    (lambda: L.cross_entropy([[0.0, 1.0]], [[0.0, 0.0]]), ValueError, "'t' parameter.*sum to 1.*row 0 summing to 0"),
    (lambda: L.cross_entropy_grad([[0.0, 1.0]], [[0.5, 0.4]]), ValueError, "sum to 1.*0.9"),
    (lambda: L.cross_entropy_from_probs([[0.25, 0.25]], [1]), ValueError, "'p' parameter.*sum to 1"),
    (lambda: L.cross_entropy_from_probs_grad([[0.5, np.nan]], [1]), ValueError, "finite"),
    (lambda: L.one_hot([0, 3], 3), ValueError, r"class indices in \[0, 2\]"),
    (lambda: L.one_hot([0.0, 1.0], 3), TypeError, "integer class indices"),
    (lambda: L.one_hot([0, 1], 0), ValueError, "'n_classes' parameter"),
])
def test_bad_inputs_raise_documented_errors(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
