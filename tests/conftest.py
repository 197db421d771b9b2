"""Shared test helpers for gradient checks: a fourth-order central-difference gradient and
a relative-error assertion, exposed as the session fixtures ``numgrad`` and ``grad_close``
(session scope, so they work under hypothesis).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume

from scratchnn.gradcheck import rel_error


def numerical_grad(f, x, r=None, h: float = 1e-3) -> np.ndarray:
    """d/dx of ``sum(f(x) * r)`` (or of the scalar ``f(x)`` when ``r`` is None), float64.

    Fourth-order central differences,
    ``(-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / (12 h)`` per element (truncation
    error O(h^4)). Each evaluation is taken relative to ``f(x)`` and the four are combined
    elementwise *before* the projection on ``r``, so outputs that a perturbation leaves
    unchanged contribute exactly 0 and round-off stays near 1e-13: small enough to assert
    relative errors below 1e-8. ``x`` is never modified; ``f`` receives a perturbed float64
    copy. Keep every kink (ReLU at 0) more than ``2h`` away.
    """
    x = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x)
    base = np.asarray(f(x.copy()), dtype=np.float64)
    for idx in np.ndindex(*x.shape):
        vals = []
        for step in (2 * h, h, -h, -2 * h):
            xs = x.copy()
            xs[idx] += step
            vals.append(np.asarray(f(xs), dtype=np.float64) - base)
        comb = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
        grad[idx] = comb if r is None else np.sum(comb * r)
    return grad


@pytest.fixture(scope="session")
def numgrad():
    """The :func:`numerical_grad` helper."""
    return numerical_grad


def assert_close_grad(analytic, numeric, tol=1e-7, floor=1e-6):
    """Max elementwise relative error below ``tol``.

    Entries whose analytic gradient is exactly 0 (a dead ReLU unit, a dropped unit) have no
    relative error: there the numerical gradient must be 0 up to round-off (``< 1e-10``).
    Examples where an analytic entry is nonzero but tiny (below ``floor``, e.g. a softmax
    probability that happens to equal its soft target) are skipped with ``assume``: there the
    relative error only measures the ~1e-13 round-off of the finite difference, just as at a
    ReLU kink it only measures the kink.
    """
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    assert analytic.shape == numeric.shape
    zero = analytic == 0
    assert np.all(np.abs(numeric[zero]) < 1e-10), numeric[zero]
    assume(not np.any(np.abs(analytic[~zero]) < floor))
    assert rel_error(analytic[~zero], numeric[~zero]) < tol


@pytest.fixture(scope="session")
def grad_close():
    """The :func:`assert_close_grad` helper."""
    return assert_close_grad
