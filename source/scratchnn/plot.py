"""Plots for training curves, decision boundaries, images, confusion matrices, weights,
gradients and activations.

Every function needs matplotlib (the ``course`` extra: ``pip install scratchnn[course]``). It
is imported inside each function, so ``import scratchnn.plot`` stays cheap and works without
it; calling a function without matplotlib raises an ``ImportError`` that says what to install.

Every function returns the matplotlib ``Figure`` it drew on. New figures are made with
``matplotlib.pyplot``, so ``plt.show()`` displays them in a script and Jupyter shows them
inline. (In a notebook, end the line with ``;`` or assign the result, ``fig = ...``, or the
figure is shown twice: once by pyplot and once as the cell's value.) Functions that draw one
axes accept ``ax=`` to draw into an existing one; those that draw a grid of axes accept
``fig=`` (its previous content is cleared). ``title=`` sets the (figure or axes) title.

Typical use::

    import scratchnn as snn
    import scratchnn.plot as snnplot

    hist = model.fit(x, y, epochs=20, validation_split=0.2, verbose=0)
    snnplot.history(hist)
    snnplot.decision_boundary(model, x, y)
    snnplot.confusion_matrix(y_test, model.predict(x_test), class_names=["cat", "dog"])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from . import metrics as _metrics

if TYPE_CHECKING:  # pragma: no cover - only for annotations
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "history", "decision_boundary", "images", "confusion_matrix", "weights", "gradient_norms",
    "gradient_flow", "activations",
]

_INSTALL_HINT = "pip install scratchnn[course]"


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "scratchnn.plot needs matplotlib, which is not installed. Install the course "
            f"extras with `{_INSTALL_HINT}` (or just `pip install matplotlib`)."
        ) from err
    return plt


def _grid_figure(n: int, ncols: int, fig, cell: tuple[float, float]):
    """A figure with ``n`` axes on a grid of ``ncols`` columns; surplus grid cells removed.

    Returns ``(fig, axes)`` with ``axes`` a flat list of length ``n``.
    """
    plt = _pyplot()
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    if fig is None:
        fig = plt.figure(figsize=(cell[0] * ncols, cell[1] * nrows), layout="constrained")
    else:
        fig.clear()
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[n:]:
        fig.delaxes(ax)
    return fig, axes[:n]


def _single_axes(ax, figsize: tuple[float, float]):
    """``(fig, ax)``: the given axes and its figure, or a new figure with one axes."""
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _auto_threshold(scores: np.ndarray) -> float:
    """0.5 for probabilities (every value in [0, 1]), 0.0 for logits (anything else)."""
    finite = scores[np.isfinite(scores)]
    if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
        return 0.5
    return 0.0


def _labels(y, name: str) -> np.ndarray:
    """Integer labels ``(N,)`` from labels ``(N,)``, one-hot/scores ``(N, C)`` (argmax) or
    binary scores ``(N,)``/``(N, 1)`` (probabilities at 0.5, logits at 0): the conversion of
    :mod:`scratchnn.metrics`, which also checks shapes and values."""
    return _metrics._to_labels(y, name, allow_probabilities=True, logits_ok=True)[0]


def _class_name(label: int, class_names) -> str:
    if class_names is not None:
        try:
            return str(class_names[label])
        except (IndexError, KeyError):
            pass
    return str(label)


def _class_colors(n_classes: int) -> list:
    """One distinct colour per class (``tab10``, ``tab20``, then a sampled ``viridis``)."""
    import matplotlib

    if n_classes <= 10:
        cmap = matplotlib.colormaps["tab10"]
        return [cmap(i) for i in range(n_classes)]
    if n_classes <= 20:
        cmap = matplotlib.colormaps["tab20"]
        return [cmap(i) for i in range(n_classes)]
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.0, 1.0, n_classes)]


def _parameters(model) -> list:
    """The parameters of a model (anything with ``parameters()``) or an iterable of them."""
    params = model.parameters() if hasattr(model, "parameters") else model
    params = list(params)
    for p in params:
        if not (hasattr(p, "value") and hasattr(p, "name")):
            raise TypeError(f"expected a model with parameters() or Parameter objects, got an "
                            f"item of type {type(p).__name__}")
    return params


# ------------------------------------------------------------------------------------------------
# training curves
# ------------------------------------------------------------------------------------------------
def history(history, metrics=None, *, title: str | None = None, fig: Figure | None = None,
            ncols: int = 3) -> Figure:
    """Training curves: one subplot per quantity, training vs validation.

    Parameters
    ----------
    history : History or dict
        What ``model.fit`` returns (a :class:`scratchnn.callbacks.History`) or its
        ``.history`` dict ``{name: [value per epoch]}``, e.g. ``{"loss": [...],
        "accuracy": [...], "val_loss": [...], "val_accuracy": [...], "lr": [...]}``.
    metrics : str or list of str, optional
        The quantities to plot, in order, e.g. ``["loss", "accuracy"]`` or ``["loss", "lr"]``
        (``"val_accuracy"`` means the same as ``"accuracy"``). By default: ``loss`` then every
        other logged quantity except the learning rate ``lr``, which is plotted only when named.
    title : str, optional
        Figure title.
    fig : Figure, optional
        Draw into this figure (cleared first) instead of a new one.
    ncols : int
        Subplots per row (default 3).

    Returns
    -------
    Figure with one axes per quantity. Each axes has the x label ``"epoch"`` (epochs counted
    from 1), the quantity as title and y label, a ``"train"`` line for the key ``name`` and a
    ``"validation"`` line for ``val_name`` when logged, and a legend.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError(f"history: expected a History or a dict of lists, got "
                        f"{type(history).__name__}")
    logs = {str(k): np.asarray(v, dtype=np.float64).ravel() for k, v in logs.items()}
    if not logs or all(v.size == 0 for v in logs.values()):
        raise ValueError("history: nothing was recorded; train with model.fit(...) first")

    def base(key: str) -> str:
        return key[4:] if key.startswith("val_") else key

    if metrics is None:
        names = ["loss"] if ("loss" in logs or "val_loss" in logs) else []
        for key in logs:
            if base(key) not in names and base(key) != "lr":
                names.append(base(key))
    else:
        names = []
        for m in [metrics] if isinstance(metrics, str) else list(metrics):
            m = base(str(m))
            if m not in logs and f"val_{m}" not in logs:
                raise ValueError(f"history: {m!r} was not logged; available: {sorted(logs)}")
            if m not in names:
                names.append(m)
    if not names:
        raise ValueError(f"history: nothing to plot (logged keys: {sorted(logs)}); name the "
                         f"quantities with metrics=[...]")

    from matplotlib.ticker import MaxNLocator

    fig, axes = _grid_figure(len(names), ncols, fig, cell=(4.2, 3.2))
    for ax, name in zip(axes, names, strict=True):
        for key, label, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            values = logs.get(key)
            if values is None or values.size == 0:
                continue
            epochs = np.arange(1, values.size + 1)
            ax.plot(epochs, values, style, label=label, marker="o" if values.size <= 30 else None,
                    markersize=3)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend()
    if title:
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------------------
# 2-D classifiers
# ------------------------------------------------------------------------------------------------
def decision_boundary(model, x, y, resolution: int = 200, ax: Axes | None = None, *,
                      threshold: float | None = None, class_names=None,
                      title: str | None = None) -> Figure:
    """Regions a 2-D classifier assigns to each class, with the data on top.

    The model is evaluated on a ``resolution x resolution`` grid that covers the data plus a
    10% margin; the predicted class is drawn as filled contours and the points ``x`` are
    scattered, coloured by their true label (one scatter, and legend entry, per class).

    Parameters
    ----------
    model : object with ``predict(x)``
        ``predict`` maps ``(M, 2)`` inputs to either scores ``(M, C)`` with ``C > 1`` (logits,
        probabilities: the class is the argmax), or one float score per point ``(M,)`` or
        ``(M, 1)``, the class being ``score >= threshold``, or integer class labels ``(M,)``
        (as a scikit-learn classifier's ``predict`` returns).
    x : array (N, 2)
        The points.
    y : array (N,) of int labels, or one-hot (N, C)
        Their true classes.
    resolution : int >= 2
        Grid points per axis.
    ax : Axes, optional
        Draw into this axes instead of a new figure.
    threshold : float, optional
        Decision threshold for binary float scores. By default 0.5 when every predicted value
        lies in [0, 1] (probabilities, e.g. a ``Sigmoid`` output) and 0.0 otherwise (logits,
        e.g. a model trained with ``BinaryCrossEntropy(from_logits=True)``). Pass it
        explicitly when logits might all happen to fall in [0, 1].
    class_names : list of str, optional
        Legend labels (default ``"class 0"``, ``"class 1"``, ...).
    title : str, optional
        Axes title (default: ``"Decision boundary (accuracy 97.5%)"``, the accuracy of the
        model on ``(x, y)``).

    Returns
    -------
    Figure. The axes holds one ``ContourSet`` (the regions) and one scatter collection per
    class present in ``y``, N points in total.
    """
    if not hasattr(model, "predict"):
        raise TypeError(f"decision_boundary: model must have a predict(x) method, got "
                        f"{type(model).__name__}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] == 0:
        raise ValueError(f"decision_boundary: x must have shape (N, 2) with N >= 1, got "
                         f"{x.shape}")
    y_lab = _labels(y, "y")
    if y_lab.shape[0] != x.shape[0]:
        raise ValueError(f"decision_boundary: x has {x.shape[0]} points (shape {x.shape}) but "
                         f"y has shape {np.shape(y)}")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) \
            or resolution < 2:
        raise ValueError(f"decision_boundary: resolution must be an integer >= 2, got "
                         f"{resolution!r}")

    lo, hi = x.min(axis=0), x.max(axis=0)
    span = hi - lo
    pad = np.where(span > 0, 0.1 * span, 1.0)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(g0, g1)
    grid = np.column_stack([xx.ravel(), yy.ravel()])

    def classify(points: np.ndarray, thr):
        scores = np.asarray(model.predict(points))
        if scores.shape[0] != points.shape[0]:
            raise ValueError(f"decision_boundary: predict returned shape {scores.shape} for "
                             f"{points.shape[0]} points")
        if scores.ndim == 2 and scores.shape[1] > 1:
            return scores.argmax(axis=1), scores.shape[1], thr
        scores = scores.reshape(points.shape[0])
        if scores.dtype.kind in "biu" and thr is None:  # already class labels
            labels = scores.astype(np.int64)
            if labels.min() < 0:
                raise ValueError("decision_boundary: predict returned negative class labels")
            return labels, 2, thr
        scores = scores.astype(np.float64)
        thr = _auto_threshold(scores) if thr is None else float(thr)
        return (scores >= thr).astype(np.int64), 2, thr

    zz, width, threshold = classify(grid, threshold)
    pred_points, _, _ = classify(x, threshold)
    n_classes = max(width, int(y_lab.max()) + 1, int(zz.max()) + 1)
    colors = _class_colors(n_classes)

    fig, ax = _single_axes(ax, figsize=(5.5, 4.5))
    ax.contourf(xx, yy, zz.reshape(xx.shape), levels=np.arange(n_classes + 1) - 0.5,
                colors=colors, alpha=0.3)
    for c in range(n_classes):
        mask = y_lab == c
        if mask.any():
            label = _class_name(c, class_names) if class_names is not None else f"class {c}"
            ax.scatter(x[mask, 0], x[mask, 1], color=colors[c], edgecolors="k",
                       linewidths=0.5, s=20, label=label)
    ax.set_xlim(g0[0], g0[-1])
    ax.set_ylim(g1[0], g1[-1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="best", fontsize="small")
    if title is None:
        title = f"Decision boundary (accuracy {np.mean(pred_points == y_lab):.1%})"
    if title:
        ax.set_title(title)
    return fig


# ------------------------------------------------------------------------------------------------
# images
# ------------------------------------------------------------------------------------------------
def _as_images(x, shape) -> np.ndarray:
    """``(N, H, W)`` or ``(N, H, W, 3|4)`` images from any accepted layout."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"images: x must be numeric, got dtype {arr.dtype}")
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise ValueError(f"images: x must hold at least one image, got shape {arr.shape}")
    n = arr.shape[0]
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        if int(np.prod(shape)) != int(np.prod(arr.shape[1:])):
            raise ValueError(f"images: cannot reshape images of shape {arr.shape[1:]} to "
                             f"shape={shape}")
        arr = arr.reshape((n, *shape))
    elif arr.ndim == 2:
        d = arr.shape[1]
        side = math.isqrt(d)
        if d == 3072:  # rows of scratchnn.datasets.load_cifar10(): (32, 32, 3) flattened
            arr = arr.reshape(n, 32, 32, 3)
        elif side * side == d:  # 784 -> 28x28 (MNIST), 64 -> 8x8 (digits), ...
            arr = arr.reshape(n, side, side)
        else:
            raise ValueError(f"images: cannot guess the image size of {d} features "
                             f"(x of shape {arr.shape}); pass shape=(H, W) or (H, W, C)")
    elif arr.ndim == 4 and arr.shape[-1] not in (1, 3, 4) and arr.shape[1] in (1, 3, 4):
        arr = arr.transpose(0, 2, 3, 1)  # channels-first (N, C, H, W)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 or (arr.ndim == 4 and arr.shape[-1] in (3, 4)):
        return arr
    raise ValueError(f"images: expected images (N, H, W) or (N, H, W, C) with C in 1, 3, 4 "
                     f"(or flat rows with shape=...), got {arr.shape}")


def _displayable(img: np.ndarray) -> np.ndarray:
    """Colour images in the range imshow expects: uint8, or floats rescaled to [0, 1]."""
    if img.ndim == 2:
        return img
    if img.dtype.kind in "biu":
        return np.clip(img, 0, 255).astype(np.uint8)
    img = img.astype(np.float64)
    lo, hi = np.nanmin(img), np.nanmax(img)
    if lo < 0.0 or hi > 1.0:
        img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img


def images(x, y_true=None, y_pred=None, n: int = 25, shape=None, class_names=None, *,
           ncols: int | None = None, cmap: str = "gray", title: str | None = None,
           fig: Figure | None = None) -> Figure:
    """A grid of the first ``n`` images, titled with their labels; mistakes in red.

    Parameters
    ----------
    x : array
        Flat rows ``(N, D)``: ``D = 784`` is shown as 28x28 (MNIST), ``64`` as 8x8 (digits),
        ``3072`` as a 32x32 colour image flattened channels-last, as
        ``scratchnn.datasets.load_cifar10()`` returns it (``x.reshape(N, 32, 32, 3)``), any
        other square ``D`` as ``sqrt(D) x sqrt(D)``. Or images
        ``(N, H, W)``, ``(N, H, W, C)`` or channels-first ``(N, C, H, W)`` with C in 1, 3, 4.
    y_true : array (N,) of labels, or one-hot (N, C), optional
        Shown as each image's title.
    y_pred : array, optional
        Predicted labels ``(N,)``, or scores ``(N, C)`` (argmax), or binary scores ``(N,)``/
        ``(N, 1)`` (threshold 0.5 for probabilities, 0 for logits). Titles become
        ``"true: 3\\npred: 5"``, coloured red where the prediction is wrong.
    n : int
        How many images (the first ``min(n, N)``; index or shuffle ``x`` to choose others).
    shape : tuple, optional
        Shape of one image, ``(H, W)`` or ``(H, W, C)``; each image is reshaped to it
        (C order). Needed when ``D`` is not one of the sizes above.
    class_names : sequence or dict, optional
        Names shown instead of the integer labels.
    ncols : int, optional
        Images per row (default ``ceil(sqrt(n))``).
    cmap : str
        Colour map for grey-scale images (each is scaled to its own range). Colour images are
        shown as is (uint8, or floats in [0, 1]; other floats are min-max rescaled).
    title : str, optional
        Figure title (default, when ``y_pred`` is given: how many shown images are wrong).
    fig : Figure, optional
        Draw into this figure (cleared first).

    Returns
    -------
    Figure with ``min(n, N)`` image axes (no ticks), one image each.
    """
    imgs = _as_images(x, shape)
    total = imgs.shape[0]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"images: n must be a positive integer, got {n!r}")
    k = min(int(n), total)
    true = pred = None
    if y_true is not None:
        true = _labels(y_true, "y_true")
        if true.shape[0] != total:
            raise ValueError(f"images: x holds {total} images but y_true has shape "
                             f"{np.shape(y_true)}")
    if y_pred is not None:
        pred = _labels(y_pred, "y_pred")
        if pred.shape[0] != total:
            raise ValueError(f"images: x holds {total} images but y_pred has shape "
                             f"{np.shape(y_pred)}")

    ncols = ncols or math.ceil(math.sqrt(k))
    fig, axes = _grid_figure(k, ncols, fig, cell=(1.5, 1.75 if pred is not None else 1.55))
    wrong = 0
    for i, ax in enumerate(axes):
        img = _displayable(imgs[i])
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if true is None and pred is None:
            continue
        parts, color = [], "black"
        if true is not None:
            parts.append(_class_name(int(true[i]), class_names) if pred is None
                         else f"true: {_class_name(int(true[i]), class_names)}")
        if pred is not None:
            parts.append(f"pred: {_class_name(int(pred[i]), class_names)}")
            if true is not None and true[i] != pred[i]:
                color = "red"
                wrong += 1
        ax.set_title("\n".join(parts), color=color, fontsize=8)
    if title is None and true is not None and pred is not None:
        title = f"{wrong} of {k} shown misclassified"
    if title:
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------------------
# confusion matrix
# ------------------------------------------------------------------------------------------------
def confusion_matrix(y_true, y_pred, class_names=None, normalize=False, *,
                     ax: Axes | None = None, cmap: str = "Blues",
                     title: str | None = None) -> Figure:
    """Heatmap of the confusion matrix with the value written in every cell.

    Parameters
    ----------
    y_true : array (N,) of labels, or one-hot (N, C)
    y_pred : array (N,) of labels, scores (N, C), or binary probabilities (N,)/(N, 1)
        Any format :func:`scratchnn.metrics.confusion_matrix` accepts (which computes the
        counts).
    class_names : sequence of str, optional
        Tick labels; their number fixes C.
    normalize : False, True, "true", "pred" or "all"
        False: counts. True or ``"true"``: each row (true class) sums to 1; ``"pred"``: each
        column (predicted class) sums to 1; ``"all"``: the whole matrix sums to 1. Normalized
        cells are written with two decimals; empty rows/columns stay 0.
    ax : Axes, optional
        Draw into this axes instead of a new figure.
    cmap : str
        Colour map of the heatmap.
    title : str, optional
        Axes title (default ``"Confusion matrix (accuracy 91.2%)"``).

    Returns
    -------
    Figure. Rows are true classes (y label ``"true label"``), columns predicted ones (x label
    ``"predicted label"``); cell ``(i, j)`` holds a text with ``M[i, j]``.
    """
    if normalize not in (False, True, None, "true", "pred", "all"):
        raise ValueError(f"confusion_matrix: normalize must be False, True, 'true', 'pred' or "
                         f"'all', got {normalize!r}")
    num_classes = len(class_names) if class_names is not None else None
    cm = _metrics.confusion_matrix(y_true, y_pred, num_classes=num_classes)
    counts = cm.astype(np.float64)
    if normalize in (True, "true"):
        den = counts.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        den = counts.sum(axis=0, keepdims=True)
    elif normalize == "all":
        den = np.full((1, 1), counts.sum())
    else:
        den = None
    if den is None:
        values, fmt = cm, "d"
    else:
        values = np.divide(counts, den, out=np.zeros_like(counts), where=den != 0)
        fmt = ".2f"

    c = cm.shape[0]
    fig, ax = _single_axes(ax, figsize=(1.2 + 0.55 * c + 1.5, 0.9 + 0.55 * c + 1.0))
    vmax = 1.0 if den is not None else max(int(cm.max()), 1)
    image = ax.imshow(values, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    names = [_class_name(i, class_names) for i in range(c)]
    long_names = max(len(s) for s in names) > 3
    ax.set_xticks(range(c), labels=names, rotation=45 if long_names else 0,
                  ha="right" if long_names else "center")
    ax.set_yticks(range(c), labels=names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    fontsize = 10 if c <= 10 else (7 if c <= 20 else 5)
    for i in range(c):
        for j in range(c):
            v = values[i, j]
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=fontsize,
                    color="white" if v > vmax / 2 else "black")
    if title is None:
        total = cm.sum()
        acc = np.trace(cm) / total if total else 0.0
        title = f"Confusion matrix (accuracy {acc:.1%})"
    if title:
        ax.set_title(title)
    return fig


# ------------------------------------------------------------------------------------------------
# weights, gradients, activations
# ------------------------------------------------------------------------------------------------
def weights(model, *, bins: int = 30, title: str | None = None,
            fig: Figure | None = None) -> Figure:
    """One histogram per parameter array: the distribution of each layer's weights.

    Parameters
    ----------
    model : Sequential (anything with ``parameters()``) or a list of Parameter
        Each :class:`~scratchnn.core.Parameter` (e.g. ``dense_0.W (in, out)``,
        ``dense_0.b (out,)``, ``batchnorm_0.gamma (features,)``) gets its own histogram of
        all its values.
    bins : int
        Histogram bins.
    title : str, optional
        Figure title (default ``"Weights"``).
    fig : Figure, optional
        Draw into this figure (cleared first).

    Returns
    -------
    Figure with one axes per parameter, titled with the parameter's name (``"dense_0.W"``),
    one row per layer; the x label gives the shape, mean and standard deviation.
    """
    params = _parameters(model)
    if not params:
        raise ValueError("weights: the model has no parameters to plot")
    # one row per layer: group by the name's prefix ("dense_0" of "dense_0.W")
    groups: dict[str, list] = {}
    for p in params:
        groups.setdefault(str(p.name).rsplit(".", 1)[0], []).append(p)
    ncols = max(len(g) for g in groups.values())
    slots = []
    for g in groups.values():
        slots += g + [None] * (ncols - len(g))
    fig, axes = _grid_figure(len(slots), ncols, fig, cell=(3.6, 2.6))
    for ax, p in zip(axes, slots, strict=True):
        if p is None:
            fig.delaxes(ax)
            continue
        values = np.asarray(p.value, dtype=np.float64).ravel()
        ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
        ax.set_title(str(p.name))
        ax.set_xlabel(f"{tuple(np.shape(p.value))}  mean {values.mean():.3g}, "
                      f"std {values.std():.3g}", fontsize=8)
        ax.set_ylabel("count")
    if title is None:
        title = "Weights"
    if title:
        fig.suptitle(title)
    return fig


def gradient_norms(model) -> dict[str, float]:
    """The L2 norm of every parameter's current gradient, ``{name: ||grad||}``.

    Reads ``Parameter.grad`` as left by the last ``backward`` (during ``fit``: the last batch).
    Parameters without a gradient yet give ``nan``. Collect the values during training with a
    small callback and draw them with :func:`gradient_flow`::

        class GradNorms(snn.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.norms = {}
            def on_batch_end(self, batch, logs=None):
                for name, g in snnplot.gradient_norms(self.model).items():
                    self.norms.setdefault(name, []).append(g)

        rec = GradNorms()
        model.fit(x, y, epochs=5, callbacks=[rec], verbose=0)
        snnplot.gradient_flow(rec.norms)

    Parameters
    ----------
    model : Sequential (anything with ``parameters()``) or a list of Parameter

    Returns
    -------
    dict mapping each parameter name (e.g. ``"dense_0.W"``) to a float, in layer order.
    """
    out: dict[str, float] = {}
    for i, p in enumerate(_parameters(model)):
        name = str(p.name)
        if name in out:
            name = f"{name}#{i}"
        grad = getattr(p, "grad", None)
        out[name] = float("nan") if grad is None else \
            float(np.linalg.norm(np.asarray(grad, dtype=np.float64).ravel()))
    return out


def gradient_flow(grad_norms, *, ax: Axes | None = None, logy: bool = True,
                  xlabel: str = "step", title: str | None = None) -> Figure:
    """Per-parameter gradient norms over training: one line per parameter.

    Vanishing gradients show as the lines of the first layers sinking by orders of magnitude
    below the last ones; exploding ones as lines shooting up.

    Parameters
    ----------
    grad_norms : dict {name: sequence of T floats} or list of T dicts {name: float}
        E.g. the values of :func:`gradient_norms` collected at every training step (either
        layout). Sequences may differ in length; each starts at step 0.
    ax : Axes, optional
        Draw into this axes instead of a new figure.
    logy : bool
        Logarithmic y axis (default). Non-positive and non-finite values are left out (gaps);
        if no value is positive the axis stays linear.
    xlabel : str
        Label of the x axis (``"step"``; say ``"epoch"`` if you collected once per epoch).
    title : str, optional
        Axes title (default ``"Gradient flow"``).

    Returns
    -------
    Figure whose axes has one line per parameter, labelled with its name in the legend.
    """
    if isinstance(grad_norms, Mapping):
        series = {str(k): np.asarray(v, dtype=np.float64).ravel() for k, v in grad_norms.items()}
    else:
        steps = list(grad_norms)
        if not all(isinstance(s, Mapping) for s in steps):
            raise TypeError("gradient_flow: pass a dict {name: [norm per step]} or a list of "
                            "dicts {name: norm}")
        names: list[str] = []
        for s in steps:
            names += [str(k) for k in s if str(k) not in names]
        series = {name: np.array([float(s.get(name, np.nan)) for s in steps]) for name in names}
    if not series or all(v.size == 0 for v in series.values()):
        raise ValueError("gradient_flow: no gradient norms to plot")

    fig, ax = _single_axes(ax, figsize=(7.0, 4.2))
    any_positive = any(np.any(np.isfinite(v) & (v > 0)) for v in series.values())
    use_log = logy and any_positive
    for name, values in series.items():
        if use_log:
            values = np.where(np.isfinite(values) & (values > 0), values, np.nan)
        ax.plot(np.arange(values.size), values, label=name)
    if use_log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("gradient norm (L2)")
    ax.grid(True, which="both" if use_log else "major", alpha=0.3)
    ax.legend(fontsize="small", ncol=2 if len(series) > 8 else 1)
    if title is None:
        title = "Gradient flow"
    if title:
        ax.set_title(title)
    return fig


def _activation_note(layer, out: np.ndarray) -> str:
    """A short statistic that matters for the layer type (saturation, dead units).

    The type is recognized by class name (``Sigmoid``, ``Tanh``, ``ReLU``, or a subclass of
    one), so a student's own layer classes get the note too and this module never imports the
    library's layers (the students' course bundle ships it without them).
    """
    kinds = {cls.__name__ for cls in type(layer).__mro__}
    if "Sigmoid" in kinds:
        return f", saturated {np.mean((out < 0.02) | (out > 0.98)):.0%}"
    if "Tanh" in kinds:
        return f", saturated {np.mean(np.abs(out) > 0.98):.0%}"
    if "ReLU" in kinds:
        return f", zero {np.mean(out == 0):.0%}"
    return ""


def activations(model, x, *, layers=None, bins: int = 50, title: str | None = None,
                fig: Figure | None = None) -> Figure:
    """Distribution of every layer's output on a batch, in eval mode.

    Runs ``x`` through ``model.layers`` one at a time with ``layer.forward(out,
    training=False)`` (as ``predict`` does: no dropout, batch-norm running statistics) and
    draws a histogram of each selected layer's outputs. Useful to see saturated sigmoid/tanh
    units, dead ReLUs, or how batch normalization keeps activations in range.

    Parameters
    ----------
    model : Sequential (anything with a ``layers`` list of layers with ``forward``)
    x : array (N, features)
        A batch of inputs; cast to ``model.dtype`` when the model has one.
    layers : list of int, str or type, optional
        Which layers to draw: indices into ``model.layers``, layer names (``"relu_0"``) or
        layer classes (``snn.activations.Tanh``: every such layer). Default: all layers.
    bins : int
        Histogram bins.
    title : str, optional
        Figure title (default ``"Activations (eval mode)"``).
    fig : Figure, optional
        Draw into this figure (cleared first).

    Returns
    -------
    Figure with one histogram axes per selected layer, titled with the layer name; the x label
    gives mean and standard deviation, plus the share of saturated outputs (sigmoid: below
    0.02 or above 0.98; tanh: ``|out| > 0.98``) or of zeros (ReLU).
    """
    layer_list = list(getattr(model, "layers", []))
    if not layer_list:
        raise TypeError(f"activations: model must have a non-empty list of layers, got "
                        f"{type(model).__name__}")
    names = [getattr(layer, "name", type(layer).__name__) for layer in layer_list]
    if layers is None:
        chosen = set(range(len(layer_list)))
    else:
        chosen = set()
        for sel in [layers] if isinstance(layers, (str, int, type)) else list(layers):
            if isinstance(sel, type):
                chosen |= {i for i, layer in enumerate(layer_list) if isinstance(layer, sel)}
            elif isinstance(sel, str):
                if sel not in names:
                    raise ValueError(f"activations: no layer named {sel!r}; layers: {names}")
                chosen.add(names.index(sel))
            elif isinstance(sel, (int, np.integer)) and -len(layer_list) <= sel < len(layer_list):
                chosen.add(int(sel) % len(layer_list))
            else:
                raise ValueError(f"activations: layer selector {sel!r} is not an index in "
                                 f"[0, {len(layer_list)}), a layer name or a layer class")
        if not chosen:
            raise ValueError(f"activations: layers={layers!r} selects no layer of {names}")

    out = np.asarray(x)
    dtype = getattr(model, "dtype", None)
    if dtype is not None:
        out = out.astype(dtype, copy=False)
    recorded = []
    for i, layer in enumerate(layer_list):
        out = layer.forward(out, training=False)
        if i in chosen:
            recorded.append((names[i], layer, np.asarray(out, dtype=np.float64).ravel()))
        if i >= max(chosen):
            break

    fig, axes = _grid_figure(len(recorded), 4, fig, cell=(3.4, 2.6))
    for ax, (name, layer, values) in zip(axes, recorded, strict=True):
        finite = values[np.isfinite(values)]
        ax.hist(finite, bins=bins, color="tab:orange", alpha=0.85)
        ax.set_title(name)
        ax.set_xlabel(f"mean {finite.mean():.3g}, std {finite.std():.3g}"
                      f"{_activation_note(layer, finite)}" if finite.size else "no finite values",
                      fontsize=8)
        ax.set_ylabel("count")
    if title is None:
        title = "Activations (eval mode)"
    if title:
        fig.suptitle(title)
    return fig
