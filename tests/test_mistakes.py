"""Feedback names the mistake: every notebook's corpus of typical student mistakes, run through
the real test cells of its master.

The corpus of a notebook is declared in its authoring source (``MISTAKES.add(...)`` in authoring
cells next to each test; see coursekit.mistakes and docs/authoring.md). For each notebook, one
kernel runs the master top to bottom, then for every mistake: defines the wrong solution, runs
the exercise's test cell (visible and hidden tests, as graded), and restores the solution. A
mistake passes when the test cell fails (caught) and its first failing message contains every
word the corpus gives for it (named). At the end every test cell runs again on the solutions,
so a restore that did not work cannot go unnoticed. The figures are printed per notebook.
The notebooks run two at a time, one kernel each.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from coursekit.render import authoring_namespace
from coursekit.settings import CourseSettings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = CourseSettings.read(ROOT)
SOURCES = [p for a in SETTINGS.with_sources() for p in SETTINGS.sources(a)]
MIN_PER_EXERCISE = 4
WIDGETS = "scratchnn.interactive"
CAUGHT_TARGET, NAMED_TARGET = 0.97, 0.90


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _corpus(source: Path):
    corpus = authoring_namespace(source).get("MISTAKES")
    assert corpus is not None, f"{_id(source)} declares no MISTAKES corpus"
    return corpus


CORPORA = {source: _corpus(source) for source in SOURCES}
CASES = [(source, i) for source, corpus in CORPORA.items()
         for i in range(len(corpus.mistakes))]


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _test_cell_after(cells, index: int):
    for cell in cells[index + 1:]:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            return cell
    raise AssertionError(f"no test cell after {_grade_id(cells[index])}")


def _seconds(cells) -> float:
    """Wall time the kernel spent on these cells (nbclient records each cell's timing)."""
    from datetime import datetime

    total = 0.0
    for cell in cells:
        timing = cell.metadata.get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if start and end:
            total += (datetime.fromisoformat(end.replace("Z", "+00:00"))
                      - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
    return total


def _first_error(cell) -> tuple[str, str] | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output.get("ename", ""), output.get("evalue", "")
    return None


def _run_corpus(source: Path, corpus) -> dict:
    """One kernel: the master top to bottom, then every mistake of the corpus and its restore,
    then every test cell again. Returns the probes' errors, the control and setup errors and
    the kernel's seconds on the corpus."""
    from nbclient import NotebookClient

    master = nbformat.read(SETTINGS.master_of(source), as_version=4)
    cells = master.cells
    index = {_grade_id(c): i for i, c in enumerate(cells) if _grade_id(c)}
    run = nbformat.v4.new_notebook(metadata=master.metadata)
    # Widget cells are left out: they test nothing here, and a cell that displays an
    # ipywidget sometimes stalls nbclient until its timeout (jupyter/nbclient#312).
    run.cells = [nbformat.v4.new_code_cell(c.source) for c in cells
                 if c.cell_type == "code" and WIDGETS not in c.source]
    n_master = len(run.cells)
    probes = []
    for mistake in corpus.mistakes:
        assert mistake.exercise in index, (
            f"{_id(source)}: mistake {mistake.name!r} names no exercise "
            f"{mistake.exercise!r}")
        solution = cells[index[mistake.exercise]]
        test = _test_cell_after(cells, index[mistake.exercise])
        define = nbformat.v4.new_code_cell(mistake.code)
        check = nbformat.v4.new_code_cell(test.source)
        run.cells += [define, check, nbformat.v4.new_code_cell(solution.source)]
        probes.append((mistake, define, check))
    controls = [nbformat.v4.new_code_cell(c.source) for c in cells
                if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    run.cells += controls
    NotebookClient(run, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(SETTINGS.master_of(source).parent)}}
                   ).execute()
    return {
        "probes": [(m, _first_error(check), _first_error(define))
                   for m, define, check in probes],
        "controls": [e for e in map(_first_error, controls) if e],
        "setup": [e for e in map(_first_error, run.cells[:n_master]) if e],
        "seconds": _seconds(run.cells[n_master:]),
    }


@pytest.fixture(scope="module")
def results():
    """{source: [(mistake, first error or None, code error or None)], plus the control
    errors}, one kernel per notebook.

    The notebooks run two at a time (one kernel each, in a thread each: the work is in the
    kernels, and this machine has two cores); each kernel is the same as when they ran one
    after the other, so the results are too.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {source: pool.submit(_run_corpus, source, corpus)
                   for source, corpus in CORPORA.items()}
        return {source: future.result() for source, future in futures.items()}


@pytest.mark.parametrize("source, i", CASES,
                         ids=[f"{_id(s)}:{CORPORA[s].mistakes[i].exercise}:"
                              f"{CORPORA[s].mistakes[i].name}" for s, i in CASES])
def test_mistake_is_caught_and_named(results, source, i):
    mistake, error, code_error = results[source]["probes"][i]
    assert code_error is None, f"the corpus code of {mistake.name!r} itself fails: {code_error}"
    assert error is not None, (
        f"{mistake.exercise}: the mistake {mistake.name!r} passes the test cell:\n"
        f"{mistake.code}")
    ename, message = error
    missing = [w for w in mistake.words if w.lower() not in message.lower()]
    assert not missing, (
        f"{mistake.exercise}: the mistake {mistake.name!r} is caught, but the first message "
        f"does not name it (missing {missing}):\n{ename}: {message}")


@pytest.mark.parametrize("source", SOURCES, ids=_id)
def test_corpus_figures_and_the_solutions_still_pass(results, source):
    """Every exercise has its mistakes; caught/named rates meet the targets; the master ran
    cleanly before the corpus and all its tests pass again after it."""
    result = results[source]
    assert not result["setup"], f"the master failed before the corpus ran: {result['setup']}"
    assert not result["controls"], (
        f"after the corpus, test cells fail on the restored solutions: {result['controls']}")
    master = nbformat.read(SETTINGS.master_of(source), as_version=4)
    exercises = [_grade_id(c) for c in master.cells
                 if c.metadata.get("nbgrader", {}).get("solution")]
    corpus = CORPORA[source]
    thin = {e: len(corpus.of(e)) for e in exercises if len(corpus.of(e)) < MIN_PER_EXERCISE}
    assert not thin, f"exercises with fewer than {MIN_PER_EXERCISE} mistakes: {thin}"
    probes = result["probes"]
    caught = [p for p in probes if p[1] is not None]
    named = [p for p in caught
             if all(w.lower() in p[1][1].lower() for w in p[0].words)]
    print(f"\n{_id(source)}: {len(probes)} typical mistakes over {len(exercises)} exercises: "
          f"caught {len(caught)}/{len(probes)} ({len(caught) / len(probes):.0%}), first "
          f"message names the mistake {len(named)}/{len(probes)} "
          f"({len(named) / len(probes):.0%}); the kernel spent {result['seconds']:.1f} s on them")
    assert len(caught) >= CAUGHT_TARGET * len(probes)
    assert len(named) >= NAMED_TARGET * len(probes)
