"""Argument checks shared by both backends.

Both ``fastnn.ops`` and ``fastnn.reference`` call these before doing any
work, so the two backends reject exactly the same inputs with the same
messages, and nothing reaches C that C would have to second-guess.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _checks

# the activations and alpha's defaults, from fastnn.h's table FNN_ACTIVATIONS
from ._ops import ACTIVATIONS, DEFAULT_ALPHA

# what a check hands back for an array argument
_Array = NDArray[Any]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of dtype {value.dtype} and shape {value.shape}"
    return f"{type(value).__name__}"


def as_float_array(value, name: str, ndim) -> np.ndarray:
    """Return ``value`` as a float32/float64 ndarray of ``ndim`` dimensions (an int, or a
    tuple of the numbers of dimensions allowed).

    Lists and other array-likes are converted (floats become float64, as in
    NumPy); arrays of any other dtype are refused rather than converted,
    because a silent cast hides the real bug in the caller.
    """
    if value is None:
        raise TypeError(f"{name} must be a float32 or float64 array, got None")
    if not isinstance(value, np.ndarray):
        try:
            value = np.asarray(value)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be a float32 or float64 array: {exc}") from None
        if value.dtype.kind in "iub" and value.size == 0:
            value = value.astype(np.float64)
        elif value.dtype.kind in "iu":
            # Python ints in a list are a common, harmless way to write data.
            value = value.astype(np.float64)
    if value.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must have dtype float32 or float64, got dtype {value.dtype}"
        )
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if value.ndim not in allowed:
        raise ValueError(
            f"{name} must be {'- or '.join(map(str, allowed))}-dimensional, got {value.ndim} "
            f"dimensions (shape {value.shape})"
        )
    return value


def same_dtype(pairs) -> np.dtype:
    """All named arrays must share one dtype: kernels never mix precisions."""
    (first_name, first), *rest = pairs
    for name, arr in rest:
        if arr.dtype != first.dtype:
            raise TypeError(
                f"{name} has dtype {arr.dtype} but {first_name} has dtype "
                f"{first.dtype}; pass arrays of one dtype (float32 or float64)"
            )
    return first.dtype


def expect_shape(arr: np.ndarray, name: str, shape: tuple) -> None:
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got shape {arr.shape}")


_FLOAT_MAX = float(np.finfo(np.float64).max)


def check_eps(eps) -> float:
    if type(eps) is float and 0.0 <= eps <= _FLOAT_MAX:
        return eps  # the usual case, without the slower checks below (this runs every call)
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a real number, got {type(eps).__name__}")
    eps = float(eps)
    if not eps >= 0.0 or not np.isfinite(eps):
        raise ValueError(f"eps must be a finite number >= 0, got {eps}")
    return eps


def check_activation(name, alpha, arg="name"):
    """Return (name, alpha) with alpha filled in from the defaults; ``arg`` is how the caller calls name."""
    if not isinstance(name, str):
        raise TypeError(f"{arg} must be a string, one of {ACTIVATIONS}, got {_describe(name)}")
    if name not in ACTIVATIONS:
        raise ValueError(f"{arg} must be one of {ACTIVATIONS}, got {name!r}")
    if alpha is None:
        return name, DEFAULT_ALPHA.get(name, 0.0)
    if name not in DEFAULT_ALPHA:
        users = " and ".join(map(repr, DEFAULT_ALPHA))
        raise ValueError(f"alpha is only used by {users}, not by {name!r}")
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number, got {type(alpha).__name__}")
    alpha = float(alpha)
    # The backward pass works from the output H, which only determines the
    # side of zero the input was on when the negative branch keeps its sign.
    if name == "leaky_relu" and not (alpha >= 0.0 and np.isfinite(alpha)):
        raise ValueError(f"alpha for 'leaky_relu' must be finite and >= 0, got {alpha}")
    if name == "elu" and not (alpha > 0.0 and np.isfinite(alpha)):
        raise ValueError(f"alpha for 'elu' must be finite and > 0, got {alpha}")
    return name, alpha


# --- one checker per kernel: returns the converted arrays -----------------

def linear_forward_args(X, W, b) -> tuple[_Array, _Array, _Array]:
    X = as_float_array(X, "X", 2)
    W = as_float_array(W, "W", 2)
    b = as_float_array(b, "b", 1)
    same_dtype([("X", X), ("W", W), ("b", b)])
    _features_match(X, W)
    expect_shape(b, "b", (W.shape[0],))
    return X, W, b


def dense_forward_args(X, W, b, activation,
                       alpha) -> tuple[_Array, _Array, _Array | None, str, float]:
    """Checks of the fused layer: those of linear_forward (b may be None) and of the activation."""
    activation, alpha = check_activation(activation, alpha, "activation")
    X = as_float_array(X, "X", 2)
    W = as_float_array(W, "W", 2)
    if b is None:
        same_dtype([("X", X), ("W", W)])
        _features_match(X, W)
    else:
        X, W, b = linear_forward_args(X, W, b)
    return X, W, b, activation, alpha


def _features_match(X, W):
    if W.shape[1] != X.shape[1]:
        raise ValueError(
            f"W must have shape (D_out, {X.shape[1]}) to match X's {X.shape[1]} "
            f"features, got shape {W.shape}"
        )


def linear_backward_args(dS, X, W) -> tuple[_Array, _Array, _Array]:
    dS = as_float_array(dS, "dS", 2)
    X = as_float_array(X, "X", 2)
    W = as_float_array(W, "W", 2)
    same_dtype([("dS", dS), ("X", X), ("W", W)])
    _features_match(X, W)
    expect_shape(dS, "dS", (X.shape[0], W.shape[0]))
    return dS, X, W


def activation_forward_args(name, S, alpha) -> tuple[str, _Array, float]:
    name, alpha = check_activation(name, alpha)
    S = as_float_array(S, "S", 2)
    return name, S, alpha


def activation_backward_args(name, dH, H, alpha) -> tuple[str, _Array, _Array, float]:
    name, alpha = check_activation(name, alpha)
    dH = as_float_array(dH, "dH", 2)
    H = as_float_array(H, "H", 2)
    same_dtype([("dH", dH), ("H", H)])
    expect_shape(H, "H", dH.shape)
    return name, dH, H, alpha


def _batch_of_at_least_two(S, name):
    if S.shape[0] < 2:
        raise ValueError(
            f"{name} must hold at least 2 samples for batch statistics, got shape {S.shape}"
        )


def batchnorm_forward_args(S, gamma, beta, eps) -> tuple[_Array, _Array, _Array, float]:
    S = as_float_array(S, "S", 2)
    gamma = as_float_array(gamma, "gamma", 1)
    beta = as_float_array(beta, "beta", 1)
    same_dtype([("S", S), ("gamma", gamma), ("beta", beta)])
    _batch_of_at_least_two(S, "S")
    expect_shape(gamma, "gamma", (S.shape[1],))
    expect_shape(beta, "beta", (S.shape[1],))
    return S, gamma, beta, check_eps(eps)


def batchnorm_backward_args(dY, S, gamma, mean, var,
                            eps) -> tuple[_Array, _Array, _Array, _Array, _Array, float]:
    dY = as_float_array(dY, "dY", 2)
    S = as_float_array(S, "S", 2)
    gamma = as_float_array(gamma, "gamma", 1)
    mean = as_float_array(mean, "mean", 1)
    var = as_float_array(var, "var", 1)
    same_dtype([("dY", dY), ("S", S), ("gamma", gamma), ("mean", mean), ("var", var)])
    _batch_of_at_least_two(S, "S")
    expect_shape(dY, "dY", S.shape)
    for name, arr in (("gamma", gamma), ("mean", mean), ("var", var)):
        expect_shape(arr, name, (S.shape[1],))
    return dY, S, gamma, mean, var, check_eps(eps)


def _at_least_one_sample(S, name):
    if S.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample: the mean loss of an empty batch is undefined")


def _at_least_one_class(S, name):
    if S.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column (class), got shape (N, 0)")


def softmax_cross_entropy_args(S, y) -> tuple[_Array, _Array]:
    """Returns (S, y): y as integer labels (N,) of dtype intp, or as class probabilities
    (N, C) of S's dtype with entries >= 0 (soft targets; a NaN passes, to propagate)."""
    S = as_float_array(S, "S", 2)
    if y is None:
        raise TypeError("y must be an array of integer class labels or of class probabilities, got None")
    y_arr = np.asarray(y)
    if y_arr.dtype.kind == "f" and y_arr.ndim == 2:
        return S, _class_probabilities(S, y_arr)
    if y_arr.dtype.kind not in "iu":
        if y_arr.size == 0 and y_arr.dtype.kind == "f":
            y_arr = y_arr.astype(np.intp)  # np.asarray([]) is float64: still no labels
        else:
            raise TypeError(f"y must hold integer class labels (N,) or float class probabilities "
                            f"(N, C), got dtype {y_arr.dtype} and shape {y_arr.shape}")
    if y_arr.ndim != 1:
        raise ValueError(f"y must be 1-dimensional with shape ({S.shape[0]},), got shape {y_arr.shape}")
    if y_arr.shape[0] != S.shape[0]:
        raise ValueError(
            f"y must have shape ({S.shape[0]},) to match S's {S.shape[0]} rows, got shape {y_arr.shape}"
        )
    _at_least_one_sample(S, "S")
    n_classes = S.shape[1]
    _at_least_one_class(S, "S")
    lo, hi = int(y_arr.min()), int(y_arr.max())
    if lo < 0 or hi >= n_classes:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"y must hold labels in [0, {n_classes}) for S with {n_classes} columns, found {bad}"
        )
    return S, y_arr.astype(np.intp, copy=False)


# --- dropout, maxout, batch-norm running statistics ------------------------

_UINT64_END = 2 ** 64
_INT64_END = 2 ** 63


def dropout_args(A, p, seed, step, name) -> tuple[_Array, float, int, int]:
    """Checks of dropout_forward (A is H) and dropout_backward (A is dY)."""
    A = as_float_array(A, name, 2)
    p = _checks.real(p, "p", low=0.0, high=1.0, high_open=True)
    seed = _checks.integer(seed, "seed", minimum=0)
    if seed >= _UINT64_END:
        raise ValueError(f"seed must be < 2**64, got {seed}")
    step = _checks.integer(step, "step", minimum=0)
    if step >= _INT64_END:
        raise ValueError(f"step must be < 2**63, got {step}")
    return A, p, seed, step


def _pieces(k):
    return _checks.integer(k, "k", minimum=1)


def maxout_forward_args(S, k) -> tuple[_Array, int]:
    S = as_float_array(S, "S", 2)
    k = _pieces(k)
    if S.shape[1] % k:
        raise ValueError(
            f"S must have D * k columns, a multiple of k = {k} (unit j's pieces are columns "
            f"j*k .. j*k+k-1), got shape {S.shape}"
        )
    return S, k


def maxout_backward_args(dH, winner, k) -> tuple[_Array, _Array, int]:
    dH = as_float_array(dH, "dH", 2)
    k = _pieces(k)
    if winner is None:
        raise TypeError("winner must be an array of integer piece indices, got None")
    winner = np.asarray(winner)
    if winner.dtype.kind not in "iu":
        raise TypeError(f"winner must hold integer piece indices, got dtype {winner.dtype}")
    expect_shape(winner, "winner", dH.shape)
    if winner.size:
        lo, hi = int(winner.min()), int(winner.max())
        if lo < 0 or hi >= k:
            raise ValueError(f"winner must hold piece indices in [0, {k}) for k = {k}, "
                             f"found {lo if lo < 0 else hi}")
    return dH, winner.astype(np.int64, copy=False), k


def batchnorm_running_update_args(running_mean, running_var, mean, var, n, momentum,
                                  unbiased) -> tuple[_Array, _Array, _Array, _Array, int, float, bool]:
    for name, arr in (("running_mean", running_mean), ("running_var", running_var)):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{name} must be a float32 or float64 NumPy array (it is updated "
                            f"in place), got {_describe(arr)}")
        if not arr.flags.writeable:
            raise ValueError(f"{name} must be writeable: it is updated in place")
    running_mean = as_float_array(running_mean, "running_mean", 1)
    running_var = as_float_array(running_var, "running_var", 1)
    mean = as_float_array(mean, "mean", 1)
    var = as_float_array(var, "var", 1)
    same_dtype([("running_mean", running_mean), ("running_var", running_var), ("mean", mean),
                ("var", var)])
    d = running_mean.shape[0]
    for name, arr in (("running_var", running_var), ("mean", mean), ("var", var)):
        expect_shape(arr, name, (d,))
    if np.may_share_memory(running_mean, running_var):
        raise ValueError("running_mean and running_var must be separate arrays")
    unbiased = _checks.boolean(unbiased, "unbiased")
    # the unbiased variance of a batch of n samples divides by n - 1
    n = _checks.integer(n, "n", minimum=2 if unbiased else 1)
    momentum = _checks.real(momentum, "momentum", low=0.0, high=1.0)
    return running_mean, running_var, mean, var, n, momentum, unbiased


def batchnorm_inference_forward_args(S, gamma, beta, running_mean, running_var,
                                     eps) -> tuple[_Array, _Array, _Array, _Array, _Array, float]:
    S = as_float_array(S, "S", 2)
    vectors = [(name, as_float_array(v, name, 1)) for name, v in
               (("gamma", gamma), ("beta", beta), ("running_mean", running_mean), ("running_var", running_var))]
    same_dtype([("S", S), *vectors])
    for name, arr in vectors:
        expect_shape(arr, name, (S.shape[1],))
    return (S, *(arr for _, arr in vectors), check_eps(eps))


def batchnorm_inference_backward_args(dY, S, gamma, running_mean, running_var,
                                      eps) -> tuple[_Array, _Array, _Array, _Array, _Array, float]:
    dY = as_float_array(dY, "dY", 2)
    S = as_float_array(S, "S", 2)
    vectors = [(name, as_float_array(v, name, 1)) for name, v in
               (("gamma", gamma), ("running_mean", running_mean), ("running_var", running_var))]
    same_dtype([("dY", dY), ("S", S), *vectors])
    expect_shape(dY, "dY", S.shape)
    for name, arr in vectors:
        expect_shape(arr, name, (S.shape[1],))
    return (dY, S, *(arr for _, arr in vectors), check_eps(eps))


def _class_probabilities(S, y):
    same_dtype([("S", S), ("y", y)])
    expect_shape(y, "y", S.shape)
    _at_least_one_sample(S, "S")
    _at_least_one_class(S, "S")
    negative = y < 0
    if negative.any():
        raise ValueError(f"y as class probabilities must be >= 0, found {y[negative].flat[0]}")
    return y


def _float_array_of_ndim(value, name, ndims):
    """as_float_array for an argument that may have any of ``ndims`` dimensions (the first
    one is what the message asks for otherwise)."""
    try:
        ndim = np.ndim(value)
    except ValueError:  # ragged lists: as_float_array explains
        ndim = ndims[0]
    return as_float_array(value, name, ndim if ndim in ndims else ndims[0])


def sigmoid_binary_cross_entropy_args(S, y) -> tuple[_Array, _Array]:
    """Returns (S, y) with y as an (N, K) array (a view of y) of S's dtype in [0, 1]."""
    S = as_float_array(S, "S", 2)
    n, k = S.shape
    if k == 0:
        raise ValueError("S must have at least one column (output unit), got shape (N, 0)")
    y = _float_array_of_ndim(y, "y", (1, 2))
    same_dtype([("S", S), ("y", y)])
    allowed = ((n,), (n, 1)) if k == 1 else ((n, k),)
    if y.shape not in allowed:
        expected = f"({n},) or ({n}, 1)" if k == 1 else f"({n}, {k})"
        raise ValueError(f"y must have shape {expected} to match S's shape {S.shape}, got shape {y.shape}")
    _at_least_one_sample(S, "S")
    outside = (y < 0) | (y > 1)
    if outside.any():
        raise ValueError(f"y must hold probabilities in [0, 1], found {y[outside].flat[0]}")
    return S, y.reshape(n, k)


def mse_args(O, Y) -> tuple[_Array, _Array]:
    O = as_float_array(O, "O", 2)
    Y = as_float_array(Y, "Y", 2)
    same_dtype([("O", O), ("Y", Y)])
    expect_shape(Y, "Y", O.shape)
    _at_least_one_sample(O, "O")
    if O.shape[1] == 0:
        raise ValueError("O must have at least one column (output), got shape (N, 0)")
    return O, Y


def softmax_args(S) -> NDArray[Any]:
    S = as_float_array(S, "S", 2)
    _at_least_one_class(S, "S")
    return S


# --- optimiser updates and the L2 term ---------------------------------------
#
# A parameter is a 1- or 2-dimensional float array. The updates change it and
# its state arrays in place, so those must be writeable NumPy arrays of the
# parameter's dtype and shape (a list would be converted into a copy that no
# one sees again), and no two arrays of a call may share memory.

PARAM_NDIM = (1, 2)


def _in_place_array(value, name, like=None):
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array (it is updated in place), got {_describe(value)}")
    if like is None:
        value = as_float_array(value, name, PARAM_NDIM)
    else:
        same_dtype([("param", like), (name, value)])
        expect_shape(value, name, like.shape)
    if not value.flags.writeable:
        raise ValueError(f"{name} must be writeable: it is updated in place")
    return value


def _state(value, name, param, needed_for=None):
    """A state array like ``param``; None is refused only when ``needed_for`` says why it is needed."""
    if value is None:
        if needed_for:
            raise TypeError(f"{name} must be an array like param ({needed_for}), got None")
        return None
    return _in_place_array(value, name, param)


def _update_arrays(param, grad):
    """(param, grad), checked: a writeable parameter and a gradient of its dtype and shape."""
    param = _in_place_array(param, "param")
    grad = as_float_array(grad, "grad", param.ndim)
    same_dtype([("param", param), ("grad", grad)])
    expect_shape(grad, "grad", param.shape)
    return param, grad


def _apart(named):
    arrays = [(name, a) for name, a in named if a is not None]
    for i, (name_a, a) in enumerate(arrays):
        for name_b, b in arrays[i + 1:]:
            if np.may_share_memory(a, b):
                raise ValueError(f"{name_a} and {name_b} share memory; an update needs separate arrays")


def _l2(l2):
    return _checks.real(l2, "l2", low=0.0)


def clip_grad_norm_args(grads, max_norm) -> tuple[list[_Array], float]:
    """Returns (grads as a list of writeable float arrays of one dtype, max_norm as a float > 0)."""
    if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
        raise TypeError(f"grads must be a list of NumPy arrays, got {_describe(grads)}")
    grads = [_in_place_array(g, f"grads[{i}]") for i, g in enumerate(grads)]
    if grads:
        same_dtype([(f"grads[{i}]", g) for i, g in enumerate(grads)])
    _apart([(f"grads[{i}]", g) for i, g in enumerate(grads)])
    return grads, _checks.real(max_norm, "max_norm", low=0.0, low_open=True)


def _step(step):
    return _checks.integer(step, "step (the 1-based update count)", minimum=1)


def sgd_update_args(param, grad, momentum_buffer, lr, momentum, dampening, nesterov, first_step,
                    l2) -> tuple[_Array, _Array, _Array | None, float, float, float, bool, bool, float]:
    param, grad = _update_arrays(param, grad)
    lr = _checks.real(lr, "lr", low=0.0)
    momentum = _checks.real(momentum, "momentum", low=0.0)
    dampening = _checks.real(dampening, "dampening", low=0.0, high=1.0)
    nesterov = _checks.boolean(nesterov, "nesterov")
    first_step = _checks.boolean(first_step, "first_step")
    if nesterov and (momentum == 0.0 or dampening != 0.0):
        raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")
    buf = _state(momentum_buffer, "momentum_buffer", param, momentum != 0.0 and "momentum is not 0")
    _apart([("param", param), ("grad", grad), ("momentum_buffer", buf)])
    return param, grad, buf, lr, momentum, dampening, nesterov, first_step, _l2(l2)


def adagrad_update_args(param, grad, state_sum, lr, step, lr_decay, eps,
                        l2) -> tuple[_Array, _Array, _Array, float, int, float, float, float]:
    param, grad = _update_arrays(param, grad)
    state_sum = _state(state_sum, "state_sum", param, "AdaGrad's sum of squared gradients")
    _apart([("param", param), ("grad", grad), ("state_sum", state_sum)])
    return (param, grad, state_sum, _checks.real(lr, "lr", low=0.0), _step(step),
            _checks.real(lr_decay, "lr_decay", low=0.0), _checks.real(eps, "eps", low=0.0), _l2(l2))


def rmsprop_update_args(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, momentum, centered, l2,
                        ) -> tuple[_Array, _Array, _Array, _Array | None, _Array | None,
                                   float, float, float, float, bool, float]:
    param, grad = _update_arrays(param, grad)
    lr = _checks.real(lr, "lr", low=0.0)
    alpha = _checks.real(alpha, "alpha", low=0.0, high=1.0)
    eps = _checks.real(eps, "eps", low=0.0)
    momentum = _checks.real(momentum, "momentum", low=0.0)
    centered = _checks.boolean(centered, "centered")
    square_avg = _state(square_avg, "square_avg", param, "RMSProp's average of squared gradients")
    grad_avg = _state(grad_avg, "grad_avg", param, centered and "centered=True")
    buf = _state(momentum_buffer, "momentum_buffer", param, momentum > 0.0 and "momentum > 0")
    _apart([("param", param), ("grad", grad), ("square_avg", square_avg), ("grad_avg", grad_avg),
            ("momentum_buffer", buf)])
    return param, grad, square_avg, grad_avg, buf, lr, alpha, eps, momentum, centered, _l2(l2)


def adam_update_args(param, grad, m, v, lr, step, beta1, beta2, eps,
                     l2) -> tuple[_Array, _Array, _Array, _Array, float, int, float, float, float, float]:
    param, grad = _update_arrays(param, grad)
    m = _state(m, "m", param, "Adam's first moment")
    v = _state(v, "v", param, "Adam's second moment")
    _apart([("param", param), ("grad", grad), ("m", m), ("v", v)])
    return (param, grad, m, v, _checks.real(lr, "lr", low=0.0), _step(step),
            _checks.real(beta1, "beta1", low=0.0, high=1.0, high_open=True),
            _checks.real(beta2, "beta2", low=0.0, high=1.0, high_open=True),
            _checks.real(eps, "eps", low=0.0), _l2(l2))


def l2_penalty_args(W, l2) -> tuple[_Array, float]:
    return as_float_array(W, "W", PARAM_NDIM), _l2(l2)


def l2_gradient_args(dW, W, l2) -> tuple[_Array, _Array, float]:
    W = as_float_array(W, "W", PARAM_NDIM)
    dW = as_float_array(dW, "dW", W.ndim)
    same_dtype([("dW", dW), ("W", W)])
    expect_shape(dW, "dW", W.shape)
    return dW, W, _l2(l2)
