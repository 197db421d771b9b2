"""Pure functions: every forward pass next to its backward pass.

This is the lower level of ``scratchnn`` and the reference the course's hidden tests compare
students against: each function is the textbook form of its formula. Nothing here keeps
state or mutates its arguments (except :func:`flush_to_zero`, which says so). The classes
run some of these computations through a faster, in-place equivalent (``scratchnn._fused``),
checked against this module by tests/test_fused.py.

Conventions
-----------
* ``x`` is a batch of shape ``(N, ...)``; ``grad_out`` is dL/d(output) with the output's shape.
* Every ``*_backward`` returns dL/d(input) given dL/d(output) (the chain rule applied once).
* Activation backward functions take the *input* ``x`` of the forward pass, so a student only
  has to remember one rule: ``grad_in = grad_out * f'(x)`` (softmax: the Jacobian product).
* Losses are means over the batch and return Python floats; their ``*_backward`` returns
  dL/d(pred) with ``pred``'s shape, already divided by the batch size.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "mse", "mse_backward", "mae", "mae_backward", "huber", "huber_backward",
    "cross_entropy", "cross_entropy_backward",
    "binary_cross_entropy", "binary_cross_entropy_backward",
    "dense", "dense_backward", "conv2d", "conv2d_backward", "max_pool2d",
    "max_pool2d_backward", "im2col", "col2im", "conv_output_size",
    "dropout", "dropout_backward", "l2_penalty", "l2_penalty_backward",
    "batch_norm", "batch_norm_backward", "layer_norm", "layer_norm_backward",
    "sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw", "clip_grad_norm",
    "flush_to_zero", "check_labels", "prob_bounds",
]

# Probabilities are clipped before a log so that p = 0 or 1 gives a large, finite loss instead
# of inf (or nan, from 0 * log 0). 1e-12 is the course's EPS; prob_bounds adapts it to a dtype.
PROB_EPS = 1e-12


def prob_bounds(dtype) -> tuple[float, float]:
    """The interval ``[lo, hi]`` that probabilities of ``dtype`` are clipped to before a log.

    ``lo = max(PROB_EPS, finfo(dtype).tiny)``, ``hi = 1 - max(PROB_EPS, finfo(dtype).eps)``:
    float64 ``[1e-12, 1 - 1e-12]``, float32 ``[1e-12, 1 - 2**-23]``, float16
    ``[2**-14, 1 - 2**-10]``. In float32 ``1 - 1e-12`` rounds to 1.0 (and ``log(1 - p)`` to
    ``-inf``); ``finfo.eps`` is the spacing of floats just above 1, twice that just below, so
    ``hi`` is exact and below 1. ``lo`` stays 1e-12 in float32, which resolves probabilities
    far smaller: raising it would clip confident wrong predictions that float32 computes
    accurately, and cut their gradient. A certain wrong prediction thus costs ``-log(lo)``
    (27.6) for ``t = 1`` and ``-log(1 - hi)`` (27.6 in float64, 15.9 in float32) for ``t = 0``.
    Returns Python floats.
    """
    info = np.finfo(dtype)
    return max(PROB_EPS, float(info.tiny)), 1.0 - max(PROB_EPS, float(info.eps))


def _float(x, name: str) -> np.ndarray:
    """Return ``x`` as a floating array (integers are cast to float64, floats kept)."""
    arr = np.asarray(x)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    return arr


# --------------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------------

def relu(x):
    """Rectified linear unit, elementwise: ``relu(x) = max(0, x)``. Shape: any -> same."""
    x = _float(x, "x")
    return np.maximum(x, 0)


def relu_backward(grad_out, x):
    """Backward of :func:`relu`: ``grad_in = grad_out * 1[x > 0]`` (the kink at 0 gets 0)."""
    x = _float(x, "x")
    # A multiply by the boolean mask: branch-free, ~9x faster than np.where on random signs.
    return np.multiply(grad_out, x > 0, dtype=np.result_type(grad_out, x))


def _leaky_slope(x, alpha: float):
    """The derivative of leaky ReLU, ``1`` where ``x > 0`` else ``alpha``, as a float array
    (built from the boolean mask with two scalar passes: branch-free, unlike ``np.where``)."""
    slope = np.multiply(x > 0, 1.0 - alpha, dtype=x.dtype)
    slope += alpha
    return slope


def leaky_relu(x, alpha: float = 0.01):
    """Leaky ReLU, elementwise: ``x if x > 0 else alpha * x``. Shape: any -> same."""
    x = _float(x, "x")
    return x * _leaky_slope(x, alpha)


def leaky_relu_backward(grad_out, x, alpha: float = 0.01):
    """Backward of :func:`leaky_relu`: ``grad_in = grad_out * (1 if x > 0 else alpha)``."""
    x = _float(x, "x")
    grad_out = _float(grad_out, "grad_out")
    return grad_out * _leaky_slope(x, alpha)


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow. Shape: any -> same.

    For ``x >= 0`` it evaluates ``1 / (1 + exp(-x))``; for ``x < 0`` the equal form
    ``exp(x) / (1 + exp(x))``. Each branch only exponentiates a non-positive number, so
    ``sigmoid(+-1000)`` is exactly 1 or 0 with no overflow warning. ``|x|`` is capped just
    below ``-log(tiny)`` so that ``exp`` never underflows either (no floating-point event even
    under ``np.errstate(all="raise")``); beyond the cap the result is 1, or 0 for ``x < 0``.
    """
    x = _float(x, "x")
    limit = np.floor(-np.log(np.finfo(x.dtype).tiny)) - 1  # 707 (float64), 86 (float32)
    e = np.exp(-np.minimum(np.abs(x), limit))  # in (0, 1]: never overflows nor underflows
    return np.where(x >= 0, 1 / (1 + e), np.where(x < -limit, 0, e / (1 + e)))


def sigmoid_backward(grad_out, x):
    """Backward of :func:`sigmoid`: ``grad_in = grad_out * s * (1 - s)`` with ``s = sigmoid(x)``."""
    s = sigmoid(x)
    return grad_out * s * (1 - s)


def tanh(x):
    """Hyperbolic tangent, elementwise (NumPy's stable implementation). Shape: any -> same."""
    return np.tanh(_float(x, "x"))


def tanh_backward(grad_out, x):
    """Backward of :func:`tanh`: ``grad_in = grad_out * (1 - tanh(x)**2)``."""
    t = tanh(x)
    return grad_out * (1 - t * t)


def softmax(x, axis: int = -1):
    """Softmax along ``axis``: ``exp(x_i - max x) / sum_j exp(x_j - max x)``.

    Subtracting the maximum leaves the result unchanged and keeps every exponent <= 0, so
    logits of any size give finite probabilities. Shape: ``(N, C) -> (N, C)``, rows sum to 1.
    """
    x = _float(x, "x")
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_backward(grad_out, x, axis: int = -1):
    """Backward of :func:`softmax`: ``grad_in = s * (grad_out - sum(grad_out * s))``.

    This is the Jacobian-vector product of ``ds_i/dx_j = s_i (delta_ij - s_j)`` without
    building the ``(C, C)`` Jacobian. Shape: ``(N, C) -> (N, C)``.
    """
    s = softmax(x, axis=axis)
    return s * (grad_out - np.sum(grad_out * s, axis=axis, keepdims=True))


def log_softmax(x, axis: int = -1):
    """Log-softmax: ``x - logsumexp(x)``, with ``logsumexp(x) = m + log sum exp(x - m)``.

    Stable for logits of any magnitude. Shape: ``(N, C) -> (N, C)``.
    """
    x = _float(x, "x")
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def log_softmax_backward(grad_out, x, axis: int = -1):
    """Backward of :func:`log_softmax`: ``grad_in = grad_out - softmax(x) * sum(grad_out)``."""
    s = softmax(x, axis=axis)
    return grad_out - s * np.sum(grad_out, axis=axis, keepdims=True)


# --------------------------------------------------------------------------------------------
# Losses (means over the batch)
# --------------------------------------------------------------------------------------------

def _reduce(values, reduction: str, loss: str):
    """``values`` with one entry per element or sample, reduced as ``reduction`` asks:
    ``"mean"`` a float (the loss), ``"none"`` an array ``(N,)`` of per-sample losses (the
    mean over each sample's other axes; their mean is the ``"mean"`` loss), which weighted
    losses (``fit(sample_weight=...)``) are built from."""
    if reduction == "mean":
        return float(np.mean(values))
    if reduction == "none":
        values = np.asarray(values)
        return values.reshape(values.shape[0], -1).mean(axis=1) if values.ndim > 1 else values
    raise ValueError(f"{loss}: reduction must be 'mean' or 'none', got {reduction!r}")


def _check_same_shape(pred, target, loss: str):
    if pred.shape != target.shape:
        raise ValueError(
            f"{loss}: predictions have shape {pred.shape} but targets have shape "
            f"{target.shape}; they must match"
        )


def mse(pred, target, reduction: str = "mean") -> float:
    """Mean squared error over every element: ``L = mean((pred - target)**2)``.

    Shapes: ``pred`` and ``target`` both ``(N, ...)``, equal. Returns a float, or with
    ``reduction="none"`` the per-sample losses ``(N,)`` (each sample's mean; see
    ``_reduce``).
    """
    pred, target = _float(pred, "pred"), _float(target, "target")
    _check_same_shape(pred, target, "mse")
    diff = pred - target
    return _reduce(diff * diff, reduction, "mse")


def mse_backward(pred, target):
    """Gradient of :func:`mse`: ``dL/dpred = 2 (pred - target) / pred.size``."""
    pred, target = _float(pred, "pred"), _float(target, "target")
    _check_same_shape(pred, target, "mse")
    return (pred - target) * (2.0 / pred.size)


def mae(pred, target, reduction: str = "mean") -> float:
    """Mean absolute error over every element: ``L = mean(|pred - target|)`` (PyTorch's
    ``L1Loss``, Keras' ``mean_absolute_error``). Shapes and ``reduction`` as :func:`mse`."""
    pred, target = _float(pred, "pred"), _float(target, "target")
    _check_same_shape(pred, target, "mae")
    return _reduce(np.abs(pred - target), reduction, "mae")


def mae_backward(pred, target):
    """Gradient of :func:`mae`: ``dL/dpred = sign(pred - target) / pred.size`` (0 where they
    are equal: the subgradient PyTorch uses)."""
    pred, target = _float(pred, "pred"), _float(target, "target")
    _check_same_shape(pred, target, "mae")
    return np.sign(pred - target) * (1.0 / pred.size)


def _check_delta(delta) -> float:
    if not float(delta) > 0:
        raise ValueError(f"huber: delta must be positive, got {delta}")
    return float(delta)


def huber(pred, target, delta: float = 1.0, reduction: str = "mean") -> float:
    """Huber loss (Huber, 1964), the mean over every element of
    ``0.5 d**2`` where ``|d| < delta`` and ``delta (|d| - 0.5 delta)`` elsewhere,
    ``d = pred - target``: quadratic near 0, linear (robust to outliers) beyond ``delta``.
    PyTorch's ``HuberLoss(delta=...)``, Keras' ``Huber``. Shapes and ``reduction`` as
    :func:`mse`. ``ValueError`` for ``delta <= 0``."""
    pred, target = _float(pred, "pred"), _float(target, "target")
    _check_same_shape(pred, target, "huber")
    delta = _check_delta(delta)
    a = np.abs(pred - target)
    return _reduce(np.where(a < delta, 0.5 * a * a, delta * (a - 0.5 * delta)), reduction,
                   "huber")


def huber_backward(pred, target, delta: float = 1.0):
    """Gradient of :func:`huber`: ``clip(pred - target, -delta, delta) / pred.size``."""
    pred, target = _float(pred, "pred"), _float(target, "target")
    _check_same_shape(pred, target, "huber")
    delta = _check_delta(delta)
    return np.clip(pred - target, -delta, delta) * (1.0 / pred.size)


def check_labels(labels, num_classes: int, who: str) -> np.ndarray:
    """Validate integer class labels ``(N,)`` for ``num_classes`` classes; return them as int64.

    Floats holding whole numbers are accepted; anything else raises ``TypeError``, and a label
    outside ``0..num_classes-1`` raises ``ValueError`` naming ``who``, the label and the range.
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise TypeError(
                f"{who}: 1-D targets must be integer class labels, got dtype {labels.dtype}"
            )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(
            f"{who}: label {int(bad)} is out of range for {num_classes} classes "
            f"(labels must be in 0..{num_classes - 1})"
        )
    return labels.astype(np.int64, copy=False)


def _class_targets(target, num_classes: int, loss: str, dtype):
    """Integer labels ``(N,)`` -> ``(labels, None)``; one-hot/soft targets ``(N, C)`` ->
    ``(None, targets as floats)``. Labels stay labels: picking ``log_p[n, label_n]`` is the
    same sum as multiplying by a one-hot matrix, without building one."""
    target = np.asarray(target)
    if target.ndim == 1:
        return check_labels(target, num_classes, loss), None
    if target.ndim == 2 and target.shape[1] == num_classes:
        return None, target.astype(dtype, copy=False)
    raise ValueError(
        f"{loss}: targets of shape {target.shape} do not fit predictions with {num_classes} "
        f"classes; pass integer labels of shape (N,) or one-hot targets of shape (N, {num_classes})"
    )


def _check_2d_batch(pred, target, loss: str):
    if pred.ndim != 2:
        raise ValueError(f"{loss}: predictions must have shape (N, C), got {pred.shape}")
    if np.shape(target)[0] != pred.shape[0]:
        raise ValueError(
            f"{loss}: predictions have shape {pred.shape} but targets have shape "
            f"{np.shape(target)}: the batch sizes differ"
        )


def cross_entropy(pred, target, from_logits: bool = True, reduction: str = "mean") -> float:
    """Categorical cross-entropy, mean over the batch.

    ``L = -(1/N) sum_n sum_c t_nc log p_nc`` where ``p = softmax(pred)`` if ``from_logits``
    (computed as ``log_softmax``: stable for any logits) else ``p = pred`` (clipped to
    ``[lo, 1]`` before the log, ``lo`` of :func:`prob_bounds`: 1e-12 in float32 and float64).

    Shapes: ``pred (N, C)``; ``target`` integer labels ``(N,)`` or one-hot ``(N, C)``.
    ``reduction="none"`` returns the per-sample losses ``(N,)`` instead of their mean.
    """
    pred = _float(pred, "pred")
    _check_2d_batch(pred, target, "cross_entropy")
    labels, t = _class_targets(target, pred.shape[1], "cross_entropy", pred.dtype)
    if from_logits:
        log_p = log_softmax(pred)
    else:
        log_p = np.log(np.clip(pred, prob_bounds(pred.dtype)[0], 1.0))
    if reduction == "none":
        if labels is not None:
            return -log_p[np.arange(pred.shape[0]), labels]
        return -np.sum(t * log_p, axis=1)
    if reduction != "mean":
        _reduce(None, reduction, "cross_entropy")  # raises, naming the choices
    if labels is not None:
        return float(-np.sum(log_p[np.arange(pred.shape[0]), labels]) / pred.shape[0])
    return float(-np.sum(t * log_p) / pred.shape[0])


def cross_entropy_backward(pred, target, from_logits: bool = True):
    """Gradient of :func:`cross_entropy` with respect to ``pred``. Shape ``(N, C)``.

    From logits: ``dL/dz = (softmax(z) - t) / N``. From probabilities:
    ``dL/dp = -t / (N p)`` (``p`` clipped as in the forward pass).
    """
    pred = _float(pred, "pred")
    _check_2d_batch(pred, target, "cross_entropy")
    n = pred.shape[0]
    labels, t = _class_targets(target, pred.shape[1], "cross_entropy", pred.dtype)
    lo = prob_bounds(pred.dtype)[0]
    if labels is None:
        if from_logits:
            return (softmax(pred) - t) / n
        return -t / (np.clip(pred, lo, 1.0) * n)
    rows = np.arange(n)
    if from_logits:  # softmax minus the one-hot target, then / N
        grad = softmax(pred)
        grad[rows, labels] -= 1
        grad /= n
        return grad
    grad = np.zeros_like(pred)  # -t / (N p) is zero off the labelled class
    grad[rows, labels] = -1 / (np.clip(pred[rows, labels], lo, 1.0) * n)
    return grad


def binary_cross_entropy(pred, target, from_logits: bool = True,
                         reduction: str = "mean") -> float:
    """Binary cross-entropy, mean over every element.

    From logits ``z`` (stable form, never exponentiates a positive number):
    ``L = mean(max(z, 0) - z t + log(1 + exp(-|z|)))``.
    From probabilities ``p`` (clipped to :func:`prob_bounds`, ``[1e-12, 1 - 1e-12]`` in
    float64 and ``[1e-12, 1 - 2**-23]`` in float32):
    ``L = -mean(t log p + (1 - t) log(1 - p))``.

    Shapes: ``pred`` and ``target`` equal, e.g. ``(N, 1)`` or ``(N,)``; targets in [0, 1].
    ``reduction`` as :func:`mse`.
    """
    pred, target = _float(pred, "pred"), _float(target, "target")
    _check_same_shape(pred, target, "binary_cross_entropy")
    if from_logits:
        losses = np.maximum(pred, 0) - pred * target + np.log1p(np.exp(-np.abs(pred)))
    else:
        p = np.clip(pred, *prob_bounds(pred.dtype))
        losses = -(target * np.log(p) + (1 - target) * np.log1p(-p))
    return _reduce(losses, reduction, "binary_cross_entropy")


def binary_cross_entropy_backward(pred, target, from_logits: bool = True):
    """Gradient of :func:`binary_cross_entropy` with respect to ``pred`` (same shape).

    From logits: ``dL/dz = (sigmoid(z) - t) / n``; from probabilities:
    ``dL/dp = (p - t) / (p (1 - p) n)``, with ``n = pred.size`` (``p`` clipped as in the
    forward pass).
    """
    pred, target = _float(pred, "pred"), _float(target, "target")
    _check_same_shape(pred, target, "binary_cross_entropy")
    n = pred.size
    if from_logits:
        return (sigmoid(pred) - target) / n
    p = np.clip(pred, *prob_bounds(pred.dtype))
    return (p - target) / (p * (1 - p) * n)


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------

def dense(x, W, b):
    """Fully connected layer: ``out = x @ W + b``.

    Shapes: ``x (N, in)``, ``W (in, out)``, ``b (out,)`` -> ``out (N, out)``.
    """
    x = _float(x, "x")
    if x.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(
            f"dense: input of shape {x.shape} does not fit weights of shape {W.shape}; "
            f"expected (N, {W.shape[0]})"
        )
    out = x @ W
    out += b  # in place: no second (N, out) temporary
    return out


def dense_backward(grad_out, x, W, input_grad: bool = True):
    """Backward of :func:`dense`.

    ``dL/dx = grad_out @ W.T`` (N, in); ``dL/dW = x.T @ grad_out`` (in, out);
    ``dL/db = sum_n grad_out`` (out,). Returns ``(grad_x, grad_W, grad_b)``; with
    ``input_grad=False`` ``grad_x`` is ``None`` (the first layer of a network needs no
    dL/dx, and skipping it saves a third of that layer's work).
    """
    x = _float(x, "x")
    grad_x = grad_out @ W.T if input_grad else None
    return grad_x, x.T @ grad_out, np.sum(grad_out, axis=0)


def _pair(value, name: str, who: str, minimum: int = 1) -> tuple[int, int]:
    """``value`` as ``(height, width)``: an int means both. ``ValueError`` naming ``name``."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                             or v < minimum for v in pair):
        raise ValueError(f"{who}: {name} must be an int >= {minimum} or a pair of them, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution or pooling along one axis:
    ``floor((size + 2 padding - kernel) / stride) + 1`` (PyTorch's ``Conv2d`` formula)."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x, kernel_size, stride=1, padding=0):
    """Every receptive field of a 2-D convolution, as a read-only strided view (no copy).

    ``x (N, C, H, W)`` (NCHW, PyTorch's layout) is zero-padded by ``padding`` on each side;
    the result ``cols (N, C, H_out, W_out, kh, kw)`` has ``cols[n, c, i, j] =
    x_pad[n, c, i*s:i*s+kh, j*s:j*s+kw]``, with ``H_out = (H + 2p - kh) // s + 1`` (likewise
    ``W_out``). Contracting it with weights ``(F, C, kh, kw)`` over ``(C, kh, kw)`` is the
    convolution (the "im2col" formulation of Chellapilla et al., 2006, used by Caffe and
    CS231n; the matrix is never materialized here, ``np.tensordot`` copies it once).
    ``ValueError`` if ``x`` is not 4-D or the kernel does not fit the padded input.
    """
    x = _float(x, "x")
    kh, kw = _pair(kernel_size, "kernel_size", "im2col")
    sh, sw = _pair(stride, "stride", "im2col")
    ph, pw = _pair(padding, "padding", "im2col", minimum=0)
    if x.ndim != 4:
        raise ValueError(f"im2col: x must have shape (N, C, H, W), got {x.shape}")
    if x.shape[2] + 2 * ph < kh or x.shape[3] + 2 * pw < kw:
        raise ValueError(f"im2col: a {kh}x{kw} kernel does not fit input {x.shape} with "
                         f"padding {(ph, pw)}")
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return windows[:, :, ::sh, ::sw]


def col2im(cols, x_shape, stride=1, padding=0):
    """Adjoint of :func:`im2col`: sum ``cols (N, C, H_out, W_out, kh, kw)`` back into an array
    of ``x_shape (N, C, H, W)``, every receptive field added where it was read from
    (overlapping fields add up; the padding is cut off). The backward pass of a convolution
    with respect to its input."""
    n, c, h, w = x_shape
    kh, kw = cols.shape[4], cols.shape[5]
    sh, sw = _pair(stride, "stride", "col2im")
    ph, pw = _pair(padding, "padding", "col2im", minimum=0)
    h_out, w_out = cols.shape[2], cols.shape[3]
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    # one strided slice per kernel offset: kh * kw vectorized additions, no Python loop
    # over positions
    for u in range(kh):
        for v in range(kw):
            out[:, :, u:u + sh * h_out:sh, v:v + sw * w_out:sw] += cols[:, :, :, :, u, v]
    return out[:, :, ph:ph + h, pw:pw + w]


def _conv_check(x, W, b, who: str) -> None:
    if x.ndim != 4 or W.ndim != 4 or x.shape[1] != W.shape[1]:
        raise ValueError(f"{who}: input of shape {x.shape} does not fit weights of shape "
                         f"{np.shape(W)}; expected x (N, {np.shape(W)[1] if W.ndim == 4 else 'C'}"
                         f", H, W) and W (out_channels, in_channels, kh, kw)")
    if b is not None and np.shape(b) != (W.shape[0],):
        raise ValueError(f"{who}: bias of shape {np.shape(b)} does not fit {W.shape[0]} "
                         f"output channels")


def conv2d(x, W, b, stride=1, padding=0):
    """2-D convolution (cross-correlation, as in every deep-learning library), NCHW layout.

    ``out[n, f, i, j] = b[f] + sum_{c, u, v} W[f, c, u, v] * x_pad[n, c, i*s + u, j*s + v]``

    Shapes: ``x (N, C, H, W)``, ``W (F, C, kh, kw)`` (PyTorch's ``Conv2d.weight`` layout),
    ``b (F,)`` -> ``out (N, F, H_out, W_out)`` with ``H_out = (H + 2p - kh) // s + 1``.
    ``stride`` and ``padding`` are ints or ``(height, width)`` pairs; padding is zeros.
    Computed through :func:`im2col`. ``ValueError`` for shapes that do not fit.
    """
    x = _float(x, "x")
    _conv_check(x, W, b, "conv2d")
    cols = im2col(x, W.shape[2:], stride, padding)
    out = np.tensordot(cols, W, axes=([1, 4, 5], [1, 2, 3]))  # (N, H_out, W_out, F)
    out += b
    return out.transpose(0, 3, 1, 2)


def conv2d_backward(grad_out, x, W, stride=1, padding=0, input_grad: bool = True):
    """Backward of :func:`conv2d`. Returns ``(grad_x, grad_W, grad_b)``.

    ``dL/dW[f, c, u, v] = sum_{n, i, j} g[n, f, i, j] x_pad[n, c, i*s + u, j*s + v]``,
    ``dL/db[f] = sum_{n, i, j} g[n, f, i, j]``, and ``dL/dx`` is :func:`col2im` of
    ``sum_f g[n, f, i, j] W[f, c, u, v]`` (a "full" convolution with the flipped kernel).
    ``grad_out (N, F, H_out, W_out)``; with ``input_grad=False`` ``grad_x`` is ``None``.
    """
    x = _float(x, "x")
    _conv_check(x, W, None, "conv2d_backward")
    cols = im2col(x, W.shape[2:], stride, padding)
    grad_W = np.tensordot(grad_out, cols, axes=([0, 2, 3], [0, 2, 3]))  # (F, C, kh, kw)
    grad_b = grad_out.sum(axis=(0, 2, 3))
    if not input_grad:
        return None, grad_W, grad_b
    grad_cols = np.tensordot(grad_out, W, axes=([1], [0]))  # (N, H_out, W_out, C, kh, kw)
    grad_x = col2im(grad_cols.transpose(0, 3, 1, 2, 4, 5), x.shape, stride, padding)
    return grad_x, grad_W, grad_b


def max_pool2d(x, pool_size=2, stride=None):
    """2-D max pooling over windows of ``pool_size``, NCHW layout (no padding).

    ``out[n, c, i, j] = max_{u, v} x[n, c, i*s + u, j*s + v]``; ``stride`` defaults to
    ``pool_size`` (PyTorch and Keras). Shapes: ``x (N, C, H, W)`` ->
    ``(out (N, C, H_out, W_out), argmax)``; ``argmax`` (int64, same shape as ``out``) is the
    flat index ``u * kw + v`` of the first maximum of each window (PyTorch's tie rule), for
    :func:`max_pool2d_backward`. ``ValueError`` if the window does not fit.
    """
    x = _float(x, "x")
    stride = pool_size if stride is None else stride
    cols = im2col(x, pool_size, stride)
    n, c, h_out, w_out, kh, kw = cols.shape
    flat = cols.reshape(n, c, h_out, w_out, kh * kw)
    argmax = flat.argmax(axis=-1)
    return np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0], argmax


def max_pool2d_backward(grad_out, argmax, x_shape, pool_size=2, stride=None):
    """Backward of :func:`max_pool2d`: each output's gradient goes to the input that was its
    window's maximum (overlapping windows add up); every other input gets 0.
    ``grad_out`` and ``argmax`` ``(N, C, H_out, W_out)``; returns ``(N, C, H, W)``."""
    kh, kw = _pair(pool_size, "pool_size", "max_pool2d_backward")
    stride = (kh, kw) if stride is None else stride
    onehot = argmax[..., None] == np.arange(kh * kw)  # (N, C, H_out, W_out, kh * kw)
    cols = (grad_out[..., None] * onehot).reshape(*grad_out.shape, kh, kw)
    return col2im(cols, x_shape, stride, 0)


def dropout(x, rate: float, rng: np.random.Generator | None = None, training: bool = True):
    """Inverted dropout: zero each element with probability ``rate`` and scale the rest.

    ``out = x * mask`` with ``mask = bernoulli(1 - rate) / (1 - rate)``, so the expected value
    of every unit is unchanged and nothing needs rescaling at test time. In eval mode
    (``training=False``) or with ``rate == 0`` the mask is all ones.

    Shapes: ``x`` any -> ``(out, mask)`` both shaped like ``x``. ``rng`` is an
    ``np.random.Generator`` (required when training with ``rate > 0``).
    """
    x = _float(x, "x")
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if not training or rate == 0.0:
        return x.copy(), np.ones_like(x)
    if rng is None:
        raise ValueError("dropout: pass rng=np.random.default_rng(seed) when training")
    keep = 1.0 - rate
    mask = (rng.random(x.shape) < keep).astype(x.dtype) / x.dtype.type(keep)
    return x * mask, mask


def dropout_backward(grad_out, mask):
    """Backward of :func:`dropout`: ``grad_in = grad_out * mask`` (the same scaled mask)."""
    return grad_out * mask


def _weight_list(weights, lam, who: str) -> list[np.ndarray]:
    """``weights`` as a list of float arrays, after checking ``lam`` (shared by the L2 pair)."""
    if isinstance(weights, np.ndarray):
        raise TypeError(f"{who}: weights must be a list of weight matrices, got one array of "
                        f"shape {weights.shape}; pass [W]")
    lam = float(lam)
    if not lam >= 0.0:
        raise ValueError(f"{who}: lam must be >= 0, got {lam}")
    return [_float(w, f"weights[{i}]") for i, w in enumerate(weights)]


def l2_penalty(weights, lam: float) -> float:
    """L2 penalty of a network's weight matrices: ``0.5 * lam * sum_k ||W_k||_F^2``.

    ``weights`` is a list (or tuple) of arrays of any shapes, by convention the weight
    matrices only, not the biases (penalizing a bias does not reduce a network's capacity
    and can hurt a unit that needs a large offset). The factor 1/2 makes the gradient
    ``lam * W`` (:func:`l2_penalty_backward`), so ``lam`` is the same number as PyTorch's
    ``weight_decay`` for SGD (Krogh & Hertz, 1992; Goodfellow et al., *Deep Learning*, 7.1.1).

    Returns a Python float (0.0 for an empty list). The squares are summed in the arrays'
    own dtype (float32 stays float32; its largest value is about 1.8e19 before overflow).
    Raises ``TypeError`` for a single array instead of a list, ``ValueError`` for a negative
    or NaN ``lam``. The inputs are never modified.
    """
    arrays = _weight_list(weights, lam, "l2_penalty")
    return 0.5 * float(lam) * float(sum(float(np.sum(w * w)) for w in arrays))


def l2_penalty_backward(weights, lam: float) -> list[np.ndarray]:
    """Gradient of :func:`l2_penalty` with respect to each weight matrix: ``lam * W_k``.

    Shapes and dtypes: one new array per input array, each of its shape and dtype, in a list
    in the same order. Added to the data gradient, ``grad + lam * W`` is the coupled L2 of
    ``torch.optim.SGD(weight_decay=lam)`` and ``torch.optim.Adam(weight_decay=lam)`` (under
    Adam it is *not* weight decay: see :func:`adamw`, Loshchilov & Hutter, 2019).
    Raises as :func:`l2_penalty`; never modifies the inputs.
    """
    arrays = _weight_list(weights, lam, "l2_penalty_backward")
    return [w * w.dtype.type(lam) for w in arrays]


def batch_norm(x, gamma, beta, running_mean, running_var, training: bool = True,
               momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalization over the batch axis of ``x (N, D)``.

    Training: ``mu = mean_n x``, ``var = mean_n (x - mu)**2`` (biased; both computed from
    ``x - x[0]``, so a constant feature gives ``var = 0`` exactly in any dtype),
    ``x_hat = (x - mu) / sqrt(var + eps)``, ``out = gamma * x_hat + beta``, and the running
    statistics move towards the batch's (PyTorch's convention, unbiased variance):
    ``rm' = (1 - momentum) rm + momentum mu``,
    ``rv' = (1 - momentum) rv + momentum var * N / (N - 1)``.
    Eval: the running statistics replace the batch's and are returned unchanged.

    Shapes: ``gamma, beta, running_mean, running_var (D,)``.
    Returns ``(out, cache, new_running_mean, new_running_var)``; ``cache`` feeds
    :func:`batch_norm_backward`. The inputs are never modified. ``ValueError`` if ``eps`` is
    not positive once cast to ``x``'s dtype.
    """
    x = _float(x, "x")
    if x.ndim != 2 or x.shape[1] != np.shape(gamma)[0]:
        raise ValueError(
            f"batch_norm: input of shape {x.shape} does not fit {np.shape(gamma)[0]} features; "
            f"expected (N, {np.shape(gamma)[0]})"
        )
    if not x.dtype.type(eps) > 0:  # e.g. 1e-50 is 0 in float32: a constant feature gives 0 / 0
        raise ValueError(f"batch_norm: eps must be positive in the input's dtype, got eps={eps}, "
                         f"which is {x.dtype.type(eps)} in {x.dtype}")
    if training:
        n = x.shape[0]
        if n < 2:
            raise ValueError(
                f"batch_norm: training needs at least 2 samples per batch, got input {x.shape}"
            )
        # Shifted data (Chan, Golub & LeVeque, 1983): average x - x[0], not x. The float32
        # mean of 256 copies of 1000.1 is off by ~1e-3, which x_hat magnified to ~1; shifted,
        # a constant feature centers to exactly 0 and a near-constant one keeps its digits.
        shift = x[0]
        centered = x - shift
        offset = centered.mean(axis=0)
        centered -= offset
        mu = shift + offset
        var = np.mean(centered * centered, axis=0)
        new_mean = (1 - momentum) * running_mean + momentum * mu
        new_var = (1 - momentum) * running_var + momentum * var * (n / (n - 1))
    else:
        centered = x - running_mean
        var = running_var
        new_mean, new_var = np.array(running_mean, copy=True), np.array(running_var, copy=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = centered * inv_std
    out = gamma * x_hat + beta
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "training": training}
    return out, cache, new_mean.astype(x.dtype, copy=False), new_var.astype(x.dtype, copy=False)


def batch_norm_backward(grad_out, cache):
    """Backward of :func:`batch_norm`. Returns ``(grad_x, grad_gamma, grad_beta)``.

    ``dL/dgamma = sum_n grad_out * x_hat``, ``dL/dbeta = sum_n grad_out``. In training mode
    the batch statistics depend on ``x``, which gives the compact form
    ``dL/dx = gamma * inv_std / N * (N g - sum_n g - x_hat * sum_n (g * x_hat))``;
    in eval mode ``dL/dx = gamma * inv_std * g``.
    """
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    grad_gamma = np.sum(grad_out * x_hat, axis=0)
    grad_beta = np.sum(grad_out, axis=0)
    if cache["training"]:
        n = grad_out.shape[0]
        grad_x = (gamma * inv_std / n) * (
            n * grad_out - grad_beta - x_hat * grad_gamma
        )
    else:
        grad_x = grad_out * (gamma * inv_std)
    return grad_x, grad_gamma, grad_beta


def layer_norm(x, gamma, beta, eps: float = 1e-5):
    """Layer normalization over the feature axis of ``x (N, D)`` (Ba, Kiros & Hinton, 2016;
    PyTorch's ``nn.LayerNorm(D)`` with ``elementwise_affine=True``).

    Per sample ``n``: ``mu_n = mean_d x[n, d]``, ``var_n = mean_d (x[n, d] - mu_n)**2``
    (biased, as PyTorch), ``x_hat = (x - mu_n) / sqrt(var_n + eps)``,
    ``out = gamma * x_hat + beta`` with ``gamma, beta`` of shape ``(D,)``. Unlike
    :func:`batch_norm` the statistics are the sample's own, so training and evaluation compute
    the same thing and there are no running statistics. The statistics are
    :func:`batch_norm`'s of ``x.T`` (shifted, so a constant row gives ``x_hat = 0`` exactly,
    also in float32); a single feature (``D = 1``) normalizes to 0.

    Shapes and dtypes: ``x (N, D)`` float32 or float64 (integers are cast to float64), the
    result in ``x``'s dtype. Returns ``(out, cache)``; ``cache`` (``x_hat (N, D)``,
    ``inv_std (N,)``, ``gamma``) feeds :func:`layer_norm_backward`. The inputs are never
    modified. Raises ``ValueError`` when ``x`` is not ``(N, D)`` with ``D = len(gamma)``, or
    when ``eps`` is not positive once cast to ``x``'s dtype.
    """
    x = _float(x, "x")
    if x.ndim != 2 or x.shape[1] != np.shape(gamma)[0] or np.shape(beta) != np.shape(gamma):
        raise ValueError(
            f"layer_norm: input of shape {x.shape} does not fit gamma {np.shape(gamma)} and "
            f"beta {np.shape(beta)}; expected x (N, D) with gamma and beta (D,)")
    if not x.dtype.type(eps) > 0:
        raise ValueError(f"layer_norm: eps must be positive in the input's dtype, got eps={eps}, "
                         f"which is {x.dtype.type(eps)} in {x.dtype}")
    n, d = x.shape
    if d == 1:   # x - mu is 0: batch_norm needs two values to average
        x_hat = np.zeros_like(x)
        inv_std = np.full(n, 1.0 / np.sqrt(x.dtype.type(eps)), dtype=x.dtype)
    else:
        unit, zero = np.ones(n, dtype=x.dtype), np.zeros(n, dtype=x.dtype)
        _, stats, _, _ = batch_norm(x.T, unit, zero, zero, unit, training=True, eps=eps)
        x_hat, inv_std = stats["x_hat"].T, stats["inv_std"]
    out = gamma * x_hat + beta
    return out, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}


def layer_norm_backward(grad_out, cache):
    """Backward of :func:`layer_norm`. Returns ``(grad_x, grad_gamma, grad_beta)``.

    ``dL/dgamma = sum_n grad_out * x_hat`` and ``dL/dbeta = sum_n grad_out`` (over the batch,
    shapes ``(D,)``); with ``g = grad_out * gamma``, per sample
    ``dL/dx = inv_std / D * (D g - sum_d g - x_hat * sum_d (g * x_hat))``: batch norm's
    training-mode formula along the feature axis instead of the batch axis (it is computed by
    :func:`batch_norm_backward` on the transposes). ``grad_x`` has ``grad_out``'s shape
    ``(N, D)``.
    """
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    grad_gamma = np.sum(grad_out * x_hat, axis=0)
    grad_beta = np.sum(grad_out, axis=0)
    transposed = {"x_hat": x_hat.T, "inv_std": inv_std, "gamma": np.ones_like(inv_std),
                  "training": True}
    grad_x = batch_norm_backward((grad_out * gamma).T, transposed)[0].T
    return grad_x, grad_gamma, grad_beta


# --------------------------------------------------------------------------------------------
# Optimizer update rules: state in, state out
# --------------------------------------------------------------------------------------------
# The textbook form of each rule, line for line the formula in its docstring: the form the
# course teaches and the hidden tests' expected values come from. The functions are pure:
# they return a new parameter and new state arrays and never write into their arguments.
# The optimizer classes run the same arithmetic through an in-place fast path
# (``scratchnn._fused``: no temporaries, bias corrections folded into scalars);
# tests/test_fused.py checks that the two agree step for step. Scalars such as ``1 - beta1``
# stay Python floats so that float32 arrays are updated in float32 (NumPy 2 promotion).

def sgd(param, grad, lr: float):
    """Plain gradient descent: ``param <- param - lr * grad``. Returns the new ``param``.

    Shapes: ``param`` and ``grad`` equal, any shape; the result has ``param``'s dtype.
    """
    return param - lr * grad


def momentum(param, grad, velocity, lr: float, beta: float = 0.9):
    """Heavy-ball momentum (PyTorch's form): ``v <- beta v + grad``, ``param <- param - lr v``.

    Returns ``(param, velocity)``. Start with ``velocity = zeros_like(param)``.
    """
    velocity = beta * velocity + grad
    return param - lr * velocity, velocity


def nesterov(param, grad, velocity, lr: float, beta: float = 0.9):
    """Nesterov momentum (PyTorch's form): ``v <- beta v + grad``,
    ``param <- param - lr (grad + beta v)``. Returns ``(param, velocity)``.
    """
    velocity = beta * velocity + grad
    return param - lr * (grad + beta * velocity), velocity


def rmsprop(param, grad, sq_avg, lr: float, rho: float = 0.99, eps: float = 1e-8):
    """RMSProp (Hinton's lecture 6e; PyTorch's form, eps outside the square root):
    ``s <- rho s + (1 - rho) grad**2``, ``param <- param - lr grad / (sqrt(s) + eps)``.

    Returns ``(param, sq_avg)``. Start with ``sq_avg = zeros_like(param)``.
    """
    sq_avg = rho * sq_avg + (1 - rho) * grad * grad
    return param - lr * grad / (np.sqrt(sq_avg) + eps), sq_avg


def adam(param, grad, m, v, t: int, lr: float = 1e-3, beta1: float = 0.9,
         beta2: float = 0.999, eps: float = 1e-8):
    """Adam (Kingma & Ba, 2015, Algorithm 1), with bias correction. ``t`` is the step number,
    starting at 1 (``ValueError`` otherwise).

    ``m <- b1 m + (1 - b1) grad``, ``v <- b2 v + (1 - b2) grad**2``,
    ``m_hat = m / (1 - b1**t)``, ``v_hat = v / (1 - b2**t)``,
    ``param <- param - lr m_hat / (sqrt(v_hat) + eps)``. Returns ``(param, m, v)``.
    """
    if t < 1:
        raise ValueError(f"adam: the step number t starts at 1, got {t}")
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adamw(param, grad, m, v, t: int, lr: float = 1e-3, beta1: float = 0.9,
          beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.01):
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    ``param <- param (1 - lr weight_decay)`` first, then the :func:`adam` step; the decay never
    enters ``m`` or ``v``. Returns ``(param, m, v)``.
    """
    return adam(param * (1 - lr * weight_decay), grad, m, v, t, lr, beta1, beta2, eps)


def adagrad(param, grad, sum_sq, lr: float = 0.01, eps: float = 1e-10):
    """Adagrad (Duchi, Hazan & Singer, 2011): each weight's step shrinks with the sum of its
    past squared gradients.

    ``sum_sq <- sum_sq + g**2``, ``param <- param - lr g / (sqrt(sum_sq) + eps)`` (PyTorch's
    ``Adagrad`` with its defaults ``lr=0.01``, ``eps=1e-10``, no learning-rate decay and an
    initial accumulator of 0). Returns ``(param, sum_sq)``.
    """
    sum_sq = sum_sq + grad * grad
    return param - lr * grad / (np.sqrt(sum_sq) + eps), sum_sq


def flush_to_zero(state, scratch=None):
    """Set the entries of ``state`` whose magnitude is below ``finfo.tiny * 2**40`` to zero,
    in place (float32: below ~1.3e-26; float64: below ~2.4e-296). Returns ``state``.

    Why: optimizer state decays geometrically where the gradient is zero (a dead ReLU unit
    makes ``m <- 0.9 m`` every step), and within a few hundred steps it reaches the
    *subnormal* range (below ``finfo.tiny``), where every CPU multiply and add takes a slow
    microcode path: one epoch of Adam became 3x slower. Values this small change no update
    (their step is ``lr * 1e-26 / eps`` at most), so zeroing them is harmless. The margin of
    ``2**40`` above ``tiny`` lets callers flush only every few steps: a value just above the
    threshold needs ``27.7 / ln(1 / decay)`` steps to turn subnormal (263 for 0.9).
    Other dtypes (float16 is computed in float32 by NumPy) are returned unchanged.
    ``scratch``: an optional float array shaped like ``state`` for the magnitudes.
    """
    if state.dtype not in (np.float32, np.float64):
        return state
    threshold = float(np.finfo(state.dtype).tiny) * 2.0 ** 40
    keep = np.abs(state, out=scratch)
    np.greater_equal(keep, threshold, out=keep)  # 1.0 / 0.0; NaN compares False but stays NaN
    state *= keep  # a multiply by the mask: branch-free, ~6x faster than np.copyto(where=)
    return state


def clip_grad_norm(grads, max_norm: float):
    """Scale a list of gradients so that their global L2 norm is at most ``max_norm``.

    ``norm = sqrt(sum_i ||g_i||**2)``; if ``norm > max_norm`` every ``g_i`` becomes
    ``g_i * max_norm / norm``. Returns ``(new_grads, norm)`` (the norm before clipping);
    the given arrays are not modified.
    """
    if max_norm <= 0:
        raise ValueError(f"clip_grad_norm: max_norm must be positive, got {max_norm}")
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    if norm <= max_norm:
        return [np.array(g, copy=True) for g in grads], norm
    scale = max_norm / norm
    return [g * scale for g in grads], norm
