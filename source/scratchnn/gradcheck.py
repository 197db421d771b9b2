"""Gradient checking: compare analytic (backprop) gradients with finite differences.

The numerical gradient of a scalar function ``f`` uses central differences,

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),

whose error is O(eps^2) (plus round-off of order ``|f| * 1e-16 / eps``), so everything is done
in float64. Compare with :func:`rel_error`; as a rule of thumb, in float64 with smooth
functions an error below ``1e-7`` is a correct gradient, around ``1e-4`` is suspicious (or a
kink such as ReLU at 0 was crossed), and above ``1e-2`` the backward pass is wrong.

:func:`check_layer` and :func:`check_model` run the whole comparison for an object following
the layer protocol of :class:`scratchnn.core.Layer`: ``forward(x, training=False) -> out``,
``backward(grad_out) -> grad_in`` (which sets ``p.grad`` for every ``p`` in ``parameters()``),
each parameter having ``.value`` (ndarray), ``.grad`` and ``.name``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .rng import as_generator

__all__ = ["numerical_gradient", "rel_error", "check_layer", "check_model"]

#: Floor of the denominator in :func:`rel_error`, so that two (near-)zero values compare as 0.
REL_ERROR_FLOOR = 1e-8


def _check_eps(eps) -> float:
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    return float(eps)


def _scalar(value, what: str) -> float:
    if np.size(value) != 1:
        raise ValueError(f"{what} must return a scalar, got an array of shape {np.shape(value)}")
    return float(np.asarray(value).reshape(()))


# Central-difference stencils: (offsets in steps of eps, weights); the sum is divided by eps.
_STENCILS = {
    2: ((1, -1), (0.5, -0.5)),                                    # error O(eps^2)
    4: ((2, 1, -1, -2), (-1 / 12, 8 / 12, -8 / 12, 1 / 12)),      # error O(eps^4)
}


def numerical_gradient(f: Callable[[np.ndarray], float], x, eps: float = 1e-6,
                       order: int = 2) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    ``order=2``: ``grad[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, error O(eps^2).
    ``order=4``: ``grad[i] = (-f(x + 2eps e_i) + 8 f(x + eps e_i) - 8 f(x - eps e_i)
    + f(x - 2eps e_i)) / (12 eps)``, error O(eps^4): with ``eps`` around 1e-4 it reaches
    relative errors near 1e-10, enough to check batch norm or a whole model tightly.

    Parameters
    ----------
    f : callable
        ``f(v) -> scalar`` for a float64 array ``v`` of ``x``'s shape. ``f`` is called
        ``order * x.size + 1`` times on a float64 **copy** of ``x`` whose elements are perturbed
        one at a time; it must not modify or keep that array.
    x : array_like, any shape
        Point of evaluation; never modified.
    eps : float, default 1e-6
        Step size.
    order : 2 or 4, default 2

    Returns
    -------
    ndarray of float64, same shape as ``x``
    """
    eps = _check_eps(eps)
    if order not in _STENCILS:
        raise ValueError(f"order must be one of {sorted(_STENCILS)}, got {order!r}")
    offsets, weights = _STENCILS[order]
    xc = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(xc)
    flat_x = xc.reshape(-1)  # a view: writing to it perturbs xc
    flat_g = grad.reshape(-1)
    # Differences are taken from f(x), so a direction in which f is flat gives exactly 0.
    f0 = _scalar(f(xc), "f") if flat_x.size else 0.0
    for i in range(flat_x.size):
        orig = flat_x[i]
        total = 0.0
        for k, w in zip(offsets, weights, strict=True):
            flat_x[i] = orig + k * eps
            total += w * (_scalar(f(xc), "f") - f0)
        flat_x[i] = orig
        flat_g[i] = total / eps
    return grad


def rel_error(a, b) -> float:
    """Largest elementwise relative error between two arrays of the same shape.

    ``rel_error(a, b) = max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)``

    The floor ``1e-8`` (:data:`REL_ERROR_FLOOR`, as in CS231n) makes zero-vs-zero exactly 0 and
    keeps entries that are both tiny from dominating. The result is in ``[0, 1]`` unless the
    values are below the floor; empty arrays give 0.

    Being elementwise, it is strict: an entry much smaller than the rest of the gradient
    (e.g. ``1e-7`` next to entries of order 1, as happens with a saturated softmax) carries a
    round-off error of about ``1e-12`` from the finite differences, hence a relative error of
    ``1e-5`` even when the backward pass is right. Check with inputs and weights of order 1.

    Raises
    ------
    ValueError
        if the shapes differ (both shapes are shown).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, a.shape={a.shape} and b.shape={b.shape}")
    if a.size == 0:
        return 0.0
    err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(b))
    return float(np.max(err))


# ------------------------------------------------------------------------------------------------
# layers and models
# ------------------------------------------------------------------------------------------------
def _result_key(param, index: int, taken: dict) -> str:
    """The parameter's name, made unique (``"W"``, then ``"W[3]"`` for the 4th parameter)."""
    name = getattr(param, "name", None)
    key = str(name) if name else f"param{index}"
    if key in taken:
        key = f"{key}[{index}]"
    return key


class _Float64Parameters:
    """Context manager: parameters as float64 copies inside, originals restored on exit.

    The original ``value`` arrays are never written to (they are swapped out, not modified), and
    on exit each parameter gets back its original ``value`` object and ``grad``.
    """

    def __init__(self, params):
        self.params = list(params)
        self.saved = []

    def __enter__(self):
        for p in self.params:
            self.saved.append((p, p.value, p.grad))
            p.value = np.array(p.value, dtype=np.float64, copy=True)
            p.grad = None
        return self.params

    def __exit__(self, *exc):
        # reversed, so a parameter listed twice (tied weights) ends with its first-saved original
        for p, value, grad in reversed(self.saved):
            p.value, p.grad = value, grad
        return False


def _grad_of(param, key: str, owner: str) -> np.ndarray:
    grad = param.grad
    if grad is None:
        raise RuntimeError(f"{owner}.backward() did not set the gradient of parameter {key!r}")
    grad = np.asarray(grad, dtype=np.float64)
    if grad.shape != param.value.shape:
        raise ValueError(f"gradient of parameter {key!r} has shape {grad.shape}, but the "
                         f"parameter has shape {param.value.shape}")
    return grad.copy()


def _param_numerical_gradient(param, objective: Callable[[], float], eps: float,
                              order: int) -> np.ndarray:
    """Numerical gradient of ``objective()`` w.r.t. ``param.value`` (perturbed in place)."""
    base = param.value.copy()

    def f(v):
        param.value[...] = v
        return objective()

    try:
        return numerical_gradient(f, base, eps=eps, order=order)
    finally:
        param.value[...] = base


def check_layer(layer, x, seed: int = 0, eps: float = 1e-4, training: bool = False,
                order: int = 4) -> dict:
    """Gradient-check a layer's ``backward`` against finite differences.

    The scalar checked is a random projection of the output, ``L = sum(out * r)`` with
    ``r ~ N(0, 1)`` of ``out``'s shape drawn from ``as_generator(seed)``, so
    ``dL/dout = r``. The analytic gradients come from ``layer.backward(r)``; the numerical
    ones from :func:`numerical_gradient` on ``x`` and on every parameter.

    Everything runs in float64: ``x`` is copied to float64 and each parameter's ``value`` is
    replaced by a float64 copy for the check; the original arrays (and ``grad``\\ s) are put
    back afterwards, untouched, even if the check fails.

    Parameters
    ----------
    layer : object with ``forward(x, training)``, ``backward(grad_out)``, ``parameters()``
    x : array_like, the layer's input shape, e.g. (N, in_features); not modified
    seed : int, Generator or None, default 0
        Seed of the projection ``r``.
    eps : float, default 1e-4
        Finite-difference step (keep every ReLU input farther than ``2 eps`` from 0).
    order : 2 or 4, default 4
        Stencil of :func:`numerical_gradient`; the default gives errors near 1e-10 for a
        correct float64 backward, batch norm included.
    training : bool, default False
        Mode of every forward call. Use ``True`` only for layers that are deterministic in
        training mode (e.g. batch norm, not dropout). Layer state other than the parameters
        (such as batch norm's running statistics) is updated by each training-mode call.

    Returns
    -------
    dict
        ``{"x": rel_error(dx), "<param name>": rel_error(dparam), ...}`` (see
        :func:`rel_error`); a repeated parameter name gets its index appended, ``"W[2]"``.
    """
    eps = _check_eps(eps)
    x64 = np.array(x, dtype=np.float64, copy=True)
    name = getattr(layer, "name", type(layer).__name__)
    with _Float64Parameters(layer.parameters()) as params:
        out = np.asarray(layer.forward(x64.copy(), training=training))
        r = as_generator(seed, "check_layer: seed").standard_normal(out.shape)

        def objective_x(v):
            return float(np.sum(np.asarray(layer.forward(v, training=training)) * r))

        def objective():
            return objective_x(x64)

        grad_x = layer.backward(r.copy())
        if grad_x is None or np.shape(grad_x) != x64.shape:
            raise ValueError(f"{name}.backward() must return dL/dx of shape {x64.shape}, got "
                             f"{None if grad_x is None else np.shape(grad_x)}")
        analytic = {"x": np.array(grad_x, dtype=np.float64)}
        keys = []
        for i, p in enumerate(params):
            key = _result_key(p, i, analytic)
            keys.append(key)
            analytic[key] = _grad_of(p, key, name)

        errors = {"x": rel_error(analytic["x"],
                                 numerical_gradient(objective_x, x64, eps, order))}
        for key, p in zip(keys, params, strict=True):
            errors[key] = rel_error(analytic[key],
                                    _param_numerical_gradient(p, objective, eps, order))
    return errors


def check_model(model, x, y, loss, eps: float = 1e-4, training: bool = False,
                order: int = 4) -> dict:
    """Gradient-check a whole model plus loss against finite differences.

    The scalar checked is the loss itself, ``L = loss.forward(model.forward(x), y)``. The
    analytic gradients come from ``model.backward(loss.backward())``; the numerical ones from
    :func:`numerical_gradient` on every parameter. Runs in float64 like :func:`check_layer`
    (parameters swapped for float64 copies, originals restored afterwards); ``x`` and ``y``
    are not modified. The model must compute in the dtype of its inputs and parameters.

    Parameters
    ----------
    model : object with ``forward(x, training)``, ``backward(grad)``, ``parameters()``
    x : array_like, model input, e.g. (N, d)
    y : array_like, targets as ``loss.forward`` expects them
    loss : object with ``forward(pred, target) -> float`` and ``backward() -> dL/dpred``
    eps : float, default 1e-4
    training : bool, default False
        Mode of every forward call (see :func:`check_layer`).
    order : 2 or 4, default 4 (see :func:`check_layer`)

    Returns
    -------
    dict
        ``{"<param name>": rel_error, ...}`` for every parameter of ``model.parameters()``;
        a repeated name gets its index appended.
    """
    eps = _check_eps(eps)
    x64 = np.array(x, dtype=np.float64, copy=True)
    y_arr = np.array(y, copy=True)
    if y_arr.dtype.kind == "f":
        y_arr = y_arr.astype(np.float64)
    name = getattr(model, "name", type(model).__name__)
    with _Float64Parameters(model.parameters()) as params:
        if not params:
            raise ValueError(f"{name} has no parameters to check")

        def objective():
            pred = model.forward(x64.copy(), training=training)
            return _scalar(loss.forward(pred, y_arr), "loss.forward")

        objective()
        model.backward(loss.backward())
        analytic, keys = {}, []
        for i, p in enumerate(params):
            key = _result_key(p, i, analytic)
            keys.append(key)
            analytic[key] = _grad_of(p, key, name)

        errors = {}
        for key, p in zip(keys, params, strict=True):
            errors[key] = rel_error(analytic[key],
                                    _param_numerical_gradient(p, objective, eps, order))
    return errors
