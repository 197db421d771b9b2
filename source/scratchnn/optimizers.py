"""Optimizers: ``opt.step(params)`` updates each ``Parameter.value`` in place from its ``.grad``.

Every optimizer accepts

* ``lr``: a float, or a schedule from :mod:`scratchnn.schedules` (called with the step count);
* ``weight_decay``: L2 regularization added to the gradient, ``g <- g + weight_decay * w``
  (for :class:`AdamW` it is the *decoupled* decay instead);
* ``clip_norm``: if set, gradients are rescaled so that their global L2 norm over all
  parameters is at most ``clip_norm`` (applied before weight decay);
* ``exclude_from_weight_decay``: parameter names or patterns that get no weight decay, e.g.
  ``("b", "gamma", "beta")`` for every bias and batch-norm parameter, as is common practice
  with AdamW (see :meth:`Optimizer.decays`).

The update rules are the formulas of :mod:`scratchnn.functional` (the textbook forms); the
classes keep the state (one entry per parameter) and run the rules through their in-place
equivalents in ``scratchnn._fused``, which allocate nothing per step.

The state can be read and restored with :meth:`Optimizer.state_dict` and
:meth:`Optimizer.load_state_dict` (PyTorch's names), e.g. to resume an interrupted training run;
``Sequential.save(path, include_optimizer=True)`` stores it in the model file.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import numpy as np

from . import _fused, schedules
from . import functional as F
from .registry import OPTIMIZERS, Registrable, register

__all__ = ["Optimizer", "SGD", "Momentum", "RMSProp", "Adagrad", "Adam", "AdamW", "get"]


class Optimizer(Registrable):
    """Base class. Subclasses implement ``_update(param, grad, state, lr)``.

    Every subclass registers itself in :data:`scratchnn.registry.OPTIMIZERS` when it is
    defined, so a model compiled with it can be saved and loaded (where the class is defined
    or imported): :meth:`get_config` must return the constructor's arguments.

    Every ``_flush_every`` steps, state arrays (momenta, squared averages) have their
    vanishing entries set to zero (:func:`scratchnn.functional.flush_to_zero`): left alone
    they decay into the subnormal range, where arithmetic is many times slower.
    """

    _registry = OPTIMIZERS
    _decoupled_decay = False
    _flush_every = 8

    def __init__(self, lr=0.01, weight_decay: float = 0.0, clip_norm: float | None = None,
                 exclude_from_weight_decay=None):
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
        if isinstance(exclude_from_weight_decay, str):
            exclude_from_weight_decay = [exclude_from_weight_decay]
        exclude = [] if exclude_from_weight_decay is None else list(exclude_from_weight_decay)
        if not all(isinstance(e, str) and e for e in exclude):
            raise ValueError(f"{type(self).__name__}: exclude_from_weight_decay must be "
                             f"parameter names or patterns, got {exclude_from_weight_decay!r}")
        self.lr = lr
        self.weight_decay = float(weight_decay)
        self.clip_norm = clip_norm
        self.exclude_from_weight_decay = exclude
        self._rule_decay = self.weight_decay  # the decoupled decay the next _update applies
        self._decay_cache = None  # (group, mask of decayed entries), see _flat_step
        self.iterations = 0
        self.state: dict = {}
        self._flat_cache = None  # (group, flat state, per-parameter entries), see _flat_state

    def decays(self, param) -> bool:
        """Whether ``param`` gets weight decay: not when one of
        ``exclude_from_weight_decay`` equals the last part of its name (``"b"`` for
        ``"dense_0.b"``) or matches the whole name as a shell pattern (``"dense_2.*"``,
        ``"batchnorm_*"``); Keras' ``exclude_from_weight_decay`` and PyTorch's parameter
        groups serve the same purpose."""
        short = param.name.rsplit(".", 1)[-1]
        return not any(e == short or fnmatchcase(param.name, e)
                       for e in self.exclude_from_weight_decay)

    @property
    def current_lr(self) -> float:
        """The learning rate the next step will use."""
        return float(self.lr(self.iterations)) if callable(self.lr) else float(self.lr)

    def step(self, params) -> None:
        """Apply one update to every parameter that has a gradient.

        When ``params`` are a model's flattened parameters (:class:`~scratchnn.core.
        FlatParameters`, which ``Sequential`` sets up) and no ``clip_norm`` is set, the
        update runs once over the whole contiguous buffer, and the per-parameter state arrays
        are views of flat state arrays; otherwise parameter by parameter. Both give the same
        numbers (elementwise arithmetic in the same order).

        Raises ``ValueError`` if a gradient's shape differs from its parameter's.
        """
        params = [p for p in params if p.grad is not None]
        if not params:
            return
        lr = self.current_lr
        group = params[0]._flat
        if group is not None and self.clip_norm is None and group.intact(params):
            flat = self._flat_state(group)
            if flat is not None:
                self._flat_step(group, flat, lr)
                return
        grads = [p.grad for p in params]
        if self.clip_norm is not None:
            grads, _ = F.clip_grad_norm(grads, self.clip_norm)
        self.iterations += 1
        coupled_decay = self.weight_decay if not self._decoupled_decay else 0.0
        flush = self.iterations % self._flush_every == 0
        for p, g in zip(params, grads, strict=True):
            value = p.value
            self._check_grad(p, g)
            if g.dtype != value.dtype:
                g = g.astype(value.dtype)
            decays = not self.exclude_from_weight_decay or self.decays(p)
            if coupled_decay and decays:
                g = g + coupled_decay * value
            self._rule_decay = self.weight_decay if decays else 0.0
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = self._init_state(value)
                state["scratch"] = np.empty_like(value)  # temporaries of the update rule
            self._update(value, g, state, lr)
            if flush:
                for key, arr in state.items():
                    if key != "scratch" and isinstance(arr, np.ndarray):
                        F.flush_to_zero(arr, scratch=state["scratch"])

    def _check_grad(self, p, g) -> None:
        if g.shape != p.value.shape:
            raise ValueError(f"{type(self).__name__}: gradient of {p.name} has shape "
                             f"{g.shape} but the parameter has shape {p.value.shape}")

    def _flat_state(self, group) -> dict | None:
        """The state of ``group``'s parameters as flat arrays (the per-parameter entries of
        ``self.state`` are views of them); built on first use, rebuilt after
        :meth:`load_state_dict`. ``None`` when the parameters' counters disagree (e.g. Adam's
        ``t`` when only some parameters were stepped before): those go parameter by
        parameter."""
        cached = self._flat_cache
        if cached is not None and cached[0] is group and all(
                self.state.get(p) is entry for p, entry in zip(group.params, cached[2],
                                                               strict=True)):
            return cached[1]
        flat = self._init_state(group.values)
        flat["scratch"] = np.empty_like(group.values)
        existing = [self.state.get(p) for p in group.params]
        for key, value in flat.items():
            if not isinstance(value, np.ndarray):
                counts = {entry[key] if entry is not None else value for entry in existing}
                if len(counts) > 1:
                    return None
                flat[key] = counts.pop()
        entries, start = [], 0
        for p, old in zip(group.params, existing, strict=True):
            stop = start + p.value.size
            entry = {key: value[start:stop].reshape(p.value.shape)
                     if isinstance(value, np.ndarray) else value
                     for key, value in flat.items()}
            if old is not None:
                for key, value in old.items():
                    if key != "scratch" and isinstance(value, np.ndarray):
                        entry[key][...] = value
            self.state[p] = entry
            entries.append(entry)
            start = stop
        self._flat_cache = (group, flat, tuple(entries))
        return flat

    def _flat_step(self, group, flat: dict, lr: float) -> None:
        """One update of every parameter of ``group`` at once (see :meth:`step`)."""
        for p, view in zip(group.params, group.grad_views, strict=True):
            if p.grad is not view:  # written by a layer that does not use grad_buffer()
                self._check_grad(p, p.grad)
                np.copyto(view, p.grad, casting="same_kind")
        self.iterations += 1
        grads = group.grads
        self._rule_decay = self.weight_decay
        if self.weight_decay and self.exclude_from_weight_decay:
            # a mask of the decayed entries; the same float32/float64 products as the
            # per-parameter path (0 * w + g is g), so both paths stay bit-identical
            mask = self._decay_mask(group)
            if self._decoupled_decay:
                factor = np.where(mask, group.values.dtype.type(1 - lr * self.weight_decay), 1)
                group.values *= factor
                self._rule_decay = 0.0
            else:
                grads = grads + np.where(mask, group.values.dtype.type(self.weight_decay), 0) \
                    * group.values
        elif self.weight_decay and not self._decoupled_decay:
            grads = grads + self.weight_decay * group.values
        self._update(group.values, grads, flat, lr)
        counters = [key for key, value in flat.items() if not isinstance(value, np.ndarray)]
        for entry in self._flat_cache[2]:
            for key in counters:
                entry[key] = flat[key]
        if self.iterations % self._flush_every == 0:
            for key, arr in flat.items():
                if key != "scratch" and isinstance(arr, np.ndarray):
                    F.flush_to_zero(arr, scratch=flat["scratch"])

    def _decay_mask(self, group) -> np.ndarray:
        """Boolean mask over ``group``'s flat values: True where the parameter decays."""
        cached = self._decay_cache
        if cached is None or cached[0] is not group:
            mask = np.concatenate([np.full(p.value.size, self.decays(p))
                                   for p in group.params])
            self._decay_cache = cached = (group, mask)
        return cached[1]

    def zero_grad(self, params) -> None:
        """Forget the gradients of ``params``."""
        for p in params:
            p.grad = None

    def state_dict(self) -> dict:
        """A snapshot of the optimizer's state, to resume training later (PyTorch's name).

        Returns ``{"iterations": int, "state": {param_name: {key: value}}}``: ``iterations``
        is the number of steps taken (where an ``lr`` schedule is), and ``state`` has one
        entry per parameter stepped so far, keyed by ``Parameter.name`` (e.g.
        ``"dense_0.W"``), in the order first seen. Its values are copies: arrays shaped and
        typed like the parameter (``"velocity"`` for :class:`Momentum`, ``"sq_avg"`` for
        :class:`RMSProp`, ``"m"`` and ``"v"`` for :class:`Adam`/:class:`AdamW`) and ints
        (``"t"``, Adam's per-parameter step count for the bias correction); :class:`SGD`
        entries are empty. The update rules' temporaries are not state and not included.
        Unlike PyTorch's, the dict holds no hyperparameters: those are :meth:`get_config`.

        Raises ``ValueError`` if two stepped parameters share a name (the names key the
        state; a ``Sequential`` makes its names unique).
        """
        by_name = _unique_names((p for p in self.state), "state_dict", type(self).__name__)
        return {"iterations": self.iterations,
                "state": {name: {key: value.copy() if isinstance(value, np.ndarray) else value
                                 for key, value in self.state[p].items() if key != "scratch"}
                          for name, p in by_name.items()}}

    def load_state_dict(self, state_dict, params) -> None:
        """Restore a :meth:`state_dict` (PyTorch's name) for ``params``, the parameters it
        belongs to (e.g. ``model.parameters()``), matched by ``Parameter.name``.

        Every entry is checked before anything changes, so a bad dict leaves the optimizer as
        it was. Arrays are copied (the argument is never modified or kept) and cast to their
        parameter's dtype. The previous state is replaced; a parameter without an entry
        starts afresh at its next step, as one never stepped does.

        Raises ``ValueError`` naming the parameter and key when: the top-level keys are not
        ``iterations`` and ``state``; ``iterations`` or a count such as ``"t"`` is not a
        non-negative int; an entry names no parameter of ``params``; an entry's keys are not
        this optimizer's (e.g. :class:`Adam` state given to :class:`Momentum`); an array is
        not a float array of the parameter's shape; or two of ``params`` share a name.
        """
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise ValueError(f"{who}: state_dict must be a dict as state_dict() returns, got "
                             f"{type(state_dict).__name__}")
        _check_keys(state_dict, ("iterations", "state"), who)
        iterations = _count(state_dict["iterations"], f"{who}: iterations")
        entries = state_dict["state"]
        if not isinstance(entries, dict):
            raise ValueError(f"{who}: 'state' must be a dict {{param_name: {{key: value}}}}, "
                             f"got {type(entries).__name__}")
        by_name = _unique_names(params, "load_state_dict", type(self).__name__)
        unknown = [name for name in entries if name not in by_name]
        if unknown:
            raise ValueError(f"{who}: state for {unknown} but those are not among the "
                             f"parameters given ({sorted(by_name)})")
        state = {}
        for name, entry in entries.items():
            p = by_name[name]
            fresh = self._init_state(p.value)
            if not isinstance(entry, dict):
                raise ValueError(f"{who}: {name}: the entry must be a dict, got "
                                 f"{type(entry).__name__}")
            _check_keys(entry, fresh, f"{who}: {name}")
            for key, value in entry.items():
                where = f"{who}: {name}: {key!r}"
                if isinstance(fresh[key], np.ndarray):
                    fresh[key] = _state_array(value, p.value, where)
                else:
                    fresh[key] = _count(value, where)
            fresh["scratch"] = np.empty_like(p.value)
            state[p] = fresh
        self.state, self.iterations = state, iterations

    def _init_state(self, value) -> dict:
        return {}

    def _update(self, value, grad, state, lr) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        """Constructor arguments; a schedule ``lr`` is described by ``schedules.to_config``
        (raises ``TypeError`` for other callables, which cannot be described as data)."""
        lr = schedules.to_config(self.lr) if callable(self.lr) else self.lr
        config = {"lr": lr, "weight_decay": self.weight_decay, "clip_norm": self.clip_norm}
        if self.exclude_from_weight_decay:  # absent otherwise: files stay as they were
            config["exclude_from_weight_decay"] = list(self.exclude_from_weight_decay)
        return config

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config_safe().items())
        return f"{type(self).__name__}({args})"

    def get_config_safe(self) -> dict:
        try:
            return self.get_config()
        except TypeError:
            return {"lr": self.lr}


def _unique_names(params, who: str, cls: str) -> dict:
    """``{name: parameter}``; ``ValueError`` if two parameters share a name."""
    by_name = {}
    for p in params:
        if p.name in by_name:
            raise ValueError(f"{cls}.{who}: two parameters are named {p.name!r}; the names key "
                             f"the state, so they must be unique (Sequential makes them so)")
        by_name[p.name] = p
    return by_name


def _check_keys(given: dict, expected, where: str) -> None:
    """``ValueError`` listing the keys of ``given`` missing from or not in ``expected``."""
    missing = sorted(set(expected) - set(given))
    extra = sorted(map(str, set(given) - set(expected)))
    if missing or extra:
        raise ValueError(f"{where}: keys do not match (missing {missing}, unexpected {extra})")


def _count(value, where: str) -> int:
    """A non-negative int (bools and floats refused: a step count is whole)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{where} must be a non-negative int, got {value!r}")
    return int(value)


def _state_array(value, like: np.ndarray, where: str) -> np.ndarray:
    """A copy of ``value`` as a float array of ``like``'s shape and dtype."""
    arr = np.asarray(value)
    if arr.dtype.kind != "f":
        raise ValueError(f"{where} must be a float array, got dtype {arr.dtype}")
    if arr.shape != like.shape:
        raise ValueError(f"{where} has shape {arr.shape} but the parameter has shape "
                         f"{like.shape}")
    return arr.astype(like.dtype, copy=True)


@register(aliases=("sgd",))
class SGD(Optimizer):
    """Stochastic gradient descent: ``w <- w - lr g``."""

    def _update(self, value, grad, state, lr):
        _fused.sgd(value, grad, lr, state["scratch"])


@register(aliases=("momentum",))
class Momentum(Optimizer):
    """SGD with momentum ``beta``: ``v <- beta v + g``, ``w <- w - lr v``; with
    ``nesterov=True``: ``w <- w - lr (g + beta v)``.
    """

    def __init__(self, lr=0.01, beta: float = 0.9, nesterov: bool = False,
                 weight_decay: float = 0.0, clip_norm: float | None = None,
                 exclude_from_weight_decay=None):
        super().__init__(lr, weight_decay, clip_norm, exclude_from_weight_decay)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Momentum: beta must be in [0, 1), got {beta}")
        self.beta, self.nesterov = float(beta), bool(nesterov)

    def _init_state(self, value):
        return {"velocity": np.zeros_like(value)}

    def _update(self, value, grad, state, lr):
        rule = _fused.nesterov if self.nesterov else _fused.momentum
        rule(value, grad, state["velocity"], lr, self.beta, state["scratch"])

    def get_config(self):
        return {**super().get_config(), "beta": self.beta, "nesterov": self.nesterov}


@register(aliases=("rmsprop",))
class RMSProp(Optimizer):
    """RMSProp: ``s <- rho s + (1 - rho) g**2``, ``w <- w - lr g / (sqrt(s) + eps)``."""

    def __init__(self, lr=0.001, rho: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, clip_norm: float | None = None,
                 exclude_from_weight_decay=None):
        super().__init__(lr, weight_decay, clip_norm, exclude_from_weight_decay)
        self.rho, self.eps = float(rho), float(eps)

    def _init_state(self, value):
        return {"sq_avg": np.zeros_like(value)}

    def _update(self, value, grad, state, lr):
        _fused.rmsprop(value, grad, state["sq_avg"], lr, self.rho, self.eps, state["scratch"])

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "eps": self.eps}


@register(aliases=("adagrad",))
class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): ``s <- s + g**2``, ``w <- w - lr g / (sqrt(s) + eps)``;
    each weight's rate shrinks with its gradient history (PyTorch's defaults: ``lr=0.01``,
    ``eps=1e-10``; no learning-rate decay, initial accumulator 0). See
    :func:`scratchnn.functional.adagrad`."""

    def __init__(self, lr=0.01, eps: float = 1e-10, weight_decay: float = 0.0,
                 clip_norm: float | None = None, exclude_from_weight_decay=None):
        super().__init__(lr, weight_decay, clip_norm, exclude_from_weight_decay)
        if not float(eps) > 0:
            raise ValueError(f"Adagrad: eps must be positive, got {eps}")
        self.eps = float(eps)

    def _init_state(self, value):
        return {"sum_sq": np.zeros_like(value)}

    def _update(self, value, grad, state, lr):
        _fused.adagrad(value, grad, state["sum_sq"], lr, self.eps, state["scratch"])

    def get_config(self):
        return {**super().get_config(), "eps": self.eps}


@register(aliases=("adam",))
class Adam(Optimizer):
    """Adam with bias correction (see :func:`scratchnn.functional.adam` for the formula)."""

    _rule = staticmethod(_fused.adam)

    def __init__(self, lr=0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, clip_norm: float | None = None,
                 exclude_from_weight_decay=None):
        super().__init__(lr, weight_decay, clip_norm, exclude_from_weight_decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _init_state(self, value):
        return {"m": np.zeros_like(value), "v": np.zeros_like(value), "t": 0}

    def _extra(self) -> tuple:
        return ()

    def _update(self, value, grad, state, lr):
        state["t"] += 1
        self._rule(value, grad, state["m"], state["v"], state["t"], lr, self.beta1,
                   self.beta2, self.eps, *self._extra(), state["scratch"])

    def get_config(self):
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2,
                "eps": self.eps}


@register(aliases=("adamw",))
class AdamW(Adam):
    """Adam with decoupled weight decay: ``w <- w (1 - lr weight_decay)`` before each Adam step.
    Here ``weight_decay`` (default 0.01) never enters the gradient.
    """

    _rule = staticmethod(_fused.adamw)
    _decoupled_decay = True

    def __init__(self, lr=0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.01, clip_norm: float | None = None,
                 exclude_from_weight_decay=None):
        super().__init__(lr, beta1, beta2, eps, weight_decay, clip_norm,
                         exclude_from_weight_decay)

    def _extra(self):
        return (self._rule_decay,)


def get(optimizer) -> Optimizer:
    """An :class:`Optimizer`: an instance is returned unchanged; a name gives a new one with
    its defaults: ``"sgd"``, ``"momentum"``, ``"rmsprop"``, ``"adagrad"``, ``"adam"``,
    ``"adamw"``, a class
    name (``"Adam"``) or the key or alias of a registered optimizer class of your own.

    Raises ``ValueError`` for anything else, listing the choices."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    return OPTIMIZERS.get(optimizer, what="optimizer")()
