"""nbgrader's Validate button, with a summary first: one line per failing exercise.

nbgrader's report lists each failing test cell with its whole source, then the traceback; with
a dozen exercises, the message that names the mistake sits far down. This server extension
(enabled by the bundle's jupyter-config) gives the Validate handler a validator that puts one
entry before the others: one line per failing exercise, with the last line of its error, e.g.

    3 exercises fail (the first message of each; details below):
    Exercise 1 (ex1-neuron-forward): AssertionError: ... gave 4.5 = w . x, without the bias: add b
    Exercise 2 (ex2-layer-forward): not done yet (NotImplementedError)

nbgrader 0.9's handler builds its ``Validator`` from the module attribute each time, so the
extension replaces that attribute when the server loads it; nothing else changes.
"""

from __future__ import annotations

import re

from nbgrader.validator import Validator

__all__ = ["SummaryValidator", "summary_line"]

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WIDTH = 220   # characters of each summary line, at most


def summary_line(grade_id: str, error: str) -> str:
    """One line for a failing test cell: its exercise and the last line of its error."""
    exercise = grade_id[: -len("-tests")] if grade_id.endswith("-tests") else grade_id
    number = re.match(r"ex(\d+[a-z]?)\b", exercise)
    name = f"Exercise {number.group(1)} ({exercise})" if number else exercise
    lines = [line.strip() for line in ANSI.sub("", error).splitlines() if line.strip()]
    last = lines[-1] if lines else "failed"
    if last.startswith("NotImplementedError"):
        last = "not done yet (NotImplementedError)"
    if len(last) > WIDTH:
        last = last[: WIDTH - 3] + "..."
    return f"{name}: {last}"


class SummaryValidator(Validator):
    """A ``Validator`` whose failed results start with a summary entry (see the module)."""

    def _get_failed_cells(self, nb):
        failed = super()._get_failed_cells(nb)
        self._summary_cells = failed   # validate() reads them after nbgrader's own logic
        return failed

    def validate(self, filename: str):
        """nbgrader's results, with the summary entry first when cells fail."""
        self._summary_cells = []
        results = super().validate(filename)
        failed = results.get("failed")
        if failed and self._summary_cells:
            lines = [summary_line(cell.metadata.get("nbgrader", {}).get("grade_id", "a cell"),
                                  self._extract_error(cell))
                     for cell in self._summary_cells]
            head = (f"{len(lines)} exercise{'s' if len(lines) > 1 else ''} fail (the first "
                    f"message of each; details below):")
            failed.insert(0, {"source": "\n".join([head, *lines]), "error": "",
                              "raw_error": ""})
        return results


def _jupyter_server_extension_points():
    return [{"module": "scratchnn_lab.validate"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from nbgrader.server_extensions.validate_assignment import handlers

    handlers.Validator = SummaryValidator
    serverapp.log.info("scratchnn_lab: Validate starts with one line per failing exercise")
