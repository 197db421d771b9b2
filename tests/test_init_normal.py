"""The Gaussian initializer with a fixed std (issue #16, section 3): ``W = std * randn``, as in
CS231n's nets; ``init.Normal(std=...)`` or the name ``"normal"`` (std 0.01)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import init
from scratchnn.layers import Dense


@pytest.mark.parametrize("std", [1e-4, 0.01, 0.5, 3.0])
def test_sample_std_matches_within_sampling_error(std):
    w = init.Normal(std=std)((400, 500), rng=0)
    n = w.size
    # The sample std of n normal draws has a standard error of about std / sqrt(2 n); the
    # sample mean one of std / sqrt(n). Five standard errors: a fixed seed, no flakiness.
    assert abs(w.std() - std) < 5 * std / math.sqrt(2 * n)
    assert abs(w.mean()) < 5 * std / math.sqrt(n)
    assert w.shape == (400, 500) and w.dtype == np.float32


def test_it_is_std_times_a_standard_normal_draw():
    """Exactly CS231n's ``std * np.random.randn(D, H)``, drawn from the generator given."""
    w = init.Normal(std=0.05)((3, 4), rng=np.random.default_rng(7), dtype=np.float64)
    np.testing.assert_array_equal(w, 0.05 * np.random.default_rng(7).standard_normal((3, 4)))
    w32 = init.Normal(std=0.05)((3, 4), rng=7)
    np.testing.assert_array_equal(w32, w.astype(np.float32))


def test_the_name_normal_has_std_0_01():
    fn = init.get("normal")
    assert isinstance(fn, init.Normal) and fn.std == 0.01
    assert init.get(" Normal ") is fn
    w = fn((500, 400), rng=1)
    assert abs(w.std() - 0.01) < 5 * 0.01 / math.sqrt(2 * w.size)


def test_dense_takes_it_by_name_or_object_and_biases_stay_zero():
    by_name = snn.Sequential([Dense(300, 200, init="normal")], seed=0)
    by_object = snn.Sequential([Dense(300, 200, init=init.Normal(std=0.01))], seed=0)
    np.testing.assert_array_equal(by_name.layers[0].W.value, by_object.layers[0].W.value)
    w = by_name.layers[0].W.value
    assert abs(w.std() - 0.01) < 5 * 0.01 / math.sqrt(2 * w.size)
    np.testing.assert_array_equal(by_name.layers[0].b.value, 0.0)


def test_same_seed_same_weights_other_seed_other_weights():
    def weights(seed):
        layers = [Dense(20, 10, init=init.Normal(std=0.1)), Dense(10, 3, init="normal")]
        return snn.Sequential(layers, seed=seed).get_weights()

    for a, b in zip(weights(3), weights(3), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(weights(3)[0], weights(4)[0])
    alone = Dense(20, 10, init=init.Normal(std=0.1), seed=5).W.value
    np.testing.assert_array_equal(alone, Dense(20, 10, init=init.Normal(std=0.1), seed=5).W.value)


def test_generator_is_used_directly_and_advances():
    rng = np.random.default_rng(0)
    a = init.Normal(std=1.0)((4,), rng=rng)
    b = init.Normal(std=1.0)((4,), rng=rng)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("bad", [0, 0.0, -0.01, math.nan, math.inf])
def test_a_std_that_is_not_a_positive_finite_number_is_refused(bad):
    with pytest.raises(ValueError, match=rf"Normal: std must be a positive finite number, "
                                         rf"got {bad}"):
        init.Normal(std=bad)


@pytest.mark.parametrize("bad", ["0.01", None, True, [0.01]])
def test_a_std_that_is_not_a_number_is_refused(bad):
    with pytest.raises(TypeError, match=r"Normal: std must be a real number, got"):
        init.Normal(std=bad)


def test_std_cannot_be_changed_afterwards():
    """``init.get("normal")`` hands out one shared object: it must stay what it says."""
    with pytest.raises(AttributeError):
        init.get("normal").std = 1.0
    assert init.get("normal").std == 0.01


def test_repr_and_a_saved_model_with_the_named_initializer(tmp_path):
    assert repr(init.Normal(std=0.02)) == "Normal(std=0.02)"
    model = snn.Sequential([Dense(3, 2, init="normal")], seed=0)
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert loaded.layers[0].get_config()["init"] == "normal"
    np.testing.assert_array_equal(loaded.layers[0].W.value, model.layers[0].W.value)
