"""The course as students and instructors use it: JupyterLab in a real browser.

Scenario 1, a student, on the release notebook of assignment 01: types the first exercise's
solution into its editor, runs the setup cell, the exercise and its test cell with Shift+Enter
and sees the visible test pass; completes the exercises the neuron playground needs, runs the
notebook down to the playground, moves a slider with the keyboard and sees the plot change;
then presses nbgrader's Validate button and gets told what still fails.

Scenario 2, an instructor, on the master notebook: Run All Cells from the menu; every cell
runs without an error, every plot and the playground widget render.

Run with ``make test-browser`` (see conftest.py for the server and browser fixtures). Every
step leaves a screenshot in the artifacts folder that the run prints at the end.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

ASSIGNMENT_DIR = "01_neuron"
NOTEBOOK = "neuron.ipynb"
RELEASE = f"release/{ASSIGNMENT_DIR}/{NOTEBOOK}"
MASTER = f"notebooks/{ASSIGNMENT_DIR}/{NOTEBOOK}"
PLAYGROUND_CALL = "neuron_playground("
# A wrong answer to exercise 1 that students type (see the mistake corpus in the source), and the
# words the last line of the error they see must contain.
FIRST_MISTAKE = ("def neuron_forward(x, w, b):\n    return np.dot(w, x)\n", "without the bias")

OPEN_TIMEOUT = 60.0        # seconds: notebook shown and its kernel idle
CELLS_TIMEOUT = 60.0       # seconds: a run of a few cells (Shift+Enter)
RUN_ALL_TIMEOUT = 150.0    # seconds: the whole master notebook (it runs in < 60 s)
WIDGET_TIMEOUT = 30.0      # seconds: a widget to render, or its plot to be redrawn
VALIDATE_TIMEOUT = 150.0   # seconds: nbgrader validate runs the whole notebook on the server

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"   # the notebook in the current tab
CELL = ".jp-Notebook .jp-Cell"
PROMPT = ".jp-InputArea-prompt"
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
DONE_PROMPT = re.compile(r"^\[\d+\]:$")

# One round trip to the page per poll: for the given cells, their input prompt ("[ ]:",
# "[*]:", "[12]:"), stderr/traceback texts, number of images in outputs, plain output text.
# textContent, not innerText: JupyterLab skips rendering off-screen cells (CSS
# content-visibility), and innerText of an unrendered element is empty.
_CELL_STATES_JS = """
([panelSelector, cellSelector, promptSelector, stderrSelector, indices]) => {
  const cells = document.querySelectorAll(`${panelSelector} ${cellSelector}`);
  return indices.map((i) => {
    const cell = cells[i];
    if (!cell) return null;
    const prompt = cell.querySelector(promptSelector);
    const outputs = cell.querySelector('.jp-Cell-outputArea');
    return {
      prompt: prompt ? prompt.textContent.trim() : '',
      stderr: [...cell.querySelectorAll(stderrSelector)].map((e) => e.textContent),
      images: outputs ? outputs.querySelectorAll('img').length : 0,
      text: outputs ? outputs.textContent : '',
    };
  });
}
"""


# ------------------------------------------------------------------------------------------
# Reading the notebook files
# ------------------------------------------------------------------------------------------
def load_notebook(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def grading(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cells(cells: list[dict]) -> list[int]:
    return [i for i, c in enumerate(cells)
            if c["cell_type"] == "code" and grading(c).get("solution")]


def master_solution(master: list[dict], grade_id: str) -> str:
    """The master's code for a solution cell, without nbgrader's solution markers: exactly
    what a student who solved the exercise would have typed."""
    for cell in master:
        if grading(cell).get("grade_id") == grade_id:
            lines = [line for line in source(cell).splitlines()
                     if not re.match(r"\s*### (BEGIN|END) SOLUTION\s*$", line)]
            return "\n".join(lines)
    raise AssertionError(f"the master notebook has no cell {grade_id!r}")


def graded_cell_after(cells: list[dict], exercise: int) -> int:
    """The graded test cell that follows the exercise cell ``exercise``."""
    for i in range(exercise + 1, len(cells)):
        if cells[i]["cell_type"] == "code" and grading(cells[i]).get("grade"):
            return i
    raise AssertionError(f"no test cell after cell {exercise}")


def error_name(traceback_text: str) -> str:
    """``NameError: name 'x' is not defined`` from the text of a rendered traceback."""
    for line in reversed(traceback_text.strip().splitlines()):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", line):
            return line.strip()
    return traceback_text.strip().splitlines()[-1] if traceback_text.strip() else "(empty)"


# ------------------------------------------------------------------------------------------
# Driving a notebook in JupyterLab
# ------------------------------------------------------------------------------------------
class NotebookUI:
    """One notebook open in JupyterLab, driven the way a person does: clicks and keys."""

    def __init__(self, page, lab, path: str, shots):
        self.page, self.lab, self.path, self.shots = page, lab, path, shots
        self.file = lab.course / path
        self.cells_json = load_notebook(self.file)
        self.panel = page.locator(PANEL)
        self.cells = self.panel.locator(CELL)

    # -- opening and kernel state ----------------------------------------------------------
    def open(self) -> None:
        url = self.lab.page_url(self.path, workspace=self.shots.scenario)
        self.page.goto(url, wait_until="domcontentloaded", timeout=OPEN_TIMEOUT * 1000)
        n = len(self.cells_json)
        self._wait(lambda: self.cells.count() == n,
                   f"{self.path} did not show its {n} cells", OPEN_TIMEOUT)
        self.wait_kernel_idle(OPEN_TIMEOUT, "the kernel did not start")
        kernels = self.lab.kernel_processes()
        assert kernels, f"no kernel process was started for {self.path}"
        venv_bin = Path(self.lab.process.args[0]).parent
        for args in kernels.values():
            assert Path(args[0]).parent == venv_bin, (
                f"the kernel runs {args[0]}, not the course environment's Python in {venv_bin}: "
                f"{' '.join(args)}")

    def kernel_status(self) -> str:
        indicator = self.panel.locator(".jp-Notebook-ExecutionIndicator").first
        return indicator.get_attribute("data-status") or ""

    def wait_kernel_idle(self, timeout: float, what: str) -> None:
        status = self.page.locator(".jp-StatusBar-Item", has_text="Python 3")
        self._wait(lambda: self.kernel_status() == "idle" and "Idle" in status.first.inner_text(),
                   f"{what}: kernel status {self.kernel_status()!r}", timeout)

    def _wait(self, condition, message: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.shots.take(self.page, "timeout")
                pytest.fail(f"{message} within {timeout:.0f} s (see the screenshots in "
                            f"{self.shots.folder})", pytrace=False)
            self.page.wait_for_timeout(250)

    # -- cells -----------------------------------------------------------------------------
    def cell(self, index: int):
        return self.cells.nth(index)

    def states(self, indices: list[int]) -> list[dict]:
        return self.page.evaluate(_CELL_STATES_JS, [PANEL, CELL, PROMPT, STDERR, list(indices)])

    def select(self, index: int) -> None:
        """Select a cell in command mode, by clicking its prompt (as a person would)."""
        prompt = self.cell(index).locator(PROMPT).first
        prompt.scroll_into_view_if_needed()
        prompt.click()
        self._wait(lambda: "jp-mod-commandMode" in (self.panel.locator(".jp-Notebook").first
                                                    .get_attribute("class") or ""),
                   "the notebook did not enter command mode", 10)

    def type_into(self, index: int, text: str) -> None:
        """Replace a code cell's text through its editor: click, select all, type."""
        editor = self.cell(index).locator(".cm-content").first
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.press("Delete")
        # One text input, as a paste or an input method sends it: typing key by key would
        # let the editor auto-indent every new line on top of the solution's own indentation.
        self.page.keyboard.insert_text(text)
        lines = self.cell(index).locator(".cm-line").all_inner_texts()
        typed = "\n".join(line.rstrip() for line in lines).strip()
        wanted = "\n".join(line.rstrip() for line in text.splitlines()).strip()
        assert typed == wanted, f"cell {index}: the editor shows\n{typed}\ninstead of\n{wanted}"
        self.page.keyboard.press("Escape")   # back to command mode

    def run(self, first: int, last: int, timeout: float = CELLS_TIMEOUT) -> list[dict]:
        """Select cell ``first`` and press Shift+Enter until cell ``last`` has run; wait until
        every code cell in between has an execution count, failing at the first error."""
        self.select(first)
        for _ in range(first, last + 1):
            self.page.keyboard.press("Shift+Enter")
        code = [i for i in range(first, last + 1) if self.cells_json[i]["cell_type"] == "code"]
        return self.wait_executed(code, timeout, f"running cells {first}-{last}")

    def wait_executed(self, indices: list[int], timeout: float, what: str) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            states = self.states(indices)
            self.fail_on_errors(indices, states)
            pending = [i for i, s in zip(indices, states, strict=True)
                       if s is None or not DONE_PROMPT.match(s["prompt"])]
            if not pending and self.kernel_status() == "idle":
                return states
            if time.monotonic() > deadline:
                self.shots.take(self.page, "timeout", self.cell(pending[0]) if pending else None)
                detail = ", ".join(f"cell {i} {s['prompt'] if s else 'missing'}"
                                   for i, s in zip(indices, states, strict=True) if i in pending)
                pytest.fail(f"{self.path}: {what} did not finish within {timeout:.0f} s: "
                            f"{detail or 'the kernel stayed busy'}", pytrace=False)
            self.page.wait_for_timeout(300)

    def fail_on_errors(self, indices: list[int], states: list[dict]) -> None:
        for i, state in zip(indices, states, strict=True):
            if state and state["stderr"]:
                text = "\n".join(state["stderr"])
                if "Traceback" in text or re.search(r"^\w+(Error|Exception)\b", text, re.M):
                    shot = self.shots.take(self.page, f"error-in-cell-{i}", self.cell(i))
                    pytest.fail(f"{self.path}: cell {i} shows an error: {error_name(text)}\n"
                                f"--- cell source ---\n{source(self.cells_json[i])[:1500]}\n"
                                f"--- output ---\n{text[-3000:]}\n(screenshot: {shot})",
                                pytrace=False)

    def save(self) -> None:
        """Ctrl+S, then wait until the tab no longer shows unsaved changes."""
        self.select(0)
        self.page.keyboard.press("Control+s")
        tab = self.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
        self._wait(lambda: "jp-mod-dirty" not in (tab.first.get_attribute("class") or ""),
                   f"{self.path} was not saved", 30)

    def shot(self, step: str, index: int | None = None, output: bool = False):
        """Screenshot, with cell ``index`` (or only its output, if ``output``) in view."""
        element = None
        if index is not None:
            element = self.cell(index)
            if output:
                element = element.locator(".jp-Cell-outputArea").first
        return self.shots.take(self.page, step, element)


def expect_playground(nb: NotebookUI, index: int) -> None:
    """The neuron playground in cell ``index`` rendered as a live widget: its three sliders,
    the activation dropdown and the plot (a PNG in its Output widget)."""
    cell = nb.cell(index)
    parts = {"w1, w2 and b sliders": (".widget-slider", 3),
             "activation dropdown": (".widget-dropdown select", 1),
             "plot": (".widget-output img", 1)}
    missing = None
    for name, (selector, count) in parts.items():
        try:
            cell.locator(selector).nth(count - 1).wait_for(state="visible",
                                                           timeout=WIDGET_TIMEOUT * 1000)
        except Exception as exc:  # playwright's TimeoutError
            missing = f"{name} ({selector} x{count}): {type(exc).__name__}"
            break
    if missing:
        shot = nb.shot("playground-missing", index)
        text = nb.states([index])[0]["text"].strip()
        hint = ""
        if re.search(r"\b[VH]Box\(", text):
            hint = ("\nOnly the widget's text form is shown: the ipywidgets JupyterLab "
                    "extension (jupyterlab_widgets) is missing or disabled.")
        pytest.fail(f"{nb.path}: the neuron playground (cell {index}) did not render within "
                    f"{WIDGET_TIMEOUT:.0f} s; missing: {missing}.{hint}\ncell output: "
                    f"{text[:500]}\n(screenshot: {shot})", pytrace=False)


# ------------------------------------------------------------------------------------------
# Scenario 1: the student
# ------------------------------------------------------------------------------------------
def test_student_solves_exercise_plays_and_validates(lab, page, shots):
    nb = NotebookUI(page, lab, RELEASE, shots)
    master = load_notebook(lab.course / MASTER)
    cells = nb.cells_json
    exercises = solution_cells(cells)
    first = exercises[0]
    first_id = grading(cells[first])["grade_id"]
    first_tests = graded_cell_after(cells, first)
    setup = [i for i in range(first) if cells[i]["cell_type"] == "code"]
    assert setup, "the notebook has no setup cell before the first exercise"
    success = re.search(r'print\(f?"(✅[^"{]*)', source(cells[first_tests]))
    assert success, f"the test cell {first_id}-tests prints no ✅ success message"
    success_text = success.group(1).strip()

    nb.open()
    nb.shot("release-opened")

    # Exercise 1 with a typical mistake (the bias forgotten): the test cell says what is wrong.
    assert "raise NotImplementedError()" in source(cells[first])
    wrong, named = FIRST_MISTAKE
    nb.type_into(first, wrong)
    nb.select(setup[0])
    for _ in range(setup[0], first_tests + 1):
        page.keyboard.press("Shift+Enter")
    deadline = time.monotonic() + CELLS_TIMEOUT
    while not (state := nb.states([first_tests])[0]) or not state["stderr"]:
        if time.monotonic() > deadline:
            nb.shot("mistake-not-reported", first_tests)
            pytest.fail("the test cell of exercise 1 showed no error for a wrong answer",
                        pytrace=False)
        page.wait_for_timeout(250)
    shown = "\n".join(state["stderr"])
    nb.shot("exercise-1-mistake-named", first_tests, output=True)
    assert named in error_name(shown), (
        f"for a neuron_forward that forgets the bias, the student sees {error_name(shown)!r}, "
        f"which does not say {named!r}")
    nb.wait_kernel_idle(CELLS_TIMEOUT, "the kernel did not finish the failing test")

    # Then the right answer, typed through the editor, and the same cells again.
    nb.type_into(first, master_solution(master, first_id))
    nb.shot("exercise-1-typed", first)
    states = nb.run(setup[0], first_tests)
    test_output = states[-1]
    assert test_output["stderr"] == [], f"the test cell wrote to stderr: {test_output['stderr']}"
    assert success_text in test_output["text"], (
        f"the test cell of {first_id} does not show {success_text!r}; its output:\n"
        f"{test_output['text']}")
    nb.shot("exercise-1-test-passes", first_tests, output=True)

    # The playground needs the activations of later exercises: solve every exercise above it
    # (as a student who got that far), and run the notebook down to it.
    playground = next(i for i, c in enumerate(cells) if PLAYGROUND_CALL in source(c))
    for index in (i for i in exercises if first < i < playground):
        nb.type_into(index, master_solution(master, grading(cells[index])["grade_id"]))
    nb.run(first_tests + 1, playground)

    expect_playground(nb, playground)
    sliders = nb.cell(playground).locator(".widget-slider")
    image = nb.cell(playground).locator(".widget-output img").first
    nb.shot("playground-rendered", playground, output=True)

    # Move w1 with the keyboard: focus the slider's handle, press the right arrow.
    slider = sliders.first
    readout = slider.locator(".widget-readout")
    before_value, before_src = readout.inner_text(), image.get_attribute("src")
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    deadline = time.monotonic() + WIDGET_TIMEOUT
    while image.get_attribute("src") == before_src or readout.inner_text() == before_value:
        if time.monotonic() > deadline:
            shot = nb.shot("playground-not-redrawn", playground)
            pytest.fail(f"moving the w1 slider did not redraw the plot: readout "
                        f"{before_value!r} -> {readout.inner_text()!r}, image "
                        f"{'unchanged' if image.get_attribute('src') == before_src else 'changed'}"
                        f" (screenshot: {shot})", pytrace=False)
        page.wait_for_timeout(250)
    assert float(readout.inner_text()) > float(before_value)
    # Each key press is one change, redrawn in turn: wait for the last drawing to arrive (the
    # kernel idle and the image the same for a second) before judging and photographing it.
    nb.wait_kernel_idle(WIDGET_TIMEOUT, "the playground kept the kernel busy")
    last, stable_since = image.get_attribute("src"), time.monotonic()
    while time.monotonic() - stable_since < 1.0:
        page.wait_for_timeout(250)
        src = image.get_attribute("src")
        if src != last:
            last, stable_since = src, time.monotonic()
    nb.fail_on_errors([playground], nb.states([playground]))
    nb.shot("playground-slider-moved", playground, output=True)

    # nbgrader's Validate button: the later exercises are still stubs, so it must say so.
    validate = nb.panel.locator(".jp-Toolbar .validate-button").first
    validate.click()
    dialog = page.locator(".jp-Dialog").filter(has_text="Validation Results")
    try:
        dialog.wait_for(state="visible", timeout=VALIDATE_TIMEOUT * 1000)
    except Exception:
        others = page.locator(".jp-Dialog").all_inner_texts()
        shot = nb.shot("validate-no-result")
        pytest.fail(f"no 'Validation Results' dialog within {VALIDATE_TIMEOUT:.0f} s after "
                    f"clicking Validate; dialogs: {others} (screenshot: {shot})", pytrace=False)
    nb.shot("validate-dialog")
    report = dialog.locator(".jp-Dialog-body").inner_text()
    (shots.folder / f"{shots.scenario}-validate-report.txt").write_text(report)
    assert re.search(r"fail|error", report, re.I), (
        f"Validate should report the unsolved exercises as failing; it said:\n{report}")
    assert "NotImplementedError" in report, f"the report does not name the stubs' error:\n{report}"
    # Exactly the test cells of the exercises left as stubs fail (each named by its first
    # line, e.g. "# Tests for Exercise 7"); those of the solved ones do not.
    reported = set(report.splitlines())
    for exercise in exercises:
        tests = graded_cell_after(cells, exercise)
        header = source(cells[tests]).splitlines()[0]
        solved = exercise < playground
        assert (header in reported) != solved, (
            f"Validate {'reports' if solved else 'does not report'} the test cell {header!r} "
            f"of a{' solved' if solved else 'n unsolved'} exercise; the report:\n{report}")
    dialog.get_by_role("button", name=re.compile("ok", re.I)).click()


# ------------------------------------------------------------------------------------------
# Scenario 2: the instructor
# ------------------------------------------------------------------------------------------
def test_instructor_runs_master_notebook(lab, page, shots):
    nb = NotebookUI(page, lab, MASTER, shots)
    cells = nb.cells_json
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    plots = [i for i in code if "plt.show()" in source(cells[i])]
    playground = next(i for i in code if PLAYGROUND_CALL in source(cells[i]))

    nb.open()
    nb.shot("master-opened")

    # Run > Run All Cells, from the menu bar.
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    started = time.monotonic()
    states = nb.wait_executed(code, RUN_ALL_TIMEOUT, "Run All Cells")
    elapsed = time.monotonic() - started
    nb.shot("master-ran-all-end", code[-1], output=True)

    stderr = {i: s["stderr"] for i, s in zip(code, states, strict=True) if s["stderr"]}
    assert not stderr, f"cells wrote to stderr after Run All: {stderr}"
    no_plot = [i for i, s in zip(code, states, strict=True) if i in plots and s["images"] == 0]
    assert not no_plot, f"cells {no_plot} call plt.show() but show no image"

    expect_playground(nb, playground)
    nb.shot("master-playground", playground, output=True)
    nb.shot("master-first-plot", plots[0], output=True)

    # The saved notebook agrees: every code cell ran, none produced an error.
    nb.save()
    saved = load_notebook(nb.file)
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(saved)
              if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"error outputs in the saved master: {errors}"
    not_run = [i for i, c in enumerate(saved) if c["cell_type"] == "code"
               and c.get("execution_count") is None]
    assert not not_run, f"cells not executed by Run All: {not_run}"
    widget_views = [i for i, c in enumerate(saved) for o in c.get("outputs", [])
                    if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert playground in widget_views, "the playground cell saved no widget view"
    print(f"Run All of {MASTER}: {elapsed:.1f} s")


# ------------------------------------------------------------------------------------------
# Scenario 3: the instructor edits a notebook's authoring source
# ------------------------------------------------------------------------------------------
SOURCE = f"course/{ASSIGNMENT_DIR}/neuron.py"
EDITED_TEST_ID = "ex1-neuron-forward-tests"
NEW_ASSERT = ('assert np.isclose(neuron_forward(np.ones(2), np.ones(2), 1.0), 3.0), '
              '"edited in JupyterLab: 1 + 1 + 1 should be 3"')


def test_instructor_edits_the_authoring_source_and_the_release_follows(lab, page, shots):
    """Open course/01_neuron/neuron.py as a notebook (Open With > Jupytext Notebook, as
    docs/authoring.md says), add a line to a visible test, save, run tools/release.py (what
    `make release` runs): the master and the release carry the new line, and the saved source
    differs from the original by that line only (saving in JupyterLab adds no noise)."""
    import shutil
    import subprocess
    import sys

    import jupytext

    # Scenario 2 ran the master in this course copy and saved it with its outputs: for
    # `make release` that is a hand edit, which it refuses to overwrite. Start from the
    # committed master, as an instructor's clean checkout would.
    shutil.copy(Path(__file__).parents[2] / MASTER, lab.course / MASTER)
    file = lab.course / SOURCE
    original = file.read_text(encoding="utf-8")
    cells = jupytext.reads(original, fmt="py:percent").cells
    index = next(i for i, c in enumerate(cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == EDITED_TEST_ID)

    page.goto(lab.page_url(f"course/{ASSIGNMENT_DIR}", workspace=shots.scenario),
              wait_until="domcontentloaded", timeout=OPEN_TIMEOUT * 1000)
    item = page.locator(".jp-DirListing-item", has_text="neuron.py").first
    item.click(button="right")
    page.locator(".lm-Menu-item", has_text="Open With").first.hover()
    page.locator(".lm-Menu-item", has_text="Jupytext Notebook").first.click()
    panel = page.locator(PANEL)
    deadline = time.monotonic() + OPEN_TIMEOUT
    while panel.locator(CELL).count() != len(cells):
        if time.monotonic() > deadline:
            shots.take(page, "source-not-opened")
            pytest.fail(f"{SOURCE} did not open as a notebook of {len(cells)} cells "
                        f"(shows {panel.locator(CELL).count()})", pytrace=False)
        page.wait_for_timeout(250)
    shots.take(page, "source-opened-as-notebook")

    editor = panel.locator(CELL).nth(index).locator(".cm-content").first
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+Home")
    page.keyboard.insert_text(NEW_ASSERT + "\n")
    page.keyboard.press("Escape")
    shots.take(page, "source-visible-test-edited", panel.locator(CELL).nth(index))
    page.keyboard.press("Control+s")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    deadline = time.monotonic() + 30
    while "jp-mod-dirty" in (tab.first.get_attribute("class") or "") \
            or NEW_ASSERT not in file.read_text(encoding="utf-8"):
        if time.monotonic() > deadline:
            pytest.fail(f"{SOURCE} was not saved with the new line", pytrace=False)
        page.wait_for_timeout(250)

    saved = file.read_text(encoding="utf-8").splitlines()
    before = original.splitlines()
    added = [line for line in saved if line not in before]
    assert added == [NEW_ASSERT] and len(saved) == len(before) + 1, (
        f"saving the source in JupyterLab changed more than the added line: {added[:5]}")

    result = subprocess.run([sys.executable, str(Path(__file__).parents[2] / "tools" /
                                                 "release.py"), "--root", str(lab.course)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for folder in ("notebooks", "release"):
        notebook = load_notebook(lab.course / folder / ASSIGNMENT_DIR / NOTEBOOK)
        test = next(c for c in notebook if grading(c).get("grade_id") == EDITED_TEST_ID)
        assert source(test).splitlines()[0] == NEW_ASSERT, (
            f"{folder}/{ASSIGNMENT_DIR}/{NOTEBOOK} does not carry the edit")
    print(f"edited {SOURCE} in JupyterLab; make release carried it to the master and release")
