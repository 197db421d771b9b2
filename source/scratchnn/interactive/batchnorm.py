"""The activation explorer of notebook 05: how the scale of the initial weights and batch norm
shape the distribution of activations, layer by layer, in a deep ReLU network that runs on the
student's own forward pass.

The network is the notebook's: a list of layer dicts (``{"W", "b"}``, plus ``"gamma"`` and
``"beta"`` when batch norm follows the dense layer) and a list of running statistics, fed to
``forward(params, running, x, training=True) -> (scores, caches, new_running)`` whose
``caches[i]["input"]`` is layer ``i``'s input. Nothing here computes a layer: every number
shown comes from the caller's ``forward``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..rng import as_generator
from ._common import describe, render_png, show_png, show_text

__all__ = ["init_network", "layer_activations", "activation_explorer"]


def init_network(sizes, init_scale: float = 1.0, batchnorm: bool = True, seed: int = 0):
    """Random layers and fresh running statistics for a ReLU MLP of the given ``sizes``.

    ``W_i ~ N(0, (init_scale * sqrt(2 / fan_in))^2)``: He initialization (He et al., 2015)
    times ``init_scale``; ``b_i = 0``. With ``batchnorm``, every layer but the last gets
    ``gamma = 1`` and ``beta = 0`` and running statistics ``(zeros, ones)`` (PyTorch's start);
    the last layer's entry is ``None``. Returns ``(params, running)``, float64, drawn from
    ``seed`` (an int, or an ``np.random.Generator``, which is used as is). Raises ValueError for
    fewer than two sizes or a non-positive ``init_scale``, TypeError for a bad ``seed``.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"init_network: sizes must list at least an input and an output "
                         f"size, all >= 1, got {sizes}")
    if not init_scale > 0:
        raise ValueError(f"init_network: init_scale must be positive, got {init_scale}")
    rng = as_generator(seed, "init_network: seed")
    params, running = [], []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        layer = {"W": rng.normal(0.0, init_scale * np.sqrt(2.0 / fan_in), size=(fan_in, fan_out)),
                 "b": np.zeros(fan_out)}
        stats = None
        if batchnorm and i < len(sizes) - 2:
            layer["gamma"], layer["beta"] = np.ones(fan_out), np.zeros(fan_out)
            stats = (np.zeros(fan_out), np.ones(fan_out))
        params.append(layer)
        running.append(stats)
    return params, running


def layer_activations(forward: Callable, x, depth: int = 6, width: int = 64,
                      init_scale: float = 1.0, batchnorm: bool = True, seed: int = 0,
                      classes: int = 10) -> list[np.ndarray]:
    """The activations after each hidden layer of a fresh network, computed by ``forward``.

    The network has ``depth`` layers: ``depth - 1`` hidden layers of ``width`` units (dense,
    batch norm if ``batchnorm``, ReLU) and an output layer of ``classes`` units, initialized by
    :func:`init_network`. One forward pass in training mode on ``x (N, D)``; returns the
    ``depth - 1`` arrays ``caches[i]["input"]`` for ``i = 1 .. depth - 1`` (each ``(N, width)``).
    Raises TypeError when ``forward`` is not callable, ValueError for ``depth < 2`` or an
    ``x`` that is not 2-D, and whatever ``forward`` raises.
    """
    if not callable(forward):
        raise TypeError(f"layer_activations: forward must be your mlp_forward(params, running, "
                        f"X, training) function, got {type(forward).__name__}")
    if int(depth) < 2:
        raise ValueError(f"layer_activations: depth must be >= 2, got {depth}")
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"layer_activations: x must be a batch (N, D), got shape {x.shape}")
    sizes = [x.shape[1]] + [int(width)] * (int(depth) - 1) + [int(classes)]
    params, running = init_network(sizes, init_scale, batchnorm, seed)
    _, caches, _ = forward(params, running, x, True)
    return [np.asarray(caches[i]["input"], dtype=float) for i in range(1, int(depth))]


def _draw(activations, init_scale: float, batchnorm: bool):
    """The figure: one histogram per layer, with the layer's mean and standard deviation."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(activations)
    fig = Figure(figsize=(8.4, 2.6))
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, n, sharey=True))
    for i, (ax, values) in enumerate(zip(axes, activations, strict=True)):
        flat = values.ravel()
        finite = flat[np.isfinite(flat)]
        spread = float(np.std(finite)) if finite.size else float("nan")
        top = float(np.max(finite)) if finite.size and np.max(finite) > 0 else 1.0
        ax.hist(finite, bins=30, range=(0.0, top), color="tab:blue", alpha=0.8)
        ax.set_title(f"layer {i + 1}\nstd {spread:.2g}", fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.set_yscale("log")
    axes[0].set_ylabel("count", fontsize="small")
    mode = "with batch norm" if batchnorm else "without batch norm"
    fig.suptitle(f"activations after each hidden layer: init scale {init_scale:.3g} x He, "
                 f"{mode}", fontsize="medium")
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.12, top=0.72, wspace=0.15)
    return fig


def activation_explorer(forward: Callable, x, depth: int = 6, width: int = 64, *,
                        init_scale: float = 1.0, batchnorm: bool = True, seed: int = 0,
                        classes: int = 10):
    """Build a widget: the initial weights' scale and batch norm on/off -> the histogram of
    the activations after each hidden layer, from the caller's ``forward``.

    Parameters
    ----------
    forward:
        The student's ``mlp_forward(params, running, X, training) -> (scores, caches,
        new_running)``, with ``caches[i]["input"]`` the input of layer ``i``; required (it is
        an exercise's answer, so the widget has no default).
    x:
        A batch ``(N, D)`` of inputs, e.g. a few hundred standardized images.
    depth, width, classes, seed:
        The network of :func:`layer_activations`.
    init_scale, batchnorm:
        The starting values of the two controls: a log slider from 0.1 to 10 (times He's
        ``sqrt(2 / fan_in)``) and a checkbox.

    Returns
    -------
    ipywidgets.VBox
        Carrying ``controls`` (``{"init_scale": slider, "batchnorm": checkbox}``), ``output``
        (an ``Output`` with the PNG), and for the drawing on show ``activations`` (the list of
        arrays), ``figure``, ``png`` and ``error`` (the message when ``forward`` raised, else
        ``None``: a broken function shows a message, it does not raise).
    """
    import ipywidgets as widgets

    if not callable(forward):
        raise TypeError(f"activation_explorer: forward must be your mlp_forward(params, "
                        f"running, X, training) function, got {type(forward).__name__}")
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"activation_explorer: x must be a batch (N, D), got shape {x.shape}")
    scale = widgets.FloatLogSlider(value=float(init_scale), base=10, min=-1, max=1, step=0.05,
                                   description="init scale", continuous_update=False)
    norm = widgets.Checkbox(value=bool(batchnorm), description="batch norm")
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([scale, norm]), out])
    box.controls, box.output = {"init_scale": scale, "batchnorm": norm}, out
    box.activations = box.figure = box.png = box.error = None

    def redraw(_change=None):
        try:
            box.activations = layer_activations(forward, x, depth, width, scale.value,
                                                norm.value, seed, classes)
            box.figure = _draw(box.activations, scale.value, norm.value)
            box.png = render_png(box.figure)
        except Exception as exc:  # noqa: BLE001 (a student's function may raise anything)
            box.error = f"drawing failed: {describe(exc)}"
            box.activations = box.figure = box.png = None
            show_text(out, box.error)
            return
        box.error = None
        show_png(out, box.png, f"activations, init scale {scale.value:.3g}, "
                               f"batch norm {'on' if norm.value else 'off'}")

    scale.observe(redraw, names="value")
    norm.observe(redraw, names="value")
    redraw()
    return box
