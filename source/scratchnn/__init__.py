"""scratchnn: neural networks from scratch, in pure NumPy.

Two levels: :mod:`scratchnn.functional` (pure forward/backward functions, the reference the
course's notebooks are graded against) and the classes built on it (``Sequential``, layers,
losses, optimizers, callbacks). Import as ``import scratchnn as snn``.
"""

from . import (
    activations,
    callbacks,
    data,
    datasets,
    functional,
    gradcheck,
    init,
    layers,
    losses,
    metrics,
    optimizers,
    plot,
    registry,
    rng,
    schedules,
)
from .core import Layer, Parameter
from .model import Sequential
from .registry import register
from .serialization import load_model, save_model

__version__ = "0.1.0"

__all__ = [
    "Sequential", "Layer", "Parameter", "load_model", "save_model", "register", "activations",
    "callbacks", "data", "datasets", "functional", "gradcheck", "init", "layers", "losses",
    "metrics", "optimizers", "plot", "registry", "rng", "schedules", "__version__",
]
