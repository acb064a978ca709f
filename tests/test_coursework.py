"""fastnn.coursework: the course's k-layer helpers, samples as columns.

The forward pass, cost and accuracy are compared with NumPy written the course's
way (1e-12 in float64); the analytic gradients with centred differences, with and
without batch norm, on both backends, for biases as (m, 1) and (m,) and targets as
one-hot columns or labels. Then the selection of parameters and entries, test-time
batch norm and bad arguments.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import coursework as cw

from conftest import GRAD_TOL, TOL, assert_close

TOL64 = TOL[np.dtype(np.float64)]


def _network(rng, sizes, batch_norm, bias_shape="column"):
    k = len(sizes) - 1
    Ws = [rng.standard_normal((sizes[l + 1], sizes[l])) / np.sqrt(sizes[l]) for l in range(k)]
    bs = [0.1 * rng.standard_normal((sizes[l + 1], 1)) for l in range(k)]
    if bias_shape == "vector":
        bs = [b[:, 0].copy() for b in bs]
    if not batch_norm:
        return Ws, bs, None, None
    gammas = [1 + 0.2 * rng.standard_normal((m, 1)) for m in sizes[1:-1]]
    betas = [0.1 * rng.standard_normal((m, 1)) for m in sizes[1:-1]]
    return Ws, bs, gammas, betas


def _course_forward(X, Ws, bs, gammas, betas, means=None, variances=None, eps=1e-5):
    """The course's forward pass in NumPy: (P, last scores)."""
    H = X
    for l, (W, b) in enumerate(zip(Ws, bs)):
        S = W @ H + b.reshape(-1, 1)
        if l == len(Ws) - 1:
            break
        if gammas is not None:
            mu = S.mean(axis=1, keepdims=True) if means is None else means[l]
            v = ((S - mu) ** 2).mean(axis=1, keepdims=True) if variances is None else variances[l]
            S = gammas[l] * (S - mu) / np.sqrt(v + eps) + betas[l]
        H = np.maximum(S, 0)
    E = np.exp(S - S.max(axis=0))
    return E / E.sum(axis=0), S


@pytest.fixture(params=["c", "numpy"])
def backend(request):
    return request.param


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
def test_forward_cost_and_accuracy_are_the_course_formulas(batch_norm, rng, backend):
    sizes, n = [10, 8, 6, 4], 15
    Ws, bs, gammas, betas = _network(rng, sizes, batch_norm)
    X, y = rng.standard_normal((sizes[0], n)), rng.integers(0, sizes[-1], size=n)
    Y = np.eye(sizes[-1])[:, y]
    P_course, _ = _course_forward(X, Ws, bs, gammas, betas)
    P = cw.evaluate_classifier(X, Ws, bs, gammas, betas, backend=backend)
    assert P.shape == (sizes[-1], n)
    assert_close(P, P_course, TOL64, "P")
    lam = 0.05
    loss = -np.mean(np.log(np.sum(Y * P_course, axis=0)))
    cost_want = loss + lam * sum(np.sum(W * W) for W in Ws)
    for targets in (Y, y):
        cost, got_loss = cw.compute_cost(X, targets, Ws, bs, lam, gammas, betas, backend=backend)
        assert_close(got_loss, loss, TOL64, "loss")
        assert_close(cost, cost_want, TOL64, "cost")
        accuracy = cw.compute_accuracy(X, targets, Ws, bs, gammas, betas, backend=backend)
        assert accuracy == np.mean(P_course.argmax(axis=0) == y)


def test_test_time_batch_norm_uses_the_running_averages(rng, backend):
    sizes, n = [6, 5, 3], 7
    Ws, bs, gammas, betas = _network(rng, sizes, True)
    means, variances = [rng.standard_normal((5, 1))], [rng.random((5, 1)) + 0.5]
    X = rng.standard_normal((6, n))
    P = cw.evaluate_classifier(X, Ws, bs, gammas, betas, means, variances, backend=backend)
    assert_close(P, _course_forward(X, Ws, bs, gammas, betas, means, variances)[0], TOL64, "P")
    # one sample at test time: the first column of the batch's result
    one = cw.evaluate_classifier(X[:, :1], Ws, bs, gammas, betas, means, variances, backend=backend)
    assert_close(one, P[:, :1], TOL64, "one sample")


def test_the_cache_holds_the_batch_statistics(rng):
    sizes, n = [6, 5, 4, 3], 9
    Ws, bs, gammas, betas = _network(rng, sizes, True)
    X = rng.standard_normal((6, n))
    P, cache = cw.evaluate_classifier(X, Ws, bs, gammas, betas, return_cache=True)
    assert len(cache["inputs"]) == len(cache["scores"]) == 3
    assert len(cache["means"]) == len(cache["variances"]) == len(cache["normalised"]) == 2
    S1 = Ws[0] @ X + bs[0]
    assert_close(cache["scores"][0], S1, TOL64, "s_1")
    assert_close(cache["means"][0], S1.mean(axis=1, keepdims=True), TOL64, "mu_1")
    assert_close(cache["variances"][0], S1.var(axis=1, keepdims=True), TOL64, "v_1")


@pytest.mark.parametrize("bias_shape", ["column", "vector"])
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
def test_analytic_gradients_match_centred_differences(batch_norm, bias_shape, rng, backend):
    sizes, n, lam = [8, 6, 5, 4], 10, 0.1
    Ws, bs, gammas, betas = _network(rng, sizes, batch_norm, bias_shape)
    X, y = rng.standard_normal((sizes[0], n)), rng.integers(0, sizes[-1], size=n)
    analytic = cw.compute_gradients(X, np.eye(sizes[-1])[:, y], Ws, bs, lam, gammas, betas, backend=backend)
    numerical = cw.compute_gradients_numerical(X, y, Ws, bs, lam, gammas, betas, backend=backend)
    kinds = ["W", "b"] + (["gamma", "beta"] if batch_norm else [])
    assert sorted(analytic) == sorted(numerical) == sorted(kinds)
    params = {"W": Ws, "b": bs, "gamma": gammas, "beta": betas}
    for kind in kinds:
        for l, (a, num) in enumerate(zip(analytic[kind], numerical[kind])):
            assert a.shape == num.shape == np.shape(params[kind][l]), f"{kind}[{l}]"
            # the biases before batch norm have a gradient of exactly 0: measured against the layer's W
            scale = np.abs(analytic["W"][l]).max() if (batch_norm and kind == "b" and l < len(Ws) - 1) else 0.0
            assert_close(a, num, GRAD_TOL, f"{kind}[{l}]", scale=scale)
    errors = cw.relative_errors(analytic, numerical)
    assert set(errors) == {f"{kind}[{l}]" for kind in kinds for l in range(len(params[kind]))}


def test_a_wrong_gradient_is_caught_by_relative_errors(rng):
    sizes, n = [5, 4, 3], 6
    Ws, bs, gammas, betas = _network(rng, sizes, True)
    X, y = rng.standard_normal((5, n)), rng.integers(0, 3, size=n)
    analytic = cw.compute_gradients(X, y, Ws, bs, 0.0, gammas, betas)
    numerical = cw.compute_gradients_numerical(X, y, Ws, bs, 0.0, gammas, betas, params=["gamma", "W[1]"])
    errors = cw.relative_errors(analytic, numerical)
    assert set(errors) == {"gamma[0]", "W[1]"} and max(errors.values()) < 1e-6
    analytic["gamma"][0] = analytic["gamma"][0] * 1.01
    assert cw.relative_errors(analytic, numerical)["gamma[0]"] > 1e-3


def test_params_and_max_entries_choose_what_is_computed(rng):
    sizes, n = [7, 5, 3], 6
    Ws, bs, gammas, betas = _network(rng, sizes, True)
    X, y = rng.standard_normal((7, n)), rng.integers(0, 3, size=n)
    before = [W.copy() for W in Ws]
    numerical = cw.compute_gradients_numerical(X, y, Ws, bs, 0.01, gammas, betas, params=["W[0]", "beta"],
                                               max_entries=4)
    computed = {kind: [np.flatnonzero(~np.isnan(g)).tolist() for g in grads] for kind, grads in numerical.items()}
    assert computed == {"W": [[0, 1, 2, 3], []], "b": [[], []], "gamma": [[]], "beta": [[0, 1, 2, 3]]}
    assert all(np.array_equal(a, b) for a, b in zip(Ws, before))  # the caller's arrays are untouched


def test_bad_arguments(rng):
    sizes = [4, 3, 2]
    Ws, bs, gammas, betas = _network(rng, sizes, True)
    X, y = rng.standard_normal((4, 5)), rng.integers(0, 2, size=5)
    with pytest.raises(ValueError, match="bs must hold one bias per layer"):
        cw.evaluate_classifier(X, Ws, bs[:1])
    with pytest.raises(ValueError, match="gammas and betas go together"):
        cw.evaluate_classifier(X, Ws, bs, gammas)
    with pytest.raises(ValueError, match="one array per hidden layer, 1 for 2 layers"):
        cw.evaluate_classifier(X, Ws, bs, gammas * 2, betas * 2)
    with pytest.raises(ValueError, match="running averages: pass gammas and betas"):
        cw.evaluate_classifier(X, Ws, bs, means=[np.zeros(3)], variances=[np.ones(3)])
    with pytest.raises(TypeError, match="Ws must be a list"):
        cw.evaluate_classifier(X, Ws[0], bs)
    with pytest.raises(ValueError, match="are the samples of X rows"):
        cw.evaluate_classifier(X.T, Ws, bs, gammas, betas)
    with pytest.raises(ValueError, match=r"'gamma\[1\]' is out of range"):
        cw.compute_gradients_numerical(X, y, Ws, bs, 0.0, gammas, betas, params=["gamma[1]"])
    with pytest.raises(ValueError, match=r"'V' is not a parameter"):
        cw.compute_gradients_numerical(X, y, Ws, bs, 0.0, gammas, betas, params=["V"])
    with pytest.raises(ValueError, match="lam must be"):
        cw.compute_cost(X, y, Ws, bs, -1.0)
    with pytest.raises(ValueError, match="max_entries"):
        cw.compute_gradients_numerical(X, y, Ws, bs, 0.0, max_entries=0)
