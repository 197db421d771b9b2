"""The student bundle (`make student-bundle`, tools/bundle.py): what students receive.

It must hold the release notebooks, the course code they import and a student environment,
and nothing of the answer key: no master, no hidden test, no function that solves an exercise
(checked by name, and by behaviour: every function of the bundle is put in place of each
exercise's function and run against that exercise's visible and hidden tests). And it must
be enough: in a fresh virtual environment made from the bundle alone (packages from the
package index, course code only from the bundle), every release notebook with the master's
solutions pasted in runs top to bottom, with the network closed.

The browser side (JupyterLab from the bundle, Validate, no instructor tools) is in
tests/browser/test_student_bundle.py.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MASTERS = ROOT / "notebooks"
RELEASE = ROOT / "release"
REFERENCE_MODULES = ("functional", "core", "init", "activations", "layers", "losses",
                     "optimizers", "schedules", "model", "serialization", "gradcheck")
SOLUTION = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
HIDDEN = re.compile(r"^\s*### (BEGIN|END) HIDDEN TESTS\s*$")


def _load_tool():
    spec = importlib.util.spec_from_file_location("bundle_tool", ROOT / "tools" / "bundle.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bundle_tool"] = module
    spec.loader.exec_module(module)
    return module


bundle_tool = _load_tool()


# ------------------------------------------------------------------------------------------
# Reading notebooks
# ------------------------------------------------------------------------------------------
def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def text(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def grading(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def python_of(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def masters() -> list[Path]:
    return sorted(MASTERS.glob("*/*.ipynb"))


def solved(release_nb: Path, master_nb: Path) -> dict:
    """The release notebook with each solution cell replaced by the master's solution (its
    ``### BEGIN/END SOLUTION`` lines dropped): what a student who solved everything has."""
    nb = json.loads(release_nb.read_text(encoding="utf-8"))
    answers = {grading(c)["grade_id"]: "\n".join(
        line for line in text(c).splitlines() if not SOLUTION.match(line))
        for c in cells(master_nb) if grading(c).get("solution")}
    for cell in nb["cells"]:
        grade_id = grading(cell).get("grade_id")
        if grading(cell).get("solution") and cell["cell_type"] == "code":
            assert grade_id in answers, f"{release_nb.name}: the master has no cell {grade_id}"
            cell["source"] = answers[grade_id]
    return nb


def secret_lines(master_nb: Path, release_nb: Path) -> set[str]:
    """Lines of the master's solutions and hidden tests that the release does not show
    (stripped, at least 20 characters, not comments)."""
    found: set[str] = set()
    for cell in cells(master_nb):
        inside = False
        for line in text(cell).splitlines():
            if SOLUTION.match(line) or HIDDEN.match(line):
                inside = "BEGIN" in line
                continue
            stripped = line.strip()
            if inside and len(stripped) >= 20 and not stripped.startswith("#"):
                found.add(stripped)
    visible = {line.strip() for c in cells(release_nb) for line in text(c).splitlines()}
    return found - visible


def answer_names() -> dict[str, str]:
    """Every name that is an answer, found independently of tools/bundle.py: the functions and
    classes the masters' solution cells define, and the public functions and classes of the
    reference modules (imported, not parsed)."""
    names: dict[str, str] = {}
    for master in masters():
        for cell in cells(master):
            if grading(cell).get("solution") and cell["cell_type"] == "code":
                for node in ast.parse(python_of(text(cell))).body:
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                        names[node.name] = f"{master.parent.name}:{grading(cell)['grade_id']}"
    for short in REFERENCE_MODULES:
        module = importlib.import_module(f"scratchnn.{short}")
        for name, obj in vars(module).items():
            if (not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
                    and obj.__module__ == module.__name__):
                names.setdefault(name, module.__name__)
    return names


# ------------------------------------------------------------------------------------------
# The bundle, built once for this module
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "scratchnn-course"
    result = subprocess.run([sys.executable, "tools/bundle.py", "--output", str(out)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"tools/bundle.py failed:\n{result.stdout}\n{result.stderr}"
    return out


def bundle_files(bundle: Path) -> list[Path]:
    return sorted(p for p in bundle.rglob("*") if p.is_file())


def test_bundle_holds_the_release_notebooks_and_the_student_files(bundle):
    manifest = json.loads((bundle / "BUNDLE.json").read_text())
    assert manifest["complete"] is True
    released = sorted(p.parent.name for p in RELEASE.glob("*/*.ipynb"))
    assert manifest["assignments"] == sorted(set(released))
    for nb in RELEASE.glob("*/*.ipynb"):
        copy = bundle / "assignments" / nb.parent.name / nb.name
        assert copy.read_bytes() == nb.read_bytes(), f"{copy} differs from the release {nb}"
    notebooks = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*.ipynb")}
    assert notebooks == {f"assignments/{p.parent.name}/{p.name}"
                         for p in RELEASE.glob("*/*.ipynb")}, "a notebook that is not a release"
    for name in ("README.md", "pyproject.toml", "environment.yml", "src/scratchnn/__init__.py",
                 "src/scratchnn_lab/__init__.py", "jupyter-config/nbgrader_config.py",
                 "jupyter-config/labconfig/page_config.json"):
        assert (bundle / name).is_file(), f"the bundle has no {name}"
    listed = manifest["files"]
    for path in bundle_files(bundle):
        relative = path.relative_to(bundle).as_posix()
        if relative != "BUNDLE.json":
            assert relative in listed, f"{relative} is not in BUNDLE.json"
    top = {p.name for p in bundle.iterdir()}
    assert top <= {"README.md", "pyproject.toml", "environment.yml", "BUNDLE.json",
                   "assignments", "jupyter-config", "src"}, f"unexpected files: {sorted(top)}"


def test_no_master_solution_or_hidden_test_in_the_bundle(bundle):
    secrets = {}
    for master in masters():
        release = RELEASE / master.parent.name / master.name
        for line in secret_lines(master, release):
            secrets[line] = master.parent.name
    assert secrets, "found no solution or hidden-test line in the masters: is the check broken?"
    for path in bundle_files(bundle):
        content = path.read_text(encoding="utf-8", errors="replace")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
                       "END HIDDEN TESTS"):
            assert marker not in content, f"{path.relative_to(bundle)} holds {marker!r}"
        if path.suffix == ".ipynb":
            lines = {line.strip() for c in cells(path) for line in text(c).splitlines()}
        else:
            lines = {line.strip() for line in content.splitlines()}
        leaked = sorted(lines & set(secrets))
        assert not leaked, (f"{path.relative_to(bundle)} holds lines of the masters' solutions "
                            f"or hidden tests: {leaked[:5]}")


def test_no_reference_module_and_no_function_named_after_an_answer(bundle):
    package = bundle / "src" / "scratchnn"
    shipped = {p.relative_to(package).with_suffix("").as_posix() for p in package.rglob("*.py")}
    assert not shipped & set(REFERENCE_MODULES), f"reference modules shipped: {shipped}"
    assert {"datasets", "data", "plot", "interactive/__init__"} <= shipped

    names = answer_names()
    assert {"sigmoid", "softmax", "standardize", "Sequential", "Dense"} <= set(names)
    for path in sorted((bundle / "src").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bare = node.name.lstrip("_")
                assert bare not in names, (
                    f"{path.relative_to(bundle)}:{node.lineno} defines {node.name!r}, the "
                    f"answer to {names[bare]}")
            # A reference module may only be imported where its absence is handled.
            modules = []
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            hits = [m for m in modules if m.split(".")[-1] in REFERENCE_MODULES]
            where = path.relative_to(bundle).as_posix()
            assert not hits or where == "src/scratchnn/interactive/_common.py", (
                f"{where}:{node.lineno} imports {hits}")
    common = (package / "interactive" / "_common.py").read_text()
    assert re.search(r"try:\n\s+from \.\. import functional\n\s+except ImportError:", common)


def test_builder_refuses_support_code_that_needs_an_answer(tmp_path):
    """tools/bundle.py cuts an answer out of a support module, and stops (instead of shipping
    it) when the support code still uses the answer or imports a reference module."""
    key = {"standardize": "exercise ex10 of 01_neuron", "sigmoid": "scratchnn.functional"}
    source = textwrap.dedent('''\
        __all__ = ["one_hot", "standardize"]


        def one_hot(y):
            return y


        # standardize
        def standardize(x):
            return x
        ''')
    out, cut = bundle_tool.strip_answers(source, key, "data.py")
    assert cut == ["standardize"] and "def standardize" not in out
    assert '__all__ = ["one_hot"]' in out and "def one_hot" in out
    with pytest.raises(bundle_tool.BundleError, match="still uses"):
        bundle_tool.strip_answers(source + "\n\ndef scale(x):\n    return standardize(x)\n",
                                  key, "data.py")
    with pytest.raises(bundle_tool.BundleError, match="inside another definition"):
        bundle_tool.strip_answers("def plot(z):\n    def sigmoid(v):\n        return v\n", key,
                                  "plot.py")

    library = tmp_path / "scratchnn"
    shutil.copytree(ROOT / "source" / "scratchnn", library,
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert "interactive" in bundle_tool.support_modules(library)
    plot = library / "plot.py"
    plot.write_text(plot.read_text().replace("from . import metrics as _metrics",
                                             "from . import activations as _acts\n"
                                             "from . import metrics as _metrics"))
    with pytest.raises(bundle_tool.BundleError, match=r"plot.py: line \d+ imports "
                                                      r"scratchnn.activations"):
        bundle_tool.support_modules(library)


def test_widgets_and_package_without_the_reference(bundle, tmp_path):
    """In the bundle, a widget runs the student's functions; leaving them out fails clearly."""
    code = textwrap.dedent("""
        import importlib.util, sys
        import numpy as np
        import scratchnn
        from scratchnn.interactive import (MissingReferenceError, neuron_playground,
                                           optimizer_race, race_trajectories)
        assert scratchnn.__file__.startswith(sys.argv[1]), scratchnn.__file__
        assert importlib.util.find_spec("scratchnn.functional") is None
        try:
            neuron_playground()
        except MissingReferenceError as exc:
            assert "pass your own activation functions" in str(exc), exc
        else:
            raise AssertionError("neuron_playground() without activations did not fail")
        box = neuron_playground({"step": lambda z: (z > 0).astype(float)})
        assert box.png.startswith(b"\\x89PNG") and box.error is None
        try:
            race_trajectories("saddle", ["sgd", "adam"], steps=3, rules={"sgd": None})
        except TypeError as exc:
            assert "no update rule for 'adam'" in str(exc) and "rules=" in str(exc), exc
        else:
            raise AssertionError("race_trajectories without a rule for adam did not fail")
        sgd = lambda p, g, lr: p - lr * g  # noqa: E731
        paths = race_trajectories("saddle", ["sgd"], steps=3, rules={"sgd": sgd})
        assert paths["sgd"].shape == (4, 2)
        box = optimizer_race("saddle", ["sgd", "adam"], rules={"sgd": sgd}, resolution=20)
        assert "adam" in box.error and "sgd" in box.race and box.png
        for name in ("functional", "Sequential", "layers"):
            try:
                getattr(scratchnn, name)
            except AttributeError as exc:
                assert "not part of the course edition" in str(exc), exc
            else:
                raise AssertionError(f"scratchnn.{name} exists in the bundle")
        assert not any(m.startswith("scratchnn.functional") for m in sys.modules)
        print("ok")
    """)
    env = {**os.environ, "PYTHONPATH": str(bundle / "src"), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", code, str(bundle / "src")], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().splitlines()[-1:] == ["ok"], (
        result.stdout[-2000:] + result.stderr[-3000:])


def test_launcher_finds_the_first_notebook_and_fills_language_info(bundle, tmp_path):
    """`scratchnn-lab`'s preparations, without starting JupyterLab: the course folder, the
    first notebook, and a ``language_info`` equal to the kernel's (JupyterLab marks a notebook
    modified on opening when they differ), written without touching anything else."""
    from ipykernel.ipkernel import IPythonKernel

    installed = tmp_path / "site-packages" / "scratchnn_lab"   # as a non-editable install
    shutil.copytree(bundle / "src" / "scratchnn_lab", installed)
    spec = importlib.util.spec_from_file_location("bundle_scratchnn_lab",
                                                  installed / "__init__.py")
    lab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lab)
    assert lab.language_info() == IPythonKernel.language_info
    assert "version" not in lab.language_info(include_version=False)

    course = tmp_path / "course"
    shutil.copytree(bundle, course)
    assert lab.find_course(course / "assignments" / "01_neuron") == course.resolve()
    assert lab.first_notebook(course).as_posix() == "assignments/01_neuron/neuron.ipynb"
    with pytest.raises(SystemExit, match="no course folder"):
        lab.find_course(tmp_path / "elsewhere")

    before = {p: json.loads(p.read_text()) for p in (course / "assignments").rglob("*.ipynb")}
    changed = lab.fill_language_info(course / "assignments")
    assert sorted(changed) == sorted(p for p, nb in before.items()
                                     if nb["metadata"].get("language_info")
                                     != IPythonKernel.language_info)
    for path, old in before.items():
        new = json.loads(path.read_text())
        assert new["metadata"]["language_info"] == IPythonKernel.language_info
        new["metadata"].pop("language_info")
        old["metadata"].pop("language_info", None)
        assert new == old, f"{path.name}: more than language_info changed"
    assert lab.fill_language_info(course / "assignments") == [], "a second run rewrote files"


# ------------------------------------------------------------------------------------------
# Behaviour: does any function of the bundle pass an exercise's tests?
# ------------------------------------------------------------------------------------------
def test_no_function_in_the_bundle_solves_an_exercise(bundle, tmp_path):
    """Each master runs (solutions and hidden tests) with the bundle's course code; then, for
    every graded test cell, each function the cell tests is replaced in turn by every function
    and class of the bundle that accepts its arguments, and the cell is run again. None may
    pass. As a control, the same is done with the functions of scratchnn.functional (the
    reference, not in the bundle), which must be caught.

    Each master is probed in a process of its own (its own home and data folder), two at a
    time; their reports are added up."""
    from concurrent.futures import ThreadPoolExecutor

    def probe_one(index: int, master: Path):
        work = tmp_path / f"probe-{index}"
        work.mkdir()
        report = work / "probe.json"
        env = {**os.environ, "PYTHONPATH": str(bundle / "src"), "MPLBACKEND": "Agg",
               "HOME": str(work), "SCRATCHNN_DATA": str(work / "data")}
        command = [sys.executable, __file__, "probe", str(bundle / "src"), str(report),
                   str(master)]
        result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                                timeout=600)
        return master, result, report

    # The probe's work grows with a master's test cells: the longest first, so that the two
    # processes finish close together.
    paths = sorted(masters(), key=lambda m: -sum(
        1 for c in cells(m) if grading(c).get("grade") and not grading(c).get("solution")))
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(probe_one, range(len(paths)), paths))
    found = {"baseline_failures": [], "solvers": [], "control": [], "probes": 0}
    for master, result, report in runs:
        assert result.returncode == 0, f"the probe of {master.name} failed:\n" \
                                       f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        part = json.loads(report.read_text())
        for key in found:
            found[key] += part[key]
    assert not found["baseline_failures"], (
        f"the masters' own solutions fail their tests here: {found['baseline_failures']}")
    assert found["probes"] > 100, f"only {found['probes']} probes ran: is the probe broken?"
    control = {hit["candidate"].rsplit(".", 1)[-1] for hit in found["control"]}
    assert {"sigmoid", "relu", "tanh", "softmax"} <= control, (
        f"the control (scratchnn.functional in place of the exercises) was not caught: the "
        f"probe cannot see a solver. Caught: {sorted(control)}")
    assert not found["solvers"], (
        "functions of the bundle pass exercises' tests:\n" + "\n".join(
            f"  {hit['candidate']} passes the tests of {hit['exercise']} ({hit['cell']})"
            for hit in found["solvers"]))


def _block_network() -> None:
    """Refuse every connection that leaves this machine (for the probe's process)."""
    import socket

    def allowed(address) -> bool:
        host = address[0] if isinstance(address, tuple) else None
        return host is None or host in ("127.0.0.1", "::1", "localhost")

    original, original_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self, address):
        if not allowed(address):
            raise ConnectionRefusedError(f"network closed in this test: {address}")
        return original(self, address)

    def connect_ex(self, address):
        if not allowed(address):
            return 111
        return original_ex(self, address)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex


def _required_positional(obj) -> int | None:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return sum(1 for p in signature.parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


def _accepts(obj, count: int) -> bool:
    try:
        inspect.signature(obj).bind(*([None] * count))
    except TypeError:
        return False
    except ValueError:   # no signature (some C functions): try it anyway
        return True
    return True


def _candidates(modules) -> dict[str, object]:
    """``{qualified name: function or class}`` defined in ``modules`` (static and class
    methods too)."""
    found = {}
    for module in modules:
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found[f"{module.__name__}.{name}"] = obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if isinstance(member, (staticmethod, classmethod)):
                        found[f"{module.__name__}.{name}.{attr}"] = getattr(obj, attr)
    return found


def probe(bundle_src: str, report: str, master_paths: list[str]) -> None:
    """The probe of :func:`test_no_function_in_the_bundle_solves_an_exercise`, run in a process
    of its own (``python tests/test_student_bundle.py probe ...``)."""
    import contextlib
    import io
    import pkgutil
    import signal

    _block_network()
    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell

    import scratchnn

    assert scratchnn.__file__.startswith(bundle_src), scratchnn.__file__
    modules = [importlib.import_module(info.name)
               for info in pkgutil.walk_packages(scratchnn.__path__, "scratchnn.")]
    bundle_candidates = _candidates([scratchnn, *modules])
    spec = importlib.util.spec_from_file_location(
        "reference_functional", ROOT / "source" / "scratchnn" / "functional.py")
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    control_candidates = {f"scratchnn.functional.{n}": getattr(reference, n)
                          for n in reference.__all__}

    def alarm(signum, frame):
        raise TimeoutError("probe took too long")

    signal.signal(signal.SIGALRM, alarm)
    sink = io.StringIO()

    def run(code, namespace) -> bool:
        sink.seek(0)
        sink.truncate()
        signal.setitimer(signal.ITIMER_REAL, 10.0)
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
                    __import__("warnings").catch_warnings():
                __import__("warnings").simplefilter("ignore")
                exec(code, namespace)
            return True
        except BaseException:  # noqa: BLE001 - any failure means "does not solve"
            return False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    found = {"baseline_failures": [], "solvers": [], "control": [], "probes": 0}
    for master in map(Path, master_paths):
        shell = InteractiveShell.instance()
        shell.reset(new_session=True)
        pending: list[str] = []      # names defined by solution cells since the last test cell
        plan = []                    # (grade_id, names, snapshot, compiled test cell)
        for cell in cells(master):
            if cell["cell_type"] != "code":
                continue
            source = text(cell)
            info = grading(cell)
            if info.get("solution"):
                pending += [n.name for n in ast.parse(python_of(source)).body
                            if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            if info.get("grade") and not info.get("solution") and pending:
                plan.append((info["grade_id"], pending, dict(shell.user_ns),
                             compile(python_of(source), info["grade_id"], "exec")))
                pending = []
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                result = shell.run_cell(source, store_history=True)
            if info.get("grade") and not result.success:
                found["baseline_failures"].append(f"{master.parent.name}:{info['grade_id']}")
        for grade_id, names, snapshot, code in plan:
            for name in names:
                arity = _required_positional(snapshot.get(name))
                for kind, pool in (("solvers", bundle_candidates),
                                   ("control", control_candidates)):
                    for qualified, candidate in pool.items():
                        if arity is not None and not _accepts(candidate, arity):
                            continue
                        namespace = dict(snapshot)
                        namespace[name] = candidate
                        found["probes"] += 1
                        if run(code, namespace):
                            found[kind].append({"candidate": qualified, "exercise": name,
                                                "cell": f"{master.parent.name}:{grade_id}"})
    Path(report).write_text(json.dumps(found, indent=1))


# ------------------------------------------------------------------------------------------
# The bundle alone is enough: a fresh environment runs every notebook
# ------------------------------------------------------------------------------------------
_NETWORK_GUARD = '''\
"""Loaded at start-up of every Python of this test (PYTHONPATH): connections that leave the
machine are refused, so the notebooks run with no network but the loopback."""
import socket

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _local(address):
    host = address[0] if isinstance(address, tuple) else None
    return host is None or host in ("127.0.0.1", "::1", "localhost")


def _guarded_connect(self, address):
    if not _local(address):
        raise ConnectionRefusedError(f"network closed in this test: {address}")
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    return _connect_ex(self, address) if _local(address) else 111


socket.socket.connect, socket.socket.connect_ex = _guarded_connect, _guarded_connect_ex
'''

_EXECUTE = '''\
"""Run one notebook top to bottom with nbclient, in this (the student's) environment."""
import json, sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

source, target, folder = sys.argv[1:4]
nb = nbformat.read(source, as_version=4)
client = NotebookClient(nb, timeout=120, kernel_name="python3",
                        resources={"metadata": {"path": folder}})
failure = None
with client.setup_kernel():
    for index, cell in enumerate(nb.cells):
        try:
            client.execute_cell(cell, index)
        except CellExecutionError as exc:
            failure = {"cell": index, "error": str(exc)[-3000:]}
            break
nbformat.write(nb, target)
print(json.dumps(failure))
'''

_CHECK_CELL = '''\
import importlib.util as _u, json as _j, sys as _s
import scratchnn as _snn
print("BUNDLE-CHECK " + _j.dumps({"python": _s.executable, "scratchnn": _snn.__file__,
      "functional": _u.find_spec("scratchnn.functional") is not None}))
'''


def test_a_fresh_environment_from_the_bundle_runs_every_release_notebook(bundle, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    course = tmp_path / "course"
    shutil.copytree(bundle, course)
    python = bundle_tool.create_student_env(course, tmp_path / "venv", compile_bytecode=False)
    venv_bin = python.parent
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(_NETWORK_GUARD)
    (tmp_path / "execute.py").write_text(_EXECUTE)
    env = {**bundle_tool.student_environment(venv_bin, tmp_path),
           "PYTHONPATH": str(guard),   # the network guard only; no course code
           "MPLBACKEND": "Agg"}
    notebooks = sorted((course / "assignments").glob("*/*.ipynb"))
    assert notebooks

    def execute(notebook: Path):
        master = MASTERS / notebook.parent.name / notebook.name
        nb = solved(notebook, master)
        nb["cells"].append({"cell_type": "code", "execution_count": None, "metadata": {},
                            "outputs": [], "source": _CHECK_CELL})
        work = notebook.with_name(f"solved-{notebook.name}")
        work.write_text(json.dumps(nb))
        result = subprocess.run([str(python), str(tmp_path / "execute.py"), str(work),
                                 str(work), str(notebook.parent)], env=env, cwd=notebook.parent,
                                capture_output=True, text=True, timeout=600)
        return work, result

    # Two notebooks at a time, a kernel each (the work is in the kernels; two cores).
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(execute, notebooks))
    for notebook, (work, result) in zip(notebooks, runs, strict=True):
        assert result.returncode == 0, f"{notebook.name}: {result.stderr[-3000:]}"
        failure = json.loads(result.stdout.strip().splitlines()[-1])
        assert failure is None, (f"{notebook.parent.name}/{notebook.name} with the master's "
                                 f"solutions fails in cell {failure['cell']}:\n"
                                 f"{failure['error']}")
        outputs = "".join(text({"source": o.get("text", "")})
                          for o in cells(work)[-1]["outputs"])
        check = json.loads(outputs.split("BUNDLE-CHECK ", 1)[1])
        assert Path(check["python"]).parent == venv_bin, f"the kernel ran {check['python']}"
        assert Path(check["scratchnn"]).resolve().is_relative_to(course.resolve() / "src"), (
            f"scratchnn came from {check['scratchnn']}, not from the bundle")
        assert check["functional"] is False, "scratchnn.functional is importable in the bundle"


if __name__ == "__main__" and sys.argv[1:2] == ["probe"]:
    probe(sys.argv[2], sys.argv[3], sys.argv[4:])


def test_validate_starts_with_one_line_per_failing_exercise(tmp_path):
    """The bundle's Validate (scratchnn_lab.validate, enabled in its jupyter-config) puts one
    line per failing exercise first, with the message that names the mistake; nbgrader's own
    report follows unchanged."""
    import nbformat

    config = json.loads((ROOT / "tools" / "student" / "jupyter-config" /
                         "jupyter_server_config.d" / "scratchnn-student.json").read_text())
    assert config["ServerApp"]["jpserver_extensions"].get("scratchnn_lab.validate") is True
    spec = importlib.util.spec_from_file_location(
        "scratchnn_lab_validate", ROOT / "tools" / "student" / "scratchnn_lab" / "validate.py")
    validate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(validate)

    nb = nbformat.read(RELEASE / "01_neuron" / "neuron.ipynb", as_version=4)
    master = nbformat.read(MASTERS / "01_neuron" / "neuron.ipynb", as_version=4)
    answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in master.cells}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "ex1-neuron-forward":      # a typical mistake: the bias forgotten
            cell.source = "def neuron_forward(x, w, b):\n    return np.dot(w, x)\n"
        elif grade_id == "ex2-layer-forward":     # solved
            cell.source = "\n".join(line for line in answers[grade_id].splitlines()
                                    if "### " not in line)
    path = tmp_path / "neuron.ipynb"
    nbformat.write(nb, path)
    results = validate.SummaryValidator().validate(str(path))
    failed = results["failed"]
    summary = failed[0]["source"].splitlines()
    assert summary[0].startswith("11 exercises fail"), summary[0]
    assert summary[1].startswith("Exercise 1 (ex1-neuron-forward): AssertionError:")
    assert "without the bias" in summary[1]
    assert not any(line.startswith("Exercise 2 ") for line in summary)
    assert summary[2] == "Exercise 3 (ex3-sigmoid): not done yet (NotImplementedError)"
    assert len(summary) == 12 and len(failed) == 12   # the summary, then nbgrader's 11 entries
    assert validate.summary_line("ex4b-relu6-tests", "x\n\x1b[31mValueError\x1b[0m: bad") == (
        "Exercise 4b (ex4b-relu6): ValueError: bad")
