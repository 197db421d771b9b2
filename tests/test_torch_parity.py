"""PyTorch parity in float64: forward and backward of every functional piece and layer, the
batch-norm running statistics, and 10 steps of every optimizer, all within 1e-10 relative
error. Skipped when torch is not installed."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import functional as F
from scratchnn import layers as L
from scratchnn import optimizers as O
from scratchnn.core import Parameter

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.torch

RTOL = 1e-10


def assert_parity(ours, theirs, rtol=RTOL):
    """Elementwise ``|ours - theirs| <= rtol * |theirs|``, with an absolute floor of
    ``1e-2 * rtol * max|theirs|`` so that entries that are zero up to round-off compare."""
    if isinstance(theirs, torch.Tensor):
        theirs = theirs.detach().numpy()
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    scale = float(np.max(np.abs(theirs))) if theirs.size else 0.0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-2 * rtol * scale)


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def torch_grads(out, inputs, upstream=None):
    """Gradients of ``sum(out * upstream)`` (or of the scalar ``out``) w.r.t. ``inputs``."""
    grads = torch.autograd.grad(out, inputs, grad_outputs=None if upstream is None
                                else t64(upstream))
    return [g.numpy() for g in grads]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# --------------------------------------------------------------------------------------------
# Layers and activations
# --------------------------------------------------------------------------------------------

def test_dense(rng):
    x, W, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    r = rng.standard_normal((6, 3))
    xt, Wt, bt = t64(x, True), t64(W, True), t64(b, True)
    out_t = TF.linear(xt, Wt.T, bt)  # torch stores (out, in); ours is (in, out)
    assert_parity(F.dense(x, W, b), out_t)
    for ours, theirs in zip(F.dense_backward(r, x, W), torch_grads(out_t, (xt, Wt, bt), r),
                            strict=True):
        assert_parity(ours, theirs)
    # the layer class too
    layer = L.Dense(4, 3)
    layer.build(np.random.default_rng(0), np.float64)
    layer.W.value, layer.b.value = W.copy(), b.copy()
    assert_parity(layer.forward(x), out_t)
    gx = layer.backward(r)
    tx, tW, tb = torch_grads(TF.linear(xt, Wt.T, bt), (xt, Wt, bt), r)
    assert_parity(gx, tx)
    assert_parity(layer.W.grad, tW)
    assert_parity(layer.b.grad, tb)


ACTIVATIONS = {
    "relu": (F.relu, F.relu_backward, TF.relu),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda g, x: F.leaky_relu_backward(g, x, 0.1),
                   lambda t: TF.leaky_relu(t, negative_slope=0.1)),
    "leaky_relu_default": (F.leaky_relu, F.leaky_relu_backward, TF.leaky_relu),
    "sigmoid": (F.sigmoid, F.sigmoid_backward, torch.sigmoid),
    "tanh": (F.tanh, F.tanh_backward, torch.tanh),
    "softmax": (F.softmax, F.softmax_backward, lambda t: TF.softmax(t, dim=-1)),
    "log_softmax": (F.log_softmax, F.log_softmax_backward, lambda t: TF.log_softmax(t, dim=-1)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation(rng, name):
    fwd, bwd, torch_fn = ACTIVATIONS[name]
    x = rng.uniform(-5, 5, (8, 5))
    x[np.abs(x) < 1e-3] = 0.5  # no value at a kink
    r = rng.standard_normal((8, 5))
    xt = t64(x, True)
    out_t = torch_fn(xt)
    assert_parity(fwd(x), out_t)
    assert_parity(bwd(r, x), torch_grads(out_t, (xt,), r)[0])


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------

def test_cross_entropy_integer_labels(rng):
    z, labels = rng.standard_normal((7, 4)) * 3, rng.integers(0, 4, 7)
    zt = t64(z, True)
    loss_t = TF.cross_entropy(zt, torch.tensor(labels))
    assert F.cross_entropy(z, labels) == pytest.approx(loss_t.item(), rel=RTOL)
    assert_parity(F.cross_entropy_backward(z, labels), torch_grads(loss_t, (zt,))[0])


@pytest.mark.parametrize("kind", ["one_hot", "probabilities"])
def test_cross_entropy_probability_targets(rng, kind):
    z = rng.standard_normal((7, 4)) * 3
    target = np.eye(4)[rng.integers(0, 4, 7)] if kind == "one_hot" \
        else rng.dirichlet(np.ones(4), 7)
    zt = t64(z, True)
    loss_t = TF.cross_entropy(zt, t64(target))
    assert F.cross_entropy(z, target) == pytest.approx(loss_t.item(), rel=RTOL)
    assert_parity(F.cross_entropy_backward(z, target), torch_grads(loss_t, (zt,))[0])


def test_cross_entropy_from_probabilities(rng):
    p, labels = rng.dirichlet(np.ones(4), 7), rng.integers(0, 4, 7)
    pt = t64(p, True)
    loss_t = TF.nll_loss(torch.log(pt), torch.tensor(labels))
    assert F.cross_entropy(p, labels, from_logits=False) == pytest.approx(loss_t.item(),
                                                                          rel=RTOL)
    assert_parity(F.cross_entropy_backward(p, labels, from_logits=False),
                  torch_grads(loss_t, (pt,))[0])


@pytest.mark.parametrize("soft", [False, True])
def test_binary_cross_entropy_with_logits(rng, soft):
    z = rng.standard_normal((9, 1)) * 4
    t = rng.uniform(0, 1, (9, 1)) if soft else rng.integers(0, 2, (9, 1)).astype(float)
    zt = t64(z, True)
    loss_t = TF.binary_cross_entropy_with_logits(zt, t64(t))
    assert F.binary_cross_entropy(z, t) == pytest.approx(loss_t.item(), rel=RTOL)
    assert_parity(F.binary_cross_entropy_backward(z, t), torch_grads(loss_t, (zt,))[0])


@pytest.mark.parametrize("soft", [False, True])
def test_binary_cross_entropy_from_probabilities(rng, soft):
    p = rng.uniform(0.01, 0.99, (9, 2))
    t = rng.uniform(0, 1, (9, 2)) if soft else rng.integers(0, 2, (9, 2)).astype(float)
    pt = t64(p, True)
    loss_t = TF.binary_cross_entropy(pt, t64(t))
    assert F.binary_cross_entropy(p, t, from_logits=False) == pytest.approx(loss_t.item(),
                                                                           rel=RTOL)
    assert_parity(F.binary_cross_entropy_backward(p, t, from_logits=False),
                  torch_grads(loss_t, (pt,))[0])


def test_mse(rng):
    p, t = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    pt = t64(p, True)
    loss_t = TF.mse_loss(pt, t64(t))
    assert F.mse(p, t) == pytest.approx(loss_t.item(), rel=RTOL)
    assert_parity(F.mse_backward(p, t), torch_grads(loss_t, (pt,))[0])


# --------------------------------------------------------------------------------------------
# Dropout and batch norm
# --------------------------------------------------------------------------------------------

def test_dropout_with_torchs_mask(rng):
    x, r = rng.standard_normal((20, 6)), rng.standard_normal((20, 6))
    rate = 0.3
    torch.manual_seed(7)
    mask = TF.dropout(torch.ones(20, 6, dtype=torch.float64), p=rate, training=True).numpy()
    assert set(np.unique(mask)) == {0.0, 1 / (1 - rate)}
    torch.manual_seed(7)
    xt = t64(x, True)
    out_t = TF.dropout(xt, p=rate, training=True)
    assert_parity(x * mask, out_t)
    assert_parity(F.dropout_backward(r, mask), torch_grads(out_t, (xt,), r)[0])
    # and our own mask fed to torch's formulation (x * mask)
    out, our_mask = F.dropout(x, rate, rng=np.random.default_rng(3))
    xt = t64(x, True)
    out_t = xt * t64(our_mask)
    assert_parity(out, out_t)
    assert_parity(F.dropout_backward(r, our_mask), torch_grads(out_t, (xt,), r)[0])
    # eval mode: identity in both
    assert_parity(F.dropout(x, rate, training=False)[0], TF.dropout(t64(x), rate,
                                                                     training=False))


def test_batch_norm_train_steps_and_eval(rng):
    d = 5
    gamma, beta = rng.uniform(0.5, 2, d), rng.standard_normal(d)
    rm, rv = np.zeros(d), np.ones(d)
    rm_t, rv_t = torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)
    gt, bt = t64(gamma, True), t64(beta, True)
    for _ in range(6):  # several training steps: the running statistics must follow torch's
        x = rng.normal(rng.uniform(-3, 3, d), rng.uniform(0.5, 4, d), (16, d))
        r = rng.standard_normal((16, d))
        out, cache, rm, rv = F.batch_norm(x, gamma, beta, rm, rv, training=True, momentum=0.1,
                                          eps=1e-5)
        xt = t64(x, True)
        out_t = TF.batch_norm(xt, rm_t, rv_t, gt, bt, training=True, momentum=0.1, eps=1e-5)
        assert_parity(out, out_t)
        for ours, theirs in zip(F.batch_norm_backward(r, cache),
                                torch_grads(out_t, (xt, gt, bt), r), strict=True):
            assert_parity(ours, theirs)
        assert_parity(rm, rm_t)
        assert_parity(rv, rv_t)
    # eval mode with the accumulated statistics
    x, r = rng.standard_normal((4, d)), rng.standard_normal((4, d))
    out, cache, rm2, rv2 = F.batch_norm(x, gamma, beta, rm, rv, training=False)
    xt = t64(x, True)
    out_t = TF.batch_norm(xt, rm_t, rv_t, gt, bt, training=False, eps=1e-5)
    assert_parity(out, out_t)
    for ours, theirs in zip(F.batch_norm_backward(r, cache), torch_grads(out_t, (xt, gt, bt), r),
                            strict=True):
        assert_parity(ours, theirs)
    np.testing.assert_array_equal(rm2, rm)
    np.testing.assert_array_equal(rv2, rv)


def test_batchnorm_layer_matches_torch_module(rng):
    d = 3
    ours = L.BatchNorm(d, momentum=0.1, eps=1e-5)
    ours.build(np.random.default_rng(0), np.float64)
    theirs = torch.nn.BatchNorm1d(d, momentum=0.1, eps=1e-5, dtype=torch.float64)
    for _ in range(5):
        x = rng.normal(2.0, 3.0, (10, d))
        theirs.train()
        assert_parity(ours.forward(x, training=True), theirs(t64(x)))
    assert_parity(ours.running_mean, theirs.running_mean)
    assert_parity(ours.running_var, theirs.running_var)
    theirs.eval()
    x = rng.normal(2.0, 3.0, (4, d))
    assert_parity(ours.forward(x), theirs(t64(x)))


# --------------------------------------------------------------------------------------------
# Optimizers: 10 steps with the same gradients
# --------------------------------------------------------------------------------------------

OPTIMIZER_PAIRS = {
    "SGD": (lambda: O.SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "SGD_L2": (lambda: O.SGD(lr=0.1, weight_decay=0.05),
               lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.05)),
    "Momentum": (lambda: O.Momentum(lr=0.05, beta=0.9),
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "Momentum_L2": (lambda: O.Momentum(lr=0.05, beta=0.9, weight_decay=0.01),
                    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01)),
    "Nesterov": (lambda: O.Momentum(lr=0.05, beta=0.8, nesterov=True),
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
    "RMSProp": (lambda: O.RMSProp(lr=0.01, rho=0.9, eps=1e-6),
                lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6)),
    "RMSProp_default": (lambda: O.RMSProp(lr=0.01),
                        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8)),
    "Adam": (lambda: O.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-7),
             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-7)),
    "Adam_default": (lambda: O.Adam(), lambda p: torch.optim.Adam(p)),
    "Adam_L2": (lambda: O.Adam(lr=0.01, weight_decay=0.1),
                lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1)),
    "AdamW": (lambda: O.AdamW(lr=0.01, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    "AdamW_default": (lambda: O.AdamW(), lambda p: torch.optim.AdamW(p)),
    "Adagrad": (lambda: O.Adagrad(lr=0.05, eps=1e-6),
                lambda p: torch.optim.Adagrad(p, lr=0.05, eps=1e-6)),
    "Adagrad_default": (lambda: O.Adagrad(), lambda p: torch.optim.Adagrad(p)),
    "Adagrad_L2": (lambda: O.Adagrad(lr=0.05, weight_decay=0.1),
                   lambda p: torch.optim.Adagrad(p, lr=0.05, weight_decay=0.1)),
    # no decay on the bias: ours by name, PyTorch's by a parameter group
    "AdamW_exclude_bias": (
        lambda: O.AdamW(lr=0.01, weight_decay=0.1, exclude_from_weight_decay=["b"]),
        lambda p: torch.optim.AdamW([{"params": [p[0]]},
                                     {"params": [p[1]], "weight_decay": 0.0}],
                                    lr=0.01, weight_decay=0.1)),
    "SGD_L2_exclude_bias": (
        lambda: O.SGD(lr=0.1, weight_decay=0.05, exclude_from_weight_decay="b"),
        lambda p: torch.optim.SGD([{"params": [p[0]]}, {"params": [p[1]], "weight_decay": 0.0}],
                                  lr=0.1, weight_decay=0.05)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZER_PAIRS))
def test_optimizer_ten_steps(name):
    make_ours, make_theirs = OPTIMIZER_PAIRS[name]
    rng = np.random.default_rng(42)
    init = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    ours = [Parameter(v.copy(), n) for v, n in zip(init, ("W", "b"), strict=True)]
    theirs = [torch.tensor(v.copy(), dtype=torch.float64, requires_grad=True) for v in init]
    opt, topt = make_ours(), make_theirs(theirs)
    values = [p.value for p in ours]
    for _ in range(10):
        grads = [rng.standard_normal(v.shape) for v in init]
        for p, t, g in zip(ours, theirs, grads, strict=True):
            p.grad = g.copy()
            t.grad = torch.tensor(g.copy(), dtype=torch.float64)
        opt.step(ours)
        topt.step()
        for p, t in zip(ours, theirs, strict=True):
            assert_parity(p.value, t)
    for p, v in zip(ours, values, strict=True):
        assert p.value is v  # updated in place


def _functional_run(rule, steps=10, seed=5):
    """Run one functional update rule (no optimizer class) for ``steps`` steps, with torch's
    optimizer on the same gradients; return both final parameters."""
    rng = np.random.default_rng(seed)
    p = rng.standard_normal((3, 2))
    t = torch.tensor(p.copy(), dtype=torch.float64, requires_grad=True)
    state = [np.zeros_like(p), np.zeros_like(p)]
    topt = {
        "sgd": lambda: torch.optim.SGD([t], lr=0.1),
        "momentum": lambda: torch.optim.SGD([t], lr=0.1, momentum=0.9),
        "nesterov": lambda: torch.optim.SGD([t], lr=0.1, momentum=0.9, nesterov=True),
        "rmsprop": lambda: torch.optim.RMSprop([t], lr=0.01, alpha=0.95, eps=1e-8),
        "adam": lambda: torch.optim.Adam([t], lr=0.01, betas=(0.9, 0.999), eps=1e-8),
        "adamw": lambda: torch.optim.AdamW([t], lr=0.01, weight_decay=0.3),
    }[rule]()
    for step in range(1, steps + 1):
        g = rng.standard_normal(p.shape)
        if rule == "sgd":
            p = F.sgd(p, g, 0.1)
        elif rule in ("momentum", "nesterov"):
            p, state[0] = getattr(F, rule)(p, g, state[0], 0.1, 0.9)
        elif rule == "rmsprop":
            p, state[0] = F.rmsprop(p, g, state[0], 0.01, 0.95, 1e-8)
        elif rule == "adam":
            p, state[0], state[1] = F.adam(p, g, state[0], state[1], step, 0.01)
        else:
            p, state[0], state[1] = F.adamw(p, g, state[0], state[1], step, 0.01,
                                            weight_decay=0.3)
        t.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    return p, t


@pytest.mark.parametrize("rule", ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"])
def test_functional_update_rules_match_torch(rule):
    ours, theirs = _functional_run(rule)
    assert_parity(ours, theirs)
