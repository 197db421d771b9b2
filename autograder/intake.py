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

**Symbolic links are never followed.** The grader may read what a student cannot (``/etc/shadow``,
the master notebooks, private files), so a link in a submission -- a notebook, a data file, a
student or assignment folder, ``submitted`` itself, a file of a flat export, a zip member marked
as a link -- is logged as ``symlink`` and not graded; what it points to is never opened. Only the
folder given on the command line may itself be a link. Every file and folder is opened relative
to its already-open parent with ``O_NOFOLLOW`` (:class:`SafeFolder`), so a link swapped in after
the listing is refused too. Hard links are not detected: they look like the files they name.

A notebook nested deeper than :data:`~autograder.normalize.MAX_JSON_DEPTH` levels is an
``invalid-notebook`` here already (its bytes are dropped), so no later step parses it.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import re
import stat
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from anyascii import anyascii

from .course import Course
from .normalize import too_deep
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
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
# O_NONBLOCK: opening a FIFO planted in a submission must not hang the intake.
_FILE_FLAGS = os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0)
_LINK_ERRNOS = {errno.ELOOP, errno.EMLINK}  # O_NOFOLLOW on a link: ELOOP (Linux), EMLINK (BSD)
_LINK_NOTE = "a symbolic link; not followed, not graded"


class SymlinkError(OSError):
    """A symbolic link where the intake expected a file or a folder (never followed)."""


class SafeFolder:
    """An open folder of the submissions, read without ever following a symbolic link.

    Entries are listed from the open folder (``lstat`` semantics); files and sub-folders are
    opened relative to it, one path component at a time, with ``O_NOFOLLOW`` (and
    ``O_DIRECTORY`` for folders), so a component that is -- or has just become -- a link raises
    :class:`SymlinkError` instead of being followed. Regular files only; sizes come from
    ``fstat`` of the open file.
    """

    def __init__(self, fd: int, name: str = "") -> None:
        self.fd, self.name = fd, name

    @classmethod
    def open(cls, path: Path) -> SafeFolder:
        """The folder given by the instructor (it may itself be reached through a link)."""
        return cls(os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC),
                   str(path))

    def __enter__(self) -> SafeFolder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the folder's descriptor."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _open(self, parts: list[str], flags: int) -> int:
        """Open ``parts`` (relative path components) below this folder; no link followed."""
        fd = self.fd
        try:
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                if part in ("", ".", ".."):
                    raise OSError(errno.EINVAL, f"bad path component {part!r}")
                try:
                    child = os.open(part, flags if last else _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in _LINK_ERRNOS or (
                            exc.errno == errno.ENOTDIR and self._is_link(fd, part)):
                        raise SymlinkError(errno.ELOOP, _LINK_NOTE, "/".join(parts[:i + 1])
                                           ) from None
                    raise
                if fd != self.fd:
                    os.close(fd)
                fd = child
        except BaseException:
            if fd != self.fd:
                os.close(fd)
            raise
        return fd

    @staticmethod
    def _is_link(dir_fd: int, name: str) -> bool:
        try:
            return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
        except OSError:
            return False

    def sub(self, rel: str) -> SafeFolder:
        """The sub-folder ``rel`` (``a/b``); :class:`SymlinkError` if any part is a link."""
        return SafeFolder(self._open(rel.split("/"), _DIR_FLAGS), rel)

    def entries(self) -> list[tuple[str, str]]:
        """(name, kind) of every entry, sorted by name; kind is ``dir``, ``file``, ``link``
        or ``other`` (FIFOs, sockets, devices), as the entry itself is (links not followed)."""
        out = []
        with os.scandir(self.fd) as it:
            for entry in it:
                if entry.is_symlink():
                    kind = "link"
                elif entry.is_dir(follow_symlinks=False):
                    kind = "dir"
                elif entry.is_file(follow_symlinks=False):
                    kind = "file"
                else:
                    kind = "other"
                out.append((entry.name, kind))
        return sorted(out)

    def walk(self, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """(relative path, kind) of everything below this folder, sorted; folders named in
        ``skip`` and folders that are links are not entered (links are listed as ``link``)."""
        out: list[tuple[str, str]] = []
        pending = [""]
        while pending:  # iterative: a very deep tree of folders cannot exhaust the stack
            rel = pending.pop()
            try:
                folder = self.sub(rel) if rel else SafeFolder(os.dup(self.fd))
            except SymlinkError:
                out.append((rel, "link"))  # became a link after it was listed
                continue
            with folder:
                for name, kind in folder.entries():
                    path = f"{rel}/{name}" if rel else name
                    if kind == "dir":
                        if name not in skip:
                            pending.append(path)
                    else:
                        out.append((path, kind))
        return sorted(out)

    def link_target(self, rel: str) -> str:
        """Where the link ``rel`` points (the text of the link only; nothing is followed)."""
        parent, _, name = rel.rpartition("/")
        try:
            with self.sub(parent) if parent else SafeFolder(os.dup(self.fd)) as folder:
                target = os.readlink(name, dir_fd=folder.fd)
        except OSError:
            return "?"
        return target if len(target) <= 200 else target[:200] + "..."

    def open_file(self, rel: str) -> tuple[int, int]:
        """(descriptor, size) of the regular file ``rel``, opened without following links;
        :class:`SymlinkError` for a link, ``OSError`` for anything but a regular file."""
        fd = self._open(rel.split("/"), _FILE_FLAGS)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "not a regular file", rel)
        return fd, info.st_size

    def read(self, rel: str, limit: int) -> tuple[int, bytes | None]:
        """(size, bytes) of the regular file ``rel``; bytes None when it is larger than
        ``limit`` (then nothing is read). See :meth:`open_file`."""
        fd, size = self.open_file(rel)
        try:
            if size > limit:
                return size, None
            chunks, total = [], 0
            while total <= limit:
                chunk = os.read(fd, min(1 << 20, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            data = b"".join(chunks)
            return len(data), (data if len(data) <= limit else None)
        finally:
            os.close(fd)


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
    link: str | None = None  # the target, when the file is a symbolic link (never followed)


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
    """Map the notebooks found (file name -> (bytes, origin)) to the assignment's notebooks.
    One nested too deeply to be graded is an ``invalid-notebook`` and its bytes are dropped."""
    names = course.notebook_names(sub.assignment)
    unmatched = []

    def keep(target: str, data: bytes, origin: str) -> None:
        deep = too_deep(data)
        if deep:
            sub.problem("invalid-notebook", f"{origin}: {deep}; not graded", notebook=target)
        else:
            sub.notebooks[target], sub.origins[target] = data, origin

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
            keep(target, data, origin)
    missing = [n for n in names if n not in sub.notebooks]
    if len(missing) == 1 and len(unmatched) == 1:
        filename, data, origin = unmatched.pop()
        sub.problem("renamed-notebook", f"graded {origin} as {missing[0]}.ipynb",
                    notebook=missing[0])
        keep(missing[0], data, origin)
    for _filename, _data, origin in unmatched:
        sub.problem("unexpected-notebook", f"{origin} is not part of {sub.assignment}; ignored")


def _link_notebook(course: Course, assignment: str | None, filename: str) -> str:
    """The notebook a symbolic link stands for, for the problem log ("" if none): a linked
    notebook's name, or the only notebook of the assignment for a linked ``.ipynb`` or zip."""
    if assignment is None or not filename.endswith((".ipynb", ".zip")):
        return ""
    names = course.notebook_names(assignment)
    stem = _split_rank(PurePosixPath(filename).stem)[0]
    if filename.endswith(".ipynb") and stem in names:
        return stem
    return names[0] if len(names) == 1 else ""


def _tree_root(top: SafeFolder, course: Course) -> str | None:
    """"submitted", "" (the folder itself) or None (not an nbgrader tree). Decided from the
    entries themselves: a link counts as what it is named, and is never followed."""
    entries = top.entries()
    if ("submitted", "dir") in entries or ("submitted", "link") in entries:
        return "submitted"
    for name, kind in entries:
        if kind != "dir":
            continue
        try:
            with top.sub(name) as child:
                if any(n in course.assignments and k in ("dir", "link")
                       for n, k in child.entries()):
                    return ""
        except OSError:  # swapped for a link, or unreadable: not evidence of a tree
            continue
    return None


def _tree_submission(adir: SafeFolder, student: str, assignment: str, course: Course
                     ) -> Submission:
    """The submission in ``<student>/<assignment>/`` (an open folder)."""
    sub = Submission(student, assignment)
    where = f"{student}/{assignment}"
    entries = adir.walk(skip=(".ipynb_checkpoints",))
    for rel, kind in entries:
        if kind == "link":
            sub.problem("symlink", f"{where}/{rel} -> {adir.link_target(rel)}: {_LINK_NOTE}",
                        notebook=_link_notebook(course, assignment, rel))
    files = [rel for rel, kind in entries if kind == "file"]
    notebooks = [r for r in files if "/" not in r and r.endswith(".ipynb")] or [
        r for r in files if r.endswith(".ipynb")]
    found: dict[str, tuple[bytes, str]] = {}
    for rel in notebooks:
        try:
            _size, data = adir.read(rel, MAX_NOTEBOOK_BYTES)
        except SymlinkError:  # replaced by a link after the listing
            sub.problem("symlink", f"{where}/{rel}: {_LINK_NOTE}",
                        notebook=_link_notebook(course, assignment, rel))
            continue
        except OSError as exc:  # unreadable, or no longer a regular file
            sub.problem("invalid-notebook", f"{where}/{rel} cannot be read: {exc.strerror}",
                        PurePosixPath(rel).stem)
            continue
        if data is None:
            sub.problem("invalid-notebook", f"{where}/{rel} is larger than "
                        f"{MAX_NOTEBOOK_BYTES // 2**20} MiB; ignored", PurePosixPath(rel).stem)
            continue
        found[rel] = (data, f"{where}/{rel}")
    _assign_notebooks(course, sub, found)
    total = 0
    for rel in files:
        if PurePosixPath(rel).suffix == ".ipynb" or PurePosixPath(rel).name == "timestamp.txt":
            continue
        try:
            size, data = adir.read(rel, max(0, MAX_EXTRA_BYTES - total))
        except SymlinkError:
            sub.problem("symlink", f"{where}/{rel}: {_LINK_NOTE}")
            continue
        except OSError:  # unreadable, or no longer a regular file: not copied
            continue
        total += size
        if data is not None:
            sub.extra_files[rel] = data
    if "timestamp.txt" in files:
        try:
            _size, data = adir.read("timestamp.txt", 4096)
        except OSError:  # a link swapped in, or unreadable: no submission time
            data = None
        if data is not None:
            sub.timestamp = data.decode("utf-8", errors="replace").strip()
    return sub


def _intake_tree(top: SafeFolder, root_name: str, course: Course, selected: list[str]
                 ) -> tuple[list[Submission], list[Problem]]:
    subs: list[Submission] = []
    problems: list[Problem] = []
    try:
        root = top.sub(root_name) if root_name else SafeFolder(os.dup(top.fd))
    except SymlinkError:
        problems.append(Problem("", "", "", "symlink", detail=(
            f"{root_name} -> {top.link_target(root_name)}: the submissions folder is a "
            f"symbolic link; not followed, nothing graded (give the folder it points to)")))
        return subs, problems
    with root:
        for student, skind in root.entries():
            if student.startswith("."):
                continue
            if skind == "link":
                problems.append(Problem(student, "", "", "symlink", detail=(
                    f"{student} -> {root.link_target(student)}: a student folder that is "
                    f"{_LINK_NOTE}")))
                continue
            if skind != "dir":
                problems.append(Problem("", "", "", "unrecognised-file",
                                        detail=f"{student}: not a student folder; skipped"))
                continue
            try:
                sdir = root.sub(student)
            except SymlinkError:
                problems.append(Problem(student, "", "", "symlink", detail=(
                    f"{student}: a student folder that is {_LINK_NOTE}")))
                continue
            with sdir:
                for assignment, akind in sdir.entries():
                    if assignment.startswith("."):
                        continue
                    if assignment not in course.assignments:
                        problems.append(Problem(student, "", "", "unrecognised-file",
                                                detail=f"{student}/{assignment}: not an "
                                                       f"assignment of the course; skipped"))
                        continue
                    if assignment not in selected or akind not in ("dir", "link"):
                        continue
                    try:
                        if akind == "link":
                            raise SymlinkError(errno.ELOOP, _LINK_NOTE, assignment)
                        adir = sdir.sub(assignment)
                    except SymlinkError:
                        sub = Submission(student, assignment)
                        sub.problem("symlink", f"{student}/{assignment} -> "
                                    f"{sdir.link_target(assignment)}: an assignment folder that "
                                    f"is {_LINK_NOTE}")
                        subs.append(sub)
                        continue
                    with adir:
                        subs.append(_tree_submission(adir, student, assignment, course))
    return subs, problems


def _zip_notebooks(handle, name: str, course: Course, assignment: str | None
                   ) -> tuple[str | None, dict[str, tuple[bytes, str]], str | None, list[str]]:
    """(assignment, notebooks found, error, members that are symbolic links) for a zip (an
    open binary file named ``name``); never extracts anything to disk, never reads a member
    that is a link."""
    links: list[str] = []
    try:
        with zipfile.ZipFile(handle) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
                return (assignment, {}, f"uncompressed size over {MAX_ZIP_BYTES // 2**20} MiB",
                        links)
            members = []
            for info in infos:
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                if (not parts or parts[-1].startswith(".") or "__MACOSX" in parts
                        or ".ipynb_checkpoints" in parts):
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    links.append("/".join(parts))
                if parts[-1].endswith(".ipynb"):
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
                if info.file_size > MAX_NOTEBOOK_BYTES or stat.S_ISLNK(info.external_attr >> 16):
                    continue
                found.setdefault(parts[-1], (zf.read(info), f"{name}:{'/'.join(parts)}"))
            return assignment, found, None, links
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        return assignment, {}, f"{type(exc).__name__}: {exc}", links


def _read_candidate(top: SafeFolder, course: Course, cand: _Candidate
                    ) -> tuple[str | None, dict[str, tuple[bytes, str]], str | None, list[str]]:
    """(assignment, notebooks found, error, links) of one file of a flat export; a file
    that is (or has just become) a symbolic link is not read: ``cand.link`` is set."""
    name = cand.path.name
    if cand.link is not None:
        return cand.assignment, {}, None, []
    try:
        if cand.path.suffix.lower() == ".zip":
            fd, _size = top.open_file(name)
            with os.fdopen(fd, "rb") as handle:
                return _zip_notebooks(handle, name, course, cand.assignment)
        _size, data = top.read(name, MAX_NOTEBOOK_BYTES)
    except SymlinkError:
        cand.link = top.link_target(name)
        return cand.assignment, {}, None, []
    except OSError as exc:
        return cand.assignment, {}, f"{type(exc).__name__}: {exc}", []
    if data is None:
        return cand.assignment, {}, f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB", []
    return cand.assignment, {name: (data, name)}, None, []


def _intake_flat(top: SafeFolder, course: Course, selected: list[str]
                 ) -> tuple[list[Submission], list[Problem]]:
    problems: list[Problem] = []
    candidates: list[_Candidate] = []
    folder = Path(top.name)
    for name, kind in top.entries():
        path = folder / name
        suffix = path.suffix.lower()
        # Hidden files are skipped, but not a submission whose student name starts with a dot;
        # "._*" are the resource forks macOS adds next to each file in a zip.
        if name.startswith(".") and (name.startswith("._")
                                     or suffix not in (".ipynb", ".zip")):
            continue
        stem, rank = _split_rank(path.stem)
        matched = (_match_name(course, stem, is_zip=suffix == ".zip")
                   if kind in ("file", "link") else None)
        if kind == "link" and (matched is None or suffix not in (".ipynb", ".zip")):
            problems.append(Problem("", "", "", "symlink", detail=(
                f"{name} -> {top.link_target(name)}: {_LINK_NOTE}")))
            continue
        if matched is None or suffix not in (".ipynb", ".zip"):
            problems.append(Problem("", "", "", "unrecognised-file", detail=(
                f"{name}: expected <student>_<assignment>.ipynb|zip or "
                f"<student>_..._<notebook>.ipynb|zip; skipped")))
            continue
        who, assignment, notebook = matched
        candidates.append(_Candidate(who, assignment, notebook, path, rank,
                                     top.link_target(name) if kind == "link" else None))
    # Ids over every file of the export, whatever is selected: the same ids on every run.
    ids, notes = assign_student_ids({c.who for c in candidates})

    subs: dict[tuple[Identity, str], Submission] = {}
    noted: set[Identity] = set()
    ranks: dict[tuple[Identity, str, str], int] = {}  # rank of the file graded per notebook
    # Per student, the highest resubmission number last, so it wins; ties by name.
    for cand in sorted(candidates, key=lambda c: (c.who, c.rank, c.path.name)):
        student = ids[cand.who]
        assignment, found, error, links = _read_candidate(top, course, cand)
        linked = (f"{cand.path.name} -> {cand.link}: {_LINK_NOTE}"
                  if cand.link is not None else None)
        if assignment is None:
            problems.append(Problem(student, "", "", "symlink" if linked else "unrecognised-file",
                                    detail=linked or (f"{cand.path.name}: no notebook of a "
                                                      f"known assignment inside; skipped")))
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
        if linked:
            sub.problem("symlink", linked, notebook=cand.notebook or _link_notebook(
                course, assignment, cand.path.name.lower()))
        for member in links:
            sub.problem("symlink", f"{cand.path.name}:{member}: a zip member that is "
                        f"{_LINK_NOTE}", notebook=_link_notebook(course, assignment, member))
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
    for every notebook of an assignment absent from a submission (not for one that was there
    but unreadable, too deep or a symbolic link: that has its own problem).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such submissions folder: {folder}")
    selected = list(selected or course.assignments)
    with SafeFolder.open(folder) as top:
        root = _tree_root(top, course)
        subs, problems = (_intake_tree(top, root, course, selected) if root is not None
                          else _intake_flat(top, course, selected))
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
                    p.kind in ("invalid-notebook", "invalid-zip", "symlink")
                    and p.notebook in ("", name) for p in sub.problems):
                sub.problem("missing-notebook", f"no {name}.ipynb in the submission", name)
    return [by_key[k] for k in sorted(by_key)], problems
