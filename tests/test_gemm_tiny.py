"""The GEMM's tiny-product path (csrc/gemm_tiny.h): products of at most FNN_TINY_MACS
multiply-adds and at most FNN_TINY_MAX_K deep, on the calling thread with no packing.

Each element is the micro-kernels' chain (0, then a[i, p] b[p, j] added in order of p,
then the bias or the old C), so the tiny path must equal the blocked path bit for bit:
the rows of a tiny product are compared with the same rows of a product too large for the
tiny path (more than eight rows, so the blocked path, not the small-batch one, computes
it). Shapes lie on both sides of both limits, in both dtypes, at every SIMD level.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import _ops, ops

from conftest import TOL, assert_close, randn, with_layout

TINY_MACS = 4096  # csrc/gemm.h FNN_TINY_MACS
TINY_MAX_K = 128  # csrc/gemm.h FNN_TINY_MAX_K

SHAPES = [  # (m, k, n)
    (32, 2, 16),     # a [2, 16, 2] network's first layer on a batch of 32
    (32, 16, 2),     # ... its output layer
    (2, 32, 16),     # ... its dW of the output layer: two rows (a short block of rows)
    (16, 32, 2),     # ... its first layer's dW
    (1, 1, 1),
    (9, 5, 17),      # a full block of 8 rows and one more; a column past one vector
    (16, 16, 16),    # exactly FNN_TINY_MACS
    (16, 16, 17),    # one column past it: the blocked path
    (1, 128, 32),    # exactly FNN_TINY_MACS at the deepest tiny k
    (1, 129, 31),    # k past FNN_TINY_MAX_K with fewer multiply-adds: the small-batch path
    (31, 129, 1),    # ... and the blocked path
    (3, 7, 100),     # several vectors of columns
    (100, 40, 1),    # one column, many rows
]
LAYOUTS = ("C", "transposed", "reversed")


def _ids(shape):
    return "x".join(map(str, shape))


def _macs(shape):
    m, k, n = shape
    return m * n * k


def test_the_shapes_lie_on_both_sides_of_the_limits():
    tiny = [s for s in SHAPES if _macs(s) <= TINY_MACS and s[1] <= TINY_MAX_K]
    assert any(_macs(s) == TINY_MACS for s in tiny) and any(s[1] == TINY_MAX_K for s in tiny)
    assert any(TINY_MACS < _macs(s) <= TINY_MACS + 512 and s[1] <= TINY_MAX_K for s in SHAPES)
    assert any(s[1] == TINY_MAX_K + 1 and _macs(s) <= TINY_MACS for s in SHAPES)


@pytest.mark.parametrize("shape", SHAPES, ids=_ids)
def test_tiny_products_match_float64_in_every_layout(rng, dtype, simd_level, shape):
    m, k, n = shape
    A, B = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    exact = A.astype(np.float64) @ B.astype(np.float64)
    scale = float(np.max(np.abs(A.astype(np.float64)) @ np.abs(B.astype(np.float64))))
    plain = _ops.gemm(A, B)
    assert_close(plain, exact, TOL[dtype], "gemm vs float64", scale)
    for la in LAYOUTS:
        for lb in LAYOUTS:
            got = _ops.gemm(with_layout(A, la), with_layout(B, lb))
            assert np.array_equal(got, plain), f"A {la}, B {lb} differs from the C-ordered result"


@pytest.mark.parametrize("shape", [s for s in SHAPES if _macs(s) <= TINY_MACS and s[1] <= TINY_MAX_K],
                         ids=_ids)
def test_tiny_products_equal_the_blocked_path_bit_for_bit(rng, dtype, simd_level, shape):
    m, k, n = shape
    A, B, b = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype), randn(rng, n, dtype)
    # enough rows more that the product leaves the tiny path (and the small-batch one)
    extra = max(9, TINY_MACS // (n * k) + 1)
    big = np.vstack([A, randn(rng, (extra, k), dtype)])
    assert big.shape[0] * n * k > TINY_MACS and big.shape[0] > 8
    assert np.array_equal(_ops.gemm(A, B), _ops.gemm(big, B)[:m])
    W = np.ascontiguousarray(B.T)
    assert np.array_equal(ops.linear_forward(A, W, b), ops.linear_forward(big, W, b)[:m])


@pytest.mark.parametrize("shape", [(32, 2, 16), (32, 16, 2), (9, 5, 17)], ids=_ids)
def test_tiny_dense_forward_is_exactly_linear_then_activation(rng, dtype, simd_level, shape):
    n, d_in, d_out = shape
    X, W, b = randn(rng, (n, d_in), dtype), randn(rng, (d_out, d_in), dtype), randn(rng, d_out, dtype)
    for name in ("relu", "tanh", "sigmoid"):
        S, H = ops.dense_forward(X, W, b, name)
        assert np.array_equal(S, ops.linear_forward(X, W, b))
        assert np.array_equal(H, ops.activation_forward(name, S))


@pytest.mark.parametrize("shape", [(32, 16, 2), (2, 32, 16), (16, 32, 2)], ids=_ids)
def test_tiny_linear_backward_matches_the_reference(rng, dtype, simd_level, shape):
    from fastnn import reference

    n, d_in, d_out = shape
    dS, X, W = randn(rng, (n, d_out), dtype), randn(rng, (n, d_in), dtype), randn(rng, (d_out, d_in), dtype)
    got = ops.linear_backward(dS, X, W)
    want = reference.linear_backward(dS.astype(np.float64), X.astype(np.float64), W.astype(np.float64))
    for g, w, name in zip(got, want, ("dX", "dW", "db")):
        assert_close(g, w, TOL[dtype], name, float(np.max(np.abs(w))) + 1.0)


@pytest.mark.parametrize("shape", [(32, 2, 16), (32, 16, 2), (2, 32, 16)], ids=_ids)
def test_tiny_products_are_bit_identical_across_thread_counts(rng, dtype, thread_count, shape):
    m, k, n = shape
    A, B = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    results = []
    for count in (1, 2, 3):
        thread_count.set(count)
        results.append(_ops.gemm(A, B))
    assert all(np.array_equal(results[0], r) for r in results[1:])


def test_tiny_product_adds_the_bias_once_after_the_sum(rng, dtype):
    m, k, n = 5, 3, 7
    A, B, b = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype), randn(rng, n, dtype)
    W = np.ascontiguousarray(B.T)
    with_bias = ops.linear_forward(A, W, b)
    without = ops.linear_forward(A, W, np.zeros(n, dtype))  # 0 + sum: the sum itself
    assert np.array_equal(with_bias, (b + without).astype(dtype))
