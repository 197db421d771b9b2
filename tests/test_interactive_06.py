"""The capstone's digit browser (scratchnn.interactive.digits): it shows the student's model's
predictions and probabilities, runs over all, misclassified or least confident images, and
refuses what is not a classifier's output with a message that says what to pass."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

from scratchnn.interactive.digits import browse_order, digit_browser  # noqa: E402


def _data(n=12, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 16))
    y = np.arange(n) % classes
    logits = np.eye(classes)[y] * 3.0 + rng.normal(scale=1.0, size=(n, classes))
    logits[[1, 5]] = np.eye(classes)[(y[[1, 5]] + 1) % classes] * 9.0   # two sure mistakes
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return x, y, probs


def test_the_browser_shows_the_models_prediction_for_each_image():
    x, y, probs = _data()
    calls = []

    def model(images):
        calls.append(images.shape)
        return probs

    box = digit_browser(model, x, y)
    assert calls == [(12, 16)], "the model should be called once, on every image"
    assert box.error is None and box.png.startswith(b"\x89PNG")
    np.testing.assert_array_equal(box.predicted, probs.argmax(axis=1))
    assert box.accuracy == pytest.approx(np.mean(probs.argmax(axis=1) == y))
    assert box.index == 0
    box.controls["image"].value = 7
    assert box.index == 7 and box.error is None
    assert "true 1" in box.output.outputs[0]["data"]["text/plain"]
    width, height = box.figure.get_size_inches()
    assert width * 100 <= 870, "the figure must fit the notebook's width"


def test_errors_only_runs_over_the_misclassified_images():
    x, y, probs = _data()
    box = digit_browser(lambda images: probs, x, y)
    wrong = np.flatnonzero(probs.argmax(axis=1) != y)
    assert {1, 5} <= set(wrong.tolist())
    box.controls["show"].value = "errors"
    np.testing.assert_array_equal(box.order, wrong)
    assert box.controls["image"].max == len(wrong) - 1
    box.controls["image"].value = 1
    assert box.index == wrong[1]
    box.controls["show"].value = "least confident"
    confidence = probs[np.arange(len(y)), probs.argmax(axis=1)]
    assert np.all(np.diff(confidence[box.order]) >= 0)


def test_a_perfect_model_has_no_error_to_show():
    x, y, _ = _data()
    perfect = np.eye(3)[y] * 0.97 + 0.01
    box = digit_browser(lambda images: perfect, x, y, show="errors")
    assert len(box.order) == 0 and box.index is None and box.error is None
    assert "no image to show" in box.output.outputs[0]["text"]


def test_logits_and_wrong_shapes_are_refused_with_what_to_pass():
    x, y, probs = _data()
    with pytest.raises(ValueError, match="Softmax"):
        digit_browser(lambda images: np.log(probs), x, y)
    with pytest.raises(ValueError, match=r"shape \(12, C\)"):
        digit_browser(lambda images: probs[:5], x, y)
    with pytest.raises(ValueError, match="image_shape"):
        digit_browser(lambda images: probs, x[:, :15], y)
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        digit_browser(lambda images: probs, x, y + 1)
    with pytest.raises(TypeError, match="probabilities must be a function"):
        digit_browser(probs, x, y)
    with pytest.raises(ValueError, match="show must be"):
        digit_browser(lambda images: probs, x, y, show="worst")


def test_image_shape_and_class_names_are_used():
    x, y, probs = _data()
    box = digit_browser(lambda images: probs, x.reshape(12, 2, 8), y,
                        class_names=["cat", "dog", "fox"], index=3)
    assert box.index == 3 and box.error is None
    ticks = [t.get_text() for t in box.figure.axes[1].get_xticklabels()]
    assert ticks == ["cat", "dog", "fox"]


def test_browse_order_is_plain_numpy():
    y = np.array([0, 1, 2, 1])
    pred = np.array([0, 2, 2, 1])
    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.3, 0.6], [0.2, 0.2, 0.6], [0.1, 0.5, 0.4]])
    assert browse_order(y, pred, probs, "all").tolist() == [0, 1, 2, 3]
    assert browse_order(y, pred, probs, "errors").tolist() == [1]
    assert browse_order(y, pred, probs, "least confident").tolist() == [3, 1, 2, 0]
