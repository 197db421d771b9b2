"""Tests for the downloading loaders (load_mnist, load_fashion_mnist, load_cifar10).

They run the real download path (urllib, temporary file, SHA-256, rename) against a local
``ThreadingHTTPServer`` on 127.0.0.1 that serves small files generated here in the real
formats: gzipped IDX files with 20 train / 10 test images, and a ``cifar-10-binary.tar.gz``
with the real member names. The first path segment of a URL picks how the server behaves:
``/good/``, ``/corrupt/`` (one byte flipped), ``/error/`` (HTTP 500), ``/cut/`` (announces
more bytes than it sends, then closes) and ``/slow/`` (stalls after a few bytes). Every cache
lives under ``tmp_path``; nothing touches the real ``~/.cache`` or any other host.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import socket
import sys
import tarfile
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

from scratchnn import datasets
from scratchnn._download import get_data_home

TIMEOUT = 2.0
N_TRAIN, N_TEST = 20, 10


# ------------------------------------------------------------------------------------------------
# generated files in the real formats
# ------------------------------------------------------------------------------------------------
def idx_bytes(arr: np.ndarray) -> bytes:
    """Uncompressed IDX encoding of a uint8 array: magic 00 00 08 ndim, big-endian sizes."""
    header = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_mnist(seed: int):
    rng = np.random.default_rng(seed)
    x_tr = rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8)
    x_te = rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8)
    x_tr[0, 0, :2] = (0, 255)  # both ends of the range
    y_tr = np.arange(N_TRAIN, dtype=np.uint8) % 10
    y_te = rng.integers(0, 10, N_TEST, dtype=np.uint8)
    arrays = {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te}
    files = {
        "train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(x_tr), mtime=0),
        "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(y_tr), mtime=0),
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(x_te), mtime=0),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(y_te), mtime=0),
    }
    return arrays, files


CIFAR_DIR = "cifar-10-batches-bin/"
CIFAR_TRAIN_MEMBERS = [f"{CIFAR_DIR}data_batch_{i}.bin" for i in range(1, 6)]
CIFAR_TEST_MEMBER = f"{CIFAR_DIR}test_batch.bin"


def make_cifar_tar(records: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in records.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_cifar(seed: int):
    """4 records in each of the 5 training batches, 10 test records; raw (n, 3073) uint8."""
    rng = np.random.default_rng(seed)
    raw = {}
    for name in CIFAR_TRAIN_MEMBERS:
        raw[name] = rng.integers(0, 256, (4, 3073), dtype=np.uint8)
    raw[CIFAR_TEST_MEMBER] = rng.integers(0, 256, (N_TEST, 3073), dtype=np.uint8)
    for rec in raw.values():
        rec[:, 0] = rng.integers(0, 10, len(rec))
    members = {f"{CIFAR_DIR}batches.meta.txt": b"airplane\nautomobile\n"}
    members.update({name: rec.tobytes() for name, rec in raw.items()})
    members[f"{CIFAR_DIR}readme.html"] = b"<html></html>"
    return raw, make_cifar_tar(members)


MNIST_ARRAYS, MNIST_FILES = make_mnist(0)
MNIST_SUMS = {name: sha256(data) for name, data in MNIST_FILES.items()}
CIFAR_RAW, CIFAR_TAR = make_cifar(1)
CIFAR_SUMS = {"cifar-10-binary.tar.gz": sha256(CIFAR_TAR)}


# ------------------------------------------------------------------------------------------------
# the local server
# ------------------------------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    timeout = 5  # a stuck client never holds a server thread for long

    def do_GET(self):  # noqa: N802 (http.server's naming)
        state = self.server.state
        mode, _, name = self.path.lstrip("/").partition("/")
        state.requests.append((mode, name))
        body = state.files.get(name)
        if body is None:
            self.send_error(404)
            return
        if mode == "error":
            self.send_error(500, "boom")
            return
        if mode == "corrupt":
            body = bytearray(body)
            body[len(body) // 2] ^= 0xFF
            body = bytes(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if mode == "cut":  # promise more than we send, then close the connection
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "slow":  # a few bytes, then silence until the client gives up
            self.wfile.write(body[:10])
            self.wfile.flush()
            state.stop.wait(3.0)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 with a request log and per-test files."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.stop = threading.Event()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = self
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{mode}/"

    def count(self, mode=None, name=None) -> int:
        return sum(1 for m, n in self.requests
                   if (mode is None or m == mode) and (name is None or n == name))

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    srv = LocalServer()
    srv.files.update(MNIST_FILES)
    srv.files["cifar-10-binary.tar.gz"] = CIFAR_TAR
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def closed_url():
    """A URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """No test may fall back to the real ~/.cache: HOME and SCRATCHNN_DATA point into tmp."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SCRATCHNN_DATA", raising=False)


def files_in(directory: Path) -> list[str]:
    """Every file under ``directory`` (hidden temporary files included), relative, sorted."""
    if not directory.exists():
        return []
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def mnist(srv, modes, cache, **kwargs):
    kwargs.setdefault("checksums", MNIST_SUMS)
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("progress", False)
    return datasets.load_mnist(data_home=cache, mirrors=[srv.url(m) for m in modes], **kwargs)


def expected_mnist(flatten: bool):
    a = MNIST_ARRAYS
    xs = [a["x_train"].astype(np.float32) / 255, a["x_test"].astype(np.float32) / 255]
    if flatten:
        xs = [x.reshape(len(x), 784) for x in xs]
    return (xs[0], a["y_train"].astype(np.int64)), (xs[1], a["y_test"].astype(np.int64))


def assert_same_split(got, want):
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        assert gx.dtype == np.float32 and gy.dtype == np.int64
        assert gx.shape == wx.shape and gy.shape == wy.shape
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)


# ------------------------------------------------------------------------------------------------
# success
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flatten, shape", [(True, (784,)), (False, (28, 28))])
def test_mnist_download_parse_and_scale(server, tmp_path, flatten, shape):
    got = mnist(server, ["good"], tmp_path / "c", flatten=flatten)
    (x_tr, y_tr), (x_te, y_te) = got
    assert x_tr.shape == (N_TRAIN, *shape) and x_te.shape == (N_TEST, *shape)
    assert x_tr.min() == 0.0 and x_tr.max() == 1.0
    assert_same_split(got, expected_mnist(flatten))
    assert files_in(tmp_path / "c") == sorted(f"mnist/{n}" for n in MNIST_FILES)
    assert server.count("good") == 4


def test_fashion_mnist_download_into_its_own_directory(server, tmp_path):
    got = datasets.load_fashion_mnist(data_home=tmp_path / "c", mirrors=(server.url("good"),),
                                      checksums=MNIST_SUMS, timeout=TIMEOUT, progress=False)
    assert_same_split(got, expected_mnist(True))
    assert files_in(tmp_path / "c") == sorted(f"fashion_mnist/{n}" for n in MNIST_FILES)
    (x, _), _ = datasets.load_fashion_mnist(flatten=False, data_home=tmp_path / "c",
                                            mirrors=(server.url("good"),),
                                            checksums=MNIST_SUMS, progress=False)
    assert x.shape == (N_TRAIN, 28, 28)


@pytest.mark.parametrize("flatten", [True, False])
def test_cifar10_download_parse_channels_last(server, tmp_path, flatten):
    (x_tr, y_tr), (x_te, y_te) = datasets.load_cifar10(
        flatten=flatten, data_home=tmp_path / "c", mirrors=[server.url("good")],
        checksums=CIFAR_SUMS, timeout=TIMEOUT, progress=False)
    assert files_in(tmp_path / "c") == ["cifar10/cifar-10-binary.tar.gz"]
    assert x_tr.dtype == x_te.dtype == np.float32 and y_tr.dtype == y_te.dtype == np.int64
    assert 0.0 <= x_tr.min() and x_tr.max() <= 1.0
    want_shape = (3072,) if flatten else (32, 32, 3)
    assert x_tr.shape == (N_TRAIN, *want_shape) and x_te.shape == (N_TEST, *want_shape)
    train_raw = np.concatenate([CIFAR_RAW[m] for m in CIFAR_TRAIN_MEMBERS])  # batches 1..5
    test_raw = CIFAR_RAW[CIFAR_TEST_MEMBER]
    np.testing.assert_array_equal(y_tr, train_raw[:, 0])
    np.testing.assert_array_equal(y_te, test_raw[:, 0])
    # pixel (row r, column c, channel ch) is byte 1 + ch*1024 + r*32 + c of its record
    for x, raw in ((x_tr, train_raw), (x_te, test_raw)):
        img = x.reshape(len(x), 32, 32, 3)
        for i, r, c, ch in [(0, 0, 0, 0), (1, 5, 7, 1), (len(x) - 1, 31, 31, 2), (3, 31, 0, 2)]:
            assert img[i, r, c, ch] == np.float32(raw[i, 1 + ch * 1024 + r * 32 + c]) / 255
        want = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) / np.float32(255)
        np.testing.assert_array_equal(img, want)


def test_default_mirrors_are_the_module_tuples(server, tmp_path, monkeypatch):
    assert set(datasets.MNIST_SHA256) == set(datasets.MNIST_FILES)
    for table in (datasets.MNIST_SHA256, datasets.FASHION_MNIST_SHA256,
                  datasets.CIFAR10_SHA256):
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in table.values())
    for mirrors in (datasets.MNIST_MIRRORS, datasets.FASHION_MNIST_MIRRORS,
                    datasets.CIFAR10_MIRRORS):
        assert isinstance(mirrors, tuple) and all(m.startswith("http") for m in mirrors)
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (server.url("good"),))
    got = datasets.load_mnist(data_home=tmp_path / "c", checksums=MNIST_SUMS, progress=False)
    assert_same_split(got, expected_mnist(True))


# ------------------------------------------------------------------------------------------------
# failing mirrors
# ------------------------------------------------------------------------------------------------
def test_checksum_mismatch_rejected_and_next_mirror_used(server, tmp_path):
    got = mnist(server, ["corrupt", "good"], tmp_path / "c")
    assert_same_split(got, expected_mnist(True))
    assert server.count("corrupt") == 4 and server.count("good") == 4
    cache = tmp_path / "c" / "mnist"
    assert files_in(cache) == sorted(MNIST_FILES)
    for name, data in MNIST_FILES.items():
        assert (cache / name).read_bytes() == data


def test_checksum_mismatch_everywhere_raises_and_caches_nothing(server, tmp_path):
    with pytest.raises(datasets.DatasetUnavailable, match="checksum mismatch"):
        mnist(server, ["corrupt"], tmp_path / "c")
    assert files_in(tmp_path / "c") == []


def test_http_500_then_next_mirror(server, tmp_path):
    got = mnist(server, ["error", "good"], tmp_path / "c")
    assert_same_split(got, expected_mnist(True))
    assert server.count("error") == 4  # a server error is per file: the mirror is kept
    with pytest.raises(datasets.DatasetUnavailable, match="HTTP 500"):
        mnist(server, ["error"], tmp_path / "other")


def test_interrupted_transfer_then_next_mirror(server, tmp_path):
    got = mnist(server, ["cut", "good"], tmp_path / "c")
    assert_same_split(got, expected_mnist(True))
    assert server.count("cut") == 4
    assert files_in(tmp_path / "c") == sorted(f"mnist/{n}" for n in MNIST_FILES)


def test_interrupted_transfer_alone_is_a_clear_error_with_no_partial_file(server, tmp_path):
    with pytest.raises(datasets.DatasetUnavailable) as info:
        datasets.load_cifar10(data_home=tmp_path / "c", mirrors=[server.url("cut")],
                              checksums=CIFAR_SUMS, timeout=TIMEOUT, progress=False)
    assert "interrupted" in str(info.value)
    assert f"of {len(CIFAR_TAR) + 1000} bytes" in str(info.value)
    assert files_in(tmp_path / "c") == []


def test_stalled_mirror_times_out_and_is_skipped(server, tmp_path):
    # (no wall-clock assert: a test asserts behaviour; the mirror counts show the time-out)
    got = mnist(server, ["slow", "good"], tmp_path / "c", timeout=0.5)
    assert_same_split(got, expected_mnist(True))
    # after the first time-out the stalled mirror is not tried for the other files
    assert server.count("slow") == 1 and server.count("good") == 4
    assert files_in(tmp_path / "c") == sorted(f"mnist/{n}" for n in MNIST_FILES)


# ------------------------------------------------------------------------------------------------
# the cache
# ------------------------------------------------------------------------------------------------
def test_cache_hit_makes_no_request(server, tmp_path, closed_url):
    first = mnist(server, ["good"], tmp_path / "c")
    assert server.count() == 4
    second = mnist(server, ["good"], tmp_path / "c")
    assert server.count() == 4
    assert_same_split(second, first)
    # and the cache alone is enough: no reachable mirror at all
    third = datasets.load_mnist(data_home=tmp_path / "c", mirrors=[closed_url],
                                checksums=MNIST_SUMS, timeout=TIMEOUT, progress=False)
    assert_same_split(third, first)


def test_corrupt_cached_file_is_deleted_and_fetched_again(server, tmp_path):
    mnist(server, ["good"], tmp_path / "c")
    cached = tmp_path / "c" / "mnist" / "train-images-idx3-ubyte.gz"
    cached.write_bytes(b"not the real file")
    got = mnist(server, ["good"], tmp_path / "c")
    assert_same_split(got, expected_mnist(True))
    assert cached.read_bytes() == MNIST_FILES["train-images-idx3-ubyte.gz"]
    assert server.count(name="train-images-idx3-ubyte.gz") == 2
    assert server.count(name="t10k-images-idx3-ubyte.gz") == 1
    assert files_in(tmp_path / "c") == sorted(f"mnist/{n}" for n in MNIST_FILES)


def test_corrupt_cached_file_offline_is_reported(tmp_path, closed_url):
    cache = tmp_path / "c" / "cifar10"
    cache.mkdir(parents=True)
    (cache / "cifar-10-binary.tar.gz").write_bytes(b"truncated")
    with pytest.raises(datasets.DatasetUnavailable, match="cached copy had SHA-256"):
        datasets.load_cifar10(data_home=tmp_path / "c", mirrors=[closed_url],
                              checksums=CIFAR_SUMS, timeout=TIMEOUT, progress=False)
    assert files_in(cache) == []


def test_env_var_and_data_home_precedence(server, tmp_path, monkeypatch):
    env_dir, arg_dir = tmp_path / "env", tmp_path / "arg"
    monkeypatch.setenv("SCRATCHNN_DATA", str(env_dir))
    assert get_data_home() == env_dir
    assert get_data_home(arg_dir) == arg_dir
    urls = [server.url("good")]
    datasets.load_mnist(mirrors=urls, checksums=MNIST_SUMS, progress=False)
    assert files_in(env_dir) == sorted(f"mnist/{n}" for n in MNIST_FILES)
    datasets.load_mnist(data_home=arg_dir, mirrors=urls, checksums=MNIST_SUMS, progress=False)
    assert files_in(arg_dir) == sorted(f"mnist/{n}" for n in MNIST_FILES)
    assert server.count() == 8  # the argument's directory did not reuse the env var's cache
    # without either: ~/.cache/scratchnn (HOME points into tmp_path here)
    monkeypatch.delenv("SCRATCHNN_DATA")
    default = tmp_path / "home" / ".cache" / "scratchnn"
    assert get_data_home() == default
    datasets.load_mnist(mirrors=urls, checksums=MNIST_SUMS, progress=False)
    assert files_in(default) == sorted(f"mnist/{n}" for n in MNIST_FILES)
    monkeypatch.setenv("SCRATCHNN_DATA", "")  # empty means unset
    assert get_data_home() == default


# ------------------------------------------------------------------------------------------------
# offline
# ------------------------------------------------------------------------------------------------
def test_offline_without_fallback_raises_with_instructions(tmp_path, closed_url):
    cache = tmp_path / "c"
    with pytest.raises(datasets.DatasetUnavailable) as info:
        datasets.load_mnist(data_home=cache, mirrors=[closed_url, closed_url + "mirror2/"],
                            checksums=MNIST_SUMS, timeout=TIMEOUT, progress=False)
    err = info.value
    assert isinstance(err, OSError) and isinstance(err, RuntimeError)
    message = str(err)
    for name in MNIST_FILES:
        assert name in message
        assert str(cache / "mnist" / name) in message
    assert str(cache / "mnist") in message
    assert "SCRATCHNN_DATA" in message and 'fallback="digits"' in message
    assert err.files == tuple(MNIST_FILES) and err.directory == cache / "mnist"
    assert files_in(cache) == []


def test_offline_cifar10_names_the_archive_and_directory(tmp_path, closed_url):
    with pytest.raises(datasets.DatasetUnavailable) as info:
        datasets.load_cifar10(data_home=tmp_path / "c", mirrors=[closed_url],
                              checksums=CIFAR_SUMS, timeout=TIMEOUT, progress=False)
    assert "cifar-10-binary.tar.gz" in str(info.value)
    assert str(tmp_path / "c" / "cifar10") in str(info.value)


def test_offline_fallback_to_digits_warns_once(tmp_path, closed_url, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.setattr(datasets, "_digits_fallback_warned", False)
    kwargs = dict(data_home=tmp_path / "c", mirrors=[closed_url], checksums=MNIST_SUMS,
                  timeout=TIMEOUT, progress=False, fallback="digits")
    with pytest.warns(UserWarning, match="8x8 digits") as record:
        (x_tr, y_tr), (x_te, y_te) = datasets.load_mnist(**kwargs)
    assert str(tmp_path / "c" / "mnist") in str(record[0].message)
    assert x_tr.shape == (1437, 64) and x_te.shape == (360, 64)
    assert x_tr.dtype == np.float32 and y_tr.dtype == y_te.dtype == np.int64
    assert 0.0 <= x_tr.min() and x_tr.max() <= 1.0
    assert set(np.unique(y_tr)) == set(range(10))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (x_tr2, y_tr2), (x_te2, _) = datasets.load_mnist(flatten=False, **kwargs)
    assert not [w for w in caught if "8x8 digits" in str(w.message)]
    assert x_tr2.shape == (1437, 8, 8) and x_te2.shape == (360, 8, 8)
    np.testing.assert_array_equal(x_tr2.reshape(-1, 64), x_tr)
    np.testing.assert_array_equal(y_tr2, y_tr)


def test_fallback_is_not_used_when_mnist_is_available(server, tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "_digits_fallback_warned", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = mnist(server, ["good"], tmp_path / "c", fallback="digits")
    assert_same_split(got, expected_mnist(True))


# ------------------------------------------------------------------------------------------------
# progress bar, bad files, bad arguments
# ------------------------------------------------------------------------------------------------
def test_progress_bar_shows_while_downloading(server, tmp_path, capsys):
    pytest.importorskip("tqdm")
    mnist(server, ["good"], tmp_path / "a", progress=True)
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err
    mnist(server, ["good"], tmp_path / "b", progress=False)
    assert capsys.readouterr().err == ""


def test_progress_is_silent_without_tqdm(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import raises ImportError
    got = mnist(server, ["good"], tmp_path / "c", progress=True)
    assert_same_split(got, expected_mnist(True))
    assert capsys.readouterr().err == ""


def test_malformed_idx_file_is_a_clear_error(server, tmp_path):
    bad = gzip.compress(b"\x00\x00\x08\x03" + np.array([5, 28, 28], ">u4").tobytes() + b"xx")
    server.files["train-images-idx3-ubyte.gz"] = bad
    sums = {**MNIST_SUMS, "train-images-idx3-ubyte.gz": sha256(bad)}
    with pytest.raises(ValueError, match="IDX header says shape"):
        mnist(server, ["good"], tmp_path / "c", checksums=sums)
    not_idx = gzip.compress(b"PK\x03\x04 something else")
    server.files["train-images-idx3-ubyte.gz"] = not_idx
    sums["train-images-idx3-ubyte.gz"] = sha256(not_idx)
    with pytest.raises(ValueError, match="not an IDX file"):
        mnist(server, ["good"], tmp_path / "d", checksums=sums)


def test_cifar_archive_without_a_batch_is_a_clear_error(server, tmp_path):
    members = {name: rec.tobytes() for name, rec in CIFAR_RAW.items()
               if name != CIFAR_TEST_MEMBER}
    tar = make_cifar_tar(members)
    server.files["cifar-10-binary.tar.gz"] = tar
    with pytest.raises(ValueError, match="test_batch.bin"):
        datasets.load_cifar10(data_home=tmp_path / "c", mirrors=[server.url("good")],
                              checksums={"cifar-10-binary.tar.gz": sha256(tar)},
                              progress=False)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="fallback"):
        datasets.load_mnist(fallback="emnist", data_home=tmp_path)
    with pytest.raises(ValueError, match="unknown files"):
        datasets.load_mnist(checksums={"train.gz": "0" * 64}, data_home=tmp_path)
    with pytest.raises(ValueError, match="SHA-256"):
        datasets.load_cifar10(checksums={"cifar-10-binary.tar.gz": "abc"}, data_home=tmp_path)
    with pytest.raises(ValueError, match="only http"):
        datasets.load_mnist(mirrors=["ftp://127.0.0.1/"], checksums=MNIST_SUMS,
                            data_home=tmp_path)
    with pytest.raises(ValueError, match="timeout"):
        datasets.load_mnist(timeout=0, checksums=MNIST_SUMS, data_home=tmp_path)
    assert files_in(tmp_path) == []


def test_file_url_mirror(tmp_path):
    """A local directory works as a mirror too (file:// URL), e.g. a shared course drive."""
    share = tmp_path / "share"
    share.mkdir()
    for name, data in MNIST_FILES.items():
        if name != "t10k-labels-idx1-ubyte.gz":  # one file only on the second mirror
            (share / name).write_bytes(data)
    share2 = tmp_path / "share2"
    share2.mkdir()
    (share2 / "t10k-labels-idx1-ubyte.gz").write_bytes(MNIST_FILES["t10k-labels-idx1-ubyte.gz"])
    got = datasets.load_mnist(data_home=tmp_path / "c",
                              mirrors=[share.as_uri(), share2.as_uri()],
                              checksums=MNIST_SUMS, progress=False)
    assert_same_split(got, expected_mnist(True))
