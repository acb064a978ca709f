"""Optimisers: PyTorch's equations and defaults (torch as oracle when installed) through either backend's
kernels, hand-computed steps."""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import optim
from conftest import rel_error

CONFIGS = [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}), ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("AdaGrad", {}), ("AdaGrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.5}),
    ("RMSProp", {}), ("RMSProp", {"momentum": 0.5, "centered": True}),
    ("Adam", {}), ("Adam", {"lr": 0.01, "beta1": 0.8, "beta2": 0.9, "eps": 1e-6}),
]
TORCH_NAME = {"SGD": "SGD", "AdaGrad": "Adagrad", "RMSProp": "RMSprop", "Adam": "Adam"}


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=[f"{n}{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_matches_torch_over_several_steps(name, kwargs, backend, rng):
    torch = pytest.importorskip("torch")
    params = {"W": rng.standard_normal((4, 3)), "b": rng.standard_normal(4)}
    grads = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(6)]
    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    tkwargs = dict(kwargs)
    if name == "Adam":
        tkwargs["betas"] = (tkwargs.pop("beta1", 0.9), tkwargs.pop("beta2", 0.999))
    topt = getattr(torch.optim, TORCH_NAME[name])(list(tparams.values()), **tkwargs)
    opt = getattr(optim, name)(**kwargs)
    for g in grads:
        for k, t in tparams.items():
            t.grad = torch.from_numpy(g[k].copy())
        topt.step()
        opt.step(params, g, backend=backend)
    for k in params:
        assert rel_error(params[k], tparams[k].detach().numpy()) <= 1e-12, k
    assert opt.iterations == 6


def test_defaults_are_torch_defaults():
    assert optim.SGD().lr == 1e-3 and optim.SGD().momentum == 0.0 and not optim.SGD().nesterov
    assert optim.AdaGrad().lr == 1e-2 and optim.AdaGrad().eps == 1e-10
    assert (optim.RMSProp().lr, optim.RMSProp().alpha, optim.RMSProp().eps) == (1e-2, 0.99, 1e-8)
    a = optim.Adam()
    assert (a.lr, a.beta1, a.beta2, a.eps) == (1e-3, 0.9, 0.999, 1e-8)
    assert optim.Adagrad is optim.AdaGrad and optim.RMSprop is optim.RMSProp


def test_hand_computed_steps():
    p = {"w": np.array([1.0, -2.0])}
    g = {"w": np.array([0.5, 0.25])}
    optim.SGD(0.1).step(p, g)
    assert np.allclose(p["w"], [0.95, -2.025])
    p = {"w": np.array([1.0])}
    adam = optim.Adam(lr=0.1)
    adam.step(p, {"w": np.array([3.0])})  # first Adam step moves by lr * sign(g) (up to eps)
    assert np.isclose(p["w"][0], 0.9, rtol=1e-9)
    p32 = {"w": np.ones(3, dtype=np.float32)}
    optim.RMSProp().step(p32, {"w": np.ones(3, dtype=np.float32)})
    assert p32["w"].dtype == np.float32


def test_bad_arguments():
    with pytest.raises(ValueError, match="lr must be"):
        optim.SGD(-0.1)
    with pytest.raises(ValueError, match="nesterov=True needs momentum"):
        optim.SGD(0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta1 must be"):
        optim.Adam(beta1=1.0)
    with pytest.raises(ValueError, match="optimizer must be"):
        optim.get("lbfgs")
    assert isinstance(optim.get("Adam"), optim.Adam) and isinstance(optim.get("sgd"), optim.SGD)
