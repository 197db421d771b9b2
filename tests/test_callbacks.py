"""Callbacks and the training loop around them: History, validation_split, batching,
shuffling, EarlyStopping, TerminateOnNaN, LearningRateScheduler, ModelCheckpoint."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import activations as A
from scratchnn import callbacks as cbks
from scratchnn import optimizers as O
from scratchnn import schedules
from scratchnn.core import Layer
from scratchnn.layers import BatchNorm, Dense, Dropout


class Recorder(Layer):
    """Identity layer that records the first feature (the sample index) of every batch."""

    preserves_shape = True

    def __init__(self):
        super().__init__()
        self.train_batches, self.eval_batches = [], []

    def forward(self, x, training=False):
        (self.train_batches if training else self.eval_batches).append(x[:, 0].copy())
        return x

    def backward(self, grad_out):
        return grad_out


class BatchLog(cbks.Callback):
    def __init__(self):
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append({"sizes": [], "losses": [], "lr": []})

    def on_batch_end(self, batch, logs=None):
        self.epochs[-1]["sizes"].append(logs["size"])
        self.epochs[-1]["losses"].append(logs["loss"])
        self.epochs[-1]["lr"].append(self.model.optimizer.current_lr)


class Scripted(cbks.Callback):
    """Writes a prescribed value of ``key`` into each epoch's logs (place it before the
    callbacks that read it)."""

    def __init__(self, key, values):
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Snapshots(cbks.Callback):
    """The model's weights and its predictions on ``probe`` at the end of every epoch."""

    def __init__(self, probe):
        self.probe, self.weights, self.predictions = probe, [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.predictions.append(self.model.predict(self.probe))


def indexed_data(n=100, seed=0):
    """x[:, 0] is the sample index, so a Recorder layer can tell which samples it saw."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.arange(n, dtype=float), rng.standard_normal(n)])
    y = rng.integers(0, 3, n)
    return x, y


def classifier(seed=0, batchnorm=True, dropout=0.2):
    layers = [Dense(4, 16)]
    if batchnorm:
        layers.append(BatchNorm(16))
    layers.append(A.ReLU())
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(16, 3))
    model = snn.Sequential(layers, seed=seed)
    model.compile("cross_entropy", O.Adam(lr=0.01))
    return model


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.standard_normal((n, 4)) + 2.0 * np.eye(3, 4)[y]
    return x.astype(np.float32), y


def assert_weights_equal(a, b):
    assert len(a) == len(b)
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_array_equal(wa, wb)


# --------------------------------------------------------------------------------------------
# History, validation split, batching, shuffling
# --------------------------------------------------------------------------------------------

def test_history_keys_and_values():
    x, y = blobs()
    model = classifier()
    log = BatchLog()
    history = model.fit(x[:90], y[:90], epochs=4, batch_size=16, verbose=0,
                        validation_data=(x[90:], y[90:]), callbacks=[log])
    assert isinstance(history, cbks.History) and model.history is history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert history.epoch == [0, 1, 2, 3]
    assert all(len(v) == 4 for v in history.history.values())
    assert history.history["lr"] == [0.01] * 4
    for epoch, rec in enumerate(log.epochs):  # the epoch loss is the sample-weighted mean
        expected = np.dot(rec["losses"], rec["sizes"]) / sum(rec["sizes"])
        assert history.history["loss"][epoch] == pytest.approx(expected, rel=1e-6)
    assert all(0 <= a <= 1 for a in history.history["accuracy"] + history.history["val_accuracy"])
    final = model.evaluate(x[90:], y[90:])
    assert history.history["val_loss"][-1] == pytest.approx(final["loss"], rel=1e-5)
    assert history.history["val_accuracy"][-1] == pytest.approx(final["accuracy"])
    assert history.history["loss"][-1] < history.history["loss"][0]
    # without validation there are no val_ keys; without metrics only loss and lr
    assert set(classifier().fit(x, y, epochs=1, verbose=0).history) == {"loss", "accuracy", "lr"}
    model = classifier()
    model.compile("cross_entropy", "adam", metrics=[])
    assert set(model.fit(x, y, epochs=1, verbose=0).history) == {"loss", "lr"}


def test_validation_split_takes_the_last_fraction_before_shuffling():
    x, y = indexed_data(100)
    recorder = Recorder()
    model = snn.Sequential([recorder, Dense(2, 3)], seed=0)
    model.compile("cross_entropy", O.SGD(lr=1e-4))
    log = BatchLog()
    model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0, callbacks=[log])
    assert len(recorder.train_batches) == 3 * 3
    for epoch in range(3):
        batches = recorder.train_batches[3 * epoch:3 * epoch + 3]
        # 75 training samples: two full batches and the last partial one, which is kept
        assert [len(b) for b in batches] == [32, 32, 11]
        assert log.epochs[epoch]["sizes"] == [32, 32, 11]
        seen = np.concatenate(batches)
        np.testing.assert_array_equal(np.sort(seen), np.arange(75))  # each sample once
    # validation: exactly the last 25 samples, in their original order
    assert len(recorder.eval_batches) == 3
    for val in recorder.eval_batches:
        np.testing.assert_array_equal(val, np.arange(75, 100))
    # shuffled: a new order every epoch
    orders = [np.concatenate(recorder.train_batches[3 * e:3 * e + 3]) for e in range(3)]
    assert not np.array_equal(orders[0], np.arange(75))
    assert not np.array_equal(orders[0], orders[1])


def test_no_shuffle_keeps_the_order():
    x, y = indexed_data(50)
    recorder = Recorder()
    model = snn.Sequential([recorder, Dense(2, 3)], seed=0)
    model.compile("cross_entropy", O.SGD(lr=1e-4))
    model.fit(x, y, epochs=2, batch_size=20, shuffle=False, verbose=0)
    assert [len(b) for b in recorder.train_batches] == [20, 20, 10] * 2
    np.testing.assert_array_equal(np.concatenate(recorder.train_batches[:3]), np.arange(50))


def test_shuffling_uses_the_models_own_generator():
    x, y = blobs()
    global_state = np.random.get_state()[1].copy()  # noqa: NPY002 (read, never seeded)
    histories, weights = [], []
    for seed in (7, 7, 8):
        model = classifier(seed=seed)
        histories.append(model.fit(x, y, epochs=3, batch_size=16, verbose=0,
                                   validation_split=0.2).history)
        weights.append(model.get_weights())
    assert histories[0] == histories[1]
    assert_weights_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0][0], weights[2][0])
    # NumPy's global random state was not used
    np.testing.assert_array_equal(np.random.get_state()[1], global_state)  # noqa: NPY002


def test_batch_of_one_with_batch_norm_is_merged_not_dropped():
    x, y = indexed_data(65)
    recorder = Recorder()
    model = snn.Sequential([recorder, Dense(2, 4), BatchNorm(4), Dense(4, 3)], seed=0)
    model.compile("cross_entropy", O.SGD(lr=1e-4))
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)  # 32 + 33: every sample is used
    assert sum(len(b) for b in recorder.train_batches) == 65
    assert min(len(b) for b in recorder.train_batches) >= 2


# --------------------------------------------------------------------------------------------
# EarlyStopping
# --------------------------------------------------------------------------------------------

def test_early_stopping_stops_and_restores_the_best_epoch():
    x, y = blobs()
    model = classifier(batchnorm=True, dropout=0.3)
    scores = [0.5, 0.3, 0.2, 0.25, 0.4, 0.6, 0.1, 0.05, 0.01, 0.0]
    snaps = Snapshots(x[:10])
    stopper = cbks.EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0,
                        callbacks=[Scripted("score", scores), snaps, stopper])
    # the best score was at epoch 2; epochs 3 and 4 did not improve: stop after epoch 4
    assert len(history.epoch) == 5 < 10
    assert stopper.stopped_epoch == 4 and stopper.best_epoch == 2
    assert not np.array_equal(snaps.weights[4][0], snaps.weights[2][0])
    assert_weights_equal(model.get_weights(), snaps.weights[2])  # incl. batch-norm statistics
    np.testing.assert_array_equal(model.predict(x[:10]), snaps.predictions[2])


def test_restore_best_weights_also_when_training_does_not_stop_early():
    x, y = blobs()
    model = classifier()
    snaps = Snapshots(x[:10])
    stopper = cbks.EarlyStopping(monitor="score", patience=10, restore_best_weights=True)
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0, callbacks=[
        Scripted("score", [0.5, 0.4, 0.3, 0.35, 0.36, 0.37]), snaps, stopper])
    assert len(history.epoch) == 6 and stopper.stopped_epoch == 0
    assert stopper.best_epoch == 2
    assert not np.array_equal(snaps.weights[5][0], snaps.weights[2][0])
    assert_weights_equal(model.get_weights(), snaps.weights[2])
    np.testing.assert_array_equal(model.predict(x[:10]), snaps.predictions[2])


def test_without_restore_the_last_weights_stay():
    x, y = blobs()
    model = classifier()
    snaps = Snapshots(x[:10])
    model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[
        Scripted("score", [0.1, 0.2, 0.3, 0.4, 0.5]), snaps,
        cbks.EarlyStopping(monitor="score", patience=2)])
    assert len(snaps.weights) == 3  # stopped after epoch 2
    assert_weights_equal(model.get_weights(), snaps.weights[-1])


def test_early_stopping_on_a_real_val_loss():
    """Noisy labels: the validation loss falls, then rises as the model memorizes noise."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (rng.random(200) < 0.3)
    model = snn.Sequential([Dense(4, 64), A.ReLU(), Dense(64, 3)], seed=0)
    model.compile("cross_entropy", O.Adam(lr=0.005))
    snaps = Snapshots(x[:5])
    stopper = cbks.EarlyStopping(patience=3, restore_best_weights=True)  # monitors val_loss
    history = model.fit(x, y, epochs=200, batch_size=32, validation_split=0.3, verbose=0,
                        callbacks=[snaps, stopper])
    val = history.history["val_loss"]
    assert len(val) < 200
    best = int(np.argmin(val))
    assert best > 0 and stopper.best_epoch == best and len(val) == best + 4
    assert_weights_equal(model.get_weights(), snaps.weights[best])
    assert model.evaluate(x[140:], y[140:])["loss"] == pytest.approx(val[best], rel=1e-5)


def test_early_stopping_modes_min_delta_and_missing_key():
    x, y = blobs()
    # mode auto: "accuracy" is maximized; min_delta: tiny improvements do not count
    stopper = cbks.EarlyStopping(monitor="val_score_acc", patience=1, min_delta=0.05)
    assert stopper.mode == "max"
    history = classifier().fit(x, y, epochs=10, verbose=0, callbacks=[
        Scripted("val_score_acc", [0.5, 0.52, 0.54, 0.9, 0.95] + [1.0] * 5), stopper])
    assert len(history.epoch) == 2
    with pytest.warns(UserWarning, match="EarlyStopping: 'val_loss' is not in the logs"):
        history = classifier().fit(x, y, epochs=2, verbose=0,
                                   callbacks=[cbks.EarlyStopping(patience=0)])
    assert len(history.epoch) == 2
    with pytest.raises(ValueError, match="EarlyStopping: patience"):
        cbks.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode must be"):
        cbks.EarlyStopping(mode="up")


# --------------------------------------------------------------------------------------------
# TerminateOnNaN, LearningRateScheduler, ModelCheckpoint
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("metrics", [[], ["accuracy"]])
def test_terminate_on_nan_stops_on_a_huge_learning_rate(metrics, capsys):
    x, y = blobs(256)
    model = snn.Sequential([Dense(4, 16), A.ReLU(), Dense(16, 3)], seed=0)
    model.compile("cross_entropy", O.SGD(lr=1e30), metrics=metrics)
    log = BatchLog()
    with np.errstate(all="ignore"):  # the divergence itself overflows, of course
        history = model.fit(x * 100, y, epochs=5, batch_size=8, verbose=0,
                            validation_split=0.25, callbacks=[cbks.TerminateOnNaN(), log])
    batches = sum(len(e["losses"]) for e in log.epochs)
    assert len(history.epoch) == 1 and batches < 24  # 192 samples / 8 = 24 batches per epoch
    assert not np.isfinite(log.epochs[-1]["losses"][-1])
    assert np.isfinite(log.epochs[0]["losses"][:-1]).all()
    assert "TerminateOnNaN" in capsys.readouterr().err


def test_learning_rate_scheduler_sets_the_rate_every_epoch():
    x, y = blobs()
    model = classifier()
    model.compile("cross_entropy", O.SGD(lr=1.0))
    log = BatchLog()
    history = model.fit(x, y, epochs=4, batch_size=40, verbose=0, callbacks=[
        cbks.LearningRateScheduler(lambda epoch: 0.1 * 0.5**epoch), log])
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    for epoch, rec in enumerate(log.epochs):
        assert rec["lr"] == pytest.approx([0.1 * 0.5**epoch] * 3)
    assert model.optimizer.lr == pytest.approx(0.0125)
    history = classifier().fit(x, y, epochs=5, verbose=0, callbacks=[
        cbks.LearningRateScheduler(schedules.StepDecay(0.01, step_size=2, gamma=0.1))])
    assert history.history["lr"] == pytest.approx([0.01, 0.01, 0.001, 0.001, 0.0001])
    with pytest.raises(TypeError, match="schedule must be callable"):
        cbks.LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match=r"schedule\(0\) gave lr=nan"):
        classifier().fit(x, y, epochs=1, verbose=0,
                         callbacks=[cbks.LearningRateScheduler(lambda e: float("nan"))])


def test_model_checkpoint(tmp_path):
    x, y = blobs()
    scores = [3.0, 2.0, 2.5, 1.0, 1.5]
    model = classifier()
    snaps = Snapshots(x[:10])
    best = cbks.ModelCheckpoint(tmp_path / "best-{epoch:02d}.npz", monitor="score",
                                save_best_only=True)
    every = cbks.ModelCheckpoint(tmp_path / "all-{epoch}-{loss:.3f}.npz")
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0,
                        callbacks=[Scripted("score", scores), snaps, best, every])
    assert sorted(p.name for p in tmp_path.glob("best-*")) == [
        "best-01.npz", "best-02.npz", "best-04.npz"]
    expected_all = {f"all-{e + 1}-{loss:.3f}.npz" for e, loss in
                    enumerate(history.history["loss"])}
    assert {p.name for p in tmp_path.glob("all-*")} == expected_all
    restored = snn.load_model(tmp_path / "best-04.npz")
    assert_weights_equal(restored.get_weights(), snaps.weights[3])
    np.testing.assert_array_equal(restored.predict(x[:10]), snaps.predictions[3])


def test_callback_hooks_are_called_in_order():
    calls = []

    class Spy(cbks.Callback):
        def on_train_begin(self, logs=None):
            calls.append(("train_begin", logs["epochs"], logs["steps"], logs["samples"]))

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(("epoch_begin", epoch))

        def on_batch_begin(self, batch, logs=None):
            calls.append(("batch_begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("batch_end", batch))

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch_end", epoch))

        def on_train_end(self, logs=None):
            calls.append(("train_end",))

    x, y = blobs(30)
    spy = Spy()
    model = classifier(batchnorm=False)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[spy])
    assert spy.model is model
    epoch = [("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1), ("batch_end", 1)]
    assert calls == [("train_begin", 2, 2, 30),
                     ("epoch_begin", 0), *epoch, ("epoch_end", 0),
                     ("epoch_begin", 1), *epoch, ("epoch_end", 1), ("train_end",)]


def test_verbose_modes_print(capsys):
    x, y = blobs(30)
    classifier().fit(x, y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss" in out
    classifier().fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""
