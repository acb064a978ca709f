"""PyTorch as an outside oracle (skipped when torch is not installed).

The reference and the compiled kernels come from one set of formulas; torch
does not, so agreement here rules out a shared misreading of the maths.
Everything in float64, relative error <= 1e-12; gradients come from autograd
with a fixed random upstream gradient R.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ACTIVATIONS, TOL, assert_close, labels, randn

torch = pytest.importorskip("torch")
F = torch.nn.functional

F64 = np.float64
TOL64 = TOL[np.dtype(F64)]


def leaf(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def grads_of(out, R, *leaves):
    """Gradients of sum(out * R) with respect to the given leaves, as NumPy arrays."""
    out.backward(torch.from_numpy(np.ascontiguousarray(R)))
    return [t.grad.numpy() for t in leaves]


@pytest.mark.parametrize("n,d_in,d_out", [(1, 3, 2), (7, 33, 257), (100, 3072, 50)])
def test_linear_matches_torch(module, rng, n, d_in, d_out):
    X, W, b = randn(rng, (n, d_in), F64), randn(rng, (d_out, d_in), F64), randn(rng, d_out, F64)
    R = randn(rng, (n, d_out), F64)
    tX, tW, tb = leaf(X), leaf(W), leaf(b)
    out = F.linear(tX, tW, tb)
    assert_close(module.linear_forward(X, W, b), out.detach().numpy(), TOL64, "S")
    want = grads_of(out, R, tX, tW, tb)
    for got, expected, what in zip(module.linear_backward(R, X, W), want, ("dX", "dW", "db")):
        assert_close(got, expected, TOL64, what)


TORCH_ACTIVATIONS = {
    "identity": lambda s, alpha: s * 1,
    "sigmoid": lambda s, alpha: torch.sigmoid(s),
    "tanh": lambda s, alpha: torch.tanh(s),
    "relu": lambda s, alpha: F.relu(s),
    "leaky_relu": lambda s, alpha: F.leaky_relu(s, negative_slope=0.01 if alpha is None else alpha),
    "elu": lambda s, alpha: F.elu(s, alpha=1.0 if alpha is None else alpha),
    # torch returns s itself above its threshold (20 by default); 50 keeps that far away
    "softplus": lambda s, alpha: F.softplus(s, beta=1.0, threshold=50.0),
}


@pytest.mark.parametrize("name,alpha", [(a, None) for a in ACTIVATIONS]
                         + [("leaky_relu", 0.2), ("elu", 0.5), ("elu", 2.0)])
def test_activations_match_torch(module, rng, name, alpha):
    # keep off the kink at 0, where torch and fastnn may pick different subgradients
    S = randn(rng, (33, 17), F64, scale=3.0)
    S[np.abs(S) < 1e-3] = 0.5
    R = randn(rng, S.shape, F64)
    tS = leaf(S)
    out = TORCH_ACTIVATIONS[name](tS, alpha)
    H = module.activation_forward(name, S, alpha)
    assert_close(H, out.detach().numpy(), TOL64, "H")
    (dS_torch,) = grads_of(out, R, tS)
    assert_close(module.activation_backward(name, R, H, alpha), dS_torch, TOL64, "dS")


@pytest.mark.parametrize("n,d,eps", [(2, 3, 1.0), (8, 5, 1e-5), (64, 129, 1e-5), (512, 64, 1e-3)])
def test_batchnorm_matches_torch(module, rng, n, d, eps):
    S = randn(rng, (n, d), F64) * rng.uniform(0.5, 2, d) + rng.uniform(-3, 3, d)
    gamma, beta, R = randn(rng, d, F64), randn(rng, d, F64), randn(rng, (n, d), F64)
    tS, tg, tb = leaf(S), leaf(gamma), leaf(beta)
    out = F.batch_norm(tS, None, None, weight=tg, bias=tb, training=True, eps=eps)
    Y, mean, var = module.batchnorm_forward(S, gamma, beta, eps)
    assert_close(Y, out.detach().numpy(), TOL64, "Y")
    assert_close(mean, tS.detach().mean(dim=0).numpy(), TOL64, "mean")
    assert_close(var, tS.detach().var(dim=0, unbiased=False).numpy(), TOL64, "var (biased)")
    want = grads_of(out, R, tS, tg, tb)
    got = module.batchnorm_backward(R, S, gamma, mean, var, eps)
    for g, w, what in zip(got, want, ("dS", "dgamma", "dbeta")):
        assert_close(g, w, TOL64, what)


@pytest.mark.parametrize("n,c,scale", [(1, 1, 1.0), (1, 7, 3.0), (33, 10, 3.0), (300, 1000, 5.0),
                                       (4, 3, 1e30)])
def test_softmax_cross_entropy_matches_torch(module, rng, n, c, scale):
    S = randn(rng, (n, c), F64, scale=scale)
    y = labels(rng, n, c)
    tS = leaf(S)
    out = F.cross_entropy(tS, torch.from_numpy(y))  # mean over the batch, like fastnn
    out.backward()
    loss, dS = module.softmax_cross_entropy(S, y)
    assert_close(loss, out.item(), TOL64, "loss")
    assert_close(dS, tS.grad.numpy(), TOL64, "dS")
