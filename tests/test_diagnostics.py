"""gradient_check: <= 1e-6 for every activation, with and without BN, maxout, each loss, l2 > 0."""

from __future__ import annotations

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
