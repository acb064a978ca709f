"""The perceptron of the lecture notes, drawn: ``python -m fastnn.examples.perceptron [--out DIR] [--small]``.

Two runs of :class:`fastnn.classic.Perceptron` on 2-D data:

* separable data (two seeded clouds on either side of a line): the boundary
  w . x + b = 0 after each update, one panel per update as in the slides,
  with the misclassified sample that caused it circled; it converges;
* XOR (the four corners of the unit square): no line separates the classes,
  so it never has a pass without a mistake and stops at max_iter; the figure
  shows its last four updates, one panel each, and the mistakes per pass.

Prints a table (converged, passes, updates, training accuracy, margin) and
saves perceptron_separable.png and perceptron_xor.png in DIR. ``--small``
uses fewer points and passes (for tests).
"""

from __future__ import annotations

from typing import cast

import numpy as np

from fastnn.classic import Perceptron, margin
from fastnn.examples import _common
from fastnn.examples._common import XOR_X, XOR_Y

MAX_PANELS = 12


def separable_data(n: int, seed: int = 2):
    """n points in [-2, 2]^2, labelled by the side of the line x2 = 0.6 x1 + 0.3, kept 0.25 away from it."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(8 * n, 2))
    side = X[:, 1] - 0.6 * X[:, 0] - 0.3
    keep = np.abs(side) / np.hypot(1, 0.6) >= 0.25
    return X[keep][:n], (side[keep][:n] > 0).astype(int)


def _draw_boundary(ax, w, b, limits, **style):
    """The line w0 x + w1 y + b = 0 across the box ``limits`` (nothing when w = 0)."""
    (x_lo, x_hi), (y_lo, y_hi) = limits
    if abs(w[1]) > 1e-12:
        xs = np.array([x_lo, x_hi])
        ax.plot(xs, -(w[0] * xs + b) / w[1], **style)
    elif abs(w[0]) > 1e-12:
        ax.axvline(-b / w[0], **style)


def _panels(n_updates: int) -> list[int]:
    """Which updates get a panel: all of them, or MAX_PANELS spread out with the first and last."""
    if n_updates <= MAX_PANELS:
        return list(range(n_updates))
    return sorted({int(round(k)) for k in np.linspace(0, n_updates - 1, MAX_PANELS)})


def plot_updates(p, X, y, title, out_dir):
    limits = (X[:, 0].min() - 0.5, X[:, 0].max() + 0.5), (X[:, 1].min() - 0.5, X[:, 1].max() + 0.5)
    shown = _panels(len(p.updates_))
    cols = min(4, len(shown))
    rows = -(-len(shown) // cols)
    fig = _common.figure(figsize=(3.2 * cols, 3.0 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(shown):]:
        ax.axis("off")
    for ax, k in zip(axes.flat, shown):
        index, w, b = p.updates_[k]
        _common.scatter_classes(ax, X, y)
        ax.scatter(*X[index], s=160, facecolors="none", edgecolors="black", linewidths=1.2)
        _draw_boundary(ax, w, b, limits, color="black")
        ax.set_xlim(limits[0])
        ax.set_ylim(limits[1])
        ax.set_title(f"update {k + 1}: w = ({w[0]:.2g}, {w[1]:.2g}), b = {b:.2g}", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return _common.save(fig, out_dir, "perceptron_separable.png", dpi=110)


def _shade_class_1(ax, w, b, limits, resolution=200):
    """Shade where w . x + b > 0 (the perceptron says class 1) inside the box ``limits``."""
    (x_lo, x_hi), (y_lo, y_hi) = limits
    gx, gy = np.meshgrid(np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution))
    positive = (w[0] * gx + w[1] * gy + b > 0).astype(float)
    ax.contourf(gx, gy, positive, levels=[0.5, 1.5], colors=["tab:blue"], alpha=0.15)


def plot_xor(p, out_dir):
    """The last updates on XOR, one panel each (boundary and the side called class 1), and the mistakes per pass.

    A panel per update, not one panel for all: on XOR the perceptron cycles
    through weights that include w = 0, which draws no line (every point is
    then on one side), and lines that cross the box only at a corner; the
    shaded side shows each of them.
    """
    limits = (-1.25, 1.75), (-1.25, 1.75)
    last = p.updates_[-4:]
    first = len(p.updates_) - len(last)
    fig = _common.figure(figsize=(3.0 * len(last), 6.0))
    grid = fig.add_gridspec(2, len(last))
    for k, (index, w, b) in enumerate(last):
        ax = fig.add_subplot(grid[0, k])
        _shade_class_1(ax, w, b, limits)
        _common.scatter_classes(ax, XOR_X, XOR_Y)
        ax.scatter(*XOR_X[index], s=160, facecolors="none", edgecolors="black", linewidths=1.2)
        _draw_boundary(ax, w, b, limits, color="black", linewidth=1.5)
        ax.set_xlim(limits[0])
        ax.set_ylim(limits[1])
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
        side = "" if np.any(w) else (": all class 1" if b > 0 else ": all class 0")
        ax.set_title(f"update {first + k + 1}: w = ({w[0]:.2g}, {w[1]:.2g}), b = {b:.2g}{side}", fontsize=8)
    counts = p.updates_per_pass_
    right = fig.add_subplot(grid[1, :])
    right.plot(np.arange(1, len(counts) + 1), counts, marker=".")
    right.set_xlabel("pass over the data")
    right.set_ylabel("updates (mistakes) in the pass")
    right.set_ylim(bottom=0)
    right.set_title(f"no pass without a mistake in {p.n_iter_} passes", fontsize=9)
    fig.suptitle("Perceptron on XOR: the last updates (shaded: the side called class 1; circled: the sample "
                 "that caused the update)", fontsize=9)
    fig.tight_layout()
    return _common.save(fig, out_dir, "perceptron_xor.png", dpi=110)


def main(argv: list[str] | None = None) -> int:
    args = _common.parse_args("fastnn.examples.perceptron", __doc__, argv, "fewer points and passes (a quick check)")
    if not _common.can_draw(args.out):
        return 1

    n, xor_passes = (16, 20) if args.small else (40, 100)
    X, y = separable_data(n)
    separable = Perceptron(max_iter=1000, record_updates=True).fit(X, y)
    xor = Perceptron(max_iter=xor_passes, record_updates=True).fit(XOR_X, XOR_Y)

    # fit has set w and b (None only before it)
    sw, sb = cast(np.ndarray, separable.w), cast(float, separable.b)
    xw, xb = cast(np.ndarray, xor.w), cast(float, xor.b)
    rows = [("separable", len(X), separable, margin(X, y, sw, sb), separable.score(X, y)),
            ("XOR", 4, xor, margin(XOR_X, XOR_Y, xw, xb), xor.score(XOR_X, XOR_Y))]
    print(f"{'data':<10} {'samples':>7} {'converged':>9} {'passes':>6} {'updates':>7} {'accuracy':>8} {'margin':>8}")
    for name, count, p, m, accuracy in rows:
        print(f"{name:<10} {count:>7} {str(p.converged_):>9} {p.n_iter_:>6} {p.n_updates_:>7} "
              f"{accuracy:>8.0%} {m:>8.3g}")

    plot_updates(separable, X, y,
                 f"Perceptron on separable data: the boundary after each update "
                 f"({separable.n_updates_} updates, {separable.n_iter_} passes)", args.out)
    plot_xor(xor, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
