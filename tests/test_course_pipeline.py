"""The course pipeline, end to end, for every assignment that exists under notebooks/.

1. every master runs top to bottom without error (its time is reported by `make bench`), and
   every figure it shows fits the notebook's width;
2. release/ is exactly what `make release` generates from the masters now;
3. the release leaks no solution line and no hidden-test line;
4. `nbgrader validate` passes on every master, `nbgrader validate --invert` on every release;
5. a real autograde round trip in a temporary course: the master scores full marks, the
   untouched release scores 0 without crashing, and one exercise left undone costs exactly
   that exercise's points.

The expensive steps (executing each master, regenerating the release, building and autograding
the temporary course) run once per session: `nbgrader validate` of step 4 executes each master
and keeps the executed notebook, which step 1 and the figure check read. Assignments 02-06 are
covered as soon as their masters exist.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from coursekit.settings import CourseSettings

ROOT = Path(__file__).resolve().parents[1]
# The masters run under nbgrader's per-cell limit (nbgrader_config.py); every subprocess has a
# hang guard far above what it needs (a whole master runs in under 60 s: `make bench` measures
# and reports it). No test asserts a duration: the suite must pass on a busy machine.


def _load_release_tool():
    path = ROOT / "tools" / "release.py"
    spec = importlib.util.spec_from_file_location("course_release_tool", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release_tool = _load_release_tool()
ASSIGNMENTS = release_tool.existing_assignments()
MASTERS = [p for a in ASSIGNMENTS for p in CourseSettings.read(ROOT).masters(a)]
NBGRADER = [sys.executable, "-m", "nbgrader"]
STUDENTS = ("solution", "untouched", "one-wrong")
# nbgrader's gradebook runs the `alembic` command found on PATH: make it the one of this
# environment, even when pytest was started as .venv/bin/python without activating the venv.
BIN_PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _run(cmd, cwd, timeout=600):
    env = {**os.environ, "PATH": BIN_PATH}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def _run_in_pool(cmd):
    """:func:`_run` from ROOT for a session fixture's pool: a timeout is that command's failure
    (a failed process whose stderr says so), not the fixture's."""
    try:
        return _run(cmd, cwd=ROOT)
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(cmd, -1, "", f"timed out after {exc.timeout} s")


def _tail(result, lines=40) -> str:
    text = (result.stdout or "") + "\n" + (result.stderr or "")
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------------------------
# 1. Masters execute
# --------------------------------------------------------------------------------------------

# `python -m nbgrader ...` (the same app, configuration and output), which also writes the
# notebook that `nbgrader validate` executed to the path given as first argument: one execution
# of each master serves steps 1 and 4 and the figure check.
_VALIDATE_AND_KEEP = """\
import sys

import nbformat
from nbgrader.apps.nbgraderapp import main
from nbgrader.validator import Validator

keep = sys.argv.pop(1)
_preprocess = Validator._preprocess


def _preprocess_and_keep(self, nb):
    nb = _preprocess(self, nb)
    nbformat.write(nb, keep)
    return nb


Validator._preprocess = _preprocess_and_keep
main()
"""


@pytest.fixture(scope="session")
def validated_masters(tmp_path_factory):
    """`nbgrader validate` on every master, two at a time (subprocesses: each master's kernel
    is the same as one after the other). Each master is executed once here, by nbgrader (its
    configured per-cell timeout, ``NBGRADER_VALIDATING`` set, every cell run even after an
    error), and the executed notebook is kept.

    Returns {master: (completed process, executed notebook path (missing if the run did not
    get to the end), seconds)}.
    """
    from concurrent.futures import ThreadPoolExecutor

    folder = tmp_path_factory.mktemp("validated")

    def validate(master):
        keep = folder / f"{master.parent.name}-{master.name}"
        cmd = [sys.executable, "-c", _VALIDATE_AND_KEEP, str(keep), "validate", str(master)]
        start = time.perf_counter()
        result = _run_in_pool(cmd)
        return result, keep, time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(MASTERS, pool.map(validate, MASTERS), strict=True))


def _executed(master, validated_masters):
    """The master as `nbgrader validate` executed it (the test fails if it did not get to the
    end)."""
    result, executed, _ = validated_masters[master]
    assert executed.exists(), f"{_id(master)} did not run to the end:\n{_tail(result)}"
    return nbformat.read(executed, as_version=4)


def _cell_errors(nb, skip: str | None = None) -> list[tuple[int, str]]:
    """(cell index, error) of every error output (of the cells whose source has no ``skip``)."""
    return [(index, f"{output.get('ename')}: {output.get('evalue')}")
            for index, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and not (skip and skip in cell.source)
            for output in cell.outputs if output.output_type == "error"]


@pytest.mark.parametrize("master", MASTERS, ids=_id)
def test_master_runs_top_to_bottom(master, validated_masters, record_property):
    """Every code cell runs, none raises (what `make test-notebooks`, nbval in lax mode,
    checks: no master has nbval markers)."""
    elapsed = validated_masters[master][2]
    record_property("seconds", round(elapsed, 2))
    print(f"{_id(master)} executed (and validated) in {elapsed:.1f} s")
    nb = _executed(master, validated_masters)
    not_run = [index for index, cell in enumerate(nb.cells)
               if cell.cell_type == "code" and cell.source.strip()
               and cell.get("execution_count") is None]
    assert not not_run, f"{_id(master)}: cells {not_run} were not executed"
    errors = _cell_errors(nb)
    assert not errors, f"{_id(master)} failed (cell, error):\n" + "\n".join(
        f"cell {index}: {error}" for index, error in errors)


FIGURE_WIDTH = 870  # px: JupyterLab's default notebook width; a wider image is shrunk to fit


def _png_size(data: str) -> tuple[int, int]:
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG image"
    return struct.unpack(">II", raw[16:24])


@pytest.mark.parametrize("master", MASTERS, ids=_id)
def test_master_figures_fit_the_notebook_width(master, validated_masters):
    """Every figure a student sees is readable at JupyterLab's default width: no image wider
    than 870 px (JupyterLab would shrink it, and its text with it)."""
    nb = _executed(master, validated_masters)
    # Widgets draw into their own views, not into image outputs: their cells are not read.
    widgets = "scratchnn.interactive"
    errors = _cell_errors(nb, skip=widgets)
    assert not errors, f"{_id(master)}: cells fail: {errors}"
    sizes = [(index, _png_size(output["data"]["image/png"]))
             for index, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and widgets not in cell.source
             for output in cell.outputs if "image/png" in output.get("data", {})]
    assert sizes, f"{_id(master)} shows no figure"
    print(f"{_id(master)}: figure sizes {[size for _, size in sizes]}")
    wide = [(index, size) for index, size in sizes if size[0] > FIGURE_WIDTH]
    assert not wide, f"{_id(master)}: figures wider than {FIGURE_WIDTH} px (cell, size): {wide}"


# --------------------------------------------------------------------------------------------
# 2. release/ is in sync
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def fresh_release(tmp_path_factory):
    """The release generated from the masters as they are now, in a temporary directory."""
    out = tmp_path_factory.mktemp("release")
    release_tool.release(out)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and ".ipynb_checkpoints" not in p.parts}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_what_make_release_generates(assignment, fresh_release):
    committed = _files(ROOT / "release" / assignment)
    generated = _files(fresh_release / assignment)
    assert committed, f"release/{assignment} is missing: run `make release`"
    assert sorted(committed) == sorted(generated), (
        f"release/{assignment} has files {sorted(committed)}, the masters give "
        f"{sorted(generated)}: run `make release`")
    stale = [name for name in committed if committed[name] != generated[name]]
    assert not stale, (
        f"release/{assignment}: {stale} differ from what the masters generate: run `make release` "
        f"and commit the result")


def test_release_holds_only_existing_assignments():
    release = ROOT / "release"
    folders = sorted(p.name for p in release.iterdir()
                     if p.is_dir() and not p.name.startswith(".")) if release.is_dir() else []
    assert folders == sorted(ASSIGNMENTS), (
        f"release/ has {folders}, notebooks/ has {sorted(ASSIGNMENTS)}: run `make release`")


def test_release_generation_is_deterministic(fresh_release, tmp_path):
    """Two generations from the same masters are byte-identical (beyond the committed copy)."""
    if not ASSIGNMENTS:
        pytest.skip("no assignments yet")
    first = ASSIGNMENTS[0]
    release_tool.release(tmp_path, [first])
    assert _files(tmp_path / first) == _files(fresh_release / first)


# --------------------------------------------------------------------------------------------
# 3. No leaks
# --------------------------------------------------------------------------------------------

REGIONS = (("### BEGIN SOLUTION", "### END SOLUTION"),
           ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))


def _split_secret(source: str, regions=REGIONS) -> tuple[list[str], list[str]]:
    """Lines inside solution / hidden-test regions (markers included), and all other lines."""
    secret, public, inside = [], [], None
    for line in source.splitlines():
        stripped = line.strip()
        if inside is None:
            for begin, end in regions:
                if stripped.startswith(begin):
                    inside = end
            (secret if inside else public).append(stripped)
        else:
            secret.append(stripped)
            if stripped.startswith(inside):
                inside = None
    return secret, public


def secret_lines(master: Path, regions=REGIONS) -> set[str]:
    """Stripped lines of the master's secret regions that it shows nowhere else."""
    secret, public = set(), set()
    for cell in nbformat.read(master, as_version=4).cells:
        s, p = _split_secret(cell.source, regions)
        secret.update(s)
        public.update(p)
    # A line that the master also shows outside every secret region is not a secret.
    return {line for line in secret if line and line not in public}


def _released_lines(path: Path) -> list[tuple[str, str]]:
    """(where, line) of every line a released file shows: the cells of a notebook, the text of
    any other file (binary files decoded leniently, so nothing is skipped)."""
    if path.suffix == ".ipynb":
        return [(f"cell {index}", line)
                for index, cell in enumerate(nbformat.read(path, as_version=4).cells)
                for line in cell.source.splitlines()]
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [(f"line {number}", line) for number, line in enumerate(text.splitlines(), 1)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_leaks_no_solution_and_no_hidden_test(assignment):
    """No file of release/<assignment>/ (notebook or not) shows a line that only the masters'
    solution or hidden-test regions contain."""
    masters = sorted((ROOT / "notebooks" / assignment).glob("*.ipynb"))
    folder = ROOT / "release" / assignment
    for master in masters:
        assert (folder / master.name).exists(), f"release/{assignment}/{master.name} is missing"
    secret = set().union(*(secret_lines(m) for m in masters))
    assert secret, f"{assignment} has no solution or hidden-test lines at all"
    found = leaks(folder, secret)
    assert not found, f"release/{assignment} leaks master-only lines:\n" + "\n".join(found[:20])


def leaks(folder: Path, secret: set[str]) -> list[str]:
    """Lines of any file under ``folder`` that are in ``secret``."""
    return [f"{path.relative_to(folder)}, {where}: {line.strip()}"
            for path in sorted(folder.rglob("*")) if path.is_file()
            for where, line in _released_lines(path) if line.strip() in secret]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_leak_check_reads_files_that_are_not_notebooks(assignment, tmp_path):
    """A solution line copied into any released file (a helper module, a data file) is found."""
    master = sorted((ROOT / "notebooks" / assignment).glob("*.ipynb"))[0]
    secret = secret_lines(master)
    shutil.copytree(ROOT / "release" / assignment, tmp_path / assignment)
    assert leaks(tmp_path / assignment, secret) == []
    stray = tmp_path / assignment / "data" / "helpers.py"
    stray.parent.mkdir()
    stray.write_bytes(b"\x00\xff binary junk\n    " + sorted(secret)[0].encode() + b"\n")
    assert leaks(tmp_path / assignment, secret) == [
        f"data/helpers.py, line 2: {sorted(secret)[0]}"]


# --------------------------------------------------------------------------------------------
# 4. nbgrader validate
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("master", MASTERS, ids=_id)
def test_nbgrader_validate_passes_on_master(master, validated_masters):
    result = validated_masters[master][0]
    assert result.returncode == 0, _tail(result)
    assert "Success! Your notebook passes all the tests." in result.stdout, _tail(result, 80)


@pytest.fixture(scope="session")
def validated_releases():
    """`nbgrader validate --invert` on every release notebook, two at a time (subprocesses,
    each as when they ran one after the other). Returns {master: completed process}."""
    from concurrent.futures import ThreadPoolExecutor

    def validate(master):
        released = ROOT / "release" / master.parent.name / master.name
        return _run_in_pool(NBGRADER + ["validate", "--invert", str(released)])

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(MASTERS, pool.map(validate, MASTERS), strict=True))


@pytest.mark.parametrize("master", MASTERS, ids=_id)
def test_nbgrader_validate_invert_passes_on_release(master, validated_releases):
    result = validated_releases[master]
    assert result.returncode == 0, _tail(result)
    assert "Success! The notebook does not pass any tests." in result.stdout, _tail(result, 80)


# --------------------------------------------------------------------------------------------
# 5. Autograde round trip
# --------------------------------------------------------------------------------------------

def _defined_names(source: str) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def independent_exercise(nb) -> tuple[str, str] | None:
    """(solution grade_id, test grade_id) of the first exercise whose names no other code cell
    uses, so that leaving it undone can only cost the points of the test right after it."""
    cells = nb.cells
    for i, cell in enumerate(cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution") or meta.get("grade"):
            continue
        test = next((j for j in range(i + 1, len(cells))
                     if cells[j].metadata.get("nbgrader", {}).get("grade")), None)
        if test is None or any(cells[k].metadata.get("nbgrader", {}).get("solution")
                               for k in range(i + 1, test)):
            continue
        try:
            names = _defined_names(cell.source)
        except SyntaxError:
            continue
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
        used_elsewhere = any(
            c.cell_type == "code" and k not in (i, test) and pattern.search(c.source)
            for k, c in enumerate(cells)
        ) if names else True
        if not used_elsewhere:
            return meta["grade_id"], cells[test].metadata["nbgrader"]["grade_id"]
    return None


def _autograde_assignment(course, assignment):
    """Generate, submit (solution, stub, one exercise wrong), autograde and generate feedback
    for one assignment in its own nbgrader course folder ``course``. Returns ``broken``."""
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "notebooks" / assignment, course / "notebooks" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    gen = _run(NBGRADER + ["generate_assignment", assignment, "--force"], cwd=course)
    assert gen.returncode == 0, _tail(gen)

    broken = None
    for student in STUDENTS:
        (course / "submitted" / student / assignment).mkdir(parents=True)
    for master in sorted((course / "notebooks" / assignment).glob("*.ipynb")):
        stub = nbformat.read(course / "release" / assignment / master.name, as_version=4)
        solved = nbformat.read(master, as_version=4)
        one_wrong = nbformat.read(master, as_version=4)
        if broken is None and (found := independent_exercise(solved)):
            solution_id, test_id = found
            stub_cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c
                          for c in stub.cells}
            for cell in one_wrong.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id") == solution_id:
                    cell.source = stub_cells[solution_id].source
            broken = (master.name, solution_id, test_id)
        for student, nb in zip(STUDENTS, (solved, stub, one_wrong), strict=True):
            nbformat.write(nb, course / "submitted" / student / assignment / master.name)

    grade = _run(NBGRADER + ["autograde", assignment, "--force"], cwd=course)
    assert grade.returncode == 0, f"autograde {assignment} crashed:\n{_tail(grade)}"
    feedback = _run(NBGRADER + ["generate_feedback", assignment, "--force"], cwd=course)
    assert feedback.returncode == 0, f"generate_feedback {assignment}:\n{_tail(feedback)}"
    return broken


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """A temporary nbgrader course per assignment with three submissions, autograded.

    The assignments are graded two at a time, each in a course folder of its own (nbgrader's
    work is subprocesses: with six notebooks, one after the other took ~5 minutes, most of it
    one core waiting); the gradebooks are read afterwards, in this thread.

    Returns {assignment: {"students": {student: {"score", "max_score", "cells"}},
    "broken": (notebook, solution_id, test_id) or None, "feedback": path}}.
    """
    from concurrent.futures import ThreadPoolExecutor

    from nbgrader.api import Gradebook

    courses = {a: tmp_path_factory.mktemp(f"course-{a}") for a in ASSIGNMENTS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {a: pool.submit(_autograde_assignment, courses[a], a) for a in ASSIGNMENTS}
        broken = {a: f.result() for a, f in futures.items()}
    results = {}
    for assignment in ASSIGNMENTS:
        course = courses[assignment]
        students = {}
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PATH", BIN_PATH)
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
                for student in STUDENTS:
                    sub = gb.find_submission(assignment, student)
                    cells = {(notebook.name, g.name): (g.score, g.max_score)
                             for notebook in sub.notebooks for g in notebook.grades}
                    students[student] = {"score": sub.score, "max_score": sub.max_score,
                                         "cells": cells}
        for student in STUDENTS:
            for master in (course / "notebooks" / assignment).glob("*.ipynb"):
                out = course / "autograded" / student / assignment / master.name
                assert out.exists(), f"autograde wrote no {out.relative_to(course)}"
        results[assignment] = {"students": students, "broken": broken[assignment],
                               "feedback": course / "feedback"}
    return results


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_solution_scores_full_marks(assignment, graded_course):
    result = graded_course[assignment]["students"]["solution"]
    lost = {k: v for k, v in result["cells"].items() if v[0] != v[1]}
    print(f"{assignment}: solution scored {result['score']} / {result['max_score']}")
    assert result["max_score"] > 0
    assert not lost, f"the master loses points when autograded: {lost}"
    assert result["score"] == result["max_score"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_untouched_release_scores_zero(assignment, graded_course):
    result = graded_course[assignment]["students"]["untouched"]
    scored = {k: v for k, v in result["cells"].items() if v[0] != 0}
    print(f"{assignment}: untouched release scored {result['score']} / {result['max_score']}")
    assert result["max_score"] == graded_course[assignment]["students"]["solution"]["max_score"]
    assert not scored, f"the untouched release earns points: {scored}"
    assert result["score"] == 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_one_wrong_exercise_costs_exactly_its_points(assignment, graded_course):
    broken = graded_course[assignment]["broken"]
    if broken is None:
        pytest.skip(f"{assignment} has no exercise that no other cell depends on")
    notebook, solution_id, test_id = broken
    result = graded_course[assignment]["students"]["one-wrong"]
    key = (Path(notebook).stem, test_id)
    score, points = result["cells"][key]
    print(f"{assignment}: with {solution_id} undone, scored {result['score']} / "
          f"{result['max_score']} (lost {points} for {test_id})")
    assert score == 0, f"{test_id} should score 0 with {solution_id} undone, got {score}"
    others = {k: v for k, v in result["cells"].items() if k != key and v[0] != v[1]}
    assert not others, f"leaving {solution_id} undone also cost points in {others}"
    assert result["score"] == result["max_score"] - points


# --------------------------------------------------------------------------------------------
# The hidden-test helpers every master's hidden blocks start with
# --------------------------------------------------------------------------------------------

HELPER_TRICKS = r'''
import numpy as np

ns = {}
exec(PREAMBLE, ns)
# What a student cell could have done before the hidden tests run:
np.allclose = np.isclose = np.array_equal = lambda *a, **k: True
ns["abs"] = lambda x: 0.0
ns["all"] = ns["isinstance"] = lambda *a: True


class Rigged(np.ndarray):
    def __eq__(self, other):
        return True


class RiggedFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


want = np.array([1.0, 2.0, 3.0])
ns["_hidden_array"](want.copy(), want, "exact copy")
ns["_hidden_array"](want + 1e-12, want, "within tolerance")
ns["_hidden_float"](np.float64(2.5), 2.5, "a numpy float")
ns["_hidden_float"](np.array(2.5), 2.5, "a 0-d array")
rejected = {
    "wrong value": lambda: ns["_hidden_array"](np.array([1.0, 2.0, 3.5]), want, "x"),
    "wrong shape": lambda: ns["_hidden_array"](want[None], want, "x"),
    "nan": lambda: ns["_hidden_array"](np.array([1.0, np.nan, 3.0]), [1.0, np.nan, 3.0], "x"),
    "list": lambda: ns["_hidden_array"]([1.0, 2.0, 3.0], want, "x"),
    "rigged array": lambda: ns["_hidden_array"](np.zeros(3).view(Rigged), want, "x"),
    "rigged float": lambda: ns["_hidden_float"](RiggedFloat(0.0), 2.5, "x"),
    "wrong float": lambda: ns["_hidden_float"](2.4, 2.5, "x"),
    "inf float": lambda: ns["_hidden_float"](float("inf"), float("inf"), "x"),
    "array as float": lambda: ns["_hidden_float"](np.array([2.5]), 2.5, "x"),
}
for name, check in rejected.items():
    try:
        check()
    except AssertionError:
        continue
    raise SystemExit(f"the hidden helpers accepted: {name}")
try:
    ns["_hidden_quiet"](np.exp, np.array([1000.0]))
except FloatingPointError:
    pass
else:
    raise SystemExit("_hidden_quiet let an overflow through")
print("ok")
'''


def test_hidden_test_helpers_resist_common_tricks(tmp_path):
    """Rigged __eq__, patched numpy comparisons and shadowed builtins cannot fake a pass."""
    preamble = (ROOT / "source" / "coursekit" / "preamble.py").read_text(encoding="utf-8")
    script = tmp_path / "tricks.py"
    script.write_text(f"PREAMBLE = {preamble!r}\n{HELPER_TRICKS}")
    result = _run([sys.executable, str(script)], cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "ok", _tail(result)


SETTINGS = CourseSettings.read(ROOT)
SOURCES = [p for a in SETTINGS.with_sources() for p in SETTINGS.sources(a)]


@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_master_is_what_its_authoring_source_renders(source, tmp_path):
    """A master with an authoring source is exactly what `make release` renders from it."""
    master = SETTINGS.master_of(source)
    assert master.exists(), f"{master.relative_to(ROOT)} is missing: run `make release`"
    out = tmp_path / master.name
    result = _run([sys.executable, "-m", "coursekit.render", str(source), "--output", str(out)],
                  cwd=ROOT)
    assert result.returncode == 0, _tail(result)
    assert out.read_bytes() == master.read_bytes(), (
        f"{master.relative_to(ROOT)} differs from what {source.relative_to(ROOT)} renders: "
        f"edit the source (it opens in JupyterLab as a notebook), then run `make release`")


def test_master_folders_hold_only_notebooks():
    """nbgrader copies every file of notebooks/<assignment>/ into the release: authoring sources
    and helper modules live in course/, never there."""
    strays = [str(p.relative_to(ROOT)) for a in ASSIGNMENTS
              for p in sorted((ROOT / "notebooks" / a).rglob("*"))
              if p.is_file() and p.suffix != ".ipynb" and ".ipynb_checkpoints" not in p.parts]
    assert not strays, f"files that nbgrader would release to students: {strays}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_does_not_publish_the_hidden_tests(assignment, graded_course):
    """nbgrader_config.py strips the hidden blocks from the feedback reports."""
    import html

    hidden = REGIONS[1:]
    for master in sorted((ROOT / "notebooks" / assignment).glob("*.ipynb")):
        lines = secret_lines(master, hidden)
        for student in STUDENTS:
            report = graded_course[assignment]["feedback"] / student / assignment / \
                f"{master.stem}.html"
            assert report.exists(), f"no feedback report {report}"
            text = html.unescape(re.sub(r"<[^>]+>", "", report.read_text(encoding="utf-8")))
            assert "BEGIN HIDDEN TESTS" not in text, f"{student}'s feedback shows hidden tests"
            if student == "solution":  # no failure, so no traceback quoting a hidden line
                shown = [ln for ln in text.splitlines() if ln.strip() in lines]
                assert not shown, f"the feedback shows hidden-test lines: {shown[:5]}"
