"""The NumPy answer key: every compiled kernel, written as the lectures write it.

Each kernel here (``__all__``) has a compiled twin of the same name and
signature in :mod:`fastnn.ops`; :func:`dropout_mask` is the mask both draw.
These are meant to be read: no fusion, no tricks, one line per formula where
possible. Shapes follow the lectures and PyTorch:
samples are rows, X is (N, D_in), W is (D_out, D_in), b is (D_out,), and
S = X W^T + b is (N, D_out). Results keep the input dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

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
    "clip_grad_norm",
    "sigmoid_binary_cross_entropy",
    "mse",
    "softmax",
    "dropout_forward",
    "dropout_backward",
    "maxout_forward",
    "maxout_backward",
    "batchnorm_running_update",
    "batchnorm_inference_forward",
    "batchnorm_inference_backward",
]


def linear_forward(X: ArrayLike, W: ArrayLike, b: ArrayLike) -> NDArray[Any]:
    """The scores of a dense layer for a mini-batch: S = X W^T + b.

    Parameters
    ----------
    X : array_like of shape (N, D_in), float32 or float64
        The inputs, one row per sample.
    W : array_like of shape (D_out, D_in), X's dtype
        The weights, one row per output unit (PyTorch's layout).
    b : array_like of shape (D_out,), X's dtype
        The biases.

    Returns
    -------
    S : numpy.ndarray of shape (N, D_out)
        The scores, of X's dtype.

    Raises
    ------
    TypeError
        An argument is not a float array, or the dtypes differ.
    ValueError
        An argument has the wrong number of dimensions, or the shapes do not fit.

    See Also
    --------
    dense_forward : the same product with the activation applied in one pass.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.reference import linear_forward
    >>> X = np.array([[1.0, 2.0], [0.0, -1.0]])
    >>> W = np.array([[1.0, 0.0], [1.0, 1.0], [0.5, -1.0]])
    >>> linear_forward(X, W, np.array([0.0, 1.0, 0.5]))
    array([[ 1. ,  4. , -1. ],
           [ 0. ,  0. ,  1.5]])
    """
    X, W, b = check.linear_forward_args(X, W, b)
    return X @ W.T + b


def linear_backward(dS: ArrayLike, X: ArrayLike, W: ArrayLike) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """The gradients of a dense layer: dX = dS W, dW = dS^T X, db = sum_i dS_i.

    Parameters
    ----------
    dS : array_like of shape (N, D_out), float32 or float64
        Gradient of the loss with respect to the scores S.
    X : array_like of shape (N, D_in), dS's dtype
        The layer's input in the forward pass.
    W : array_like of shape (D_out, D_in), dS's dtype
        The layer's weights.

    Returns
    -------
    dX : numpy.ndarray of shape (N, D_in)
        Gradient with respect to the input.
    dW : numpy.ndarray of shape (D_out, D_in)
        Gradient with respect to the weights.
    db : numpy.ndarray of shape (D_out,)
        Gradient with respect to the biases (the column sums of dS).

    Raises
    ------
    TypeError
        An argument is not a float array, or the dtypes differ.
    ValueError
        The shapes do not fit.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.reference import linear_backward
    >>> X = np.array([[1.0, 2.0], [0.0, -1.0]])
    >>> W = np.array([[1.0, 0.0], [1.0, 1.0], [0.5, -1.0]])
    >>> dX, dW, db = linear_backward(np.ones((2, 3)), X, W)
    >>> db
    array([2., 2., 2.])
    >>> dX
    array([[2.5, 0. ],
           [2.5, 0. ]])
    """
    dS, X, W = check.linear_backward_args(dS, X, W)
    dX = dS @ W
    dW = dS.T @ X
    db = dS.sum(axis=0)
    return dX, dW, db


def dense_forward(X: ArrayLike, W: ArrayLike, b: ArrayLike | None, activation: str,
                  alpha: float | None = None) -> tuple[NDArray[Any], NDArray[Any]]:
    """A dense layer and its activation: S = X W^T + b, H = f(S).

    Both outputs are returned because the backward pass needs H, and batch norm
    or a loss may need S. The results equal :func:`linear_forward` followed by
    :func:`activation_forward`.

    Parameters
    ----------
    X : array_like of shape (N, D_in), float32 or float64
        The inputs, one row per sample.
    W : array_like of shape (D_out, D_in), X's dtype
        The weights.
    b : array_like of shape (D_out,), X's dtype, or None
        The biases; None for a layer without bias (S = X W^T).
    activation : str
        The activation's name, as for :func:`activation_forward`.
    alpha : float, optional
        The activation's parameter, as for :func:`activation_forward`.

    Returns
    -------
    S : numpy.ndarray of shape (N, D_out)
        The scores.
    H : numpy.ndarray of shape (N, D_out)
        The activations f(S).

    Raises
    ------
    TypeError
        An argument is not a float array, the dtypes differ, or activation is not a string.
    ValueError
        The shapes do not fit, the activation is unknown, or alpha is given to an
        activation that takes none.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.reference import dense_forward
    >>> S, H = dense_forward(np.array([[1.0, -2.0]]), np.eye(2), None, "relu")
    >>> H
    array([[1., 0.]])
    """
    X, W, b, activation, _ = check.dense_forward_args(X, W, b, activation, alpha)
    S = X @ W.T
    if b is not None:
        S = S + b
    return S, activation_forward(activation, S, alpha)


def activation_forward(name: str, S: ArrayLike, alpha: float | None = None) -> NDArray[Any]:
    """H = f(S) elementwise for one of the activations.

    The activations: ``"identity"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``,
    ``"leaky_relu"`` (f(s) = alpha s below zero, alpha 0.01 by default),
    ``"elu"`` (f(s) = alpha (e^s - 1) below zero, alpha 1.0 by default) and
    ``"softplus"``. softplus(s) = log(1 + e^s) is computed as
    max(s, 0) + log1p(e^-abs(s)), whose exponent is never positive: finite for
    any finite s.

    Parameters
    ----------
    name : str
        The activation.
    S : array_like of shape (N, D), float32 or float64
        The scores.
    alpha : float, optional
        The slope (leaky_relu) or scale (elu) below zero; only these two take it.

    Returns
    -------
    H : numpy.ndarray of shape (N, D)
        f(S), of S's dtype.

    Raises
    ------
    TypeError
        S is not a float array, or name is not a string.
    ValueError
        The activation is unknown, S is not 2-D, or alpha is given to an
        activation that takes none.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.reference import activation_forward
    >>> activation_forward("relu", np.array([[-1.0, 0.5]]))
    array([[0. , 0.5]])
    >>> activation_forward("sigmoid", np.array([[0.0, 2.0]])).round(4)
    array([[0.5   , 0.8808]])
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


def activation_backward(name: str, dH: ArrayLike, H: ArrayLike, alpha: float | None = None) -> NDArray[Any]:
    """dS = dH * f'(S), with f' written in terms of the output H = f(S).

    sigmoid' = H (1 - H), tanh' = 1 - H^2, relu' = [H > 0],
    leaky_relu' = 1 or alpha, elu' = 1 or alpha e^s = H + alpha,
    softplus' = sigmoid(s) = 1 - e^-H (as -expm1(-H), accurate where H is small).
    A NaN in H gives NaN (the slope multiplies dH rather than selecting it).

    Parameters
    ----------
    name : str
        The activation, as for :func:`activation_forward`.
    dH : array_like of shape (N, D), float32 or float64
        Gradient of the loss with respect to H.
    H : array_like of shape (N, D), dH's dtype
        The forward pass's output.
    alpha : float, optional
        As for :func:`activation_forward`.

    Returns
    -------
    dS : numpy.ndarray of shape (N, D)
        Gradient with respect to the scores.

    Raises
    ------
    TypeError, ValueError
        As :func:`activation_forward`, and when dH and H differ in shape or dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.reference import activation_backward
    >>> H = np.tanh(np.array([[0.0, 1.0]]))
    >>> activation_backward("tanh", np.ones((1, 2)), H).round(4)
    array([[1.  , 0.42]])
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


def batchnorm_forward(S: ArrayLike, gamma: ArrayLike, beta: ArrayLike,
                      eps: float = 1e-5) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Batch normalisation of the scores, per column (unit), with the batch's statistics.

    mu_b = 1/n sum_i s_i, v_b = 1/n sum_i (s_i - mu_b)^2 (biased),
    s_hat_i = (v_b + eps)^(-1/2) (s_i - mu_b), y_i = gamma * s_hat_i + beta.

    Parameters
    ----------
    S : array_like of shape (N, D), float32 or float64
        The scores, N >= 1.
    gamma, beta : array_like of shape (D,), S's dtype
        The scale and shift.
    eps : float, default 1e-5
        Added to the variance, >= 0.

    Returns
    -------
    Y : numpy.ndarray of shape (N, D)
        The normalised, scaled and shifted scores.
    mean : numpy.ndarray of shape (D,)
        mu_b.
    var : numpy.ndarray of shape (D,)
        v_b, the biased variance.

    Raises
    ------
    TypeError
        An argument is not a float array, or the dtypes differ.
    ValueError
        The shapes do not fit, the batch is empty, or eps < 0.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.reference import batchnorm_forward
    >>> S = np.array([[1.0, 2.0], [3.0, 6.0]])
    >>> Y, mean, var = batchnorm_forward(S, np.ones(2), np.zeros(2), eps=0.0)
    >>> Y
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> mean, var
    (array([2., 4.]), array([1., 4.]))
    """
    S, gamma, beta, eps = check.batchnorm_forward_args(S, gamma, beta, eps)
    n = S.shape[0]
    mean = S.sum(axis=0) / n
    var = ((S - mean) ** 2).sum(axis=0) / n
    S_hat = (S - mean) / np.sqrt(var + S.dtype.type(eps))
    return gamma * S_hat + beta, mean, var


def batchnorm_backward(dY: ArrayLike, S: ArrayLike, gamma: ArrayLike, mean: ArrayLike, var: ArrayLike,
                       eps: float = 1e-5) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """The three-term batch-norm gradient of the lecture notes on batch norm.

    With g_i = dJ/ds_hat_i = dY_i * gamma and V_b = diag(v_b + eps)::

        dJ/dv_b  = -1/2 sum_i g_i V_b^(-3/2) diag(s_i - mu_b)
        dJ/dmu_b = -sum_i g_i V_b^(-1/2)
        dJ/ds_i  = g_i V_b^(-1/2) + 2/n dJ/dv_b diag(s_i - mu_b) + 1/n dJ/dmu_b

    and dgamma = sum_i dY_i * s_hat_i, dbeta = sum_i dY_i.

    Parameters
    ----------
    dY : array_like of shape (N, D), float32 or float64
        Gradient of the loss with respect to the output Y.
    S : array_like of shape (N, D), dY's dtype
        The forward pass's scores.
    gamma : array_like of shape (D,)
        The scale.
    mean, var : array_like of shape (D,)
        The batch statistics the forward pass returned.
    eps : float, default 1e-5
        As in the forward pass.

    Returns
    -------
    dS : numpy.ndarray of shape (N, D)
        Gradient with respect to the scores.
    dgamma, dbeta : numpy.ndarray of shape (D,)
        Gradients with respect to the scale and shift.

    Raises
    ------
    TypeError, ValueError
        As :func:`batchnorm_forward`.
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


def softmax(S: ArrayLike) -> NDArray[Any]:
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
    TypeError
        S is not a float array.
    ValueError
        S is not 2-D or has no column.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.reference import softmax
    >>> softmax(np.array([[0.0, 0.0], [1000.0, 0.0]]))
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    S = check.softmax_args(S)
    exp = np.exp(S - S.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def softmax_cross_entropy(S: ArrayLike, y: ArrayLike) -> tuple[Any, NDArray[Any]]:
    """Mean cross-entropy of softmax(S) against class targets, and its gradient.

    p_i = softmax(s_i). For integer labels y_i: loss = 1/n sum_i -log p_i[y_i]
    and dJ/ds_i = (p_i - onehot(y_i)) / n. For class probabilities y_i (soft
    targets; a one-hot row gives the same numbers as its label):
    loss = 1/n sum_i -y_i^T log p_i and dJ/ds_i = (p_i (1^T y_i) - y_i) / n.
    log p_i is computed from the row shifted by its maximum, so logits of any size
    give finite results.

    Parameters
    ----------
    S : array_like of shape (N, C), float32 or float64
        Scores (logits), one row per sample.
    y : array_like of shape (N,) or (N, C)
        Integer labels in [0, C), or class probabilities (soft targets) in S's
        dtype, entries >= 0 (rows need not sum to 1).

    Returns
    -------
    loss : scalar of S's dtype
        The mean cross-entropy.
    dS : numpy.ndarray of shape (N, C)
        Its gradient with respect to S.

    Raises
    ------
    TypeError
        S is not a float array; y is neither integer labels nor probabilities of S's dtype.
    ValueError
        Shapes do not fit, a label is out of range, a probability is negative, or the
        batch is empty.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.reference import softmax_cross_entropy
    >>> loss, dS = softmax_cross_entropy(np.array([[0.0, 0.0], [2.0, -2.0]]), np.array([0, 1]))
    >>> round(float(loss), 4)
    2.3556
    >>> dS.round(4)
    array([[-0.25 ,  0.25 ],
           [ 0.491, -0.491]])
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


# --- dropout ------------------------------------------------------------------------
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix64(z):
    """The SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def dropout_mask(seed: int, step: int, shape: tuple[int, ...], p: float) -> NDArray[Any]:
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
        key = _mix64(np.array([seed], dtype=np.uint64) + _GOLDEN * np.uint64(step + 1))
        index = np.arange(1, int(np.prod(shape)) + 1, dtype=np.uint64)
        r = _mix64(key + _GOLDEN * index)
    u = (r >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return (u >= p).reshape(shape)


def dropout_forward(H: ArrayLike, p: float, seed: int, step: int) -> NDArray[Any]:
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


def dropout_backward(dY: ArrayLike, p: float, seed: int, step: int) -> NDArray[Any]:
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

def maxout_forward(S: ArrayLike, k: int) -> tuple[NDArray[Any], NDArray[Any]]:
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


def maxout_backward(dH: ArrayLike, winner: ArrayLike, k: int) -> NDArray[Any]:
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


def batchnorm_running_update(running_mean: NDArray[Any], running_var: NDArray[Any], mean: ArrayLike, var: ArrayLike,
                             n: int, momentum: float, unbiased: bool) -> None:
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


def batchnorm_inference_forward(S: ArrayLike, gamma: ArrayLike, beta: ArrayLike, running_mean: ArrayLike,
                                running_var: ArrayLike, eps: float = 1e-5) -> NDArray[Any]:
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


def batchnorm_inference_backward(dY: ArrayLike, S: ArrayLike, gamma: ArrayLike, running_mean: ArrayLike,
                                 running_var: ArrayLike,
                                 eps: float = 1e-5) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
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


def sigmoid_binary_cross_entropy(S: ArrayLike, y: ArrayLike) -> tuple[Any, NDArray[Any]]:
    """Mean log-loss of sigmoid output units, and its gradient.

    With y_hat = sigmoid(s), the lectures' log-loss L = -[y log y_hat + (1 - y) log(1 - y_hat)]
    is written as ``L = max(s, 0) - s y + log(1 + e^-|s|)``: ``e^-|s| <= 1`` never overflows,
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
        The mean over the samples of the summed log-losses.
    dS : ndarray of shape (N, K)
        (sigmoid(S) - y) / N.

    Raises
    ------
    TypeError
        S or y is not a float array, or their dtypes differ.
    ValueError
        y's shape does not fit S, a target lies outside [0, 1], or the batch is empty.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.reference import sigmoid_binary_cross_entropy
    >>> loss, dS = sigmoid_binary_cross_entropy(np.array([[0.0], [0.0]]), np.array([1.0, 0.0]))
    >>> round(float(loss), 4)
    0.6931
    >>> dS
    array([[-0.25],
           [ 0.25]])
    """
    S, y = check.sigmoid_binary_cross_entropy_args(S, y)
    n = S.shape[0]
    t = S.dtype.type
    e = np.exp(-np.abs(S))
    loss = (np.maximum(S, t(0)) - S * y + np.log1p(e)).sum() / n
    y_hat = np.where(S >= 0, t(1) / (t(1) + e), e / (t(1) + e))
    dS = (y_hat - y) / t(n)
    return t(loss), dS


def mse(O: ArrayLike, Y: ArrayLike) -> tuple[Any, NDArray[Any]]:
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
        mean_p 1/2 ||t_p - o_p||^2.
    dO : ndarray of shape (N, D)
        (O - Y) / N.

    Raises
    ------
    TypeError
        O or Y is not a float array, or their dtypes differ.
    ValueError
        The shapes differ, or O has no sample or no column.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.reference import mse
    >>> loss, dO = mse(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    >>> float(loss)
    2.5
    >>> dO
    array([[1., 2.]])
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


def l2_penalty(W: ArrayLike, l2: float) -> float:
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


def l2_gradient(dW: ArrayLike, W: ArrayLike, l2: float) -> NDArray[Any]:
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


def clip_grad_norm(grads: list[NDArray[Any]], max_norm: float) -> float:
    """Gradient clipping by global norm (``torch.nn.utils.clip_grad_norm_``), in place.

    The gradients of all parameters are taken as one vector g; its norm is
    ||g|| = sqrt(sum_k ||g_k||^2), and every g_k is multiplied by
    min(1, max_norm / (||g|| + 1e-6)): a step whose gradient is longer than
    max_norm keeps its direction and gets length max_norm (a NaN norm makes NaN).

    Parameters
    ----------
    grads : list of ndarray
        Writeable float32 or float64 arrays of one dtype, 1- or 2-dimensional, not
        sharing memory; scaled in place.
    max_norm : float
        The largest norm allowed, > 0.

    Returns
    -------
    float
        ||g|| before clipping (squares summed in float64).

    Raises
    ------
    TypeError, ValueError
        grads not a list of such arrays, or max_norm not a finite number > 0.
    """
    grads, max_norm = check.clip_grad_norm_args(grads, max_norm)
    norm = float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = min(1.0, max_norm / (norm + 1e-6)) if not np.isnan(norm) else norm
    if scale != 1.0:
        with np.errstate(invalid="ignore"):  # inf * 0 is NaN, as in torch
            for g in grads:
                g *= g.dtype.type(scale)
    return norm


# ---------------------------------------------------------------- optimiser updates
#
# The lecture notes on the training step name SGD with momentum, AdaGrad,
# RMSProp and Adam; the equations are those of torch.optim, whose defaults
# fastnn.optim keeps. Each update changes ``param`` and its state arrays in
# place and returns None. ``g`` is the gradient with the L2 term of ``l2``
# added (the C engine adds it inside the update; Sequential adds it with
# l2_gradient and passes l2 = 0). Scalars stay Python floats, which NumPy
# applies in the arrays' dtype.

def sgd_update(param: NDArray[Any], grad: ArrayLike, momentum_buffer: NDArray[Any] | None, lr: float,
               momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False, first_step: bool = False,
               l2: float = 0.0) -> None:
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
    assert b is not None  # the check requires the buffer when momentum > 0
    b[...] = g if first_step else momentum * b + (1.0 - dampening) * g
    param -= lr * (g + momentum * b if nesterov else b)


def adagrad_update(param: NDArray[Any], grad: ArrayLike, state_sum: NDArray[Any], lr: float, step: int,
                   lr_decay: float = 0.0, eps: float = 1e-10, l2: float = 0.0) -> None:
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


def rmsprop_update(param: NDArray[Any], grad: ArrayLike, square_avg: NDArray[Any], grad_avg: NDArray[Any] | None,
                   momentum_buffer: NDArray[Any] | None, lr: float, alpha: float | None = 0.99, eps: float = 1e-8,
                   momentum: float = 0.0, centered: bool = False, l2: float = 0.0) -> None:
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
        assert m is not None  # the check requires grad_avg when centered
        m[...] = alpha * m + (1.0 - alpha) * g
        d = np.sqrt(a - m * m) + eps
    else:
        d = np.sqrt(a) + eps
    if momentum > 0.0:
        assert b is not None  # the check requires the buffer when momentum > 0
        b[...] = momentum * b + g / d
        param -= lr * b
    else:
        param -= lr * (g / d)


def adam_update(param: NDArray[Any], grad: ArrayLike, m: NDArray[Any], v: NDArray[Any], lr: float, step: int,
                beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, l2: float = 0.0) -> None:
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
