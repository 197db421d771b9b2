"""Intake follows no symbolic link, output is bounded, deep nesting is an invalid notebook
(issue 15, "grading sandbox", faults 1-3).

1. A submission's symbolic links -- to the master notebook, to ``/etc/shadow``, to a private
   file, to folders, symlinked student or assignment folders, symlink members of a zip -- are
   reported as ``symlink`` problems and what they point to is never read, in every layout.
2. One long output line is cut (:class:`autograder.nbexec.LimitOutput` bounds characters per
   output, cell and notebook, and image bytes) without changing any grade, and every cut cell
   is an ``output-cut`` problem.
3. A notebook nested 200,000 levels deep is an ``invalid-notebook``, not a crash; deeply nested
   Python in a cell does not crash the integrity scan.

Unit tests run the real discovery, parser and scan on small temporary files (no kernel). One
end-to-end run grades three students with ``python -m autograder grade --jobs 2``.
"""

from __future__ import annotations

import ast
import base64
import copy
import csv
import io
import json
import os
import stat
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from autograder_corpus import (
    NEURON,
    grading_course,
    marked_notebook,
    read_json,
    run_grader,
    write_tree,
)
from autograder_corpus import Course as CorpusCourse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.intake import discover  # noqa: E402
from autograder.integrity import scan_notebook  # noqa: E402
from autograder.normalize import parse  # noqa: E402
from autograder.similarity import find_similar  # noqa: E402

MASTER = ROOT / "notebooks" / NEURON / "neuron.ipynb"
GRADE_TIMEOUT = 600  # seconds: a kill switch for a hung run, not an assertion
SHADOW = Path("/etc/shadow")


@pytest.fixture(scope="module")
def course():
    return grading_course()


_marked = marked_notebook


@pytest.fixture
def vault(tmp_path) -> Path:
    """A private folder (0700) outside the submissions with a private file (0600) in it."""
    folder = tmp_path / "vault"
    folder.mkdir(mode=0o700)
    (folder / "private.txt").write_bytes(b"PRIVATE-TOKEN-of-the-grader\n")
    os.chmod(folder / "private.txt", 0o600)
    (folder / "neuron.ipynb").write_bytes(MASTER.read_bytes())
    return folder


def _everything_read(subs) -> list[bytes]:
    return [data for s in subs for data in [*s.notebooks.values(), *s.extra_files.values()]]


def _assert_nothing_leaked(subs) -> None:
    """No bytes of the master, of the private file or of /etc/shadow in any submission."""
    master = MASTER.read_bytes()
    shadow = SHADOW.read_bytes() if os.access(SHADOW, os.R_OK) else None
    for data in _everything_read(subs):
        assert data != master and b"BEGIN HIDDEN TESTS" not in data, data[:80]
        assert b"PRIVATE-TOKEN" not in data, data[:80]
        assert shadow is None or data != shadow, data[:80]


def _links(problems, student: str | None = None) -> list:
    return [p for p in problems if p.kind == "symlink"
            and (student is None or p.student_id == student)]


def _all_problems(subs, problems) -> list:
    return [*problems, *(p for s in subs for p in s.problems)]


# ----------------------------------------------------------------------------------------------
# 1. Symbolic links, every layout
# ----------------------------------------------------------------------------------------------

def test_tree_links_to_master_shadow_and_private_files_are_reported_not_read(course, tmp_path,
                                                                            vault):
    """The issue's case: links in an nbgrader tree were copied into the working folder as
    extra files, and a notebook that links to the master scored full marks."""
    subs_dir = tmp_path / "course"
    alice = subs_dir / "submitted" / "alice" / NEURON
    (alice / "data").mkdir(parents=True)
    (alice / "neuron.ipynb").symlink_to(MASTER)
    (alice / "shadow").symlink_to(SHADOW)
    (alice / "private.txt").symlink_to(vault / "private.txt")
    (alice / "vault").symlink_to(vault, target_is_directory=True)
    (alice / "data" / "weights.csv").write_bytes(b"1,2\n")
    (alice / "data" / "secret.csv").symlink_to(vault / "private.txt")
    (alice / "timestamp.txt").write_text("2026-01-15 12:00:00 UTC\n", encoding="utf-8")
    bob = subs_dir / "submitted" / "bob" / NEURON
    bob.mkdir(parents=True)
    (bob / "neuron.ipynb").write_bytes(_marked("bob"))

    subs, problems = discover(subs_dir, course)
    by_id = {s.student: s for s in subs}
    assert set(by_id) == {"alice", "bob"}, sorted(by_id)
    _assert_nothing_leaked(subs)
    a = by_id["alice"]
    assert a.notebooks == {} and a.extra_files == {"data/weights.csv": b"1,2\n"}, (
        sorted(a.notebooks), sorted(a.extra_files))
    assert a.timestamp == "2026-01-15 12:00:00 UTC"
    linked = {p.detail.split(" ")[0]: p for p in _links(a.problems, "alice")}
    assert set(linked) == {f"alice/{NEURON}/{n}" for n in ("neuron.ipynb", "shadow", "private.txt",
                                                           "vault", "data/secret.csv")}, linked
    assert linked[f"alice/{NEURON}/neuron.ipynb"].notebook == "neuron"
    assert str(MASTER) in linked[f"alice/{NEURON}/neuron.ipynb"].detail
    assert "missing-notebook" not in {p.kind for p in a.problems}, a.problems
    assert by_id["bob"].notebooks["neuron"] == _marked("bob") and not by_id["bob"].problems
    assert not problems


@pytest.mark.parametrize("level", ["submitted", "no submitted level"])
def test_symlinked_student_and_assignment_folders_are_not_followed(course, tmp_path, vault, level):
    """A student folder or an assignment folder that is a link (to the masters' folder, to a
    copy of a tree elsewhere) is reported, and nothing under it is read."""
    folder = tmp_path / "subs"
    root = folder / "submitted" if level == "submitted" else folder
    elsewhere = tmp_path / "elsewhere" / "mallory" / NEURON
    elsewhere.mkdir(parents=True)
    (elsewhere / "neuron.ipynb").write_bytes(MASTER.read_bytes())
    (elsewhere / "private.txt").symlink_to(vault / "private.txt")
    (root / "bob" / NEURON).mkdir(parents=True)
    (root / "bob" / NEURON / "neuron.ipynb").write_bytes(_marked("bob"))
    (root / "mallory").symlink_to(elsewhere.parent, target_is_directory=True)
    (root / "eve").mkdir()
    (root / "eve" / NEURON).symlink_to(MASTER.parent, target_is_directory=True)

    subs, problems = discover(folder, course)
    by_id = {s.student: s for s in subs}
    _assert_nothing_leaked(subs)
    assert set(by_id) == {"bob", "eve"}, sorted(by_id)
    assert by_id["bob"].notebooks["neuron"] == _marked("bob")
    eve = by_id["eve"]
    assert eve.notebooks == {} and eve.extra_files == {}
    (link,) = _links(eve.problems)
    assert link.detail.startswith(f"eve/{NEURON} -> {MASTER.parent}"), link.detail
    assert "missing-notebook" not in {p.kind for p in eve.problems}
    (link,) = _links(problems, "mallory")
    assert link.detail.startswith("mallory -> "), link.detail


def test_a_symlinked_submitted_folder_is_not_followed(course, tmp_path):
    real = tmp_path / "real-submitted" / "alice" / NEURON
    real.mkdir(parents=True)
    (real / "neuron.ipynb").write_bytes(MASTER.read_bytes())
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "submitted").symlink_to(real.parent.parent, target_is_directory=True)
    subs, problems = discover(folder, course)
    assert subs == [], [s.student for s in subs]
    (link,) = _links(problems)
    assert link.detail.startswith("submitted -> "), link.detail


def test_flat_export_links_are_reported_not_read(course, tmp_path, vault):
    """Links to a notebook, a zip, a private file and a folder in a flat LMS export (as
    ``unzip`` recreates them from an LMS download)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    with zipfile.ZipFile(outside / "real.zip", "w") as zf:
        zf.writestr(f"{NEURON}/neuron.ipynb", MASTER.read_bytes())
    export = tmp_path / "export"
    export.mkdir()
    (export / f"alice_{NEURON}.ipynb").symlink_to(MASTER)
    (export / f"bob_{NEURON}.zip").symlink_to(outside / "real.zip")
    (export / f"carol_{NEURON}.ipynb").write_bytes(_marked("carol"))
    (export / f"dave_{NEURON}.ipynb").symlink_to(vault / "private.txt")
    (export / f"erin_{NEURON}.ipynb").symlink_to(SHADOW)
    (export / "vault").symlink_to(vault, target_is_directory=True)
    (export / "folder").mkdir()
    (export / "folder" / f"frank_{NEURON}.ipynb").symlink_to(MASTER)

    subs, problems = discover(export, course)
    by_id = {s.student: s for s in subs}
    _assert_nothing_leaked(subs)
    assert set(by_id) == {"alice", "bob", "carol", "dave", "erin"}, sorted(by_id)
    assert by_id["carol"].notebooks["neuron"] == _marked("carol")
    for student in ("alice", "bob", "dave", "erin"):
        sub = by_id[student]
        assert sub.notebooks == {}, student
        (link,) = _links(sub.problems)
        assert link.detail.startswith(f"{student}_{NEURON}."), link.detail
        assert link.notebook == "neuron"
        assert "missing-notebook" not in {p.kind for p in sub.problems}, sub.problems
    (link,) = _links(problems)
    assert link.detail.startswith("vault -> "), link.detail
    assert {p.kind for p in problems} == {"symlink", "unrecognised-file"}  # the folder


def test_zip_members_marked_as_symlinks_are_not_read(course, tmp_path):
    """A zip whose notebook member is a symbolic link (``zip --symlinks``; ``unzip`` would
    recreate the link): its content is the link's target, never graded."""
    export = tmp_path / "export"
    export.mkdir()
    for student, target in (("alice", str(MASTER)), ("bob", "../../notebooks/01_neuron")):
        with zipfile.ZipFile(export / f"{student}_{NEURON}.zip", "w") as zf:
            info = zipfile.ZipInfo(f"{NEURON}/neuron.ipynb")
            info.create_system = 3  # Unix: the high 16 bits are the mode
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
            zf.writestr(f"{NEURON}/data.csv", "1,2\n")
    with zipfile.ZipFile(export / f"carol_{NEURON}.zip", "w") as zf:
        zf.writestr(f"{NEURON}/neuron.ipynb", _marked("carol"))
    subs, problems = discover(export, course)
    by_id = {s.student: s for s in subs}
    assert set(by_id) == {"alice", "bob", "carol"} and not problems, (sorted(by_id), problems)
    assert by_id["carol"].notebooks["neuron"] == _marked("carol")
    for student in ("alice", "bob"):
        sub = by_id[student]
        assert sub.notebooks == {}, (student, sub.notebooks)
        (link,) = _links(sub.problems)
        assert link.detail.startswith(f"{student}_{NEURON}.zip:{NEURON}/neuron.ipynb"), link
        assert link.notebook == "neuron"
        assert "missing-notebook" not in {p.kind for p in sub.problems}


def test_reads_refuse_a_link_even_when_swapped_in_after_the_listing(tmp_path, vault):
    """Every read opens each path component without following links (O_NOFOLLOW, relative
    to the folder already open), so a file or folder replaced by a link between the listing
    and the read is refused, not followed."""
    from autograder.intake import SafeFolder, SymlinkError

    top = tmp_path / "top"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "real.txt").write_bytes(b"real")
    with SafeFolder.open(top) as folder:
        assert dict(folder.entries()) == {"sub": "dir"}
        assert folder.read("sub/real.txt", 100) == (4, b"real")
        # Swapped after the listing: the file, then the folder on the way to it.
        (top / "sub" / "real.txt").unlink()
        (top / "sub" / "real.txt").symlink_to(vault / "private.txt")
        with pytest.raises(SymlinkError):
            folder.read("sub/real.txt", 100)
        os.rename(top / "sub", top / "old")
        (top / "sub").symlink_to(vault, target_is_directory=True)
        with pytest.raises(SymlinkError):
            folder.read("sub/private.txt", 100)
        with pytest.raises(SymlinkError):
            folder.sub("sub")


# ----------------------------------------------------------------------------------------------
# 3. Deep nesting: JSON and Python
# ----------------------------------------------------------------------------------------------

def _nested_notebook(depth: int) -> bytes:
    """A notebook whose metadata holds a list nested ``depth`` levels deep."""
    return (b'{"cells": [], "metadata": {"x": ' + b"[" * depth + b"]" * depth
            + b'}, "nbformat": 4, "nbformat_minor": 5}')


@pytest.mark.parametrize("depth", [200_000, 600])
def test_a_deeply_nested_notebook_is_an_invalid_notebook(depth):
    nb, kind, detail = parse(_nested_notebook(depth))
    assert nb is None and kind == "invalid-notebook", (kind, detail)
    assert "nested" in detail and "levels" in detail, detail


def test_a_normally_nested_notebook_still_parses():
    nb, kind, detail = parse(_nested_notebook(20))
    assert nb is not None and kind is None, (kind, detail)


def test_deep_notebooks_are_rejected_at_intake_and_spare_the_similarity_check(course, tmp_path):
    """Flat, zipped and tree: the notebook is an ``invalid-notebook`` of its student (not a
    crash of the run, not a failed similarity check for the whole class)."""
    export = tmp_path / "export"
    export.mkdir()
    deep = _nested_notebook(200_000)
    (export / f"alice_{NEURON}.ipynb").write_bytes(deep)
    with zipfile.ZipFile(export / f"bob_{NEURON}.zip", "w") as zf:
        zf.writestr(f"{NEURON}/neuron.ipynb", deep)
    (export / f"carol_{NEURON}.ipynb").write_bytes(_marked("carol"))
    tree = tmp_path / "tree"
    (tree / "submitted" / "dave" / NEURON).mkdir(parents=True)
    (tree / "submitted" / "dave" / NEURON / "neuron.ipynb").write_bytes(deep)
    subs, problems = discover(export, course)
    tree_subs, _ = discover(tree, course)
    by_id = {s.student: s for s in [*subs, *tree_subs]}
    assert set(by_id) == {"alice", "bob", "carol", "dave"} and not problems
    for student in ("alice", "bob", "dave"):
        sub = by_id[student]
        assert sub.notebooks == {}, student
        (bad,) = [p for p in sub.problems if p.kind == "invalid-notebook"]
        assert bad.notebook == "neuron" and "nested" in bad.detail, bad
        assert "missing-notebook" not in {p.kind for p in sub.problems}
    find_similar(course, [*subs, *tree_subs])  # must not raise


DEEP_PYTHON = {  # label -> (cell source, is a finding expected)
    "100,000 parentheses": ("(" * 100_000, False),  # the tokenizer refuses: cannot run either
    "600 additions": ("x = 1" + " + 1" * 600, True),  # parses and runs, too deep to walk
    "100,000 unary minus": ("-" * 100_000 + "1", True),  # parser gives up (MemoryError)
    "100,000 additions": ("x" + " + x" * 100_000, True),  # RecursionError building the AST
    "1,000 attributes": ("import os\nos" + ".path" * 1_000, True),
}


@pytest.mark.parametrize("label", sorted(DEEP_PYTHON))
def test_integrity_scan_survives_deeply_nested_python(label):
    """A cell too deeply nested to check is an integrity finding (anything could hide in it, and
    a kernel with a raised recursion limit may run it); the scan goes on with the next cells."""
    source, flagged = DEEP_PYTHON[label]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source),
                nbformat.v4.new_code_cell("import scratchnn\n")]
    findings = scan_notebook(nb, {0, 1}, {0: "deep", 1: "after"})
    assert [f.cell for f in findings if f.cell == "after"], findings  # the scan went on
    deep = [f for f in findings if f.cell == "deep"]
    if not flagged:
        assert deep == [], deep
    else:
        (finding,) = deep
        assert finding.rule == "too-deep" and finding.scope == "rest", finding
        assert "nested too deeply" in finding.detail, finding.detail


# ----------------------------------------------------------------------------------------------
# 2. Output limits (the preprocessor on a notebook node, no kernel)
# ----------------------------------------------------------------------------------------------

def _png() -> str:
    """A normal matplotlib figure as the inline backend sends it (base64 PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    x = np.linspace(0, 10, 500)
    for ax in axes:
        ax.plot(x, np.sin(x), label="sin")
        ax.scatter(x[::5], np.cos(x[::5]), s=4)
        ax.legend()
        ax.set_title("a normal plot")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _code(source: str, outputs: list, grade_id: str = "", points: int = 0):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    if grade_id:
        cell.metadata["nbgrader"] = {"grade": bool(points), "grade_id": grade_id, "locked": True,
                                     "points": points, "schema_version": 3, "solution": False}
    return cell


def _stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def _size(nb) -> int:
    return len(nbformat.writes(nb))


def _grades(nb) -> dict[str, float]:
    from nbgrader.utils import determine_grade, is_grade

    return {c.metadata["nbgrader"]["grade_id"]: determine_grade(c)[0] for c in nb.cells
            if is_grade(c)}


def _run_limit(nb, events: Path):
    from autograder.nbexec import LimitOutput

    limiter = LimitOutput(events_file=str(events))
    out, _ = limiter.preprocess(copy.deepcopy(nb), {"nbgrader": {"notebook": "neuron"}})
    return out


def test_limit_output_bounds_characters_and_keeps_the_grades(tmp_path):
    """One 30 MB line, a huge error message, huge HTML/JSON/image data and many cells of large
    output are cut with a marker; normal output (a matplotlib PNG) is untouched; no grade
    changes (errors, stderr and a partial-credit result keep their type and value)."""
    from autograder.nbexec import LimitOutput
    from autograder.problems import KINDS

    png = _png()
    big_image = base64.b64encode(os.urandom(3 * 2**20)).decode("ascii")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _code("print('x' * 30_000_000)", [_stream("x" * 30_000_000 + "\n")]),
        _code("plot()", [{"output_type": "display_data", "metadata": {},
                          "data": {"image/png": png, "text/plain": "<Figure>"}},
                         _stream("normal output\n")]),
        _code("check()", [_stream("first\n"), _stream("e" * 500_000, "stderr")],
              grade_id="test-stderr", points=2),
        _code("partial()", [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                             "data": {"text/plain": "0.5", "text/html": "<b>h</b>" * 100_000,
                                      "application/json": {"k": ["v" * 100] * 5_000}}}],
              grade_id="test-partial", points=4),
        _code("fail()", [{"output_type": "error", "ename": "ValueError",
                          "evalue": "v" * 1_000_000,
                          "traceback": ["line " * 1_000] * 1_000}],
              grade_id="test-error", points=3),
        _code("show()", [{"output_type": "display_data", "metadata": {},
                          "data": {"image/png": big_image, "text/plain": "<Image>"}}]),
        *[_code(f"chatty({i})", [_stream("y" * 150_000 + "\n")]) for i in range(20)],
        _code("tail()", [_stream("z" * 150_000 + "\n"), _stream("late warning\n", "stderr")],
              grade_id="test-late-stderr", points=1),
    ]
    events = tmp_path / "events.jsonl"
    before = _grades(nb)
    assert before == {"test-stderr": 0, "test-partial": 0.5, "test-error": 0,
                      "test-late-stderr": 0}, before
    out = _run_limit(nb, events)
    nbformat.validate(out)
    assert _grades(out) == before
    limits = LimitOutput()
    budget = limits.max_notebook_chars + len(out.cells) * 3_000  # markers and kept messages
    assert _size(out) < budget + limits.max_notebook_image_bytes * 4 // 3, _size(out)

    first = out.cells[0].outputs[0].text
    assert len(first) < limits.max_output_chars + 200
    assert "... output cut: 29900001 characters not shown (limit 100000" in first, first[-200:]
    assert out.cells[1].outputs == nb.cells[1].outputs  # the normal figure is untouched
    err = out.cells[4].outputs[0]
    assert err.output_type == "error" and err.ename == "ValueError"
    assert err.evalue.startswith("v" * 1_000) and "output cut" in err.evalue
    assert sum(map(len, err.traceback)) < limits.max_output_chars + 1_000
    assert "image/png" not in out.cells[5].outputs[0].data
    assert "output cut" in json.dumps(out.cells[5].outputs)
    result = out.cells[3].outputs[0].data
    assert result["text/plain"] == "0.5" and "application/json" not in result
    assert len(result["text/html"]) < limits.max_output_chars + 200
    # The notebook's budget ran out among the chatty cells: their output went, but the
    # stderr that decides the last test's grade stayed, whole, before the marker.
    assert sum(len(o.get("text", "")) for o in out.cells[-2].outputs) < 1_000
    late = out.cells[-1].outputs
    assert [(o.output_type, o.get("name")) for o in late] == [
        ("stream", "stderr"), ("stream", "stdout")], late
    assert late[0].text == "late warning\n" and "output cut" in late[1].text

    records = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    assert "output-cut" in KINDS and {r["kind"] for r in records} == {"output-cut"}
    by_cell = {r["cell"]: r for r in records}
    assert len(by_cell) == len(records), records  # one event per cut cell
    assert {"cell 0", "test-stderr", "test-partial", "test-error", "cell 5",
            "test-late-stderr"} <= set(by_cell), sorted(by_cell)
    assert "cell 1" not in by_cell
    assert all(r["notebook"] == "neuron" and set(r) == {"notebook", "kind", "index", "cell",
                                                         "detail"} for r in records)
    assert "29900001 characters" in by_cell["cell 0"]["detail"], by_cell["cell 0"]
    assert "image" in by_cell["cell 5"]["detail"], by_cell["cell 5"]


def test_limit_output_keeps_nbgraders_line_limit_without_dropping_stderr(tmp_path):
    """nbgrader's LimitOutput drops every stream after 1000 lines: a test cell whose stderr
    comes after them went from 0 to full marks. Its line limit stays, the stderr stays too."""
    from nbgrader.preprocessors import LimitOutput as NbgraderLimitOutput

    nb = nbformat.v4.new_notebook()
    nb.cells = [_code("check()", [_stream("line\n" * 1_500), _stream("RuntimeWarning\n", "stderr")],
                      grade_id="test", points=2),
                _code("print('hello')", [_stream("hello\n")])]
    assert _grades(nb) == {"test": 0}
    theirs, _ = NbgraderLimitOutput().preprocess(copy.deepcopy(nb), {})
    assert _grades(theirs) == {"test": 2.0}  # the fault this class does not have
    events = tmp_path / "events.jsonl"
    out = _run_limit(nb, events)
    assert _grades(out) == {"test": 0}
    assert out.cells[0].outputs[0].text.count("\n") <= 1_000
    assert "Output truncated" in out.cells[0].outputs[0].text
    assert out.cells[1].outputs == nb.cells[1].outputs
    assert not events.exists()  # no character limit was hit


# ----------------------------------------------------------------------------------------------
# End to end
# ----------------------------------------------------------------------------------------------

def test_grading_cuts_a_30_mb_line_and_grades_no_symlinked_notebook(tmp_path):
    """Three students of an nbgrader tree, ``--jobs 2``: ``chatty`` prints 30 MB on one line in
    an extra last cell (full marks, an ``output-cut`` problem, small autograded notebook and
    feedback), ``linker``'s notebook is a link to the master (a ``symlink`` problem, 0, nothing
    of the master copied), ``honest`` has full marks."""
    c = CorpusCourse(NEURON, "neuron.ipynb", ROOT)
    chatty = c.solved()
    chatty.cells.append(nbformat.v4.new_code_cell('print("x" * 30_000_000)'))
    subs = tmp_path / "course"
    write_tree({"honest": c.solved(), "chatty": chatty}, subs)
    linker = subs / "submitted" / "linker" / NEURON
    linker.mkdir(parents=True)
    (linker / "neuron.ipynb").symlink_to(MASTER)
    out = tmp_path / "out"
    proc = run_grader(subs, out, "--jobs", "2", "--timeout", "60", timeout=GRADE_TIMEOUT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "grades.csv", encoding="utf-8", newline="") as handle:
        scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(handle)
                  if r["assignment"] == "01_neuron"}  # one row per student and assignment
    assert scores == {"honest": c.max_score, "chatty": c.max_score, "linker": 0.0}, scores
    assert c.max_score == 24

    with open(out / "problems.csv", encoding="utf-8", newline="") as handle:
        # nobody handed in the other assignments (each has a missing-submission row)
        rows = [r for r in csv.DictReader(handle) if r["assignment"] == "01_neuron"]
    kinds = {(r["student_id"], r["kind"]) for r in rows}
    assert ("chatty", "output-cut") in kinds and ("linker", "symlink") in kinds, kinds
    assert not {k for k in kinds if k[0] == "honest"}, kinds
    (cut,) = [r for r in rows if r["kind"] == "output-cut"]
    assert cut["notebook"] == "neuron" and "29900001 characters" in cut["detail"], cut
    assert {r["kind"] for r in rows if r["student_id"] == "chatty"} == {"output-cut"}, rows

    graded = out / "autograded" / "chatty" / NEURON / "neuron.ipynb"
    feedback = out / "feedback" / "chatty" / NEURON / "neuron.html"
    assert graded.stat().st_size < 3 * 2**20 and feedback.stat().st_size < 3 * 2**20, (
        graded.stat().st_size, feedback.stat().st_size)
    last = nbformat.read(graded, as_version=4).cells[-1].outputs[0].text
    assert "... output cut: 29900001 characters not shown" in last, last[-300:]
    assert "output cut: 29900001 characters" in feedback.read_text(encoding="utf-8")

    assert not (out / "autograded" / "linker").exists()
    page = (out / "feedback" / "linker" / NEURON / "neuron.html").read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" not in page and "BEGIN SOLUTION" not in page
    problems = read_json(out / "problems.json")
    assert any(p["student_id"] == "linker" and p["kind"] == "symlink"
               and p["notebook"] == "neuron" for p in problems), problems


def test_similarity_skips_a_cell_too_deep_to_walk():
    """A solution of thousands of nested operators must not take the class's similarity check
    down with it (RecursionError); it is skipped, a normal cell is still analysed."""
    from autograder import similarity

    deep = "def f(x):\n    return " + "+".join(["x"] * 3000) + "\n"
    assert similarity._analyse(deep) is None
    assert similarity._analyse("def f(x):\n    return x + 1\n") is not None


def test_the_scan_leaves_no_mark_on_nodes_shared_by_every_tree():
    """The parser shares one ``Load``/``Add``... instance among all trees; a parent link on it
    tied every later tree to the scanned cell, so after a deeply nested cell the class's
    similarity check failed on the reference library (RecursionError in a deep copy)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1" + " + 1" * 600),
                nbformat.v4.new_code_cell("y = -a and b < c\n")]
    scan_notebook(nb, {0, 1}, {})
    other = ast.parse("z = -(p + q) or r < s")
    shared = [n for n in ast.walk(other) if isinstance(n, (ast.expr_context, ast.operator,
                                                           ast.boolop, ast.unaryop, ast.cmpop))]
    assert shared and not any(hasattr(n, "_integrity_parent") for n in shared)
    assert copy.deepcopy(other) is not other


def test_every_parse_in_the_grader_holds_the_parse_lock():
    """Grading threads must not run ast.parse at the same time (CPython 3.11 shares its
    recursion bookkeeping between threads: 'SystemError: AST constructor recursion depth
    mismatch', python/cpython#106905, seen once as a grader error with --jobs 2). Only
    integrity.parse_source, which holds a lock, may call it."""
    offenders = []
    for path in sorted((Path(__file__).parents[1] / "autograder").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside = {}  # id(call) -> name of the innermost function around it
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(func):
                    inside[id(node)] = func.name  # inner functions are walked later: they win
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "parse" and isinstance(node.func.value, ast.Name) \
                    and node.func.value.id == "ast" and inside.get(id(node)) != "parse_source":
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, f"ast.parse outside integrity.parse_source: {offenders}"
