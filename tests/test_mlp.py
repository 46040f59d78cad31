"""MLP: forward vs torch, backward vs autograd, the lecture's delta formulas written as
loops, finite differences, parameter counts of the lectures, XOR."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import assert_close, layer_sizes, seeds

from dlcourse.gradcheck import gradient_check
from dlcourse.mlp import (ACTIVATIONS, backward, count_parameters, forward, init_params,
                          train_mlp)

TORCH_PHI = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
             "identity": lambda s: s}
activations = st.sampled_from(sorted(ACTIVATIONS))
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_T = np.array([[0], [1], [1], [0]], dtype=float)


def _case(seed, sizes, n):
    rng = np.random.default_rng(seed)
    params = [(2 * W, 2 * b) for W, b in init_params(sizes, seed=seed)]  # livelier units
    return params, rng.standard_normal((n, sizes[0])), rng.uniform(0, 1, (n, sizes[-1]))


def _torch_net(params, activation, output_activation):
    """nn.Linear layers holding our parameters: the same (n_out, n_in) layout."""
    layers, phis = [], [activation] * (len(params) - 1) + [output_activation or activation]
    for W, b in params:
        lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
    def net(x):
        outs = [x]
        for lin, phi in zip(layers, phis):
            outs.append(TORCH_PHI[phi](lin(outs[-1])))
        return outs
    return net, layers


@given(seed=seeds, sizes=layer_sizes(), n=st.integers(1, 8), activation=activations,
       output_activation=st.one_of(st.none(), activations))
def test_forward_equals_torch(seed, sizes, n, activation, output_activation):
    params, X, _ = _case(seed, sizes, n)
    net, _ = _torch_net(params, activation, output_activation)
    ours = forward(params, X, activation=activation, output_activation=output_activation)
    theirs = net(torch.from_numpy(X))
    assert len(ours) == len(params) + 1
    assert ours[0] is X or np.array_equal(ours[0], X)  # the input comes first
    for l, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a, b.detach().numpy(), what=f"outputs[{l}]")


@given(seed=seeds, sizes=layer_sizes(), n=st.integers(1, 8), activation=activations,
       output_activation=st.one_of(st.none(), activations))
def test_backward_equals_autograd(seed, sizes, n, activation, output_activation):
    params, X, T = _case(seed, sizes, n)
    net, layers = _torch_net(params, activation, output_activation)
    Y = net(torch.from_numpy(X))[-1]
    (0.5 * ((torch.from_numpy(T) - Y) ** 2).sum()).backward()  # E summed over the batch
    grads = backward(params, forward(params, X, activation, output_activation), T,
                     activation=activation, output_activation=output_activation)
    assert len(grads) == len(params)
    for l, ((dW, db), lin) in enumerate(zip(grads, layers)):
        assert_close(dW, lin.weight.grad.numpy(), what=f"dW[{l}]")
        assert_close(db, lin.bias.grad.numpy(), what=f"db[{l}]")


@given(seed=seeds, n_in=st.integers(1, 4), n_hidden=st.integers(1, 4), n_out=st.integers(1, 3),
       n=st.integers(1, 5))
def test_backward_is_the_lecture_000_delta_recursion(seed, n_in, n_hidden, n_out, n):
    # Lecture 000 (Lefort), "Perceptron multi-couches", written one neuron at a time:
    # delta_k = y_k (1 - y_k)(t_k - y_k), delta_j = y_j (1 - y_j) sum_k delta_k w_kj,
    # Delta w = eta sum_x delta y  =>  dE/dw = -sum_x delta y.
    params, X, T = _case(seed, [n_in, n_hidden, n_out], n)
    (W1, b1), (W2, b2) = params
    sig = lambda s: 1 / (1 + np.exp(-s))
    dW1, db1, dW2, db2 = np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), np.zeros_like(b2)
    for x, t in zip(X, T):
        y_hidden = [sig(sum(W1[j, i] * x[i] for i in range(n_in)) + b1[j]) for j in range(n_hidden)]
        y_out = [sig(sum(W2[k, j] * y_hidden[j] for j in range(n_hidden)) + b2[k]) for k in range(n_out)]
        delta_k = [y_out[k] * (1 - y_out[k]) * (t[k] - y_out[k]) for k in range(n_out)]
        delta_j = [y_hidden[j] * (1 - y_hidden[j]) * sum(delta_k[k] * W2[k, j] for k in range(n_out))
                   for j in range(n_hidden)]
        for k in range(n_out):
            db2[k] -= delta_k[k]
            for j in range(n_hidden):
                dW2[k, j] -= delta_k[k] * y_hidden[j]
        for j in range(n_hidden):
            db1[j] -= delta_j[j]
            for i in range(n_in):
                dW1[j, i] -= delta_j[j] * x[i]
    (gW1, gb1), (gW2, gb2) = backward(params, forward(params, X), T)
    for ours, loops in [(gW1, dW1), (gb1, db1), (gW2, dW2), (gb2, db2)]:
        assert_close(ours, loops)


@given(seed=seeds, sizes=layer_sizes(max_layers=3, max_width=4), n=st.integers(1, 4),
       activation=st.sampled_from(["sigmoid", "tanh", "identity"]))
def test_backward_passes_finite_differences(seed, sizes, n, activation):
    params, X, T = _case(seed, sizes, n)
    E = lambda: 0.5 * np.sum((T - forward(params, X, activation)[-1]) ** 2)
    grads = backward(params, forward(params, X, activation), T, activation)
    for (W, b), (dW, db) in zip(params, grads):
        gradient_check(lambda _: E(), W, dW)  # W is perturbed in place, read by E
        gradient_check(lambda _: E(), b, db)


def test_parameter_count_of_the_lecture_003_exercise():
    # Lecture 003 (Panloup), slide "Paramètres": input of dimension 2, 3 hidden neurons,
    # one quantitative output: W1 (3 x 2) + b1 (3) + W2 (1 x 3) + b2 (1) = 13.
    assert count_parameters([2, 3, 1]) == 3 * 2 + 3 + 1 * 3 + 1 == 13


def test_parameter_count_of_784_16_16_10():
    # Lecture 001 (Mahmoudi), slide "Exemple de calcul d'erreur": "13,002 weights/biases".
    assert count_parameters([784, 16, 16, 10]) == 13002


@given(sizes=layer_sizes(max_layers=5, max_width=50), seed=seeds)
def test_count_parameters_equals_init_params_and_torch(sizes, seed):
    params = init_params(sizes, seed=seed)
    _, layers = _torch_net(params, "sigmoid", None)
    n_torch = sum(p.numel() for lin in layers for p in lin.parameters())
    assert count_parameters(sizes) == sum(W.size + b.size for W, b in params) == n_torch


@given(sizes=layer_sizes(max_width=30), seed=seeds)
def test_init_params_shapes_law_and_determinism(sizes, seed):
    params = init_params(sizes, seed=seed)
    for (W, b), n_in, n_out in zip(params, sizes[:-1], sizes[1:]):
        assert W.shape == (n_out, n_in) and b.shape == (n_out,)
        assert np.abs(W).max() <= 1 / np.sqrt(n_in) and np.abs(b).max() <= 1 / np.sqrt(n_in)
    again = init_params(sizes, seed=seed)
    assert all(np.array_equal(W, W2) and np.array_equal(b, b2)
               for (W, b), (W2, b2) in zip(params, again))


def test_init_params_follows_pytorchs_uniform_law():
    """U(-1/sqrt(n_in), 1/sqrt(n_in)), as nn.Linear: on a wide layer the extremes reach the bound
    and the variance is 1/(3 n_in)."""
    (W, b), = init_params([400, 500], seed=0)
    bound = 1 / np.sqrt(400)
    assert bound * 0.99 < np.abs(W).max() <= bound
    assert np.var(W) == pytest.approx(bound ** 2 / 3, rel=0.02)
    assert abs(W.mean()) < 0.01 * bound
    assert bound * 0.9 < np.abs(b).max() <= bound


@pytest.mark.parametrize("mode", ["batch", "online"])
def test_train_mlp_learns_xor(mode):
    params, errors = train_mlp(XOR_X, XOR_T, mode=mode, seed=0)
    y = forward(params, XOR_X)[-1]
    assert ((y > 0.5) == (XOR_T == 1)).all(), f"outputs {y.ravel()}"
    assert errors[-1] < 0.01 < errors[0]
    again, _ = train_mlp(XOR_X, XOR_T, mode=mode, seed=0)
    assert all(np.array_equal(W, W2) for (W, _), (W2, _) in zip(params, again))


@given(seed=seeds, sizes=layer_sizes(max_width=4), n=st.integers(1, 5), epochs=st.integers(1, 3),
       mode=st.sampled_from(["batch", "online"]), activation=activations)
def test_train_mlp_equals_torch_sgd(seed, sizes, n, epochs, mode, activation):
    _, X, T = _case(seed, sizes, n)
    lr = 0.05  # small enough that no drawn case diverges (0.3 overflowed a linear net: NaN == NaN fails)
    params, errors = train_mlp(X, T, hidden=sizes[1:-1], lr=lr, epochs=epochs, mode=mode,
                               activation=activation, seed=seed)
    net, layers = _torch_net(init_params(sizes, seed=seed), activation, None)
    opt = torch.optim.SGD([p for lin in layers for p in lin.parameters()], lr=lr)
    Xt, Tt = torch.from_numpy(X), torch.from_numpy(T)
    rows = [slice(None)] if mode == "batch" else [slice(i, i + 1) for i in range(n)]
    for _ in range(epochs):
        for r in rows:
            opt.zero_grad()
            (0.5 * ((Tt[r] - net(Xt[r])[-1]) ** 2).sum()).backward()
            opt.step()
    for (W, b), lin in zip(params, layers):
        assert_close(W, lin.weight.detach().numpy(), atol=1e-9)
        assert_close(b, lin.bias.detach().numpy(), atol=1e-9)
    assert_close(errors[-1], 0.5 * ((Tt - net(Xt)[-1]) ** 2).sum().item(), atol=1e-9)


GOOD = init_params([2, 3, 1], seed=0)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: init_params([2]), ValueError, "'sizes' parameter of init_params"),
    (lambda: init_params([2, 0, 1]), ValueError, "'sizes' parameter of init_params must be a positive"),
    (lambda: init_params("21"), ValueError, "'sizes'"),
    (lambda: count_parameters([784, -16, 10]), ValueError, "'sizes' parameter of count_parameters"),
    (lambda: forward(GOOD, np.zeros((4, 3))), ValueError, r"shape \(n_samples, 2\)"),
    (lambda: forward(GOOD, np.zeros(2)), ValueError, "'X' parameter of forward"),
    (lambda: forward(GOOD, XOR_X, activation="softplus"), ValueError, "'activation' parameter"),
    (lambda: forward(GOOD, XOR_X, output_activation="x"), ValueError, "'output_activation'"),
    (lambda: forward([(np.zeros((3, 2)), np.zeros(3)), (np.zeros((1, 2)), np.zeros(1))], XOR_X),
     ValueError, "must chain layers"),
    (lambda: forward([(np.zeros((3, 2)), np.zeros(2))], XOR_X), ValueError, "must chain layers"),
    (lambda: forward([], XOR_X), ValueError, "'params' parameter"),
    (lambda: backward(GOOD, forward(GOOD, XOR_X), XOR_T.ravel()), ValueError, r"'T' parameter.*\(4, 1\)"),
    (lambda: backward(GOOD, forward(GOOD, XOR_X)[1:], XOR_T), ValueError, "'outputs' parameter"),
    (lambda: backward(GOOD, forward(GOOD, XOR_X)[:1] + forward(GOOD, XOR_X[:2])[1:], XOR_T),
     ValueError, "'outputs' parameter"),
    (lambda: train_mlp(XOR_X, XOR_T[:3]), ValueError, "'T' parameter of train_mlp"),
    (lambda: train_mlp(XOR_X, XOR_T, hidden=3), ValueError, "'hidden' parameter"),
    (lambda: train_mlp(XOR_X, XOR_T, lr=0), ValueError, "'lr' parameter"),
    (lambda: train_mlp(XOR_X, XOR_T, mode="stochastic"), ValueError, "'mode' parameter"),
    (lambda: train_mlp(np.zeros((0, 2)), np.zeros((0, 1))), ValueError, "'X'.*at least one row"),
    (lambda: train_mlp(XOR_X, XOR_T, seed=-1), ValueError, "'seed' parameter of train_mlp"),
    (lambda: train_mlp(XOR_X, XOR_T, hidden=[0]), ValueError, "'hidden' parameter of train_mlp"),
    (lambda: init_params([2, 3, 1], seed="a"), TypeError, "'seed' parameter of init_params"),
])
def test_bad_inputs_raise_documented_errors(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
