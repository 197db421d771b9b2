"""The course as a student receives it: the bundle of `make student-bundle`, a fresh
environment made from it alone, and JupyterLab started with the one documented command,
`scratchnn-lab` (see the ``student_lab`` fixture in conftest.py).

One scenario, in a real (headless) Chromium: the command's URL opens the first notebook, which
is not marked modified once its kernel is up; JupyterLab shows no news pop-up; nbgrader's menu
offers only the Assignment List (Formgrader, Course List and Create Assignment are off, and the
formgrader's pages do not exist on the server); the student types the first exercise, runs it
and sees its test pass; then presses Validate and is told which exercises still fail.

Run with ``make test-browser``; screenshots go to the artifacts folder like the other browser
tests'. The notebook is driven with the helpers of test_jupyterlab.py.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_jupyterlab import (
    OPEN_TIMEOUT,
    VALIDATE_TIMEOUT,
    NotebookUI,
    graded_cell_after,
    grading,
    load_notebook,
    master_solution,
    solution_cells,
    source,
)

ROOT = Path(__file__).resolve().parents[2]
FIRST = "assignments/01_neuron/neuron.ipynb"
MASTER = ROOT / "notebooks" / "01_neuron" / "neuron.ipynb"
OFF_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
               "@jupyter/nbgrader:course-list", "@jupyterlab/apputils-extension:announcements"}
OFF_COMMANDS = {"nbgrader:open-formgrader", "nbgrader:open-formgrader-local",
                "nbgrader:open-course-list", "nbgrader:open-create-assignment"}

_MENU_ITEMS_JS = """
() => [...document.querySelectorAll('.lm-Menu .lm-Menu-item')].map((e) => ({
  command: e.getAttribute('data-command') || '',
  label: e.textContent.trim(),
  visible: e.offsetParent !== null && !e.classList.contains('lm-mod-hidden'),
}))
"""


def _news_toasts(page) -> list[str]:
    return [t for t in page.locator(".Toastify__toast").all_inner_texts()
            if re.search(r"news|update", t, re.I)]


def test_student_opens_the_bundle_solves_exercise_1_and_validates(student_lab, student_page,
                                                                   shots):
    lab, page = student_lab, student_page
    nb = NotebookUI(page, lab, FIRST, shots)
    cells = nb.cells_json
    master = load_notebook(MASTER)

    # The URL printed by `scratchnn-lab` is the server's root: it must land on notebook 01.
    page.goto(f"{lab.url}/?token={lab.token}", wait_until="domcontentloaded",
              timeout=OPEN_TIMEOUT * 1000)
    nb._wait(lambda: nb.cells.count() == len(cells),
             f"the server's start page did not open {FIRST}", OPEN_TIMEOUT)
    assert page.url.split("?")[0].endswith(f"/lab/tree/{FIRST}"), page.url
    nb.wait_kernel_idle(OPEN_TIMEOUT, "the kernel did not start")
    venv_bin = Path(lab.process.args[0]).parent
    kernels = lab.kernel_processes()
    assert kernels, "no kernel process was started for the notebook"
    for args in kernels.values():
        assert Path(args[0]).parent == venv_bin, f"the kernel runs {args[0]}, not {venv_bin}"
    nb.shot("bundle-opened")

    # Opening it changed nothing: the kernel's language_info already matches the file's.
    page.wait_for_timeout(1500)
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").first
    assert tab.inner_text().strip() == Path(FIRST).name
    assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), (
        "the notebook is marked modified right after opening it")

    # The bundle's configuration: news and instructor tools off, in the page and the server.
    config = page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)")
    disabled = config.get("disabledExtensions", [])
    assert OFF_PLUGINS <= set(disabled), f"disabledExtensions: {disabled}"
    assert not _news_toasts(page), f"a news pop-up: {_news_toasts(page)}"
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Nbgrader$")).click()
    items = page.evaluate(_MENU_ITEMS_JS)
    nb.shot("nbgrader-menu")
    page.keyboard.press("Escape")
    shown = [i["label"] for i in items if i["visible"]]
    assert shown == ["Assignment List"], f"the Nbgrader menu shows {shown}"
    assert not {i["command"] for i in items if i["visible"]} & OFF_COMMANDS
    sidebar = page.locator(".jp-SideBar .lm-TabBar-tab").evaluate_all(
        "tabs => tabs.map((t) => t.getAttribute('title') || t.textContent)")
    assert not [t for t in sidebar if "Assignment" in t and "Create" in t], sidebar
    request = urllib.request.Request(f"{lab.url}/formgrader",
                                     headers={"Authorization": f"token {lab.token}"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=30)
    assert answer.value.code == 404, f"/formgrader answered {answer.value.code}"

    # Exercise 1, typed as a student does, then setup -> exercise -> its tests.
    exercises = solution_cells(cells)
    first = exercises[0]
    first_tests = graded_cell_after(cells, first)
    success = re.search(r'print\(f?"(✅[^"{]*)', source(cells[first_tests]))
    assert success, "the first test cell prints no ✅ message"
    nb.type_into(first, master_solution(master, grading(cells[first])["grade_id"]))
    setup = next(i for i in range(first) if cells[i]["cell_type"] == "code")
    states = nb.run(setup, first_tests)
    assert success.group(1).strip() in states[-1]["text"], states[-1]["text"]
    nb.shot("bundle-exercise-1-passes", first_tests, output=True)

    # Validate (nbgrader's button): exercise 1 passes, every other exercise is still a stub.
    nb.panel.locator(".jp-Toolbar .validate-button").first.click()
    dialog = page.locator(".jp-Dialog").filter(has_text="Validation Results")
    try:
        dialog.wait_for(state="visible", timeout=VALIDATE_TIMEOUT * 1000)
    except Exception:
        shot = nb.shot("bundle-validate-no-result")
        pytest.fail(f"no 'Validation Results' within {VALIDATE_TIMEOUT:.0f} s of pressing "
                    f"Validate; dialogs: {page.locator('.jp-Dialog').all_inner_texts()} "
                    f"(screenshot: {shot})", pytrace=False)
    nb.shot("bundle-validate-dialog")
    report = dialog.locator(".jp-Dialog-body").inner_text()
    (shots.folder / f"{shots.scenario}-validate-report.txt").write_text(report)
    assert "NotImplementedError" in report, f"the report does not name the stubs:\n{report}"
    # It starts with one line per failing exercise (scratchnn_lab.validate), then the details.
    lines = [line.strip() for line in report.splitlines() if line.strip()]
    stubs = len(exercises) - 1
    assert lines[1].startswith(f"{stubs} exercises fail"), f"no summary first:\n{report}"
    assert all(" (ex" in line and "not done yet" in line for line in lines[2:2 + stubs]), (
        f"the summary does not have one line per failing exercise:\n{report}")
    reported = set(report.splitlines())
    for exercise in exercises:
        header = source(cells[graded_cell_after(cells, exercise)]).splitlines()[0]
        assert (header in reported) == (exercise != first), (
            f"Validate {'reports' if header in reported else 'does not report'} {header!r}:"
            f"\n{report}")
    dialog.get_by_role("button", name=re.compile("ok", re.I)).click()
    assert not _news_toasts(page), f"a news pop-up: {_news_toasts(page)}"
