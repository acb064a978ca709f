"""The NumPy answer key: every compiled kernel, written as the lectures write it.

Each function here has a compiled twin of the same name and signature in
:mod:`fastnn.ops`. These are meant to be read: no fusion, no tricks, one line
per formula where possible. Shapes follow the lectures and PyTorch:
samples are rows, X is (N, D_in), W is (D_out, D_in), b is (D_out,), and
S = X W^T + b is (N, D_out). Results keep the input dtype.
"""

from __future__ import annotations

import numpy as np

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


def linear_forward(X, W, b):
    """S = X W^T + b: the scores of a dense layer for a mini-batch."""
    X, W, b = check.linear_forward_args(X, W, b)
    return X @ W.T + b


def linear_backward(dS, X, W):
    """Gradients of a dense layer: dX = dS W, dW = dS^T X, db = sum_i dS_i."""
    dS, X, W = check.linear_backward_args(dS, X, W)
    dX = dS @ W
    dW = dS.T @ X
    db = dS.sum(axis=0)
    return dX, dW, db


def dense_forward(X, W, b, activation, alpha=None):
    """A dense layer and its activation: S = X W^T + b, H = f(S). Returns (S, H).

    b may be None for a layer without bias (S = X W^T). ``activation`` and
    ``alpha`` are as for :func:`activation_forward`.
    """
    X, W, b, activation, _ = check.dense_forward_args(X, W, b, activation, alpha)
    S = X @ W.T
    if b is not None:
        S = S + b
    return S, activation_forward(activation, S, alpha)


def activation_forward(name, S, alpha=None):
    """H = f(S) elementwise for one of the lecture's activations."""
    name, S, alpha = check.activation_forward_args(name, S, alpha)
    one = S.dtype.type(1)
    a = S.dtype.type(alpha)
    if name == "identity":
        return S.copy()
    if name == "sigmoid":
        return one / (one + np.exp(-S))
    if name == "tanh":
        return np.tanh(S)
    if name == "relu":
        return np.maximum(S, 0)
    if name == "leaky_relu":
        return np.where(S > 0, S, a * S)
    # elu: alpha (e^s - 1) below zero; expm1 keeps small negative inputs exact
    return np.where(S > 0, S, a * np.expm1(np.minimum(S, 0)))


def activation_backward(name, dH, H, alpha=None):
    """dS = dH * f'(S), with f' written in terms of the output H = f(S).

    sigmoid' = H (1 - H), tanh' = 1 - H^2, relu' = [H > 0],
    leaky_relu' = 1 or alpha, elu' = 1 or alpha e^s = H + alpha.
    """
    name, dH, H, alpha = check.activation_backward_args(name, dH, H, alpha)
    one = H.dtype.type(1)
    a = H.dtype.type(alpha)
    if name == "identity":
        return dH.copy()
    if name == "sigmoid":
        return dH * (H * (one - H))
    if name == "tanh":
        return dH * (one - H * H)
    if name == "relu":
        return dH * _slope(H, below=H.dtype.type(0))
    if name == "leaky_relu":
        return dH * _slope(H, below=a)
    return dH * np.where(H > 0, one, H + a)


def _slope(H, below):
    """1 where H > 0, `below` elsewhere, NaN where H is NaN.

    The gradient multiplies by the slope (rather than selecting dH) so that a NaN
    arriving in dH is not silently turned into 0 where the unit is off.
    """
    return np.where(np.isnan(H), H, np.where(H > 0, H.dtype.type(1), below))


def batchnorm_forward(S, gamma, beta, eps=1e-5):
    """Batch normalisation of the scores, per column (unit).

    mu_b = 1/n sum_i s_i,  v_b = 1/n sum_i (s_i - mu_b)^2  (biased),
    s_hat_i = (v_b + eps)^(-1/2) (s_i - mu_b),  y_i = gamma * s_hat_i + beta.
    Returns (Y, mu_b, v_b).
    """
    S, gamma, beta, eps = check.batchnorm_forward_args(S, gamma, beta, eps)
    n = S.shape[0]
    mean = S.sum(axis=0) / n
    var = ((S - mean) ** 2).sum(axis=0) / n
    S_hat = (S - mean) / np.sqrt(var + S.dtype.type(eps))
    return gamma * S_hat + beta, mean, var


def batchnorm_backward(dY, S, gamma, mean, var, eps=1e-5):
    """The three-term batch-norm gradient of the lectures.

    With g_i = dJ/ds_hat_i = dY_i * gamma and V_b = diag(v_b + eps):
      dJ/dv_b  = -1/2 sum_i g_i V_b^(-3/2) diag(s_i - mu_b)
      dJ/dmu_b = -sum_i g_i V_b^(-1/2)
      dJ/ds_i  = g_i V_b^(-1/2) + 2/n dJ/dv_b diag(s_i - mu_b) + 1/n dJ/dmu_b
    and dgamma = sum_i dY_i * s_hat_i, dbeta = sum_i dY_i.
    Returns (dS, dgamma, dbeta).
    """
    dY, S, gamma, mean, var, eps = check.batchnorm_backward_args(dY, S, gamma, mean, var, eps)
    n = S.shape[0]
    t = S.dtype.type
    centred = S - mean
    inv_std = (var + t(eps)) ** t(-0.5)
    S_hat = centred * inv_std

    g = dY * gamma
    dJ_dvar = t(-0.5) * (g * inv_std ** 3 * centred).sum(axis=0)
    dJ_dmean = -(g * inv_std).sum(axis=0)
    dS = g * inv_std + t(2) / t(n) * dJ_dvar * centred + dJ_dmean / t(n)

    dgamma = (dY * S_hat).sum(axis=0)
    dbeta = dY.sum(axis=0)
    return dS, dgamma, dbeta


def softmax(S):
    """The SoftMax of each row: p = exp(s) / 1^T exp(s).

    Each row is shifted by its maximum first: p does not change, every exponent
    is <= 0, and logits of any size give finite probabilities.

    Parameters
    ----------
    S : ndarray of shape (N, C), float32 or float64
        Scores, one row per sample (N may be 0).

    Returns
    -------
    P : ndarray of shape (N, C)
        Rows of probabilities summing to 1.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.softmax`.
    """
    S = check.softmax_args(S)
    exp = np.exp(S - S.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def softmax_cross_entropy(S, y):
    """Mean cross-entropy of softmax(S) against class targets, and its gradient.

    p_i = softmax(s_i). For integer labels y_i: loss = 1/n sum_i -log p_i[y_i] and
    dJ/ds_i = (p_i - onehot(y_i)) / n. For class probabilities y_i (soft targets;
    a one-hot row gives the same numbers as its label):
    loss = 1/n sum_i -y_i^T log p_i and dJ/ds_i = (p_i (1^T y_i) - y_i) / n.
    log p_i is computed from the row shifted by its maximum, so logits of any size
    give finite results. Returns (loss, dS); loss is a scalar of S's dtype.
    """
    S, y = check.softmax_cross_entropy_args(S, y)
    n = S.shape[0]
    shifted = S - S.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    log_p = shifted - np.log(total)
    P = exp / total
    if y.ndim == 2:
        loss = -(y * log_p).sum() / n
        dS = (P * y.sum(axis=1, keepdims=True) - y) / S.dtype.type(n)
        return S.dtype.type(loss), dS
    rows = np.arange(n)
    loss = -log_p[rows, y].sum() / n
    one_hot = np.zeros_like(S)
    one_hot[rows, y] = 1
    dS = (P - one_hot) / S.dtype.type(n)
    return S.dtype.type(loss), dS


def sigmoid_binary_cross_entropy(S, y):
    """Mean log-loss of one sigmoid output unit, and its gradient.

    With y_hat = sigmoid(s), the lectures' log-loss L = -[y log y_hat + (1 - y) log(1 - y_hat)]
    is written as L = max(s, 0) - s y + log(1 + e^-|s|): e^-|s| <= 1 never overflows,
    so any logit gives a finite loss. Its derivative is dL/ds = y_hat - y.
    loss = 1/n sum_i L_i and dS = (sigmoid(S) - y) / n.

    Parameters
    ----------
    S : ndarray of shape (N, 1), float32 or float64
        One logit per sample.
    y : ndarray of shape (N,) or (N, 1), S's dtype
        Targets in [0, 1].

    Returns
    -------
    loss : scalar of S's dtype
    dS : ndarray of shape (N, 1)

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.sigmoid_binary_cross_entropy`.
    """
    S, y = check.sigmoid_binary_cross_entropy_args(S, y)
    n = S.shape[0]
    t = S.dtype.type
    e = np.exp(-np.abs(S))
    loss = (np.maximum(S, t(0)) - S * y + np.log1p(e)).sum() / n
    y_hat = np.where(S >= 0, t(1) / (t(1) + e), e / (t(1) + e))
    dS = (y_hat - y) / t(n)
    return t(loss), dS


def mse(O, Y):
    """Mean over the samples of the lectures' E_p = 1/2 sum_j (t_pj - o_pj)^2, and its gradient.

    loss = 1/n sum_p E_p and dJ/dO = (O - Y) / n.

    Parameters
    ----------
    O : ndarray of shape (N, D), float32 or float64
        The network's outputs o_p, one row per pattern.
    Y : ndarray of shape (N, D), O's dtype
        The targets t_p.

    Returns
    -------
    loss : scalar of O's dtype
    dO : ndarray of shape (N, D)

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.mse`.
    """
    O, Y = check.mse_args(O, Y)
    n = O.shape[0]
    t = O.dtype.type
    E = t(0.5) * ((Y - O) ** 2).sum(axis=1)
    return t(E.sum() / n), (O - Y) / t(n)
