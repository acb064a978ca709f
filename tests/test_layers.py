"""Layers: forward/backward against direct NumPy, batch-norm running statistics, dropout masks, maxout."""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import layers as L
from conftest import DTYPES, rel_error


def _built(layer, dtype=np.float64, backend="numpy", seed=0):
    layer.build(np.random.default_rng(seed), dtype)
    layer.backend = backend
    return layer


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("bias", [True, False])
def test_dense(rng, backend, bias):
    layer = _built(L.Dense(4, 3, bias=bias), backend=backend)
    assert layer.W.shape == (3, 4) and (layer.b is None) == (not bias)
    if bias:
        layer.b = rng.standard_normal(3)
    X, dOut = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    b = layer.b if bias else 0.0
    assert rel_error(layer.forward(X, True), X @ layer.W.T + b) < 1e-12
    dX = layer.backward(dOut)
    assert rel_error(dX, dOut @ layer.W) < 1e-12
    assert rel_error(layer.grads["W"], dOut.T @ X) < 1e-12
    assert set(layer.grads) == ({"W", "b"} if bias else {"W"})


def test_dense_attributes_keep_dtype_and_identity():
    layer = _built(L.Dense(2, 2), dtype=np.float32)
    W = layer.W
    layer.W = [[1, 2], [3, 4]]
    assert layer.W is W and W.dtype == np.float32 and W[1, 1] == 4
    with pytest.raises(TypeError, match="W must hold real numbers"):
        layer.W = [["a", "b"], ["c", "d"]]


@pytest.mark.parametrize("mode", ["unbiased", "biased"])
def test_batchnorm_running_statistics(rng, mode):
    layer = _built(L.BatchNorm(3, momentum=0.2, running_var=mode))
    X = rng.standard_normal((6, 3)) * 2 + 1
    Y = layer.forward(X, training=True)
    assert rel_error(Y, (X - X.mean(0)) / np.sqrt(X.var(0) + 1e-5)) < 1e-12
    batch_var = X.var(0, ddof=1 if mode == "unbiased" else 0)
    assert rel_error(layer.running_mean, 0.2 * X.mean(0)) < 1e-12
    assert rel_error(layer.running_var, 0.8 + 0.2 * batch_var) < 1e-12
    layer.gamma = [1.0, 2.0, 3.0]
    expected = (X - layer.running_mean) / np.sqrt(layer.running_var + 1e-5) * layer.gamma + layer.beta
    assert rel_error(layer.forward(X, training=False), expected) < 1e-12


def test_batchnorm_arguments():
    with pytest.raises(ValueError, match="running_var must be one of"):
        L.BatchNorm(3, running_var="sample")
    with pytest.raises(ValueError, match="momentum must be"):
        L.BatchNorm(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps must be"):
        L.BatchNorm(3, eps=0)


@pytest.mark.parametrize("make, name, alpha", [
    (L.Identity, "identity", None), (L.Sigmoid, "sigmoid", None), (L.Tanh, "tanh", None),
    (L.ReLU, "relu", None), (L.LeakyReLU, "leaky_relu", 0.01), (L.ELU, "elu", 1.0), (L.Softplus, "softplus", None)])
def test_activation_shortcuts(make, name, alpha):
    layer = make()
    assert isinstance(layer, L.Activation) and layer.name == name and layer.alpha == alpha


def _mix64(z):
    """SplitMix64's finaliser with Python integers, independent of the NumPy version."""
    m = (1 << 64) - 1
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def test_dropout_mask_is_the_documented_counter_based_hash():
    seed, step, p, shape = 123456789123, 7, 0.4, (3, 5)
    golden, m = 0x9E3779B97F4A7C15, (1 << 64) - 1
    key = _mix64((seed + golden * (step + 1)) & m)
    expected = [((_mix64((key + golden * (i + 1)) & m) >> 11) * 2.0 ** -53) >= p for i in range(15)]
    assert np.array_equal(L.dropout_mask(seed, step, shape, p), np.reshape(expected, shape))


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_dropout_behaviour(rng, backend):
    layer = _built(L.Dropout(0.25), backend=backend)
    X = rng.standard_normal((200, 50))
    assert layer.forward(X, training=False) is X
    Y1 = layer.forward(X, training=True)
    keep = Y1 != 0
    assert abs(keep.mean() - 0.75) < 0.02
    assert rel_error(Y1[keep], X[keep] / 0.75) < 1e-15
    dX = layer.backward(np.ones_like(X))
    assert np.array_equal(dX != 0, keep) and np.allclose(dX[keep], 1 / 0.75)
    Y2 = layer.forward(X, training=True)  # a new step, a new mask
    assert layer.step == 2 and not np.array_equal(Y2 != 0, keep)
    assert np.array_equal(keep, L.dropout_mask(layer.seed, 0, X.shape, 0.25))
    for dtype in DTYPES:  # the mask does not depend on the dtype
        again = _built(L.Dropout(0.25), dtype=dtype, backend=backend)
        assert np.array_equal(again.forward(X.astype(dtype), True) != 0, keep)
    with pytest.raises(ValueError, match="p must be"):
        L.Dropout(1.0)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_maxout(rng, backend):
    layer = _built(L.Maxout(4, 3, k=2), backend=backend)
    assert layer.W.shape == (6, 4) and layer.b.shape == (6,)
    X = rng.standard_normal((5, 4))
    S = X @ layer.W.T + layer.b
    expected = np.maximum(S[:, 0::2], S[:, 1::2])
    assert rel_error(layer.forward(X, True), expected) < 1e-12
    dOut = rng.standard_normal((5, 3))
    dX = layer.backward(dOut)
    winner_first = S[:, 0::2] >= S[:, 1::2]
    dS = np.zeros((5, 6))
    dS[:, 0::2] = np.where(winner_first, dOut, 0)
    dS[:, 1::2] = np.where(winner_first, 0, dOut)
    assert rel_error(dX, dS @ layer.W) < 1e-12
    assert rel_error(layer.grads["W"], dS.T @ X) < 1e-12
    assert rel_error(layer.grads["b"], dS.sum(0)) < 1e-12


def test_config_round_trip():
    for layer in (L.Dense(3, 4, init="xavier", bias=False), L.BatchNorm(4, running_var="biased"),
                  L.LeakyReLU(0.3), L.Dropout(0.1), L.Maxout(4, 2, k=3, init="he_uniform")):
        assert L.from_config(layer.to_config()).to_config() == layer.to_config()
    with pytest.raises(ValueError, match="layer config"):
        L.from_config({"type": "Conv2d"})


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="before forward"):
        _built(L.Dense(2, 2)).backward(np.ones((1, 2)))
