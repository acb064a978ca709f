"""What the examples share: the command line, matplotlib, tables, figures, decision regions."""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from fastnn import _plotting

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


def parse_args(module_name, doc, argv, small_help):
    """``--out DIR`` and ``--small`` for ``python -m fastnn.examples.<name>``."""
    title = doc.splitlines()[0].split(": ``python -m")[0]  # the usage line repeats the command
    parser = argparse.ArgumentParser(prog=f"python -m {module_name}", description=title + ".")
    parser.add_argument("--out", default=".", metavar="DIR", help="folder for the PNG files (default: .)")
    parser.add_argument("--small", action="store_true", help=small_help)
    return parser.parse_args(argv)


def can_draw(out_dir):
    """True when matplotlib imports (then ``out_dir`` exists); otherwise says what to install on stderr."""
    try:
        _plotting.new_figure("this example")
    except ImportError:
        print(f"this example draws with matplotlib, which is not installed: {_plotting.INSTALL_HINT}",
              file=sys.stderr)
        return False
    os.makedirs(out_dir, exist_ok=True)
    return True


def figure(**kwargs):
    return _plotting.new_figure("this example", **kwargs)


def save(fig, out_dir, name, dpi=90):
    """Write ``fig`` as out_dir/name (atomically, a PNG of at most 128 colours) and say so."""
    path = _plotting.save_figure(fig, os.path.join(out_dir, name), dpi=dpi, colors=128)
    print(f"wrote {path}")
    return path


def print_table(header, rows):
    """Columns right-aligned to their widest cell; the first column left-aligned."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for r in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


class Stopwatch:
    """``with Stopwatch() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start


def scatter_classes(ax, X, y, size=18):
    """Class 1 as blue circles, class 0 as red crosses (the convention of every example's figure)."""
    ax.scatter(*X[y == 1].T, marker="o", color="tab:blue", s=size, label="class 1", zorder=3)
    ax.scatter(*X[y != 1].T, marker="x", color="tab:red", s=size, label="class 0", zorder=3)


def decision_regions(ax, probability, X, y, margin=0.5, resolution=200):
    """Shade P(class 1) of ``probability`` (a function of an (M, 2) grid) over the data's box,
    draw the 0.5 contour (the decision boundary) and the samples."""
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    p = np.asarray(probability(np.column_stack([gx.ravel(), gy.ravel()])), dtype=np.float64).reshape(gx.shape)
    ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 6), cmap="RdBu", vmin=0, vmax=1, alpha=0.6)
    ax.contour(gx, gy, p, levels=[0.5], colors="black", linewidths=1.2)
    scatter_classes(ax, X, y)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.tick_params(labelsize=7)
