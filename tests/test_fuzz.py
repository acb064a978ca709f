"""Fuzzing of the kernels against their reference (hypothesis, bounded).

Random shapes, layouts (Fortran order, negative strides, strided views,
misaligned and read-only arrays), dtypes, and NaN, infinities and huge values
go into every kernel of fastnn.ops. Finite inputs must agree with
fastnn.reference at the dtype's tolerance; inputs with non-finite or huge
values must give the same NaN pattern (and the same infinities) as the
reference. Under the sanitizer build (.ci/run) these tests also show that no
layout makes a kernel read or write out of bounds or load misaligned.

FASTNN_FUZZ_EXAMPLES sets the examples per test (default 25) for a long run,
e.g. ``FASTNN_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz*.py``.
"""

import os
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from fastnn import ops, reference  # noqa: E402

from conftest import ACTIVATIONS, KERNEL_NAMES, TOL, assert_close, summand_scales  # noqa: E402

EXAMPLES = int(os.environ.get("FASTNN_FUZZ_EXAMPLES", "25"))
# the default run draws the same examples every time (CI stays reproducible); a long run
# with FASTNN_FUZZ_EXAMPLES set explores new ones. No example database is written.
DERANDOMIZE = "FASTNN_FUZZ_EXAMPLES" not in os.environ
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

INPUT_LAYOUTS = ("C", "F", "reversed", "row_strided", "col_strided", "misaligned", "readonly")


def misaligned(a):
    """a's values in an array that starts one byte into its buffer (flags.aligned False)."""
    a = np.ascontiguousarray(a)
    raw = np.zeros(a.nbytes + 1, dtype=np.uint8)
    out = raw[1:1 + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned or a.itemsize == 1 or a.size == 0
    return out


def in_layout(a, layout):
    """The values of a (1- or 2-D) stored in the named layout; padding slots hold NaN."""
    if layout == "C":
        return np.array(a, order="C")
    if layout == "F":
        return np.array(a, order="F")
    if layout == "reversed":  # negative strides on every axis
        flip = (slice(None, None, -1),) * a.ndim
        return np.ascontiguousarray(a[flip])[flip]
    if layout == "row_strided":
        big = np.full((2 * a.shape[0],) + a.shape[1:], np.nan, dtype=a.dtype)
        big[::2] = a
        return big[::2]
    if layout == "col_strided":
        if a.ndim == 1:
            return in_layout(a, "row_strided")
        big = np.full((a.shape[0], 3 * a.shape[1]), np.nan, dtype=a.dtype)
        big[:, ::3] = a
        return big[:, ::3]
    if layout == "misaligned":
        return misaligned(a)
    if layout == "readonly":
        out = np.array(a)
        out.flags.writeable = False
        return out
    raise ValueError(layout)


# ---------------------------------------------------------------- kernel cases
# Each builder returns (args, kwargs, in_place): args in the reference's order, plain
# C-ordered arrays; in_place lists the indices of arrays the kernel updates.

def _r(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _pos(rng, shape, dtype):
    return (rng.random(shape) + 0.1).astype(dtype)


def _act(draw):
    return draw(st.sampled_from(ACTIVATIONS))


def build(name, draw, rng, n, d, dtype):
    m = draw(st.integers(1, 17))
    if name == "linear_forward":
        return [_r(rng, (n, d), dtype), _r(rng, (m, d), dtype), _r(rng, (m,), dtype)], {}, ()
    if name == "linear_backward":
        return [_r(rng, (n, m), dtype), _r(rng, (n, d), dtype), _r(rng, (m, d), dtype)], {}, ()
    if name == "dense_forward":
        act = _act(draw)
        return [_r(rng, (n, d), dtype), _r(rng, (m, d), dtype), _r(rng, (m,), dtype), act], {}, ()
    if name == "activation_forward":
        return [_act(draw), _r(rng, (n, d), dtype)], {}, ()
    if name == "activation_backward":
        act = _act(draw)
        H = reference.activation_forward(act, _r(rng, (n, d), dtype))
        return [act, _r(rng, (n, d), dtype), H], {}, ()
    if name == "batchnorm_forward":
        return [_r(rng, (n, d), dtype), _r(rng, (d,), dtype), _r(rng, (d,), dtype)], {}, ()
    if name == "batchnorm_backward":
        S, gamma = _r(rng, (n, d), dtype), _r(rng, (d,), dtype)
        _, mean, var = reference.batchnorm_forward(S, gamma, np.zeros(d, dtype))
        return [_r(rng, (n, d), dtype), S, gamma, mean, var], {}, ()
    if name == "softmax_cross_entropy":
        return [_r(rng, (n, m), dtype, 3.0), rng.integers(0, m, n)], {}, ()
    if name == "sigmoid_binary_cross_entropy":
        return [_r(rng, (n, m), dtype, 3.0), rng.integers(0, 2, (n, m)).astype(dtype)], {}, ()
    if name == "mse":
        return [_r(rng, (n, d), dtype), _r(rng, (n, d), dtype)], {}, ()
    if name == "softmax":
        return [_r(rng, (n, d), dtype, 3.0)], {}, ()
    if name == "sgd_update":
        first = draw(st.booleans())
        nesterov = draw(st.booleans())
        return ([_r(rng, (n, d), dtype), _r(rng, (n, d), dtype), _r(rng, (n, d), dtype), 0.1],
                {"momentum": 0.9, "dampening": 0.0 if nesterov else 0.1, "nesterov": nesterov, "first_step": first,
                 "l2": 0.01}, (0, 2))
    if name == "adagrad_update":
        return ([_r(rng, (n, d), dtype), _r(rng, (n, d), dtype), _pos(rng, (n, d), dtype), 0.1, 3],
                {"lr_decay": 0.01, "l2": 0.01}, (0, 2))
    if name == "rmsprop_update":
        centered = draw(st.booleans())
        return ([_r(rng, (n, d), dtype), _r(rng, (n, d), dtype), _pos(rng, (n, d), dtype) + 1,
                 _r(rng, (n, d), dtype, 0.1) if centered else None, _r(rng, (n, d), dtype), 0.01],
                {"momentum": 0.9, "centered": centered, "l2": 0.01}, (0, 2, 3, 4) if centered else (0, 2, 4))
    if name == "adam_update":
        return ([_r(rng, (n, d), dtype), _r(rng, (n, d), dtype), _r(rng, (n, d), dtype),
                 _pos(rng, (n, d), dtype), 0.01, draw(st.integers(1, 50))], {"l2": 0.01}, (0, 2, 3))
    if name == "l2_penalty":
        return [_r(rng, (n, d), dtype), 0.1], {}, ()
    if name == "l2_gradient":
        return [_r(rng, (n, d), dtype), _r(rng, (n, d), dtype), 0.1], {}, ()
    if name == "dropout_forward":
        return [_r(rng, (n, d), dtype), draw(st.sampled_from([0.0, 0.3, 0.9])), draw(st.integers(0, 2 ** 64 - 1)),
                draw(st.integers(0, 2 ** 40))], {}, ()
    if name == "dropout_backward":
        return [_r(rng, (n, d), dtype), draw(st.sampled_from([0.0, 0.5])), draw(st.integers(0, 2 ** 32)),
                draw(st.integers(0, 100))], {}, ()
    if name == "maxout_forward":
        k = draw(st.integers(1, 4))
        return [_r(rng, (n, d * k), dtype), k], {}, ()
    if name == "maxout_backward":
        k = draw(st.integers(1, 4))
        return [_r(rng, (n, d), dtype), rng.integers(0, k, (n, d)), k], {}, ()
    if name == "batchnorm_running_update":
        return ([_r(rng, (d,), dtype), _pos(rng, (d,), dtype), _r(rng, (d,), dtype), _pos(rng, (d,), dtype),
                 n + 1, 0.1, draw(st.booleans())], {}, (0, 1))
    if name == "batchnorm_inference_forward":
        return [_r(rng, (n, d), dtype), _r(rng, (d,), dtype), _r(rng, (d,), dtype), _r(rng, (d,), dtype),
                _pos(rng, (d,), dtype)], {}, ()
    if name == "batchnorm_inference_backward":
        return [_r(rng, (n, d), dtype), _r(rng, (n, d), dtype), _r(rng, (d,), dtype), _r(rng, (d,), dtype),
                _pos(rng, (d,), dtype)], {}, ()
    if name == "clip_grad_norm":  # a list of gradients, scaled in place together
        grads = [_r(rng, (n, d), dtype), _r(rng, (m,), dtype), _r(rng, (d, m), dtype)]
        return [grads, draw(st.sampled_from([0.1, 1.0, 1e6]))], {}, (0,)
    raise KeyError(name)


def _is_array_list(a):
    return isinstance(a, list) and len(a) > 0 and all(_is_float_array(x) for x in a)


# build() draws its few choices with .example() outside a @given test
_EXAMPLE_OUTSIDE_GIVEN = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")


@_EXAMPLE_OUTSIDE_GIVEN
def test_every_kernel_has_a_fuzz_case():
    rng = np.random.default_rng(0)
    for name in KERNEL_NAMES:
        build(name, lambda s: s.example(), rng, 2, 2, np.float64)


def _is_float_array(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def run_kernel(module, name, args, kwargs, in_place):
    """(outputs): the returned arrays, then the arrays updated in place (a list's elements)."""
    args = [[x.copy() for x in a] if _is_array_list(a) else a.copy() if i in in_place and a is not None else a
            for i, a in enumerate(args)]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = getattr(module, name)(*args, **kwargs)
    result = () if result is None else result if isinstance(result, tuple) else (result,)
    updated = []
    for i in in_place:
        if _is_array_list(args[i]):
            updated.extend(args[i])
        elif args[i] is not None:
            updated.append(args[i])
    return tuple(np.asarray(r) for r in result) + tuple(updated)


@pytest.mark.parametrize("name", KERNEL_NAMES)
@FUZZ
@given(data=st.data())
def test_kernel_matches_reference_in_any_layout(name, data):
    draw = data.draw
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    n, d = draw(st.integers(2, 40)), draw(st.integers(1, 24))  # batch norm needs 2 samples
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    args, kwargs, in_place = build(name, draw, rng, n, d, dtype)
    laid = list(args)
    for i, a in enumerate(args):
        if _is_float_array(a) and i not in in_place:
            laid[i] = in_layout(a, draw(st.sampled_from(INPUT_LAYOUTS)))
        elif _is_float_array(a):  # updated in place: any layout the kernel writes through
            laid[i] = in_layout(a, draw(st.sampled_from(("C", "reversed"))))
        elif _is_array_list(a):
            laid[i] = [in_layout(x, draw(st.sampled_from(("C", "reversed")))) for x in a]
    got = run_kernel(ops, name, laid, kwargs, in_place)
    want = run_kernel(reference, name, args, kwargs, in_place)
    scales = summand_scales(name, [a for a in args if not isinstance(a, str)] if name.startswith("activation")
                            else args, kwargs) if name not in ("dense_forward",) else {}
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"{name} output {k}: shape {g.shape} vs {w.shape}"
        assert_close(g, w, TOL[dtype], f"{name} output {k}", scales.get(k, 0.0))


SPECIALS = (np.nan, np.inf, -np.inf, "huge", -0.0)


def _with_specials(draw, rng, a, reductions):
    """a with a few entries replaced by NaN, infinities or huge values (NaN only when the
    kernel sums over them, where the order of additions decides which infinities meet)."""
    a = np.array(a)
    if a.size == 0:
        return a
    count = draw(st.integers(1, max(1, min(4, a.size))))
    flat = a.reshape(-1)
    for idx in rng.choice(a.size, count, replace=False):
        value = draw(st.sampled_from((np.nan,) if reductions else SPECIALS))
        # huge: far beyond the data, yet its square stays finite, so that where an
        # overflow happens does not hinge on the order of operations
        flat[idx] = np.finfo(a.dtype).max ** 0.25 if isinstance(value, str) else value
    return a


# kernels whose every output element depends on one input element per argument
ELEMENTWISE = {"activation_forward", "activation_backward", "sgd_update", "adagrad_update", "rmsprop_update",
               "adam_update", "l2_gradient", "dropout_forward", "dropout_backward", "maxout_forward",
               "batchnorm_running_update", "batchnorm_inference_forward"}
# inputs whose NaN the kernel may drop by definition: a dropped unit's value, a loser of the
# max, dH where the activation's derivative is 0 (ReLU's left side), SGD's momentum buffer
# on the first step (set to the gradient)
NAN_MAY_VANISH = {"activation_backward", "sgd_update", "dropout_forward", "dropout_backward", "maxout_forward", "maxout_backward"}


@pytest.mark.parametrize("name", KERNEL_NAMES)
@FUZZ
@given(data=st.data())
def test_kernel_propagates_non_finite_values_like_the_reference(name, data):
    draw = data.draw
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    n, d = draw(st.integers(2, 20)), draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    args, kwargs, in_place = build(name, draw, rng, n, d, dtype)
    lists = [i for i, a in enumerate(args) if _is_array_list(a)]
    if lists:  # a list of arrays: specials go into one of them
        arrays = args[lists[0]]
        k = draw(st.integers(0, len(arrays) - 1))
        arrays[k] = _with_specials(draw, rng, arrays[k], True)
        target = None
    else:
        target = draw(st.sampled_from([i for i, a in enumerate(args) if _is_float_array(a)]))
        args[target] = _with_specials(draw, rng, args[target], name not in ELEMENTWISE)
    laid = [in_layout(a, draw(st.sampled_from(("C", "reversed", "misaligned")))) if _is_float_array(a)
            and i not in in_place else a for i, a in enumerate(args)]
    got = run_kernel(ops, name, laid, kwargs, in_place)
    want = run_kernel(reference, name, args, kwargs, in_place)
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg=f"{name} output {k}: NaN pattern")
        if name in ELEMENTWISE:
            np.testing.assert_array_equal(np.isposinf(g), np.isposinf(w), err_msg=f"{name} output {k}: +inf")
            np.testing.assert_array_equal(np.isneginf(g), np.isneginf(w), err_msg=f"{name} output {k}: -inf")
    given_nan = np.isnan(args[target]).any() if target is not None else any(np.isnan(x).any() for x in args[lists[0]])
    if name not in NAN_MAY_VANISH and given_nan:
        assert any(np.isnan(g).any() for g in got), f"{name}: a NaN input vanished"


OPTIMISER_UPDATES = [n for n in KERNEL_NAMES if n.endswith("_update") and not n.startswith("batchnorm")]


@_EXAMPLE_OUTSIDE_GIVEN
@pytest.mark.parametrize("name", OPTIMISER_UPDATES)
def test_misaligned_array_updated_in_place_is_refused_and_unchanged(name):
    rng = np.random.default_rng(1)
    args, kwargs, in_place = build(name, lambda s: s.example(), rng, 3, 4, np.float64)
    target = in_place[0]
    args[target] = misaligned(args[target])
    before = args[target].copy()
    with pytest.raises(ValueError, match="aligned"):
        getattr(ops, name)(*args, **kwargs)
    np.testing.assert_array_equal(args[target], before)


@_EXAMPLE_OUTSIDE_GIVEN
def test_misaligned_running_statistics_are_updated_through_a_copy():
    rng = np.random.default_rng(2)
    args, kwargs, in_place = build("batchnorm_running_update", lambda s: s.example(), rng, 5, 7, np.float32)
    laid = [misaligned(a) if i in in_place else a for i, a in enumerate(args)]
    reference.batchnorm_running_update(*args, **kwargs)
    ops.batchnorm_running_update(*laid, **kwargs)
    for i in in_place:
        assert_close(laid[i], args[i], TOL[np.dtype(np.float32)], f"argument {i}")
