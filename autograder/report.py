"""The class report (HTML + a score-distribution PNG), the machine-readable results, and the
feedback page of a notebook that could not be graded.

Everything written here depends only on the grading results and the submissions, never on
paths of the run, so grading the same submissions twice gives the same files; the one
exception is the grading time per student in ``report.html``, in cells that
:func:`without_timings` masks (compare reports through it).
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .course import Course
from .problems import KINDS, Problem
from .runner import Result
from .similarity import MIN_FINGERPRINTS, THRESHOLD, Similarity

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def message_key(message: str) -> str:
    """A failure message with its numbers masked, so that the same mistake on other values
    counts as the same message: ``expected 0.5, got 0.3`` -> ``expected #, got #``."""
    return _NUMBER.sub("#", " ".join(message.split()))[:200]


# ---------------------------------------------------------------------------------------------
# Hidden-test failures
# ---------------------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: What every test cell prints once its visible asserts have passed (the hidden block follows).
VISIBLE_PASS = "\u2705"
#: How every failure message of the course's hidden tests starts (coursekit/preamble.py).
HIDDEN_PREFIX = "hidden case"
#: The function the hidden block of a test cell runs in (coursekit.hidden.HIDDEN_RUNNER).
HIDDEN_FRAME = "_hidden_tests"


@dataclass(frozen=True)
class HiddenFailure:
    """A test cell that failed in its hidden block: which hidden case, and why."""

    case: str  # what the case checks, e.g. "layer_forward with X of shape (1, 1) ..."; or ""
    why: str  # the rest of the message: what went wrong
    error: str  # "ename: evalue" as raised

    def as_dict(self) -> dict:
        """Plain JSON data."""
        return {"case": self.case, "why": self.why, "error": self.error}


def _text(output) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else str(text)


def hidden_failure(outputs: list) -> HiddenFailure | None:
    """The hidden failure of a graded cell from its outputs, or None if it did not fail there.

    A cell failed in its hidden block when its error says ``hidden case ...``, or its traceback
    runs through the hidden block's function, or it printed the visible-pass line before the
    error (e.g. it timed out or crashed during the hidden cases).
    """
    printed = []
    for output in outputs or []:
        kind = output.get("output_type")
        if kind == "stream":
            printed.append(_text(output))
        if kind != "error":
            continue
        ename = str(output.get("ename", "Error"))
        evalue = str(output.get("evalue", "")).strip()
        traceback = _ANSI.sub("", "\n".join(str(t) for t in output.get("traceback", [])))
        named = evalue.startswith(HIDDEN_PREFIX)
        if not (named or HIDDEN_FRAME in traceback or VISIBLE_PASS in "".join(printed)):
            return None
        error = f"{ename}: {evalue}".strip()[:1000]
        if named:
            case, _, why = evalue[len(HIDDEN_PREFIX):].strip().partition(": ")
            return HiddenFailure(case.strip()[:300], (why.strip() or evalue)[:700], error)
        lines = evalue.splitlines()
        return HiddenFailure("", f"{ename}: {lines[0] if lines else ''}".strip()[:700], error)
    return None


def hidden_failures(path: Path) -> dict[str, HiddenFailure]:
    """grade_id -> :class:`HiddenFailure` of the graded cells of an autograded notebook that
    failed in their hidden block ({} if the notebook cannot be read)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # an unreadable autograded notebook has nothing to report
        return {}
    out = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and meta.get("grade_id"):
            found = hidden_failure(cell.get("outputs", []))
            if found:
                out[meta["grade_id"]] = found
    return out


def collect_hidden(results: list[Result]) -> dict[tuple[str, str], dict[str, dict]]:
    """(student, assignment) -> notebook -> grade_id -> :class:`HiddenFailure`, read from each
    result's autograded notebooks."""
    out: dict[tuple[str, str], dict[str, dict]] = {}
    for r in results:
        for name, path in sorted(r.autograded.items()):
            found = hidden_failures(Path(path))
            if found:
                out.setdefault((r.student, r.assignment), {})[name] = found
    return out


def _integrity_zeroed(problems: list[Problem]) -> dict[tuple[str, str, str], set[str]]:
    """(student, assignment, notebook) -> test cells scored 0 by an integrity finding."""
    out: dict[tuple[str, str, str], set[str]] = {}
    for p in problems:
        if p.kind == "integrity" and "scored 0: " in p.detail:
            tests = p.detail.rsplit("scored 0: ", 1)[1]
            out.setdefault((p.student_id, p.assignment, p.notebook), set()).update(
                t.strip() for t in tests.split(",") if t.strip())
    return out


def score_plot(course: Course, scores: dict, path: Path) -> None:
    """Histogram of the percentage scores of every assignment (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    n = len(course.assignments)
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 3.4), squeeze=False, constrained_layout=True)
    for ax, assignment in zip(axes[0], course.assignments, strict=True):
        values = [100.0 * v["score"] / v["max_score"] if v["max_score"] else 0.0
                  for (_s, a), v in sorted(scores.items()) if a == assignment]
        ax.hist(values, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.0001],
                color="tab:blue", edgecolor="white")
        ax.set(title=f"{assignment} ({len(values)} students)", xlabel="score (%)",
               ylabel="students", xlim=(0, 100))
        ax.yaxis.get_major_locator().set_params(integer=True)
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


def exercise_stats(course: Course, results: list[Result], scores: dict) -> dict:
    """Per assignment, per graded cell: pass rate, mean points and the commonest failures."""
    stats: dict[str, list[dict]] = {}
    for assignment in course.assignments:
        rows = []
        subs = [(r, scores.get((r.student, assignment))) for r in results
                if r.assignment == assignment]
        for master in course.masters[assignment]:
            for cell in master.graded:
                got = [s["cells"].get((master.name, cell.grade_id), (0.0, cell.points))[0]
                       for _r, s in subs if s]
                messages = Counter()
                samples: dict[str, str] = {}
                for r, _s in subs:
                    for message in r.failures.get(master.name, {}).get(cell.grade_id, []):
                        key = message_key(message)
                        messages[key] += 1
                        samples.setdefault(key, message)
                full = sum(1 for g in got if g >= cell.points)
                rows.append({
                    "notebook": master.name, "cell": cell.grade_id,
                    "exercise": master.exercise_of(cell.grade_id) or "",
                    "points": cell.points, "students": len(got),
                    "full": full, "zero": sum(1 for g in got if g <= 0),
                    "pass_rate": (full / len(got)) if got else 0.0,
                    "mean": (sum(got) / len(got)) if got else 0.0,
                    "failures": [{"message": samples[k], "pattern": k, "count": c}
                                 for k, c in sorted(messages.items(), key=lambda kc: (-kc[1],
                                                                                      kc[0]))[:5]],
                })
        stats[assignment] = rows
    return stats


def write_results_json(course: Course, results: list[Result], scores: dict,
                       problems: list[Problem], path: Path,
                       hidden: dict | None = None, similar: Similarity | None = None) -> None:
    """``results.json``: per student and assignment, scores per cell (with the hidden case a
    cell failed and why), failure messages, integrity findings, problems, and the exercises
    whose solution is near-identical to another student's or to a reference."""
    by_key = {(r.student, r.assignment): r for r in results}
    hidden = hidden or {}
    out = []
    for (student, assignment), s in sorted(scores.items()):
        r = by_key.get((student, assignment))
        mine = hidden.get((student, assignment), {})
        cells = {}
        for (nb, gid), v in sorted(s["cells"].items()):
            cells[f"{nb}/{gid}"] = {"score": v[0], "max_score": v[1]}
            if gid in mine.get(nb, {}):
                cells[f"{nb}/{gid}"]["hidden"] = mine[nb][gid].as_dict()
        record = {
            "student_id": student, "assignment": assignment,
            "score": s["score"], "max_score": s["max_score"],
            "cells": cells,
            "failures": {nb: dict(sorted(f.items())) for nb, f in sorted(
                (r.failures if r else {}).items())},
            "integrity": [{"notebook": nb, "cell": f.cell, "rule": f.rule, "line": f.line,
                           "code": f.code, "detail": f.detail}
                          for nb, fs in sorted((r.findings if r else {}).items()) for f in fs],
            "problems": [p.line() for p in sorted(set(problems))
                         if (p.student_id, p.assignment) == (student, assignment)],
        }
        if r is not None and r.sandbox:  # the isolation this submission's kernel really had
            # (uids differ from run to run; the file must not)
            record["sandbox"] = {k: [re.sub(r"^uid=\d+$", "uid=own", x)
                                     for x in r.sandbox.get(k, [])]
                                 for k in ("applied", "failed")}
        if similar is not None:
            record["similarity"] = similar.of(student, assignment)
        out.append(record)
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:70em;
color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}
.bar{display:inline-block;height:.8em;background:#4c8}.bad{color:#b00}code{font-size:90%}
small{color:#666}
table.grid td,table.grid th{padding:.15em .35em;font-size:85%;text-align:center}
table.grid th.x{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal}
td.full{background:#d9f2d9}td.part{background:#fff1c2}td.zero{background:#f8d0d0}
td.hid{outline:2px solid #b00;outline-offset:-2px}sup{color:#b00;font-weight:bold}
"""

#: The class of the grading-time cells of ``report.html`` (see :func:`without_timings`).
TIME_CELL = '<td class="n t">'
_TIME = re.compile(re.escape(TIME_CELL) + r"[^<]*</td>")


def without_timings(text: str) -> str:
    """``report.html``'s text with every grading time replaced by ``#``: the report of a
    re-run on the same submissions is then the same text."""
    return _TIME.sub(TIME_CELL + "#</td>", text)


def _e(text: object) -> str:
    return html.escape(str(text))


def _grid(course: Course, results: list[Result], scores: dict, problems: list[Problem],
          hidden: dict) -> list[str]:
    """One table per assignment: a row per student, a column per graded cell (its points,
    coloured; H: failed in the hidden tests, I: scored 0 by an integrity finding), the
    total, the grading time and what kept a notebook from being graded (or from feedback)."""
    by_key = {(r.student, r.assignment): r for r in results}
    zeroed = _integrity_zeroed(problems)
    students = sorted({s for s, _a in scores})
    parts = ["<h2>Students &times; exercises</h2><p>Points per test cell. "
             "<sup>H</sup> passed its visible tests but failed a hidden case (see "
             "<a href='#hidden'>hidden-test failures</a>); <sup>I</sup> scored 0 by an "
             "integrity finding. Hover a cell for its failure message. "
             "<i>time</i>: seconds to grade the submission.</p>"]
    for a in course.assignments:
        columns = [(m.name, c, m.exercise_of(c.grade_id) or "") for m in course.masters[a]
                   for c in m.graded]
        parts.append(f"<h3>{_e(a)}</h3><table class=grid><tr><th>student</th>" + "".join(
            f"<th class=x title='{_e(nb)}/{_e(c.grade_id)}, {c.points:g} pt'>"
            f"{_e(ex or c.grade_id)} <small>({c.points:g})</small></th>"
            for nb, c, ex in columns)
            + f"<th>total <small>({course.max_score(a):g})</small></th><th>time (s)</th>"
              "<th>grading problems</th></tr>")
        for student in students:
            v = scores.get((student, a))
            if v is None:
                continue
            r = by_key.get((student, a))
            mine = hidden.get((student, a), {})
            row = [f"<tr><td>{_e(student)}</td>"]
            for nb, c, _ex in columns:
                got = v["cells"].get((nb, c.grade_id))
                points = got[0] if got else 0.0
                css = "full" if points >= c.points else ("part" if points > 0 else "zero")
                marks, title = "", ""
                failed = mine.get(nb, {}).get(c.grade_id)
                if failed:
                    css += " hid"
                    marks += "<sup>H</sup>"
                    title = (f"hidden case {failed.case}: {failed.why}" if failed.case
                             else failed.why)
                if c.grade_id in zeroed.get((student, a, nb), set()):
                    marks += "<sup>I</sup>"
                    title = title or "scored 0 by an integrity finding"
                if not title and r is not None:
                    title = "; ".join(r.failures.get(nb, {}).get(c.grade_id, []))
                attr = f" title='{_e(title[:300])}'" if title else ""
                row.append(f"<td class='{css}'{attr}>{points:g}{marks}</td>")
            row.append(f"<td class=n>{v['score']:g}</td>")
            row.append(f"{TIME_CELL}{r.seconds:.1f}</td>" if r is not None
                       else "<td class=n>&ndash;</td>")
            blocking = sorted({p.kind for p in problems
                               if (p.student_id, p.assignment) == (student, a)
                               and p.kind in UNGRADED and not p.cell})
            row.append(f"<td>{_e(', '.join(blocking))}</td></tr>")
            parts.append("".join(row))
        parts.append("</table>")
    return parts


def _hidden_section(course: Course, hidden: dict) -> list[str]:
    """Every hidden-test failure: student, test cell, the hidden case and why it failed."""
    parts = ["<h2 id=hidden>Hidden-test failures</h2><p>Test cells whose visible tests "
             "passed but a hidden case failed: the case, and the message the student's code "
             "got (students see the message in their feedback, not the hidden code).</p>"]
    rows = []
    for (student, a), notebooks in sorted(hidden.items()):
        order = {(m.name, c.grade_id): i for m in course.masters.get(a, [])
                 for i, c in enumerate(m.cells)}
        for nb, cells in sorted(notebooks.items()):
            for gid, f in sorted(cells.items(), key=lambda kv: order.get((nb, kv[0]), 0)):
                rows.append(f"<tr><td>{_e(student)}</td><td><code>{_e(a)}/{_e(nb)}/{_e(gid)}"
                            f"</code></td><td>{_e(f.case) or '&ndash;'}</td>"
                            f"<td><code>{_e(f.why)}</code></td></tr>")
    if not rows:
        return parts + ["<p>None.</p>"]
    return parts + ["<table><tr><th>student</th><th>test cell</th><th>hidden case</th>"
                    "<th>why it failed</th></tr>", *rows, "</table>"]


def _similarity_section(similar: Similarity | None) -> list[str]:
    """Near-identical solutions: groups of students per exercise, matches with the
    references, and the exercises that were not compared."""
    parts = ["<h2 id=similarity>Similar solutions</h2>"]
    if similar is None:
        return parts + ["<p>Not computed.</p>"]
    parts.append(
        f"<p>Solutions of the same exercise that are near-identical once names, comments, "
        f"docstrings and layout are normalised and the statements' order is ignored (share "
        f"of code fingerprints in common &ge; {THRESHOLD:g}). This is a list to look at, "
        f"<b>not evidence and never a penalty</b>: short or standard answers can coincide "
        f"honestly. A group is students linked by such pairs.</p>")
    groups = similar.groups()
    if groups:
        parts.append("<table><tr><th>exercise</th><th>students</th><th>similarity</th></tr>")
        for (a, nb, ex), members, pairs in groups:
            low, high = min(m.score for m in pairs), max(m.score for m in pairs)
            span = f"{high:.2f}" if low == high else f"{low:.2f}&ndash;{high:.2f}"
            who = ", ".join(_e(m) for m in members)
            label = who if len(members) == 2 else f"{who} <small>({len(members)} students, "\
                f"{len(pairs)} pairs)</small>"
            parts.append(f"<tr><td><code>{_e(a)}/{_e(nb)}/{_e(ex)}</code></td><td>{label}</td>"
                         f"<td class=n>{span}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No pair of students with near-identical solutions.</p>")
    parts.append("<h3>Near-identical to a reference</h3><p>The master notebook's solution, or "
                 "a function of <code>scratchnn/functional.py</code> with the exercise's "
                 "function name (share of the student's function found in it).</p>")
    if similar.reference:
        parts.append("<table><tr><th>exercise</th><th>reference</th><th>students</th>"
                     "<th>similarity</th></tr>")
        for (a, nb, ex), ref, matches in similar.references():
            low, high = min(m.score for m in matches), max(m.score for m in matches)
            span = f"{high:.2f}" if low == high else f"{low:.2f}&ndash;{high:.2f}"
            who = ", ".join(_e(m.first) for m in matches)
            if len(matches) > 2:
                who += f" <small>({len(matches)} students)</small>"
            parts.append(f"<tr><td><code>{_e(a)}/{_e(nb)}/{_e(ex)}</code></td><td><code>"
                         f"{_e(ref)}</code></td><td>{who}</td><td class=n>{span}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    if similar.skipped:
        parts.append(f"<p><small>Not compared (fewer than {MIN_FINGERPRINTS} fingerprints: too "
                     f"short to tell copying from the obvious answer): " + ", ".join(
                         f"<code>{_e(a)}/{_e(nb)}/{_e(ex)}</code>"
                         for a, nb, ex in similar.skipped) + ".</small></p>")
    return parts


def write_html(course: Course, results: list[Result], scores: dict, problems: list[Problem],
               stats: dict, out: Path, settings_text: str, sandbox: dict,
               hidden: dict | None = None, similar: Similarity | None = None) -> None:
    """``report.html`` next to ``score_distribution.png`` and ``feedback/``: summary, score
    distribution, the student x exercise grid (with grading times), hidden-test failures,
    per-exercise statistics, common failures, similar solutions, students, problems."""
    hidden = hidden or {}
    parts = [f"<!doctype html><meta charset='utf-8'><title>Grading report: "
             f"{_e(course.course_id)}</title><style>{_CSS}</style>",
             f"<h1>Grading report: {_e(course.course_id)}</h1>",
             f"<p><small>{_e(settings_text)}</small></p>"]
    students = sorted({s for s, _a in scores})
    parts.append("<h2>Summary</h2><table><tr><th>assignment</th><th>students</th>"
                 "<th>submitted</th><th>mean</th><th>median</th><th>max points</th>"
                 "<th>full marks</th><th>students flagged</th></tr>")
    for a in course.assignments:
        vals = sorted(v["score"] for (s, aa), v in scores.items() if aa == a)
        submitted = sum(1 for (s, aa), v in scores.items() if aa == a and v["submitted"])
        top = course.max_score(a)
        flags = len({p.student_id for p in problems
                     if p.assignment == a and p.kind == "integrity"})
        median = vals[len(vals) // 2] if vals else 0.0
        mean = sum(vals) / len(vals) if vals else 0.0
        parts.append(f"<tr><td>{_e(a)}</td><td class=n>{len(vals)}</td><td class=n>{submitted}"
                     f"</td><td class=n>{mean:.2f}</td><td class=n>{median:.2f}</td>"
                     f"<td class=n>{top:g}</td><td class=n>"
                     f"{sum(1 for v in vals if v >= top)}</td><td class=n>{flags}</td></tr>")
    parts.append("</table><h2>Score distribution</h2>"
                 "<p><img src='score_distribution.png' alt='score distribution'></p>")

    parts += _grid(course, results, scores, problems, hidden)
    parts += _hidden_section(course, hidden)

    parts.append("<h2>Exercises</h2>")
    for a, rows in stats.items():
        parts.append(f"<h3>{_e(a)}</h3><table><tr><th>test cell</th><th>points</th>"
                     "<th>pass rate (full points)</th><th>mean</th><th>zero</th>"
                     "<th>most common failures</th></tr>")
        for row in rows:
            width = int(round(100 * row["pass_rate"]))
            fails = "<br>".join(f"{f['count']}&times; <code>{_e(f['message'][:160])}</code>"
                                for f in row["failures"]) or "&ndash;"
            parts.append(
                f"<tr><td><code>{_e(row['notebook'])}/{_e(row['cell'])}</code></td>"
                f"<td class=n>{row['points']:g}</td><td><span class=bar style='width:"
                f"{width / 2:.0f}px'></span> {100 * row['pass_rate']:.0f}% "
                f"<small>({row['full']}/{row['students']})</small></td>"
                f"<td class=n>{row['mean']:.2f}</td><td class=n>{row['zero']}</td>"
                f"<td>{fails}</td></tr>")
        parts.append("</table>")

    overall = Counter()
    sample = {}
    for r in results:
        for per_nb in r.failures.values():
            for messages in per_nb.values():
                for m in messages:
                    overall[message_key(m)] += 1
                    sample.setdefault(message_key(m), m)
    parts.append("<h2>Most common failure messages</h2><table><tr><th>count</th>"
                 "<th>message (numbers vary)</th></tr>")
    for key, count in sorted(overall.items(), key=lambda kc: (-kc[1], kc[0]))[:15]:
        parts.append(f"<tr><td class=n>{count}</td><td><code>{_e(sample[key][:200])}</code>"
                     f"</td></tr>")
    parts.append("</table>")

    parts += _similarity_section(similar)

    parts.append("<h2>Students</h2><table><tr><th>student</th>" + "".join(
        f"<th>{_e(a)}</th>" for a in course.assignments) + "<th>problems</th>"
        "<th>feedback</th></tr>")
    for s in students:
        cells = []
        links = []
        for a in course.assignments:
            v = scores.get((s, a))
            cells.append(f"<td class=n>{v['score']:g} / {v['max_score']:g}</td>" if v
                         else "<td></td>")
            for nb in course.notebook_names(a):
                href = f"feedback/{s}/{a}/{nb}.html"
                if (out / href).is_file():
                    links.append(f"<a href='{_e(href)}'>{_e(a)}/{_e(nb)}</a>")
        mine = Counter(p.kind for p in problems if p.student_id == s)
        text = ", ".join(f"{k}&times;{n}" if n > 1 else k for k, n in sorted(mine.items()))
        parts.append(f"<tr><td>{_e(s)}</td>{''.join(cells)}<td>{text or '&ndash;'}</td>"
                     f"<td>{' '.join(links) or '&ndash;'}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Problems</h2><p>Also in <code>problems.csv</code> and "
                 "<code>problems.json</code>.</p><table><tr><th>kind</th><th>count</th>"
                 "<th>meaning</th></tr>")
    counts = Counter(p.kind for p in set(problems))
    for kind in KINDS:
        if counts.get(kind):
            parts.append(f"<tr><td>{kind}</td><td class=n>{counts[kind]}</td>"
                         f"<td>{_e(KINDS[kind])}</td></tr>")
    parts.append("</table><table><tr><th>student</th><th>where</th><th>kind</th>"
                 "<th>detail</th></tr>")
    for p in sorted(set(problems)):
        where = "/".join(x for x in (p.assignment, p.notebook, p.cell) if x)
        parts.append(f"<tr><td>{_e(p.student_id or '-')}</td><td><code>{_e(where)}</code></td>"
                     f"<td>{_e(p.kind)}</td><td>{_e(p.detail[:400])}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Sandbox</h2><ul>" + "".join(
        f"<li>{_e(x)}</li>" for x in sandbox.get("applied", [])) + "".join(
        f"<li class=bad>not available: {_e(x)}</li>" for x in sandbox.get("failed", []))
        + "</ul>")
    (out / "report.html").write_text("\n".join(parts) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Feedback for a notebook that was not graded
# ---------------------------------------------------------------------------------------------

# kind -> (why, what to do), in the order a reason is picked; {nb}: the notebook's name.
UNGRADED: dict[str, tuple[str, str]] = {
    "missing-submission": (
        "Nothing was received from you for this assignment.",
        "If you did hand something in, send your instructor the file and the time you "
        "submitted it, and check that the upload went to this assignment."),
    "invalid-zip": (
        "The zip file you handed in could not be read (it is damaged, not really a zip, or "
        "too large), so no notebook could be taken from it.",
        "Hand in the notebook itself, {nb}.ipynb, or a zip made with your system's "
        "\u201ccompress\u201d command that contains it. Check the file opens on your computer "
        "before uploading it."),
    "empty-file": (
        "The file you handed in is empty (0 bytes), so there was nothing to grade.",
        "This usually means the notebook was not saved before it was uploaded, or the upload "
        "was interrupted. Open your notebook in JupyterLab, save it (File \u203a Save "
        "Notebook), check that the file is not empty, and hand in {nb}.ipynb again."),
    "invalid-notebook": (
        "The file you handed in is not a readable Jupyter notebook, so it could not be run.",
        "This happens when a download or upload is cut short, when the .ipynb file was "
        "edited in a text editor, or when another kind of file was renamed to .ipynb. Check "
        "that your copy opens in JupyterLab; if it does not, restore it (File \u203a Revert "
        "Notebook to Checkpoint) or copy your solutions into a fresh copy of the released "
        "notebook. Then hand in {nb}.ipynb again."),
    "symlink": (
        "What you handed in for {nb}.ipynb is a symbolic link (a pointer to another file), "
        "not the notebook itself; the grader never follows links, so nothing was read.",
        "Hand in the notebook file itself: in JupyterLab, right-click {nb}.ipynb and choose "
        "Download, then upload that file (or a zip of it). If your submission comes from a "
        "git repository, commit the notebook, not a link to it."),
    "missing-notebook": (
        "Your submission does not contain {nb}.ipynb.",
        "Hand in the notebook under its original name, {nb}.ipynb (a zip of the assignment "
        "folder also works)."),
    "timeout": (
        "Grading your notebook took longer than the time allowed for a whole notebook, and "
        "was stopped.",
        "Look for a loop that never ends or a very slow cell: restart the kernel and run all "
        "cells (Kernel \u203a Restart Kernel and Run All Cells) and check every cell "
        "finishes. Your instructor has the details."),
    "autograde-failed": (
        "The grader could not run your notebook to the end.",
        "This is not necessarily your mistake: your instructor has the details and will "
        "look at it. Meanwhile, check that the notebook runs from top to bottom after a "
        "restart (Kernel \u203a Restart Kernel and Run All Cells)."),
    "worker-lost": (
        "The grading machine that ran your notebook stopped each time it tried, so your "
        "notebook was not graded.",
        "This is not necessarily your mistake: your instructor has the details and will "
        "grade it again. Meanwhile, check that the notebook runs from top to bottom after a "
        "restart (Kernel \u203a Restart Kernel and Run All Cells) without using a lot of "
        "memory or starting other programs."),
    "feedback-failed": (
        "Your notebook was graded, but the detailed feedback page could not be produced.",
        "Your points per test are below. Ask your instructor if you need the messages of a "
        "failing test."),
}
# Kinds whose detail is about the student's own file, so it is shown to them.
_SHOWN = {"missing-submission", "invalid-zip", "empty-file", "invalid-notebook",
          "missing-notebook"}
_UNKNOWN = ("Your notebook could not be graded.",
            "Contact your instructor; they have the details of this grading run.")


def missing_feedback(student: str, assignment: str, notebook: str, problems: list[Problem],
                     score: float, max_score: float, cells: list[tuple[str, float, float]]
                     ) -> str:
    """The feedback page of a notebook that has no nbgrader feedback: why it was not graded
    (from its ``problems``: the student's, this assignment's, this notebook's or the whole
    submission's) and what to do; ``cells``: (test cell, points, max points) to list."""
    mine = sorted({p for p in problems if p.student_id == student and not p.cell
                   and p.assignment == assignment and p.notebook in ("", notebook)})
    kinds = [p.kind for p in mine]
    reason = next((k for k in UNGRADED if k in kinds), None)
    why, todo = UNGRADED.get(reason, _UNKNOWN)
    details = [p.detail for p in mine if p.kind == reason and p.kind in _SHOWN and p.detail]
    state = "graded, no detailed feedback" if reason == "feedback-failed" else "not graded"
    title = f"{assignment}/{notebook}.ipynb: {state}"
    parts = [f"<!doctype html><meta charset='utf-8'><title>{_e(title)}</title>"
             f"<style>{_CSS}</style>",
             f"<h1>{_e(assignment)} &ndash; {_e(notebook)}.ipynb</h1>",
             f"<p>Student: <b>{_e(student)}</b>. Score: <b>{score:g} / {max_score:g}</b>.</p>",
             f"<h2>Why</h2><p>{_e(why.format(nb=notebook))}</p>"]
    if details:
        parts.append("<p>Details: " + "; ".join(f"<code>{_e(d[:300])}</code>" for d in details)
                     + "</p>")
    parts.append(f"<h2>What to do</h2><p>{_e(todo.format(nb=notebook))}</p>")
    if cells and reason == "feedback-failed":
        parts.append("<table><tr><th>test</th><th>points</th></tr>" + "".join(
            f"<tr><td><code>{_e(c)}</code></td><td class=n>{got:g} / {top:g}</td></tr>"
            for c, got, top in cells) + "</table>")
    return "\n".join(parts) + "\n"


def write_missing_feedback(course: Course, scores: dict, problems: list[Problem],
                           out: Path) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for every student and notebook
    that has none yet (a file that could not be read, a missing notebook or submission, a
    grading failure), saying why and what to do; returns the files written."""
    written = []
    for (student, assignment), v in sorted(scores.items()):
        for master in course.masters[assignment]:
            path = out / "feedback" / student / assignment / f"{master.name}.html"
            if path.exists():
                continue
            cells = [(c.grade_id, *v["cells"].get((master.name, c.grade_id), (0.0, c.points)))
                     for c in master.graded]
            text = missing_feedback(student, assignment, master.name, problems,
                                    sum(c[1] for c in cells), master.max_score, cells)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
