"""End-to-end training on real problems: XOR, spirals, digits, breast cancer; plus the
guarantees around training (deterministic eval, save/load, no mutation of the data)."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import activations as A
from scratchnn import callbacks as cbks
from scratchnn import datasets
from scratchnn import optimizers as O
from scratchnn.data import standardize
from scratchnn.layers import BatchNorm, Dense, Dropout


def accuracy(model, x, y):
    out = model.predict(x)
    pred = (out[:, 0] > 0).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
    return float(np.mean(pred == y))


def test_xor_reaches_full_train_accuracy():
    x, y = datasets.xor(n_samples=200, noise=0.1, seed=0)
    model = snn.Sequential([Dense(2, 16), A.Tanh(), Dense(16, 1)], seed=0)
    model.compile("binary_cross_entropy", O.Adam(lr=0.05))
    history = model.fit(x, y, epochs=60, batch_size=32, verbose=0)
    assert accuracy(model, x, y) == 1.0
    assert history.history["accuracy"][-1] == 1.0
    assert model.evaluate(x, y)["accuracy"] == 1.0


@pytest.mark.slow
def test_spirals_three_classes():
    x, y = datasets.spirals(n_samples=300, n_classes=3, seed=0)
    model = snn.Sequential([Dense(2, 64), A.ReLU(), Dense(64, 64), A.ReLU(), Dense(64, 3)],
                           seed=0)
    model.compile("cross_entropy", O.Adam(lr=0.01))
    model.fit(x, y, epochs=200, batch_size=32, verbose=0)
    assert accuracy(model, x, y) >= 0.95


@pytest.mark.slow
def test_digits_mlp_with_adam_is_accurate():
    # Speed is measured by `make bench`, not asserted here (the suite must pass on a busy machine).
    (x_tr, y_tr), (x_te, y_te) = datasets.load_digits(test_size=0.25, seed=0)
    model = snn.Sequential([Dense(64, 256), A.ReLU(), Dense(256, 10)], seed=0)
    model.compile("cross_entropy", O.Adam(lr=1e-3))
    model.fit(x_tr, y_tr, epochs=40, batch_size=32, verbose=0)
    test_acc = model.evaluate(x_te, y_te)["accuracy"]
    assert test_acc >= 0.97


@pytest.mark.slow
def test_breast_cancer_standardized_with_train_statistics():
    (x_tr, y_tr), (x_te, y_te) = datasets.load_breast_cancer(test_size=0.25, seed=0)
    x_tr_std, x_te_std, mean, std = standardize(x_tr, x_te)
    np.testing.assert_allclose(x_tr_std.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose((x_te - mean) / std, x_te_std, rtol=1e-5, atol=1e-6)
    model = snn.Sequential([Dense(30, 32), A.ReLU(), Dropout(0.2), Dense(32, 1)], seed=0)
    model.compile("binary_cross_entropy", O.Adam(lr=1e-3, weight_decay=1e-4))
    model.fit(x_tr_std, y_tr, epochs=40, batch_size=32, verbose=0)
    assert accuracy(model, x_te_std, y_te) >= 0.95
    assert model.evaluate(x_te_std, y_te)["accuracy"] >= 0.95


@pytest.mark.parametrize("optimizer", [O.SGD(lr=0.5), O.Momentum(lr=0.1),
                                       O.Momentum(lr=0.1, nesterov=True), O.RMSProp(lr=0.01),
                                       O.Adam(lr=0.01), O.AdamW(lr=0.01)],
                         ids=["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"])
def test_every_optimizer_learns_moons(optimizer):
    x, y = datasets.moons(n_samples=200, noise=0.1, seed=0)
    model = snn.Sequential([Dense(2, 32), A.Tanh(), Dense(32, 2)], seed=0)
    model.compile("cross_entropy", optimizer)
    history = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert accuracy(model, x, y) >= 0.9


def test_batchnorm_dropout_model_trains_and_evaluates_deterministically(tmp_path):
    (x_tr, y_tr), (x_te, y_te) = datasets.spirals(n_samples=300, seed=1, test_size=0.2)
    model = snn.Sequential([Dense(2, 64), BatchNorm(64), A.ReLU(), Dropout(0.1), Dense(64, 3)],
                           seed=1, dtype=np.float64)
    model.compile("cross_entropy", O.Adam(lr=0.01))
    copies = [a.copy() for a in (x_tr, y_tr, x_te, y_te)]
    history = model.fit(x_tr, y_tr, epochs=40, batch_size=32, verbose=0,
                        validation_data=(x_te, y_te))
    assert history.history["accuracy"][-1] > 0.8
    # predict / evaluate: eval mode, identical on repeated calls
    np.testing.assert_array_equal(model.predict(x_te), model.predict(x_te))
    assert model.evaluate(x_te, y_te) == model.evaluate(x_te, y_te)
    assert model.evaluate(x_te, y_te)["loss"] == pytest.approx(history.history["val_loss"][-1])
    # save -> load: identical predictions, float64 kept
    model.save(tmp_path / "spirals.npz")
    loaded = snn.load_model(tmp_path / "spirals.npz")
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded.predict(x_te), model.predict(x_te))
    assert loaded.evaluate(x_te, y_te) == model.evaluate(x_te, y_te)
    for a, c in zip((x_tr, y_tr, x_te, y_te), copies, strict=True):
        np.testing.assert_array_equal(a, c)


def test_early_stopping_in_a_real_training_run():
    (x_tr, y_tr), (x_va, y_va) = datasets.moons(n_samples=200, noise=0.35, seed=3, test_size=0.3)
    model = snn.Sequential([Dense(2, 128), A.ReLU(), Dense(128, 128), A.ReLU(), Dense(128, 2)],
                           seed=0)
    model.compile("cross_entropy", O.Adam(lr=0.01))
    stopper = cbks.EarlyStopping(patience=5, restore_best_weights=True)
    history = model.fit(x_tr, y_tr, epochs=300, batch_size=16, verbose=0,
                        validation_data=(x_va, y_va), callbacks=[stopper])
    val = history.history["val_loss"]
    assert len(val) < 300 and stopper.stopped_epoch == len(val) - 1
    assert model.evaluate(x_va, y_va)["loss"] == pytest.approx(min(val), rel=1e-5)
