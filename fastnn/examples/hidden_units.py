"""Hidden width and L2 on a decision boundary: ``python -m fastnn.examples.hidden_units [--out DIR] [--small]``.

The two-layer network of the lecture notes on k-layer networks ("Effect of
the number of hidden nodes"): Dense(2, m) -> ReLU -> Dense(m, 2) with softmax
cross-entropy, on a 2-D two-class data set (two noisy interleaved half-moons, seeded), trained the
same way for m = 3, 20, 30, 100 without regularisation, then m = 100 with
increasing L2 (J = loss + l2 * sum ||W||^2). Few units give a boundary too
simple for the data; many units without regularisation bend around single
noisy points; with L2 the wide network's boundary becomes smooth again:
"do not use the size of the network as a regulariser, use stronger
regularisation". Prints training and held-out accuracy per network and saves
hidden_units.png (all boundaries side by side). ``--small``: fewer epochs.
"""

from __future__ import annotations

import numpy as np

from fastnn import MLP, data, optim
from fastnn.examples import _common

WIDTHS = (3, 20, 30, 100)
L2_VALUES = (1e-4, 1e-3, 1e-2)


def two_moons(n, noise=0.25, seed=0):
    """n points of two interleaved half circles (class 0 above, class 1 below), Gaussian noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0, np.pi, size=n)
    X = np.where(y[:, None] == 0, np.column_stack([np.cos(t), np.sin(t)]),
                 np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]))
    return X + noise * rng.standard_normal((n, 2)), y


def train(X, y, hidden, l2, epochs, seed=0):
    model = MLP([2, hidden, 2], activation="relu", l2=l2, dtype="float64", seed=seed)
    model.fit(X, y, epochs=epochs, batch_size=len(X), optimizer=optim.Adam(lr=0.02), verbose=0)
    return model


def main(argv=None):
    args = _common.parse_args("fastnn.examples.hidden_units", __doc__, argv, "fewer epochs (a quick check)")
    if not _common.can_draw(args.out):
        return 1
    epochs = 300 if args.small else 3000
    X, y = two_moons(400, seed=0)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.5, stratify=True, seed=1)
    settings = [(m, 0.0) for m in WIDTHS] + [(100, l2) for l2 in L2_VALUES]
    fig = _common.figure(figsize=(3.0 * 4, 3.0 * 2))
    axes = fig.subplots(2, 4).ravel()
    rows = []
    for ax, (m, l2) in zip(axes, settings):
        with _common.Stopwatch() as clock:
            model = train(X_train, y_train, m, l2, epochs)
        train_acc, test_acc = model.score(X_train, y_train), model.score(X_test, y_test)
        rows.append([m, f"{l2:g}", f"{train_acc:.1%}", f"{test_acc:.1%}", f"{clock.seconds:.2f}"])
        _common.decision_regions(ax, lambda grid, model=model: model.predict_proba(grid)[:, 1], X_train, y_train,
                                 margin=0.3)
        ax.set_title(f"m = {m}" + (f", l2 = {l2:g}" if l2 else ", no regularisation")
                     + f"\ntrain {train_acc:.0%}, held-out {test_acc:.0%}", fontsize=9)
    axes[-1].axis("off")
    _common.print_table(["hidden units", "l2", "train acc", "held-out acc", "seconds"], rows)
    fig.suptitle(f"Decision boundaries of Dense(2, m) -> ReLU -> Dense(m, 2), {epochs} full-batch Adam epochs",
                 fontsize=10)
    fig.tight_layout()
    _common.save(fig, args.out, "hidden_units.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
