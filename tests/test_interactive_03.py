"""The optimizer race's controls for RMSProp's rho and Adam's betas (notebook 03 lets students
choose the learning rate and the betas of their own rules)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

from scratchnn.interactive import optimizer_race, race_trajectories  # noqa: E402


def test_rho_and_betas_have_controls_that_reach_the_rules():
    box = optimizer_race("beale", ["rmsprop", "adam"], steps=20, resolution=12, rho=0.9,
                         betas=(0.8, 0.99))
    assert {"rho", "beta1", "beta2"} <= set(box.controls)
    assert box.controls["rho"].value == pytest.approx(0.9)
    assert (box.controls["beta1"].value, box.controls["beta2"].value) == pytest.approx(
        (0.8, 0.99))
    expected = race_trajectories("beale", ["rmsprop", "adam"], steps=20, rho=0.9,
                                 betas=(0.8, 0.99))
    for name in ("rmsprop", "adam"):
        np.testing.assert_allclose(box.race[name], expected[name])

    before = {name: box.race[name].copy() for name in ("rmsprop", "adam")}
    box.controls["rho"].value = 0.5
    assert not np.allclose(box.race["rmsprop"], before["rmsprop"]), "rho did not reach rmsprop"
    np.testing.assert_allclose(box.race["adam"], before["adam"])
    box.controls["beta2"].value = 0.9
    assert not np.allclose(box.race["adam"], before["adam"]), "beta2 did not reach adam"
    adam_before = box.race["adam"].copy()
    box.controls["beta1"].value = 0.5
    assert not np.allclose(box.race["adam"], adam_before), "beta1 did not reach adam"
    expected = race_trajectories("beale", ["rmsprop", "adam"], steps=20, rho=0.5,
                                 betas=(0.5, 0.9))
    for name in ("rmsprop", "adam"):
        np.testing.assert_allclose(box.race[name], expected[name])


def test_the_default_betas_are_the_usual_ones_and_students_rules_get_them():
    seen = []

    def adam(param, grad, m, v, t, lr, beta1, beta2):
        seen.append((beta1, beta2))
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        step = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + 1e-8)
        return param - lr * step, m, v

    box = optimizer_race("saddle", ["adam"], steps=5, resolution=10, rules={"adam": adam})
    assert box.error is None and seen and set(seen) == {(0.9, 0.999)}
    seen.clear()
    box.controls["beta2"].value = 0.95
    assert set(seen) == {(0.9, 0.95)}
