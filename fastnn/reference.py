"""The NumPy answer key: every compiled kernel, written as the lectures write it.

Each kernel here (``__all__``) has a compiled twin of the same name and
signature in :mod:`fastnn.ops`; :func:`dropout_mask` is the mask both draw.
These are meant to be read: no fusion, no tricks, one line per formula where
possible. Shapes follow the lectures and PyTorch:
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
    "dropout_forward",
    "dropout_backward",
    "maxout_forward",
    "maxout_backward",
    "batchnorm_running_update",
    "batchnorm_inference_forward",
    "batchnorm_inference_backward",
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
    """H = f(S) elementwise for one of the lecture's activations.

    softplus(s) = log(1 + e^s) is computed as max(s, 0) + log1p(e^-|s|), whose
    exponent is never positive: finite for any finite s.
    """
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
    if name == "softplus":
        return np.maximum(S, 0) + np.log1p(np.exp(-np.abs(S)))
    # elu: alpha (e^s - 1) below zero; expm1 keeps small negative inputs exact
    return np.where(S > 0, S, a * np.expm1(np.minimum(S, 0)))


def activation_backward(name, dH, H, alpha=None):
    """dS = dH * f'(S), with f' written in terms of the output H = f(S).

    sigmoid' = H (1 - H), tanh' = 1 - H^2, relu' = [H > 0],
    leaky_relu' = 1 or alpha, elu' = 1 or alpha e^s = H + alpha,
    softplus' = sigmoid(s) = 1 - e^-H (as -expm1(-H), accurate where H is small).
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
    if name == "softplus":
        return dH * -np.expm1(-H)
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


# --- dropout ------------------------------------------------------------------------
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix64(z):
    """The SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def dropout_mask(seed, step, shape, p):
    """Keep-mask of inverted dropout, a pure function of (seed, step, element index).

    For element i (row-major index in the (N, D) batch)::

        key = mix64(seed + GOLDEN * (step + 1)),  r = mix64(key + GOLDEN * (i + 1)),
        u = (r >> 11) * 2^-53 in [0, 1),          keep = u >= p,

    with mix64 the SplitMix64 finaliser and all arithmetic modulo 2^64. Any engine
    (the C kernels, a GPU) reproduces the same mask from the same numbers.

    Parameters
    ----------
    seed : int
        The dropout layer's stream, in [0, 2**64).
    step : int
        The layer's training pass, >= 0.
    shape : tuple of int
        Shape of the mask (the batch's).
    p : float
        Probability of dropping an element.

    Returns
    -------
    numpy.ndarray
        Boolean array of ``shape``, True where the element is kept.
    """
    with np.errstate(over="ignore"):
        seed = np.array([seed], dtype=np.uint64)
        key = _mix64(seed + _GOLDEN * np.uint64(step + 1))
        index = np.arange(1, int(np.prod(shape)) + 1, dtype=np.uint64)
        r = _mix64(key + _GOLDEN * index)
    u = (r >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return (u >= p).reshape(shape)


def dropout_forward(H, p, seed, step):
    """Inverted dropout: drop each unit with probability p, scale the kept ones by 1/(1 - p).

    Y = H * m / (1 - p), with m = dropout_mask(seed, step, H.shape, p): the expected
    value of every unit is unchanged, so evaluation uses H as it is. p = 0 keeps
    every unit (Y = H).

    Parameters
    ----------
    H : array_like, (N, D), float32 or float64
        The layer's input.
    p : float
        Drop probability, in [0, 1).
    seed : int
        The layer's stream, in [0, 2**64).
    step : int
        The training pass (which mask), >= 0.

    Returns
    -------
    numpy.ndarray
        Y, (N, D), of H's dtype. A dropped NaN stays NaN (it is multiplied by 0).

    Raises
    ------
    TypeError
        H is not a float array; p, seed or step has the wrong type.
    ValueError
        H is not 2-D; p, seed or step is out of range.
    """
    H, p, seed, step = check.dropout_args(H, p, seed, step, "H")
    m = dropout_mask(seed, step, H.shape, p)
    return H * (m * H.dtype.type(1 / (1 - p)))


def dropout_backward(dY, p, seed, step):
    """Gradient of inverted dropout: dH = dY * m / (1 - p), the forward pass's mask.

    Parameters
    ----------
    dY : array_like, (N, D), float32 or float64
        Gradient of the loss with respect to the dropout output.
    p, seed, step
        The arguments of the forward pass, which give the same mask.

    Returns
    -------
    numpy.ndarray
        dH, (N, D), of dY's dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`dropout_forward`, for dY.
    """
    dY, p, seed, step = check.dropout_args(dY, p, seed, step, "dY")
    m = dropout_mask(seed, step, dY.shape, p)
    return dY * (m * dY.dtype.type(1 / (1 - p)))


# --- maxout -------------------------------------------------------------------------

def maxout_forward(S, k):
    """Maxout units: h_j = max_r s_(j k + r) over each unit's k linear pieces.

    S holds the k pieces of unit j in its columns j*k .. j*k+k-1 (the output of a
    dense layer with D * k units). winner is the index of the piece that won: the
    first maximum on a tie, and the first NaN if a piece is NaN, as numpy.argmax
    picks (H is then NaN).

    Parameters
    ----------
    S : array_like, (N, D * k), float32 or float64
        The pieces.
    k : int
        Pieces per unit, >= 1.

    Returns
    -------
    H : numpy.ndarray
        (N, D), of S's dtype.
    winner : numpy.ndarray
        (N, D), int64, in [0, k).

    Raises
    ------
    TypeError
        S is not a float array, or k not an integer.
    ValueError
        S is not 2-D, k < 1, or S's columns are not a multiple of k.
    """
    S, k = check.maxout_forward_args(S, k)
    n, d = S.shape[0], S.shape[1] // k
    pieces = S.reshape(n, d, k)
    winner = pieces.argmax(axis=2)
    H = np.take_along_axis(pieces, winner[:, :, None], axis=2)[:, :, 0]
    return H, winner.astype(np.int64)


def maxout_backward(dH, winner, k):
    """Gradient of maxout: each unit's gradient goes to the piece that won, 0 to the others.

    dS[i, j*k + winner[i, j]] = dH[i, j]; every other element of dS is 0 (a piece that
    lost does not reach the output).

    Parameters
    ----------
    dH : array_like, (N, D), float32 or float64
        Gradient of the loss with respect to the maxout output.
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
    TypeError
        dH is not a float array, winner not integer, or k not an integer.
    ValueError
        Shapes differ, k < 1, or a winner lies outside [0, k).
    """
    dH, winner, k = check.maxout_backward_args(dH, winner, k)
    n, d = dH.shape
    dS = np.zeros((n, d, k), dtype=dH.dtype)
    np.put_along_axis(dS, winner[:, :, None], dH[:, :, None], axis=2)
    return dS.reshape(n, d * k)


# --- batch-norm running statistics ---------------------------------------------------

def batchnorm_running_update(running_mean, running_var, mean, var, n, momentum, unbiased):
    """The running averages that batch norm normalises with at test time, updated in place.

    running_mean = (1 - momentum) running_mean + momentum mu_b,
    running_var  = (1 - momentum) running_var  + momentum v_b,
    where v_b is the batch's biased variance, or its unbiased variance v_b n / (n - 1)
    when ``unbiased`` (as PyTorch). momentum = 0.1 is the lectures' alpha = 0.9 on the
    old value.

    Parameters
    ----------
    running_mean, running_var : numpy.ndarray, (D,), float32 or float64
        The running statistics, updated in place (writeable, separate arrays).
    mean, var : array_like, (D,)
        The batch mean and biased variance (batchnorm_forward's), of the same dtype.
    n : int
        The batch size (>= 2 when unbiased, else >= 1).
    momentum : float
        Weight of the batch, in [0, 1].
    unbiased : bool
        Feed the running variance with the unbiased batch variance.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        An array is not a float NumPy array, or dtypes differ; n, momentum or
        unbiased has the wrong type.
    ValueError
        Shapes differ, a running array is read-only or shared, or n or momentum
        is out of range.
    """
    running_mean, running_var, mean, var, n, momentum, unbiased = check.batchnorm_running_update_args(
        running_mean, running_var, mean, var, n, momentum, unbiased)
    t = running_mean.dtype.type
    m = t(momentum)
    v_b = var * t(n / (n - 1)) if unbiased else var
    running_mean[...] = (t(1) - m) * running_mean + m * mean
    running_var[...] = (t(1) - m) * running_var + m * v_b


# --- batch norm in eval mode ---------------------------------------------------------

def batchnorm_inference_forward(S, gamma, beta, running_mean, running_var, eps=1e-5):
    """Batch normalisation at test time: the running statistics take the batch's place.

    s_hat = (running_var + eps)^(-1/2) (s - running_mean),  y = gamma * s_hat + beta:
    an affine map per column, the same for a batch of any size (one sample included).

    Parameters
    ----------
    S : array_like, (N, D), float32 or float64
        The scores.
    gamma, beta : array_like, (D,)
        Scale and shift.
    running_mean, running_var : array_like, (D,)
        The running statistics (see :func:`batchnorm_running_update`).
    eps : float, optional
        Added to the variance, >= 0.

    Returns
    -------
    numpy.ndarray
        Y, (N, D), of S's dtype.

    Raises
    ------
    TypeError
        An argument is not a float array, or dtypes differ; eps is not a number.
    ValueError
        Wrong ranks or shapes; eps negative or not finite.
    """
    S, gamma, beta, running_mean, running_var, eps = check.batchnorm_inference_forward_args(
        S, gamma, beta, running_mean, running_var, eps)
    S_hat = (S - running_mean) / np.sqrt(running_var + S.dtype.type(eps))
    return gamma * S_hat + beta


def batchnorm_inference_backward(dY, S, gamma, running_mean, running_var, eps=1e-5):
    """Gradients of :func:`batchnorm_inference_forward`: the statistics are constants here.

    dJ/ds_i = dY_i * gamma (running_var + eps)^(-1/2),
    dgamma = sum_i dY_i * s_hat_i,  dbeta = sum_i dY_i.

    Parameters
    ----------
    dY : array_like, (N, D), float32 or float64
        Gradient of the loss with respect to Y.
    S, gamma, running_mean, running_var, eps
        The forward pass's arguments.

    Returns
    -------
    dS : numpy.ndarray
        (N, D).
    dgamma, dbeta : numpy.ndarray
        (D,).

    Raises
    ------
    TypeError, ValueError
        As :func:`batchnorm_inference_forward`, and dY's shape must be S's.
    """
    dY, S, gamma, running_mean, running_var, eps = check.batchnorm_inference_backward_args(
        dY, S, gamma, running_mean, running_var, eps)
    inv_std = (running_var + S.dtype.type(eps)) ** S.dtype.type(-0.5)
    S_hat = (S - running_mean) * inv_std
    dS = dY * (gamma * inv_std)
    return dS, (dY * S_hat).sum(axis=0), dY.sum(axis=0)
