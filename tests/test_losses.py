"""Loss objects (scratchnn.losses): values and gradients, target preparation, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchnn import functional as F
from scratchnn import losses

GRAD = settings(max_examples=15, deadline=None)


def _case(name, rng, n, c):
    if name == "mse":
        return losses.MSE(), rng.standard_normal((n, c)), rng.standard_normal((n, c))
    if name == "ce_logits_labels":
        return losses.CrossEntropy(), rng.uniform(-3, 3, (n, c)), rng.integers(0, c, n)
    if name == "ce_logits_onehot":
        return losses.CrossEntropy(), rng.uniform(-3, 3, (n, c)), np.eye(c)[rng.integers(0, c, n)]
    if name == "ce_probs_labels":
        return (losses.CrossEntropy(from_logits=False), rng.uniform(0.05, 0.95, (n, c)),
                rng.integers(0, c, n))
    if name == "bce_logits":
        return (losses.BinaryCrossEntropy(), rng.uniform(-4, 4, (n, 1)),
                rng.integers(0, 2, (n, 1)).astype(float))
    return (losses.BinaryCrossEntropy(from_logits=False), rng.uniform(0.05, 0.95, (n, 1)),
            rng.integers(0, 2, (n, 1)).astype(float))


CASES = ["mse", "ce_logits_labels", "ce_logits_onehot", "ce_probs_labels", "bce_logits",
         "bce_probs"]


@pytest.mark.parametrize("name", CASES)
@GRAD
@given(n=st.integers(1, 6), c=st.integers(2, 5), seed=st.integers(0, 2**32 - 1))
def test_loss_backward_matches_central_differences(numgrad, grad_close, name, n, c, seed):
    loss, pred, target = _case(name, np.random.default_rng(seed), n, c)
    value = loss.forward(pred, target)
    assert isinstance(value, float) and np.isfinite(value)
    analytic = loss.backward()
    assert analytic.shape == pred.shape and analytic.dtype == np.float64
    h = 1e-4 if "probs" in name else 1e-3
    grad_close(analytic, numgrad(lambda p: losses.get(loss).forward(p, target), pred, h=h))


@pytest.mark.parametrize("name", CASES)
def test_losses_wrap_the_functional_reference_and_do_not_mutate(name):
    rng = np.random.default_rng(0)
    loss, pred, target = _case(name, rng, 5, 3)
    pred_copy, target_copy = pred.copy(), target.copy()
    fn, grad_fn = {
        "mse": (F.mse, F.mse_backward),
        "ce": (F.cross_entropy, F.cross_entropy_backward),
        "bce": (F.binary_cross_entropy, F.binary_cross_entropy_backward),
    }[name.split("_")[0]]
    kwargs = loss.get_config()
    assert loss(pred, target) == fn(pred, target, **kwargs)
    np.testing.assert_array_equal(loss.backward(), grad_fn(pred, target, **kwargs))
    np.testing.assert_array_equal(pred, pred_copy)
    np.testing.assert_array_equal(target, target_copy)


def test_backward_keeps_the_prediction_dtype():
    rng = np.random.default_rng(0)
    pred = rng.standard_normal((4, 1)).astype(np.float32)
    for loss, target in [(losses.MSE(), np.zeros((4, 1))),
                         (losses.BinaryCrossEntropy(), np.ones((4, 1), dtype=np.int64))]:
        loss.forward(pred, target)
        assert loss.backward().dtype == np.float32
    ce = losses.CrossEntropy()
    ce.forward(rng.standard_normal((4, 3)).astype(np.float32), np.array([0, 1, 2, 0]))
    assert ce.backward().dtype == np.float32


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="CrossEntropy: backward\\(\\) called before forward"):
        losses.CrossEntropy().backward()


def test_prepare_target():
    mse = losses.MSE()
    assert mse.prepare_target(np.zeros(5), 1).shape == (5, 1)
    assert mse.prepare_target(np.zeros((5, 2)), 2).shape == (5, 2)

    ce = losses.CrossEntropy()
    out = ce.prepare_target(np.array([0.0, 2.0, 1.0]), 3)
    assert out.dtype == np.int64
    with pytest.raises(ValueError, match="CrossEntropy: label 3 is out of range for 3 classes"):
        ce.prepare_target(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match=r"CrossEntropy: targets of shape \(2, 4\).*3 outputs"):
        ce.prepare_target(np.zeros((2, 4)), 3)

    bce = losses.BinaryCrossEntropy()
    assert bce.prepare_target(np.array([0, 1, 1]), 1).shape == (3, 1)
    with pytest.raises(ValueError, match=r"BinaryCrossEntropy: targets must lie in \[0, 1\]"):
        bce.prepare_target(np.array([0, 2]), 1)
    with pytest.raises(ValueError, match=r"BinaryCrossEntropy: targets of shape \(3, 2\)"):
        bce.prepare_target(np.zeros((3, 2)), 1)


def test_get_by_name():
    assert isinstance(losses.get("mse"), losses.MSE)
    assert isinstance(losses.get("cross_entropy"), losses.CrossEntropy)
    assert isinstance(losses.get("categorical_crossentropy"), losses.CrossEntropy)
    assert isinstance(losses.get("binary_crossentropy"), losses.BinaryCrossEntropy)
    loss = losses.CrossEntropy(from_logits=False)
    assert losses.get(loss) is loss
    assert repr(loss) == "CrossEntropy(from_logits=False)"
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        losses.get("hinge")
