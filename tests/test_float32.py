"""Every epsilon, clip bound and cap holds in float32 as in float64 (issue #16, section 1).

Each loss, activation, batch norm and optimizer update rule is evaluated at the extremes
(probabilities exactly 0 and 1, logits of +-1e4, zero variance, zero and huge gradients) in
both dtypes, and compared with a float64 reference written here from the formula or its
analytic limit. Tolerances come from the dtype: ``rtol = 64 * finfo(dtype).eps`` (7.6e-6 in
float32, 1.4e-14 in float64), 64 roundings of slack. The last tests reproduce the report end
to end: a ``Dense -> Sigmoid`` model trained on separable data, then on moons.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import activations as A
from scratchnn import datasets, losses
from scratchnn import functional as F
from scratchnn import optimizers as O
from scratchnn.layers import Dense

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


def rtol(dtype) -> float:
    return 64 * float(np.finfo(dtype).eps)


def assert_close(actual, expected, dtype, scale=None):
    """``|actual - expected| <= rtol (|expected| + scale)``, elementwise; ``scale`` (default
    ``max |expected|``) lets entries that round to 0 in ``dtype`` compare with tiny ones."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert np.all(np.isfinite(actual)), actual
    if scale is None:
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol(dtype), atol=rtol(dtype) * scale)


def exact_in(dtype, values):
    """``values`` rounded to ``dtype`` (the inputs), and the same numbers in float64 for the
    reference: both see identical inputs, so only the arithmetic differs."""
    x = np.asarray(values, dtype=dtype)
    return x, x.astype(np.float64)


# --------------------------------------------------------------------------------------------
# The clipping bound of probabilities
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_prob_bounds_stay_strictly_inside_0_1_in_the_dtype(dtype):
    lo, hi = F.prob_bounds(dtype)
    assert dtype(lo) > 0 and dtype(hi) < 1  # 1 - 1e-12 is 1.0 in float32
    assert dtype(hi) == hi  # exact, so the cost -log(hi) of a right certain one is ~1 - hi
    assert F.prob_bounds(np.dtype(dtype)) == (lo, hi)
    if dtype != np.float16:
        assert lo == 1e-12  # float32 resolves far smaller probabilities: do not clip them
    if dtype == np.float64:
        assert hi == 1 - 1e-12  # the course's EPS: float64 results are unchanged


def clipped(dtype):
    """``prob_bounds(dtype)`` as the dtype rounds them, in float64 for the references."""
    return tuple(float(dtype(b)) for b in F.prob_bounds(dtype))


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------

@DTYPES
def test_bce_from_probabilities_exactly_0_and_1(dtype):
    # The report: p = 1, t = 1 gave nan (0 * log 0); p = 1, t = 0 gave inf.
    p, _ = exact_in(dtype, [[1.0], [1.0], [0.0], [0.0], [0.5]])
    t, _ = exact_in(dtype, [[1.0], [0.0], [0.0], [1.0], [1.0]])
    (lo, hi), n = clipped(dtype), 5
    costs = [-np.log(hi), -np.log1p(-hi), -np.log1p(-lo), -np.log(lo), np.log(2)]
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        loss = F.binary_cross_entropy(p, t, from_logits=False)
        grad = F.binary_cross_entropy_backward(p, t, from_logits=False)
        obj = losses.BinaryCrossEntropy(from_logits=False)
        obj_loss, obj_grad = obj.forward(p, t), obj.backward()
    assert loss == pytest.approx(np.mean(costs), rel=rtol(dtype))
    assert -np.log(hi) < 2 * (1 - hi)  # a right certain prediction costs ~0, not nan
    assert obj_loss == loss and obj_grad.dtype == dtype
    # dL/dp = (p - t) / (p (1 - p) n) at the clipped p: about -1/n for a right certain
    # prediction, as in float64, and +-1 / (margin n) for a wrong one.
    expected = np.array([[-1 / hi], [1 / (1 - hi)], [1 / (1 - lo)], [-1 / lo], [-2.0]]) / n
    assert grad.dtype == dtype
    assert_close(grad, expected, dtype, scale=0)
    np.testing.assert_array_equal(obj_grad, grad)


@DTYPES
def test_bce_from_huge_logits_matches_float64(dtype):
    z, z64 = exact_in(dtype, [1e4, -1e4, 1e4, -1e4, 30.0, -30.0, 17.0, 0.0])
    t, t64 = exact_in(dtype, [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    # reference: softplus(z) - z t with softplus(z) = max(z, 0) + log1p(exp(-|z|))
    ref = np.mean(np.maximum(z64, 0) + np.log1p(np.exp(-np.abs(z64))) - z64 * t64)
    sig = np.where(z64 >= 0, 1 / (1 + np.exp(-np.abs(z64))),
                   np.exp(-np.abs(z64)) / (1 + np.exp(-np.abs(z64))))
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        loss = F.binary_cross_entropy(z, t)
        grad = F.binary_cross_entropy_backward(z, t)
    assert loss == pytest.approx(ref, rel=rtol(dtype))
    assert grad.dtype == dtype
    assert_close(grad, (sig - t64) / z.size, dtype)


@DTYPES
@pytest.mark.parametrize("one_hot", [False, True], ids=["labels", "one_hot"])
def test_cross_entropy_from_probabilities_exactly_0_and_1(dtype, one_hot):
    p, _ = exact_in(dtype, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    labels = np.array([0, 0, 2])  # the middle row gives the true class probability 0
    target = np.eye(3, dtype=dtype)[labels] if one_hot else labels
    lo, n = clipped(dtype)[0], 3
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        loss = F.cross_entropy(p, target, from_logits=False)
        grad = F.cross_entropy_backward(p, target, from_logits=False)
    assert loss == pytest.approx(-np.log(lo) / n, rel=rtol(dtype))
    expected = np.zeros((3, 3))
    expected[[0, 1, 2], labels] = [-1 / n, -1 / (lo * n), -1 / n]  # -t / (N p), p clipped
    assert grad.dtype == dtype
    assert_close(grad, expected, dtype, scale=0)


@DTYPES
@pytest.mark.parametrize("one_hot", [False, True], ids=["labels", "one_hot"])
def test_cross_entropy_from_huge_logits_matches_float64(dtype, one_hot):
    z, z64 = exact_in(dtype, [[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [20.0, 0.0, -20.0],
                              [0.0, 0.0, 0.0]])
    labels = np.array([0, 0, 1, 2])
    target = np.eye(3, dtype=dtype)[labels] if one_hot else labels
    shifted = z64 - z64.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    onehot = np.eye(3)[labels]
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        loss = F.cross_entropy(z, target)
        grad = F.cross_entropy_backward(z, target)
    assert loss == pytest.approx(-np.sum(onehot * log_p) / 4, rel=rtol(dtype))
    assert grad.dtype == dtype
    assert_close(grad, (np.exp(log_p) - onehot) / 4, dtype)


@DTYPES
def test_mse_at_the_extremes_matches_float64(dtype):
    pred, p64 = exact_in(dtype, [[0.0, 1.0], [1e4, -1e4], [0.1, 0.0]])
    target, t64 = exact_in(dtype, [[1.0, 0.0], [-1e4, 1e4], [0.1, 0.0]])
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        loss, grad = F.mse(pred, target), F.mse_backward(pred, target)
    assert loss == pytest.approx(np.mean((p64 - t64) ** 2), rel=rtol(dtype))
    assert grad.dtype == dtype
    assert_close(grad, 2 * (p64 - t64) / pred.size, dtype)


# --------------------------------------------------------------------------------------------
# Activations: forward and backward against float64 formulas written independently here
# --------------------------------------------------------------------------------------------

def _ref_sigmoid(x):
    e = np.exp(-np.abs(x))  # in (0, 1]: no overflow
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)), e / (1 + e) ** 2


def _ref_tanh(x):
    e = np.exp(-2 * np.abs(x))
    return np.tanh(x), 4 * e / (1 + e) ** 2  # 1 / cosh(x)**2 without overflow


def _ref_softmax_rows(x, g):
    """Row-wise softmax and the Jacobian product ``J g`` with ``J = diag(s) - s s^T``."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1, keepdims=True)
    jac = np.einsum("ni,ij->nij", s, np.eye(x.shape[1])) - np.einsum("ni,nj->nij", s, s)
    return s, np.einsum("nij,nj->ni", jac, g)


def _reference(name, x, g):
    """``(f(x), grad_in)`` in float64 for ``grad_out = g``."""
    if name == "relu":
        return np.where(x > 0, x, 0.0), g * (x > 0)
    if name == "leaky_relu":
        return np.where(x > 0, x, 0.01 * x), g * np.where(x > 0, 1.0, 0.01)
    if name == "sigmoid":
        s, ds = _ref_sigmoid(x)
        return s, g * ds
    if name == "tanh":
        t, dt = _ref_tanh(x)
        return t, g * dt
    if name == "softmax":
        return _ref_softmax_rows(x, g)
    s, _ = _ref_softmax_rows(x, g)  # log_softmax: x - logsumexp, grad g - s sum(g)
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True)), \
        g - s * g.sum(axis=1, keepdims=True)


ACTIVATIONS = {
    "relu": (F.relu, F.relu_backward, A.ReLU),
    "leaky_relu": (F.leaky_relu, F.leaky_relu_backward, A.LeakyReLU),
    "sigmoid": (F.sigmoid, F.sigmoid_backward, A.Sigmoid),
    "tanh": (F.tanh, F.tanh_backward, A.Tanh),
    "softmax": (F.softmax, F.softmax_backward, A.Softmax),
    "log_softmax": (F.log_softmax, F.log_softmax_backward, None),
}
EXTREMES = [[-1e4, -100.0, -20.0, -1.0, 0.0],
            [1.0, 20.0, 100.0, 1e4, 0.5],
            [1e4, 1e4, -1e4, 0.0, -1e4]]


@DTYPES
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_at_the_extremes_matches_float64(dtype, name):
    forward, backward, layer_cls = ACTIVATIONS[name]
    x, x64 = exact_in(dtype, EXTREMES)
    g, g64 = exact_in(dtype, np.random.default_rng(0).uniform(0.5, 2.0, x.shape))
    out_ref, grad_ref = _reference(name, x64, g64)
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        out, grad = forward(x), backward(g, x)
        if layer_cls is not None:
            layer = layer_cls()
            np.testing.assert_array_equal(layer.forward(x), out)
            np.testing.assert_array_equal(layer.backward(g), grad)
    assert out.dtype == dtype and grad.dtype == dtype
    assert_close(out, out_ref, dtype)
    assert_close(grad, grad_ref, dtype)


# --------------------------------------------------------------------------------------------
# Batch norm with zero variance
# --------------------------------------------------------------------------------------------

CONSTANTS = [0.0, 1.0, 1000.1, -12345.678, 1e6 + 0.1]


@DTYPES
def test_batch_norm_of_constant_features_is_beta_in_training(dtype):
    # x_hat = (x - mu) / sqrt(var + eps) is exactly 0 for a constant column, whatever the
    # rounding of mu (a float32 mean of 256 copies of 1000.1 is off by ~1e-3, which
    # x_hat magnified to ~1 before), and dL/dx = gamma (g - mean g) / sqrt(eps).
    n, eps = 256, 1e-5
    x, x64 = exact_in(dtype, np.tile(CONSTANTS, (n, 1)))
    d = x.shape[1]
    gamma, gamma64 = exact_in(dtype, np.linspace(0.5, 2.0, d))
    beta, beta64 = exact_in(dtype, np.linspace(-1.0, 1.0, d))
    g, g64 = exact_in(dtype, np.random.default_rng(1).standard_normal((n, d)))
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        out, cache, rm, rv = F.batch_norm(x, gamma, beta, np.zeros(d, dtype), np.ones(d, dtype),
                                          training=True, eps=eps)
        gx, ggamma, gbeta = F.batch_norm_backward(g, cache)
    assert out.dtype == gx.dtype == rm.dtype == rv.dtype == dtype
    assert_close(out, np.broadcast_to(beta64, (n, d)), dtype, scale=1.0)
    assert_close(rm, 0.1 * x64[0], dtype)
    assert_close(rv, np.full(d, 0.9), dtype)
    assert_close(gx, gamma64 * (g64 - g64.mean(axis=0)) / np.sqrt(eps), dtype)
    assert_close(ggamma, np.zeros(d), dtype, scale=float(np.abs(g64).sum(axis=0).max()))
    assert_close(gbeta, g64.sum(axis=0), dtype)


@DTYPES
def test_batch_norm_of_nearly_constant_features_matches_float64(dtype):
    # std 1e-3 on top of a mean of 1000: var is below eps, so x_hat is small but not 0.
    n, eps = 256, 1e-5
    rng = np.random.default_rng(2)
    x, x64 = exact_in(dtype, 1000.0 + 1e-3 * rng.standard_normal((n, 3)))
    g, g64 = exact_in(dtype, rng.standard_normal((n, 3)))
    ones = np.ones(3, dtype)
    out, cache, _, rv = F.batch_norm(x, ones, 0 * ones, 0 * ones, ones, eps=eps)
    gx, ggamma, _ = F.batch_norm_backward(g, cache)
    # An accurate reference: x - x[0] is exact (the values are within a factor 2) and fsum
    # rounds correctly; a plain float64 x - mean(x) is off by ulp(1000) / 2 = 6e-14.
    d = x64 - x64[0]
    centered = d - np.array([math.fsum(col) for col in d.T]) / n
    var = np.array([math.fsum(col) for col in (centered ** 2).T]) / n
    x_hat = centered / np.sqrt(var + eps)
    ref_gx = (n * g64 - g64.sum(0) - x_hat * (g64 * x_hat).sum(0)) / (n * np.sqrt(var + eps))
    # float32 data quantised at ulp(1000) = 6e-5: allow ~1e3 roundings of relative error
    tol = dict(rtol=1e3 * np.finfo(dtype).eps)
    np.testing.assert_allclose(out, x_hat, atol=tol["rtol"], **tol)
    np.testing.assert_allclose(rv, 0.9 + 0.1 * var * n / (n - 1), **tol)
    np.testing.assert_allclose(gx, ref_gx, atol=tol["rtol"] * np.abs(ref_gx).max(), **tol)
    np.testing.assert_allclose(ggamma, (g64 * x_hat).sum(0), atol=tol["rtol"] * n, **tol)


@DTYPES
def test_batch_norm_eval_with_zero_running_variance(dtype):
    eps = 1e-5
    x, x64 = exact_in(dtype, [[1.0, 1000.1], [1.0, 1000.1], [1.5, 999.0]])
    rm, rm64 = exact_in(dtype, [1.0, 1000.1])
    g, g64 = exact_in(dtype, [[1.0, -2.0], [0.5, 3.0], [-1.0, 1.0]])
    ones, zeros = np.ones(2, dtype), np.zeros(2, dtype)
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        out, cache, new_rm, new_rv = F.batch_norm(x, ones, zeros, rm, zeros, training=False,
                                                  eps=eps)
        gx, _, _ = F.batch_norm_backward(g, cache)
    assert_close(out, (x64 - rm64) / np.sqrt(eps), dtype)
    assert_close(gx, g64 / np.sqrt(eps), dtype)
    np.testing.assert_array_equal(new_rm, rm)
    np.testing.assert_array_equal(new_rv, zeros)


def test_batch_norm_rejects_an_eps_that_is_zero_in_float32():
    # BatchNorm checks eps > 0 as a Python float; 1e-50 is 0 in float32 and a constant
    # feature then normalized to 0 / 0 = nan.
    x = np.ones((4, 2), np.float32)
    ones, zeros = np.ones(2, np.float32), np.zeros(2, np.float32)
    with pytest.raises(ValueError, match="eps=1e-50, which is 0.0 in float32"):
        F.batch_norm(x, ones, zeros, zeros, ones, eps=1e-50)
    out = F.batch_norm(x.astype(np.float64), ones, zeros, zeros, ones, eps=1e-50)[0]
    np.testing.assert_array_equal(out, 0)  # 1e-50 is a fine eps in float64


# --------------------------------------------------------------------------------------------
# Optimizer update rules: zero and huge gradients
# --------------------------------------------------------------------------------------------

LR = 0.01
RULES = {  # name: (step(param, grad) -> (param, *state), state count)
    "sgd": (lambda p, g: (F.sgd(p, g, LR),), 0),
    "momentum": (lambda p, g: F.momentum(p, g, np.zeros_like(p), LR), 1),
    "nesterov": (lambda p, g: F.nesterov(p, g, np.zeros_like(p), LR), 1),
    "rmsprop": (lambda p, g: F.rmsprop(p, g, np.zeros_like(p), LR), 1),
    "adam": (lambda p, g: F.adam(p, g, np.zeros_like(p), np.zeros_like(p), 1, LR), 2),
    "adamw": (lambda p, g: F.adamw(p, g, np.zeros_like(p), np.zeros_like(p), 1, LR), 2),
}


def first_step(name, p, g):
    """The first step from zero state in float64, from the formulas: momentum and Nesterov
    (``v = g``) move by ``lr g`` and ``lr (1 + beta) g``; RMSProp by
    ``lr g / (sqrt(1 - rho) |g| + eps)``; Adam by ``lr g / (|g| + eps)`` (the bias
    corrections cancel at t = 1); AdamW decays first by ``1 - lr 0.01``."""
    absg = np.abs(g)
    return {
        "sgd": p - LR * g, "momentum": p - LR * g, "nesterov": p - LR * 1.9 * g,
        "rmsprop": p - LR * g / (np.sqrt(0.01) * absg + 1e-8),
        "adam": p - LR * g / (absg + 1e-8),
        "adamw": p * (1 - LR * 0.01) - LR * g / (absg + 1e-8),
    }[name]


@DTYPES
@pytest.mark.parametrize("name", sorted(RULES))
def test_update_rule_with_zero_gradients_keeps_everything(dtype, name):
    step, n_state = RULES[name]
    p, p64 = exact_in(dtype, [-3.0, 0.0, 1e4])
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        new_p, *state = step(p, np.zeros_like(p))
        if name in ("adam", "adamw"):  # late steps: 1 - beta**t near 1, eps alone below
            late = F.adam(p, np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), 10**6)
            np.testing.assert_array_equal(late[0], p)
    assert new_p.dtype == dtype and len(state) == n_state
    assert_close(new_p, first_step(name, p64, np.zeros(3)), dtype)
    for s in state:
        np.testing.assert_array_equal(s, 0)


@DTYPES
@pytest.mark.parametrize("name", sorted(RULES))
def test_update_rule_with_huge_gradients_matches_the_formula(dtype, name):
    # 1% of sqrt(finfo.max): g**2 and every state stay finite (1.8e17 in float32).
    huge = 0.01 * np.sqrt(float(np.finfo(dtype).max))
    step, _ = RULES[name]
    p, p64 = exact_in(dtype, [1.0, -2.0, 0.5])
    g, g64 = exact_in(dtype, [huge, -huge, 1.0])
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        new_p, *state = step(p, g)
    assert new_p.dtype == dtype
    assert all(np.all(np.isfinite(s)) for s in state)
    assert_close(new_p, first_step(name, p64, g64), dtype, scale=0)


# --------------------------------------------------------------------------------------------
# The report, end to end
# --------------------------------------------------------------------------------------------

@DTYPES
def test_sigmoid_model_on_separable_data_after_one_sgd_step(dtype):
    # One large SGD step saturates the sigmoid: in float32 every output rounds to exactly
    # 0 or 1, which evaluated to {'loss': nan, 'accuracy': 1.0} before.
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(1, 2, (16, 2)), -rng.uniform(1, 2, (16, 2))])
    y = np.array([1] * 16 + [0] * 16)
    model = snn.Sequential([Dense(2, 1), A.Sigmoid()], seed=0, dtype=dtype)
    model.compile(losses.BinaryCrossEntropy(from_logits=False), O.SGD(lr=100.0))
    model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    if dtype == np.float32:  # the case of the report: every output rounds to 0 or 1
        out = model.predict(x)
        assert np.all((out == 0) | (out == 1))
    result = model.evaluate(x, y)
    assert np.isfinite(result["loss"]) and 0 <= result["loss"] <= 2 * (1 - clipped(dtype)[1])
    assert result["accuracy"] == 1.0


@DTYPES
def test_sigmoid_output_fit_on_moons_stays_finite(dtype):
    # The same run in float32 went NaN at epoch 8; float64 reached 0.995.
    x, y = datasets.moons(n_samples=200, noise=0.1, seed=0)
    model = snn.Sequential([Dense(2, 16), A.ReLU(), Dense(16, 1), A.Sigmoid()], seed=0,
                           dtype=dtype)
    model.compile(losses.BinaryCrossEntropy(from_logits=False), O.SGD(lr=2.0))
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0).history
    assert np.all(np.isfinite(history["loss"])), history["loss"]
    assert np.all(np.isfinite(np.concatenate([w.ravel() for w in model.get_weights()])))
    assert history["accuracy"][-1] >= 0.95
    assert model.evaluate(x, y)["accuracy"] >= 0.95

