"""scratchnn.interactive: the neuron playground widget of notebook 01."""

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
