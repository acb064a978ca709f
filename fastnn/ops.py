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
    "sigmoid_binary_cross_entropy",
    "mse",
    "softmax",
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


def _vector_view(a: np.ndarray) -> np.ndarray:
    """A 1-D view with any stride that is whole elements, copying only if needed."""
    return a if a.strides[0] % a.itemsize == 0 else np.ascontiguousarray(a)


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
    """H = f(S) for "identity", "sigmoid", "tanh", "relu", "leaky_relu" (alpha 0.01), "elu" (alpha 1.0)."""
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
    """Mean cross-entropy of softmax(S) against class targets, and its gradient.

    Parameters
    ----------
    S : ndarray of shape (N, C), float32 or float64
        Scores (logits), one row per sample.
    y : ndarray of shape (N,) with integer labels in [0, C), or of shape (N, C) with
        class probabilities (soft targets) in S's dtype, entries >= 0 (rows need not sum to 1)

    Returns
    -------
    loss : scalar of S's dtype
        mean_i -sum_c y_ic log softmax(s_i)_c (for labels, mean_i -log softmax(s_i)[y_i]).
    dS : ndarray of shape (N, C)
        (softmax(S) * sum_c y_ic - y) / N.

    Raises
    ------
    TypeError
        S is not a float array; y is neither integer labels nor probabilities of S's dtype.
    ValueError
        Shapes do not fit, a label is out of range, a probability is negative, or the
        batch is empty.
    """
    S, y = check.softmax_cross_entropy_args(S, y)
    if y.ndim == 2:
        return _ops.softmax_cross_entropy_soft(_rows(S), _rows(y))
    return _ops.softmax_cross_entropy(_rows(S), np.ascontiguousarray(y, dtype=np.int64))


def sigmoid_binary_cross_entropy(S, y):
    """Mean binary cross-entropy of sigmoid(S) against targets y, and its gradient.

    Parameters
    ----------
    S : ndarray of shape (N, 1), float32 or float64
        One logit per sample.
    y : ndarray of shape (N,) or (N, 1), S's dtype
        Targets in [0, 1] (labels 0/1, or probabilities).

    Returns
    -------
    loss : scalar of S's dtype
        mean_i max(s_i, 0) - s_i y_i + log(1 + e^-|s_i|), finite for any logit.
    dS : ndarray of shape (N, 1)
        (sigmoid(S) - y) / N.

    Raises
    ------
    TypeError
        S or y is not a float array, or their dtypes differ.
    ValueError
        S is not (N, 1), y's shape does not fit, a target lies outside [0, 1], or the
        batch is empty.
    """
    S, y = check.sigmoid_binary_cross_entropy_args(S, y)
    return _ops.sigmoid_binary_cross_entropy(_rows(S), _vector_view(y[:, 0]))


def mse(O, Y):
    """Mean over the samples of half the squared error, and its gradient.

    Parameters
    ----------
    O : ndarray of shape (N, D), float32 or float64
        The network's outputs.
    Y : ndarray of shape (N, D), O's dtype
        The targets.

    Returns
    -------
    loss : scalar of O's dtype
        mean_i 1/2 ||y_i - o_i||^2.
    dO : ndarray of shape (N, D)
        (O - Y) / N.

    Raises
    ------
    TypeError
        O or Y is not a float array, or their dtypes differ.
    ValueError
        The shapes differ, or O has no sample or no column.
    """
    O, Y = check.mse_args(O, Y)
    return _ops.mse(_rows(O), _rows(Y))


def softmax(S):
    """Row-wise softmax, shifted by each row's maximum (finite for logits of any size).

    Parameters
    ----------
    S : ndarray of shape (N, C), float32 or float64
        Scores, one row per sample (N may be 0).

    Returns
    -------
    P : ndarray of shape (N, C)
        exp(s_i - max s_i) / sum_c exp(s_ic - max s_i), rows summing to 1.

    Raises
    ------
    TypeError
        S is not a float array.
    ValueError
        S is not 2-D or has no column.
    """
    S = check.softmax_args(S)
    return _ops.softmax(_rows(S))
