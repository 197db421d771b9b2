"""Render authoring sources into the course's nbgrader masters.

An authoring source is a jupytext percent file, ``course/NN_topic/<name>.py``, that opens in
JupyterLab as a notebook and runs top to bottom there. Its cells:

* markdown and ordinary code cells, copied as they are;
* nbgrader cells, with their nbgrader metadata (schema 3) in the cell header, e.g.
  ``# %% nbgrader={"grade": true, "grade_id": "ex1-tests", "locked": true, "points": 1, ...}``;
  a graded test cell holds its visible tests, then one ``### BEGIN HIDDEN TESTS`` /
  ``### END HIDDEN TESTS`` block written as plain top-level code whose build-time inputs and
  expected values are wrapped in ``literal(...)`` (see :mod:`coursekit.hidden`);
* authoring cells, tagged ``authoring`` (``# %% tags=["authoring"]``): imports, the functions
  that compute the hidden cases and the corpus of typical mistakes (:mod:`coursekit.mistakes`),
  next to the test that uses them. They run in the instructor's kernel and at render time
  (after the setup and solution cells above them), and never reach the master.

:func:`render_source` writes the master ``notebooks/NN_topic/<name>.ipynb``: no outputs,
kernelspec ``python3``, cell ids that are the grade_id of nbgrader cells and a counter
(``md-001``, ``code-002``, ...) for the others, each hidden block expanded by
:func:`coursekit.hidden.render_hidden_block`. The output depends only on the source, the
preamble and :mod:`scratchnn.functional`: rendering twice gives the same bytes.

    python -m coursekit.render                 # every source -> its master
    python -m coursekit.render --check         # exit 1 if a master differs from its source
    python -m coursekit.render course/01_neuron/neuron.py --output /tmp/neuron.ipynb
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import re
import sys
from pathlib import Path

import jupytext
import nbformat

from .hidden import HiddenTestError, defined_functions, render_hidden_block, split_hidden
from .settings import CourseSettings

SCHEMA_VERSION = 3
AUTHORING_TAG = "authoring"
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
NBGRADER_KEYS = {"grade", "grade_id", "locked", "points", "schema_version", "solution",
                 "cell_type", "task"}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# Notebook metadata of a rendered master: its source and a digest of its cells, so that a master
# edited by hand (in JupyterLab, say) is noticed instead of silently overwritten.
RECORD = "coursekit"


class RenderError(ValueError):
    """An authoring source that cannot become a valid master; the message names the cell."""


def _nbgrader_meta(meta: dict, where: str) -> dict:
    unknown = set(meta) - NBGRADER_KEYS
    if unknown:
        raise RenderError(f"{where}: unknown nbgrader metadata keys {sorted(unknown)}")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise RenderError(f"{where}: nbgrader schema_version must be {SCHEMA_VERSION}")
    for key in ("grade", "solution", "locked"):
        if not isinstance(meta.get(key), bool):
            raise RenderError(f"{where}: nbgrader {key!r} must be true or false")
    grade_id = meta.get("grade_id")
    if not (isinstance(grade_id, str) and GRADE_ID.match(grade_id)):
        raise RenderError(f"{where}: grade_id {grade_id!r} must use letters, digits, '_', '-'")
    if meta["grade"]:
        points = meta.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
            raise RenderError(f"{where}: graded cell {grade_id!r} needs points > 0")
    return dict(meta)


def _runs_at_render(cell) -> bool:
    """Authoring cells, and the cells they may build on: read-only setup/data cells and the
    exercises' solutions (so a mistake corpus can call the correct versions of other
    functions). Test cells, demos and plots do not run."""
    if cell.cell_type != "code":
        return False
    meta = cell.metadata.get("nbgrader", {})
    return (AUTHORING_TAG in cell.metadata.get("tags", []) or bool(meta.get("solution"))
            or (bool(meta.get("locked")) and not meta.get("grade")))


def authoring_namespace(path: Path, nb=None) -> dict:
    """Run, in order and in one fresh namespace, the cells of the source that
    :func:`_runs_at_render` selects (IPython magics skipped), and return the namespace: what the
    hidden blocks' ``literal(...)`` arguments and the mistake corpus (``MISTAKES``) see."""
    path = Path(path)
    nb = nb if nb is not None else jupytext.read(path, fmt="py:percent")
    namespace: dict = {"__name__": f"authoring_{path.stem}"}
    for index, cell in enumerate(nb.cells):
        if _runs_at_render(cell):
            source = "\n".join("" if re.match(r"\s*[%!]", line) else line
                               for line in cell.source.split("\n"))
            code = compile(source, f"{path}, cell {index}", "exec")
            with contextlib.redirect_stdout(io.StringIO()):  # setup cells print
                exec(code, namespace)  # noqa: S102 (the instructor's own source)
    return namespace


def _header_lines(text: str) -> list[int]:
    """1-based line numbers of the ``# %%`` cell headers of a percent source."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.startswith("# %%")]


def cells_digest(cells) -> str:
    """SHA-256 of a notebook's cells (sources, metadata, outputs), as canonical JSON."""
    text = json.dumps([dict(c) for c in cells], sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def render_source(path: Path) -> nbformat.NotebookNode:
    """The nbgrader master notebook rendered from the authoring source ``path``.

    Raises RenderError (or HiddenTestError, a ValueError too) naming the cell (its grade_id or
    number, and the line of its header) when a cell's metadata, markers or hidden tests break
    the rules."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    nb = jupytext.reads(text, fmt="py:percent")
    lines = _header_lines(text)
    if len(lines) != len(nb.cells):   # code before the first header: no line numbers
        lines = [None] * len(nb.cells)
    for index, cell in enumerate(nb.cells):
        broken = cell.metadata.get("incorrectly_encoded_metadata")
        if broken is not None:
            raise RenderError(
                f"{path.name}, cell {index} (line {lines[index]}): the cell header's metadata "
                f"is not valid JSON ({broken!r}): write true/false/null in lowercase and strings "
                f"in double quotes, e.g. \"grade\": true")
    namespace = authoring_namespace(path, nb)

    def evaluate(expression: str):
        return eval(expression, namespace)  # noqa: S307 (the instructor's own source)

    cells, ids, functions, counter = [], set(), set(), 0
    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if AUTHORING_TAG in tags:
            continue
        where = f"{path.name}, cell {index} (line {lines[index]})"
        source = cell.source.strip("\n")
        new = (nbformat.v4.new_markdown_cell if cell.cell_type == "markdown"
               else nbformat.v4.new_code_cell)(source)
        if "nbgrader" in cell.metadata:
            meta = _nbgrader_meta(cell.metadata["nbgrader"], where)
            new.metadata["nbgrader"] = meta
            cell_id = meta["grade_id"]
            where = f"{path.name}, cell {cell_id!r} (line {lines[index]})"
        else:
            counter += 1
            cell_id = f"{'md' if cell.cell_type == 'markdown' else 'code'}-{counter:03d}"
            meta = {}
        if tags:
            new.metadata["tags"] = list(tags)
        if cell_id in ids:
            raise RenderError(f"{where}: duplicate cell id / grade_id {cell_id!r}")
        ids.add(cell_id)
        new.id = cell_id
        if cell.cell_type == "code":
            new.source = _render_code(source, meta, functions, evaluate, where, namespace)
        cells.append(new)

    master = nbformat.v4.new_notebook()
    master.nbformat, master.nbformat_minor = 4, 5
    master.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"},
                       RECORD: {"source": f"{path.parent.name}/{path.name}",
                                "cells_sha256": cells_digest(cells)}}
    master.cells = cells
    nbformat.validate(master)
    return master


def _render_code(source: str, meta: dict, functions: set, evaluate, where: str,
                 namespace: dict) -> str:
    has_solution = "### BEGIN SOLUTION" in source or "### END SOLUTION" in source
    if meta.get("solution"):
        if "### BEGIN SOLUTION" not in source or "### END SOLUTION" not in source:
            raise RenderError(f"{where}: a solution cell needs ### BEGIN/END SOLUTION markers")
        functions.update(defined_functions(source))
    elif has_solution:
        raise RenderError(f"{where}: solution markers in a cell that is not a solution cell")
    try:
        before, hidden, after = split_hidden(source)
    except HiddenTestError as err:
        raise RenderError(f"{where}: {err}") from None
    is_test = meta.get("grade") and not meta.get("solution")
    if hidden is None:
        if is_test:
            raise RenderError(f"{where}: a graded test cell needs a hidden-test block")
        return source
    if not is_test or not meta.get("locked"):
        raise RenderError(f"{where}: hidden tests outside a locked, graded test cell")
    if after.strip():
        raise RenderError(f"{where}: nothing may follow ### END HIDDEN TESTS")
    block = render_hidden_block(hidden, evaluate, set(functions), where,
                                build_time=set(namespace) - set(functions))
    return "\n".join([before, "### BEGIN HIDDEN TESTS", block.rstrip("\n"),
                      "### END HIDDEN TESTS"])


def notebook_text(nb) -> str:
    """The canonical file text of a notebook (nbformat's JSON, ending with a newline)."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def edited_by_hand(master: Path) -> bool:
    """True if the master on disk is not what it was rendered as (its cells no longer match the
    digest recorded at render time). A master without a record counts as not edited."""
    try:
        nb = nbformat.read(master, as_version=4)
    except (OSError, ValueError):
        return False
    record = nb.metadata.get(RECORD, {})
    digest = record.get("cells_sha256") if isinstance(record, dict) else None
    return bool(digest) and digest != cells_digest(nb.cells)


def render_all(settings: CourseSettings | None = None, assignments=None,
               output: Path | None = None, check: bool = False,
               force: bool = False) -> list[Path]:
    """Render every source of ``assignments`` (default: all with sources) into its master
    (or into ``output``/<assignment>/ when given). With ``check``, write nothing and return the
    masters that differ from their sources. Returns the masters written or differing.

    Raises RenderError, and writes nothing, if a master was edited by hand since it was
    rendered (unless ``force``): the edit belongs in the source, and would be lost."""
    settings = settings or CourseSettings.read()
    names = settings.with_sources() if assignments is None else list(assignments)
    if not check and output is None and not force:
        edited = [settings.master_of(s) for a in names for s in settings.sources(a)
                  if edited_by_hand(settings.master_of(s))]
        if edited:
            raise RenderError(
                f"{', '.join(str(p.relative_to(settings.root)) for p in edited)} changed since "
                f"it was rendered (edited by hand?): make the change in its source under "
                f"{settings.authoring_directory}/ (open it as a notebook), or discard the edit "
                f"with `make release FORCE=1`")
    done = []
    for assignment in names:
        sources = settings.sources(assignment)
        if not sources:
            raise RenderError(f"no authoring source for {assignment} under "
                              f"{settings.authoring_directory}/{assignment}/")
        for source in sources:
            target = settings.master_of(source)
            if output is not None:
                target = Path(output) / assignment / target.name
            text = notebook_text(render_source(source))
            if check:
                if not target.is_file() or target.read_text(encoding="utf-8") != text:
                    done.append(target)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
            done.append(target)
    return done


def main(argv: list[str] | None = None) -> int:
    """Command line: render sources into masters (see the module docstring)."""
    parser = argparse.ArgumentParser(description="Render authoring sources into masters.")
    parser.add_argument("sources", nargs="*", type=Path, help="default: every source")
    parser.add_argument("--output", type=Path, help="with one source: the master's path")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a master differs from its source")
    parser.add_argument("--force", action="store_true",
                        help="overwrite masters edited by hand since they were rendered")
    args = parser.parse_args(argv)
    try:
        if args.sources:
            if args.output and len(args.sources) != 1:
                parser.error("--output takes exactly one source")
            settings = CourseSettings.read()
            for source in args.sources:
                target = args.output or settings.master_of(source)
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                Path(target).write_text(notebook_text(render_source(source)), encoding="utf-8")
                print(f"rendered {source} -> {target}")
            return 0
        results = render_all(check=args.check, force=args.force)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.check:
        for path in results:
            print(f"{path} differs from its source: run `make release`", file=sys.stderr)
        return 1 if results else 0
    for path in results:
        print(f"rendered {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
