"""scratchnn.interactive: the widgets of the notebooks (neuron playground, optimizer race,
training scrubber) and the maths behind them."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

pytest.importorskip("ipywidgets")

from scratchnn import functional as F  # noqa: E402
from scratchnn.interactive import neuron_playground  # noqa: E402


def _sliders(box):
    import ipywidgets as widgets

    found, stack = {}, [box]
    while stack:
        w = stack.pop()
        if isinstance(w, (widgets.FloatSlider, widgets.Dropdown)):
            found[w.description] = w
        stack.extend(getattr(w, "children", ()))
    return found


def test_builds_a_vbox_with_three_sliders_a_dropdown_and_an_output():
    import ipywidgets as widgets

    box = neuron_playground()
    assert isinstance(box, widgets.VBox)
    controls = _sliders(box)
    assert {"w1", "w2", "b", "activation"} <= set(controls)
    assert isinstance(controls["activation"], widgets.Dropdown)
    assert list(controls["activation"].options) == ["sigmoid", "tanh", "relu", "leaky_relu",
                                                    "linear"]
    assert any(isinstance(child, widgets.Output) for child in box.children)
    assert box.png.startswith(b"\x89PNG"), "the first plot is drawn when the widget is built"
    assert box.surface.shape == (121, 121)


def test_moving_a_slider_redraws_the_plot():
    box = neuron_playground(w1=1.0, w2=-1.0, b=0.0)
    png, surface = box.png, box.surface.copy()
    _sliders(box)["w1"].value = 2.5
    assert box.png != png, "the figure did not change after moving w1"
    assert not np.allclose(box.surface, surface)
    # The surface is the activation of w1 x1 + w2 x2 + b on the grid.
    grid = np.linspace(-3, 3, 121)
    x1, x2 = np.meshgrid(grid, grid)
    np.testing.assert_allclose(box.surface, F.sigmoid(2.5 * x1 - 1.0 * x2))

    png = box.png
    _sliders(box)["b"].value = -2.0
    assert box.png != png, "the figure did not change after moving b"
    np.testing.assert_allclose(box.surface, F.sigmoid(2.5 * x1 - 1.0 * x2 - 2.0))


def test_switching_the_activation_uses_the_chosen_function():
    calls = []

    def my_relu(z):
        calls.append(z.shape)
        return np.maximum(z, 0)

    box = neuron_playground({"sigmoid": F.sigmoid, "mine": my_relu}, w1=1.0, w2=1.0, b=0.5)
    assert calls == []
    before = box.png
    _sliders(box)["activation"].value = "mine"
    assert calls, "the student's activation was not called"
    assert box.png != before
    assert box.surface.min() == 0.0 and box.surface.max() > 1.0


def test_an_unfinished_activation_shows_a_message_instead_of_raising():
    def stub(z):
        raise NotImplementedError()

    box = neuron_playground({"sigmoid": F.sigmoid, "relu": stub})
    _sliders(box)["activation"].value = "relu"
    assert box.error == "relu raised NotImplementedError"
    _sliders(box)["activation"].value = "sigmoid"
    assert box.error is None


def test_points_are_checked_and_drawn():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 2)), np.arange(10) % 2
    box = neuron_playground(points=(x, y))
    assert box.png.startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="points must be"):
        neuron_playground(points=(x[:, :1], y))


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        neuron_playground(activation="swish")
    with pytest.raises(ValueError, match="empty"):
        neuron_playground({})
    with pytest.raises(TypeError, match="not callable"):
        neuron_playground({"sigmoid": 3})


def test_importing_the_module_does_not_import_matplotlib_or_ipywidgets():
    code = (
        "import sys\n"
        "import scratchnn.interactive\n"
        "print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------------------------------------
# Optimizer race: the maths without widgets
# ------------------------------------------------------------------------------------------------
from scratchnn.interactive import (  # noqa: E402
    SURFACES,
    RaceResult,
    SnapshotRecorder,
    optimizer_race,
    race_trajectories,
    training_scrubber,
)


def _bowl(a=2.0):
    def bowl(x, y):
        return 0.5 * a * (x * x + y * y), (a * x, a * y)
    return bowl


def test_sgd_on_a_quadratic_bowl_follows_the_closed_form():
    a, lr, steps, start = 2.0, 0.1, 25, (1.5, -0.5)
    race = race_trajectories(_bowl(a), ["sgd"], lr=lr, steps=steps, start=start)
    assert isinstance(race, RaceResult) and list(race) == ["sgd"]
    t = np.arange(steps + 1)[:, None]
    expected = (1 - lr * a) ** t * np.array(start)
    np.testing.assert_allclose(race["sgd"], expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(race.losses["sgd"], 0.5 * a * np.sum(expected**2, axis=1))
    assert race.diverged == {"sgd": None}


def test_momentum_matches_its_recurrence_and_custom_rules_are_used():
    lr, beta, steps, start = 1e-3, 0.8, 30, np.array([-1.2, 1.0])
    race = race_trajectories("rosenbrock", ["momentum"], lr=lr, steps=steps, start=start,
                             beta=beta)
    p, v = start.copy(), np.zeros(2)
    for t in range(1, steps + 1):
        _, (gx, gy) = SURFACES["rosenbrock"].fn(p[0], p[1])
        p, v = F.momentum(p, np.array([gx, gy]), v, lr, beta)
        np.testing.assert_allclose(race["momentum"][t], p, rtol=1e-12)
    assert race.diverged["momentum"] is None

    calls = []

    def my_sgd(param, grad, lr):
        calls.append(lr)
        return param - lr * grad

    mine = race_trajectories("beale", ["sgd"], lr=1e-3, steps=10, rules={"sgd": my_sgd})
    ref = race_trajectories("beale", ["sgd"], lr=1e-3, steps=10)
    assert calls == [1e-3] * 10
    np.testing.assert_allclose(mine["sgd"], ref["sgd"])


def test_adams_first_step_has_size_lr_in_each_coordinate():
    lr = 0.01
    for name in SURFACES:
        race = race_trajectories(name, ["adam"], lr=lr, steps=1)
        step = race["adam"][1] - race["adam"][0]
        _, grad = SURFACES[name].fn(*race["adam"][0])
        np.testing.assert_allclose(np.abs(step), lr, rtol=1e-4, err_msg=name)
        assert np.all(np.sign(step) == -np.sign(grad)), name


def test_a_diverging_run_stays_finite_is_flagged_and_warns_nothing():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow RuntimeWarning would fail the test
        race = race_trajectories("rosenbrock", lr=0.1, steps=300)
    for name, path in race.items():
        assert path.shape == (301, 2), name
        assert np.all(np.isfinite(path)), name
    stop = race.diverged["sgd"]
    assert stop is not None and 1 <= stop < 20, "plain SGD with lr=0.1 blows up on Rosenbrock"
    assert np.all(race["sgd"][stop:] == race["sgd"][stop]), "a stopped run stays put"
    assert np.all(np.abs(race["sgd"]) <= 1e6)
    assert np.all(np.isnan(race.losses["sgd"][stop:]))
    assert np.all(np.isfinite(race.losses["sgd"][:stop]))
    assert race.diverged["adam"] is None, "Adam's steps are bounded by lr"

    def quartic(x, y):  # with a huge box, x**4 overflows to inf before the box is left
        return x**4 + y * y, (4 * x**3, 2 * y)

    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        race = race_trajectories(quartic, ["sgd", "adam"], lr=1.0, steps=50,
                                 start=(2.0, 1.0), bound=1e300)
    stop = race.diverged["sgd"]
    assert stop is not None and race.diverged["adam"] is None
    assert np.all(np.isfinite(race["sgd"])) and abs(race["sgd"][stop - 1, 0]) > 1e10


def test_race_arguments_are_checked():
    assert race_trajectories("saddle", steps=0)["adam"].shape == (1, 2)
    with pytest.raises(ValueError, match="unknown surface 'himmelblau'"):
        race_trajectories("himmelblau")
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        race_trajectories("beale", ["sgd", "adagrad"])
    with pytest.raises(ValueError, match="no default start"):
        race_trajectories(_bowl())
    with pytest.raises(ValueError, match="no learning rate for"):
        race_trajectories("beale", ["sgd", "adam"], lr={"sgd": 0.01})
    with pytest.raises(ValueError, match="must be positive"):
        race_trajectories("beale", lr=-1.0)
    with pytest.raises(ValueError, match=r"must return \(value, \(df_dx, df_dy\)\)"):
        race_trajectories(lambda x, y: x * x + y * y, start=(1.0, 1.0))
    per_optimizer = race_trajectories("beale", ["sgd", "adam"], lr={"sgd": 1e-3, "adam": 0.1},
                                      steps=1)
    np.testing.assert_allclose(np.abs(np.diff(per_optimizer["adam"], axis=0)), 0.1, rtol=1e-4)


def test_noise_is_seeded_and_shared():
    a = race_trajectories("saddle", ["sgd", "momentum"], steps=20, noise=0.5, seed=3)
    b = race_trajectories("saddle", ["sgd"], steps=20, noise=0.5, seed=3)
    c = race_trajectories("saddle", ["sgd"], steps=20, noise=0.5, seed=4)
    np.testing.assert_array_equal(a["sgd"], b["sgd"])
    assert not np.allclose(a["sgd"], c["sgd"])


# ------------------------------------------------------------------------------------------------
# Optimizer race: the widget
# ------------------------------------------------------------------------------------------------
def _png_shown(box) -> str:
    (output,) = box.output.outputs
    return output["data"]["image/png"]


def test_optimizer_race_builds_and_redraws_on_every_control():
    import ipywidgets as widgets

    box = optimizer_race("saddle", steps=40, resolution=40)
    assert isinstance(box, widgets.VBox) and box.output in box.children
    assert {"surface", "lr", "steps", "beta", "noise"} <= set(box.controls)
    assert isinstance(box.controls["lr"], widgets.FloatLogSlider)
    assert all(isinstance(box.controls[n], widgets.Checkbox) for n in
               ("sgd", "momentum", "nesterov", "rmsprop", "adam"))
    assert box.png.startswith(b"\x89PNG") and box.error is None
    assert set(box.race) == {"sgd", "momentum", "nesterov", "rmsprop", "adam"}

    shown = _png_shown(box)
    box.controls["lr"].value = 0.1
    assert _png_shown(box) != shown, "changing lr did not redraw"
    expected = race_trajectories("saddle", lr=0.1, steps=40)
    for name in expected:
        np.testing.assert_allclose(box.race[name], expected[name])

    (line,) = [ln for ln in box.figure.axes[0].lines if ln.get_label().startswith("sgd:")]
    np.testing.assert_allclose(line.get_xydata(), expected["sgd"])

    box.controls["steps"].value = 10
    assert box.race["sgd"].shape == (11, 2)
    (line,) = [ln for ln in box.figure.axes[0].lines if ln.get_label().startswith("sgd:")]
    np.testing.assert_allclose(line.get_xydata(), box.race["sgd"])
    before = box.race["momentum"].copy()
    box.controls["beta"].value = 0.5
    assert not np.allclose(box.race["momentum"], before), "beta did not reach momentum"
    box.controls["adam"].value = False
    assert "adam" not in box.race and "sgd" in box.race

    box.controls["surface"].value = "ill_conditioned"
    surf = SURFACES["ill_conditioned"]
    assert box.race.surface is surf
    assert box.controls["lr"].value == pytest.approx(surf.lr)
    assert box.controls["steps"].value == surf.steps
    assert box.race["sgd"].shape == (surf.steps + 1, 2)
    np.testing.assert_allclose(box.race["sgd"][0], surf.start)


def test_optimizer_race_takes_a_custom_surface_and_reports_a_broken_rule():
    import math

    def tilted(x, y):  # plain floats only: the contour grid is then evaluated point by point
        return math.cosh(x) + 2 * y * y, (math.sinh(x), 4 * y)

    def adam(param, grad, m, v, t, lr, beta1, beta2):
        raise NotImplementedError()

    box = optimizer_race(tilted, start=(1.0, 1.0), steps=15, lr=0.1, resolution=12,
                         rules={"adam": adam})
    assert box.controls["surface"].value == "tilted"
    assert box.error == "adam raised NotImplementedError"
    assert "adam" not in box.race and set(box.race) == {"sgd", "momentum", "nesterov",
                                                        "rmsprop"}
    assert box.png.startswith(b"\x89PNG")
    np.testing.assert_allclose(box.race["sgd"][0], [1.0, 1.0])
    box.controls["adam"].value = False
    assert box.error is None


# ------------------------------------------------------------------------------------------------
# Training scrubber
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    import scratchnn as snn
    from scratchnn.activations import ReLU
    from scratchnn.layers import Dense

    x, y = snn.datasets.moons(n_samples=120, seed=0)
    model = snn.Sequential([Dense(2, 16), ReLU(), Dense(16, 2)], seed=0)
    model.compile(optimizer=snn.optimizers.Adam(lr=0.05))
    recorder = SnapshotRecorder()
    history = model.fit(x, y, epochs=6, batch_size=32, validation_split=0.25,
                        callbacks=[recorder], verbose=0)
    return model, recorder, history, x, y


def _contours(ax):
    from matplotlib.contour import ContourSet

    (cs,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    return [p.vertices for p in cs.get_paths()]


def test_snapshot_recorder_keeps_weights_and_logs_per_epoch(trained):
    model, recorder, history, _, _ = trained
    assert len(recorder) == 7 and recorder.epochs == list(range(7))
    assert recorder.logs[0] is None
    assert [log["loss"] for log in recorder.logs[1:]] == history.history["loss"]
    for a, b in zip(recorder.weights[-1], model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(recorder.weights[0][0], recorder.weights[-1][0])
    with pytest.raises(ValueError, match="every"):
        SnapshotRecorder(every=0)


def test_training_scrubber_shows_the_selected_epoch_and_leaves_the_model_alone(trained):
    import ipywidgets as widgets
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from scratchnn import plot

    model, recorder, _, x, y = trained
    original = model.get_weights()
    box = training_scrubber(model, recorder, x, y, resolution=30)
    assert isinstance(box, widgets.VBox) and box.output in box.children
    slider = box.controls["epoch"]
    assert isinstance(slider, widgets.SelectionSlider)
    assert box.index == 6 and box.epoch == 6 and box.error is None
    assert [label for label, _ in slider.options] == [str(e) for e in range(7)]

    def unchanged():
        for a, b in zip(model.get_weights(), original, strict=True):
            np.testing.assert_array_equal(a, b)

    unchanged()
    shown = _png_shown(box)
    for k in (2, 0):
        slider.value = k
        assert box.index == k and box.epoch == k
        assert _png_shown(box) != shown, f"moving to epoch {k} did not redraw"
        shown = _png_shown(box)
        unchanged()
        # the boundary drawn for epoch k is the one of the model holding snapshot k
        model.set_weights(recorder.weights[k])
        reference = Figure()
        FigureCanvasAgg(reference)
        plot.decision_boundary(model, x, y, resolution=30, ax=reference.subplots())
        model.set_weights(original)
        drawn, expected = _contours(box.figure.axes[0]), _contours(reference.axes[0])
        assert len(drawn) == len(expected)
        for a, b in zip(drawn, expected, strict=True):
            np.testing.assert_allclose(a, b)
    assert box.figure.axes[1].get_title() == "loss up to epoch 0"
    slider.value = 6
    assert not all(np.array_equal(a, b) for a, b in
                   zip(_contours(box.figure.axes[0]), drawn, strict=False)), \
        "the boundary after training should differ from the initial one"
    assert box.figure.axes[1].get_title() == "loss up to epoch 6"
    unchanged()


def test_training_scrubber_accepts_weight_lists_with_a_history(trained):
    model, recorder, history, x, y = trained
    # one log per snapshot: snapshot i holds the weights after epoch i + 1
    box = training_scrubber(model, recorder.weights[1:], logs=history)
    assert [s["epoch"] for s in box.snapshots] == [1, 2, 3, 4, 5, 6]
    assert len(box.figure.axes) == 1, "no data: only the loss curve"
    # one log fewer than snapshots: the first snapshot is the initial weights
    box = training_scrubber(model, recorder.weights, x, y, logs=history, index=0,
                            resolution=20)
    assert [s["epoch"] for s in box.snapshots] == list(range(7))
    assert box.snapshots[0]["logs"] is None and box.index == 0
    dicts = [{"epoch": 10 * i, "weights": w} for i, w in enumerate(recorder.weights)]
    box = training_scrubber(model, dicts, x, y, resolution=20)
    assert box.epoch == 60


def test_training_scrubber_checks_its_arguments(trained):
    model, recorder, history, x, y = trained
    with pytest.raises(ValueError, match="snapshot 0 has 2 weight arrays, the model has 4"):
        training_scrubber(model, [recorder.weights[0][:2]], x, y)
    with pytest.raises(ValueError, match="both x and y"):
        training_scrubber(model, recorder, x)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        training_scrubber(model, recorder, np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="nothing to show"):
        training_scrubber(model, recorder.weights)
    with pytest.raises(ValueError, match="3 logs do not fit 7 snapshots"):
        training_scrubber(model, recorder.weights, logs=recorder.logs[:3])
    with pytest.raises(ValueError, match="no snapshots"):
        training_scrubber(model, [], x, y)
