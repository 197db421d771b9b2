"""Tests for scratchnn.datasets: shapes, dtypes, determinism, class balance and splits."""

import sys

import numpy as np
import pytest

from scratchnn import datasets

GENERATORS = [
    pytest.param(datasets.xor, {}, 2, id="xor"),
    pytest.param(datasets.spirals, {}, 3, id="spirals"),
    pytest.param(datasets.spirals, {"n_classes": 5}, 5, id="spirals5"),
    pytest.param(datasets.moons, {}, 2, id="moons"),
]


@pytest.mark.parametrize("fn, kwargs, n_classes", GENERATORS)
def test_generator_shapes_dtypes_and_balance(fn, kwargs, n_classes):
    x, y = fn(n_samples=200, seed=0, **kwargs)
    assert x.shape == (200, 2) and x.dtype == np.float32
    assert y.shape == (200,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes
    assert counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(x))
    # shuffled, not sorted by class
    assert not np.all(np.diff(y) >= 0)


@pytest.mark.parametrize("fn, kwargs, n_classes", GENERATORS)
def test_generator_determinism(fn, kwargs, n_classes):
    x1, y1 = fn(seed=1, **kwargs)
    x2, y2 = fn(seed=1, **kwargs)
    x3, _ = fn(seed=2, **kwargs)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(x1, x3)
    g = np.random.default_rng(1)
    xg, _ = fn(seed=g, **kwargs)
    np.testing.assert_array_equal(xg, x1)


@pytest.mark.parametrize("fn, kwargs, n_classes", GENERATORS)
def test_generator_split(fn, kwargs, n_classes):
    x, y = fn(n_samples=200, seed=3, **kwargs)
    (x_tr, y_tr), (x_te, y_te) = fn(n_samples=200, seed=3, test_size=0.25, **kwargs)
    assert x_tr.shape == (150, 2) and x_te.shape == (50, 2)
    assert y_tr.dtype == np.int64 and x_te.dtype == np.float32
    # stratified: each class's share of the test set is within one sample of its share overall
    expected = 50 * np.bincount(y, minlength=n_classes) / 200
    assert np.all(np.abs(np.bincount(y_te, minlength=n_classes) - expected) < 1 + 1e-9)
    # the split partitions the same data set
    full = np.concatenate([np.column_stack([x_tr, y_tr]), np.column_stack([x_te, y_te])])
    ref = np.column_stack([x, y])
    np.testing.assert_array_equal(full[np.lexsort(full.T)], ref[np.lexsort(ref.T)])
    # seeded
    (x_tr2, _), _ = fn(n_samples=200, seed=3, test_size=0.25, **kwargs)
    np.testing.assert_array_equal(x_tr, x_tr2)


def test_xor_labels_are_xor_of_corner():
    x, y = datasets.xor(n_samples=400, noise=0.05, seed=0)
    corner = np.round(x).astype(int)
    assert set(map(tuple, corner)) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    np.testing.assert_array_equal(y, corner[:, 0] ^ corner[:, 1])
    assert np.all(np.bincount(corner[:, 0] * 2 + corner[:, 1]) == 100)


def test_xor_noise_zero_is_exact_corners():
    x, _ = datasets.xor(n_samples=8, noise=0.0, seed=0)
    assert set(map(tuple, x.tolist())) == {(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)}


def test_spirals_geometry_and_uneven_sizes():
    x, y = datasets.spirals(n_samples=301, n_classes=3, noise=0.0, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [101, 100, 100])
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() <= 1.0 + 1e-6 and r.min() >= 0.0
    # noise-free: angle (measured from the y axis, as sin/cos are swapped) = 4k + 4r
    theta = np.arctan2(x[:, 0], x[:, 1])
    far = r > 0.05
    expected = 4.0 * y + 4.0 * r
    diff = np.angle(np.exp(1j * (theta - expected)))
    np.testing.assert_allclose(diff[far], 0.0, atol=1e-4)


def test_moons_noise_free_lies_on_half_circles():
    x, y = datasets.moons(n_samples=101, noise=0.0, seed=0)
    np.testing.assert_array_equal(np.bincount(y), [51, 50])
    outer, inner = x[y == 0].astype(np.float64), x[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, atol=1e-6)
    assert np.all(outer[:, 1] >= -1e-6)
    np.testing.assert_allclose(np.hypot(1 - inner[:, 0], 0.5 - inner[:, 1]), 1.0, atol=1e-6)


@pytest.mark.parametrize("call, match", [
    (lambda: datasets.xor(n_samples=3), "n_samples"),
    (lambda: datasets.moons(n_samples=0), "n_samples"),
    (lambda: datasets.spirals(n_samples=2, n_classes=3), "n_samples"),
    (lambda: datasets.spirals(n_classes=1), "n_classes"),
    (lambda: datasets.moons(noise=-0.1), "noise"),
    (lambda: datasets.xor(test_size=1.5), "test_size"),
])
def test_generator_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_load_digits():
    pytest.importorskip("sklearn")
    x, y = datasets.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    (x_tr, y_tr), (x_te, y_te) = datasets.load_digits(test_size=0.2, seed=0)
    assert len(x_te) == 360 and len(x_tr) == 1437
    expected = 360 * np.bincount(y) / 1797
    assert np.all(np.abs(np.bincount(y_te, minlength=10) - expected) < 1 + 1e-9)
    (x_tr2, _), _ = datasets.load_digits(test_size=0.2, seed=0)
    np.testing.assert_array_equal(x_tr, x_tr2)


def test_load_breast_cancer_is_raw():
    pytest.importorskip("sklearn")
    x, y = datasets.load_breast_cancer()
    assert x.shape == (569, 30) and x.dtype == np.float32
    assert y.shape == (569,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [212, 357])  # 0 = malignant, 1 = benign
    assert x.max() > 1000  # raw feature scales, not standardized
    (_, y_tr), (_, y_te) = datasets.load_breast_cancer(test_size=0.25, seed=0)
    assert len(y_te) == 143 and len(y_tr) == 426


@pytest.mark.parametrize("loader", [datasets.load_digits, datasets.load_breast_cancer])
def test_missing_sklearn_gives_install_hint(monkeypatch, loader):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r"pip install scratchnn\[course\]"):
        loader()
