"""The class report (HTML + a score-distribution PNG) and the machine-readable results.

Everything written here depends only on the grading results, never on timings or paths of
the run, so grading the same submissions twice gives the same files.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from pathlib import Path

from .course import Course
from .problems import KINDS, Problem
from .runner import Result

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def message_key(message: str) -> str:
    """A failure message with its numbers masked, so that the same mistake on other values
    counts as the same message: ``expected 0.5, got 0.3`` -> ``expected #, got #``."""
    return _NUMBER.sub("#", " ".join(message.split()))[:200]


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
                       problems: list[Problem], path: Path) -> None:
    """``results.json``: per student and assignment, scores per cell, flags, problems."""
    by_key = {(r.student, r.assignment): r for r in results}
    out = []
    for (student, assignment), s in sorted(scores.items()):
        r = by_key.get((student, assignment))
        out.append({
            "student_id": student, "assignment": assignment,
            "score": s["score"], "max_score": s["max_score"],
            "cells": {f"{nb}/{gid}": {"score": v[0], "max_score": v[1]}
                      for (nb, gid), v in sorted(s["cells"].items())},
            "failures": {nb: dict(sorted(f.items())) for nb, f in sorted(
                (r.failures if r else {}).items())},
            "integrity": [{"notebook": nb, "cell": f.cell, "rule": f.rule, "line": f.line,
                           "code": f.code, "detail": f.detail}
                          for nb, fs in sorted((r.findings if r else {}).items()) for f in fs],
            "problems": [p.line() for p in sorted(set(problems))
                         if (p.student_id, p.assignment) == (student, assignment)],
        })
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:70em;
color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}
.bar{display:inline-block;height:.8em;background:#4c8}.bad{color:#b00}code{font-size:90%}
small{color:#666}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def write_html(course: Course, results: list[Result], scores: dict, problems: list[Problem],
               stats: dict, out: Path, settings_text: str, sandbox: dict) -> None:
    """``report.html`` next to ``score_distribution.png`` and ``feedback/``."""
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

    parts.append("<h2>Students</h2><table><tr><th>student</th>" + "".join(
        f"<th>{_e(a)}</th>" for a in course.assignments) + "<th>problems</th>"
        "<th>feedback</th></tr>")
    by_key = {(r.student, r.assignment): r for r in results}
    for s in students:
        cells = []
        links = []
        for a in course.assignments:
            v = scores.get((s, a))
            cells.append(f"<td class=n>{v['score']:g} / {v['max_score']:g}</td>" if v
                         else "<td></td>")
            r = by_key.get((s, a))
            for nb in sorted(r.feedback) if r else []:
                href = f"feedback/{s}/{a}/{nb}.html"
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
