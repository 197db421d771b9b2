"""Hidden tests stay hidden, and the feedback reads offline (issue 14, items 2 and 6).

Item 2: a student's code can read the code of the test cell that calls it (IPython keeps it in
``In[-1]``), hidden tests and all. The integrity scan now flags every in-kernel route to the
code of the cells (IPython's history, its shell, frames, tracebacks, ``gc``, ``linecache``,
the notebook file), and the student's feedback shows no line and no case value of a hidden
block, whatever the student printed. Item 6: the feedback page renders its math without
network (MathML made when the page is, no MathJax from a CDN, no student script) and names
every graded cell by its exercise, not "Test cell".

Unit tests use the real master and release of 01_neuron; one end-to-end run grades the two
corpus students who read the hidden tests (``peek-input``, ``lookup-cases``) with the real CLI.
"""

from __future__ import annotations

import functools
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from autograder_corpus import NEURON, hostile_cases, read_json, write_flat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.integrity import affected_tests, scan_notebook  # noqa: E402
from autograder.nbexec import (  # noqa: E402
    REDACTED,
    FeedbackExporter,
    HideHiddenTests,
    Redactor,
    exercise_titles,
    tex_to_mathml,
)

MASTER = ROOT / "notebooks" / NEURON / "neuron.ipynb"
RELEASE = ROOT / "release" / NEURON / "neuron.ipynb"
RUN_TIMEOUT = 1500  # a hang guard for the grading run, not a measurement
_REGION = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS",
                     re.MULTILINE | re.DOTALL)
_FLOAT = re.compile(r"(?<![\w.])(?:\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)")


@functools.lru_cache(maxsize=2)
def _hidden(digits: int) -> tuple[frozenset, frozenset, str]:
    """(lines, numbers, release text): the stripped lines of the master's hidden blocks of 8
    characters or more and the floats in them with ``digits`` or more significant digits (the
    cases' inputs have 4, the expected values more), and the release's text. Computed here on
    its own, not with the grader's code."""
    release = "\n".join(c.source for c in nbformat.read(RELEASE, as_version=4).cells)
    lines, numbers = {"### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"}, set()
    for cell in nbformat.read(MASTER, as_version=4).cells:
        for region in _REGION.findall(cell.source):
            lines |= {line.strip() for line in region.splitlines() if len(line.strip()) >= 8}
            numbers |= {n for n in _FLOAT.findall(region)
                        if len(re.split("[eE]", n)[0].replace(".", "").strip("0")) >= digits}
    return frozenset(lines), frozenset(n for n in numbers if n not in release), release


def _leaks(text: str, digits: int = 5) -> tuple[list[str], list[str]]:
    """What of the master's hidden blocks (:func:`_hidden`) is in ``text`` and not in the
    release: (lines, numbers). By default the numbers of 5 or more significant digits, the
    expected values: a 4-digit input may also be printed by honest code (see
    test_redactor_hides_the_printed_test_cell_and_the_case_values)."""
    lines, numbers, release = _hidden(digits)
    leaked_lines = sorted(line for line in lines if line in text and line not in release)
    tokens = set(re.findall(r"(?<![\w.])[\d.]+(?:[eE][-+]?\d+)?(?![\w]|\.\d)", text))
    return leaked_lines, sorted(numbers & tokens)


def _page_text(page: str) -> str:
    """The text of an HTML page (tags removed, entities decoded): what a reader can see, and
    what is in scripts and styles."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _scan(source: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nimport os\nimport sys"),
                nbformat.v4.new_code_cell(source)]
    return scan_notebook(nb, {1}, {})


# ----------------------------------------------------------------------------------------------
# Item 2: the integrity scan
# ----------------------------------------------------------------------------------------------

ROUTES = {
    "In[-1]": "def neuron_forward(x, w, b):\n    print(In[-1])\n    return np.dot(w, x) + b",
    "_ih": "def f(x):\n    return _ih[-1]",
    "_i": "def f(x):\n    return _i",
    "_ii": "def f(x):\n    return _ii",
    "_iN": "def f(x):\n    return _i12",
    "Out": "def f(x):\n    return Out",
    "_oh": "def f(x):\n    return _oh",
    "get_ipython()": "shell = get_ipython()",
    "history manager": "def f():\n    return get_ipython().history_manager.input_hist_raw[-1]",
    "%history": "%history -g neuron",
    "IPython.get_ipython": "from IPython import get_ipython",
    "builtins.get_ipython": "import builtins\nshell = builtins.get_ipython()",
    "__main__": "import __main__\ndef f():\n    return __main__.In",
    "sys.modules['__main__']": "def f():\n    return sys.modules['__main__']",
    "globals()['In']": "def f():\n    return globals()['In']",
    "globals() walked": "def f():\n    return [v for v in globals().values()]",
    "sys._getframe": "def f():\n    return sys._getframe(1).f_locals",
    "from sys import _getframe": "from sys import _getframe",
    "inspect.stack": "import inspect\ndef f():\n    return inspect.stack()",
    "inspect.currentframe": "import inspect\ndef f():\n    return inspect.currentframe()",
    "tb_frame": "def f():\n    try:\n        1 / 0\n    except ZeroDivisionError as e:\n"
                "        return e.__traceback__.tb_frame.f_back",
    "tb_frame as a string": "def f(e):\n    return getattr(e, 'tb_' + 'frame')",
    "sys.exc_info": "def f():\n    return sys.exc_info()[2]",
    "traceback.extract_stack": "import traceback\ndef f():\n    return traceback.extract_stack()",
    "gc.get_referrers": "import gc\ndef f(x):\n    return gc.get_referrers(x)",
    "gc.get_objects": "from gc import get_objects",
    "linecache": "import linecache\ndef f():\n    return linecache.cache",
    "history database": "import sqlite3",
    "the notebook file": "def f():\n    return open('neuron.ipy' + 'nb').read()",
    "listing the folder": "names = os.listdir('.')",
    "Path.iterdir": "from pathlib import Path\nfiles = list(Path('.').iterdir())",
    "%time": "%time print(In[-1])",
    "%%timeit": "%%timeit\nx = _ih[-1]\n",
    "In??": "In??",
    "In kept after a dead rebinding": "if False:\n    In = 0\nhistory = In",
    "In kept after an empty loop": "for In in []:\n    pass\nhistory = In",
}
HONEST = {
    "a loop variable _i": "def f(x):\n    for _i in range(3):\n        x = x + _i\n    return x",
    "a parameter In": "def f(In):\n    return In",
    "a top-level loop": "total = 0\nfor _i in range(3):\n    total += _i",
    "a top-level variable": "_i = 0\nprint(_i + 1)",
    "a comprehension": "xs = [_i * 2 for _i in range(3)]",
    "a lambda": "f = lambda _i: _i + 1",
    "%matplotlib": "%matplotlib inline",
    "%time": "%time y = sum(range(10))",
    "%timeit": "%timeit -n 10 -r 2 sum(range(10))",
    "%%time": "%%time\ny = sum(range(10))\n",
    "np.dot?": "np.dot?",
    "a main guard": "if __name__ == '__main__':\n    pass",
    "gc.collect": "import gc\ngc.collect()",
    "IPython.display": "from IPython.display import display, Markdown\ndisplay(Markdown('x'))",
    "inspect.signature": "import inspect\ns = inspect.signature(print)",
    "traceback.print_exc": "import traceback\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n"
                           "    traceback.print_exc()",
    "os.path": "p = os.path.join('a', 'b')",
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_scan_flags_every_route_to_the_code_of_the_cells(route):
    findings = _scan(ROUTES[route])
    assert findings, f"{route} is not flagged"
    assert {f.rule for f in findings} <= {"runtime-hooks", "course-files", "dynamic-code"}


@pytest.mark.parametrize("lookalike", list(HONEST))
def test_scan_leaves_honest_lookalikes_alone(lookalike):
    assert _scan(HONEST[lookalike]) == []


def test_reading_the_test_cell_zeroes_every_test_from_that_exercise_on():
    nb = nbformat.read(RELEASE, as_version=4)
    solution = nb.cells.index(_cell(nb, "ex6-softmax"))
    nb.cells[solution].source = ROUTES["In[-1]"].replace("neuron_forward", "softmax")
    (finding,) = [f for f in scan_notebook(nb, {solution}, {}) if "history In" in f.detail]
    assert finding.rule == "runtime-hooks" and finding.scope == "rest"
    graded = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells[solution:]
              if c.metadata.get("nbgrader", {}).get("grade")]
    assert affected_tests(nb, finding) == graded and graded[0] == "ex6-softmax-tests"


# ----------------------------------------------------------------------------------------------
# Item 2: redaction
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def master():
    """The master of 01_neuron, with its hidden tests."""
    return nbformat.read(MASTER, as_version=4)


def test_redactor_hides_the_printed_test_cell_and_the_case_values(master):
    redactor = Redactor.from_notebook(master)
    test_cell = _cell(master, "ex6-softmax-tests")
    assert _leaks(test_cell.source)[0], "the check itself finds nothing to hide"
    printed = redactor.text(test_cell.source)
    assert _leaks(printed, digits=3) == ([], []) and REDACTED in printed
    assert "# Tests for Exercise 6" in printed  # the visible tests stay
    # a repr on one line, in colour, and HTML-escaped: still hidden
    for form in (repr(test_cell.source), "\x1b[0;31m" + test_cell.source + "\x1b[0m",
                 html.escape(test_cell.source)):
        assert _leaks(html.unescape(redactor.text(form)), digits=3) == ([], []), form[:60]
    # a hidden test's own failure message keeps its words, not the expected value
    message = ("hidden case softmax of logits of shape (2, 2, 3): expected 0.00790748583269 "
               "at flat index 0, got 0.2950254664443223")
    assert redactor.text(message) == message.replace("0.00790748583269", REDACTED)
    honest = "epoch 10: loss 0.6931, accuracy 0.50 [1.0, 2.5]\nall tests pass"
    assert redactor.text(honest) == honest
    # The sigmoid demo of the release prints 0.9933, also a 4-digit hidden input: a lone short
    # number is a coincidence, and a marker there would give it away.
    assert "0.9933" in _hidden(3)[1] and "0.9933" not in _hidden(5)[1]
    demo = "naive sigmoid: [0.     0.0067 0.5    0.9933 1.    ]"
    assert redactor.text(demo) == demo


def test_hide_hidden_tests_redacts_every_output_of_a_notebook(master):
    nb = nbformat.read(MASTER, as_version=4)
    test_cell = _cell(nb, "ex1-neuron-forward-tests")
    student = nb.cells[3]  # the solution cell of exercise 1
    student.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=test_cell.source),
        nbformat.v4.new_output("execute_result", data={"text/plain": repr(test_cell.source),
                                                       "text/html": html.escape(test_cell.source)},
                               execution_count=1),
        nbformat.v4.new_output("error", ename="Leak", evalue=test_cell.source,
                               traceback=test_cell.source.splitlines()),
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"m": {"state": {"value": test_cell.source}}}}}
    nb, _ = HideHiddenTests().preprocess(nb, {})
    assert "widgets" not in nb.metadata
    assert "hidden tests ran here" in test_cell.source
    assert _leaks(html.unescape("\n".join(_strings(nb))), digits=3) == ([], [])
    assert all(REDACTED in "".join(_strings(output)) for output in student.outputs)


def _strings(node) -> list[str]:
    """Every string in a notebook (or part of one): sources, outputs, metadata."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


# ----------------------------------------------------------------------------------------------
# Item 6: the feedback page
# ----------------------------------------------------------------------------------------------

def _math_spans() -> int:
    """How many formulas the release's markdown has (as nbconvert's parser finds them)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    found = []

    class Count(IPythonRenderer):
        """Collects the formulas instead of rendering them."""

        def block_math(self, body):
            """Display math."""
            found.append(body)
            return ""

        def inline_math(self, body):
            """Inline math."""
            found.append(body)
            return ""

        def latex_environment(self, name, body):
            """A LaTeX environment."""
            found.append(body)
            return ""

    for cell in nbformat.read(RELEASE, as_version=4).cells:
        if cell.cell_type == "markdown":
            MarkdownWithMath(renderer=Count(escape=False)).render(cell.source)
    return len(found)


def _assert_offline_and_named(page: str) -> None:
    scripts = re.findall(r"<script\b[^>]*>", page, flags=re.IGNORECASE)
    assert not [s for s in scripts if "src" in s.lower()], scripts
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert "MathJax" not in page and "x-mathjax-config" not in page  # (a comment may say so)
    formulas = _math_spans()
    assert formulas > 100 and page.count("<math") == formulas, (page.count("<math"), formulas)
    assert 'class="tex"' not in page  # every formula converted, none left as TeX source
    toc = re.search(r'<div id="toc">(.*?)</div>', page, re.DOTALL).group(1)
    names = re.findall(r'<a href="#(ex\d+-[\w-]+-tests)">(.*?)</a>', toc)
    assert len(names) == 12 and "Test cell" not in toc, toc
    for grade_id, name in names:
        number = re.match(r"ex(\d+)-", grade_id).group(1)
        assert name.startswith(f"Exercise {number}:"), (grade_id, name)


def _feedback_resources(nb) -> dict:
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["score"] = meta["points"]
    return {"nbgrader": {"notebook": "neuron", "score": 24, "max_score": 24, "late_penalty": 0}}


def test_feedback_page_is_offline_sanitized_and_names_exercises():
    nb = nbformat.read(RELEASE, as_version=4)
    hostile = "https://cdn.example.org/evil.js"
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"<script src='{hostile}'></script> and $\\text{{<img src=x onerror=alert(1)>}}$"))
    code = nbformat.v4.new_code_cell("display(...)")
    code.outputs = [nbformat.v4.new_output("display_data", data={
                        "text/html": f"<script src='{hostile}'></script><b>hi</b>"}),
                    nbformat.v4.new_output("display_data", data={
                        "application/javascript": f"import('{hostile}')"})]
    nb.cells.append(code)
    page, _ = FeedbackExporter().from_notebook_node(nb, _feedback_resources(nb))
    assert "<script src" not in page and not re.search(r"<img[^>]*onerror", page)
    assert f"import('{hostile}')" not in page
    nb.cells = nb.cells[:-2]
    page, _ = FeedbackExporter().from_notebook_node(nb, _feedback_resources(nb))
    _assert_offline_and_named(page)


def test_exercise_titles_come_from_the_headings():
    titles = exercise_titles(nbformat.read(RELEASE, as_version=4))
    assert titles["ex3-sigmoid"] == titles["ex3-sigmoid-tests"] == \
        "Exercise 3: a stable <code>sigmoid</code>"
    assert titles["ex12-train-tests"] == "Exercise 12: train it"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Exercise 1: <b>x</b>"),
                nbformat.v4.new_code_cell("", metadata={"nbgrader": {
                    "grade": True, "grade_id": "t1", "points": 1}}),
                nbformat.v4.new_code_cell("", metadata={"nbgrader": {
                    "grade": True, "grade_id": "t2", "points": 1}})]
    assert exercise_titles(nb) == {"t1": "Exercise 1: &lt;b&gt;x&lt;/b&gt;",
                                   "t2": "Exercise 1: &lt;b&gt;x&lt;/b&gt;"}


def test_tex_to_mathml_is_markup_without_scripts_or_links():
    assert tex_to_mathml(r"\frac{e^{z_k}}{\sum_j e^{z_j}}", display=True).startswith(
        '<math display="block">')
    for tex in (r"\text{<img src=x onerror=alert(1)>}", r"\href{javascript:alert(1)}{x}",
                r'\color{red" onmouseover="alert(1)}{x}'):
        out = tex_to_mathml(tex, display=False)
        assert not re.search(r"<[^>]*\b(?:on\w+|href|src)\s*=", out), out


# ----------------------------------------------------------------------------------------------
# End to end: the two corpus students who read the hidden tests, graded with the real CLI
# ----------------------------------------------------------------------------------------------

STUDENTS = ("peek-input", "lookup-cases")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The output folder of one real grading run of the two students (--jobs 2)."""
    base = tmp_path_factory.mktemp("feedback")
    write_flat([c for c in hostile_cases() if c.student in STUDENTS], base / "submissions")
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = base / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(base / "submissions"), "--out",
         str(out), "--jobs", "2", "--timeout", "10"],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("student", STUDENTS)
def test_reading_the_hidden_tests_is_flagged_and_scored(graded, student):
    case = next(c for c in hostile_cases() if c.student == student)
    results = {r["student_id"]: r for r in read_json(graded / "results.json")
               if r["assignment"] == NEURON}  # one record per student and assignment
    cells = results[student]["cells"]
    assert results[student]["score"] == case.score[NEURON], cells
    assert all(cells[f"neuron/{t}"]["score"] == 0.0 for t in case.zero), cells
    flags = [p for p in read_json(graded / "problems.json")
             if p["student_id"] == student and p["kind"] == "integrity"]
    assert any("reads IPython's history In" in p["detail"] for p in flags), flags


@pytest.mark.parametrize("student", STUDENTS)
def test_feedback_shows_nothing_of_the_hidden_tests(graded, student):
    page = (graded / "feedback" / student / NEURON / "neuron.html").read_text(encoding="utf-8")
    assert _leaks(_page_text(page)) == ([], [])
    if student == "peek-input":  # it printed the test cell 5 times: redacted, not dropped
        assert page.count(REDACTED) >= 5
        graded_nb = (graded / "autograded" / student / NEURON / "neuron.ipynb").read_text()
        assert "BEGIN HIDDEN TESTS" in graded_nb  # the instructor's copy keeps everything
    _assert_offline_and_named(page)
