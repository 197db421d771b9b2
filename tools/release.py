"""Generate the student release from the master notebooks, deterministically.

    python tools/release.py               # every assignment -> release/ (`make release`)
    python tools/release.py --output DIR  # the same into DIR (the tests compare it with release/)
    python tools/release.py 01_neuron     # only some assignments

For every assignment declared in ``nbgrader_config.py`` (``ASSIGNMENTS``) that has a folder under
``notebooks/``, in the declared order, this runs ``nbgrader generate_assignment --force --no-db``
(so no gradebook.db is written) and then normalizes every generated notebook (see
:func:`normalize_notebook`). Regenerating from unchanged masters gives byte-identical files.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "nbgrader_config.py"
SOURCE = ROOT / "notebooks"
RELEASE = ROOT / "release"


def declared_assignments(config: Path = CONFIG) -> list[str]:
    """The ``ASSIGNMENTS`` list of nbgrader_config.py, read without executing the file."""
    for node in ast.parse(config.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "ASSIGNMENTS" for t in node.targets
        ):
            names = ast.literal_eval(node.value)
            if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
                raise ValueError(f"{config}: ASSIGNMENTS must be a list of folder names")
            return names
    raise ValueError(f"{config} declares no ASSIGNMENTS list")


def existing_assignments(source: Path = SOURCE, config: Path = CONFIG) -> list[str]:
    """Declared assignments that have a master folder with notebooks, in the declared order.

    Raises if ``source`` holds an assignment folder that nbgrader_config.py does not declare, so
    a new notebook cannot be forgotten by the release and the tests.
    """
    declared = declared_assignments(config)
    present = {
        p.name for p in source.iterdir()
        if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb"))
    } if source.is_dir() else set()
    unknown = sorted(present - set(declared))
    if unknown:
        raise ValueError(
            f"notebooks/ has assignment folders not declared in nbgrader_config.py: {unknown}; "
            f"add them to ASSIGNMENTS"
        )
    return [name for name in declared if name in present]


def _cell_id(cell, index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    if grade_id:
        return grade_id
    digest = hashlib.sha1(f"{index}:{cell.get('source', '')}".encode()).hexdigest()
    return f"cell-{digest[:12]}"


def normalize_notebook(text: str) -> str:
    """Return the canonical text of a released notebook.

    nbgrader 0.9.6 is already deterministic for our masters (checked: two runs give identical
    bytes). This pins the things that could still vary with how a master was last saved:
    missing cell ids (nbformat would invent random ones), execution timing metadata, saved
    widget state, the Python version in ``language_info``, outputs and execution counts. Cell
    sources and nbgrader metadata are never touched, so nbgrader's checksums stay valid.
    """
    nb = nbformat.reads(text, as_version=4)
    nb.metadata.pop("widgets", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    if (nb.nbformat, nb.nbformat_minor) >= (4, 5):
        seen: set[str] = set()
        for index, cell in enumerate(nb.cells):
            if not cell.get("id") or cell["id"] in seen:
                cell["id"] = _cell_id(cell, index)
            seen.add(cell["id"])
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    out = nbformat.writes(nb)
    return out if out.endswith("\n") else out + "\n"


def generate(assignment: str, output: Path, root: Path = ROOT) -> None:
    """Run nbgrader generate_assignment for one assignment into ``output/<assignment>``."""
    with tempfile.TemporaryDirectory(prefix="nbgrader-release-") as tmp:
        cmd = [
            sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
            "--force", "--no-db", "--log-level=WARN",
            f"--CourseDirectory.root={root}",
            f"--CourseDirectory.release_directory={output}",
            # --no-db writes no gradebook; should that change, it lands here, not in the repo.
            f"--CourseDirectory.db_url=sqlite:///{Path(tmp) / 'gradebook.db'}",
        ]
        result = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"nbgrader generate_assignment {assignment} failed:\n{result.stdout}\n{result.stderr}"
        )
    for path in sorted((output / assignment).rglob("*.ipynb")):
        path.write_text(normalize_notebook(path.read_text(encoding="utf-8")), encoding="utf-8")


def release(output: Path = RELEASE, assignments: list[str] | None = None,
            root: Path = ROOT) -> list[str]:
    """Generate the release of ``assignments`` (default: all existing) into ``output``."""
    available = existing_assignments(root / "notebooks", root / "nbgrader_config.py")
    if assignments is None:
        assignments = available
        # A declared assignment whose master folder was removed must not linger in the release.
        for name in declared_assignments(root / "nbgrader_config.py"):
            if name not in available and (output / name).is_dir():
                shutil.rmtree(output / name)
    missing = [a for a in assignments if a not in available]
    if missing:
        raise ValueError(f"no master notebooks for {missing} under notebooks/")
    output.mkdir(parents=True, exist_ok=True)
    for assignment in assignments:
        generate(assignment, output.resolve(), root)
    return assignments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every existing assignment")
    parser.add_argument("--output", type=Path, default=RELEASE,
                        help="release directory (default: release/)")
    args = parser.parse_args(argv)
    done = release(args.output, args.assignments or None)
    for name in done:
        print(f"released {name} -> {args.output / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
