"""Loss objects: ``loss.forward(pred, target) -> float`` (mean over the batch), then
``loss.backward() -> dL/dpred`` (same shape as ``pred``). Thin wrappers over
:mod:`scratchnn.functional`, which holds the formulas.
"""

from __future__ import annotations

import numpy as np

from . import functional as F

__all__ = ["Loss", "MSE", "CrossEntropy", "BinaryCrossEntropy", "get"]


class Loss:
    """Base class. Subclasses set ``_loss_fn`` and ``_grad_fn`` ``(pred, target, **kw)``."""

    _loss_fn = None
    _grad_fn = None

    def __init__(self):
        self._pred = None
        self._target = None

    def _kwargs(self) -> dict:
        return {}

    def get_config(self) -> dict:
        return self._kwargs()

    def forward(self, pred, target) -> float:
        """Compute the loss and remember ``pred`` and ``target`` for :meth:`backward`."""
        self._pred, self._target = pred, target
        return self._loss_fn(pred, target, **self._kwargs())

    __call__ = forward

    def backward(self) -> np.ndarray:
        """dL/dpred for the last :meth:`forward` call, shape of ``pred``."""
        if self._pred is None:
            raise RuntimeError(f"{type(self).__name__}: backward() called before forward()")
        grad = self._grad_fn(self._pred, self._target, **self._kwargs())
        return grad.astype(self._pred.dtype, copy=False)

    def prepare_target(self, y, n_outputs: int):
        """Validate targets for a model with ``n_outputs`` outputs; return them ready to use."""
        return y

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MSE(Loss):
    """Mean squared error ``mean((pred - target)**2)``; targets shaped like ``pred``."""

    _loss_fn = staticmethod(F.mse)
    _grad_fn = staticmethod(F.mse_backward)

    def prepare_target(self, y, n_outputs):
        y = np.asarray(y)
        if y.ndim == 1 and n_outputs == 1:
            y = y.reshape(-1, 1)
        return y


class _FromLogitsLoss(Loss):
    """A loss that takes either raw scores (``from_logits=True``) or probabilities."""

    def __init__(self, from_logits: bool = True):
        super().__init__()
        self.from_logits = bool(from_logits)

    def _kwargs(self):
        return {"from_logits": self.from_logits}


class CrossEntropy(_FromLogitsLoss):
    """Categorical cross-entropy for ``(N, C)`` predictions and integer labels ``(N,)`` or
    one-hot targets ``(N, C)``. ``from_logits=True`` (the default, and the stable choice)
    expects raw scores and applies log-softmax internally.
    """

    _loss_fn = staticmethod(F.cross_entropy)
    _grad_fn = staticmethod(F.cross_entropy_backward)

    def prepare_target(self, y, n_outputs):
        y = np.asarray(y)
        if y.ndim == 1:
            y = F.check_labels(y, n_outputs, "CrossEntropy")
        elif y.ndim != 2 or y.shape[1] != n_outputs:
            raise ValueError(
                f"CrossEntropy: targets of shape {y.shape} do not fit a model with {n_outputs} "
                f"outputs; use labels (N,) or one-hot (N, {n_outputs})"
            )
        return y


class BinaryCrossEntropy(_FromLogitsLoss):
    """Binary cross-entropy for one output per sample; targets in {0, 1} (or [0, 1]).
    ``from_logits=True`` expects raw scores (stable softplus form).
    """

    _loss_fn = staticmethod(F.binary_cross_entropy)
    _grad_fn = staticmethod(F.binary_cross_entropy_backward)

    def prepare_target(self, y, n_outputs):
        y = np.asarray(y)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.shape[1] != n_outputs:
            raise ValueError(f"BinaryCrossEntropy: targets of shape {y.shape} do not fit a "
                             f"model with {n_outputs} outputs")
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError("BinaryCrossEntropy: targets must lie in [0, 1], got values in "
                             f"[{y.min()}, {y.max()}]")
        return y


_BY_NAME = {
    "mse": MSE, "cross_entropy": CrossEntropy, "categorical_crossentropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy, "binary_crossentropy": BinaryCrossEntropy,
}


def get(loss) -> Loss:
    """A :class:`Loss` from an instance, or a name such as ``"cross_entropy"`` or ``"mse"``."""
    if isinstance(loss, Loss):
        return loss
    try:
        return _BY_NAME[loss]()
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(_BY_NAME)}") from None
