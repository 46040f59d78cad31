"""dlcourse.optim: step-by-step agreement with torch.optim, in-place semantics, errors."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import assert_close, seeds

from dlcourse.optim import SGD, Adagrad, Adam

N_STEPS = 12
param_shapes = st.lists(
    st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple), min_size=1, max_size=3)


def _run_both(ours_cls, torch_cls, shapes, seed, ours_kw, torch_kw, n_steps=N_STEPS):
    """Run both optimisers on the same parameters and gradients; compare after each step."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) for s in shapes]
    tparams = [torch.tensor(p.copy(), dtype=torch.float64, requires_grad=True) for p in params]
    ours, theirs = ours_cls(params, **ours_kw), torch_cls(tparams, **torch_kw)
    for step in range(n_steps):
        # Gradients of varied scale (and some exact zeros) exercise the adaptive methods.
        grads = [np.array(rng.standard_normal(s) * 10.0 ** rng.integers(-3, 2)) for s in shapes]
        grads[0][...] *= rng.random(shapes[0]) > 0.2
        ours.step(grads)
        for tp, g in zip(tparams, grads):
            tp.grad = torch.from_numpy(g.copy())
        theirs.step()
        for i, (p, tp) in enumerate(zip(params, tparams)):
            assert_close(p, tp.detach().numpy(), what=f"step {step + 1}, param {i}")
    assert ours.t == n_steps


@given(shapes=param_shapes, seed=seeds, lr=st.floats(1e-3, 1.0),
       momentum=st.sampled_from([0.0, 0.5, 0.9, 0.99]))
def test_sgd_matches_torch(shapes, seed, lr, momentum):
    _run_both(SGD, torch.optim.SGD, shapes, seed, dict(lr=lr, momentum=momentum),
              dict(lr=lr, momentum=momentum))


@given(shapes=param_shapes, seed=seeds, lr=st.floats(1e-3, 1.0),
       eps=st.sampled_from([1e-10, 1e-6, 1e-2]))
def test_adagrad_matches_torch(shapes, seed, lr, eps):
    _run_both(Adagrad, torch.optim.Adagrad, shapes, seed, dict(lr=lr, eps=eps),
              dict(lr=lr, eps=eps))


@given(shapes=param_shapes, seed=seeds, lr=st.floats(1e-4, 0.5),
       beta1=st.sampled_from([0.0, 0.5, 0.9]), beta2=st.sampled_from([0.9, 0.999, 0.9999]),
       eps=st.sampled_from([1e-8, 1e-3]))
def test_adam_matches_torch(shapes, seed, lr, beta1, beta2, eps):
    kw = dict(lr=lr, betas=(beta1, beta2), eps=eps)
    _run_both(Adam, torch.optim.Adam, shapes, seed, kw, kw)


def test_default_hyperparameters_match_torch():
    _run_both(Adam, torch.optim.Adam, [(3, 2), (2,)], 0, {}, {})
    _run_both(Adagrad, torch.optim.Adagrad, [(4,)], 1, dict(lr=0.1), dict(lr=0.1))


@given(seed=seeds, momentum=st.sampled_from([0.5, 0.9]))
def test_momentum_equals_lecture_form_for_constant_lr(seed, momentum):
    """Lecture 002's v = γ v + η g; w = w - v makes the same moves as v = μ v + g; w -= η v."""
    rng = np.random.default_rng(seed)
    lr = 0.05
    w = rng.standard_normal(4)
    w_lecture, v_lecture = w.copy(), np.zeros(4)
    opt = SGD([w], lr=lr, momentum=momentum)
    for _ in range(N_STEPS):
        g = rng.standard_normal(4)
        opt.step([g])
        v_lecture = momentum * v_lecture + lr * g
        w_lecture = w_lecture - v_lecture
        assert_close(w, w_lecture, atol=1e-12, rtol=1e-12)


def test_lr_schedule_matches_torch():
    """Changing opt.lr between steps has the same effect as changing torch's param_group lr."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal(5)
    tw = torch.tensor(w.copy(), requires_grad=True)
    ours, theirs = SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    for step in range(N_STEPS):
        lr = 0.1 * 0.5 ** (step // 3)
        ours.lr = lr
        theirs.param_groups[0]["lr"] = lr
        g = rng.standard_normal(5)
        ours.step([g])
        tw.grad = torch.from_numpy(g.copy())
        theirs.step()
        assert_close(w, tw.detach().numpy())


@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: Adagrad(p, lr=0.1), lambda p: Adam(p)])
def test_step_updates_in_place(make):
    W, b = np.ones((2, 3)), np.zeros(2)
    ids = (id(W), id(b))
    view = W[0]  # a view sees the in-place update
    opt = make([W, b])
    assert opt.step([np.ones((2, 3)), np.ones(2)]) is None
    assert (id(opt.params[0]), id(opt.params[1])) == ids
    assert np.all(W < 1) and np.all(b < 0) and np.all(view < 1)


def test_float32_params_stay_float32_and_in_place():
    W = np.ones(3, dtype=np.float32)
    Adam([W], lr=0.1).step([np.ones(3)])
    assert W.dtype == np.float32 and np.allclose(W, 0.9)


def test_failed_step_changes_nothing():
    W, b = np.ones(2), np.ones(3)
    opt = SGD([W, b], lr=0.1)
    with pytest.raises(ValueError, match=r"grads\[1\].*shape \(3,\).*Got an array of shape \(2,\)"):
        opt.step([np.ones(2), np.ones(2)])
    assert np.all(W == 1) and opt.t == 0


@pytest.mark.parametrize("make, exc, pattern", [
    (lambda: SGD([np.ones(2)], lr=0), ValueError, r"'lr' parameter of SGD must be a number > 0. Got 0"),
    (lambda: SGD([np.ones(2)], lr=-1.0), ValueError, r"'lr'"),
    (lambda: SGD([np.ones(2)], lr=0.1, momentum=1.0), ValueError, r"'momentum'.*\[0, 1\)"),
    (lambda: SGD([np.ones(2)], lr=0.1, momentum=-0.1), ValueError, r"'momentum'"),
    (lambda: SGD(np.ones(2), lr=0.1), TypeError, r"'params'.*list of NumPy float arrays"),
    (lambda: SGD([], lr=0.1), ValueError, r"'params'.*non-empty"),
    (lambda: SGD([[1.0, 2.0]], lr=0.1), TypeError, r"'params\[0\]'.*NumPy float array"),
    (lambda: SGD([np.ones(2, dtype=int)], lr=0.1), TypeError, r"'params\[0\]'.*int"),
    (lambda: Adagrad([np.ones(2)], lr=0.1, eps=0.0), ValueError, r"'eps' parameter of Adagrad"),
    (lambda: Adam([np.ones(2)], betas=(0.9, 1.0)), ValueError, r"'betas\[1\]'.*\[0, 1\)"),
    (lambda: Adam([np.ones(2)], betas=0.9), TypeError, r"'betas'.*pair"),
    (lambda: Adam([np.ones(2)], lr=float("nan")), ValueError, r"'lr' parameter of Adam"),
    (lambda: SGD([np.ones(2)], lr="0.1"), TypeError, r"'lr' parameter of SGD must be a number > 0"),
    (lambda: setattr(SGD([np.ones(2)], lr=0.1), "lr", -0.1), ValueError, r"'lr' parameter of SGD.*-0.1"),
    (lambda: setattr(Adam([np.ones(2)]), "lr", 0.0), ValueError, r"'lr' parameter of Adam"),
    (lambda: SGD([W := np.ones(2), W], lr=0.1), ValueError, r"'params\[1\]'.*shares memory with params\[0\]"),
])
def test_bad_hyperparameters(make, exc, pattern):
    with pytest.raises(exc, match=pattern):
        make()


def test_read_only_param_rejected():
    W = np.ones(2)
    W.flags.writeable = False
    with pytest.raises(ValueError, match=r"'params\[0\]'.*writeable"):
        SGD([W], lr=0.1)


@pytest.mark.parametrize("cls", [SGD, Adagrad, Adam])
def test_bad_grads(cls):
    opt = cls([np.ones((2, 2)), np.ones(3)], lr=0.1)
    with pytest.raises(ValueError, match=r"'grads' parameter of .*step must be a list of 2 arrays"):
        opt.step([np.ones((2, 2))])
    with pytest.raises(ValueError, match=r"'grads\[0\]'.*\(2, 2\).*\(4,\)"):
        opt.step([np.ones(4), np.ones(3)])
    with pytest.raises(TypeError, match=r"'grads'"):
        opt.step(np.ones(3))
    with pytest.raises(ValueError, match=r"'grads\[1\]'.*finite"):
        opt.step([np.ones((2, 2)), np.array([1.0, np.nan, 0.0])])
    assert opt.t == 0
