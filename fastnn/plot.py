"""Figures of training: the course's learning curves from a fit's History.

The assignments of a course built on these lecture notes plot, against the
update step, three figures side by side: the cost (loss plus the L2 term), the
loss and the accuracy, each on the training and on the validation set.
:func:`history` draws them from ``fit(..., eval_every=k)``'s History (or from a
per-epoch History, whose rows fall at the end of each epoch). It needs
matplotlib, imported only when a figure is drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import _plotting

if TYPE_CHECKING:
    import os

    from matplotlib.figure import Figure

    from .callbacks import History

__all__ = ["history"]

#: the panels drawn by default, in the course's order, with their axis labels
CURVES = {"cost": "cost", "loss": "loss", "accuracy": "accuracy"}


def history(history: History | Mapping[str, Sequence[Any]], path: str | os.PathLike[str] | None = None,
            metrics: str | Iterable[str] | None = None, title: str | None = None, dpi: int = 100) -> Figure:
    """Draw learning curves against the update step: one panel per metric, training and validation.

    Parameters
    ----------
    history : History or dict
        What ``fit`` returns (:class:`fastnn.callbacks.History`), or its ``history`` dict
        (column -> list); it needs a "step" column (every History fit returns has one).
    path : str or os.PathLike, optional
        Where to write the figure, atomically; the format comes from the extension (PNG
        without one). None: only return the figure.
    metrics : list of str, optional
        The panels, by column name ("cost", "loss", "accuracy", or any other column).
        Default: those of "cost", "loss" and "accuracy" the history holds (a per-epoch
        History has no "cost": its "loss" includes the L2 term). Each panel draws the
        column ("training") and, when present, its ``val_`` twin ("validation").
    title : str, optional
        A title above the panels.
    dpi : int, optional
        Resolution of the written file.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; its panels are ``figure.axes``, in the order of ``metrics``.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install matplotlib``).
    TypeError
        ``history`` is neither a History nor a dict of columns.
    ValueError
        No "step" column, a requested metric the history does not hold, or nothing to draw.

    Examples
    --------
    >>> import numpy as np, fastnn
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((200, 5)), rng.integers(0, 3, 200)
    >>> model = fastnn.MLP([5, 16, 3], l2=1e-3, seed=0)
    >>> h = model.fit(X[:150], y[:150], epochs=4, batch_size=10, verbose=0, eval_every=5,
    ...               validation_data=(X[150:], y[150:]),
    ...               optimizer=fastnn.optim.SGD(), lr_schedule=fastnn.schedules.Cyclical(1e-3, 1e-1, 15))
    >>> fig = fastnn.plot.history(h)   # or h.plot("curves.png")
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['cost', 'loss', 'accuracy']
    """
    columns = getattr(history, "history", history)
    if not isinstance(columns, dict):
        raise TypeError(f"history must be a fastnn History or its history dict, got {type(history).__name__}")
    if "step" not in columns:
        raise ValueError("history has no 'step' column to draw against: pass the History that fit returns "
                         f"(its columns: {list(columns)})")
    if metrics is None:
        metrics = [m for m in CURVES if m in columns]
        if not metrics:
            raise ValueError(f"history holds none of {list(CURVES)} to draw (its columns: {list(columns)})")
    else:
        if isinstance(metrics, str):
            metrics = [metrics]
        metrics = list(metrics)
        if not metrics:
            raise ValueError("metrics must name at least one column to draw, got none")
        for m in metrics:
            if not isinstance(m, str):
                raise TypeError(f"metrics must be column names (str), got {type(m).__name__}")
            if m not in columns:
                raise ValueError(f"metrics: history has no column {m!r} (its columns: {list(columns)})")
    steps = columns["step"]

    fig = _plotting.new_figure("fastnn.plot.history", figsize=(4.2 * len(metrics), 3.4))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, m in zip(axes, metrics):
        ax.plot(steps, columns[m], color="C0", label="training")
        if f"val_{m}" in columns:
            ax.plot(steps, columns[f"val_{m}"], color="C3", label="validation")
        ax.set_xlabel("update step")
        ax.set_ylabel(CURVES.get(m, m))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        _plotting.save_figure(fig, path, dpi=dpi)
    return fig
