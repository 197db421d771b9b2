"""Download files into a local cache, verified by SHA-256 (used by :mod:`scratchnn.datasets`).

The rules, in the order they are applied to each file:

1. **Cache.** ``<data_home>/<subdir>/<filename>`` is used as it is when its SHA-256 matches.
   A cached file whose hash does not match (a corrupt or wrong copy) is deleted and fetched
   again. ``data_home`` is the ``data_home=`` argument, else the ``SCRATCHNN_DATA`` environment
   variable, else ``~/.cache/scratchnn``.
2. **Mirrors**, tried in order: ``<base>/<filename>``. The body is streamed (with a progress
   bar from ``tqdm.auto`` when tqdm is installed, otherwise silently) into a temporary file
   *in the cache directory*, hashed on the way, and renamed onto the final name (an atomic
   ``os.replace``) only when it is complete and its hash matches. A server error, a truncated
   transfer, a timeout or a wrong hash moves on to the next mirror; the temporary file is
   always removed, so an interrupted or corrupt download never poisons the cache.
3. **Nothing worked**: :class:`DatasetUnavailable` names the missing files, the mirrors and
   the exact directory to put the files in by hand.

Only the standard library (``urllib``) is used for the network; every connection has a
timeout. Nothing downloaded is ever unpickled or executed.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterable, Mapping

__all__ = ["DatasetUnavailable", "get_data_home", "fetch_files", "sha256_file"]

#: Environment variable that overrides the default cache directory ``~/.cache/scratchnn``.
ENV_VAR = "SCRATCHNN_DATA"
#: Default seconds a connection may wait to connect or between two reads.
DEFAULT_TIMEOUT = 30.0
_CHUNK = 1 << 16
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_SCHEMES = ("http", "https", "file")
_USER_AGENT = "scratchnn-datasets (Python urllib)"


class DatasetUnavailable(OSError, RuntimeError):
    """A dataset's files are neither in the cache nor downloadable from any mirror.

    Raised by :func:`fetch_files` (and so by ``scratchnn.datasets.load_mnist`` and friends)
    when there is no network and no cached copy, or every mirror failed. The message lists the
    missing files, what went wrong with each mirror and the directory to copy the files into
    by hand.

    Attributes
    ----------
    files : tuple of str
        The file names that could not be obtained.
    directory : pathlib.Path
        The cache directory the files are expected in.
    errors : tuple of str
        One line per failed attempt (``"<url>: <reason>"``).
    """

    def __init__(self, message: str, files=(), directory=None, errors=()):
        super().__init__(message)
        self.files = tuple(files)
        self.directory = None if directory is None else Path(directory)
        self.errors = tuple(errors)

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


class _DownloadFailed(Exception):
    """One attempt (one URL) failed; ``dead`` means the mirror itself is unreachable."""

    def __init__(self, reason: str, dead: bool = False):
        super().__init__(reason)
        self.dead = dead


# ------------------------------------------------------------------------------------------------
# paths and hashes
# ------------------------------------------------------------------------------------------------
def get_data_home(data_home=None) -> Path:
    """The root of the dataset cache (not created here).

    Precedence: the ``data_home`` argument, then the ``SCRATCHNN_DATA`` environment variable
    (ignored when empty), then ``~/.cache/scratchnn``. ``~`` is expanded; the result is
    absolute.

    Parameters
    ----------
    data_home : str, os.PathLike or None

    Returns
    -------
    pathlib.Path
    """
    if data_home is None:
        data_home = os.environ.get(ENV_VAR) or None
    if data_home is None:
        return (Path.home() / ".cache" / "scratchnn").absolute()
    return Path(data_home).expanduser().absolute()


def sha256_file(path) -> str:
    """Hex SHA-256 digest (64 lowercase characters) of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_sha256(name: str, value) -> str:
    if not isinstance(value, str) or not _SHA256_RE.match(value.lower()):
        raise ValueError(f"checksum for {name!r} must be a 64-character hex SHA-256 string, "
                         f"got {value!r}")
    return value.lower()


def _normalize_mirrors(mirrors) -> tuple[str, ...]:
    if isinstance(mirrors, (str, bytes)):
        mirrors = (mirrors,)
    out = []
    for base in mirrors:
        if not isinstance(base, str):
            raise TypeError(f"mirrors must be base URL strings, got {base!r}")
        scheme = urllib.parse.urlsplit(base).scheme.lower()
        if scheme not in _SCHEMES:
            raise ValueError(f"mirror {base!r}: only {', '.join(_SCHEMES)} URLs are supported")
        out.append(base.rstrip("/") + "/")
    if not out:
        raise ValueError("mirrors must list at least one base URL")
    return tuple(out)


# ------------------------------------------------------------------------------------------------
# one download
# ------------------------------------------------------------------------------------------------
def _progress_bar(total, desc: str, enabled: bool):
    """A ``tqdm.auto`` bar counting bytes, or ``None`` (disabled, or tqdm is not installed)."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                leave=False)


def _download(url: str, target: Path, sha256: str, timeout: float, progress: bool) -> None:
    """Stream ``url`` into a temporary file next to ``target``; rename it when verified.

    Raises :class:`_DownloadFailed` for every expected failure; the temporary file is removed
    in every case (including ``KeyboardInterrupt``).
    """
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        raise _DownloadFailed(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise _DownloadFailed(f"cannot connect ({err.reason})", dead=True) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as err:
        raise _DownloadFailed(f"cannot connect ({type(err).__name__}: {err})", dead=True) \
            from None

    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".part")
    except BaseException:
        response.close()
        raise
    tmp = Path(tmp_name)
    bar = None
    try:
        with response, os.fdopen(fd, "wb") as out:
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            bar = _progress_bar(expected, target.name, progress)
            digest = hashlib.sha256()
            received = 0
            while True:
                try:
                    block = response.read(_CHUNK)
                except TimeoutError:
                    raise _DownloadFailed(f"timed out after {received} bytes (no data for "
                                          f"{timeout} s)", dead=True) from None
                except (OSError, http.client.HTTPException) as err:
                    raise _DownloadFailed(f"transfer interrupted after {received} bytes "
                                          f"({type(err).__name__}: {err})") from None
                if not block:
                    break
                out.write(block)
                digest.update(block)
                received += len(block)
                if bar is not None:
                    bar.update(len(block))
        if expected is not None and received != expected:
            raise _DownloadFailed(f"transfer interrupted: got {received} of {expected} bytes")
        got = digest.hexdigest()
        if got != sha256:
            raise _DownloadFailed(f"checksum mismatch: SHA-256 {got}, expected {sha256} "
                                  f"({received} bytes); file rejected")
        os.replace(tmp, target)
    finally:
        if bar is not None:
            bar.close()
        if tmp.exists():
            tmp.unlink()


# ------------------------------------------------------------------------------------------------
# public entry point
# ------------------------------------------------------------------------------------------------
def fetch_files(checksums: Mapping[str, str], mirrors: Iterable[str], subdir: str, *,
                data_home=None, timeout: float = DEFAULT_TIMEOUT, progress: bool = True,
                dataset: str = "dataset", hint: str = "") -> dict[str, Path]:
    """Make sure every file of a dataset is in the cache, downloading what is missing.

    Parameters
    ----------
    checksums : mapping of str to str
        ``{filename: sha256_hex}``: the files to get and their expected SHA-256 digests.
    mirrors : iterable of str
        Base URLs (``http``, ``https`` or ``file``) tried in order; a file is fetched from
        ``<base>/<filename>``. A mirror that cannot be reached at all (connection refused,
        DNS failure, timeout) is not tried again for the dataset's other files.
    subdir : str
        Sub-directory of the cache for this dataset (e.g. ``"mnist"``).
    data_home : str, os.PathLike or None
        Cache root; see :func:`get_data_home`.
    timeout : float, default 30
        Seconds to wait for a connection and for each read.
    progress : bool, default True
        Show a ``tqdm.auto`` progress bar while downloading (if tqdm is installed).
    dataset : str
        Human name used in error messages (e.g. ``"MNIST"``).
    hint : str
        Extra sentence appended to the :class:`DatasetUnavailable` message.

    Returns
    -------
    dict of str to pathlib.Path
        ``{filename: path}`` of verified files, in the order of ``checksums``.

    Raises
    ------
    DatasetUnavailable
        when at least one file could not be obtained (the others that were obtained stay in
        the cache, verified).
    """
    if not timeout or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    sums = {name: _check_sha256(name, value) for name, value in checksums.items()}
    bases = _normalize_mirrors(mirrors)
    directory = get_data_home(data_home) / subdir
    directory.mkdir(parents=True, exist_ok=True)

    paths: dict[str, Path] = {}
    missing: list[str] = []
    errors: list[str] = []
    dead: set[str] = set()
    for name, sha in sums.items():
        target = directory / name
        if target.is_file():
            got = sha256_file(target)
            if got == sha:
                paths[name] = target
                continue
            target.unlink()
            errors.append(f"{target}: cached copy had SHA-256 {got}, expected {sha}; deleted")
        for base in bases:
            url = base + urllib.parse.quote(name)
            if base in dead:
                continue
            try:
                _download(url, target, sha, float(timeout), progress)
            except _DownloadFailed as err:
                # An unreachable server is not tried again for the other files (so going
                # offline costs one attempt per mirror); a missing local file is per file.
                if err.dead and not base.startswith("file:"):
                    dead.add(base)
                    errors.append(f"{url}: {err}; not tried again for the other files")
                else:
                    errors.append(f"{url}: {err}")
                continue
            paths[name] = target
            break
        else:
            missing.append(name)

    if missing:
        raise DatasetUnavailable(_unavailable_message(dataset, missing, bases, directory,
                                                      errors, hint),
                                 files=missing, directory=directory, errors=errors)
    return paths


def _unavailable_message(dataset, missing, bases, directory, errors, hint) -> str:
    lines = [f"{dataset} is not available: could not download "
             f"{', '.join(missing)} (no network, or every mirror failed), and no verified "
             f"copy is in the cache."]
    if errors:
        lines.append("Attempts:")
        lines.extend(f"  - {e}" for e in errors)
    lines.append("To install the files by hand, download them from one of")
    lines.extend(f"  {base}" for base in bases)
    lines.append("and put them, unchanged (still compressed), in this directory:")
    lines.append(f"  {directory}")
    lines.append("i.e. " + ", ".join(str(directory / name) for name in missing) + ".")
    lines.append(f"They are checked against their SHA-256. To use another cache directory, "
                 f"pass data_home=... or set the {ENV_VAR} environment variable.")
    if hint:
        lines.append(hint)
    return "\n".join(lines)
