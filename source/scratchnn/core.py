"""Building blocks shared by every layer: ``Parameter`` and the ``Layer`` base class."""

from __future__ import annotations

import numpy as np

from .registry import LAYERS, Registrable


class Parameter:
    """A trainable array and its gradient.

    Attributes
    ----------
    value : ndarray
        The parameter itself; optimizers update it **in place**.
    grad : ndarray or None
        dL/dvalue from the last ``backward``, same shape as ``value``. Built-in layers write
        it into one array per parameter (:meth:`grad_buffer`) that the next ``backward``
        overwrites, as PyTorch's ``.grad`` is one tensor: copy it to keep it.
    name : str
        A readable name such as ``"dense_0.W"`` (the model fills in the layer prefix).
    """

    __slots__ = ("value", "grad", "name", "_grad_buffer", "_flat")

    def __init__(self, value: np.ndarray, name: str = "param"):
        self.value = value
        self.grad: np.ndarray | None = None
        self.name = name
        self._grad_buffer: np.ndarray | None = None
        self._flat: FlatParameters | None = None  # the contiguous group it belongs to

    def grad_buffer(self) -> np.ndarray:
        """The array a layer writes this parameter's gradient into (``out=``), shaped and
        typed like ``value``: allocated once and reused by every ``backward``, so a training
        step allocates no gradient arrays. Reallocated if ``value``'s shape or dtype changed.
        """
        buf = self._grad_buffer
        if buf is None or buf.shape != self.value.shape or buf.dtype != self.value.dtype:
            buf = self._grad_buffer = np.empty_like(self.value)
        return buf

    @property
    def shape(self) -> tuple:
        return self.value.shape

    def zero_grad(self) -> None:
        """Forget the stored gradient."""
        self.grad = None

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"


class FlatParameters:
    """Parameters whose values and gradients are views into two contiguous 1-D arrays.

    ``flatten_parameters(params)`` copies each ``p.value`` into a slice of ``values`` and
    makes ``p.value`` that slice (reshaped), and makes the slices of ``grads`` the arrays
    layers write gradients into (:meth:`Parameter.grad_buffer`). An optimizer can then update
    every parameter with one call of each array operation instead of one per parameter, as
    PyTorch's ``foreach`` and flat-buffer (apex, DeepSpeed) optimizers do.
    ``Sequential`` flattens its parameters when it is built.

    Attributes: ``params`` (tuple of :class:`Parameter`), ``values`` and ``grads`` (1-D
    arrays of the common dtype), ``value_views`` and ``grad_views`` (one per parameter).
    """

    def __init__(self, params):
        self.params = tuple(params)
        dtypes = {p.value.dtype for p in self.params}
        if len(dtypes) != 1:
            raise ValueError(f"flatten_parameters: the parameters have several dtypes "
                             f"{sorted(map(str, dtypes))}; flatten each dtype on its own")
        dtype = dtypes.pop()
        size = sum(p.value.size for p in self.params)
        self.values, self.grads = np.empty(size, dtype), np.zeros(size, dtype)
        value_views, grad_views, start = [], [], 0
        for p in self.params:
            stop = start + p.value.size
            view = self.values[start:stop].reshape(p.value.shape)
            view[...] = p.value
            value_views.append(view)
            grad_views.append(self.grads[start:stop].reshape(p.value.shape))
            p.value, p._grad_buffer, p._flat = view, grad_views[-1], self
            start = stop
        self.value_views, self.grad_views = tuple(value_views), tuple(grad_views)

    def intact(self, params) -> bool:
        """True if ``params`` are this group's parameters, in order, and each still holds its
        view of :attr:`values` (a user may have assigned ``p.value`` a new array, or copied
        the model: a deep copy's arrays no longer share one buffer)."""
        if len(params) != len(self.params):
            return False
        for p, mine, view, grad_view in zip(params, self.params, self.value_views,
                                            self.grad_views, strict=True):
            if p is not mine or p.value is not view or view.base is not self.values \
                    or grad_view.base is not self.grads:
                return False
        return True


def declared(layer, attribute: str, method: str) -> bool:
    """Whether ``layer`` may be trusted with the behaviour that ``attribute`` declares about
    ``method`` (e.g. ``returns_new_output`` about ``forward``, or ``_forward_overwrite``
    about ``forward``): the attribute must be set (truthy) by a class whose ``method`` is
    still the one that runs. A subclass overriding ``method`` without restating the
    attribute loses it, so a user's layer is never overwritten or trusted by accident."""
    for klass in type(layer).__mro__:
        if attribute in vars(klass):
            return bool(vars(klass)[attribute]) and \
                getattr(type(layer), method) is getattr(klass, method)
    return False


def flatten_parameters(params) -> FlatParameters | None:
    """Make ``params`` views of one contiguous buffer (see :class:`FlatParameters`); returns
    the group, or ``None`` if there are no parameters. Values are copied, not changed; a
    parameter that belonged to another group leaves it. Raises ``ValueError`` for mixed
    dtypes."""
    params = list(params)
    return FlatParameters(params) if params else None


class Layer(Registrable):
    """Base class: ``forward(x, training=False) -> out`` and ``backward(grad_out) -> grad_in``.

    ``backward`` must be called after a ``forward`` and stores each parameter's gradient in
    ``Parameter.grad``. Subclasses with parameters override :meth:`parameters`; those with
    randomness receive the model's generator in :meth:`build`.

    Every subclass registers itself in :data:`scratchnn.registry.LAYERS` when it is defined
    (built-ins under their class name, others under ``"<module>.<QualName>"``), so a model
    holding it can be saved and loaded: :meth:`get_config` must return the constructor's
    arguments. Shapes are declared by :meth:`expected_input_features` and
    :meth:`output_shape`, which ``Sequential`` uses to check the sizes of its layers.
    """

    _registry = LAYERS

    #: True when ``output_shape(s) == s`` for every input (activations, dropout).
    preserves_shape = False
    #: True when training-mode statistics need at least two samples per batch (batch norm).
    uses_batch_statistics = False
    #: True when ``forward`` returns a new array that the layer does not keep (``Dense``), so
    #: a ``Sequential`` may let the next layer overwrite it (:meth:`_forward_overwrite`).
    #: Trusted only while ``forward`` is the one of the class that sets it (see
    #: :func:`declared`): a subclass that overrides ``forward`` must state it again.
    returns_new_output = False
    #: The same for ``backward`` and the gradient it returns.
    returns_new_grad = False

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
        """The constructor arguments that rebuild this layer: ``type(self)(**config)`` must
        make an equal layer (``name`` aside, which is saved separately). Saving writes it as
        JSON: numbers, strings, bools, ``None``, lists and dicts. The default ``{}`` suits a
        constructor that takes no arguments but ``name``."""
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

    def _forward_overwrite(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """``forward`` for an ``x`` that nobody else holds (a temporary of the model): a layer
        may compute its output in ``x`` to save an array (``ReLU`` does, as PyTorch's
        ``ReLU(inplace=True)``). ``Sequential`` calls it only when the layer before declares
        :attr:`returns_new_output`; by default it is ``forward``."""
        return self.forward(x, training=training)

    def _backward_overwrite(self, grad_out: np.ndarray) -> np.ndarray:
        """``backward`` for a ``grad_out`` that nobody else holds (see
        :meth:`_forward_overwrite`); by default it is ``backward``."""
        return self.backward(grad_out)

    def __call__(self, x, training: bool = False):
        return self.forward(x, training=training)

    def expected_input_features(self) -> int | None:
        """The number of input features (the size of the last axis of ``x (N, features)``)
        this layer requires, or ``None`` when it takes any (the default).

        ``Sequential`` compares it with what the previous layer outputs and raises
        ``ValueError`` on a mismatch when the model is built; ``Dense`` returns
        ``in_features``, ``BatchNorm`` ``num_features``."""
        return None

    def output_shape(self, input_shape: tuple | None) -> tuple | None:
        """Shape of the output (batch axis excluded) for an input of ``input_shape``.

        ``input_shape`` is ``None`` when it is not known (e.g. after a leading ``Flatten``);
        return ``None`` when the output shape then is not known either. The default returns
        ``input_shape`` (the shape is kept); a layer whose output size does not depend on the
        input returns it regardless (``Dense``: ``(out_features,)``)."""
        return input_shape

    def _needs_forward(self, cached) -> None:
        if cached is None:
            raise RuntimeError(f"{self.name}: backward() called before forward()")

    def __repr__(self) -> str:
        try:
            config = self.get_config()
        except TypeError:  # e.g. an initializer that cannot be described as data
            config = {"name": self.name}
        args = ", ".join(f"{k}={v!r}" for k, v in config.items())
        return f"{type(self).__name__}({args})"
