"""The optimizer race of notebook 03: SGD, momentum, Nesterov, RMSProp and Adam racing down a
2-D loss surface. :func:`race_trajectories` is the computation, :func:`optimizer_race` the
widget."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Mapping

import numpy as np

from ..rng import as_generator
from ._common import describe, reference_functions, render_png, show_png, show_text

__all__ = ["OPTIMIZERS", "Surface", "SURFACES", "RaceResult", "race_trajectories",
           "optimizer_race"]

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
    :mod:`scratchnn.functional` (or yours, see ``rules``), the parameter being the point
    ``p = (x, y)``, shape ``(2,)``:

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
        -> (p, m, v)``. The reference module is imported only for the optimizers without a
        rule here; in the students' course bundle, which has none, every optimizer needs
        its rule (a missing one raises a ``TypeError`` that names it).

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
    kicks = (as_generator(seed, "race_trajectories: seed").normal(0.0, noise, size=(steps, 2))
             if noise > 0 else np.zeros((steps, 2)))
    beta1, beta2 = betas
    missing = [name for name in names if name not in rules]
    if missing:
        hint = (f"no update rule for {', '.join(map(repr, missing))}: pass your own, e.g. "
                f"rules={{{', '.join(f'{n!r}: {n}' for n in missing)}}}")
        rules.update(reference_functions(missing, "race_trajectories", hint))

    result = RaceResult(surf)
    for name in names:
        rule, rate = rules[name], rates[name]
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
                   continuous_update: bool = False, rho: float = 0.99,
                   betas: tuple[float, float] = (0.9, 0.999)):
    """Build a widget that races optimizers down a 2-D loss surface.

    The left panel shows the contours of the surface, its minima (stars), the start (white
    dot) and one path per optimizer computed by :func:`race_trajectories` (a cross marks a
    run that diverged); the right panel shows each run's loss after every step. The controls:
    a dropdown for the surface, a learning-rate slider on a log scale, a slider for the number
    of steps, one for the momentum ``beta`` (momentum and nesterov), one for RMSProp's ``rho``,
    two for Adam's ``beta1`` and ``beta2``, one for gradient noise, and a checkbox per
    optimizer. Any change recomputes the paths and redraws. Choosing
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
    rho, betas:
        Starting values of RMSProp's decay and of Adam's ``(beta1, beta2)``.
    rules:
        Your own update rules, e.g. ``{"adam": adam}`` (see :func:`race_trajectories`). A rule
        that raises is reported in the legend and in ``error``; the others still run. In the
        students' course bundle an optimizer without a rule is reported the same way.
    resolution:
        Grid points per axis of the contour plot.
    continuous_update:
        Redraw while a slider is dragged (``True``) or only when it is released (``False``).

    Returns
    -------
    ipywidgets.VBox
        The controls and an ``ipywidgets.Output`` with the PNG of the figure. It also carries
        ``controls`` (dict of the widgets: ``"surface"``, ``"lr"``, ``"steps"``, ``"beta"``,
        ``"rho"``, ``"beta1"``, ``"beta2"``, ``"noise"`` and one checkbox per optimizer
        name), ``output`` (the ``Output``),
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
        "rho": widgets.FloatSlider(value=rho, min=0.0, max=0.999, step=0.001,
                                   description="rho", readout_format=".3f",
                                   continuous_update=continuous_update),
        "beta1": widgets.FloatSlider(value=betas[0], min=0.0, max=0.999, step=0.001,
                                     description="beta1", readout_format=".3f",
                                     continuous_update=continuous_update),
        "beta2": widgets.FloatSlider(value=betas[1], min=0.0, max=0.9999, step=0.0001,
                                     description="beta2", readout_format=".4f",
                                     continuous_update=continuous_update),
    }
    for name in OPTIMIZERS:
        controls[name] = widgets.Checkbox(value=name in names, description=name, indent=False,
                                          layout=widgets.Layout(width="auto"))
    out = widgets.Output()
    box = widgets.VBox([
        widgets.HBox([controls["surface"], controls["lr"], controls["steps"]]),
        widgets.HBox([controls["beta"], controls["rho"], controls["noise"]]),
        widgets.HBox([controls["beta1"], controls["beta2"]]),
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
                                        rho=float(controls["rho"].value),
                                        betas=(float(controls["beta1"].value),
                                               float(controls["beta2"].value)),
                                        noise=float(controls["noise"].value), seed=seed,
                                        rules=rules)
            except Exception as exc:  # a student's rule: report it, keep the others
                problems[name] = f"raised {describe(exc)}"
                continue
            race[name] = one[name]
            race.losses[name], race.diverged[name] = one.losses[name], one.diverged[name]
        box.race = race
        box.error = "; ".join(f"{k} {v}" for k, v in problems.items()) or None
        try:
            fig = _draw_race(race, surf, rate, n, resolution, problems)
            box.png, box.figure = render_png(fig), fig
        except Exception as exc:
            box.error = f"drawing {surf.name} failed: {describe(exc)}"
            show_text(out, box.error)
            return
        show_png(out, box.png, f"optimizer race on {surf.name}")

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
