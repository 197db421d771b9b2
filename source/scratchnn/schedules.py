"""Learning-rate schedules: callables ``schedule(step) -> lr`` with ``step`` counted from 0.

Pass one as an optimizer's ``lr`` (then ``step`` is the number of updates done so far) or to
:class:`scratchnn.callbacks.LearningRateScheduler` (then ``step`` is the epoch).

A :class:`Schedule` is data as well as code: :func:`to_config` describes it as
``{"class": ..., "config": {...}}`` (how a saved optimizer records its ``lr``) and
:func:`from_config` rebuilds it. Every subclass registers itself for that, a schedule of your
own included; a plain function cannot be described.
"""

from __future__ import annotations

import math

from .registry import SCHEDULES, Registrable

__all__ = ["Schedule", "StepDecay", "ExponentialDecay", "CosineDecay", "LinearWarmup",
           "to_config", "from_config"]


def _positive(name: str, value) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


class Schedule(Registrable):
    """Base class: subclasses implement ``__call__(step) -> float``.

    Every subclass registers itself in :data:`scratchnn.registry.SCHEDULES` when it is
    defined, so an optimizer with it as ``lr`` can be saved and loaded. :meth:`get_config`
    must return the constructor's arguments; the default, the instance's attributes, suits a
    class that stores each argument under its own name (as the built-ins do).
    """

    _registry = SCHEDULES

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        """The constructor arguments: ``vars(self)``, a schedule among them described by
        :func:`to_config` (``LinearWarmup``'s ``after``)."""
        return {k: to_config(v) if isinstance(v, Schedule) else v for k, v in vars(self).items()}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class StepDecay(Schedule):
    """``lr = initial_lr * gamma ** floor(step / step_size)``."""

    def __init__(self, initial_lr: float, step_size: int, gamma: float = 0.1):
        _positive("StepDecay: initial_lr", initial_lr)
        _positive("StepDecay: step_size", step_size)
        self.initial_lr, self.step_size, self.gamma = float(initial_lr), int(step_size), gamma

    def __call__(self, step):
        return self.initial_lr * self.gamma ** (step // self.step_size)


class ExponentialDecay(Schedule):
    """``lr = initial_lr * decay_rate ** (step / decay_steps)`` (smooth)."""

    def __init__(self, initial_lr: float, decay_rate: float, decay_steps: int = 1):
        _positive("ExponentialDecay: initial_lr", initial_lr)
        _positive("ExponentialDecay: decay_rate", decay_rate)
        _positive("ExponentialDecay: decay_steps", decay_steps)
        self.initial_lr, self.decay_rate = float(initial_lr), float(decay_rate)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        return self.initial_lr * self.decay_rate ** (step / self.decay_steps)


class CosineDecay(Schedule):
    """Cosine annealing from ``initial_lr`` to ``min_lr`` over ``total_steps``, then flat:
    ``lr = min_lr + (initial_lr - min_lr) * (1 + cos(pi * min(step, T) / T)) / 2``.
    """

    def __init__(self, initial_lr: float, total_steps: int, min_lr: float = 0.0):
        _positive("CosineDecay: initial_lr", initial_lr)
        _positive("CosineDecay: total_steps", total_steps)
        self.initial_lr, self.total_steps, self.min_lr = float(initial_lr), int(total_steps), \
            float(min_lr)

    def __call__(self, step):
        progress = min(step, self.total_steps) / self.total_steps
        return self.min_lr + (self.initial_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi *
                                                                                   progress))


class LinearWarmup(Schedule):
    """Ramp linearly from ``start_factor * target(0)`` up to the ``after`` schedule over
    ``warmup_steps``, then follow ``after`` (shifted so it starts at its own step 0).
    ``after`` may be a float (constant) or another schedule.
    """

    def __init__(self, after, warmup_steps: int, start_factor: float = 0.0):
        _positive("LinearWarmup: warmup_steps", warmup_steps)
        if not 0.0 <= start_factor <= 1.0:
            raise ValueError(f"LinearWarmup: start_factor must be in [0, 1], got {start_factor}")
        self.after = after
        self.warmup_steps, self.start_factor = int(warmup_steps), float(start_factor)

    def _target(self, step):
        return float(self.after(step)) if callable(self.after) else float(self.after)

    def __call__(self, step):
        if step >= self.warmup_steps:
            return self._target(step - self.warmup_steps)
        frac = self.start_factor + (1 - self.start_factor) * step / self.warmup_steps
        return frac * self._target(0)


def to_config(schedule: Schedule) -> dict:
    """A JSON-ready description ``{"class": key, "config": schedule.get_config()}``.

    Raises ``TypeError`` for what is not a :class:`Schedule` (a function or lambda is code,
    not data) or a schedule whose ``get_config`` its constructor cannot take."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"cannot describe {schedule!r} as data: only schedules.Schedule "
                        f"subclasses can be saved (write the schedule as one)")
    return SCHEDULES.serialize(schedule)


def from_config(spec: dict) -> Schedule:
    """Rebuild a schedule from :func:`to_config`'s output; a nested description (a dict in
    the config) is rebuilt first. Raises ``ValueError`` for a malformed description, a class
    that is not registered or a config its constructor rejects."""
    if isinstance(spec, dict) and isinstance(spec.get("config"), dict):
        config = {k: from_config(v) if isinstance(v, dict) else v
                  for k, v in spec["config"].items()}
        spec = {**spec, "config": config}
    return SCHEDULES.deserialize(spec)
