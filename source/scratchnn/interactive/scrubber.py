"""The training scrubber: a slider over snapshots of training, recorded with the
:class:`SnapshotRecorder` callback, showing the decision boundary and the loss curve."""

from __future__ import annotations

import textwrap
from typing import Mapping

import numpy as np

from ..callbacks import Callback
from ._common import describe, render_png, show_png, show_text

__all__ = ["SnapshotRecorder", "training_scrubber"]


class SnapshotRecorder(Callback):
    """Callback that keeps a copy of the weights (and the logs) as training goes.

    Pass it to ``fit`` and hand it to :func:`training_scrubber`::

        recorder = SnapshotRecorder()
        model.fit(x, y, epochs=30, callbacks=[recorder], verbose=0)
        training_scrubber(model, recorder, x, y)

    ``snapshots`` is a list of dicts ``{"epoch": k, "weights": [...], "logs": {...}}``: with
    ``include_initial`` the first one holds the weights before training (``epoch`` 0, ``logs``
    ``None``), then one after every ``every``-th epoch, ``epoch`` counting the epochs done
    (from 1, as :func:`scratchnn.plot.history` does). ``weights`` is what
    ``model.get_weights()`` returned (copies); ``logs`` the epoch's logs (``loss``, metrics,
    ``val_*``, ``lr``). It starts afresh at every ``fit``. Memory: one copy of the weights per
    snapshot, so raise ``every`` for big models.
    """

    def __init__(self, every: int = 1, include_initial: bool = True):
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"SnapshotRecorder: every must be an integer >= 1, got {every!r}")
        self.every, self.include_initial = int(every), bool(include_initial)
        self.snapshots: list[dict] = []

    def on_train_begin(self, logs=None):
        self.snapshots = []
        if self.include_initial:
            self.snapshots.append({"epoch": 0, "weights": self.model.get_weights(),
                                   "logs": None})

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.snapshots.append({
                "epoch": epoch + 1,
                "weights": self.model.get_weights(),
                "logs": {k: float(v) for k, v in (logs or {}).items()},
            })

    @property
    def weights(self) -> list[list[np.ndarray]]:
        """The weights of every snapshot, in order."""
        return [s["weights"] for s in self.snapshots]

    @property
    def logs(self) -> list[dict | None]:
        """The logs of every snapshot (``None`` for the initial one)."""
        return [s["logs"] for s in self.snapshots]

    @property
    def epochs(self) -> list[int]:
        """The epoch of every snapshot (0 = before training)."""
        return [s["epoch"] for s in self.snapshots]

    def __len__(self) -> int:
        return len(self.snapshots)

    def __repr__(self) -> str:
        return f"SnapshotRecorder(snapshots={len(self.snapshots)}, every={self.every})"


def _logs_per_snapshot(logs, n: int) -> tuple[list[dict | None], bool]:
    """Logs aligned with ``n`` snapshots, and whether the first snapshot got none (it is taken
    as the weights before training because there was one log fewer than snapshots)."""
    logs = getattr(logs, "history", logs)  # a History
    if isinstance(logs, Mapping):
        lengths = {len(v) for v in logs.values()}
        if len(lengths) > 1:
            raise ValueError(f"training_scrubber: the logged lists differ in length: "
                             f"{ {k: len(v) for k, v in logs.items()} }")
        count = lengths.pop() if lengths else 0
        logs = [{k: float(v[i]) for k, v in logs.items()} for i in range(count)]
    else:
        logs = list(logs)
    for entry in logs:
        if entry is not None and not isinstance(entry, Mapping):
            raise TypeError(f"training_scrubber: each log must be a dict or None, got "
                            f"{type(entry).__name__}")
    logs = [None if e is None else {k: float(v) for k, v in e.items()} for e in logs]
    if len(logs) == n:
        return logs, False
    if len(logs) == n - 1:
        return [None, *logs], True
    raise ValueError(f"training_scrubber: {len(logs)} logs do not fit {n} snapshots; pass one "
                     f"per snapshot, or one fewer when the first snapshot holds the weights "
                     f"before training")


def _normalize_snapshots(snapshots, logs, model) -> list[dict]:
    """A list of ``{"epoch", "weights", "logs"}`` from any accepted form, checked."""
    if isinstance(snapshots, SnapshotRecorder):
        entries, plain = [dict(s) for s in snapshots.snapshots], False
    else:
        snapshots = list(snapshots)
        plain = not all(isinstance(s, Mapping) for s in snapshots)
        entries = []
        for i, s in enumerate(snapshots):
            if plain:
                entries.append({"epoch": i, "weights": s, "logs": None})
            elif "weights" not in s:
                raise ValueError(f"training_scrubber: snapshot {i} has no 'weights' key")
            else:
                entries.append({"epoch": s.get("epoch", i), "weights": s["weights"],
                                "logs": s.get("logs")})
    if not entries:
        raise ValueError("training_scrubber: no snapshots; record them with SnapshotRecorder")
    if logs is not None:
        aligned, shifted = _logs_per_snapshot(logs, len(entries))
        for i, (entry, log) in enumerate(zip(entries, aligned, strict=True)):
            entry["logs"] = log
            if plain and not shifted:  # the weights saved at the end of epoch i + 1
                entry["epoch"] = i + 1
    reference = model.get_weights()
    for i, entry in enumerate(entries):
        weights = list(entry["weights"])
        if len(weights) != len(reference):
            raise ValueError(f"training_scrubber: snapshot {i} has {len(weights)} weight "
                             f"arrays, the model has {len(reference)}")
        for j, (w, ref) in enumerate(zip(weights, reference, strict=True)):
            if np.shape(w) != ref.shape:
                raise ValueError(f"training_scrubber: snapshot {i}, weight {j} has shape "
                                 f"{np.shape(w)}, the model's has shape {ref.shape}")
        entry["weights"] = weights
    return entries


def _snapshot_controls(marks, index: int, description: str, continuous_update: bool,
                       interval: int):
    """The controls of a snapshot scrubber: ``(box, slider, play, out)``.

    ``slider`` is a SelectionSlider over the snapshots (its ``value`` the index, its label the
    mark: an epoch, a step; marks that repeat are prefixed with their index), ``play`` a Play
    button linked to it (``interval`` ms per snapshot), ``out`` the Output that shows the
    figure, and ``box`` the VBox holding them, with ``box.controls`` (``{description: slider,
    "play": play}``) and ``box.output``.
    """
    import ipywidgets as widgets

    n = len(marks)
    labels = [str(m) for m in marks]
    if len(set(labels)) != n:
        labels = [f"{i}: {m}" for i, m in enumerate(labels)]
    slider = widgets.SelectionSlider(options=list(zip(labels, range(n), strict=True)),
                                     value=index, description=description,
                                     continuous_update=continuous_update)
    play = widgets.Play(value=index, min=0, max=n - 1, step=1, interval=interval,
                        description="play")
    widgets.jslink((play, "value"), (slider, "index"))
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([play, slider]), out])
    box.controls, box.output = {description: slider, "play": play}, out
    return box, slider, play, out


def _redraw_on_change(box, slider, out, draw, shown, what) -> None:
    """Draw the snapshot the slider selects now and on every change: ``draw(i)`` makes the
    figure, shown in ``out`` as a PNG; then ``box.index``, ``figure``, ``png`` are set,
    ``box.error`` is ``None`` and ``shown(i)`` (which may set more attributes) gives the
    image's text. If drawing fails, ``box.error`` says ``what(i) failed: <the error>`` and
    ``out`` shows it instead (a broken function of the student's never raises here)."""
    def redraw(change=None):
        i = int(slider.value)
        try:
            fig = draw(i)
            png = render_png(fig)
        except Exception as exc:
            box.error = f"{what(i)} failed: {describe(exc)}"
            show_text(out, box.error)
            return
        box.index, box.figure, box.png, box.error = i, fig, png, None
        show_png(out, png, shown(i))

    slider.observe(redraw, names="value")
    redraw()


def _summary(logs: Mapping[str, float] | None) -> str:
    """The logged values of a snapshot as ``loss 0.1234, accuracy 0.9`` (without ``lr``)."""
    if not logs:
        return ""
    return ", ".join(f"{k} {v:.4g}" for k, v in logs.items() if k != "lr")


def training_scrubber(model, snapshots, x=None, y=None, logs=None, *, metric: str = "loss",
                      resolution: int = 100, index: int | None = None,
                      continuous_update: bool = False):
    """Build a widget with a slider over saved snapshots of training.

    For the snapshot the slider selects, the figure shows the decision boundary of the model
    with that snapshot's weights on the 2-D points ``(x, y)`` (drawn by
    :func:`scratchnn.plot.decision_boundary`), and the ``metric`` curve (train and, if
    logged, validation) drawn solid up to that epoch with a marker on it, faint after it.
    A play button steps through the epochs. The model is only borrowed: its own weights are
    put back after every drawing, so building or using the widget never changes it.

    Parameters
    ----------
    model:
        The model the snapshots belong to (``get_weights``, ``set_weights``, ``predict``),
        e.g. a :class:`scratchnn.Sequential`.
    snapshots:
        One of
        - a :class:`SnapshotRecorder` that was passed to ``fit`` (the easiest);
        - a list of dicts ``{"epoch": k, "weights": [...], "logs": {...}}``;
        - a list of weight lists, each what ``model.get_weights()`` returned.
    x, y:
        Optional data for the decision boundary: points ``(N, 2)`` and labels ``(N,)`` (or
        one-hot ``(N, C)``). Without them only the curve is drawn.
    logs:
        Optional logs that replace the snapshots' own: a ``History``, a dict of lists like
        ``history.history``, or a list of dicts, one per snapshot, or one fewer (then the
        first snapshot is the weights before training, epoch 0). For a plain list of weight
        lists, snapshot ``i`` is epoch ``i + 1`` when there is one log per snapshot, epoch
        ``i`` otherwise.
    metric:
        The logged quantity drawn on the right (``"loss"``, ``"accuracy"``, ...).
    resolution:
        Grid points per axis of the decision boundary.
    index:
        The snapshot shown first (default: the last).
    continuous_update:
        Redraw while the slider is dragged (``True``) or only when it is released.

    Returns
    -------
    ipywidgets.VBox
        A play button, the slider and an ``ipywidgets.Output`` with the PNG of the figure. It
        carries ``controls`` (``{"epoch": the SelectionSlider, "play": the Play}``; the
        slider's ``value`` is the snapshot's index, its label the epoch), ``output``,
        ``snapshots`` (the normalized list of ``{"epoch", "weights", "logs"}``), ``index``
        and ``epoch`` of the shown snapshot, ``figure`` (the last matplotlib Figure), ``png``
        and ``error`` (the message if drawing failed, else ``None``).

    Examples
    --------
    >>> recorder = SnapshotRecorder()
    >>> model.fit(x, y, epochs=30, callbacks=[recorder], verbose=0)   # doctest: +SKIP
    >>> training_scrubber(model, recorder, x, y)                       # doctest: +SKIP
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from .. import plot

    for method in ("get_weights", "set_weights", "predict"):
        if not callable(getattr(model, method, None)):
            raise TypeError(f"training_scrubber: model must have {method}(), got "
                            f"{type(model).__name__}")
    entries = _normalize_snapshots(snapshots, logs, model)
    n = len(entries)
    if (x is None) != (y is None):
        raise ValueError("training_scrubber: pass both x and y for the decision boundary, or "
                         "neither")
    if x is not None:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"training_scrubber: the decision boundary needs 2-D points x of "
                             f"shape (N, 2), got {x.shape}")
    keys = [k for k in (metric, f"val_{metric}")
            if any(e["logs"] and k in e["logs"] for e in entries)]
    if x is None and not keys:
        raise ValueError(f"training_scrubber: nothing to show: pass x and y for the decision "
                         f"boundary, or logs with {metric!r}")
    index = n - 1 if index is None else int(index)
    if not 0 <= index < n:
        raise ValueError(f"training_scrubber: index {index} is out of range for {n} snapshots")

    epochs = [e["epoch"] for e in entries]
    box, slider, play, out = _snapshot_controls(epochs, index, "epoch", continuous_update,
                                                interval=500)
    box.snapshots = entries
    box.index = box.epoch = box.figure = box.png = box.error = None

    def draw(i: int):
        entry = entries[i]
        panels = (x is not None) + bool(keys)
        fig = Figure(figsize=(max(5.2 * panels, 6.0), 4.4))
        fig.subplots_adjust(left=0.14 / panels, right=1 - 0.04 / panels, bottom=0.12,
                            top=0.86, wspace=0.25)
        FigureCanvasAgg(fig)
        axes = list(np.atleast_1d(fig.subplots(1, panels)))
        if x is not None:
            saved = model.get_weights()
            try:
                model.set_weights(entry["weights"])
                plot.decision_boundary(model, x, y, resolution=resolution, ax=axes.pop(0))
            finally:
                model.set_weights(saved)
        if keys:
            ax = axes.pop(0)
            for key, style in zip(keys, ("-", "--"), strict=False):
                pts = [(j, e["epoch"], e["logs"][key]) for j, e in enumerate(entries)
                       if e["logs"] and key in e["logs"]]
                js, xs, vs = (np.array(v, dtype=float) for v in zip(*pts, strict=True))
                line, = ax.plot(xs, vs, style, alpha=0.25)
                done = js <= i
                name = "train" if key == metric else "validation"
                ax.plot(xs[done], vs[done], style, color=line.get_color(), label=name)
                if i in js:
                    ax.plot(entry["epoch"], entry["logs"][key], "o", markersize=8,
                            color=line.get_color(), markeredgecolor="black")
            ax.axvline(entry["epoch"], color="gray", linewidth=0.8, linestyle=":")
            ax.set(xlabel="epoch", ylabel=metric, title=f"{metric} up to epoch {entry['epoch']}")
            first, last = min(epochs), max(max(epochs), min(epochs) + 1)
            ax.set_xlim(first - 0.03 * (last - first), last + 0.03 * (last - first))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3)
            ax.legend(loc="best", fontsize="small")
        summary = _summary(entry["logs"])
        title = f"epoch {entry['epoch']}" + (f": {summary}" if summary else "")
        fig.suptitle("\n".join(textwrap.wrap(title, width=60 * panels)) or title,
                     fontsize="medium")
        return fig

    def shown(i: int) -> str:
        box.epoch = entries[i]["epoch"]
        return f"training at epoch {box.epoch}"

    _redraw_on_change(box, slider, out, draw, shown, lambda i: f"drawing snapshot {i}")
    return box
