"""fit never fails silently: settings assigned after construction and schedule values are
checked before the first update (a refused fit changes nothing); a diverging fit stops,
restores the state before the step that diverged and raises (or warns); gradient clipping
by global norm follows torch.nn.utils.clip_grad_norm_; score is accuracy or R^2."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import layers as L, optim
from conftest import assert_same_snapshot, rel_error, snapshot

# (backend, use_engine): the C engine, the C kernels layer by layer, the NumPy reference
PATHS = [("c", True), ("c", False), ("numpy", False)]
PATH_IDS = ["engine", "c-layers", "numpy"]


def _model(backend="c", use_engine=True, dtype="float32", seed=3, **kw):
    layers = [L.Dense(5, 8, bias=False), L.BatchNorm(8), L.LeakyReLU(0.1), L.Dropout(0.2), L.Dense(8, 3)]
    model = fastnn.Sequential(layers, backend=backend, dtype=dtype, seed=seed, **kw)
    model.use_engine = use_engine
    return model


def _data(rng, n=96):
    X = rng.standard_normal((n, 5))
    return X, rng.integers(0, 3, size=n)


def _opt_state(opt):
    return opt.iterations, {k: {s: a.copy() for s, a in v.items()} for k, v in opt.state.items()}


def _assert_same_opt_state(before, opt):
    iterations, state = before
    assert opt.iterations == iterations
    assert state.keys() == opt.state.keys()
    for name, arrays in state.items():
        assert arrays.keys() == opt.state[name].keys()
        assert all(np.array_equal(a, opt.state[name][k]) for k, a in arrays.items())


# ---------------------------------------------------------------- validate at use

def _set(target, name, value):
    def change(model, opt):
        obj = {"opt": opt, "model": model}.get(target) or model.layers[target]
        setattr(obj, name, value)
    return change


BAD_SETTINGS = {
    "lr-negative": (lambda: optim.SGD(0.1), _set("opt", "lr", -0.1), ValueError),
    "lr-nan": (lambda: optim.SGD(0.1), _set("opt", "lr", float("nan")), ValueError),
    "lr-string": (lambda: optim.Adam(), _set("opt", "lr", "0.1"), TypeError),
    "beta1-1.5": (lambda: optim.Adam(), _set("opt", "beta1", 1.5), ValueError),
    "beta2-1": (lambda: optim.Adam(), _set("opt", "beta2", 1.0), ValueError),
    "adam-eps-negative": (lambda: optim.Adam(), _set("opt", "eps", -1e-8), ValueError),
    "momentum-negative": (lambda: optim.SGD(0.1, momentum=0.9), _set("opt", "momentum", -0.5), ValueError),
    "dampening-2": (lambda: optim.SGD(0.1, momentum=0.9), _set("opt", "dampening", 2.0), ValueError),
    "nesterov-without-momentum": (lambda: optim.SGD(0.1, momentum=0.9, nesterov=True),
                                  _set("opt", "momentum", 0.0), ValueError),
    "nesterov-string": (lambda: optim.SGD(0.1), _set("opt", "nesterov", "yes"), TypeError),
    "lr_decay-negative": (lambda: optim.AdaGrad(), _set("opt", "lr_decay", -1.0), ValueError),
    "rmsprop-alpha-2": (lambda: optim.RMSProp(), _set("opt", "alpha", 2.0), ValueError),
    "max_grad_norm-0": (lambda: optim.SGD(0.1), _set("opt", "max_grad_norm", 0.0), ValueError),
    "max_grad_norm-inf": (lambda: optim.SGD(0.1), _set("opt", "max_grad_norm", math.inf), ValueError),
    "l2-negative": (lambda: optim.SGD(0.1), _set("model", "l2", -1.0), ValueError),
    "l2-string": (lambda: optim.SGD(0.1), _set("model", "l2", "0.1"), TypeError),
    "dropout-p-1.5": (lambda: optim.SGD(0.1), _set(3, "p", 1.5), ValueError),
    "batchnorm-momentum-2": (lambda: optim.SGD(0.1), _set(1, "momentum", 2.0), ValueError),
    "batchnorm-eps-0": (lambda: optim.SGD(0.1), _set(1, "eps", 0.0), ValueError),
    "leaky-alpha-negative": (lambda: optim.SGD(0.1), _set(2, "alpha", -1.0), ValueError),
}


@pytest.mark.parametrize("backend,use_engine", PATHS, ids=PATH_IDS)
@pytest.mark.parametrize("case", list(BAD_SETTINGS))
def test_a_bad_setting_assigned_after_construction_is_refused_and_changes_nothing(case, backend, use_engine,
                                                                                   rng):
    make_opt, change, error = BAD_SETTINGS[case]
    X, y = _data(rng)
    model, opt = _model(backend, use_engine), make_opt()
    model.fit(X, y, epochs=1, optimizer=opt, verbose=0)  # optimiser state and dropout steps exist
    before, opt_before = snapshot(model), _opt_state(opt)
    change(model, opt)
    with pytest.raises(error):
        model.fit(X, y, epochs=2, optimizer=opt, verbose=0)
    assert_same_snapshot(before, snapshot(model))
    _assert_same_opt_state(opt_before, opt)


def test_the_message_names_the_owner_and_the_setting(rng):
    X, y = _data(rng)
    model, opt = _model(), optim.SGD(0.1)
    opt.lr = -0.1
    with pytest.raises(ValueError, match=r"optimizer\.lr must be a finite number in \[0\.0, inf\), got -0\.1"):
        model.fit(X, y, optimizer=opt, verbose=0)
    opt.lr = 0.1
    model.l2 = "0.1"
    with pytest.raises(TypeError, match=r"model\.l2 must be a real number, got str"):
        model.fit(X, y, optimizer=opt, verbose=0)
    model.l2 = 0.0
    model.layers[3].p = 1.5
    with pytest.raises(ValueError, match=r"layers\[3\]\.p must be"):
        model.fit(X, y, optimizer=opt, verbose=0)


def test_constructors_apply_the_same_rules():
    with pytest.raises(ValueError, match="beta1"):
        optim.Adam(beta1=1.5)
    with pytest.raises(TypeError, match="l2"):
        fastnn.MLP([2, 2], l2="0.1")
    with pytest.raises(ValueError, match="max_grad_norm"):
        optim.RMSProp(max_grad_norm=-1.0)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD(0.1, nesterov=True)


def test_a_good_setting_assigned_after_construction_is_used(rng):
    X, y = _data(rng)
    runs = []
    for late in (False, True):
        opt = optim.SGD(0.05, momentum=0.5) if late else optim.SGD(0.05, momentum=0.9)
        if late:
            opt.momentum = np.float32(0.9)  # a NumPy scalar is converted as the constructor would
        model = _model()
        model.fit(X, y, epochs=2, optimizer=opt, verbose=0)
        runs.append(model.get_state()["params"])
        assert type(opt.momentum) is float
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])


@pytest.mark.parametrize("backend,use_engine", PATHS, ids=PATH_IDS)
@pytest.mark.parametrize("bad", [float("nan"), -0.5, "fast"], ids=["nan", "negative", "string"])
def test_a_schedule_value_is_refused_before_the_first_update(bad, backend, use_engine, rng):
    X, y = _data(rng)  # 3 steps an epoch: the bad value comes in the second epoch
    model, opt = _model(backend, use_engine), optim.SGD(0.1, momentum=0.9)
    model.fit(X, y, epochs=1, optimizer=opt, verbose=0)
    before, opt_before = snapshot(model), _opt_state(opt)
    start = opt.iterations
    calls = []

    def schedule(t):
        calls.append(t)
        return bad if t == start + 4 else 0.1

    with pytest.raises((ValueError, TypeError), match=rf"lr_schedule\({start + 4}\)"):
        model.fit(X, y, epochs=3, optimizer=opt, verbose=0, lr_schedule=schedule)
    assert calls == list(range(start, start + 5))
    assert_same_snapshot(before, snapshot(model))
    _assert_same_opt_state(opt_before, opt)


# ---------------------------------------------------------------- divergence

@pytest.mark.parametrize("dtype,epochs", [("float32", 2), ("float64", 30)])
@pytest.mark.parametrize("backend,use_engine", PATHS, ids=PATH_IDS)
def test_a_huge_learning_rate_raises_and_leaves_a_usable_model(backend, use_engine, dtype, epochs, rng):
    X, y = _data(rng)
    model = fastnn.MLP([5, 16, 3], backend=backend, dtype=dtype, seed=1)
    model.use_engine = use_engine
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError) as info:
        model.fit(X, y, epochs=epochs, optimizer=optim.SGD(lr=1e6), verbose=0)
    message = str(info.value)
    for words in ("training diverged at epoch", "step", "last finite loss", "lower learning rate",
                  "standardised inputs", "max_grad_norm"):
        assert words in message
    assert all(np.isfinite(p).all() for p in model.parameters().values())
    assert np.isfinite(model.predict_proba(X)).all()
    assert model.training  # the mode it was in


def _diverging_fit(backend, use_engine):
    """A fit that diverges after its first epoch: (the FloatingPointError's message, model, optimiser)."""
    X, y = _data(np.random.default_rng(0), n=100)
    model = _model(backend, use_engine, dtype="float64", l2=1e-3)
    opt = optim.SGD(1e3, momentum=0.9)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError) as info:
        model.fit(X, y, epochs=30, batch_size=16, optimizer=opt, verbose=0)
    return str(info.value), model, opt


def test_divergence_restores_the_same_state_in_the_engine_and_layer_by_layer():
    # the engine stops itself; layer by layer, fit checks after each step: both undo the step
    # that diverged by replaying from a checkpoint, so both end in the same state. (The NumPy
    # reference is left out: near 1e300 its operations overflow at other steps than C's.)
    ends = [_diverging_fit(backend, use_engine) for backend, use_engine in PATHS[:2]]
    message, model_e, opt_e = ends[0]
    assert opt_e.iterations > 6  # past the first epoch (6 steps): the replay crosses epochs
    for message_b, model_b, opt_b in ends[1:]:
        assert message_b.split(";")[0] == message.split(";")[0]
        assert opt_b.iterations == opt_e.iterations
        for kind in ("params", "buffers"):
            a, b = model_e.get_state()[kind], model_b.get_state()[kind]
            assert all(rel_error(a[k], b[k]) <= 1e-10 for k in a)
        assert [getattr(la, "step", None) for la in model_e.layers] == \
               [getattr(lb, "step", None) for lb in model_b.layers]
        assert opt_e.state.keys() == opt_b.state.keys()
        for name, state in opt_e.state.items():
            assert all(rel_error(v, opt_b.state[name][k]) <= 1e-10 for k, v in state.items())


@pytest.mark.parametrize("backend,use_engine", PATHS, ids=PATH_IDS)
def test_the_restored_state_is_that_before_the_step_that_diverged(backend, use_engine, rng):
    # without shuffling, the first k steps of a fit are a fit on the first k batches
    X, y = _data(rng, n=320)
    X *= 30
    model = fastnn.MLP([5, 16, 3], backend=backend, seed=1)
    model.use_engine = use_engine
    before = model.get_state()
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="after its update"):
        model.fit(X, y, epochs=1, optimizer=optim.SGD(lr=1e6), verbose=0, shuffle=False)
    k = model.optimizer.iterations
    assert 0 < k < 10
    twin = fastnn.MLP([5, 16, 3], backend=backend, seed=1)
    twin.use_engine = use_engine
    twin.set_state(before)
    with np.errstate(all="ignore"):
        twin.fit(X[:32 * k], y[:32 * k], epochs=1, optimizer=optim.SGD(lr=1e6), verbose=0, shuffle=False,
                 on_divergence="ignore")
    assert all(np.array_equal(a, twin.get_state()["params"][n]) for n, a in model.get_state()["params"].items())


@pytest.mark.parametrize("backend,use_engine", PATHS, ids=PATH_IDS)
def test_a_parameter_that_overflows_in_the_first_update_undoes_the_whole_fit(backend, use_engine, rng):
    X, y = _data(rng)
    model = fastnn.MLP([5, 16, 3], backend=backend, seed=1)
    model.use_engine = use_engine
    before = snapshot(model)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="epoch 1, step 1 of 3: its update left"):
        model.fit(X * 100, y, epochs=1, optimizer=optim.SGD(lr=3e38), verbose=0)
    after = snapshot(model)
    # the state before the first step: that of the fit's start, but for the first epoch's
    # sample order, drawn before that step
    before["shuffle"] = after["shuffle"]
    assert_same_snapshot(before, after)
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("backend,use_engine", PATHS, ids=PATH_IDS)
def test_warn_stops_the_same_way_and_returns_the_history(backend, use_engine, rng):
    X, y = _data(rng)
    model = fastnn.MLP([5, 16, 3], backend=backend, seed=1)
    model.use_engine = use_engine
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="training diverged at epoch"):
        history = model.fit(X, y, epochs=3, optimizer=optim.SGD(lr=1e6), verbose=0, on_divergence="warn")
    assert isinstance(history, fastnn.callbacks.History)
    assert np.isfinite(model.predict_proba(X)).all()


@pytest.mark.parametrize("backend,use_engine", PATHS, ids=PATH_IDS)
def test_ignore_trains_on(backend, use_engine, rng):
    X, y = _data(rng)
    model = fastnn.MLP([5, 16, 3], backend=backend, seed=1)
    model.use_engine = use_engine
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*(overflow|invalid value).*")
        history = model.fit(X, y, epochs=3, optimizer=optim.SGD(lr=1e6), verbose=0, on_divergence="ignore")
    assert model.optimizer.iterations == 9
    assert np.isnan(history.history["loss"][-1])


def test_on_divergence_is_checked(rng):
    X, y = _data(rng)
    with pytest.raises(ValueError, match="on_divergence"):
        fastnn.MLP([5, 3]).fit(X, y, on_divergence="stop", verbose=0)


# ---------------------------------------------------------------- clipping in fit

@pytest.mark.parametrize("l2", [0.0, 1e-2])
@pytest.mark.parametrize("backend,use_engine", PATHS, ids=PATH_IDS)
def test_fit_with_max_grad_norm_matches_torch_clip_grad_norm(backend, use_engine, l2):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((64, 4)), rng.standard_normal((64, 2))
    model = fastnn.Sequential([L.Dense(4, 8), L.Tanh(), L.Dense(8, 2)], loss="mse", l2=l2, dtype="float64",
                              backend=backend, seed=2)
    model.use_engine = use_engine
    start = model.get_state()["params"]
    opt = optim.SGD(0.2, momentum=0.9, max_grad_norm=0.25)
    model.fit(X, Y, epochs=3, batch_size=16, optimizer=opt, shuffle=False, verbose=0)

    t = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in start.items()}
    params = [t["0.W"], t["0.b"], t["2.W"], t["2.b"]]
    topt = torch.optim.SGD(params, lr=0.2, momentum=0.9)
    clipped = 0
    for _ in range(3):
        for s in range(0, 64, 16):
            x, yb = torch.tensor(X[s:s + 16]), torch.tensor(Y[s:s + 16])
            out = torch.tanh(x @ t["0.W"].T + t["0.b"]) @ t["2.W"].T + t["2.b"]
            loss = 0.5 * ((out - yb) ** 2).sum(dim=1).mean() + l2 * ((t["0.W"] ** 2).sum() + (t["2.W"] ** 2).sum())
            topt.zero_grad()
            loss.backward()
            clipped += float(torch.nn.utils.clip_grad_norm_(params, 0.25)) > 0.25
            topt.step()
    assert clipped >= 6  # the clipping acts on most of the 12 steps
    for name, value in model.parameters().items():
        assert rel_error(value, t[name].detach().numpy()) <= 1e-10, name


# ---------------------------------------------------------------- score

@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_score_of_an_mse_model_is_r2(backend, rng):
    metrics = pytest.importorskip("sklearn.metrics")
    X, Y = rng.standard_normal((80, 4)), rng.standard_normal((80, 3))
    model = fastnn.Sequential([L.Dense(4, 8), L.Tanh(), L.Dense(8, 3)], loss="mse", backend=backend,
                              dtype="float64", seed=1)
    model.fit(X, Y, epochs=5, verbose=0)
    expected = metrics.r2_score(Y, model.predict(X))
    assert abs(model.score(X, Y) - expected) <= 1e-12
    one = fastnn.Sequential([L.Dense(4, 1)], loss="mse", backend=backend, dtype="float64", seed=1)
    assert abs(one.score(X, Y[:, 0]) - metrics.r2_score(Y[:, 0], one.predict(X)[:, 0])) <= 1e-12


def test_r2_of_constant_columns_as_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    y = np.array([[1.0, 2.0, 0.5], [1.0, 3.0, 0.5], [1.0, 5.0, 0.5]])
    for O in (y.copy(), y + np.array([0.0, 0.5, 0.1])):
        assert abs(fastnn.losses.r2_score(y, O) - metrics.r2_score(y, O)) <= 1e-15


@pytest.mark.parametrize("loss,n_out", [("softmax_cross_entropy", 3), ("sigmoid_binary_cross_entropy", 1)])
def test_score_of_a_classifier_is_accuracy(loss, n_out, rng):
    X = rng.standard_normal((60, 4))
    y = rng.integers(0, max(n_out, 2), size=60)
    model = fastnn.Sequential([L.Dense(4, n_out)], loss=loss, seed=1)
    predicted = model.predict(X).reshape(-1)
    assert model.score(X, y) == np.mean(predicted == y)


@pytest.mark.parametrize("callback", [False, True], ids=["fit-checkpoint", "epoch-checkpoints"])
@pytest.mark.parametrize("backend,use_engine", PATHS, ids=PATH_IDS)
def test_a_step_undone_in_the_epoch_before_replays_from_the_checkpoint_before_it(backend, use_engine, callback,
                                                                                  rng):
    # one step an epoch: a loss that is not finite undoes the step before, in the epoch before
    # (with a callback, from the checkpoint of that epoch, not the latest one)
    X, y = _data(rng, n=32)
    X *= 10
    model = fastnn.MLP([5, 16, 3], backend=backend, seed=1)
    model.use_engine = use_engine
    before = model.get_state()
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="after its update") as info:
        model.fit(X, y, epochs=8, batch_size=32, optimizer=optim.SGD(lr=1e6), verbose=0,
                  callbacks=[fastnn.callbacks.Callback()] if callback else None)
    k = model.optimizer.iterations
    assert 1 <= k < 7 and f"epoch {k + 1}, step 1 of 1" in str(info.value)
    twin = fastnn.MLP([5, 16, 3], backend=backend, seed=1)
    twin.use_engine = use_engine
    twin.set_state(before)
    with np.errstate(all="ignore"):
        twin.fit(X, y, epochs=k, batch_size=32, optimizer=optim.SGD(lr=1e6), verbose=0)
    assert all(np.array_equal(a, twin.get_state()["params"][n]) for n, a in model.get_state()["params"].items())


@pytest.mark.parametrize("backend,use_engine", PATHS[:2], ids=PATH_IDS[:2])
def test_divergence_with_something_between_epochs_restores_the_same_state(backend, use_engine):
    # with validation data the engine runs epoch by epoch rather than across epochs, and with a
    # callback fit also takes a checkpoint at each epoch's start (a replay is then shorter):
    # the state each ends in is the same
    X, y = _data(np.random.default_rng(0), n=100)
    ends = []
    for validation, cbs in ((None, None), ((X[:10], y[:10]), None), (None, [fastnn.callbacks.Callback()])):
        model = _model(backend, use_engine, dtype="float64", l2=1e-3)
        opt = optim.SGD(1e3, momentum=0.9)
        with np.errstate(all="ignore"), pytest.raises(FloatingPointError) as info:
            model.fit(X, y, epochs=30, batch_size=16, optimizer=opt, verbose=0, validation_data=validation,
                      callbacks=cbs)
        ends.append((str(info.value), model.get_state(), opt.iterations))
    for other in ends[1:]:
        assert other[0] == ends[0][0] and other[2] == ends[0][2]
        for kind in ("params", "buffers"):
            assert all(np.array_equal(v, other[1][kind][k]) for k, v in ends[0][1][kind].items())


def test_settings_without_a_rule_table_are_checked_too(rng):
    X, y = _data(rng)
    model = _model()
    model.layers[2].alpha = -1.0
    with pytest.raises(ValueError, match=r"layers\[2\]: alpha for 'leaky_relu' must be finite and >= 0"):
        model.fit(X, y, verbose=0)
    model.layers[2].alpha = 0.1
    model.backend = "cuda"
    with pytest.raises(ValueError, match=r"model\.backend must be one of \('c', 'numpy'\)"):
        model.fit(X, y, verbose=0)
