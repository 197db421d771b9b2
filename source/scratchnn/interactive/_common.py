"""Helpers shared by the widgets of :mod:`scratchnn.interactive`.

The widgets draw with matplotlib's Agg canvas and show the PNG in an ``ipywidgets.Output``;
both libraries are imported by the functions that need them, never at import time.

:func:`reference_functions` is the only place where a widget reaches for
:mod:`scratchnn.functional`, and only for a default the caller did not give. The course bundle
that students receive ships the widgets without ``scratchnn.functional`` (it is the model
answer of the exercises): there, a missing function is a clear ``TypeError`` that says what to
pass, and the widgets run on the student's own functions.
"""

from __future__ import annotations

import base64
import io
from typing import Callable, Iterable


class MissingReferenceError(TypeError):
    """A widget needs a function the caller did not pass, and no reference implementation is
    available to default to (the course bundle has none)."""


def reference_functions(names: Iterable[str], who: str, hint: str) -> dict[str, Callable]:
    """The functions ``names`` of :mod:`scratchnn.functional`, to serve as defaults.

    ``who`` names the widget and ``hint`` says what to pass instead, both used in the error
    raised (:class:`MissingReferenceError`) when this copy of ``scratchnn`` has no
    ``functional`` module, as in the students' course bundle.
    """
    names = list(names)
    try:
        from .. import functional
    except ImportError:
        raise MissingReferenceError(
            f"{who}: {hint} (this copy of scratchnn is the course bundle, which has no "
            f"reference implementation of {', '.join(names)} to fall back on)"
        ) from None
    return {name: getattr(functional, name) for name in names}


def render_png(fig, dpi: int = 80) -> bytes:
    """The figure as PNG bytes (drawn with the Agg canvas the figure was created with)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def show_png(out, png: bytes, text: str) -> None:
    """Replace what the ``Output`` widget shows with one image, in one step (no flicker).

    Setting ``outputs`` works in a kernel and outside one (tests), unlike ``with out:``.
    """
    out.outputs = ({
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text},
        "metadata": {},
    },)


def show_text(out, text: str) -> None:
    """Replace what the ``Output`` widget shows with a text message."""
    out.outputs = ({"output_type": "stream", "name": "stdout", "text": text + "\n"},)


def describe(exc: BaseException) -> str:
    """``TypeName: message`` of an exception, for the messages shown in a widget."""
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")
