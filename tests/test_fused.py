"""The in-place fast path (``scratchnn._fused``) computes what the textbook forms of
``scratchnn.functional`` compute: every update rule over ten steps from a non-trivial state, and
the fused softmax cross-entropy, in float32 and float64; and the classes really use it."""

import numpy as np
import pytest

from scratchnn import _fused
from scratchnn import functional as F
from scratchnn.losses import CrossEntropy

# tolerance per dtype: the fast path reorders a few roundings (Adam folds its bias corrections
# into scalars), so float32 agrees to a few ulps of the update, float64 to ~1e-12
RTOL = {np.float32: 2e-5, np.float64: 1e-12}

# name -> (textbook rule(param, grad, state list, t) -> (param, *state),
#          fast rule(param, grad, state list, t, scratch) -> None, number of state arrays)
RULES = {
    "sgd": (lambda p, g, s, t: (F.sgd(p, g, 0.05),),
            lambda p, g, s, t, tmp: _fused.sgd(p, g, 0.05, tmp), 0),
    "momentum": (lambda p, g, s, t: F.momentum(p, g, s[0], 0.05, 0.8),
                 lambda p, g, s, t, tmp: _fused.momentum(p, g, s[0], 0.05, 0.8, tmp), 1),
    "nesterov": (lambda p, g, s, t: F.nesterov(p, g, s[0], 0.05, 0.8),
                 lambda p, g, s, t, tmp: _fused.nesterov(p, g, s[0], 0.05, 0.8, tmp), 1),
    "rmsprop": (lambda p, g, s, t: F.rmsprop(p, g, s[0], 0.01, 0.9, 1e-6),
                lambda p, g, s, t, tmp: _fused.rmsprop(p, g, s[0], 0.01, 0.9, 1e-6, tmp), 1),
    "adagrad": (lambda p, g, s, t: F.adagrad(p, g, s[0], 0.05, 1e-10),
                lambda p, g, s, t, tmp: _fused.adagrad(p, g, s[0], 0.05, 1e-10, tmp), 1),
    "adam": (lambda p, g, s, t: F.adam(p, g, s[0], s[1], t, 0.01, 0.8, 0.99, 1e-7),
             lambda p, g, s, t, tmp: _fused.adam(p, g, s[0], s[1], t, 0.01, 0.8, 0.99, 1e-7,
                                                 tmp), 2),
    "adamw": (lambda p, g, s, t: F.adamw(p, g, s[0], s[1], t, 0.01, 0.8, 0.99, 1e-7, 0.1),
              lambda p, g, s, t, tmp: _fused.adamw(p, g, s[0], s[1], t, 0.01, 0.8, 0.99, 1e-7,
                                                   0.1, tmp), 2),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(RULES))
def test_fast_update_rules_agree_with_the_textbook_forms_over_ten_steps(name, dtype):
    textbook, fast, n_state = RULES[name]
    rng = np.random.default_rng(7)
    param = rng.standard_normal((6, 5)).astype(dtype)
    # a state that is not zero, as after earlier steps (v >= 0 for the squared averages)
    state = [np.abs(rng.standard_normal((6, 5))).astype(dtype) * 0.1 for _ in range(n_state)]
    ref_param, ref_state = param.copy(), [s.copy() for s in state]
    scratch = np.empty_like(param)
    arrays = [param, *state]
    for t in range(1, 11):
        grad = rng.standard_normal((6, 5)).astype(dtype)
        grad_copy = grad.copy()
        ref_param, *ref_state = textbook(ref_param, grad, ref_state, t)
        assert fast(param, grad, state, t, scratch) is None
        np.testing.assert_array_equal(grad, grad_copy)  # the gradient is never written
        for got, want in zip([param, *state], [ref_param, *ref_state], strict=True):
            assert got.dtype == dtype and want.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-3)
    assert all(a is b for a, b in zip(arrays, [param, *state], strict=True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_softmax_cross_entropy_agrees_with_the_textbook_form(dtype):
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((9, 4)) * 30).astype(dtype)  # large logits: stability
    logits[0] = [1e4, -1e4, 0, 5]
    labels = rng.integers(0, 4, 9)
    before = logits.copy()
    loss, probs = _fused.softmax_cross_entropy(logits, labels)
    grad = _fused.softmax_cross_entropy_backward(probs.copy(), labels)
    np.testing.assert_array_equal(logits, before)
    assert np.isfinite(loss)
    assert loss == pytest.approx(F.cross_entropy(logits, labels), rel=RTOL[dtype])
    np.testing.assert_allclose(probs, F.softmax(logits), rtol=RTOL[dtype], atol=1e-30)
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, F.cross_entropy_backward(logits, labels),
                               rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-3)


def test_the_training_path_of_cross_entropy_uses_one_softmax():
    """``forward_prepared`` (what Sequential calls) keeps the softmax for ``backward``; a plain
    ``forward`` afterwards must not let a stale softmax leak into the next ``backward``."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    y = np.array([0, 2, 1, 1, 0])
    loss = CrossEntropy()
    assert loss.forward_prepared(a, y) == pytest.approx(F.cross_entropy(a, y), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), F.cross_entropy_backward(a, y), rtol=1e-12)
    loss.forward(b, y)
    np.testing.assert_allclose(loss.backward(), F.cross_entropy_backward(b, y), rtol=1e-12)
    onehot = np.eye(3)[y]  # one-hot targets take the general path
    assert loss.forward_prepared(a, onehot) == pytest.approx(F.cross_entropy(a, y), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), F.cross_entropy_backward(a, y), rtol=1e-12)


def test_a_second_backward_after_the_fast_forward_gives_the_same_gradient():
    rng = np.random.default_rng(5)
    a, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss = CrossEntropy()
    loss.forward_prepared(a, y)
    first = loss.backward().copy()
    np.testing.assert_allclose(loss.backward(), first, rtol=1e-12)
    np.testing.assert_allclose(first, F.cross_entropy_backward(a, y), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride, padding, input_grad", [(1, 0, True), (2, 1, True),
                                                         ((2, 1), (0, 2), False)])
def test_fused_conv2d_agrees_with_the_textbook_form(dtype, stride, padding, input_grad):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 7, 6)).astype(dtype)
    W = rng.standard_normal((4, 2, 3, 2)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    out, cols = _fused.conv2d_forward(x, W, b, stride, padding)
    ref = F.conv2d(x, W, b, stride, padding)
    np.testing.assert_allclose(out, ref, rtol=RTOL[dtype], atol=RTOL[dtype])
    g = rng.standard_normal(out.shape).astype(dtype)
    grad_W, grad_b = np.empty_like(W), np.empty_like(b)
    gx = _fused.conv2d_backward(g, cols, x.shape, W, stride, padding, grad_W, grad_b,
                                input_grad)
    rx, rW, rb = F.conv2d_backward(g, x, W, stride, padding, input_grad)
    for got, want in ((grad_W, rW), (grad_b, rb)) + (((gx, rx),) if input_grad else ()):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype] * 10)
    assert gx is None or input_grad
