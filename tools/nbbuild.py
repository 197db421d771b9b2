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
                master and the grader see. The hidden code runs inside a function that is
                called at once (:data:`HIDDEN_RUNNER`) and starts with :data:`HIDDEN_PREAMBLE`,
                helpers that nothing a student cell patched can fool; :meth:`NotebookBuilder.tests`
                refuses hidden code that reads any global name but the functions under test.
"""

from __future__ import annotations

import ast
import dis
import re
import textwrap
import types
from pathlib import Path

import nbformat

SCHEMA_VERSION = 3
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")

# Opens every hidden-test block (inside the function of HIDDEN_RUNNER; it also runs at module
# level, which is how tests/test_course_pipeline.py exercises it). Student code runs in the same
# process, before and during the hidden tests, and can replace any attribute of any module
# (builtins.abs/type/float/isinstance/__import__, math, numpy.allclose, numpy.testing,
# importlib.reload, scratchnn.functional, sys.modules) and rebind any global name. So nothing of
# that decides a pass:
#
# * inputs and expected values are literals, computed by the build script from
#   scratchnn.functional when the master is built;
# * types come from literals: (0).__class__.__class__ is the real `type` (which, unlike
#   isinstance, no `__class__` property can fool), (0.0).__class__ the real float, and so on;
# * numpy's ndarray is picked from object's direct subclasses as the static (non-heap) type
#   numpy.ndarray. A class written in Python is always a heap type, so a fake numpy (patched
#   builtins.__import__ or sys.modules) cannot hand over a class of its own. The C methods and
#   attributes of ndarray (.shape, .astype, .ravel, .tolist, .flat, .dtype.kind) cannot be
#   patched: it is an immutable type. ValueError is picked the same way. (Should numpy ever
#   make ndarray a heap type, every hidden test fails with "numpy.ndarray is not loaded": loudly,
#   never by passing);
# * arrays are made with ndarray(shape, dtype) and .flat, with dtype codes that numpy parses in
#   C ("f8", "f4", "i8", or the float type): a name such as "float64" is looked up in
#   numpy.sctypeDict, a dict that student code can change;
# * values are compared as Python floats (checked with the real type), with -, >= and <= only:
#   finite means g - g == 0.0, and |g - w| is g - w if g >= w else w - g;
# * the only imports are numpy and warnings, for _hidden_quiet: faked, they can at most keep a
#   warning from becoming an error (students may silence warnings in their own code anyway),
#   not pass a wrong value, since the values are checked afterwards, outside it.
#
# Out of reach of any test in the student's process: reading the caller's frame (a traceback's
# tb_frame, sys._getframe, gc), ctypes, IPython's input transformers. The autograder's integrity
# scan flags all of them but tb_frame, and the sandbox hides the graded notebook and the masters.
HIDDEN_PREAMBLE = '''\
# Decide nothing with a module or a global name: student code may have patched any of them.
import numpy as _numpy            # for _hidden_quiet only
import warnings as _warnings
_type = (0).__class__.__class__   # the real `type`, from a literal; likewise:
_float, _int, _list, _tuple = (0.0).__class__, (0).__class__, [].__class__, ().__class__

def _hidden_c_class(base, module, name):
    """The class module.name defined in C right under base: Python-made classes are heap types
    (flag 512), so no student class can pass for it."""
    for c in _type.__subclasses__(base):
        if _type(c) is _type and not c.__flags__ & 512 and c.__module__ == module and (
                c.__name__ == name):
            return c
    assert False, f"{module}.{name} is not loaded"

_ndarray = _hidden_c_class(_type.__base__, "numpy", "ndarray")
_Exception = _hidden_c_class(_hidden_c_class(_type.__base__, "builtins", "BaseException"),
                             "builtins", "Exception")
_ValueError = _hidden_c_class(_Exception, "builtins", "ValueError")

def _hidden_flatten(values):
    """(shape, flat list) of a number or a nested list literal."""
    if _type(values) is not _list:
        return (), [values]
    shape, flat = (), []
    for item in values:
        shape, part = _hidden_flatten(item)
        flat += part
    return (values.__len__(),) + shape, flat

def _hidden_make(values, dtype="f8"):
    """A new array of a list literal. dtype "f8", "f4" or "i8" (C-parsed; not "float64")."""
    shape, flat = _hidden_flatten(values)
    made = _ndarray(shape, dtype)
    made.flat = flat
    return made

_float64, _float32 = _type(_hidden_make([0.0])[0]), _type(_hidden_make([0.0], "f4")[0])

def _hidden_values(got, shape, what):
    """The values of got, which must be a genuine ndarray of this shape, as Python floats."""
    assert _type(got) is _ndarray, f"{what} should be a numpy array, got {_type(got).__name__}"
    assert got.shape == shape, f"{what} has the wrong shape: expected {shape}, got {got.shape}"
    return got.astype(_float).ravel().tolist()

def _hidden_close(got, want, what, rtol=1e-6, atol=1e-9):
    """got, want: lists of floats; got must be finite and close to want."""
    i, n = 0, want.__len__()
    assert got.__len__() == n, f"{what}: expected {n} values, got {got.__len__()}"
    for w in want:
        g, at = got[i], ("" if n == 1 else f" at flat index {i}")
        assert _type(g) is _float and g - g == 0.0, (   # a float, not inf or nan
            f"{what}: got {g!r}{at}, expected the finite value {w!r}")
        d = g - w if g >= w else w - g
        assert d <= atol + rtol * (w if w >= 0.0 else -w), (
            f"{what}: expected {w!r}{at}, got {g!r}")
        i += 1

def _hidden_array(got, want, what, rtol=1e-6, atol=1e-9):
    """got must be a genuine ndarray close to want, a nested list literal."""
    if _type(want) is _ndarray:   # (the helpers' own tests pass arrays)
        want = want.tolist()
    shape, flat = _hidden_flatten(want)
    _hidden_close(_hidden_values(got, shape, what), flat, what, rtol, atol)

def _hidden_float(got, want, what, rtol=1e-6, atol=1e-9):
    """got must be one float (Python or numpy float, or a 0-d array) close to want."""
    kind = _type(got)
    if kind is _ndarray:
        assert got.shape == (), f"{what} should be a single number, got shape {got.shape}"
    else:
        assert kind is _float or kind is _float64 or kind is _float32, (
            f"{what} should be a single float, got {kind.__name__}")
    _hidden_close([_float(got)], [_float(want)], what, rtol, atol)

def _hidden_quiet(fn, *args, **kwargs):
    """fn(*args, **kwargs) with overflow, invalid and divide-by-zero as errors, warnings too.
    (Faked numpy or warnings could only let a warning through, never a wrong value.)"""
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        with _numpy.errstate(over="raise", invalid="raise", divide="raise"):
            return fn(*args, **kwargs)
'''


# The hidden code is the body of this function, which the decorator calls as soon as it is
# defined. Its names are locals or closure cells, which student code cannot rebind (the
# function never becomes a global: the name is bound to the call's result, None), and it reads
# no global but the functions under test (checked by NotebookBuilder._check_hidden).
HIDDEN_RUNNER = ("@lambda _hidden_tests: _hidden_tests()   # run now; the names stay local\n"
                 "def _hidden_tests():\n")

# Bytecode operations that read or write a global (or builtin) name.
GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL", "STORE_NAME",
              "DELETE_NAME"}


def _code_objects(code: types.CodeType):
    """code and every code object nested in it (functions, lambdas, comprehensions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _text(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


class NotebookBuilder:
    """Collects cells in order and writes a deterministic, output-free notebook."""

    def __init__(self) -> None:
        self.cells: list = []
        self._ids: set[str] = set()
        self._counter = 0
        self._functions: set[str] = set()  # defined by the exercises so far

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
        self._functions.update(node.name for node in ast.parse(source).body
                               if isinstance(node, ast.FunctionDef))
        cell = nbformat.v4.new_code_cell(source)
        cell.id = self._new_id(grade_id, "solution")
        cell.metadata = self._nbgrader(grade_id, solution=True)
        self.cells.append(cell)

    def tests(self, grade_id: str, points: int, visible: str, hidden: str) -> None:
        """A graded test cell: the visible tests, then the hidden ones, which run inside the
        function of HIDDEN_RUNNER after HIDDEN_PREAMBLE and may read no global name but the
        functions the exercises so far define (ValueError otherwise)."""
        if points <= 0:
            raise ValueError(f"test cell {grade_id!r} needs positive points, got {points}")
        body = "\n".join([HIDDEN_PREAMBLE.rstrip("\n"), "", _text(hidden)])
        block = HIDDEN_RUNNER + textwrap.indent(body, "    ")
        self._check_hidden(grade_id, block)
        source = "\n".join([_text(visible), "### BEGIN HIDDEN TESTS", block,
                            "### END HIDDEN TESTS"])
        cell = nbformat.v4.new_code_cell(source)
        cell.id = self._new_id(grade_id, "tests")
        cell.metadata = self._nbgrader(grade_id, grade=True, locked=True, points=points)
        self.cells.append(cell)

    def _check_hidden(self, grade_id: str, block: str) -> None:
        """Refuse hidden tests that read a global or builtin name other than the functions the
        exercises define (a student cell can rebind any global and patch builtins), or that
        import anything but numpy and warnings (see _hidden_quiet)."""
        module = compile(block, f"<hidden tests of {grade_id}>", "exec")
        names, imports = set(), set()
        for code in _code_objects(module):
            for ins in dis.get_instructions(code):
                if ins.opname == "IMPORT_NAME":
                    imports.add(ins.argval)
                elif ins.opname in GLOBAL_OPS:
                    names.add((code is module, ins.argval))
        unknown = {name for top, name in names
                   if name not in (("_hidden_tests",) if top else self._functions)}
        if unknown:
            raise ValueError(f"the hidden tests of {grade_id!r} look up the global or builtin "
                             f"names {sorted(unknown)}, which a student can rebind or patch: "
                             f"take them from the preamble or from literals")
        if imports - {"numpy", "warnings"}:
            raise ValueError(f"the hidden tests of {grade_id!r} import "
                             f"{sorted(imports - {'numpy', 'warnings'})}: a student can fake "
                             f"any import")

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
