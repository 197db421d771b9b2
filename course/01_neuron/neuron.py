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
# # Notebook 01 · The Neuron
#
# **Weighted sums, activations, losses, and your first gradient descent, in pure NumPy.**
#
# Every deep network, however large, is built from one small part: a *neuron* that takes
# a weighted sum of its inputs, adds a bias and passes the result through a nonlinear function.
# In this notebook you build that part from scratch, learn how to measure how wrong it is,
# and then teach it to spot malignant tumours from 30 measurements, with an algorithm you
# write yourself.
#
# ### Learning objectives
# By the end of this notebook you can:
# 1. compute the output of one neuron, and of a whole layer of neurons on a batch of inputs,
#    with a single matrix product;
# 2. implement sigmoid, tanh, ReLU, leaky ReLU and softmax, and their derivatives, in a form
#    that never overflows;
# 3. implement the mean squared error and the binary and categorical cross-entropy losses,
#    both from probabilities and, stably, from logits;
# 4. derive the gradient of the cross-entropy loss of one sigmoid neuron, check it
#    numerically, and train the neuron with gradient descent to at least 95% test accuracy.
#
# ### Time estimate
# About **3 hours**: 45 minutes per main section, plus time to play with the widgets.
# Take breaks between sections; the notebook is designed so you can stop after any test cell.
#
# ### Prerequisites
# - Python and NumPy: arrays, shapes, broadcasting, `@` for matrix products, `axis=` arguments.
# - Calculus: derivatives and the chain rule; the rules of `exp` and `log`.
# - Nothing about neural networks: that is what we are here for.
#
# ### How this notebook works
# - Each **exercise** cell contains a function with `# YOUR CODE HERE` and
#   `raise NotImplementedError()`. Replace those two lines with your solution.
# - The **test cell** right after it checks your work. Run it: a ✅ means the visible tests
#   pass. When you submit, the grader also runs **hidden tests** on other shapes, other random
#   seeds and extreme values, so write general code rather than code that fits the examples.
# - Do not rename the functions, and do not delete or copy the exercise and test cells.
# - Use NumPy only. Calling the course library `scratchnn` in your solutions is flagged by the
#   grader; it is only used here for the playground widget.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure every test
#   cell shows its ✅ (or press the **Validate** button).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import warnings

import matplotlib.pyplot as plt
import numpy as np

# %matplotlib inline
np.set_printoptions(precision=4, suppress=True)
print("NumPy", np.__version__)

# %% nbgrader={"grade": false, "grade_id": "test-helpers", "locked": true, "schema_version": 3, "solution": false}
# Two helpers of the test cells below (you do not need them in your code).
import ast
import inspect


def numpy_error(fn, *args):
    """fn(*args) with NumPy's overflow, divide-by-zero and invalid-value warnings turned into
    errors, as the grader does: returns (result, None), or (None, the error it raised)."""
    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn",
                                                under="ignore"):
        warnings.simplefilter("error")
        try:
            return fn(*args), None
        except (RuntimeWarning, FloatingPointError) as err:
            return None, err


def python_loops(fn):
    """The kinds of Python loop (For, While, comprehension) in fn's source code; [] when the
    source cannot be read. Where an exercise asks for no loops, its test uses this."""
    try:
        tree = ast.parse(inspect.getsource(fn).strip())
    except (OSError, TypeError, SyntaxError):
        return []
    return sorted({type(node).__name__ for node in ast.walk(tree)
                   if isinstance(node, (ast.For, ast.While, ast.comprehension))})

# %% tags=["authoring"]
# Authoring only (tag "authoring"): this kind of cell never reaches the master or the release.
# It computes the hidden cases at render time (`make release`) and, run here in JupyterLab,
# lets the hidden tests below run in this kernel: each literal(...) becomes a literal in the
# master. MISTAKES collects the typical wrong solutions of each exercise: tests/test_mistakes.py
# checks that each one fails its test cell with a message that names it. See docs/authoring.md.
import numpy as np

from coursekit.hidden import draw, literal, short
from coursekit.mistakes import Corpus
from coursekit.preamble import (
    _hidden_array,
    _hidden_call,
    _hidden_float,
    _hidden_make,
    _hidden_values,
    _list,
    _ndarray,
    _tuple,
    _type,
    _ValueError,
)
from scratchnn import functional as F

MISTAKES = Corpus(globals())

# %% [markdown]
# ## 1. One neuron, then a layer of them
#
# A neuron with $d$ inputs $\mathbf{x} = (x_1, \dots, x_d)$ has one **weight** per input,
# $\mathbf{w} = (w_1, \dots, w_d)$, and one **bias** $b$. It first computes the weighted sum
#
# $$
# z = \mathbf{w}^\top \mathbf{x} + b = \sum_{i=1}^{d} w_i x_i + b ,
# $$
#
# called the **pre-activation** or **logit**, and then applies an **activation function**:
# $a = f(z)$. The weights say how much each input matters and in which direction; the bias
# shifts the point at which the neuron "fires". For now we only compute $z$; section 2 is all
# about $f$.
#
# ### Exercise 1: `neuron_forward` (1 point)
# Given `x` and `w`, two 1-D arrays of the same length $d$, and a number `b`, return the
# number $z = \mathbf{w}^\top\mathbf{x} + b$. One line is enough: look up `np.dot` or `@`.

# %% nbgrader={"grade": false, "grade_id": "ex1-neuron-forward", "locked": false, "schema_version": 3, "solution": true}
def neuron_forward(x, w, b):
    """Pre-activation of one neuron: z = w . x + b.

    x: (d,) inputs; w: (d,) weights; b: a number. Returns a single number.
    """
    ### BEGIN SOLUTION
    return np.dot(w, x) + b
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 1 and the hidden cases of its test.
MISTAKES.add("ex1-neuron-forward", "forgot the bias", words="without the bias",
             message="the result is w . x without the bias: add b", code="""
def neuron_forward(x, w, b):
    return np.dot(w, x)
""")
MISTAKES.add("ex1-neuron-forward", "products not summed", words="sum the products", code="""
def neuron_forward(x, w, b):
    return w * x + b
""")
MISTAKES.add("ex1-neuron-forward", "bias subtracted", words="do not subtract",
             message="the result is w . x - b: add the bias, do not subtract it", code="""
def neuron_forward(x, w, b):
    return np.dot(w, x) - b
""")
MISTAKES.add("ex1-neuron-forward", "bias added to every product", words="added once",
             message="the bias was added to every product (d times): it is added once",
             code="""
def neuron_forward(x, w, b):
    return np.sum(w * x + b)
""")
MISTAKES.add("ex1-neuron-forward", "result rounded to an integer", words="int", code="""
def neuron_forward(x, w, b):
    return int(np.dot(w, x) + b)
""")


def neuron_cases():
    """x, w, b, the expected w . x + b, and what the typical mistakes give (seeds 11-13)."""
    cases = []
    for seed, d in [(11, 1), (12, 6), (13, 16)]:
        x, w, b = draw(seed, d, d, ())
        want = F.dense(x[None, :], w[:, None], b[None])[0, 0]
        mistakes = MISTAKES.outputs("ex1-neuron-forward", "neuron_forward", x, w, float(b),
                                    want=want)
        cases.append((x, w, float(b), want, mistakes))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex1-neuron-forward-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 1
x = np.array([1.0, 2.0, 3.0])
w = np.array([0.5, -1.0, 2.0])
z = neuron_forward(x, w, 0.5)
assert np.ndim(z) == 0, (
    f"neuron_forward should return a single number, got an array of shape {np.shape(z)}: "
    f"sum the products w_i x_i (np.dot(w, x) or w @ x), then add b")
assert not isinstance(z, (int, np.integer)), (
    f"neuron_forward returned the integer {z!r}: keep the float result, do not convert it "
    f"with int()")
assert not np.isclose(z, 4.5), (
    "neuron_forward([1, 2, 3], [0.5, -1, 2], 0.5) gave 4.5 = w . x, without the bias: add b")
assert not np.isclose(z, 4.0), (
    "neuron_forward([1, 2, 3], [0.5, -1, 2], 0.5) gave 4.0 = w . x - b: add the bias, "
    "do not subtract it")
assert not np.isclose(z, 6.0), (
    "neuron_forward([1, 2, 3], [0.5, -1, 2], 0.5) gave 6.0 = w . x + 3 b: the bias is added "
    "once, not to each of the 3 products")
assert np.isclose(z, 5.0), (
    f"neuron_forward([1, 2, 3], [0.5, -1, 2], 0.5) should be 0.5 - 2 + 6 + 0.5 = 5.0, got {z}")

rng = np.random.default_rng(0)
x, w = rng.normal(size=5), rng.normal(size=5)
expected = sum(w[i] * x[i] for i in range(5)) + 1.5
got = neuron_forward(x, w, 1.5)
assert np.isclose(got, expected), (
    f"on other inputs (5 random features) expected {expected:.6f}, got {got}: the example "
    f"above passes, so look for something that only works for it")
print("✅ neuron_forward passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: x, w, b, the expected w . x + b, and (message, output) of typical mistakes
_cases = literal(neuron_cases())
for _x, _w, _bias, _want, _mistakes in _cases:
    _what = f"neuron_forward with d = {_x.__len__()}"
    _got = _hidden_call(neuron_forward, (_hidden_make(_x), _hidden_make(_w), _bias), _what)
    _hidden_float(_got, _want, _what, mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### A layer of neurons, on a batch of inputs
# A **layer** is $m$ neurons reading the same inputs. Put the weights of neuron $j$ in column
# $j$ of a matrix $W$ of shape $(d, m)$, and the biases in a vector $\mathbf{b}$ of shape
# $(m,)$. Stack $N$ inputs as the rows of a matrix $X$ of shape $(N, d)$ (a **batch**). Then
# all $N \times m$ pre-activations come out of one matrix product:
#
# $$
# Z = X W + \mathbf{b}, \qquad Z_{nj} = \sum_{i=1}^{d} X_{ni} W_{ij} + b_j ,
# $$
#
# where adding the row vector $\mathbf{b}$ to every row of $XW$ is exactly what NumPy's
# broadcasting does. Shapes: $(N, d) \cdot (d, m) \to (N, m)$. This layout, with $W$ of shape
# (inputs, outputs), is the one `scratchnn` uses everywhere; one fast matrix product replaces
# $N \cdot m$ calls of `neuron_forward`.
#
# ### Exercise 2: `layer_forward` (2 points)
# Return $Z = XW + \mathbf{b}$ for `X` of shape `(N, d)`, `W` of shape `(d, m)` and `b` of shape
# `(m,)`. No Python loops.

# %% nbgrader={"grade": false, "grade_id": "ex2-layer-forward", "locked": false, "schema_version": 3, "solution": true}
def layer_forward(X, W, b):
    """Pre-activations of a layer of neurons on a batch: Z = X @ W + b.

    X: (N, d) batch of inputs; W: (d, m), column j holds neuron j's weights; b: (m,).
    Returns Z of shape (N, m).
    """
    ### BEGIN SOLUTION
    return X @ W + b
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 2 and the hidden cases of its test.
MISTAKES.add("ex2-layer-forward", "W @ X instead of X @ W", words="X @ W", code="""
def layer_forward(X, W, b):
    return W @ X + b
""")
MISTAKES.add("ex2-layer-forward", "elementwise product", words="X @ W", code="""
def layer_forward(X, W, b):
    return X * W + b
""")
MISTAKES.add("ex2-layer-forward", "forgot the bias", words="bias is missing",
             message="the weighted sums are right but the bias is missing: add b",
             code="""
def layer_forward(X, W, b):
    return X @ W
""")
MISTAKES.add("ex2-layer-forward", "bias as a column", words="reshaped b", code="""
def layer_forward(X, W, b):
    return X @ W + b[:, None]
""")
MISTAKES.add("ex2-layer-forward", "Python loops", words="loop", code="""
def layer_forward(X, W, b):
    Z = np.zeros((X.shape[0], W.shape[1]))
    for n in range(X.shape[0]):
        for j in range(W.shape[1]):
            Z[n, j] = np.dot(X[n], W[:, j]) + b[j]
    return Z
""")


def layer_cases():
    """X, W, b, the expected X @ W + b and the typical mistakes' outputs (seeds 21-24)."""
    cases = []
    for seed, (n, d, m) in [(21, (1, 1, 1)), (22, (3, 6, 2)), (23, (2, 1, 7)), (24, (5, 4, 3))]:
        X, W, b = draw(seed, (n, d), (d, m), m)
        want = F.dense(X, W, b)
        cases.append((X, W, b, want,
                      MISTAKES.outputs("ex2-layer-forward", "layer_forward", X, W, b,
                                       want=want)))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex2-layer-forward-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 2
X = np.array([[1.0, 2.0],
              [0.0, -1.0]])
W = np.array([[1.0, 0.0, -1.0],
              [0.5, 2.0, 1.0]])      # 2 inputs -> 3 neurons
b = np.array([0.1, 0.2, 0.3])
try:
    Z = layer_forward(X, W, b)
except ValueError as err:
    raise AssertionError(
        f"layer_forward raised ValueError ({err}) for X of shape (2, 2), W of shape (2, 3) and "
        f"b of shape (3,): the product is X @ W, (N, d) @ (d, m) -> (N, m), and b of shape "
        f"(m,) broadcasts over its rows; W @ X, X * W or a reshaped b do not line up") from None
assert isinstance(Z, np.ndarray), f"layer_forward should return a numpy array, got {type(Z)}"
assert Z.shape == (2, 3), (
    f"for X of shape (2, 2) and W of shape (2, 3) the output should have shape (2, 3), one row "
    f"per example and one column per neuron, got {Z.shape}: compute X @ W + b")
expected = np.array([[2.1, 4.2, 1.3],
                     [-0.4, -1.8, -0.7]])
assert not np.allclose(Z, expected - b), (
    "the weighted sums are right but the bias is missing: add b")
assert np.allclose(Z, expected), f"expected\n{expected}\ngot\n{Z}"

rng = np.random.default_rng(0)
X, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
Z = layer_forward(X, W, b)
assert Z.shape == (4, 2), f"expected shape (4, 2), got {Z.shape}"
by_hand = np.array([[sum(X[n, i] * W[i, j] for i in range(3)) + b[j] for j in range(2)]
                    for n in range(4)])
assert np.allclose(Z - b, by_hand - b), "the weighted sums are wrong: is it X @ W?"
assert np.allclose(Z, by_hand), (
    "the weighted sums are right but the bias is not: add b[j] to column j")
loops = python_loops(layer_forward)   # the text asks for one matrix product, no loop
assert not loops, (
    f"layer_forward uses a Python loop ({', '.join(loops)}): one matrix product "
    f"X @ W + b computes the whole batch at once, much faster")
print("✅ layer_forward passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: X, W, b, the expected X @ W + b, and (message, output) of typical mistakes
_cases = literal(layer_cases())
for _Xv, _Wv, _bv, _want, _mistakes in _cases:
    _X, _W = _hidden_make(_Xv), _hidden_make(_Wv)
    _what = f"layer_forward with X of shape {_X.shape} and W of shape {_W.shape}"
    _got = _hidden_call(layer_forward, (_X, _W, _hidden_make(_bv)), _what,
                        "check that the product is X @ W and that b has shape (m,)")
    _hidden_array(_got, _want, _what, mistakes=_mistakes)
    assert _X.tolist() == _Xv and _W.tolist() == _Wv, (
        f"hidden case {_what}: layer_forward modified its inputs")
### END HIDDEN TESTS

# %% [markdown]
# ### See it: what a neuron computes over its input space
# Each of the three neurons below reads two inputs $(x_1, x_2)$. We feed your `layer_forward`
# a batch of 40,401 points covering the square $[-3, 3]^2$ and colour each point by $z$. The
# black line is where $z = 0$.

# %%
grid = np.linspace(-3, 3, 201)
x1, x2 = np.meshgrid(grid, grid)
points = np.column_stack([x1.ravel(), x2.ravel()])   # (40401, 2): one big batch
W_demo = np.array([[1.0, 0.0, 1.0],
                   [1.0, 1.0, -2.0]])                # column j = weights of neuron j
b_demo = np.array([0.0, -1.0, 0.5])
Z_demo = layer_forward(points, W_demo, b_demo)       # (40401, 3)

fig, axes = plt.subplots(1, 3, figsize=(8.4, 4.0), constrained_layout=True)
for j, ax in enumerate(axes):
    z = Z_demo[:, j].reshape(x1.shape)
    lim = np.abs(z).max()
    image = ax.pcolormesh(x1, x2, z, cmap="coolwarm", vmin=-lim, vmax=lim, shading="auto")
    ax.contour(x1, x2, z, levels=[0.0], colors="black", linewidths=2)
    ax.set_title(f"neuron {j}: w = {W_demo[:, j]}, b = {b_demo[j]}", fontsize=10)
    ax.set(xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
    fig.colorbar(image, ax=ax, label="z", location="bottom", shrink=0.9)
plt.show()


# %% [markdown]
# Each neuron's $z$ is a tilted plane, and $z = 0$ is a **straight line** (in $d$ dimensions: a
# hyperplane) perpendicular to $\mathbf{w}$. The weights turn the line, the bias slides it.
# Whatever activation comes next, one neuron can only split its input space with a straight
# cut. Keep that in mind: it is why we will need *layers* of neurons in notebook 02.

# %% [markdown]
# ## 2. Activation functions
#
# Why not stop at $z$? Because a stack of linear layers is still linear:
# $(X W_1) W_2 = X (W_1 W_2)$, a single layer in disguise. A nonlinear **activation** $f$
# between layers is what lets a network bend its decision boundaries.
#
# ### 2.1 Sigmoid, and why the obvious formula is dangerous
# The **sigmoid** squashes any real number into $(0, 1)$, which makes it a natural
# "probability of class 1":
#
# $$
# \sigma(z) = \frac{1}{1 + e^{-z}} .
# $$
#
# A `float64` holds numbers up to about $1.8 \times 10^{308}$, so $e^{z}$ overflows to `inf`
# as soon as $z > 709.8$. With the formula above, $z = -1000$ needs $e^{1000}$:

# %%
def naive_sigmoid(z):
    return 1 / (1 + np.exp(-z))

z = np.array([-1000.0, -5.0, 0.0, 5.0, 1000.0])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("naive sigmoid:", naive_sigmoid(z))
for warning in caught:
    print("⚠️ warning:", warning.message)


# %% [markdown]
# Here the answer happens to come out right ($1/\infty = 0$), but an `inf` has been created,
# and the next formula that touches it (a derivative, a log) turns it into `nan`; in `float32`,
# the usual type on GPUs, the overflow already starts at $z \approx -89$. The cure is to
# never exponentiate a positive number. Multiplying top and bottom by $e^{z}$ gives an equal
# form:
#
# $$
# \sigma(z) =
# \begin{cases}
#   \dfrac{1}{1 + e^{-z}} & z \ge 0 \quad (\text{here } -z \le 0)\\[2ex]
#   \dfrac{e^{z}}{1 + e^{z}} & z < 0 \quad (\text{here } z < 0)
# \end{cases}
# $$
#
# Both branches only ever compute $e^{\text{something} \le 0} \in (0, 1]$: no overflow, ever.
#
# ### Exercise 3: a stable `sigmoid` (2 points)
# Implement $\sigma$ elementwise for an array of any shape, using the two branches.
# Hints: a boolean mask `z >= 0` selects the elements of each branch (`out[mask] = ...`), or
# compute `e = np.exp(-np.abs(z))` once and combine with `np.where`. Start with
# `z = np.asarray(z, dtype=float)` so that numbers and integer arrays work too.

# %% nbgrader={"grade": false, "grade_id": "ex3-sigmoid", "locked": false, "schema_version": 3, "solution": true}
def sigmoid(z):
    """Logistic sigmoid 1 / (1 + exp(-z)), elementwise, without overflow.

    z: a number or an array of any shape. Returns an array of the same shape.
    """
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    e = np.exp(z[~positive])
    out[~positive] = e / (1.0 + e)
    return out
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 3 and the hidden cases of its test.
MISTAKES.add("ex3-sigmoid", "naive formula", words="two-branch", code="""
def sigmoid(z):
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))
""")
MISTAKES.add("ex3-sigmoid", "np.where evaluates both branches", words=("np.where", "both"),
             code="""
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))
""")
MISTAKES.add("ex3-sigmoid", "wrong formula for negative z", words="negative z",
             message="the values for negative z are wrong (sigmoid(-z)?): for z < 0 use "
                     "e^z / (1 + e^z)", code="""
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    out[~pos] = 1 / (1 + np.exp(z[~pos]))
    return out
""")
MISTAKES.add("ex3-sigmoid", "no np.asarray: fails on a number", words="np.asarray", code="""
def sigmoid(z):
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1 + e)
    return out
""")
MISTAKES.add("ex3-sigmoid", "writes into the caller's array", words="in place", code="""
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    pos = z >= 0
    e = np.exp(z[~pos])
    z[pos] = 1 / (1 + np.exp(-z[pos]))
    z[~pos] = e / (1 + e)
    return z
""")
MISTAKES.add("ex3-sigmoid", "clipped naive formula overflows in float32", words="float32",
             code="""
def sigmoid(z):
    z = np.clip(np.asarray(z), -500, 500)
    return 1 / (1 + np.exp(-z))
""")

SIGMOID_EXTREME = [-1e4, -1000.0, -745.0, -30.0, -1.0, 0.0, 1.0, 30.0, 745.0, 1000.0, 1e4]
SIGMOID_Z32 = np.linspace(-100.0, 100.0, 11).tolist()  # exp(100) overflows float32


def sigmoid_cases():
    """What each case tests, z, the expected sigmoid(z) and the typical mistakes' outputs."""
    cases = []
    for seed, shape in [(31, (7,)), (32, (2, 3, 2)), (33, (1, 1))]:
        (z,) = draw(seed, shape, scale=5.0)
        cases.append((f"shape {shape}", z))
    cases.append(("extreme values (must be finite and warning-free)", np.array(SIGMOID_EXTREME)))
    return [(what, z, F.sigmoid(z),
             MISTAKES.outputs("ex3-sigmoid", "sigmoid", z, want=F.sigmoid(z)))
            for what, z in cases]


def sigmoid_float32_case():
    """float32 inputs in [-100, 100] (exp(100) overflows float32) and their sigmoid."""
    return SIGMOID_Z32, F.sigmoid(np.array(SIGMOID_Z32, dtype=np.float32))


# %% nbgrader={"grade": true, "grade_id": "ex3-sigmoid-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 3
try:
    s0 = sigmoid(0.0)
except (TypeError, IndexError, AttributeError) as err:
    raise AssertionError(
        f"sigmoid(0.0) raised {type(err).__name__} ({err}): a plain number has no elements to "
        f"select; start with z = np.asarray(z, dtype=float)") from None
assert np.isclose(s0, 0.5), f"sigmoid(0) should be 0.5, got {s0}"
z = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
z_before = z.copy()
s = sigmoid(z)
assert np.array_equal(z, z_before), (
    "sigmoid changed its input array in place: write the results into a new array "
    "(np.empty_like(z)), not into z")
assert isinstance(s, np.ndarray) and s.shape == z.shape, (
    f"sigmoid should return an array of the input's shape {z.shape}, "
    f"got {type(s).__name__} of shape {np.shape(s)}")
expected = np.array([0.11920292, 0.26894142, 0.5, 0.73105858, 0.88079708])
assert np.allclose(s[z >= 0], expected[z >= 0]), (
    f"sigmoid({z}) should be {expected}, got {s}: the values for z >= 0 are wrong")
assert np.allclose(s, expected), (
    f"sigmoid({z}) should be {expected}, got {s}: the values for negative z are wrong; for "
    f"z < 0 the stable form is e^z / (1 + e^z)")
assert np.allclose(sigmoid(-z), 1 - s), "sigmoid(-z) should equal 1 - sigmoid(z)"
Z = np.random.default_rng(0).normal(size=(3, 4))
assert sigmoid(Z).shape == (3, 4), "sigmoid must work elementwise on any shape, e.g. (3, 4)"


_, err = numpy_error(sigmoid, np.array([1000.0]))
if err is not None:
    raise AssertionError(
        f"sigmoid overflowed on z = +1000 ({err}), where 1 / (1 + e^-z) is safe: something "
        f"computes e^z for positive z. np.where(condition, a, b) evaluates both a and b for "
        f"every element before choosing, so the other branch's e^z still overflows: compute "
        f"each branch only on its own elements (a boolean mask), or use e = np.exp(-np.abs(z))")
_, err = numpy_error(sigmoid, np.array([-1000.0]))
if err is not None:
    raise AssertionError(
        f"sigmoid overflowed on z = -1000 ({err}): 1 / (1 + e^-z) computes e^1000 there; use "
        f"the stable two-branch form")
_, err = numpy_error(sigmoid, np.array([-100.0, 100.0], dtype=np.float32))
if err is not None:
    raise AssertionError(
        f"sigmoid overflowed on float32 inputs [-100, 100] ({err}): e^100 does not fit in "
        f"float32 (max 3.4e38), so clipping z is not enough; use the two-branch form, which "
        f"never exponentiates a positive number")
big = sigmoid(np.array([-1000.0, 1000.0]))
assert np.all(np.isfinite(big)) and np.allclose(big, [0.0, 1.0]), (
    f"sigmoid([-1000, 1000]) should be [0, 1], got {big}")
print("✅ sigmoid passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, z, the expected sigmoid(z), and typical mistakes' outputs
_cases = literal(sigmoid_cases())
for _what, _z, _want, _mistakes in _cases:
    _what = f"sigmoid on {_what}"
    _got = _hidden_call(sigmoid, (_hidden_make(_z),), _what, "use the stable two-branch form")
    _hidden_array(_got, _want, _what, mistakes=_mistakes)
# float32 inputs: exp(100) overflows float32
_z32, _want = literal(sigmoid_float32_case())
_what = "sigmoid on float32 inputs in [-100, 100]"
_got = _hidden_call(sigmoid, (_hidden_make(_z32, "f4"),), _what,
                    "e^100 overflows float32: never exponentiate a positive number")
_hidden_array(_got, _want, _what, rtol=1e-5, atol=1e-7)
### END HIDDEN TESTS

# %% [markdown]
# ### 2.2 Tanh, ReLU and leaky ReLU
#
# - **tanh**, a zero-centred sigmoid with values in $(-1, 1)$:
#   $\displaystyle \tanh(z) = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}} = 2\sigma(2z) - 1$.
# - **ReLU** (rectified linear unit), cheap and the default in hidden layers, values in
#   $[0, \infty)$: $\mathrm{ReLU}(z) = \max(0, z)$.
# - **leaky ReLU**, whose small slope $\alpha$ (default 0.01) keeps negative units alive:
#   $\mathrm{LReLU}_\alpha(z) = z$ for $z > 0$ and $\alpha z$ for $z \le 0$.
#
# The textbook formula for tanh overflows just like the naive sigmoid; `np.tanh` is already
# stable, and you may use it (or, for the challenge, the identity $2\sigma(2z) - 1$ with your
# stable sigmoid).
#
# ### Exercise 4: `tanh`, `relu`, `leaky_relu` (2 points)
# All three work elementwise on arrays of any shape and return a new array. Careful: do
# **not** modify the input, e.g. with `z[z < 0] = 0` on the caller's array. `np.maximum` and
# `np.where` make new arrays for you.

# %% nbgrader={"grade": false, "grade_id": "ex4-tanh-relu", "locked": false, "schema_version": 3, "solution": true}
def tanh(z):
    """Hyperbolic tangent, elementwise, finite for any input. Returns a new array."""
    ### BEGIN SOLUTION
    return np.tanh(np.asarray(z, dtype=float))
    ### END SOLUTION


def relu(z):
    """ReLU, elementwise: max(0, z). Returns a new array; z is left unchanged."""
    ### BEGIN SOLUTION
    return np.maximum(np.asarray(z, dtype=float), 0.0)
    ### END SOLUTION


def leaky_relu(z, alpha=0.01):
    """Leaky ReLU, elementwise: z where z > 0, alpha * z elsewhere. Returns a new array."""
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * z)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 4 and the hidden cases of its test.
MISTAKES.add("ex4-tanh-relu", "relu writes into the caller's array", words="in place",
             code="""
def relu(z):
    z = np.asarray(z, dtype=float)
    z[z < 0] = 0.0
    return z
""")
MISTAKES.add("ex4-tanh-relu", "np.max instead of np.maximum", words="np.maximum", code="""
def relu(z):
    return np.max(np.asarray(z, dtype=float), 0)
""")
MISTAKES.add("ex4-tanh-relu", "leaky_relu ignores alpha", words="alpha",
             message="leaky_relu(z, alpha) ignored alpha: use the alpha argument, not 0.01",
             code="""
def leaky_relu(z, alpha=0.01):
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, 0.01 * z)
""")
MISTAKES.add("ex4-tanh-relu", "tanh from the exponential formula", words="np.tanh", code="""
def tanh(z):
    z = np.asarray(z, dtype=float)
    return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
""")
MISTAKES.add("ex4-tanh-relu", "leaky_relu writes into the caller's array", words="in place",
             code="""
def leaky_relu(z, alpha=0.01):
    z = np.asarray(z, dtype=float)
    z[z < 0] *= alpha
    return z
""")


def activation_cases():
    """What each case tests, z, the expected relu, leaky_relu, leaky_relu(z, 0.2) and tanh of
    z, and the typical mistakes' outputs for each of the four calls."""
    cases = []
    for seed, shape in [(41, (6,)), (42, (2, 2, 3)), (43, (5, 1))]:
        (z,) = draw(seed, shape, scale=4.0)
        cases.append((f"shape {shape}", z))
    cases.append(("extreme values", np.array([-1e4, -710.0, -1.0, 0.0, 1e-8, 710.0, 1e4])))
    out = []
    for what, z in cases:
        calls = []
        for name, fn, args in [("relu", F.relu, ()), ("leaky_relu", F.leaky_relu, ()),
                               ("leaky_relu", F.leaky_relu, (0.2,)), ("tanh", F.tanh, ())]:
            want = fn(z, *args)
            calls.append((want, MISTAKES.outputs("ex4-tanh-relu", name, z, *args, want=want)))
        out.append((what, z, calls))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex4-tanh-relu-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 4
z = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
z_before = z.copy()
r = relu(z)
assert np.array_equal(z, z_before), (
    "relu changed its input array in place: work on a new array (np.maximum makes one)")
assert isinstance(r, np.ndarray) and r.shape == z.shape, (
    f"relu should return an array of shape {z.shape}, "
    f"got {type(r).__name__} of shape {np.shape(r)}: np.max reduces an array to its largest "
    f"value, np.maximum(z, 0) compares elementwise")
assert np.allclose(r, [0.0, 0.0, 0.0, 0.5, 3.0]), (
    f"relu({z}) should be [0, 0, 0, 0.5, 3], got {r}")

lr = leaky_relu(z, alpha=0.1)
assert np.array_equal(z, z_before), "leaky_relu changed its input array in place"
assert not np.allclose(lr, leaky_relu(z, alpha=0.3)), (
    "leaky_relu gives the same result for alpha = 0.1 and alpha = 0.3: use the alpha argument")
assert np.allclose(lr, [-0.2, -0.05, 0.0, 0.5, 3.0]), (
    f"leaky_relu({z}, alpha=0.1) should be [-0.2, -0.05, 0, 0.5, 3], got {lr}")
lr_default = leaky_relu(np.array([-100.0]))
assert np.allclose(lr_default, [-1.0]), (
    f"the default alpha should be 0.01, so leaky_relu([-100]) = [-1], got {lr_default}")

t = tanh(np.array([-1.0, 0.0, 1.0]))
assert np.allclose(t, [-0.76159416, 0.0, 0.76159416]), f"tanh([-1, 0, 1]) is wrong: got {t}"
t_big, err = numpy_error(tanh, np.array([-1000.0, 1000.0]))
assert err is None, (
    f"tanh overflowed on [-1000, 1000] ({err}): (e^z - e^-z) / (e^z + e^-z) computes "
    f"e^1000; use np.tanh, which is stable")
assert np.allclose(t_big, [-1.0, 1.0]), f"tanh([-1000, 1000]) should be [-1, 1], got {t_big}"

Z = np.random.default_rng(0).normal(size=(2, 3, 4))
for f in (tanh, relu, leaky_relu):
    assert f(Z).shape == (2, 3, 4), f"{f.__name__} must keep the input's shape (2, 3, 4)"
print("✅ tanh, relu and leaky_relu pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, z, and for relu(z), leaky_relu(z), leaky_relu(z, 0.2) and tanh(z):
# the expected result and (message, output) of typical mistakes
_cases = literal(activation_cases())
for _what, _z, _calls in _cases:
    _i = 0
    for _name, _fn, _args in [("relu", relu, ()), ("leaky_relu", leaky_relu, ()),
                              ("leaky_relu(z, 0.2)", leaky_relu, (0.2,)), ("tanh", tanh, ())]:
        _want, _mistakes = _calls[_i]
        _input = _hidden_make(_z)
        _case = f"{_name} on {_what}"
        _got = _hidden_call(_fn, (_input,) + _args, _case)
        _hidden_array(_got, _want, _case, mistakes=_mistakes)
        assert _input.tolist() == _z, f"hidden case {_case}: changed its input array in place"
        _i += 1
### END HIDDEN TESTS

# %% [markdown]
# ### 2.3 Derivatives
# Gradient descent (section 4) and backpropagation (notebook 02) need $f'(z)$, how much the
# output moves when $z$ moves a little. Each of these has a neat closed form:
#
# $$
# \sigma'(z) = \sigma(z)\,\bigl(1 - \sigma(z)\bigr), \qquad
# \tanh'(z) = 1 - \tanh^2(z),
# $$
#
# $$
# \mathrm{ReLU}'(z) = \begin{cases} 1 & z > 0 \\ 0 & z \le 0 \end{cases}, \qquad
# \mathrm{LReLU}_\alpha'(z) = \begin{cases} 1 & z > 0 \\ \alpha & z \le 0 \end{cases}.
# $$
#
# ReLU has a kink at $z = 0$ where the derivative does not exist; like most libraries we use
# the value for $z \le 0$ there. Notice that $\sigma'(z) \le \tfrac14$ everywhere and is
# almost $0$ for large $|z|$: a saturated sigmoid barely learns. We will meet this
# *vanishing gradient* again.
#
# ### Exercise 5: the derivatives (2 points)
# Implement the four functions, elementwise, returning float arrays of the input's shape.
# Reuse your `sigmoid` and `tanh` (that keeps `sigmoid_derivative` stable for free).

# %% nbgrader={"grade": false, "grade_id": "ex5-derivatives", "locked": false, "schema_version": 3, "solution": true}
def sigmoid_derivative(z):
    """d sigmoid / dz = s (1 - s) with s = sigmoid(z), elementwise."""
    ### BEGIN SOLUTION
    s = sigmoid(z)
    return s * (1.0 - s)
    ### END SOLUTION


def tanh_derivative(z):
    """d tanh / dz = 1 - tanh(z)**2, elementwise."""
    ### BEGIN SOLUTION
    t = tanh(z)
    return 1.0 - t * t
    ### END SOLUTION


def relu_derivative(z):
    """d relu / dz: 1.0 where z > 0, 0.0 elsewhere (including z == 0)."""
    ### BEGIN SOLUTION
    return (np.asarray(z) > 0).astype(float)
    ### END SOLUTION


def leaky_relu_derivative(z, alpha=0.01):
    """d leaky_relu / dz: 1.0 where z > 0, alpha elsewhere (including z == 0)."""
    ### BEGIN SOLUTION
    return np.where(np.asarray(z) > 0, 1.0, alpha)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 5 and the hidden cases of its test.
MISTAKES.add("ex5-derivatives", "s * (1 - z) instead of s * (1 - s)", words="s * (1 - s)",
             message="sigmoid_derivative looks like s * (1 - z): it is s * (1 - s), "
                     "with s = sigmoid(z)", code="""
def sigmoid_derivative(z):
    s = sigmoid(z)
    return s * (1.0 - np.asarray(z, dtype=float))
""")
MISTAKES.add("ex5-derivatives", "1 - tanh instead of 1 - tanh squared", words="square",
             message="tanh_derivative looks like 1 - tanh(z): square it, 1 - tanh(z)**2",
             code="""
def tanh_derivative(z):
    return 1.0 - tanh(z)
""")
MISTAKES.add("ex5-derivatives", "relu_derivative returns booleans", words="bool", code="""
def relu_derivative(z):
    return np.asarray(z) > 0
""")
MISTAKES.add("ex5-derivatives", "relu_derivative is 1 at z = 0", words="z = 0",
             message="the derivative at the kink z = 0 should be 0 (the z <= 0 convention)",
             code="""
def relu_derivative(z):
    return (np.asarray(z) >= 0).astype(float)
""")
MISTAKES.add("ex5-derivatives", "leaky_relu_derivative ignores alpha", words="alpha",
             message="leaky_relu_derivative ignored alpha: use the alpha argument", code="""
def leaky_relu_derivative(z, alpha=0.01):
    return np.where(np.asarray(z) > 0, 1.0, 0.01)
""")
MISTAKES.add("ex5-derivatives", "sigmoid derivative from the raw formula", words="reuse",
             code="""
def sigmoid_derivative(z):
    e = np.exp(-np.asarray(z, dtype=float))
    return e / (1.0 + e) ** 2
""")

DERIVATIVES = [("sigmoid_derivative", F.sigmoid_backward, ()),
               ("tanh_derivative", F.tanh_backward, ()),
               ("relu_derivative", F.relu_backward, ()),
               ("leaky_relu_derivative", F.leaky_relu_backward, ()),
               ("leaky_relu_derivative", F.leaky_relu_backward, (0.3,))]


def derivative_cases():
    """What each case tests, z, and for each derivative call its expected value at z (the
    backward function at a gradient of ones) and the typical mistakes' outputs."""
    cases = []
    for seed, shape in [(51, (6,)), (52, (2, 2, 3)), (53, (1,))]:
        (z,) = draw(seed, shape, scale=3.0)
        z.flat[0] = 0.0  # include the kink
        cases.append((f"shape {shape}", z))
    cases.append(("extreme values", np.array([-1e4, -1000.0, 0.0, 1000.0, 1e4])))
    out = []
    for what, z in cases:
        calls = []
        for name, backward, args in DERIVATIVES:
            want = backward(np.ones_like(z), z, *args)
            calls.append((want, MISTAKES.outputs("ex5-derivatives", name, z, *args,
                                                 want=want)))
        out.append((what, z, calls))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex5-derivatives-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 5
z3 = np.array([-1.0, 0.0, 2.0])
d = relu_derivative(z3)
assert isinstance(d, np.ndarray) and d.dtype.kind == "f", (
    f"relu_derivative should return floats (0.0 and 1.0), got "
    f"{getattr(d, 'dtype', type(d).__name__)}: a comparison gives bool, turn it into floats "
    f"with .astype(float)")
assert np.allclose(d, [0.0, 0.0, 1.0]), (
    f"relu_derivative([-1, 0, 2]) should be [0, 0, 1], got {d}: the derivative at the kink "
    f"z = 0 is 0 here (the z <= 0 convention)")
d = leaky_relu_derivative(z3, alpha=0.1)
assert not np.allclose(d, leaky_relu_derivative(z3, alpha=0.3)), (
    "leaky_relu_derivative gives the same result for alpha = 0.1 and 0.3: use the alpha "
    "argument")
assert np.allclose(d, [0.1, 0.1, 1.0]), (
    f"leaky_relu_derivative([-1, 0, 2], alpha=0.1) should be [0.1, 0.1, 1] (alpha at the kink "
    f"z = 0), got {d}")
d = leaky_relu_derivative(np.array([-3.0]))
assert np.allclose(d, [0.01]), f"the default alpha should be 0.01, got {d}"

# Compare with the slope measured numerically: (f(z + h) - f(z - h)) / 2h
z, h = np.random.default_rng(0).normal(scale=2.0, size=(3, 4)), 1e-5
s, t = sigmoid(z), tanh(z)
diagnoses = {sigmoid_derivative: [(s * (1 - z), "it looks like s * (1 - z): the derivative is "
                                   "s * (1 - s), with s = sigmoid(z) in both factors")],
             tanh_derivative: [(1 - t, "it looks like 1 - tanh(z): square it, "
                                "1 - tanh(z)**2")]}
for f, df in [(sigmoid, sigmoid_derivative), (tanh, tanh_derivative)]:
    numeric = (f(z + h) - f(z - h)) / (2 * h)
    got = df(z)
    assert np.shape(got) == z.shape, (
        f"{df.__name__} should return shape {z.shape}, got {np.shape(got)}")
    for wrong, diagnosis in diagnoses[df]:
        assert not np.allclose(got, wrong), f"{df.__name__} is wrong: {diagnosis}"
    assert np.allclose(got, numeric, atol=1e-6), (
        f"{df.__name__} does not match the numerical slope of {f.__name__}: "
        f"max difference {np.max(np.abs(got - numeric)):.2e}")
d, err = numpy_error(sigmoid_derivative, np.array([-1000.0, 1000.0]))
assert err is None, (
    f"sigmoid_derivative overflowed on [-1000, 1000] ({err}): reuse your stable "
    f"sigmoid, s * (1 - s), instead of a formula with e^-z")
assert np.allclose(d, [0.0, 0.0]), f"sigmoid_derivative(±1000) should be 0, got {d}"
print("✅ the four derivatives pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, z, and for each derivative (sigmoid, tanh, relu, leaky_relu and
# leaky_relu with alpha = 0.3) its expected value at z and (message, output) of typical mistakes
_cases = literal(derivative_cases())
for _what, _z, _calls in _cases:
    _i = 0
    for _name, _fn, _args in [("sigmoid_derivative", sigmoid_derivative, ()),
                              ("tanh_derivative", tanh_derivative, ()),
                              ("relu_derivative", relu_derivative, ()),
                              ("leaky_relu_derivative", leaky_relu_derivative, ()),
                              ("leaky_relu_derivative(z, 0.3)", leaky_relu_derivative, (0.3,))]:
        _want, _mistakes = _calls[_i]
        _case = f"{_name} on {_what}"
        _got = _hidden_call(_fn, (_hidden_make(_z),) + _args, _case)
        _hidden_array(_got, _want, _case, mistakes=_mistakes)
        _i += 1
### END HIDDEN TESTS

# %% [markdown]
# ### 2.4 Softmax: many classes at once
# For $C$ classes a network outputs $C$ logits $\mathbf{z} = (z_1, \dots, z_C)$, and
# **softmax** turns them into probabilities that are positive and sum to 1:
#
# $$
# \mathrm{softmax}(\mathbf{z})_k = \frac{e^{z_k}}{\sum_{j=1}^{C} e^{z_j}} .
# $$
#
# Logits like 1000 are not unusual in a badly scaled network. Watch the naive formula:

# %%
def naive_softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)

logits = np.array([1000.0, 1001.0, 1002.0])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("naive softmax:          ", naive_softmax(logits))
for warning in caught:
    print("⚠️ warning:", warning.message)

shifted = logits - logits.max()
print("logits - max(logits):   ", shifted)
print("softmax of the shifted: ", naive_softmax(shifted))


# %% [markdown]
# $e^{1000}$ is `inf`, and $\infty / \infty$ is `nan`: the probabilities are lost. But softmax
# does not change when the same constant $c$ is subtracted from every logit, because the
# factor $e^{-c}$ cancels:
#
# $$
# \frac{e^{z_k - c}}{\sum_j e^{z_j - c}} = \frac{e^{-c}\, e^{z_k}}{e^{-c} \sum_j e^{z_j}}
# = \mathrm{softmax}(\mathbf{z})_k .
# $$
#
# Choosing $c = \max_j z_j$ makes every exponent $\le 0$ (no overflow) and the largest term
# exactly $e^0 = 1$ (so the denominator is at least 1: no division by zero). Same answer,
# always finite.
#
# ### Exercise 6: a stable `softmax` (2 points)
# `z` has shape `(C,)` (one example) or `(N, C)` (a batch, one row per example); apply softmax
# along the **last axis**, so each row sums to 1. Use `max` and `sum` with `axis=-1,
# keepdims=True` so that broadcasting lines the rows up.

# %% nbgrader={"grade": false, "grade_id": "ex6-softmax", "locked": false, "schema_version": 3, "solution": true}
def softmax(z):
    """Softmax along the last axis, stable for logits of any size.

    z: (C,) or (N, C). Returns probabilities of the same shape; each row sums to 1.
    """
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 6 and the hidden cases of its test.
MISTAKES.add("ex6-softmax", "one max for the whole array", words="each row", code="""
def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z))
    return e / e.sum(axis=-1, keepdims=True)
""")
MISTAKES.add("ex6-softmax", "no max subtracted", words="subtract", code="""
def softmax(z):
    e = np.exp(np.asarray(z, dtype=float))
    return e / e.sum(axis=-1, keepdims=True)
""")
MISTAKES.add("ex6-softmax", "sum over the whole array", words="axis=-1",
             message="the probabilities of the whole batch sum to 1, not each row's: sum with "
                     "axis=-1, keepdims=True", code="""
def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum()
""")
MISTAKES.add("ex6-softmax", "normalized over the columns", words="each column",
             message="each column sums to 1 instead of each row: normalize along the last "
                     "axis (axis=-1)", code="""
def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
""")
MISTAKES.add("ex6-softmax", "sum without keepdims", words="keepdims", code="""
def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1)
""")
MISTAKES.add("ex6-softmax", "axis=1 fails on a vector", words="axis=-1", code="""
def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
""")


def softmax_cases():
    """What each case tests, the logits, the expected softmax, dtype, rtol, atol and the
    typical mistakes' outputs."""
    cases = []
    for seed, shape in [(61, (4,)), (62, (3, 5)), (63, (2, 2, 3)), (64, (1, 1))]:
        (z,) = draw(seed, shape, scale=3.0)
        cases.append(("logits", z, "f8", 1e-6, 1e-9))
    z = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4 + 1.0, -1e4 + 2.0], [5e3, 5e3, -5e3]])
    cases.append(("logits of +-1e4 (each row needs its own max)", z, "f8", 1e-6, 1e-9))
    z32 = np.array([[300.0, 0.0, -300.0], [-200.0, 100.0, 0.0]], dtype=np.float32)
    cases.append(("float32 logits", z32, "f4", 1e-5, 1e-7))
    return [(what, z, F.softmax(z, axis=-1), dtype, rtol, atol,
             MISTAKES.outputs("ex6-softmax", "softmax", z, want=F.softmax(z, axis=-1),
                              rtol=rtol, atol=atol))
            for what, z, dtype, rtol, atol in cases]


# %% nbgrader={"grade": true, "grade_id": "ex6-softmax-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 6
try:
    p = softmax(np.array([1.0, 2.0, 3.0]))
except (ValueError, IndexError) as err:   # numpy's AxisError is both
    raise AssertionError(
        f"softmax of a (3,) vector raised {type(err).__name__} ({err}): a vector has only axis "
        f"0; take max and sum over axis=-1, the last axis, which works for (C,) and (N, C)"
    ) from None
expected = np.array([0.09003057, 0.24472847, 0.66524096])
assert isinstance(p, np.ndarray) and p.shape == (3,), (
    f"softmax of a (3,) vector should be a (3,) array, "
    f"got {type(p).__name__} of shape {np.shape(p)}")
assert np.allclose(p, expected), f"softmax([1, 2, 3]) should be {expected}, got {p}"

Z = np.random.default_rng(0).normal(size=(4, 5))
try:
    P = softmax(Z)
except ValueError as err:
    raise AssertionError(
        f"softmax of a (4, 5) batch raised ValueError ({err}): a max or sum over axis=-1 has "
        f"shape (4,), which does not line up with (4, 5); keep the axis with keepdims=True"
    ) from None
assert P.shape == (4, 5), f"softmax of a (4, 5) batch should have shape (4, 5), got {P.shape}"
assert np.all(P > 0), "softmax probabilities must be positive"
assert not np.allclose(P.sum(axis=0), 1.0), (
    "each column of the batch sums to 1 instead of each row: every row is one example, "
    "normalize along the last axis (axis=-1)")
assert np.allclose(P.sum(axis=1), 1.0), (
    f"each row should sum to 1, got row sums {P.sum(axis=1)}: normalize each row on its own "
    f"(sum with axis=-1, keepdims=True)")
assert np.allclose(P[2], softmax(Z[2])), "each row of a batch must be handled on its own"
assert np.allclose(softmax(Z + 100.0), P), (
    "adding a constant to every logit must not change softmax")

big, err = numpy_error(softmax, np.array([1000.0, 1001.0, 1002.0]))
assert err is None, (
    f"softmax overflowed on logits around 1000 ({err}): e^1000 is inf; subtract the "
    f"max of the logits first")
# rows of very different scale: each needs its own max
mixed, err = numpy_error(softmax, np.array([[1000.0, 1001.0], [0.0, 1.0]]))
assert err is None and np.allclose(mixed[1], [0.26894142, 0.73105858]), (
    f"softmax([[1000, 1001], [0, 1]]) broke the row [0, 1] ({err or mixed}): one max for the whole "
    f"array (1001) leaves e^(0 - 1001) = 0 in that row; subtract each row's own max, "
    f"max(axis=-1, keepdims=True)")
assert np.allclose(big, expected), (
    f"softmax([1000, 1001, 1002]) should be {expected}, got {big}")
print("✅ softmax passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, the logits, the expected softmax, the dtype, rtol and atol, and
# (message, output) of typical mistakes
_cases = literal(softmax_cases())
for _what, _z, _want, _dtype, _rtol, _atol, _mistakes in _cases:
    _input = _hidden_make(_z, _dtype)
    _what = f"softmax of {_what} of shape {_input.shape}"
    _got = _hidden_call(softmax, (_input,), _what,
                        "subtract each row's own max: max(axis=-1, keepdims=True)")
    _hidden_array(_got, _want, _what, _rtol, _atol, _mistakes)
    _p = _hidden_values(_got, _input.shape, _what)
    _classes, _start = _input.shape[-1], 0
    while _start < _p.__len__():   # each row (along the last axis) must sum to 1
        _sum = 0.0
        for _v in _p[_start:_start + _classes]:
            _sum += _v
        assert -1e-6 <= _sum - 1.0 <= 1e-6, (
            f"hidden case {_what}: row {_start // _classes} sums to {_sum!r}, expected 1")
        _start += _classes
### END HIDDEN TESTS

# %% [markdown]
# ### 2.5 See it: every activation and its derivative
# These curves are drawn with **your** functions. Look at where each derivative is large,
# where it is zero, and where it is undefined. For softmax we vary the first of three logits
# $(z_0, 0, 1)$: as $z_0$ grows, $p_0$ takes the probability from the others, and its slope
# $\partial p_0 / \partial z_0 = p_0 (1 - p_0)$ is a bump, just like $\sigma'$.

# %%
z = np.linspace(-6, 6, 601)
curves = [
    ("sigmoid", sigmoid, sigmoid_derivative),
    ("tanh", tanh, tanh_derivative),
    ("ReLU", relu, relu_derivative),
    ("leaky ReLU, α = 0.1",
     lambda v: leaky_relu(v, 0.1), lambda v: leaky_relu_derivative(v, 0.1)),
]
fig, axes = plt.subplots(2, 3, figsize=(8.4, 5.6), constrained_layout=True)
axes = axes.ravel()
axes[-1].remove()   # five panels in a 2 x 3 grid
for ax, (name, f, df) in zip(axes, curves):
    ax.plot(z, f(z), label=name)
    ax.plot(z, df(z), "--", label="derivative")
    ax.axhline(0, color="gray", linewidth=0.6)
    ax.axvline(0, color="gray", linewidth=0.6)
    ax.set(title=name, xlabel="z")
    ax.legend(loc="upper left")

probs = softmax(np.column_stack([z, np.zeros_like(z), np.ones_like(z)]))
ax = axes[4]
for k in range(3):
    ax.plot(z, probs[:, k], label=f"$p_{k}$")
ax.plot(z, probs[:, 0] * (1 - probs[:, 0]), "--", label=r"$\partial p_0 / \partial z_0$")
ax.set(title="softmax of $(z_0, 0, 1)$", xlabel="$z_0$")
ax.legend(loc="center right")
plt.show()

# %% [markdown]
# ### 2.6 Play: the neuron playground
# Below is one neuron with two inputs, $a = f(w_1 x_1 + w_2 x_2 + b)$, using your activation
# functions. Move the sliders and watch the output surface (left) and the range of $z$ it
# covers on the activation curve (right). The circles and triangles are two classes; the title
# shows how many of them the rule "$z > 0 \Rightarrow$ class 1" gets right. Things to try:
# - Find weights and a bias that separate the two clouds (100% accuracy).
# - Multiply both weights by 5. The boundary stays put, but the sigmoid gets *sharper*: what
#   does that do to $\sigma'$ for most points?
# - Switch to ReLU: which half of the plane is "dead" (output 0, derivative 0)?
# - Set $w_1 = w_2 = 0$: what is left?
#
# (The sliders need a live kernel: if you see no plot, run the cell.)

# %%
from scratchnn.interactive import neuron_playground

rng_demo = np.random.default_rng(1)
clouds = np.vstack([rng_demo.normal([-1.0, 1.0], 0.6, size=(20, 2)),
                    rng_demo.normal([1.0, -0.5], 0.6, size=(20, 2))])
cloud_labels = np.repeat([0, 1], 20)
neuron_playground({"sigmoid": sigmoid, "tanh": tanh, "relu": relu, "leaky_relu": leaky_relu},
                  w1=0.5, w2=1.0, b=0.0, points=(clouds, cloud_labels))


# %% [markdown]
# ## 3. Loss functions: how wrong is the neuron?
# To learn, a network needs one number that says how far its predictions are from the
# targets: the **loss**. Learning means changing the weights to make it smaller. All our
# losses are **means over the batch**, so their size does not depend on $N$.
#
# ### 3.1 Mean squared error
# For regression, with predictions $\hat{y}$ and targets $y$ of the same shape (mean over
# **every** element):
#
# $$
# \mathrm{MSE}(\hat{y}, y) = \frac{1}{N}\sum_{n=1}^{N} (\hat{y}_n - y_n)^2 .
# $$
#
# A classic bug: predictions of shape `(N, 1)` minus targets of shape `(N,)` broadcast to an
# `(N, N)` matrix, and the "loss" is silently wrong. Guard against it.
#
# ### Exercise 7: `mse` (1 point)
# Return the mean squared error as a Python `float`. If `pred` and `target` have different
# shapes, raise a `ValueError` whose message shows both shapes.

# %% nbgrader={"grade": false, "grade_id": "ex7-mse", "locked": false, "schema_version": 3, "solution": true}
def mse(pred, target):
    """Mean squared error over every element. Raises ValueError if the shapes differ."""
    ### BEGIN SOLUTION
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(
            f"mse: pred has shape {pred.shape} but target has shape {target.shape}")
    return float(np.mean((pred - target) ** 2))
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 7 and the hidden cases of its test.
MISTAKES.add("ex7-mse", "sum instead of mean", words="mean",
             message="the result is the sum of the squared errors: take the mean", code="""
def mse(pred, target):
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(f"shapes {pred.shape} and {target.shape} differ")
    return float(np.sum((pred - target) ** 2))
""")
MISTAKES.add("ex7-mse", "no shape check", words="ValueError", code="""
def mse(pred, target):
    return float(np.mean((np.asarray(pred) - np.asarray(target)) ** 2))
""")
MISTAKES.add("ex7-mse", "absolute instead of squared error", words="square",
             message="the result is the mean absolute error: square the differences",
             code="""
def mse(pred, target):
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(f"shapes {pred.shape} and {target.shape} differ")
    return float(np.mean(np.abs(pred - target)))
""")
MISTAKES.add("ex7-mse", "root mean squared error", words="square root",
             message="the result is the root of the MSE: do not take the square root",
             code="""
def mse(pred, target):
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(f"shapes {pred.shape} and {target.shape} differ")
    return float(np.sqrt(np.mean((pred - target) ** 2)))
""")
MISTAKES.add("ex7-mse", "half the mean", words="1/2",
             message="the result is half the MSE: no 1/2 factor here", code="""
def mse(pred, target):
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(f"shapes {pred.shape} and {target.shape} differ")
    return float(0.5 * np.mean((pred - target) ** 2))
""")
MISTAKES.add("ex7-mse", "mean over the first axis only", words="single number", code="""
def mse(pred, target):
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(f"shapes {pred.shape} and {target.shape} differ")
    return np.mean((pred - target) ** 2, axis=0)
""")


def mse_cases():
    """pred, target, the expected mse and the typical mistakes' outputs (seeds 71-74)."""
    cases = []
    for seed, shape in [(71, (7,)), (72, (4, 3)), (73, (2, 2, 2)), (74, (1,))]:
        p, t = draw(seed, shape, shape)
        cases.append((p, t, F.mse(p, t), MISTAKES.outputs("ex7-mse", "mse", p, t,
                                                          want=F.mse(p, t))))
    return cases


def mse_mismatched_cases():
    """pred and target of shapes that differ (mse must raise ValueError)."""
    shapes = [((3, 1), (1, 3)), ((5,), (5, 1)), ((2, 3), (3, 2))]
    return [(np.zeros(p), np.ones(t)) for p, t in shapes]


# %% nbgrader={"grade": true, "grade_id": "ex7-mse-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 7
loss = mse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
assert np.ndim(loss) == 0, f"mse should return a single number, got shape {np.shape(loss)}"
assert np.isclose(loss, 0.0), f"identical predictions and targets should give 0, got {loss}"
loss = mse(np.array([0.0, 0.0]), np.array([1.0, 3.0]))
for wrong, diagnosis in [(10.0, "the sum of the squared errors: take the mean"),
                         (2.0, "the mean absolute error: square the differences"),
                         (np.sqrt(5.0), "the square root of the MSE: do not take the root"),
                         (2.5, "half the MSE: no 1/2 factor here")]:
    assert not np.isclose(loss, wrong), f"mse([0, 0], [1, 3]) gave {loss:.4g}, {diagnosis}"
assert np.isclose(loss, 5.0), f"mse([0, 0], [1, 3]) should be (1 + 9) / 2 = 5, got {loss}"
loss = mse(np.ones((3, 2)), np.zeros((3, 2)))
assert np.ndim(loss) == 0, (
    f"mse of two (3, 2) arrays should be a single number, got shape {np.shape(loss)}: "
    f"average over every element (np.mean without axis)")
assert np.isclose(loss, 1.0), (
    f"the mean runs over all 6 elements of a (3, 2) array: expected 1, got {loss}")
try:
    mse(np.zeros((4, 1)), np.ones(4))
except ValueError:
    pass
else:
    raise AssertionError("mse of shapes (4, 1) and (4,) should raise ValueError, not broadcast "
                         "them to (4, 4)")
print("✅ mse passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: pred, target, the expected mse, and (message, output) of typical mistakes
_cases = literal(mse_cases())
for _p, _t, _want, _mistakes in _cases:
    _pred = _hidden_make(_p)
    _what = f"mse on shape {_pred.shape}"
    _got = _hidden_call(mse, (_pred, _hidden_make(_t)), _what)
    _hidden_float(_got, _want, _what, mistakes=_mistakes)
# pred and target of different shapes
_cases = literal(mse_mismatched_cases())
for _p, _t in _cases:
    _pred, _target, _raised = _hidden_make(_p), _hidden_make(_t), False
    try:
        mse(_pred, _target)
    except _ValueError:
        _raised = True
    assert _raised, (
        f"hidden case mse of shapes {_pred.shape} and {_target.shape}: should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ### 3.2 Binary cross-entropy
# For two classes the neuron outputs $p = \sigma(z)$, the probability of class 1. The
# **binary cross-entropy** is the average negative log-probability of the true label:
#
# $$
# \mathrm{BCE}(p, y) = -\frac{1}{N}\sum_{n=1}^{N}
#   \Bigl[\, y_n \log p_n + (1 - y_n) \log(1 - p_n) \Bigr].
# $$
#
# A confident wrong answer ($p \to 0$ while $y = 1$) costs $-\log p \to \infty$. To keep the
# loss finite we **clip** the probabilities to $[\varepsilon, 1 - \varepsilon]$ with
# $\varepsilon = 10^{-12}$ (`EPS` below) before the log.
#
# Clipping hides a loss of information, though: once $\sigma(z)$ has rounded to exactly 1,
# we can no longer tell $z = 40$ from $z = 4000$. Working **from the logit** $z$ avoids that.
# With $\log \sigma(z) = -\log(1 + e^{-z})$ and $\log(1 - \sigma(z)) = -z - \log(1 + e^{-z})$,
# one example's loss is $\log(1 + e^{-z}) + (1 - y)z$. Rewritten so that `exp` only ever sees
# a non-positive number:
#
# $$
# \ell(z, y) = \max(z, 0) - z\,y + \log\bigl(1 + e^{-|z|}\bigr) ,
# \qquad \mathrm{BCE} = \frac1N \sum_n \ell(z_n, y_n).
# $$
#
# (Check it: for $z \ge 0$ it equals $z - zy + \log(1 + e^{-z})$; for $z < 0$ it equals
# $-zy + \log(1 + e^{z})$. Both are the formula above.) `np.log1p(u)` computes
# $\log(1 + u)$ accurately even for tiny $u$.
#
# ### Exercise 8: binary cross-entropy, two ways (2 points)
# `p`, `z` and `y` are arrays of the same shape (e.g. `(N,)`); `y` holds 0s and 1s. Return
# Python floats.

# %% nbgrader={"grade": false, "grade_id": "ex8-bce", "locked": false, "schema_version": 3, "solution": true}
EPS = 1e-12   # probabilities are clipped to [EPS, 1 - EPS] before the log


def binary_cross_entropy(p, y):
    """Mean binary cross-entropy from probabilities p (clipped to [EPS, 1 - EPS])."""
    ### BEGIN SOLUTION
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    ### END SOLUTION


def binary_cross_entropy_from_logits(z, y):
    """Mean binary cross-entropy from logits z, p = sigmoid(z); stable for any z."""
    ### BEGIN SOLUTION
    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 8 and the hidden cases of its test.
MISTAKES.add("ex8-bce", "no clipping", words="clip", code="""
def binary_cross_entropy(p, y):
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
""")
MISTAKES.add("ex8-bce", "sum instead of mean", words="mean",
             message="the result is the sum over the examples: take the mean", code="""
def binary_cross_entropy(p, y):
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    y = np.asarray(y, dtype=float)
    return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
""")
MISTAKES.add("ex8-bce", "forgot the (1 - y) term", words="(1 - y)",
             message="the (1 - y) log(1 - p) term is missing", code="""
def binary_cross_entropy(p, y):
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p)))
""")
MISTAKES.add("ex8-bce", "forgot the minus sign", words="minus",
             message="the loss is negative: mind the minus sign in front of the mean",
             code="""
def binary_cross_entropy(p, y):
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    y = np.asarray(y, dtype=float)
    return float(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
""")
MISTAKES.add("ex8-bce", "clipped with another epsilon", words="EPS",
             message="p was clipped with another epsilon: use EPS = 1e-12", code="""
def binary_cross_entropy(p, y):
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
""")
MISTAKES.add("ex8-bce", "logits through sigmoid and log", words="log1p", code="""
def binary_cross_entropy_from_logits(z, y):
    p, y = sigmoid(z), np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
""")
MISTAKES.add("ex8-bce", "exp(-z) without the absolute value", words="abs", code="""
def binary_cross_entropy_from_logits(z, y):
    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-z))))
""")


def bce_cases(from_logits: bool):
    """What each case tests, p (or z), y, the expected loss and the typical mistakes'
    outputs (seeds 81-83 and edge cases)."""
    cases = []
    for seed, shape in [(81, (5,)), (82, (4, 1)), (83, (2, 2, 2))]:
        rng = np.random.default_rng(seed)
        p = short(rng.uniform(0.01, 0.99, size=shape))
        z = short(rng.normal(scale=3.0, size=shape))
        y = rng.integers(0, 2, size=shape).astype(np.float64)
        cases.append((f"shape {shape}", z if from_logits else p, y))
    if from_logits:
        cases.append(("logits of +-1e4", np.array([1e4, -1e4, 1e4, -1e4, 800.0, -800.0, 0.0]),
                      np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0])))
    else:
        cases.append(("probabilities of exactly 0 and 1", np.array([0.0, 1.0, 0.0, 1.0, 0.5]),
                      np.array([1.0, 0.0, 0.0, 1.0, 1.0])))
    name = "binary_cross_entropy" + ("_from_logits" if from_logits else "")
    out = []
    for what, x, y in cases:
        want = F.binary_cross_entropy(x, y, from_logits=from_logits)
        out.append((what, x, y, want, MISTAKES.outputs("ex8-bce", name, x, y, want=want)))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex8-bce-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 8
loss, err = numpy_error(binary_cross_entropy, np.array([1.0, 0.0]), np.array([1.0, 0.0]))
assert err is None, (
    f"binary_cross_entropy took the log of 0 on perfect predictions p = [1, 0] ({err}): "
    f"clip p to [EPS, 1 - EPS] before the log")
assert np.ndim(loss) == 0, (
    f"binary_cross_entropy should return a single number, got shape {np.shape(loss)}")
assert np.isfinite(loss) and loss < 1e-9, (
    f"perfect predictions should cost ~0 (at most about EPS = 1e-12), got {loss}: clip with "
    f"EPS, defined above, not another epsilon")
loss = binary_cross_entropy(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
assert not np.isclose(loss, -np.log(2)), (
    "the loss is negative: mind the minus sign in front of the mean")
assert not np.isclose(loss, 2 * np.log(2)), (
    "p = 0.5 for 2 examples cost 2 log 2: that is the sum over the examples, take the mean")
assert not np.isclose(loss, np.log(2) / 2), (
    "p = 0.5 for labels [1, 0] cost only log(2) / 2: the (1 - y) log(1 - p) term is missing")
assert np.isclose(loss, np.log(2)), (
    f"p = 0.5 should cost log 2 = 0.6931 per example, got {loss}")
loss = binary_cross_entropy(np.array([0.9, 0.2]), np.array([1.0, 0.0]))
expected = -(np.log(0.9) + np.log(0.8)) / 2
assert not np.isclose(loss, -np.log(0.9) / 2), (
    f"expected {expected:.6f}, got {loss}: the (1 - y) log(1 - p) term is missing")
assert np.isclose(loss, expected), (
    f"expected {expected:.6f}, got {loss}: check the (1 - y) log(1 - p) term")
loss = binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
assert np.isfinite(loss), "p = 0 with y = 1 gave an infinite loss: clip p to [EPS, 1 - EPS]"
assert np.isclose(loss, -np.log(EPS)), (
    f"with clipping the loss should be -log(EPS) = 27.63, got {loss}: clip with EPS = 1e-12, "
    f"defined above")

loss = binary_cross_entropy_from_logits(np.zeros(4), np.array([1.0, 0.0, 1.0, 1.0]))
assert np.isclose(loss, np.log(2)), f"z = 0 means p = 0.5, which costs log 2, got {loss}"
rng = np.random.default_rng(0)
z, y = rng.normal(size=6), rng.integers(0, 2, size=6).astype(float)
from_p = -np.mean(y * np.log(1 / (1 + np.exp(-z))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-z))))
loss = binary_cross_entropy_from_logits(z, y)
no_abs = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-z)))
assert not np.isclose(loss, no_abs), (
    f"on moderate logits expected {from_p:.6f}, got {loss}: the formula needs exp(-|z|) "
    f"(np.abs), not exp(-z)")
assert np.isclose(loss, from_p), f"on moderate logits expected {from_p:.6f}, got {loss}"
for z_big, y_big, hint in [
        (1000.0, 0.0, "1 - sigmoid(1000) rounds to 0 and its log is -inf: compute the loss "
                      "from z directly, max(z, 0) - z y + log1p(exp(-|z|))"),
        (-1000.0, 1.0, "exp(-z) overflows for z = -1000: use np.exp(-np.abs(z))")]:
    loss, err = numpy_error(binary_cross_entropy_from_logits, np.array([z_big]),
                            np.array([y_big]))
    assert err is None, f"the loss from logits failed on z = {z_big:+g} ({err}): {hint}"
    assert np.isclose(loss, 1000.0), (
        f"z = {z_big:+g} with y = {y_big:g} should cost exactly 1000, got {loss}")
print("✅ binary cross-entropy passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, p (or z), y, the expected loss, and (message, output) of mistakes
_cases = literal(bce_cases(from_logits=False))
for _what, _p, _y, _want, _mistakes in _cases:
    _what = f"binary_cross_entropy on {_what}"
    _got = _hidden_call(binary_cross_entropy, (_hidden_make(_p), _hidden_make(_y)), _what,
                        "clip p to [EPS, 1 - EPS] before the log")
    _hidden_float(_got, _want, _what, mistakes=_mistakes)
_cases = literal(bce_cases(from_logits=True))
for _what, _z, _y, _want, _mistakes in _cases:
    _what = f"binary_cross_entropy_from_logits on {_what}"
    _got = _hidden_call(binary_cross_entropy_from_logits, (_hidden_make(_z), _hidden_make(_y)),
                        _what, "use max(z, 0) - z y + log1p(exp(-|z|))")
    _hidden_float(_got, _want, _what, mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### 3.3 Categorical cross-entropy
# With $C$ classes, logits $Z$ of shape $(N, C)$ and integer labels $y_n \in \{0, \dots, C-1\}$,
# the loss is the average negative log-probability that softmax gives the true class:
#
# $$
# \mathrm{CE}(Z, y) = -\frac{1}{N} \sum_{n=1}^{N} \log \mathrm{softmax}(\mathbf{z}_n)_{y_n} .
# $$
#
# Taking the log of softmax directly gives the stable **log-sum-exp** form. With
# $m_n = \max_j Z_{nj}$:
#
# $$
# \log \mathrm{softmax}(\mathbf{z}_n)_{k} = Z_{nk} - \log \sum_{j} e^{Z_{nj}}
#   = Z_{nk} - \Bigl(m_n + \log \sum_{j} e^{Z_{nj} - m_n}\Bigr) .
# $$
#
# No exponent is positive, and the log never sees 0 (the sum is at least 1). Computing
# `softmax` first and then `np.log` would give $\log 0 = -\infty$ whenever a probability
# underflows, e.g. for logits of $\pm 10^4$.
#
# ### Exercise 9: `cross_entropy` from logits (2 points)
# `logits` has shape `(N, C)`, `labels` is an integer array of shape `(N,)`. Return the mean
# loss as a Python float. Hint: `logits[np.arange(N), labels]` picks the true class's logit
# in each row.

# %% nbgrader={"grade": false, "grade_id": "ex9-cross-entropy", "locked": false, "schema_version": 3, "solution": true}
def cross_entropy(logits, labels):
    """Mean categorical cross-entropy from logits (N, C) and integer labels (N,); stable."""
    ### BEGIN SOLUTION
    logits = np.asarray(logits, dtype=float)
    labels = np.asarray(labels)
    n = logits.shape[0]
    m = logits.max(axis=1, keepdims=True)
    log_sum_exp = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return float(np.mean(log_sum_exp - logits[np.arange(n), labels]))
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 9 and the hidden cases of its test.
MISTAKES.add("ex9-cross-entropy", "sum instead of mean", words="mean",
             message="the result is the sum over the batch: take the mean", code="""
def cross_entropy(logits, labels):
    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels)
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return float(np.sum(lse - logits[np.arange(logits.shape[0]), labels]))
""")
MISTAKES.add("ex9-cross-entropy", "log of softmax probabilities", words="log-sum-exp",
             code="""
def cross_entropy(logits, labels):
    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(logits.shape[0]), labels])))
""")
MISTAKES.add("ex9-cross-entropy", "no max subtracted", words="log-sum-exp", code="""
def cross_entropy(logits, labels):
    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels)
    lse = np.log(np.sum(np.exp(logits), axis=1))
    return float(np.mean(lse - logits[np.arange(logits.shape[0]), labels]))
""")
MISTAKES.add("ex9-cross-entropy", "one max for the whole batch", words="each row", code="""
def cross_entropy(logits, labels):
    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels)
    m = logits.max()
    lse = m + np.log(np.sum(np.exp(logits - m), axis=1))
    return float(np.mean(lse - logits[np.arange(logits.shape[0]), labels]))
""")
MISTAKES.add("ex9-cross-entropy", "labels pick columns, not one entry per row",
             words="np.arange",
             message="the labels picked whole columns: take one logit per row, "
                     "logits[np.arange(N), labels]", code="""
def cross_entropy(logits, labels):
    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels)
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return float(np.mean(lse[:, None] - logits[:, labels]))
""")


def cross_entropy_cases():
    """What each case tests, logits, labels, the expected loss and the typical mistakes'
    outputs (seeds 91-94)."""
    cases = []
    for seed, (n, c) in [(91, (4, 3)), (92, (1, 2)), (93, (6, 5))]:
        rng = np.random.default_rng(seed)
        z, y = short(rng.normal(scale=4.0, size=(n, c))), rng.integers(0, c, size=n)
        cases.append((f"logits of shape {(n, c)}", z, y))
    rng = np.random.default_rng(94)
    z, y = rng.choice([-1e4, 0.0, 1e4], size=(4, 3)), rng.integers(0, 3, size=4)
    cases.append(("logits of +-1e4", z, y))
    out = []
    for what, z, y in cases:
        want = F.cross_entropy(z, y, from_logits=True)
        out.append((what, z, y, want, MISTAKES.outputs("ex9-cross-entropy", "cross_entropy",
                                                       z, y, want=want)))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex9-cross-entropy-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 9
logits = np.array([[10.0, 0.0, 0.0]])
bad = cross_entropy(logits, np.array([1]))
assert np.ndim(bad) == 0, (
    f"cross_entropy should return a single number, got shape {np.shape(bad)}")
loss = cross_entropy(np.vstack([logits, logits]), np.array([1, 1]))
assert not np.isclose(loss, 2 * bad), (
    f"two copies of one example cost twice as much as one ({loss:.4f}): the loss is a mean "
    f"over the batch, not a sum")
loss = cross_entropy(np.zeros((4, 3)), np.array([0, 1, 2, 1]))
assert np.isclose(loss, np.log(3)), (
    f"equal logits over 3 classes should cost log 3 = 1.0986, got {loss}")
good = cross_entropy(logits, np.array([0]))
assert np.isclose(good, np.log(1 + 2 * np.exp(-10))), (
    f"a confident right answer should cost ~9.08e-05, got {good}")
assert np.isclose(bad, 10 + np.log(1 + 2 * np.exp(-10))), (
    f"a confident wrong answer should cost ~10.0001, got {bad}")

rng = np.random.default_rng(0)
Z, y = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
expected = -np.mean(np.log(P[np.arange(5), y]))
loss = cross_entropy(Z, y)
columns = np.mean(-np.log(P[:, y]))
assert not np.isclose(loss, columns), (
    f"on random logits expected {expected:.6f}, got {loss}: logits[:, labels] picks whole "
    f"columns; take one logit per row, logits[np.arange(N), labels]")
assert np.isclose(loss, expected), f"on random logits expected {expected:.6f}, got {loss}"
loss, err = numpy_error(cross_entropy, np.array([[1e4, -1e4], [-1e4, 1e4]]), np.array([0, 0]))
assert err is None, (
    f"cross_entropy overflowed or took the log of 0 on logits of ±1e4 ({err}): a "
    f"softmax probability can round to 0 or inf; compute log p with log-sum-exp, "
    f"max + log(sum(exp(z - max)))")
mixed, err = numpy_error(cross_entropy, np.array([[1000.0, 0.0], [0.0, 1.0]]), np.array([0, 1]))
assert err is None, (
    f"cross_entropy failed on logits [[1000, 0], [0, 1]] ({err}): one max for the "
    f"whole batch (1000) leaves exp(0 - 1000) = 0 in the second row; subtract each "
    f"row's own max, max(axis=1, keepdims=True)")
assert np.isclose(loss, 1e4), (
    f"logits [[1e4, -1e4], [-1e4, 1e4]] with labels [0, 0] should cost 1e4, got {loss}")
assert np.isclose(mixed, np.log1p(np.exp(-1.0)) / 2), (
    f"logits [[1000, 0], [0, 1]] with labels [0, 1] should cost {np.log1p(np.exp(-1)) / 2:.6f}, "
    f"got {mixed}: each row needs its own max")
print("✅ cross_entropy passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, logits, labels, the expected loss, and (message, output) of mistakes
_cases = literal(cross_entropy_cases())
for _what, _z, _y, _want, _mistakes in _cases:
    _what = f"cross_entropy on {_what}"
    _got = _hidden_call(cross_entropy, (_hidden_make(_z), _hidden_make(_y, "i8")), _what,
                        "use log-sum-exp with each row's own max")
    _hidden_float(_got, _want, _what, mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### See it: why cross-entropy for classification?
# For one example of class 1, compare the two losses as the predicted probability $p$ of
# class 1 goes from 0 to 1, computed with your functions. MSE never charges more than 1,
# however confidently wrong the prediction is; cross-entropy grows without bound, and so does
# its slope. That large gradient on confident mistakes is what makes classifiers learn fast.

# %%
p_grid = np.linspace(0.001, 0.999, 400)
one = np.array([1.0])
bce_curve = [binary_cross_entropy(np.array([q]), one) for q in p_grid]
mse_curve = [mse(np.array([q]), one) for q in p_grid]
fig, ax = plt.subplots(figsize=(6.5, 3.8), constrained_layout=True)
ax.plot(p_grid, bce_curve, label="binary cross-entropy  $-\\log p$")
ax.plot(p_grid, mse_curve, label="squared error  $(1 - p)^2$")
ax.set(xlabel="predicted probability of the true class, $p$", ylabel="loss",
       title="cost of one example with label 1", ylim=(0, 5))
ax.legend()
plt.show()

# %% [markdown]
# ## 4. Gradient descent: teach one neuron to diagnose
# A single sigmoid neuron trained with binary cross-entropy is **logistic regression**. We
# now train one on the Wisconsin breast-cancer data: 569 tumours, 30 measurements each
# (radius, texture, smoothness, ...), labelled malignant (0) or benign (1).
#
# ### 4.1 The data, and why we standardize
# `scratchnn.datasets.load_breast_cancer` serves the copy that ships with scikit-learn, so no
# download is needed. We keep 20% of the tumours aside as a **test set**, split so that both
# parts have the same share of each class, and never train on them: they stand in for future
# patients.

# %% nbgrader={"grade": false, "grade_id": "load-data", "locked": true, "schema_version": 3, "solution": false}
from scratchnn.datasets import load_breast_cancer

# A seeded, stratified 80/20 split of scikit-learn's bundled copy (no download needed).
(X_train, y_train), (X_test, y_test) = load_breast_cancer(test_size=0.2, seed=0)
print(f"train: X {X_train.shape}, y {y_train.shape}   test: X {X_test.shape}, y {y_test.shape}")
print(f"labels: 0 = malignant, 1 = benign; "
      f"share of 1s in train {y_train.mean():.2f}, in test {y_test.mean():.2f}")
spread = X_train.std(axis=0)
print(f"feature standard deviations range from {spread.min():.4f} to {spread.max():.1f}")


# %% [markdown]
# The features live on wildly different scales (a standard deviation of 0.002 for one, over
# 500 for another). Gradient descent uses one learning rate for every weight: the weights of
# large-scale features sit on steep slopes and need tiny steps or they overshoot, while with
# those tiny steps the weights of small-scale features barely move. **Standardizing** puts
# every feature on the same scale:
#
# $$
# \tilde{x}_{ij} = \frac{x_{ij} - \mu_j}{s_j},
# \qquad \mu_j = \frac{1}{N_\text{train}} \sum_{n} x^{\text{train}}_{nj},
# \qquad s_j = \sqrt{\frac{1}{N_\text{train}}
#                    \sum_{n} \bigl(x^{\text{train}}_{nj} - \mu_j\bigr)^2}.
# $$
#
# Use the **training** mean and standard deviation for both sets. Computing them on the test
# set would let information about the "future" leak into the model, and a model in use
# receives one patient at a time, with no batch to compute statistics on. A feature that is
# constant in the training set has $s_j = 0$; divide by 1 instead so no `nan` appears.
#
# ### Exercise 10: `standardize` (2 points)
# Return `(X_train_std, X_test_std)`, both standardized with the training statistics
# (`np.std` with its default `ddof=0` is the $s_j$ above). Do not modify the inputs.

# %% nbgrader={"grade": false, "grade_id": "ex10-standardize", "locked": false, "schema_version": 3, "solution": true}
def standardize(X_train, X_test):
    """Standardize both sets with the training mean and std (per feature, ddof=0).

    A feature with zero std in the training set is divided by 1. Returns (train, test).
    """
    ### BEGIN SOLUTION
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_test - mean) / std
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 10 and the hidden cases of its test.
MISTAKES.add("ex10-standardize", "test set with its own statistics", words="training",
             message="the test set was standardized with its own statistics: use the "
                     "training mean and std", code="""
def standardize(X_train, X_test):
    def one(A):
        std = A.std(axis=0)
        return (A - A.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return one(X_train), one(X_test)
""")
MISTAKES.add("ex10-standardize", "sample std (ddof=1)", words="ddof",
             message="the std is the sample std (ddof=1): use ddof=0, np.std's default",
             code="""
def standardize(X_train, X_test):
    mean, std = X_train.mean(axis=0), X_train.std(axis=0, ddof=1)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_test - mean) / std
""")
MISTAKES.add("ex10-standardize", "division by a zero std", words="constant", code="""
def standardize(X_train, X_test):
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mean) / std, (X_test - mean) / std
""")
MISTAKES.add("ex10-standardize", "one mean and std for all features", words="per feature",
             message="one mean and std for all features: compute them per feature (axis=0)",
             code="""
def standardize(X_train, X_test):
    mean, std = X_train.mean(), X_train.std()
    return (X_train - mean) / std, (X_test - mean) / std
""")
MISTAKES.add("ex10-standardize", "modifies the caller's arrays", words="in place", code="""
def standardize(X_train, X_test):
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    X_train -= mean
    X_train /= std
    X_test -= mean
    X_test /= std
    return X_train, X_test
""")
MISTAKES.add("ex10-standardize", "returns only the training set", words="tuple", code="""
def standardize(X_train, X_test):
    std = X_train.std(axis=0)
    return (X_train - X_train.mean(axis=0)) / np.where(std > 0, std, 1.0)
""")


def reference_standardize(A, T):
    mean, std = A.mean(axis=0), A.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (A - mean) / std, (T - mean) / std


def standardize_cases():
    """What each case tests, the train and test sets, the expected standardized sets and the
    typical mistakes' outputs for each (seeds 101-103, and constant columns)."""
    cases = []
    for seed, (n, m, d) in [(101, (8, 3, 3)), (102, (5, 2, 1)), (103, (6, 4, 2))]:
        rng = np.random.default_rng(seed)
        loc, scale = rng.normal(size=d) * 10, rng.uniform(0.01, 100.0, size=d)
        A = short(rng.normal(loc, scale, size=(n, d)), digits=6)
        T = short(rng.normal(0.0, 50.0, size=(m, d)), digits=6)
        cases.append((f"train set of shape {(n, d)}", A, T))
    cases.append(("constant training columns",   # exact: std 0 for columns 0 and 2
                  np.array([[1.0, 3.0, -2.0], [1.0, 5.0, -2.0], [1.0, 7.0, -2.0],
                            [1.0, 9.0, -2.0]]),
                  np.array([[2.0, 5.0, 0.0]])))
    out = []
    for what, A, T in cases:
        want_A, want_T = reference_standardize(A, T)
        mistakes = [MISTAKES.outputs("ex10-standardize", "standardize", A, T, want=want,
                                     pick=lambda r, i=i: r[i])
                    for i, want in enumerate((want_A, want_T))]
        out.append((what, A, T, want_A, want_T, mistakes[0], mistakes[1]))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex10-standardize-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 10
A_train = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]])   # column 1 is constant
A_test = np.array([[2.0, 12.0], [6.0, 10.0]])
A_train_before, A_test_before = A_train.copy(), A_test.copy()
result, err = numpy_error(standardize, A_train, A_test)
assert err is None, (
    f"standardize divided by zero ({err}): column 1 of the training set is constant, "
    f"its std is 0; divide by 1 where the std is 0")
assert np.array_equal(A_train, A_train_before) and np.array_equal(A_test, A_test_before), (
    "standardize modified its inputs in place (X -= mean changes the caller's array): return "
    "new arrays, (X - mean) / std")
assert isinstance(result, tuple) and len(result) == 2, (
    f"standardize should return a tuple (train, test), got {type(result).__name__}")
tr, te = result
assert tr.shape == (3, 2) and te.shape == (2, 2), (
    f"shapes should stay (3, 2) and (2, 2), got {np.shape(tr)} and {np.shape(te)}")
assert np.all(np.isfinite(tr)) and np.all(np.isfinite(te)), (
    "a constant training column gave inf or nan: divide by 1 where the std is 0")
assert not np.allclose(tr.mean(), 0.0) or np.allclose(tr.mean(axis=0), 0.0), (
    f"the training columns have means {tr.mean(axis=0)}: one mean and std for all features "
    f"is not enough, compute them per feature (axis=0)")
assert not np.allclose(tr[:, 0], [-1.0, 0.0, 1.0]), (
    "the first column was divided by the sample std (ddof=1), 2 instead of sqrt(8/3): use "
    "ddof=0, np.std's default")
s = np.sqrt(8 / 3)
assert np.allclose(tr, [[-2 / s, 0.0], [0.0, 0.0], [2 / s, 0.0]]), (
    f"standardized train set is wrong:\n{tr}")
assert not np.allclose(te.mean(axis=0), 0.0), (
    "the test set came out with mean 0: it was standardized with its own statistics; use the "
    "training mean and std for both sets")
assert np.allclose(te, [[0.0, 2.0], [4 / s, 0.0]]), (
    f"standardized test set is wrong:\n{te}\n"
    f"it must use the training mean [2, 10] and std [{s:.4f}, 1]")

rng = np.random.default_rng(0)
B_train, B_test = rng.normal(5.0, 3.0, size=(50, 4)), rng.normal(7.0, 1.0, size=(20, 4))
tr, te = standardize(B_train, B_test)
assert np.allclose(tr.mean(axis=0), 0.0) and np.allclose(tr.std(axis=0), 1.0), (
    "each standardized training column should have mean 0 and std 1")
print("✅ standardize passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, the train and test sets, the expected standardized sets, and
# (message, output) of typical mistakes for each of them
_cases = literal(standardize_cases())
for _what, _A, _T, _want_A, _want_T, _mistakes_A, _mistakes_T in _cases:
    _train, _test = _hidden_make(_A), _hidden_make(_T)
    _got = _hidden_call(standardize, (_train, _test), f"standardize on a {_what}")
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: standardize should return a tuple (train, test)")
    _hidden_array(_got[0], _want_A, f"the standardized train set ({_what})",
                  mistakes=_mistakes_A)
    _hidden_array(_got[1], _want_T, f"the standardized test set ({_what})",
                  mistakes=_mistakes_T)
    assert _train.tolist() == _A and _test.tolist() == _T, (
        f"hidden case {_what}: standardize modified its inputs")
### END HIDDEN TESTS

# %%
X_train_std, X_test_std = standardize(X_train, X_test)
print("train means (first 5):", X_train_std.mean(axis=0)[:5])
print("train stds  (first 5):", X_train_std.std(axis=0)[:5])
print("test  means (first 5):", X_test_std.mean(axis=0)[:5], " <- close to 0, but not exactly")


# %% [markdown]
# ### 4.2 The gradient of the loss
# Our model is $p_n = \sigma(z_n)$ with $z_n = \mathbf{x}_n^\top \mathbf{w} + b$, and the loss is
# $L = \frac1N \sum_n \ell(z_n, y_n)$ with the cross-entropy $\ell$ of Exercise 8. The chain
# rule gives the slope with respect to each logit. Using $\sigma' = \sigma(1 - \sigma)$:
#
# $$
# \frac{\partial \ell}{\partial z_n}
# = \frac{\partial \ell}{\partial p_n} \cdot \frac{\partial p_n}{\partial z_n}
# = \Bigl(-\frac{y_n}{p_n} + \frac{1 - y_n}{1 - p_n}\Bigr)\, p_n (1 - p_n)
# = p_n - y_n .
# $$
#
# Everything cancels into *prediction minus target*, the reason sigmoid and cross-entropy
# are used together. Since $\partial z_n / \partial w_i = x_{ni}$ and
# $\partial z_n / \partial b = 1$:
#
# $$
# \nabla_{\mathbf{w}} L = \frac{1}{N} X^\top (\mathbf{p} - \mathbf{y}) \quad \text{shape } (d,),
# \qquad
# \frac{\partial L}{\partial b} = \frac{1}{N} \sum_{n=1}^{N} (p_n - y_n) \quad \text{a number}.
# $$
#
# **Gradient descent** repeats one step: compute the gradient, then move against it with
# **learning rate** $\eta$:
#
# $$
# \mathbf{w} \leftarrow \mathbf{w} - \eta\, \nabla_{\mathbf{w}} L,
# \qquad b \leftarrow b - \eta\, \frac{\partial L}{\partial b}.
# $$
#
# ### Exercise 11: `logistic_loss_and_gradients` (3 points)
# For `X` of shape `(N, d)`, labels `y` of shape `(N,)` (0 or 1), weights `w` of shape `(d,)`
# and a number `b`, return `(loss, grad_w, grad_b)`: the mean cross-entropy as a float
# (use your stable `binary_cross_entropy_from_logits`), the gradient for `w` with shape
# `(d,)`, and the gradient for `b` as a float. No loops over examples.
# The test compares your gradient with a **numerical gradient**: nudge each parameter by
# $\pm h$ and measure how the loss changes. That check, *gradient checking*, is the single
# most useful debugging tool in this course.

# %% nbgrader={"grade": false, "grade_id": "ex11-gradients", "locked": false, "schema_version": 3, "solution": true}
def logistic_loss_and_gradients(X, y, w, b):
    """Loss and gradients of one sigmoid neuron with binary cross-entropy.

    X: (N, d); y: (N,) of 0/1; w: (d,); b: a number.
    Returns (loss: float, grad_w: (d,) array, grad_b: float).
    """
    ### BEGIN SOLUTION
    z = X @ w + b
    loss = binary_cross_entropy_from_logits(z, y)
    error = (sigmoid(z) - y) / X.shape[0]
    return loss, X.T @ error, float(np.sum(error))
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 11 and the hidden cases of its test.
MISTAKES.add("ex11-gradients", "gradient not divided by N", words="divide by N",
             message="the gradient is N times too large: divide by N (the loss is a mean)",
             code="""
def logistic_loss_and_gradients(X, y, w, b):
    z = X @ w + b
    error = sigmoid(z) - y
    return binary_cross_entropy_from_logits(z, y), X.T @ error, float(np.sum(error))
""")
MISTAKES.add("ex11-gradients", "y - p instead of p - y", words="sign",
             message="the gradient has the wrong sign: it is X.T @ (p - y) / N", code="""
def logistic_loss_and_gradients(X, y, w, b):
    z = X @ w + b
    error = (y - sigmoid(z)) / X.shape[0]
    return binary_cross_entropy_from_logits(z, y), X.T @ error, float(np.sum(error))
""")
MISTAKES.add("ex11-gradients", "X @ error instead of X.T @ error", words="X.T", code="""
def logistic_loss_and_gradients(X, y, w, b):
    z = X @ w + b
    error = (sigmoid(z) - y) / X.shape[0]
    return binary_cross_entropy_from_logits(z, y), X @ error, float(np.sum(error))
""")
MISTAKES.add("ex11-gradients", "grad_b not summed", words="single number", code="""
def logistic_loss_and_gradients(X, y, w, b):
    z = X @ w + b
    error = (sigmoid(z) - y) / X.shape[0]
    return binary_cross_entropy_from_logits(z, y), X.T @ error, error
""")
MISTAKES.add("ex11-gradients", "logits instead of probabilities in the error",
             words="sigmoid",
             message="the gradient uses z - y: the error is sigmoid(z) - y", code="""
def logistic_loss_and_gradients(X, y, w, b):
    z = X @ w + b
    error = (z - y) / X.shape[0]
    return binary_cross_entropy_from_logits(z, y), X.T @ error, float(np.sum(error))
""")
MISTAKES.add("ex11-gradients", "loop over the examples", words="loop", code="""
def logistic_loss_and_gradients(X, y, w, b):
    n = X.shape[0]
    z = X @ w + b
    grad_w, grad_b = np.zeros(X.shape[1]), 0.0
    for i in range(n):
        e = sigmoid(z[i]) - y[i]
        grad_w = grad_w + e * X[i] / n
        grad_b += float(e) / n
    return binary_cross_entropy_from_logits(z, y), grad_w, grad_b
""")


def reference_gradients(X, y, w, b):
    z = F.dense(X, w[:, None], np.array([b]))
    loss = F.binary_cross_entropy(z, y[:, None], from_logits=True)
    dz = F.binary_cross_entropy_backward(z, y[:, None], from_logits=True)
    _, dW, db = F.dense_backward(dz, X, w[:, None])
    return loss, dW[:, 0], float(db[0])


def gradient_cases():
    """What each case tests, X, y, w, b, the expected loss, grad_w and grad_b, and the typical
    mistakes' outputs for grad_w (seeds 111-114)."""
    cases = []
    for seed, (n, d), scale in [(111, (6, 3), 1.0), (112, (1, 1), 1.0), (113, (10, 5), 1.0),
                                (114, (8, 2), 300.0)]:
        rng = np.random.default_rng(seed)
        X, y = short(rng.normal(size=(n, d))), rng.integers(0, 2, size=n).astype(np.float64)
        w, b = short(rng.normal(scale=scale, size=d)), float(short(rng.normal()))
        what = f"X of shape {(n, d)}" + (f", weights of scale {scale:g}" if scale != 1 else "")
        loss, grad_w, grad_b = reference_gradients(X, y, w, b)
        mistakes = MISTAKES.outputs("ex11-gradients", "logistic_loss_and_gradients", X, y, w, b,
                                    want=grad_w, pick=lambda r: r[1])
        cases.append((what, X, y, w, b, loss, grad_w, grad_b, mistakes))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex11-gradients-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 11
rng = np.random.default_rng(0)
X, y = rng.normal(size=(5, 3)), np.array([1.0, 0.0, 1.0, 1.0, 0.0])
try:
    result = logistic_loss_and_gradients(X, y, np.zeros(3), 0.0)
except ValueError as err:
    raise AssertionError(
        f"logistic_loss_and_gradients raised ValueError ({err}) for X of shape (5, 3): the "
        f"gradient for w is X.T @ (p - y) / N, (3, 5) @ (5,) -> (3,)") from None
assert isinstance(result, tuple) and len(result) == 3, (
    "logistic_loss_and_gradients should return a tuple (loss, grad_w, grad_b)")
loss, grad_w, grad_b = result
assert np.isclose(loss, np.log(2)), (
    f"with w = 0 and b = 0 every p is 0.5, so the loss should be log 2, got {loss}")
assert np.shape(grad_w) == (3,), (
    f"the gradient for w has the wrong shape: expected (3,), got {np.shape(grad_w)}")
assert np.ndim(grad_b) == 0, (
    f"the gradient for b should be a single number, got shape {np.shape(grad_b)}: sum the "
    f"errors over the examples")
p = np.full(5, 0.5)
for wrong, diagnosis in [(X.T @ (p - y), "N times too large: divide by N (the loss is a mean)"),
                         (X.T @ (y - p) / 5, "of the wrong sign: it is X.T @ (p - y) / N"),
                         (X.T @ (0.0 - y) / 5, "computed with z - y: the error is "
                                               "sigmoid(z) - y")]:
    assert not np.allclose(grad_w, wrong), f"at w = 0, b = 0 the gradient for w is {diagnosis}"
assert np.isclose(grad_b, -0.1), f"at w = 0, b = 0: dL/db = mean(0.5 - y) = -0.1, got {grad_b}"

w, b, h = rng.normal(size=3), 0.3, 1e-6
loss, grad_w, grad_b = logistic_loss_and_gradients(X, y, w, b)
numeric_w = np.array([
    (logistic_loss_and_gradients(X, y, w + h * e, b)[0]
     - logistic_loss_and_gradients(X, y, w - h * e, b)[0]) / (2 * h)
    for e in np.eye(3)])
numeric_b = (logistic_loss_and_gradients(X, y, w, b + h)[0]
             - logistic_loss_and_gradients(X, y, w, b - h)[0]) / (2 * h)
assert np.allclose(grad_w, numeric_w, atol=1e-6), (
    f"grad_w does not match the numerical gradient:\n"
    f"  yours    {grad_w}\n  numeric  {numeric_w}\n"
    "did you divide by N and use X.T @ (p - y)?")
assert np.isclose(grad_b, numeric_b, atol=1e-6), (
    f"grad_b should be {numeric_b:.6f}, got {grad_b}")
loops = python_loops(logistic_loss_and_gradients)   # the text asks for no loop
assert not loops, (
    f"logistic_loss_and_gradients uses a Python loop ({', '.join(loops)}): the "
    f"gradient for the whole batch is one product, X.T @ (p - y) / N")
print("✅ logistic_loss_and_gradients passes the visible tests, including the gradient check.")
### BEGIN HIDDEN TESTS
# each case: what it tests, X, y, w, b, the expected loss, grad_w and grad_b, and (message,
# output) of typical mistakes for grad_w
_cases = literal(gradient_cases())
for _what, _X, _y, _w, _bias, _loss, _grad_w, _grad_b, _mistakes in _cases:
    _got = _hidden_call(logistic_loss_and_gradients,
                        (_hidden_make(_X), _hidden_make(_y), _hidden_make(_w), _bias),
                        f"logistic_loss_and_gradients on {_what}")
    assert _type(_got) is _tuple and _got.__len__() == 3, (
        f"hidden case {_what}: logistic_loss_and_gradients should return a tuple "
        f"(loss, grad_w, grad_b)")
    _hidden_float(_got[0], _loss, f"the loss ({_what})")
    _hidden_array(_got[1], _grad_w, f"the gradient for w ({_what})", mistakes=_mistakes)
    _hidden_float(_got[2], _grad_b, f"the gradient for b ({_what})")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 12: train it (3 points)
# Complete `train_logistic_regression`: start from $\mathbf{w} = \mathbf{0}$, $b = 0$, and
# repeat `steps` times: compute the loss and gradients on the whole training set, append the
# loss to `losses` (so `losses[i]` is the loss *before* update $i$), then take one gradient
# descent step. Then complete `predict`, which returns the class `1` where
# $p = \sigma(z) \ge 0.5$ (that is, where $z \ge 0$) and `0` elsewhere, as an integer array.

# %% nbgrader={"grade": false, "grade_id": "ex12-train", "locked": false, "schema_version": 3, "solution": true}
def train_logistic_regression(X, y, lr=0.1, steps=500):
    """Full-batch gradient descent on one sigmoid neuron, from w = 0 and b = 0.

    Returns (w, b, losses) with losses[i] the training loss before step i.
    """
    w = np.zeros(X.shape[1])
    b = 0.0
    losses = []
    ### BEGIN SOLUTION
    for _ in range(steps):
        loss, grad_w, grad_b = logistic_loss_and_gradients(X, y, w, b)
        losses.append(loss)
        w = w - lr * grad_w
        b = b - lr * grad_b
    ### END SOLUTION
    return w, b, losses


def predict(X, w, b):
    """Class predictions (N,) of 0/1 integers: 1 where X @ w + b >= 0."""
    ### BEGIN SOLUTION
    return (X @ w + b >= 0).astype(int)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 12 and the hidden cases of its test.
TRAIN_HEAD = """
def train_logistic_regression(X, y, lr=0.1, steps=500):
    w = np.zeros(X.shape[1])
    b = 0.0
    losses = []
"""
MISTAKES.add("ex12-train", "update with the wrong sign", words="sign",
             message="w moved along the gradient: the update is w - lr * grad_w",
             code=TRAIN_HEAD + """
    for _ in range(steps):
        loss, grad_w, grad_b = logistic_loss_and_gradients(X, y, w, b)
        losses.append(loss)
        w = w + lr * grad_w
        b = b + lr * grad_b
    return w, b, losses
""")
MISTAKES.add("ex12-train", "loss recorded after the update", words="before", code=TRAIN_HEAD + """
    for _ in range(steps):
        loss, grad_w, grad_b = logistic_loss_and_gradients(X, y, w, b)
        w = w - lr * grad_w
        b = b - lr * grad_b
        losses.append(logistic_loss_and_gradients(X, y, w, b)[0])
    return w, b, losses
""")
MISTAKES.add("ex12-train", "learning rate ignored", words="learning rate",
             message="w moved by the whole gradient: multiply it by the learning rate lr",
             code=TRAIN_HEAD + """
    for _ in range(steps):
        loss, grad_w, grad_b = logistic_loss_and_gradients(X, y, w, b)
        losses.append(loss)
        w = w - grad_w
        b = b - grad_b
    return w, b, losses
""")
MISTAKES.add("ex12-train", "one step too few", words="one loss per step", code=TRAIN_HEAD + """
    for _ in range(steps - 1):
        loss, grad_w, grad_b = logistic_loss_and_gradients(X, y, w, b)
        losses.append(loss)
        w = w - lr * grad_w
        b = b - lr * grad_b
    return w, b, losses
""")
MISTAKES.add("ex12-train", "predict returns booleans", words="integer", code="""
def predict(X, w, b):
    return X @ w + b >= 0
""")
MISTAKES.add("ex12-train", "predict thresholds z at 0.5", words="threshold", code="""
def predict(X, w, b):
    return (X @ w + b >= 0.5).astype(int)
""")


def train_cases():
    """X, y, lr, steps, the expected w, b and losses, and the typical mistakes' w (seeds
    121-122)."""
    cases = []
    for seed, (n, d), lr, steps in [(121, (12, 3), 0.5, 10), (122, (5, 2), 0.05, 4)]:
        rng = np.random.default_rng(seed)
        X = short(rng.normal(size=(n, d)))
        y = (X @ rng.normal(size=d) + 0.5 * rng.normal(size=n) > 0).astype(np.float64)
        w, b, losses = np.zeros(d), 0.0, []
        for _ in range(steps):
            loss, grad_w, grad_b = reference_gradients(X, y, w, b)
            losses.append(loss)
            w, b = w - lr * grad_w, b - lr * grad_b
        mistakes = MISTAKES.outputs("ex12-train", "train_logistic_regression", X, y, lr, steps,
                                    want=w, pick=lambda r: r[0])
        cases.append((X, y, lr, steps, w, b, losses, mistakes))
    return cases


def predict_case():
    """X, w, b and the expected classes (seed 123)."""
    X, w = draw(123, (9, 4), 4)
    return X, w, 0.25, (X @ w + 0.25 >= 0).astype(int)


# %% nbgrader={"grade": true, "grade_id": "ex12-train-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 12 (standardized here, so that this test only depends on Exercise 12)
mean, std = X_train.mean(axis=0), X_train.std(axis=0)
Xs_train, Xs_test = (X_train - mean) / std, (X_test - mean) / std
w1, b1, losses1 = train_logistic_regression(Xs_train, y_train, lr=0.1, steps=1)
step = Xs_train.T @ (0.5 - y_train) / len(y_train)    # the gradient at w = 0, b = 0
assert len(losses1) == 1, (
    f"record one loss per step: 1 step should give 1 loss, got {len(losses1)}")
assert not np.allclose(w1, 0.1 * step), (
    "after one step w moved along the gradient: the update has the wrong sign, "
    "w - lr * grad_w")
assert not np.allclose(w1, -step), (
    "after one step w moved by the whole gradient: multiply it by the learning rate lr")
assert np.isclose(losses1[0], np.log(2)), (
    f"the first loss should be log 2 = 0.6931 (w = 0, b = 0, recorded before the first "
    f"update), got {losses1[0]}")
w, b, losses = train_logistic_regression(Xs_train, y_train, lr=0.1, steps=500)
assert np.shape(w) == (30,), f"w should have shape (30,), got {np.shape(w)}"
assert np.ndim(b) == 0, f"b should be a single number, got shape {np.shape(b)}"
assert len(losses) == 500, f"record one loss per step: expected 500 losses, got {len(losses)}"
assert np.all(np.diff(losses) <= 1e-12), (
    "with lr = 0.1 the loss should never go up: check the sign of the update")
assert losses[-1] < 0.1, (
    f"after 500 steps the training loss should be below 0.1, got {losses[-1]:.4f}")

pred = predict(Xs_test, w, b)
assert isinstance(pred, np.ndarray) and pred.shape == y_test.shape, (
    f"predict should return an array of shape {y_test.shape}, "
    f"got {type(pred).__name__} of shape {np.shape(pred)}")
assert pred.dtype.kind in "iu", (
    f"predict should return integers 0/1, got dtype {pred.dtype}: convert with .astype(int)")
assert set(np.unique(pred)) <= {0, 1}, f"predictions must be 0 or 1, got {np.unique(pred)}"
edge = predict(np.array([[0.25], [-0.25], [0.0]]), np.array([1.0]), 0.0)
assert np.array_equal(edge, [1, 0, 1]), (
    f"predict([[0.25], [-0.25], [0]], w=[1], b=0) should be [1, 0, 1], got {edge}: the "
    f"threshold is p = 0.5, that is z = X @ w + b >= 0 (not z >= 0.5; z = 0 is class 1)")
assert np.array_equal(pred, (Xs_test @ w + b >= 0).astype(int)), (
    "predict gives the wrong classes: class 1 where X @ w + b >= 0")
accuracy = np.mean(pred == y_test)
assert accuracy >= 0.95, f"the test accuracy should be at least 95%, got {accuracy:.1%}"
print(f"✅ training works: test accuracy {accuracy:.1%}")
### BEGIN HIDDEN TESTS
# each case: X, y, lr, steps, the expected w, b and losses, and (message, output) of typical
# mistakes for w
_cases = literal(train_cases())
for _X, _y, _lr, _steps, _w, _bias, _losses, _mistakes in _cases:
    _what = f"{_steps} steps with lr = {_lr} on X of shape {_hidden_make(_X).shape}"
    _got = _hidden_call(train_logistic_regression, (_hidden_make(_X), _hidden_make(_y), _lr,
                                                    _steps), f"training: {_what}")
    assert _type(_got) is _tuple and _got.__len__() == 3, (
        f"hidden case {_what}: train_logistic_regression should return a tuple "
        f"(w, b, losses)")
    _hidden_array(_got[0], _w, f"w after {_what}", rtol=1e-5, atol=1e-8, mistakes=_mistakes)
    _hidden_float(_got[1], _bias, f"b after {_what}", rtol=1e-5, atol=1e-8)
    _recorded = _got[2]
    if _type(_recorded) is _ndarray:
        _recorded = _hidden_values(_recorded, (_steps,), f"the losses of {_what}")
    assert _type(_recorded) is _list or _type(_recorded) is _tuple, (
        f"hidden case {_what}: losses should be a list, got {_type(_recorded).__name__}")
    assert _recorded.__len__() == _steps, (
        f"hidden case {_what}: record one loss per step: expected {_steps} losses, "
        f"got {_recorded.__len__()}")
    _step = 0
    for _loss in _recorded:
        _hidden_float(_loss, _losses[_step], f"the loss before step {_step} of {_what}",
                      rtol=1e-5)
        _step += 1

# X, w, b, and the expected classes
_X, _w, _bias, _want = literal(predict_case())
_got = _hidden_call(predict, (_hidden_make(_X), _hidden_make(_w), _bias), "predict")
_shape = (_want.__len__(),)
assert _type(_got) is _ndarray and _got.shape == _shape, (
    f"hidden case predict: should return an array of shape {_shape}")
assert _got.dtype.kind in "iu", (
    f"hidden case predict: should return integers, got dtype {_got.dtype}")
assert _got.tolist() == _want, "hidden case predict: wrong classes (the threshold is z >= 0)"
### END HIDDEN TESTS

# %% [markdown]
# ### See it: the loss curve
# Below we train on the standardized data from Exercise 10 with three learning rates. Too
# small and learning crawls; well chosen and the loss drops fast, then flattens. Try adding
# `lr = 10.0` to see what happens when the steps are too large. Below: the features the
# trained neuron relies on most (a negative weight pushes towards *malignant*).

# %%
fig, (ax_loss, ax_w) = plt.subplots(2, 1, figsize=(8.4, 7.6), constrained_layout=True)
for lr in (0.01, 0.1, 1.0):
    w_lr, b_lr, losses_lr = train_logistic_regression(X_train_std, y_train, lr=lr, steps=500)
    acc = np.mean(predict(X_test_std, w_lr, b_lr) == y_test)
    ax_loss.plot(losses_lr,
                 label=f"lr = {lr}: final loss {losses_lr[-1]:.3f}, test accuracy {acc:.1%}")
ax_loss.set(xlabel="gradient descent step", ylabel="training loss (binary cross-entropy)",
            yscale="log", title="learning curves")
ax_loss.legend()

from sklearn.datasets import load_breast_cancer as sklearn_breast_cancer  # for the names

feature_names = np.asarray(sklearn_breast_cancer().feature_names)
w, b, losses = train_logistic_regression(X_train_std, y_train, lr=0.1, steps=500)
top = np.argsort(np.abs(w))[-10:]
ax_w.barh(feature_names[top], w[top],
          color=np.where(w[top] < 0, "tab:red", "tab:blue"))
ax_w.set(xlabel="weight (on standardized features)", title="the 10 largest weights, lr = 0.1")
plt.show()

print(f"train accuracy {np.mean(predict(X_train_std, w, b) == y_train):.1%}, "
      f"test accuracy {np.mean(predict(X_test_std, w, b) == y_test):.1%}")

# %% [markdown]
# ## Summary
# You built, from nothing but NumPy:
# - a **neuron** $z = \mathbf{w}^\top\mathbf{x} + b$ and a **layer** on a batch,
#   $Z = XW + \mathbf{b}$, with $W$ of shape (inputs, outputs);
# - the **activations** sigmoid, tanh, ReLU, leaky ReLU and softmax, and their derivatives,
#   with the two tricks that keep them finite: never exponentiate a positive number, and
#   subtract the maximum before a softmax;
# - the **losses** MSE, binary cross-entropy and categorical cross-entropy, computed stably
#   from logits with log-sum-exp;
# - **logistic regression** trained by **gradient descent**, with a gradient you derived,
#   checked numerically, and used to diagnose tumours with over 95% test accuracy.
#
# These are exactly the functions of `scratchnn.functional`, the course library's lowest
# level. Notebook 02 stacks neurons into layers and computes every gradient automatically
# with **backpropagation**.
#
# ### Questions to think about
# 1. The neuron's decision boundary is a straight line. Draw four points, two per class,
#    that no single neuron can separate. What would you add to the model? (This is the XOR
#    problem of notebook 02.)
# 2. Why does $\partial \ell / \partial z = p - y$ make sigmoid + cross-entropy train faster
#    than sigmoid + MSE? Derive $\partial\,\mathrm{MSE}/\partial z$ and look at what happens
#    when the neuron is confidently wrong.
# 3. Standardization used the training statistics. What would go wrong if a hospital
#    standardized each new patient with that patient's own mean?
# 4. With `lr = 10`, does the loss still go down? Relate your answer to the curvature of
#    the loss.
# 5. A ReLU unit whose $z$ is negative for every training example never changes again.
#    Why? How does leaky ReLU help?
# 6. Where else did you see "subtract the maximum" or "never exponentiate a positive
#    number"? Why do frameworks offer losses "from logits"?
