"""scratchnn.functional: every backward against central differences (float64), forward
formulas, optimizer update rules, argument checking and purity (no input is ever mutated)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchnn import functional as F

GRAD = settings(max_examples=20, deadline=None)
seeds = st.integers(0, 2**32 - 1)
dims = st.integers(1, 6)


def away_from_zero(rng, shape, lo=0.05, hi=3.0):
    """Values with lo <= |v| <= hi and a random sign (keeps ReLU kinks out of reach)."""
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def simplex_rows(rng, n, c):
    """Soft targets: rows of positive numbers that sum to 1."""
    return rng.dirichlet(np.ones(c), size=n)


ACTIVATIONS = {
    "relu": (F.relu, F.relu_backward),
    "leaky_relu": (functools.partial(F.leaky_relu, alpha=0.2),
                   functools.partial(F.leaky_relu_backward, alpha=0.2)),
    "leaky_relu_default": (F.leaky_relu, F.leaky_relu_backward),
    "sigmoid": (F.sigmoid, F.sigmoid_backward),
    "tanh": (F.tanh, F.tanh_backward),
    "softmax": (F.softmax, F.softmax_backward),
    "softmax_axis0": (functools.partial(F.softmax, axis=0),
                      functools.partial(F.softmax_backward, axis=0)),
    "log_softmax": (F.log_softmax, F.log_softmax_backward),
    "log_softmax_axis0": (functools.partial(F.log_softmax, axis=0),
                          functools.partial(F.log_softmax_backward, axis=0)),
}


# --------------------------------------------------------------------------------------------
# Gradient checks
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@GRAD
@given(n=dims, c=dims, seed=seeds)
def test_activation_backward_matches_central_differences(numgrad, grad_close, name, n, c, seed):
    forward, backward = ACTIVATIONS[name]
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, (n, c))
    r = rng.standard_normal((n, c))
    analytic = backward(r, x)
    assert analytic.shape == x.shape and analytic.dtype == np.float64
    grad_close(analytic, numgrad(forward, x, r))


@GRAD
@given(shape=st.lists(dims, min_size=1, max_size=3), seed=seeds)
def test_mse_backward_matches_central_differences(numgrad, grad_close, shape, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    analytic = F.mse_backward(pred, target)
    assert analytic.shape == pred.shape
    grad_close(analytic, numgrad(lambda p: F.mse(p, target), pred))


def _class_targets(kind, rng, n, c):
    labels = rng.integers(0, c, n)
    if kind == "labels":
        return labels
    if kind == "one_hot":
        return np.eye(c)[labels]
    return simplex_rows(rng, n, c)


@pytest.mark.parametrize("kind", ["labels", "one_hot", "soft"])
@GRAD
@given(n=dims, c=st.integers(2, 6), seed=seeds)
def test_cross_entropy_from_logits_backward(numgrad, grad_close, kind, n, c, seed):
    rng = np.random.default_rng(seed)
    logits = rng.uniform(-3, 3, (n, c))
    target = _class_targets(kind, rng, n, c)
    analytic = F.cross_entropy_backward(logits, target, from_logits=True)
    numeric = numgrad(lambda z: F.cross_entropy(z, target, from_logits=True), logits)
    grad_close(analytic, numeric)


@pytest.mark.parametrize("kind", ["labels", "one_hot", "soft"])
@GRAD
@given(n=dims, c=st.integers(2, 6), seed=seeds)
def test_cross_entropy_from_probabilities_backward(numgrad, grad_close, kind, n, c, seed):
    rng = np.random.default_rng(seed)
    probs = rng.uniform(0.05, 0.95, (n, c))  # far from the clipping bound 1e-12
    target = _class_targets(kind, rng, n, c)
    analytic = F.cross_entropy_backward(probs, target, from_logits=False)
    # -log p is strongly curved near p = 0.05: a smaller step keeps the O(h^4) error tiny
    numeric = numgrad(lambda p: F.cross_entropy(p, target, from_logits=False), probs, h=1e-4)
    grad_close(analytic, numeric)


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("soft", [False, True])
@GRAD
@given(n=dims, two_d=st.booleans(), seed=seeds)
def test_binary_cross_entropy_backward(numgrad, grad_close, from_logits, soft, n, two_d, seed):
    rng = np.random.default_rng(seed)
    shape = (n, 1) if two_d else (n,)
    pred = rng.uniform(-4, 4, shape) if from_logits else rng.uniform(0.05, 0.95, shape)
    target = rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(float)
    analytic = F.binary_cross_entropy_backward(pred, target, from_logits=from_logits)
    numeric = numgrad(lambda p: F.binary_cross_entropy(p, target, from_logits=from_logits),
                      pred, h=1e-3 if from_logits else 1e-4)
    assert analytic.shape == shape
    grad_close(analytic, numeric)


@GRAD
@given(n=dims, d_in=dims, d_out=dims, seed=seeds)
def test_dense_backward(numgrad, grad_close, n, d_in, d_out, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d_in))
    W = rng.standard_normal((d_in, d_out))
    b = rng.standard_normal(d_out)
    r = rng.standard_normal((n, d_out))
    gx, gW, gb = F.dense_backward(r, x, W)
    assert (gx.shape, gW.shape, gb.shape) == (x.shape, W.shape, b.shape)
    grad_close(gx, numgrad(lambda v: F.dense(v, W, b), x, r))
    grad_close(gW, numgrad(lambda w: F.dense(x, w, b), W, r))
    grad_close(gb, numgrad(lambda c: F.dense(x, W, c), b, r))


@GRAD
@given(n=dims, c=dims, rate=st.floats(0.1, 0.7), seed=seeds, mask_seed=seeds)
def test_dropout_backward_with_fixed_mask(numgrad, grad_close, n, c, rate, seed, mask_seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c))
    r = rng.standard_normal((n, c))

    def forward(v):  # the same generator state every call: the same mask
        return F.dropout(v, rate, rng=np.random.default_rng(mask_seed), training=True)[0]

    out, mask = F.dropout(x, rate, rng=np.random.default_rng(mask_seed), training=True)
    np.testing.assert_array_equal(out, x * mask)
    grad_close(F.dropout_backward(r, mask), numgrad(forward, x, r))


@pytest.mark.parametrize("training", [True, False])
@GRAD
@given(n=st.integers(3, 8), d=dims, seed=seeds)
def test_batch_norm_backward(numgrad, grad_close, training, n, d, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d))  # features with an exact batch std in [0.5, 3]
    x = rng.uniform(-2, 2, d) + rng.uniform(0.5, 3, d) * (z - z.mean(0)) / z.std(0)
    gamma, beta = rng.uniform(0.5, 2, d), rng.standard_normal(d)
    rm, rv = rng.standard_normal(d), rng.uniform(0.5, 2, d)
    r = rng.standard_normal((n, d))

    def bn(v=x, g=gamma, b=beta):
        return F.batch_norm(v, g, b, rm, rv, training=training)[0]

    _, cache, _, _ = F.batch_norm(x, gamma, beta, rm, rv, training=training)
    gx, gg, gb = F.batch_norm_backward(r, cache)
    grad_close(gx, numgrad(lambda v: bn(v=v), x, r), tol=1e-8, floor=1e-4)
    grad_close(gg, numgrad(lambda g: bn(g=g), gamma, r), tol=1e-8, floor=1e-4)
    grad_close(gb, numgrad(lambda b: bn(b=b), beta, r), tol=1e-8, floor=1e-4)


# --------------------------------------------------------------------------------------------
# Forward formulas
# --------------------------------------------------------------------------------------------

def test_activation_values():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    np.testing.assert_array_equal(F.relu(x), [[0, 0, 0, 0.5, 2]])
    np.testing.assert_allclose(F.leaky_relu(x, 0.1), [[-0.2, -0.05, 0, 0.5, 2]])
    np.testing.assert_allclose(F.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(F.tanh(x), np.tanh(x))
    np.testing.assert_array_equal(F.relu_backward(np.ones_like(x), x), [[0, 0, 0, 1, 1]])
    np.testing.assert_allclose(F.leaky_relu_backward(np.ones_like(x), x, 0.1),
                               [[0.1, 0.1, 0.1, 1, 1]])
    assert F.sigmoid(0.0) == 0.5


def test_softmax_and_log_softmax():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    s = F.softmax(x)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(s, np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(F.log_softmax(x), np.log(s), rtol=1e-13)
    np.testing.assert_allclose(F.softmax(x + 100.0), s, rtol=1e-13)  # shift invariance
    np.testing.assert_allclose(F.softmax(x, axis=0).sum(axis=0), 1.0, rtol=1e-14)


def test_loss_values():
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    labels = np.array([0, 2])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[[0, 1], labels]))
    assert F.cross_entropy(logits, labels) == pytest.approx(expected, rel=1e-14)
    assert F.cross_entropy(logits, np.eye(3)[labels]) == pytest.approx(expected, rel=1e-14)
    assert F.cross_entropy(p, labels, from_logits=False) == pytest.approx(expected, rel=1e-12)
    assert isinstance(F.cross_entropy(logits, labels), float)

    z = np.array([[-1.0], [0.5], [3.0]])
    t = np.array([[0.0], [1.0], [1.0]])
    s = 1 / (1 + np.exp(-z))
    bce = -np.mean(t * np.log(s) + (1 - t) * np.log(1 - s))
    assert F.binary_cross_entropy(z, t) == pytest.approx(bce, rel=1e-13)
    assert F.binary_cross_entropy(s, t, from_logits=False) == pytest.approx(bce, rel=1e-12)
    assert F.mse(np.array([1.0, 2.0]), np.array([0.0, 4.0])) == pytest.approx(2.5)
    # p = 0 for the true class: a large but finite loss (clipped at 1e-12)
    assert F.cross_entropy(np.array([[0.0, 1.0]]), np.array([0]), from_logits=False) \
        == pytest.approx(-np.log(1e-12))


def test_dense_forward():
    x = np.array([[1.0, 2.0]])
    W = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
    b = np.array([0.5, -0.5, 0.0])
    np.testing.assert_array_equal(F.dense(x, W, b), [[5.5, 1.5, 0.0]])


def test_dropout_mask_statistics_and_eval_mode():
    rng = np.random.default_rng(0)
    x = np.ones((200, 50))
    out, mask = F.dropout(x, 0.3, rng=rng)
    assert set(np.unique(mask)) == {0.0, 1 / 0.7}
    assert abs((mask == 0).mean() - 0.3) < 0.02
    assert abs(out.mean() - 1.0) < 0.03  # inverted dropout keeps the expectation
    out_eval, mask_eval = F.dropout(x, 0.3, rng=rng, training=False)
    np.testing.assert_array_equal(out_eval, x)
    np.testing.assert_array_equal(mask_eval, 1.0)
    assert not np.shares_memory(out_eval, x)
    out0, _ = F.dropout(x, 0.0, rng=rng)
    np.testing.assert_array_equal(out0, x)
    # the same seed gives the same mask
    m1 = F.dropout(x, 0.5, rng=np.random.default_rng(3))[1]
    m2 = F.dropout(x, 0.5, rng=np.random.default_rng(3))[1]
    np.testing.assert_array_equal(m1, m2)


def test_batch_norm_statistics():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, (16, 4))
    gamma, beta = np.full(4, 2.0), np.full(4, -1.0)
    rm, rv = np.zeros(4), np.ones(4)
    out, _, nm, nv = F.batch_norm(x, gamma, beta, rm, rv, training=True, momentum=0.1)
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(out, 2 * x_hat - 1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(nm, 0.1 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(nv, 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-12)
    out_e, _, em, ev = F.batch_norm(x, gamma, beta, nm, nv, training=False)
    np.testing.assert_allclose(out_e, 2 * (x - nm) / np.sqrt(nv + 1e-5) - 1, rtol=1e-12)
    np.testing.assert_array_equal(em, nm)
    np.testing.assert_array_equal(ev, nv)
    assert not np.shares_memory(em, nm) and not np.shares_memory(ev, nv)


# --------------------------------------------------------------------------------------------
# Optimizer update rules
# --------------------------------------------------------------------------------------------

def _opt_case(seed=0, shape=(3, 4)):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(shape), rng.uniform(0, 1, shape)


def test_update_rules_by_hand():
    p, g, s = _opt_case()
    np.testing.assert_allclose(F.sgd(p, g, 0.1), p - 0.1 * g, rtol=1e-15)

    new_p, new_v = F.momentum(p, g, s, 0.1, beta=0.9)
    np.testing.assert_allclose(new_v, 0.9 * s + g, rtol=1e-15)
    np.testing.assert_allclose(new_p, p - 0.1 * (0.9 * s + g), rtol=1e-14)

    new_p, new_v = F.nesterov(p, g, s, 0.1, beta=0.9)
    v = 0.9 * s + g
    np.testing.assert_allclose(new_v, v, rtol=1e-15)
    np.testing.assert_allclose(new_p, p - 0.1 * (g + 0.9 * v), rtol=1e-14)

    new_p, new_s = F.rmsprop(p, g, s, 0.01, rho=0.9, eps=1e-6)
    sq = 0.9 * s + 0.1 * g * g
    np.testing.assert_allclose(new_s, sq, rtol=1e-15)
    np.testing.assert_allclose(new_p, p - 0.01 * g / (np.sqrt(sq) + 1e-6), rtol=1e-14)

    m0, v0 = s * 0.1, s * 0.01
    for t in (1, 5):
        new_p, m, v = F.adam(p, g, m0, v0, t, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-7)
        m_ref, v_ref = 0.8 * m0 + 0.2 * g, 0.99 * v0 + 0.01 * g * g
        p_ref = p - 0.01 * (m_ref / (1 - 0.8**t)) / (np.sqrt(v_ref / (1 - 0.99**t)) + 1e-7)
        np.testing.assert_allclose(m, m_ref, rtol=1e-14)
        np.testing.assert_allclose(v, v_ref, rtol=1e-14)
        np.testing.assert_allclose(new_p, p_ref, rtol=1e-12)

    new_p, m, v = F.adamw(p, g, m0, v0, 3, lr=0.01, weight_decay=0.1)
    p_ref, m_ref, v_ref = F.adam(p * (1 - 0.01 * 0.1), g, m0, v0, 3, lr=0.01)
    np.testing.assert_allclose(new_p, p_ref, rtol=1e-14)
    np.testing.assert_array_equal(m, m_ref)  # the decay never enters the moments
    np.testing.assert_array_equal(v, v_ref)


RULES = {
    "sgd": lambda p, g, a, b: (F.sgd(p, g, 0.1),),
    "momentum": lambda p, g, a, b: F.momentum(p, g, a, 0.1),
    "nesterov": lambda p, g, a, b: F.nesterov(p, g, a, 0.1),
    "rmsprop": lambda p, g, a, b: F.rmsprop(p, g, a, 0.1),
    "adam": lambda p, g, a, b: F.adam(p, g, a, b, 2, 0.1),
    "adamw": lambda p, g, a, b: F.adamw(p, g, a, b, 2, 0.1),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_update_rules_are_pure(rule):
    p, g, a = _opt_case(1)
    b = a * 0.5
    copies = [arr.copy() for arr in (p, g, a, b)]
    out = RULES[rule](p, g, a, b)
    for arr, copy in zip((p, g, a, b), copies, strict=True):
        np.testing.assert_array_equal(arr, copy)
    for o in out:
        assert not any(np.shares_memory(o, arr) for arr in (p, g, a, b))
    assert not np.allclose(out[0], p)


def test_adam_step_number_starts_at_one():
    p, g, a = _opt_case()
    with pytest.raises(ValueError, match="t starts at 1"):
        F.adam(p, g, a, a, 0)


def test_clip_grad_norm():
    g1, g2 = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])
    clipped, norm = F.clip_grad_norm([g1, g2], 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(clipped[0], [0.6, 0.0])
    np.testing.assert_allclose(clipped[1], [[0.0], [0.8]])
    np.testing.assert_array_equal(g1, [3.0, 0.0])  # not modified
    same, norm = F.clip_grad_norm([g1, g2], 10.0)
    np.testing.assert_array_equal(same[1], g2)
    assert not np.shares_memory(same[0], g1)
    with pytest.raises(ValueError, match="max_norm"):
        F.clip_grad_norm([g1], 0.0)


# --------------------------------------------------------------------------------------------
# Argument checking
# --------------------------------------------------------------------------------------------

def test_shape_mismatches_name_the_function_and_the_shapes():
    a, b = np.zeros((3, 2)), np.zeros((3, 1))
    with pytest.raises(ValueError, match=r"mse.*\(3, 2\).*\(3, 1\)"):
        F.mse(a, b)
    with pytest.raises(ValueError, match=r"binary_cross_entropy.*\(3, 2\).*\(3, 1\)"):
        F.binary_cross_entropy(a, b)
    with pytest.raises(ValueError, match=r"dense.*\(3, 2\).*\(4, 5\)"):
        F.dense(a, np.zeros((4, 5)), np.zeros(5))
    with pytest.raises(ValueError, match=r"cross_entropy.*\(3, 2\).*\(4,\)"):
        F.cross_entropy(a, np.zeros(4, int))
    with pytest.raises(ValueError, match=r"cross_entropy.*\(3, 5\)"):
        F.cross_entropy(a, np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"batch_norm.*\(3, 2\)"):
        F.batch_norm(a, np.ones(4), np.zeros(4), np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match=r"at least 2 samples.*\(1, 2\)"):
        F.batch_norm(np.zeros((1, 2)), np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))


def test_labels_are_checked():
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"label 4 is out of range for 4 classes"):
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"label -1"):
        F.cross_entropy_backward(logits, np.array([0, -1, 1]))
    with pytest.raises(TypeError, match="integer class labels"):
        F.cross_entropy(logits, np.array([0.5, 1.0, 2.0]))
    # whole-number floats are accepted as labels
    assert F.cross_entropy(logits, np.array([0.0, 3.0, 1.0])) == pytest.approx(np.log(4))
    np.testing.assert_array_equal(F.check_labels([2, 0], 3, "me"), [2, 0])


def test_dropout_arguments():
    with pytest.raises(ValueError, match="rate"):
        F.dropout(np.ones(3), 1.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        F.dropout(np.ones(3), 0.5)


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="numeric"):
        F.relu(np.array(["a", "b"]))


def test_integer_inputs_are_cast_to_float():
    x = np.array([[1, -2, 3]])
    for fn in (F.relu, F.leaky_relu, F.sigmoid, F.tanh, F.softmax, F.log_softmax):
        out = fn(x)
        assert out.dtype == np.float64
    assert F.mse(np.array([1, 2]), np.array([1, 4])) == 2.0
    out = F.dense(np.array([[1, 2]]), np.ones((2, 1)), np.zeros(1))
    assert out.dtype == np.float64 and out[0, 0] == 3.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(dtype)
    g = rng.standard_normal((4, 3)).astype(dtype)
    for fn, bwd in ACTIVATIONS.values():
        assert fn(x).dtype == dtype
        assert bwd(g, x).dtype == dtype
    labels = np.array([0, 1, 2, 0])
    assert F.cross_entropy_backward(x, labels).dtype == dtype
    assert F.binary_cross_entropy_backward(x, (g > 0).astype(dtype)).dtype == dtype
    assert F.mse_backward(x, g).dtype == dtype
    out, mask = F.dropout(x, 0.5, rng=rng)
    assert out.dtype == dtype and mask.dtype == dtype
    ones, zeros = np.ones(3, dtype), np.zeros(3, dtype)
    out, cache, rm, rv = F.batch_norm(x, ones, zeros, zeros, ones, training=True)
    assert out.dtype == rm.dtype == rv.dtype == dtype
    assert all(a.dtype == dtype for a in F.batch_norm_backward(g, cache))


# --------------------------------------------------------------------------------------------
# Purity: nothing mutates its inputs
# --------------------------------------------------------------------------------------------

def test_functions_never_mutate_their_inputs():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 4))
    g = rng.standard_normal((5, 4))
    labels = rng.integers(0, 4, 5)
    onehot = np.eye(4)[labels]
    probs = F.softmax(x)
    W, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    gamma, beta, rm, rv = np.ones(4) * 1.5, np.ones(4) * 0.5, np.zeros(4), np.ones(4)
    arrays = (x, g, labels, onehot, probs, W, b, gamma, beta, rm, rv)
    copies = [a.copy() for a in arrays]

    for fn, bwd in ACTIVATIONS.values():
        fn(x)
        bwd(g, x)
    for target in (labels, onehot):
        F.cross_entropy(x, target)
        F.cross_entropy_backward(x, target)
        F.cross_entropy(probs, target, from_logits=False)
        F.cross_entropy_backward(probs, target, from_logits=False)
    for logits in (True, False):
        F.binary_cross_entropy(probs, onehot, from_logits=logits)
        F.binary_cross_entropy_backward(probs, onehot, from_logits=logits)
    F.mse(x, g)
    F.mse_backward(x, g)
    F.dense(x, W, b)
    F.dense_backward(g[:, :3], x, W)
    _, mask = F.dropout(x, 0.5, rng=rng)
    F.dropout_backward(g, mask)
    for training in (True, False):
        _, cache, _, _ = F.batch_norm(x, gamma, beta, rm, rv, training=training)
        F.batch_norm_backward(g, cache)
    for a, c in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, c)
