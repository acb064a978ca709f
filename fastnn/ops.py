"""The compiled kernels: same names, signatures and results as :mod:`fastnn.reference`.

Each function checks its arguments (the same checks as the reference, from
:mod:`fastnn._validation`), hands NumPy views to C without copying where the
kernel can read them in place (any strides for the matrix products; any row
stride with contiguous columns for the elementwise kernels), copies once
otherwise, and runs the C kernel with the GIL released, its rows split over
OpenMP threads. Results are new C-ordered arrays of the input dtype.
"""

from __future__ import annotations

import numpy as np

from . import _ops
from . import _validation as check

__all__ = [
    "linear_forward",
    "linear_backward",
    "dense_forward",
    "activation_forward",
    "activation_backward",
    "batchnorm_forward",
    "batchnorm_backward",
    "softmax_cross_entropy",
    "dropout_forward",
    "dropout_backward",
    "maxout_forward",
    "maxout_backward",
    "batchnorm_running_update",
    "batchnorm_inference_forward",
    "batchnorm_inference_backward",
]


def _strided(a: np.ndarray) -> np.ndarray:
    """A view GEMM can read in place: any strides that are whole elements."""
    item = a.itemsize
    if a.strides[0] % item or a.strides[1] % item:
        return np.ascontiguousarray(a)
    return a


def _rows(a: np.ndarray) -> np.ndarray:
    """A view with contiguous columns (any row stride), copying only if needed."""
    item = a.itemsize
    columns_ok = a.shape[1] <= 1 or a.strides[1] == item
    if columns_ok and a.strides[0] % item == 0:
        return a
    return np.ascontiguousarray(a)


def _vector(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a)


def linear_forward(X, W, b):
    """S = X W^T + b, computed by the blocked GEMM with the bias in its epilogue."""
    X, W, b = check.linear_forward_args(X, W, b)
    return _ops.linear_forward(_strided(X), _strided(W), _vector(b))


def linear_backward(dS, X, W):
    """(dX, dW, db) = (dS W, dS^T X, column sums of dS); transposes are read in place."""
    dS, X, W = check.linear_backward_args(dS, X, W)
    return _ops.linear_backward(_strided(dS), _strided(X), _strided(W))


def dense_forward(X, W, b, activation, alpha=None):
    """(S, H) = (X W^T + b, f(S)) in one pass: f is applied to each tile of S in
    the GEMM's epilogue, while the tile is still in cache, instead of in a second
    sweep over S. b may be None (no bias). Same results as linear_forward followed
    by activation_forward; both outputs are returned because the backward pass
    needs H and batch norm or a loss may need S.
    """
    X, W, b, activation, alpha = check.dense_forward_args(X, W, b, activation, alpha)
    bias = None if b is None else _vector(b)
    return _ops.dense_forward(_ops.ACTIVATION_CODES[activation], _strided(X), _strided(W), bias, alpha)


def activation_forward(name, S, alpha=None):
    """H = f(S) for "identity", "sigmoid", "tanh", "relu", "leaky_relu" (alpha 0.01), "elu" (alpha 1.0),
    "softplus"."""
    name, S, alpha = check.activation_forward_args(name, S, alpha)
    return _ops.activation_forward(_ops.ACTIVATION_CODES[name], _rows(S), alpha)


def activation_backward(name, dH, H, alpha=None):
    """dS = dH * f'(S), with f' computed from the activation's output H."""
    name, dH, H, alpha = check.activation_backward_args(name, dH, H, alpha)
    return _ops.activation_backward(_ops.ACTIVATION_CODES[name], _rows(dH), _rows(H), alpha)


def batchnorm_forward(S, gamma, beta, eps=1e-5):
    """(Y, mean, var): per-column batch mean and biased variance, Y = gamma * S_hat + beta."""
    S, gamma, beta, eps = check.batchnorm_forward_args(S, gamma, beta, eps)
    return _ops.batchnorm_forward(_rows(S), _vector(gamma), _vector(beta), eps)


def batchnorm_backward(dY, S, gamma, mean, var, eps=1e-5):
    """(dS, dgamma, dbeta): the lectures' three-term batch-norm gradient."""
    dY, S, gamma, mean, var, eps = check.batchnorm_backward_args(dY, S, gamma, mean, var, eps)
    return _ops.batchnorm_backward(
        _rows(dY), _rows(S), _vector(gamma), _vector(mean), _vector(var), eps
    )


def softmax_cross_entropy(S, y):
    """(loss, dS): mean cross-entropy of softmax(S) against integer labels y, and its gradient."""
    S, y = check.softmax_cross_entropy_args(S, y)
    return _ops.softmax_cross_entropy(_rows(S), np.ascontiguousarray(y, dtype=np.int64))


def dropout_forward(H, p, seed, step):
    """Inverted dropout, Y = H * m / (1 - p), with m = reference.dropout_mask(seed, step, H.shape, p).

    The mask is drawn again inside the kernel from the counter, element by element,
    and never stored.

    Parameters
    ----------
    H : array_like, (N, D), float32 or float64
    p : float
        Drop probability, in [0, 1).
    seed : int
        The layer's stream, in [0, 2**64).
    step : int
        The training pass, >= 0.

    Returns
    -------
    numpy.ndarray
        Y, (N, D), of H's dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.dropout_forward`.
    """
    H, p, seed, step = check.dropout_args(H, p, seed, step, "H")
    return _ops.dropout_forward(_rows(H), p, seed, step)


def dropout_backward(dY, p, seed, step):
    """dH = dY * m / (1 - p) with the forward pass's (seed, step), hence its mask.

    Parameters
    ----------
    dY : array_like, (N, D), float32 or float64
    p, seed, step
        The forward pass's arguments.

    Returns
    -------
    numpy.ndarray
        dH, (N, D), of dY's dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.dropout_backward`.
    """
    dY, p, seed, step = check.dropout_args(dY, p, seed, step, "dY")
    return _ops.dropout_backward(_rows(dY), p, seed, step)


def maxout_forward(S, k):
    """(H, winner): the max over each unit's k pieces (columns j*k .. j*k+k-1 of S) and its index.

    Parameters
    ----------
    S : array_like, (N, D * k), float32 or float64
    k : int
        Pieces per unit, >= 1.

    Returns
    -------
    H : numpy.ndarray
        (N, D), of S's dtype.
    winner : numpy.ndarray
        (N, D), int64: the first maximum on a tie, the first NaN if there is one.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.maxout_forward`.
    """
    S, k = check.maxout_forward_args(S, k)
    return _ops.maxout_forward(_rows(S), k)


def maxout_backward(dH, winner, k):
    """dS (N, D * k): dH[i, j] at column j*k + winner[i, j], 0 elsewhere.

    Parameters
    ----------
    dH : array_like, (N, D), float32 or float64
    winner : array_like of int, (N, D)
        The forward pass's winners, in [0, k).
    k : int
        Pieces per unit, >= 1.

    Returns
    -------
    numpy.ndarray
        dS, (N, D * k), of dH's dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.maxout_backward`.
    """
    dH, winner, k = check.maxout_backward_args(dH, winner, k)
    return _ops.maxout_backward(_rows(dH), _rows(winner), k)


def batchnorm_running_update(running_mean, running_var, mean, var, n, momentum, unbiased):
    """running = (1 - momentum) running + momentum batch, in place; var times n/(n-1) when unbiased.

    Parameters
    ----------
    running_mean, running_var : numpy.ndarray, (D,), float32 or float64
        Updated in place (a strided view is updated through a contiguous copy).
    mean, var : array_like, (D,)
        The batch statistics.
    n : int
        The batch size.
    momentum : float
        In [0, 1].
    unbiased : bool

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.batchnorm_running_update`.
    """
    running_mean, running_var, mean, var, n, momentum, unbiased = check.batchnorm_running_update_args(
        running_mean, running_var, mean, var, n, momentum, unbiased)
    live = (running_mean, running_var)
    work = tuple(a if a.flags.c_contiguous else np.ascontiguousarray(a) for a in live)
    _ops.batchnorm_running_update(work[0], work[1], _vector(mean), _vector(var), n, momentum, unbiased)
    for target, result in zip(live, work):
        if result is not target:
            target[...] = result


def batchnorm_inference_forward(S, gamma, beta, running_mean, running_var, eps=1e-5):
    """Eval-mode batch norm, Y = gamma (S - running_mean) / sqrt(running_var + eps) + beta.

    Parameters
    ----------
    S : array_like, (N, D), float32 or float64
    gamma, beta, running_mean, running_var : array_like, (D,)
    eps : float, optional

    Returns
    -------
    numpy.ndarray
        Y, (N, D), of S's dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.batchnorm_inference_forward`.
    """
    S, gamma, beta, running_mean, running_var, eps = check.batchnorm_inference_forward_args(
        S, gamma, beta, running_mean, running_var, eps)
    return _ops.batchnorm_inference_forward(_rows(S), _vector(gamma), _vector(beta), _vector(running_mean),
                                            _vector(running_var), eps)


def batchnorm_inference_backward(dY, S, gamma, running_mean, running_var, eps=1e-5):
    """(dS, dgamma, dbeta) of eval-mode batch norm: dS = dY gamma / sqrt(running_var + eps).

    Parameters
    ----------
    dY, S : array_like, (N, D), float32 or float64
    gamma, running_mean, running_var : array_like, (D,)
    eps : float, optional

    Returns
    -------
    dS : numpy.ndarray
        (N, D).
    dgamma, dbeta : numpy.ndarray
        (D,).

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.batchnorm_inference_backward`.
    """
    dY, S, gamma, running_mean, running_var, eps = check.batchnorm_inference_backward_args(
        dY, S, gamma, running_mean, running_var, eps)
    return _ops.batchnorm_inference_backward(_rows(dY), _rows(S), _vector(gamma), _vector(running_mean),
                                             _vector(running_var), eps)
