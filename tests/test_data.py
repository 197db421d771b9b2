"""Tests for scratchnn.data: DataLoader, one_hot, train_test_split, standardize."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchnn.data import DataLoader, one_hot, standardize, train_test_split


def _collect(loader):
    return [batch for batch in loader]


# ------------------------------------------------------------------------------------------------
# DataLoader
# ------------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 150), batch_size=st.integers(1, 64), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_loader_covers_every_index_once(n, batch_size, shuffle, drop_last, seed):
    if drop_last and n < batch_size:
        with pytest.raises(ValueError, match="drop_last"):
            DataLoader(np.arange(n), batch_size=batch_size, drop_last=True)
        return
    x = np.arange(n)
    y = x * 10
    loader = DataLoader(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                        drop_last=drop_last)
    batches = _collect(loader)
    assert len(batches) == len(loader)
    xs = np.concatenate([xb for xb, _ in batches])
    ys = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(ys, xs * 10)  # pairs stay aligned
    sizes = [len(xb) for xb, _ in batches]
    assert all(s == batch_size for s in sizes[:-1])
    if drop_last:
        assert sizes[-1] == batch_size
        assert len(xs) == n - n % batch_size
        assert len(np.unique(xs)) == len(xs)
    else:
        assert len(loader) == -(-n // batch_size)
        np.testing.assert_array_equal(np.sort(xs), x)  # every index exactly once
    if not shuffle:
        np.testing.assert_array_equal(xs, x[: len(xs)])


def test_last_partial_batch_is_kept_by_default():
    loader = DataLoader(np.arange(10), np.arange(10), batch_size=4, shuffle=False)
    assert len(loader) == 3
    assert [len(xb) for xb, _ in loader] == [4, 4, 2]
    loader = DataLoader(np.arange(10), np.arange(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(xb) for xb, _ in loader] == [4, 4]


def test_loader_reshuffles_every_epoch():
    loader = DataLoader(np.arange(100), batch_size=100, seed=0)
    first, second = next(iter(loader)), next(iter(loader))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(first), np.sort(second))


def test_loader_same_seed_same_order_and_shared_generator():
    x = np.arange(50)
    a = [xb for xb in DataLoader(x, batch_size=7, seed=3)]
    b = [xb for xb in DataLoader(x, batch_size=7, seed=3)]
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    g = np.random.default_rng(11)
    loader = DataLoader(x, batch_size=50, seed=g)
    assert loader.rng is g
    expected = np.random.default_rng(11).permutation(50)
    np.testing.assert_array_equal(next(iter(loader)), expected)


def test_loader_without_targets_yields_arrays():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    batches = _collect(DataLoader(x, batch_size=4, shuffle=False))
    assert isinstance(batches[0], np.ndarray)
    np.testing.assert_array_equal(batches[0], x[:4])


def test_loader_does_not_mutate_or_alias_inputs():
    x = np.random.default_rng(0).standard_normal((20, 3))
    y = np.arange(20)
    x0, y0 = x.copy(), y.copy()
    loader = DataLoader(x, y, batch_size=8, seed=0)
    assert np.shares_memory(loader.x, x)  # the dataset itself is not copied
    for xb, yb in loader:
        assert not np.shares_memory(xb, x) and not np.shares_memory(yb, y)
        xb *= 0  # a caller scribbling on a batch must not reach the dataset
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_loader_multidimensional_inputs():
    x = np.zeros((9, 4, 4))
    loader = DataLoader(x, np.arange(9), batch_size=4)
    assert [xb.shape for xb, _ in loader] == [(4, 4, 4), (4, 4, 4), (1, 4, 4)]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8", None])
def test_loader_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match=f"batch_size.*{bad!r}"):
        DataLoader(np.arange(10), batch_size=bad)


def test_loader_rejects_length_mismatch_and_empty():
    with pytest.raises(ValueError, match=r"\(10, 2\).*\(9,\)"):
        DataLoader(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="empty"):
        DataLoader(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="scalar"):
        DataLoader(np.float32(3.0))
    with pytest.raises(TypeError, match="seed"):
        DataLoader(np.zeros(3), seed="abc")


# ------------------------------------------------------------------------------------------------
# one_hot
# ------------------------------------------------------------------------------------------------
def test_one_hot_basic():
    out = one_hot(np.array([2, 0, 1]))
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert out.dtype == np.float32
    out = one_hot([1], num_classes=4, dtype=np.int64)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[0, 1, 0, 0]])


@settings(max_examples=50, deadline=None)
@given(labels=st.lists(st.integers(0, 9), min_size=1, max_size=50), extra=st.integers(0, 3))
def test_one_hot_round_trip(labels, extra):
    labels = np.array(labels)
    c = labels.max() + 1 + extra
    out = one_hot(labels, num_classes=c)
    assert out.shape == (len(labels), c)
    np.testing.assert_array_equal(out.sum(axis=1), 1)
    np.testing.assert_array_equal(out.argmax(axis=1), labels)


def test_one_hot_keeps_leading_shape_and_float_integral_labels():
    assert one_hot(np.array([[0, 1], [2, 0]])).shape == (2, 2, 3)
    np.testing.assert_array_equal(one_hot(np.array([0.0, 2.0])), one_hot(np.array([0, 2])))


def test_one_hot_out_of_range():
    with pytest.raises(ValueError, match=r"label 3.*num_classes=3"):
        one_hot([0, 3, 1], num_classes=3)
    with pytest.raises(ValueError, match="label -1"):
        one_hot([0, -1], num_classes=3)
    with pytest.raises(ValueError, match="num_classes"):
        one_hot([0, 1], num_classes=0)
    with pytest.raises(ValueError, match="num_classes"):
        one_hot(np.array([], dtype=int))


@pytest.mark.parametrize("bad", [[0.5, 1.0], ["a", "b"], [np.nan, 1.0]])
def test_one_hot_non_integer_labels(bad):
    with pytest.raises(TypeError, match="integer"):
        one_hot(np.array(bad))


def test_one_hot_does_not_mutate():
    labels = np.array([1, 0, 2])
    one_hot(labels)
    np.testing.assert_array_equal(labels, [1, 0, 2])


# ------------------------------------------------------------------------------------------------
# train_test_split
# ------------------------------------------------------------------------------------------------
def test_split_sizes_and_disjoint_cover():
    x = np.arange(100).reshape(100, 1)
    y = np.arange(100) * 2
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=0)
    assert x_tr.shape == (80, 1) and x_te.shape == (20, 1)
    assert y_tr.shape == (80,) and y_te.shape == (20,)
    np.testing.assert_array_equal(np.sort(np.concatenate([x_tr, x_te])[:, 0]), np.arange(100))
    np.testing.assert_array_equal(y_tr, x_tr[:, 0] * 2)
    np.testing.assert_array_equal(y_te, x_te[:, 0] * 2)


def test_split_fraction_rounds_up_and_int_count():
    x = np.arange(10)
    assert len(train_test_split(x, x, test_size=0.25, seed=0)[1]) == 3  # ceil(2.5)
    assert len(train_test_split(x, x, test_size=4, seed=0)[1]) == 4


def test_split_is_seeded():
    x = np.arange(50)
    a = train_test_split(x, x, seed=1)
    b = train_test_split(x, x, seed=1)
    c = train_test_split(x, x, seed=2)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])


def test_split_stratified_exact_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    x = np.arange(100)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=0, stratify=True)
    np.testing.assert_array_equal(np.bincount(y_te), [12, 6, 2])
    np.testing.assert_array_equal(np.bincount(y_tr), [48, 24, 8])
    np.testing.assert_array_equal(y[x_te], y_te)
    # test samples are not sorted by class
    assert not np.all(np.diff(y_te) >= 0)


def test_split_stratified_with_one_hot_targets():
    labels = np.repeat([0, 1], [30, 10])
    y = np.eye(2)[labels]
    _, _, _, y_te = train_test_split(np.zeros((40, 2)), y, test_size=0.5, seed=0, stratify=True)
    np.testing.assert_array_equal(y_te.sum(axis=0), [15, 5])


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(2, 30), min_size=2, max_size=5),
       frac=st.floats(0.1, 0.5), seed=st.integers(0, 1000))
def test_split_stratified_property(counts, frac, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    n = len(y)
    n_test = int(np.ceil(frac * n))
    if n_test > n - len(counts):
        return
    x_tr, x_te, y_tr, y_te = train_test_split(np.arange(n), y, test_size=frac, seed=seed,
                                              stratify=True)
    assert len(y_te) == n_test
    got = np.bincount(y_te, minlength=len(counts))
    expected = n_test * np.array(counts) / n
    assert np.all(np.abs(got - expected) < 1 + 1e-9)
    assert np.all(np.bincount(y_tr, minlength=len(counts)) >= 1)
    np.testing.assert_array_equal(np.sort(np.concatenate([x_tr, x_te])), np.arange(n))


def test_split_errors():
    x = np.arange(10)
    for bad in (0.0, 1.0, 1.5, 0, 10, "half"):
        with pytest.raises(ValueError, match="test_size"):
            train_test_split(x, x, test_size=bad)
    with pytest.raises(ValueError, match=r"\(10,\).*\(9,\)"):
        train_test_split(x, x[:9])
    with pytest.raises(ValueError, match="class"):
        train_test_split(x, np.array([0] * 9 + [1]), stratify=True)


def test_split_does_not_mutate():
    x = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    x0, y0 = x.copy(), y.copy()
    out = train_test_split(x, y, seed=0, stratify=False)
    out[0][:] = -1
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


# ------------------------------------------------------------------------------------------------
# standardize
# ------------------------------------------------------------------------------------------------
def test_standardize_train_and_others():
    rng = np.random.default_rng(0)
    x_tr = rng.normal(5.0, 3.0, size=(200, 4)).astype(np.float32)
    x_te = rng.normal(5.0, 3.0, size=(50, 4)).astype(np.float32)
    x_tr0, x_te0 = x_tr.copy(), x_te.copy()
    result = standardize(x_tr, x_te)
    assert len(result) == 4
    s_tr, s_te, mean, std = result
    assert s_tr.dtype == np.float32 and s_te.dtype == np.float32
    assert mean.shape == (4,) and std.shape == (4,)
    np.testing.assert_allclose(s_tr.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(s_tr.std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(mean, x_tr.astype(np.float64).mean(axis=0), rtol=1e-6)
    # the test set uses the *training* statistics
    np.testing.assert_allclose(s_te, (x_te - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(x_tr, x_tr0)
    np.testing.assert_array_equal(x_te, x_te0)


def test_standardize_single_array_and_hand_values():
    x = np.array([[1.0, 10.0], [3.0, 10.0]])
    s, mean, std = standardize(x)
    np.testing.assert_allclose(mean, [2.0, 10.0])
    np.testing.assert_allclose(std, [1.0, 1.0])  # feature 2 is constant: divisor 1
    np.testing.assert_allclose(s, [[-1.0, 0.0], [1.0, 0.0]])


def test_standardize_constant_feature_does_not_blow_up():
    x_tr = np.ones((5, 2))
    x_te = np.array([[2.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s_tr, s_te, _, std = standardize(x_tr, x_te)
    np.testing.assert_array_equal(std, [1.0, 1.0])
    np.testing.assert_array_equal(s_te, [[1.0, 0.0]])
    assert np.all(np.isfinite(s_tr))


def test_standardize_integers_give_float64_and_shape_check():
    s, mean, std = standardize(np.array([[0, 2], [2, 4]]))
    assert s.dtype == np.float64
    with pytest.raises(ValueError, match=r"\(3, 3\).*\(2, 2\)"):
        standardize(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="empty"):
        standardize(np.zeros((0, 2)))
