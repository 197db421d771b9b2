"""Names for classes and functions: what ``get(name)`` and ``load_model`` look up.

A saved model names each of its layers, its loss, its optimizer, a schedule and an
initializer by a string (``{"class": "Dense", "config": {...}}``), and ``losses.get("mse")``,
``init.get("he")`` or ``compile(optimizer="adam")`` take a string too. Every such string is
resolved here, in one :class:`Registry` per kind: :data:`LAYERS`, :data:`LOSSES`,
:data:`OPTIMIZERS`, :data:`SCHEDULES`, :data:`INITIALIZERS` and :data:`MODELS`.

Each registry holds two kinds of names:

* a **key** per class or function: the name written in files and read back. Built-ins use
  their class or function name (``"Dense"``, ``"Adam"``, ``"he_normal"``), the names the files
  of format versions 1 and 2 contain. Anything else gets ``"<module>.<qualified name>"``
  (``"__main__.Scale"``, ``"mylib.layers.Scale"``), so a class of yours never takes the name
  of a built-in, even when both are called ``Dense``;
* **aliases**: short names for ``get`` (``"relu"``, ``"cross_entropy"``,
  ``"categorical_crossentropy"``, ``"he"``), which never appear in files.

**Registration is automatic for classes.** Every subclass of :class:`scratchnn.core.Layer`,
:class:`scratchnn.losses.Loss`, :class:`scratchnn.optimizers.Optimizer`,
:class:`scratchnn.schedules.Schedule` and :class:`scratchnn.init.Initializer` registers itself
under its key when its ``class`` statement runs (``__init_subclass__`` of
:class:`Registrable`). So a custom layer is saved like a built-in one, and loads again in any
process that has defined or imported its class first (``load_model`` never imports modules or
unpickles anything: it only builds registered classes). Initializer *functions* are registered
with :func:`register`, which also gives any class or function a stable key of your choice
(Keras' ``register_keras_serializable(package, name)``) and aliases for ``get``.

**Redefinition.** Running a ``class`` statement again (re-running a notebook cell) replaces
the earlier class under the same key: the same module and qualified name mean the same
definition. A name already taken by another class or function (a built-in's name or alias
included) raises ``ValueError``: nothing silently shadows anything.
"""

from __future__ import annotations

import inspect
import types
from typing import Callable, ClassVar

__all__ = ["Registry", "Registrable", "register", "LAYERS", "LOSSES", "OPTIMIZERS",
           "SCHEDULES", "INITIALIZERS", "MODELS"]


def _origin(obj) -> str:
    """``"module.QualName"`` of a class or function (of the class of any other object): two
    objects of the same origin are two runs of the same definition."""
    target = obj if isinstance(obj, (type, types.FunctionType)) else type(obj)
    return f"{target.__module__}.{target.__qualname__}"


def default_key(obj) -> str:
    """The key a class or function gets unless :func:`register` names it: its ``__name__``
    for the built-ins of ``scratchnn``, ``"<module>.<qualified name>"`` for anything else."""
    module = obj.__module__ or ""
    if module == "scratchnn" or module.startswith("scratchnn."):
        return obj.__name__
    return f"{module}.{obj.__qualname__}"


class Registry:
    """The names of one kind of object (``kind``: ``"layer"``, ``"loss"``, ...).

    ``fold_case=True`` makes aliases case-insensitive and blind to surrounding spaces
    (initializers: ``init.get(" He_Normal ")``); keys are always matched exactly.
    """

    def __init__(self, kind: str, fold_case: bool = False):
        self.kind = kind
        self._fold_case = fold_case
        self._by_key: dict[str, object] = {}    # key -> class or function
        self._aliases: dict[str, object] = {}   # alias -> class, function or instance
        self._key_of: dict[object, str] = {}    # class or function -> its key

    def _fold(self, name: str) -> str:
        return name.strip().lower() if self._fold_case else name

    # -- registration -------------------------------------------------------------------------
    def add(self, obj, name: str | None = None, aliases=()):
        """Register the class or function ``obj`` under ``name`` (default: the key it has, or
        :func:`default_key`) and under each of ``aliases``; return ``obj``.

        A name held by an object of the same origin (an earlier run of the same definition)
        is taken over. Raises ``ValueError`` if a name is empty or held by another class or
        function, ``TypeError`` if ``obj`` is neither a class nor a function.
        """
        if not isinstance(obj, (type, types.FunctionType)):
            raise TypeError(f"register: a {self.kind} must be registered as a class or a "
                            f"function, got {type(obj).__name__} {obj!r}")
        if name is None:
            name = self._key_of.get(obj)
        if name is None:
            if obj.__name__ == "<lambda>":
                raise ValueError("register: give the lambda a name, register(fn, name=...), "
                                 "or define it with def")
            name = default_key(obj)
        for n in (name, *aliases):
            if not isinstance(n, str) or not n.strip():
                raise ValueError(f"register: a {self.kind} name must be a non-empty string, "
                                 f"got {n!r}")
        self._claim(name, obj)
        for alias in aliases:
            self._claim(alias, obj)
        old = self._key_of.get(obj)
        if old is not None and old != name and self._by_key.get(old) is obj:
            del self._by_key[old]  # renamed by register(name=...): the default key goes
        self._by_key[name] = obj
        for alias in aliases:
            self._aliases[self._fold(alias)] = obj
        self._key_of[obj] = name
        return obj

    def add_alias(self, alias: str, target) -> None:
        """Make ``get(alias)`` return ``target`` as it is (e.g. a shared initializer object)."""
        self._claim(alias, target)
        self._aliases[self._fold(alias)] = target

    def _claim(self, name: str, obj) -> None:
        """``ValueError`` if ``name`` is held, as a key or an alias, by an object of another
        origin than ``obj``."""
        for holder in (self._by_key.get(name), self._aliases.get(self._fold(name))):
            if holder is not None and holder is not obj and _origin(holder) != _origin(obj):
                raise ValueError(
                    f"register: the {self.kind} name {name!r} is taken by {_origin(holder)}; "
                    f"{_origin(obj)} needs another one (register(..., name=...))")

    # -- lookup -------------------------------------------------------------------------------
    def find_key(self, obj) -> str | None:
        """The key of ``obj`` if it is registered, else None (see :meth:`key_of`)."""
        return self._key_of.get(obj)

    def key_of(self, obj) -> str:
        """The key of a registered class or function (what a file records).

        Raises ``TypeError`` naming ``obj`` when it is not registered."""
        key = self.find_key(obj)
        if key is None:
            raise TypeError(
                f"{_origin(obj)} is not a registered {self.kind}: subclass the {self.kind} "
                f"base class (its subclasses register themselves) or call "
                f"scratchnn.register on it")
        return key

    def keys(self) -> list[str]:
        """Every key, sorted."""
        return sorted(self._by_key)

    def choices(self, accept: Callable[[object], bool] | None = None) -> list[str]:
        """The names to offer in an error message: the aliases, and the keys of what has no
        alias; only of objects for which ``accept`` is true."""
        ok = accept or (lambda obj: True)
        aliased = {id(obj) for obj in self._aliases.values()}
        names = {alias for alias, obj in self._aliases.items() if ok(obj)}
        names |= {key for key, obj in self._by_key.items()
                  if ok(obj) and id(obj) not in aliased and self._fold(key) not in self._aliases}
        return sorted(names)

    def get(self, name, what: str | None = None, accept=None):
        """The object an alias or key names (aliases first), for ``get``-style functions.

        ``accept(obj)`` narrows the kind (e.g. activations among the layers). Raises
        ``ValueError("unknown <what> <name>; choose one of [...]")`` otherwise."""
        found = None
        if isinstance(name, str):
            found = self._aliases.get(self._fold(name), self._by_key.get(name))
        if found is None or (accept is not None and not accept(found)):
            raise ValueError(f"unknown {what or self.kind} {name!r}; choose one of "
                             f"{self.choices(accept)}")
        return found

    # -- descriptions (saving and loading) ----------------------------------------------------
    def serialize(self, obj) -> dict:
        """``{"class": key, "config": obj.get_config()}``, the description a file holds.

        Raises ``TypeError`` if the class is not registered or if its constructor cannot take
        ``get_config()``'s result (e.g. a custom class whose ``__init__`` has arguments but
        that does not override ``get_config``): better now than when loading."""
        cls = type(obj)
        key = self.key_of(cls)
        config = obj.get_config()
        if not isinstance(config, dict):
            raise TypeError(f"{cls.__name__}.get_config() must return a dict, got "
                            f"{type(config).__name__}")
        try:
            inspect.signature(cls).bind(**config)
        except TypeError as exc:
            raise TypeError(
                f"{cls.__name__}.get_config() returns {config!r}, which {cls.__name__}(...) "
                f"cannot take ({exc}): get_config must return the constructor's arguments"
            ) from None
        return {"class": key, "config": config}

    def deserialize(self, spec):
        """The object a :meth:`serialize` description ``{"class": key, "config": {...}}``
        describes, built as ``cls(**config)``; only registered classes are ever built.

        Raises ``ValueError`` for a malformed description ("unknown or malformed <kind>
        entry"), a key that is not registered (naming it and how to register it) or a config
        the constructor rejects ("bad <kind> config")."""
        if not isinstance(spec, dict) or not isinstance(spec.get("class"), str) \
                or not isinstance(spec.get("config", {}), dict):
            raise ValueError(f"unknown or malformed {self.kind} entry {spec!r}")
        key = spec["class"]
        cls = self._by_key.get(key)
        if not isinstance(cls, type):
            raise ValueError(f"unknown or malformed {self.kind} entry {spec!r}: "
                             f"{self._unknown_key(key)}")
        try:
            return cls(**spec.get("config", {}))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad {self.kind} config {spec!r} ({exc})") from None

    def _unknown_key(self, key: str) -> str:
        """Why ``key`` cannot be built, and what to do about it."""
        short = key.rsplit(".", 1)[-1]
        similar = [k for k in self._by_key if k != key and k.rsplit(".", 1)[-1] == short]
        hint = f" (registered under another name: {sorted(similar)})" if similar else ""
        return (f"no {self.kind} class {key!r} is registered{hint}. A {self.kind} class of "
                f"your own registers itself when its class statement runs: define or import "
                f"it before loading, or register it under the saved name with "
                f"scratchnn.register(YourClass, name={key!r}). Registered: {self.keys()}")

    def __contains__(self, name) -> bool:
        return name in self._by_key or (isinstance(name, str)
                                        and self._fold(name) in self._aliases)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, keys={self.keys()})"


LAYERS = Registry("layer")
LOSSES = Registry("loss")
OPTIMIZERS = Registry("optimizer")
SCHEDULES = Registry("schedule")
INITIALIZERS = Registry("initializer", fold_case=True)
#: Metric functions ``fn(y_true, y_pred) -> float`` for ``compile(metrics=[...])``.
METRICS = Registry("metric")
#: Model classes; ``load_model`` builds its model from here (so it needs no import of
#: ``scratchnn.model``, which imports the saving code).
MODELS = Registry("model")


class Registrable:
    """Mixin of the base classes whose subclasses register themselves.

    A base class sets ``_registry`` in its own body (``Layer._registry = LAYERS``); each of
    its subclasses is then added to that registry when it is created. ``class
    Helper(Layer, register=False)`` keeps an abstract helper class out of it (its own
    subclasses register as usual).
    """

    __slots__ = ()
    _registry: ClassVar[Registry]

    def __init_subclass__(cls, register: bool = True, **kwargs):
        super().__init_subclass__(**kwargs)
        if register and "_registry" not in cls.__dict__:
            cls._registry.add(cls)


def register(obj=None, *, name: str | None = None, aliases=(), kind: str = "initializer"):
    """Register a class or an initializer function, as a decorator or a call.

    ``@register`` / ``register(obj)``: a function becomes an initializer known by its key
    (``"<module>.<name>"``), so a ``Dense(init=fn)`` can be saved and loaded. ``name=`` gives
    the key to write in files instead, stable across modules (``"my_project>Scale"``, in
    the manner of Keras' ``register_keras_serializable(package, name)``); ``aliases`` adds
    short names for ``get`` (``compile(loss="focal")``, ``init.get("my_init")``). Classes
    register themselves already: call this on a class only to name it or to add aliases.

    The registry is chosen by the base class (a :class:`Layer`, :class:`Loss`,
    :class:`Optimizer`, :class:`Schedule` or :class:`Initializer` subclass); a plain function
    is an initializer ``fn(shape, rng=None, dtype=np.float32) -> ndarray``, or with
    ``kind="metric"`` a metric ``fn(y_true, y_pred) -> float`` that a saved model compiled
    with it can name (``compile(metrics=[fn])``). Returns ``obj``.

    Raises ``TypeError`` for anything else, ``ValueError`` for a name already taken by
    another class or function (built-ins included).
    """

    def add(target):
        if isinstance(target, type) and issubclass(target, Registrable) \
                and "_registry" not in target.__dict__:
            target._registry.add(target, name=name, aliases=aliases)
        elif isinstance(target, types.FunctionType):
            if kind not in ("initializer", "metric"):
                raise ValueError(f"register: kind must be 'initializer' or 'metric', got "
                                 f"{kind!r}")
            registry = METRICS if kind == "metric" else INITIALIZERS
            registry.add(target, name=name, aliases=aliases)
        else:
            raise TypeError(
                f"register: expected a subclass of Layer, Loss, Optimizer, Schedule or "
                f"Initializer, or an initializer function, got {target!r}")
        return target

    return add if obj is None else add(obj)
