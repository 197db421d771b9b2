"""scratchnn.interactive.regularization.regularization_explorer: notebook 04's widget, which
trains nothing itself and draws the runs of the caller's train_fn(rate, lam)."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

pytest.importorskip("ipywidgets")

from scratchnn.interactive.regularization import regularization_explorer  # noqa: E402


class FakeTraining:
    """train_fn(rate, lam): U-shaped validation curves whose minimum depends on the pair;
    records every call."""

    def __init__(self, epochs=20):
        self.calls, self.epochs = [], epochs

    def __call__(self, rate, lam):
        self.calls.append((rate, lam))
        t = np.arange(self.epochs, dtype=float)
        floor = 0.3 + abs(rate - 0.5) + 10 * abs(lam - 1e-2)
        return {"train_loss": np.exp(-t / 4) + 1e-3,
                "val_loss": floor + (t - 8) ** 2 / 200,
                "val_acc": np.linspace(0.5, 0.9, self.epochs)}


def _table(box):
    """The values of the map on the right (the lowest val loss per cell, nan: not trained)."""
    image = box.figure.axes[1].images[0]
    return np.ma.filled(image.get_array().astype(float), np.nan)


def test_trains_the_selection_once_and_remembers_it():
    train = FakeTraining()
    box = regularization_explorer(train, rates=[0.0, 0.5], lams=[0.0, 1e-2], rate=0.5, lam=0.0)
    assert train.calls == [(0.5, 0.0)], "only the first selection is trained at build time"
    assert box.error is None and box.selection == (0.5, 0.0)
    assert box.png.startswith(b"\x89PNG")
    box.controls["lam"].value = 1e-2
    assert train.calls == [(0.5, 0.0), (0.5, 1e-2)] and box.selection == (0.5, 1e-2)
    box.controls["lam"].value = 0.0
    assert len(train.calls) == 2, "a combination already trained is not trained again"
    assert set(box.runs) == {(0.5, 0.0), (0.5, 1e-2)}
    assert "lowest validation loss 0.4" in box.output.outputs[0]["data"]["text/plain"]


def test_the_map_fills_in_with_the_lowest_validation_loss_of_each_run():
    train = FakeTraining()
    box = regularization_explorer(train, rates=[0.0, 0.5], lams=[0.0, 1e-2])
    table = _table(box)
    assert table.shape == (2, 2)
    assert table[0, 0] == pytest.approx(0.3 + 0.5 + 0.1)    # rate 0, lam 0, at epoch 8
    assert np.isnan(table[1, 1]) and np.isnan(table[0, 1]) and np.isnan(table[1, 0])
    box.controls["rate"].value = 0.5
    box.controls["lam"].value = 1e-2
    assert _table(box)[1, 1] == pytest.approx(0.3)
    title = box.figure.texts[0].get_text()
    assert "rate 0.5, lambda 0.01" in title and "(epoch 9)" in title and "90.0%" in title


def test_baseline_is_drawn_and_precomputed_runs_are_not_trained_again():
    train = FakeTraining()
    given = {(0.0, 0.0): train(0.0, 0.0)}
    train.calls.clear()
    box = regularization_explorer(train, rates=[0.0, 0.2], lams=[0.0], runs=given,
                                  baseline=given[(0.0, 0.0)])
    assert train.calls == []
    labels = [line.get_label() for line in box.figure.axes[0].lines]
    assert "baseline val" in labels and "validation" in labels


def test_precompute_trains_the_whole_grid():
    train = FakeTraining()
    box = regularization_explorer(train, rates=[0.0, 0.2, 0.5], lams=[0.0, 1e-3],
                                  precompute=True)
    assert sorted(train.calls) == sorted((r, l) for r in [0.0, 0.2, 0.5] for l in [0.0, 1e-3])
    assert not np.isnan(_table(box)).any()


def test_a_broken_train_fn_shows_a_message_instead_of_raising():
    def broken(rate, lam):
        if rate > 0:
            raise FloatingPointError("overflow in exp")
        return {"train_loss": [1.0, 0.5], "val_loss": [1.0, float("nan")]}

    box = regularization_explorer(broken, rates=[0.0, 0.5], lams=[0.0])
    assert box.error is None
    box.controls["rate"].value = 0.5
    assert "rate 0.5" in box.error and "FloatingPointError: overflow in exp" in box.error
    assert box.output.outputs[0]["text"].startswith("training or drawing")
    box.controls["rate"].value = 0.0
    assert box.error is None, "back on a working combination, the figure comes back"


def test_malformed_runs_are_reported_with_what_is_missing():
    box = regularization_explorer(lambda r, l: {"loss": [1.0]}, rates=[0.0], lams=[0.0])
    assert "has no ['train_loss', 'val_loss']" in box.error
    box = regularization_explorer(lambda r, l: {"train_loss": [1.0, 2.0], "val_loss": [1.0]},
                                  rates=[0.0], lams=[0.0])
    assert "'train_loss' has 2 epochs but 'val_loss' has 1" in box.error
    with pytest.raises(TypeError, match="a run should be a dict"):
        regularization_explorer(FakeTraining(), rates=[0.0], lams=[0.0], baseline=[1.0, 2.0])


@pytest.mark.parametrize("kwargs, message", [
    ({"rates": []}, "at least one value for rates"),
    ({"rates": [0.0, 1.0]}, r"rates must be \[0, 1\)"),
    ({"lams": [-1e-3]}, "lams must be >= 0"),
    ({"lams": [0.0, 0.0]}, "repeat"),
    ({"rate": 0.3}, "must be on the grid"),
])
def test_bad_grids_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        regularization_explorer(FakeTraining(), **kwargs)


def test_train_fn_must_be_callable():
    with pytest.raises(TypeError, match="train_fn must be a function"):
        regularization_explorer("not a function")


def test_a_run_with_no_finite_validation_loss_still_draws():
    box = regularization_explorer(
        lambda r, l: {"train_loss": [math.inf, math.inf], "val_loss": [math.nan, math.nan]},
        rates=[0.0], lams=[0.0])
    assert box.error is None
    assert np.isnan(_table(box)[0, 0])
