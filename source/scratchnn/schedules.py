"""Learning-rate schedules: callables ``schedule(step) -> lr`` with ``step`` counted from 0.

Pass one as an optimizer's ``lr`` (then ``step`` is the number of updates done so far) or to
:class:`scratchnn.callbacks.LearningRateScheduler` (then ``step`` is the epoch).
"""

from __future__ import annotations

import math

__all__ = ["Schedule", "StepDecay", "ExponentialDecay", "CosineDecay", "LinearWarmup"]


def _positive(name: str, value) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


class Schedule:
    """Base class: subclasses implement ``__call__(step) -> float``."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

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


_BY_NAME = {cls.__name__: cls for cls in (StepDecay, ExponentialDecay, CosineDecay,
                                          LinearWarmup)}


def to_config(schedule: Schedule) -> dict:
    """A JSON-ready description ``{"class": ..., "config": {...}}`` of a schedule."""
    if type(schedule).__name__ not in _BY_NAME:
        raise TypeError(f"cannot describe {schedule!r}: only {sorted(_BY_NAME)} are known")
    config = {k: to_config(v) if isinstance(v, Schedule) else v for k, v in vars(schedule).items()}
    return {"class": type(schedule).__name__, "config": config}


def from_config(spec: dict) -> Schedule:
    """Rebuild a schedule from :func:`to_config`'s output (``ValueError`` if malformed)."""
    if not isinstance(spec, dict) or spec.get("class") not in _BY_NAME \
            or not isinstance(spec.get("config"), dict):
        raise ValueError(f"not a schedule description: {spec!r}")
    config = {k: from_config(v) if isinstance(v, dict) else v for k, v in spec["config"].items()}
    try:
        return _BY_NAME[spec["class"]](**config)
    except TypeError as exc:
        raise ValueError(f"bad schedule config {spec!r} ({exc})") from None
