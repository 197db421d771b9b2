"""Grade a whole class: intake -> sandboxed nbgrader runs in parallel -> merge -> reports."""

from __future__ import annotations

import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from . import gradebook, report, similarity
from .course import Course
from .intake import discover
from .problems import Problem, write_problem_log
from .runner import Grader, Result, Settings, probe_sandbox

MARKER = ".autograder-output"
MANAGED = ("autograded", "feedback", "gradebook.db", "grades.csv", "problems.csv",
           "problems.json", "results.json", "report.html", "score_distribution.png", MARKER)


class OutputError(RuntimeError):
    """The output folder holds files the autograder did not write."""


@dataclass
class Summary:
    """What a run produced (also printed on the console)."""

    out: Path
    results: list[Result] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    seconds: float = 0.0
    similar: similarity.Similarity | None = None  # near-identical solutions


def prepare_output(out: Path) -> None:
    """Empty the autograder's files from ``out`` (re-runs start clean), refusing to touch a
    folder that has other content and no marker file."""
    if out.exists():
        entries = [p.name for p in out.iterdir()]
        if entries and MARKER not in entries:
            raise OutputError(
                f"{out} is not empty and was not written by the autograder; choose another "
                f"--out or empty it")
        for name in MANAGED:
            path = out / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by `python -m autograder grade`; re-runs replace the "
                              "files listed in docs/grading.md\n", encoding="utf-8")


def _log(message: str) -> None:
    print(message, flush=True)


def _copy_outputs(results: list[Result], out: Path) -> None:
    for r in results:
        for name, path in sorted(r.autograded.items()):
            dest = out / "autograded" / r.student / r.assignment / f"{name}.ipynb"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        for name, path in sorted(r.feedback.items()):
            dest = out / "feedback" / r.student / r.assignment / f"{name}.html"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)


class LocalEngine(AbstractContextManager):
    """Grades on this machine: ``settings.jobs`` submissions at a time, each in its own
    sandboxed worker process (the default engine; :mod:`autograder.cluster` is the other)."""

    def __init__(self, grader: Grader) -> None:
        self.grader = grader

    def __exit__(self, *exc) -> None:
        return None

    def grade_all(self, subs: list):
        """Yield (submission, :class:`Result`) as each one finishes."""
        with ThreadPoolExecutor(max_workers=max(1, self.grader.settings.jobs)) as pool:
            futures = {pool.submit(self.grader.grade, sub): sub for sub in subs}
            for future in as_completed(futures):
                sub = futures[future]
                try:
                    r = future.result()
                except Exception as exc:  # Grader.grade does not raise; belt and braces
                    r = Result(sub.student, sub.assignment)
                    r.problems.append(Problem(sub.student, sub.assignment, "",
                                              "autograde-failed", detail=repr(exc)))
                yield sub, r

    def grade_one(self, sub, timeout: int | None = None) -> Result:
        """Grade one submission now (a confirming re-run; ``timeout`` per cell)."""
        return self.grader.grade(sub, timeout=timeout)


def cluster_engine(cluster: str, course: Course, grader: Grader, log):
    """The Dask engine (imported only when asked for: Dask is the grading extra's)."""
    from .cluster import ClusterEngine

    return ClusterEngine(cluster, course, grader, log)


def _similar(course: Course, subs: list, log) -> similarity.Similarity | None:
    """Near-identical solutions in the class; None (and a console line) if the check fails:
    it is advice for the instructor and must never cost the grades."""
    try:
        return similarity.find_similar(course, subs)
    except Exception as exc:  # a bug in the check: report it, keep the grades
        log(f"autograder: similarity check failed: {type(exc).__name__}: {exc}")
        return None


def grade_class(submissions: Path, out: Path, settings: Settings,
                assignments: list[str] | None = None, course_root: Path | None = None,
                roster_path: Path | None = None, log=_log,
                cluster: str | None = None) -> Summary:
    """Grade every submission in ``submissions`` into ``out`` and return the summary.

    ``cluster``: None grades in ``settings.jobs`` local processes; ``"local:N"`` or a Dask
    scheduler address (``tcp://host:8786``) sends one task per submission to Dask workers
    (:mod:`autograder.cluster`); the outputs are the same bytes either way.
    Never stops for a bad submission: whatever goes wrong with one is in the problem log.
    """
    start = time.monotonic()
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    course = Course.load(course_root, assignments)
    if not submissions.is_dir():
        raise FileNotFoundError(f"no such submissions folder: {submissions}")
    prepare_output(out)
    subs, problems = discover(submissions, course, course.assignments)
    roster = gradebook.read_roster(roster_path) if roster_path else {}
    handed_in = {s.student for s in subs}
    for student in sorted(set(roster) - handed_in):
        for assignment in course.assignments:
            problems.append(Problem(student, assignment, "", "missing-submission",
                                    detail="on the roster, nothing handed in; scored 0"))
    where = f"Dask cluster {cluster}" if cluster else f"{settings.jobs} job(s)"
    log(f"autograder: {len(subs)} submission(s) of {len({s.student for s in subs})} student(s) "
        f"for {', '.join(course.assignments)} in {submissions}; {where}, "
        f"{settings.timeout} s per cell, {settings.memory / 2**30:g} GiB, "
        f"{settings.cpu_limit} CPU-s per kernel")
    sandbox = probe_sandbox(settings, hide=[str(course.source)])
    if sandbox.get("failed"):
        log("autograder: sandbox degraded: " + "; ".join(sandbox["failed"]))
    grader = Grader(course, settings, hide=[submissions, out, *settings.hide],
                    known_sandbox_failures=set(sandbox.get("failed", [])))
    results: list[Result] = []
    graded: list = []   # (submission, batch result)
    scores: dict = {}
    similar: similarity.Similarity | None = None
    try:
        grader.build_template()
        engine = (cluster_engine(cluster, course, grader, log) if cluster
                  else LocalEngine(grader))
        with engine:
            for done, (sub, r) in enumerate(engine.grade_all(subs), 1):
                graded.append((sub, r))
                points = sum((g.get("manual") if g.get("manual") is not None
                              else g.get("auto")) or 0.0
                             for nb in r.grades.values() for g in nb.values())
                kinds = sorted({p.kind for p in r.problems})
                log(f"[{done}/{len(subs)}] {r.student} {r.assignment}: {points:g} / "
                    f"{course.max_score(r.assignment):g} points in {r.seconds:.1f} s"
                    + (f"  ({', '.join(kinds)})" if kinds else ""))
            # A timeout counts only once a re-run alone, with longer limits, confirms it.
            results = grader.confirm_timeouts(graded, log, grade=engine.grade_one)
        results.sort(key=lambda r: (r.student, r.assignment))
        for r in results:
            problems.extend(r.problems)
        db = out / "gradebook.db"
        gradebook.build(grader.template / "gradebook.db", db, course, results, roster)
        _copy_outputs(results, out)
        gradebook.export_csv(db, course, out / "grades.csv")
        scores = gradebook.scores(db, course)
        report.write_missing_feedback(course, scores, problems, out)
        hidden = report.collect_hidden(results)
        similar = _similar(course, subs, log)
        write_problem_log(problems, out)
        report.write_results_json(course, results, scores, problems, out / "results.json",
                                  hidden, similar)
        report.score_plot(course, scores, out / "score_distribution.png")
        stats = report.exercise_stats(course, results, scores)
        settings_text = (f"per-cell timeout {settings.timeout} s, memory "
                         f"{settings.memory / 2**30:g} GiB, CPU {settings.cpu_limit} s per "
                         f"kernel, integrity: "
                         f"{'flag only' if settings.flag_only else 'flagged exercises score 0'}")
        report.write_html(course, results, scores, problems, stats, out, settings_text, sandbox,
                          hidden, similar)
    finally:
        grader.cleanup()
    summary = Summary(out=out, results=results, problems=problems, scores=scores,
                      seconds=time.monotonic() - start, similar=similar)
    log(f"autograder: graded in {summary.seconds:.1f} s; {len(set(problems))} problem(s) "
        f"logged; see {out / 'report.html'}")
    return summary


def main_grade(args) -> int:
    """Entry point of ``python -m autograder grade`` (``args`` from :mod:`autograder.cli`)."""
    from .course import CourseError

    settings = Settings(timeout=args.timeout, memory=args.memory, cpu_time=args.cpu_time,
                        jobs=args.jobs, flag_only=args.flag_only,
                        confirm_factor=args.confirm_timeouts,
                        show_hidden_tests=args.show_hidden_tests, network=args.allow_network,
                        keep_work=args.keep_work)
    from .cluster import ClusterError
    from .runner import WorkFolderError

    try:
        grade_class(Path(args.submissions), Path(args.out), settings, args.assignment or None,
                    Path(args.course) if args.course else None,
                    Path(args.roster) if args.roster else None, cluster=args.cluster)
    except (CourseError, OutputError, FileNotFoundError, ClusterError, WorkFolderError) as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 2
    return 0
