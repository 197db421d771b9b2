"""Optimizer classes (scratchnn.optimizers): in-place updates, the functional rules, weight
decay, gradient clipping, schedules and argument checking. PyTorch parity is in
test_torch_parity.py."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnn import functional as F
from scratchnn import optimizers as O
from scratchnn import schedules
from scratchnn.core import Parameter

OPTIMIZERS = {
    "SGD": lambda **kw: O.SGD(lr=0.1, **kw),
    "Momentum": lambda **kw: O.Momentum(lr=0.1, beta=0.8, **kw),
    "Nesterov": lambda **kw: O.Momentum(lr=0.1, beta=0.8, nesterov=True, **kw),
    "RMSProp": lambda **kw: O.RMSProp(lr=0.01, rho=0.9, **kw),
    "Adam": lambda **kw: O.Adam(lr=0.01, **kw),
    "AdamW": lambda **kw: O.AdamW(lr=0.01, **kw),
}


def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal((3, 4)).astype(dtype), "W"),
            Parameter(rng.standard_normal(4).astype(dtype), "b")]


def grads_for(params, step, seed=1):
    rng = np.random.default_rng([seed, step])
    return [rng.standard_normal(p.value.shape).astype(p.value.dtype) for p in params]


def reference_rule(name, opt):
    """The functional rule that ``opt`` should apply, as ``f(param, grad, state, t) -> param``
    with ``state`` a dict of NumPy arrays (created lazily)."""
    def apply(p, g, state, t):
        if name == "SGD":
            return F.sgd(p, g, 0.1)
        if name in ("Momentum", "Nesterov"):
            v = state.setdefault("v", np.zeros_like(p))
            rule = F.nesterov if name == "Nesterov" else F.momentum
            p, state["v"] = rule(p, g, v, 0.1, 0.8)
            return p
        if name == "RMSProp":
            s = state.setdefault("s", np.zeros_like(p))
            p, state["s"] = F.rmsprop(p, g, s, 0.01, 0.9, 1e-8)
            return p
        m = state.setdefault("m", np.zeros_like(p))
        v = state.setdefault("v", np.zeros_like(p))
        if name == "AdamW":
            p, state["m"], state["v"] = F.adamw(p, g, m, v, t, 0.01, weight_decay=0.01)
        else:
            p, state["m"], state["v"] = F.adam(p, g, m, v, t, 0.01)
        return p
    return apply


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_updates_values_in_place_like_the_functional_rule(name):
    opt = OPTIMIZERS[name]()
    params = make_params()
    ids = [id(p.value) for p in params]
    originals = [p.value for p in params]
    ref_values = [p.value.copy() for p in params]
    ref_states = [{} for _ in params]
    rule = reference_rule(name, opt)
    for t in range(1, 11):  # past step 8, where the state is flushed (a no-op here)
        grads = grads_for(params, t)
        grad_copies = [g.copy() for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        opt.step(params)
        for i, g in enumerate(grad_copies):
            ref_values[i] = rule(ref_values[i], g, ref_states[i], t)
        for g, gc in zip(grads, grad_copies, strict=True):
            np.testing.assert_array_equal(g, gc)  # gradients are not modified
    assert opt.iterations == 10
    for p, i, orig, ref in zip(params, ids, originals, ref_values, strict=True):
        assert id(p.value) == i and p.value is orig  # the very same array object
        np.testing.assert_allclose(p.value, ref, rtol=1e-13, atol=1e-15)


def _subnormal_count(arr) -> int:
    tiny = np.finfo(arr.dtype).tiny
    return int(np.count_nonzero((arr != 0) & (np.abs(arr) < tiny)))


@pytest.mark.parametrize(("name", "steps"), [("Momentum", 1200), ("Nesterov", 1200),
                                             ("RMSProp", 1000), ("Adam", 1200)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_of_a_dead_unit_never_turns_subnormal(name, steps, dtype):
    """One gradient, then zeros (a dead ReLU unit): the state decays geometrically. Without the
    flush Momentum's and Adam's m reach the subnormal range (slow arithmetic) after ~800 float32
    steps, RMSProp's (rho=0.9) after ~800; with it the state goes to exactly zero instead."""
    opt = OPTIMIZERS[name]()
    p = Parameter(np.ones(6, dtype), "w")
    p.grad = np.full(6, 0.1, dtype)
    opt.step([p])
    p.grad = np.zeros(6, dtype)
    smallest_seen = np.inf
    for _ in range(steps if dtype == np.float32 else 9000):
        opt.step([p])
        for key, arr in opt.state[p].items():
            if key != "scratch" and isinstance(arr, np.ndarray):
                assert _subnormal_count(arr) == 0, (key, arr)
                nonzero = np.abs(arr[arr != 0])
                smallest_seen = min(smallest_seen, nonzero.min(initial=np.inf))
    # the state really went down to where a flush matters
    assert smallest_seen < np.finfo(dtype).tiny * 2.0 ** 40
    assert np.all(np.isfinite(p.value))


def test_flush_to_zero_only_touches_vanishing_entries():
    tiny32 = np.finfo(np.float32).tiny
    a = np.array([1.0, -2e-20, 1e-27, -1e-30, tiny32 / 4, 0.0, 3e-26], np.float32)
    before = a.copy()
    out = F.flush_to_zero(a)
    assert out is a
    np.testing.assert_array_equal(a, np.array([1.0, -2e-20, 0, 0, 0, 0, 3e-26], np.float32))
    assert a[1] == before[1] and a[6] == before[6]  # untouched entries keep every bit
    b = np.array([1e-300, 1e-290, -5e-320], np.float64)
    F.flush_to_zero(b, scratch=np.empty(3))
    np.testing.assert_array_equal(b, [0.0, 1e-290, 0.0])
    special = F.flush_to_zero(np.array([np.nan, np.inf, -np.inf, -1e-30], np.float32))
    np.testing.assert_array_equal(special, np.array([np.nan, np.inf, -np.inf, 0], np.float32))
    h = np.array([1e-7], np.float16)  # float16: left alone (NumPy computes it in float32)
    F.flush_to_zero(h)
    assert h[0] != 0


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_parameters_stay_float32(name):
    opt = OPTIMIZERS[name](weight_decay=0.1, clip_norm=1.0)
    params = make_params(np.float32)
    for t in range(3):
        for p, g in zip(params, grads_for(params, t), strict=True):
            p.grad = g.astype(np.float64)  # even a float64 gradient must not upcast
        opt.step(params)
    for p in params:
        assert p.value.dtype == np.float32
    for state in opt.state.values():
        for v in state.values():
            if isinstance(v, np.ndarray):
                assert v.dtype == np.float32


@pytest.mark.parametrize("name", ["SGD", "Momentum", "RMSProp", "Adam"])
def test_l2_weight_decay_is_added_to_the_gradient(name):
    a, b = OPTIMIZERS[name](weight_decay=0.05), OPTIMIZERS[name]()
    pa, pb = make_params(), make_params()
    for t in range(4):
        for p_a, p_b, g in zip(pa, pb, grads_for(pa, t), strict=True):
            p_a.grad = g
            p_b.grad = g + 0.05 * p_b.value  # by hand
        a.step(pa)
        b.step(pb)
    for p_a, p_b in zip(pa, pb, strict=True):
        np.testing.assert_allclose(p_a.value, p_b.value, rtol=1e-13)


def test_adamw_decay_is_decoupled():
    params = make_params()
    opt = O.AdamW(lr=0.01, weight_decay=0.2)
    start = [p.value.copy() for p in params]
    for p in params:
        p.grad = np.zeros_like(p.value)
    opt.step(params)
    # zero gradient: Adam moves nothing, only the decay shrinks the weights
    for p, s in zip(params, start, strict=True):
        np.testing.assert_allclose(p.value, s * (1 - 0.01 * 0.2), rtol=1e-15)
        np.testing.assert_array_equal(opt.state[p]["m"], 0)
        np.testing.assert_array_equal(opt.state[p]["v"], 0)
    assert O.AdamW().weight_decay == 0.01


def test_clip_norm_limits_the_global_gradient_norm():
    params = make_params()
    start = [p.value.copy() for p in params]
    grads = [np.full((3, 4), 3.0), np.full(4, 4.0)]
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    O.SGD(lr=1.0, clip_norm=0.5).step(params)
    step = [s - p.value for p, s in zip(params, start, strict=True)]
    norm = np.sqrt(sum(np.sum(d * d) for d in step))
    assert norm == pytest.approx(0.5, rel=1e-12)
    np.testing.assert_array_equal(params[0].grad, 3.0)  # the stored gradient is untouched


def test_schedule_as_learning_rate():
    sched = schedules.StepDecay(1.0, step_size=2, gamma=0.5)
    opt = O.SGD(lr=sched)
    p = Parameter(np.zeros(1), "w")
    seen = []
    for _ in range(5):
        seen.append(opt.current_lr)
        p.grad = np.ones(1)
        opt.step([p])
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert p.value[0] == pytest.approx(-sum(seen))


def test_parameters_without_gradient_are_skipped():
    params = make_params()
    before = params[1].value.copy()
    params[0].grad = np.ones((3, 4))
    opt = O.Adam()
    opt.step(params)
    np.testing.assert_array_equal(params[1].value, before)
    assert params[1] not in opt.state
    opt.zero_grad(params)
    assert all(p.grad is None for p in params)
    opt.step(params)  # nothing to do
    assert opt.iterations == 1


def test_gradient_shape_mismatch_names_the_parameter():
    p = Parameter(np.zeros((2, 3)), "dense_0.W")
    p.grad = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"dense_0.W has shape \(3, 2\).*\(2, 3\)"):
        O.SGD().step([p])


def test_argument_checks_and_lookup():
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="SGD: lr must be positive"):
            O.SGD(lr=bad)
    with pytest.raises(ValueError, match="Adam: weight_decay"):
        O.Adam(weight_decay=-1)
    with pytest.raises(ValueError, match="RMSProp: clip_norm"):
        O.RMSProp(clip_norm=0)
    with pytest.raises(ValueError, match="Momentum: beta"):
        O.Momentum(beta=1.0)
    for name, cls in [("sgd", O.SGD), ("momentum", O.Momentum), ("rmsprop", O.RMSProp),
                      ("adam", O.Adam), ("adamw", O.AdamW)]:
        assert type(O.get(name)) is cls
    opt = O.Adam(lr=0.5)
    assert O.get(opt) is opt
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        O.get("lbfgs")
    cfg = O.Momentum(lr=0.2, beta=0.5, nesterov=True).get_config()
    assert cfg == {"lr": 0.2, "weight_decay": 0.0, "clip_norm": None, "beta": 0.5,
                   "nesterov": True}
    assert type(O.Momentum(**cfg)) is O.Momentum
