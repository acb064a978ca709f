"""The vector math behind the activations and the loss (csrc/vmath.h), through _ops.vmath.

What the kernels promise, at every SIMD level: float32 results within 4 ulp of
the exact value and float64 results within 1e-14 relative error (plus a few
units of the smallest subnormal where the result underflows), over each
function's whole range; exp overflows to inf and underflows to 0, NaN gives
NaN, tanh(+-inf) = +-1, sigmoid(-inf) = 0, and expm1/log1p/tanh/sigmoid stay
accurate near 0. "Exact" is NumPy's long double (x87 extended) result, which is
far more precise than either dtype.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import DTYPES, SIMD_LEVELS
from fastnn import _ops

FUNCTIONS = _ops.VMATH_FUNCTIONS
ULP_BOUND_F32 = 4.0
REL_BOUND_F64 = 1e-14

LD = np.longdouble
EXACT = {
    "exp": np.exp,
    "expm1": np.expm1,
    "log": np.log,
    "tanh": np.tanh,
    "sigmoid": lambda x: LD(1) / (LD(1) + np.exp(-x)),
    "log1p": np.log1p,
}

# Sweep ranges: past both ends of each function's interesting range.
RANGES = {
    np.dtype(np.float32): {"exp": (-110, 95), "expm1": (-100, 95), "tanh": (-25, 25),
                           "sigmoid": (-110, 110), "log2": (-149, 128)},
    np.dtype(np.float64): {"exp": (-750, 715), "expm1": (-760, 715), "tanh": (-40, 40),
                           "sigmoid": (-750, 750), "log2": (-1074, 1024)},
}
N_DENSE = 400_000


def sweep(name, dtype):
    """Dense points over the whole range, plus a log-spaced sweep near 0 of both signs."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(sum(map(ord, name)) + dtype.itemsize)
    if name == "log":
        lo, hi = RANGES[dtype]["log2"]
        x = np.exp2(rng.uniform(lo, hi, N_DENSE))
        x = np.concatenate([x, np.linspace(0.5, 2.0, N_DENSE // 4)])
    elif name == "log1p":
        # x > 0 up to the largest values, x in (-1, 0), 1 + x down to one ulp, and the middle
        lo, hi = RANGES[dtype]["log2"]
        digits = np.finfo(dtype).nmant + 1
        x = np.concatenate([np.exp2(rng.uniform(lo, hi, N_DENSE)), -np.exp2(rng.uniform(lo, 0, N_DENSE // 4)),
                            np.exp2(rng.uniform(-digits, 0, N_DENSE // 4)) - 1,
                            np.linspace(-0.75, 2.0, N_DENSE // 4)])
    else:
        lo, hi = RANGES[dtype][name]
        tiny = np.logspace(np.log10(np.finfo(dtype).tiny), 0, N_DENSE // 4)
        x = np.concatenate([np.linspace(lo, hi, N_DENSE), rng.uniform(-1, 1, N_DENSE // 4),
                            tiny, -tiny])
    x = x.astype(dtype)
    return x[np.isfinite(x)]


_cache = {}


def exact(name, x):
    key = (name, x.dtype, x.size)
    if key not in _cache:
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            _cache[key] = EXACT[name](x.astype(LD))
    return _cache[key]


def errors(name, x, y):
    """float32: error in units of the last place of the rounded exact value;
    float64: |y - exact| / (|exact| + subnormal slack)."""
    e = exact(name, x)
    y = y.astype(LD)
    if x.dtype == np.float32:
        with np.errstate(over="ignore"):
            e32 = e.astype(np.float32)
        finite = np.isfinite(e32)
        assert np.all(np.isinf(y[~finite]) & (np.sign(y[~finite]) == np.sign(e32[~finite]))), \
            f"{name}: exact result overflows float32 but the kernel's does not"
        ulp = np.spacing(np.abs(e32[finite])).astype(LD)
        return np.abs(y[finite] - e[finite]) / ulp
    slack = LD(4) * LD(np.finfo(np.float64).smallest_subnormal) / LD(REL_BOUND_F64)
    big = np.abs(e) > LD(np.finfo(np.float64).max)
    assert np.all(np.isinf(y[big])), f"{name}: exact result overflows float64 but the kernel's does not"
    return np.abs(y[~big] - e[~big]) / (np.abs(e[~big]) + slack)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_error_bound_over_a_dense_sweep(name, dtype, simd_level):
    x = sweep(name, dtype)
    y = _ops.vmath(name, x)
    assert y.dtype == dtype
    err = float(np.max(errors(name, x, y)))
    if dtype == np.float32:
        assert err <= ULP_BOUND_F32, f"{name} float32 at {simd_level}: {err:.2f} ulp"
    else:
        assert err <= REL_BOUND_F64, f"{name} float64 at {simd_level}: relative error {err:.2e}"


def _edge_cases(dtype):
    fi = np.finfo(dtype)
    inf, nan = np.inf, np.nan
    big = 1e30 if dtype == np.float32 else 1e300
    return {
        "exp": [(nan, nan), (inf, inf), (-inf, 0.0), (0.0, 1.0), (-0.0, 1.0), (big, inf),
                (-big, 0.0), (float(fi.max), inf)],
        "expm1": [(nan, nan), (inf, inf), (-inf, -1.0), (0.0, 0.0), (big, inf), (-big, -1.0),
                  (float(fi.smallest_subnormal), float(fi.smallest_subnormal))],
        "log": [(nan, nan), (inf, inf), (0.0, -inf), (-0.0, -inf), (-1.0, nan), (-inf, nan),
                (1.0, 0.0)],
        "tanh": [(nan, nan), (inf, 1.0), (-inf, -1.0), (big, 1.0), (-big, -1.0), (0.0, 0.0),
                 (float(fi.smallest_subnormal), float(fi.smallest_subnormal))],
        "sigmoid": [(nan, nan), (inf, 1.0), (-inf, 0.0), (big, 1.0), (-big, 0.0), (0.0, 0.5)],
        "log1p": [(nan, nan), (inf, inf), (-inf, nan), (-1.0, -inf), (-2.0, nan), (0.0, 0.0), (1.0, np.log(2.0)),
                  (float(fi.smallest_subnormal), float(fi.smallest_subnormal))],
    }


@pytest.mark.parametrize("name", FUNCTIONS)
def test_edge_values(name, dtype, simd_level):
    cases = _edge_cases(dtype)[name]
    x = np.array([c[0] for c in cases], dtype=dtype)
    want = np.array([c[1] for c in cases], dtype=dtype)
    with np.errstate(all="ignore"):
        got = _ops.vmath(name, x)
    assert np.array_equal(got, want, equal_nan=True), f"{name}({x}) = {got}, want {want}"


def test_tanh_is_exactly_one_past_its_clamp(dtype, simd_level):
    # vm_tanh evaluates its rational at min(|x|, clamp); that value must round to 1
    clamp = 10.0 if dtype == np.float32 else 19.25
    x = np.concatenate([np.linspace(clamp, 4 * clamp, 1001), np.nextafter(clamp, 0) * np.ones(1)])
    got = _ops.vmath("tanh", np.concatenate([x, -x]).astype(dtype))
    assert np.array_equal(got, np.concatenate([np.ones(x.size), -np.ones(x.size)]).astype(dtype))


def test_tanh_and_sigmoid_stay_in_range(dtype, simd_level):
    # the backward passes take 1 - h^2 and h (1 - h) from the output: never negative
    for name, lo in (("tanh", -1), ("sigmoid", 0)):
        y = _ops.vmath(name, sweep(name, dtype))
        assert y.min() >= lo and y.max() <= 1, name


@pytest.mark.parametrize("name", ["tanh", "log1p"])
def test_odd_functions_keep_the_sign_of_zero(name, dtype, simd_level):
    got = _ops.vmath(name, np.array([0.0, -0.0], dtype=dtype))
    assert list(np.signbit(got)) == [False, True]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_an_element_gives_the_same_bits_wherever_it_sits(name, dtype, simd_level, rng):
    # vector body and scalar remainder must compute the same thing, so a result
    # cannot depend on the row length or on how a caller splits the work
    x = (rng.standard_normal(203) * 5).astype(dtype)
    if name in ("log", "log1p"):
        x = np.abs(x)
    whole = _ops.vmath(name, x)
    for start in (1, 3, 7, 200):
        assert np.array_equal(_ops.vmath(name, x[start:].copy()), whole[start:])


def test_levels_agree_to_rounding(dtype, restore_simd, rng):
    x = (rng.standard_normal(1000) * 4).astype(dtype)
    tol = 4 * np.finfo(dtype).eps
    for name in FUNCTIONS:
        arg = np.abs(x) + dtype.type(0.1) if name in ("log", "log1p") else x
        results = []
        for level in SIMD_LEVELS:
            _ops.set_simd_level(level)
            results.append(_ops.vmath(name, arg))
        for r in results[1:]:
            np.testing.assert_allclose(r, results[0], rtol=tol, atol=0)


def test_bad_name_and_empty_input():
    with pytest.raises(ValueError, match="name must be one of"):
        _ops.vmath("cos", np.zeros(3))
    for dtype in DTYPES:
        assert _ops.vmath("exp", np.zeros(0, dtype=dtype)).shape == (0,)
