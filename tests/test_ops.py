"""fastnn.ops (compiled) against fastnn.reference (NumPy).

Every kernel is compared for float32 and float64, for each input layout, with
1 and 2 threads, and the GEMM-backed kernels for every SIMD level this CPU
supports. Then: bit-identical results across thread counts at sizes where
threads are really used, random shapes from hypothesis, edge cases (empty
batches, NaN, huge logits) and small hand-computed examples.
"""

from __future__ import annotations

import inspect
import math
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
from fastnn import _ops, ops, reference

from conftest import (
    ACTIVATIONS,
    DTYPES,
    KERNEL_NAMES,
    LAYOUTS,
    SIMD_LEVELS,
    TOL,
    as_tuple,
    assert_close,
    check_against_reference,
    labels,
    randn,
    with_layout,
)

HYPOTHESIS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def assert_same_as_c_layout(name, got, args, **kwargs):
    """A view must give exactly what the C-ordered copy gives: the kernels read
    the same values in the same order whatever the strides (GEMM packs them)."""
    plain = as_tuple(getattr(ops, name)(*args, **kwargs))
    for k, (g, p) in enumerate(zip(got, plain)):
        assert np.array_equal(g, p, equal_nan=True), f"{name} output {k} depends on the layout"


# ------------------------------------------------------------------ the API

def test_ops_and_reference_expose_the_same_kernels():
    assert set(ops.__all__) == set(reference.__all__)
    for name in KERNEL_NAMES:
        assert callable(getattr(ops, name)) and callable(getattr(reference, name))


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_ops_and_reference_signatures_match(name):
    assert inspect.signature(getattr(ops, name)) == inspect.signature(getattr(reference, name))


# ------------------------------------------------------------------ linear

LINEAR_SHAPES = [  # (N, D_in, D_out)
    (1, 1, 1),
    (1, 7, 3),
    (7, 33, 257),
    (33, 257, 7),
    (257, 7, 33),
    (100, 3072, 50),
]


@pytest.mark.parametrize("shape", LINEAR_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_linear_forward_matches_reference(rng, dtype, layout, num_threads, simd_level, shape):
    n, d_in, d_out = shape
    X, W, b = randn(rng, (n, d_in), dtype), randn(rng, (d_out, d_in), dtype), randn(rng, d_out, dtype)
    views = (with_layout(X, layout), with_layout(W, layout), b)
    got = check_against_reference("linear_forward", (X, W, b), dtype, views)
    assert got[0].shape == (n, d_out)
    assert_same_as_c_layout("linear_forward", got, (X, W, b))


@pytest.mark.parametrize("shape", LINEAR_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_linear_backward_matches_reference(rng, dtype, layout, num_threads, simd_level, shape):
    n, d_in, d_out = shape
    dS, X, W = randn(rng, (n, d_out), dtype), randn(rng, (n, d_in), dtype), randn(rng, (d_out, d_in), dtype)
    views = tuple(with_layout(a, layout) for a in (dS, X, W))
    got = check_against_reference("linear_backward", (dS, X, W), dtype, views)
    assert [g.shape for g in got] == [(n, d_in), (d_out, d_in), (d_out,)]
    assert_same_as_c_layout("linear_backward", got, (dS, X, W))


def test_linear_accepts_a_strided_bias(rng, dtype):
    X, W = randn(rng, (9, 5), dtype), randn(rng, (4, 5), dtype)
    big_b = randn(rng, 8, dtype)
    got = ops.linear_forward(X, W, big_b[::2])
    assert np.array_equal(got, ops.linear_forward(X, W, big_b[::2].copy()))
    assert_close(got, reference.linear_forward(X, W, big_b[::2].copy()), TOL[dtype])


# ------------------------------------------------------------------ fused dense layer

DENSE_SHAPES = [(1, 1, 1), (7, 33, 50), (33, 257, 7)]  # (N, D_in, D_out)


def _dense_scale(X, W, b):
    """The size of the terms S is summed from; H's error is at most S's (|f'| <= 1)."""
    X64, W64 = np.abs(X.astype(np.float64)), np.abs(W.astype(np.float64))
    total = X64 @ W64.T + (0 if b is None else np.abs(b.astype(np.float64)))
    return float(np.max(total, initial=0.0))


def _check_dense(X, W, b, name, layout_args):
    dtype = X.dtype
    S, H = ops.dense_forward(*layout_args, name)
    for want_dtype, ref_args in ((dtype, (X, W, b)), (np.float64, tuple(upcast_or_none(a) for a in (X, W, b)))):
        S_ref, H_ref = reference.dense_forward(*ref_args, name)
        assert S.dtype == dtype and H.dtype == dtype and S.shape == H.shape == S_ref.shape
        assert_close(S, S_ref, TOL[dtype], f"S vs {np.dtype(want_dtype)} reference", _dense_scale(X, W, b))
        assert_close(H, H_ref, TOL[dtype], f"H vs {np.dtype(want_dtype)} reference", _dense_scale(X, W, b))
    return S, H


def upcast_or_none(a):
    return None if a is None else a.astype(np.float64)


@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_dense_forward_matches_reference(rng, dtype, layout, num_threads, name, shape):
    n, d_in, d_out = shape
    X, W, b = randn(rng, (n, d_in), dtype), randn(rng, (d_out, d_in), dtype), randn(rng, d_out, dtype)
    got = _check_dense(X, W, b, name, (with_layout(X, layout), with_layout(W, layout), b))
    assert_same_as_c_layout("dense_forward", got, (X, W, b, name))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_dense_forward_without_bias_matches_reference(rng, dtype, name):
    X, W = randn(rng, (9, 40), dtype), randn(rng, (20, 40), dtype)
    S, _ = _check_dense(X, W, None, name, (with_layout(X, "F"), W, None))
    assert np.array_equal(S, ops.dense_forward(X, W, np.zeros(20, dtype), "identity")[0])


@pytest.mark.parametrize("name", ["leaky_relu", "elu"])
def test_dense_forward_passes_alpha_to_the_activation(module, rng, dtype, name):
    X, W, b = randn(rng, (6, 5), dtype), randn(rng, (4, 5), dtype), randn(rng, 4, dtype)
    S, H = module.dense_forward(X, W, b, name, alpha=0.3)
    assert np.array_equal(H, module.activation_forward(name, S, alpha=0.3))
    assert not np.array_equal(H, module.activation_forward(name, S))


@pytest.mark.parametrize(
    "change, error, words",
    [
        (lambda a: a.update(b=a["b"][:-1]), ValueError, "b must have shape (4,)"),
        (lambda a: a.update(W=a["W"][:, :-1]), ValueError, "W must have shape (D_out, 5)"),
        (lambda a: a.update(W=a["W"].astype(np.float32)), TypeError, "W has dtype float32"),
        (lambda a: a.update(activation="swish"), ValueError, "activation must be one of"),
        (lambda a: a.update(activation=None), TypeError, "activation must be a string"),
        (lambda a: a.update(alpha=0.5), ValueError, "alpha is only used by"),
        (lambda a: a.update(X=a["X"][0]), ValueError, "X must be 2-dimensional"),
    ],
    ids=["b_shape", "W_features", "dtype_mix", "unknown_activation", "activation_type", "alpha", "X_ndim"],
)
def test_dense_forward_refuses_bad_input_in_both_backends(module, rng, change, error, words):
    args = {"X": randn(rng, (3, 5), np.float64), "W": randn(rng, (4, 5), np.float64),
            "b": randn(rng, 4, np.float64), "activation": "tanh", "alpha": None}
    change(args)
    with pytest.raises(error, match=re.escape(words)):
        module.dense_forward(**args)


# ------------------------------------------------------------------ SIMD levels and the raw GEMM

GEMM_SHAPES = [  # (m, k, n), chosen around every architecture's MR, NR, KC, MC and NC
    (1, 1, 1),
    (5, 7, 9),
    (9, 17, 25),
    (13, 3, 49),
    (33, 257, 49),
    (130, 300, 100),
    (7, 5, 3100),
]
GEMM_LAYOUTS = LAYOUTS + ("reversed",)


@pytest.mark.parametrize("shape", GEMM_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_gemm_hook_matches_numpy_for_any_strides(rng, dtype, simd_level, shape):
    m, k, n = shape
    A, B = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    exact = A.astype(np.float64) @ B.astype(np.float64)
    plain = _ops.gemm(A, B)
    assert plain.dtype == dtype and plain.shape == (m, n)
    for layout_a in GEMM_LAYOUTS:
        for layout_b in GEMM_LAYOUTS:
            got = _ops.gemm(with_layout(A, layout_a), with_layout(B, layout_b))
            what = f"gemm A {layout_a}, B {layout_b}"
            assert_close(got, A @ B, TOL[dtype], what)
            assert_close(got, exact, TOL[dtype], what + " vs float64")
            # packing reads the same values whatever the strides: the sums are the same
            assert np.array_equal(got, plain), what + " differs from the C-ordered result"


def test_gemm_hook_reads_broadcast_operands(dtype, simd_level):
    # zero strides (np.broadcast_to) are element strides too
    A = np.broadcast_to(np.arange(1, 8, dtype=dtype), (11, 7))
    B = np.broadcast_to(np.linspace(-1, 1, 13, dtype=dtype)[None, :], (7, 13))
    assert_close(_ops.gemm(A, B), np.asarray(A) @ np.asarray(B), TOL[dtype])


def test_gemm_hook_with_empty_inner_dimension_gives_zeros(dtype, simd_level):
    # the output buffer starts uninitialised, so k = 0 must write the zeros
    got = _ops.gemm(np.empty((6, 0), dtype), np.empty((0, 5), dtype))
    assert got.shape == (6, 5) and np.array_equal(got, np.zeros((6, 5)))


@st.composite
def strided_matrix(draw, shape, dtype):
    """A view with the given shape and random element strides (step, sign, transposition)."""
    m, k = shape
    transpose = draw(st.booleans())
    step_r, step_c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    flip_r, flip_c = draw(st.booleans()), draw(st.booleans())
    rows, cols = (k, m) if transpose else (m, k)
    seed = draw(st.integers(0, 2**32 - 1))
    big = randn(np.random.default_rng(seed), (rows * step_r, cols * step_c), dtype)
    view = big[:: step_r, :: step_c]
    if flip_r:
        view = view[::-1]
    if flip_c:
        view = view[:, ::-1]
    return view.T if transpose else view


@HYPOTHESIS
@given(data=st.data())
def test_gemm_hook_random_shapes_and_strides(data):
    m, k, n = (data.draw(st.integers(1, 70), label=lbl) for lbl in "mkn")
    dtype = np.dtype(data.draw(st.sampled_from(DTYPES)))
    level = data.draw(st.sampled_from(SIMD_LEVELS), label="simd")
    A = data.draw(strided_matrix((m, k), dtype), label="A")
    B = data.draw(strided_matrix((k, n), dtype), label="B")
    original = _ops.simd_level()
    try:
        _ops.set_simd_level(level)
        got = _ops.gemm(A, B)
    finally:
        _ops.set_simd_level(original)
    assert_close(got, A.astype(np.float64) @ B.astype(np.float64), TOL[dtype])
    assert_close(got, A @ B, TOL[dtype])


# ------------------------------------------------------------------ activations

ACT_SHAPES = [(1, 1), (1, 7), (7, 33), (257, 33)]


@pytest.mark.parametrize("shape", ACT_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_forward_matches_reference(rng, dtype, layout, num_threads, name, shape):
    S = randn(rng, shape, dtype, scale=3.0)
    got = check_against_reference("activation_forward", (name, S), dtype, (name, with_layout(S, layout)))
    assert_same_as_c_layout("activation_forward", got, (name, S))


@pytest.mark.parametrize("shape", ACT_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backward_matches_reference(rng, dtype, layout, num_threads, name, shape):
    H = reference.activation_forward(name, randn(rng, shape, dtype, scale=3.0))
    dH = randn(rng, shape, dtype)
    views = (name, with_layout(dH, layout), with_layout(H, layout))
    got = check_against_reference("activation_backward", (name, dH, H), dtype, views)
    assert_same_as_c_layout("activation_backward", got, (name, dH, H))


@pytest.mark.parametrize("name,alpha", [("leaky_relu", 0.0), ("leaky_relu", 0.2), ("leaky_relu", 3.0),
                                        ("elu", 0.5), ("elu", 2.0)])
def test_activation_with_explicit_alpha_matches_reference(rng, dtype, name, alpha):
    S = randn(rng, (17, 23), dtype, scale=3.0)
    (H,) = check_against_reference("activation_forward", (name, S), dtype, alpha=alpha)
    dH = randn(rng, S.shape, dtype)
    check_against_reference("activation_backward", (name, dH, H), dtype, alpha=alpha)


@pytest.mark.parametrize("name,default", [("leaky_relu", 0.01), ("elu", 1.0)])
def test_default_alpha_is_the_documented_value(module, rng, name, default):
    S = randn(rng, (8, 9), np.float64, scale=3.0)
    H = module.activation_forward(name, S)
    assert np.array_equal(H, module.activation_forward(name, S, alpha=default))
    # and it is really used: another alpha changes the negative side
    assert not np.array_equal(H, module.activation_forward(name, S, alpha=default * 2))
    dH = randn(rng, S.shape, np.float64)
    assert np.array_equal(module.activation_backward(name, dH, H),
                          module.activation_backward(name, dH, H, alpha=default))


# ------------------------------------------------------------------ batch norm

BN_SHAPES = [(2, 1), (3, 1), (7, 33), (33, 64), (65, 65), (257, 7), (16, 129)]


def bn_inputs(rng, shape, dtype):
    n, d = shape
    # an offset and a spread per column, so centring and scaling both matter
    S = (randn(rng, shape, dtype) * rng.uniform(0.5, 3, d) + rng.uniform(-5, 5, d)).astype(dtype)
    return S, randn(rng, d, dtype), randn(rng, d, dtype)


@pytest.mark.parametrize("shape", BN_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_batchnorm_forward_matches_reference(rng, dtype, layout, num_threads, shape):
    S, gamma, beta = bn_inputs(rng, shape, dtype)
    got = check_against_reference("batchnorm_forward", (S, gamma, beta), dtype,
                                  (with_layout(S, layout), gamma, beta))
    assert [g.shape for g in got] == [shape, (shape[1],), (shape[1],)]
    assert_same_as_c_layout("batchnorm_forward", got, (S, gamma, beta))


@pytest.mark.parametrize("shape", BN_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_batchnorm_backward_matches_reference(rng, dtype, layout, num_threads, shape):
    S, gamma, beta = bn_inputs(rng, shape, dtype)
    # With two samples s_hat is +-sqrt(var / (var + eps)), nearly independent of S:
    # the exact dS is O(eps) while its three terms are O(1), so with eps = 1e-5 the
    # result is all cancellation and no rounding bound relative to it exists. A
    # large eps makes the two-sample gradient well-conditioned.
    eps = 1.0 if shape[0] == 2 else 1e-5
    _, mean, var = reference.batchnorm_forward(S, gamma, beta, eps)
    dY = randn(rng, shape, dtype)
    args = (dY, S, gamma, mean, var)
    views = (with_layout(dY, layout), with_layout(S, layout), gamma, mean, var)
    got = check_against_reference("batchnorm_backward", args, dtype, views, eps=eps)
    assert [g.shape for g in got] == [shape, (shape[1],), (shape[1],)]
    assert_same_as_c_layout("batchnorm_backward", got, args, eps=eps)


@pytest.mark.parametrize("eps", [0.0, 1e-5, 0.5])
def test_batchnorm_eps_is_used(rng, dtype, eps):
    S, gamma, beta = bn_inputs(rng, (12, 10), dtype)
    _, mean, var = check_against_reference("batchnorm_forward", (S, gamma, beta), dtype, eps=eps)
    dY = randn(rng, S.shape, dtype)
    check_against_reference("batchnorm_backward", (dY, S, gamma, mean, var), dtype, eps=eps)
    Y_default = ops.batchnorm_forward(S, gamma, beta)[0]
    assert np.array_equal(Y_default, ops.batchnorm_forward(S, gamma, beta, 1e-5)[0])
    if eps != 1e-5:
        assert not np.array_equal(Y_default, ops.batchnorm_forward(S, gamma, beta, eps)[0])


def test_batchnorm_accepts_strided_parameter_vectors(rng, dtype):
    S, gamma, beta = bn_inputs(rng, (9, 6), dtype)
    g2, b2 = np.repeat(gamma, 2)[::2], np.repeat(beta, 2)[::2]
    Y, mean, var = ops.batchnorm_forward(S, g2, b2)
    assert np.array_equal(Y, ops.batchnorm_forward(S, gamma, beta)[0])
    dY = randn(rng, S.shape, dtype)
    got = ops.batchnorm_backward(dY, S, g2, np.repeat(mean, 2)[::2], np.repeat(var, 2)[::2])
    for g, w in zip(got, ops.batchnorm_backward(dY, S, gamma, mean, var)):
        assert np.array_equal(g, w)


# ------------------------------------------------------------------ softmax cross-entropy

SOFTMAX_SHAPES = [(1, 1), (1, 7), (7, 33), (257, 10), (33, 1000)]


@pytest.mark.parametrize("shape", SOFTMAX_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_softmax_cross_entropy_matches_reference(rng, dtype, layout, num_threads, shape):
    S = randn(rng, shape, dtype, scale=3.0)
    y = labels(rng, *shape)
    got = check_against_reference("softmax_cross_entropy", (S, y), dtype, (with_layout(S, layout), y))
    loss, dS = got
    assert np.ndim(loss) == 0 and loss.dtype == dtype
    assert dS.shape == shape
    assert_same_as_c_layout("softmax_cross_entropy", got, (S, y))


@pytest.mark.parametrize("label_dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint64])
def test_softmax_cross_entropy_accepts_integer_labels_of_any_width(module, rng, label_dtype):
    S = randn(rng, (6, 4), np.float64)
    y = np.array([0, 3, 1, 2, 3, 0])
    loss, dS = module.softmax_cross_entropy(S, y.astype(label_dtype))
    loss_ref, dS_ref = reference.softmax_cross_entropy(S, y)
    assert_close(loss, loss_ref, TOL[np.dtype(np.float64)])
    assert_close(dS, dS_ref, TOL[np.dtype(np.float64)])
    # a list and a strided label array are labels too
    assert np.array_equal(module.softmax_cross_entropy(S, list(y))[1], dS)
    assert np.array_equal(module.softmax_cross_entropy(S, np.repeat(y, 2)[::2])[1], dS)


# ------------------------------------------------------------------ threads: bit-identical results

def _run_with_threads(thread_count, counts, fn):
    results = []
    for n in counts:
        thread_count.set(n)
        results.append(as_tuple(fn()))
    return results


def assert_bit_identical_across_threads(thread_count, fn, counts=(1, 2, 3)):
    """fn() with 1 thread, then with more; every output must be equal bit for bit.

    3 threads on this 2-core machine is deliberate: an uneven split of the
    work is where a thread-dependent reduction order would show.
    """
    baseline, *others = _run_with_threads(thread_count, counts, fn)
    for n, result in zip(counts[1:], others):
        for k, (a, b) in enumerate(zip(baseline, result)):
            assert np.array_equal(a, b), f"output {k} differs between 1 and {n} threads"


@pytest.fixture(scope="module")
def big_linear_inputs():
    rng = np.random.default_rng(1234)
    return {
        np.dtype(t): (randn(rng, (1000, 3072), t), randn(rng, (50, 3072), t) * 0.05,
                      randn(rng, 50, t), randn(rng, (1000, 50), t))
        for t in DTYPES
    }


def test_linear_is_bit_identical_across_thread_counts(big_linear_inputs, dtype, simd_level, thread_count):
    X, W, b, dS = big_linear_inputs[dtype]
    assert_bit_identical_across_threads(thread_count, lambda: ops.linear_forward(X, W, b))
    assert_bit_identical_across_threads(thread_count, lambda: ops.linear_backward(dS, X, W))


def test_linear_on_views_is_bit_identical_across_thread_counts(big_linear_inputs, dtype, thread_count):
    X, W, b, dS = big_linear_inputs[dtype]
    Xf, Wt, dSf = np.asfortranarray(X), with_layout(W, "transposed"), np.asfortranarray(dS)
    assert_bit_identical_across_threads(thread_count, lambda: ops.linear_forward(Xf, Wt, b), (1, 2))
    assert_bit_identical_across_threads(thread_count, lambda: ops.linear_backward(dSf, Xf, Wt), (1, 2))


@pytest.mark.parametrize("shape", [(517, 301, 263), (67, 300, 3100)], ids=lambda s: "x".join(map(str, s)))
def test_gemm_hook_is_bit_identical_across_thread_counts(rng, dtype, simd_level, thread_count, shape):
    # odd sizes, so the last tiles of each block are partial; the first shape
    # crosses the MC and KC blocking, the second the NC panel width
    m, k, n = shape
    A, B = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    assert_bit_identical_across_threads(thread_count, lambda: _ops.gemm(A, B))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_are_bit_identical_across_thread_counts(rng, dtype, name, simd_level,
                                                            thread_count):
    S = randn(rng, (512, 512), dtype, scale=3.0)
    dH = randn(rng, S.shape, dtype)
    H = ops.activation_forward(name, S)
    assert_bit_identical_across_threads(thread_count, lambda: ops.activation_forward(name, S))
    assert_bit_identical_across_threads(thread_count, lambda: ops.activation_backward(name, dH, H))


@pytest.mark.parametrize("shape", [(512, 512), (300, 257)], ids=lambda s: "x".join(map(str, s)))
def test_batchnorm_is_bit_identical_across_thread_counts(rng, dtype, shape, simd_level,
                                                         thread_count):
    S, gamma, beta = bn_inputs(rng, shape, dtype)
    dY = randn(rng, shape, dtype)
    _, mean, var = ops.batchnorm_forward(S, gamma, beta)
    assert_bit_identical_across_threads(thread_count, lambda: ops.batchnorm_forward(S, gamma, beta))
    assert_bit_identical_across_threads(
        thread_count, lambda: ops.batchnorm_backward(dY, S, gamma, mean, var))


def test_softmax_cross_entropy_is_bit_identical_across_thread_counts(rng, dtype, simd_level,
                                                                   thread_count):
    S = randn(rng, (300, 1000), dtype, scale=5.0)
    y = labels(rng, 300, 1000)
    assert_bit_identical_across_threads(thread_count, lambda: ops.softmax_cross_entropy(S, y))


# Widths around the vector lengths of every level (4..16 lanes) and a long row,
# so vector bodies, remainders and the two-pass column blocks are all exercised.
ELEMENTWISE_SHAPES = [(3, 1), (5, 15), (9, 17), (33, 70), (6, 1003)]


@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_elementwise_kernels_match_reference_at_every_simd_level(rng, dtype, simd_level, shape):
    S = randn(rng, shape, dtype, scale=3.0)
    dH = randn(rng, shape, dtype)
    for name in ACTIVATIONS:
        (H,) = check_against_reference("activation_forward", (name, S), dtype)
        check_against_reference("activation_backward", (name, dH, H), dtype)
    if shape[0] >= 2:
        B, gamma, beta = bn_inputs(rng, shape, dtype)
        _, mean, var = reference.batchnorm_forward(B, gamma, beta)
        check_against_reference("batchnorm_forward", (B, gamma, beta), dtype)
        check_against_reference("batchnorm_backward", (dH, B, gamma, mean, var), dtype)
    check_against_reference("softmax_cross_entropy", (S, labels(rng, *shape)), dtype)


def test_large_kernels_still_match_reference_with_two_threads(big_linear_inputs, dtype, thread_count):
    # the bit-identity tests compare ops with itself; this ties the threaded path to the answer key
    thread_count.set(2)
    X, W, b, dS = big_linear_inputs[dtype]
    check_against_reference("linear_forward", (X, W, b), dtype)
    check_against_reference("linear_backward", (dS, X, W), dtype)
    rng = np.random.default_rng(99)
    S, gamma, beta = bn_inputs(rng, (512, 512), dtype)
    _, mean, var = check_against_reference("batchnorm_forward", (S, gamma, beta), dtype)
    check_against_reference("batchnorm_backward", (randn(rng, S.shape, dtype), S, gamma, mean, var), dtype)
    logits = randn(rng, (300, 1000), dtype, scale=5.0)
    check_against_reference("softmax_cross_entropy", (logits, labels(rng, 300, 1000)), dtype)


# ------------------------------------------------------------------ random shapes (hypothesis)

layouts = st.sampled_from(LAYOUTS)
dtypes = st.sampled_from([np.dtype(t) for t in DTYPES])
seeds = st.integers(0, 2**32 - 1)


@HYPOTHESIS
@given(n=st.integers(0, 40), d_in=st.integers(0, 80), d_out=st.integers(0, 80), dtype=dtypes,
       lx=layouts, lw=layouts, lds=layouts, level=st.sampled_from(SIMD_LEVELS),
       threads=st.sampled_from([1, 2]), seed=seeds)
def test_linear_random_shapes(n, d_in, d_out, dtype, lx, lw, lds, level, threads, seed):
    rng = np.random.default_rng(seed)
    X, W, b = randn(rng, (n, d_in), dtype), randn(rng, (d_out, d_in), dtype), randn(rng, d_out, dtype)
    dS = randn(rng, (n, d_out), dtype)
    old_level, old_threads = _ops.simd_level(), fastnn.get_num_threads()
    try:
        _ops.set_simd_level(level)
        fastnn.set_num_threads(threads)
        check_against_reference("linear_forward", (X, W, b), dtype,
                                (with_layout(X, lx), with_layout(W, lw), b))
        check_against_reference("linear_backward", (dS, X, W), dtype,
                                (with_layout(dS, lds), with_layout(X, lx), with_layout(W, lw)))
    finally:
        _ops.set_simd_level(old_level)
        fastnn.set_num_threads(old_threads)


@HYPOTHESIS
@given(name=st.sampled_from(ACTIVATIONS), n=st.integers(0, 40), d=st.integers(0, 70),
       dtype=dtypes, layout=layouts, seed=seeds)
def test_activation_random_shapes(name, n, d, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    S = randn(rng, (n, d), dtype, scale=4.0)
    (H,) = check_against_reference("activation_forward", (name, S), dtype, (name, with_layout(S, layout)))
    dH = randn(rng, (n, d), dtype)
    check_against_reference("activation_backward", (name, dH, H), dtype,
                            (name, with_layout(dH, layout), with_layout(H, layout)))


@HYPOTHESIS
# n >= 4: see test_batchnorm_backward_matches_reference for why two samples need care
@given(n=st.integers(4, 60), d=st.integers(1, 150), dtype=dtypes, layout=layouts, seed=seeds)
def test_batchnorm_random_shapes(n, d, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    S, gamma, beta = bn_inputs(rng, (n, d), dtype)
    _, mean, var = check_against_reference("batchnorm_forward", (S, gamma, beta), dtype,
                                           (with_layout(S, layout), gamma, beta))
    dY = randn(rng, (n, d), dtype)
    check_against_reference("batchnorm_backward", (dY, S, gamma, mean, var), dtype,
                            (with_layout(dY, layout), with_layout(S, layout), gamma, mean, var))


@HYPOTHESIS
@given(n=st.integers(1, 60), c=st.integers(1, 60), dtype=dtypes, layout=layouts,
       scale=st.sampled_from([0.1, 3.0, 50.0]), seed=seeds)
def test_softmax_cross_entropy_random_shapes(n, c, dtype, layout, scale, seed):
    rng = np.random.default_rng(seed)
    S = randn(rng, (n, c), dtype, scale=scale)
    y = labels(rng, n, c)
    check_against_reference("softmax_cross_entropy", (S, y), dtype, (with_layout(S, layout), y))


# ------------------------------------------------------------------ empty and degenerate shapes

def _dirty_allocator(shape, dtype):
    # Free a buffer full of 7s of the size the kernel is about to allocate:
    # NumPy's small-buffer cache hands it back, so an output the kernel forgets
    # to write shows up as 7s instead of lucky zeros.
    junk = np.full(shape, 7, dtype=dtype)
    del junk


def test_linear_with_empty_batch(module, dtype):
    X, W, b = np.empty((0, 5), dtype), np.ones((3, 5), dtype), np.ones(3, dtype)
    S = module.linear_forward(X, W, b)
    assert S.shape == (0, 3) and S.dtype == dtype
    _dirty_allocator((3, 5), dtype)
    dX, dW, db = module.linear_backward(np.empty((0, 3), dtype), X, W)
    assert dX.shape == (0, 5) and dX.dtype == dtype
    assert dW.shape == (3, 5) and dW.dtype == dtype and np.array_equal(dW, np.zeros((3, 5)))
    assert db.shape == (3,) and db.dtype == dtype and np.array_equal(db, np.zeros(3))


def test_linear_with_no_input_features_gives_the_bias(module, dtype):
    X, W, b = np.empty((4, 0), dtype), np.empty((3, 0), dtype), np.array([1, -2, 3], dtype)
    _dirty_allocator((4, 3), dtype)
    S = module.linear_forward(X, W, b)
    assert S.dtype == dtype and np.array_equal(S, np.tile(b, (4, 1)))
    dS = np.arange(12, dtype=dtype).reshape(4, 3)
    dX, dW, db = module.linear_backward(dS, X, W)
    assert dX.shape == (4, 0) and dW.shape == (3, 0)
    assert np.array_equal(db, dS.sum(axis=0))


def test_linear_with_no_outputs(module, dtype):
    X = np.ones((4, 2), dtype)
    S = module.linear_forward(X, np.empty((0, 2), dtype), np.empty(0, dtype))
    assert S.shape == (4, 0) and S.dtype == dtype
    _dirty_allocator((4, 2), dtype)
    dX, dW, db = module.linear_backward(np.empty((4, 0), dtype), X, np.empty((0, 2), dtype))
    assert np.array_equal(dX, np.zeros((4, 2))) and dW.shape == (0, 2) and db.shape == (0,)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_with_empty_input(module, dtype, name, shape):
    S = np.empty(shape, dtype)
    H = module.activation_forward(name, S)
    assert H.shape == shape and H.dtype == dtype
    dS = module.activation_backward(name, S, H)
    assert dS.shape == shape and dS.dtype == dtype


# ------------------------------------------------------------------ NaN propagates, nothing crashes

def test_nan_in_linear_forward_poisons_only_its_row_and_column(module, dtype, rng):
    X, W, b = randn(rng, (6, 5), dtype), randn(rng, (4, 5), dtype), randn(rng, 4, dtype)
    X[2, 3] = np.nan
    S = module.linear_forward(X, W, b)
    assert np.isnan(S[2]).all()
    assert np.isfinite(np.delete(S, 2, axis=0)).all()
    X[2, 3] = 0
    W[1, 0] = np.nan
    S = module.linear_forward(X, W, b)
    assert np.isnan(S[:, 1]).all() and np.isfinite(np.delete(S, 1, axis=1)).all()
    W[1, 0] = 0
    b[3] = np.nan
    S = module.linear_forward(X, W, b)
    assert np.isnan(S[:, 3]).all() and np.isfinite(S[:, :3]).all()


def test_nan_in_linear_backward_propagates(module, dtype, rng):
    dS, X, W = randn(rng, (6, 4), dtype), randn(rng, (6, 5), dtype), randn(rng, (4, 5), dtype)
    dS[2, 1] = np.nan
    dX, dW, db = module.linear_backward(dS, X, W)
    assert np.isnan(dX[2]).all() and np.isfinite(np.delete(dX, 2, axis=0)).all()
    assert np.isnan(dW[1]).all() and np.isfinite(np.delete(dW, 1, axis=0)).all()
    assert np.isnan(db[1]) and np.isfinite(np.delete(db, 1)).all()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_nan_in_activation_forward_stays_in_its_element(module, dtype, name):
    S = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    S[1, 2] = np.nan
    H = module.activation_forward(name, S)
    assert np.array_equal(np.isnan(H), np.isnan(S))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_nan_in_upstream_gradient_propagates_through_activation_backward(module, dtype, name):
    # NaN in dH at a unit where the activation is saturated or switched off
    # (H <= 0) as well as where it is on: a NaN gradient must never turn into 0.
    S = np.array([[-2.0, -0.5, 0.5, 2.0]], dtype=dtype)
    H = reference.activation_forward(name, S)
    dH = np.full(S.shape, np.nan, dtype=dtype)
    dS = module.activation_backward(name, dH, H)
    assert np.isnan(dS).all(), f"{name}: NaN in dH gave {dS}"


@pytest.mark.parametrize("name", [a for a in ACTIVATIONS if a != "identity"])
def test_nan_in_activation_output_propagates_through_activation_backward(module, dtype, name):
    # f'(s) is computed from H; a NaN H (the forward pass produced NaN) leaves
    # the derivative undefined, so the gradient there must be NaN, not a slope.
    # identity is excluded: its derivative does not read H.
    H = np.array([[np.nan, 0.5]], dtype=dtype)
    dS = module.activation_backward(name, np.ones_like(H), H)
    assert np.isnan(dS[0, 0]), f"{name}: NaN in H gave {dS[0, 0]}"
    assert np.isfinite(dS[0, 1])


def test_nan_in_batchnorm_stays_in_its_column(module, dtype, rng):
    S, gamma, beta = bn_inputs(rng, (8, 5), dtype)
    S[3, 2] = np.nan
    Y, mean, var = module.batchnorm_forward(S, gamma, beta)
    assert np.isnan(Y[:, 2]).all() and np.isnan(mean[2]) and np.isnan(var[2])
    assert np.isfinite(np.delete(Y, 2, axis=1)).all()
    assert np.isfinite(np.delete(mean, 2)).all() and np.isfinite(np.delete(var, 2)).all()
    dY = randn(rng, S.shape, dtype)
    dY[0, 4] = np.nan
    dS, dgamma, dbeta = module.batchnorm_backward(dY, S, gamma, mean, var)
    for col in (2, 4):
        assert np.isnan(dS[:, col]).all() and np.isnan(dgamma[col])
    assert np.isnan(dbeta[4]) and np.isfinite(dbeta[[0, 1, 2, 3]]).all()
    assert np.isfinite(dS[:, [0, 1, 3]]).all() and np.isfinite(dgamma[[0, 1, 3]]).all()


@pytest.mark.parametrize("col", [0, 2, 3])  # first, middle, last: the row maximum starts at column 0
def test_nan_in_softmax_poisons_only_its_row(module, dtype, rng, col):
    S = randn(rng, (5, 4), dtype)
    S[1, col] = np.nan
    loss, dS = module.softmax_cross_entropy(S, [0, 1, 2, 3, 0])
    assert np.isnan(loss)
    assert np.isnan(dS[1]).all()
    assert np.isfinite(np.delete(dS, 1, axis=0)).all()


# ------------------------------------------------------------------ extreme values

@pytest.mark.parametrize("big", [1e30, -1e30])
def test_softmax_cross_entropy_is_finite_for_huge_logits(module, dtype, big):
    S = np.array([[big, 0.0, 0.0], [0.0, big, -1.0], [big, big, 0.0]], dtype=dtype)
    y = [0, 0, 1]
    loss, dS = module.softmax_cross_entropy(S, y)
    assert np.isfinite(loss) and np.isfinite(dS).all()
    if big > 0:
        # row 0: certain and right (0); row 1: certain and wrong (1e30); row 2: a tie (log 2)
        assert_close(loss, (0.0 + 1e30 + math.log(2)) / 3, TOL[dtype])
        expected = np.array([[0, 0, 0], [-1, 1, 0], [0.5, -0.5, 0]]) / 3
        assert_close(dS, expected, TOL[dtype])


# The reference's sigmoid overflows exp(-S) to inf on purpose (1 / (1 + inf) = 0);
# NumPy warns about it, which is not what this test is about.
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_stay_finite_far_from_zero(module, dtype, name):
    S = np.array([[-1e4, -100.0, 100.0, 1e4]], dtype=dtype)
    H = module.activation_forward(name, S)
    assert np.isfinite(H).all()
    dS = module.activation_backward(name, np.ones_like(H), H)
    assert np.isfinite(dS).all()
    if name == "sigmoid":
        assert H[0, 0] == 0 and 0 <= H[0, 1] < 1e-30 and np.all(H[0, 2:] == 1)
    if name == "tanh":
        assert np.array_equal(H, np.array([[-1, -1, 1, 1]], dtype=dtype))
    if name == "elu":
        assert np.array_equal(H[0, :2], np.array([-1, -1], dtype=dtype))


def test_batchnorm_of_a_constant_column_gives_beta(module, dtype):
    S = np.array([[4.0, 1.0], [4.0, 2.0], [4.0, 6.0]], dtype=dtype)
    gamma, beta = np.array([2.0, 1.0], dtype), np.array([0.25, 0.0], dtype)
    Y, mean, var = module.batchnorm_forward(S, gamma, beta)
    assert np.array_equal(Y[:, 0], np.full(3, 0.25, dtype)) and var[0] == 0 and mean[0] == 4


# ------------------------------------------------------------------ small worked examples

def test_linear_forward_worked_example(module, dtype):
    X = np.array([[1, 2], [0, -1]], dtype)
    W = np.array([[3, 4], [5, 6], [0, 1]], dtype)
    b = np.array([1, -1, 0.5], dtype)
    expected = np.array([[12, 16, 2.5], [-3, -7, -0.5]])
    assert np.array_equal(module.linear_forward(X, W, b), expected)


def test_linear_backward_worked_example(module, dtype):
    dS = np.array([[1, 0], [2, -1]], dtype)
    X = np.array([[1, 2, 3], [4, 5, 6]], dtype)
    W = np.array([[1, 0, -1], [2, 1, 0]], dtype)
    dX, dW, db = module.linear_backward(dS, X, W)
    assert np.array_equal(dX, [[1, 0, -1], [0, -1, -2]])
    assert np.array_equal(dW, [[9, 12, 15], [-4, -5, -6]])
    assert np.array_equal(db, [3, -1])


def test_activation_worked_examples(module, dtype):
    S = np.array([[0.0, -2.0, 3.0]], dtype)

    def f(name, **kw):
        return module.activation_forward(name, S, **kw)[0]

    assert np.array_equal(f("identity"), S[0])
    assert f("sigmoid")[0] == 0.5
    assert_close(f("sigmoid"), 1 / (1 + np.exp(-S[0].astype(np.float64))), TOL[dtype])
    assert f("tanh")[0] == 0.0
    assert np.array_equal(f("relu"), [0, 0, 3])
    assert_close(f("leaky_relu"), [0, -0.02, 3], TOL[dtype])
    assert_close(f("leaky_relu", alpha=0.5), [0, -1, 3], TOL[dtype])
    assert_close(f("elu"), [0, math.expm1(-2), 3], TOL[dtype])
    assert_close(f("elu", alpha=2.0), [0, 2 * math.expm1(-2), 3], TOL[dtype])


def test_activation_backward_worked_examples(module, dtype):
    dH = np.array([[2.0, 2.0]], dtype)

    def g(name, H, **kw):
        return module.activation_backward(name, dH, np.array([H], dtype), **kw)[0]

    assert np.array_equal(g("sigmoid", [0.5, 0.25]), [0.5, 0.375])  # 2 * h (1 - h)
    assert np.array_equal(g("tanh", [0.0, 0.5]), [2.0, 1.5])         # 2 * (1 - h^2)
    assert np.array_equal(g("relu", [0.0, 3.0]), [0.0, 2.0])
    assert_close(g("leaky_relu", [-0.1, 3.0], alpha=0.1), [0.2, 2.0], TOL[dtype])
    assert_close(g("elu", [-0.5, 3.0]), [1.0, 2.0], TOL[dtype])       # 2 * (h + 1) below zero


def test_batchnorm_forward_worked_example(module, dtype):
    # column 0: mean 3, biased var 8/3, so s_hat = (-2, 0, 2) / sqrt(8/3) = (-1, 0, 1) * sqrt(3/2)
    # column 1: values (-1, -1, 2), mean 0, biased var 2, so s_hat = (-1, -1, 2) / sqrt(2)
    S = np.array([[1, -1], [3, -1], [5, 2]], dtype)
    gamma, beta = np.array([2, 1], dtype), np.array([1, 0], dtype)
    Y, mean, var = module.batchnorm_forward(S, gamma, beta, eps=0.0)
    assert_close(mean, [3, 0], TOL[dtype])
    assert_close(var, [8 / 3, 2], TOL[dtype])
    r = math.sqrt(1.5)
    expected = np.array([[1 - 2 * r, -1 / math.sqrt(2)], [1, -1 / math.sqrt(2)], [1 + 2 * r, 2 / math.sqrt(2)]])
    assert_close(Y, expected, TOL[dtype])


def test_batchnorm_backward_of_a_constant_upstream_gradient_is_zero(module, dtype, rng):
    # sum_i y_i = n * beta does not depend on S, so dY = const per column gives dS = 0
    S, gamma, beta = bn_inputs(rng, (9, 4), dtype)
    _, mean, var = module.batchnorm_forward(S, gamma, beta)
    dY = np.tile(np.array([1.0, -2.0, 0.5, 3.0], dtype), (9, 1))
    dS, dgamma, dbeta = module.batchnorm_backward(dY, S, gamma, mean, var)
    eps = np.finfo(dtype).eps
    S_hat = (S - mean).astype(np.float64) / np.sqrt(var.astype(np.float64) + 1e-5)
    first_term = np.abs(gamma / np.sqrt(var + 1e-5) * dY).max()  # the size of what cancels
    assert np.abs(dS).max() <= 50 * eps * first_term
    assert_close(dbeta, [9.0, -18.0, 4.5, 27.0], TOL[dtype])
    # dgamma = c_j * sum_i s_hat_ij, and the s_hat of a column sum to 0
    assert np.all(np.abs(dgamma) <= 50 * eps * np.abs(dY * S_hat).sum(axis=0))


@pytest.mark.parametrize("c", [1, 2, 10, 1000])
def test_softmax_cross_entropy_of_uniform_logits_is_log_c(module, dtype, c):
    S = np.full((4, c), 0.75, dtype)
    y = [0, c - 1, c // 2, 0]
    loss, dS = module.softmax_cross_entropy(S, y)
    assert_close(loss, math.log(c), TOL[dtype])
    expected = np.full((4, c), 1 / c) / 4
    expected[np.arange(4), y] -= 1 / 4
    assert_close(dS, expected, TOL[dtype])


def test_softmax_cross_entropy_gradient_rows_sum_to_zero(module, dtype, rng):
    S = randn(rng, (20, 7), dtype, scale=4.0)
    _, dS = module.softmax_cross_entropy(S, labels(rng, 20, 7))
    # each row is (p - onehot) / N: p sums to 1, the one-hot to 1
    assert np.abs(dS.astype(np.float64).sum(axis=1)).max() <= 10 * np.finfo(dtype).eps


# ------------------------------------------------------------------ inputs untouched, outputs fresh

def _all_kernel_calls(rng, dtype):
    S, gamma, beta = bn_inputs(rng, (6, 5), dtype)
    X, W, b = randn(rng, (6, 4), dtype), randn(rng, (5, 4), dtype), randn(rng, 5, dtype)
    _, mean, var = reference.batchnorm_forward(S, gamma, beta)
    H = reference.activation_forward("tanh", S)
    return [
        ("linear_forward", (X, W, b)),
        ("linear_backward", (S, X, W)),
        ("activation_forward", ("identity", S)),
        ("activation_forward", ("elu", S)),
        ("activation_backward", ("identity", S, H)),
        ("activation_backward", ("tanh", S, H)),
        ("batchnorm_forward", (S, gamma, beta)),
        ("batchnorm_backward", (S, S, gamma, mean, var)),
        ("softmax_cross_entropy", (S, np.array([0, 1, 2, 3, 4, 0]))),
    ]


def test_kernels_leave_inputs_unchanged_and_return_new_arrays(module, dtype, rng):
    for name, args in _all_kernel_calls(rng, dtype):
        before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        outputs = as_tuple(getattr(module, name)(*args))
        for a, b in zip(args, before):
            if isinstance(a, np.ndarray):
                assert np.array_equal(a, b), f"{name} modified an input"
        for out in outputs:
            for a in args:
                if isinstance(a, np.ndarray) and isinstance(out, np.ndarray):
                    assert not np.shares_memory(out, a), f"{name} returned a view of an input"


def test_ops_outputs_are_c_ordered(dtype, rng):
    # fastnn.ops promises new C-ordered arrays, even for Fortran-ordered inputs
    for name, args in _all_kernel_calls(rng, dtype):
        args = tuple(np.asfortranarray(a) if isinstance(a, np.ndarray) and a.ndim == 2 else a
                     for a in args)
        for out in as_tuple(getattr(ops, name)(*args)):
            if isinstance(out, np.ndarray) and out.ndim:
                assert out.flags.c_contiguous and out.dtype == dtype, name


def test_array_likes_are_accepted(module):
    S = module.linear_forward([[1.0, 2.0]], [[3.0, 4.0]], [0.5])
    assert S.dtype == np.float64 and np.array_equal(S, [[11.5]])


def test_read_only_inputs_are_accepted(module, dtype, rng):
    # e.g. arrays from np.load(..., mmap_mode="r"): the kernels only read them
    for name, args in _all_kernel_calls(rng, dtype):
        expected = as_tuple(getattr(module, name)(*args))
        frozen = []
        for a in args:
            if isinstance(a, np.ndarray):
                a = a.copy()
                a.flags.writeable = False
            frozen.append(a)
        for g, w in zip(as_tuple(getattr(module, name)(*frozen)), expected):
            assert np.array_equal(g, w), name


# ------------------------------------------------------------------ calls from several Python threads

def test_concurrent_calls_from_python_threads_give_the_serial_results(rng, dtype, thread_count):
    # The kernels drop the GIL and keep per-calling-thread GEMM workspaces;
    # calls running at the same time must not see each other's buffers.
    thread_count.set(2)
    jobs = []
    for k in range(8):
        n, d_in, d_out = 150 + 13 * k, 300 + 7 * k, 40 + 5 * k
        X, W, b = randn(rng, (n, d_in), dtype), randn(rng, (d_out, d_in), dtype), randn(rng, d_out, dtype)
        jobs.append((X, W, b, randn(rng, (n, d_out), dtype)))

    def work(job):
        X, W, b, dS = job
        return (ops.linear_forward(X, W, b),) + ops.linear_backward(dS, X, W)

    serial = [work(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            for got, want in zip(pool.map(work, jobs), serial):
                for g, w in zip(got, want):
                    assert np.array_equal(g, w)
