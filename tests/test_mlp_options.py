"""MLP's batch-norm options reach every BatchNorm layer; predict, predict_proba and evaluate
take one sample as a 1-D array and give the first row of a batch's result."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import layers as L

from conftest import classification_data


def _batchnorms(model):
    return [layer for layer in model.layers if isinstance(layer, L.BatchNorm)]


def test_batchnorm_options_reach_every_batchnorm_layer():
    model = fastnn.MLP([6, 5, 4, 3, 2], batch_norm=True, bn_momentum=0.3, bn_eps=1e-3, bn_running_var="biased",
                       seed=0)
    bns = _batchnorms(model)
    assert len(bns) == 3
    for bn in bns:
        assert (bn.momentum, bn.eps, bn.running_var_mode) == (0.3, 1e-3, "biased")
    defaults = _batchnorms(fastnn.MLP([6, 5, 4, 2], batch_norm=True, seed=0))
    assert all((bn.momentum, bn.eps, bn.running_var_mode) == (0.1, 1e-5, "unbiased") for bn in defaults)


def test_the_options_are_used_in_training_and_survive_save_and_load(rng, tmp_path):
    X, y = classification_data(rng, n=24, d=6)
    kw = dict(batch_norm=True, dtype="float64", seed=3)
    biased = fastnn.MLP([6, 5, 3], bn_running_var="biased", bn_momentum=0.5, **kw)
    unbiased = fastnn.MLP([6, 5, 3], **kw)
    for model in (biased, unbiased):
        model.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0, optimizer="sgd")
    # the same batches; the running variances differ by the factor n/(n-1) and the momentum
    assert not np.allclose(biased.layers[1].running_var, unbiased.layers[1].running_var)
    path = tmp_path / "model.npz"
    biased.save(path)
    bn = fastnn.load(path).layers[1]
    assert (bn.momentum, bn.running_var_mode) == (0.5, "biased")


def test_biased_running_variance_is_the_batch_variance(rng):
    X = rng.standard_normal((10, 4))
    model = fastnn.MLP([4, 3, 2], batch_norm=True, bn_momentum=1.0, bn_running_var="biased", dtype="float64",
                       seed=1)
    model.forward(X, training=True)
    S = X @ model.layers[0].W.T
    assert np.allclose(model.layers[1].running_var, S.var(axis=0), rtol=1e-12, atol=0)


def test_batchnorm_options_without_batch_norm_are_refused():
    with pytest.raises(ValueError, match="bn_running_var='biased' sets the BatchNorm layers"):
        fastnn.MLP([3, 4, 2], bn_running_var="biased")
    with pytest.raises(ValueError, match="momentum"):
        fastnn.MLP([3, 4, 2], batch_norm=True, bn_momentum=1.5)
    with pytest.raises(ValueError, match="running_var"):
        fastnn.MLP([3, 4, 2], batch_norm=True, bn_running_var="sample")


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
def test_one_sample_is_the_first_row_of_a_batch(batch_norm, rng):
    X, y = classification_data(rng, n=30, d=5)
    model = fastnn.MLP([5, 8, 3], batch_norm=batch_norm, seed=2)
    model.fit(X, y, epochs=2, batch_size=10, verbose=0)
    label = model.predict(X[0])
    assert np.ndim(label) == 0 and label == model.predict(X)[0]
    P = model.predict_proba(X[0])
    assert P.shape == (3,) and np.array_equal(P, model.predict_proba(X)[0])
    assert model.evaluate(X[0], y[0]) == model.evaluate(X[:1], y[:1])
    assert model.evaluate(list(X[0]), int(y[0])) == model.evaluate(X[:1], y[:1])


def test_one_sample_of_a_regression_model(rng):
    X, Y = rng.standard_normal((12, 4)), rng.standard_normal((12, 2))
    model = fastnn.MLP([4, 6, 2], loss="mse", dtype="float64", seed=0)
    out = model.predict(X[3])
    assert out.shape == (2,) and np.array_equal(out, model.predict(X[3:4])[0])
    assert model.evaluate(X[3], Y[3]) == model.evaluate(X[3:4], Y[3:4])


def test_a_1d_input_of_the_wrong_length_is_refused(rng):
    model = fastnn.MLP([1, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"one sample \(a 1-D array\) must hold this model's 1 input features"
                                         r".*X.reshape\(-1, 1\)"):
        model.predict(np.arange(5.0))
    assert model.predict(np.array([0.5])) == model.predict(np.array([[0.5]]))[0]
