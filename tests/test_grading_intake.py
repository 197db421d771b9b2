"""Who is who in a flat LMS export: student ids never merge two students (issue 14, fault 1).

Names in any script, accents that differ only, emoji, very long names, slashes and dots, and
the same display name with different LMS ids must each keep their own submission, under a
readable, unique id; collisions are disambiguated and logged as ``id-disambiguated``; only a
resubmission of the same student replaces a file (``duplicate-submission``, saying why).

The unit tests run the real discovery on small temporary exports (no kernels). One end-to-end
test grades a six-student Moodle export with ``python -m autograder grade``.
"""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from pathlib import Path

import nbformat
import pytest
from autograder_corpus import NEURON, grading_course, marked_notebook, read_json, run_grader
from autograder_corpus import Course as CorpusCourse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.intake import MAX_ID_LENGTH, clean_student_id, discover  # noqa: E402

MOODLE = "{name}_{lms}_assignsubmission_file_neuron.ipynb"
ID_CHARS = re.compile(r"^[A-Za-z0-9._@+-]+$")
GRADE_TIMEOUT = 1200  # seconds: a kill switch for a hung run, not an assertion


@pytest.fixture(scope="module")
def course():
    return grading_course()


_marked = marked_notebook


def _export(folder: Path, files: list[str]) -> dict[str, bytes]:
    """Write each file (its content names it) into a flat export; file name -> bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in files:
        written[name] = _marked(name)
        (folder / name).write_bytes(written[name])
    return written


def _check_no_merge(subs, written: dict[str, bytes]) -> dict[str, object]:
    """Every file is graded for its own student: one submission per file, each with exactly
    that file's notebook, ids unique even ignoring case, readable and path-safe."""
    by_origin = {s.origins["neuron"]: s for s in subs if "neuron" in s.origins}
    assert sorted(by_origin) == sorted(written), [s.student for s in subs]
    for origin, sub in by_origin.items():
        assert sub.notebooks["neuron"] == written[origin], (sub.student, origin)
        assert "duplicate-submission" not in {p.kind for p in sub.problems}, sub.problems
    ids = [s.student for s in subs]
    assert len({i.casefold() for i in ids}) == len(ids) == len(written), ids
    for sid in ids:
        assert ID_CHARS.match(sid) and len(sid) <= MAX_ID_LENGTH, sid
        assert not sid.startswith((".", "-")) and sid not in ("unknown",), sid
    return {s.student: s for s in subs}


def _disambiguated(sub) -> list[str]:
    return [p.detail for p in sub.problems if p.kind == "id-disambiguated"]


# ----------------------------------------------------------------------------------------------
# The export of the issue
# ----------------------------------------------------------------------------------------------

ISSUE_NAMES = [("Зоя Иванова", 101), ("Пётр Сидоров", 102), ("Zoë Ågren", 103),
               ("Zoé Ågren", 104), ("张伟", 105), ("王芳", 106)]


def test_moodle_export_of_the_issue_keeps_six_students(course, tmp_path):
    """Before the fix: two rows (``Zo-gren``, ``unknown``), four notebooks dropped."""
    files = [MOODLE.format(name=n, lms=i) for n, i in ISSUE_NAMES]
    written = _export(tmp_path, files)
    subs, problems = discover(tmp_path, course)
    by_id = _check_no_merge(subs, written)
    assert set(by_id) == {"Zoya-Ivanova", "Petr-Sidorov", "Zoe-Agren-103", "Zoe-Agren-104",
                          "ZhangWei", "WangFang"}
    assert by_id["Zoya-Ivanova"].notebooks["neuron"] == written[files[0]]
    assert by_id["Zoe-Agren-103"].notebooks["neuron"] == written[files[2]]
    assert by_id["Zoe-Agren-104"].notebooks["neuron"] == written[files[3]]
    for sid in ("Zoe-Agren-103", "Zoe-Agren-104"):
        (note,) = _disambiguated(by_id[sid])
        assert "'Zoë Ågren' (LMS id 103)" in note and "'Zoé Ågren' (LMS id 104)" in note, note
        assert "'Zoe-Agren'" in note and "'Zoe-Agren-103'" in note, note
    for sid in ("Zoya-Ivanova", "Petr-Sidorov", "ZhangWei", "WangFang"):
        assert not _disambiguated(by_id[sid]), sid
    assert not problems


# ----------------------------------------------------------------------------------------------
# Names that must never merge
# ----------------------------------------------------------------------------------------------

LONG = "Maximilian Alexander Konstantin von und zu Hohenberg-Wittelsbach-Schaumburg "
# case -> (files of a flat export, one per student; how many of them collide and get a suffix)
NO_MERGE = {
    "accents differing only": ([MOODLE.format(name="Zoë Lindgren", lms=1),
                                MOODLE.format(name="Zoé Lindgren", lms=2),
                                MOODLE.format(name="Zoe Lindgren", lms=3)], 3),
    "accents, no LMS id": (["Zoë_01_neuron.ipynb", "Zoé_01_neuron.ipynb"], 2),
    "Cyrillic": ([MOODLE.format(name="Зоя Иванова", lms=11),
                  MOODLE.format(name="Зоя Иванова", lms=12),
                  MOODLE.format(name="Пётр Сидоров", lms=13)], 2),
    "Chinese homophones": ([MOODLE.format(name="张伟", lms=21), MOODLE.format(name="章伟", lms=22),
                            MOODLE.format(name="王芳", lms=23)], 2),
    "emoji": ([MOODLE.format(name="🦊", lms=31), MOODLE.format(name="🐼", lms=32),
               MOODLE.format(name="Kim ❤", lms=33), MOODLE.format(name="Kim ❤️", lms=33),
               MOODLE.format(name="🦊🦊", lms=34)], 2),
    "very long names": ([MOODLE.format(name=LONG + "Erste", lms=41),
                         MOODLE.format(name=LONG + "Zweite", lms=42),
                         "x" * 150 + "A_01_neuron.ipynb", "x" * 150 + "B_01_neuron.ipynb"], 4),
    "slashes and dots": ([MOODLE.format(name="AC\\DC", lms=51),
                          MOODLE.format(name="AC-DC", lms=52),
                          MOODLE.format(name="J.R.R. Tolkien", lms=53),
                          MOODLE.format(name="J R R Tolkien", lms=54),
                          MOODLE.format(name="..", lms=55), MOODLE.format(name="…", lms=56)], 4),
    "same display name, different LMS ids": ([MOODLE.format(name="Anna Smith", lms=201),
                                              MOODLE.format(name="Anna Smith", lms=202)], 2),
    "same name, different case": (["alice_01_neuron.ipynb", "Alice_01_neuron.ipynb"], 2),
    "underscores in Moodle names": ([MOODLE.format(name="Ann_Lee", lms=61),
                                     MOODLE.format(name="Ann_Kim", lms=62)], 0),
    "Canvas": (["zoe_LATE_71_9001_neuron.ipynb", "zoe_72_9002_neuron.ipynb"], 2),
}


@pytest.mark.parametrize("case", sorted(NO_MERGE))
def test_different_students_never_share_an_id(course, tmp_path, case):
    files, colliding = NO_MERGE[case]
    written = _export(tmp_path, files)
    subs, problems = discover(tmp_path, course)
    by_id = _check_no_merge(subs, written)
    assert not problems
    noted = {s.student: _disambiguated(s) for s in subs if _disambiguated(s)}
    assert len(noted) == colliding, noted
    for sid, (note,) in noted.items():
        assert f"is {sid!r}, not " in note, note
    if case == "same display name, different LMS ids":
        assert set(by_id) == {"Anna-Smith-201", "Anna-Smith-202"}
    if case == "Cyrillic":
        assert set(by_id) == {"Zoya-Ivanova-11", "Zoya-Ivanova-12", "Petr-Sidorov"}
    if case == "underscores in Moodle names":
        assert set(by_id) == {"Ann_Lee", "Ann_Kim"}


def test_ids_are_readable_transliterations():
    assert clean_student_id("Зоя Иванова") == "Zoya-Ivanova"
    assert clean_student_id("Zoë Ågren") == "Zoe-Agren"
    assert clean_student_id("张伟") == "ZhangWei"
    assert clean_student_id("🦊 Kim") == "fox-Kim"
    assert clean_student_id("AC/DC") == clean_student_id("AC\\DC") == "AC-DC"
    assert clean_student_id("..") == clean_student_id("") == "unknown"
    assert clean_student_id("../../etc") == "etc"
    long_id = clean_student_id(LONG * 3)
    assert len(long_id) <= MAX_ID_LENGTH and long_id.startswith("Maximilian-Alexander")
    # Decomposed (macOS file names) and composed forms are the same name.
    assert clean_student_id(unicodedata.normalize("NFD", "Zoë")) == "Zoe"


def test_disambiguation_is_unique_even_against_an_existing_id():
    """A student literally named like another one's suffixed id still gets an id of their own,
    and the ids do not depend on the order the students are found in."""
    from autograder.intake import Identity, assign_student_ids

    people = {Identity("Zoë Ågren", "103"), Identity("Zoé Ågren", "104"),
              Identity("Zoe Agren 103"), Identity("Zoe Agren", "103"),
              Identity("x" * 200, "9"), Identity("x" * 200 + "y", "9")}
    ids, notes = assign_student_ids(people)
    assert len({i.casefold() for i in ids.values()}) == len(people), ids
    assert ids[Identity("Zoe Agren 103")] == "Zoe-Agren-103"
    assert all(len(i) <= MAX_ID_LENGTH and ID_CHARS.match(i) for i in ids.values()), ids
    assert set(notes) == people - {Identity("Zoe Agren 103")}
    again, _ = assign_student_ids(set(sorted(people, reverse=True)))
    assert again == ids


# ----------------------------------------------------------------------------------------------
# A genuine resubmission is the only thing that replaces a file
# ----------------------------------------------------------------------------------------------

def test_resubmission_of_the_same_student_replaces_and_is_reported(course, tmp_path):
    first = MOODLE.format(name="Zoë Ågren", lms=103)
    second = first.replace(".ipynb", "-2.ipynb")
    # The same name decomposed (as macOS writes it) and the same LMS id: the same student.
    third = unicodedata.normalize("NFD", first).replace(".ipynb", "-1.ipynb")
    other = MOODLE.format(name="Zoë Ågren", lms=999)  # same name, another student
    written = _export(tmp_path, [first, second, third, other])
    subs, _ = discover(tmp_path, course)
    by_id = {s.student: s for s in subs}
    assert set(by_id) == {"Zoe-Agren-103", "Zoe-Agren-999"}, sorted(by_id)
    zoe = by_id["Zoe-Agren-103"]
    assert zoe.notebooks["neuron"] == written[second]
    replaced = [p.detail for p in zoe.problems if p.kind == "duplicate-submission"]
    assert len(replaced) == 2, zoe.problems
    assert all(f"replaced by {second}" in d or f"{first} replaced" in d for d in replaced)
    assert any(d.startswith(f"{third} replaced by {second}") and "resubmission 2 > 1" in d
               and "'Zoë Ågren' (LMS id 103)" in d for d in replaced), replaced
    namesake = by_id["Zoe-Agren-999"]
    assert namesake.notebooks["neuron"] == written[other]
    assert not [p for p in namesake.problems if p.kind == "duplicate-submission"]


def test_nbgrader_tree_keeps_folder_names_as_ids(course, tmp_path):
    names = ["Зоя Иванова", "Zoë Ågren", "Zoé Ågren"]
    for name in names:
        dest = tmp_path / "submitted" / name / NEURON
        dest.mkdir(parents=True)
        (dest / "neuron.ipynb").write_bytes(_marked(name))
    subs, problems = discover(tmp_path, course)
    assert sorted(s.student for s in subs) == sorted(names) and not problems
    for sub in subs:
        cell = nbformat.reads(sub.notebooks["neuron"].decode("utf-8"), as_version=4).cells[0]
        assert cell.source == f"submission of {sub.student}", sub.student


# ----------------------------------------------------------------------------------------------
# End to end: the grader on the issue's export
# ----------------------------------------------------------------------------------------------

def test_grading_a_moodle_export_merges_nobody(tmp_path):
    """Six students, three with full solutions; Zoë hands in the untouched release first and
    her solution as resubmission 2. One run of ``python -m autograder grade``."""
    nb = CorpusCourse(NEURON, "neuron.ipynb")
    solved = nbformat.writes(nb.solved()).encode("utf-8")
    release = nbformat.writes(nb.release).encode("utf-8")
    full, zero = nb.max_score, 0.0
    plan = {  # student id -> (name, LMS id, files as (suffix, bytes), expected score)
        "Zoya-Ivanova": ("Зоя Иванова", 101, [("", solved)], full),
        "Petr-Sidorov": ("Пётр Сидоров", 102, [("", release)], zero),
        "Zoe-Agren-103": ("Zoë Ågren", 103, [("", release), ("-2", solved)], full),
        "Zoe-Agren-104": ("Zoé Ågren", 104, [("", release)], zero),
        "ZhangWei": ("张伟", 105, [("", solved)], full),
        "WangFang": ("王芳", 106, [("", release)], zero),
    }
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name, lms, files, _ in plan.values():
        for suffix, data in files:
            stem = MOODLE.format(name=name, lms=lms).removesuffix(".ipynb")
            (submissions / f"{stem}{suffix}.ipynb").write_bytes(data)
    out = tmp_path / "out"
    proc = run_grader(submissions, out, "--jobs", "2", "--timeout", "30", timeout=GRADE_TIMEOUT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "grades.csv", encoding="utf-8", newline="") as handle:
        # one row per student and assignment: these students handed in 01 only
        rows = {r["student_id"]: r for r in csv.DictReader(handle) if r["assignment"] == NEURON}
    assert set(rows) == set(plan), sorted(rows)
    for sid, (_name, _lms, _files, score) in plan.items():
        assert float(rows[sid]["score"]) == score, (sid, rows[sid])
        assert (out / "feedback" / sid / NEURON / "neuron.html").is_file(), sid
    problems = read_json(out / "problems.json")
    kinds = {(p["student_id"], p["kind"]) for p in problems}
    assert {("Zoe-Agren-103", "id-disambiguated"), ("Zoe-Agren-104", "id-disambiguated"),
            ("Zoe-Agren-103", "duplicate-submission")} <= kinds, kinds
    replaced = [p["detail"] for p in problems if p["kind"] == "duplicate-submission"]
    assert len(replaced) == 1 and "resubmission 2 > 0" in replaced[0], replaced
    assert "Zoë Ågren_103_assignsubmission_file_neuron-2.ipynb" in replaced[0]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "id-disambiguated" in report and "Zoe-Agren-104" in report
