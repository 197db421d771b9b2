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
# # Notebook 06 · Capstone: your own deep-learning library
#
# **Layers, losses, optimizers, a model with `fit`, callbacks and saved weights: a small
# Keras of your own, in pure NumPy, trained on handwritten digits.**
#
# In notebooks 01 to 05 you wrote every piece of a neural network as a function: activations
# and their derivatives, the dense layer's forward and backward pass, the losses, the
# optimizer update rules, dropout and batch normalization. A framework is those same pieces
# organised so that they click together: each layer is an object that remembers what its
# backward pass needs, each parameter carries its gradient, an optimizer updates whatever
# parameters it is handed, and a model runs the training loop. Here you build that
# organisation, test it piece by piece, train it on digits, and look inside it while it
# learns.
#
# ### Learning objectives
# By the end of this notebook you can:
# 1. design a layer API (`forward(x, training)`, `backward(grad)`, `parameters()`) and
#    explain how the model, the loss and the optimizer communicate through it;
# 2. implement dense, activation, dropout and batch-norm layers as objects that cache what
#    their backward pass needs;
# 3. implement losses and optimizers as objects, with per-parameter optimizer state;
# 4. write a mini-batch data loader, a training loop with validation, a `History` and an
#    `EarlyStopping` callback, and accuracy, precision and recall;
# 5. save and load a model's weights, and check that nothing is lost on the way;
# 6. train your library to at least 90% test accuracy on digits, and read its learning
#    curves, confusion matrix, mistakes and gradient flow.
#
# ### Time estimate
# About **5 hours**: this is the largest notebook of the course. Each section takes 20 to 40
# minutes; you can stop after any test cell.
#
# ### Prerequisites
# - Notebooks 01 to 05: every formula used here was derived there. You may **paste your own
#   functions** from those notebooks into the methods below (e.g. your `dense_backward` from
#   notebook 02, your `adam` from notebook 03); the text repeats each formula.
# - Python classes: `__init__`, attributes, methods, a subclass that overrides a method,
#   `__iter__` with `yield`.
#
# ### How this notebook works
# - Each **exercise** cell contains classes or functions whose bodies say `# YOUR CODE HERE`
#   and `raise NotImplementedError()`. Replace those two lines with your code, in every
#   method of the cell. Keep the small function at the end of each exercise cell (e.g.
#   `ex1_classes`) as it is: the grader finds your classes through it.
# - The **test cell** right after it checks your work. Run it: a ✅ means the visible tests
#   pass. When you submit, the grader also runs **hidden tests**: it uses your classes as a
#   library user would, on other shapes, seeds and modes, compares your gradients with the
#   formulas, steps your optimizers, saves and loads your weights, and trains your model.
# - Do not rename the classes, methods or functions, and do not delete or copy the exercise
#   and test cells.
# - Use NumPy only. Calling the course library `scratchnn` in your solutions is flagged by the
#   grader; here it only provides the data, plots and the digit browser.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure every test
#   cell shows its ✅ (or press the **Validate** button).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

# %matplotlib inline
np.set_printoptions(precision=6, suppress=True)
print("NumPy", np.__version__)


# %% nbgrader={"grade": false, "grade_id": "parameter", "locked": true, "schema_version": 3, "solution": false}
class Parameter:
    """A trainable array and its gradient: .value (updated in place by optimizers), .grad
    (dL/dvalue from the last backward, same shape, None before), .name (for messages)."""

    def __init__(self, value, name="param"):
        self.value = np.array(value, dtype=float)
        self.grad = None
        self.name = name

    def __repr__(self):
        return f"Parameter({self.name!r}, shape={self.value.shape})"


# %% tags=["authoring"]
# Authoring only (tag "authoring"): this kind of cell never reaches the master or the release.
# It computes the hidden cases at render time (`make release`) and, run here in JupyterLab,
# lets the hidden tests below run in this kernel: each literal(...) becomes a literal in the
# master. MISTAKES collects the typical wrong solutions of each exercise: tests/test_mistakes.py
# checks that each one fails its test cell with a message that names it. See docs/authoring.md.
import warnings

import numpy as np

from coursekit.hidden import draw, literal, short
from coursekit.mistakes import Corpus
from coursekit.preamble import (
    _float,
    _hidden_array,
    _hidden_call,
    _hidden_close,
    _hidden_float,
    _hidden_make,
    _tuple,
    _type,
)
from scratchnn import functional as F

MISTAKES = Corpus(globals())

# Each exercise cell ends with a small function that hands its classes to the grader (hidden
# blocks may call the exercises' functions, never read a global class). A mistake redefines
# classes and this getter, so that the test cell sees the wrong classes.
GETTERS = {
    "ex1-dense": "\ndef ex1_classes():\n    return Layer, Dense\n",
    "ex2-activations": "\ndef ex2_classes():\n    return ReLU, Sigmoid, Tanh, Softmax\n",
    "ex3-dropout": "\ndef ex3_classes():\n    return Dropout\n",
    "ex4-batchnorm": "\ndef ex4_classes():\n    return BatchNorm\n",
    "ex5-losses": "\ndef ex5_classes():\n    return MSE, CrossEntropy, BinaryCrossEntropy\n",
    "ex6-optimizers": "\ndef ex6_classes():\n    return SGD, Momentum, Adam\n",
    "ex7-data": "\ndef ex7_classes():\n    return DataLoader\n",
    "ex8-callbacks": "\ndef ex8_classes():\n    return History, EarlyStopping\n",
    "ex9-sequential": "\ndef ex9_classes():\n    return Sequential\n",
}


def mistake(exercise, name, words, code, message=""):
    """MISTAKES.add, with the exercise's class getter appended to the wrong classes."""
    return MISTAKES.add(exercise, name, words=words, message=message,
                        code=code + GETTERS.get(exercise, ""))


def quiet(fn, *args):
    """fn(*args) with NumPy's warnings silenced (for the outputs of wrong solutions)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args)


def differs(got, want):
    """True if got is not want (another shape, or values not close)."""
    return np.shape(got) != np.shape(want) or not np.allclose(got, want, rtol=1e-6, atol=1e-9)


def wrong_outputs(exercise, getter, scenario, *args, want=None):
    """(message, literal output) of the exercise's mistakes that have a message, when the
    scenario runs with their classes: scenario(classes, *args) -> array or float. Mistakes
    that raise, give non-finite values or the right answer are left out."""
    found = []
    for m in MISTAKES.of(exercise):
        if not m.message:
            continue
        try:
            value = literal(quiet(scenario, MISTAKES.function(m, getter)(), *args))
        except Exception:  # noqa: BLE001
            continue
        if want is not None and not differs(value, want):
            continue
        found.append((m.message, value))
    return found


# %% [markdown]
# ## 0. The design: five kinds of objects
#
# A training step of any framework is the same five moves: take a **mini-batch**, run it
# **forward** through the layers, measure the **loss**, run the gradient **backward** through
# the layers in reverse, and let the **optimizer** update every parameter. Each move belongs
# to one kind of object:
#
# | piece | what it is | its methods | in `scratchnn` |
# |---|---|---|---|
# | `Parameter` | `.value` and its `.grad` (given) | | `core` |
# | `Layer` | a function with a backward pass | `forward`, `backward`, `parameters` | `layers` |
# | loss | predictions -> one number | `forward(pred, target)`, `backward()` | `losses` |
# | optimizer | updates parameters from `.grad` | `step(params)` | `optimizers` |
# | `Sequential` | layers + the training loop | `fit`, `evaluate`, `predict` | `model` |
# | `DataLoader` | mini-batches | `__iter__`, `__len__` | `data` |
# | callbacks | run after every epoch | `on_epoch_end(epoch, logs)` | `callbacks` |
#
# The contracts between them are what make the pieces interchangeable:
# - `layer.forward(x, training)` returns the output and **caches** what `backward` needs
#   (the input of a dense layer, the output of a sigmoid, the mask of a dropout).
#   `training` is True only inside `fit`: dropout and batch norm behave differently when
#   the model is evaluated.
# - `layer.backward(grad)` receives $\partial L/\partial \text{output}$, **stores**
#   $\partial L/\partial \theta$ in each of its parameters' `.grad`, and **returns**
#   $\partial L/\partial \text{input}$ for the layer below.
# - `layer.parameters()` lists its `Parameter`s (none for an activation). The model's
#   `parameters()` concatenates them, and that list is all an optimizer ever sees.
# - `optimizer.step(params)` changes each `p.value` in place using `p.grad`; its state
#   (velocities, moments) is kept **per parameter**.
#
# `Parameter` is given in the read-only cell after the setup cell: read it, it is four
# lines.
#
# ## 1. The `Layer` base class and `Dense`
#
# `Layer` is the base class every layer inherits from. Calling a layer, `layer(x)`, is the
# same as `layer.forward(x)` (that is what `__call__` is for); a layer without parameters
# returns an empty list from `parameters()`.
#
# A **dense** (fully connected) layer computes, for a batch $X$ of shape $(N, d_\text{in})$,
#
# $$
# Y = X W + b, \qquad \frac{\partial L}{\partial W} = X^\top G, \qquad
# \frac{\partial L}{\partial b} = \sum_n G_n, \qquad \frac{\partial L}{\partial X} = G W^\top ,
# $$
#
# with $W$ of shape $(d_\text{in}, d_\text{out})$, $b$ of shape $(d_\text{out},)$ and
# $G = \partial L/\partial Y$ of shape $(N, d_\text{out})$: your `dense_backward` of
# notebook 02. Its weights start **He-initialized**, $W_{ij} \sim \mathcal N(0, 2/d_\text{in})$
# (right for ReLU networks), and its bias at zero.
#
# ### Exercise 1: `Layer` and `Dense` (3 points)
# - `Layer.__call__(x, training=False)` returns `self.forward(x, training)`;
#   `Layer.parameters()` returns `[]`.
# - `Dense(in_features, out_features, seed=0)` creates `self.W = Parameter(...)` of shape
#   `(in_features, out_features)` drawn with `np.random.default_rng(seed).normal(0,
#   np.sqrt(2 / in_features), size=...)`, and `self.b = Parameter(np.zeros(out_features))`.
# - `forward(x, training=False)` caches `x` and returns `x @ W + b`; `backward(grad)` sets
#   `W.grad` and `b.grad` and returns the gradient for `x`; `parameters()` returns
#   `[self.W, self.b]`, in that order. Never modify the arrays you receive.

# %% nbgrader={"grade": false, "grade_id": "ex1-dense", "locked": false, "schema_version": 3, "solution": true}
class Layer:
    """Base class of all layers: forward(x, training) -> output, backward(grad) -> grad of
    the input (and .grad of each parameter), parameters() -> list of Parameter."""

    def __call__(self, x, training=False):
        ### BEGIN SOLUTION
        return self.forward(x, training)
        ### END SOLUTION

    def forward(self, x, training=False):
        raise NotImplementedError(f"{type(self).__name__}.forward is not written yet")

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__}.backward is not written yet")

    def parameters(self):
        ### BEGIN SOLUTION
        return []
        ### END SOLUTION


class Dense(Layer):
    """Fully connected layer: x (N, in_features) -> x @ W + b (N, out_features)."""

    def __init__(self, in_features, out_features, seed=0):
        ### BEGIN SOLUTION
        std = np.sqrt(2.0 / in_features)
        weights = np.random.default_rng(seed).normal(0.0, std, size=(in_features, out_features))
        self.W = Parameter(weights, "W")
        self.b = Parameter(np.zeros(out_features), "b")
        ### END SOLUTION

    def forward(self, x, training=False):
        ### BEGIN SOLUTION
        self.x = x
        return x @ self.W.value + self.b.value
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        self.W.grad = self.x.T @ grad
        self.b.grad = grad.sum(axis=0)
        return grad @ self.W.value.T
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION
        return [self.W, self.b]
        ### END SOLUTION


def ex1_classes():
    """For the grader: the classes of this exercise (leave as is)."""
    return Layer, Dense


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 1 and the hidden cases of its test.
mistake("ex1-dense", "__call__ drops the training flag", "training", """
class Layer(Layer):
    def __call__(self, x, training=False):
        return self.forward(x)
""")
mistake("ex1-dense", "bias left out of forward", "bias",
        message="the output is x @ W without the bias: add b", code="""
class Dense(Dense):
    def forward(self, x, training=False):
        self.x = x
        return x @ self.W.value
""")
mistake("ex1-dense", "bias gradient is a mean", "sum",
        message="b.grad is the mean of grad over the batch: it is the sum", code="""
class Dense(Dense):
    def backward(self, grad):
        self.W.grad = self.x.T @ grad
        self.b.grad = grad.mean(axis=0)
        return grad @ self.W.value.T
""")
mistake("ex1-dense", "input gradient without the transpose", "W.T", """
class Dense(Dense):
    def backward(self, grad):
        self.W.grad = self.x.T @ grad
        self.b.grad = grad.sum(axis=0)
        return grad @ self.W.value
""")
mistake("ex1-dense", "weight gradient transposed", "x.T @ grad", """
class Dense(Dense):
    def backward(self, grad):
        self.W.grad = grad.T @ self.x
        self.b.grad = grad.sum(axis=0)
        return grad @ self.W.value.T
""")
mistake("ex1-dense", "Xavier scale instead of He", "He", """
class Dense(Dense):
    def __init__(self, in_features, out_features, seed=0):
        rng = np.random.default_rng(seed)
        scale = np.sqrt(1.0 / in_features)
        self.W = Parameter(rng.normal(0.0, scale, size=(in_features, out_features)), "W")
        self.b = Parameter(np.zeros(out_features), "b")
""")
mistake("ex1-dense", "parameters forgets the bias", "parameters", """
class Dense(Dense):
    def parameters(self):
        return [self.W]
""")
mistake("ex1-dense", "weights not seeded", "seed", """
class Dense(Dense):
    def __init__(self, in_features, out_features, seed=0):
        scale = np.sqrt(2.0 / in_features)
        self.W = Parameter(np.random.default_rng().normal(0.0, scale, size=(in_features,
                                                                          out_features)), "W")
        self.b = Parameter(np.zeros(out_features), "b")
""")


def dense_scenario(classes, x, W, b, g):
    """forward then backward of a Dense with these weights: [out, dx, dW, db]."""
    layer = classes[1](len(W), len(W[0]), seed=0)
    layer.W.value, layer.b.value = np.array(W), np.array(b)
    out = layer.forward(np.array(x))
    dx = layer.backward(np.array(g))
    return [out, dx, layer.W.grad, layer.b.grad]


def dense_cases():
    cases = []
    for seed, n, d_in, d_out in [(601, 5, 3, 4), (602, 2, 6, 1), (603, 7, 4, 9)]:
        x, W, b, g = draw(seed, (n, d_in), (d_in, d_out), (d_out,), (n, d_out))
        out = F.dense(x, W, b)
        dx, dW, db = F.dense_backward(g, x, W)
        wants = [out, dx, dW, db]
        wrong = wrong_outputs("ex1-dense", "ex1_classes", dense_scenario, x, W, b, g)
        mistakes = [[(msg, got[i]) for msg, got in wrong if differs(got[i], wants[i])]
                    for i in range(4)]
        cases.append((f"Dense({d_in}, {d_out}) on a batch of {n}", x, W, b, g, out, dx, dW, db,
                      mistakes))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex1-dense-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 1
class _Probe(Layer):   # a layer that returns the training flag it was called with
    def forward(self, x, training=False):
        return training


assert _Probe()(np.zeros(1), training=True) is True, (
    "layer(x, training=True) called forward without the training flag: __call__ must "
    "return self.forward(x, training)")
assert _Probe().parameters() == [], "Layer.parameters() should return an empty list"

layer = Dense(3, 2, seed=0)
assert isinstance(layer.W, Parameter) and isinstance(layer.b, Parameter), (
    "Dense should store its weights and bias as Parameter objects: self.W = Parameter(...)")
assert layer.W.value.shape == (3, 2) and layer.b.value.shape == (2,), (
    f"Dense(3, 2): W should have shape (3, 2) and b (2,), got {layer.W.value.shape} and "
    f"{layer.b.value.shape}")
params = layer.parameters()
assert isinstance(params, list) and len(params) == 2 and params[0] is layer.W and (
    params[1] is layer.b), (
    "Dense.parameters() should return [self.W, self.b]: the optimizer only updates the "
    "parameters this list contains")
assert np.array_equal(Dense(3, 2, seed=5).W.value, Dense(3, 2, seed=5).W.value), (
    "two Dense(3, 2, seed=5) got different weights: draw them from "
    "np.random.default_rng(seed), so that a seed gives the same network every time")
assert not np.array_equal(Dense(3, 2, seed=5).W.value, Dense(3, 2, seed=6).W.value), (
    "Dense(3, 2, seed=5) and seed=6 got the same weights: use the seed argument")
big = Dense(400, 300, seed=1).W.value
assert np.all(Dense(400, 300, seed=1).b.value == 0), "the bias should start at zero"
assert abs(big.mean()) < 0.01 and abs(big.std() - np.sqrt(2 / 400)) < 0.005, (
    f"the weights of Dense(400, 300) should have mean 0 and standard deviation "
    f"sqrt(2 / 400) = {np.sqrt(2 / 400):.4f} (He initialization), got mean {big.mean():.4f} "
    f"and std {big.std():.4f}")

layer.W.value = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
layer.b.value = np.array([0.5, -0.5])
x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]])
out = layer(x)
assert np.array_equal(x, [[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]]), "forward modified its input x"
assert not np.allclose(out, x @ layer.W.value), (
    "the output is x @ W without the bias: add b")
assert np.allclose(out, [[4.5, -1.5], [1.5, -2.5]]), (
    f"Dense forward should be x @ W + b = [[4.5, -1.5], [1.5, -2.5]], got {out}")
g = np.array([[1.0, 2.0], [3.0, -1.0]])
try:
    dx = layer.backward(g)
except ValueError as err:
    raise AssertionError(
        f"Dense(3, 2).backward on a batch of 2 raised ValueError ({err}): check the shapes, "
        f"W.grad = x.T @ grad is (3, 2) and the gradient for x = grad @ W.T is (2, 3)") from None
assert np.shape(layer.W.grad) == (3, 2), (
    f"W.grad should have W's shape (3, 2), got {np.shape(layer.W.grad)}: it is "
    f"x.T @ grad (did you compute grad.T @ x?)")
assert np.allclose(layer.W.grad, [[1.0, 2.0], [-1.0, 5.0], [6.0, 5.0]]), (
    f"W.grad should be x.T @ grad = [[1, 2], [-1, 5], [6, 5]], got {layer.W.grad}")
assert not np.allclose(layer.b.grad, [2.0, 0.5]), (
    "b.grad is the mean of grad over the batch: it is the sum, grad.sum(axis=0)")
assert np.allclose(layer.b.grad, [4.0, 1.0]), (
    f"b.grad should be grad summed over the batch, [4, 1], got {layer.b.grad}")
assert np.shape(dx) == (2, 3), (
    f"backward should return the gradient for x, of x's shape (2, 3), got {np.shape(dx)}: "
    f"it is grad @ W.T")
assert np.allclose(dx, [[1.0, 2.0, -1.0], [3.0, -1.0, 4.0]]), (
    f"backward should return grad @ W.T = [[1, 2, -1], [3, -1, 4]], got {dx}")
print("✅ Layer and Dense pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what, x, W, b, grad, the expected output, dx, dW, db, and for each of the four
# results (message, output) of typical mistakes
_Layer, _Dense = ex1_classes()
_cases = literal(dense_cases())
for _what, _x, _W, _b, _g, _out, _dx, _dW, _db, _mistakes in _cases:
    _layer = _hidden_call(_Dense, (_W.__len__(), _W[0].__len__(), 3), f"creating {_what}")
    _params = _layer.parameters()
    assert _type(_params) is _type([]) and _params.__len__() == 2, (
        f"hidden case {_what}: parameters() should return [W, b]")
    _layer.W.value, _layer.b.value = _hidden_make(_W), _hidden_make(_b)
    _xin, _gin = _hidden_make(_x), _hidden_make(_g)
    _got = _hidden_call(_layer.forward, (_xin, True), f"forward of {_what}")
    _hidden_array(_got, _out, f"the output of {_what}", mistakes=_mistakes[0])
    _got = _hidden_call(_layer.backward, (_gin,), f"backward of {_what}")
    _hidden_array(_got, _dx, f"the gradient for x of {_what}", mistakes=_mistakes[1])
    _hidden_array(_layer.W.grad, _dW, f"W.grad of {_what}", mistakes=_mistakes[2])
    _hidden_array(_layer.b.grad, _db, f"b.grad of {_what}", mistakes=_mistakes[3])
    assert _xin.tolist() == _x and _gin.tolist() == _g, (
        f"hidden case {_what}: forward or backward modified its input in place")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Activation layers
#
# An activation is a layer without parameters. Its backward pass multiplies the incoming
# gradient by the derivative, elementwise, so `forward` caches whatever the derivative needs:
#
# | layer | forward | backward: `grad *` | cache |
# |---|---|---|---|
# | `ReLU` | $\max(x, 0)$ | $1[x > 0]$ (0 at $x = 0$, as in notebook 01) | $x$ |
# | `Sigmoid` | $\sigma(x) = 1 / (1 + e^{-x})$, stably | $\sigma(1 - \sigma)$ | the output |
# | `Tanh` | $\tanh x$ | $1 - \tanh^2 x$ | the output |
#
# **Sigmoid without overflow**: for $x \ge 0$ use $1/(1 + e^{-x})$, for $x < 0$ use
# $e^{x}/(1 + e^{x})$; both only ever exponentiate $-|x|$ (notebook 01).
#
# **Softmax** works on each row: $s_i = e^{x_i - m} / \sum_j e^{x_j - m}$ with $m$ the
# row's max (so nothing overflows). Every output depends on every input of its row, so the
# backward pass is not elementwise: the Jacobian $\partial s_i / \partial x_j = s_i(\delta_{ij}
# - s_j)$ applied to the gradient $g$ gives
#
# $$
# \frac{\partial L}{\partial x} = s \odot \Bigl(g - \sum_j g_j s_j\Bigr)
# $$
#
# (the sum over each row, kept as a column). In practice a classifier ends with raw
# **logits** and a cross-entropy *from logits* (section 5) instead of a `Softmax` layer; the
# layer is for when you want probabilities out of the model.
#
# ### Exercise 2: `ReLU`, `Sigmoid`, `Tanh`, `Softmax` (3 points)
# Each class has `forward(x, training=False)` and `backward(grad)` for arrays of shape
# `(N, D)`, returns new arrays and never modifies its inputs.

# %% nbgrader={"grade": false, "grade_id": "ex2-activations", "locked": false, "schema_version": 3, "solution": true}
class ReLU(Layer):
    """max(x, 0), elementwise."""

    def forward(self, x, training=False):
        ### BEGIN SOLUTION
        self.x = x
        return np.maximum(x, 0.0)
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        return grad * (self.x > 0)
        ### END SOLUTION


class Sigmoid(Layer):
    """1 / (1 + exp(-x)), elementwise, without overflow."""

    def forward(self, x, training=False):
        ### BEGIN SOLUTION
        e = np.exp(-np.abs(x))
        self.out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.out
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        return grad * self.out * (1.0 - self.out)
        ### END SOLUTION


class Tanh(Layer):
    """tanh(x), elementwise."""

    def forward(self, x, training=False):
        ### BEGIN SOLUTION
        self.out = np.tanh(x)
        return self.out
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        return grad * (1.0 - self.out ** 2)
        ### END SOLUTION


class Softmax(Layer):
    """Softmax over each row of x (N, C), without overflow."""

    def forward(self, x, training=False):
        ### BEGIN SOLUTION
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        s = self.out
        return s * (grad - np.sum(grad * s, axis=1, keepdims=True))
        ### END SOLUTION


def ex2_classes():
    """For the grader: the classes of this exercise (leave as is)."""
    return ReLU, Sigmoid, Tanh, Softmax


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 2 and the hidden cases of its test.
mistake("ex2-activations", "ReLU gate x >= 0", "x > 0",
        message="ReLU's backward passes the gradient at x = 0: gate with x > 0", code="""
class ReLU(ReLU):
    def backward(self, grad):
        return grad * (self.x >= 0)
""")
mistake("ex2-activations", "naive sigmoid overflows", "overflow", """
class Sigmoid(Sigmoid):
    def forward(self, x, training=False):
        self.out = 1.0 / (1.0 + np.exp(-x))
        return self.out
""")
mistake("ex2-activations", "tanh derivative from the input", "output",
        message="Tanh's backward used 1 - x**2 of the input: it is 1 - tanh(x)**2, from the "
                "output", code="""
class Tanh(Tanh):
    def forward(self, x, training=False):
        self.x = x
        return np.tanh(x)

    def backward(self, grad):
        return grad * (1.0 - self.x ** 2)
""")
mistake("ex2-activations", "softmax without the max shift", "overflow", """
class Softmax(Softmax):
    def forward(self, x, training=False):
        e = np.exp(x)
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
""")
mistake("ex2-activations", "softmax shifted by one max for the whole batch", "each row", """
class Softmax(Softmax):
    def forward(self, x, training=False):
        e = np.exp(x - x.max())
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
""")
mistake("ex2-activations", "softmax backward elementwise", "Jacobian",
        message="Softmax's backward is s * (1 - s) * grad, elementwise: use the whole "
                "Jacobian, s * (grad - sum(grad * s) of each row)", code="""
class Softmax(Softmax):
    def backward(self, grad):
        return grad * self.out * (1.0 - self.out)
""")
mistake("ex2-activations", "sigmoid backward from the input", "output", """
class Sigmoid(Sigmoid):
    def forward(self, x, training=False):
        self.x = x
        e = np.exp(-np.abs(x))
        self.out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.out

    def backward(self, grad):
        return grad * self.x * (1.0 - self.x)
""")
mistake("ex2-activations", "ReLU modifies its input", "in place", """
class ReLU(ReLU):
    def forward(self, x, training=False):
        self.x = x.copy()
        x[x < 0] = 0.0
        return x
""")


def activation_scenario(classes, index, x, g):
    layer = classes[index]()
    out = layer.forward(np.array(x))
    return [out, layer.backward(np.array(g))]


REFERENCE_ACTIVATIONS = [("ReLU", F.relu, F.relu_backward), ("Sigmoid", F.sigmoid, None),
                         ("Tanh", F.tanh, F.tanh_backward), ("Softmax", F.softmax, None)]


def activation_cases():
    cases = []
    for index, (name, forward, backward) in enumerate(REFERENCE_ACTIVATIONS):
        for seed, shape, scale in [(610 + index, (4, 5), 2.0), (620 + index, (3, 2), 30.0)]:
            x, g = draw(seed, shape, shape, scale=scale)
            x[0, 0] = 0.0   # the kink of ReLU
            if scale > 10:
                x[-1, -1] = 1000.0 if index != 2 else 3.0   # an overflow for a naive exp
            out = forward(x)
            if name == "Sigmoid":
                dx = g * out * (1 - out)
            elif name == "Softmax":
                dx = F.softmax_backward(g, x)
            else:
                dx = backward(g, x)
            wrong = wrong_outputs("ex2-activations", "ex2_classes", activation_scenario,
                                  index, x, g)
            cases.append((f"{name} on an input of shape {shape} (values up to "
                          f"{np.abs(x).max():.4g})", index, x, g, out, dx,
                          [[(m, got[i]) for m, got in wrong if differs(got[i], want)]
                           for i, want in enumerate([out, dx])]))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex2-activations-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 2
x = np.array([[-2.0, 0.0, 3.0]])
relu = ReLU()
out = relu(x)
assert np.array_equal(x, [[-2.0, 0.0, 3.0]]), (
    "ReLU modified its input in place (x[x < 0] = 0): return a new array, np.maximum(x, 0)")
assert np.allclose(out, [[0.0, 0.0, 3.0]]), f"ReLU([[-2, 0, 3]]) should be [[0, 0, 3]], got {out}"
got = relu.backward(np.array([[5.0, 5.0, 5.0]]))
assert np.allclose(got, [[0.0, 0.0, 5.0]]), (
    f"ReLU.backward(5) at x = [[-2, 0, 3]] should be [[0, 0, 5]], got {got}: the derivative "
    f"is 1 where x > 0 and 0 elsewhere, including at x = 0")

x = np.array([[-1000.0, 0.0, 2.0, 1000.0]])
sig = Sigmoid()
with np.errstate(over="raise", invalid="raise"):
    try:
        out = sig(x)
    except FloatingPointError:
        raise AssertionError(
            "Sigmoid overflowed on x = -1000 (np.exp(1000)): use the stable form, which only "
            "exponentiates -|x|") from None
assert np.allclose(out, [[0.0, 0.5, 0.8807970779778823, 1.0]]), (
    f"Sigmoid([[-1000, 0, 2, 1000]]) should be [[0, 0.5, 0.8808, 1]], got {out}")
got = sig.backward(np.ones((1, 4)))
assert np.allclose(got, [[0.0, 0.25, 0.10499358540350662, 0.0]]), (
    f"Sigmoid.backward(1) at x = [[-1000, 0, 2, 1000]] should be s * (1 - s) = "
    f"[[0, 0.25, 0.105, 0]], got {got}: it uses the cached output s, not the input")

tanh = Tanh()
out = tanh(np.array([[0.0, 2.0]]))
got = tanh.backward(np.ones((1, 2)))
assert np.allclose(out, np.tanh([[0.0, 2.0]])), f"Tanh([[0, 2]]) should be np.tanh, got {out}"
assert not np.allclose(got, [[1.0, -3.0]]), (
    "Tanh.backward used 1 - x**2 of the input: the derivative is 1 - tanh(x)**2, from the output")
assert np.allclose(got, 1 - np.tanh([[0.0, 2.0]]) ** 2), (
    f"Tanh.backward(1) at [[0, 2]] should be 1 - tanh(x)**2 = [[1, 0.0707]], got {got}")

soft = Softmax()
x = np.array([[1000.0, 1001.0, 1002.0], [-1002.0, -1001.0, -1000.0]])
with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
    try:
        out = soft(x)
    except FloatingPointError as err:
        raise AssertionError(
            f"Softmax failed on logits near +-1000 ({err}): subtract each row's max, "
            f"x.max(axis=1, keepdims=True), before np.exp (exp(1000) overflows, and one max "
            f"for the whole batch makes exp(-2002) underflow to 0 in the other row)") from None
want = np.array([0.09003057317038046, 0.24472847105479767, 0.6652409557748219])
assert np.allclose(out, [want, want]), (
    f"Softmax of [[1000, 1001, 1002], [-1002, -1001, -1000]] should be two rows of "
    f"{want}, got {out}: shift each row by its own max")
g = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, -1.0]])
got = soft.backward(g)
assert not np.allclose(got, g * out * (1 - out)), (
    "Softmax.backward is s * (1 - s) * grad, elementwise: use the whole Jacobian, "
    "s * (grad - sum(grad * s) of each row)")
assert np.allclose(got, out * (g - np.sum(g * out, axis=1, keepdims=True))), (
    f"Softmax.backward should be s * (grad - (grad * s).sum(axis=1, keepdims=True)), got {got}")
print("✅ the activation layers pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what, which class, x, grad, the expected output and input gradient, and for
# both (message, output) of typical mistakes
_classes = ex2_classes()
_cases = literal(activation_cases())
for _what, _index, _x, _g, _out, _dx, _mistakes in _cases:
    _layer = _classes[_index]()
    _xin, _gin = _hidden_make(_x), _hidden_make(_g)
    _got = _hidden_call(_layer.forward, (_xin, True), f"forward of {_what}",
                        "exponentiate only -|x|, or shift each row by its max")
    _hidden_array(_got, _out, f"the output of {_what}", mistakes=_mistakes[0])
    _got = _hidden_call(_layer.backward, (_gin,), f"backward of {_what}")
    _hidden_array(_got, _dx, f"the input gradient of {_what}", mistakes=_mistakes[1])
    assert _xin.tolist() == _x and _gin.tolist() == _g, (
        f"hidden case {_what}: forward or backward modified its input in place")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. `Dropout`
#
# **Inverted dropout** (notebook 04): while training, each unit is zeroed with probability
# `rate` and the survivors are scaled by $1/(1 - \text{rate})$, so that the expected value of
# every unit is unchanged and nothing needs rescaling at test time:
#
# $$
# \text{mask} = \frac{1[u < 1 - \text{rate}]}{1 - \text{rate}},\quad u \sim U(0, 1), \qquad
# y = x \odot \text{mask}, \qquad \frac{\partial L}{\partial x} = g \odot \text{mask} .
# $$
#
# In evaluation mode (`training=False`) dropout is the identity. The layer owns its random
# generator: `Dropout(rate, seed=0)` creates `self.rng = np.random.default_rng(seed)` once,
# and every training forward pass draws a **new** mask with exactly
# `self.rng.random(x.shape) < 1 - rate` (that exact draw, so that the grader can reproduce
# your masks).
#
# ### Exercise 3: `Dropout` (2 points)
# `forward(x, training=False)` returns `x * mask` when training (a copy of `x` when not, or
# when `rate == 0`); `backward(grad)` returns `grad * mask` (or `grad` after an evaluation
# pass).

# %% nbgrader={"grade": false, "grade_id": "ex3-dropout", "locked": false, "schema_version": 3, "solution": true}
class Dropout(Layer):
    """Inverted dropout: zero each unit with probability rate while training."""

    def __init__(self, rate=0.5, seed=0):
        self.rate = rate
        ### BEGIN SOLUTION
        self.rng = np.random.default_rng(seed)
        ### END SOLUTION

    def forward(self, x, training=False):
        ### BEGIN SOLUTION
        if not training or self.rate == 0:
            self.mask = np.ones_like(x)
            return x.copy()
        keep = 1.0 - self.rate
        self.mask = (self.rng.random(x.shape) < keep) / keep
        return x * self.mask
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        return grad * self.mask
        ### END SOLUTION


def ex3_classes():
    """For the grader: the classes of this exercise (leave as is)."""
    return Dropout


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 3 and the hidden cases of its test.
mistake("ex3-dropout", "survivors not scaled", "1 - rate",
        message="the kept units were not scaled: divide the mask by 1 - rate", code="""
class Dropout(Dropout):
    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = np.ones_like(x)
            return x.copy()
        self.mask = (self.rng.random(x.shape) < 1.0 - self.rate) * 1.0
        return x * self.mask
""")
mistake("ex3-dropout", "rate used as the keep probability", "probability of dropping",
        code="""
class Dropout(Dropout):
    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = np.ones_like(x)
            return x.copy()
        self.mask = (self.rng.random(x.shape) < self.rate) / self.rate
        return x * self.mask
""")
mistake("ex3-dropout", "dropout also in evaluation mode", "training=False", """
class Dropout(Dropout):
    def forward(self, x, training=False):
        keep = 1.0 - self.rate
        self.mask = (self.rng.random(x.shape) < keep) / keep
        return x * self.mask
""")
mistake("ex3-dropout", "backward ignores the mask", "mask", """
class Dropout(Dropout):
    def backward(self, grad):
        return grad
""")
mistake("ex3-dropout", "the same mask at every call", "new mask",
        message="every call drew the same mask: create the generator once, in __init__, "
                "and draw a new mask from it at each training pass", code="""
class Dropout(Dropout):
    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = np.ones_like(x)
            return x.copy()
        keep = 1.0 - self.rate
        self.mask = (np.random.default_rng(0).random(x.shape) < keep) / keep
        return x * self.mask
""")


def dropout_scenario(classes, rate, seed, x, g):
    layer = classes(rate, seed=seed)
    outs = [layer.forward(np.array(x), True), layer.forward(np.array(x), True)]
    return [outs[0], outs[1], layer.backward(np.array(g))]


def dropout_cases():
    cases = []
    for seed, shape, rate in [(631, (6, 5), 0.3), (632, (4, 9), 0.5), (633, (20, 3), 0.1)]:
        x, g = draw(seed, shape, shape)
        rng = np.random.default_rng(seed)
        out1, _ = F.dropout(x, rate, rng)
        out2, mask2 = F.dropout(x, rate, rng)
        wants = [out1, out2, F.dropout_backward(g, mask2)]
        wrong = wrong_outputs("ex3-dropout", "ex3_classes", dropout_scenario, rate, seed, x, g)
        cases.append((f"Dropout({rate}, seed={seed}) on shape {shape}", rate, seed, x, g, wants,
                      [[(m, got[i]) for m, got in wrong if differs(got[i], want)]
                       for i, want in enumerate(wants)]))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex3-dropout-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 3
x = np.ones((200, 100))
drop = Dropout(0.2, seed=0)
out = drop(x)
assert np.array_equal(out, x) and out is not x, (
    "Dropout in evaluation mode (training=False, the default) should return a copy of x "
    "unchanged: dropout only acts while training")
out = drop(x, training=True)
zeros = np.mean(out == 0)
assert abs(zeros - 0.2) < 0.02 or abs(zeros - 0.8) > 0.05, (
    f"Dropout(0.2) zeroed {zeros:.0%} of the units: rate is the probability of dropping a "
    f"unit, so keep a unit where rng.random(x.shape) < 1 - rate")
assert abs(zeros - 0.2) < 0.02, f"Dropout(0.2) should zero about 20% of the units, got {zeros:.0%}"
assert np.allclose(out[out != 0], 1.25), (
    f"the kept units should be scaled by 1 / (1 - rate) = 1.25, got values "
    f"{np.unique(out[out != 0])[:3]}: divide the mask by 1 - rate")
again = drop(x, training=True)
assert not np.array_equal(out, again), (
    "two training passes drew the same mask: create the generator once (in __init__) and "
    "draw a new mask from it at each call")
g = np.arange(200 * 100, dtype=float).reshape(200, 100)
got = drop.backward(g)
assert np.allclose(got, g * again), (
    "Dropout.backward should multiply grad by the mask of the last forward pass "
    "(grad * mask), so that dropped units get no gradient")
print("✅ Dropout passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what, rate, seed, x, grad, [output of two training passes, input gradient], and
# for each (message, output) of typical mistakes
_Dropout = ex3_classes()
_cases = literal(dropout_cases())
for _what, _rate, _seed, _x, _g, _wants, _mistakes in _cases:
    _layer = _hidden_call(_Dropout, (_rate, _seed), f"creating {_what}")
    _i = 0
    for _want in _wants[:2]:
        _got = _hidden_call(_layer.forward, (_hidden_make(_x), True), f"forward of {_what}")
        _hidden_array(_got, _want, f"training pass {_i + 1} of {_what} (the mask drawn with "
                      f"self.rng.random(x.shape) < 1 - rate)", mistakes=_mistakes[_i])
        _i += 1
    _got = _hidden_call(_layer.backward, (_hidden_make(_g),), f"backward of {_what}")
    _hidden_array(_got, _wants[2], f"the input gradient of {_what}", mistakes=_mistakes[2])
    _got = _hidden_call(_layer.forward, (_hidden_make(_x), False), f"eval pass of {_what}")
    _hidden_array(_got, _x, f"evaluation pass of {_what} (the identity)")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. `BatchNorm`
#
# **Batch normalization** (notebook 05) normalizes each feature over the batch, then lets
# the network rescale it with learned $\gamma$ and $\beta$ (shape $(D,)$, starting at ones
# and zeros):
#
# $$
# \mu = \frac1N \sum_n x_n, \quad \sigma^2 = \frac1N \sum_n (x_n - \mu)^2, \quad
# \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \quad y = \gamma \hat x + \beta .
# $$
#
# While training, it also keeps **running statistics** for evaluation (PyTorch's convention,
# `momentum` = 0.1, the running variance unbiased):
# $\text{rm} \leftarrow (1 - m)\,\text{rm} + m\,\mu$,
# $\text{rv} \leftarrow (1 - m)\,\text{rv} + m\,\sigma^2 \frac{N}{N - 1}$, starting at zeros
# and ones. In evaluation mode the running statistics replace $\mu$ and $\sigma^2$ and are
# not updated.
#
# Backward, with $g = \partial L/\partial y$: $\partial L/\partial\gamma = \sum_n g \odot
# \hat x$, $\partial L/\partial\beta = \sum_n g$ and, because $\mu$ and $\sigma^2$ depend
# on every $x_n$ when training,
#
# $$
# \frac{\partial L}{\partial x} = \frac{\gamma}{N\sqrt{\sigma^2 + \varepsilon}}
#   \Bigl(N g - \sum_n g - \hat x \sum_n g \odot \hat x\Bigr)
# $$
#
# (in evaluation mode simply $\gamma g / \sqrt{\text{rv} + \varepsilon}$).
#
# ### Exercise 4: `BatchNorm` (3 points)
# `BatchNorm(num_features, momentum=0.1, eps=1e-5)` with `self.gamma`, `self.beta`
# (`Parameter`s) and the arrays `self.running_mean`, `self.running_var`;
# `parameters()` returns `[self.gamma, self.beta]`.

# %% nbgrader={"grade": false, "grade_id": "ex4-batchnorm", "locked": false, "schema_version": 3, "solution": true}
class BatchNorm(Layer):
    """Batch normalization of x (N, num_features) over the batch axis."""

    def __init__(self, num_features, momentum=0.1, eps=1e-5):
        self.momentum, self.eps = momentum, eps
        ### BEGIN SOLUTION
        self.gamma = Parameter(np.ones(num_features), "gamma")
        self.beta = Parameter(np.zeros(num_features), "beta")
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        ### END SOLUTION

    def forward(self, x, training=False):
        ### BEGIN SOLUTION
        if training:
            n = x.shape[0]
            mu, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mu
            self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mu, var = self.running_mean, self.running_var
        self.training = training
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mu) * self.inv_std
        return self.gamma.value * self.x_hat + self.beta.value
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        self.gamma.grad = np.sum(grad * self.x_hat, axis=0)
        self.beta.grad = np.sum(grad, axis=0)
        scale = self.gamma.value * self.inv_std
        if not self.training:
            return grad * scale
        n = grad.shape[0]
        return scale / n * (n * grad - self.beta.grad - self.x_hat * self.gamma.grad)
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION
        return [self.gamma, self.beta]
        ### END SOLUTION


def ex4_classes():
    """For the grader: the classes of this exercise (leave as is)."""
    return BatchNorm


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 4 and the hidden cases of its test.
BN_FORWARD = """
class BatchNorm(BatchNorm):
    def forward(self, x, training=False):
        if training:
            n = x.shape[0]
            mu, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mu
            self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mu, var = self.running_mean, self.running_var
        self.training = training
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = (x - mu) * self.inv_std
        return self.gamma.value * self.x_hat + self.beta.value
"""
mistake("ex4-batchnorm", "evaluation uses the batch statistics", "running", """
class BatchNorm(BatchNorm):
    def forward(self, x, training=False):
        return super().forward(x, True)
""")
mistake("ex4-batchnorm", "running variance biased", "N / (N - 1)",
        message="the running variance moved towards the biased batch variance: multiply it "
                "by N / (N - 1)", code=BN_FORWARD.replace("var * n / (n - 1)", "var"))
mistake("ex4-batchnorm", "momentum the wrong way round", "momentum",
        message="the running statistics kept only momentum of the old value: rm = (1 - "
                "momentum) * rm + momentum * batch mean", code="""
class BatchNorm(BatchNorm):
    def forward(self, x, training=False):
        self.momentum = 1 - self.momentum
        try:
            return super().forward(x, training)
        finally:
            self.momentum = 1 - self.momentum
""")
mistake("ex4-batchnorm", "backward treats the statistics as constants", "depend on",
        message="the input gradient is gamma * grad / std: while training, the batch mean "
                "and variance depend on x: use the full formula", code="""
class BatchNorm(BatchNorm):
    def backward(self, grad):
        super().backward(grad)
        return grad * self.gamma.value * self.inv_std
""")
mistake("ex4-batchnorm", "eps outside the square root", "eps",
        message="eps was added outside the square root: divide by sqrt(var + eps)",
        code=BN_FORWARD.replace("np.sqrt(var + self.eps)", "(np.sqrt(var) + self.eps)"))
mistake("ex4-batchnorm", "gamma gradient without x_hat", "x_hat", """
class BatchNorm(BatchNorm):
    def backward(self, grad):
        dx = super().backward(grad)
        self.gamma.grad = np.sum(grad, axis=0)
        return dx
""")


def batchnorm_scenario(classes, momentum, x, g, steps):
    layer = classes(len(x[0]), momentum=momentum)
    layer.gamma.value, layer.beta.value = np.linspace(0.5, 2.0, len(x[0])), np.full(len(x[0]),
                                                                                   0.1)
    for _ in range(steps):
        out = layer.forward(np.array(x), True)
    dx = layer.backward(np.array(g))
    rm, rv = layer.running_mean, layer.running_var
    ev = layer.forward(np.array(x), False)
    return [out, dx, layer.gamma.grad, layer.beta.grad, rm, rv, ev, layer.backward(np.array(g))]


def batchnorm_cases():
    cases = []
    for seed, shape, momentum, steps in [(641, (8, 3), 0.1, 1), (642, (5, 6), 0.3, 3),
                                         (643, (16, 2), 0.05, 2)]:
        x, g = draw(seed, shape, shape)
        x = short(x * 3 + 2)
        d = shape[1]
        gamma, beta = np.linspace(0.5, 2.0, d), np.full(d, 0.1)
        rm, rv = np.zeros(d), np.ones(d)
        for _ in range(steps):
            out, cache, rm, rv = F.batch_norm(x, gamma, beta, rm, rv, True, momentum)
        dx, dgamma, dbeta = F.batch_norm_backward(g, cache)
        ev, ecache, _, _ = F.batch_norm(x, gamma, beta, rm, rv, False, momentum)
        edx = F.batch_norm_backward(g, ecache)[0]
        wants = [out, dx, dgamma, dbeta, rm, rv, ev, edx]
        wrong = wrong_outputs("ex4-batchnorm", "ex4_classes", batchnorm_scenario, momentum,
                              x, g, steps)
        cases.append((f"BatchNorm({d}, momentum={momentum}) after {steps} training pass(es) "
                      f"on a batch of shape {shape}", momentum, steps, x, g, gamma, beta, wants,
                      [[(m, got[i]) for m, got in wrong if differs(got[i], want)]
                       for i, want in enumerate(wants)]))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex4-batchnorm-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 4
bn = BatchNorm(2)
assert [p.value.tolist() for p in bn.parameters()] == [[1.0, 1.0], [0.0, 0.0]], (
    "BatchNorm(2).parameters() should be [gamma, beta], starting at ones and zeros")
x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 40.0], [7.0, 20.0]])
out = bn(x, training=True)
assert np.allclose(out.mean(axis=0), 0) and np.allclose(out.std(axis=0), 1, atol=1e-4), (
    f"in training mode each feature of the output should have mean 0 and std 1 over the "
    f"batch, got means {out.mean(axis=0)} and stds {out.std(axis=0)}")
tiny = BatchNorm(1, eps=0.5)
got = tiny(np.array([[0.0], [2.0]]), training=True)
assert np.allclose(got, [[-1 / np.sqrt(1.5)], [1 / np.sqrt(1.5)]]), (
    f"BatchNorm(1, eps=0.5) of [[0], [2]] should be [[-0.8165], [0.8165]] = (x - 1) / "
    f"sqrt(1 + 0.5), got {got.ravel()}: eps goes inside the square root")
assert np.allclose(bn.running_mean, [0.4, 2.0]), (
    f"after one training pass with momentum 0.1 the running mean should be 0.1 * the batch "
    f"mean = [0.4, 2.0], got {bn.running_mean}: rm = (1 - momentum) * rm + momentum * mean")
assert not np.allclose(bn.running_var, [0.9 + 0.1 * 5.0, 0.9 + 0.1 * 150.0]), (
    "the running variance moved towards the biased batch variance: multiply it by "
    "N / (N - 1) (the unbiased estimate, PyTorch's convention)")
assert np.allclose(bn.running_var, [0.9 + 0.1 * 20 / 3, 0.9 + 0.1 * 200.0]), (
    f"after one training pass the running variance should be 0.9 + 0.1 * var * N / (N - 1) "
    f"= [1.5667, 20.9], got {bn.running_var}")
g = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
dx = bn.backward(g)
x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)
assert np.allclose(bn.gamma.grad, np.sum(g * x_hat, axis=0)) and np.allclose(
    bn.beta.grad, [1.0, 1.0]), (
    f"gamma.grad should be sum(grad * x_hat) = {np.sum(g * x_hat, axis=0)} and beta.grad "
    f"sum(grad) = [1, 1], got {bn.gamma.grad} and {bn.beta.grad}")
assert not np.allclose(dx, g / np.sqrt(x.var(axis=0) + 1e-5)), (
    "the input gradient is gamma * grad / std: while training, the batch mean and variance "
    "depend on x, so use the full formula")
want = np.sum(g, axis=0)
want = (1 / (4 * np.sqrt(x.var(axis=0) + 1e-5))) * (4 * g - want - x_hat * np.sum(g * x_hat,
                                                                                  axis=0))
assert np.allclose(dx, want), f"the input gradient should be\n{want}\ngot\n{dx}"
ev = bn(x)   # evaluation: the running statistics
assert np.allclose(bn.running_mean, [0.4, 2.0]), "evaluation mode must not update the running mean"
assert np.allclose(ev, (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5)), (
    "in evaluation mode (training=False) BatchNorm should normalize with the running "
    "statistics, not with the batch's")
print("✅ BatchNorm passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what, momentum, number of training passes, x, grad, gamma, beta, the expected
# [output, dx, dgamma, dbeta, running mean, running var, eval output, eval dx], and for each
# (message, output) of typical mistakes
_BatchNorm = ex4_classes()
_names = ["the training output", "the input gradient", "gamma.grad", "beta.grad",
          "the running mean", "the running variance", "the evaluation output",
          "the input gradient in evaluation mode"]
_cases = literal(batchnorm_cases())
for _what, _momentum, _steps, _x, _g, _gamma, _beta, _wants, _mistakes in _cases:
    _layer = _hidden_call(_BatchNorm, (_gamma.__len__(), _momentum), f"creating {_what}")
    _layer.gamma.value, _layer.beta.value = _hidden_make(_gamma), _hidden_make(_beta)
    _xin = _hidden_make(_x)
    for _step in _wants[:_steps]:
        _out = _hidden_call(_layer.forward, (_xin, True), f"forward of {_what}")
    _dx = _hidden_call(_layer.backward, (_hidden_make(_g),), f"backward of {_what}")
    _got = [_out, _dx, _layer.gamma.grad, _layer.beta.grad, _layer.running_mean,
            _layer.running_var]
    _got.append(_hidden_call(_layer.forward, (_xin, False), f"evaluation forward of {_what}"))
    _got.append(_hidden_call(_layer.backward, (_hidden_make(_g),), f"eval backward of {_what}"))
    _i = 0
    for _want in _wants:
        _hidden_array(_got[_i], _want, f"{_names[_i]} of {_what}", rtol=1e-5, atol=1e-7,
                      mistakes=_mistakes[_i])
        _i += 1
    assert _xin.tolist() == _x, f"hidden case {_what}: BatchNorm modified its input in place"
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Losses
#
# A loss object has `forward(pred, target) -> float` (the mean over the batch) and
# `backward() -> dL/dpred`, of `pred`'s shape; `forward` caches what `backward` needs, as a
# layer does.
#
# - `MSE`: $L = \frac{1}{n}\sum (p - t)^2$ over **all** $n$ = `pred.size` elements;
#   $\partial L/\partial p = 2(p - t)/n$.
# - `CrossEntropy`: from **logits** $z$ of shape $(N, C)$ and integer labels $y$ of shape
#   $(N,)$: $L = -\frac1N \sum_n \log \text{softmax}(z_n)_{y_n}$, computed with the
#   log-sum-exp trick, $\log\text{softmax}(z)_c = z_c - m - \log\sum_j e^{z_j - m}$ ($m$ the
#   row's max); $\partial L/\partial z = (\text{softmax}(z) - \text{onehot}(y)) / N$
#   (notebook 02's `softmax_cross_entropy`).
# - `BinaryCrossEntropy`: from logits $z$ and targets $t \in \{0, 1\}$ of the same shape,
#   mean over all $n$ elements, in the stable form of notebook 01:
#   $L = \frac1n\sum \bigl(\max(z, 0) - z t + \log(1 + e^{-|z|})\bigr)$;
#   $\partial L/\partial z = (\sigma(z) - t)/n$.
#
# ### Exercise 5: `MSE`, `CrossEntropy`, `BinaryCrossEntropy` (3 points)
# `forward` returns a Python `float`; nothing may overflow for logits of $\pm 10^4$.

# %% nbgrader={"grade": false, "grade_id": "ex5-losses", "locked": false, "schema_version": 3, "solution": true}
class MSE:
    """Mean squared error over every element."""

    def forward(self, pred, target):
        ### BEGIN SOLUTION
        self.diff = pred - target
        return float(np.mean(self.diff ** 2))
        ### END SOLUTION

    def backward(self):
        ### BEGIN SOLUTION
        return 2.0 * self.diff / self.diff.size
        ### END SOLUTION


class CrossEntropy:
    """Softmax cross-entropy from logits (N, C) and integer labels (N,), mean over the batch."""

    def forward(self, pred, target):
        ### BEGIN SOLUTION
        shifted = pred - pred.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.probs, self.target = np.exp(log_p), np.asarray(target)
        rows = np.arange(pred.shape[0])
        return float(-np.mean(log_p[rows, self.target]))
        ### END SOLUTION

    def backward(self):
        ### BEGIN SOLUTION
        grad = self.probs.copy()
        n = grad.shape[0]
        grad[np.arange(n), self.target] -= 1.0
        return grad / n
        ### END SOLUTION


class BinaryCrossEntropy:
    """Binary cross-entropy from logits, mean over every element."""

    def forward(self, pred, target):
        ### BEGIN SOLUTION
        self.pred, self.target = pred, target
        losses = np.maximum(pred, 0) - pred * target + np.log1p(np.exp(-np.abs(pred)))
        return float(np.mean(losses))
        ### END SOLUTION

    def backward(self):
        ### BEGIN SOLUTION
        e = np.exp(-np.abs(self.pred))
        sig = np.where(self.pred >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return (sig - self.target) / self.pred.size
        ### END SOLUTION


def ex5_classes():
    """For the grader: the classes of this exercise (leave as is)."""
    return MSE, CrossEntropy, BinaryCrossEntropy


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 5 and the hidden cases of its test.
mistake("ex5-losses", "MSE gradient divided by the batch size", "pred.size",
        message="MSE's gradient was divided by the batch size: the mean is over all "
                "pred.size elements, 2 * (pred - target) / pred.size", code="""
class MSE(MSE):
    def backward(self):
        return 2.0 * self.diff / self.diff.shape[0]
""")
mistake("ex5-losses", "MSE as a sum", "mean",
        message="MSE summed the squared errors: take the mean", code="""
class MSE(MSE):
    def forward(self, pred, target):
        self.diff = pred - target
        return float(np.sum(self.diff ** 2))
""")
mistake("ex5-losses", "cross-entropy without the max shift", "log-sum-exp", """
class CrossEntropy(CrossEntropy):
    def forward(self, pred, target):
        p = np.exp(pred) / np.exp(pred).sum(axis=1, keepdims=True)
        self.probs, self.target = p, np.asarray(target)
        return float(-np.mean(np.log(p[np.arange(pred.shape[0]), self.target])))
""")
mistake("ex5-losses", "cross-entropy gradient not divided by N", "/ N",
        message="the gradient of the cross-entropy was not divided by the batch size N: "
                "(softmax - onehot) / N", code="""
class CrossEntropy(CrossEntropy):
    def backward(self):
        grad = self.probs.copy()
        grad[np.arange(grad.shape[0]), self.target] -= 1.0
        return grad
""")
mistake("ex5-losses", "cross-entropy summed over the batch", "mean",
        message="the cross-entropy was summed over the batch: take the mean", code="""
class CrossEntropy(CrossEntropy):
    def forward(self, pred, target):
        return super().forward(pred, target) * pred.shape[0]
""")
mistake("ex5-losses", "binary cross-entropy from the naive sigmoid", "stable", """
class BinaryCrossEntropy(BinaryCrossEntropy):
    def forward(self, pred, target):
        self.pred, self.target = pred, target
        p = 1.0 / (1.0 + np.exp(-pred))
        return float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))
""")
mistake("ex5-losses", "binary cross-entropy gradient not divided", "/ n",
        message="the gradient of the binary cross-entropy was not divided by the number of "
                "elements n = pred.size: (sigmoid(z) - t) / n", code="""
class BinaryCrossEntropy(BinaryCrossEntropy):
    def backward(self):
        return super().backward() * self.pred.size
""")


def loss_scenario(classes, index, pred, target):
    loss = classes[index]()
    value = loss.forward(np.array(pred), np.array(target))
    return [value, loss.backward()]


def loss_cases():
    cases = []
    specs = [(0, 651, (4, 3), None), (0, 652, (7,), None), (1, 653, (5, 4), 4),
             (1, 654, (3, 6), 6), (2, 655, (6, 1), 2), (2, 656, (3, 4), 2)]
    for index, seed, shape, classes in specs:
        rng = np.random.default_rng(seed)
        pred = short(rng.normal(scale=3.0, size=shape))
        if index == 0:
            target = short(rng.normal(size=shape))
            value, grad = F.mse(pred, target), F.mse_backward(pred, target)
        elif index == 1:
            pred[0, 0] = 1.0e4   # log-sum-exp needed
            target = rng.integers(0, classes, size=shape[0])
            value = F.cross_entropy(pred, target)
            grad = F.cross_entropy_backward(pred, target)
        else:
            pred.flat[0] = -1.0e4
            target = rng.integers(0, 2, size=shape).astype(float)
            target.flat[0] = 1.0
            value = F.binary_cross_entropy(pred, target)
            grad = F.binary_cross_entropy_backward(pred, target)
        wrong = wrong_outputs("ex5-losses", "ex5_classes", loss_scenario, index, pred, target)
        name = ["MSE", "CrossEntropy", "BinaryCrossEntropy"][index]
        cases.append((f"{name} on predictions of shape {shape}", index, pred, target,
                      "i8" if index == 1 else "f8", value, grad,
                      [[(m, got[i]) for m, got in wrong if differs(got[i], want)]
                       for i, want in enumerate([value, grad])]))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex5-losses-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 5
mse_loss = MSE()
value = mse_loss.forward(np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[1.0, 3.0], [0.0, 0.0]]))
assert isinstance(value, float), f"MSE.forward should return a float, got {type(value).__name__}"
assert value != 10.0, "MSE summed the squared errors: take the mean (np.mean)"
assert np.isclose(value, 2.5), f"MSE of errors [[1, 3], [0, 0]] should be 10 / 4 = 2.5, got {value}"
grad = mse_loss.backward()
assert not np.allclose(grad, [[-1.0, -3.0], [0.0, 0.0]]), (
    "MSE's gradient was divided by the batch size (2): the mean is over all pred.size = 4 "
    "elements, so the gradient is 2 * (pred - target) / pred.size")
assert np.allclose(grad, [[-0.5, -1.5], [0.0, 0.0]]), (
    f"MSE.backward should be 2 * (pred - target) / pred.size = [[-0.5, -1.5], [0, 0]], got "
    f"{grad}")

ce = CrossEntropy()
logits = np.array([[0.0, 0.0], [1e4, -1e4]])
with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
    try:
        value = ce.forward(logits, np.array([1, 0]))
    except FloatingPointError as err:
        raise AssertionError(
            f"CrossEntropy failed on logits of +-1e4 ({err}): compute log-softmax with the "
            f"log-sum-exp trick, subtracting each row's max before np.exp") from None
assert isinstance(value, float), f"CrossEntropy.forward should return a float, got {value!r}"
assert not np.isclose(value, np.log(2)), (
    "the cross-entropy was summed over the batch: take the mean over the N examples")
assert np.isclose(value, np.log(2) / 2), (
    f"CrossEntropy of logits [[0, 0], [1e4, -1e4]] with labels [1, 0] should be "
    f"log(2) / 2 = 0.3466, got {value}")
grad = ce.backward()
assert not np.allclose(grad, [[0.5, -0.5], [0.0, 0.0]]), (
    "the gradient of the cross-entropy was not divided by the batch size N: it is "
    "(softmax(z) - onehot(y)) / N")
assert np.allclose(grad, [[0.25, -0.25], [0.0, 0.0]]), (
    f"CrossEntropy.backward should be (softmax - onehot) / N = [[0.25, -0.25], [0, 0]], got "
    f"{grad}")

bce = BinaryCrossEntropy()
z, t = np.array([[-1e4], [0.0], [1e4], [2.0]]), np.array([[1.0], [0.0], [1.0], [0.0]])
with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
    try:
        value = bce.forward(z, t)
    except FloatingPointError as err:
        raise AssertionError(
            f"BinaryCrossEntropy failed on logits of +-1e4 ({err}): use the stable form "
            f"max(z, 0) - z * t + log1p(exp(-|z|)), which never takes log(0)") from None
want = (1e4 + np.log(2) + 0 + 2 + np.log1p(np.exp(-2))) / 4
assert np.isclose(value, want), (
    f"BinaryCrossEntropy of z = [-1e4, 0, 1e4, 2], t = [1, 0, 1, 0] should be {want:.6f}, "
    f"got {value}: use the stable form max(z, 0) - z * t + log1p(exp(-|z|))")
grad = bce.backward()
want = (1 / (1 + np.exp(-np.array([[-30.0], [0.0], [30.0], [2.0]]))) - t) / 4
assert not np.allclose(grad, want * 4), (
    "the gradient of the binary cross-entropy was not divided by the number of elements "
    "n = pred.size: it is (sigmoid(z) - t) / n")
assert np.allclose(grad, want), f"BinaryCrossEntropy.backward should be\n{want}\ngot\n{grad}"
print("✅ the losses pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what, which class, pred, target and its dtype, the expected loss and gradient,
# and for both (message, output) of typical mistakes
_classes = ex5_classes()
_cases = literal(loss_cases())
for _what, _index, _pred, _target, _dtype, _value, _grad, _mistakes in _cases:
    _loss = _classes[_index]()
    _p, _t = _hidden_make(_pred), _hidden_make(_target, _dtype)
    _got = _hidden_call(_loss.forward, (_p, _t), f"forward of {_what}",
                        "compute it stably from the logits (log-sum-exp, log1p(exp(-|z|)))")
    _hidden_float(_got, _value, f"the loss of {_what}", rtol=1e-6, mistakes=_mistakes[0])
    _got = _hidden_call(_loss.backward, (), f"backward of {_what}")
    _hidden_array(_got, _grad, f"the gradient of {_what}", mistakes=_mistakes[1])
    assert _p.tolist() == _pred and _t.tolist() == _target, (
        f"hidden case {_what}: the loss modified pred or target in place")
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Optimizers
#
# An optimizer object is an update rule of notebook 03 plus the bookkeeping of its state:
# `step(params)` goes through the list of `Parameter`s and updates each `p.value` **in
# place** from `p.grad`. State such as a velocity belongs to **one** parameter: keep it in a
# dictionary keyed by `id(p)`, created as zeros the first time a parameter is seen.
#
# - `SGD(lr)`: $\theta \leftarrow \theta - \eta g$.
# - `Momentum(lr, beta=0.9)`: $v \leftarrow \beta v + g$, $\theta \leftarrow \theta - \eta v$.
# - `Adam(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)`: a step counter $t$, incremented once
#   per call of `step` (before the update, so the first step has $t = 1$);
#   $m \leftarrow \beta_1 m + (1 - \beta_1) g$, $v \leftarrow \beta_2 v + (1 - \beta_2) g^2$,
#   $\hat m = m / (1 - \beta_1^t)$, $\hat v = v / (1 - \beta_2^t)$,
#   $\theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \varepsilon)$.
#
# ### Exercise 6: `SGD`, `Momentum`, `Adam` (3 points)

# %% nbgrader={"grade": false, "grade_id": "ex6-optimizers", "locked": false, "schema_version": 3, "solution": true}
class SGD:
    """Plain gradient descent."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params):
        ### BEGIN SOLUTION
        for p in params:
            p.value -= self.lr * p.grad
        ### END SOLUTION


class Momentum:
    """Heavy-ball momentum, one velocity per parameter."""

    def __init__(self, lr=0.01, beta=0.9):
        self.lr, self.beta = lr, beta
        self.velocity = {}

    def step(self, params):
        ### BEGIN SOLUTION
        for p in params:
            v = self.beta * self.velocity.get(id(p), 0.0) + p.grad
            self.velocity[id(p)] = v
            p.value -= self.lr * v
        ### END SOLUTION


class Adam:
    """Adam with bias correction, moments per parameter."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params):
        ### BEGIN SOLUTION
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        for p in params:
            m = b1 * self.m.get(id(p), 0.0) + (1 - b1) * p.grad
            v = b2 * self.v.get(id(p), 0.0) + (1 - b2) * p.grad ** 2
            self.m[id(p)], self.v[id(p)] = m, v
            m_hat, v_hat = m / (1 - b1 ** self.t), v / (1 - b2 ** self.t)
            p.value -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        ### END SOLUTION


def ex6_classes():
    """For the grader: the classes of this exercise (leave as is)."""
    return SGD, Momentum, Adam


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 6 and the hidden cases of its test.
mistake("ex6-optimizers", "SGD climbs the gradient", "sign",
        message="SGD moved the parameters along the gradient: the sign is wrong, "
                "value - lr * grad", code="""
class SGD(SGD):
    def step(self, params):
        for p in params:
            p.value += self.lr * p.grad
""")
mistake("ex6-optimizers", "one velocity shared by every parameter", "per parameter",
        message="the velocity was shared between parameters: keep one per parameter, in a "
                "dict keyed by id(p)", code="""
class Momentum(Momentum):
    def step(self, params):
        for p in params:
            v = self.beta * self.velocity.get("all", 0.0) + p.grad
            self.velocity["all"] = v
            p.value -= self.lr * v
""")
mistake("ex6-optimizers", "momentum steps with the old velocity", "new velocity",
        message="Momentum stepped with the old velocity: update v first, then "
                "value -= lr * v", code="""
class Momentum(Momentum):
    def step(self, params):
        for p in params:
            old = self.velocity.get(id(p), 0.0)
            self.velocity[id(p)] = self.beta * old + p.grad
            p.value -= self.lr * old
""")
mistake("ex6-optimizers", "Adam without bias correction", "bias correction",
        message="Adam stepped without bias correction: divide m by 1 - beta1**t and v by "
                "1 - beta2**t", code="""
class Adam(Adam):
    def step(self, params):
        self.t += 1
        for p in params:
            m = self.beta1 * self.m.get(id(p), 0.0) + (1 - self.beta1) * p.grad
            v = self.beta2 * self.v.get(id(p), 0.0) + (1 - self.beta2) * p.grad ** 2
            self.m[id(p)], self.v[id(p)] = m, v
            p.value -= self.lr * m / (np.sqrt(v) + self.eps)
""")
mistake("ex6-optimizers", "Adam's step counter counted per parameter", "once per call",
        message="Adam's t was incremented for every parameter: increment it once per call "
                "of step", code="""
class Adam(Adam):
    def step(self, params):
        for p in params:
            self.t += 1
            m = self.beta1 * self.m.get(id(p), 0.0) + (1 - self.beta1) * p.grad
            v = self.beta2 * self.v.get(id(p), 0.0) + (1 - self.beta2) * p.grad ** 2
            self.m[id(p)], self.v[id(p)] = m, v
            m_hat, v_hat = m / (1 - self.beta1 ** self.t), v / (1 - self.beta2 ** self.t)
            p.value -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
""")
mistake("ex6-optimizers", "Adam's eps inside the square root", "eps",
        message="Adam's eps went inside the square root: divide by sqrt(v_hat) + eps",
        code="""
class Adam(Adam):
    def step(self, params):
        self.t += 1
        for p in params:
            m = self.beta1 * self.m.get(id(p), 0.0) + (1 - self.beta1) * p.grad
            v = self.beta2 * self.v.get(id(p), 0.0) + (1 - self.beta2) * p.grad ** 2
            self.m[id(p)], self.v[id(p)] = m, v
            m_hat, v_hat = m / (1 - self.beta1 ** self.t), v / (1 - self.beta2 ** self.t)
            p.value -= self.lr * m_hat / np.sqrt(v_hat + self.eps)
""")
mistake("ex6-optimizers", "SGD returns new arrays instead of updating", "in place", """
class SGD(SGD):
    def step(self, params):
        return [p.value - self.lr * p.grad for p in params]
""")


class _P:   # a stand-in for the notebook's Parameter, at render time
    def __init__(self, value):
        self.value, self.grad = np.array(value, dtype=float), None


def optimizer_scenario(classes, index, hyper, values, grads):
    opt = classes[index](*hyper)
    params = [_P(v) for v in values]
    for step in grads:
        for p, g in zip(params, step):
            p.grad = np.array(g)
        opt.step(params)
    return [p.value for p in params]


def reference_steps(index, hyper, values, grads):
    values = [np.array(v) for v in values]
    state = [[np.zeros_like(v), np.zeros_like(v)] for v in values]
    for t, step in enumerate(grads, start=1):
        for i, g in enumerate(step):
            if index == 0:
                values[i] = F.sgd(values[i], g, *hyper)
            elif index == 1:
                values[i], state[i][0] = F.momentum(values[i], g, state[i][0], *hyper)
            else:
                values[i], state[i][0], state[i][1] = F.adam(values[i], g, state[i][0],
                                                             state[i][1], t, *hyper)
    return values


def optimizer_cases():
    cases = []
    for index, seed, hyper in [(0, 661, (0.1,)), (1, 662, (0.05, 0.8)), (1, 663, (0.1, 0.95)),
                               (2, 664, (0.01, 0.9, 0.999, 1e-8)),
                               (2, 665, (0.05, 0.8, 0.99, 1e-3))]:
        values = draw(seed, (3, 2), (2,))
        grads = [draw(seed * 10 + k, (3, 2), (2,), scale=2.0) for k in range(4)]
        wants = reference_steps(index, hyper, values, grads)
        wrong = wrong_outputs("ex6-optimizers", "ex6_classes", optimizer_scenario, index,
                              hyper, values, grads)
        name = ["SGD", "Momentum", "Adam"][index]
        cases.append((f"{name}{hyper} on two parameters, 4 steps", index, hyper, values, grads,
                      wants, [[(m, got[i]) for m, got in wrong if differs(got[i], want)]
                              for i, want in enumerate(wants)]))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex6-optimizers-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 6
w, b = Parameter([1.0, -1.0], "w"), Parameter([2.0], "b")
w.grad, b.grad = np.array([0.5, 2.0]), np.array([-1.0])
SGD(lr=0.1).step([w, b])
assert not np.allclose(w.value, [1.0, -1.0]), (
    "SGD.step did not change p.value: update each parameter in place, "
    "p.value -= lr * p.grad (returning new arrays does not change the model)")
assert not np.allclose(w.value, [1.05, -0.8]), (
    "SGD moved the parameters along the gradient: the sign is wrong, value - lr * grad")
assert np.allclose(w.value, [0.95, -1.2]) and np.allclose(b.value, [2.1]), (
    f"one SGD step with lr 0.1 should give w = [0.95, -1.2] and b = [2.1], got {w.value} and "
    f"{b.value}")

w, b = Parameter([1.0, -1.0], "w"), Parameter([0.0, 0.0], "b")
opt = Momentum(lr=0.1, beta=0.9)
for _ in range(2):
    w.grad, b.grad = np.array([1.0, 1.0]), np.array([-2.0, 0.0])
    opt.step([w, b])
assert not np.allclose(w.value, [0.9, -1.1]), (
    "Momentum stepped with the old velocity: update v first (v = beta * v + grad), then "
    "value -= lr * v with the new velocity")
assert np.allclose(w.value, [0.71, -1.29]) and np.allclose(b.value, [0.58, 0.0]), (
    f"two Momentum steps (lr 0.1, beta 0.9) should give w = [0.71, -1.29] and b = [0.58, 0], "
    f"got {w.value} and {b.value}: keep one velocity per parameter (a dict keyed by id(p)), "
    f"v = beta * v + grad")

w, b = Parameter([1.0, -1.0], "w"), Parameter([0.0, 0.0], "b")
opt = Adam(lr=0.1)
w.grad, b.grad = np.array([1.0, -4.0]), np.array([1.0, 0.0])
opt.step([w, b])
assert opt.t == 1, (
    f"after one call of step, Adam's t should be 1, got {opt.t}: increment it once per call "
    f"of step, not once per parameter")
assert not np.allclose(w.value, [0.6837722, -0.6837722]), (
    "Adam stepped without bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t")
assert np.allclose(w.value, [0.9, -0.9]) and np.allclose(b.value, [-0.1, 0.0]), (
    f"the first Adam step moves every parameter with a nonzero gradient by lr = 0.1 against "
    f"its gradient's sign (bias correction), so w = [0.9, -0.9], b = [-0.1, 0], got "
    f"{w.value} and {b.value}")
opt.step([w, b])   # same gradients: t = 2
assert opt.t == 2, (
    f"after two calls of step, Adam's t should be 2, got {opt.t}: increment it once per "
    f"call of step, not once per parameter")
assert np.allclose(w.value, [0.8, -0.8]), (
    f"with the same gradient twice, Adam's second step is again lr = 0.1, got w = {w.value}")
tiny = Parameter([0.0])
tiny.grad = np.array([1e-6])
opt = Adam(lr=0.1, eps=1e-3)
opt.step([tiny])
assert np.allclose(tiny.value, [-0.1 * 1e-6 / (1e-6 + 1e-3)]), (
    f"Adam(lr=0.1, eps=1e-3) on a gradient of 1e-6 should step by 0.1 * 1e-6 / (1e-6 + 1e-3) "
    f"= 9.99e-5, got {-tiny.value}: eps is added to sqrt(v_hat), outside the square root")
print("✅ the optimizers pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what, which class, hyperparameters, the initial values of two parameters, four
# steps of their gradients, the expected values after the 4 steps, and for each (message,
# output) of typical mistakes
_classes = ex6_classes()
_Param = _type("_Param", (), {})
_cases = literal(optimizer_cases())
for _what, _index, _hyper, _values, _grads, _wants, _mistakes in _cases:
    _opt = _hidden_call(_classes[_index], _hyper, f"creating {_what}")
    _params = [_Param(), _Param()]   # plain objects with .value and .grad
    _params[0].value, _params[1].value = _hidden_make(_values[0]), _hidden_make(_values[1])
    for _step in _grads:
        _params[0].grad, _params[1].grad = _hidden_make(_step[0]), _hidden_make(_step[1])
        _hidden_call(_opt.step, (_params,), f"step of {_what}")
    _hidden_array(_params[0].value, _wants[0], f"the first parameter after {_what}",
                  mistakes=_mistakes[0])
    _hidden_array(_params[1].value, _wants[1], f"the second parameter after {_what}",
                  mistakes=_mistakes[1])
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Mini-batches and metrics
#
# `DataLoader(x, y, batch_size=32, shuffle=True, seed=0)` hands out mini-batches: iterating
# over it (`for xb, yb in loader:`) yields `(x[idx], y[idx])` for consecutive slices `idx`
# of an order of the samples; the last batch may be smaller (no sample is left out), and
# `len(loader)` is the number of batches, $\lceil N / \text{batch\_size} \rceil$. With
# `shuffle=True` the order is `self.rng.permutation(N)`, drawn **anew at the start of every
# iteration** (every epoch) from one generator `self.rng = np.random.default_rng(seed)`
# created in `__init__`; without shuffling it is `0, 1, ..., N - 1`.
#
# Two metrics for a classifier with $C$ classes:
# - `accuracy(y_true, y_pred)`: the fraction of correct predictions, a float; `y_pred` is
#   either labels `(N,)` or scores `(N, C)`, whose `argmax` over axis 1 is the label.
# - `precision_recall(y_true, y_pred, num_classes)`: two arrays of shape `(C,)`. For class
#   $c$, precision $= TP_c / (TP_c + FP_c)$ (of the examples *predicted* $c$, the fraction
#   that are $c$) and recall $= TP_c / (TP_c + FN_c)$ (of the examples that *are* $c$, the
#   fraction found); a class with a zero denominator gets 0 (scikit-learn's convention).
#   `y_pred` are labels here.
#
# ### Exercise 7: `DataLoader`, `accuracy`, `precision_recall` (2 points)

# %% nbgrader={"grade": false, "grade_id": "ex7-data", "locked": false, "schema_version": 3, "solution": true}
class DataLoader:
    """Mini-batches (x[idx], y[idx]) of a dataset, reshuffled at every epoch."""

    def __init__(self, x, y, batch_size=32, shuffle=True, seed=0):
        self.x, self.y = x, y
        self.batch_size, self.shuffle = batch_size, shuffle
        ### BEGIN SOLUTION
        self.rng = np.random.default_rng(seed)
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return -(-len(self.x) // self.batch_size)
        ### END SOLUTION

    def __iter__(self):
        ### BEGIN SOLUTION
        n = len(self.x)
        order = np.arange(n) if not self.shuffle else self.rng.permutation(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            batch_x, batch_y = self.x[idx], self.y[idx]
            yield batch_x, batch_y
        ### END SOLUTION


def accuracy(y_true, y_pred):
    """Fraction of correct predictions; y_pred: labels (N,) or scores (N, C)."""
    ### BEGIN SOLUTION
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=1)
    return float(np.mean(y_pred == np.asarray(y_true)))
    ### END SOLUTION


def precision_recall(y_true, y_pred, num_classes):
    """Per-class precision and recall, arrays of shape (num_classes,); 0 where undefined."""
    ### BEGIN SOLUTION
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = np.arange(num_classes)[:, None]
    tp = np.sum((y_pred == classes) & (y_true == classes), axis=1)
    predicted = np.sum(y_pred == classes, axis=1)
    actual = np.sum(y_true == classes, axis=1)
    precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
    recall = np.where(actual > 0, tp / np.maximum(actual, 1), 0.0)
    return precision, recall
    ### END SOLUTION


def ex7_classes():
    """For the grader: the classes of this exercise (leave as is)."""
    return DataLoader


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 7 and the hidden cases of its test.
mistake("ex7-data", "last partial batch dropped", "last batch", """
class DataLoader(DataLoader):
    def __len__(self):
        return len(self.x) // self.batch_size

    def __iter__(self):
        order = self.rng.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))
        for k in range(len(self)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            yield self.x[idx], self.y[idx]
""")
mistake("ex7-data", "the same order at every epoch", "every epoch", """
class DataLoader(DataLoader):
    def __iter__(self):
        self.rng = np.random.default_rng(0)
        yield from super().__iter__()
""")
mistake("ex7-data", "x and y shuffled separately", "same order", """
class DataLoader(DataLoader):
    def __iter__(self):
        n = len(self.x)
        ox = self.rng.permutation(n) if self.shuffle else np.arange(n)
        oy = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield (self.x[ox[start:start + self.batch_size]],
                   self.y[oy[start:start + self.batch_size]])
""")
mistake("ex7-data", "accuracy of scores without argmax", "argmax", """
def accuracy(y_true, y_pred):
    return float(np.mean(np.asarray(y_pred) == np.asarray(y_true)))
""")
mistake("ex7-data", "precision and recall swapped", "swapped",
        message="precision and recall are swapped: precision divides by the number of "
                "examples predicted c, recall by the number that are c", code="""
def precision_recall(y_true, y_pred, num_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = np.arange(num_classes)[:, None]
    tp = np.sum((y_pred == classes) & (y_true == classes), axis=1)
    predicted = np.sum(y_pred == classes, axis=1)
    actual = np.sum(y_true == classes, axis=1)
    return (np.where(actual > 0, tp / np.maximum(actual, 1), 0.0),
            np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0))
""")
mistake("ex7-data", "0 / 0 gives nan", "zero denominator", """
def precision_recall(y_true, y_pred, num_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = np.arange(num_classes)[:, None]
    tp = np.sum((y_pred == classes) & (y_true == classes), axis=1)
    with np.errstate(all="ignore"):
        return (tp / np.sum(y_pred == classes, axis=1), tp / np.sum(y_true == classes, axis=1))
""")


def loader_cases():
    cases = []
    for seed, n, batch in [(671, 10, 4), (672, 7, 7), (673, 13, 5)]:
        x = np.arange(n * 2, dtype=float).reshape(n, 2)
        y = np.arange(n)
        rng = np.random.default_rng(seed)
        epochs = [[idx[s:s + batch].tolist() for s in range(0, n, batch)]
                  for idx in (rng.permutation(n), rng.permutation(n))]
        cases.append((f"DataLoader of {n} samples, batch_size={batch}, seed={seed}", seed, n,
                      batch, x, y, -(-n // batch), epochs))
    return cases


def metric_cases():
    cases = []
    for seed, n, c in [(674, 20, 3), (675, 30, 5), (676, 12, 4)]:
        rng = np.random.default_rng(seed)
        y_true = rng.integers(0, c - 1, size=n)   # the last class never occurs
        y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, c, size=n))
        scores = short(rng.normal(size=(n, c)))
        scores[np.arange(n), y_pred] += 5.0
        cm = np.zeros((c, c))
        np.add.at(cm, (y_true, y_pred), 1)   # rows: true class, columns: predicted
        tp, predicted, actual = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)
        precision = np.divide(tp, predicted, out=np.zeros(c), where=predicted > 0)
        recall = np.divide(tp, actual, out=np.zeros(c), where=actual > 0)
        cases.append((f"{n} examples of {c} classes (seed {seed})", c, y_true, y_pred, scores,
                      float(np.mean(y_true == y_pred)), precision, recall))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex7-data-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 7
x, y = np.arange(20).reshape(10, 2), np.arange(10)
loader = DataLoader(x, y, batch_size=4, shuffle=False)
batches = list(loader)
assert len(loader) == 3 and len(batches) == 3 and len(batches[-1][1]) == 2, (
    f"10 samples in batches of 4 should give 3 batches (4, 4 and a last batch of 2: no "
    f"sample is left out), got len(loader) = {len(loader)} and {len(batches)} batches")
assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], (
    "without shuffling the batches should be the samples in order")
loader = DataLoader(x, y, batch_size=4, seed=3)
first, second = list(loader), list(loader)
for xb, yb in first:
    assert np.array_equal(xb, x[yb]), (
        "a batch's x and y do not belong together: shuffle both with the same order, "
        "x[idx] and y[idx]")
assert sorted(np.concatenate([b[1] for b in first]).tolist()) == list(range(10)), (
    "one epoch should yield every sample exactly once")
assert [b[1].tolist() for b in first] != [b[1].tolist() for b in second], (
    "two epochs gave the same order: draw a new permutation at the start of every epoch "
    "from one generator created in __init__")

assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75, (
    "accuracy([0, 1, 2, 2], [0, 1, 1, 2]) should be 0.75")
scores = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]])
try:
    got = accuracy([0, 1, 2, 2], scores)
except ValueError as err:
    raise AssertionError(
        f"accuracy(y_true, scores of shape (4, 3)) raised ValueError ({err}): with scores "
        f"(N, C) the predicted label is scores.argmax(axis=1)") from None
assert np.isclose(got, 0.75), (
    f"accuracy with scores (N, C) should compare y_true with scores.argmax(axis=1), got {got}")
p, r = precision_recall([0, 0, 0, 1, 1, 2], [0, 1, 1, 1, 0, 1], 4)
assert not (np.allclose(p, [1 / 3, 0.5, 0.0, 0.0]) and np.allclose(r, [0.5, 0.25, 0.0, 0.0])), (
    "precision and recall are swapped: precision divides by the number of examples predicted "
    "c, recall by the number that are c")
assert np.all(np.isfinite(p)) and np.all(np.isfinite(r)), (
    f"precision_recall gave nan (0 / 0) for a class that is never predicted or never occurs: "
    f"a zero denominator gives 0, got precision {p} and recall {r}")
assert np.allclose(p, [0.5, 0.25, 0.0, 0.0]) and np.allclose(r, [1 / 3, 0.5, 0.0, 0.0]), (
    f"expected precision [0.5, 0.25, 0, 0] and recall [0.3333, 0.5, 0, 0], got {p} and {r}")
print("✅ DataLoader and the metrics pass the visible tests.")
### BEGIN HIDDEN TESTS
# each loader case: what, seed, N, batch size, x, y, len(loader), the label batches of the
# first two epochs; each metric case: what, C, y_true, y_pred, scores, accuracy, precision,
# recall
_DataLoader = ex7_classes()
for _what, _seed, _n, _batch, _x, _y, _len, _epochs in literal(loader_cases()):
    _loader = _hidden_call(_DataLoader, (_hidden_make(_x), _hidden_make(_y, "i8"), _batch, True,
                                         _seed), f"creating {_what}")
    assert _loader.__len__() == _len, (
        f"hidden case {_what}: len(loader) should be {_len}, got {_loader.__len__()}")
    for _want in _epochs:
        _got = [_yb.tolist() for _xb, _yb in _loader]
        assert _got == _want, (
            f"hidden case {_what}: the batches of labels should be {_want} (a new "
            f"self.rng.permutation(N) at every epoch), got {_got}")
for _what, _c, _yt, _yp, _s, _acc, _p, _r in literal(metric_cases()):
    _got = _hidden_call(accuracy, (_hidden_make(_yt, "i8"), _hidden_make(_yp, "i8")),
                        f"accuracy of {_what}")
    _hidden_float(_got, _acc, f"accuracy of labels, {_what}")
    _got = _hidden_call(accuracy, (_hidden_make(_yt, "i8"), _hidden_make(_s)),
                        f"accuracy of scores, {_what}")
    _hidden_float(_got, _acc, f"accuracy of scores (N, C), {_what}")
    _got = _hidden_call(precision_recall, (_hidden_make(_yt, "i8"), _hidden_make(_yp, "i8"),
                                           _c), f"precision_recall of {_what}")
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: precision_recall should return a tuple (precision, recall)")
    _hidden_array(_got[0], _p, f"the precision of {_what}")
    _hidden_array(_got[1], _r, f"the recall of {_what}")
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Callbacks: `History` and `EarlyStopping`
#
# A **callback** is an object whose `on_epoch_end(epoch, logs)` the training loop calls after
# every epoch, with `logs` a dict such as `{"loss": 0.31, "val_loss": 0.35,
# "val_accuracy": 0.9}`. Two of them:
#
# - `History()`: `self.history` starts as `{}`; `on_epoch_end` appends each logged value,
#   as a float, to the list of its key: `history.history["val_loss"]` is the validation loss
#   of every epoch so far.
# - `EarlyStopping(monitor="val_loss", patience=0, min_delta=0.0, mode="min")`, with Keras's
#   semantics: it keeps `self.best` (the best value so far: `inf` for `"min"`, `-inf` for
#   `"max"`), `self.wait` (0), `self.stopped_epoch` (0) and `self.stop_training` (False).
#   At each epoch's end, with `current = logs[monitor]`: first `wait += 1`; if `current`
#   **improves** on `best` by more than `min_delta` (`current < best - min_delta` in mode
#   `"min"`, `current > best + min_delta` in mode `"max"`), then `best = current` and
#   `wait = 0`; otherwise, if `wait >= patience` and `epoch > 0`, set
#   `stop_training = True` and `stopped_epoch = epoch`. The training loop stops after any
#   epoch at whose end a callback has `stop_training` set.
#
# ### Exercise 8: `History` and `EarlyStopping` (2 points)

# %% nbgrader={"grade": false, "grade_id": "ex8-callbacks", "locked": false, "schema_version": 3, "solution": true}
class History:
    """Records every logged value of every epoch."""

    def __init__(self):
        self.history = {}

    def on_epoch_end(self, epoch, logs):
        ### BEGIN SOLUTION
        for key in logs:
            self.history.setdefault(key, []).append(float(logs[key]))
        ### END SOLUTION


class EarlyStopping:
    """Stop training when `monitor` stops improving (Keras's semantics)."""

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="min"):
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, min_delta, mode
        ### BEGIN SOLUTION
        self.best = np.inf if mode == "min" else -np.inf
        self.wait, self.stopped_epoch, self.stop_training = 0, 0, False
        ### END SOLUTION

    def on_epoch_end(self, epoch, logs):
        ### BEGIN SOLUTION
        current = logs[self.monitor]
        self.wait += 1
        if self.mode == "min":
            improved = current < self.best - self.min_delta
        else:
            improved = current > self.best + self.min_delta
        if improved:
            self.best = current
            self.wait = 0
        elif self.wait >= self.patience and epoch > 0:
            self.stop_training, self.stopped_epoch = True, epoch
        ### END SOLUTION


def ex8_classes():
    """For the grader: the classes of this exercise (leave as is)."""
    return History, EarlyStopping


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 8 and the hidden cases of its test.
mistake("ex8-callbacks", "History keeps only the last value", "append", """
class History(History):
    def on_epoch_end(self, epoch, logs):
        for key, value in logs.items():
            self.history[key] = [float(value)]
""")
mistake("ex8-callbacks", "min_delta ignored", "min_delta",
        message="an improvement smaller than min_delta reset the patience: improve by more "
                "than min_delta", code="""
class EarlyStopping(EarlyStopping):
    def on_epoch_end(self, epoch, logs):
        delta, self.min_delta = self.min_delta, 0.0
        super().on_epoch_end(epoch, logs)
        self.min_delta = delta
""")
mistake("ex8-callbacks", "wait not reset on improvement", "reset",
        message="the patience counter was not reset by an improvement: set wait = 0 when "
                "the monitored value improves", code="""
class EarlyStopping(EarlyStopping):
    def on_epoch_end(self, epoch, logs):
        wait = self.wait
        super().on_epoch_end(epoch, logs)
        if self.wait == 0:
            self.wait = wait + 1
""")
mistake("ex8-callbacks", "one epoch too late", "patience",
        message="training stopped one epoch late: stop as soon as wait >= patience", code="""
class EarlyStopping(EarlyStopping):
    def on_epoch_end(self, epoch, logs):
        current = logs[self.monitor]
        self.wait += 1
        if self.mode == "min":
            improved = current < self.best - self.min_delta
        else:
            improved = current > self.best + self.min_delta
        if improved:
            self.best, self.wait = current, 0
        elif self.wait > self.patience and epoch > 0:
            self.stop_training, self.stopped_epoch = True, epoch
""")
mistake("ex8-callbacks", "mode max ignored", "mode",
        message="mode='max' was ignored: for accuracy a larger value is an improvement",
        code="""
class EarlyStopping(EarlyStopping):
    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="min"):
        super().__init__(monitor, patience, min_delta, "min")
""")
mistake("ex8-callbacks", "compared with the last epoch, not the best", "best",
        message="each epoch was compared with the previous one: compare with the best value "
                "so far", code="""
class EarlyStopping(EarlyStopping):
    def on_epoch_end(self, epoch, logs):
        super().on_epoch_end(epoch, logs)
        self.best = logs[self.monitor]
""")


class _Model:   # what scratchnn's EarlyStopping expects of a model
    stop_training = False


def early_stopping_run(make, values, monitor):
    """(stopped_epoch or -1, best) when the callback made by make() sees these values."""
    cb = make()
    if hasattr(cb, "on_train_begin"):
        cb.model = _Model()
        cb.on_train_begin()
    for epoch, value in enumerate(values):
        cb.on_epoch_end(epoch, {monitor: value, "loss": 1.0})
        model = getattr(cb, "model", cb)
        if model.stop_training:
            return [epoch, float(cb.best)]
    return [-1, float(cb.best)]


def early_stopping_cases():
    from scratchnn.callbacks import EarlyStopping as Reference

    specs = [("val_loss", 2, 0.0, "min", [1.0, 0.8, 0.81, 0.79, 0.85, 0.9, 0.7]),
             ("val_loss", 1, 0.05, "min", [1.0, 0.9, 0.87, 0.86, 0.5]),
             ("val_accuracy", 2, 0.0, "max", [0.5, 0.7, 0.69, 0.71, 0.7, 0.6, 0.9]),
             ("val_loss", 0, 0.0, "min", [1.0, 0.9, 0.95, 0.8]),
             ("val_loss", 3, 0.01, "min", [1.0, 0.95, 0.945, 0.9, 0.899, 0.898, 0.897, 0.5])]
    cases = []
    for monitor, patience, delta, mode, values in specs:
        args = (monitor, patience, delta, mode)
        want = early_stopping_run(lambda: Reference(*args), values, monitor)  # noqa: B023
        wrong = []
        for m in MISTAKES.of("ex8-callbacks"):
            if m.message and "EarlyStopping" in m.code:
                cls = MISTAKES.function(m, "ex8_classes")()[1]
                got = early_stopping_run(lambda: cls(*args), values, monitor)  # noqa: B023
                if got != want:
                    wrong.append((m.message, got))
        cases.append((f"EarlyStopping(monitor={monitor!r}, patience={patience}, "
                      f"min_delta={delta}, mode={mode!r}) on {values}", monitor, patience, delta,
                      mode, values, want, wrong))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex8-callbacks-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 8
history = History()
history.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.2})
history.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.9})
assert history.history == {"loss": [1.0, 0.5], "val_loss": [1.2, 0.9]}, (
    f"after two epochs History.history should be {{'loss': [1.0, 0.5], 'val_loss': [1.2, "
    f"0.9]}}, got {history.history}: append each value to the list of its key")


def stops_at(callback, values, monitor="val_loss"):
    """The epoch at whose end the callback stops training (None if it never does)."""
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {monitor: value})
        if callback.stop_training:
            return epoch
    return None


got = stops_at(EarlyStopping(patience=2), [1.0, 0.8, 0.9, 0.7, 0.75, 0.72, 0.6])
where = ("EarlyStopping(patience=2) on val_loss [1.0, 0.8, 0.9, 0.7, 0.75, 0.72, 0.6] should "
         "stop at epoch 5 (two epochs without improvement on the best value 0.7)")
assert got is not None, (
    f"{where}, but it never stopped: compare each value with the best value so far, not "
    f"with the previous epoch's")
assert got >= 5, (
    f"{where}, but it stopped at epoch {got}: the patience counter was not reset by the "
    f"improvement at epoch 3: set wait = 0 when the value improves on the best")
assert got == 5, (
    f"{where}, but it stopped at epoch {got}, too late: stop as soon as wait >= patience")
es = EarlyStopping(patience=1)
stops_at(es, [1.0, 0.8, 0.9])
assert es.best == 0.8 and es.stopped_epoch == 2, (
    f"after val_loss [1.0, 0.8, 0.9] with patience 1, best should be 0.8 and stopped_epoch "
    f"2, got {es.best} and {es.stopped_epoch}: compare with the best value so far")
got = stops_at(EarlyStopping(patience=1, min_delta=0.1), [1.0, 0.95, 0.5])
assert got == 1, (
    f"with min_delta=0.1, val_loss 1.0 -> 0.95 is no improvement, so patience 1 stops at "
    f"epoch 1, got {got}: improve by more than min_delta (current < best - min_delta)")
got = stops_at(EarlyStopping("val_accuracy", patience=1, mode="max"), [0.5, 0.7, 0.8, 0.6, 0.6],
               "val_accuracy")
assert got == 3, (
    f"EarlyStopping('val_accuracy', patience=1, mode='max') on [0.5, 0.7, 0.8, 0.6] should "
    f"stop at epoch 3, got {got}: in mode 'max' a larger value is an improvement")
print("✅ History and EarlyStopping pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what, monitor, patience, min_delta, mode, the monitored values, the expected
# [epoch it stops at or -1, best], and (message, [epoch, best]) of typical mistakes
_History, _EarlyStopping = ex8_classes()
for _what, _monitor, _patience, _delta, _mode, _values, _want, _mistakes in literal(
        early_stopping_cases()):
    _cb = _hidden_call(_EarlyStopping, (_monitor, _patience, _delta, _mode), f"creating {_what}")
    _history = _hidden_call(_History, (), "creating History()")
    _epoch, _got = 0, -1
    for _value in _values:
        _logs = {_monitor: _value, "loss": 1.0}
        _hidden_call(_cb.on_epoch_end, (_epoch, _logs), _what)
        _hidden_call(_history.on_epoch_end, (_epoch, _logs), f"History with {_what}")
        if _cb.stop_training:
            _got = _epoch
            break
        _epoch += 1
    _result = [_got, _cb.best]
    for _message, _output in _mistakes:
        assert _result != _output or _result == _want, f"hidden case {_what}: {_message}"
    assert _result == _want, (
        f"hidden case {_what}: expected [stopping epoch or -1, best] = {_want}, got {_result}")
    assert _history.history[_monitor] == _values[:_epoch + 1], (
        f"hidden case {_what}: History recorded {_history.history[_monitor]}")
### END HIDDEN TESTS

# %% [markdown]
# ## 9. `Sequential`: the model and its training loop
#
# `Sequential(layers)` chains layers. `forward(x, training=False)` runs them in order;
# `backward(grad)` runs their `backward` in **reverse** order, feeding each one's result to
# the one below; `parameters()` concatenates the layers' lists in layer order.
#
# `fit(x, y, loss, optimizer, epochs=10, batch_size=32, validation_data=None, callbacks=(),
# seed=0)` is the training loop. It creates one `DataLoader(x, y, batch_size, shuffle=True,
# seed=seed)` and one `History()`, then for each epoch:
# 1. for every mini-batch `(xb, yb)`: `out = forward(xb, training=True)`, the loss
#    `loss.forward(out, yb)`, `backward(loss.backward())`, `optimizer.step(parameters())`;
# 2. `logs = {"loss": ...}`, the mean of the batch losses **weighted by the batch sizes**
#    (the mean over the epoch's examples); with `validation_data=(x_val, y_val)`, also
#    `"val_loss"` and `"val_accuracy"` from `evaluate`;
# 3. `history.on_epoch_end(epoch, logs)`, then every callback's `on_epoch_end(epoch, logs)`;
#    stop if any callback has `stop_training` set.
#
# It returns the `History`. `predict(x)` is `forward(x, training=False)`;
# `evaluate(x, y, loss)` returns `{"loss": ..., "accuracy": ...}` of `predict(x)` (your
# `accuracy` of Exercise 7).
#
# ### Exercise 9: `Sequential` (4 points)

# %% nbgrader={"grade": false, "grade_id": "ex9-sequential", "locked": false, "schema_version": 3, "solution": true}
class Sequential:
    """A stack of layers with a training loop."""

    def __init__(self, layers):
        self.layers = list(layers)

    def forward(self, x, training=False):
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer.forward(x, training)
        return x
        ### END SOLUTION

    def backward(self, grad):
        ### BEGIN SOLUTION
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION
        return [p for layer in self.layers for p in layer.parameters()]
        ### END SOLUTION

    def predict(self, x):
        ### BEGIN SOLUTION
        return self.forward(x, training=False)
        ### END SOLUTION

    def evaluate(self, x, y, loss):
        ### BEGIN SOLUTION
        out = self.predict(x)
        return {"loss": loss.forward(out, y), "accuracy": accuracy(y, out)}
        ### END SOLUTION

    def fit(self, x, y, loss, optimizer, epochs=10, batch_size=32, validation_data=None,
            callbacks=(), seed=0):
        ### BEGIN SOLUTION
        loader = DataLoader(x, y, batch_size, shuffle=True, seed=seed)
        history = History()
        for epoch in range(epochs):
            total = 0.0
            for xb, yb in loader:
                out = self.forward(xb, training=True)
                total += loss.forward(out, yb) * len(xb)
                self.backward(loss.backward())
                optimizer.step(self.parameters())
            logs = {"loss": total / len(x)}
            if validation_data is not None:
                scores = self.evaluate(validation_data[0], validation_data[1], loss)
                logs.update({f"val_{key}": value for key, value in scores.items()})
            history.on_epoch_end(epoch, logs)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if any(getattr(callback, "stop_training", False) for callback in callbacks):
                break
        return history
        ### END SOLUTION


def ex9_classes():
    """For the grader: the classes of this exercise (leave as is)."""
    return Sequential


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 9 and the hidden cases of its test.
SEQ_FIT = """
class Sequential(Sequential):
    def fit(self, x, y, loss, optimizer, epochs=10, batch_size=32, validation_data=None,
            callbacks=(), seed=0):
        loader = DataLoader(x, y, batch_size, shuffle=True, seed=seed)
        history = History()
        for epoch in range(epochs):
            total = 0.0
            for xb, yb in loader:
                out = self.forward(xb, training=True)
                last = loss.forward(out, yb)
                total += last * len(xb)
                self.backward(loss.backward())
                optimizer.step(self.parameters())
            logs = {"loss": total / len(x)}
            if validation_data is not None:
                scores = self.evaluate(validation_data[0], validation_data[1], loss)
                logs.update({f"val_{key}": value for key, value in scores.items()})
            history.on_epoch_end(epoch, logs)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if any(getattr(callback, "stop_training", False) for callback in callbacks):
                break
        return history
"""
mistake("ex9-sequential", "backward in forward order", "reverse", """
class Sequential(Sequential):
    def backward(self, grad):
        for layer in self.layers:
            grad = layer.backward(grad)
        return grad
""")
mistake("ex9-sequential", "predict in training mode", "training=False", """
class Sequential(Sequential):
    def predict(self, x):
        return self.forward(x, training=True)
""")
mistake("ex9-sequential", "fit in evaluation mode", "training=True", """
class Sequential(Sequential):
    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, False)
        return x
""")
mistake("ex9-sequential", "epoch loss is the last batch's", "mean",
        message="the logged loss is not the mean over the epoch's examples (the batch "
                "losses weighted by the batch sizes)", code=SEQ_FIT.replace(
                    'logs = {"loss": total / len(x)}', 'logs = {"loss": last}'))
mistake("ex9-sequential", "validation not logged", "val_loss", code=SEQ_FIT.replace(
    "            if validation_data is not None:", "            if False:"))
mistake("ex9-sequential", "callbacks cannot stop training", "stop_training",
        code=SEQ_FIT.replace("                break", "                pass"))
mistake("ex9-sequential", "parameters of the first layer only", "parameters", """
class Sequential(Sequential):
    def parameters(self):
        return self.layers[0].parameters()
""")


def reference_fit(x, y, params, lr, epochs, batch, seed):
    """Dense-ReLU-Dense trained with SGD on the cross-entropy, as fit specifies, with
    scratchnn.functional: (epoch losses, final [W1, b1, W2, b2])."""
    W1, b1, W2, b2 = [np.array(p) for p in params]
    rng, n, losses = np.random.default_rng(seed), len(x), []
    for _ in range(epochs):
        order, total = rng.permutation(n), 0.0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = x[idx], y[idx]
            z1 = F.dense(xb, W1, b1)
            a1 = F.relu(z1)
            z2 = F.dense(a1, W2, b2)
            total += F.cross_entropy(z2, yb) * len(idx)
            da1, dW2, db2 = F.dense_backward(F.cross_entropy_backward(z2, yb), a1, W2)
            _, dW1, db1 = F.dense_backward(F.relu_backward(da1, z1), xb, W1)
            W1, b1, W2, b2 = (F.sgd(W1, dW1, lr), F.sgd(b1, db1, lr), F.sgd(W2, dW2, lr),
                              F.sgd(b2, db2, lr))
        losses.append(total / n)
    return losses, [W1, b1, W2, b2]


def sequential_cases():
    cases = []
    for seed, n, d, h, c, lr, epochs, batch in [(691, 11, 3, 5, 3, 0.1, 3, 4),
                                                (692, 8, 4, 3, 2, 0.5, 2, 3)]:
        rng = np.random.default_rng(seed)
        x = short(rng.normal(size=(n, d)))
        y = rng.integers(0, c, size=n)
        params = draw(seed + 1, (d, h), (h,), (h, c), (c,))
        losses, final = reference_fit(x, y, params, lr, epochs, batch, seed)
        z = F.dense(F.relu(F.dense(x, final[0], final[1])), final[2], final[3])
        cases.append((f"Dense({d}, {h}), ReLU, Dense({h}, {c}) trained with SGD({lr}) for "
                      f"{epochs} epochs in batches of {batch} (seed {seed})", x, y, params, lr,
                      epochs, batch, seed, losses, final, z, F.cross_entropy(z, y),
                      float(np.mean(z.argmax(axis=1) == y))))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex9-sequential-tests", "locked": true, "schema_version": 3, "solution": false, "points": 4}
# Tests for Exercise 9
rng = np.random.default_rng(0)
x, y = rng.normal(size=(10, 3)), rng.integers(0, 2, size=10)
model = Sequential([Dense(3, 4, seed=1), ReLU(), Dense(4, 2, seed=2)])
d1, d2 = model.layers[0], model.layers[2]
params = model.parameters()
assert len(params) == 4 and params[0] is d1.W and params[3] is d2.b, (
    "model.parameters() should list every layer's parameters in layer order: "
    "[W1, b1, W2, b2] here (the optimizer updates only these)")
out = model.forward(x)
want = np.maximum(x @ d1.W.value + d1.b.value, 0) @ d2.W.value + d2.b.value
assert np.allclose(out, want), "model.forward should run the layers in order"
try:
    dx = model.backward(np.ones((10, 2)))
except ValueError as err:
    raise AssertionError(
        f"model.backward raised ValueError ({err}): run the layers' backward in reverse "
        f"order, last layer first") from None
assert np.shape(dx) == (10, 3) and np.allclose(d2.W.grad, np.maximum(
    x @ d1.W.value + d1.b.value, 0).T @ np.ones((10, 2))), (
    "model.backward should run the layers' backward in reverse order and return the "
    "gradient for the input")
assert np.count_nonzero(Sequential([Dropout(0.5, seed=0)]).forward(np.ones((50, 4)),
                                                                   training=True) == 0) > 0, (
    "model.forward(x, training=True) dropped nothing with a Dropout(0.5) layer: pass "
    "training=True to every layer's forward")
dropped = Sequential([Dense(3, 8, seed=0), Dropout(0.5, seed=0), Dense(8, 2, seed=1)])
assert np.array_equal(dropped.predict(x), dropped.predict(x)), (
    "two calls of predict gave different outputs: dropout was active; predict is "
    "forward(x, training=False)")

model = Sequential([Dense(3, 4, seed=1), ReLU(), Dense(4, 2, seed=2)])
before = CrossEntropy().forward(model.predict(x), y)
history = model.fit(x, y, CrossEntropy(), SGD(lr=0.0), epochs=2, batch_size=4,
                    validation_data=(x[:5], y[:5]))
assert isinstance(history, History), "fit should return the History it filled"
assert "val_loss" in history.history and "val_accuracy" in history.history, (
    f"with validation_data, every epoch should log val_loss and val_accuracy, got the keys "
    f"{sorted(history.history)}")
assert len(history.history["loss"]) == 2, "fit(epochs=2) should log 2 epochs"
assert np.isclose(history.history["loss"][0], before), (
    f"with lr = 0 the weights do not move, so the logged loss of an epoch should be the loss "
    f"of the whole training set, {before:.6f}, got {history.history['loss'][0]:.6f}: log the "
    f"mean over the epoch's examples (batch losses weighted by the batch sizes)")
scores = model.evaluate(x[:5], y[:5], CrossEntropy())
assert np.isclose(history.history["val_loss"][0], scores["loss"]), (
    "val_loss should be the loss of evaluate on validation_data")


class StopAfter:   # a callback that stops training at the end of a given epoch
    def __init__(self, epoch):
        self.epoch, self.stop_training = epoch, False

    def on_epoch_end(self, epoch, logs):
        self.stop_training = epoch >= self.epoch


history = model.fit(x, y, CrossEntropy(), SGD(lr=0.1), epochs=5, callbacks=[StopAfter(1)])
assert len(history.history["loss"]) == 2, (
    f"a callback set stop_training at the end of epoch 1, but fit ran "
    f"{len(history.history['loss'])} epochs: stop when any callback has stop_training set")
history = Sequential([Dense(3, 8, seed=0), ReLU(), Dense(8, 2, seed=1)]).fit(
    x, y, CrossEntropy(), SGD(lr=0.1), epochs=30, batch_size=5)
assert history.history["loss"][-1] < 0.7 * history.history["loss"][0], (
    f"30 epochs of SGD(0.1) on 10 examples should reduce the loss by a third, got "
    f"{history.history['loss'][0]:.4f} -> {history.history['loss'][-1]:.4f}: does fit call "
    f"optimizer.step(model.parameters()) after every backward?")
print("✅ Sequential passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what, x, y, the initial [W1, b1, W2, b2], lr, epochs, batch size, seed, the
# expected epoch losses, final parameters, predictions, loss and accuracy on x
_Sequential = ex9_classes()
_Layer, _Dense = ex1_classes()
_ReLU = ex2_classes()[0]
_CrossEntropy = ex5_classes()[1]
_SGD = ex6_classes()[0]
for _what, _x, _y, _p, _lr, _epochs, _batch, _seed, _losses, _final, _z, _loss, _acc in literal(
        sequential_cases()):
    _d1, _d2 = _Dense(_p[0].__len__(), _p[1].__len__()), _Dense(_p[2].__len__(), _p[3].__len__())
    _d1.W.value, _d1.b.value = _hidden_make(_p[0]), _hidden_make(_p[1])
    _d2.W.value, _d2.b.value = _hidden_make(_p[2]), _hidden_make(_p[3])
    _model = _hidden_call(_Sequential, ([_d1, _ReLU(), _d2],), f"creating {_what}")
    _hist = _hidden_call(_model.fit, (_hidden_make(_x), _hidden_make(_y, "i8"), _CrossEntropy(),
                                      _SGD(_lr), _epochs, _batch, None, (), _seed), _what)
    _hidden_close([_float(_v) for _v in _hist.history["loss"]], _losses,
                  f"the logged epoch losses of {_what}", rtol=1e-6)
    _i = 0
    for _param in _model.parameters():
        _hidden_array(_param.value, _final[_i], f"parameter {_i} after {_what}", rtol=1e-6)
        _i += 1
    _hidden_array(_hidden_call(_model.predict, (_hidden_make(_x),), f"predict after {_what}"),
                  _z, f"predict after {_what}")
    _scores = _hidden_call(_model.evaluate, (_hidden_make(_x), _hidden_make(_y, "i8"),
                                             _CrossEntropy()), f"evaluate after {_what}")
    _hidden_float(_scores["loss"], _loss, f"evaluate's loss after {_what}")
    _hidden_float(_scores["accuracy"], _acc, f"evaluate's accuracy after {_what}")
### END HIDDEN TESTS

# %% [markdown]
# ## 10. Saving and loading weights
#
# A trained model is worth keeping. `save_weights(model, path)` writes one `.npz` file
# (`np.savez`) with every parameter's value under the key `param_0`, `param_1`, ... in the
# order of `model.parameters()`, and, for every layer `i` that has running statistics (a
# `BatchNorm`), `layer_{i}_running_mean` and `layer_{i}_running_var`: they are not
# parameters, but a model in evaluation mode needs them. `load_weights(model, path)` puts
# them back into a model of the same architecture (copies, so the file and the model share
# nothing) and raises `ValueError` naming the parameter when a shape differs. Never pickle:
# a pickle can run code when it is loaded.
#
# ### Exercise 10: `save_weights` and `load_weights` (2 points)

# %% nbgrader={"grade": false, "grade_id": "ex10-save-load", "locked": false, "schema_version": 3, "solution": true}
def save_weights(model, path):
    """Write the model's parameters (and running statistics) to the .npz file path."""
    ### BEGIN SOLUTION
    arrays = {f"param_{i}": p.value for i, p in enumerate(model.parameters())}
    for i, layer in enumerate(model.layers):
        if hasattr(layer, "running_mean"):
            arrays[f"layer_{i}_running_mean"] = layer.running_mean
            arrays[f"layer_{i}_running_var"] = layer.running_var
    np.savez(path, **arrays)
    ### END SOLUTION


def load_weights(model, path):
    """Load what save_weights wrote into a model of the same architecture."""
    ### BEGIN SOLUTION
    with np.load(path) as data:
        for i, p in enumerate(model.parameters()):
            value = data[f"param_{i}"]
            if value.shape != p.value.shape:
                raise ValueError(f"parameter {i} ({p.name}) has shape {p.value.shape}, but "
                                 f"the file holds shape {value.shape}")
            p.value = value.copy()
        for i, layer in enumerate(model.layers):
            if hasattr(layer, "running_mean"):
                layer.running_mean = data[f"layer_{i}_running_mean"].copy()
                layer.running_var = data[f"layer_{i}_running_var"].copy()
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 10 and the hidden cases of its test.
MISTAKES.add("ex10-save-load", "running statistics not saved", words="running", code="""
def save_weights(model, path):
    np.savez(path, **{f"param_{i}": p.value for i, p in enumerate(model.parameters())})


def load_weights(model, path):
    with np.load(path) as data:
        for i, p in enumerate(model.parameters()):
            p.value = data[f"param_{i}"].copy()
""")
MISTAKES.add("ex10-save-load", "load binds a local name only", words="did not change", code="""
def load_weights(model, path):
    with np.load(path) as data:
        for i, p in enumerate(model.parameters()):
            value = p.value
            value = data[f"param_{i}"]
""")
MISTAKES.add("ex10-save-load", "no shape check", words="ValueError", code="""
def load_weights(model, path):
    with np.load(path) as data:
        for i, p in enumerate(model.parameters()):
            p.value = data[f"param_{i}"].copy()
        for i, layer in enumerate(model.layers):
            if hasattr(layer, "running_mean"):
                layer.running_mean = data[f"layer_{i}_running_mean"].copy()
                layer.running_var = data[f"layer_{i}_running_var"].copy()
""")
MISTAKES.add("ex10-save-load", "parameters saved in another order", words="order", code="""
def save_weights(model, path):
    params = model.parameters()[::-1]
    arrays = {f"param_{i}": p.value for i, p in enumerate(params)}
    for i, layer in enumerate(model.layers):
        if hasattr(layer, "running_mean"):
            arrays[f"layer_{i}_running_mean"] = layer.running_mean
            arrays[f"layer_{i}_running_var"] = layer.running_var
    np.savez(path, **arrays)


def load_weights(model, path):
    with np.load(path) as data:
        for i, p in enumerate(model.parameters()):
            p.value = data[f"param_{i}"].copy()
        for i, layer in enumerate(model.layers):
            if hasattr(layer, "running_mean"):
                layer.running_mean = data[f"layer_{i}_running_mean"].copy()
                layer.running_var = data[f"layer_{i}_running_var"].copy()
""")


def save_load_cases():
    return [(f"Dense({d}, {h}), BatchNorm({h}), ReLU, Dense({h}, {c}) after a training pass",
             d, h, c, short(np.random.default_rng(seed).normal(size=(6, d))), seed)
            for seed, d, h, c in [(701, 3, 4, 2), (702, 5, 2, 3)]]


# %% nbgrader={"grade": true, "grade_id": "ex10-save-load-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 10
def small_model(seed):
    return Sequential([Dense(3, 4, seed=seed), BatchNorm(4), ReLU(), Dense(4, 2, seed=seed + 1)])


x = np.random.default_rng(1).normal(size=(8, 3))
trained = small_model(0)
trained.forward(x, training=True)   # moves BatchNorm's running statistics
path = os.path.join(tempfile.mkdtemp(), "weights.npz")
save_weights(trained, path)
assert os.path.exists(path), f"save_weights(model, {path!r}) wrote no file"
fresh = small_model(10)
load_weights(fresh, path)
untouched = small_model(10).parameters()
for i, (a, b) in enumerate(zip(trained.parameters(), fresh.parameters())):
    if not np.array_equal(a.value, b.value):
        assert not np.array_equal(b.value, untouched[i].value), (
            f"load_weights did not change parameter {i}: assign to p.value (rebinding a "
            f"local name changes nothing in the model)")
        raise AssertionError(
            f"parameter {i} differs after save and load: save and load them in the same "
            f"order, the order of model.parameters()")
assert np.allclose(fresh.layers[1].running_mean, trained.layers[1].running_mean), (
    "BatchNorm's running statistics were not restored: save and load running_mean and "
    "running_var too (predict uses them)")
assert np.array_equal(fresh.predict(x), trained.predict(x)), (
    "after save and load the two models should predict exactly the same")
fresh.parameters()[0].value[0, 0] += 1.0
assert trained.parameters()[0].value[0, 0] != fresh.parameters()[0].value[0, 0], (
    "the loaded model shares arrays with the saved one: load copies")
wide = Sequential([Dense(3, 5), BatchNorm(5), ReLU(), Dense(5, 2)])
try:
    load_weights(wide, path)
except ValueError as err:
    print("a wrong architecture is refused:", err)
else:
    raise AssertionError(
        "load_weights into a model whose shapes differ should raise ValueError naming the "
        "parameter and the two shapes, not load silently")
print("✅ save_weights and load_weights pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what, the layer sizes, a batch x, the seed; the round trip must reproduce the
# predictions exactly (written under /tmp, which the grader provides)
_Layer, _Dense = ex1_classes()
_ReLU = ex2_classes()[0]
_BatchNorm = ex4_classes()
_Sequential = ex9_classes()
for _what, _d, _h, _c, _x, _seed in literal(save_load_cases()):
    _make = [_Dense(_d, _h, _seed), _BatchNorm(_h), _ReLU(), _Dense(_h, _c, _seed + 1)]
    _a = _Sequential(_make)
    _a.forward(_hidden_make(_x), True)
    _path = f"/tmp/capstone-hidden-{_seed}.npz"
    _hidden_call(save_weights, (_a, _path), f"save_weights of {_what}")
    _b = _Sequential([_Dense(_d, _h, _seed + 7), _BatchNorm(_h), _ReLU(),
                      _Dense(_h, _c, _seed + 8)])
    _hidden_call(load_weights, (_b, _path), f"load_weights of {_what}")
    _want = _a.predict(_hidden_make(_x)).tolist()
    _hidden_array(_b.predict(_hidden_make(_x)), _want,
                  f"the predictions after save and load of {_what}", rtol=0.0, atol=0.0)
### END HIDDEN TESTS

# %% [markdown]
# ## 11. Train your library on handwritten digits
#
# Time to use it. The cell below loads MNIST with `scratchnn.datasets.load_mnist` when it is
# cached or can be downloaded (70,000 images of 28 x 28 pixels), and otherwise, offline as in
# the grader, the 1,797 bundled 8 x 8 digits, with a printed note. Everything you wrote
# works on both: only the number of input features changes (784 or 64).
#
# **The reference configuration** (the master's, and a good start for yours):
# `Dense(n, 128)`, `BatchNorm(128)`, `ReLU`, `Dropout(0.1)`, `Dense(128, 10)`, the
# cross-entropy from logits and `Adam(lr=1e-3)`, 12 epochs in batches of 64 (with
# `EarlyStopping(patience=3)` on the validation loss below). On the digits it
# reaches about 97 to 98% test accuracy in a few seconds; on full MNIST a network of this
# size typically reaches about 97 to 98% (when a CI machine has MNIST cached, the cell trains
# on the first 10,000 images and says so, to stay within the time limit).
#
# ### Exercise 11: a model that learns digits (3 points)
# Write `build_model(n_features, n_classes, seed=0)`, which returns `(model, loss,
# optimizer)` built from **your** classes: the architecture, the loss and the optimizer with
# its learning rate are your choice. The training budget is fixed: the test cell (and the
# grader, with another seed) trains what you build with your `fit` on the digits for
# **12 epochs in batches of 64**, and it must reach at least **90% test accuracy**. The test
# cell prints how long the training takes: keep it under 20 seconds.

# %% nbgrader={"grade": false, "grade_id": "ex11-digits", "locked": false, "schema_version": 3, "solution": true}
def build_model(n_features, n_classes, seed=0):
    """(model, loss, optimizer) of a classifier for inputs of n_features."""
    ### BEGIN SOLUTION
    model = Sequential([Dense(n_features, 128, seed=seed), BatchNorm(128), ReLU(),
                        Dropout(0.1, seed=seed), Dense(128, n_classes, seed=seed + 1)])
    return model, CrossEntropy(), Adam(lr=1e-3)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 11 and the hidden data of its test.
MISTAKES.add("ex11-digits", "learning rate far too large", words="accuracy", code="""
def build_model(n_features, n_classes, seed=0):
    model = Sequential([Dense(n_features, 64, seed=seed), ReLU(),
                        Dense(64, n_classes, seed=seed + 1)])
    return model, CrossEntropy(), SGD(lr=50.0)
""")
MISTAKES.add("ex11-digits", "learning rate far too small", words="accuracy", code="""
def build_model(n_features, n_classes, seed=0):
    model = Sequential([Dense(n_features, 64, seed=seed), ReLU(),
                        Dense(64, n_classes, seed=seed + 1)])
    return model, CrossEntropy(), SGD(lr=1e-4)
""")
MISTAKES.add("ex11-digits", "returns the model only", words="(model, loss, optimizer)", code="""
def build_model(n_features, n_classes, seed=0):
    return Sequential([Dense(n_features, 64, seed=seed), ReLU(),
                       Dense(64, n_classes, seed=seed + 1)])
""")
MISTAKES.add("ex11-digits", "wrong number of outputs", words="10", code="""
def build_model(n_features, n_classes, seed=0):
    model = Sequential([Dense(n_features, 64, seed=seed), ReLU(), Dense(64, 1, seed=seed + 1)])
    return model, MSE(), Adam(lr=1e-3)
""")
MISTAKES.add("ex11-digits", "MSE on integer labels", words="CrossEntropy", code="""
def build_model(n_features, n_classes, seed=0):
    model = Sequential([Dense(n_features, 64, seed=seed), ReLU(),
                        Dense(64, n_classes, seed=seed + 1)])
    return model, MSE(), Adam(lr=1e-3)
""")
MISTAKES.add("ex11-digits", "a sigmoid squashes the logits", words="accuracy", code="""
def build_model(n_features, n_classes, seed=0):
    model = Sequential([Dense(n_features, 32, seed=seed), Sigmoid(),
                        Dense(32, n_classes, seed=seed + 1), Sigmoid()])
    return model, CrossEntropy(), SGD(lr=0.01)
""")


def encoded_digits():
    """The digits split that load_mnist(fallback="digits") returns, as short strings: one
    letter per pixel (intensity k / 16 -> chr(97 + k)), the labels as a string of digits."""
    from scratchnn.datasets import load_digits

    (x_tr, y_tr), (x_te, y_te) = load_digits(test_size=0.2, seed=0)
    out = []
    for x, y in [(x_tr, y_tr), (x_te, y_te)]:
        k = np.rint(np.asarray(x, dtype=np.float64) * 16).astype(int)
        assert np.allclose(k / 16, x)
        out.append(["".join(chr(97 + v) for v in row) for row in k])
        out.append("".join(str(v) for v in y))
    return out


# %% nbgrader={"grade": false, "grade_id": "digits-data", "locked": true, "schema_version": 3, "solution": false}
import time
import warnings  # noqa: F811 (the authoring cells import it too)

from scratchnn.datasets import load_digits, load_mnist

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    (x_train, y_train), (x_test, y_test) = load_mnist(fallback="digits")
for warning in caught:
    print("note:", warning.message)
x_train, x_test = x_train.astype(np.float64), x_test.astype(np.float64)
if len(x_train) > 10_000 and os.environ.get("CI"):
    print(f"note: CI run: training on the first 10,000 of {len(x_train)} MNIST images")
    x_train, y_train = x_train[:10_000], y_train[:10_000]
n_val = len(x_train) // 6   # a validation split, for the learning curves and early stopping
x_val, y_val, x_fit, y_fit = x_train[:n_val], y_train[:n_val], x_train[n_val:], y_train[n_val:]
print(f"training {x_fit.shape}, validation {x_val.shape}, test {x_test.shape}")

# %% nbgrader={"grade": true, "grade_id": "ex11-digits-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 11 (on the 8 x 8 digits, as the grader, whatever the cell above loaded):
# 12 epochs in batches of 64
(dx_train, dy_train), (dx_test, dy_test) = load_digits(test_size=0.2, seed=0)
built = build_model(64, 10, seed=0)
assert isinstance(built, tuple) and len(built) == 3, (
    "build_model should return a tuple (model, loss, optimizer)")
digits_model, digits_loss, digits_opt = built
out = digits_model.predict(dx_test[:5].astype(np.float64))
assert np.shape(out) == (5, 10), (
    f"the model should output 10 scores per image (one per class, logits for the "
    f"cross-entropy), got shape {np.shape(out)}")
start = time.perf_counter()
try:
    digits_model.fit(dx_train.astype(np.float64), dy_train, digits_loss, digits_opt, epochs=12,
                     batch_size=64, seed=0)
except (ValueError, IndexError) as err:
    raise AssertionError(
        f"training your model on the digits raised {type(err).__name__} ({err}): the labels "
        f"are integers 0..9, so use CrossEntropy (from the logits) as the loss") from None
seconds = time.perf_counter() - start
test_accuracy = accuracy(dy_test, digits_model.predict(dx_test.astype(np.float64)))
print(f"training took {seconds:.1f} s; test accuracy {test_accuracy:.1%}")
assert test_accuracy >= 0.9, (
    f"your model reached {test_accuracy:.1%} test accuracy on the digits, below the 90% "
    f"required with 12 epochs in batches of 64: change the learning rate, the optimizer or "
    f"the architecture")
print("✅ your model passes the visible test.")
### BEGIN HIDDEN TESTS
# the digits split (encoded: a letter per pixel, chr(97 + 16 * intensity)); the model is
# built and trained afresh with another seed (12 epochs in batches of 64) and must reach 90%
# test accuracy
_enc = literal(encoded_digits())
_data = []
for _rows in [_enc[0], _enc[2]]:
    _data.append(_hidden_make([[(_c - 97) / 16.0 for _c in _row.encode()] for _row in _rows]))
_y_train = _hidden_make([_c - 48 for _c in _enc[1].encode()], "i8")
_y_test = [_c - 48 for _c in _enc[3].encode()]
_built = _hidden_call(build_model, (64, 10, 1), "build_model(64, 10, seed=1)")
assert _type(_built) is _tuple and _built.__len__() == 3, (
    "hidden case: build_model should return (model, loss, optimizer)")
_hidden_call(_built[0].fit, (_data[0], _y_train, _built[1], _built[2], 12, 64, None, (), 1),
             "fit on the digits, 12 epochs in batches of 64, seed 1")
_pred = _hidden_call(_built[0].predict, (_data[1],), "predict on the digits' test set")
assert _type(_pred) is _type(_data[1]) and _pred.shape == (_y_test.__len__(), 10), (
    f"hidden case: predict on the test set should return an array of shape "
    f"({_y_test.__len__()}, 10)")
_labels = _pred.argmax(1).tolist()
_right = 0
_i = 0
for _label in _y_test:
    _right += 1 if _labels[_i] == _label else 0
    _i += 1
assert _right >= 0.9 * _y_test.__len__(), (
    f"hidden case: trained with seed 1, your model reached {_right / _y_test.__len__():.1%} "
    f"test accuracy on the digits, below the 90% required")
### END HIDDEN TESTS

# %% [markdown]
# ### Learning curves, confusion matrix and the digits it gets wrong
# Now the reference configuration (your `build_model`) on the data loaded above, with a
# validation split and your `EarlyStopping`: the learning curves come from your `History`,
# the confusion matrix and the per-class precision and recall from your metrics.

# %%
model, loss, optimizer = build_model(x_fit.shape[1], 10, seed=0)
start = time.perf_counter()
history = model.fit(x_fit, y_fit, loss, optimizer, epochs=12, batch_size=64,
                    validation_data=(x_val, y_val), callbacks=[EarlyStopping(patience=3)])
scores = model.evaluate(x_test, y_test, loss)
print(f"{len(history.history['loss'])} epochs in {time.perf_counter() - start:.1f} s; test "
      f"loss {scores['loss']:.4f}, test accuracy {scores['accuracy']:.2%}")
y_pred = model.predict(x_test).argmax(axis=1)
precision, recall = precision_recall(y_test, y_pred, 10)
print("precision per class:", np.round(precision, 3))
print("recall per class:   ", np.round(recall, 3))

fig, (ax_loss, ax_acc, ax_cm) = plt.subplots(1, 3, figsize=(8.4, 2.9), constrained_layout=True)
ax_loss.plot(history.history["loss"], label="training")
ax_loss.plot(history.history["val_loss"], label="validation")
ax_loss.set(xlabel="epoch", ylabel="loss", title="learning curves")
ax_loss.legend()
ax_acc.plot(history.history["val_accuracy"], color="tab:orange")
ax_acc.set(xlabel="epoch", ylabel="validation accuracy", title="accuracy")
cm = np.zeros((10, 10), dtype=int)
np.add.at(cm, (y_test, y_pred), 1)
ax_cm.imshow(cm, cmap="Blues")
ax_cm.set(xlabel="predicted", ylabel="true", title="confusion matrix", xticks=range(10),
          yticks=range(10))
ax_cm.tick_params(labelsize=6)
plt.show()

wrong = np.flatnonzero(y_pred != y_test)[:12]
side = int(round(np.sqrt(x_test.shape[1])))
fig, axes = plt.subplots(2, 6, figsize=(8.4, 3.2), constrained_layout=True)
for ax in axes.ravel():
    ax.axis("off")
for ax, i in zip(axes.ravel(), wrong):
    ax.imshow(x_test[i].reshape(side, side), cmap="gray_r")
    ax.set_title(f"true {y_test[i]}, said {y_pred[i]}", fontsize=8)
fig.suptitle(f"{len(np.flatnonzero(y_pred != y_test))} misclassified test digits, the first 12")
plt.show()

# %% [markdown]
# ### Debugging views: gradient check and gradient flow
# Two tools that find most bugs in a library like yours. A **gradient check** compares a
# layer's `backward` with central differences of its `forward` (notebook 02): the relative
# error should be below about $10^{-6}$. The **gradient flow** shows the size of each
# parameter's gradient after one backward pass of your trained model: a layer whose
# gradients are orders of magnitude smaller than the others' learns nothing (vanishing
# gradients), one whose gradients are much larger makes training unstable.

# %%
def check_layer(layer, x, h=1e-5, seed=0):
    """Relative error between layer.backward and central differences of the scalar
    sum(forward(x) * r), for a fixed random r: the gradient for x, then each parameter's."""
    r = np.random.default_rng(seed).normal(size=layer.forward(x, True).shape)
    layer.forward(x, True)
    analytic = [layer.backward(r)] + [p.grad.copy() for p in layer.parameters()]
    targets = [x] + [p.value for p in layer.parameters()]
    errors = []
    for array, grad in zip(targets, analytic):
        numeric = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            old = array[i]
            array[i] = old + h
            up = np.sum(layer.forward(x, True) * r)
            array[i] = old - h
            down = np.sum(layer.forward(x, True) * r)
            array[i] = old
            numeric[i] = (up - down) / (2 * h)
        errors.append(np.max(np.abs(numeric - grad)) / max(1e-12, np.max(np.abs(numeric) +
                                                                             np.abs(grad))))
    return errors


probe = np.random.default_rng(3).normal(size=(6, 4))
for name, layer in [("Dense(4, 3)", Dense(4, 3)), ("BatchNorm(4)", BatchNorm(4)),
                    ("Tanh", Tanh()), ("Softmax", Softmax())]:
    print(f"{name:13s} relative errors (x, then each parameter):",
          ", ".join(f"{e:.1e}" for e in check_layer(layer, probe.copy())))

model.forward(x_fit[:256], training=True)
loss.forward(model.forward(x_fit[:256], training=True), y_fit[:256])
model.backward(loss.backward())
names, norms = [], []
for i, layer in enumerate(model.layers):
    for p in layer.parameters():
        names.append(f"{i}: {type(layer).__name__}.{p.name}")
        norms.append(np.linalg.norm(p.grad) / np.sqrt(p.grad.size))
fig, ax = plt.subplots(figsize=(8.4, 2.8), constrained_layout=True)
ax.bar(range(len(norms)), norms)
ax.set_xticks(range(len(norms)), names, rotation=20, fontsize=7)
ax.set(yscale="log", ylabel="RMS gradient", title="gradient flow of your trained model")
plt.show()

# %% [markdown]
# ### Browse the test digits
# Your model's prediction and probabilities for each test image: choose *errors only* to
# see what it gets wrong, *least confident* to see what it hesitates about. The browser
# calls your model once; the probabilities come from **your** `Softmax` on its logits.

# %%
from scratchnn.interactive.digits import digit_browser

digit_browser(lambda images: Softmax().forward(model.predict(images)), x_test, y_test,
              show="errors")

# %% [markdown]
# ## 12. Ship it: your library as an installable package
#
# Code in a notebook is for exploring; a library is a package other code can `import`. You
# now turn your classes into `my_nn`, laid out as the course's module page sketches it:
#
# ```
# my_nn_library/                 the project (what pip installs from)
# ├── pyproject.toml             name, version, dependencies, build backend
# ├── README.md                  what it is, how to install, a usage example
# ├── my_nn/                     the package: import my_nn
# │   ├── __init__.py            re-exports the public names
# │   ├── core.py                Parameter, Layer
# │   ├── layers/                dense.py, dropout.py, batch_norm.py
# │   ├── activations/           relu.py, sigmoid.py, tanh.py, softmax.py
# │   ├── losses/                mse.py, cross_entropy.py, binary_cross_entropy.py
# │   ├── optimizers/            sgd.py, momentum.py, adam.py
# │   ├── models/                sequential.py
# │   └── utils/                 data_loader.py, metrics.py, callbacks.py, io.py
# └── tests/                     test_*.py: functions named test_..., run with pytest
# ```
#
# Each subpackage has an `__init__.py` that imports its classes (`from .dense import
# Dense`), and each module imports what it uses (`import numpy as np`, `from ..core import
# Layer, Parameter`). The read-only cell below gives you the tools:
# - `source_of(*objects)` returns the source text of your classes and functions as you
#   wrote them in this notebook, and `module(imports, *objects)` a whole module: `import
#   numpy as np`, your `imports` line(s), then the objects' sources;
# - `write_package(files, root)` writes a dict `{path: text}` under `root`;
# - `install_editable(root, keep)` runs `pip install -e` **offline** (`--no-index
#   --no-build-isolation --no-deps`: nothing is downloaded, the setuptools already installed
#   builds it); `run_package_tests(root, site_dir)` runs the `test_*` functions of `tests/`
#   in a fresh Python process that sees the package only through its installation.
#
# Where it goes: with `KEEP_PACKAGE = True` (on your own machine), the package is written to
# `./my_nn_library` next to this notebook and installed into this kernel's environment, so
# that `import my_nn` works in any notebook afterwards (restart other kernels). With
# `KEEP_PACKAGE = False` (the default, and always where this folder is read-only, as in the
# grader), it goes to a temporary folder and is installed into a temporary prefix; both are
# deleted when the kernel stops, leaving nothing behind.
#
# ### Exercise 12: `package_files` (3 points)
# Return the dict `{path: text}` of every file of the project, paths relative to
# `my_nn_library/`: at least the files of the tree above, a README that shows `pip install
# -e .` and a short usage example with `fit`, and at least two test functions in `tests/`
# that import `my_nn` and check something real (a gradient, a training run). The test cell
# writes the package, installs it, imports it back and runs its tests. For example:
#
# ```python
# files = {
#     "my_nn/core.py": module("", Parameter, Layer),
#     "my_nn/layers/dense.py": module("from ..core import Layer, Parameter", Dense),
#     "my_nn/layers/__init__.py": "from .dense import Dense\n...",
#     ...
# }
# ```
#
# The `pyproject.toml` needs a `[build-system]` table (`requires = ["setuptools>=64"]`,
# `build-backend = "setuptools.build_meta"`), a `[project]` table (`name = "my-nn"`,
# `version`, `dependencies = ["numpy"]`) and, under `[tool.setuptools]`,
# `packages.find.include = ["my_nn*"]`, so that `tests/` is not installed as a package.

# %% nbgrader={"grade": false, "grade_id": "packaging", "locked": true, "schema_version": 3, "solution": false}
import atexit
import inspect
import linecache
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path


def source_of(*objects):
    """The source text of classes and functions defined in this notebook, in order."""
    texts = []
    for obj in objects:
        if not inspect.isclass(obj):
            texts.append(textwrap.dedent(inspect.getsource(obj)))
            continue
        # inspect.getsource cannot find a notebook's classes before Python 3.13: find the
        # class statement in the cell that defines the class's methods.
        methods = [f for f in vars(obj).values() if inspect.isfunction(f)]
        if not methods:
            raise ValueError(f"source_of: {obj.__name__} defines no method to locate it by")
        lines = linecache.getlines(methods[0].__code__.co_filename)
        starts = [i for i, line in enumerate(lines) if re.match(rf"class {obj.__name__}\b", line)]
        if not starts:
            raise ValueError(f"source_of: no 'class {obj.__name__}' in its cell")
        end = starts[-1] + 1
        while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
            end += 1
        texts.append("".join(lines[starts[-1]:end]).rstrip() + "\n")
    return "\n\n".join(texts)


def module(imports, *objects):
    """A module's text: import numpy, then the `imports` line(s), then the objects' sources."""
    head = "import numpy as np\n" + (imports.strip() + "\n" if imports.strip() else "")
    return head + "\n\n" + source_of(*objects)


def write_package(files, root):
    """Write {relative path: text} under root (emptied first); returns root as a Path."""
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def writable(folder):
    """True if a file can be created in folder."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def package_root(keep):
    """./my_nn_library when keep and this folder is writable, else a temporary folder that
    is deleted when the kernel stops."""
    if keep and writable(Path.cwd()):
        return Path.cwd() / "my_nn_library"
    if keep:
        print("note: this folder is read-only: the package goes to a temporary folder")
    scratch = Path(tempfile.mkdtemp(prefix="my_nn_"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    return scratch / "my_nn_library"


def install_editable(root, keep=False):
    """pip install -e root, offline. Into this kernel's environment when keep and it is
    writable, else into a temporary prefix next to root. Returns the site-packages folder
    of the installation."""
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--no-build-isolation",
               "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "--quiet"]
    target = sysconfig.get_paths()["purelib"]
    if not (keep and writable(target)):
        prefix = Path(root).parent / "prefix"
        command += ["--prefix", str(prefix)]
        target = sysconfig.get_paths(vars={"base": str(prefix), "platbase": str(prefix)})[
            "purelib"]
    result = subprocess.run(command + ["-e", str(root)], capture_output=True, text=True,
                            timeout=300)
    if result.returncode != 0 and "bdist_wheel" in result.stdout + result.stderr:
        # setuptools < 70.1 without the wheel package cannot build an editable wheel: install
        # the way pip install -e did before PEP 660, a path file in site-packages.
        print("note: this environment's setuptools cannot build an editable wheel offline "
              "(it needs setuptools >= 70.1, or the wheel package): the package is installed "
              "as a path file instead, which pip install -e did before PEP 660")
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / "my_nn_library.pth").write_text(f"{Path(root).resolve()}\n")
    elif result.returncode != 0:
        raise RuntimeError(f"pip install -e {root} failed:\n{result.stdout[-1500:]}"
                           f"{result.stderr[-3000:]}")
    return target


def import_package(root, name="my_nn"):
    """Import the package just written under root into this kernel (a fresh copy)."""
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[loaded]
    sys.path.insert(0, str(root))
    return __import__(name)


RUNNER = """
import importlib.util, site, sys, traceback
from pathlib import Path
site.addsitedir(sys.argv[2])   # the installation, and only it: the cwd is not the project
import my_nn
print("my_nn imported from", my_nn.__file__)
passed = failed = 0
for path in sorted(Path(sys.argv[1]).glob("test_*.py")):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name in sorted(n for n in vars(mod) if n.startswith("test_")):
        try:
            getattr(mod, name)()
            passed += 1
            print("PASSED", path.name, name)
        except Exception:
            failed += 1
            print("FAILED", path.name, name)
            traceback.print_exc(limit=3, file=sys.stdout)
print(f"{passed} passed, {failed} failed")
"""


def run_package_tests(root, site_dir):
    """Run the test_* functions of root/tests in a fresh Python that imports the package
    from its installation in site_dir (pytest runs them as well): (passed, failed, output)."""
    result = subprocess.run([sys.executable, "-c", RUNNER, str(Path(root) / "tests"),
                             str(site_dir)], capture_output=True, text=True, timeout=300,
                            cwd=Path(root).parent)
    found = re.search(r"(\d+) passed, (\d+) failed", result.stdout)
    passed, failed = (int(found[1]), int(found[2])) if found else (0, 1)
    return passed, failed, result.stdout[-3000:] + result.stderr[-2000:]


# %% nbgrader={"grade": false, "grade_id": "ex12-package", "locked": false, "schema_version": 3, "solution": true}
KEEP_PACKAGE = False   # True on your own machine: ./my_nn_library, installed for good


def package_files():
    """{path relative to my_nn_library/: text} of every file of your package."""
    ### BEGIN SOLUTION
    pyproject = textwrap.dedent("""\
    [build-system]
    requires = ['setuptools>=64']
    build-backend = 'setuptools.build_meta'

    [project]
    name = "my-nn"
    version = "0.1"
    description = "A small deep-learning library in pure NumPy"
    requires-python = ">=3.9"
    dependencies = ["numpy"]

    [tool.setuptools]
    packages.find.include = ["my_nn*"]   # the package, not tests/
    """)

    readme = textwrap.dedent("""\
    # my_nn: a small deep-learning library in NumPy

    Layers, losses, optimizers and a `Sequential` model with `fit`, written in the capstone of
    *Neural Networks from Scratch*.

    ## Install

        pip install -e .

    ## Usage

    ```python
    from my_nn import Adam, CrossEntropy, Dense, ReLU, Sequential

    model = Sequential([Dense(64, 128), ReLU(), Dense(128, 10)])
    history = model.fit(x, y, CrossEntropy(), Adam(1e-3), epochs=10)
    print(model.evaluate(x_test, y_test, CrossEntropy()))
    ```

    ## Tests

        python -m pytest tests
    """)

    init = textwrap.dedent('''\
    """my_nn: a small deep-learning library in NumPy."""
    from .activations import ReLU, Sigmoid, Softmax, Tanh
    from .core import Parameter, Layer
    from .layers import BatchNorm, Dense, Dropout
    from .losses import MSE, BinaryCrossEntropy, CrossEntropy
    from .models import Sequential
    from .optimizers import SGD, Adam, Momentum
    from .utils import (DataLoader, EarlyStopping, History, accuracy, load_weights,
                        precision_recall, save_weights)

    __version__ = "0.1"
    ''')

    test_layers = textwrap.dedent("""\
    import numpy as np

    from my_nn import BatchNorm, Dense, Tanh


    def numeric_grad(f, x, h=1e-6):
        numeric = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + h
            up = f()
            x[i] = old - h
            down = f()
            x[i] = old
            numeric[i] = (up - down) / (2 * h)
        return numeric


    def check(layer, x):
        r = np.random.default_rng(0).normal(size=layer.forward(x, True).shape)
        analytic = layer.backward(r)
        numeric = numeric_grad(lambda: np.sum(layer.forward(x, True) * r), x)
        assert np.allclose(analytic, numeric, atol=1e-5), (analytic, numeric)


    def test_dense_gradient():
        check(Dense(4, 3, seed=1), np.random.default_rng(1).normal(size=(5, 4)))


    def test_tanh_and_batchnorm_gradients():
        x = np.random.default_rng(2).normal(size=(6, 3))
        check(Tanh(), x.copy())
        check(BatchNorm(3), x.copy())
    """)

    test_training = textwrap.dedent("""\
    import numpy as np

    from my_nn import SGD, CrossEntropy, Dense, ReLU, Sequential, accuracy


    def test_a_small_network_learns_two_blobs():
        rng = np.random.default_rng(0)
        x = np.concatenate([rng.normal(-2, 1, (50, 2)), rng.normal(2, 1, (50, 2))])
        y = np.repeat([0, 1], 50)
        model = Sequential([Dense(2, 8, seed=0), ReLU(), Dense(8, 2, seed=1)])
        history = model.fit(x, y, CrossEntropy(), SGD(0.1), epochs=20, batch_size=10)
        assert history.history["loss"][-1] < history.history["loss"][0]
        assert accuracy(y, model.predict(x)) > 0.95
    """)
    uses_core = "from ..core import Layer, Parameter"
    files = {
        "pyproject.toml": pyproject,
        "README.md": readme,
        "my_nn/__init__.py": init,
        "my_nn/core.py": module("", Parameter, Layer),
        "my_nn/layers/__init__.py": "from .batch_norm import BatchNorm\n"
                                    "from .dense import Dense\nfrom .dropout import Dropout\n",
        "my_nn/layers/dense.py": module(uses_core, Dense),
        "my_nn/layers/dropout.py": module(uses_core, Dropout),
        "my_nn/layers/batch_norm.py": module(uses_core, BatchNorm),
        "my_nn/activations/__init__.py": "from .relu import ReLU\nfrom .sigmoid import Sigmoid\n"
                                         "from .softmax import Softmax\nfrom .tanh import Tanh\n",
        "my_nn/activations/relu.py": module("from ..core import Layer", ReLU),
        "my_nn/activations/sigmoid.py": module("from ..core import Layer", Sigmoid),
        "my_nn/activations/tanh.py": module("from ..core import Layer", Tanh),
        "my_nn/activations/softmax.py": module("from ..core import Layer", Softmax),
        "my_nn/losses/__init__.py": "from .binary_cross_entropy import BinaryCrossEntropy\n"
                                    "from .cross_entropy import CrossEntropy\n"
                                    "from .mse import MSE\n",
        "my_nn/losses/mse.py": module("", MSE),
        "my_nn/losses/cross_entropy.py": module("", CrossEntropy),
        "my_nn/losses/binary_cross_entropy.py": module("", BinaryCrossEntropy),
        "my_nn/optimizers/__init__.py": "from .adam import Adam\nfrom .momentum import Momentum\n"
                                        "from .sgd import SGD\n",
        "my_nn/optimizers/sgd.py": module("", SGD),
        "my_nn/optimizers/momentum.py": module("", Momentum),
        "my_nn/optimizers/adam.py": module("", Adam),
        "my_nn/models/__init__.py": "from .sequential import Sequential\n",
        "my_nn/models/sequential.py": module(
            "from ..utils.callbacks import History\nfrom ..utils.data_loader import DataLoader\n"
            "from ..utils.metrics import accuracy", Sequential),
        "my_nn/utils/__init__.py": "from .callbacks import EarlyStopping, History\n"
                                   "from .data_loader import DataLoader\n"
                                   "from .io import load_weights, save_weights\n"
                                   "from .metrics import accuracy, precision_recall\n",
        "my_nn/utils/data_loader.py": module("", DataLoader),
        "my_nn/utils/metrics.py": module("", accuracy, precision_recall),
        "my_nn/utils/callbacks.py": module("", History, EarlyStopping),
        "my_nn/utils/io.py": module("", save_weights, load_weights),
        "tests/test_layers.py": test_layers,
        "tests/test_training.py": test_training,
    }
    return files
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 12 and the hidden checks of its test. Each
# wrong package_files wraps the right one (bound as a default argument when it is defined).
MISTAKES.add("ex12-package", "no pyproject.toml", words="pyproject.toml", code="""
def package_files(_right=package_files):
    files = dict(_right())
    del files["pyproject.toml"]
    return files
""")
MISTAKES.add("ex12-package", "subpackage without __init__.py", words="__init__.py", code="""
def package_files(_right=package_files):
    files = dict(_right())
    del files["my_nn/losses/__init__.py"]
    return files
""")
MISTAKES.add("ex12-package", "module without its imports", words="import", code="""
def package_files(_right=package_files):
    files = dict(_right())
    files["my_nn/layers/dense.py"] = source_of(Dense)
    return files
""")
MISTAKES.add("ex12-package", "README without usage", words="README", code="""
def package_files(_right=package_files):
    files = dict(_right())
    files["README.md"] = "# my_nn\\n"
    return files
""")
MISTAKES.add("ex12-package", "no tests", words="tests/", code="""
def package_files(_right=package_files):
    return {k: v for k, v in _right().items() if not k.startswith("tests/")}
""")
MISTAKES.add("ex12-package", "a failing test", words="failed", code="""
def package_files(_right=package_files):
    files = dict(_right())
    files["tests/test_broken.py"] = "def test_broken():\\n    assert 1 + 1 == 3\\n"
    return files
""")


def package_layout():
    """(path, names it must define) of the modules of the layout."""
    return [("my_nn/core.py", ["Parameter", "Layer"]), ("my_nn/layers/dense.py", ["Dense"]),
            ("my_nn/layers/dropout.py", ["Dropout"]),
            ("my_nn/layers/batch_norm.py", ["BatchNorm"]),
            ("my_nn/activations/relu.py", ["ReLU"]), ("my_nn/activations/sigmoid.py", ["Sigmoid"]),
            ("my_nn/activations/tanh.py", ["Tanh"]), ("my_nn/activations/softmax.py", ["Softmax"]),
            ("my_nn/losses/mse.py", ["MSE"]), ("my_nn/losses/cross_entropy.py", ["CrossEntropy"]),
            ("my_nn/losses/binary_cross_entropy.py", ["BinaryCrossEntropy"]),
            ("my_nn/optimizers/sgd.py", ["SGD"]), ("my_nn/optimizers/momentum.py", ["Momentum"]),
            ("my_nn/optimizers/adam.py", ["Adam"]), ("my_nn/models/sequential.py", ["Sequential"]),
            ("my_nn/utils/data_loader.py", ["DataLoader"]),
            ("my_nn/utils/metrics.py", ["accuracy", "precision_recall"]),
            ("my_nn/utils/callbacks.py", ["History", "EarlyStopping"]),
            ("my_nn/utils/io.py", ["save_weights", "load_weights"])]


# %% nbgrader={"grade": true, "grade_id": "ex12-package-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 12
files = package_files()
assert isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, str)
                                       for k, v in files.items()), (
    "package_files() should return a dict {path: text}")
required = ["pyproject.toml", "README.md", "my_nn/__init__.py", "my_nn/core.py"] + [
    f"my_nn/{sub}/__init__.py" for sub in ("layers", "activations", "losses", "optimizers",
                                           "models", "utils")]
missing = [name for name in required if name not in files]
assert not missing, (
    f"the package lacks {missing}: every subpackage needs its __init__.py, and the project "
    f"its pyproject.toml and README.md")
assert "setuptools" in files["pyproject.toml"] and "name" in files["pyproject.toml"], (
    "pyproject.toml should declare the build backend (setuptools) and the project's name")
readme = files["README.md"]
assert "pip install -e" in readme and "import" in readme and "fit" in readme, (
    "the README should say how to install the package (pip install -e .) and show a usage "
    "example that imports my_nn and calls fit")
assert any(name.startswith("tests/test_") and name.endswith(".py") for name in files), (
    "the project needs tests: at least one file tests/test_*.py")
keep = KEEP_PACKAGE and writable(Path.cwd())
root = write_package(files, package_root(keep))
site_dir = install_editable(root, keep)
print(f"installed my_nn from {root} (editable) into {site_dir}")
try:
    my_nn = import_package(root)
except Exception as err:
    raise AssertionError(
        f"the package does not import ({type(err).__name__}: {err}): each module must import "
        f"what it uses, e.g. import numpy as np and from ..core import Layer, Parameter"
    ) from None
for name in ["Dense", "ReLU", "Dropout", "BatchNorm", "CrossEntropy", "Adam", "Sequential",
             "DataLoader", "EarlyStopping", "accuracy", "save_weights"]:
    assert hasattr(my_nn, name), f"my_nn should export {name} (import it in my_nn/__init__.py)"
passed, failed, output = run_package_tests(root, site_dir)
print(output[-800:])
assert failed == 0 and passed >= 2, (
    f"the package's own tests: {passed} passed, {failed} failed (at least 2 must pass and "
    f"none fail):\n{output[-1500:]}")
print("✅ your package installs, imports and passes its own tests.")
### BEGIN HIDDEN TESTS
# the modules of the layout, each defining its names, in package_files()
_files = _hidden_call(package_files, (), "package_files()")
for _path, _names in literal(package_layout()):
    assert _path in _files, f"hidden case: the package has no {_path}"
    for _name in _names:
        assert f"class {_name}" in _files[_path] or f"def {_name}" in _files[_path], (
            f"hidden case: {_path} should define {_name}")
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
# You built a small deep-learning library with the structure of the real ones:
# - **layers** as objects with `forward(x, training)`, `backward(grad)` and
#   `parameters()`, caching what their backward pass needs: `Dense`, `ReLU`, `Sigmoid`,
#   `Tanh`, `Softmax`, `Dropout`, `BatchNorm`;
# - **losses** with `forward` and `backward`, stable from logits;
# - **optimizers** that update `Parameter`s in place and keep their state per parameter;
# - a **model** whose `fit` runs mini-batches, validation and callbacks, with `History`
#   and `EarlyStopping`; **metrics**; **saved weights** in a plain `.npz` file;
# and you trained it to more than 90% on handwritten digits, then looked inside it with a
# gradient check and a gradient-flow plot.
#
# This is how `scratchnn` (the course's library) is organised too; PyTorch's `nn.Module`,
# `optim.Optimizer` and Keras's `Sequential`, `fit` and callbacks are the same ideas with
# more care for speed, devices and automatic differentiation.
#
# ### Questions to think about
# 1. Why does the loss object, not the model, compute $\partial L/\partial \text{output}$?
#    What would change if the model ended with a `Softmax` layer and the loss took
#    probabilities?
# 2. Your optimizers key their state by `id(p)`. What breaks if a model's parameters are
#    replaced by new `Parameter` objects (e.g. by a `load_weights` that creates them)?
# 3. `BatchNorm`'s running statistics are not parameters. Where else does a model have state
#    that an optimizer must not touch but `save_weights` must keep?
# 4. Why must `predict` run in evaluation mode? Which of your layers would give different
#    results otherwise, and why would that be a bug in production?
# 5. How would you add automatic differentiation, so that a new layer needs only its
#    `forward`?
