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
# # Notebook 05 · Batch normalization
#
# **Normalize every layer's inputs over the mini-batch: the forward pass in its two modes, the
# backward pass derived twice, a deep network that trains with and without it, and layer
# normalization, its per-sample cousin.**
#
# A deep network is a stack of functions, each fed by the one before. When the weights of an
# early layer change, every later layer sees inputs with a new mean and a new spread, and the
# learning rate that suited them a step ago may now be far too large or too small. **Batch
# normalization** (Ioffe & Szegedy, 2015) gives every layer inputs of mean 0 and variance 1,
# measured on the mini-batch, then lets the network rescale them with two learned vectors.
# In practice it lets deep networks train with larger learning rates and makes them much less
# sensitive to how the weights were initialized. Here you write it from the formula, derive its
# backward pass on the computational graph and then in one compact line, check both
# numerically, and measure what it does to a six-layer network.
#
# ### Learning objectives
# By the end of this notebook you can:
# 1. implement batch normalization's forward pass in **training** mode (statistics of the
#    batch) and in **evaluation** mode (running statistics kept with a momentum), and explain
#    why two modes exist;
# 2. say which variance is used where, as PyTorch does: the **biased** one to normalize, the
#    **unbiased** one in the running estimate;
# 3. derive the backward pass node by node on the computational graph, simplify it to the
#    compact formula, and check both against numerical gradients below $10^{-8}$;
# 4. put batch norm into a deep MLP, and read what it changes: learning-rate tolerance and the
#    distribution of activations layer by layer;
# 5. implement **layer normalization**, forward and backward, and say when to prefer it.
#
# ### Time estimate
# About **3 hours**: 30 to 40 minutes per section, plus the experiments. You can stop after any
# test cell.
#
# ### Prerequisites
# - Notebook 02 (backpropagation: backward passes, the chain rule on a graph, gradient checks)
#   and notebook 03 (SGD). Section 3 uses **your** code from them: have your solutions of
#   notebook 02's Exercises 2, 3, 4, 5 and 6 and notebook 03's Exercise 1 at hand, you paste
#   them in.
# - NumPy: `mean`, `var`, `sum` with `axis=` and `keepdims=`, broadcasting a `(D,)` vector over
#   an `(N, D)` batch.
#
# ### How this notebook works
# - Each **exercise** cell contains a function with `# YOUR CODE HERE` and
#   `raise NotImplementedError()`. Replace those two lines with your solution.
# - The **test cell** right after it checks your work. Run it: a ✅ means the visible tests
#   pass. When you submit, the grader also runs **hidden tests** on other shapes, seeds and
#   momenta, so write general code rather than code that fits the examples.
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

# %% nbgrader={"grade": false, "grade_id": "test-helpers", "locked": true, "schema_version": 3, "solution": false}
# Helpers of the test cells below (you do not need them in your code).


def verdict(got, want, what, wrongs=(), rtol=1e-6, atol=1e-8):
    """Fail with the diagnosis of the first typical mistake whose result (from wrongs, pairs
    (value, diagnosis)) got equals, else with 'what should be want' unless got is close."""
    got = np.asarray(got, dtype=float)
    for wrong, diagnosis in wrongs:
        wrong = np.asarray(wrong, dtype=float)
        if got.shape == wrong.shape and np.allclose(got, wrong, rtol=rtol, atol=atol):
            raise AssertionError(f"{what}: {diagnosis}")
    want = np.asarray(want, dtype=float)
    assert got.shape == want.shape, (
        f"{what} has the wrong shape: expected {want.shape}, got {got.shape}")
    assert np.allclose(got, want, rtol=rtol, atol=atol), f"{what} should be\n{want}\ngot\n{got}"


def raises_numpy_error(fn, *args, **kwargs):
    """The message of the FloatingPointError that fn(*args) raises when NumPy's warnings are
    errors (as in the grader), or None."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            fn(*args, **kwargs)
        except FloatingPointError as err:
            return str(err)
    return None


# %% tags=["authoring"]
# Authoring only (tag "authoring"): this kind of cell never reaches the master or the release.
# It computes the hidden cases at render time (`make release`) and, run here in JupyterLab,
# lets the hidden tests below run in this kernel: each literal(...) becomes a literal in the
# master. MISTAKES collects the typical wrong solutions of each exercise: tests/test_mistakes.py
# checks that each one fails its test cell with a message that names it. See docs/authoring.md.
import numpy as np

from coursekit.hidden import literal, short
from coursekit.mistakes import Corpus
from coursekit.preamble import (
    _hidden_array,
    _hidden_call,
    _hidden_float,
    _hidden_make,
    _tuple,
    _type,
)
from scratchnn import functional as F

MISTAKES = Corpus(globals())


def bn_inputs(seed, n, d, scale=2.0):
    """x (n, d) around 1 with spread `scale`, gamma around 1, beta around 0, 4 digits."""
    rng = np.random.default_rng(seed)
    return (short(rng.normal(1.0, scale, size=(n, d))), short(rng.normal(1.0, 0.5, size=d)),
            short(rng.normal(0.0, 0.5, size=d)))


# %% [markdown]
# ## 1. The forward pass, in training and in evaluation
#
# Take one layer's pre-activations for a mini-batch, a matrix $X$ of shape $(N, D)$: $N$
# examples, $D$ features (units). Batch normalization treats each feature $j$ on its own, and
# normalizes it **over the batch**:
#
# $$
# \mu_j = \frac1N \sum_{n=1}^N x_{nj} , \qquad
# \sigma_j^2 = \frac1N \sum_{n=1}^N (x_{nj} - \mu_j)^2 , \qquad
# \hat x_{nj} = \frac{x_{nj} - \mu_j}{\sqrt{\sigma_j^2 + \varepsilon}} , \qquad
# y_{nj} = \gamma_j\, \hat x_{nj} + \beta_j .
# $$
#
# - $\hat x$ has mean 0 and variance (almost) 1 in every column; $\varepsilon$ (default
#   $10^{-5}$) keeps the division finite when a feature is constant in the batch
#   ($\sigma^2 = 0$), and it goes **inside** the square root.
# - $\gamma$ and $\beta$, vectors of length $D$, are learned like weights (they start at 1
#   and 0). They give back the freedom the normalization took: with $\gamma = \sigma$ and
#   $\beta = \mu$ the layer could even undo it. What changes is *how* the network
#   parameterizes the scale and shift of each unit: two numbers it controls directly, instead
#   of a side effect of every weight below.
# - $\sigma^2$ here is the **biased** variance, divided by $N$ (NumPy's `np.var` default,
#   `ddof=0`): the variance of exactly these $N$ numbers, which is what makes $\hat x$ have
#   variance 1. This is also what PyTorch uses to normalize.
#
# ### Exercise 1: `batch_norm_train` (2 points)
# For `x` of shape `(N, D)` and `gamma`, `beta` of shape `(D,)`, return the tuple
# `(out, x_hat, mean, var)`: the output $y$ and $\hat x$, both `(N, D)`, and the batch's
# $\mu$ and biased $\sigma^2$, both `(D,)`. Do not modify `x`.

# %% nbgrader={"grade": false, "grade_id": "ex1-bn-train", "locked": false, "schema_version": 3, "solution": true}
def batch_norm_train(x, gamma, beta, eps=1e-5):
    """Batch norm with the batch's statistics: (out, x_hat, mean, var), var the biased one.

    x: (N, D); gamma, beta: (D,). out = gamma * (x - mean) / sqrt(var + eps) + beta.
    """
    ### BEGIN SOLUTION
    mean = x.mean(axis=0)
    centered = x - mean
    var = np.mean(centered * centered, axis=0)
    x_hat = centered / np.sqrt(var + eps)
    return gamma * x_hat + beta, x_hat, mean, var
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 1 and the hidden cases of its test.
MISTAKES.add("ex1-bn-train", "unbiased variance to normalize", words="biased",
             message="var is the unbiased variance (divided by N - 1): normalize with the biased "
                     "one, the mean of (x - mean)**2", code="""
def batch_norm_train(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(axis=0), x.var(axis=0, ddof=1)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta, x_hat, mean, var
""")
MISTAKES.add("ex1-bn-train", "statistics over the features (axis=1)", words="axis=0",
             message="the statistics were taken over each example's features: batch norm "
                     "averages over the batch, axis=0", code="""
def batch_norm_train(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta, x_hat, mean[:, 0], var[:, 0]
""")
MISTAKES.add("ex1-bn-train", "eps outside the square root", words="inside",
             message="eps was added outside the square root: divide by sqrt(var + eps), eps "
                     "inside", code="""
def batch_norm_train(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mean) / (np.sqrt(var) + eps)
    return gamma * x_hat + beta, x_hat, mean, var
""")
MISTAKES.add("ex1-bn-train", "no eps", words="eps", code="""
def batch_norm_train(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mean) / np.sqrt(var)
    return gamma * x_hat + beta, x_hat, mean, var
""")
MISTAKES.add("ex1-bn-train", "divides by the variance, not its square root",
             words="square root",
             message="x_hat was divided by var + eps: divide by its square root, "
                     "sqrt(var + eps)", code="""
def batch_norm_train(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mean) / (var + eps)
    return gamma * x_hat + beta, x_hat, mean, var
""")
MISTAKES.add("ex1-bn-train", "gamma and beta swapped", words="gamma * x_hat + beta",
             message="gamma and beta are swapped: out = gamma * x_hat + beta", code="""
def batch_norm_train(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return beta * x_hat + gamma, x_hat, mean, var
""")
MISTAKES.add("ex1-bn-train", "returns the standard deviation", words="variance",
             message="the fourth result is the standard deviation: return the (biased) "
                     "variance var", code="""
def batch_norm_train(x, gamma, beta, eps=1e-5):
    mean, std = x.mean(axis=0), x.std(axis=0)
    x_hat = (x - mean) / np.sqrt(std**2 + eps)
    return gamma * x_hat + beta, x_hat, mean, std
""")
MISTAKES.add("ex1-bn-train", "centers x in place", words="in place", code="""
def batch_norm_train(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=0)
    x -= mean
    var = np.mean(x * x, axis=0)
    x_hat = x / np.sqrt(var + eps)
    return gamma * x_hat + beta, x_hat, mean, var
""")


def bn_train_cases():
    """what, x, gamma, beta, eps, and for out, x_hat, mean, var: (expected, mistakes)."""
    cases = []
    for seed, n, d, eps, scale in [(501, 5, 3, 1e-5, 2.0), (502, 8, 2, 1e-3, 0.01),
                                   (503, 3, 6, 1e-5, 50.0)]:
        x, gamma, beta = bn_inputs(seed, n, d, scale)
        out, cache, _, _ = F.batch_norm(x, gamma, beta, np.zeros(d), np.ones(d), eps=eps)
        mean, var = x.mean(axis=0), x.var(axis=0)
        parts = []
        for k, want in enumerate([out, cache["x_hat"], mean, var]):
            parts.append((want, MISTAKES.outputs("ex1-bn-train", "batch_norm_train", x, gamma,
                                                 beta, eps, want=want,
                                                 pick=lambda r, k=k: r[k])))
        cases.append((f"x of shape ({n}, {d}), spread {scale}, eps {eps}", x, gamma, beta, eps,
                      parts))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex1-bn-train-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 1
# 4 examples, 3 features; feature 1 is constant (2) in the batch.
x = np.array([[1.0, 2.0, 5.0], [3.0, 2.0, 1.0], [5.0, 2.0, 3.0], [7.0, 2.0, -1.0]])
gamma, beta = np.array([2.0, 1.0, 0.5]), np.array([0.0, 1.0, -1.0])
problem = raises_numpy_error(batch_norm_train, x.copy(), gamma, beta)
assert problem is None, (
    f"batch_norm_train failed on a batch where feature 1 is constant ({problem}): its variance "
    f"is 0, so unless eps is inside the square root it divides 0 by 0; divide by "
    f"sqrt(var + eps)")
result = batch_norm_train(x, gamma, beta)
assert np.array_equal(x[:, 0], [1.0, 3.0, 5.0, 7.0]), (
    "batch_norm_train changed x in place (x -= mean ...): build new arrays, x - mean")
assert isinstance(result, tuple) and len(result) == 4, (
    "batch_norm_train should return a tuple (out, x_hat, mean, var)")
out, x_hat, mean, var = result
verdict(mean, [4.0, 2.0, 2.0], "the batch mean", [
    ([8 / 3, 2.0, 10 / 3, 8 / 3], "the statistics were taken over each example's features: "
                                     "batch norm averages over the batch, axis=0")])
verdict(var, [5.0, 0.0, 5.0], "the batch variance", [
    ([20 / 3, 0.0, 20 / 3], "var is the unbiased variance (divided by N - 1): normalize with "
                            "the biased one, the mean of (x - mean)**2"),
    ([5**0.5, 0.0, 5**0.5], "the fourth result is the standard deviation: return the (biased) "
                            "variance var")])
col = np.array([-3.0, -1.0, 1.0, 3.0])
verdict(x_hat[:, 0], col / np.sqrt(5 + 1e-5), "x_hat of feature 0", [
    (col / 5.00001, "x_hat was divided by var + eps: divide by its square root, sqrt(var + eps)"),
    (col / (5**0.5 + 1e-5), "eps was added outside the square root: divide by sqrt(var + eps), "
                            "eps inside")])
assert np.allclose(x_hat[:, 1], 0.0), (
    f"the constant feature 1 should normalize to 0 (x - mean = 0), got {x_hat[:, 1]}")
verdict(out, gamma * x_hat + beta, "out", [
    (beta * x_hat + gamma, "gamma and beta are swapped: out = gamma * x_hat + beta")])
# A feature whose spread is comparable to eps: where eps goes matters.
tiny = batch_norm_train(np.array([[0.0], [0.002]]), np.ones(1), np.zeros(1))[1]
verdict(tiny[:, 0], [-0.301511, 0.301511], "x_hat of the feature [0, 0.002] (var 1e-6, "
        "eps 1e-5)", [
            ([-0.990099, 0.990099], "eps was added outside the square root: divide by "
                                    "sqrt(var + eps), eps inside"),
            ([-1.0, 1.0], "eps was ignored: divide by sqrt(var + eps)")], rtol=1e-4)
print("✅ batch_norm_train passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, x, gamma, beta, eps, and for out, x_hat, mean and var: the expected
# value and (message, output) of typical mistakes
_cases = literal(bn_train_cases())
for _what, _x, _gamma, _beta, _eps, _parts in _cases:
    _input = _hidden_make(_x)
    _got = _hidden_call(batch_norm_train, (_input, _hidden_make(_gamma), _hidden_make(_beta),
                                           _eps), f"batch_norm_train with {_what}",
                        "eps goes inside the square root, sqrt(var + eps)")
    assert _input.tolist() == _x, f"hidden case {_what}: batch_norm_train modified x in place"
    assert _type(_got) is _tuple and _got.__len__() == 4, (
        f"hidden case {_what}: should return a tuple (out, x_hat, mean, var)")
    for _i, _name in [(2, "mean"), (3, "var"), (1, "x_hat"), (0, "out")]:
        _want, _mistakes = _parts[_i]
        _hidden_array(_got[_i], _want, f"{_name} of batch_norm_train with {_what}",
                      mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### Two modes: why evaluation cannot use the batch
# In training, $\hat x$ depends on the *other* examples of the mini-batch: the same image gets
# a slightly different output in every batch it lands in. That noise is harmless, even a mild
# regularizer, during training. At test time it is not acceptable: a prediction must not depend
# on which other examples happen to be evaluated with it, and a single example ($N = 1$) has
# no variance at all. So batch norm has two modes, switched by `model.train()` and
# `model.eval()` in PyTorch:
#
# - **training**: normalize with the batch's $\mu, \sigma^2$, and update **running**
#   estimates of the statistics of the whole data set, exponential moving averages with a
#   `momentum` $m$ (PyTorch's default $0.1$; beware, Keras' `momentum=0.99` is the weight of
#   the *old* value, $1 - m$):
#
#   $$
#   \hat\mu \leftarrow (1 - m)\,\hat\mu + m\, \mu , \qquad
#   \hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\, \frac{N}{N - 1}\,\sigma^2 ;
#   $$
#
# - **evaluation**: normalize with the running $\hat\mu, \hat\sigma^2$, which are constants,
#   so the layer becomes a fixed affine map of each example, and leave them unchanged.
#
# Note the factor $N / (N - 1)$. The batch variance $\sigma^2$ (divided by $N$) is the right
# number to normalize *this* batch, but as an estimate of the variance of the whole population
# it is too small on average, by exactly that factor (Bessel's correction). The running
# estimate stands for the population, so PyTorch stores the **unbiased** variance there:
# biased to normalize, unbiased to remember. (Keras and TensorFlow store the biased one; with
# batches of 64 the two differ by 1.6 %.) The running estimates start at $\hat\mu = 0$,
# $\hat\sigma^2 = 1$.
#
# ### Exercise 2: `update_running_stats` (1 point)
# Given the running statistics and the batch's `mean` and biased `var` (all `(D,)`), the batch
# size `n` and the `momentum`, return `(new_running_mean, new_running_var)` by the formulas
# above. Do not modify the arrays you receive.

# %% nbgrader={"grade": false, "grade_id": "ex2-running-stats", "locked": false, "schema_version": 3, "solution": true}
def update_running_stats(running_mean, running_var, mean, var, n, momentum=0.1):
    """Exponential moving averages of the batch statistics, PyTorch's convention:
    the running variance averages the unbiased batch variance var * n / (n - 1).
    Returns (new_running_mean, new_running_var).
    """
    ### BEGIN SOLUTION
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    return new_mean, new_var
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 2 and the hidden cases of its test.
MISTAKES.add("ex2-running-stats", "momentum weights swapped", words="1 - momentum",
             message="the batch statistics got the weight 1 - momentum: the update is "
                     "(1 - momentum) * running + momentum * batch", code="""
def update_running_stats(running_mean, running_var, mean, var, n, momentum=0.1):
    return (momentum * running_mean + (1 - momentum) * mean,
            momentum * running_var + (1 - momentum) * var * n / (n - 1))
""")
MISTAKES.add("ex2-running-stats", "biased variance in the running estimate", words="unbiased",
             message="the running variance averages the biased batch variance: store the "
                     "unbiased one, var * n / (n - 1)", code="""
def update_running_stats(running_mean, running_var, mean, var, n, momentum=0.1):
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var)
""")
MISTAKES.add("ex2-running-stats", "Bessel's factor inverted", words="n / (n - 1)",
             message="the variance was multiplied by (n - 1) / n: the unbiased variance is "
                     "var * n / (n - 1)", code="""
def update_running_stats(running_mean, running_var, mean, var, n, momentum=0.1):
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var * (n - 1) / n)
""")
MISTAKES.add("ex2-running-stats", "Bessel's factor on the mean too", words="variance only",
             message="the mean was multiplied by n / (n - 1) too: the correction is for the "
                     "variance only", code="""
def update_running_stats(running_mean, running_var, mean, var, n, momentum=0.1):
    return ((1 - momentum) * running_mean + momentum * mean * n / (n - 1),
            (1 - momentum) * running_var + momentum * var * n / (n - 1))
""")
MISTAKES.add("ex2-running-stats", "Bessel's factor on the whole average",
             words="momentum * var * n",
             message="the whole running variance was multiplied by n / (n - 1): correct the "
                     "batch's variance only, momentum * var * n / (n - 1)", code="""
def update_running_stats(running_mean, running_var, mean, var, n, momentum=0.1):
    return ((1 - momentum) * running_mean + momentum * mean,
            ((1 - momentum) * running_var + momentum * var) * n / (n - 1))
""")
MISTAKES.add("ex2-running-stats", "updates in place", words="in place", code="""
def update_running_stats(running_mean, running_var, mean, var, n, momentum=0.1):
    running_mean *= 1 - momentum
    running_mean += momentum * mean
    running_var *= 1 - momentum
    running_var += momentum * var * n / (n - 1)
    return running_mean, running_var
""")


def running_cases():
    """what, the arguments, expected (mean, var) and the mistakes' outputs of each."""
    cases = []
    for seed, d, n, momentum in [(511, 3, 5, 0.1), (512, 4, 32, 0.3), (513, 2, 2, 0.9)]:
        rng = np.random.default_rng(seed)
        rm, mean = short(rng.normal(size=d)), short(rng.normal(size=d))
        rv, var = short(rng.uniform(0.2, 3.0, size=d)), short(rng.uniform(0.0, 2.0, size=d))
        args = (rm, rv, mean, var, n, momentum)
        x = np.zeros((n, d))   # only its size matters to F.batch_norm's update here
        want = [(1 - momentum) * rm + momentum * mean,
                (1 - momentum) * rv + momentum * var * n / (n - 1)]
        assert np.allclose(F.batch_norm(x, np.ones(d), np.zeros(d), rm, rv, momentum=momentum)[3],
                           (1 - momentum) * rv)
        cases.append((f"{d} features, n = {n}, momentum {momentum}", args, [
            (w, MISTAKES.outputs("ex2-running-stats", "update_running_stats", *args, want=w,
                                 pick=lambda r, k=k: r[k])) for k, w in enumerate(want)]))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex2-running-stats-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 2
rm, rv = np.array([0.0, 1.0]), np.array([1.0, 2.0])
mean, var = np.array([2.0, -1.0]), np.array([3.0, 0.5])
result = update_running_stats(rm, rv, mean, var, 4, 0.1)
assert np.array_equal(rm, [0.0, 1.0]) and np.array_equal(rv, [1.0, 2.0]), (
    "update_running_stats changed the running statistics in place (running_mean *= ...): "
    "return new arrays")
assert isinstance(result, tuple) and len(result) == 2, (
    "update_running_stats should return a tuple (new_running_mean, new_running_var)")
new_mean, new_var = result
verdict(new_mean, [0.2, 0.8], "the new running mean (momentum 0.1)", [
    ([1.8, -0.8], "the batch statistics got the weight 1 - momentum: the update is "
                  "(1 - momentum) * running + momentum * batch"),
    ([0.8 / 3, 2.3 / 3], "the mean was multiplied by n / (n - 1) too: the correction is for "
                         "the variance only")])
verdict(new_var, [1.3, 1.8 + 0.2 / 3], "the new running variance (n = 4, momentum 0.1)", [
    ([1.2, 1.85], "the running variance averages the biased batch variance: store the unbiased "
                  "one, var * n / (n - 1)"),
    ([1.125, 1.8375], "the variance was multiplied by (n - 1) / n: the unbiased variance is "
                      "var * n / (n - 1)"),
    ([1.6, 1.85 * 4 / 3], "the whole running variance was multiplied by n / (n - 1): correct "
                          "the batch's variance only, momentum * var * n / (n - 1)")])
print("✅ update_running_stats passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, (running_mean, running_var, mean, var, n, momentum), and for the
# new mean and the new variance: the expected value and (message, output) of typical mistakes
_cases = literal(running_cases())
for _what, _args, _parts in _cases:
    _arrays = [_hidden_make(_a) for _a in _args[:4]]
    _got = _hidden_call(update_running_stats, (_arrays[0], _arrays[1], _arrays[2], _arrays[3],
                                               _args[4], _args[5]), _what)
    assert _arrays[0].tolist() == _args[0] and _arrays[1].tolist() == _args[1], (
        f"hidden case {_what}: update_running_stats modified the running statistics in place")
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: should return a tuple (new_running_mean, new_running_var)")
    _hidden_array(_got[0], _parts[0][0], f"the new running mean, {_what}",
                  mistakes=_parts[0][1])
    _hidden_array(_got[1], _parts[1][0], f"the new running variance, {_what}",
                  mistakes=_parts[1][1])
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: `batch_norm`, both modes (2 points)
# Put the two together, with the signature of `scratchnn.functional.batch_norm` (the one
# notebook 06 builds on):
#
# `batch_norm(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1,
# eps=1e-5)` returns `(out, cache, new_running_mean, new_running_var)`.
#
# - `training=True`: normalize with the batch statistics (your `batch_norm_train`) and return
#   the updated running statistics (your `update_running_stats`, with `n = N`).
# - `training=False`: $\hat x = (x - \hat\mu) / \sqrt{\hat\sigma^2 + \varepsilon}$ with the
#   running statistics, and return them unchanged.
# - `cache` is yours: anything your backward pass (Exercise 5) will need. A dict is handy;
#   think about what the backward needs in each mode (at least $\hat x$, $\gamma$,
#   $1/\sqrt{\sigma^2 + \varepsilon}$ and which mode ran).

# %% nbgrader={"grade": false, "grade_id": "ex3-batch-norm", "locked": false, "schema_version": 3, "solution": true}
def batch_norm(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1,
               eps=1e-5):
    """Batch normalization of x (N, D) in training or evaluation mode.

    Returns (out, cache, new_running_mean, new_running_var); cache is for batch_norm_backward.
    """
    ### BEGIN SOLUTION
    if training:
        out, x_hat, mean, var = batch_norm_train(x, gamma, beta, eps)
        new_mean, new_var = update_running_stats(running_mean, running_var, mean, var,
                                                 x.shape[0], momentum)
    else:
        var = running_var
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
        new_mean, new_var = running_mean.copy(), running_var.copy()
    cache = {"x_hat": x_hat, "inv_std": 1.0 / np.sqrt(var + eps), "gamma": gamma,
             "training": training}
    return out, cache, new_mean, new_var
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 3 and the hidden cases of its test.
BN_CACHE = """
    cache = {"x_hat": x_hat, "inv_std": 1.0 / np.sqrt(var + eps), "gamma": gamma,
             "training": training}
    return out, cache, new_mean, new_var
"""
BN_HEAD = """
def batch_norm(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1,
               eps=1e-5):
"""
BN_TRAIN = """
    if training:
        out, x_hat, mean, var = batch_norm_train(x, gamma, beta, eps)
        new_mean, new_var = update_running_stats(running_mean, running_var, mean, var,
                                                 x.shape[0], momentum)
"""
MISTAKES.add("ex3-batch-norm", "evaluation with the batch statistics", words="running",
             message="in evaluation the output was normalized with the batch's statistics: "
                     "use the running statistics", code=BN_HEAD + """
    out, x_hat, mean, var = batch_norm_train(x, gamma, beta, eps)
    if training:
        new_mean, new_var = update_running_stats(running_mean, running_var, mean, var,
                                                 x.shape[0], momentum)
    else:
        new_mean, new_var = running_mean, running_var
""" + BN_CACHE)
MISTAKES.add("ex3-batch-norm", "evaluation updates the running statistics", words="unchanged",
             message="in evaluation the running statistics changed: return them unchanged",
             code=BN_HEAD + """
    out, x_hat, mean, var = batch_norm_train(x, gamma, beta, eps)
    new_mean, new_var = update_running_stats(running_mean, running_var, mean, var, x.shape[0],
                                             momentum)
    if not training:
        var = running_var
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
""" + BN_CACHE)
MISTAKES.add("ex3-batch-norm", "training does not update the running statistics",
             words="update",
             message="in training the running statistics were returned unchanged: update them "
                     "with the batch's statistics", code=BN_HEAD + """
    if training:
        out, x_hat, mean, var = batch_norm_train(x, gamma, beta, eps)
    else:
        var = running_var
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
    new_mean, new_var = running_mean.copy(), running_var.copy()
""" + BN_CACHE)
MISTAKES.add("ex3-batch-norm", "momentum not passed on", words="momentum",
             message="the running statistics moved by the default momentum 0.1: pass momentum "
                     "on to update_running_stats", code=BN_HEAD + """
    if training:
        out, x_hat, mean, var = batch_norm_train(x, gamma, beta, eps)
        new_mean, new_var = update_running_stats(running_mean, running_var, mean, var,
                                                 x.shape[0])
    else:
        var = running_var
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
        new_mean, new_var = running_mean.copy(), running_var.copy()
""" + BN_CACHE)
MISTAKES.add("ex3-batch-norm", "evaluation without eps", words="eps",
             message="in evaluation the output was divided by sqrt(running_var), without eps: "
                     "use sqrt(running_var + eps)", code=BN_HEAD + BN_TRAIN + """
    else:
        var = running_var
        x_hat = (x - running_mean) / np.sqrt(running_var)
        out = gamma * x_hat + beta
        new_mean, new_var = running_mean.copy(), running_var.copy()
""" + BN_CACHE)
MISTAKES.add("ex3-batch-norm", "evaluation with the running variance as a standard deviation",
             words="square root",
             message="in evaluation the output was divided by running_var + eps: divide by its "
                     "square root", code=BN_HEAD + BN_TRAIN + """
    else:
        var = running_var
        x_hat = (x - running_mean) / (running_var + eps)
        out = gamma * x_hat + beta
        new_mean, new_var = running_mean.copy(), running_var.copy()
""" + BN_CACHE)

MISTAKES.add("ex3-batch-norm", "evaluation without gamma and beta", words="gamma * x_hat + beta",
             message="in evaluation the output is x_hat: scale and shift it too, "
                     "gamma * x_hat + beta", code=BN_HEAD + BN_TRAIN + """
    else:
        var = running_var
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = x_hat
        new_mean, new_var = running_mean.copy(), running_var.copy()
""" + BN_CACHE)


def batch_norm_cases():
    """what, inputs, training, momentum, and for out, new mean, new var: (expected, mistakes)."""
    cases = []
    for seed, n, d, training, momentum in [(521, 6, 3, True, 0.3), (522, 4, 2, False, 0.1),
                                           (523, 3, 4, True, 0.05), (524, 1, 3, False, 0.2)]:
        x, gamma, beta = bn_inputs(seed, n, d)
        rng = np.random.default_rng(seed + 100)
        rm, rv = short(rng.normal(size=d)), short(rng.uniform(0.001, 3.0, size=d))
        args = (x, gamma, beta, rm, rv, training, momentum)
        out, _, new_mean, new_var = F.batch_norm(*args)
        parts = [(w, MISTAKES.outputs("ex3-batch-norm", "batch_norm", *args, want=w,
                                      pick=lambda r, k=k: r[k]))
                 for k, w in [(0, out), (2, new_mean), (3, new_var)]]
        mode = "training" if training else "evaluation"
        cases.append((f"{mode}, x of shape ({n}, {d}), momentum {momentum}", args, parts))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex3-batch-norm-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 3
x = np.array([[1.0, 2.0, 5.0], [3.0, 2.0, 1.0], [5.0, 2.0, 3.0], [7.0, 2.0, -1.0]])
gamma, beta = np.array([2.0, 1.0, 0.5]), np.array([0.0, 1.0, -1.0])
rm, rv = np.array([3.0, 1.5, 1.0]), np.array([4.0, 1e-4, 9.0])
result = batch_norm(x, gamma, beta, rm, rv)   # training, momentum 0.1
assert isinstance(result, tuple) and len(result) == 4, (
    "batch_norm should return a tuple (out, cache, new_running_mean, new_running_var)")
out, cache, new_mean, new_var = result
verdict(out, [[-2.6832788897, 1.0, -0.3291802776], [-0.8944262966, 1.0, -1.2236065741],
              [0.8944262966, 1.0, -0.7763934259], [2.6832788897, 1.0, -1.6708197224]],
        "the training-mode output (batch_norm_train's: if its test fails, fix it first)")
verdict(new_mean, [3.1, 1.55, 1.1], "the new running mean in training", [
    ([3.0, 1.5, 1.0], "in training the running statistics were returned unchanged: update them "
                      "with the batch's statistics")])
verdict(new_var, [3.6 + 2 / 3, 0.00009, 8.1 + 2 / 3], "the new running variance in "
        "training (n = 4)")
_, _, new_mean, new_var = batch_norm(x, gamma, beta, rm, rv, momentum=0.5)
verdict(new_mean, [3.5, 1.75, 1.5], "the new running mean with momentum 0.5", [
    ([3.1, 1.55, 1.1], "the running statistics moved by the default momentum 0.1: pass "
                       "momentum on to update_running_stats")])

out, cache, new_mean, new_var = batch_norm(x, gamma, beta, rm, rv, training=False)
assert np.array_equal(rm, [3.0, 1.5, 1.0]) and np.array_equal(rv, [4.0, 1e-4, 9.0]), (
    "batch_norm changed running_mean or running_var in place")
verdict(new_mean, rm, "the running mean returned in evaluation", [
    ([3.1, 1.55, 1.1], "in evaluation the running statistics changed: return them unchanged")])
verdict(new_var, rv, "the running variance returned in evaluation", [
    ([3.6 + 2 / 3, 0.00009, 8.1 + 2 / 3], "in evaluation the running statistics changed: "
                                          "return them unchanged")])
want = np.array([[-1.9999975, 48.6731294623, -0.3333337037], [0.0, 48.6731294623, -1.0],
                 [1.9999975, 48.6731294623, -0.6666668519], [3.999995, 48.6731294623,
                                                             -1.3333331481]])
verdict(out, want, "the evaluation-mode output (running mean [3, 1.5, 1], running var "
        "[4, 1e-4, 9])", [
            ([[-2.6832788897, 1.0, -0.3291802776], [-0.8944262966, 1.0, -1.2236065741],
              [0.8944262966, 1.0, -0.7763934259], [2.6832788897, 1.0, -1.6708197224]],
             "in evaluation the output was normalized with the batch's statistics: use the "
             "running statistics"),
            ([[-2.0, 51.0, -1 / 3], [0.0, 51.0, -1.0], [2.0, 51.0, -2 / 3], [4.0, 51.0, -4 / 3]],
             "in evaluation the output was divided by sqrt(running_var), without eps: use "
             "sqrt(running_var + eps)"),
            ([[-1.0, 4546.4545, -0.777778], [0.0, 4546.4545, -1.0], [1.0, 4546.4545, -0.888889],
              [2.0, 4546.4545, -1.111111]], "in evaluation the output was divided by "
                                            "running_var + eps: divide by its square root"),
            ([[-0.99999875, 47.6731294623, 1.3333325926], [0.0, 47.6731294623, 0.0],
              [0.99999875, 47.6731294623, 0.6666662963], [1.9999975, 47.6731294623,
                                                          -0.6666662963]],
             "in evaluation the output is x_hat: scale and shift it too, gamma * x_hat + beta")],
        rtol=1e-4)
one = batch_norm(x[:1], gamma, beta, rm, rv, training=False)[0]
verdict(one, want[:1], "evaluation of a single example (no batch statistics needed)",
        rtol=1e-4)
print("✅ batch_norm passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, (x, gamma, beta, running_mean, running_var, training, momentum),
# and for out, the new running mean and variance: expected and (message, output) of mistakes
_cases = literal(batch_norm_cases())
for _what, _args, _parts in _cases:
    _arrays = [_hidden_make(_a) for _a in _args[:5]]
    _got = _hidden_call(batch_norm, (_arrays[0], _arrays[1], _arrays[2], _arrays[3], _arrays[4],
                                     _args[5], _args[6]), f"batch_norm in {_what}")
    assert _type(_got) is _tuple and _got.__len__() == 4, (
        f"hidden case {_what}: should return a tuple (out, cache, new_mean, new_var)")
    assert _arrays[3].tolist() == _args[3] and _arrays[4].tolist() == _args[4], (
        f"hidden case {_what}: batch_norm modified the running statistics in place")
    for _i, _name in [(1, "the new running mean"), (2, "the new running variance"),
                      (0, "out")]:
        _hidden_array(_got[[0, 2, 3][_i]], _parts[_i][0], f"{_name} of batch_norm in {_what}",
                      mistakes=_parts[_i][1], rtol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ### See it: what normalization does to a batch
# Below, a batch of 256 examples with three features on very different scales and offsets
# goes through **your** `batch_norm` in training mode ($\gamma = 1$, $\beta = 0$): every
# feature comes out with mean 0 and standard deviation 1. The running statistics after this
# one batch have moved a tenth of the way from $(0, 1)$ to the batch's.

# %%
rng = np.random.default_rng(0)
batch = rng.normal([5.0, -20.0, 0.0], [0.5, 8.0, 2.0], size=(256, 3))
normalized, _, seen_mean, seen_var = batch_norm(batch, np.ones(3), np.zeros(3), np.zeros(3),
                                                np.ones(3))
fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.0), constrained_layout=True)
for j in range(3):
    axes[0].hist(batch[:, j], bins=40, alpha=0.6, label=f"feature {j}")
    axes[1].hist(normalized[:, j], bins=40, alpha=0.6, label=f"feature {j}")
axes[0].set(title="the batch", xlabel="value")
axes[1].set(title="after your batch_norm (training)", xlabel="value")
axes[0].legend(fontsize="small")
plt.show()
print("means after:", normalized.mean(axis=0).round(6), " stds after:",
      normalized.std(axis=0).round(4))
print("running mean after one batch:", seen_mean.round(3), " running var:", seen_var.round(3))

# %% [markdown]
# ## 2. The backward pass, twice
#
# In training mode every output $y_{nj}$ depends on **every** $x_{mj}$ of its column, through
# $\mu_j$ and $\sigma^2_j$. That is what makes the backward pass interesting. We derive it
# twice: first node by node, as a framework's autograd would; then as one compact formula.
#
# ### On the computational graph
# Written as a chain of small nodes (one column; sums run over the batch):
#
# $$
# \mu = \tfrac1N \textstyle\sum_n x_n \;\to\; c_n = x_n - \mu \;\to\;
# \sigma^2 = \tfrac1N \sum_n c_n^2 \;\to\; s = (\sigma^2 + \varepsilon)^{-1/2} \;\to\;
# \hat x_n = c_n\, s \;\to\; y_n = \gamma\, \hat x_n + \beta .
# $$
#
# Backwards, with $g_n = \partial L / \partial y_n$ given (`grad_out`), each node turns the
# gradient of its output into the gradients of its inputs, and a variable used twice **adds**
# the gradients of its uses:
#
# - $y_n = \gamma \hat x_n + \beta$: its local derivatives are $1$, $\hat x_n$ and $\gamma$,
#   so $\frac{\partial L}{\partial\beta} = \sum_n g_n$,
#   $\frac{\partial L}{\partial\gamma} = \sum_n g_n \hat x_n$ and
#   $\frac{\partial L}{\partial\hat x_n} = \gamma\, g_n$;
# - $\hat x_n = c_n s$: $s$ is used by every $n$, so
#   $\frac{\partial L}{\partial s} = \sum_n \frac{\partial L}{\partial\hat x_n} c_n$;
# - $s = (\sigma^2 + \varepsilon)^{-1/2}$, whose derivative is
#   $-\tfrac12 (\sigma^2 + \varepsilon)^{-3/2} = -\tfrac12 s^3$:
#   $\frac{\partial L}{\partial\sigma^2} = -\tfrac12 s^3 \frac{\partial L}{\partial s}$;
# - $c_n$ feeds **two** nodes, $\hat x_n$ (derivative $s$) and $\sigma^2$ (derivative
#   $2 c_n / N$): $\frac{\partial L}{\partial c_n} = \frac{\partial L}{\partial\hat x_n} s +
#   \frac{\partial L}{\partial\sigma^2}\,\frac{2 c_n}{N}$;
# - $c_n = x_n - \mu$, and $\mu$ is used by every $n$ with derivative $-1$:
#   $\frac{\partial L}{\partial\mu} = -\sum_n \frac{\partial L}{\partial c_n}$;
# - $x_n$ feeds **two** nodes too, $c_n$ (derivative 1) and $\mu$ (derivative $1/N$):
#   $\frac{\partial L}{\partial x_n} = \frac{\partial L}{\partial c_n} +
#   \frac{1}{N}\frac{\partial L}{\partial\mu}$.
#
# For all $D$ columns at once, every "sum over $n$" is a `sum(axis=0)`, and every $(D,)$
# vector broadcasts over the batch.
#
# ### Exercise 4: `batch_norm_backward_graph` (3 points)
# The forward pass is recomputed for you, node by node, at the top of the function. Write the
# backward pass, node by node as in the table, and return a dict with the gradients of the
# loss with respect to six nodes: `"beta"`, `"gamma"` and `"var"` and `"mean"` of shape
# `(D,)`, `"x_hat"` and `"x"` of shape `(N, D)`. (The test checks them in the order of the
# backward pass, so the first one it complains about is where your chain first goes wrong.)

# %% nbgrader={"grade": false, "grade_id": "ex4-bn-graph", "locked": false, "schema_version": 3, "solution": true}
def batch_norm_backward_graph(grad_out, x, gamma, eps=1e-5):
    """Backward pass of training-mode batch norm, node by node on the computational graph.

    grad_out, x: (N, D); gamma: (D,). Returns {"beta", "gamma", "x_hat", "var", "mean", "x"}:
    dL/d(node) for each node.
    """
    n = x.shape[0]
    mean = x.mean(axis=0)                    # the forward pass, node by node
    c = x - mean
    var = np.mean(c * c, axis=0)
    s = 1.0 / np.sqrt(var + eps)
    x_hat = c * s
    ### BEGIN SOLUTION
    d_beta = grad_out.sum(axis=0)
    d_gamma = np.sum(grad_out * x_hat, axis=0)
    d_xhat = grad_out * gamma
    d_s = np.sum(d_xhat * c, axis=0)
    d_var = -0.5 * s**3 * d_s
    d_c = d_xhat * s + d_var * 2.0 * c / n
    d_mean = -d_c.sum(axis=0)
    d_x = d_c + d_mean / n
    return {"beta": d_beta, "gamma": d_gamma, "x_hat": d_xhat, "var": d_var, "mean": d_mean,
            "x": d_x}
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 4 and the hidden cases of its test.
GRAPH_HEAD = """
def batch_norm_backward_graph(grad_out, x, gamma, eps=1e-5):
    n = x.shape[0]
    mean = x.mean(axis=0)
    c = x - mean
    var = np.mean(c * c, axis=0)
    s = 1.0 / np.sqrt(var + eps)
    x_hat = c * s
"""
GRAPH_TAIL = """
    return {"beta": grad_out.sum(axis=0), "gamma": d_gamma, "x_hat": d_xhat, "var": d_var,
            "mean": d_mean, "x": d_x}
"""


def graph_variant(d_gamma="np.sum(grad_out * x_hat, axis=0)", d_xhat="grad_out * gamma",
                  d_var="-0.5 * s**3 * d_s", d_c="d_xhat * s + d_var * 2.0 * c / n",
                  d_mean="-d_c.sum(axis=0)", d_x="d_c + d_mean / n"):
    """The solution of Exercise 4 with one node's line changed (the typical mistakes)."""
    return GRAPH_HEAD + f"""
    d_gamma = {d_gamma}
    d_xhat = {d_xhat}
    d_s = np.sum(d_xhat * c, axis=0)
    d_var = {d_var}
    d_c = {d_c}
    d_mean = {d_mean}
    d_x = {d_x}
""" + GRAPH_TAIL


MISTAKES.add("ex4-bn-graph", "dgamma without x_hat", words=("dL/dgamma", "x_hat"),
             message="dL/dgamma is the sum of grad_out: y = gamma * x_hat + beta, so each term "
                     "is multiplied by x_hat", code=graph_variant(d_gamma="grad_out.sum(axis=0)"))
MISTAKES.add("ex4-bn-graph", "dx_hat without gamma", words=("dL/dx_hat", "gamma"),
             message="dL/dx_hat is grad_out: y = gamma * x_hat + beta, so multiply by gamma",
             code=graph_variant(d_xhat="grad_out"))
MISTAKES.add("ex4-bn-graph", "dvar without the -1/2", words=("dL/dvar", "-1/2"),
             message="dL/dvar lacks the factor -1/2 of the derivative of (var + eps)**(-1/2)",
             code=graph_variant(d_var="s**3 * d_s"))
MISTAKES.add("ex4-bn-graph", "dvar with the wrong power", words=("dL/dvar", "-3/2"),
             message="dL/dvar has the wrong power: the derivative of (var + eps)**(-1/2) is "
                     "-1/2 (var + eps)**(-3/2) = -s**3 / 2",
             code=graph_variant(d_var="-0.5 * s * d_s"))
MISTAKES.add("ex4-bn-graph", "no path through var", words=("dL/dx", "through var"),
             message="dL/dx misses the path through var: c feeds x_hat and var, so dL/dc "
                     "adds dL/dvar * 2 c / N", code=graph_variant(d_c="d_xhat * s"))
MISTAKES.add("ex4-bn-graph", "N - 1 in the path through var", words=("dL/dx", "/ N"),
             message="dL/dx used 2 c / (N - 1) in the path through var: var divides by N, so "
                     "dvar/dc = 2 c / N", code=graph_variant(d_c="d_xhat * s + d_var * 2.0 * "
                                                                  "c / (n - 1)"))
MISTAKES.add("ex4-bn-graph", "dmean with the wrong sign", words=("dL/dmean", "sign"),
             message="dL/dmean has the wrong sign: c = x - mean, so dc/dmean = -1",
             code=graph_variant(d_mean="d_c.sum(axis=0)"))
MISTAKES.add("ex4-bn-graph", "no path through the mean", words=("dL/dx", "through the mean"),
             message="dL/dx misses the path through the mean: x feeds c and mean, so add "
                     "dL/dmean / N", code=graph_variant(d_x="d_c"))

GRAPH_KEYS = ["beta", "gamma", "x_hat", "var", "mean", "x"]


def reference_graph(grad_out, x, gamma, eps):
    """The six node gradients, from F.batch_norm_backward and the chain rule by hand."""
    _, cache, _, _ = F.batch_norm(x, gamma, np.zeros_like(gamma), np.zeros_like(gamma),
                                    np.ones_like(gamma), eps=eps)
    dx, dgamma, dbeta = F.batch_norm_backward(grad_out, cache)
    c, s = x - x.mean(axis=0), cache["inv_std"]
    d_xhat = grad_out * gamma
    d_var = -0.5 * s**3 * np.sum(d_xhat * c, axis=0)
    d_mean = -np.sum(d_xhat * s, axis=0)   # the path through var adds sum(2 c / N) = 0
    return {"beta": dbeta, "gamma": dgamma, "x_hat": d_xhat, "var": d_var, "mean": d_mean,
            "x": dx}


def graph_cases():
    cases = []
    for seed, n, d, eps in [(531, 5, 3, 1e-5), (532, 2, 4, 1e-5), (533, 7, 2, 1e-2)]:
        x, gamma, _ = bn_inputs(seed, n, d)
        grad_out = short(np.random.default_rng(seed + 50).normal(size=(n, d)))
        want = reference_graph(grad_out, x, gamma, eps)
        parts = [(want[k], MISTAKES.outputs("ex4-bn-graph", "batch_norm_backward_graph",
                                            grad_out, x, gamma, eps, want=want[k],
                                            pick=lambda r, k=k: r[k])) for k in GRAPH_KEYS]
        cases.append((f"x of shape ({n}, {d}), eps {eps}", grad_out, x, gamma, eps, parts))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex4-bn-graph-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 4
x = np.array([[1.0, 2.0, 0.0], [3.0, -1.0, 2.0], [0.0, 0.0, 1.0], [4.0, 1.0, -3.0]])
gamma = np.array([2.0, 1.0, 0.5])
g = np.array([[1.0, 0.0, 2.0], [-1.0, 1.0, 0.0], [0.5, -2.0, 1.0], [2.0, 0.0, -1.0]])
grads = batch_norm_backward_graph(g, x, gamma)
assert isinstance(grads, dict) and set(grads) == {"beta", "gamma", "x_hat", "var", "mean",
                                                  "x"}, (
    "batch_norm_backward_graph should return a dict with the keys 'beta', 'gamma', 'x_hat', "
    "'var', 'mean', 'x'")
verdict(grads["beta"], [2.5, -1.0, 2.0], "dL/dbeta (the sum of grad_out over the batch)")
verdict(grads["gamma"], [0.6324542671, -0.4472118067, 2.138086881], "dL/dgamma", [
    ([2.5, -1.0, 2.0], "dL/dgamma is the sum of grad_out: y = gamma * x_hat + beta, so each "
                       "term is multiplied by x_hat")])
verdict(grads["x_hat"], [[2.0, 0.0, 1.0], [-2.0, 1.0, 0.0], [1.0, -2.0, 0.5], [4.0, 0.0, -0.5]],
        "dL/dx_hat", [(g, "dL/dx_hat is grad_out: y = gamma * x_hat + beta, so multiply by "
                          "gamma")])
verdict(grads["var"], [-0.2529806949, 0.1788832916, -0.1527200551], "dL/dvar", [
    ([0.5059613899, -0.3577665832, 0.3054401103], "dL/dvar lacks the factor -1/2 of the "
                                                  "derivative of (var + eps)**(-1/2)"),
    ([-0.6324542671, 0.2236059033, -0.5345217202], "dL/dvar has the wrong power: the "
                                                   "derivative of (var + eps)**(-1/2) is -1/2 "
                                                   "(var + eps)**(-3/2) = -s**3 / 2")])
verdict(grads["mean"], [-3.162271336, 0.8944236133, -0.5345217202], "dL/dmean", [
    ([3.162271336, -0.8944236133, 0.5345217202], "dL/dmean has the wrong sign: c = x - mean, "
                                                 "so dc/dmean = -1")])
verdict(grads["x"], [[0.6008310478, 0.357768372, 0.4008912902],
                     [-2.181966716, 0.9838670479, -0.2863504852],
                     [0.09486712815, -1.609962146, 0.05727040248],
                     [1.48626854, 0.2683267262, -0.1718112074]], "dL/dx", [
    ([[0.4743407003, 0.2236059033, 0.4008912902], [-2.055476368, 1.118029517, -0.1336304301],
      [-0.1581135668, -1.565241323, 0.1336304301], [1.739249235, 0.2236059033, -0.4008912902]],
     "dL/dx misses the path through var: c feeds x_hat and var, so dL/dc adds dL/dvar * 2 c "
     "/ N"),
    ([[0.642994497, 0.4024891949, 0.4008912902], [-2.224130165, 0.939146225, -0.3372571703],
      [0.1791940265, -1.624869087, 0.03181705996], [1.401941641, 0.2832336672, -0.09545117987]],
     "dL/dx used 2 c / (N - 1) in the path through var: var divides by N, so dvar/dc = 2 c / N"),
    ([[1.391398882, 0.1341624687, 0.5345217202], [-1.391398882, 0.7602611446, -0.1527200551],
      [0.8854349621, -1.83356805, 0.1909008325], [2.276836374, 0.0447208229, -0.03818077739]],
     "dL/dx misses the path through the mean: x feeds c and mean, so add dL/dmean / N")])
assert np.allclose(grads["x"].sum(axis=0), 0.0), (
    "each column of dL/dx should sum to 0 (shifting a whole column leaves x_hat unchanged)")
print("✅ batch_norm_backward_graph passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, grad_out, x, gamma, eps, and for the six nodes in backward order:
# the expected gradient and (message, output) of typical mistakes
_cases = literal(graph_cases())
for _what, _g, _x, _gamma, _eps, _parts in _cases:
    _got = _hidden_call(batch_norm_backward_graph, (_hidden_make(_g), _hidden_make(_x),
                                                    _hidden_make(_gamma), _eps),
                        f"batch_norm_backward_graph with {_what}")
    assert _type(_got) is {}.__class__, f"hidden case {_what}: should return a dict"
    for _i, _key in [(0, "beta"), (1, "gamma"), (2, "x_hat"), (3, "var"), (4, "mean"),
                     (5, "x")]:
        assert _key in _got, f"hidden case {_what}: the dict has no key {_key!r}"
        _hidden_array(_got[_key], _parts[_i][0], f"dL/d{_key} with {_what}",
                      mistakes=_parts[_i][1], rtol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ### The compact formula
# Now put the table together by hand. Write $\hat g_n = \partial L / \partial\hat x_n =
# \gamma g_n$. Since $c_n = \hat x_n / s$ and $\sum_n c_n = 0$, the path through $\mu$
# reduces to $-\frac{s}{N}\sum_m \hat g_m$ and the path through $\sigma^2$ to
# $-\frac{s}{N}\hat x_n \sum_m \hat g_m \hat x_m$, so
#
# $$
# \frac{\partial L}{\partial x_n} = \frac{s}{N}\Bigl( N\,\hat g_n - \sum_m \hat g_m
#   - \hat x_n \sum_m \hat g_m \hat x_m \Bigr)
# = \frac{\gamma\, s}{N}\Bigl( N g_n - \sum_m g_m - \hat x_n \sum_m g_m \hat x_m \Bigr) .
# $$
#
# Read it: the incoming gradient, minus its mean (the part that would shift the whole column,
# which normalization removes), minus its projection on $\hat x$ (the part that would scale
# the column). Note that the two sums are exactly $\partial L / \partial\beta$ and
# $\partial L / \partial\gamma$: one pass over the data gives all three gradients. It needs
# only $\hat x$, $s$ and $\gamma$ from the forward pass: your cache.
#
# In **evaluation** mode $\mu$ and $\sigma^2$ are constants (the running statistics), so
# nothing flows through them: $\partial L / \partial x_n = \gamma\, s\, g_n$ with
# $s = (\hat\sigma^2 + \varepsilon)^{-1/2}$. (You rarely backpropagate in evaluation mode, but
# fine-tuning with frozen statistics does exactly that.)
#
# ### Exercise 5: `batch_norm_backward` (2 points)
# `batch_norm_backward(grad_out, cache)` takes the cache **your** `batch_norm` returned and
# returns `(dx, dgamma, dbeta)`, using the compact formula in training mode and the simple
# one in evaluation mode. No loops.

# %% nbgrader={"grade": false, "grade_id": "ex5-bn-backward", "locked": false, "schema_version": 3, "solution": true}
def batch_norm_backward(grad_out, cache):
    """Backward of batch_norm, from its cache. Returns (dx, dgamma, dbeta)."""
    ### BEGIN SOLUTION
    x_hat, s, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dgamma = np.sum(grad_out * x_hat, axis=0)
    dbeta = grad_out.sum(axis=0)
    if not cache["training"]:
        return grad_out * gamma * s, dgamma, dbeta
    n = grad_out.shape[0]
    dx = gamma * s / n * (n * grad_out - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 5 and the hidden cases of its test.
def compact_variant(train="gamma * s / n * (n * grad_out - dbeta - x_hat * dgamma)",
                    evaluate="grad_out * gamma * s", dgamma="np.sum(grad_out * x_hat, axis=0)"):
    """The solution of Exercise 5 with one expression changed (the typical mistakes)."""
    return f"""
def batch_norm_backward(grad_out, cache):
    x_hat, s, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dgamma = np.sum(grad_out * x_hat, axis=0)
    dbeta = grad_out.sum(axis=0)
    n = grad_out.shape[0]
    dx = {train} if cache["training"] else {evaluate}
    return dx, {dgamma}, dbeta
"""


MISTAKES.add("ex5-bn-backward", "no x_hat term", words="x_hat * sum",
             message="dx misses the term - x_hat * sum(grad_out * x_hat) (the path through "
                     "var)", code=compact_variant(train="gamma * s / n * (n * grad_out - dbeta)"))
MISTAKES.add("ex5-bn-backward", "no mean term", words="sum(grad_out)",
             message="dx misses the term - sum(grad_out) (the path through the mean)",
             code=compact_variant(train="gamma * s / n * (n * grad_out - x_hat * dgamma)"))
MISTAKES.add("ex5-bn-backward", "not divided by N", words="divide by N",
             message="dx is N times too large: divide by N, gamma * s / N * (...)",
             code=compact_variant(train="gamma * s * (n * grad_out - dbeta - x_hat * dgamma)"))
MISTAKES.add("ex5-bn-backward", "dx without gamma", words="gamma",
             message="dx lacks the factor gamma: dL/dx_hat = gamma * grad_out",
             code=compact_variant(train="s / n * (n * grad_out - dbeta - x_hat * dgamma)",
                                  evaluate="grad_out * s"))
MISTAKES.add("ex5-bn-backward", "dgamma without x_hat", words=("dgamma", "x_hat"),
             message="dgamma is the sum of grad_out: it is sum(grad_out * x_hat)",
             code=compact_variant(dgamma="dbeta"))
MISTAKES.add("ex5-bn-backward", "training formula in evaluation", words="evaluation",
             message="in evaluation mode dx used the training formula: the running statistics "
                     "are constants, dx = gamma * s * grad_out", code=compact_variant(
                         evaluate="gamma * s / n * (n * grad_out - dbeta - x_hat * dgamma)"))
MISTAKES.add("ex5-bn-backward", "evaluation without 1/sqrt(var + eps)", words="evaluation",
             message="in evaluation mode dx lacks the factor s = 1 / sqrt(running_var + eps)",
             code=compact_variant(evaluate="grad_out * gamma"))


def compact_cases():
    """Each case: what, the arguments of batch_norm, grad_out, and for dx, dgamma, dbeta:
    (expected, mistakes). The mistakes run on the cache of the solution's batch_norm."""
    cases = []
    for seed, n, d, training in [(541, 6, 3, True), (542, 3, 5, True), (543, 4, 2, False)]:
        x, gamma, beta = bn_inputs(seed, n, d)
        rng = np.random.default_rng(seed + 50)
        rm, rv = short(rng.normal(size=d)), short(rng.uniform(0.1, 3.0, size=d))
        grad_out = short(rng.normal(size=(n, d)))
        args = (x, gamma, beta, rm, rv, training)
        want = F.batch_norm_backward(grad_out, F.batch_norm(*args)[1])
        cache = batch_norm(*args)[1]   # the solution's cache, for the mistakes
        parts = [(want[k], MISTAKES.outputs("ex5-bn-backward", "batch_norm_backward", grad_out,
                                            cache, want=want[k], pick=lambda r, k=k: r[k]))
                 for k in range(3)]
        mode = "training" if training else "evaluation"
        cases.append((f"{mode}, x of shape ({n}, {d})", args, grad_out, parts))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex5-bn-backward-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 5 (your batch_norm makes the cache)
x = np.array([[1.0, 2.0, 0.0], [3.0, -1.0, 2.0], [0.0, 0.0, 1.0], [4.0, 1.0, -3.0]])
gamma, beta = np.array([2.0, 1.0, 0.5]), np.zeros(3)
g = np.array([[1.0, 0.0, 2.0], [-1.0, 1.0, 0.0], [0.5, -2.0, 1.0], [2.0, 0.0, -1.0]])
out, cache, _, _ = batch_norm(x, gamma, beta, np.zeros(3), np.ones(3))
assert np.allclose(out[0], [-1.264908534, 1.34163542, 0.0]), (
    "your batch_norm (Exercise 3) gives a wrong training output on this test's batch, and this "
    "test runs your backward pass on its cache: make Exercises 1 and 3 pass first")
result = batch_norm_backward(g, cache)
assert isinstance(result, tuple) and len(result) == 3, (
    "batch_norm_backward should return a tuple (dx, dgamma, dbeta)")
dx, dgamma, dbeta = result
verdict(dbeta, [2.5, -1.0, 2.0], "dbeta (the sum of grad_out over the batch)")
verdict(dgamma, [0.6324542671, -0.4472118067, 2.138086881], "dgamma", [
    ([2.5, -1.0, 2.0], "dgamma is the sum of grad_out: it is sum(grad_out * x_hat)")])
verdict(dx, [[0.6008310478, 0.357768372, 0.4008912902],
             [-2.181966716, 0.9838670479, -0.2863504852],
             [0.09486712815, -1.609962146, 0.05727040248],
             [1.48626854, 0.2683267262, -0.1718112074]], "dx in training mode", [
    ([[0.4743407003, 0.2236059033, 0.4008912902], [-2.055476368, 1.118029517, -0.1336304301],
      [-0.1581135668, -1.565241323, 0.1336304301], [1.739249235, 0.2236059033, -0.4008912902]],
     "dx misses the term - x_hat * sum(grad_out * x_hat) (the path through var)"),
    ([[1.391398882, 0.1341624687, 0.5345217202], [-1.391398882, 0.7602611446, -0.1527200551],
      [0.8854349621, -1.83356805, 0.1909008325], [2.276836374, 0.0447208229, -0.03818077739]],
     "dx misses the term - sum(grad_out) (the path through the mean)"),
    ([[2.403324191, 1.431073488, 1.603565161], [-8.727866862, 3.935468192, -1.145401941],
      [0.3794685126, -6.439848585, 0.2290816099], [5.945074159, 1.073306905, -0.6872448298]],
     "dx is N times too large: divide by N, gamma * s / N * (...)"),
    ([[0.3004155239, 0.357768372, 0.8017825803], [-1.090983358, 0.9838670479, -0.5727009704],
      [0.04743356407, -1.609962146, 0.114540805], [0.7431342698, 0.2683267262, -0.3436224149]],
     "dx lacks the factor gamma: dL/dx_hat = gamma * grad_out")])

_, cache, _, _ = batch_norm(x, gamma, beta, np.array([1.0, 0.5, -1.0]),
                            np.array([2.0, 0.25, 4.0]), training=False)
dx, dgamma, dbeta = batch_norm_backward(g, cache)
verdict(dx, [[1.414210027, 0.0, 0.499999375], [-1.414210027, 1.999960001, 0.0],
             [0.7071050134, -3.999920002, 0.2499996875], [2.828420054, 0.0, -0.2499996875]],
        "dx in evaluation mode (running var [2, 0.25, 4])", [
    ([[0.5303287601, 1.999900005, 0.2812498828], [-3.53551888, 1.000039997, -0.4062487891],
      [0.4419375398, -3.999900004, -0.06249945313], [0.08839740739, 0.9999600018,
                                                     -0.1875002344]],
     "in evaluation mode dx used the training formula: the running statistics are "
     "constants, dx = gamma * s * grad_out"),
    ([[2.0, 0.0, 1.0], [-2.0, 1.0, 0.0], [1.0, -2.0, 0.5], [4.0, 0.0, -0.5]],
     "in evaluation mode dx lacks the factor s = 1 / sqrt(running_var + eps)")])
verdict(dgamma, [2.474867547, -0.9999800006, 2.99999625], "dgamma in evaluation mode")
import ast
import inspect

loops = [type(node).__name__ for node in ast.walk(ast.parse(inspect.getsource(
    batch_norm_backward))) if isinstance(node, (ast.For, ast.While, ast.comprehension))]
assert not loops, f"batch_norm_backward uses a Python loop ({loops[0]}): write it with sums"
print("✅ batch_norm_backward passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, the arguments of batch_norm (x, gamma, beta, running_mean,
# running_var, training), grad_out, and for dx, dgamma, dbeta: expected and (message, output)
# of typical mistakes
_cases = literal(compact_cases())
for _what, _args, _g, _parts in _cases:
    _made = [_hidden_make(_a) for _a in _args[:5]]
    _forward = _hidden_call(batch_norm, (_made[0], _made[1], _made[2], _made[3], _made[4],
                                         _args[5]), f"batch_norm in {_what}")
    assert _type(_forward) is _tuple and _forward.__len__() == 4, (
        f"hidden case {_what}: batch_norm should return (out, cache, new_mean, new_var)")
    _got = _hidden_call(batch_norm_backward, (_hidden_make(_g), _forward[1]),
                        f"batch_norm_backward in {_what}")
    assert _type(_got) is _tuple and _got.__len__() == 3, (
        f"hidden case {_what}: should return a tuple (dx, dgamma, dbeta)")
    for _i, _name in [(2, "dbeta"), (1, "dgamma"), (0, "dx")]:
        _hidden_array(_got[_i], _parts[_i][0], f"{_name} of batch_norm_backward in {_what}",
                      mistakes=_parts[_i][1], rtol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Your tools from notebooks 02 and 03, and a gradient check
#
# ### Exercise 6: bring your tools (1 point)
# The rest of this notebook gives you no network code and no gradient checker: they are the
# answers of earlier exercises, so no notebook of the course hands them out. Paste into the
# cell below your solutions of:
#
# | function | from | returns |
# |---|---|---|
# | `relu_backward(grad_out, x)` | notebook 02, Exercise 2 | $\partial L/\partial x$ |
# | `dense_backward(grad_out, X, W)` | notebook 02, Exercise 3 | `(dX, dW, db)` |
# | `softmax_cross_entropy(logits, labels)` | notebook 02, Exercise 4 | `(loss, dlogits)` |
# | `numerical_gradient(f, x, h=1e-5)` | notebook 02, Exercise 5 | of `x`'s shape |
# | `rel_error(a, b)` | notebook 02, Exercise 6 | a float |
# | `sgd(param, grad, lr, weight_decay=0.0)` | notebook 03, Exercise 1 | the new parameter |
#
# with the same names and arguments (and any helper of yours that they call). Replace the
# whole cell with your code, or fill in the six bodies. Code that passed the tests of
# notebooks 02 and 03 passes these; if one fails here, its message names the function to fix.

# %% nbgrader={"grade": false, "grade_id": "ex6-your-tools", "locked": false, "schema_version": 3, "solution": true}
# Your tools from notebooks 02 (Exercises 2 to 6) and 03 (Exercise 1): paste them here.
def relu_backward(grad_out, x):
    """dL/dx for relu: grad_out where x > 0, 0 elsewhere (including x == 0)."""
    ### BEGIN SOLUTION
    return np.where(np.asarray(x) > 0, grad_out, 0.0)
    ### END SOLUTION


def dense_backward(grad_out, X, W):
    """Backward of Z = X @ W + b: returns (dX (N, d), dW (d, m), db (m,))."""
    ### BEGIN SOLUTION
    return grad_out @ W.T, X.T @ grad_out, np.sum(grad_out, axis=0)
    ### END SOLUTION


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) (N, C) for integer labels (N,), and its
    gradient: (loss: float, dlogits: (N, C))."""
    ### BEGIN SOLUTION
    shifted = np.asarray(logits, dtype=float)
    shifted = shifted - shifted.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    picked = np.arange(len(labels)), labels
    probs = np.exp(log_probs)
    probs[picked] -= 1.0
    return float(-np.mean(log_probs[picked])), probs / len(labels)
    ### END SOLUTION


def numerical_gradient(f, x, h=1e-5):
    """Centred differences (f(x + h e_i) - f(x - h e_i)) / (2 h), of x's shape; x unchanged."""
    ### BEGIN SOLUTION
    point = np.array(x, dtype=float, copy=True)
    grad = np.empty_like(point)
    for i in np.ndindex(point.shape):
        keep = point[i]
        point[i] = keep + h
        above = f(point)
        point[i] = keep - h
        below = f(point)
        point[i] = keep
        grad[i] = (above - below) / (2 * h)
    return grad
    ### END SOLUTION


def rel_error(a, b):
    """max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|), as a float."""
    ### BEGIN SOLUTION
    gap = np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    return float(np.max(gap / np.maximum(1e-8, np.abs(a) + np.abs(b))))
    ### END SOLUTION


def sgd(param, grad, lr, weight_decay=0.0):
    """One step of gradient descent with L2 weight decay: the new param."""
    ### BEGIN SOLUTION
    return param - lr * (grad + weight_decay * param)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 6 and the hidden cases of its test.
MISTAKES.add("ex6-your-tools", "relu gate open at x = 0", words=("relu_backward", "x = 0"),
             code="""
def relu_backward(grad_out, x):
    return grad_out * (np.asarray(x) >= 0)
""")
MISTAKES.add("ex6-your-tools", "db is the mean", words=("dense_backward", "sum"), code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W.T, X.T @ grad_out, grad_out.mean(axis=0)
""")
MISTAKES.add("ex6-your-tools", "dW transposed", words=("dense_backward", "X.T @ grad_out"),
             code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W.T, grad_out.T @ X, grad_out.sum(axis=0)
""")
MISTAKES.add("ex6-your-tools", "softmax without the max", words=("softmax_cross_entropy", "max"),
             code="""
def softmax_cross_entropy(logits, labels):
    e = np.exp(logits)
    probs = e / e.sum(axis=1, keepdims=True)
    n = len(labels)
    loss = float(-np.mean(np.log(probs[np.arange(n), labels])))
    probs[np.arange(n), labels] -= 1.0
    return loss, probs / n
""")
MISTAKES.add("ex6-your-tools", "dlogits not divided by N",
             words=("softmax_cross_entropy", "divide by N"), code="""
def softmax_cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    probs = np.exp(log_probs)
    probs[np.arange(len(labels)), labels] -= 1.0
    return float(-np.mean(log_probs[np.arange(len(labels)), labels])), probs
""")
MISTAKES.add("ex6-your-tools", "one-sided difference", words=("numerical_gradient", "centred"),
             code="""
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    base = f(x)
    for i in range(x.size):
        keep = x.flat[i]
        x.flat[i] = keep + h
        grad.flat[i] = (f(x) - base) / h
        x.flat[i] = keep
    return grad
""")
MISTAKES.add("ex6-your-tools", "numerical gradient perturbs the caller's x",
             words=("numerical_gradient", "in place"), code="""
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in range(x.size):
        keep = x.flat[i]
        x.flat[i] = keep + h
        above = f(x)
        x.flat[i] = keep - h
        below = f(x)
        grad.flat[i] = (above - below) / (2 * h)
    return grad
""")
MISTAKES.add("ex6-your-tools", "rel_error without the floor", words=("rel_error", "1e-8"),
             code="""
def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))
""")
MISTAKES.add("ex6-your-tools", "sgd climbs", words=("sgd", "sign"), code="""
def sgd(param, grad, lr, weight_decay=0.0):
    return param + lr * (grad + weight_decay * param)
""")


def tool_cases():
    """Literal cases for each tool: relu_backward, dense_backward, softmax_cross_entropy (with
    logits in the thousands), numerical_gradient (of sum(a * x**3), expected 3 a x**2), sgd."""
    rng = np.random.default_rng(551)
    x = short(rng.normal(size=(3, 4)))
    x[0, 1] = 0.0   # the kink
    g = short(rng.normal(size=(3, 4)))
    X, W, G = (short(rng.normal(size=s)) for s in [(5, 3), (3, 2), (5, 2)])
    logits, labels = short(rng.normal(scale=1000.0, size=(4, 3))), rng.integers(0, 3, size=4)
    a, point = short(rng.normal(size=(2, 3))), short(rng.normal(size=(2, 3)))
    p, dp = short(rng.normal(size=4)), short(rng.normal(size=4))
    return ((x, g, F.relu_backward(g, x)), (G, X, W, list(F.dense_backward(G, X, W))),
            (logits, labels, F.cross_entropy(logits, labels),
             F.cross_entropy_backward(logits, labels)),
            (a, point, 3 * a * point**2), (p, dp, F.sgd(p, dp + 0.1 * p, 0.05)))


# %% nbgrader={"grade": true, "grade_id": "ex6-your-tools-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 6
got = relu_backward(np.array([[3.0, -2.0, 3.0]]), np.array([[-1.0, 0.0, 2.0]]))
assert np.allclose(got, [[0.0, 0.0, 3.0]]), (
    f"relu_backward(grad_out=[[3, -2, 3]], x=[[-1, 0, 2]]) should be [[0, 0, 3]], got {got}: "
    f"the derivative of ReLU at x = 0 is 0 in this course, the gate is x > 0")
X = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0]])
W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
G = np.array([[1.0, 0.0], [2.0, -2.0]])
got = dense_backward(G, X, W)
assert isinstance(got, tuple) and len(got) == 3, "dense_backward should return (dX, dW, db)"
verdict(got[0], [[1.0, 0.0, 1.0], [2.0, -2.0, 4.0]], "dense_backward's dX = grad_out @ W.T")
verdict(got[1], [[2.0, -1.0], [0.0, 2.0], [3.0, -4.0]], "dense_backward's dW", [
    ([[2.0, 0.0, 3.0], [-1.0, 2.0, -4.0]], "dW is transposed: dW = X.T @ grad_out, of W's "
                                           "shape")])
verdict(got[2], [3.0, -2.0], "dense_backward's db", [
    ([1.5, -1.0], "db is the mean over the batch: it is the sum of grad_out")])
problem = raises_numpy_error(softmax_cross_entropy, np.array([[0.0, 0.0], [1e4, -1e4]]),
                             np.array([1, 0]))
assert problem is None, (
    f"softmax_cross_entropy failed on logits [[0, 0], [1e4, -1e4]] ({problem}): subtract each "
    f"row's max from the logits before np.exp")
loss, dlogits = softmax_cross_entropy(np.array([[0.0, 0.0], [1e4, -1e4]]), np.array([1, 0]))
assert np.isclose(loss, np.log(2) / 2), (
    f"softmax_cross_entropy's loss should be log(2) / 2 = 0.34657, got {loss}")
verdict(dlogits, [[0.25, -0.25], [0.0, 0.0]], "softmax_cross_entropy's dlogits", [
    ([[0.5, -0.5], [0.0, 0.0]], "dlogits is N times too large: it is (P - Y) / N, divide by N "
                                "(the loss is a mean)")])
point = np.array([1.0, -2.0, 0.5])
numeric = numerical_gradient(lambda v: float(np.sum(v**3)), point)
assert np.array_equal(point, [1.0, -2.0, 0.5]), (
    "numerical_gradient changed the caller's x in place: work on a copy")
verdict(numeric, [3.0, 12.0, 0.75], "numerical_gradient of sum(x**3) at [1, -2, 0.5]", [
    ([3.00003, 11.99994, 0.750015], "it is the one-sided difference (f(x + h) - f(x)) / h: "
                                    "use the centred one, (f(x + h) - f(x - h)) / (2 h)")],
        rtol=1e-7, atol=1e-7)
assert np.isclose(rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])), 0.2 / 4.2), (
    "rel_error([1, 2], [1, 2.2]) should be 0.2 / 4.2 = 0.047619")
with np.errstate(invalid="ignore", divide="ignore"):
    zero = rel_error(np.zeros(2), np.zeros(2))
assert zero == 0.0, (
    f"rel_error of two zero arrays should be 0, got {zero}: floor the denominator at 1e-8")
verdict(sgd(np.array([1.0, -2.0]), np.array([0.5, 0.5]), 0.1), [0.95, -2.05], "sgd", [
    ([1.05, -1.95], "sgd moved the parameter along the gradient: the sign of the update is "
                    "wrong, param - lr * grad")])
print("✅ your tools pass the visible tests.")
### BEGIN HIDDEN TESTS
# relu_backward, dense_backward, softmax_cross_entropy (logits in the thousands),
# numerical_gradient (of sum(a * x**3)), sgd (lr 0.05, weight_decay 0.1): inputs and outputs
_relu, _dense, _ce, _num, _sgd = literal(tool_cases())
_got = _hidden_call(relu_backward, (_hidden_make(_relu[1]), _hidden_make(_relu[0])),
                    "relu_backward on a (3, 4) batch")
_hidden_array(_got, _relu[2], "relu_backward on a (3, 4) batch with one x = 0")
_got = _hidden_call(dense_backward, (_hidden_make(_dense[0]), _hidden_make(_dense[1]),
                                     _hidden_make(_dense[2])), "dense_backward, X (5, 3)")
assert _type(_got) is _tuple and _got.__len__() == 3, "hidden case: dense_backward's tuple"
for _i, _name in [(0, "dX"), (1, "dW"), (2, "db")]:
    _hidden_array(_got[_i], _dense[3][_i], f"dense_backward's {_name}, X (5, 3), W (3, 2)")
_got = _hidden_call(softmax_cross_entropy, (_hidden_make(_ce[0]), _hidden_make(_ce[1], "i8")),
                    "softmax_cross_entropy with logits in the thousands",
                    "subtract each row's max before np.exp")
assert _type(_got) is _tuple and _got.__len__() == 2, "hidden case: (loss, dlogits)"
_hidden_float(_got[0], _ce[2], "the loss of softmax_cross_entropy, logits in the thousands")
_hidden_array(_got[1], _ce[3], "dlogits of softmax_cross_entropy, logits in the thousands")
_a = _hidden_make(_num[0])
_x = _hidden_make(_num[1])
_got = _hidden_call(numerical_gradient, (lambda _v: (_a * _v * _v * _v).sum(), _x),
                    "numerical_gradient of sum(a * x**3), x of shape (2, 3)")
assert _x.tolist() == _num[1], "hidden case: numerical_gradient modified x in place"
_hidden_array(_got, _num[2], "numerical_gradient of sum(a * x**3), x of shape (2, 3)",
              rtol=1e-6, atol=1e-7)
_got = _hidden_call(rel_error, (_hidden_make([0.0, 1.0, -2.0]), _hidden_make([0.0, 1.5, -2.0])),
                    "rel_error([0, 1, -2], [0, 1.5, -2])")
_hidden_float(_got, 0.2, "rel_error([0, 1, -2], [0, 1.5, -2])")
_got = _hidden_call(sgd, (_hidden_make(_sgd[0]), _hidden_make(_sgd[1]), 0.05, 0.1),
                    "sgd, lr 0.05, weight_decay 0.1")
_hidden_array(_got, _sgd[2], "sgd, lr 0.05, weight_decay 0.1")
### END HIDDEN TESTS

# %% [markdown]
# ### Use it: both backward passes against numerical gradients
# Your checker against your two backward passes, in float64, on a random batch. The loss is
# $L = \sum_{n,j} G_{nj}\, y_{nj}$ for a fixed random $G$, so that $\partial L/\partial y = G$.
# The parameters are of order 1, so every entry of the gradients is too (an entry near 0
# would make the elementwise relative error meaningless). Both must agree with the numerical
# gradients to better than $10^{-8}$.

# %%
rng = np.random.default_rng(5)
x_check = rng.normal(1.0, 2.0, size=(6, 4))
gamma_check, beta_check = rng.normal(1.0, 0.3, size=4), rng.normal(0.0, 0.3, size=4)
G_check = rng.normal(size=(6, 4))


def check_loss(x, gamma, beta):
    """L = sum(G * batch_norm(x)), in training mode, with your batch_norm."""
    return float(np.sum(G_check * batch_norm(x, gamma, beta, np.zeros(4), np.ones(4))[0]))


_, cache_check, _, _ = batch_norm(x_check, gamma_check, beta_check, np.zeros(4), np.ones(4))
compact = batch_norm_backward(G_check, cache_check)
graph = batch_norm_backward_graph(G_check, x_check, gamma_check)
numeric = {
    "x": numerical_gradient(lambda v: check_loss(v, gamma_check, beta_check), x_check),
    "gamma": numerical_gradient(lambda v: check_loss(x_check, v, beta_check), gamma_check),
    "beta": numerical_gradient(lambda v: check_loss(x_check, gamma_check, v), beta_check)}
worst = 0.0
for name, analytic_compact, analytic_graph in [("x", compact[0], graph["x"]),
                                               ("gamma", compact[1], graph["gamma"]),
                                               ("beta", compact[2], graph["beta"])]:
    errors = [rel_error(analytic, numeric[name]) for analytic in (analytic_graph,
                                                                  analytic_compact)]
    worst = max(worst, *errors)
    print(f"dL/d{name:6s} graph: {errors[0]:.1e}   compact: {errors[1]:.1e}")
assert worst < 1e-8, f"a backward pass disagrees with the numerical gradient ({worst:.1e})"
print(f"✅ both backward passes agree with the numerical gradients (worst {worst:.1e} < 1e-8).")

# %% [markdown]
# ## 4. Batch norm in a deep network
#
# Where does batch norm go? In the original paper and in most MLPs and CNNs: **after the
# dense (or convolutional) layer and before the nonlinearity**,
#
# $$
# h_{i} = \mathrm{ReLU}\bigl(\mathrm{BN}_i(h_{i-1} W_i + b_i)\bigr) , \qquad
# \text{scores} = h_{L-1} W_L + b_L ,
# $$
#
# with no batch norm on the output layer. One consequence to notice: the bias $b_i$ of a layer
# followed by batch norm does **nothing** in training mode, since the batch mean subtracts it
# right away ($\beta_i$ takes its role). Its gradient is exactly 0, and frameworks let you
# drop it (`bias=False`).
#
# A network here is a list of layers, each a dict: `{"W", "b"}` for a plain dense layer,
# `{"W", "b", "gamma", "beta"}` for a dense layer followed by batch norm. The running
# statistics are a list with one entry per layer: `(running_mean, running_var)` for a layer
# with batch norm, `None` for the others. Every layer but the last is followed by a ReLU.
#
# ### Exercise 7: `mlp_forward` and `mlp_backward` (3 points)
# - `mlp_forward(params, running, X, training=True)` returns `(scores, caches,
#   new_running)`: the scores $(N, C)$, one cache per layer (a dict; **`caches[i]["input"]`
#   must be layer `i`'s input**, `X` for the first; put in it anything else your backward
#   needs), and the new running statistics (your `batch_norm`'s, `None` where there is no
#   batch norm). `training` is passed on to `batch_norm`.
# - `mlp_backward(dscores, params, caches)` returns `grads`, a list with one dict per layer,
#   `grads[i]` holding the gradients of the loss for the keys of `params[i]`.
#
# Use your `batch_norm`, `batch_norm_backward`, `relu_backward` and `dense_backward`; the
# ReLU itself is `np.maximum(z, 0)`.

# %% nbgrader={"grade": false, "grade_id": "ex7-deep-mlp", "locked": false, "schema_version": 3, "solution": true}
def mlp_forward(params, running, X, training=True):
    """Dense -> (batch norm) -> ReLU for every layer but the last, then dense.

    Returns (scores, caches, new_running); caches[i]["input"] is layer i's input.
    """
    ### BEGIN SOLUTION
    h, caches, new_running = X, [], []
    for i, layer in enumerate(params):
        z = h @ layer["W"] + layer["b"]
        cache, stats = {"input": h}, running[i]
        if "gamma" in layer:
            z, cache["bn"], mean, var = batch_norm(z, layer["gamma"], layer["beta"], stats[0],
                                                   stats[1], training=training)
            stats = (mean, var)
        new_running.append(stats)
        if i < len(params) - 1:
            cache["z"] = z
            z = np.maximum(z, 0.0)
        caches.append(cache)
        h = z
    return h, caches, new_running
    ### END SOLUTION


def mlp_backward(dscores, params, caches):
    """Gradients of every layer's parameters, from dL/dscores: a list of dicts."""
    ### BEGIN SOLUTION
    grads, g = [None] * len(params), dscores
    for i in reversed(range(len(params))):
        layer, cache, grad = params[i], caches[i], {}
        if i < len(params) - 1:
            g = relu_backward(g, cache["z"])
        if "gamma" in layer:
            g, grad["gamma"], grad["beta"] = batch_norm_backward(g, cache["bn"])
        g, grad["W"], grad["b"] = dense_backward(g, cache["input"], layer["W"])
        grads[i] = grad
    return grads
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 7 and the hidden cases of its test.
def forward_variant(call="training=training", order="bn-relu", last="i < len(params) - 1",
                    keep="stats = (mean, var)", gate="z"):
    """The solution's mlp_forward with the batch_norm call, the order of batch norm and ReLU,
    the layers that get a ReLU, the running statistics kept or the array kept for the ReLU
    gate ("z": the ReLU's input; "dense": the dense layer's output) changed."""
    bn = f"""
        if "gamma" in layer:
            z, cache["bn"], mean, var = batch_norm(z, layer["gamma"], layer["beta"], stats[0],
                                                   stats[1], {call})
            {keep}"""
    store = 'cache["z"] = z' if gate == "z" else "pass"
    relu = f"""
        if {last}:
            {store}
            z = np.maximum(z, 0.0)"""
    body = bn + relu if order == "bn-relu" else relu + bn
    return """
def mlp_forward(params, running, X, training=True):
    h, caches, new_running = X, [], []
    for i, layer in enumerate(params):
        z = h @ layer["W"] + layer["b"]
        cache, stats = {"input": h, "z": z}, running[i]""" + body + """
        new_running.append(stats)
        caches.append(cache)
        h = z
    return h, caches, new_running
"""


def backward_variant(gate='cache["z"]', order="grads[i] = grad",
                     bn='g, grad["gamma"], grad["beta"] = batch_norm_backward(g, cache["bn"])'):
    """The solution's mlp_backward with the ReLU gate, the batch-norm step or the order of
    the gradients changed."""
    return f"""
def mlp_backward(dscores, params, caches):
    grads, g = [None] * len(params), dscores
    for i in reversed(range(len(params))):
        layer, cache, grad = params[i], caches[i], {{}}
        if i < len(params) - 1:
            g = relu_backward(g, {gate})
        if "gamma" in layer:
            {bn}
        g, grad["W"], grad["b"] = dense_backward(g, cache["input"], layer["W"])
        {order}
    return grads
"""


MISTAKES.add("ex7-deep-mlp", "batch norm in evaluation mode while training",
             words="training", message="in training the scores came from batch norm in "
             "evaluation mode: pass training on to batch_norm",
             code=forward_variant(call="training=False"))
MISTAKES.add("ex7-deep-mlp", "running statistics not kept", words="running statistics",
             message="the running statistics came back unchanged: keep the new running mean "
                     "and variance that batch_norm returns", code=forward_variant(keep="pass"))
MISTAKES.add("ex7-deep-mlp", "ReLU before batch norm", words="after batch norm",
             message="the ReLU came before batch norm: dense -> batch norm -> ReLU",
             code=forward_variant(order="relu-bn"))
MISTAKES.add("ex7-deep-mlp", "ReLU on the output layer", words="last layer",
             message="the scores went through a ReLU: the last layer has no activation",
             code=forward_variant(last="True"))
MISTAKES.add("ex7-deep-mlp", "backward skips batch norm", words="batch_norm_backward",
             message="the gradient skipped batch norm on its way down: call "
                     "batch_norm_backward between relu_backward and dense_backward",
             code=backward_variant(bn='_, grad["gamma"], grad["beta"] = batch_norm_backward(g, '
                                      'cache["bn"])'))
MISTAKES.add("ex7-deep-mlp", "ReLU gate on the dense output", words="ReLU gate",
             message="the ReLU gate used the dense layer's output: gate with the ReLU's input, "
                     "batch norm's output", code=forward_variant(gate="dense"))
MISTAKES.add("ex7-deep-mlp", "gradients in backward order", words="grads[i]",
             message="grads is in the order of the backward pass: grads[i] must be layer i's",
             code=backward_variant(order="grads.append(grad)").replace(
                 "grads, g = [None] * len(params), dscores", "grads, g = [], dscores"))


def reference_mlp(params, running, X, training=True):
    """Scores, caches and new running statistics of the network, from scratchnn.functional."""
    h, caches, new_running = X, [], []
    for i, layer in enumerate(params):
        z, cache, stats = F.dense(h, layer["W"], layer["b"]), {"input": h}, running[i]
        if "gamma" in layer:
            z, cache["bn"], mean, var = F.batch_norm(z, layer["gamma"], layer["beta"], *stats,
                                                     training=training)
            stats = (mean, var)
        new_running.append(stats)
        if i < len(params) - 1:
            cache["z"], z = z, F.relu(z)
        caches.append(cache)
        h = z
    return h, caches, new_running


def reference_mlp_backward(dscores, params, caches):
    grads, g = [None] * len(params), dscores
    for i in reversed(range(len(params))):
        grad = {}
        if i < len(params) - 1:
            g = F.relu_backward(g, caches[i]["z"])
        if "gamma" in params[i]:
            g, grad["gamma"], grad["beta"] = F.batch_norm_backward(g, caches[i]["bn"])
        g, grad["W"], grad["b"] = F.dense_backward(g, caches[i]["input"], params[i]["W"])
        grads[i] = grad
    return grads


def mlp_cases():
    """Each case: what, the layers (W, b, gamma, beta or None), the running statistics, X,
    dscores, the expected training and evaluation scores, the new running statistics and
    the gradients (in backward order), with the mistakes' outputs where they differ."""
    cases = []
    for seed, sizes, bn_layers, n in [(561, [3, 5, 4, 2], [0, 1], 6), (562, [2, 3, 3, 3, 2],
                                                                     [0, 2], 5)]:
        rng = np.random.default_rng(seed)
        params, flat, running = [], [], []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layer = {"W": short(rng.normal(size=(a, b))), "b": short(rng.normal(size=b))}
            stats = None
            if i in bn_layers:
                layer["gamma"] = short(rng.normal(1.0, 0.3, size=b))
                layer["beta"] = short(rng.normal(0.0, 0.3, size=b))
                stats = (short(rng.normal(size=b)), short(rng.uniform(0.5, 2.0, size=b)))
            params.append(layer)
            running.append(stats)
            flat.append([layer["W"], layer["b"], layer.get("gamma"), layer.get("beta")])
        X = short(rng.normal(size=(n, sizes[0])))
        dscores = short(rng.normal(size=(n, sizes[-1])))
        scores, caches, new_running = reference_mlp(params, running, X)
        eval_scores = reference_mlp(params, running, X, training=False)[0]
        grads = reference_mlp_backward(dscores, params, caches)
        mistakes = MISTAKES.outputs("ex7-deep-mlp", "mlp_forward", params, running, X,
                                    want=scores, pick=lambda r: r[0])
        stats_mistakes = MISTAKES.outputs(
            "ex7-deep-mlp", "mlp_forward", params, running, X, want=new_running[bn_layers[0]][0],
            pick=lambda r, j=bn_layers[0]: r[2][j][0])
        expected_grads = []
        for i in reversed(range(len(params))):
            for key in ["gamma", "beta", "W", "b"]:
                if key in grads[i]:
                    expected_grads.append((i, key, grads[i][key]))
        cases.append((f"{len(sizes) - 1} layers {sizes}, batch norm after layers {bn_layers}, "
                      f"N = {n}", flat, [list(s) if s else None for s in running], X, dscores,
                      scores, mistakes, eval_scores, [list(s) if s else None for s in new_running],
                      stats_mistakes, expected_grads))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex7-deep-mlp-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 7
# 3 layers, 2 -> 3 -> 3 -> 2, batch norm after the first two; a batch of 4.
X = np.array([[1.0, -1.0], [0.5, 2.0], [-1.5, 0.5], [2.0, 1.0]])
params = [{"W": np.array([[1.0, -0.5, 0.2], [0.5, 1.0, -1.0]]), "b": np.array([0.1, 0.0, -0.2]),
           "gamma": np.array([1.0, 2.0, 0.5]), "beta": np.array([0.0, 0.5, -0.5])},
          {"W": np.array([[1.0, 0.0, -1.0], [0.5, -1.0, 1.0], [-0.5, 1.0, 0.5]]),
           "b": np.array([0.0, 0.3, 0.0]), "gamma": np.array([1.5, 1.0, 1.0]),
           "beta": np.array([0.2, 0.0, 0.1])},
          {"W": np.array([[1.0, -1.0], [-0.5, 0.5], [0.3, 0.8]]), "b": np.array([0.1, -0.1])}]
running = [(np.zeros(3), np.ones(3)), (np.array([0.5, 0.0, -0.5]), np.array([2.0, 1.0, 0.5])),
           None]
bn_out, bn_cache, _, _ = batch_norm(X, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))
assert np.allclose(bn_out[0], [0.3922310634, -1.501104295]) and np.allclose(
    batch_norm_backward(np.array([[1.0, 1.0], [0, 0], [0, 0], [0, 0]]), bn_cache)[0][0],
    [0.5581751605, 0.1724389852]), (
    "your batch_norm or batch_norm_backward (Exercises 3 and 5) gives a wrong result on this "
    "test's X, and the network below uses them: make their tests pass first")
result = mlp_forward(params, running, X)
assert isinstance(result, tuple) and len(result) == 3, (
    "mlp_forward should return a tuple (scores, caches, new_running)")
scores, caches, new_running = result
assert np.shape(scores) == (4, 2), f"the scores should have shape (4, 2), got {np.shape(scores)}"
assert len(caches) == 3 and caches[0]["input"] is X, (
    "caches should hold one dict per layer, with caches[0]['input'] the input X")
assert np.min(caches[1]["input"]) >= 0.0, (
    "the input of layer 1 has negative values: the ReLU came before batch norm: dense -> "
    "batch norm -> ReLU (the ReLU comes after batch norm)")
want_scores = np.array([[-0.4406958131, 0.4406958131], [2.474916895, -1.217474277],
                        [0.5348574846, 0.4840825027], [0.3965674261, -0.3965674261]])
eval_scores = np.array([[0.2560633201, -0.2560633201], [4.848370012, -0.2270886389],
                        [2.875554979, 2.679093344], [2.792531384, -2.792531384]])
verdict(scores, want_scores, "the scores in training mode", [
    (eval_scores, "in training the scores came from batch norm in evaluation mode: pass "
                  "training on to batch_norm"),
    (np.maximum(want_scores, 0.0), "the scores went through a ReLU: the last layer has no "
                                   "activation")])
verdict(mlp_forward(params, running, X, training=False)[0], eval_scores, "the scores in "
        "evaluation mode (with the running statistics)")
assert len(new_running) == 3 and new_running[2] is None, (
    "new_running should have one entry per layer, None for the last (no batch norm)")
verdict(new_running[0][0], [0.09125, 0.0375, -0.0725], "the new running mean of layer 0", [
    ([0.0, 0.0, 0.0], "the running statistics came back unchanged: keep the new running mean "
                      "and variance that batch_norm returns")])
verdict(new_running[1][1], [1.868265618, 1.108465501, 0.7045862667],
        "the new running variance of layer 1")

dscores = np.array([[0.5, -0.5], [-1.0, 1.0], [0.25, 0.0], [0.0, -0.25]])
grads = mlp_backward(dscores, params, caches)
assert isinstance(grads, list) and len(grads) == 3, "mlp_backward should return a list of 3 dicts"
assert np.shape(grads[0]["W"]) == (2, 3), (
    f"grads[0]['W'] has shape {np.shape(grads[0]['W'])}, layer 0's W is (2, 3): grads[i] must "
    f"be layer i's (is the list in the order of the backward pass?)")
assert set(grads[0]) == {"W", "b", "gamma", "beta"} and set(grads[2]) == {"W", "b"}, (
    "grads[i] should have the keys of params[i]")
verdict(grads[2]["W"], [[-1.992736809, 1.850205623], [0.5406958131, -0.7559568525],
                        [-0.9115523827, 1.143129653]], "the gradient for W of the last layer")
verdict(grads[2]["b"], [-0.25, 0.25], "the gradient for b of the last layer")
verdict(grads[1]["beta"], [-1.5, -0.625, 0.575], "the gradient for beta of layer 1 (check "
        "the ReLU gate: relu_backward gates with the ReLU's input, batch norm's output)")
verdict(grads[1]["gamma"], [-2.361961621, -0.6483263328, 0.5835380072],
        "the gradient for gamma of layer 1")
for i in (0, 1):
    assert np.allclose(grads[i]["b"], 0.0, atol=1e-10), (
        f"the gradient for b of layer {i}, which batch norm follows, should be 0 (the batch "
        f"mean removes b), got {grads[i]['b']}: the gradient skipped batch norm on its way "
        f"down: call batch_norm_backward between relu_backward and dense_backward")
verdict(grads[1]["W"], [[1.185899467, 0.1455045998, 0.1299296252],
                        [-2.681942069, -0.03711918694, 0.1378068582],
                        [-0.3100047405, -0.03712333357, -0.01574835371]],
        "the gradient for W of layer 1")
verdict(grads[0]["gamma"], [1.055969841, -0.508660909, 0.6192686959],
        "the gradient for gamma of layer 0")
verdict(grads[0]["W"], [[0.9452010143, -1.988524328, 0.008390542049],
                        [-1.890391017, -0.9942686104, 0.00167560507]],
        "the gradient for W of layer 0")
print("✅ mlp_forward and mlp_backward pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, the layers [W, b, gamma, beta] (None: no batch norm), the running
# statistics, X, dscores, the expected training scores and (message, output) of mistakes, the
# evaluation scores, the new running statistics and (message, output) of mistakes for the
# first batch-norm layer's mean, and the gradients (layer, key, value) in backward order
_cases = literal(mlp_cases())
for _what, _flat, _running, _X, _ds, _S, _S_mistakes, _S_eval, _new, _new_mistakes, _grads in (
        _cases):
    _params, _stats = [], []
    for _layer in _flat:
        _made = {"W": _hidden_make(_layer[0]), "b": _hidden_make(_layer[1])}
        if _layer[2] is not None:
            _made["gamma"], _made["beta"] = _hidden_make(_layer[2]), _hidden_make(_layer[3])
        _params.append(_made)
    for _s in _running:
        _stats.append(None if _s is None else (_hidden_make(_s[0]), _hidden_make(_s[1])))
    _got = _hidden_call(mlp_forward, (_params, _stats, _hidden_make(_X), False),
                        f"mlp_forward in evaluation, {_what}")
    assert _type(_got) is _tuple and _got.__len__() == 3, (
        f"hidden case {_what}: mlp_forward should return (scores, caches, new_running)")
    _hidden_array(_got[0], _S_eval, f"the evaluation scores, {_what}", rtol=1e-5)
    _got = _hidden_call(mlp_forward, (_params, _stats, _hidden_make(_X), True),
                        f"mlp_forward in training, {_what}")
    _hidden_array(_got[0], _S, f"the training scores, {_what}", mistakes=_S_mistakes,
                  rtol=1e-5)
    _i = 0
    for _s in _new:
        if _s is not None:
            _hidden_array(_got[2][_i][0], _s[0], f"the new running mean of layer {_i}, {_what}",
                          mistakes=_new_mistakes, rtol=1e-5)
            _hidden_array(_got[2][_i][1], _s[1], f"the new running var of layer {_i}, {_what}",
                          rtol=1e-5)
            _new_mistakes = ()
        _i += 1
    _back = _hidden_call(mlp_backward, (_hidden_make(_ds), _params, _got[1]),
                         f"mlp_backward, {_what}")
    for _layer_index, _key, _want in _grads:
        _hidden_array(_back[_layer_index][_key], _want,
                      f"the gradient for {_key} of layer {_layer_index}, {_what}", rtol=1e-5,
                      atol=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# ### The experiment: six layers, with and without batch norm, at two learning rates
# The digits again (8x8 images, 10 classes; 1,437 for training, 360 for testing), and a
# six-layer MLP, $64 \to 64 \to 64 \to 64 \to 64 \to 64 \to 10$, He-initialized. The cell
# trains it four times with **your** functions (`mlp_forward`, `softmax_cross_entropy`,
# `mlp_backward`, `sgd`), from the same initial weights and on the same mini-batches of 64:
# without and with batch norm, at a normal learning rate (0.05) and a high one (0.8). A run
# whose loss stops being finite is stopped and marked as diverged. The test accuracy is
# measured in evaluation mode, with the running statistics.

# %% nbgrader={"grade": false, "grade_id": "experiment", "locked": true, "schema_version": 3, "solution": false}
from scratchnn.datasets import load_digits

(X_train, y_train), (X_test, y_test) = load_digits(test_size=0.2, seed=0)
SIZES = [64, 64, 64, 64, 64, 64, 10]


def init_mlp(sizes, batchnorm, seed=0):
    """He-initialized layers with zero biases; with batchnorm, gamma = 1 and beta = 0 on every
    hidden layer and running statistics (zeros, ones), else None: (params, running)."""
    weights = np.random.default_rng(seed)
    params, running = [], []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = {"W": weights.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out)),
                 "b": np.zeros(n_out)}
        normalized = batchnorm and i < len(sizes) - 2
        if normalized:
            layer.update(gamma=np.ones(n_out), beta=np.zeros(n_out))
        params.append(layer)
        running.append((np.zeros(n_out), np.ones(n_out)) if normalized else None)
    return params, running


def train(batchnorm, lr, epochs=10, batch_size=64, seed=0):
    """SGD on the digits with your functions: (losses, test accuracy or None, params,
    running). The same initial weights (seed 0) and batches for every run."""
    params, running = init_mlp(SIZES, batchnorm, seed=0)
    shuffler = np.random.default_rng(seed)
    losses = []
    with np.errstate(all="ignore"):   # a diverging run overflows: it is stopped below
        for _ in range(epochs):
            order = shuffler.permutation(len(X_train))
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                scores, caches, running = mlp_forward(params, running, X_train[batch], True)
                loss, dscores = softmax_cross_entropy(scores, y_train[batch])
                if not np.isfinite(loss) or loss > 1e3:
                    return np.array(losses), None, params, running
                grads = mlp_backward(dscores, params, caches)
                params = [{key: sgd(value, grad[key], lr) for key, value in layer.items()}
                          for layer, grad in zip(params, grads)]
                losses.append(loss)
        scores = mlp_forward(params, running, X_test, False)[0]
    return np.array(losses), float(np.mean(np.argmax(scores, axis=1) == y_test)), params, running


runs = {(bn, lr): train(bn, lr) for bn in (False, True) for lr in (0.05, 0.8)}
fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4), constrained_layout=True, sharey=True)
for ax, lr in zip(axes, (0.05, 0.8)):
    for bn, color in ((False, "tab:red"), (True, "tab:blue")):
        losses, accuracy = runs[(bn, lr)][:2]
        smooth = np.convolve(losses, np.ones(5) / 5, mode="valid") if len(losses) > 5 else losses
        label = (f"{'with' if bn else 'without'} batch norm: "
                 + ("diverged" if accuracy is None else f"test accuracy {accuracy:.1%}"))
        ax.plot(smooth, color=color, label=label)
    ax.set(title=f"learning rate {lr}", xlabel="step (mini-batch of 64)", yscale="log")
    ax.legend(fontsize="small")
axes[0].set_ylabel("training loss (moving average of 5)")
plt.show()
for (bn, lr), (losses, accuracy, _, _) in runs.items():
    result = "diverged" if accuracy is None else f"test accuracy {accuracy:.1%}"
    print(f"{'with' if bn else 'without':7s} batch norm, lr {lr}: {len(losses)} steps, {result}")

# %% [markdown]
# ### Per layer: the activations after training
# The histograms below show the activations after each hidden layer (the inputs of the next
# layer, `caches[i]["input"]`) of the two networks trained at the normal learning rate, on the
# test images. Without batch norm every layer has its own scale, set by the product of all
# the weights below it; with batch norm every layer's pre-activations are standardized, so
# after the ReLU about half the units are active with values of order 1, in every layer.

# %%
fig, axes = plt.subplots(2, 5, figsize=(8.4, 3.6), constrained_layout=True, sharey="row")
for row, bn in enumerate((False, True)):
    _, _, trained, stats = runs[(bn, 0.05)]
    caches = mlp_forward(trained, stats, X_test, False)[1]
    for i, ax in enumerate(axes[row]):
        values = caches[i + 1]["input"].ravel()
        ax.hist(values, bins=30, color="tab:blue" if bn else "tab:red")
        ax.set_title(f"layer {i + 1}: std {values.std():.2f}", fontsize="small")
        ax.set_yscale("log")
        ax.tick_params(labelsize="x-small")
    axes[row, 0].set_ylabel("with BN" if bn else "without BN")
plt.show()

# %% [markdown]
# ### What the curves show
# - At the **normal learning rate** both networks train; batch norm gets the loss down a
#   little faster and ends a little higher. Six layers are not yet deep enough for the plain
#   network to fail, with a good initialization.
# - At the **high learning rate** the plain network fails: its first large steps push many
#   pre-activations below 0 for every example, those ReLUs never switch on again (a unit that
#   is off for every example gets no gradient), and the loss stays near $\log 10 \approx 2.3$,
#   chance level. (Measured on this run: about half of the first hidden layer's units and
#   nearly all of the fifth's are off for every test image. At a learning rate of 1.0 it
#   overflows instead, and is marked as diverged: try it.) With batch norm, the same steps are
#   harmless: whatever the scale of $h W$, the next layer sees it standardized, and the
#   gradient with respect to $W$ even shrinks when $W$ grows (the output does not change if
#   $W$ is scaled up, so the gradient must be orthogonal to $W$ and scales like
#   $1/\lVert W\rVert$). That is the learning-rate
#   tolerance batch norm is known for.
# - Ioffe and Szegedy's original explanation, "reducing internal covariate shift", is
#   debated: Santurkar et al. (2018) showed that injecting noise after batch norm does not
#   hurt it, and argue that its benefit is a smoother loss landscape, which is what lets
#   larger steps succeed.
#
# ### Play: initialization and batch norm, layer by layer
# The widget builds a fresh, untrained network of the same shape, with the initial weights
# scaled by a factor of He's $\sqrt{2 / \text{fan-in}}$ (the slider, log scale), and runs
# **your** `mlp_forward` on the 360 test images. Things to try:
# - Without batch norm, scale 0.5: the activations shrink by about half at every layer, and
#   the last layers are nearly all zero. Scale 2: they grow by about 2 per layer. Deep
#   networks without normalization only train from a narrow band around scale 1: that is
#   why the initialization schemes of notebook 06 matter.
# - Tick batch norm: any scale gives the same healthy distribution in every layer.
#
# (The widget needs a live kernel: if you see no plot, run the cell.)

# %%
from scratchnn.interactive.batchnorm import activation_explorer

activation_explorer(mlp_forward, X_test, depth=6, width=64, init_scale=0.5, batchnorm=False)

# %% [markdown]
# ## 5. Layer normalization
#
# Batch norm's statistics come from the batch, and that is also its weakness: with small
# batches they are noisy (with $N = 2$, $\hat x$ is always $\pm 1$), it behaves differently in
# training and evaluation, and in a recurrent network or a transformer, where sequences of
# different lengths share a batch, "the statistics of this feature over the batch" is
# awkward. **Layer normalization** (Ba, Kiros & Hinton, 2016) normalizes each example over
# its own features instead:
#
# $$
# \mu_n = \frac1D \sum_{j=1}^D x_{nj} , \qquad
# \sigma_n^2 = \frac1D \sum_{j=1}^D (x_{nj} - \mu_n)^2 , \qquad
# y_{nj} = \gamma_j\, \frac{x_{nj} - \mu_n}{\sqrt{\sigma_n^2 + \varepsilon}} + \beta_j .
# $$
#
# The same formula with the roles of the axes swapped for the statistics, while $\gamma$ and
# $\beta$ stay per feature (shape $(D,)$, as in PyTorch's `nn.LayerNorm(D)`). Consequences:
# every example is normalized on its own, so there is **no difference between training and
# evaluation** and no running statistics, and any batch size works, even 1. It is the
# normalization of every transformer.
#
# The backward pass is batch norm's compact formula along the other axis: with
# $\hat g_{nj} = \gamma_j\, g_{nj}$ and $s_n = (\sigma_n^2 + \varepsilon)^{-1/2}$,
#
# $$
# \frac{\partial L}{\partial x_{nj}} = \frac{s_n}{D}\Bigl( D\,\hat g_{nj} - \sum_k \hat g_{nk}
#   - \hat x_{nj} \sum_k \hat g_{nk}\, \hat x_{nk} \Bigr) , \qquad
# \frac{\partial L}{\partial\gamma_j} = \sum_n g_{nj}\, \hat x_{nj} , \qquad
# \frac{\partial L}{\partial\beta_j} = \sum_n g_{nj} .
# $$
#
# Note where each sum runs: over the features $k$ for $\partial L/\partial x$ (the
# statistics are per example), over the batch $n$ for $\gamma$ and $\beta$ (the parameters
# are shared by all examples).
#
# ### Exercise 8: `layer_norm` and `layer_norm_backward` (3 points)
# `layer_norm(x, gamma, beta, eps=1e-5)` returns `(out, cache)` for `x` of shape `(N, D)`
# (biased variance, as PyTorch); `layer_norm_backward(grad_out, cache)` returns
# `(dx, dgamma, dbeta)`. The cache is yours. Mind `keepdims=True` for the per-example
# statistics. No loops.

# %% nbgrader={"grade": false, "grade_id": "ex8-layer-norm", "locked": false, "schema_version": 3, "solution": true}
def layer_norm(x, gamma, beta, eps=1e-5):
    """Layer normalization of each row of x (N, D); gamma, beta: (D,). Returns (out, cache)."""
    ### BEGIN SOLUTION
    centered = x - x.mean(axis=1, keepdims=True)
    s = 1.0 / np.sqrt(np.mean(centered * centered, axis=1, keepdims=True) + eps)
    x_hat = centered * s
    return gamma * x_hat + beta, (x_hat, s, gamma)
    ### END SOLUTION


def layer_norm_backward(grad_out, cache):
    """Backward of layer_norm, from its cache. Returns (dx, dgamma, dbeta)."""
    ### BEGIN SOLUTION
    x_hat, s, gamma = cache
    d = x_hat.shape[1]
    g = grad_out * gamma
    dx = s / d * (d * g - g.sum(axis=1, keepdims=True)
                  - x_hat * np.sum(g * x_hat, axis=1, keepdims=True))
    return dx, np.sum(grad_out * x_hat, axis=0), grad_out.sum(axis=0)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 8 and the hidden cases of its test.
LN_FORWARD = """
def layer_norm(x, gamma, beta, eps=1e-5):
    centered = x - x.mean(axis=1, keepdims=True)
    s = 1.0 / np.sqrt(np.mean(centered * centered, axis=1, keepdims=True) + eps)
    x_hat = centered * s
    return gamma * x_hat + beta, (x_hat, s, gamma)
"""


def ln_backward_variant(dx="s / d * (d * g - g.sum(axis=1, keepdims=True) - x_hat * "
                           "np.sum(g * x_hat, axis=1, keepdims=True))",
                        g="grad_out * gamma", dgamma="np.sum(grad_out * x_hat, axis=0)"):
    return f"""
def layer_norm_backward(grad_out, cache):
    x_hat, s, gamma = cache
    d = x_hat.shape[1]
    g = {g}
    return {dx}, {dgamma}, grad_out.sum(axis=0)
"""


MISTAKES.add("ex8-layer-norm", "statistics over the batch", words="axis=1",
             message="layer_norm's statistics were taken over the batch: layer norm normalizes "
                     "each example over its features, axis=1", code="""
def layer_norm(x, gamma, beta, eps=1e-5):
    centered = x - x.mean(axis=0)
    s = 1.0 / np.sqrt(np.mean(centered * centered, axis=0) + eps)
    x_hat = centered * s
    return gamma * x_hat + beta, (x_hat, s, gamma)
""" + ln_backward_variant())
MISTAKES.add("ex8-layer-norm", "unbiased variance", words="biased",
             message="layer_norm used the unbiased variance (divided by D - 1): use the "
                     "biased one, the mean over the features", code="""
def layer_norm(x, gamma, beta, eps=1e-5):
    centered = x - x.mean(axis=1, keepdims=True)
    s = 1.0 / np.sqrt(x.var(axis=1, ddof=1, keepdims=True) + eps)
    x_hat = centered * s
    return gamma * x_hat + beta, (x_hat, s, gamma)
""")
MISTAKES.add("ex8-layer-norm", "eps added to the standard deviation", words="inside",
             message="layer_norm added eps to the standard deviation: it goes inside the "
                     "square root, sqrt(var + eps)", code="""
def layer_norm(x, gamma, beta, eps=1e-5):
    centered = x - x.mean(axis=1, keepdims=True)
    s = 1.0 / (x.std(axis=1, keepdims=True) + eps)
    x_hat = centered * s
    return gamma * x_hat + beta, (x_hat, s, gamma)
""")
MISTAKES.add("ex8-layer-norm", "no keepdims", words="keepdims", code="""
def layer_norm(x, gamma, beta, eps=1e-5):
    centered = x - x.mean(axis=1)
    s = 1.0 / np.sqrt(np.mean(centered * centered, axis=1) + eps)
    x_hat = centered * s
    return gamma * x_hat + beta, (x_hat, s, gamma)
""")
MISTAKES.add("ex8-layer-norm", "backward sums over the batch", words=("dx", "axis=1"),
             message="the sums in layer_norm_backward's dx ran over the batch: for layer norm "
                     "they run over each example's features, axis=1", code=ln_backward_variant(
                         dx="s / d * (d * g - g.sum(axis=0, keepdims=True) - x_hat * "
                            "np.sum(g * x_hat, axis=0, keepdims=True))"))
MISTAKES.add("ex8-layer-norm", "backward without gamma", words=("dx", "gamma"),
             message="layer_norm_backward's dx lacks the factor gamma: dL/dx_hat = gamma * "
                     "grad_out", code=ln_backward_variant(g="grad_out"))
MISTAKES.add("ex8-layer-norm", "backward divides by N, not D", words=("dx", "D"),
             message="layer_norm_backward's dx divided by N, the batch size: the statistics "
                     "average D features, divide by D", code=ln_backward_variant(
                         dx="s / x_hat.shape[0] * (d * g - g.sum(axis=1, keepdims=True) - "
                            "x_hat * np.sum(g * x_hat, axis=1, keepdims=True))"))
MISTAKES.add("ex8-layer-norm", "dgamma summed over the features", words=("dgamma", "axis=0"),
             message="dgamma was summed over the features: gamma is shared by the examples, sum "
                     "over the batch, axis=0", code=ln_backward_variant(
                         dgamma="np.sum(grad_out * x_hat, axis=1)"))


def layer_norm_cases():
    """Each case: what, x, gamma, beta, eps, grad_out, and for out, dx, dgamma, dbeta:
    (expected, mistakes)."""
    cases = []
    for seed, n, d, eps in [(571, 4, 5, 1e-5), (572, 1, 3, 1e-5), (573, 6, 2, 1e-3),
                            (574, 3, 3, 1e-5)]:
        x, gamma, beta = bn_inputs(seed, n, d)
        grad_out = short(np.random.default_rng(seed + 50).normal(size=(n, d)))
        out, cache = F.layer_norm(x, gamma, beta, eps)
        grads = F.layer_norm_backward(grad_out, cache)
        parts = [(out, MISTAKES.outputs("ex8-layer-norm", "layer_norm", x, gamma, beta, eps,
                                        want=out, pick=lambda r: r[0]))]
        solution_cache = layer_norm(x, gamma, beta, eps)[1]
        for k in range(3):
            parts.append((grads[k], MISTAKES.outputs(
                "ex8-layer-norm", "layer_norm_backward", grad_out, solution_cache,
                want=grads[k], pick=lambda r, k=k: r[k])))
        cases.append((f"x of shape ({n}, {d}), eps {eps}", x, gamma, beta, eps, grad_out,
                       parts))
    return cases


# %% nbgrader={"grade": true, "grade_id": "ex8-layer-norm-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 8
x = np.array([[1.0, 2.0, 3.0, 6.0], [0.0, -2.0, 2.0, 0.0], [5.0, 5.0, 5.0, 1.0]])
gamma, beta = np.array([1.0, 2.0, 0.5, 1.0]), np.array([0.0, 1.0, 0.0, -1.0])
try:
    result = layer_norm(x, gamma, beta)
except ValueError as err:
    raise AssertionError(
        f"layer_norm failed on x of shape (3, 4) ({err}): the per-example mean has shape (3,) "
        f"and cannot be subtracted from (3, 4); keep the axis, mean(axis=1, keepdims=True)"
    ) from None
assert isinstance(result, tuple) and len(result) == 2, "layer_norm should return (out, cache)"
out, cache = result
verdict(out, [[-1.06904344, -0.06904344045, 0.0, 0.6035651607],
              [0.0, -1.828420054, 0.7071050134, -1.0],
              [0.5773493069, 2.154698614, 0.2886746535, -2.732047921]], "layer_norm's output", [
    ([[-0.4629095539, 1.232495136, -0.1336301914, 0.3970003831],
      [-0.9258191078, -1.557446497, -0.5345207657, -1.889000244],
      [1.388728662, 3.324951361, 0.6681509572, -1.508000139]],
     "layer_norm's statistics were taken over the batch: layer norm normalizes each example "
     "over its features, axis=1"),
    ([[-0.9258191078, 0.07418089218, 0.0, 0.3887286617],
      [0.0, -1.44948515, 0.6123712875, -1.0], [0.499999375, 1.99999875, 0.2499996875,
                                                -2.499998125]],
     "layer_norm used the unbiased variance (divided by D - 1): use the biased one, the mean "
     "over the features"),
    ([[-1.0690392534, -0.0690392534, 0.0, 0.6035588801], [0.0, -1.8284071249, 0.7071017812,
                                                           -1.0],
      [0.5773469359, 2.1546938718, 0.2886734679, -2.7320408076]],
     "layer_norm added eps to the standard deviation: it goes inside the square root, "
     "sqrt(var + eps)")], rtol=1e-7, atol=1e-9)
alone = layer_norm(x[1:2], gamma, beta)[0]
verdict(alone, out[1:2], "layer_norm of the second example alone (layer norm does not "
        "depend on the rest of the batch)")
g = np.array([[1.0, 0.0, -1.0, 2.0], [0.5, 0.5, 0.0, -1.0], [2.0, -1.0, 0.0, 1.0]])
result = layer_norm_backward(g, cache)
assert isinstance(result, tuple) and len(result) == 3, (
    "layer_norm_backward should return a tuple (dx, dgamma, dbeta)")
dx, dgamma, dbeta = result
verdict(dbeta, [3.5, -0.5, -1.0, 2.0], "layer_norm_backward's dbeta (a sum over the batch)")
verdict(dgamma, [0.08565517344, -1.28445432, 0.0, 1.475082401], "layer_norm_backward's dgamma",
        [([2.138086881, -0.7071050134, -1.154698614], "dgamma was summed over the features: "
          "gamma is shared by the examples, sum over the batch, axis=0")])
verdict(dx, [[0.5058857554, -0.18135602, -0.6013369353, 0.2768071999],
             [0.26516438, 0.2651661478, 0.2651626123, -0.7954931401],
             [1.154698133, -1.154699095, -4.811228187e-07, 1.443368456e-06]],
        "layer_norm_backward's dx", [
    ([[0.07905163341, -0.04986252002, -0.2004456451, 0.4856943976],
      [-0.26516438, 0.2416573177, 0.08838812668, -1.06065752],
      [0.642380063, -0.7962862807, 0.07216866337, 0.6574440244]],
     "the sums in layer_norm_backward's dx ran over the batch: for layer norm they run over "
     "each example's features, axis=1"),
    ([[0.5727009704, -0.114540805, -0.8017825803, 0.3436224149],
      [0.3535525067, 0.1767771372, 0.1767753695, -0.7071050134],
      [0.9622485242, -0.7697993967, -0.1924500897, 9.622456374e-07]],
     "layer_norm_backward's dx lacks the factor gamma: dL/dx_hat = gamma * grad_out"),
    ([[0.6745143405, -0.2418080267, -0.8017825803, 0.3690762665],
      [0.3535525067, 0.3535548637, 0.3535501497, -1.06065752],
      [1.53959751, -1.539598793, -6.414970916e-07, 1.924491275e-06]],
     "layer_norm_backward's dx divided by N, the batch size: the statistics average D "
     "features, divide by D")], atol=1e-7)
assert np.allclose(dx.sum(axis=1), 0.0, atol=1e-9), (
    "each row of dx should sum to 0 (shifting an example's features leaves its x_hat "
    "unchanged)")
print("✅ layer_norm and layer_norm_backward pass the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, x, gamma, beta, eps, grad_out, and for out, dx, dgamma, dbeta:
# the expected value and (message, output) of typical mistakes
_cases = literal(layer_norm_cases())
for _what, _x, _gamma, _beta, _eps, _g, _parts in _cases:
    _input = _hidden_make(_x)
    _got = _hidden_call(layer_norm, (_input, _hidden_make(_gamma), _hidden_make(_beta), _eps),
                        f"layer_norm with {_what}", "keep the axis: mean(axis=1, keepdims=True)")
    assert _input.tolist() == _x, f"hidden case {_what}: layer_norm modified x in place"
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: layer_norm should return (out, cache)")
    _hidden_array(_got[0], _parts[0][0], f"layer_norm's output with {_what}",
                  mistakes=_parts[0][1], rtol=1e-5)
    _back = _hidden_call(layer_norm_backward, (_hidden_make(_g), _got[1]),
                         f"layer_norm_backward with {_what}")
    assert _type(_back) is _tuple and _back.__len__() == 3, (
        f"hidden case {_what}: layer_norm_backward should return (dx, dgamma, dbeta)")
    for _i, _name in [(3, "dbeta"), (2, "dgamma"), (1, "dx")]:
        _hidden_array(_back[_i - 1], _parts[_i][0], f"{_name} of layer_norm_backward, {_what}",
                      mistakes=_parts[_i][1], rtol=1e-5, atol=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# ### See it: batch norm and layer norm on the same batch
# The same (8, 6) batch through **your** `batch_norm` (training mode) and **your**
# `layer_norm`: batch norm makes every **column** mean 0 and variance 1; layer norm every
# **row**. And only layer norm gives the same answer for an example whether it comes alone
# or in a batch.

# %%
rng = np.random.default_rng(3)
demo = rng.normal(0.0, 1.0, size=(8, 6)) * np.array([1.0, 5.0, 0.2, 2.0, 1.0, 3.0]) + 2.0
by_batch = batch_norm(demo, np.ones(6), np.zeros(6), np.zeros(6), np.ones(6))[0]
by_layer = layer_norm(demo, np.ones(6), np.zeros(6))[0]
fig, axes = plt.subplots(1, 3, figsize=(8.4, 2.8), constrained_layout=True)
for ax, values, title in zip(axes, (demo, by_batch, by_layer),
                             ("the batch (8 examples x 6 features)", "batch norm: columns",
                              "layer norm: rows")):
    image = ax.imshow(values, cmap="coolwarm", vmin=-3, vmax=3)
    ax.set(title=title, xlabel="feature", ylabel="example")
fig.colorbar(image, ax=axes, shrink=0.8)
plt.show()
print("batch norm: column means", by_batch.mean(axis=0).round(6), "row means",
      by_batch.mean(axis=1).round(2))
print("layer norm: row means   ", by_layer.mean(axis=1).round(6), "column means",
      by_layer.mean(axis=0).round(2))
print("first example alone, layer norm equal:",
      np.allclose(layer_norm(demo[:1], np.ones(6), np.zeros(6))[0], by_layer[:1]))

# %% [markdown]
# ## Summary
# You wrote, from the formulas:
# - **batch norm's forward pass** in training mode (the batch's mean and **biased** variance)
#   and in evaluation mode (the running statistics, averaged with a momentum from the
#   **unbiased** batch variance, as PyTorch does), and why a prediction must not depend on
#   the batch;
# - its **backward pass**, twice: node by node on the computational graph, where $c = x - \mu$
#   and $x$ each feed two nodes and their gradients add up; and as the compact formula
#   $\frac{\gamma s}{N}(N g - \sum g - \hat x \sum g \hat x)$, whose two sums are
#   $\partial L/\partial\beta$ and $\partial L/\partial\gamma$;
# - a **gradient check** of both with your own checker from notebook 02, below $10^{-8}$;
# - a **deep MLP** with batch norm between each dense layer and its ReLU, trained with your
#   own backward passes and SGD: batch norm made the high learning rate usable, kept every
#   layer's activations on the same scale, and made the initialization scale almost
#   irrelevant; the bias before a batch norm gets no gradient;
# - **layer normalization**, the per-example version: no batch statistics, no running
#   averages, the same in training and evaluation, any batch size.
#
# These are `scratchnn.functional.batch_norm`, `batch_norm_backward`, `layer_norm` and
# `layer_norm_backward`, and the `BatchNorm` layer of the capstone, notebook 06.
#
# ### Questions to think about
# 1. With a batch of size 2, what are the possible values of $\hat x$ in training mode? What
#    does that say about batch norm with tiny batches?
# 2. Why is the gradient of the bias $b$ of a layer followed by batch norm exactly 0 in
#    training mode? Is it still 0 in evaluation mode?
# 3. A network trained with batch norm is evaluated in training mode by mistake, on batches
#    that contain only one class. What goes wrong?
# 4. Show that in training mode $\sum_n \partial L/\partial x_{nj} = 0$ for every column $j$.
#    What does that mean for the update of the layer below?
# 5. In evaluation mode batch norm is an affine map per feature. How could you fold it into
#    the preceding dense layer's $W$ and $b$ for fast inference?
# 6. Why do transformers use layer norm rather than batch norm?
