"""gradient_check: <= 1e-6 for every activation, with and without BN, maxout, each loss, l2 > 0;
chosen parameters and entries, and the elementwise relative error, on a CIFAR-sized network."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import fastnn
from fastnn import layers as L
from conftest import ACTIVATIONS, snapshot, assert_same_snapshot

BACKENDS = ("c", "numpy")


def _check(model, X, y, tol=1e-6):
    errors = fastnn.gradient_check(model, X, y)
    assert set(errors) == set(model.parameters())
    assert max(errors.values()) <= tol, errors
    return errors


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_gradients(activation, batch_norm, backend, rng):
    X, y = rng.standard_normal((8, 4)), rng.integers(0, 3, size=8)
    # With the identity between two BN layers the first beta is removed by the second BN's
    # centring: its gradient is exactly 0 and the relative error is rounding over rounding.
    sizes = [4, 5, 3] if activation == "identity" and batch_norm else [4, 5, 4, 3]
    model = fastnn.MLP(sizes, activation=activation, batch_norm=batch_norm, l2=0.05,
                       backend=backend, seed=1)
    _check(model, X, y)


@pytest.mark.parametrize("backend", BACKENDS)
def test_maxout_and_dropout_gradients(backend, rng):
    X, y = rng.standard_normal((8, 4)), rng.integers(0, 3, size=8)
    model = fastnn.Sequential([L.Maxout(4, 5, k=3), L.Dropout(0.5), L.BatchNorm(5), L.Maxout(5, 3, k=2)],
                              l2=0.1, backend=backend, seed=2)
    _check(model, X, y)


@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "soft_labels", "sigmoid_binary_cross_entropy", "mse"])
def test_each_loss(loss, rng):
    X = rng.standard_normal((8, 4))
    outputs = {"sigmoid_binary_cross_entropy": 1, "mse": 2}.get(loss, 3)
    if loss == "soft_labels":
        y = rng.random((8, 3))
        loss = "softmax_cross_entropy"
    elif loss == "sigmoid_binary_cross_entropy":
        y = rng.integers(0, 2, size=8)
    elif loss == "mse":
        y = rng.standard_normal((8, 2))
    else:
        y = rng.integers(0, 3, size=8)
    layers = [L.Dense(4, 5), L.Tanh(), L.Dense(5, outputs)] + ([L.Sigmoid()] if loss == "mse" else [])
    _check(fastnn.Sequential(layers, loss=loss, l2=0.01, seed=3), X, y)


def test_model_is_untouched_and_float32_models_are_checked_in_float64(rng):
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, size=6)
    model = fastnn.MLP([3, 4, 2], batch_norm=True, dropout=0.3, dtype="float32", seed=0).eval()
    before = snapshot(model)
    _check(model, X, y)
    assert_same_snapshot(before, snapshot(model))
    assert not model.training and model.layers[0].W.dtype == np.float32


def test_a_wrong_gradient_is_detected(rng, monkeypatch):
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, size=6)
    model = fastnn.MLP([3, 4, 2], dtype="float64", seed=0)
    original = L.Dense.backward

    def off_by_ten_percent(self, dOut):
        dX = original(self, dOut)
        self.grads["W"] = self.grads["W"] * 1.1
        return dX

    monkeypatch.setattr(L.Dense, "backward", off_by_ten_percent)
    errors = fastnn.gradient_check(model, X, y)
    assert errors["0.W"] > 0.05 and errors["2.W"] > 0.05
    assert errors["0.b"] < 1e-6  # the biases are still right


def test_bad_arguments(rng):
    model = fastnn.MLP([3, 4, 2], seed=0)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, size=6)
    with pytest.raises(ValueError, match="eps must be"):
        fastnn.gradient_check(model, X, y, eps=0.0)
    with pytest.raises(ValueError, match=r"labels in \[0, 2\)"):
        fastnn.gradient_check(model, X, y + 2)


def test_the_course_check_of_a_cifar_sized_batchnorm_network(rng):
    # [3072, 50, 50, 10] with batch norm in float64, 20 entries of the first W, the
    # course's elementwise relative error at its default step (a batch of 20: with 2
    # samples batch norm leaves the first layer a gradient of rounding size)
    X, y = rng.standard_normal((20, 3072)), rng.integers(0, 10, size=20)
    model = fastnn.MLP([3072, 50, 50, 10], batch_norm=True, dtype="float64", l2=0.005, seed=0)
    errors = fastnn.gradient_check(model, X, y, params=["0.W"], max_entries=20, relative="elementwise")
    assert list(errors) == ["0.W"] and errors["0.W"] < 1e-6


def test_params_and_max_entries_check_only_those_entries(rng, monkeypatch):
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, size=6)
    model = fastnn.MLP([3, 4, 2], batch_norm=True, dtype="float64", seed=0)
    calls = []
    original = fastnn.Sequential._forward

    def counting(self, X, training):
        calls.append(1)
        return original(self, X, training)

    monkeypatch.setattr(fastnn.Sequential, "_forward", counting)
    errors = fastnn.gradient_check(model, X, y, params=["1.beta", "0.W"], max_entries=3)
    assert list(errors) == ["0.W", "1.beta"]  # in the model's order
    assert len(calls) == 1 + 2 * (3 + 3)  # the analytic pass, two passes per entry
    calls.clear()
    errors = fastnn.gradient_check(model, X, y, params="0.W", max_entries=100)
    assert list(errors) == ["0.W"] and len(calls) == 1 + 2 * 12  # at most the parameter's entries


def test_elementwise_relative_error_finds_one_wrong_entry(rng, monkeypatch):
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, size=6)
    model = fastnn.MLP([3, 4, 2], dtype="float64", seed=0)
    original = L.Dense.backward

    def one_entry_off(self, dOut):
        dX = original(self, dOut)
        self.grads["W"] = self.grads["W"].copy()
        self.grads["W"][0, 1] *= 1.01
        return dX

    monkeypatch.setattr(L.Dense, "backward", one_entry_off)
    assert fastnn.gradient_check(model, X, y, params=["0.W"], max_entries=1, relative="elementwise")["0.W"] < 1e-6
    error = fastnn.gradient_check(model, X, y, params=["0.W"], max_entries=2, relative="elementwise")["0.W"]
    assert 1e-3 < error < 1e-2  # |0.01 g| / (2.01 |g|)


def test_relative_error_formulas():
    a, n = np.array([1.0, -2.0, 1e-9, 0.0]), np.array([1.1, -2.0, 0.0, np.nan])
    assert fastnn.diagnostics.relative_error(a, n, "max") == pytest.approx(0.1 / 2.0)
    assert fastnn.diagnostics.relative_error(a, n, "elementwise") == pytest.approx(0.1 / 2.1)
    assert fastnn.diagnostics.relative_error(a[2:], n[2:], "elementwise") == pytest.approx(1e-9 / 1e-6)
    assert fastnn.diagnostics.relative_error(a, n, "elementwise", floor=1e-12) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one shape"):
        fastnn.diagnostics.relative_error(a, n[:2])


def test_bad_selections(rng):
    model = fastnn.MLP([3, 4, 2], seed=0)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, size=6)
    with pytest.raises(ValueError, match=r"'0.gamma' is not a parameter of this model"):
        fastnn.gradient_check(model, X, y, params=["0.gamma"])
    with pytest.raises(ValueError, match="max_entries must be"):
        fastnn.gradient_check(model, X, y, max_entries=0)
    with pytest.raises(ValueError, match="relative must be"):
        fastnn.gradient_check(model, X, y, relative="mean")
    with pytest.raises(ValueError, match="eps must be"):
        fastnn.gradient_check(model, X, y, eps=-1e-4, relative="elementwise")
    with pytest.raises(ValueError, match="floor must be"):
        fastnn.gradient_check(model, X, y, relative="elementwise", floor=0.0)


def test_eval_mode_gradients_of_batchnorm_match_finite_differences(rng):
    # gradient_check itself runs in training mode; eval-mode backward is checked here directly
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, size=6)
    model = fastnn.MLP([3, 4, 2], batch_norm=True, dtype="float64", seed=0)
    model.fit(X, y, epochs=2, batch_size=3, verbose=0)
    model.eval()
    _, grads = model.loss_and_gradients(X, y)
    for name, p in model.parameters().items():
        numeric = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            p[idx] += 1e-6
            plus = model.evaluate(X, y)["loss"]
            p[idx] -= 2e-6
            minus = model.evaluate(X, y)["loss"]
            p[idx] += 1e-6
            numeric[idx] = (plus - minus) / 2e-6
        assert np.max(np.abs(grads[name] - numeric)) <= 1e-6 * max(np.abs(numeric).max(), 1e-12), name


# ---------------------------------------------------------------- layer_statistics

def _small_model(backend, dtype):
    return fastnn.Sequential([L.Dense(4, 6), L.Tanh(), L.Dense(6, 5), L.BatchNorm(5), L.ReLU(), L.Dropout(0.3),
                              L.Maxout(5, 3, k=2), L.Dense(3, 3)], backend=backend, dtype=dtype, seed=4)


def _upper_loss(model, start, H, y):
    """The model's loss as a function of the output H of layer start - 1 (eval mode)."""
    for layer in model.layers[start:]:
        H = layer.forward(H, False)
    return float(model.loss(L.BACKENDS[model.backend], H, y)[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_statistics_match_a_direct_computation(backend, dtype, rng):
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, size=7)
    model = _small_model(backend, dtype).eval()  # eval: no dropout, BN running statistics
    before = snapshot(model)
    stats = fastnn.diagnostics.layer_statistics(model, X, y, bins=7, gradient_bins=5)
    assert_same_snapshot(before, snapshot(model))
    assert [s["layer"] for s in stats] == [1, 4, 6] and [s["name"] for s in stats] == ["tanh", "relu", "maxout"]

    probe = model.copy(dtype="float64")
    H = X
    tol = 1e-12 if dtype == "float64" else 1e-5
    for i, layer in enumerate(probe.layers):
        H = layer.forward(H, False)
        s = next((s for s in stats if s["layer"] == i), None)
        if s is None:
            continue
        assert s["activation_mean"] == pytest.approx(H.mean(), abs=tol * np.abs(H).max())
        assert s["activation_std"] == pytest.approx(H.std(), rel=tol * 10)
        assert abs(s["fraction_zero"] - np.mean(H == 0)) <= 1 / H.size  # a float32 sign may flip
        counts, edges = s["activation_hist"]
        assert counts.shape == (7,) and edges.shape == (8,) and counts.sum() == H.size
        if dtype == "float32":
            # float32 rounding can move a ReLU/maxout kink, which changes the gradient by a
            # whole piece: the gradients are checked in float64 (the code path is the same)
            continue
        # dJ/dH by centred differences through the layers above, compared with the reported stats
        grad = np.zeros_like(H)
        for idx in np.ndindex(H.shape):
            step = np.zeros_like(H)
            step[idx] = 1e-6
            grad[idx] = (_upper_loss(probe, i + 1, H + step, y)
                         - _upper_loss(probe, i + 1, H - step, y)) / 2e-6
        gtol = 1e-6
        assert s["gradient_std"] == pytest.approx(grad.std(), rel=gtol)
        assert s["gradient_mean"] == pytest.approx(grad.mean(), abs=gtol * np.abs(grad).max())
        counts, edges = s["gradient_hist"]
        assert counts.shape == (5,) and counts.sum() == grad.size
        assert edges[0] == pytest.approx(grad.min(), abs=gtol * np.abs(grad).max())


def test_layer_statistics_without_targets_modes_bins_and_zeros(rng):
    X = rng.standard_normal((20, 4))
    model = _small_model("c", "float64")
    train = fastnn.diagnostics.layer_statistics(model, X)
    assert all("gradient_std" not in s and "gradient_hist" not in s for s in train)
    assert set(train[0]) == {"layer", "name", "activation_mean", "activation_std", "fraction_zero", "activation_hist"}
    evaluated = fastnn.diagnostics.layer_statistics(model, X, training=False)
    # BatchNorm normalises with batch statistics in training mode, running ones (0, 1) in eval mode
    assert train[0]["activation_std"] == evaluated[0]["activation_std"]
    assert train[1]["activation_std"] != evaluated[1]["activation_std"]
    assert model.training  # the model's mode is untouched

    relu = train[1]
    assert 0.2 < relu["fraction_zero"] < 0.8
    nonzero = fastnn.diagnostics.layer_statistics(model, X, skip_zeros=True)[1]
    assert nonzero["activation_hist"][0].sum() == round(X.shape[0] * 5 * (1 - relu["fraction_zero"]))
    assert nonzero["activation_std"] == relu["activation_std"]  # stds count every value

    edges = np.linspace(-1, 1, 11)
    counts, got_edges = fastnn.diagnostics.layer_statistics(model, X, bins=edges)[0]["activation_hist"]
    np.testing.assert_array_equal(got_edges, edges)
    assert counts.sum() == X.shape[0] * 6  # tanh lies inside [-1, 1]


def test_layer_statistics_bad_arguments(rng):
    model = _small_model("c", "float32")
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, size=6)
    stats = fastnn.diagnostics.layer_statistics
    with pytest.raises(ValueError, match="bins must be"):
        stats(model, X, bins=0)
    with pytest.raises(ValueError, match="gradient_bins edges must increase"):
        stats(model, X, y, gradient_bins=[0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"X must have shape \(N, 4\)"):
        stats(model, X[:, :3])
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        stats(model, X, y + 3)
    with pytest.raises(TypeError, match="skip_zeros"):
        stats(model, X, skip_zeros="yes")


# The initialisation study of the lecture notes on initialisation, on 1,000 inputs through layer_statistics.
def _study_stds(activation, weights):
    from fastnn.examples.init_study import INITS, lecture_inputs, lecture_network

    X, _ = lecture_inputs(1000)
    model = lecture_network(activation, INITS[weights])
    stats = fastnn.diagnostics.layer_statistics(model, X, bins=np.array([-1.0, -0.9, 0.9, 1.0]))
    return stats, [s["activation_std"] for s in stats]


def test_init_study_tanh_small_weights_vanish():
    _, stds = _study_stds("tanh", "N(0, 0.01^2)")
    assert len(stds) == 10 and stds[9] < 1e-5 * stds[0]


def test_init_study_tanh_unit_weights_saturate():
    stats, _ = _study_stds("tanh", "N(0, 1)")
    counts, _ = stats[9]["activation_hist"]  # bins [-1, -0.9), [-0.9, 0.9), [0.9, 1]
    assert counts.sum() == 1000 * 500 and (counts[0] + counts[2]) > 0.8 * counts.sum()


def test_init_study_tanh_xavier_keeps_every_layer_in_range():
    _, stds = _study_stds("tanh", "Xavier")
    assert all(0.15 <= s <= 1.0 for s in stds), stds


@pytest.mark.parametrize("weights, low, high", [("He", 0.5, 2.0), ("Xavier", 0.0, 0.2)])
def test_init_study_relu(weights, low, high):
    # He keeps the 10th layer within a factor 2 of the 1st; Xavier lets it fall by more than 5x
    _, stds = _study_stds("relu", weights)
    assert low <= stds[9] / stds[0] <= high, stds


def test_plot_layer_histograms_writes_a_png(tmp_path, rng):
    pytest.importorskip("matplotlib")
    model = _small_model("c", "float64")
    stats = fastnn.diagnostics.layer_statistics(model, rng.standard_normal((10, 4)), rng.integers(0, 3, size=10))
    path = tmp_path / "layers.png"
    assert fastnn.diagnostics.plot_layer_histograms(stats, path, title="three layers") == str(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["layers.png"]  # no temporary file left
    with pytest.raises(ValueError, match="at least one layer"):
        fastnn.diagnostics.plot_layer_histograms([], tmp_path / "none.png")


def test_plot_layer_histograms_without_matplotlib_says_how_to_install_it(tmp_path, rng, monkeypatch):
    stats = fastnn.diagnostics.layer_statistics(_small_model("c", "float64"), rng.standard_normal((10, 4)))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    hint = r"pip install matplotlib \(or, in fastnn's source folder, pip install '\.\[plot\]'\)"
    with pytest.raises(ImportError, match=hint):
        fastnn.diagnostics.plot_layer_histograms(stats, tmp_path / "layers.png")
    assert not any(tmp_path.iterdir())
