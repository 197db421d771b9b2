"""Weight initializers.

Every initializer has the signature ``fn(shape, rng, dtype=np.float32) -> ndarray`` and returns a
new array of ``shape``. ``rng`` is an ``np.random.Generator`` (used directly, so a model can share
its generator), or an int seed / ``None`` passed to ``np.random.default_rng``. Nothing here
touches NumPy's global random state.

Fans: for a weight of shape ``(in, out)`` (the layout of :class:`scratchnn.layers.Dense`),
``fan_in = shape[0]`` and ``fan_out = shape[-1]``. A 1-D shape ``(n,)`` has
``fan_in = fan_out = n``; a shape with more axes is read as ``(in_1, ..., in_k, out)``:
``fan_in = prod(shape[:-1])``, ``fan_out = shape[-1]``.

==================  =====================================  ================================
name                distribution                           scale
==================  =====================================  ================================
``he_normal``       N(0, std^2)                            std = sqrt(2 / fan_in)
``he_uniform``      U(-limit, limit)                       limit = sqrt(6 / fan_in)
``xavier_normal``   N(0, std^2)                            std = sqrt(2 / (fan_in + fan_out))
``xavier_uniform``  U(-limit, limit)                       limit = sqrt(6 / (fan_in + fan_out))
``normal``          N(0, std^2)                            ``Normal(std)``, default 0.01
``zeros``/``ones``  constant 0 / 1
==================  =====================================  ================================

He initialization (He et al., 2015) keeps the variance of ReLU activations constant across
layers; Xavier/Glorot (Glorot & Bengio, 2010) balances forward and backward variance for
tanh/sigmoid layers. :class:`Normal` ignores the fans: ``W = std * randn(shape)`` with a std
you choose, as in CS231n's networks. Use :func:`get` to look an initializer up by name.

Saving: a model records a layer's initializer by name (``"he"``, as given), by its key for a
registered function (``"he_normal"``, or ``"<module>.<name>"`` for a function of yours passed
to :func:`scratchnn.register`), or as ``{"class": "Normal", "config": {"std": 0.05}}`` for an
:class:`Initializer` object (see :func:`serialize`); :func:`get` reads each form back.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .registry import INITIALIZERS, Registrable, register
from .rng import as_generator

__all__ = [
    "Initializer",
    "he_normal",
    "he_uniform",
    "xavier_uniform",
    "xavier_normal",
    "glorot_uniform",
    "glorot_normal",
    "zeros",
    "ones",
    "Normal",
    "get",
    "serialize",
]


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _as_shape(shape) -> tuple[int, ...]:
    """Normalize ``shape`` (an int or a sequence of ints) to a tuple of non-negative ints."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(f"shape must contain non-negative integers, got {shape!r}")
    return tuple(int(d) for d in dims)


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` (see the module docstring)."""
    if len(shape) == 0:
        raise ValueError("cannot compute fan_in/fan_out of a scalar shape (); "
                         "give the weight at least one axis")
    if len(shape) == 1:
        fan_in = fan_out = shape[0]
    else:
        fan_in, fan_out = math.prod(shape[:-1]), shape[-1]
    if fan_in == 0 or fan_out == 0:
        raise ValueError(f"cannot initialize a weight of shape {shape}: fan_in={fan_in}, "
                         f"fan_out={fan_out} (both must be positive)")
    return fan_in, fan_out


def _float_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"dtype must be a floating-point dtype, got {dt}")
    return dt


def _normal(shape, rng, dtype, std_fn) -> np.ndarray:
    shape = _as_shape(shape)
    return _scaled_normal(shape, rng, dtype, std_fn(*_fans(shape)))


def _scaled_normal(shape: tuple[int, ...], rng, dtype, std: float) -> np.ndarray:
    dt = _float_dtype(dtype)
    # Draw in float64 so the stream (and the values) do not depend on the requested dtype.
    return (as_generator(rng, "rng").standard_normal(shape) * std).astype(dt)


def _uniform(shape, rng, dtype, limit_fn) -> np.ndarray:
    shape = _as_shape(shape)
    dt = _float_dtype(dtype)
    limit = limit_fn(*_fans(shape))
    return as_generator(rng, "rng").uniform(-limit, limit, size=shape).astype(dt)


# ------------------------------------------------------------------------------------------------
# initializers
# ------------------------------------------------------------------------------------------------
def he_normal(shape, rng=None, dtype=np.float32) -> np.ndarray:
    """He (Kaiming) normal: ``W ~ N(0, std^2)`` with ``std = sqrt(2 / fan_in)``.

    Shape: ``shape`` (e.g. ``(in_features, out_features)``) -> array of that shape and ``dtype``.
    The default for ReLU networks.
    """
    return _normal(shape, rng, dtype, lambda fan_in, fan_out: math.sqrt(2.0 / fan_in))


def he_uniform(shape, rng=None, dtype=np.float32) -> np.ndarray:
    """He (Kaiming) uniform: ``W ~ U(-limit, limit)`` with ``limit = sqrt(6 / fan_in)``.

    Same variance as :func:`he_normal` (``limit^2 / 3 = 2 / fan_in``). Shape: ``shape`` -> array.
    """
    return _uniform(shape, rng, dtype, lambda fan_in, fan_out: math.sqrt(6.0 / fan_in))


def xavier_uniform(shape, rng=None, dtype=np.float32) -> np.ndarray:
    """Xavier/Glorot uniform: ``W ~ U(-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))``.

    Variance ``2 / (fan_in + fan_out)``. Shape: ``shape`` -> array. Suits tanh/sigmoid layers.
    """
    return _uniform(shape, rng, dtype,
                    lambda fan_in, fan_out: math.sqrt(6.0 / (fan_in + fan_out)))


def xavier_normal(shape, rng=None, dtype=np.float32) -> np.ndarray:
    """Xavier/Glorot normal: ``W ~ N(0, std^2)`` with ``std = sqrt(2 / (fan_in + fan_out))``.

    Shape: ``shape`` -> array of that shape and ``dtype``.
    """
    return _normal(shape, rng, dtype,
                   lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out)))


glorot_uniform = xavier_uniform
glorot_normal = xavier_normal


class Initializer(Registrable):
    """Base class of initializer objects: ``init(shape, rng=None, dtype=np.float32) ->
    ndarray``, like the initializer functions, plus :meth:`get_config` (Keras'
    ``keras.initializers.Initializer``).

    Use it for an initializer with settings (:class:`Normal` is one): every subclass registers
    itself, so a ``Dense(init=YourInitializer(...))`` is saved as ``{"class": key, "config":
    get_config()}`` and loads again wherever the class is defined. A plain function needs
    ``scratchnn.register`` instead.
    """

    __slots__ = ()
    _registry = INITIALIZERS

    def __call__(self, shape, rng=None, dtype=np.float32) -> np.ndarray:
        """A new array of ``shape`` and ``dtype`` drawn from ``rng`` (a Generator used
        directly, an int seed or ``None``)."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """The constructor arguments, as plain JSON values (default: none)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Normal(Initializer):
    """Gaussian initializer with a fixed std: ``W = std * randn(*shape)``, i.e.
    ``W ~ N(0, std^2)`` whatever the fans (CS231n's ``weight_scale * np.random.randn(D, H)``;
    PyTorch's ``nn.init.normal_(w, 0, std)``, Keras' ``RandomNormal(stddev=std)``).

    ``Normal(std)(shape, rng=None, dtype=np.float32) -> ndarray`` of ``shape`` and ``dtype``,
    drawn from ``rng`` (a Generator used directly, an int seed or None), so it is an
    initializer like the functions of this module: ``Dense(784, 100, init=Normal(std=1e-3))``.
    The name ``"normal"`` is ``Normal(std=0.01)`` (CS231n's default ``weight_scale``; note
    that Keras' ``"random_normal"`` uses 0.05). A fixed std does not adapt to the layer's size:
    too small and the activations of a deep net shrink layer after layer, too large and they
    grow; :func:`he_normal` sets it from ``fan_in`` instead.

    ``std`` is read-only after construction (``get("normal")`` returns a shared object).

    Raises
    ------
    TypeError
        if ``std`` is not a real number (bools included).
    ValueError
        if ``std`` is not positive and finite.
    """

    __slots__ = ("_std",)

    def __init__(self, std: float = 0.01):
        if isinstance(std, bool) or not isinstance(std, (int, float, np.integer, np.floating)):
            raise TypeError(f"Normal: std must be a real number, got {type(std).__name__} "
                            f"{std!r}")
        if not (math.isfinite(std) and std > 0):
            raise ValueError(f"Normal: std must be a positive finite number, got {std}")
        self._std = float(std)

    @property
    def std(self) -> float:
        """The standard deviation of every entry (a float)."""
        return self._std

    def __call__(self, shape, rng=None, dtype=np.float32) -> np.ndarray:
        return _scaled_normal(_as_shape(shape), rng, dtype, self._std)

    def get_config(self) -> dict:
        """``{"std": std}``."""
        return {"std": self._std}


def zeros(shape, rng=None, dtype=np.float32) -> np.ndarray:
    """All zeros (the usual bias initializer). ``rng`` is accepted for a uniform signature and
    ignored. Shape: ``shape`` -> array of that shape and ``dtype``."""
    return np.zeros(_as_shape(shape), dtype=dtype)


def ones(shape, rng=None, dtype=np.float32) -> np.ndarray:
    """All ones (e.g. a batch-norm scale). ``rng`` is ignored. Shape: ``shape`` -> array."""
    return np.ones(_as_shape(shape), dtype=dtype)


register(he_normal, aliases=("he", "he_normal"))
register(he_uniform, aliases=("he_uniform",))
register(xavier_uniform, aliases=("xavier", "xavier_uniform", "glorot", "glorot_uniform"))
register(xavier_normal, aliases=("xavier_normal", "glorot_normal"))
register(zeros, aliases=("zeros",))
register(ones, aliases=("ones",))
INITIALIZERS.add_alias("normal", Normal(std=0.01))


def get(identifier) -> Callable[..., np.ndarray]:
    """The initializer ``identifier`` stands for.

    * a name (case-insensitive): ``"he"`` (= ``"he_normal"``), ``"he_uniform"``, ``"xavier"``
      (= ``"xavier_uniform"``, like Keras' ``glorot_uniform`` default), ``"xavier_normal"``,
      ``"glorot"``/``"glorot_uniform"``, ``"glorot_normal"``, ``"normal"`` (a shared
      ``Normal(std=0.01)``), ``"zeros"``, ``"ones"``, or the key or alias of a function or
      :class:`Initializer` class you registered (a class is called with no arguments);
    * a description ``{"class": ..., "config": {...}}`` from :func:`serialize`: the object it
      describes;
    * an :class:`Initializer` class: a new instance with its defaults;
    * any other callable ``fn(shape, rng, dtype)``: returned unchanged.

    Raises
    ------
    ValueError
        for an unknown name, a bad description, or a value that is none of these; the
        message lists the valid names.
    """
    if isinstance(identifier, dict):
        return INITIALIZERS.deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    if not isinstance(identifier, str):
        raise ValueError(f"initializer must be a name or a callable fn(shape, rng, dtype), got "
                         f"{type(identifier).__name__}; valid names are: "
                         f"{INITIALIZERS.choices()}")
    found = INITIALIZERS.get(identifier)
    return found() if isinstance(found, type) else found


def serialize(initializer):
    """How a saved model records ``initializer`` (JSON-ready), for :func:`get` to read back.

    A name is kept as given (``"he"``); a registered function gives its key (``"he_normal"``,
    ``"mymodule.my_init"``); an :class:`Initializer` object gives
    ``{"class": key, "config": obj.get_config()}`` (``Normal(0.05)`` ->
    ``{"class": "Normal", "config": {"std": 0.05}}``).

    Raises ``TypeError`` for anything else (a function that is not registered, a lambda, a
    callable object that is not an :class:`Initializer`): it could not be loaded again, so
    register the function with ``scratchnn.register`` or subclass :class:`Initializer`.
    """
    if isinstance(initializer, str):
        return initializer
    if isinstance(initializer, Initializer):
        return INITIALIZERS.serialize(initializer)
    try:
        return INITIALIZERS.key_of(initializer)
    except TypeError:
        raise TypeError(f"cannot save the initializer {initializer!r}: register the function "
                        f"with scratchnn.register (or subclass scratchnn.init.Initializer and "
                        f"define get_config), or pass a name") from None
