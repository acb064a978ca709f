"""Callbacks for ``fit``: hooks called at the start and end of training and of each epoch.

A callback subclasses :class:`Callback` and overrides what it needs.
``on_epoch_end`` receives the epoch index and the epoch's logs ("loss",
"accuracy", "val_loss", "val_accuracy" as available) and may set
``model.stop_training = True`` to end training after this epoch. The logs
are per epoch also in a fit with ``eval_every``, whose finer rows go to the
:class:`History` that ``fit`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _checks

if TYPE_CHECKING:
    import os

    from matplotlib.figure import Figure
    from numpy.typing import NDArray

    from .model import Sequential

__all__ = ["Callback", "History", "EarlyStopping"]


class Callback:
    """Base class of the callbacks: each hook does nothing until a subclass overrides it.

    Examples
    --------
    >>> from fastnn.callbacks import Callback
    >>> class PrintLoss(Callback):
    ...     def on_epoch_end(self, model, epoch, logs):
    ...         print(epoch, round(logs["loss"], 2))
    """

    def on_train_begin(self, model: Sequential, logs_available: Sequence[str]) -> None:
        """Called by ``fit`` before the first update.

        Raising here aborts fit before any parameter changes.

        Parameters
        ----------
        model : Sequential
            The model being trained.
        logs_available : tuple of str
            The metrics fit will report at the end of each epoch.
        """

    def on_epoch_end(self, model: Sequential, epoch: int, logs: dict[str, float]) -> None:
        """Called by ``fit`` at the end of each epoch.

        Setting ``model.stop_training = True`` ends training after this epoch.

        Parameters
        ----------
        model : Sequential
            The model being trained.
        epoch : int
            The epoch's index, from 0.
        logs : dict of str to float
            The epoch's metrics: "loss", "accuracy", "val_loss", "val_accuracy"
            as available.
        """

    def on_train_end(self, model: Sequential) -> None:
        """Called by ``fit`` when training ends, by stopping early or after the last epoch.

        Parameters
        ----------
        model : Sequential
            The model trained.
        """


class History(Callback):
    """What ``fit`` returns: the learning curves, one row per epoch or per ``eval_every`` updates.

    Parameters
    ----------
    params : dict, optional
        The settings of the fit, kept as ``params``.

    Attributes
    ----------
    history : dict
        Column name -> list of values, one entry per row. Without ``eval_every`` fit adds a
        row at the end of each epoch:

        - "step": the updates this fit has done so far (the epoch's last one included);
        - "epoch": the index of the epoch (from 0), as in ``epoch`` below;
        - "lr": the learning rate of the epoch's last update;
        - "loss", "accuracy" (classification): averages over the epoch's mini-batches, weighted
          by batch size, measured in training mode before each update (as Keras reports
          them); "loss" includes the L2 term;
        - "val_loss", "val_accuracy": of ``validation_data`` in eval mode after the epoch,
          "val_loss" with the L2 term.

        With ``fit(..., eval_every=k)`` a row comes after updates k, 2k, 3k, ... of the fit
        (across epochs), with the course's curves, each measured on the whole set in eval mode
        with the parameters after that update:

        - "step": the updates done so far (k, 2k, ...), the axis the course plots against;
        - "epoch": the index (from 0) of the epoch that update belongs to; the fractional
          position is ``step / params["steps"]``;
        - "lr": the learning rate of that update (the schedule's value for it);
        - "loss": the mean loss of the training set alone (cross-entropy, no L2 term);
        - "cost": "loss" plus the L2 term ``l2 * sum ||W||^2`` (the course's J);
        - "accuracy" (classification): the share of the training set classified right;
        - "val_loss", "val_cost", "val_accuracy": the same of ``validation_data``.

        The lists convert directly to a table: ``pandas.DataFrame(history.history)``.
    epoch : list of int
        The epoch index of each row (equal to ``history["epoch"]`` for the rows fit records).
    params : dict
        The fit's "epochs", "steps" (updates per epoch), "batch_size", "samples" and
        "eval_every" (None: a row per epoch).

    A History passed in ``callbacks`` records each epoch's logs, as Keras's does.

    Examples
    --------
    >>> import numpy as np, fastnn
    >>> X, y = np.random.default_rng(0).standard_normal((60, 4)), np.arange(60) % 3
    >>> h = fastnn.MLP([4, 8, 3], seed=0).fit(X, y, epochs=2, batch_size=10, verbose=0, eval_every=4)
    >>> h.history["step"]
    [4, 8, 12]
    >>> h.epoch
    [0, 1, 1]
    """

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []
        self.params = dict(params or {})

    def on_epoch_end(self, model: Sequential, epoch: int, logs: dict[str, float]) -> None:
        self._append(epoch, logs)

    def _append(self, epoch, row):
        self.epoch.append(epoch)
        for key, value in row.items():
            self.history.setdefault(key, []).append(value)

    def _keep_until(self, step):
        """Drop the rows recorded after update ``step`` of the fit (a diverged fit went back)."""
        kept = sum(1 for s in self.history.get("step", []) if s <= step)
        del self.epoch[kept:]
        for values in self.history.values():
            del values[kept:]
        if not kept:
            self.history.clear()  # as a fit that recorded nothing

    def plot(self, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Figure:
        """Draw the curves against the update step: see :func:`fastnn.plot.history`.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Where to write the figure (atomically; the format from the extension).
        **kwargs
            Passed to :func:`fastnn.plot.history` (``metrics``, ``title``, ``dpi``).

        Returns
        -------
        matplotlib.figure.Figure
            The figure, one panel (axes) per metric in ``figure.axes``.

        Raises
        ------
        ImportError
            matplotlib is not installed.
        ValueError
            The history has none of the metrics to draw, or no "step" column.
        """
        from . import plot

        return plot.history(self, path, **kwargs)

    def __repr__(self) -> str:
        return f"History(rows={len(self.epoch)}, columns={list(self.history)})"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    mode "auto" minimises losses and maximises metrics with "acc" in their name.
    With ``restore_best=True`` the parameters and batch-norm running statistics
    of the best epoch are put back when training ends (whether it stopped
    early or ran out of epochs; Keras restores only on an early stop).
    ``stopped_epoch`` is the epoch training stopped at (None if it did not),
    ``best_epoch`` the best one. Monitoring a validation metric without
    ``validation_data`` is refused before training starts.

    Parameters
    ----------
    monitor : str, default "val_loss"
        The metric watched: a key of the epoch's logs.
    patience : int, default 0
        Epochs without improvement before training stops, >= 0.
    min_delta : float, default 0.0
        The smallest change that counts as an improvement, >= 0.
    mode : {"auto", "min", "max"}, default "auto"
        Whether the metric should fall or rise.
    restore_best : bool, default True
        Put back the best epoch's parameters when training ends.

    Raises
    ------
    TypeError, ValueError
        An argument of the wrong type or value.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0, mode: str = "auto",
                 restore_best: bool = True) -> None:
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a metric name (str), got {type(monitor).__name__}")
        self.monitor = monitor
        self.patience = _checks.integer(patience, "patience", minimum=0)
        self.min_delta = _checks.real(min_delta, "min_delta", low=0.0)
        self.mode = _checks.choice(mode, "mode", ("auto", "min", "max"))
        self.restore_best = _checks.boolean(restore_best, "restore_best")
        if self.mode == "auto":
            self.mode = "max" if "acc" in monitor else "min"

    def on_train_begin(self, model: Sequential, logs_available: Sequence[str]) -> None:
        if self.monitor not in logs_available:
            raise ValueError(f"EarlyStopping monitor={self.monitor!r} is not reported by this fit; "
                             f"available: {tuple(logs_available)} (val_* needs validation_data)")
        self.wait = 0
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, dict[str, NDArray[Any]]] | None = None
        self.stopped_epoch: int | None = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, model: Sequential, epoch: int, logs: dict[str, float]) -> None:
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_state = model.get_state()
            return
        self.wait += 1
        if self.wait >= self.patience:
            model.stop_training = True
            self.stopped_epoch = epoch

    def on_train_end(self, model: Sequential) -> None:
        if self.restore_best and self.best_state is not None:
            model.set_state(self.best_state)
