"""Tests for scratchnn.plot: headless (Agg), checking what is drawn, not only that it runs."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

import scratchnn as snn  # noqa: E402
from scratchnn import plot  # noqa: E402
from scratchnn.activations import ReLU, Tanh  # noqa: E402
from scratchnn.callbacks import Callback  # noqa: E402
from scratchnn.layers import BatchNorm, Dense, Dropout  # noqa: E402

RED = to_rgba("red")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class GradNorms(Callback):
    """Collects plot.gradient_norms after every batch, as the docstring suggests."""

    def on_train_begin(self, logs=None):
        self.norms = {}

    def on_batch_end(self, batch, logs=None):
        for name, value in plot.gradient_norms(self.model).items():
            self.norms.setdefault(name, []).append(value)


@pytest.fixture(scope="module")
def xor_data():
    return snn.datasets.xor(seed=0, test_size=0.25)


@pytest.fixture(scope="module")
def trained(xor_data):
    """A small classifier trained on XOR with validation data, plus its gradient norms."""
    (x, y), (x_val, y_val) = xor_data
    model = snn.Sequential([Dense(2, 16), ReLU(), Dense(16, 2)], seed=0)
    model.compile("cross_entropy", "adam")
    recorder = GradNorms()
    hist = model.fit(x, y, epochs=60, batch_size=16, validation_data=(x_val, y_val),
                     callbacks=[recorder], verbose=0)
    return model, hist, recorder


def _legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def _scatter_collections(ax):
    return [c for c in ax.collections
            if isinstance(c, PathCollection) and not isinstance(c, ContourSet)]


# ------------------------------------------------------------------------------------------------
# lazy import
# ------------------------------------------------------------------------------------------------
def test_import_scratchnn_does_not_import_matplotlib():
    code = ("import sys\nimport scratchnn\nimport scratchnn.plot\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install scratchnn\[course\]"):
        plot.history({"loss": [1.0, 0.5]})


# ------------------------------------------------------------------------------------------------
# history
# ------------------------------------------------------------------------------------------------
def test_history_train_vs_validation(trained):
    _, hist, _ = trained
    fig = plot.history(hist, title="XOR")
    assert isinstance(fig, matplotlib.figure.Figure)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]  # no lr by default
    assert fig._suptitle.get_text() == "XOR"
    for ax, name in zip(fig.axes, ["loss", "accuracy"], strict=True):
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == name
        assert len(ax.lines) == 2
        assert _legend_texts(ax) == ["train", "validation"]
        train, val = ax.lines
        np.testing.assert_allclose(train.get_ydata(), hist.history[name])
        np.testing.assert_allclose(val.get_ydata(), hist.history[f"val_{name}"])
        np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 61))


def test_history_accepts_dict_and_metric_selection():
    logs = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.9], "lr": [0.1, 0.05, 0.01]}
    fig = plot.history(logs)  # a plain dict, no validation keys
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert all(len(ax.lines) == 1 and _legend_texts(ax) == ["train"] for ax in fig.axes)

    fig = plot.history(logs, metrics=["loss", "lr"])  # lr only when asked
    assert [ax.get_title() for ax in fig.axes] == ["loss", "lr"]
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), logs["lr"])

    fig = plot.history({"loss": [1, 2], "val_loss": [2, 3]}, metrics="val_loss")
    assert len(fig.axes) == 1 and _legend_texts(fig.axes[0]) == ["train", "validation"]


def test_history_redraws_into_given_figure():
    fig = plt.figure()
    plot.history({"loss": [1, 2], "accuracy": [0, 1]}, fig=fig)
    assert plot.history({"loss": [1, 2, 3]}, fig=fig) is fig
    assert len(fig.axes) == 1 and len(fig.axes[0].lines[0].get_ydata()) == 3


def test_history_errors():
    with pytest.raises(ValueError, match="available"):
        plot.history({"loss": [1.0]}, metrics=["accuracy"])
    with pytest.raises(ValueError, match="fit"):
        plot.history({})
    with pytest.raises(TypeError):
        plot.history([1, 2, 3])


# ------------------------------------------------------------------------------------------------
# decision boundary
# ------------------------------------------------------------------------------------------------
def test_decision_boundary_of_trained_model(trained, xor_data):
    model, _, _ = trained
    (x, y), _ = xor_data
    fig = plot.decision_boundary(model, x, y, resolution=50)
    ax = fig.axes[0]
    assert sum(isinstance(c, ContourSet) for c in ax.collections) == 1
    scatters = _scatter_collections(ax)
    assert sum(len(c.get_offsets()) for c in scatters) == len(x)
    for c, cls in zip(scatters, [0, 1], strict=True):  # one scatter per class, points of that class
        np.testing.assert_allclose(np.asarray(c.get_offsets()), x[y == cls], rtol=1e-6)
    assert _legend_texts(ax) == ["class 0", "class 1"]
    acc = snn.metrics.accuracy(y, model.predict(x))
    assert ax.get_title() == f"Decision boundary (accuracy {acc:.1%})"
    assert acc > 0.9
    x0, x1 = ax.get_xlim()
    assert x0 < x[:, 0].min() and x1 > x[:, 0].max()


class _ConstantModel:
    """predict returns the same binary score for every point."""

    def __init__(self, value):
        self.value = value

    def predict(self, x):
        return np.full((len(x), 1), self.value)


def _filled_classes(ax):
    cs = next(c for c in ax.collections if isinstance(c, ContourSet))
    return [i for i, segs in enumerate(cs.allsegs) if any(len(s) for s in segs)]


@pytest.mark.parametrize("value, threshold, expected", [
    (0.7, None, 1),    # probability: threshold 0.5
    (0.3, None, 0),
    (2.5, None, 1),    # outside [0, 1]: a logit, threshold 0
    (-0.2, None, 0),
    (0.3, 0.2, 1),     # explicit threshold
])
def test_decision_boundary_thresholds(xor_data, value, threshold, expected):
    (x, y), _ = xor_data
    fig = plot.decision_boundary(_ConstantModel(value), x, y, resolution=20, threshold=threshold,
                                 class_names=["no", "yes"])
    ax = fig.axes[0]
    assert _filled_classes(ax) == [expected]
    assert _legend_texts(ax) == ["no", "yes"]
    assert ax.get_title() == f"Decision boundary (accuracy {np.mean(y == expected):.1%})"


def test_decision_boundary_multiclass_scores_into_given_axes():
    x, y = snn.datasets.spirals(n_samples=90, n_classes=3, seed=0)

    class Nearest:  # scores (N, 3): the class of the nearest class mean
        means = np.stack([x[y == c].mean(axis=0) for c in range(3)])

        def predict(self, pts):
            return -((pts[:, None, :] - self.means[None]) ** 2).sum(axis=2)

    fig, axes = plt.subplots(1, 2)
    out = plot.decision_boundary(Nearest(), x, y, resolution=30, ax=axes[1], title="spirals")
    assert out is fig
    assert len(axes[0].collections) == 0 and axes[1].get_title() == "spirals"
    assert sorted(_filled_classes(axes[1])) == [0, 1, 2]
    assert sum(len(c.get_offsets()) for c in _scatter_collections(axes[1])) == 90


def test_decision_boundary_accepts_integer_labels_from_predict():
    x, y = snn.datasets.spirals(n_samples=60, n_classes=3, seed=0)

    class ByQuadrant:  # predict returns int labels (N,), like a scikit-learn classifier
        def predict(self, pts):
            return ((pts[:, 0] > 0).astype(np.int64) + 2 * (pts[:, 1] > 0)) % 3

    fig = plot.decision_boundary(ByQuadrant(), x, y, resolution=40)
    assert sorted(_filled_classes(fig.axes[0])) == [0, 1, 2]
    acc = np.mean(ByQuadrant().predict(x) == y)
    assert fig.axes[0].get_title() == f"Decision boundary (accuracy {acc:.1%})"


def test_decision_boundary_errors(trained, xor_data):
    model, _, _ = trained
    (x, y), _ = xor_data
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot.decision_boundary(model, np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="y has shape"):
        plot.decision_boundary(model, x, y[:-1])
    with pytest.raises(TypeError, match="predict"):
        plot.decision_boundary(object(), x, y)


# ------------------------------------------------------------------------------------------------
# images
# ------------------------------------------------------------------------------------------------
def test_images_titles_and_red_mistakes():
    rng = np.random.default_rng(0)
    x = rng.random((30, 784))
    y_true = np.arange(30) % 10
    y_pred = y_true.copy()
    wrong = [1, 7, 20]
    y_pred[wrong] = (y_pred[wrong] + 1) % 10
    fig = plot.images(x, y_true, y_pred, n=25)
    assert len(fig.axes) == 25
    assert fig._suptitle.get_text() == "3 of 25 shown misclassified"
    for i, ax in enumerate(fig.axes):
        assert len(ax.images) == 1
        assert ax.images[0].get_array().shape == (28, 28)
        np.testing.assert_allclose(ax.images[0].get_array(), x[i].reshape(28, 28))
        assert ax.get_title() == f"true: {y_true[i]}\npred: {y_pred[i]}"
        is_red = to_rgba(ax.title.get_color()) == RED
        assert is_red == (i in wrong)


def test_images_layouts_and_class_names():
    x8 = np.arange(4 * 64, dtype=float).reshape(4, 64)
    fig = plot.images(x8, np.array([0, 1, 0, 1]), class_names=["cat", "dog"])
    assert len(fig.axes) == 4  # n > N: all N images
    assert [ax.get_title() for ax in fig.axes] == ["cat", "dog", "cat", "dog"]
    assert all(ax.images[0].get_array().shape == (8, 8) for ax in fig.axes)
    assert all(to_rgba(ax.title.get_color()) != RED for ax in fig.axes)

    cifar = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    cifar[..., 0] = 255  # a red image, flattened as load_cifar10() returns it
    cifar = cifar.reshape(2, 3072)
    fig = plot.images(cifar, n=2)
    img = np.asarray(fig.axes[0].images[0].get_array())
    assert img.shape == (32, 32, 3)
    assert (img[..., 0] == 255).all() and (img[..., 1:] == 0).all()
    assert fig.axes[0].get_title() == ""  # no labels, no titles

    hwc = np.random.default_rng(1).random((3, 5, 6, 3))
    fig = plot.images(hwc, y_pred=np.eye(4)[[0, 3, 2]], class_names={3: "three"})
    assert [ax.images[0].get_array().shape for ax in fig.axes] == [(5, 6, 3)] * 3
    assert [ax.get_title() for ax in fig.axes] == ["pred: 0", "pred: three", "pred: 2"]

    fig = plot.images(np.zeros((2, 12)), shape=(3, 4))
    assert fig.axes[0].images[0].get_array().shape == (3, 4)


def test_images_errors():
    with pytest.raises(ValueError, match="shape="):
        plot.images(np.zeros((3, 50)))
    with pytest.raises(ValueError, match="y_true"):
        plot.images(np.zeros((3, 64)), np.zeros(4))
    with pytest.raises(ValueError, match="n must"):
        plot.images(np.zeros((3, 64)), n=0)


# ------------------------------------------------------------------------------------------------
# confusion matrix
# ------------------------------------------------------------------------------------------------
Y_TRUE = np.array([0, 0, 1, 2, 2, 2])
Y_PRED = np.array([0, 1, 1, 2, 0, 2])
CM = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def _cell_texts(ax):
    return {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
            for t in ax.texts}


def test_confusion_matrix_cells_are_the_counts():
    fig = plot.confusion_matrix(Y_TRUE, Y_PRED, class_names=["a", "b", "c"])
    ax = fig.axes[0]
    cells = _cell_texts(ax)
    assert len(ax.texts) == 9
    assert cells == {(i, j): str(CM[i, j]) for i in range(3) for j in range(3)}
    np.testing.assert_array_equal(ax.images[0].get_array(), CM)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "predicted label" and ax.get_ylabel() == "true label"
    assert ax.get_title() == "Confusion matrix (accuracy 66.7%)"


def test_confusion_matrix_normalized_and_from_scores():
    scores = np.eye(3)[Y_PRED] * 3.0 - 1.0  # (N, C) scores: argmax
    fig = plot.confusion_matrix(np.eye(3)[Y_TRUE], scores, normalize=True, title="norm")
    cells = _cell_texts(fig.axes[0])
    rows = CM / CM.sum(axis=1, keepdims=True)
    assert cells == {(i, j): f"{rows[i, j]:.2f}" for i in range(3) for j in range(3)}
    assert fig.axes[0].get_title() == "norm"
    cells = _cell_texts(plot.confusion_matrix(Y_TRUE, Y_PRED, normalize="pred").axes[0])
    cols = CM / CM.sum(axis=0, keepdims=True)
    assert cells[(2, 0)] == f"{cols[2, 0]:.2f}"
    # class_names fixes the number of classes, even for unseen ones
    cells = _cell_texts(plot.confusion_matrix(Y_TRUE, Y_PRED, class_names="wxyz").axes[0])
    assert len(cells) == 16 and cells[(3, 3)] == "0"
    with pytest.raises(ValueError, match="normalize"):
        plot.confusion_matrix(Y_TRUE, Y_PRED, normalize="rows")


# ------------------------------------------------------------------------------------------------
# weights, gradients, activations
# ------------------------------------------------------------------------------------------------
def _hist_axes(fig):
    return [ax for ax in fig.axes if ax.patches]


def test_weights_one_histogram_per_parameter(trained):
    model, _, _ = trained
    fig = plot.weights(model, bins=10)
    params = model.parameters()
    hist_axes = _hist_axes(fig)
    assert len(hist_axes) == len(params) == 4
    assert [ax.get_title() for ax in hist_axes] == [p.name for p in params]
    for ax, p in zip(hist_axes, params, strict=True):
        assert len(ax.patches) == 10
        assert sum(patch.get_height() for patch in ax.patches) == p.value.size

    bn_model = snn.Sequential([Dense(3, 4), BatchNorm(4), ReLU(), Dense(4, 2)], seed=0)
    fig = plot.weights(bn_model)
    assert [ax.get_title() for ax in _hist_axes(fig)] == [
        "dense_0.W", "dense_0.b", "batchnorm_0.gamma", "batchnorm_0.beta", "dense_1.W",
        "dense_1.b"]


def test_gradient_norms_reads_current_grads(trained):
    model, _, _ = trained
    norms = plot.gradient_norms(model)
    assert list(norms) == [p.name for p in model.parameters()]
    for p in model.parameters():
        assert norms[p.name] == pytest.approx(np.linalg.norm(p.grad))
    fresh = snn.Sequential([Dense(2, 3)], seed=0)
    assert all(np.isnan(v) for v in plot.gradient_norms(fresh).values())


def test_gradient_flow_one_line_per_parameter(trained):
    model, _, recorder = trained
    names = [p.name for p in model.parameters()]
    steps = 60 * 10  # 60 epochs of 150 samples in batches of 16
    assert list(recorder.norms) == names and len(recorder.norms[names[0]]) == steps
    fig = plot.gradient_flow(recorder.norms)
    ax = fig.axes[0]
    assert len(ax.lines) == len(names)
    assert _legend_texts(ax) == names
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "step" and ax.get_title() == "Gradient flow"
    for line, name in zip(ax.lines, names, strict=True):
        np.testing.assert_allclose(line.get_ydata(), recorder.norms[name])

    # the same data as a list of per-step dicts; zeros become gaps on the log axis
    per_step = [{"a.W": 1.0, "a.b": 0.0}, {"a.W": 0.1, "a.b": 0.5}]
    fig = plot.gradient_flow(per_step, xlabel="epoch")
    lines = fig.axes[0].lines
    assert [line.get_label() for line in lines] == ["a.W", "a.b"]
    assert np.isnan(lines[1].get_ydata()[0]) and lines[1].get_ydata()[1] == 0.5
    assert fig.axes[0].get_xlabel() == "epoch"
    with pytest.raises(ValueError):
        plot.gradient_flow({})


def test_activations_histograms_in_eval_mode():
    layers = [Dense(2, 6), BatchNorm(6), Tanh(), Dropout(0.5), Dense(6, 3)]
    model = snn.Sequential(layers, seed=0).compile("cross_entropy", "sgd")
    x, y = snn.datasets.spirals(n_samples=60, n_classes=3, seed=1)
    model.fit(x, y, epochs=2, batch_size=20, verbose=0)
    running_mean = layers[1].running_mean.copy()
    weights = model.get_weights()

    fig = plot.activations(model, x, bins=20)
    hist_axes = _hist_axes(fig)
    assert [ax.get_title() for ax in hist_axes] == [layer.name for layer in layers]
    widths = [6, 6, 6, 6, 3]
    for ax, width in zip(hist_axes, widths, strict=True):
        assert sum(p.get_height() for p in ax.patches) == 60 * width
    assert "saturated" in hist_axes[2].get_xlabel()
    # eval mode: dropout is the identity, so its histogram equals the tanh one
    assert [p.get_height() for p in hist_axes[3].patches] == \
        [p.get_height() for p in hist_axes[2].patches]
    # and nothing in the model changed
    np.testing.assert_array_equal(layers[1].running_mean, running_mean)
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)

    fig = plot.activations(model, x, layers=[Tanh, "dense_1", 0])
    assert [ax.get_title() for ax in _hist_axes(fig)] == ["dense_0", "tanh_0", "dense_1"]
    with pytest.raises(ValueError, match="no layer named"):
        plot.activations(model, x, layers=["nope"])
