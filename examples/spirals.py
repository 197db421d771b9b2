"""Spirals: three interleaved arms that only a non-linear model can separate.

The classic CS231n toy problem (``scratchnn.datasets.spirals``): 2-D points on three spiral
arms with noise on the angle. A two-hidden-layer ReLU network trained with Adam and
``CrossEntropy(from_logits=True)`` carves out the arms. The labels are integers ``(N,)``;
the model outputs one logit per class and ``argmax`` gives the predicted class.

Run:  python examples/spirals.py [--epochs 200] [--seed 0]
"""

from __future__ import annotations

import argparse

import scratchnn as snn
from scratchnn.activations import ReLU
from scratchnn.layers import Dense


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = snn.datasets.spirals(
        n_samples=600, n_classes=3, noise=0.2, seed=args.seed, test_size=0.2)

    model = snn.Sequential(
        [Dense(2, 64), ReLU(), Dense(64, 64), ReLU(), Dense(64, 3)], seed=args.seed)
    model.compile(loss=snn.losses.CrossEntropy(from_logits=True),
                  optimizer=snn.optimizers.Adam(lr=0.01), metrics=["accuracy"])
    model.summary()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=0)

    print(f"final training loss: {history.history['loss'][-1]:.4f}")
    print(f"train accuracy: {model.evaluate(x_train, y_train)['accuracy']:.4f}")
    print(f"test accuracy: {model.evaluate(x_test, y_test)['accuracy']:.4f}")


if __name__ == "__main__":
    main()
