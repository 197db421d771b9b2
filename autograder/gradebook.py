"""The class gradebook: written by the parent process only, from the workers' results."""

from __future__ import annotations

import csv
import shutil
import warnings
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from .course import Course
from .runner import Result


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """A CSV with a column ``id`` (or ``student_id``) and optionally ``first_name``,
    ``last_name``, ``email`` (nbgrader's ``db student import`` format)."""
    roster: dict[str, dict[str, str]] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            sid = (row.get("id") or row.get("student_id") or "").strip()
            if sid:
                roster[sid] = {k: (row.get(k) or "").strip() or None
                               for k in ("first_name", "last_name", "email")}
    return roster


def build(template_db: Path, db_path: Path, course: Course, results: list[Result],
          roster: dict[str, dict[str, str]] | None = None) -> None:
    """Create ``db_path`` from the template gradebook (assignments, cells) and add every
    student, submission, grade, comment and flag of ``results``."""
    if db_path.exists():
        db_path.unlink()
    shutil.copy2(template_db, db_path)
    roster = roster or {}
    students = sorted({r.student for r in results} | set(roster))
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db_path}", course.course_id) as gb:
        # nbgrader's add_submission builds rows in an order SQLAlchemy 2 warns about
        warnings.simplefilter("ignore", SAWarning)
        for sid in students:
            gb.update_or_create_student(sid, **roster.get(sid, {}))
        for r in sorted(results, key=lambda r: (r.assignment, r.student)):
            if not (r.graded or r.grades or any(p.kind != "missing-submission"
                                                  for p in r.problems)):
                continue  # nothing handed in: no submission row (nbgrader exports a 0)
            kwargs = {"timestamp": r.timestamp} if r.timestamp else {}
            sub = gb.add_submission(r.assignment, r.student, **kwargs)
            for nb in sub.notebooks:
                grades = r.grades.get(nb.name, {})
                for grade in nb.grades:
                    got = grades.get(grade.name, {})
                    grade.auto_score = got.get("auto") if got.get("auto") is not None else 0.0
                    grade.manual_score = got.get("manual")
                    grade.needs_manual_grade = False
                for comment in nb.comments:
                    text = r.comments.get(nb.name, {}).get(comment.name)
                    if text:
                        comment.manual_comment = text
                nb.flagged = bool(r.flagged.get(nb.name))
            gb.db.commit()


def export_csv(db_path: Path, course: Course, dest: Path) -> None:
    """Write nbgrader's CSV export of the class gradebook (the ``nbgrader export`` columns)."""
    from nbgrader.plugins import CsvExportPlugin

    plugin = CsvExportPlugin()
    plugin.to = str(dest)
    plugin.assignment = list(course.assignments)
    with Gradebook(f"sqlite:///{db_path}", course.course_id) as gb:
        plugin.export(gb)


def scores(db_path: Path, course: Course) -> dict[tuple[str, str], dict]:
    """(student, assignment) -> {"score", "max_score", "cells": {(nb, grade_id): (s, max)}}."""
    out: dict[tuple[str, str], dict] = {}
    with Gradebook(f"sqlite:///{db_path}", course.course_id) as gb:
        for assignment in course.assignments:
            for student in gb.students:
                try:
                    sub = gb.find_submission(assignment, student.id)
                except MissingEntry:
                    out[(student.id, assignment)] = {
                        "score": 0.0, "max_score": course.max_score(assignment), "cells": {},
                        "submitted": False}
                    continue
                cells = {(nb.name, g.name): (float(g.score), float(g.max_score))
                         for nb in sub.notebooks for g in nb.grades}
                out[(student.id, assignment)] = {"score": float(sub.score),
                                                 "max_score": float(sub.max_score),
                                                 "cells": cells, "submitted": True}
    return out
