"""Corpora of typical student mistakes, one per notebook, declared in its authoring source.

Each exercise of a notebook lists the wrong solutions students typically write (a wrong
reduction, a wrong axis, an unstable formula, a mutated input, a wrong return type, a sign or
transpose error, code fitted to the visible examples, ...), each with the words that the
*first* failing message of the exercise's test cell must contain. In the source, next to the
test (an authoring cell)::

    MISTAKES.add(
        "ex6-softmax", "one max for the whole batch instead of one per row",
        words=("each row", "max"),
        message="rows shifted by one max for the whole array: use max(axis=-1, keepdims=True)",
        code='''
    def softmax(z):
        e = np.exp(z - np.max(z))
        return e / e.sum(axis=-1, keepdims=True)
    ''')

Two uses:

* ``tests/test_mistakes.py`` runs every mistake through the real test cell of the master (one
  kernel per notebook: define the mistake, run the test cell, restore the solution) and fails
  when a mistake is not caught, or caught with a first message that lacks its words;
* hidden tests name the mistake from its result: :meth:`Corpus.outputs` computes, when the
  master is rendered, what each mistake returns on a hidden case; ``_hidden_array`` /
  ``_hidden_float`` (coursekit.preamble) fail with the mistake's ``message`` when a student's
  result matches one, before the generic "expected ..., got ..." comparison.
"""

from __future__ import annotations

import copy
import textwrap
import warnings
from dataclasses import dataclass, field

import numpy as np

from .hidden import literal


@dataclass(frozen=True)
class Mistake:
    """One typical wrong solution of an exercise.

    exercise: grade_id of the exercise's solution cell; name: what the student did wrong, in a
    few words; code: the wrong solution (it defines the exercise's function or functions);
    words: the first failing message of the exercise's test cell must contain each of them
    (case-insensitive); message: what a hidden test says when a result matches this mistake's
    output (empty: hidden tests do not match on it).
    """

    exercise: str
    name: str
    code: str
    words: tuple[str, ...]
    message: str = ""

    def defines(self) -> set[str]:
        """Names of the functions the wrong solution defines."""
        import ast

        return {n.name for n in ast.parse(self.code).body if isinstance(n, ast.FunctionDef)}


@dataclass
class Corpus:
    """The mistakes of one notebook. ``namespace`` is where the solutions live (the notebook's
    globals), so that a mistake in one function calls the correct versions of the others."""

    namespace: dict = field(repr=False)
    mistakes: list[Mistake] = field(default_factory=list)

    def add(self, exercise: str, name: str, code: str, words, message: str = "") -> Mistake:
        """Declare a mistake (see :class:`Mistake`); returns it. Raises ValueError when the code
        defines no function, or the words are empty."""
        words = (words,) if isinstance(words, str) else tuple(words)
        mistake = Mistake(exercise, name, textwrap.dedent(code).strip("\n") + "\n", words,
                          message)
        if not mistake.defines():
            raise ValueError(f"mistake {name!r} of {exercise}: its code defines no function")
        if not words or not all(isinstance(w, str) and w for w in words):
            raise ValueError(f"mistake {name!r} of {exercise}: give the words its message "
                             f"must contain")
        # Running a source's cells again in JupyterLab declares them again: replace, in place.
        for i, old in enumerate(self.mistakes):
            if (old.exercise, old.name) == (exercise, name):
                self.mistakes[i] = mistake
                return mistake
        self.mistakes.append(mistake)
        return mistake

    def of(self, exercise: str) -> list[Mistake]:
        """The mistakes declared for one exercise, in order."""
        return [m for m in self.mistakes if m.exercise == exercise]

    def function(self, mistake: Mistake, name: str):
        """The wrong version of function ``name``, in a copy of the notebook's namespace."""
        namespace = dict(self.namespace)
        exec(mistake.code, namespace)  # noqa: S102 (the corpus is the instructor's own code)
        return namespace[name]

    def outputs(self, exercise: str, name: str, *args, want=None, pick=None,
                rtol: float = 1e-6, atol: float = 1e-9) -> list[tuple[str, object]]:
        """``(message, output)`` of every mistake of ``exercise`` that has a message and
        defines ``name``, called on copies of ``args``: for the hidden tests to recognise.
        ``pick`` selects the part of the result to compare (e.g. one element of a tuple).
        Left out: mistakes that raise, return something that is not finite numbers, or return
        what ``want`` is (within rtol/atol: no message to give when the result is right)."""
        found = []
        for mistake in self.of(exercise):
            if not mistake.message or name not in mistake.defines():
                continue
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    result = self.function(mistake, name)(*copy.deepcopy(args))
                    if pick is not None:
                        result = pick(result)
                    value = literal(result)
            except Exception:  # noqa: BLE001 (a mistake that raises is caught otherwise)
                continue
            if want is not None and _close(value, literal(want), rtol, atol):
                continue
            found.append((mistake.message, value))
        return found


def _close(a, b, rtol: float, atol: float) -> bool:
    """Same nested structure and every number close (what the hidden helpers would accept)."""
    try:
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return x.shape == y.shape and bool(np.all(np.abs(x - y) <= atol + rtol * np.abs(y)))
