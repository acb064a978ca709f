"""matplotlib, imported only when a figure is drawn; figures are written atomically.

Figures are made with ``matplotlib.figure.Figure`` rather than pyplot: no GUI
backend is touched and no global pyplot state is left behind.
"""

from __future__ import annotations

import os

import numpy as np

from ._files import atomic_write

INSTALL_HINT = "pip install matplotlib (or, in fastnn's source folder, pip install '.[plot]')"


def new_figure(what, **kwargs):
    """A matplotlib Figure; ImportError naming the ``plot`` extra when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401  (first: a blocked top-level package must count as missing)
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"{what} draws with matplotlib, which is not installed: {INSTALL_HINT}") from None
    return Figure(**kwargs)


def save_figure(fig, path, dpi=100, colors=None):
    """Write ``fig`` to ``path`` atomically; the format comes from the extension (PNG without one).

    ``colors``: for a PNG, reduce the image to a palette of at most this many colours (with
    Pillow, which matplotlib depends on): plots have few distinct colours, and anti-aliased
    edges otherwise make the file several times larger.
    """
    name = os.fspath(path)
    extension = os.path.splitext(name)[1].lstrip(".").lower() or "png"
    with atomic_write(name) as fh:
        if colors is None or extension != "png":
            fig.savefig(fh, format=extension, dpi=dpi)
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from PIL import Image

            fig.set_dpi(dpi)
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
            image.quantize(colors=colors).save(fh, format="PNG", optimize=True)
    return name
