"""The compiled kernels: same names, signatures and results as :mod:`fastnn.reference`.

Each function checks its arguments (the same checks as the reference, from
:mod:`fastnn._validation`), hands NumPy views to C without copying where the
kernel can read them in place (any strides for the matrix products; any row
stride with contiguous columns for the elementwise kernels), copies once
otherwise, and runs the C kernel with the GIL released, its rows split over
OpenMP threads. Results are new C-ordered arrays of the input dtype; the
optimiser updates change their parameter and state arrays in place (through
views, never through copies) and return None.
"""

from __future__ import annotations

import numpy as np

from . import _ops, _validation as check, reference

# the kernels: the same names as the NumPy twins' (signatures compared by the tests)
__all__ = list(reference.__all__)


def _contiguous(a: np.ndarray, dtype=None) -> np.ndarray:
    """A C-contiguous, aligned array: a as it is when it is one, else one copy.

    np.ascontiguousarray keeps a misaligned array (a view at an odd byte offset of
    a buffer) as it is; the kernels load whole elements, which C defines only at
    aligned addresses, so such an array is copied, as NumPy's own loops do."""
    a = np.asarray(a, dtype=dtype)
    if a.flags.c_contiguous and a.flags.aligned:
        return a
    return np.array(a, order="C", copy=True)


def _strided(a: np.ndarray) -> np.ndarray:
    """A view GEMM can read in place: any strides that are whole elements, aligned."""
    item = a.itemsize
    if a.strides[0] % item or a.strides[1] % item or not a.flags.aligned:
        return _contiguous(a)
    return a


def _rows(a: np.ndarray) -> np.ndarray:
    """A view with contiguous columns (any row stride), aligned, copying only if needed."""
    if _has_rows(a) and a.flags.aligned:
        return a
    return _contiguous(a)


def _vector(a: np.ndarray) -> np.ndarray:
    return _contiguous(a)


def _matrix(a: np.ndarray) -> np.ndarray:
    """A parameter as the elementwise kernels see it: 2-D, a vector as one row (a view)."""
    return a if a.ndim == 2 else a.reshape(1, -1)


def _has_rows(a: np.ndarray) -> bool:
    item = a.itemsize
    return (a.shape[1] <= 1 or a.strides[1] == item) and (a.shape[0] <= 1 or a.strides[0] % item == 0)


def _in_place(names, arrays, grad):
    """Views of the arrays an update changes in place (None stays None), and of grad, with
    contiguous columns: as they are, or all transposed (a Fortran-ordered parameter with
    Fortran-ordered state, or a strided vector, which is then one column). The kernels
    write through these views, so an array that has no such view, or is misaligned, is
    refused, never copied; grad, only read, is copied once if it has none."""
    views = [None if a is None else _matrix(a) for a in arrays]
    for candidate in (views, [None if v is None else v.T for v in views]):
        if all(v is None or (_has_rows(v) and v.flags.aligned) for v in candidate):
            g = _matrix(grad)
            return candidate, _rows(g if candidate is views else g.T)
    layouts = ", ".join(f"{name} strides {a.strides}" for name, a in zip(names, arrays) if a is not None)
    raise ValueError(
        f"the arrays updated in place need one axis along which each is contiguous, the same "
        f"for all (C- or Fortran-ordered arrays, or views of whole rows), each aligned to its "
        f"element size; got {layouts}"
    )


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
    return _ops.softmax_cross_entropy(_rows(S), _contiguous(y, dtype=np.int64))


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
    work = tuple(_contiguous(a) for a in live)
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


def sigmoid_binary_cross_entropy(S, y):
    """Mean binary cross-entropy of sigmoid(S) against targets y, and its gradient.

    Parameters
    ----------
    S : ndarray of shape (N, K), float32 or float64
        One logit per sample and output unit (K = 1 for a binary classifier, K labels for
        a multilabel one).
    y : ndarray of shape (N, K), or (N,) when K = 1, S's dtype
        Targets in [0, 1] (labels 0/1, or probabilities).

    Returns
    -------
    loss : scalar of S's dtype
        mean_i sum_k max(s_ik, 0) - s_ik y_ik + log(1 + e^-|s_ik|), finite for any logit.
    dS : ndarray of shape (N, K)
        (sigmoid(S) - y) / N.

    Raises
    ------
    TypeError
        S or y is not a float array, or their dtypes differ.
    ValueError
        y's shape does not fit S, a target lies outside [0, 1], or the batch is empty.
    """
    S, y = check.sigmoid_binary_cross_entropy_args(S, y)
    return _ops.sigmoid_binary_cross_entropy(_rows(S), _rows(y))


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


# ---- optimiser updates and the L2 term: elementwise over a parameter, threads over fixed
# ranges of its elements. Parameters are 1- or 2-dimensional; the updates work in place. ----

def sgd_update(param, grad, momentum_buffer, lr, momentum=0.0, dampening=0.0, nesterov=False,
               first_step=False, l2=0.0):
    """One SGD step in place (fnn_sgd_update): b = g on the first step, else
    b = momentum b + (1 - dampening) g; param -= lr b (Nesterov: lr (g + momentum b));
    param -= lr g without momentum. g is grad plus 2 l2 param.

    Parameters
    ----------
    param : ndarray of float32 or float64, 1- or 2-dimensional, writeable
        Updated in place.
    grad : array
        param's shape and dtype.
    momentum_buffer : ndarray or None
        Updated in place; None allowed when momentum is 0.
    lr, momentum, dampening : float
        lr >= 0, momentum >= 0, dampening in [0, 1].
    nesterov, first_step : bool
        Nesterov momentum; the buffer is empty and this step sets it to g.
    l2 : float
        The L2 weight (>= 0).

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.sgd_update`, and for in-place arrays that share no
        contiguous axis.
    """
    param, grad, buf, lr, momentum, dampening, nesterov, first_step, l2 = check.sgd_update_args(
        param, grad, momentum_buffer, lr, momentum, dampening, nesterov, first_step, l2)
    (p, b), g = _in_place(("param", "momentum_buffer"), (param, buf), grad)
    _ops.sgd_update(p, g, b, lr, momentum, dampening, nesterov, first_step, l2)


def adagrad_update(param, grad, state_sum, lr, step, lr_decay=0.0, eps=1e-10, l2=0.0):
    """One AdaGrad step in place (fnn_adagrad_update): s += g^2;
    param -= lr / (1 + (step - 1) lr_decay) * g / (sqrt(s) + eps). g is grad plus 2 l2 param.

    Parameters
    ----------
    param : ndarray of float32 or float64, 1- or 2-dimensional, writeable
        Updated in place.
    grad : array
        param's shape and dtype.
    state_sum : ndarray
        The sum of squared gradients, updated in place.
    lr : float
        >= 0.
    step : int
        The 1-based update count.
    lr_decay, eps, l2 : float
        >= 0.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.adagrad_update`, and for in-place arrays that share no
        contiguous axis.
    """
    param, grad, s, lr, step, lr_decay, eps, l2 = check.adagrad_update_args(
        param, grad, state_sum, lr, step, lr_decay, eps, l2)
    (p, s), g = _in_place(("param", "state_sum"), (param, s), grad)
    _ops.adagrad_update(p, g, s, lr, step, lr_decay, eps, l2)


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha=0.99, eps=1e-8,
                   momentum=0.0, centered=False, l2=0.0):
    """One RMSProp step in place (fnn_rmsprop_update): a = alpha a + (1 - alpha) g^2;
    centered: m = alpha m + (1 - alpha) g, d = sqrt(a - m^2) + eps, else d = sqrt(a) + eps;
    param -= lr g / d, or b = momentum b + g / d, param -= lr b. g is grad plus 2 l2 param.

    Parameters
    ----------
    param : ndarray of float32 or float64, 1- or 2-dimensional, writeable
        Updated in place.
    grad : array
        param's shape and dtype.
    square_avg : ndarray
        Updated in place.
    grad_avg, momentum_buffer : ndarray or None
        Updated in place; None allowed when not centered, and when momentum is 0.
    lr, alpha, eps, momentum, l2 : float
        lr, eps, momentum, l2 >= 0; alpha in [0, 1].
    centered : bool
        Divide by the running standard deviation of g.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.rmsprop_update`, and for in-place arrays that share no
        contiguous axis.
    """
    param, grad, a, m, b, lr, alpha, eps, momentum, centered, l2 = check.rmsprop_update_args(
        param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, momentum, centered, l2)
    (p, a, m, b), g = _in_place(("param", "square_avg", "grad_avg", "momentum_buffer"), (param, a, m, b), grad)
    _ops.rmsprop_update(p, g, a, m, b, lr, alpha, eps, momentum, centered, l2)


def adam_update(param, grad, m, v, lr, step, beta1=0.9, beta2=0.999, eps=1e-8, l2=0.0):
    """One Adam step in place (fnn_adam_update): m = beta1 m + (1 - beta1) g,
    v = beta2 v + (1 - beta2) g^2, param -= lr m_hat / (sqrt(v_hat) + eps) with the bias
    corrections of step. g is grad plus 2 l2 param.

    Parameters
    ----------
    param : ndarray of float32 or float64, 1- or 2-dimensional, writeable
        Updated in place.
    grad : array
        param's shape and dtype.
    m, v : ndarray
        The moment estimates, updated in place.
    lr, eps, l2 : float
        >= 0.
    step : int
        The 1-based update count.
    beta1, beta2 : float
        In [0, 1).

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.adam_update`, and for in-place arrays that share no
        contiguous axis.
    """
    param, grad, m, v, lr, step, beta1, beta2, eps, l2 = check.adam_update_args(
        param, grad, m, v, lr, step, beta1, beta2, eps, l2)
    (p, m, v), g = _in_place(("param", "m", "v"), (param, m, v), grad)
    _ops.adam_update(p, g, m, v, lr, step, beta1, beta2, eps, l2)


def l2_penalty(W, l2):
    """l2 ||W||^2 (fnn_l2_penalty): the squares summed in double in the elements' row-major
    order, so any layout of the same values gives the same float.

    Parameters
    ----------
    W : array of float32 or float64, 1- or 2-dimensional
    l2 : float
        >= 0.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.l2_penalty`.
    """
    W, l2 = check.l2_penalty_args(W, l2)
    return _ops.l2_penalty(_rows(_matrix(W)), l2)


def l2_gradient(dW, W, l2):
    """dW + 2 l2 W as a new C-ordered array (fnn_l2_gradient; a copy of dW when l2 is 0),
    element for element what the updates add when given l2.

    Parameters
    ----------
    dW : array
        W's shape and dtype.
    W : array of float32 or float64, 1- or 2-dimensional
    l2 : float
        >= 0.

    Returns
    -------
    ndarray

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.l2_gradient`.
    """
    dW, W, l2 = check.l2_gradient_args(dW, W, l2)
    return _ops.l2_gradient(_rows(_matrix(dW)), _rows(_matrix(W)), l2).reshape(W.shape)


def clip_grad_norm(grads, max_norm):
    """Clip gradients by their global norm, in place (fnn_clip_grad_norm); returns the norm.

    Parameters
    ----------
    grads : list of ndarray
        Writeable float32 or float64 arrays of one dtype, 1- or 2-dimensional, not sharing
        memory. An array that is not C-contiguous is copied, clipped and copied back.
    max_norm : float
        > 0.

    Returns
    -------
    float
        The global norm before clipping.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.reference.clip_grad_norm`.
    """
    grads, max_norm = check.clip_grad_norm_args(grads, max_norm)
    if not grads:
        return 0.0
    work = [g if g.flags.c_contiguous else np.ascontiguousarray(g) for g in grads]
    norm = _ops.clip_grad_norm(work, max_norm, grads[0].dtype)
    for g, w in zip(grads, work):
        if w is not g:
            g[...] = w
    return norm
