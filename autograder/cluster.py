"""Grade on a Dask distributed cluster: one task per (student, assignment) submission.

``python -m autograder grade SUBMISSIONS --cluster tcp://scheduler:8786`` (or ``local:N`` for a
``LocalCluster`` of N worker processes on this machine). The instructor's process reads the
submissions, builds the class gradebook's template and writes every output, exactly as in a
local run; only :meth:`autograder.runner.Grader.grade` runs on the workers:

- the course (``nbgrader_config.py`` and the masters of the graded assignments) is shipped
  with the job, once per worker (:class:`CoursePack`), so a worker never grades against a
  stale or different copy; each worker process unpacks it into a private temporary folder and
  builds its own :class:`~autograder.runner.Grader` (same settings, same sandbox, same
  limits, as many slots as the worker has threads);
- the grading environment is the worker's own (the course repository installed with its
  ``grading`` extra, see docs/grading.md): before the first task the client compares each
  worker's :func:`environment_fingerprint` with its own and refuses a cluster that differs
  (another nbgrader, NumPy or autograder/scratchnn code would change the grades);
- a task returns the :class:`~autograder.runner.Result` with the autograded notebooks and
  feedback pages as bytes (:class:`Shipped`); the client writes them into its own work folder,
  so the gradebook, grades.csv, feedback and report are byte for byte those of a local run.

Faults are Dask's: a worker that dies mid-task has its task rescheduled on another worker
(the scheduler's ``allowed-failures``, 3 by default); the dead worker's grading processes see
their parent go and clean up after it (:func:`autograder.worker._watch_parent`). A submission
whose every attempt kills its worker ends as a ``worker-lost`` problem and scores 0; the batch
always finishes with a row per student.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import io
import os
import platform
import re
import tarfile
import tempfile
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from .course import PACKAGE_ROOT, Course
from .intake import Submission
from .problems import Problem
from .runner import Grader, Result, Settings, probe_sandbox

# Packages whose version changes what a kernel computes or how nbgrader grades it.
PACKAGES = ("nbgrader", "nbconvert", "nbclient", "nbformat", "jupyter_client", "ipykernel",
            "ipython", "traitlets", "numpy", "matplotlib", "scikit-learn", "ipywidgets",
            "dask", "distributed", "cloudpickle")
# Code whose content changes the grades: the grader itself and what the hidden tests import.
CODE = ("autograder", "source/scratchnn", "source/coursekit")
_LOCAL = re.compile(r"^local:(\d+)$")
_ADDRESS = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


class ClusterError(RuntimeError):
    """The cluster cannot grade this class (no scheduler, no workers, another environment)."""


def parse_cluster(text: str) -> str:
    """Check a ``--cluster`` value: ``local:N`` (N >= 1) or a scheduler address with its
    protocol (``tcp://host:8786``, ``tls://...``); returns it stripped.

    Raises:
        ValueError: anything else, with the two accepted forms in the message.
    """
    value = str(text).strip()
    m = _LOCAL.match(value)
    if (m and int(m[1]) >= 1) or (not m and _ADDRESS.match(value)):
        return value
    raise ValueError(f"--cluster {text!r}: expected local:N (N >= 1 worker processes on this "
                     f"machine) or a Dask scheduler address such as tcp://host:8786")


# ----------------------------------------------------------------------------------------------
# What a worker needs: the course, and an environment equal to the client's
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CoursePack:
    """The files a worker grades against: ``nbgrader_config.py`` and the graded assignments'
    master folders, as a deterministic tar archive (``digest``: its SHA-256)."""

    assignments: tuple[str, ...]
    data: bytes
    digest: str

    @classmethod
    def of(cls, course: Course) -> CoursePack:
        """Pack ``course`` (only its graded assignments)."""
        files = [(course.config_path, "nbgrader_config.py")]
        for assignment in course.assignments:
            folder = course.source / assignment
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not ({".ipynb_checkpoints", "__pycache__"}
                                           & set(path.parts)):
                    files.append((path, f"{course.source_directory}/"
                                        f"{path.relative_to(course.source)}"))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for path, name in files:
                data = path.read_bytes()
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o600, 0  # same bytes every run
                tar.addfile(info, io.BytesIO(data))
        data = buffer.getvalue()
        return cls(tuple(course.assignments), data, hashlib.sha256(data).hexdigest())

    def unpack(self, folder: Path) -> Course:
        """Write the course into ``folder`` (private to this user) and load it."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(self.data), mode="r") as tar:
            tar.extractall(folder, filter="data")
        return Course.load(folder, list(self.assignments))


def _code_digest() -> str:
    digest = hashlib.sha256()
    for top in CODE:
        for path in sorted((PACKAGE_ROOT / top).rglob("*.py")):
            digest.update(str(path.relative_to(PACKAGE_ROOT)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def environment_fingerprint() -> dict[str, str]:
    """What must be equal on the client and every worker for equal grades: Python, the
    platform, the versions of :data:`PACKAGES` and a digest of the code in :data:`CODE`."""
    out = {"python": platform.python_version(), "machine": platform.machine(),
           "code": _code_digest()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def environment_differences(here: dict[str, str], workers: dict[str, dict]) -> list[str]:
    """One line per worker whose fingerprint differs from ``here`` (empty if none)."""
    lines = []
    for address, theirs in sorted(workers.items()):
        if not isinstance(theirs, dict):
            lines.append(f"{address}: {theirs}")
            continue
        diff = [f"{key} {here.get(key)} here, {theirs.get(key)} there"
                for key in sorted(set(here) | set(theirs)) if here.get(key) != theirs.get(key)]
        if diff:
            lines.append(f"{address}: " + "; ".join(diff))
    return lines


# ----------------------------------------------------------------------------------------------
# On a worker
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GraderOptions:
    """How the client's :class:`~autograder.runner.Grader` was made, for the workers'."""

    settings: Settings
    hide: tuple[str, ...]
    known_sandbox_failures: tuple[str, ...]
    run: str  # one grading run: the key of the workers' graders, released at its end


@dataclass
class Shipped:
    """What a task returns: the result, with its autograded notebooks and feedback pages as
    bytes (``files``: (``"autograded"`` or ``"feedback"``, notebook) -> bytes)."""

    result: Result
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    worker: str = ""


_graders: dict[str, Grader] = {}
_graders_lock = threading.Lock()


def _worker_threads() -> int:
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def _grader_for(pack: CoursePack, options: GraderOptions) -> Grader:
    """This worker process's grader of the run (made on its first task)."""
    with _graders_lock:
        grader = _graders.get(options.run)
        if grader is None:
            # The course goes inside the grader's work folder, which every kernel's sandbox
            # covers (as the template with the masters is, in a local run).
            work = Path(tempfile.mkdtemp(prefix="autograder-"))
            os.chmod(work, 0o711)
            course = pack.unpack(work / "pack")
            settings = dataclasses.replace(options.settings, jobs=_worker_threads())
            grader = Grader(course, settings, hide=[Path(p) for p in options.hide],
                            known_sandbox_failures=set(options.known_sandbox_failures),
                            work=work)
            grader.build_template()
            _graders[options.run] = grader
    return grader


def grade_task(pack: CoursePack, options: GraderOptions, sub: Submission,
               timeout: int | None = None) -> Shipped:
    """A Dask task: grade ``sub`` on this worker (``timeout``: a confirming re-run's per-cell
    limit) and return the result with its files."""
    grader = _grader_for(pack, options)
    result = grader.grade(sub, timeout=timeout)
    files = {}
    for kind in ("autograded", "feedback"):
        paths = getattr(result, kind)
        for name, path in sorted(paths.items()):
            files[(kind, name)] = Path(path).read_bytes()
        paths.clear()
    try:
        from distributed import get_worker

        where = get_worker().address
    except (ImportError, ValueError):
        where = ""
    return Shipped(result, files, where)


def release_graders(run: str) -> int:
    """Clean up this worker process's grader of ``run`` (its folders and processes); returns
    how many were released."""
    with _graders_lock:
        grader = _graders.pop(run, None)
    if grader is None:
        return 0
    grader.cleanup()
    return 1


def _same(value):
    """A task that returns its argument (how the course pack becomes a recomputable key)."""
    return value


def _probe(settings: Settings, hide: list[str]) -> list[str]:
    """The sandbox features this worker's OS refuses (``hide``: the client's masters folder,
    tried where the same path exists here)."""
    here = [p for p in hide if os.path.exists(p)]
    return sorted(probe_sandbox(settings, hide=here).get("failed", []))


# ----------------------------------------------------------------------------------------------
# On the client
# ----------------------------------------------------------------------------------------------

class ClusterEngine(AbstractContextManager):
    """Sends the submissions of one run to a Dask cluster and brings the results back.

    Args:
        cluster: ``local:N`` (a LocalCluster of N single-threaded worker processes, started
            and stopped here) or a scheduler address (workers already running).
        course: the course being graded (the client's copy; shipped as a :class:`CoursePack`).
        grader: the client's grader (settings, hidden paths, sandbox; its work folder holds
            the received files).
        log: the console.

    Raises:
        ClusterError: no scheduler at the address, no worker within ``wait`` seconds, or a
            worker whose environment differs from the client's.
    """

    def __init__(self, cluster: str, course: Course, grader: Grader, log,
                 wait: float = 120.0) -> None:
        self.spec = parse_cluster(cluster)
        self.course, self.grader, self.log, self.wait = course, grader, log, wait
        self.client = self.local = self._pack = None
        self.received = 0
        self.options = GraderOptions(
            grader.settings, tuple(grader.extra_hide), tuple(sorted(
                grader.known_sandbox_failures)), f"{os.getpid()}-{time.time_ns()}")

    # -- connection -------------------------------------------------------------------------
    def __enter__(self) -> ClusterEngine:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ClusterError(f"--cluster needs Dask distributed ({exc}); install the "
                               f"grading extra: pip install -e '.[grading]'") from exc
        m = _LOCAL.match(self.spec)
        try:
            if m:
                # One task per worker at a time: a worker's death then suspects only the
                # submission it was grading (a queued one would count a failure too).
                with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
                    self.local = LocalCluster(
                        n_workers=int(m[1]), threads_per_worker=1, processes=True,
                        memory_limit=0, dashboard_address=None, silence_logs=40)
                self.client = Client(self.local)
            else:
                self.client = Client(self.spec, timeout=30)
            self.client.wait_for_workers(1, timeout=self.wait)
        except (OSError, TimeoutError) as exc:
            self.__exit__(None, None, None)
            raise ClusterError(f"cannot use the Dask cluster {self.spec}: {exc}") from exc
        try:
            self._check_workers()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _check_workers(self) -> None:
        here = environment_fingerprint()
        try:
            theirs = self.client.run(environment_fingerprint, on_error="return")
        except Exception as exc:
            raise ClusterError(f"the workers of {self.spec} cannot run the autograder: "
                               f"{type(exc).__name__}: {exc}") from exc
        theirs = {a: (v if isinstance(v, dict) else f"cannot run the autograder: {v!r}")
                  for a, v in theirs.items()}
        differences = environment_differences(here, theirs)
        if differences:
            raise ClusterError(
                "these workers' grading environment differs from this machine's, so their "
                "grades could differ (install the same commit of the course with its grading "
                "extra on every worker; docs/grading.md):\n  " + "\n  ".join(differences))
        info = self.client.scheduler_info()
        threads = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values())
        self.log(f"autograder: Dask cluster {self.spec}: {len(theirs)} worker(s), {threads} "
                 f"thread(s); environments equal ({here['code']})")
        probes = self.client.run(_probe, self.grader.settings,
                                 [str(self.course.source)], on_error="return")
        known = set(self.options.known_sandbox_failures)
        for address, failed in sorted(probes.items()):
            extra = sorted(set(failed) - known) if isinstance(failed, list) else [repr(failed)]
            if extra:
                self.log(f"autograder: worker {address}: sandbox weaker than here: "
                         + "; ".join(extra))

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            try:
                self.client.run(release_graders, self.options.run, on_error="return")
            except Exception as error:  # a cluster going away: its workers' own clean-up
                self.log(f"autograder: could not release the workers' graders: {error}")
            self.client.close()
            self.client = None
        if self.local is not None:
            self.local.close()
            self.local = None
        return None

    # -- grading ----------------------------------------------------------------------------
    def _course_pack(self):
        """The future of the course pack, which every task takes. A task's result rather than
        scattered data: when every worker holding a copy has died, the scheduler makes it
        again from the task (scattered data would be lost, and the tasks with it)."""
        if self._pack is None:
            self._pack = self.client.submit(_same, CoursePack.of(self.course), pure=False,
                                            key=f"course-pack-{self.options.run}")
        return self._pack

    def _submit(self, pack, subs: list[Submission], timeout: int | None = None) -> dict:
        futures = {}
        for i, sub in enumerate(subs):
            key = f"grade-{self.options.run}-{timeout or 0}-{i}-{sub.student}-{sub.assignment}"
            futures[self.client.submit(grade_task, pack, self.options, sub, timeout, key=key,
                                       pure=False)] = sub
        return futures

    def _receive(self, sub: Submission, future) -> Result:
        from distributed import KilledWorker

        try:
            shipped: Shipped = future.result()
        except KilledWorker as exc:
            r = Result(sub.student, sub.assignment, timestamp=sub.timestamp)
            r.problems.extend(sub.problems)
            r.problems.append(Problem(sub.student, sub.assignment, "", "worker-lost", detail=(
                f"the Dask worker grading it died on every attempt ({exc}); it scores 0")))
            return r
        except Exception as exc:  # the task itself raised: a grader bug on that worker
            r = Result(sub.student, sub.assignment, timestamp=sub.timestamp)
            r.problems.extend(sub.problems)
            r.problems.append(Problem(sub.student, sub.assignment, "", "autograde-failed",
                                      detail=f"grader error on a Dask worker: "
                                             f"{type(exc).__name__}: {exc}"))
            return r
        self.received += 1
        folder = self.grader.work / "received" / f"{self.received:06d}"
        result = shipped.result
        for (kind, name), data in sorted(shipped.files.items()):
            suffix = "ipynb" if kind == "autograded" else "html"
            path = folder / kind / f"{name}.{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            getattr(result, kind)[name] = path
        return result

    def grade_all(self, subs: list[Submission]):
        """Yield (submission, :class:`Result`) as the workers finish them (every submission
        exactly once, whatever happens to the workers)."""
        from distributed import as_completed

        if not subs:
            return
        futures = self._submit(self._course_pack(), subs)
        for future in as_completed(list(futures)):
            sub = futures.pop(future)
            yield sub, self._receive(sub, future)
            future.release()

    def grade_one(self, sub: Submission, timeout: int | None = None) -> Result:
        """Grade one submission on the cluster now (a confirming re-run, alone)."""
        (future, _), = self._submit(self._course_pack(), [sub], timeout).items()
        return self._receive(sub, future)
