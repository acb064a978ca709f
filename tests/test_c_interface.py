"""The C interface reaches Python once: fastnn/_fastnn.pxd declares fastnn.h for Cython,
fastnn._ops turns its enums and its activation table into Python values, and the engine's
layer and optimiser descriptions are built by typed constructors that take exactly the
fields each kind uses."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import fastnn
from fastnn import _engine, _ops, _validation, layers as L, optim, reference

from conftest import ACTIVATIONS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ the activation table

def test_every_list_of_activations_is_the_c_table():
    assert ACTIVATIONS is _ops.ACTIVATIONS and _validation.ACTIVATIONS is _ops.ACTIVATIONS
    assert _validation.DEFAULT_ALPHA is _ops.DEFAULT_ALPHA
    assert len(set(ACTIVATIONS)) == len(ACTIVATIONS) >= 6
    assert _ops.ACTIVATION_CODES == {name: code for code, name in enumerate(ACTIVATIONS)}
    assert set(_ops.DEFAULT_ALPHA) <= set(ACTIVATIONS)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_in_the_table_runs_everywhere(name, rng):
    # a name in fastnn.h's table must have its formulas in C and in the reference, a layer,
    # and the engine
    S = rng.standard_normal((4, 3))
    H = fastnn.ops.activation_forward(name, S)
    assert np.allclose(H, reference.activation_forward(name, S), rtol=1e-12, atol=0)
    layer = L.Activation(name)
    assert layer.alpha == _ops.DEFAULT_ALPHA.get(name)
    spec = _ops.LayerSpec.activation(features=3, activation=name, alpha=layer.alpha or 0.0)
    assert spec.kind is _ops.LayerKind.ACTIVATION


def test_alpha_errors_name_the_activations_that_take_it():
    with pytest.raises(ValueError, match="alpha is only used by 'leaky_relu' and 'elu', not by 'tanh'"):
        fastnn.ops.activation_forward("tanh", np.ones((2, 2)), alpha=0.5)


def test_the_dense_kernel_refuses_a_code_past_the_table():
    X, W = np.ones((2, 3)), np.ones((4, 3))
    with pytest.raises(ValueError, match="unknown activation code"):
        _ops.dense_forward(len(ACTIVATIONS), X, W, None, 0.0)


# ------------------------------------------------------------------ enums

def test_enums_come_from_the_header_with_distinct_values():
    for kinds in (_ops.LayerKind, _ops.LossKind, _ops.OptimizerKind):
        assert len({int(k) for k in kinds}) == len(kinds)
    assert _ops.SIMD_LEVELS[0] == "generic" and len(_ops.SIMD_LEVELS) == 3


def test_python_modules_carry_no_integer_codes():
    # the engine's codes are the enums of fastnn._ops, never numbers typed in Python
    for name in ("_engine.py", "_validation.py", "layers.py", "ops.py", "reference.py", "optim.py"):
        with open(os.path.join(ROOT, "fastnn", name)) as fh:
            text = fh.read()
        for pattern in ("range(5)", "range(4)", "kind == 0", "kind == 1", "kind == 2", '"relu": 3'):
            assert pattern not in text, (name, pattern)


# ------------------------------------------------------------------ typed specs

LAYER_CALLS = {
    "dense": dict(in_features=3, out_features=4, weight=0, bias=1),
    "maxout": dict(in_features=3, out_features=4, pieces=2, weight=0, bias=1),
    "batchnorm": dict(features=4, gamma=0, beta=1, eps=1e-5, momentum=0.1, unbiased_running_var=True,
                      running_mean=np.zeros(4), running_var=np.ones(4)),
    "activation": dict(features=4, activation="relu", alpha=0.0),
    "dropout": dict(features=4, p=0.2, seed=3, step=0),
}
OPTIMIZER_CALLS = {
    "sgd": dict(momentum=0.9, dampening=0.0, nesterov=True, iterations=0),
    "adagrad": dict(lr_decay=0.0, eps=1e-10, iterations=2),
    "rmsprop": dict(alpha=0.99, eps=1e-8, momentum=0.0, centered=False, iterations=0),
    "adam": dict(beta1=0.9, beta2=0.999, eps=1e-8, iterations=5),
}


@pytest.mark.parametrize("kind", LAYER_CALLS)
def test_layer_spec_takes_exactly_the_fields_of_its_kind(kind):
    make = getattr(_ops.LayerSpec, kind)
    spec = make(**LAYER_CALLS[kind])
    assert spec.kind is _ops.LayerKind[kind.upper()]
    assert repr(spec).startswith(f"LayerSpec.{kind}(")
    for key in LAYER_CALLS[kind]:
        misspelt = {(k + "s" if k == key else k): v for k, v in LAYER_CALLS[kind].items()}
        with pytest.raises(TypeError, match=rf"unexpected keyword argument '{key}s'"):
            make(**misspelt)
        missing = {k: v for k, v in LAYER_CALLS[kind].items() if k != key}
        with pytest.raises(TypeError, match=key):
            make(**missing)
    # a field of another kind is not quietly accepted either
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        make(**LAYER_CALLS[kind], pieces=3) if kind != "maxout" else make(**LAYER_CALLS[kind], p=0.5)


@pytest.mark.parametrize("kind", OPTIMIZER_CALLS)
def test_optimizer_spec_takes_exactly_the_fields_of_its_kind(kind):
    make = getattr(_ops.OptimizerSpec, kind)
    assert make(**OPTIMIZER_CALLS[kind]).kind is _ops.OptimizerKind[kind.upper()]
    for key in OPTIMIZER_CALLS[kind]:
        misspelt = {(k + "s" if k == key else k): v for k, v in OPTIMIZER_CALLS[kind].items()}
        with pytest.raises(TypeError, match=rf"unexpected keyword argument '{key}s'"):
            make(**misspelt)
        with pytest.raises(TypeError, match=key):
            make(**{k: v for k, v in OPTIMIZER_CALLS[kind].items() if k != key})


def test_specs_refuse_bad_values():
    with pytest.raises(ValueError, match="activation must be one of"):
        _ops.LayerSpec.activation(features=4, activation="relu6", alpha=0.0)
    with pytest.raises(ValueError, match="dropout needs 0 <= p < 1"):
        _ops.LayerSpec.dropout(features=4, p=1.0, seed=0, step=0)
    with pytest.raises(ValueError, match="at least one"):
        _ops.LayerSpec.dense(in_features=0, out_features=4, weight=0, bias=-1)
    with pytest.raises(ValueError, match="running_var must be an array of 4 values"):
        _ops.LayerSpec.batchnorm(**{**LAYER_CALLS["batchnorm"], "running_var": np.ones(3)})
    with pytest.raises(TypeError):
        _ops.LayerSpec.dense(in_features=3, out_features=4, weight="W", bias=1)
    with pytest.raises(TypeError, match="made by LayerSpec.dense"):
        _ops.LayerSpec()
    with pytest.raises(TypeError, match="made by OptimizerSpec.sgd"):
        _ops.OptimizerSpec()
    with pytest.raises(TypeError, match="fresh"):
        _ops.ParamSpec(np.zeros(3), regularised=True, state=())
    with pytest.raises(ValueError, match="state must match"):
        _ops.ParamSpec(np.zeros(3), regularised=True, state=(np.zeros(4),), fresh=False)


def test_the_engine_takes_only_specs(rng):
    X = np.ascontiguousarray(rng.standard_normal((8, 3)))
    y = rng.integers(0, 4, size=8)
    W, b = np.zeros((4, 3)), np.zeros(4)
    params = [_ops.ParamSpec(W, regularised=True, state=(), fresh=False),
              _ops.ParamSpec(b, regularised=False, state=(), fresh=False)]
    layers = [_ops.LayerSpec.dense(in_features=3, out_features=4, weight=0, bias=1)]
    opt = _ops.OptimizerSpec.sgd(momentum=0.0, dampening=0.0, nesterov=False, iterations=0)
    engine = _ops.TrainingEngine(layers, params, _ops.LossKind.SOFTMAX_CE, 0.0, 8, opt, X, y)
    losses, _ = engine.run(np.arange(8), np.array([0, 8]), np.array([0.1]))
    assert losses[0] == pytest.approx(np.log(4)) and engine.iterations == 1 and W.any()
    with pytest.raises(TypeError):
        _ops.TrainingEngine([{"kind": 0, "in_features": 3, "out_features": 4, "weight": 0, "bias": 1}],
                            params, _ops.LossKind.SOFTMAX_CE, 0.0, 8, opt, X, y)
    with pytest.raises(TypeError):
        _ops.TrainingEngine(layers, [{"value": W, "regularised": True}], _ops.LossKind.SOFTMAX_CE, 0.0, 8,
                            opt, X, y)
    with pytest.raises(TypeError):
        _ops.TrainingEngine(layers, params, _ops.LossKind.SOFTMAX_CE, 0.0, 8, {"kind": 0, "iterations": 0}, X, y)
    with pytest.raises(ValueError):
        _ops.TrainingEngine(layers, params, 7, 0.0, 8, opt, X, y)


@pytest.mark.parametrize("opt", [optim.SGD(0.1, momentum=0.5, dampening=0.1), optim.AdaGrad(lr_decay=0.1),
                                 optim.RMSProp(alpha=0.9, centered=True), optim.Adam(beta1=0.8)],
                         ids=lambda o: type(o).__name__)
def test_every_engine_optimizer_has_a_spec_of_its_settings(opt):
    opt.iterations = 3
    spec = _engine.optimizer_spec(opt)
    assert spec.kind.name == type(opt).__name__.upper()
    assert "iterations=3" in repr(spec)
    for key, value in opt.get_config().items():
        if key not in ("lr", "initial_accumulator_value"):
            assert f"{key}={value!r}" in repr(spec), key


# ------------------------------------------------------------------ the .pxd ships

def test_the_pxd_is_package_data():
    assert os.path.exists(os.path.join(ROOT, "fastnn", "_fastnn.pxd"))
    with open(os.path.join(ROOT, "pyproject.toml")) as fh:
        config = fh.read()
    data = re.search(r"\[tool\.setuptools\.package-data\]\s*fastnn\s*=\s*\[(.*?)\]", config, re.S)
    assert data and '"*.pxd"' in data.group(1)
    with open(os.path.join(ROOT, "fastnn", "_ops.pyx")) as fh:
        text = fh.read()
    assert "cdef extern" not in text and "from fastnn._fastnn cimport" in text
