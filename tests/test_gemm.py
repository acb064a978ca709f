"""The GEMM driver and its fused epilogue, beyond the per-kernel checks of test_ops.py.

Shapes are chosen around the blocking: tiles whose width is a whole number of
vectors or half a vector (the narrow micro-kernels), partial tiles at both edges, K deeper than
one KC slice (several passes over C, the epilogue only after the last), the
ways threads share the work (row chunks of a shared B panel, alone or within
column groups when there are few rows; several B panels in a ring), and the small-batch path (at most 8 rows). Every SIMD level this CPU has is run.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import _ops, ops

from conftest import ACTIVATIONS, TOL, assert_close, randn, with_layout

EDGE_SHAPES = [  # (m, k, n)
    (1, 3, 100),     # one row (the small-batch dot kernels from here to 8 rows)
    (5, 37, 23),     # 4 + 1 rows, a partial column group, a p % VLEN tail
    (100, 5, 1),     # one column
    (8, 5, 16),      # one whole vector wide
    (16, 7, 32),     # two whole vectors
    (9, 3, 50),      # 50 = 48 + 2: a narrow last tile
    (13, 300, 50),   # ... with a deep k: its 2 columns by dot kernels (4 + 4 + 4 + 1 rows)
    (16, 9, 56),     # 56 = 48 + 8: a last tile of exactly half a float32 vector
    (16, 9, 52),     # 52 = 48 + 4: ... of exactly half a float64 vector
    (17, 1100, 33),  # two KC slices in float32 on AVX-512
    (25, 2100, 97),  # three or more slices everywhere
]
EDGE_LAYOUTS = ("C", "transposed", "reversed")


@pytest.mark.parametrize("shape", EDGE_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_gemm_around_tile_edges_and_slices(rng, dtype, simd_level, shape):
    m, k, n = shape
    A, B = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    exact = A.astype(np.float64) @ B.astype(np.float64)
    scale = float(np.max(np.abs(A.astype(np.float64)) @ np.abs(B.astype(np.float64))))
    plain = _ops.gemm(A, B)
    assert_close(plain, exact, TOL[dtype], "gemm vs float64", scale)
    for la in EDGE_LAYOUTS:
        for lb in EDGE_LAYOUTS:
            got = _ops.gemm(with_layout(A, la), with_layout(B, lb))
            assert np.array_equal(got, plain), f"A {la}, B {lb} differs from the C-ordered result"


def _assert_same_for_thread_counts(thread_count, fn, counts=(1, 2, 3)):
    results = []
    for count in counts:
        thread_count.set(count)
        out = fn()
        results.append(out if isinstance(out, tuple) else (out,))
    for count, result in zip(counts[1:], results[1:]):
        for k, (a, b) in enumerate(zip(results[0], result)):
            assert np.array_equal(a, b), f"output {k} differs between 1 and {count} threads"


# rows split with a shared B panel; columns split (few rows); several KC slices; a small batch;
# row chunks of several slivers over two KC slices (a B panel larger than L2); two NC panels
# of column groups over several KC slices, more steps than B buffers (the ring wraps)
THREAD_SHAPES = [(200, 300, 100), (10, 200, 700), (60, 2500, 70), (6, 500, 300),
                 (130, 1100, 300), (9, 2100, 3100), (101, 3072, 50)]


@pytest.mark.parametrize("shape", THREAD_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_gemm_and_dense_are_bit_identical_across_thread_counts(rng, dtype, simd_level, thread_count, shape):
    m, k, n = shape
    A, B = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    _assert_same_for_thread_counts(thread_count, lambda: _ops.gemm(A, B))
    W, b = np.ascontiguousarray(B.T), randn(rng, n, dtype)
    _assert_same_for_thread_counts(thread_count, lambda: ops.dense_forward(A, W, b, "tanh"))


@pytest.mark.parametrize("shape", [(7, 33, 50), (130, 1100, 61), (5, 300, 700), (21, 700, 50)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_dense_forward_is_exactly_linear_then_activation(rng, dtype, simd_level, num_threads, name, shape):
    # The epilogue must see each tile once, after its last KC slice: then the
    # fused layer equals the two separate kernels bit for bit.
    n, d_in, d_out = shape
    X, W, b = randn(rng, (n, d_in), dtype), randn(rng, (d_out, d_in), dtype), randn(rng, d_out, dtype)
    S, H = ops.dense_forward(X, W, b, name)
    assert np.array_equal(S, ops.linear_forward(X, W, b))
    assert np.array_equal(H, ops.activation_forward(name, S))


def test_dense_forward_with_no_input_features_is_the_activated_bias(dtype):
    b = np.linspace(-2, 2, 5).astype(dtype)
    S, H = ops.dense_forward(np.empty((3, 0), dtype), np.empty((5, 0), dtype), b, "sigmoid")
    assert np.array_equal(S, np.tile(b, (3, 1)))
    assert np.array_equal(H, ops.activation_forward("sigmoid", S))
    S, H = ops.dense_forward(np.empty((3, 0), dtype), np.empty((5, 0), dtype), None, "elu")
    assert np.array_equal(S, np.zeros((3, 5))) and np.array_equal(H, np.zeros((3, 5)))


def test_dense_forward_with_an_empty_batch_or_no_outputs(dtype):
    S, H = ops.dense_forward(np.empty((0, 4), dtype), np.ones((3, 4), dtype), np.ones(3, dtype), "relu")
    assert S.shape == H.shape == (0, 3)
    S, H = ops.dense_forward(np.ones((2, 4), dtype), np.empty((0, 4), dtype), None, "relu")
    assert S.shape == H.shape == (2, 0)
