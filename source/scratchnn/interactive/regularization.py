"""The regularization explorer of notebook 04: a dropout rate and an L2 strength on sliders,
and the training and validation curves of a run with them, trained by the caller's function.

The widget trains nothing itself and knows no network: ``train_fn(rate, lam)`` is the
student's training run (their network, dropout, penalty and optimizer), called once per
combination the sliders select and remembered, so moving back to a combination redraws at
once. Runs computed beforehand can be handed in (``runs=``), and ``precompute=True`` trains
the whole grid when the widget is built.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np

from ._common import describe, render_png, show_png, show_text

__all__ = ["regularization_explorer"]

_CURVES = ("train_loss", "val_loss")


def _as_run(result, where: str) -> dict[str, np.ndarray]:
    """The curves of one run as float arrays: ``train_loss`` and ``val_loss`` (one value per
    epoch, the same number of epochs), and ``val_acc`` when given. Raises TypeError or
    ValueError naming ``where`` and what is missing."""
    if not isinstance(result, Mapping):
        raise TypeError(f"{where}: a run should be a dict with the keys 'train_loss' and "
                        f"'val_loss' (one value per epoch), got {type(result).__name__}")
    missing = [key for key in _CURVES if key not in result]
    if missing:
        raise ValueError(f"{where}: the run has no {missing} (it has {sorted(result)}); give "
                         f"one value per epoch for 'train_loss' and 'val_loss'")
    run = {}
    for key in (*_CURVES, "val_acc"):
        if key in result:
            values = np.asarray(result[key], dtype=float).ravel()
            if values.size == 0:
                raise ValueError(f"{where}: the run's {key!r} is empty")
            run[key] = values
    if run["train_loss"].size != run["val_loss"].size:
        raise ValueError(f"{where}: 'train_loss' has {run['train_loss'].size} epochs but "
                         f"'val_loss' has {run['val_loss'].size}")
    return run


def _grid(values: Sequence[float], name: str, low: float, high: float | None) -> list[float]:
    """The slider values as floats, checked: at least one, distinct, in [low, high)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError(f"regularization_explorer: give at least one value for {name}")
    if len(set(values)) != len(values):
        raise ValueError(f"regularization_explorer: the values of {name} repeat: {values}")
    for v in values:
        if not (v >= low and (high is None or v < high)):
            bound = f"[{low:g}, {high:g})" if high is not None else f">= {low:g}"
            raise ValueError(f"regularization_explorer: {name} must be {bound}, got {v}")
    return values


def _lowest(values: np.ndarray) -> tuple[int, float]:
    """(epoch index, value) of the lowest finite value; (-1, nan) if there is none."""
    finite = np.isfinite(values)
    if not finite.any():
        return -1, math.nan
    i = int(np.argmin(np.where(finite, values, np.inf)))
    return i, float(values[i])


def regularization_explorer(train_fn: Callable, rates: Sequence[float] = (0.0, 0.2, 0.5),
                            lams: Sequence[float] = (0.0, 1e-3, 1e-2), *, baseline=None,
                            rate: float | None = None, lam: float | None = None, runs=None,
                            precompute: bool = False):
    """Build a widget: sliders for the dropout rate and the L2 strength, and the curves of the
    run trained with them.

    The left panel shows the training and validation loss of the selected run, per epoch,
    with the lowest validation loss marked, next to the ``baseline`` run (gray), typically
    the unregularised one. The right panel is a map over the grid of ``rates`` x ``lams``:
    the lowest validation loss of every run trained so far (blank: not trained yet), the
    selected cell framed.

    Parameters
    ----------
    train_fn:
        ``train_fn(rate, lam) -> run``: trains a network with dropout rate ``rate`` and L2
        strength ``lam`` (the student's own training code) and returns a dict with
        ``"train_loss"`` and ``"val_loss"``, one value per epoch (and optionally
        ``"val_acc"``). Called once per combination, when the sliders first select it.
    rates, lams:
        The values the sliders offer: dropout rates in ``[0, 1)``, L2 strengths ``>= 0``.
    baseline:
        An optional run (same dict) drawn in gray for comparison.
    rate, lam:
        The combination shown first (default: the first of each list).
    runs:
        Optional runs computed beforehand, ``{(rate, lam): run}``; they are not trained again.
    precompute:
        Train every combination of the grid when the widget is built.

    Returns
    -------
    ipywidgets.VBox
        Holding the two sliders and an ``Output`` with the figure, and carrying ``controls``
        (``{"rate": slider, "lam": slider}``), ``output``, ``runs`` (the cache,
        ``{(rate, lam): run}``), and for the combination on show ``selection`` (the pair),
        ``figure``, ``png`` and ``error`` (the message when training or drawing failed, else
        ``None``: a broken ``train_fn`` shows a message, it does not raise).

    Raises
    ------
    TypeError
        If ``train_fn`` is not callable.
    ValueError
        For an empty grid, repeated values, a rate outside ``[0, 1)``, a negative ``lam``, a
        first selection that is not on the grid, or a malformed ``baseline`` or ``runs``.
    """
    import ipywidgets as widgets

    if not callable(train_fn):
        raise TypeError(f"regularization_explorer: train_fn must be a function (rate, lam) -> "
                        f"run, got {type(train_fn).__name__}")
    rates = _grid(rates, "rates", 0.0, 1.0)
    lams = _grid(lams, "lams", 0.0, None)
    rate = rates[0] if rate is None else float(rate)
    lam = lams[0] if lam is None else float(lam)
    if rate not in rates or lam not in lams:
        raise ValueError(f"regularization_explorer: the first selection (rate={rate:g}, "
                         f"lam={lam:g}) must be on the grid {rates} x {lams}")
    base = None if baseline is None else _as_run(baseline, "regularization_explorer baseline")
    cache: dict[tuple[float, float], dict] = {}
    for key, run in (runs or {}).items():
        r, l = (float(k) for k in key)
        cache[(r, l)] = _as_run(run, f"regularization_explorer runs[{key!r}]")

    def trained(r: float, l: float) -> dict:
        if (r, l) not in cache:
            cache[(r, l)] = _as_run(train_fn(r, l), f"train_fn(rate={r:g}, lam={l:g})")
        return cache[(r, l)]

    rate_slider = widgets.SelectionSlider(options=[(f"{r:g}", r) for r in rates], value=rate,
                                          description="dropout rate", continuous_update=False)
    lam_slider = widgets.SelectionSlider(options=[(f"{l:g}", l) for l in lams], value=lam,
                                         description="L2 lambda", continuous_update=False)
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([rate_slider, lam_slider]), out])
    box.controls, box.output, box.runs = {"rate": rate_slider, "lam": lam_slider}, out, cache
    box.selection = box.figure = box.png = box.error = None

    def draw(r: float, l: float):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        run = trained(r, l)
        fig = Figure(figsize=(8.4, 3.4))
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1.0]})
        fig.subplots_adjust(left=0.08, right=0.93, bottom=0.15, top=0.85, wspace=0.35)
        if base is not None:
            epochs = np.arange(1, base["val_loss"].size + 1)
            left.plot(epochs, base["train_loss"], ":", color="gray", label="baseline train")
            left.plot(epochs, base["val_loss"], "--", color="gray", label="baseline val")
        epochs = np.arange(1, run["val_loss"].size + 1)
        left.plot(epochs, run["train_loss"], color="tab:blue", label="train")
        left.plot(epochs, run["val_loss"], color="tab:orange", label="validation")
        best, value = _lowest(run["val_loss"])
        title = f"rate {r:g}, lambda {l:g}"
        if best >= 0:
            left.plot(best + 1, value, "o", color="tab:orange", markeredgecolor="black")
            title += f": lowest val loss {value:.3f} (epoch {best + 1})"
        if "val_acc" in run:
            title += f", final val acc {run['val_acc'][-1]:.1%}"
        values = np.concatenate([run["train_loss"], run["val_loss"]])
        if np.all(values[np.isfinite(values)] > 0):
            left.set_yscale("log")
        left.set(xlabel="epoch", ylabel="loss")
        left.legend(fontsize="x-small")
        left.grid(True, alpha=0.3)

        table = np.full((len(rates), len(lams)), np.nan)
        for (cr, cl), cached in cache.items():
            if cr in rates and cl in lams:
                table[rates.index(cr), lams.index(cl)] = _lowest(cached["val_loss"])[1]
        image = right.imshow(np.ma.masked_invalid(table), cmap="viridis_r", aspect="auto",
                             origin="lower")
        for i in range(len(rates)):
            for j in range(len(lams)):
                if np.isfinite(table[i, j]):   # white on the dark (high) end of the colors
                    dark = image.norm(table[i, j]) > 0.5 or np.nanmin(table) == np.nanmax(table)
                    right.text(j, i, f"{table[i, j]:.3f}", ha="center", va="center",
                               fontsize="x-small", color="white" if dark else "black")
        i, j = rates.index(r), lams.index(l)
        right.add_patch(_frame(i, j))
        right.set_xticks(range(len(lams)), [f"{v:g}" for v in lams], fontsize="x-small")
        right.set_yticks(range(len(rates)), [f"{v:g}" for v in rates], fontsize="x-small")
        right.set(xlabel="L2 lambda", ylabel="dropout rate", title="lowest val loss")
        fig.colorbar(image, ax=right, fraction=0.08)
        fig.suptitle(title, fontsize="medium")
        return fig

    def redraw(change=None):
        r, l = float(rate_slider.value), float(lam_slider.value)
        try:
            fig = draw(r, l)
            png = render_png(fig)
        except Exception as exc:
            box.error = f"training or drawing rate {r:g}, lambda {l:g} failed: {describe(exc)}"
            show_text(out, box.error)
            return
        box.selection, box.figure, box.png, box.error = (r, l), fig, png, None
        best = _lowest(cache[(r, l)]["val_loss"])[1]
        show_png(out, png, f"dropout rate {r:g}, L2 lambda {l:g}: lowest validation loss "
                           f"{best:.4g}")

    if precompute:   # a run that fails is left out here; selecting it shows the error
        for r in rates:
            for l in lams:
                try:
                    trained(r, l)
                except Exception:  # noqa: BLE001
                    continue
    rate_slider.observe(redraw, names="value")
    lam_slider.observe(redraw, names="value")
    redraw()
    return box


def _frame(i: int, j: int):
    """A black frame around cell (row i, column j) of an image plot."""
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1.0, 1.0, fill=False, edgecolor="black", linewidth=2)
