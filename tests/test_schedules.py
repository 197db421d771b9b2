"""Learning-rate schedules (scratchnn.schedules): values at known steps and argument checks."""

from __future__ import annotations

import math

import pytest

from scratchnn import schedules as S


def test_step_decay():
    s = S.StepDecay(0.1, step_size=3, gamma=0.5)
    assert [s(t) for t in range(7)] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], rel=1e-15)
    assert S.StepDecay(1.0, 10)(25) == pytest.approx(0.01)  # default gamma 0.1


def test_exponential_decay():
    s = S.ExponentialDecay(0.2, decay_rate=0.5, decay_steps=10)
    assert s(0) == 0.2
    assert s(10) == pytest.approx(0.1, rel=1e-15)
    assert s(5) == pytest.approx(0.2 * 0.5**0.5, rel=1e-15)  # smooth, not staircase
    assert S.ExponentialDecay(1.0, 0.9)(3) == pytest.approx(0.729)


def test_cosine_decay():
    s = S.CosineDecay(1.0, total_steps=100, min_lr=0.1)
    assert s(0) == pytest.approx(1.0)
    assert s(50) == pytest.approx(0.55, rel=1e-15)
    assert s(25) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2, rel=1e-15)
    assert s(100) == pytest.approx(0.1)
    assert s(1000) == pytest.approx(0.1)  # flat after total_steps
    values = [s(t) for t in range(101)]
    assert all(a >= b for a, b in zip(values[:-1], values[1:], strict=True))


def test_linear_warmup():
    s = S.LinearWarmup(0.4, warmup_steps=4)
    assert [s(t) for t in range(6)] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.4])
    s = S.LinearWarmup(S.StepDecay(1.0, step_size=2, gamma=0.5), warmup_steps=2,
                       start_factor=0.5)
    # 0.5 -> 0.75 during warm-up, then the step decay from its own step 0
    assert [s(t) for t in range(7)] == pytest.approx([0.5, 0.75, 1.0, 1.0, 0.5, 0.5, 0.25])


@pytest.mark.parametrize("make, match", [
    (lambda: S.StepDecay(0.0, 1), "StepDecay: initial_lr"),
    (lambda: S.StepDecay(0.1, 0), "StepDecay: step_size"),
    (lambda: S.ExponentialDecay(0.1, -0.5), "ExponentialDecay: decay_rate"),
    (lambda: S.ExponentialDecay(0.1, 0.5, 0), "ExponentialDecay: decay_steps"),
    (lambda: S.CosineDecay(0.1, 0), "CosineDecay: total_steps"),
    (lambda: S.LinearWarmup(0.1, 0), "LinearWarmup: warmup_steps"),
    (lambda: S.LinearWarmup(0.1, 5, start_factor=2.0), "LinearWarmup: start_factor"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_repr_names_the_arguments():
    assert repr(S.StepDecay(0.1, 3, 0.5)) == \
        "StepDecay(initial_lr=0.1, step_size=3, gamma=0.5)"
