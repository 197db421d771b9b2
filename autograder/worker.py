"""One grading job in its own process: ``python -m autograder.worker SPEC.json``.

Runs inside a private, temporary nbgrader course that holds exactly one submission (so no two
processes ever write to the same gradebook): nbgrader autograde, then the integrity decisions
(score 0 and a comment on flagged exercises, unless flag-only), then nbgrader
generate_feedback, and writes what it found to ``result.json`` next to the spec. The parent
process merges these results into the class gradebook on its own.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

# The spec path of the job being graded (the last one when idle): what to clean up if the
# grading process that started this one dies.
_current: dict = {}


def _load_config(course: Path, spec: dict):
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    cfg.CourseDirectory.root = str(course)
    cfg.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    cfg.CourseDirectory.assignment_id = spec["assignment"]
    cfg.CourseDirectory.student_id = spec["student"]
    cfg.SandboxExecute.events_file = spec["events_file"]
    cfg.LimitOutput.events_file = spec["events_file"]
    # ipc transport: the kernel's sockets are files with this prefix, in the runtime folder
    # the kernel may write to (its working directory is read-only for it).
    cfg.KernelManager.transport = "ipc"
    cfg.KernelManager.ip = spec["ipc_prefix"]
    return cfg


def _run(converter_cls, cfg, log_stream, force=True):
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=cfg)
    app = converter_cls(coursedir=coursedir, config=cfg)
    app.force = force
    handler = logging.StreamHandler(log_stream)
    handler.setFormatter(logging.Formatter("[%(name)s | %(levelname)s] %(message)s"))
    app.log.addHandler(handler)
    app.log.setLevel(logging.INFO)
    try:
        app.start()
        return True, ""
    except BaseException as exc:  # nbgrader raises NbGraderException, SystemExit, ...
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        app.log.removeHandler(handler)


def _apply_integrity(db_url: str, spec: dict) -> None:
    """Score 0 on flagged graded cells (manual score) and explain it in a comment."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        for notebook, plan in spec["integrity"].items():
            try:
                sub_nb = gb.find_submission_notebook(notebook, spec["assignment"],
                                                     spec["student"])
            except MissingEntry:
                continue
            if plan["zero"]:
                sub_nb.flagged = True
            for grade_id in plan["zero"]:
                try:
                    grade = gb.find_grade(grade_id, notebook, spec["assignment"],
                                          spec["student"])
                except MissingEntry:
                    continue
                grade.manual_score = 0.0
                grade.needs_manual_grade = False
            for solution_id, text in plan["comments"].items():
                try:
                    comment = gb.find_comment(solution_id, notebook, spec["assignment"],
                                              spec["student"])
                except MissingEntry:
                    continue
                comment.manual_comment = text
            gb.db.commit()


def _collect(db_url: str, spec: dict) -> dict:
    from nbgrader.api import Gradebook, MissingEntry

    out = {"timestamp": None, "notebooks": {}}
    with Gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(spec["assignment"], spec["student"])
        except MissingEntry:
            return out
        out["timestamp"] = sub.timestamp.isoformat() if sub.timestamp else None
        for nb in sub.notebooks:
            out["notebooks"][nb.name] = {
                "grades": {g.name: {"auto": g.auto_score, "manual": g.manual_score,
                                    "max": g.max_score} for g in nb.grades},
                "comments": {c.name: c.manual_comment for c in nb.comments if c.manual_comment},
                "flagged": bool(nb.flagged),
            }
    return out


def _orphaned() -> None:
    """The grading process that started this one is gone (a killed cluster worker): kill this
    job's kernels and every process of its submission's uid, unmount its runtime folder,
    remove the dead grader's work folders, then end this process and its group."""
    from .runner import _kill_kernels, _kill_uid
    from .sandbox import unmount, unmount_below

    spec_path, spec = _current.get("path"), _current.get("spec") or {}
    if spec_path is not None:
        w = Path(spec_path).parent
        # the kernels' connection files (jupyter_client makes them in the temp folder and
        # removes them at a shutdown that will not happen now): they hold the channels' key
        leftovers = _connection_files(w / "kernel.pids")
        _kill_kernels(w / "kernel.pids")
        for path in leftovers:
            try:
                os.unlink(path)
            except OSError:
                pass
        if os.geteuid() == 0 and spec.get("uid") is not None:
            _kill_uid(int(spec["uid"]))
        if os.path.ismount(w / "runtime"):
            unmount(str(w / "runtime"))
    for folder in spec.get("orphan_cleanup", []):
        unmount_below(folder)  # the dead grader's other jobs may have left theirs
        shutil.rmtree(folder, ignore_errors=True)
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _connection_files(pidfile: Path) -> list[str]:
    """The ``-f`` connection file of each kernel launcher listed in ``pidfile``."""
    files = []
    try:
        pids = pidfile.read_text(encoding="utf-8").split()
    except OSError:
        return files
    for pid in pids:
        try:
            argv = Path(f"/proc/{int(pid)}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        files += [os.fsdecode(argv[i + 1]) for i, arg in enumerate(argv[:-1]) if arg == b"-f"]
    return files


def _watch_parent(parent: int, interval: float = 0.5) -> None:
    """Call :func:`_orphaned` once this process's parent is no longer ``parent``."""
    while os.getppid() == parent:
        time.sleep(interval)
    _orphaned()


def grade_one(spec_path: Path) -> None:
    """Grade the one submission described by the spec file; always writes result.json."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    _current.update(path=spec_path, spec=spec)
    course = Path(spec["course"])
    result = {"autograde_ok": False, "autograde_error": "", "feedback_ok": False,
              "feedback_error": "", "grades": {}, "log": ""}
    log = io.StringIO()
    # Everything nbgrader writes is private to the grader; LockDown opens only the kernel's
    # working folder (not the notebook with the hidden tests).
    os.umask(0o077)
    os.environ.update(spec.get("env", {}))
    os.chdir(course)
    try:
        from nbgrader.converters import Autograde, GenerateFeedback

        cfg = _load_config(course, spec)
        db_url = cfg.CourseDirectory.db_url
        ok, error = _run(Autograde, cfg, log)
        result["autograde_ok"], result["autograde_error"] = ok, error
        if ok:
            _apply_integrity(db_url, spec)
            ok, error = _run(GenerateFeedback, cfg, log)
            result["feedback_ok"], result["feedback_error"] = ok, error
        result["grades"] = _collect(db_url, spec)
    except BaseException:  # report, never hang the parent
        result["autograde_error"] = result["autograde_error"] or traceback.format_exc()
    result["log"] = log.getvalue()[-20000:]
    partial = spec_path.parent / "result.json.part"
    partial.write_text(json.dumps(result), encoding="utf-8")
    partial.replace(spec_path.parent / "result.json")  # atomic: the parent polls for it


def main(argv: list[str] | None = None) -> int:
    """``worker SPEC.json`` grades one submission; ``worker --serve`` grades one spec path per
    line of standard input, so that a grading slot pays nbgrader's import time only once."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--serve":
        import nbgrader.converters  # noqa: F401  (import once, before the first job)

        threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()

        for line in sys.stdin:
            if line.strip():
                grade_one(Path(line.strip()))
        return 0
    grade_one(Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
