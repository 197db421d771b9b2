"""Near-identical solutions across a class, for the instructor to look at (never a penalty).

Each student's solution cells (found by the ``grade_id`` of the master's solution cells) are
*normalised* with Python's own parser, so that what a copier changes cheaply does not count:

* comments, docstrings, blank lines and layout disappear (the code is parsed, then unparsed);
* every name the cell binds (variables, parameters, loop and comprehension variables, its own
  functions and classes) becomes ``V`` (or ``F`` for a function or class), so renaming does not
  count; names it only reads (``np``, builtins, functions of earlier exercises) and attribute
  names (``.sum``, ``.shape``) stay, since they are the substance of the code;
* string constants become ``S`` (messages differ freely) and numbers are written as floats
  (``1`` and ``1.0`` are the same).

The normalised code is cut into *units* (a simple statement, or the header line of a compound
one) and each unit into overlapping runs of :data:`K` tokens (k-grams, the fingerprints of the
winnowing family of detectors; every k-gram is kept, since a cell is short). A k-gram never
spans two units, so reordering statements or functions does not change the fingerprints. The
fingerprints of the code the students were given (the release cell: signature, docstring,
``raise NotImplementedError()``) are removed first, as boilerplate.

Two solutions are compared by the share of fingerprints they have in common, counted with
multiplicity and divided by the larger of the two: 1.0 for a renamed, reformatted or reordered
copy, typically well under 0.6 for honestly different code. Pairs at or above
:data:`THRESHOLD` are reported. Solutions with fewer than :data:`MIN_FINGERPRINTS` fingerprints
of their own are not compared: a one-line answer is the same for everyone.

Each solution is also compared with the course's references: the master notebook's solution
cell, and every function of ``scratchnn/functional.py`` that has the name of a function the
exercise asks for (``softmax``, ``mse``, ...), read as written and with its constant defaults
filled in (:func:`specialise`), together with the private helpers it calls. For the library,
the share is taken of the student's function only (the library's version has more options and
checks), so copying one branch of it counts. Students with the very same normalised code are
compared once.

Why not copydetect: it works on files and tokenises with Pygments, so it cannot tell a bound
name from ``np`` or drop a docstring; the standard library's ``ast`` does both exactly, needs no
new dependency, and these cells are small enough to compare every pair (a class of 200 is
about 20 000 comparisons of a few dozen fingerprints per exercise).
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import io
import json
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .course import PACKAGE_ROOT, Course
from .integrity import parse_source

#: Tokens per fingerprint.
K = 5
#: Share of fingerprints in common at and above which two solutions are reported.
THRESHOLD = 0.8
#: Solutions with fewer fingerprints of their own (boilerplate removed) are not compared.
MIN_FINGERPRINTS = 16
#: The reference library.
REFERENCE = PACKAGE_ROOT / "source" / "scratchnn" / "functional.py"
#: The label of the master notebook's solution in the reference matches.
MASTER = "master solution"

_BUILTINS = frozenset(dir(builtins))
_SKIP_TOKENS = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                tokenize.COMMENT, tokenize.ENDMARKER}
_BODIES = ("body", "orelse", "handlers", "finalbody", "cases")


# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------

def _parse(source: str) -> ast.Module | None:
    """The cell parsed, with IPython magics and shell lines dropped; None if not Python."""
    lines = [line for line in source.splitlines()
             if not line.lstrip().startswith(("%", "!", "?"))]
    try:
        return parse_source("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def bound_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(variables, functions and classes) that the code binds anywhere: assignment, loop,
    ``with``/``except`` targets, parameters, definitions. Imported names are not included."""
    variables: set[str] = set()
    functions: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            variables.add(node.id)
        elif isinstance(node, ast.arg):
            variables.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            functions.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            variables.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            variables.update(node.names)
    return variables - functions, functions


def _is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


class _Normaliser(ast.NodeTransformer):
    """Renames bound names, masks strings, writes numbers as floats, drops docstrings."""

    def __init__(self, variables: set[str], functions: set[str]) -> None:
        self.variables, self.functions = variables, functions

    def _name(self, name: str) -> str:
        if name in self.functions:
            return "F"
        if name in self.variables and name not in _BUILTINS:
            return "V"
        return name

    def generic_visit(self, node: ast.AST) -> ast.AST:
        """Drop docstrings and ``pass`` from every body, then visit the children."""
        for attr in _BODIES:
            body = getattr(node, attr, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                kept = [s for s in body if not _is_docstring(s) and not isinstance(s, ast.Pass)]
                setattr(node, attr, kept or [ast.Pass()])
        return super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:  # noqa: N802 (ast's visitor names)
        """``x`` -> ``V`` for a bound name."""
        node.id = self._name(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        """A parameter: renamed, annotation dropped."""
        node.arg, node.annotation = "V", None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:  # noqa: N802
        """A function: renamed, return annotation dropped."""
        node.name, node.returns = "F", None
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:  # noqa: N802
        """A class: renamed."""
        node.name = "F"
        return self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:  # noqa: N802
        """``except E as e``: the name renamed."""
        if node.name:
            node.name = "V"
        return self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:  # noqa: N802
        """An f-string is a message: ``S``."""
        return ast.copy_location(ast.Constant("S"), node)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:  # noqa: N802
        """Strings -> ``S``; ints and floats -> the float."""
        if isinstance(node.value, str):
            node.value = "S"
        elif isinstance(node.value, bytes):
            node.value = b"S"
        elif isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            node.value = float(node.value)
        return node


def _tokens(code: str) -> list[str]:
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                if t.type not in _SKIP_TOKENS]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code.split()


def _units(statements: list[ast.stmt], out: list[list[str]]) -> None:
    for stmt in statements:
        bodies = [attr for attr in _BODIES if isinstance(getattr(stmt, attr, None), list)
                  and getattr(stmt, attr)]
        if not bodies:
            out.append(_tokens(ast.unparse(stmt)))
            continue
        header = copy.copy(stmt)
        for attr in bodies:
            setattr(header, attr, [] if attr != "body" else [ast.Pass()])
        tokens = _tokens(ast.unparse(header))
        out.append(tokens[:-1] if tokens[-1:] == ["pass"] else tokens)
        for attr in bodies:
            for child in getattr(stmt, attr):
                if isinstance(child, ast.ExceptHandler):
                    caught = _tokens(ast.unparse(child.type)) if child.type else []
                    out.append(["except", *caught, *(["as", "V"] if child.name else [])])
                    _units(child.body, out)
                elif isinstance(child, ast.stmt):
                    _units([child], out)
                elif hasattr(child, "body"):  # match cases
                    _units(child.body, out)


def normalise(source: str | ast.AST, bound: tuple[set[str], set[str]] | None = None
              ) -> list[list[str]] | None:
    """The units of ``source`` (a simple statement, or the header of a compound one), each a
    list of normalised tokens; None if it is not Python. ``bound``: (variables, functions) to
    rename, by default those that the code itself binds."""
    tree = _parse(source) if isinstance(source, str) else copy.deepcopy(source)
    if tree is None:
        return None
    variables, functions = bound if bound is not None else bound_names(tree)
    tree = _Normaliser(variables, functions).visit(tree)
    body = tree.body if isinstance(tree, ast.Module) else [tree]
    units: list[list[str]] = []
    _units([s for s in body if not _is_docstring(s)], units)
    return [u for u in units if u]


def fingerprints(units: list[list[str]], k: int = K) -> Counter:
    """The k-grams of every unit (a unit shorter than k is one fingerprint), counted."""
    grams: Counter = Counter()
    for unit in units:
        if len(unit) <= k:
            grams[" ".join(unit)] += 1
        else:
            for i in range(len(unit) - k + 1):
                grams[" ".join(unit[i:i + k])] += 1
    return grams


@functools.lru_cache(maxsize=4096)
def _analyse(source: str) -> tuple[Counter, dict[str, Counter]] | None:
    """(fingerprints of the cell, fingerprints of each of its top-level functions by name);
    None if not Python, or nested too deeply to walk (hundreds of levels: the integrity scan
    reports such a cell). Cached: copies and standard answers recur. Do not modify."""
    try:
        return _analyse_tree(source)
    except (RecursionError, MemoryError):
        return None


def _analyse_tree(source: str) -> tuple[Counter, dict[str, Counter]] | None:
    tree = _parse(source)
    if tree is None:
        return None
    normaliser = _Normaliser(*bound_names(tree))
    total: Counter = Counter()
    functions: dict[str, Counter] = {}
    for stmt in tree.body:
        if _is_docstring(stmt) or isinstance(stmt, ast.Pass):
            continue
        name = stmt.name if isinstance(stmt, ast.FunctionDef) else None
        units: list[list[str]] = []
        _units([normaliser.visit(stmt)], units)
        grams = fingerprints([u for u in units if u])
        total.update(grams)
        if name:
            functions[name] = grams
    return total, functions


def _without(grams: Counter, boilerplate: Counter | None) -> Counter:
    return Counter({g: n for g, n in grams.items() if g not in (boilerplate or ())})


def code_fingerprints(source: str, boilerplate: Counter | None = None) -> Counter | None:
    """Fingerprints of a cell's code without those of ``boilerplate``; None if not Python."""
    analysed = _analyse(source)
    return None if analysed is None else _without(analysed[0], boilerplate)


def _common(a: Counter, b: Counter) -> int:
    """Fingerprints in common, with multiplicity."""
    if len(a) > len(b):
        a, b = b, a
    return sum(min(n, b[gram]) for gram, n in a.items() if gram in b)


def similarity(a: Counter, b: Counter) -> float:
    """Fingerprints in common (with multiplicity) over the larger total: 1.0 for the same
    normalised code, 0.0 for nothing in common."""
    top = max(a.total(), b.total())
    return _common(a, b) / top if top else 0.0


def containment(part: Counter, whole: Counter) -> float:
    """Share of ``part``'s fingerprints (with multiplicity) that ``whole`` has too."""
    total = part.total()
    return _common(part, whole) / total if total else 0.0


def starter_code(source: str) -> str:
    """A master solution cell as students get it: each ``### BEGIN SOLUTION`` ...
    ``### END SOLUTION`` region replaced by ``raise NotImplementedError()`` (nbgrader's
    default stub)."""
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == "### BEGIN SOLUTION":
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + "raise NotImplementedError()")
        elif stripped == "### END SOLUTION":
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def solution_code(source: str) -> str:
    """A master solution cell with its solution-region marker lines removed."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


# ---------------------------------------------------------------------------------------------
# The reference library
# ---------------------------------------------------------------------------------------------

def _constant(node: ast.AST | None) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant)


class _Specialise(ast.NodeTransformer):
    """Parameters with a constant default replaced by that constant, and the branches that
    this decides folded: the library's ``softmax(x, axis=-1)`` read as the exercise's
    ``softmax(z)``, ``cross_entropy(..., from_logits=True)`` as its from-logits branch."""

    def __init__(self, values: dict[str, ast.AST]) -> None:
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.AST:  # noqa: N802 (ast's visitor names)
        """A parameter read: its default."""
        if isinstance(node.ctx, ast.Load) and node.id in self.values:
            return ast.copy_location(copy.deepcopy(self.values[node.id]), node)
        return node

    def visit_If(self, node: ast.If) -> ast.AST | list[ast.stmt]:  # noqa: N802
        """``if <constant>:`` -> the branch taken."""
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return (node.body if node.test.value else node.orelse) or [ast.Pass()]
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:  # noqa: N802
        """``a if <constant> else b`` -> a or b."""
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node


def specialise(func: ast.FunctionDef) -> ast.FunctionDef:
    """A copy of ``func`` without its parameters that have a constant default: each use is
    the default value, and ``if`` statements and expressions on constants are folded."""
    func = copy.deepcopy(func)
    args = func.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    values = {a.arg: d for a, d in zip(positional, defaults, strict=True) if _constant(d)}
    values.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                   if _constant(d)})
    if not values:
        return func
    kept = [(a, d) for a, d in zip(positional, defaults, strict=True) if a.arg not in values]
    args.posonlyargs = [a for a in args.posonlyargs if a.arg not in values]
    args.args = [a for a, _d in kept if a in args.args]
    args.defaults = [d for _a, d in kept if d is not None]
    kw = [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
          if a.arg not in values]
    args.kwonlyargs, args.kw_defaults = [a for a, _d in kw], [d for _a, d in kw]
    body: list[ast.stmt] = []
    for stmt in func.body:
        done = _Specialise(values).visit(stmt)
        body.extend(done if isinstance(done, list) else [done])
    func.body = body or [ast.Pass()]
    return ast.fix_missing_locations(func)


def _helpers(func: ast.FunctionDef, private: dict[str, ast.FunctionDef]) -> list[str]:
    """The module's private functions (``_name``) that ``func`` calls, directly or not."""
    seen: list[str] = []
    todo = [func]
    while todo:
        for node in ast.walk(todo.pop()):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in private and node.func.id not in seen):
                seen.append(node.func.id)
                todo.append(private[node.func.id])
    return seen


def reference_functions(path: Path = REFERENCE) -> dict[str, list[Counter]]:
    """Fingerprints of every top-level function of the reference module, by name: as written,
    and as an exercise would ask for it (:func:`specialise`), each with the fingerprints of
    the private helpers it calls (a copier may paste them inline). The names bound anywhere
    in the module are renamed, as in a student's cell that copied them."""
    try:
        tree = parse_source(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    bound = bound_names(tree)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    private = {f.name: f for f in functions if f.name.startswith("_")}
    out = {}
    for func in functions:
        helpers: Counter = Counter()
        for name in _helpers(func, private):
            helpers += fingerprints(normalise(private[name], bound) or [])
        out[func.name] = [fingerprints(normalise(form, bound) or []) + helpers
                          for form in (func, specialise(func))]
    return out


def _function_fingerprints(source: str, names: set[str], boilerplate: Counter
                           ) -> dict[str, Counter]:
    """Fingerprints of the cell's top-level functions called ``names``, boilerplate removed."""
    analysed = _analyse(source)
    functions = analysed[1] if analysed else {}
    return {name: _without(grams, boilerplate) for name, grams in functions.items()
            if name in names}


# ---------------------------------------------------------------------------------------------
# A class
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Match:
    """Two near-identical solutions of one exercise: two students, or a student (``first``)
    and a reference (``second``: ``scratchnn.functional.<name>`` or :data:`MASTER`)."""

    assignment: str
    notebook: str
    exercise: str  # grade_id of the solution cell
    first: str
    second: str
    score: float
    reference: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        """(assignment, notebook, exercise)."""
        return self.assignment, self.notebook, self.exercise


@dataclass
class Similarity:
    """What :func:`find_similar` found in a class."""

    pairs: list[Match] = field(default_factory=list)  # student x student
    reference: list[Match] = field(default_factory=list)  # student x reference
    # (assignment, notebook, exercise) -> students whose solutions were compared
    compared: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # (assignment, notebook, exercise) -> why it was not compared (short solutions)
    skipped: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # (assignment, notebook, exercise) -> its place in the course (assignment, notebook order)
    order: dict[tuple[str, str, str], int] = field(default_factory=dict)
    _index: dict | None = field(default=None, repr=False, compare=False)

    def place(self, key: tuple[str, str, str]) -> int:
        """Where the exercise ``key`` comes in the course (unknown ones last)."""
        return self.order.get(key, len(self.order))

    def of(self, student: str, assignment: str) -> list[dict]:
        """A student's matches in one assignment, one entry per exercise:
        ``{notebook, exercise, with: {other student or reference: score}}`` (for
        ``results.json``)."""
        if self._index is None:
            index: dict[tuple[str, str], dict[tuple[str, str, str], dict[str, float]]] = {}
            for m in self.pairs + self.reference:
                for me, other in ((m.first, m.second), (m.second, m.first)):
                    index.setdefault((me, m.assignment), {}).setdefault(m.key, {})[other] = \
                        round(m.score, 3)
            self._index = index
        found = self._index.get((student, assignment), {})
        return [{"notebook": nb, "exercise": ex, "with": dict(sorted(others.items()))}
                for (_a, nb, ex), others in sorted(found.items(),
                                                   key=lambda kv: self.place(kv[0]))]

    def groups(self) -> list[tuple[tuple[str, str, str], list[str], list[Match]]]:
        """The student pairs joined into groups (connected components) per exercise:
        ``((assignment, notebook, exercise), students, pairs)``, in course order, the larger
        groups of an exercise first."""
        by_exercise: dict[tuple[str, str, str], list[Match]] = {}
        for m in self.pairs:
            by_exercise.setdefault(m.key, []).append(m)
        out = []
        for key, matches in by_exercise.items():
            for group in _components([(m.first, m.second) for m in matches]):
                members = set(group)
                out.append((key, group, sorted(m for m in matches if m.first in members)))
        return sorted(out, key=lambda g: (self.place(g[0]), -len(g[1]), g[1]))

    def references(self) -> list[tuple[tuple[str, str, str], str, list[Match]]]:
        """The reference matches per exercise and reference: ``((assignment, notebook,
        exercise), reference, matches)``, in course order."""
        by_ref: dict[tuple[tuple[str, str, str], str], list[Match]] = {}
        for m in self.reference:
            by_ref.setdefault((m.key, m.second), []).append(m)
        return [(key, ref, sorted(ms)) for (key, ref), ms in
                sorted(by_ref.items(), key=lambda kv: (self.place(kv[0][0]), kv[0][1]))]


def _components(edges: list[tuple[str, str]]) -> list[list[str]]:
    """The connected components of a graph given by its edges, each sorted."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        """The representative of x's component."""
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]  # path halving: chains stay short
            x = parent[x]
        return x

    for a, b in edges:
        parent[root(a)] = root(b)
    members: dict[str, list[str]] = {}
    for node in list(parent):
        members.setdefault(root(node), []).append(node)
    return [sorted(group) for group in members.values()]


def solutions_of(data: bytes, ids: set[str]) -> dict[str, str]:
    """grade_id -> source of the solution cells ``ids`` in a notebook file's bytes (the last
    cell of an id wins, as in grading); {} if the file is not a notebook."""
    try:
        nb = json.loads(data.decode("utf-8-sig"))
        cells = nb.get("cells", []) if isinstance(nb, dict) else []
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return {}
    out = {}
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata")
        meta = meta.get("nbgrader") if isinstance(meta, dict) else None
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if gid in ids:
            source = cell.get("source", "")
            out[gid] = "".join(source) if isinstance(source, list) else str(source)
    return out


def find_similar(course: Course, submissions, reference: Path = REFERENCE,
                 threshold: float = THRESHOLD, min_fingerprints: int = MIN_FINGERPRINTS
                 ) -> Similarity:
    """Compare the solution cells of every pair of ``submissions`` (objects with ``student``,
    ``assignment`` and ``notebooks``: notebook name -> file bytes, as
    :class:`autograder.intake.Submission`) exercise by exercise, and each with the references.

    Returns the pairs at or above ``threshold``, sorted; solutions that were not handed in,
    are unchanged from the release, or are too short (``min_fingerprints``) are left out.
    """
    library = reference_functions(reference) if reference else {}
    found = Similarity()
    subs = sorted(submissions, key=lambda s: (s.assignment, s.student))
    for assignment in course.assignments:
        for master in course.masters[assignment]:
            exercises = [c for c in master.cells
                         if c.solution and not c.grade and c.cell_type == "code"]
            ids = {c.grade_id for c in exercises}
            cells = {s.student: solutions_of(s.notebooks[master.name], ids) for s in subs
                     if s.assignment == assignment and master.name in s.notebooks}
            for cell in exercises:
                key = (assignment, master.name, cell.grade_id)
                found.order[key] = len(found.order)
                _compare_exercise(found, key, cell.source, cells, library, threshold,
                                  min_fingerprints)
    found.pairs.sort(key=lambda m: (found.place(m.key), m))
    found.reference.sort(key=lambda m: (found.place(m.key), m))
    return found


def _compare_exercise(found: Similarity, key: tuple[str, str, str], master_source: str,
                      cells: dict[str, dict[str, str]], library: dict[str, list[Counter]],
                      threshold: float, min_fingerprints: int) -> None:
    assignment, notebook, exercise = key
    boilerplate = code_fingerprints(starter_code(master_source)) or Counter()
    master = code_fingerprints(solution_code(master_source), boilerplate)
    names = {n.name for n in (_parse(solution_code(master_source)) or ast.Module([], [])).body
             if isinstance(n, ast.FunctionDef)} & set(library)
    prints: dict[str, Counter] = {}
    for student, sources in sorted(cells.items()):
        grams = code_fingerprints(sources[exercise], boilerplate) if exercise in sources \
            else None
        if grams and sum(grams.values()) >= min_fingerprints:
            prints[student] = grams
    if master is not None and sum(master.values()) < min_fingerprints and not prints:
        found.skipped[key] = ("the solution is too short to tell copying from the obvious "
                              "answer")
        return
    found.compared[key] = len(prints)
    # Students with the very same normalised code are compared once.
    same: dict[frozenset, list[str]] = {}
    for student in sorted(prints):
        same.setdefault(frozenset(prints[student].items()), []).append(student)
    kinds = list(same.values())
    for i, group in enumerate(kinds):
        for j, a in enumerate(group):
            for b in group[j + 1:]:
                found.pairs.append(Match(assignment, notebook, exercise, a, b, 1.0))
        for other in kinds[i + 1:]:
            score = similarity(prints[group[0]], prints[other[0]])
            if score >= threshold:
                found.pairs.extend(Match(assignment, notebook, exercise, *sorted((a, b)), score)
                                   for a in group for b in other)
    students = sorted(prints)
    for a in students:
        if master and sum(master.values()) >= min_fingerprints:
            score = similarity(prints[a], master)
            if score >= threshold:
                found.reference.append(Match(assignment, notebook, exercise, a, MASTER, score,
                                             True))
        for name, grams in _function_fingerprints(cells[a][exercise], names,
                                                  boilerplate).items():
            if sum(grams.values()) < min_fingerprints:
                continue
            score = max(containment(grams, form) for form in library[name])
            if score >= threshold:
                found.reference.append(Match(assignment, notebook, exercise, a,
                                             f"scratchnn.functional.{name}", score, True))
