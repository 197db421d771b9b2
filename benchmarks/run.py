"""Speed and memory of scratchnn, side by side with PyTorch and with the bare matrix products.

Run with ``make bench`` (or ``python benchmarks/run.py --help``). Everything runs in one
process, interleaved (scratchnn, torch, GEMM floor, then again), several repetitions; the
medians and ratios are printed as a Markdown table for docs/performance.md.

What is measured
* seconds per epoch of an MLP 784-256-128-10 (ReLU, softmax cross-entropy, Adam, batch 128,
  float32) on 60,000 x 784 inputs (MNIST when cached, else random data of the same shape):
  ``scratchnn``'s ``fit``; the same network in PyTorch on the CPU with the same thread count
  (when torch is installed); and the GEMM floor: only the forward and backward matrix
  products of every batch, at this machine's BLAS. Each model trains for ``--epochs``
  epochs (default 3) and the mean epoch counts, because later epochs can be slower than the
  first (optimizer state decaying into subnormal numbers); the first epoch is shown too.
  A fourth contender, the same training hand-fused in NumPy (``FusedNumpyLoop``), separates
  the library's overhead from NumPy's; all four are interleaved epoch by epoch;
* float64 against float32, ``predict`` throughput, the peak memory of ``fit``;
* a small CNN (``Conv2D``/``MaxPool2D``, channels first) on the first ``--cnn-samples`` images
  as 1x28x28, scratchnn against the same network in PyTorch, interleaved the same way;
* the execution time of each master notebook (``--notebooks``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "source"))

import scratchnn as snn  # noqa: E402
from scratchnn import _fused  # noqa: E402
from scratchnn.activations import ReLU  # noqa: E402
from scratchnn.layers import Dense  # noqa: E402

SIZES = (784, 256, 128, 10)
BATCH = 128


def load_data(n: int, seed: int = 0):
    """MNIST's training set if it is in the cache, else random data of the same shape."""
    try:
        (x, y), _ = snn.datasets.load_mnist(timeout=2, progress=False)
        source = "MNIST (cached)"
    except Exception:  # offline and no cache: same shapes, random values
        rng = np.random.default_rng(seed)
        x = rng.random((60_000, 784), dtype=np.float32)
        y = rng.integers(0, 10, 60_000)
        source = "random data of MNIST's shape"
    return x[:n], y[:n], source


def make_model(dtype=np.float32, seed: int = 0):
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        layers.append(Dense(a, b))
        if i < len(SIZES) - 2:
            layers.append(ReLU())
    model = snn.Sequential(layers, seed=seed, dtype=dtype)
    model.compile("cross_entropy", snn.optimizers.Adam(1e-3), metrics=["accuracy"])
    return model


def scratchnn_trainer(x, y, dtype=np.float32):
    """A fresh model; returns ``run_epoch() -> seconds`` that trains it one more epoch."""
    model = make_model(dtype)

    def run_epoch() -> float:
        start = time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
        return time.perf_counter() - start
    return run_epoch


class FusedNumpyLoop:
    """The same training written as tightly as NumPy allows: what pure NumPy can do at best.

    No layers, losses or optimizer objects: all parameters and their gradients live in one
    flat buffer each (so Adam is 12 ufunc calls per step instead of 12 per parameter), every
    product and activation writes into a preallocated array (``out=``), and the loss gradient
    is computed in place. It takes the same steps as ``scratchnn`` (checked in
    ``tests/test_project.py``), so ``scratchnn`` / this loop is the price of the library's
    structure, and this loop / the GEMM floor is the price of NumPy itself.
    """

    def __init__(self, weights, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        shapes = [np.shape(w) for w in weights]
        sizes = [int(np.prod(sh)) for sh in shapes]
        dtype = np.result_type(*weights)
        self.flat = np.concatenate([np.ravel(w) for w in weights]).astype(dtype)
        self.grad = np.zeros_like(self.flat)
        self.m, self.v, self.tmp = (np.zeros_like(self.flat) for _ in range(3))
        ends = np.cumsum(sizes)
        self.params = [self.flat[e - n:e].reshape(sh) for e, n, sh in zip(ends, sizes, shapes,
                                                                          strict=True)]
        self.grads = [self.grad[e - n:e].reshape(sh) for e, n, sh in zip(ends, sizes, shapes,
                                                                         strict=True)]
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        widths = [sh[1] for sh in shapes[::2]]
        self._acts = [np.empty((BATCH, w), dtype) for w in widths]  # layer outputs
        self._deltas = [np.empty((BATCH, w), dtype) for w in widths[:-1]]  # dL/d(hidden)

    def step(self, xb, yb) -> None:
        """One forward, backward and Adam step on a batch (``N <= BATCH`` rows)."""
        n = xb.shape[0]
        weights, biases = self.params[0::2], self.params[1::2]
        acts = [a[:n] for a in self._acts]
        inputs = [xb] + acts[:-1]
        for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
            np.matmul(inputs[i], W, out=acts[i])
            np.add(acts[i], b, out=acts[i])
            if i < len(weights) - 1:
                np.maximum(acts[i], 0, out=acts[i])
        z = acts[-1]  # softmax - one-hot, / N, in place
        np.subtract(z, z.max(axis=1, keepdims=True), out=z)
        np.exp(z, out=z)
        np.divide(z, z.sum(axis=1, keepdims=True), out=z)
        z[np.arange(n), yb] -= 1
        np.multiply(z, 1.0 / n, out=z)
        delta = z
        for i in range(len(weights) - 1, -1, -1):
            np.matmul(inputs[i].T, delta, out=self.grads[2 * i])
            np.sum(delta, axis=0, out=self.grads[2 * i + 1])
            if i:
                below = self._deltas[i - 1][:n]
                np.matmul(delta, weights[i].T, out=below)
                np.multiply(below, inputs[i] > 0, out=below)
                delta = below
        self.t += 1  # the library's own in-place Adam, once, on the flat buffers
        _fused.adam(self.flat, self.grad, self.m, self.v, self.t, self.lr, self.beta1,
                    self.beta2, self.eps, self.tmp)
        if self.t % snn.optimizers.Optimizer._flush_every == 0:  # as scratchnn's optimizers do
            snn.functional.flush_to_zero(self.m, scratch=self.tmp)
            snn.functional.flush_to_zero(self.v, scratch=self.tmp)


def fused_numpy_trainer(x, y):
    """The loop above from the same initial weights as ``make_model``; returns
    ``run_epoch() -> seconds`` (same shuffling scheme, the last partial batch included)."""
    loop = FusedNumpyLoop(make_model().get_weights())
    rng = np.random.default_rng(0)

    def run_epoch() -> float:
        start = time.perf_counter()
        order = rng.permutation(x.shape[0])
        for s in range(0, x.shape[0], BATCH):
            idx = order[s:s + BATCH]
            loop.step(x[idx], y[idx])
        return time.perf_counter() - start
    return run_epoch


def time_gemm_floor(x) -> float:
    """Only the matrix products one training epoch needs: per layer x @ W forward, and
    backward grad @ W.T (not for the first layer: nothing needs dL/dinput) and x.T @ grad."""
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((a, b)).astype(x.dtype) for a, b in
               zip(SIZES[:-1], SIZES[1:], strict=True)]
    order = rng.permutation(x.shape[0])
    start = time.perf_counter()
    for s in range(0, x.shape[0], BATCH):
        xb = x[order[s:s + BATCH]]
        acts = [xb]
        for W in weights:
            acts.append(acts[-1] @ W)
        grad = acts[-1]
        for i in range(len(weights) - 1, -1, -1):
            _ = acts[i].T @ grad
            if i:
                grad = grad @ weights[i].T
    return time.perf_counter() - start


def torch_trainer(x, y, threads: int):
    """The same network in PyTorch; returns ``run_epoch() -> seconds`` (None without torch)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    gen = torch.Generator().manual_seed(0)

    def run_epoch() -> float:
        start = time.perf_counter()
        order = torch.randperm(xt.shape[0], generator=gen)
        correct = 0
        for s in range(0, xt.shape[0], BATCH):
            idx = order[s:s + BATCH]
            xb, yb = xt[idx], yt[idx]
            opt.zero_grad(set_to_none=True)
            out = net(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            correct += int((out.argmax(1) == yb).sum())  # the same bookkeeping as fit
        return time.perf_counter() - start
    return run_epoch


def peak_fit_memory(x, y) -> float:
    """Peak bytes NumPy allocated during one epoch of ``fit`` (tracemalloc sees NumPy)."""
    model = make_model()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def predict_throughput(x) -> float:
    model = make_model()
    model.predict(x[:1024])
    start = time.perf_counter()
    model.predict(x)
    return x.shape[0] / (time.perf_counter() - start)


def notebook_times() -> dict[str, float]:
    import nbformat
    from nbclient import NotebookClient

    from coursekit.settings import CourseSettings

    settings = CourseSettings.read(ROOT)
    times = {}
    for path in [p for a in settings.with_masters() for p in settings.masters(a)]:
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        times[str(path.relative_to(ROOT))] = time.perf_counter() - start
    return times


def playground_redraw_cpu(moves: int = 8) -> float:
    """Median CPU seconds (process time: what the kernel spends, whatever else the machine does)
    for one slider move of notebook 01's neuron playground; the target is < 0.25 s."""
    from scratchnn import functional as F
    from scratchnn.interactive import neuron_playground

    rng = np.random.default_rng(1)
    points = (np.vstack([rng.normal([-1.0, 1.0], 0.6, size=(20, 2)),
                         rng.normal([1.0, -0.5], 0.6, size=(20, 2))]), np.repeat([0, 1], 20))
    box = neuron_playground({"sigmoid": F.sigmoid, "relu": F.relu}, w1=0.5, w2=1.0,
                            points=points)
    times = []
    for value in np.linspace(0.6, 2.0, moves):
        start = time.process_time()
        box.controls["w1"].value = float(value)
        times.append(time.process_time() - start)
    return statistics.median(times)


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
        info = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}, "
                f"{i['num_threads']} threads)" for i in threadpool_info()
                if i["user_api"] == "blas"]
        return "; ".join(info) or "unknown"
    except ImportError:
        return "unknown (install threadpoolctl)"


CNN_CHANNELS = (8, 16)  # conv 3x3 (padding 1) + ReLU + 2x2 max-pool, twice; then Dense -> 10


def cnn_trainers(x, y, threads: int):
    """``{"scratchnn": run_epoch, "torch": run_epoch}`` for the same CNN on ``x (N, 784)`` as
    ``(N, 1, 28, 28)`` images, batch 128, Adam; torch only when it is installed."""
    from scratchnn.layers import Conv2D, Flatten, MaxPool2D

    images = np.ascontiguousarray(x.reshape(-1, 1, 28, 28))
    c1, c2 = CNN_CHANNELS
    model = snn.Sequential([Conv2D(1, c1, 3, padding=1), ReLU(), MaxPool2D(2),
                            Conv2D(c1, c2, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(),
                            Dense(c2 * 7 * 7, 10)], seed=0)
    model.compile("cross_entropy", snn.optimizers.Adam(1e-3), metrics=["accuracy"])

    def ours() -> float:
        start = time.perf_counter()
        model.fit(images, y, epochs=1, batch_size=BATCH, verbose=0)
        return time.perf_counter() - start

    trainers = {"scratchnn": ours}
    try:
        import torch
    except ImportError:
        return trainers
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(c2 * 7 * 7, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(images), torch.from_numpy(y.astype(np.int64))
    gen = torch.Generator().manual_seed(0)

    def theirs() -> float:
        start = time.perf_counter()
        order = torch.randperm(xt.shape[0], generator=gen)
        for s in range(0, xt.shape[0], BATCH):
            idx = order[s:s + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        return time.perf_counter() - start

    trainers["torch"] = theirs
    return trainers


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--epochs", type=int, default=3, help="epochs per model (mean counts)")
    parser.add_argument("--notebooks", action="store_true", help="also time every master")
    parser.add_argument("--cnn-samples", type=int, default=6_000,
                        help="images for the CNN comparison (0: skip it)")
    args = parser.parse_args(argv)

    x, y, source = load_data(args.samples)
    print(f"# scratchnn benchmark\n\nmachine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; Python {platform.python_version()}, NumPy "
          f"{np.__version__}; BLAS: {blas_info()}\ndata: {x.shape[0]} x {x.shape[1]} "
          f"float32, {source}; repeats: {args.repeats}, epochs per model: {args.epochs}\n")
    runs = {"scratchnn": [], "torch": [], "fused NumPy loop": [], "floor": []}  # mean epochs
    firsts = {"scratchnn": [], "torch": []}  # first epoch of each run
    for _ in range(args.repeats):
        trainers = {"scratchnn": scratchnn_trainer(x, y),
                    "torch": torch_trainer(x, y, args.threads),
                    "fused NumPy loop": fused_numpy_trainer(x, y),
                    "floor": lambda: time_gemm_floor(x)}
        trainers = {k: v for k, v in trainers.items() if v is not None}
        epochs = {k: [] for k in trainers}
        # Interleaved epoch by epoch: this shared machine drifts between two speed levels
        # within seconds, and every contender should see the same mix.
        for _ in range(args.epochs):
            for name, run_epoch in trainers.items():
                epochs[name].append(run_epoch())
        for name, times in epochs.items():
            runs[name].append(statistics.mean(times))
            if name in firsts:
                firsts[name].append(times[0])
    med = {k: statistics.median(v) for k, v in runs.items() if v}
    print("| what | median s/epoch | all runs (mean epoch) | median first epoch |\n"
          "|---|---|---|---|")
    for k, v in runs.items():
        if v:
            first = f"{statistics.median(firsts[k]):.3f}" if firsts.get(k) else ""
            print(f"| {k} | {med[k]:.3f} | {', '.join(f'{t:.3f}' for t in v)} | {first} |")
    if "torch" in med:
        ratios = [a / b for a, b in zip(runs["scratchnn"], runs["torch"], strict=True)]
        print(f"\nscratchnn / torch: median ratio {statistics.median(ratios):.2f} "
              f"(runs {', '.join(f'{r:.2f}' for r in ratios)})")
    loop_ratios = [a / b for a, b in zip(runs["scratchnn"], runs["fused NumPy loop"],
                                         strict=True)]
    loop_floor = [a / b for a, b in zip(runs["fused NumPy loop"], runs["floor"], strict=True)]
    print(f"scratchnn / fused NumPy loop: {statistics.median(loop_ratios):.2f} (runs "
          f"{', '.join(f'{r:.2f}' for r in loop_ratios)}); fused NumPy loop / GEMM floor: "
          f"{statistics.median(loop_floor):.2f} (runs {', '.join(f'{r:.2f}' for r in loop_floor)})")
    floor_ratios = [a / b for a, b in zip(runs["scratchnn"], runs["floor"], strict=True)]
    print(f"scratchnn / GEMM floor: {statistics.median(floor_ratios):.2f} median of the runs' "
          f"ratios (runs {', '.join(f'{r:.2f}' for r in floor_ratios)}); ratio of the "
          f"medians {med['scratchnn'] / med['floor']:.2f}")

    t64 = statistics.median(scratchnn_trainer(x, y, np.float64)() for _ in range(3))
    first32 = statistics.median(firsts["scratchnn"])
    print(f"\nfloat64 first epoch: {t64:.3f} s ({t64 / first32:.2f}x float32)")
    print(f"predict throughput: {predict_throughput(x):,.0f} samples/s")
    peak = peak_fit_memory(x, y)
    print(f"peak NumPy memory during fit: {peak / 2**20:.1f} MiB "
          f"(dataset {x.nbytes / 2**20:.1f} MiB; target: extra <= 100 MiB beyond the data)")
    if args.cnn_samples:
        n = args.cnn_samples
        cnn: dict[str, list[float]] = {}
        for _ in range(args.repeats):
            trainers = cnn_trainers(x[:n], y[:n], args.threads)
            for run_epoch in trainers.values():  # one warm-up epoch, then the timed one
                run_epoch()
            for name, run_epoch in trainers.items():
                cnn.setdefault(name, []).append(run_epoch())
        print(f"\nCNN ({n} images 1x28x28; conv3x3-{CNN_CHANNELS[0]}, pool, "
              f"conv3x3-{CNN_CHANNELS[1]}, pool, dense; Adam, batch {BATCH}), s/epoch: "
              + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in cnn.items()))
        if "torch" in cnn:
            ratios = [a / b for a, b in zip(cnn["scratchnn"], cnn["torch"], strict=True)]
            print(f"CNN scratchnn / torch: median ratio {statistics.median(ratios):.2f} "
                  f"(runs {', '.join(f'{r:.2f}' for r in ratios)})")
    if args.notebooks:
        print(f"\nneuron playground: {playground_redraw_cpu():.3f} s of CPU per slider move "
              f"(median of 8; target < 0.25)")
        print("\n| notebook | seconds |\n|---|---|")
        for name, seconds in notebook_times().items():
            print(f"| {name} | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
