"""Build the student bundle: what an instructor hands out or installs on a JupyterHub.

    python tools/bundle.py                # -> dist/  (`make student-bundle`)
    python tools/bundle.py --output DIR   # the same into DIR

The bundle holds the release notebooks, the course support code they import and a student
environment spec, and nothing of the answer key::

    README.md              the students' quick start
    pyproject.toml         `pip install -e .`: the packages from the registry + the code below
    environment.yml        the same for conda
    assignments/NN_topic/  the release notebooks (release/NN_topic/, byte for byte)
    jupyter-config/        JupyterLab with nbgrader's Validate, without the instructor tools
    src/scratchnn/         the course edition of scratchnn: datasets, data helpers, metrics,
                           callbacks, plots and widgets; no reference implementation
    src/scratchnn_lab/     the `scratchnn-lab` command (tools/student/scratchnn_lab)
    BUNDLE.json            what went in, what was left out, and a checksum of every file

What counts as the answer key (:func:`answer_key`): every function or class that a master's
solution cells define (notebooks/*/*.ipynb), and every public function or class of the
reference modules (:data:`REFERENCE`: ``scratchnn.functional`` and its fast twin ``_fused``,
the answer of 01-05, and the modules of the capstone's library). The support modules
(:data:`SUPPORT` and what they import) are copied with every top-level definition of such a
name cut out (e.g. ``data.standardize`` is an exercise of 01_neuron); the build fails if the
copy still uses a name it lost, if a support module imports a reference module other than in a
``try``/``except ImportError`` (the widgets' optional defaults), or if a notebook imports a
module the bundle does not ship.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "source" / "scratchnn"
STUDENT = ROOT / "tools" / "student"
PACKAGE = "scratchnn"
LAUNCHER = "scratchnn_lab"
ASSIGNMENTS = "assignments"
CONFIG = "jupyter-config"
MANIFEST = "BUNDLE.json"
DISTRIBUTION = "scratchnn-course"

# The course support code the notebooks use; the modules these import come along.
SUPPORT = ("datasets", "data", "metrics", "callbacks", "plot", "interactive")
# The model answers, never shipped: `functional` is the reference of every exercise of 01-05,
# the others make up the library that the capstone (06) asks students to build (`registry`
# with it: the support code only registers its metrics there when it is present).
REFERENCE = ("functional", "_fused", "core", "init", "activations", "layers", "losses",
             "optimizers", "schedules", "model", "serialization", "gradcheck", "registry")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "### END HIDDEN TESTS")
# Packages of the `course` extra that only instructors use (jupytext: the authoring sources).
INSTRUCTOR_ONLY = ("jupytext",)
IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc", "gradebook.db")


class BundleError(Exception):
    """The bundle cannot be built without leaking the answer key or breaking the notebooks."""


# ------------------------------------------------------------------------------------------
# The answer key
# ------------------------------------------------------------------------------------------
def _grading(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _cell_source(cell: dict) -> str:
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def _python(text: str) -> str:
    """A cell's code with IPython magics and shell escapes blanked out (so ``ast`` parses it)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in text.splitlines())


def _defined_names(tree: ast.Module) -> list[str]:
    """Names of the functions and classes defined at the top level of a module or cell."""
    return [n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def course_settings(root: Path = ROOT):
    """The course settings (:class:`coursekit.settings.CourseSettings`) of ``root``."""
    try:
        from coursekit.settings import CourseSettings
    except ImportError:  # the repository without `pip install -e .`
        sys.path.insert(0, str(ROOT / "source"))
        from coursekit.settings import CourseSettings
    return CourseSettings.read(root)


def master_notebooks(root: Path = ROOT) -> list[Path]:
    """Every instructor master (nbgrader's source folder), in teaching order."""
    settings = course_settings(root)
    return [nb for name in settings.with_masters() for nb in settings.masters(name)]


def exercise_names(notebook: Path) -> dict[str, str]:
    """``{name: grade_id}`` of every function and class a notebook's solution cells define."""
    names: dict[str, str] = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell.get("cell_type") != "code" or not _grading(cell).get("solution"):
            continue
        tree = ast.parse(_python(_cell_source(cell)))
        for name in _defined_names(tree):
            names.setdefault(name, _grading(cell).get("grade_id", "?"))
    return names


def answer_key(root: Path = ROOT) -> dict[str, str]:
    """``{name: where it is an answer}``: the names no support module may define."""
    key: dict[str, str] = {}
    for notebook in master_notebooks(root):
        for name, grade_id in exercise_names(notebook).items():
            key.setdefault(name, f"exercise {grade_id} of {notebook.parent.name}")
    library = root / "source" / PACKAGE
    for module in REFERENCE:
        path = library / f"{module}.py"
        if not path.exists():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _defined_names(tree):
            if not name.startswith("_"):
                key.setdefault(name, f"{PACKAGE}.{module}")
    return key


# ------------------------------------------------------------------------------------------
# The support modules: which ones, and their copies without the answer key
# ------------------------------------------------------------------------------------------
def _module_path(library: Path, module: str) -> Path | None:
    """``library/<a>/<b>.py`` or ``library/<a>/<b>/__init__.py`` for ``"a.b"``, else None."""
    base = library.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _guarded(node: ast.AST, parents: dict) -> bool:
    """True if ``node`` sits in the body of a ``try`` that catches ImportError."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body:
            for handler in parent.handlers:
                caught = handler.type
                names = [caught] if not isinstance(caught, ast.Tuple) else caught.elts
                if any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError")
                       for n in names):
                    return True
        child, parent = parent, parents.get(parent)
    return False


@dataclass
class Import:
    """One import of a ``scratchnn`` module found in a support module."""

    module: str          # dotted, relative to the package: "functional", "interactive.race"
    line: int
    guarded: bool        # inside try/except ImportError


def package_imports(path: Path, library: Path) -> list[Import]:
    """The ``scratchnn`` modules that the file at ``path`` (inside ``library``) imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = _parents(tree)
    package = list(path.parent.relative_to(library).parts)  # the file's package below scratchnn
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE and len(parts) > 1:
                    found.append(Import(".".join(parts[1:]), node.lineno,
                                        _guarded(node, parents)))
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        module = node.module.split(".") if node.module else []
        if node.level:
            if node.level - 1 > len(package):
                raise BundleError(f"{path}: line {node.lineno} imports from above {PACKAGE}")
            prefix = package[: len(package) - (node.level - 1)] + module
        elif module and module[0] == PACKAGE:
            prefix = module[1:]
        else:
            continue
        guarded = _guarded(node, parents)
        if prefix and _module_path(library, ".".join(prefix)):
            found.append(Import(".".join(prefix), node.lineno, guarded))
        for alias in node.names:  # `from . import functional`: a name may be a module
            dotted = ".".join([*prefix, alias.name])
            if _module_path(library, dotted):
                found.append(Import(dotted, node.lineno, guarded))
    return found


def _files_of(library: Path, module: str) -> list[Path]:
    path = _module_path(library, module)
    if path is None:
        raise BundleError(f"{PACKAGE}.{module} does not exist in {library}")
    if path.name == "__init__.py":
        return sorted(p for p in path.parent.rglob("*.py") if "__pycache__" not in p.parts)
    return [path]


def support_modules(library: Path = LIBRARY, roots=SUPPORT) -> list[str]:
    """The top-level modules to ship: ``roots`` and every module they import unguarded.

    Raises BundleError if that reaches a :data:`REFERENCE` module."""
    todo, seen = list(roots), []
    while todo:
        module = todo.pop(0)
        if module in seen:
            continue
        if module in REFERENCE:
            raise BundleError(f"{PACKAGE}.{module} is a reference module; it cannot be shipped")
        seen.append(module)
        for path in _files_of(library, module):
            for imp in package_imports(path, library):
                top = imp.module.split(".")[0]
                if top in REFERENCE:
                    if not imp.guarded:
                        raise BundleError(
                            f"{path.relative_to(library.parent)}: line {imp.line} imports "
                            f"{PACKAGE}.{imp.module}, a reference implementation; support code "
                            f"must take the student's functions as arguments (an optional "
                            f"default may import it inside try/except ImportError)")
                    continue
                if top not in seen and top not in todo:
                    todo.append(top)
    return seen


def _all_names(tree: ast.Module) -> list[tuple[ast.stmt, list[str]]]:
    """The ``__all__ = [...]`` and ``__all__ += [...]`` statements with their names."""
    found = []
    for node in tree.body:
        target = (node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1
                  else node.target if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else None)
        if isinstance(target, ast.Name) and target.id == "__all__" and isinstance(
                node.value, (ast.List, ast.Tuple)):
            if all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                   for e in node.value.elts):
                found.append((node, [e.value for e in node.value.elts]))
    return found


def _render_all(node: ast.stmt, names: list[str]) -> list[str]:
    operator = "+=" if isinstance(node, ast.AugAssign) else "="
    body = ", ".join(f'"{n}"' for n in names)
    lines = textwrap.wrap(body, width=95, break_on_hyphens=False, break_long_words=False)
    if len(lines) <= 1:
        return [f"__all__ {operator} [{body}]"]
    return [f"__all__ {operator} [", *(f"    {line}" for line in lines), "]"]


def strip_answers(text: str, key: dict[str, str], where: str) -> tuple[str, list[str]]:
    """``text`` (a module's source) without its top-level definitions named in ``key``.

    Each cut definition (with its decorators and the comment lines right above it) becomes a
    short comment saying why, and its name leaves ``__all__``. Returns the new source and the
    cut names. Raises BundleError if such a name is defined below the top level (a method or a
    nested function cannot be cut cleanly) or is still used by what remains.
    """
    tree = ast.parse(text)
    lines = text.splitlines()
    cut: list[str] = []
    edits: list[tuple[int, int, list[str]]] = []  # (first line, last line) 0-based, new lines
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node.name.lstrip("_") in key:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            while first > 0 and lines[first - 1].lstrip().startswith("#"):
                first -= 1
            reason = key[node.name.lstrip("_")]
            note = textwrap.wrap(f"`{node.name}` is left out of the course edition: it is "
                                 f"the answer to {reason}.", width=90)
            edits.append((first, node.end_lineno - 1, [f"# {line}" for line in note]))
            cut.append(node.name)
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and id(node) not in top and node.name.lstrip("_") in key:
            raise BundleError(f"{where}: line {node.lineno} defines {node.name!r}, the answer to "
                              f"{key[node.name.lstrip('_')]}, inside another definition; rename "
                              f"it or move it out of the support code")
    if not cut:
        return text, []
    for node, names in _all_names(tree):
        kept = [n for n in names if n not in cut]
        if kept != names:
            edits.append((node.lineno - 1, node.end_lineno - 1, _render_all(node, kept)))
    for first, last, new in sorted(edits, reverse=True):
        lines[first:last + 1] = new
    out = re.sub(r"\n{4,}", "\n\n\n", "\n".join(lines) + "\n")
    remaining = ast.parse(out)
    used = sorted({n.id for n in ast.walk(remaining) if isinstance(n, ast.Name)} & set(cut))
    if used:
        reasons = "; ".join(f"{name}: the answer to {key[name.lstrip('_')]}" for name in used)
        raise BundleError(f"{where} still uses {used} after cutting the answers ({reasons}); "
                          f"the support code must not depend on them")
    return out, cut


# ------------------------------------------------------------------------------------------
# Files written into the bundle
# ------------------------------------------------------------------------------------------
def _load_toml(path: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            from pip._vendor import tomli as tomllib
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else requirement


def student_requirements(root: Path = ROOT) -> list[str]:
    """The packages of a student environment: the library's own dependencies and the
    ``course`` extra of pyproject.toml (one list, kept in one place), without the instructors'
    authoring tools (:data:`INSTRUCTOR_ONLY`)."""
    project = _load_toml(root / "pyproject.toml")["project"]
    wanted = [*project.get("dependencies", []), *project["optional-dependencies"]["course"]]
    return [r for r in wanted if _requirement_name(r) not in INSTRUCTOR_ONLY]


def _version(root: Path = ROOT) -> str:
    return _load_toml(root / "pyproject.toml")["project"]["version"]


def _requires_python(root: Path = ROOT) -> str:
    return _load_toml(root / "pyproject.toml")["project"].get("requires-python", ">=3.10")


def _pyproject(requirements: list[str], version: str, requires_python: str) -> str:
    deps = "\n".join(f'    "{r}",' for r in requirements)
    return f"""\
# The students' environment: `pip install -e .` in this folder installs the packages below
# from the package index, the course's code in src/ and the `scratchnn-lab` command.
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{DISTRIBUTION}"
version = "{version}"
description = "Neural Networks from Scratch: the course notebooks' support code (no answers)"
requires-python = "{requires_python}"
dependencies = [
{deps}
]

[project.scripts]
scratchnn-lab = "{LAUNCHER}:main"

[tool.setuptools.packages.find]
where = ["src"]
"""


def _environment_yml(requirements: list[str], requires_python: str) -> str:
    deps = "\n".join(f"  - {r}" for r in requirements)
    return f"""\
# Conda alternative to `pip install -e .`, from this folder:
#   conda env create -f environment.yml && conda activate {DISTRIBUTION} && scratchnn-lab
name: {DISTRIBUTION}
channels:
  - conda-forge
dependencies:
  - python{requires_python}
  - pip
{deps}
  - pip:
    - -e .
"""


def _student_nbgrader_config(root: Path = ROOT) -> str:
    settings = course_settings(root)
    course_id = settings.course_id
    timeout = settings.values.get("c.Execute.timeout", 60)
    interrupt = settings.values.get("c.Execute.interrupt_on_timeout", True)
    return f'''\
"""nbgrader in a student's JupyterLab: the Validate button, and on a JupyterHub the
Assignments list (fetch and submit through the course's exchange).

Generated by the course's tools/bundle.py from its nbgrader_config.py.
"""

c = get_config()  # noqa: F821 (provided by nbgrader's config loader)

c.CourseDirectory.course_id = {json.dumps(course_id)}   # the course's name on the exchange
c.Execute.timeout = {timeout!r}   # seconds per cell, as when the notebooks are graded
c.Execute.interrupt_on_timeout = {interrupt!r}
'''


def _student_init(version: str, modules: list[str]) -> str:
    public = sorted(m for m in modules if not m.startswith("_"))
    imports = ", ".join(public)
    exported = ", ".join(f'"{m}"' for m in [*public, "__version__"])
    missing = "\n".join(textwrap.wrap(", ".join(f'"{m}"' for m in REFERENCE), width=90,
                                       initial_indent="    ", subsequent_indent="    "))
    return f'''\
"""scratchnn, course edition: the code the course's notebooks use, without the answers.

Datasets (:mod:`scratchnn.datasets`), data helpers (:mod:`scratchnn.data`), metrics, callbacks,
plots (:mod:`scratchnn.plot`) and widgets (:mod:`scratchnn.interactive`). The widgets and plots
run the functions you pass them. What the exercises ask you to write (``scratchnn.functional``,
the layers, losses, optimizers and ``Sequential``) is not here: that is your part.
"""

from . import {imports}

__version__ = "{version}"
__all__ = [{exported}]

_YOURS = (
{missing}
)


def __getattr__(name):
    """Say clearly that a model answer is not part of the course edition."""
    if name in _YOURS or name in ("Sequential", "Layer", "Parameter", "load_model"):
        raise AttributeError(
            f"scratchnn.{{name}} is not part of the course edition of scratchnn: writing it "
            f"is what the notebooks ask of you"
        )
    raise AttributeError(f"module 'scratchnn' has no attribute {{name!r}}")
'''


# ------------------------------------------------------------------------------------------
# The build
# ------------------------------------------------------------------------------------------
@dataclass
class Bundle:
    """What :func:`build` produced."""

    path: Path
    assignments: list[str]
    modules: list[str]
    left_out: dict[str, list[str]] = field(default_factory=dict)


def release_assignments(root: Path = ROOT) -> list[str]:
    """The declared assignments that have release notebooks, in teaching order."""
    settings = course_settings(root)
    return [name for name in settings.declared if any((settings.release / name).glob("*.ipynb"))]


def _check_notebook(path: Path) -> list[str]:
    """The ``scratchnn`` modules a release notebook imports; fails on a solution marker."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    modules = []
    for cell in nb["cells"]:
        text = _cell_source(cell)
        for marker in MARKERS:
            if marker in text:
                raise BundleError(f"{path}: a cell still holds {marker!r}; the release must be "
                                  f"regenerated (make release)")
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_python(text))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                parts = node.module.split(".")
                if parts[0] == PACKAGE:
                    modules += [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                modules += [a.name.split(".")[1] for a in node.names
                            if a.name.startswith(PACKAGE + ".")]
    return modules


def _prepare_output(output: Path) -> None:
    """Empty ``output`` if it is a bundle built before (or empty); refuse anything else."""
    if output.exists():
        if any(output.iterdir()) and not (output / MANIFEST).exists():
            raise BundleError(f"{output} exists and is not a bundle built by this tool; remove "
                              f"it or choose another --output")
        shutil.rmtree(output)
    output.mkdir(parents=True)
    # Marks the folder as ours at once, so that a build that fails half way can be redone.
    (output / MANIFEST).write_text(json.dumps({"bundle": DISTRIBUTION, "complete": False}) + "\n",
                                   encoding="utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _smoke_test(output: Path, modules: list[str]) -> None:
    """Import the course edition from the bundle alone; it must not reach a reference module."""
    code = textwrap.dedent(f"""
        import importlib, sys
        import {PACKAGE}
        for m in {modules!r}:
            importlib.import_module("{PACKAGE}." + m)
        import {PACKAGE}.interactive
        assert {PACKAGE}.__file__.startswith({str(output / "src")!r}), {PACKAGE}.__file__
        leaked = sorted(m for m in sys.modules
                        if m.split(".")[0] == "{PACKAGE}" and m.split(".")[1:2] and
                        m.split(".")[1] in {list(REFERENCE)!r})
        assert not leaked, leaked
    """)
    env = {**os.environ, "PYTHONPATH": str(output / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=output,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BundleError(f"the course edition of {PACKAGE} does not import on its own:\n"
                          f"{result.stderr.strip()}")


def build(output: Path = ROOT / "dist", root: Path = ROOT, smoke_test: bool = True) -> Bundle:
    """Build the student bundle into ``output`` (replacing a bundle built there before)."""
    output = Path(output).resolve()
    library = root / "source" / PACKAGE
    student = root / "tools" / "student"
    assignments = release_assignments(root)
    if not assignments:
        raise BundleError(f"no release notebooks in {course_settings(root).release}: run "
                          f"`make release`")
    modules = support_modules(library)
    release = course_settings(root).release
    needed = sorted({m for a in assignments for nb in sorted((release / a).glob("*.ipynb"))
                     for m in _check_notebook(nb)})
    unshipped = [m for m in needed if m not in modules]
    if unshipped:
        raise BundleError(f"the release notebooks import {[f'{PACKAGE}.{m}' for m in unshipped]}"
                          f", which the bundle does not ship (support modules: {modules})")
    key = answer_key(root)

    _prepare_output(output)
    for name in assignments:
        shutil.copytree(course_settings(root).release / name, output / ASSIGNMENTS / name,
                        ignore=IGNORED)

    package = output / "src" / PACKAGE
    left_out: dict[str, list[str]] = {}
    for module in modules:
        for path in _files_of(library, module):
            relative = path.relative_to(library)
            text, cut = strip_answers(path.read_text(encoding="utf-8"), key,
                                      f"{PACKAGE}/{relative.as_posix()}")
            if cut:
                left_out[relative.with_suffix("").as_posix().replace("/", ".")] = cut
            (package / relative).parent.mkdir(parents=True, exist_ok=True)
            (package / relative).write_text(text, encoding="utf-8")
    version = _version(root)
    (package / "__init__.py").write_text(_student_init(version, modules), encoding="utf-8")
    shutil.copytree(student / LAUNCHER, output / "src" / LAUNCHER, ignore=IGNORED)

    shutil.copytree(student / CONFIG, output / CONFIG, ignore=IGNORED)
    (output / CONFIG / "nbgrader_config.py").write_text(_student_nbgrader_config(root),
                                                         encoding="utf-8")
    requirements = student_requirements(root)
    requires_python = _requires_python(root)
    (output / "pyproject.toml").write_text(_pyproject(requirements, version, requires_python),
                                           encoding="utf-8")
    (output / "environment.yml").write_text(_environment_yml(requirements, requires_python),
                                            encoding="utf-8")
    shutil.copy2(student / "README.md", output / "README.md")

    files = sorted(p for p in output.rglob("*") if p.is_file())
    manifest = {
        "bundle": DISTRIBUTION,
        "complete": True,
        "version": version,
        "assignments": assignments,
        "modules": [f"{PACKAGE}.{m}" for m in modules],
        "left_out": {f"{PACKAGE}.{m}": names for m, names in sorted(left_out.items())},
        "not_shipped": [f"{PACKAGE}.{m}" for m in REFERENCE],
        "requirements": requirements,
        "files": {p.relative_to(output).as_posix(): _sha256(p) for p in files},
    }
    (output / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if smoke_test:
        _smoke_test(output, modules)
    return Bundle(output, assignments, modules, left_out)


def create_student_env(bundle: Path, venv: Path, python: str | None = None,
                       quiet: bool = True, compile_bytecode: bool = True) -> Path:
    """Make a fresh virtual environment from ``bundle`` alone, as its README tells students:
    ``python -m venv`` and ``pip install -e <bundle>`` (packages from the package index, the
    course code from the bundle). Returns the environment's Python.

    ``python`` is the interpreter to base it on (default: the base interpreter of this one).
    ``compile_bytecode=False`` skips pip's byte-compiling of every installed module (Python
    then compiles what it imports, when it imports it): quicker, for tests.
    """
    python = python or getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    env_python = bindir / ("python.exe" if os.name == "nt" else "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_USER")}
    command = [str(env_python), "-m", "pip", "install", "--disable-pip-version-check",
               *(["--quiet"] if quiet else []),
               *([] if compile_bytecode else ["--no-compile"]), "-e", str(bundle)]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BundleError(f"pip install -e {bundle} failed:\n{result.stdout[-3000:]}\n"
                          f"{result.stderr[-3000:]}")
    return env_python


def student_environment(bindir: Path, base: Path) -> dict[str, str]:
    """The environment variables of a student's fresh session with the environment in
    ``bindir``: its commands first on PATH, new empty home, Jupyter and IPython folders under
    ``base`` (created here), and nothing of this process's Jupyter, Python or virtualenv
    settings. For tests that act as a student."""
    home = {name: Path(base) / name for name in ("home", "config", "data", "runtime", "ipython")}
    for folder in home.values():
        folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER_", "PYTHON", "VIRTUAL_ENV", "IPYTHON"))}
    env.update({
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home["home"]),
        "JUPYTER_CONFIG_DIR": str(home["config"]),
        "JUPYTER_DATA_DIR": str(home["data"]),
        "JUPYTER_RUNTIME_DIR": str(home["runtime"]),
        "IPYTHONDIR": str(home["ipython"]),
    })
    return env


def main(argv: list[str] | None = None) -> int:
    """Command line: build the bundle and say what is in it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "dist",
                        help="the bundle's folder (default: dist/)")
    args = parser.parse_args(argv)
    try:
        bundle = build(args.output)
    except BundleError as exc:
        print(f"student-bundle: {exc}", file=sys.stderr)
        return 1
    print(f"student bundle -> {bundle.path}")
    print(f"  notebooks: {', '.join(bundle.assignments)}")
    print(f"  course code: {', '.join(f'{PACKAGE}.{m}' for m in bundle.modules)}")
    for module, names in sorted(bundle.left_out.items()):
        print(f"  left out of {PACKAGE}.{module}: {', '.join(names)} (exercises)")
    print(f"  not shipped: {', '.join(f'{PACKAGE}.{m}' for m in REFERENCE)}")
    print(f"Students: see {bundle.path / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
