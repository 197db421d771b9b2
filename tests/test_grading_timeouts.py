"""Grades do not depend on machine load (issue: a correct submission's cell ran past the limit
on a busy machine and scored 0; grading the same class again gave another grades.csv).

A timeout counts only when a re-run of that submission alone, with limits 4 times longer,
confirms it (autograder.runner.Grader.confirm_timeouts). Shown on a small class graded with a
2-second cell limit: a cell that needs ~3 s of CPU times out in the batch and is graded on its
merits in the re-run; an infinite loop times out again and scores 0 there; and the same class
graded while two CPU-hog processes run gives the same grades.csv as the quiet run.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from autograder_corpus import NEURON, Course, read_json, set_cell, write_tree

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 1500   # a hang guard for one grading run, not a measurement

SLOW = '''
import time as _time

_start = _time.process_time()
while _time.process_time() - _start < 3.0:   # 3 s of CPU: past a 2 s limit, inside 8 s
    pass


def neuron_forward(x, w, b):
    return np.dot(w, x) + b
'''
LOOP = '''
def neuron_forward(x, w, b):
    while True:
        pass
'''


def _class(folder: Path) -> Course:
    course = Course(NEURON, "neuron.ipynb")
    slow, loop = course.solved(), course.solved()
    set_cell(slow, "ex1-neuron-forward", SLOW)
    set_cell(loop, "ex1-neuron-forward", LOOP)
    write_tree({"honest": course.solved(), "slow": slow, "loop": loop}, folder)
    return course


def _grade(submissions: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out),
           "--jobs", "2", "--timeout", "2"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _hogs(n: int = 2) -> list[subprocess.Popen]:
    """Processes that keep a core busy each until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("timeouts")
    course = _class(base / "class")
    quiet = base / "quiet"
    _grade(base / "class", quiet)
    hogs = _hogs()
    try:
        busy = base / "busy"
        _grade(base / "class", busy)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    return course, quiet, busy


def _score(out: Path, student: str) -> tuple[float, float]:
    """(score, max_score) of a student in grades.csv."""
    with open(out / "grades.csv", encoding="utf-8", newline="") as handle:
        row = next(r for r in csv.DictReader(handle)
                   if r["student_id"] == student and r["assignment"] == NEURON)
    return float(row["score"]), float(row["max_score"])


def _rows(out: Path, student: str, kind: str) -> list[dict]:
    return [p for p in read_json(out / "problems.json")
            if p["student_id"] == student and p["kind"] == kind]


def test_a_cell_that_only_timed_out_in_the_batch_is_graded_on_its_merits(graded):
    course, quiet, _ = graded
    reruns = _rows(quiet, "slow", "timeout-rerun")
    assert len(reruns) == 1 and "it finished" in reruns[0]["detail"], reruns
    assert not _rows(quiet, "slow", "timeout"), "the confirmed re-run still logs a timeout"
    score, max_score = _score(quiet, "slow")
    assert max_score == course.max_score and score == max_score, (
        f"the slow student scored {score} / {max_score}")


def test_an_infinite_loop_times_out_again_and_the_timeout_counts(graded):
    _, quiet, _ = graded
    reruns = _rows(quiet, "loop", "timeout-rerun")
    assert len(reruns) == 1 and "timed out again" in reruns[0]["detail"], reruns
    assert _rows(quiet, "loop", "timeout"), "the confirmed timeout is not in the problem log"
    score, max_score = _score(quiet, "loop")
    assert score == max_score - 1, f"the loop should cost exercise 1 (1 point): {score}"
    assert not _rows(quiet, "honest", "timeout-rerun") or "it finished" in \
        _rows(quiet, "honest", "timeout-rerun")[0]["detail"]


def test_grades_are_the_same_with_two_cpu_hogs_running(graded):
    _, quiet, busy = graded
    assert (busy / "grades.csv").read_text() == (quiet / "grades.csv").read_text()
