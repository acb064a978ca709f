"""The loss kernels and the softmax: fastnn.ops (compiled) against fastnn.reference (NumPy).

softmax_cross_entropy with soft targets (class probabilities), sigmoid_binary_cross_entropy,
mse and softmax, as tests/test_ops.py tests the other kernels: float32 and float64, every
input layout, 1 and 2 threads, every SIMD level this CPU supports; bit-identical results
across thread counts at sizes where threads are used; central finite differences of the
loss for the gradients (float64); PyTorch as an outside oracle when it is installed;
huge logits, NaN, and bad arguments.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastnn import ops, reference

from conftest import (
    DTYPES,
    GRAD_TOL,
    LAYOUTS,
    SIMD_LEVELS,
    TOL,
    as_tuple,
    assert_close,
    check_against_reference,
    labels,
    randn,
    rel_error,
    with_layout,
)

HYPOTHESIS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LOSSES = ("softmax_cross_entropy", "sigmoid_binary_cross_entropy", "mse")


def probabilities(rng, shape, dtype):
    """Soft targets: entries in [0, 1) whose rows do not sum to 1 (the kernels must not assume it)."""
    return rng.random(shape).astype(dtype)


def assert_same_as_c_layout(name, got, args):
    """A view must give exactly what the C-ordered copy gives."""
    plain = as_tuple(getattr(ops, name)(*[np.ascontiguousarray(a) for a in args]))
    for k, (g, p) in enumerate(zip(got, plain)):
        assert np.array_equal(g, p, equal_nan=True), f"{name} output {k} depends on the layout"


def assert_bit_identical_across_threads(thread_count, fn, counts=(1, 2, 3)):
    """fn() with 1 thread, then 2 and 3 (an uneven split); every output equal bit for bit."""
    results = []
    for n in counts:
        thread_count.set(n)
        results.append(as_tuple(fn()))
    for n, result in zip(counts[1:], results[1:]):
        for k, (a, b) in enumerate(zip(results[0], result)):
            assert np.array_equal(a, b), f"output {k} differs between 1 and {n} threads"


def numeric_gradient(f, X, eps=1e-6):
    """Central differences of the scalar f at X (float64)."""
    g = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        keep = X[idx]
        X[idx] = keep + eps
        plus = float(f(X))
        X[idx] = keep - eps
        minus = float(f(X))
        X[idx] = keep
        g[idx] = (plus - minus) / (2 * eps)
    return g


# ------------------------------------------------------------------ ops against reference

# Class counts: one, the narrow path's constants (2, 10) and its limit (16), just past it
# (17, the wide path with a remainder) and a long row.
CLASS_SHAPES = [(1, 1), (1, 7), (40, 2), (257, 10), (9, 16), (9, 17), (7, 33), (33, 1000)]
BINARY_ROWS = [1, 5, 17, 257, 1000]
MSE_SHAPES = [(1, 1), (5, 15), (9, 17), (33, 70), (6, 1003), (257, 1)]


@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_soft_cross_entropy_matches_reference(rng, dtype, layout, num_threads, shape):
    S = randn(rng, shape, dtype, scale=3.0)
    Y = probabilities(rng, shape, dtype)
    args = (with_layout(S, layout), with_layout(Y, layout))
    got = check_against_reference("softmax_cross_entropy", (S, Y), dtype, args)
    loss, dS = got
    assert np.ndim(loss) == 0 and loss.dtype == dtype and dS.shape == shape
    assert_same_as_c_layout("softmax_cross_entropy", got, args)


@pytest.mark.parametrize("n", BINARY_ROWS)
@pytest.mark.parametrize("y_shape", ["(N,)", "(N, 1)"])
def test_binary_cross_entropy_matches_reference(rng, dtype, layout, num_threads, n, y_shape):
    S = randn(rng, (n, 1), dtype, scale=4.0)
    y = probabilities(rng, (n, 1), dtype)
    y_arg = with_layout(y, layout)
    if y_shape == "(N,)":
        y_arg = y_arg[:, 0]
    args = (with_layout(S, layout), y_arg)
    got = check_against_reference("sigmoid_binary_cross_entropy", (S, y), dtype, args)
    loss, dS = got
    assert np.ndim(loss) == 0 and loss.dtype == dtype and dS.shape == (n, 1)
    assert_same_as_c_layout("sigmoid_binary_cross_entropy", got, args)


@pytest.mark.parametrize("shape", [(1, 2), (7, 3), (300, 5), (33, 17)], ids=lambda s: "x".join(map(str, s)))
def test_multilabel_binary_cross_entropy_matches_reference(rng, dtype, layout, num_threads, shape):
    S = randn(rng, shape, dtype, scale=4.0)
    Y = probabilities(rng, shape, dtype)
    args = (with_layout(S, layout), with_layout(Y, layout))
    got = check_against_reference("sigmoid_binary_cross_entropy", (S, Y), dtype, args)
    loss, dS = got
    assert np.ndim(loss) == 0 and loss.dtype == dtype and dS.shape == shape
    assert_same_as_c_layout("sigmoid_binary_cross_entropy", got, args)


def test_multilabel_binary_cross_entropy_sums_the_units(module, rng, dtype):
    # a sample's loss is the sum of its units' one-unit losses; the gradient is theirs
    S = randn(rng, (6, 4), dtype, scale=3.0)
    Y = probabilities(rng, (6, 4), dtype)
    loss, dS = module.sigmoid_binary_cross_entropy(S, Y)
    parts = [module.sigmoid_binary_cross_entropy(S[:, k:k + 1], Y[:, k]) for k in range(4)]
    assert_close(loss, sum(float(p[0]) for p in parts), TOL[dtype], scale=1.0)
    assert_close(dS, np.hstack([p[1] for p in parts]), TOL[dtype], scale=1.0)


def test_binary_cross_entropy_takes_a_strided_target_vector(rng, dtype):
    S, y = randn(rng, (9, 1), dtype), probabilities(rng, 9, dtype)
    strided = np.repeat(y, 3)[::3]
    reversed_ = np.ascontiguousarray(y[::-1])[::-1]
    want = ops.sigmoid_binary_cross_entropy(S, y)
    for view in (strided, reversed_):
        for g, w in zip(ops.sigmoid_binary_cross_entropy(S, view), want):
            assert np.array_equal(g, w)


@pytest.mark.parametrize("shape", MSE_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_mse_matches_reference(rng, dtype, layout, num_threads, shape):
    O, Y = randn(rng, shape, dtype), randn(rng, shape, dtype)
    args = (with_layout(O, layout), with_layout(Y, layout))
    got = check_against_reference("mse", (O, Y), dtype, args)
    loss, dO = got
    assert np.ndim(loss) == 0 and loss.dtype == dtype and dO.shape == shape
    assert_same_as_c_layout("mse", got, args)


@pytest.mark.parametrize("shape", CLASS_SHAPES + [(0, 5)], ids=lambda s: "x".join(map(str, s)))
def test_softmax_matches_reference(rng, dtype, layout, num_threads, shape):
    S = randn(rng, shape, dtype, scale=3.0)
    got = check_against_reference("softmax", (S,), dtype, (with_layout(S, layout),))
    assert got[0].shape == shape and got[0].dtype == dtype
    assert_same_as_c_layout("softmax", got, (with_layout(S, layout),))


@pytest.mark.parametrize("shape", [(3, 1), (5, 2), (9, 10), (33, 16), (17, 17), (6, 1003)],
                         ids=lambda s: "x".join(map(str, s)))
def test_loss_kernels_match_reference_at_every_simd_level(rng, dtype, simd_level, shape):
    S = randn(rng, shape, dtype, scale=3.0)
    check_against_reference("softmax_cross_entropy", (S, probabilities(rng, shape, dtype)), dtype)
    check_against_reference("softmax_cross_entropy", (S, labels(rng, *shape)), dtype)
    check_against_reference("softmax", (S,), dtype)
    check_against_reference("mse", (S, randn(rng, shape, dtype)), dtype)
    # the binary loss runs down a column: as many rows as the others' elements
    n = shape[0] * shape[1]
    s = randn(rng, (n, 1), dtype, scale=4.0)
    check_against_reference("sigmoid_binary_cross_entropy", (s, probabilities(rng, n, dtype)), dtype)


def test_large_inputs_match_reference_with_two_threads(dtype, thread_count):
    # the bit-identity tests compare ops with itself; this ties the threaded path to the answer key
    thread_count.set(2)
    rng = np.random.default_rng(7)
    for shape in [(300, 1000), (5000, 10)]:
        S = randn(rng, shape, dtype, scale=5.0)
        check_against_reference("softmax_cross_entropy", (S, probabilities(rng, shape, dtype)), dtype)
        check_against_reference("softmax", (S,), dtype)
        check_against_reference("mse", (S, randn(rng, shape, dtype)), dtype)
    s = randn(rng, (20000, 1), dtype, scale=4.0)
    check_against_reference("sigmoid_binary_cross_entropy", (s, probabilities(rng, 20000, dtype)), dtype)


layouts = st.sampled_from(LAYOUTS)
dtypes = st.sampled_from([np.dtype(t) for t in DTYPES])
seeds = st.integers(0, 2**32 - 1)


@HYPOTHESIS
@given(n=st.integers(1, 60), c=st.integers(1, 60), dtype=dtypes, layout=layouts,
       scale=st.sampled_from([0.1, 3.0, 50.0]), seed=seeds)
def test_loss_kernels_random_shapes(n, c, dtype, layout, scale, seed):
    rng = np.random.default_rng(seed)
    S = randn(rng, (n, c), dtype, scale=scale)
    Y = probabilities(rng, (n, c), dtype)
    check_against_reference("softmax_cross_entropy", (S, Y), dtype,
                            (with_layout(S, layout), with_layout(Y, layout)))
    check_against_reference("softmax", (S,), dtype, (with_layout(S, layout),))
    check_against_reference("mse", (S, Y), dtype, (with_layout(S, layout), with_layout(Y, layout)))
    check_against_reference("sigmoid_binary_cross_entropy", (S[:, :1], Y[:, 0]), dtype,
                            (with_layout(S, layout)[:, :1], Y[:, 0]))


# ------------------------------------------------------------------ threads: bit-identical results

@pytest.mark.parametrize("shape", [(300, 1000), (5000, 10), (4000, 3)], ids=lambda s: "x".join(map(str, s)))
def test_soft_cross_entropy_and_softmax_are_bit_identical_across_thread_counts(
        rng, dtype, simd_level, thread_count, shape):
    S = randn(rng, shape, dtype, scale=5.0)
    Y = probabilities(rng, shape, dtype)
    assert_bit_identical_across_threads(thread_count, lambda: ops.softmax_cross_entropy(S, Y))
    assert_bit_identical_across_threads(thread_count, lambda: ops.softmax(S))


def test_binary_cross_entropy_is_bit_identical_across_thread_counts(rng, dtype, simd_level,
                                                                    thread_count):
    # an odd count, so the threads' ranges start at rows that are not multiples of a vector
    S = randn(rng, (20011, 1), dtype, scale=4.0)
    y = probabilities(rng, 20011, dtype)
    assert_bit_identical_across_threads(thread_count, lambda: ops.sigmoid_binary_cross_entropy(S, y))


@pytest.mark.parametrize("shape", [(3001, 50), (40000, 1)], ids=lambda s: "x".join(map(str, s)))
def test_mse_is_bit_identical_across_thread_counts(rng, dtype, simd_level, thread_count, shape):
    O, Y = randn(rng, shape, dtype), randn(rng, shape, dtype)
    assert_bit_identical_across_threads(thread_count, lambda: ops.mse(O, Y))


# ------------------------------------------------------------------ gradients: finite differences

def _gradient_inputs(name, rng):
    if name == "softmax_cross_entropy":
        return randn(rng, (6, 4), np.float64, scale=2.0), probabilities(rng, (6, 4), np.float64)
    if name == "sigmoid_binary_cross_entropy":
        return randn(rng, (7, 1), np.float64, scale=2.0), probabilities(rng, 7, np.float64)
    if name == "multilabel":
        return randn(rng, (6, 3), np.float64, scale=2.0), probabilities(rng, (6, 3), np.float64)
    return randn(rng, (5, 3), np.float64), randn(rng, (5, 3), np.float64)


@pytest.mark.parametrize("name", LOSSES + ("multilabel",))
def test_gradient_is_the_derivative_of_the_loss(module, rng, name):
    S, y = _gradient_inputs(name, rng)
    loss_of = getattr(module, "sigmoid_binary_cross_entropy" if name == "multilabel" else name)
    _, dS = loss_of(S, y)
    numeric = numeric_gradient(lambda s: loss_of(s, y)[0], S.copy())
    assert rel_error(dS, numeric) <= GRAD_TOL


def test_soft_cross_entropy_gradient_with_unnormalised_rows(module, rng):
    # rows summing to 0.3 and to 2.5: the gradient's softmax term is scaled by the row sum
    S = randn(rng, (2, 5), np.float64)
    Y = np.array([[0.1, 0.0, 0.2, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5, 0.5]])
    _, dS = module.softmax_cross_entropy(S, Y)
    numeric = numeric_gradient(lambda s: module.softmax_cross_entropy(s, Y)[0], S.copy())
    assert rel_error(dS, numeric) <= GRAD_TOL
    # each row is (p sum(y) - y) / N: its entries sum to 0 whatever sum(y) is
    assert np.abs(dS.sum(axis=1)).max() <= 1e-15


# ------------------------------------------------------------------ PyTorch as an outside oracle

def _torch():
    return pytest.importorskip("torch")


def test_soft_cross_entropy_matches_torch(module, rng):
    torch = _torch()
    S, Y = randn(rng, (13, 6), np.float64, scale=3.0), probabilities(rng, (13, 6), np.float64)
    tS = torch.tensor(S, requires_grad=True)
    want = torch.nn.functional.cross_entropy(tS, torch.from_numpy(Y))
    want.backward()
    loss, dS = module.softmax_cross_entropy(S, Y)
    assert_close(loss, want.item(), TOL[np.dtype(np.float64)], "loss")
    assert_close(dS, tS.grad.numpy(), TOL[np.dtype(np.float64)], "dS")


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_binary_cross_entropy_matches_torch(module, rng, scale):
    torch = _torch()
    S, y = randn(rng, (17, 1), np.float64, scale=scale), probabilities(rng, 17, np.float64)
    tS = torch.tensor(S, requires_grad=True)
    want = torch.nn.functional.binary_cross_entropy_with_logits(tS, torch.from_numpy(y[:, None]))
    want.backward()
    loss, dS = module.sigmoid_binary_cross_entropy(S, y)
    assert_close(loss, want.item(), TOL[np.dtype(np.float64)], "loss")
    assert_close(dS, tS.grad.numpy(), TOL[np.dtype(np.float64)], "dS")


def test_multilabel_binary_cross_entropy_matches_torch(module, rng):
    torch = _torch()
    S = randn(rng, (9, 3), np.float64, scale=5.0)
    Y = probabilities(rng, (9, 3), np.float64)
    tS = torch.tensor(S, requires_grad=True)
    # torch averages over every element; fastnn sums the units and averages over the samples
    want = torch.nn.functional.binary_cross_entropy_with_logits(tS, torch.from_numpy(Y), reduction="sum") / 9
    want.backward()
    loss, dS = module.sigmoid_binary_cross_entropy(S, Y)
    assert_close(loss, want.item(), TOL[np.dtype(np.float64)], "loss")
    assert_close(dS, tS.grad.numpy(), TOL[np.dtype(np.float64)], "dS")


def test_mse_matches_torch(module, rng):
    torch = _torch()
    O, Y = randn(rng, (11, 4), np.float64), randn(rng, (11, 4), np.float64)
    tO = torch.tensor(O, requires_grad=True)
    # F.mse_loss averages over every element; fastnn's is half the squared error, averaged
    # over the samples: the sum, halved, over N
    want = torch.nn.functional.mse_loss(tO, torch.from_numpy(Y), reduction="sum") / 2 / O.shape[0]
    want.backward()
    loss, dO = module.mse(O, Y)
    assert_close(loss, want.item(), TOL[np.dtype(np.float64)], "loss")
    assert_close(dO, tO.grad.numpy(), TOL[np.dtype(np.float64)], "dO")


def test_softmax_matches_torch(module, rng):
    torch = _torch()
    S = randn(rng, (9, 12), np.float64, scale=10.0)
    assert_close(module.softmax(S), torch.softmax(torch.from_numpy(S), dim=1).numpy(),
                 TOL[np.dtype(np.float64)])


# ------------------------------------------------------------------ known values

def test_one_hot_targets_give_the_label_results(module, rng, dtype):
    S = randn(rng, (12, 5), dtype, scale=3.0)
    y = labels(rng, 12, 5)
    soft = module.softmax_cross_entropy(S, np.eye(5, dtype=dtype)[y])
    hard = module.softmax_cross_entropy(S, y)
    for s, h in zip(soft, hard):
        assert_close(s, h, TOL[dtype])


@pytest.mark.parametrize("c", [1, 2, 10, 40])
def test_soft_cross_entropy_of_uniform_logits(module, dtype, c):
    # softmax is uniform, so the loss is mean_i (sum_c y_ic) log C
    S = np.full((3, c), -2.5, dtype)
    Y = np.full((3, c), 0.5, dtype)
    Y[1] = 0
    loss, dS = module.softmax_cross_entropy(S, Y)
    assert_close(loss, (2 * 0.5 * c * math.log(c)) / 3, TOL[dtype], scale=1.0)
    expected = (np.full((3, c), 1 / c) * Y.sum(axis=1, keepdims=True) - Y) / 3
    assert_close(dS, expected, TOL[dtype], scale=1.0)


def test_binary_cross_entropy_known_values(module, dtype):
    # s = 0: log 2 whatever the target; s = ln 3 (sigmoid 3/4), y = 1/4:
    # max(s, 0) - s y + log(1 + 1/3) = ln 3 * 3/4 + ln(4/3)
    S = np.array([[0.0], [0.0], [math.log(3)]], dtype)
    y = np.array([0.0, 1.0, 0.25], dtype)
    loss, dS = module.sigmoid_binary_cross_entropy(S, y)
    assert_close(loss, (2 * math.log(2) + 0.75 * math.log(3) + math.log(4 / 3)) / 3, TOL[dtype])
    assert_close(dS, np.array([[0.5], [-0.5], [0.5]]) / 3, TOL[dtype])


def test_mse_known_values(module, dtype):
    O = np.array([[1.0, 2.0], [0.0, -1.0]], dtype)
    Y = np.array([[0.0, 0.0], [0.0, 1.0]], dtype)
    loss, dO = module.mse(O, Y)
    # E = 1/2 (1 + 4) and 1/2 (0 + 4), their mean 2.25
    assert_close(loss, 2.25, TOL[dtype])
    assert_close(dO, (O - Y) / 2, TOL[dtype])


def test_softmax_rows_sum_to_one(module, rng, dtype):
    P = module.softmax(randn(rng, (20, 7), dtype, scale=4.0))
    assert np.all(P >= 0)
    assert np.abs(P.astype(np.float64).sum(axis=1) - 1).max() <= 10 * np.finfo(dtype).eps


# ------------------------------------------------------------------ extreme values

@pytest.mark.parametrize("big", [1e4, 1e30])
def test_soft_cross_entropy_and_softmax_are_finite_for_huge_logits(module, dtype, big):
    S = np.array([[big, -big, 0.0], [0.0, big, -1.0], [big, big, 0.0]], dtype=dtype)
    Y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], dtype=dtype)
    loss, dS = module.softmax_cross_entropy(S, Y)
    assert np.isfinite(loss) and np.isfinite(dS).all()
    # row 0: certain and right (0); row 1: certain and wrong (big); row 2: a tie (log 2)
    assert_close(loss, (big + math.log(2)) / 3, TOL[dtype])
    assert_close(dS, np.array([[0, 0, 0], [-1, 1, 0], [0, 0, 0]]) / 3, TOL[dtype], scale=1.0)
    P = module.softmax(S)
    assert_close(P, [[1, 0, 0], [0, 1, 0], [0.5, 0.5, 0]], TOL[dtype])


def test_binary_cross_entropy_is_finite_for_huge_logits(module, dtype):
    S = np.array([[1e4], [-1e4], [1e4], [-1e4], [1e4]], dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5], dtype)
    loss, dS = module.sigmoid_binary_cross_entropy(S, y)
    assert np.isfinite(loss) and np.isfinite(dS).all()
    # right: 0; wrong: 1e4; half: 1e4 / 2
    assert_close(loss, 2.5e4 / 5, TOL[dtype])
    assert_close(dS, np.array([[0.0], [0.0], [1.0], [-1.0], [0.5]]) / 5, TOL[dtype])


def test_binary_cross_entropy_keeps_the_tiny_loss_of_a_confident_right_answer(module, dtype):
    # log(1 + e^-40) is about 4.2e-18: log(1 + e) in floating point would round it to 0
    s = 40.0 if dtype == np.float64 else 16.0
    loss, _ = module.sigmoid_binary_cross_entropy(np.array([[s], [-s]], dtype), np.array([1, 0], dtype))
    assert_close(loss, math.log1p(math.exp(-s)), TOL[dtype])


# ------------------------------------------------------------------ NaN propagates

def test_nan_in_soft_cross_entropy_poisons_only_its_row(module, dtype, rng):
    for where in ("S", "Y"):
        S, Y = randn(rng, (5, 4), dtype), probabilities(rng, (5, 4), dtype)
        (S if where == "S" else Y)[2, 3] = np.nan
        loss, dS = module.softmax_cross_entropy(S, Y)
        assert np.isnan(loss), where
        assert np.isnan(dS[2]).all(), where
        assert np.isfinite(np.delete(dS, 2, axis=0)).all(), where


def test_nan_in_binary_cross_entropy_poisons_only_its_sample(module, dtype, rng):
    for where in ("S", "y"):
        S, y = randn(rng, (6, 1), dtype), probabilities(rng, 6, dtype)
        (S[:, 0] if where == "S" else y)[4] = np.nan
        loss, dS = module.sigmoid_binary_cross_entropy(S, y)
        assert np.isnan(loss) and np.isnan(dS[4, 0]), where
        assert np.isfinite(np.delete(dS, 4)).all(), where


def test_nan_in_mse_stays_in_its_element(module, dtype, rng):
    O, Y = randn(rng, (4, 3), dtype), randn(rng, (4, 3), dtype)
    O[1, 2] = np.nan
    loss, dO = module.mse(O, Y)
    assert np.isnan(loss) and np.isnan(dO[1, 2])
    assert np.isnan(dO).sum() == 1


# first, middle and last column (the row maximum starts at column 0), narrow and wide rows
@pytest.mark.parametrize("c,col", [(3, 0), (3, 1), (3, 2), (17, 0), (17, 16)])
def test_nan_in_softmax_poisons_only_its_row(module, dtype, rng, c, col):
    S = randn(rng, (4, c), dtype)
    S[1, col] = np.nan
    P = module.softmax(S)
    assert np.isnan(P[1]).all()
    assert np.isfinite(np.delete(P, 1, axis=0)).all()


# ------------------------------------------------------------------ inputs untouched, outputs fresh

def _calls(rng, dtype):
    S, Y = randn(rng, (6, 5), dtype), probabilities(rng, (6, 5), dtype)
    return [
        ("softmax_cross_entropy", (S, Y)),
        ("sigmoid_binary_cross_entropy", (S[:, :1].copy(), Y[:, 0].copy())),
        ("mse", (S, Y)),
        ("softmax", (S,)),
    ]


def test_kernels_leave_inputs_unchanged_and_return_new_arrays(module, dtype, rng):
    for name, args in _calls(rng, dtype):
        before = [a.copy() for a in args]
        outputs = as_tuple(getattr(module, name)(*args))
        for a, b in zip(args, before):
            assert np.array_equal(a, b), f"{name} modified an input"
        for out in outputs:
            for a in args:
                assert not np.shares_memory(out, a), f"{name} returned a view of an input"


def test_ops_outputs_are_c_ordered_and_read_only_inputs_accepted(dtype, rng):
    for name, args in _calls(rng, dtype):
        expected = as_tuple(getattr(ops, name)(*args))
        frozen = []
        for a in args:
            a = np.asfortranarray(a)
            a.flags.writeable = False
            frozen.append(a)
        for g, w in zip(as_tuple(getattr(ops, name)(*frozen)), expected):
            assert np.array_equal(g, w), name
            if np.ndim(g):
                assert g.flags.c_contiguous and g.dtype == dtype, name


# ------------------------------------------------------------------ bad arguments

def _valid(kernel):
    rng = np.random.default_rng(0)
    S = rng.standard_normal((5, 3))
    if kernel == "softmax_cross_entropy":
        return dict(S=S, y=rng.random((5, 3)))
    if kernel == "sigmoid_binary_cross_entropy":
        return dict(S=S[:, :1].copy(), y=rng.random(5))
    if kernel == "mse":
        return dict(O=S, Y=rng.standard_normal((5, 3)))
    return dict(S=S)


def bad(kernel, arg, id_, **changes):
    return pytest.param(kernel, arg, changes, id=f"{kernel}-{id_}")


BAD_CASES = [
    # soft targets
    bad("softmax_cross_entropy", "y", "float32-probabilities", y=lambda y: y.astype(np.float32)),
    bad("softmax_cross_entropy", "y", "too-few-columns", y=lambda y: y[:, :2]),
    bad("softmax_cross_entropy", "y", "too-few-rows", y=lambda y: y[:4]),
    bad("softmax_cross_entropy", "y", "negative", y=lambda y: y - 0.5),
    bad("softmax_cross_entropy", "y", "one-negative", y=lambda y: np.where(np.arange(3) == 1, -1e-9, y)),
    bad("softmax_cross_entropy", "y", "3-D", y=lambda y: y[None]),
    bad("softmax_cross_entropy", "y", "complex", y=lambda y: y.astype(np.complex128)),
    bad("softmax_cross_entropy", "y", "float16", y=lambda y: y.astype(np.float16)),
    bad("softmax_cross_entropy", "S", "empty-batch", S=lambda s: s[:0], y=lambda y: y[:0]),
    bad("softmax_cross_entropy", "S", "no-classes", S=lambda s: s[:, :0], y=lambda y: y[:, :0]),
    # binary
    bad("sigmoid_binary_cross_entropy", "y", "one-column-for-two-units", S=lambda s: np.hstack([s, s])),
    bad("sigmoid_binary_cross_entropy", "S", "1-D", S=lambda s: s[:, 0]),
    bad("sigmoid_binary_cross_entropy", "S", "int", S=lambda s: s.astype(np.int64)),
    bad("sigmoid_binary_cross_entropy", "S", "None", S=None),
    bad("sigmoid_binary_cross_entropy", "S", "empty-batch", S=lambda s: s[:0], y=lambda y: y[:0]),
    bad("sigmoid_binary_cross_entropy", "y", "above-one", y=lambda y: y + 1.0),
    bad("sigmoid_binary_cross_entropy", "y", "below-zero", y=lambda y: y - 1.0),
    bad("sigmoid_binary_cross_entropy", "y", "labels-minus-one", y=lambda y: np.where(y > 0.5, 1.0, -1.0)),
    bad("sigmoid_binary_cross_entropy", "y", "too-short", y=lambda y: y[:4]),
    bad("sigmoid_binary_cross_entropy", "y", "two-columns", y=lambda y: np.stack([y, y], axis=1)),
    bad("sigmoid_binary_cross_entropy", "y", "row", y=lambda y: y[None]),
    bad("sigmoid_binary_cross_entropy", "y", "3-D", y=lambda y: y[:, None, None]),
    bad("sigmoid_binary_cross_entropy", "y", "float32", y=lambda y: y.astype(np.float32)),
    bad("sigmoid_binary_cross_entropy", "y", "int-labels", y=lambda y: (y > 0.5).astype(np.int64)),
    bad("sigmoid_binary_cross_entropy", "y", "bool", y=lambda y: y > 0.5),
    bad("sigmoid_binary_cross_entropy", "y", "None", y=None),
    bad("sigmoid_binary_cross_entropy", "y", "ragged", y=[[0.5], [0.5, 0.5]]),
    # mse
    bad("mse", "O", "None", O=None),
    bad("mse", "O", "1-D", O=lambda o: o[:, 0]),
    bad("mse", "O", "int", O=lambda o: o.astype(np.int64)),
    bad("mse", "O", "empty-batch", O=lambda o: o[:0], Y=lambda y: y[:0]),
    bad("mse", "O", "no-outputs", O=lambda o: o[:, :0], Y=lambda y: y[:, :0]),
    bad("mse", "Y", "None", Y=None),
    bad("mse", "Y", "wrong-columns", Y=lambda y: y[:, :2]),
    bad("mse", "Y", "wrong-rows", Y=lambda y: y[:4]),
    bad("mse", "Y", "1-D", Y=lambda y: y[:, 0]),
    bad("mse", "Y", "float32", Y=lambda y: y.astype(np.float32)),
    bad("mse", "Y", "ragged", Y=[[1.0, 2.0], [3.0]]),
    # softmax
    bad("softmax", "S", "None", S=None),
    bad("softmax", "S", "1-D", S=lambda s: s[0]),
    bad("softmax", "S", "3-D", S=lambda s: s[None]),
    bad("softmax", "S", "int", S=lambda s: s.astype(np.int64)),
    bad("softmax", "S", "no-classes", S=lambda s: s[:, :0]),
]


def _bad_call(kernel, changes):
    args = _valid(kernel)
    for k, v in changes.items():
        args[k] = v(args[k]) if callable(v) else v
    return args


@pytest.mark.parametrize("kernel", ["softmax_cross_entropy", "sigmoid_binary_cross_entropy", "mse", "softmax"])
def test_the_valid_baseline_is_accepted(module, kernel):
    # every bad case edits this call: it must itself be fine, or the cases prove nothing
    getattr(module, kernel)(**_valid(kernel))


@pytest.mark.parametrize("kernel,arg,changes", BAD_CASES)
def test_bad_arguments_are_refused_naming_the_argument(kernel, arg, changes):
    errors = []
    for module in (ops, reference):
        with pytest.raises((ValueError, TypeError), match=rf"\b{re.escape(arg)}\b") as info:
            getattr(module, kernel)(**_bad_call(kernel, changes))
        errors.append((info.type, str(info.value)))
    assert errors[0] == errors[1], "ops and reference refuse it differently"


def test_error_messages_say_what_was_expected_and_what_came(module):
    S = np.zeros((5, 3))
    with pytest.raises(ValueError, match=r"y must have shape \(5, 3\), got shape \(5, 2\)"):
        module.softmax_cross_entropy(S, np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"y as class probabilities must be >= 0, found -0\.25"):
        module.softmax_cross_entropy(S, np.full((5, 3), -0.25))
    with pytest.raises(TypeError, match=r"y has dtype float32 but S has dtype float64"):
        module.softmax_cross_entropy(S, np.zeros((5, 3), np.float32))
    with pytest.raises(ValueError, match=r"y must hold probabilities in \[0, 1\], found 2\.0"):
        module.sigmoid_binary_cross_entropy(S[:, :1], np.full(5, 2.0))
    with pytest.raises(ValueError, match=r"y must have shape \(5, 3\) to match S's shape \(5, 3\), got shape \(5,\)"):
        module.sigmoid_binary_cross_entropy(S, np.zeros(5))
    with pytest.raises(ValueError, match=r"Y must have shape \(5, 3\), got shape \(3, 5\)"):
        module.mse(S, S.T)
