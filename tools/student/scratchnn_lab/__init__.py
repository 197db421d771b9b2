"""``scratchnn-lab``: start the students' JupyterLab on the first notebook of the course.

Run it from the course folder (the one with ``assignments/`` and ``jupyter-config/``), in the
environment made from that folder::

    scratchnn-lab                 # or: python -m scratchnn_lab
    scratchnn-lab --port 8890     # any other option goes to `jupyter lab`

It adds the folder's ``jupyter-config/`` to ``JUPYTER_CONFIG_PATH`` for this server only:
nbgrader's Validate button and Assignments list stay, its instructor tools (Formgrader, Create
Assignment, course list) are off, and so is JupyterLab's news pop-up. It also brings each
notebook's ``language_info`` in line with this environment's Python kernel (nothing else in the
file changes), so that opening a notebook does not mark it as modified. Then it runs JupyterLab
in this process, serving the course folder and opening ``assignments/<first>/<notebook>``.

Nothing here imports JupyterLab at import time: :func:`language_info` is cheap to call from
other tools.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["main", "language_info", "fill_language_info", "find_course", "first_notebook"]

ASSIGNMENTS = "assignments"
CONFIG = "jupyter-config"


def language_info(include_version: bool = True) -> dict:
    """The ``language_info`` that this Python's ``python3`` kernel (ipykernel) reports.

    JupyterLab writes the kernel's ``language_info`` into a notebook's metadata when the kernel
    starts, and that change marks the notebook as modified unless the metadata already holds an
    identical dict. Every key is fixed for CPython 3 except ``version``, the kernel's Python
    version (``include_version=False`` leaves it out: the part that is the same everywhere).
    """
    info = {
        "codemirror_mode": {"name": "ipython", "version": sys.version_info[0]},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": sys.version.split()[0],
    }
    if not include_version:
        del info["version"]
    return info


def _kernel_language_info() -> dict:
    """The kernel's own dict when ipykernel is importable (it is what JupyterLab compares
    with), else :func:`language_info`."""
    try:
        from ipykernel.ipkernel import IPythonKernel
    except ImportError:
        return language_info()
    return json.loads(json.dumps(IPythonKernel.language_info))


def _notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def fill_language_info(folder: Path, info: dict | None = None) -> list[Path]:
    """Set ``metadata.language_info`` of every notebook under ``folder`` to ``info`` (default:
    this environment's kernel's) where it differs; return the notebooks that changed.

    Only that key changes; the file is rewritten the way JupyterLab saves notebooks (JSON,
    indent 1, sorted keys), atomically. A file that is not a readable notebook is left alone.
    """
    info = _kernel_language_info() if info is None else info
    changed = []
    for path in _notebooks(Path(folder)):
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            metadata = nb["metadata"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not isinstance(metadata, dict) or metadata.get("language_info") == info:
            continue
        metadata["language_info"] = info
        text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        changed.append(path)
    return changed


def find_course(start: Path | None = None) -> Path:
    """The course folder: ``start`` (default: the current folder) or one of its parents, or
    the folder this package was installed from (``pip install -e``), whichever holds both
    ``assignments/`` and ``jupyter-config/``."""
    start = Path.cwd() if start is None else Path(start)
    here = Path(__file__).resolve()
    for folder in (start.resolve(), *start.resolve().parents, *here.parents):
        if (folder / ASSIGNMENTS).is_dir() and (folder / CONFIG).is_dir():
            return folder
    raise SystemExit(
        f"scratchnn-lab: no course folder (with {ASSIGNMENTS}/ and {CONFIG}/) at or above "
        f"{start}; run it from the folder you unpacked, or pass --course PATH"
    )


def first_notebook(course: Path) -> Path:
    """The first notebook of the first assignment folder (``01_...``), relative to the course."""
    for folder in sorted(p for p in (course / ASSIGNMENTS).iterdir() if p.is_dir()):
        notebooks = _notebooks(folder)
        if notebooks:
            return notebooks[0].relative_to(course)
    raise SystemExit(f"scratchnn-lab: no notebook in {course / ASSIGNMENTS}")


def _check_kernel(log) -> None:
    """Warn when the ``python3`` kernel JupyterLab will use is not this environment's Python
    (a kernel registered by hand elsewhere would run without the course's packages)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        argv = KernelSpecManager().get_kernel_spec("python3").argv
    except Exception:  # no spec at all: JupyterLab falls back to this Python
        return
    if argv and argv[0] not in ("python", "python3", sys.executable):
        log(f"scratchnn-lab: warning: the 'python3' kernel runs {argv[0]}, not {sys.executable};"
            f" the notebooks may not find the course's packages (remove that kernel with "
            f"`jupyter kernelspec remove python3`)")


def main(argv: list[str] | None = None) -> int:
    """Start JupyterLab on the course's first notebook (see the module's docstring)."""
    parser = argparse.ArgumentParser(
        prog="scratchnn-lab",
        description="Start JupyterLab on the course's first notebook, with nbgrader's Validate "
                    "button and without the instructor tools. Other options go to `jupyter lab`.",
    )
    parser.add_argument("--course", type=Path, default=None,
                        help="the course folder (default: this folder or the one above it)")
    parser.add_argument("--notebook", default=None,
                        help="open this notebook instead of the first one (relative to the "
                             "course folder)")
    args, lab_args = parser.parse_known_args(argv)
    course = find_course(args.course)
    notebook = Path(args.notebook) if args.notebook else first_notebook(course)

    config = str(course / CONFIG)
    previous = os.environ.get("JUPYTER_CONFIG_PATH")
    os.environ["JUPYTER_CONFIG_PATH"] = config + (os.pathsep + previous if previous else "")
    for path in fill_language_info(course / ASSIGNMENTS):
        print(f"scratchnn-lab: set the kernel's language_info in {path.relative_to(course)}")
    _check_kernel(lambda message: print(message, file=sys.stderr))

    from jupyterlab.labapp import LabApp

    options = [
        f"--ServerApp.root_dir={course}",
        f"--LabApp.default_url=/lab/tree/{notebook.as_posix()}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in lab_args:
        options.append("--allow-root")   # containers; JupyterLab refuses root otherwise
    print(f"scratchnn-lab: {course} -> {notebook.as_posix()}", flush=True)
    LabApp.launch_instance(argv=options + lab_args)
    return 0
