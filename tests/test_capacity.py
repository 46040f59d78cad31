"""dlcourse.capacity: nearest neighbour equal to torch.cdist's, the ReLU interpolant equal to a
torch network and through its points, Hoeffding's margin holding its probability."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import random_array, seeds

from dlcourse.capacity import (hoeffding_margin, nearest_neighbour, one_hidden_layer_relu,
                               relu_interpolant, required_test_size)


@given(seeds, st.integers(1, 40), st.integers(1, 30), st.integers(1, 6))
def test_nearest_neighbour_equals_torch_cdist_argmin(seed, n_train, n_test, dim):
    X_train, X = random_array(seed, (n_train, dim)), random_array(seed + 1, (n_test, dim))
    t_train = np.random.default_rng(seed).integers(0, 10, n_train)
    nearest = torch.cdist(torch.tensor(X), torch.tensor(X_train)).argmin(dim=1).numpy()
    assert np.array_equal(nearest_neighbour(X_train, t_train, X), t_train[nearest])


def test_nearest_neighbour_blocks_give_the_same_answer(monkeypatch):
    X_train, X = random_array(0, (50, 3)), random_array(1, (37, 3))
    t_train = np.arange(50)
    whole = nearest_neighbour(X_train, t_train, X)
    monkeypatch.setattr("dlcourse.capacity._BLOCK", 5)
    assert np.array_equal(nearest_neighbour(X_train, t_train, X), whole)


@given(seeds, st.integers(1, 30), st.integers(1, 5))
def test_nearest_neighbour_has_no_training_error(seed, n_train, dim):
    X_train = random_array(seed, (n_train, dim))
    t_train = np.random.default_rng(seed).choice([-1.0, 1.0], n_train)   # even random labels
    assert np.array_equal(nearest_neighbour(X_train, t_train, X_train), t_train)


def test_nearest_neighbour_tie_goes_to_the_first_example():
    X_train = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 5.0]])
    assert nearest_neighbour(X_train, np.array([7, 8, 9]), [[0.0, 0.0]]).tolist() == [7]


@pytest.mark.parametrize("args, match", [
    (([[0.0, 1.0]], [1, 2], [[0.0, 0.0]]), r"'t_train' .* shape \(1,\)"),
    (([[0.0, 1.0]], [1], [[0.0, 0.0, 0.0]]), r"'X' .* 2 columns"),
    ((np.zeros((0, 2)), [], [[0.0, 0.0]]), r"'X_train' .* at least one row"),
    (([0.0, 1.0], [1, 2], [[0.0]]), r"'X_train' .* shape \(N, D\)"),
])
def test_nearest_neighbour_refuses_bad_shapes(args, match):
    with pytest.raises(ValueError, match=match):
        nearest_neighbour(*args)


@given(seeds, st.integers(1, 25))
def test_relu_interpolant_goes_through_its_points_and_is_linear_between(seed, n):
    rng = np.random.default_rng(seed)
    z, t = rng.permutation(np.linspace(-3, 3, n) + rng.uniform(0, 0.1, n)), rng.normal(size=n)
    knots, t0, c = relu_interpolant(z, t)
    assert knots.shape == c.shape == (n - 1,)
    np.testing.assert_allclose(one_hidden_layer_relu(z, knots, t0, c), t, atol=1e-9)
    order = np.argsort(z)
    middle = (z[order][:-1] + z[order][1:]) / 2
    np.testing.assert_allclose(one_hidden_layer_relu(middle, knots, t0, c),
                               (t[order][:-1] + t[order][1:]) / 2, atol=1e-9)


@given(seeds, st.integers(1, 20))
def test_one_hidden_layer_relu_equals_a_torch_network(seed, m):
    knots, c, x = random_array(seed, m), random_array(seed + 1, m), random_array(seed + 2, 50)
    t0 = float(random_array(seed + 3, ()))
    net = torch.nn.Sequential(torch.nn.Linear(1, m), torch.nn.ReLU(), torch.nn.Linear(m, 1)).double()
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.copy_(torch.tensor(-knots))
        net[2].weight.copy_(torch.tensor(c)[None, :])
        net[2].bias.fill_(t0)
        expected = net(torch.tensor(x)[:, None])[:, 0].numpy()
    np.testing.assert_allclose(one_hidden_layer_relu(x, knots, t0, c), expected, atol=1e-12)


def test_relu_interpolant_of_the_absolute_value():
    """Lecture 004: |x| = relu(x) + relu(-x); three points of |x| give the same kinks."""
    knots, t0, c = relu_interpolant([1.0, -1.0, 0.0], [1.0, 1.0, 0.0])
    assert knots.tolist() == [-1.0, 0.0] and t0 == 1.0 and c.tolist() == [-1.0, 2.0]
    x = np.linspace(-1, 5, 13)
    np.testing.assert_allclose(one_hidden_layer_relu(x, knots, t0, c), np.abs(x))


@pytest.mark.parametrize("z, t, match", [
    ([0.0, 1.0, 0.0], [1.0, 2.0, 3.0], r"'z' .* distinct"),
    ([0.0, 1.0], [1.0], r"'t' .* shape \(2,\)"),
    ([], [], r"not empty"),
    ([0.0, np.nan], [1.0, 2.0], r"finite"),
])
def test_relu_interpolant_refuses_bad_points(z, t, match):
    with pytest.raises(ValueError, match=match):
        relu_interpolant(z, t)


def test_one_hidden_layer_relu_refuses_mismatched_weights():
    with pytest.raises(ValueError, match=r"'c' .* shape \(2,\) like knots"):
        one_hidden_layer_relu([0.0], [0.0, 1.0], 0.0, [1.0])


def test_hoeffding_margin_of_mnist_test_set():
    """Chapter 6: 10 000 test images, eps = 5 % give a margin of 1.22 points."""
    assert hoeffding_margin(10_000, 0.05) == pytest.approx(0.012239, abs=1e-6)
    assert hoeffding_margin(40_000, 0.05) == pytest.approx(hoeffding_margin(10_000, 0.05) / 2)


@pytest.mark.parametrize("R", [0.02, 0.1, 0.5])
def test_hoeffding_margin_fails_at_most_eps_of_the_time(R):
    """Draw many test sets of size K from a classifier of real error R: the real error exceeds
    the test error plus the margin in at most eps of them."""
    K, eps, draws = 300, 0.1, 40_000
    torch.manual_seed(0)
    test_error = torch.distributions.Binomial(K, torch.tensor(R)).sample((draws,)).numpy() / K
    failures = np.mean(R >= test_error + hoeffding_margin(K, eps))
    assert failures <= eps
    # and the margin is not vacuous: a quarter of it would fail far more often
    assert np.mean(R >= test_error + hoeffding_margin(K, eps) / 4) > failures


@given(st.floats(1e-3, 0.5), st.floats(1e-6, 0.5))
def test_required_test_size_is_the_smallest_sufficient(margin, eps):
    K = required_test_size(margin, eps)
    assert hoeffding_margin(K, eps) <= margin * (1 + 1e-12)
    if K > 1:
        assert hoeffding_margin(K - 1, eps) > margin


@pytest.mark.parametrize("call, match", [
    (lambda: hoeffding_margin(0, 0.05), r"'K' .* positive integer"),
    (lambda: hoeffding_margin(100.0, 0.05), r"'K' .* positive integer"),
    (lambda: hoeffding_margin(100, 1.0), r"'eps' .* strictly between 0 and 1"),
    (lambda: hoeffding_margin(100, True), r"'eps' .* strictly between 0 and 1"),
    (lambda: required_test_size(0.0, 0.05), r"'margin' .* number > 0"),
    (lambda: required_test_size(math.inf, 0.05), r"'margin' .* number > 0"),
    (lambda: required_test_size(0.01, 0.0), r"'eps' .* strictly between 0 and 1"),
])
def test_bound_functions_refuse_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
