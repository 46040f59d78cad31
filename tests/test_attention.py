"""dlcourse.attention: the lecture 004 self-attention vs PyTorch, masks, shapes, errors."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import assert_close, seeds

from dlcourse.attention import (causal_mask, masked_self_attention,
                                scaled_dot_product_attention, self_attention)


@st.composite
def attention_cases(draw, batched=None):
    """H (R, D) or (N, R, D), Wq, Wk (L, D), Wv (Dv, D)."""
    seed = draw(seeds)
    R, D, L, Dv = (draw(st.integers(1, 6)) for _ in range(4))
    batched = draw(st.booleans()) if batched is None else batched
    lead = (draw(st.integers(1, 3)),) if batched else ()
    rng = np.random.default_rng(seed)
    return {
        "H": rng.standard_normal(lead + (R, D)),
        "Wq": rng.standard_normal((L, D)),
        "Wk": rng.standard_normal((L, D)),
        "Wv": rng.standard_normal((Dv, D)),
        "rng": rng,
    }


def _torch_lecture_formula(H, Wq, Wk, Wv, mask=None):
    """softmax((QH)(KH)^T / sqrt(L)) (VH) with QH = H Wq^T (rows are tokens), in torch."""
    H, Wq, Wk, Wv = (torch.from_numpy(a) for a in (H, Wq, Wk, Wv))
    scores = (H @ Wq.T) @ (H @ Wk.T).transpose(-1, -2) / math.sqrt(Wq.shape[0])
    if mask is not None:
        scores = scores.masked_fill(~torch.from_numpy(mask), float("-inf"))
    return (torch.softmax(scores, dim=-1) @ (H @ Wv.T)).numpy()


def _sdpa(H, Wq, Wk, Wv, mask=None):
    H, Wq, Wk, Wv = (torch.from_numpy(a) for a in (H, Wq, Wk, Wv))
    m = None if mask is None else torch.from_numpy(mask)
    return F.scaled_dot_product_attention(H @ Wq.T, H @ Wk.T, H @ Wv.T, attn_mask=m).numpy()


@given(case=attention_cases())
def test_self_attention_matches_torch(case):
    H, Wq, Wk, Wv = case["H"], case["Wq"], case["Wk"], case["Wv"]
    S, A = self_attention(H, Wq, Wk, Wv, return_weights=True)
    R, Dv = H.shape[-2], Wv.shape[0]
    assert S.shape == H.shape[:-1] + (Dv,) and A.shape == H.shape[:-1] + (R,)
    assert_close(S, _torch_lecture_formula(H, Wq, Wk, Wv), what="vs lecture formula in torch")
    assert_close(S, _sdpa(H, Wq, Wk, Wv), what="vs F.scaled_dot_product_attention")
    assert_close(A.sum(axis=-1), np.ones(A.shape[:-1]), what="rows of weights")
    assert np.all(A >= 0)


@given(case=attention_cases())
def test_masked_self_attention_matches_torch(case):
    H, Wq, Wk, Wv, rng = case["H"], case["Wq"], case["Wk"], case["Wv"], case["rng"]
    R = H.shape[-2]
    mask = rng.random(H.shape[:-1] + (R,)) < 0.5
    mask[..., np.arange(R), rng.integers(0, R, size=R)] = True  # >= 1 allowed key per row
    S, A = masked_self_attention(H, Wq, Wk, Wv, mask, return_weights=True)
    assert_close(S, _torch_lecture_formula(H, Wq, Wk, Wv, mask))
    assert_close(S, _sdpa(H, Wq, Wk, Wv, mask))
    assert np.all(A[~mask] == 0)


@given(case=attention_cases())
def test_causal_mask_matches_torch_is_causal(case):
    H, Wq, Wk, Wv = case["H"], case["Wq"], case["Wk"], case["Wv"]
    R = H.shape[-2]
    S = masked_self_attention(H, Wq, Wk, Wv, causal_mask(R))
    t = [torch.from_numpy(H) @ torch.from_numpy(W).T for W in (Wq, Wk, Wv)]
    assert_close(S, F.scaled_dot_product_attention(*t, is_causal=True).numpy())
    # Token r does not see the future: changing the last token leaves the others unchanged.
    H2 = H.copy()
    H2[..., -1, :] += 1.0
    S2 = masked_self_attention(H2, Wq, Wk, Wv, causal_mask(R))
    assert_close(S2[..., :-1, :], S[..., :-1, :])
    # The first token only attends to itself.
    assert_close(S[..., 0, :], H[..., 0, :] @ Wv.T)


@given(case=attention_cases(batched=False))
def test_self_attention_is_permutation_equivariant(case):
    """Permuting the R input vectors permutes the outputs the same way (no position)."""
    H, Wq, Wk, Wv, rng = case["H"], case["Wq"], case["Wk"], case["Wv"], case["rng"]
    perm = rng.permutation(H.shape[0])
    assert_close(self_attention(H[perm], Wq, Wk, Wv), self_attention(H, Wq, Wk, Wv)[perm])


@given(case=attention_cases(batched=True))
def test_batch_is_independent_samples(case):
    H, Wq, Wk, Wv = case["H"], case["Wq"], case["Wk"], case["Wv"]
    S = self_attention(H, Wq, Wk, Wv)
    for n in range(H.shape[0]):
        assert_close(S[n], self_attention(H[n], Wq, Wk, Wv))


def test_softmax_is_stable_for_large_scores():
    H = np.array([[1000.0, 0.0], [0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        S = self_attention(H, np.eye(2), np.eye(2), np.eye(2))
    assert_close(S, H)  # each token attends (almost surely) to itself


def test_scaled_dot_product_attention_direct():
    rng = np.random.default_rng(0)
    Q, K, V = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    expected = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (Q, K, V)))
    assert_close(scaled_dot_product_attention(Q, K, V), expected.numpy())


def test_causal_mask_values():
    assert np.array_equal(causal_mask(3), np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], bool))
    with pytest.raises(ValueError, match=r"'n' parameter of causal_mask"):
        causal_mask(0)


H3, W23, W33 = np.ones((3, 2)), np.ones((4, 2)), np.ones((3, 3))


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: self_attention(np.ones(3), W23, W23, W23), ValueError,
     r"'H' parameter of self_attention must be an array of shape \(R, D\) or \(N, R, D\)"),
    (lambda: self_attention(H3, W33, W23, W23), ValueError,
     r"'Wq'.*shape \(L, 2\).*Got an array of shape \(3, 3\)"),
    (lambda: self_attention(H3, W23, np.ones((5, 2)), W23), ValueError,
     r"'Wk'.*shape \(4, 2\) \(as Wq\)"),
    (lambda: self_attention(H3, W23, W23, np.ones(2)), ValueError, r"'Wv'"),
    (lambda: self_attention(H3, np.ones((0, 2)), np.ones((0, 2)), W23), ValueError,
     r"'Wq'.*L >= 1"),
    (lambda: self_attention(H3, W23, W23, W23, mask=np.ones((3, 3))), TypeError,
     r"'mask'.*boolean.*float64"),
    (lambda: self_attention(H3, W23, W23, W23, mask=np.ones((2, 2), bool)), ValueError,
     r"'mask'.*shape \(3, 3\)"),
    (lambda: self_attention(H3, W23, W23, W23, mask=~causal_mask(3)), ValueError,
     r"at least one True per row"),
    (lambda: masked_self_attention(H3, W23, W23, W23, None), TypeError, r"'mask'"),
    (lambda: self_attention(np.full((3, 2), np.nan), W23, W23, W23), ValueError, r"finite"),
    (lambda: self_attention(np.zeros((4, 0)), np.zeros((2, 0)), np.zeros((2, 0)), np.zeros((3, 0))),
     ValueError, r"'H'.*every size >= 1"),
    (lambda: self_attention(H3, W23, W23, np.ones((3, 3))), ValueError, r"'Wv'.*shape \(Dv, 2\)"),
    (lambda: self_attention(H3, W23, W23, W23, return_weights="no"), TypeError, r"'return_weights'"),
])
def test_bad_inputs(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
