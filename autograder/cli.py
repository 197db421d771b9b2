"""Command line: ``python -m autograder grade <dir> [options]``, ``... sandbox``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``2G``, ``2GiB``, ``1536M``, ``512MB`` or plain bytes -> bytes (binary units)."""
    m = _SIZE.match(str(text))
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 2G or 1536M)")
    factor = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[m[2].lower()]
    value = int(float(m[1]) * factor)
    if value < 64 * 2**20:
        raise argparse.ArgumentTypeError(f"{text!r} is too small for a Python kernel (>= 64M)")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _cluster(text: str) -> str:
    from .cluster import parse_cluster

    try:
        return parse_cluster(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m autograder``."""
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Grade a class of notebook submissions with nbgrader, safely.")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade every submission in a folder",
                       description="Grade an nbgrader submitted/ tree or a flat LMS export "
                                   "(see docs/grading.md).")
    g.add_argument("submissions", help="folder with the submissions (never modified)")
    g.add_argument("--assignment", action="extend", nargs="+", metavar="ID",
                   help="grade only these assignments (default: all)")
    g.add_argument("--jobs", type=_positive, default=1, help="students graded in parallel")
    g.add_argument("--cluster", type=_cluster, metavar="ADDRESS",
                   help="grade on a Dask cluster: a scheduler address (tcp://host:8786) or "
                        "local:N for N worker processes here (docs/grading.md); --jobs is "
                        "then the workers' business")
    g.add_argument("--timeout", type=_positive, default=60, help="seconds per cell (60)")
    g.add_argument("--confirm-timeouts", type=_positive, default=4, metavar="FACTOR",
                   help="grade a submission that timed out again, alone, with limits FACTOR "
                        "times longer, before the timeout counts (4; 1: never)")
    g.add_argument("--memory", type=parse_size, default=2 * 2**30,
                   help="address-space limit per kernel (2G)")
    g.add_argument("--cpu-time", type=_positive, default=0, metavar="S",
                   help="CPU seconds per kernel (default: 10 x timeout, at least 600)")
    g.add_argument("--out", default="grading-output", help="output folder (grading-output)")
    g.add_argument("--flag-only", action="store_true",
                   help="report integrity findings without scoring the exercises 0")
    g.add_argument("--course", help="course root with nbgrader_config.py (default: this repo)")
    g.add_argument("--roster", help="CSV of students (id, first_name, last_name, email)")
    g.add_argument("--show-hidden-tests", action="store_true",
                   help="show the hidden tests' code in the students' feedback")
    g.add_argument("--allow-network", action="store_true",
                   help="do not cut the kernels off the network")
    g.add_argument("--keep-work", action="store_true",
                   help="keep the temporary grading folders (for debugging)")
    s = sub.add_parser("sandbox", help="show which sandbox features this machine allows")
    s.add_argument("--memory", type=parse_size, default=2 * 2**30)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "grade":
        from .grade import main_grade

        return main_grade(args)
    from .course import Course
    from .runner import Settings, probe_sandbox

    masters = [str(Course.load().source)]
    print(json.dumps(probe_sandbox(Settings(memory=args.memory), hide=masters), indent=1))
    return 0
