"""How long the autograder takes for a class: 20 students x 01_neuron, --jobs 1 vs --jobs 2,
and how that compares with running the notebook itself; with ``--cluster``, the same class on
a Dask cluster too, and a projection for a large class.

    python benchmarks/grading.py [--students 20] [--jobs 1 2] [--timeout 60]
    python benchmarks/grading.py --students 4 --assignments all --jobs 2 --cluster local:2

Builds a flat LMS export of ``--students`` submissions from the course itself (full
solutions, one in four with one exercise wrong, as in tests/autograder_corpus.py), grades it
once per ``--jobs`` value with the real command (``python -m autograder grade``: sandboxed
kernels, nbgrader autograde + feedback, reports) and prints a Markdown table of wall-clock
seconds, seconds per student and the speed-up. It also runs one solved notebook top to
bottom with nbclient in a plain kernel (median of 3 runs, before and after the grading runs)
and reports the grading overhead: seconds per student at --jobs 1 divided by that raw
execution time (target <= 1.3x). Not a test: run it by hand on an idle machine and copy the
table into docs/grading.md. Raw figures go to benchmarks/results/grading.json.

``--cluster local:2`` grades the same class with ``--cluster local:2`` (a Dask LocalCluster of
two worker processes) in the same session, so the throughput of the local jobs and of the
engine on the same cores compare as a ratio (the engine's overhead); ``--assignments all``
makes every student hand in every notebook. From the seconds each submission took in the
cluster run it projects the wall clock of a 1,000-student class (every graded assignment) on
N single-core workers: 1,000 x assignments x mean seconds per submission / N, plus the run's
fixed costs (start, template, reports) as measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import nbformat  # noqa: E402
from autograder_corpus import NEURON, Course, assignments, set_cell  # noqa: E402

PROGRESS = re.compile(r"^\[\d+/\d+\] \S+ \S+: .* points in ([\d.]+) s", re.MULTILINE)
PROJECTED_STUDENTS = 1000
PROJECTED_WORKERS = (2, 8, 32, 128)


def build_class(folder: Path, students: int, graded: list[str]) -> None:
    """``students`` submissions of each of ``graded``: full solutions, except that every
    fourth student has 01_neuron's exercise 1 wrong."""
    folder.mkdir(parents=True)
    for assignment in graded:
        course = Course(assignment, next((ROOT / "notebooks" / assignment).glob(
            "*.ipynb")).name)
        for i in range(students):
            nb = course.solved()
            if assignment == NEURON and i % 4 == 3:
                solution, _ = course.exercise("neuron_forward")
                set_cell(nb, solution,
                         "def neuron_forward(x, w, b):\n    return np.dot(w, x)\n")
            (folder / f"student{i:02d}_{assignment}.ipynb").write_text(nbformat.writes(nb),
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


def grade(submissions: Path, out: Path, timeout: int, graded: list[str],
          *engine: str) -> tuple[float, list[float]]:
    """Wall-clock seconds of one ``python -m autograder grade`` run (``engine``: ``--jobs N``
    or ``--cluster SPEC``) and the seconds of each graded submission (from its console)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submissions),
                           "--out", str(out), "--timeout", str(timeout), *engine,
                           "--assignment", *graded],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    return seconds, [float(t) for t in PROGRESS.findall(done.stdout)]


def projection(per_submission: list[float], fixed: float, graded: int) -> list[dict]:
    """Hours for :data:`PROJECTED_STUDENTS` students x ``graded`` assignments on each of
    :data:`PROJECTED_WORKERS` single-core workers."""
    mean = statistics.mean(per_submission)
    return [{"workers": n, "hours": round((PROJECTED_STUDENTS * graded * mean / n + fixed)
                                          / 3600, 2)} for n in PROJECTED_WORKERS]


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--assignments", nargs="+", default=[NEURON],
                        help="assignments every student hands in ('all': every one)")
    parser.add_argument("--cluster", nargs="*", default=[], metavar="SPEC",
                        help="also grade with --cluster SPEC (e.g. local:2)")
    args = parser.parse_args()
    graded = assignments() if args.assignments == ["all"] else args.assignments
    rows, cluster_rows = [], []
    raw = raw_execution()
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        submissions = Path(tmp) / "submissions"
        build_class(submissions, args.students, graded)
        for jobs in args.jobs:
            seconds, _ = grade(submissions, Path(tmp) / f"out-{jobs}", args.timeout, graded,
                               "--jobs", str(jobs))
            rows.append({"jobs": jobs, "seconds": round(seconds, 1),
                         "per_student": round(seconds / args.students, 2)})
            print(f"--jobs {jobs}: {seconds:.1f} s", flush=True)
        for spec in args.cluster:
            seconds, each = grade(submissions, Path(tmp) / f"out-{spec.replace(':', '-')}",
                                  args.timeout, graded, "--cluster", spec)
            cluster_rows.append({"cluster": spec, "seconds": round(seconds, 1),
                                 "submission_seconds": each})
            print(f"--cluster {spec}: {seconds:.1f} s", flush=True)
    raw += raw_execution()   # before and after: the machine's speed drifts
    raw_median = statistics.median(raw)
    base = rows[0]["seconds"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    subs = args.students * len(graded)
    print(f"\n{args.students} students x {', '.join(graded)} ({machine}; load average "
          f"{os.getloadavg()[0]:.1f} at the end)\n")
    neuron_only = graded == [NEURON]  # the raw run is of 01_neuron: compare like with like
    print("| --jobs | wall clock (s) | s per student | speed-up |"
          + (" per student / raw run |" if neuron_only else ""))
    print("|---|---|---|---|" + ("---|" if neuron_only else ""))
    for row in rows:
        print(f"| {row['jobs']} | {row['seconds']:.1f} | {row['per_student']:.2f} | "
              f"{base / row['seconds']:.2f}x |"
              + (f" {row['per_student'] / raw_median:.2f}x |" if neuron_only else ""))
    print(f"\nraw execution of one solved {NEURON} (nbclient, plain kernel): median "
          f"{raw_median:.1f} s of {', '.join(f'{t:.1f}' for t in raw)}"
          + (f"; grading overhead at --jobs {rows[0]['jobs']}: "
             f"{rows[0]['per_student'] / raw_median:.2f}x (target <= 1.3x at --jobs 1)"
             if neuron_only else ""))
    projections = {}
    if cluster_rows:
        print("\n| engine | wall clock (s) | submissions per minute | vs the first --jobs row |")
        print("|---|---|---|---|")
        for row in rows:
            print(f"| --jobs {row['jobs']} | {row['seconds']:.1f} | "
                  f"{60 * subs / row['seconds']:.2f} | {base / row['seconds']:.2f}x |")
        for row in cluster_rows:
            print(f"| --cluster {row['cluster']} | {row['seconds']:.1f} | "
                  f"{60 * subs / row['seconds']:.2f} | {base / row['seconds']:.2f}x |")
        for row in cluster_rows:
            each = row["submission_seconds"]
            workers = int(row["cluster"].split(":")[1]) if row["cluster"].startswith(
                "local:") else 1
            # what the run cost beyond its submissions' own grading time, spread over workers
            fixed = max(0.0, row["seconds"] - sum(each) / workers)
            projections[row["cluster"]] = projection(each, fixed, len(graded))
            print(f"\nprojection from --cluster {row['cluster']} (mean "
                  f"{statistics.mean(each):.1f} s per submission over {len(each)}, fixed "
                  f"{fixed:.0f} s): {PROJECTED_STUDENTS} students x {len(graded)} "
                  f"assignment(s) on N single-core workers")
            print("| workers | hours |\n|---|---|")
            for p in projections[row["cluster"]]:
                print(f"| {p['workers']} | {p['hours']:.2f} |")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "grading.json").write_text(json.dumps(
        {"students": args.students, "assignments": graded, "machine": machine, "rows": rows,
         "cluster_rows": cluster_rows, "projections": projections,
         "raw_execution_seconds": [round(t, 2) for t in raw]},
        indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
