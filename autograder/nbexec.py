"""nbgrader preprocessors used inside the grading subprocesses (configured by name).

* :class:`SandboxExecute` replaces nbgrader's ``Execute`` in ``Autograde``: a cell that kills
  the kernel (``os._exit``, a crash, the CPU or memory limit) or that hangs past the timeout
  and ignores the interrupt no longer fails the whole submission. The cell gets an error
  output (so its test scores 0), the kernel is restarted, the cells before it are replayed
  (outputs discarded, the killer cells skipped) and grading goes on. Every such event is
  appended to a JSON-lines file for the problem log.
* :class:`HideHiddenTests` is added to ``GenerateFeedback``: the student's feedback shows the
  visible tests and the failure messages, not the hidden tests' code.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                     re.MULTILINE | re.DOTALL)


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


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback for students: hidden tests and their tracebacks are not shown."""

    enabled = Bool(True).tag(config=True)
    note = Unicode("# (hidden tests ran here; their code is not shown)\n").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        """Strip the hidden-test region of graded cells; keep only each error's message."""
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not (self.enabled and meta.get("grade") and cell.cell_type == "code"):
            return cell, resources
        if _HIDDEN.search(cell.source):
            cell.source = _HIDDEN.sub(self.note, cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: "
                                       f"{output.get('evalue', '')}"]
        return cell, resources


def events(path: str) -> list[dict]:
    """Read an events file written by :class:`SandboxExecute` (missing file: no events)."""
    if not path or not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
