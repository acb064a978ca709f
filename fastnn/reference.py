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


def softmax_cross_entropy(S, y):
    """Mean cross-entropy of softmax(S) against integer labels, and its gradient.

    p_i = softmax(s_i),  loss = 1/n sum_i -log p_i[y_i],
    dJ/ds_i = (p_i - onehot(y_i)) / n.
    Shifting each row by its maximum before exponentiating keeps every
    exponent <= 0, so logits of any size give finite results.
    Returns (loss, dS); loss is a scalar of S's dtype.
    """
    S, y = check.softmax_cross_entropy_args(S, y)
    n = S.shape[0]
    rows = np.arange(n)
    shifted = S - S.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    log_p = shifted - np.log(total)
    loss = -log_p[rows, y].sum() / n
    P = exp / total
    one_hot = np.zeros_like(S)
    one_hot[rows, y] = 1
    dS = (P - one_hot) / S.dtype.type(n)
    return S.dtype.type(loss), dS
