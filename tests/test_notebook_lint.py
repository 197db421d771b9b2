"""Static checks of every course notebook: masters in notebooks/, student copies in release/.

Masters must be clean nbgrader sources (valid nbformat, no outputs, kernelspec python3, nbgrader
metadata schema 3, unique grade ids, points on every graded cell, balanced markers) and follow
the course anatomy (hidden tests in every autograded test cell, at most five exercises before a
graded test, seeded Generators only). New assignments are picked up automatically.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from coursekit.hidden import defined_functions, lint_hidden_block, split_hidden
from coursekit.settings import CourseSettings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = CourseSettings.read(ROOT)
MASTERS = [p for a in SETTINGS.with_masters() for p in SETTINGS.masters(a)]
RELEASED = [p for a in SETTINGS.declared
            for p in sorted((SETTINGS.release / a).glob("*.ipynb"))]
SOURCES = [p for a in SETTINGS.with_sources() for p in SETTINGS.sources(a)]
LINE_LENGTH = 100  # the project's ruff limit; course/ruff.toml lifts it for cell headers only

NBGRADER_KEYS = {"grade", "solution", "locked", "schema_version", "grade_id", "points",
                 "checksum", "cell_type", "task"}
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "### END HIDDEN TESTS")


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _nbgrader(cell) -> dict | None:
    return cell.get("metadata", {}).get("nbgrader")


def _balanced(source: str, begin: str, end: str) -> int:
    """Number of begin/end pairs in ``source``; raises AssertionError if they do not pair up."""
    depth = pairs = 0
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(begin):
            assert depth == 0, f"nested {begin!r}"
            depth = 1
        elif stripped.startswith(end):
            assert depth == 1, f"{end!r} without {begin!r}"
            depth, pairs = 0, pairs + 1
    assert depth == 0, f"{begin!r} without {end!r}"
    return pairs


def _common_checks(path: Path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4, f"{_id(path)}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)
    kernel = nb.metadata.get("kernelspec", {})
    assert kernel.get("name") == "python3", (
        f"{_id(path)}: kernelspec name must be 'python3', got {kernel.get('name')!r}")
    assert "widgets" not in nb.metadata, f"{_id(path)}: saved widget state in the metadata"
    ids: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        where = f"{_id(path)}, cell {index}"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{where}: has outputs; clear them before committing"
            assert cell.execution_count is None, f"{where}: has an execution count"
        meta = _nbgrader(cell)
        if meta is None:
            continue
        unknown = set(meta) - NBGRADER_KEYS
        assert not unknown, f"{where}: unknown nbgrader metadata keys {sorted(unknown)}"
        assert meta.get("schema_version") == 3, (
            f"{where}: nbgrader schema_version must be 3, got {meta.get('schema_version')!r}")
        for key in ("grade", "solution", "locked"):
            assert isinstance(meta.get(key), bool), f"{where}: nbgrader '{key}' must be a bool"
        graded_or_locked = meta["grade"] or meta["solution"] or meta["locked"]
        if graded_or_locked:
            grade_id = meta.get("grade_id")
            assert isinstance(grade_id, str) and GRADE_ID.match(grade_id), (
                f"{where}: grade_id {grade_id!r} must use only letters, digits, '_' and '-'")
            assert grade_id not in ids, (
                f"{where}: grade_id {grade_id!r} is already used by cell {ids[grade_id]}")
            ids[grade_id] = index
        if meta["grade"]:
            points = meta.get("points")
            assert isinstance(points, (int, float)) and not isinstance(points, bool) \
                and points > 0, f"{where}: graded cell {meta['grade_id']!r} needs points > 0"
    return nb


@pytest.mark.parametrize("path", MASTERS, ids=_id)
def test_master_notebook_is_clean_nbgrader_source(path):
    nb = _common_checks(path)
    graded = solutions = 0
    since_test = 0
    for index, cell in enumerate(nb.cells):
        where = f"{_id(path)}, cell {index}"
        meta = _nbgrader(cell) or {}
        source = cell.source
        if cell.cell_type == "code":
            assert "np.random.seed(" not in source, (
                f"{where}: use np.random.default_rng(seed), never the global np.random.seed")
        assert "checksum" not in meta, f"{where}: masters carry no checksums (nbgrader adds them)"
        if meta.get("solution") and cell.cell_type == "code":
            pairs = _balanced(source, "### BEGIN SOLUTION", "### END SOLUTION")
            assert pairs >= 1, f"{where}: a solution cell needs a BEGIN/END SOLUTION region"
        else:
            assert "### BEGIN SOLUTION" not in source, (
                f"{where}: a solution region in a cell that is not a solution cell")
        hidden = _balanced(source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
        is_test = meta.get("grade") and not meta.get("solution") and cell.cell_type == "code"
        if is_test:
            graded += 1
            assert meta.get("locked"), f"{where}: a test cell must be locked"
            assert hidden == 1, f"{where}: an autograded test cell needs one hidden-test block"
            visible = source.split("### BEGIN HIDDEN TESTS")[0]
            assert "assert" in visible, f"{where}: no visible test before the hidden block"
            since_test = 0
        else:
            assert hidden == 0, f"{where}: hidden tests outside an autograded test cell"
        if meta.get("solution"):
            solutions += 1
            since_test += 1
            assert since_test <= 5, f"{where}: more than five exercises before a graded test"
    assert graded >= 1 and solutions >= 1, f"{_id(path)}: no exercises or no graded tests"
    assert since_test == 0, f"{_id(path)}: the last exercise has no graded test after it"


@pytest.mark.parametrize("path", MASTERS, ids=_id)
def test_master_hidden_blocks_use_the_current_preamble_and_trust_no_global(path):
    """Whoever wrote the master (the render step or a hand edit): each hidden block is the
    runner, exactly the statements of the current coursekit/preamble.py that it uses, and code
    that reads no global or builtin name but the functions under test (coursekit.hidden)."""
    functions: set[str] = set()
    checked = 0
    for cell in nbformat.read(path, as_version=4).cells:
        meta = _nbgrader(cell) or {}
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            functions |= defined_functions(cell.source)
        _, hidden, _ = split_hidden(cell.source)
        if hidden is not None:
            lint_hidden_block(hidden, functions, f"{_id(path)}, {meta.get('grade_id')}")
            checked += 1
    assert checked, f"{_id(path)} has no hidden-test blocks"


@pytest.mark.parametrize("path", SOURCES, ids=_id)
def test_authoring_source_lines_fit_the_line_length(path):
    """ruff lints the sources with a longer limit only so that `# %% nbgrader={...}` headers
    fit; every other line keeps the project's limit."""
    long = [f"line {number}: {len(line)} columns"
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if len(line) > LINE_LENGTH and not line.startswith("# %%")]
    assert not long, f"{_id(path)}: lines longer than {LINE_LENGTH} columns: {long}"


@pytest.mark.parametrize("path", RELEASED, ids=_id)
def test_release_notebook_is_clean(path):
    nb = _common_checks(path)
    for index, cell in enumerate(nb.cells):
        for marker in MARKERS:
            assert marker not in cell.source, f"{_id(path)}, cell {index}: contains {marker!r}"


def test_every_master_has_a_release_and_back():
    masters = {_id(p) for p in MASTERS}
    released = {_id(p) for p in RELEASED}
    assert masters == released, (
        f"only in notebooks/: {sorted(masters - released)} (run `make release`); "
        f"only in release/: {sorted(released - masters)}")
