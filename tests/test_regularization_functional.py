"""scratchnn.functional.l2_penalty and l2_penalty_backward (notebook 04's L2 pair)."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import functional as F
from scratchnn import gradcheck as G


def _weights(dtype=np.float64):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(4, 3)).astype(dtype), rng.normal(size=(3, 2)).astype(dtype)]


def test_penalty_is_half_lambda_times_the_sum_of_squares():
    W1, W2 = np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[2.0], [0.0], [-2.0]])
    got = F.l2_penalty([W1, W2], 0.1)
    assert isinstance(got, float)
    assert got == pytest.approx(0.05 * (15 + 8))
    assert F.l2_penalty([], 0.3) == 0.0
    assert F.l2_penalty((W1,), 0.0) == 0.0


def test_gradient_is_lambda_times_w_and_matches_finite_differences():
    weights = _weights()
    grads = F.l2_penalty_backward(weights, 0.3)
    assert isinstance(grads, list) and len(grads) == 2
    for k, (W, g) in enumerate(zip(weights, grads, strict=True)):
        np.testing.assert_allclose(g, 0.3 * W)

        def penalty(v, k=k):
            return F.l2_penalty([v if i == k else w for i, w in enumerate(weights)], 0.3)

        assert G.rel_error(g, G.numerical_gradient(penalty, W)) < 1e-7


def test_inputs_are_never_modified_and_the_gradients_are_new_arrays():
    weights = _weights()
    before = [w.copy() for w in weights]
    F.l2_penalty(weights, 2.0)
    grads = F.l2_penalty_backward(weights, 2.0)
    for w, b, g in zip(weights, before, grads, strict=True):
        np.testing.assert_array_equal(w, b)
        assert not np.shares_memory(w, g)


def test_float32_stays_float32():
    weights = _weights(np.float32)
    assert all(g.dtype == np.float32 for g in F.l2_penalty_backward(weights, 1e-3))
    assert F.l2_penalty(weights, 1e-3) == pytest.approx(
        F.l2_penalty([w.astype(np.float64) for w in weights], 1e-3), rel=1e-6)


def test_integer_weights_are_accepted():
    assert F.l2_penalty([np.array([[1, 2], [3, 4]])], 1.0) == 15.0
    assert F.l2_penalty_backward([np.array([2, -2])], 0.5)[0].tolist() == [1.0, -1.0]


@pytest.mark.parametrize("fn", [F.l2_penalty, F.l2_penalty_backward])
def test_bad_arguments_raise_clear_errors(fn):
    with pytest.raises(TypeError, match=r"list of weight matrices.*\[W\]"):
        fn(np.ones((2, 2)), 0.1)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        fn([np.ones((2, 2))], -0.1)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        fn([np.ones((2, 2))], float("nan"))
    with pytest.raises(TypeError, match=r"weights\[1\] must be a numeric array"):
        fn([np.ones(2), np.array(["a", "b"])], 0.1)


def test_sgd_with_the_penalty_gradient_is_weight_decay():
    """lam is the weight_decay of SGD: w - lr (g + lam w) = (1 - lr lam) w - lr g."""
    w, g, lr, lam = np.array([1.0, -2.0]), np.array([0.5, 0.5]), 0.1, 0.01
    step = F.sgd(w, g + F.l2_penalty_backward([w], lam)[0], lr)
    np.testing.assert_allclose(step, (1 - lr * lam) * w - lr * g)
