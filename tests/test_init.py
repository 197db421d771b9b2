"""Tests for scratchnn.init: scales, dtypes, determinism and lookup by name."""

import math

import numpy as np
import pytest

from scratchnn import init


@pytest.fixture(scope="module")
def big_shape():
    return (1000, 1000)


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_he_normal_std_matches_fan_in(big_shape):
    w = init.he_normal(big_shape, _rng())
    expected = math.sqrt(2.0 / big_shape[0])
    assert w.shape == big_shape
    assert abs(w.std() - expected) < 0.05 * expected
    assert abs(w.mean()) < 0.05 * expected


def test_he_uses_fan_in_not_fan_out():
    # fan_in = shape[0] for (in, out) weights: a wide layer with few inputs has a large std.
    w = init.he_normal((10, 20000), _rng())
    assert abs(w.std() - math.sqrt(2.0 / 10)) < 0.05 * math.sqrt(2.0 / 10)
    w = init.he_normal((20000, 10), _rng())
    assert abs(w.std() - math.sqrt(2.0 / 20000)) < 0.05 * math.sqrt(2.0 / 20000)


def test_he_uniform_bounds_and_std(big_shape):
    w = init.he_uniform(big_shape, _rng())
    limit = math.sqrt(6.0 / big_shape[0])
    assert np.all(np.abs(w) <= limit)
    assert w.max() > 0.99 * limit and w.min() < -0.99 * limit
    assert abs(w.std() - math.sqrt(2.0 / big_shape[0])) < 0.05 * math.sqrt(2.0 / big_shape[0])


def test_xavier_uniform_limit_and_std():
    shape = (600, 1400)
    w = init.xavier_uniform(shape, _rng())
    limit = math.sqrt(6.0 / (600 + 1400))
    assert np.all(np.abs(w) <= limit)
    assert w.max() > 0.99 * limit
    assert abs(w.std() - limit / math.sqrt(3)) < 0.05 * limit / math.sqrt(3)


def test_xavier_normal_std():
    shape = (600, 1400)
    w = init.xavier_normal(shape, _rng())
    expected = math.sqrt(2.0 / (600 + 1400))
    assert abs(w.std() - expected) < 0.05 * expected


def test_glorot_aliases():
    assert init.glorot_uniform is init.xavier_uniform
    assert init.glorot_normal is init.xavier_normal


@pytest.mark.parametrize("fn", [init.he_normal, init.he_uniform, init.xavier_uniform,
                                init.xavier_normal, init.zeros, init.ones])
def test_default_dtype_is_float32_and_dtype_is_honoured(fn):
    assert fn((3, 4), _rng()).dtype == np.float32
    out = fn((3, 4), _rng(), dtype=np.float64)
    assert out.dtype == np.float64 and out.shape == (3, 4)


@pytest.mark.parametrize("fn", [init.he_normal, init.he_uniform, init.xavier_uniform,
                                init.xavier_normal])
def test_same_seed_same_values_different_seed_differs(fn):
    a = fn((20, 30), _rng(1))
    b = fn((20, 30), _rng(1))
    c = fn((20, 30), _rng(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("fn", [init.he_normal, init.xavier_uniform])
def test_generator_is_used_directly_and_advances(fn):
    g = _rng(3)
    a = fn((5, 5), g)
    b = fn((5, 5), g)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, fn((5, 5), _rng(3)))


def test_int_seed_is_accepted():
    np.testing.assert_array_equal(init.he_normal((4, 4), 7), init.he_normal((4, 4), _rng(7)))


def test_float32_and_float64_draws_agree():
    a = init.he_normal((6, 6), _rng(5), dtype=np.float32)
    b = init.he_normal((6, 6), _rng(5), dtype=np.float64)
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_zeros_and_ones():
    np.testing.assert_array_equal(init.zeros((2, 3), _rng()), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.ones(4, None), np.ones(4))


def test_one_dimensional_and_higher_dimensional_fans():
    w = init.he_normal((40000,), _rng())
    assert abs(w.std() - math.sqrt(2 / 40000)) < 0.05 * math.sqrt(2 / 40000)
    # (in_1, in_2, out): fan_in = in_1 * in_2
    w = init.he_normal((50, 40, 100), _rng())
    assert abs(w.std() - math.sqrt(2 / 2000)) < 0.05 * math.sqrt(2 / 2000)


@pytest.mark.parametrize("shape", [(), (0, 3), (3, 0)])
def test_degenerate_shapes_rejected(shape):
    with pytest.raises(ValueError, match="fan_in"):
        init.he_normal(shape, _rng())


def test_bad_shape_and_dtype_rejected():
    with pytest.raises(ValueError, match="shape"):
        init.he_normal((3, -1), _rng())
    with pytest.raises(TypeError, match="dtype"):
        init.he_normal((3, 3), _rng(), dtype=np.int32)
    with pytest.raises(TypeError, match="rng"):
        init.he_normal((3, 3), "seed")


@pytest.mark.parametrize("name, fn", [
    ("he", init.he_normal), ("he_normal", init.he_normal), ("he_uniform", init.he_uniform),
    ("xavier", init.xavier_uniform), ("xavier_uniform", init.xavier_uniform),
    ("xavier_normal", init.xavier_normal), ("glorot_uniform", init.xavier_uniform),
    ("glorot_normal", init.xavier_normal), ("zeros", init.zeros), ("ones", init.ones),
    ("He_Normal", init.he_normal),
])
def test_get_by_name(name, fn):
    assert init.get(name) is fn


def test_get_returns_callables_unchanged():
    def custom(shape, rng, dtype=np.float32):
        return np.full(shape, 0.5, dtype)

    assert init.get(custom) is custom


@pytest.mark.parametrize("bad", ["kaiming", "", 3])
def test_get_unknown_lists_valid_names(bad):
    with pytest.raises(ValueError) as info:
        init.get(bad)
    message = str(info.value)
    for name in ("he_normal", "xavier_uniform", "glorot_normal", "zeros", "ones"):
        assert name in message
