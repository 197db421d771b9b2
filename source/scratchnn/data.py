"""Feeding data to a model: mini-batches, one-hot labels, train/test splits, standardization.

Every function here returns new arrays and never modifies its inputs. Randomness comes from a
``seed`` that is an int, ``None`` (fresh entropy) or an ``np.random.Generator`` (used directly,
so a model can share its generator); NumPy's global random state is never used.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from .rng import as_generator

__all__ = ["DataLoader", "one_hot", "train_test_split", "standardize"]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _as_batched_array(a, name: str) -> np.ndarray:
    """``np.asarray`` (no copy for arrays) plus the checks every batched array needs."""
    arr = np.asarray(a)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have a leading batch axis, got a scalar (shape ())")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); need at least one sample")
    return arr


def _check_same_length(x: np.ndarray, y: np.ndarray, xname: str = "x", yname: str = "y"):
    if len(x) != len(y):
        raise ValueError(f"{xname} and {yname} must have the same number of samples, got "
                         f"{xname}.shape={x.shape} and {yname}.shape={y.shape}")


# ------------------------------------------------------------------------------------------------
# DataLoader
# ------------------------------------------------------------------------------------------------
class DataLoader:
    """Iterate over a dataset in mini-batches.

    Parameters
    ----------
    x : array_like, shape (N, ...)
        Inputs; the first axis indexes samples.
    y : array_like, shape (N, ...) or None
        Targets. When ``None`` the loader yields ``x_batch`` alone.
    batch_size : int, default 32
        Samples per batch (positive).
    shuffle : bool, default True
        Draw a new random order at the start of **every** iteration (epoch).
    seed : int, None or np.random.Generator
        Source of the shuffling. A Generator is used directly (not copied), so a model can
        share its own generator with the loader.
    drop_last : bool, default False
        Drop the final batch when it has fewer than ``batch_size`` samples; by default it is
        kept.
    min_last_batch : int, default 1
        A kept final batch smaller than this is merged into the batch before it (so every
        sample is still used). ``Sequential.fit`` passes 2 for models with batch norm, whose
        batch statistics need at least two samples.

    Iterating yields ``(x_batch, y_batch)`` with shapes ``(B, ...)``, ``B <= batch_size``
    (or ``x_batch`` alone when ``y is None``). ``len(loader)`` is the number of batches per
    epoch: ``ceil(N / batch_size)``, or ``N // batch_size`` with ``drop_last``.

    The data is not copied per epoch: the loader permutes the indices ``0..N-1`` and gathers
    each batch with ``x[idx]``, so each batch is a fresh array and the caller's arrays are
    never modified.

    Examples
    --------
    >>> loader = DataLoader(x, y, batch_size=64, seed=0)
    >>> for xb, yb in loader:
    ...     loss = model.train_step(xb, yb)
    """

    def __init__(self, x, y=None, batch_size: int = 32, shuffle: bool = True, seed=None,
                 drop_last: bool = False, min_last_batch: int = 1):
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.x = _as_batched_array(x, "x")
        self.y = None if y is None else _as_batched_array(y, "y")
        if self.y is not None:
            _check_same_length(self.x, self.y)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = as_generator(seed)
        if not _is_int(min_last_batch) or min_last_batch < 1:
            raise ValueError(f"min_last_batch must be a positive integer, got {min_last_batch!r}")
        self.min_last_batch = int(min_last_batch)
        if self.drop_last and self.n_samples < self.batch_size:
            raise ValueError(f"drop_last=True with batch_size={self.batch_size} and only "
                             f"{self.n_samples} samples would yield no batch at all")

    @property
    def n_samples(self) -> int:
        """Number of samples ``N``."""
        return int(self.x.shape[0])

    def _starts(self) -> list[int]:
        """Start index of every batch, plus the end index ``N`` (or the drop point)."""
        n, b = self.n_samples, self.batch_size
        if self.drop_last:
            return list(range(0, (n // b) * b + 1, b))
        starts = list(range(0, n, b)) + [n]
        if len(starts) > 2 and starts[-1] - starts[-2] < self.min_last_batch:
            del starts[-2]  # merge the short final batch into the previous one
        return starts

    def __len__(self) -> int:
        return len(self._starts()) - 1

    def __iter__(self) -> Iterator:
        n = self.n_samples
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        starts = self._starts()
        for start, stop in zip(starts[:-1], starts[1:], strict=True):
            idx = order[start:stop]
            if self.y is None:
                yield self.x[idx]
            else:
                yield self.x[idx], self.y[idx]

    def __repr__(self) -> str:
        return (f"DataLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})")


# ------------------------------------------------------------------------------------------------
# one_hot
# ------------------------------------------------------------------------------------------------
def _integer_labels(labels, name: str = "labels") -> np.ndarray:
    """Integer view of ``labels``: ints/bools pass, floats only if every value is integral."""
    arr = np.asarray(labels)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if finite.all() and np.array_equal(arr, np.round(arr)):
            return arr.astype(np.int64)
        bad = arr[~finite] if not finite.all() else arr[arr != np.round(arr)]
        raise TypeError(f"{name} must be integers, got non-integer values such as "
                        f"{bad.flat[0]!r} (dtype {arr.dtype})")
    raise TypeError(f"{name} must be integers, got dtype {arr.dtype}")


def one_hot(labels, num_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """One-hot encode integer class labels.

    ``out[..., k] = 1`` if ``labels[...] == k`` else ``0``.

    Parameters
    ----------
    labels : array_like of int, shape (N,) (any shape works)
        Class indices in ``0 .. num_classes-1``. Float arrays are accepted only when every
        value is a whole number (e.g. ``[0., 2.]``).
    num_classes : int, optional
        Number of classes ``C``; defaults to ``labels.max() + 1``.
    dtype : dtype, default float32

    Returns
    -------
    ndarray, shape labels.shape + (C,)

    Raises
    ------
    TypeError
        if a label is not an integer (e.g. ``0.5``).
    ValueError
        if a label is negative or ``>= num_classes`` (the message names the label), or if
        ``num_classes`` is not a positive integer or cannot be inferred from empty labels.
    """
    lab = _integer_labels(labels)
    if num_classes is None:
        if lab.size == 0:
            raise ValueError("cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(lab.max()) + 1
    if not _is_int(num_classes) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    num_classes = int(num_classes)
    if lab.size:
        bad = lab[(lab < 0) | (lab >= num_classes)]
        if bad.size:
            raise ValueError(f"label {int(bad[0])} is out of range for num_classes={num_classes} "
                             f"(labels must be in 0..{num_classes - 1})")
    out = np.zeros((lab.size, num_classes), dtype=dtype)
    out[np.arange(lab.size), lab.ravel()] = 1
    return out.reshape(lab.shape + (num_classes,))


# ------------------------------------------------------------------------------------------------
# train_test_split
# ------------------------------------------------------------------------------------------------
def _n_test(test_size, n: int) -> int:
    if isinstance(test_size, bool):
        raise ValueError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}")
    if _is_int(test_size):
        n_test = int(test_size)
    elif isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size as a fraction must be in (0, 1), got {test_size}")
        n_test = math.ceil(float(test_size) * n)
    else:
        raise ValueError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(f"test_size={test_size!r} gives {n_test} test samples out of {n}; "
                         f"both the train and the test set need at least one sample")
    return n_test


def _stratify_labels(y: np.ndarray) -> np.ndarray:
    """Class label per sample from labels (N,), one-hot (N, C) or (N, 1)."""
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"stratify=True needs y of shape (N,), (N, 1) or one-hot (N, C), "
                         f"got {y.shape}")
    return y


def _stratified_test_indices(labels: np.ndarray, n_test: int,
                             rng: np.random.Generator) -> np.ndarray:
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        raise ValueError(f"stratify=True: class {classes[counts.argmin()]!r} has only "
                         f"{counts.min()} sample; every class needs at least 2")
    n = labels.shape[0]
    if n_test > n - len(classes):
        raise ValueError(f"stratify=True: a test set of {n_test} out of {n} samples would leave "
                         f"some of the {len(classes)} classes without a training sample")
    # Largest-remainder allocation: floor of each class's share, then the leftover samples go
    # to the classes with the largest fractional parts (ties broken at random).
    share = n_test * counts / n
    per_class = np.floor(share).astype(np.int64)
    # Every class keeps at least one training sample (capacity counts - 1).
    frac = share - per_class
    order = np.lexsort((rng.random(len(classes)), -frac))
    leftover = n_test - int(per_class.sum())
    for k in order:
        if leftover == 0:
            break
        if per_class[k] < counts[k] - 1:
            per_class[k] += 1
            leftover -= 1
    for k in order:  # rare: tiny classes were capped, so fill any class that still has room
        room = min(leftover, counts[k] - 1 - per_class[k])
        per_class[k] += room
        leftover -= room
    test = [rng.permutation(np.flatnonzero(inverse == k))[:per_class[k]]
            for k in range(len(classes))]
    return np.concatenate(test)


def train_test_split(x, y, test_size=0.2, seed=None, stratify: bool = False):
    """Randomly split ``(x, y)`` into train and test sets (scikit-learn's return order).

    Parameters
    ----------
    x : array_like, shape (N, ...)
    y : array_like, shape (N, ...)
    test_size : float in (0, 1) or int, default 0.2
        Fraction of the samples (rounded up, like scikit-learn) or absolute number of samples
        that go to the test set; both sets must end up non-empty.
    seed : int, None or np.random.Generator
    stratify : bool, default False
        Keep each class's proportion (from ``y``: labels ``(N,)``, ``(N, 1)`` or one-hot
        ``(N, C)``) the same in both sets, up to rounding. Every class needs >= 2 samples.

    Returns
    -------
    x_train, x_test, y_train, y_test : ndarray
        New arrays (gathered with fancy indexing) with ``N - n_test`` and ``n_test`` samples,
        each in a random order.
    """
    x = _as_batched_array(x, "x")
    y = _as_batched_array(y, "y")
    _check_same_length(x, y)
    n = x.shape[0]
    n_test = _n_test(test_size, n)
    rng = as_generator(seed)
    if stratify:
        test_idx = _stratified_test_indices(_stratify_labels(y), n_test, rng)
        is_test = np.zeros(n, dtype=bool)
        is_test[test_idx] = True
        train_idx = rng.permutation(np.flatnonzero(~is_test))
        test_idx = rng.permutation(test_idx)
    else:
        perm = rng.permutation(n)
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    return x[train_idx], x[test_idx], y[train_idx], y[test_idx]


# ------------------------------------------------------------------------------------------------
# standardize
# ------------------------------------------------------------------------------------------------
def standardize(x_train, *others, eps: float = 1e-8):
    """Standardize features to zero mean and unit variance using statistics of ``x_train``.

    ``mean = x_train.mean(axis=0)``, ``std = x_train.std(axis=0)`` (population std), and every
    array becomes ``(x - mean) / std``. Features whose training std is below ``eps`` (constant
    features) are only centered: their ``std`` is replaced by ``1``, as scikit-learn's
    ``StandardScaler`` does, so they never blow up.

    Parameters
    ----------
    x_train : array_like, shape (N, ...)
        Data the statistics are computed from (per feature, i.e. over axis 0).
    *others : array_like, shape (M, ...)
        More arrays (validation, test) transformed with the **training** statistics;
        ``shape[1:]`` must match ``x_train``.
    eps : float, default 1e-8

    Returns
    -------
    tuple
        ``(x_train_std, *others_std, mean, std)`` — always a flat tuple, so
        ``x_tr, x_te, mean, std = standardize(x_tr, x_te)`` and
        ``x_tr, mean, std = standardize(x_tr)``. ``mean`` and ``std`` have shape
        ``x_train.shape[1:]``; ``std`` is the divisor actually used (1 for constant features),
        so ``(x_new - mean) / std`` standardizes any later data the same way. Floating inputs
        keep their dtype; integer inputs give float64. The inputs are not modified.
    """
    xt = _as_batched_array(x_train, "x_train")
    if eps < 0:
        raise ValueError(f"eps must be non-negative, got {eps}")
    dtype = xt.dtype if xt.dtype.kind == "f" else np.dtype(np.float64)
    arrays = [xt]
    for i, o in enumerate(others):
        arr = np.asarray(o)
        if arr.ndim != xt.ndim or arr.shape[1:] != xt.shape[1:]:
            raise ValueError(f"others[{i}] must have the feature shape of x_train: got "
                             f"shape {arr.shape}, x_train has shape {xt.shape}")
        arrays.append(arr)
    x64 = xt.astype(np.float64)
    mean = x64.mean(axis=0)
    std = x64.std(axis=0)
    std = np.where(std < eps, 1.0, std)
    out = [((a.astype(np.float64) - mean) / std).astype(dtype) for a in arrays]
    return (*out, mean.astype(dtype), std.astype(dtype))
