"""Helpers to author the course's master notebooks as Python scripts.

A build script (e.g. ``tools/build_01_neuron.py``) describes a notebook cell by cell with
:class:`NotebookBuilder`, so the content is reviewable as a plain diff; the ``.ipynb`` it writes
under ``notebooks/`` is the committed source of truth that nbgrader reads.

Cell kinds and their nbgrader metadata (schema 3):

* ``md``        markdown, no metadata (students may annotate it).
* ``code``      ordinary code: demos and plots, no metadata.
* ``locked``    read-only code (setup, data): restored from the gradebook when grading.
* ``solution``  an exercise: the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` region becomes the
                stub ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` in the release.
* ``tests``     a graded, locked test cell: visible asserts, then a hidden block that only the
                master and the grader see. :data:`HIDDEN_PREAMBLE` opens that block with
                references that student code cannot have tampered with.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import nbformat

SCHEMA_VERSION = 3
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")

# Opens every hidden-test block. Everything the hidden tests rely on is bound here, before any
# student code runs in the cell, from modules imported afresh (the reference is reloaded, so a
# patched scratchnn.functional is undone). Values are compared in plain Python on the floats of
# genuine ndarrays (exact type, so no subclass or object with a rigged __eq__ passes), not with
# np.allclose, so a student cell that patched numpy's helpers or shadowed a builtin cannot fake
# a pass.
HIDDEN_PREAMBLE = '''\
import importlib as _il
_np = _il.import_module("numpy")
_b = _il.import_module("builtins")
_math = _il.import_module("math")
_warnings = _il.import_module("warnings")
_F = _il.reload(_il.import_module("scratchnn.functional"))
_ndarray, _FLOATS = _np.ndarray, (_b.float, _np.float64, _np.float32)


def _hidden_mismatch(got, want, rtol, atol):
    """Index of the first value that is not finite or not close, or -1 if all are fine."""
    for i, (g, w) in _b.enumerate(_b.zip(got, want)):
        if not (_math.isfinite(g) and _b.abs(g - w) <= atol + rtol * _b.abs(w)):
            return i
    return -1


def _hidden_array(got, want, what, rtol=1e-6, atol=1e-9):
    assert _b.type(got) is _ndarray, f"{what}: expected a numpy array, got {_b.type(got).__name__}"
    want = _np.asarray(want, dtype=_np.float64)
    assert got.shape == want.shape, f"{what}: expected shape {want.shape}, got {got.shape}"
    g, w = got.astype(_np.float64).ravel().tolist(), want.ravel().tolist()
    i = _hidden_mismatch(g, w, rtol, atol)
    assert i < 0, f"{what}: wrong value at flat index {i}: expected {w[i]!r}, got {g[i]!r}"


def _hidden_float(got, want, what, rtol=1e-6, atol=1e-9):
    ok = _b.type(got) in _FLOATS or (_b.type(got) is _ndarray and got.shape == ())
    assert ok, f"{what}: expected a single float, got {_b.type(got).__name__}"
    g, w = _b.float(got), _b.float(want)
    assert _hidden_mismatch([g], [w], rtol, atol) < 0, f"{what}: expected {w!r}, got {g!r}"


def _hidden_quiet(fn, *args, **kwargs):
    """Call fn with overflow, invalid and divide-by-zero turned into errors."""
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        with _np.errstate(over="raise", invalid="raise", divide="raise"):
            return fn(*args, **kwargs)
'''


def _text(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


class NotebookBuilder:
    """Collects cells in order and writes a deterministic, output-free notebook."""

    def __init__(self) -> None:
        self.cells: list = []
        self._ids: set[str] = set()
        self._counter = 0

    def _new_id(self, cell_id: str | None, prefix: str) -> str:
        if cell_id is None:
            self._counter += 1
            cell_id = f"{prefix}-{self._counter:03d}"
        if cell_id in self._ids:
            raise ValueError(f"duplicate cell id / grade_id {cell_id!r}")
        if not GRADE_ID.match(cell_id):
            raise ValueError(f"invalid cell id / grade_id {cell_id!r}")
        self._ids.add(cell_id)
        return cell_id

    @staticmethod
    def _nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=None):
        meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
                "schema_version": SCHEMA_VERSION, "solution": solution}
        if points is not None:
            meta["points"] = points
        return {"nbgrader": meta}

    def md(self, text: str, cell_id: str | None = None) -> None:
        cell = nbformat.v4.new_markdown_cell(_text(text))
        cell.id = self._new_id(cell_id, "md")
        self.cells.append(cell)

    def code(self, text: str, cell_id: str | None = None) -> None:
        cell = nbformat.v4.new_code_cell(_text(text))
        cell.id = self._new_id(cell_id, "code")
        self.cells.append(cell)

    def locked(self, grade_id: str, text: str) -> None:
        cell = nbformat.v4.new_code_cell(_text(text))
        cell.id = self._new_id(grade_id, "locked")
        cell.metadata = self._nbgrader(grade_id, locked=True)
        self.cells.append(cell)

    def solution(self, grade_id: str, text: str) -> None:
        source = _text(text)
        if "### BEGIN SOLUTION" not in source or "### END SOLUTION" not in source:
            raise ValueError(f"solution cell {grade_id!r} has no BEGIN/END SOLUTION markers")
        cell = nbformat.v4.new_code_cell(source)
        cell.id = self._new_id(grade_id, "solution")
        cell.metadata = self._nbgrader(grade_id, solution=True)
        self.cells.append(cell)

    def tests(self, grade_id: str, points: int, visible: str, hidden: str) -> None:
        if points <= 0:
            raise ValueError(f"test cell {grade_id!r} needs positive points, got {points}")
        source = "\n".join([
            _text(visible), "### BEGIN HIDDEN TESTS", HIDDEN_PREAMBLE.rstrip("\n"), "",
            _text(hidden), "### END HIDDEN TESTS",
        ])
        cell = nbformat.v4.new_code_cell(source)
        cell.id = self._new_id(grade_id, "tests")
        cell.metadata = self._nbgrader(grade_id, grade=True, locked=True, points=points)
        self.cells.append(cell)

    def notebook(self):
        nb = nbformat.v4.new_notebook()
        nb.nbformat, nb.nbformat_minor = 4, 5
        nb.metadata = {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                           "name": "python3"},
            "language_info": {"name": "python"},
        }
        nb.cells = self.cells
        nbformat.validate(nb)
        return nb

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(self.notebook())
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
