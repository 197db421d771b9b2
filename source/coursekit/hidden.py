"""Hidden tests of the course's masters: build-time literals, the runner, the preamble, checks.

An authoring source (``course/NN_topic/*.py``) writes each hidden block as plain code at the
top level of its test cell, with every input and expected value wrapped in :func:`literal`::

    ### BEGIN HIDDEN TESTS
    _cases = literal(neuron_cases())      # evaluated when the master is rendered
    for _x, _w, _bias, _want in _cases:
        _hidden_float(neuron_forward(_hidden_make(_x), _hidden_make(_w), _bias), _want, "...")
    ### END HIDDEN TESTS

:func:`render_hidden_block` turns that into what the master carries: the ``literal(...)`` calls
replaced by the values written out as Python literals (12 significant digits), the code moved
into a function that runs at once (:data:`HIDDEN_RUNNER`), after the statements of
:mod:`coursekit.preamble` it uses. :func:`check_hidden_block` refuses a block that reads a global
or builtin name other than the functions under test, or imports anything but numpy and
warnings; :func:`lint_hidden_block` checks a master's block, whoever wrote it, against the
current preamble and those rules.

Values for hidden cases come from :mod:`scratchnn.functional` and seeded Generators; the helpers
:func:`short` and :func:`draw` keep input literals short, :func:`plain` turns NumPy results into
plain Python.
"""

from __future__ import annotations

import ast
import dis
import math
import re
import textwrap
import types
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

#: Columns of the rendered hidden-test literals (the hidden code sits 4 columns in).
WIDTH = 99
#: Significant digits of every float written into a master: far inside the tests' tolerances,
#: and immune to last-bit differences of exp/tanh between CPUs, so rendering elsewhere gives
#: the same text.
DIGITS = 12
BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
#: The marker an authoring source wraps around every build-time value.
MARKER = "literal"

# The hidden code is the body of this function, which the decorator calls as soon as it is
# defined. Its names are locals or closure cells, which student code cannot rebind (the function
# never becomes a global: the name is bound to the call's result, None), and it reads no global
# but the functions under test (check_hidden_block).
HIDDEN_RUNNER = ("@lambda _hidden_tests: _hidden_tests()   # run now; the names stay local\n"
                 "def _hidden_tests():\n")
HEADER = "# helpers of coursekit/preamble.py that this block uses (it trusts no global name)"

# Bytecode operations that read or write a global (or builtin) name.
GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL", "STORE_NAME",
              "DELETE_NAME"}
ALLOWED_IMPORTS = {"numpy", "warnings"}


class HiddenTestError(ValueError):
    """A hidden-test block that cannot be rendered or breaks the anti-cheat rules."""


# ---------------------------------------------------------------------------------------------
# Build-time values
# ---------------------------------------------------------------------------------------------

def short(values, digits: int = 4) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits, as a float64 array of its shape.

    Input literals stay short this way; the rounded numbers *are* the inputs, and expected values
    are computed from them.
    """
    a = np.asarray(values, dtype=np.float64)
    return np.array([float(f"{v:.{digits}g}") for v in a.ravel()]).reshape(a.shape)


def draw(seed: int, *shapes, scale: float = 1.0) -> list[np.ndarray]:
    """Normal samples N(0, scale^2) of the given shapes from ``np.random.default_rng(seed)``,
    one array per shape in order, each rounded with :func:`short`."""
    rng = np.random.default_rng(seed)
    return [short(rng.normal(scale=scale, size=shape)) for shape in shapes]


def plain(value):
    """A value as plain Python: ndarrays become nested lists (floats as float64), NumPy scalars
    become float/int, lists and tuples are converted item by item; anything else is returned
    unchanged."""
    if isinstance(value, np.ndarray):
        value = value.astype(np.float64) if value.dtype.kind == "f" else value
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _rounded(value):
    """A plain value with every float rounded to DIGITS significant digits; finite only."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise HiddenTestError(f"build-time values must be finite, got {value}")
        return float(f"{value:.{DIGITS}g}")
    if isinstance(value, (list, tuple)):
        return type(value)(_rounded(v) for v in value)
    raise HiddenTestError(
        f"a build-time value must be numbers, strings, lists, tuples or arrays, "
        f"got {type(value).__name__}")


def literal(value):
    """The value a hidden block sees for ``literal(value)``: :func:`plain` and rounded to
    :data:`DIGITS` significant digits, exactly what the rendered master's literal evaluates to.

    In an authoring source this runs in the kernel, so the hidden tests behave in JupyterLab as
    they will in the master; the render step replaces the call by the literal's text.
    Raises HiddenTestError for non-finite floats or values that have no literal.
    """
    return _rounded(plain(value))


def _inline(value) -> str:
    if isinstance(value, (list, tuple)):
        items = ", ".join(_inline(v) for v in value)
        if isinstance(value, tuple):
            return f"({items},)" if len(value) == 1 else f"({items})"
        return f"[{items}]"
    return repr(value)


def format_literal(value, indent: int, width: int = WIDTH, tail: int = 0) -> str:
    """Source of :func:`literal`\\ (value) that starts at column ``indent`` and is followed by
    ``tail`` characters on its last line, wrapped to ``width`` columns: items fill a line while
    they fit; an item too long for one line starts a new one."""
    return _wrap(literal(value), indent, width, tail)


def _wrap(value, indent: int, width: int, tail: int) -> str:
    text = _inline(value)
    if indent + len(text) + tail <= width or not isinstance(value, (list, tuple)):
        return text
    opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
    newline = "\n" + " " * (indent + 1)
    out, column = opening, indent + 1
    for i, item in enumerate(value):
        last = i == len(value) - 1
        sep, after = (closing, tail) if last else (",", 0)
        one_line = _inline(item)
        if column > indent + 1 and column + 1 + len(one_line) + len(sep) + after <= width:
            out, column = out + " " + one_line + sep, column + 1 + len(one_line) + len(sep)
            continue
        if column > indent + 1:
            out, column = out + newline, indent + 1
        text = _wrap(item, indent + 1, width, len(sep) + after) + sep
        out += text
        column = width if "\n" in text else column + len(text)  # after a block: new line
    return out


# ---------------------------------------------------------------------------------------------
# The preamble, statement by statement
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PreambleStatement:
    """One top-level statement of coursekit/preamble.py with the comment block above it."""

    text: str
    defines: frozenset[str]
    uses: frozenset[str]
    compound: bool  # a def: set off by blank lines when rendered

    def dump(self) -> str:
        return ast.dump(ast.parse(self.text))


def _names_defined(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.Assign):
        return {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    raise HiddenTestError(f"preamble: unsupported statement at line {node.lineno}")


def parse_preamble(text: str) -> list[PreambleStatement]:
    """The statements of a preamble module's source (docstring skipped), in order."""
    tree = ast.parse(text)
    lines = text.splitlines()
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    parsed, defined = [], set()
    for node in body:
        start = node.lineno - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        names = _names_defined(node)
        if not all(n.startswith("_") for n in names):
            raise HiddenTestError(f"preamble names must start with '_': {sorted(names)}")
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        parsed.append(PreambleStatement(
            text="\n".join(lines[start:node.end_lineno]), defines=frozenset(names),
            uses=frozenset(used), compound=isinstance(node, (ast.FunctionDef, ast.ClassDef))))
        defined |= names
    return [PreambleStatement(s.text, s.defines, frozenset((s.uses & defined) - s.defines),
                              s.compound) for s in parsed]


@lru_cache(maxsize=1)
def preamble() -> tuple[PreambleStatement, ...]:
    """The statements of the current coursekit/preamble.py."""
    path = Path(__file__).with_name("preamble.py")
    return tuple(parse_preamble(path.read_text(encoding="utf-8")))


def _needed(statements, names: set[str]) -> list[PreambleStatement]:
    """The statements that define ``names``, and what they use, transitively, in order."""
    by_name = {n: s for s in statements for n in s.defines}
    wanted, todo = set(), [n for n in names if n in by_name]
    while todo:
        statement = by_name[todo.pop()]
        if statement.text not in wanted:
            wanted.add(statement.text)
            todo.extend(statement.uses)
    return [s for s in statements if s.text in wanted]


def trimmed_preamble(names: set[str], statements=None) -> str:
    """Source of the preamble statements that code using ``names`` needs (empty if none)."""
    chosen = _needed(statements or preamble(), names)
    parts: list[str] = []
    for i, s in enumerate(chosen):
        if parts and (s.compound or chosen[i - 1].compound):
            parts.append("")  # a blank line around each def
        parts.append(s.text)
    return "\n".join([HEADER, *parts]) if parts else ""


def _names_used(code: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}


# ---------------------------------------------------------------------------------------------
# Rendering a block
# ---------------------------------------------------------------------------------------------

def _offset(lines: list[str], lineno: int, col: int) -> int:
    """Character offset in "\\n".join(lines) of ast's (lineno, UTF-8 byte col)."""
    before = sum(len(line) + 1 for line in lines[:lineno - 1])
    return before + len(lines[lineno - 1].encode("utf-8")[:col].decode("utf-8"))


def substitute_literals(code: str, evaluate, indent: int = 4) -> str:
    """``code`` with every ``literal(<expr>)`` call replaced by the formatted literal of
    ``evaluate(<expr source>)``, wrapped for its column within WIDTH, the code being indented
    by ``indent`` more columns once rendered."""
    tree = ast.parse(code)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == MARKER]
    for call in calls:
        if len(call.args) != 1 or call.keywords:
            raise HiddenTestError(f"line {call.lineno}: {MARKER}() takes one argument")
        inner = [n for n in ast.walk(call.args[0]) if n is not call.args[0]
                 and isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                 and n.func.id == MARKER]
        if inner:
            raise HiddenTestError(f"line {call.lineno}: {MARKER}() inside {MARKER}()")
    lines = code.split("\n")
    for call in sorted(calls, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        start = _offset(lines, call.lineno, call.col_offset)
        end = _offset(lines, call.end_lineno, call.end_col_offset)
        expression = ast.get_source_segment(code, call.args[0])
        value = evaluate(expression)
        column = start - code.rfind("\n", 0, start) - 1
        end_line = code.find("\n", end)
        tail = (len(code) if end_line < 0 else end_line) - end
        text = format_literal(value, column, WIDTH - indent, tail)
        code = code[:start] + text + code[end:]
        lines = code.split("\n")
    return code


def render_hidden_block(body: str, evaluate, functions: set[str], where: str,
                        build_time: set[str] = frozenset()) -> str:
    """The master's hidden block for the authoring ``body`` (top-level code, no markers):
    literals substituted, the preamble statements it needs, all inside HIDDEN_RUNNER's function.
    ``functions`` are the names of the functions under test; ``where`` names the cell in errors;
    ``build_time``: names that exist at render time only (the authoring cells'), for hints.
    Raises HiddenTestError when the block breaks the rules of :func:`check_hidden_block`."""
    body = textwrap.dedent(body).strip("\n")
    try:
        code = substitute_literals(body, evaluate)
    except SyntaxError as err:
        raise HiddenTestError(f"{where}: the hidden tests do not parse: {err}") from None
    helpers = trimmed_preamble(_names_used(code))
    text = "\n\n".join(part for part in (helpers, code) if part)
    block = HIDDEN_RUNNER + textwrap.indent(text, "    ")
    check_hidden_block(block, functions, where, build_time)
    return block


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

def _code_objects(code: types.CodeType):
    """code and every code object nested in it (functions, lambdas, comprehensions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _hints(names: set[str], build_time) -> str:
    """What to write instead of looking up these names, for the error message."""
    hints = []
    if names & set(build_time):
        hints.append(f"{sorted(names & set(build_time))} exist only when the master is "
                     f"rendered: wrap build-time values in literal(...)")
    if names & {"np", "numpy", "math"}:
        hints.append("compare with the preamble's helpers (_hidden_array, _hidden_float, "
                     "_hidden_close) and make arrays with _hidden_make")
    if names - set(build_time) - {"np", "numpy", "math"}:
        hints.append("for builtins use the preamble's types (_type, _float, _list, _tuple, "
                     "_ndarray, _ValueError) and methods (x.__len__() for len(x))")
    return "; ".join(hints)


def check_hidden_block(block: str, functions: set[str], where: str,
                       build_time: set[str] = frozenset()) -> None:
    """Refuse hidden tests that read a global or builtin name other than the functions under
    test (a student cell can rebind any global and patch builtins), or that import anything but
    numpy and warnings (see _hidden_quiet). Raises HiddenTestError naming ``where``, with a hint
    (``build_time``: names of the authoring cells, which must be wrapped in literal())."""
    if not block.startswith(HIDDEN_RUNNER):
        raise HiddenTestError(f"{where}: the hidden block does not start with the runner "
                              f"{HIDDEN_RUNNER.splitlines()[0]!r}")
    try:
        module = compile(block, f"<hidden tests of {where}>", "exec")
    except SyntaxError as err:
        raise HiddenTestError(f"{where}: the hidden block does not compile: {err}") from None
    names, imports = set(), set()
    for code in _code_objects(module):
        for ins in dis.get_instructions(code):
            if ins.opname == "IMPORT_NAME":
                imports.add(ins.argval)
            elif ins.opname in GLOBAL_OPS:
                names.add((code is module, ins.argval))
    unknown = {name for top, name in names
               if name not in (("_hidden_tests",) if top else functions)}
    if unknown:
        raise HiddenTestError(
            f"{where}: the hidden tests look up the global or builtin names {sorted(unknown)}, "
            f"which a student can rebind or patch: {_hints(unknown, build_time)}")
    if imports - ALLOWED_IMPORTS:
        raise HiddenTestError(f"{where}: the hidden tests import "
                              f"{sorted(imports - ALLOWED_IMPORTS)}: a student can fake any import")


def split_hidden(source: str) -> tuple[str, str | None, str]:
    """(before, hidden body or None, after) of a test cell's source, markers removed."""
    lines = source.split("\n")
    begins = [i for i, line in enumerate(lines) if line.strip().startswith(BEGIN)]
    ends = [i for i, line in enumerate(lines) if line.strip().startswith(END)]
    if not begins and not ends:
        return source, None, ""
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise HiddenTestError("a test cell needs exactly one BEGIN/END HIDDEN TESTS pair")
    b, e = begins[0], ends[0]
    return "\n".join(lines[:b]), "\n".join(lines[b + 1:e]), "\n".join(lines[e + 1:])


def lint_hidden_block(block: str, functions: set[str], where: str) -> None:
    """Check a master's hidden block, whoever wrote it: the runner, then exactly the statements of
    the *current* preamble that the rest uses (none stale, edited, missing or unused), then code
    that passes :func:`check_hidden_block`. Raises HiddenTestError."""
    check_hidden_block(block, functions, where)
    body = textwrap.dedent(block[len(HIDDEN_RUNNER):])
    statements = preamble()
    by_name = {n: s for s in statements for n in s.defines}
    tree = ast.parse(body)
    n_helpers = 0
    for node in tree.body:
        names = _names_defined(node) if isinstance(
            node, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.Assign)) else set()
        if not names or not names <= by_name.keys():
            break
        n_helpers += 1
    rest = tree.body[n_helpers:]
    rest_code = "\n".join(ast.unparse(node) for node in rest)
    expected = [s.dump() for s in _needed(statements, _names_used(rest_code))]
    found = [ast.dump(ast.Module(body=[node], type_ignores=[])) for node in tree.body[:n_helpers]]
    if found != expected:
        stale = [ast.unparse(node).splitlines()[0] for node, dump in
                 zip(tree.body[:n_helpers], found, strict=False) if dump not in expected]
        raise HiddenTestError(
            f"{where}: the hidden block's helpers are not the statements of the current "
            f"coursekit/preamble.py that it uses ({len(found)} found, {len(expected)} expected"
            + (f"; not in the preamble: {stale}" if stale else "")
            + "): re-render the master with `make release`")


def defined_functions(source: str) -> set[str]:
    """Names of the functions a cell defines at its top level (IPython magics ignored)."""
    code = "\n".join("" if re.match(r"\s*[%!]", line) else line for line in source.split("\n"))
    return {node.name for node in ast.parse(code).body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
