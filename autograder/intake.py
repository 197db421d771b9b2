"""Find the submissions in a folder: an nbgrader ``submitted/`` tree or a flat LMS export.

Two layouts are recognised (the originals are only ever read):

**nbgrader tree** -- ``<dir>/submitted/<student>/<assignment>/*.ipynb`` or the same without the
``submitted`` level (``<dir>/<student>/<assignment>/``). Other files in the assignment folder
(data a student added) are graded along; ``timestamp.txt`` gives the submission time. The
folder name is the student id, as nbgrader has it.

**Flat LMS export** -- one ``.ipynb`` or ``.zip`` per student and assignment, directly in
``<dir>``. The file name (without the extension, and without a trailing ``-N`` that Canvas adds
to resubmissions) is matched in this order:

1. Moodle: ``<name>_<participant id>_assignsubmission_<plugin>_<file>``
   (``Zoë Ågren_42_assignsubmission_file_neuron.ipynb``; the name may contain ``_``);
2. Canvas: ``<name>_[LATE_]<user id>_<file id>_<file>`` (``alice_LATE_1234_5678_neuron-2``);
   in both, ``<file>`` must name an assignment or a master notebook (as below), or the file is a
   zip (its assignment is found inside), else the next rules are tried;
3. ``<student>_<assignment>``, where ``<assignment>`` is an assignment id of the course
   (``alice_01_neuron.ipynb``; the student name may itself contain ``_``);
4. ``<student>_<anything>_<notebook>`` or ``<student>_<notebook>``, where ``<notebook>`` is
   the name of one of the course's master notebooks (``neuron``); the student name is the text
   before the first ``_``, the LMS id the first all-digit field after it, if any;
5. for a zip only: ``<student>[_<anything>].zip``, the assignment found inside the zip (a folder
   named after an assignment, or a notebook named after a master notebook).

A zip may hold the notebook in any subfolder; ``__MACOSX`` and checkpoint folders are skipped.

**Who is who.** A student is the pair (name as the LMS wrote it, Unicode NFC, LMS id or none):
two files are the same student only when both are equal. Nothing else ever merges students.
The student id is the name transliterated to ASCII (:func:`clean_student_id`, ``Зоя Иванова``
-> ``Zoya-Ivanova``), at most :data:`MAX_ID_LENGTH` characters. When several students would
get the same id (compared without case: ``Zoë``/``Zoé``, two ``Anna Smith`` with different LMS
ids, names cut at the length limit), every one of them gets a suffix -- its LMS id, or else
a short hash of its name -- and an ``id-disambiguated`` problem says who is who.

When several files of the same student give the same notebook (a resubmission), the one with
the highest resubmission number (then the last file name in sort order) is graded and each
replaced file is logged as ``duplicate-submission``, naming the file that won and why.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from anyascii import anyascii

from .course import Course
from .problems import Problem

MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_ZIP_BYTES = 200 * 2**20
MAX_EXTRA_BYTES = 50 * 2**20
MAX_ID_LENGTH = 64  # characters of a student id (suffix included)
_RESUBMISSION = re.compile(r"^(?P<stem>.*?)-(?P<n>\d+)$")
_BAD_ID_CHARS = re.compile(r"[^A-Za-z0-9._@+-]+")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<lms>\d{1,20})_assignsubmission_[A-Za-z]+_(?P<file>.+)$")
_CANVAS = re.compile(r"^(?P<name>[^_]+)_(?:(?i:late)_)?(?P<lms>\d{1,20})_\d+_(?P<file>.+)$")
_DIGITS = re.compile(r"^\d{1,20}$")


@dataclass
class Submission:
    """What one student handed in for one assignment, read into memory."""

    student: str
    assignment: str
    notebooks: dict[str, bytes] = field(default_factory=dict)  # notebook stem -> file bytes
    origins: dict[str, str] = field(default_factory=dict)  # notebook stem -> where it came from
    extra_files: dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes
    timestamp: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        """(student, assignment)."""
        return self.student, self.assignment

    def problem(self, kind: str, detail: str, notebook: str = "", cell: str = "") -> None:
        """Log a problem of this submission."""
        self.problems.append(Problem(self.student, self.assignment, notebook, kind, cell, detail))


def clean_student_id(text: str) -> str:
    """A readable student id, safe for paths and CSV, from a name: transliterated to ASCII
    (``Zoë Ågren`` -> ``Zoe-Agren``, ``Пётр`` -> ``Petr``, ``张伟`` -> ``ZhangWei``, an emoji to
    its name), then letters, digits and ``. _ @ + -`` only (other runs become ``-``), at most
    :data:`MAX_ID_LENGTH` characters; ``unknown`` if nothing is left.

    Different names can give the same id: :func:`assign_student_ids` makes them unique.
    """
    ascii_text = anyascii(unicodedata.normalize("NFC", text))
    cleaned = _BAD_ID_CHARS.sub("-", ascii_text).strip("-.")
    return cleaned[:MAX_ID_LENGTH].rstrip("-.") or "unknown"


@dataclass(frozen=True, order=True)
class Identity:
    """One student of a flat export: the name as the LMS wrote it (NFC) and its LMS id."""

    name: str
    lms_id: str = ""  # participant / user id from the file name; "" when the name has none

    def describe(self) -> str:
        """``'Zoë Ågren' (LMS id 42)``, for the problem log."""
        return f"{self.name!r}" + (f" (LMS id {self.lms_id})" if self.lms_id else "")


def _identity(name: str, lms_id: str = "") -> Identity:
    return Identity(unicodedata.normalize("NFC", name), lms_id)


def _with_suffix(base: str, suffix: str) -> str:
    room = MAX_ID_LENGTH - len(suffix) - 1
    return f"{base[:room].rstrip('-.') or 'unknown'}-{suffix}"


def _suffixes(who: Identity, unique_lms: bool) -> Iterator[str]:
    """Suffixes to try for a student whose id collides: the LMS id, then hashes."""
    if who.lms_id and unique_lms:
        yield who.lms_id
    digest = hashlib.sha256(f"{who.name}\0{who.lms_id}".encode()).hexdigest()[:8]
    yield digest
    yield from (f"{digest}-{n}" for n in itertools.count(2))


def assign_student_ids(identities: set[Identity]
                       ) -> tuple[dict[Identity, str], dict[Identity, str]]:
    """(identity -> student id, identity -> note) for the students of one export.

    The id is :func:`clean_student_id` of the name. Students whose ids would be equal (ignoring
    case, as a case-insensitive file system would) all get a suffix instead: the LMS id when
    it tells them apart, else 8 hex digits of a hash of name and LMS id (stable across runs).
    Each of them gets a note saying who else wanted the id. No two identities share an id.
    """
    base = {who: clean_student_id(who.name) for who in identities}
    groups: dict[str, list[Identity]] = {}
    for who in sorted(identities):
        groups.setdefault(base[who].casefold(), []).append(who)
    ids: dict[Identity, str] = {}
    notes: dict[Identity, str] = {}
    taken: set[str] = set()
    for group in groups.values():
        if len(group) == 1:
            ids[group[0]] = base[group[0]]
            taken.add(base[group[0]].casefold())
    for key in sorted(k for k, g in groups.items() if len(g) > 1):
        group = groups[key]
        lms_count = Counter(who.lms_id for who in group)
        for who in group:
            for suffix in _suffixes(who, unique_lms=lms_count[who.lms_id] == 1):
                sid = _with_suffix(base[who], suffix)
                if sid.casefold() not in taken:
                    break
            ids[who] = sid
            taken.add(sid.casefold())
        for who in group:
            others = ", ".join(f"{o.describe()} is {ids[o]!r}" for o in group if o != who)
            notes[who] = (f"{who.describe()} is {ids[who]!r}, not {base[who]!r}, which "
                          f"{len(group) - 1} other student(s) would also get: {others}")
    return ids, notes


@dataclass
class _Candidate:
    who: Identity
    assignment: str | None
    notebook: str | None  # master notebook stem, if the name said so
    path: Path
    rank: int


def _notebook_owners(course: Course) -> dict[str, list[str]]:
    """Master notebook name -> the assignments that have a notebook so named."""
    owners: dict[str, list[str]] = {}
    for assignment in course.assignments:
        for name in course.notebook_names(assignment):
            owners.setdefault(name, []).append(assignment)
    return owners


def _match_target(course: Course, text: str, context: str) -> tuple[str, str | None] | None:
    """(assignment, notebook) named by the end of ``text``, or None. ``context``: the whole
    name, searched for the assignment id when several assignments have a notebook so named."""
    for assignment in sorted(course.assignments, key=len, reverse=True):
        if text == assignment or text.endswith("_" + assignment):
            return assignment, None
    owners = _notebook_owners(course)
    for name in sorted(owners, key=len, reverse=True):
        if text == name or text.endswith("_" + name):
            candidates = owners[name]
            if len(candidates) > 1:  # a notebook name shared by assignments: need the id too
                candidates = [a for a in candidates if a in context]
            if len(candidates) == 1:
                return candidates[0], name
    return None


def _match_name(course: Course, stem: str, is_zip: bool = False
                ) -> tuple[Identity, str | None, str | None] | None:
    """(student, assignment, notebook) from a flat file's stem, or None."""
    for pattern in (_MOODLE, _CANVAS):
        m = pattern.match(stem)
        if m and m["name"].strip():
            target = _match_target(course, m["file"], stem)
            if target is not None:
                return _identity(m["name"], m["lms"]), *target
            if is_zip:
                return _identity(m["name"], m["lms"]), None, None
    for assignment in sorted(course.assignments, key=len, reverse=True):
        if stem.endswith("_" + assignment) and len(stem) > len(assignment) + 1:
            return _identity(stem[: -len(assignment) - 1]), assignment, None
    owners = _notebook_owners(course)
    for name in sorted(owners, key=len, reverse=True):
        if stem.endswith("_" + name) and len(stem) > len(name) + 1:
            middle = stem[: -len(name) - 1]
            student, _, rest = middle.partition("_")
            candidates = owners[name]
            if len(candidates) > 1:  # a notebook name shared by assignments: need the id too
                candidates = [a for a in candidates if a in middle]
            if len(candidates) == 1 and student:
                return _identity(student, _first_number(rest)), candidates[0], name
    if is_zip and stem.partition("_")[0]:
        student, _, rest = stem.partition("_")
        return _identity(student, _first_number(rest)), None, None
    return None


def _first_number(text: str) -> str:
    """The first ``_``-separated field of ``text`` that is all digits (an LMS id), or ""."""
    return next((f for f in text.split("_") if _DIGITS.match(f)), "")


def _split_rank(stem: str) -> tuple[str, int]:
    m = _RESUBMISSION.match(stem)
    return (m["stem"], int(m["n"])) if m else (stem, 0)


def _assign_notebooks(course: Course, sub: Submission, found: dict[str, tuple[bytes, str]],
                      hinted: str | None = None) -> None:
    """Map the notebooks found (file name -> (bytes, origin)) to the assignment's notebooks."""
    names = course.notebook_names(sub.assignment)
    unmatched = []
    for filename in sorted(found):
        data, origin = found[filename]
        stem = Path(filename).stem
        stem = _split_rank(stem)[0]
        target = stem if stem in names else None
        if target is None and hinted in names and hinted not in sub.notebooks:
            target = hinted
        if target is None:
            unmatched.append((filename, data, origin))
        elif target in sub.notebooks:
            sub.problem("duplicate-submission", f"{origin}: a second copy of {target}.ipynb; "
                        f"graded {sub.origins[target]}", notebook=target)
        else:
            sub.notebooks[target], sub.origins[target] = data, origin
    missing = [n for n in names if n not in sub.notebooks]
    if len(missing) == 1 and len(unmatched) == 1:
        filename, data, origin = unmatched.pop()
        sub.notebooks[missing[0]], sub.origins[missing[0]] = data, origin
        sub.problem("renamed-notebook", f"graded {origin} as {missing[0]}.ipynb",
                    notebook=missing[0])
    for _filename, _data, origin in unmatched:
        sub.problem("unexpected-notebook", f"{origin} is not part of {sub.assignment}; ignored")


def _read_limited(path: Path, limit: int) -> bytes | None:
    return path.read_bytes() if path.stat().st_size <= limit else None


def _tree_root(folder: Path, course: Course) -> Path | None:
    if (folder / "submitted").is_dir():
        return folder / "submitted"
    for child in folder.iterdir():
        if child.is_dir() and any((child / a).is_dir() for a in course.assignments):
            return folder
    return None


def _intake_tree(root: Path, course: Course, selected: list[str]
                 ) -> tuple[list[Submission], list[Problem]]:
    subs, problems = [], []
    for student_dir in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if not student_dir.is_dir():
            problems.append(Problem("", "", "", "unrecognised-file",
                                    detail=f"{student_dir.name}: not a student folder; skipped"))
            continue
        for adir in sorted(p for p in student_dir.iterdir() if not p.name.startswith(".")):
            if adir.name not in course.assignments:
                problems.append(Problem(student_dir.name, "", "", "unrecognised-file",
                                        detail=f"{student_dir.name}/{adir.name}: not an "
                                               f"assignment of the course; skipped"))
                continue
            if adir.name not in selected or not adir.is_dir():
                continue
            sub = Submission(student_dir.name, adir.name)
            found: dict[str, tuple[bytes, str]] = {}
            notebooks = sorted(adir.glob("*.ipynb")) or sorted(
                p for p in adir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            for nb in notebooks:
                rel = f"{student_dir.name}/{adir.name}/{nb.relative_to(adir).as_posix()}"
                data = _read_limited(nb, MAX_NOTEBOOK_BYTES)
                if data is None:
                    sub.problem("invalid-notebook", f"{rel} is larger than "
                                f"{MAX_NOTEBOOK_BYTES // 2**20} MiB; ignored", nb.stem)
                    continue
                found[nb.name if nb.parent == adir else nb.relative_to(adir).as_posix()] = (
                    data, rel)
            _assign_notebooks(course, sub, found)
            total = 0
            for extra in sorted(adir.rglob("*")):
                if (extra.is_file() and extra.suffix != ".ipynb" and extra.name != "timestamp.txt"
                        and ".ipynb_checkpoints" not in extra.parts):
                    total += extra.stat().st_size
                    if total <= MAX_EXTRA_BYTES:
                        sub.extra_files[extra.relative_to(adir).as_posix()] = extra.read_bytes()
            if (adir / "timestamp.txt").is_file():
                sub.timestamp = (adir / "timestamp.txt").read_text(encoding="utf-8").strip()
            subs.append(sub)
    return subs, problems


def _zip_notebooks(path: Path, course: Course, assignment: str | None
                   ) -> tuple[str | None, dict[str, tuple[bytes, str]], str | None]:
    """(assignment, notebooks found, error) for a zip; never extracts anything to disk."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
                return assignment, {}, f"uncompressed size over {MAX_ZIP_BYTES // 2**20} MiB"
            members = []
            for info in infos:
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                if (not parts or parts[-1].startswith(".") or "__MACOSX" in parts
                        or ".ipynb_checkpoints" in parts or not parts[-1].endswith(".ipynb")):
                    continue
                members.append((info, parts))
            if assignment is None:  # find it from the folders or notebook names inside
                for _info, parts in members:
                    for a in course.assignments:
                        if a in parts[:-1] or PurePosixPath(parts[-1]).stem in \
                                course.notebook_names(a):
                            assignment = a
                            break
                    if assignment:
                        break
            if assignment is not None:
                names = course.notebook_names(assignment)
                # Prefer members inside a folder named after the assignment, if any.
                inside = [(i, p) for i, p in members if assignment in p[:-1]]
                members = inside or members
                members.sort(key=lambda ip: (PurePosixPath(ip[1][-1]).stem not in names,
                                             len(ip[1]), "/".join(ip[1])))
            found = {}
            for info, parts in members:
                if info.file_size > MAX_NOTEBOOK_BYTES:
                    continue
                found.setdefault(parts[-1], (zf.read(info), f"{path.name}:{'/'.join(parts)}"))
            return assignment, found, None
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        return assignment, {}, f"{type(exc).__name__}: {exc}"


def _intake_flat(folder: Path, course: Course, selected: list[str]
                 ) -> tuple[list[Submission], list[Problem]]:
    problems: list[Problem] = []
    candidates: list[_Candidate] = []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        # Hidden files are skipped, but not a submission whose student name starts with a dot;
        # "._*" are the resource forks macOS adds next to each file in a zip.
        if path.name.startswith(".") and (path.name.startswith("._")
                                          or suffix not in (".ipynb", ".zip")):
            continue
        stem, rank = _split_rank(path.stem)
        matched = (_match_name(course, stem, is_zip=suffix == ".zip") if path.is_file()
                   else None)
        if matched is None or suffix not in (".ipynb", ".zip"):
            problems.append(Problem("", "", "", "unrecognised-file", detail=(
                f"{path.name}: expected <student>_<assignment>.ipynb|zip or "
                f"<student>_..._<notebook>.ipynb|zip; skipped")))
            continue
        who, assignment, notebook = matched
        candidates.append(_Candidate(who, assignment, notebook, path, rank))
    # Ids over every file of the export, whatever is selected: the same ids on every run.
    ids, notes = assign_student_ids({c.who for c in candidates})

    subs: dict[tuple[Identity, str], Submission] = {}
    noted: set[Identity] = set()
    ranks: dict[tuple[Identity, str, str], int] = {}  # rank of the file graded per notebook
    # Per student, the highest resubmission number last, so it wins; ties by name.
    for cand in sorted(candidates, key=lambda c: (c.who, c.rank, c.path.name)):
        student = ids[cand.who]
        if cand.path.suffix.lower() == ".zip":
            assignment, found, error = _zip_notebooks(cand.path, course, cand.assignment)
        else:
            assignment, error = cand.assignment, None
            data = _read_limited(cand.path, MAX_NOTEBOOK_BYTES)
            found = {cand.path.name: (data, cand.path.name)} if data is not None else {}
            if data is None:
                error = f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB"
        if assignment is None:
            problems.append(Problem(student, "", "", "unrecognised-file", detail=(
                f"{cand.path.name}: no notebook of a known assignment inside; skipped")))
            if cand.who in notes and cand.who not in noted:
                noted.add(cand.who)
                problems.append(Problem(student, "", "", "id-disambiguated",
                                        detail=notes[cand.who]))
            continue
        if assignment not in selected:
            continue
        sub = subs.get((cand.who, assignment))
        if sub is None:
            sub = subs[(cand.who, assignment)] = Submission(student, assignment)
            if cand.who in notes:
                sub.problem("id-disambiguated", notes[cand.who])
        if error:
            kind = "invalid-zip" if cand.path.suffix.lower() == ".zip" else "invalid-notebook"
            sub.problem(kind, f"{cand.path.name}: {error}")
        # A later file of the same student replaces earlier notebooks of the same name.
        names = course.notebook_names(assignment)
        hinted = cand.notebook or (names[0] if len(names) == 1 else None)
        fresh = Submission(student, assignment)
        _assign_notebooks(course, fresh, found, hinted)
        for name, data in fresh.notebooks.items():
            if name in sub.notebooks:
                old, old_rank = sub.origins[name], ranks[(cand.who, assignment, name)]
                why = (f"resubmission {cand.rank} > {old_rank}" if cand.rank != old_rank else
                       "same resubmission number, later file name")
                sub.problem("duplicate-submission", (
                    f"{old} replaced by {fresh.origins[name]}: both from {cand.who.describe()} "
                    f"({why})"), notebook=name)
            sub.notebooks[name], sub.origins[name] = data, fresh.origins[name]
            ranks[(cand.who, assignment, name)] = cand.rank
        sub.problems.extend(p for p in fresh.problems if p.kind != "duplicate-submission")
    return list(subs.values()), problems


def discover(folder: Path, course: Course, selected: list[str] | None = None
             ) -> tuple[list[Submission], list[Problem]]:
    """All submissions in ``folder`` for the ``selected`` assignments (default: all), sorted by
    (student, assignment), and the problems of files that could not be attributed.

    Adds a ``missing-submission`` problem (and an empty submission, which scores 0) for every
    student who handed in some selected assignment but not another, and ``missing-notebook``
    for every notebook of an assignment absent from a submission.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such submissions folder: {folder}")
    selected = list(selected or course.assignments)
    root = _tree_root(folder, course)
    subs, problems = (_intake_tree(root, course, selected) if root is not None
                      else _intake_flat(folder, course, selected))
    by_key = {s.key: s for s in subs}
    for student in sorted({s.student for s in subs}):
        for assignment in selected:
            if (student, assignment) not in by_key:
                sub = Submission(student, assignment)
                sub.problem("missing-submission", "nothing handed in for this assignment")
                by_key[sub.key] = sub
    for sub in by_key.values():
        if any(p.kind == "missing-submission" for p in sub.problems):
            continue
        for name in course.notebook_names(sub.assignment):
            if name not in sub.notebooks and not any(
                    p.kind in ("invalid-notebook", "invalid-zip") and p.notebook in ("", name)
                    for p in sub.problems):
                sub.problem("missing-notebook", f"no {name}.ipynb in the submission", name)
    return [by_key[k] for k in sorted(by_key)], problems
