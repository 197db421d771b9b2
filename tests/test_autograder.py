"""The autograder, end to end: real nbgrader, real sandboxed kernels, a generated class.

The corpus (tests/autograder_corpus.py) is built from release/ and notebooks/: a full solution
and an untouched release for every assignment, and for 01_neuron one student per hostile or
broken case. The whole corpus is graded ONCE per session (``--jobs 2 --timeout 10``), as a
flat LMS export; a second, small run grades three cheats in nbgrader's ``submitted/`` layout
with ``--flag-only``, twice, to check the hidden tests themselves and that re-runs give the
same files. Every assertion then reads the outputs. Fast unit tests (no kernels) cover the
name rules, notebook repair, the integrity scanner and the sandbox launcher.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from autograder_corpus import (
    NEURON,
    Course,
    assignments,
    basic_cases,
    flag_only_students,
    hostile_cases,
    read_json,
    write_flat,
    write_tree,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.cli import parse_size  # noqa: E402
from autograder.course import Course as GradedCourse  # noqa: E402
from autograder.grade import OutputError, prepare_output  # noqa: E402
from autograder.intake import discover  # noqa: E402
from autograder.integrity import scan_notebook  # noqa: E402
from autograder.normalize import repair  # noqa: E402

CASES = {c.student: c for c in basic_cases() + hostile_cases()}
HOSTILE = [c.student for c in hostile_cases()]
ASSIGNMENTS = assignments()
EXPORT_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name",
                  "first_name", "email", "raw_score", "late_submission_penalty", "score",
                  "max_score"]
RUN_TIMEOUT = 1500  # seconds: the whole corpus is a few minutes on 2 cores


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _grade(submissions: Path, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess,
                                                                 float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out),
           "--jobs", "2", "--timeout", "10", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          env=env)
    return proc, time.perf_counter() - start


class Run:
    """The outputs of one grading run, parsed."""

    def __init__(self, out: Path, proc: subprocess.CompletedProcess, seconds: float) -> None:
        self.out, self.proc, self.seconds = out, proc, seconds
        assert proc.returncode == 0, f"autograder failed:\n{proc.stdout[-3000:]}\n" \
                                     f"{proc.stderr[-3000:]}"
        with open(out / "grades.csv", encoding="utf-8", newline="") as handle:
            self.header = next(csv.reader(handle))
        with open(out / "grades.csv", encoding="utf-8", newline="") as handle:
            self.grades = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(handle)}
        self.results = {(r["student_id"], r["assignment"]): r
                        for r in read_json(out / "results.json")}
        self.problems = read_json(out / "problems.json")

    def problems_of(self, student: str) -> list[dict]:
        """Problem-log entries of one student."""
        return [p for p in self.problems if p["student_id"] == student]

    def kinds(self, student: str) -> set[str]:
        """Problem kinds logged for one student."""
        return {p["kind"] for p in self.problems_of(student)}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """The whole corpus, graded once: a flat LMS export, --jobs 2 --timeout 10."""
    base = tmp_path_factory.mktemp("autograder-corpus")
    submissions = base / "submissions"
    write_flat(list(CASES.values()), submissions)
    before = _digest(submissions)
    proc, seconds = _grade(submissions, base / "grading-output")
    print(f"\nautograder corpus: {len(CASES)} students graded in {seconds:.1f} s")
    run = Run(base / "grading-output", proc, seconds)
    run.before, run.after = before, _digest(submissions)
    return run


@pytest.fixture(scope="session")
def flag_only(tmp_path_factory):
    """The two cheats in an nbgrader submitted/ tree, graded twice with --flag-only."""
    base = tmp_path_factory.mktemp("autograder-flag-only")
    write_tree(flag_only_students(), base / "course")
    out = base / "out"
    proc1, seconds = _grade(base / "course", out, "--flag-only")
    first = {name: (out / name).read_bytes() for name in
             ("grades.csv", "problems.csv", "problems.json", "results.json", "report.html")}
    proc2, seconds2 = _grade(base / "course", out, "--flag-only")
    print(f"\nautograder flag-only runs: {seconds:.1f} s and {seconds2:.1f} s")
    run = Run(out, proc2, seconds2)
    Run(out, proc1, seconds)  # the first run succeeded too
    run.first = first
    return run


# ----------------------------------------------------------------------------------------------
# The corpus run
# ----------------------------------------------------------------------------------------------

def test_grades_csv_has_nbgrader_export_columns_and_every_student(corpus):
    assert corpus.header == EXPORT_COLUMNS
    for student, case in CASES.items():
        for assignment in case.score:
            assert (student, assignment) in corpus.grades, f"{student} missing from grades.csv"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("student", ["full", "untouched"])
def test_full_solution_and_untouched_release(corpus, student, assignment):
    case = CASES[student]
    row = corpus.grades[(student, assignment)]
    expected = case.score[assignment]
    assert float(row["score"]) == expected, (student, assignment, row)
    assert float(row["max_score"]) == CASES["full"].score[assignment]
    assert not corpus.kinds(student) & {"integrity", "autograde-failed", "kernel-died"}


@pytest.mark.parametrize("student", HOSTILE)
def test_hostile_submission(corpus, student):
    case = CASES[student]
    result = corpus.results[(student, NEURON)]
    row = corpus.grades[(student, NEURON)]
    print(f"{student}: {row['score']} / {row['max_score']}; problems "
          f"{sorted(corpus.kinds(student))}")
    assert float(row["score"]) == case.score[NEURON], (result["cells"], result["problems"])
    for cell in case.zero:
        assert result["cells"][f"neuron/{cell}"]["score"] == 0.0, cell
    missing = case.kinds - corpus.kinds(student)
    assert not missing, f"{student}: problem kinds {missing} not logged: {result['problems']}"
    unwanted = case.absent & corpus.kinds(student)
    assert not unwanted, f"{student}: unexpected problems {unwanted}: {result['problems']}"
    if case.failure:
        messages = " | ".join(m for per_cell in result["failures"].get("neuron", {}).values()
                              for m in per_cell)
        assert case.failure in messages, messages


def test_timeout_is_reported_and_the_class_still_graded(corpus):
    lines = [p for p in corpus.problems_of("infinite-loop") if p["kind"] == "timeout"]
    _, test = Course(NEURON, "neuron.ipynb").exercise("cross_entropy")
    assert lines and all(p["cell"] == test for p in lines), lines
    graded_after = [s for s in CASES if (s, NEURON) in corpus.results]
    assert len(graded_after) == len(CASES)


def test_kernel_death_is_survived(corpus):
    died = [p for p in corpus.problems_of("os-exit") if p["kind"] == "kernel-died"]
    assert died and "exit code 3" in died[0]["detail"], died
    cells = corpus.results[("os-exit", NEURON)]["cells"]
    later = [k for k, v in cells.items() if v["score"] == v["max_score"]]
    assert len(later) == len(cells) - 1, "the cells after the kernel died were not graded"


def test_integrity_findings_are_reported(corpus):
    cheat = [p["detail"] for p in corpus.problems_of("cheat") if p["kind"] == "integrity"]
    for needle in ("monkeypatch: assigns numpy.allclose", "numpy.testing.assert_allclose",
                   "builtins.AssertionError", "scratchnn.functional.softmax",
                   "scratchnn-import: imports scratchnn.functional"):
        assert any(needle in line for line in cheat), (needle, cheat)
    importer = [p for p in corpus.problems_of("importer") if p["kind"] == "integrity"]
    _, test = Course(NEURON, "neuron.ipynb").exercise("cross_entropy")
    assert importer and all(f"scored 0: {test}" in p["detail"] for p in importer), importer
    feedback = (corpus.out / "feedback" / "importer" / NEURON / "neuron.html").read_text()
    assert "Integrity check:" in feedback


def test_originals_are_never_modified(corpus):
    assert corpus.after == corpus.before


def test_feedback_for_every_gradable_submission_without_hidden_tests(corpus):
    for student in CASES:
        html = corpus.out / "feedback" / student / NEURON / "neuron.html"
        assert html.is_file(), f"no feedback for {student}"
        text = html.read_text(encoding="utf-8")
        if student in ("invalid-json", "empty"):   # not graded: the page says why and what to do
            assert "not a readable Jupyter notebook" in text or "empty" in text, student
            assert "BEGIN HIDDEN TESTS" not in text, student
            continue
        assert "BEGIN HIDDEN TESTS" not in text and "_hidden_mismatch" not in text, student
        graded = corpus.out / "autograded" / student / NEURON / "neuron.ipynb"
        assert "BEGIN HIDDEN TESTS" in graded.read_text(encoding="utf-8")


def test_class_report(corpus):
    html = (corpus.out / "report.html").read_text(encoding="utf-8")
    png = (corpus.out / "score_distribution.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert "score_distribution.png" in html
    for cell in Course(NEURON, "neuron.ipynb").points():
        assert f"neuron/{cell}" in html, cell
    assert "pass rate" in html and "NotImplementedError" in html
    assert "CellTimeoutError" in html and "MemoryError" in html
    for kind in ("timeout", "memory", "kernel-died", "invalid-notebook", "empty-file",
                 "integrity", "restored-cell", "deleted-cell", "duplicated-cell",
                 "unrecognised-file"):
        assert f"<td>{kind}</td>" in html, kind


def test_problem_log_csv_matches_json(corpus):
    with open(corpus.out / "problems.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [{k: str(v) for k, v in p.items()} for p in corpus.problems]
    stray = [p for p in corpus.problems if p["kind"] == "unrecognised-file"]
    assert any("grading-notes.txt" in p["detail"] for p in stray)


def test_sandbox_confines_the_kernel(corpus):
    nb = nbformat.read(corpus.out / "autograded" / "snoop" / NEURON / "neuron.ipynb",
                       as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))
    facts = dict(line.split(" ", 2)[1:] for line in text.splitlines()
                 if line.startswith("SANDBOX "))
    assert int(facts["memory"]) == 2 * 2**30
    assert int(facts["cpu"]) == 600
    assert facts["write-home"] == "yes", facts
    if os.geteuid() == 0:  # root here and in CI: namespaces and a private uid are available
        assert facts["read-graded-notebook"].startswith("no"), facts
        assert facts["write-cwd"].startswith("no"), facts
        assert facts["uid"] != "0"
        assert facts["netns"] != os.readlink("/proc/self/ns/net")
        assert facts["interfaces"] == "['lo']", facts
        assert facts["read-master"].startswith("no"), facts
        assert facts["list-course"].startswith("no"), facts
    assert not corpus.kinds("full") & {"sandbox"}


def test_grading_time_is_reported(corpus):
    print(f"corpus of {len(CASES)} students graded in {corpus.seconds:.1f} s (--jobs 2)")
    assert "graded in" in corpus.proc.stdout


# ----------------------------------------------------------------------------------------------
# Flag-only run (nbgrader tree layout), twice
# ----------------------------------------------------------------------------------------------

def test_flag_only_hidden_tests_still_fail_a_wrong_answer_under_monkeypatching(flag_only):
    _, test = Course(NEURON, "neuron.ipynb").exercise("softmax")
    cells = flag_only.results[("cheat", NEURON)]["cells"]
    assert cells[f"neuron/{test}"]["score"] == 0.0, cells
    assert any("flagged only" in p["detail"] for p in flag_only.problems_of("cheat"))


def test_flag_only_hidden_tests_resist_patched_builtins_and_reload(flag_only):
    _, test = Course(NEURON, "neuron.ipynb").exercise("softmax")
    cells = flag_only.results[("deep-cheat", NEURON)]["cells"]
    assert cells[f"neuron/{test}"]["score"] == 0.0, cells


def test_flag_only_keeps_points_but_flags(flag_only):
    course = Course(NEURON, "neuron.ipynb")
    _, softmax_test = course.exercise("softmax")
    cells = flag_only.results[("cheat", NEURON)]["cells"]
    # In the default mode every test after the monkeypatching scores 0 (see the corpus run);
    # flag-only keeps what the tests gave: each graded cell scores its points exactly when it
    # ran without an error. (The cheat's patched numpy.isclose makes the tests' "is it this
    # typical mistake?" checks fail too: rigging comparisons only hurts the cheater.)
    graded = nbformat.read(flag_only.out / "autograded" / "cheat" / NEURON / "neuron.ipynb",
                           as_version=4)
    errors = {c.metadata["nbgrader"]["grade_id"]: any(o.get("output_type") == "error"
                                                      for o in c.get("outputs", []))
              for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade")}
    kept = {gid: cells[f"neuron/{gid}"]["score"] for gid, failed in errors.items() if not failed}
    assert kept and all(score == cells[f"neuron/{gid}"]["max_score"]
                        for gid, score in kept.items()), kept
    assert all(cells[f"neuron/{gid}"]["score"] == 0.0 for gid, failed in errors.items()
               if failed)
    lines = [p for p in flag_only.problems_of("cheat") if p["kind"] == "integrity"]
    assert lines and all(p["detail"].endswith("flagged only") for p in lines), lines
    row = flag_only.grades[("cheat", NEURON)]
    assert row["timestamp"].startswith("2026-01-15 12:00:00")
    feedback = (flag_only.out / "feedback" / "cheat" / NEURON / "neuron.html").read_text()
    assert "flagged for review" in feedback and softmax_test in feedback


def test_rerun_gives_the_same_outputs(flag_only):
    from autograder.report import without_timings

    for name, data in flag_only.first.items():
        now = (flag_only.out / name).read_bytes()
        if name == "report.html":   # the grading time per student differs between runs
            now, data = (without_timings(x.decode()).encode() for x in (now, data))
        assert now == data, f"{name} changed on re-run"


# ----------------------------------------------------------------------------------------------
# Unit tests: no kernels
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def course():
    return GradedCourse.load(ROOT)


def test_parse_size():
    assert parse_size("2G") == parse_size("2GiB") == 2 * 2**30
    assert parse_size("1536M") == 1536 * 2**20
    assert parse_size(str(2**30)) == 2**30
    for bad in ("lots", "1K"):
        with pytest.raises(Exception):  # noqa: B017 (argparse's ArgumentTypeError)
            parse_size(bad)


def test_flat_export_name_rules(course, tmp_path):
    nb = nbformat.writes(nbformat.v4.new_notebook()).encode()
    names = {
        "alice_01_neuron.ipynb": ("alice", NEURON),
        "bob_smith_01_neuron.ipynb": ("bob_smith", NEURON),
        "carol_LATE_123_456_neuron-2.ipynb": ("carol", NEURON),
        "Dan Brown_42_assignsubmission_file_neuron.ipynb": ("Dan-Brown", NEURON),
        "erin_neuron.ipynb": ("erin", NEURON),
    }
    for name in names:
        (tmp_path / name).write_bytes(nb)
    (tmp_path / "random.ipynb").write_bytes(nb)
    buf = tmp_path / "frank_whatever.zip"
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"deep/{NEURON}/neuron.ipynb", nb)
    (tmp_path / "broken_01_neuron.zip").write_bytes(b"PK not really")
    subs, problems = discover(tmp_path, course, [NEURON])
    found = {s.key: s for s in subs}
    for student, assignment in names.values():
        assert (student, assignment) in found
        assert "neuron" in found[(student, assignment)].notebooks
    assert "neuron" in found[("frank", NEURON)].notebooks
    assert {p.kind for p in found[("broken", NEURON)].problems} == {"invalid-zip"}
    assert any("random.ipynb" in p.detail and p.kind == "unrecognised-file" for p in problems)


def test_resubmissions_keep_the_latest(course, tmp_path):
    for n, text in ((1, "old"), (2, "new"), (10, "newest")):
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_markdown_cell(text))
        (tmp_path / f"gina_1_2_neuron-{n}.ipynb").write_text(nbformat.writes(nb))
    (sub,), _ = discover(tmp_path, course, [NEURON])
    assert b"newest" in sub.notebooks["neuron"]
    assert [p.kind for p in sub.problems].count("duplicate-submission") == 2


def test_repair_handles_structural_damage(course):
    master = course.master(NEURON, "neuron")
    release = nbformat.read(ROOT / "release" / NEURON / "neuron.ipynb", as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in release.cells
             if "nbgrader" in c.metadata}
    nb = nbformat.read(ROOT / "release" / NEURON / "neuron.ipynb", as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    test1 = master.graded[0].grade_id
    del nb.cells[ids.index(test1)]  # deleted test
    setup = nb.cells[ids.index("setup")]
    setup.cell_type = "markdown"  # re-typed locked cell
    setup.pop("outputs")
    setup.pop("execution_count")
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    nb.cells[-1].metadata["nbgrader"] = {"grade": True, "grade_id": "bogus", "points": 99}
    fixed = repair(nbformat.writes(nb).encode(), master, cells)
    kinds = {(k, c) for k, c, _ in fixed.problems}
    assert ("deleted-cell", test1) in kinds
    assert ("retyped-cell", "setup") in kinds
    assert ("unknown-cell-metadata", "bogus") in kinds
    again = nbformat.reads(fixed.text, as_version=4)
    got = [c.metadata.get("nbgrader", {}).get("grade_id") for c in again.cells]
    assert [g for g in got if g] == [c.grade_id for c in master.cells]
    for data, kind in ((b"", "empty-file"), (b"{nope", "invalid-notebook"),
                       (b'{"cells": 3}', "invalid-notebook")):
        bad = repair(data, master, cells)
        assert bad.text is None and bad.problems[0][0] == kind


def test_integrity_scanner_rules():
    cells = [
        "import numpy as np\nimport scratchnn as snn",  # a released demo cell: not scanned
        "def f(x):\n    return snn.functional.relu(x)",
        "np.allclose = lambda *a, **k: True",
        "import importlib\nm = importlib.import_module('scratch' + 'nn')",
        "data = open('../../notebooks/01_neuron/neuron.ipynb').read()",
        "setattr(np, 'isclose', None)",
        "get_ipython().input_transformers_cleanup.append(lambda lines: [])",
        "%matplotlib inline\nplt_ok = 1",
        "def g(x):\n    return np.maximum(x, 0)  # honest",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    findings = scan_notebook(nb, set(range(1, len(cells))), {})
    rules = {(f.cell_index, f.rule) for f in findings}
    assert (1, "scratchnn-use") in rules
    assert (2, "monkeypatch") in rules
    assert (3, "dynamic-code") in rules
    assert (4, "course-files") in rules
    assert (5, "monkeypatch") in rules
    assert (6, "runtime-hooks") in rules
    assert not {i for i, _ in rules} & {0, 7, 8}, findings


def test_integrity_scanner_accepts_the_master_solutions():
    for assignment in ASSIGNMENTS:
        for path in sorted((ROOT / "notebooks" / assignment).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            scanned = {i for i, c in enumerate(nb.cells)
                       if c.metadata.get("nbgrader", {}).get("solution")}
            assert scan_notebook(nb, scanned, {}) == [], path


def test_sandbox_launcher_applies_limits(tmp_path):
    code = ("import os, socket, numpy as np\n"
            "try:\n    np.ones(2**28)\n    print('alloc ok')\n"
            "except MemoryError:\n    print('MemoryError')\n"
            "print('uid', os.getuid())\n"
            "print('ifaces', sorted(n for _, n in socket.if_nameindex()))\n")
    status = tmp_path / "status.json"
    cmd = [sys.executable, "-I", str(ROOT / "autograder" / "sandbox.py"),
           "--memory", str(768 * 2**20), "--cpu", "30", "--no-net", "--status", str(status),
           "--home", str(tmp_path), "--", sys.executable, "-c", code]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "MemoryError" in out.stdout, out.stdout
    applied = read_json(status)["applied"]
    assert "RLIMIT_AS=805306368" in applied and "RLIMIT_CPU=30" in applied
    if "network namespace" in applied:
        assert "ifaces ['lo']" in out.stdout


def test_output_folder_guard(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError):
        prepare_output(tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "precious"
    mine = tmp_path / "mine"
    prepare_output(mine)
    (mine / "grades.csv").write_text("old")
    prepare_output(mine)
    assert not (mine / "grades.csv").exists()


def test_make_grade_target():
    if shutil.which("make") is None:
        pytest.skip("no make")
    out = subprocess.run(["make", "-n", "grade", "SUBMISSIONS=some/dir"], cwd=ROOT,
                         capture_output=True, text=True)
    assert "-m autograder grade some/dir" in out.stdout, out.stdout + out.stderr


def test_roster_and_unreadable_submissions_without_kernels(tmp_path):
    """No gradable notebook at all: no kernel starts, the outputs are still complete."""
    from autograder.grade import grade_class
    from autograder.runner import Settings

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / f"ann_{NEURON}.ipynb").write_text("{ not json")
    (subs / f"ben_{NEURON}.ipynb").write_bytes(b"")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nann,Ann,Lee,ann@example.org\n"
                      "cho,Cho,Kim,cho@example.org\n")
    out = tmp_path / "out"
    summary = grade_class(subs, out, Settings(), [NEURON], ROOT, roster, log=lambda _m: None)
    with open(out / "grades.csv", encoding="utf-8", newline="") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"ann", "ben", "cho"}
    assert rows["ann"]["last_name"] == "Lee" and rows["ann"]["email"] == "ann@example.org"
    assert all(float(r["score"]) == 0.0 for r in rows.values())
    kinds = {(p.student_id, p.kind) for p in summary.problems}
    assert {("ann", "invalid-notebook"), ("ben", "empty-file"),
            ("cho", "missing-submission")} <= kinds
    assert (out / "report.html").is_file()
    for student in ("ann", "ben", "cho"):   # a page for each, saying why nothing was graded
        page = out / "feedback" / student / NEURON / "neuron.html"
        assert page.is_file(), student
        assert "BEGIN HIDDEN TESTS" not in page.read_text(encoding="utf-8")
