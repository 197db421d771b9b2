"""Tests for scratchnn.gradcheck, using small test-local layers that follow the layer protocol."""

import numpy as np
import pytest

from scratchnn.gradcheck import check_layer, check_model, numerical_gradient, rel_error


# ------------------------------------------------------------------------------------------------
# test-local implementations of the protocol
# ------------------------------------------------------------------------------------------------
class Param:
    def __init__(self, value, name):
        self.value = value
        self.grad = None
        self.name = name


class Linear:
    """out = x @ W + b, correct backward."""

    def __init__(self, n_in, n_out, seed=0, dtype=np.float64, prefix="", scale=1.0):
        rng = np.random.default_rng(seed)
        self.W = Param((scale * rng.standard_normal((n_in, n_out))).astype(dtype), prefix + "W")
        self.b = Param(rng.standard_normal(n_out).astype(dtype), prefix + "b")
        self.modes = []

    def parameters(self):
        return [self.W, self.b]

    def forward(self, x, training=False):
        self.modes.append(training)
        self._x = x
        return x @ self.W.value + self.b.value

    def backward(self, grad_out):
        self.W.grad = self._x.T @ grad_out
        self.b.grad = grad_out.sum(axis=0)
        return grad_out @ self.W.value.T


class WrongWeightLinear(Linear):
    """Forgets the factor x in dW (uses 2 * x instead)."""

    def backward(self, grad_out):
        grad_x = super().backward(grad_out)
        self.W.grad = 2.0 * self.W.grad
        return grad_x


class Tanh:
    def parameters(self):
        return []

    def forward(self, x, training=False):
        self._out = np.tanh(x)
        return self._out

    def backward(self, grad_out):
        return grad_out * (1.0 - self._out ** 2)


class WrongTanh(Tanh):
    """Classic mistake: 1 - tanh instead of 1 - tanh^2."""

    def backward(self, grad_out):
        return grad_out * (1.0 - self._out)


class ReLU:
    def parameters(self):
        return []

    def forward(self, x, training=False):
        self._mask = x > 0
        return x * self._mask

    def backward(self, grad_out):
        return grad_out * self._mask


class Chain:
    def __init__(self, layers):
        self.layers = layers

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad


class MSE:
    def forward(self, pred, target):
        self._diff = pred - target
        return float(np.mean(self._diff ** 2))

    def backward(self):
        return 2.0 * self._diff / self._diff.size


class SoftmaxCE:
    """Mean cross-entropy from logits with integer targets."""

    def forward(self, logits, target):
        z = logits - logits.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        self._p = np.exp(log_p)
        self._t = target
        return float(-log_p[np.arange(len(target)), target].mean())

    def backward(self):
        g = self._p.copy()
        g[np.arange(len(self._t)), self._t] -= 1.0
        return g / len(self._t)


def _x(shape=(5, 4), seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------------------------------------
# numerical_gradient and rel_error
# ------------------------------------------------------------------------------------------------
def test_numerical_gradient_of_cube():
    x = np.random.default_rng(0).uniform(0.5, 1.5, size=(4, 3))
    x0 = x.copy()
    grad = numerical_gradient(lambda v: np.sum(v ** 3), x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    assert rel_error(grad, 3 * x ** 2) < 1e-8
    np.testing.assert_array_equal(x, x0)  # not mutated


def test_numerical_gradient_works_on_float64_copy():
    x = np.array([[1, 2], [3, 4]], dtype=np.float32)
    seen = []

    def f(v):
        seen.append((v.dtype, v is x))
        return float(np.sum(np.sin(v)))

    grad = numerical_gradient(f, x)
    assert all(dt == np.float64 and not same for dt, same in seen)
    assert len(seen) == 2 * x.size + 1  # f(x) once, then two evaluations per element
    assert rel_error(grad, np.cos(x.astype(np.float64))) < 1e-7
    np.testing.assert_array_equal(x, [[1, 2], [3, 4]])
    assert x.dtype == np.float32


def test_numerical_gradient_integer_input_and_errors():
    grad = numerical_gradient(lambda v: np.sum(v ** 2), np.array([1, -2, 3]))
    np.testing.assert_allclose(grad, [2, -4, 6], rtol=1e-7)
    with pytest.raises(ValueError, match="scalar"):
        numerical_gradient(lambda v: v * 2, np.ones(3))
    with pytest.raises(ValueError, match="eps"):
        numerical_gradient(lambda v: v.sum(), np.ones(3), eps=0.0)


def test_rel_error_formula():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0, 2.0], [1.1, 2.0]) == pytest.approx(0.1 / 2.1)
    assert rel_error([1.0], [-1.0]) == pytest.approx(1.0)
    assert rel_error([1e-12], [0.0]) == pytest.approx(1e-12 / 1e-8)  # floor of 1e-8
    assert rel_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        rel_error(np.zeros(3), np.zeros(2))


# ------------------------------------------------------------------------------------------------
# check_layer
# ------------------------------------------------------------------------------------------------
def test_check_layer_correct_linear():
    errors = check_layer(Linear(4, 3), _x())
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-7


@pytest.mark.parametrize("layer", [Tanh(), ReLU()])
def test_check_layer_parameter_free(layer):
    errors = check_layer(layer, _x())
    assert set(errors) == {"x"}
    assert errors["x"] < 1e-7


def test_check_layer_detects_wrong_backward():
    errors = check_layer(WrongTanh(), _x())
    assert errors["x"] > 1e-2
    errors = check_layer(WrongWeightLinear(4, 3), _x())
    assert errors["W"] > 1e-2
    assert errors["x"] < 1e-7 and errors["b"] < 1e-7  # only the broken gradient is flagged


def test_check_layer_runs_in_float64_and_restores_parameters():
    layer = Linear(4, 3, dtype=np.float32)
    w_obj, b_obj = layer.W.value, layer.b.value
    w0 = w_obj.copy()
    x = _x().astype(np.float32)
    x0 = x.copy()
    errors = check_layer(layer, x)
    # in float32 the finite differences would be off by ~1e-2; in float64 they agree closely
    assert max(errors.values()) < 1e-7
    assert layer.W.value is w_obj and layer.b.value is b_obj
    assert layer.W.value.dtype == np.float32
    np.testing.assert_array_equal(layer.W.value, w0)
    assert layer.W.grad is None and layer.b.grad is None
    np.testing.assert_array_equal(x, x0)


def test_check_layer_restores_parameters_on_error():
    class Exploding(Linear):
        def backward(self, grad_out):
            raise RuntimeError("boom")

    layer = Exploding(3, 2, dtype=np.float32)
    w_obj = layer.W.value
    with pytest.raises(RuntimeError, match="boom"):
        check_layer(layer, _x((4, 3)))
    assert layer.W.value is w_obj and layer.W.value.dtype == np.float32


def test_check_layer_training_flag():
    layer = Linear(4, 3)
    check_layer(layer, _x())
    assert layer.modes and not any(layer.modes)
    layer = Linear(4, 3)
    check_layer(layer, _x(), training=True)
    assert all(layer.modes)


def test_check_layer_seed_changes_projection_only():
    a = check_layer(Linear(4, 3), _x(), seed=0)
    b = check_layer(Linear(4, 3), _x(), seed=5)
    assert max(a.values()) < 1e-7 and max(b.values()) < 1e-7


def test_check_layer_duplicate_names_are_made_unique():
    layer = Linear(4, 3)
    layer.b.name = "W"
    errors = check_layer(layer, _x())
    assert set(errors) == {"x", "W", "W[1]"}


def test_check_layer_tied_parameter_is_restored():
    class Tied(Linear):
        def parameters(self):
            return [self.W, self.W]

        def backward(self, grad_out):
            self.W.grad = self._x.T @ grad_out
            return grad_out @ self.W.value.T

    layer = Tied(3, 3, dtype=np.float32)
    w_obj = layer.W.value
    errors = check_layer(layer, _x((4, 3)))
    assert max(errors.values()) < 1e-7
    assert layer.W.value is w_obj and w_obj.dtype == np.float32


def test_check_layer_protocol_errors():
    class NoGrad(Linear):
        def backward(self, grad_out):
            return grad_out @ self.W.value.T

    class BadShape(Linear):
        def backward(self, grad_out):
            super().backward(grad_out)
            return grad_out

    with pytest.raises(RuntimeError, match="'W'"):
        check_layer(NoGrad(4, 3), _x())
    with pytest.raises(ValueError, match=r"\(5, 4\)"):
        check_layer(BadShape(4, 3), _x())


# ------------------------------------------------------------------------------------------------
# check_model
# ------------------------------------------------------------------------------------------------
def test_check_model_mse():
    model = Chain([Linear(4, 6, seed=1, prefix="l0."), Tanh(),
                   Linear(6, 2, seed=2, prefix="l2.")])
    y = _x((5, 2), seed=7)
    errors = check_model(model, _x(), y, MSE())
    assert set(errors) == {"l0.W", "l0.b", "l2.W", "l2.b"}
    assert max(errors.values()) < 1e-7


def test_check_model_cross_entropy_float32_params_restored():
    # small weights keep the softmax away from saturation, where some gradient entries are
    # ~1e-7 and their *relative* error is dominated by round-off
    first = Linear(4, 8, seed=1, dtype=np.float32, prefix="a.", scale=0.5)
    second = Linear(8, 3, seed=2, dtype=np.float32, prefix="b.", scale=0.5)
    model = Chain([first, ReLU(), second])
    w_obj = first.W.value
    y = np.array([0, 2, 1, 1, 0])
    errors = check_model(model, _x(), y, SoftmaxCE())
    assert max(errors.values()) < 1e-6
    assert first.W.value is w_obj and w_obj.dtype == np.float32


def test_check_model_detects_wrong_layer_and_unique_keys():
    model = Chain([Linear(4, 6, seed=1), WrongTanh(), Linear(6, 2, seed=2)])
    errors = check_model(model, _x(), _x((5, 2), seed=7), MSE())
    assert set(errors) == {"W", "b", "W[2]", "b[3]"}
    assert errors["W"] > 1e-2  # the wrong tanh corrupts the gradient reaching the first layer
    assert errors["W[2]"] < 1e-7  # the layer after it is unaffected


def test_check_model_without_parameters():
    with pytest.raises(ValueError, match="no parameters"):
        check_model(Chain([Tanh()]), _x(), _x(), MSE())


def test_fourth_order_is_far_more_accurate_than_second_order():
    """exp has every derivative nonzero: the O(eps^4) stencil must beat the O(eps^2) one."""
    x = np.linspace(-1.0, 1.0, 7)
    exact = np.exp(x)
    second = numerical_gradient(lambda v: float(np.sum(np.exp(v))), x, eps=1e-4, order=2)
    fourth = numerical_gradient(lambda v: float(np.sum(np.exp(v))), x, eps=1e-4, order=4)
    assert rel_error(second, exact) > 1e-10
    assert rel_error(fourth, exact) < 1e-10
    with pytest.raises(ValueError, match="order"):
        numerical_gradient(lambda v: float(np.sum(v)), x, order=3)


def test_check_layer_on_training_batch_norm_reaches_1e_8():
    from scratchnn.layers import BatchNorm

    x = np.random.default_rng(3).standard_normal((8, 5)) * 2 + 1
    errors = check_layer(BatchNorm(5), x, training=True)
    assert max(errors.values()) < 1e-8, errors
