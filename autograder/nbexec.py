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
