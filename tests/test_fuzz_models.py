"""Fuzzing of whole models and of the file format (hypothesis, bounded).

Random configurations (layers, activations, losses, optimisers, schedules,
the engine on and off) train through fit, predict, save and load on the c and
numpy backends, which agree at 1e-10 in float64 (float32 runs check only that
everything finishes). Truncated, bit-flipped and foreign files given to
fastnn.load raise ValueError, never anything else.

FASTNN_FUZZ_EXAMPLES sets the examples per test (default 25), as in test_fuzz.py.
"""

import io as _io
import os
import zipfile

import numpy as np
import pytest

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import fastnn  # noqa: E402
from fastnn import layers as L, optim, schedules  # noqa: E402

from conftest import ACTIVATIONS, rel_error  # noqa: E402

EXAMPLES = int(os.environ.get("FASTNN_FUZZ_EXAMPLES", "25"))
# the default run draws the same examples every time (CI stays reproducible); a long run
# with FASTNN_FUZZ_EXAMPLES set explores new ones. No example database is written.
DERANDOMIZE = "FASTNN_FUZZ_EXAMPLES" not in os.environ
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

LOSSES = ("softmax_cross_entropy", "soft", "sigmoid_binary_cross_entropy", "mse")


@st.composite
def configurations(draw):
    """(make_layers, loss, make_optimizer, make_schedule, n_in, n_out)."""
    n_in = draw(st.integers(1, 6))
    loss = draw(st.sampled_from(LOSSES))
    n_out = 1 if loss == "sigmoid_binary_cross_entropy" else draw(st.integers(2, 4))
    plan, width = [], n_in
    for _ in range(draw(st.integers(0, 3))):
        out = draw(st.integers(1, 8))
        kind = draw(st.sampled_from(("dense", "dense_bn", "maxout")))
        act = draw(st.sampled_from(ACTIVATIONS))
        p = draw(st.sampled_from((0.0, 0.0, 0.25)))
        plan.append((kind, width, out, act, p, draw(st.integers(2, 3))))
        width = out
    plan.append(("out", width, n_out, None, 0.0, 0))

    def make_layers():
        layers = []
        for kind, w_in, w_out, act, p, k in plan:
            if kind == "maxout":
                layers.append(L.Maxout(w_in, w_out, k=k))
            else:
                layers.append(L.Dense(w_in, w_out, bias=kind != "dense_bn"))
                if kind == "dense_bn":
                    layers.append(L.BatchNorm(w_out))
                if kind != "out":
                    layers.append(L.Activation(act))
            if p:
                layers.append(L.Dropout(p))
        return layers

    opt = draw(st.sampled_from(("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")))
    # The adaptive optimisers divide a gradient by its own running size plus eps. A gradient
    # that cancels to rounding noise (1e-17, from either backend's summation order) becomes a
    # step of up to lr * 1e-17 / eps; eps = 1e-6 keeps that below the 1e-10 compared.
    make_opt = {
        "sgd": lambda: optim.SGD(0.05), "momentum": lambda: optim.SGD(0.05, momentum=0.9, dampening=0.2),
        "nesterov": lambda: optim.SGD(0.05, momentum=0.9, nesterov=True),
        "adagrad": lambda: optim.AdaGrad(0.05, lr_decay=0.01, eps=1e-6),
        "rmsprop": lambda: optim.RMSProp(0.01, centered=True, eps=1e-6), "adam": lambda: optim.Adam(0.01, eps=1e-6),
    }[opt]
    sched = draw(st.sampled_from((None, "step", "cyclical")))
    make_sched = {None: lambda: None, "step": lambda: schedules.StepDecay(0.05, factor=0.5, step_size=3),
                  "cyclical": lambda: schedules.Cyclical(0.001, 0.05, 4)}[sched]
    return make_layers, loss, make_opt, make_sched, n_in, n_out


def _data(rng, loss, n, n_in, n_out):
    X = rng.standard_normal((n, n_in))
    if loss == "soft":
        p = rng.random((n, n_out))
        return X, p / p.sum(axis=1, keepdims=True), "softmax_cross_entropy"
    if loss == "sigmoid_binary_cross_entropy":
        return X, rng.integers(0, 2, n), loss
    if loss == "mse":
        return X, rng.standard_normal((n, n_out)), loss
    return X, rng.integers(0, n_out, n), loss


def _run(config, X, y, loss, dtype, backend, engine, batch, l2, tmp_path):
    make_layers, _, make_opt, make_sched, _, _ = config
    model = fastnn.Sequential(make_layers(), loss=loss, l2=l2, dtype=dtype, backend=backend, seed=3)
    model.use_engine = engine
    hist = model.fit(X, y, epochs=2, batch_size=batch, optimizer=make_opt(), lr_schedule=make_sched(),
                     verbose=0)
    pred = model.predict(X)
    path = str(tmp_path / f"m_{backend}_{engine}.npz")
    model.save(path)
    again = fastnn.load(path)
    np.testing.assert_array_equal(again.predict(X), pred)
    return np.array(hist.history["loss"]), model.get_state(), pred


@FUZZ
# Batches of at least 4 samples: batch norm on two maps them to -1 and +1 exactly, so the
# gradients reaching its beta are rounding noise, and the adaptive optimisers (below) turn
# noise into steps that depend on the summation order.
@given(config=configurations(), n=st.integers(8, 40), batch=st.integers(4, 16), engine=st.booleans(),
       l2=st.sampled_from((0.0, 1e-3)), seed=st.integers(0, 2 ** 32 - 1))
def test_random_models_agree_across_backends_in_float64(tmp_path, config, n, batch, engine, l2, seed):
    rng = np.random.default_rng(seed)
    X, y, loss = _data(rng, config[1], n, config[4], config[5])
    loss_c, state_c, pred_c = _run(config, X, y, loss, "float64", "c", engine, batch, l2, tmp_path)
    loss_n, state_n, pred_n = _run(config, X, y, loss, "float64", "numpy", False, batch, l2, tmp_path)
    assert np.isfinite(loss_n).all()
    assert rel_error(loss_c, loss_n) <= 1e-10
    for kind in ("params", "buffers"):
        assert state_c[kind].keys() == state_n[kind].keys()
        # an array whose updates cancel (a bias on two samples can end at 0 in one summation
        # order and 5e-18 in another) is measured against the size of the model's numbers,
        # the terms its updates were summed from, not against its own near-zero size
        scale = max((float(np.max(np.abs(a), initial=0.0)) for a in state_n[kind].values()), default=0.0)
        for name in state_n[kind]:
            assert rel_error(state_c[kind][name], state_n[kind][name], scale) <= 1e-10, name
    assert rel_error(np.asarray(pred_c, dtype=float), np.asarray(pred_n, dtype=float)) <= 1e-10


@FUZZ
@given(config=configurations(), n=st.integers(2, 30), engine=st.booleans(), seed=st.integers(0, 2 ** 32 - 1))
def test_random_models_train_in_float32(tmp_path, config, n, engine, seed):
    rng = np.random.default_rng(seed)
    X, y, loss = _data(rng, config[1], n, config[4], config[5])
    loss_c, _, _ = _run(config, X, y, loss, "float32", "c", engine, 8, 0.0, tmp_path)
    assert loss_c.dtype.kind == "f" and len(loss_c) == 2


def _misaligned(a):
    a = np.ascontiguousarray(a)
    raw = np.zeros(a.nbytes + 1, dtype=np.uint8)
    out = raw[1:1 + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("backend, engine", [("c", True), ("c", False), ("numpy", False)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_and_predict_on_misaligned_data_match_aligned_data(backend, engine, dtype):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 7)).astype(dtype)
    y = rng.integers(0, 3, 60)
    Xm, ym = _misaligned(X), _misaligned(y)
    assert not Xm.flags.aligned and not ym.flags.aligned
    results = []
    for data, labels in ((X, y), (Xm, ym)):
        model = fastnn.MLP([7, 9, 3], batch_norm=True, dtype=dtype, backend=backend, seed=2)
        model.use_engine = engine
        model.fit(data, labels, epochs=2, batch_size=16, verbose=0)
        results.append((model.get_state()["params"], model.predict_proba(data)))
    (params, proba), (params_m, proba_m) = results
    for name in params:
        np.testing.assert_array_equal(params_m[name], params[name], err_msg=name)
    np.testing.assert_array_equal(proba_m, proba)


# ---------------------------------------------------------------- damaged files

@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    model = fastnn.MLP([4, 6, 3], batch_norm=True, dropout=0.2, seed=1)
    model.fit(np.random.default_rng(0).standard_normal((20, 4)), np.arange(20) % 3, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    model.save(str(path))
    return path.read_bytes()


def _load_bytes(tmp_path, data, name="damaged.npz"):
    path = tmp_path / name
    path.write_bytes(data)
    return fastnn.load(str(path))


def _refused(tmp_path, data):
    with pytest.raises(ValueError):
        _load_bytes(tmp_path, data)


@FUZZ
@given(cut=st.integers(0, 10 ** 6))
def test_truncated_files_are_refused(tmp_path, saved_model, cut):
    _refused(tmp_path, saved_model[:cut % len(saved_model)])


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 7)), min_size=1, max_size=4))
def test_bit_flipped_files_are_refused_or_load_the_same_model(tmp_path, saved_model, flips):
    data = bytearray(saved_model)
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    original = _load_bytes(tmp_path, saved_model, "original.npz").get_state()
    try:
        model = _load_bytes(tmp_path, bytes(data))
    except ValueError:
        return
    # a flip in what the format does not read (a zip timestamp or attribute) changes nothing
    state = model.get_state()
    for kind in ("params", "buffers"):
        assert state[kind].keys() == original[kind].keys()
        for name in original[kind]:
            np.testing.assert_array_equal(state[kind][name], original[kind][name])


def _npz(**arrays):
    buf = _io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _zip_with(name, payload):
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, payload)
    return buf.getvalue()


FOREIGN = {
    "empty": b"",
    "text": b"hello, world\n" * 10,
    "random": bytes(np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8)),
    "npy": (lambda b: (np.save(b, np.arange(10.0)), b.getvalue())[1])(_io.BytesIO()),
    "npz_of_numbers": _npz(a=np.arange(5), b=np.ones((2, 2))),
    "npz_with_objects_name": _npz(config=np.array(["not json"])),
    "zip_of_text": _zip_with("config.npy", b"not an npy file"),
    "zip_bomb_name": _zip_with("../../etc/passwd", b"x"),
}


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_foreign_files_are_refused(tmp_path, kind):
    _refused(tmp_path, FOREIGN[kind])


@FUZZ
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_are_refused(tmp_path, data):
    _refused(tmp_path, data)
