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

import numpy as np

from . import functional as F
from . import schedules

__all__ = ["Optimizer", "SGD", "Momentum", "RMSProp", "Adam", "AdamW", "get"]


class Optimizer:
    """Base class. Subclasses implement ``_update(param, grad, state, lr)``.

    Every ``_flush_every`` steps, state arrays (momenta, squared averages) have their
    vanishing entries set to zero (:func:`scratchnn.functional.flush_to_zero`): left alone
    they decay into the subnormal range, where arithmetic is many times slower.
    """

    _decoupled_decay = False
    _flush_every = 8

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
        for p, g in zip(params, grads, strict=True):
            if g.shape != p.value.shape:
                raise ValueError(f"{type(self).__name__}: gradient of {p.name} has shape "
                                 f"{g.shape} but the parameter has shape {p.value.shape}")
            if self.weight_decay and not self._decoupled_decay:
                g = g + self.weight_decay * p.value
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = self._init_state(p.value)
                state["scratch"] = np.empty_like(p.value)  # temporaries of the update rule
            self._update(p.value, g.astype(p.value.dtype, copy=False), state, lr)
            if self.iterations % self._flush_every == 0:
                for key, arr in state.items():
                    if key != "scratch" and isinstance(arr, np.ndarray):
                        F.flush_to_zero(arr, scratch=state["scratch"])

    def zero_grad(self, params) -> None:
        """Forget the gradients of ``params``."""
        for p in params:
            p.grad = None

    def _init_state(self, value) -> dict:
        return {}

    def _update(self, value, grad, state, lr) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        """Constructor arguments; a schedule ``lr`` is described by ``schedules.to_config``
        (raises ``TypeError`` for other callables, which cannot be described as data)."""
        lr = schedules.to_config(self.lr) if callable(self.lr) else self.lr
        return {"lr": lr, "weight_decay": self.weight_decay, "clip_norm": self.clip_norm}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config_safe().items())
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

    def _update(self, value, grad, state, lr):
        state["t"] += 1
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
