"""Integrity checks: an AST scan of the code a student wrote, before it is graded.

Scanned: every code cell the student could change -- the solution cells (nbgrader
``solution=True, grade=False``), cells the student added, and released cells the student
edited. Unchanged released cells and locked cells are not scanned, but their imports are
followed, so a name bound to ``scratchnn`` anywhere (``import scratchnn as snn`` in a demo cell)
is recognised when a solution uses it.

Each finding has a *scope*, which decides the graded cells it affects:

``exercise`` (a shortcut: the exercise was not done by the student)
    ``scratchnn-import``/``scratchnn-use`` -- imports or calls the course library, whose
    ``functional`` module is the model answer (``import``, ``from ... import``,
    ``importlib.import_module``, ``__import__``, ``sys.modules``, an alias); ``course-files`` --
    names the course's private files (master notebooks, ``notebooks/``, ``*.ipynb``, the
    gradebook, the reference source); ``dynamic-code`` -- ``exec``/``eval``/``compile``,
    ``getattr`` with a computed name, shell commands and subprocesses, which hide what runs.
    Affects the graded cells after the cell, up to the next solution cell: its own tests.

``rest`` (tampering with the grading itself)
    ``monkeypatch`` -- assigns to or deletes an attribute of a module (``np.allclose = ...``,
    ``numpy.testing.assert_allclose = ...``, ``scratchnn.functional.sigmoid = ...``, ``setattr``
    on a module), of ``builtins``/``__builtins__``, or an entry of ``sys.modules``;
    ``runtime-hooks`` -- reaches into the interpreter or IPython: ``sys.settrace``, ``ctypes``,
    signal handlers, ``__builtins__``, and every in-kernel route to the code of the cell being
    run (the test cell, with its hidden tests) or of other cells: IPython's history (``In``,
    ``_ih``, ``_i``, ``_ii``, ``_iN``, ``Out``, ``_oh``, the history manager, any use of
    ``get_ipython`` but harmless magics, ``IPython``/``ipykernel`` internals, ``__main__``,
    ``linecache``, the history database), frames (``sys._getframe``, ``inspect``'s frames and
    stacks, a traceback's ``tb_frame``, ``f_back``/``f_locals``, ``__traceback__``,
    ``sys.exc_info``, ``traceback``'s stack walkers) and ``gc`` object walks. Names are looked
    up as names, attributes, and strings (``getattr(e, "tb_" "frame")``, folded when they are
    built from constants). Affects every graded cell after the cell.

``too-deep`` (scope ``rest``) -- a cell nested too deeply for the scan (``RecursionError`` or
the parser's ``MemoryError``: hundreds of nested operators, calls or attributes): nothing in it
can be checked, and a kernel whose recursion limit an earlier cell raised may well run it, so it
counts as tampering. A cell the tokenizer refuses (``SyntaxError``, e.g. 100,000 ``(``) cannot
run at all and is skipped, as any syntax error.

``course-files`` also flags listing a folder (``os.listdir``, ``glob``, ``Path.iterdir``): the
way to find the notebook being graded without naming it.

By default each affected graded cell scores 0 (``--flag-only``: only reported).
"""

from __future__ import annotations

import ast
import re
import threading
from dataclasses import dataclass

LIBRARY = "scratchnn"
# CPython 3.11 keeps ast.parse's recursion bookkeeping per interpreter, not per thread: two
# grading threads parsing at once can fail with "SystemError: AST constructor recursion depth
# mismatch" (python/cpython#106905; seen once as a whole submission's grader error with
# --jobs 2). Every parse in the grader goes through parse_source, which serialises them.
_PARSE_LOCK = threading.Lock()


def parse_source(source: str) -> ast.Module:
    """``ast.parse(source)``, one thread at a time (see ``_PARSE_LOCK``); raises what
    ``ast.parse`` raises."""
    with _PARSE_LOCK:
        return ast.parse(source)
SAFE_MAGICS = {"matplotlib", "precision", "pprint", "who", "whos"}
# Magics whose argument (line magics) or body (cell magics) is Python code: allowed, and the
# code is scanned like the rest of the cell.
CODE_MAGICS = {"time", "timeit", "pinfo", "pinfo2", "pdoc", "pdef"}
CODE_CELL_MAGICS = {"time", "timeit", "capture"}
PRIVATE_MARKERS = ("notebooks/", "notebooks\\", "ipynb", "gradebook", "autograded",
                   "source/scratchnn", "functional.py", "nbgrader")
DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "breakpoint"}
PROCESS_CALLS = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execve"),
                 ("os", "execvp"), ("os", "spawnv"), ("os", "posix_spawn"), ("pty", "spawn")}
PROCESS_MODULES = {"subprocess", "multiprocessing"}
HOOK_CALLS = {("sys", "settrace"), ("sys", "setprofile"), ("sys", "addaudithook"),
              ("signal", "signal"), ("signal", "setitimer"), ("threading", "settrace"),
              ("threading", "setprofile"), ("builtins", "__import__")}
# Modules that are themselves a way into the interpreter, IPython or the cells' code (linecache
# and IPython's history database hold every cell's source; __main__ is the notebook's namespace).
HOOK_MODULES = {"ctypes", "_ctypes", "cffi", "__main__", "linecache", "tracemalloc", "pdb",
                "bdb", "trace", "sqlite3", "ipykernel", "jupyter_client", "zmq", "nbformat",
                "nbclient", "nbconvert"}
# Attributes of these modules that are fine; every other one is a runtime hook.
SAFE_ATTRIBUTES = {
    "inspect": {"signature", "Signature", "Parameter", "isclass", "isfunction", "ismethod",
                "isbuiltin", "isroutine", "ismodule", "isgenerator", "isgeneratorfunction",
                "iscoroutinefunction", "getdoc", "cleandoc", "getsource", "getsourcelines",
                "getfullargspec", "getmembers"},
    "traceback": {"print_exc", "format_exc", "print_exception", "format_exception",
                  "format_exception_only"},
    "gc": {"collect", "enable", "disable", "isenabled", "get_count", "get_threshold",
           "set_threshold", "get_stats", "freeze", "unfreeze", "get_freeze_count",
           "is_tracked", "is_finalized"},
}
SYS_HOOKS = {"exc_info", "exception", "last_traceback", "last_value", "last_type", "last_exc",
             "settrace", "setprofile", "gettrace", "getprofile", "monitoring", "call_tracing",
             "addaudithook", "remote_exec"}
# IPython's input and output history in the notebook's namespace: In[-1] is the code of the
# cell being run, the test cell with its hidden tests when a student's function is called by it.
HISTORY_NAME = re.compile(r"In|Out|_ih|_oh|_i{1,3}|_i\d+")
# Attribute names that lead to frames (a caller's variables: the hidden test cases), to
# IPython's shell or history, or to every object: flagged on any object.
FRAME_ATTRIBUTES = {"tb_frame", "tb_next", "f_back", "f_locals", "f_globals", "f_builtins",
                    "f_code", "gi_frame", "cr_frame", "ag_frame", "co_consts", "__traceback__",
                    "__globals__", "_getframe", "_current_frames", "_current_exceptions",
                    "currentframe", "getouterframes", "getinnerframes", "get_referrers",
                    "get_referents", "get_objects"}
SHELL_ATTRIBUTES = {"get_ipython", "history_manager", "input_hist_raw", "input_hist_parsed",
                    "output_hist", "user_ns", "user_global_ns", "user_ns_hidden",
                    "run_line_magic", "run_cell_magic", "run_cell", "ev", "ex"}
LISTING_ATTRIBUTES = {"listdir", "scandir", "iterdir", "glob", "iglob", "rglob", "fwalk"}
# Strings that are only suspicious as a name being looked up (x["In"], getattr(m, "In")).
LOOKUP_FUNCTIONS = {"getattr", "hasattr", "get", "pop", "setdefault", "__getitem__",
                    "__getattribute__", "__getattr__", "attrgetter", "itemgetter",
                    "import_module", "getattr_static"}
SENSITIVE_STRINGS = FRAME_ATTRIBUTES | SHELL_ATTRIBUTES - {"ev", "ex"} | {
    "_ih", "_oh", "_ii", "_iii", "linecache", "JPY_SESSION_NAME", "__session__",
    "__vsc_ipynb_file__"}
HISTORY_FILE_MARKERS = ("history.sqlite", ".ipython", "ipython_dir")
NAMESPACE_CALLS = {"globals", "locals", "vars"}
SCOPE = {"scratchnn-import": "exercise", "scratchnn-use": "exercise",
         "course-files": "exercise", "dynamic-code": "exercise",
         "monkeypatch": "rest", "runtime-hooks": "rest", "too-deep": "rest"}
HISTORY_DETAIL = ("reads IPython's history {name}, which holds the code of every cell run "
                  "(the test cell's hidden tests included)")
FRAME_DETAIL = "reaches frames or objects ({name}): the callers' variables, hidden tests included"
SHELL_DETAIL = "uses IPython's shell ({name}), which holds the code of every cell"
LISTING_DETAIL = "lists a folder ({name}), the way to find the notebook being graded"
TOO_DEEP_DETAIL = ("the cell is nested too deeply to be checked ({error}); whatever it does is "
                   "unchecked, so it counts as tampering")


@dataclass(frozen=True)
class Finding:
    """One integrity flag in one cell."""

    cell_index: int
    cell: str  # grade_id of the cell, or "cell N" for an ordinary cell
    rule: str
    line: int
    code: str
    detail: str

    @property
    def scope(self) -> str:
        """``exercise`` or ``rest`` (see the module docstring)."""
        return SCOPE[self.rule]


def _to_python(source: str) -> str:
    """Cell source with IPython syntax (magics, ``!shell``) turned into Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # IPython missing: plain Python only
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # a syntax IPython cannot transform: parse it as is
        return source


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _fold(node: ast.AST) -> str | None:
    """The value of a string expression made only of constants (``"tb_" + "frame"``,
    ``f"{'In'}"``, ``"".join(["I", "n"])``, ``"nI"[::-1]``), else None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _fold(node.left), _fold(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                if value.format_spec is not None:
                    return None
                value = value.value
            part = _fold(value)
            if part is None:
                return None
            parts.append(part)
        return "".join(parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr == "join" and len(node.args) == 1 and not node.keywords and \
            isinstance(node.args[0], (ast.List, ast.Tuple)):
        sep = _fold(node.func.value)
        items = [_fold(elt) for elt in node.args[0].elts]
        if sep is None or any(item is None for item in items):
            return None
        return sep.join(items)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        step = node.slice.step
        if node.slice.lower is None and node.slice.upper is None and \
                isinstance(step, ast.UnaryOp) and isinstance(step.op, ast.USub) and \
                isinstance(step.operand, ast.Constant) and step.operand.value == 1:
            text = _fold(node.value)
            return text[::-1] if text is not None else None
    return None


def _parent(node: ast.AST) -> ast.AST | None:
    return getattr(node, "_integrity_parent", None)


# CPython's parser shares one instance of each of these among all trees (every ``Load``, every
# ``Add``): a parent link on one would tie every later tree to this cell's (and make a deep copy
# of any tree copy this one: one student's cell slowing or crashing the checks of the others).
SHARED_NODES = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


def _link_parents(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, SHARED_NODES):
                child._integrity_parent = node


def _local_names(node: ast.AST) -> set[str]:
    """Names local to a function, lambda or comprehension: its parameters (or targets) and
    the names it binds, not counting nested scopes or ``global``/``nonlocal`` names."""
    names: set[str] = set()
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        for gen in node.generators:
            names.update(n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name))
        return names
    args = node.args
    names.update(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs)
    names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    declared: set[str] = set()
    stack = list(node.body) if isinstance(node.body, list) else [node.body]
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.Global, ast.Nonlocal)):
            declared.update(item.names)
        elif isinstance(item, ast.Name) and not isinstance(item.ctx, ast.Load):
            names.add(item.id)
        elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(item.name)
            continue
        elif isinstance(item, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                               ast.GeneratorExp)):
            continue
        elif isinstance(item, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in item.names)
        elif isinstance(item, ast.ExceptHandler) and item.name:
            names.add(item.name)
        elif isinstance(item, (ast.MatchAs, ast.MatchStar)) and item.name:
            names.add(item.name)
        stack.extend(ast.iter_child_nodes(item))
    return names - declared


def _timeit_code(line: str) -> str:
    """The statement of a ``%timeit`` line without its options (``-n 10 -r 3``)."""
    return re.sub(r"^\s*(?:-[a-zA-Z]+\s*(?:\d+\s*)?)*", "", line)


class _Scanner(ast.NodeVisitor):
    """Collects findings for one cell; ``modules`` and ``library`` carry over between cells."""

    def __init__(self, modules: dict[str, str], library: set[str], flag: bool) -> None:
        self.modules = modules  # local name -> module it is bound to ("np" -> "numpy")
        self.library = library  # local names bound to scratchnn or something inside it
        self.flag = flag  # False for cells that are only followed for their imports
        self.found: list[tuple[str, int, str, str]] = []  # (rule, line, code, detail)
        self.scopes: list[set[str]] = []  # local names of the enclosing functions
        # Names surely bound at the top level of this cell so far (by a statement of the cell
        # itself, not inside an if or a loop), and the targets of the top-level for loops
        # being visited (bound inside their body).
        self.cell_bound: set[str] = set()
        self.loop_names: list[set[str]] = []
        self.shell_ok: set[int] = set()  # get_ipython names of harmless magics
        self.shell_detail: dict[int, str] = {}
        self.line: int | None = None  # set while scanning the code of a magic

    def _add(self, rule: str, node: ast.AST, detail: str) -> None:
        if self.flag:
            line = self.line if self.line is not None else getattr(node, "lineno", 0)
            self.found.append((rule, line, ast.unparse(node)[:120], detail))

    def visit(self, node: ast.AST):
        """Visit a node; a string built from constants is checked as a whole."""
        if not isinstance(node, ast.Constant):
            text = _fold(node)
            parent = _parent(node)
            if text is not None and (parent is None or _fold(parent) is None):
                self._check_string(text, node)
        return super().visit(node)

    # -- imports ------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        """Record module aliases; flag the course library, hook modules and subprocess."""
        for alias in node.names:
            local = alias.asname or alias.name.split(".")[0]
            module = alias.name if alias.asname else alias.name.split(".")[0]
            self.modules[local] = module
            top = alias.name.split(".")[0]
            if top == LIBRARY:
                self.library.add(local)
                self._add("scratchnn-import", node, f"imports {alias.name}")
            elif top in HOOK_MODULES:
                self._add("runtime-hooks", node, f"imports {alias.name}")
            elif top in PROCESS_MODULES:
                self._add("dynamic-code", node, f"imports {alias.name} (runs other processes)")
            else:
                self._check_path(alias.name, node, f"imports {alias.name}")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        """Record imported names; flag imports from the library and hook modules."""
        module = node.module or ""
        top = module.split(".")[0]
        for alias in node.names:
            local = alias.asname or alias.name
            self.modules[local] = f"{module}.{alias.name}"
            if top == LIBRARY:
                self.library.add(local)
        if top == LIBRARY:
            names = ", ".join(a.name for a in node.names)
            self._add("scratchnn-import", node, f"imports {names} from {module}")
        elif top in HOOK_MODULES:
            self._add("runtime-hooks", node, f"imports from {module}")
        elif top in PROCESS_MODULES:
            self._add("dynamic-code", node, f"imports from {module} (runs other processes)")
        elif top == "builtins":
            self._add("runtime-hooks", node, "imports from builtins")
        else:
            for alias in node.names:
                if alias.name == "*" and (top in SAFE_ATTRIBUTES or top in ("sys", "IPython")):
                    self._add("runtime-hooks", node, f"imports everything from {module}")
                elif alias.name != "*":
                    full = f"{module}.{alias.name}"
                    if not self._check_path(full, node, f"imports {full}"):
                        self._check_attribute_name(alias.name, node)
        self.generic_visit(node)

    # -- names and strings -----------------------------------------------------------------
    def _is_local(self, name: str) -> bool:
        """True if ``name`` surely is the student's own variable here, not IPython's: a
        variable of an enclosing function (Python makes it local, bound or not), or, at the
        top level, bound by an earlier statement of this cell or by the top-level for loop
        being run (``_i`` and the like are rebound by IPython after every cell)."""
        if self.scopes:
            return any(name in scope for scope in self.scopes)
        return name in self.cell_bound or any(name in names for names in self.loop_names)

    def visit_Module(self, node: ast.Module) -> None:
        """Visit the statements of a cell in order, recording what each surely binds."""
        for statement in node.body:
            self.visit(statement)
            if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else \
                    [statement.target]
                self.cell_bound.update(n.id for t in targets for n in ast.walk(t)
                                       if isinstance(n, ast.Name))
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                self.cell_bound.update((a.asname or a.name).split(".")[0]
                                       for a in statement.names)
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.cell_bound.add(statement.name)

    def visit_For(self, node: ast.For) -> None:
        """A top-level loop's target is the student's variable inside the loop's body."""
        if self.scopes or not isinstance(_parent(node), ast.Module):
            self.generic_visit(node)
            return
        self.visit(node.target)
        self.visit(node.iter)
        self.loop_names.append({n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)})
        try:
            for statement in node.body:
                self.visit(statement)
        finally:
            self.loop_names.pop()
        for statement in node.orelse:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_Name(self, node: ast.Name) -> None:
        """Flag uses of names bound to the library, of ``__builtins__``, of IPython's history
        and of its shell."""
        if isinstance(node.ctx, ast.Load):
            if node.id in self.library:
                self._add("scratchnn-use", node, f"uses {node.id}, which is bound to the "
                          f"course library {LIBRARY}")
            elif node.id == "__builtins__":
                self._add("runtime-hooks", node, "uses __builtins__")
            elif node.id == "get_ipython" and id(node) not in self.shell_ok and \
                    not self._is_local(node.id):
                self._add("runtime-hooks", node, self.shell_detail.get(
                    id(node), SHELL_DETAIL.format(name="get_ipython")))
            elif HISTORY_NAME.fullmatch(node.id) and not self._is_local(node.id):
                self._add("runtime-hooks", node, HISTORY_DETAIL.format(name=node.id))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        """Flag strings that name the library, the course's private files or a way to the
        cells' code."""
        if isinstance(node.value, str):
            self._check_string(node.value, node)

    def _is_lookup(self, node: ast.AST) -> bool:
        """True if the string ``node`` is a name being looked up: ``x["In"]``,
        ``getattr(m, "In")``, ``d.get("In")``, ``k == "In"``."""
        parent = _parent(node)
        if isinstance(parent, ast.Subscript):
            return parent.slice is node
        if isinstance(parent, ast.Compare):
            return True
        if isinstance(parent, ast.Call) and node in parent.args:
            func = parent.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            return name in LOOKUP_FUNCTIONS
        return False

    def _check_string(self, text: str, node: ast.AST) -> None:
        low = text.lower()
        if text.startswith(LIBRARY):
            self._add("scratchnn-import", node, f"names the course library ({text!r})")
        elif any(marker in low for marker in PRIVATE_MARKERS):
            self._add("course-files", node, f"names the course's private files ({text!r})")
        elif text in SENSITIVE_STRINGS:
            self._add("runtime-hooks", node, f"names {text!r}, a way to frames or to the "
                      f"code of the cells")
        elif any(marker in low for marker in HISTORY_FILE_MARKERS):
            self._add("runtime-hooks", node, f"names IPython's files ({text!r}), which keep "
                      f"the code of every cell")
        elif (HISTORY_NAME.fullmatch(text) or text == "__main__") and self._is_lookup(node):
            parent = _parent(node)
            if not (text == "__main__" and isinstance(parent, ast.Compare) and any(
                    isinstance(n, ast.Name) and n.id == "__name__"
                    for n in [parent.left, *parent.comparators])):
                self._add("runtime-hooks", node, f"looks up {text!r}: IPython's history or "
                          f"the notebook's namespace")

    # -- attributes ------------------------------------------------------------------------
    def _check_path(self, full: str, node: ast.AST, what: str) -> bool:
        """Flag a module attribute (``sys._getframe``, ``os.listdir``) by its full dotted
        path; True if it was flagged."""
        parts = full.split(".")
        if len(parts) < 2:
            return False
        top, name = parts[0], parts[1]
        if (top, name) in HOOK_CALLS or top == "sys" and (
                name in SYS_HOOKS or name.startswith("_") and not name.startswith("__")):
            self._add("runtime-hooks", node, f"{what} (interpreter hooks and frames)")
        elif top in SAFE_ATTRIBUTES and name not in SAFE_ATTRIBUTES[top]:
            self._add("runtime-hooks", node, f"{what} (frames, stacks or object walks)")
        elif top == "IPython" and name != "display" and parts[1:3] != ["core", "display"]:
            self._add("runtime-hooks", node, SHELL_DETAIL.format(name=full))
        elif (top, name) in PROCESS_CALLS:
            return False  # reported as a call
        elif top in ("os", "glob") and name in LISTING_ATTRIBUTES | {"walk"}:
            self._add("course-files", node, LISTING_DETAIL.format(name=full))
        else:
            return False
        return True

    def _check_attribute_name(self, attr: str, node: ast.AST) -> None:
        if attr in FRAME_ATTRIBUTES:
            self._add("runtime-hooks", node, FRAME_DETAIL.format(name=attr))
        elif attr in SHELL_ATTRIBUTES:
            self._add("runtime-hooks", node, SHELL_DETAIL.format(name=attr))
        elif HISTORY_NAME.fullmatch(attr):
            self._add("runtime-hooks", node, HISTORY_DETAIL.format(name=attr))
        elif attr in LISTING_ATTRIBUTES:
            self._add("course-files", node, LISTING_DETAIL.format(name=attr))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        """Flag module attributes that are hooks (``sys._getframe``, ``inspect.stack``,
        ``gc.get_referrers``) and, on any object, frame, IPython and folder-listing
        attributes (``tb_frame``, ``f_back``, ``history_manager``, ``iterdir``)."""
        parent = _parent(node)
        outermost = not (isinstance(parent, ast.Attribute) and parent.value is node)
        chain = node
        while isinstance(chain, ast.Attribute):
            chain = chain.value
        # get_ipython().run_line_magic(...): reported (or allowed) with the get_ipython name
        shell = isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) and \
            node.value.func.id == "get_ipython"
        flagged = False
        if outermost and isinstance(chain, ast.Name) and chain.id in self.modules:
            full = self.modules[chain.id] + _dotted(node)[len(chain.id):]
            flagged = self._check_path(full, node, f"uses {full}")
        if not flagged and not shell:
            self._check_attribute_name(node.attr, node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        """Flag a computed name looked up in a namespace (``globals()[name]``)."""
        if isinstance(node.ctx, ast.Load) and self._namespace(node.value) and \
                _fold(node.slice) is None:
            self._add("dynamic-code", node, f"looks up a computed name in "
                      f"{ast.unparse(node.value)}")
        self.generic_visit(node)

    def _namespace(self, node: ast.AST) -> bool:
        """True for ``globals()``, ``locals()``, ``vars()``, ``x.__dict__``, ``sys.modules``."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id in NAMESPACE_CALLS
        if isinstance(node, ast.Attribute):
            if node.attr == "__dict__":
                return True
            root = _root_name(node)
            return node.attr == "modules" and self.modules.get(root or "") == "sys"
        return False

    # -- calls -----------------------------------------------------------------------------
    def _shell_call(self, node: ast.Call) -> None:
        """``get_ipython().method(...)``: IPython's transformation of magics and ``!cmd``.
        Harmless magics are allowed; the code given to ``%time``, ``%%timeit``... is
        scanned; anything else is a runtime hook (reported with the name)."""
        func = node.func
        shell = func.value.func
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
                for a in node.args]
        magic = args[0] if args else None
        if func.attr in ("system", "getoutput"):
            self.shell_ok.add(id(shell))
            self._add("dynamic-code", node, "runs a shell command")
        elif func.attr == "run_line_magic" and magic in SAFE_MAGICS:
            self.shell_ok.add(id(shell))
        elif func.attr == "run_line_magic" and magic in CODE_MAGICS and len(args) > 1 and \
                args[1] is not None:
            self.shell_ok.add(id(shell))
            code = _timeit_code(args[1]) if magic == "timeit" else args[1]
            self._scan_code(code, node, magic)
        elif func.attr == "run_cell_magic" and magic in CODE_CELL_MAGICS and \
                len(args) > 2 and None not in args[1:3]:
            self.shell_ok.add(id(shell))
            if magic != "capture":
                self._scan_code(_timeit_code(args[1]), node, magic)
            self._scan_code(_to_python(args[2]), node, magic)
        else:
            self.shell_detail[id(shell)] = SHELL_DETAIL.format(name=_dotted(func) + "(" + (
                repr(magic) if magic else "") + ")")

    def _scan_code(self, code: str, node: ast.AST, magic: str) -> None:
        """Scan the code a magic runs, reporting it at the magic's line."""
        try:
            tree = parse_source(code)
        except (SyntaxError, ValueError):
            self._add("runtime-hooks", node, f"%{magic} runs code that cannot be checked")
            return
        _link_parents(tree)
        saved, self.line = self.line, getattr(node, "lineno", 0)
        try:
            self.visit(tree)
        finally:
            self.line = saved

    def visit_Call(self, node: ast.Call) -> None:
        """Flag dynamic code, processes, interpreter hooks and computed imports."""
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        dotted = _dotted(func)
        root = _root_name(func)
        module = self.modules.get(root or "", root or "")
        pair = (module.split(".")[0], func.attr) if isinstance(func, ast.Attribute) else None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and \
                isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython":
            self._shell_call(node)
        if name in DYNAMIC_CALLS:
            self._add("dynamic-code", node, f"calls {name}()")
        elif name in ("getattr", "setattr", "delattr") and node.args:
            target = _root_name(node.args[0])
            target_module = self.modules.get(target or "")
            literal = len(node.args) > 1 and _fold(node.args[1]) is not None
            if name != "getattr" and (target_module or target in ("builtins", "__builtins__")):
                self._add("monkeypatch", node, f"{name}() on module {target}")
            elif name == "getattr" and target_module and not literal:
                self._add("dynamic-code", node, f"getattr() with a computed name on {target}")
        elif pair in PROCESS_CALLS:
            self._add("dynamic-code", node, f"calls {dotted}() (runs other processes)")
        elif pair and pair[0] == "importlib" and pair[1] in ("import_module", "reload") or \
                module.endswith("import_module"):
            arg = node.args[0] if node.args else None
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                self._add("dynamic-code", node, f"{dotted}() with a computed name")
        elif name in NAMESPACE_CALLS and not self._is_local(name):
            parent = _parent(node)
            key = None
            if isinstance(parent, ast.Subscript) and parent.value is node:
                key = parent.slice
            elif isinstance(parent, ast.Attribute) and parent.attr == "get":
                call = _parent(parent)
                key = call.args[0] if isinstance(call, ast.Call) and call.args else None
            if node.args:
                self._add("runtime-hooks", node, f"{name}() of another namespace")
            elif key is None:
                self._add("runtime-hooks", node, f"walks the notebook's namespace ({name}()), "
                          f"where IPython keeps its history")
        elif isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "__getitem__") \
                and self._namespace(func.value) and node.args and _fold(node.args[0]) is None:
            self._add("dynamic-code", node, f"looks up a computed name in "
                      f"{ast.unparse(func.value)}")
        self.generic_visit(node)

    # -- assignments -----------------------------------------------------------------------
    def _check_target(self, target: ast.AST, verb: str) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._check_target(elt, verb)
            return
        if isinstance(target, ast.Starred):
            self._check_target(target.value, verb)
            return
        if isinstance(target, ast.Attribute):
            root = _root_name(target)
            node = target
            while isinstance(node, ast.Attribute):
                node = node.value
            if isinstance(node, ast.Name) and (root in self.modules or
                                               root in ("builtins", "__builtins__")):
                self._add("monkeypatch", target, f"{verb} {_dotted(target)}, an attribute of "
                          f"module {self.modules.get(root, root)}")
        elif isinstance(target, ast.Subscript):
            base = target.value
            text = ast.unparse(base)
            if text in ("sys.modules", "__builtins__") or text.endswith(".__dict__") or \
                    text.startswith(("globals()", "vars(")):
                self._add("monkeypatch", target, f"{verb} an entry of {text}")
        elif isinstance(target, ast.Name):
            if target.id in self.library:
                self.library.discard(target.id)  # rebound: no longer the library
            self.modules.pop(target.id, None)

    def visit_Assign(self, node: ast.Assign) -> None:
        """Flag assignments to module attributes (monkeypatching)."""
        self.visit(node.value)
        for target in node.targets:
            self._check_target(target, "assigns")
            self._visit_target_parts(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        """Flag in-place changes of module attributes."""
        self.visit(node.value)
        self._check_target(node.target, "changes")
        self._visit_target_parts(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        """Flag annotated assignments to module attributes."""
        if node.value is not None:
            self.visit(node.value)
        self._check_target(node.target, "assigns")
        self._visit_target_parts(node.target)

    def visit_Delete(self, node: ast.Delete) -> None:
        """Flag deletions of module attributes."""
        for target in node.targets:
            self._check_target(target, "deletes")
            self._visit_target_parts(target)

    def _visit_target_parts(self, target: ast.AST) -> None:
        """Visit the expressions inside a target (``a[f(x)]``) without its own names."""
        if isinstance(target, ast.Attribute):
            if not isinstance(target.value, ast.Name):
                self._visit_target_parts(target.value)
        elif isinstance(target, ast.Subscript):
            self.visit(target.slice)
            if not isinstance(target.value, ast.Name):
                self._visit_target_parts(target.value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._visit_target_parts(elt)
        elif isinstance(target, ast.Starred):
            self._visit_target_parts(target.value)
        elif isinstance(target, ast.Call):
            self.visit(target)

    # -- scopes ----------------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        """Scan a function body with the same tables (conservative: a parameter named like
        a module still counts as the module); its own variables are not IPython's history."""
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self.scopes.append(_local_names(node))
        try:
            for statement in node.body:
                self.visit(statement)
        finally:
            self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        """Scan a lambda; its parameters are local variables."""
        self.visit(node.args)
        self.scopes.append(_local_names(node))
        try:
            self.visit(node.body)
        finally:
            self.scopes.pop()

    def _visit_comprehension(self, node: ast.AST) -> None:
        self.scopes.append(_local_names(node))
        try:
            self.generic_visit(node)
        finally:
            self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension


def _too_deep(index: int, label: str, source: str, exc: BaseException, flag: bool
              ) -> list[Finding]:
    """The ``too-deep`` finding of a cell the scan could not go through (none if not scanned)."""
    if not flag:
        return []
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    error = type(exc).__name__ + (f": {exc}" if str(exc) else "")
    return [Finding(index, label, "too-deep", 1, first[:80],
                    TOO_DEEP_DETAIL.format(error=error[:100]))]


def scan_notebook(nb, scanned: set[int], labels: dict[int, str]) -> list[Finding]:
    """Findings in the cells whose index is in ``scanned``; all code cells are followed (in
    order) for the names they import. ``labels`` names cells (grade ids)."""
    modules: dict[str, str] = {}
    library: set[str] = set()
    findings: list[Finding] = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        label = labels.get(index, f"cell {index}")
        try:
            tree = parse_source(_to_python(cell.source))
        except (SyntaxError, ValueError):
            continue  # a cell that does not parse cannot run either
        except (RecursionError, MemoryError) as exc:  # too deep for the parser
            findings.extend(_too_deep(index, label, cell.source, exc, index in scanned))
            continue
        scanner = _Scanner(modules, library, flag=index in scanned)
        try:
            _link_parents(tree)
            scanner.visit(tree)
        except RecursionError as exc:  # parsed, but too deep to walk
            findings.extend(_too_deep(index, label, cell.source, exc, index in scanned))
            continue
        seen = set()
        for rule, line, code, detail in scanner.found:
            if (rule, line, detail) in seen:
                continue
            seen.add((rule, line, detail))
            findings.append(Finding(index, label, rule, line, code, detail))
    return findings


def affected_tests(nb, finding: Finding) -> list[str]:
    """grade_ids of the graded cells a finding affects (see the module docstring)."""
    out = []
    for cell in nb.cells[finding.cell_index + 1:]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if finding.scope == "exercise" and meta.get("solution") and not meta.get("grade"):
            break
        if meta.get("grade"):
            out.append(meta["grade_id"])
    return out
