"""EarlyStopping and History."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, optim
from conftest import classification_data


class Scripted(callbacks.Callback):
    """Overwrites val_loss with a scripted sequence, so stopping is deterministic."""

    def __init__(self, values):
        self.values = values

    def on_epoch_end(self, model, epoch, logs):
        logs["val_loss"] = self.values[epoch]


def test_early_stopping_stops_and_restores_best(rng):
    X, y = classification_data(rng)
    model = fastnn.MLP([5, 6, 3], dtype="float64", seed=0)
    states = []

    class Record(callbacks.Callback):
        def on_epoch_end(self, model, epoch, logs):
            states.append(model.get_state())

    stop = fastnn.EarlyStopping(monitor="val_loss", patience=2)
    script = [1.0, 0.5, 0.6, 0.4, 0.45, 0.41, 0.3, 0.1]
    hist = model.fit(X, y, epochs=8, optimizer=optim.SGD(0.1), validation_data=(X, y), verbose=0,
                     callbacks=[Scripted(script), Record(), stop])
    assert stop.best_epoch == 3 and stop.stopped_epoch == 5 and len(hist.epoch) == 6
    for name, value in model.parameters().items():
        assert np.array_equal(value, states[3]["params"][name])


def test_restore_best_false_keeps_last(rng):
    X, y = classification_data(rng)
    model = fastnn.MLP([5, 6, 3], dtype="float64", seed=0)
    stop = fastnn.EarlyStopping(monitor="val_loss", patience=0, restore_best=False)
    model.fit(X, y, epochs=5, optimizer=optim.SGD(0.1), validation_data=(X, y), verbose=0,
              callbacks=[Scripted([1.0, 2.0, 0.0, 0.0, 0.0]), stop])
    assert stop.stopped_epoch == 1 and stop.best_state is None


def test_accuracy_is_maximised(rng):
    stop = fastnn.EarlyStopping(monitor="val_accuracy")
    assert stop.mode == "max"
    with pytest.raises(ValueError, match="mode must be one of"):
        fastnn.EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="patience must be >= 0"):
        fastnn.EarlyStopping(patience=-1)


def test_history(rng):
    X, y = classification_data(rng)
    hist = fastnn.MLP([5, 6, 3], seed=0).fit(X, y, epochs=3, batch_size=10, verbose=0)
    assert hist.epoch == [0, 1, 2] and hist.params == {"epochs": 3, "steps": 4, "batch_size": 10, "samples": 40,
                                                       "eval_every": None}
    assert len(hist.history["loss"]) == len(hist.history["accuracy"]) == 3
    # the per-epoch rows also carry the update count, the epoch and the learning rate
    assert hist.history["step"] == [4, 8, 12] and hist.history["epoch"] == [0, 1, 2]
    assert hist.history["lr"] == [optim.Adam().lr] * 3
