"""Activation layers. Each wraps a forward/backward pair of :mod:`scratchnn.functional`.

All activations keep the input's shape: ``(N, ...) -> (N, ...)``.
"""

from __future__ import annotations

from . import functional as F
from .core import Layer

__all__ = ["Activation", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "get"]


class Activation(Layer):
    """An elementwise (or row-wise) function without parameters.

    Subclasses set ``_forward_fn(x, **kw)`` and ``_backward_fn(grad_out, x, **kw)`` from
    :mod:`scratchnn.functional`; ``_kwargs()`` supplies their extra arguments.
    """

    preserves_shape = True
    _forward_fn = staticmethod(lambda x: x)
    _backward_fn = staticmethod(lambda grad_out, x: grad_out)

    def __init__(self, name: str | None = None):
        super().__init__(name)
        self._x = None

    def _kwargs(self) -> dict:
        return {}

    def forward(self, x, training: bool = False):
        self._x = x
        return self._forward_fn(x, **self._kwargs())

    def backward(self, grad_out):
        self._needs_forward(self._x)
        return self._backward_fn(grad_out, self._x, **self._kwargs())


class ReLU(Activation):
    """``max(0, x)``; gradient ``1[x > 0]``."""

    _forward_fn = staticmethod(F.relu)
    _backward_fn = staticmethod(F.relu_backward)


class LeakyReLU(Activation):
    """``x if x > 0 else alpha x``; gradient ``1`` or ``alpha``."""

    _forward_fn = staticmethod(F.leaky_relu)
    _backward_fn = staticmethod(F.leaky_relu_backward)

    def __init__(self, alpha: float = 0.01, name: str | None = None):
        super().__init__(name)
        if alpha < 0:
            raise ValueError(f"LeakyReLU: alpha must be >= 0, got {alpha}")
        self.alpha = float(alpha)

    def _kwargs(self):
        return {"alpha": self.alpha}

    def get_config(self):
        return {"alpha": self.alpha}


class Sigmoid(Activation):
    """``1 / (1 + exp(-x))`` (overflow-free); gradient ``s (1 - s)``."""

    _forward_fn = staticmethod(F.sigmoid)
    _backward_fn = staticmethod(F.sigmoid_backward)


class Tanh(Activation):
    """``tanh(x)``; gradient ``1 - tanh(x)**2``."""

    _forward_fn = staticmethod(F.tanh)
    _backward_fn = staticmethod(F.tanh_backward)


class Softmax(Activation):
    """Row-wise softmax ``(N, C) -> (N, C)``.

    For classification prefer ending the model with logits and using
    ``CrossEntropy(from_logits=True)``: it is more stable and cheaper.
    """

    _forward_fn = staticmethod(F.softmax)
    _backward_fn = staticmethod(F.softmax_backward)


_BY_NAME = {
    "relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh, "softmax": Softmax,
}


def get(name: str) -> Activation:
    """Activation layer from its name: ``relu``, ``leaky_relu``, ``sigmoid``, ``tanh`` or
    ``softmax``."""
    try:
        return _BY_NAME[name]()
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {sorted(_BY_NAME)}"
        ) from None
