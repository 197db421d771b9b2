"""Callbacks hook into ``Sequential.fit``: ``on_train_begin``, ``on_epoch_begin``,
``on_batch_end``, ``on_epoch_end`` and ``on_train_end``.

``logs`` passed to ``on_epoch_end`` hold the epoch's ``loss``, each metric, their ``val_``
counterparts when there is validation data, and ``lr``. A callback stops training by setting
``self.model.stop_training = True``.
"""

from __future__ import annotations

import csv
import math
import string
import sys
import warnings

import numpy as np

__all__ = [
    "Callback", "History", "EarlyStopping", "ProgressBar", "EpochLogger", "TerminateOnNaN",
    "LearningRateScheduler", "ModelCheckpoint", "LivePlot", "ReduceLROnPlateau", "CSVLogger",
]


class Callback:
    """Base class: override the hooks you need. ``self.model`` is set by ``fit``."""

    model = None

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...


class History(Callback):
    """Records every epoch's logs: ``history["loss"][i]`` is the loss of epoch ``i``.

    Attributes: ``history`` (dict of name -> list of floats) and ``epoch`` (epoch indices).
    """

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


class _Monitor:
    """Shared logic of callbacks that track the best value of a logged quantity."""

    def _init_monitor(self, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{type(self).__name__}: mode must be 'auto', 'min' or 'max', "
                             f"got {mode!r}")
        if mode == "auto":
            maximize = any(k in monitor for k in ("acc", "precision", "recall", "f1"))
            mode = "max" if maximize else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(float(min_delta))
        self.best = -math.inf if mode == "max" else math.inf

    def _improved(self, current: float, reference: float) -> bool:
        if self.mode == "max":
            return current - self.min_delta > reference
        return current + self.min_delta < reference

    def _current(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__}: '{self.monitor}' is not in the logs "
                          f"(available: {sorted(logs or {})}); skipping", stacklevel=3)
            return None
        return float(value)


class EarlyStopping(Callback, _Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs.

    With ``restore_best_weights=True`` the weights of the best epoch are put back at the end
    of training, whether or not training stopped early (Keras 3 behaviour). ``baseline``: the
    value to beat before improvements reset the patience counter. ``start_from_epoch``: epochs
    of warm-up that are not monitored. After training, ``stopped_epoch`` is the epoch at which
    training stopped (0 if it ran to the end) and ``best_epoch`` the best one.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False, baseline=None,
                 start_from_epoch: int = 0):
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self._init_monitor(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = int(patience), bool(restore_best_weights)
        self.baseline, self.start_from_epoch = baseline, int(start_from_epoch)

    def on_train_begin(self, logs=None):
        self._init_monitor(self.monitor, self.mode, self.min_delta)
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def _format_logs(logs) -> str:
    return " - ".join(f"{k}: {v:.4g}" for k, v in logs.items())


class ProgressBar(Callback):
    """A progress bar per epoch (``tqdm.auto``: a widget in Jupyter, text in a terminal) with
    the running loss and, at the end of the epoch, the metrics in its postfix. Without tqdm it
    falls back to one printed line per epoch. Used by ``fit(verbose=1)``.
    """

    def __init__(self, file=None):
        self.file = file
        self._bar = None

    def on_train_begin(self, logs=None):
        self.epochs = (logs or {}).get("epochs")
        self.steps = (logs or {}).get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self._bar = None
            return
        total = f"/{self.epochs}" if self.epochs else ""
        self._bar = tqdm(total=self.steps, desc=f"Epoch {epoch + 1}{total}", unit="batch",
                         leave=True, file=self.file)

    def on_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            if logs and "loss" in logs:
                self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is None:
            print(f"Epoch {epoch + 1}: {_format_logs(logs or {})}", file=self.file or sys.stdout)
            return
        # .4g, not .4f: a learning rate of 1e-5 read "0.0000"
        self._bar.set_postfix({k: f"{v:.4g}" for k, v in (logs or {}).items()})
        self._bar.close()
        self._bar = None


class EpochLogger(Callback):
    """One printed line per epoch with every log value. Used by ``fit(verbose=2)``."""

    def __init__(self, file=None):
        self.file = file

    def on_train_begin(self, logs=None):
        self.epochs = (logs or {}).get("epochs")

    def on_epoch_end(self, epoch, logs=None):
        print(f"Epoch {epoch + 1}/{self.epochs} - {_format_logs(logs or {})}",
              file=self.file or sys.stdout)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"TerminateOnNaN: batch {batch} has loss {loss}; stopping", file=sys.stderr)
            self.model.stop_training = True


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch to ``schedule(epoch)``
    (any callable, e.g. a :mod:`scratchnn.schedules` object). The rate is logged as ``lr``.
    """

    def __init__(self, schedule, verbose: int = 0):
        if not callable(schedule):
            raise TypeError("LearningRateScheduler: schedule must be callable epoch -> lr")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.schedule(epoch))
        if not lr >= 0 or not math.isfinite(lr):
            raise ValueError(f"LearningRateScheduler: schedule({epoch}) gave lr={lr}")
        self.model.optimizer.lr = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {lr:.4g}")


_METRIC_NAMES = ("accuracy", "precision", "recall", "f1_score", "roc_auc", "mae", "rmse", "r2")


class ModelCheckpoint(Callback, _Monitor):
    """Save the model to ``filepath`` after each epoch (``{epoch}`` and any log key may appear
    in it, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"``). With ``save_best_only=True`` only
    when ``monitor`` improved.

    ``include_optimizer=True`` (the default, as ``model.save``'s) saves the training state too
    (optimizer state and the model's generator), so an interrupted run resumes exactly:
    ``model = load_model(last_checkpoint)`` then ``model.fit(...)`` for the remaining epochs.
    ``False`` writes smaller files for inference only (weights and compile settings).
    """

    def __init__(self, filepath, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto", include_optimizer: bool = True):
        self.filepath, self.save_best_only = str(filepath), bool(save_best_only)
        self.include_optimizer = bool(include_optimizer)
        self._init_monitor(monitor, mode)

    def on_train_begin(self, logs=None):
        self._init_monitor(self.monitor, self.mode)
        keys = (logs or {}).get("log_keys")
        if keys is None:  # called by a loop that does not announce its logs
            return
        # Another callback may add keys of its own to the logs, so only the names this run
        # can never log are refused here: a val_ key without validation data, or a metric
        # that was not compiled. The rest is checked when the name is filled in.
        for name in self._placeholders():
            metric = name[4:] if name.startswith("val_") else name
            if name in keys or metric not in ("loss", "lr", *_METRIC_NAMES):
                continue
            hint = (" (val_ keys exist only when fit gets validation_data or validation_split)"
                    if name.startswith("val_") and metric in keys else
                    " (compile(metrics=[...]) decides which metrics are logged)")
            raise ValueError(f"ModelCheckpoint: the placeholder {{{name}}} of filepath "
                             f"{self.filepath!r} is not among this fit's logs "
                             f"{sorted(keys)}{hint}")

    def _placeholders(self) -> list[str]:
        return [field.split(".")[0].split("[")[0].split("!")[0]
                for _, field, _, _ in string.Formatter().parse(self.filepath) if field]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = self._current(logs)
            if current is None or not self._improved(current, self.best):
                return
            self.best = current
        missing = [n for n in self._placeholders() if n != "epoch" and n not in logs]
        if missing:
            raise ValueError(f"ModelCheckpoint: the placeholder {{{missing[0]}}} of filepath "
                             f"{self.filepath!r} is not in this epoch's logs {sorted(logs)}")
        self.model.save(self.filepath.format(epoch=epoch + 1, **logs),
                        include_optimizer=self.include_optimizer)


class ReduceLROnPlateau(Callback, _Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more than
    ``min_delta`` for ``patience`` epochs (Keras' ``ReduceLROnPlateau``, same arguments).

    After a reduction, ``cooldown`` epochs pass before the patience count starts again; the
    rate never goes below ``min_lr``. ``mode`` as for :class:`EarlyStopping`. The new rate
    applies from the next epoch and shows in the logs' ``lr``. The optimizer's ``lr`` must be
    a number: a schedule already decides the rate, so combining them raises ``ValueError``
    when training starts. ``ValueError`` for ``factor`` outside ``(0, 1)`` or a negative
    ``patience``, ``cooldown`` or ``min_lr``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0, verbose: int = 0):
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        for name, value in (("patience", patience), ("cooldown", cooldown),
                            ("min_lr", min_lr)):
            if value < 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be >= 0, got {value}")
        self._init_monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.cooldown = float(factor), int(patience), int(cooldown)
        self.min_lr, self.verbose = float(min_lr), verbose

    def on_train_begin(self, logs=None):
        if callable(self.model.optimizer.lr):
            raise ValueError("ReduceLROnPlateau: the optimizer's lr is a schedule, which "
                             "already sets the rate every step; give the optimizer a number "
                             "to let this callback reduce it")
        self._init_monitor(self.monitor, self.mode, self.min_delta)
        self.wait, self.cooldown_counter = 0, 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current, self.best):
            self.best, self.wait = current, 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            old = float(self.model.optimizer.lr)
            new = max(old * self.factor, self.min_lr)
            if new < old:
                self.model.optimizer.lr = new
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing the learning rate "
                          f"to {new:.4g}")
            self.cooldown_counter, self.wait = self.cooldown, 0


class CSVLogger(Callback):
    """Write every epoch's logs to a CSV file (Keras' ``CSVLogger``): a header ``epoch,`` and
    the log keys in the order ``fit`` logs them, then one row per epoch (``epoch`` counted
    from 0, as Keras does), flushed as it is written so a running job can be watched.

    ``append=True`` adds to an existing file (without a second header); otherwise the file
    is replaced when training starts. ``separator`` is the field delimiter.
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        self.filename, self.separator, self.append = str(filename), separator, bool(append)
        self._file = self._writer = None

    def on_train_begin(self, logs=None):
        import os

        has_rows = self.append and os.path.exists(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="",
                          encoding="utf-8")
        self._writer, self._keys = None, None
        self._header_written = has_rows

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            self._keys = list(logs)
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if not self._header_written:
                self._writer.writerow(["epoch", *self._keys])
        self._writer.writerow([epoch, *(logs.get(k, "") for k in self._keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def _in_jupyter_kernel() -> bool:
    """True when running inside an IPython kernel (Jupyter), where display handles work."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class LivePlot(Callback):
    """Redraw the loss and metric curves (train vs validation) after every ``every`` epochs.

    In Jupyter the figure is updated *in place* through one display handle, so a single plot
    grows as training runs. Elsewhere nothing is drawn until training ends; the final figure
    is then kept in ``self.figure`` (and shown if ``show_at_end``). Needs matplotlib.
    """

    def __init__(self, metrics=None, every: int = 1, show_at_end: bool = False):
        if every < 1:
            raise ValueError(f"LivePlot: every must be >= 1, got {every}")
        self.metrics, self.every, self.show_at_end = metrics, int(every), show_at_end
        self.figure = None
        self._handle = None
        self._history: dict[str, list[float]] = {}
        self.redraws = 0

    def on_train_begin(self, logs=None):
        self._history, self.redraws, self._handle = {}, 0, None
        self._live = _in_jupyter_kernel()

    def _draw(self):
        from . import plot
        if self.figure is not None:
            self.figure.clf()
        self.figure = plot.history(self._history, metrics=self.metrics, fig=self.figure)
        self.redraws += 1

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self._history.setdefault(key, []).append(float(value))
        if not self._live or (epoch + 1) % self.every:
            return
        from IPython.display import display
        self._draw()
        if self._handle is None:
            self._handle = display(self.figure, display_id=True)
        else:
            self._handle.update(self.figure)

    def on_train_end(self, logs=None):
        if not self._history:
            return
        self._draw()
        import matplotlib.pyplot as plt
        if self._live and self._handle is not None:
            self._handle.update(self.figure)
        elif self.show_at_end:
            plt.show()
        # The figure lives on in self.figure; closing it in pyplot stops a duplicate inline copy.
        plt.close(self.figure)
