"""Shared fixtures and helpers for the fastnn test suite.

Helpers are plain functions (imported by the test modules with
``from conftest import ...``); fixtures set global library state (threads,
SIMD level) and always put it back, so no test depends on the order of others.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import fastnn
from fastnn import _ops, ops, reference

DTYPES = (np.float32, np.float64)

# The spec's tolerances for ops vs reference (relative to the output's scale).
TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
# Backward passes vs central finite differences, always in float64.
GRAD_TOL = 1e-7

ACTIVATIONS = _ops.ACTIVATIONS  # fastnn.h's table FNN_ACTIVATIONS
KERNEL_NAMES = tuple(reference.__all__)
MODULES = {"ops": ops, "reference": reference}

LAYOUTS = ("C", "F", "transposed", "row_strided", "col_strided")
SIMD_LEVELS = tuple(_ops.simd_supported())


# ---------------------------------------------------------------- comparison

def rel_error(actual, expected, scale=0.0) -> float:
    """max|actual - expected| / max(max|expected|, scale, tiny), computed in float64."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if expected.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(expected))), float(scale), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(actual - expected))) / scale


def assert_close(actual, expected, tol, what="result", scale=0.0):
    """Same shape, NaN in the same places, and relative error <= tol elsewhere.

    ``scale`` (optional) is the size of the terms the result was summed from;
    see ``SUMMAND_SCALE``.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    assert np.array_equal(nan_a, nan_e), f"{what}: NaN in different places"
    keep = ~nan_e
    err = rel_error(actual[keep], expected[keep], scale)
    assert err <= tol, f"{what}: relative error {err:.3e} > {tol:.1e}"


# The scale of a result that is a sum is the size of its terms, not of the sum:
# 18 float32 terms of size 1 that cancel to 0.008 carry a rounding error of about
# 1e-7 in any summation order, 1e-5 of the sum but 1e-7 of the terms. For each
# reduction output (kernel name, output index), the largest sum of |terms| over
# its elements, from the float64 inputs. Outputs not listed use their own size.
def _batchnorm_summands(dY, S, gamma, mean, var, eps=1e-5):
    inv_std = 1.0 / np.sqrt(var + eps)
    s_hat = np.abs((S - mean) * inv_std)
    g = np.abs(dY * gamma) * inv_std
    return {
        0: float(np.max(g + (g * s_hat).sum(0) / len(S) * s_hat + g.sum(0) / len(S))),
        1: float(np.max((np.abs(dY) * s_hat).sum(0))),
        2: float(np.max(np.abs(dY).sum(0))),
    }


def _soft_cross_entropy_summands(S, Y):
    # dS = (p sum(y) - y) / n: a difference of terms of size p sum(y) and y
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return {1: float(np.max(P * Y.sum(axis=1, keepdims=True) + np.abs(Y))) / len(S)}


def _binary_cross_entropy_summands(S, y):
    # per sample max(s, 0) - s y + log(1 + e^-|s|), and dS = (sigmoid(s) - y) / n
    y = y.reshape(S.shape)
    terms = np.maximum(S, 0) + np.abs(S * y) + np.log1p(np.exp(-np.abs(S)))
    return {0: float(terms.sum()) / len(S), 1: float(np.max(1 + np.abs(y))) / len(S)}
def _batchnorm_inference_summands(dY, S, gamma, running_mean, running_var, eps=1e-5):
    s_hat = np.abs(S - running_mean) / np.sqrt(running_var + eps)
    return {1: float(np.max((np.abs(dY) * s_hat).sum(0), initial=0.0)),
            2: float(np.max(np.abs(dY).sum(0), initial=0.0))}


SUMMAND_SCALE = {
    "linear_forward": lambda X, W, b: {
        0: float(np.max(np.abs(X) @ np.abs(W).T + np.abs(b), initial=0.0))},
    "linear_backward": lambda dS, X, W: {
        0: float(np.max(np.abs(dS) @ np.abs(W), initial=0.0)),
        1: float(np.max(np.abs(dS).T @ np.abs(X), initial=0.0)),
        2: float(np.max(np.abs(dS).sum(0), initial=0.0))},
    "batchnorm_forward": lambda S, gamma, beta, eps=1e-5: {
        1: float(np.max(np.abs(S).sum(0) / len(S)))},
    "batchnorm_backward": _batchnorm_summands,
    "softmax_cross_entropy": lambda S, y: _soft_cross_entropy_summands(S, y) if y.ndim == 2 else {},
    "sigmoid_binary_cross_entropy": lambda S, y: _binary_cross_entropy_summands(S, y),
    "batchnorm_inference_backward": _batchnorm_inference_summands,
}


def summand_scales(name, args, kwargs):
    rule = SUMMAND_SCALE.get(name)
    if rule is None:
        return {}
    return rule(*[np.asarray(a, dtype=np.float64) for a in args], **kwargs)


def as_tuple(result):
    """Kernel results as a tuple: single arrays become 1-tuples."""
    return result if isinstance(result, tuple) else (result,)


def run_both(name, args_ops, args_ref=None, **kwargs):
    """(ops result, reference result) as tuples; reference gets args_ref if given."""
    got = as_tuple(getattr(ops, name)(*args_ops, **kwargs))
    want = as_tuple(getattr(reference, name)(*(args_ops if args_ref is None else args_ref), **kwargs))
    return got, want


def check_against_reference(name, args, dtype, layout_args=None, **kwargs):
    """Compare ops[name] with reference[name] at the dtype's tolerance.

    ``args`` are C-ordered inputs of ``dtype``; ``layout_args`` (default: args)
    is what ops receives, so the reference is computed on plain arrays and a
    layout bug in ops cannot be masked by the same bug in the reference.
    Float32 results are checked twice: against the float32 reference (the
    contract) and against the float64 reference on the upcast inputs (how
    close ops is to the exact answer, independent of NumPy's float32 rounding).
    Returns the ops result tuple.
    """
    dtype = np.dtype(dtype)
    got, want = run_both(name, args if layout_args is None else layout_args, args, **kwargs)
    assert len(got) == len(want)
    scales = summand_scales(name, args, kwargs)
    for k, (g, w) in enumerate(zip(got, want)):
        assert np.asarray(g).dtype == dtype, f"{name} output {k}: dtype {np.asarray(g).dtype}"
        assert_close(g, w, TOL[dtype], f"{name} output {k}", scales.get(k, 0.0))
    if dtype == np.float32:
        args64 = [upcast(a) for a in args]
        want64 = as_tuple(getattr(reference, name)(*args64, **kwargs))
        for k, (g, w) in enumerate(zip(got, want64)):
            assert_close(g, w, TOL[dtype], f"{name} output {k} vs float64 reference",
                         scales.get(k, 0.0))
    return got


def upcast(a):
    if isinstance(a, np.ndarray) and a.dtype == np.float32:
        return a.astype(np.float64)
    return a


# ---------------------------------------------------------------- layouts

def with_layout(a: np.ndarray, layout: str) -> np.ndarray:
    """The same values as the 2-D array ``a``, stored with the named layout.

    The strided layouts are views into a larger buffer whose unused slots hold
    NaN, so a kernel that reads the wrong elements gets NaN in its result.
    """
    n, d = a.shape
    if layout == "C":
        out = np.ascontiguousarray(a)
    elif layout == "F":
        out = np.asfortranarray(a)
    elif layout == "transposed":
        out = np.ascontiguousarray(a.T).T  # A.T of a C-ordered (d, n) array
    elif layout == "row_strided":
        big = np.full((2 * n, d), np.nan, dtype=a.dtype)
        big[::2] = a
        out = big[::2]
    elif layout == "col_strided":
        big = np.full((n, 2 * d), np.nan, dtype=a.dtype)
        big[:, ::2] = a
        out = big[:, ::2]
    elif layout == "reversed":
        # negative strides in both directions (beyond the listed layouts; GEMM reads any stride)
        out = np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]
    else:
        raise ValueError(layout)
    assert np.array_equal(out, a, equal_nan=True)
    return out


# ---------------------------------------------------------------- inputs

def randn(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def away_from_kinks(S, margin=1e-2):
    """Move every entry at least ``margin`` away from 0 (the kink of relu, leaky_relu, elu)."""
    return np.where(S >= 0, S + margin, S - margin).astype(S.dtype)


def labels(rng, n, c):
    return rng.integers(0, c, size=n)


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def rng(request):
    # Seeded from the test's id: stable across runs and processes (str hash() is
    # salted), different between tests, so a failure reproduces.
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(params=DTYPES, ids=lambda t: np.dtype(t).name)
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture(params=LAYOUTS)
def layout(request):
    return request.param


class ThreadCount:
    """Set the kernel thread count for a test; the fixture restores the original."""

    def __init__(self):
        self.original = fastnn.get_num_threads()

    def set(self, n):
        fastnn.set_num_threads(n)
        assert fastnn.get_num_threads() == n


@pytest.fixture
def thread_count():
    """Sets fastnn's thread count for a test. The thread choice is pinned to all threads
    meanwhile, so that a kernel asked for 2 threads runs on 2 (a measuring chooser would
    run some calls on one, and the solo rule after a late helper)."""
    tc = ThreadCount()
    _ops.set_thread_choice("all")
    try:
        yield tc
    finally:
        fastnn.set_num_threads(tc.original)
        _ops.set_thread_choice("measure")


@pytest.fixture(params=[1, 2], ids=lambda n: f"threads{n}")
def num_threads(request, thread_count):
    thread_count.set(request.param)
    return request.param


@pytest.fixture
def restore_simd():
    original = _ops.simd_level()
    try:
        yield
    finally:
        _ops.set_simd_level(original)


@pytest.fixture(params=SIMD_LEVELS)
def simd_level(request, restore_simd):
    _ops.set_simd_level(request.param)
    assert _ops.simd_level() == request.param
    return request.param


@pytest.fixture(params=list(MODULES), ids=list(MODULES))
def module(request):
    """Each backend in turn, for behaviour both must share."""
    return MODULES[request.param]


# ---------------------------------------------------------------- models

def classification_data(rng, n=40, d=5, classes=3):
    """A small float64 classification problem: X (n, d), integer labels y."""
    return rng.standard_normal((n, d)), rng.integers(0, classes, size=n)


def snapshot(model):
    """Copies of everything fit may change: parameters, buffers, dropout counters, shuffle state."""
    state = model.get_state()
    state["dropout"] = [(getattr(layer, "seed", None), getattr(layer, "step", None)) for layer in model.layers]
    state["shuffle"] = model._shuffle_rng.bit_generator.state
    return state


def assert_same_snapshot(before, after):
    for kind in ("params", "buffers"):
        assert before[kind].keys() == after[kind].keys()
        for name in before[kind]:
            assert np.array_equal(before[kind][name], after[kind][name]), f"{kind} {name} changed"
    assert before["dropout"] == after["dropout"]
    assert before["shuffle"] == after["shuffle"]
