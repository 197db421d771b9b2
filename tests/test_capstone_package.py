"""The capstone's "ship it" exercise through the real grader (issue 20).

Exercise 12 of 06_capstone writes the student's library as a package, installs it with
``pip install -e`` offline and runs its tests. In the grading sandbox (docs/grading.md: the file
system read-only except a private tmpfs for /tmp, /var/tmp and HOME, the notebook's folder
read-only, no network) that must still work, and nothing may leak out of the run. Two students
are graded with ``python -m autograder grade``: one submits the master's solutions and must
score full marks, the ship-it points included; the other ships a package whose own test fails
and must lose exactly the ship-it points. Afterwards the grader's environment holds no trace
of the packages (no distribution, no editable finder, no ``.pth``), and the machine's /tmp no
package folder.

The sandbox needs root (a fresh uid, namespaces, private mounts): CI runs as root; for another
user the module is skipped, saying so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from autograder_corpus import Course, index_of, read_json, run_grader, write_tree

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT, NOTEBOOK = "06_capstone", "capstone.ipynb"
SHIP_IT = "ex12-package-tests"

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0,
    reason="the grading sandbox's isolation (uids, namespaces, mounts) needs root on Linux; "
           "CI runs as root")

BROKEN_TEST = '''
_right_package_files = package_files


def package_files():
    files = dict(_right_package_files())
    files["tests/test_broken.py"] = "def test_broken():\\n    assert 1 + 1 == 3\\n"
    return files
'''


def _installed_traces() -> set[str]:
    """Names in the environment's site-packages that an install of my_nn would leave."""
    found = set()
    for key in ("purelib", "platlib"):
        folder = Path(sysconfig.get_paths()[key])
        if folder.is_dir():
            found |= {p.name for p in folder.iterdir() if "my_nn" in p.name.lower()
                      or "my-nn" in p.name.lower()}
    return found


def _tmp_package_folders() -> set[str]:
    return {p.name for p in Path("/tmp").iterdir() if p.name.startswith("my_nn_")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(ASSIGNMENT, NOTEBOOK)
    solved = course.solved()
    broken = course.solved()
    ship = broken.cells[index_of(broken, "ex12-package")]
    ship.source = ship.source + "\n" + BROKEN_TEST
    base = tmp_path_factory.mktemp("capstone-package")
    write_tree({"shipper": solved, "broken-shipper": broken}, base / "course", ASSIGNMENT,
               NOTEBOOK)
    before = (_installed_traces(), _tmp_package_folders())
    out = base / "out"
    proc = run_grader(base / "course", out, "--assignment", ASSIGNMENT, "--jobs", "1",
                      "--timeout", "120")
    assert proc.returncode == 0, f"the grader failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    results = {r["student_id"]: r for r in read_json(out / "results.json")}
    return course, results, before, (_installed_traces(), _tmp_package_folders())


def _cell(result, grade_id):
    """The {"score", "max_score"} of one graded cell ("<notebook>/<grade_id>" keys)."""
    found = [v for k, v in result["cells"].items() if k.endswith(f"/{grade_id}")]
    assert len(found) == 1, f"no single cell {grade_id} in {sorted(result['cells'])}"
    return found[0]


def test_the_solution_scores_full_marks_ship_it_included(graded):
    course, results, _, _ = graded
    result = results["shipper"]
    assert _cell(result, SHIP_IT) == {"score": 3.0, "max_score": 3.0}, result
    assert result["score"] == course.max_score == result["max_score"], result


def test_a_package_whose_tests_fail_loses_exactly_the_ship_it_points(graded):
    course, results, _, _ = graded
    result = results["broken-shipper"]
    assert _cell(result, SHIP_IT)["score"] == 0.0, result
    assert result["score"] == course.max_score - course.points()[SHIP_IT], result
    assert "failed" in str(result.get("failures", result)), result


def test_nothing_is_left_installed_or_on_disk(graded):
    _, _, before, after = graded
    assert after[0] == before[0], (
        f"the grading run left my_nn in the environment: {sorted(after[0] - before[0])}")
    assert after[1] <= before[1], (
        f"the grading run left package folders in /tmp: {sorted(after[1] - before[1])}")
    listed = subprocess.run([sys.executable, "-m", "pip", "list", "--disable-pip-version-check"],
                            capture_output=True, text=True, timeout=120).stdout
    assert "my-nn" not in listed.lower() and "my_nn" not in listed.lower(), listed
