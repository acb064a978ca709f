"""Bad input is refused loudly, the same way by both backends.

Every case must raise ValueError or TypeError with a message that names the
offending argument; ops and reference must raise the same exception with the
same message (they share fastnn._validation, and this keeps it that way).
Arguments are passed by keyword, which also pins the documented parameter names.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from fastnn import ops, reference

from conftest import as_tuple


def _valid_args(kernel):
    """A valid float64 call of ``kernel``, as keyword arguments."""
    rng = np.random.default_rng(0)
    n, d_in, d_out = 5, 4, 3
    S = rng.standard_normal((n, d_out))
    if kernel == "linear_forward":
        return dict(X=rng.standard_normal((n, d_in)), W=rng.standard_normal((d_out, d_in)),
                    b=rng.standard_normal(d_out))
    if kernel == "linear_backward":
        return dict(dS=S, X=rng.standard_normal((n, d_in)), W=rng.standard_normal((d_out, d_in)))
    if kernel == "activation_forward":
        return dict(name="tanh", S=S)
    if kernel == "activation_backward":
        return dict(name="tanh", dH=rng.standard_normal((n, d_out)), H=np.tanh(S))
    if kernel == "batchnorm_forward":
        return dict(S=S, gamma=np.ones(d_out), beta=np.zeros(d_out))
    if kernel == "batchnorm_backward":
        return dict(dY=rng.standard_normal((n, d_out)), S=S, gamma=np.ones(d_out),
                    mean=S.mean(axis=0), var=S.var(axis=0))
    if kernel == "softmax_cross_entropy":
        return dict(S=S, y=np.array([0, 1, 2, 0, 1]))
    if kernel == "dropout_forward":
        return dict(H=S, p=0.5, seed=3, step=1)
    if kernel == "dropout_backward":
        return dict(dY=S, p=0.5, seed=3, step=1)
    if kernel == "maxout_forward":
        return dict(S=rng.standard_normal((n, 2 * d_out)), k=2)
    if kernel == "maxout_backward":
        return dict(dH=S, winner=rng.integers(0, 2, size=(n, d_out)), k=2)
    if kernel == "batchnorm_running_update":
        return dict(running_mean=np.zeros(d_out), running_var=np.ones(d_out), mean=S.mean(axis=0),
                    var=S.var(axis=0), n=n, momentum=0.1, unbiased=True)
    if kernel == "batchnorm_inference_forward":
        return dict(S=S, gamma=np.ones(d_out), beta=np.zeros(d_out), running_mean=np.zeros(d_out),
                    running_var=np.ones(d_out))
    if kernel == "batchnorm_inference_backward":
        return dict(dY=rng.standard_normal((n, d_out)), S=S, gamma=np.ones(d_out), running_mean=np.zeros(d_out),
                    running_var=np.ones(d_out))
    raise KeyError(kernel)


KERNELS = ("linear_forward", "linear_backward", "activation_forward", "activation_backward",
           "batchnorm_forward", "batchnorm_backward", "softmax_cross_entropy", "dropout_forward",
           "dropout_backward", "maxout_forward", "maxout_backward", "batchnorm_running_update",
           "batchnorm_inference_forward", "batchnorm_inference_backward")
INTEGER_ARRAYS = ("y", "winner")


def _array_args(kernel):
    return [k for k, v in _valid_args(kernel).items() if isinstance(v, np.ndarray) and k not in INTEGER_ARRAYS]


def case(kernel, arg, change, id_):
    """One bad call: ``change(args)`` edits the valid kwargs; ``arg`` must be named."""
    return pytest.param(kernel, arg, change, id=f"{kernel}-{id_}")


def _set(name, value):
    def change(args):
        args[name] = value(args[name]) if callable(value) else value
    return change


def _generated_cases():
    cases = []
    for kernel in KERNELS:
        for arg in _array_args(kernel):
            ndim = _valid_args(kernel)[arg].ndim
            cases += [
                case(kernel, arg, _set(arg, None), f"{arg}-None"),
                case(kernel, arg, _set(arg, lambda a: a[None]), f"{arg}-ndim+1"),
                case(kernel, arg, _set(arg, lambda a: a[0] if a.ndim == 2 else np.float64(1.0)),
                     f"{arg}-ndim-1"),
            ]
            for bad in (np.int64, np.int32, np.float16, np.complex128, object, np.bool_):
                cases.append(case(kernel, arg, _set(arg, lambda a, t=bad: a.astype(t)),
                                  f"{arg}-dtype-{np.dtype(bad).name}"))
            # mixed precision: this argument float32, the others float64
            if len(_array_args(kernel)) > 1:
                cases.append(case(kernel, arg, _set(arg, lambda a: a.astype(np.float32)),
                                  f"{arg}-float32-among-float64"))
            if ndim == 2:
                cases.append(case(kernel, arg, _set(arg, [[1.0, 2.0], [3.0]]), f"{arg}-ragged"))
    return cases


def _with(**changes):
    def change(args):
        for k, v in changes.items():
            args[k] = v(args[k]) if callable(v) else v
    return change


SHAPE_CASES = [
    # linear
    case("linear_forward", "W", _set("W", lambda w: w[:, :-1]), "W-wrong-columns"),
    case("linear_forward", "b", _set("b", lambda b: b[:-1]), "b-too-short"),
    case("linear_forward", "b", _set("b", lambda b: np.append(b, 1.0)), "b-too-long"),
    case("linear_backward", "W", _set("W", lambda w: w[:, :-1]), "W-wrong-columns"),
    case("linear_backward", "dS", _set("dS", lambda d: d[:-1]), "dS-wrong-rows"),
    case("linear_backward", "dS", _set("dS", lambda d: d[:, :-1]), "dS-wrong-columns"),
    # activations
    case("activation_backward", "H", _set("H", lambda h: h[:-1]), "H-wrong-rows"),
    case("activation_backward", "H", _set("H", lambda h: h[:, :-1]), "H-wrong-columns"),
    # batch norm
    case("batchnorm_forward", "gamma", _set("gamma", lambda g: g[:-1]), "gamma-wrong-length"),
    case("batchnorm_forward", "beta", _set("beta", lambda g: np.append(g, 0.0)), "beta-wrong-length"),
    case("batchnorm_backward", "dY", _set("dY", lambda d: d[:-1]), "dY-wrong-rows"),
    case("batchnorm_backward", "dY", _set("dY", lambda d: d[:, :-1]), "dY-wrong-columns"),
    case("batchnorm_backward", "gamma", _set("gamma", lambda g: g[:-1]), "gamma-wrong-length"),
    case("batchnorm_backward", "mean", _set("mean", lambda g: g[:-1]), "mean-wrong-length"),
    case("batchnorm_backward", "var", _set("var", lambda g: np.append(g, 1.0)), "var-wrong-length"),
    # batch norm needs two samples; an empty batch is refused too
    case("batchnorm_forward", "S", _set("S", lambda s: s[:1]), "S-one-sample"),
    case("batchnorm_forward", "S", _set("S", lambda s: s[:0]), "S-empty-batch"),
    case("batchnorm_backward", "S", _with(S=lambda s: s[:1], dY=lambda d: d[:1]), "S-one-sample"),
    case("batchnorm_backward", "S", _with(S=lambda s: s[:0], dY=lambda d: d[:0]), "S-empty-batch"),
]

EPS_CASES = [
    case(kernel, "eps", _set("eps", bad), f"eps-{label}")
    for kernel in ("batchnorm_forward", "batchnorm_backward", "batchnorm_inference_forward",
                   "batchnorm_inference_backward")
    for label, bad in [("negative", -1e-5), ("nan", float("nan")), ("inf", float("inf")),
                       ("string", "1e-5"), ("None", None), ("bool", True), ("array", np.array([1e-5]))]
]

ACTIVATION_CASES = [
    case(kernel, "name", _set("name", bad), f"name-{label}")
    for kernel in ("activation_forward", "activation_backward")
    for label, bad in [("unknown", "softmax"), ("wrong-case", "ReLU"), ("empty", ""),
                       ("None", None), ("int", 3), ("bytes", b"relu")]
] + [
    case(kernel, "alpha", _with(name=name, alpha=alpha), f"alpha-{label}")
    for kernel in ("activation_forward", "activation_backward")
    for label, name, alpha in [
        ("for-relu", "relu", 0.1), ("for-tanh", "tanh", 1.0),
        ("negative-leaky", "leaky_relu", -0.1), ("zero-elu", "elu", 0.0), ("negative-elu", "elu", -1.0),
        ("nan", "leaky_relu", float("nan")), ("inf", "elu", float("inf")),
        ("string", "elu", "1.0"), ("bool", "leaky_relu", True),
    ]
]

LABEL_CASES = [
    case("softmax_cross_entropy", "y", _set("y", bad), f"y-{label}")
    for label, bad in [
        ("None", None),
        ("float", np.array([0.0, 1.0, 2.0, 0.0, 1.0])),
        ("float-list", [0.0, 1.0, 2.0, 0.0, 1.0]),
        ("bool", np.array([True, False, True, False, True])),
        ("strings", np.array(["0", "1", "2", "0", "1"])),
        ("negative", np.array([0, 1, -1, 0, 1])),
        ("too-large", np.array([0, 1, 3, 0, 1])),
        ("huge", np.array([0, 1, 2**40, 0, 1])),
        ("too-short", np.array([0, 1, 2, 0])),
        ("too-long", np.array([0, 1, 2, 0, 1, 2])),
        ("2-D", np.array([[0, 1, 2, 0, 1]])),
        ("scalar", 0),
    ]
] + [
    case("softmax_cross_entropy", "S", _with(S=lambda s: s[:0], y=np.array([], dtype=np.int64)),
         "S-empty-batch"),
    case("softmax_cross_entropy", "S", _with(S=lambda s: s[:, :0]), "S-no-classes"),
]

def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


LAYER_KERNEL_CASES = [
    case(kernel, arg, _set(arg, bad), f"{arg}-{label}")
    for kernel in ("dropout_forward", "dropout_backward")
    for arg, label, bad in [
        ("p", "one", 1.0), ("p", "negative", -0.5), ("p", "nan", float("nan")), ("p", "string", "0.5"),
        ("p", "None", None), ("seed", "negative", -1), ("seed", "too-large", 2 ** 64), ("seed", "float", 1.5),
        ("seed", "None", None), ("step", "negative", -1), ("step", "too-large", 2 ** 63), ("step", "None", None),
    ]
] + [
    case("maxout_forward", "S", _set("S", lambda s: s[:, :-1]), "S-not-a-multiple-of-k"),
    case("maxout_forward", "k", _set("k", 0), "k-zero"),
    case("maxout_forward", "k", _set("k", 4), "k-not-a-divisor"),
] + [
    case("maxout_backward", arg, _set(arg, bad), f"{arg}-{label}")
    for arg, label, bad in [
        ("winner", "None", None), ("winner", "float", np.zeros((5, 3))), ("winner", "bool", np.zeros((5, 3), bool)),
        ("winner", "too-large", np.full((5, 3), 2)), ("winner", "negative", np.full((5, 3), -1)),
        ("winner", "wrong-shape", np.zeros((5, 2), np.int64)), ("winner", "1-D", np.zeros(5, np.int64)),
        ("k", "zero", 0), ("k", "float", 2.0), ("k", "None", None), ("k", "string", "2"),
    ]
] + [
    case("batchnorm_running_update", arg, change, f"{arg}-{label}")
    for arg, label, change in [
        ("running_mean", "list", _set("running_mean", [0.0, 0.0, 0.0])),
        ("running_mean", "read-only", _set("running_mean", _read_only)),
        ("running_var", "read-only", _set("running_var", _read_only)),
        ("running_var", "the-same-array", lambda a: a.update(running_var=a["running_mean"])),
        ("running_var", "wrong-length", _set("running_var", lambda v: v[:-1])),
        ("mean", "wrong-length", _set("mean", lambda v: np.append(v, 0.0))),
        ("var", "wrong-length", _set("var", lambda v: v[:-1])),
        ("n", "one", _set("n", 1)), ("n", "float", _set("n", 5.0)), ("n", "None", _set("n", None)),
        ("momentum", "negative", _set("momentum", -0.1)), ("momentum", "above-one", _set("momentum", 1.5)),
        ("momentum", "None", _set("momentum", None)), ("unbiased", "None", _set("unbiased", None)),
        ("unbiased", "string", _set("unbiased", "yes")),
    ]
]

LAYER_KERNEL_CASES += [
    case(kernel, arg, _set(arg, lambda v: v[:-1]), f"{arg}-wrong-length")
    for kernel, args in (("batchnorm_inference_forward", ("gamma", "beta", "running_mean", "running_var")),
                         ("batchnorm_inference_backward", ("gamma", "running_mean", "running_var")))
    for arg in args
] + [
    case("batchnorm_inference_backward", "dY", _set("dY", lambda d: d[:-1]), "dY-wrong-rows"),
    case("batchnorm_inference_backward", "dY", _set("dY", lambda d: d[:, :-1]), "dY-wrong-columns"),
]

ALL_CASES = _generated_cases() + SHAPE_CASES + EPS_CASES + ACTIVATION_CASES + LABEL_CASES + LAYER_KERNEL_CASES


def _bad_call(kernel, change):
    args = _valid_args(kernel)
    change(args)
    return args


@pytest.mark.parametrize("kernel,arg,change", ALL_CASES)
def test_bad_input_raises_naming_the_argument(module, kernel, arg, change):
    args = _bad_call(kernel, change)
    with pytest.raises((ValueError, TypeError), match=rf"\b{re.escape(arg)}\b"):
        getattr(module, kernel)(**args)


@pytest.mark.parametrize("kernel,arg,change", ALL_CASES)
def test_both_backends_refuse_bad_input_identically(kernel, arg, change):
    errors = []
    for module in (ops, reference):
        try:
            getattr(module, kernel)(**_bad_call(kernel, change))
        except (ValueError, TypeError) as exc:
            errors.append((type(exc), str(exc)))
        else:
            errors.append(None)
    assert errors[0] is not None and errors[0] == errors[1]


@pytest.mark.parametrize("kernel", KERNELS)
def test_valid_calls_are_accepted(module, kernel):
    # the baseline every bad case edits must itself be fine, or the cases prove nothing
    getattr(module, kernel)(**_valid_args(kernel))


@pytest.mark.parametrize("kernel", KERNELS)
def test_float32_everywhere_is_accepted(module, kernel):
    args = {k: (v.astype(np.float32) if isinstance(v, np.ndarray) and k not in INTEGER_ARRAYS else v)
            for k, v in _valid_args(kernel).items()}
    outputs = as_tuple(getattr(module, kernel)(**args))
    if kernel == "batchnorm_running_update":  # in place: the arrays keep their dtype
        outputs = (args["running_mean"], args["running_var"])
    for out in outputs:
        # integer outputs (maxout's winner) are int64 whatever the dtype
        assert np.asarray(out).dtype == (np.int64 if np.asarray(out).dtype.kind == "i" else np.float32)


@pytest.mark.parametrize("kernel", KERNELS)
def test_the_error_message_says_what_was_expected_and_what_came(module, kernel):
    # the first array argument with an int dtype: the message gives the dtype it got
    arg = _array_args(kernel)[0]
    args = _valid_args(kernel)
    args[arg] = args[arg].astype(np.int64)
    with pytest.raises(TypeError, match=r"float32 or float64.*int64"):
        getattr(module, kernel)(**args)


def test_wrong_shape_message_gives_expected_and_actual_shape(module):
    args = _valid_args("batchnorm_forward")
    args["gamma"] = np.ones(7)
    with pytest.raises(ValueError, match=r"gamma.*\(3,\).*\(7,\)"):
        module.batchnorm_forward(**args)

