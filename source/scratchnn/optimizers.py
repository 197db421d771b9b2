"""Optimizers: ``opt.step(params)`` updates each ``Parameter.value`` in place from its ``.grad``.

Every optimizer accepts

* ``lr``: a float, or a schedule from :mod:`scratchnn.schedules` (called with the step count);
* ``weight_decay``: L2 regularization added to the gradient, ``g <- g + weight_decay * w``
  (for :class:`AdamW` it is the *decoupled* decay instead);
* ``clip_norm``: if set, gradients are rescaled so that their global L2 norm over all
  parameters is at most ``clip_norm`` (applied before weight decay).

The update rules themselves live in :mod:`scratchnn.functional`; the classes keep the state
(one entry per parameter) and call those rules with ``inplace=True``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import functional as F
from . import schedules

__all__ = ["Optimizer", "SGD", "Momentum", "RMSProp", "Adam", "AdamW", "get"]

# The update rules are elementwise and NumPy's ufuncs release the GIL, so a large parameter is
# updated in one chunk per core on a thread pool (BLAS already uses every core for the matrix
# products; without this the optimizer step would run on one). Small ones are not worth it.
PARALLEL_MIN_SIZE = 1 << 16
_WORKERS = max(1, min(os.cpu_count() or 1, 8))
_pool: ThreadPoolExecutor | None = None


def _thread_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="scratchnn-opt")
    return _pool


def _chunked(value, grad, state) -> list[tuple] | None:
    """Split a parameter, its gradient and its state arrays into flat views, one per worker,
    or return None when that is not possible or not worth it."""
    arrays = [value, grad] + [a for a in state.values() if isinstance(a, np.ndarray)]
    if _WORKERS < 2 or value.size < PARALLEL_MIN_SIZE \
            or not all(a.flags.c_contiguous for a in arrays):
        return None
    bounds = np.linspace(0, value.size, _WORKERS + 1).astype(int)
    parts = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        part_state = {k: a.reshape(-1)[lo:hi] if isinstance(a, np.ndarray) else a
                      for k, a in state.items()}
        parts.append((value.reshape(-1)[lo:hi], grad.reshape(-1)[lo:hi], part_state))
    return parts


class Optimizer:
    """Base class. Subclasses implement ``_update(param, grad, state, lr)``."""

    _decoupled_decay = False

    def __init__(self, lr=0.01, weight_decay: float = 0.0, clip_norm: float | None = None):
        if isinstance(lr, dict):  # a saved schedule (see schedules.to_config)
            lr = schedules.from_config(lr)
        if not callable(lr) and not float(lr) > 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: weight_decay must be >= 0, got "
                             f"{weight_decay}")
        if clip_norm is not None and clip_norm <= 0:
            raise ValueError(f"{type(self).__name__}: clip_norm must be positive, got "
                             f"{clip_norm}")
        self.lr = lr
        self.weight_decay = float(weight_decay)
        self.clip_norm = clip_norm
        self.iterations = 0
        self.state: dict = {}

    @property
    def current_lr(self) -> float:
        """The learning rate the next step will use."""
        return float(self.lr(self.iterations)) if callable(self.lr) else float(self.lr)

    def step(self, params) -> None:
        """Apply one update to every parameter that has a gradient."""
        params = [p for p in params if p.grad is not None]
        if not params:
            return
        lr = self.current_lr
        grads = [p.grad for p in params]
        if self.clip_norm is not None:
            grads, _ = F.clip_grad_norm(grads, self.clip_norm)
        self.iterations += 1
        parallel = []
        for p, g in zip(params, grads, strict=True):
            if g.shape != p.value.shape:
                raise ValueError(f"{type(self).__name__}: gradient of {p.name} has shape "
                                 f"{g.shape} but the parameter has shape {p.value.shape}")
            if self.weight_decay and not self._decoupled_decay:
                g = g + self.weight_decay * p.value
            g = g.astype(p.value.dtype, copy=False)
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = self._init_state(p.value)
                state["scratch"] = np.empty_like(p.value)  # temporaries of the update rule
            self._advance(state)
            parts = _chunked(p.value, g, state)
            if parts is None:
                self._update(p.value, g, state, lr)
            else:
                parallel.extend(parts)
        if parallel:
            # list() waits for every chunk and re-raises the first error of any of them
            list(_thread_pool().map(lambda part: self._update(*part, lr), parallel))

    def zero_grad(self, params) -> None:
        """Forget the gradients of ``params``."""
        for p in params:
            p.grad = None

    def _init_state(self, value) -> dict:
        return {}

    def _advance(self, state) -> None:
        """Per-parameter bookkeeping once per step, before the (possibly chunked) update."""

    def _update(self, value, grad, state, lr) -> None:
        """Update ``value`` in place; may be called on a chunk (flat views of every array)."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """Constructor arguments; a schedule ``lr`` is described by ``schedules.to_config``
        (raises ``TypeError`` for other callables, which cannot be described as data)."""
        lr = schedules.to_config(self.lr) if callable(self.lr) else self.lr
        return {"lr": lr, "weight_decay": self.weight_decay, "clip_norm": self.clip_norm}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in {**self.get_config_safe()}.items())
        return f"{type(self).__name__}({args})"

    def get_config_safe(self) -> dict:
        try:
            return self.get_config()
        except TypeError:
            return {"lr": self.lr}


class SGD(Optimizer):
    """Stochastic gradient descent: ``w <- w - lr g``."""

    def _update(self, value, grad, state, lr):
        F.sgd(value, grad, lr, inplace=True, scratch=state["scratch"])


class Momentum(Optimizer):
    """SGD with momentum ``beta``: ``v <- beta v + g``, ``w <- w - lr v``; with
    ``nesterov=True``: ``w <- w - lr (g + beta v)``.
    """

    def __init__(self, lr=0.01, beta: float = 0.9, nesterov: bool = False,
                 weight_decay: float = 0.0, clip_norm: float | None = None):
        super().__init__(lr, weight_decay, clip_norm)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Momentum: beta must be in [0, 1), got {beta}")
        self.beta, self.nesterov = float(beta), bool(nesterov)

    def _init_state(self, value):
        return {"velocity": np.zeros_like(value)}

    def _update(self, value, grad, state, lr):
        rule = F.nesterov if self.nesterov else F.momentum
        rule(value, grad, state["velocity"], lr, self.beta, inplace=True,
             scratch=state["scratch"])

    def get_config(self):
        return {**super().get_config(), "beta": self.beta, "nesterov": self.nesterov}


class RMSProp(Optimizer):
    """RMSProp: ``s <- rho s + (1 - rho) g**2``, ``w <- w - lr g / (sqrt(s) + eps)``."""

    def __init__(self, lr=0.001, rho: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, clip_norm: float | None = None):
        super().__init__(lr, weight_decay, clip_norm)
        self.rho, self.eps = float(rho), float(eps)

    def _init_state(self, value):
        return {"sq_avg": np.zeros_like(value)}

    def _update(self, value, grad, state, lr):
        F.rmsprop(value, grad, state["sq_avg"], lr, self.rho, self.eps, inplace=True,
                  scratch=state["scratch"])

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "eps": self.eps}


class Adam(Optimizer):
    """Adam with bias correction (see :func:`scratchnn.functional.adam` for the formula)."""

    _rule = staticmethod(F.adam)

    def __init__(self, lr=0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, clip_norm: float | None = None):
        super().__init__(lr, weight_decay, clip_norm)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _init_state(self, value):
        return {"m": np.zeros_like(value), "v": np.zeros_like(value), "t": 0}

    def _extra(self) -> dict:
        return {}

    def _advance(self, state):
        state["t"] += 1

    def _update(self, value, grad, state, lr):
        self._rule(value, grad, state["m"], state["v"], state["t"], lr, self.beta1,
                   self.beta2, self.eps, inplace=True, scratch=state["scratch"],
                   **self._extra())

    def get_config(self):
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2,
                "eps": self.eps}


class AdamW(Adam):
    """Adam with decoupled weight decay: ``w <- w (1 - lr weight_decay)`` before each Adam step.
    Here ``weight_decay`` (default 0.01) never enters the gradient.
    """

    _rule = staticmethod(F.adamw)
    _decoupled_decay = True

    def __init__(self, lr=0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.01, clip_norm: float | None = None):
        super().__init__(lr, beta1, beta2, eps, weight_decay, clip_norm)

    def _extra(self):
        return {"weight_decay": self.weight_decay}


_BY_NAME = {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSProp, "adam": Adam, "adamw": AdamW}


def get(optimizer) -> Optimizer:
    """An :class:`Optimizer` from an instance or a name (``"sgd"``, ``"adam"``, ...)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    try:
        return _BY_NAME[optimizer]()
    except (KeyError, TypeError):
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of "
                         f"{sorted(_BY_NAME)}") from None
