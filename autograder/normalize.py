"""Read a submitted notebook defensively and repair its nbgrader structure before grading.

nbgrader stops (or crashes) on notebooks whose nbgrader cells were deleted in awkward places,
whose metadata was edited, or whose JSON is broken. Every such case is turned here into a
gradable copy plus a :class:`~autograder.problems.Problem`, so that nbgrader only ever sees
notebooks it can grade and the instructor sees what was wrong:

* empty file / invalid JSON / invalid notebook schema / JSON nested deeper than
  :data:`MAX_JSON_DEPTH` levels -> not graded (``empty-file``, ``invalid-notebook``); the
  notebook scores 0;
* an nbgrader cell with an id the assignment does not have, or with broken metadata -> the
  metadata is removed (``unknown-cell-metadata``), the cell runs as an ordinary cell;
* an id that appears several times -> nbgrader's rule (the last copy keeps the id, the others
  become ordinary cells), logged as ``duplicated-cell``;
* a cell whose type was changed -> type restored (``retyped-cell``);
* a locked cell that was edited -> logged as ``restored-cell`` (nbgrader restores the source
  from its checksums);
* a deleted locked cell (a test or setup cell) -> the released version is put back in its
  place (``deleted-cell``); nbgrader then restores its hidden tests. A deleted solution cell is
  only logged: the tests then use whatever the notebook defines elsewhere.

The nbgrader metadata of every known cell is reset to the released metadata, so edited points,
flags or schema versions cannot change the grading.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

import nbformat

from .course import MasterNotebook

_NBGRADER_KEYS = ("grade", "solution", "locked", "grade_id", "points", "task")
# Levels of JSON nesting a submitted notebook may have. A real notebook has about 10 (cells,
# outputs, mime bundles, widget state); nbformat, nbgrader and nbconvert walk notebooks
# recursively (reading, validation, deep copies): nbformat.reads alone fails near 450 levels
# (RecursionError), less in the deeper stack of a grading process.
MAX_JSON_DEPTH = 100


def json_depth(value) -> int:
    """Levels of nesting of a parsed JSON value (a scalar is 0, ``[]`` and ``{}`` are 1);
    iterative, so any depth can be measured."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children
                       if isinstance(child, (dict, list)))
    return deepest


def _too_deep_detail(depth: int | None) -> str:
    how = f"{depth} levels deep" if depth else "deeper than the JSON reader can follow"
    return (f"JSON nested {how} (at most {MAX_JSON_DEPTH} levels are accepted; a notebook has "
            f"about 10)")


def too_deep(data: bytes) -> str | None:
    """Why ``data`` is nested too deeply to be graded, or None (also for text that is not
    JSON at all: :func:`parse` reports that)."""
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        return _too_deep_detail(None)
    except (UnicodeDecodeError, ValueError):
        return None
    depth = json_depth(raw)
    return _too_deep_detail(depth) if depth > MAX_JSON_DEPTH else None


@dataclass
class Repaired:
    """The outcome of :func:`repair`: the notebook text to grade (None: not gradable)."""

    text: str | None
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, cell, detail)

    def add(self, kind: str, detail: str, cell: str = "") -> None:
        """Record a problem."""
        self.problems.append((kind, cell, detail))


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _set_type(cell, cell_type: str) -> None:
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    cell.pop("attachments", None) if cell_type == "code" else None


def parse(data: bytes) -> tuple[nbformat.NotebookNode | None, str | None, str | None]:
    """(notebook, problem kind, detail): the notebook, or why it cannot be graded."""
    if not data.strip():
        return None, "empty-file", "the file is empty"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, "invalid-notebook", f"not UTF-8 text: {exc}"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, "invalid-notebook", f"not valid JSON: {exc}"
    except RecursionError:  # the reader gave up: nested deeper than the recursion limit
        return None, "invalid-notebook", _too_deep_detail(None)
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        return None, "invalid-notebook", _too_deep_detail(depth)
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", []), list):
        return None, "invalid-notebook", "JSON is not a notebook (no list of cells)"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many kinds on malformed notebooks
        return None, "invalid-notebook", f"not a Jupyter notebook: {type(exc).__name__}: {exc}"
    return nb, None, None


def _fresh_id(cell, seen: set[str], index: int) -> None:
    cid = cell.get("id")
    if not isinstance(cid, str) or not cid or cid in seen or len(cid) > 64:
        base = f"cell-{index}"
        cid, n = base, 0
        while cid in seen:
            n += 1
            cid = f"{base}-{n}"
        cell["id"] = cid
    seen.add(cell["id"])


def repair(data: bytes, master: MasterNotebook, release_cells: dict[str, dict]) -> Repaired:
    """Turn a submitted notebook into a copy nbgrader can grade.

    ``master`` is the instructor's notebook; ``release_cells`` maps grade_id -> the released
    (student-version) cell, as a JSON dict, used to put deleted cells back and to reset the
    nbgrader metadata.
    """
    nb, kind, detail = parse(data)
    result = Repaired(None)
    if nb is None:
        result.add(kind, detail)
        return result

    known = {c.grade_id: c for c in master.cells}
    occurrences: dict[str, list[int]] = {}
    cells = nb.get("cells", [])
    for index, cell in enumerate(cells):
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = nbformat.NotebookNode()
        meta = cell["metadata"].get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(grade_id, str) and grade_id in known:
            occurrences.setdefault(grade_id, []).append(index)
            continue
        if isinstance(meta, dict) and not any(meta.get(k) for k in _NBGRADER_KEYS):
            del cell["metadata"]["nbgrader"]  # empty or cleared metadata: harmless
            continue
        del cell["metadata"]["nbgrader"]
        result.add("unknown-cell-metadata",
                   f"cell {index} had nbgrader metadata with id {grade_id!r}, which "
                   f"{master.assignment}/{master.name} does not have; it runs as an ordinary "
                   f"cell", cell=str(grade_id or ""))

    for grade_id, indices in occurrences.items():
        if len(indices) > 1:
            for index in indices[:-1]:
                del cells[index]["metadata"]["nbgrader"]
            result.add("duplicated-cell",
                       f"{len(indices)} cells with this id (cells {indices}); the last one is "
                       f"graded, the others run as ordinary cells", cell=grade_id)
            occurrences[grade_id] = indices[-1:]

    for grade_id, (index,) in occurrences.items():
        cell, spec = cells[index], known[grade_id]
        released = release_cells.get(grade_id)
        if cell.get("cell_type") != spec.cell_type:
            result.add("retyped-cell", f"changed from {spec.cell_type} to "
                       f"{cell.get('cell_type')}; type restored", cell=grade_id)
            _set_type(cell, spec.cell_type)
        if released is not None:
            cell["metadata"]["nbgrader"] = copy.deepcopy(released["metadata"]["nbgrader"])
            if spec.locked and _norm(_source(cell)) != _norm(_source(released)):
                what = "test" if spec.grade else "locked"
                result.add("restored-cell", f"the {what} cell was edited; the original "
                           f"(with its hidden tests) was restored", cell=grade_id)

    # Put deleted locked cells back, right after the nearest earlier nbgrader cell present.
    present = {gid: idxs[0] for gid, idxs in occurrences.items()}
    order = [c.grade_id for c in master.cells]
    for pos, grade_id in enumerate(order):
        if grade_id in present:
            continue
        spec = known[grade_id]
        if not spec.locked:
            result.add("deleted-cell", "the solution cell was deleted; not restored (the "
                       "tests use whatever the notebook defines elsewhere)", cell=grade_id)
            continue
        released = release_cells.get(grade_id)
        if released is None:
            continue
        prev = [present[g] for g in order[:pos] if g in present]
        at = max(prev) + 1 if prev else 0
        cells.insert(at, nbformat.from_dict(copy.deepcopy(released)))
        for gid, idx in present.items():
            if idx >= at:
                present[gid] = idx + 1
        present[grade_id] = at
        what = "test" if spec.grade else "locked"
        result.add("deleted-cell", f"the {what} cell was deleted; put back at cell {at}",
                   cell=grade_id)

    seen: set[str] = set()
    for index, cell in enumerate(cells):
        if "id" in cell or (nb.nbformat, nb.nbformat_minor) >= (4, 5):
            _fresh_id(cell, seen, index)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    try:
        nbformat.validate(nb)
    except Exception as exc:  # nbformat's ValidationError and friends
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        result.add("invalid-notebook", f"notebook schema: {message}")
        return result
    result.text = nbformat.writes(nb)
    return result
