"""scratchnn.interactive.backprop_scrubber: the snapshot scrubber of notebook 02, driven by the
caller's own functions."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

pytest.importorskip("ipywidgets")

from scratchnn.interactive import backprop_scrubber  # noqa: E402


def _linear_scores(params, points):
    return np.asarray(points) @ params["W"] + params["b"]


@pytest.fixture()
def run():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = (x[:, 0] > 0).astype(int)
    snapshots = [(0, {"W": np.array([[0.0, 0.0], [1.0, -1.0]]), "b": np.zeros(2)}),
                 (5, {"W": np.array([[-1.0, 1.0], [0.0, 0.0]]), "b": np.zeros(2)})]
    losses = [1.0, 0.8, 0.6, 0.5, 0.45, 0.4, 0.38]
    return x, y, snapshots, losses


def _regions(box):
    from matplotlib.contour import ContourSet

    ax = box.figure.axes[0]
    (cs,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    return [p.vertices.round(6).tolist() for p in cs.get_paths()]


def test_shows_the_last_snapshot_and_moves_with_the_slider(run):
    x, y, snapshots, losses = run
    box = backprop_scrubber(_linear_scores, snapshots, x, y, losses, resolution=20)
    assert box.error is None
    assert (box.index, box.step, box.steps) == (1, 5, [0, 5])
    assert box.png.startswith(b"\x89PNG")
    assert len(box.figure.axes) == 2
    assert "loss 0.4" in box.figure.texts[0].get_text()
    last = _regions(box)
    box.controls["step"].value = 0
    assert (box.index, box.step) == (0, 0)
    assert _regions(box) != last, "another snapshot's parameters draw another boundary"
    assert "loss 1" in box.figure.texts[0].get_text()
    assert box.output.outputs[0]["data"]["text/plain"] == "the network after 0 updates"


def test_uses_the_given_function_and_params(run):
    x, y, snapshots, _ = run
    seen = []

    def scores(params, points):
        seen.append((id(params), np.shape(points)))
        return _linear_scores(params, points)

    box = backprop_scrubber(scores, snapshots, x, y, resolution=12, index=0)
    assert {i for i, _ in seen} == {id(snapshots[0][1])}
    assert (id(snapshots[0][1]), (144, 2)) in seen, "the grid of 12 x 12 points"
    assert len(box.figure.axes) == 1, "without losses only the boundary is drawn"


def test_accepts_dicts_and_labels_as_scores(run):
    x, y, snapshots, losses = run
    dicts = [{"step": s, "params": p} for s, p in snapshots]
    box = backprop_scrubber(lambda p, pts: _linear_scores(p, pts).argmax(axis=1), dicts, x, y,
                            losses, resolution=10)
    assert box.error is None and box.step == 5


def test_a_broken_function_shows_a_message_instead_of_raising(run):
    x, y, snapshots, losses = run

    def unfinished(params, points):
        raise NotImplementedError()

    box = backprop_scrubber(unfinished, snapshots, x, y, losses)
    assert box.error.startswith("drawing snapshot 1 (step 5) failed: NotImplementedError")
    assert box.output.outputs[0]["output_type"] == "stream"


def test_bad_arguments_are_reported(run):
    x, y, snapshots, losses = run
    with pytest.raises(TypeError, match="scores_fn"):
        backprop_scrubber(None, snapshots, x, y)
    with pytest.raises(ValueError, match="no snapshots"):
        backprop_scrubber(_linear_scores, [], x, y)
    with pytest.raises(ValueError, match="must not decrease"):
        backprop_scrubber(_linear_scores, snapshots[::-1], x, y)
    with pytest.raises(ValueError, match="no 'params' key"):
        backprop_scrubber(_linear_scores, [snapshots[0][1]], x, y)
    with pytest.raises(TypeError, match="pair"):
        backprop_scrubber(_linear_scores, [np.zeros(3)], x, y)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        backprop_scrubber(_linear_scores, snapshots, np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="y has shape"):
        backprop_scrubber(_linear_scores, snapshots, x, y[:3])
    with pytest.raises(ValueError, match="out of range"):
        backprop_scrubber(_linear_scores, snapshots, x, y, index=2)
