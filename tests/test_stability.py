"""Numerical stability: huge logits give finite losses and gradients, sigmoid saturates
exactly without any floating-point warning, softmax/log-softmax stay finite."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import activations as A
from scratchnn import functional as F
from scratchnn import losses
from scratchnn.layers import Dense


@contextmanager
def no_warnings(errstate="raise"):
    """Every warning is an error; with ``errstate="raise"`` every floating-point event too
    (overflow, underflow, invalid, divide by zero)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if errstate == "raise":
            with np.errstate(all="raise"):
                yield
        else:
            yield


def all_finite(*arrays):
    return all(np.all(np.isfinite(a)) for a in arrays)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_saturates_exactly_without_warnings(dtype):
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=dtype)
    with no_warnings():
        s = F.sigmoid(x)
        g = F.sigmoid_backward(np.ones_like(x), x)
        layer_out = A.Sigmoid().forward(x.reshape(1, -1))
    assert s.dtype == dtype
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    assert s[3] == 1.0
    np.testing.assert_array_equal(layer_out[0], s)
    assert all_finite(g)
    assert g[0] == 0.0 and g[-1] == 0.0
    # and it is still accurate where the result is representable
    if dtype == np.float64:
        assert F.sigmoid(np.array(-700.0)) == pytest.approx(np.exp(-700.0), rel=1e-12)
        assert F.sigmoid(np.array(-30.0)) == pytest.approx(1 / (1 + np.exp(30.0)), rel=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_and_log_softmax_of_huge_logits(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    with no_warnings(errstate="default"):
        s, ls = F.softmax(z), F.log_softmax(z)
        gs = F.softmax_backward(np.ones_like(z), z)
        gls = F.log_softmax_backward(np.ones_like(z), z)
    assert all_finite(s, ls, gs, gls)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(s[0], [1, 0, 0])
    np.testing.assert_allclose(s[1], 1 / 3, rtol=1e-6)
    np.testing.assert_allclose(ls[0], [0, -2e4, -1e4], rtol=1e-6)
    np.testing.assert_allclose(ls[2, :2], -np.log(2), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_from_huge_logits(dtype):
    z = np.array([[1e4, -1e4], [-1e4, 1e4], [1e4, -1e4]], dtype=dtype)
    labels = np.array([1, 1, 0])  # one very wrong, two very right
    for target in (labels, np.eye(2, dtype=dtype)[labels]):
        with no_warnings(errstate="default"):
            loss = F.cross_entropy(z, target)
            grad = F.cross_entropy_backward(z, target)
            obj = losses.CrossEntropy()
            obj_loss = obj.forward(z, target)
            obj_grad = obj.backward()
        assert np.isfinite(loss) and loss == pytest.approx(2e4 / 3, rel=1e-6)
        assert obj_loss == loss
        assert all_finite(grad, obj_grad)
        np.testing.assert_allclose(grad, [[1 / 3, -1 / 3], [0, 0], [0, 0]], atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_from_huge_logits(dtype):
    z = np.array([[1e4], [-1e4], [1e4], [-1e4]], dtype=dtype)
    t = np.array([[1.0], [0.0], [0.0], [1.0]], dtype=dtype)
    with no_warnings(errstate="default"):
        loss = F.binary_cross_entropy(z, t)
        grad = F.binary_cross_entropy_backward(z, t)
    assert np.isfinite(loss) and loss == pytest.approx(2e4 / 4, rel=1e-6)
    assert all_finite(grad)
    np.testing.assert_allclose(grad, [[0.0], [0.0], [0.25], [-0.25]], atol=1e-7)


def test_probability_losses_at_zero_and_one_are_finite():
    with no_warnings(errstate="default"):
        ce = F.cross_entropy(np.array([[0.0, 1.0]]), np.array([0]), from_logits=False)
        ce_g = F.cross_entropy_backward(np.array([[0.0, 1.0]]), np.array([0]), from_logits=False)
        bce = F.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]),
                                     from_logits=False)
        bce_g = F.binary_cross_entropy_backward(np.array([0.0, 1.0]), np.array([1.0, 0.0]),
                                                from_logits=False)
    assert np.isfinite(ce) and np.isfinite(bce)
    assert all_finite(ce_g, bce_g)


def test_model_with_huge_inputs_trains_and_predicts_finitely():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)) * 1e3  # unscaled features: logits in the thousands
    y = (x[:, 0] > 0).astype(int)
    model = snn.Sequential([Dense(3, 8), A.Tanh(), Dense(8, 2)], seed=0)
    model.compile("cross_entropy", snn.optimizers.SGD(lr=0.1))
    with no_warnings(errstate="default"):
        history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        out = model.predict(x * 100)
    assert all(np.isfinite(history.history["loss"]))
    assert all_finite(out, *model.get_weights())
