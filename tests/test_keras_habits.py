"""Issue 17's faults: Keras and PyTorch habits that trained without complaint and misled, or
failed late and vaguely. Each test failed on the code before the fix (checked against a
worktree of the previous commit)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import losses
from scratchnn import optimizers as O
from scratchnn.activations import ReLU, Sigmoid, Softmax, Tanh
from scratchnn.callbacks import ModelCheckpoint, ProgressBar
from scratchnn.core import Layer
from scratchnn.layers import Dense


def _binary_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)


# -- 1. logits vs probabilities -------------------------------------------------------------
@pytest.mark.parametrize("head, loss, named", [
    (Sigmoid, "binary_crossentropy", "'binary_crossentropy'"),
    (Sigmoid, losses.BinaryCrossEntropy(), "from_logits=True"),
    (Softmax, "categorical_crossentropy", "'categorical_crossentropy'"),
    (Softmax, "cross_entropy", "from_logits=True"),
])
def test_a_final_probability_layer_with_a_from_logits_loss_is_refused(head, loss, named):
    out = 1 if head is Sigmoid else 3
    model = snn.Sequential([Dense(4, out), head()], seed=0)
    with pytest.raises(ValueError) as err:
        model.compile(loss=loss)
    message = str(err.value)
    assert named in message and head.__name__ in message
    assert "from_logits=False" in message, "the message must name the other fix"
    assert model.loss is None, "a refused compile must leave the model uncompiled"


@pytest.mark.parametrize("last, loss", [
    (lambda: Dense(4, 1), losses.BinaryCrossEntropy(from_logits=False)),
    (lambda: Dense(4, 3), losses.CrossEntropy(from_logits=False)),
    (lambda: Tanh(), losses.BinaryCrossEntropy(from_logits=False)),
    (lambda: Sigmoid(), losses.CrossEntropy(from_logits=False)),
])
def test_a_probability_loss_after_a_layer_without_probabilities_is_refused(last, loss):
    layers = [Dense(4, 3 if isinstance(loss, losses.CrossEntropy) else 1)]
    layer = last()
    layers = [layer] if isinstance(layer, Dense) else layers + [layer]
    model = snn.Sequential(layers, seed=0)
    with pytest.raises(ValueError, match="expects probabilities"):
        model.compile(loss=loss)


@pytest.mark.parametrize("layers, loss", [
    ([Dense(4, 1)], "binary_crossentropy"),
    ([Dense(4, 1), Sigmoid()], losses.BinaryCrossEntropy(from_logits=False)),
    ([Dense(4, 3)], "categorical_crossentropy"),
    ([Dense(4, 3), Softmax()], losses.CrossEntropy(from_logits=False)),
    ([Dense(4, 1), Sigmoid()], "mse"),
])
def test_consistent_heads_compile_and_report_true_accuracy(layers, loss):
    x, y = _binary_data()
    model = snn.Sequential(layers, seed=0)
    metrics = ["accuracy"]
    model.compile(loss=loss, optimizer=O.Adam(lr=0.05), metrics=metrics)
    model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    # the report's symptom was accuracy == the share of positives (here 0.5): separable
    # data must be learned
    assert model.evaluate(x, y)["accuracy"] >= 0.9


def test_a_custom_last_layer_is_trusted():
    class Squash(Layer):
        def forward(self, x, training=False):
            return x / (1 + np.abs(x))

        def backward(self, grad):
            return grad

    model = snn.Sequential([Dense(4, 1), Squash()], seed=0)
    model.compile(loss=losses.BinaryCrossEntropy(from_logits=False))
    model.compile(loss="binary_crossentropy")


# -- 2. saved but unloadable ------------------------------------------------------------------
class ScaledMSE(losses.Loss):
    """A custom loss with a constructor argument, saved through get_config."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = scale

    def get_config(self):
        return {"scale": self.scale}

    def forward(self, pred, target):
        self._p, self._t = pred, target
        return float(self.scale * np.mean((pred - target) ** 2))

    def backward(self):
        return (2 * self.scale * (self._p - self._t) / self._p.size).astype(self._p.dtype)


def test_a_model_with_a_custom_loss_saves_and_loads(tmp_path):
    x, _ = _binary_data()
    model = snn.Sequential([Dense(4, 1)], seed=0).compile(ScaledMSE(3.0), "sgd", metrics=[])
    model.fit(x, x[:, 0], epochs=2, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert isinstance(loaded.loss, ScaledMSE) and loaded.loss.scale == 3.0
    assert loaded.evaluate(x, x[:, 0]) == model.evaluate(x, x[:, 0])


def test_a_custom_loss_that_cannot_be_loaded_back_fails_at_save(tmp_path):
    class NoConfig(ScaledMSE):
        def __init__(self, scale):  # a required argument that get_config does not give
            super().__init__(scale)

        def get_config(self):
            return {}

    x, _ = _binary_data()
    model = snn.Sequential([Dense(4, 1)], seed=0).compile(NoConfig(2.0), "sgd", metrics=[])
    with pytest.raises(TypeError, match="NoConfig"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


# -- 3. a metric that cannot work: said at compile / before the first batch -------------------
def test_mse_with_accuracy_on_one_output_is_refused_at_compile():
    model = snn.Sequential([Dense(4, 1)], seed=0)
    with pytest.raises(ValueError, match=r"'accuracy'.*classification metrics"):
        model.compile(loss="mse", metrics=["accuracy"])


def test_a_classification_metric_on_regression_targets_fails_before_training():
    # a sigmoid output may use MSE with accuracy (0/1 targets); these targets are not classes
    x, _ = _binary_data()
    y = 1 / (1 + np.exp(-x[:, 0]))
    model = snn.Sequential([Dense(4, 1), Sigmoid()], seed=0)
    model.compile("mse", "sgd", metrics=["accuracy"])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"metric 'accuracy' needs class labels"):
        model.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    with pytest.raises(ValueError, match=r"metric 'accuracy'"):
        model.evaluate(x, y)


# -- 4. ModelCheckpoint placeholders ----------------------------------------------------------
def test_a_checkpoint_name_with_val_loss_without_validation_data_fails_at_fit_start(tmp_path):
    x, y = _binary_data()
    model = snn.Sequential([Dense(4, 2)], seed=0).compile("cross_entropy", "sgd")
    before = model.get_weights()
    ckpt = ModelCheckpoint(str(tmp_path / "m-{val_loss:.3f}.npz"))
    with pytest.raises(ValueError, match=r"\{val_loss\}.*validation_data"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[ckpt])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch}-{val_f1_score:.3f}.npz"))
    with pytest.raises(ValueError, match=r"\{val_f1_score\}.*compile\(metrics"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ckpt], validation_split=0.25)
    # a name no callback adds: a clear error when it is filled in, not a bare KeyError
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch}-{val_los:.3f}.npz"))
    with pytest.raises(ValueError, match=r"\{val_los\}.*this epoch's logs"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ckpt], validation_split=0.25)


def test_checkpoint_placeholders_that_exist_are_filled(tmp_path):
    x, y = _binary_data()
    model = snn.Sequential([Dense(4, 2)], seed=0).compile("cross_entropy", "sgd")
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{val_accuracy:.2f}.npz"),
                           monitor="val_accuracy", save_best_only=True)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ckpt], validation_split=0.25)
    assert sorted(p.name for p in tmp_path.iterdir())[0].startswith("m-01-")


# -- 5. one target contract for every loss ----------------------------------------------------
def test_a_custom_loss_receives_targets_shaped_like_the_predictions():
    seen = []

    class Recording(ScaledMSE):
        def forward(self, pred, target):
            seen.append((pred.shape, np.shape(target)))
            return super().forward(pred, target)

    x, _ = _binary_data()
    model = snn.Sequential([Dense(4, 1)], seed=0).compile(Recording(), "adam", metrics=[])
    model.fit(x, x[:, 0], epochs=1, batch_size=32, verbose=0)
    assert seen and all(p == t for p, t in seen), seen


def test_a_custom_loss_gradient_of_the_wrong_shape_is_named():
    class Flat(ScaledMSE):
        def backward(self):
            return super().backward().ravel()

    x, _ = _binary_data()
    model = snn.Sequential([Dense(4, 2)], seed=0).compile(Flat(), "adam", metrics=[])
    with pytest.raises(ValueError, match=r"Flat\.backward\(\) returned a gradient of shape"):
        model.fit(x, x[:, :2], epochs=1, verbose=0)


# -- 6. docs and display ----------------------------------------------------------------------
def test_loss_objects_called_directly_accept_the_documented_targets():
    rng = np.random.default_rng(0)
    z, t = rng.standard_normal((6, 1)), np.array([0, 1, 1, 0, 1, 0])
    for loss in (losses.BinaryCrossEntropy(), losses.MSE()):
        assert loss(z, t) == pytest.approx(loss(z, t.reshape(-1, 1).astype(float)))
        assert loss.backward().shape == (6, 1)
    ce = losses.CrossEntropy()
    logits = rng.standard_normal((6, 3))
    assert ce(logits, np.array([0, 1, 2, 0, 1, 2])) == pytest.approx(
        ce(logits, np.eye(3)[[0, 1, 2, 0, 1, 2]]))


def test_the_progress_bar_shows_a_small_learning_rate():
    pytest.importorskip("tqdm")
    x, y = _binary_data()
    model = snn.Sequential([Dense(4, 2), ReLU(), Dense(2, 2)], seed=0)
    model.compile("cross_entropy", O.Adam(lr=1e-5))
    out = io.StringIO()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ProgressBar(file=out)])
    assert "lr=1e-05" in out.getvalue(), out.getvalue()[-200:]
