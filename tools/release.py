"""Render the masters from their authoring sources, then generate the student release.

    python tools/release.py               # course/ -> notebooks/ -> release/ (`make release`)
    python tools/release.py --output DIR  # release only, into DIR (masters left as they are)
    python tools/release.py 01_neuron     # only some assignments
    python tools/release.py --root DIR    # the course in DIR (a copy of this one)

First every authoring source ``course/NN_topic/*.py`` is rendered into its master
``notebooks/NN_topic/*.ipynb`` (:mod:`coursekit.render`). Then, for every assignment declared in
``nbgrader_config.py`` (``ASSIGNMENTS``, read by :mod:`coursekit.settings`) that has masters, in
the declared order, this runs ``nbgrader generate_assignment --force --no-db`` (so no
gradebook.db is written) and normalizes every generated notebook (see
:func:`normalize_notebook`). Rendering and generating again from unchanged sources gives
byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from coursekit.render import render_all
from coursekit.settings import CourseSettings

ROOT = Path(__file__).resolve().parents[1]


def existing_assignments(root: Path = ROOT) -> list[str]:
    """Declared assignments that have master notebooks, in teaching order. Raises
    CourseSettingsError for an undeclared assignment folder (see coursekit.settings)."""
    return CourseSettings.read(root).with_masters()


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
    nb.metadata.pop("coursekit", None)   # the master's render record (coursekit.render)
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


def release(output: Path | None = None, assignments: list[str] | None = None,
            root: Path = ROOT) -> list[str]:
    """Generate the release of ``assignments`` (default: all with masters) from the masters as
    they are, into ``output`` (default: the course's release folder)."""
    settings = CourseSettings.read(root)
    output = settings.release if output is None else Path(output)
    available = settings.with_masters()
    if assignments is None:
        assignments = available
        # A declared assignment whose master folder was removed must not linger in the release.
        for name in settings.declared:
            if name not in available and (output / name).is_dir():
                shutil.rmtree(output / name)
    missing = [a for a in assignments if a not in available]
    if missing:
        raise ValueError(f"no master notebooks for {missing} under {settings.source_directory}/")
    output.mkdir(parents=True, exist_ok=True)
    for assignment in assignments:
        generate(assignment, output.resolve(), root)
    return assignments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every existing assignment")
    parser.add_argument("--output", type=Path, default=None,
                        help="release directory; given, the masters are not re-rendered "
                             "(default: release/, after rendering the masters)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the course directory (default: this repository)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite masters edited by hand since they were rendered")
    args = parser.parse_args(argv)
    try:
        settings = CourseSettings.read(args.root)
        if args.output is None:
            with_sources = settings.with_sources()
            chosen = [a for a in (args.assignments or with_sources) if a in with_sources]
            for master in render_all(settings, chosen, force=args.force):
                print(f"rendered {master.relative_to(settings.root)}")
        output = args.output or settings.release
        done = release(output, args.assignments or None, settings.root)
    except (ValueError, OSError, RuntimeError) as err:   # a clear message, not a traceback
        print(f"make release: {err}", file=sys.stderr)
        return 2
    for name in done:
        print(f"released {name} -> {output / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
