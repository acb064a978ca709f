"""An MLP on scikit-learn's 8x8 digits: ``python -m fastnn.examples.digits [--out DIR] [--small]``.

``MLP([64, 100, 10], batch_norm=True)`` (Dense without bias -> BatchNorm ->
ReLU -> Dense, softmax cross-entropy), trained with Adam on standardised
pixels (the scaler fitted on the training part) with a stratified quarter of
the 1,797 images held out. Prints the loss and accuracy per epoch (every
fifth) and the held-out accuracy per class; saves digits.png: the learning
curves (loss and accuracy, training and held-out) and the held-out confusion
matrix. Needs scikit-learn for the data (``pip install scikit-learn``).
``--small``: 5 epochs.
"""

from __future__ import annotations

import sys

import numpy as np

from fastnn import MLP, data, optim
from fastnn._text import duration
from fastnn.examples import _common


def confusion_matrix(y_true, y_pred, classes):
    """counts[i, j] = how many samples of class i were predicted as j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def main(argv=None):
    args = _common.parse_args("fastnn.examples.digits", __doc__, argv, "5 epochs (a quick check)")
    try:
        X, y = data.load_digits()
    except ImportError as exc:
        print(exc, file=sys.stderr)
        return 1
    if not _common.can_draw(args.out):
        return 1
    epochs = 5 if args.small else 40
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, stratify=True, seed=1)
    scaler = data.Standardizer().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = MLP([64, 100, 10], batch_norm=True, seed=0)
    with _common.Stopwatch() as clock:
        h = model.fit(X_train, y_train, epochs=epochs, batch_size=32, optimizer=optim.Adam(lr=1e-3),
                      validation_data=(X_test, y_test), verbose=0).history
    shown = sorted({*range(0, epochs, 5), epochs - 1})
    _common.print_table(["epoch", "loss", "accuracy", "val loss", "val accuracy"],
                        [[e + 1, f"{h['loss'][e]:.4f}", f"{h['accuracy'][e]:.1%}", f"{h['val_loss'][e]:.4f}",
                          f"{h['val_accuracy'][e]:.1%}"] for e in shown])
    counts = confusion_matrix(y_test, model.predict(X_test), 10)
    per_class = counts.diagonal() / counts.sum(axis=1)
    print(f"\n{len(X_train)} training images, {len(X_test)} held out, {epochs} epochs in {duration(clock.seconds)}")
    _common.print_table(["digit"] + [str(d) for d in range(10)], [["held-out accuracy"]
                                                                   + [f"{a:.0%}" for a in per_class]])

    fig = _common.figure(figsize=(12, 3.8))
    loss_ax, acc_ax, cm_ax = fig.subplots(1, 3)
    x = np.arange(1, epochs + 1)
    for ax, key, label in ((loss_ax, "loss", "loss (cross-entropy)"), (acc_ax, "accuracy", "accuracy")):
        ax.plot(x, h[key], label="training (during the epoch)")
        ax.plot(x, h[f"val_{key}"], label="held out (after the epoch)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    loss_ax.set_yscale("log")
    acc_ax.set_title(f"MLP([64, 100, 10], batch_norm=True), Adam 1e-3: held-out {h['val_accuracy'][-1]:.1%}",
                     fontsize=9)
    cm_ax.imshow(counts, cmap="Blues")
    for (i, j), c in np.ndenumerate(counts):
        if c:
            cm_ax.text(j, i, str(c), ha="center", va="center", fontsize=7,
                       color="white" if c > counts.max() / 2 else "black")
    cm_ax.set_xticks(range(10))
    cm_ax.set_yticks(range(10))
    cm_ax.set_xlabel("predicted digit")
    cm_ax.set_ylabel("true digit")
    cm_ax.set_title("held-out confusion matrix", fontsize=9)
    fig.tight_layout()
    _common.save(fig, args.out, "digits.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
