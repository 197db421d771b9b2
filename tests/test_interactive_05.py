"""scratchnn.interactive.batchnorm: the activation explorer of notebook 05, driven by the
caller's own forward pass."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

pytest.importorskip("ipywidgets")

from scratchnn import functional as F  # noqa: E402
from scratchnn.interactive.batchnorm import (  # noqa: E402
    activation_explorer,
    init_network,
    layer_activations,
)


def forward(params, running, X, training=True):
    """The notebook's mlp_forward, from scratchnn.functional (the tests' stand-in for a
    student's)."""
    h, caches, new_running = X, [], []
    for i, layer in enumerate(params):
        z, cache, stats = F.dense(h, layer["W"], layer["b"]), {"input": h}, running[i]
        if "gamma" in layer:
            z, _, mean, var = F.batch_norm(z, layer["gamma"], layer["beta"], *stats,
                                           training=training)
            stats = (mean, var)
        new_running.append(stats)
        if i < len(params) - 1:
            z = F.relu(z)
        caches.append(cache)
        h = z
    return h, caches, new_running


@pytest.fixture()
def x():
    return np.random.default_rng(0).uniform(0.0, 1.0, size=(200, 16))


def test_init_network_is_he_times_the_scale_with_batch_norm_on_hidden_layers():
    params, running = init_network([100, 400, 300, 10], init_scale=2.0, seed=1)
    assert [sorted(p) for p in params] == [["W", "b", "beta", "gamma"]] * 2 + [["W", "b"]]
    assert running[2] is None and running[0][0].shape == (400,)
    np.testing.assert_array_equal(running[1][1], np.ones(300))
    assert params[0]["W"].std() == pytest.approx(2.0 * np.sqrt(2 / 100), rel=0.02)
    assert params[1]["W"].std() == pytest.approx(2.0 * np.sqrt(2 / 400), rel=0.02)
    plain, stats = init_network([100, 400, 300, 10], init_scale=2.0, batchnorm=False, seed=1)
    assert all(set(p) == {"W", "b"} for p in plain) and stats == [None] * 3
    np.testing.assert_array_equal(plain[0]["W"], params[0]["W"])
    with pytest.raises(ValueError, match="sizes"):
        init_network([5])
    with pytest.raises(ValueError, match="init_scale"):
        init_network([5, 3], init_scale=0.0)


def test_activations_vanish_without_batch_norm_and_stay_standard_with_it(x):
    small = layer_activations(forward, x, depth=8, width=64, init_scale=0.5, batchnorm=False)
    assert len(small) == 7 and small[0].shape == (200, 64)
    stds = [a.std() for a in small]
    assert all(b < a for a, b in zip(stds, stds[1:], strict=False)), stds
    assert stds[-1] < stds[0] / 20
    normed = layer_activations(forward, x, depth=8, width=64, init_scale=0.5, batchnorm=True)
    for a in normed:   # ReLU of a standardized pre-activation: std sqrt(1/2 - 1/(2 pi))
        assert a.std() == pytest.approx(np.sqrt(0.5 - 0.5 / np.pi), rel=0.1)
    big = layer_activations(forward, x, depth=8, width=64, init_scale=5.0, batchnorm=True)
    np.testing.assert_allclose([a.std() for a in big], [a.std() for a in normed], rtol=0.05)


def test_the_values_come_from_the_given_forward(x):
    seen = []

    def spy(params, running, X, training):
        seen.append((len(params), X.shape, training))
        return forward(params, running, X, training)

    acts = layer_activations(spy, x, depth=4, width=8)
    assert seen == [(4, (200, 16), True)] and len(acts) == 3 and acts[0].shape == (200, 8)

    def doubled(params, running, X, training):
        scores, caches, new = forward(params, running, X, training)
        return scores, [{"input": 2 * c["input"]} for c in caches], new

    np.testing.assert_allclose(layer_activations(doubled, x, depth=4, width=8)[1],
                               2 * acts[1])


def test_widget_redraws_from_the_controls(x):
    box = activation_explorer(forward, x, depth=5, width=32, init_scale=0.5, batchnorm=False)
    assert box.error is None and box.png.startswith(b"\x89PNG")
    assert len(box.activations) == 4 and len(box.figure.axes) == 4
    plain = [a.std() for a in box.activations]
    assert "without batch norm" in box.figure.texts[0].get_text()
    box.controls["batchnorm"].value = True
    assert "with batch norm" in box.figure.texts[0].get_text()
    normed = [a.std() for a in box.activations]
    assert normed[-1] > 3 * plain[-1]
    box.controls["init_scale"].value = 2.0
    assert "init scale 2" in box.figure.texts[0].get_text()
    assert box.output.outputs[0]["data"]["text/plain"].endswith("batch norm on")


def test_a_broken_forward_shows_a_message_and_bad_arguments_raise(x):
    def unfinished(params, running, X, training=True):
        raise NotImplementedError()

    box = activation_explorer(unfinished, x)
    assert box.error == "drawing failed: NotImplementedError" and box.png is None
    assert box.output.outputs[0]["output_type"] == "stream"
    with pytest.raises(TypeError, match="mlp_forward"):
        activation_explorer(None, x)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        activation_explorer(forward, np.zeros(5))
    with pytest.raises(TypeError, match="mlp_forward"):
        layer_activations("forward", x)
    with pytest.raises(ValueError, match="depth"):
        layer_activations(forward, x, depth=1)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        layer_activations(forward, np.zeros((2, 3, 4)))
