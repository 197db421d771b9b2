"""The course being graded: its nbgrader config, assignments and master notebooks.

The settings come from :mod:`coursekit.settings`, the course's one reader of
``nbgrader_config.py`` (parsed, never executed, so the grader works the same from any
directory); an undeclared assignment folder is the same error here as in `make release`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.settings import CourseSettings, CourseSettingsError

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


class CourseError(RuntimeError):
    """The course directory cannot be graded (no config, unknown assignment, ...)."""


@dataclass(frozen=True)
class MasterCell:
    """One nbgrader cell of a master notebook, in notebook order."""

    index: int
    grade_id: str
    cell_type: str
    source: str
    grade: bool
    solution: bool
    locked: bool
    points: float


@dataclass
class MasterNotebook:
    """A master notebook and what the grader needs to know about its cells."""

    assignment: str
    name: str  # file stem, as nbgrader names notebooks
    path: Path
    cells: list[MasterCell] = field(default_factory=list)

    @property
    def graded(self) -> list[MasterCell]:
        """Cells that carry points (nbgrader ``grade=True``)."""
        return [c for c in self.cells if c.grade]

    @property
    def max_score(self) -> float:
        """Sum of the points of the graded cells."""
        return float(sum(c.points for c in self.graded))

    def by_id(self, grade_id: str) -> MasterCell | None:
        """The cell with this nbgrader ``grade_id``, or None."""
        return next((c for c in self.cells if c.grade_id == grade_id), None)

    def exercise_of(self, test_id: str) -> str | None:
        """grade_id of the solution cell that the graded cell ``test_id`` checks (the last
        solution cell before it), or None."""
        last = None
        for cell in self.cells:
            if cell.grade_id == test_id:
                return last
            if cell.solution and not cell.grade:
                last = cell.grade_id
        return None


def read_notebook_cells(path: Path, assignment: str) -> MasterNotebook:
    """Parse a master (or release) notebook into a :class:`MasterNotebook`."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    master = MasterNotebook(assignment=assignment, name=path.stem, path=path)
    for index, cell in enumerate(nb.get("cells", [])):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if not meta.get("grade_id"):
            continue
        source = cell.get("source", "")
        master.cells.append(MasterCell(
            index=index, grade_id=meta["grade_id"], cell_type=cell.get("cell_type", "code"),
            source="".join(source) if isinstance(source, list) else source,
            grade=bool(meta.get("grade")), solution=bool(meta.get("solution")),
            locked=bool(meta.get("locked")), points=float(meta.get("points") or 0.0),
        ))
    return master


@dataclass
class Course:
    """An nbgrader course directory (the repository root by default)."""

    root: Path
    config_path: Path
    course_id: str
    source_directory: str
    assignments: list[str]
    masters: dict[str, list[MasterNotebook]]

    @classmethod
    def load(cls, root: Path | None = None, only: list[str] | None = None) -> Course:
        """Read the course at ``root`` (default: the current directory if it holds an
        ``nbgrader_config.py``, else the repository this package lives in).

        ``only`` restricts the assignments; an unknown name raises :class:`CourseError`.
        """
        if root is None:
            root = Path.cwd() if (Path.cwd() / "nbgrader_config.py").is_file() else PACKAGE_ROOT
        try:
            settings = CourseSettings.read(root)
            assignments = settings.with_masters()
        except CourseSettingsError as exc:
            raise CourseError(str(exc)) from exc
        root, config_path, source = settings.root, settings.config_path, settings.source
        course_id, source_directory = settings.course_id, settings.source_directory
        if only:
            unknown = [a for a in only if a not in assignments]
            if unknown:
                raise CourseError(f"unknown assignment(s) {unknown}; the course has {assignments}")
            assignments = [a for a in assignments if a in only]
        if not assignments:
            raise CourseError(f"no assignments with master notebooks under {source}")
        masters = {
            a: [read_notebook_cells(p, a) for p in sorted((source / a).glob("*.ipynb"))]
            for a in assignments
        }
        return cls(root=root, config_path=config_path, course_id=course_id,
                   source_directory=source_directory, assignments=assignments, masters=masters)

    @property
    def source(self) -> Path:
        """The folder of the master notebooks (nbgrader's source directory)."""
        return self.root / self.source_directory

    def notebook_names(self, assignment: str) -> list[str]:
        """Stems of the assignment's notebooks, e.g. ``["neuron"]``."""
        return [m.name for m in self.masters[assignment]]

    def master(self, assignment: str, notebook: str) -> MasterNotebook:
        """The master notebook ``notebook`` (a stem) of ``assignment``."""
        for m in self.masters[assignment]:
            if m.name == notebook:
                return m
        raise KeyError(f"{assignment}/{notebook}")

    def max_score(self, assignment: str) -> float:
        """Total points of an assignment."""
        return float(sum(m.max_score for m in self.masters[assignment]))
