"""Kernel launcher that confines a student's kernel before it starts.

nbgrader has no resource limits of its own: they must come from how the kernel is launched.
The autograder writes a kernel spec whose ``argv`` runs this file (stdlib only, started with
``python -I`` so nothing from the grader's environment is imported) in front of ipykernel::

    python -I sandbox.py --memory 2147483648 --cpu 600 --uid 62001 ... -- \\
        python -m ipykernel_launcher -f {connection_file}

In that order, while still privileged, it

1. writes its pid (which stays the kernel's pid: every step below ends in ``exec``) so the
   grader can kill a kernel that outlives nbgrader;
2. moves into new network and mount namespaces (``unshare``): no network at all (the kernel
   talks to nbgrader over Unix sockets, ``KernelManager.transport = "ipc"``), and the course's
   private files (master notebooks with hidden tests, tools, git history, the submissions and
   the grading output) are hidden under empty read-only mounts;
3. gives the kernel's working directory, home and runtime directories to an unprivileged uid;
4. sets ``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (CPU seconds; SIGXCPU, then SIGKILL 5 s later),
   ``RLIMIT_NPROC`` (fork bombs), ``RLIMIT_FSIZE`` (disk fill) and ``RLIMIT_CORE`` = 0;
5. drops to that uid (the kernel cannot read other students' grading directories, signal the
   grader or other kernels, or write to the course), sets ``no_new_privs`` and a parent-death
   signal, and replaces the environment with a small whitelist;
6. ``exec``s the kernel.

Every step that the operating system refuses (no root, no user namespaces, not Linux) is
skipped and recorded in the JSON status file (``--status``), so the grader can report how
strong the sandbox really was. ``python sandbox.py --probe`` prints that status without
starting anything.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

# Environment variables passed on to the kernel; everything else (tokens, credentials,
# PYTHONPATH, the grader's JUPYTER_* settings) is dropped.
ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
            "SOURCE_DATE_EPOCH")
ENV_KEEP_PREFIXES = ("LC_",)


def _libc():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None


def _err(what: str) -> str:
    errno = ctypes.get_errno()
    return f"{what}: {os.strerror(errno) if errno else 'failed'}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the launcher's options; the kernel's command follows ``--``."""
    parser = argparse.ArgumentParser(prog="sandbox.py", description=__doc__.splitlines()[0])
    parser.add_argument("--memory", type=int, default=0, help="RLIMIT_AS in bytes (0: none)")
    parser.add_argument("--cpu", type=int, default=0, help="RLIMIT_CPU in seconds (0: none)")
    parser.add_argument("--nproc", type=int, default=0, help="RLIMIT_NPROC (0: none)")
    parser.add_argument("--fsize", type=int, default=0, help="RLIMIT_FSIZE in bytes (0: none)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads of the kernel (0: leave unset)")
    parser.add_argument("--uid", type=int, default=-1, help="drop to this uid/gid when root")
    parser.add_argument("--no-net", action="store_true", help="new, empty network namespace")
    parser.add_argument("--hide", action="append", default=[],
                        help="path hidden from the kernel (empty read-only mount)")
    parser.add_argument("--expose", action="append", default=[],
                        help="path the kernel needs (interpreter, site-packages): made reachable "
                             "for --uid under any ancestor it could not traverse")
    parser.add_argument("--stage", default="",
                        help="empty directory used as a staging point for --expose")
    parser.add_argument("--own", action="append", default=[],
                        help="directory given to --uid (mode 0700) before dropping privileges")
    parser.add_argument("--shared", action="append", default=[],
                        help="directory the kernel may create files in but not replace the "
                             "grader's (root-owned, mode 1777: the runtime dir)")
    parser.add_argument("--home", default="", help="HOME (and IPython/matplotlib dirs)")
    parser.add_argument("--status", default="", help="write what was applied here (JSON)")
    parser.add_argument("--pidfile", default="", help="append the kernel's pid here")
    parser.add_argument("--probe", action="store_true",
                        help="try every step in a child process, print the status, start nothing")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command and not args.probe:
        parser.error("no kernel command given after --")
    return args


def _unshare(libc, flags: int, status: dict) -> int:
    """Unshare what the OS allows; returns the flags that worked."""
    done = 0
    for flag, name in ((CLONE_NEWNET, "network"), (CLONE_NEWNS, "mount")):
        if not flags & flag:
            continue
        if libc is None or not hasattr(os, "fork"):
            status["failed"].append(f"{name} namespace: unsupported platform")
            continue
        if libc.unshare(flag) == 0:
            done |= flag
            status["applied"].append(f"{name} namespace")
        else:
            status["failed"].append(_err(f"{name} namespace"))
    return done


def _blocked_ancestor(path: str) -> str | None:
    """The outermost directory on the way to ``path`` that others may not traverse."""
    parts = os.path.realpath(path).split(os.sep)
    for i in range(2, len(parts)):
        ancestor = os.sep.join(parts[:i])
        try:
            if not os.stat(ancestor).st_mode & 0o001:
                return ancestor
        except OSError:
            return None
    return None


def reachable(paths: list[str]) -> bool:
    """Whether an unprivileged uid can traverse to every path (o+x on each ancestor)."""
    return all(_blocked_ancestor(p) is None for p in paths if os.path.exists(p))


def _expose(libc, paths: list[str], stage: str, status: dict) -> None:
    """Make each path reachable although an ancestor is private (e.g. /root, mode 0700).

    Inside the private mount namespace: bind the needed paths to a staging directory, cover
    the private ancestor with an empty tmpfs (which also hides the rest of it), recreate the
    way down to each needed path, and bind it back at its original place.
    """
    blocked: dict[str, list[str]] = {}
    for path in paths:
        if os.path.exists(path):
            ancestor = _blocked_ancestor(path)
            if ancestor:
                blocked.setdefault(ancestor, []).append(os.path.realpath(path))
    if not blocked:
        return
    if not stage:
        status["failed"].append("expose: no --stage directory")
        return
    # Keep only the outermost needed paths: an inner one comes along with its parent.
    for ancestor, needed in sorted(blocked.items()):
        needed = sorted(set(needed))
        needed = [p for p in needed if not any(p != q and p.startswith(q + os.sep)
                                               for q in needed)]
        staged = []
        for i, path in enumerate(needed):
            spot = os.path.join(stage, f"{len(os.listdir(stage))}-{i}")
            if os.path.isdir(path):
                os.mkdir(spot)
            else:
                open(spot, "w").close()
            if libc.mount(path.encode(), spot.encode(), None, MS_BIND | MS_REC, None) != 0:
                status["failed"].append(_err(f"expose {path}"))
                continue
            staged.append((path, spot))
        if libc.mount(b"tmpfs", ancestor.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                      b"mode=0755") != 0:
            status["failed"].append(_err(f"cover {ancestor}"))
            continue
        for path, spot in staged:
            if os.path.isdir(spot):
                os.makedirs(path, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                open(path, "w").close()
            if libc.mount(spot.encode(), path.encode(), None, MS_BIND | MS_REC, None) != 0:
                status["failed"].append(_err(f"expose {path}"))
        libc.mount(None, ancestor.encode(), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                   None)
        status["applied"].append(f"exposed {len(staged)} path(s) under private {ancestor}")


def _hide(libc, paths: list[str], status: dict) -> None:
    hidden = []
    for path in paths:
        if not os.path.lexists(path):
            continue
        target = os.path.realpath(path).encode()
        if os.path.isdir(path):
            ok = libc.mount(b"tmpfs", target, b"tmpfs",
                            MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, b"size=4k,mode=0555")
        else:
            ok = libc.mount(b"/dev/null", target, None, MS_BIND, None)
            if ok == 0:
                libc.mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
        if ok == 0:
            hidden.append(path)
        else:
            status["failed"].append(_err(f"hide {path}"))
    if hidden:
        status["applied"].append(f"hidden: {len(hidden)} course paths")
    status["hidden"] = hidden


def _limits(args: argparse.Namespace, status: dict) -> None:
    try:
        import resource
    except ImportError:  # not POSIX
        status["failed"].append("resource limits: unsupported platform")
        return
    wanted = [
        ("RLIMIT_AS", args.memory, args.memory),
        ("RLIMIT_CPU", args.cpu, args.cpu + 5 if args.cpu else 0),
        ("RLIMIT_NPROC", args.nproc, args.nproc),
        ("RLIMIT_FSIZE", args.fsize, args.fsize),
        ("RLIMIT_CORE", 0, 0),
    ]
    for name, soft, hard in wanted:
        if not hasattr(resource, name) or (soft == 0 and name != "RLIMIT_CORE"):
            continue
        try:
            resource.setrlimit(getattr(resource, name), (soft, hard))
            status["applied"].append(f"{name}={soft}")
        except (ValueError, OSError) as exc:
            status["failed"].append(f"{name}: {exc}")


def _drop(args: argparse.Namespace, status: dict) -> None:
    if args.uid < 0:
        return
    if os.geteuid() != 0:
        status["failed"].append("drop privileges: not root, the kernel keeps the grader's uid")
        return
    if not reachable(args.expose):
        status["failed"].append("drop privileges: the interpreter is not reachable by an "
                                "unprivileged uid here; the kernel keeps root")
        return
    for path in args.own:
        try:
            os.chown(path, args.uid, args.uid)
            os.chmod(path, 0o700)
        except OSError as exc:
            status["failed"].append(f"chown {path}: {exc}")
    for path in args.shared:
        try:
            os.chmod(path, 0o1777)
        except OSError as exc:
            status["failed"].append(f"chmod {path}: {exc}")
    if "-f" in args.command[:-1]:
        # The connection file stays root's (the kernel must not be able to replace it with a
        # symlink that the grader would then write through); the kernel only reads it.
        try:
            os.chmod(args.command[args.command.index("-f") + 1], 0o644)
        except OSError as exc:
            status["failed"].append(f"connection file: {exc}")
    try:
        os.setgroups([])
        os.setgid(args.uid)
        os.setuid(args.uid)
        status["applied"].append(f"uid={args.uid}")
    except OSError as exc:
        status["failed"].append(f"drop privileges: {exc}")


def _after_drop(libc, parent: int, status: dict) -> None:
    if libc is None:
        return
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        status["applied"].append("no_new_privs")
    # Set after the uid change (which clears it): the kernel dies with nbgrader.
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
        status["applied"].append("parent-death signal")
        if os.getppid() != parent:  # nbgrader died before the signal was armed
            os._exit(1)


def _environment(args: argparse.Namespace) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k in ENV_KEEP or k.startswith(ENV_KEEP_PREFIXES) or k.startswith("JPY_")}
    env.setdefault("PATH", os.defpath)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env["PATH"]])
    env["PYTHONNOUSERSITE"] = "1"
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env["AUTOGRADER_SANDBOX"] = "1"
    if args.threads > 0:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(args.threads)
    if args.home:
        env["HOME"] = args.home
        env["IPYTHONDIR"] = os.path.join(args.home, ".ipython")
        env["MPLCONFIGDIR"] = os.path.join(args.home, ".matplotlib")
        env["XDG_CACHE_HOME"] = os.path.join(args.home, ".cache")
        env["TMPDIR"] = args.home
    return env


def confine(args: argparse.Namespace) -> dict:
    """Apply every step the OS allows to this process; return the status record."""
    status: dict = {"pid": os.getpid(), "applied": [], "failed": [], "hidden": []}
    parent = os.getppid()
    os.umask(0o022)  # the grader runs nbgrader with umask 077; the mounts below must be 0755
    libc = _libc()
    flags = (CLONE_NEWNET if args.no_net else 0) | (CLONE_NEWNS if args.hide else 0)
    flags |= CLONE_NEWNS if args.expose and args.uid >= 0 and os.geteuid() == 0 else 0
    done = _unshare(libc, flags, status) if flags else 0
    if done & CLONE_NEWNS:
        if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            status["failed"].append(_err("make / private"))
        else:
            _expose(libc, args.expose, args.stage, status)
            _hide(libc, args.hide, status)
    elif args.hide:
        status["failed"].append("hide course files: no mount namespace")
    _limits(args, status)
    _drop(args, status)
    _after_drop(libc, parent, status)
    return status


def main(argv: list[str] | None = None) -> None:
    """Confine this process, then exec the kernel command (or print the status: --probe)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.probe:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the probe changes namespaces and uid: do it in a throwaway child
            os.close(read)
            status = confine(args)
            os.write(write, json.dumps(status).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as handle:
            text = handle.read()
        os.waitpid(pid, 0)
        print(text or json.dumps({"applied": [], "failed": ["probe crashed"]}))
        return
    if args.pidfile:
        with open(args.pidfile, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
    # Opened while still privileged: after the uid drop the file may not be writable.
    handle = open(args.status, "w", encoding="utf-8") if args.status else None  # noqa: SIM115
    try:
        status = confine(args)
    except BaseException as exc:  # record why, then refuse to start an unconfined kernel
        status = {"pid": os.getpid(), "applied": [], "failed": [f"launcher crashed: {exc!r}"]}
        if handle:
            handle.write(json.dumps(status))
            handle.close()
        raise
    if handle:
        handle.write(json.dumps(status))
        handle.close()
    os.execvpe(args.command[0], args.command, _environment(args))


if __name__ == "__main__":
    main()
