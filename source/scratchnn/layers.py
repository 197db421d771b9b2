"""Layers with parameters or state: ``Dense``, ``Dropout``, ``BatchNorm``, ``Flatten``.

Every layer follows :class:`scratchnn.core.Layer`: ``forward(x, training=False)`` then
``backward(grad_out)``, which returns dL/dx and fills each ``Parameter.grad``.
"""

from __future__ import annotations

import numpy as np

from . import _fused
from . import functional as F
from . import init as initializers
from .core import Layer, Parameter
from .rng import as_generator

__all__ = ["Dense", "Dropout", "BatchNorm", "Flatten"]


def _check_features(layer: Layer, x: np.ndarray, features: int) -> None:
    if x.ndim != 2 or x.shape[1] != features:
        raise ValueError(
            f"{layer.name}: expected input of shape (N, {features}), got {x.shape}"
        )


class Dense(Layer):
    """Fully connected layer: ``out = x @ W + b``.

    Shapes: ``x (N, in_features) -> out (N, out_features)``; ``W (in_features, out_features)``,
    ``b (out_features,)``. ``init`` is the weight initializer: a name (``"he"``,
    ``"xavier"``, ..., see :mod:`scratchnn.init`), an initializer object such as
    ``init.Normal(0.05)``, a function ``fn(shape, rng, dtype)`` or a saved description
    ``{"class": ..., "config": ...}``; biases start at zero. ``seed`` (int, ``None`` or a
    Generator) initializes a stand-alone layer; inside a ``Sequential`` the model's generator
    re-initializes it. Raises ``ValueError`` for sizes that are not positive integers or an
    unknown initializer name.
    """

    returns_new_output = True  # x @ W + b is a new array; the layer keeps x, not the output
    returns_new_grad = True

    def __init__(self, in_features: int, out_features: int, init="he",
                 seed=None, name: str | None = None):
        super().__init__(name)
        for arg, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Dense: {arg} must be a positive integer, got {value!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self._init_fn = initializers.get(init)
        # a name stays a name (saved as given); a description becomes the object it describes
        self.init = init if isinstance(init, str) else self._init_fn
        self.W = Parameter(np.empty((self.in_features, self.out_features), np.float32), "W")
        self.b = Parameter(np.zeros(self.out_features, np.float32), "b")
        self._x = None
        self.build(as_generator(seed, "Dense: seed"), np.float32)

    def build(self, rng, dtype):
        self.dtype = np.dtype(dtype)
        self.W.value = self._init_fn((self.in_features, self.out_features), rng, self.dtype)
        self.b.value = np.zeros(self.out_features, self.dtype)

    def parameters(self):
        return [self.W, self.b]

    def get_config(self):
        """``in_features``, ``out_features`` and ``init`` as :func:`scratchnn.init.serialize`
        describes it (a name stays a name). Raises ``TypeError`` for an initializer that is
        not registered, which could not be loaded again."""
        return {"in_features": self.in_features, "out_features": self.out_features,
                "init": initializers.serialize(self.init)}

    def expected_input_features(self):
        return self.in_features

    def output_shape(self, input_shape):
        return (self.out_features,)

    def forward(self, x, training: bool = False):
        _check_features(self, x, self.in_features)
        self._x = x
        return F.dense(x, self.W.value, self.b.value)

    def backward(self, grad_out, input_grad: bool = True):
        self._needs_forward(self._x)
        # F.dense_backward's arithmetic, written into the parameters' reused gradient arrays
        grad_W, grad_b = self.W.grad_buffer(), self.b.grad_buffer()
        grad_x = _fused.dense_backward(grad_out, self._x, self.W.value, grad_W, grad_b,
                                       input_grad)
        self.W.grad, self.b.grad = grad_W, grad_b
        return grad_x

    def backward_params(self, grad_out):
        self.backward(grad_out, input_grad=False)


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``rate`` and scale the
    survivors by ``1 / (1 - rate)``; in eval mode, the identity. Shape: any -> same.
    ``seed`` (int, ``None`` or a Generator) draws the masks of a stand-alone layer; inside a
    ``Sequential`` the model's generator does. Raises ``ValueError`` for a rate outside
    ``[0, 1)``.
    """

    preserves_shape = True

    def __init__(self, rate: float = 0.5, seed=None, name: str | None = None):
        super().__init__(name)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.rng = as_generator(seed, "Dropout: seed")
        self._mask = None

    def build(self, rng, dtype):
        super().build(rng, dtype)
        self.rng = rng

    def get_config(self):
        return {"rate": self.rate}

    def forward(self, x, training: bool = False):
        out, self._mask = F.dropout(x, self.rate, rng=self.rng, training=training)
        return out

    def backward(self, grad_out):
        self._needs_forward(self._mask)
        return F.dropout_backward(grad_out, self._mask)


class BatchNorm(Layer):
    """Batch normalization of ``(N, num_features)`` inputs with learnable scale and shift.

    Training: normalize with the batch's mean and (biased) variance and update the running
    statistics ``r <- (1 - momentum) r + momentum * batch_stat`` (PyTorch's convention; the
    running variance uses the unbiased estimate). Eval: normalize with the running statistics.
    ``out = gamma * (x - mean) / sqrt(var + eps) + beta``; ``gamma`` starts at 1, ``beta`` at 0.
    """

    uses_batch_statistics = True

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5,
                 name: str | None = None):
        super().__init__(name)
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) \
                or num_features < 1:
            raise ValueError(f"BatchNorm: num_features must be a positive integer, got "
                             f"{num_features!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1], got {momentum}")
        if eps <= 0:
            raise ValueError(f"BatchNorm: eps must be positive, got {eps}")
        self.num_features, self.momentum, self.eps = int(num_features), float(momentum), float(eps)
        self.gamma = Parameter(np.ones(self.num_features, np.float32), "gamma")
        self.beta = Parameter(np.zeros(self.num_features, np.float32), "beta")
        self.running_mean = np.zeros(self.num_features, np.float32)
        self.running_var = np.ones(self.num_features, np.float32)
        self._cache = None

    def build(self, rng, dtype):
        self.dtype = np.dtype(dtype)
        self.gamma.value = np.ones(self.num_features, self.dtype)
        self.beta.value = np.zeros(self.num_features, self.dtype)
        self.running_mean = np.zeros(self.num_features, self.dtype)
        self.running_var = np.ones(self.num_features, self.dtype)

    def parameters(self):
        return [self.gamma, self.beta]

    def buffers(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def set_buffer(self, key, value):
        if key not in ("running_mean", "running_var"):
            super().set_buffer(key, value)
        if value.shape != (self.num_features,):
            raise ValueError(f"{self.name}: {key} must have shape ({self.num_features},), "
                             f"got {value.shape}")
        setattr(self, key, value.astype(self.dtype))

    def get_config(self):
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}

    def expected_input_features(self):
        return self.num_features

    def forward(self, x, training: bool = False):
        _check_features(self, x, self.num_features)
        out, self._cache, self.running_mean, self.running_var = F.batch_norm(
            x, self.gamma.value, self.beta.value, self.running_mean, self.running_var,
            training=training, momentum=self.momentum, eps=self.eps)
        return out

    def backward(self, grad_out):
        self._needs_forward(self._cache)
        grad_x, self.gamma.grad, self.beta.grad = F.batch_norm_backward(grad_out, self._cache)
        return grad_x


class Flatten(Layer):
    """Flatten every axis but the batch axis: ``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``."""

    def __init__(self, name: str | None = None):
        super().__init__(name)
        self._shape = None

    def output_shape(self, input_shape):
        return None if input_shape is None else (int(np.prod(input_shape)),)

    def forward(self, x, training: bool = False):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out):
        self._needs_forward(self._shape)
        return grad_out.reshape(self._shape)
