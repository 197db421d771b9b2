"""XOR: the smallest problem a single neuron cannot solve.

Four noisy blobs sit at the corners of the unit square; opposite corners share a label
(``y = a XOR b``), so no straight line separates the classes. One hidden layer of tanh
units is enough. The network ends in a single logit trained with
``BinaryCrossEntropy(from_logits=True)``; ``predict`` returns logits, so a positive output
means class 1.

Run:  python examples/xor.py [--epochs 100] [--seed 0]
"""

from __future__ import annotations

import argparse

import scratchnn as snn
from scratchnn.activations import Tanh
from scratchnn.layers import Dense


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = snn.datasets.xor(
        n_samples=400, noise=0.1, seed=args.seed, test_size=0.25)

    model = snn.Sequential([Dense(2, 8, init="xavier"), Tanh(), Dense(8, 1, init="xavier")],
                           seed=args.seed)
    model.compile(loss=snn.losses.BinaryCrossEntropy(from_logits=True),
                  optimizer=snn.optimizers.Adam(lr=0.05), metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=0)

    corners = [[0, 0], [0, 1], [1, 0], [1, 1]]
    logits = model.predict(corners)[:, 0]
    for (a, b), z in zip(corners, logits, strict=True):
        print(f"{a} XOR {b} -> {int(z > 0)}  (logit {z:+.2f})")
    print(f"train accuracy: {model.evaluate(x_train, y_train)['accuracy']:.4f}")
    print(f"test accuracy: {model.evaluate(x_test, y_test)['accuracy']:.4f}")


if __name__ == "__main__":
    main()
