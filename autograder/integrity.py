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
    ``runtime-hooks`` -- reaches into the interpreter or IPython (``get_ipython()`` other than
    harmless line magics, ``sys.settrace``, frames, ``gc`` object walks, ``ctypes``, signal
    handlers, ``__builtins__``). Affects every graded cell after the cell.

By default each affected graded cell scores 0 (``--flag-only``: only reported).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

LIBRARY = "scratchnn"
SAFE_MAGICS = {"matplotlib", "time", "timeit", "precision", "pprint", "who", "whos"}
PRIVATE_MARKERS = ("notebooks/", "notebooks\\", ".ipynb", "gradebook", "autograded",
                   "source/scratchnn", "functional.py", "nbgrader")
DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "breakpoint"}
PROCESS_CALLS = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execve"),
                 ("os", "execvp"), ("os", "spawnv"), ("os", "posix_spawn"), ("pty", "spawn")}
PROCESS_MODULES = {"subprocess", "multiprocessing"}
HOOK_CALLS = {("sys", "settrace"), ("sys", "setprofile"), ("sys", "addaudithook"),
              ("sys", "_getframe"), ("inspect", "currentframe"), ("inspect", "stack"),
              ("inspect", "getouterframes"), ("gc", "get_objects"), ("gc", "get_referrers"),
              ("gc", "get_referents"), ("signal", "signal"), ("signal", "setitimer"),
              ("threading", "settrace"), ("builtins", "__import__")}
HOOK_MODULES = {"ctypes", "_ctypes", "cffi"}
SCOPE = {"scratchnn-import": "exercise", "scratchnn-use": "exercise",
         "course-files": "exercise", "dynamic-code": "exercise",
         "monkeypatch": "rest", "runtime-hooks": "rest"}


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


class _Scanner(ast.NodeVisitor):
    """Collects findings for one cell; ``modules`` and ``library`` carry over between cells."""

    def __init__(self, modules: dict[str, str], library: set[str], flag: bool) -> None:
        self.modules = modules  # local name -> module it is bound to ("np" -> "numpy")
        self.library = library  # local names bound to scratchnn or something inside it
        self.flag = flag  # False for cells that are only followed for their imports
        self.found: list[tuple[str, int, str, str]] = []  # (rule, line, code, detail)

    def _add(self, rule: str, node: ast.AST, detail: str) -> None:
        if self.flag:
            self.found.append((rule, getattr(node, "lineno", 0), ast.unparse(node)[:120], detail))

    # -- imports ------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        """Record module aliases; flag the course library, ctypes and subprocess."""
        for alias in node.names:
            local = alias.asname or alias.name.split(".")[0]
            module = alias.name if alias.asname else alias.name.split(".")[0]
            self.modules[local] = module
            if alias.name.split(".")[0] == LIBRARY:
                self.library.add(local)
                self._add("scratchnn-import", node, f"imports {alias.name}")
            elif alias.name.split(".")[0] in HOOK_MODULES:
                self._add("runtime-hooks", node, f"imports {alias.name}")
            elif alias.name.split(".")[0] in PROCESS_MODULES:
                self._add("dynamic-code", node, f"imports {alias.name} (runs other processes)")
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
        self.generic_visit(node)

    # -- names and strings -----------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        """Flag uses of names bound to the library, and of ``__builtins__``."""
        if isinstance(node.ctx, ast.Load):
            if node.id in self.library:
                self._add("scratchnn-use", node, f"uses {node.id}, which is bound to the "
                          f"course library {LIBRARY}")
            elif node.id == "__builtins__":
                self._add("runtime-hooks", node, "uses __builtins__")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        """Flag strings that name the library or the course's private files."""
        if isinstance(node.value, str):
            text = node.value
            low = text.lower()
            if text.startswith(LIBRARY):
                self._add("scratchnn-import", node, f"names the course library ({text!r})")
            elif any(marker in low for marker in PRIVATE_MARKERS):
                self._add("course-files", node, f"names the course's private files ({text!r})")

    # -- calls -----------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        """Flag dynamic code, processes, interpreter hooks and computed imports."""
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        dotted = _dotted(func)
        root = _root_name(func)
        module = self.modules.get(root or "", root or "")
        pair = (module.split(".")[0], func.attr) if isinstance(func, ast.Attribute) else None
        if name in DYNAMIC_CALLS:
            self._add("dynamic-code", node, f"calls {name}()")
        elif name in ("getattr", "setattr", "delattr") and node.args:
            target = _root_name(node.args[0])
            target_module = self.modules.get(target or "")
            literal = len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
            if name != "getattr" and (target_module or target in ("builtins", "__builtins__")):
                self._add("monkeypatch", node, f"{name}() on module {target}")
            elif name == "getattr" and target_module and not literal:
                self._add("dynamic-code", node, f"getattr() with a computed name on {target}")
        elif name == "get_ipython" or dotted.startswith("get_ipython()"):
            magic = node.args[0].value if (
                isinstance(func, ast.Attribute) and func.attr == "run_line_magic" and node.args
                and isinstance(node.args[0], ast.Constant)) else None
            if isinstance(func, ast.Attribute) and func.attr in ("system", "getoutput"):
                self._add("dynamic-code", node, "runs a shell command")
            elif name != "get_ipython" and magic not in SAFE_MAGICS:
                self._add("runtime-hooks", node, f"uses IPython internals ({dotted})")
        elif pair in PROCESS_CALLS:
            self._add("dynamic-code", node, f"calls {dotted}() (runs other processes)")
        elif pair in HOOK_CALLS:
            self._add("runtime-hooks", node, f"calls {dotted}()")
        elif pair and pair[0] == "importlib" and pair[1] in ("import_module", "reload") or \
                module.endswith("import_module"):
            arg = node.args[0] if node.args else None
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                self._add("dynamic-code", node, f"{dotted}() with a computed name")
        elif name in ("globals", "vars", "locals") and node.args:
            self._add("runtime-hooks", node, f"{name}() of another namespace")
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
        elif isinstance(target, ast.Call):
            self.visit(target)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        """Scan a function body with the same tables (conservative: a parameter named like
        a module still counts as the module)."""
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef


def scan_notebook(nb, scanned: set[int], labels: dict[int, str]) -> list[Finding]:
    """Findings in the cells whose index is in ``scanned``; all code cells are followed (in
    order) for the names they import. ``labels`` names cells (grade ids)."""
    modules: dict[str, str] = {}
    library: set[str] = set()
    findings: list[Finding] = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_to_python(cell.source))
        except (SyntaxError, ValueError):
            continue  # a cell that does not parse cannot run either
        scanner = _Scanner(modules, library, flag=index in scanned)
        scanner.visit(tree)
        label = labels.get(index, f"cell {index}")
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
