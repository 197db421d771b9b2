"""How long the autograder takes for a class: 20 students x 01_neuron, --jobs 1 vs --jobs 2,
and how that compares with running the notebook itself.

    python benchmarks/grading.py [--students 20] [--jobs 1 2] [--timeout 60]

Builds a flat LMS export of ``--students`` submissions from the course itself (full
solutions, one in four with one exercise wrong, as in tests/autograder_corpus.py), grades it
once per ``--jobs`` value with the real command (``python -m autograder grade``: sandboxed
kernels, nbgrader autograde + feedback, reports) and prints a Markdown table of wall-clock
seconds, seconds per student and the speed-up. It also runs one solved notebook top to
bottom with nbclient in a plain kernel (median of 3 runs, before and after the grading runs)
and reports the grading overhead: seconds per student at --jobs 1 divided by that raw
execution time (target <= 1.3x). Not a test: run it by hand on an idle machine and copy the
table into docs/grading.md. Raw figures go to benchmarks/results/grading.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import nbformat  # noqa: E402
from autograder_corpus import NEURON, Course, set_cell  # noqa: E402


def build_class(folder: Path, students: int) -> None:
    """``students`` submissions of 01_neuron; every fourth has exercise 1 wrong."""
    course = Course(NEURON, "neuron.ipynb")
    solution, _ = course.exercise("neuron_forward")
    folder.mkdir(parents=True)
    for i in range(students):
        nb = course.solved()
        if i % 4 == 3:
            set_cell(nb, solution, "def neuron_forward(x, w, b):\n    return np.dot(w, x)\n")
        (folder / f"student{i:02d}_{NEURON}.ipynb").write_text(nbformat.writes(nb),
                                                               encoding="utf-8")


def raw_execution(runs: int = 3) -> list[float]:
    """Wall-clock seconds of running a solved 01_neuron top to bottom with nbclient in a plain
    ``python3`` kernel (kernel start included), ``runs`` times: what grading cannot beat."""
    from nbclient import NotebookClient

    times = []
    for _ in range(runs):
        nb = Course(NEURON, "neuron.ipynb").solved()
        start = time.perf_counter()
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={
            "metadata": {"path": str(ROOT / "release" / NEURON)}}).execute()
        times.append(time.perf_counter() - start)
    return times


def grade(submissions: Path, out: Path, jobs: int, timeout: int) -> float:
    """Wall-clock seconds of one ``python -m autograder grade`` run."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submissions),
                           "--out", str(out), "--jobs", str(jobs), "--timeout", str(timeout)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    return seconds


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=int, default=60)
    args = parser.parse_args()
    rows = []
    raw = raw_execution()
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        submissions = Path(tmp) / "submissions"
        build_class(submissions, args.students)
        for jobs in args.jobs:
            seconds = grade(submissions, Path(tmp) / f"out-{jobs}", jobs, args.timeout)
            rows.append({"jobs": jobs, "seconds": round(seconds, 1),
                         "per_student": round(seconds / args.students, 2)})
            print(f"--jobs {jobs}: {seconds:.1f} s", flush=True)
    raw += raw_execution()   # before and after: the machine's speed drifts
    raw_median = statistics.median(raw)
    base = rows[0]["seconds"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\n{args.students} students x {NEURON} ({machine}; load average "
          f"{os.getloadavg()[0]:.1f} at the end)\n")
    print("| --jobs | wall clock (s) | s per student | speed-up | per student / raw run |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['jobs']} | {row['seconds']:.1f} | {row['per_student']:.2f} | "
              f"{base / row['seconds']:.2f}x | {row['per_student'] / raw_median:.2f}x |")
    print(f"\nraw execution of one solved notebook (nbclient, plain kernel): median "
          f"{raw_median:.1f} s of {', '.join(f'{t:.1f}' for t in raw)}; grading overhead at "
          f"--jobs 1: {rows[0]['per_student'] / raw_median:.2f}x (target <= 1.3x)")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "grading.json").write_text(json.dumps(
        {"students": args.students, "assignment": NEURON, "machine": machine, "rows": rows,
         "raw_execution_seconds": [round(t, 2) for t in raw]},
        indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
