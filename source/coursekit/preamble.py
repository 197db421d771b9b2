"""The helpers every hidden-test block of the course starts with: a real module, linted and
tested like any other, inlined statement by statement into the masters.

When a master is rendered (:mod:`coursekit.render`), each hidden block gets the statements of
this module that it uses, directly or through another helper, in this module's order, as
locals of the function that :data:`coursekit.hidden.HIDDEN_RUNNER` calls at once; the notebook
lint checks every master's hidden blocks against this file. In an authoring source opened in
JupyterLab, the same helpers are imported from here, so the hidden tests run there too.

Why the helpers look the way they do. Student code runs in the grading kernel, before and
during the hidden tests, and can replace any attribute of any module (``builtins.abs``,
``type``, ``float``, ``isinstance``, ``__import__``, ``math``, ``numpy.allclose``,
``numpy.testing``, ``importlib.reload``, ``scratchnn.functional``, ``sys.modules``) and rebind
any global name. So nothing of that decides a pass:

* inputs and expected values are literals, computed from :mod:`scratchnn.functional` when the
  master is rendered;
* types come from literals: ``(0).__class__.__class__`` is the real ``type`` (which, unlike
  ``isinstance``, no ``__class__`` property can fool), ``(0.0).__class__`` the real float;
* ``numpy.ndarray`` is picked from ``object``'s direct subclasses as a static (non-heap) type
  defined in C. A class written in Python is always a heap type, so a fake numpy (patched
  ``__import__`` or ``sys.modules``) cannot hand over a class of its own, and the C methods and
  attributes of ndarray (``.shape``, ``.astype``, ``.ravel``, ``.tolist``, ``.flat``,
  ``.dtype.kind``) cannot be patched. ``ValueError`` is picked the same way. (Should numpy ever
  make ndarray a heap type, every hidden test fails with "numpy.ndarray is not loaded": loudly,
  never by passing);
* arrays are made with ``ndarray(shape, dtype)`` and ``.flat``, with dtype codes that numpy
  parses in C (``"f8"``, ``"f4"``, ``"i8"``): a name such as ``"float64"`` is looked up in
  ``numpy.sctypeDict``, a dict that student code can change;
* values are compared as Python floats (checked with the real type), with ``-``, ``>=`` and
  ``<=`` only: finite means ``g - g == 0.0``, and ``|g - w|`` is ``g - w if g >= w else w - g``;
* the only imports are numpy and warnings, for :func:`_hidden_quiet`: faked, they can at most
  keep a warning from becoming an error (students may silence warnings in their own code
  anyway), never pass a wrong value, since values are checked afterwards, outside it.

Out of reach of any test in the student's process: reading the caller's frame (a traceback's
``tb_frame``, ``sys._getframe``, ``gc``), ``ctypes``, IPython's input transformers. The
autograder's integrity scan flags them, and its sandbox hides the masters.

Rules for this file (the render step and the lint rely on them): every top-level statement
defines names that start with ``_``; a comment block right above a statement travels with it;
no statement reads a global or builtin name other than these helpers (checked when a block is
rendered).
"""

# Decide nothing with a module or a global name: student code may have patched any of them.
import warnings as _warnings

import numpy as _numpy  # for _hidden_quiet only

_type = (0).__class__.__class__  # the real `type`, from a literal; likewise:
_float = (0.0).__class__
_int = (0).__class__
_list = [].__class__
_tuple = ().__class__


def _hidden_c_class(base, module, name):
    """The class module.name defined in C right under base: Python-made classes are heap types
    (flag 512), so no student class can pass for it."""
    for c in _type.__subclasses__(base):
        if _type(c) is _type and not c.__flags__ & 512 and c.__module__ == module and (
                c.__name__ == name):
            return c
    assert False, f"{module}.{name} is not loaded"  # noqa: B011 (no global AssertionError)


_ndarray = _hidden_c_class(_type.__base__, "numpy", "ndarray")
_Exception = _hidden_c_class(_hidden_c_class(_type.__base__, "builtins", "BaseException"),
                             "builtins", "Exception")
_ValueError = _hidden_c_class(_Exception, "builtins", "ValueError")


def _hidden_flatten(values):
    """(shape, flat list) of a number or a nested list literal."""
    if _type(values) is not _list:
        return (), [values]
    shape, flat = (), []
    for item in values:
        shape, part = _hidden_flatten(item)
        flat += part
    return (values.__len__(),) + shape, flat


def _hidden_make(values, dtype="f8"):
    """A new array of a list literal. dtype "f8", "f4" or "i8" (C-parsed; not "float64")."""
    shape, flat = _hidden_flatten(values)
    made = _ndarray(shape, dtype)
    made.flat = flat
    return made


_float64 = _type(_hidden_make([0.0])[0])
_float32 = _type(_hidden_make([0.0], "f4")[0])


def _hidden_values(got, shape, what):
    """The values of got, which must be a genuine ndarray of this shape, as Python floats."""
    assert _type(got) is _ndarray, (
        f"hidden case {what}: should be a numpy array, got {_type(got).__name__}")
    assert got.shape == shape, (
        f"hidden case {what}: wrong shape: expected {shape}, got {got.shape}")
    return got.astype(_float).ravel().tolist()


def _hidden_near(got, want, rtol, atol):
    """True if got (a list of values) is as long as want (floats), finite, and close to it."""
    if got.__len__() != want.__len__():
        return False
    i = 0
    for w in want:
        g = got[i]
        if _type(g) is not _float or g - g != 0.0:  # not a float, or inf or nan
            return False
        if (g - w if g >= w else w - g) > atol + rtol * (w if w >= 0.0 else -w):
            return False
        i += 1
    return True


def _hidden_close(got, want, what, rtol=1e-6, atol=1e-9):
    """got, want: lists of floats; got must be finite and close to want."""
    i, n = 0, want.__len__()
    assert got.__len__() == n, f"hidden case {what}: expected {n} values, got {got.__len__()}"
    for w in want:
        g, at = got[i], ("" if n == 1 else f" at flat index {i}")
        assert _type(g) is _float and g - g == 0.0, (  # a float, not inf or nan
            f"hidden case {what}: got {g!r}{at}, expected the finite value {w!r}")
        d = g - w if g >= w else w - g
        assert d <= atol + rtol * (w if w >= 0.0 else -w), (
            f"hidden case {what}: expected {w!r}{at}, got {g!r}")
        i += 1


def _hidden_named(got, shape, mistakes, what, rtol, atol):
    """Fail with the message of the first typical mistake whose output on this case (computed
    when the master was rendered) has this shape and these values (got: a list of floats)."""
    for message, output in mistakes:
        mistake_shape, mistake_values = _hidden_flatten(output)
        if shape == mistake_shape and _hidden_near(got, mistake_values, rtol, atol):
            assert False, f"hidden case {what}: {message}"  # noqa: B011


def _hidden_array(got, want, what, rtol=1e-6, atol=1e-9, mistakes=()):
    """got must be a genuine ndarray close to want, a nested list literal. mistakes: pairs
    (message, output of a typical wrong solution on this case); a result that matches one
    fails with its message before the generic comparison."""
    if _type(want) is _ndarray:  # (the helpers' own tests pass arrays)
        want = want.tolist()
    shape, flat = _hidden_flatten(want)
    assert _type(got) is _ndarray, (
        f"hidden case {what}: should be a numpy array, got {_type(got).__name__}")
    values = got.astype(_float).ravel().tolist()
    if got.shape == shape and _hidden_near(values, flat, rtol, atol):
        return
    _hidden_named(values, got.shape, mistakes, what, rtol, atol)
    _hidden_close(_hidden_values(got, shape, what), flat, what, rtol, atol)


def _hidden_float(got, want, what, rtol=1e-6, atol=1e-9, mistakes=()):
    """got must be one float (Python or numpy float, or a 0-d array) close to want; mistakes
    as for _hidden_array."""
    kind = _type(got)
    if kind is _ndarray:
        assert got.shape == (), (
            f"hidden case {what}: should be a single number, got shape {got.shape}")
    else:
        assert kind is _float or kind is _float64 or kind is _float32, (
            f"hidden case {what}: should be a single float, got {kind.__name__}")
    value = [_float(got)]
    if not _hidden_near(value, [_float(want)], rtol, atol):
        _hidden_named(value, (), mistakes, what, rtol, atol)
    _hidden_close(value, [_float(want)], what, rtol, atol)


def _hidden_quiet(fn, *args, **kwargs):
    """fn(*args, **kwargs) with overflow, invalid and divide-by-zero as errors, warnings too.
    (Faked numpy or warnings could only let a warning through, never a wrong value.)"""
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        with _numpy.errstate(over="raise", invalid="raise", divide="raise"):
            return fn(*args, **kwargs)


def _hidden_call(fn, args, what, hint=""):
    """fn(*args) under _hidden_quiet. If it raises, fail the hidden case with its name, the
    error and a likely cause (numerical errors are only warnings in a student's own kernel:
    say so), never with a bare traceback."""
    try:
        return _hidden_quiet(fn, *args)
    except _Exception as error:
        kind = _type(error).__name__
        cause = hint
        if kind == "FloatingPointError" or kind == "RuntimeWarning":
            cause = (hint or "an exp overflowed, or a log or a division met 0") + (
                "; the grader turns NumPy's overflow, divide-by-zero and invalid-value "
                "warnings into errors (in your kernel they are RuntimeWarnings: watch for "
                "them)")
        failure = f"hidden case {what}: your function raised {kind}: {error}" + (
            f". Likely cause: {cause}" if cause else "")
    # Outside the except block, so the report shows this message, not a chained traceback.
    assert False, failure  # noqa: B011
