"""Breast cancer: binary classification of a real table, with standardization and
early stopping.

The Wisconsin breast cancer data (569 samples, 30 raw features, bundled with scikit-learn)
comes from ``scratchnn.datasets.load_breast_cancer``. Its features differ in scale by orders
of magnitude, so they are standardized with ``scratchnn.data.standardize`` using the
**training** set's mean and standard deviation only (the test set must not leak into them).
A small network ends in one logit trained with ``BinaryCrossEntropy(from_logits=True)`` and
L2 weight decay; ``EarlyStopping`` watches the loss on a validation split and restores the
best weights when training ends.

Run:  python examples/breast_cancer.py [--epochs 100] [--seed 0]
"""

from __future__ import annotations

import argparse

import scratchnn as snn
from scratchnn.activations import ReLU
from scratchnn.layers import Dense


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = snn.datasets.load_breast_cancer(test_size=0.2,
                                                                           seed=args.seed)
    x_train, x_test, _mean, _std = snn.data.standardize(x_train, x_test)

    model = snn.Sequential([Dense(30, 16), ReLU(), Dense(16, 1)], seed=args.seed)
    model.compile(loss=snn.losses.BinaryCrossEntropy(from_logits=True),
                  optimizer=snn.optimizers.Adam(lr=0.001, weight_decay=1e-3),
                  metrics=["accuracy", "precision", "recall"])
    early = snn.callbacks.EarlyStopping(monitor="val_loss", patience=10,
                                        restore_best_weights=True)
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=16,
                        validation_split=0.2, callbacks=[early], verbose=0)

    ran = len(history.epoch)
    print(f"trained {ran} epochs; best val_loss {early.best:.4f} at epoch {early.best_epoch + 1}")
    test = model.evaluate(x_test, y_test)
    print(f"test precision (class 1 = benign): {test['precision']:.4f}, "
          f"recall: {test['recall']:.4f}")
    print(f"train accuracy: {model.evaluate(x_train, y_train)['accuracy']:.4f}")
    print(f"test accuracy: {test['accuracy']:.4f}")


if __name__ == "__main__":
    main()
