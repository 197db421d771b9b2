"""Kernel launcher that confines a student's kernel before it starts.

nbgrader has no resource limits of its own: they must come from how the kernel is launched.
The autograder writes a kernel spec whose ``argv`` runs this file (stdlib only, started with
``python -I`` so nothing from the grader's environment is imported) in front of ipykernel::

    python -I sandbox.py --config /grader/w-0007/sandbox-args.json -- \\
        python -m ipykernel_launcher -f {connection_file}

The options live in a root-only JSON file, so no process's command line shows the course's
paths. As root on Linux (the grader's normal case) it

1. writes its pid (the launcher's, which nbgrader holds) so the grader can kill a kernel
   that outlives nbgrader;
2. moves into new PID, mount, IPC and network namespaces and forks: the child is process 1
   of the new PID namespace and stays as its init. When it ends (the kernel ended, or
   nbgrader killed the launcher's process group), the OS kills every process in the
   namespace, daemons that left the kernel's session included: nothing a submission starts
   outlives its turn. The launcher relays the kernel's exit status (code or signal) as its own;
3. in the private mount namespace: hides the course's private files (masters with hidden
   tests, tools, git history, submissions, grading output) under empty read-only mounts,
   makes the whole file system read-only, and mounts the only writable places, all private
   and size-bounded (bytes and files): one scratch ``tmpfs`` that holds ``/tmp``, ``/var/tmp``
   and HOME, and another on ``/dev/shm``. Everything else under ``/tmp`` (the grader's
   template course, classmates' grading folders) is gone from view; the paths the kernel
   needs there (its working folder, its runtime folder, the interpreter) are bound back.
   A fresh ``/proc`` (``hidepid=2``) shows the kernel its own processes only. The mounts
   vanish with the namespace: nothing written outlives the submission;
4. forks the kernel (process 2), which sets ``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (CPU
   seconds; SIGXCPU, then SIGKILL 5 s later), ``RLIMIT_NPROC`` (fork bombs), ``RLIMIT_FSIZE``
   and ``RLIMIT_CORE`` = 0, drops to the submission's own uid (one per submission, never
   reused in a run: it cannot signal or read anything of the grader or a classmate), sets
   ``no_new_privs`` and a parent-death signal, replaces the environment with a small
   whitelist and ``exec``s the kernel.

Every step that the operating system refuses (no root, no namespaces, not Linux) is skipped
and recorded in the JSON status file (``--status``), so the grader can report how strong the
sandbox really was; without a PID namespace the launcher confines itself and ``exec``s the
kernel in place, as before. ``python sandbox.py --probe`` prints that status without starting
a kernel.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import re
import select
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
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
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
O_PATH = getattr(os, "O_PATH", 0o10000000)
# mount_setattr(2) (Linux 5.12): one call makes every mount under / read-only. Its number is
# the same in the generic table (aarch64, riscv) and on x86-64.
SYS_MOUNT_SETATTR = 442
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
# The machine's shared writable places: each is replaced by a private, bounded one.
SCRATCH = "/tmp"
ALSO_SCRATCH = ("/var/tmp",)
SHM = "/dev/shm"

# Environment variables passed on to the kernel; everything else (tokens, credentials,
# PYTHONPATH, the grader's JUPYTER_* settings, JPY_PARENT_PID) is dropped.
ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
            "SOURCE_DATE_EPOCH", "JPY_SESSION_NAME")
ENV_KEEP_PREFIXES = ("LC_",)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


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
    """Parse the launcher's options (and those of ``--config FILE``); the kernel's command
    follows ``--``."""
    parser = argparse.ArgumentParser(prog="sandbox.py", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="",
                        help="JSON list of further options (kept off the command line)")
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
                        help="path the kernel needs (interpreter, site-packages): kept "
                             "reachable, read-only, wherever private mounts cover it")
    parser.add_argument("--writable", action="append", default=[],
                        help="folder the kernel needs to write in (its runtime folder): kept "
                             "reachable and writable (root-owned, mode 1777)")
    parser.add_argument("--cover", action="append", default=[],
                        help="folder replaced by an empty read-only one (the grader's work "
                             "folder, when it is not under /tmp)")
    parser.add_argument("--scratch-bytes", type=int, default=0,
                        help="size of the private /tmp, /var/tmp and HOME (0: no private "
                             "scratch; the kernel writes its HOME on disk)")
    parser.add_argument("--scratch-files", type=int, default=0,
                        help="files (inodes) in the private scratch (0: the tmpfs default)")
    parser.add_argument("--shm-bytes", type=int, default=64 * 2**20,
                        help="size of the private /dev/shm")
    parser.add_argument("--shm-files", type=int, default=1000,
                        help="files in the private /dev/shm")
    parser.add_argument("--home", default="", help="HOME (and IPython/matplotlib dirs)")
    parser.add_argument("--status", default="", help="write what was applied here (JSON)")
    parser.add_argument("--pidfile", default="", help="append the launcher's pid here")
    parser.add_argument("--probe", action="store_true",
                        help="start a do-nothing command in place of a kernel, print the status")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.config:
        with open(args.config, encoding="utf-8") as handle:
            extra = json.load(handle)
        args = parser.parse_args(extra + argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command and not args.probe:
        parser.error("no kernel command given after --")
    return args


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


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


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


def _tmpfs(libc, where: str, options: str, status: dict, what: str, flags: int = 0) -> bool:
    if libc.mount(b"tmpfs", where.encode(), b"tmpfs", MS_NOSUID | MS_NODEV | flags,
                  options.encode()) != 0:
        status["failed"].append(_err(f"{what} at {where}"))
        return False
    return True


def _bind_fd(libc, fd: int, path: str, writable: bool, status: dict) -> None:
    """Mount what ``fd`` (an O_PATH descriptor) refers to at ``path``, creating the mount
    point inside the covering tmpfs first."""
    if os.path.isdir(f"/proc/self/fd/{fd}"):
        os.makedirs(path, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        if not os.path.exists(path):
            open(path, "w").close()
    if libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC,
                  None) != 0:
        status["failed"].append(_err(f"keep {path}"))
        return
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (0 if writable else MS_RDONLY)
    if libc.mount(None, path.encode(), None, flags, None) != 0:
        status["failed"].append(_err(f"remount {path}"))


def _read_only_root(libc, status: dict) -> None:
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
    done = libc.syscall(ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD), b"/",
                        ctypes.c_uint(AT_RECURSIVE), ctypes.byref(attr),
                        ctypes.c_size_t(ctypes.sizeof(attr)))
    if done != 0:
        status["failed"].append(_err("read-only root (mount_setattr)"))
    else:
        status["applied"].append("read-only root")


def _private_mounts(libc, args: argparse.Namespace, status: dict) -> None:
    """Inside the new mount namespace: hide, make everything read-only, then mount the
    private writable places and bind back what the kernel needs under covered folders."""
    cwd = os.getcwd()
    scratch = SCRATCH if args.scratch_bytes and os.path.isdir(SCRATCH) else ""
    covers = {}  # folder -> tmpfs options (read-only unless it is the scratch)
    if scratch:
        files = f",nr_inodes={args.scratch_files}" if args.scratch_files else ""
        covers[scratch] = f"size={args.scratch_bytes}{files},mode=1777"
    for path in args.expose:
        ancestor = _blocked_ancestor(path) if os.path.exists(path) else None
        if ancestor:
            covers.setdefault(ancestor, "mode=0755")
    for folder in args.cover:
        if os.path.isdir(folder):
            covers.setdefault(os.path.realpath(folder), "mode=0755")
    # Only the outermost covers: an inner one is gone with its parent.
    covers = {c: o for c, o in covers.items()
              if not any(c != d and _under(c, d) for d in covers)}
    keep = {}  # path -> writable
    for path in args.expose + [cwd]:
        if os.path.exists(path):
            keep.setdefault(os.path.realpath(path), False)
    if "-f" in args.command[:-1]:  # the connection file, wherever the client wrote it
        keep.setdefault(os.path.realpath(args.command[args.command.index("-f") + 1]), False)
    for path in args.writable:
        if os.path.isdir(path):
            os.chmod(path, 0o1777)
            keep[os.path.realpath(path)] = True
    # Opened before the covers hide them; bound back parents first (sorted), so that a
    # folder inside another kept one is mounted on top of it, not under it.
    held = [(os.open(path, O_PATH | os.O_CLOEXEC), path, writable)
            for path, writable in sorted(keep.items()) if any(_under(path, c) for c in covers)]
    _hide(libc, args.hide, status)
    _read_only_root(libc, status)
    mounted = {folder for folder, options in sorted(covers.items())
               if _tmpfs(libc, folder, options, status,
                         "private temp" if folder == scratch else "cover")}
    for folder in sorted(mounted - {scratch}):
        status["applied"].append(f"covered {folder}")
    if scratch in mounted:
        status["applied"].append(f"private temp: {scratch} ({args.scratch_bytes} bytes, "
                                 f"{args.scratch_files or 'default'} files)")
        for other in ALSO_SCRATCH:
            if os.path.isdir(other) and libc.mount(scratch.encode(), other.encode(), None,
                                                   MS_BIND, None) != 0:
                status["failed"].append(_err(f"private temp at {other}"))
    for fd, path, writable in held:
        _bind_fd(libc, fd, path, writable, status)
        os.close(fd)
    if os.path.isdir(SHM) and _tmpfs(libc, SHM, f"size={args.shm_bytes},"
                                     f"nr_inodes={args.shm_files},mode=1777", status,
                                     "private shared memory"):
        status["applied"].append(f"private shared memory: {SHM} ({args.shm_bytes} bytes)")
    if args.home and scratch:
        try:
            os.makedirs(args.home, mode=0o700, exist_ok=True)
        except OSError:
            pass  # inside a read-only folder that was bound back: mounted over below
        if not os.path.isdir(args.home) or \
                os.stat(args.home).st_dev != os.stat(scratch).st_dev:
            storage = os.path.join(scratch, ".home")
            os.makedirs(storage, mode=0o700, exist_ok=True)
            if libc.mount(storage.encode(), args.home.encode(), None, MS_BIND, None) != 0:
                status["failed"].append(_err(f"private HOME at {args.home}"))
        if args.uid >= 0:
            os.chown(args.home, args.uid, args.uid)
        os.chmod(args.home, 0o700)
        status["applied"].append("private HOME (in the private temp)")
    for path in sorted(covers):
        if path != scratch:  # the way down to what was bound back is made; now read-only
            libc.mount(None, path.encode(), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                       None)
    if libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  b"hidepid=2") == 0:
        status["applied"].append("private /proc (own processes only)")
    else:
        status["failed"].append(_err("private /proc"))
    try:
        os.chdir(cwd)  # the working folder as bound back, not the covered original
    except OSError as exc:
        status["failed"].append(f"working folder: {exc}")


def mount_small_tmpfs(path: str, size: int, files: int) -> str:
    """Mount a tmpfs of ``size`` bytes and ``files`` inodes (mode 1777) at ``path``, in the
    caller's mount namespace (root only). Used by the grader for a kernel's runtime folder,
    which must be shared with nbgrader (the kernel's sockets) and bounded. Returns "" or why
    it failed."""
    libc = _libc()
    if libc is None:
        return "no C library"
    status: dict = {"failed": []}
    _tmpfs(libc, path, f"size={size},nr_inodes={files},mode=1777", status, "tmpfs",
           MS_NOEXEC)
    return "; ".join(status["failed"])


def unmount(path: str) -> None:
    """Detach the mount at ``path`` (lazily: a process still using it keeps it until done)."""
    libc = _libc()
    if libc is not None:
        libc.umount2(path.encode(), MNT_DETACH)


def mounts_below(folder: str) -> list[str]:
    """Mount points strictly inside ``folder`` (this process's view), deepest first."""
    prefix = os.path.realpath(folder).rstrip("/") + "/"
    try:
        with open("/proc/self/mounts", encoding="utf-8") as handle:
            # the kernel writes spaces, tabs, newlines and backslashes as octal escapes
            points = [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[1])
                      for line in handle if len(line.split()) > 1]
    except OSError:
        return []
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


def unmount_below(folder: str) -> None:
    """Detach every mount inside ``folder`` (before removing it)."""
    for point in mounts_below(folder):
        unmount(point)


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
    if args.home and not args.scratch_bytes and os.path.isdir(args.home):
        try:  # no private scratch: HOME is a folder on disk, given to the kernel's uid
            os.chown(args.home, args.uid, args.uid)
            os.chmod(args.home, 0o700)
        except OSError as exc:
            status["failed"].append(f"chown {args.home}: {exc}")
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
    # Set after the uid change (which clears it): the kernel dies with its parent.
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
        status["applied"].append("parent-death signal")
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)


def _environment(args: argparse.Namespace) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k in ENV_KEEP or k.startswith(ENV_KEEP_PREFIXES)}
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
        env["TMPDIR"] = SCRATCH if args.scratch_bytes else args.home
    return env


def _unshare(libc, flags: int, status: dict) -> int:
    """Unshare what the OS allows, one namespace at a time; returns the flags that worked."""
    done = 0
    names = ((CLONE_NEWNET, "network"), (CLONE_NEWIPC, "IPC"), (CLONE_NEWNS, "mount"),
             (CLONE_NEWPID, "pid"))
    for flag, name in names:
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


def _namespaces(libc, args: argparse.Namespace, status: dict) -> int:
    """Unshare the namespaces this launch needs; make / private in the new mount one."""
    privileged = os.geteuid() == 0
    if not privileged:
        status["failed"].append(
            "not root: no own uid, PID namespace, read-only file system or private /tmp, "
            "/dev/shm and /proc; the kernel runs as the grader's user and can read what it "
            "can (the masters included) and leave processes behind")
    flags = CLONE_NEWNET if args.no_net else 0
    if args.hide:
        flags |= CLONE_NEWNS
    if privileged and args.uid >= 0:
        flags |= CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID
    done = _unshare(libc, flags, status) if flags else 0
    if done & CLONE_NEWNS and libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        status["failed"].append(_err("make / private"))
        done &= ~CLONE_NEWNS
    if args.hide and not done & CLONE_NEWNS:
        status["failed"].append("hide course files: no mount namespace")
    return done


def _write_status(handle, status: dict) -> None:
    if handle is not None:
        handle.write(json.dumps(status))
        handle.close()


def _exec_kernel(libc, args: argparse.Namespace, parent: int, status: dict, handle) -> None:
    """Limits, uid, then replace this process with the kernel."""
    _limits(args, status)
    _drop(args, status)
    _after_drop(libc, parent, status)
    _write_status(handle, status)
    os.execvpe(args.command[0], args.command, _environment(args))


def _wait_status(pid: int) -> int:
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:
            return 0


def _relay(status: int) -> None:
    """End this process the way the kernel ended (same exit code, or same signal)."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):  # these cannot be caught anyway
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _init(libc, args: argparse.Namespace, status: dict, handle, relay_fd: int,
          parent_fd: int, mounts: bool) -> None:
    """Process 1 of the new PID namespace: set up the mounts, start the kernel, reap
    orphans, and end when the kernel ends, which ends everything else in the namespace."""
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or \
            select.select([parent_fd], [], [], 0)[0]:  # the launcher is already gone
        os._exit(1)
    if mounts:
        _private_mounts(libc, args, status)
    kernel = os.fork()
    if kernel == 0:
        os.close(relay_fd)
        _exec_kernel(libc, args, 1, status, handle)
    if handle is not None:
        handle.close()
    # Signals from outside the namespace reach process 1 only if it handles them: relay the
    # ones that ask the kernel to stop. SIGINT is left alone: nbgrader sends it to the whole
    # process group, the kernel included.
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, lambda signum, frame: os.kill(kernel, signum))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            pid, code = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        if pid == kernel:
            os.write(relay_fd, code.to_bytes(4, "little"))
            os._exit(0)


def launch(args: argparse.Namespace, handle) -> None:
    """Confine and start the kernel command; never returns (``exec`` or exit)."""
    status: dict = {"pid": os.getpid(), "applied": [], "failed": [], "hidden": []}
    parent = os.getppid()
    os.umask(0o022)  # the grader runs nbgrader with umask 077; the mounts below must be 0755
    libc = _libc()
    if "-f" in args.command[:-1] and args.uid >= 0 and os.geteuid() == 0:
        # The connection file stays root's (the kernel must not be able to replace it with a
        # symlink that the grader would then write through); the kernel only reads it.
        try:
            os.chmod(args.command[args.command.index("-f") + 1], 0o644)
        except OSError as exc:
            status["failed"].append(f"connection file: {exc}")
    done = _namespaces(libc, args, status)
    if not done & CLONE_NEWPID:
        # No PID namespace: confine this process and become the kernel (the old way).
        if done & CLONE_NEWNS:
            _private_mounts(libc, args, status)
        _exec_kernel(libc, args, parent, status, handle)
    # The launcher dies with the grading process that started it (nbgrader), and the
    # namespace with the launcher.
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
        os._exit(1)
    relay_read, relay_write = os.pipe()
    alive_read, alive_write = os.pipe()  # closed by the OS when this launcher dies
    child = os.fork()
    if child == 0:
        os.close(relay_read)
        os.close(alive_write)
        _init(libc, args, status, handle, relay_write, alive_read, bool(done & CLONE_NEWNS))
    os.close(relay_write)
    os.close(alive_read)
    if handle is not None:
        handle.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the kernel gets it from the process group
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, lambda signum, frame: os.kill(child, signal.SIGKILL))
    _wait_status(child)
    relayed = os.read(relay_read, 4)
    _relay(int.from_bytes(relayed, "little") if len(relayed) == 4 else 9)  # 9: SIGKILL


def main(argv: list[str] | None = None) -> None:
    """Confine this process, then start the kernel command (or print the status: --probe)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.probe:
        args.command = [sys.executable, "-I", "-c", "pass"]
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            launch(args, os.fdopen(write, "w", encoding="utf-8"))
        os.close(write)
        with os.fdopen(read, encoding="utf-8") as handle:
            text = handle.read()
        code = _wait_status(pid)
        status = json.loads(text) if text else {"applied": [], "failed": ["probe crashed"]}
        if code:
            status["failed"].append(f"the probe command failed (wait status {code})")
        print(json.dumps(status))
        return
    if args.pidfile:
        with open(args.pidfile, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
    # Opened while still privileged: after the uid drop the file may not be writable.
    handle = open(args.status, "w", encoding="utf-8") if args.status else None  # noqa: SIM115
    try:
        launch(args, handle)
    except BaseException as exc:  # record why, then refuse to start an unconfined kernel
        if handle is not None and not handle.closed:
            handle.seek(0)
            handle.truncate()
            _write_status(handle, {"pid": os.getpid(), "applied": [],
                                   "failed": [f"launcher crashed: {exc!r}"]})
        raise


if __name__ == "__main__":
    main()
