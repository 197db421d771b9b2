"""Layers (scratchnn.layers and scratchnn.activations): gradient checks of every layer in
float64, forward behaviour, state, configuration and error messages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchnn import activations as A
from scratchnn import functional as F
from scratchnn import layers as L

GRAD = settings(max_examples=20, deadline=None)
seeds = st.integers(0, 2**32 - 1)
dims = st.integers(1, 6)


def away_from_zero(rng, shape, lo=0.05, hi=3.0):
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def f64(layer, seed=0):
    """Build ``layer`` in float64 (as a Sequential(dtype=float64) would)."""
    layer.build(np.random.default_rng(seed), np.float64)
    return layer


def check_layer_gradients(numgrad, grad_close, layer, x, r, training=False, forward=None,
                          tol=1e-7, floor=1e-6):
    """Compare ``layer.backward(r)`` (dx and every Parameter.grad) with central differences
    of ``sum(layer.forward(x) * r)``."""
    forward = forward or (lambda v: layer.forward(v, training=training))
    out = forward(x.copy())
    assert out.shape == r.shape
    grad_x = layer.backward(r)
    assert grad_x.shape == x.shape and grad_x.dtype == np.float64
    grad_close(grad_x, numgrad(forward, x, r), tol=tol, floor=floor)
    for p in layer.parameters():
        assert p.grad.shape == p.value.shape and p.grad.dtype == np.float64
        analytic, original = p.grad.copy(), p.value

        def of_param(v, p=p):
            p.value = v
            return forward(x.copy())

        try:
            numeric = numgrad(of_param, original, r)
        finally:
            p.value = original
        grad_close(analytic, numeric, tol=tol, floor=floor)


# --------------------------------------------------------------------------------------------
# Gradient checks
# --------------------------------------------------------------------------------------------

@GRAD
@given(n=dims, d_in=dims, d_out=dims, seed=seeds)
def test_dense_gradients(numgrad, grad_close, n, d_in, d_out, seed):
    rng = np.random.default_rng(seed)
    layer = f64(L.Dense(d_in, d_out), seed)
    layer.b.value = rng.standard_normal(d_out)
    check_layer_gradients(numgrad, grad_close, layer, rng.standard_normal((n, d_in)),
                          rng.standard_normal((n, d_out)))


ACTIVATION_LAYERS = {
    "ReLU": A.ReLU, "LeakyReLU": lambda: A.LeakyReLU(0.2), "Sigmoid": A.Sigmoid,
    "Tanh": A.Tanh, "Softmax": A.Softmax,
}


@pytest.mark.parametrize("name", sorted(ACTIVATION_LAYERS))
@GRAD
@given(n=dims, d=dims, seed=seeds)
def test_activation_layer_gradients(numgrad, grad_close, name, n, d, seed):
    rng = np.random.default_rng(seed)
    layer = f64(ACTIVATION_LAYERS[name]())
    check_layer_gradients(numgrad, grad_close, layer, away_from_zero(rng, (n, d)),
                          rng.standard_normal((n, d)))


@GRAD
@given(n=dims, d=dims, rate=st.floats(0.1, 0.8), seed=seeds, mask_seed=seeds)
def test_dropout_gradients_with_fixed_mask(numgrad, grad_close, n, d, rate, seed, mask_seed):
    rng = np.random.default_rng(seed)
    layer = f64(L.Dropout(rate))

    def forward(v):
        layer.rng = np.random.default_rng(mask_seed)  # the same mask on every call
        return layer.forward(v, training=True)

    x = rng.standard_normal((n, d))
    check_layer_gradients(numgrad, grad_close, layer, x, rng.standard_normal((n, d)),
                          forward=forward)
    # it really dropped something (or kept everything) with the inverted scaling
    out = forward(x)
    assert set(np.unique(np.round(out / x, 12))) <= {0.0, round(1 / (1 - rate), 12)}


@pytest.mark.parametrize("training", [True, False])
@GRAD
@given(n=st.integers(3, 8), d=dims, seed=seeds)
def test_batchnorm_gradients(numgrad, grad_close, training, n, d, seed):
    rng = np.random.default_rng(seed)
    layer = f64(L.BatchNorm(d, momentum=0.2))
    layer.gamma.value = rng.uniform(0.5, 2, d)
    layer.beta.value = rng.standard_normal(d)
    layer.running_mean = rng.standard_normal(d)
    layer.running_var = rng.uniform(0.5, 2, d)
    z = rng.standard_normal((n, d))  # features with an exact batch std in [0.5, 3]
    x = rng.uniform(-2, 2, d) + rng.uniform(0.5, 3, d) * (z - z.mean(0)) / z.std(0)
    check_layer_gradients(numgrad, grad_close, layer, x, rng.standard_normal((n, d)),
                          training=training, tol=1e-8, floor=1e-4)


@GRAD
@given(n=dims, shape=st.lists(dims, min_size=1, max_size=3), seed=seeds)
def test_flatten_gradients(numgrad, grad_close, n, shape, seed):
    rng = np.random.default_rng(seed)
    layer = f64(L.Flatten())
    x = rng.standard_normal((n, *shape))
    out = layer.forward(x)
    assert out.shape == (n, int(np.prod(shape)))
    check_layer_gradients(numgrad, grad_close, layer, x, rng.standard_normal(out.shape))


# --------------------------------------------------------------------------------------------
# Dense
# --------------------------------------------------------------------------------------------

def test_dense_shapes_init_and_forward():
    layer = L.Dense(3, 5, seed=0)
    assert layer.W.value.shape == (3, 5) and layer.b.value.shape == (5,)
    assert layer.W.value.dtype == np.float32
    np.testing.assert_array_equal(layer.b.value, 0)
    assert [p.name for p in layer.parameters()] == ["W", "b"]
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(layer.forward(x), x @ layer.W.value + layer.b.value, rtol=1e-6)
    assert layer.output_shape((3,)) == (5,)
    # the same seed gives the same weights; He init: std ~ sqrt(2 / fan_in)
    np.testing.assert_array_equal(L.Dense(3, 5, seed=0).W.value, layer.W.value)
    big = L.Dense(400, 300, seed=1)
    assert abs(big.W.value.std() - np.sqrt(2 / 400)) < 0.05 * np.sqrt(2 / 400)
    xavier = L.Dense(400, 300, init="xavier_normal", seed=1)
    assert abs(xavier.W.value.std() - np.sqrt(2 / 700)) < 0.05 * np.sqrt(2 / 700)


def test_dense_rejects_bad_arguments_and_inputs():
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="in_features"):
            L.Dense(bad, 2)
    with pytest.raises(ValueError, match="out_features"):
        L.Dense(2, 0)
    layer = L.Dense(3, 2, name="hidden")
    with pytest.raises(ValueError, match=r"hidden.*\(N, 3\).*\(4, 2\)"):
        layer.forward(np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"hidden.*\(N, 3\).*\(3,\)"):
        layer.forward(np.zeros(3, np.float32))
    with pytest.raises(RuntimeError, match="hidden.*before forward"):
        L.Dense(3, 2, name="hidden").backward(np.zeros((1, 2)))


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------

def test_dropout_train_and_eval():
    layer = L.Dropout(0.25, seed=0)
    x = np.ones((100, 40), np.float32)
    out = layer.forward(x, training=True)
    assert out.dtype == np.float32
    assert abs((out == 0).mean() - 0.25) < 0.03
    np.testing.assert_allclose(out[out != 0], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), out)
    eval_out = layer.forward(x)  # default: eval mode, identity
    np.testing.assert_array_equal(eval_out, x)
    assert not np.shares_memory(eval_out, x)
    np.testing.assert_array_equal(L.Dropout(0.25, seed=3).forward(x, training=True),
                                  L.Dropout(0.25, seed=3).forward(x, training=True))
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="Dropout: rate"):
            L.Dropout(bad)


# --------------------------------------------------------------------------------------------
# BatchNorm
# --------------------------------------------------------------------------------------------

def test_batchnorm_running_statistics_and_eval_mode():
    rng = np.random.default_rng(0)
    layer = f64(L.BatchNorm(3, momentum=0.1))
    rm, rv = np.zeros(3), np.ones(3)
    for _ in range(5):
        x = rng.normal([1.0, -2.0, 5.0], [1.0, 0.5, 3.0], (20, 3))
        out = layer.forward(x, training=True)
        np.testing.assert_allclose(out.mean(0), 0, atol=1e-12)
        np.testing.assert_allclose(out.var(0), 1, rtol=1e-4)
        rm = 0.9 * rm + 0.1 * x.mean(0)
        rv = 0.9 * rv + 0.1 * x.var(0, ddof=1)
    np.testing.assert_allclose(layer.running_mean, rm, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, rv, rtol=1e-12)
    buffers = layer.buffers()
    # The layer computes batch statistics from shifted data (exact for a constant feature
    # in float32), so its mean and x.mean(0) agree to rounding, not bit for bit.
    np.testing.assert_allclose(buffers["running_mean"], rm, rtol=1e-12)
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(layer.forward(x), (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-12)
    # eval mode does not move the statistics; a single sample works in eval mode
    layer.forward(x[:1])
    np.testing.assert_allclose(layer.running_mean, rm, rtol=1e-12)


def test_batchnorm_state_and_errors():
    layer = L.BatchNorm(4, name="bn")
    assert layer.gamma.value.dtype == np.float32
    np.testing.assert_array_equal(layer.gamma.value, 1)
    np.testing.assert_array_equal(layer.beta.value, 0)
    with pytest.raises(ValueError, match=r"bn.*\(N, 4\).*\(5, 3\)"):
        layer.forward(np.zeros((5, 3), np.float32))
    with pytest.raises(ValueError, match=r"at least 2 samples"):
        layer.forward(np.zeros((1, 4), np.float32), training=True)
    with pytest.raises(ValueError, match=r"bn: running_mean must have shape \(4,\)"):
        layer.set_buffer("running_mean", np.zeros(3))
    with pytest.raises(KeyError):
        layer.set_buffer("nope", np.zeros(4))
    layer.set_buffer("running_var", np.full(4, 2.0))
    assert layer.running_var.dtype == np.float32 and layer.running_var[0] == 2
    for kwargs in ({"num_features": 0}, {"num_features": 2, "momentum": 1.5},
                   {"num_features": 2, "eps": 0.0}):
        with pytest.raises(ValueError, match="BatchNorm"):
            L.BatchNorm(**kwargs)


# --------------------------------------------------------------------------------------------
# Flatten and activations
# --------------------------------------------------------------------------------------------

def test_flatten():
    layer = L.Flatten()
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out = layer.forward(x)
    np.testing.assert_array_equal(out, x.reshape(2, 12))
    assert layer.output_shape((3, 4)) == (12,)
    np.testing.assert_array_equal(layer.backward(out), x)


@pytest.mark.parametrize("name", sorted(ACTIVATION_LAYERS))
def test_activation_layers_wrap_the_functional_reference(name):
    layer = ACTIVATION_LAYERS[name]()
    fwd = {"ReLU": F.relu, "LeakyReLU": lambda v: F.leaky_relu(v, 0.2), "Sigmoid": F.sigmoid,
           "Tanh": F.tanh, "Softmax": F.softmax}[name]
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32 and layer.preserves_shape
    np.testing.assert_array_equal(out, fwd(x))
    assert layer.output_shape((4,)) == (4,)
    with pytest.raises(RuntimeError, match="before forward"):
        ACTIVATION_LAYERS[name]().backward(x)


def test_activation_lookup_and_arguments():
    for name, cls in [("relu", A.ReLU), ("leaky_relu", A.LeakyReLU), ("sigmoid", A.Sigmoid),
                      ("tanh", A.Tanh), ("softmax", A.Softmax)]:
        assert type(A.get(name)) is cls
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        A.get("gelu")
    with pytest.raises(ValueError, match="alpha"):
        A.LeakyReLU(-0.1)


@pytest.mark.parametrize("layer", [
    L.Dense(3, 4, init="xavier_uniform"), L.Dropout(0.3), L.BatchNorm(5, momentum=0.2, eps=1e-3),
    L.Flatten(), A.LeakyReLU(0.3), A.ReLU(), A.Softmax(),
], ids=lambda layer: type(layer).__name__)
def test_get_config_rebuilds_the_layer(layer):
    clone = type(layer)(**layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert repr(clone) == repr(layer)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_build_sets_the_dtype(dtype):
    for layer in (L.Dense(2, 3), L.BatchNorm(3)):
        layer.build(np.random.default_rng(0), dtype)
        assert all(p.value.dtype == dtype for p in layer.parameters())
        assert all(b.dtype == dtype for b in layer.buffers().values())
