"""Interactive widgets for the course notebooks.

- :func:`neuron_playground`: one neuron with two inputs, weights on sliders (notebook 01).
- :func:`optimizer_race`: SGD, momentum, Nesterov, RMSProp and Adam racing down a 2-D loss
  surface (notebook 03); :func:`race_trajectories` is the computation behind it, no widgets.
- :func:`training_scrubber`: a slider over snapshots of training, recorded with the
  :class:`SnapshotRecorder` callback, showing the decision boundary and the loss curve.

Every builder returns an ``ipywidgets.VBox`` holding its controls and an ``Output`` with the
plot, and exposes them as ``box.controls`` (a dict by name) and ``box.output``, so code (and
tests) can drive a widget by setting ``box.controls[name].value``.

The widgets need the ``course`` extra (matplotlib and ipywidgets). Both are imported inside
the functions, so ``import scratchnn.interactive`` stays cheap and works without them.
"""

from __future__ import annotations

import base64
import io
import textwrap
from dataclasses import dataclass, replace
from typing import Callable, Mapping

import numpy as np

from .callbacks import Callback

__all__ = [
    "neuron_playground", "optimizer_race", "race_trajectories", "RaceResult", "Surface",
    "SURFACES", "OPTIMIZERS", "training_scrubber", "SnapshotRecorder",
]


def _default_activations() -> dict[str, Callable]:
    from . import functional as F

    return {
        "sigmoid": F.sigmoid,
        "tanh": F.tanh,
        "relu": F.relu,
        "leaky_relu": F.leaky_relu,
        "linear": lambda z: np.asarray(z, dtype=float),
    }


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
        :mod:`scratchnn.functional` (sigmoid, tanh, relu, leaky_relu) plus ``linear``.
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
    from IPython.display import Image, display
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

    def draw(fn, name, wa, wb, bias):
        z = wa * x1 + wb * x2 + bias
        a = np.asarray(fn(z), dtype=float)
        if a.shape != z.shape:
            raise ValueError(f"returned shape {a.shape} for an input of shape {z.shape}")
        zmin, zmax = float(z.min()), float(z.max())
        reach = max(8.0, 1.25 * max(abs(zmin), abs(zmax)))
        zs = np.linspace(-reach, reach, 401)
        curve = np.asarray(fn(zs), dtype=float)

        fig = Figure(figsize=(9.5, 4.0), layout="constrained")
        FigureCanvasAgg(fig)
        ax, ax_f = fig.subplots(1, 2, width_ratios=[1.15, 1])
        image = ax.pcolormesh(x1, x2, a, cmap="coolwarm", shading="auto")
        fig.colorbar(image, ax=ax, label=f"output a = {name}(z)")
        if wa != 0.0 or wb != 0.0:
            ax.contour(x1, x2, z, levels=[0.0], colors="black", linewidths=2)
        title = f"z = {wa:.1f}·x1 {_signed(wb)}·x2 {_signed(bias)}"
        if points is not None:
            for label, marker, color in ((0, "o", "white"), (1, "^", "gold")):
                mask = py == label
                ax.scatter(px[mask, 0], px[mask, 1], marker=marker, c=color,
                           edgecolors="black", s=36, label=f"class {label}")
            ax.legend(loc="lower left", fontsize="small", framealpha=0.8)
            pred = (wa * px[:, 0] + wb * px[:, 1] + bias > 0).astype(int)
            title += f"   accuracy {np.mean(pred == py):.0%}"
        ax.set(xlim=(-extent, extent), ylim=(-extent, extent), xlabel="x1", ylabel="x2",
               title=title, aspect="equal")
        ax_f.plot(zs, curve, color="black")
        ax_f.axvspan(zmin, zmax, color="tab:orange", alpha=0.2, label="z values on the left")
        ax_f.axvline(0.0, color="gray", linewidth=0.8)
        ax_f.axhline(0.0, color="gray", linewidth=0.8)
        ax_f.set(xlabel="z", ylabel=f"{name}(z)", title="the activation")
        ax_f.legend(loc="upper left")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        return a, buffer.getvalue()

    def redraw(change=None):
        name = controls["activation"].value
        wa, wb, bias = (float(controls[k].value) for k in ("w1", "w2", "b"))
        out.clear_output(wait=True)
        with out:
            try:
                surface, png = draw(acts[name], name, wa, wb, bias)
            except Exception as exc:  # show the student's error next to the sliders
                box.error = f"{name} raised {type(exc).__name__}" + (f": {exc}" if str(exc) else "")
                print(box.error)
                if isinstance(exc, NotImplementedError):
                    print(f"Finish the exercise that defines `{name}` and run this cell again.")
                return
            box.error = None
            box.surface, box.png = surface, png
            display(Image(data=png, format="png"))

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return box


# --------------------------------------------------------------------------------------------
# Shared helpers of the widgets
# --------------------------------------------------------------------------------------------

def _render_png(fig, dpi: int = 80) -> bytes:
    """The figure as PNG bytes (drawn with the Agg canvas the figure was created with)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _show_png(out, png: bytes, text: str) -> None:
    """Replace what the ``Output`` widget shows with one image, in one step (no flicker).

    Setting ``outputs`` works in a kernel and outside one (tests), unlike ``with out:``.
    """
    out.outputs = ({
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text},
        "metadata": {},
    },)


def _show_text(out, text: str) -> None:
    """Replace what the ``Output`` widget shows with a text message."""
    out.outputs = ({"output_type": "stream", "name": "stdout", "text": text + "\n"},)


def _describe(exc: BaseException) -> str:
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


# --------------------------------------------------------------------------------------------
# Optimizer race on 2-D loss surfaces
# --------------------------------------------------------------------------------------------

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")

_COLORS = {"sgd": "tab:blue", "momentum": "tab:orange", "nesterov": "tab:green",
           "rmsprop": "tab:red", "adam": "tab:purple"}


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface for :func:`race_trajectories` and :func:`optimizer_race`.

    ``fn(x, y) -> (value, (df_dx, df_dy))`` is the protocol of every surface: given the two
    coordinates it returns the loss and its gradient. Written with NumPy operations it works
    elementwise on arrays of any (equal) shape, which is how the contour plot evaluates it on
    a grid; a function that only handles Python floats works too (the grid is then evaluated
    point by point). The other fields are defaults for the race: the ``start`` point ``(x0,
    y0)``, the plotted window ``xlim``/``ylim``, the ``minima`` marked with a star (a tuple of
    points), the lowest value ``min_value`` (the loss panel then shows ``f - min_value`` on a
    log scale), a learning rate ``lr`` and a number of ``steps`` that make a good race.
    """

    name: str
    fn: Callable
    start: tuple[float, float] | None = None
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None
    minima: tuple[tuple[float, float], ...] = ()
    min_value: float | None = None
    lr: float = 1e-2
    steps: int = 100

    def __call__(self, x, y):
        return self.fn(x, y)


def _rosenbrock(x, y):
    """``f = (1 - x)**2 + 100 (y - x**2)**2``: a curved flat valley; f(1, 1) = 0."""
    r = y - x * x
    return (1 - x) ** 2 + 100 * r * r, (-2 * (1 - x) - 400 * x * r, 200 * r)


def _beale(x, y):
    """``f = (1.5 - x + xy)**2 + (2.25 - x + xy**2)**2 + (2.625 - x + xy**3)**2``; f(3, 0.5) = 0."""
    y2 = y * y
    y3 = y2 * y
    a1, a2, a3 = 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3
    value = a1 * a1 + a2 * a2 + a3 * a3
    gx = 2 * (a1 * (y - 1) + a2 * (y2 - 1) + a3 * (y3 - 1))
    gy = 2 * x * (a1 + 2 * a2 * y + 3 * a3 * y2)
    return value, (gx, gy)


def _saddle(x, y):
    """``f = x**2 + y**4 / 4 - y**2 / 2``: a saddle point at (0, 0) between minima at (0, +-1)."""
    y2 = y * y
    return x * x + 0.25 * y2 * y2 - 0.5 * y2, (2 * x, y2 * y - y)


def _ill_conditioned(x, y):
    """``f = x**2 / 2 + 25 y**2``: a narrow valley along x (condition number 50); f(0, 0) = 0."""
    return 0.5 * x * x + 25 * y * y, (x, 50 * y)


SURFACES: dict[str, Surface] = {
    "rosenbrock": Surface("rosenbrock", _rosenbrock, start=(-1.2, 1.0), xlim=(-2.0, 2.0),
                          ylim=(-1.0, 3.0), minima=((1.0, 1.0),), min_value=0.0, lr=2e-3,
                          steps=1000),
    "beale": Surface("beale", _beale, start=(0.7, 1.4), xlim=(-1.5, 4.5), ylim=(-2.0, 2.5),
                     minima=((3.0, 0.5),), min_value=0.0, lr=1e-2, steps=500),
    "saddle": Surface("saddle", _saddle, start=(-2.0, 1e-3), xlim=(-2.5, 2.5),
                      ylim=(-1.75, 1.75), minima=((0.0, 1.0), (0.0, -1.0)), min_value=-0.25,
                      lr=3e-2, steps=150),
    "ill_conditioned": Surface("ill_conditioned", _ill_conditioned, start=(-4.0, 1.0),
                               xlim=(-5.0, 5.0), ylim=(-2.0, 2.0), minima=((0.0, 0.0),),
                               min_value=0.0, lr=2.5e-2, steps=100),
}
"""The built-in surfaces of :func:`optimizer_race`, by name."""


def _as_surface(surface) -> Surface:
    if isinstance(surface, Surface):
        return surface
    if isinstance(surface, str):
        if surface not in SURFACES:
            raise ValueError(f"unknown surface {surface!r}; choose one of {list(SURFACES)} or "
                             f"pass a function f(x, y) -> (value, (df_dx, df_dy))")
        return SURFACES[surface]
    if callable(surface):
        return Surface(getattr(surface, "__name__", "custom"), surface)
    raise TypeError(f"surface must be a name, a Surface or a function f(x, y) -> (value, "
                    f"(df_dx, df_dy)), got {type(surface).__name__}")


def _value_and_grad(surface: Surface, point: np.ndarray):
    """``(f, grad (2,))`` at one point; shapes of the user's function checked."""
    result = surface.fn(point[0], point[1])
    try:
        value, (gx, gy) = result
    except (TypeError, ValueError):
        raise ValueError(f"surface {surface.name!r} must return (value, (df_dx, df_dy)), got "
                         f"{type(result).__name__}") from None
    grad = np.array([np.asarray(gx, dtype=float), np.asarray(gy, dtype=float)])
    if grad.shape != (2,) or np.ndim(value) != 0:
        raise ValueError(f"surface {surface.name!r}: at one point (x, y) it must return a scalar "
                         f"value and a gradient of two scalars, got a value of shape "
                         f"{np.shape(value)} and a gradient of shape {grad.shape}")
    return float(value), grad


def _surface_grid(surface: Surface, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``f`` on the grid ``meshgrid(xs, ys)``, shape ``(len(ys), len(xs))``, nan if not finite."""
    gx, gy = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        try:
            values = np.asarray(surface.fn(gx, gy)[0], dtype=float)
            if values.shape != gx.shape:
                raise ValueError
        except Exception:  # a function of floats only: evaluate point by point
            values = np.array([float(surface.fn(float(a), float(b))[0])
                               for a, b in zip(gx.ravel(), gy.ravel(), strict=True)])
            values = values.reshape(gx.shape)
    return np.where(np.isfinite(values), values, np.nan)


class RaceResult(dict):
    """What :func:`race_trajectories` returns: a dict ``{optimizer name: positions}``.

    Each ``positions`` array has shape ``(steps + 1, 2)``: row 0 is the start, row ``t`` the
    point after ``t`` updates. Every value is finite. Extra attributes:

    ``losses``
        ``{name: (steps + 1,) array}``, the surface value at each position (nan once a run
        has diverged).
    ``diverged``
        ``{name: t or None}``: the first step ``t`` whose update left the box
        ``|x|, |y| <= bound`` or produced a non-finite value. From row ``t`` on, the
        positions stay frozen at that step's point clipped into the box (or, if it was not
        finite, at the last finite one).
    ``surface``
        The :class:`Surface` the race ran on.
    """

    def __init__(self, surface: Surface):
        super().__init__()
        self.surface = surface
        self.losses: dict[str, np.ndarray] = {}
        self.diverged: dict[str, int | None] = {}


def _check_optimizers(optimizers, who: str) -> tuple[str, ...]:
    names = (optimizers,) if isinstance(optimizers, str) else tuple(optimizers)
    for name in names:
        if name not in OPTIMIZERS:
            raise ValueError(f"{who}: unknown optimizer {name!r}; choose from {list(OPTIMIZERS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"{who}: optimizers must not repeat, got {list(names)}")
    return names


def race_trajectories(surface="rosenbrock", optimizers=OPTIMIZERS, lr=None, steps=None,
                      start=None, *, beta: float = 0.9, rho: float = 0.99,
                      betas: tuple[float, float] = (0.9, 0.999), noise: float = 0.0,
                      seed=0, bound: float = 1e6, rules: Mapping[str, Callable] | None = None,
                      ) -> RaceResult:
    """Run each optimizer from the same start on a 2-D surface; return the paths.

    Every run is plain full-batch descent on ``f(x, y)`` with the update rules of
    :mod:`scratchnn.functional`, the parameter being the point ``p = (x, y)``, shape ``(2,)``:

    - ``sgd``: ``p <- p - lr g``
    - ``momentum``: ``v <- beta v + g``, ``p <- p - lr v``
    - ``nesterov``: ``v <- beta v + g``, ``p <- p - lr (g + beta v)``
    - ``rmsprop``: ``s <- rho s + (1 - rho) g**2``, ``p <- p - lr g / (sqrt(s) + eps)``
    - ``adam``: bias-corrected moments with ``betas = (beta1, beta2)``, step number from 1.

    Parameters
    ----------
    surface:
        A built-in name (``"rosenbrock"``, ``"beale"``, ``"saddle"``, ``"ill_conditioned"``,
        see :data:`SURFACES`), a :class:`Surface`, or a function
        ``f(x, y) -> (value, (df_dx, df_dy))`` returning the loss and its gradient.
    optimizers:
        Names from ``("sgd", "momentum", "nesterov", "rmsprop", "adam")``, run in this order.
    lr:
        Learning rate, one float for all, or a dict ``{name: lr}``. Default: the surface's.
    steps:
        Number of updates (>= 0). Default: the surface's.
    start:
        The start point ``(x0, y0)``. Default: the surface's (required for a plain function).
    beta, rho, betas:
        Momentum coefficient (momentum, nesterov), RMSProp's decay, Adam's two decays.
    noise, seed:
        Standard deviation of Gaussian noise added to every gradient (a stand-in for the noise
        of mini-batches) and the seed of that noise. Every optimizer sees the same noise.
    bound:
        A run that leaves the box ``|x|, |y| <= bound`` (or meets a non-finite value) is
        stopped and flagged in ``result.diverged``; nothing overflows or warns.
    rules:
        Optional replacements for the reference update rules, e.g. ``{"adam": my_adam}``,
        each called positionally like its :mod:`scratchnn.functional` counterpart:
        ``sgd(p, g, lr) -> p``; ``momentum(p, g, v, lr, beta) -> (p, v)`` (nesterov alike);
        ``rmsprop(p, g, s, lr, rho) -> (p, s)``; ``adam(p, g, m, v, t, lr, beta1, beta2)
        -> (p, m, v)``.

    Returns
    -------
    RaceResult
        A dict ``{name: positions (steps + 1, 2)}`` with ``.losses``, ``.diverged`` and
        ``.surface``.

    Examples
    --------
    >>> paths = race_trajectories("rosenbrock", ["sgd", "adam"], lr=1e-3, steps=200)
    >>> paths["adam"].shape
    (201, 2)
    """
    from . import functional as F

    surf = _as_surface(surface)
    names = _check_optimizers(optimizers, "race_trajectories")
    steps = surf.steps if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"race_trajectories: steps must be an integer >= 0, got {steps!r}")
    start = surf.start if start is None else start
    if start is None:
        raise ValueError(f"race_trajectories: surface {surf.name!r} has no default start; pass "
                         f"start=(x0, y0)")
    start = np.asarray(start, dtype=float)
    if start.shape != (2,) or not np.all(np.isfinite(start)):
        raise ValueError(f"race_trajectories: start must be two finite numbers (x0, y0), got "
                         f"{start.tolist()}")
    if lr is None:
        lr = surf.lr
    if isinstance(lr, Mapping):
        missing = [name for name in names if name not in lr]
        if missing:
            raise ValueError(f"race_trajectories: lr has no learning rate for {missing}")
    rates = {name: float(lr[name] if isinstance(lr, Mapping) else lr) for name in names}
    for name, rate in rates.items():
        if not (np.isfinite(rate) and rate > 0):
            raise ValueError(f"race_trajectories: the learning rate of {name} must be positive, "
                             f"got {rate}")
    rules = dict(rules or {})
    for name in rules:
        _check_optimizers([name], "race_trajectories: rules")
    if noise < 0:
        raise ValueError(f"race_trajectories: noise must be >= 0, got {noise}")
    kicks = (np.random.default_rng(seed).normal(0.0, noise, size=(steps, 2)) if noise > 0
             else np.zeros((steps, 2)))
    beta1, beta2 = betas

    result = RaceResult(surf)
    for name in names:
        rule, rate = rules.get(name, getattr(F, name)), rates[name]
        path = np.empty((steps + 1, 2))
        losses = np.full(steps + 1, np.nan)
        path[0] = p = start.copy()
        state = [np.zeros(2), np.zeros(2)]
        diverged = None
        with np.errstate(all="ignore"):  # a diverging run is detected below, not warned about
            losses[0], grad = _value_and_grad(surf, p)
            if not (np.isfinite(losses[0]) and np.all(np.isfinite(grad))):
                raise ValueError(f"race_trajectories: surface {surf.name!r} is not finite at "
                                 f"the start {start.tolist()}")
            for t in range(1, steps + 1):
                g = grad + kicks[t - 1]
                if name == "sgd":
                    new = rule(p, g, rate)
                elif name in ("momentum", "nesterov"):
                    new, state[0] = rule(p, g, state[0], rate, beta)
                elif name == "rmsprop":
                    new, state[0] = rule(p, g, state[0], rate, rho)
                else:
                    new, state[0], state[1] = rule(p, g, state[0], state[1], t, rate, beta1,
                                                   beta2)
                new = np.asarray(new, dtype=float)
                if new.shape != (2,):
                    raise ValueError(f"race_trajectories: the {name} rule returned a parameter "
                                     f"of shape {new.shape} for one of shape (2,)")
                if np.all(np.isfinite(new)) and np.all(np.abs(new) <= bound):
                    value, grad = _value_and_grad(surf, new)
                    if np.isfinite(value) and np.all(np.isfinite(grad)):
                        path[t], losses[t], p = new, value, new
                        continue
                    path[t:] = new
                elif np.all(np.isfinite(new)):
                    path[t:] = np.clip(new, -bound, bound)
                else:
                    path[t:] = p
                diverged = t
                break
        result[name], result.losses[name], result.diverged[name] = path, losses, diverged
    return result


def _contour_levels(z: np.ndarray, floor: float | None, n: int = 20):
    """Log-spaced levels above the lowest value: dense near the minimum, where the action is."""
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return None
    lo = float(finite.min()) if floor is None else min(float(floor), float(finite.min()))
    span = float(finite.max()) - lo
    if not span > 0:
        return None
    return np.concatenate([[lo], lo + np.geomspace(span * 1e-4, span, n)])


def _race_window(race: RaceResult, surf: Surface):
    """``(xlim, ylim)``: the surface's own window, or a box around the start and the paths."""
    if surf.xlim is not None and surf.ylim is not None:
        return surf.xlim, surf.ylim
    points = [np.asarray(surf.start, dtype=float).reshape(1, 2)] if surf.start else []
    for name, path in race.items():
        stop = race.diverged[name]
        points.append(path if stop is None else path[:stop])
    pts = np.concatenate(points) if points else np.zeros((1, 2))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    mid, half = (lo + hi) / 2, np.maximum((hi - lo) * 0.6, 1.0)
    window = [(float(m - h), float(m + h)) for m, h in zip(mid, half, strict=True)]
    return surf.xlim or window[0], surf.ylim or window[1]


def _draw_race(race: RaceResult, surf: Surface, lr: float, steps: int, resolution: int,
               problems: Mapping[str, str]):
    """The race as a Figure: contours + paths on the left, loss per step on the right."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import LogLocator, NullLocator

    xlim, ylim = _race_window(race, surf)
    xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
    z = _surface_grid(surf, xs, ys)
    fig = Figure(figsize=(10.5, 4.4))
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.11, top=0.87, wspace=0.22)
    FigureCanvasAgg(fig)
    ax, ax_loss = fig.subplots(1, 2, width_ratios=[1.2, 1])
    levels = _contour_levels(z, surf.min_value)
    if levels is not None:
        cmap = matplotlib.colormaps["viridis"]
        zm = np.ma.masked_invalid(z)
        ax.contourf(xs, ys, zm, levels=levels,
                    colors=[cmap(v) for v in np.linspace(0.15, 1.0, len(levels) - 1)],
                    alpha=0.35)
        ax.contour(xs, ys, zm, levels=levels, colors="dimgray", linewidths=0.5)
    for mx, my in surf.minima:
        ax.plot(mx, my, marker="*", markersize=14, color="gold", markeredgecolor="black",
                linestyle="none", zorder=5)

    log_loss = surf.min_value is not None
    for name, path in race.items():
        color, stop = _COLORS[name], race.diverged[name]
        shown = path if stop is None else path[: stop + 1]
        losses = race.losses[name]
        if stop is None:
            label = f"{name}: f = {losses[-1]:.3g}"
        else:
            label = f"{name}: diverged at step {stop}"
        ax.plot(shown[:, 0], shown[:, 1], "-o" if steps <= 300 else "-", color=color,
                linewidth=1.5, markersize=2.0, label=label, zorder=3)
        ax.plot(*shown[-1], marker="X" if stop is not None else "o", markersize=9,
                color=color, markeredgecolor="black", linestyle="none", zorder=4)
        finite = np.isfinite(losses)
        curve = losses[finite] - (surf.min_value if log_loss else 0.0)
        if log_loss:
            curve = np.maximum(curve, 1e-16)
        ax_loss.plot(np.flatnonzero(finite), curve, color=color, label=name)
        if stop is not None:
            ax_loss.plot(stop - 1, curve[-1], marker="X", markersize=9, color=color,
                         markeredgecolor="black")
    for name, message in problems.items():
        ax.plot([], [], color=_COLORS[name], linestyle=":", label=f"{name}: {message}")
    start = next(iter(race.values()))[0] if race else surf.start
    if start is not None:
        ax.plot(*start, marker="o", markersize=8, color="white", markeredgecolor="black",
                linestyle="none", zorder=6, label="start")
    ax.set(xlim=xlim, ylim=ylim, xlabel="x", ylabel="y", title=f"{surf.name}: the paths")
    ax.legend(loc="best", fontsize="small", framealpha=0.85)
    if log_loss:
        ax_loss.set_yscale("log")
        ax_loss.yaxis.set_major_locator(LogLocator(numticks=7))
        ax_loss.yaxis.set_minor_locator(NullLocator())  # dozens of minor ticks are slow
        firsts = [max(race.losses[name][0] - surf.min_value, 1e-16) for name in race]
        if firsts:  # a diverging run shoots off the top instead of squashing the others
            low, high = ax_loss.get_ylim()
            ax_loss.set_ylim(low, min(high, 1e3 * max(firsts)))
    ax_loss.set(xlabel="step", xlim=(0, max(steps, 1)),
                ylabel="f(x, y) - f_min" if log_loss else "f(x, y)",
                title="loss after each step")
    ax_loss.grid(True, alpha=0.3)
    if ax_loss.lines:
        ax_loss.legend(loc="best", fontsize="small")
    fig.suptitle(f"lr = {lr:.3g}, {steps} steps")
    return fig


def optimizer_race(surface="rosenbrock", optimizers=OPTIMIZERS, steps=None, start=None,
                   seed=0, *, lr=None, beta: float = 0.9, noise: float = 0.0,
                   rules: Mapping[str, Callable] | None = None, resolution: int = 150,
                   continuous_update: bool = False):
    """Build a widget that races optimizers down a 2-D loss surface.

    The left panel shows the contours of the surface, its minima (stars), the start (white
    dot) and one path per optimizer computed by :func:`race_trajectories` (a cross marks a
    run that diverged); the right panel shows each run's loss after every step. The controls:
    a dropdown for the surface, a learning-rate slider on a log scale, a slider for the number
    of steps, one for the momentum ``beta`` (momentum and nesterov), one for gradient noise,
    and a checkbox per optimizer. Any change recomputes the paths and redraws. Choosing
    another surface also moves the learning rate and the steps to that surface's defaults.

    Parameters
    ----------
    surface:
        The surface shown first: ``"rosenbrock"``, ``"beale"``, ``"saddle"``,
        ``"ill_conditioned"``, a :class:`Surface`, or a function
        ``f(x, y) -> (value, (df_dx, df_dy))`` (see :class:`Surface` for the protocol; it is
        added to the dropdown under its ``__name__``).
    optimizers:
        The optimizers ticked at first (all five always have a checkbox).
    steps, start, lr:
        Starting values for the first surface (default: the surface's own).
    seed, noise:
        Seed and standard deviation of the gradient noise (see :func:`race_trajectories`).
    beta:
        Starting momentum coefficient.
    rules:
        Your own update rules, e.g. ``{"adam": adam}`` (see :func:`race_trajectories`). A rule
        that raises is reported in the legend and in ``error``; the others still run.
    resolution:
        Grid points per axis of the contour plot.
    continuous_update:
        Redraw while a slider is dragged (``True``) or only when it is released (``False``).

    Returns
    -------
    ipywidgets.VBox
        The controls and an ``ipywidgets.Output`` with the PNG of the figure. It also carries
        ``controls`` (dict of the widgets: ``"surface"``, ``"lr"``, ``"steps"``, ``"beta"``,
        ``"noise"`` and one checkbox per optimizer name), ``output`` (the ``Output``),
        ``race`` (the last :class:`RaceResult`), ``figure`` (the last matplotlib Figure),
        ``png`` (that figure as PNG bytes) and ``error`` (a message if a rule raised, else
        ``None``).

    Examples
    --------
    >>> from scratchnn.interactive import optimizer_race
    >>> optimizer_race("beale", optimizers=["sgd", "adam"])      # doctest: +SKIP
    """
    import ipywidgets as widgets

    first = _as_surface(surface)
    names = _check_optimizers(optimizers, "optimizer_race")
    if start is not None:
        first = replace(first, start=tuple(float(v) for v in start))
    if first.start is None:
        raise ValueError(f"optimizer_race: surface {first.name!r} has no default start; pass "
                         f"start=(x0, y0)")
    choices = dict(SURFACES)
    choices[first.name] = first
    if isinstance(seed, np.random.Generator):  # the same noise for every optimizer and redraw
        seed = int(seed.integers(2**63))
    if resolution < 2:
        raise ValueError(f"optimizer_race: resolution must be at least 2, got {resolution}")
    lr = first.lr if lr is None else float(lr)
    steps = first.steps if steps is None else int(steps)
    if not (lr > 0 and steps >= 0):
        raise ValueError(f"optimizer_race: need lr > 0 and steps >= 0, got lr={lr}, "
                         f"steps={steps}")

    controls = {
        "surface": widgets.Dropdown(options=list(choices), value=first.name,
                                    description="surface"),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=min(-5.0, np.floor(np.log10(lr))),
                                     max=max(0.5, np.ceil(np.log10(lr))), step=0.05,
                                     description="lr", readout_format=".2e",
                                     continuous_update=continuous_update),
        "steps": widgets.IntSlider(value=steps, min=0, max=max(1000, steps), step=1,
                                   description="steps", continuous_update=continuous_update),
        "beta": widgets.FloatSlider(value=beta, min=0.0, max=0.99, step=0.01,
                                    description="beta", continuous_update=continuous_update),
        "noise": widgets.FloatSlider(value=noise, min=0.0, max=max(10.0, noise), step=0.1,
                                     description="noise", continuous_update=continuous_update),
    }
    for name in OPTIMIZERS:
        controls[name] = widgets.Checkbox(value=name in names, description=name, indent=False,
                                          layout=widgets.Layout(width="auto"))
    out = widgets.Output()
    box = widgets.VBox([
        widgets.HBox([controls["surface"], controls["lr"], controls["steps"]]),
        widgets.HBox([controls["beta"], controls["noise"]]),
        widgets.HBox([controls[name] for name in OPTIMIZERS]),
        out,
    ])
    box.controls, box.output = controls, out
    box.race = box.png = box.figure = box.error = None
    holding = [False]

    def redraw(change=None):
        if holding[0]:
            return
        surf = choices[controls["surface"].value]
        rate, n = float(controls["lr"].value), int(controls["steps"].value)
        race, problems = RaceResult(surf), {}
        for name in OPTIMIZERS:
            if not controls[name].value:
                continue
            try:
                one = race_trajectories(surf, [name], lr=rate, steps=n,
                                        beta=float(controls["beta"].value),
                                        noise=float(controls["noise"].value), seed=seed,
                                        rules=rules)
            except Exception as exc:  # a student's rule: report it, keep the others
                problems[name] = f"raised {_describe(exc)}"
                continue
            race[name] = one[name]
            race.losses[name], race.diverged[name] = one.losses[name], one.diverged[name]
        box.race = race
        box.error = "; ".join(f"{k} {v}" for k, v in problems.items()) or None
        try:
            fig = _draw_race(race, surf, rate, n, resolution, problems)
            box.png, box.figure = _render_png(fig), fig
        except Exception as exc:
            box.error = f"drawing {surf.name} failed: {_describe(exc)}"
            _show_text(out, box.error)
            return
        _show_png(out, box.png, f"optimizer race on {surf.name}")

    def surface_changed(change):
        surf = choices[change["new"]]
        holding[0] = True
        try:
            controls["steps"].max = max(controls["steps"].max, surf.steps)
            controls["lr"].value, controls["steps"].value = surf.lr, surf.steps
        finally:
            holding[0] = False
        redraw()

    controls["surface"].observe(surface_changed, names="value")
    for key, control in controls.items():
        if key != "surface":
            control.observe(redraw, names="value")
    redraw()
    return box


# --------------------------------------------------------------------------------------------
# Scrubbing through training
# --------------------------------------------------------------------------------------------

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


def _summary(logs: Mapping[str, float] | None) -> str:
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
    import ipywidgets as widgets
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from . import plot

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
    labels = [str(e) for e in epochs]
    if len(set(labels)) != n:
        labels = [f"{i}: {e}" for i, e in enumerate(labels)]
    slider = widgets.SelectionSlider(options=list(zip(labels, range(n), strict=True)),
                                     value=index, description="epoch",
                                     continuous_update=continuous_update)
    play = widgets.Play(value=index, min=0, max=n - 1, step=1, interval=500,
                        description="play")
    widgets.jslink((play, "value"), (slider, "index"))
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([play, slider]), out])
    box.controls, box.output, box.snapshots = {"epoch": slider, "play": play}, out, entries
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

    def redraw(change=None):
        i = int(slider.value)
        try:
            fig = draw(i)
            png = _render_png(fig)
        except Exception as exc:
            box.error = f"drawing snapshot {i} failed: {_describe(exc)}"
            _show_text(out, box.error)
            return
        box.index, box.epoch, box.figure, box.png, box.error = \
            i, entries[i]["epoch"], fig, png, None
        _show_png(out, png, f"training at epoch {entries[i]['epoch']}")

    slider.observe(redraw, names="value")
    redraw()
    return box
