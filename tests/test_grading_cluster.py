"""Grading on Dask distributed (``--cluster``): the same outputs as a local run, and faults.

Real runs of ``python -m autograder grade`` on 01_neuron submissions:

- three students (a full solution, one exercise wrong, an untouched release) graded with
  ``--jobs 2`` locally, then with ``--cluster local:2`` (a Dask LocalCluster of 2 worker
  processes) during which the test kills, with SIGKILL, the worker process grading ``alice``
  once her kernel runs: the outputs must be those of the local run, and nothing of the dead
  worker may remain;
- a scheduler and a worker started as separate ``dask`` processes, as docs/grading.md tells
  instructors, with a scheduler allowed no failure: the worker grading ``mallory`` is killed
  (she gets a ``worker-lost`` row scoring 0 and a feedback page saying so), ``looper``'s
  infinite loop times out and is graded again on the cluster, ``eve`` gets full marks;
- a worker running other grading code is refused before anything is graded;
- the grader itself killed with SIGKILL (locally) leaves no process, folder, mount or kernel
  connection file behind: its grading processes watch their parent.

Fast checks without kernels cover the option, the course pack, the environment check, an
unreachable scheduler and a temporary folder too long for the kernels' sockets.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from autograder_corpus import NEURON, Course, read_json, run_grader, set_cell

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.cluster import (  # noqa: E402
    CoursePack,
    environment_differences,
    environment_fingerprint,
    parse_cluster,
)
from autograder.course import Course as GradedCourse  # noqa: E402
from autograder.report import without_timings  # noqa: E402
from autograder.sandbox import mounts_below  # noqa: E402

pytest.importorskip("distributed")

OPTIONS = ("--assignment", NEURON, "--timeout", "30")
SAME_BYTES = ("grades.csv", "problems.csv", "problems.json", "results.json")


def _write_class(folder: Path, students: dict[str, str]) -> None:
    """students: name -> "full" | "wrong" | "untouched" | "loop"."""
    course = Course(NEURON, "neuron.ipynb")
    solution, _ = course.exercise("neuron_forward")
    folder.mkdir(parents=True)
    for name, kind in students.items():
        nb = course.release if kind == "untouched" else course.solved()
        if kind == "wrong":
            set_cell(nb, solution, "def neuron_forward(x, w, b):\n    return np.dot(w, x)\n")
        if kind == "loop":  # runs until the per-cell limit interrupts it
            set_cell(nb, solution, "while True:\n    pass\n")
        (folder / f"{name}_{NEURON}.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# Finding and killing the Dask worker process that grades one student
# ----------------------------------------------------------------------------------------------

def _pids() -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


class WorkerKiller(threading.Thread):
    """Kills (SIGKILL) the Dask worker process grading ``student``, ``times`` times, each
    time once the student's kernel has started. Graders make their folders under ``tmp``."""

    def __init__(self, tmp: Path, student: str, times: int = 1, deadline: float = 600) -> None:
        super().__init__(daemon=True)
        self.tmp, self.student, self.times, self.deadline = tmp, student, times, deadline
        self.killed: list[tuple[int, Path, int | None]] = []  # (worker pid, grader dir, uid)
        self.error = ""
        self.stop = threading.Event()

    def _job(self, seen: set[Path]):
        for submitted in self.tmp.glob(f"autograder-*/w-*/course/submitted/{self.student}"):
            w = submitted.parents[2]
            if w in seen or not (w / "kernel.pids").is_file():
                continue
            for pid in _pids():
                cmd = _cmdline(pid)
                if b"autograder.worker" not in cmd or b"--serve" not in cmd:
                    continue
                try:  # a job's process works in its submission's course folder
                    if Path(os.readlink(f"/proc/{pid}/cwd")) == w / "course":
                        return w, _ppid(pid)
                except OSError:
                    continue
        return None

    def run(self) -> None:
        seen: set[Path] = set()
        end = time.monotonic() + self.deadline
        while len(self.killed) < self.times and time.monotonic() < end and not self.stop.is_set():
            found = self._job(seen)
            if found is None:
                time.sleep(0.1)
                continue
            w, worker = found
            seen.add(w)
            try:
                uid = json.loads((w / "spec.json").read_text()).get("uid")
            except (OSError, ValueError):
                uid = None
            os.kill(worker, signal.SIGKILL)
            self.killed.append((worker, w.parent, uid))
        if len(self.killed) < self.times:
            self.error = f"killed {len(self.killed)} of {self.times} workers of {self.student}"


def _short_tmp() -> Path:
    """A temporary folder with a short path: a kernel's socket path must fit in 107 bytes."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="agc-", dir="/tmp"))


def _cluster_run(tmp: Path, submissions: Path, out: Path, student: str, times: int,
                 env: dict | None = None):
    killer = WorkerKiller(tmp, student, times)
    killer.start()
    proc = run_grader(submissions, out, "--cluster", "local:2", *OPTIONS,
                      env={"TMPDIR": str(tmp), **(env or {})})
    killer.stop.set()
    killer.join(10)
    return proc, killer


def _leftovers(killer: WorkerKiller, wait: float = 60) -> list[str]:
    """What outlived the killed workers' grading (folders, processes), after ``wait`` s."""
    end = time.monotonic() + wait
    while True:
        found = []
        for _, folder, uid in killer.killed:
            if folder.exists():
                found.append(f"folder {folder}")
            for pid in _pids():
                try:
                    owner = os.stat(f"/proc/{pid}").st_uid
                except OSError:
                    continue
                if str(folder).encode() in _cmdline(pid) or (uid is not None and owner == uid):
                    found.append(f"process {pid}: {_cmdline(pid)[:120]!r}")
        if not found or time.monotonic() > end:
            return found
        time.sleep(0.5)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cluster")
    submissions = base / "submissions"
    _write_class(submissions, {"alice": "full", "carol": "wrong", "dave": "untouched"})
    local = run_grader(submissions, base / "local", "--jobs", "2", *OPTIONS)
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    tmp = _short_tmp()
    proc, killer = _cluster_run(tmp, submissions, base / "cluster", "alice", 1)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    yield {"tmp": tmp, "local": base / "local", "cluster": base / "cluster",
           "proc": proc, "killer": killer}
    shutil.rmtree(tmp, ignore_errors=True)


def test_a_worker_was_killed_while_grading(runs):
    killer = runs["killer"]
    assert not killer.error and len(killer.killed) == 1, killer.error
    assert "Dask cluster local:2: 2 worker(s)" in runs["proc"].stdout


def test_cluster_outputs_are_the_bytes_of_a_local_run(runs):
    local, cluster = runs["local"], runs["cluster"]
    for name in SAME_BYTES:
        assert (cluster / name).read_bytes() == (local / name).read_bytes(), name
    report = [without_timings((d / "report.html").read_text(encoding="utf-8"))
              for d in (local, cluster)]
    assert report[0] == report[1]
    pages = sorted(p.relative_to(local) for p in (local / "feedback").rglob("*.html"))
    assert len(pages) == 3
    assert pages == sorted(p.relative_to(cluster) for p in (cluster / "feedback").rglob("*"
                                                                                      ".html"))
    for page in pages:
        assert (cluster / page).read_bytes() == (local / page).read_bytes(), page


WIDGET = "application/vnd.jupyter.widget-view+json"


def _without_clock_and_widget_ids(path: Path) -> dict:
    """The notebook without what differs between any two runs: the kernel's execution times
    and the random ids of widget models (their saved state goes with them)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        for output in cell.get("outputs", []):
            if WIDGET in output.get("data", {}):
                output["data"][WIDGET].pop("model_id", None)
    return nb


def test_autograded_notebooks_differ_only_in_execution_times_and_widget_ids(runs):
    local, cluster = runs["local"], runs["cluster"]
    notebooks = sorted(p.relative_to(local) for p in (local / "autograded").rglob("*.ipynb"))
    assert len(notebooks) == 3
    for nb in notebooks:
        assert _without_clock_and_widget_ids(cluster / nb) == \
            _without_clock_and_widget_ids(local / nb), nb


# From a graded row (alias x) to its student, assignment and notebook names.
_OWNER = """
    JOIN submitted_notebook sn ON x.notebook_id = sn.id
    JOIN notebook n ON sn.notebook_id = n.id
    JOIN submitted_assignment sa ON sn.assignment_id = sa.id
    JOIN assignment a ON sa.assignment_id = a.id
    JOIN student st ON sa.student_id = st.id
    JOIN base_cell c ON x.cell_id = c.id"""


def _grade_rows(db: Path) -> list[tuple]:
    """Every grade and comment of the gradebook by names (nbgrader's row ids are random)."""
    with sqlite3.connect(db) as con:
        return con.execute(
            "SELECT st.id, a.name, n.name, c.name, x.auto_score, x.manual_score, gc.max_score, "
            "NULL FROM grade x JOIN grade_cells gc ON x.cell_id = gc.id" + _OWNER +
            " UNION ALL SELECT st.id, a.name, n.name, c.name, NULL, NULL, NULL, "
            "x.manual_comment FROM comment x" + _OWNER + " ORDER BY 1, 2, 3, 4, 8").fetchall()


def test_gradebooks_hold_the_same_grades(runs):
    rows = _grade_rows(runs["local"] / "gradebook.db")
    assert rows == _grade_rows(runs["cluster"] / "gradebook.db")
    alice = [r for r in rows if r[0] == "alice" and r[4] is not None]
    assert alice and all(r[4] == r[6] for r in alice)  # the killed one got full marks


def test_the_killed_task_was_graded_once_and_counted_once(runs):
    results = read_json(runs["cluster"] / "results.json")
    assert sorted((r["student_id"], r["assignment"]) for r in results) == [
        (s, NEURON) for s in ("alice", "carol", "dave")]
    assert "alice" in runs["proc"].stdout
    lines = [line for line in runs["proc"].stdout.splitlines()
             if line.startswith("[") and " alice " in line]
    assert len(lines) == 1, lines  # one progress line: no second result for the retried task


def test_nothing_of_the_killed_worker_outlives_it(runs):
    assert _leftovers(runs["killer"]) == []
    assert not list(runs["tmp"].glob("autograder-*")), list(runs["tmp"].iterdir())


# ----------------------------------------------------------------------------------------------
# Without kernels
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["local:1", "local:16", "tcp://10.0.0.5:8786",
                                   "tls://scheduler.example:8786"])
def test_cluster_option_accepts_local_and_addresses(value):
    assert parse_cluster(f" {value} ") == value


@pytest.mark.parametrize("value", ["local:0", "local", "local:x", "10.0.0.5:8786", ""])
def test_cluster_option_refuses_other_values(value):
    with pytest.raises(ValueError, match="local:N"):
        parse_cluster(value)


def test_bad_cluster_option_is_a_usage_error(tmp_path):
    proc = run_grader(tmp_path, tmp_path / "out", "--cluster", "local:0")
    assert proc.returncode == 2 and "expected local:N" in proc.stderr, proc.stderr


def test_unreachable_scheduler_is_an_error_not_a_hang(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    submissions = tmp_path / "submissions"
    _write_class(submissions, {"eve": "untouched"})
    proc = run_grader(submissions, tmp_path / "out", "--cluster", f"tcp://127.0.0.1:{port}",
                      *OPTIONS, env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"},
                      timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"cannot use the Dask cluster tcp://127.0.0.1:{port}" in proc.stderr


def test_course_pack_is_deterministic_and_unpacks_to_the_same_course(tmp_path):
    course = GradedCourse.load(ROOT, [NEURON])
    pack = CoursePack.of(course)
    assert CoursePack.of(course).data == pack.data
    copy = pack.unpack(tmp_path / "course")
    assert copy.assignments == [NEURON] and copy.course_id == course.course_id
    assert [(m.name, m.cells) for m in copy.masters[NEURON]] == \
        [(m.name, m.cells) for m in course.masters[NEURON]]
    assert not (tmp_path / "course" / "release").exists()  # masters and config only
    assert (tmp_path / "course").stat().st_mode & 0o077 == 0


def test_environment_check_names_the_worker_and_the_difference():
    here = environment_fingerprint()
    assert here["code"] and here["nbgrader"] != "missing"
    other = {**here, "nbgrader": "0.0.1"}
    lines = environment_differences(here, {"tcp://a:1": dict(here), "tcp://b:2": other,
                                           "tcp://c:3": "ModuleNotFoundError('autograder')"})
    assert lines == [f"tcp://b:2: nbgrader {here['nbgrader']} here, 0.0.1 there",
                     "tcp://c:3: ModuleNotFoundError('autograder')"]


# ----------------------------------------------------------------------------------------------
# Separate `dask scheduler` and `dask worker` processes, started as docs/grading.md says
# ----------------------------------------------------------------------------------------------

class Cluster:
    """A scheduler and one worker process (``pythonpath``: where the worker imports the
    autograder from; ``config``: more environment variables, e.g. Dask settings), each
    started as docs/grading.md says; :meth:`close` stops them."""

    def __init__(self, folder: Path, pythonpath: Path, **config: str) -> None:
        import subprocess

        self.folder, self.procs = folder, []
        folder.mkdir(parents=True, exist_ok=True)
        bindir = Path(sys.executable).parent
        self.tmp = _short_tmp()
        env = {**os.environ, "PYTHONPATH": str(pythonpath), "TMPDIR": str(self.tmp),
               "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0", **config}
        env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
        state = folder / "scheduler.json"
        for args in (["scheduler", "--port", "0", "--dashboard-address", ":0",
                      "--scheduler-file", str(state)],
                     ["worker", "--scheduler-file", str(state), "--nthreads", "1",
                      "--memory-limit", "0", "--no-dashboard"]):
            self.procs.append(subprocess.Popen(
                [str(bindir / "dask"), *args], cwd=ROOT, env=env, start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=open(folder / f"{args[0]}.log", "w")))
            deadline = time.monotonic() + 120
            while not state.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
        self.address = json.loads(state.read_text())["address"]

    def close(self) -> None:
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)
            except Exception:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _grade_on_cluster(tmp_path: Path, pythonpath: Path, students: dict[str, str],
                      *options: str, kill: str = "", **config: str):
    """Grade ``students`` on a scheduler and a worker started as separate processes
    (``kill``: a student whose worker is killed once her kernel runs); returns (the grader's
    completed process, the scheduler's address, the killer or None)."""
    submissions = tmp_path / "submissions"
    _write_class(submissions, students)
    cluster = Cluster(tmp_path / "cluster", pythonpath, **config)
    killer = WorkerKiller(cluster.tmp, kill) if kill else None
    try:
        if killer:
            killer.start()
        proc = run_grader(submissions, tmp_path / "out", "--cluster", cluster.address,
                          *(options or OPTIONS))
    finally:
        if killer:
            killer.stop.set()
            killer.join(10)
        cluster.close()
    return proc, cluster.address, killer


def test_separate_scheduler_and_worker_a_lost_worker_and_a_confirmed_timeout(tmp_path):
    # The scheduler may lose no worker on a task: the first death ends mallory's grading.
    proc, address, killer = _grade_on_cluster(
        tmp_path, ROOT, {"eve": "full", "mallory": "full", "looper": "loop"},
        "--assignment", NEURON, "--timeout", "10", "--confirm-timeouts", "2", kill="mallory",
        DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    out = tmp_path / "out"
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"Dask cluster {address}: 1 worker(s), 1 thread(s)" in proc.stdout
    assert not killer.error, killer.error
    score = {r["student_id"]: r["score"] for r in read_json(out / "results.json")}
    # looper loses exactly exercise 1's point (its cell was interrupted, the rest ran)
    assert score == {"eve": 24, "mallory": 0, "looper": 23}, score
    problems = read_json(out / "problems.json")
    lost = [p for p in problems if p["kind"] == "worker-lost"]
    assert [p["student_id"] for p in lost] == ["mallory"] and "died" in lost[0]["detail"]
    page = (out / "feedback" / "mallory" / NEURON / "neuron.html").read_text()
    assert "grading machine that ran your notebook stopped" in page
    # the batch's timeout was graded again on the cluster, alone, with 2 x 10 s per cell
    rerun = [p for p in problems if p["kind"] == "timeout-rerun"]
    assert [p["student_id"] for p in rerun] == ["looper"], problems
    assert "with 20 s per cell: it timed out again" in rerun[0]["detail"]
    assert (out / "feedback" / "eve" / NEURON / "neuron.html").is_file()
    assert _leftovers(killer) == []


def test_a_worker_with_other_grading_code_is_refused(tmp_path):
    other = tmp_path / "other"
    for top in ("autograder", "source/scratchnn", "source/coursekit"):
        shutil.copytree(ROOT / top, other / top, ignore=shutil.ignore_patterns("__pycache__"))
    with open(other / "autograder" / "runner.py", "a", encoding="utf-8") as handle:
        handle.write("\n# a worker on another commit\n")
    proc, _, _ = _grade_on_cluster(tmp_path, other, {"eve": "full"})
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "grading environment differs" in proc.stderr
    assert "code " in proc.stderr and " here, " in proc.stderr, proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_a_temporary_folder_too_long_for_kernel_sockets_is_named(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    submissions = tmp_path / "submissions"
    _write_class(submissions, {"eve": "untouched"})
    proc = run_grader(submissions, tmp_path / "out", *OPTIONS, env={"TMPDIR": str(deep)})
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "too long a path for the kernels' sockets" in proc.stderr
    assert "TMPDIR" in proc.stderr and not list(deep.iterdir())


def test_killing_the_grader_itself_leaves_no_process_folder_or_connection_file(tmp_path):
    import subprocess

    submissions = tmp_path / "submissions"
    _write_class(submissions, {"looper": "loop"})
    tmp = _short_tmp()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    grader = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(submissions),
                               "--out", str(tmp_path / "out"), *OPTIONS], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not list(tmp.glob("autograder-*/w-*/kernel.pids")):
            assert grader.poll() is None and time.monotonic() < deadline, "no kernel started"
            time.sleep(0.1)
        time.sleep(1)  # the kernel is running looper's loop
        assert list(tmp.glob("*.json")), "expected the kernel's connection file"
        folder = next(tmp.glob("autograder-*"))
        grader.kill()  # SIGKILL: no clean-up of its own
        grader.wait(30)
        killer = WorkerKiller(tmp, "looper")
        killer.killed.append((grader.pid, folder, None))
        assert _leftovers(killer) == []
        assert not mounts_below(str(tmp))
        deadline = time.monotonic() + 60
        while list(tmp.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert list(tmp.iterdir()) == []
    finally:
        if grader.poll() is None:
            grader.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def test_stream_outputs_merge_the_same_however_they_were_chunked():
    from autograder.nbexec import merge_streams
    from nbformat.v4 import new_output

    def stream(name, text):
        return new_output("stream", name=name, text=text)

    figure = new_output("display_data", data={"text/plain": "<Figure>"})
    one = merge_streams([stream("stdout", "a\nb\n"), figure, stream("stderr", "warn\n")])
    chunked = merge_streams([stream("stdout", "a\n"), figure, stream("stderr", "wa"),
                             stream("stdout", "b\n"), stream("stderr", "rn\n")])
    assert one == chunked == [stream("stdout", "a\nb\n"), figure, stream("stderr", "warn\n")]
    # stderr racing ahead of stdout is put back after it; nothing else moves
    assert merge_streams([stream("stderr", "e"), stream("stdout", "o")]) == [
        stream("stdout", "o"), stream("stderr", "e")]
    assert merge_streams([figure]) == [figure]
    # a cell that prints 30 MB in 30,000 pieces: one output with all of it
    many = merge_streams([stream("stdout", "x" * 1000) for _ in range(30_000)])
    assert len(many) == 1 and len(many[0]["text"]) == 30_000_000
