"""Callbacks for ``fit``: hooks called at the start and end of training and of each epoch.

A callback subclasses :class:`Callback` and overrides what it needs.
``on_epoch_end`` receives the epoch index and the epoch's logs ("loss",
"accuracy", "val_loss", "val_accuracy" as available) and may set
``model.stop_training = True`` to end training after this epoch.
"""

from __future__ import annotations

import numpy as np

from . import _checks

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

    def on_train_begin(self, model, logs_available):
        """Called by ``fit`` before the first update.

        Raising here aborts fit before any parameter changes.

        Parameters
        ----------
        model : Sequential
            The model being trained.
        logs_available : tuple of str
            The metrics fit will report at the end of each epoch.
        """

    def on_epoch_end(self, model, epoch, logs):
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

    def on_train_end(self, model):
        """Called by ``fit`` when training ends, by stopping early or after the last epoch.

        Parameters
        ----------
        model : Sequential
            The model trained.
        """


class History(Callback):
    """What ``fit`` returns: ``history`` (metric -> list of per-epoch values), ``epoch``, ``params``.

    Parameters
    ----------
    params : dict, optional
        The settings of the fit (epochs, batch size, steps per epoch), kept as ``params``.
    """

    def __init__(self, params=None):
        self.history = {}
        self.epoch = []
        self.params = dict(params or {})

    def on_epoch_end(self, model, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, metrics={list(self.history)})"


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

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto", restore_best=True):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a metric name (str), got {type(monitor).__name__}")
        self.monitor = monitor
        self.patience = _checks.integer(patience, "patience", minimum=0)
        self.min_delta = _checks.real(min_delta, "min_delta", low=0.0)
        self.mode = _checks.choice(mode, "mode", ("auto", "min", "max"))
        self.restore_best = _checks.boolean(restore_best, "restore_best")
        if self.mode == "auto":
            self.mode = "max" if "acc" in monitor else "min"

    def on_train_begin(self, model, logs_available):
        if self.monitor not in logs_available:
            raise ValueError(f"EarlyStopping monitor={self.monitor!r} is not reported by this fit; "
                             f"available: {tuple(logs_available)} (val_* needs validation_data)")
        self.wait = 0
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_epoch = None
        self.best_state = None
        self.stopped_epoch = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, model, epoch, logs):
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

    def on_train_end(self, model):
        if self.restore_best and self.best_state is not None:
            model.set_state(self.best_state)
