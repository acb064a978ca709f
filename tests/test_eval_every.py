"""fit(..., eval_every=k): the course's curves every k updates, the same rows from the C engine
and the layer-by-layer path, and fastnn.plot.history / History.plot that draws them."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import _engine, callbacks, optim, schedules
from conftest import assert_same_snapshot, snapshot

CLASSIFIER_COLUMNS = ["step", "epoch", "lr", "loss", "cost", "accuracy"]


def _data(seed=0, n=203, d=6, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + 60, d))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    y = np.minimum(y, classes - 1)
    return X[:n], y[:n], X[n:], y[n:]


def _model(batch_norm=True, dropout=0.0, backend="c", use_engine=True, dtype="float64", **kw):
    model = fastnn.MLP([6, 16, 3], batch_norm=batch_norm, dropout=dropout, l2=1e-3, dtype=dtype, backend=backend,
                       seed=1, **kw)
    model.use_engine = use_engine
    return model


def _fit(model, X, y, validation=None, schedule=None, eval_every=5, epochs=3, **kw):
    optimizer = optim.SGD(0.05, momentum=0.9)
    return model.fit(X, y, epochs=epochs, batch_size=20, optimizer=optimizer, lr_schedule=schedule,
                     validation_data=validation, eval_every=eval_every, verbose=0, **kw)


def test_a_row_every_five_updates_with_the_schedule_s_learning_rate():
    X, y, Xv, yv = _data()
    schedule = schedules.Cyclical(1e-3, 1e-1, step_size=7)
    history = _fit(_model(), X, y, (Xv, yv), schedule, eval_every=5)
    steps = history.params["steps"]
    assert steps == 10  # 203 samples in batches of 20, the short last one merged (batch norm)
    assert list(history.history) == CLASSIFIER_COLUMNS + ["val_loss", "val_cost", "val_accuracy"]
    assert history.params["eval_every"] == 5
    assert history.history["step"] == list(range(5, 31, 5))
    assert history.epoch == history.history["epoch"] == [(s - 1) // steps for s in range(5, 31, 5)]
    # the learning rate of the row's update: update s - 1 counted from 0, as the schedule counts
    assert history.history["lr"] == [schedule(s - 1) for s in range(5, 31, 5)]
    assert len(set(history.history["lr"])) > 3  # the cycle is visible in the rows
    for column, values in history.history.items():
        assert len(values) == 6 and all(np.isfinite(values)), column


def test_eval_every_not_dividing_the_fit_leaves_the_rest_unrecorded():
    X, y, _, _ = _data()
    history = _fit(_model(), X, y, eval_every=7, epochs=2)  # 20 updates
    assert history.history["step"] == [7, 14]
    assert history.epoch == [0, 1]
    history = _fit(_model(), X, y, eval_every=50, epochs=2)
    assert history.history == {} and history.epoch == []


def _assert_row_measures(history, row, model, sets):
    """History row ``row`` holds the curves of ``model`` on each (prefix, X, y) of ``sets``."""
    penalty = model.l2_penalty()
    assert penalty > 0 and history.history["cost"][row] > history.history["loss"][row]
    for prefix, A, b in sets:
        measured = model.evaluate(A, b)  # eval mode, the whole set, loss with the L2 term
        assert abs(history.history[f"{prefix}cost"][row] - measured["loss"]) <= 1e-12 * measured["loss"]
        assert abs(history.history[f"{prefix}loss"][row] - (measured["loss"] - penalty)) <= 1e-12
        assert history.history[f"{prefix}accuracy"][row] == measured["accuracy"]


@pytest.mark.parametrize("validation", [False, True], ids=["train", "validation"])
def test_rows_measure_the_whole_set_in_eval_mode_after_that_update(validation):
    X, y, Xv, yv = _data()
    sets = [("", X, y)] + ([("val_", Xv, yv)] if validation else [])
    schedule = schedules.StepDecay(0.05, 0.5, 6)
    # mid-epoch: without shuffling, the first 5 updates are those of a fit on the first 100 samples
    history = _fit(_model(batch_norm=False, dropout=0.2), X, y, (Xv, yv) if validation else None, schedule,
                   eval_every=5, shuffle=False)
    twin = _model(batch_norm=False, dropout=0.2)
    _fit(twin, X[:100], y[:100], schedule=schedule, eval_every=None, epochs=1, shuffle=False)
    assert history.history["step"][0] == 5 and twin.optimizer.iterations == 5
    _assert_row_measures(history, 0, twin, sets)
    # at an epoch's end (the 20th update), with shuffling and batch norm's running statistics
    history = _fit(_model(dropout=0.2), X, y, (Xv, yv) if validation else None, schedule, eval_every=5)
    twin = _model(dropout=0.2)
    _fit(twin, X, y, schedule=schedule, eval_every=None, epochs=2)
    assert history.history["step"][3] == 20 and twin.optimizer.iterations == 20
    _assert_row_measures(history, 3, twin, sets)


SCHEDULES = {"none": None, "step": schedules.StepDecay(0.08, 0.5, 6), "cyclical": schedules.Cyclical(1e-3, 0.1, 7)}


@pytest.mark.parametrize("validation", [False, True], ids=["train", "validation"])
@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("batch_norm", [True, False], ids=["bn", "plain"])
def test_the_engine_records_the_rows_of_the_layer_by_layer_path(schedule, validation, batch_norm):
    X, y, Xv, yv = _data()
    runs = []
    for backend, use_engine in (("c", True), ("c", False), ("numpy", False)):
        model = _model(batch_norm=batch_norm, dropout=0.1, backend=backend, use_engine=use_engine)
        history = _fit(model, X, y, (Xv, yv) if validation else None, SCHEDULES[schedule], eval_every=3)
        runs.append((history, snapshot(model)))
    (engine, engine_state), *others = runs
    total = 3 * engine.params["steps"]  # 30 with batch norm (the short batch merged), 33 without
    assert engine.history["step"] == list(range(3, total + 1, 3))
    for (other, state), tol in zip(others, (1e-12, 1e-10)):
        assert list(other.history) == list(engine.history) and other.epoch == engine.epoch
        for column in ("step", "epoch", "lr"):
            assert other.history[column] == engine.history[column], column
        for column, values in engine.history.items():
            values, want = np.array(values), np.array(other.history[column])
            assert np.all(np.abs(values - want) <= tol * np.abs(want)), column
        for kind in ("params", "buffers"):
            for name, value in state[kind].items():
                np.testing.assert_allclose(engine_state[kind][name], value, rtol=tol, atol=tol)


def _engine_runs(monkeypatch):
    """The number of steps of each engine call of the fits that follow."""
    counts = []
    run = _engine.Trainer.run

    def spy(self, order, bounds, lr, *args):
        counts.append(len(lr))
        return run(self, order, bounds, lr, *args)

    monkeypatch.setattr(_engine.Trainer, "run", spy)
    return counts


@pytest.mark.parametrize("validation", [False, True], ids=["across-epochs", "validation"])
def test_the_engine_runs_the_steps_between_two_rows_in_one_call(validation, monkeypatch):
    X, y, Xv, yv = _data()
    counts = _engine_runs(monkeypatch)
    model = _model(dropout=0.1)
    model.engine_chunk_seconds = 1e9
    model._engine_chunk = 10 ** 6  # the first run already as long as a run may be
    history = _fit(model, X, y, (Xv, yv) if validation else None, eval_every=7)
    assert history.history["step"] == [7, 14, 21, 28]
    if validation:  # something runs after each epoch: runs also end at epoch ends (10, 20)
        assert counts == [7, 3, 4, 6, 1, 7, 2]
    else:           # nothing between epochs: a run ends only at a row (and at the fit's end)
        assert counts == [7, 7, 7, 7, 2]


def test_rows_change_nothing_in_training():
    # the same training (parameters, running statistics, dropout steps, optimiser, shuffling)
    # with and without the rows; the per-epoch logs the callbacks see are those of a fit
    # without eval_every, also where a row's validation pass stands in for the epoch's
    X, y, Xv, yv = _data()
    class Record(callbacks.Callback):
        def __init__(self):
            self.logs = []

        def on_epoch_end(self, model, epoch, logs):
            self.logs.append(dict(logs))

    results = []
    for eval_every in (None, 5, 7):
        model, optimizer, record = _model(dropout=0.2), optim.Adam(0.01), Record()
        model.fit(X, y, epochs=3, batch_size=20, optimizer=optimizer, validation_data=(Xv, yv), verbose=0,
                  callbacks=[record], eval_every=eval_every, lr_schedule=schedules.Cyclical(1e-3, 1e-2, 4))
        results.append((record.logs, snapshot(model), optimizer.iterations))
    for logs, state, iterations in results[1:]:
        assert logs == results[0][0]
        assert_same_snapshot(results[0][1], state)
        assert iterations == results[0][2] == 30


def test_early_stopping_and_interrupts_work_with_eval_every():
    X, y, Xv, yv = _data()
    stop = fastnn.EarlyStopping(monitor="val_loss", patience=0, restore_best=False)

    class Worse(callbacks.Callback):  # scripted: the second epoch is worse, so training stops
        def on_epoch_end(self, model, epoch, logs):
            logs["val_loss"] = float(epoch)

    history = _fit(_model(), X, y, (Xv, yv), eval_every=4, epochs=5, callbacks=[Worse(), stop])
    assert stop.stopped_epoch == 1 and history.history["step"] == [4, 8, 12, 16, 20]

    class Interrupt(callbacks.Callback):
        def on_epoch_end(self, model, epoch, logs):
            raise KeyboardInterrupt

    model = _model()
    with pytest.raises(KeyboardInterrupt):
        _fit(model, X, y, eval_every=4, epochs=5, callbacks=[Interrupt()])
    assert model.optimizer.iterations == 10 and model.training


@pytest.mark.parametrize("eval_every", [1, None], ids=["rows", "epochs"])
def test_a_diverging_fit_keeps_the_rows_of_the_updates_it_keeps(eval_every):
    # 7 updates an epoch; the 7th (t = 6) takes a huge step and the loss of the 8th is not
    # finite, so fit goes back to the state before the 7th: the row after it (the 7th update's
    # row, or the first epoch's) described the state undone and is dropped
    X, y, _, _ = _data()
    runs = []
    for backend, use_engine in (("c", True), ("c", False), ("numpy", False)):
        model = _model(batch_norm=False, backend=backend, use_engine=use_engine)
        recorded = []

        class Record(callbacks.Callback):
            def on_epoch_end(self, model, epoch, logs):
                recorded.append(epoch)

        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="training diverged at epoch 1, step 7"):
            history = model.fit(X, y, epochs=3, batch_size=30, optimizer=optim.SGD(0.01), verbose=0,
                                eval_every=eval_every, lr_schedule=lambda t: 0.01 if t < 6 else 1e200,
                                on_divergence="warn", callbacks=[Record()])
        assert history.params["steps"] == 7 and recorded == [0]  # the first epoch did end
        assert model.optimizer.iterations == 6
        assert np.all(np.isfinite(model.predict_proba(X)))
        runs.append(history)
    for history in runs:
        if eval_every:
            assert history.history["step"] == [1, 2, 3, 4, 5, 6] and history.epoch == [0] * 6
            assert all(len(values) == 6 and np.all(np.isfinite(values)) for values in history.history.values())
            np.testing.assert_allclose(history.history["cost"], runs[0].history["cost"], rtol=1e-12)
        else:
            assert history.history == {} and history.epoch == []


def test_regression_rows_have_no_accuracy():
    X, _, Xv, _ = _data()
    model = fastnn.Sequential([fastnn.Dense(6, 2)], loss="mse", l2=1e-2, dtype="float64", seed=0)
    Y, Yv = X[:, :2] * 2.0, Xv[:, :2] * 2.0
    history = model.fit(X, Y, epochs=2, batch_size=20, optimizer=optim.SGD(0.01), validation_data=(Xv, Yv),
                        verbose=0, eval_every=4)
    assert list(history.history) == ["step", "epoch", "lr", "loss", "cost", "val_loss", "val_cost"]
    assert history.history["lr"] == [0.01] * 5


@pytest.mark.parametrize("value,error,match", [
    (0, ValueError, "eval_every must be >= 1, got 0"),
    (-3, ValueError, "eval_every must be >= 1"),
    (2.0, TypeError, "eval_every must be an integer, got float"),
    (True, TypeError, "eval_every must be an integer, got bool"),
    ("5", TypeError, "eval_every must be an integer, got str"),
])
def test_eval_every_is_checked_before_anything_changes(value, error, match):
    X, y, _, _ = _data()
    model = _model()
    before = snapshot(model)
    with pytest.raises(error, match=match):
        _fit(model, X, y, eval_every=value)
    assert_same_snapshot(before, snapshot(model))
    assert model.optimizer is None
    assert _fit(model, X, y, eval_every=np.int64(10)).history["step"] == [10, 20, 30]


# ---------------------------------------------------------------- plots

@pytest.fixture
def agg():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    return matplotlib


def test_plot_draws_the_three_curves_against_the_update_step(tmp_path, agg):
    X, y, Xv, yv = _data()
    history = _fit(_model(), X, y, (Xv, yv), schedules.Cyclical(1e-3, 0.1, 7), eval_every=5)
    path = tmp_path / "curves.png"
    fig = history.plot(path, title="cyclical learning rates")
    assert [ax.get_ylabel() for ax in fig.axes] == ["cost", "loss", "accuracy"]
    for ax, metric in zip(fig.axes, ("cost", "loss", "accuracy")):
        assert ax.get_xlabel() == "update step"
        training, validation = ax.get_lines()
        assert training.get_label() == "training" and validation.get_label() == "validation"
        assert list(training.get_xdata()) == history.history["step"]
        assert list(training.get_ydata()) == history.history[metric]
        assert list(validation.get_ydata()) == history.history[f"val_{metric}"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary file left
    svg = fastnn.plot.history(history.history, tmp_path / "loss.svg", metrics=["loss"])
    assert len(svg.axes) == 1 and (tmp_path / "loss.svg").read_text().lstrip().startswith("<?xml")


def test_plot_of_a_per_epoch_history_and_bad_arguments(tmp_path, agg):
    X, y, _, _ = _data()
    history = _fit(_model(), X, y, eval_every=None)
    fig = fastnn.plot.history(history)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]  # no cost: its loss has the L2 term
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1]
    assert fastnn.plot.history(history, metrics="lr").axes[0].get_ylabel() == "lr"
    with pytest.raises(ValueError, match="no column 'val_loss'"):
        fastnn.plot.history(history, metrics=["val_loss"])
    with pytest.raises(ValueError, match="no 'step' column"):
        fastnn.plot.history({"loss": [1.0, 0.5]})
    with pytest.raises(ValueError, match="none of"):
        fastnn.plot.history({"step": [1, 2], "lr": [0.1, 0.1]})
    with pytest.raises(TypeError, match="history must be a fastnn History"):
        fastnn.plot.history([1.0, 0.5])
    assert not any(tmp_path.iterdir())


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    X, y, _, _ = _data()
    history = _fit(_model(), X, y, eval_every=5)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib \(or, in fastnn's source folder, pip install '\.\[plot\]'\)") as info:
        history.plot(tmp_path / "curves.png")
    assert "fastnn-mlp" not in str(info.value)
    assert not any(tmp_path.iterdir())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert repr(history).startswith("History(rows=6, columns=['step'")
