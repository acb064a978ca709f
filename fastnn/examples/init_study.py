"""The lecture's initialisation study: ``python -m fastnn.examples.init_study [--out DIR] [--small]``.

The network of the lecture notes on initialisation: input vectors of 500 values drawn from N(0, 1), ten
layers of 500 units without bias, x(i) = f(W_i x(i-1)), for f = tanh and ReLU,
each with four initialisations of W_i: N(0, 0.01^2), N(0, 1), Xavier
(N(0, 1/n_in)) and He (N(0, 2/n_in)). To have gradients to look at, a dense
layer of 10 outputs with softmax cross-entropy on random labels sits on top
(the lecture's gradient g = (y - p)^T starts there); the gradients are those of
the batch-mean loss, so they are 1/N of the per-sample ones.

Prints the standard deviation of each layer's activations (and of the loss
gradient at the first and last layer) for every setting, and saves, per
setting, init_<activation>_<init>.png: the histograms of activations (top)
and gradients (bottom) at each layer, as in the lecture (for ReLU, of the
non-zero values, as the lecture's ReLU figures), and init_stds.png, the
per-layer std of every setting on one logarithmic plot. ``--small``: 200
inputs of 100 values, four layers of 100 units (a quick check).
"""

from __future__ import annotations

import os

import numpy as np

from fastnn import Activation, Dense, Sequential, init
from fastnn.diagnostics import layer_statistics, plot_layer_histograms
from fastnn.examples import _common

ACTIVATIONS = ("tanh", "relu")
#: the lecture's four initialisations: label -> fastnn initialiser
INITS = {"N(0, 0.01^2)": init.normal(0.01), "N(0, 1)": init.normal(1.0), "Xavier": "xavier", "He": "he"}
FILE_TAGS = {"N(0, 0.01^2)": "small", "N(0, 1)": "large", "Xavier": "xavier", "He": "he"}


def lecture_network(activation, weights, width=500, depth=10, classes=10, dtype="float32", seed=0):
    """``depth`` layers Dense(width, width, no bias) -> activation, then Dense(width, classes)."""
    layers = []
    for _ in range(depth):
        layers += [Dense(width, width, init=weights, bias=False), Activation(activation)]
    layers.append(Dense(width, classes, init=weights))
    return Sequential(layers, loss="softmax_cross_entropy", dtype=dtype, seed=seed)


def lecture_inputs(n, width=500, classes=10, seed=1):
    """n input vectors from N(0, 1) and random labels.

    Keep ``seed`` different from the network's: NumPy generators with the same seed draw the
    same normals, and inputs equal to the rows of the first weight matrix are not random to it."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, width)), rng.integers(0, classes, size=n)


def plot_stds(results, out_dir):
    fig = _common.figure(figsize=(9, 3.6))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, activation in zip(axes, ACTIVATIONS):
        for k, label in enumerate(INITS):
            stds = [s["activation_std"] for s in results[activation, label]]
            ax.semilogy(np.arange(1, len(stds) + 1), stds, marker="o", color=f"C{k}", label=label)
        ax.set_title(f"{activation}: std of each layer's activations", fontsize=9)
        ax.set_xlabel("layer")
        ax.legend(fontsize=7)
        ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return _common.save(fig, out_dir, "init_stds.png")


def main(argv=None):
    args = _common.parse_args("fastnn.examples.init_study", __doc__, argv,
                              "200 inputs, four layers of 100 units (a quick check)")
    if not _common.can_draw(args.out):
        return 1
    n, width, depth = (200, 100, 4) if args.small else (1000, 500, 10)
    X, y = lecture_inputs(n, width)
    results = {}
    rows = []
    for activation in ACTIVATIONS:
        for label, weights in INITS.items():
            model = lecture_network(activation, weights, width=width, depth=depth)
            # ReLU: histograms of the non-zero values, as the lecture (about half are exactly zero)
            stats = layer_statistics(model, X, y, skip_zeros=activation == "relu")
            results[activation, label] = stats
            rows.append([f"{activation} {label}"] + [f"{s['activation_std']:.2g}" for s in stats]
                        + [f"{stats[0]['gradient_std']:.2g}", f"{stats[-1]['gradient_std']:.2g}"])
            path = os.path.join(args.out, f"init_{activation}_{FILE_TAGS[label]}.png")
            plot_layer_histograms(stats, path,
                                  title=f"{activation}, W ~ {label}: activations (top), loss gradients "
                                        f"(bottom) at each layer" + (", non-zero values" if activation == "relu"
                                                                      else ""), dpi=70)
            print(f"wrote {path}")
    print(f"\nstd of the activations at each layer ({n} inputs of {width} values, {depth} layers of {width} units)")
    _common.print_table(["setting"] + [f"h{i}" for i in range(1, depth + 1)] + ["grad 1", f"grad {depth}"], rows)
    print()
    plot_stds(results, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
