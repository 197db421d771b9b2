"""Random generators: the one place where a ``seed`` becomes an ``np.random.Generator``.

Everything random in ``scratchnn`` (weight initialization, dropout masks, shuffling, dataset
noise, splits, gradient-check projections) takes a ``seed`` that is an int, ``None`` or an
``np.random.Generator``, and turns it into a generator with :func:`as_generator`. NumPy's
global random state (``np.random.seed``, ``np.random.rand``) is never used.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_generator"]


def as_generator(seed=None, name: str = "seed") -> np.random.Generator:
    """The generator that ``seed`` stands for (NumPy's ``default_rng`` convention).

    * an ``np.random.Generator`` is returned **as is**, not copied: whoever passes one
      shares it, and each draw advances it (a ``Sequential`` hands its own to its layers);
    * an int gives ``np.random.default_rng(seed)``: the same int, the same numbers;
    * ``None`` gives a generator seeded from fresh OS entropy (a different run each time).

    ``name`` is how the caller calls the argument in the error message, e.g.
    ``"Dropout: seed"``. Raises ``TypeError`` for anything else (bools, floats, strings and
    arrays included: ``seed=True`` is a mistake, not the seed 1) and ``ValueError`` for a
    negative int.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"{name} must be a non-negative int, got {seed}")
        return np.random.default_rng(seed)
    raise TypeError(f"{name} must be an int, None or an np.random.Generator, got "
                    f"{type(seed).__name__} {seed!r}")
