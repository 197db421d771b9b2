"""Shared test helpers: a fourth-order central-difference gradient for gradient checks.

Exposed as the session fixture ``numgrad`` (session scope, so it works under hypothesis).
"""

from __future__ import annotations

import numpy as np
import pytest


def numerical_grad(f, x, r=None, h: float = 1e-3) -> np.ndarray:
    """d/dx of ``sum(f(x) * r)`` (or of the scalar ``f(x)`` when ``r`` is None), float64.

    Fourth-order central differences,
    ``(-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / (12 h)`` per element (truncation
    error O(h^4)). The four evaluations are combined elementwise *before* the projection on
    ``r``, so outputs that a perturbation leaves unchanged cancel exactly and round-off stays
    near 1e-13: small enough to assert relative errors below 1e-8. ``x`` is never modified;
    ``f`` receives a perturbed float64 copy. Keep every kink (ReLU at 0) more than ``2h`` away.
    """
    x = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        vals = []
        for step in (2 * h, h, -h, -2 * h):
            xs = x.copy()
            xs[idx] += step
            vals.append(np.asarray(f(xs), dtype=np.float64))
        comb = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
        grad[idx] = comb if r is None else np.sum(comb * r)
    return grad


@pytest.fixture(scope="session")
def numgrad():
    """The :func:`numerical_grad` helper."""
    return numerical_grad
