"""dlcourse.data: loaders (bundled fallback, Debian Fashion-MNIST), toy problems, bad input."""

import gzip

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlcourse import data


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and an empty data root: the loaders must fall back."""
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "empty"))
    return tmp_path


@pytest.mark.parametrize("train, n", [(True, 8000), (False, 2000)])
def test_bundled_subset_shapes_dtypes_labels(offline, capsys, train, n):
    ds = data.load_mnist(train=train)
    assert ds.is_subset
    assert tuple(ds.x.shape) == (n, 1, 28, 28) and ds.x.dtype == torch.float32
    assert tuple(ds.y.shape) == (n,) and ds.y.dtype == torch.int64
    assert set(ds.y.tolist()) == set(range(10))
    # Normalised with MNIST's statistics: background pixels map to -mean/std.
    assert ds.x.min().item() == pytest.approx(-data.MNIST_MEAN / data.MNIST_STD, abs=1e-6)
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.count("\n") == 1 and "sous-ensemble MNIST embarqué" in out.out
    # One short French line, the count with a narrow no-break space: "…, apprentissage : 8 000 images".
    split = "apprentissage" if train else "test"
    assert ds.source == f"sous-ensemble MNIST embarqué (hors ligne), {split} : {n // 1000}\u202f000 images"


def test_normalised_images_are_the_pixels_standardised(offline):
    raw = data.load_mnist(train=False, normalize=False)
    norm = data.load_mnist(train=False)
    expected = (raw.x.float() / 255 - data.MNIST_MEAN) / data.MNIST_STD
    assert norm.x.dtype == torch.float32 and torch.allclose(norm.x, expected, atol=1e-6)
    assert torch.equal(norm.y, raw.y)


def test_toy_data_without_noise_lie_on_their_curves():
    X, t = data.make_circles(n=200, noise=0.0, factor=0.3, seed=1)
    assert np.allclose(np.linalg.norm(X, axis=1), np.where(t == 1, 0.3, 1.0))
    X, t = data.make_moons(n=200, noise=0.0, seed=1)
    upper = np.linalg.norm(X, axis=1)                               # class 0: unit circle, y >= 0
    lower = np.linalg.norm(X - [1.0, 0.5], axis=1)                  # class 1: centred (1, 0.5), y <= 0.5
    assert np.allclose(upper[t == 0], 1) and (X[t == 0, 1] >= 0).all()
    assert np.allclose(lower[t == 1], 1) and (X[t == 1, 1] <= 0.5).all()
    X, t = data.make_spirals(n=200, noise=0.0, turns=1.5, seed=1)
    r = np.linalg.norm(X, axis=1)
    angle = np.arctan2(X[:, 1], X[:, 0])
    # Class 1 is class 0 turned by pi: the point at radius r has angle 2 pi turns r + pi t.
    assert np.allclose(np.cos(angle - (3 * np.pi * r + np.pi * t)), 1)
    X, t = data.make_blobs(n=200, noise=0.0, seed=1)
    assert np.array_equal(X, np.where(t[:, None] == 1, 1.5, -1.5) * np.ones((1, 2)))


def test_bundled_subset_is_stratified_real_pixels(offline):
    train = data.load_mnist(train=True, normalize=False)
    test = data.load_mnist(train=False, normalize=False)
    assert train.x.dtype == torch.uint8 and int(train.x.max()) == 255
    counts = np.bincount(np.r_[train.y.numpy(), test.y.numpy()], minlength=10)
    assert counts.sum() == 10_000 and counts.min() > 0
    # 80/20 within each class.
    per_class = np.bincount(train.y.numpy(), minlength=10) / counts
    assert np.allclose(per_class, 0.8, atol=0.002)
    # Train and test are disjoint images.
    flat_train = {bytes(im) for im in train.x.reshape(len(train), -1).numpy()}
    assert not any(bytes(im) in flat_train for im in test.x.reshape(len(test), -1).numpy())


def test_subset_helper_is_seeded(offline):
    ds = data.load_mnist(train=False)
    a, b = ds.subset(100, seed=3), ds.subset(100, seed=3)
    assert torch.equal(a.x, b.x) and len(a) == 100 and a.source == ds.source


def test_torchvision_files_are_used_when_present(monkeypatch, tmp_path):
    """Fake, valid torchvision MNIST files in the root: the loader uses them, not the subset."""
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 5)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28)) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + labels.tobytes())
    ds = data.load_mnist(train=False, root=tmp_path, normalize=False)
    assert not ds.is_subset and len(ds) == 5 and "MNIST complet" in ds.source


def test_corrupt_torchvision_files_raise(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"not an idx file at all")
    with pytest.raises(ValueError, match="Corrupt MNIST files"):
        data.load_mnist(root=tmp_path)


@pytest.mark.parametrize("bad", ["test", 1, None])
def test_bad_split_raises(offline, bad):
    with pytest.raises(ValueError, match="'train' parameter"):
        data.load_mnist(train=bad)


def test_root_that_is_a_file_raises(offline):
    f = offline / "afile"
    f.write_text("x")
    with pytest.raises(ValueError, match="must be a folder"):
        data.load_mnist(root=f)
    with pytest.raises(TypeError, match="'root' parameter"):
        data.load_mnist(root=3.5)


@pytest.mark.skipif(not data.DEBIAN_FASHION_DIR.exists(), reason="Debian's dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian(offline):
    ds = data.load_fashion_mnist(train=False)
    assert tuple(ds.x.shape) == (10_000, 1, 28, 28) and "Debian" in ds.source
    assert ds.classes[9] == "Bottine" and set(ds.y.tolist()) == set(range(10))


def test_fashion_mnist_absent_raises(offline):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        data.load_fashion_mnist(debian_dir=offline / "nowhere")


def test_fashion_mnist_corrupt_debian_file_raises(offline):
    folder = offline / "fm"
    folder.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        with gzip.open(folder / name, "wb") as fh:
            fh.write(bytes([0, 0, 8, 3]) + (3).to_bytes(4, "big"))
    with pytest.raises(ValueError, match="Corrupt IDX file"):
        data.load_fashion_mnist(train=False, debian_dir=folder)


# ----------------------------------------------------------------------------- toy problems

def test_logic_gates_truth_tables_in_lecture_order():
    X, t = data.logic_gate("OR")
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert t.tolist() == [0, 1, 1, 1]
    assert data.logic_gate("and")[1].tolist() == [0, 0, 0, 1]
    assert data.logic_gate("XOR")[1].tolist() == [0, 1, 1, 0]
    with pytest.raises(ValueError, match="'name' parameter of logic_gate"):
        data.logic_gate("NOR3")


@given(seed=st.integers(0, 10_000), n=st.integers(2, 300),
       maker=st.sampled_from([data.make_blobs, data.make_moons, data.make_circles, data.make_spirals]))
def test_toy_data_deterministic_and_shaped(seed, n, maker):
    X1, t1 = maker(n=n, seed=seed)
    X2, t2 = maker(n=n, seed=seed)
    assert X1.shape == (n, 2) and t1.shape == (n,)
    assert np.array_equal(X1, X2) and np.array_equal(t1, t2)
    assert set(np.unique(t1)) <= {0, 1}


@given(seed=st.integers(0, 10_000))
def test_separable_blobs_are_separable(seed):
    X, t = data.make_blobs(n=80, noise=1.0, seed=seed)
    assert np.array_equal(X.sum(axis=1) > 0, t == 1)


@pytest.mark.parametrize("kwargs, match", [({"n": 0}, "'n' parameter"), ({"n": 1}, ">= 2"),
                                           ({"noise": -1.0}, "'noise' parameter"),
                                           ({"seed": -1}, "'seed' parameter of make_moons")])
def test_toy_data_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.make_moons(**kwargs)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: data.make_blobs(separable="no"), TypeError, "'separable' parameter of make_blobs must be True or False"),
    (lambda: data.make_circles(factor="0.5"), ValueError, "'factor' parameter"),
    (lambda: data.make_spirals(seed=1.5), TypeError, "'seed' parameter of make_spirals"),
    (lambda: data.load_mnist(normalize="False"), TypeError, "'normalize' parameter of load_mnist"),
    (lambda: data.load_fashion_mnist(download="no"), TypeError, "'download' parameter of load_fashion_mnist"),
    (lambda: data.load_fashion_mnist(debian_dir=None), TypeError, "'debian_dir' parameter"),
    (lambda: data.load_mnist(train=False).subset(100_000), ValueError, "at most the number of images, 2000"),
    (lambda: data.load_mnist(train=False).subset(10, seed=None), TypeError, "'seed' parameter of ImageData.subset"),
    (lambda: data.ImageData(torch.zeros(3, 1, 28, 28), torch.zeros(5, dtype=torch.long), "x"), ValueError,
     r"one label per image \(3\)"),
    (lambda: data.ImageData(np.zeros((3, 1, 28, 28)), torch.zeros(3, dtype=torch.long), "x"), TypeError,
     "torch tensors"),
])
def test_data_refuses_bad_arguments_clearly(offline, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
