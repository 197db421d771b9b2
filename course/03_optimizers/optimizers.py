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
# # Notebook 03 · Optimizers
#
# **SGD, momentum, Nesterov, RMSProp, Adam and AdamW, and the learning-rate schedules that
# drive them, written as plain functions you can race against each other.**
#
# In notebook 01 you trained a neuron with the simplest rule there is: step against the
# gradient, $\mathbf{w} \leftarrow \mathbf{w} - \eta \nabla L$. Every optimizer of a modern
# framework is a refinement of that one line: it *remembers* something about past gradients
# (a velocity, a running average of squares) and uses it to choose a better step. Here you
# write each of them as a function with explicit state (state in, state out, nothing
# hidden), watch them race on 2-D surfaces, and train your own network from notebook 02 on
# handwritten digits with each, to see what the differences mean in practice.
#
# ### Learning objectives
# By the end of this notebook you can:
# 1. implement SGD, momentum, Nesterov momentum, RMSProp, Adam and AdamW as pure update
#    functions, with L2 weight decay, and explain what each piece of state is for;
# 2. explain why Adam needs bias correction, and what goes wrong at step $t = 1$ without it;
# 3. tell L2 regularization from decoupled weight decay, and why they differ under Adam;
# 4. implement step, exponential and cosine learning-rate schedules, and a linear warm-up;
# 5. read trajectories and loss curves: ill-conditioning, saddles, oscillation, divergence;
# 6. train your notebook 02 network with each of your rules, and say what an optimizer
#    object of a framework adds to an update rule (a state per parameter).
#
# ### Time estimate
# About **3 hours**: 30 minutes per section, plus time for the race widget and the
# discussion of the digits experiment. You can stop after any test cell.
#
# ### Prerequisites
# - Notebook 01 (gradient descent on one neuron) and notebook 02 (backpropagation: where
#   the gradients of a network come from). In sections 1 to 5 the gradients are given and
#   we decide what to do with them; section 6 computes them with **your** two-layer network
#   from notebook 02: have your solutions of its Exercises 2, 3, 4 and 8 at hand, you paste
#   them in.
# - NumPy: elementwise arithmetic, `np.sqrt`, `np.zeros_like`; Python functions that return
#   tuples.
# - A little calculus: a gradient points uphill; a quadratic's curvature is its second
#   derivative.
#
# ### How this notebook works
# - Each **exercise** cell contains a function with `# YOUR CODE HERE` and
#   `raise NotImplementedError()`. Replace those two lines with your solution.
# - The **test cell** right after it checks your work. Run it: a ✅ means the visible tests
#   pass. When you submit, the grader also runs **hidden tests**: each update rule runs for 10
#   steps from other states, shapes and hyperparameters, and your network runs on other
#   examples, so write general code rather than code that fits the examples.
# - Do not rename the functions or change their arguments, and do not delete or copy the
#   exercise and test cells.
# - Use NumPy only. Calling the course library `scratchnn` in your solutions is flagged by the
#   grader; here it only provides the data and the race widget, which runs **your** functions.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure every test
#   cell shows its ✅ (or press the **Validate** button).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import matplotlib.pyplot as plt
import numpy as np

# %matplotlib inline
np.set_printoptions(precision=6, suppress=True)
print("NumPy", np.__version__)

# %% tags=["authoring"]
# Authoring only (tag "authoring"): this kind of cell never reaches the master or the release.
# It computes the hidden cases at render time (`make release`) and, run here in JupyterLab,
# lets the hidden tests below run in this kernel: each literal(...) becomes a literal in the
# master. MISTAKES collects the typical wrong solutions of each exercise: tests/test_mistakes.py
# checks that each one fails its test cell with a message that names it. See docs/authoring.md.
import warnings

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
from scratchnn import schedules as S

MISTAKES = Corpus(globals())

# The reference rules with the course's L2 weight decay (grad + weight_decay * param, as
# scratchnn.optimizers does), in the exercises' argument order.
REFERENCE = {
    "sgd": lambda p, g, lr, wd: F.sgd(p, g + wd * p, lr),
    "momentum": lambda p, g, v, lr, beta, wd: F.momentum(p, g + wd * p, v, lr, beta),
    "nesterov": lambda p, g, v, lr, beta, wd: F.nesterov(p, g + wd * p, v, lr, beta),
    "rmsprop": lambda p, g, s, lr, rho, eps, wd: F.rmsprop(p, g + wd * p, s, lr, rho, eps),
    "adam": lambda p, g, m, v, t, lr, b1, b2, eps, wd: F.adam(p, g + wd * p, m, v, t, lr, b1,
                                                             b2, eps),
    "adamw": lambda p, g, m, v, t, lr, b1, b2, eps, wd: F.adamw(p, g, m, v, t, lr, b1, b2, eps,
                                                               wd),
}
STATES = {"sgd": 0, "momentum": 1, "nesterov": 1, "rmsprop": 1, "adam": 2, "adamw": 2}


def run_steps(fn, name, param, state, grads, hyper, t0=1):
    """Apply the rule fn once per gradient, feeding its state back: (param, [state...])."""
    p, state, t = np.array(param, dtype=float), [np.array(s, dtype=float) for s in state], t0
    for g in grads:
        g = np.array(g, dtype=float)
        if STATES[name] == 0:
            p = fn(p, g, *hyper)
        elif STATES[name] == 1:
            p, s = fn(p, g, state[0], *hyper)
            state = [s]
        else:
            p, m, v = fn(p, g, state[0], state[1], t, *hyper)
            state = [m, v]
        t += 1
    return p, state


def wrong_rules(exercise, name):
    """(message, wrong function) of the exercise's mistakes that define name and have a
    message: the ones a hidden test can recognise."""
    return [(m.message, MISTAKES.function(m, name)) for m in MISTAKES.of(exercise)
            if m.message and name in m.defines()]


def final_param(fn, name, param, state, grads, hyper, t0):
    """The parameter after run_steps with a wrong rule, as a literal; None when the rule
    raises or gives non-finite values (the hidden test reports those in its own way)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return literal(run_steps(fn, name, param, state, grads, hyper, t0)[0])
        except Exception:  # noqa: BLE001
            return None


def rule_cases(exercise, name, specs):
    """Hidden cases of an update rule: 10 steps from a drawn state. specs: (seed, shape,
    hyperparameters, t0, what). Each case: what, param, state, the 10 gradients, hyper, t0,
    the expected param and state after the 10 steps, and (message, param after 10 steps) of
    the typical mistakes that have a message."""
    cases = []
    for seed, shape, hyper, t0, what in specs:
        rng = np.random.default_rng(seed)
        param = short(rng.normal(size=shape))
        grads = [short(rng.normal(scale=2.0, size=shape)) for _ in range(10)]
        if t0 == 1:   # Adam starts from zero moments at t = 1
            state = [np.zeros(shape)] * STATES[name]
        else:
            state = [short(rng.normal(size=shape)), short(rng.uniform(0.01, 2.0, size=shape))]
            state = state[:STATES[name]] if name not in ("rmsprop",) else [state[1]]
        if name in ("momentum", "nesterov"):
            state = [short(rng.normal(size=shape))]
        want_p, want_state = run_steps(REFERENCE[name], name, param, state, grads, hyper, t0)
        runs = {message: final_param(fn, name, param, state, grads, hyper, t0)
                for message, fn in wrong_rules(exercise, name)}
        mistakes = [(message, got) for message, got in runs.items() if got is not None
                    and not (np.shape(got) == want_p.shape and np.allclose(got, want_p))]
        cases.append((what, param, state, grads, tuple(hyper), t0, want_p, want_state,
                      mistakes))
    return cases


def schedule_cases(exercise, name, reference, specs):
    """Hidden cases of a schedule: specs (what, args, steps); each case: what, args, and for
    each step (step, expected lr, (message, output) of typical mistakes)."""
    out = []
    for what, args, steps in specs:
        points = []
        for step in steps:
            want = float(reference(*args)(step))
            points.append((step, want, MISTAKES.outputs(exercise, name, step, *args,
                                                        want=want)))
        out.append((what, tuple(args), points))
    return out


# %% [markdown]
# ## 1. Gradient descent, one step at a time
#
# Training a network means minimizing a loss $L(\theta)$ over all its parameters $\theta$.
# Backpropagation (notebook 02) gives us the gradient $g_t = \nabla L(\theta_t)$, usually
# computed on a mini-batch, so it is a noisy estimate of the true gradient. An **optimizer**
# turns that gradient into an update. The simplest is **stochastic gradient descent**:
#
# $$
# \theta_{t+1} = \theta_t - \eta\, g_t ,
# $$
#
# with the **learning rate** $\eta > 0$. In this notebook every optimizer is a *pure
# function*: it receives a parameter array, its gradient, the optimizer's state (if any) and
# the hyperparameters, and returns the new parameter (and the new state). It never changes
# the arrays it receives. The same function then updates every weight matrix and bias vector
# of a network, one after the other.
#
# ### Weight decay (L2 regularization)
# A common addition is an **L2 penalty** $\frac{\lambda}{2}\lVert\theta\rVert^2$ on the
# weights, which keeps them small. Its gradient is $\lambda\theta$, so the rule becomes
#
# $$
# \tilde g_t = g_t + \lambda\, \theta_t , \qquad \theta_{t+1} = \theta_t - \eta\, \tilde g_t
#   = (1 - \eta\lambda)\,\theta_t - \eta\, g_t ,
# $$
#
# which *decays* every weight by the factor $1 - \eta\lambda$ at each step, hence the name
# **weight decay** (`weight_decay` $= \lambda$). Every rule of this notebook takes a
# `weight_decay` argument, default 0, and applies it the same way: **add
# `weight_decay * param` to the gradient first**, then proceed as without decay. (Section 4
# shows why Adam needs a different kind of decay.)
#
# ### Exercise 1: `sgd` (1 point)
# Return the new parameter $\theta - \eta\,(g + \lambda\theta)$ for `param` and `grad` of the
# same shape (any shape), a learning rate `lr` and `weight_decay` $= \lambda$. Do not modify
# `param` or `grad`.

# %% nbgrader={"grade": false, "grade_id": "ex1-sgd", "locked": false, "schema_version": 3, "solution": true}
def sgd(param, grad, lr, weight_decay=0.0):
    """One step of gradient descent with L2 weight decay.

    param, grad: arrays of the same shape; lr: learning rate; weight_decay: the L2
    coefficient (added to the gradient as weight_decay * param). Returns the new param.
    """
    ### BEGIN SOLUTION
    grad = grad + weight_decay * param
    return param - lr * grad
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 1 and the hidden cases of its test.
MISTAKES.add("ex1-sgd", "moves along the gradient", words="sign",
             message="the parameter moved along the gradient: the sign of the update is "
                     "wrong, param - lr * grad", code="""
def sgd(param, grad, lr, weight_decay=0.0):
    return param + lr * (grad + weight_decay * param)
""")
MISTAKES.add("ex1-sgd", "learning rate ignored", words="learning rate",
             message="the parameter moved by the whole gradient: multiply it by the learning "
                     "rate lr", code="""
def sgd(param, grad, lr, weight_decay=0.0):
    return param - (grad + weight_decay * param)
""")
MISTAKES.add("ex1-sgd", "weight decay ignored", words="weight_decay",
             message="weight_decay was ignored: add weight_decay * param to the gradient",
             code="""
def sgd(param, grad, lr, weight_decay=0.0):
    return param - lr * grad
""")
MISTAKES.add("ex1-sgd", "weight decay subtracted from the gradient", words="grad + weight_decay",
             message="the decay was subtracted from the gradient: it is grad + weight_decay * "
                     "param", code="""
def sgd(param, grad, lr, weight_decay=0.0):
    return param - lr * (grad - weight_decay * param)
""")
MISTAKES.add("ex1-sgd", "decay not multiplied by lr", words="lr * (grad",
             message="the decay term was not multiplied by the learning rate: the step is "
                     "lr * (grad + weight_decay * param)", code="""
def sgd(param, grad, lr, weight_decay=0.0):
    return param - lr * grad - weight_decay * param
""")
MISTAKES.add("ex1-sgd", "writes into the caller's array", words="in place", code="""
def sgd(param, grad, lr, weight_decay=0.0):
    param -= lr * (grad + weight_decay * param)
    return param
""")


def sgd_cases():
    return rule_cases("ex1-sgd", "sgd", [
        (301, (4,), (0.05, 0.0), 1, "shape (4,), lr 0.05, no weight decay"),
        (302, (3, 2), (0.1, 0.01), 1, "shape (3, 2), lr 0.1, weight_decay 0.01"),
        (303, (2, 2, 2), (0.5, 0.3), 1, "shape (2, 2, 2), lr 0.5, weight_decay 0.3")])


# %% nbgrader={"grade": true, "grade_id": "ex1-sgd-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 1
p, g = np.array([1.0, -2.0, 0.5]), np.array([0.5, 0.5, -1.0])
new = sgd(p, g, 0.1)
assert np.array_equal(p, [1.0, -2.0, 0.5]) and np.array_equal(g, [0.5, 0.5, -1.0]), (
    "sgd changed param or grad in place (param -= ...): return a new array, "
    "param - lr * grad, and leave the caller's arrays alone")
assert isinstance(new, np.ndarray) and new.shape == (3,), (
    f"sgd should return the new parameter, an array of param's shape (3,), "
    f"got {type(new).__name__} of shape {np.shape(new)}")
assert not np.allclose(new, [1.05, -1.95, 0.4]), (
    "sgd moved the parameter along the gradient (param + lr * grad): the sign of the update "
    "is wrong, descend with param - lr * grad")
assert not np.allclose(new, p - g), (
    "sgd moved the parameter by the whole gradient: multiply it by the learning rate lr")
assert np.allclose(new, [0.95, -2.05, 0.6]), (
    f"sgd([1, -2, 0.5], [0.5, 0.5, -1], lr=0.1) should be [0.95, -2.05, 0.6], got {new}")

new = sgd(p, g, 0.1, 0.1)   # with L2 weight decay 0.1
for wrong, diagnosis in [
        (p - 0.1 * g, "weight_decay was ignored: add weight_decay * param to the gradient"),
        (p - 0.1 * (g - 0.1 * p), "the decay was subtracted from the gradient: it is "
                                  "grad + weight_decay * param"),
        (p - 0.1 * g - 0.1 * p, "the decay term was not multiplied by the learning rate: the "
                                "step is lr * (grad + weight_decay * param)")]:
    assert not np.allclose(new, wrong), f"sgd with weight_decay=0.1 gave {new}: {diagnosis}"
assert np.allclose(new, [0.94, -2.03, 0.595]), (
    f"sgd([1, -2, 0.5], [0.5, 0.5, -1], lr=0.1, weight_decay=0.1) should be "
    f"[0.94, -2.03, 0.595], got {new}")
W, G = np.ones((2, 3)), np.full((2, 3), 2.0)
assert np.allclose(sgd(W, G, 0.25), np.full((2, 3), 0.5)), (
    "sgd must work elementwise on a parameter of any shape, e.g. a (2, 3) weight matrix")
print("✅ sgd passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, param, state (none), 10 gradients, (lr, weight_decay), t0 (unused),
# the expected param after the 10 steps, and (message, param after 10 steps) of mistakes
_cases = literal(sgd_cases())
for _what, _p0, _s0, _grads, _hyper, _t0, _want, _want_s, _mistakes in _cases:
    _what = f"sgd, {_what}"
    _p = _first = _hidden_make(_p0)
    for _g in _grads:
        _grad = _hidden_make(_g)
        _p = _hidden_call(sgd, (_p, _grad) + _hyper, _what)
        assert _grad.tolist() == _g, f"hidden case {_what}: sgd modified grad in place"
    assert _first.tolist() == _p0, f"hidden case {_what}: sgd modified param in place"
    _hidden_array(_p, _want, f"the parameter after 10 steps of {_what}", mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### See it: the learning rate on an ill-conditioned valley
# Below, your `sgd` runs on $f(x, y) = \tfrac12 x^2 + 25 y^2$, a valley 50 times steeper
# across ($y$) than along ($x$): its curvatures are 1 and 50, a **condition number** of 50.
# Gradient descent on a quadratic is stable only if $\eta < 2 / \text{(largest curvature)}
# = 0.04$. Watch three learning rates: a small one crawls along $x$; one just below the limit
# zig-zags across the valley; one just above it diverges. No single learning rate suits both
# directions, and that is the problem the next optimizers attack.

# %%
from scratchnn.interactive import SURFACES, race_trajectories

valley = SURFACES["ill_conditioned"]
xs, ys = np.linspace(-5, 5, 200), np.linspace(-2, 2, 120)
gx, gy = np.meshgrid(xs, ys)
fig, axes = plt.subplots(1, 3, figsize=(8.4, 3.0), constrained_layout=True, sharey=True)
for ax, lr in zip(axes, (0.005, 0.038, 0.041)):
    race = race_trajectories(valley, ["sgd"], lr=lr, steps=60, rules={"sgd": sgd})
    path, stop = race["sgd"], race.diverged["sgd"]
    ax.contour(gx, gy, valley(gx, gy)[0], levels=np.geomspace(0.05, 100, 12), colors="gray",
               linewidths=0.6)
    ax.plot(path[:, 0], path[:, 1], "-o", markersize=2, color="tab:blue")
    ax.plot(0, 0, "*", color="gold", markersize=12, markeredgecolor="black")
    first, last = race.losses["sgd"][0], race.losses["sgd"][-1]
    status = "diverging" if stop is not None or not last < first else f"f = {last:.2g}"
    ax.set(title=f"lr = {lr}: {status}", xlabel="x", xlim=(-5, 5), ylim=(-2, 2))
axes[0].set_ylabel("y")
plt.show()

# %% [markdown]
# ## 2. Momentum: remember where you were going
#
# A ball rolling down the valley does not stop and turn at every bump: it has **momentum**.
# The optimizer keeps a **velocity** $v$, a decaying sum of past gradients, and steps along
# it:
#
# $$
# v_{t+1} = \beta\, v_t + g_t , \qquad \theta_{t+1} = \theta_t - \eta\, v_{t+1} ,
# $$
#
# with $\beta \in [0, 1)$, typically 0.9, and $v_0 = 0$. Across the valley the gradients
# alternate in sign and cancel in $v$; along it they agree and add up, so with a constant
# gradient the step grows to $\eta\, g / (1 - \beta)$: ten times larger for $\beta = 0.9$.
# (This is PyTorch's form. Some texts write $v \leftarrow \beta v + (1 - \beta) g$, an
# average, or fold $\eta$ into $v$; they are equivalent up to a rescaling of $\eta$, but
# not interchangeable: use the form above.)
#
# With weight decay, the decayed gradient $g_t + \lambda\theta_t$ is what enters the
# velocity.
#
# ### Exercise 2: `momentum` (2 points)
# Return `(new_param, new_velocity)`. `velocity` has `param`'s shape (the caller starts it at
# zeros). Do not modify the arrays you receive: build new ones.

# %% nbgrader={"grade": false, "grade_id": "ex2-momentum", "locked": false, "schema_version": 3, "solution": true}
def momentum(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    """Heavy-ball momentum: v <- beta v + (grad + weight_decay param); param <- param - lr v.

    Returns (new_param, new_velocity), both of param's shape.
    """
    ### BEGIN SOLUTION
    grad = grad + weight_decay * param
    velocity = beta * velocity + grad
    return param - lr * velocity, velocity
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 2 and the hidden cases of its test.
MISTAKES.add("ex2-momentum", "momentum sign flipped in the step", words="sign",
             message="the parameter moved along the velocity: the sign of the step is wrong, "
                     "param - lr * velocity", code="""
def momentum(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    velocity = beta * velocity + grad + weight_decay * param
    return param + lr * velocity, velocity
""")
MISTAKES.add("ex2-momentum", "gradient subtracted in the velocity", words="sign",
             message="the velocity subtracts the gradient: the sign is wrong, the velocity is "
                     "beta * velocity + grad", code="""
def momentum(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    velocity = beta * velocity - (grad + weight_decay * param)
    return param - lr * velocity, velocity
""")
MISTAKES.add("ex2-momentum", "velocity as an average (1 - beta)", words="1 - beta",
             message="the velocity is an average, beta v + (1 - beta) grad: this course uses "
                     "beta * velocity + grad", code="""
def momentum(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    velocity = beta * velocity + (1 - beta) * (grad + weight_decay * param)
    return param - lr * velocity, velocity
""")
MISTAKES.add("ex2-momentum", "step with the old velocity", words="new velocity",
             message="the step used the old velocity: update the velocity first, then step "
                     "with the new velocity", code="""
def momentum(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    new_param = param - lr * velocity
    return new_param, beta * velocity + grad + weight_decay * param
""")
MISTAKES.add("ex2-momentum", "weight decay outside the velocity", words="enters the velocity",
             message="the decay was applied outside the velocity: add weight_decay * param to "
                     "the gradient, so that it enters the velocity", code="""
def momentum(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    velocity = beta * velocity + grad
    return param - lr * velocity - lr * weight_decay * param, velocity
""")
MISTAKES.add("ex2-momentum", "weight decay ignored", words="weight_decay",
             message="weight_decay was ignored: add weight_decay * param to the gradient",
             code="""
def momentum(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    velocity = beta * velocity + grad
    return param - lr * velocity, velocity
""")
MISTAKES.add("ex2-momentum", "velocity updated in place", words="in place", code="""
def momentum(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    velocity *= beta
    velocity += grad + weight_decay * param
    return param - lr * velocity, velocity
""")


def momentum_cases():
    return rule_cases("ex2-momentum", "momentum", [
        (311, (5,), (0.05, 0.9, 0.0), 1, "shape (5,), lr 0.05, beta 0.9"),
        (312, (2, 3), (0.1, 0.5, 0.05), 1, "shape (2, 3), lr 0.1, beta 0.5, weight_decay 0.05"),
        (313, (3, 1, 2), (0.02, 0.99, 0.2), 1,
         "shape (3, 1, 2), lr 0.02, beta 0.99, weight_decay 0.2")])


# %% nbgrader={"grade": true, "grade_id": "ex2-momentum-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 2
p, g, v = np.array([1.0, -1.0]), np.array([0.5, 2.0]), np.array([1.0, -1.0])
result = momentum(p, g, v, 0.1, 0.9)
assert np.array_equal(v, [1.0, -1.0]) and np.array_equal(p, [1.0, -1.0]), (
    "momentum changed the velocity or the parameter in place (velocity *= beta ...): build "
    "new arrays, velocity = beta * velocity + grad")
assert isinstance(result, tuple) and len(result) == 2, (
    "momentum should return a tuple (new_param, new_velocity)")
new_p, new_v = result
assert np.shape(new_p) == (2,) and np.shape(new_v) == (2,), (
    f"both results should have param's shape (2,), got {np.shape(new_p)} and "
    f"{np.shape(new_v)}")
# here beta * velocity + grad = [1.4, 1.1]
for wrong_p, wrong_v, diagnosis in [
        ([1.14, -0.89], [1.4, 1.1], "the parameter moved along the velocity: the sign of the "
                                    "step is wrong, param - lr * velocity"),
        ([0.96, -0.71], [0.4, -2.9], "the velocity subtracts the gradient: the sign is wrong, "
                                     "the velocity is beta * velocity + grad"),
        ([0.905, -0.93], [0.95, -0.7], "the velocity is an average, beta v + (1 - beta) grad: "
                                       "this course uses beta * velocity + grad"),
        ([0.9, -0.9], [1.4, 1.1], "the step used the old velocity: update the velocity "
                                  "first, then step with the new velocity")]:
    assert not (np.allclose(new_p, wrong_p) and np.allclose(new_v, wrong_v)), (
        f"momentum([1, -1], [0.5, 2], velocity=[1, -1], lr=0.1, beta=0.9) gave {new_p}: "
        f"{diagnosis}")
assert np.allclose(new_v, [1.4, 1.1]), (
    f"the new velocity should be 0.9 * [1, -1] + [0.5, 2] = [1.4, 1.1], got {new_v}")
assert np.allclose(new_p, [0.86, -1.11]), (
    f"the new parameter should be [1, -1] - 0.1 * [1.4, 1.1] = [0.86, -1.11], got {new_p}")

new_p, new_v = momentum(p, g, v, 0.1, 0.9, 0.1)   # with weight decay 0.1
assert not np.allclose(new_p, [0.86, -1.11]), (
    "momentum with weight_decay=0.1 gave the result without decay: weight_decay was "
    "ignored, add weight_decay * param to the gradient")
assert not np.allclose(new_v, [1.4, 1.1]), (
    "with weight_decay=0.1 the velocity did not change: the decay was applied outside the "
    "velocity; add weight_decay * param to the gradient, so that it enters the velocity")
assert np.allclose(new_v, [1.5, 1.0]) and np.allclose(new_p, [0.85, -1.1]), (
    f"with weight_decay=0.1 expected param [0.85, -1.1] and velocity [1.5, 1.0], got {new_p} "
    f"and {new_v}")

p, v = np.zeros(3), np.zeros(3)   # a constant gradient: the velocity builds up to g / (1 - beta)
for _ in range(200):
    p, v = momentum(p, np.ones(3), v, 0.01, 0.9)
assert np.allclose(v, 10.0), (
    f"after 200 steps with a constant gradient of 1 the velocity should approach "
    f"1 / (1 - 0.9) = 10, got {v}: is the state fed back correctly?")
print("✅ momentum passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, param, [velocity], 10 gradients, (lr, beta, weight_decay), t0
# (unused), the expected param and [velocity] after the 10 steps, and (message, param after
# 10 steps) of typical mistakes
_cases = literal(momentum_cases())
for _what, _p0, _s0, _grads, _hyper, _t0, _want, _want_s, _mistakes in _cases:
    _what = f"momentum, {_what}"
    _p = _first_p = _hidden_make(_p0)
    _v = _first_v = _hidden_make(_s0[0])
    for _g in _grads:
        _got = _hidden_call(momentum, (_p, _hidden_make(_g), _v) + _hyper, _what)
        assert _type(_got) is _tuple and _got.__len__() == 2, (
            f"hidden case {_what}: momentum should return a tuple (param, velocity)")
        _p, _v = _got
    assert _first_p.tolist() == _p0 and _first_v.tolist() == _s0[0], (
        f"hidden case {_what}: momentum modified param or velocity in place")
    _hidden_array(_p, _want, f"the parameter after 10 steps of {_what}", mistakes=_mistakes)
    _hidden_array(_v, _want_s[0], f"the velocity after 10 steps of {_what}")
### END HIDDEN TESTS

# %% [markdown]
# ### Nesterov momentum: look before you leap
# Momentum steps along a velocity computed *before* it knows where the step lands. **Nesterov's
# accelerated gradient** corrects for that by stepping as if it had already moved along the
# velocity. In the form PyTorch uses (gradient at the current point, the look-ahead folded
# into the step):
#
# $$
# v_{t+1} = \beta\, v_t + g_t , \qquad
# \theta_{t+1} = \theta_t - \eta\,\bigl(g_t + \beta\, v_{t+1}\bigr) .
# $$
#
# The velocity is the same as before; only the step changes: the fresh gradient plus the
# velocity *it is about to have*, damped once more by $\beta$. In a valley this brakes
# earlier when the gradient turns, and overshoots less. Weight decay enters as before.
#
# ### Exercise 3: `nesterov` (2 points)
# Same arguments and return value as `momentum`: `(new_param, new_velocity)`, inputs left
# unchanged.

# %% nbgrader={"grade": false, "grade_id": "ex3-nesterov", "locked": false, "schema_version": 3, "solution": true}
def nesterov(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    """Nesterov momentum: v <- beta v + g with g = grad + weight_decay param;
    param <- param - lr (g + beta v). Returns (new_param, new_velocity).
    """
    ### BEGIN SOLUTION
    grad = grad + weight_decay * param
    velocity = beta * velocity + grad
    return param - lr * (grad + beta * velocity), velocity
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 3 and the hidden cases of its test.
MISTAKES.add("ex3-nesterov", "plain momentum step", words="grad + beta * velocity",
             message="the step is plain momentum's, lr * velocity: Nesterov steps by "
                     "lr * (grad + beta * velocity)", code="""
def nesterov(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    velocity = beta * velocity + grad + weight_decay * param
    return param - lr * velocity, velocity
""")
MISTAKES.add("ex3-nesterov", "look-ahead without the gradient", words="add the gradient",
             message="the step is lr * beta * velocity: add the gradient, "
                     "lr * (grad + beta * velocity)", code="""
def nesterov(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    velocity = beta * velocity + grad + weight_decay * param
    return param - lr * beta * velocity, velocity
""")
MISTAKES.add("ex3-nesterov", "sign flipped", words="sign",
             message="the parameter moved uphill: the sign of the step is wrong, "
                     "param - lr * (grad + beta * velocity)", code="""
def nesterov(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    grad = grad + weight_decay * param
    velocity = beta * velocity + grad
    return param + lr * (grad + beta * velocity), velocity
""")
MISTAKES.add("ex3-nesterov", "look-ahead with a minus", words="+ beta",
             message="the look-ahead was subtracted: the step is lr * (grad + beta * "
                     "velocity)", code="""
def nesterov(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    grad = grad + weight_decay * param
    velocity = beta * velocity + grad
    return param - lr * (grad - beta * velocity), velocity
""")
MISTAKES.add("ex3-nesterov", "weight decay ignored", words="weight_decay",
             message="weight_decay was ignored: add weight_decay * param to the gradient",
             code="""
def nesterov(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    velocity = beta * velocity + grad
    return param - lr * (grad + beta * velocity), velocity
""")
MISTAKES.add("ex3-nesterov", "velocity updated in place", words="in place", code="""
def nesterov(param, grad, velocity, lr, beta=0.9, weight_decay=0.0):
    grad = grad + weight_decay * param
    velocity *= beta
    velocity += grad
    return param - lr * (grad + beta * velocity), velocity
""")


def nesterov_cases():
    return rule_cases("ex3-nesterov", "nesterov", [
        (321, (6,), (0.05, 0.9, 0.0), 1, "shape (6,), lr 0.05, beta 0.9"),
        (322, (3, 2), (0.1, 0.6, 0.1), 1, "shape (3, 2), lr 0.1, beta 0.6, weight_decay 0.1"),
        (323, (2, 2, 1), (0.01, 0.95, 0.3), 1,
         "shape (2, 2, 1), lr 0.01, beta 0.95, weight_decay 0.3")])


# %% nbgrader={"grade": true, "grade_id": "ex3-nesterov-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 3
p, g, v = np.array([1.0, -1.0]), np.array([0.5, 2.0]), np.array([1.0, -1.0])
result = nesterov(p, g, v, 0.1, 0.9)
assert np.array_equal(v, [1.0, -1.0]) and np.array_equal(p, [1.0, -1.0]), (
    "nesterov changed the velocity or the parameter in place (velocity *= beta ...): build "
    "new arrays")
assert isinstance(result, tuple) and len(result) == 2, (
    "nesterov should return a tuple (new_param, new_velocity)")
new_p, new_v = result
assert np.allclose(new_v, [1.4, 1.1]), (
    f"the new velocity is the same as momentum's, 0.9 * [1, -1] + [0.5, 2] = [1.4, 1.1], got "
    f"{new_v}")
# the step should be lr * (grad + beta * new_velocity) = 0.1 * [1.76, 2.99]
for wrong, diagnosis in [
        ([0.86, -1.11], "the step is plain momentum's, lr * velocity: Nesterov steps by "
                        "lr * (grad + beta * velocity)"),
        ([0.874, -1.099], "the step is lr * beta * velocity: add the gradient, "
                          "lr * (grad + beta * velocity)"),
        ([1.176, -0.701], "the parameter moved uphill: the sign of the step is wrong, "
                          "param - lr * (grad + beta * velocity)"),
        ([1.076, -1.101], "the look-ahead was subtracted: the step is lr * (grad + beta * "
                          "velocity)")]:
    assert not np.allclose(new_p, wrong), (
        f"nesterov([1, -1], [0.5, 2], velocity=[1, -1], lr=0.1, beta=0.9) gave {new_p}: "
        f"{diagnosis}")
assert np.allclose(new_p, [0.824, -1.299]), (
    f"the new parameter should be [1, -1] - 0.1 * ([0.5, 2] + 0.9 * [1.4, 1.1]) = "
    f"[0.824, -1.299], got {new_p}")
new_p, new_v = nesterov(p, g, v, 0.1, 0.9, 0.1)   # with weight decay 0.1
assert not np.allclose(new_p, [0.824, -1.299]), (
    "nesterov with weight_decay=0.1 gave the result without decay: weight_decay was ignored, "
    "add weight_decay * param to the gradient")
assert np.allclose(new_v, [1.5, 1.0]) and np.allclose(new_p, [0.805, -1.28]), (
    f"with weight_decay=0.1 expected param [0.805, -1.28] and velocity [1.5, 1.0], got "
    f"{new_p} and {new_v}: the decayed gradient grad + weight_decay * param is used in the "
    f"velocity and in the step")
print("✅ nesterov passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, param, [velocity], 10 gradients, (lr, beta, weight_decay), t0
# (unused), the expected param and [velocity] after the 10 steps, and (message, param after
# 10 steps) of typical mistakes
_cases = literal(nesterov_cases())
for _what, _p0, _s0, _grads, _hyper, _t0, _want, _want_s, _mistakes in _cases:
    _what = f"nesterov, {_what}"
    _p = _first_p = _hidden_make(_p0)
    _v = _first_v = _hidden_make(_s0[0])
    for _g in _grads:
        _got = _hidden_call(nesterov, (_p, _hidden_make(_g), _v) + _hyper, _what)
        assert _type(_got) is _tuple and _got.__len__() == 2, (
            f"hidden case {_what}: nesterov should return a tuple (param, velocity)")
        _p, _v = _got
    assert _first_p.tolist() == _p0 and _first_v.tolist() == _s0[0], (
        f"hidden case {_what}: nesterov modified param or velocity in place")
    _hidden_array(_p, _want, f"the parameter after 10 steps of {_what}", mistakes=_mistakes)
    _hidden_array(_v, _want_s[0], f"the velocity after 10 steps of {_what}")
### END HIDDEN TESTS

# %% [markdown]
# ### See it: momentum in the valley
# The same valley, 80 steps from the same start, with **your** three rules at one learning
# rate. SGD crawls along the floor; momentum builds up speed along $x$ but swings across;
# Nesterov's look-ahead damps the swings.

# %%
from scratchnn.interactive import SURFACES, race_trajectories

valley = SURFACES["ill_conditioned"]
race = race_trajectories(valley, ["sgd", "momentum", "nesterov"], lr=0.012, steps=80,
                         beta=0.8, rules={"sgd": sgd, "momentum": momentum,
                                          "nesterov": nesterov})
xs, ys = np.linspace(-5, 5, 200), np.linspace(-2, 2, 120)
gx, gy = np.meshgrid(xs, ys)
fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(8.4, 3.4), constrained_layout=True)
ax.contour(gx, gy, valley(gx, gy)[0], levels=np.geomspace(0.05, 100, 12), colors="gray",
           linewidths=0.6)
for name, path in race.items():
    ax.plot(path[:, 0], path[:, 1], "-o", markersize=2, label=name)
    ax_loss.semilogy(race.losses[name], label=name)
ax.plot(0, 0, "*", color="gold", markersize=12, markeredgecolor="black")
ax.set(xlabel="x", ylabel="y", title="paths, lr = 0.012, beta = 0.8")
ax_loss.set(xlabel="step", ylabel="f(x, y)", title="loss")
ax.legend()
plt.show()

# %% [markdown]
# ## 3. Adaptive learning rates: RMSProp and Adam
#
# Momentum still uses one learning rate for every parameter. In the valley, $y$ needs small
# steps and $x$ large ones. **RMSProp** gives each parameter its own scale: it keeps a running
# average of the squared gradient, $s$, and divides each step by its square root, the
# typical size of that parameter's gradient:
#
# $$
# s_{t+1} = \rho\, s_t + (1 - \rho)\, g_t^2 , \qquad
# \theta_{t+1} = \theta_t - \eta\, \frac{g_t}{\sqrt{s_{t+1}} + \varepsilon} ,
# $$
#
# elementwise, with $\rho \approx 0.99$, $s_0 = 0$ and a small $\varepsilon = 10^{-8}$ that
# keeps the division safe when a gradient is 0. A parameter with steep, large gradients gets
# small steps; one on a gentle slope gets large steps. Note where $\varepsilon$ goes:
# **outside** the square root, as in PyTorch. (TensorFlow puts it inside; for a gradient of
# $10^{-5}$ that changes the step by a factor of 30, so conventions matter when you compare
# with a framework.) Weight decay: add $\lambda\theta$ to the gradient first, as before.
#
# ### Exercise 4: `rmsprop` (2 points)
# Return `(new_param, new_sq_avg)` for `sq_avg` of `param`'s shape (started at zeros by the
# caller); `rho`, `eps` and `weight_decay` as above. Do not modify the inputs.

# %% nbgrader={"grade": false, "grade_id": "ex4-rmsprop", "locked": false, "schema_version": 3, "solution": true}
def rmsprop(param, grad, sq_avg, lr, rho=0.99, eps=1e-8, weight_decay=0.0):
    """RMSProp: s <- rho s + (1 - rho) g**2 with g = grad + weight_decay param;
    param <- param - lr g / (sqrt(s) + eps). Returns (new_param, new_sq_avg).
    """
    ### BEGIN SOLUTION
    grad = grad + weight_decay * param
    sq_avg = rho * sq_avg + (1 - rho) * grad * grad
    return param - lr * grad / (np.sqrt(sq_avg) + eps), sq_avg
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 4 and the hidden cases of its test.
MISTAKES.add("ex4-rmsprop", "eps inside the square root", words="outside",
             message="eps is inside the square root, sqrt(s + eps): add it outside, "
                     "sqrt(s) + eps", code="""
def rmsprop(param, grad, sq_avg, lr, rho=0.99, eps=1e-8, weight_decay=0.0):
    grad = grad + weight_decay * param
    sq_avg = rho * sq_avg + (1 - rho) * grad * grad
    return param - lr * grad / np.sqrt(sq_avg + eps), sq_avg
""")
MISTAKES.add("ex4-rmsprop", "no square root", words="square root",
             message="the step divides by s, not by its square root: use np.sqrt(sq_avg) + eps",
             code="""
def rmsprop(param, grad, sq_avg, lr, rho=0.99, eps=1e-8, weight_decay=0.0):
    grad = grad + weight_decay * param
    sq_avg = rho * sq_avg + (1 - rho) * grad * grad
    return param - lr * grad / (sq_avg + eps), sq_avg
""")
MISTAKES.add("ex4-rmsprop", "rho and 1 - rho swapped", words="rho * sq_avg",
             message="the new squared gradient got the weight rho: the average is "
                     "rho * sq_avg + (1 - rho) * grad**2", code="""
def rmsprop(param, grad, sq_avg, lr, rho=0.99, eps=1e-8, weight_decay=0.0):
    grad = grad + weight_decay * param
    sq_avg = (1 - rho) * sq_avg + rho * grad * grad
    return param - lr * grad / (np.sqrt(sq_avg) + eps), sq_avg
""")
MISTAKES.add("ex4-rmsprop", "gradient not squared", words="square the gradient",
             message="the average is of the gradients, not of their squares: square the "
                     "gradient, (1 - rho) * grad**2", code="""
def rmsprop(param, grad, sq_avg, lr, rho=0.99, eps=1e-8, weight_decay=0.0):
    grad = grad + weight_decay * param
    sq_avg = rho * sq_avg + (1 - rho) * np.abs(grad)
    return param - lr * grad / (np.sqrt(sq_avg) + eps), sq_avg
""")
MISTAKES.add("ex4-rmsprop", "step with the old average", words="new sq_avg",
             message="the step divided by the old average: update sq_avg first, then divide by "
                     "the square root of the new sq_avg", code="""
def rmsprop(param, grad, sq_avg, lr, rho=0.99, eps=1e-8, weight_decay=0.0):
    grad = grad + weight_decay * param
    new_param = param - lr * grad / (np.sqrt(sq_avg) + eps)
    return new_param, rho * sq_avg + (1 - rho) * grad * grad
""")
MISTAKES.add("ex4-rmsprop", "weight decay ignored", words="weight_decay",
             message="weight_decay was ignored: add weight_decay * param to the gradient",
             code="""
def rmsprop(param, grad, sq_avg, lr, rho=0.99, eps=1e-8, weight_decay=0.0):
    sq_avg = rho * sq_avg + (1 - rho) * grad * grad
    return param - lr * grad / (np.sqrt(sq_avg) + eps), sq_avg
""")
MISTAKES.add("ex4-rmsprop", "average updated in place", words="in place", code="""
def rmsprop(param, grad, sq_avg, lr, rho=0.99, eps=1e-8, weight_decay=0.0):
    grad = grad + weight_decay * param
    sq_avg *= rho
    sq_avg += (1 - rho) * grad * grad
    return param - lr * grad / (np.sqrt(sq_avg) + eps), sq_avg
""")


def rmsprop_cases():
    return rule_cases("ex4-rmsprop", "rmsprop", [
        (331, (5,), (0.01, 0.99, 1e-8, 0.0), 2, "shape (5,), lr 0.01, rho 0.99"),
        (332, (2, 3), (0.05, 0.9, 1e-8, 0.1), 2,
         "shape (2, 3), lr 0.05, rho 0.9, weight_decay 0.1"),
        (333, (3,), (0.001, 0.5, 1e-3, 0.0), 2, "shape (3,), lr 0.001, rho 0.5, eps 1e-3")])


# %% nbgrader={"grade": true, "grade_id": "ex4-rmsprop-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 4
p, g, s = np.array([1.0, -1.0]), np.array([0.5, -2.0]), np.array([0.25, 1.0])
with np.errstate(invalid="raise", divide="raise", over="raise"):   # as the grader does
    try:
        result = rmsprop(p, g, s, 0.01, 0.9)
    except FloatingPointError as err:
        raise AssertionError(
            f"rmsprop failed on p = [1, -1], g = [0.5, -2], sq_avg = [0.25, 1] ({err}): square "
            f"the gradient before averaging, (1 - rho) * grad**2, so that sq_avg stays >= 0"
        ) from None
assert np.array_equal(s, [0.25, 1.0]) and np.array_equal(p, [1.0, -1.0]), (
    "rmsprop changed sq_avg or param in place (sq_avg *= rho ...): build new arrays")
assert isinstance(result, tuple) and len(result) == 2, (
    "rmsprop should return a tuple (new_param, new_sq_avg)")
new_p, new_s = result
assert not np.allclose(new_s, 0.9 * s + 0.1 * np.abs(g)), (
    f"sq_avg became {new_s}, an average of |grad|: square the gradient, (1 - rho) * grad**2")
assert not np.allclose(new_s, 0.1 * s + 0.9 * g**2), (
    f"sq_avg became {new_s}: the new squared gradient got the weight rho; the average is "
    f"rho * sq_avg + (1 - rho) * grad**2")
assert np.allclose(new_s, [0.25, 1.3]), (
    f"sq_avg should become 0.9 * [0.25, 1] + 0.1 * [0.25, 4] = [0.25, 1.3], got {new_s}")
for wrong, diagnosis in [
        ([0.98, -0.984615], "the step divides by s, not by its square root: use "
                            "np.sqrt(sq_avg) + eps"),
        ([0.99, -0.98], "the step divided by the old average: update sq_avg first, then "
                        "divide by the square root of the new sq_avg")]:
    assert not np.allclose(new_p, wrong), f"rmsprop gave the parameter {new_p}: {diagnosis}"
assert np.allclose(new_p, [0.99, -0.98245884]), (
    f"the new parameter should be [1 - 0.01 * 0.5 / 0.5, -1 + 0.01 * 2 / sqrt(1.3)] = "
    f"[0.99, -0.982459], got {new_p}")

tiny, _ = rmsprop(np.zeros(1), np.array([1e-5]), np.zeros(1), 0.01, 0.9)
assert not np.allclose(tiny, [-9.995e-4], rtol=1e-3), (
    f"for a tiny gradient (1e-5, sq_avg 0) the step was {-tiny[0]:.4g} instead of 0.03152: eps "
    f"is inside the square root, sqrt(s + eps); add it outside, sqrt(s) + eps")
assert np.allclose(tiny, [-0.0315230918]), (
    f"for a tiny gradient (1e-5, sq_avg 0, lr 0.01, rho 0.9) the new parameter should be "
    f"-0.0315231, got {tiny}")
new_p, new_s = rmsprop(p, g, s, 0.01, 0.9, 1e-8, 0.1)   # with weight decay 0.1
assert not np.allclose(new_s, [0.25, 1.3]), (
    "rmsprop with weight_decay=0.1 gave the average without decay: weight_decay was ignored, "
    "add weight_decay * param to the gradient")
assert np.allclose(new_s, [0.261, 1.341]) and np.allclose(new_p, [0.9882556, -0.9818655]), (
    f"with weight_decay=0.1 expected param [0.988256, -0.981866] and sq_avg [0.261, 1.341], "
    f"got {new_p} and {new_s}")
print("✅ rmsprop passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, param, [sq_avg], 10 gradients, (lr, rho, eps, weight_decay), t0
# (unused), the expected param and [sq_avg] after the 10 steps, and (message, param after
# 10 steps) of typical mistakes
_cases = literal(rmsprop_cases())
for _what, _p0, _s0, _grads, _hyper, _t0, _want, _want_s, _mistakes in _cases:
    _what = f"rmsprop, {_what}"
    _p = _first_p = _hidden_make(_p0)
    _s = _first_s = _hidden_make(_s0[0])
    for _g in _grads:
        _got = _hidden_call(rmsprop, (_p, _hidden_make(_g), _s) + _hyper, _what,
                            "square the gradient, and add eps outside the square root")
        assert _type(_got) is _tuple and _got.__len__() == 2, (
            f"hidden case {_what}: rmsprop should return a tuple (param, sq_avg)")
        _p, _s = _got
    assert _first_p.tolist() == _p0 and _first_s.tolist() == _s0[0], (
        f"hidden case {_what}: rmsprop modified param or sq_avg in place")
    _hidden_array(_p, _want, f"the parameter after 10 steps of {_what}", mistakes=_mistakes)
    _hidden_array(_s, _want_s[0], f"sq_avg after 10 steps of {_what}")
### END HIDDEN TESTS

# %% [markdown]
# ### Adam = momentum + RMSProp, with bias correction
# **Adam** keeps both: a running average of the gradient, $m$ (the "first moment", a
# momentum), and of its square, $v$ (the "second moment", as in RMSProp), and steps along
# $m / \sqrt{v}$. Both start at 0, and that is a problem: after the first step
# $m_1 = (1 - \beta_1)\, g_1 = 0.1\, g_1$, ten times too small, and
# $v_1 = (1 - \beta_2)\, g_1^2 = 0.001\, g_1^2$, a thousand times too small. The averages are
# *biased towards their starting value 0*: $\mathbb{E}[m_t] = (1 - \beta_1^t)\,\mathbb{E}[g]$.
# Dividing by $1 - \beta^t$ removes the bias exactly. With the step number $t = 1, 2, \dots$
# (it starts at **1**):
#
# $$
# \begin{aligned}
# m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t , &
# v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 , \\
# \hat m_t &= \frac{m_t}{1 - \beta_1^t} , &
# \hat v_t &= \frac{v_t}{1 - \beta_2^t} , \\
# \theta_t &= \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon} .
# \end{aligned}
# $$
#
# At $t = 1$ the corrections give $\hat m_1 = g_1$ and $\hat v_1 = g_1^2$, so the first step is
# $\eta\, g_1 / (|g_1| + \varepsilon) \approx \eta$ in every coordinate: Adam's step size is
# set by $\eta$, whatever the scale of the gradient. Without the correction the first step
# would be $\eta \cdot 0.1 / \sqrt{0.001} \approx 3.2\,\eta$, and the early steps stay too
# large for hundreds of iterations (the plot after the test shows how long). Only the
# *step* uses $\hat m, \hat v$: the state you return is the raw $m, v$. As before:
# $\varepsilon$ outside the square root, and weight decay $\lambda\theta$ added to the
# gradient first (we will question that in section 4).
#
# ### Exercise 5: `adam` (3 points)
# Return `(new_param, new_m, new_v)`. `t` is the number of this step, 1 for the first call;
# the caller increments it. Do not modify the inputs.

# %% nbgrader={"grade": false, "grade_id": "ex5-adam", "locked": false, "schema_version": 3, "solution": true}
def adam(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    """Adam with bias correction, step t >= 1, L2 weight decay added to the gradient.

    Returns (new_param, new_m, new_v); m and v are the raw (uncorrected) moments.
    """
    ### BEGIN SOLUTION
    grad = grad + weight_decay * param
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 5 and the hidden cases of its test.
ADAM_HEAD = """
def adam(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    grad = grad + weight_decay * param
"""
MISTAKES.add("ex5-adam", "no bias correction", words="bias correction",
             message="the step has no bias correction: divide m by (1 - beta1**t) and v by "
                     "(1 - beta2**t)", code=ADAM_HEAD + """
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    return param - lr * m / (np.sqrt(v) + eps), m, v
""")
MISTAKES.add("ex5-adam", "eps inside the square root", words="outside",
             message="eps is inside the square root, sqrt(v_hat + eps): add it outside, "
                     "sqrt(v_hat) + eps", code=ADAM_HEAD + """
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return param - lr * m_hat / np.sqrt(v_hat + eps), m, v
""")
MISTAKES.add("ex5-adam", "step counter off by one (t + 1)", words="off by one",
             message="the bias correction is off by one (it uses t + 1): the step number t is "
                     "given, correct with 1 - beta**t", code=ADAM_HEAD + """
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
""")
MISTAKES.add("ex5-adam", "step counter off by one (t - 1)", words="off by one",
             message="the bias correction is off by one (it uses t - 1): the step number t is "
                     "given, correct with 1 - beta**t", code=ADAM_HEAD + """
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1 ** (t - 1)), v / (1 - beta2 ** (t - 1))
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
""")
MISTAKES.add("ex5-adam", "returns the corrected moments", words="raw",
             message="the returned m and v are the bias-corrected ones: return the raw "
                     "moments m and v, correct them only for the step", code=ADAM_HEAD + """
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m, v = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return param - lr * m / (np.sqrt(v) + eps), m, v
""")
MISTAKES.add("ex5-adam", "beta1 and 1 - beta1 swapped", words="beta1 * m",
             message="the new gradient got the weight beta1: the first moment is "
                     "beta1 * m + (1 - beta1) * grad", code=ADAM_HEAD + """
    m = (1 - beta1) * m + beta1 * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
""")
MISTAKES.add("ex5-adam", "weight decay ignored", words="weight_decay",
             message="weight_decay was ignored: add weight_decay * param to the gradient",
             code="""
def adam(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
""")
MISTAKES.add("ex5-adam", "moments updated in place", words="in place", code=ADAM_HEAD + """
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
""")


def adam_cases():
    return rule_cases("ex5-adam", "adam", [
        (341, (5,), (0.01, 0.9, 0.999, 1e-8, 0.0), 1, "shape (5,), t = 1 to 10, lr 0.01"),
        (342, (2, 3), (0.05, 0.8, 0.99, 1e-8, 0.1), 7,
         "shape (2, 3), t = 7 to 16, lr 0.05, betas (0.8, 0.99), weight_decay 0.1"),
        (343, (4,), (0.001, 0.9, 0.999, 1e-4, 0.01), 1,
         "shape (4,), t = 1 to 10, lr 0.001, eps 1e-4, weight_decay 0.01")])


# %% nbgrader={"grade": true, "grade_id": "ex5-adam-tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
# Tests for Exercise 5
p, g, zeros = np.array([1.0, -1.0, 0.5]), np.array([0.5, -2.0, 1e-4]), np.zeros(3)
m0, v0 = zeros.copy(), zeros.copy()
with np.errstate(invalid="raise", divide="raise", over="raise"):   # as the grader does
    try:
        result = adam(p, g, m0, v0, 1, 0.1)
    except (FloatingPointError, ZeroDivisionError) as err:
        raise AssertionError(
            f"adam at step t = 1 divided by zero ({err}): the bias correction is off by one "
            f"(t - 1 gives 1 - beta**0 = 0); the step number t is given, correct with "
            f"1 - beta**t") from None
assert np.array_equal(m0, zeros) and np.array_equal(v0, zeros) and np.array_equal(
    p, [1.0, -1.0, 0.5]), "adam changed m, v or param in place (m *= beta1 ...): build new arrays"
assert isinstance(result, tuple) and len(result) == 3, (
    "adam should return a tuple (new_param, new_m, new_v)")
new_p, new_m, new_v = result
assert not np.allclose(new_m, 0.9 * g), (
    f"the new m is {new_m} = 0.9 * grad: the new gradient got the weight beta1; the first "
    f"moment is beta1 * m + (1 - beta1) * grad")
assert not (np.allclose(new_m, g) and np.allclose(new_v, g**2)), (
    "the returned m and v are the bias-corrected ones (at t = 1, m_hat = grad): return the "
    "raw moments m and v, correct them only for the step")
assert np.allclose(new_m, [0.05, -0.2, 1e-5], atol=1e-12) and np.allclose(
    new_v, [2.5e-4, 4e-3, 1e-11], atol=1e-15), (
    f"from m = v = 0, the new m should be 0.1 * grad = [0.05, -0.2, 1e-5] and the new v "
    f"0.001 * grad**2 = [2.5e-4, 4e-3, 1e-11], got {new_m} and {new_v}")
step = p - new_p
assert not np.allclose(step, 0.1 * new_m / (np.sqrt(new_v) + 1e-8)), (
    f"the first step was {step}, about 3.16 * lr in each coordinate: the step has no bias "
    f"correction; divide m by (1 - beta1**t) and v by (1 - beta2**t)")
assert not np.allclose(step, 0.1 * (new_m / 0.19) / (np.sqrt(new_v / (1 - 0.999**2)) + 1e-8)), (
    f"the first step was {step}, about 0.74 * lr: the bias correction is off by one (it uses "
    f"t + 1); the step number t is given, correct with 1 - beta**t")
assert not np.allclose(step[2], 0.1 * 1e-4 / np.sqrt(1e-8 + 1e-8)), (
    f"for the gradient 1e-4 the first step was {step[2]:.4g} instead of ~0.1: eps is inside "
    f"the square root, sqrt(v_hat + eps); add it outside, sqrt(v_hat) + eps")
assert np.allclose(new_p, [0.900000002, -0.9000000005, 0.400009999]), (
    f"at t = 1 with lr = 0.1 every coordinate should move by ~lr = 0.1 (m_hat = g, "
    f"v_hat = g**2): expected [0.9, -0.9, 0.40001], got {new_p}")
# the second step, t = 2, from the state the first one returned
p2, m2, v2 = adam(new_p, np.array([1.0, 1.0, -1.0]), new_m, new_v, 2, 0.1)
assert np.allclose(p2, [0.8034818006, -0.8733662967, 0.4744169827]), (
    f"the second step (t = 2, grad [1, 1, -1]) should give [0.803482, -0.873366, 0.474417], "
    f"got {p2}")
# from a given state at t = 5, with weight decay 0.1
m5, v5 = np.array([0.1, -0.1, 0.0]), np.array([0.01, 0.02, 1e-6])
new_p, new_m, new_v = adam(p, g, m5, v5, 5, 0.1, 0.9, 0.999, 1e-8, 0.1)
assert not np.allclose(new_p, [0.97613484548, -0.967695754443, 0.499827415825]), (
    "adam with weight_decay=0.1 gave the result without decay: weight_decay was ignored, "
    "add weight_decay * param to the gradient")
assert np.allclose(new_p, [0.974566432755, -0.966863888043, 0.453864901151]), (
    f"at t = 5 with weight_decay=0.1 expected [0.974566, -0.966864, 0.453865], got {new_p}")
print("✅ adam passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, param, [m, v], 10 gradients, (lr, beta1, beta2, eps,
# weight_decay), the first step number t0, the expected param and [m, v] after the 10 steps,
# and (message, param after 10 steps) of typical mistakes
_cases = literal(adam_cases())
for _what, _p0, _s0, _grads, _hyper, _t0, _want, _want_s, _mistakes in _cases:
    _what = f"adam, {_what}"
    _p = _first_p = _hidden_make(_p0)
    _m = _first_m = _hidden_make(_s0[0])
    _v = _first_v = _hidden_make(_s0[1])
    _t = _t0
    for _g in _grads:
        _got = _hidden_call(adam, (_p, _hidden_make(_g), _m, _v, _t) + _hyper, _what,
                            "the bias correction divides by 1 - beta**t with t >= 1")
        assert _type(_got) is _tuple and _got.__len__() == 3, (
            f"hidden case {_what}: adam should return a tuple (param, m, v)")
        _p, _m, _v = _got
        _t += 1
    assert _first_p.tolist() == _p0 and _first_m.tolist() == _s0[0] and (
        _first_v.tolist() == _s0[1]), f"hidden case {_what}: adam modified its inputs in place"
    _hidden_array(_p, _want, f"the parameter after 10 steps of {_what}", mistakes=_mistakes)
    _hidden_array(_m, _want_s[0], f"m after 10 steps of {_what}")
    _hidden_array(_v, _want_s[1], f"v after 10 steps of {_what}")
### END HIDDEN TESTS

# %% [markdown]
# ### See it: why bias correction matters
# Feed **your** `adam` a constant gradient of 1 and measure its steps. With bias correction
# each step is exactly `lr` from $t = 1$ on. The dashed curve is the step the same state would
# give *without* correction, $\eta\, m_t / (\sqrt{v_t} + \varepsilon)$, computed from the raw
# `m` and `v` your function returns: it starts at $3.2\,\eta$, climbs to about $6.6\,\eta$
# around step 12, and needs thousands of steps to settle, because $v$, with $\beta_2 = 0.999$,
# forgets its zero start much more slowly than $m$. Those oversized early steps are exactly
# when the network is most fragile.

# %%
lr, steps = 0.01, 3000
p, m, v = np.zeros(1), np.zeros(1), np.zeros(1)
corrected, uncorrected = [], []
for t in range(1, steps + 1):
    new_p, m, v = adam(p, np.ones(1), m, v, t, lr)
    corrected.append(float(p[0] - new_p[0]) / lr)
    uncorrected.append(float(m[0] / (np.sqrt(v[0]) + 1e-8)))
    p = new_p
fig, ax = plt.subplots(figsize=(7.5, 3.2), constrained_layout=True)
ax.semilogx(range(1, steps + 1), corrected, label="your adam (bias-corrected)")
ax.semilogx(range(1, steps + 1), uncorrected, "--", label="the same state, no correction")
ax.axhline(1.0, color="gray", linewidth=0.6)
ax.set(xlabel="step t", ylabel="step size / lr", title="constant gradient g = 1")
ax.legend()
plt.show()

# %% [markdown]
# ### Play: the optimizer race
# Now race **your** five rules on 2-D surfaces: the ill-conditioned valley, the Rosenbrock
# banana (a curved, flat-bottomed valley, minimum at $(1, 1)$), Beale's function and a
# **saddle** (the start sits almost exactly on the ridge: gradient descent is stuck there
# for a long time, and only the tiny $y$ component lets it escape). Choose the surface, the
# learning rate (log scale), the number of steps, momentum's $\beta$, RMSProp's $\rho$ and
# Adam's $\beta_1, \beta_2$, add gradient noise (a stand-in for mini-batches), and tick the
# optimizers to race. Things to try:
# - Rosenbrock with `lr = 2e-3`: who reaches $(1, 1)$? Raise the learning rate until SGD
#   diverges (a cross marks a diverged run). Which survive?
# - The saddle: how many steps does SGD need to leave the ridge? Momentum? Adam? Why is
#   Adam so much faster there? (Hint: what does dividing by $\sqrt{v}$ do to a tiny
#   gradient?)
# - Adam with $\beta_2 = 0.9$ versus $0.999$ on Beale's function.
# - Add noise: which optimizer's path stays smooth?
#
# (The widget needs a live kernel: if you see no plot, run the cell.)

# %%
from scratchnn.interactive import optimizer_race

optimizer_race("ill_conditioned", rules={"sgd": sgd, "momentum": momentum, "nesterov": nesterov,
                                         "rmsprop": rmsprop, "adam": adam})

# %% [markdown]
# ## 4. Weight decay under Adam: L2 is not decay any more
#
# For SGD, adding $\lambda\theta$ to the gradient *is* weight decay: every weight shrinks by
# the same factor $1 - \eta\lambda$ per step. Under Adam it is not. The term $\lambda\theta$
# goes into $m$ and $v$ with the gradient, and the step divides it by $\sqrt{\hat v}$: a
# weight whose gradients are large (large $v$) is barely decayed, while a weight with tiny
# gradients is decayed at the full rate $\approx \eta$ per step, whatever $\lambda$ is. The
# regularization ends up strongest exactly where the data says least, and tuning
# $\lambda$ no longer does what it says.
#
# **AdamW** (Loshchilov & Hutter, 2019) *decouples* the decay from the gradient: it shrinks
# the parameter directly, then takes a plain Adam step (no decay in $m$ or $v$):
#
# $$
# \theta \leftarrow \theta\,(1 - \eta\lambda) , \qquad
# \theta \leftarrow \mathrm{Adam}(\theta, g_t) .
# $$
#
# Every weight now decays by the same factor, as with SGD. It is the default optimizer for
# training transformers today (typically with $\lambda = 0.01$ to $0.1$).
#
# ### Exercise 6: `adamw` (2 points)
# Same arguments as `adam` (default `weight_decay=0.01`), returning `(new_param, new_m,
# new_v)`: first shrink the parameter by `1 - lr * weight_decay`, then do an Adam step on the
# shrunk parameter with the *undecayed* gradient. You may call your `adam` (with its
# `weight_decay` left at 0).

# %% nbgrader={"grade": false, "grade_id": "ex6-adamw", "locked": false, "schema_version": 3, "solution": true}
def adamw(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    """AdamW: param <- param (1 - lr weight_decay), then an Adam step with grad (the decay never
    enters m or v). Returns (new_param, new_m, new_v).
    """
    ### BEGIN SOLUTION
    param = param * (1 - lr * weight_decay)
    return adam(param, grad, m, v, t, lr, beta1, beta2, eps)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 6 and the hidden cases of its test.
ADAMW_HEAD = """
def adamw(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
"""
MISTAKES.add("ex6-adamw", "coupled decay (Adam + L2)", words="decoupled",
             message="the decay went through the gradient (Adam + L2, coupled): AdamW's decay "
                     "is decoupled, param * (1 - lr * weight_decay), and never enters m or v",
             code=ADAMW_HEAD + """
    return adam(param, grad + weight_decay * param, m, v, t, lr, beta1, beta2, eps)
""")
MISTAKES.add("ex6-adamw", "decay applied twice", words="twice",
             message="the decay was applied twice, through the gradient and to the parameter: "
                     "only shrink the parameter", code=ADAMW_HEAD + """
    return adam(param * (1 - lr * weight_decay), grad, m, v, t, lr, beta1, beta2, eps,
                weight_decay)
""")
MISTAKES.add("ex6-adamw", "decay without the learning rate", words="lr * weight_decay",
             message="the parameter was shrunk by (1 - weight_decay): the factor is "
                     "1 - lr * weight_decay", code=ADAMW_HEAD + """
    return adam(param * (1 - weight_decay), grad, m, v, t, lr, beta1, beta2, eps)
""")
MISTAKES.add("ex6-adamw", "decay grows the parameter", words="shrink",
             message="the parameter grew by (1 + lr * weight_decay): shrink it, "
                     "1 - lr * weight_decay", code=ADAMW_HEAD + """
    return adam(param * (1 + lr * weight_decay), grad, m, v, t, lr, beta1, beta2, eps)
""")
MISTAKES.add("ex6-adamw", "decay after the Adam step", words="before",
             message="the decay was applied to the parameter after the Adam step: shrink the "
                     "parameter before the step", code=ADAMW_HEAD + """
    new_param, m, v = adam(param, grad, m, v, t, lr, beta1, beta2, eps)
    return new_param * (1 - lr * weight_decay), m, v
""")
MISTAKES.add("ex6-adamw", "weight decay ignored", words="weight_decay",
             message="weight_decay was ignored: shrink the parameter by 1 - lr * weight_decay "
                     "first", code=ADAMW_HEAD + """
    return adam(param, grad, m, v, t, lr, beta1, beta2, eps)
""")


def adamw_cases():
    return rule_cases("ex6-adamw", "adamw", [
        (351, (5,), (0.01, 0.9, 0.999, 1e-8, 0.1), 1, "shape (5,), t = 1 to 10, lr 0.01"),
        (352, (3, 2), (0.05, 0.9, 0.99, 1e-8, 0.5), 4,
         "shape (3, 2), t = 4 to 13, lr 0.05, betas (0.9, 0.99), weight_decay 0.5"),
        (353, (2, 2), (0.2, 0.5, 0.9, 1e-6, 1.0), 1,
         "shape (2, 2), t = 1 to 10, lr 0.2, betas (0.5, 0.9), weight_decay 1")])


# %% nbgrader={"grade": true, "grade_id": "ex6-adamw-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 6
p, g, zeros = np.array([1.0, -1.0, 0.5]), np.array([0.5, -2.0, 1e-4]), np.zeros(3)
result = adamw(p, g, zeros, zeros, 1, 0.1, 0.9, 0.999, 1e-8, 0.5)
assert isinstance(result, tuple) and len(result) == 3, (
    "adamw should return a tuple (new_param, new_m, new_v)")
new_p, new_m, new_v = result
assert np.array_equal(p, [1.0, -1.0, 0.5]), "adamw changed param in place: build a new array"
assert not np.allclose(new_m, 0.1 * (g + 0.5 * 0.95 * p)), (
    "the decay was applied twice, through the gradient (m = 0.1 * (grad + weight_decay * "
    "param)) and to the parameter: only shrink the parameter")
if np.allclose(new_m, 0.1 * (g + 0.5 * p)):   # m when the decay enters the gradient
    raise AssertionError(
        "the decay went through the gradient (Adam + L2, coupled): m = 0.1 * (grad + "
        "weight_decay * param); AdamW's decay is decoupled, param * (1 - lr * weight_decay), "
        "and never enters m or v")
assert np.allclose(new_m, [0.05, -0.2, 1e-5]), (
    f"the new m should be 0.1 * grad = [0.05, -0.2, 1e-5] (no decay in m), got {new_m}")
for wrong, diagnosis in [
        ([0.900000002, -0.9000000005, 0.400009999],
         "weight_decay was ignored: shrink the parameter by 1 - lr * weight_decay first"),
        ([0.400000002, -0.4000000005, 0.150009999],
         "the parameter was shrunk by (1 - weight_decay): the factor is 1 - lr * weight_decay"),
        ([0.950000002, -0.9500000005, 0.425009999],
         "the parameter grew by (1 + lr * weight_decay): shrink it, 1 - lr * weight_decay"),
        ([0.8550000019, -0.855000000475, 0.38000949905],
         "the decay was applied to the parameter after the Adam step: shrink the parameter "
         "before the step")]:
    assert not np.allclose(new_p, wrong), (
        f"adamw([1, -1, 0.5], [0.5, -2, 1e-4], t=1, lr=0.1, weight_decay=0.5) gave {new_p}: "
        f"{diagnosis}")
assert np.allclose(new_p, [0.850000002, -0.8500000005, 0.375009999]), (
    f"expected 0.95 * param - ~0.1 (one Adam step of ~lr) = [0.85, -0.85, 0.37501], got "
    f"{new_p}: adamw is that shrink followed by one Adam step; if you call your adam, make "
    f"sure it passes its own tests first")
new_p, _, _ = adamw(p, g, np.array([0.1, -0.1, 0.0]), np.array([0.01, 0.02, 1e-6]), 5, 0.1,
                    0.9, 0.999, 1e-8, 0.5)
assert np.allclose(new_p, [0.92613484548, -0.917695754443, 0.474827415825]), (
    f"from a given state at t = 5 expected [0.926135, -0.917696, 0.474827], got {new_p}")
default_p, _, _ = adamw(p, g, zeros, zeros, 1)
assert np.allclose(default_p, p * (1 - 1e-3 * 0.01) - 1e-3 * g / (np.abs(g) + 1e-8)), (
    "with its defaults (lr=1e-3, weight_decay=0.01) adamw gave the wrong result: check the "
    "default arguments")
print("✅ adamw passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, param, [m, v], 10 gradients, (lr, beta1, beta2, eps,
# weight_decay), the first step number t0, the expected param and [m, v] after the 10 steps,
# and (message, param after 10 steps) of typical mistakes
_cases = literal(adamw_cases())
for _what, _p0, _s0, _grads, _hyper, _t0, _want, _want_s, _mistakes in _cases:
    _what = f"adamw, {_what}"
    _p = _first_p = _hidden_make(_p0)
    _m = _first_m = _hidden_make(_s0[0])
    _v = _first_v = _hidden_make(_s0[1])
    _t = _t0
    for _g in _grads:
        _got = _hidden_call(adamw, (_p, _hidden_make(_g), _m, _v, _t) + _hyper, _what)
        assert _type(_got) is _tuple and _got.__len__() == 3, (
            f"hidden case {_what}: adamw should return a tuple (param, m, v)")
        _p, _m, _v = _got
        _t += 1
    assert _first_p.tolist() == _p0 and _first_m.tolist() == _s0[0] and (
        _first_v.tolist() == _s0[1]), f"hidden case {_what}: adamw modified its inputs in place"
    _hidden_array(_p, _want, f"the parameter after 10 steps of {_what}", mistakes=_mistakes)
    _hidden_array(_m, _want_s[0], f"m after 10 steps of {_what}")
    _hidden_array(_v, _want_s[1], f"v after 10 steps of {_what}")
### END HIDDEN TESTS

# %% [markdown]
# ### See it: L2 under Adam versus AdamW
# Two weights, both starting at 1, no loss pulling on them: only the decay should move them.
# Weight A sees large, noisy gradients (mean 0, like a weight the data cannot settle);
# weight B sees none. With **Adam + L2** (your `adam` with `weight_decay`), B, whose only
# gradient is the decay, is pushed down at the full Adam step of about `lr` per step and
# reaches 0 quickly, while A's decay is drowned by its noise. With **AdamW** (your `adamw`)
# both shrink at the same steady rate $1 - \eta\lambda$ per step, the dotted curve.

# %%
rng = np.random.default_rng(3)
lr, decay, steps = 0.01, 0.1, 1500
noise = np.column_stack([rng.normal(scale=5.0, size=steps), np.zeros(steps)])  # A noisy, B none
paths = {}
for label in ("Adam + L2", "AdamW"):
    w, m, v, path = np.ones(2), np.zeros(2), np.zeros(2), []
    for t in range(1, steps + 1):
        if label == "AdamW":
            w, m, v = adamw(w, noise[t - 1], m, v, t, lr, weight_decay=decay)
        else:
            w, m, v = adam(w, noise[t - 1], m, v, t, lr, weight_decay=decay)
        path.append(w.copy())
    paths[label] = np.array(path)
fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.2), constrained_layout=True, sharey=True)
for ax, (label, path) in zip(axes, paths.items()):
    ax.plot(path[:, 0], label="A: large noisy gradients", alpha=0.8)
    ax.plot(path[:, 1], label="B: no gradient")
    ax.plot((1 - lr * decay) ** np.arange(1, steps + 1), ":", color="black",
            label=r"$(1 - \eta\lambda)^t$")
    ax.set(title=f"{label}, lr = {lr}, weight_decay = {decay}", xlabel="step")
axes[0].set_ylabel("weight")
axes[1].legend(fontsize="small")
plt.show()

# %% [markdown]
# ## 5. Learning-rate schedules
#
# A learning rate large enough to make fast progress early is usually too large to settle
# into a minimum later: the noise of mini-batch gradients keeps the parameters bouncing at a
# distance proportional to $\eta$. So we let $\eta$ change with the step: a **schedule**
# $\eta(t)$, with the step $t = 0, 1, 2, \dots$ counted **from 0** (the number of updates done
# so far: `lr = schedule(t)` is used for the update that follows). The classics:
#
# - **step decay**: multiply by $\gamma$ every $k$ steps,
#   $\eta(t) = \eta_0\, \gamma^{\lfloor t / k \rfloor}$ (e.g. divide by 10 every 30 epochs);
# - **exponential decay**: the same, smoothly, $\eta(t) = \eta_0\, r^{\,t / k}$: a factor $r$
#   every $k$ steps, a bit at every step;
# - **cosine decay**: half a cosine from $\eta_0$ down to $\eta_{\min}$ over $T$ steps, then
#   flat:
#   $\eta(t) = \eta_{\min} + (\eta_0 - \eta_{\min})\,\tfrac12\bigl(1 + \cos(\pi \min(t, T) / T)
#   \bigr)$;
# - **linear warm-up**: start small and ramp up linearly over $w$ steps, then hand over to
#   another schedule. Adam's first steps rely on moment estimates made from a handful of
#   gradients; large networks (transformers above all) diverge without a warm-up. With a
#   target schedule $\eta_\text{after}$ and a start factor $f$:
#   $$
#   \eta(t) = \begin{cases}
#     \bigl(f + (1 - f)\, t / w\bigr)\, \eta_\text{after}(0) & t < w, \\
#     \eta_\text{after}(t - w) & t \ge w,
#   \end{cases}
#   $$
#   so the target schedule starts at *its own* step 0 when the warm-up ends.
#
# ### Exercise 7: `step_decay` and `exponential_decay` (2 points)
# Each takes the step `step` (an integer $\ge 0$) and the schedule's parameters, and returns
# the learning rate as a float.

# %% nbgrader={"grade": false, "grade_id": "ex7-step-exponential", "locked": false, "schema_version": 3, "solution": true}
def step_decay(step, initial_lr, step_size, gamma=0.1):
    """initial_lr * gamma ** floor(step / step_size)."""
    ### BEGIN SOLUTION
    return initial_lr * gamma ** (step // step_size)
    ### END SOLUTION


def exponential_decay(step, initial_lr, decay_rate, decay_steps=1):
    """initial_lr * decay_rate ** (step / decay_steps), smooth."""
    ### BEGIN SOLUTION
    return initial_lr * decay_rate ** (step / decay_steps)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 7 and the hidden cases of its test.
MISTAKES.add("ex7-step-exponential", "step decay without the floor", words="floor",
             message="step_decay decays smoothly between the drops: the exponent is the number "
                     "of completed periods, floor(step / step_size) = step // step_size",
             code="""
def step_decay(step, initial_lr, step_size, gamma=0.1):
    return initial_lr * gamma ** (step / step_size)
""")
MISTAKES.add("ex7-step-exponential", "step decay one step early", words="one step early",
             message="step_decay drops one step early: steps count from 0, the first drop is "
                     "at step = step_size", code="""
def step_decay(step, initial_lr, step_size, gamma=0.1):
    return initial_lr * gamma ** ((step + 1) // step_size)
""")
MISTAKES.add("ex7-step-exponential", "step decay every step", words="every step_size",
             message="step_decay multiplied by gamma at every step: only every step_size steps",
             code="""
def step_decay(step, initial_lr, step_size, gamma=0.1):
    return initial_lr * gamma ** step
""")
MISTAKES.add("ex7-step-exponential", "exponential decay ignores decay_steps",
             words="decay_steps",
             message="exponential_decay ignored decay_steps: the exponent is step / decay_steps",
             code="""
def exponential_decay(step, initial_lr, decay_rate, decay_steps=1):
    return initial_lr * decay_rate ** step
""")
MISTAKES.add("ex7-step-exponential", "exponential decay in stairs", words="smooth",
             message="exponential_decay drops in stairs (step // decay_steps): it is smooth, "
                     "decay_rate ** (step / decay_steps)", code="""
def exponential_decay(step, initial_lr, decay_rate, decay_steps=1):
    return initial_lr * decay_rate ** (step // decay_steps)
""")
MISTAKES.add("ex7-step-exponential", "exponential decay off by one", words="step 0",
             message="exponential_decay is one step ahead: at step 0 the lr is initial_lr, "
                     "decay_rate ** (step / decay_steps)", code="""
def exponential_decay(step, initial_lr, decay_rate, decay_steps=1):
    return initial_lr * decay_rate ** ((step + 1) / decay_steps)
""")


def step_exponential_cases():
    steps = [0, 1, 6, 7, 13, 14, 20, 41]
    return (schedule_cases("ex7-step-exponential", "step_decay", S.StepDecay, [
                ("initial_lr 0.3, step_size 7, gamma 0.5", (0.3, 7, 0.5), steps),
                ("initial_lr 2.0, step_size 1, gamma 0.9", (2.0, 1, 0.9), steps[:5]),
                ("initial_lr 0.05, step_size 20, gamma 0.2", (0.05, 20, 0.2), [0, 19, 20, 40])]),
            schedule_cases("ex7-step-exponential", "exponential_decay", S.ExponentialDecay, [
                ("initial_lr 0.3, decay_rate 0.5, decay_steps 7", (0.3, 0.5, 7), steps),
                ("initial_lr 1.0, decay_rate 0.96, decay_steps 1", (1.0, 0.96, 1), steps[:5]),
                ("initial_lr 0.01, decay_rate 0.1, decay_steps 100", (0.01, 0.1, 100),
                 [0, 50, 150])]))


# %% nbgrader={"grade": true, "grade_id": "ex7-step-exponential-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 7
got = [step_decay(s, 0.1, 10, 0.5) for s in (0, 9, 10, 25)]
assert np.ndim(got[0]) == 0, f"step_decay should return a single number, got {got[0]!r}"
assert not np.isclose(got[0], 0.1 * 0.5**0) or not np.isclose(got[1], 0.1 * 0.5**9), (
    "step_decay multiplied by gamma at every step: only every step_size steps, "
    "gamma ** (step // step_size)")
assert np.isclose(got[0], 0.1), (
    f"step_decay(0, 0.1, 10, 0.5) should be initial_lr = 0.1, got {got[0]}")
assert not np.isclose(got[1], 0.1 * 0.5**0.9), (
    f"step_decay(9, 0.1, 10, 0.5) gave {got[1]:.6g}: it decays smoothly between the drops; the "
    f"exponent is the number of completed periods, floor(step / step_size) = step // step_size")
assert not np.isclose(got[1], 0.05), (
    "step_decay(9, 0.1, 10, 0.5) gave 0.05: it drops one step early; steps count from 0, the "
    "first drop is at step = step_size")
assert np.allclose(got, [0.1, 0.1, 0.05, 0.025]), (
    f"step_decay at steps 0, 9, 10, 25 (0.1, step_size 10, gamma 0.5) should be "
    f"[0.1, 0.1, 0.05, 0.025], got {got}")

got = [exponential_decay(s, 0.1, 0.5, 10) for s in (0, 5, 10, 20)]
assert np.ndim(got[0]) == 0, f"exponential_decay should return a single number, got {got[0]!r}"
assert not np.isclose(got[0], 0.1 * 0.5**0.1), (
    f"exponential_decay(0, 0.1, 0.5, 10) gave {got[0]:.6g}: it is one step ahead; at step 0 the "
    f"lr is initial_lr, decay_rate ** (step / decay_steps)")
assert not np.isclose(got[2], 0.1 * 0.5**10), (
    "exponential_decay ignored decay_steps: the exponent is step / decay_steps")
assert not np.isclose(got[1], 0.1), (
    "exponential_decay(5, 0.1, 0.5, 10) gave 0.1: it drops in stairs (step // decay_steps); it "
    "is smooth, decay_rate ** (step / decay_steps)")
assert np.allclose(got, [0.1, 0.1 * np.sqrt(0.5), 0.05, 0.025]), (
    f"exponential_decay at steps 0, 5, 10, 20 (0.1, rate 0.5 every 10 steps) should be "
    f"[0.1, 0.0707107, 0.05, 0.025], got {got}")
print("✅ step_decay and exponential_decay pass the visible tests.")
### BEGIN HIDDEN TESTS
# step_decay, then exponential_decay: each case: what it tests, the schedule's arguments, and
# for each step (step, the expected lr, (message, output) of typical mistakes)
_step_cases, _exp_cases = literal(step_exponential_cases())
for _name, _fn, _cases in [("step_decay", step_decay, _step_cases),
                           ("exponential_decay", exponential_decay, _exp_cases)]:
    for _what, _args, _points in _cases:
        for _step, _want, _mistakes in _points:
            _case = f"{_name} at step {_step} with {_what}"
            _got = _hidden_call(_fn, (_step,) + _args, _case)
            _hidden_float(_got, _want, _case, mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 8: `cosine_decay` and `linear_warmup` (2 points)
# `cosine_decay(step, initial_lr, total_steps, min_lr=0.0)` follows the half cosine and stays
# at `min_lr` after `total_steps`. `linear_warmup(step, after, warmup_steps,
# start_factor=0.0)` ramps up as in the formula above; `after` is either a number (a constant
# target) or a function `after(step) -> lr`, another schedule, e.g.
# `lambda s: cosine_decay(s, 0.1, 90)`. (`callable(after)` tells the two apart.) Both return
# floats.

# %% nbgrader={"grade": false, "grade_id": "ex8-cosine-warmup", "locked": false, "schema_version": 3, "solution": true}
def cosine_decay(step, initial_lr, total_steps, min_lr=0.0):
    """min_lr + (initial_lr - min_lr) * (1 + cos(pi * min(step, total_steps) / total_steps)) / 2.
    """
    ### BEGIN SOLUTION
    progress = min(step, total_steps) / total_steps
    return min_lr + (initial_lr - min_lr) * 0.5 * (1 + np.cos(np.pi * progress))
    ### END SOLUTION


def linear_warmup(step, after, warmup_steps, start_factor=0.0):
    """Ramp from start_factor * target(0) to target(0) over warmup_steps, then follow
    after(step - warmup_steps). after: a number or a function step -> lr.
    """
    ### BEGIN SOLUTION
    def target(s):
        return float(after(s)) if callable(after) else float(after)

    if step >= warmup_steps:
        return target(step - warmup_steps)
    return (start_factor + (1 - start_factor) * step / warmup_steps) * target(0)
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 8 and the hidden cases of its test.
MISTAKES.add("ex8-cosine-warmup", "cosine not clamped after total_steps",
             words="after total_steps",
             message="after total_steps the lr went up again: clamp the step, "
                     "min(step, total_steps)", code="""
def cosine_decay(step, initial_lr, total_steps, min_lr=0.0):
    return min_lr + (initial_lr - min_lr) * 0.5 * (1 + np.cos(np.pi * step / total_steps))
""")
MISTAKES.add("ex8-cosine-warmup", "cosine ignores min_lr", words="min_lr",
             message="cosine_decay ignored min_lr: it decays from initial_lr to min_lr",
             code="""
def cosine_decay(step, initial_lr, total_steps, min_lr=0.0):
    progress = min(step, total_steps) / total_steps
    return initial_lr * 0.5 * (1 + np.cos(np.pi * progress))
""")
MISTAKES.add("ex8-cosine-warmup", "cosine without (1 + cos) / 2", words="(1 + cos",
             message="cosine_decay used cos(pi * progress) directly, which turns negative: use "
                     "(1 + cos(pi * progress)) / 2", code="""
def cosine_decay(step, initial_lr, total_steps, min_lr=0.0):
    progress = min(step, total_steps) / total_steps
    return min_lr + (initial_lr - min_lr) * np.cos(np.pi * progress)
""")
MISTAKES.add("ex8-cosine-warmup", "warm-up target not shifted", words="after(step - warmup",
             message="after the warm-up the target schedule continued from step warmup_steps: "
                     "shift it, after(step - warmup_steps)", code="""
def linear_warmup(step, after, warmup_steps, start_factor=0.0):
    target = after if callable(after) else (lambda s: after)
    if step >= warmup_steps:
        return float(target(step))
    return (start_factor + (1 - start_factor) * step / warmup_steps) * float(target(0))
""")
MISTAKES.add("ex8-cosine-warmup", "warm-up one step ahead", words="step 0",
             message="the warm-up is one step ahead: at step 0 the lr is start_factor * "
                     "after(0)", code="""
def linear_warmup(step, after, warmup_steps, start_factor=0.0):
    target = after if callable(after) else (lambda s: after)
    if step >= warmup_steps:
        return float(target(step - warmup_steps))
    return (start_factor + (1 - start_factor) * (step + 1) / warmup_steps) * float(target(0))
""")
MISTAKES.add("ex8-cosine-warmup", "warm-up ignores start_factor", words="start_factor",
             message="linear_warmup ignored start_factor: the ramp starts at start_factor * "
                     "after(0)", code="""
def linear_warmup(step, after, warmup_steps, start_factor=0.0):
    target = after if callable(after) else (lambda s: after)
    if step >= warmup_steps:
        return float(target(step - warmup_steps))
    return step / warmup_steps * float(target(0))
""")
MISTAKES.add("ex8-cosine-warmup", "warm-up only takes a function", words="a number", code="""
def linear_warmup(step, after, warmup_steps, start_factor=0.0):
    if step >= warmup_steps:
        return float(after(step - warmup_steps))
    return (start_factor + (1 - start_factor) * step / warmup_steps) * float(after(0))
""")


def cosine_warmup_cases():
    cosine = schedule_cases("ex8-cosine-warmup", "cosine_decay", S.CosineDecay, [
        ("initial_lr 0.4, total_steps 30", (0.4, 30, 0.0), [0, 1, 10, 15, 29, 30, 45, 60]),
        ("initial_lr 1.0, total_steps 7, min_lr 0.1", (1.0, 7, 0.1), [0, 3, 7, 8, 20]),
        ("initial_lr 0.02, total_steps 1000, min_lr 0.001", (0.02, 1000, 0.001),
         [0, 250, 999, 1500])])
    warmup = schedule_cases("ex8-cosine-warmup", "linear_warmup", S.LinearWarmup, [
        ("a constant target 0.3, 6 warm-up steps", (0.3, 6, 0.0), [0, 1, 3, 5, 6, 20]),
        ("a constant target 2.0, 4 warm-up steps, start_factor 0.25", (2.0, 4, 0.25),
         [0, 1, 2, 3, 4, 9])])
    # a target schedule: rate ** (s / k) times a, built in the hidden test as a lambda
    shaped = []
    for a, rate, k, warm, factor, steps in [(0.5, 0.5, 5, 8, 0.1, [0, 2, 7, 8, 9, 13, 30]),
                                            (0.1, 0.9, 1, 3, 0.0, [0, 1, 2, 3, 4, 10])]:
        schedule = S.LinearWarmup(S.ExponentialDecay(a, rate, k), warm, factor)
        points = []
        for step in steps:
            want = float(schedule(step))
            points.append((step, want, MISTAKES.outputs(
                "ex8-cosine-warmup", "linear_warmup", step,
                lambda s, a=a, rate=rate, k=k: a * rate ** (s / k), warm, factor, want=want)))
        shaped.append((f"the target {a} * {rate} ** (s / {k}), {warm} warm-up steps, "
                       f"start_factor {factor}", (a, rate, k), (warm, factor), points))
    return cosine, warmup, shaped


# %% nbgrader={"grade": true, "grade_id": "ex8-cosine-warmup-tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# Tests for Exercise 8
got = [cosine_decay(s, 0.1, 100) for s in (0, 50, 100)]
assert np.ndim(got[0]) == 0, f"cosine_decay should return a single number, got {got[0]!r}"
assert not np.isclose(got[2], -0.1), (
    "cosine_decay(100, 0.1, 100) gave -0.1: cos(pi * progress) turns negative; use "
    "(1 + cos(pi * progress)) / 2")
assert np.allclose(got, [0.1, 0.05, 0.0], atol=1e-12), (
    f"cosine_decay at steps 0, 50, 100 (0.1 over 100 steps) should be [0.1, 0.05, 0], got {got}")
late = cosine_decay(150, 0.1, 100)
assert np.isclose(late, 0.0, atol=1e-12), (
    f"cosine_decay(150, 0.1, 100) gave {late:.4g}: after total_steps the lr went up again; clamp "
    f"the step, min(step, total_steps)")
got = [cosine_decay(s, 0.1, 100, 0.01) for s in (0, 50, 200)]
assert not np.isclose(got[1], 0.05), (
    "cosine_decay(50, 0.1, 100, min_lr=0.01) gave 0.05: cosine_decay ignored min_lr; it decays "
    "from initial_lr to min_lr")
assert np.allclose(got, [0.1, 0.055, 0.01]), (
    f"with min_lr = 0.01, cosine_decay at steps 0, 50, 200 should be [0.1, 0.055, 0.01], "
    f"got {got}")

try:
    got = [linear_warmup(s, 0.1, 10) for s in (0, 5, 10, 50)]
except TypeError as err:
    raise AssertionError(
        f"linear_warmup(0, 0.1, 10) raised TypeError ({err}): after may be a number (a "
        f"constant target) as well as a function; check callable(after)") from None
assert np.ndim(got[0]) == 0, f"linear_warmup should return a single number, got {got[0]!r}"
assert not np.isclose(got[0], 0.01), (
    "linear_warmup(0, 0.1, 10) gave 0.01: the warm-up is one step ahead; at step 0 the lr is "
    "start_factor * after(0)")
assert np.allclose(got, [0.0, 0.05, 0.1, 0.1]), (
    f"linear_warmup to 0.1 over 10 steps at steps 0, 5, 10, 50 should be [0, 0.05, 0.1, 0.1], "
    f"got {got}")
got = [linear_warmup(s, 0.1, 10, 0.2) for s in (0, 5)]
assert np.allclose(got, [0.02, 0.06]), (
    f"with start_factor 0.2, linear_warmup(0) and (5) should be [0.02, 0.06], got {got}: "
    f"linear_warmup ignored start_factor? the ramp starts at start_factor * after(0)")


def halving(s):   # a target schedule: 0.1, halved every 10 steps
    return 0.1 * 0.5 ** (s / 10)


got = [linear_warmup(s, halving, 10) for s in (5, 10, 20)]
assert not np.isclose(got[1], 0.05), (
    "linear_warmup(10, halving, 10) gave halving(10) = 0.05: after the warm-up the target "
    "schedule continued from step warmup_steps; shift it, after(step - warmup_steps)")
assert np.allclose(got, [0.05, 0.1, 0.05]), (
    f"warming up into halving(s) = 0.1 * 0.5 ** (s / 10) over 10 steps, steps 5, 10, 20 "
    f"should give [0.05, 0.1, 0.05], got {got}")
print("✅ cosine_decay and linear_warmup pass the visible tests.")
### BEGIN HIDDEN TESTS
# cosine_decay, then linear_warmup to a constant: each case: what it tests, the arguments, and
# for each step (step, the expected lr, (message, output) of typical mistakes); then
# linear_warmup to a schedule a * rate ** (s / k): what, (a, rate, k), (warmup_steps,
# start_factor), and the steps
_cosine, _warmup, _shaped = literal(cosine_warmup_cases())
for _name, _fn, _cases in [("cosine_decay", cosine_decay, _cosine),
                           ("linear_warmup", linear_warmup, _warmup)]:
    for _what, _args, _points in _cases:
        for _step, _want, _mistakes in _points:
            _case = f"{_name} at step {_step} with {_what}"
            _got = _hidden_call(_fn, (_step,) + _args, _case)
            _hidden_float(_got, _want, _case, mistakes=_mistakes)
for _what, _target, _args, _points in _shaped:
    _a, _rate, _k = _target
    for _step, _want, _mistakes in _points:
        _case = f"linear_warmup at step {_step} with {_what}"
        _target_fn = lambda _s, _a=_a, _r=_rate, _k=_k: _a * _r ** (_s / _k)  # noqa: E731
        _got = _hidden_call(linear_warmup, (_step, _target_fn) + _args, _case)
        _hidden_float(_got, _want, _case, mistakes=_mistakes)
### END HIDDEN TESTS

# %% [markdown]
# ### See it: your schedules
# Four schedules over 100 steps, all from **your** functions, including the favourite of
# today's large models: a short linear warm-up into a cosine decay.

# %%
steps = np.arange(100)
schedules = {
    "step decay (x0.5 every 25)": [step_decay(s, 0.1, 25, 0.5) for s in steps],
    "exponential (x0.5 every 25)": [exponential_decay(s, 0.1, 0.5, 25) for s in steps],
    "cosine to 0.005": [cosine_decay(s, 0.1, 100, 0.005) for s in steps],
    "warm-up 10 + cosine": [linear_warmup(s, lambda k: cosine_decay(k, 0.1, 90, 0.005), 10)
                            for s in steps],
}
fig, ax = plt.subplots(figsize=(7.5, 3.2), constrained_layout=True)
for label, lrs in schedules.items():
    ax.plot(steps, lrs, label=label)
ax.set(xlabel="step", ylabel="learning rate", title="learning-rate schedules")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# ## 6. The same network, six ways: handwritten digits
#
# Time to see the optimizers where they matter: training a real network. We use the 8x8
# handwritten digits that ship with scikit-learn (1,797 images, 10 classes; a small, offline
# stand-in for MNIST), split 80/20, and a small MLP, $64 \to 64 \to 10$ with ReLU and a
# softmax cross-entropy loss: the two-layer network you built in notebook 02. Each training
# run starts from the **same** initial weights and sees the **same** mini-batches in the same
# order. The only thing that changes is the update rule, and every update is made by **your**
# functions.
#
# ### Exercise 9: bring your network from notebook 02 (1 point)
# This notebook gives you no network code: the forward and backward passes are **yours**,
# from notebook 02. They are the answers of its exercises, so no notebook of the course hands
# them out; and an optimizer is only as good as the gradients it is fed, so it is worth seeing
# your own backward pass train a real network. Paste into the cell below your solutions of
# notebook 02:
#
# | function | notebook 02 | returns |
# |---|---|---|
# | `relu_backward(grad_out, x)` | Exercise 2 | $\partial L/\partial x$, of `x`'s shape |
# | `dense_backward(grad_out, X, W)` | Exercise 3 | `(dX, dW, db)` |
# | `softmax_cross_entropy(logits, labels)` | Exercise 4 | `(loss, dlogits)` |
# | `two_layer_forward(params, X)` | Exercise 8 | the scores $(N, C)$ |
# | `two_layer_loss_and_grads(params, X, y)` | Exercise 8 | `(loss, grads)` |
#
# with the same names and arguments (and any helper of your own that they call; you need not
# copy `sigmoid_backward` and `tanh_backward`). `params` is notebook 02's dict with the keys
# `"W1"`, `"b1"`, `"W2"`, `"b2"`. Replace the whole cell with your code, or fill in the five
# bodies. The test checks the scores, the loss and the four gradients of your network on
# examples it has not seen: a hidden unit that is off for every example, one that sits exactly
# at the ReLU kink, scores in the thousands. Code that passes notebook 02's tests passes these;
# if one fails here, its message names the function to fix (fix it in notebook 02 too).

# %% nbgrader={"grade": false, "grade_id": "ex9-your-network", "locked": false, "schema_version": 3, "solution": true}
# Your network from notebook 02 (its Exercises 2, 3, 4 and 8): paste your functions here.
def relu_backward(grad_out, x):
    """dL/dx for relu: grad_out where x > 0, 0 elsewhere (including x == 0)."""
    ### BEGIN SOLUTION
    return grad_out * (np.asarray(x) > 0)
    ### END SOLUTION


def dense_backward(grad_out, X, W):
    """Backward pass of Z = X @ W + b.

    grad_out: dL/dZ (N, m); X: (N, d); W: (d, m). Returns (dX (N, d), dW (d, m), db (m,)).
    """
    ### BEGIN SOLUTION
    return grad_out @ W.T, X.T @ grad_out, grad_out.sum(axis=0)
    ### END SOLUTION


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
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    return loss, grads
    ### END SOLUTION


# %% tags=["authoring"]
# Authoring only: the typical mistakes of Exercise 9 and the hidden cases of its test. In the
# kernel, a wrong piece (relu_backward, dense_backward, softmax_cross_entropy) is called by the
# correct two_layer_loss_and_grads; at render time a mistake runs in a copy of the namespace,
# so a mistake in a piece carries a copy of the correct network (NET) that calls it.
NET_HEAD = """
def two_layer_loss_and_grads(params, X, y):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0.0)
    S = A1 @ params["W2"] + params["b2"]
    loss, dS = softmax_cross_entropy(S, y)
"""
NET = NET_HEAD + """
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    dZ1 = relu_backward(dA1, Z1)
    _, dW1, db1 = dense_backward(dZ1, X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
"""
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
MISTAKES.add("ex9-your-network", "forward pass without the ReLU", words="ReLU",
             message="the scores have no ReLU between the layers: A1 = ReLU(X W1 + b1)",
             code="""
def two_layer_forward(params, X):
    return (X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
""")
MISTAKES.add("ex9-your-network", "relu_backward without the gate", words=("W1", "ReLU"),
             message="the gradient for W1 missed the ReLU gate: relu_backward(dA1, Z1) passes "
                     "dA1 only where Z1 > 0", code="""
def relu_backward(grad_out, x):
    return grad_out
""" + NET)
MISTAKES.add("ex9-your-network", "relu gate open at x = 0", words="x = 0", code="""
def relu_backward(grad_out, x):
    return grad_out * (np.asarray(x) >= 0)
""")
MISTAKES.add("ex9-your-network", "ReLU gate on the wrong array", words=("W1", "ReLU"),
             message="the gradient for W1 is gated by the wrong array: dZ1 = "
                     "relu_backward(dA1, Z1), with the first layer's Z1", code=NET_HEAD + """
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    dZ1 = relu_backward(dA1, dA1)
    _, dW1, db1 = dense_backward(dZ1, X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
""")
MISTAKES.add("ex9-your-network", "db is the mean", words="sum",
             message="the bias gradients are means over the batch: in dense_backward, db is the "
                     "sum of grad_out (the 1/N of the loss is already in it)", code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W.T, X.T @ grad_out, grad_out.mean(axis=0)
""" + NET)
MISTAKES.add("ex9-your-network", "dW transposed", words="X.T @ grad_out",
             message="a weight gradient is transposed: in dense_backward, dW = X.T @ grad_out, "
                     "of W's shape", code="""
def dense_backward(grad_out, X, W):
    return grad_out @ W.T, grad_out.T @ X, grad_out.sum(axis=0)
""" + NET)
MISTAKES.add("ex9-your-network", "dlogits not divided by N", words="divide by N",
             message="every gradient is N times too large: softmax_cross_entropy's dlogits is "
                     "(P - Y) / N, divide by N (the loss is a mean)", code=CE_HEAD + """
    P[rows, labels] -= 1.0
    return loss, P
""" + NET)
MISTAKES.add("ex9-your-network", "one-hot not subtracted", words="P - Y",
             message="dlogits is P / N: in softmax_cross_entropy, subtract the one-hot labels, "
                     "(P - Y) / N", code=CE_HEAD + """
    return loss, P / n
""" + NET)
MISTAKES.add("ex9-your-network", "loss summed over the batch", words="mean",
             message="the loss is the sum over the batch: softmax_cross_entropy takes the mean",
             code=CE_HEAD + """
    P[rows, labels] -= 1.0
    return loss * n, P / n
""" + NET)
MISTAKES.add("ex9-your-network", "no max subtracted", words="max", code="""
def softmax_cross_entropy(logits, labels):
    logits = np.asarray(logits, dtype=float)
    n = logits.shape[0]
    e = np.exp(logits)
    P = e / e.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(P[np.arange(n), labels])))
    P[np.arange(n), labels] -= 1.0
    return loss, P / n
""" + NET)
MISTAKES.add("ex9-your-network", "divided by N twice", words="twice",
             message="the gradients are N times too small: softmax_cross_entropy already "
                     "divides by N, do not divide twice", code=NET_HEAD + """
    dS = dS / X.shape[0]
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    dZ1 = relu_backward(dA1, Z1)
    _, dW1, db1 = dense_backward(dZ1, X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
""")
MISTAKES.add("ex9-your-network", "dW2 from the pre-activation Z1", words="W2",
             message="the gradient for W2 used Z1: the second layer's input is A1 = ReLU(Z1)",
             code=NET_HEAD + """
    dA1, dW2, db2 = dense_backward(dS, Z1, params["W2"])
    dZ1 = relu_backward(dA1, Z1)
    _, dW1, db1 = dense_backward(dZ1, X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
""")
MISTAKES.add("ex9-your-network", "grads returned as a list", words="dict", code=NET_HEAD + """
    dA1, dW2, db2 = dense_backward(dS, A1, params["W2"])
    dZ1 = relu_backward(dA1, Z1)
    _, dW1, db1 = dense_backward(dZ1, X, params["W1"])
    return loss, [dW1, db1, dW2, db2]
""")
NET_KEYS = ["W2", "b2", "W1", "b1"]   # the order of the backward pass: the first wrong one named


def reference_network(params, X, y):
    """Scores, loss and gradients of the two-layer network, from scratchnn.functional."""
    Z1 = F.dense(X, params["W1"], params["b1"])
    A1 = F.relu(Z1)
    scores = F.dense(A1, params["W2"], params["b2"])
    loss = F.cross_entropy(scores, y)
    dA1, dW2, db2 = F.dense_backward(F.cross_entropy_backward(scores, y), A1, params["W2"])
    _, dW1, db1 = F.dense_backward(F.relu_backward(dA1, Z1), X, params["W1"])
    return scores, loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def network_cases():
    """What each case tests, [W1, b1, W2, b2], X, y, the expected scores and the mistakes'
    scores, the expected loss and the mistakes' losses, the expected gradients (in NET_KEYS
    order) and, per gradient, the mistakes' outputs (seeds 391-393; W2 scaled up in the last
    case, for scores in the thousands)."""
    out = []
    for seed, (n, d, h, c), scale in [(391, (5, 3, 6, 4), 1.0), (392, (2, 4, 3, 2), 1.0),
                                      (393, (7, 2, 5, 3), 1000.0)]:
        rng = np.random.default_rng(seed)
        W1, b1, W2, b2, X = (short(rng.normal(size=s)) for s in [(d, h), h, (h, c), c, (n, d)])
        W2 = short(W2 * scale)
        y = rng.integers(0, c, size=n)
        params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        scores, loss, grads = reference_network(params, X, y)
        scores_mistakes = MISTAKES.outputs("ex9-your-network", "two_layer_forward", params, X,
                                           want=scores)
        loss_mistakes = MISTAKES.outputs("ex9-your-network", "two_layer_loss_and_grads",
                                         params, X, y, want=loss, pick=lambda r: r[0])
        mistakes = [MISTAKES.outputs("ex9-your-network", "two_layer_loss_and_grads", params, X,
                                     y, want=grads[key], pick=lambda r, key=key: r[1][key])
                    for key in NET_KEYS]
        what = f"X of shape {(n, d)}, {h} hidden units, {c} classes" + (
            ", scores in the thousands" if scale > 1 else "")
        out.append((what, [W1, b1, W2, b2], X, y, scores, scores_mistakes, loss, loss_mistakes,
                    [grads[key] for key in NET_KEYS], mistakes))
    return out


# %% nbgrader={"grade": true, "grade_id": "ex9-your-network-tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
# Tests for Exercise 9
# A small network: X (5, 3), 4 hidden units, 3 classes. Hidden unit 2 is off for every
# example (its z is -1), and unit 3 sits exactly at the ReLU kink (its z is 0).
X = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0], [-1.5, 0.5, 1.0], [2.0, 1.0, 0.5],
              [0.0, -2.0, -0.5]])
y = np.array([0, 2, 1, 0, 2])
params = {"W1": np.array([[1.0, -0.5, 0.0, 0.0], [0.5, 1.0, 0.0, 0.0], [-1.0, 0.5, 0.0, 0.0]]),
          "b1": np.array([0.2, -0.3, -1.0, 0.0]),
          "W2": np.array([[1.0, -1.0, 0.5], [-0.5, 0.5, 1.0], [0.8, -0.2, 0.3],
                          [-0.4, 0.6, -1.0]]),
          "b2": np.array([0.1, 0.0, -0.1])}
saved = {k: v.copy() for k, v in params.items()}
scores = two_layer_forward(params, X)
assert isinstance(scores, np.ndarray) and scores.shape == (5, 3), (
    f"two_layer_forward should return the scores, an array of shape (N, C) = (5, 3), got "
    f"{type(scores).__name__} of shape {np.shape(scores)}")
assert not np.allclose(scores, [[2.15, -2.65, 1.9], [-2.225, 1.725, -1.85], [-3.475, 2.975, 0.025],
                                [1.525, -2.025, 0.65], [0.275, -0.775, -3.1]]), (
    "two_layer_forward has no ReLU between the layers: A1 = ReLU(X W1 + b1) (without it the "
    "two layers are one linear map)")
want_S = np.array([[2.95, -2.85, 2.2], [0.1, 0.0, -0.1], [-0.625, 0.725, 1.35], [2.3, -2.2, 1.0],
                   [0.1, 0.0, -0.1]])
assert np.allclose(scores, want_S), (
    f"two_layer_forward should give\n{want_S}\ngot\n{scores}")

result = two_layer_loss_and_grads(params, X, y)
assert isinstance(result, tuple) and len(result) == 2, (
    "two_layer_loss_and_grads should return a tuple (loss, grads)")
loss, grads = result
assert isinstance(grads, dict) and set(grads) == {"W1", "b1", "W2", "b2"}, (
    f"grads should be a dict with the keys 'W1', 'b1', 'W2', 'b2', got {type(grads).__name__}")
assert all(np.array_equal(params[k], saved[k]) for k in params), (
    "two_layer_loss_and_grads changed params in place")
assert np.ndim(loss) == 0, f"the loss should be a single number, got {loss!r}"
assert not np.isclose(loss, 5 * 0.8365481612), (
    f"the loss is {loss:.6f}, the sum over the 5 examples: softmax_cross_entropy takes the mean")
assert np.isclose(loss, 0.8365481612), (
    f"the loss should be the mean cross-entropy of the scores, 0.8365481612, got {loss}")
want = {"W2": np.array([[-0.3034425758, 0.0051211865, 0.2983213893],
                        [-0.021071728, -0.1969864877, 0.2180582157], [0, 0, 0], [0, 0, 0]]),
        "b2": np.array([0.0548081766, -0.0010196161, -0.0537885605]),
        "W1": np.array([[-0.0822228534, 0.0317220592, 0, 0], [-0.0903670902, 0.2144976707, 0, 0],
                        [0.020490673, -0.0533011381, 0, 0]]),
        "b1": np.array([-0.0575299812, 0.1396174537, 0, 0])}
for name in ["W2", "b2", "W1", "b1"]:     # the order of the backward pass
    shape = np.shape(grads[name])
    assert name[0] != "W" or shape != want[name].shape[::-1], (
        f"the gradient for {name} has shape {shape}, {name}'s is {want[name].shape}: it is "
        f"transposed; in dense_backward, dW = X.T @ grad_out")
    assert shape == want[name].shape, (
        f"the gradient for {name} should have {name}'s shape {want[name].shape}, got {shape}")
assert not all(np.allclose(grads[k], 5 * want[k]) for k in want), (
    "every gradient is N = 5 times too large: softmax_cross_entropy's dlogits is (P - Y) / N, "
    "divide by N (the loss is a mean)")
assert not all(np.allclose(grads[k], want[k] / 5) for k in want), (
    "every gradient is N = 5 times too small: softmax_cross_entropy already divides by N, do "
    "not divide twice")
assert not (np.allclose(grads["W2"], want["W2"]) and np.allclose(grads["b2"], want["b2"] / 5)), (
    "the gradient for b2 is the mean of dS over the batch: in dense_backward, db is the sum "
    "of grad_out (the 1/N of the loss is already in it)")
assert not np.allclose(grads["W2"], [[-0.4916373281, 0.1444909876, 0.3471463405],
                                     [-0.2465046181, -0.4030525265, 0.6495571447],
                                     [-0.0548081766, 0.0010196161, 0.0537885605],
                                     [0, 0, 0]]), (
    "the gradient for W2 used Z1: the second layer's input is A1 = ReLU(Z1)")
hints = {
    "W2": "dW2 = A1.T @ dS, with A1 = ReLU(Z1) the second layer's input and dS = (P - Y) / N "
          "the dlogits of softmax_cross_entropy",
    "b2": "db2 is dS summed over the batch",
    "W1": "W2 and b2 are right, so look below them: dA1 = dS @ W2.T, then dZ1 = "
          "relu_backward(dA1, Z1), then dense_backward(dZ1, X, W1)",
    "b1": "W1 is right, so look at db1: the sum of dZ1 over the batch"}
for name in ["W2", "b2"]:
    assert np.allclose(grads[name], want[name]), (
        f"the gradient for {name} should be\n{want[name]}\ngot\n{grads[name]}\n{hints[name]}")
off, kink = grads["W1"][:, 2], grads["W1"][:, 3]
assert np.allclose(off, 0.0) and np.isclose(grads["b1"][2], 0.0), (
    f"the gradient for W1 flows through hidden unit 2, which is off for every example "
    f"(Z1[:, 2] = -1): dW1[:, 2] = {off}, expected 0; the ReLU gate is missing or gated by the "
    f"wrong array: dZ1 = relu_backward(dA1, Z1) passes dA1 only where Z1 > 0")
assert np.allclose(kink, 0.0) and np.isclose(grads["b1"][3], 0.0), (
    f"the gradient for W1 flows through hidden unit 3, where Z1 = 0 exactly: dW1[:, 3] = "
    f"{kink}, expected 0; ReLU's derivative at x = 0 is 0 in this course, so relu_backward "
    f"gates with x > 0, not x >= 0")
for name in ["W1", "b1"]:
    assert np.allclose(grads[name], want[name]), (
        f"the gradient for {name} should be\n{want[name]}\ngot\n{grads[name]}\n{hints[name]}")

big = {**params, "W2": 1000 * params["W2"]}   # scores in the thousands
with np.errstate(over="raise", invalid="raise", divide="raise"):   # as the grader does
    try:
        big_loss, big_grads = two_layer_loss_and_grads(big, X, y)
    except FloatingPointError as err:
        raise AssertionError(
            f"with scores in the thousands (W2 x 1000) your network failed ({err}): in "
            f"softmax_cross_entropy, subtract each row's max from the logits before np.exp"
        ) from None
assert np.isclose(big_loss, 145.4607771), (
    f"with W2 x 1000 the loss should be 145.4607771, got {big_loss}: compute the "
    f"cross-entropy stably in softmax_cross_entropy (subtract each row's max)")

# The pieces on their own (the network above calls them; here each is called directly)
got = relu_backward(np.array([[3.0, -2.0, 3.0]]), np.array([[-1.0, 0.0, 2.0]]))
assert np.allclose(got, [[0.0, 0.0, 3.0]]), (
    f"relu_backward(grad_out=[[3, -2, 3]], x=[[-1, 0, 2]]) should be [[0, 0, 3]] (the gate "
    f"is x > 0), got {got}")
got = dense_backward(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [0.0, 0.0], [-1.0, 1.0]]),
                     X, np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]))
assert isinstance(got, tuple) and len(got) == 3, "dense_backward should return (dX, dW, db)"
for part, expected, label in [
        (got[0], [[1.0, 0.0, 1.0], [0.0, 2.0, -2.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0],
                  [-1.0, 1.0, -2.0]], "dX = grad_out @ W.T"),
        (got[1], [[-0.5, -0.5], [4.5, -3.5], [0.5, 4.5]], "dW = X.T @ grad_out"),
        (got[2], [1.0, 4.0], "db = grad_out summed over the batch")]:
    assert np.shape(part) == np.shape(expected) and np.allclose(part, expected), (
        f"dense_backward on the example X above: {label} should be {expected}, got {part}")
got = softmax_cross_entropy(np.array([[0.0, 0.0], [1e4, -1e4]]), np.array([1, 0]))
assert isinstance(got, tuple) and len(got) == 2, (
    "softmax_cross_entropy should return (loss, dlogits)")
assert np.isclose(got[0], np.log(2) / 2) and np.allclose(got[1], [[0.25, -0.25], [0.0, 0.0]]), (
    f"softmax_cross_entropy([[0, 0], [1e4, -1e4]], [1, 0]) should be (log(2) / 2, "
    f"[[0.25, -0.25], [0, 0]]), got {got}")
print("✅ your network from notebook 02 passes the visible tests.")
### BEGIN HIDDEN TESTS
# each case: what it tests, [W1, b1, W2, b2], X, y, the expected scores and (message, output)
# of typical mistakes for them, the expected loss and (message, loss) of typical mistakes, the
# gradients for W2, b2, W1, b1, and for each gradient (message, output) of typical mistakes
_cases = literal(network_cases())
for _what, _p, _X, _y, _S, _S_mistakes, _loss, _loss_mistakes, _grads, _mistakes in _cases:
    _params = {"W1": _hidden_make(_p[0]), "b1": _hidden_make(_p[1]), "W2": _hidden_make(_p[2]),
               "b2": _hidden_make(_p[3])}
    _got = _hidden_call(two_layer_forward, (_params, _hidden_make(_X)),
                        f"two_layer_forward with {_what}")
    _hidden_array(_got, _S, f"the scores of two_layer_forward with {_what}",
                  mistakes=_S_mistakes)
    _what = f"two_layer_loss_and_grads with {_what}"
    _got = _hidden_call(two_layer_loss_and_grads,
                        (_params, _hidden_make(_X), _hidden_make(_y, "i8")), _what,
                        "in softmax_cross_entropy, subtract each row's max before np.exp")
    assert _type(_got) is _tuple and _got.__len__() == 2, (
        f"hidden case {_what}: should return a tuple (loss, grads)")
    _loss_got, _by_name = _got
    assert _type(_by_name) is {}.__class__ and _by_name.keys() == {"W1", "b1", "W2", "b2"}, (
        f"hidden case {_what}: grads should be a dict with exactly the keys W1, b1, W2, b2")
    _hidden_float(_loss_got, _loss, f"the loss of {_what}", mistakes=_loss_mistakes)
    for _i, _key in [(0, "W2"), (1, "b2"), (2, "W1"), (3, "b1")]:   # in backward order
        _hidden_array(_by_name[_key], _grads[_i], f"the gradient for {_key} ({_what})",
                      mistakes=_mistakes[_i])
    assert _params["W1"].tolist() == _p[0] and _params["W2"].tolist() == _p[2], (
        f"hidden case {_what}: changed params in place")
### END HIDDEN TESTS

# %% [markdown]
# Now the experiment. The read-only cell below loads the digits and defines `init_mlp`
# (He-initialized weights, zero biases: the same dict as notebook 02's `init_two_layer`) and
# `train_mlp`, a mini-batch training loop that computes the loss and gradients of each batch
# with **your** `two_layer_loss_and_grads`, and the test accuracy with **your**
# `two_layer_forward`.

# %% nbgrader={"grade": false, "grade_id": "mlp", "locked": true, "schema_version": 3, "solution": false}
from scratchnn.datasets import load_digits

(X_train, y_train), (X_test, y_test) = load_digits(test_size=0.2, seed=0)
print(f"train: X {X_train.shape}, test: X {X_test.shape}, classes {np.unique(y_train)}")


def init_mlp(sizes, seed):
    """He-initialized weights and zero biases of a ReLU MLP: {"W1": (64, 64), "b1": ...}."""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        params[f"b{i}"] = np.zeros(n_out)
    return params


def train_mlp(update, epochs=12, batch_size=32, seed=0):
    """Mini-batch training of a fresh 64-64-10 MLP (always the same initial weights and
    batches) with your two_layer_loss_and_grads. update(name, param, grad, t) -> new param is
    called for every parameter at every step t = 1, 2, ... Returns (the training loss after
    every step, test accuracy)."""
    params = init_mlp([64, 64, 10], seed=0)
    rng = np.random.default_rng(seed)
    losses, t = [], 0
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            loss, grads = two_layer_loss_and_grads(params, X_train[batch], y_train[batch])
            t += 1
            for name in params:
                params[name] = update(name, params[name], grads[name], t)
            losses.append(loss)
    accuracy = np.mean(np.argmax(two_layer_forward(params, X_test), axis=1) == y_test)
    return np.array(losses), float(accuracy)


# %% [markdown]
# `train_mlp` needs one function, `update(name, param, grad, t)`, that returns the new value
# of the parameter called `name`. `make_update` builds it from one of your rules: it keeps
# each parameter's optimizer state in a dictionary (that is all an optimizer *object* in a
# framework is: your function plus this bookkeeping), and it accepts a schedule for `lr`.
# Read it: it is the whole difference between a rule and an optimizer.

# %%
def make_update(rule, lr, kind, **hyper):
    """update(name, param, grad, t) for train_mlp, from one of your rules. kind: "plain"
    (sgd), "one" (momentum, nesterov, rmsprop: one state array) or "two" (adam, adamw). lr:
    a number, or a schedule lr(step) with the step counted from 0."""
    state = {}

    def update(name, param, grad, t):
        rate = lr(t - 1) if callable(lr) else lr
        if kind == "plain":
            return rule(param, grad, rate, **hyper)
        if kind == "one":
            new, state[name] = rule(param, grad, state.get(name, np.zeros_like(param)), rate,
                                    **hyper)
            return new
        m, v = state.get(name, (np.zeros_like(param), np.zeros_like(param)))
        new, m, v = rule(param, grad, m, v, t, rate, **hyper)
        state[name] = (m, v)
        return new

    return update


# 12 epochs of 45 mini-batches: 540 steps per run.
runs = {
    "SGD, lr 0.1": make_update(sgd, 0.1, "plain"),
    "momentum, lr 0.02": make_update(momentum, 0.02, "one", beta=0.9),
    "Nesterov, lr 0.02": make_update(nesterov, 0.02, "one", beta=0.9),
    "RMSProp, lr 3e-3": make_update(rmsprop, 3e-3, "one", rho=0.99),
    "Adam, lr 5e-3": make_update(adam, 5e-3, "two"),
    "AdamW, lr 5e-3, wd 0.05": make_update(adamw, 5e-3, "two", weight_decay=0.05),
    "Adam, warm-up + cosine 1e-2": make_update(
        adam, lambda s: linear_warmup(s, lambda k: cosine_decay(k, 1e-2, 490, 1e-4), 50),
        "two"),
}
results = {label: train_mlp(update) for label, update in runs.items()}


def smooth(values, width=15):
    """Moving average, so that the trend shows through the mini-batch noise."""
    return np.convolve(values, np.ones(width) / width, mode="valid")


fig, ax = plt.subplots(figsize=(8.4, 4.6), constrained_layout=True)
for label, (losses, accuracy) in results.items():
    ax.plot(smooth(losses), label=f"{label}: test accuracy {accuracy:.1%}")
ax.set(xlabel="step (mini-batch of 32)", ylabel="training loss (moving average of 15)",
       yscale="log", title="the same MLP on the digits, one run per optimizer")
ax.legend(fontsize="small")
plt.show()
for label, (losses, accuracy) in results.items():
    print(f"{label:28s} final loss {np.mean(losses[-45:]):.4f}   test accuracy {accuracy:.1%}")

# %% [markdown]
# ### What the picture shows
# - **SGD** is the slowest: its step is the raw gradient, and one learning rate must suit
#   every weight. Raise it and it speeds up, until it becomes unstable.
# - **Momentum and Nesterov**, with a *fifth* of SGD's learning rate, are clearly faster: with
#   $\beta = 0.9$ the velocity of a steady gradient is $g / (1 - \beta) = 10\,g$, so their
#   effective learning rate is $0.2$, twice SGD's, and the velocity averages out part of the
#   mini-batch noise. (Try SGD with `lr 0.2`: it nearly matches them.) Nesterov's look-ahead
#   changes little here.
# - **RMSProp, Adam and AdamW** fall fastest in the first hundred steps: dividing by
#   $\sqrt{v}$ gives every weight a step of about $\eta$, whatever the scale of its gradient,
#   so weights with small gradients no longer hold training back. RMSProp, without momentum or
#   bias correction, is the noisiest.
# - **Warm-up + cosine** is the slowest of all for the first 50 steps (its learning rate is
#   still ramping up), then it uses a learning rate twice Adam's, and its cosine tail brings
#   the step down so it settles to the lowest training loss, with the least noise at the end.
# - **AdamW**'s decay costs it a little training loss compared with Adam: weight decay pulls
#   the weights away from the best fit of the training set, on purpose. What it buys is
#   generalization, which a problem this small barely shows (notebook 04 is about that).
# - The **test accuracies** are all close (about 96 to 98%): on a problem this small, a
#   well-tuned optimizer mostly changes *how fast* training gets there. With a badly chosen
#   learning rate the differences are far larger: try `lr 1.0` for SGD or `5e-2` for Adam.
#
# Be careful with conclusions from one seed and one learning rate per optimizer: each
# optimizer has its own best learning rate, and a fair comparison tunes each one. Try it:
# change the learning rates in `runs` (the whole cell takes a few seconds).

# %% [markdown]
# ## Summary
# You wrote, as pure functions with explicit state:
# - **SGD** with L2 weight decay, $\theta \leftarrow \theta - \eta(g + \lambda\theta)$;
# - **momentum** and **Nesterov momentum**: a velocity $v \leftarrow \beta v + g$ that
#   averages out oscillations and speeds up consistent directions, and a look-ahead step
#   $\eta(g + \beta v)$;
# - **RMSProp**: a per-parameter step size from the running average of $g^2$, with
#   $\varepsilon$ outside the square root;
# - **Adam**: both moments, **bias-corrected** so that the first steps have the right size
#   (at $t = 1$, $\hat m = g$ and $\hat v = g^2$, a step of $\approx \eta$);
# - **AdamW**: weight decay decoupled from the adaptive step, so every weight decays at the
#   same rate, unlike L2 under Adam;
# - **schedules**: step, exponential and cosine decay, and a linear warm-up that hands over
#   to another schedule.
#
# Then you trained your own network from notebook 02 with each of them, from the same
# initial weights on the same mini-batches: one backward pass, seven training curves.
#
# These are the update rules of `scratchnn.functional` and the optimizers of
# `scratchnn.optimizers`. Notebook 04 turns to the other side of training: regularization,
# to make a network that fits the training set also generalize.
#
# ### Questions to think about
# 1. On the quadratic $\tfrac12 a\theta^2$, for which learning rates does SGD converge? With
#    momentum $\beta$, the limit becomes $\eta < 2(1 + \beta) / a$: check it in the race
#    widget on the ill-conditioned valley.
# 2. Why does Adam escape the saddle so much faster than SGD? What happens to Adam's step
#    when *every* gradient component is tiny, e.g. near a minimum?
# 3. Adam's first step moves every parameter by about $\eta$, whatever its gradient. Is that
#    a good thing for a weight whose gradient is pure noise?
# 4. You double the batch size. What happens to the noise in the gradient, and how would
#    you change SGD's learning rate? Adam's?
# 5. With L2 under Adam, which weights are regularized least? Why does that make
#    $\lambda$ hard to tune, and how does AdamW fix it?
# 6. A schedule is a function of the step, but a learning-rate finder or "reduce on
#    plateau" looks at the loss. What would such a rule need as state?
