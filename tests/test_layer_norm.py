"""scratchnn.functional.layer_norm and layer_norm_backward: the formula, a gradient check in
float64, float32, parity with PyTorch (skipped without torch), inputs left alone, errors."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import functional as F
from scratchnn.gradcheck import numerical_gradient as _numerical


def _draw(seed, n, d, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, size=(n, d)).astype(dtype)
    gamma = rng.normal(1.0, 0.5, size=d).astype(dtype)
    beta = rng.normal(0.0, 0.5, size=d).astype(dtype)
    return x, gamma, beta


def _relative(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def test_formula_per_sample_with_biased_variance():
    x, gamma, beta = _draw(0, 4, 6)
    out, cache = F.layer_norm(x, gamma, beta, eps=1e-5)
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    np.testing.assert_allclose(out, gamma * (x - mu) / np.sqrt(var + 1e-5) + beta, rtol=1e-12)
    np.testing.assert_allclose(cache["x_hat"].mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(cache["inv_std"], 1 / np.sqrt(var[:, 0] + 1e-5), rtol=1e-12)
    assert out.shape == (4, 6) and cache["inv_std"].shape == (4,)


def test_each_sample_is_normalized_on_its_own():
    x, gamma, beta = _draw(1, 5, 7)
    out, _ = F.layer_norm(x, gamma, beta)
    alone, _ = F.layer_norm(x[2:3], gamma, beta)
    np.testing.assert_allclose(alone[0], out[2], rtol=1e-12)
    scaled, _ = F.layer_norm(x * 10.0 + 3.0, gamma, beta, eps=1e-12)
    exact, _ = F.layer_norm(x, gamma, beta, eps=1e-12)
    np.testing.assert_allclose(scaled, exact, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n, d", [(3, 5), (1, 4), (6, 2)])
def test_gradient_check_below_1e_8_in_float64(n, d):
    x, gamma, beta = _draw(10 + n, n, d)
    G = np.random.default_rng(20 + d).normal(size=(n, d))
    out, cache = F.layer_norm(x, gamma, beta)
    dx, dgamma, dbeta = F.layer_norm_backward(G, cache)
    assert dx.shape == x.shape and dgamma.shape == (d,) and dbeta.shape == (d,)
    assert _relative(dx, _numerical(lambda v: np.sum(G * F.layer_norm(v, gamma, beta)[0]),
                                    x)) < 1e-8
    assert _relative(dgamma, _numerical(
        lambda v: np.sum(G * F.layer_norm(x, v, beta)[0]), gamma)) < 1e-8
    assert _relative(dbeta, _numerical(
        lambda v: np.sum(G * F.layer_norm(x, gamma, v)[0]), beta)) < 1e-8


def test_the_input_gradient_of_each_row_sums_to_zero():
    x, gamma, beta = _draw(3, 4, 9)
    G = np.random.default_rng(4).normal(size=(4, 9))
    dx, _, _ = F.layer_norm_backward(G, F.layer_norm(x, gamma, beta)[1])
    np.testing.assert_allclose(dx.sum(axis=1), 0.0, atol=1e-10)


def test_one_feature_normalizes_to_zero_with_a_zero_input_gradient():
    x = np.array([[3.0], [-1.0]])
    out, cache = F.layer_norm(x, np.array([2.0]), np.array([0.5]))
    np.testing.assert_array_equal(out, [[0.5], [0.5]])
    dx, dgamma, dbeta = F.layer_norm_backward(np.ones((2, 1)), cache)
    np.testing.assert_array_equal(dx, np.zeros((2, 1)))
    np.testing.assert_array_equal(dgamma, [0.0])
    np.testing.assert_array_equal(dbeta, [2.0])


def test_float32_stays_float32_and_is_stable():
    x, gamma, beta = _draw(5, 6, 8, np.float32)
    out, cache = F.layer_norm(x, gamma, beta)
    grads = F.layer_norm_backward(np.ones_like(x), cache)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    ref, _ = F.layer_norm(x.astype(np.float64), gamma.astype(np.float64),
                          beta.astype(np.float64))
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    # A row far from 0 with a tiny spread: the shifted statistics keep its digits, and a
    # constant row centres to exactly 0 (naive float32 means would not).
    row = np.float32(1000.1) + np.arange(8, dtype=np.float32) * np.float32(0.25)
    near = np.stack([row, np.full(8, 1000.1, dtype=np.float32)])
    out, cache = F.layer_norm(near, np.ones(8, np.float32), np.zeros(8, np.float32))
    np.testing.assert_array_equal(cache["x_hat"][1], np.zeros(8, np.float32))
    want = (np.arange(8) - 3.5) / np.sqrt(np.var(np.arange(8) * 0.25) + 1e-5) * 0.25
    np.testing.assert_allclose(out[0], want, rtol=2e-3)
    assert np.all(np.isfinite(out))


def test_inputs_are_not_modified():
    x, gamma, beta = _draw(6, 3, 4)
    saved = [a.copy() for a in (x, gamma, beta)]
    out, cache = F.layer_norm(x, gamma, beta)
    G = np.ones_like(out)
    F.layer_norm_backward(G, cache)
    for before, after in zip(saved, (x, gamma, beta), strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(G, np.ones_like(out))


def test_integers_are_cast_to_float64():
    out, _ = F.layer_norm(np.array([[1, 2, 3]]), np.ones(3), np.zeros(3))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out[0], np.array([-1.0, 0.0, 1.0]) / np.sqrt(2 / 3 + 1e-5),
                               rtol=1e-12)


def test_errors_name_the_shapes_and_eps():
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 3\).*gamma \(4,\)"):
        F.layer_norm(np.ones((2, 3)), np.ones(4), np.zeros(4))
    with pytest.raises(ValueError, match=r"beta \(2,\)"):
        F.layer_norm(np.ones((2, 3)), np.ones(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"expected x \(N, D\)"):
        F.layer_norm(np.ones(3), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="eps must be positive"):
        F.layer_norm(np.ones((2, 3), np.float32), np.ones(3), np.zeros(3), eps=1e-50)
    with pytest.raises(TypeError, match="numeric"):
        F.layer_norm(np.array([["a", "b"]]), np.ones(2), np.zeros(2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_pytorch_layer_norm(dtype):
    torch = pytest.importorskip("torch")
    x, gamma, beta = _draw(7, 5, 6, dtype)
    G = np.random.default_rng(8).normal(size=(5, 6)).astype(dtype)
    out, cache = F.layer_norm(x, gamma, beta, eps=1e-5)
    dx, dgamma, dbeta = F.layer_norm_backward(G, cache)
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    tout = torch.nn.functional.layer_norm(tx, (6,), tg, tb, eps=1e-5)
    tout.backward(torch.tensor(G))
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4,
                                                                        "atol": 1e-5}
    np.testing.assert_allclose(out, tout.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(dgamma, tg.grad.numpy(), **tol)
    np.testing.assert_allclose(dbeta, tb.grad.numpy(), **tol)
