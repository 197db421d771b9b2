"""The one reader of the course settings, used by `make release`, the autograder and the tests.

The settings live in the course's ``nbgrader_config.py``, which is parsed (never executed, so
reading it needs no nbgrader and runs no code): ``ASSIGNMENTS`` (the assignment folders in
teaching order), ``AUTHORING_DIRECTORY`` (where the authoring sources live, default
``"course"``) and the literal ``c.Section.option = value`` lines, e.g.
``c.CourseDirectory.source_directory`` (the masters, nbgrader's source) and
``c.CourseDirectory.release_directory``.

An assignment folder under the masters' or the authoring folder that ``ASSIGNMENTS`` does not
declare is an error (:class:`CourseSettingsError`), the same one everywhere, so a new notebook
cannot be forgotten by the release, the grader or the tests.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_NAME = "nbgrader_config.py"
# The repository this package belongs to (source/coursekit/settings.py -> the root).
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


class CourseSettingsError(ValueError):
    """The course settings are missing, malformed, or disagree with the folders on disk."""


def literal_settings(path: Path) -> dict[str, object]:
    """The ``name = literal`` and ``c.Section.option = literal`` statements of a config file,
    keyed by ``"name"`` or ``"c.Section.option"``. Other statements are ignored.
    Raises CourseSettingsError if the file cannot be read or parsed."""
    found: dict[str, object] = {}
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise CourseSettingsError(f"cannot read {path}: {exc}") from exc
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            continue
        target = node.targets[0]
        if isinstance(target, ast.Name):
            found[target.id] = value
        elif isinstance(target, ast.Attribute):
            found[ast.unparse(target)] = value
    return found


def _folder_names(folder: Path, pattern: str) -> set[str]:
    """Sub-folders of ``folder`` holding at least one file that matches ``pattern``."""
    if not folder.is_dir():
        return set()
    return {p.name for p in folder.iterdir()
            if p.is_dir() and not p.name.startswith(".") and any(p.glob(pattern))}


@dataclass(frozen=True)
class CourseSettings:
    """The settings of one course directory; build it with :meth:`read`."""

    root: Path
    course_id: str
    declared: tuple[str, ...]
    source_directory: str
    release_directory: str
    authoring_directory: str
    values: dict[str, object] = field(repr=False, default_factory=dict)

    @classmethod
    def read(cls, root: Path | None = None) -> CourseSettings:
        """Read ``root/nbgrader_config.py``. ``root`` defaults to the current directory when it
        holds one, else to the repository this package lives in.

        Raises CourseSettingsError when the file is missing or ``ASSIGNMENTS`` is not a list of
        folder names."""
        if root is None:
            root = Path.cwd() if (Path.cwd() / CONFIG_NAME).is_file() else REPOSITORY_ROOT
        root = Path(root).resolve()
        config = root / CONFIG_NAME
        if not config.is_file():
            raise CourseSettingsError(f"{root} is not an nbgrader course: no {CONFIG_NAME}")
        values = literal_settings(config)
        declared = values.get("ASSIGNMENTS")
        if not (isinstance(declared, list) and declared
                and all(isinstance(a, str) and a and "/" not in a for a in declared)):
            raise CourseSettingsError(
                f"{config}: ASSIGNMENTS must be a non-empty list of assignment folder names, "
                f"got {declared!r}")
        if len(set(declared)) != len(declared):
            raise CourseSettingsError(f"{config}: ASSIGNMENTS lists a folder twice: {declared}")
        return cls(
            root=root,
            course_id=str(values.get("c.CourseDirectory.course_id", "course")),
            declared=tuple(declared),
            source_directory=str(values.get("c.CourseDirectory.source_directory", "source")),
            release_directory=str(values.get("c.CourseDirectory.release_directory", "release")),
            authoring_directory=str(values.get("AUTHORING_DIRECTORY", "course")),
            values=values,
        )

    @property
    def config_path(self) -> Path:
        """The course's nbgrader_config.py."""
        return self.root / CONFIG_NAME

    @property
    def source(self) -> Path:
        """Folder of the master notebooks (nbgrader's source directory)."""
        return self.root / self.source_directory

    @property
    def release(self) -> Path:
        """Folder of the student notebooks generated from the masters."""
        return self.root / self.release_directory

    @property
    def authoring(self) -> Path:
        """Folder of the authoring sources, one sub-folder per assignment."""
        return self.root / self.authoring_directory

    def check_declared(self) -> None:
        """Raise CourseSettingsError if the masters' or the authoring folder holds an assignment
        folder that ASSIGNMENTS does not declare."""
        for folder, pattern in ((self.source, "*.ipynb"), (self.authoring, "*.py")):
            unknown = sorted(_folder_names(folder, pattern) - set(self.declared))
            if unknown:
                raise CourseSettingsError(
                    f"{folder.name}/ has assignment folders not declared in {CONFIG_NAME}: "
                    f"{unknown}; add them to ASSIGNMENTS (in teaching order)")

    def with_masters(self) -> list[str]:
        """Declared assignments that have master notebooks, in teaching order (checked first
        with :meth:`check_declared`)."""
        self.check_declared()
        present = _folder_names(self.source, "*.ipynb")
        return [a for a in self.declared if a in present]

    def with_sources(self) -> list[str]:
        """Declared assignments that have authoring sources, in teaching order (checked first
        with :meth:`check_declared`)."""
        self.check_declared()
        present = _folder_names(self.authoring, "*.py")
        return [a for a in self.declared if a in present]

    def masters(self, assignment: str) -> list[Path]:
        """The master notebooks of an assignment, sorted."""
        return sorted((self.source / assignment).glob("*.ipynb"))

    def sources(self, assignment: str) -> list[Path]:
        """The authoring sources of an assignment, sorted (each renders one master)."""
        return sorted((self.authoring / assignment).glob("*.py"))

    def master_of(self, source: Path) -> Path:
        """Where the master rendered from the authoring ``source`` is written."""
        return self.source / Path(source).parent.name / (Path(source).stem + ".ipynb")
