"""dlcourse.conv: equal to PyTorch, loops equal to the vectorised code, the slides' numbers."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from strategies import assert_close, conv_cases, random_array, seeds

from dlcourse import conv
from dlcourse.conv import (KERNELS, conv2d, conv2d_backward, conv2d_backward_naive, conv2d_naive,
                           conv_output_size, filter_image)
from dlcourse.gradcheck import numerical_gradient


def torch_conv(case, dout=None, bias=True):
    """Output and (if dout is given) autograd gradients of F.conv2d in float64."""
    x = torch.tensor(case["x"], requires_grad=True)
    w = torch.tensor(case["w"], requires_grad=True)
    b = torch.tensor(case["b"], requires_grad=True) if bias else None
    y = F.conv2d(x, w, b, stride=case["stride"], padding=case["padding"])
    if dout is None:
        return y.detach().numpy()
    y.backward(torch.tensor(dout))
    return y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), (b.grad.numpy() if bias else None)


def args(case):
    return case["x"], case["w"], case["b"]


# --------------------------------------------------------------------------- forward


@given(conv_cases(), st.booleans())
def test_conv2d_equals_torch(case, bias):
    x, w, b = args(case)
    expected = torch_conv(case, bias=bias)
    got = conv2d(x, w, b if bias else None, stride=case["stride"], padding=case["padding"])
    assert_close(got, expected, what="conv2d")
    assert got.dtype == np.float64


@given(conv_cases(max_hw=7, max_k=3))
def test_conv2d_naive_equals_vectorised(case):
    x, w, b = args(case)
    kw = dict(stride=case["stride"], padding=case["padding"])
    assert_close(conv2d_naive(x, w, b, **kw), conv2d(x, w, b, **kw), what="conv2d_naive")


@given(seeds, st.tuples(st.integers(1, 3), st.integers(1, 3)),
       st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_conv2d_accepts_pairs_as_torch(seed, stride, padding):
    x, w = random_array(seed, (2, 2, 7, 6)), random_array(seed + 1, (3, 2, 3, 2))
    expected = F.conv2d(torch.tensor(x), torch.tensor(w), stride=stride, padding=padding).numpy()
    assert_close(conv2d(x, w, stride=stride, padding=padding), expected, what="conv2d pairs")
    assert_close(conv2d_naive(x, w, stride=stride, padding=padding), expected, what="naive pairs")


@given(conv_cases())
def test_conv_output_size_gives_the_output_shape(case):
    x, w, b = args(case)
    y = conv2d(x, w, b, stride=case["stride"], padding=case["padding"])
    pair = lambda v: v if isinstance(v, tuple) else (v, v)
    for axis, p, s in zip((2, 3), pair(case["padding"]), pair(case["stride"])):
        assert y.shape[axis] == conv_output_size(x.shape[axis], w.shape[axis], p, s)


def test_conv_output_size_formula():
    # floor((n + 2p - k) / s) + 1 (Lecture 000, "Couche de convolution - Bilan").
    assert conv_output_size(31, 3, padding=1, stride=2) == 16  # CS231n's shape
    assert conv_output_size(28, 5) == 24  # LeNet's first convolution, no padding
    assert conv_output_size(28, 5, padding=2) == 28
    assert conv_output_size(5, 3, stride=2) == 2
    assert conv_output_size(6, 3, stride=2) == 2  # the floor drops the last column
    assert conv_output_size(3, 5, padding=1) == 1


def test_float32_stays_float32_and_matches_torch():
    x = random_array(0, (4, 3, 11, 9)).astype(np.float32)
    w = random_array(1, (5, 3, 3, 3)).astype(np.float32)
    y = conv2d(x, w, stride=2, padding=1)
    assert y.dtype == np.float32
    expected = F.conv2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1).numpy()
    assert_close(y, expected, atol=1e-5, rtol=1e-5, what="float32 conv2d")
    dx, dw, db = conv2d_backward(np.ones_like(y), x, w, stride=2, padding=1)
    assert dx.dtype == dw.dtype == db.dtype == np.float32


# --------------------------------------------------------------------------- backward


@given(conv_cases(), seeds)
def test_conv2d_backward_equals_autograd(case, seed):
    x, w, b = args(case)
    y = conv2d(x, w, b, stride=case["stride"], padding=case["padding"])
    dout = random_array(seed, y.shape)
    _, dx_t, dw_t, db_t = torch_conv(case, dout)
    dx, dw, db = conv2d_backward(dout, x, w, stride=case["stride"], padding=case["padding"])
    assert_close(dx, dx_t, what="dx")
    assert_close(dw, dw_t, what="dw")
    assert_close(db, db_t, what="db")


@given(conv_cases(max_hw=7, max_k=3), seeds)
def test_conv2d_backward_naive_equals_vectorised(case, seed):
    x, w, _ = args(case)
    kw = dict(stride=case["stride"], padding=case["padding"])
    dout = random_array(seed, conv2d(x, w, **kw).shape)
    for got, expected, name in zip(conv2d_backward_naive(dout, x, w, **kw),
                                   conv2d_backward(dout, x, w, **kw), ("dx", "dw", "db")):
        assert_close(got, expected, what=name)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (3, 2), ((2, 1), (0, 1))])
def test_conv2d_backward_finite_differences(stride, padding):
    x, w, b = random_array(1, (2, 2, 6, 5)), random_array(2, (3, 2, 3, 2)), random_array(3, (3,))
    kw = dict(stride=stride, padding=padding)
    dout = random_array(4, conv2d(x, w, b, **kw).shape)
    dx, dw, db = conv2d_backward(dout, x, w, **kw)
    assert_close(dx, numerical_gradient(lambda v: conv2d(v, w, b, **kw), x, dout=dout),
                 atol=1e-7, rtol=1e-6, what="dx vs finite differences")
    assert_close(dw, numerical_gradient(lambda v: conv2d(x, v, b, **kw), w, dout=dout),
                 atol=1e-7, rtol=1e-6, what="dw vs finite differences")
    assert_close(db, numerical_gradient(lambda v: conv2d(x, w, v, **kw), b, dout=dout),
                 atol=1e-7, rtol=1e-6, what="db vs finite differences")


def test_input_pixels_skipped_by_the_stride_get_no_gradient():
    # 6 = 2*2 + 2: with a 2x2 kernel and stride 3 the third row/column is never read.
    x, w = random_array(0, (1, 1, 6, 6)), random_array(1, (1, 1, 2, 2))
    dx, _, _ = conv2d_backward(np.ones((1, 1, 2, 2)), x, w, stride=3)
    assert np.all(dx[0, 0, 2, :] == 0) and np.all(dx[0, 0, :, 2] == 0)
    assert np.all(dx[0, 0, 5, :] == 0) and np.all(dx[0, 0, :, 5] == 0)


# --------------------------------------------------------------------------- bad inputs

GOOD_X, GOOD_W = np.zeros((2, 3, 5, 5)), np.zeros((4, 3, 3, 3))


@pytest.mark.parametrize("func", [conv2d, conv2d_naive])
@pytest.mark.parametrize("kwargs,match", [
    (dict(stride=0), r"'stride' parameter of conv2d(_naive)? must be a positive integer.*Got 0"),
    (dict(stride=1.5), r"'stride'.*positive integer"),
    (dict(stride=(1, 0)), r"'stride'.*Got \(1, 0\)"),
    (dict(padding=-1), r"'padding'.*non-negative integer.*Got -1"),
    (dict(w=np.zeros((4, 2, 3, 3))), r"'w'.*shape \(F, 3, kh, kw\).*\(4, 2, 3, 3\)"),
    (dict(w=np.zeros((4, 3, 6, 3))), r"'w'.*kh <= H \+ 2\*padding = 5.*\(4, 3, 6, 3\)"),
    (dict(w=np.zeros((4, 3, 3, 8)), padding=1), r"kw <= W \+ 2\*padding = 7"),
    (dict(x=np.zeros((3, 5, 5))), r"'x'.*shape \(N, C, H, W\).*\(3, 5, 5\)"),
    (dict(w=np.zeros((3, 3, 3))), r"'w'.*shape \(F, C, kh, kw\).*\(3, 3, 3\)"),
    (dict(b=np.zeros(3)), r"'b'.*shape \(4,\).*\(3,\)"),
    (dict(b=np.zeros((4, 1))), r"'b'.*shape \(4,\)"),
])
def test_conv2d_rejects_bad_inputs(func, kwargs, match):
    call = dict(x=GOOD_X, w=GOOD_W, b=None, stride=1, padding=0) | kwargs
    with pytest.raises(ValueError, match=match):
        func(**call)


def test_conv2d_rejects_non_numeric_input():
    with pytest.raises(TypeError, match="'x'"):
        conv2d("image", GOOD_W)


@pytest.mark.parametrize("func", [conv2d_backward, conv2d_backward_naive])
def test_conv2d_backward_rejects_bad_dout(func):
    with pytest.raises(ValueError, match=r"'dout'.*shape \(2, 4, 3, 3\).*\(2, 4, 5, 5\)"):
        func(np.zeros((2, 4, 5, 5)), GOOD_X, GOOD_W)
    with pytest.raises(ValueError, match=r"'dout'.*\(2, 4, 3, 3\)"):
        func(np.zeros((4, 3, 3)), GOOD_X, GOOD_W)
    with pytest.raises(ValueError, match="'stride'"):
        func(np.zeros((2, 4, 3, 3)), GOOD_X, GOOD_W, stride=0)


@pytest.mark.parametrize("args,match", [
    ((0, 3), "'n'.*positive integer.*Got 0"),
    ((5, 0), "'kernel_size'.*Got 0"),
    ((5, 3, -1), "'padding'.*non-negative.*Got -1"),
    ((5, 3, 0, 0), "'stride'.*positive integer.*Got 0"),
    ((5, 8, 1), r"'kernel_size'.*at most n \+ 2\*padding = 7.*Got 8"),
    ((5, 3.0), "'kernel_size'.*Got 3.0"),
])
def test_conv_output_size_rejects_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        conv_output_size(*args)


# --------------------------------------------------------------------------- the slides' examples

# Lecture 001 (Mahmoudi), "Exemple de convolution": a 5x5 patch of an image, zero-padded
# to 7x7, filtered by the sharpen kernel; the slide's first output is 114.
LECTURE_001_PATCH = np.array([[60, 113, 56, 139, 85],
                              [73, 121, 54, 84, 128],
                              [131, 99, 70, 129, 127],
                              [80, 57, 115, 69, 134],
                              [104, 126, 123, 95, 130]], dtype=np.float64)


def test_lecture_001_sharpen_example_gives_114():
    assert np.array_equal(KERNELS["sharpen"], [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    out = filter_image(LECTURE_001_PATCH, "sharpen", padding=1)
    assert out.shape == (5, 5)
    assert out[0, 0] == 114  # 5*60 - 113 - 73
    # The same number from the 7x7 zero-padded grid of the slide, without padding.
    padded = np.pad(LECTURE_001_PATCH, 1)
    assert filter_image(padded, "sharpen", padding="valid")[0, 0] == 114
    assert np.array_equal(filter_image(padded, "sharpen", padding="valid"), out)


def test_lecture_001_blur_example_gives_178():
    patch = np.array([[147, 191, 178], [139, 192, 190], [139, 191, 197]], dtype=np.float64)
    blur = KERNELS["blur"]
    # The slide's weights: 0.0625 at the corners, 0.125 at the sides, 0.25 at the centre.
    assert np.array_equal(blur, [[0.0625, 0.125, 0.0625], [0.125, 0.25, 0.125],
                                 [0.0625, 0.125, 0.0625]])
    value = filter_image(patch, "blur", padding="valid")
    assert value.shape == (1, 1)
    assert value[0, 0] == pytest.approx(178.1875)
    assert round(value[0, 0]) == 178  # the slide shows the rounded grey level


def test_lecture_004_sharpen_example():
    # Lecture 004 (Chan-Hon-Tong), "Convolution": a flat 100 image with one 150 pixel.
    image = np.full((5, 5), 100.0)
    image[2, 2] = 150.0
    slide = np.array([[100, 100, 100, 100, 100],
                      [100, 100, 50, 100, 100],
                      [100, 50, 350, 50, 100],
                      [100, 100, 50, 100, 100],
                      [100, 100, 100, 100, 100]], dtype=np.float64)
    # Inside, where the kernel fits, the slide's values; its border stays at 100, which
    # is what replicating the border pixels gives (zero padding would give 300 there).
    assert np.array_equal(filter_image(image, "sharpen", padding="valid"), slide[1:-1, 1:-1])
    assert np.array_equal(filter_image(image, "sharpen", padding_mode="replicate"), slide)
    assert filter_image(image, "sharpen")[0, 0] == 300


def test_lecture_001_convolved_feature_example():
    # Lecture 001, "Réseaux de neurones convolutionnels": the 5x5 binary image whose first
    # convolved feature is 4; the 3x3 kernel of that animation (lost in the text) is the
    # classic [[1, 0, 1], [0, 1, 0], [1, 0, 1]].
    image = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1],
                      [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]], dtype=np.float64)
    kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
    out = filter_image(image, kernel, padding="valid")
    assert out.shape == (3, 3) and out[0, 0] == 4


@pytest.mark.parametrize("kh, kw", [(3, 5), (5, 3), (1, 3)])
@pytest.mark.parametrize("padding_mode, torch_mode", [("zeros", "constant"), ("replicate", "replicate")])
def test_filter_image_same_padding_with_non_square_kernels_equals_torch(kh, kw, padding_mode, torch_mode):
    image, kernel = random_array(7, (6, 9)), random_array(8, (kh, kw))
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    padded = torch.nn.functional.pad(torch.from_numpy(image)[None, None], (pw, pw, ph, ph), mode=torch_mode)
    expected = torch.nn.functional.conv2d(padded, torch.from_numpy(kernel)[None, None])[0, 0].numpy()
    out = filter_image(image, kernel, padding_mode=padding_mode)
    assert out.shape == image.shape
    assert_close(out, expected)


def test_kernels_behave_as_named():
    image = random_array(5, (8, 9), scale=50.0)
    assert np.array_equal(filter_image(image, "identity"), image)
    for name in ("blur", "box_blur", "gaussian_5x5"):
        assert KERNELS[name].sum() == pytest.approx(1.0)  # blurs keep a flat image flat
        flat = filter_image(np.full((7, 7), 42.0), name, padding="valid")
        assert_close(flat, np.full(flat.shape, 42.0), what=name)
    for name in ("sharpen",):
        assert KERNELS[name].sum() == 1.0
    assert KERNELS["laplacian_of_gaussian"].sum() == 0.0
    # Sobel: x responds to a left-to-right ramp, y to a top-to-bottom one.
    ramp = np.tile(np.arange(6.0), (6, 1))
    assert np.all(filter_image(ramp, "sobel_x", padding="valid") == 8.0)
    assert np.all(filter_image(ramp, "sobel_y", padding="valid") == 0.0)
    assert np.all(filter_image(ramp.T, "sobel_y", padding="valid") == 8.0)
    assert np.array_equal(KERNELS["sobel_x"], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    assert np.array_equal(KERNELS["sobel_y"], KERNELS["sobel_x"].T)


def test_kernels_are_read_only():
    with pytest.raises(ValueError):
        KERNELS["sharpen"][1, 1] = 0.0


@given(seeds, st.sampled_from(sorted(KERNELS)), st.sampled_from(["same", "valid", 0, 1, 2]))
def test_filter_image_equals_torch(seed, name, padding):
    image = random_array(seed, (9, 8), scale=100.0)
    k = KERNELS[name]
    p = {"same": (k.shape[0] - 1) // 2, "valid": 0}.get(padding, padding)
    expected = F.conv2d(torch.tensor(image)[None, None], torch.tensor(k)[None, None],
                        padding=p)[0, 0].numpy()
    assert_close(filter_image(image, name, padding=padding), expected, what=name)
    assert_close(filter_image(image, k, padding=padding), expected, what=name)


def test_filter_image_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"'image'.*shape \(H, W\).*\(1, 5, 5\)"):
        filter_image(np.zeros((1, 5, 5)), "blur")
    with pytest.raises(ValueError, match="'kernel'.*one of"):
        filter_image(np.zeros((5, 5)), "flou")
    with pytest.raises(ValueError, match=r"'kernel'.*shape \(kh, kw\)"):
        filter_image(np.zeros((5, 5)), np.ones(3))
    with pytest.raises(ValueError, match="'kernel'.*odd size"):
        filter_image(np.zeros((5, 5)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="'kernel'.*must fit"):
        filter_image(np.zeros((3, 3)), "gaussian_5x5", padding="valid")
    with pytest.raises(ValueError, match="'padding_mode'"):
        filter_image(np.zeros((5, 5)), "blur", padding_mode="reflect")
    with pytest.raises(ValueError, match="'padding'"):
        filter_image(np.zeros((5, 5)), "blur", padding="full")


def test_doctests():
    result = doctest.testmod(conv, extraglobs={"np": np})
    assert result.attempted > 0 and result.failed == 0


def test_large_batches_run_in_chunks_and_match_torch(monkeypatch):
    # Big enough for _map_batch to cut the batch into chunks run in threads.
    monkeypatch.setattr(conv, "_WORKERS", 2)
    chunks = []
    original = conv._map_batch

    def spy(work, n, sample_bytes):
        return original(lambda chunk: (chunks.append(chunk), work(chunk))[1], n, sample_bytes)

    monkeypatch.setattr(conv, "_map_batch", spy)
    x, w, b = random_array(0, (48, 3, 24, 24)), random_array(1, (8, 3, 3, 3)), random_array(2, (8,))
    case = {"x": x, "w": w, "b": b, "stride": 1, "padding": 1}
    dout = random_array(3, (48, 8, 24, 24))
    y_t, dx_t, dw_t, db_t = torch_conv(case, dout)
    assert_close(conv2d(x, w, b, stride=1, padding=1), y_t, what="chunked conv2d")
    dx, dw, db = conv2d_backward(dout, x, w, stride=1, padding=1)
    assert_close(dx, dx_t, what="chunked dx")
    assert_close(dw, dw_t, what="chunked dw")
    assert_close(db, db_t, what="chunked db")
    assert len(chunks) > 2 and slice(0, 48) not in chunks, f"no chunking happened: {chunks}"
