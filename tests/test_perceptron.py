"""Perceptron (Rosenblatt) and delta rule: lecture 000's OR trace, the lectures' formulas,
and torch.optim.SGD as the oracle for the delta rule."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import assert_close, seeds, small_dims

from dlcourse.perceptron import (PerceptronStep, add_bias, format_history, history_table,
                                 perceptron_step, predict, train_delta_rule, train_perceptron)

OR_X = [[0, 0], [0, 1], [1, 0], [1, 1]]  # truth-table order
OR_T = [0, 1, 1, 1]

# Lecture 000 (Lefort), the twelve slides "Un exemple : le OU" (w0 = (0, 1, 0), eta = 1).
# Each slide shows one row: x = (x0, x1, x2), the weights, y and the target t; when the
# example is misclassified the next slide shows the same row with the updated weights
# (slides 2-3 and 6-7). Encoded as (x, w before, y, t, w after):
OR_TRACE_FROM_SLIDES = [
    ((1, 0, 0), (0, 1, 0), 0, 0, (0, 1, 0)),  # slide 1
    ((1, 0, 1), (0, 1, 0), 0, 1, (1, 1, 1)),  # slides 2 and 3
    ((1, 1, 0), (1, 1, 1), 1, 1, (1, 1, 1)),  # slide 4
    ((1, 1, 1), (1, 1, 1), 1, 1, (1, 1, 1)),  # slide 5
    ((1, 0, 0), (1, 1, 1), 1, 0, (0, 1, 1)),  # slides 6 and 7
    ((1, 0, 1), (0, 1, 1), 1, 1, (0, 1, 1)),  # slide 8
    ((1, 1, 0), (0, 1, 1), 1, 1, (0, 1, 1)),  # slide 9
    ((1, 1, 1), (0, 1, 1), 1, 1, (0, 1, 1)),  # slide 10
    ((1, 0, 0), (0, 1, 1), 0, 0, (0, 1, 1)),  # slides 11 and 12 (the trace ends here)
]


# --- lecture 000: the OR trace -------------------------------------------------------

def test_or_trace_matches_the_slides_row_by_row():
    w, history = train_perceptron(add_bias(OR_X), OR_T, w0=[0, 1, 0], lr=1.0)
    for i, (x, w_before, y, t, w_after) in enumerate(OR_TRACE_FROM_SLIDES):
        step = history[i]
        assert_close(step.x, x, what=f"row {i} x")
        assert_close(step.w_before, w_before, what=f"row {i} w before")
        assert (step.y, step.t) == (y, t), f"row {i}: (y, t) = {(step.y, step.t)}"
        assert_close(step.w_after, w_after, what=f"row {i} w after")
    assert [s.epoch for s in history[:9]] == [1] * 4 + [2] * 4 + [3]


def test_or_training_stops_after_the_first_epoch_without_error():
    # The slides stop at the first row of epoch 3; the rest of that epoch makes no error
    # (w = (0, 1, 1) separates OR), so training ends after 3 epochs = 12 presentations.
    w, history = train_perceptron(add_bias(OR_X), OR_T, w0=[0, 1, 0])
    assert len(history) == 12
    assert all(s.y == s.t for s in history[8:])
    assert_close(w, [0, 1, 1])
    assert predict(w, add_bias(OR_X)).tolist() == OR_T


def test_history_table_has_the_lecture_columns():
    _, history = train_perceptron(add_bias(OR_X), OR_T, w0=[0, 1, 0])
    rows = history_table(history)
    assert list(rows[1]) == ["epoch", "x_0", "x_1", "x_2", "w_0", "w_1", "w_2", "y", "t",
                             "new_w_0", "new_w_1", "new_w_2"]
    assert list(rows[1].values()) == [1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1]
    lines = format_history(history).splitlines()
    assert len(lines) == len(history) + 1 and lines[0].split()[0] == "epoch"
    assert lines[2].split() == ["1", "1", "0", "1", "0", "1", "0", "0", "1", "1", "1", "1"]
    assert format_history([]) == ""


# --- properties on random data --------------------------------------------------------

@given(seed=seeds, n=st.integers(1, 12), d=small_dims, lr=st.sampled_from([0.1, 0.5, 1.0, 2.0]))
def test_history_is_a_chain_of_perceptron_steps(seed, n, d, lr):
    rng = np.random.default_rng(seed)
    X = add_bias(rng.standard_normal((n, d)))
    t = rng.integers(0, 2, n)
    w, history = train_perceptron(X, t, w0=rng.standard_normal(d + 1), lr=lr, epochs=5)
    assert len(history) % n == 0 and len(history) <= 5 * n
    for i, step in enumerate(history):
        assert isinstance(step, PerceptronStep)
        assert_close(step.x, X[i % n])
        assert step.t == t[i % n] and step.epoch == i // n + 1
        assert step.y == predict(step.w_before, step.x)
        assert_close(step.w_after, perceptron_step(step.w_before, step.x, step.t, lr=lr))
        if i + 1 < len(history):
            assert_close(history[i + 1].w_before, step.w_after)
    assert_close(w, history[-1].w_after)
    # It stops at the first epoch without error, or when the epochs run out.
    errors = [sum(s.y != s.t for s in history[e * n:(e + 1) * n]) for e in range(len(history) // n)]
    assert all(errors[:-1]) and (errors[-1] == 0 or len(errors) == 5)


@given(seed=seeds, d=small_dims)
def test_perceptron_converges_on_linearly_separable_data(seed, d):
    # Lecture 000, "Propriétés": convergence when the data are linearly separable.
    rng = np.random.default_rng(seed)
    w_star = rng.standard_normal(d + 1)
    X = add_bias(rng.uniform(-1, 1, (40, d)))
    X = X[np.abs(X @ w_star) > 0.1 * np.linalg.norm(w_star)]  # keep a margin
    t = (X @ w_star > 0).astype(int)
    w, history = train_perceptron(X, t, epochs=10_000)
    assert all(s.y == s.t for s in history[-len(X):])
    assert predict(w, X).tolist() == t.tolist()


@given(seed=seeds, n=st.integers(1, 10), d=small_dims)
def test_predict_equals_torch_heaviside(seed, n, d):
    rng = np.random.default_rng(seed)
    X, w = add_bias(rng.standard_normal((n, d))), rng.standard_normal(d + 1)
    s = torch.from_numpy(X) @ torch.from_numpy(w)
    expected = torch.heaviside(s, torch.tensor(0.0, dtype=torch.float64))  # H(0) = 0
    assert predict(w, X).tolist() == expected.long().tolist()
    assert predict(w, X[0]) == int(expected[0])


def test_predict_is_zero_on_the_hyperplane():
    assert predict([0.0, 1.0], [[1.0, 0.0]]).tolist() == [0]


def test_perceptron_step_does_not_modify_w():
    w = np.array([0.0, 1.0, 0.0])
    assert_close(perceptron_step(w, [1, 0, 1], 1, lr=0.5), [0.5, 1.0, 0.5])
    assert_close(w, [0.0, 1.0, 0.0])


# --- delta rule ------------------------------------------------------------------------

def _delta_rule_with_torch_sgd(X, t, lr, epochs, mode, w0, loss_scale=0.5):
    """Oracle: torch.optim.SGD on E = loss_scale * sum (t - x.w)^2 (one example online)."""
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    Xt, tt = torch.from_numpy(X), torch.from_numpy(t)
    rows = [slice(None)] if mode == "batch" else [slice(i, i + 1) for i in range(len(X))]
    for _ in range(epochs):
        for r in rows:
            opt.zero_grad()
            (loss_scale * ((tt[r] - Xt[r] @ w) ** 2).sum()).backward()
            opt.step()
    return w.detach().numpy()


@given(seed=seeds, n=st.integers(1, 10), d=small_dims, epochs=st.integers(1, 5),
       mode=st.sampled_from(["online", "batch"]))
def test_delta_rule_equals_torch_sgd(seed, n, d, epochs, mode):
    rng = np.random.default_rng(seed)
    X, t = add_bias(rng.standard_normal((n, d))), rng.standard_normal(n)
    w0 = rng.standard_normal(d + 1)
    lr = 0.5 / np.linalg.norm(X, 2) ** 2  # small enough not to diverge
    w, errors = train_delta_rule(X, t, lr=lr, epochs=epochs, mode=mode, w0=w0)
    assert_close(w, _delta_rule_with_torch_sgd(X, t, lr, epochs, mode, w0), atol=1e-12)
    assert errors.shape == (epochs,)
    assert_close(errors[-1], 0.5 * np.sum((t - X @ w) ** 2))


@given(seed=seeds, n=st.integers(1, 8), d=small_dims)
def test_delta_rule_follows_the_lecture_000_formulas(seed, n, d):
    rng = np.random.default_rng(seed)
    X, t, w0 = add_bias(rng.standard_normal((n, d))), rng.standard_normal(n), rng.standard_normal(d + 1)
    lr = 0.01
    # Batch: Delta w = sum_x eta x (t - y), y = w.x computed with the weights of the epoch start.
    expected = w0 + sum(lr * x * (tx - x @ w0) for x, tx in zip(X, t))
    assert_close(train_delta_rule(X, t, lr, 1, mode="batch", w0=w0)[0], expected)
    # Online: the same term applied right after each example.
    w = w0.copy()
    for x, tx in zip(X, t):
        w = w + lr * x * (tx - x @ w)
    assert_close(train_delta_rule(X, t, lr, 1, mode="online", w0=w0)[0], w)


@given(seed=seeds, n=st.integers(1, 8), d=small_dims, epochs=st.integers(1, 4))
def test_delta_rule_online_is_lecture_003_sgd_with_eta_twice_gamma(seed, n, d, epochs):
    # Lecture 003 (Panloup), exercise of slide "Descente de gradient stochastique":
    # theta <- theta - gamma * grad (y - <theta, x>)^2, the indices visited in order.
    rng = np.random.default_rng(seed)
    X, t, w0 = add_bias(rng.standard_normal((n, d))), rng.standard_normal(n), rng.standard_normal(d + 1)
    gamma = 0.1 / np.linalg.norm(X, 2) ** 2
    theta = _delta_rule_with_torch_sgd(X, t, gamma, epochs, "online", w0, loss_scale=1.0)
    assert_close(train_delta_rule(X, t, 2 * gamma, epochs, mode="online", w0=w0)[0], theta,
                 atol=1e-12)


@settings(max_examples=20)
@given(seed=seeds, d=small_dims, mode=st.sampled_from(["online", "batch"]))
def test_delta_rule_converges_to_least_squares(seed, d, mode):
    # Lecture 000, "Propriétés": converges for a small eta, separable data or not.
    rng = np.random.default_rng(seed)
    X, t = add_bias(rng.standard_normal((30, d))), rng.standard_normal(30)
    lr = (1.0 if mode == "batch" else 0.1) / np.linalg.norm(X, 2) ** 2
    w, errors = train_delta_rule(X, t, lr=lr, epochs=2000 if mode == "batch" else 200, mode=mode)
    w_ls = np.linalg.lstsq(X, t, rcond=None)[0]
    if mode == "batch":  # exact gradient descent: to the minimiser, E decreasing
        assert_close(w, w_ls, atol=1e-8, rtol=1e-8)
        assert np.all(np.diff(errors) <= 1e-12)
    else:  # a fixed eta online stops near, not at, the minimiser
        e_ls = 0.5 * np.sum((t - X @ w_ls) ** 2)
        assert errors[-1] <= e_ls * (1 + 0.05) + 1e-12


def test_delta_rule_with_too_large_eta_diverges_silently():
    X, t = add_bias([[1.0], [2.0], [3.0]]), np.array([1.0, 2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, errors = train_delta_rule(X, t, lr=10.0, epochs=400, mode="batch")
    assert errors[1] > errors[0] and not np.isfinite(errors[-1])


# --- bad inputs --------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, words", [
    (lambda: train_perceptron([1, 0, 1], [1]), ValueError, "'X' parameter of train_perceptron"),
    (lambda: train_perceptron(add_bias(OR_X), [0, 1, 2, 1]), ValueError, "only 0 and 1"),
    (lambda: train_perceptron(add_bias(OR_X), [0, 1]), ValueError, "'t' parameter"),
    (lambda: train_perceptron(add_bias(OR_X), OR_T, w0=[0, 1]), ValueError, "'w0' parameter"),
    (lambda: train_perceptron(add_bias(OR_X), OR_T, lr=0), ValueError, "'lr' parameter"),
    (lambda: train_perceptron(add_bias(OR_X), OR_T, epochs=0), ValueError, "'epochs' parameter"),
    (lambda: train_perceptron("abc", OR_T), TypeError, "'X' parameter"),
    (lambda: predict([0, 1], [[1, 0, 0]]), ValueError, "2 columns"),
    (lambda: predict([[0, 1]], [[1, 0]]), ValueError, "'w' parameter of predict"),
    (lambda: perceptron_step([0, 1], [[1, 0]], 1), ValueError, "'x' parameter"),
    (lambda: perceptron_step([0, 1], [1, 0], 0.5), ValueError, "'t' parameter"),
    (lambda: perceptron_step([0, 1], [1, np.nan], 1), ValueError, "finite"),
    (lambda: add_bias(np.zeros((2, 2, 2))), ValueError, "'X' parameter of add_bias"),
    (lambda: train_delta_rule(add_bias(OR_X), OR_T, 0.1, 3, mode="minibatch"), ValueError, "'mode'"),
    (lambda: train_delta_rule(add_bias(OR_X), OR_T, -0.1, 3), ValueError, "'lr'"),
    (lambda: train_delta_rule(add_bias(OR_X), OR_T, 0.1, 2.5), ValueError, "'epochs'"),
    (lambda: train_delta_rule(add_bias(OR_X), [1, 2], 0.1, 3), ValueError, "'t' parameter"),
    (lambda: train_delta_rule(add_bias(OR_X), OR_T, 0.1, 3, w0=[1]), ValueError, "'w0' parameter"),
    (lambda: train_perceptron(np.zeros((0, 3)), np.zeros(0)), ValueError, "'X'.*at least one row"),
    (lambda: train_delta_rule(np.zeros((0, 3)), np.zeros(0), 0.1, 5), ValueError, "at least one row"),
    (lambda: history_table(train_perceptron(add_bias(OR_X), OR_T)), TypeError,
     r"'history'.*list of PerceptronStep"),
])
def test_bad_inputs_raise_documented_errors(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
