"""Initialisers: distributions, seeding, dtypes, callables, bad names."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastnn
from fastnn import init

N_OUT, N_IN = 400, 300


def _draw(spec, dtype=np.float64, seed=0):
    return init.draw(init.get(spec), (N_OUT, N_IN), np.random.default_rng(seed), dtype)


@pytest.mark.parametrize("name, std", [
    ("normal", 0.01), ("xavier", 1 / math.sqrt(N_IN)), ("lecun", 1 / math.sqrt(N_IN)),
    ("glorot_normal", math.sqrt(2 / (N_IN + N_OUT))), ("he", math.sqrt(2 / N_IN)), ("kaiming", math.sqrt(2 / N_IN))])
def test_normal_initialisers(name, std):
    W = _draw(name)
    assert abs(W.mean()) < 0.01 * std * 5 and abs(W.std() / std - 1) < 0.01


@pytest.mark.parametrize("name, limit", [
    ("uniform", 1 / math.sqrt(N_IN)), ("glorot_uniform", math.sqrt(6 / (N_IN + N_OUT))),
    ("glorot_uniform_sigmoid", 4 * math.sqrt(6 / (N_IN + N_OUT))), ("he_uniform", math.sqrt(6 / N_IN))])
def test_uniform_initialisers(name, limit):
    W = _draw(name)
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.99 * limit
    assert abs(W.std() / (limit / math.sqrt(3)) - 1) < 0.01


def test_constants():
    assert np.all(_draw("zeros") == 0) and np.all(_draw("ones") == 1)
    assert np.all(init.draw(init.constant(0.5), (2, 3), None, np.float32) == 0.5)


@pytest.mark.parametrize("name", init.NAMES)
def test_seeded_and_float32_is_the_rounded_float64(name):
    a, b = _draw(name, seed=3), _draw(name, seed=3)
    assert np.array_equal(a, b)
    assert np.array_equal(_draw(name, np.float32, seed=3), a.astype(np.float32))
    if name not in ("zeros", "ones"):
        assert not np.array_equal(a, _draw(name, seed=4))


def test_factories_and_callables():
    assert init.normal(std=0.5).config == {"name": "normal", "std": 0.5}
    W = _draw(init.normal(std=0.5))
    assert abs(W.std() / 0.5 - 1) < 0.01
    layer = fastnn.Dense(3, 2, init=lambda shape, rng, dtype: np.arange(6.0).reshape(shape))
    model = fastnn.Sequential([layer], dtype="float32", seed=0)
    assert np.array_equal(model.layers[0].W, np.arange(6.0, dtype=np.float32).reshape(2, 3))


def test_bad_initialisers():
    with pytest.raises(ValueError, match="init must be one of"):
        init.get("orthogonal")
    with pytest.raises(TypeError, match="init must be a name"):
        init.get(0.1)
    with pytest.raises(ValueError, match=r"returned shape \(3,\), expected \(2, 3\)"):
        fastnn.Sequential([fastnn.Dense(3, 2, init=lambda shape, rng, dtype: np.zeros(3))])
    with pytest.raises(ValueError, match="must be finite"):
        fastnn.Sequential([fastnn.Dense(3, 2, init=lambda shape, rng, dtype: np.full(shape, np.inf))])
    with pytest.raises(ValueError, match="std must be"):
        init.normal(std=-1)
