"""The scripts in examples/ run, stay fast and reach their advertised accuracy.

Each example runs as a subprocess with this interpreter and its default arguments; its last
lines have the fixed form ``train accuracy: 0.9861`` / ``test accuracy: 0.9861``, which is
what is parsed here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# script, which accuracy is the goal, the goal, whether scikit-learn is needed
GOALS = [
    ("xor.py", "train", 1.0, False),
    ("spirals.py", "train", 0.95, False),
    ("digits.py", "test", 0.97, True),
    ("breast_cancer.py", "test", 0.95, True),
]
TIME_LIMIT = 30.0  # seconds per script; each takes about 1-2 s on a laptop


def _accuracies(stdout: str) -> dict[str, float]:
    return {m[1]: float(m[2])
            for m in re.finditer(r"^(train|test) accuracy: ([0-9.]+)$", stdout, re.MULTILINE)}


@pytest.mark.slow
@pytest.mark.parametrize(("script", "split", "goal", "needs_sklearn"), GOALS,
                         ids=[g[0] for g in GOALS])
def test_example_reaches_its_goal(script, split, goal, needs_sklearn):
    if needs_sklearn:
        pytest.importorskip("sklearn")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(EXAMPLES / script)], cwd=ROOT,
                          capture_output=True, text=True, timeout=TIME_LIMIT)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    acc = _accuracies(proc.stdout)
    assert set(acc) == {"train", "test"}, f"{script} must print both accuracies:\n{proc.stdout}"
    assert acc[split] >= goal, (f"{script}: {split} accuracy {acc[split]:.4f} is below the "
                                f"goal {goal}\n{proc.stdout}")
    assert elapsed < TIME_LIMIT


@pytest.mark.parametrize("script", [g[0] for g in GOALS])
def test_example_has_docstring_and_cli(script):
    """``--help`` works (argparse with --epochs and --seed) and the module has a docstring."""
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=TIME_LIMIT)
    assert proc.returncode == 0, proc.stderr
    assert "--epochs" in proc.stdout and "--seed" in proc.stdout
    source = (EXAMPLES / script).read_text()
    assert source.lstrip().startswith('"""'), f"{script} needs a module docstring"
