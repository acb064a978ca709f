"""The C training engine (fastnn/_engine.py, csrc/engine.c): the same training as the
layer-by-layer path and the NumPy backend, deterministic for any thread count, safe to
interrupt, and no copies of the data (the kernels the engine composes are tested in
test_ops*.py)."""

from __future__ import annotations

import _thread
import threading
import tracemalloc

import numpy as np
import pytest

import fastnn
from fastnn import _engine, _ops, callbacks, layers as L, optim, schedules
from conftest import DTYPES, assert_same_snapshot, rel_error, snapshot
from test_model import CASES, _targets


def _fit(case, backend, use_engine, rng_seed=0, **fit_kw):
    make_layers, loss, make_opt = CASES[case]
    rng = np.random.default_rng(rng_seed)
    X = rng.standard_normal((50, 5))
    y, loss = _targets(loss, rng, 50, X)
    model = fastnn.Sequential(make_layers(), loss=loss, l2=1e-3, dtype="float64", backend=backend, seed=7)
    model.use_engine = use_engine
    opt = make_opt()
    hist = model.fit(X, y, epochs=5, batch_size=16, optimizer=opt, verbose=0, **fit_kw)
    return np.array(hist.history["loss"]), model, opt


def _assert_same_training(a, b, tol):
    (loss_a, model_a, opt_a), (loss_b, model_b, opt_b) = a, b
    assert np.all(np.isfinite(loss_a)) and loss_a[-1] < loss_a[0]
    assert np.max(np.abs(loss_a - loss_b) / np.abs(loss_b)) <= tol
    state_a, state_b = model_a.get_state(), model_b.get_state()
    for kind in ("params", "buffers"):
        for name in state_b[kind]:
            assert rel_error(state_a[kind][name], state_b[kind][name]) <= tol, name
    assert opt_a.iterations == opt_b.iterations
    assert opt_a.state.keys() == opt_b.state.keys()
    for name, state in opt_b.state.items():
        assert state.keys() == opt_a.state[name].keys(), name
        for key, value in state.items():
            assert rel_error(opt_a.state[name][key], value) <= tol, (name, key)
    for la, lb in zip(model_a.layers, model_b.layers):
        assert getattr(la, "step", None) == getattr(lb, "step", None)


@pytest.mark.parametrize("case", list(CASES))
def test_engine_equals_layer_by_layer_and_numpy(case):
    engine = _fit(case, "c", True)
    assert _engine.supports(engine[1], engine[2])
    _assert_same_training(engine, _fit(case, "c", False), 1e-10)
    _assert_same_training(engine, _fit(case, "numpy", False), 1e-10)


OPTIMIZER_CASES = ("momentum", "nesterov", "dampening", "adagrad", "adagrad_decay", "rmsprop",
                   "rmsprop_centered_momentum", "adam", "adam_betas", "clip_momentum", "clip_adam")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", OPTIMIZER_CASES)
def test_engine_updates_and_l2_are_the_ops_kernels_bit_for_bit(case, dtype):
    # The engine calls fnn_<kind>_update with the L2 term fused in and sums fnn_l2_penalty per
    # weight; layer by layer, Sequential calls ops.l2_gradient, ops.<kind>_update and
    # ops.l2_penalty: one set of C functions, so the two paths agree exactly.
    make_layers, loss, make_opt = CASES[case]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 5))
    y, loss = _targets(loss, rng, 50, X)
    runs = []
    for use_engine in (True, False):
        model = fastnn.Sequential(make_layers(), loss=loss, l2=1e-3, dtype=dtype, seed=7)
        model.use_engine = use_engine
        opt = make_opt()
        hist = model.fit(X, y, epochs=3, batch_size=16, optimizer=opt, verbose=0)
        runs.append((hist.history["loss"], model.get_state()["params"], opt.state))
    (loss_e, params_e, state_e), (loss_l, params_l, state_l) = runs
    assert loss_e == loss_l
    assert all(np.array_equal(params_e[name], params_l[name]) for name in params_l)
    assert state_e.keys() == state_l.keys()
    for name, state in state_l.items():
        assert state.keys() == state_e[name].keys()
        assert all(np.array_equal(state_e[name][key], value) for key, value in state.items()), name


@pytest.mark.parametrize("schedule", [schedules.Constant(0.05), schedules.StepDecay(0.1, 0.5, 4),
                                      schedules.Cyclical(0.01, 0.2, 3), lambda t: 0.1 / (1 + t)],
                         ids=["constant", "step", "cyclical", "lambda"])
def test_schedules_in_the_engine(schedule):
    engine = _fit("momentum", "c", True, lr_schedule=schedule)
    _assert_same_training(engine, _fit("momentum", "numpy", False, lr_schedule=schedule), 1e-10)
    assert engine[2].lr == schedule(engine[2].iterations - 1)


def test_fit_goes_through_the_engine(rng, monkeypatch):
    def refuse(self, X, training=False):
        raise AssertionError("a layer's Python forward ran during an engine fit")

    X, y = rng.standard_normal((64, 5)), rng.integers(0, 3, size=64)
    model = fastnn.MLP([5, 8, 3], batch_norm=True, dropout=0.2, dtype="float32", seed=0)
    for cls in (L.Dense, L.BatchNorm, L.Activation, L.Dropout):
        monkeypatch.setattr(cls, "forward", refuse)
    model.fit(X, y, epochs=2, batch_size=16, optimizer=optim.SGD(0.1), verbose=0)
    assert model.optimizer.iterations == 8


def test_custom_optimizer_falls_back_to_layer_by_layer(rng):
    class HalfSGD(optim.SGD):
        def _update(self, kernels, p, g, state, step):
            kernels.sgd_update(p, g, None, self.lr / 2)

    X, y = rng.standard_normal((32, 5)), rng.integers(0, 3, size=32)
    model = fastnn.MLP([5, 8, 3], dtype="float64", seed=0)
    assert not _engine.supports(model, HalfSGD(0.1))
    twin = model.copy()
    model.fit(X, y, epochs=1, batch_size=32, optimizer=HalfSGD(0.1), shuffle=False, verbose=0)
    twin.fit(X, y, epochs=1, batch_size=32, optimizer=optim.SGD(0.05), shuffle=False, verbose=0)
    assert rel_error(model.layers[0].W, twin.layers[0].W) <= 1e-12


# ------------------------------------------------------------------ determinism
def _deterministic_run(threads, dtype):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((600, 300)).astype(dtype)
    y = rng.integers(0, 10, size=600)
    model = fastnn.MLP([300, 256, 128, 10], batch_norm=True, dropout=0.2, dtype=dtype, seed=5)
    before = fastnn.get_num_threads()
    fastnn.set_num_threads(threads)
    try:
        hist = model.fit(X, y, epochs=2, batch_size=128, optimizer=optim.Adam(1e-3), verbose=0)
    finally:
        fastnn.set_num_threads(before)
    return hist.history["loss"], model.get_state()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
def test_bit_identical_for_any_thread_count_and_run(dtype):
    runs = [_deterministic_run(1, dtype), _deterministic_run(2, dtype), _deterministic_run(2, dtype)]
    loss0, state0 = runs[0]
    for loss, state in runs[1:]:
        assert loss == loss0
        for kind in ("params", "buffers"):
            for name, value in state0[kind].items():
                assert np.array_equal(state[kind][name], value), name


# ------------------------------------------------------------------ interrupts
class _InterruptAt(callbacks.Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, model, epoch, logs):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_interrupt_from_a_callback_keeps_the_completed_steps(rng):
    X, y = rng.standard_normal((96, 5)), rng.integers(0, 3, size=96)
    make = lambda: fastnn.MLP([5, 16, 3], batch_norm=True, dropout=0.1, seed=2)  # noqa: E731
    model, reference = make(), make()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=10, batch_size=16, optimizer=optim.SGD(0.1, momentum=0.9), verbose=0,
                  callbacks=[_InterruptAt(2)])
    reference.fit(X, y, epochs=3, batch_size=16, optimizer=optim.SGD(0.1, momentum=0.9), verbose=0)
    got, want = snapshot(model), snapshot(reference)
    for kind in ("params", "buffers"):
        for name in want[kind]:
            assert np.array_equal(got[kind][name], want[kind][name]), name
    assert got["dropout"] == want["dropout"] and model.optimizer.iterations == 18
    assert model.training  # the mode it was in
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)  # still usable
    assert model.predict(X).shape == (96,)


def test_interrupt_by_signal_stops_between_two_steps():
    rng = np.random.default_rng(11)
    X, y = rng.standard_normal((4000, 20)), rng.integers(0, 4, size=4000)
    make = lambda: fastnn.MLP([20, 64, 4], batch_norm=True, dtype="float64", seed=4)  # noqa: E731
    model = make()
    model.engine_chunk_seconds = 0.002  # come back to Python often: many chances to stop
    opt = optim.Adam(1e-3)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, y, epochs=10_000, batch_size=50, optimizer=opt, verbose=0)
    finally:
        timer.cancel()
    steps = opt.iterations
    assert 0 < steps < 10_000 * 80
    # Replay exactly `steps` updates from the same start: same shuffles, same batches.
    replay = make()
    ropt = optim.Adam(1e-3)
    epochs, rest = divmod(steps, 80)
    if epochs:
        replay.fit(X, y, epochs=epochs, batch_size=50, optimizer=ropt, verbose=0)
    if rest:
        trainer = _engine.Trainer(replay, ropt, X, y, [(0, 50)])
        order = replay._shuffle_rng.permutation(4000)
        trainer.run(order, np.arange(0, 50 * rest + 1, 50, dtype=np.int64), np.full(rest, ropt.lr))
        trainer.close()
    assert ropt.iterations == steps
    for name, value in replay.get_state()["params"].items():
        assert np.array_equal(model.get_state()["params"][name], value), name
    for name, state in ropt.state.items():
        for key, value in state.items():
            assert np.array_equal(opt.state[name][key], value), (name, key)
    assert np.all(np.isfinite(model.predict_proba(X)))


def test_unfilled_momentum_buffer_is_dropped(rng):
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 3, size=20)
    model = fastnn.MLP([5, 4, 3], seed=0)
    opt = optim.SGD(0.1, momentum=0.9)
    model.fit(X, y, epochs=0, optimizer=opt, verbose=0)
    assert all("momentum" not in s for s in opt.state.values())
    model.fit(X, y, epochs=1, batch_size=20, optimizer=opt, verbose=0)
    assert all(np.array_equal(s["momentum"].shape, p.shape)
               for s, p in zip(opt.state.values(), model.parameters().values()))


# ------------------------------------------------------------------ memory
def test_fit_does_not_copy_the_data():
    rng = np.random.default_rng(0)
    n, d = 20_000, 784
    X = rng.standard_normal((n, d), dtype=np.float32)   # 63 MB
    y = rng.integers(0, 10, size=n)
    model = fastnn.MLP([d, 256, 10], batch_norm=True, dtype="float32", seed=0)
    params = sum(p.nbytes for p in model.parameters().values())
    batch = 256 * (d + 3 * 256 + 3 * 10) * 4
    tracemalloc.start()
    try:
        model.fit(X, y, epochs=2, batch_size=256, optimizer=optim.Adam(), verbose=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # everything fit allocates (NumPy arrays, the engine's workspace) on top of the data
    assert peak <= 3 * params + 2 * batch + 32 * 2 ** 20, peak
    assert peak < X.nbytes / 2  # in particular, no copy of X




def test_runs_across_epochs_train_as_epoch_by_epoch(rng, capsys):
    X, y = rng.standard_normal((70, 5)), rng.integers(0, 3, size=70)
    results = []
    for verbose, chunk in ((0, 0.15), (0, 1e-9), (2, 0.15)):  # crossing epochs, one step a run, per epoch
        model = fastnn.MLP([5, 8, 3], batch_norm=True, dropout=0.2, dtype="float64", seed=3)
        model.engine_chunk_seconds = chunk
        hist = model.fit(X, y, epochs=6, batch_size=16, optimizer=optim.Adam(0.01), verbose=verbose)
        results.append((hist.history, snapshot(model)))
    capsys.readouterr()
    for history, state in results[1:]:
        assert history == results[0][0]
        for kind in ("params", "buffers"):
            for name, value in results[0][1][kind].items():
                assert np.array_equal(state[kind][name], value), name
        assert state["dropout"] == results[0][1]["dropout"] and state["shuffle"] == results[0][1]["shuffle"]


def test_engine_refuses_bad_runs_before_changing_anything(rng):
    X, y = rng.standard_normal((32, 5)), rng.integers(0, 3, size=32)
    model = fastnn.MLP([5, 8, 3], batch_norm=True, dtype="float64", seed=0)
    opt = optim.SGD(0.1)
    trainer = _engine.Trainer(model, opt, X, y, [(0, 16), (16, 32)])
    before = snapshot(model)
    bad_labels = _engine.Trainer(model, opt, X, np.where(np.arange(32) == 20, 3, y), [(0, 16), (16, 32)])
    order, edges, lr = np.arange(32), np.array([0, 16, 32]), np.full(2, 0.1)
    with pytest.raises(ValueError):
        bad_labels.run(order, edges, lr)   # step 2 has label 3 of 3 classes
    with pytest.raises(ValueError):
        trainer.run(np.where(order == 31, 32, order), edges, lr)  # sample 32 does not exist
    with pytest.raises(ValueError):
        trainer.run(order, np.array([0, 16, 33]), lr)  # past the end of the order
    with pytest.raises(ValueError):
        trainer.run(order, np.array([0, 15, 16]), lr)  # a batch of one for batch norm
    after = snapshot(model)
    for kind in ("params", "buffers"):
        for name in before[kind]:
            assert np.array_equal(before[kind][name], after[kind][name]), name
    assert opt.iterations == 0


# ------------------------------------------------------------------ data checked during the first epoch
def test_checked_steps_stop_at_the_bad_batch_after_the_steps_before_it(rng, simd_level):
    X, y = rng.standard_normal((48, 5)), rng.integers(0, 3, size=48)
    order, edges, lr = np.arange(48), np.array([0, 16, 32, 48]), np.full(3, 0.1)
    bad = X.copy()
    bad[40, 2] = np.nan  # in the third batch
    models = [fastnn.MLP([5, 8, 3], batch_norm=True, dtype="float64", seed=0) for _ in range(2)]
    opts = [optim.Adam(0.01), optim.Adam(0.01)]
    checked = _engine.Trainer(models[0], opts[0], bad, y, [(0, 16), (16, 32), (32, 48)])
    with pytest.raises(_engine.NonFiniteBatch):
        checked.run(order, edges, lr, checked_steps=3)
    checked.close()
    clean = _engine.Trainer(models[1], opts[1], X, y, [(0, 16), (16, 32), (32, 48)])
    clean.run(order, edges[:3], lr[:2])  # the two steps before the bad batch
    clean.close()
    assert_same_snapshot(snapshot(models[1]), snapshot(models[0]))
    assert opts[0].iterations == opts[1].iterations == 2
    # unchecked steps train on whatever they gather; a batch past checked_steps is not looked at
    unchecked = _engine.Trainer(models[0], opts[0], bad, y, [(0, 16), (16, 32), (32, 48)])
    losses, _ = unchecked.run(order, edges, lr, checked_steps=2)
    assert np.isnan(losses[2]) and np.all(np.isfinite(losses[:2]))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
@pytest.mark.parametrize("row", [0, 137, 299])
def test_a_bad_value_found_during_the_first_epoch_undoes_the_fit(dtype, bad, row, rng, monkeypatch):
    monkeypatch.setattr(fastnn.Sequential, "check_while_training_bytes", 0)
    found = []  # the engine found the bad batch (nothing checked the data before training)
    run = _engine.Trainer.run

    def spy(self, *args):
        try:
            return run(self, *args)
        except _engine.NonFiniteBatch:
            found.append(args[3])  # checked_steps
            raise

    monkeypatch.setattr(_engine.Trainer, "run", spy)
    X, y = rng.standard_normal((300, 6)).astype(dtype), rng.integers(0, 3, size=300)
    model = fastnn.MLP([6, 16, 3], batch_norm=True, dropout=0.2, dtype=dtype, seed=1)
    opt = optim.Adam(0.01)
    model.fit(X, y, epochs=1, batch_size=32, optimizer=opt, verbose=0)  # optimiser state exists
    iterations = opt.iterations
    twin, twin_opt = model.copy(), optim.Adam(0.01)
    twin_opt.iterations, twin_opt.state = opt.iterations, {k: {s: a.copy() for s, a in v.items()}
                                                           for k, v in opt.state.items()}
    twin._shuffle_rng.bit_generator.state = model._shuffle_rng.bit_generator.state
    before, opt_state = snapshot(model), {k: {s: a.copy() for s, a in v.items()} for k, v in opt.state.items()}
    bad_X = X.copy()
    bad_X[row, 4] = bad
    with pytest.raises(ValueError, match=rf"X must be finite, found {bad} at index \({row}, 4\)"):
        model.fit(bad_X, y, epochs=3, batch_size=32, optimizer=optim.SGD(0.1, momentum=0.9), verbose=0)
    assert_same_snapshot(before, snapshot(model))
    assert model.optimizer is opt and opt.iterations == iterations
    assert opt.state.keys() == opt_state.keys()
    assert all(np.array_equal(opt_state[k][s], opt.state[k][s]) for k in opt_state for s in opt_state[k])
    with pytest.raises(ValueError, match="X must be finite"):  # the model's own optimiser, its state
        model.fit(bad_X, y, epochs=3, batch_size=32, verbose=0)
    assert opt.iterations == iterations
    assert found == [9, 9]  # each run checked the whole first epoch's 9 steps
    # and the next fit trains exactly as if the rejected ones had never been called
    model.fit(X, y, epochs=2, batch_size=32, verbose=0)
    twin.fit(X, y, epochs=2, batch_size=32, optimizer=twin_opt, verbose=0)
    assert_same_snapshot(snapshot(twin), snapshot(model))


def test_data_are_checked_up_front_when_something_runs_between_epochs(rng, monkeypatch):
    monkeypatch.setattr(fastnn.Sequential, "check_while_training_bytes", 0)
    X, y = rng.standard_normal((64, 5)), rng.integers(0, 3, size=64)
    X[50, 0] = np.nan
    calls = []

    class Record(callbacks.Callback):
        def on_train_begin(self, model, metrics):
            calls.append("begin")

    model = fastnn.MLP([5, 8, 3], seed=0)
    before = snapshot(model)
    for kwargs in (dict(callbacks=[Record()]), dict(validation_data=(X[:8] * 0, y[:8])), dict(epochs=0)):
        with pytest.raises(ValueError, match=r"X must be finite, found nan at index \(50, 0\)"):
            model.fit(X, y, **{"epochs": 2, "verbose": 0, **kwargs})
    assert calls == [] and model.optimizer is None
    assert_same_snapshot(before, snapshot(model))


def test_large_data_are_checked_while_training_and_not_before(rng, monkeypatch):
    X, y = rng.standard_normal((2048, 2048)).astype(np.float32), rng.integers(0, 3, size=2048)  # 16 MiB
    assert X.nbytes >= fastnn.Sequential.check_while_training_bytes
    seen = []
    real_finite = fastnn.model._checks.finite
    monkeypatch.setattr(fastnn.model._checks, "finite", lambda a, name: seen.append(name) or real_finite(a, name))
    model = fastnn.MLP([2048, 4, 3], dtype="float32", seed=0)
    model.fit(X, y, epochs=1, batch_size=512, optimizer=optim.SGD(0.01), verbose=0)
    assert "X" not in seen
    model.fit(X[:1024], y[:1024], epochs=1, batch_size=512, optimizer=optim.SGD(0.01), verbose=0)
    assert "X" in seen  # 8 MiB: one pass of its own, as before
