"""The layer kernels: dropout, maxout, softplus, and batch norm's running update and eval mode.

fastnn.ops against fastnn.reference over layouts x dtypes x thread counts x SIMD
levels, bit-identical results for any thread count at sizes that use threads,
finite differences for the backward passes (float64), PyTorch when it is
installed, NaN and edge cases, the errors both backends raise for bad arguments,
and softplus through the whole library (layers, the engine, gradient_check,
save and load).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import fastnn
from fastnn import _ops, layers as L, ops, optim, reference

from conftest import (
    GRAD_TOL,
    TOL,
    assert_close,
    check_against_reference,
    randn,
    rel_error,
    with_layout,
)
from hypothesis import given
from hypothesis import strategies as st
from test_gradients import central_difference
from test_ops import HYPOTHESIS, assert_bit_identical_across_threads, assert_same_as_c_layout

F64 = np.float64
SHAPES = [(1, 1), (1, 7), (7, 33), (257, 33), (3, 1003)]
SHAPE_IDS = ["x".join(map(str, s)) for s in SHAPES]


# ------------------------------------------------------------------ dropout

DROPOUT_CASES = [(0.0, 0, 0), (0.3, 12345, 7), (0.9, 2 ** 64 - 1, 2 ** 40)]  # (p, seed, step)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("p,seed,step", DROPOUT_CASES)
def test_dropout_matches_reference(rng, dtype, layout, num_threads, simd_level, shape, p, seed, step):
    H, dY = randn(rng, shape, dtype), randn(rng, shape, dtype)
    for name, A in (("dropout_forward", H), ("dropout_backward", dY)):
        args = (A, p, seed, step)
        (got,) = check_against_reference(name, args, dtype, (with_layout(A, layout), p, seed, step))
        # the same mask and the same single rounding of a * scale: equal to the bit
        assert np.array_equal(got, getattr(reference, name)(*args))
        assert_same_as_c_layout(name, (got,), args)


@pytest.mark.parametrize("seed,step,shape,p", [(0, 0, (7, 5), 0.5), (2 ** 63 - 1, 12345, (64, 33), 0.1),
                                               (99, 3, (1, 1), 0.9), (2 ** 64 - 1, 0, (3, 1000), 0.5)])
def test_dropout_draws_the_documented_mask(module, dtype, seed, step, shape, p):
    ones = np.ones(shape, dtype)
    Y = module.dropout_forward(ones, p, seed, step)
    keep = reference.dropout_mask(seed, step, shape, p)
    assert np.array_equal(Y != 0, keep)
    assert np.all(Y[keep] == dtype.type(1 / (1 - p)))
    # the backward pass regenerates the forward pass's mask from (seed, step)
    assert np.array_equal(module.dropout_backward(ones, p, seed, step), Y)


def test_dropout_mask_is_the_layer_module_mask():
    assert L.dropout_mask is reference.dropout_mask


def test_dropout_masks_differ_between_steps_and_seeds(module):
    H = np.ones((40, 50))
    base = module.dropout_forward(H, 0.5, 1, 0) != 0
    assert not np.array_equal(base, module.dropout_forward(H, 0.5, 1, 1) != 0)
    assert not np.array_equal(base, module.dropout_forward(H, 0.5, 2, 0) != 0)
    assert np.array_equal(base, module.dropout_forward(H, 0.5, 1, 0) != 0)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_drops_a_share_p_and_keeps_the_expected_value(p):
    n = 1_000_000
    Y = ops.dropout_forward(np.ones((1000, 1000)), p, 5, 9)
    dropped = np.count_nonzero(Y == 0) / n
    # the count is binomial: 5 standard deviations is far beyond chance
    assert abs(dropped - p) <= 5 * math.sqrt(p * (1 - p) / n)
    assert abs(Y.mean() - 1.0) <= 5 * math.sqrt(p / (1 - p) / n)


def test_dropout_with_p_zero_is_a_copy(module, dtype, rng):
    H = randn(rng, (9, 13), dtype)
    for fn in (module.dropout_forward, module.dropout_backward):
        Y = fn(H, 0.0, 3, 4)
        assert np.array_equal(Y, H) and not np.shares_memory(Y, H) and Y.dtype == dtype


def test_dropout_keeps_nan_whether_kept_or_dropped(module, dtype):
    H = np.full((8, 16), np.nan, dtype)
    for fn in (module.dropout_forward, module.dropout_backward):
        Y = fn(H, 0.5, 0, 0)
        assert np.isnan(Y).all()
    assert np.count_nonzero(reference.dropout_mask(0, 0, H.shape, 0.5)) not in (0, H.size)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)])
def test_dropout_with_empty_input(module, dtype, shape):
    for fn in (module.dropout_forward, module.dropout_backward):
        Y = fn(np.empty(shape, dtype), 0.5, 1, 1)
        assert Y.shape == shape and Y.dtype == dtype


def test_dropout_is_bit_identical_across_thread_counts(rng, dtype, thread_count):
    H = randn(rng, (700, 1001), dtype)
    assert_bit_identical_across_threads(thread_count, lambda: ops.dropout_forward(H, 0.3, 11, 5))
    assert_bit_identical_across_threads(thread_count, lambda: ops.dropout_backward(H, 0.3, 11, 5))


def test_dropout_backward_matches_finite_differences(module, rng):
    H, R = randn(rng, (6, 9), F64), randn(rng, (6, 9), F64)
    dH = module.dropout_backward(R, 0.4, 21, 2)
    # J is linear in H: a large step has no truncation error
    fd = central_difference(lambda h: float(np.sum(module.dropout_forward(h, 0.4, 21, 2) * R)), H, 0.5)
    assert_close(dH, fd, GRAD_TOL, "dH")
    assert np.count_nonzero(dH == 0) > 0  # some units were dropped


def test_dropout_matches_torch_with_the_same_mask(module, rng):
    torch = pytest.importorskip("torch")
    H, R, p = randn(rng, (33, 17), F64), randn(rng, (33, 17), F64), 0.3
    keep = torch.from_numpy(reference.dropout_mask(8, 1, H.shape, p))
    tH = torch.tensor(H, requires_grad=True)
    out = tH * keep / (1 - p)
    out.backward(torch.from_numpy(R))
    assert_close(module.dropout_forward(H, p, 8, 1), out.detach().numpy(), TOL[np.dtype(F64)], "Y")
    assert_close(module.dropout_backward(R, p, 8, 1), tH.grad.numpy(), TOL[np.dtype(F64)], "dH")


@pytest.mark.parametrize("fn", ["dropout_forward", "dropout_backward"])
@pytest.mark.parametrize(
    "change, error, words",
    [
        (dict(p=1.0), ValueError, "p must be a finite number in [0.0, 1.0)"),
        (dict(p=-0.1), ValueError, "p must be a finite number in [0.0, 1.0)"),
        (dict(p=float("nan")), ValueError, "p must be a finite number"),
        (dict(p="0.5"), TypeError, "p must be a real number"),
        (dict(seed=-1), ValueError, "seed must be >= 0"),
        (dict(seed=2 ** 64), ValueError, "seed must be < 2**64"),
        (dict(seed=1.5), TypeError, "seed must be an integer"),
        (dict(step=-1), ValueError, "step must be >= 0"),
        (dict(step=2 ** 63), ValueError, "step must be < 2**63"),
        (dict(step=True), TypeError, "step must be an integer"),
        (dict(A=np.ones(4)), ValueError, "must be 2-dimensional"),
        (dict(A=np.ones((2, 2), np.int8)), TypeError, "must have dtype float32 or float64"),
        (dict(A=None), TypeError, "must be a float32 or float64 array, got None"),
    ],
    ids=["p_one", "p_negative", "p_nan", "p_string", "seed_negative", "seed_big", "seed_float",
         "step_negative", "step_big", "step_bool", "A_ndim", "A_dtype", "A_none"],
)
def test_dropout_refuses_bad_arguments_in_both_backends(module, fn, change, error, words):
    args = {"A": np.ones((3, 4)), "p": 0.5, "seed": 1, "step": 0, **change}
    with pytest.raises(error, match=re.escape(words)):
        getattr(module, fn)(args["A"], args["p"], args["seed"], args["step"])


def test_dropout_errors_name_the_array(module):
    with pytest.raises(ValueError, match="H must be 2-dimensional"):
        module.dropout_forward(np.ones(3), 0.5, 0, 0)
    with pytest.raises(ValueError, match="dY must be 2-dimensional"):
        module.dropout_backward(np.ones(3), 0.5, 0, 0)


# ------------------------------------------------------------------ maxout

MAXOUT_SHAPES = [(1, 1, 1), (1, 5, 3), (7, 33, 2), (257, 9, 4), (3, 300, 5)]  # (N, D, k)
MAXOUT_IDS = ["x".join(map(str, s)) for s in MAXOUT_SHAPES]


def _winner_layout(winner, layout):
    """with_layout for the int64 winners: the unused slots of a strided view hold -1, a piece
    that does not exist, so a kernel that reads them fails instead of passing by luck."""
    n, d = winner.shape
    if layout == "row_strided":
        big = np.full((2 * n, d), -1, np.int64)
        big[::2] = winner
        return big[::2]
    if layout == "col_strided":
        big = np.full((n, 2 * d), -1, np.int64)
        big[:, ::2] = winner
        return big[:, ::2]
    return with_layout(winner, layout)


def _maxout_inputs(rng, shape, dtype):
    n, d, k = shape
    return randn(rng, (n, d * k), dtype), randn(rng, (n, d), dtype)


@pytest.mark.parametrize("shape", MAXOUT_SHAPES, ids=MAXOUT_IDS)
def test_maxout_matches_reference(rng, dtype, layout, num_threads, simd_level, shape):
    n, d, k = shape
    S, dH = _maxout_inputs(rng, shape, dtype)
    H, winner = ops.maxout_forward(with_layout(S, layout), k)
    H_ref, winner_ref = reference.maxout_forward(S, k)
    assert H.dtype == dtype and H.shape == (n, d) and winner.dtype == np.int64 and winner.shape == (n, d)
    assert winner_ref.dtype == np.int64
    # a maximum is one of the inputs: no rounding anywhere
    assert np.array_equal(H, H_ref) and np.array_equal(winner, winner_ref)
    assert np.array_equal(H, S.reshape(n, d, k).max(axis=2))
    dS = ops.maxout_backward(with_layout(dH, layout), _winner_layout(winner, layout), k)
    assert dS.dtype == dtype and dS.shape == (n, d * k)
    assert np.array_equal(dS, reference.maxout_backward(dH, winner, k))


def test_maxout_ties_go_to_the_first_piece(module, dtype):
    S = np.array([[1, 3, 3, 2, 2, 2, -1, 0, 0]], dtype)
    H, winner = module.maxout_forward(S, 3)
    assert np.array_equal(H, [[3, 2, 0]]) and np.array_equal(winner, [[1, 0, 1]])
    dS = module.maxout_backward(np.array([[10, 20, 30]], dtype), winner, 3)
    assert np.array_equal(dS, [[0, 10, 0, 20, 0, 0, 0, 30, 0]])


def test_maxout_nan_wins_and_reaches_the_output(module, dtype):
    # the first NaN of a unit wins (numpy.argmax's choice): H is NaN there, and the
    # gradient goes back to that piece
    nan, inf = np.nan, np.inf
    S = np.array([[1, nan, 5, nan], [nan, 2, 3, 4], [-inf, -inf, 0, inf], [1, 2, 3, nan]], dtype)
    H, winner = module.maxout_forward(S, 4)
    assert np.array_equal(winner[:, 0], [1, 0, 3, 3])
    assert np.isnan(H[[0, 1, 3], 0]).all() and H[2, 0] == inf
    dS = module.maxout_backward(np.ones((4, 1), dtype), winner, 4)
    assert np.array_equal(dS, np.eye(4, dtype=dtype)[[1, 0, 3, 3]])
    S2 = np.array([[-inf, -inf]], dtype)
    assert np.array_equal(module.maxout_forward(S2, 2)[1], [[0]])


def test_maxout_nan_in_the_upstream_gradient_reaches_only_the_winner(module, dtype):
    dS = module.maxout_backward(np.array([[np.nan, 1.0]], dtype), np.array([[1, 0]]), 2)
    assert np.isnan(dS[0, 1]) and np.array_equal(dS[0, [0, 2, 3]], [0, 1, 0])


def test_maxout_with_one_piece_is_the_identity(module, dtype, rng):
    S = randn(rng, (5, 4), dtype)
    H, winner = module.maxout_forward(S, 1)
    assert np.array_equal(H, S) and not np.shares_memory(H, S) and not winner.any()
    assert np.array_equal(module.maxout_backward(S, winner, 1), S)


@pytest.mark.parametrize("shape", [(0, 3, 2), (4, 0, 3)])
def test_maxout_with_empty_input(module, dtype, shape):
    n, d, k = shape
    H, winner = module.maxout_forward(np.empty((n, d * k), dtype), k)
    assert H.shape == winner.shape == (n, d) and H.dtype == dtype
    dS = module.maxout_backward(np.empty((n, d), dtype), winner, k)
    assert dS.shape == (n, d * k) and dS.dtype == dtype


def test_maxout_backward_takes_any_integer_winners(module, dtype, rng):
    S, dH = _maxout_inputs(rng, (6, 5, 3), dtype)
    _, winner = module.maxout_forward(S, 3)
    want = module.maxout_backward(dH, winner, 3)
    for w in (winner.astype(np.int32), winner.astype(np.uint8), winner.tolist(), np.repeat(winner, 2, 1)[:, ::2]):
        assert np.array_equal(module.maxout_backward(dH, w, 3), want)


def test_maxout_is_bit_identical_across_thread_counts(rng, dtype, thread_count):
    S, dH = _maxout_inputs(rng, (600, 400, 3), dtype)
    H, winner = ops.maxout_forward(S, 3)
    assert_bit_identical_across_threads(thread_count, lambda: ops.maxout_forward(S, 3))
    assert_bit_identical_across_threads(thread_count, lambda: ops.maxout_backward(dH, winner, 3))


@pytest.mark.parametrize("k", [1, 2, 4])
def test_maxout_backward_matches_finite_differences(module, rng, k):
    S, R = _maxout_inputs(rng, (5, 4, k), F64)
    _, winner = module.maxout_forward(S, k)
    dS = module.maxout_backward(R, winner, k)
    # random pieces lie far apart compared with the step: no winner changes
    fd = central_difference(lambda s: float(np.sum(module.maxout_forward(s, k)[0] * R)), S, 1e-6)
    assert_close(dS, fd, GRAD_TOL, "dS")


def test_maxout_matches_torch(module, rng):
    torch = pytest.importorskip("torch")
    n, d, k = 33, 17, 3
    S, R = _maxout_inputs(rng, (n, d, k), F64)
    tS = torch.tensor(S, requires_grad=True)
    values, indices = tS.view(n, d, k).max(dim=2)
    values.backward(torch.from_numpy(R))
    H, winner = module.maxout_forward(S, k)
    assert np.array_equal(H, values.detach().numpy()) and np.array_equal(winner, indices.numpy())
    assert np.array_equal(module.maxout_backward(R, winner, k), tS.grad.numpy())


@pytest.mark.parametrize(
    "fn, change, error, words",
    [
        ("forward", dict(k=0), ValueError, "k must be >= 1"),
        ("forward", dict(k=2.0), TypeError, "k must be an integer"),
        ("forward", dict(S=np.ones((3, 7))), ValueError, "S must have D * k columns, a multiple of k = 2"),
        ("forward", dict(S=np.ones(6)), ValueError, "S must be 2-dimensional"),
        ("forward", dict(S=np.ones((3, 6), np.int64)), TypeError, "S must have dtype float32 or float64"),
        ("backward", dict(k=0), ValueError, "k must be >= 1"),
        ("backward", dict(winner=np.full((3, 3), 2)), ValueError, "winner must hold piece indices in [0, 2)"),
        ("backward", dict(winner=np.full((3, 3), -1)), ValueError, "found -1"),
        ("backward", dict(winner=np.zeros((3, 3))), TypeError, "winner must hold integer piece indices"),
        ("backward", dict(winner=np.zeros((3, 4), np.int64)), ValueError, "winner must have shape (3, 3)"),
        ("backward", dict(winner=None), TypeError, "winner must be an array of integer piece indices"),
        ("backward", dict(dH=np.ones((3, 3, 1))), ValueError, "dH must be 2-dimensional"),
    ],
    ids=["k_zero", "k_float", "S_columns", "S_ndim", "S_dtype", "bk_zero", "winner_high", "winner_negative",
         "winner_float", "winner_shape", "winner_none", "dH_ndim"],
)
def test_maxout_refuses_bad_arguments_in_both_backends(module, fn, change, error, words):
    args = {"S": np.ones((3, 6)), "dH": np.ones((3, 3)), "winner": np.zeros((3, 3), np.int64), "k": 2, **change}
    with pytest.raises(error, match=re.escape(words)):
        if fn == "forward":
            module.maxout_forward(args["S"], args["k"])
        else:
            module.maxout_backward(args["dH"], args["winner"], args["k"])


def test_maxout_hook_refuses_a_winner_outside_the_row():
    # called directly, _ops still refuses what would make C write outside dS
    with pytest.raises(ValueError, match="rejected its arguments"):
        _ops.maxout_backward(np.ones((2, 3)), np.array([[0, 1, 2], [0, 7, 1]]), 3)
    with pytest.raises(ValueError):
        _ops.maxout_forward(np.ones((2, 5)), 2)


@HYPOTHESIS
@given(n=st.integers(0, 30), d=st.integers(0, 40), k=st.integers(1, 6), dtype=st.sampled_from([np.float32, F64]),
       layout=st.sampled_from(["C", "F", "transposed", "row_strided", "col_strided"]),
       ties=st.booleans(), seed=st.integers(0, 2 ** 32 - 1))
def test_maxout_random_shapes(n, d, k, dtype, layout, ties, seed):
    rng = np.random.default_rng(seed)
    S = randn(rng, (n, d * k), dtype)
    if ties:  # few distinct values: many ties, where the first piece must win
        S = np.round(S).astype(dtype)
    H, winner = ops.maxout_forward(with_layout(S, layout), k)
    H_ref, winner_ref = reference.maxout_forward(S, k)
    assert np.array_equal(H, H_ref) and np.array_equal(winner, winner_ref)
    dH = randn(rng, (n, d), dtype)
    assert np.array_equal(ops.maxout_backward(with_layout(dH, layout), winner, k),
                          reference.maxout_backward(dH, winner, k))


@HYPOTHESIS
@given(n=st.integers(0, 30), d=st.integers(0, 40), p=st.floats(0.0, 0.99), seed=st.integers(0, 2 ** 64 - 1),
       step=st.integers(0, 2 ** 63 - 1), dtype=st.sampled_from([np.float32, F64]),
       layout=st.sampled_from(["C", "F", "transposed", "row_strided", "col_strided"]))
def test_dropout_random_shapes_and_streams(n, d, p, seed, step, dtype, layout):
    H = randn(np.random.default_rng(seed % 2 ** 32), (n, d), dtype)
    for name in ("dropout_forward", "dropout_backward"):
        got = getattr(ops, name)(with_layout(H, layout), p, seed, step)
        assert np.array_equal(got, getattr(reference, name)(H, p, seed, step))


# ------------------------------------------------------------------ softplus (the harness of
# test_ops.py runs it as one of the activations; here: its own numbers)

def test_softplus_worked_values(module, dtype):
    S = np.array([[0.0, 1.0, -1.0, 30.0, -30.0, 100.0, -100.0]], dtype)
    H = module.activation_forward("softplus", S)
    exact = [math.log1p(math.exp(s)) for s in S[0].astype(F64)]
    assert_close(H[0], exact, TOL[dtype])
    # far below zero softplus(s) ~ e^s: relative accuracy where the value is tiny (and a
    # normal number: e^-100 is subnormal in float32)
    for j in (4, 6) if dtype == F64 else (4,):
        assert rel_error(H[0, j], exact[j]) <= 4 * np.finfo(dtype).eps, (S[0, j], H[0, j], exact[j])
    big = np.array([[1e4, -1e4, np.inf, -np.inf]], dtype)
    assert np.array_equal(module.activation_forward("softplus", big), [[1e4, 0, np.inf, 0]])


def test_softplus_backward_is_the_sigmoid_of_the_input(module, dtype):
    S = np.linspace(-40, 40, 801).astype(dtype)[None, :]
    H = module.activation_forward("softplus", S)
    dS = module.activation_backward("softplus", np.ones_like(H), H)
    sigmoid = 1 / (1 + np.exp(-S[0].astype(F64)))
    # The slope 1 - e^-H comes from H (a few ulp off): H's relative error reaches it times
    # H e^-H <= 1/e, plus expm1's own rounding, within a few eps absolute; where sigmoid is
    # small (s < -5), -expm1(-H) ~ H keeps the relative accuracy of H and of expm1 (4 ulp each).
    eps = np.finfo(dtype).eps
    assert_close(dS[0], sigmoid, 4 * eps)
    far = S[0] < -5
    assert np.max(np.abs(dS[0][far] - sigmoid[far]) / sigmoid[far]) <= 8 * eps
    assert np.all(dS >= 0) and np.all(dS <= 1)


def test_softplus_is_bit_identical_across_thread_counts_at_every_level(rng, dtype, simd_level, thread_count):
    S = randn(rng, (512, 300), dtype, scale=5.0)
    H = ops.activation_forward("softplus", S)
    assert_bit_identical_across_threads(thread_count, lambda: ops.activation_forward("softplus", S))
    assert_bit_identical_across_threads(thread_count, lambda: ops.activation_backward("softplus", S, H))


def test_softplus_has_no_alpha(module):
    with pytest.raises(ValueError, match="alpha is only used by"):
        module.activation_forward("softplus", np.ones((2, 2)), alpha=0.5)


# ------------------------------------------------------------------ batch-norm running update

def _running_case(rng, d, dtype):
    rm, rv = randn(rng, d, dtype), (rng.random(d) + 0.5).astype(dtype)
    mean, var = randn(rng, d, dtype), (rng.random(d) * 3).astype(dtype)
    return rm, rv, mean, var


def _run_update(module, rm, rv, mean, var, n, momentum, unbiased):
    rm, rv = rm.copy(), rv.copy()
    assert module.batchnorm_running_update(rm, rv, mean, var, n, momentum, unbiased) is None
    return rm, rv


@pytest.mark.parametrize("d", [1, 7, 129])
@pytest.mark.parametrize("n,momentum,unbiased", [(2, 0.1, True), (16, 0.3, True), (1, 0.1, False),
                                                 (64, 0.9, False)])
def test_batchnorm_running_update_matches_reference(rng, dtype, num_threads, d, n, momentum, unbiased):
    rm, rv, mean, var = _running_case(rng, d, dtype)
    got = _run_update(ops, rm, rv, mean, var, n, momentum, unbiased)
    want = _run_update(reference, rm, rv, mean, var, n, momentum, unbiased)
    exact = _run_update(reference, *(a.astype(F64) for a in (rm, rv, mean, var)), n, momentum, unbiased)
    for g, w, e, what in zip(got, want, exact, ("running_mean", "running_var")):
        assert g.dtype == dtype
        assert_close(g, w, TOL[dtype], what)
        assert_close(g, e, TOL[dtype], what + " vs float64")


def test_batchnorm_running_update_worked_example(module, dtype):
    rm, rv = np.array([1.0, -2.0], dtype), np.array([1.0, 4.0], dtype)
    mean, var = np.array([3.0, 2.0], dtype), np.array([2.0, 0.5], dtype)
    # momentum 0.25: three quarters of the old value and a quarter of the batch's;
    # the unbiased variance of a batch of 5 is the biased one times 5/4
    module.batchnorm_running_update(rm, rv, mean, var, 5, 0.25, True)
    assert_close(rm, [1.5, -1.0], TOL[dtype])
    assert_close(rv, [0.75 + 0.25 * 2.5, 3.0 + 0.25 * 0.625], TOL[dtype])
    module.batchnorm_running_update(rm, rv, mean, var, 5, 1.0, False)
    assert np.array_equal(rm, mean) and np.array_equal(rv, var)
    before = (rm.copy(), rv.copy())
    module.batchnorm_running_update(rm, rv, mean * 7, var * 7, 5, 0.0, True)
    assert np.array_equal(rm, before[0]) and np.array_equal(rv, before[1])


def test_batchnorm_running_update_writes_through_strided_views(module, dtype, rng):
    rm, rv, mean, var = _running_case(rng, 6, dtype)
    want = _run_update(module, rm, rv, mean, var, 10, 0.1, True)
    big_m, big_v = np.repeat(rm, 2), np.repeat(rv, 2)
    module.batchnorm_running_update(big_m[::2], big_v[::2], np.repeat(mean, 2)[::2], var, 10, 0.1, True)
    assert np.array_equal(big_m[::2], want[0]) and np.array_equal(big_v[::2], want[1])
    assert np.array_equal(big_m[1::2], rm) and np.array_equal(big_v[1::2], rv)  # the gaps untouched


def test_batchnorm_running_update_keeps_nan_in_its_column(module, dtype, rng):
    rm, rv, mean, var = _running_case(rng, 4, dtype)
    mean[1], var[2] = np.nan, np.nan
    module.batchnorm_running_update(rm, rv, mean, var, 8, 0.1, True)
    assert np.array_equal(np.isnan(rm), [False, True, False, False])
    assert np.array_equal(np.isnan(rv), [False, False, True, False])


def test_batchnorm_running_update_is_bit_identical_across_thread_counts(rng, dtype, thread_count):
    rm, rv, mean, var = _running_case(rng, 100_000, dtype)
    assert_bit_identical_across_threads(thread_count,
                                        lambda: _run_update(ops, rm, rv, mean, var, 32, 0.1, True))


def _read_only(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize(
    "change, error, words",
    [
        (lambda a: a.update(rm=[0.0, 0.0, 0.0]), TypeError, "running_mean must be a float32 or float64 NumPy array"),
        (lambda a: a.update(rv=_read_only(np.ones(3))), ValueError, "running_var must be writeable"),
        (lambda a: a.update(rv=a["rm"]), ValueError, "running_mean and running_var must be separate arrays"),
        (lambda a: a.update(mean=np.zeros(4)), ValueError, "mean must have shape (3,)"),
        (lambda a: a.update(var=np.zeros(3, np.float32)), TypeError, "var has dtype float32"),
        (lambda a: a.update(rm=np.zeros((3, 1))), ValueError, "running_mean must be 1-dimensional"),
        (lambda a: a.update(n=1), ValueError, "n must be >= 2"),
        (lambda a: a.update(n=0, unbiased=False), ValueError, "n must be >= 1"),
        (lambda a: a.update(n=4.0), TypeError, "n must be an integer"),
        (lambda a: a.update(momentum=1.5), ValueError, "momentum must be a finite number in [0.0, 1.0]"),
        (lambda a: a.update(momentum=None), TypeError, "momentum must be a real number"),
        (lambda a: a.update(unbiased=1), TypeError, "unbiased must be True or False"),
    ],
    ids=["list", "read_only", "shared", "mean_shape", "dtype_mix", "ndim", "n_unbiased", "n_zero", "n_float",
         "momentum_range", "momentum_none", "unbiased_int"],
)
def test_batchnorm_running_update_refuses_bad_arguments_in_both_backends(module, change, error, words):
    args = {"rm": np.zeros(3), "rv": np.ones(3), "mean": np.zeros(3), "var": np.ones(3), "n": 4,
            "momentum": 0.1, "unbiased": True}
    change(args)
    before = [np.copy(a) for a in (args["rm"], args["rv"])]
    with pytest.raises(error, match=re.escape(words)):
        module.batchnorm_running_update(args["rm"], args["rv"], args["mean"], args["var"], args["n"],
                                        args["momentum"], args["unbiased"])
    assert all(np.array_equal(np.asarray(a), b) for a, b in zip((args["rm"], args["rv"]), before))


# ------------------------------------------------------------------ batch norm in eval mode

BN_EVAL_SHAPES = [(1, 1), (1, 7), (7, 33), (33, 64), (65, 65), (257, 7), (16, 129)]


def _bn_eval_case(rng, shape, dtype):
    n, d = shape
    S = (randn(rng, shape, dtype) * rng.uniform(0.5, 3, d) + rng.uniform(-5, 5, d)).astype(dtype)
    running_mean = rng.uniform(-5, 5, d).astype(dtype)
    running_var = rng.uniform(0.25, 9, d).astype(dtype)
    return S, randn(rng, d, dtype), randn(rng, d, dtype), running_mean, running_var, randn(rng, shape, dtype)


@pytest.mark.parametrize("shape", BN_EVAL_SHAPES, ids=["x".join(map(str, s)) for s in BN_EVAL_SHAPES])
def test_batchnorm_inference_matches_reference(rng, dtype, layout, num_threads, simd_level, shape):
    S, gamma, beta, rm, rv, dY = _bn_eval_case(rng, shape, dtype)
    (Y,) = check_against_reference("batchnorm_inference_forward", (S, gamma, beta, rm, rv), dtype,
                                   (with_layout(S, layout), gamma, beta, rm, rv))
    assert Y.shape == shape
    assert_same_as_c_layout("batchnorm_inference_forward", (Y,), (S, gamma, beta, rm, rv))
    args = (dY, S, gamma, rm, rv)
    got = check_against_reference("batchnorm_inference_backward", args, dtype,
                                  (with_layout(dY, layout), with_layout(S, layout), gamma, rm, rv))
    assert [g.shape for g in got] == [shape, (shape[1],), (shape[1],)]
    assert_same_as_c_layout("batchnorm_inference_backward", got, args)


@pytest.mark.parametrize("eps", [0.0, 1e-5, 0.5])
def test_batchnorm_inference_uses_eps(module, rng, dtype, eps):
    S, gamma, beta, rm, rv, dY = _bn_eval_case(rng, (6, 5), dtype)
    Y = module.batchnorm_inference_forward(S, gamma, beta, rm, rv, eps)
    want = gamma * (S.astype(F64) - rm) / np.sqrt(rv.astype(F64) + eps) + beta
    assert_close(Y, want, TOL[dtype])
    dS, _, _ = module.batchnorm_inference_backward(dY, S, gamma, rm, rv, eps)
    assert_close(dS, dY * (gamma / np.sqrt(rv.astype(F64) + eps)), TOL[dtype])


def test_batchnorm_inference_is_the_batch_pass_with_its_own_statistics(module, rng, dtype):
    # normalising with the batch's own mean and variance gives the training forward pass
    S, gamma, beta, _, _, dY = _bn_eval_case(rng, (40, 9), dtype)
    Y, mean, var = module.batchnorm_forward(S, gamma, beta)
    assert_close(module.batchnorm_inference_forward(S, gamma, beta, mean, var), Y, TOL[dtype])
    # and the backward pass is the first of the three terms (the statistics held fixed)
    _, dgamma, dbeta = module.batchnorm_backward(dY, S, gamma, mean, var)
    dS, dgamma_eval, dbeta_eval = module.batchnorm_inference_backward(dY, S, gamma, mean, var)
    assert_close(dS, dY * gamma / np.sqrt(var.astype(F64) + 1e-5), TOL[dtype])
    # both are sums over the batch: their rounding is relative to the size of the terms
    s_hat = np.abs(S.astype(F64) - mean) / np.sqrt(var.astype(F64) + 1e-5)
    assert_close(dgamma_eval, dgamma, TOL[dtype], scale=float((np.abs(dY) * s_hat).sum(0).max()))
    assert_close(dbeta_eval, dbeta, TOL[dtype], scale=float(np.abs(dY).sum(0).max()))


def test_batchnorm_inference_keeps_nan_in_its_column(module, dtype, rng):
    S, gamma, beta, rm, rv, dY = _bn_eval_case(rng, (8, 5), dtype)
    S[3, 2] = np.nan
    Y = module.batchnorm_inference_forward(S, gamma, beta, rm, rv)
    assert np.array_equal(np.isnan(Y), np.isnan(S))  # the statistics are fixed: only the element
    dY[0, 4] = np.nan
    dS, dgamma, dbeta = module.batchnorm_inference_backward(dY, S, gamma, rm, rv)
    assert np.array_equal(np.isnan(dS), np.isnan(dY))  # dS does not read S
    assert np.array_equal(np.isnan(dgamma), [False, False, True, False, True])
    assert np.array_equal(np.isnan(dbeta), [False, False, False, False, True])


@pytest.mark.parametrize("shape", [(0, 4), (3, 0), (0, 0)])
def test_batchnorm_inference_with_empty_input(module, dtype, shape):
    n, d = shape
    vec = np.ones(d, dtype)
    Y = module.batchnorm_inference_forward(np.empty(shape, dtype), vec, vec, vec, vec)
    assert Y.shape == shape and Y.dtype == dtype
    dS, dgamma, dbeta = module.batchnorm_inference_backward(np.empty(shape, dtype), np.empty(shape, dtype),
                                                            vec, vec, vec)
    assert dS.shape == shape and np.array_equal(dgamma, np.zeros(d)) and np.array_equal(dbeta, np.zeros(d))


@pytest.mark.parametrize("shape", [(512, 512), (300, 257)], ids=["512x512", "300x257"])
def test_batchnorm_inference_is_bit_identical_across_thread_counts(rng, dtype, shape, simd_level, thread_count):
    S, gamma, beta, rm, rv, dY = _bn_eval_case(rng, shape, dtype)
    assert_bit_identical_across_threads(thread_count,
                                        lambda: ops.batchnorm_inference_forward(S, gamma, beta, rm, rv))
    assert_bit_identical_across_threads(thread_count,
                                        lambda: ops.batchnorm_inference_backward(dY, S, gamma, rm, rv))


@pytest.mark.parametrize("shape", [(1, 3), (6, 4)])
def test_batchnorm_inference_backward_matches_finite_differences(module, rng, shape):
    S, gamma, beta, rm, rv, R = _bn_eval_case(rng, shape, F64)
    dS, dgamma, dbeta = module.batchnorm_inference_backward(R, S, gamma, rm, rv)

    def J(S=S, gamma=gamma, beta=beta):
        return float(np.sum(module.batchnorm_inference_forward(S, gamma, beta, rm, rv) * R))

    # J is linear in each of S, gamma and beta: a large step has no truncation error
    assert_close(dS, central_difference(lambda s: J(S=s), S, 0.5), GRAD_TOL, "dS")
    assert_close(dgamma, central_difference(lambda g: J(gamma=g), gamma, 0.5), GRAD_TOL, "dgamma")
    assert_close(dbeta, central_difference(lambda b: J(beta=b), beta, 0.5), GRAD_TOL, "dbeta")


def test_batchnorm_inference_matches_torch(module, rng):
    torch = pytest.importorskip("torch")
    S, gamma, beta, rm, rv, R = _bn_eval_case(rng, (33, 17), F64)
    tS, tg, tb = (torch.tensor(a, requires_grad=True) for a in (S, gamma, beta))
    out = torch.nn.functional.batch_norm(tS, torch.from_numpy(rm), torch.from_numpy(rv), tg, tb,
                                         training=False, eps=1e-3)
    out.backward(torch.from_numpy(R))
    tol = TOL[np.dtype(F64)]
    assert_close(module.batchnorm_inference_forward(S, gamma, beta, rm, rv, 1e-3), out.detach().numpy(), tol, "Y")
    for got, t, what in zip(module.batchnorm_inference_backward(R, S, gamma, rm, rv, 1e-3), (tS, tg, tb),
                            ("dS", "dgamma", "dbeta")):
        assert_close(got, t.grad.numpy(), tol, what)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_batchnorm_layer_in_eval_mode_calls_the_kernels(backend, rng, monkeypatch):
    layer = L.BatchNorm(4)
    layer.build(np.random.default_rng(0), np.float64)
    layer.backend = backend
    layer.running_mean, layer.running_var = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    X, dOut = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    kernels = L.BACKENDS[backend]
    Y = layer.forward(X, training=False)
    assert np.array_equal(Y, kernels.batchnorm_inference_forward(X, layer.gamma, layer.beta, layer.running_mean,
                                                                 layer.running_var, layer.eps))
    layer.running_var = layer.running_var * 4  # the pass keeps the statistics it normalised with
    dX = layer.backward(dOut)
    want = kernels.batchnorm_inference_backward(dOut, X, layer.gamma, layer.running_mean, layer.running_var / 4,
                                                layer.eps)
    assert np.array_equal(dX, want[0])
    assert np.array_equal(layer.grads["gamma"], want[1]) and np.array_equal(layer.grads["beta"], want[2])


# ------------------------------------------------------------------ softplus end to end

@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_softplus_through_the_layer_api(backend, rng, tmp_path):
    X, y = rng.standard_normal((40, 5)), rng.integers(0, 3, size=40)
    assert L.Softplus().name == "softplus" and fastnn.Softplus().alpha is None
    model = fastnn.MLP([5, 8, 3], activation="softplus", dtype="float64", backend=backend, seed=4)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Activation", "Dense"]
    history = model.fit(X, y, epochs=20, batch_size=10, optimizer=optim.Adam(0.01), verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    errors = fastnn.gradient_check(model, X[:6], y[:6])
    assert max(errors.values()) < 1e-6, errors
    path = tmp_path / "softplus.npz"
    model.save(path)
    loaded = fastnn.load(path)
    assert loaded.layers[1].name == "softplus"
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_softplus_in_the_engine_equals_layer_by_layer(rng):
    X, y = rng.standard_normal((64, 5)), rng.integers(0, 3, size=64)
    results = []
    for backend, use_engine in (("c", True), ("c", False), ("numpy", False)):
        model = fastnn.Sequential([L.Dense(5, 7), L.Softplus(), L.Dense(7, 3)], dtype="float64",
                                  backend=backend, seed=1)
        model.use_engine = use_engine
        hist = model.fit(X, y, epochs=3, batch_size=16, optimizer=optim.SGD(0.1), verbose=0)
        results.append((hist.history["loss"], model.get_state()["params"]))
    for losses, params in results[1:]:
        assert rel_error(losses, results[0][0]) <= 1e-10
        for name, value in params.items():
            assert rel_error(value, results[0][1][name]) <= 1e-10, name


# ------------------------------------------------------------------ the layer-by-layer path fuses

@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_layer_by_layer_forward_fuses_dense_and_activation(backend, rng, monkeypatch):
    model = fastnn.Sequential([L.Dense(5, 6), L.Tanh(), L.Dense(6, 4, bias=False), L.ReLU(), L.Dropout(0.2),
                               L.Dense(4, 3)], dtype="float64", backend=backend, seed=0)
    X = rng.standard_normal((9, 5))
    # the same outputs as running the layers one by one
    H = X
    for layer in model.layers:
        H = layer.forward(H, False)
    kernels = L.BACKENDS[backend]
    calls = []
    real = kernels.dense_forward

    def spy(*args, **kwargs):
        calls.append(args[3])
        return real(*args, **kwargs)

    monkeypatch.setattr(kernels, "dense_forward", spy)
    monkeypatch.setattr(L.Activation, "forward", lambda self, X, training=False: pytest.fail("not fused"))
    assert np.array_equal(model.eval().forward(X), H)
    assert calls == ["tanh", "relu"]
    # and the backward pass reads what the fused forward left in both layers
    model.train()
    twin = model.copy()  # the same parameters and the same dropout stream
    dOut = rng.standard_normal((9, 3))
    model.forward(X)
    dX = model.backward(dOut)
    monkeypatch.undo()
    H = X
    for layer in twin.layers:
        H = layer.forward(H, True)
    g = dOut
    for layer in reversed(twin.layers):
        g = layer.backward(g)
    assert np.array_equal(dX, g)
    for name, grad in model.gradients().items():
        assert np.array_equal(grad, twin.gradients()[name]), name
