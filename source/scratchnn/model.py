"""``Sequential``: a stack of layers with a Keras-like training API."""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import callbacks as cbks
from . import functional as F
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from .activations import Sigmoid
from .core import Layer, declared, flatten_parameters
from .data import DataLoader
from .registry import METRICS, MODELS
from .rng import as_generator
from .serialization import save_model

__all__ = ["Sequential"]

_PREDICT_BATCH = 1024
_DEFAULT_METRICS = ("accuracy",)


def _as_float_input(x, dtype, who: str, name: str = "x") -> np.ndarray:
    """Validate an input batch and cast it to ``dtype`` (integers and bools are cast)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{who}: {name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{who}: {name} is empty (shape {arr.shape}); pass at least one sample")
    arr = arr.astype(dtype, copy=False)
    # A sum of squares is NaN or inf when an entry is (one pass, no (N, d) boolean
    # temporary; as a BLAS dot product it runs on every core); only then, or when finite
    # values overflowed it, is the array searched for the culprit.
    with np.errstate(over="ignore", invalid="ignore"):
        flat = arr.reshape(-1) if arr.flags.c_contiguous else None
        total = np.dot(flat, flat) if flat is not None and arr.dtype.kind == "f" else arr.sum()
    if not np.isfinite(total) and not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{who}: {name} of shape {arr.shape} contains NaN or inf "
                         f"(first at index {tuple(int(i) for i in bad)})")
    return arr


def _check_batch_size(batch_size, who: str) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size <= 0:
        raise ValueError(f"{who}: batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


class Sequential:
    """A model made of layers applied one after the other.

    Parameters
    ----------
    layers : list of Layer
        E.g. ``[Dense(2, 16), ReLU(), Dense(16, 3)]``. Consecutive sizes must agree: each
        layer's ``expected_input_features()`` is checked against what the layers before it
        output (``output_shape``), custom layers included.
    seed : int, Generator or None
        Seeds the model's own ``np.random.Generator`` (``self.rng``; a Generator is used as
        is), used for weight initialization, dropout masks and shuffling (no global random
        state).
    dtype : float32 (default) or float64
        Parameters, activations and gradients use this dtype; inputs are cast to it.

    Raises ``ValueError`` for no layers, repeated layer names or sizes that do not fit, and
    ``TypeError`` for an item that is not a ``Layer``, another dtype or a bad ``seed``.
    """

    def __init__(self, layers, seed=None, dtype=np.float32):
        self.layers: list[Layer] = list(layers)
        if not self.layers:
            raise ValueError("Sequential: pass at least one layer")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: item {i} is {type(layer).__name__}, not a Layer")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"Sequential: dtype must be float32 or float64, got {self.dtype}")
        self.seed = seed
        self.rng = as_generator(seed, "Sequential: seed")
        # the shape of one sample, learnt from the first batch when no layer declares its
        # input size (a CNN): it completes summary() and the size checks
        self._input_shape: tuple | None = None
        self._name_layers()
        self._check_sizes()
        for layer in self.layers:
            layer.build(self.rng, self.dtype)
        # Values and gradients in two contiguous buffers, so that an optimizer step is one
        # array operation per formula term, not one per parameter (a custom layer whose
        # parameters kept another dtype is simply not flattened).
        params = self.parameters()
        self._flat = (flatten_parameters(params)
                      if all(p.value.dtype == self.dtype for p in params) else None)
        self._plan_cache = None  # see _plan
        self.loss = self.optimizer = None
        self.metrics: list[str] = []
        self.stop_training = False
        self.history = None

    # -- structure ----------------------------------------------------------------------------
    def _name_layers(self) -> None:
        """Give unnamed layers unique names (``dense_0``, ``relu_1``...); explicit names stay."""
        explicit = [layer.name for layer in self.layers
                    if layer.name != type(layer).__name__.lower()]
        duplicates = sorted({n for n in explicit if explicit.count(n) > 1})
        if duplicates:
            raise ValueError(f"Sequential: layer names must be unique, repeated: {duplicates}")
        taken, counts = set(explicit), {}
        for layer in self.layers:
            base = type(layer).__name__.lower()
            if layer.name == base:
                while f"{base}_{counts.get(base, 0)}" in taken:
                    counts[base] = counts.get(base, 0) + 1
                layer.name = f"{base}_{counts.get(base, 0)}"
                taken.add(layer.name)
            for p in layer.parameters():
                p.name = f"{layer.name}.{p.name.rsplit('.', 1)[-1]}"

    def _output_shapes(self) -> list[tuple | None]:
        """Each layer's output shape (batch axis excluded; ``None`` when unknown), from
        :attr:`input_features` through every layer's ``output_shape``. Raises ``ValueError``
        where a layer's ``expected_input_features()`` differs from what reaches it."""
        n_in = self.input_features
        shape = self._input_shape if n_in is None else (n_in,)
        shapes = []
        for layer in self.layers:
            expected = layer.expected_input_features()
            if expected is not None and shape and shape[-1] != expected:
                raise ValueError(f"Sequential: {layer.name} expects {expected} input features "
                                 f"but the previous layer outputs {shape[-1]}")
            shape = layer.output_shape(shape)
            shape = None if shape is None else tuple(shape)
            shapes.append(shape)
        return shapes

    def _check_sizes(self) -> None:
        """``ValueError`` if consecutive layers' sizes do not fit (see :meth:`_output_shapes`)."""
        self._output_shapes()

    @property
    def input_features(self) -> int | None:
        """Number of input features the model expects: the ``expected_input_features()`` of
        the first layer that has one, unless a layer before it changes the shape (e.g. a
        leading ``Flatten``); ``None`` when unknown."""
        for layer in self.layers:
            n = layer.expected_input_features()
            if n is not None:
                return n
            if not layer.preserves_shape:  # e.g. Flatten: the input shape is not known
                return None
        return None

    @property
    def output_features(self) -> int | None:
        """Number of outputs: the last axis of the last layer's ``output_shape`` (``None``
        if unknown)."""
        shape = self._output_shapes()[-1]
        return shape[-1] if shape else None

    def parameters(self):
        """Every trainable :class:`~scratchnn.core.Parameter`, in layer order (W before b)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def _weight_slots(self) -> list[tuple[str, np.ndarray, object]]:
        """(name, array, setter) for every parameter then buffer, layer by layer."""
        slots = []
        for layer in self.layers:
            for p in layer.parameters():
                slots.append((p.name, p.value, None))
            for key, value in layer.buffers().items():
                slots.append((f"{layer.name}.{key}", value,
                              lambda v, layer=layer, key=key: layer.set_buffer(key, v)))
        return slots

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in Keras order: per Dense ``W (in, out)`` then ``b``; per
        BatchNorm ``gamma``, ``beta``, ``running_mean``, ``running_var``."""
        return [value.copy() for _, value, _ in self._weight_slots()]

    def set_weights(self, weights) -> None:
        """Load values in the order of :meth:`get_weights` (shapes must match). Parameters are
        overwritten in place, so optimizers keep tracking the same arrays."""
        slots = self._weight_slots()
        if len(weights) != len(slots):
            raise ValueError(f"set_weights: the model has {len(slots)} weight arrays, got "
                             f"{len(weights)}")
        for (name, value, setter), w in zip(slots, weights, strict=True):
            w = np.asarray(w)
            if w.shape != value.shape:
                raise ValueError(f"set_weights: {name} has shape {value.shape}, got {w.shape}")
            if setter is None:
                value[...] = w
            else:
                setter(w)

    def count_params(self) -> int:
        """Number of trainable values, the sizes of every :meth:`parameters` array summed."""
        return int(sum(p.value.size for p in self.parameters()))

    def summary(self, print_fn=print) -> str:
        """Print (and return) a table of layers, output shapes and parameter counts."""
        rows = [("Layer", "Type", "Output shape", "Params")]
        for layer, shape in zip(self.layers, self._output_shapes(), strict=True):
            n = sum(p.value.size for p in layer.parameters())
            shown = "(None, ?)" if shape is None else str((None, *shape))
            rows.append((layer.name, type(layer).__name__, shown, f"{n:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        line = "-" * (sum(widths) + 6)
        out = [line, "  ".join(c.ljust(w) for c, w in zip(rows[0], widths, strict=True)), line]
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows[1:]]
        out += [line, f"Total params: {self.count_params():,}  (dtype {self.dtype})", line]
        text = "\n".join(out)
        if print_fn is not None:
            print_fn(text)
        return text

    # -- computation --------------------------------------------------------------------------
    def forward(self, x, training: bool = False) -> np.ndarray:
        """Run every layer. Shape ``(N, in) -> (N, out)``. ``training`` turns on dropout and
        batch statistics; keep it False outside training."""
        out = np.asarray(x).astype(self.dtype, copy=False)
        overwrite = self._plan()[0]
        for layer, temporary in zip(self.layers, overwrite, strict=True):
            out = (layer._forward_overwrite(out, training) if temporary
                   else layer.forward(out, training=training))
        return out

    def _plan(self) -> tuple:
        """For the current layers: ``(forward_overwrite, backward_overwrite, first)``.
        ``forward_overwrite[i]``: layer i gets a temporary it may overwrite (the layer before
        returns new arrays and layer i can use them, see ``core.declared``); never the
        user's input. ``backward_overwrite[i]``: the same for the gradient from layer i + 1;
        never the gradient given to :meth:`backward`. ``first``: the index of the first
        layer with parameters. Cached until ``self.layers`` changes."""
        key = tuple(self.layers)
        if self._plan_cache is None or self._plan_cache[0] != key:
            layers = self.layers
            forward = [i > 0 and declared(layers[i - 1], "returns_new_output", "forward")
                       and declared(layer, "_forward_overwrite", "forward")
                       for i, layer in enumerate(layers)]
            backward = [i + 1 < len(layers)
                        and declared(layers[i + 1], "returns_new_grad", "backward")
                        and declared(layer, "_backward_overwrite", "backward")
                        for i, layer in enumerate(layers)]
            first = next((i for i, layer in enumerate(layers) if layer.parameters()),
                         len(layers))
            self._plan_cache = (key, (forward, backward, first))
        return self._plan_cache[1]

    __call__ = forward

    def backward(self, grad, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate dL/d(output); fills every ``Parameter.grad``; returns dL/dx, or
        ``None`` with ``input_grad=False`` (training needs no dL/dx: the first layer with
        parameters then skips that product, and the layers before it are not visited)."""
        _, overwrite, first = self._plan()
        if input_grad:
            first = 0
        for i in range(len(self.layers) - 1, first, -1):
            layer = self.layers[i]
            grad = layer._backward_overwrite(grad) if overwrite[i] else layer.backward(grad)
        if not input_grad:
            if first < len(self.layers):
                self.layers[first].backward_params(grad)
            return None
        return self.layers[0].backward(grad)

    def compile(self, loss="cross_entropy", optimizer="adam", metrics=_DEFAULT_METRICS):
        """Choose the loss (a :mod:`~scratchnn.losses` object or name), the optimizer (object
        or name) and the metrics to report, each a name or a function
        ``fn(y_true, y_pred) -> float``: ``accuracy`` (``acc``), ``precision``, ``recall``,
        ``f1_score``, ``roc_auc``, ``mae``, ``rmse``, ``r2`` (see :mod:`scratchnn.metrics`).
        By default classification losses report accuracy and regression losses nothing but
        the loss. The logs name a metric by its name, a function by its ``__name__``; a model
        with a function metric saves only once the function is registered
        (``scratchnn.register(fn, kind="metric")``). Raises ``ValueError`` for an unknown
        metric and for combinations that cannot work (see the library reference)."""
        loss = losses_mod.get(loss)
        optimizer = optimizers_mod.get(optimizer)
        regression = isinstance(loss, losses_mod._RegressionLoss)
        if metrics is _DEFAULT_METRICS and regression:
            metrics = ()
        metrics = [metrics] if isinstance(metrics, str) or callable(metrics) \
            else list(metrics or [])
        specs = []
        for m in metrics:
            if callable(m):
                key = METRICS.find_key(m)
                name = m.__name__ if key is None else key.rsplit(".", 1)[-1]
                specs.append((name, m))
            else:
                fn = METRICS.get(m, what="metric")
                specs.append((METRICS.key_of(fn).rsplit(".", 1)[-1], fn))
        names = [name for name, _ in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"compile: metric names must be unique, got {names}")
        # Mismatches that would otherwise train without complaint and report wrong
        # metrics, or fail only after a whole epoch: refused here, before any work.
        last = self.layers[-1]
        loss.check_output_layer(last)
        classification = [m for m in names if m in metrics_mod.CLASSIFICATION]
        if (classification and regression and self.output_features == 1
                and not isinstance(last, Sigmoid)):
            raise ValueError(
                f"compile: {classification} are classification metrics, but the model has "
                f"one unbounded output trained with {type(loss).__name__} (a regression). "
                f"Use regression metrics (mae, rmse, r2), or a classification loss "
                f"(cross_entropy / binary_crossentropy) for classes.")
        self.loss, self.optimizer = loss, optimizer
        self.metrics, self._metric_fns = names, [fn for _, fn in specs]
        return self

    def _require_compiled(self, who: str) -> None:
        if self.loss is None:
            raise RuntimeError(f"{who}: call model.compile(loss=..., optimizer=...) first")

    def _prepare(self, x, y, who: str):
        x = _as_float_input(x, self.dtype, who)
        n_in = self.input_features
        if n_in is not None and (x.ndim != 2 or x.shape[1] != n_in):
            raise ValueError(f"{who}: the model expects x of shape (N, {n_in}) "
                             f"({self.layers[0].name}), got x of shape {x.shape}")
        if n_in is None and x.shape[1:] != self._input_shape:
            self._input_shape = tuple(x.shape[1:])
            try:  # sizes that do not fit this input are named before any work
                self._check_sizes()
            except ValueError as err:
                self._input_shape = None
                raise ValueError(f"{who}: for x of shape {x.shape}: {err}") from None
        if y is None:
            return x, None
        y_arr = np.asarray(y)
        if y_arr.ndim == 0 or y_arr.shape[0] != x.shape[0]:
            raise ValueError(f"{who}: x has {x.shape[0]} samples (shape {x.shape}) but y has "
                             f"shape {y_arr.shape}; they must have the same length")
        if y_arr.dtype.kind == "f" and not np.all(np.isfinite(y_arr)):
            raise ValueError(f"{who}: y of shape {y_arr.shape} contains NaN or inf")
        n_out = self.output_features
        y_arr = self.loss.prepare_target(y_arr, n_out) if n_out else y_arr
        if y_arr.dtype.kind == "f":
            y_arr = y_arr.astype(self.dtype, copy=False)
        self._check_metric_targets(y_arr, who)
        return x, y_arr

    def _check_metric_targets(self, y, who: str) -> None:
        """Classification metrics need labels or one-hot rows: say so before training, naming
        the metric, rather than fail at the end of the first epoch."""
        classification = [m for m in self.metrics if m in metrics_mod.CLASSIFICATION]
        if not classification or y.dtype.kind != "f":
            return
        try:
            metrics_mod._to_labels(y, "y", allow_probabilities=False)
        except ValueError as err:
            raise ValueError(
                f"{who}: the metric {classification[0]!r} needs class labels (N,) or one-hot "
                f"rows, but y of shape {y.shape} does not hold them ({err}). For a "
                f"regression, compile with metrics=[].") from None

    def _probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Outputs of a from-logits classifier as probabilities (softmax or sigmoid); any
        other model's outputs unchanged."""
        loss = self.loss
        if isinstance(loss, losses_mod.BinaryCrossEntropy) and loss.from_logits:
            return F.sigmoid(outputs)
        if isinstance(loss, losses_mod.CrossEntropy) and loss.from_logits:
            return F.softmax(outputs)
        return outputs

    def _compute_metrics(self, y, outputs) -> dict:
        if not np.all(np.isfinite(outputs)):  # a diverged model: report NaN, do not crash
            return {m: float("nan") for m in self.metrics}
        pred = self._probabilities(outputs)
        return {m: float(fn(y, pred))
                for m, fn in zip(self.metrics, self._metric_fns, strict=True)}

    def train_step(self, x, y, sample_weight=None) -> tuple[float, np.ndarray]:
        """One update on a batch: forward (training mode), loss, backward, optimizer step.
        With ``sample_weight (B,)`` the loss is ``mean_n(w_n l_n)`` (Keras' reduction: the
        weighted sum over the batch size) and its gradient row ``n`` is scaled by ``w_n``.
        Returns ``(loss, outputs)``."""
        outputs = self.forward(x, training=True)
        loss = self.loss.forward_prepared(outputs, y)
        grad = self.loss.backward()
        if np.shape(grad) != outputs.shape:  # a custom loss's bug, caught before the layers
            raise ValueError(
                f"train_step: {type(self.loss).__name__}.backward() returned a gradient of "
                f"shape {np.shape(grad)} for predictions of shape {outputs.shape} (targets "
                f"{np.shape(y)}); dL/dpred must have the predictions' shape")
        if sample_weight is not None:
            loss = float(np.mean(sample_weight * self.loss.per_sample(outputs, y)))
            grad = grad * sample_weight.reshape(-1, *(1,) * (grad.ndim - 1))
        self.backward(grad, input_grad=False)
        self.optimizer.step(self.parameters())
        return loss, outputs

    def _sample_weights(self, y, sample_weight, class_weight, who: str):
        """The per-sample weights ``(N,)`` in the model's dtype (``None`` without weights):
        ``sample_weight`` times ``class_weight[label]`` (Keras multiplies the two; a class
        missing from the dict weighs 1). ``ValueError`` naming the argument otherwise."""
        if sample_weight is None and class_weight is None:
            return None
        n = y.shape[0]
        weights = np.ones(n, dtype=np.float64)
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64)
            if sw.ndim == 2 and sw.shape[1] == 1:
                sw = sw[:, 0]
            if sw.shape != (n,):
                raise ValueError(f"{who}: sample_weight must have shape ({n},), one weight per "
                                 f"sample, got {np.shape(sample_weight)}")
            if not np.all(np.isfinite(sw)) or np.any(sw < 0):
                raise ValueError(f"{who}: sample_weight must be finite and >= 0")
            weights *= sw
        if class_weight is not None:
            if not isinstance(class_weight, dict):
                raise ValueError(f"{who}: class_weight must be a dict {{class: weight}}, got "
                                 f"{type(class_weight).__name__}")
            labels, _ = metrics_mod._to_labels(y, "y", allow_probabilities=False)
            n_classes = max(self.output_features or 1, 2)
            table = np.ones(n_classes)
            for key, value in class_weight.items():
                if isinstance(key, bool) or not isinstance(key, (int, np.integer)) \
                        or not 0 <= key < n_classes:
                    raise ValueError(f"{who}: class_weight key {key!r} is not a class of this "
                                     f"model (0..{n_classes - 1})")
                if not (math.isfinite(float(value)) and float(value) >= 0):
                    raise ValueError(f"{who}: class_weight[{key}] must be finite and >= 0, "
                                     f"got {value!r}")
                table[key] = float(value)
            weights *= table[labels]
        return weights.astype(self.dtype)

    def _batches_from(self, data, who: str):
        """Prepared ``(xb, yb, wb)`` from an iterable of ``(xb, yb)`` or ``(xb, yb, wb)``
        batches (a :class:`~scratchnn.data.DataLoader`, a list, ...), one pass."""
        for i, batch in enumerate(data):
            if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
                raise ValueError(f"{who}: batch {i} of x must be a pair (x_batch, y_batch) or "
                                 f"a triple with sample weights; got {type(batch).__name__}")
            xb, yb = self._prepare(batch[0], batch[1], f"{who} (batch {i})")
            wb = self._sample_weights(yb, batch[2] if len(batch) == 3 else None, None, who)
            yield xb, yb, wb

    def fit(self, x, y=None, epochs: int = 1, batch_size: int = 32, validation_data=None,
            validation_split: float = 0.0, shuffle: bool = True, callbacks=None,
            verbose: int = 1, sample_weight=None, class_weight=None, initial_epoch: int = 0):
        """Train for ``epochs`` passes over ``(x, y)``.

        ``x (N, features)``; ``y`` labels ``(N,)``, one-hot ``(N, C)`` or targets shaped like
        the output. ``validation_split`` holds out the *last* fraction of the data (taken
        before shuffling); ``validation_data=(x_val, y_val)`` (or ``(x_val, y_val, w_val)``)
        takes precedence. The last partial batch is kept. Shuffling uses the model's
        generator. ``verbose``: 0 silent, 1 progress bar, 2 one line per epoch.

        ``sample_weight (N,)`` and ``class_weight`` (``{class: weight}``, classes not in it
        weigh 1) weight each sample's loss; both multiply (Keras' rules; metrics stay
        unweighted). Instead of arrays, ``x`` may be a :class:`~scratchnn.data.DataLoader` or
        any re-iterable of ``(x_batch, y_batch[, w_batch])`` batches (``y`` omitted), iterated
        once per epoch; ``batch_size``, ``shuffle``, ``validation_split`` and the weight
        arguments then belong to the batches. Returns the
        :class:`~scratchnn.callbacks.History` (``.history`` has ``loss``, each metric,
        ``val_`` keys and ``lr``).

        ``initial_epoch`` (Keras): the epoch to start counting from when resuming, so that
        ``epochs`` is the index of the last epoch plus one, not a count: a run saved after
        epoch 2 resumes with ``fit(..., initial_epoch=2, epochs=5)`` for epochs 2, 3, 4, and
        callbacks (``LearningRateScheduler``, ``ModelCheckpoint`` names, ``CSVLogger``) see
        the true epoch numbers.
        """
        self._require_compiled("fit")
        batch_size = _check_batch_size(batch_size, "fit")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) \
                or not 0 <= initial_epoch:
            raise ValueError(f"fit: initial_epoch must be a non-negative integer, got "
                             f"{initial_epoch!r}")
        batched = y is None and not isinstance(x, np.ndarray) and hasattr(x, "__iter__")
        if batched:
            if validation_split or sample_weight is not None or class_weight is not None:
                raise ValueError("fit: with x an iterable of batches, validation_split, "
                                 "sample_weight and class_weight cannot apply; put weights in "
                                 "the batches (x_batch, y_batch, w_batch) and pass "
                                 "validation_data")
            if iter(x) is x and epochs > 1:
                raise ValueError("fit: x is an iterator, which is used up after one epoch; "
                                 "pass a re-iterable (a DataLoader, a list of batches, or an "
                                 "object whose __iter__ starts over)")
            n = len(x.x) if isinstance(x, DataLoader) else None
            steps = len(x) if hasattr(x, "__len__") else None
        else:
            if y is None:
                raise ValueError("fit: y is missing; pass targets, or x as an iterable of "
                                 "(x_batch, y_batch) batches")
            x, y = self._prepare(x, y, "fit")
            weights = self._sample_weights(y, sample_weight, class_weight, "fit")
            if validation_data is None and validation_split > 0:
                n_val = int(round(x.shape[0] * validation_split))
                if n_val == 0 or n_val == x.shape[0]:
                    raise ValueError(f"fit: validation_split={validation_split} of "
                                     f"{x.shape[0]} samples leaves no training or validation "
                                     f"data")
                validation_data = (x[-n_val:], y[-n_val:])
                if weights is not None:
                    validation_data += (weights[-n_val:],)
                    weights = weights[:-n_val]
                x, y = x[:-n_val], y[:-n_val]
            # Batch statistics need two samples: a final batch of one joins the one before.
            needs_pairs = any(layer.uses_batch_statistics for layer in self.layers)
            # with weights the loader yields indices, gathered from x, y and the weights
            # alike (the same order as batches of x and y: one permutation per epoch)
            loader = DataLoader(x, y if weights is None else np.arange(x.shape[0]),
                                batch_size=batch_size, shuffle=shuffle, seed=self.rng,
                                min_last_batch=2 if needs_pairs else 1)
            n, steps = x.shape[0], len(loader)
        if validation_data is not None:
            if len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be (x_val, y_val) or "
                                 "(x_val, y_val, sample_weight_val)")
            x_val, y_val = self._prepare(*validation_data[:2], who="fit (validation_data)")
            w_val = self._sample_weights(
                y_val, validation_data[2] if len(validation_data) == 3 else None, None,
                "fit (validation_data)")

        def epoch_batches():
            if batched:
                yield from self._batches_from(x, "fit")
            elif weights is None:
                for xb, yb in loader:
                    yield xb, yb, None
            else:
                for xb, idx in loader:
                    yield xb, y[idx], weights[idx]

        history = cbks.History()
        callback_list = [history] + list(callbacks or [])
        if verbose == 1:
            callback_list.append(cbks.ProgressBar())
        elif verbose == 2:
            callback_list.append(cbks.EpochLogger())
        for cb in callback_list:
            cb.set_model(self)
        self.history = history
        self.stop_training = False

        def call(hook, *args):
            for cb in callback_list:
                getattr(cb, hook)(*args)

        log_keys = ["loss", *self.metrics]
        if validation_data is not None:
            log_keys += [f"val_{k}" for k in log_keys]
        call("on_train_begin", {"epochs": epochs, "steps": steps, "samples": n,
                                "log_keys": log_keys + ["lr"]})
        for epoch in range(initial_epoch, epochs):
            call("on_epoch_begin", epoch, {})
            lr = self.optimizer.current_lr
            total_loss, outputs, targets, seen = 0.0, [], [], 0
            for batch, (xb, yb, wb) in enumerate(epoch_batches()):
                call("on_batch_begin", batch, {"size": xb.shape[0]})
                loss, out = self.train_step(xb, yb, wb)
                if not math.isfinite(loss):  # said once, clearly, and training stops
                    self._stop_on_non_finite(loss, epoch, batch, xb, lr)
                total_loss += loss * xb.shape[0]
                seen += xb.shape[0]
                if self.metrics:
                    outputs.append(out)
                    targets.append(yb)
                call("on_batch_end", batch, {"loss": loss, "size": xb.shape[0]})
                if self.stop_training:
                    break
            logs = {"loss": total_loss / max(seen, 1)}
            if self.metrics and outputs:
                logs.update(self._compute_metrics(np.concatenate(targets),
                                                  np.concatenate(outputs)))
            if validation_data is not None:
                val = self._evaluate_prepared(x_val, y_val, max(batch_size, _PREDICT_BATCH),
                                              w_val)
                logs.update({f"val_{k}": v for k, v in val.items()})
            logs["lr"] = lr
            call("on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        call("on_train_end", {})
        return history

    def _stop_on_non_finite(self, loss: float, epoch: int, batch: int, xb, lr: float) -> None:
        """Warn (``RuntimeWarning``) where training first produced NaN or inf, with the
        likely cause, and stop: every later step would only spread it."""
        where = next((f"the weights of {p.name} are no longer finite"
                      for p in self.parameters() if not np.all(np.isfinite(p.value))), None)
        if where is None:
            out = xb
            with np.errstate(all="ignore"):
                for layer in self.layers:
                    out = layer.forward(out, training=False)
                    if not np.all(np.isfinite(out)):
                        where = f"the output of {layer.name} is not finite"
                        break
        where = where or f"the loss {type(self.loss).__name__} itself is not finite"
        warnings.warn(
            f"fit: the loss became {loss} at epoch {epoch + 1}, batch {batch + 1} ({where}); "
            f"training stopped. Usual causes: a learning rate too large for this model "
            f"(lr={lr:.4g}; try 10x smaller), unscaled inputs (standardize x), exploding "
            f"gradients (compile with an optimizer's clip_norm=...), or a probability loss "
            f"(from_logits=False) given values outside [0, 1].", RuntimeWarning, stacklevel=3)
        self.stop_training = True

    def _evaluate_prepared(self, x, y, batch_size: int, weights=None) -> dict:
        outputs = self._predict_prepared(x, batch_size)
        if weights is None:
            result = {"loss": self.loss.forward_prepared(outputs, y)}
        else:
            result = {"loss": float(np.mean(weights * self.loss.per_sample(outputs, y)))}
        result.update(self._compute_metrics(y, outputs))
        return result

    def _predict_prepared(self, x, batch_size: int) -> np.ndarray:
        parts = [self.forward(x[i:i + batch_size], training=False)
                 for i in range(0, x.shape[0], batch_size)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def evaluate(self, x, y, batch_size: int = _PREDICT_BATCH, sample_weight=None) -> dict:
        """Loss and metrics on ``(x, y)`` in eval mode (no dropout, running BN statistics).
        With ``sample_weight (N,)`` the loss is ``mean_n(w_n l_n)`` as in ``fit`` (metrics
        unweighted). Returns ``{"loss": ..., "<metric>": ...}``."""
        self._require_compiled("evaluate")
        batch_size = _check_batch_size(batch_size, "evaluate")
        x, y = self._prepare(x, y, "evaluate")
        weights = self._sample_weights(y, sample_weight, None, "evaluate")
        return self._evaluate_prepared(x, y, batch_size, weights)

    def predict_proba(self, x, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
        """Class probabilities for ``x`` in eval mode: ``softmax(predict(x))`` ``(N, C)`` for
        a model compiled with ``CrossEntropy(from_logits=True)``, ``sigmoid(predict(x))``
        ``(N, 1)`` (the positive class) for ``BinaryCrossEntropy(from_logits=True)``, and
        ``predict(x)`` when the loss takes probabilities (the model ends in its Softmax or
        Sigmoid). Keras' old ``predict_proba``, scikit-learn's name. Raises
        ``RuntimeError`` before ``compile`` (the loss says whether outputs are logits) and
        ``TypeError`` for a regression loss, which has no probabilities."""
        self._require_compiled("predict_proba")
        if isinstance(self.loss, losses_mod._RegressionLoss):
            raise TypeError(f"predict_proba: the model is trained with "
                            f"{type(self.loss).__name__}, a regression loss; its outputs are "
                            f"not probabilities (use predict)")
        return self._probabilities(self.predict(x, batch_size))

    def predict(self, x, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
        """Model outputs for ``x (N, features)`` in eval mode, shape ``(N, outputs)``. For a
        classifier trained from logits these are logits: take ``argmax(axis=1)`` for labels."""
        batch_size = _check_batch_size(batch_size, "predict")
        x, _ = self._prepare(x, None, "predict")
        return self._predict_prepared(x, batch_size)

    # -- persistence --------------------------------------------------------------------------
    def save(self, path, include_optimizer: bool = True) -> None:
        """Save architecture, weights, batch-norm statistics and compile settings to one
        ``.npz`` file at ``path`` (JSON config + arrays; no pickle). Reload with
        ``scratchnn.load_model``.

        ``include_optimizer=True`` (the default, as in Keras) also saves the training state:
        the optimizer's ``state_dict()`` and the state of ``self.rng`` (which shuffles the
        batches and draws the dropout masks), so that loading and calling ``fit`` again
        continues exactly as if training had not stopped. See
        :func:`scratchnn.serialization.save_model`.
        """
        save_model(self, path, include_optimizer=include_optimizer)

    def __repr__(self):
        return f"Sequential({self.layers!r}, dtype={self.dtype.name})"


MODELS.add(Sequential)  # what load_model builds (serialization does not import this module)
