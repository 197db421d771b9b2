"""Layers with parameters or state: ``Dense``, ``Conv2D``, ``MaxPool2D``, ``Dropout``,
``BatchNorm``, ``Flatten``.

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

__all__ = ["Dense", "Conv2D", "MaxPool2D", "Dropout", "BatchNorm", "Flatten"]


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


class Conv2D(Layer):
    """2-D convolution over images in NCHW layout (PyTorch's ``nn.Conv2d``; Keras'
    ``Conv2D`` with ``data_format="channels_first"``).

    ``out[n, f, i, j] = b[f] + sum_{c, u, v} W[f, c, u, v] * x_pad[n, c, i*s + u, j*s + v]``
    (cross-correlation, as in every deep-learning library), computed by :func:`im2col
    <scratchnn.functional.im2col>` and one matrix product.

    Shapes: ``x (N, in_channels, H, W) -> out (N, out_channels, H_out, W_out)`` with
    ``H_out = (H + 2 padding - kh) // stride + 1``; ``W (out_channels, in_channels, kh, kw)``,
    ``b (out_channels,)``. ``kernel_size``, ``stride`` and ``padding`` are ints or
    ``(height, width)`` pairs; ``padding="same"`` keeps ``H x W`` (stride 1, odd kernel).
    ``init`` as for :class:`Dense`, with ``fan_in = in_channels * kh * kw`` and
    ``fan_out = out_channels`` (PyTorch and Keras count ``out_channels * kh * kw`` as
    fan_out, which changes the Xavier scale only; He, the default, uses fan_in). Biases
    start at zero. Raises ``ValueError`` for sizes that are not positive integers and, in
    ``forward``, for an input that is not ``(N, in_channels, H, W)`` or smaller than the kernel.
    """

    returns_new_output = True
    returns_new_grad = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 init="he", seed=None, name: str | None = None):
        super().__init__(name)
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Conv2D: {arg} must be a positive integer, got {value!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = F._pair(kernel_size, "kernel_size", "Conv2D")
        self.stride = F._pair(stride, "stride", "Conv2D")
        if padding == "same":
            if self.stride != (1, 1) or any(k % 2 == 0 for k in self.kernel_size):
                raise ValueError(f"Conv2D: padding='same' needs stride 1 and an odd kernel, "
                                 f"got kernel_size={self.kernel_size}, stride={self.stride}")
            self.padding = (self.kernel_size[0] // 2, self.kernel_size[1] // 2)
        else:
            self.padding = F._pair(padding, "padding", "Conv2D", minimum=0)
        self._init_fn = initializers.get(init)
        self.init = init if isinstance(init, str) else self._init_fn
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.W = Parameter(np.empty(shape, np.float32), "W")
        self.b = Parameter(np.zeros(self.out_channels, np.float32), "b")
        self._x = None
        self.build(as_generator(seed, "Conv2D: seed"), np.float32)

    def build(self, rng, dtype):
        self.dtype = np.dtype(dtype)
        kh, kw = self.kernel_size
        # drawn as the (C*kh*kw, F) matrix the convolution multiplies by, so the initializer
        # sees the fans of that product; then laid out as (F, C, kh, kw)
        fan_shape = (self.in_channels * kh * kw, self.out_channels)
        flat = self._init_fn(fan_shape, rng, self.dtype)
        self.W.value = np.ascontiguousarray(
            flat.T.reshape(self.out_channels, self.in_channels, kh, kw))
        self.b.value = np.zeros(self.out_channels, self.dtype)

    def parameters(self):
        return [self.W, self.b]

    def get_config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "init": initializers.serialize(self.init)}

    def output_shape(self, input_shape):
        if input_shape is None:
            return None
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ValueError(f"{self.name} expects samples of shape ({self.in_channels}, H, W) "
                             f"(channels first) but receives {tuple(input_shape)}")
        _, h, w = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (self.out_channels, F.conv_output_size(h, kh, sh, ph),
                F.conv_output_size(w, kw, sw, pw))

    def _check_input(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{self.name}: expected input of shape (N, {self.in_channels}, H, "
                             f"W) (channels first), got {x.shape}")

    def forward(self, x, training: bool = False):
        self._check_input(x)
        x = F._float(x, "x")
        # F.conv2d's arithmetic, keeping the im2col matrix for the weight gradient
        out, self._cols = _fused.conv2d_forward(x, self.W.value, self.b.value, self.stride,
                                                self.padding)
        self._x = x.shape
        return out

    def backward(self, grad_out, input_grad: bool = True):
        self._needs_forward(self._x)
        grad_W, grad_b = self.W.grad_buffer(), self.b.grad_buffer()
        grad_x = _fused.conv2d_backward(grad_out, self._cols, self._x, self.W.value,
                                        self.stride, self.padding, grad_W, grad_b, input_grad)
        self.W.grad, self.b.grad = grad_W, grad_b
        return grad_x

    def backward_params(self, grad_out):
        self.backward(grad_out, input_grad=False)


class MaxPool2D(Layer):
    """2-D max pooling, NCHW layout (PyTorch's ``nn.MaxPool2d``): the maximum of each
    ``pool_size`` window, moved by ``stride`` (default: ``pool_size``, non-overlapping).

    Shapes: ``x (N, C, H, W) -> (N, C, (H - kh) // sh + 1, (W - kw) // sw + 1)``; no
    padding, so rows and columns that do not fill a window are dropped (PyTorch's default,
    Keras' ``padding="valid"``). The gradient goes to the first maximum of each window
    (PyTorch's rule for ties). ``ValueError`` for sizes below 1 or a window larger than the
    input.
    """

    def __init__(self, pool_size=2, stride=None, name: str | None = None):
        super().__init__(name)
        self.pool_size = F._pair(pool_size, "pool_size", "MaxPool2D")
        self.stride = self.pool_size if stride is None else F._pair(stride, "stride",
                                                                    "MaxPool2D")
        self._argmax = self._x_shape = None

    def get_config(self):
        return {"pool_size": list(self.pool_size), "stride": list(self.stride)}

    def output_shape(self, input_shape):
        if input_shape is None or len(input_shape) != 3:
            return None
        c, h, w = input_shape
        (kh, kw), (sh, sw) = self.pool_size, self.stride
        return (c, F.conv_output_size(h, kh, sh, 0), F.conv_output_size(w, kw, sw, 0))

    def forward(self, x, training: bool = False):
        if x.ndim != 4:
            raise ValueError(f"{self.name}: expected input of shape (N, C, H, W), got {x.shape}")
        out, self._argmax = F.max_pool2d(x, self.pool_size, self.stride)
        self._x_shape = x.shape
        return out

    def backward(self, grad_out):
        self._needs_forward(self._argmax)
        return F.max_pool2d_backward(grad_out, self._argmax, self._x_shape, self.pool_size,
                                     self.stride)


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
