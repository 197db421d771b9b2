"""Activation layers. Each wraps a forward/backward pair of :mod:`scratchnn.functional`.

All activations keep the input's shape: ``(N, ...) -> (N, ...)``.
"""

from __future__ import annotations

import numpy as np

from . import functional as F
from .core import Layer
from .registry import LAYERS, register

__all__ = ["Activation", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "get"]


class Activation(Layer, register=False):
    """An elementwise (or row-wise) function without parameters.

    Subclasses set ``_forward_fn(x, **kw)`` and ``_backward_fn(grad_out, x, **kw)`` from
    :mod:`scratchnn.functional`; ``_kwargs()`` supplies their extra arguments. Subclasses
    register themselves as layers (this helper base does not); :func:`get` finds them by
    key, or by a short name given with ``register(aliases=...)``.
    """

    preserves_shape = True
    returns_new_output = True  # the functions return new arrays; the layer keeps its input
    returns_new_grad = True
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


@register(aliases=("relu",))
class ReLU(Activation):
    """``max(0, x)``; gradient ``1[x > 0]``.

    Inside a ``Sequential``, after a layer whose output is a temporary (``Dense``), it runs
    in place, as PyTorch's ``ReLU(inplace=True)``: the output overwrites that temporary and
    the gradient overwrites the incoming one, saving two arrays per step. Called directly, it
    never modifies its arguments.
    """

    _forward_fn = staticmethod(F.relu)
    _backward_fn = staticmethod(F.relu_backward)
    returns_new_output = False  # in place, it keeps its output (the mask's source)

    def _forward_overwrite(self, x, training: bool = False):
        # relu(x) > 0 exactly where x > 0 (NaN in neither), so the output can stand in for
        # the input in F.relu_backward's mask
        self._x = np.maximum(x, 0, out=x)
        return x

    def _backward_overwrite(self, grad_out):
        self._needs_forward(self._x)
        return np.multiply(grad_out, self._x > 0, out=grad_out)


@register(aliases=("leaky_relu",))
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


@register(aliases=("sigmoid",))
class Sigmoid(Activation):
    """``1 / (1 + exp(-x))`` (overflow-free); gradient ``s (1 - s)``."""

    _forward_fn = staticmethod(F.sigmoid)
    _backward_fn = staticmethod(F.sigmoid_backward)


@register(aliases=("tanh",))
class Tanh(Activation):
    """``tanh(x)``; gradient ``1 - tanh(x)**2``."""

    _forward_fn = staticmethod(F.tanh)
    _backward_fn = staticmethod(F.tanh_backward)


@register(aliases=("softmax",))
class Softmax(Activation):
    """Row-wise softmax ``(N, C) -> (N, C)``.

    For classification prefer ending the model with logits and using
    ``CrossEntropy(from_logits=True)``: it is more stable and cheaper.
    """

    _forward_fn = staticmethod(F.softmax)
    _backward_fn = staticmethod(F.softmax_backward)


def _is_activation(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, Activation)


def get(name: str) -> Activation:
    """A new activation layer, with its default arguments, from its name: ``"relu"``,
    ``"leaky_relu"``, ``"sigmoid"``, ``"tanh"``, ``"softmax"``, a class name (``"ReLU"``) or
    the key or alias of a registered :class:`Activation` subclass of your own.

    Raises ``ValueError`` for any other name, listing the choices."""
    return LAYERS.get(name, what="activation", accept=_is_activation)()
