"""Tests for scratchnn.metrics against hand-computed cases (and scikit-learn when installed)."""

import warnings

import numpy as np
import pytest

from scratchnn import metrics
from scratchnn.metrics import accuracy, confusion_matrix, f1_score, precision, recall

# 3-class example used below; its confusion matrix is
#   [[1, 1, 0],
#    [0, 1, 0],
#    [1, 0, 2]]
Y_TRUE = np.array([0, 0, 1, 2, 2, 2])
Y_PRED = np.array([0, 1, 1, 2, 0, 2])
CM = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_confusion_matrix_hand_case():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, CM)


def test_confusion_matrix_num_classes_and_errors():
    cm = confusion_matrix(Y_TRUE, Y_PRED, num_classes=5)
    assert cm.shape == (5, 5)
    np.testing.assert_array_equal(cm[:3, :3], CM)
    assert cm[3:].sum() == 0 and cm[:, 3:].sum() == 0
    with pytest.raises(ValueError, match="num_classes=2"):
        confusion_matrix(Y_TRUE, Y_PRED, num_classes=2)
    with pytest.raises(ValueError, match="num_classes"):
        confusion_matrix(Y_TRUE, Y_PRED, num_classes=0)


def test_confusion_matrix_uses_one_hot_width():
    y_true = np.eye(4)[[0, 1, 1]]  # class 3 never occurs, but the one-hot width says C = 4
    cm = confusion_matrix(y_true, np.array([0, 1, 0]))
    assert cm.shape == (4, 4)
    assert cm.sum() == 3


def test_accuracy_label_forms():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    one_hot_true = np.eye(3)[Y_TRUE]
    scores = np.eye(3)[Y_PRED] * 2.0 - 0.5  # argmax = Y_PRED
    assert accuracy(one_hot_true, scores) == pytest.approx(4 / 6)
    assert accuracy(one_hot_true, Y_PRED) == pytest.approx(4 / 6)
    assert accuracy(Y_TRUE.astype(float), Y_PRED.astype(float)) == pytest.approx(4 / 6)
    assert accuracy([1, 1], [1, 1]) == 1.0


def test_accuracy_binary_probabilities_thresholded_at_half():
    y_true = np.array([1, 0, 1, 0])
    probs = np.array([0.9, 0.2, 0.4, 0.5])  # -> 1, 0, 0, 1 (0.5 counts as positive)
    assert accuracy(y_true, probs) == pytest.approx(0.5)
    assert accuracy(y_true[:, None], probs[:, None]) == pytest.approx(0.5)
    assert accuracy(y_true.astype(np.float32)[:, None], probs) == pytest.approx(0.5)


def test_binary_precision_recall_f1_hand_case():
    y_true = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    y_pred = np.array([1, 0, 1, 1, 1, 0, 1, 0])  # TP = 3, FP = 2, FN = 1
    assert precision(y_true, y_pred) == pytest.approx(3 / 5)
    assert recall(y_true, y_pred) == pytest.approx(3 / 4)
    assert f1_score(y_true, y_pred) == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert precision(y_true, y_pred, average="binary") == pytest.approx(3 / 5)
    # with probabilities and with two-column scores: same result
    probs = np.where(y_pred == 1, 0.8, 0.3)
    assert recall(y_true, probs) == pytest.approx(3 / 4)
    two_col = np.stack([1 - probs, probs], axis=1)
    assert f1_score(y_true, two_col) == pytest.approx(2 * 0.6 * 0.75 / 1.35)


def test_multiclass_macro_micro_weighted_hand_case():
    # precision per class: [1/2, 1/2, 2/2]; recall per class: [1/2, 1/1, 2/3]
    p_cls = np.array([0.5, 0.5, 1.0])
    r_cls = np.array([0.5, 1.0, 2 / 3])
    f_cls = 2 * p_cls * r_cls / (p_cls + r_cls)
    np.testing.assert_allclose(precision(Y_TRUE, Y_PRED, average=None), p_cls)
    np.testing.assert_allclose(recall(Y_TRUE, Y_PRED, average=None), r_cls)
    np.testing.assert_allclose(f1_score(Y_TRUE, Y_PRED, average=None), f_cls)
    assert precision(Y_TRUE, Y_PRED) == pytest.approx(p_cls.mean())  # auto -> macro
    assert recall(Y_TRUE, Y_PRED, average="macro") == pytest.approx(r_cls.mean())
    assert f1_score(Y_TRUE, Y_PRED, average="macro") == pytest.approx(f_cls.mean())
    for fn in (precision, recall, f1_score):
        assert fn(Y_TRUE, Y_PRED, average="micro") == pytest.approx(4 / 6)
    support = np.array([2, 1, 3])
    assert precision(Y_TRUE, Y_PRED, average="weighted") == pytest.approx(
        np.sum(p_cls * support) / 6)


def test_zero_division_gives_zero_without_warnings():
    y_true = np.array([0, 1, 2, 2])
    y_pred = np.array([0, 0, 2, 2])  # class 1 is never predicted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_class = precision(y_true, y_pred, average=None)
        assert per_class[1] == 0.0
        assert f1_score(y_true, y_pred, average=None)[1] == 0.0
        assert precision([0, 0], [0, 0], average="binary") == 0.0


def test_macro_ignores_classes_absent_from_both():
    y_true = np.eye(4)[[0, 1, 2]]  # width 4, class 3 absent everywhere
    y_pred = np.array([0, 1, 2])
    assert recall(y_true, y_pred, average="macro") == 1.0
    assert recall(y_true, y_pred, average=None).shape == (4,)


def test_matches_scikit_learn_on_random_data():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 4, 300))
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred),
                                  skm.confusion_matrix(y_true, y_pred))
    for avg in ("macro", "micro", "weighted"):
        assert precision(y_true, y_pred, average=avg) == pytest.approx(
            skm.precision_score(y_true, y_pred, average=avg))
        assert recall(y_true, y_pred, average=avg) == pytest.approx(
            skm.recall_score(y_true, y_pred, average=avg))
        assert f1_score(y_true, y_pred, average=avg) == pytest.approx(
            skm.f1_score(y_true, y_pred, average=avg))
    b_true, b_pred = y_true % 2, y_pred % 2
    assert f1_score(b_true, b_pred) == pytest.approx(skm.f1_score(b_true, b_pred))
    assert precision(b_true, b_pred) == pytest.approx(skm.precision_score(b_true, b_pred))


def test_length_mismatch_shows_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        accuracy([0, 1, 1], [0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3,\)"):
        f1_score(np.eye(3)[[0, 1]], [0, 1, 2])


def test_bad_inputs():
    with pytest.raises(ValueError, match="y_true"):
        accuracy(np.array([0.3, 1.0]), np.array([0, 1]))  # y_true must be labels
    with pytest.raises(ValueError, match="logits"):
        accuracy(np.array([0, 1]), np.array([-2.3, 1.7]))
    with pytest.raises(ValueError, match="NaN"):
        accuracy(np.array([0, 1]), np.array([np.nan, 0.2]))
    with pytest.raises(ValueError, match="classes"):
        accuracy(np.eye(3)[[0, 1]], np.zeros((2, 4)))
    with pytest.raises(ValueError, match="binary"):
        precision(Y_TRUE, Y_PRED, average="binary")
    with pytest.raises(ValueError, match="average"):
        recall(Y_TRUE, Y_PRED, average="samples")
    with pytest.raises(ValueError, match="empty"):
        accuracy(np.array([], dtype=int), np.array([], dtype=int))
    with pytest.raises(ValueError, match="negative"):
        accuracy(np.array([-1, 0]), np.array([0, 0]))
    with pytest.raises(ValueError, match="shape"):
        accuracy(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


def test_inputs_not_mutated():
    y_true = np.eye(3)[Y_TRUE]
    scores = np.random.default_rng(0).standard_normal((6, 3))
    t0, s0 = y_true.copy(), scores.copy()
    for fn in (accuracy, precision, recall, f1_score, confusion_matrix):
        fn(y_true, scores)
    np.testing.assert_array_equal(y_true, t0)
    np.testing.assert_array_equal(scores, s0)


def test_public_names():
    assert set(metrics.__all__) == {"accuracy", "precision", "recall", "f1_score",
                                    "confusion_matrix", "mean_absolute_error",
                                    "root_mean_squared_error", "r2_score", "roc_auc_score"}
