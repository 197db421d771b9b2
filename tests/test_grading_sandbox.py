"""The grading sandbox against hostile classmates (issue 15).

One class is graded once, with ``--jobs 1`` so that every submission runs in the same grading
slot, one after the other: attackers (a process that outlives its kernel and plants a broken
``numpy`` into later classmates' kernels; one that takes every thread the uid may have; one
that fills every writable place; one that snoops on the grader and classmates; one that copies
the solutions out of the grader's template course) interleaved with honest classmates, who
must score full marks. After the batch nothing of the attackers may be running or left on disk.

The isolation these tests check (a fresh uid and PID namespace per submission, private mounts)
needs root: CI runs as root; for another user the module is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from autograder_corpus import NEURON, read_json, run_grader, sandbox_cases, write_flat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.runner import RUNTIME_BYTES, RUNTIME_FILES, Settings  # noqa: E402

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0,
    reason="the grading sandbox's isolation (uids, namespaces, mounts) needs root on Linux; "
           "CI runs as root")

CASES = {c.student: c for c in sandbox_cases()}
ATTACKER_NAMES = ("sbx-lingerer", "sbx-exhauster")
PLACES = ("/tmp", "/var/tmp", "/dev/shm")
RUN_TIMEOUT = 1200  # seconds: a kill switch for a hung run, not an assertion


def _processes_named(names) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm in names:
            found.append(int(pid))
    return found


def _processes_of(uids: set[int]) -> list[tuple[int, int]]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                uid = os.stat(f"/proc/{pid}").st_uid
            except OSError:
                continue
            if uid in uids:
                found.append((int(pid), uid))
    return found


def _left_behind() -> list[str]:
    """Files named by the filler in the machine's shared writable places."""
    out = []
    for place in PLACES:
        try:
            out += [os.path.join(place, n) for n in os.listdir(place) if n.startswith("sbx-")]
        except OSError:
            pass
    return out


def _owned_by(uids: set[int], folder: str) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            try:
                if os.lstat(path).st_uid in uids:
                    out.append(path)
            except OSError:
                pass
    return out


def _output(run, student: str, marker: str) -> str:
    nb = nbformat.read(run["out"] / "autograded" / student / NEURON / "neuron.ipynb",
                       as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")
    line = next((x for x in text.splitlines() if x.startswith(marker)), None)
    assert line is not None, f"{student}: no {marker} line in its output"
    return line[len(marker):].strip()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The class graded once, in one slot; what was alive and on disk right after."""
    assert not _processes_named(ATTACKER_NAMES), "attackers of an earlier run still alive"
    assert not _left_behind(), f"files of an earlier run: {_left_behind()}"
    base = tmp_path_factory.mktemp("sandbox")
    write_flat(list(CASES.values()), base / "submissions")
    before = set(Path(tempfile.gettempdir()).glob("autograder-*"))
    start = time.perf_counter()
    proc = run_grader(base / "submissions", base / "out", "--jobs", "1", "--timeout", "20",
                      "--keep-work", timeout=RUN_TIMEOUT)
    seconds = time.perf_counter() - start
    time.sleep(1)  # a leftover would still be running now: give it time to show itself
    alive = _processes_named(ATTACKER_NAMES)
    left = _left_behind()
    print(f"\nsandbox class: {len(CASES)} students graded in {seconds:.1f} s (--jobs 1)")
    try:
        assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        results = {r["student_id"]: r for r in read_json(base / "out" / "results.json")
                   if r["assignment"] == "01_neuron"}  # one record per student and assignment
        uids = {}  # student -> the uids their kernels ran as (from the kept work folders)
        for work in set(Path(tempfile.gettempdir()).glob("autograder-*")) - before:
            specs = {w: read_json(w / "spec.json") for w in work.glob("w-*")
                     if (w / "spec.json").exists()}
            if not specs or any(s["student"] not in CASES for s in specs.values()):
                continue  # another grading run on this machine (e.g. a parallel test)
            for w, spec in specs.items():
                for applied in read_json(w / "sandbox.json")["applied"]:
                    if applied.startswith("uid="):
                        uids.setdefault(spec["student"], []).append(int(applied[4:]))
            shutil.rmtree(work)
        everyone = {u for us in uids.values() for u in us}
        yield {"out": base / "out", "proc": proc, "alive": alive, "left": left,
               "results": results, "uids": uids,
               "uid_processes": _processes_of(everyone), "owned": _owned_by(everyone, "/tmp") +
               _owned_by(everyone, "/var/tmp") + _owned_by(everyone, "/dev/shm"),
               "problems": read_json(base / "out" / "problems.json")}
    finally:  # never leave an attacker behind for the rest of the suite
        for pid in _processes_named(ATTACKER_NAMES):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for path in _left_behind():
            subprocess.run(["rm", "-rf", path], check=False)


def _score(run, student: str) -> float:
    return run["results"][student]["score"]


def _kinds(run, student: str) -> set[str]:
    return {p["kind"] for p in run["problems"] if p["student_id"] == student}


@pytest.mark.parametrize("student", sorted(CASES))
def test_every_student_scores_what_their_work_deserves(run, student):
    case = CASES[student]
    assert _score(run, student) == case.score[NEURON], (student, _kinds(run, student))
    assert not _kinds(run, student) & case.absent, (student, _kinds(run, student))


def test_no_attacker_process_outlives_the_batch(run):
    # both attackers did start their daemons
    assert _output(run, "s1-lingerer", "SBX-LINGERER") == "started"
    assert _output(run, "s3-exhauster", "SBX-EXHAUSTER") == "started"
    assert run["alive"] == [], "attacker processes still running after the batch"
    assert run["uid_processes"] == [], "processes of the kernels' uids still running"


def test_each_submission_has_its_own_uid(run):
    uids = run["uids"]
    assert set(uids) == set(CASES), uids
    assert all(len(set(u)) == 1 for u in uids.values()), uids  # restarts keep theirs
    assert len({u[0] for u in uids.values()}) == len(CASES), uids
    assert all(a == "uid=own" for r in run["results"].values()
               for a in r["sandbox"]["applied"] if a.startswith("uid=")), "uids in results"


def test_pid_namespace_and_private_proc(run):
    snoop = json.loads(_output(run, "s6-snooper", "SBX-SNOOP"))
    assert snoop["foreign"] == 0 and snoop["grader"] == 0, snoop
    assert snoop["processes"] <= 3, snoop  # the kernel and what it started, nothing else


def test_grader_state_and_classmates_files_are_unreadable(run):
    snoop = json.loads(_output(run, "s6-snooper", "SBX-SNOOP"))
    assert snoop["specs"] == 0 and snoop["kernel_specs"] == 0, snoop
    assert snoop["template"] == 0, snoop


def test_master_reader_finds_no_master(run):
    assert _output(run, "s7-master-reader", "SBX-READER") == "copied 0 solutions"
    assert _score(run, "s7-master-reader") == 0.0


def test_writable_places_are_bounded_private_and_removed(run):
    filled = json.loads(_output(run, "s5-filler", "SBX-FILL"))
    settings = Settings()
    home = next(k for k in filled if k not in ("/dev/shm", "/tmp", "/var/tmp", "runtime"))
    # The kernel's socket folder (shared with nbgrader, so not in its scratch) is bounded too.
    assert filled["runtime"]["bytes"] <= RUNTIME_BYTES, filled
    assert filled["runtime"]["files"] <= RUNTIME_FILES, filled
    assert all(filled[p]["bytes"] <= settings.scratch_bytes for p in ("/tmp", "/var/tmp", home)), \
        filled
    assert sum(filled[p]["files"] for p in ("/tmp", "/var/tmp", home)) <= \
        settings.scratch_files, filled
    assert filled["/dev/shm"]["bytes"] <= settings.shm_bytes, filled
    assert filled["/dev/shm"]["files"] <= settings.shm_files, filled
    # What stopped the filler was the bound (not a failure to write at all): it got up to it.
    assert filled["/tmp"]["bytes"] >= settings.scratch_bytes - 16 * 2**20, filled
    assert filled["/dev/shm"]["bytes"] >= settings.shm_bytes - 2 * 2**20, filled
    assert filled["/tmp"]["files"] >= settings.scratch_files - 100, filled
    assert run["left"] == [], "the filler's files are still on the machine"
    assert run["owned"] == [], "files owned by the kernels' uids are left in shared places"


def test_sandbox_applied_fully_for_every_student(run):
    for student, r in run["results"].items():
        status = r.get("sandbox") or {}
        assert not status.get("failed"), (student, status)
        for feature in ("pid namespace", "private /proc", "read-only root", "private temp"):
            assert any(a.startswith(feature) for a in status.get("applied", [])), \
                (student, feature, status)


# ----------------------------------------------------------------------------------------------
# The launcher alone (no nbgrader): fast checks of each guarantee
# ----------------------------------------------------------------------------------------------

LAUNCHER = ROOT / "autograder" / "sandbox.py"


def _launch(tmp_path, code: str, *options: str, timeout: int = 60):
    """Run ``python -c code`` through the launcher as a fresh uid, with small private places."""
    from autograder.runner import kernel_paths

    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    status = tmp_path / "status.json"
    args = ["--uid", str(2_900_000 + os.getpid() % 1000), "--no-net", "--memory", str(2**30),
            "--nproc", "64", "--scratch-bytes", str(8 * 2**20), "--scratch-files", "100",
            "--shm-bytes", str(2**20), "--shm-files", "10", "--home", str(home),
            "--status", str(status), *options]
    for path in kernel_paths():
        args += ["--expose", path]
    config = tmp_path / "args.json"
    config.write_text(json.dumps(args))
    os.chmod(tmp_path, 0o755)
    cmd = [sys.executable, "-I", str(LAUNCHER), "--config", str(config), "--",
           sys.executable, "-c", code]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
    return out, read_json(status) if status.exists() else {}


DAEMON = '''
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("/proc/self/comm", "w") as f:
            f.write("sbx-unit-daemon")
        time.sleep(60)
    os._exit(0)
time.sleep(0.5)
print("daemon started")
'''


def test_launcher_a_daemon_dies_with_its_kernel(tmp_path):
    out, status = _launch(tmp_path, DAEMON)
    assert "daemon started" in out.stdout, (out.stdout, out.stderr, status)
    time.sleep(0.5)
    assert _processes_named({"sbx-unit-daemon"}) == [], "the daemon outlived its kernel"


def test_launcher_relays_how_the_kernel_ended(tmp_path):
    out, _ = _launch(tmp_path, "import sys; sys.exit(3)")
    assert out.returncode == 3
    out, _ = _launch(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGXCPU)")
    assert out.returncode == -signal.SIGXCPU  # the grader tells a CPU-time kill by this


def test_launcher_private_places_are_bounded_and_gone(tmp_path):
    code = '''
import os
def fill(path):
    n = 0
    try:
        with open(path, "wb") as f:
            while n < 64 * 2**20:
                f.write(b"x" * 2**20); f.flush(); n += 2**20
    except OSError:
        pass
    return n
print("tmp", fill("/tmp/sbx-unit"), "shm", fill("/dev/shm/sbx-unit"))
made = 0
try:
    while made < 1000:
        open(os.path.expanduser(f"~/f{made}"), "w").close(); made += 1
except OSError:
    pass
print("files", made)
for place in ("/", "/usr", os.getcwd() + "/.."):
    try:
        open(os.path.join(place, "sbx-unit-root"), "w").close()
        print("wrote", place)
    except OSError:
        pass
print("procs", sorted(p for p in os.listdir("/proc") if p.isdigit()))
'''
    out, status = _launch(tmp_path, code)
    facts = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()}
    assert "tmp" in facts, (out.stdout, out.stderr, status)
    assert int(facts["tmp"][0]) <= 8 * 2**20 and int(facts["tmp"][2]) <= 2**20, facts
    assert int(facts["files"][0]) <= 100, facts
    assert "wrote" not in facts, facts
    assert len(facts["procs"]) <= 2, facts  # itself (and nothing of the machine)
    assert not Path("/tmp/sbx-unit").exists() and not Path("/dev/shm/sbx-unit").exists()
    assert not any(n.startswith("f") for n in os.listdir(tmp_path / "home"))
    assert not (tmp_path / "sbx-unit-root").exists()


def test_launcher_init_and_grader_are_invisible(tmp_path):
    code = ("import os\n"
            "try:\n    print(open('/proc/1/cmdline').read())\n"
            "except OSError as exc:\n    print('hidden', type(exc).__name__)\n"
            "print('ppid', os.getppid(), 'pid', os.getpid())\n")
    out, status = _launch(tmp_path, code, "--hide", str(ROOT / "notebooks"))
    assert "hidden" in out.stdout and "--hide" not in out.stdout, out.stdout
    assert "ppid 1 pid 2" in out.stdout, out.stdout  # the kernel's init is process 1
    assert status["hidden"] == [str(ROOT / "notebooks")]
