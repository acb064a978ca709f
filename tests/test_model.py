"""Sequential/MLP: training on digits, c vs numpy backends, PyTorch oracle, modes, bad input."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import fastnn
from fastnn import data, layers as L, optim
from conftest import ACTIVATIONS, DTYPES, assert_same_snapshot, classification_data, rel_error, snapshot

BACKENDS = ("c", "numpy")


# ------------------------------------------------------------------ digits: 97% held out
@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    X, y = data.load_digits()
    # Split seed 1 is a typical split, not a lucky one: over split seeds 0-3 x model seeds 0-3
    # the accuracy lies between 96.9% and 98.7%, and 15 of the 16 runs reach 97%.
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, stratify=True, seed=1)
    scaler = data.Standardizer().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
def test_digits_accuracy(digits, dtype, backend):
    X_train, X_test, y_train, y_test = digits
    counts = np.bincount(np.concatenate([y_train, y_test]))
    assert len(X_test) == 450  # stratified 75/25: every class's share within one sample of exact
    assert np.all(np.abs(np.bincount(y_test) - counts * 450 / counts.sum()) < 1)
    model = fastnn.MLP([64, 100, 10], batch_norm=True, dtype=dtype, backend=backend, seed=0)
    history = model.fit(X_train, y_train, epochs=50, batch_size=32, optimizer=optim.Adam(lr=1e-3), verbose=0)
    assert len(history.history["loss"]) == 50
    result = model.evaluate(X_test, y_test)
    assert result["accuracy"] >= 0.97, result
    assert np.mean(model.predict(X_test) == y_test) == result["accuracy"]


# ------------------------------------------------------------------ c vs numpy, float64
def _activations_mlp(name):
    return lambda: [L.Dense(5, 6), L.Activation(name), L.Dense(6, 3)]


CASES = {
    # layer types and activations
    **{f"act_{a}": (_activations_mlp(a), "softmax_cross_entropy", lambda: optim.SGD(0.1))
       for a in ACTIVATIONS},
    "batchnorm": (lambda: [L.Dense(5, 6, bias=False), L.BatchNorm(6), L.ReLU(), L.Dense(6, 3)],
                  "softmax_cross_entropy", lambda: optim.SGD(0.1)),
    "batchnorm_biased": (lambda: [L.Dense(5, 6, bias=False), L.BatchNorm(6, running_var="biased"), L.Tanh(), L.Dense(6, 3)],
                         "softmax_cross_entropy", lambda: optim.SGD(0.1)),
    "dropout": (lambda: [L.Dense(5, 8), L.ReLU(), L.Dropout(0.3), L.Dense(8, 3)],
                "softmax_cross_entropy", lambda: optim.SGD(0.1)),
    "maxout": (lambda: [L.Maxout(5, 4, k=3), L.Dense(4, 3)], "softmax_cross_entropy", lambda: optim.SGD(0.1)),
    "maxout_dropout": (lambda: [L.Maxout(5, 6, k=3), L.Dropout(0.3), L.Dense(6, 4), L.Softplus(), L.Dense(4, 3)],
                       "softmax_cross_entropy", lambda: optim.SGD(0.1)),
    # losses
    "soft_labels": (_activations_mlp("relu"), "soft", lambda: optim.SGD(0.1)),
    "binary": (lambda: [L.Dense(5, 6), L.Tanh(), L.Dense(6, 1)], "sigmoid_binary_cross_entropy",
               lambda: optim.SGD(0.1)),
    "mse": (lambda: [L.Dense(5, 6), L.Sigmoid(), L.Dense(6, 2), L.Sigmoid()], "mse", lambda: optim.SGD(0.5)),
    # optimisers
    "momentum": (_activations_mlp("relu"), "softmax_cross_entropy", lambda: optim.SGD(0.05, momentum=0.9)),
    "nesterov": (_activations_mlp("relu"), "softmax_cross_entropy",
                 lambda: optim.SGD(0.05, momentum=0.9, nesterov=True)),
    "dampening": (_activations_mlp("relu"), "softmax_cross_entropy",
                  lambda: optim.SGD(0.05, momentum=0.9, dampening=0.3)),
    "adagrad": (_activations_mlp("relu"), "softmax_cross_entropy", lambda: optim.AdaGrad(0.05)),
    "adagrad_decay": (_activations_mlp("relu"), "softmax_cross_entropy",
                      lambda: optim.AdaGrad(0.05, lr_decay=0.01, initial_accumulator_value=0.1)),
    "rmsprop": (_activations_mlp("relu"), "softmax_cross_entropy", lambda: optim.RMSProp(0.01)),
    "rmsprop_centered_momentum": (_activations_mlp("relu"), "softmax_cross_entropy",
                                  lambda: optim.RMSProp(0.01, momentum=0.5, centered=True)),
    "adam": (_activations_mlp("relu"), "softmax_cross_entropy", lambda: optim.Adam(0.01)),
    "adam_betas": (_activations_mlp("relu"), "softmax_cross_entropy",
                   lambda: optim.Adam(0.01, beta1=0.8, beta2=0.9, eps=1e-6)),
    # gradient clipping by global norm (tight enough to clip most steps)
    "clip_momentum": (lambda: [L.Dense(5, 6, bias=False), L.BatchNorm(6), L.ReLU(), L.Dense(6, 3)],
                      "softmax_cross_entropy", lambda: optim.SGD(0.1, momentum=0.9, max_grad_norm=0.3)),
    "clip_adam": (lambda: [L.Maxout(5, 6, k=3), L.Dropout(0.3), L.Dense(6, 3)], "softmax_cross_entropy",
                  lambda: optim.Adam(0.02, max_grad_norm=0.2)),
}


def _targets(loss, rng, n, X):
    if loss == "soft":
        p = rng.random((n, 3))
        return p / p.sum(axis=1, keepdims=True), "softmax_cross_entropy"
    if loss == "sigmoid_binary_cross_entropy":
        return (X[:, 0] > 0).astype(int), loss
    if loss == "mse":
        return np.stack([np.sin(X[:, 0]), np.cos(X[:, 1])], axis=1) * 0.4 + 0.5, loss
    return rng.integers(0, 3, size=n), loss


@pytest.mark.parametrize("case", list(CASES))
def test_backends_agree_in_float64(case, rng):
    make_layers, loss, make_opt = CASES[case]
    X = rng.standard_normal((50, 5))
    y, loss = _targets(loss, rng, 50, X)
    results = {}
    for backend in BACKENDS:
        model = fastnn.Sequential(make_layers(), loss=loss, l2=1e-3, dtype="float64", backend=backend, seed=7)
        hist = model.fit(X, y, epochs=5, batch_size=16, optimizer=make_opt(), verbose=0)
        results[backend] = (np.array(hist.history["loss"]), model.get_state(), model.predict(X))
    (loss_c, state_c, pred_c), (loss_n, state_n, pred_n) = results["c"], results["numpy"]
    assert np.all(np.isfinite(loss_c))
    assert loss_c[-1] < loss_c[0]  # it trained
    assert np.max(np.abs(loss_c - loss_n) / np.abs(loss_n)) <= 1e-10
    for kind in ("params", "buffers"):
        for name in state_n[kind]:
            assert rel_error(state_c[kind][name], state_n[kind][name]) <= 1e-10, name
    assert np.array_equal(pred_c, pred_n) if pred_n.dtype.kind == "i" else rel_error(pred_c, pred_n) <= 1e-10


def test_to_backend_switches_and_keeps_parameters(rng):
    X, y = classification_data(rng)
    model = fastnn.MLP([5, 8, 3], batch_norm=True, dtype="float64", seed=1)
    before = model.get_state()
    out_c = model.eval().forward(X)
    assert model.to_backend("numpy") is model
    assert all(layer.backend == "numpy" for layer in model.layers)
    assert rel_error(model.forward(X), out_c) <= 1e-12
    assert_same_snapshot({**before, "dropout": [], "shuffle": 0}, {**model.get_state(), "dropout": [], "shuffle": 0})
    with pytest.raises(ValueError, match="backend"):
        model.to_backend("cuda")


# ------------------------------------------------------------------ PyTorch oracle
def _torch_copy(model):
    torch = pytest.importorskip("torch")
    modules = []
    for layer in model.layers:
        if isinstance(layer, L.Dense):
            lin = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(layer.W))
                if layer.bias:
                    lin.bias.copy_(torch.from_numpy(layer.b))
            modules.append(lin)
        elif isinstance(layer, L.BatchNorm):
            bn = torch.nn.BatchNorm1d(layer.n, eps=layer.eps, momentum=layer.momentum, dtype=torch.float64)
            with torch.no_grad():
                for name in ("gamma", "beta"):
                    getattr(bn, {"gamma": "weight", "beta": "bias"}[name]).copy_(torch.from_numpy(getattr(layer, name)))
                bn.running_mean.copy_(torch.from_numpy(layer.running_mean))
                bn.running_var.copy_(torch.from_numpy(layer.running_var))
            modules.append(bn)
        else:
            assert layer.name == "relu"
            modules.append(torch.nn.ReLU())
    return torch, torch.nn.Sequential(*modules)


def _torch_names(model):
    """fastnn parameter name -> torch state_dict name."""
    names = {}
    for i, layer in enumerate(model.layers):
        for k in layer.params:
            names[f"{i}.{k}"] = f"{i}.{ {'W': 'weight', 'b': 'bias', 'gamma': 'weight', 'beta': 'bias'}[k]}"
        for k in layer.buffers:
            names[f"{i}.{k}"] = f"{i}.{k}"
    return names


def test_one_sgd_step_with_batchnorm_and_l2_equals_torch(rng):
    l2, lr = 0.01, 0.1
    model = fastnn.MLP([6, 8, 7, 4], batch_norm=True, l2=l2, dtype="float64", seed=3)
    torch, net = _torch_copy(model)
    X, y = rng.standard_normal((20, 6)), rng.integers(0, 4, size=20)

    # the L2 sum covers the Dense weights only; torch's BN weight is gamma
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    out = net(tX)
    weights = [m.weight for m in net if isinstance(m, torch.nn.Linear)]
    J = torch.nn.functional.cross_entropy(out, ty) + l2 * sum((w * w).sum() for w in weights)
    J.backward()
    torch.optim.SGD(net.parameters(), lr=lr).step()

    hist = model.fit(X, y, epochs=1, batch_size=20, optimizer=optim.SGD(lr), shuffle=False, verbose=0)
    assert abs(hist.history["loss"][0] - J.item()) <= 1e-10 * abs(J.item())
    state = net.state_dict()
    for ours, theirs in _torch_names(model).items():
        mine = {**model.parameters(), **model.buffers()}[ours]
        assert rel_error(mine, state[theirs].numpy()) <= 1e-10, ours


def test_eval_outputs_match_torch_batchnorm1d(rng):
    model = fastnn.MLP([6, 8, 4], batch_norm=True, dtype="float64", seed=4)
    X, y = rng.standard_normal((64, 6)) * 3 + 1, rng.integers(0, 4, size=64)
    model.fit(X, y, epochs=3, batch_size=16, optimizer=optim.SGD(0.05), verbose=0)
    assert not np.allclose(model.layers[1].running_var, 1.0)  # running statistics moved
    torch, net = _torch_copy(model)
    net.eval()
    X_new = rng.standard_normal((10, 6))
    want = net(torch.from_numpy(X_new)).detach().numpy()
    assert rel_error(model.forward(X_new, training=False), want) <= 1e-12
    torch_proba = torch.softmax(torch.from_numpy(want), dim=1).numpy()
    assert rel_error(model.predict_proba(X_new), torch_proba) <= 1e-12


def test_running_statistics_follow_torch_over_several_batches(rng):
    model = fastnn.MLP([5, 6, 3], batch_norm=True, dtype="float64", seed=5)
    torch, net = _torch_copy(model)
    X = rng.standard_normal((30, 5)) * 2
    net.train()
    model.train()
    for batch in np.split(X, 3):
        net(torch.from_numpy(batch))
        model.forward(batch)
    assert rel_error(model.layers[1].running_mean, net[1].running_mean.numpy()) <= 1e-12
    assert rel_error(model.layers[1].running_var, net[1].running_var.numpy()) <= 1e-12


# ------------------------------------------------------------------ structure, modes, outputs
def test_mlp_structure():
    model = fastnn.MLP([10, 7, 5, 3], activation="tanh", batch_norm=True, dropout=0.2, seed=0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "BatchNorm", "Activation", "Dropout"] * 2 + ["Dense"]
    dense = [layer for layer in model.layers if isinstance(layer, L.Dense)]
    assert [d.b is None for d in dense] == [True, True, False]
    assert dense[0].W.shape == (7, 10) and dense[0].W.dtype == np.float32
    assert list(model.parameters()) == ["0.W", "1.gamma", "1.beta", "4.W", "5.gamma", "5.beta", "8.W", "8.b"]
    assert list(model.buffers()) == ["1.running_mean", "1.running_var", "5.running_mean", "5.running_var"]
    plain = fastnn.MLP([4, 3, 2], seed=0)
    assert [type(layer).__name__ for layer in plain.layers] == ["Dense", "Activation", "Dense"]
    assert plain.layers[0].b is not None


def test_same_seed_same_model_and_training(rng):
    X, y = classification_data(rng)
    runs = []
    for _ in range(2):
        model = fastnn.MLP([5, 8, 3], dropout=0.2, seed=11)
        model.fit(X, y, epochs=3, batch_size=8, verbose=0)
        runs.append(model.get_state()["params"])
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])
    other = fastnn.MLP([5, 8, 3], dropout=0.2, seed=12)
    assert not np.array_equal(other.layers[0].W, fastnn.MLP([5, 8, 3], dropout=0.2, seed=11).layers[0].W)


def test_parameters_are_live_arrays(rng):
    model = fastnn.MLP([5, 4, 3], dtype="float64", seed=0)
    X = rng.standard_normal((6, 5))
    params = model.parameters()
    params["2.b"][:] = [100.0, 0.0, 0.0]
    assert np.all(model.predict(X) == 0)
    model.layers[0].W = np.zeros((4, 5))  # assignment copies into the live array
    assert params["0.W"].sum() == 0 and params["0.W"] is model.layers[0].W
    with pytest.raises(ValueError, match=r"W must have shape \(4, 5\)"):
        model.layers[0].W = np.zeros((5, 4))


def test_prediction_and_evaluation_use_eval_mode_and_restore_it(rng):
    X, y = classification_data(rng)
    model = fastnn.MLP([5, 6, 3], batch_norm=True, dropout=0.5, dtype="float64", seed=2)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    assert model.training  # new models train, and fit restores the mode
    expected = model.forward(X, training=False)
    before = model.get_state()
    for call in (lambda: model.predict(X), lambda: model.predict_proba(X), lambda: model.evaluate(X, y)):
        for mode in (True, False):
            model.train(mode)
            call()
            assert model.training is mode
    assert rel_error(model.predict_proba(X), np.exp(expected) / np.exp(expected).sum(1, keepdims=True)) < 1e-12
    after = model.get_state()
    assert all(np.array_equal(before["buffers"][k], after["buffers"][k]) for k in before["buffers"])
    model.eval()
    model.fit(X, y, epochs=1, verbose=0)
    assert not model.training


def test_outputs_for_each_loss(rng):
    X = rng.standard_normal((12, 3))
    binary = fastnn.Sequential([L.Dense(3, 1)], loss="sigmoid_binary_cross_entropy", dtype="float64", seed=0)
    proba = binary.predict_proba(X)
    assert proba.shape == (12, 1) and np.all((proba > 0) & (proba < 1))
    assert np.array_equal(binary.predict(X), (proba[:, 0] > 0.5).astype(int))
    assert set(binary.evaluate(X, (X[:, 0] > 0).astype(int))) == {"loss", "accuracy"}
    reg = fastnn.Sequential([L.Dense(3, 2)], loss="mse", dtype="float64", seed=0)
    assert rel_error(reg.predict(X), X @ reg.layers[0].W.T + reg.layers[0].b) < 1e-12
    assert set(reg.evaluate(X, np.zeros((12, 2)))) == {"loss"}
    hist = reg.fit(X, np.zeros((12, 2)), epochs=2, verbose=0, validation_data=(X, np.zeros((12, 2))))
    assert set(hist.history) == {"step", "epoch", "lr", "loss", "val_loss"}
    with pytest.raises(ValueError, match="predict_proba needs a classification loss"):
        reg.predict_proba(X)


def test_history_reports_loss_with_l2_and_validation(rng):
    X, y = classification_data(rng)
    model = fastnn.MLP([5, 6, 3], l2=0.1, dtype="float64", seed=0)
    hist = model.fit(X, y, epochs=3, batch_size=40, optimizer=optim.SGD(0.0), validation_data=(X, y), verbose=0)
    assert set(hist.history) == {"step", "epoch", "lr", "loss", "accuracy", "val_loss", "val_accuracy"}
    # with lr 0 and one full batch the training loss is the evaluate() loss, L2 included
    result = model.evaluate(X, y)
    penalty = 0.1 * sum(float((w ** 2).sum()) for w in (model.layers[0].W, model.layers[2].W))
    cross_entropy, _ = fastnn.reference.softmax_cross_entropy(model.forward(X, training=False), y)
    assert abs(result["loss"] - (cross_entropy + penalty)) < 1e-12
    assert abs(hist.history["loss"][0] - result["loss"]) < 1e-12
    assert abs(hist.history["val_loss"][-1] - result["loss"]) < 1e-12
    assert hist.history["accuracy"][0] == result["accuracy"]


def test_short_last_batch_is_merged_when_batchnorm_is_present(rng):
    X, y = classification_data(rng, n=65)
    bn = fastnn.MLP([5, 6, 3], batch_norm=True, dtype="float64", seed=0)
    assert bn.fit(X, y, epochs=1, batch_size=32, verbose=0).params["steps"] == 2  # 32 + 33
    assert np.all(np.isfinite(bn.layers[1].running_var))
    plain = fastnn.MLP([5, 6, 3], dtype="float64", seed=0)
    assert plain.fit(X, y, epochs=1, batch_size=32, verbose=0).params["steps"] == 3  # 32 + 32 + 1
    small = fastnn.MLP([5, 6, 3], batch_norm=True, seed=0)
    assert small.fit(X[:3], y[:3], epochs=2, batch_size=32, verbose=0).params["steps"] == 1


def test_progress_output(rng, capsys):
    X, y = classification_data(rng)
    model = fastnn.MLP([5, 6, 3], seed=0)
    model.fit(X, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(X, y, epochs=2, batch_size=8, verbose=1, validation_data=(X, y))
    out = capsys.readouterr().out
    # captured stdout is not a terminal: one plain line per epoch, no bar redrawn with "\r"
    lines = out.splitlines()
    assert len(lines) == 2 and "\r" not in out
    assert lines[1].startswith("Epoch 2/2 - ") and "val_accuracy" in lines[1]
    assert all(line == line.rstrip() for line in lines)
    model.fit(X, y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert out.count("\n") == 2 and "\r" not in out
    assert all(line == line.rstrip() for line in out.splitlines())


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stream", [io.StringIO(), _Terminal()], ids=["pipe", "terminal"])
def test_verbose_1_redraws_with_carriage_returns_only_on_a_terminal(rng, monkeypatch, stream):
    X, y = classification_data(rng)
    monkeypatch.setattr(sys, "stdout", stream)
    fastnn.MLP([5, 6, 3], seed=0).fit(X, y, epochs=3, batch_size=8, verbose=1)
    out = stream.getvalue()
    draws = [line.split("\r") for line in out.split("\n")[:-1]]  # not splitlines: it splits at "\r"
    ends = [d[-1] for d in draws]  # what a terminal shows once each line is finished
    assert len(ends) == 3 and all(end.startswith(f"Epoch {e}/3 - ") for e, end in zip((1, 2, 3), ends))
    if isinstance(stream, _Terminal):
        assert all("5/5" in d[-2] for d in draws)  # the bar, complete, just before each epoch's line
        # the epoch's line covers the longer bar it replaces, and is padded by no more than that
        assert all(len(d[-1]) == max(len(d[-2]), len(d[-1].rstrip())) for d in draws)
    else:
        assert "\r" not in out and "[" not in out and all(end == end.rstrip() for end in ends)


def test_a_stream_without_isatty_gets_plain_lines(rng, monkeypatch):
    class Writer:  # a file-like object with only write and flush
        def __init__(self):
            self.parts = []

        def write(self, text):
            self.parts.append(text)

        def flush(self):
            pass

    X, y = classification_data(rng)
    writer = Writer()
    monkeypatch.setattr(sys, "stdout", writer)
    fastnn.MLP([5, 6, 3], seed=0).fit(X, y, epochs=2, batch_size=8, verbose=1)
    out = "".join(writer.parts)
    assert out.count("\n") == 2 and "\r" not in out


def test_summary(capsys):
    fastnn.MLP([64, 100, 10], batch_norm=True, seed=0).summary()
    out = capsys.readouterr().out
    assert "(N, 100)" in out and "6,400" in out and "7,610 trainable parameters" in out


def test_lr_schedule_sets_learning_rate_per_update(rng):
    X, y = classification_data(rng, n=32)
    seen = []
    opt = optim.SGD(1.0)

    def schedule(t):
        seen.append(t)
        return 0.0

    model = fastnn.MLP([5, 4, 3], seed=0)
    before = model.get_state()["params"]
    model.fit(X, y, epochs=2, batch_size=8, optimizer=opt, lr_schedule=schedule, verbose=0)
    assert seen == list(range(8)) and opt.iterations == 8
    assert all(np.array_equal(before[k], v) for k, v in model.parameters().items())  # lr 0 throughout


def test_fit_with_zero_epochs_changes_nothing(rng):
    X, y = classification_data(rng)
    model = fastnn.MLP([5, 4, 3], batch_norm=True, seed=0)
    before = snapshot(model)
    assert model.fit(X, y, epochs=0, verbose=0).history == {}
    assert_same_snapshot(before, snapshot(model))


# ------------------------------------------------------------------ bad input: rejected, model untouched
def _bad_calls(X, y):
    Xnan = X.copy()
    Xnan[3, 1] = np.nan
    Xinf = X.copy()
    Xinf[0, 0] = np.inf
    return {
        "features": (dict(X=X[:, :4]), ValueError, "X must have shape"),
        "X_1d": (dict(X=X[:, 0]), ValueError, "X must have shape"),
        "X_strings": (dict(X=np.full((40, 5), "a")), TypeError, "X must hold real numbers"),
        "y_length": (dict(y=y[:-1]), ValueError, "y must have 40 rows"),
        "label_high": (dict(y=np.where(np.arange(40) == 5, 3, y)), ValueError, r"labels in \[0, 3\)"),
        "label_negative": (dict(y=np.where(np.arange(40) == 5, -1, y)), ValueError, r"labels in \[0, 3\)"),
        "label_fraction": (dict(y=y + 0.5), ValueError, "integer class labels"),
        "X_nan": (dict(X=Xnan), ValueError, "X must be finite"),
        "X_inf": (dict(X=Xinf), ValueError, "X must be finite"),
        "y_nan": (dict(y=np.where(np.arange(40) == 2, np.nan, y.astype(float))), ValueError, "y must be finite"),
        "batch_size_0": (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
        "batch_size_1_with_bn": (dict(batch_size=1), ValueError, "at least 2 samples"),
        "batch_size_float": (dict(batch_size=3.5), TypeError, "batch_size must be an integer"),
        "epochs_negative": (dict(epochs=-1), ValueError, "epochs must be >= 0"),
        "optimizer_name": (dict(optimizer="adamw"), ValueError, "optimizer must be an Optimizer or one of"),
        "optimizer_type": (dict(optimizer=3), TypeError, "optimizer must be an Optimizer or one of"),
        "validation_features": (dict(validation_data=(X[:, :3], y)), ValueError, r"validation_data\[0\]"),
        "validation_labels": (dict(validation_data=(X, y + 3)), ValueError, r"validation_data\[1\]"),
        "validation_shape": (dict(validation_data=X), TypeError, "validation_data must be a pair"),
        "callback": (dict(callbacks=[print]), TypeError, r"callbacks\[0\]"),
        "early_stopping_without_validation": (dict(callbacks=[fastnn.EarlyStopping()]), ValueError, "val_loss"),
        "schedule": (dict(lr_schedule=0.1), TypeError, "lr_schedule"),
        "verbose": (dict(verbose=3), ValueError, "verbose"),
        "empty": (dict(X=X[:0], y=y[:0]), ValueError, "at least one sample"),
    }


@pytest.mark.parametrize("case", list(_bad_calls(np.zeros((40, 5)), np.zeros(40, dtype=int))))
def test_bad_fit_is_rejected_before_anything_changes(case, rng):
    X, y = classification_data(rng)
    kwargs, error, message = _bad_calls(X, y)[case]
    model = fastnn.MLP([5, 6, 3], batch_norm=True, dropout=0.2, seed=0)
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)  # optimiser state and running stats exist
    opt_state = {k: {s: a.copy() for s, a in v.items()} for k, v in model.optimizer.state.items()}
    before = snapshot(model)
    args = {"X": X, "y": y, "epochs": 2, "batch_size": 8, "verbose": 0, **kwargs}
    with pytest.raises(error, match=message):
        model.fit(args.pop("X"), args.pop("y"), **args)
    assert_same_snapshot(before, snapshot(model))
    assert model.optimizer.iterations == 5
    assert all(np.array_equal(opt_state[k][s], model.optimizer.state[k][s]) for k in opt_state for s in opt_state[k])


@pytest.mark.parametrize("method", ["predict", "predict_proba", "evaluate", "forward"])
def test_bad_prediction_input_is_rejected(method, rng):
    X, y = classification_data(rng)
    model = fastnn.MLP([5, 6, 3], seed=0)
    call = getattr(model, method)
    args = (y,) if method == "evaluate" else ()
    with pytest.raises(ValueError, match=r"X must have shape \(N, 5\)"):
        call(X[:, :4], *args)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        call(X, *args)
    if method == "evaluate":
        with pytest.raises(ValueError, match="y must have 39 rows"):
            model.evaluate(X[1:], y)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(loss="hinge"), ValueError, "loss must be a Loss or one of"),
    (dict(activation="swish"), ValueError, "name must be one of"),
    (dict(init="orthogonal"), ValueError, "init must be one of"),
    (dict(dtype="float16"), ValueError, "dtype must be 'float32' or 'float64'"),
    (dict(backend="gpu"), ValueError, "backend must be one of"),
    (dict(l2=-1.0), ValueError, "l2 must be"),
    (dict(seed=-3), ValueError, "seed must be >= 0"),
    (dict(loss="sigmoid_binary_cross_entropy"), ValueError, "exactly 1 output unit"),
    (dict(dropout=1.0), ValueError, "dropout must be"),
])
def test_bad_model_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        fastnn.MLP([5, 6, 3], **kwargs)


def test_inconsistent_layers_are_rejected():
    with pytest.raises(ValueError, match=r"layers\[2\]: Dense expects 7 input features"):
        fastnn.Sequential([L.Dense(3, 6), L.ReLU(), L.Dense(7, 2)])
    with pytest.raises(ValueError, match=r"layers\[1\]: BatchNorm expects 5"):
        fastnn.Sequential([L.Dense(3, 6), L.BatchNorm(5), L.Dense(6, 2)])
    with pytest.raises(TypeError, match=r"layers\[1\] must be a fastnn layer"):
        fastnn.Sequential([L.Dense(3, 6), "relu"])
    with pytest.raises(ValueError, match="must include a Dense"):
        fastnn.Sequential([L.ReLU()])


def test_layers_are_not_shared_between_models():
    model = fastnn.MLP([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"layers\[0\] already belongs to a model"):
        fastnn.Sequential(model.layers)
    with pytest.raises(ValueError, match="same layer object twice"):
        relu = L.ReLU()
        fastnn.Sequential([L.Dense(3, 3), relu, relu])
    with pytest.raises(AttributeError, match="not yet part of a model"):
        L.Dense(3, 2).W = np.zeros((2, 3))
    with pytest.raises(AttributeError, match="no such parameter"):
        model.layers[0].__class__(3, 4, bias=False).b = np.zeros(4)


def test_forward_backward_and_loss_and_gradients(rng):
    X, y = classification_data(rng)
    model = fastnn.MLP([5, 6, 3], batch_norm=True, l2=0.1, dtype="float64", seed=0).eval()
    J, grads = model.loss_and_gradients(X, y)
    assert abs(J - model.evaluate(X, y)["loss"]) < 1e-12 and set(grads) == set(model.parameters())
    O = model.forward(X)
    _, dO = fastnn.reference.softmax_cross_entropy(O, y)
    dX = model.backward(dO)
    assert dX.shape == X.shape
    raw = model.gradients()
    for name, g in grads.items():  # loss_and_gradients adds the L2 gradient 2 l2 W to the weights
        extra = 2 * 0.1 * model.parameters()[name] if name.endswith(".W") else 0.0
        assert rel_error(g, raw[name] + extra) < 1e-12, name
    with pytest.raises(ValueError, match=r"dOut must have shape \(N, 3\)"):
        model.backward(dO[:, :2])
