"""What the instructor gets from a grading run: the student x exercise grid (hidden-test
failures marked, with the case and why), grading time per student, a feedback page for every
student and notebook (also when the file could not be read), and near-identical solutions
across the class and with the references.

Most tests build Results, scores and submissions by hand (no kernel); one small class of
four students is graded for real, once per module, with ``--jobs 2``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from autograder_corpus import NEURON, Course, set_cell

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import report, similarity  # noqa: E402
from autograder.course import Course as GradedCourse  # noqa: E402
from autograder.intake import Submission  # noqa: E402
from autograder.problems import Problem  # noqa: E402
from autograder.runner import Result  # noqa: E402

RELEASE = ROOT / "release" / NEURON / "neuron.ipynb"

# A layer_forward fitted to the visible tests (inputs with 2 or 3 features): it passes them
# and forgets the bias on the first hidden case, X of shape (1, 1).
FITTED_LAYER = '''\
def layer_forward(X, W, b):
    Z = X @ W
    return Z + b if X.shape[1] in (2, 3) else Z
'''
HIDDEN_WHY = "the weighted sums are right but the bias is missing: add b"
HIDDEN_CASE = "layer_forward with X of shape (1, 1) and W of shape (1, 1)"

# cross_entropy written three ways by "copiers" and twice independently.
CE = '''\
def cross_entropy(logits, labels):
    """Mean cross-entropy."""
    logits = np.asarray(logits, dtype=float)
    shift = logits - logits.max(axis=1, keepdims=True)   # for stability
    log_probs = shift - np.log(np.exp(shift).sum(axis=1, keepdims=True))
    picked = log_probs[np.arange(len(labels)), labels]
    return float(-picked.mean())
'''
CE_RENAMED = '''\
def cross_entropy(logits, labels):
    # my own work
    z = np.asarray(logits, dtype = float)
    s = z - z.max(axis=1, keepdims=True)
    lp = s - np.log(
        np.exp(s).sum(axis=1, keepdims=True)
    )
    chosen = lp[np.arange(len(labels)), labels]
    return float(- chosen.mean())
'''
CE_REORDERED = '''\
def cross_entropy(logits, labels):
    z = np.asarray(logits, dtype=float)
    lp = _log_softmax(z)
    chosen = lp[np.arange(len(labels)), labels]
    return float(-chosen.mean())


def _log_softmax(z):
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))
'''
CE_LOOP = '''\
def cross_entropy(logits, labels):
    logits = np.array(logits, dtype=np.float64)
    n = logits.shape[0]
    total = 0.0
    for i in range(n):
        row = logits[i]
        m = np.max(row)
        lse = m + np.log(np.sum(np.exp(row - m)))
        total += lse - row[labels[i]]
    return total / n
'''
CE_VECTOR = '''\
def cross_entropy(logits, labels):
    x = np.asarray(logits, float)
    mx = np.max(x, axis=1)
    lse = mx + np.log(np.exp(x - mx[:, None]).sum(axis=1))
    correct = x[np.arange(x.shape[0]), labels]
    return float(np.mean(lse - correct))
'''
STANDARDIZE = '''\
def standardize(X_train, X_test):
    mu = X_train.mean(axis=0)
    sd = X_train.std(axis=0)
    sd[sd == 0] = 1.0
    train = (X_train - mu) / sd
    test = (X_test - mu) / sd
    return train, test
'''
STANDARDIZE_SWAPPED = '''\
def standardize(X_train, X_test):
    sigma = X_train.std(axis=0)
    m = X_train.mean(axis=0)
    sigma[sigma == 0] = 1.0
    te = (X_test - m) / sigma
    tr = (X_train - m) / sigma
    return tr, te
'''
# scratchnn.functional.softmax, renamed and with its helper inlined
LIBRARY_SOFTMAX = '''\
def softmax(z, axis=-1):
    arr = np.asarray(z)
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    moved = arr - np.max(arr, axis=axis, keepdims=True)
    ex = np.exp(moved)
    return ex / np.sum(ex, axis=axis, keepdims=True)
'''


@pytest.fixture(scope="module")
def course():
    return GradedCourse.load(ROOT)


@pytest.fixture(scope="module")
def neuron():
    return Course(NEURON, "neuron.ipynb")


def _error(ename, evalue, traceback=()):
    return {"output_type": "error", "ename": ename, "evalue": evalue,
            "traceback": list(traceback)}


def _stream(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


# ----------------------------------------------------------------------------------------------
# Hidden-test failures
# ----------------------------------------------------------------------------------------------

def test_hidden_failure_names_the_case_and_why():
    found = report.hidden_failure([
        _stream("✅ layer_forward passes the visible tests.\n"),
        _error("AssertionError", f"hidden case {HIDDEN_CASE}: {HIDDEN_WHY}")])
    assert found is not None
    assert found.case == HIDDEN_CASE
    assert found.why == HIDDEN_WHY
    assert found.error.startswith("AssertionError: hidden case")


def test_hidden_failure_from_the_traceback_or_the_visible_pass_line():
    # raised inside the hidden block, no "hidden case" message (ANSI colours as IPython writes)
    tb = ["\x1b[0;31mValueError\x1b[0m Traceback",
          "Cell \x1b[0;32mIn[7], line 40\x1b[0m, in \x1b[0;36m_hidden_tests\x1b[0m()",
          "ValueError: shapes (1,1) and (2,) not aligned"]
    found = report.hidden_failure([_error("ValueError", "shapes (1,1) and (2,) not aligned", tb)])
    assert found is not None and found.case == ""
    assert found.why == "ValueError: shapes (1,1) and (2,) not aligned"
    # the visible tests passed, then the cell ran out of time in the hidden cases
    found = report.hidden_failure([_stream("✅ softmax passes the visible tests.\n"),
                                   _error("CellTimeoutError", "the cell ran past the 10 s limit")])
    assert found is not None and found.why.startswith("CellTimeoutError")


def test_visible_failures_are_not_hidden_failures():
    assert report.hidden_failure([]) is None
    assert report.hidden_failure([_stream("hello\n")]) is None
    assert report.hidden_failure([_error(
        "AssertionError", "neuron_forward([1, 2, 3], ...) gave 4.5 = w . x, without the bias",
        ["Cell In[5], line 12", "AssertionError: ..."])]) is None
    assert report.hidden_failure([_error("NotImplementedError", "")]) is None


def _autograded(tmp_path: Path, neuron, outputs: dict[str, list]) -> Path:
    """The solved release with the given outputs in some graded cells, written to a file."""
    nb = neuron.solved()
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in outputs:
            cell.outputs = [nbformat.from_dict(o) for o in outputs[gid]]
    path = tmp_path / "neuron.ipynb"
    nbformat.write(nb, path)
    return path


def _scores(course, cells: dict[str, float], student_total=None) -> dict:
    master = course.master(NEURON, "neuron")
    got = {("neuron", c.grade_id): (cells.get(c.grade_id, c.points), c.points)
           for c in master.graded}
    return {"score": sum(v[0] for v in got.values()) if student_total is None
            else student_total, "max_score": master.max_score, "cells": got,
            "submitted": True}


def test_report_grid_hidden_section_and_results_json(course, neuron, tmp_path):
    _, layer_test = neuron.exercise("layer_forward")
    _, one_test = neuron.exercise("neuron_forward")
    path = _autograded(tmp_path, neuron, {layer_test: [
        _stream("✅ layer_forward passes the visible tests.\n"),
        _error("AssertionError", f"hidden case {HIDDEN_CASE}: {HIDDEN_WHY}")]})
    ana = Result("ana", NEURON, graded=True, seconds=12.34,
                 autograded={"neuron": path},
                 failures={"neuron": {layer_test: [f"AssertionError: hidden case {HIDDEN_CASE}: "
                                                   f"{HIDDEN_WHY}"]}})
    bob = Result("bob", NEURON, graded=True, seconds=7.0,
                 failures={"neuron": {one_test: ["AssertionError: without the bias: add b"]}})
    cho = Result("cho", NEURON, seconds=0.01)
    scores = {("ana", NEURON): _scores(course, {layer_test: 0.0}),
              ("bob", NEURON): _scores(course, {one_test: 0.0}),
              ("cho", NEURON): _scores(course, {c: 0.0 for c in neuron.points()}),
              ("dee", NEURON): {"score": 0.0, "max_score": course.max_score(NEURON),
                                "cells": {}, "submitted": False}}
    problems = [Problem("cho", NEURON, "neuron", "empty-file", detail="the file is empty"),
                Problem("dee", NEURON, "", "missing-submission", detail="nothing handed in")]
    results = [ana, bob, cho]
    hidden = report.collect_hidden(results)
    assert set(hidden) == {("ana", NEURON)}
    assert hidden[("ana", NEURON)]["neuron"][layer_test].why == HIDDEN_WHY

    stats = report.exercise_stats(course, results, scores)
    report.write_html(course, results, scores, problems, stats, tmp_path, "settings", {},
                      hidden, None)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    grid = text[text.index("Students &times; exercises"):text.index("id=hidden")]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"<tr><td>([a-z]+)</td>.*?</tr>", grid)}
    assert set(rows) == {"ana", "bob", "cho", "dee"}
    # ana: the layer_forward cell scored 0, marked H, its title says the case and why
    cells = re.findall(r"<td class='([a-z ]+)'(?: title='([^']*)')?>([0-9.]+)(.*?)</td>",
                       rows["ana"])
    marked = [c for c in cells if "<sup>H</sup>" in c[3]]
    assert len(marked) == 1 and "hid" in marked[0][0] and marked[0][2] == "0"
    assert HIDDEN_CASE in marked[0][1] and "bias is missing" in marked[0][1]
    assert len(cells) == len(neuron.points())
    # bob failed a visible test: scored 0, not marked H; the message is in its title
    assert "<sup>H</sup>" not in rows["bob"] and "without the bias" in rows["bob"]
    # grading time per student; the unread file's reason
    assert f'{report.TIME_CELL}12.3</td>' in rows["ana"]
    assert f'{report.TIME_CELL}7.0</td>' in rows["bob"]
    assert "empty-file" in rows["cho"] and "missing-submission" in rows["dee"]
    # the hidden-test failures section: student, cell, case, why
    section = text[text.index("id=hidden"):text.index("<h2>Exercises")]
    assert "ana" in section and layer_test in section and HIDDEN_CASE in section
    assert HIDDEN_WHY in section and "bob" not in section
    # re-runs differ only in the times
    masked = report.without_timings(text)
    assert "12.3" not in masked and report.without_timings(text.replace("12.3", "99.9")) == masked

    report.write_results_json(course, results, scores, problems, tmp_path / "results.json",
                              hidden, None)
    records = {r["student_id"]: r for r in json.loads((tmp_path / "results.json").read_text())}
    cell = records["ana"]["cells"][f"neuron/{layer_test}"]
    assert cell["hidden"]["case"] == HIDDEN_CASE and cell["hidden"]["why"] == HIDDEN_WHY
    assert "hidden" not in records["bob"]["cells"][f"neuron/{one_test}"]


# ----------------------------------------------------------------------------------------------
# Feedback when there is nothing to grade
# ----------------------------------------------------------------------------------------------

def test_feedback_page_for_every_student_and_notebook(course, tmp_path):
    empty = {"score": 0.0, "max_score": course.max_score(NEURON), "cells": {},
             "submitted": True}
    scores = {(s, NEURON): dict(empty) for s in ("ann", "ben", "cho", "dan")}
    (tmp_path / "feedback" / "dan" / NEURON).mkdir(parents=True)
    (tmp_path / "feedback" / "dan" / NEURON / "neuron.html").write_text("nbgrader's")
    problems = [
        Problem("ann", NEURON, "neuron", "invalid-notebook",
                detail="not valid JSON: Unterminated string starting at: line 1 column 13"),
        Problem("ben", NEURON, "neuron", "empty-file", detail="the file is empty"),
        Problem("cho", NEURON, "", "missing-submission", detail="on the roster"),
    ]
    written = report.write_missing_feedback(course, scores, problems, tmp_path)
    assert sorted(p.parts[-3] for p in written) == ["ann", "ben", "cho"]
    assert (tmp_path / "feedback" / "dan" / NEURON / "neuron.html").read_text() == "nbgrader's"
    page = {s: (tmp_path / "feedback" / s / NEURON / "neuron.html").read_text(encoding="utf-8")
            for s in ("ann", "ben", "cho")}
    assert "not a readable Jupyter notebook" in page["ann"] and "line 1 column 13" in page["ann"]
    assert "empty" in page["ben"] and "save it" in page["ben"]
    assert "Nothing was received" in page["cho"]
    for text in page.values():
        assert "What to do" in text
        assert f"0 / {course.max_score(NEURON):g}" in text


# ----------------------------------------------------------------------------------------------
# Similarity
# ----------------------------------------------------------------------------------------------

def test_normalisation_ignores_names_comments_layout_and_order():
    base = similarity.code_fingerprints(CE)
    assert similarity.similarity(base, similarity.code_fingerprints(CE_RENAMED)) == 1.0
    assert similarity.similarity(base, similarity.code_fingerprints(CE_REORDERED)) \
        >= similarity.THRESHOLD
    # independent statements in another order, other names
    first = similarity.code_fingerprints(STANDARDIZE)
    assert similarity.similarity(first, similarity.code_fingerprints(STANDARDIZE_SWAPPED)) == 1.0
    for honest in (CE_LOOP, CE_VECTOR):
        score = similarity.similarity(base, similarity.code_fingerprints(honest))
        assert score < 0.5, score
    assert similarity.similarity(similarity.code_fingerprints(CE_LOOP),
                                 similarity.code_fingerprints(CE_VECTOR)) < 0.5
    assert similarity.code_fingerprints("def f(:\n") is None


def _submission(student: str, cells: dict[str, str]) -> Submission:
    nb = nbformat.read(RELEASE, as_version=4)
    for gid, source in cells.items():
        set_cell(nb, gid, source)
    return Submission(student, NEURON, notebooks={"neuron": nbformat.writes(nb).encode()})


def test_find_similar_pairs_groups_and_references(course, neuron, tmp_path):
    ce, _ = neuron.exercise("cross_entropy")
    sm, _ = neuron.exercise("softmax")
    nf, _ = neuron.exercise("neuron_forward")
    obvious = "def neuron_forward(x, w, b):\n    return np.dot(w, x) + b\n"
    subs = [
        _submission("ana", {ce: CE, nf: obvious}),
        _submission("bo", {ce: CE_RENAMED, nf: obvious}),
        _submission("cy", {ce: CE_REORDERED, nf: obvious}),
        _submission("di", {ce: CE_LOOP, nf: obvious}),
        _submission("ed", {ce: CE_VECTOR, nf: obvious, sm: LIBRARY_SOFTMAX}),
        _submission("fi", {}),  # the release, untouched
        Submission("gu", NEURON, notebooks={"neuron": b'{"cells": [{"cell_'}),
    ]
    found = similarity.find_similar(course, subs)
    pairs = {(m.exercise, m.first, m.second) for m in found.pairs}
    assert pairs == {(ce, "ana", "bo"), (ce, "ana", "cy"), (ce, "bo", "cy")}, found.pairs
    assert [(g[0][2], g[1]) for g in found.groups()] == [(ce, ["ana", "bo", "cy"])]
    # the library's softmax, renamed: found; the honest cross_entropy solutions: not
    refs = {(m.exercise, m.first, m.second) for m in found.reference}
    assert refs == {(sm, "ed", "scratchnn.functional.softmax")}, found.reference
    # one-line answers are the same for everyone: not compared
    assert (NEURON, "neuron", nf) in found.skipped
    assert found.compared[(NEURON, "neuron", ce)] == 5
    mine = found.of("ana", NEURON)
    assert [(e["exercise"], sorted(e["with"])) for e in mine] == [(ce, ["bo", "cy"])]
    assert mine[0]["with"]["bo"] == 1.0

    scores = {(s.student, NEURON): {"score": 0.0, "max_score": 30.0, "cells": {},
                                    "submitted": True} for s in subs}
    report.write_html(course, [], scores, [], {}, tmp_path, "", {}, {}, found)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    section = text[text.index("id=similarity"):text.index("<h2>Students</h2>")]
    assert "ana, bo, cy" in section and "scratchnn.functional.softmax" in section
    assert "never a penalty" in section and nf in section
    assert "di" not in re.sub(r"<[^>]+>", " ", section).split()
    report.write_results_json(course, [], scores, [], tmp_path / "results.json", {}, found)
    records = {r["student_id"]: r for r in json.loads((tmp_path / "results.json").read_text())}
    assert records["di"]["similarity"] == []
    (match,) = records["ed"]["similarity"]
    assert match["exercise"] == sm and list(match["with"]) == ["scratchnn.functional.softmax"]
    assert match["with"]["scratchnn.functional.softmax"] >= similarity.THRESHOLD


# ----------------------------------------------------------------------------------------------
# A real grading run: four students, two kernels
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory, neuron):
    from autograder.grade import grade_class
    from autograder.runner import Settings

    base = tmp_path_factory.mktemp("grading-report")
    subs = base / "subs"
    subs.mkdir()
    layer, _ = neuron.exercise("layer_forward")
    ce, _ = neuron.exercise("cross_entropy")
    fitted = set_cell(set_cell(neuron.solved(), layer, FITTED_LAYER), ce, CE)
    twin = set_cell(neuron.solved(), ce, CE_RENAMED)
    (subs / f"fitted_{NEURON}.ipynb").write_text(nbformat.writes(fitted), encoding="utf-8")
    (subs / f"twin_{NEURON}.ipynb").write_text(nbformat.writes(twin), encoding="utf-8")
    (subs / f"broken_{NEURON}.ipynb").write_text('{"cells": [{"cell_', encoding="utf-8")
    (subs / f"blank_{NEURON}.ipynb").write_bytes(b"")
    out = base / "out"
    summary = grade_class(subs, out, Settings(jobs=2, timeout=30), [NEURON], ROOT,
                          log=lambda _m: None)
    return summary, out


def test_graded_class_grid_marks_the_hidden_failure(graded, neuron):
    summary, out = graded
    _, layer_test = neuron.exercise("layer_forward")
    records = {r["student_id"]: r for r in json.loads((out / "results.json").read_text())}
    cell = records["fitted"]["cells"][f"neuron/{layer_test}"]
    assert cell["score"] == 0.0, records["fitted"]["failures"]
    # (seen once on a heavily loaded machine: no hidden failure recorded; say what there was)
    assert "hidden" in cell, (cell, records["fitted"]["failures"], records["fitted"]["problems"])
    assert cell["hidden"]["case"] == HIDDEN_CASE and cell["hidden"]["why"] == HIDDEN_WHY
    assert all("hidden" not in c for c in records["twin"]["cells"].values())
    text = (out / "report.html").read_text(encoding="utf-8")
    section = text[text.index("id=hidden"):text.index("<h2>Exercises")]
    assert HIDDEN_CASE in section and HIDDEN_WHY in section
    row = re.search(r"<tr><td>fitted</td>.*?</tr>", text).group(0)
    assert row.count("<sup>H</sup>") == 1
    seconds = {r.student: r.seconds for r in summary.results}
    shown = re.search(re.escape(report.TIME_CELL) + r"([0-9.]+)</td>", row).group(1)
    assert float(shown) == round(seconds["fitted"], 1) and seconds["fitted"] > 0


def test_graded_class_feedback_for_every_student(graded):
    _summary, out = graded
    for student in ("fitted", "twin", "broken", "blank"):
        assert (out / "feedback" / student / NEURON / "neuron.html").is_file(), student
    broken = (out / "feedback" / "broken" / NEURON / "neuron.html").read_text(encoding="utf-8")
    assert "not a readable Jupyter notebook" in broken and "not valid JSON" in broken
    assert "BEGIN HIDDEN TESTS" not in broken
    blank = (out / "feedback" / "blank" / NEURON / "neuron.html").read_text(encoding="utf-8")
    assert "empty" in blank and "What to do" in blank
    report_html = (out / "report.html").read_text(encoding="utf-8")
    assert f"feedback/broken/{NEURON}/neuron.html" in report_html


def test_graded_class_lists_the_renamed_copy(graded, neuron):
    summary, out = graded
    ce, _ = neuron.exercise("cross_entropy")
    pairs = {(m.exercise, m.first, m.second): m.score for m in summary.similar.pairs}
    assert pairs[(ce, "fitted", "twin")] == 1.0
    records = {r["student_id"]: r for r in json.loads((out / "results.json").read_text())}
    mine = {e["exercise"]: e["with"] for e in records["twin"]["similarity"]}
    assert mine[ce]["fitted"] == 1.0
    assert records["broken"]["similarity"] == []
