"""XOR with a 2-2-1 network, as in the lecture: ``python -m fastnn.examples.xor [--out DIR] [--small]``.

Part 1, the worked example of the lecture notes on XOR: the slides' weights (hidden
W = [[0.02, 0.03], [0.01, 0.02]], output W = [[0.01, 0.03]], zero biases),
sigmoid units, loss E = 1/2 (y - o)^2, one stochastic gradient step (lr 0.1)
on x = (0, 0), y = 0. Prints the slides' numbers beside the model's. (The
slides print the new output weights as -0.0037 and -0.0237; their own
arithmetic 0.01 - 0.1 * 0.126 * 0.5 gives +0.0037, which is what the model
finds.)

Part 2, the vectorised slides: tanh hidden units, a sigmoid output, all four
patterns in one full batch, plain gradient descent on the same loss (lr 1).
From a seeded Xavier initialisation the net learns XOR in a few hundred
epochs; from the slides' tiny weights it first sits on a long plateau (the
two hidden units start almost alike and near zero). Saves xor.png: the loss
curves of both starts and the decision regions of the trained net.
``--small``: fewer epochs for the slides' start (a quick check).
"""

from __future__ import annotations

import numpy as np

from fastnn import Dense, Sequential, Sigmoid, Tanh, optim
from fastnn._text import duration
from fastnn.examples import _common
from fastnn.examples._common import XOR_X, XOR_Y

SLIDE_HIDDEN = [[0.02, 0.03], [0.01, 0.02]]
SLIDE_OUTPUT = [[0.01, 0.03]]
#: what the slides print after the step (with the sign of w13, w23 as their arithmetic gives it)
SLIDE_NUMBERS = {"o3": 0.505, "delta3": 0.126, "delta1": 0.000315, "delta2": 0.000945, "w13": 0.0037,
                 "w23": 0.0237, "w03 (output bias)": -0.0126, "w01 (hidden bias 1)": -0.0000315,
                 "w02 (hidden bias 2)": -0.0000945}


def xor_network(hidden, slide_weights, seed=0):
    """2-2-1: Dense -> ``hidden`` -> Dense -> Sigmoid, loss 1/2 (y - o)^2 (float64)."""
    model = Sequential([Dense(2, 2, init="xavier"), hidden, Dense(2, 1, init="xavier"), Sigmoid()],
                       loss="mse", dtype="float64", seed=seed)
    if slide_weights:
        model.layers[0].W, model.layers[0].b = SLIDE_HIDDEN, [0.0, 0.0]
        model.layers[2].W, model.layers[2].b = SLIDE_OUTPUT, [0.0]
    return model


def worked_example():
    """The model's numbers for the slides' stochastic step, keyed as SLIDE_NUMBERS."""
    model = xor_network(Sigmoid(), slide_weights=True)
    x, y = np.zeros((1, 2)), np.zeros((1, 1))
    o3 = model.forward(x)[0, 0]
    _, grads = model.loss_and_gradients(x, y)  # a unit's delta is dE/d(its bias)
    model.fit(x, y, epochs=1, batch_size=1, optimizer=optim.SGD(lr=0.1), shuffle=False, verbose=0)
    W2, b2, b1 = model.layers[2].W, model.layers[2].b, model.layers[0].b
    values = [o3, grads["2.b"][0], grads["0.b"][0], grads["0.b"][1], W2[0, 0], W2[0, 1], b2[0], b1[0], b1[1]]
    return dict(zip(SLIDE_NUMBERS, (float(v) for v in values)))


def train(slide_weights, epochs):
    model = xor_network(Tanh(), slide_weights)
    history = model.fit(XOR_X, XOR_Y.reshape(-1, 1), epochs=epochs, batch_size=4, optimizer=optim.SGD(lr=1.0),
                        shuffle=False, verbose=0)
    return model, history.history["loss"]


def main(argv=None):
    args = _common.parse_args("fastnn.examples.xor", __doc__, argv, "fewer epochs from the slides' weights")
    if not _common.can_draw(args.out):
        return 1
    print("The worked example: one stochastic step on x = (0, 0), y = 0 (sigmoid units, lr 0.1)")
    got = worked_example()
    _common.print_table(["quantity", "slide", "fastnn"],
                        [[k, f"{v:.7g}", f"{got[k]:.7g}"] for k, v in SLIDE_NUMBERS.items()])

    runs = {"seeded Xavier init": 1000, "the slides' weights": 4000 if args.small else 20000}
    results = {}
    for label, epochs in runs.items():
        with _common.Stopwatch() as clock:
            model, losses = train(label == "the slides' weights", epochs)
        output = model.predict(XOR_X)[:, 0]
        results[label] = (model, losses, output)
        print(f"\n{label}: {epochs} full-batch epochs in {duration(clock.seconds)}, final loss {losses[-1]:.3g}")
        _common.print_table(["x1", "x2", "y", "output"],
                            [[int(a), int(b), t, f"{o:.3f}"] for (a, b), t, o in zip(XOR_X, XOR_Y, output)])

    fig = _common.figure(figsize=(10, 3.8))
    curves, *regions = fig.subplots(1, 3)
    for k, (label, (model, losses, output)) in enumerate(results.items()):
        curves.semilogy(np.arange(1, len(losses) + 1), losses, color=f"C{k}", label=label)
        accuracy = np.mean((output > 0.5) == (XOR_Y == 1))
        _common.decision_regions(regions[k], lambda grid, m=model: m.predict(grid)[:, 0], XOR_X, XOR_Y)
        regions[k].set_title(f"{label}: {accuracy:.0%} correct", fontsize=9)
    curves.set_xscale("log")
    curves.set_xlabel("epoch (full batch of the 4 patterns)")
    curves.set_ylabel("loss: mean of 1/2 (y - o)^2")
    curves.set_title("2-2-1 tanh/sigmoid net, gradient descent lr 1", fontsize=9)
    curves.legend(fontsize=8)
    fig.tight_layout()
    _common.save(fig, args.out, "xor.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
