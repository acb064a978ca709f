"""fastnn.columns: the kernels with samples as columns.

Each kernel is compared with NumPy written in the course's convention (S = W X + b,
per-row batch statistics, the three-term batch-norm gradient in its matrix form,
softmax cross-entropy against one-hot columns or labels) to 1e-12 in float64, on both
backends; the kernels with no course formula are compared with the row kernel on the
transposed arrays. Then: gradients in the course's shapes, no copies on the way to
the kernels (spies on the kernels' arguments), and errors that speak the column
convention.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from fastnn import _ops, columns, ops, reference

from conftest import ACTIVATIONS, TOL, assert_close, away_from_kinks, randn

BACKENDS = {"c": ops, "numpy": reference}
TOL64 = TOL[np.dtype(np.float64)]


@pytest.fixture(params=list(BACKENDS))
def backend(request):
    return request.param


@pytest.fixture(params=["column", "vector"])
def vector_shape(request):
    """Per-unit vectors as the course's (m, 1) columns or as (m,)."""
    return request.param


def _vec(rng, m, kind, scale=1.0, shift=0.0):
    v = shift + scale * rng.standard_normal(m)
    return v[:, None] if kind == "column" else v


def _course_batchnorm_backward(G, S, gamma, mu, v, eps):
    """The course's matrix form of the three-term gradient, one column per sample."""
    n = S.shape[1]
    ones = np.ones((n, 1))
    sigma1 = ((v + eps) ** -0.5).reshape(-1, 1)
    sigma2 = ((v + eps) ** -1.5).reshape(-1, 1)
    G = G * gamma.reshape(-1, 1)
    G1 = G * (sigma1 @ ones.T)
    G2 = G * (sigma2 @ ones.T)
    D = S - mu.reshape(-1, 1) @ ones.T
    c = (G2 * D) @ ones
    return G1 - (G1 @ ones) @ ones.T / n - D * (c @ ones.T) / n


def _softmax_columns(S):
    E = np.exp(S - S.max(axis=0))
    return E / E.sum(axis=0)


# ---------------------------------------------------------------- the API

def test_columns_has_the_kernels_of_ops_with_docstrings():
    assert set(columns.__all__) == set(ops.__all__)
    for name in columns.__all__:
        f = getattr(columns, name)
        assert callable(f)
        assert "backend" in inspect.signature(f).parameters, name
        doc = inspect.getdoc(f)
        for section in ("Parameters", "Returns", "Raises"):
            assert section in doc, f"{name} lacks {section}"


def test_unknown_backend_is_refused(rng):
    with pytest.raises(ValueError, match="backend"):
        columns.softmax(rng.standard_normal((3, 4)), backend="torch")


# ---------------------------------------------------------------- against NumPy, the course's way

def test_linear_forward_is_W_X_plus_b(rng, backend, vector_shape):
    d, n, m = 7, 9, 4
    X, W, b = rng.standard_normal((d, n)), rng.standard_normal((m, d)), _vec(rng, m, vector_shape)
    S = columns.linear_forward(X, W, b, backend=backend)
    assert S.shape == (m, n)
    assert_close(S, W @ X + b.reshape(m, 1), TOL64, "S")


def test_linear_backward_in_the_course_shapes(rng, backend):
    d, n, m = 7, 9, 4
    X, W, dS = rng.standard_normal((d, n)), rng.standard_normal((m, d)), rng.standard_normal((m, n))
    dX, dW, db = columns.linear_backward(dS, X, W, backend=backend)
    assert (dX.shape, dW.shape, db.shape) == ((d, n), (m, d), (m, 1))
    assert_close(dX, W.T @ dS, TOL64, "dX")
    assert_close(dW, dS @ X.T, TOL64, "dW")
    assert_close(db, dS @ np.ones((n, 1)), TOL64, "db")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_forward_and_the_activations(activation, rng, backend):
    d, n, m = 6, 8, 5
    X, W, b = rng.standard_normal((d, n)), rng.standard_normal((m, d)), rng.standard_normal((m, 1))
    S, H = columns.dense_forward(X, W, b, activation, backend=backend)
    assert_close(S, W @ X + b, TOL64, "S")
    assert_close(H, reference.activation_forward(activation, np.ascontiguousarray(S)), TOL64, "H")
    assert_close(columns.activation_forward(activation, S, backend=backend), H, TOL64, "activation_forward")
    dH = rng.standard_normal((m, n))
    H = columns.activation_forward(activation, away_from_kinks(S), backend=backend)
    dS = columns.activation_backward(activation, dH, H, backend=backend)
    assert_close(dS, reference.activation_backward(activation, dH, np.ascontiguousarray(H)), TOL64, "dS")


def test_relu_the_course_way(rng, backend):
    S = away_from_kinks(rng.standard_normal((5, 7)))
    H = columns.activation_forward("relu", S, backend=backend)
    assert_close(H, np.maximum(S, 0), TOL64, "H")
    G = rng.standard_normal((5, 7))
    assert_close(columns.activation_backward("relu", G, H, backend=backend), G * (H > 0), TOL64, "dS")


def test_batchnorm_forward_per_row_statistics(rng, backend, vector_shape):
    m, n, eps = 5, 11, 1e-5
    S = rng.standard_normal((m, n)) * 3 + 1
    gamma, beta = _vec(rng, m, vector_shape, 0.2, 1.0), _vec(rng, m, vector_shape)
    Y, mean, var = columns.batchnorm_forward(S, gamma, beta, eps, backend=backend)
    mu = S.mean(axis=1, keepdims=True)
    v = ((S - mu) ** 2).mean(axis=1, keepdims=True)
    assert mean.shape == var.shape == gamma.shape
    assert_close(mean.reshape(m, 1), mu, TOL64, "mean")
    assert_close(var.reshape(m, 1), v, TOL64, "var")
    S_hat = (S - mu) / np.sqrt(v + eps)
    assert_close(Y, gamma.reshape(m, 1) * S_hat + beta.reshape(m, 1), TOL64, "Y")


def test_batchnorm_backward_is_the_course_three_term_gradient(rng, backend, vector_shape):
    m, n, eps = 5, 11, 1e-5
    S = rng.standard_normal((m, n)) * 2 - 1
    gamma, beta = _vec(rng, m, vector_shape, 0.2, 1.0), _vec(rng, m, vector_shape)
    _, mean, var = columns.batchnorm_forward(S, gamma, beta, eps, backend=backend)
    dY = rng.standard_normal((m, n))
    dS, dgamma, dbeta = columns.batchnorm_backward(dY, S, gamma, mean, var, eps, backend=backend)
    assert dS.shape == (m, n) and dgamma.shape == dbeta.shape == gamma.shape
    assert_close(dS, _course_batchnorm_backward(dY, S, gamma, mean, var, eps), TOL64, "dS")
    S_hat = (S - mean.reshape(m, 1)) / np.sqrt(var.reshape(m, 1) + eps)
    assert_close(dgamma.reshape(m, 1), (dY * S_hat) @ np.ones((n, 1)), TOL64, "dgamma")
    assert_close(dbeta.reshape(m, 1), dY @ np.ones((n, 1)), TOL64, "dbeta")


@pytest.mark.parametrize("targets", ["one_hot", "labels"])
def test_softmax_cross_entropy_with_one_hot_columns_or_labels(targets, rng, backend):
    K, n = 4, 9
    S = rng.standard_normal((K, n)) * 3
    y = rng.integers(0, K, size=n)
    Y = np.eye(K)[:, y]  # one-hot columns
    loss, dS = columns.softmax_cross_entropy(S, Y if targets == "one_hot" else y, backend=backend)
    P = _softmax_columns(S)
    assert dS.shape == (K, n)
    assert_close(loss, -np.sum(Y * np.log(P)) / n, TOL64, "loss")
    assert_close(dS, (P - Y) / n, TOL64, "dS")
    assert_close(columns.softmax(S, backend=backend), P, TOL64, "P")


def test_an_integer_one_hot_matrix_is_accepted(rng):
    S, y = rng.standard_normal((3, 5)), np.array([0, 2, 1, 1, 0])
    got = columns.softmax_cross_entropy(S, np.eye(3, dtype=np.int64)[:, y])
    want = columns.softmax_cross_entropy(S, np.eye(3)[:, y])
    assert got[0] == want[0] and np.array_equal(got[1], want[1])


def test_l2_term_and_updates_take_the_course_parameters(rng, backend):
    W, b = rng.standard_normal((4, 6)), rng.standard_normal((4, 1))
    assert_close(columns.l2_penalty(W, 0.1, backend=backend), 0.1 * np.sum(W * W), TOL64, "penalty")
    dW = rng.standard_normal((4, 6))
    assert_close(columns.l2_gradient(dW, W, 0.1, backend=backend), dW + 0.2 * W, TOL64, "gradient")
    db = rng.standard_normal((4, 1))
    expected = b - 0.5 * db
    columns.sgd_update(b, db, None, 0.5, backend=backend)
    assert_close(b, expected, TOL64, "b after a step")


# ---------------------------------------------------------------- the other kernels: the row kernel, transposed

def _transposed_agreement(name, col_args, row_args, kw=None):
    """columns.name(col_args) equals ops.name(row_args) transposed, bit for bit."""
    got = getattr(columns, name)(*col_args, **(kw or {}))
    want = getattr(ops, name)(*row_args, **(kw or {}))
    got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert np.array_equal(np.asarray(g), w.T if w.ndim == 2 else w, equal_nan=True), name


def test_the_other_kernels_are_the_row_kernels_transposed(rng):
    m, n = 6, 8
    H = rng.standard_normal((m, n))
    _transposed_agreement("dropout_forward", (H, 0.4, 7, 3), (H.T, 0.4, 7, 3))
    _transposed_agreement("dropout_backward", (H, 0.4, 7, 3), (H.T, 0.4, 7, 3))
    S = rng.standard_normal((m, n))
    _transposed_agreement("maxout_forward", (S, 3), (S.T, 3))
    dH, winner = rng.standard_normal((2, n)), rng.integers(0, 3, size=(2, n))
    _transposed_agreement("maxout_backward", (dH, winner, 3), (dH.T, winner.T, 3))
    O, Y = rng.standard_normal((m, n)), rng.standard_normal((m, n))
    _transposed_agreement("mse", (O, Y), (O.T, Y.T))
    T = rng.random((m, n))
    _transposed_agreement("sigmoid_binary_cross_entropy", (O, T), (O.T, T.T))
    _transposed_agreement("sigmoid_binary_cross_entropy", (O[:1], T[0]), (O[:1].T, T[0]))
    gamma, beta, rm, rv = (rng.standard_normal((m, 1)), rng.standard_normal((m, 1)),
                           rng.standard_normal((m, 1)), rng.random((m, 1)) + 0.5)
    _transposed_agreement("batchnorm_inference_forward", (S, gamma, beta, rm, rv),
                          (S.T, gamma[:, 0], beta[:, 0], rm[:, 0], rv[:, 0]))
    dS, dgamma, dbeta = columns.batchnorm_inference_backward(H, S, gamma, rm, rv)
    want = ops.batchnorm_inference_backward(H.T, S.T, gamma[:, 0], rm[:, 0], rv[:, 0])
    assert np.array_equal(dS, want[0].T) and dgamma.shape == dbeta.shape == (m, 1)
    assert np.array_equal(dgamma[:, 0], want[1]) and np.array_equal(dbeta[:, 0], want[2])


def test_running_update_writes_through_course_columns(rng, backend):
    m = 5
    running_mean, running_var = np.zeros((m, 1)), np.ones((m, 1))
    mean, var = rng.standard_normal((m, 1)), rng.random((m, 1))
    columns.batchnorm_running_update(running_mean, running_var, mean, var, 10, 0.1, False, backend=backend)
    assert_close(running_mean, 0.1 * mean, TOL64, "running_mean")
    assert_close(running_var, 0.9 + 0.1 * var, TOL64, "running_var")


# ---------------------------------------------------------------- no copies

class _Spy:
    """Records the arrays a kernel receives and returns, then calls it."""

    def __init__(self, monkeypatch, module, name):
        self.original = getattr(module, name)
        self.args, self.result = None, None
        monkeypatch.setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        self.args = args
        self.result = self.original(*args, **kwargs)
        return self.result


def _first_array(result):
    return result[0] if isinstance(result, tuple) else result


def test_the_dense_layer_reaches_C_without_copies(rng, monkeypatch):
    d, n, m = 30, 20, 10
    X = rng.standard_normal((d, n))  # the course's C-ordered (d, n)
    W, b = rng.standard_normal((m, d)), rng.standard_normal((m, 1))
    spy = _Spy(monkeypatch, _ops, "linear_forward")
    S = columns.linear_forward(X, W, b)
    Xc, Wc, bc = spy.args
    assert np.shares_memory(Xc, X) and np.shares_memory(Wc, W) and np.shares_memory(bc, b)
    assert np.shares_memory(S, spy.result) and S.T.flags.c_contiguous

    spy = _Spy(monkeypatch, _ops, "linear_backward")
    columns.linear_backward(S, X, W)
    assert np.shares_memory(spy.args[0], S) and np.shares_memory(spy.args[1], X)


@pytest.mark.parametrize("backend_name", list(BACKENDS))
def test_a_chain_of_column_kernels_copies_nothing(backend_name, rng, monkeypatch):
    """linear -> batch norm -> activation -> linear -> loss, and back: every kernel
    (compiled or NumPy) receives views of the previous one's results."""
    kernels = BACKENDS[backend_name]
    d, n, m, K = 12, 16, 8, 4
    X = rng.standard_normal((d, n))
    W1, b1, W2, b2 = (rng.standard_normal((m, d)), rng.standard_normal((m, 1)),
                      rng.standard_normal((K, m)), rng.standard_normal((K, 1)))
    gamma, beta = np.ones((m, 1)), np.zeros((m, 1))
    y = rng.integers(0, K, size=n)
    spies = {name: _Spy(monkeypatch, kernels, name) for name in (
        "linear_forward", "batchnorm_forward", "activation_forward", "softmax_cross_entropy",
        "linear_backward", "activation_backward", "batchnorm_backward")}
    run = dict(backend=backend_name)
    S1 = columns.linear_forward(X, W1, b1, **run)
    Y1, mean, var = columns.batchnorm_forward(S1, gamma, beta, **run)
    H1 = columns.activation_forward("relu", Y1, **run)
    S2 = columns.linear_forward(H1, W2, b2, **run)
    _, G = columns.softmax_cross_entropy(S2, y, **run)
    dH1 = columns.linear_backward(G, H1, W2, **run)[0]
    dY1 = columns.activation_backward("relu", dH1, H1, **run)
    columns.batchnorm_backward(dY1, S1, gamma, mean, var, **run)

    def passed(name, k, source):
        assert np.shares_memory(spies[name].args[k], source), f"{name} argument {k} is a copy"

    passed("batchnorm_forward", 0, S1)
    passed("activation_forward", 1, Y1)
    passed("linear_forward", 0, H1)  # the last call: the second layer
    passed("softmax_cross_entropy", 0, S2)
    passed("linear_backward", 0, G)
    passed("activation_backward", 1, dH1)
    passed("batchnorm_backward", 0, dY1)
    passed("batchnorm_backward", 1, S1)
    for name, source in (("linear_forward", S2), ("softmax_cross_entropy", G), ("batchnorm_forward", Y1)):
        result = spies[name].result
        assert np.shares_memory(source, result[1] if name == "softmax_cross_entropy" else _first_array(result))


def test_elementwise_kernels_take_either_orientation_without_a_copy(rng, monkeypatch):
    S = rng.standard_normal((7, 9))
    for given in (S, np.asfortranarray(S)):
        spy = _Spy(monkeypatch, _ops, "activation_forward")
        H = columns.activation_forward("tanh", given)
        assert np.shares_memory(spy.args[1], given)
        assert_close(H, np.tanh(S), TOL64, "H")


# ---------------------------------------------------------------- errors in the column convention

def test_samples_as_rows_are_named(rng):
    d, n, m = 5, 8, 3
    X, W, b = rng.standard_normal((d, n)), rng.standard_normal((m, d)), rng.standard_normal((m, 1))
    with pytest.raises(ValueError, match=r"X must have shape \(5, n\).*are the samples of X rows\?"):
        columns.linear_forward(X.T, W, b)
    with pytest.raises(ValueError, match=r"is W transposed\?"):
        columns.linear_forward(X, W.T, b)
    with pytest.raises(ValueError, match=r"row vector of shape \(1, 3\); pass b.T"):
        columns.linear_forward(X, W, b.T)
    with pytest.raises(ValueError, match=r"x\[:, None\]"):
        columns.linear_forward(X[:, 0], W, b)
    with pytest.raises(ValueError, match=r"dS must have shape \(3, 8\).*samples of dS rows"):
        columns.linear_backward(rng.standard_normal((n, m)), X, W)


def test_batch_norm_and_loss_errors_name_the_orientation(rng):
    m, n = 4, 6
    S = rng.standard_normal((m, n))
    with pytest.raises(ValueError, match=r"gamma must have shape \(6, 1\).*got shape \(4, 1\), the number of S's columns.*samples of S rows"):
        columns.batchnorm_forward(S.T, np.ones((m, 1)), np.zeros((m, 1)))
    with pytest.raises(ValueError, match=r"at least 2 samples \(columns\)"):
        columns.batchnorm_forward(S[:, :1], np.ones((m, 1)), np.zeros((m, 1)))
    Y = np.eye(m)[:, rng.integers(0, m, size=n)]
    with pytest.raises(ValueError, match=r"Y must have shape \(4, 6\).*samples of Y rows"):
        columns.softmax_cross_entropy(S, Y.T)
    with pytest.raises(ValueError, match=r"labels in \[0, 4\) for S's 4 rows \(classes\)"):
        columns.softmax_cross_entropy(S, np.full(n, 4))
    with pytest.raises(ValueError, match=r"one per column \(sample\).*samples of S rows"):
        columns.softmax_cross_entropy(S.T, rng.integers(0, m, size=n))


def test_a_square_one_hot_matrix_in_rows_is_caught(rng):
    K = n = 4
    S = rng.standard_normal((K, n))
    y = np.array([0, 0, 1, 3])  # two samples of class 0: the rows of the transposed matrix do not sum to 1
    Y = np.eye(K)[:, y]
    columns.softmax_cross_entropy(S, Y)  # the course's layout is fine
    with pytest.raises(ValueError, match=r"rows, not its columns, sum to 1"):
        columns.softmax_cross_entropy(S, Y.T)


def test_wrong_dtypes_still_fail_as_in_ops(rng):
    with pytest.raises(TypeError, match="float32 or float64"):
        columns.softmax(np.ones((3, 4), dtype=np.int32))
    with pytest.raises(TypeError, match="dtype"):
        columns.linear_forward(rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((2, 3)),
                               np.zeros((2, 1)))


def test_float32_agrees_at_float32_tolerance(rng):
    d, n, m = 6, 9, 4
    X, W, b = (randn(rng, s, np.float32) for s in ((d, n), (m, d), (m, 1)))
    S = columns.linear_forward(X, W, b)
    assert S.dtype == np.float32
    assert_close(S, W.astype(np.float64) @ X.astype(np.float64) + b, TOL[np.dtype(np.float32)], "S")
