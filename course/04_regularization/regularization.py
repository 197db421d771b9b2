# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: nbgrader,tags,-all
#     notebook_metadata_filter: kernelspec,jupytext,-all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Notebook 04 · Regularization
#
# **Overfitting made visible, and four ways to fight it: an L2 penalty, decoupled weight
# decay, inverted dropout and early stopping, each written by you and checked with your own
# gradient checker.**
#
# A network with enough parameters can learn its training set by heart. Give it 60
# handwritten digits and a hidden layer of 64 units: within a few dozen epochs it labels
# every training image correctly, with a training loss near zero, while its loss on images it
# has never seen starts to *rise*. That gap between training and validation is
# **overfitting**, and **regularization** is everything we do to close it without making the
# network smaller. In this notebook you watch it happen, then write the classic remedies one
# by one and see what each does to the two curves.
#
# ### Learning objectives
# By the end of this notebook you can:
# 1. recognise overfitting in training and validation curves, and say why a large network on
#    a small training set overfits;
# 2. add an L2 penalty $\frac{\lambda}{2}\sum_k \lVert W_k\rVert^2$ to a loss and its gradient
#    $\lambda W_k$ to the backward pass, and explain why biases are left out;
# 3. explain why L2 through the gradient is not weight decay under Adam, and what AdamW
#    changes, on a real network;
# 4. implement inverted dropout (forward with a scaled mask, backward with the same mask,
#    nothing at evaluation) and check that it preserves the expected activation;
# 5. gradient-check a regularised loss with your own checker, dropout included;
# 6. implement early stopping with patience, `min_delta` and best-weight restore, with the
#    same semantics as Keras' `EarlyStopping`.
#
# ### Time estimate
# About **3 hours**: 20 to 30 minutes per section, plus time for the widget. You can stop
# after any test cell.
#
# ### Prerequisites
# - Notebook 02 (backpropagation, gradient checking) and notebook 03 (Adam and AdamW). This
#   notebook gives you no network code and no optimizer: you bring **yours** (Exercises 1 and
#   2), so have your solutions of notebook 02 (Exercises 2 to 6 and 8) and notebook 03
#   (Exercises 5, 6 and 9) at hand.
# - NumPy: boolean masks, `rng.random(shape)`, dictionaries of arrays, `.copy()`.
#
# ### How this notebook works
# - Each **exercise** cell contains a function with `# YOUR CODE HERE` and
#   `raise NotImplementedError()`. Replace those two lines with your solution.
# - The **test cell** right after it checks your work. Run it: a ✅ means the visible tests
#   pass. When you submit, the grader also runs **hidden tests** on other shapes, seeds,
#   rates and curves, so write general code rather than code that fits the examples.
# - Do not rename the functions or change their arguments, and do not delete or copy the
#   exercise and test cells.
# - Use NumPy only. Calling the course library `scratchnn` in your solutions is flagged by the
#   grader; here it only provides the data and the widget, which runs **your** functions.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure every test
#   cell shows its ✅ (or press the **Validate** button).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import matplotlib.pyplot as plt
import numpy as np

# %matplotlib inline
np.set_printoptions(precision=6, suppress=True)
print("NumPy", np.__version__)

# %% nbgrader={"grade": false, "grade_id": "test-data", "locked": true, "schema_version": 3, "solution": false}
# What the test cells use (you do not need it in your code): a small network, 4 examples with
# 3 features, 5 hidden units (unit 1 is off for every example) and 3 classes.
def small_network():
    """A fresh copy of the test cells' small network: (params, X, y)."""
    rng = np.random.default_rng(4)
    params = {"W1": rng.normal(size=(3, 5)), "b1": rng.normal(size=5),
              "W2": rng.normal(size=(5, 3)), "b2": rng.normal(size=3)}
    return params, rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])


# Its scores, mean cross-entropy and gradients, without regularization
SMALL_SCORES = np.array([[-0.92907821, -1.02315011, 0.14164196],
                         [-2.27307288, -2.43370506, 1.55837409],
                         [-1.73231997, -0.23515942, 0.16906985],
                         [-1.32074238, -0.86148239, 0.76285629]])
SMALL_LOSS = 0.7234610371
SMALL_GRADS = {
    "W2": np.array([[-0.46867086, -0.20185089, 0.67052176], [0.0, 0.0, 0.0],
                    [0.03577559, 0.04817091, -0.0839465], [0.00553509, 0.00471371, -0.0102488],
                    [0.02709319, -0.07970405, 0.05261086]]),
    "b2": np.array([-0.14890406, -0.06930488, 0.21820894]),
    "W1": np.array([[-0.2402872, 0.0, 0.0008615, -0.01241449, 0.13022997],
                    [-0.24027662, 0.0, -0.15757911, 0.01035337, 0.07576213],
                    [0.12038082, 0.0, 0.04773201, 0.00885821, 0.0430865]]),
    "b1": np.array([0.22725806, 0.0, -0.09197595, -0.01458868, -0.17082696])}


def close(a, b, rtol=1e-6, atol=1e-7):
    """True if a and b have the same shape and close values."""
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=rtol, atol=atol)


# %% tags=["authoring"]
# Authoring only (tag "authoring"): this kind of cell never reaches the master or the release.
# It computes the hidden cases at render time (`make release`) and, run here in JupyterLab,
# lets the hidden tests below run in this kernel: each literal(...) becomes a literal in the
# master. MISTAKES collects the typical wrong solutions of each exercise: tests/test_mistakes.py
# checks that each one fails its test cell with a message that names it. See docs/authoring.md.
import copy

import numpy as np

from coursekit.hidden import draw, literal, short
from coursekit.mistakes import Corpus
from coursekit.preamble import (
    _float,
    _hidden_array,
    _hidden_call,
    _hidden_float,
    _hidden_make,
    _int,
    _list,
    _tuple,
    _type,
)
from scratchnn import functional as F
from scratchnn import gradcheck as G
from scratchnn.callbacks import EarlyStopping

MISTAKES = Corpus(globals())


def mistake_outputs(exercise, name, *args, want, pick=None, rtol=1e-6, atol=1e-9):
    """MISTAKES.outputs with the expected value given (a shorter call)."""
    return MISTAKES.outputs(exercise, name, *args, want=want, pick=pick, rtol=rtol, atol=atol)


def reference_network(params, X, y, lam=0.0, rate=0.0, rng=None):
    """Loss and gradients of the two-layer network with L2 (on W1, W2) and inverted dropout on
    the hidden activations, from scratchnn.functional: the reference of Exercises 1 and 6."""
    Z1 = F.dense(X, params["W1"], params["b1"])
    A1 = F.relu(Z1)
    D1, mask = F.dropout(A1, rate, rng, training=rate > 0)
    S = F.dense(D1, params["W2"], params["b2"])
    weights = [params["W1"], params["W2"]]
    loss = F.cross_entropy(S, y) + F.l2_penalty(weights, lam)
    dD1, dW2, db2 = F.dense_backward(F.cross_entropy_backward(S, y), D1, params["W2"])
    dZ1 = F.relu_backward(F.dropout_backward(dD1, mask), Z1)
    _, dW1, db1 = F.dense_backward(dZ1, X, params["W1"])
    gW1, gW2 = F.l2_penalty_backward(weights, lam)
    return S, loss, {"W1": dW1 + gW1, "b1": db1, "W2": dW2 + gW2, "b2": db2}


NET_KEYS = ["W2", "b2", "W1", "b1"]   # backward order: the first wrong gradient is named


def draw_network(seed, n, d, h, c):
    """Short-literal params {W1, b1, W2, b2}, X (n, d) and labels y (n,) from one seed."""
    rng = np.random.default_rng(seed)
    W1, b1, W2, b2, X = (short(rng.normal(size=s)) for s in [(d, h), h, (h, c), c, (n, d)])
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, X, rng.integers(0, c, size=n)


# %% [markdown]
# ## 1. Your tools: a network, a gradient checker and Adam
#
# Regularization changes the loss a network minimizes, so we need a network, its gradients,
# a way to check them and an optimizer. You wrote all of them already; they are the answers
# of notebooks 02 and 03, which is why no notebook of the course hands them out. You bring
# them here, and every curve of this notebook is computed by **your** code.
#
# ### Exercise 1: bring your network and your gradient checker from notebook 02 (2 points)
# Paste into the cell below your solutions of notebook 02, with the same names and
# arguments (and any helper of your own that they call):
#
# | function | notebook 02 | returns |
# |---|---|---|
# | `relu_backward(grad_out, x)` | Exercise 2 | $\partial L/\partial x$, of `x`'s shape |
# | `dense_backward(grad_out, X, W)` | Exercise 3 | `(dX, dW, db)` |
# | `softmax_cross_entropy(logits, labels)` | Exercise 4 | `(loss, dlogits)` |
# | `numerical_gradient(f, x, h=1e-5)` | Exercise 5 | the centred differences, of `x`'s shape |
# | `rel_error(a, b)` | Exercise 6 | a float |
# | `two_layer_forward(params, X)` | Exercise 8 | the scores $(N, C)$ |
# | `two_layer_loss_and_grads(params, X, y)` | Exercise 8 | `(loss, grads)` |
#
# The quickest way: copy your whole Exercise 9 cell of notebook 03 (it holds five of them),
# then add `numerical_gradient` and `rel_error`. `params` is the dict of notebook 02, with
# the keys `"W1"`, `"b1"`, `"W2"`, `"b2"`. The test checks each function on its own, in the
# order of the table's rows as you see them in the test; its message names the function to
# fix (fix it in notebook 02 too).

# %% nbgrader={"grade": false, "grade_id": "ex1-from-02", "locked": false, "schema_version": 3, "solution": true}
# Your functions from notebook 02 (its Exercises 2 to 6 and 8): paste them here.
def relu_backward(grad_out, x):
    """dL/dx for relu: grad_out where x > 0, 0 elsewhere (including x == 0)."""
    ### BEGIN SOLUTION
    return np.where(np.asarray(x) > 0, grad_out, 0.0)
    ### END SOLUTION


def dense_backward(grad_out, X, W):
    """Backward of Z = X @ W + b: returns (dX (N, d), dW (d, m), db (m,))."""
    ### BEGIN SOLUTION
    dX = grad_out @ W.T
    dW = X.T @ grad_out
    return dX, dW, np.sum(grad_out, axis=0)
    ### END SOLUTION


def softmax_cross_entropy(logits, labels):
    """(mean cross-entropy of softmax(logits), dlogits (N, C)) for integer labels (N,)."""
    ### BEGIN SOLUTION
    z = np.asarray(logits, dtype=float)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    picked = np.arange(z.shape[0]), np.asarray(labels)
    grad = np.exp(log_p)
    grad[picked] -= 1.0
    return float(-log_p[picked].mean()), grad / z.shape[0]
    ### END SOLUTION


def numerical_gradient(f, x, h=1e-5):
    """Centred differences (f(x + h e_i) - f(x - h e_i)) / 2h; x (any shape) left unchanged."""
    ### BEGIN SOLUTION
    work = np.array(x, dtype=float)
    grad = np.empty_like(work)
    for i in range(work.size):
        keep = work.flat[i]
        work.flat[i] = keep + h
        up = f(work)
        work.flat[i] = keep - h
        down = f(work)
        work.flat[i] = keep
        grad.flat[i] = (up - down) / (2 * h)
    return grad
    ### END SOLUTION


def rel_error(a, b):
    """max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|), as a float."""
    ### BEGIN SOLUTION
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.maximum(1e-8, np.abs(a) + np.abs(b))
    return float(np.max(np.abs(a - b) / scale))
    ### END SOLUTION


def two_layer_forward(params, X):
    """Scores (N, C) of X (N, d) -> dense -> ReLU -> dense."""
    ### BEGIN SOLUTION
    hidden = np.maximum(0.0, X @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"]
    ### END SOLUTION


def two_layer_loss_and_grads(params, X, y):
    """(mean cross-entropy, grads dict W1, b1, W2, b2) of the two-layer network."""
    ### BEGIN SOLUTION
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(0.0, Z1)
    loss, dS = softmax_cross_entropy(A1 @ params["W2"] + params["b2"], y)
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    _, dW1, db1 = dense_backward(relu_backward(dA1, Z1), X, params["W1"])
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    return loss, grads
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 1 and the hidden cases of its test. Each
# mistake is in one function; the test checks the functions one by one, in the order below.
MISTAKES.add("ex1-from-02", "relu gate open at x = 0", words="x = 0",
             message="relu_backward lets the gradient through where x = 0: the gate is x > 0",
             code="""
def relu_backward(grad_out, x):
    return grad_out * (np.asarray(x) >= 0)
""")
MISTAKES.add("ex1-from-02", "db is the mean", words=("dense_backward", "sum"),
             message="dense_backward's db is the mean of grad_out over the batch: it is the sum",
             code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W.T, X.T @ grad_out, grad_out.mean(axis=0)
""")
MISTAKES.add("ex1-from-02", "dW transposed", words=("dense_backward", "X.T @ grad_out"),
             message="dense_backward's dW is transposed: dW = X.T @ grad_out, of W's shape",
             code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W.T, grad_out.T @ X, grad_out.sum(axis=0)
""")
MISTAKES.add("ex1-from-02", "no max subtracted", words=("softmax_cross_entropy", "max"),
             code="""
def softmax_cross_entropy(logits, labels):
    e = np.exp(np.asarray(logits, dtype=float))
    p = e / e.sum(axis=1, keepdims=True)
    n = p.shape[0]
    loss = float(-np.mean(np.log(p[np.arange(n), labels])))
    p[np.arange(n), labels] -= 1.0
    return loss, p / n
""")
MISTAKES.add("ex1-from-02", "dlogits not divided by N", words=("softmax_cross_entropy", "N"),
             message="softmax_cross_entropy's dlogits is N times too large: (P - Y) / N",
             code="""
def softmax_cross_entropy(logits, labels):
    z = np.asarray(logits, dtype=float)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    n = z.shape[0]
    loss = float(-np.mean(np.log(p[np.arange(n), labels])))
    p[np.arange(n), labels] -= 1.0
    return loss, p
""")
MISTAKES.add("ex1-from-02", "forward without the ReLU", words=("two_layer_forward", "ReLU"),
             message="two_layer_forward has no ReLU between the layers",
             code="""
def two_layer_forward(params, X):
    return (X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
""")
MISTAKES.add("ex1-from-02", "grads returned as a list", words="dict", code="""
def two_layer_loss_and_grads(params, X, y):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(0.0, Z1)
    loss, dS = softmax_cross_entropy(A1 @ params["W2"] + params["b2"], y)
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    _, dW1, db1 = dense_backward(relu_backward(dA1, Z1), X, params["W1"])
    return loss, [dW1, db1, dW2, db2]
""")
MISTAKES.add("ex1-from-02", "one-sided difference", words=("numerical_gradient", "centred"),
             message="numerical_gradient is the one-sided difference (f(x + h) - f(x)) / h: "
                     "use the centred one, (f(x + h) - f(x - h)) / 2h", code="""
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad, f0 = np.zeros_like(x), f(x)
    for i in range(x.size):
        bumped = x.copy()
        bumped.flat[i] += h
        grad.flat[i] = (f(bumped) - f0) / h
    return grad
""")
MISTAKES.add("ex1-from-02", "rel_error without the floor", words=("rel_error", "1e-8"), code="""
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))
""")
MISTAKES.add("ex1-from-02", "rel_error without abs in the denominator", words="rel_error",
             message="rel_error divides by |a + b|: the denominator is |a| + |b| (floored at "
                     "1e-8)", code="""
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a + b))))
""")


def from_02_cases():
    """Hidden cases of Exercise 1, one list per function (seeds 401-409); each input with the
    expected output and the typical mistakes' outputs."""
    relu = []
    for seed, shape in [(401, (3, 4)), (402, (6,))]:
        g, x = draw(seed, shape, shape)
        x.flat[::3] = 0.0   # some inputs exactly at the kink
        want = F.relu_backward(g, x)
        relu.append((f"relu_backward on shape {shape}, some x exactly 0", g, x, want,
                     mistake_outputs("ex1-from-02", "relu_backward", g, x, want=want)))
    dense = []
    for seed, (n, d, m) in [(403, (5, 3, 2)), (404, (1, 4, 4))]:
        g, X, W = draw(seed, (n, m), (n, d), (d, m))
        want = F.dense_backward(g, X, W)
        dense.append((f"dense_backward with X {(n, d)}, W {(d, m)}", g, X, W, list(want),
                      [mistake_outputs("ex1-from-02", "dense_backward", g, X, W, want=want[k],
                                       pick=lambda r, k=k: r[k]) for k in range(3)]))
    ce = []
    for seed, (n, c), scale in [(405, (4, 3), 1.0), (406, (3, 5), 1e4)]:
        z = short(draw(seed, (n, c))[0] * scale)
        y = np.random.default_rng(seed).integers(0, c, size=n)
        loss, grad = F.cross_entropy(z, y), F.cross_entropy_backward(z, y)
        ce.append((f"softmax_cross_entropy of logits {(n, c)}" + (", scale 1e4" if scale > 1
                                                                  else ""), z, y, loss, grad,
                   mistake_outputs("ex1-from-02", "softmax_cross_entropy", z, y, want=loss,
                                   pick=lambda r: r[0]),
                   mistake_outputs("ex1-from-02", "softmax_cross_entropy", z, y, want=grad,
                                   pick=lambda r: r[1])))
    net = []
    for seed, (n, d, h, c) in [(407, (6, 4, 5, 3)), (408, (3, 2, 7, 4))]:
        params, X, y = draw_network(seed, n, d, h, c)
        S, loss, grads = reference_network(params, X, y)
        net.append((f"X {(n, d)}, {h} hidden units, {c} classes",
                    [params[k] for k in ("W1", "b1", "W2", "b2")], X, y, S,
                    mistake_outputs("ex1-from-02", "two_layer_forward", params, X, want=S),
                    loss, [grads[k] for k in NET_KEYS]))
    grad_cases = []
    for seed, shape, h in [(409, (2, 3), 1e-2), (410, (4,), 1e-3)]:
        x, c = draw(seed, shape, shape)

        def f(v, c=c):
            return float(np.sum(c * v ** 4))

        want = G.numerical_gradient(f, x, eps=h)
        grad_cases.append((f"numerical_gradient of sum(c x^4), x {shape}, h = {h:g}", x, c,
                           h, want, mistake_outputs("ex1-from-02", "numerical_gradient", f, x,
                                                    h, want=want, rtol=1e-7, atol=1e-9)))
    rel = []
    for seed, shape in [(411, (3, 2)), (412, (5,))]:
        a, b = draw(seed, shape, shape)
        b.flat[0], a.flat[1], b.flat[1] = -a.flat[0], 0.0, 0.0   # opposite signs; both zero
        want = G.rel_error(a, b)
        rel.append((f"rel_error of arrays {shape}, one pair of zeros, one of opposite signs",
                    a, b, want, mistake_outputs("ex1-from-02", "rel_error", a, b, want=want)))
    return relu, dense, ce, net, grad_cases, rel


# %% nbgrader={"grade": true, "grade_id": "ex1-from-02-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 1: each function on its own, in this order
got = relu_backward(np.array([[2.0, -1.0, 4.0]]), np.array([[0.5, 0.0, -3.0]]))
assert not close(got, [[2.0, -1.0, 0.0]]), (
    "relu_backward lets the gradient through where x = 0: the gate is x > 0 (ReLU's "
    "derivative at x = 0 is 0 in this course)")
assert close(got, [[2.0, 0.0, 0.0]]), (
    f"relu_backward(grad_out=[[2, -1, 4]], x=[[0.5, 0, -3]]) should be [[2, 0, 0]], got {got}")

G_out, X_in = np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([[1.0, 0.0, 2.0], [-1.0, 1.0, 0.0]])
W_in = np.array([[1.0, -1.0], [0.0, 2.0], [3.0, 1.0]])
got = dense_backward(G_out, X_in, W_in)
assert isinstance(got, tuple) and len(got) == 3, "dense_backward should return (dX, dW, db)"
assert np.shape(got[1]) == (3, 2), (
    f"dense_backward's dW should have W's shape (3, 2), got {np.shape(got[1])}: "
    f"dW = X.T @ grad_out")
assert not close(got[2], [0.5, 0.5]), (
    "dense_backward's db is the mean of grad_out over the batch: it is the sum (the 1/N of "
    "the loss is already in grad_out)")
for part, want, label in [(got[0], [[-1.0, 4.0, 5.0], [1.0, -2.0, -1.0]], "dX = grad_out @ W.T"),
                          (got[1], [[1.0, 3.0], [0.0, -1.0], [2.0, 4.0]], "dW = X.T @ grad_out"),
                          (got[2], [1.0, 1.0], "db = grad_out summed over the batch")]:
    assert close(part, want), f"dense_backward: {label} should be {want}, got {part}"

with np.errstate(over="raise", invalid="raise", divide="raise"):   # as the grader does
    try:
        got = softmax_cross_entropy(np.array([[0.0, 0.0, 0.0], [1000.0, 0.0, -1000.0]]),
                                    np.array([2, 0]))
    except FloatingPointError as err:
        raise AssertionError(
            f"softmax_cross_entropy overflowed on logits of 1000 ({err}): subtract each row's "
            f"max before np.exp") from None
assert isinstance(got, tuple) and len(got) == 2, (
    "softmax_cross_entropy should return (loss, dlogits)")
assert not close(got[1], [[1 / 3, 1 / 3, -2 / 3], [0.0, 0.0, 0.0]]), (
    "softmax_cross_entropy's dlogits is N times too large: (P - Y) / N, the loss is a mean")
assert np.isclose(got[0], np.log(3) / 2) and close(got[1], [[1 / 6, 1 / 6, -1 / 3], [0, 0, 0]]), (
    f"softmax_cross_entropy([[0, 0, 0], [1000, 0, -1000]], [2, 0]) should be (log(3) / 2, "
    f"[[1/6, 1/6, -1/3], [0, 0, 0]]), got {got}")

params, X_net, y_net = small_network()
scores = two_layer_forward(params, X_net)
assert np.shape(scores) == (4, 3), (
    f"two_layer_forward should return scores of shape (N, C) = (4, 3), got {np.shape(scores)}")
linear = (X_net @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
assert not close(scores, linear), (
    "two_layer_forward has no ReLU between the layers: A1 = ReLU(X W1 + b1)")
assert close(scores, SMALL_SCORES), (
    f"two_layer_forward on the small network should give\n{SMALL_SCORES}\ngot\n{scores}")

result = two_layer_loss_and_grads(params, X_net, y_net)
assert isinstance(result, tuple) and len(result) == 2, (
    "two_layer_loss_and_grads should return a tuple (loss, grads)")
loss, grads = result
assert isinstance(grads, dict) and set(grads) == {"W1", "b1", "W2", "b2"}, (
    f"two_layer_loss_and_grads: grads should be a dict with the keys 'W1', 'b1', 'W2', 'b2', "
    f"got {type(grads).__name__}")
assert np.isclose(loss, SMALL_LOSS), (
    f"two_layer_loss_and_grads: the loss of the small network should be {SMALL_LOSS}, got "
    f"{loss}")
for name in ["W2", "b2", "W1", "b1"]:   # in the order of the backward pass
    assert close(grads[name], SMALL_GRADS[name]), (
        f"two_layer_loss_and_grads: the gradient for {name} should be\n"
        f"{SMALL_GRADS[name]}\ngot\n{grads[name]}\n(hidden unit 1 is off for every "
        f"example: its column of dW1 is 0)")

x_sin, h = np.array([[0.5, -1.0], [2.0, 0.0]]), 1e-2
before = x_sin.copy()
got = numerical_gradient(lambda v: np.sum(np.sin(v)), x_sin, h)
assert np.array_equal(x_sin, before), "numerical_gradient left the caller's x changed"
assert np.shape(got) == (2, 2), (
    f"numerical_gradient should return an array of x's shape (2, 2), got {np.shape(got)}")
assert not close(got, (np.sin(x_sin + h) - np.sin(x_sin)) / h, rtol=1e-9, atol=1e-12), (
    "numerical_gradient is the one-sided difference (f(x + h) - f(x)) / h: use the centred "
    "one, (f(x + h) - f(x - h)) / 2h")
assert close(got, np.cos(x_sin) * np.sin(h) / h, rtol=1e-8, atol=1e-10), (
    f"numerical_gradient(sum(sin x), h=1e-2) should be the centred differences "
    f"cos(x) sin(h) / h = {np.cos(x_sin) * np.sin(h) / h}, got {got}")

with np.errstate(all="ignore"):
    got = rel_error(np.array([1.0, 0.0, 3.0]), np.array([1.5, 0.0, 3.0]))
assert np.isfinite(got), (
    f"rel_error([1, 0, 3], [1.5, 0, 3]) is {got}: where both values are 0 the denominator is "
    f"0; floor it at 1e-8, max(1e-8, |a| + |b|)")
assert np.isclose(got, 0.2), (
    f"rel_error([1, 0, 3], [1.5, 0, 3]) should be 0.5 / 2.5 = 0.2, got {got}")
got = rel_error(np.array([2.0, 1.0]), np.array([-2.0, 1.0]))
assert np.isclose(got, 1.0), (
    f"rel_error([2, 1], [-2, 1]) should be |2 - (-2)| / (|2| + |-2|) = 1, got {got}: the "
    f"denominator is |a| + |b|, not |a + b|")
print("✅ your functions from notebook 02 pass the visible tests.")
### BEGIN HIDDEN TESTS
# each function on cases it has not seen: the inputs, the expected outputs and (message,
# output) of the typical mistakes
_relu, _dense, _ce, _net, _grad_cases, _rel = literal(from_02_cases())
for _what, _g, _x, _want, _mistakes in _relu:
    _got = _hidden_call(relu_backward, (_hidden_make(_g), _hidden_make(_x)), _what)
    _hidden_array(_got, _want, _what, mistakes=_mistakes)
for _what, _g, _X, _W, _want, _mistakes in _dense:
    _got = _hidden_call(dense_backward, (_hidden_make(_g), _hidden_make(_X), _hidden_make(_W)),
                        _what)
    assert _type(_got) is _tuple and _got.__len__() == 3, (
        f"hidden case {_what}: dense_backward should return a tuple (dX, dW, db)")
    for _i, _label in [(0, "dX"), (1, "dW"), (2, "db")]:
        _hidden_array(_got[_i], _want[_i], f"{_label} of {_what}", mistakes=_mistakes[_i])
for _what, _z, _y, _loss, _grad, _loss_mistakes, _grad_mistakes in _ce:
    _got = _hidden_call(softmax_cross_entropy, (_hidden_make(_z), _hidden_make(_y, "i8")),
                        _what, "subtract each row's max before np.exp")
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: softmax_cross_entropy should return (loss, dlogits)")
    _hidden_float(_got[0], _loss, f"the loss of {_what}", mistakes=_loss_mistakes)
    _hidden_array(_got[1], _grad, f"dlogits of {_what}", mistakes=_grad_mistakes)
for _what, _p, _X, _y, _S, _S_mistakes, _loss, _grads in _net:
    _params = {"W1": _hidden_make(_p[0]), "b1": _hidden_make(_p[1]), "W2": _hidden_make(_p[2]),
               "b2": _hidden_make(_p[3])}
    _got = _hidden_call(two_layer_forward, (_params, _hidden_make(_X)),
                        f"two_layer_forward with {_what}")
    _hidden_array(_got, _S, f"two_layer_forward with {_what}", mistakes=_S_mistakes)
    _what = f"two_layer_loss_and_grads with {_what}"
    _got = _hidden_call(two_layer_loss_and_grads,
                        (_params, _hidden_make(_X), _hidden_make(_y, "i8")), _what)
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: should return a tuple (loss, grads)")
    assert _type(_got[1]) is {}.__class__ and _got[1].keys() == {"W1", "b1", "W2", "b2"}, (
        f"hidden case {_what}: grads should be a dict with exactly the keys W1, b1, W2, b2")
    _hidden_float(_got[0], _loss, f"the loss of {_what}")
    for _i, _key in [(0, "W2"), (1, "b2"), (2, "W1"), (3, "b1")]:
        _hidden_array(_got[1][_key], _grads[_i], f"the gradient for {_key} ({_what})")
for _what, _x, _c, _h, _want, _mistakes in _grad_cases:
    _coef = _hidden_make(_c)

    def _f(_v, _coef=_coef):
        return (_coef * _v ** 4).sum()

    _input = _hidden_make(_x)
    _got = _hidden_call(numerical_gradient, (_f, _input, _h), _what)
    _hidden_array(_got, _want, _what, rtol=1e-7, atol=1e-9, mistakes=_mistakes)
    assert _input.tolist() == _x, f"hidden case {_what}: x was left changed"
for _what, _a, _b, _want, _mistakes in _rel:
    _got = _hidden_call(rel_error, (_hidden_make(_a), _hidden_make(_b)), _what,
                        "floor the denominator at 1e-8: max(1e-8, |a| + |b|)")
    _hidden_float(_got, _want, _what, mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: bring your Adam and AdamW from notebook 03 (1 point)
# Paste your solutions of notebook 03's Exercises 5 and 6, with the same names and
# arguments (`lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8` and `weight_decay`):
#
# | function | notebook 03 | returns |
# |---|---|---|
# | `adam(param, grad, m, v, t, ..., weight_decay=0.0)` | Exercise 5 | `(param, m, v)`, new arrays |
# | `adamw(param, grad, m, v, t, ..., weight_decay=0.01)` | Exercise 6 | the same |
#
# Remember the difference, section 5 shows it on the digits: `adam`'s `weight_decay` is an L2
# term added to the gradient, `grad + weight_decay * param`, which then goes through $m$ and
# $v$; `adamw` shrinks the parameter by `1 - lr * weight_decay` and never lets the decay
# into $m$ or $v$.

# %% nbgrader={"grade": false, "grade_id": "ex2-from-03", "locked": false, "schema_version": 3, "solution": true}
# Your functions from notebook 03 (its Exercises 5 and 6): paste them here.
def adam(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    """Adam with bias correction (step t >= 1) and L2 added to the gradient.

    Returns (new_param, new_m, new_v), the moments uncorrected.
    """
    ### BEGIN SOLUTION
    g = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g ** 2
    step = (new_m / (1 - beta1 ** t)) / (np.sqrt(new_v / (1 - beta2 ** t)) + eps)
    return param - lr * step, new_m, new_v
    ### END SOLUTION


def adamw(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    """AdamW: shrink param by (1 - lr weight_decay), then an Adam step with the plain grad."""
    ### BEGIN SOLUTION
    shrunk = param * (1 - lr * weight_decay)
    return adam(shrunk, grad, m, v, t, lr, beta1, beta2, eps)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 2 and the hidden cases of its test.
ADAM_HEAD = """
def adam(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    g = grad + weight_decay * param
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g ** 2
"""
MISTAKES.add("ex2-from-03", "no bias correction", words=("adam", "bias correction"),
             message="adam took the step without bias correction: divide m by 1 - beta1**t "
                     "and v by 1 - beta2**t", code=ADAM_HEAD + """
    return param - lr * m / (np.sqrt(v) + eps), m, v
""")
MISTAKES.add("ex2-from-03", "eps inside the square root", words=("adam", "outside"),
             message="adam put eps inside the square root: sqrt(v_hat) + eps, eps outside",
             code=ADAM_HEAD + """
    return param - lr * (m / (1 - beta1 ** t)) / np.sqrt(v / (1 - beta2 ** t) + eps), m, v
""")
MISTAKES.add("ex2-from-03", "adam ignores weight_decay", words=("adam", "weight_decay"),
             message="adam ignored weight_decay: add weight_decay * param to the gradient",
             code="""
def adam(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return param - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps), m, v
""")
MISTAKES.add("ex2-from-03", "adamw with coupled decay", words=("adamw", "decoupled"),
             message="adamw sent the decay through the gradient (that is Adam + L2): AdamW's "
                     "decay is decoupled, param * (1 - lr * weight_decay)", code="""
def adamw(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return adam(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay)
""")
MISTAKES.add("ex2-from-03", "adamw decay without lr", words=("adamw", "lr * weight_decay"),
             message="adamw shrank the parameter by 1 - weight_decay: the factor is "
                     "1 - lr * weight_decay", code="""
def adamw(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return adam(param * (1 - weight_decay), grad, m, v, t, lr, beta1, beta2, eps)
""")


def optimizer_steps(fn, param, state, grads, t0, hyper):
    """Run fn for len(grads) steps from (param, state) at step t0: (param, [m, v])."""
    p, m, v = param, state[0], state[1]
    for i, g in enumerate(grads):
        p, m, v = fn(p, g, m, v, t0 + i, *hyper)
    return p, [m, v]


def from_03_cases():
    """Hidden cases of Exercise 2: 5 steps of adam and of adamw from drawn states (seeds
    421-424); the mistakes' final parameters for the hidden test to name."""
    references = {
        "adam": lambda p, g, m, v, t, lr, b1, b2, eps, wd: F.adam(p, g + wd * p, m, v, t, lr,
                                                                  b1, b2, eps),
        "adamw": lambda p, g, m, v, t, lr, b1, b2, eps, wd: F.adamw(p, g, m, v, t, lr, b1, b2,
                                                                    eps, wd)}
    out = []
    for name, seed, shape, t0, hyper in [
            ("adam", 421, (3, 2), 1, (0.01, 0.9, 0.999, 1e-8, 0.1)),
            ("adam", 422, (4,), 6, (0.05, 0.8, 0.99, 1e-6, 0.0)),
            ("adamw", 423, (2, 2), 1, (0.02, 0.9, 0.999, 1e-8, 0.5)),
            ("adamw", 424, (5,), 3, (0.1, 0.5, 0.9, 1e-8, 0.05))]:
        rng = np.random.default_rng(seed)
        param = short(rng.normal(size=shape))
        state = ([np.zeros(shape)] * 2 if t0 == 1 else
                 [short(rng.normal(size=shape)), short(rng.uniform(0.01, 1.0, size=shape))])
        grads = [short(rng.normal(scale=2.0, size=shape)) for _ in range(5)]
        want_p, want_s = optimizer_steps(references[name], param, state, grads, t0, hyper)
        mistakes = []
        for mistake in MISTAKES.of("ex2-from-03"):
            if name not in mistake.defines():
                continue
            wrong = optimizer_steps(MISTAKES.function(mistake, name), param, state, grads, t0,
                                    hyper)[0]
            if not np.allclose(wrong, want_p):
                mistakes.append((mistake.message, literal(wrong)))
        what = f"{name}, shape {shape}, steps t = {t0} to {t0 + 4}, hyper {hyper}"
        out.append((name, what, param, state, grads, t0, hyper, want_p, want_s, mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex2-from-03-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 2
p, g = np.array([2.0, -0.5]), np.array([1.0, -4.0])
m, v = np.array([0.2, 0.1]), np.array([0.5, 1.0])
result = adam(p, g, m, v, 3, 0.01, weight_decay=0.1)
assert isinstance(result, tuple) and len(result) == 3, (
    "adam should return a tuple (new_param, new_m, new_v)")
assert np.array_equal(p, [2.0, -0.5]) and np.array_equal(m, [0.2, 0.1]), (
    "adam changed its inputs in place")
for wrong, diagnosis in [
        ([1.995761341841, -0.496873982281], "adam took the step without bias correction: "
                                            "divide m by 1 - beta1**t and v by 1 - beta2**t"),
        ([1.999200478507, -0.499378411708], "adam ignored weight_decay: add weight_decay * "
                                            "param to the gradient")]:
    assert not close(result[0], wrong, rtol=1e-9, atol=1e-12), (
        f"adam at t = 3 gave {result[0]}: {diagnosis}")
assert close(result[0], [1.999143746121, -0.499368511287], rtol=1e-9, atol=1e-12), (
    f"adam([2, -0.5], [1, -4], m=[0.2, 0.1], v=[0.5, 1], t=3, lr=0.01, weight_decay=0.1) "
    f"should give param [1.999143746121, -0.499368511287], got {result[0]}")
assert close(result[1], [0.3, -0.315]) and close(result[2], [0.50094, 1.0154025]), (
    f"adam should return the raw moments m = [0.3, -0.315], v = [0.50094, 1.0154025], got "
    f"{result[1]}, {result[2]}")
tiny = adam(np.array([1.0]), np.array([1e-6]), np.zeros(1), np.zeros(1), 1, 0.1)[0]
assert not close(tiny, [0.99900005], rtol=1e-6), (
    "adam put eps inside the square root: with a gradient of 1e-6 the step is 100 times too "
    "small; use sqrt(v_hat) + eps, eps outside")
assert close(tiny, [0.9009901], rtol=1e-6), (
    f"adam's first step with a gradient of 1e-6 and lr=0.1 should be 0.1 * 1e-6 / (1e-6 + "
    f"1e-8), giving 0.9009901, got {tiny}")

result = adamw(p, g, m, v, 3, 0.01, weight_decay=0.5)
assert isinstance(result, tuple) and len(result) == 3, (
    "adamw should return a tuple (new_param, new_m, new_v)")
for wrong, diagnosis in [
        ([1.998918172513, -0.499328965052], "adamw sent the decay through the gradient (that "
                                            "is Adam + L2): AdamW's decay is decoupled, param "
                                            "* (1 - lr * weight_decay)"),
        ([0.999200478507, -0.249378411708], "adamw shrank the parameter by 1 - weight_decay: "
                                            "the factor is 1 - lr * weight_decay")]:
    assert not close(result[0], wrong, rtol=1e-9, atol=1e-12), (
        f"adamw at t = 3 gave {result[0]}: {diagnosis}")
assert close(result[0], [1.989200478507, -0.496878411708], rtol=1e-9, atol=1e-12) and (
    close(result[1], [0.28, -0.31])), (
    f"adamw([2, -0.5], [1, -4], m=[0.2, 0.1], v=[0.5, 1], t=3, lr=0.01, weight_decay=0.5) "
    f"should give param [1.989200478507, -0.496878411708] and m [0.28, -0.31], got "
    f"{result[0]}, {result[1]}")
print("✅ your adam and adamw pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: the function, what it tests, param, [m, v], 5 gradients, the first step t0,
# (lr, beta1, beta2, eps, weight_decay), the expected param and [m, v] after 5 steps, and
# (message, param after 5 steps) of typical mistakes
_cases = literal(from_03_cases())
for _name, _what, _p0, _s0, _grads, _t0, _hyper, _want, _want_s, _mistakes in _cases:
    _fn = adam if _name == "adam" else adamw
    _p = _first = _hidden_make(_p0)
    _m, _v, _t = _hidden_make(_s0[0]), _hidden_make(_s0[1]), _t0
    for _g in _grads:
        _got = _hidden_call(_fn, (_p, _hidden_make(_g), _m, _v, _t) + _hyper, _what)
        assert _type(_got) is _tuple and _got.__len__() == 3, (
            f"hidden case {_what}: should return a tuple (param, m, v)")
        _p, _m, _v = _got
        _t += 1
    assert _first.tolist() == _p0, f"hidden case {_what}: the parameter was changed in place"
    _hidden_array(_p, _want, f"the parameter after 5 steps of {_what}", mistakes=_mistakes)
    _hidden_array(_m, _want_s[0], f"m after 5 steps of {_what}")
    _hidden_array(_v, _want_s[1], f"v after 5 steps of {_what}")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Overfitting made visible
#
# We train on the 8x8 handwritten digits (scikit-learn's offline copy: 1,797 images, 10
# classes). To make overfitting obvious we keep only **60 training images** (6 per class on
# average) and hold out 300 others as a **validation set**, which the network never trains
# on. The network is your two-layer MLP with a hidden layer of **64** units: $64 \cdot 64 +
# 64 + 64 \cdot 10 + 10 = 4{,}810$ parameters for 60 examples, far more than the data can
# pin down.
#
# The read-only cell below defines `train_network`, a full-batch training loop (one epoch =
# one Adam step on all 60 images) that computes the gradients with a function you give it,
# `loss_and_grads(params, X, y) -> (loss, grads)`, updates every parameter with **your**
# `adam` (or your `adamw` for the weights, when `decoupled_decay` is set), and after every
# epoch measures the loss and accuracy on both sets with **your** `two_layer_forward` and
# `softmax_cross_entropy`. Every run starts from the same initial weights.

# %% nbgrader={"grade": false, "grade_id": "training", "locked": true, "schema_version": 3, "solution": false}
from scratchnn.datasets import load_digits

(X_pool, y_pool), (X_val, y_val) = load_digits(test_size=0.3, seed=0)
X_train, y_train = X_pool[:60].astype(float), y_pool[:60]
X_val, y_val = X_val[:300].astype(float), y_val[:300]
print(f"training set: X {X_train.shape}, {np.bincount(y_train).tolist()} images per class")
print(f"validation set: X {X_val.shape}")


def init_network(hidden=64, seed=0):
    """He-initialized weights, zero biases: {"W1": (64, hidden), "b1", "W2": (hidden, 10), "b2"}."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0.0, np.sqrt(2 / 64), size=(64, hidden)), "b1": np.zeros(hidden),
            "W2": rng.normal(0.0, np.sqrt(2 / hidden), size=(hidden, 10)), "b2": np.zeros(10)}


def evaluate(params, X, y, chunk=60):
    """(mean cross-entropy, accuracy) of the network on (X, y): evaluation mode, no dropout
    and no penalty, with your two_layer_forward (on chunks of 60 images: small matrix
    products run fast, even on a busy machine) and softmax_cross_entropy."""
    scores = np.concatenate([two_layer_forward(params, X[i:i + chunk])
                             for i in range(0, len(X), chunk)])
    return softmax_cross_entropy(scores, y)[0], float(np.mean(np.argmax(scores, axis=1) == y))


def train_network(loss_and_grads, epochs=100, lr=2e-2, decoupled_decay=0.0, snapshot_every=0):
    """Full-batch training of a fresh 64-64-10 network with your adam (your adamw for W1 and
    W2 when decoupled_decay > 0). loss_and_grads(params, X, y) -> (loss, grads). Returns a
    dict of per-epoch lists "train_loss", "val_loss", "train_acc", "val_acc", the final
    "params", and "snapshots": (epoch, copy of the params) every snapshot_every epochs."""
    params = init_network()
    state = {name: (np.zeros_like(p), np.zeros_like(p)) for name, p in params.items()}
    run = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": [], "snapshots": []}
    for t in range(1, epochs + 1):
        _, grads = loss_and_grads(params, X_train, y_train)
        for name in params:
            m, v = state[name]
            if decoupled_decay and name.startswith("W"):
                params[name], m, v = adamw(params[name], grads[name], m, v, t, lr,
                                           weight_decay=decoupled_decay)
            else:
                params[name], m, v = adam(params[name], grads[name], m, v, t, lr)
            state[name] = (m, v)
        for split, (X, y) in [("train", (X_train, y_train)), ("val", (X_val, y_val))]:
            loss, accuracy = evaluate(params, X, y)
            run[f"{split}_loss"].append(loss)
            run[f"{split}_acc"].append(accuracy)
        if snapshot_every and t % snapshot_every == 0:
            run["snapshots"].append((t, {name: p.copy() for name, p in params.items()}))
    run["params"] = params
    return run


# %% [markdown]
# Train it with no regularization at all: `two_layer_loss_and_grads` is your plain network.

# %%
plain = train_network(two_layer_loss_and_grads, snapshot_every=10)
best = int(np.argmin(plain["val_loss"]))
fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.2), constrained_layout=True)
epochs = np.arange(1, len(plain["val_loss"]) + 1)
for split in ("train", "val"):
    axes[0].plot(epochs, plain[f"{split}_loss"], label=f"{split}")
    axes[1].plot(epochs, plain[f"{split}_acc"], label=f"{split}")
axes[0].axvline(best + 1, color="gray", linestyle=":", label=f"best val epoch {best + 1}")
axes[0].set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0.5, 1.01))
axes[0].legend(fontsize="small")
axes[1].legend(fontsize="small")
plt.show()
print(f"lowest validation loss {plain['val_loss'][best]:.3f} at epoch {best + 1}; at the end "
      f"{plain['val_loss'][-1]:.3f} (train loss {plain['train_loss'][-1]:.1e}), validation "
      f"accuracy {plain['val_acc'][-1]:.1%}")

# %% [markdown]
# ### What the picture shows
# The training loss falls all the way to about $10^{-3}$: the network has memorized the 60
# images, and keeps pushing its scores for the right class ever higher. The validation loss
# falls for the first fifteen or so epochs, while the network learns what digits have in
# common, then **rises**: from there on each step fits details of the 60 images that do not
# carry over to new ones, and the network becomes ever more confident, including on the
# validation images it gets wrong. The validation *accuracy* stalls long before, around 85%.
#
# Every technique of this notebook changes what the training optimizes or when it stops, so
# that the validation curve stays low: a penalty on large weights (section 3), noise in the
# hidden layer (section 4), and stopping at the best epoch (section 6).

# %% [markdown]
# ## 3. The L2 penalty
#
# The overfit network reaches its tiny training loss by growing its weights: large weights
# make sharp, confident scores that can bend around every training image. **L2
# regularization** makes large weights cost something. It adds to the data loss a penalty
# on the squared size of every weight matrix:
#
# $$
# L(\theta) = L_\text{data}(\theta) + \frac{\lambda}{2} \sum_k \lVert W_k \rVert^2 ,
# \qquad \lVert W \rVert^2 = \sum_{i,j} W_{ij}^2 ,
# $$
#
# with a strength $\lambda \ge 0$ (`lam`; typical values $10^{-5}$ to $10^{-2}$). The
# optimizer now trades fitting the data against keeping the weights small, and the network
# that comes out is smoother: a small change of the input changes the scores less. (In
# probabilistic terms, the penalty is a Gaussian prior on the weights, and minimizing $L$
# is maximum a posteriori estimation.)
#
# Two conventions, both universal:
# - **Only the weight matrices** $W_k$ are penalized, **not the biases**. A bias moves a
#   unit's threshold; it does not let the network bend around individual points, and
#   forcing it to 0 can cripple a unit that needs a large offset.
# - The factor $\frac12$ is there so that the gradient is simply
#
# $$
# \frac{\partial}{\partial W_k} \frac{\lambda}{2} \lVert W_k \rVert^2 = \lambda\, W_k ,
# $$
#
# and with plain SGD the step $-\eta\,(g + \lambda W)$ is exactly 03's weight decay with
# `weight_decay` $= \lambda$ (the number PyTorch's `weight_decay` argument takes).
#
# ### Exercise 3: `l2_penalty` (1 point)
# `weights` is a **list** of arrays (any shapes; the caller passes the weight matrices only).
# Return $\frac{\lambda}{2} \sum_k \sum_{i,j} (W_k)_{ij}^2$ as one Python `float` (0.0 for an
# empty list). Do not modify the arrays.

# %% nbgrader={"grade": false, "grade_id": "ex3-l2-penalty", "locked": false, "schema_version": 3, "solution": true}
def l2_penalty(weights, lam):
    """0.5 * lam * (sum of the squares of every entry of every array in the list weights)."""
    ### BEGIN SOLUTION
    total = 0.0
    for W in weights:
        total += float(np.sum(np.square(W)))
    return 0.5 * lam * total
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 3 and the hidden cases of its test.
MISTAKES.add("ex3-l2-penalty", "no factor 1/2", words="1/2",
             message="the penalty is twice too large: it is (lam / 2) * sum of squares, the "
                     "1/2 is what makes the gradient lam * W", code="""
def l2_penalty(weights, lam):
    return lam * sum(float(np.sum(W ** 2)) for W in weights)
""")
MISTAKES.add("ex3-l2-penalty", "norm instead of squared norm", words="squared",
             message="the penalty used the norm ||W||, not the squared norm ||W||^2 = sum of "
                     "squares", code="""
def l2_penalty(weights, lam):
    return 0.5 * lam * sum(float(np.linalg.norm(W)) for W in weights)
""")
MISTAKES.add("ex3-l2-penalty", "mean instead of sum", words="sum",
             message="the penalty averaged the squares of each matrix: it is their sum",
             code="""
def l2_penalty(weights, lam):
    return 0.5 * lam * sum(float(np.mean(W ** 2)) for W in weights)
""")
MISTAKES.add("ex3-l2-penalty", "first matrix only", words="every",
             message="the penalty counted only the first matrix: sum over every matrix of the "
                     "list", code="""
def l2_penalty(weights, lam):
    return 0.5 * lam * float(np.sum(weights[0] ** 2))
""")
MISTAKES.add("ex3-l2-penalty", "absolute values (L1)", words="square",
             message="the penalty summed absolute values (that is L1): square the entries",
             code="""
def l2_penalty(weights, lam):
    return 0.5 * lam * sum(float(np.sum(np.abs(W))) for W in weights)
""")
MISTAKES.add("ex3-l2-penalty", "one value per matrix", words="single", code="""
def l2_penalty(weights, lam):
    return 0.5 * lam * np.array([np.sum(W ** 2) for W in weights])
""")


def l2_cases():
    """Hidden cases of Exercise 3 (seeds 431-433): what, the arrays, lam, the dtype code, the
    expected penalty and the mistakes' outputs."""
    out = []
    for seed, shapes, lam, dtype in [(431, [(5, 3)], 0.01, "f8"),
                                     (432, [(4, 6), (6, 2), (2, 1)], 0.5, "f8"),
                                     (433, [(3, 3), (3,)], 1e-3, "f4")]:
        arrays = draw(seed, *shapes)
        cast = [a.astype(np.float32 if dtype == "f4" else np.float64) for a in arrays]
        want = F.l2_penalty(cast, lam)
        what = f"{len(shapes)} arrays of shapes {shapes} ({dtype}), lam = {lam:g}"
        out.append((what, arrays, lam, dtype, want,
                    mistake_outputs("ex3-l2-penalty", "l2_penalty", cast, lam, want=want)))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex3-l2-penalty-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 3
weights = [np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[2.0], [0.0], [-2.0]])]
got = l2_penalty(weights, 0.1)
assert np.ndim(got) == 0, (
    f"l2_penalty should return a single float, the sum over every matrix, got an array of "
    f"shape {np.shape(got)}")
for wrong, diagnosis in [
        (2.3, "the penalty is twice too large: it is (lam / 2) * sum of squares, the 1/2 is what "
              "makes the gradient lam * W"),
        (0.33507052, "the penalty used the norm ||W||, not the squared norm ||W||^2 = sum of "
                     "squares"),
        (0.32083333, "the penalty averaged the squares of each matrix: it is their sum"),
        (0.75, "the penalty counted only the first matrix: sum over every matrix of the list"),
        (0.55, "the penalty summed absolute values (that is L1): square the entries")]:
    assert not np.isclose(got, wrong), f"l2_penalty(weights, 0.1) gave {got}: {diagnosis}"
assert np.isclose(got, 1.15), (
    f"l2_penalty([[[1, 2], [3, -1]], [[2], [0], [-2]]], lam=0.1) should be 0.05 * (15 + 8) = "
    f"1.15, got {got}")
assert np.array_equal(weights[0], [[1.0, 2.0], [3.0, -1.0]]), "l2_penalty changed its input"
assert l2_penalty([], 0.1) == 0.0 and l2_penalty(weights, 0.0) == 0.0, (
    "l2_penalty should be 0.0 for an empty list and for lam = 0")
print("✅ l2_penalty passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, the arrays, lam, their dtype, the expected penalty and (message,
# output) of typical mistakes
for _what, _arrays, _lam, _dtype, _want, _mistakes in literal(l2_cases()):
    _weights = [_hidden_make(_a, _dtype) for _a in _arrays]
    _got = _hidden_call(l2_penalty, (_weights, _lam), f"l2_penalty of {_what}")
    _hidden_float(_got, _want, f"l2_penalty of {_what}", rtol=1e-5, mistakes=_mistakes)
    assert _weights[0].astype(_float).tolist() == _hidden_make(_arrays[0], _dtype).astype(
        _float).tolist(), f"hidden case {_what}: l2_penalty changed its input"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: `l2_penalty_backward` (1 point)
# Return the gradient of `l2_penalty(weights, lam)` with respect to each array: a **list** of
# new arrays $\lambda W_k$, in the order of `weights`. Do not modify the arrays you receive
# (the caller adds these to the data gradients: writing into `weights` would change the
# network's weights behind the optimizer's back).

# %% nbgrader={"grade": false, "grade_id": "ex4-l2-backward", "locked": false, "schema_version": 3, "solution": true}
def l2_penalty_backward(weights, lam):
    """[lam * W for each W in weights]: the gradient of l2_penalty, new arrays."""
    ### BEGIN SOLUTION
    return [lam * W for W in weights]
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 4 and the hidden cases of its test.
MISTAKES.add("ex4-l2-backward", "2 lam W", words="1/2",
             message="the gradient is 2 * lam * W: the 1/2 of the penalty cancels the 2 of the "
                     "square, it is lam * W", code="""
def l2_penalty_backward(weights, lam):
    return [2 * lam * W for W in weights]
""")
MISTAKES.add("ex4-l2-backward", "lam / 2 W", words="lam / 2",
             message="the gradient is lam / 2 * W: the derivative of (lam / 2) W^2 is lam * W",
             code="""
def l2_penalty_backward(weights, lam):
    return [0.5 * lam * W for W in weights]
""")
MISTAKES.add("ex4-l2-backward", "wrong sign", words="sign",
             message="the gradient has the wrong sign: the penalty grows with |W|, its gradient "
                     "is +lam * W", code="""
def l2_penalty_backward(weights, lam):
    return [-lam * W for W in weights]
""")
MISTAKES.add("ex4-l2-backward", "scales the weights in place", words="in place", code="""
def l2_penalty_backward(weights, lam):
    for W in weights:
        W *= lam
    return weights
""")
MISTAKES.add("ex4-l2-backward", "one flat array", words="list", code="""
def l2_penalty_backward(weights, lam):
    return lam * np.concatenate([W.ravel() for W in weights])
""")


def l2_backward_cases():
    """Hidden cases of Exercise 4 (seeds 441-442): what, the arrays, lam, the expected
    gradients and, per array, the mistakes' outputs."""
    out = []
    for seed, shapes, lam in [(441, [(3, 4), (4, 2)], 0.05), (442, [(6,), (2, 2), (1, 3)], 2.0)]:
        arrays = draw(seed, *shapes)
        want = F.l2_penalty_backward(arrays, lam)
        out.append((f"arrays of shapes {shapes}, lam = {lam:g}", arrays, lam, want,
                    [mistake_outputs("ex4-l2-backward", "l2_penalty_backward", arrays, lam,
                                     want=want[k], pick=lambda r, k=k: r[k])
                     for k in range(len(shapes))]))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex4-l2-backward-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 4
weights = [np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[2.0], [0.0], [-2.0]])]
got = l2_penalty_backward(weights, 0.1)
assert np.array_equal(weights[0], [[1.0, 2.0], [3.0, -1.0]]) and (
    np.array_equal(weights[1], [[2.0], [0.0], [-2.0]])), (
    "l2_penalty_backward changed the weights in place (W *= lam): return new arrays, lam * W")
assert isinstance(got, list) and len(got) == 2, (
    f"l2_penalty_backward should return a list with one gradient per array (2 here), got "
    f"{type(got).__name__}")
assert all(np.shape(g) == np.shape(W) for g, W in zip(got, weights)), (
    f"each gradient should have its array's shape, (2, 2) and (3, 1), got "
    f"{[np.shape(g) for g in got]}")
for factor, diagnosis in [
        (0.2, "the gradient is 2 * lam * W: the 1/2 of the penalty cancels the 2 of the square, "
              "it is lam * W"),
        (0.05, "the gradient is lam / 2 * W: the derivative of (lam / 2) W^2 is lam * W"),
        (-0.1, "the gradient has the wrong sign: the penalty grows with |W|, its gradient is "
               "+lam * W")]:
    assert not all(close(g, factor * W) for g, W in zip(got, weights)), (
        f"l2_penalty_backward(weights, 0.1) gave {factor} * W: {diagnosis}")
assert close(got[0], [[0.1, 0.2], [0.3, -0.1]]) and close(got[1], [[0.2], [0.0], [-0.2]]), (
    f"l2_penalty_backward(weights, 0.1) should be [0.1 * W1, 0.1 * W2], got {got}")
print("✅ l2_penalty_backward passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, the arrays, lam, the expected gradients, and per array (message,
# output) of typical mistakes
for _what, _arrays, _lam, _want, _mistakes in literal(l2_backward_cases()):
    _weights = [_hidden_make(_a) for _a in _arrays]
    _got = _hidden_call(l2_penalty_backward, (_weights, _lam), f"l2_penalty_backward of {_what}")
    assert _type(_got) is _list and _got.__len__() == _arrays.__len__(), (
        f"hidden case {_what}: l2_penalty_backward should return a list, one gradient per array")
    _i = 0
    for _w in _weights:
        assert _w.tolist() == _arrays[_i], f"hidden case {_what}: the weights were changed"
        _hidden_array(_got[_i], _want[_i], f"gradient {_i} of {_what}", mistakes=_mistakes[_i])
        _i += 1
### END HIDDEN TESTS

# %% [markdown]
# ### See it: the overfit network's weights grow
# `train_network` kept a copy of the plain network's weights every 10 epochs. Your
# `l2_penalty` with $\lambda = 1$ measures their size, $\frac12 \sum \lVert W \rVert^2$, and the
# validation loss is plotted alongside. Memorizing the training set is done by growing the
# weights, long after the validation loss stopped improving.

# %%
marks = [epoch for epoch, _ in plain["snapshots"]]
sizes = [l2_penalty([p["W1"], p["W2"]], 1.0) for _, p in plain["snapshots"]]
fig, ax = plt.subplots(figsize=(6.0, 3.0), constrained_layout=True)
ax.plot(marks, sizes, "o-", label=r"$\frac{1}{2}\sum_k \|W_k\|^2$ (your l2_penalty)")
ax.set(xlabel="epoch", ylabel="size of the weights")
twin = ax.twinx()
twin.plot(np.arange(1, len(plain["val_loss"]) + 1), plain["val_loss"], color="tab:orange",
          label="validation loss")
twin.set_ylabel("validation loss")
fig.legend(loc="center right", bbox_to_anchor=(0.85, 0.5), fontsize="small")
plt.show()

# %% [markdown]
# ## 4. Inverted dropout
#
# **Dropout** (Srivastava, Hinton et al., 2014) regularizes with noise. During training,
# every hidden unit of every example is switched off with probability $p$ (the **rate**), a
# new random choice at every step. The network can no longer rely on any one unit, or on a
# fragile conspiracy of units that only work together: each must be useful on its own, in
# whatever company the draw leaves it. You can see it as training, at once, an ensemble of
# $2^{\text{units}}$ thinned networks that share their weights.
#
# Switching units off lowers the *expected* input of the next layer by the factor $1 - p$.
# **Inverted dropout**, the form every framework uses, compensates during training, by
# scaling the units it keeps up by $\frac{1}{1 - p}$:
#
# $$
# u_{ij} \sim \mathcal U[0, 1) , \qquad
# \text{mask}_{ij} = \frac{\mathbb 1[u_{ij} < 1 - p]}{1 - p} , \qquad
# \text{out} = x \odot \text{mask} ,
# $$
#
# so that $\mathbb E[\text{out}_{ij}] = (1 - p) \cdot \frac{x_{ij}}{1 - p} + p \cdot 0 =
# x_{ij}$: the expected activation is unchanged, and at **evaluation** dropout does nothing
# at all (out = x). (The original paper scaled the other way round: no scaling in training,
# and every weight multiplied by $1 - p$ at test time. Same expectation, but every
# deployment must remember to scale; inverted dropout keeps the trained network usable as
# it is.)
#
# The backward pass is that of an elementwise product with a constant:
# $\partial L / \partial x = \partial L / \partial \text{out} \odot \text{mask}$, with the
# **same mask** that the forward pass drew. A fresh mask in the backward pass would give the
# gradient of another network than the one whose loss you computed.
#
# Two naming traps: `rate` $= p$ is the probability of **dropping** a unit (PyTorch's `p`,
# Keras' `rate`); some older texts and TensorFlow 1's `keep_prob` use the probability of
# keeping it, $1 - p$.
#
# ### Exercise 5: `dropout` and `dropout_backward` (3 points)
# `dropout(x, rate, rng=None, training=True)` returns `(out, mask)`, both of `x`'s shape and
# dtype:
# - raise `ValueError` unless $0 \le$ `rate` $< 1$;
# - when `training` is true and `rate > 0`: draw `u = rng.random(x.shape)` (one call, exactly
#   so: the tests, and notebook 06, expect the same units dropped for the same generator),
#   keep the units where `u < 1 - rate`, and return `mask` $= \mathbb 1[u < 1 - p] / (1 - p)$
#   as an array of `x`'s dtype, and `out = x * mask`;
# - otherwise (evaluation, or `rate == 0`): return a copy of `x` and a mask of ones (`rng`
#   may then be `None`);
# - never modify `x`.
#
# `dropout_backward(grad_out, mask)` returns $\partial L / \partial x$.

# %% nbgrader={"grade": false, "grade_id": "ex5-dropout", "locked": false, "schema_version": 3, "solution": true}
def dropout(x, rate, rng=None, training=True):
    """Inverted dropout. Returns (out, mask): mask = 1[u < 1 - rate] / (1 - rate) with
    u = rng.random(x.shape) when training with rate > 0, else ones; out = x * mask."""
    ### BEGIN SOLUTION
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    x = np.asarray(x)
    if not training or rate == 0.0:
        return x.copy(), np.ones_like(x)
    keep = 1.0 - rate
    mask = ((rng.random(x.shape) < keep) / keep).astype(x.dtype)
    return x * mask, mask
    ### END SOLUTION


def dropout_backward(grad_out, mask):
    """dL/dx of out = x * mask: grad_out times the same (scaled) mask."""
    ### BEGIN SOLUTION
    return grad_out * mask
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 5 and the hidden cases of its test.
DROPOUT_HEAD = """
def dropout(x, rate, rng=None, training=True):
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    x = np.asarray(x)
    if not training or rate == 0.0:
        return x.copy(), np.ones_like(x)
    keep = 1.0 - rate
"""
MISTAKES.add("ex5-dropout", "rate used as the keep probability", words="probability of dropping",
             message="dropout kept each unit with probability rate: rate is the probability of "
                     "dropping a unit, keep where u < 1 - rate", code=DROPOUT_HEAD + """
    mask = ((rng.random(x.shape) < rate) / rate).astype(x.dtype)
    return x * mask, mask
""")
MISTAKES.add("ex5-dropout", "keeps where u > rate", words="u < 1 - rate",
             message="dropout kept the units where u > rate: keep where u < 1 - rate, with u = "
                     "rng.random(x.shape)", code=DROPOUT_HEAD + """
    mask = ((rng.random(x.shape) > rate) / keep).astype(x.dtype)
    return x * mask, mask
""")
MISTAKES.add("ex5-dropout", "no scaling", words="not scaled",
             message="the kept units were not scaled: inverted dropout divides them by 1 - rate "
                     "during training", code=DROPOUT_HEAD + """
    mask = (rng.random(x.shape) < keep).astype(x.dtype)
    return x * mask, mask
""")
MISTAKES.add("ex5-dropout", "multiplied by 1 - rate", words="divides by 1 - rate",
             message="the kept units were multiplied by 1 - rate: inverted dropout divides by "
                     "1 - rate", code=DROPOUT_HEAD + """
    mask = ((rng.random(x.shape) < keep) * keep).astype(x.dtype)
    return x * mask, mask
""")
MISTAKES.add("ex5-dropout", "scaling at eval instead of train", words=("evaluation", "inverted"),
             code="""
def dropout(x, rate, rng=None, training=True):
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    x = np.asarray(x)
    if not training:
        return x * (1 - rate), np.full_like(x, 1 - rate)
    if rate == 0.0:
        return x.copy(), np.ones_like(x)
    mask = (rng.random(x.shape) < 1 - rate).astype(x.dtype)
    return x * mask, mask
""")
MISTAKES.add("ex5-dropout", "drops at evaluation too", words="training=False", code="""
def dropout(x, rate, rng=None, training=True):
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    x = np.asarray(x)
    if rate == 0.0:
        return x.copy(), np.ones_like(x)
    mask = ((rng.random(x.shape) < 1 - rate) / (1 - rate)).astype(x.dtype)
    return x * mask, mask
""")
MISTAKES.add("ex5-dropout", "writes into x", words="in place", code=DROPOUT_HEAD + """
    mask = ((rng.random(x.shape) < keep) / keep).astype(x.dtype)
    x *= mask
    return x, mask
""")
MISTAKES.add("ex5-dropout", "float64 mask for float32 x", words="dtype", code=DROPOUT_HEAD + """
    mask = (rng.random(x.shape) < keep) / keep
    return x * mask, mask
""")
MISTAKES.add("ex5-dropout", "no check of rate", words="ValueError", code="""
def dropout(x, rate, rng=None, training=True):
    x = np.asarray(x)
    if not training or rate == 0.0:
        return x.copy(), np.ones_like(x)
    keep = 1.0 - rate
    with np.errstate(all="ignore"):
        mask = ((rng.random(x.shape) < keep) / keep).astype(x.dtype)
    return x * mask, mask
""")
MISTAKES.add("ex5-dropout", "backward with a 0/1 mask", words="scaled mask",
             message="dropout_backward used a 0/1 mask: multiply by the scaled mask itself",
             code="""
def dropout_backward(grad_out, mask):
    return grad_out * (mask > 0)
""")
MISTAKES.add("ex5-dropout", "backward ignores the mask", words="mask",
             message="dropout_backward returned grad_out unchanged: multiply it by the mask",
             code="""
def dropout_backward(grad_out, mask):
    return grad_out.copy()
""")


def dropout_cases():
    """Hidden cases of Exercise 5 (seeds 451-455): what, x, rate, the generator's seed,
    training, dtype code, the expected out and mask, the mistakes' outputs for out; and cases
    of dropout_backward."""
    forward = []
    for seed, shape, rate, training, dtype in [(451, (6, 5), 0.5, True, "f8"),
                                               (452, (3, 7), 0.1, True, "f8"),
                                               (453, (4, 4, 2), 0.8, True, "f8"),
                                               (454, (20, 3), 0.25, True, "f4"),
                                               (455, (5, 3), 0.6, False, "f8")]:
        x = draw(seed, shape)[0]
        cast = x.astype(np.float32 if dtype == "f4" else np.float64)
        out, mask = F.dropout(cast, rate, np.random.default_rng(seed), training=training)
        what = f"dropout of x {shape} ({dtype}), rate {rate}, training={training}"
        forward.append((what, x, rate, seed, training, dtype, out, mask,
                        mistake_outputs("ex5-dropout", "dropout", cast, rate,
                                        np.random.default_rng(seed), training, want=out,
                                        pick=lambda r: r[0], rtol=1e-5)))
    backward = []
    for seed, shape, rate in [(456, (4, 6), 0.5), (457, (3, 2), 0.2)]:
        g = draw(seed, shape)[0]
        mask = F.dropout(np.ones(shape), rate, np.random.default_rng(seed))[1]
        want = F.dropout_backward(g, mask)
        backward.append((f"dropout_backward on shape {shape}, rate {rate}", g, mask, want,
                         mistake_outputs("ex5-dropout", "dropout_backward", g, mask,
                                         want=want)))
    return forward, backward


# %% nbgrader={"grade": true, "grade_id": "ex5-dropout-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 5
x = np.arange(1.0, 13.0).reshape(3, 4)
out, mask = dropout(x, 0.3, np.random.default_rng(0), training=False)   # evaluation first
assert not close(out, 0.7 * x), (
    "dropout scaled the activations at evaluation (training=False) by 1 - rate: that is the "
    "original dropout; inverted dropout scales the kept units during training and does "
    "nothing at evaluation")
assert close(out, x) and close(mask, np.ones((3, 4))), (
    "with training=False no unit may be dropped: dropout should return (a copy of x, a mask "
    "of ones)")
out, mask = dropout(x, 0.0)
assert close(out, x) and close(mask, np.ones((3, 4))), (
    "dropout(x, rate=0) should return (a copy of x, a mask of ones), without needing rng")

u = np.random.default_rng(0).random((3, 4))   # the draws of rng.random(x.shape) with seed 0
out, mask = dropout(x, 0.3, np.random.default_rng(0))
assert np.array_equal(x, np.arange(1.0, 13.0).reshape(3, 4)), (
    "dropout changed x in place (x *= mask): return a new array, x * mask")
assert isinstance(out, np.ndarray) and out.shape == (3, 4) and np.shape(mask) == (3, 4), (
    f"dropout should return (out, mask), two arrays of x's shape (3, 4), got shapes "
    f"{np.shape(out)}, {np.shape(mask)}")
kept = out != 0
assert not np.array_equal(kept, u < 0.3), (
    "dropout kept each unit with probability rate: rate is the probability of dropping a "
    "unit (PyTorch's p, Keras' rate), keep where u < 1 - rate")
assert not np.array_equal(kept, u > 0.3), (
    "dropout kept the units where u > rate: keep where u < 1 - rate, with u = "
    "rng.random(x.shape), so that the same generator drops the same units as the tests")
assert np.array_equal(kept, u < 0.7), (
    f"dropout(x, 0.3, rng) should keep the units where u < 1 - rate = 0.7, with u = "
    f"rng.random(x.shape) drawn once:\nexpected kept\n{(u < 0.7).astype(int)}\ngot\n"
    f"{kept.astype(int)}")
assert not close(out[kept], x[kept]), (
    "the kept units were not scaled: inverted dropout divides them by 1 - rate during "
    "training, so that the expected activation stays x")
assert not close(out[kept], 0.7 * x[kept]), (
    "the kept units were multiplied by 1 - rate: inverted dropout divides by 1 - rate")
assert close(out, x * (u < 0.7) / 0.7), (
    f"dropout(x, 0.3, rng) should be x / 0.7 where kept, 0 elsewhere, got\n{out}")
assert close(mask, (u < 0.7) / 0.7), (
    f"mask should be the scaled mask that multiplies x, 1 / 0.7 where kept and 0 elsewhere, "
    f"got\n{mask}")
out32, mask32 = dropout(x.astype(np.float32), 0.3, np.random.default_rng(0))
assert out32.dtype == np.float32 and mask32.dtype == np.float32, (
    f"dropout of a float32 x returned out of dtype {out32.dtype} and mask of dtype "
    f"{mask32.dtype}: keep x's dtype (make the mask with .astype(x.dtype))")
for bad in (1.0, 1.5, -0.1):
    try:
        with np.errstate(all="ignore"):
            dropout(x, bad, np.random.default_rng(0))
    except ValueError:
        continue
    raise AssertionError(
        f"dropout(x, rate={bad}) should raise ValueError: rate must be in [0, 1) (rate = 1 "
        f"would drop every unit and divide by 0)")
ones = np.full((200, 500), 2.0)
mean = dropout(ones, 0.4, np.random.default_rng(1))[0].mean()
assert abs(mean - 2.0) < 0.02, (
    f"the expected activation is not preserved: x = 2 everywhere gives a mean output of "
    f"{mean:.3f} with rate 0.4, expected about 2")

g = np.array([[1.0, -2.0], [3.0, 4.0]])
mask = np.array([[0.0, 2.0], [2.0, 0.0]])   # rate 0.5: the kept units are scaled by 2
got = dropout_backward(g, mask)
assert not close(got, [[0.0, -2.0], [3.0, 0.0]]), (
    "dropout_backward used a 0/1 mask: multiply by the scaled mask itself (the forward "
    "pass multiplied x by it)")
assert close(got, [[0.0, -4.0], [6.0, 0.0]]), (
    f"dropout_backward(grad_out, mask) should be grad_out * mask = [[0, -4], [6, 0]], got {got}")
print("✅ dropout and dropout_backward pass the visible tests.")
### BEGIN HIDDEN TESTS
# forward cases: what, x, rate, the generator's seed, training, dtype code, the expected out
# and mask, (message, out) of typical mistakes; backward cases: what, grad_out, mask, the
# expected gradient, (message, output) of typical mistakes
import numpy as _numpy_random

_forward, _backward = literal(dropout_cases())
for _what, _x, _rate, _seed, _training, _dtype, _out, _mask, _mistakes in _forward:
    _input = _hidden_make(_x, _dtype)
    _rng = _numpy_random.random.default_rng(_seed)
    _got = _hidden_call(dropout, (_input, _rate, _rng, _training), _what)
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: dropout should return a tuple (out, mask)")
    assert _input.astype(_float).tolist() == _hidden_make(_x, _dtype).astype(_float).tolist(), (
        f"hidden case {_what}: dropout changed x in place")
    _hidden_array(_got[0], _out, f"out of {_what}", rtol=1e-5, mistakes=_mistakes)
    _hidden_array(_got[1], _mask, f"mask of {_what}", rtol=1e-5)
    assert _got[0].dtype.str == _input.dtype.str, (
        f"hidden case {_what}: out should keep x's dtype {_input.dtype.str}, got "
        f"{_got[0].dtype.str}")
for _what, _g, _m, _want, _mistakes in _backward:
    _got = _hidden_call(dropout_backward, (_hidden_make(_g), _hidden_make(_m)), _what)
    _hidden_array(_got, _want, _what, mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### See it: the expected activation is preserved
# Below, your `dropout` runs 2,000 times (2,000 draws of the mask) on the same 40 activations
# $x$, at two rates. Each single output is either 0 or $x / (1 - p)$, far from $x$ (left: one
# draw); the average over the draws lies on the line $\mathbb E[\text{out}] = x$ (right), and
# in evaluation mode the output is $x$ itself.

# %%
x_demo = np.linspace(0.05, 2.0, 40)
rng = np.random.default_rng(2)
fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.2), constrained_layout=True, sharey=True)
for rate, color in [(0.2, "tab:blue"), (0.6, "tab:red")]:
    draws = np.array([dropout(x_demo, rate, rng)[0] for _ in range(2000)])
    axes[0].plot(x_demo, draws[0], "o", color=color, markersize=3, label=f"rate {rate}")
    axes[1].plot(x_demo, draws.mean(axis=0), "o", color=color, markersize=3,
                 label=f"rate {rate}: mean of 2000 draws")
axes[1].plot(x_demo, dropout(x_demo, 0.6, rng, training=False)[0], "k-", linewidth=1,
             label="training=False: out = x")
axes[0].set(title="one draw", xlabel="x", ylabel="out")
axes[1].set(title="average over the draws", xlabel="x")
for ax in axes:
    ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# ## 5. A regularised network, checked with your own checker
#
# Now put the pieces together. The network of notebook 02, with dropout on its hidden
# layer and an L2 penalty on its two weight matrices, computes during training
#
# $$
# \begin{aligned}
# Z_1 &= X W_1 + \mathbf b_1 , \quad A_1 = \mathrm{ReLU}(Z_1) , \quad
# D_1 = \mathrm{dropout}(A_1) , \quad S = D_1 W_2 + \mathbf b_2 , \\
# L &= \mathrm{CE}(S, y) + \frac{\lambda}{2}\left(\lVert W_1\rVert^2 + \lVert W_2\rVert^2\right) ,
# \end{aligned}
# $$
#
# and the backward pass runs through the same steps in reverse: the second layer's input is
# now $D_1$, dropout's backward pass (with the mask of the forward pass) sits between the
# two layers, and the penalty adds $\lambda W_k$ to the gradient of each weight matrix
# (not to the biases). At evaluation the network is the one of notebook 02 without any
# change: that is the point of *inverted* dropout, and why `evaluate` calls your
# `two_layer_forward`.
#
# ### Exercise 6: `regularized_loss_and_grads` (3 points)
# Return `(loss, grads)` as `two_layer_loss_and_grads` does (the loss includes the penalty,
# `grads` is a dict with the keys `"W1"`, `"b1"`, `"W2"`, `"b2"`), for the network above in
# **training** mode: call your `dropout` **once**, on $A_1$, with `rate`, `rng` and
# `training=True` (with `rate=0` it keeps every unit), and your `l2_penalty` and
# `l2_penalty_backward` on `[W1, W2]`. Use your functions of Exercises 1 to 5; do not
# modify `params`.

# %% nbgrader={"grade": false, "grade_id": "ex6-regularized-network", "locked": false, "schema_version": 3, "solution": true}
def regularized_loss_and_grads(params, X, y, lam=0.0, rate=0.0, rng=None):
    """(loss, grads) of the two-layer network with inverted dropout (rate, rng) on the hidden
    activations and an L2 penalty lam on W1 and W2, in training mode."""
    ### BEGIN SOLUTION
    W1, W2 = params["W1"], params["W2"]
    Z1 = X @ W1 + params["b1"]
    A1 = np.maximum(0.0, Z1)
    D1, mask = dropout(A1, rate, rng, training=True)
    data_loss, dS = softmax_cross_entropy(D1 @ W2 + params["b2"], y)
    loss = data_loss + l2_penalty([W1, W2], lam)
    dD1, dW2, db2 = dense_backward(dS, D1, W2)
    dZ1 = relu_backward(dropout_backward(dD1, mask), Z1)
    _, dW1, db1 = dense_backward(dZ1, X, W1)
    gW1, gW2 = l2_penalty_backward([W1, W2], lam)
    return loss, {"W1": dW1 + gW1, "b1": db1, "W2": dW2 + gW2, "b2": db2}
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 6 and the hidden cases of its test. Each is
# the solution with one step changed (REG_STEPS: the solution's steps by name).
REG_STEPS = {
    "forward": """
    W1, W2 = params["W1"], params["W2"]
    Z1 = X @ W1 + params["b1"]
    A1 = np.maximum(0.0, Z1)
    D1, mask = dropout(A1, rate, rng, training=True)""",
    "loss": """
    data_loss, dS = softmax_cross_entropy(D1 @ W2 + params["b2"], y)
    loss = data_loss + l2_penalty([W1, W2], lam)""",
    "second": """
    dD1, dW2, db2 = dense_backward(dS, D1, W2)""",
    "first": """
    dZ1 = relu_backward(dropout_backward(dD1, mask), Z1)
    _, dW1, db1 = dense_backward(dZ1, X, W1)""",
    "penalty": """
    gW1, gW2 = l2_penalty_backward([W1, W2], lam)
    return loss, {"W1": dW1 + gW1, "b1": db1, "W2": dW2 + gW2, "b2": db2}"""}


def reg_variant(**changed):
    """The solution with some of its steps (REG_STEPS) replaced."""
    steps = {**REG_STEPS, **changed}
    return ("def regularized_loss_and_grads(params, X, y, lam=0.0, rate=0.0, rng=None):"
            + "".join(steps[k] for k in REG_STEPS) + "\n")


MISTAKES.add("ex6-regularized-network", "a new mask in backward", words="same mask",
             message="the backward pass drew a new dropout mask: reuse the mask of the forward "
                     "pass (call dropout once)", code=reg_variant(first="""
    _, mask = dropout(A1, rate, rng, training=True)
    dZ1 = relu_backward(dropout_backward(dD1, mask), Z1)
    _, dW1, db1 = dense_backward(dZ1, X, W1)"""))
MISTAKES.add("ex6-regularized-network", "penalty missing from the loss", words="l2_penalty",
             message="the loss has no penalty: add l2_penalty([W1, W2], lam) to the data loss",
             code=reg_variant(loss="""
    loss, dS = softmax_cross_entropy(D1 @ W2 + params["b2"], y)"""))
MISTAKES.add("ex6-regularized-network", "penalty gradient missing", words="lam * W",
             message="the weight gradients miss the penalty's lam * W: add "
                     "l2_penalty_backward([W1, W2], lam)", code=reg_variant(penalty="""
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}"""))
MISTAKES.add("ex6-regularized-network", "biases penalized", words="biases",
             message="the biases were penalized: L2 applies to W1 and W2 only",
             code=reg_variant(loss="""
    data_loss, dS = softmax_cross_entropy(D1 @ W2 + params["b2"], y)
    loss = data_loss + l2_penalty([W1, params["b1"], W2, params["b2"]], lam)""", penalty="""
    gW1, gb1, gW2, gb2 = l2_penalty_backward([W1, params["b1"], W2, params["b2"]], lam)
    return loss, {"W1": dW1 + gW1, "b1": db1 + gb1, "W2": dW2 + gW2, "b2": db2 + gb2}"""))
MISTAKES.add("ex6-regularized-network", "dropout in evaluation mode", words="training=True",
             message="no unit was dropped: call your dropout with training=True (this is the "
                     "training loss)", code=reg_variant(forward="""
    W1, W2 = params["W1"], params["W2"]
    Z1 = X @ W1 + params["b1"]
    A1 = np.maximum(0.0, Z1)
    D1, mask = dropout(A1, rate, rng, training=False)"""))
MISTAKES.add("ex6-regularized-network", "dropout on the input", words="hidden activations",
             message="the loss with dropout is wrong: dropout goes on the hidden activations "
                     "A1 = ReLU(Z1), not on the input", code=reg_variant(forward="""
    W1, W2 = params["W1"], params["W2"]
    X, mask = dropout(X, rate, rng, training=True)
    Z1 = X @ W1 + params["b1"]
    A1 = np.maximum(0.0, Z1)
    D1 = A1""", first="""
    dZ1 = relu_backward(dD1, Z1)
    _, dW1, db1 = dense_backward(dZ1, X, W1)"""))
MISTAKES.add("ex6-regularized-network", "dW2 from the undropped A1", words="D1",
             message="the gradient for W2 used A1: the second layer's input is the dropped D1",
             code=reg_variant(second="""
    dD1, dW2, db2 = dense_backward(dS, A1, W2)"""))
MISTAKES.add("ex6-regularized-network", "mask not applied in backward",
             words="dropout_backward",
             message="the gradient for W1 ignores the dropout mask: dA1 = "
                     "dropout_backward(dD1, mask)", code=reg_variant(first="""
    dZ1 = relu_backward(dD1, Z1)
    _, dW1, db1 = dense_backward(dZ1, X, W1)"""))


def regularized_cases():
    """Hidden cases of Exercise 6 (seeds 461-463): what, [W1, b1, W2, b2], X, y, lam, rate,
    the generator's seed, the expected loss and mistakes' losses, the expected gradients (in
    NET_KEYS order) and the mistakes' gradients."""
    out = []
    for seed, (n, d, h, c), lam, rate in [(461, (6, 4, 5, 3), 0.05, 0.0),
                                          (462, (5, 3, 8, 4), 0.0, 0.4),
                                          (463, (7, 2, 6, 3), 0.2, 0.7)]:
        params, X, y = draw_network(seed, n, d, h, c)
        _, loss, grads = reference_network(params, X, y, lam, rate, np.random.default_rng(seed))
        args = (params, X, y, lam, rate, np.random.default_rng(seed))
        what = f"X {(n, d)}, {h} hidden units, {c} classes, lam = {lam}, rate = {rate}"
        out.append((what, [params[k] for k in ("W1", "b1", "W2", "b2")], X, y, lam, rate, seed,
                    loss, mistake_outputs("ex6-regularized-network",
                                          "regularized_loss_and_grads", *args, want=loss,
                                          pick=lambda r: r[0]),
                    [grads[k] for k in NET_KEYS],
                    [mistake_outputs("ex6-regularized-network", "regularized_loss_and_grads",
                                     *args, want=grads[k], pick=lambda r, k=k: r[1][k])
                     for k in NET_KEYS]))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex6-regularized-network-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 6
params, X_net, y_net = small_network()
saved = {name: p.copy() for name, p in params.items()}
result = regularized_loss_and_grads(params, X_net, y_net)
assert isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict) and (
    set(result[1]) == {"W1", "b1", "W2", "b2"}), (
    "regularized_loss_and_grads should return (loss, grads), grads a dict with the keys "
    "'W1', 'b1', 'W2', 'b2'")
loss0, grads0 = result
assert np.isclose(loss0, SMALL_LOSS) and all(close(grads0[k], SMALL_GRADS[k]) for k in grads0), (
    "with lam = 0 and rate = 0, regularized_loss_and_grads should give the loss and gradients "
    "of the plain network (your two_layer_loss_and_grads passes on this network if Exercise "
    "1 passed): check the forward and backward steps without dropout and penalty first")

loss, grads = regularized_loss_and_grads(params, X_net, y_net, lam=0.1)
assert all(np.array_equal(params[k], saved[k]) for k in params), (
    "regularized_loss_and_grads changed params in place")
penalty = 0.05 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
assert not np.isclose(loss, loss0), (
    "with lam = 0.1 the loss did not change: add l2_penalty([W1, W2], lam) to the data loss")
assert not np.isclose(loss, loss0 + penalty + 0.05 * (np.sum(params["b1"] ** 2) + np.sum(
    params["b2"] ** 2))), "the biases were penalized: L2 applies to W1 and W2 only"
assert np.isclose(loss, loss0 + penalty), (
    f"with lam = 0.1 the loss should be the data loss plus l2_penalty([W1, W2], 0.1), "
    f"{loss0 + penalty:.10f}, got {loss} (if your l2_penalty fails its own test, fix it first)")
for name in ("b1", "b2"):
    assert close(grads[name], grads0[name]), (
        f"the gradient for {name} changed with lam: the biases were penalized, L2 applies "
        f"to W1 and W2 only")
for name in ("W2", "W1"):
    assert not close(grads[name], grads0[name]), (
        f"the gradient for {name} did not change with lam = 0.1: the weight gradients miss "
        f"the penalty's lam * W, add l2_penalty_backward([W1, W2], lam)")
    assert close(grads[name] - grads0[name], 0.1 * params[name]), (
        f"with lam = 0.1 the gradient for {name} should grow by exactly lam * W (the "
        f"gradient of the penalty), it grew by\n{grads[name] - grads0[name]}")

rng = np.random.default_rng(5)
loss, grads = regularized_loss_and_grads(params, X_net, y_net, rate=0.5, rng=rng)
assert not np.isclose(loss, loss0), (
    "with rate = 0.5 the loss is that of the plain network: no unit was dropped; call your "
    "dropout with training=True (this is the training loss)")
assert np.isclose(loss, 0.5262109526), (
    f"with rate = 0.5 and rng = default_rng(5) the loss should be 0.5262109526, got {loss}: "
    f"dropout goes on the hidden activations A1 = ReLU(Z1), with one call of your dropout")
check = np.random.default_rng(5)
check.random((4, 5))   # the one draw of the mask
assert rng.random() == check.random(), (
    "the generator was used more than once: a new dropout mask was drawn in the backward "
    "pass; the backward pass must use the same mask as the forward pass (call dropout once)")
want = {"W2": [[5.02289e-05, 3.82062e-05, -8.84351e-05], [0.0, 0.0, 0.0],
               [0.0595014773, 0.167469386, -0.226970864], [3.42297e-05, 2.60365e-05, -6.02662e-05],
               [0.0340739709, 0.0959868402, -0.130060811]],
        "b2": [0.01808704, 0.05946857, -0.07755561],
        "W1": [[-5.03652e-05, 0.0, 0.0416827867, -7.53913e-05, -0.0046401841],
               [4.20033e-05, 0.0, -0.651650405, 6.28744e-05, 0.0724502266],
               [3.59375e-05, 0.0, 0.16039162, 5.37945e-05, -0.017826540]],
        "b1": [-5.91859e-05, 0.0, -0.316713687, -8.85949e-05, 0.0352022337]}
hints = {"W2": "the second layer's input is the dropped D1 (dW2 = D1.T @ dS), not A1",
         "b2": "db2 is dS summed over the batch",
         "W1": "between the layers, dA1 = dropout_backward(dD1, mask) with the forward "
               "pass's mask, then relu_backward",
         "b1": "db1 is dZ1 summed over the batch"}
for name in ["W2", "b2", "W1", "b1"]:
    assert close(grads[name], want[name]), (
        f"with rate = 0.5 the gradient for {name} should be\n{np.array(want[name])}\ngot\n"
        f"{grads[name]}\n{hints[name]}")
print("✅ regularized_loss_and_grads passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, [W1, b1, W2, b2], X, y, lam, rate, the generator's seed, the
# expected loss and (message, loss) of typical mistakes, the gradients for W2, b2, W1, b1 and,
# per gradient, (message, output) of typical mistakes
import numpy as _numpy_random

for _case in literal(regularized_cases()):
    _what, _p, _X, _y, _lam, _rate, _seed, _loss, _loss_mistakes, _grads, _mistakes = _case
    _params = {"W1": _hidden_make(_p[0]), "b1": _hidden_make(_p[1]), "W2": _hidden_make(_p[2]),
               "b2": _hidden_make(_p[3])}
    _got = _hidden_call(regularized_loss_and_grads,
                        (_params, _hidden_make(_X), _hidden_make(_y, "i8"), _lam, _rate,
                         _numpy_random.random.default_rng(_seed)), _what)
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: should return a tuple (loss, grads)")
    assert _type(_got[1]) is {}.__class__ and _got[1].keys() == {"W1", "b1", "W2", "b2"}, (
        f"hidden case {_what}: grads should be a dict with exactly the keys W1, b1, W2, b2")
    _hidden_float(_got[0], _loss, f"the loss of {_what}", mistakes=_loss_mistakes)
    for _i, _key in [(0, "W2"), (1, "b2"), (2, "W1"), (3, "b1")]:
        _hidden_array(_got[1][_key], _grads[_i], f"the gradient for {_key} ({_what})",
                      mistakes=_mistakes[_i])
    assert _params["W1"].tolist() == _p[0] and _params["W2"].tolist() == _p[2], (
        f"hidden case {_what}: changed params in place")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 7: `gradient_check` (2 points)
# A backward pass with three more terms in it deserves a check, and you have the tools: your
# `numerical_gradient` and `rel_error` from notebook 02. Write the check for a whole model:
# `loss_and_grads(params)` is any function of a dict of arrays that returns `(loss, grads)`
# with `grads` a dict of the same keys; for every key, compare `grads[name]` with the
# numerical gradient of the loss with respect to `params[name]` alone (every other array
# fixed), with step `h`, and return a dict `{name: rel_error}`.
#
# Evaluate the loss with respect to one array as `loss_and_grads({**params, name: v})[0]`:
# `{**params, name: v}` is a new dict in which `v` replaces that one array, so `params`
# itself is never changed (and `[0]` keeps the loss, a number, which is all that
# `numerical_gradient` wants).

# %% nbgrader={"grade": false, "grade_id": "ex7-gradient-check", "locked": false, "schema_version": 3, "solution": true}
def gradient_check(loss_and_grads, params, h=1e-5):
    """{name: rel_error(analytic gradient, numerical gradient with step h)} for every array of
    params; loss_and_grads(params) -> (loss, grads dict). params is left unchanged."""
    ### BEGIN SOLUTION
    _, grads = loss_and_grads(params)
    errors = {}
    for name in params:
        def loss_of(v, name=name):
            return loss_and_grads({**params, name: v})[0]

        errors[name] = rel_error(grads[name], numerical_gradient(loss_of, params[name], h))
    return errors
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 7 and the hidden cases of its test.
MISTAKES.add("ex7-gradient-check", "the tuple handed to numerical_gradient", words="[0]",
             code="""
def gradient_check(loss_and_grads, params, h=1e-5):
    _, grads = loss_and_grads(params)
    return {name: rel_error(grads[name], numerical_gradient(
        lambda v, name=name: loss_and_grads({**params, name: v}), params[name], h))
        for name in params}
""")
MISTAKES.add("ex7-gradient-check", "writes into params", words="{**params, name: v}", code="""
def gradient_check(loss_and_grads, params, h=1e-5):
    _, grads = loss_and_grads(params)
    errors = {}
    for name in params:
        def loss_of(v):
            params[name] = v
            return loss_and_grads(params)[0]
        errors[name] = rel_error(grads[name], numerical_gradient(loss_of, params[name], h))
    return errors
""")
MISTAKES.add("ex7-gradient-check", "one number instead of a dict", words="dict", code="""
def gradient_check(loss_and_grads, params, h=1e-5):
    _, grads = loss_and_grads(params)
    return max(rel_error(grads[name], numerical_gradient(
        lambda v, name=name: loss_and_grads({**params, name: v})[0], params[name], h))
        for name in params)
""")
MISTAKES.add("ex7-gradient-check", "ignores h", words="step h",
             message="the check ignored the step h: pass h to numerical_gradient", code="""
def gradient_check(loss_and_grads, params, h=1e-5):
    _, grads = loss_and_grads(params)
    return {name: rel_error(grads[name], numerical_gradient(
        lambda v, name=name: loss_and_grads({**params, name: v})[0], params[name]))
        for name in params}
""")
MISTAKES.add("ex7-gradient-check", "perturbs the gradient", words="params[name]",
             message="the numerical gradient was taken at the analytic gradient: perturb "
                     "params[name], the point where grads were computed", code="""
def gradient_check(loss_and_grads, params, h=1e-5):
    _, grads = loss_and_grads(params)
    return {name: rel_error(grads[name], numerical_gradient(
        lambda v, name=name: loss_and_grads({**params, name: v})[0], grads[name], h))
        for name in params}
""")


def cubic_model(ca, cb, fa, fb):
    """loss_and_grads of L = sum(ca a^3) + sum(cb b^3), its gradients scaled by fa and fb
    (1: right; otherwise a planted bug)."""
    def loss_and_grads(p):
        a, b = p["a"], p["b"]
        return float(np.sum(ca * a ** 3) + np.sum(cb * b ** 3)), {"a": 3.0 * fa * ca * a * a,
                                                                 "b": 3.0 * fb * cb * b * b}
    return loss_and_grads


def gradient_check_cases():
    """Hidden cases of Exercise 7 (seeds 471-473): what, a, b, ca, cb, fa, fb, h, the expected
    errors for a and b (from scratchnn.gradcheck) and the mistakes' outputs for each."""
    out = []
    for seed, (sa, sb), (fa, fb), h in [(471, ((3,), (2, 2)), (1.0, 1.5), 1e-2),
                                        (472, ((2, 3), (4,)), (0.5, 1.0), 1e-1),
                                        (473, ((5,), (1,)), (1.0, 1.0), 3e-2)]:
        rng = np.random.default_rng(seed)
        a, b = (short(rng.uniform(0.5, 2.0, size=s) * rng.choice([-1, 1], size=s))
                for s in (sa, sb))
        ca, cb = short(rng.normal(size=sa)), short(rng.normal(size=sb))
        model = cubic_model(ca, cb, fa, fb)
        params = {"a": a, "b": b}
        grads = model(params)[1]
        want = [G.rel_error(grads[k], G.numerical_gradient(
            lambda v, k=k, model=model, params=params: model({**params, k: v})[0], params[k],
            eps=h)) for k in "ab"]
        what = (f"a {sa}, b {sb}, gradients scaled by {fa} and {fb} (1: right), h = {h:g}")
        out.append((what, a, b, ca, cb, fa, fb, h, want,
                    [mistake_outputs("ex7-gradient-check", "gradient_check", model, params, h,
                                     want=want[i], pick=lambda r, k=k: r[k], rtol=1e-4,
                                     atol=1e-12) for i, k in enumerate("ab")]))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex7-gradient-check-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 7
def toy(p):   # L = sum(a^2 b), with its right gradients
    a, b = p["a"], p["b"]
    return float(np.sum(a ** 2 * b)), {"a": 2 * a * b, "b": a ** 2}


def toy_bug(p):   # the same with the gradient for b doubled
    loss, grads = toy(p)
    return loss, {"a": grads["a"], "b": 2 * grads["b"]}


p_toy = {"a": np.array([1.0, -2.0, 0.5]), "b": np.array([3.0, 1.0, -1.0])}
arrays = dict(p_toy)
try:
    errors = gradient_check(toy, p_toy)
except TypeError as err:
    raise AssertionError(
        f"gradient_check raised TypeError ({err}): the function you give numerical_gradient "
        f"must return the loss alone, a number: loss_and_grads({{**params, name: v}})[0]"
    ) from None
assert all(p_toy[k] is arrays[k] for k in arrays) and all(
    np.array_equal(p_toy[k], v) for k, v in [("a", [1.0, -2.0, 0.5]), ("b", [3.0, 1.0, -1.0])]), (
    "gradient_check changed params (params[name] = v, or writing into its arrays): evaluate "
    "the loss on a new dict, {**params, name: v}")
assert isinstance(errors, dict) and set(errors) == {"a", "b"}, (
    f"gradient_check should return a dict {{name: relative error}} with the keys of params, "
    f"got {errors!r}")
assert all(errors[k] < 1e-7 for k in errors), (
    f"with the right gradients of sum(a^2 b) every relative error should be below 1e-7, got "
    f"{errors}: compare grads[name] with your numerical_gradient of the loss taken at "
    f"params[name], the point where grads were computed")
errors = gradient_check(toy_bug, p_toy)
assert errors["a"] < 1e-7 and np.isclose(errors["b"], 1 / 3, rtol=1e-5), (
    f"with the gradient for b doubled, the error for a should stay below 1e-7 and the one "
    f"for b be |2g - g| / (|2g| + |g|) = 1/3, got {errors}")
cube = lambda p: (float(np.sum(p["c"] ** 3)), {"c": 3 * p["c"] ** 2})   # noqa: E731
errors = gradient_check(cube, {"c": np.array([1.0, 2.0])}, h=0.1)
assert np.isclose(errors["c"], 0.01 / 6.01, rtol=1e-4), (
    f"with h = 0.1 the centred difference of sum(c^3) is 3c^2 + h^2, a relative error of "
    f"h^2 / (6c^2 + h^2) = {0.01 / 6.01:.6f} at c = 1, got {errors['c']:.3g}: pass the step "
    f"h to numerical_gradient, and perturb params[name], where the gradient was computed")
print("✅ gradient_check passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, a, b, the coefficients ca, cb of L = sum(ca a^3) + sum(cb b^3),
# the factors fa, fb of the analytic gradients, h, the expected errors for a and b, and for
# each (message, output) of typical mistakes
for _what, _a, _b, _ca, _cb, _fa, _fb, _h, _want, _mistakes in literal(gradient_check_cases()):
    _coef_a, _coef_b = _hidden_make(_ca), _hidden_make(_cb)

    def _model(_p, _coef_a=_coef_a, _coef_b=_coef_b, _fa=_fa, _fb=_fb):
        _u, _w = _p["a"], _p["b"]
        return (_coef_a * _u ** 3).sum() + (_coef_b * _w ** 3).sum(), {
            "a": 3.0 * _fa * _coef_a * _u * _u, "b": 3.0 * _fb * _coef_b * _w * _w}

    _params = {"a": _hidden_make(_a), "b": _hidden_make(_b)}
    _got = _hidden_call(gradient_check, (_model, _params, _h), _what)
    assert _type(_got) is {}.__class__ and _got.keys() == {"a", "b"}, (
        f"hidden case {_what}: gradient_check should return a dict with the keys a and b")
    _hidden_float(_got["a"], _want[0], f"the error for a ({_what})", rtol=1e-4, atol=1e-12,
                  mistakes=_mistakes[0])
    _hidden_float(_got["b"], _want[1], f"the error for b ({_what})", rtol=1e-4, atol=1e-12,
                  mistakes=_mistakes[1])
    assert _params["a"].tolist() == _a and _params["b"].tolist() == _b, (
        f"hidden case {_what}: gradient_check changed params")
### END HIDDEN TESTS

# %% [markdown]
# ### See it: the regularised network passes your check, dropout included
# A gradient check needs a *deterministic* loss: with dropout, every call would draw a new
# mask and the centred differences would compare two different networks. The trick is to
# give each call a fresh generator with the **same seed**, so that every evaluation drops the
# same units. Below, your `gradient_check` runs on a small network (64 inputs, 8 hidden
# units, 10 digits) with $\lambda = 0.1$ and dropout rate 0.5: first with the seed fixed,
# then with one generator shared by all calls.

# %%
small = {name: p[:, :8] if name == "W1" else p[:8] if name in ("b1", "W2") else p
         for name, p in init_network(seed=1).items()}
small["b1"] = small["b1"] + 0.1
X_check, y_check = X_train[:10], y_train[:10]
fixed = gradient_check(lambda p: regularized_loss_and_grads(
    p, X_check, y_check, lam=0.1, rate=0.5, rng=np.random.default_rng(0)), small)
shared_rng = np.random.default_rng(0)
moving = gradient_check(lambda p: regularized_loss_and_grads(
    p, X_check, y_check, lam=0.1, rate=0.5, rng=shared_rng), small)
print("relative error      fixed mask     a new mask at every call")
for name in small:
    print(f"{name:18s} {fixed[name]:12.2e}   {moving[name]:12.2e}")

# %% [markdown]
# With the seed fixed, every relative error is below $10^{-7}$: your backward pass of the
# regularised network, penalty and dropout included, is right. With a new mask at every
# call, the "numerical gradient" compares losses of different networks and the errors are
# of order 1, although the backward pass is the same. Keep this in mind whenever a check
# fails on a layer with randomness in it.
#
# ### L2 is not weight decay under Adam: the digits show it
# Section 3 said that, with SGD, the gradient $\lambda W$ of the penalty *is* weight decay.
# `train_network` uses Adam, which divides every gradient by the running size of its own
# gradients, $\sqrt{\hat v}$, and that includes the penalty's $\lambda W$. The digits make
# the consequence easy to see: some pixels (at the border of the 8x8 images) are 0 in every
# training image, so the rows of $W_1$ that read them get **no** gradient from the data.
#
# - **Adam + L2** (your `regularized_loss_and_grads` with `lam`, fed to your `adam`): for those
#   rows the gradient is $\lambda W$ alone, and Adam normalizes it to steps of about $\eta$
#   whatever $\lambda$ is: they collapse towards 0, by orders of magnitude. The rows of busy
#   pixels, whose data gradients are large, see $\lambda W$ divided by those large gradients'
#   scale: barely any decay. The regularization lands where the data says least.
# - **AdamW** (your `adamw` for the weights, `decoupled_decay`): every weight shrinks by the
#   same factor $1 - \eta\lambda$ per step, then takes its Adam step: the decay of the idle
#   rows is the smooth geometric curve $(1 - \eta\lambda)^t$, and the busy rows are decayed
#   at the same rate, against their gradients.
#
# (The weights of idle pixels never change a prediction on the training set; they do on a
# validation image whose border has ink in it.)

# %%
dead = np.all(X_train == 0, axis=0)    # pixels that are 0 in every training image
print(f"{dead.sum()} of 64 pixels are 0 in every training image")
runs = {
    "Adam + L2, lam 0.003": train_network(
        lambda p, X, y: regularized_loss_and_grads(p, X, y, lam=0.003), snapshot_every=5),
    "AdamW, weight_decay 1.0": train_network(two_layer_loss_and_grads, decoupled_decay=1.0,
                                             snapshot_every=5),
}
fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4), constrained_layout=True)
axes[0].plot(plain["val_loss"], color="gray", label="no regularization")
for (label, run), color in zip(runs.items(), ["tab:blue", "tab:red"]):
    axes[0].plot(run["val_loss"], color=color, label=label)
    marks = [epoch for epoch, _ in run["snapshots"]]
    for rows, style, what in [(dead, "--", "idle pixels"), (~dead, "-", "busy pixels")]:
        size = [np.abs(p["W1"][rows]).mean() for _, p in run["snapshots"]]
        axes[1].plot(marks, size, style, color=color, label=f"{label.split(',')[0]}: {what}")
axes[0].set(xlabel="epoch", ylabel="validation loss", title="validation loss", ylim=(0.4, 1.0))
axes[1].set(xlabel="epoch", ylabel="mean |W1| of the rows", yscale="log",
            title="size of W1's rows")
axes[0].legend(fontsize="small")
axes[1].legend(fontsize="x-small")
plt.show()
for label, run in runs.items():
    print(f"{label:26s} lowest validation loss {min(run['val_loss']):.3f}, at the end "
          f"{run['val_loss'][-1]:.3f}, validation accuracy {run['val_acc'][-1]:.1%}")

# %% [markdown]
# ### Play: dropout rate and L2 strength
# The widget below trains your regularised network (your `regularized_loss_and_grads`,
# `adam` and `dropout`; a fresh generator with seed 0 for each run) for each combination you
# select, and draws its training and validation curves next to the unregularised run
# (gray). The map on the right fills in as you try combinations: the lowest validation loss
# each reached. Each new combination trains once (a second or less); the widget remembers
# the runs. Things to try:
# - dropout alone (L2 at 0): how high can the rate go before the network underfits?
# - L2 alone (rate at 0): watch the training loss stop falling, and the validation curve
#   stop rising. What happens at the largest $\lambda$?
# - Are the best rate and the best $\lambda$ together better than either alone?

# %%
from IPython.display import display

from scratchnn.interactive.regularization import regularization_explorer


def train_regularized(rate, lam):
    """A training run of your regularised network with this dropout rate and L2 strength."""
    rng = np.random.default_rng(0)
    return train_network(lambda p, X, y: regularized_loss_and_grads(p, X, y, lam, rate, rng))


explorer = regularization_explorer(train_regularized, rates=[0.0, 0.2, 0.5, 0.7],
                                   lams=[0.0, 1e-3, 3e-3, 1e-2, 3e-2], baseline=plain,
                                   rate=0.5, lam=3e-3)
display(explorer)

# %% [markdown]
# ## 6. Early stopping
#
# The plain network's best moment was around epoch 15; everything after made it worse on
# new data. **Early stopping** watches the validation loss after every epoch and stops when
# it has not improved for a while, then puts back the weights of the best epoch. It is the
# cheapest regularizer there is (it *saves* training time), and it combines with all the
# others.
#
# The rules, exactly as Keras' `EarlyStopping(monitor="val_loss", patience, min_delta)` and
# `scratchnn.callbacks.EarlyStopping` apply them, with the epochs numbered $0, 1, 2, \dots$:
# - an epoch **improves** if its loss is below the best loss so far by **more than**
#   `min_delta`: `loss < best - min_delta` (a tie is *not* an improvement; the first epoch
#   always improves, on $+\infty$);
# - on an improvement the epoch becomes the best, and the count of epochs without
#   improvement restarts at 0; otherwise the count goes up by one, and when it reaches
#   `patience` training **stops after this epoch**;
# - with `patience = 0`, the first epoch that does not improve stops training.
#
# `min_delta` ignores improvements too small to matter (noise); `patience` lets the
# validation loss wander for a few epochs before giving up.
#
# ### Exercise 8: `early_stopping` (2 points)
# Given the validation losses of every epoch of a run (a list of floats), return
# `(stopped_epoch, best_epoch)`: the epoch after which training stops (`None` if it never
# stops: all the epochs of the list run), and the epoch of the best loss among the epochs
# that ran.

# %% nbgrader={"grade": false, "grade_id": "ex8-early-stopping", "locked": false, "schema_version": 3, "solution": true}
def early_stopping(val_losses, patience, min_delta=0.0):
    """(stopped_epoch or None, best_epoch) of early stopping on this validation curve."""
    ### BEGIN SOLUTION
    best, best_epoch, wait = np.inf, None, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return None, best_epoch
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 8 and the hidden cases of its test, whose
# expected values come from driving scratchnn.callbacks.EarlyStopping over each curve.
def stopping_variant(test="loss < best - min_delta", counting="wait >= patience",
                     on_better="best, best_epoch, wait = loss, epoch, 0",
                     at_end="return None, best_epoch", after=""):
    """The solution with one of its lines changed."""
    return f"""
def early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait = np.inf, None, 0
    for epoch, loss in enumerate(val_losses):
        if {test}:
            {on_better}
        else:
            wait += 1
            if {counting}:
                return epoch, best_epoch
        {after or "pass"}
    {at_end}
"""


MISTAKES.add("ex8-early-stopping", "a tie counts as an improvement", words="tie",
             message="a tie was counted as an improvement: improve only if loss < best - "
                     "min_delta", code=stopping_variant(test="loss <= best - min_delta"))
MISTAKES.add("ex8-early-stopping", "min_delta ignored", words="min_delta",
             message="min_delta was ignored: an improvement must beat the best by more than "
                     "min_delta", code=stopping_variant(test="loss < best"))
MISTAKES.add("ex8-early-stopping", "min_delta added", words="min_delta",
             message="an improvement must beat the best by more than min_delta: loss < best - "
                     "min_delta, not best + min_delta",
             code=stopping_variant(test="loss < best + min_delta"))
MISTAKES.add("ex8-early-stopping", "stops one epoch late", words="patience",
             message="training stopped one epoch late: stop when the count of epochs without "
                     "improvement reaches patience", code=stopping_variant(
                         counting="wait > patience"))
MISTAKES.add("ex8-early-stopping", "count never reset", words="restart",
             message="the count of epochs without improvement did not restart at 0 after an "
                     "improvement", code=stopping_variant(
                         on_better="best, best_epoch = loss, epoch"))
MISTAKES.add("ex8-early-stopping", "compared with the previous epoch", words="best so far",
             message="each epoch was compared with the previous one: compare with the best so "
                     "far", code=stopping_variant(after="best = loss"))
MISTAKES.add("ex8-early-stopping", "last epoch instead of None", words="None",
             message="training that never stops should give None as the stopped epoch",
             code=stopping_variant(at_end="return len(val_losses) - 1, best_epoch"))


class FakeModel:
    """What scratchnn.callbacks.EarlyStopping needs of a model: stop_training and, for
    restore_best_weights, get_weights()/set_weights() of a dict of arrays."""

    def __init__(self, params):
        self.params, self.stop_training = params, False

    def get_weights(self):
        return {name: np.array(p, copy=True) for name, p in self.params.items()}

    def set_weights(self, weights):
        self.params = weights


def keras_stopping(curve, patience, min_delta, model=None, train=None, validate=None):
    """Drive scratchnn.callbacks.EarlyStopping over the curve (or over validate(params) after
    train(params) for every epoch, with restore_best_weights): (stopped_epoch or None,
    best_epoch, the model, the losses seen)."""
    callback = EarlyStopping(patience=patience, min_delta=min_delta,
                             restore_best_weights=model is not None)
    model = model or FakeModel({})
    callback.set_model(model)
    callback.on_train_begin()
    seen = []
    for epoch in range(len(curve)):
        if train is not None:
            model.params = train(model.params)
        seen.append(curve[epoch] if validate is None else validate(model.params))
        callback.on_epoch_end(epoch, {"val_loss": seen[-1]})
        if model.stop_training:
            break
    callback.on_train_end()
    return (callback.stopped_epoch if model.stop_training else None), callback.best_epoch, (
        model, seen)


def stopping_cases():
    """Hidden cases of Exercise 8: edge cases, then noisy U-shaped curves (seeds 481-483);
    each: what, curve, patience, min_delta, the expected pair, the mistakes' outputs."""
    specs = [("ties after the best", [2.0, 1.5, 1.5, 1.5, 1.4, 1.5], 2, 0.0),
             ("never improving", [0.3, 0.31, 0.3, 0.45], 3, 0.0),
             ("improving on the last epoch", [1.0, 0.9, 0.95, 0.97, 0.8], 3, 0.0),
             ("steps below min_delta", [1.0, 0.96, 0.93, 0.9, 0.88, 0.87], 2, 0.05),
             ("patience 0", [1.0, 0.8, 0.8], 0, 0.0)]
    for seed in (481, 482, 483):
        rng = np.random.default_rng(seed)
        epochs = np.arange(30)
        curve = 0.3 + (epochs - rng.integers(8, 20)) ** 2 / 400 + rng.normal(0, 0.02, 30)
        specs.append((f"a noisy U-shaped curve of 30 epochs (seed {seed})",
                      [round(float(v), 4) for v in curve], int(rng.integers(2, 6)),
                      float(rng.choice([0.0, 0.01]))))
    out = []
    for what, curve, patience, min_delta in specs:
        want = keras_stopping(curve, patience, min_delta)[:2]
        mistakes = []
        for mistake in MISTAKES.of("ex8-early-stopping"):
            got = MISTAKES.function(mistake, "early_stopping")(list(curve), patience, min_delta)
            if mistake.message and tuple(got) != want:
                mistakes.append((mistake.message, list(got)))
        out.append((f"{what}, patience {patience}, min_delta {min_delta}", curve, patience,
                    min_delta, list(want), mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex8-early-stopping-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 8: each case with the wrong answers typical mistakes give on it
cases = [
    ([1.0, 0.8, 0.9, 0.85, 0.95, 0.9], 2, 0.0, (3, 1), {
        (4, 1): "training stopped one epoch late: stop when the count of epochs without "
                "improvement reaches patience",
        (None, 5): "each epoch was compared with the previous one: compare with the best so "
                   "far"}),
    ([1.0, 0.8, 0.7, 0.72, 0.71, 0.75, 0.6], 3, 0.0, (5, 2), {}),
    ([1.0, 1.1, 0.9, 1.0, 0.8, 0.85, 0.7], 2, 0.0, (None, 6), {
        (3, 2): "the count of epochs without improvement did not restart at 0 after an "
                "improvement",
        (6, 6): "training that never stops should give None as the stopped epoch"}),
    ([1.0, 0.9, 0.9, 0.9, 0.9], 2, 0.0, (3, 1), {
        (None, 4): "a tie was counted as an improvement: improve only if loss < best - "
                   "min_delta"}),
    ([1.0, 0.97, 0.9, 0.87, 0.86, 0.8], 2, 0.05, (4, 2), {
        (None, 5): "min_delta was ignored (or added): an improvement must beat the best by "
                   "more than min_delta, loss < best - min_delta"}),
    ([0.5, 0.6, 0.7, 0.8, 0.9], 2, 0.0, (2, 0), {}),
    ([1.0, 1.1, 1.2, 0.9], 3, 0.0, (None, 3), {
        (3, 3): "training that never stops should give None as the stopped epoch"}),
    ([1.0, 1.1, 0.9], 0, 0.0, (1, 0), {})]
for curve, patience, min_delta, want, diagnoses in cases:
    got = early_stopping(list(curve), patience, min_delta)
    assert isinstance(got, tuple) and len(got) == 2, (
        f"early_stopping should return a tuple (stopped_epoch, best_epoch), got {got!r}")
    call = f"early_stopping({curve}, patience={patience}, min_delta={min_delta})"
    assert tuple(got) not in diagnoses, f"{call} gave {got}: {diagnoses.get(tuple(got))}"
    assert tuple(got) == want, f"{call} should give {want}, got {got}"
print("✅ early_stopping passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, the curve, patience, min_delta, the expected [stopped, best]
# (from scratchnn.callbacks.EarlyStopping) and (message, output) of typical mistakes
_i8 = _type(_hidden_make([0], "i8")[0])
for _what, _curve, _patience, _min_delta, _want, _mistakes in literal(stopping_cases()):
    _got = _hidden_call(early_stopping, (_curve.copy(), _patience, _min_delta), _what)
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: early_stopping should return a tuple (stopped_epoch, best_epoch)")
    _pair = []
    for _value in _got:
        assert _value is None or _type(_value) is _int or _type(_value) is _i8, (
            f"hidden case {_what}: the epochs should be integers (or None), got "
            f"{_type(_value).__name__}")
        _pair.append(_value if _value is None else _int(_value))
    for _message, _output in _mistakes:
        assert _pair != _output, f"hidden case {_what}: {_message}"
    assert _pair == _want, f"hidden case {_what}: expected {_want}, got {_pair}"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 9: `fit_with_early_stopping`, with best-weight restore (2 points)
# Now the training loop itself. `fit_with_early_stopping(params, train_epoch, validate,
# max_epochs, patience, min_delta=0.0)` runs at most `max_epochs` epochs; in each:
# 1. `params = train_epoch(params)`: one epoch of training. It returns the new params, a
#    dict of arrays; it may update the arrays **in place** and return the same dict (as
#    optimizers do), or return a new dict: use what it returns;
# 2. `loss = validate(params)`: the validation loss of the epoch;
# 3. the rules of Exercise 8: on an improvement, keep a **copy** of the params (of every
#    array: the next `train_epoch` may overwrite them in place); stop when the count of
#    epochs without improvement reaches `patience`.
#
# Return `(best_params, val_losses)`: the copy of the params of the best epoch (the weights
# restored), and the list of the validation losses of the epochs that ran.

# %% nbgrader={"grade": false, "grade_id": "ex9-restore-best", "locked": false, "schema_version": 3, "solution": true}
def fit_with_early_stopping(params, train_epoch, validate, max_epochs, patience, min_delta=0.0):
    """Train with early stopping: (a copy of the best epoch's params, the validation losses
    of the epochs that ran)."""
    ### BEGIN SOLUTION
    best_params, best, wait, val_losses = None, np.inf, 0, []
    for _ in range(max_epochs):
        params = train_epoch(params)
        loss = float(validate(params))
        val_losses.append(loss)
        if loss < best - min_delta:
            best, wait = loss, 0
            best_params = {name: np.array(p, copy=True) for name, p in params.items()}
        else:
            wait += 1
            if wait >= patience:
                break
    return best_params, val_losses
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 9 and the hidden cases of its test.
def fit_variant(train="params = train_epoch(params)", keep="{name: np.array(p, copy=True) "
                "for name, p in params.items()}", stop="break", order=None, end="best_params"):
    """The solution with one of its steps changed."""
    steps = [f"        {train}", "        loss = float(validate(params))"]
    return f"""
def fit_with_early_stopping(params, train_epoch, validate, max_epochs, patience, min_delta=0.0):
    best_params, best, wait, val_losses = None, np.inf, 0, []
    for _ in range(max_epochs):
{chr(10).join(steps[::-1] if order else steps)}
        val_losses.append(loss)
        if loss < best - min_delta:
            best, wait = loss, 0
            best_params = {keep}
        else:
            wait += 1
            if wait >= patience:
                {stop}
    return {end}, val_losses
"""


MISTAKES.add("ex9-restore-best", "keeps a reference, not a copy", words="copy",
             message="the best params changed after their epoch: keep a copy of every array, "
                     "not a reference to the dict", code=fit_variant(keep="params"))
MISTAKES.add("ex9-restore-best", "copies the dict, not the arrays", words="copy",
             message="the best params changed after their epoch: dict(params) copies the dict, "
                     "not its arrays; copy every array", code=fit_variant(keep="dict(params)"))
MISTAKES.add("ex9-restore-best", "returns the last params", words="best epoch",
             message="the params returned are the last epoch's: restore (return) those of the "
                     "best epoch", code=fit_variant(end="params"))
MISTAKES.add("ex9-restore-best", "never stops", words="patience",
             message="training ran past the stop: break when the count of epochs without "
                     "improvement reaches patience", code=fit_variant(stop="pass"))
MISTAKES.add("ex9-restore-best", "ignores what train_epoch returns", words="returns",
             message="the params did not change: train_epoch returns the new params, "
                     "params = train_epoch(params)", code=fit_variant(train="train_epoch(params)"))
MISTAKES.add("ex9-restore-best", "validates before training", words="after",
             code=fit_variant(order="validate first"))


def fit_cases():
    """Hidden cases of Exercise 9: what, curve, patience, min_delta, in place or not, the
    expected params "w" and "b" of the best epoch and losses, the mistakes' outputs for w."""
    out = []
    for what, curve, patience, min_delta, in_place in [
            ("a plateau, training in place", [3.0, 2.0, 1.5, 1.6, 1.55, 1.7, 1.8, 1.0], 3, 0.0,
             True),
            ("a tie at the best, a new dict each epoch", [2.0, 1.0, 1.0, 1.2, 0.5], 2, 0.0,
             False),
            ("min_delta 0.1, training in place", [1.0, 0.95, 0.8, 0.75, 0.72, 0.7, 0.69], 2,
             0.1, True),
            ("improving on the last epoch, in place", [1.0, 1.2, 0.9, 1.1, 0.8], 2, 0.0, True)]:
        by_w = {float(i + 1): v for i, v in enumerate(curve)}

        def train(p, in_place=in_place):
            if in_place:
                p["w"] += 1.0
                p["b"] *= 0.5
                return p
            return {"w": p["w"] + 1.0, "b": p["b"] * 0.5}

        def validate(p, by_w=by_w):
            return by_w[float(p["w"][0])]

        start = {"w": np.zeros(1), "b": np.full((2, 2), 8.0)}
        _, _, (model, seen) = keras_stopping(curve, patience, min_delta,
                                             FakeModel(copy.deepcopy(start)), train, validate)
        args = (start, train, validate, len(curve), patience, min_delta)
        mistakes = []
        for mistake in MISTAKES.of("ex9-restore-best"):
            try:
                got = MISTAKES.function(mistake, "fit_with_early_stopping")(
                    *copy.deepcopy(args))[0]["w"]
            except Exception:  # noqa: BLE001 (a mistake that raises is caught otherwise)
                continue
            if mistake.message and not np.allclose(got, model.params["w"]):
                mistakes.append((mistake.message, literal(got)))
        out.append((f"{what}, patience {patience}, min_delta {min_delta}", curve, patience,
                    min_delta, in_place, model.params["w"], model.params["b"], seen, mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex9-restore-best-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 9. A fake training run: each epoch adds 1 to "w" (so "w" counts the
# epochs trained) and halves "b"; the validation loss of the params is curve[w - 1].
curve = [1.0, 0.8, 0.7, 0.72, 0.71, 0.75, 0.6, 0.5]   # best 0.7 at epoch 2; stops after epoch 5


def validate_fake(p):
    assert p["w"][0] > 0, (
        "validate got params that were never trained (w = 0): call validate after "
        "train_epoch, on the params it returns (params = train_epoch(params))")
    return curve[int(p["w"][0]) - 1]


def train_new_dict(p):   # returns a new dict of new arrays
    return {"w": p["w"] + 1.0, "b": p["b"] * 0.5}


def train_in_place(p):   # updates the arrays in place, as an optimizer does
    p["w"] += 1.0
    p["b"] *= 0.5
    return p


for train, how in [(train_new_dict, "returns a new dict"), (train_in_place, "works in place")]:
    start = {"w": np.zeros(1), "b": np.full((2, 2), 8.0)}
    result = fit_with_early_stopping(start, train, validate_fake, 8, 3)
    assert isinstance(result, tuple) and len(result) == 2, (
        "fit_with_early_stopping should return a tuple (best_params, val_losses)")
    best_params, losses = result
    assert isinstance(best_params, dict) and set(best_params) == {"w", "b"}, (
        f"best_params should be a dict with the keys of params, got {best_params!r}")
    what = f"with a train_epoch that {how}"
    assert not np.allclose(best_params["w"], 0.0), (
        f"{what}: the params did not change: train_epoch returns the new params, params = "
        f"train_epoch(params)")
    assert len(losses) <= 6, (
        f"{what}: {len(losses)} epochs ran, the stop is after epoch 5 (patience 3): training "
        f"ran past the stop, break when the count of epochs without improvement reaches "
        f"patience")
    assert list(losses) == curve[:6], (
        f"{what}: the validation losses should be {curve[:6]}, got {list(losses)}")
    w = float(np.ravel(best_params["w"])[0])
    assert w != 6.0 or how == "works in place", (
        f"{what}: the params returned are the last epoch's (w = 6): restore (return) those "
        f"of the best epoch (w = 3)")
    assert w != 6.0, (
        f"{what}: the best params changed after their epoch (w = 6, the last epoch's): keep "
        f"a copy of every array, not a reference to the dict (dict(params) copies the dict, "
        f"not its arrays)")
    assert w == 3.0 and np.allclose(best_params["b"], 1.0), (
        f"{what}: the params of the best epoch (2) are w = 3, b = 1, got w = {w}, "
        f"b = {best_params['b']}")
print("✅ fit_with_early_stopping passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, the curve (the loss of the params with w = epoch + 1), patience,
# min_delta, whether training works in place, the expected w and b of the best epoch (from
# scratchnn.callbacks.EarlyStopping with restore_best_weights), the expected losses, and
# (message, w returned) of typical mistakes
for _what, _curve, _patience, _delta, _in_place, _w, _b, _seen, _mistakes in literal(
        fit_cases()):
    _by_w, _key = {}, 1.0
    for _v in _curve:   # the loss of the params with w = 1, 2, ...
        _by_w[_key] = _v
        _key += 1.0

    def _train(_p, _in_place=_in_place):
        if _in_place:
            _p["w"] += 1.0
            _p["b"] *= 0.5
            return _p
        return {"w": _p["w"] + 1.0, "b": _p["b"] * 0.5}

    def _validate(_p, _by_w=_by_w):
        return _by_w[_p["w"].tolist()[0]]

    _start = {"w": _hidden_make([0.0]), "b": _hidden_make([[8.0, 8.0], [8.0, 8.0]])}
    _got = _hidden_call(fit_with_early_stopping, (_start, _train, _validate, _curve.__len__(),
                                                  _patience, _delta), _what,
                        "call validate after train_epoch, on the params it returns")
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: should return a tuple (best_params, val_losses)")
    assert _type(_got[0]) is {}.__class__ and _got[0].keys() == {"w", "b"}, (
        f"hidden case {_what}: best_params should be a dict with the keys w and b")
    _hidden_array(_got[0]["w"], _w, f"the best params' w ({_what})", mistakes=_mistakes)
    _hidden_array(_got[0]["b"], _b, f"the best params' b ({_what})")
    _hidden_array(_hidden_make([_float(_v) for _v in _got[1]]), _seen,
                  f"the validation losses ({_what})")
### END HIDDEN TESTS

# %% [markdown]
# ### See it: early stopping on the overfitting network
# The plain network of section 2 again, now trained by your `fit_with_early_stopping` with
# patience 10: `train_epoch` is one Adam step of your `adam` on your
# `two_layer_loss_and_grads`, `validate` the validation loss. It starts from the same
# weights, so its curve is the one of section 2, until it stops.

# %%
def make_train_epoch(lr=2e-2):
    """One full-batch Adam step per call (your adam), keeping the optimizer state inside."""
    state, step = {}, [0]

    def train_epoch(params):
        step[0] += 1
        _, grads = two_layer_loss_and_grads(params, X_train, y_train)
        new = {}
        for name, p in params.items():
            m, v = state.get(name, (np.zeros_like(p), np.zeros_like(p)))
            new[name], m, v = adam(p, grads[name], m, v, step[0], lr)
            state[name] = (m, v)
        return new

    return train_epoch


best_params, stopped_losses = fit_with_early_stopping(
    init_network(), make_train_epoch(), lambda p: evaluate(p, X_val, y_val)[0], 100, 10)
stop, best = len(stopped_losses), int(np.argmin(stopped_losses)) + 1
fig, ax = plt.subplots(figsize=(6.4, 3.2), constrained_layout=True)
ax.plot(np.arange(1, 101), plain["val_loss"], color="gray", alpha=0.5,
        label="no early stopping")
ax.plot(np.arange(1, stop + 1), stopped_losses, color="tab:blue",
        label=f"fit_with_early_stopping: stopped after epoch {stop}")
ax.plot(best, min(stopped_losses), "o", color="tab:green", label=f"restored: epoch {best}")
ax.set(xlabel="epoch", ylabel="validation loss", yscale="log")
ax.legend(fontsize="small")
plt.show()
print(f"restored weights: validation loss {evaluate(best_params, X_val, y_val)[0]:.3f}, "
      f"accuracy {evaluate(best_params, X_val, y_val)[1]:.1%}; without early stopping, after "
      f"100 epochs: {plain['val_loss'][-1]:.3f}, {plain['val_acc'][-1]:.1%}")

# %% [markdown]
# Early stopping found the epoch of the lowest validation *loss* and saved 75 epochs of
# training. Look at the accuracies, though: the restored network is not the most accurate
# one. Early stopping optimizes what it monitors; a network that keeps training becomes
# overconfident (a worse loss) while a few more validation images fall on the right side.
# Monitor the accuracy instead (`monitor="val_accuracy"` in Keras) if that is what you will
# report, and keep a separate test set for the final number (question 5 below).

# %% [markdown]
# ## Summary
# - **Overfitting** shows as a gap between the curves: the training loss keeps falling while
#   the validation loss turns up. A large network on a small training set memorizes it,
#   growing its weights to do so.
# - The **L2 penalty** $\frac{\lambda}{2}\sum_k \lVert W_k\rVert^2$ (weights only, not the
#   biases) adds $\lambda W_k$ to each weight gradient; with SGD that is weight decay.
# - **Under Adam, L2 is not weight decay**: the penalty's gradient is rescaled like any
#   other, so the weights with the smallest data gradients are decayed hardest. **AdamW**
#   decouples the decay, $\theta \leftarrow (1 - \eta\lambda)\theta$, and every weight decays
#   at the same rate.
# - **Inverted dropout** multiplies the activations by a mask $\mathbb 1[u < 1 - p] / (1 - p)$
#   during training (`rate` $= p$ is the drop probability), passes the gradient through the
#   **same** mask, and does nothing at evaluation; the expected activation is unchanged.
# - A **gradient check** of a layer with randomness needs the randomness fixed (the same seed
#   for every evaluation); your checker passed on the regularised network.
# - **Early stopping** keeps the best weights (a *copy*) and stops after `patience` epochs
#   without an improvement larger than `min_delta`, with Keras' semantics.
#
# In `scratchnn`, these are `functional.l2_penalty` and `l2_penalty_backward`,
# `functional.dropout` and `dropout_backward` (and the `Dropout` layer), the optimizers'
# `weight_decay` and `AdamW`, and `callbacks.EarlyStopping(restore_best_weights=True)`.
# Notebook 05 adds the last classic ingredient, batch normalization.
#
# ### Questions to think about
# 1. Doubling the training set from 60 to 120 images: what do you expect of the gap between
#    the curves, and of the best $\lambda$ and dropout rate?
# 2. Why penalize the weights but not the biases? What could a large penalty on the output
#    bias $\mathbf b_2$ do to a classifier trained on unbalanced classes?
# 3. With dropout, the training loss in `train_network` is measured in evaluation mode. Why
#    is the loss that `regularized_loss_and_grads` returns, with dropout on, higher?
# 4. Dropout with rate $p$ on a layer of $n$ units: how many units does the next layer see on
#    average, and why does the scaling by $1/(1-p)$ keep its input's expected value?
# 5. Early stopping selects an epoch using the validation set. Is the restored model's
#    validation loss still an unbiased estimate of its loss on new data? What would you
#    report instead?
# 6. For SGD, L2 and weight decay are the same thing. Which one does PyTorch's
#    `torch.optim.Adam(weight_decay=...)` implement, and which `torch.optim.AdamW`?
