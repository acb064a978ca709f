"""Why normalise the inputs: ``python -m fastnn.examples.normalization [--out DIR] [--small]``.

The lecture notes on data normalisation, shown on data. A two-class problem
on two features of very different scales: x1 a fraction in [0, 1], x2 an
amount in [0, 10000]; the class is 1 when x1 + x2 / 10000 > 1 (5% of the
labels flipped), so both features matter equally. The same network, MLP([2, 16, 2]) with tanh units, is trained with
mini-batch SGD on the raw features, on standardised features (z-scores,
``fastnn.data.Standardizer``) and on min-max scaled features (to [0, 1],
``fastnn.data.MinMaxScaler``); the scalers are fitted on the training part.
For each input, every learning rate of a small grid is tried and the best
one kept, so the comparison is not about a badly chosen step size: on the raw
features the large feature saturates the tanh units and dominates the
gradient, and training stalls however the step is chosen.

Prints the best learning rate, final training loss and held-out accuracy for
each input, and saves normalization.png (the training-loss curves, and the
raw and standardised data). ``--small``: fewer epochs and learning rates.
"""

from __future__ import annotations

import numpy as np

from fastnn import MLP, data, optim
from fastnn.examples import _common

LEARNING_RATES = (0.001, 0.01, 0.1, 1.0)


def mixed_scale_data(n, seed=4):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(0, 1, n), rng.uniform(0, 10000, n)])
    y = (X[:, 0] + X[:, 1] / 10000 > 1).astype(int)
    flip = rng.random(n) < 0.05
    return X, np.where(flip, 1 - y, y)


def train(X, y, lr, epochs, validation):
    model = MLP([2, 16, 2], activation="tanh", init="xavier", dtype="float64", seed=0)
    history = model.fit(X, y, epochs=epochs, batch_size=32, optimizer=optim.SGD(lr=lr, momentum=0.9),
                        validation_data=validation, verbose=0)
    return model, history.history


def main(argv=None):
    args = _common.parse_args("fastnn.examples.normalization", __doc__, argv,
                              "fewer epochs and learning rates (a quick check)")
    if not _common.can_draw(args.out):
        return 1
    epochs, rates = (10, LEARNING_RATES[1:3]) if args.small else (100, LEARNING_RATES)
    X, y = mixed_scale_data(600)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, stratify=True, seed=4)
    inputs = {"raw": None, "standardised": data.Standardizer(), "min-max [0, 1]": data.MinMaxScaler()}
    best = {}
    for label, scaler in inputs.items():
        A, B = (X_train, X_test) if scaler is None else (scaler.fit_transform(X_train), scaler.transform(X_test))
        runs = [(lr, *train(A, y_train, lr, epochs, (B, y_test))) for lr in rates]
        # a diverged run has a NaN loss: it never counts as the best
        best[label] = min(runs, key=lambda r: np.nan_to_num(r[2]["loss"][-1], nan=np.inf))
    _common.print_table(["inputs", "best lr", "final train loss", "held-out accuracy"],
                        [[k, f"{lr:g}", f"{h['loss'][-1]:.3f}", f"{h['val_accuracy'][-1]:.1%}"]
                         for k, (lr, _, h) in best.items()])

    fig = _common.figure(figsize=(12, 3.8))
    curves, raw, scaled = fig.subplots(1, 3)
    for k, (label, (lr, _, h)) in enumerate(best.items()):
        curves.plot(np.arange(1, epochs + 1), h["loss"], color=f"C{k}", label=f"{label} (lr {lr:g})")
    curves.set_xlabel("epoch")
    curves.set_ylabel("training loss (cross-entropy)")
    curves.set_title("MLP([2, 16, 2]), tanh, SGD + momentum,\nbest learning rate of each", fontsize=9)
    curves.legend(fontsize=8)
    _common.scatter_classes(raw, X_train, y_train, size=8)
    raw.set_title("raw features: x2 is 10,000 times larger", fontsize=9)
    raw.set_xlabel("x1")
    raw.set_ylabel("x2")
    _common.scatter_classes(scaled, data.Standardizer().fit_transform(X_train), y_train, size=8)
    scaled.set_title("standardised: both features on one scale", fontsize=9)
    scaled.set_aspect("equal")
    fig.tight_layout()
    _common.save(fig, args.out, "normalization.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
