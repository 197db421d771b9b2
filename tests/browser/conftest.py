"""Fixtures of the browser tests: a real JupyterLab server and a real (headless) Chromium.

These tests run only when asked for: ``make test-browser`` (part of ``make test``),
``pytest tests/browser`` (naming this folder, or a file in it), or with
``SCRATCHNN_BROWSER_TESTS=1``. A plain ``pytest`` of the whole suite does not collect them, so
the fast suite stays fast and needs no browser.

- ``lab``: JupyterLab from this Python environment (the ``jupyter`` next to ``sys.executable``,
  so the notebooks' ``python3`` kernel is this environment's Python), on 127.0.0.1 with a free
  port and a random token, serving a temporary COPY of the course (release/, notebooks/,
  nbgrader_config.py): the tests may type into notebooks, save them and run nbgrader, never in
  the repository. Settings, runtime files and workspaces live in the same temporary folder.
- ``browser``: Debian's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) driven by Playwright
  for Python. Playwright's own browser download is never used (it is not reachable here).
- ``shots``: takes the screenshots of each step into ``tests/browser/artifacts/`` (or
  ``$BROWSER_ARTIFACTS``); the folder is printed at the end of the run, with the server log.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Chromium on a closed network: no background requests to Google, no QUIC, no sandbox (root
# in CI containers), no GPU (headless server).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
LAB_START_TIMEOUT = 90.0  # seconds until JupyterLab must answer /api/status
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", HERE / "artifacts")).resolve()
# JupyterLab settings for a quiet, deterministic session: no "Jupyter news?" toast over the
# notebook, no update check (no network here anyway).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


_ARTIFACTS_USED: list[Path] = []


# ------------------------------------------------------------------------------------------
# Collect only when asked for
# ------------------------------------------------------------------------------------------
def _asked_for(config) -> bool:
    """True when this folder (or a file in it) was named on the command line."""
    if os.environ.get("SCRATCHNN_BROWSER_TESTS") == "1":
        return True
    for arg in config.invocation_params.args:
        arg = str(arg)
        if arg.startswith("-"):
            continue
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    if collection_path.parent == HERE and collection_path.name.startswith("test_"):
        if not _asked_for(config):
            return True
    return None


def pytest_terminal_summary(terminalreporter):
    if _ARTIFACTS_USED:
        terminalreporter.write_sep("-", "browser test artifacts")
        terminalreporter.write_line(f"screenshots and JupyterLab log: {ARTIFACTS}")


# ------------------------------------------------------------------------------------------
# Screenshots
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The artifacts folder, emptied of the previous run's files."""
    if ARTIFACTS.exists():
        for old in ARTIFACTS.iterdir():
            if old.is_file() and old.suffix in {".png", ".log", ".txt"}:
                old.unlink()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _ARTIFACTS_USED.append(ARTIFACTS)
    return ARTIFACTS


class Shots:
    """Numbered screenshots of one scenario: ``<scenario>-<nn>-<step>.png``."""

    def __init__(self, folder: Path, scenario: str):
        self.folder, self.scenario, self.count = folder, scenario, 0

    def take(self, page, step: str, element=None) -> Path:
        self.count += 1
        path = self.folder / f"{self.scenario}-{self.count:02d}-{step}.png"
        if element is not None:   # bring it to the middle of the notebook's scroll area
            element.scroll_into_view_if_needed(timeout=10_000)
            element.evaluate("e => e.scrollIntoView({block: 'center'})")
            page.wait_for_timeout(300)
        page.screenshot(path=str(path))
        return path


@pytest.fixture
def shots(artifacts, request):
    scenario = request.node.name.removeprefix("test_").replace("_", "-")
    return Shots(artifacts, scenario)


# ------------------------------------------------------------------------------------------
# JupyterLab
# ------------------------------------------------------------------------------------------
@dataclass
class Lab:
    url: str            # http://127.0.0.1:<port>
    token: str
    course: Path        # the temporary copy of the course the server serves
    process: subprocess.Popen
    log: Path

    def page_url(self, path: str, workspace: str) -> str:
        """URL that opens ``path`` (relative to the course) in JupyterLab, in a workspace of
        its own (a new workspace does not reopen the tabs of an earlier test)."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{path}?token={self.token}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel of the server (the next test starts from fresh ones)."""
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def kernel_processes(self) -> dict[int, list[str]]:
        """Process id -> command line of the kernels this server started (Linux /proc)."""
        kernels = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                if parent != self.process.pid:
                    continue
                cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            args = [a.decode(errors="replace") for a in cmdline if a]
            if any("ipykernel" in a for a in args):
                kernels[int(stat.parent.name)] = args
        return kernels


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_course(dest: Path) -> Path:
    course = dest / "course"
    course.mkdir()
    for folder in ("release", "notebooks", "course"):
        shutil.copytree(ROOT / folder, course / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    return course


def _stop(server: Lab) -> None:
    """Stop the server: on SIGTERM it shuts its kernels down. Kill, by their id, the server
    and any kernel of it that is still running after that."""
    process = server.process
    kernels = server.kernel_processes() if process.poll() is None else {}
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for pid, args in kernels.items():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if [a.decode(errors="replace") for a in cmdline if a] == args:
                os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


@pytest.fixture(scope="session")
def lab(tmp_path_factory, artifacts):
    base = tmp_path_factory.mktemp("jupyterlab")
    course = _copy_course(base)
    bindir = Path(sys.executable).parent
    jupyter = bindir / "jupyter"
    if not jupyter.exists():
        pytest.fail(f"no `jupyter` next to {sys.executable}: install the course extra "
                    f"(`make venv`)")
    settings = base / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    home = {name: base / name for name in ("config", "data", "runtime", "ipython", "mpl")}
    for folder in home.values():
        folder.mkdir()
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "JUPYTER_CONFIG_DIR": str(home["config"]),
        "JUPYTER_DATA_DIR": str(home["data"]),
        "JUPYTER_RUNTIME_DIR": str(home["runtime"]),
        "IPYTHONDIR": str(home["ipython"]),
        "MPLCONFIGDIR": str(home["mpl"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("JUPYTER_PATH", None)   # only this environment's kernels and extensions
    program = [str(jupyter), "lab", f"--ServerApp.root_dir={course}",
               f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.news_url=None"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        program.append("--allow-root")
    server = _start_lab(program, course, env, artifacts / "jupyterlab.log")
    try:
        specs = server.api("kernelspecs")
        if "python3" not in specs.get("kernelspecs", {}):
            pytest.fail(f"JupyterLab has no `python3` kernel: {sorted(specs['kernelspecs'])}",
                        pytrace=False)
        yield server
    finally:
        _stop(server)


# ------------------------------------------------------------------------------------------
# Chromium
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium "
                    f"(`apt-get install -y chromium chromium-driver`, done by "
                    f"`make test-browser` when run as root) or set $CHROMIUM", pytrace=False)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: `pip install -e .[dev]` "
                    "(or `make venv`)", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


def _tab(browser, server: Lab):
    """A fresh browser context and tab (a clean profile); the kernels of ``server`` are shut
    down after the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  device_scale_factor=1)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()
        try:
            server.shutdown_kernels()
        except OSError:
            pass


@pytest.fixture
def page(browser, lab):
    """A fresh browser context and tab for each test on ``lab``."""
    yield from _tab(browser, lab)



# ------------------------------------------------------------------------------------------
# The student bundle: JupyterLab as a student starts it (tests/browser/test_student_bundle.py)
# ------------------------------------------------------------------------------------------
def _bundle_tool():
    """tools/bundle.py, the builder of the student bundle, loaded as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bundle_tool", ROOT / "tools" / "bundle.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bundle_tool", module)
    spec.loader.exec_module(module)
    return module


def _start_lab(program: list[str], course: Path, env: dict, log: Path) -> Lab:
    """Start ``program`` (a JupyterLab command) in ``course`` on a free 127.0.0.1 port with a
    new token, its output in ``log``; return the server once it answers."""
    token, port = secrets.token_hex(16), _free_port()
    command = [*program, "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}"]
    with log.open("w") as log_file:
        process = subprocess.Popen(command, cwd=course, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = Lab(f"http://127.0.0.1:{port}", token, course, process, log)
    try:
        _wait_answering(server, command)
    except BaseException:
        _stop(server)
        raise
    return server


def _wait_answering(server: Lab, command: list[str]) -> None:
    """Wait until ``server`` answers /api/status; fail with its log if it exits or stalls."""
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.process.returncode} before "
                        f"answering.\n$ {' '.join(command)}\n--- server log (tail) ---\n"
                        f"{server.log_tail()}", pytrace=False)
        try:
            server.api("status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"JupyterLab did not answer on {server.url} within "
                        f"{LAB_START_TIMEOUT:.0f} s.\n$ {' '.join(command)}\n"
                        f"--- server log (tail) ---\n{server.log_tail()}", pytrace=False)
        time.sleep(0.25)


@pytest.fixture(scope="session")
def student_lab(tmp_path_factory, artifacts):
    """JupyterLab started the way the bundle's README tells a student: the bundle built by
    tools/bundle.py (into a temporary folder), a fresh virtual environment made from it alone
    (``python -m venv`` + ``pip install -e .``: packages from the package index, the course
    code from the bundle), then ``scratchnn-lab`` run in the bundle folder. Jupyter's config,
    data and runtime folders are new and empty, and no setting of these tests is passed: the
    bundle's own configuration must turn the news and the instructor tools off.
    ``Lab.course`` is the bundle folder; ``Lab.process.args[0]`` the environment's command."""
    tool = _bundle_tool()
    base = tmp_path_factory.mktemp("student")
    course = tool.build(base / "scratchnn-course").path
    python = tool.create_student_env(course, base / "venv", compile_bytecode=False)
    launcher = python.parent / "scratchnn-lab"
    if not launcher.exists():
        pytest.fail(f"`pip install -e {course}` installed no scratchnn-lab command in "
                    f"{python.parent}", pytrace=False)
    env = {**tool.student_environment(python.parent, base), "PYTHONUNBUFFERED": "1"}
    server = _start_lab([str(launcher)], course, env, artifacts / "jupyterlab-student.log")
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture
def student_page(browser, student_lab):
    """A fresh browser context and tab for a test on ``student_lab``."""
    yield from _tab(browser, student_lab)
