"""Every backward pass against central finite differences of its forward pass.

All in float64, for both backends (the reference is the answer key for the
compiled kernels, so it has to be right too). The objective is a scalar
J = sum(output * R) with a fixed random R, whose gradient with respect to the
output is R: the backward pass given dOut = R must return dJ/dInput.
Relative error <= 1e-7, relative to the largest gradient entry.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ACTIVATIONS, GRAD_TOL, assert_close, away_from_kinks, labels, randn

F64 = np.float64


def central_difference(J, x, h):
    """dJ/dx by (J(x + h e_k) - J(x - h e_k)) / 2h for every entry k of x.

    J takes the perturbed array; x itself is left unchanged.
    """
    x = x.copy()
    grad = np.empty_like(x)
    for k in np.ndindex(x.shape):
        saved = x[k]
        x[k] = saved + h
        up = J(x)
        x[k] = saved - h
        down = J(x)
        x[k] = saved
        grad[k] = (up - down) / (2 * h)
    return grad


# ------------------------------------------------------------------ linear

# J is linear in each of X, W and b, so the central difference has no truncation
# error at any step; a large step keeps the rounding error of J - J small.
LINEAR_STEP = 0.5


@pytest.mark.parametrize("n,d_in,d_out", [(1, 1, 1), (1, 4, 3), (7, 5, 4), (6, 33, 3)])
def test_linear_backward_matches_finite_differences(module, rng, n, d_in, d_out):
    X, W, b = randn(rng, (n, d_in), F64), randn(rng, (d_out, d_in), F64), randn(rng, d_out, F64)
    R = randn(rng, (n, d_out), F64)
    dX, dW, db = module.linear_backward(R, X, W)

    def objective(X, W, b):
        return float(np.sum(module.linear_forward(X, W, b) * R))

    assert_close(dX, central_difference(lambda x: objective(x, W, b), X, LINEAR_STEP), GRAD_TOL, "dX")
    assert_close(dW, central_difference(lambda w: objective(X, w, b), W, LINEAR_STEP), GRAD_TOL, "dW")
    assert_close(db, central_difference(lambda v: objective(X, W, v), b, LINEAR_STEP), GRAD_TOL, "db")


# ------------------------------------------------------------------ activations

ACTIVATION_CASES = [(name, None) for name in ACTIVATIONS] + [
    ("leaky_relu", 0.0), ("leaky_relu", 0.3), ("elu", 0.5), ("elu", 2.0)]


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (13, 17)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name,alpha", ACTIVATION_CASES)
def test_activation_backward_matches_finite_differences(module, rng, name, alpha, shape):
    # every point at least 1e-2 from the kink at 0, far beyond the step
    S = away_from_kinks(randn(rng, shape, F64, scale=2.0), margin=1e-2)
    R = randn(rng, shape, F64)
    h = 1e-6
    H = module.activation_forward(name, S, alpha)
    dS = module.activation_backward(name, R, H, alpha)

    # J = sum(f(S) * R) is a sum of one-variable terms, so perturbing S[i, j]
    # changes only the term R[i, j] f(S[i, j]): the central difference of J
    # along every coordinate at once is R * (f(S + h) - f(S - h)) / 2h.
    def f(s):
        return module.activation_forward(name, s, alpha)

    fd = R * (f(S + h) - f(S - h)) / (2 * h)
    assert_close(dS, fd, GRAD_TOL, f"{name} dS")
    # and the long way, one coordinate at a time through the whole objective
    fd_full = central_difference(lambda s: float(np.sum(f(s) * R)), S, h)
    assert_close(dS, fd_full, GRAD_TOL, f"{name} dS (full objective)")


# ------------------------------------------------------------------ batch norm

def bn_case(rng, n, d):
    S = randn(rng, (n, d), F64) * rng.uniform(0.5, 2.0, d) + rng.uniform(-3, 3, d)
    return S, randn(rng, d, F64), randn(rng, d, F64), randn(rng, (n, d), F64)


@pytest.mark.parametrize("n,d,eps", [
    (3, 1, 1e-5), (8, 5, 1e-5), (16, 3, 0.0), (5, 4, 0.3),
    # two samples: the gradient is O(eps), pure cancellation unless eps is large
    (2, 3, 1.0),
])
def test_batchnorm_backward_matches_finite_differences(module, rng, n, d, eps):
    S, gamma, beta, R = bn_case(rng, n, d)
    _, mean, var = module.batchnorm_forward(S, gamma, beta, eps)
    dS, dgamma, dbeta = module.batchnorm_backward(R, S, gamma, mean, var, eps)

    # The forward pass recomputes mean and var from the perturbed S, so this
    # checks the full three-term gradient, not just the gamma / sqrt(var) term.
    def objective(S, gamma, beta):
        return float(np.sum(module.batchnorm_forward(S, gamma, beta, eps)[0] * R))

    h = 1e-5
    assert_close(dS, central_difference(lambda s: objective(s, gamma, beta), S, h), GRAD_TOL, "dS")
    assert_close(dgamma, central_difference(lambda g: objective(S, g, beta), gamma, h), GRAD_TOL, "dgamma")
    assert_close(dbeta, central_difference(lambda b: objective(S, gamma, b), beta, h), GRAD_TOL, "dbeta")


def test_batchnorm_gradient_is_not_just_the_direct_term(module, rng):
    # Guard against the finite-difference check above being too weak to notice
    # missing terms: dropping the mean and variance terms must be far outside
    # the tolerance.
    S, gamma, beta, R = bn_case(rng, 6, 3)
    _, mean, var = module.batchnorm_forward(S, gamma, beta)
    dS = module.batchnorm_backward(R, S, gamma, mean, var)[0]
    direct_only = R * gamma / np.sqrt(var + 1e-5)
    assert np.abs(dS - direct_only).max() > 1e3 * GRAD_TOL * np.abs(dS).max()


# ------------------------------------------------------------------ softmax cross-entropy

@pytest.mark.parametrize("n,c,scale", [(1, 2, 1.0), (1, 7, 3.0), (5, 3, 1.0), (16, 10, 5.0), (4, 6, 30.0)])
def test_softmax_cross_entropy_gradient_matches_finite_differences(module, rng, n, c, scale):
    S = randn(rng, (n, c), F64, scale=scale)
    y = labels(rng, n, c)
    _, dS = module.softmax_cross_entropy(S, y)
    # the loss is the objective itself (dS is d loss / dS)
    fd = central_difference(lambda s: float(module.softmax_cross_entropy(s, y)[0]), S, 1e-5)
    assert_close(dS, fd, GRAD_TOL, "dS")
