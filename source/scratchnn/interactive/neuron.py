"""The neuron playground of notebook 01: one neuron with two inputs, weights on sliders."""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ._common import reference_functions, render_png

__all__ = ["neuron_playground"]

_ACTIVATION_HINT = ("pass your own activation functions, e.g. "
                    "neuron_playground({'sigmoid': sigmoid, 'relu': relu})")


def _default_activations() -> dict[str, Callable]:
    """The reference activations of :mod:`scratchnn.functional`, plus ``linear``."""
    acts = reference_functions(("sigmoid", "tanh", "relu", "leaky_relu"), "neuron_playground",
                               _ACTIVATION_HINT)
    acts["linear"] = lambda z: np.asarray(z, dtype=float)
    return acts


def _signed(value: float) -> str:
    """Format ``value`` as a term that follows another one: ``+ 1.5`` or ``- 1.5``."""
    return f"{'-' if value < 0 else '+'} {abs(value):.1f}"


def neuron_playground(
    activations: Mapping[str, Callable] | None = None,
    w1: float = 1.0,
    w2: float = -1.0,
    b: float = 0.0,
    activation: str | None = None,
    points=None,
    extent: float = 3.0,
    resolution: int = 121,
    continuous_update: bool = False,
):
    """Build a widget to explore one neuron with two inputs: ``a = f(w1 x1 + w2 x2 + b)``.

    Three sliders set the weights ``w1``, ``w2`` and the bias ``b``; a dropdown picks the
    activation ``f``. On every change the plot is redrawn: on the left, the neuron's output
    ``a`` over the square ``[-extent, extent]**2`` of inputs, with the decision boundary
    ``z = w1 x1 + w2 x2 + b = 0`` drawn as a line (where a sigmoid neuron says 0.5, and a ReLU
    neuron switches on); on the right, the activation curve ``f(z)`` with the range of ``z``
    that the square covers shaded.

    Parameters
    ----------
    activations:
        Mapping from a name to a function ``f(z) -> ndarray`` applied elementwise, e.g. your
        own ``{"sigmoid": sigmoid, "relu": relu}``. Defaults to the reference functions of
        :mod:`scratchnn.functional` (sigmoid, tanh, relu, leaky_relu) plus ``linear``; in the
        students' course bundle, which has no reference functions, leaving it out raises a
        ``TypeError`` that says so.
    w1, w2, b:
        Starting values of the sliders (each slider spans -5 to 5).
    activation:
        Name of the starting activation; defaults to the first key of ``activations``.
    points:
        Optional ``(X, y)`` with ``X`` of shape ``(N, 2)`` and labels ``y`` in {0, 1}, drawn
        on top of the surface; the title then shows the accuracy of the rule ``z > 0 -> 1``.
    extent, resolution:
        Half-width of the input square and the number of grid points per axis.
    continuous_update:
        Redraw while a slider is dragged (``True``) or only when it is released (``False``).

    Returns
    -------
    ipywidgets.VBox
        Its children are the controls and an ``ipywidgets.Output`` holding the PNG of the
        plot. For tests and curious students, the box also carries ``controls`` (a dict of
        the four control widgets by name), ``output`` (the ``Output``), ``surface`` (the
        last computed outputs, shape ``(resolution, resolution)``), ``png`` (the last
        rendered image as bytes) and ``error`` (the message shown if the activation raised,
        else ``None``).

    Examples
    --------
    >>> from scratchnn.interactive import neuron_playground
    >>> neuron_playground()                                   # doctest: +SKIP
    >>> neuron_playground({"sigmoid": sigmoid, "relu": relu})  # your own functions
    """
    import ipywidgets as widgets
    from IPython.display import Image
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    acts = dict(activations) if activations is not None else _default_activations()
    if not acts:
        raise ValueError("neuron_playground: `activations` is empty; pass at least one function")
    for name, fn in acts.items():
        if not callable(fn):
            raise TypeError(f"neuron_playground: activation {name!r} is not callable")
    if activation is None:
        activation = next(iter(acts))
    if activation not in acts:
        raise ValueError(
            f"neuron_playground: unknown activation {activation!r}; choose one of {sorted(acts)}"
        )
    if resolution < 2:
        raise ValueError(f"neuron_playground: resolution must be at least 2, got {resolution}")
    if points is not None:
        px, py = np.asarray(points[0], dtype=float), np.asarray(points[1]).ravel()
        if px.ndim != 2 or px.shape[1] != 2 or px.shape[0] != py.shape[0]:
            raise ValueError(
                f"neuron_playground: points must be (X, y) with X of shape (N, 2) and y of "
                f"shape (N,), got X {px.shape} and y {py.shape}"
            )

    axis = np.linspace(-extent, extent, resolution)
    x1, x2 = np.meshgrid(axis, axis)

    def slider(value, description):
        return widgets.FloatSlider(
            value=value, min=-5.0, max=5.0, step=0.1, description=description,
            continuous_update=continuous_update, readout_format=".1f",
        )

    controls = {
        "w1": slider(w1, "w1"),
        "w2": slider(w2, "w2"),
        "b": slider(b, "b"),
        "activation": widgets.Dropdown(
            options=list(acts), value=activation, description="activation"
        ),
    }
    out = widgets.Output()
    box = widgets.VBox([
        widgets.HBox([controls["w1"], controls["w2"]]),
        widgets.HBox([controls["b"], controls["activation"]]),
        out,
    ])
    box.controls, box.output = controls, out
    box.surface = None
    box.png = None
    box.error = None

    # One figure for the widget's life: each redraw updates its artists' data and renders it
    # again. Building a figure, laying it out and contouring on every slider move cost ~0.45 s
    # of CPU; updating costs a fraction of that. The layout is fixed once (no constrained
    # layout per draw), and the decision boundary of a linear z is a straight line, drawn as
    # one (no contour).
    fig = Figure(figsize=(9.5, 4.0))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.13, top=0.9, wspace=0.3)
    ax, ax_f = fig.subplots(1, 2, width_ratios=[1.15, 1])
    image = ax.imshow(np.zeros_like(x1), origin="lower", cmap="coolwarm",
                      extent=(-extent, extent, -extent, extent), interpolation="nearest")
    colorbar = fig.colorbar(image, ax=ax)
    (boundary,) = ax.plot([], [], color="black", linewidth=2)
    if points is not None:
        for label, marker, color in ((0, "o", "white"), (1, "^", "gold")):
            mask = py == label
            ax.scatter(px[mask, 0], px[mask, 1], marker=marker, c=color,
                       edgecolors="black", s=36, label=f"class {label}")
        ax.legend(loc="lower left", fontsize="small", framealpha=0.8)
    ax.set(xlim=(-extent, extent), ylim=(-extent, extent), xlabel="x1", ylabel="x2",
           aspect="equal")
    (curve_line,) = ax_f.plot([], [], color="black")
    ax_f.axvline(0.0, color="gray", linewidth=0.8)
    ax_f.axhline(0.0, color="gray", linewidth=0.8)
    ax_f.set(xlabel="z", title="the activation")
    spans = []

    def draw(fn, name, wa, wb, bias):
        z = wa * x1 + wb * x2 + bias
        a = np.asarray(fn(z), dtype=float)
        if a.shape != z.shape:
            raise ValueError(f"returned shape {a.shape} for an input of shape {z.shape}")
        zmin, zmax = float(z.min()), float(z.max())
        reach = max(8.0, 1.25 * max(abs(zmin), abs(zmax)))
        zs = np.linspace(-reach, reach, 401)
        curve = np.asarray(fn(zs), dtype=float)

        finite = a[np.isfinite(a)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        image.set_data(a)
        image.set_clim(low, high if high > low else low + 1.0)
        colorbar.set_label(f"output a = {name}(z)")
        if wb != 0.0:    # z = 0 on the line x2 = -(w1 x1 + b) / w2
            ends = np.array([-extent, extent])
            boundary.set_data(ends, -(wa * ends + bias) / wb)
        elif wa != 0.0:  # a vertical line x1 = -b / w1
            boundary.set_data([-bias / wa] * 2, [-extent, extent])
        else:            # z = b everywhere: no boundary
            boundary.set_data([], [])
        title = f"z = {wa:.1f}·x1 {_signed(wb)}·x2 {_signed(bias)}"
        if points is not None:
            pred = (wa * px[:, 0] + wb * px[:, 1] + bias > 0).astype(int)
            title += f"   accuracy {np.mean(pred == py):.0%}"
        ax.set_title(title)

        curve_line.set_data(zs, curve)
        while spans:
            spans.pop().remove()
        spans.append(ax_f.axvspan(zmin, zmax, color="tab:orange", alpha=0.2,
                                  label="z values on the left"))
        ax_f.legend(loc="upper left")
        ax_f.set_xlim(-reach, reach)
        shown = curve[np.isfinite(curve)]
        c_low, c_high = (float(shown.min()), float(shown.max())) if shown.size else (0.0, 1.0)
        pad = 0.05 * (c_high - c_low) if c_high > c_low else 0.5
        ax_f.set_ylim(c_low - pad, c_high + pad)
        ax_f.set_ylabel(f"{name}(z)")
        return a, render_png(fig)

    def redraw(change=None):
        name = controls["activation"].value
        wa, wb, bias = (float(controls[k].value) for k in ("w1", "w2", "b"))
        # The Output widget is filled through its `outputs` state, not by capturing prints in
        # `with out:`: outside a browser (nbclient, nbgrader's autograde) the capture path
        # sometimes stalls the cell until its timeout (jupyter/nbclient#312).
        try:
            surface, png = draw(acts[name], name, wa, wb, bias)
        except Exception as exc:  # show the student's error next to the sliders
            box.error = f"{name} raised {type(exc).__name__}" + (f": {exc}" if str(exc) else "")
            text = box.error + "\n"
            if isinstance(exc, NotImplementedError):
                text += f"Finish the exercise that defines `{name}` and run this cell again.\n"
            out.outputs = ({"output_type": "stream", "name": "stdout", "text": text},)
            return
        box.error = None
        box.surface, box.png = surface, png
        out.outputs = ()
        out.append_display_data(Image(data=png, format="png"))

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return box
