"""Digits: a small MNIST stand-in, classified by a multilayer perceptron.

scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes, no download) come
from ``scratchnn.datasets.load_digits`` already flattened to 64 features in [0, 1] and split
into stratified train/test sets. A ReLU network with batch normalization and dropout is
trained with Adam and a cosine learning-rate schedule; ``evaluate`` runs in eval mode
(dropout off, batch norm on its running statistics). The script also prints the test
confusion matrix and the macro F1 score.

Run:  python examples/digits.py [--epochs 30] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

import scratchnn as snn
from scratchnn.activations import ReLU
from scratchnn.layers import BatchNorm, Dense, Dropout


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = snn.datasets.load_digits(test_size=0.2,
                                                                    seed=args.seed)
    batch_size = 32
    steps = args.epochs * int(np.ceil(len(x_train) / batch_size))

    model = snn.Sequential(
        [Dense(64, 128), BatchNorm(128), ReLU(), Dropout(0.2), Dense(128, 10)],
        seed=args.seed)
    model.compile(
        loss=snn.losses.CrossEntropy(from_logits=True),
        optimizer=snn.optimizers.Adam(lr=snn.schedules.CosineDecay(0.01, total_steps=steps)),
        metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=batch_size, verbose=0)

    pred = model.predict(x_test).argmax(axis=1)
    print("confusion matrix (rows: true digit, columns: predicted digit):")
    print(snn.metrics.confusion_matrix(y_test, pred, num_classes=10))
    print(f"macro F1: {snn.metrics.f1_score(y_test, pred, average='macro'):.4f}")
    print(f"train accuracy: {model.evaluate(x_train, y_train)['accuracy']:.4f}")
    print(f"test accuracy: {model.evaluate(x_test, y_test)['accuracy']:.4f}")


if __name__ == "__main__":
    main()
