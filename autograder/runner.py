"""Grade submissions in isolated temporary courses, in parallel, and collect the results.

Layout of the work directory (under the system temp dir, removed afterwards)::

    autograder-XXXX/                 0711 root
        template/                    the course as nbgrader sees it, with its gradebook
        w-<n>/                       one per submission being graded (0711)
            course/                  private copy of template/ + submitted/<student>/...
            jupyter/kernels/...      the sandboxed kernel spec
            runtime/ home/           the kernel's connection files; its HOME (a mount point)
            spec.json sandbox-args.json result.json events.jsonl sandbox.json kernel.pids

Each submission gets its own copy of the course and its own SQLite gradebook, so ``--jobs``
workers never share a database; only the parent process writes the class gradebook.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import PACKAGE_ROOT, Course, read_notebook_cells
from .intake import Submission
from .integrity import Finding, affected_tests, scan_notebook
from .nbexec import events as read_events
from .normalize import repair
from .problems import Problem
from .sandbox import mount_small_tmpfs, unmount, unmount_below

KERNEL_NAME = "autograder-sandbox"
# The kernel's runtime folder (its sockets, a few hundred bytes): a tmpfs this small.
RUNTIME_BYTES = 2**20
RUNTIME_FILES = 64
SANDBOX = Path(__file__).with_name("sandbox.py")
GiB = 2**30
# A Unix socket's path holds at most 107 bytes (sockaddr_un); the kernels' sockets are
# <work>/w-NNNN/runtime/kernel-<port>.
SOCKET_PATH_MAX = 107


class WorkFolderError(RuntimeError):
    """The temporary folder cannot hold a grading run (its path is too long for sockets)."""


@dataclass
class Settings:
    """How to grade: limits, parallelism and policies (the command-line options)."""

    timeout: int = 60  # seconds per cell
    memory: int = 2 * GiB  # bytes of address space per kernel
    cpu_time: int = 0  # CPU seconds per kernel; 0: 10 x timeout, at least 600
    jobs: int = 1
    flag_only: bool = False
    show_hidden_tests: bool = False
    network: bool = False  # allow the kernel network access
    hide: list[Path] = field(default_factory=list)  # extra paths hidden from kernels
    keep_work: bool = False
    # A submission that hits a time limit in the batch is graded again, alone, with limits this
    # many times longer, before the timeout counts: a grade must not depend on machine load.
    confirm_factor: int = 4
    # The kernel's private writable places (in RAM, gone when the submission ends): one
    # tmpfs for /tmp, /var/tmp and HOME, one for /dev/shm; bounded in bytes and in files.
    scratch_bytes: int = 256 * 2**20
    scratch_files: int = 20000
    shm_bytes: int = 64 * 2**20
    shm_files: int = 1000

    @property
    def cpu_limit(self) -> int:
        """The effective CPU-seconds limit of one kernel."""
        return self.cpu_time or max(600, 10 * self.timeout)

    def submission_timeout(self, notebooks: int, cells: int, timeout: int | None = None) -> int:
        """Wall-clock limit of one whole grading job (``timeout``: the per-cell limit, default
        :attr:`timeout`): the last line of defence."""
        timeout = self.timeout if timeout is None else timeout
        return 120 + notebooks * 60 + cells * min(timeout, 60) + 4 * timeout


@dataclass
class Result:
    """Everything the parent needs from one graded submission."""

    student: str
    assignment: str
    timestamp: str | None = None
    graded: bool = False
    # notebook -> grade_id -> {"auto", "manual", "max"}
    grades: dict[str, dict[str, dict]] = field(default_factory=dict)
    comments: dict[str, dict[str, str]] = field(default_factory=dict)
    flagged: dict[str, bool] = field(default_factory=dict)
    # notebook -> grade_id -> error messages ("ename: evalue") of that graded cell
    failures: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    autograded: dict[str, Path] = field(default_factory=dict)  # notebook -> file in work dir
    feedback: dict[str, Path] = field(default_factory=dict)
    sandbox: dict = field(default_factory=dict)
    seconds: float = 0.0


def _copytree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))


def kernel_paths() -> list[str]:
    """Paths a kernel of this interpreter needs to reach (stdlib, site-packages, sources)."""
    paths = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(p for p in sysconfig.get_paths().values() if p)
    probe = subprocess.run([sys.executable, "-c", "import sys, json; print(json.dumps(sys.path))"],
                           capture_output=True, text=True, env=_clean_env(), cwd="/")
    if probe.returncode == 0:
        paths.update(json.loads(probe.stdout))
    return sorted(os.path.realpath(p) for p in paths if p and os.path.exists(p))


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHONPATH"))}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


def sandbox_options(settings: Settings, uid: int | None, hide: list[str],
                    expose: list[str]) -> list[str]:
    """The launcher's options for a kernel of these settings (``uid``: the submission's own,
    used when the grader runs as root)."""
    args = ["--memory", str(settings.memory), "--cpu", str(settings.cpu_limit),
            "--nproc", "512", "--fsize", str(GiB), "--threads", "1",
            "--scratch-bytes", str(settings.scratch_bytes),
            "--scratch-files", str(settings.scratch_files),
            "--shm-bytes", str(settings.shm_bytes), "--shm-files", str(settings.shm_files)]
    if uid is not None and os.geteuid() == 0:
        args += ["--uid", str(uid)]
    if not settings.network:
        args.append("--no-net")
    for path in hide:
        args += ["--hide", path]
    for path in expose:
        args += ["--expose", path]
    return args


def probe_sandbox(settings: Settings, hide: list[str] | None = None) -> dict:
    """What the sandbox can apply on this machine: the launcher's --probe starts a do-nothing
    command with every step of a real kernel launch (``hide``: paths to try hiding there, e.g.
    the masters)."""
    args = [sys.executable, "-I", str(SANDBOX), "--probe",
            *sandbox_options(settings, 65534, hide or [], kernel_paths())]
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, cwd="/")
        return json.loads(out.stdout)
    except (subprocess.SubprocessError, json.JSONDecodeError, OSError) as exc:
        return {"applied": [], "failed": [f"probe failed: {exc}"]}


class Grader:
    """Grades submissions of one course; one instance per run."""

    def __init__(self, course: Course, settings: Settings, hide: list[Path],
                 known_sandbox_failures: set[str] | None = None,
                 work: Path | None = None) -> None:
        self.course = course
        self.settings = settings
        # Reported once for the run (console, report); not repeated for every submission.
        self.known_sandbox_failures = set(known_sandbox_failures or ())
        # (``work``: an empty folder made by the caller, e.g. a cluster worker that unpacked
        # the course inside it; the kernels' sandbox covers all of it)
        self.work = Path(work) if work is not None else Path(tempfile.mkdtemp(
            prefix="autograder-"))
        os.chmod(self.work, 0o711)  # traversable only; each kernel sees its own folder alone
        socket = self.work / "w-0000" / "runtime" / "kernel-65535"
        if len(os.fsencode(socket)) > SOCKET_PATH_MAX:
            shutil.rmtree(self.work, ignore_errors=True)
            raise WorkFolderError(
                f"the temporary folder {self.work.parent} has too long a path for the kernels' "
                f"sockets ({len(os.fsencode(socket))} > {SOCKET_PATH_MAX} bytes in {socket}); "
                f"set TMPDIR to a shorter folder, e.g. TMPDIR=/tmp")
        # Removed by a job's worker process if this process dies without cleaning up (a
        # killed cluster worker): see autograder.worker's parent watch.
        self.orphan_cleanup: list[Path] = [self.work]
        self.template = self.work / "template"
        self.expose = kernel_paths()
        self.extra_hide = [str(p) for p in hide]  # as given (a cluster's workers get these)
        self.hide = self._hidden_paths(hide)
        self._slots = list(range(max(1, settings.jobs)))
        self._slot_lock = threading.Lock()
        self._counter = 0
        # One uid per submission, never reused in this run (nor by a concurrent run: the
        # range follows the pid), and only if no process runs under it.
        self.uid_base = 2_000_000 + (os.getpid() % 100_000) * 10_000
        self._uids: set[int] = set()
        self._workers: dict[int, _Worker] = {}
        self.release_cells: dict[tuple[str, str], dict[str, dict]] = {}
        self.release_sources: dict[tuple[str, str], set[str]] = {}

    # -- setup ------------------------------------------------------------------------------
    def _hidden_paths(self, extra: list[Path]) -> list[str]:
        """The course's files and folders a kernel must not see, plus ``extra``: the entries
        of the course root and of the repository this grader runs from (the same folder
        unless ``--course`` names another; on a cluster worker, the worker's checkout)."""
        keep = [Path(p) for p in self.expose] + [self.work]
        hide = []
        roots = {self.course.root.resolve(), PACKAGE_ROOT.resolve()}
        for entry in sorted(e for root in roots for e in root.iterdir()):
            real = entry.resolve()
            if any(real == k or real in k.parents or k in real.parents for k in keep):
                continue
            hide.append(str(real))
        for path in extra:
            real = Path(path).resolve()
            if real.exists() and not any(real == k or real in k.parents for k in keep):
                hide.append(str(real))
        return sorted(set(hide))

    def build_template(self) -> None:
        """Copy the masters and config into the template course and let nbgrader register
        every assignment in the template's gradebook (``generate_assignment``)."""
        t = self.template
        t.mkdir(mode=0o700)  # masters and hidden tests: the grader's alone
        source = t / self.course.source_directory
        for assignment in self.course.assignments:
            _copytree(self.course.source / assignment, source / assignment)
        config = self.course.config_path.read_text(encoding="utf-8")
        t.joinpath("nbgrader_config.py").write_text(config + self._config_overrides(),
                                                    encoding="utf-8")
        for assignment in self.course.assignments:
            error = _generate_assignment(t, assignment)
            if error:
                raise RuntimeError(f"nbgrader generate_assignment {assignment} failed: {error}")
            for master in self.course.masters[assignment]:
                released = t / "release" / assignment / f"{master.name}.ipynb"
                nb = json.loads(released.read_text(encoding="utf-8"))
                cells = {}
                sources = set()
                for cell in nb["cells"]:
                    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    if gid:
                        cells[gid] = cell
                    elif cell.get("cell_type") == "code":
                        src = cell.get("source", "")
                        sources.add(_norm("".join(src) if isinstance(src, list) else src))
                self.release_cells[(assignment, master.name)] = cells
                self.release_sources[(assignment, master.name)] = sources
                read_notebook_cells(released, assignment)  # parses: fails early if broken

    def _config_overrides(self) -> str:
        s = self.settings
        execute = ["autograder.nbexec.LockDown", "autograder.nbexec.SandboxExecute",
                   "nbgrader.preprocessors.IgnorePattern",
                   "nbconvert.preprocessors.ClearMetadataPreprocessor",
                   "autograder.nbexec.LimitOutput", "nbgrader.preprocessors.SaveAutoGrades",
                   "nbgrader.preprocessors.AssignLatePenalties",
                   "nbgrader.preprocessors.CheckCellMetadata"]
        feedback = ["nbgrader.preprocessors.GetGrades", "autograder.nbexec.HideHiddenTests",
                    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
        return "\n".join([
            "", "", "# ---- added by the autograder for this grading run ----",
            f"c.Execute.timeout = {int(s.timeout)}",
            "c.Execute.interrupt_on_timeout = True",
            "c.Execute.startup_timeout = 120",
            f"c.Execute.kernel_name = {KERNEL_NAME!r}",
            "c.KernelManager.transport = 'ipc'",
            "c.OverwriteCells.add_missing_cells = True",
            f"c.Autograde.autograde_preprocessors = {execute!r}",
            f"c.GenerateFeedback.preprocessors = {feedback!r}",
            "c.GenerateFeedback.exporter_class = 'autograder.nbexec.FeedbackExporter'",
            f"c.HideHiddenTests.enabled = {not s.show_hidden_tests!r}",
            "",
        ])

    def _env(self, extra: dict | None = None) -> dict:
        env = _clean_env()
        env["PYTHONPATH"] = str(PACKAGE_ROOT)
        env.update(extra or {})
        return env

    # -- one submission ---------------------------------------------------------------------
    def _take_slot(self) -> int:
        with self._slot_lock:
            return self._slots.pop(0)

    def _give_slot(self, slot: int) -> None:
        with self._slot_lock:
            self._slots.append(slot)

    def _new_uid(self) -> int:
        """A uid for one submission: unused in this run and by every running process."""
        busy = {uid for _, uid in _processes()}
        with self._slot_lock:
            uid = self.uid_base + len(self._uids)
            while uid in self._uids or uid in busy:
                uid += 1
            self._uids.add(uid)
        return uid

    def _kernel_spec(self, w: Path, uid: int) -> None:
        """The sandboxed kernel spec of one submission; the launcher's options are in a
        root-only file, so no command line shows the course's paths."""
        options = sandbox_options(self.settings, uid, self.hide, self.expose) + [
            "--home", str(w / "home"), "--writable", str(w / "runtime"),
            "--status", str(w / "sandbox.json"), "--pidfile", str(w / "kernel.pids"),
            # (under /tmp, as usual, the private /tmp covers it already: the launcher keeps
            # only the outermost covers)
            "--cover", str(self.work.resolve())]
        config = w / "sandbox-args.json"
        config.write_text(json.dumps(options), encoding="utf-8")
        os.chmod(config, 0o600)
        argv = [sys.executable, "-I", str(SANDBOX), "--config", str(config), "--",
                sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec = {"argv": argv, "display_name": "Python 3 (autograder sandbox)",
                "language": "python", "metadata": {"debugger": False}}
        kdir = w / "jupyter" / "kernels" / KERNEL_NAME
        kdir.mkdir(parents=True)
        (kdir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")

    def _prepare(self, sub: Submission, w: Path, result: Result,
                 timeout: int | None = None) -> dict:
        """Lay out the private course for ``sub`` (``timeout``: a per-cell limit other than the
        run's, for a confirming re-run); returns the worker spec."""
        course = w / "course"
        course.mkdir(parents=True)
        shutil.copy2(self.template / "nbgrader_config.py", course / "nbgrader_config.py")
        if timeout is not None:
            with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
                config.write(f"\n# confirming re-run of a timeout\nc.Execute.timeout = "
                             f"{int(timeout)}\n")
        shutil.copy2(self.template / "gradebook.db", course / "gradebook.db")
        _copytree(self.template / self.course.source_directory / sub.assignment,
                  course / self.course.source_directory / sub.assignment)
        for private in (course / self.course.source_directory, course / "gradebook.db",
                        course / "nbgrader_config.py"):
            os.chmod(private, 0o700 if private.is_dir() else 0o600)
        os.chmod(course, 0o711)
        target = course / "submitted" / sub.student / sub.assignment
        target.mkdir(parents=True)
        os.chmod(course / "submitted", 0o700)
        for rel, data in sub.extra_files.items():
            dest = (target / rel).resolve()
            if target.resolve() in dest.parents:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
        if sub.timestamp:
            (target / "timestamp.txt").write_text(sub.timestamp, encoding="utf-8")

        integrity: dict[str, dict] = {}
        for master in self.course.masters[sub.assignment]:
            name = master.name
            data = sub.notebooks.get(name)
            if data is None:
                continue
            fixed = repair(data, master, self.release_cells[(sub.assignment, name)])
            for kind, cell, detail in fixed.problems:
                result.problems.append(Problem(sub.student, sub.assignment, name, kind, cell,
                                               detail))
            if fixed.text is None:
                continue
            (target / f"{name}.ipynb").write_text(fixed.text, encoding="utf-8")
            integrity[name] = self._integrity(sub, master, fixed.text, result)
        for d in ("runtime", "home"):
            (w / d).mkdir()
        if os.geteuid() == 0:
            # The kernel writes its sockets here and nbgrader connects to them, so it cannot
            # be in the kernel's private scratch: a small tmpfs of its own keeps it bounded.
            failed = mount_small_tmpfs(str(w / "runtime"), RUNTIME_BYTES, RUNTIME_FILES)
            if failed:
                result.problems.append(Problem(sub.student, sub.assignment, "", "sandbox",
                                               detail=f"runtime folder not bounded: {failed}"))
        os.chmod(w, 0o711)
        return {"course": str(course), "assignment": sub.assignment, "student": sub.student,
                "events_file": str(w / "events.jsonl"), "integrity": integrity,
                "ipc_prefix": str(w / "runtime" / "kernel")}

    def _integrity(self, sub: Submission, master, text: str, result: Result) -> dict:
        """Scan the student's cells; plan the zeros and comments of the flagged exercises."""
        nb = nbformat.reads(text, as_version=4)
        released = self.release_sources[(sub.assignment, master.name)]
        scanned, labels = set(), {}
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id"):
                labels[index] = meta["grade_id"]
            if cell.cell_type != "code" or meta.get("locked"):
                continue
            if meta.get("solution") or _norm(cell.source) not in released:
                scanned.add(index)
        findings = scan_notebook(nb, scanned, labels)
        result.findings[master.name] = findings
        zero: dict[str, list[str]] = {}
        for f in findings:
            tests = affected_tests(nb, f)
            effect = ("no graded cell after it" if not tests else
                      ("flagged only" if self.settings.flag_only else
                       f"scored 0: {', '.join(tests)}"))
            result.problems.append(Problem(
                sub.student, sub.assignment, master.name, "integrity", f.cell,
                f"{f.rule}: {f.detail} (line {f.line}: {f.code}); {effect}"))
            for test in tests:
                zero.setdefault(test, []).append(f"{f.rule} in {f.cell}: {f.detail}")
        comments: dict[str, str] = {}
        for test, reasons in zero.items():
            solution = master.exercise_of(test) or next(
                (c.grade_id for c in master.cells if c.solution and not c.grade), None)
            if solution is None:
                continue
            verdict = ("flagged for review" if self.settings.flag_only else "scored 0")
            line = f"Integrity check: {test} {verdict} because of " + "; ".join(sorted(
                set(reasons))) + "."
            comments[solution] = (comments[solution] + "\n" + line) if solution in comments \
                else line
        return {"zero": [] if self.settings.flag_only else sorted(zero), "comments": comments}

    def grade(self, sub: Submission, timeout: int | None = None) -> Result:
        """Grade one submission (thread-safe; never raises for a bad submission).
        ``timeout``: a per-cell limit other than the run's (see :meth:`confirm_timeouts`)."""
        start = time.monotonic()
        result = Result(sub.student, sub.assignment, timestamp=sub.timestamp)
        result.problems.extend(sub.problems)
        if not sub.notebooks:
            result.seconds = time.monotonic() - start
            return result
        with self._slot_lock:
            self._counter += 1
            w = self.work / f"w-{self._counter:04d}"
        slot = self._take_slot()
        uid = self._new_uid()
        try:
            spec = self._prepare(sub, w, result, timeout)
            self._kernel_spec(w, uid)
            submitted = w / "course" / "submitted" / sub.student / sub.assignment
            if not any(submitted.glob("*.ipynb")):
                return result  # nothing gradable: every notebook scores 0
            spec["env"] = {"JUPYTER_PATH": str(w / "jupyter"),
                           "AUTOGRADER_COURSE_ROOT": str(w / "course"),
                           "JUPYTER_RUNTIME_DIR": str(w / "runtime"),
                           "JUPYTER_CONFIG_DIR": str(w / "jupyter-config"),
                           "JUPYTER_DATA_DIR": str(w / "jupyter-data"),
                           "IPYTHONDIR": str(w / "ipython")}
            spec["uid"] = uid
            spec["orphan_cleanup"] = [str(p) for p in self.orphan_cleanup]
            (w / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
            os.chmod(w / "spec.json", 0o600)
            self._run_worker(sub, w, result, slot, timeout)
        except Exception as exc:  # a bug or an OS error: log it for this submission only
            result.problems.append(Problem(sub.student, sub.assignment, "", "autograde-failed",
                                           detail=f"grader error: {type(exc).__name__}: {exc}"))
        finally:
            if os.path.ismount(w / "runtime"):
                unmount(str(w / "runtime"))
            survivors = _kill_uid(uid) if os.geteuid() == 0 else []
            if survivors:  # only if the PID namespace was refused: say so
                result.problems.append(Problem(
                    sub.student, sub.assignment, "", "sandbox",
                    detail=f"{len(survivors)} process(es) of this submission outlived its "
                           f"kernel and were killed: {', '.join(survivors[:5])}"))
            self._give_slot(slot)
            result.seconds = time.monotonic() - start
        return result

    def _run_worker(self, sub: Submission, w: Path, result: Result, slot: int,
                    timeout: int | None = None) -> None:
        masters = self.course.masters[sub.assignment]
        limit = self.settings.submission_timeout(
            len(masters), sum(len(m.cells) for m in masters) * 2, timeout)
        with self._slot_lock:
            worker = self._workers.setdefault(slot, _Worker(self._env(), self.work))
        finished, output = worker.run(w / "spec.json", limit)
        _kill_kernels(w / "kernel.pids")
        if not finished and worker.timed_out:
            result.problems.append(Problem(
                sub.student, sub.assignment, "", "timeout",
                detail=f"grading took longer than {limit} s in total and was stopped"))
        self._collect(sub, w, result, output)

    def _collect(self, sub: Submission, w: Path, result: Result, output: str) -> None:
        course = w / "course"
        status = w / "sandbox.json"
        if status.exists():
            try:
                result.sandbox = json.loads(status.read_text(encoding="utf-8") or "{}")
            except json.JSONDecodeError:
                result.sandbox = {}
        for failed in result.sandbox.get("failed", []):
            if failed in self.known_sandbox_failures:
                continue
            result.problems.append(Problem(sub.student, sub.assignment, "", "sandbox",
                                           detail=failed))
        for event in read_events(str(w / "events.jsonl")):
            result.problems.append(Problem(sub.student, sub.assignment, event["notebook"],
                                           event["kind"], event["cell"], event["detail"]))
        res_path = w / "result.json"
        res = json.loads(res_path.read_text(encoding="utf-8")) if res_path.exists() else {}
        if not res.get("autograde_ok"):
            error = res.get("autograde_error") or "the grading process ended without a result"
            tail = "\n".join((res.get("log") or output).strip().splitlines()[-6:])
            result.problems.append(Problem(sub.student, sub.assignment, "", "autograde-failed",
                                           detail=f"{error.strip()[:500]} | {tail[:1500]}"))
        elif not res.get("feedback_ok"):
            result.problems.append(Problem(sub.student, sub.assignment, "", "feedback-failed",
                                           detail=res.get("feedback_error", "")[:500]))
        grades = res.get("grades") or {}
        result.timestamp = grades.get("timestamp") or result.timestamp
        for name, nbres in (grades.get("notebooks") or {}).items():
            result.grades[name] = nbres["grades"]
            result.comments[name] = nbres.get("comments", {})
            result.flagged[name] = nbres.get("flagged", False)
        result.graded = bool(res.get("autograde_ok"))
        for master in self.course.masters[sub.assignment]:
            graded_nb = course / "autograded" / sub.student / sub.assignment / \
                f"{master.name}.ipynb"
            if graded_nb.is_file() and not graded_nb.is_symlink():
                result.autograded[master.name] = graded_nb
                result.failures[master.name] = _failures(graded_nb)
            html = course / "feedback" / sub.student / sub.assignment / f"{master.name}.html"
            if html.is_file() and not html.is_symlink():
                result.feedback[master.name] = html

    def confirm_timeouts(self, graded: list[tuple[Submission, Result]], log=None,
                         grade=None) -> list[Result]:
        """The results of ``graded`` (submission, batch result) with every time-out confirmed.

        A submission that ran past a time limit during the batch (per cell, or in total) is
        graded again, one at a time and after the batch (so none of this run's other jobs
        compete with it), with limits ``settings.confirm_factor`` times longer. The re-run's
        result replaces the batch's either way, and carries a ``timeout-rerun`` problem that
        says what happened: a cell that only timed out because the machine was busy is graded
        on its merits; a genuine infinite loop times out again and the timeout counts. So the
        grades do not depend on what else the machine was doing. ``grade(sub, timeout=)``:
        who grades the re-run (default :meth:`grade`; the cluster engine sends it to a
        worker)."""
        factor = max(1, int(self.settings.confirm_factor))
        longer = int(self.settings.timeout) * factor
        out = []
        for sub, result in graded:
            timeouts = [p for p in result.problems if p.kind == "timeout"]
            if not timeouts or factor == 1:
                out.append(result)
                continue
            where = "; ".join(sorted({f"{p.notebook or sub.assignment} {p.cell}".strip()
                                      for p in timeouts}))
            rerun = (grade or self.grade)(sub, timeout=longer)
            again = [p for p in rerun.problems if p.kind == "timeout"]
            broken = [p for p in rerun.problems if p.kind in ("autograde-failed",
                                                              "worker-lost")]
            if broken and not rerun.graded and result.graded:
                # the re-run itself failed (a lost worker, a grader error): nothing was
                # learnt about the timeout, so the batch's result stands
                result.problems.append(Problem(
                    sub.student, sub.assignment, "", "timeout-rerun",
                    detail=f"timed out in the batch ({where}, limit {self.settings.timeout} s "
                           f"per cell); the re-run alone with {longer} s per cell could not "
                           f"grade it ({broken[0].kind}: {broken[0].detail[:300]}): the "
                           f"batch's result counts"))
                out.append(result)
                continue
            verdict = ("it timed out again: the timeout counts" if again else
                       "it finished: the batch's timeout came from a busy machine, this "
                       "result counts")
            rerun.problems.append(Problem(
                sub.student, sub.assignment, "", "timeout-rerun",
                detail=f"timed out in the batch ({where}, limit {self.settings.timeout} s per "
                       f"cell); graded again alone with {longer} s per cell: {verdict}"))
            rerun.seconds += result.seconds
            if log:
                log(f"autograder: {sub.student} {sub.assignment}: timeout confirmed by a re-run "
                    f"alone ({longer} s per cell): {'again' if again else 'not again'}")
            out.append(rerun)
        return out

    def cleanup(self) -> None:
        """Stop the worker processes and remove the work directory."""
        for worker in self._workers.values():
            worker.close()
        self._workers.clear()
        unmount_below(str(self.work))  # a job that ended before its own clean-up
        if not self.settings.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)


class _Worker:
    """One grading slot's long-lived ``python -m autograder.worker --serve`` process.

    It is sent one spec path per job and writes ``result.json`` next to it; a job that runs
    past its wall-clock limit gets the whole process group killed, and the next job starts a
    fresh process. Its output (nbgrader's and the kernels' stderr) is drained by a thread and
    the last lines are kept for the problem log.
    """

    def __init__(self, env: dict, cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.proc: subprocess.Popen | None = None
        self.lines: deque[str] = deque(maxlen=200)
        self.timed_out = False

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker", "--serve"], cwd=self.cwd, env=self.env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, text=True, encoding="utf-8", errors="replace", bufsize=1)
        lines = self.lines = deque(maxlen=200)
        stream = self.proc.stdout
        threading.Thread(target=lambda: lines.extend(stream), daemon=True).start()

    def run(self, spec: Path, limit: float) -> tuple[bool, str]:
        """(finished, recent output) of one job."""
        self.timed_out = False
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.lines.clear()
        result = spec.parent / "result.json"
        try:
            self.proc.stdin.write(f"{spec}\n")
            self.proc.stdin.flush()
        except OSError:
            return False, "the grading process could not be started"
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if result.exists():
                return True, "".join(self.lines)
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the drain thread catch the last lines
                return result.exists(), "".join(self.lines)
            time.sleep(0.1)
        self.timed_out = True
        self.kill()
        return False, "".join(self.lines)

    def kill(self) -> None:
        """Kill the worker and everything in its process group."""
        if self.proc is not None:
            _kill_group(self.proc.pid)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        self.proc = None

    def close(self) -> None:
        """Let the worker finish (end of input), or kill it."""
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        self.proc = None


def _alembic_head_in_process() -> None:
    """nbgrader runs ``alembic heads`` in a subprocess (seconds) each time it creates a
    gradebook, only to learn the schema revision: read it in-process, once."""
    import nbgrader.api as api

    if getattr(api.get_alembic_version, "autograder", False):
        return
    try:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory(os.path.join(os.path.dirname(api.__file__), "alembic")
                               ).get_current_head()
    except Exception:  # keep nbgrader's own way
        return

    def get_alembic_version() -> str:
        """The head revision of nbgrader's gradebook schema (read once)."""
        return head

    get_alembic_version.autograder = True
    api.get_alembic_version = get_alembic_version


def _generate_assignment(course: Path, assignment: str) -> str:
    """Run nbgrader's generate_assignment in this process (it registers the assignment, its
    notebooks and the checksums of its cells in the course's gradebook); returns an error."""
    import logging

    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    # nbgrader runs the `alembic` command when it creates a gradebook: use this environment's.
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    _alembic_head_in_process()
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    cfg.CourseDirectory.root = str(course)
    cfg.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    cfg.CourseDirectory.assignment_id = assignment
    app = GenerateAssignment(coursedir=CourseDirectory(config=cfg), config=cfg)
    app.force = True
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    app.log.addHandler(handler)
    app.log.setLevel(logging.WARNING)
    cwd = os.getcwd()
    try:
        os.chdir(course)
        app.start()
    except BaseException as exc:  # NbGraderException, SystemExit, ...
        return f"{type(exc).__name__}: {exc}\n{log.getvalue()[-3000:]}"
    finally:
        os.chdir(cwd)
        app.log.removeHandler(handler)
    return ""


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _failures(path: Path) -> dict[str, list[str]]:
    """grade_id -> "ename: evalue" of the errors in each graded cell of an autograded notebook."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # an unreadable autograded notebook has no messages to report
        return {}
    out: dict[str, list[str]] = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                evalue = str(output.get("evalue", "")).strip().splitlines()
                message = f"{output.get('ename', 'Error')}: {evalue[0] if evalue else ''}"
                out.setdefault(meta["grade_id"], []).append(message.strip())
    return out


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _is_our_kernel(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"ipykernel_launcher" in cmdline or SANDBOX.name.encode() in cmdline


def _processes() -> list[tuple[int, int]]:
    """(pid, uid) of every process this machine shows."""
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                out.append((int(entry.name), entry.stat().st_uid))
            except OSError:
                continue
    return out


def _kill_uid(uid: int, rounds: int = 50) -> list[str]:
    """Kill every process running as ``uid`` (repeatedly: one may fork while the others
    die); returns "pid (name)" of each one found."""
    found: dict[int, str] = {}
    for _ in range(rounds):
        pids = [pid for pid, owner in _processes() if owner == uid]
        if not pids:
            break
        for pid in pids:
            try:
                found.setdefault(pid, Path(f"/proc/{pid}/comm").read_text().strip())
            except OSError:
                found.setdefault(pid, "?")
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)
    return [f"{pid} ({name})" for pid, name in sorted(found.items())]


def _kill_kernels(pidfile: Path) -> None:
    """Kill every kernel this job started that is still alive (and its process group)."""
    if not pidfile.exists():
        return
    for line in pidfile.read_text(encoding="utf-8").split():
        try:
            pid = int(line)
        except ValueError:
            continue
        if not _is_our_kernel(pid):  # gone, or the pid was reused: not ours to kill
            continue
        for kill in (lambda p: os.killpg(p, signal.SIGKILL), lambda p: os.kill(p, signal.SIGKILL)):
            try:
                kill(pid)
            except (ProcessLookupError, PermissionError, OSError):
                pass
