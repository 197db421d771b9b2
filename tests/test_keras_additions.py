"""What an early-Keras user misses (issue 17): MAE and Huber losses and the Keras loss names,
regression and ranking metrics, metric functions of one's own, predict_proba. Formulas are
compared with PyTorch and scikit-learn (each skipped when missing) and with finite
differences."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import functional as F
from scratchnn import losses
from scratchnn import metrics as M
from scratchnn.activations import ReLU, Softmax
from scratchnn.gradcheck import numerical_gradient, rel_error
from scratchnn.layers import Dense


def _regression(n=80, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    return x, x @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.standard_normal(n)


# -- losses -----------------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("name, delta", [("mae", None), ("huber", 0.5), ("huber", 1.0),
                                         ("huber", 2.0)])
def test_mae_and_huber_match_pytorch(name, delta):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((7, 3)) * 2, rng.standard_normal((7, 3))
    pred[0, 0] = target[0, 0]  # an exact zero error: the subgradient 0, as PyTorch
    tp = torch.tensor(pred, requires_grad=True)
    if name == "mae":
        tl = torch.nn.L1Loss()(tp, torch.tensor(target))
        ours, grad = F.mae(pred, target), F.mae_backward(pred, target)
    else:
        tl = torch.nn.HuberLoss(delta=delta)(tp, torch.tensor(target))
        ours, grad = F.huber(pred, target, delta), F.huber_backward(pred, target, delta)
    tl.backward()
    assert ours == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(grad, tp.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss", [losses.MAE(), losses.Huber(0.7)])
def test_mae_and_huber_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(1)
    pred, target = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    loss(pred, target)
    numeric = numerical_gradient(lambda p: loss.forward(p, target), pred)
    assert rel_error(loss.backward(), numeric) < 1e-8


@pytest.mark.parametrize("name, cls", [("mae", losses.MAE), ("mean_absolute_error", losses.MAE),
                                       ("l1", losses.MAE), ("huber", losses.Huber),
                                       ("mean_squared_error", losses.MSE),
                                       ("sparse_categorical_crossentropy",
                                        losses.CrossEntropy)])
def test_the_loss_names_keras_users_type(name, cls):
    assert type(losses.get(name)) is cls


def test_huber_rejects_a_non_positive_delta():
    with pytest.raises(ValueError, match="delta must be positive"):
        losses.Huber(0.0)
    with pytest.raises(ValueError, match="delta must be positive"):
        F.huber(np.zeros(2), np.zeros(2), delta=-1)


def test_a_huber_model_fits_a_regression_with_outliers_and_saves(tmp_path):
    x, y = _regression()
    y = y.copy()
    y[:4] += 50.0  # outliers: MSE bends towards them, Huber much less
    fits = {}
    for loss in ("mse", losses.Huber(1.0)):
        model = snn.Sequential([Dense(3, 1)], seed=0).compile(loss, snn.optimizers.Adam(0.05),
                                                              metrics=["mae"])
        model.fit(x, y, epochs=60, batch_size=16, verbose=0)
        fits[type(model.loss).__name__] = model
    w_true = np.array([1.5, -2.0, 0.5])
    errors = {k: np.abs(m.layers[0].W.value.ravel() - w_true).max() for k, m in fits.items()}
    assert errors["Huber"] < errors["MSE"], errors
    fits["Huber"].save(tmp_path / "h.npz")
    loaded = snn.load_model(tmp_path / "h.npz")
    assert isinstance(loaded.loss, losses.Huber) and loaded.loss.delta == 1.0


# -- metrics ----------------------------------------------------------------------------------
@pytest.fixture
def sk():
    return pytest.importorskip("sklearn.metrics")


def test_regression_metrics_match_scikit_learn(sk):
    rng = np.random.default_rng(0)
    t = rng.standard_normal((40, 2))
    p = t + 0.5 * rng.standard_normal((40, 2))
    assert M.mean_absolute_error(t, p) == pytest.approx(sk.mean_absolute_error(t, p))
    assert M.root_mean_squared_error(t, p) == pytest.approx(
        np.sqrt(sk.mean_squared_error(t, p)))
    assert M.r2_score(t, p) == pytest.approx(sk.r2_score(t, p))
    assert M.r2_score(t[:, 0], p[:, :1]) == pytest.approx(sk.r2_score(t[:, 0], p[:, 0]))
    const = np.ones(5)
    assert M.r2_score(const, const) == 1.0 and M.r2_score(const, const + 1) == 0.0


def test_roc_auc_matches_scikit_learn_with_ties_and_several_classes(sk):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    scores = np.round(rng.random(60), 1)  # many ties
    assert M.roc_auc_score(y, scores) == pytest.approx(sk.roc_auc_score(y, scores))
    y3 = rng.integers(0, 3, 90)
    probs = rng.random((90, 3))
    probs /= probs.sum(axis=1, keepdims=True)
    assert M.roc_auc_score(y3, probs) == pytest.approx(
        sk.roc_auc_score(y3, probs, multi_class="ovr"))
    assert M.roc_auc_score(np.eye(3)[y3], probs) == pytest.approx(M.roc_auc_score(y3, probs))


def test_roc_auc_needs_both_classes():
    with pytest.raises(ValueError, match="only one class"):
        M.roc_auc_score(np.ones(4, int), np.arange(4.0))


def test_regression_metrics_are_logged_under_their_names():
    x, y = _regression()
    model = snn.Sequential([Dense(3, 1)], seed=0)
    model.compile("mse", snn.optimizers.Adam(0.05), metrics=["mae", "rmse", "r2"])
    history = model.fit(x, y, epochs=40, batch_size=16, verbose=0, validation_split=0.25)
    assert {"mae", "rmse", "r2", "val_mae", "val_rmse", "val_r2"} <= set(history.history)
    result = model.evaluate(x, y)
    assert result["r2"] > 0.99
    assert result["rmse"] == pytest.approx(np.sqrt(result["loss"]), rel=1e-4)


def test_roc_auc_of_a_from_logits_classifier_is_computed_on_probabilities(sk):
    (x, y), _ = snn.datasets.load_breast_cancer(test_size=0.2, seed=0)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    model = snn.Sequential([Dense(30, 8), ReLU(), Dense(8, 2)], seed=0)
    model.compile("sparse_categorical_crossentropy", "adam", metrics=["acc", "roc_auc"])
    model.fit(x, y, epochs=10, verbose=0)
    proba = model.predict_proba(x)
    assert model.evaluate(x, y)["roc_auc"] > 0.9
    assert model.evaluate(x, y)["roc_auc"] == pytest.approx(
        sk.roc_auc_score(y, proba[:, 1]), rel=1e-6)


def test_a_metric_function_of_ones_own(tmp_path):
    def within_one(y_true, y_pred):
        return float(np.mean(np.abs(np.ravel(y_true) - np.ravel(y_pred)) < 1.0))

    x, y = _regression()
    model = snn.Sequential([Dense(3, 1)], seed=0)
    model.compile("mse", snn.optimizers.Adam(0.05), metrics=[within_one])
    history = model.fit(x, y, epochs=30, verbose=0)
    assert history.history["within_one"][-1] > history.history["within_one"][0]
    with pytest.raises(TypeError, match=r"within_one.*register\(within_one, kind='metric'\)"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    snn.register(within_one, kind="metric")
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert loaded.metrics == ["within_one"]
    assert loaded.evaluate(x, y) == model.evaluate(x, y)


def test_unknown_and_repeated_metrics_are_refused():
    model = snn.Sequential([Dense(3, 2)], seed=0)
    with pytest.raises(ValueError, match="unknown metric 'top_5'"):
        model.compile(metrics=["top_5"])
    with pytest.raises(ValueError, match="unique"):
        model.compile(metrics=["acc", "accuracy"])


# -- predict_proba ----------------------------------------------------------------------------
def test_predict_proba_for_every_kind_of_classifier():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    logits = snn.Sequential([Dense(3, 4)], seed=0).compile("cross_entropy")
    p = logits.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p, F.softmax(logits.predict(x)), rtol=1e-6)
    binary = snn.Sequential([Dense(3, 1)], seed=0).compile("binary_crossentropy")
    np.testing.assert_allclose(binary.predict_proba(x), F.sigmoid(binary.predict(x)))
    head = snn.Sequential([Dense(3, 4), Softmax()], seed=0)
    head.compile(losses.CrossEntropy(from_logits=False))
    np.testing.assert_array_equal(head.predict_proba(x), head.predict(x))


def test_predict_proba_refuses_what_has_no_probabilities():
    model = snn.Sequential([Dense(3, 1)], seed=0)
    with pytest.raises(RuntimeError, match="compile"):
        model.predict_proba(np.zeros((2, 3)))
    model.compile("mse")
    with pytest.raises(TypeError, match="regression loss"):
        model.predict_proba(np.zeros((2, 3)))


# -- optimizers -------------------------------------------------------------------------------
def test_weight_decay_exclusions_by_name_and_pattern(tmp_path):
    from scratchnn.layers import BatchNorm

    model = snn.Sequential([Dense(4, 8), BatchNorm(8), Dense(8, 3)], seed=0)
    opt = snn.optimizers.AdamW(weight_decay=0.1,
                               exclude_from_weight_decay=["b", "batchnorm_*"])
    assert [p.name for p in model.parameters() if opt.decays(p)] == ["dense_0.W", "dense_1.W"]
    x = np.random.default_rng(0).standard_normal((32, 4))
    y = np.arange(32) % 3
    model.compile("cross_entropy", opt).fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = snn.load_model(tmp_path / "m.npz")
    assert loaded.optimizer.exclude_from_weight_decay == ["b", "batchnorm_*"]
    with pytest.raises(ValueError, match="exclude_from_weight_decay"):
        snn.optimizers.SGD(exclude_from_weight_decay=[3])


def test_an_excluded_parameter_really_gets_no_decay():
    # zero gradients: only the decay moves a weight
    from scratchnn.core import Parameter

    for opt in (snn.optimizers.SGD(0.1, weight_decay=0.5, exclude_from_weight_decay="b"),
                snn.optimizers.AdamW(0.1, weight_decay=0.5, exclude_from_weight_decay="b")):
        W, b = Parameter(np.ones((2, 2)), "d.W"), Parameter(np.ones(2), "d.b")
        W.grad, b.grad = np.zeros((2, 2)), np.zeros(2)
        opt.step([W, b])
        assert np.all(W.value < 1) and np.all(b.value == 1), type(opt).__name__


def test_adagrad_by_name_and_its_errors():
    assert type(snn.optimizers.get("adagrad")) is snn.optimizers.Adagrad
    with pytest.raises(ValueError, match="eps must be positive"):
        snn.optimizers.Adagrad(eps=0)


# -- callbacks and NaN ------------------------------------------------------------------------
class _Scripted(snn.callbacks.Callback):
    """Writes a given value of ``key`` into each epoch's logs (runs before the callback
    under test)."""

    def __init__(self, key, values):
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_reduce_lr_on_plateau_follows_keras_rules():
    x, y = _regression(32)
    model = snn.Sequential([Dense(3, 1)], seed=0)
    model.compile("mse", snn.optimizers.SGD(0.1))
    # epochs 0-1 improve; 2, 3 flat -> reduce after 3; epoch 4 is the cooldown's (its wait
    # still counts, as in Keras, once the counter reached 0); 5 -> reduce; 7 improves
    scores = [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.2, 0.2]
    plateau = snn.callbacks.ReduceLROnPlateau(monitor="score", factor=0.5, patience=2,
                                              cooldown=1, min_lr=0.01)
    history = model.fit(x, y, epochs=len(scores), verbose=0,
                        callbacks=[_Scripted("score", scores), plateau])
    # the lr logged for epoch i is the rate used during epoch i (reductions act next epoch)
    assert history.history["lr"] == pytest.approx(
        [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.025])
    for _ in range(3):  # never below min_lr
        model.fit(x, y, epochs=4, verbose=0, callbacks=[_Scripted("score", [1.0] * 4),
                                                        snn.callbacks.ReduceLROnPlateau(
                                                            "score", 0.5, 1, min_lr=0.01)])
    assert model.optimizer.lr == pytest.approx(0.01)


def test_reduce_lr_on_plateau_refuses_a_schedule_and_bad_arguments():
    x, y = _regression(16)
    sched = snn.schedules.StepDecay(0.1, step_size=2, gamma=0.5)
    model = snn.Sequential([Dense(3, 1)], seed=0).compile("mse", snn.optimizers.SGD(sched))
    with pytest.raises(ValueError, match="schedule"):
        model.fit(x, y, verbose=0, callbacks=[snn.callbacks.ReduceLROnPlateau("loss")])
    with pytest.raises(ValueError, match="factor"):
        snn.callbacks.ReduceLROnPlateau(factor=1.0)


def test_csv_logger_writes_a_row_per_epoch_and_appends(tmp_path):
    import csv

    x, y = _regression(40)
    model = snn.Sequential([Dense(3, 1)], seed=0)
    model.compile("mse", snn.optimizers.SGD(0.05), metrics=["mae"])
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25,
                        callbacks=[snn.callbacks.CSVLogger(path)])
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae", "lr"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [float(r["val_mae"]) for r in rows] == pytest.approx(history.history["val_mae"])
    model.fit(x, y, epochs=2, verbose=0, validation_split=0.25,
              callbacks=[snn.callbacks.CSVLogger(path, append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 3 + 2 and lines[0].startswith("epoch,")


def test_training_that_produces_nan_stops_with_a_message_naming_the_cause():
    x, y = _regression(64)
    model = snn.Sequential([Dense(3, 16), ReLU(), Dense(16, 1)], seed=0)
    model.compile("mse", snn.optimizers.SGD(50.0))
    with pytest.warns(RuntimeWarning, match=r"loss became (nan|inf) at epoch 1, batch \d+ "
                                            r"\(the weights of dense_\d\.[Wb] are no longer "
                                            r"finite|.*lr=50"):
        history = model.fit(x * 1e3, y, epochs=20, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 1  # stopped in the first epoch, not 20 epochs


# -- sample and class weights -----------------------------------------------------------------
def _classes(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.8).astype(int)


@pytest.mark.torch
def test_a_weighted_step_matches_pytorch():
    torch = pytest.importorskip("torch")
    x, y = _classes(16)
    w = np.random.default_rng(1).uniform(0, 3, 16)
    model = snn.Sequential([Dense(4, 3)], seed=0, dtype=np.float64)
    model.compile("cross_entropy", snn.optimizers.SGD(0.5), metrics=[])
    W0, b0 = (p.value.copy() for p in model.parameters())
    loss, _ = model.train_step(x, y, w)
    tW, tb = torch.tensor(W0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    per_sample = torch.nn.functional.cross_entropy(torch.tensor(x) @ tW + tb,
                                                   torch.tensor(y), reduction="none")
    tloss = (per_sample * torch.tensor(w)).mean()  # Keras' reduction: sum(w l) / N
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(model.layers[0].W.value, W0 - 0.5 * tW.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(model.layers[0].b.value, b0 - 0.5 * tb.grad.numpy(), rtol=1e-12)


def test_class_weight_is_the_sample_weight_of_each_label():
    x, y = _classes()
    table = {0: 0.5, 2: 4.0}  # class 1 is missing: weight 1
    runs = []
    for kwargs in ({"class_weight": table},
                   {"sample_weight": np.array([table.get(c, 1.0) for c in y])}, {}):
        model = snn.Sequential([Dense(4, 8), ReLU(), Dense(8, 3)], seed=0)
        model.compile("cross_entropy", "adam")
        history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, **kwargs)
        runs.append((history.history["loss"], model.get_weights()))
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert runs[0][0] == runs[1][0]
    assert not np.array_equal(runs[0][1][0], runs[2][1][0])  # the weights did change training


def test_weighted_evaluate_and_validation_data():
    x, y = _classes()
    w = np.linspace(0, 2, len(y))
    model = snn.Sequential([Dense(4, 3)], seed=0).compile("cross_entropy", "adam")
    expected = np.mean(w * F.cross_entropy(model.predict(x), y, reduction="none"))
    result = model.evaluate(x, y, sample_weight=w)
    assert result["loss"] == pytest.approx(expected, rel=1e-5)
    assert result["accuracy"] == model.evaluate(x, y)["accuracy"]  # metrics are unweighted
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y, w))
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x, y, sample_weight=w)["loss"])


@pytest.mark.parametrize("kwargs, words", [
    ({"sample_weight": np.ones(5)}, r"sample_weight must have shape \(60,\)"),
    ({"sample_weight": -np.ones(60)}, "finite and >= 0"),
    ({"class_weight": {7: 1.0}}, "class_weight key 7"),
    ({"class_weight": [1.0, 2.0]}, "must be a dict"),
])
def test_bad_weights_are_named(kwargs, words):
    x, y = _classes()
    model = snn.Sequential([Dense(4, 3)], seed=0).compile("cross_entropy", "adam")
    with pytest.raises(ValueError, match=words):
        model.fit(x, y, verbose=0, **kwargs)


def test_a_custom_loss_without_per_sample_values_says_what_weights_need():
    class Plain(losses.Loss):
        def forward(self, pred, target):
            self._d = pred - target
            return float(np.mean(self._d ** 2))

        def backward(self):
            return 2 * self._d / self._d.size

    x, _ = _classes()
    model = snn.Sequential([Dense(4, 1)], seed=0).compile(Plain(), "sgd", metrics=[])
    before = model.get_weights()
    with pytest.raises(NotImplementedError, match=r"Plain\.per_sample\(pred, target\)"):
        model.fit(x, x[:, 0], sample_weight=np.ones(60), verbose=0)
    for a, b in zip(before, model.get_weights(), strict=True):  # no update was made
        np.testing.assert_array_equal(a, b)


# -- fit on batches ---------------------------------------------------------------------------
def test_fit_on_a_list_of_batches_equals_fit_on_the_arrays_unshuffled():
    x, y = _classes()
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 60, 16)]
    a = snn.Sequential([Dense(4, 3)], seed=0).compile("cross_entropy", "adam")
    b = snn.Sequential([Dense(4, 3)], seed=0).compile("cross_entropy", "adam")
    ha = a.fit(batches, epochs=3, verbose=0)
    hb = b.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    assert ha.history == hb.history
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_fit_on_a_dataloader_with_weighted_batches_and_validation():
    from scratchnn.data import DataLoader

    x, y = _classes()
    loader = DataLoader(x, y, batch_size=16, seed=0)
    model = snn.Sequential([Dense(4, 8), ReLU(), Dense(8, 3)], seed=0)
    model.compile("cross_entropy", "adam")
    history = model.fit(loader, epochs=15, verbose=0, validation_data=(x, y))
    assert len(history.history["loss"]) == 15
    assert history.history["val_accuracy"][-1] > history.history["val_accuracy"][0]
    weighted = [(xb, yb, np.full(len(yb), 2.0)) for xb, yb in
                DataLoader(x, y, batch_size=60, shuffle=False)]  # one batch: one step
    plain = [(xb, yb) for xb, yb, _ in weighted]
    m1 = snn.Sequential([Dense(4, 3)], seed=0).compile("cross_entropy", "sgd")
    m2 = snn.Sequential([Dense(4, 3)], seed=0).compile("cross_entropy", "sgd")
    h1, h2 = m1.fit(weighted, verbose=0), m2.fit(plain, verbose=0)
    assert h1.history["loss"][0] == pytest.approx(2 * h2.history["loss"][0], rel=1e-6)


def test_fit_refuses_a_one_shot_iterator_for_several_epochs_and_misplaced_arguments():
    x, y = _classes()
    model = snn.Sequential([Dense(4, 3)], seed=0).compile("cross_entropy", "adam")
    with pytest.raises(ValueError, match="iterator, which is used up"):
        model.fit(((x[i:i + 8], y[i:i + 8]) for i in range(0, 60, 8)), epochs=2, verbose=0)
    history = model.fit(((x[i:i + 8], y[i:i + 8]) for i in range(0, 60, 8)), verbose=0)
    assert len(history.history["loss"]) == 1
    with pytest.raises(ValueError, match="validation_split"):
        model.fit([(x, y)], validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="batch 1 of x must be a pair"):
        model.fit([(x, y), x], verbose=0)
    with pytest.raises(ValueError, match="y is missing"):
        model.fit(x, verbose=0)
