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
# # Notebook 02 · Backpropagation
#
# **The chain rule, one node at a time: backward passes you derive, check and debug yourself,
# and a two-layer network that learns XOR and three interleaved spirals.**
#
# In notebook 01 you derived the gradient of one neuron by hand. A network has thousands of
# weights in layers that feed each other; deriving each gradient separately would be hopeless.
# **Backpropagation** is the bookkeeping that makes it routine: break the computation into
# small nodes, give each node a *backward* function that turns "how the loss depends on my
# output" into "how the loss depends on my inputs", and run the nodes backwards. Every deep
# learning framework does exactly this; here you write every piece, and a tool to prove each
# piece right.
#
# ### Learning objectives
# By the end of this notebook you can:
# 1. compute the gradients of a small computational graph by hand with the chain rule,
#    including a variable that is used twice;
# 2. write the backward passes of ReLU, sigmoid and tanh, of a dense layer ($dW$, $db$, $dX$,
#    with their shapes reasoned out) and of the fused softmax + cross-entropy, and explain why
#    the last one is $(p - y) / N$;
# 3. implement numerical gradient checking (centred differences and the relative error), say
#    which values mean "correct" in float64 and why float32 cannot get there;
# 4. find and fix a bug in someone else's backward pass with your checker;
# 5. train a two-layer network with your own forward and backward passes: XOR to 100% and
#    three spirals to at least 95% accuracy, and watch its decision boundary form.
#
# ### Time estimate
# About **3 to 4 hours**: 30 to 45 minutes per section, plus time for the plots and the
# training scrubber. Each test cell is a good place to take a break.
#
# ### Prerequisites
# - Notebook 01: neurons and layers ($Z = XW + \mathbf{b}$), activations, softmax and
#   cross-entropy, gradient descent.
# - NumPy: shapes, broadcasting, `@`, `axis=` and `keepdims=`, fancy indexing
#   (`P[np.arange(N), labels]`).
# - Calculus: partial derivatives and the chain rule.
#
# ### How this notebook works
# - Each **exercise** cell contains a function with `# YOUR CODE HERE` and
#   `raise NotImplementedError()`. Replace those two lines with your solution.
# - The **test cell** right after it checks your work. Run it: a ✅ means the visible tests
#   pass. When you submit, the grader also runs **hidden tests** on other shapes, other random
#   seeds and extreme values, so write general code rather than code that fits the examples.
# - Do not rename the functions, and do not delete or copy the exercise and test cells.
# - Use NumPy only. Calling the course library `scratchnn` in your solutions is flagged by the
#   grader; it is only used here for the data sets and the training scrubber.
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
# Helpers of the test cells below (you do not need them in your code).


def warnings_of(fn, *args):
    """(fn(*args), the text of the NumPy warnings it gave, or None). Overflow, division by zero
    and invalid values (nan) only warn in your kernel; the grader turns them into errors."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn", under="ignore"):
        warnings.simplefilter("always")
        result = fn(*args)
    return result, "; ".join(str(w.message) for w in caught) or None


def slope(f, x, h=1e-6):
    """The test cells' own centred-difference gradient of a scalar function f at x (a float64
    array of any shape): what you will write yourself in Exercise 5."""
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = h
        step = step.reshape(x.shape)
        grad.flat[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def close(a, b, rtol=1e-5, atol=1e-8):
    """True if a and b have the same shape and close values."""
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=rtol, atol=atol)


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
    _list,
    _ndarray,
    _tuple,
    _type,
)
from scratchnn import functional as F
from scratchnn import gradcheck as G

MISTAKES = Corpus(globals())

# %% [markdown]
# ## 1. The chain rule on a computational graph
#
# Write a computation as a graph of small operations. For
# $f(x, y, z) = (x + y)\, z$ there are two nodes, $q = x + y$ and $f = q\,z$:
#
# ```
#   x ──┐
#       (+)── q ──┐
#   y ──┘         (×)── f
#   z ────────────┘
# ```
#
# Each node knows its **local gradients**, the derivatives of its output with respect to its
# own inputs: for $q = x + y$, $\partial q/\partial x = \partial q/\partial y = 1$; for
# $f = qz$, $\partial f/\partial q = z$ and $\partial f/\partial z = q$. The **chain rule**
# connects them: the gradient of $f$ with respect to a node's input is the gradient with
# respect to its output (the **upstream** gradient) times the local gradient,
#
# $$
# \frac{\partial f}{\partial x} = \frac{\partial f}{\partial q}\,\frac{\partial q}{\partial x}
# = z \cdot 1 .
# $$
#
# **Worked by hand**, at $x = -2$, $y = 5$, $z = -4$. The forward pass goes left to right,
# the backward pass right to left, starting from $\partial f/\partial f = 1$:
#
# | node | forward | upstream | local gradients | sent back |
# |---|---|---|---|---|
# | $f = qz$ | $3 \cdot (-4) = -12$ | $1$ | $z = -4$, $q = 3$ | $f_q = -4$, $f_z = 3$ |
# | $q = x + y$ | $-2 + 5 = 3$ | $f_q = -4$ | $1$ and $1$ | $f_x = -4$, $f_y = -4$ |
#
# ($f_q$ is short for $\partial f/\partial q$.)
#
# Two patterns to remember: an **addition** passes its upstream gradient unchanged to every
# input (a "distributor"); a **multiplication** sends each input the upstream gradient times
# the *other* input (a "swapper").
#
# Two more rules make any graph routine:
# - **a max (ReLU) is a gate**: $r = \max(b, 0)$ passes the upstream gradient where $b > 0$
#   and blocks it where $b \le 0$ (at the kink $b = 0$ we use 0, as in notebook 01);
# - **gradients add where a variable fans out**: if $z$ feeds two nodes, $f$ depends on $z$
#   along two paths and $\partial f/\partial z$ is the *sum* of what each path sends back.
#   (This is the multivariable chain rule: $\frac{d}{dz} g(u(z), v(z)) = g_u u' + g_v v'$.)
#
# ### Exercise 1: `graph_forward_backward` (1 point)
# The graph for this exercise uses all three rules:
#
# $$
# a = x\,y, \qquad b = a + z, \qquad r = \max(b, 0), \qquad f = r\,z .
# $$
#
# Note that $z$ is used twice. Return the tuple `(f, df_dx, df_dy, df_dz)`. Do the forward
# pass, then go backwards node by node: $\partial f/\partial r$, then $\partial f/\partial b$
# (the gate), then $\partial f/\partial a$, then the inputs. Write it with NumPy operations
# (`np.maximum`, `*`, comparisons) so that it works elementwise when `x`, `y`, `z` are arrays
# of the same shape, not only for numbers.

# %% nbgrader={"grade": false, "grade_id": "ex1-graph", "locked": false, "schema_version": 3, "solution": true}
def graph_forward_backward(x, y, z):
    """f = max(x y + z, 0) * z and its gradients, elementwise.

    x, y, z: numbers or arrays of one shape. Returns (f, df_dx, df_dy, df_dz).
    """
    ### BEGIN SOLUTION
    a = x * y
    b = a + z
    r = np.maximum(b, 0.0)
    f = r * z
    df_dr = z                      # f = r z
    df_db = df_dr * (b > 0)        # the ReLU gate
    df_da = df_db                  # b = a + z distributes
    df_dx = df_da * y              # a = x y swaps
    df_dy = df_da * x
    df_dz = r + df_db              # two paths: f = r z directly, and through b
    return f, df_dx, df_dy, df_dz
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 1 and the hidden cases of its test.
GRAPH_HEAD = """
def graph_forward_backward(x, y, z):
    b = x * y + z
    r = np.maximum(b, 0.0)
    gate = b > 0
"""
MISTAKES.add("ex1-graph", "df/dz: only the path through b", words="both paths",
             message="df_dz has only the path through b: z is used twice, add both paths, "
                     "max(b, 0) + z * gate", code=GRAPH_HEAD + """
    return r * z, z * gate * y, z * gate * x, z * gate
""")
MISTAKES.add("ex1-graph", "df/dz: only the direct path", words="both paths",
             message="df_dz has only the direct path (r): z is used twice, add both paths, "
                     "max(b, 0) + z * gate", code=GRAPH_HEAD + """
    return r * z, z * gate * y, z * gate * x, r
""")
MISTAKES.add("ex1-graph", "x and y swapped", words="swap",
             message="df_dx and df_dy are swapped: a multiplication swaps, da/dx = y",
             code=GRAPH_HEAD + """
    return r * z, z * gate * x, z * gate * y, r + z * gate
""")
MISTAKES.add("ex1-graph", "no ReLU gate", words="gate",
             message="the gradient went through the ReLU where b <= 0: the gate blocks it",
             code=GRAPH_HEAD + """
    return r * z, z * y, z * x, r + z
""")
MISTAKES.add("ex1-graph", "gate open at the kink b = 0", words="b = 0", code=GRAPH_HEAD + """
    gate = b >= 0
    return r * z, z * gate * y, z * gate * x, r + z * gate
""")
MISTAKES.add("ex1-graph", "forward value without the factor z", words="forward",
             message="f is max(b, 0) without the factor z: the forward value is f = r z",
             code=GRAPH_HEAD + """
    return r, z * gate * y, z * gate * x, r + z * gate
""")
MISTAKES.add("ex1-graph", "Python max: fails on arrays", words="np.maximum", code="""
def graph_forward_backward(x, y, z):
    b = x * y + z
    r = max(b, 0.0)
    gate = 1.0 if b > 0 else 0.0
    return r * z, z * gate * y, z * gate * x, r + z * gate
""")


def reference_graph(x, y, z):
    b = x * y + z
    r = F.relu(b)
    gate = F.relu_backward(np.ones_like(b), b)
    return r * z, z * gate * y, z * gate * x, r + z * gate


def graph_cases():
    """What each case tests, x, y, z, the expected (f, df_dx, df_dy, df_dz) and, for each of
    the four outputs, the typical mistakes' outputs (seeds 11-13 and the kink)."""
    cases = []
    for seed, shape in [(11, (5,)), (12, (2, 3)), (13, (1,))]:
        x, y, z = draw(seed, shape, shape, shape, scale=2.0)
        cases.append((f"shape {shape}", x, y, z))
    cases.append(("the kink b = 0", np.array([1.0, 0.5, -3.0]), np.array([2.0, -4.0, 1.0]),
                  np.array([-2.0, 2.0, 3.0])))
    out = []
    for what, x, y, z in cases:
        want = reference_graph(x, y, z)
        mistakes = [MISTAKES.outputs("ex1-graph", "graph_forward_backward", x, y, z,
                                     want=want[i], pick=lambda r, i=i: r[i]) for i in range(4)]
        out.append((what, x, y, z, list(want), mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex1-graph-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 1
result = graph_forward_backward(2.0, -1.0, 3.0)   # a = -2, b = 1, r = 1, f = 3
assert isinstance(result, tuple) and len(result) == 4, (
    "graph_forward_backward should return a tuple (f, df_dx, df_dy, df_dz)")
f, dx, dy, dz = (float(v) for v in result)
assert not np.isclose(f, 1.0), (
    "at x = 2, y = -1, z = 3 the forward value is f = r z = 1 * 3 = 3, got 1 = max(b, 0): "
    "multiply by z")
assert np.isclose(f, 3.0), f"at x = 2, y = -1, z = 3: f = max(-2 + 3, 0) * 3 = 3, got {f}"
assert not (np.isclose(dx, 6.0) and np.isclose(dy, -3.0)), (
    "df_dx and df_dy are swapped: a = x y is a multiplication, which swaps: da/dx = y and "
    "da/dy = x")
assert np.isclose(dx, -3.0) and np.isclose(dy, 6.0), (
    f"at x = 2, y = -1, z = 3: df_dx = z * 1 * y = -3 and df_dy = z * 1 * x = 6, got {dx} and "
    f"{dy}")
assert not np.isclose(dz, 3.0), (
    "df_dz = 3 has only the path through b (z * gate); z is used twice, so add both paths: "
    "df_dz = max(b, 0) + z * gate = 1 + 3 = 4")
assert not np.isclose(dz, 1.0), (
    "df_dz = 1 has only the direct path (f = r z gives r); z is used twice, so add both "
    "paths: df_dz = max(b, 0) + z * gate = 1 + 3 = 4")
assert np.isclose(dz, 4.0), f"at x = 2, y = -1, z = 3: df_dz = 1 + 3 = 4, got {dz}"

f, dx, dy, dz = (float(v) for v in graph_forward_backward(1.0, -3.0, 1.0))   # b = -2
assert np.isclose(f, 0.0), f"at x = 1, y = -3, z = 1, b = -2 < 0 so f = 0, got {f}"
assert np.isclose(dx, 0.0) and np.isclose(dy, 0.0) and np.isclose(dz, 0.0), (
    f"at x = 1, y = -3, z = 1, b = -2 < 0: the ReLU gate is closed, so every gradient is 0, "
    f"got {dx}, {dy}, {dz}: multiply the upstream gradient by the gate (b > 0)")
f, dx, dy, dz = (float(v) for v in graph_forward_backward(1.0, 2.0, -2.0))   # b = 0
assert np.isclose(dx, 0.0) and np.isclose(dz, 0.0), (
    f"at the kink b = 0 (x = 1, y = 2, z = -2) the gate is closed (we use the b <= 0 "
    f"convention), so df_dx = df_dz = 0, got {dx} and {dz}: the gate is b > 0, not b >= 0")

rng = np.random.default_rng(0)
xs, ys, zs = rng.normal(size=(3, 6))
try:
    got = graph_forward_backward(xs, ys, zs)
except ValueError as err:
    raise AssertionError(
        f"graph_forward_backward failed on arrays ({err}): Python's max and `if` work on one "
        f"number only; use np.maximum(b, 0) and the comparison b > 0 as an array") from None
for i, name in enumerate(["df_dx", "df_dy", "df_dz"]):
    def f_of(v, i=i):
        args = [xs.copy(), ys.copy(), zs.copy()]
        args[i] = v
        return np.sum(graph_forward_backward(*args)[0])
    numeric = slope(f_of, [xs, ys, zs][i])
    assert close(np.asarray(got[i + 1], dtype=float), numeric), (
        f"on arrays of 6 random values {name} does not match the numerical gradient:\n"
        f"  yours    {np.asarray(got[i + 1])}\n  numeric  {numeric}")
print("✅ graph_forward_backward passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, x, y, z, the expected (f, df_dx, df_dy, df_dz), and for each of the
# four outputs (message, output) of typical mistakes
_cases = literal(graph_cases())
for _what, _x, _y, _z, _want, _mistakes in _cases:
    _what = f"graph_forward_backward on {_what}"
    _got = _hidden_call(graph_forward_backward, (_hidden_make(_x), _hidden_make(_y),
                                                 _hidden_make(_z)), _what,
                        "use np.maximum and array comparisons, not max() or if")
    assert _type(_got) is _tuple and _got.__len__() == 4, (
        f"hidden case {_what}: should return a tuple (f, df_dx, df_dy, df_dz)")
    _i = 0
    for _name in ["f", "df_dx", "df_dy", "df_dz"]:
        _hidden_array(_got[_i], _want[_i], f"{_name} of {_what}", mistakes=_mistakes[_i])
        _i += 1
### END HIDDEN TESTS

# %% [markdown]
# ### See it: the gradient of the graph over a range of $z$
# With your function, here is $f$ and its three partial derivatives as $z$ varies (with
# $x = 2$, $y = -1$). Where the ReLU is off ($b = z - 2 \le 0$) everything is flat; beyond,
# $f = (z - 2) z$ is a parabola whose slope $2z - 2$ is the sum of the two paths.

# %%
z_grid = np.linspace(-1.0, 5.0, 301)
f_g, dx_g, dy_g, dz_g = graph_forward_backward(np.full_like(z_grid, 2.0),
                                               np.full_like(z_grid, -1.0), z_grid)
fig, ax = plt.subplots(figsize=(6.5, 3.6), constrained_layout=True)
for values, label in [(f_g, "$f$"), (dx_g, r"$\partial f/\partial x$"),
                      (dy_g, r"$\partial f/\partial y$"), (dz_g, r"$\partial f/\partial z$")]:
    ax.plot(z_grid, values, label=label)
ax.axvline(2.0, color="gray", linewidth=0.8, linestyle=":")
ax.set(xlabel="$z$  (with $x = 2$, $y = -1$)", title="the ReLU switches on at $b = 0$, i.e. z = 2")
ax.legend()
plt.show()

# %% [markdown]
# ## 2. Backward passes of the activations
#
# In a network the nodes work on whole arrays. An activation $A = f(Z)$ is applied
# elementwise, so element $A_{ij}$ depends on $Z_{ij}$ only, and the chain rule for a scalar
# loss $L$ stays elementwise:
#
# $$
# \frac{\partial L}{\partial Z_{ij}} = \frac{\partial L}{\partial A_{ij}}\, f'(Z_{ij})
# \qquad\text{in NumPy:}\qquad \texttt{grad\_in = grad\_out * f'(x)} .
# $$
#
# Every backward function in this course has that form: it receives the **upstream gradient**
# `grad_out` $= \partial L/\partial(\text{output})$, with the output's shape, and the forward
# pass's **input** `x`, and returns $\partial L/\partial(\text{input})$, with the input's shape.
# The derivatives are the ones from notebook 01:
#
# $$
# \mathrm{ReLU}'(x) = \begin{cases} 1 & x > 0\\ 0 & x \le 0\end{cases}, \qquad
# \sigma'(x) = \sigma(x)\bigl(1 - \sigma(x)\bigr), \qquad \tanh'(x) = 1 - \tanh^2(x).
# $$
#
# Compute $\sigma$ stably: the identity $\sigma(x) = \tfrac12\bigl(1 + \tanh(x/2)\bigr)$ with
# `np.tanh` never overflows (or reuse the two-branch form you wrote in notebook 01).
#
# ### Exercise 2: `relu_backward`, `sigmoid_backward`, `tanh_backward` (2 points)
# Each takes `grad_out` and `x` of the same shape (any shape) and returns a new float array
# of that shape. Do not modify `grad_out` or `x`.

# %% nbgrader={"grade": false, "grade_id": "ex2-activation-backward", "locked": false, "schema_version": 3, "solution": true}
def relu_backward(grad_out, x):
    """dL/dx for relu: grad_out where x > 0, 0 elsewhere (including x == 0)."""
    ### BEGIN SOLUTION
    return grad_out * (np.asarray(x) > 0)
    ### END SOLUTION


def sigmoid_backward(grad_out, x):
    """dL/dx for sigmoid: grad_out * s * (1 - s) with s = sigmoid(x), stable for any x."""
    ### BEGIN SOLUTION
    s = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))
    return grad_out * s * (1.0 - s)
    ### END SOLUTION


def tanh_backward(grad_out, x):
    """dL/dx for tanh: grad_out * (1 - tanh(x)**2)."""
    ### BEGIN SOLUTION
    t = np.tanh(np.asarray(x, dtype=float))
    return grad_out * (1.0 - t * t)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 2 and the hidden cases of its test.
MISTAKES.add("ex2-activation-backward", "relu derivative without grad_out", words="grad_out",
             message="relu_backward returned the derivative 1[x > 0] alone: multiply it by "
                     "grad_out", code="""
def relu_backward(grad_out, x):
    return (np.asarray(x) > 0).astype(float)
""")
MISTAKES.add("ex2-activation-backward", "relu gated on grad_out", words="x > 0",
             message="relu_backward is gated by the sign of grad_out: the gate is x > 0, the "
                     "forward pass's input", code="""
def relu_backward(grad_out, x):
    return grad_out * (grad_out > 0)
""")
MISTAKES.add("ex2-activation-backward", "relu gate open at x = 0", words="x = 0", code="""
def relu_backward(grad_out, x):
    return grad_out * (np.asarray(x) >= 0)
""")
MISTAKES.add("ex2-activation-backward", "relu writes into grad_out", words="in place", code="""
def relu_backward(grad_out, x):
    grad_out[np.asarray(x) <= 0] = 0.0
    return grad_out
""")
MISTAKES.add("ex2-activation-backward", "sigmoid: x (1 - x)", words="sigmoid(x)",
             message="sigmoid_backward looks like grad_out * x (1 - x): the derivative is "
                     "s (1 - s) with s = sigmoid(x)", code="""
def sigmoid_backward(grad_out, x):
    return grad_out * x * (1.0 - x)
""")
MISTAKES.add("ex2-activation-backward", "sigmoid derivative without grad_out",
             words="grad_out",
             message="sigmoid_backward returned s (1 - s) alone: multiply it by grad_out",
             code="""
def sigmoid_backward(grad_out, x):
    s = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))
    return s * (1.0 - s)
""")
MISTAKES.add("ex2-activation-backward", "sigmoid from the overflowing formula",
             words="overflow", code="""
def sigmoid_backward(grad_out, x):
    s = 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))
    return grad_out * s * (1.0 - s)
""")
MISTAKES.add("ex2-activation-backward", "tanh: 1 - tanh, not squared", words="square",
             message="tanh_backward looks like grad_out * (1 - tanh(x)): square it, "
                     "1 - tanh(x)**2", code="""
def tanh_backward(grad_out, x):
    return grad_out * (1.0 - np.tanh(x))
""")

ACTIVATIONS = [("relu_backward", F.relu_backward), ("sigmoid_backward", F.sigmoid_backward),
               ("tanh_backward", F.tanh_backward)]


def activation_backward_cases():
    """What each case tests, grad_out, x, and for each backward function the expected
    result and the typical mistakes' outputs (seeds 21-23 and extreme values)."""
    cases = []
    for seed, shape in [(21, (7,)), (22, (3, 4)), (23, (2, 1, 3))]:
        g, x = draw(seed, shape, shape, scale=2.0)
        x.flat[0] = 0.0   # the kink of ReLU
        cases.append((f"shape {shape}", g, x))
    cases.append(("extreme inputs", np.array([1.0, -2.0, 0.5, 3.0, -1.0]),
                  np.array([-1e4, -1000.0, 0.0, 1000.0, 1e4])))
    out = []
    for what, g, x in cases:
        calls = []
        for name, backward in ACTIVATIONS:
            want = backward(g, x)
            calls.append((want, MISTAKES.outputs("ex2-activation-backward", name, g, x,
                                                 want=want)))
        out.append((what, g, x, calls))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex2-activation-backward-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 2
x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
g = np.array([1.0, -2.0, 3.0, -4.0, 5.0])
x_before, g_before = x.copy(), g.copy()
d = relu_backward(g, x)
assert np.array_equal(x, x_before) and np.array_equal(g, g_before), (
    "relu_backward changed grad_out or x in place: return a new array, grad_out * (x > 0)")
assert isinstance(d, np.ndarray) and d.shape == x.shape, (
    f"relu_backward should return an array of shape {x.shape}, got {type(d).__name__} of "
    f"shape {np.shape(d)}")
assert not np.allclose(d, [0.0, 0.0, 0.0, 1.0, 1.0]), (
    "relu_backward returned the derivative 1[x > 0] alone: multiply it by grad_out (the "
    "chain rule: grad_in = grad_out * f'(x))")
assert not np.allclose(d, g * (g > 0)), (
    "relu_backward is gated by the sign of grad_out: the gate is x > 0, the forward pass's input")
assert not np.allclose(d, [0.0, 0.0, 3.0, -4.0, 5.0]), (
    "relu_backward let the gradient through at x = 0: the kink gets 0 (the x <= 0 convention), "
    "so the gate is x > 0, not x >= 0")
assert np.allclose(d, [0.0, 0.0, 0.0, -4.0, 5.0]), (
    f"relu_backward({g}, {x}) should be [0, 0, 0, -4, 5], got {d}")

s = 1 / (1 + np.exp(-x))
d = sigmoid_backward(g, x)
assert np.array_equal(x, x_before) and np.array_equal(g, g_before), (
    "sigmoid_backward changed grad_out or x in place")
assert np.shape(d) == x.shape, f"sigmoid_backward should return shape {x.shape}, got {np.shape(d)}"
assert not np.allclose(d, g * x * (1 - x)), (
    "sigmoid_backward looks like grad_out * x (1 - x): the derivative is s (1 - s) with "
    "s = sigmoid(x), not x itself")
assert not np.allclose(d, s * (1 - s)), (
    "sigmoid_backward returned s (1 - s) alone: multiply it by grad_out")
assert np.allclose(d, g * s * (1 - s)), (
    f"sigmoid_backward should be grad_out * s (1 - s) = {g * s * (1 - s)}, got {d}")
d, err = warnings_of(sigmoid_backward, np.ones(2), np.array([-1000.0, 1000.0]))
assert err is None, (
    f"sigmoid_backward overflowed on x = ±1000 ({err}): 1 / (1 + exp(-x)) computes e^1000; "
    f"use the stable 0.5 * (1 + np.tanh(x / 2)) or the two-branch sigmoid of notebook 01")
assert np.allclose(d, 0.0), f"sigmoid_backward at x = ±1000 should be 0, got {d}"

t = np.tanh(x)
d = tanh_backward(g, x)
assert np.shape(d) == x.shape, f"tanh_backward should return shape {x.shape}, got {np.shape(d)}"
assert not np.allclose(d, g * (1 - t)), (
    "tanh_backward looks like grad_out * (1 - tanh(x)): square it, 1 - tanh(x)**2")
assert np.allclose(d, g * (1 - t ** 2)), (
    f"tanh_backward should be grad_out * (1 - tanh(x)**2) = {g * (1 - t ** 2)}, got {d}")

rng = np.random.default_rng(0)
X, G_out = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
for fn, forward in [(relu_backward, lambda v: np.maximum(v, 0)),
                    (sigmoid_backward, lambda v: 1 / (1 + np.exp(-v))), (tanh_backward, np.tanh)]:
    numeric = slope(lambda v, forward=forward: np.sum(G_out * forward(v)), X)
    assert close(fn(G_out, X), numeric), (
        f"{fn.__name__} on a (3, 4) batch does not match the numerical gradient of "
        f"sum(grad_out * f(x))")
print("✅ the three activation backward passes pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, grad_out, x, and for relu, sigmoid and tanh backward the expected
# result and (message, output) of typical mistakes
_cases = literal(activation_backward_cases())
for _what, _g, _x, _calls in _cases:
    _i = 0
    for _name, _fn in [("relu_backward", relu_backward), ("sigmoid_backward", sigmoid_backward),
                       ("tanh_backward", tanh_backward)]:
        _want, _mistakes = _calls[_i]
        _grad, _input = _hidden_make(_g), _hidden_make(_x)
        _case = f"{_name} on {_what}"
        _got = _hidden_call(_fn, (_grad, _input), _case,
                            "compute sigmoid stably: 0.5 * (1 + np.tanh(x / 2))")
        _hidden_array(_got, _want, _case, mistakes=_mistakes)
        assert _grad.tolist() == _g and _input.tolist() == _x, (
            f"hidden case {_case}: changed grad_out or x in place")
        _i += 1
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The backward pass of a dense layer
#
# A dense layer computes $Z = XW + \mathbf{b}$ with $X$ of shape $(N, d)$, $W$ of shape
# $(d, m)$, $\mathbf{b}$ of shape $(m,)$ and $Z$ of shape $(N, m)$. The layer above hands us
# $G = \partial L/\partial Z$, of shape $(N, m)$. Write out one element,
# $Z_{nj} = \sum_i X_{ni} W_{ij} + b_j$, and apply the chain rule, summing over every $Z_{nj}$
# that the variable touches:
#
# $$
# \frac{\partial L}{\partial W_{ij}} = \sum_{n} G_{nj} X_{ni}, \qquad
# \frac{\partial L}{\partial b_j} = \sum_{n} G_{nj}, \qquad
# \frac{\partial L}{\partial X_{ni}} = \sum_{j} G_{nj} W_{ij} .
# $$
#
# As matrices:
#
# $$
# dW = X^\top G \;\;(d, m), \qquad d\mathbf{b} = \textstyle\sum_n G_{n\cdot} \;\;(m,),
# \qquad dX = G\, W^\top \;\;(N, d).
# $$
#
# **Reasoning with shapes** gets you there without indices: a gradient always has the shape of
# the variable it belongs to. $dW$ must be $(d, m)$ and is built from $X$ $(N, d)$ and $G$
# $(N, m)$: the only product that fits is $X^\top G$. $dX$ must be $(N, d)$ from $G$ $(N, m)$
# and $W$ $(d, m)$: $G W^\top$. The bias is added to every row, so it fans out to all $N$
# examples, and its gradient is the **sum** over the batch (not the mean: any $1/N$ of a mean
# loss is already inside $G$).
#
# ### Exercise 3: `dense_backward` (2 points)
# Given `grad_out` $= G$ $(N, m)$, the layer's input `X` $(N, d)$ and weights `W` $(d, m)$,
# return the tuple `(dX, dW, db)` with shapes $(N, d)$, $(d, m)$ and $(m,)$. No loops.

# %% nbgrader={"grade": false, "grade_id": "ex3-dense-backward", "locked": false, "schema_version": 3, "solution": true}
def dense_backward(grad_out, X, W):
    """Backward pass of Z = X @ W + b.

    grad_out: dL/dZ (N, m); X: (N, d); W: (d, m). Returns (dX (N, d), dW (d, m), db (m,)).
    """
    ### BEGIN SOLUTION
    return grad_out @ W.T, X.T @ grad_out, grad_out.sum(axis=0)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 3 and the hidden cases of its test.
MISTAKES.add("ex3-dense-backward", "dW transposed", words="X.T @ grad_out",
             message="dW is transposed: it is X.T @ grad_out, of W's shape (d, m)", code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W.T, grad_out.T @ X, grad_out.sum(axis=0)
""")
MISTAKES.add("ex3-dense-backward", "db is the mean", words="sum",
             message="db is the mean of grad_out over the batch: it is the sum (the 1/N of the "
                     "loss is already in grad_out)", code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W.T, X.T @ grad_out, grad_out.mean(axis=0)
""")
MISTAKES.add("ex3-dense-backward", "db summed over the wrong axis", words="axis=0", code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W.T, X.T @ grad_out, grad_out.sum(axis=1)
""")
MISTAKES.add("ex3-dense-backward", "dX without the transpose", words="W.T", code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W, X.T @ grad_out, grad_out.sum(axis=0)
""")
MISTAKES.add("ex3-dense-backward", "dW divided by N", words="divide",
             message="dW was divided by N: grad_out already carries the 1/N of a mean loss, "
                     "do not divide again", code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W.T, X.T @ grad_out / X.shape[0], grad_out.sum(axis=0)
""")
MISTAKES.add("ex3-dense-backward", "returned in the wrong order", words="order", code="""
def dense_backward(grad_out, X, W):
    return X.T @ grad_out, grad_out.sum(axis=0), grad_out @ W.T
""")


def dense_backward_cases():
    """What each case tests, grad_out, X, W, the expected (dX, dW, db) and, for each, the typical
    mistakes' outputs (seeds 31-34)."""
    out = []
    for seed, (n, d, m) in [(31, (4, 3, 2)), (32, (1, 5, 3)), (33, (6, 2, 4)), (34, (3, 3, 3))]:
        G_, X, W = draw(seed, (n, m), (n, d), (d, m))
        want = F.dense_backward(G_, X, W)
        mistakes = [MISTAKES.outputs("ex3-dense-backward", "dense_backward", G_, X, W,
                                     want=want[i], pick=lambda r, i=i: r[i]) for i in range(3)]
        out.append((f"X of shape {(n, d)} and W of shape {(d, m)}", G_, X, W, list(want),
                    mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex3-dense-backward-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 3
X = np.array([[1.0, 2.0, 0.0],
              [0.0, -1.0, 3.0]])            # N = 2 examples, d = 3 inputs
W = np.array([[1.0, 0.0],
              [2.0, -1.0],
              [0.0, 1.0]])                  # d = 3 -> m = 2
G_out = np.array([[1.0, -1.0],
                  [0.5, 2.0]])              # dL/dZ, (N, m)
try:
    result = dense_backward(G_out, X, W)
except ValueError as err:
    raise AssertionError(
        f"dense_backward raised ValueError ({err}) for grad_out (2, 2), X (2, 3), W (3, 2): "
        f"dX = grad_out @ W.T is (2, 2) @ (2, 3) -> (2, 3), the shape of X") from None
assert isinstance(result, tuple) and len(result) == 3, (
    "dense_backward should return a tuple (dX, dW, db)")
dX, dW, db = result
shapes = [np.shape(v) for v in result]
assert shapes != [(3, 2), (2,), (2, 3)], (
    f"dense_backward returned shapes {shapes}: that is (dW, db, dX), the order is (dX, dW, db)")
assert np.shape(dW) != (2, 3), (
    "dW has shape (2, 3), W's transpose: a gradient has its variable's shape (3, 2); the "
    "product that fits is X.T @ grad_out")
assert np.shape(dW) == (3, 2), f"dW should have W's shape (3, 2), got {np.shape(dW)}"
assert np.shape(db) == (2,), (
    f"db should have b's shape (2,), got {np.shape(db)}: sum grad_out over the batch, axis=0")
assert np.shape(dX) == (2, 3), (
    f"dX should have X's shape (2, 3), got {np.shape(dX)}: dX = grad_out @ W.T")
assert not np.allclose(db, [0.75, 0.5]), (
    "db is the mean of grad_out over the batch: it is the sum (the bias fans out to every "
    "example, and the 1/N of a mean loss is already in grad_out)")
assert np.allclose(db, [1.5, 1.0]), (
    f"db should be the column sums of grad_out [1.5, 1] (the sum over the batch, axis=0), got {db}")
assert not np.allclose(dW, X.T @ G_out / 2), (
    "dW was divided by N: grad_out already carries the 1/N of a mean loss, do not divide again")
assert np.allclose(dW, [[1.0, -1.0], [1.5, -4.0], [1.5, 6.0]]), (
    f"dW should be X.T @ grad_out =\n{X.T @ G_out}\ngot\n{dW}")
assert np.allclose(dX, [[1.0, 3.0, -1.0], [0.5, -1.0, 2.0]]), (
    f"dX should be grad_out @ W.T =\n{G_out @ W.T}\ngot\n{dX}")

rng = np.random.default_rng(0)
X, W, b, G_out = (rng.normal(size=s) for s in [(5, 4), (4, 3), (3,), (5, 3)])
dX, dW, db = dense_backward(G_out, X, W)
for name, got, numeric in [
        ("dX", dX, slope(lambda v: np.sum(G_out * (v @ W + b)), X)),
        ("dW", dW, slope(lambda v: np.sum(G_out * (X @ v + b)), W)),
        ("db", db, slope(lambda v: np.sum(G_out * (X @ W + v)), b))]:
    assert close(got, numeric), (
        f"on random X (5, 4) and W (4, 3), {name} does not match the numerical gradient:\n"
        f"  yours\n{got}\n  numeric\n{numeric}")
print("✅ dense_backward passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, grad_out, X, W, the expected (dX, dW, db), and for each of them
# (message, output) of typical mistakes
_cases = literal(dense_backward_cases())
for _what, _g, _X, _W, _want, _mistakes in _cases:
    _what = f"dense_backward with {_what}"
    _got = _hidden_call(dense_backward, (_hidden_make(_g), _hidden_make(_X), _hidden_make(_W)),
                        _what, "dX = grad_out @ W.T, dW = X.T @ grad_out, db = sum over axis 0")
    assert _type(_got) is _tuple and _got.__len__() == 3, (
        f"hidden case {_what}: should return a tuple (dX, dW, db)")
    _i = 0
    for _name in ["dX", "dW", "db"]:
        _hidden_array(_got[_i], _want[_i], f"{_name} of {_what}", mistakes=_mistakes[_i])
        _i += 1
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Softmax and cross-entropy, fused
#
# A classifier ends with logits $Z$ $(N, C)$, probabilities $P = \mathrm{softmax}(Z)$ row by
# row, and the mean cross-entropy with integer labels $y_n$:
# $L = -\frac1N \sum_n \log P_{n y_n}$. We could backpropagate through the two nodes
# separately, but softmax's derivative is a full $C \times C$ Jacobian per example,
#
# $$
# \frac{\partial P_{k}}{\partial Z_{j}} = P_k\,(\delta_{kj} - P_j) ,
# $$
#
# and the loss's derivative $-1/P_{y}$ blows up when a probability is tiny. Together they
# collapse. For one example, only $P_y$ enters the loss $\ell = -\log P_y$, so
#
# $$
# \frac{\partial \ell}{\partial Z_j}
# = -\frac{1}{P_y}\,\frac{\partial P_y}{\partial Z_j}
# = -\frac{1}{P_y}\,P_y\,(\delta_{yj} - P_j)
# = P_j - \delta_{yj} .
# $$
#
# The probabilities minus the one-hot label: "prediction minus target", as for the sigmoid
# neuron in notebook 01. With the mean over the batch,
#
# $$
# \frac{\partial L}{\partial Z} = \frac{P - Y}{N}, \qquad Y_{nj} = \delta_{y_n j}
# \text{ (one-hot)} .
# $$
#
# No Jacobian, no division by a probability, nothing that can overflow once $P$ is computed
# stably. That is why every framework offers softmax and cross-entropy as one node
# ("from logits"), and why its gradient is $(p - y)/N$: the $1/N$ comes from the mean, and
# each row's gradient sums to 0 (probability taken from the wrong classes is given to the
# right one).
#
# ### Exercise 4: `softmax_cross_entropy` (2 points)
# For `logits` $(N, C)$ and integer `labels` $(N,)$, return `(loss, dlogits)`: the mean loss
# as a Python float, computed stably (subtract each row's max; $\log P_{ny_n} = Z_{ny_n} - m_n -
# \log\sum_j e^{Z_{nj} - m_n}$), and $\partial L/\partial Z = (P - Y)/N$ of shape $(N, C)$. Do
# not modify `logits`. Hint: `P[np.arange(N), labels] -= 1` subtracts the one-hot matrix from a
# copy `P` without building it.

# %% nbgrader={"grade": false, "grade_id": "ex4-softmax-ce", "locked": false, "schema_version": 3, "solution": true}
def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) and its gradient with respect to the logits.

    logits: (N, C); labels: (N,) integers in 0..C-1. Returns (loss: float, dlogits: (N, C)).
    """
    ### BEGIN SOLUTION
    logits = np.asarray(logits, dtype=float)
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1))
    loss = float(np.mean(log_sum - shifted[rows, labels]))
    dlogits = np.exp(shifted - log_sum[:, None])
    dlogits[rows, labels] -= 1.0
    return loss, dlogits / n
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 4 and the hidden cases of its test.
CE_HEAD = """
def softmax_cross_entropy(logits, labels):
    logits = np.asarray(logits, dtype=float)
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1))
    loss = float(np.mean(log_sum - shifted[rows, labels]))
    P = np.exp(shifted - log_sum[:, None])
"""
MISTAKES.add("ex4-softmax-ce", "gradient not divided by N", words="divide by N",
             message="dlogits is N times too large: divide by N (the loss is a mean)",
             code=CE_HEAD + """
    P[rows, labels] -= 1.0
    return loss, P
""")
MISTAKES.add("ex4-softmax-ce", "one-hot not subtracted", words="one-hot",
             message="dlogits is P / N: subtract the one-hot labels, (P - Y) / N",
             code=CE_HEAD + """
    return loss, P / n
""")
MISTAKES.add("ex4-softmax-ce", "gradient with the wrong sign", words="sign",
             message="dlogits has the wrong sign: it is (P - Y) / N, not (Y - P) / N",
             code=CE_HEAD + """
    P[rows, labels] -= 1.0
    return loss, -P / n
""")
MISTAKES.add("ex4-softmax-ce", "one-hot subtracted from whole columns", words="np.arange",
             message="1 was subtracted from whole columns: subtract it at one entry per row, "
                     "P[np.arange(N), labels]", code=CE_HEAD + """
    P[:, labels] -= 1.0
    return loss, P / n
""")
MISTAKES.add("ex4-softmax-ce", "loss summed over the batch", words="mean",
             message="the loss is the sum over the batch: take the mean", code=CE_HEAD + """
    P[rows, labels] -= 1.0
    return loss * n, P / n
""")
MISTAKES.add("ex4-softmax-ce", "no max subtracted", words="max", code="""
def softmax_cross_entropy(logits, labels):
    logits = np.asarray(logits, dtype=float)
    n = logits.shape[0]
    e = np.exp(logits)
    P = e / e.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(P[np.arange(n), labels])))
    P[np.arange(n), labels] -= 1.0
    return loss, P / n
""")
MISTAKES.add("ex4-softmax-ce", "shifts the caller's logits in place", words="in place",
             code="""
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    rows = np.arange(n)
    logits -= logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(logits).sum(axis=1))
    loss = float(np.mean(log_sum - logits[rows, labels]))
    P = np.exp(logits - log_sum[:, None])
    P[rows, labels] -= 1.0
    return loss, P / n
""")


def softmax_ce_cases():
    """What each case tests, logits, labels, the expected loss and dlogits, and the typical
    mistakes' outputs for each (seeds 41-43 and logits of +-1e4)."""
    cases = []
    for seed, (n, c) in [(41, (4, 3)), (42, (1, 5)), (43, (6, 2))]:
        rng = np.random.default_rng(seed)
        cases.append((f"logits of shape {(n, c)}", short(rng.normal(scale=3.0, size=(n, c))),
                      rng.integers(0, c, size=n)))
    rng = np.random.default_rng(44)
    cases.append(("logits of +-1e4", rng.choice([-1e4, 0.0, 1e4], size=(5, 3)),
                  rng.integers(0, 3, size=5)))
    out = []
    for what, z, y in cases:
        loss, grad = F.cross_entropy(z, y), F.cross_entropy_backward(z, y)
        mistakes = [MISTAKES.outputs("ex4-softmax-ce", "softmax_cross_entropy", z, y, want=w,
                                     pick=lambda r, i=i: r[i])
                    for i, w in enumerate((loss, grad))]
        out.append((what, z, y, loss, grad, mistakes[0], mistakes[1]))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex4-softmax-ce-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 4
Z = np.zeros((2, 3))
labels = np.array([0, 2])
result = softmax_cross_entropy(Z, labels)
assert isinstance(result, tuple) and len(result) == 2, (
    "softmax_cross_entropy should return a tuple (loss, dlogits)")
loss, dZ = result
assert np.ndim(loss) == 0, f"the loss should be a single number, got shape {np.shape(loss)}"
assert not np.isclose(loss, 2 * np.log(3)), (
    "two examples with equal logits cost 2 log 3: the loss is the sum over the batch, take the "
    "mean")
assert np.isclose(loss, np.log(3)), f"equal logits over 3 classes should cost log 3, got {loss}"
assert isinstance(dZ, np.ndarray) and dZ.shape == (2, 3), (
    f"dlogits should be an array of the logits' shape (2, 3), got {type(dZ).__name__} of shape "
    f"{np.shape(dZ)}")
Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
P = np.full((2, 3), 1 / 3)
for wrong, diagnosis in [
        (P - Y, "N times too large: divide by N (the loss is a mean)"),
        (P / 2, "P / N: subtract the one-hot labels, (P - Y) / N"),
        ((Y - P) / 2, "of the wrong sign: it is (P - Y) / N, not (Y - P) / N"),
        ((P - np.array([[1.0, 0.0, 1.0]])) / 2,
         "wrong: 1 was subtracted from whole columns (P[:, labels]); subtract it at one entry "
         "per row, P[np.arange(N), labels]")]:
    assert not np.allclose(dZ, wrong), f"at equal logits, dlogits is {diagnosis}"
assert np.allclose(dZ, (P - Y) / 2), (
    f"at equal logits with labels [0, 2], dlogits should be (P - Y) / N =\n{(P - Y) / 2}\n"
    f"got\n{dZ}")
assert np.allclose(dZ.sum(axis=1), 0.0), "each row of dlogits should sum to 0"

rng = np.random.default_rng(0)
Z, labels = rng.normal(size=(4, 5)), np.array([1, 0, 4, 1])
Z_before = Z.copy()
loss, dZ = softmax_cross_entropy(Z, labels)
assert np.array_equal(Z, Z_before), (
    "softmax_cross_entropy changed the caller's logits in place (logits -= max): work on a "
    "new array, shifted = logits - logits.max(axis=1, keepdims=True)")
def ce(v):
    return -np.mean(np.log(np.exp(v[np.arange(4), labels]) / np.exp(v).sum(axis=1)))


assert np.isclose(loss, ce(Z)), f"on random logits the loss should be {ce(Z):.6f}, got {loss}"
numeric = slope(ce, Z)
assert close(dZ, numeric), (
    f"on random logits dlogits does not match the numerical gradient:\n  yours\n{dZ}\n"
    f"  numeric\n{numeric}")
big, err = warnings_of(softmax_cross_entropy, np.array([[1000.0, 0.0], [0.0, 1000.0]]),
                       np.array([0, 0]))
assert err is None, (
    f"softmax_cross_entropy overflowed on logits of 1000 ({err}): subtract each row's max "
    f"before exp, and compute log P with log-sum-exp")
assert np.isclose(big[0], 500.0), (
    f"logits [[1000, 0], [0, 1000]] with labels [0, 0] should cost 500, got {big[0]}")
assert np.allclose(big[1], [[0.0, 0.0], [-0.5, 0.5]]), (
    f"dlogits for [[1000, 0], [0, 1000]] with labels [0, 0] should be [[0, 0], [-0.5, 0.5]], "
    f"got {big[1]}")
print("✅ softmax_cross_entropy passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, logits, labels, the expected loss and dlogits, and (message,
# output) of typical mistakes for each
_cases = literal(softmax_ce_cases())
for _what, _z, _y, _loss, _grad, _mistakes_loss, _mistakes_grad in _cases:
    _what = f"softmax_cross_entropy on {_what}"
    _logits = _hidden_make(_z)
    _got = _hidden_call(softmax_cross_entropy, (_logits, _hidden_make(_y, "i8")), _what,
                        "subtract each row's max before exp")
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: should return a tuple (loss, dlogits)")
    _hidden_float(_got[0], _loss, f"the loss of {_what}", mistakes=_mistakes_loss)
    _hidden_array(_got[1], _grad, f"dlogits of {_what}", mistakes=_mistakes_grad)
    assert _logits.tolist() == _z, f"hidden case {_what}: changed the logits in place"
### END HIDDEN TESTS

# %% [markdown]
# ### See it: the gradient pulls the right logit up and the others down
# One example with 4 classes, true class 2. As its logit $z_2$ grows from $-4$ to $6$ (the
# others fixed), your loss falls and the gradient of every logit shrinks towards 0: a
# confidently right prediction stops learning, a wrong one gets a gradient of almost $-1/N$
# on its true class.

# %%
z2 = np.linspace(-4.0, 6.0, 201)
curves = np.array([softmax_cross_entropy(np.array([[0.5, -1.0, v, 1.0]]), np.array([2]))[1][0]
                   for v in z2])
losses_z2 = [softmax_cross_entropy(np.array([[0.5, -1.0, v, 1.0]]), np.array([2]))[0]
             for v in z2]
fig, (ax_l, ax_g) = plt.subplots(1, 2, figsize=(8.4, 3.4), constrained_layout=True)
ax_l.plot(z2, losses_z2)
ax_l.set(xlabel="$z_2$ (the true class)", ylabel="loss", title="cross-entropy")
for k in range(4):
    true = " (true class)" if k == 2 else ""
    ax_g.plot(z2, curves[:, k], label=f"$\\partial L/\\partial z_{k}${true}")
ax_g.axhline(0, color="gray", linewidth=0.6)
ax_g.set(xlabel="$z_2$", title="$(p - y)$ for each logit")
ax_g.legend(fontsize="small")
plt.show()

# %% [markdown]
# ## 5. Numerical gradient checking
#
# A backward pass can be wrong in ways that still train a little: a missing factor, a
# transposed matrix that happens to be square. The cure is to compare it with the definition
# of the derivative, computed numerically. For a scalar function $f$ of an array $x$, nudge one
# element $x_i$ by $\pm h$:
#
# $$
# \frac{\partial f}{\partial x_i} \approx \frac{f(x + h\,e_i) - f(x - h\,e_i)}{2h} .
# $$
#
# This **centred** difference is much better than the one-sided $(f(x + h e_i) - f(x))/h$.
# By Taylor, $f(x \pm h) = f \pm h f' + \tfrac{h^2}{2} f'' \pm \tfrac{h^3}{6} f''' + \dots$:
# in the centred difference the $f''$ terms cancel and the error is $O(h^2)$; the one-sided
# one keeps $\tfrac{h}{2} f''$, an error $O(h)$.
#
# How small should $h$ be? Computers round: each value of $f$ carries an error of about
# $\varepsilon |f|$, with the **machine epsilon** $\varepsilon \approx 2.2 \times 10^{-16}$ in
# float64, and dividing the difference by $2h$ magnifies it to $\approx \varepsilon |f| / h$.
# Truncation ($h^2$) and round-off ($\varepsilon / h$) balance at $h \approx
# \varepsilon^{1/3} \approx 10^{-5}$, where both are around $10^{-10}$.
#
# To compare an analytic gradient $a$ with a numerical one $n$, use the **relative error**,
# which does not depend on the scale of the values:
#
# $$
# \mathrm{rel\_error}(a, n) = \max_i \frac{|a_i - n_i|}{\max\bigl(10^{-8},\ |a_i| + |n_i|\bigr)} .
# $$
#
# (The floor $10^{-8}$ makes two zeros agree exactly, and keeps two entries that are both
# tiny from dominating.) In **float64**, what the values mean:
#
# | relative error | verdict |
# |---|---|
# | below $10^{-7}$ (typically $10^{-8}$ to $10^{-11}$) | the gradient is right |
# | $10^{-7}$ to $10^{-4}$ | suspicious, unless an input sits near a kink (ReLU at 0) |
# | above $10^{-2}$ | the backward pass is wrong |
#
# **Why float32 cannot get there.** In float32, $\varepsilon \approx 1.2 \times 10^{-7}$.
# Round-off $\varepsilon |f| / h$ and truncation $h^2$ balance at
# $h \approx \varepsilon^{1/3} \approx 5 \times 10^{-3}$, where both are around $10^{-5}$:
# the best relative error a float32 check can reach is about $10^{-4}$ to $10^{-3}$, never
# $10^{-7}$. Gradient checks are therefore always run in float64, even for networks that
# train in float32. You will see both curves below.
#
# ### Exercise 5: `numerical_gradient` (2 points)
# `f` takes an array of `x`'s shape and returns a number; `x` is a float64 array of **any
# shape**. Return an array of `x`'s shape whose element $i$ is the centred difference above
# with step `h`. Perturb one element at a time (a loop is fine here: `for i in range(x.size)`
# with `x.flat[i]`, or `np.nditer`), work on a copy (`x = x.copy()`) or restore each element
# after its two evaluations, and leave the caller's `x` unchanged.

# %% nbgrader={"grade": false, "grade_id": "ex5-numerical-gradient", "locked": false, "schema_version": 3, "solution": true}
def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of the scalar function f at x (any shape).

    grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h). x is left unchanged.
    """
    ### BEGIN SOLUTION
    x = np.array(x, dtype=float)          # a copy: the caller's x is never touched
    grad = np.zeros_like(x)
    for i in range(x.size):
        original = x.flat[i]
        x.flat[i] = original + h
        f_plus = f(x)
        x.flat[i] = original - h
        f_minus = f(x)
        x.flat[i] = original
        grad.flat[i] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 5 and the hidden cases of its test.
def gradient_variant(step="h", denominator="(2 * h)", copy="x = np.array(x, dtype=float)"):
    """A numerical_gradient with the step, the division or the copy of x changed (the
    typical mistakes of Exercise 5 differ from the solution in one of these)."""
    return f"""
def numerical_gradient(f, x, h=1e-5):
    {copy}
    grad = np.zeros_like(x)
    for i in range(x.size):
        original = x.flat[i]
        x.flat[i] = original + {step}
        f_plus = f(x)
        x.flat[i] = original - {step}
        f_minus = f(x)
        x.flat[i] = original
        grad.flat[i] = (f_plus - f_minus) / {denominator}
    return grad
"""


MISTAKES.add("ex5-numerical-gradient", "one-sided difference", words="centred",
             message="this is the one-sided difference (f(x + h) - f(x)) / h: use the centred "
                     "one, (f(x + h) - f(x - h)) / 2h", code="""
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    f0 = f(x)
    for i in range(x.size):
        x_plus = x.copy()
        x_plus.flat[i] += h
        grad.flat[i] = (f(x_plus) - f0) / h
    return grad
""")
MISTAKES.add("ex5-numerical-gradient", "divided by h instead of 2h", words="2h",
             message="the result is twice the gradient: divide the centred difference by 2h",
             code=gradient_variant(denominator="h"))
MISTAKES.add("ex5-numerical-gradient", "x not restored", words="unchanged",
             code=gradient_variant(copy="x = np.asarray(x)").replace(
                 "        x.flat[i] = original\n", ""))
MISTAKES.add("ex5-numerical-gradient", "x_plus = x is not a copy", words="copy",
             message="the result is about half the gradient: x_plus = x makes no copy, so the "
                     "two evaluations see the same array; perturb a real copy", code="""
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros(x.shape)
    for i in range(grad.size):
        x_plus, x_minus = x, x
        x_plus.flat[i] += h
        f_plus = f(x_plus)
        x_minus.flat[i] -= h
        grad.flat[i] = (f_plus - f(x_minus)) / (2 * h)
    return grad
""")
MISTAKES.add("ex5-numerical-gradient", "1-D only: x[i] is a row", words="every element",
             code=gradient_variant().replace("range(x.size)", "range(len(x))")
             .replace(".flat[i]", "[i]").replace("original = x[i]", "original = x[i].copy()"))
MISTAKES.add("ex5-numerical-gradient", "ignores the step h", words="step h",
             message="the step h was ignored (the result matches a step of 1e-5): use the h "
                     "argument", code=gradient_variant(step="1e-5", denominator="2e-5"))


def cubic(v, c):
    return (v * v * v * c).sum()


def numerical_gradient_cases():
    """What each case tests, x, the coefficients c of f(v) = sum(c v^3), the step h, the
    expected numerical gradient (which includes the c h^2 of the centred difference: the check
    is exact) and the typical mistakes' outputs (seeds 51-53)."""
    out = []
    for seed, shape, h in [(51, (5,), 1e-3), (52, (2, 3), 1e-2), (53, (3, 1, 2), 1e-3)]:
        x, c = draw(seed, shape, shape)
        f = lambda v, c=c: cubic(v, c)  # noqa: E731
        want = G.numerical_gradient(f, x, eps=h)
        mistakes = MISTAKES.outputs("ex5-numerical-gradient", "numerical_gradient", f, x, h,
                                    want=want, rtol=1e-6, atol=1e-7)
        out.append((f"x of shape {shape}, h = {h:g}", x, c, h, want, mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex5-numerical-gradient-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 5
x = np.array([1.0, -2.0, 0.5])
x_before = x.copy()
cube = lambda v: np.sum(v ** 3)   # noqa: E731  (gradient 3 x^2)
grad = numerical_gradient(cube, x, 1e-3)
assert np.array_equal(x, x_before), (
    "numerical_gradient left x changed: the caller's x must be unchanged; work on a copy "
    "(x = x.copy()) or put each element back after its two evaluations")
assert isinstance(grad, np.ndarray) and grad.shape == x.shape, (
    f"numerical_gradient should return an array of x's shape {x.shape}, got "
    f"{type(grad).__name__} of shape {np.shape(grad)}")
h = 1e-3
exact_centred = 3 * x ** 2 + h ** 2   # what (f(x + h) - f(x - h)) / 2h gives for a cubic
one_sided = 3 * x ** 2 + 3 * x * h + h ** 2
assert not np.allclose(grad, one_sided, rtol=1e-9, atol=1e-12), (
    "numerical_gradient(sum(x**3), [1, -2, 0.5], h=1e-3) is the one-sided difference "
    "(f(x + h) - f(x)) / h, whose error is O(h): use the centred one, (f(x + h) - f(x - h)) / 2h")
assert not np.allclose(grad, 2 * exact_centred, rtol=1e-6), (
    "numerical_gradient gives twice the gradient: divide the centred difference by 2h, not h")
assert not np.allclose(grad, exact_centred / 2, rtol=1e-2), (
    "numerical_gradient gives about half the gradient: f(x + h) and f(x - h) were evaluated on "
    "arrays that are not what you think; x_plus = x makes no copy (both names are one array), "
    "perturb a real copy or one element of x at a time")
assert not np.allclose(grad, 3 * x ** 2 + 1e-10, rtol=1e-9, atol=1e-12), (
    "numerical_gradient ignored the step h: with h = 1e-3 the centred difference of sum(x**3) "
    "is 3x^2 + h^2; use the h argument")
assert np.allclose(grad, exact_centred, rtol=1e-8), (
    f"numerical_gradient(sum(x**3), [1, -2, 0.5], h=1e-3) should be 3x^2 + h^2 = "
    f"{exact_centred}, got {grad}")

X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
weights = np.array([[1.0, -1.0, 2.0], [0.5, 3.0, -2.0]])
grad = numerical_gradient(lambda v: np.sum(weights * v ** 2), X)
assert np.shape(grad) == X.shape and np.allclose(grad, 2 * weights * X, atol=1e-6), (
    f"on a (2, 3) array the gradient of sum(w * x**2) should be 2 w x =\n{2 * weights * X}\n"
    f"got\n{grad}\nperturb every element one at a time (x.flat[i], for i in range(x.size)), "
    f"not whole rows x[i]")
print("✅ numerical_gradient passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, x, the coefficients c of f(v) = sum(c v^3), the step h, the
# expected centred difference, and (message, output) of typical mistakes
_cases = literal(numerical_gradient_cases())
for _what, _x, _c, _h, _want, _mistakes in _cases:
    _coef = _hidden_make(_c)

    def _f(_v, _coef=_coef):
        return (_v * _v * _v * _coef).sum()

    _input = _hidden_make(_x)
    _what = f"numerical_gradient of sum(c x^3) with {_what}"
    _got = _hidden_call(numerical_gradient, (_f, _input, _h), _what,
                        "perturb x.flat[i] for i in range(x.size)")
    _hidden_array(_got, _want, _what, rtol=1e-6, atol=1e-7, mistakes=_mistakes)
    assert _input.tolist() == _x, f"hidden case {_what}: x was left changed"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 6: `rel_error` (1 point)
# Return, as a Python float, the largest elementwise relative error
# $\max_i |a_i - b_i| / \max(10^{-8}, |a_i| + |b_i|)$ of two arrays of the same shape (use
# `np.maximum` for the elementwise floor, then `np.max`).

# %% nbgrader={"grade": false, "grade_id": "ex6-rel-error", "locked": false, "schema_version": 3, "solution": true}
def rel_error(a, b):
    """max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|), as a float."""
    ### BEGIN SOLUTION
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 6 and the hidden cases of its test.
MISTAKES.add("ex6-rel-error", "no floor in the denominator", words="1e-8", code="""
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))
""")
MISTAKES.add("ex6-rel-error", "mean instead of max", words="max",
             message="the result is the mean of the relative errors: take the largest (max)",
             code="""
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
""")
MISTAKES.add("ex6-rel-error", "absolute error", words="relative",
             message="the result is the largest absolute error |a - b|: divide by "
                     "max(1e-8, |a| + |b|) to make it relative", code="""
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)))
""")
MISTAKES.add("ex6-rel-error", "denominator max(|a|, |b|)", words="|a| + |b|",
             message="the denominator is max(|a|, |b|): use |a| + |b| (floored at 1e-8)",
             code="""
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.maximum(np.abs(a), np.abs(b)))))
""")
MISTAKES.add("ex6-rel-error", "no absolute values", words="abs",
             message="the errors were not made positive: use np.abs(a - b) and |a| + |b|",
             code="""
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max((a - b) / np.maximum(1e-8, a + b)))
""")
MISTAKES.add("ex6-rel-error", "elementwise array, not reduced", words="single number", code="""
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
""")


def rel_error_cases():
    """What each case tests, a, b, the expected relative error and the typical mistakes'
    outputs (seeds 61-63 and zeros)."""
    cases = []
    for seed, shape in [(61, (6,)), (62, (3, 2)), (63, (2, 2, 2))]:
        a, noise = draw(seed, shape, shape)
        cases.append((f"shape {shape}", a, short(a + 0.1 * noise)))
    cases.append(("zeros next to values", np.array([0.0, 1e-9, 2.0, -3.0]),
                  np.array([0.0, -1e-9, 2.5, -3.0])))
    cases.append(("opposite signs", np.array([[1.0, -2.0], [0.5, 4.0]]),
                  np.array([[-1.0, -2.0], [0.25, 4.5]])))
    out = []
    for what, a, b in cases:
        want = G.rel_error(a, b)
        out.append((what, a, b, want, MISTAKES.outputs("ex6-rel-error", "rel_error", a, b,
                                                        want=want)))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex6-rel-error-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 6
a, b = np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.5, 3.0])
err = rel_error(a, b)
assert np.ndim(err) == 0, (
    f"rel_error should return a single number, got an array of shape {np.shape(err)}: take "
    f"the max of the elementwise errors")
for wrong, diagnosis in [
        (1.0, "the largest absolute error |a - b|: divide by max(1e-8, |a| + |b|) to make it "
              "relative"),
        ((0.0 + 0.5 / 4.5 + 1 / 7) / 3, "the mean of the relative errors: take the largest (max)"),
        (0.25, "computed with the denominator max(|a|, |b|): use |a| + |b|")]:
    assert not np.isclose(err, wrong), (
        f"rel_error([1, 2, 4], [1, 2.5, 3]) gave {err:.4g}, {diagnosis}")
assert np.isclose(err, 1 / 7), (
    f"rel_error([1, 2, 4], [1, 2.5, 3]) should be max(0, 0.5/4.5, 1/7) = 0.142857, got {err}")
err = rel_error(np.array([1.0, -2.0]), np.array([-1.0, -2.0]))
assert np.isclose(err, 1.0), (
    f"rel_error([1, -2], [-1, -2]) should be |1 - (-1)| / (|1| + |-1|) = 1, got {err}: use "
    f"np.abs on the difference and on each value")
err, problem = warnings_of(rel_error, np.zeros(3), np.zeros(3))
assert problem is None and np.isclose(err, 0.0), (
    f"rel_error of two zero arrays should be 0, got {err} ({problem}): 0 / 0 is nan; floor the "
    f"denominator at 1e-8 with np.maximum(1e-8, |a| + |b|)")
err = rel_error(np.array([0.0, 3e-9]), np.array([1e-9, 3e-9]))
assert np.isclose(err, 0.1), (
    f"rel_error([0, 3e-9], [1e-9, 3e-9]) should be 1e-9 / 1e-8 = 0.1 (the floor), got {err}")
print("✅ rel_error passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, a, b, the expected relative error, and (message, output) of mistakes
_cases = literal(rel_error_cases())
for _what, _a, _b, _want, _mistakes in _cases:
    _what = f"rel_error on {_what}"
    _got = _hidden_call(rel_error, (_hidden_make(_a), _hidden_make(_b)), _what,
                        "floor the denominator: np.maximum(1e-8, |a| + |b|)")
    _hidden_float(_got, _want, _what, mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### Use it: check your backward passes, in float64 and in float32
# Your checker against your own backward passes from sections 3 and 4, on random data. Each
# line compares the analytic gradient with `numerical_gradient` of the loss
# $L = \sum (G \odot Z)$ (for the dense layer: then $\partial L/\partial Z = G$) or of the
# cross-entropy itself.

# %%
rng = np.random.default_rng(7)
X_c, W_c, b_c = rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=3)
G_c = rng.normal(size=(4, 3))
dX_c, dW_c, db_c = dense_backward(G_c, X_c, W_c)
Z_c, labels_c = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
checks = [
    ("dense: dX", dX_c, lambda v: np.sum(G_c * (v @ W_c + b_c)), X_c),
    ("dense: dW", dW_c, lambda v: np.sum(G_c * (X_c @ v + b_c)), W_c),
    ("dense: db", db_c, lambda v: np.sum(G_c * (X_c @ W_c + v)), b_c),
    ("softmax + cross-entropy: dlogits", softmax_cross_entropy(Z_c, labels_c)[1],
     lambda v: softmax_cross_entropy(v, labels_c)[0], Z_c),
]
for name, analytic, f, at in checks:
    print(f"{name:36s} relative error {rel_error(analytic, numerical_gradient(f, at)):.2e}")

# %% [markdown]
# Everything near $10^{-9}$ or below: right. Now the same check of `dlogits` for a range of
# steps $h$, once in float64 and once with the loss computed in **float32**. Your
# `numerical_gradient` gets the step; `f32` rounds everything to float32 first.

# %%
steps_h = np.logspace(-9, -0.5, 34)
analytic = softmax_cross_entropy(Z_c, labels_c)[1]
f64 = lambda v: softmax_cross_entropy(v, labels_c)[0]   # noqa: E731
f32 = lambda v: float(np.float32(  # noqa: E731
    softmax_cross_entropy(v.astype(np.float32), labels_c)[0]))
errors = {name: [rel_error(analytic, numerical_gradient(f, Z_c, h)) for h in steps_h]
          for name, f in [("float64", f64), ("float32", f32)]}
fig, ax = plt.subplots(figsize=(6.8, 3.9), constrained_layout=True)
for name, values in errors.items():
    ax.loglog(steps_h, values, "o-", markersize=3, label=name)
ax.axhline(1e-7, color="gray", linestyle=":", label="1e-7: 'the gradient is right'")
ax.set(xlabel="step h", ylabel="relative error vs your dlogits",
       title="round-off (left) against truncation (right)")
ax.legend()
plt.show()
for name, values in errors.items():
    best = int(np.argmin(values))
    print(f"{name}: best relative error {values[best]:.1e} at h = {steps_h[best]:.0e}")

# %% [markdown]
# Both curves are V-shaped: to the right the truncation error $\propto h^2$ dominates, to the
# left the round-off $\propto \varepsilon / h$. The float64 minimum sits near $h = 10^{-5}$
# around $10^{-10}$; the float32 one sits near $h = 10^{-2}$ and stays far above $10^{-7}$.
# A float32 checker would call a correct gradient "suspicious": always check in float64.
#
# (Your loss function may cast to float64 internally; then the float32 curve shows only the
# rounding of its inputs and output, which is already enough to lose four digits.)

# %% [markdown]
# ## 6. Find the bug
#
# A colleague wrote the loss and gradients of a small **regression** network, tanh hidden
# layer and linear output, trained with the mean squared error:
#
# $$
# Z_1 = X W_1 + \mathbf{b}_1, \quad H = \tanh(Z_1), \quad P = H W_2 + \mathbf{b}_2, \quad
# L = \frac{1}{N K}\sum_{n,k} (P_{nk} - Y_{nk})^2 ,
# $$
#
# with $X$ $(N, d)$, $Y$ $(N, K)$. Their code trains, slowly, but something is off. The cell
# below is theirs (read-only). The cell after it runs **your** `numerical_gradient` and
# `rel_error` on each parameter. Read the table: which gradients are wrong, which are right?
# Since backpropagation runs from the loss down, the first wrong gradient on the way down
# tells you after which line the bug must sit.

# %% nbgrader={"grade": false, "grade_id": "buggy-net", "locked": true, "schema_version": 3, "solution": false}
def buggy_tanh_net_loss_and_grads(params, X, Y):
    """Loss and gradients of X -> dense -> tanh -> dense -> MSE. (It has one bug.)"""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1 + b1
    H = np.tanh(Z1)
    P = H @ W2 + b2
    loss = float(np.mean((P - Y) ** 2))
    dP = 2 * (P - Y) / P.size
    dW2 = H.T @ dP
    db2 = dP.sum(axis=0)
    dH = dP @ W2.T
    dZ1 = dH * (1 - H) ** 2
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


# %%
rng = np.random.default_rng(3)
bug_params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4),
              "W2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2)}
X_bug, Y_bug = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))


def check_net(loss_and_grads):
    """Compare each gradient of loss_and_grads with your numerical_gradient, in the order of
    the backward pass, and print the relative errors."""
    _, grads = loss_and_grads(bug_params, X_bug, Y_bug)
    for name in ["W2", "b2", "W1", "b1"]:
        def loss_of(value, name=name):
            return loss_and_grads({**bug_params, name: value}, X_bug, Y_bug)[0]
        error = rel_error(grads[name], numerical_gradient(loss_of, bug_params[name]))
        print(f"d{name:3s} relative error {error:.1e}  " + ("ok" if error < 1e-7 else "<-- WRONG"))


check_net(buggy_tanh_net_loss_and_grads)

# %% [markdown]
# ### Exercise 7: fix it, `tanh_net_loss_and_grads` (2 points)
# Copy the body of `buggy_tanh_net_loss_and_grads` into the function below and fix the one
# wrong line (derive that line's gradient yourself: what is $\tanh'$?). Return
# `(loss, grads)` with `grads` a dict with the keys `"W1"`, `"b1"`, `"W2"`, `"b2"`. Once it
# passes its test, run `check_net(tanh_net_loss_and_grads)` in a new cell: every line of your
# own checker should now say `ok`.

# %% nbgrader={"grade": false, "grade_id": "ex7-find-the-bug", "locked": false, "schema_version": 3, "solution": true}
def tanh_net_loss_and_grads(params, X, Y):
    """Loss and gradients of X -> dense -> tanh -> dense -> MSE, without the bug.

    params: dict W1 (d, h), b1 (h,), W2 (h, K), b2 (K,); X: (N, d); Y: (N, K).
    Returns (loss: float, grads: dict with the keys of params).
    """
    ### BEGIN SOLUTION
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1 + b1
    H = np.tanh(Z1)
    P = H @ W2 + b2
    loss = float(np.mean((P - Y) ** 2))
    dP = 2 * (P - Y) / P.size
    dW2 = H.T @ dP
    db2 = dP.sum(axis=0)
    dH = dP @ W2.T
    dZ1 = dH * (1 - H ** 2)
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 7 and the hidden cases of its test.
NET_HEAD = """
def tanh_net_loss_and_grads(params, X, Y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1 + b1
    H = np.tanh(Z1)
    P = H @ W2 + b2
    loss = float(np.mean((P - Y) ** 2))
"""
NET_TAIL = """
    dW2 = H.T @ dP
    db2 = dP.sum(axis=0)
    dH = dP @ W2.T
"""
NET_END = """
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
"""
MISTAKES.add("ex7-find-the-bug", "the bug left in", words=("W1", "tanh"),
             message="the gradient for W1 is still the buggy one: (1 - H)**2 is not tanh'(Z1)",
             code=NET_HEAD + "    dP = 2 * (P - Y) / P.size" + NET_TAIL
             + "    dZ1 = dH * (1 - H) ** 2" + NET_END)
MISTAKES.add("ex7-find-the-bug", "fixed as 1 - H", words=("W1", "tanh"),
             message="the gradient for W1 is wrong: tanh'(Z1) = 1 - H**2, not 1 - H",
             code=NET_HEAD + "    dP = 2 * (P - Y) / P.size" + NET_TAIL
             + "    dZ1 = dH * (1 - H)" + NET_END)
MISTAKES.add("ex7-find-the-bug", "fixed with Z1 instead of H", words=("W1", "tanh"),
             message="the gradient for W1 is wrong: tanh'(Z1) = 1 - tanh(Z1)**2 = 1 - H**2, "
                     "not 1 - Z1**2",
             code=NET_HEAD + "    dP = 2 * (P - Y) / P.size" + NET_TAIL
             + "    dZ1 = dH * (1 - Z1 ** 2)" + NET_END)
MISTAKES.add("ex7-find-the-bug", "'fixed' the factor 2 instead", words="W2",
             message="the gradient for W2 is wrong (half of it): the loss's factor 2 was right, "
                     "dP = 2 (P - Y) / P.size",
             code=NET_HEAD + "    dP = (P - Y) / P.size" + NET_TAIL
             + "    dZ1 = dH * (1 - H ** 2)" + NET_END)
MISTAKES.add("ex7-find-the-bug", "db1 as a mean", words="b1",
             message="the gradient for b1 is the mean over the batch: it is the sum",
             code=NET_HEAD + "    dP = 2 * (P - Y) / P.size" + NET_TAIL
             + "    dZ1 = dH * (1 - H ** 2)" + """
    dW1 = X.T @ dZ1
    db1 = dZ1.mean(axis=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
""")
MISTAKES.add("ex7-find-the-bug", "grads returned as a tuple", words="dict",
             code=NET_HEAD + "    dP = 2 * (P - Y) / P.size" + NET_TAIL
             + "    dZ1 = dH * (1 - H ** 2)" + """
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
    return loss, (dW1, db1, dW2, db2)
""")


def reference_tanh_net(params, X, Y):
    Z1 = F.dense(X, params["W1"], params["b1"])
    H = F.tanh(Z1)
    P = F.dense(H, params["W2"], params["b2"])
    loss = F.mse(P, Y)
    dH, dW2, db2 = F.dense_backward(F.mse_backward(P, Y), H, params["W2"])
    _, dW1, db1 = F.dense_backward(F.tanh_backward(dH, Z1), X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


NET_KEYS = ["W2", "b2", "W1", "b1"]   # the order of the backward pass: the first wrong one named


def tanh_net_cases():
    """What each case tests, the params, X, Y, the expected loss and gradients (in NET_KEYS
    order), and for each gradient the typical mistakes' outputs (seeds 71-73)."""
    out = []
    for seed, (n, d, h, k) in [(71, (5, 3, 4, 2)), (72, (1, 2, 3, 1)), (73, (8, 4, 6, 3))]:
        W1, b1, W2, b2, X, Y = draw(seed, (d, h), h, (h, k), k, (n, d), (n, k))
        params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        loss, grads = reference_tanh_net(params, X, Y)
        mistakes = [MISTAKES.outputs("ex7-find-the-bug", "tanh_net_loss_and_grads", params, X, Y,
                                     want=grads[key], pick=lambda r, key=key: r[1][key])
                    for key in NET_KEYS]
        out.append((f"X of shape {(n, d)}, {h} hidden units, Y of shape {(n, k)}",
                    [W1, b1, W2, b2], X, Y, loss, [grads[key] for key in NET_KEYS], mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex7-find-the-bug-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 7
rng = np.random.default_rng(0)
params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4),
          "W2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2)}
X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
saved = {k: v.copy() for k, v in params.items()}
result = tanh_net_loss_and_grads(params, X, Y)
assert isinstance(result, tuple) and len(result) == 2, (
    "tanh_net_loss_and_grads should return a tuple (loss, grads)")
loss, grads = result
assert isinstance(grads, dict) and set(grads) == {"W1", "b1", "W2", "b2"}, (
    f"grads should be a dict with the keys 'W1', 'b1', 'W2', 'b2' (as the buggy function "
    f"returns), got {type(grads).__name__}")
assert all(np.array_equal(params[k], saved[k]) for k in params), (
    "tanh_net_loss_and_grads changed the parameters in place")


def net_loss(p):
    H = np.tanh(X @ p["W1"] + p["b1"])
    return np.mean((H @ p["W2"] + p["b2"] - Y) ** 2)


assert np.isclose(loss, net_loss(params)), (
    f"the loss should be the mean squared error {net_loss(params):.6f}, got {loss}")
for name in ["W2", "b2", "W1", "b1"]:     # the order of the backward pass
    numeric = slope(lambda v, name=name: net_loss({**params, name: v}), params[name])
    got = grads[name]
    assert np.shape(got) == numeric.shape, (
        f"the gradient for {name} should have shape {numeric.shape}, got {np.shape(got)}")
    if close(got, numeric):
        continue
    hints = {
        "W2": "the gradients below it are computed from dP, so start there: the loss is "
              "mean((P - Y)**2), whose derivative 2 (P - Y) / P.size was right",
        "b2": "db2 is dP summed over the batch (axis=0)",
        "W1": "W2 and b2 are right, so the bug sits below dH, where the gradient goes back "
              "through tanh: what is tanh'(Z1), written with H = tanh(Z1)?",
        "b1": "W1 is right, so look at db1 alone: the bias fans out to every example, its "
              "gradient is the sum of dZ1 over the batch, not the mean"}
    ratio = np.sum(got * numeric) / np.sum(numeric * numeric)   # the best scale between them
    raise AssertionError(
        f"the gradient for {name} does not match the numerical gradient "
        f"(yours is about {ratio:.3g} times the numeric one): {hints[name]}")
print("✅ tanh_net_loss_and_grads passes the visible tests: the bug is fixed.")
### BEGIN HIDDEN TESTS
# each case: what it tests, [W1, b1, W2, b2], X, Y, the expected loss and the gradients for W2,
# b2, W1 and b1, and for each gradient (message, output) of typical mistakes
_cases = literal(tanh_net_cases())
for _what, _p, _X, _Y, _loss, _grads, _mistakes in _cases:
    _params = {"W1": _hidden_make(_p[0]), "b1": _hidden_make(_p[1]), "W2": _hidden_make(_p[2]),
               "b2": _hidden_make(_p[3])}
    _what = f"tanh_net_loss_and_grads with {_what}"
    _got = _hidden_call(tanh_net_loss_and_grads, (_params, _hidden_make(_X), _hidden_make(_Y)),
                        _what)
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: should return a tuple (loss, grads)")
    assert _type(_got[1]) is {}.__class__, (
        f"hidden case {_what}: grads should be a dict with the keys W1, b1, W2, b2")
    _hidden_float(_got[0], _loss, f"the loss of {_what}")
    _i = 0
    for _key in ["W2", "b2", "W1", "b1"]:
        assert _got[1].__contains__(_key), f"hidden case {_what}: grads has no key {_key!r}"
        _hidden_array(_got[1][_key], _grads[_i], f"the gradient for {_key} ({_what})",
                      mistakes=_mistakes[_i])
        _i += 1
### END HIDDEN TESTS

# %% [markdown]
# ## 7. A two-layer network, trained with your own backward pass
#
# Time to put the pieces together. The network has one hidden layer of $H$ ReLU units and
# $C$ outputs, trained with softmax + cross-entropy:
#
# $$
# Z_1 = X W_1 + \mathbf{b}_1 \;(N, H), \qquad A_1 = \mathrm{ReLU}(Z_1), \qquad
# S = A_1 W_2 + \mathbf{b}_2 \;(N, C), \qquad L = \mathrm{CE}(S, y).
# $$
#
# The **forward** pass computes and keeps $Z_1$ and $A_1$ (the inputs that the backward
# functions need); the **backward** pass runs the nodes in reverse, each one your function:
#
# | step | code | shape |
# |---|---|---|
# | loss and $\partial L/\partial S$ | `loss, dS = softmax_cross_entropy(S, y)` | $(N, C)$ |
# | second layer | `dA1, dW2, db2 = dense_backward(dS, A1, W2)` | $(N, H)$, $(H, C)$, $(C,)$ |
# | ReLU | `dZ1 = relu_backward(dA1, Z1)` | $(N, H)$ |
# | first layer | `_, dW1, db1 = dense_backward(dZ1, X, W1)` | $(d, H)$, $(H,)$ |
#
# The parameters travel in a dict `params` with the keys `"W1"`, `"b1"`, `"W2"`, `"b2"`; the
# cell below (read-only) makes one with He initialization, $W \sim \mathcal{N}(0, 2/n_\text{in})$,
# seeded.

# %% nbgrader={"grade": false, "grade_id": "init-params", "locked": true, "schema_version": 3, "solution": false}
def init_two_layer(n_in, n_hidden, n_out, seed=0):
    """He-initialized parameters of a two-layer network, from np.random.default_rng(seed)."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(n_in, n_hidden)) * np.sqrt(2.0 / n_in),
            "b1": np.zeros(n_hidden),
            "W2": rng.normal(size=(n_hidden, n_out)) * np.sqrt(2.0 / n_hidden),
            "b2": np.zeros(n_out)}


# %% [markdown]
# ### Exercise 8: `two_layer_forward` and `two_layer_loss_and_grads` (3 points)
# - `two_layer_forward(params, X)` returns the scores $S$ $(N, C)$ (the logits).
# - `two_layer_loss_and_grads(params, X, y)` returns `(loss, grads)`: the mean cross-entropy
#   and a dict of gradients with the keys of `params` and their shapes. Use your
#   `softmax_cross_entropy`, `dense_backward` and `relu_backward` as in the table. Do not
#   modify `params`.

# %% nbgrader={"grade": false, "grade_id": "ex8-two-layer", "locked": false, "schema_version": 3, "solution": true}
def two_layer_forward(params, X):
    """Scores (N, C) of X (N, d) -> dense -> ReLU -> dense."""
    ### BEGIN SOLUTION
    A1 = np.maximum(X @ params["W1"] + params["b1"], 0.0)
    return A1 @ params["W2"] + params["b2"]
    ### END SOLUTION


def two_layer_loss_and_grads(params, X, y):
    """Mean cross-entropy of the two-layer network on (X, y) and its gradients.

    Returns (loss: float, grads: dict W1 (d, H), b1 (H,), W2 (H, C), b2 (C,)).
    """
    ### BEGIN SOLUTION
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0.0)
    S = A1 @ params["W2"] + params["b2"]
    loss, dS = softmax_cross_entropy(S, y)
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    dZ1 = relu_backward(dA1, Z1)
    _, dW1, db1 = dense_backward(dZ1, X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 8 and the hidden cases of its test.
TWO_HEAD = """
def two_layer_loss_and_grads(params, X, y):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0.0)
    S = A1 @ params["W2"] + params["b2"]
    loss, dS = softmax_cross_entropy(S, y)
"""
MISTAKES.add("ex8-two-layer", "forward pass without the ReLU", words="ReLU", code="""
def two_layer_forward(params, X):
    return (X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
""")
MISTAKES.add("ex8-two-layer", "no ReLU gate in the backward pass", words=("W1", "ReLU"),
             message="the gradient for W1 missed the ReLU: dZ1 = relu_backward(dA1, Z1)",
             code=TWO_HEAD + """
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    _, dW1, db1 = dense_backward(dA1, X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
""")
MISTAKES.add("ex8-two-layer", "dW2 from the pre-activation Z1", words="W2",
             message="the gradient for W2 used Z1: the second layer's input is A1 = ReLU(Z1)",
             code=TWO_HEAD + """
    dA1, dW2, db2 = dense_backward(dS, Z1, params["W2"])
    dZ1 = relu_backward(dA1, Z1)
    _, dW1, db1 = dense_backward(dZ1, X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
""")
MISTAKES.add("ex8-two-layer", "divided by N twice", words="twice",
             message="the gradients are N times too small: softmax_cross_entropy already "
                     "divides by N, do not divide twice", code=TWO_HEAD + """
    dS = dS / X.shape[0]
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    dZ1 = relu_backward(dA1, Z1)
    _, dW1, db1 = dense_backward(dZ1, X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
""")
MISTAKES.add("ex8-two-layer", "ReLU gate on the wrong layer's input", words=("W1", "ReLU"),
             message="the gradient for W1 is gated by the wrong array: dZ1 = "
                     "relu_backward(dA1, Z1), with the first layer's Z1", code=TWO_HEAD + """
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    dZ1 = relu_backward(dA1, dA1)
    _, dW1, db1 = dense_backward(dZ1, X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
""")
MISTAKES.add("ex8-two-layer", "grads returned as a list", words="dict", code=TWO_HEAD + """
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    dZ1 = relu_backward(dA1, Z1)
    _, dW1, db1 = dense_backward(dZ1, X, params["W1"])
    return loss, [dW1, db1, dW2, db2]
""")


def reference_two_layer(params, X, y):
    Z1 = F.dense(X, params["W1"], params["b1"])
    A1 = F.relu(Z1)
    S = F.dense(A1, params["W2"], params["b2"])
    loss = F.cross_entropy(S, y)
    dA1, dW2, db2 = F.dense_backward(F.cross_entropy_backward(S, y), A1, params["W2"])
    _, dW1, db1 = F.dense_backward(F.relu_backward(dA1, Z1), X, params["W1"])
    return S, loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def two_layer_cases():
    """What each case tests, [W1, b1, W2, b2], X, y, the expected scores, loss and gradients
    (in NET_KEYS order), the mistakes' scores and, per gradient, the mistakes' outputs (seeds
    81-83)."""
    out = []
    for seed, (n, d, h, c) in [(81, (6, 2, 5, 3)), (82, (1, 3, 4, 2)), (83, (9, 4, 7, 4))]:
        rng = np.random.default_rng(seed)
        W1, b1, W2, b2, X = (short(rng.normal(size=s)) for s in [(d, h), h, (h, c), c, (n, d)])
        y = rng.integers(0, c, size=n)
        params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        S, loss, grads = reference_two_layer(params, X, y)
        scores_mistakes = MISTAKES.outputs("ex8-two-layer", "two_layer_forward", params, X,
                                           want=S)
        mistakes = [MISTAKES.outputs("ex8-two-layer", "two_layer_loss_and_grads", params, X, y,
                                     want=grads[key], pick=lambda r, key=key: r[1][key])
                    for key in NET_KEYS]
        out.append((f"X of shape {(n, d)}, {h} hidden units, {c} classes", [W1, b1, W2, b2], X,
                    y, S, scores_mistakes, loss, [grads[key] for key in NET_KEYS], mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex8-two-layer-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 8
params = {"W1": np.array([[1.0, -1.0]]), "b1": np.array([0.0, 0.5]),
          "W2": np.array([[2.0, 0.0], [0.0, 1.0]]), "b2": np.array([0.1, -0.1])}
S = two_layer_forward(params, np.array([[1.0], [-2.0]]))
# z1 = [[1, -0.5], [-2, 2.5]] -> relu -> [[1, 0], [0, 2.5]] -> scores
assert isinstance(S, np.ndarray) and S.shape == (2, 2), (
    f"two_layer_forward should return scores of shape (N, C) = (2, 2), got "
    f"{type(S).__name__} of shape {np.shape(S)}")
assert not np.allclose(S, [[2.1, -0.6], [-3.9, 2.4]]), (
    "two_layer_forward has no ReLU between the layers: A1 = ReLU(X W1 + b1) (without it the "
    "two layers are one linear map)")
assert np.allclose(S, [[2.1, -0.1], [0.1, 2.4]]), (
    f"two_layer_forward on this small example should be [[2.1, -0.1], [0.1, 2.4]], got\n{S}")

rng = np.random.default_rng(0)
params = init_two_layer(3, 5, 4, seed=1)
params["b1"] = rng.normal(size=5) * 0.5
X, y = rng.normal(size=(7, 3)), rng.integers(0, 4, size=7)
saved = {k: v.copy() for k, v in params.items()}
result = two_layer_loss_and_grads(params, X, y)
assert isinstance(result, tuple) and len(result) == 2, (
    "two_layer_loss_and_grads should return a tuple (loss, grads)")
loss, grads = result
assert isinstance(grads, dict) and set(grads) == {"W1", "b1", "W2", "b2"}, (
    f"grads should be a dict with the keys 'W1', 'b1', 'W2', 'b2', got {type(grads).__name__}")
assert all(np.array_equal(params[k], saved[k]) for k in params), (
    "two_layer_loss_and_grads changed params in place")


def ce_loss(p):
    S = np.maximum(X @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]
    S = S - S.max(axis=1, keepdims=True)
    return -np.mean(S[np.arange(len(y)), y] - np.log(np.exp(S).sum(axis=1)))


assert np.isclose(loss, ce_loss(params)), (
    f"the loss should be the mean cross-entropy of the scores, {ce_loss(params):.6f}, got {loss}")
numeric = {name: slope(lambda v, name=name: ce_loss({**params, name: v}), params[name])
           for name in ["W2", "b2", "W1", "b1"]}
ratios = [np.sum(grads[k] * numeric[k]) / np.sum(numeric[k] ** 2)   # the best scale between them
          for k in numeric if np.shape(grads[k]) == numeric[k].shape]
assert not np.allclose(ratios, 1 / 7, rtol=1e-3), (
    "every gradient is N = 7 times too small: softmax_cross_entropy already divides by N, do "
    "not divide twice")
hints = {
    "W2": "dW2 = A1.T @ dS, where A1 = ReLU(Z1) is the second layer's input (not Z1)",
    "b2": "db2 is dS summed over the batch",
    "W1": "W2 and b2 are right, so look below them: dA1 = dS @ W2.T, then back through the "
          "ReLU, dZ1 = relu_backward(dA1, Z1) with the first layer's Z1, then dense_backward",
    "b1": "W1 is right, so look at db1: the sum of dZ1 over the batch"}
for name in ["W2", "b2", "W1", "b1"]:     # the order of the backward pass
    assert np.shape(grads[name]) == numeric[name].shape, (
        f"the gradient for {name} should have shape {numeric[name].shape}, got "
        f"{np.shape(grads[name])}")
    assert close(grads[name], numeric[name]), (
        f"the gradient for {name} does not match the numerical gradient: {hints[name]}")
print("✅ the two-layer network's forward and backward passes pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, [W1, b1, W2, b2], X, y, the expected scores and (message, output)
# of typical mistakes for them, the expected loss and the gradients for W2, b2, W1, b1, and for
# each gradient (message, output) of typical mistakes
_cases = literal(two_layer_cases())
for _what, _p, _X, _y, _S, _S_mistakes, _loss, _grads, _mistakes in _cases:
    _params = {"W1": _hidden_make(_p[0]), "b1": _hidden_make(_p[1]), "W2": _hidden_make(_p[2]),
               "b2": _hidden_make(_p[3])}
    _got = _hidden_call(two_layer_forward, (_params, _hidden_make(_X)),
                        f"two_layer_forward with {_what}")
    _hidden_array(_got, _S, f"the scores of two_layer_forward with {_what}",
                  mistakes=_S_mistakes)
    _what = f"two_layer_loss_and_grads with {_what}"
    _got = _hidden_call(two_layer_loss_and_grads,
                        (_params, _hidden_make(_X), _hidden_make(_y, "i8")), _what)
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: should return a tuple (loss, grads)")
    _loss_got, _by_name = _got
    assert _type(_by_name) is {}.__class__ and _by_name.keys() == {"W1", "b1", "W2", "b2"}, (
        f"hidden case {_what}: grads should be a dict with exactly the keys W1, b1, W2, b2")
    _hidden_float(_loss_got, _loss, f"the loss of {_what}")
    for _i, _key in [(0, "W2"), (1, "b2"), (2, "W1"), (3, "b1")]:   # in backward order
        _hidden_array(_by_name[_key], _grads[_i], f"the gradient for {_key} ({_what})",
                      mistakes=_mistakes[_i])
    assert _params["W1"].tolist() == _p[0] and _params["W2"].tolist() == _p[2], (
        f"hidden case {_what}: changed params in place")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 9: `train_two_layer` (2 points)
# Full-batch gradient descent: starting from a **copy** of `params` (the caller's dict and
# arrays stay unchanged), repeat `steps` times: compute the loss and gradients on all of
# `(X, y)` with your `two_layer_loss_and_grads`, append the loss to `losses` (so `losses[i]`
# is the loss *before* update $i$), then update every parameter,
# $\theta \leftarrow \theta - \eta\, \partial L/\partial\theta$, making new arrays
# (`p[k] = p[k] - lr * grads[k]`).
#
# When `every > 0`, also keep **snapshots** for the scrubber below: a list of pairs
# `(step, copy of the params)` taken after `0, every, 2 every, ...` updates, up to `steps`
# (so the first snapshot is the initial parameters). Each snapshot must be a copy of its own,
# not the dict that training keeps changing. Return `(params, losses, snapshots)`.

# %% nbgrader={"grade": false, "grade_id": "ex9-train", "locked": false, "schema_version": 3, "solution": true}
def train_two_layer(params, X, y, lr=1.0, steps=1000, every=0):
    """Full-batch gradient descent on the two-layer network.

    Returns (params, losses, snapshots): the trained params (a new dict), losses[i] the loss
    before update i, and the (step, params copy) pairs taken every `every` updates.
    """
    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    losses, snapshots = [], []
    ### BEGIN SOLUTION
    for step in range(steps):
        if every > 0 and step % every == 0:
            snapshots.append((step, {k: v.copy() for k, v in params.items()}))
        loss, grads = two_layer_loss_and_grads(params, X, y)
        losses.append(loss)
        params = {k: params[k] - lr * grads[k] for k in params}
    if every > 0 and steps % every == 0:
        snapshots.append((steps, {k: v.copy() for k, v in params.items()}))
    ### END SOLUTION
    return params, losses, snapshots


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 9 and the hidden cases of its test.
TRAIN_HEAD = """
def train_two_layer(params, X, y, lr=1.0, steps=1000, every=0):
"""
TRAIN_COPY = """    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    losses, snapshots = [], []
"""
TRAIN_LAST = """    if every > 0 and steps % every == 0:
        snapshots.append((steps, {k: v.copy() for k, v in params.items()}))
    return params, losses, snapshots
"""
MISTAKES.add("ex9-train", "update with the wrong sign", words="sign",
             message="the parameters moved along the gradient: the update is "
                     "p - lr * grad", code=TRAIN_HEAD + TRAIN_COPY + """
    for step in range(steps):
        if every > 0 and step % every == 0:
            snapshots.append((step, {k: v.copy() for k, v in params.items()}))
        loss, grads = two_layer_loss_and_grads(params, X, y)
        losses.append(loss)
        params = {k: params[k] + lr * grads[k] for k in params}
""" + TRAIN_LAST)
MISTAKES.add("ex9-train", "learning rate ignored", words="learning rate",
             message="the parameters moved by the whole gradient: multiply it by the learning "
                     "rate lr", code=TRAIN_HEAD + TRAIN_COPY + """
    for step in range(steps):
        if every > 0 and step % every == 0:
            snapshots.append((step, {k: v.copy() for k, v in params.items()}))
        loss, grads = two_layer_loss_and_grads(params, X, y)
        losses.append(loss)
        params = {k: params[k] - grads[k] for k in params}
""" + TRAIN_LAST)
MISTAKES.add("ex9-train", "loss recorded after the update", words="before",
             code=TRAIN_HEAD + TRAIN_COPY + """
    for step in range(steps):
        if every > 0 and step % every == 0:
            snapshots.append((step, {k: v.copy() for k, v in params.items()}))
        loss, grads = two_layer_loss_and_grads(params, X, y)
        params = {k: params[k] - lr * grads[k] for k in params}
        losses.append(two_layer_loss_and_grads(params, X, y)[0])
""" + TRAIN_LAST)
MISTAKES.add("ex9-train", "updates the caller's arrays in place", words="in place",
             code=TRAIN_HEAD + """
    losses, snapshots = [], []
    for step in range(steps):
        if every > 0 and step % every == 0:
            snapshots.append((step, {k: v.copy() for k, v in params.items()}))
        loss, grads = two_layer_loss_and_grads(params, X, y)
        losses.append(loss)
        for k in params:
            params[k] -= lr * grads[k]
""" + TRAIN_LAST)
MISTAKES.add("ex9-train", "snapshots share the arrays being trained", words="copy",
             code=TRAIN_HEAD + TRAIN_COPY + """
    for step in range(steps):
        if every > 0 and step % every == 0:
            snapshots.append((step, params))
        loss, grads = two_layer_loss_and_grads(params, X, y)
        losses.append(loss)
        for k in params:
            params[k] -= lr * grads[k]
    if every > 0 and steps % every == 0:
        snapshots.append((steps, params))
    return params, losses, snapshots
""")
MISTAKES.add("ex9-train", "no snapshot of the initial parameters", words="step 0",
             code=TRAIN_HEAD + TRAIN_COPY + """
    for step in range(steps):
        loss, grads = two_layer_loss_and_grads(params, X, y)
        losses.append(loss)
        params = {k: params[k] - lr * grads[k] for k in params}
        if every > 0 and (step + 1) % every == 0:
            snapshots.append((step + 1, {k: v.copy() for k, v in params.items()}))
    return params, losses, snapshots
""")


def reference_train(params, X, y, lr, steps):
    params, losses = {k: v.copy() for k, v in params.items()}, []
    for _ in range(steps):
        _, loss, grads = reference_two_layer(params, X, y)
        losses.append(loss)
        params = {k: params[k] - lr * grads[k] for k in params}
    return params, losses


def train_cases():
    """What each case tests, [W1, b1, W2, b2], X, y, lr, steps, the expected W1, W2 and
    losses, and the typical mistakes' W1 (seeds 91-92)."""
    out = []
    for seed, (n, d, h, c), lr, steps in [(91, (8, 2, 4, 3), 0.5, 6), (92, (5, 3, 3, 2), 2.0, 3)]:
        rng = np.random.default_rng(seed)
        W1, b1, W2, b2, X = (short(rng.normal(size=s)) for s in [(d, h), h, (h, c), c, (n, d)])
        y = rng.integers(0, c, size=n)
        params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        trained, losses = reference_train(params, X, y, lr, steps)
        mistakes = MISTAKES.outputs("ex9-train", "train_two_layer", params, X, y, lr, steps,
                                    want=trained["W1"], pick=lambda r: r[0]["W1"])
        out.append((f"{steps} steps with lr = {lr} on X of shape {(n, d)}", [W1, b1, W2, b2], X,
                    y, lr, steps, trained["W1"], trained["W2"], losses, mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex9-train-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 9
rng = np.random.default_rng(0)
X, y = rng.normal(size=(10, 2)), rng.integers(0, 3, size=10)
start = init_two_layer(2, 6, 3, seed=0)
saved = {k: v.copy() for k, v in start.items()}
result = train_two_layer(start, X, y, lr=0.5, steps=1)
assert isinstance(result, tuple) and len(result) == 3, (
    "train_two_layer should return a tuple (params, losses, snapshots)")
trained, losses, snapshots = result
assert all(np.array_equal(start[k], saved[k]) for k in start), (
    "train_two_layer changed the caller's params in place (params[k] -= ...): update a copy, "
    "p[k] = p[k] - lr * grads[k] makes new arrays")
loss0, grads0 = two_layer_loss_and_grads(saved, X, y)
assert len(losses) == 1, f"record one loss per step: 1 step should give 1 loss, got {len(losses)}"
assert np.isclose(losses[0], loss0), (
    f"losses[0] should be the loss before the first update, {loss0:.6f}, got {losses[0]}")
assert not np.allclose(trained["W1"], saved["W1"] + 0.5 * grads0["W1"]), (
    "after one step the parameters moved along the gradient: the update has the wrong sign, "
    "p - lr * grad")
assert not np.allclose(trained["W1"], saved["W1"] - grads0["W1"]), (
    "after one step the parameters moved by the whole gradient: multiply it by the learning "
    "rate lr")
assert np.allclose(trained["W1"], saved["W1"] - 0.5 * grads0["W1"]), (
    "after one step W1 should be W1 - lr * dW1")
assert snapshots == [], f"with every = 0 there should be no snapshots, got {len(snapshots)}"

trained, losses, snapshots = train_two_layer(saved, X, y, lr=0.5, steps=6, every=3)
assert len(losses) == 6, f"6 steps should record 6 losses, got {len(losses)}"
loss1 = two_layer_loss_and_grads(
    {k: saved[k] - 0.5 * grads0[k] for k in saved}, X, y)[0]
assert np.isclose(losses[1], loss1), (
    f"losses[1] should be the loss after one update (before the second), {loss1:.6f}, got "
    f"{losses[1]}: record the loss before each update")
steps_kept = [s for s, _ in snapshots]
assert steps_kept[:1] == [0], (
    f"with every = 3 the snapshots should be taken at steps [0, 3, 6], got {steps_kept}: the "
    f"first one (step 0) holds the initial parameters")
assert steps_kept == [0, 3, 6], (
    f"with every = 3 and 6 steps the snapshots should be taken at steps [0, 3, 6], got "
    f"{steps_kept}")
assert np.allclose(snapshots[0][1]["W1"], saved["W1"]) and np.allclose(
    snapshots[2][1]["W1"], trained["W1"]), (
    "the snapshots hold the same arrays that training changes: store a copy of each "
    "parameter, {k: v.copy() for k, v in params.items()}")
assert np.all(np.diff(losses) < 0), f"with lr = 0.5 the loss should go down, got {losses}"
print("✅ train_two_layer passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, [W1, b1, W2, b2], X, y, lr, steps, the expected W1, W2 and losses,
# and (message, output) of typical mistakes for W1
_cases = literal(train_cases())
for _what, _p, _X, _y, _lr, _steps, _W1, _W2, _losses, _mistakes in _cases:
    _params = {"W1": _hidden_make(_p[0]), "b1": _hidden_make(_p[1]), "W2": _hidden_make(_p[2]),
               "b2": _hidden_make(_p[3])}
    _got = _hidden_call(train_two_layer, (_params, _hidden_make(_X), _hidden_make(_y, "i8"),
                                          _lr, _steps), f"training: {_what}")
    assert _type(_got) is _tuple and _got.__len__() == 3, (
        f"hidden case {_what}: train_two_layer should return a tuple (params, losses, "
        f"snapshots)")
    assert _type(_got[0]) is {}.__class__, f"hidden case {_what}: params should be a dict"
    _hidden_array(_got[0]["W1"], _W1, f"W1 after {_what}", rtol=1e-5, atol=1e-8,
                  mistakes=_mistakes)
    _hidden_array(_got[0]["W2"], _W2, f"W2 after {_what}", rtol=1e-5, atol=1e-8)
    _recorded = _got[1]
    assert _type(_recorded) is _list or _type(_recorded) is _tuple, (
        f"hidden case {_what}: losses should be a list, got {_type(_recorded).__name__}")
    assert _recorded.__len__() == _steps, (
        f"hidden case {_what}: record one loss per step: expected {_steps}, got "
        f"{_recorded.__len__()}")
    _i = 0
    for _loss in _recorded:
        _hidden_float(_loss, _losses[_i], f"the loss before step {_i} of {_what}", rtol=1e-5)
        _i += 1
    assert _params["W1"].tolist() == _p[0], f"hidden case {_what}: changed params in place"
### END HIDDEN TESTS

# %% [markdown]
# ### XOR and the spirals
# Two data sets that no single neuron can separate (notebook 01's question 1): **XOR**, four
# blobs at the corners of the unit square, and three interleaved **spirals**. We train on each
# with your `train_two_layer`, keeping snapshots for the scrubber.

# %%
from scratchnn.datasets import spirals, xor

X_xor, y_xor = xor(n_samples=200, noise=0.1, seed=0)
X_spi, y_spi = spirals(n_samples=300, n_classes=3, noise=0.2, seed=0)
X_xor, X_spi = X_xor.astype(np.float64), X_spi.astype(np.float64)

xor_params, xor_losses, xor_snaps = train_two_layer(init_two_layer(2, 8, 2, seed=0), X_xor,
                                                    y_xor, lr=1.0, steps=300, every=10)
spi_params, spi_losses, spi_snaps = train_two_layer(init_two_layer(2, 50, 3, seed=0), X_spi,
                                                    y_spi, lr=1.0, steps=1000, every=25)
print(f"XOR:     loss {xor_losses[0]:.3f} -> {xor_losses[-1]:.4f}")
print(f"spirals: loss {spi_losses[0]:.3f} -> {spi_losses[-1]:.4f}")

# %% [markdown]
# ### Exercise 10: `predict` and `accuracy` (2 points)
# - `predict(params, X)` returns the predicted class of each row, the index of its largest
#   score, as an integer array of shape $(N,)$ (`np.argmax` with the right `axis`).
# - `accuracy(params, X, y)` returns the fraction of rows whose prediction equals the label,
#   as a Python float in $[0, 1]$.
#
# The test then trains on both data sets as above and checks the **training accuracy**: XOR
# must reach 100%, the spirals at least 95%.

# %% nbgrader={"grade": false, "grade_id": "ex10-predict", "locked": false, "schema_version": 3, "solution": true}
def predict(params, X):
    """Predicted classes (N,) of integers: the argmax of each row's scores."""
    ### BEGIN SOLUTION
    return np.argmax(two_layer_forward(params, X), axis=1)
    ### END SOLUTION


def accuracy(params, X, y):
    """Fraction of the rows of X whose predicted class equals y, as a float."""
    ### BEGIN SOLUTION
    return float(np.mean(predict(params, X) == y))
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 10 and the hidden cases of its test.
MISTAKES.add("ex10-predict", "argmax over the wrong axis", words="axis=1", code="""
def predict(params, X):
    return np.argmax(two_layer_forward(params, X), axis=0)
""")
MISTAKES.add("ex10-predict", "argmax of the flattened scores", words="axis=1", code="""
def predict(params, X):
    return np.argmax(two_layer_forward(params, X))
""")
MISTAKES.add("ex10-predict", "max instead of argmax", words="argmax", code="""
def predict(params, X):
    return np.max(two_layer_forward(params, X), axis=1)
""")
MISTAKES.add("ex10-predict", "accuracy as a count", words="fraction", code="""
def accuracy(params, X, y):
    return float(np.sum(predict(params, X) == y))
""")
MISTAKES.add("ex10-predict", "accuracy in percent", words="fraction", code="""
def accuracy(params, X, y):
    return float(100 * np.mean(predict(params, X) == y))
""")
MISTAKES.add("ex10-predict", "accuracy as an error rate", words="equals",
             message="the result is the error rate: accuracy counts the rows whose prediction "
                     "equals the label", code="""
def accuracy(params, X, y):
    return float(np.mean(predict(params, X) != y))
""")


def predict_cases():
    """What each case tests, [W1, b1, W2, b2], X, y, the expected classes and accuracy, and
    the typical mistakes' accuracies (seeds 101-103)."""
    out = []
    for seed, (n, d, h, c) in [(101, (7, 2, 5, 3)), (102, (4, 3, 4, 4)), (103, (9, 2, 6, 2))]:
        rng = np.random.default_rng(seed)
        W1, b1, W2, b2, X = (short(rng.normal(size=s)) for s in [(d, h), h, (h, c), c, (n, d)])
        params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        S = F.dense(F.relu(F.dense(X, W1, b1)), W2, b2)
        classes = S.argmax(axis=1)
        y = np.where(rng.random(n) < 0.6, classes, rng.integers(0, c, size=n))
        acc = float(np.mean(classes == y))
        mistakes = MISTAKES.outputs("ex10-predict", "accuracy", params, X, y, want=acc)
        out.append((f"X of shape {(n, d)}, {c} classes", [W1, b1, W2, b2], X, y,
                    classes, acc, mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex10-predict-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 10
params = {"W1": np.eye(2), "b1": np.zeros(2), "W2": np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]]),
          "b2": np.zeros(3)}
X = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0], [0.5, 0.0]])
# scores: [[2, 0, 1], [0, 3, 1.5], [1, 1, 1] (a tie: argmax takes the first), [0.5, 0, 0.25]]
pred = predict(params, X)
assert isinstance(pred, np.ndarray) and pred.shape == (4,), (
    f"predict should return one class per row, an array of shape (4,), got "
    f"{type(pred).__name__} of shape {np.shape(pred)}: take the argmax of each row, axis=1")
assert pred.dtype.kind in "iu", (
    f"predict should return integer classes, got dtype {pred.dtype}: the class is the index of "
    f"the largest score (np.argmax), not the score itself (np.max)")
assert np.array_equal(pred, [0, 1, 0, 0]), (
    f"predict should give the classes [0, 1, 0, 0] (the argmax of each row, axis=1), got {pred}")
y = np.array([0, 1, 2, 0])
acc = accuracy(params, X, y)
assert np.ndim(acc) == 0, f"accuracy should be a single number, got shape {np.shape(acc)}"
assert not np.isclose(acc, 3.0) and not np.isclose(acc, 75.0), (
    f"accuracy gave {acc}: return the fraction of correct rows, a number in [0, 1] (3 of 4 "
    f"right is 0.75), not a count or a percentage")
assert not np.isclose(acc, 0.25), (
    "accuracy gave 0.25, the error rate: count the rows whose prediction equals the label")
assert np.isclose(acc, 0.75), f"3 of 4 predictions are right: accuracy should be 0.75, got {acc}"

xor_trained = train_two_layer(init_two_layer(2, 8, 2, seed=0), X_xor, y_xor, lr=1.0,
                              steps=300)[0]
xor_acc = accuracy(xor_trained, X_xor, y_xor)
assert xor_acc == 1.0, (
    f"the network trained on XOR (8 hidden units, lr = 1, 300 steps) should classify every "
    f"training point, got accuracy {xor_acc:.1%}: training uses your functions of Exercises 3, "
    f"4, 8 and 9, so make their test cells pass first")
spi_trained = train_two_layer(init_two_layer(2, 50, 3, seed=0), X_spi, y_spi, lr=1.0,
                              steps=1000)[0]
spi_acc = accuracy(spi_trained, X_spi, y_spi)
assert spi_acc >= 0.95, (
    f"the network trained on the spirals (50 hidden units, lr = 1, 1000 steps) should reach at "
    f"least 95% training accuracy, got {spi_acc:.1%}: training uses your functions of "
    f"Exercises 3, 4, 8 and 9, so make their test cells pass first")
print(f"✅ predict and accuracy pass the visible tests: XOR {xor_acc:.0%}, spirals {spi_acc:.1%}.")
### BEGIN HIDDEN TESTS
# each case: what it tests, [W1, b1, W2, b2], X, y, the expected classes and accuracy, and
# (message, output) of typical mistakes for the accuracy
_cases = literal(predict_cases())
for _what, _p, _X, _y, _classes, _acc, _mistakes in _cases:
    _params = {"W1": _hidden_make(_p[0]), "b1": _hidden_make(_p[1]), "W2": _hidden_make(_p[2]),
               "b2": _hidden_make(_p[3])}
    _got = _hidden_call(predict, (_params, _hidden_make(_X)), f"predict with {_what}")
    _shape = (_classes.__len__(),)
    assert _type(_got) is _ndarray and _got.shape == _shape, (
        f"hidden case predict with {_what}: should return an array of shape {_shape}")
    assert _got.dtype.kind in "iu", (
        f"hidden case predict with {_what}: should return integers, got dtype {_got.dtype}")
    assert _got.tolist() == _classes, (
        f"hidden case predict with {_what}: wrong classes (the argmax of each row)")
    _got = _hidden_call(accuracy, (_params, _hidden_make(_X), _hidden_make(_y, "i8")),
                        f"accuracy with {_what}")
    _hidden_float(_got, _acc, f"accuracy with {_what}", mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### See it: the decision boundaries
# Every point of the plane coloured by the class your `predict` gives it, with the training
# points on top. A single neuron would draw one straight line; the hidden layer's ReLUs bend
# it into pieces of straight lines, enough to cut out the XOR corners and to follow the
# spirals' arms.

# %%
from matplotlib.colors import ListedColormap


def show_boundary(ax, params, X, y, title):
    """Colour the plane by predict(params, .) and scatter the points (X, y)."""
    lo, hi = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    classes = predict(params, np.column_stack([g0.ravel(), g1.ravel()])).reshape(g0.shape)
    n_classes = int(y.max()) + 1
    colours = ListedColormap(["tab:blue", "tab:orange", "tab:green"][:n_classes])
    ax.contourf(g0, g1, classes, levels=np.arange(n_classes + 1) - 0.5, cmap=colours,
                alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=colours, vmin=-0.5, vmax=n_classes - 0.5, s=12,
               edgecolors="black", linewidths=0.3)
    ax.set(title=f"{title}: accuracy {accuracy(params, X, y):.1%}", aspect="equal")


fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.2), constrained_layout=True)
show_boundary(axes[0], xor_params, X_xor, y_xor, "XOR, 8 hidden units")
show_boundary(axes[1], spi_params, X_spi, y_spi, "spirals, 50 hidden units")
plt.show()

# %% [markdown]
# ### Play: scrub through training
# The slider moves through the snapshots your `train_two_layer` kept on the spirals (one every
# 25 updates); the boundary is drawn by your `two_layer_forward` with that snapshot's
# parameters, the loss curve by your recorded losses. Press ▶ to watch the arms grow out of a
# few straight cuts. Things to look for:
# - How long does the network stay near its initial, almost linear boundary?
# - Where does the loss curve flatten, and what is the boundary still fixing by then?
# - Replace `spi_snaps` with `xor_snaps` (and the data and losses with XOR's): how many
#   updates does XOR need?
#
# (The slider needs a live kernel: if you see no plot, run the cell.)

# %%
from scratchnn.interactive import backprop_scrubber

backprop_scrubber(two_layer_forward, spi_snaps, X_spi, y_spi, spi_losses)

# %% [markdown]
# ## Summary
# You built backpropagation from its parts:
# - the **chain rule on a graph**: upstream gradient times local gradient, node by node from
#   the output back; additions distribute, multiplications swap, a ReLU gates, and gradients
#   **add** where a variable is used twice;
# - **backward passes** of the activations (`grad_out * f'(x)`), of a dense layer
#   ($dX = G W^\top$, $dW = X^\top G$, $d\mathbf{b} = \sum_n G_n$: each gradient has its
#   variable's shape), and of the fused **softmax + cross-entropy**, $(P - Y)/N$;
# - a **gradient checker**: centred differences with $h \approx 10^{-5}$ and the relative
#   error, below $10^{-7}$ in float64 when the gradient is right; float32 cannot get below
#   about $10^{-4}$, so checks run in float64;
# - a **debugging method**: check each parameter in the order of the backward pass; the first
#   wrong one points at the line;
# - a **two-layer network**, trained with your own forward and backward passes to 100% on XOR
#   and 95%+ on three spirals.
#
# These are the functions of `scratchnn.functional` (`relu_backward`, `dense_backward`,
# `cross_entropy_backward`, ...) and `scratchnn.gradcheck`. Notebook 03 keeps the network and
# changes how it steps: momentum, RMSProp and Adam.
#
# ### Questions to think about
# 1. In Exercise 1, $z$ is used twice. Draw a graph where a variable is used three times. Why
#    is "gradients add at a fan-out" the same rule as "an addition distributes"?
# 2. `dense_backward` never needs $\mathbf{b}$. Which backward passes need the forward pass's
#    input, which its output, and which neither? What does that mean for memory in a deep
#    network?
# 3. Why is the gradient check done on a *small* network with a *few* examples? Count the
#    forward passes that `numerical_gradient` needs for a layer of 784 × 100 weights.
# 4. A ReLU network's loss has kinks. What happens to the relative error when an input of a
#    ReLU sits within $h$ of 0? How would you avoid that in a check?
# 5. The buggy network trained, only slowly. Why can a wrong gradient still reduce the loss?
#    (Hint: what is the sign of $(1 - H)^2$ compared with $1 - H^2$?)
# 6. Every row of $(P - Y)/N$ sums to 0. What does that say about the gradient of $\mathbf{b}_2$
#    summed over the classes, and what happens if you add a constant to every logit?
