"""Loss objects: ``loss.forward(pred, target) -> float`` (mean over the batch), then
``loss.backward() -> dL/dpred`` (same shape as ``pred``). Thin wrappers over
:mod:`scratchnn.functional`, which holds the formulas.
"""

from __future__ import annotations

import numpy as np

from . import _fused
from . import activations as A
from . import functional as F
from .registry import LOSSES, Registrable, register

__all__ = ["Loss", "MSE", "MAE", "Huber", "CrossEntropy", "BinaryCrossEntropy", "get"]


class Loss(Registrable):
    """Base class. Subclasses set ``_loss_fn`` and ``_grad_fn`` ``(pred, target, **kw)``
    (or override :meth:`forward` and :meth:`backward`).

    Every subclass registers itself in :data:`scratchnn.registry.LOSSES` when it is defined,
    so a model compiled with it can be saved and loaded (where the class is defined or
    imported): :meth:`get_config` must return the constructor's arguments.
    """

    _registry = LOSSES

    _loss_fn = None
    _grad_fn = None

    def __init__(self):
        self._pred = None
        self._target = None
        self._backward_cache = None  # what a fast forward kept for backward (see below)

    def _kwargs(self) -> dict:
        return {}

    def get_config(self) -> dict:
        """The constructor arguments (JSON values); by default those of ``_kwargs()``."""
        return self._kwargs()

    def forward(self, pred, target) -> float:
        """Compute the loss and remember ``pred`` and ``target`` for :meth:`backward`.

        ``target`` is first passed through :meth:`prepare_target`, so a loss called directly
        accepts the same targets as ``fit`` (e.g. ``(N,)`` labels for ``(N, 1)`` outputs)."""
        pred = np.asarray(pred)
        if pred.ndim == 2:
            target = self.prepare_target(np.asarray(target), pred.shape[1])
        return self._compute(pred, target)

    __call__ = forward

    def _compute(self, pred, target) -> float:
        self._pred, self._target, self._backward_cache = pred, target, None
        return self._loss_fn(pred, target, **self._kwargs())

    def forward_prepared(self, pred, target) -> float:
        """:meth:`forward` for targets that :meth:`prepare_target` returned and predictions
        of the model's float dtype, as ``Sequential`` passes them: built-in losses skip
        validating them again and may keep intermediate results for :meth:`backward`.
        A subclass that overrides only :meth:`forward` gets its ``forward`` called here."""
        if type(self).forward is not Loss.forward:
            return self.forward(pred, target)
        return self._compute(pred, target)

    def backward(self) -> np.ndarray:
        """dL/dpred for the last :meth:`forward` call, shape of ``pred``."""
        if self._pred is None:
            raise RuntimeError(f"{type(self).__name__}: backward() called before forward()")
        if self._backward_cache is not None:  # used once: a second call recomputes
            cache, self._backward_cache = self._backward_cache, None
            return self._fast_backward(cache)
        grad = self._grad_fn(self._pred, self._target, **self._kwargs())
        return grad.astype(self._pred.dtype, copy=False)

    def per_sample(self, pred, target) -> np.ndarray:
        """The loss of each sample, ``(N,)``, whose mean is :meth:`forward`'s value, for
        weighted training (``fit(sample_weight=..., class_weight=...)``): the model weights
        these values and the rows of :meth:`backward`'s gradient. Built-in losses compute
        them with their function's ``reduction="none"``; a loss of yours that should
        support weights implements this method. Raises ``NotImplementedError`` otherwise."""
        try:
            return self._loss_fn(pred, target, reduction="none", **self._kwargs())
        except TypeError:  # no _loss_fn, or one without reduction
            raise NotImplementedError(
                f"{type(self).__name__} cannot weight samples: sample_weight and "
                f"class_weight need per-sample losses; implement "
                f"{type(self).__name__}.per_sample(pred, target) -> (N,) array whose mean "
                f"is the loss") from None

    def prepare_target(self, y, n_outputs: int):
        """Validate targets for a model with ``n_outputs`` outputs; return them ready to use.

        The target contract, for built-in and custom losses alike: ``Sequential`` passes a
        loss the targets this method returns. The base version turns ``(N,)`` targets into
        ``(N, 1)`` for a one-output model, so ``pred`` and ``target`` have the same shape
        (Keras does the same); any other shape is passed on unchanged. Override it to
        validate or convert targets (class labels, one-hot) for your own loss."""
        y = np.asarray(y)
        if y.ndim == 1 and n_outputs == 1:
            y = y.reshape(-1, 1)
        return y

    def check_output_layer(self, layer) -> None:
        """Raise ``ValueError`` if a model whose last layer is ``layer`` cannot be trained
        correctly with this loss (see :class:`CrossEntropy`); the base class accepts any."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _RegressionLoss(Loss, register=False):
    """A loss between predictions and targets of the same shape (a regression)."""


@register(aliases=("mse", "mean_squared_error"))
class MSE(_RegressionLoss):
    """Mean squared error ``mean((pred - target)**2)``; targets shaped like ``pred``."""

    _loss_fn = staticmethod(F.mse)
    _grad_fn = staticmethod(F.mse_backward)


@register(aliases=("mae", "mean_absolute_error", "l1"))
class MAE(_RegressionLoss):
    """Mean absolute error ``mean(|pred - target|)`` (PyTorch's ``L1Loss``); targets shaped
    like ``pred``. Less sensitive to outliers than :class:`MSE`; its gradient has the same
    size for every error (``sign(d) / n``), so large errors do not dominate training."""

    _loss_fn = staticmethod(F.mae)
    _grad_fn = staticmethod(F.mae_backward)


@register(aliases=("huber",))
class Huber(_RegressionLoss):
    """Huber loss with threshold ``delta`` (default 1.0; PyTorch's ``HuberLoss``, Keras'
    ``Huber``): quadratic for errors below ``delta``, linear above, see
    :func:`scratchnn.functional.huber`. ``ValueError`` for ``delta <= 0``."""

    _loss_fn = staticmethod(F.huber)
    _grad_fn = staticmethod(F.huber_backward)

    def __init__(self, delta: float = 1.0):
        super().__init__()
        if not float(delta) > 0:
            raise ValueError(f"Huber: delta must be positive, got {delta}")
        self.delta = float(delta)

    def _kwargs(self):
        return {"delta": self.delta}


class _FromLogitsLoss(Loss, register=False):
    """A loss that takes either raw scores (``from_logits=True``) or probabilities.

    Subclasses name the activation that turns scores into the probabilities they expect
    (``_probability_layer``); :meth:`check_output_layer` refuses the two silent mix-ups."""

    _probability_layer = ""  # class name of the matching activation: "Softmax" / "Sigmoid"

    def __init__(self, from_logits: bool = True):
        super().__init__()
        self.from_logits = bool(from_logits)

    def _kwargs(self):
        return {"from_logits": self.from_logits}

    def check_output_layer(self, layer) -> None:
        """Refuse a last layer that contradicts ``from_logits``.

        With ``from_logits=True`` (the default, and what the string names such as
        ``"binary_crossentropy"`` give: unlike Keras, where they mean probabilities) the loss
        applies the sigmoid/softmax itself, so a final ``Sigmoid``/``Softmax`` would be
        applied twice: training still runs, and metrics silently report nonsense. With
        ``from_logits=False`` the model must end in the matching activation; a built-in
        layer that does not produce probabilities (``Dense``, ``ReLU``, ...) is refused.
        A custom last layer is trusted. Raises ``ValueError`` naming both fixes."""
        probabilities = (A.Sigmoid, A.Softmax)
        name = type(self).__name__
        kind = type(layer).__name__
        if self.from_logits and isinstance(layer, probabilities):
            raise ValueError(
                f"compile: the model ends in {kind} ({layer.name}) but {name} has "
                f"from_logits=True (the default, and what the name "
                f"{self._aliases_hint()} means here), so it would apply the "
                f"{kind.lower()} a second time and the metrics would be wrong. Either remove "
                f"the final {kind} layer (recommended: numerically stable) or compile with "
                f"{name}(from_logits=False).")
        builtin = type(layer).__module__.startswith("scratchnn.")
        if (not self.from_logits and builtin
                and type(layer).__name__ != self._probability_layer):
            raise ValueError(
                f"compile: {name}(from_logits=False) expects probabilities, but the model "
                f"ends in {kind} ({layer.name}), whose outputs are not. End the model in "
                f"{self._probability_layer}(), or use {name}() (from_logits=True) on the "
                f"raw scores.")

    def _aliases_hint(self) -> str:
        cls = type(self)
        return " / ".join(repr(a) for a in LOSSES.choices(accept=lambda obj: obj is cls))


@register(aliases=("cross_entropy", "categorical_crossentropy",
                   "sparse_categorical_crossentropy"))
class CrossEntropy(_FromLogitsLoss):
    """Categorical cross-entropy for ``(N, C)`` predictions and integer labels ``(N,)`` or
    one-hot targets ``(N, C)``. ``from_logits=True`` (the default, and the stable choice)
    expects raw scores and applies log-softmax internally.
    """

    _loss_fn = staticmethod(F.cross_entropy)
    _grad_fn = staticmethod(F.cross_entropy_backward)
    _probability_layer = "Softmax"

    def forward_prepared(self, pred, target):
        """From logits with integer labels, the softmax is computed once, in the forward
        pass, and reused by :meth:`backward` (``scratchnn._fused.softmax_cross_entropy``,
        the same values as :func:`~scratchnn.functional.cross_entropy`)."""
        if not self.from_logits or target.ndim != 1:
            return self.forward(pred, target)
        loss, probs = _fused.softmax_cross_entropy(pred, target)
        self._pred, self._target, self._backward_cache = pred, target, probs
        return loss

    def _fast_backward(self, probs):
        return _fused.softmax_cross_entropy_backward(probs, self._target)

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


@register(aliases=("binary_cross_entropy", "binary_crossentropy"))
class BinaryCrossEntropy(_FromLogitsLoss):
    """Binary cross-entropy for one output per sample; targets in {0, 1} (or [0, 1]).
    ``from_logits=True`` expects raw scores (stable softplus form).
    """

    _loss_fn = staticmethod(F.binary_cross_entropy)
    _grad_fn = staticmethod(F.binary_cross_entropy_backward)
    _probability_layer = "Sigmoid"

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


def get(loss) -> Loss:
    """A :class:`Loss`: an instance is returned unchanged; a name gives a new instance with
    the default arguments: ``"mse"``/``"mean_squared_error"``, ``"mae"``/
    ``"mean_absolute_error"``/``"l1"``, ``"huber"``, ``"cross_entropy"``/
    ``"categorical_crossentropy"``/``"sparse_categorical_crossentropy"`` (integer labels or
    one-hot rows, both accepted), ``"binary_cross_entropy"``/``"binary_crossentropy"`` (the
    cross-entropies with ``from_logits=True``), a class name (``"MSE"``) or the key or alias
    of a registered loss class of your own.

    Raises ``ValueError`` for anything else, listing the choices."""
    if isinstance(loss, Loss):
        return loss
    return LOSSES.get(loss, what="loss")()
