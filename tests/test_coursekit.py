"""coursekit: the course settings reader, the hidden-test literals and preamble, the renderer.

End-to-end checks of the real sources and masters are in test_course_pipeline.py and
test_notebook_lint.py; here each rule is shown to fail on a small case.
"""

from __future__ import annotations

import ast
import json
import shutil
import sys
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest

from coursekit import hidden
from coursekit.hidden import (
    HIDDEN_RUNNER,
    HiddenTestError,
    check_hidden_block,
    format_literal,
    lint_hidden_block,
    literal,
    split_hidden,
    trimmed_preamble,
)
from coursekit.render import RenderError, notebook_text, render_source
from coursekit.settings import CourseSettings, CourseSettingsError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.course import Course, CourseError  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Settings: one reader, one error
# ---------------------------------------------------------------------------------------------


def _course(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(ROOT / "notebooks" / "01_neuron", tmp_path / "notebooks" / "01_neuron")
    shutil.copytree(ROOT / "course" / "01_neuron", tmp_path / "course" / "01_neuron")
    return tmp_path


def test_settings_read_the_repository_course():
    settings = CourseSettings.read(ROOT)
    assert settings.declared[0] == "01_neuron" and len(settings.declared) == 6
    assert settings.source == ROOT / "notebooks" and settings.release == ROOT / "release"
    assert settings.authoring == ROOT / "course"
    assert "01_neuron" in settings.with_masters() and "01_neuron" in settings.with_sources()
    source = settings.sources("01_neuron")[0]
    assert settings.master_of(source) == ROOT / "notebooks" / "01_neuron" / "neuron.ipynb"


@pytest.mark.parametrize("where, name", [("notebooks", "x.ipynb"), ("course", "x.py")])
def test_an_undeclared_folder_is_the_same_error_everywhere(tmp_path, where, name):
    """make release (tools/release.py), the autograder and the settings reject it alike."""
    root = _course(tmp_path)
    (root / where / "07_extra").mkdir()
    (root / where / "07_extra" / name).write_text("{}")
    with pytest.raises(CourseSettingsError, match=r"07_extra.*ASSIGNMENTS") as direct:
        CourseSettings.read(root).with_masters()
    spec = __import__("importlib.util").util.spec_from_file_location(
        "release_tool_for_test", ROOT / "tools" / "release.py")
    release_tool = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(release_tool)
    with pytest.raises(CourseSettingsError) as via_release:
        release_tool.existing_assignments(root)
    with pytest.raises(CourseError) as via_grader:
        Course.load(root)
    assert str(via_release.value) == str(direct.value)
    assert str(direct.value) in str(via_grader.value)


def test_settings_reject_a_config_without_assignments(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nASSIGNMENTS = 'oops'\n")
    with pytest.raises(CourseSettingsError, match="ASSIGNMENTS must be"):
        CourseSettings.read(tmp_path)
    with pytest.raises(CourseSettingsError, match="no nbgrader_config.py"):
        CourseSettings.read(tmp_path / "missing")


# ---------------------------------------------------------------------------------------------
# Build-time literals
# ---------------------------------------------------------------------------------------------

def test_a_formatted_literal_evaluates_to_what_literal_returns_and_fits():
    rng = np.random.default_rng(5)
    value = [("case", rng.normal(size=(3, 7)), np.float32(0.1), 3, (1,)),
             ("other", rng.normal(size=40) * 1e-7, np.int64(2), True, ())]
    for indent, width in [(0, 99), (14, 95), (30, 60)]:
        text = format_literal(value, indent, width)
        assert ast.literal_eval(text) == literal(value)
        lines = text.split("\n")
        assert indent + len(lines[0]) <= width
        assert all(len(line) <= width for line in lines[1:]), text
    assert literal(np.float64(1 / 3)) == 0.333333333333  # 12 significant digits
    with pytest.raises(HiddenTestError, match="finite"):
        literal([1.0, np.nan])
    with pytest.raises(HiddenTestError, match="set"):
        literal({1, 2})


# ---------------------------------------------------------------------------------------------
# The preamble, trimmed
# ---------------------------------------------------------------------------------------------

def test_trimmed_preamble_holds_what_the_code_uses_and_what_that_needs():
    text = trimmed_preamble({"_hidden_float"})
    for needed in ("def _hidden_float", "def _hidden_close", "_ndarray =", "_float64 =",
                   "def _hidden_c_class", "def _hidden_make"):
        assert needed in text, needed
    for unused in ("def _hidden_quiet", "def _hidden_array", "_ValueError =", "import warnings"):
        assert unused not in text, unused
    assert trimmed_preamble({"x", "np"}) == ""
    namespace: dict = {}
    exec(text, namespace)  # the trimmed statements run on their own
    namespace["_hidden_float"](np.float64(2.0), 2.0, "two")


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

HEADER = '# %% nbgrader={{"grade": {grade}, "grade_id": "{gid}", "locked": {locked}, ' \
         '{points}"schema_version": 3, "solution": {solution}}}'


def _header(gid, grade=False, locked=False, solution=False, points=None):
    return HEADER.format(gid=gid, grade=str(grade).lower(), locked=str(locked).lower(),
                         solution=str(solution).lower(),
                         points="" if points is None else f'"points": {points}, ')


def _source(hidden_body: str, solution="return 2 * x", extra_cells="") -> str:
    return "\n".join([
        "# %% [markdown]", "# # A title", "",
        '# %% tags=["authoring"]',
        "import numpy as np",
        "from coursekit.hidden import literal",
        "from coursekit.preamble import _hidden_array, _hidden_make", "",
        "",
        "def double_cases():",
        "    rng = np.random.default_rng(3)",
        "    return [(x, 2 * x) for x in (rng.normal(size=4), rng.normal(size=(2, 3)))]", "",
        _header("ex1", solution=True),
        "def double(x):",
        "    ### BEGIN SOLUTION",
        f"    {solution}",
        "    ### END SOLUTION", "",
        _header("ex1-tests", grade=True, locked=True, points=2),
        "assert callable(double)",
        "### BEGIN HIDDEN TESTS",
        textwrap.dedent(hidden_body).strip("\n"),
        "### END HIDDEN TESTS", "",
        extra_cells,
    ])


GOOD_HIDDEN = """
    _cases = literal(double_cases())
    for _x, _want in _cases:
        _hidden_array(double(_hidden_make(_x)), _want, "double")
"""


def _render(tmp_path, text) -> nbformat.NotebookNode:
    path = tmp_path / "demo.py"
    path.write_text(text, encoding="utf-8")
    return render_source(path)


def test_render_expands_the_hidden_block_and_drops_authoring_cells(tmp_path):
    nb = _render(tmp_path, _source(GOOD_HIDDEN))
    assert [c.id for c in nb.cells] == ["md-001", "ex1", "ex1-tests"]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    test = nb.cells[2]
    assert test.metadata["nbgrader"]["points"] == 2
    before, block, _ = split_hidden(test.source)
    assert before == "assert callable(double)" and block.startswith(HIDDEN_RUNNER)
    assert "literal(" not in block and "double_cases" not in block
    assert "def _hidden_array" in block and "def _hidden_quiet" not in block
    lint_hidden_block(block, {"double"}, "demo")
    # The master's cells run: the solution passes its hidden cases, a wrong one fails.
    namespace: dict = {"np": np}
    for solution in (nb.cells[1].source, nb.cells[1].source.replace("2 * x", "x + x + 1e-3")):
        namespace = {"np": np}
        exec(solution, namespace)
        if "1e-3" in solution:
            with pytest.raises(AssertionError, match="double: expected"):
                exec(test.source, namespace)
        else:
            exec(test.source, namespace)
    assert notebook_text(_render(tmp_path, _source(GOOD_HIDDEN))) == notebook_text(nb)


@pytest.mark.parametrize("body, message", [
    ("_hidden_array(double(_hidden_make([1.0])), [2.0], 'x')\nassert np.allclose(1, 1)",
     r"global or builtin names \['np'\]"),
    ("assert len(double(_hidden_make([1.0]))) == 1", r"\['len'\]"),
    ("import os\n_hidden_array(double(_hidden_make([1.0])), [2.0], 'x')", r"import \['os'\]"),
    ("_cases = literal(double_cases(), 2)", "takes one argument"),
    ("_cases = literal([float('nan')])", "finite"),
])
def test_render_refuses_hidden_tests_a_student_could_fool(tmp_path, body, message):
    with pytest.raises(ValueError, match=message):
        _render(tmp_path, _source(body))


def test_render_refuses_broken_cells(tmp_path):
    duplicate = _header("ex1", solution=True) + "\ndef other():\n    ### BEGIN SOLUTION\n" \
        "    pass\n    ### END SOLUTION\n"
    with pytest.raises(RenderError, match="duplicate cell id"):
        _render(tmp_path, _source(GOOD_HIDDEN, extra_cells=duplicate))
    no_hidden = _header("ex2-tests", grade=True, locked=True, points=1) + "\nassert True\n"
    with pytest.raises(RenderError, match="needs a hidden-test block"):
        _render(tmp_path, _source(GOOD_HIDDEN, extra_cells=no_hidden))
    no_points = _header("ex2-tests", grade=True, locked=True) + "\nassert True\n"
    with pytest.raises(RenderError, match="needs points"):
        _render(tmp_path, _source(GOOD_HIDDEN, extra_cells=no_points))
    with pytest.raises(RenderError, match="BEGIN/END SOLUTION"):
        _render(tmp_path, _source(GOOD_HIDDEN).replace("    ### END SOLUTION\n", ""))


# ---------------------------------------------------------------------------------------------
# The lint of masters' hidden blocks, whoever wrote them
# ---------------------------------------------------------------------------------------------

def _real_block() -> tuple[str, set[str]]:
    nb = json.loads((ROOT / "notebooks" / "01_neuron" / "neuron.ipynb").read_text())
    cell = next(c for c in nb["cells"] if c["id"] == "ex7-mse-tests")
    return split_hidden("".join(cell["source"]))[1], {"mse"}


def test_lint_accepts_the_rendered_block():
    block, functions = _real_block()
    lint_hidden_block(block, functions, "ex7")


@pytest.mark.parametrize("edit, message", [
    # a helper from an older preamble (or edited by hand)
    (lambda b: b.replace("d <= atol + rtol", "d <= 10 * atol + rtol"), "not in the preamble"),
    # a helper the block does not use
    (lambda b: b.replace("    # each case", "    _int = (0).__class__\n\n    # each case"),
     "expected"),
    # a helper dropped: the code now looks up a global name
    (lambda b: b.replace("    _ValueError = _hidden_c_class", "    _unused = _hidden_c_class"),
     "_ValueError"),
    # code that trusts a global
    (lambda b: b.replace("_raised = True", "_raised = isinstance(1, int)"), "isinstance"),
])
def test_lint_rejects_stale_extra_missing_helpers_and_global_lookups(edit, message):
    block, functions = _real_block()
    changed = edit(block)
    assert changed != block
    with pytest.raises(HiddenTestError, match=message):
        lint_hidden_block(changed, functions, "ex7")


def test_check_hidden_block_requires_the_runner():
    with pytest.raises(HiddenTestError, match="runner"):
        check_hidden_block("x = 1\n", set(), "demo")
    assert hidden.MARKER == "literal"


# ---------------------------------------------------------------------------------------------
# The sources run as notebooks
# ---------------------------------------------------------------------------------------------

SETTINGS = CourseSettings.read(ROOT)
SOURCES = [p for a in SETTINGS.with_sources() for p in SETTINGS.sources(a)]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_authoring_source_runs_top_to_bottom_as_a_notebook(source):
    """What an instructor does in JupyterLab: open the source as a notebook, Run All. The hidden
    tests run there too (against the solutions), with the same values as in the master."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(source)
    assert any("authoring" in c.metadata.get("tags", []) for c in nb.cells)
    # The widget cells run in the browser tests; a cell that displays an ipywidget sometimes
    # stalls nbclient until its timeout (jupyter/nbclient#312).
    nb.cells = [c for c in nb.cells if "scratchnn.interactive" not in c.source]
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(source.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert sum("✅" in "".join(o.get("text", "")) for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", [])) >= 8


# ---------------------------------------------------------------------------------------------
# Hidden-test messages name the case and the mistake
# ---------------------------------------------------------------------------------------------

def _preamble_namespace() -> dict:
    namespace: dict = {}
    exec((ROOT / "source" / "coursekit" / "preamble.py").read_text(), namespace)
    return namespace


def test_an_error_in_a_hidden_case_names_the_case_and_a_likely_cause():
    ns = _preamble_namespace()

    def overflowing(z):
        return np.exp(z)

    with pytest.raises(AssertionError) as caught:
        ns["_hidden_call"](overflowing, (np.array([1000.0]),), "softmax of big logits",
                           "subtract the max")
    message = str(caught.value)
    assert message.startswith("hidden case softmax of big logits: your function raised "
                              "FloatingPointError")
    assert "Likely cause: subtract the max" in message and "RuntimeWarning" in message
    assert caught.value.__context__ is None  # no chained traceback in the feedback
    assert ns["_hidden_call"](np.add, (1.0, 2.0), "a sum") == 3.0


def test_a_result_that_matches_a_typical_mistake_is_named():
    ns = _preamble_namespace()
    mistakes = [("summed instead of averaged", [2.0, 4.0]), ("wrong shape one", [[1.0, 2.0]])]
    with pytest.raises(AssertionError, match="hidden case mse: summed instead of averaged"):
        ns["_hidden_array"](np.array([2.0, 4.0]), [1.0, 2.0], "mse", mistakes=mistakes)
    with pytest.raises(AssertionError, match="wrong shape one"):
        ns["_hidden_array"](np.array([[1.0, 2.0]]), [1.0, 2.0], "mse", mistakes=mistakes)
    with pytest.raises(AssertionError, match=r"hidden case mse: expected 1.0 at flat index 0"):
        ns["_hidden_array"](np.array([5.0, 2.0]), [1.0, 2.0], "mse", mistakes=mistakes)
    ns["_hidden_array"](np.array([1.0, 2.0]), [1.0, 2.0], "mse", mistakes=mistakes)
    with pytest.raises(AssertionError, match="hidden case loss: half"):
        ns["_hidden_float"](0.5, 1.0, "loss", mistakes=[("half", 0.5)])


def test_corpus_outputs_keep_only_wrong_finite_results():
    from coursekit.mistakes import Corpus

    namespace = {"np": np}
    corpus = Corpus(namespace)
    corpus.add("ex", "sum", "def f(x):\n    return np.sum(x)\n", "sum", message="summed")
    corpus.add("ex", "right", "def f(x):\n    return np.mean(x)\n", "x", message="same")
    corpus.add("ex", "nan", "def f(x):\n    return np.log(-np.ones(1))[0]\n", "x", message="n")
    corpus.add("ex", "raises", "def f(x):\n    raise ValueError\n", "x", message="r")
    corpus.add("ex", "sum", "def f(x):\n    return 2 * np.sum(x)\n", "sum", message="twice")
    assert [m.name for m in corpus.of("ex")] == ["sum", "right", "nan", "raises"]
    assert corpus.outputs("ex", "f", np.array([1.0, 3.0]), want=2.0) == [("twice", 8.0)]
    with pytest.raises(ValueError, match="defines no function"):
        corpus.add("ex", "empty", "x = 1", "x")


# ---------------------------------------------------------------------------------------------
# What an instructor gets wrong (tried from a fresh clone): clear errors, no silent loss
# ---------------------------------------------------------------------------------------------

def test_a_header_that_is_not_json_is_an_error_with_its_line(tmp_path):
    text = _source(GOOD_HIDDEN).replace('"grade": false, "grade_id": "ex1"',
                                        '"grade": False, "grade_id": "ex1"')
    with pytest.raises(RenderError, match=r"cell 2 \(line 14\).*not valid JSON.*lowercase"):
        _render(tmp_path, text)


def test_a_build_time_function_in_a_hidden_block_gets_the_literal_hint(tmp_path):
    body = "_cases = double_cases()\n_hidden_array(double(_hidden_make([1.0])), [2.0], 'x')"
    with pytest.raises(HiddenTestError, match=r"\['double_cases'\].*wrap build-time values in "
                                              r"literal"):
        _render(tmp_path, _source(body))


def test_release_refuses_to_overwrite_a_master_edited_by_hand(tmp_path):
    import subprocess

    root = _course(tmp_path)
    master = root / "notebooks" / "01_neuron" / "neuron.ipynb"
    release = [sys.executable, str(ROOT / "tools" / "release.py"), "--root", str(root)]
    first = subprocess.run(release, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    nb = nbformat.read(master, as_version=4)
    nb.cells[0].source += "\n\nAn edit made in JupyterLab."
    nbformat.write(nb, master)
    refused = subprocess.run(release, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2
    assert "changed since it was rendered" in refused.stderr and "FORCE=1" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "An edit made in JupyterLab." in master.read_text()   # nothing was overwritten
    forced = subprocess.run(release + ["--force"], capture_output=True, text=True, timeout=600)
    assert forced.returncode == 0, forced.stderr
    assert "An edit made in JupyterLab." not in master.read_text()
