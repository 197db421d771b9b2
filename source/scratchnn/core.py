"""Building blocks shared by every layer: ``Parameter`` and the ``Layer`` base class."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array and its gradient.

    Attributes
    ----------
    value : ndarray
        The parameter itself; optimizers update it **in place**.
    grad : ndarray or None
        dL/dvalue from the last ``backward``, same shape as ``value``.
    name : str
        A readable name such as ``"dense_0.W"`` (the model fills in the layer prefix).
    """

    __slots__ = ("value", "grad", "name")

    def __init__(self, value: np.ndarray, name: str = "param"):
        self.value = value
        self.grad: np.ndarray | None = None
        self.name = name

    @property
    def shape(self) -> tuple:
        return self.value.shape

    def zero_grad(self) -> None:
        """Forget the stored gradient."""
        self.grad = None

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"


class Layer:
    """Base class: ``forward(x, training=False) -> out`` and ``backward(grad_out) -> grad_in``.

    ``backward`` must be called after a ``forward`` and stores each parameter's gradient in
    ``Parameter.grad``. Subclasses with parameters override :meth:`parameters`; those with
    randomness receive the model's generator in :meth:`build`.
    """

    #: True when ``output_shape(s) == s`` for every input (activations, dropout).
    preserves_shape = False
    #: True when training-mode statistics need at least two samples per batch (batch norm).
    uses_batch_statistics = False

    def __init__(self, name: str | None = None):
        self.name = name or type(self).__name__.lower()
        self.dtype = np.dtype(np.float32)

    # -- construction -------------------------------------------------------------------------
    def build(self, rng: np.random.Generator, dtype) -> None:
        """(Re)initialize the layer with the model's generator and dtype."""
        self.dtype = np.dtype(dtype)
        for p in self.parameters():
            p.value = p.value.astype(self.dtype)

    def parameters(self) -> list[Parameter]:
        """The layer's trainable parameters (empty for parameter-free layers)."""
        return []

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state that is saved with the model (e.g. running statistics)."""
        return {}

    def set_buffer(self, key: str, value: np.ndarray) -> None:
        """Restore one of :meth:`buffers` (used by ``load_model``)."""
        raise KeyError(f"{self.name} has no buffer {key!r}")

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (JSON-serializable)."""
        return {}

    # -- computation --------------------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward_params(self, grad_out: np.ndarray) -> None:
        """Fill the parameters' gradients without computing dL/dx (for a network's first
        layer, whose input needs no gradient). Layers may override it to save work."""
        self.backward(grad_out)

    def __call__(self, x, training: bool = False):
        return self.forward(x, training=training)

    def output_shape(self, input_shape: tuple) -> tuple:
        """Shape of the output for an input of ``input_shape`` (batch axis excluded)."""
        return input_shape

    def _needs_forward(self, cached) -> None:
        if cached is None:
            raise RuntimeError(f"{self.name}: backward() called before forward()")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
