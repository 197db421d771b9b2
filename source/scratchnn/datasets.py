"""Small datasets: generated 2-D toy problems and scikit-learn's bundled tables.

Every loader returns ``x`` as float32 of shape ``(N, d)`` and ``y`` as int64 class labels of
shape ``(N,)`` (the downloaded image datasets at the end of this module have their own
conventions, documented there):

- ``test_size=None`` (default): returns ``(x, y)``.
- ``test_size`` a float in (0, 1) (or an int count): returns
  ``((x_train, y_train), (x_test, y_test))``, a seeded **stratified** split made with
  :func:`scratchnn.data.train_test_split`.

The generators (:func:`xor`, :func:`spirals`, :func:`moons`) draw everything from the
generator :func:`scratchnn.rng.as_generator` makes of ``seed`` (an int, ``None`` or an
``np.random.Generator``, used as is), so the same seed gives the same data and split; samples
come out in a random order, not sorted by class. They need no network access; only
:func:`load_mnist`, :func:`load_fashion_mnist` and :func:`load_cifar10` download (once, into a
verified local cache).
"""

from __future__ import annotations

import gzip
import tarfile
import warnings

import numpy as np

from ._download import DEFAULT_TIMEOUT, DatasetUnavailable, fetch_files
from .data import train_test_split
from .rng import as_generator

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
    rng = as_generator(seed)
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
    rng = as_generator(seed)
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
    rng = as_generator(seed)
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


# Parameters, returns and errors shared by the scikit-learn wrappers' docstrings.
_SKLEARN_DOC = """Parameters
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
        when scikit-learn is missing (``pip install scratchnn[course]``)."""


def load_digits(test_size=None, seed=None):
    """The 8x8 handwritten digits bundled with scikit-learn (1797 images, 10 classes).

    ``x`` holds the flattened images, float32 of shape ``(1797, 64)``, scaled from the raw 0..16
    intensities to ``[0, 1]`` by dividing by 16; ``y`` is int64 ``(1797,)`` in ``0..9``.
    Reshape a row to ``(8, 8)`` to view it. A small offline stand-in for MNIST.

    {_SKLEARN_DOC}
    """
    bunch = _sklearn_datasets("load_digits").load_digits()
    x = np.asarray(bunch.data, dtype=np.float64) / 16.0
    return _finish(x, bunch.target, as_generator(seed), test_size, shuffle=False)


def load_breast_cancer(test_size=None, seed=None):
    """The Wisconsin breast cancer table bundled with scikit-learn (569 samples, 30 features).

    ``x`` is float32 ``(569, 30)`` with the **raw** features, whose scales differ by orders of
    magnitude (e.g. area ~ 1e3, smoothness ~ 1e-1): standardize them before training, with
    the training set's statistics, e.g.
    ``x_tr, x_te, mean, std = scratchnn.data.standardize(x_tr, x_te)``.
    ``y`` is int64 ``(569,)``: 0 = malignant, 1 = benign (scikit-learn's coding).

    {_SKLEARN_DOC}
    """
    bunch = _sklearn_datasets("load_breast_cancer").load_breast_cancer()
    return _finish(bunch.data, bunch.target, as_generator(seed), test_size, shuffle=False)


# ------------------------------------------------------------------------------------------------
# Downloaded datasets: load_mnist, load_fashion_mnist, load_cifar10
# ------------------------------------------------------------------------------------------------
# Each loader downloads the dataset's original files once, from the first mirror that works,
# into ``<data_home>/<name>/`` (``data_home``: argument > $SCRATCHNN_DATA > ~/.cache/scratchnn),
# verifies them by SHA-256 (see :mod:`scratchnn._download`) and parses them with NumPy alone.
# Nothing is ever unpickled. The split is the dataset's official train/test split.

__all__ += ["load_mnist", "load_fashion_mnist", "load_cifar10", "DatasetUnavailable",
            "FASHION_MNIST_CLASSES", "CIFAR10_CLASSES"]

#: The four gzipped IDX files of MNIST and Fashion-MNIST (same names for both), in the order
#: train images, train labels, test images, test labels.
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

#: Base URLs of MNIST mirrors, tried in order (PyTorch's, TensorFlow's, then the original site).
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
#: Published SHA-256 of the original MNIST files (9,912,422 / 28,881 / 1,648,877 / 4,542 bytes).
MNIST_SHA256 = dict(zip(MNIST_FILES, (
    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # train images
    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # train labels
    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",  # test images
    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",  # test labels
), strict=True))

#: Base URLs of Fashion-MNIST mirrors (Zalando Research's bucket over https and http, then the
#: copy in their GitHub repository).
FASHION_MNIST_MIRRORS = (
    "https://fashion-mnist.s3.eu-central-1.amazonaws.com/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
#: Published SHA-256 of the Fashion-MNIST files (26,421,880 / 29,515 / 4,422,102 / 5,148 bytes).
FASHION_MNIST_SHA256 = dict(zip(MNIST_FILES, (
    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",  # train images
    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",  # train labels
    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",  # test images
    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",  # test labels
), strict=True))
#: Fashion-MNIST class names, indexed by label.
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")

#: The binary release of CIFAR-10 (not the pickled "python version").
CIFAR10_FILE = "cifar-10-binary.tar.gz"
#: Base URLs of CIFAR-10 mirrors (the dataset authors' site).
CIFAR10_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
#: Published SHA-256 of ``cifar-10-binary.tar.gz`` (170,052,171 bytes; MD5
#: c32a1d4ab5d03f1284b67883e8d87530 on the authors' page).
CIFAR10_SHA256 = {
    CIFAR10_FILE: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
}
#: CIFAR-10 class names, indexed by label.
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
_CIFAR10_DIR = "cifar-10-batches-bin/"
_CIFAR10_TRAIN = tuple(f"{_CIFAR10_DIR}data_batch_{i}.bin" for i in range(1, 6))
_CIFAR10_TEST = f"{_CIFAR10_DIR}test_batch.bin"
_CIFAR10_RECORD = 1 + 32 * 32 * 3

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

_digits_fallback_warned = False



for _fn in (load_digits, load_breast_cancer):
    _fn.__doc__ = _fn.__doc__.replace("{_SKLEARN_DOC}", _SKLEARN_DOC)

def _merge_checksums(defaults: dict, checksums, caller: str) -> dict:
    """``defaults`` updated with ``checksums`` (which may only name the dataset's files)."""
    if checksums is None:
        return dict(defaults)
    unknown = sorted(set(checksums) - set(defaults))
    if unknown:
        raise ValueError(f"{caller}: checksums names unknown files {unknown}; the files are "
                         f"{list(defaults)}")
    return {**defaults, **checksums}


def _read_idx(path) -> np.ndarray:
    """Parse a gzipped IDX file: magic ``00 00 <type> <ndim>``, ``ndim`` big-endian uint32
    sizes, then the data in big-endian C order. Returns an array of shape ``sizes``."""
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable gzip file ({err})") from err
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (magic number {data[:4].hex() or 'missing'})")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: IDX header truncated ({len(data)} bytes, {ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes in all) but "
                         f"the file has {len(data)} bytes")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def _idx_pair(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, H, W)`` scaled to float32 in [0, 1] and int64 labels ``(N,)`` in 0..9."""
    images = _read_idx(images_path)
    labels = _read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{images_path}: expected unsigned-byte images of shape (N, H, W), got "
                         f"{images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{labels_path}: expected {images.shape[0]} labels of shape (N,) to "
                         f"match {images_path}, got shape {labels.shape}")
    y = labels.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"{labels_path}: labels must be in 0..9, found {y.min()}..{y.max()}")
    x = images.astype(np.float32)
    x /= 255.0
    return x, y


def _load_mnist_family(caller, dataset, subdir, defaults, default_mirrors, flatten, data_home,
                       mirrors, checksums, timeout, progress, hint=""):
    sums = _merge_checksums(defaults, checksums, caller)
    paths = fetch_files(sums, default_mirrors if mirrors is None else mirrors, subdir,
                        data_home=data_home, timeout=timeout, progress=progress,
                        dataset=dataset, hint=hint)
    train_img, train_lab, test_img, test_lab = (paths[name] for name in MNIST_FILES)
    out = []
    for img, lab in ((train_img, train_lab), (test_img, test_lab)):
        x, y = _idx_pair(img, lab)
        out.append((x.reshape(len(x), -1) if flatten else x, y))
    return tuple(out)


def _digits_as_mnist(flatten: bool, reason: DatasetUnavailable):
    """scikit-learn's 8x8 digits, split 80/20 (stratified, seed 0), MNIST's return convention;
    warns once per process."""
    global _digits_fallback_warned
    (x_tr, y_tr), (x_te, y_te) = load_digits(test_size=0.2, seed=0)
    if not flatten:
        x_tr, x_te = x_tr.reshape(-1, 8, 8), x_te.reshape(-1, 8, 8)
    if not _digits_fallback_warned:
        _digits_fallback_warned = True
        warnings.warn(
            f"load_mnist: MNIST is not cached and could not be downloaded, so it falls back "
            f"to scikit-learn's bundled 8x8 digits ({len(y_tr)} train / {len(y_te)} test "
            f"images of 8x8 = 64 pixels, not 28x28 = 784). To use the real MNIST offline, put "
            f"its files ({', '.join(reason.files)}) in {reason.directory}. "
            f"(This warning is shown once per session.)",
            UserWarning, stacklevel=3)
    return (x_tr, y_tr), (x_te, y_te)


def load_mnist(flatten: bool = True, data_home=None, *, fallback=None, mirrors=None,
               checksums=None, timeout: float = DEFAULT_TIMEOUT, progress: bool = True):
    """MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels.

    The four original gzipped IDX files (:data:`MNIST_FILES`) are downloaded once from the
    first working mirror in ``mirrors`` into ``<data_home>/mnist/``, checked against their
    published SHA-256 (:data:`MNIST_SHA256`) and parsed with NumPy. Later calls read the
    cache and need no network. A corrupt cached file is detected, deleted and fetched again.

    Parameters
    ----------
    flatten : bool, default True
        ``True``: images as rows of 784 pixels, shape ``(N, 784)``; ``False``: ``(N, 28, 28)``.
    data_home : str, os.PathLike or None
        Cache root. Default: ``$SCRATCHNN_DATA`` if set, else ``~/.cache/scratchnn``; the
        argument wins over the environment variable.
    fallback : None or "digits"
        ``"digits"``: when MNIST is neither cached nor downloadable, return scikit-learn's
        bundled 8x8 digits instead (:func:`load_digits`, 1437 train / 360 test images, a seeded
        stratified 80/20 split) with shapes ``(N, 64)`` or ``(N, 8, 8)``, and warn once per
        process (``UserWarning``). ``None``: raise :class:`DatasetUnavailable`.
    mirrors : sequence of str, optional
        Base URLs tried in order (default :data:`MNIST_MIRRORS`); a file is fetched from
        ``<base>/<filename>``.
    checksums : mapping of str to str, optional
        ``{filename: sha256_hex}`` overriding entries of :data:`MNIST_SHA256` (e.g. for a
        private mirror of a different build of the files).
    timeout : float, default 30
        Seconds to wait for a connection and for each read of a download.
    progress : bool, default True
        Show a ``tqdm.auto`` progress bar while downloading (when tqdm is installed).

    Returns
    -------
    ``(x_train, y_train), (x_test, y_test)``
        ``x``: float32 in ``[0, 1]`` (pixel / 255), shape ``(60000, 784)`` and
        ``(10000, 784)`` (or ``(N, 28, 28)`` with ``flatten=False``); ``y``: int64 ``(N,)``
        in ``0..9``.

    Raises
    ------
    DatasetUnavailable
        (an ``OSError`` and a ``RuntimeError``) when a file is neither cached nor
        downloadable and ``fallback`` is None; the message says which files to put where.
    ValueError
        when a verified file does not parse as IDX, or for a bad ``fallback``/``checksums``.

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()
    >>> x_train.shape, x_train.dtype, y_train[:3]
    ((60000, 784), dtype('float32'), array([5, 0, 4]))
    """
    if fallback not in (None, "digits"):
        raise ValueError(f"load_mnist: fallback must be None or 'digits', got {fallback!r}")
    hint = ('Offline? load_mnist(fallback="digits") returns scikit-learn\'s bundled 8x8 '
            'digits instead.') if fallback is None else ""
    try:
        return _load_mnist_family("load_mnist", "MNIST", "mnist", MNIST_SHA256, MNIST_MIRRORS,
                                  flatten, data_home, mirrors, checksums, timeout, progress,
                                  hint)
    except DatasetUnavailable as err:
        if fallback is None:
            raise
        return _digits_as_mnist(flatten, err)


def load_fashion_mnist(flatten: bool = True, data_home=None, *, mirrors=None, checksums=None,
                       timeout: float = DEFAULT_TIMEOUT, progress: bool = True):
    """Fashion-MNIST (Zalando): 60,000 training and 10,000 test 28x28 images of clothing.

    A drop-in, harder replacement for MNIST with the same file names and format, cached in
    ``<data_home>/fashion_mnist/`` and verified against :data:`FASHION_MNIST_SHA256`. Labels
    index :data:`FASHION_MNIST_CLASSES` (0 T-shirt/top, 1 Trouser, ..., 9 Ankle boot).

    Parameters
    ----------
    flatten : bool, default True
        ``True``: shape ``(N, 784)``; ``False``: ``(N, 28, 28)``.
    data_home : str, os.PathLike or None
        Cache root; the argument wins over ``$SCRATCHNN_DATA``, then ``~/.cache/scratchnn``.
    mirrors : sequence of str, optional
        Base URLs tried in order (default :data:`FASHION_MNIST_MIRRORS`).
    checksums : mapping of str to str, optional
        ``{filename: sha256_hex}`` overriding entries of :data:`FASHION_MNIST_SHA256`.
    timeout : float, default 30
        Seconds to wait for a connection and for each read of a download.
    progress : bool, default True
        Show a ``tqdm.auto`` progress bar while downloading (when tqdm is installed).

    Returns
    -------
    ``(x_train, y_train), (x_test, y_test)``
        ``x``: float32 in ``[0, 1]``, ``(60000, 784)`` / ``(10000, 784)`` (or
        ``(N, 28, 28)``); ``y``: int64 ``(N,)`` in ``0..9``.

    Raises
    ------
    DatasetUnavailable
        when a file is neither cached nor downloadable; the message says where to put it.
    ValueError
        when a verified file does not parse as IDX, or for bad ``checksums``.
    """
    return _load_mnist_family("load_fashion_mnist", "Fashion-MNIST", "fashion_mnist",
                              FASHION_MNIST_SHA256, FASHION_MNIST_MIRRORS, flatten, data_home,
                              mirrors, checksums, timeout, progress)


def _read_cifar10_tar(path) -> dict[str, np.ndarray]:
    """The six CIFAR-10 binary batches of the tar.gz at ``path``, each as uint8 records
    ``(n, 3073)``: 1 label byte, then 1024 red, 1024 green and 1024 blue bytes (row-major
    32x32). Members are read in memory, one by one; nothing is extracted to disk."""
    wanted = set(_CIFAR10_TRAIN) | {_CIFAR10_TEST}
    found: dict[str, np.ndarray] = {}
    try:
        with tarfile.open(path, "r|gz") as tar:
            for info in tar:
                name = info.name[2:] if info.name.startswith("./") else info.name
                if name not in wanted or name in found:
                    continue
                if not info.isfile():
                    raise ValueError(f"{path}: member {name} is not a regular file")
                data = tar.extractfile(info).read()
                if len(data) == 0 or len(data) % _CIFAR10_RECORD:
                    raise ValueError(f"{path}: {name} has {len(data)} bytes, not a whole "
                                     f"number of {_CIFAR10_RECORD}-byte records")
                found[name] = np.frombuffer(data, dtype=np.uint8).reshape(-1, _CIFAR10_RECORD)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable tar.gz archive ({err})") from err
    missing = sorted(wanted - set(found))
    if missing:
        raise ValueError(f"{path}: the archive lacks {missing}; is it the binary release "
                         f"{CIFAR10_FILE}?")
    return found


def _cifar_arrays(records: np.ndarray, flatten: bool) -> tuple[np.ndarray, np.ndarray]:
    """uint8 records ``(N, 3073)`` -> float32 images ``(N, 32, 32, 3)`` in [0, 1] (or their
    rows ``(N, 3072)``) and int64 labels ``(N,)``."""
    y = records[:, 0].astype(np.int64)
    if y.max() > 9:
        raise ValueError(f"CIFAR-10 labels must be in 0..9, found {y.max()}")
    planar = records[:, 1:].reshape(-1, 3, 32, 32)
    x = np.empty((len(records), 32, 32, 3), dtype=np.float32)
    x[...] = planar.transpose(0, 2, 3, 1)
    x /= 255.0
    return (x.reshape(len(x), -1) if flatten else x), y


def load_cifar10(flatten: bool = True, data_home=None, *, mirrors=None, checksums=None,
                 timeout: float = DEFAULT_TIMEOUT, progress: bool = True):
    """CIFAR-10: 50,000 training and 10,000 test 32x32 colour images in 10 classes.

    Downloads the *binary* release ``cifar-10-binary.tar.gz`` (170 MB) once into
    ``<data_home>/cifar10/``, verifies its SHA-256 (:data:`CIFAR10_SHA256`) and reads
    ``data_batch_1.bin`` .. ``data_batch_5.bin`` (training, in that order) and
    ``test_batch.bin`` straight from the archive in memory (nothing is extracted or
    unpickled). Each record is 1 label byte and 3072 pixel bytes (the red, green and blue
    32x32 planes). Labels index :data:`CIFAR10_CLASSES` (0 airplane, ..., 9 truck).

    Parameters
    ----------
    flatten : bool, default True
        ``True``: rows of 3072 values, shape ``(N, 3072)``, equal to
        ``x.reshape(N, -1)`` of the unflattened images, i.e. pixel by pixel with R, G, B
        interleaved (not the file's planar order); ``False``: channels last,
        ``(N, 32, 32, 3)``.
    data_home : str, os.PathLike or None
        Cache root; the argument wins over ``$SCRATCHNN_DATA``, then ``~/.cache/scratchnn``.
    mirrors : sequence of str, optional
        Base URLs tried in order (default :data:`CIFAR10_MIRRORS`).
    checksums : mapping of str to str, optional
        ``{"cifar-10-binary.tar.gz": sha256_hex}`` overriding :data:`CIFAR10_SHA256`.
    timeout : float, default 30
        Seconds to wait for a connection and for each read of a download.
    progress : bool, default True
        Show a ``tqdm.auto`` progress bar while downloading (when tqdm is installed).

    Returns
    -------
    ``(x_train, y_train), (x_test, y_test)``
        ``x``: float32 in ``[0, 1]``, ``(50000, 3072)`` / ``(10000, 3072)`` (or
        ``(N, 32, 32, 3)``); ``y``: int64 ``(N,)`` in ``0..9``.

    Raises
    ------
    DatasetUnavailable
        when the archive is neither cached nor downloadable; the message says where to put it.
    ValueError
        when the verified archive lacks a batch or a batch is malformed, or for bad
        ``checksums``.
    """
    sums = _merge_checksums(CIFAR10_SHA256, checksums, "load_cifar10")
    paths = fetch_files(sums, CIFAR10_MIRRORS if mirrors is None else mirrors, "cifar10",
                        data_home=data_home, timeout=timeout, progress=progress,
                        dataset="CIFAR-10")
    batches = _read_cifar10_tar(paths[CIFAR10_FILE])
    train = np.concatenate([batches[name] for name in _CIFAR10_TRAIN])
    return _cifar_arrays(train, flatten), _cifar_arrays(batches[_CIFAR10_TEST], flatten)
