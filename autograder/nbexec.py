"""nbgrader preprocessors used inside the grading subprocesses (configured by name).

* :class:`SandboxExecute` replaces nbgrader's ``Execute`` in ``Autograde``: a cell that kills
  the kernel (``os._exit``, a crash, the CPU or memory limit) or that hangs past the timeout
  and ignores the interrupt no longer fails the whole submission. The cell gets an error
  output (so its test scores 0), the kernel is restarted, the cells before it are replayed
  (outputs discarded, the killer cells skipped) and grading goes on. Every such event is
  appended to a JSON-lines file for the problem log.
* :class:`HideHiddenTests` is added to ``GenerateFeedback``: the student's feedback shows the
  visible tests and the failure messages, not the hidden tests' code; and no line or case value
  of a hidden block appears anywhere else in it either (outputs the student's code printed,
  tracebacks, failure messages, sources): :class:`Redactor`.
* :class:`LimitOutput` replaces nbgrader's ``LimitOutput`` in ``Autograde``: besides its line
  limits it bounds characters (per output, cell and notebook) and image bytes, so one long
  line cannot make a huge graded notebook and feedback page; every cut cell is an event.
* :class:`FeedbackExporter` is ``GenerateFeedback``'s exporter: nbgrader's feedback page,
  readable offline (math rendered to MathML when the page is made, no script from the
  network, the student's HTML and JavaScript outputs sanitized) and with every graded cell
  named after its exercise instead of "Test cell".
"""

from __future__ import annotations

import copy
import html
import json
import os
import re
import signal
import xml.etree.ElementTree as ElementTree

from jinja2 import DictLoader, pass_context
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.preprocessors import LimitOutput as NbgraderLimitOutput
from traitlets import Bool, Integer, Unicode

_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                     re.MULTILINE | re.DOTALL)
# The code between the markers (what the feedback must never show).
_HIDDEN_BODY = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS",
                          re.MULTILINE | re.DOTALL)
REDACTED = "[hidden test redacted]"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# A number as Python and NumPy print it, not part of a name or of a longer number.
_NUMBER = re.compile(r"(?<![\w.])(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)"
                     r"(?:[eE][-+]?\d+)?(?![\w]|\.\d)")
_BINARY_MIMETYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
                     "application/pdf"}


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def _signal_name(code: int | None) -> str:
    if code is None:
        return "unknown exit status"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class SandboxExecute(Execute):
    """nbgrader's Execute, resilient to kernels that die or stop answering."""

    max_kernel_restarts = Integer(
        3, help="Kernel restarts per notebook before the remaining cells are not run."
    ).tag(config=True)
    events_file = Unicode("", help="Append one JSON line per event to this file.").tag(
        config=True)
    replay = Bool(True, help="After a restart, re-run the cells before the failed one.").tag(
        config=True)

    def preprocess(self, nb, resources=None, km=None):
        """Execute the notebook, surviving dead and unresponsive kernels."""
        self._fatal: set[int] = set()
        self._restarts = 0
        self._gave_up = False
        self._nb_name = (resources or {}).get("nbgrader", {}).get("notebook", "")
        return super().preprocess(nb, resources, km)

    def _event(self, kind: str, index: int, cell, detail: str) -> None:
        if not self.events_file:
            return
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        record = {"notebook": self._nb_name, "kind": kind, "index": index,
                  "cell": grade_id or f"cell {index}", "detail": detail}
        with open(self.events_file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def _exit_status(self) -> int | None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is None:
            return None
        try:
            return process.poll()
        except Exception:  # a provisioner without a Popen-like process
            return None

    def preprocess_cell(self, cell, resources, index):
        """Run one cell (see :meth:`_run_cell`), then merge its stream outputs
        (:func:`merge_streams`)."""
        cell, resources = self._run_cell(cell, resources, index)
        if cell.cell_type == "code" and cell.get("outputs"):
            cell.outputs = merge_streams(cell.outputs)
        return cell, resources

    def _run_cell(self, cell, resources, index):
        """Run one cell; on a dead or hung kernel record it, restart, replay and go on."""
        if self._gave_up:
            if cell.cell_type == "code":
                cell.outputs = [_error("NotRun", "not run: the kernel died too often in "
                                                 "this notebook")]
                self._event("not-run", index, cell, "the kernel died too often")
            return cell, self.resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            status = self._exit_status()
            self._fatal.add(index)
            kind = "cpu-time" if status == -signal.SIGXCPU else "kernel-died"
            detail = f"the kernel died while running this cell ({_signal_name(status)})"
            cell.outputs.append(_error("DeadKernelError", detail))
            self._event(kind, index, cell, detail)
            self._recover(index)
            return cell, self.resources
        except CellTimeoutError:
            self._fatal.add(index)
            detail = (f"the cell ran past the {self.timeout} s limit and ignored the interrupt; "
                      f"the kernel was restarted")
            cell.outputs.append(_error("CellTimeoutError", detail))
            self._event("timeout", index, cell, detail)
            self._recover(index)
            return cell, self.resources
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if output.get("ename") == "CellTimeoutError":
                self._fatal.add(index)  # interrupted: do not replay it after a restart
                self._event("timeout", index, cell,
                            f"interrupted after the {self.timeout} s per-cell limit")
            elif output.get("ename") == "MemoryError":
                self._event("memory", index, cell, f"MemoryError: {output.get('evalue', '')}")
        return cell, resources

    async def _async_restart(self) -> None:
        try:
            self.kc.stop_channels()
        except Exception:  # channels of a dead kernel may already be closed
            pass
        await ensure_async(self.km.restart_kernel(now=True))
        self.kc = self.km.client()
        await ensure_async(self.kc.start_channels())
        await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))

    def _recover(self, failed: int) -> None:
        self._restarts += 1
        if self._restarts > self.max_kernel_restarts:
            self._gave_up = True
            return
        try:
            run_sync(self._async_restart)()
        except Exception as exc:  # the kernel cannot even start again: stop here
            self._gave_up = True
            self._event("kernel-died", failed, self.nb.cells[failed],
                        f"the kernel could not be restarted: {exc}")
            return
        if not self.replay:
            return
        for index in range(failed):
            cell = self.nb.cells[index]
            if cell.cell_type != "code" or index in self._fatal:
                continue
            ghost = copy.deepcopy(cell)
            ghost.outputs = []
            try:
                self.execute_cell(ghost, index, store_history=False)
            except (DeadKernelError, CellTimeoutError):
                self._fatal.add(index)
                self._event("kernel-died", index, cell,
                            "the kernel died again while replaying this cell; skipped")
                self._recover(failed)
                return


class LockDown(NbGraderPreprocessor):
    """Runs first in Autograde: let the sandboxed kernel into its working folder, but not read
    the notebook being graded (it holds the hidden tests).

    The worker runs nbgrader with umask 077, so everything nbgrader writes is private; this
    opens the folders on the way to the working folder (traverse only, 0711), the working
    folder itself (0755, so data files can be listed) and its non-notebook files (0644).
    """

    def preprocess(self, nb, resources):
        """Set the permissions; the notebook is not changed."""
        path = (resources or {}).get("metadata", {}).get("path")
        root = os.environ.get("AUTOGRADER_COURSE_ROOT")
        if not path or not root:
            return nb, resources
        path, root = os.path.realpath(path), os.path.realpath(root)
        if os.path.commonpath([path, root]) != root:
            return nb, resources
        here = os.path.dirname(path)
        while here != root and here.startswith(root + os.sep):
            os.chmod(here, 0o711)
            here = os.path.dirname(here)
        os.chmod(path, 0o755)
        for dirpath, dirnames, filenames in os.walk(path):
            for name in dirnames:
                os.chmod(os.path.join(dirpath, name), 0o755)
            for name in filenames:
                full = os.path.join(dirpath, name)
                if not os.path.islink(full):
                    os.chmod(full, 0o600 if name.endswith(".ipynb") else 0o644)
        return nb, resources


def _significant_digits(number: str) -> int:
    mantissa = re.split(r"[eE]", number)[0].replace("_", "").replace(".", "")
    return len(mantissa.strip("0"))


def _case_numbers(text: str, digits: int = 3) -> set[str]:
    """The numbers of a piece of code worth hiding, as written and as Python prints them:
    floats with ``digits`` or more significant digits, integers with one more (never 0, 1,
    1e-6 or 100)."""
    out = set()
    for match in _NUMBER.finditer(text):
        number = match.group()
        is_float = any(c in number for c in ".eE")
        if _significant_digits(number) < (digits if is_float else digits + 1):
            continue
        out.add(number)
        try:
            out.add(repr(float(number)) if is_float else str(int(number)))
        except ValueError:  # cannot happen for what _NUMBER matches; keep the text form
            pass
    return out


class Redactor:
    """Takes the text of hidden tests out of a notebook meant for a student.

    ``hidden``: the hidden blocks (code between the markers); ``visible``: code the student
    was given (the released locked and test cells outside their hidden blocks). Hidden are
    every stripped line of a block at least ``min_line`` characters long, and the numbers of
    a block that :func:`_case_numbers` keeps (the cases' inputs and expected values), less
    what is also visible. Printed text (outputs, tracebacks, messages) loses every occurrence
    of a hidden line (also HTML-escaped) and every hidden number of 5 or more significant
    digits (the expected values, computed when the master was built); the shorter numbers
    (inputs rounded to 4 digits) only in a text that also held hidden lines: on their own they
    are too likely to be a coincidence (the course's own sigmoid demo prints 0.9933), and a
    marker there would give the number away. A source loses the lines that are hidden lines,
    and the numbers by the same rule. Each is replaced by ``marker``.
    """

    def __init__(self, hidden: list[str], visible: list[str], marker: str = REDACTED,
                 min_line: int = 8) -> None:
        self.marker, self.min_line = marker, min_line
        seen = {line.strip() for text in visible for line in text.splitlines()}
        lines = {line.strip() for text in hidden for line in text.splitlines()}
        if hidden:  # the markers too: printed, they show where the hidden tests are
            lines |= {"### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"}
        self.line_set = {line for line in lines if len(line) >= min_line and line not in seen}
        forms = set(self.line_set)
        forms |= {html.escape(line, quote=False) for line in self.line_set}
        forms |= {html.escape(line, quote=True) for line in self.line_set}
        self.lines = sorted(forms, key=len, reverse=True)  # longest first: no partial overlap
        given = set().union(set(), *(_case_numbers(text) for text in visible))
        self.numbers = set().union(set(), *(_case_numbers(text) for text in hidden)) - given
        self.long_numbers = set().union(set(), *(_case_numbers(text, 5) for text in hidden)) \
            - given

    @classmethod
    def from_notebook(cls, nb, marker: str = REDACTED) -> Redactor:
        """The redactor of an autograded notebook: hidden blocks of its graded cells (restored
        from the master by nbgrader), visible code of its locked and graded cells."""
        hidden, visible = [], []
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.get("cell_type") != "code" or not (meta.get("grade") or meta.get("locked")):
                continue
            if meta.get("solution"):
                continue  # the student's own code: neither hidden nor given
            hidden.extend(_HIDDEN_BODY.findall(cell.source))
            visible.append(_HIDDEN.sub("", cell.source))
        return cls(hidden, visible, marker)

    def __bool__(self) -> bool:
        """False when there is nothing to hide (a notebook without hidden tests)."""
        return bool(self.lines or self.numbers)

    def _numbers(self, text: str, every: bool) -> str:
        """``text`` without the long hidden numbers, or (``every``) without any."""
        numbers = self.numbers if every else self.long_numbers
        if not numbers:
            return text
        return _NUMBER.sub(lambda m: self.marker if m.group() in numbers else m.group(), text)

    def text(self, text: str) -> str:
        """Printed text without hidden lines or numbers (colour codes are dropped from a text
        that had to be changed: they can split a line)."""
        if not isinstance(text, str) or not self:
            return text
        plain = _ANSI.sub("", text)
        out = plain
        for line in self.lines:
            if line in out:
                out = out.replace(line, self.marker)
        out = self._numbers(out, every=out != plain)
        return text if out == plain else self._collapse(out)

    def _collapse(self, text: str) -> str:
        """One marker for a run of redacted lines and the short lines between them (``i = 0``,
        ``else:``): the shape of the hidden code is not shown either."""
        lines = text.split("\n")
        marks = [i for i, line in enumerate(lines) if line.strip() == self.marker]
        drop = set()
        for a, b in zip(marks, marks[1:], strict=False):
            if all(len(lines[k].strip()) < self.min_line for k in range(a + 1, b)):
                drop.update(range(a + 1, b + 1))
        return "\n".join(line for i, line in enumerate(lines) if i not in drop)

    def source(self, text: str) -> str:
        """A cell's source without the lines that are hidden lines and without hidden numbers
        (indentation kept)."""
        if not isinstance(text, str) or not self:
            return text
        lines = text.split("\n")
        every = False
        for i, line in enumerate(lines):
            if line.strip() in self.line_set:
                lines[i] = line[:len(line) - len(line.lstrip())] + self.marker
                every = True
        return self._numbers("\n".join(lines), every)

    def _data(self, mimetype: str, value):
        if mimetype in _BINARY_MIMETYPES:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._data(mimetype, item) for item in value]
        if isinstance(value, dict):
            return {key: self._data(mimetype, item) for key, item in value.items()}
        return value

    def cell(self, cell) -> None:
        """Redact a cell in place: its source and every output."""
        if not self:
            return
        cell["source"] = self.source(cell.get("source", ""))
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                output["text"] = self.text(output.get("text", ""))
            elif kind == "error":
                output["ename"] = self.text(output.get("ename", ""))
                output["evalue"] = self.text(output.get("evalue", ""))
                output["traceback"] = [self.text(line) for line in output.get("traceback", [])]
            if "data" in output:
                output["data"] = {mimetype: self._data(mimetype, value)
                                  for mimetype, value in output["data"].items()}


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback for students: hidden tests and their tracebacks are not shown, and nothing of
    a hidden block is shown elsewhere (:class:`Redactor`), whatever the student's code printed.
    """

    enabled = Bool(True).tag(config=True)
    note = Unicode("# (hidden tests ran here; their code is not shown)\n").tag(config=True)
    marker = Unicode(REDACTED, help="What replaces hidden text.").tag(config=True)

    def preprocess(self, nb, resources):
        """Learn the hidden blocks of the notebook, then hide them in every cell."""
        self._redactor = Redactor.from_notebook(nb, self.marker) if self.enabled else None
        if self.enabled:
            nb.metadata.pop("widgets", None)  # widget state: never rendered, may hold anything
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        """Strip the hidden-test region of graded cells; keep only each error's message;
        redact what is left."""
        if not self.enabled:
            return cell, resources
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            if _HIDDEN.search(cell.source):
                cell.source = _HIDDEN.sub(self.note, cell.source)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: "
                                           f"{output.get('evalue', '')}"]
        redactor = getattr(self, "_redactor", None)
        if redactor is not None:
            redactor.cell(cell)
        return cell, resources


def merge_streams(outputs: list) -> list:
    """One stream output per stream name, at the place of its first part, stdout before an
    adjacent stderr; other outputs unchanged. How the kernel's writes were chunked in time
    (one print can arrive as one or several messages) then no longer changes the graded
    notebook or the feedback. Linear in the text (nbclient's ``coalesce_streams`` joins with
    ``+=`` and rescans for backspaces: quadratic on a cell that prints 30 MB in pieces)."""
    merged, parts = [], {}
    for output in outputs:
        if output.get("output_type") == "stream":
            name = output.get("name", "stdout")
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            if name in parts:
                parts[name].append(text)
                continue
            parts[name] = [text]
        merged.append(output)
    for output in merged:
        if output.get("output_type") == "stream":
            output["text"] = "".join(parts[output.get("name", "stdout")])
    for i in range(len(merged) - 1):  # stdout and stderr race each other: fix their order
        a, b = merged[i], merged[i + 1]
        if (a.get("output_type") == b.get("output_type") == "stream"
                and a.get("name") == "stderr" and b.get("name") == "stdout"):
            merged[i], merged[i + 1] = b, a
    return merged


# -- output limits ---------------------------------------------------------------------------

# What a cut leaves in the output, where the text stops.
CUT_MARKER = "... output cut: {count} characters not shown (limit {limit} {per})"
# Characters that the grade-deciding output of a cell (its error, first stderr stream or
# execute_result, see nbgrader.utils.determine_grade) keeps even when the cell's or notebook's
# budget is spent: the failure message stays readable and a partial-credit value stays a number.
GRADING_FLOOR = 2_000
OUTPUT_COST = 100  # characters charged per output (its JSON frame), so counts are bounded too


def _append_event(path: str, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def _joined(value):
    """A multi-line notebook string (a str or a list of str) as one str; anything else as is."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value


def _is_image(mimetype: str) -> bool:
    return mimetype.startswith("image/") or mimetype in _BINARY_MIMETYPES


def _deciding(output) -> bool:
    """True for the outputs nbgrader grades a test cell by (error, stderr, execute_result)."""
    kind = output.get("output_type")
    return kind in ("error", "execute_result") or (kind == "stream"
                                                   and output.get("name") == "stderr")


class _CellCut:
    """The cutting of one code cell's outputs (state of :class:`LimitOutput` per cell)."""

    def __init__(self, limits: LimitOutput) -> None:
        self.limits = limits
        self.cell_left = limits.max_cell_chars
        self.chars = 0  # characters cut
        self.images: list[tuple[str, int, str]] = []  # (mimetype, bytes, limit) removed
        self.data: list[str] = []  # JSON mime types removed
        self.dropped = 0  # whole outputs removed after the budget was spent

    def _allowed(self, floor: int = 0) -> tuple[int | None, str]:
        """(characters the next text may keep, which limit binds it); None: no limit."""
        lim = self.limits
        caps = [(cap, per) for cap, per in ((lim.max_output_chars, "per output"),
                                            (self.cell_left, "per cell"),
                                            (lim.chars_left, "per notebook")) if cap >= 0]
        if not caps:
            return None, ""
        allowed, per = min(caps, key=lambda c: c[0])
        if floor:
            top = lim.max_output_chars if lim.max_output_chars >= 0 else floor
            allowed = max(allowed, min(floor, top))
        return allowed, per

    def _limit_of(self, per: str) -> int:
        lim = self.limits
        return {"per output": lim.max_output_chars, "per cell": lim.max_cell_chars,
                "per notebook": lim.max_notebook_chars}[per]

    def charge(self, count: int) -> None:
        """Count ``count`` kept characters against the cell's and the notebook's budgets."""
        if self.cell_left >= 0:
            self.cell_left = max(0, self.cell_left - count)
        if self.limits.chars_left >= 0:
            self.limits.chars_left = max(0, self.limits.chars_left - count)

    def spent(self) -> bool:
        """True when the cell's or the notebook's budget is used up."""
        return self.cell_left == 0 or self.limits.chars_left == 0

    def text(self, value, floor: int = 0):
        """``value`` cut to the characters it may keep, with a marker where it stops."""
        value = _joined(value)
        if not isinstance(value, str):
            return value
        allowed, per = self._allowed(floor)
        if allowed is None or len(value) <= allowed:
            self.charge(len(value))
            return value
        kept, count = value[:allowed], len(value) - allowed
        self.chars += count
        self.charge(allowed)
        marker = CUT_MARKER.format(count=count, limit=self._limit_of(per), per=per)
        return kept + ("\n" if kept and not kept.endswith("\n") else "") + marker + "\n"

    def lines(self, lines, floor: int = 0):
        """A traceback (list of lines) cut like :meth:`text`, the marker as its last line."""
        if not isinstance(lines, list):
            return self.text(lines, floor)
        total = sum(len(line) for line in lines if isinstance(line, str))
        allowed, per = self._allowed(floor)
        if allowed is None or total <= allowed:
            self.charge(total)
            return lines
        out, room = [], allowed
        for line in lines:
            line = line if isinstance(line, str) else str(line)
            if room <= 0:
                break
            out.append(line[:room])
            room -= len(out[-1])
        self.chars += total - allowed
        self.charge(allowed)
        out.append(CUT_MARKER.format(count=total - allowed, limit=self._limit_of(per), per=per))
        return out

    def bundle(self, data: dict, deciding: bool) -> None:
        """Cut a mime bundle in place: text cut, images and JSON over their limits removed."""
        lim = self.limits
        for mimetype in list(data):
            value = _joined(data[mimetype])
            if _is_image(mimetype) and isinstance(value, str):
                size = (len(value) * 3 // 4 if mimetype in _BINARY_MIMETYPES
                        else len(value.encode("utf-8")))
                caps = [(c, per) for c, per in ((lim.max_image_bytes, "per image"),
                                                (lim.image_left, "per notebook")) if c >= 0]
                cap, per = min(caps, key=lambda c: c[0]) if caps else (None, "")
                if cap is not None and size > cap:
                    limit = lim.max_image_bytes if per == "per image" else \
                        lim.max_notebook_image_bytes
                    self.images.append((mimetype, size, f"{limit} bytes {per}"))
                    del data[mimetype]
                elif lim.image_left >= 0:
                    lim.image_left -= size
            elif isinstance(value, str):
                floor = GRADING_FLOOR if deciding and mimetype == "text/plain" else 0
                data[mimetype] = self.text(value, floor)
            else:  # JSON data (application/json, widget and plot specs): kept whole or not at all
                size = len(json.dumps(value))
                allowed, _per = self._allowed()
                if allowed is not None and size > allowed:
                    self.chars += size
                    self.data.append(mimetype)
                    del data[mimetype]
                else:
                    self.charge(size)

    def summary(self) -> str:
        """What was removed rather than cut (images, JSON data, whole outputs), or ""."""
        lim = self.limits
        parts = [f"{m} of {size} bytes (limit {limit})" for m, size, limit in self.images]
        if self.data:
            parts.append(f"{', '.join(self.data)} data over the character limits")
        if self.dropped:
            parts.append(f"{self.dropped} more output(s): the limit of "
                         f"{lim.max_cell_chars} characters per cell or "
                         f"{lim.max_notebook_chars} per notebook was reached")
        return "; ".join(parts)

    def detail(self) -> str:
        """The event's detail: everything cut from the cell, and the limits."""
        lim = self.limits
        parts = []
        if self.chars:
            parts.append(f"{self.chars} characters")
        if self.images:
            parts.append(f"{len(self.images)} image(s) of "
                         f"{sum(size for _m, size, _l in self.images)} bytes")
        if self.dropped:
            parts.append(f"{self.dropped} whole output(s)")
        return (f"output cut: {', '.join(parts)} not kept (limits: {lim.max_output_chars} "
                f"characters per output, {lim.max_cell_chars} per cell, "
                f"{lim.max_notebook_chars} per notebook; images {lim.max_image_bytes} bytes "
                f"each, {lim.max_notebook_image_bytes} per notebook)")

    def cut(self, cell) -> bool:
        """Cut the cell's outputs in place; True if anything was cut."""
        outputs = cell.get("outputs", [])
        decider = next((i for i, o in enumerate(outputs) if _deciding(o)), None)
        kept = []
        for i, output in enumerate(outputs):
            deciding = i == decider
            if self.spent() and not deciding:
                self.dropped += 1  # nothing after the budget but what decides the grade
                continue
            self.charge(OUTPUT_COST)
            floor = GRADING_FLOOR if deciding else 0
            kind = output.get("output_type")
            if kind == "stream":
                output["text"] = self.text(output.get("text", ""), floor)
            elif kind == "error":
                output["ename"] = self.text(output.get("ename", ""), floor)
                output["evalue"] = self.text(output.get("evalue", ""), floor)
                output["traceback"] = self.lines(output.get("traceback", []), floor)
            elif isinstance(output.get("data"), dict):
                self.bundle(output["data"], deciding)
                if not output["data"] and kind != "execute_result":
                    self.dropped += 1  # only what was cut was in it
                    continue
            kept.append(output)
        summary = self.summary()
        if summary:  # after every output: a stdout stream never changes the grade
            kept.append(NotebookNode(output_type="stream", name="stdout",
                                     text=f"... output cut: {summary}\n"))
        cell["outputs"] = kept
        return bool(self.chars or self.images or self.data or self.dropped)


class LimitOutput(NbgraderLimitOutput):
    """nbgrader's ``LimitOutput``, which also bounds characters and image bytes.

    nbgrader's class counts lines only (``max_lines`` stream lines per cell, ``max_traceback``
    lines per traceback): one ``print("x" * 150_000_000)`` made a 144 MB graded notebook and
    feedback page. Its line limits are kept; then text is cut to at most ``max_output_chars``
    characters per output (stream text, each text mime type of a result or display, an error's
    message and its traceback), ``max_cell_chars`` per cell and ``max_notebook_chars`` per
    notebook, with ``... output cut: N characters not shown (limit M per ...)`` where it stops.
    An image over ``max_image_bytes`` (or over what is left of ``max_notebook_image_bytes``)
    and JSON data over the character limits are removed, and a last stdout line says so. Once a
    cell's or the notebook's budget is spent, its further outputs are dropped.

    The grade never changes: an output nbgrader grades a test cell by (the first error, stderr
    stream or execute_result) is never removed and keeps at least :data:`GRADING_FLOOR`
    characters; unlike nbgrader's class, a stderr stream past the line limit is kept (emptied).

    Each cell that was cut is one ``output-cut`` line in ``events_file`` (the format of
    :class:`SandboxExecute`'s events), so it is in the problem log.

    The defaults: 100,000 characters are some 1,500 lines, far more than any exercise prints
    (a training log, a printed array) and still quick to show in a browser; 200,000 per cell
    leave room for an error after long output; 2,000,000 per notebook keep a graded notebook and
    its feedback page within a few MB (an honest 01_neuron graded notebook is 0.7 MB). A
    matplotlib figure is 20-200 KB as PNG: 2 MiB per image and 8 MiB per notebook let through
    dozens of them, not a 100 MB one.
    """

    max_output_chars = Integer(
        100_000, help="Characters per output (-1: no limit)").tag(config=True)
    max_cell_chars = Integer(
        200_000, help="Characters of output per cell (-1: no limit)").tag(config=True)
    max_notebook_chars = Integer(
        2_000_000, help="Characters of output per notebook (-1: no limit)").tag(config=True)
    max_image_bytes = Integer(
        2 * 2**20, help="Bytes per image, decoded (-1: no limit)").tag(config=True)
    max_notebook_image_bytes = Integer(
        8 * 2**20, help="Bytes of images per notebook (-1: no limit)").tag(config=True)
    events_file = Unicode("", help="Append one JSON line per cut cell to this file.").tag(
        config=True)

    def preprocess(self, nb, resources):
        """Cut every code cell's output; the budgets per notebook start afresh."""
        self._nb_name = (resources or {}).get("nbgrader", {}).get("notebook", "")
        self.chars_left = self.max_notebook_chars
        self.image_left = self.max_notebook_image_bytes
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        """Bound the cell's characters and images (one event if cut), then nbgrader's line
        limits."""
        if cell.get("cell_type") == "code" and cell.get("outputs"):
            if not hasattr(self, "chars_left"):  # called without preprocess()
                self.chars_left = self.max_notebook_chars
                self.image_left = self.max_notebook_image_bytes
            cut = _CellCut(self)
            if cut.cut(cell) and self.events_file:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
                _append_event(self.events_file, {
                    "notebook": getattr(self, "_nb_name", ""), "kind": "output-cut",
                    "index": index, "cell": grade_id or f"cell {index}",
                    "detail": cut.detail()})
        return super().preprocess_cell(cell, resources, index)

    def _limit_stream_output(self, cell):
        """nbgrader's line limit, except that the first stderr stream is never dropped: it
        decides the grade of a test cell (0), however much was printed before it."""
        if self.max_lines == -1 or cell.get("cell_type") != "code":
            return cell
        before = list(cell.outputs)
        cell = super()._limit_stream_output(cell)
        kept = {id(o) for o in cell.outputs}
        where = next((i for i, o in enumerate(before) if o.get("output_type") == "stream"
                      and o.get("name") == "stderr"), None)
        if where is not None and id(before[where]) not in kept:
            before[where]["text"] = "... Output truncated ...\n"
            at = sum(1 for o in before[:where] if id(o) in kept)
            cell.outputs.insert(at, before[where])
        return cell


# -- the feedback page ------------------------------------------------------------------------

_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_POINTS = re.compile(r"\s*\(\s*\d+(?:\.\d+)?\s+points?\s*\)\s*$", re.IGNORECASE)


def _title_html(heading: str) -> str:
    text = _POINTS.sub("", heading).replace("**", "")
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=True))


def exercise_titles(nb) -> dict[str, str]:
    """grade_id -> HTML title of every graded and solution cell: the markdown heading before
    it that names an exercise ("### Exercise 3: a stable `sigmoid` (2 points)" gives
    ``Exercise 3: a stable <code>sigmoid</code>``), else the last heading since the previous
    graded or solution cell, else the title of that cell (a test cell right after its
    solution), else the grade_id. Headings are escaped (students can edit markdown)."""
    titles: dict[str, str] = {}
    headings: list[str] = []
    current = ""
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            source = re.sub(r"^```.*?^```", "", cell.get("source", ""),
                            flags=re.MULTILINE | re.DOTALL)
            headings.extend(_HEADING.findall(source))
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if not grade_id or not (meta.get("grade") or meta.get("solution")):
            continue
        if headings:
            current = next((h for h in reversed(headings)
                            if h.lstrip("*_ ").lower().startswith("exercise")), headings[-1])
            headings = []
        titles[grade_id] = _title_html(current) if current else html.escape(grade_id)
    return titles


# MathML that latex2mathml writes; any other element or attribute (an ``href``, an event
# handler smuggled through ``\text{<...>}``) makes the formula fall back to its TeX source.
_MATHML_ELEMENTS = {"math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup",
                    "msubsup", "munder", "mover", "munderover", "mfrac", "msqrt", "mroot",
                    "mstyle", "mtable", "mtr", "mtd", "mpadded", "mphantom", "menclose",
                    "merror", "mmultiscripts", "mprescripts", "none", "mfenced", "semantics",
                    "annotation"}
_MATHML_ATTRIBUTES = {"display", "mathvariant", "stretchy", "fence", "form", "separator",
                      "accent", "accentunder", "columnalign", "columnspacing", "columnlines",
                      "rowspacing", "rowalign", "rowlines", "frame", "framespacing", "width",
                      "height", "depth", "lspace", "rspace", "linethickness", "scriptlevel",
                      "displaystyle", "symmetric", "largeop", "movablelimits", "minsize",
                      "maxsize", "mathsize", "mathcolor", "mathbackground", "notation",
                      "linebreak", "open", "close", "separators", "align", "bevelled",
                      "numalign", "denomalign", "columnwidth", "equalrows", "equalcolumns",
                      "side", "encoding"}
_MATHML_VALUE = re.compile(r"^[\w#.%+\- ]*$")


def _safe_mathml(markup: str) -> bool:
    try:
        root = ElementTree.fromstring(markup)
    except ElementTree.ParseError:
        return False
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag not in _MATHML_ELEMENTS:
            return False
        for name, value in element.attrib.items():
            if name not in _MATHML_ATTRIBUTES or not _MATHML_VALUE.match(value):
                return False
    return True


def tex_to_mathml(tex: str, display: bool) -> str:
    """MathML of a TeX formula (rendered by the browser itself: no script, no network), or
    its escaped TeX source in ``<code class="tex">`` if it cannot be converted safely."""
    fallback = f'<code class="tex">{html.escape(tex)}</code>'
    # No angle brackets or quotes reach the converter: it copies text (\text{...}) as is.
    source = tex.strip().replace("<", r"\lt ").replace(">", r"\gt ").replace('"', "''")
    try:
        from latex2mathml.converter import convert

        markup = convert(source, display="block" if display else "inline")
    except Exception:  # a formula the converter does not know: show its source
        return fallback
    markup = markup.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "")
    markup = re.sub(r"&(?!#x?[0-9A-Fa-f]+;|[A-Za-z]+;)", "&amp;", markup)
    return markup if _safe_mathml(markup) else fallback


class _OfflineMathRenderer(IPythonRenderer):
    """nbconvert's markdown renderer with math as MathML (not left for MathJax)."""

    def block_math(self, body: str) -> str:
        """Display math, ``$$...$$`` or ``\\[...\\]``."""
        return tex_to_mathml(body, display=True)

    def latex_environment(self, name: str, body: str) -> str:
        """``\\begin{name}...\\end{name}``."""
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)

    def inline_math(self, body: str) -> str:
        """Inline math, ``$...$`` or ``\\(...\\)``."""
        return tex_to_mathml(body, display=False)


FEEDBACK_TEMPLATE = "autograder-feedback.html.j2"
_TEMPLATES = {
    # nbgrader's feedback page, each graded cell named after its exercise (titles are HTML,
    # escaped when they were made). resources.exercise_titles: grade_id -> title.
    FEEDBACK_TEMPLATE: """\
{%- extends 'index.html.j2' -%}
{%- block body -%}
{%- set page = namespace(html=super()) -%}
{%- for grade_id, title in (resources.exercise_titles or {}).items() -%}
{%- set page.html = page.html
    | replace('href="#' ~ grade_id ~ '">Test cell</a>',
              'href="#' ~ grade_id ~ '">' ~ title ~ '</a>')
    | replace('href="#' ~ grade_id ~ '">Coding free-response</a>',
              'href="#' ~ grade_id ~ '">' ~ title ~ '</a>')
    | replace('href="#comment-' ~ grade_id ~ '">Comment</a>',
              'href="#comment-' ~ grade_id ~ '">Comment: ' ~ title ~ '</a>')
    | replace('Grade cell: <code>' ~ grade_id ~ '</code>',
              'Tests of ' ~ title ~ ' <code>' ~ grade_id ~ '</code>') -%}
{%- endfor -%}
{{ page.html }}
{%- endblock body -%}
{% block data_latex scoped %}
<div class="output_latex output_subarea {{ extra_class }}">
{{ output.data['text/latex'] | markdown2html }}
</div>
{%- endblock data_latex %}
""",
    # Replaces nbconvert's macro that loads MathJax from a CDN: the math is already MathML.
    "mathjax.html.j2": """\
{%- macro mathjax(url="") -%}
<style type="text/css">
math[display="block"] { margin: 0.6em 0; }
code.tex { white-space: pre-wrap; }
</style>
{%- endmacro %}
""",
}


class FeedbackExporter(HTMLExporter):
    """The exporter of nbgrader's feedback HTML (``GenerateFeedback.exporter_class``).

    nbgrader's ``feedback`` template, plus: math in markdown (and ``text/latex`` outputs) is
    MathML made here, and the MathJax script from a CDN is gone, so the page renders without
    network; raw HTML in markdown is escaped and the student's HTML outputs are sanitized
    (``sanitize_html``: no script, JavaScript outputs and widgets dropped), so no script of
    the student's reaches the page either; the table of contents and the headings of the
    graded cells name each exercise (:func:`exercise_titles`) instead of "Test cell".
    """

    def __init__(self, *args, **kwargs) -> None:
        """An HTMLExporter (same arguments) set up as described above."""
        super().__init__(*args, **kwargs)
        # What GenerateFeedback configures, so that the exporter also works on its own.
        import nbgrader

        formgrader = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions",
                                  "formgrader")
        templates = os.path.join(formgrader, "templates")
        css = os.path.join(formgrader, "static", "node_modules", "bootstrap", "dist", "css")
        self.template_name = "feedback"
        if templates not in self.extra_template_basedirs:
            self.extra_template_basedirs = [*self.extra_template_basedirs, templates]
        if css not in self.extra_template_paths:
            self.extra_template_paths = [*self.extra_template_paths, css]
        self.template_paths = self._template_paths()  # a lazy default: maybe computed already
        self.sanitize_html = True
        self.extra_loaders = [DictLoader(_TEMPLATES), *self.extra_loaders]
        self.template_file = FEEDBACK_TEMPLATE

    @pass_context
    def markdown2html(self, context, source):
        """Markdown to HTML with math as MathML and raw HTML escaped."""
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        renderer = _OfflineMathRenderer(
            escape=True, attachments=cell.get("attachments", {}), embed_images=self.embed_images,
            path=path, anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links, **self.lexer_options)
        return MarkdownWithMath(renderer=renderer).render(source)

    def from_notebook_node(self, nb, resources=None, **kw):
        """Convert, with the exercise titles in ``resources``."""
        resources = dict(resources or {})
        resources["exercise_titles"] = exercise_titles(nb)
        return super().from_notebook_node(nb, resources, **kw)


def events(path: str) -> list[dict]:
    """Read an events file written by :class:`SandboxExecute` (missing file: no events)."""
    if not path or not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
