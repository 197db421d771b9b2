"""Small datasets: generated 2-D toy problems and scikit-learn's bundled tables.

Every loader returns ``x`` as float32 of shape ``(N, d)`` and ``y`` as int64 class labels of
shape ``(N,)``:

- ``test_size=None`` (default): returns ``(x, y)``.
- ``test_size`` a float in (0, 1) (or an int count): returns
  ``((x_train, y_train), (x_test, y_test))``, a seeded **stratified** split made with
  :func:`scratchnn.data.train_test_split`.

The generators (:func:`xor`, :func:`spirals`, :func:`moons`) draw everything from
``np.random.default_rng(seed)`` (``seed`` may also be an ``np.random.Generator``), so the same
seed gives the same data and split; samples come out in a random order, not sorted by class.
No network access is ever needed.
"""

from __future__ import annotations

import numpy as np

from .data import _as_generator, train_test_split

__all__ = ["xor", "spirals", "moons", "load_digits", "load_breast_cancer"]


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _check_n(n_samples, minimum: int, what: str) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < minimum:
        raise ValueError(f"{what}: n_samples must be an integer >= {minimum}, got {n_samples!r}")
    return int(n_samples)


def _check_noise(noise, what: str) -> float:
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{what}: noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def _finish(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, test_size, shuffle: bool):
    """Cast to float32/int64, optionally shuffle, then optionally split (stratified)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int64)
    if shuffle:
        perm = rng.permutation(len(y))
        x, y = x[perm], y[perm]
    if test_size is None:
        return x, y
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, seed=rng,
                                                        stratify=True)
    return (x_train, y_train), (x_test, y_test)


# ------------------------------------------------------------------------------------------------
# generated toy problems
# ------------------------------------------------------------------------------------------------
def xor(n_samples: int = 200, noise: float = 0.1, seed=None, test_size=None):
    """The XOR problem: Gaussian blobs around the four corners of the unit square.

    Sample ``i`` sits at a corner ``(a, b)`` with ``a, b`` in ``{0, 1}`` plus noise
    ``N(0, noise^2)`` on each coordinate; its label is ``a XOR b`` (1 for ``(0, 1)`` and
    ``(1, 0)``, 0 for ``(0, 0)`` and ``(1, 1)``). Corners are used in turn, so the four
    corners (and the two classes) are as balanced as ``n_samples`` allows. Not linearly
    separable: a network needs a hidden layer.

    Parameters
    ----------
    n_samples : int >= 4, default 200
    noise : float >= 0, default 0.1
        Standard deviation of the Gaussian noise around each corner.
    seed : int, None or np.random.Generator
    test_size : None, float in (0, 1) or int
        See the module docstring.

    Returns
    -------
    x : float32 (N, 2), y : int64 (N,) in {0, 1}; or ``((x_train, y_train), (x_test, y_test))``
    when ``test_size`` is given.
    """
    n = _check_n(n_samples, 4, "xor")
    noise = _check_noise(noise, "xor")
    rng = _as_generator(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    which = np.arange(n) % 4
    x = corners[which] + noise * rng.standard_normal((n, 2))
    y = (corners[which, 0] != corners[which, 1]).astype(np.int64)
    return _finish(x, y, rng, test_size, shuffle=True)


def spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed=None,
            test_size=None):
    """Interleaved spirals, one arm per class (the CS231n "spiral" dataset).

    For class ``k`` with ``m`` points, ``r = linspace(0, 1, m)`` and
    ``theta = linspace(4k, 4(k + 1), m) + N(0, noise^2)``; the point is
    ``(r sin(theta), r cos(theta))``. The classes get ``n_samples // n_classes`` points each,
    the first ``n_samples % n_classes`` classes one more. The arms wind around the origin, so
    the classes are far from linearly separable.

    Parameters
    ----------
    n_samples : int >= n_classes, default 300
        Total number of points.
    n_classes : int >= 2, default 3
    noise : float >= 0, default 0.2
        Standard deviation of the noise on the angle (radians).
    seed : int, None or np.random.Generator
    test_size : None, float in (0, 1) or int
        See the module docstring.

    Returns
    -------
    x : float32 (N, 2) in [-1, 1]^2, y : int64 (N,) in ``0..n_classes-1``; or
    ``((x_train, y_train), (x_test, y_test))`` when ``test_size`` is given.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or n_classes < 2:
        raise ValueError(f"spirals: n_classes must be an integer >= 2, got {n_classes!r}")
    n = _check_n(n_samples, int(n_classes), "spirals")
    noise = _check_noise(noise, "spirals")
    rng = _as_generator(seed)
    sizes = np.full(n_classes, n // n_classes)
    sizes[: n % n_classes] += 1
    xs, ys = [], []
    for k, m in enumerate(sizes):
        r = np.linspace(0.0, 1.0, m)
        theta = np.linspace(4.0 * k, 4.0 * (k + 1), m) + noise * rng.standard_normal(m)
        xs.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        ys.append(np.full(m, k))
    return _finish(np.concatenate(xs), np.concatenate(ys), rng, test_size, shuffle=True)


def moons(n_samples: int = 200, noise: float = 0.1, seed=None, test_size=None):
    """Two interleaving half circles (like scikit-learn's ``make_moons``).

    Class 0 (``ceil(N/2)`` points): ``(cos t, sin t)``; class 1 (``floor(N/2)`` points):
    ``(1 - cos t, 0.5 - sin t)``, with ``t`` evenly spaced in ``[0, pi]``; then Gaussian noise
    ``N(0, noise^2)`` on each coordinate.

    Parameters
    ----------
    n_samples : int >= 2, default 200
    noise : float >= 0, default 0.1
    seed : int, None or np.random.Generator
    test_size : None, float in (0, 1) or int
        See the module docstring.

    Returns
    -------
    x : float32 (N, 2), y : int64 (N,) in {0, 1}; or ``((x_train, y_train), (x_test, y_test))``
    when ``test_size`` is given.
    """
    n = _check_n(n_samples, 2, "moons")
    noise = _check_noise(noise, "moons")
    rng = _as_generator(seed)
    n_outer = (n + 1) // 2
    n_inner = n - n_outer
    t_out = np.linspace(0.0, np.pi, n_outer)
    t_in = np.linspace(0.0, np.pi, n_inner)
    x = np.concatenate([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        np.column_stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)]),
    ])
    x = x + noise * rng.standard_normal(x.shape)
    y = np.concatenate([np.zeros(n_outer, np.int64), np.ones(n_inner, np.int64)])
    return _finish(x, y, rng, test_size, shuffle=True)


# ------------------------------------------------------------------------------------------------
# scikit-learn's bundled datasets (no download)
# ------------------------------------------------------------------------------------------------
def _sklearn_datasets(caller: str):
    try:
        from sklearn import datasets as sk_datasets
    except ImportError as err:
        raise ImportError(f"{caller}() needs scikit-learn, which is not installed; install the "
                          f"course extras with: pip install scratchnn[course]") from err
    return sk_datasets


def load_digits(test_size=None, seed=None):
    """The 8x8 handwritten digits bundled with scikit-learn (1797 images, 10 classes).

    ``x`` holds the flattened images, float32 of shape ``(1797, 64)``, scaled from the raw 0..16
    intensities to ``[0, 1]`` by dividing by 16; ``y`` is int64 ``(1797,)`` in ``0..9``.
    Reshape a row to ``(8, 8)`` to view it. A small offline stand-in for MNIST.

    Parameters
    ----------
    test_size : None, float in (0, 1) or int
        See the module docstring (seeded, stratified split).
    seed : int, None or np.random.Generator
        Seed of the split (the data itself is fixed, in scikit-learn's order).

    Returns
    -------
    ``(x, y)``, or ``((x_train, y_train), (x_test, y_test))`` when ``test_size`` is given.

    Raises
    ------
    ImportError
        when scikit-learn is missing (``pip install scratchnn[course]``).
    """
    bunch = _sklearn_datasets("load_digits").load_digits()
    x = np.asarray(bunch.data, dtype=np.float64) / 16.0
    return _finish(x, bunch.target, _as_generator(seed), test_size, shuffle=False)


def load_breast_cancer(test_size=None, seed=None):
    """The Wisconsin breast cancer table bundled with scikit-learn (569 samples, 30 features).

    ``x`` is float32 ``(569, 30)`` with the **raw** features, whose scales differ by orders of
    magnitude (e.g. area ~ 1e3, smoothness ~ 1e-1): standardize them before training, with
    the training set's statistics, e.g.
    ``x_tr, x_te, mean, std = scratchnn.data.standardize(x_tr, x_te)``.
    ``y`` is int64 ``(569,)``: 0 = malignant, 1 = benign (scikit-learn's coding).

    Parameters
    ----------
    test_size : None, float in (0, 1) or int
        See the module docstring (seeded, stratified split).
    seed : int, None or np.random.Generator
        Seed of the split (the data itself is fixed, in scikit-learn's order).

    Returns
    -------
    ``(x, y)``, or ``((x_train, y_train), (x_test, y_test))`` when ``test_size`` is given.

    Raises
    ------
    ImportError
        when scikit-learn is missing (``pip install scratchnn[course]``).
    """
    bunch = _sklearn_datasets("load_breast_cancer").load_breast_cancer()
    return _finish(bunch.data, bunch.target, _as_generator(seed), test_size, shuffle=False)


# ------------------------------------------------------------------------------------------------
# Downloaded datasets: load_mnist, load_fashion_mnist, load_cifar10
# ------------------------------------------------------------------------------------------------
# Not implemented yet. They belong here, with the same conventions as above (float32 x scaled to
# [0, 1], int64 y, ``test_size``/``seed``), plus a local cache directory, checksum verification
# and, for MNIST, an offline fallback to :func:`load_digits` that says so.
