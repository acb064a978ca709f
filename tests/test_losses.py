"""Losses: values and gradients against direct formulas and finite differences; target checks."""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import losses, reference
from conftest import rel_error


def _numeric_grad(f, O, eps=1e-6):
    g = np.zeros_like(O)
    for idx in np.ndindex(O.shape):
        O[idx] += eps
        plus = f(O)
        O[idx] -= 2 * eps
        minus = f(O)
        O[idx] += eps
        g[idx] = (plus - minus) / (2 * eps)
    return g


def _targets(name, rng, n):
    if name == "softmax_cross_entropy":
        return rng.integers(0, 3, size=n), 3
    if name == "soft":
        return rng.random((n, 3)), 3
    if name == "sigmoid_binary_cross_entropy":
        return rng.integers(0, 2, size=n), 1
    return rng.standard_normal((n, 2)), 2


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "soft", "sigmoid_binary_cross_entropy", "mse"])
def test_gradients_match_finite_differences(name, rng):
    y, outputs = _targets(name, rng, 6)
    loss = losses.get("softmax_cross_entropy" if name == "soft" else name)
    y = loss.targets(y, 6, outputs, np.float64)
    O = rng.standard_normal((6, outputs)) * 2
    value, dO = loss(reference, O, y)
    assert rel_error(dO, _numeric_grad(lambda o: float(loss(reference, o, y)[0]), O.copy())) < 1e-8


def test_values_against_formulas(rng):
    O = rng.standard_normal((5, 3))
    y = np.array([0, 2, 1, 1, 0])
    ce = losses.get("softmax_cross_entropy")
    P = np.exp(O) / np.exp(O).sum(1, keepdims=True)
    assert rel_error(ce(reference, O, y)[0], -np.log(P[np.arange(5), y]).mean()) < 1e-14
    onehot = np.eye(3)[y]
    soft_value, soft_grad = ce(reference, O, onehot)
    int_value, int_grad = ce(reference, O, y)
    assert rel_error(soft_value, int_value) < 1e-14 and rel_error(soft_grad, int_grad) < 1e-14

    bce = losses.get("sigmoid_binary_cross_entropy")
    o, t = O[:, :1], np.array([[1.0], [0.0], [1.0], [0.0], [0.0]])
    s = 1 / (1 + np.exp(-o))
    assert rel_error(bce(reference, o, t)[0], -(t * np.log(s) + (1 - t) * np.log(1 - s)).mean()) < 1e-14
    mse = losses.get("mse")
    target = rng.standard_normal((5, 3))
    assert rel_error(mse(reference, O, target)[0], 0.5 * ((O - target) ** 2).sum(1).mean()) < 1e-14


def test_large_logits_stay_finite():
    bce = losses.get("sigmoid_binary_cross_entropy")
    O = np.array([[800.0], [-800.0]], dtype=np.float32)
    value, grad = bce(reference, O, np.array([[0.0], [1.0]], dtype=np.float32))
    assert np.isclose(value, 800.0) and np.all(np.isfinite(grad))
    assert np.array_equal(bce.proba(reference, O), [[1.0], [0.0]])
    ce = losses.get("softmax_cross_entropy")
    value, grad = ce(reference, np.array([[1000.0, -1000.0]]), np.array([[0.0, 1.0]]))
    assert np.isclose(value, 2000.0) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("name, y, outputs, error, message", [
    ("softmax_cross_entropy", [0, 1, 3], 3, ValueError, r"labels in \[0, 3\)"),
    ("softmax_cross_entropy", [0, 1], 3, ValueError, "must have 3 rows"),
    ("softmax_cross_entropy", [[0.5, 0.5]] * 3, 3, ValueError, r"shape \(3, 3\)"),
    ("softmax_cross_entropy", [[-0.1, 0.6, 0.5]] * 3, 3, ValueError, ">= 0"),
    ("softmax_cross_entropy", ["a", "b", "c"], 3, TypeError, "real numbers"),
    ("sigmoid_binary_cross_entropy", [0, 1, 2], 1, ValueError, "binary labels 0 or 1"),
    ("sigmoid_binary_cross_entropy", [[0, 1]] * 3, 1, ValueError, "shape"),
    ("mse", [[1.0, np.nan]] * 3, 2, ValueError, "finite"),
    ("mse", [1.0, 2.0, 3.0], 2, ValueError, r"shape \(3, 2\)"),
])
def test_bad_targets(name, y, outputs, error, message):
    with pytest.raises(error, match=message):
        losses.get(name).targets(np.array(y), 3, outputs, np.float64)


def test_names():
    assert losses.NAMES == ("softmax_cross_entropy", "sigmoid_binary_cross_entropy", "mse")
    with pytest.raises(ValueError, match="loss must be a Loss or one of"):
        losses.get("cross_entropy")
    with pytest.raises(ValueError, match="at least 2 output units"):
        losses.get("softmax_cross_entropy").check_outputs(1)


@pytest.mark.parametrize("name, y, outputs", [
    ("mse", [[1.0, 1e39]] * 3, 2),
    ("softmax_cross_entropy", [[0.0, 1e39]] * 3, 2),
])
def test_targets_that_overflow_the_models_dtype_are_rejected(name, y, outputs):
    y = np.array(y)  # finite in float64, inf once cast to float32
    loss = losses.get(name)
    assert np.all(np.isfinite(loss.targets(y, 3, outputs, np.float64)))
    with pytest.raises(ValueError, match=r"y in float32 must be finite, found inf at index \(0, 1\)"):
        loss.targets(y, 3, outputs, np.float32)
