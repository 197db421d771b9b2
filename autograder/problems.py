"""The per-submission problem log: one :class:`Problem` per thing an instructor should know."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

# kind -> what it means (docs/grading.md lists the same table).
KINDS: dict[str, str] = {
    # intake
    "unrecognised-file": "a file in the submissions folder whose name matches no rule; skipped",
    "invalid-zip": "a zip that cannot be read, or is too large; its notebooks count as missing",
    "duplicate-submission": "several files for one student and notebook; the latest was graded",
    "id-disambiguated": "students whose names give the same id; each got a suffix, none merged",
    "missing-submission": "the student submitted other assignments but not this one; scored 0",
    "missing-notebook": "a notebook of the assignment is not in the submission; it scores 0",
    "renamed-notebook": "a notebook under another name was graded as the assignment's notebook",
    "unexpected-notebook": "a notebook that is not part of the assignment; ignored",
    "invalid-notebook": "not a readable Jupyter notebook (bad JSON, schema); it scores 0",
    "empty-file": "an empty notebook file; it scores 0",
    "symlink": "a symbolic link in a submission; not followed, not graded",
    # structure (repaired before grading)
    "deleted-cell": "a locked or graded cell was deleted; it was put back",
    "duplicated-cell": "a cell with an nbgrader id appears several times; only the last is graded",
    "retyped-cell": "an nbgrader cell changed type (code/markdown); its type was restored",
    "restored-cell": "a locked cell (test or setup) was edited; nbgrader restored the original",
    "unknown-cell-metadata": "nbgrader metadata with an unknown id, or broken; it was removed",
    # integrity
    "integrity": "a solution takes a shortcut (course library, master files, tampering)",
    # execution
    "timeout": "a cell ran past the per-cell time limit and was interrupted",
    "timeout-rerun": "a timeout in the batch; graded again alone with longer limits, whose "
                     "result counts (the detail says whether it timed out again)",
    "memory": "a cell hit the memory limit (MemoryError) or the kernel died of it",
    "cpu-time": "the kernel used up its CPU-time limit and was killed",
    "kernel-died": "the kernel died (os._exit, crash); it was restarted and the notebook resumed",
    "not-run": "cells not run because the kernel died too often",
    "output-cut": "a cell's output was too long (characters or image bytes); the rest was cut "
                  "from the graded notebook and the feedback (grades unchanged)",
    "autograde-failed": "nbgrader could not grade the submission at all; it scores 0",
    "worker-lost": "on a Dask cluster, every worker that graded this submission died (more "
                   "times than the scheduler's allowed-failures); it scores 0",
    "feedback-failed": "nbgrader could not render the feedback HTML",
    "sandbox": "a sandbox feature the OS refused (the kernel ran with less isolation)",
}

FIELDS = ("student_id", "assignment", "notebook", "kind", "cell", "detail")


@dataclass(frozen=True, order=True)
class Problem:
    """One line of the problem log."""

    student_id: str
    assignment: str
    notebook: str
    kind: str
    cell: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown problem kind {self.kind!r}")

    def line(self) -> str:
        """One human-readable line, as printed in the report and on the console."""
        where = "/".join(x for x in (self.assignment, self.notebook) if x)
        cell = f" [{self.cell}]" if self.cell else ""
        return f"{self.student_id or '-'} {where}{cell}: {self.kind}: {self.detail}"


def write_problem_log(problems: list[Problem], out: Path) -> None:
    """Write ``problems.csv`` and ``problems.json`` (sorted, so re-runs give the same bytes)."""
    rows = sorted(set(problems))
    with open(out / "problems.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        for p in rows:
            writer.writerow([getattr(p, f) for f in FIELDS])
    (out / "problems.json").write_text(
        json.dumps([asdict(p) for p in rows], indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8")
