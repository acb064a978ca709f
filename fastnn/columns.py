"""The kernels in the course's layout: samples as columns.

:mod:`fastnn.ops` and :mod:`fastnn.reference` take samples as rows (X is
(n, d), S = X W^T + b). Many courses built on the same lecture notes write
samples as columns instead, and so does this module:

=====================  ==============================================
X                      (d, n): one column per sample
W                      (m, d), as in both conventions
b, gamma, beta         (m, 1) or (m,)
S, H, P                (m, n): S = W X + b, H = f(S), P = softmax(S)
Y                      one-hot (K, n) or class probabilities (K, n),
                       or integer labels (n,)
=====================  ==============================================

Each function has the name of its kernel in :mod:`fastnn.ops` and computes
nothing itself: it checks the shapes in the column convention, transposes,
and calls the row kernel, so ``columns.f(A, ...)`` is ``ops.f(A.T, ...)``
transposed back. The transposes are views: an (m, n) array that is the
transpose of a C-ordered (n, m) array (what every function here returns)
reaches the kernel without a copy, so a chain of these calls copies nothing.
Matrix products read any strides; the kernels that work sample by sample
(batch norm, the losses, softmax, maxout, dropout) copy an input once when
its samples are not contiguous (a C-ordered (m, n) array built by hand).
Elementwise kernels (the activations) take whichever orientation of their
arguments needs no copy: their results do not depend on it.

Gradients come back in the shapes of what they are gradients of: dX (d, n),
dW (m, d), dS (m, n); dgamma and dbeta in gamma's and beta's shapes; db, which
``linear_backward`` computes without seeing b, as the course's (m, 1) column.
Batch statistics are per row (unit), over the batch (the columns); the mean
and variance come back in gamma's shape.

The optimiser updates and the L2 term do not depend on the layout: they are
the :mod:`fastnn.ops` functions, with the same parameters as the course's
(W (m, d), b (m, 1) both work).

Every function takes a keyword-only ``backend``: ``"c"`` (default, the
compiled kernels of :mod:`fastnn.ops`) or ``"numpy"`` (the NumPy answer key of
:mod:`fastnn.reference`), for a student who wants to see the maths run.

Shapes that cannot be the column convention are refused with a message that
says so: an X whose rows match W's columns is named as "samples as rows?",
a W whose columns match b's length as transposed. A square input (n = d) in
the wrong orientation has the right shape and cannot be detected from it;
for one-hot targets the columns, not the rows, must each sum to 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks, _validation as check, ops, reference

__all__ = list(ops.__all__)

_BACKENDS = {"c": ops, "numpy": reference}


# ---------------------------------------------------------------- checks, in the column convention

def _kernels(backend):
    return _BACKENDS[_checks.choice(backend, "backend", tuple(_BACKENDS))]


def _rows_hint(name):
    return (f"fastnn.columns takes one sample per column; are the samples of {name} rows? "
            f"Pass {name}.T, or use fastnn.ops, which takes samples as rows")


def _float(value, name):
    """``value`` as a float32/float64 array of any rank (the kernels' dtype rules)."""
    if value is None or isinstance(value, np.ndarray):
        return check.as_float_array(value, name, np.ndim(value))
    try:
        arr = np.asarray(value)
    except Exception:  # ragged lists: let the shared check word the error
        return check.as_float_array(value, name, 2)
    return check.as_float_array(arr, name, arr.ndim)


def _matrix(value, name, what) -> NDArray[Any]:
    """A 2-D float array; ``what`` describes its shape in words, e.g. "(d, n)"."""
    arr = _float(value, name)
    if arr.ndim == 1:
        raise ValueError(f"{name} must be a 2-D array {what}, one column per sample, got a 1-D array of "
                         f"shape {arr.shape}; a single sample x is the column x[:, None]")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array {what}, got {arr.ndim} dimensions (shape {arr.shape})")
    return arr


def _column(value, name, m, why) -> NDArray[Any]:
    """A per-unit vector given as (m, 1) or (m,), returned as a 1-D view of length m."""
    arr = _float(value, name)
    if arr.ndim == 2 and arr.shape[1] == 1 and arr.shape[0] == m:
        return arr[:, 0]
    if arr.ndim == 1 and arr.shape[0] == m:
        return arr
    if arr.ndim == 2 and arr.shape == (1, m) and m > 1:
        raise ValueError(f"{name} must be a column of shape ({m}, 1) (or ({m},)) {why}, got the row vector "
                         f"of shape {arr.shape}; pass {name}.T")
    raise ValueError(f"{name} must have shape ({m}, 1) or ({m},) {why}, got shape {arr.shape}")


def _like(vector, template):
    """A kernel's per-unit result in the shape the caller gave that vector: (m, 1) or (m,)."""
    return vector.reshape(np.shape(template)) if np.ndim(template) == 2 else vector


def _same_shape(arr, name, shape, of):
    if arr.shape == tuple(shape):
        return
    if arr.shape == tuple(shape)[::-1]:
        raise ValueError(f"{name} must have shape {tuple(shape)} as {of}, got shape {arr.shape}: "
                         + _rows_hint(name))
    raise ValueError(f"{name} must have shape {tuple(shape)} as {of}, got shape {arr.shape}")


def _weights(W, b, bias_name="b") -> tuple[NDArray[Any], Any]:
    """W (m, d) with its bias (m, 1)/(m,), or None when b is None (hence Any: a 1-D array or None);
    a W whose columns match b is named as transposed."""
    W = _matrix(W, "W", "(m, d): one row per output unit")
    if b is None:
        return W, None
    m, d = W.shape
    b_arr = _float(b, bias_name)
    length = b_arr.shape[0] if b_arr.ndim in (1, 2) and (b_arr.ndim == 1 or b_arr.shape[1] == 1) else None
    if length is not None and length != m and length == d:
        raise ValueError(f"W must have shape ({length}, d) to match {bias_name}'s {length} output units, got "
                         f"shape {W.shape}: is W transposed? The course's W is (m, d), one row per output unit; "
                         f"pass W.T")
    return W, _column(b_arr, bias_name, m, f"to match W's {m} rows (output units)")


def _inputs(X, W) -> NDArray[Any]:
    """X (d, n) for W (m, d): samples as rows are named."""
    X = _matrix(X, "X", "(d, n)")
    d = W.shape[1]
    if X.shape[0] != d:
        if X.shape[1] == d:
            raise ValueError(f"X must have shape ({d}, n) to match W's {d} columns (input features), got "
                             f"shape {X.shape}: " + _rows_hint("X"))
        raise ValueError(f"X must have shape ({d}, n) to match W's {d} columns (input features), got "
                         f"shape {X.shape}")
    return X


def _unit_vectors(S, named, what="rows (units)"):
    """Per-unit vectors (m, 1)/(m,) for the (m, n) matrix S; a length that matches S's columns is named."""
    m, n = S.shape
    out = []
    for name, value in named:
        arr = _float(value, name)
        if arr.ndim in (1, 2) and arr.shape[0] == n != m and (arr.ndim == 1 or arr.shape[1] == 1):
            raise ValueError(f"{name} must have shape ({m}, 1) or ({m},) to match S's {m} {what}, got shape "
                             f"{arr.shape}, the number of S's columns: " + _rows_hint("S"))
        out.append(_column(arr, name, m, f"to match S's {m} {what}"))
    return out


def _batch(S, name):
    if S.shape[1] < 2:
        raise ValueError(f"{name} must hold at least 2 samples (columns) for batch statistics, got shape {S.shape}")


def _elementwise_orientation(*arrays):
    """True when the arrays reach an elementwise kernel without a copy as they are, False when
    their transposes do (the kernels read rows with contiguous elements)."""
    def rows_ok(a):
        item = a.itemsize
        return (a.shape[1] <= 1 or a.strides[1] == item) and (a.shape[0] <= 1 or a.strides[0] % item == 0)
    if all(rows_ok(a) for a in arrays):
        return True
    return not all(rows_ok(a.T) for a in arrays)


def _targets(S, Y, name="Y") -> NDArray[Any]:
    """Class targets for scores S (K, n): labels (n,), or one-hot/probabilities (K, n) in S's dtype."""
    K, n = S.shape
    Y_arr = np.asarray(Y) if Y is not None else None
    if Y_arr is None:
        raise TypeError(f"{name} must be one-hot targets ({K}, n) or integer labels (n,), got None")
    if Y_arr.ndim == 1:
        if Y_arr.shape[0] != n:
            hint = (": " + _rows_hint("S")) if Y_arr.shape[0] == K != n else ""
            raise ValueError(f"{name} as labels must have shape ({n},), one per column (sample) of S, got shape "
                             f"{Y_arr.shape}" + hint)
        if Y_arr.dtype.kind in "iu" and n > 0:
            lo, hi = int(Y_arr.min()), int(Y_arr.max())
            if lo < 0 or hi >= K:
                raise ValueError(f"{name} must hold labels in [0, {K}) for S's {K} rows (classes), "
                                 f"found {lo if lo < 0 else hi}")
        return Y_arr
    if Y_arr.ndim != 2:
        raise ValueError(f"{name} must be one-hot targets ({K}, n) or integer labels (n,), got shape {Y_arr.shape}")
    _same_shape(Y_arr, name, (K, n), "one-hot targets of S's shape (one column per sample)")
    if Y_arr.dtype.kind in "iub":
        Y_arr = Y_arr.astype(S.dtype)  # a one-hot matrix of integers, as np.eye gives with an integer dtype
    if K == n > 1 and Y_arr.dtype.kind == "f":
        columns_sum_to_one = np.allclose(Y_arr.sum(axis=0), 1.0)
        rows_sum_to_one = np.allclose(Y_arr.sum(axis=1), 1.0)
        if rows_sum_to_one and not columns_sum_to_one:
            raise ValueError(f"{name} is square ({K}, {n}) and its rows, not its columns, sum to 1: "
                             + _rows_hint(name))
    return Y_arr


# ---------------------------------------------------------------- the dense layer

def linear_forward(X: ArrayLike, W: ArrayLike, b: ArrayLike, *, backend: str = "c") -> NDArray[Any]:
    """S = W X + b: the scores of a dense layer, one column per sample.

    Parameters
    ----------
    X : array_like, (d, n), float32 or float64
        The inputs, one column per sample.
    W : array_like, (m, d)
        The weights, one row per output unit.
    b : array_like, (m, 1) or (m,)
        The bias.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    S : numpy.ndarray, (m, n)
        A transposed view of the row kernel's C-ordered (n, m) result.

    Raises
    ------
    TypeError
        An argument is not a float array, or the dtypes differ.
    ValueError
        The shapes do not fit the column convention (the message names samples as rows,
        a transposed W and a row-vector b).
    """
    k = _kernels(backend)
    W, b = _weights(W, b)
    X = _inputs(X, W)
    return k.linear_forward(X.T, W, b).T


def linear_backward(dS: ArrayLike, X: ArrayLike, W: ArrayLike, *,
                    backend: str = "c") -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Gradients of a dense layer: dX = W^T dS, dW = dS X^T, db = dS 1 (the row sums).

    Parameters
    ----------
    dS : array_like, (m, n), float32 or float64
        Gradient of the loss with respect to S = W X + b.
    X : array_like, (d, n)
        The layer's inputs.
    W : array_like, (m, d)
        The weights.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    dX : numpy.ndarray, (d, n)
    dW : numpy.ndarray, (m, d)
    db : numpy.ndarray, (m, 1)
        The course's column (``db.ravel()`` for a bias kept as (m,)).

    Raises
    ------
    TypeError
        An argument is not a float array, or the dtypes differ.
    ValueError
        The shapes do not fit the column convention.
    """
    k = _kernels(backend)
    W = _matrix(W, "W", "(m, d): one row per output unit")
    X = _inputs(X, W)
    dS = _matrix(dS, "dS", "(m, n)")
    _same_shape(dS, "dS", (W.shape[0], X.shape[1]), "(W's rows, X's columns)")
    dX, dW, db = k.linear_backward(dS.T, X.T, W)
    return dX.T, dW, db[:, None]


def dense_forward(X: ArrayLike, W: ArrayLike, b: ArrayLike | None, activation: str, alpha: float | None = None, *,
                  backend: str = "c") -> tuple[NDArray[Any], NDArray[Any]]:
    """A dense layer and its activation in one pass: S = W X + b, H = f(S). Returns (S, H).

    Parameters
    ----------
    X : array_like, (d, n), float32 or float64
        The inputs, one column per sample.
    W : array_like, (m, d)
        The weights.
    b : array_like, (m, 1) or (m,), or None
        The bias (None: S = W X).
    activation : str
        One of the activations of :func:`fastnn.ops.activation_forward`.
    alpha : float, optional
        The slope of "leaky_relu" or the scale of "elu".
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    S, H : numpy.ndarray, (m, n)

    Raises
    ------
    TypeError
        An argument is not a float array, or the dtypes differ.
    ValueError
        The shapes do not fit the column convention, or the activation is unknown.
    """
    k = _kernels(backend)
    W, b = _weights(W, b)
    X = _inputs(X, W)
    S, H = k.dense_forward(X.T, W, b, activation, alpha)
    return S.T, H.T


# ---------------------------------------------------------------- activations

def activation_forward(name: str, S: ArrayLike, alpha: float | None = None, *, backend: str = "c") -> NDArray[Any]:
    """H = f(S) elementwise.

    Parameters
    ----------
    name : str
        "identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu" or "softplus".
    S : array_like, (m, n), float32 or float64
        The scores.
    alpha : float, optional
        The slope of "leaky_relu" or the scale of "elu".
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    H : numpy.ndarray, (m, n)

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.activation_forward`; S must be 2-D.
    """
    k = _kernels(backend)
    S = _matrix(S, "S", "(m, n)")
    if _elementwise_orientation(S):
        return k.activation_forward(name, S, alpha)
    return k.activation_forward(name, S.T, alpha).T


def activation_backward(name: str, dH: ArrayLike, H: ArrayLike, alpha: float | None = None, *,
                        backend: str = "c") -> NDArray[Any]:
    """dS = dH * f'(S), with f' written in terms of the output H = f(S).

    Parameters
    ----------
    name : str
        The activation of the forward pass.
    dH : array_like, (m, n), float32 or float64
        Gradient of the loss with respect to H.
    H : array_like, (m, n)
        The forward pass's output.
    alpha : float, optional
        As in the forward pass.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    dS : numpy.ndarray, (m, n)

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.activation_backward`.
    """
    k = _kernels(backend)
    dH = _matrix(dH, "dH", "(m, n)")
    H = _matrix(H, "H", "(m, n)")
    _same_shape(H, "H", dH.shape, "dH")
    if _elementwise_orientation(dH, H):
        return k.activation_backward(name, dH, H, alpha)
    return k.activation_backward(name, dH.T, H.T, alpha).T


# ---------------------------------------------------------------- batch normalisation

def batchnorm_forward(S: ArrayLike, gamma: ArrayLike, beta: ArrayLike, eps: float = 1e-5, *,
                      backend: str = "c") -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Batch normalisation of each row (unit) over the batch (the columns).

    mu = S 1 / n and v = ((S - mu)^2) 1 / n per row (the biased variance),
    S_hat = (S - mu) / sqrt(v + eps), Y = gamma * S_hat + beta.

    Parameters
    ----------
    S : array_like, (m, n), float32 or float64
        The scores, n >= 2 samples.
    gamma, beta : array_like, (m, 1) or (m,)
        Scale and shift.
    eps : float, optional
        Added to the variance.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    Y : numpy.ndarray, (m, n)
    mean, var : numpy.ndarray
        mu and v, in gamma's shape.

    Raises
    ------
    TypeError
        An argument is not a float array, or the dtypes differ.
    ValueError
        The shapes do not fit the column convention, or S has fewer than 2 columns.
    """
    k = _kernels(backend)
    S = _matrix(S, "S", "(m, n)")
    g, bt = _unit_vectors(S, (("gamma", gamma), ("beta", beta)))
    _batch(S, "S")
    Y, mean, var = k.batchnorm_forward(S.T, g, bt, eps)
    return Y.T, _like(mean, gamma), _like(var, gamma)


def batchnorm_backward(dY: ArrayLike, S: ArrayLike, gamma: ArrayLike, mean: ArrayLike, var: ArrayLike,
                       eps: float = 1e-5, *, backend: str = "c") -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """The three-term batch-norm gradient, per row (unit) over the batch.

    With G = dY * gamma, dJ/dv = -1/2 sum_i G_i (v + eps)^(-3/2) (s_i - mu),
    dJ/dmu = -sum_i G_i (v + eps)^(-1/2), and
    dS = G (v + eps)^(-1/2) + 2/n dJ/dv (S - mu) + 1/n dJ/dmu;
    dgamma = (dY * S_hat) 1, dbeta = dY 1.

    Parameters
    ----------
    dY : array_like, (m, n), float32 or float64
        Gradient of the loss with respect to the normalised, scaled and shifted Y.
    S : array_like, (m, n)
        The forward pass's input.
    gamma : array_like, (m, 1) or (m,)
        The scale.
    mean, var : array_like, (m, 1) or (m,)
        The forward pass's batch statistics.
    eps : float, optional
        As in the forward pass.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    dS : numpy.ndarray, (m, n)
    dgamma, dbeta : numpy.ndarray
        In gamma's shape.

    Raises
    ------
    TypeError
        An argument is not a float array, or the dtypes differ.
    ValueError
        The shapes do not fit the column convention, or S has fewer than 2 columns.
    """
    k = _kernels(backend)
    S = _matrix(S, "S", "(m, n)")
    dY = _matrix(dY, "dY", "(m, n)")
    _same_shape(dY, "dY", S.shape, "S")
    g, mu, v = _unit_vectors(S, (("gamma", gamma), ("mean", mean), ("var", var)))
    _batch(S, "S")
    dS, dgamma, dbeta = k.batchnorm_backward(dY.T, S.T, g, mu, v, eps)
    return dS.T, _like(dgamma, gamma), _like(dbeta, gamma)


def batchnorm_running_update(running_mean: NDArray[Any], running_var: NDArray[Any], mean: ArrayLike, var: ArrayLike,
                             n: int, momentum: float, unbiased: bool, *, backend: str = "c") -> None:
    """Update the running statistics in place: running = (1 - momentum) running + momentum batch.

    The course's mu_av = alpha mu_av + (1 - alpha) mu is ``momentum = 1 - alpha``;
    ``unbiased=False`` feeds the running variance with the batch's biased v, as the course.

    Parameters
    ----------
    running_mean, running_var : numpy.ndarray, (m, 1) or (m,), float32 or float64
        Updated in place (through a view: the arrays themselves change).
    mean, var : array_like, (m, 1) or (m,)
        The batch statistics of :func:`batchnorm_forward`.
    n : int
        The batch size.
    momentum : float
        Weight of the batch, in [0, 1].
    unbiased : bool
        Use v n / (n - 1) for the running variance.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.batchnorm_running_update`; the four vectors must have one length.
    """
    k = _kernels(backend)
    views = []
    for name, arr in (("running_mean", running_mean), ("running_var", running_var)):
        if isinstance(arr, np.ndarray) and arr.ndim == 2:
            if arr.shape[1] != 1:
                raise ValueError(f"{name} must be a column (m, 1) or a vector (m,), got shape {arr.shape}")
            arr = arr[:, 0]  # a view: the update writes through it
        views.append(arr)
    m = views[0].shape[0] if isinstance(views[0], np.ndarray) else np.shape(views[0])[0]
    mu, v = (_column(a, name, m, "to match running_mean") for name, a in (("mean", mean), ("var", var)))
    k.batchnorm_running_update(views[0], views[1], mu, v, n, momentum, unbiased)


def batchnorm_inference_forward(S: ArrayLike, gamma: ArrayLike, beta: ArrayLike, running_mean: ArrayLike,
                                running_var: ArrayLike, eps: float = 1e-5, *, backend: str = "c") -> NDArray[Any]:
    """Batch normalisation at test time: each row normalised with the running statistics.

    Parameters
    ----------
    S : array_like, (m, n), float32 or float64
        The scores (any n, one sample included).
    gamma, beta, running_mean, running_var : array_like, (m, 1) or (m,)
        Scale, shift and the running statistics.
    eps : float, optional
        Added to the variance.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    Y : numpy.ndarray, (m, n)

    Raises
    ------
    TypeError, ValueError
        As :func:`batchnorm_forward`, without the batch-size limit.
    """
    k = _kernels(backend)
    S = _matrix(S, "S", "(m, n)")
    vectors = _unit_vectors(S, (("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                                ("running_var", running_var)))
    return k.batchnorm_inference_forward(S.T, *vectors, eps).T


def batchnorm_inference_backward(dY: ArrayLike, S: ArrayLike, gamma: ArrayLike, running_mean: ArrayLike,
                                 running_var: ArrayLike, eps: float = 1e-5, *,
                                 backend: str = "c") -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Gradients of test-time batch norm, where the statistics are constants.

    Parameters
    ----------
    dY : array_like, (m, n), float32 or float64
        Gradient of the loss with respect to Y.
    S : array_like, (m, n)
        The forward pass's input.
    gamma, running_mean, running_var : array_like, (m, 1) or (m,)
        As in the forward pass.
    eps : float, optional
        As in the forward pass.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    dS : numpy.ndarray, (m, n)
    dgamma, dbeta : numpy.ndarray
        In gamma's shape.

    Raises
    ------
    TypeError, ValueError
        As :func:`batchnorm_inference_forward`; dY must have S's shape.
    """
    k = _kernels(backend)
    S = _matrix(S, "S", "(m, n)")
    dY = _matrix(dY, "dY", "(m, n)")
    _same_shape(dY, "dY", S.shape, "S")
    vectors = _unit_vectors(S, (("gamma", gamma), ("running_mean", running_mean), ("running_var", running_var)))
    dS, dgamma, dbeta = k.batchnorm_inference_backward(dY.T, S.T, *vectors, eps)
    return dS.T, _like(dgamma, gamma), _like(dbeta, gamma)


# ---------------------------------------------------------------- losses and softmax

def softmax(S: ArrayLike, *, backend: str = "c") -> NDArray[Any]:
    """P = softmax of each column: p = exp(s) / 1^T exp(s), one column per sample.

    Parameters
    ----------
    S : array_like, (K, n), float32 or float64
        The scores.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    P : numpy.ndarray, (K, n)
        Columns summing to 1.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.softmax`; S must be 2-D.
    """
    k = _kernels(backend)
    S = _matrix(S, "S", "(K, n)")
    return k.softmax(S.T).T


def softmax_cross_entropy(S: ArrayLike, Y: ArrayLike, *, backend: str = "c") -> tuple[Any, NDArray[Any]]:
    """Mean cross-entropy of P = softmax(S) against the targets, and its gradient.

    L = -1/n sum_i y_i^T log p_i; dL/dS = (P - Y) / n for one-hot Y (labels give the same
    numbers as their one-hot columns; for class probabilities, (P (1^T Y) - Y) / n).

    Parameters
    ----------
    S : array_like, (K, n), float32 or float64
        The scores, one column per sample.
    Y : array_like
        One-hot targets or class probabilities (K, n) (an integer one-hot matrix is
        converted to S's dtype), or integer labels (n,).
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    loss : scalar of S's dtype
    dS : numpy.ndarray, (K, n)

    Raises
    ------
    TypeError
        S is not a float array, or Y is neither labels nor probabilities.
    ValueError
        The shapes do not fit the column convention (a square one-hot Y whose rows sum
        to 1 but not its columns is named as samples as rows), or a label is out of range.
    """
    k = _kernels(backend)
    S = _matrix(S, "S", "(K, n)")
    Y = _targets(S, Y)
    loss, dS = k.softmax_cross_entropy(S.T, Y.T if Y.ndim == 2 else Y)
    return loss, dS.T


def sigmoid_binary_cross_entropy(S: ArrayLike, y: ArrayLike, *, backend: str = "c") -> tuple[Any, NDArray[Any]]:
    """Mean log-loss of sigmoid outputs, and its gradient, one column per sample.

    Parameters
    ----------
    S : array_like, (K, n), float32 or float64
        One logit per output unit and sample.
    y : array_like, (K, n), or (n,) when K = 1
        Targets in [0, 1], S's dtype.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    loss : scalar of S's dtype
    dS : numpy.ndarray, (K, n)

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.sigmoid_binary_cross_entropy`, with shapes in the column convention.
    """
    k = _kernels(backend)
    S = _matrix(S, "S", "(K, n)")
    y_arr = _float(y, "y")
    if y_arr.ndim == 2:
        _same_shape(y_arr, "y", S.shape, "S")
        y_rows = y_arr.T
    elif y_arr.ndim == 1 and S.shape[0] == 1 and y_arr.shape[0] == S.shape[1]:
        y_rows = y_arr
    else:
        raise ValueError(f"y must have S's shape {S.shape} (or ({S.shape[1]},) when S has one row), "
                         f"got shape {y_arr.shape}")
    loss, dS = k.sigmoid_binary_cross_entropy(S.T, y_rows)
    return loss, dS.T


def mse(O: ArrayLike, Y: ArrayLike, *, backend: str = "c") -> tuple[Any, NDArray[Any]]:
    """Mean over the samples (columns) of half the squared error, and its gradient (O - Y) / n.

    Parameters
    ----------
    O : array_like, (D, n), float32 or float64
        The network's outputs, one column per sample.
    Y : array_like, (D, n)
        The targets.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    loss : scalar of O's dtype
    dO : numpy.ndarray, (D, n)

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.mse`, with shapes in the column convention.
    """
    k = _kernels(backend)
    O = _matrix(O, "O", "(D, n)")
    Y = _matrix(Y, "Y", "(D, n)")
    _same_shape(Y, "Y", O.shape, "O")
    loss, dO = k.mse(O.T, Y.T)
    return loss, dO.T


# ---------------------------------------------------------------- dropout and maxout

def dropout_forward(H: ArrayLike, p: float, seed: int, step: int, *, backend: str = "c") -> NDArray[Any]:
    """Inverted dropout of H (m, n): each sample (column) gets the mask the row kernel gives its row.

    Parameters
    ----------
    H : array_like, (m, n), float32 or float64
        The layer's input.
    p : float
        Drop probability, in [0, 1).
    seed : int
        The layer's stream, in [0, 2**64).
    step : int
        The training pass, >= 0.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    numpy.ndarray, (m, n)
        ``ops.dropout_forward(H.T, p, seed, step).T``.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.dropout_forward`.
    """
    k = _kernels(backend)
    H = _matrix(H, "H", "(m, n)")
    return k.dropout_forward(H.T, p, seed, step).T


def dropout_backward(dY: ArrayLike, p: float, seed: int, step: int, *, backend: str = "c") -> NDArray[Any]:
    """Gradient of :func:`dropout_forward` with the same (p, seed, step), hence the same mask.

    Parameters
    ----------
    dY : array_like, (m, n), float32 or float64
        Gradient of the loss with respect to the dropout output.
    p, seed, step
        The forward pass's arguments.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    numpy.ndarray, (m, n)

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.dropout_backward`.
    """
    k = _kernels(backend)
    dY = _matrix(dY, "dY", "(m, n)")
    return k.dropout_backward(dY.T, p, seed, step).T


def maxout_forward(S: ArrayLike, k: int, *, backend: str = "c") -> tuple[NDArray[Any], NDArray[Any]]:
    """Maxout units: row j of H is the maximum of rows j k .. j k + k - 1 of S.

    Parameters
    ----------
    S : array_like, (D k, n), float32 or float64
        The pieces, one column per sample.
    k : int
        Pieces per unit, >= 1.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    H : numpy.ndarray, (D, n)
    winner : numpy.ndarray, (D, n), int64
        The index in [0, k) of the piece that won.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.maxout_forward`; S's rows must be a multiple of k.
    """
    kernels = _kernels(backend)
    S = _matrix(S, "S", "(D k, n)")
    H, winner = kernels.maxout_forward(S.T, k)
    return H.T, winner.T


def maxout_backward(dH: ArrayLike, winner: ArrayLike, k: int, *, backend: str = "c") -> NDArray[Any]:
    """Gradient of maxout: each unit's gradient goes to the piece that won, 0 to the others.

    Parameters
    ----------
    dH : array_like, (D, n), float32 or float64
        Gradient of the loss with respect to H.
    winner : array_like of int, (D, n)
        The forward pass's winners.
    k : int
        Pieces per unit, >= 1.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    dS : numpy.ndarray, (D k, n)

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.maxout_backward`.
    """
    kernels = _kernels(backend)
    dH = _matrix(dH, "dH", "(D, n)")
    winner = np.asarray(winner)
    _same_shape(winner, "winner", dH.shape, "dH")
    return kernels.maxout_backward(dH.T, winner.T, k).T


# ---------------------------------------------------------------- the L2 term and the updates
#
# A parameter has the same shape in both conventions (W (m, d); b as (m, 1) or (m,)), and these
# kernels work element by element on it: each function passes its arguments through.

def l2_penalty(W: ArrayLike, l2: float, *, backend: str = "c") -> float:
    """l2 ||W||^2, summed in float64.

    Parameters
    ----------
    W : array_like, float32 or float64, 1- or 2-dimensional
        The weights.
    l2 : float
        The course's lambda, >= 0.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.l2_penalty`.
    """
    return _kernels(backend).l2_penalty(W, l2)


def l2_gradient(dW: ArrayLike, W: ArrayLike, l2: float, *, backend: str = "c") -> NDArray[Any]:
    """dW + 2 l2 W: the gradient of the cost from that of the loss.

    Parameters
    ----------
    dW : array_like
        dL/dW, W's shape and dtype.
    W : array_like, float32 or float64, 1- or 2-dimensional
        The weights.
    l2 : float
        The course's lambda, >= 0.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    numpy.ndarray
        W's shape and dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.l2_gradient`.
    """
    return _kernels(backend).l2_gradient(dW, W, l2)


def sgd_update(param: NDArray[Any], grad: ArrayLike, momentum_buffer: NDArray[Any] | None, lr: float,
               momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False, first_step: bool = False,
               l2: float = 0.0, *, backend: str = "c") -> None:
    """One SGD step, in place: :func:`fastnn.ops.sgd_update` (the layout does not matter).

    Parameters
    ----------
    param, grad, momentum_buffer, lr, momentum, dampening, nesterov, first_step, l2
        As :func:`fastnn.ops.sgd_update`; param may be W (m, d) or b (m, 1).
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.sgd_update`.
    """
    _kernels(backend).sgd_update(param, grad, momentum_buffer, lr, momentum, dampening, nesterov, first_step, l2)


def adagrad_update(param: NDArray[Any], grad: ArrayLike, state_sum: NDArray[Any], lr: float, step: int,
                   lr_decay: float = 0.0, eps: float = 1e-10, l2: float = 0.0, *, backend: str = "c") -> None:
    """One AdaGrad step, in place: :func:`fastnn.ops.adagrad_update`.

    Parameters
    ----------
    param, grad, state_sum, lr, step, lr_decay, eps, l2
        As :func:`fastnn.ops.adagrad_update`.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.adagrad_update`.
    """
    _kernels(backend).adagrad_update(param, grad, state_sum, lr, step, lr_decay, eps, l2)


def rmsprop_update(param: NDArray[Any], grad: ArrayLike, square_avg: NDArray[Any], grad_avg: NDArray[Any] | None,
                   momentum_buffer: NDArray[Any] | None, lr: float, alpha: float | None = 0.99, eps: float = 1e-8,
                   momentum: float = 0.0, centered: bool = False, l2: float = 0.0, *, backend: str = "c") -> None:
    """One RMSProp step, in place: :func:`fastnn.ops.rmsprop_update`.

    Parameters
    ----------
    param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, momentum, centered, l2
        As :func:`fastnn.ops.rmsprop_update`.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.rmsprop_update`.
    """
    _kernels(backend).rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                                     momentum, centered, l2)


def adam_update(param: NDArray[Any], grad: ArrayLike, m: NDArray[Any], v: NDArray[Any], lr: float, step: int,
                beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, l2: float = 0.0, *,
                backend: str = "c") -> None:
    """One Adam step, in place: :func:`fastnn.ops.adam_update`.

    Parameters
    ----------
    param, grad, m, v, lr, step, beta1, beta2, eps, l2
        As :func:`fastnn.ops.adam_update`.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.adam_update`.
    """
    _kernels(backend).adam_update(param, grad, m, v, lr, step, beta1, beta2, eps, l2)


def clip_grad_norm(grads: list[NDArray[Any]], max_norm: float, *, backend: str = "c") -> float:
    """Gradient clipping by global norm, in place: :func:`fastnn.ops.clip_grad_norm`.

    The norm runs over every element of every gradient, so the layout (dW (m, d),
    db (m, 1)) does not matter.

    Parameters
    ----------
    grads, max_norm
        As :func:`fastnn.ops.clip_grad_norm`.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.

    Returns
    -------
    float
        The global norm before clipping.

    Raises
    ------
    TypeError, ValueError
        As :func:`fastnn.ops.clip_grad_norm`.
    """
    return _kernels(backend).clip_grad_norm(grads, max_norm)
