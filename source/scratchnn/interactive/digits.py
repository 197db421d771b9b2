"""The digit browser of the capstone (notebook 06): test images with a model's prediction and
the probability it gives each class.

The model is the student's: the browser receives a function ``probabilities(x) -> (N, C)``
(e.g. ``lambda x: Softmax().forward(model.predict(x))`` with the student's own layers) and
calls it once, on every image, when it is built. Nothing here computes a softmax or a
prediction of its own, so the browser works unchanged in the students' course bundle, which
ships no reference implementation.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ._common import describe, render_png, show_png, show_text

__all__ = ["digit_browser", "browse_order"]


def _as_probabilities(probs, n: int, who: str) -> np.ndarray:
    """``probs`` as a float64 array (n, C) of rows that are probability distributions, or a
    ValueError that says what was wrong and what to pass."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != n:
        raise ValueError(f"{who}: probabilities(x) should return an array of shape ({n}, C), "
                         f"one row of class probabilities per image; got shape {probs.shape}")
    if probs.shape[1] < 2:
        raise ValueError(f"{who}: probabilities(x) returned {probs.shape[1]} column(s): a "
                         f"classifier needs one probability per class (C >= 2)")
    if not np.all(np.isfinite(probs)):
        raise ValueError(f"{who}: probabilities(x) returned inf or nan")
    sums = probs.sum(axis=1)
    if np.any(probs < 0) or not np.allclose(sums, 1.0, atol=1e-4):
        worst = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(
            f"{who}: the rows of probabilities(x) must be probability distributions "
            f"(non-negative, summing to 1), but row {worst} sums to {sums[worst]:.4g}: if "
            f"your model outputs logits, pass lambda x: Softmax().forward(model.predict(x))")
    return probs


def browse_order(y_true, predicted, probs, show: str = "all") -> np.ndarray:
    """The indices of the images to browse, for a choice of ``show``.

    ``"all"``: every image, in order. ``"errors"``: the misclassified ones
    (``predicted != y_true``), in order. ``"least confident"``: every image, sorted by the
    probability of the predicted class, lowest first (ties keep their order). ``y_true``,
    ``predicted`` are ``(N,)`` integer arrays, ``probs`` is ``(N, C)``. Raises ValueError for
    another ``show``.
    """
    y_true, predicted = np.asarray(y_true), np.asarray(predicted)
    if show == "all":
        return np.arange(len(y_true))
    if show == "errors":
        return np.flatnonzero(predicted != y_true)
    if show == "least confident":
        confidence = np.asarray(probs)[np.arange(len(predicted)), predicted]
        return np.argsort(confidence, kind="stable")
    raise ValueError(f"browse_order: show must be 'all', 'errors' or 'least confident', got "
                     f"{show!r}")


def digit_browser(probabilities: Callable, x, y, image_shape: Sequence[int] | None = None,
                  class_names: Sequence[str] | None = None, show: str = "all",
                  index: int = 0):
    """Build a widget to browse test images with the model's prediction and probabilities.

    For the image the slider selects, the figure shows the image (left) with its true label
    and the predicted one (the most probable class), and a bar chart of the probability of
    every class (right): the predicted class in blue, the true class outlined in black
    (orange when the prediction is wrong). A toggle chooses which images the slider runs
    over: all, only the misclassified ones, or all sorted from the least confident
    prediction up.

    Parameters
    ----------
    probabilities:
        The model, as a function ``probabilities(x) -> (N, C)`` that returns one row of class
        probabilities (non-negative, summing to 1) per row of ``x``; called once, on all of
        ``x``, when the widget is built. For a model that outputs logits, wrap it with a
        softmax of your own, e.g. ``lambda x: Softmax().forward(model.predict(x))``.
    x:
        The images, ``(N, D)`` with ``D`` a square number (64 for the 8x8 digits, 784 for
        MNIST) unless ``image_shape`` is given, or ``(N, H, W)``.
    y:
        The true labels, integers ``(N,)`` in ``0..C-1``.
    image_shape:
        ``(H, W)`` of one image, when ``D`` is not a square.
    class_names:
        A name per class for the axis (default: ``0..C-1``).
    show:
        The images the slider runs over at first: ``"all"``, ``"errors"`` or
        ``"least confident"`` (see :func:`browse_order`).
    index:
        The position in that list shown first.

    Returns
    -------
    ipywidgets.VBox
        The toggle, the slider and an ``ipywidgets.Output`` with the PNG of the figure. It
        carries ``controls`` (``{"show": the ToggleButtons, "image": the IntSlider}``: the
        slider's ``value`` is a position in ``order``), ``output``, ``probs`` (``(N, C)``),
        ``predicted`` (``(N,)``), ``accuracy``, ``order`` (the indices of the images the
        slider runs over), ``index`` (the index into ``x`` of the image shown, ``None`` when
        the list is empty), ``figure``, ``png`` and ``error`` (a message when drawing failed,
        else ``None``).

    Raises
    ------
    TypeError
        ``probabilities`` is not callable.
    ValueError
        Shapes that do not fit (images, labels, probabilities), labels out of range,
        probabilities whose rows are not distributions, an unknown ``show``.

    Examples
    --------
    >>> digit_browser(lambda x: Softmax().forward(model.predict(x)), x_test, y_test)
    ... # doctest: +SKIP
    """
    import ipywidgets as widgets
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    who = "digit_browser"
    if not callable(probabilities):
        raise TypeError(f"{who}: probabilities must be a function x -> (N, C) class "
                        f"probabilities, e.g. lambda x: Softmax().forward(model.predict(x)); "
                        f"got {type(probabilities).__name__}")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim not in (2, 3) or len(x) == 0:
        raise ValueError(f"{who}: x should hold images as rows (N, D) or (N, H, W), got shape "
                         f"{x.shape}")
    if y.shape != (len(x),) or y.dtype.kind not in "iu":
        raise ValueError(f"{who}: y should be integer labels of shape ({len(x)},), got "
                         f"{y.dtype} of shape {y.shape}")
    if image_shape is None:
        if x.ndim == 3:
            image_shape = x.shape[1:]
        else:
            side = int(round(np.sqrt(x.shape[1])))
            if side * side != x.shape[1]:
                raise ValueError(f"{who}: rows of {x.shape[1]} pixels are not square images: "
                                 f"pass image_shape=(H, W)")
            image_shape = (side, side)
    image_shape = tuple(int(s) for s in image_shape)
    if int(np.prod(image_shape)) != int(np.prod(x.shape[1:])):
        raise ValueError(f"{who}: image_shape {image_shape} does not fit images of "
                         f"{int(np.prod(x.shape[1:]))} pixels")
    probs = _as_probabilities(probabilities(x), len(x), who)
    n_classes = probs.shape[1]
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"{who}: labels must be in 0..{n_classes - 1} (the model gives "
                         f"{n_classes} probabilities per image), got {y.min()}..{y.max()}")
    names = [str(c) for c in (class_names if class_names is not None else range(n_classes))]
    if len(names) != n_classes:
        raise ValueError(f"{who}: {len(names)} class names for {n_classes} classes")
    predicted = probs.argmax(axis=1)
    options = [("all", "all"), ("errors only", "errors"), ("least confident", "least confident")]
    browse_order(y, predicted, probs, show)   # refuse an unknown `show` before building

    toggle = widgets.ToggleButtons(options=options, value=show, description="show")
    slider = widgets.IntSlider(value=0, min=0, max=0, description="image",
                               continuous_update=False)
    out = widgets.Output()
    box = widgets.VBox([toggle, slider, out])
    box.controls, box.output = {"show": toggle, "image": slider}, out
    box.probs, box.predicted = probs, predicted
    box.accuracy = float(np.mean(predicted == y))
    box.order = box.index = box.figure = box.png = box.error = None

    def draw(i: int):
        fig = Figure(figsize=(7.0, 3.0))
        FigureCanvasAgg(fig)
        ax_img, ax_bar = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.8]})
        ax_img.imshow(x[i].reshape(image_shape), cmap="gray_r")
        ax_img.set_xticks([])
        ax_img.set_yticks([])
        right = predicted[i] == y[i]
        ax_img.set_title(f"image {i}: true {names[y[i]]}, predicted {names[predicted[i]]}",
                         fontsize=9, color="black" if right else "tab:red")
        colors = ["tab:blue" if c == predicted[i] else "lightgray" for c in range(n_classes)]
        bars = ax_bar.bar(range(n_classes), probs[i], color=colors)
        bars[y[i]].set_edgecolor("black" if right else "tab:orange")
        bars[y[i]].set_linewidth(2)
        ax_bar.set_xticks(range(n_classes), names, fontsize=8)
        ax_bar.set(ylim=(0, 1.05), ylabel="probability",
                   title=f"p({names[predicted[i]]}) = {probs[i, predicted[i]]:.3f}")
        fig.subplots_adjust(left=0.03, right=0.98, bottom=0.12, top=0.86, wspace=0.25)
        return fig

    def redraw(change=None):
        order = box.order
        if len(order) == 0:
            box.index = box.figure = box.png = None
            box.error = None
            show_text(out, "no image to show: the model classifies every image correctly")
            return
        i = int(order[min(int(slider.value), len(order) - 1)])
        try:
            fig = draw(i)
            png = render_png(fig)
        except Exception as exc:  # never raise from a widget callback: show it
            box.error = f"drawing image {i} failed: {describe(exc)}"
            show_text(out, box.error)
            return
        box.index, box.figure, box.png, box.error = i, fig, png, None
        show_png(out, png, f"image {i}: true {names[y[i]]}, predicted {names[predicted[i]]}")

    def choose(change=None):
        box.order = browse_order(y, predicted, probs, toggle.value)
        slider.max = max(len(box.order) - 1, 0)
        slider.value = min(int(slider.value), int(slider.max))
        redraw()

    box.order = browse_order(y, predicted, probs, show)
    slider.max = max(len(box.order) - 1, 0)
    slider.value = min(max(int(index), 0), int(slider.max))
    redraw()
    toggle.observe(choose, names="value")
    slider.observe(redraw, names="value")
    return box
