"""Classification metrics: accuracy, precision, recall, F1 and the confusion matrix.

All functions accept the label formats a model produces or a dataset provides:

``y_true``
    integer labels ``(N,)``, one-hot ``(N, C)``, or binary 0/1 labels ``(N, 1)``.
``y_pred``
    integer labels ``(N,)``; scores, logits or probabilities ``(N, C)`` with ``C > 1`` (the
    predicted class is the argmax); or binary probabilities ``(N,)``/``(N, 1)`` of the positive
    class, thresholded as ``p >= 0.5 -> 1``.

A float array whose values are all whole numbers (``[0., 2., 1.]``) counts as labels, so
probabilities exactly 0/1 and float labels both work. Inputs are never modified.
"""

from __future__ import annotations

import numpy as np

try:
    from .registry import METRICS
except ImportError:  # the students' course bundle ships the metrics without the library
    METRICS = None


def _metric(key: str, aliases=()):
    """Register the decorated function under ``key``, the name ``compile(metrics=[...])``
    accepts and the logs use (a decorator, so that the student bundle, which cuts the
    definitions that are exercises, cuts their registration with them)."""
    def add(fn):
        return fn if METRICS is None else METRICS.add(fn, name=key, aliases=aliases)
    return add

__all__ = ["accuracy", "precision", "recall", "f1_score", "confusion_matrix"]

_AVERAGES = ("auto", "binary", "macro", "micro", "weighted", None)


def _to_labels(y, name: str, allow_probabilities: bool,
               logits_ok: bool = False) -> tuple[np.ndarray, int | None]:
    """Convert any accepted label/score format to int64 class labels of shape (N,).

    Binary scores ``(N,)``/``(N, 1)`` that are not whole numbers are thresholded at 0.5 when
    they lie in [0, 1]; outside it they are logits, thresholded at 0 if ``logits_ok`` (the
    plots accept them) and rejected otherwise (a metric should not guess).

    Returns ``(labels, width)`` where ``width`` is ``C`` when ``y`` was an ``(N, C)`` array with
    ``C > 1`` (one-hot or scores: the number of classes is known), else ``None``.
    """
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2:
        if arr.shape[1] == 0:
            raise ValueError(f"{name} has zero columns (shape {np.shape(y)})")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf (shape {np.shape(y)})")
        return arr.argmax(axis=1).astype(np.int64), int(arr.shape[1])
    if arr.ndim != 1:
        raise ValueError(f"{name} must have shape (N,), (N, 1) or (N, C), got {np.shape(y)}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf (shape {np.shape(y)})")
        if not np.array_equal(arr, np.round(arr)):
            if not allow_probabilities:
                raise ValueError(f"{name} must hold integer class labels or one-hot rows; got "
                                 f"non-integer values such as {arr[arr != np.round(arr)][0]!r}")
            if arr.min() < 0.0 or arr.max() > 1.0:
                if logits_ok:
                    return (arr >= 0.0).astype(np.int64), None
                raise ValueError(f"{name} of shape {np.shape(y)} looks like scores or logits "
                                 f"(values in [{arr.min():.3g}, {arr.max():.3g}]); binary "
                                 f"predictions must be probabilities in [0, 1] or labels")
            return (arr >= 0.5).astype(np.int64), None
    labels = arr.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"{name} contains a negative label {int(labels.min())}")
    return labels, None


def _prepare(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, int]:
    """Labels of both arrays, checked for matching length; plus the number of classes seen."""
    t, t_width = _to_labels(y_true, "y_true", allow_probabilities=False)
    p, p_width = _to_labels(y_pred, "y_pred", allow_probabilities=True)
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"y_true and y_pred must have the same number of samples, got "
                         f"y_true.shape={np.shape(y_true)} and y_pred.shape={np.shape(y_pred)}")
    if t.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty; metrics need at least one sample")
    if t_width is not None and p_width is not None and t_width != p_width:
        raise ValueError(f"y_true has {t_width} classes (shape {np.shape(y_true)}) but y_pred "
                         f"has {p_width} (shape {np.shape(y_pred)})")
    n_classes = max(int(t.max()), int(p.max())) + 1
    for width in (t_width, p_width):
        if width is not None:
            n_classes = max(n_classes, width)
    return t, p, n_classes


@_metric("accuracy", aliases=("acc",))
def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions: ``mean(y_true == y_pred)`` after conversion to labels.

    Shapes: see the module docstring; returns a float in [0, 1].
    """
    t, p, _ = _prepare(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``M[i, j]`` = number of samples with true class ``i`` predicted as class ``j``.

    Rows are true classes, columns predicted classes; the diagonal holds the correct ones.

    Parameters
    ----------
    y_true, y_pred : see the module docstring (N samples each)
    num_classes : int, optional
        ``C``; defaults to the largest label seen + 1 (or the width of a one-hot/score array).

    Returns
    -------
    ndarray of int64, shape (C, C)

    Raises
    ------
    ValueError
        if a label is ``>= num_classes``, or the lengths differ.
    """
    t, p, seen = _prepare(y_true, y_pred)
    if num_classes is None:
        num_classes = seen
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    elif seen > num_classes:
        raise ValueError(f"labels go up to {seen - 1}, which is out of range for "
                         f"num_classes={num_classes}")
    c = int(num_classes)
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c).astype(np.int64)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den == 0`` (no warning)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def _scores(y_true, y_pred, average, which: str):
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    t, p, n_classes = _prepare(y_true, y_pred)
    cm = confusion_matrix(t, p, num_classes=n_classes)
    if average == "auto":
        average = "binary" if n_classes <= 2 else "macro"
    if average == "binary":
        if n_classes > 2:
            raise ValueError(f"average='binary' needs labels in {{0, 1}}, but {n_classes} "
                             f"classes were found; use average='macro', 'micro' or 'weighted'")
        cm = confusion_matrix(t, p, num_classes=2)
        tp, fp, fn = cm[1, 1], cm[0, 1], cm[1, 0]
    elif average == "micro":
        diag = np.diag(cm)
        tp, fp, fn = diag.sum(), (cm.sum(axis=0) - diag).sum(), (cm.sum(axis=1) - diag).sum()
    else:
        tp = np.diag(cm)
        fp = cm.sum(axis=0) - tp
        fn = cm.sum(axis=1) - tp
    prec = _safe_div(tp, tp + fp)
    rec = _safe_div(tp, tp + fn)
    if which == "precision":
        value = prec
    elif which == "recall":
        value = rec
    else:
        value = _safe_div(2 * prec * rec, prec + rec)
    if average in ("binary", "micro"):
        return float(value)
    if average is None:
        return value
    support = cm.sum(axis=1)
    present = (support + cm.sum(axis=0)) > 0
    if average == "macro":
        return float(value[present].mean())
    return float(np.sum(value * support) / support.sum())  # weighted


# The parameters shared by precision, recall and f1_score, inserted into their docstrings.
_AVERAGE_DOC = """Parameters
    ----------
    y_true, y_pred : see the module docstring (N samples each)
    average : {"auto", "binary", "macro", "micro", "weighted", None}, default "auto"
        - ``"auto"``: ``"binary"`` when at most 2 classes occur (or the one-hot/score arrays
          have 2 columns), else ``"macro"``.
        - ``"binary"``: the score of the positive class ``1`` (labels must be 0/1).
        - ``"macro"``: unweighted mean of the per-class scores over the classes that occur in
          ``y_true`` or ``y_pred``.
        - ``"micro"``: computed from the total TP, FP, FN over all classes (for single-label
          problems this equals the accuracy).
        - ``"weighted"``: per-class scores averaged with weights = true class counts.
        - ``None``: the per-class scores, an array of shape ``(C,)`` for classes ``0..C-1``.

    A score whose denominator is 0 (e.g. a class that is never predicted, for precision) is 0.

    Returns
    -------
    float, or ndarray of shape (C,) when ``average=None``"""


@_metric("precision", aliases=())
def precision(y_true, y_pred, average="auto"):
    """Precision ``TP / (TP + FP)``: of the samples predicted as a class, the fraction that
    truly are.

    {_AVERAGE_DOC}
    """
    return _scores(y_true, y_pred, average, "precision")


@_metric("recall", aliases=())
def recall(y_true, y_pred, average="auto"):
    """Recall ``TP / (TP + FN)``: of the samples of a class, the fraction that were found.

    {_AVERAGE_DOC}
    """
    return _scores(y_true, y_pred, average, "recall")


@_metric("f1_score", aliases=("f1",))
def f1_score(y_true, y_pred, average="auto"):
    """F1 ``2 * P * R / (P + R)``, the harmonic mean of precision and recall.

    For ``"macro"``/``"weighted"`` the per-class F1 scores are averaged (scikit-learn's
    definition), which is not the F1 of the averaged precision and recall.

    {_AVERAGE_DOC}
    """
    return _scores(y_true, y_pred, average, "f1")


for _fn in (precision, recall, f1_score):
    _fn.__doc__ = _fn.__doc__.replace("{_AVERAGE_DOC}", _AVERAGE_DOC)


# -- regression -----------------------------------------------------------------------------
def _regression_pair(y_true, y_pred, who: str) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 of one shape; ``(N,)`` and ``(N, 1)`` are the same targets."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.ndim == 1 and p.ndim == 2 and p.shape[1] == 1:
        t = t[:, None]
    if p.ndim == 1 and t.ndim == 2 and t.shape[1] == 1:
        p = p[:, None]
    if t.shape != p.shape:
        raise ValueError(f"{who}: y_true has shape {np.shape(y_true)} but y_pred has shape "
                         f"{np.shape(y_pred)}; they must match")
    if t.size == 0:
        raise ValueError(f"{who}: y_true and y_pred are empty")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ValueError(f"{who}: y_true or y_pred contains NaN or inf")
    return t, p


@_metric("mae", aliases=("mean_absolute_error",))
def mean_absolute_error(y_true, y_pred) -> float:
    """``mean(|y_true - y_pred|)`` over every element (scikit-learn's name; ``"mae"`` in
    ``compile``). Shapes: equal, ``(N,)`` and ``(N, 1)`` interchangeable."""
    t, p = _regression_pair(y_true, y_pred, "mean_absolute_error")
    return float(np.mean(np.abs(t - p)))


@_metric("rmse", aliases=("root_mean_squared_error",))
def root_mean_squared_error(y_true, y_pred) -> float:
    """``sqrt(mean((y_true - y_pred)**2))`` over every element (``"rmse"`` in ``compile``),
    in the targets' units. Shapes as :func:`mean_absolute_error`."""
    t, p = _regression_pair(y_true, y_pred, "root_mean_squared_error")
    return float(np.sqrt(np.mean((t - p) ** 2)))


@_metric("r2", aliases=("r2_score",))
def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination ``R^2 = 1 - SS_res / SS_tot`` with
    ``SS_res = sum (y - y_pred)**2`` and ``SS_tot = sum (y - mean(y))**2`` (``"r2"`` in
    ``compile``): 1 for a perfect fit, 0 for predicting the mean, negative when worse. For
    several outputs, the mean of the per-output scores (scikit-learn's
    ``multioutput="uniform_average"``). A constant target gives 1.0 for a perfect fit and
    0.0 otherwise (scikit-learn's convention)."""
    t, p = _regression_pair(y_true, y_pred, "r2_score")
    t2 = t.reshape(len(t), -1)
    p2 = p.reshape(len(p), -1)
    ss_res = np.sum((t2 - p2) ** 2, axis=0)
    ss_tot = np.sum((t2 - t2.mean(axis=0)) ** 2, axis=0)
    scores = np.where(ss_tot > 0, 1 - _safe_div(ss_res, ss_tot), np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(scores))


# -- ranking --------------------------------------------------------------------------------
def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values``; tied values share the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    # runs of equal values: each gets the mean of the positions it spans
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def _binary_auc(is_positive: np.ndarray, score: np.ndarray) -> float:
    n_pos = int(is_positive.sum())
    n_neg = len(is_positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc_score: y_true has only one class; ROC AUC needs both "
                         "positive and negative samples")
    ranks = _average_ranks(score)
    # Mann-Whitney U: the probability that a random positive outscores a random negative
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@_metric("roc_auc", aliases=("roc_auc_score", "auc"))
def roc_auc_score(y_true, y_score) -> float:
    """Area under the ROC curve: the probability that a random positive sample is scored
    above a random negative one (ties count 1/2; the Mann-Whitney U statistic, Hanley &
    McNeil 1982). ``"roc_auc"`` in ``compile``.

    Binary: ``y_true`` labels 0/1 ``(N,)``/``(N, 1)``, ``y_score`` ``(N,)``/``(N, 1)`` scores
    of the positive class (probabilities or logits: only their order matters).
    Two columns ``(N, 2)`` (a softmax over two classes) count as binary, on column 1.
    Multiclass: ``y_true`` labels ``(N,)`` or one-hot ``(N, C)``, ``y_score`` ``(N, C)``
    probabilities; the unweighted mean of the one-vs-rest AUCs (scikit-learn's
    ``multi_class="ovr", average="macro"``). Raises ``ValueError`` when a class has no
    positive or no negative sample, or for shapes that do not fit.
    """
    score = np.asarray(y_score, dtype=np.float64)
    if not np.isfinite(score).all():
        raise ValueError(f"roc_auc_score: y_score contains NaN or inf (shape {score.shape})")
    if score.ndim == 2 and score.shape[1] == 1:
        score = score[:, 0]
    elif score.ndim == 2 and score.shape[1] == 2:
        # two classes: the positive column (column 0 holds the same order reversed, up to
        # rounding, which would otherwise create ties of its own)
        score = score[:, 1]
    labels, width = _to_labels(y_true, "y_true", allow_probabilities=False)
    if len(labels) != len(score):
        raise ValueError(f"roc_auc_score: y_true has {len(labels)} samples but y_score has "
                         f"{len(score)}")
    if score.ndim == 1:
        if labels.size and labels.max() > 1:
            raise ValueError("roc_auc_score: binary scores (N,) need labels 0/1; for "
                             "several classes pass scores of shape (N, C)")
        return _binary_auc(labels == 1, score)
    if score.ndim != 2 or (width is not None and width != score.shape[1]):
        raise ValueError(f"roc_auc_score: y_score must be (N,) or (N, C), got {score.shape}")
    return float(np.mean([_binary_auc(labels == c, score[:, c])
                          for c in range(score.shape[1])]))


__all__ += ["mean_absolute_error", "root_mean_squared_error", "r2_score", "roc_auc_score"]


#: Metrics that compare class labels (their targets must be labels or one-hot rows).
CLASSIFICATION = ("accuracy", "precision", "recall", "f1_score", "roc_auc")
