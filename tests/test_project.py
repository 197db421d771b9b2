"""Project-level checks: the README's quick start runs, and conda and pip agree on packages."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    """Package name of a requirement string such as ``"numpy>=1.24"``."""
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    for extra in ("course", "authoring", "grading", "dev"):
        names |= {_name(r) for r in project["optional-dependencies"][extra]}
    return names


def _conda_packages() -> set[str]:
    names, in_deps = set(), False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and line.startswith("  - "):
            names.add(_name(line[4:]))
        elif in_deps and line and not line.startswith(" "):
            in_deps = False
    return names - {"python", "pip"}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    conda, pip = _conda_packages(), _pyproject_packages()
    assert conda == pip, (
        f"only in environment.yml: {sorted(conda - pip)}; only in pyproject.toml: "
        f"{sorted(pip - conda)}"
    )


def test_numpy_is_the_only_hard_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert [_name(r) for r in project["dependencies"]] == ["numpy"]


def _readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_quick_start_runs(tmp_path):
    blocks = _readme_python_blocks()
    assert blocks, "README.md has no ```python code block"
    script = tmp_path / "quickstart.py"
    script.write_text(blocks[0])
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"train accuracy: ([0-9.]+)", result.stdout).group(1))
    assert accuracy >= 0.95, result.stdout
    assert (tmp_path / "spirals.npz").exists()


@pytest.mark.parametrize("module", ["scratchnn", "scratchnn.functional"])
def test_library_imports_without_optional_packages(module):
    """The library must import with NumPy alone: block matplotlib, sklearn, tqdm, torch."""
    code = (
        "import sys\n"
        "for m in ('matplotlib', 'sklearn', 'tqdm', 'torch', 'ipywidgets'):\n"
        "    sys.modules[m] = None\n"
        f"import {module}\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_benchmark_script_runs_and_reports_every_number():
    """`make bench` on a small slice: the script runs end to end and prints each measurement
    (the speed targets themselves are checked by reading its output, not by a timed test)."""
    result = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--samples", "1000", "--repeats", "1",
         "--epochs", "2"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for row in ("| scratchnn |", "| fused NumPy loop |", "| floor |", "scratchnn / GEMM floor:",
                "scratchnn / fused NumPy loop:", "float64 first epoch:",
                "predict throughput:", "peak NumPy memory during fit:"):
        assert row in out, f"{row!r} missing from the benchmark output:\n{out}"
    ratio = float(re.search(r"scratchnn / GEMM floor: ([0-9.]+)", out).group(1))
    assert ratio > 0


def test_benchmark_fused_numpy_loop_takes_the_same_steps_as_scratchnn():
    """The hand-fused loop that `make bench` compares against must compute the same training
    as scratchnn (same gradients, same Adam), or the comparison means nothing."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run as bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    rng = np.random.default_rng(3)
    model = bench.make_model()
    loop = bench.FusedNumpyLoop(model.get_weights())
    for n in (bench.BATCH, bench.BATCH, 37):  # full batches, then a partial one
        xb = rng.random((n, 784), dtype=np.float32)
        yb = rng.integers(0, 10, n)
        model.train_step(xb, yb)
        loop.step(xb, yb)
    for ours, theirs in zip(model.get_weights(), loop.params, strict=True):
        np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-6)
    # and the steps were real: the weights moved away from where they started
    assert not np.allclose(bench.make_model().get_weights()[0], loop.params[0])
