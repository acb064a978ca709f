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
    "sgd_update",
    "adagrad_update",
    "rmsprop_update",
    "adam_update",
    "l2_penalty",
    "l2_gradient",
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
    """Mean log-loss of sigmoid output units, and its gradient.

    With y_hat = sigmoid(s), the lectures' log-loss L = -[y log y_hat + (1 - y) log(1 - y_hat)]
    is written as L = max(s, 0) - s y + log(1 + e^-|s|): e^-|s| <= 1 never overflows,
    so any logit gives a finite loss. Its derivative is dL/ds = y_hat - y. With K units
    (a multilabel output) a sample's loss is the sum of its K terms.
    loss = 1/n sum_i sum_k L_ik and dS = (sigmoid(S) - y) / n.

    Parameters
    ----------
    S : ndarray of shape (N, K), float32 or float64
        One logit per sample and unit.
    y : ndarray of shape (N, K), or (N,) when K = 1, S's dtype
        Targets in [0, 1].

    Returns
    -------
    loss : scalar of S's dtype
    dS : ndarray of shape (N, K)

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


# ---------------------------------------------------------------- the L2 term
#
# J = L + l2 sum_i ||W_i||^2 over the weight matrices (not the biases), as the
# lecture notes on k-layer networks write the regularised cost; its gradient
# adds 2 l2 W to dL/dW.

def _with_l2(g, W, l2):
    """A new array g + 2 l2 W; l2 = 0 adds no term at all (0 * W would turn an infinite W into NaN)."""
    if l2 == 0.0:
        return g.copy()
    return g + W.dtype.type(2.0 * l2) * W


def l2_penalty(W, l2):
    """The L2 penalty of one weight array: l2 ||W||^2.

    Parameters
    ----------
    W : array of float32 or float64, 1- or 2-dimensional
        The weights.
    l2 : float
        The penalty's weight, finite and >= 0.

    Returns
    -------
    float
        l2 times the sum of the squared elements, summed in float64.

    Raises
    ------
    TypeError, ValueError
        W is not a float array of 1 or 2 dimensions, or l2 is not a finite number >= 0.
    """
    W, l2 = check.l2_penalty_args(W, l2)
    W64 = W.astype(np.float64)
    return l2 * float(np.sum(W64 * W64))


def l2_gradient(dW, W, l2):
    """The gradient of L + l2 ||W||^2 from that of L: dW + 2 l2 W.

    Parameters
    ----------
    dW : array of float32 or float64
        dL/dW, W's shape and dtype.
    W : array of float32 or float64, 1- or 2-dimensional
        The weights.
    l2 : float
        The penalty's weight, finite and >= 0; 0 gives a copy of dW.

    Returns
    -------
    ndarray
        A new array of W's shape and dtype.

    Raises
    ------
    TypeError, ValueError
        Arrays of other dtypes or shapes, or l2 not a finite number >= 0.
    """
    dW, W, l2 = check.l2_gradient_args(dW, W, l2)
    return _with_l2(dW, W, l2)


# ---------------------------------------------------------------- optimiser updates
#
# The lecture notes on the training step name SGD with momentum, AdaGrad,
# RMSProp and Adam; the equations are those of torch.optim, whose defaults
# fastnn.optim keeps. Each update changes ``param`` and its state arrays in
# place and returns None. ``g`` is the gradient with the L2 term of ``l2``
# added (the C engine adds it inside the update; Sequential adds it with
# l2_gradient and passes l2 = 0). Scalars stay Python floats, which NumPy
# applies in the arrays' dtype.

def sgd_update(param, grad, momentum_buffer, lr, momentum=0.0, dampening=0.0, nesterov=False,
               first_step=False, l2=0.0):
    """One step of stochastic gradient descent, with momentum when ``momentum`` is not 0.

    b = g on the first step, b = momentum b + (1 - dampening) g afterwards;
    param -= lr b, or param -= lr (g + momentum b) with Nesterov momentum;
    without momentum, param -= lr g.

    Parameters
    ----------
    param : ndarray of float32 or float64, 1- or 2-dimensional, writeable
        The parameter, updated in place.
    grad : array
        Its gradient, param's shape and dtype.
    momentum_buffer : ndarray or None
        The momentum buffer b (param's shape and dtype), updated in place; may be None
        when momentum is 0 (it is then left alone).
    lr : float
        The learning rate, >= 0.
    momentum : float, default 0.0
        The momentum factor, >= 0.
    dampening : float, default 0.0
        In [0, 1]: the share of the gradient left out of the buffer.
    nesterov : bool, default False
        Nesterov momentum (needs momentum > 0 and dampening 0).
    first_step : bool, default False
        The buffer is empty: this step sets it to g.
    l2 : float, default 0.0
        Adds 2 l2 param to the gradient first.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        An array of the wrong kind, dtype or shape, a read-only or overlapping array, a
        missing buffer, or a hyper-parameter out of range.
    """
    param, grad, b, lr, momentum, dampening, nesterov, first_step, l2 = check.sgd_update_args(
        param, grad, momentum_buffer, lr, momentum, dampening, nesterov, first_step, l2)
    g = _with_l2(grad, param, l2)
    if momentum == 0.0:
        param -= lr * g
        return
    b[...] = g if first_step else momentum * b + (1.0 - dampening) * g
    param -= lr * (g + momentum * b if nesterov else b)


def adagrad_update(param, grad, state_sum, lr, step, lr_decay=0.0, eps=1e-10, l2=0.0):
    """One AdaGrad step: each element's learning rate shrinks with its accumulated squared gradients.

    s += g^2;  param -= lr / (1 + (step - 1) lr_decay) * g / (sqrt(s) + eps).

    Parameters
    ----------
    param : ndarray of float32 or float64, 1- or 2-dimensional, writeable
        The parameter, updated in place.
    grad : array
        Its gradient, param's shape and dtype.
    state_sum : ndarray
        The sum s of squared gradients (param's shape and dtype), updated in place.
    lr : float
        The learning rate, >= 0.
    step : int
        The 1-based count of updates, this one included.
    lr_decay : float, default 0.0
        Decay of the learning rate per step, >= 0.
    eps : float, default 1e-10
        Added to the root, >= 0.
    l2 : float, default 0.0
        Adds 2 l2 param to the gradient first.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As for :func:`sgd_update`; step must be an integer >= 1.
    """
    param, grad, s, lr, step, lr_decay, eps, l2 = check.adagrad_update_args(
        param, grad, state_sum, lr, step, lr_decay, eps, l2)
    g = _with_l2(grad, param, l2)
    s += g * g
    param -= lr / (1.0 + (step - 1) * lr_decay) * (g / (np.sqrt(s) + eps))


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha=0.99, eps=1e-8,
                   momentum=0.0, centered=False, l2=0.0):
    """One RMSProp step: the gradient divided by a running root mean square of its past values.

    a = alpha a + (1 - alpha) g^2;  centered: m = alpha m + (1 - alpha) g and
    d = sqrt(a - m^2) + eps, else d = sqrt(a) + eps;
    param -= lr g / d, or with momentum b = momentum b + g / d and param -= lr b.

    Parameters
    ----------
    param : ndarray of float32 or float64, 1- or 2-dimensional, writeable
        The parameter, updated in place.
    grad : array
        Its gradient, param's shape and dtype.
    square_avg : ndarray
        The running average a of g^2 (param's shape and dtype), updated in place.
    grad_avg : ndarray or None
        The running average m of g, updated in place; needed when centered, else left alone.
    momentum_buffer : ndarray or None
        The momentum buffer b, updated in place; needed when momentum > 0, else left alone.
    lr : float
        The learning rate, >= 0.
    alpha : float, default 0.99
        The smoothing constant, in [0, 1].
    eps : float, default 1e-8
        Added to the root, >= 0.
    momentum : float, default 0.0
        The momentum factor, >= 0.
    centered : bool, default False
        Divide by the running standard deviation of g instead of its root mean square.
    l2 : float, default 0.0
        Adds 2 l2 param to the gradient first.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As for :func:`sgd_update`.
    """
    param, grad, a, m, b, lr, alpha, eps, momentum, centered, l2 = check.rmsprop_update_args(
        param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, momentum, centered, l2)
    g = _with_l2(grad, param, l2)
    a[...] = alpha * a + (1.0 - alpha) * g * g
    if centered:
        m[...] = alpha * m + (1.0 - alpha) * g
        d = np.sqrt(a - m * m) + eps
    else:
        d = np.sqrt(a) + eps
    if momentum > 0.0:
        b[...] = momentum * b + g / d
        param -= lr * b
    else:
        param -= lr * (g / d)


def adam_update(param, grad, m, v, lr, step, beta1=0.9, beta2=0.999, eps=1e-8, l2=0.0):
    """One Adam step: momentum on the gradient, scaled by the root of a running mean of its square.

    m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
    m_hat = m / (1 - beta1^step);  v_hat = v / (1 - beta2^step);
    param -= lr m_hat / (sqrt(v_hat) + eps).

    Parameters
    ----------
    param : ndarray of float32 or float64, 1- or 2-dimensional, writeable
        The parameter, updated in place.
    grad : array
        Its gradient, param's shape and dtype.
    m, v : ndarray
        The first and second moment estimates (param's shape and dtype), updated in place.
    lr : float
        The learning rate, >= 0.
    step : int
        The 1-based count of updates, this one included (for the bias corrections).
    beta1, beta2 : float, default 0.9 and 0.999
        The moments' decay rates, in [0, 1).
    eps : float, default 1e-8
        Added to the root, >= 0.
    l2 : float, default 0.0
        Adds 2 l2 param to the gradient first.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As for :func:`sgd_update`; step must be an integer >= 1.
    """
    param, grad, m, v, lr, step, beta1, beta2, eps, l2 = check.adam_update_args(
        param, grad, m, v, lr, step, beta1, beta2, eps, l2)
    g = _with_l2(grad, param, l2)
    m[...] = beta1 * m + (1.0 - beta1) * g
    v[...] = beta2 * v + (1.0 - beta2) * g * g
    m_hat = m / (1.0 - beta1 ** step)
    v_hat = v / (1.0 - beta2 ** step)
    param -= lr * m_hat / (np.sqrt(v_hat) + eps)
