"""A convolutional network (Conv2D, MaxPool2D) against a multilayer perceptron.

By default on scikit-learn's bundled 8x8 digits (no download), as 1x8x8 images in the
channels-first layout ``(N, C, H, W)`` that ``Conv2D`` expects: two 3x3 convolutions, one
2x2 max-pool, then a small dense head. An MLP with the same optimizer, batch size and number
of epochs is trained next to it; the CNN's weight sharing and local receptive fields give it
the higher test accuracy (measured 0.986 vs 0.969 with seed 0).

``--dataset cifar10`` trains a wider CNN on CIFAR-10 (32x32 colour images) when it is
cached (``scratchnn.datasets.load_cifar10``; 170 MB download otherwise), where an MLP stays
near 50 %; an epoch of 50,000 images takes minutes on a laptop CPU. ``--limit`` trains on
the first images only.

Run:  python examples/cnn.py [--epochs 15] [--seed 0] [--dataset digits|cifar10] [--limit N]
"""

from __future__ import annotations

import argparse

import numpy as np

import scratchnn as snn
from scratchnn.activations import ReLU
from scratchnn.layers import Conv2D, Dense, Flatten, MaxPool2D


def digits_cnn(seed):
    return snn.Sequential([Conv2D(1, 16, 3, padding=1), ReLU(), Conv2D(16, 32, 3, padding=1),
                           ReLU(), MaxPool2D(2), Flatten(), Dense(32 * 4 * 4, 64), ReLU(),
                           Dense(64, 10)], seed=seed)


def cifar_cnn(seed):
    return snn.Sequential([Conv2D(3, 32, 3, padding=1), ReLU(), MaxPool2D(2),
                           Conv2D(32, 64, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(),
                           Dense(64 * 8 * 8, 128), ReLU(), Dense(128, 10)], seed=seed)


def mlp(n_in, seed):
    return snn.Sequential([Dense(n_in, 128), ReLU(), Dense(128, 64), ReLU(), Dense(64, 10)],
                          seed=seed)


def load(dataset, seed):
    """``(x_train, y_train), (x_test, y_test)`` with images as (N, C, H, W) float32."""
    if dataset == "digits":
        (x, y), (x_test, y_test) = snn.datasets.load_digits(test_size=0.2, seed=seed)
        return (x.reshape(-1, 1, 8, 8), y), (x_test.reshape(-1, 1, 8, 8), y_test)
    (x, y), (x_test, y_test) = snn.datasets.load_cifar10(flatten=False)
    # the loader returns channels last (N, 32, 32, 3); Conv2D wants channels first
    return ((np.ascontiguousarray(x.transpose(0, 3, 1, 2)), y),
            (np.ascontiguousarray(x_test.transpose(0, 3, 1, 2)), y_test))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", choices=("digits", "cifar10"), default="digits")
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images")
    args = parser.parse_args(argv)

    try:
        (x, y), (x_test, y_test) = load(args.dataset, args.seed)
    except snn.datasets.DatasetUnavailable as err:
        print(f"CIFAR-10 is not available: {err}")
        return 1
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    cnn = (digits_cnn if args.dataset == "digits" else cifar_cnn)(args.seed)
    baseline = mlp(int(np.prod(x.shape[1:])), args.seed)
    flat = {"train": x.reshape(len(x), -1), "test": x_test.reshape(len(x_test), -1)}
    for model in (cnn, baseline):
        model.compile("cross_entropy", snn.optimizers.Adam(1e-3), metrics=["accuracy"])
    cnn.fit(x, y, epochs=args.epochs, batch_size=32, verbose=0)
    baseline.fit(flat["train"], y, epochs=args.epochs, batch_size=32, verbose=0)
    print(cnn.summary(print_fn=lambda line: None))
    print(f"MLP baseline test accuracy (same budget): "
          f"{baseline.evaluate(flat['test'], y_test)['accuracy']:.4f}")
    print(f"train accuracy: {cnn.evaluate(x, y)['accuracy']:.4f}")
    print(f"test accuracy: {cnn.evaluate(x_test, y_test)['accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
