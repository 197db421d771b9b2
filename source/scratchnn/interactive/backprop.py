"""The backprop scrubber of notebook 02: a slider over snapshots of a network that the student
trained with their own forward and backward functions (no model object, no reference code).

Where :func:`scratchnn.interactive.training_scrubber` borrows a :class:`scratchnn.Sequential`,
this widget only needs a function ``scores_fn(params, points) -> scores`` (the student's
forward pass, or their class predictions) and the parameter snapshots their training loop
kept, so it works before the library's classes exist.
"""

from __future__ import annotations

import textwrap
from types import SimpleNamespace
from typing import Callable, Mapping, Sequence

import numpy as np

from .scrubber import _redraw_on_change, _snapshot_controls

__all__ = ["backprop_scrubber"]


def _as_model(scores_fn: Callable, params) -> SimpleNamespace:
    """What :func:`scratchnn.plot.decision_boundary` takes, an object with ``predict(x)``: the
    scores of one snapshot's parameters, computed by the caller's function. (A namespace, not
    a class with a ``predict`` method: the student bundle keeps no function of an exercise's
    name.)"""
    return SimpleNamespace(predict=lambda points: np.asarray(scores_fn(params, points)))


def _normalize(snapshots, losses) -> tuple[list[int], list, list[float] | None]:
    """(steps, params, losses) from a list of ``(step, params)`` pairs or of dicts with
    ``"step"`` and ``"params"`` keys, and an optional list of losses (one per step)."""
    snapshots = list(snapshots)
    if not snapshots:
        raise ValueError("backprop_scrubber: no snapshots; keep (step, params) pairs while "
                         "training")
    steps, params = [], []
    for i, snap in enumerate(snapshots):
        if isinstance(snap, Mapping):
            if "params" not in snap:
                raise ValueError(f"backprop_scrubber: snapshot {i} has no 'params' key")
            step, p = snap.get("step", i), snap["params"]
        elif isinstance(snap, Sequence) and not isinstance(snap, str) and len(snap) == 2:
            step, p = snap
        else:
            raise TypeError(f"backprop_scrubber: snapshot {i} should be a pair (step, params), "
                            f"got {type(snap).__name__}")
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"backprop_scrubber: snapshot {i} has step {step!r}; steps are "
                             f"integers >= 0")
        steps.append(int(step))
        params.append(p)
    if any(b < a for a, b in zip(steps, steps[1:], strict=False)):
        raise ValueError(f"backprop_scrubber: the snapshots' steps must not decrease, got "
                         f"{steps}")
    if losses is None:
        return steps, params, None
    losses = [float(v) for v in np.asarray(losses, dtype=float).ravel()]
    return steps, params, losses


def backprop_scrubber(scores_fn: Callable, snapshots, x, y, losses=None, *,
                      resolution: int = 80, index: int | None = None,
                      continuous_update: bool = False):
    """Build a widget that scrubs through the snapshots of a training run.

    For the snapshot the slider selects, the left panel shows the decision boundary of the
    network with that snapshot's parameters on the 2-D points ``(x, y)``, computed by
    ``scores_fn``; the right panel shows the loss curve, solid up to that step with a marker
    on it, faint after it. A play button steps through the snapshots.

    Parameters
    ----------
    scores_fn:
        ``scores_fn(params, points) -> scores``: ``(M, C)`` class scores (logits or
        probabilities; the class is the argmax) or ``(M,)`` class labels for ``(M, 2)``
        points, e.g. the student's forward pass. It is called once per drawing, on a grid of
        ``resolution ** 2`` points.
    snapshots:
        A list of ``(step, params)`` pairs (or dicts ``{"step": k, "params": p}``), in order;
        ``params`` is whatever ``scores_fn`` takes (a dict of arrays, say). The step of a
        snapshot is the number of updates done before it was taken (0: the initial
        parameters).
    x, y:
        The points ``(N, 2)`` and their integer labels ``(N,)`` (or one-hot ``(N, C)``).
    losses:
        Optional training losses, ``losses[i]`` the loss before update ``i``. Without them
        only the boundary is drawn.
    resolution, index, continuous_update:
        As for :func:`scratchnn.interactive.training_scrubber`: the grid points per axis of
        the boundary, the snapshot shown first (default: the last), and whether to redraw
        while the slider is dragged.

    Returns
    -------
    ipywidgets.VBox
        Built like the training scrubber's (a play button, a slider whose ``value`` is the
        snapshot's index and whose label is its step, an ``Output`` with the PNG), carrying
        ``controls`` (``{"step": slider, "play": play}``), ``output``, ``steps``, and for the
        snapshot on show ``index``, ``step``, ``figure``, ``png`` and ``error`` (the message
        when drawing failed, e.g. because ``scores_fn`` raised, else ``None``: a broken
        function shows a message, it does not raise).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .. import plot

    if not callable(scores_fn):
        raise TypeError(f"backprop_scrubber: scores_fn must be a function (params, points) -> "
                        f"scores, got {type(scores_fn).__name__}")
    steps, params, losses = _normalize(snapshots, losses)
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"backprop_scrubber: the decision boundary needs 2-D points x of "
                         f"shape (N, 2), got {x.shape}")
    if np.shape(y)[0] != x.shape[0]:
        raise ValueError(f"backprop_scrubber: x has {x.shape[0]} points but y has shape "
                         f"{np.shape(y)}")
    n = len(steps)
    index = n - 1 if index is None else int(index)
    if not 0 <= index < n:
        raise ValueError(f"backprop_scrubber: index {index} is out of range for {n} snapshots")

    box, slider, play, out = _snapshot_controls(steps, index, "step", continuous_update,
                                                interval=400)
    box.steps = steps
    box.index = box.step = box.figure = box.png = box.error = None

    def draw(i: int):
        panels = 1 + (losses is not None)
        fig = Figure(figsize=(4.2 * panels, 4.0))
        fig.subplots_adjust(left=0.12 / panels, right=1 - 0.04 / panels, bottom=0.13,
                            top=0.84, wspace=0.28)
        FigureCanvasAgg(fig)
        axes = list(np.atleast_1d(fig.subplots(1, panels)))
        plot.decision_boundary(_as_model(scores_fn, params[i]), x, y,
                               resolution=resolution, ax=axes[0])
        title = f"after {steps[i]} updates"
        if losses is not None:
            ax = axes[1]
            ts = np.arange(len(losses))
            line, = ax.plot(ts, losses, alpha=0.25)
            upto = min(steps[i], len(losses) - 1)
            ax.plot(ts[:upto + 1], losses[:upto + 1], color=line.get_color())
            if steps[i] < len(losses):
                ax.plot(steps[i], losses[steps[i]], "o", markersize=7,
                        color=line.get_color(), markeredgecolor="black")
                title += f": loss {losses[steps[i]]:.4g}"
            ax.axvline(steps[i], color="gray", linewidth=0.8, linestyle=":")
            ax.set(xlabel="update", ylabel="training loss", title="loss")
            if min(losses) > 0:
                ax.set_yscale("log")
            ax.grid(True, alpha=0.3)
        fig.suptitle("\n".join(textwrap.wrap(title, width=60 * panels)), fontsize="medium")
        return fig

    def shown(i: int) -> str:
        box.step = steps[i]
        return f"the network after {steps[i]} updates"

    _redraw_on_change(box, slider, out, draw, shown,
                      lambda i: f"drawing snapshot {i} (step {steps[i]})")
    return box
