"""The course's helpers for a k-layer classifier, samples as columns.

A course built on these lecture notes has its students write, for a k-layer
network with ReLU hidden units, optional batch normalisation and a softmax
output, a handful of functions that take the parameters as lists. These are
those functions, composed from the kernels of :mod:`fastnn.columns` (so the
compiled kernels do the maths, and ``backend="numpy"`` runs the NumPy answer
key instead). Shapes: X (d, n), one column per sample; Ws[l] (m_l, m_(l-1));
bs[l] (m_l, 1) or (m_l,); gammas[l] and betas[l] (m_l, 1) or (m_l,) for the
k - 1 hidden layers; Y one-hot (K, n) or labels (n,).

Which helper serves which step of the assignments:

- :func:`evaluate_classifier` -- the forward pass: the class probabilities
  P (K, n), with batch statistics while training, or with the running
  averages (``means``, ``variances``) at test time; ``return_cache=True``
  also gives the intermediate scores and batch statistics (the running
  averages are updated from these with
  :func:`fastnn.columns.batchnorm_running_update`).
- :func:`compute_cost` -- the cost J = L + lambda sum_l ||W_l||^2 and the loss
  L, for the curves of cost and loss on training and validation data, and
  for the search over lambda.
- :func:`compute_accuracy` -- the share of samples classified correctly, for
  the accuracy curves and the final test accuracy.
- :func:`compute_gradients` -- the analytic gradients of J for every W, b,
  gamma and beta (the backward pass with the three-term batch-norm
  gradient), which mini-batch gradient descent applies.
- :func:`compute_gradients_numerical` -- centred-difference gradients of J,
  for chosen parameters and their first entries, to check the analytic ones.
- :func:`relative_errors` -- the comparison of the two, entry by entry,
  ``|g_a - g_n| / max(floor, |g_a| + |g_n|)``.

Gradients are dictionaries of lists, ``{"W": [...], "b": [...]}`` with
``"gamma"`` and ``"beta"`` when the network has batch norm; each entry has
the shape of its parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks, columns
from .diagnostics import relative_error

__all__ = [
    "evaluate_classifier",
    "compute_cost",
    "compute_accuracy",
    "compute_gradients",
    "compute_gradients_numerical",
    "relative_errors",
]

_KINDS = ("W", "b", "gamma", "beta")


def _network(Ws, bs, gammas, betas, means=None, variances=None):
    """The parameter lists, checked for their lengths; returns k and whether there is batch norm."""
    for name, value in (("Ws", Ws), ("bs", bs)):
        if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list of arrays, one per layer, got {type(value).__name__}")
    k = len(Ws)
    if k < 1:
        raise ValueError("Ws must hold at least one weight matrix")
    if len(bs) != k:
        raise ValueError(f"bs must hold one bias per layer, {k} like Ws, got {len(bs)}")
    if (gammas is None) != (betas is None):
        raise ValueError("gammas and betas go together: pass both (batch norm) or neither")
    batch_norm = gammas is not None
    if batch_norm:
        for name, value in (("gammas", gammas), ("betas", betas)):
            if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
                raise TypeError(f"{name} must be a list of arrays, one per hidden layer, got {type(value).__name__}")
            if len(value) != k - 1:
                raise ValueError(f"{name} must hold one array per hidden layer, {k - 1} for {k} layers, "
                                 f"got {len(value)}")
    if (means is None) != (variances is None):
        raise ValueError("means and variances go together: pass both (test time) or neither (batch statistics)")
    if means is not None:
        if not batch_norm:
            raise ValueError("means and variances are batch norm's running averages: pass gammas and betas too")
        for name, value in (("means", means), ("variances", variances)):
            if len(value) != k - 1:
                raise ValueError(f"{name} must hold one array per hidden layer, {k - 1} for {k} layers, "
                                 f"got {len(value)}")
    return k, batch_norm


def evaluate_classifier(X: ArrayLike, Ws: Sequence[ArrayLike], bs: Sequence[ArrayLike],
                        gammas: Sequence[ArrayLike] | None = None, betas: Sequence[ArrayLike] | None = None,
                        means: Sequence[ArrayLike] | None = None, variances: Sequence[ArrayLike] | None = None, *,
                        activation: str = "relu", eps: float = 1e-5, backend: str = "c",
                        return_cache: bool = False) -> NDArray[Any] | tuple[NDArray[Any], dict[str, list[Any]]]:
    """The class probabilities P = softmax(s_k) of a k-layer network, one column per sample.

    Each hidden layer l computes s_l = W_l h_(l-1) + b_l, then (with batch norm)
    gamma_l * s_hat_l + beta_l, then the activation; the last layer's scores go
    through the softmax.

    Parameters
    ----------
    X : array_like, (d, n), float32 or float64
        The inputs.
    Ws, bs : list of array_like
        The k weight matrices (m_l, m_(l-1)) and biases (m_l, 1) or (m_l,).
    gammas, betas : list of array_like, optional
        The k - 1 hidden layers' batch-norm scales and shifts; None: no batch norm.
    means, variances : list of array_like, optional
        Running averages to normalise with (test time); None: the batch's statistics.
    activation : str, optional
        The hidden units' activation (see :func:`fastnn.columns.activation_forward`).
    eps : float, optional
        Batch norm's epsilon.
    backend : {"c", "numpy"}, optional
        The compiled kernels or the NumPy reference.
    return_cache : bool, optional
        Also return the intermediate results.

    Returns
    -------
    P : numpy.ndarray, (K, n)
    cache : dict, with ``return_cache=True``
        "inputs": the k layers' inputs (X, h_1, ..., h_(k-1)); "scores": the k layers'
        s_l; with batch norm, "normalised": gamma_l * s_hat_l + beta_l, and "means" and
        "variances": the statistics used (the batch's in training).

    Raises
    ------
    TypeError, ValueError
        Lists of the wrong lengths, or arrays that do not fit (see :mod:`fastnn.columns`).
    """
    k, batch_norm = _network(Ws, bs, gammas, betas, means, variances)
    return_cache = _checks.boolean(return_cache, "return_cache")
    cache = _forward(X, Ws, bs, gammas, betas, means, variances, activation, eps, backend, k, batch_norm)
    P = columns.softmax(cache["scores"][-1], backend=backend)
    return (P, cache) if return_cache else P


def _forward(X, Ws, bs, gammas, betas, means, variances, activation, eps, backend, k, batch_norm):
    cache = {"inputs": [], "scores": []}
    if batch_norm:
        cache.update(normalised=[], means=[], variances=[])
    H = X
    for l in range(k):
        cache["inputs"].append(H)
        if l == k - 1 or batch_norm:
            S = columns.linear_forward(H, Ws[l], bs[l], backend=backend)
        else:
            S, H = columns.dense_forward(H, Ws[l], bs[l], activation, backend=backend)
        cache["scores"].append(S)
        if l == k - 1 or not batch_norm:
            continue
        if means is None:
            Y, mean, var = columns.batchnorm_forward(S, gammas[l], betas[l], eps, backend=backend)
        else:
            mean, var = means[l], variances[l]
            Y = columns.batchnorm_inference_forward(S, gammas[l], betas[l], mean, var, eps, backend=backend)
        cache["normalised"].append(Y)
        cache["means"].append(mean)
        cache["variances"].append(var)
        H = columns.activation_forward(activation, Y, backend=backend)
    return cache


def compute_cost(X: ArrayLike, Y: ArrayLike, Ws: Sequence[ArrayLike], bs: Sequence[ArrayLike], lam: float,
                 gammas: Sequence[ArrayLike] | None = None, betas: Sequence[ArrayLike] | None = None,
                 means: Sequence[ArrayLike] | None = None, variances: Sequence[ArrayLike] | None = None, *,
                 activation: str = "relu", eps: float = 1e-5, backend: str = "c") -> tuple[float, float]:
    """The cost J = L + lam sum_l ||W_l||^2 and the cross-entropy loss L.

    Parameters
    ----------
    X : array_like, (d, n), float32 or float64
        The inputs.
    Y : array_like
        One-hot targets (K, n) or integer labels (n,).
    Ws, bs, gammas, betas, means, variances
        As :func:`evaluate_classifier`.
    lam : float
        The regularisation weight lambda, >= 0.
    activation, eps, backend
        As :func:`evaluate_classifier`.

    Returns
    -------
    cost, loss : float

    Raises
    ------
    TypeError, ValueError
        As :func:`evaluate_classifier`, for Y as :func:`fastnn.columns.softmax_cross_entropy`,
        and lam must be a number >= 0.
    """
    k, batch_norm = _network(Ws, bs, gammas, betas, means, variances)
    lam = _checks.real(lam, "lam", low=0.0)
    cache = _forward(X, Ws, bs, gammas, betas, means, variances, activation, eps, backend, k, batch_norm)
    loss, _ = columns.softmax_cross_entropy(cache["scores"][-1], Y, backend=backend)
    loss = float(loss)
    penalty = sum(columns.l2_penalty(W, lam, backend=backend) for W in Ws) if lam else 0.0
    return loss + penalty, loss


def compute_accuracy(X: ArrayLike, y: ArrayLike, Ws: Sequence[ArrayLike], bs: Sequence[ArrayLike],
                     gammas: Sequence[ArrayLike] | None = None, betas: Sequence[ArrayLike] | None = None,
                     means: Sequence[ArrayLike] | None = None, variances: Sequence[ArrayLike] | None = None, *,
                     activation: str = "relu", eps: float = 1e-5, backend: str = "c") -> float:
    """The share of samples whose most probable class is their label.

    Parameters
    ----------
    X : array_like, (d, n), float32 or float64
        The inputs.
    y : array_like
        Integer labels (n,) or one-hot targets (K, n).
    Ws, bs, gammas, betas, means, variances, activation, eps, backend
        As :func:`evaluate_classifier`.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    TypeError, ValueError
        As :func:`evaluate_classifier`, or y does not fit the n samples.
    """
    # without return_cache, evaluate_classifier returns P alone
    P = cast(NDArray[Any], evaluate_classifier(X, Ws, bs, gammas, betas, means, variances, activation=activation,
                                               eps=eps, backend=backend))
    y = np.asarray(y)
    if y.ndim == 2:
        if y.shape != P.shape:
            raise ValueError(f"y as one-hot targets must have shape {P.shape} (classes, samples), got {y.shape}")
        y = y.argmax(axis=0)
    elif y.ndim != 1 or y.shape[0] != P.shape[1]:
        raise ValueError(f"y must be labels ({P.shape[1]},) or one-hot targets {P.shape}, got shape {y.shape}")
    if P.shape[1] == 0:
        raise ValueError("X must hold at least one sample (column)")
    return float(np.mean(P.argmax(axis=0) == y))


def compute_gradients(X: ArrayLike, Y: ArrayLike, Ws: Sequence[ArrayLike], bs: Sequence[ArrayLike], lam: float,
                      gammas: Sequence[ArrayLike] | None = None, betas: Sequence[ArrayLike] | None = None, *,
                      activation: str = "relu", eps: float = 1e-5,
                      backend: str = "c") -> dict[str, list[NDArray[Any]]]:
    """The analytic gradients of J = L + lam sum_l ||W_l||^2 with the batch's statistics.

    The backward pass of the lecture notes on k-layer networks: G = P - Y through the
    last layer, then for each hidden layer the activation's derivative, the three-term
    batch-norm gradient (with batch norm), and the dense layer; 2 lam W_l is added to
    each dL/dW_l.

    Parameters
    ----------
    X : array_like, (d, n), float32 or float64
        The inputs of one mini-batch (n >= 2 with batch norm).
    Y : array_like
        One-hot targets (K, n) or integer labels (n,).
    Ws, bs : list of array_like
        The k weight matrices and biases.
    lam : float
        The regularisation weight lambda, >= 0.
    gammas, betas : list of array_like, optional
        The hidden layers' batch-norm parameters; None: no batch norm.
    activation, eps, backend
        As :func:`evaluate_classifier`.

    Returns
    -------
    dict
        {"W": [dJ/dW_l], "b": [dJ/db_l]} and, with batch norm, "gamma" and "beta":
        lists with one array per layer, each in its parameter's shape.

    Raises
    ------
    TypeError, ValueError
        As :func:`compute_cost`.
    """
    k, batch_norm = _network(Ws, bs, gammas, betas)
    lam = _checks.real(lam, "lam", low=0.0)
    cache = _forward(X, Ws, bs, gammas, betas, None, None, activation, eps, backend, k, batch_norm)
    _, G = columns.softmax_cross_entropy(cache["scores"][-1], Y, backend=backend)
    grads: dict[str, list[Any]] = {"W": [None] * k, "b": [None] * k}
    if batch_norm:
        grads.update(gamma=[None] * (k - 1), beta=[None] * (k - 1))
    for l in range(k - 1, -1, -1):
        dH, dW, db = columns.linear_backward(G, cache["inputs"][l], Ws[l], backend=backend)
        grads["W"][l] = columns.l2_gradient(dW, np.asarray(Ws[l]), lam, backend=backend) if lam else dW
        grads["b"][l] = db.reshape(np.shape(bs[l]))
        if l == 0:
            break
        # back through the hidden layer below: its activation, then its batch norm
        G = columns.activation_backward(activation, dH, cache["inputs"][l], backend=backend)
        if batch_norm:
            # _network found batch norm: gammas and betas are lists
            gammas, betas = cast(Sequence[ArrayLike], gammas), cast(Sequence[ArrayLike], betas)
            j = l - 1
            G, dgamma, dbeta = columns.batchnorm_backward(G, cache["scores"][j], gammas[j], cache["means"][j],
                                                          cache["variances"][j], eps, backend=backend)
            grads["gamma"][j] = dgamma
            grads["beta"][j] = dbeta.reshape(np.shape(betas[j]))
    return grads


def _selection(params, k, batch_norm):
    """[(kind, layer)] for ``params``: None (all), or names "W" (every layer) or "W[0]"."""
    counts = {"W": k, "b": k, "gamma": k - 1 if batch_norm else 0, "beta": k - 1 if batch_norm else 0}
    if params is None:
        return [(kind, l) for kind in _KINDS for l in range(counts[kind])]
    if isinstance(params, str):
        params = [params]
    chosen = []
    for name in params:
        if not isinstance(name, str):
            raise TypeError(f"params must hold names such as 'W' or 'W[0]', got {type(name).__name__}")
        kind, _, rest = name.partition("[")
        if kind not in counts or counts[kind] == 0 or (rest and not rest.endswith("]")):
            raise ValueError(f"params: {name!r} is not a parameter of this network; names are "
                             f"{[k_ for k_ in _KINDS if counts[k_]]}, alone (every layer) or with a layer, as 'W[0]'")
        if not rest:
            chosen += [(kind, l) for l in range(counts[kind])]
            continue
        try:
            l = int(rest[:-1])
        except ValueError:
            raise ValueError(f"params: {name!r} has no layer number between the brackets") from None
        if not 0 <= l < counts[kind]:
            raise ValueError(f"params: {name!r} is out of range: {kind} has layers 0 to {counts[kind] - 1}")
        chosen.append((kind, l))
    return list(dict.fromkeys(chosen))  # each once, in the order asked


def compute_gradients_numerical(X: ArrayLike, Y: ArrayLike, Ws: Sequence[ArrayLike], bs: Sequence[ArrayLike],
                                lam: float, gammas: Sequence[ArrayLike] | None = None,
                                betas: Sequence[ArrayLike] | None = None, *, h: float = 1e-6,
                                params: Iterable[str] | None = None, max_entries: int | None = None,
                                activation: str = "relu", eps: float = 1e-5,
                                backend: str = "c") -> dict[str, list[NDArray[Any]]]:
    """Centred-difference gradients of the cost, (J(p + h) - J(p - h)) / (2 h), entry by entry.

    Computed in float64 on copies of the parameters (the arrays passed are not
    changed), with the batch's statistics, as :func:`compute_gradients`.

    Parameters
    ----------
    X, Y, Ws, bs, lam, gammas, betas
        As :func:`compute_gradients`.
    h : float, optional
        The step, > 0.
    params : iterable of str, optional
        Which parameters: "W", "b", "gamma", "beta" (every layer's) or one layer's, as
        "W[0]" (0-based, as the lists). None: all.
    max_entries : int, optional
        Only the first ``max_entries`` entries of each parameter (row-major: W[0]'s first
        row first). None: every entry.
    activation, eps, backend
        As :func:`evaluate_classifier`.

    Returns
    -------
    dict
        As :func:`compute_gradients`; entries not computed are NaN.

    Raises
    ------
    TypeError, ValueError
        As :func:`compute_cost`; an unknown name in ``params``; h not > 0; max_entries < 1.
    """
    k, batch_norm = _network(Ws, bs, gammas, betas)
    lam = _checks.real(lam, "lam", low=0.0)
    h = _checks.real(h, "h", low=0.0, low_open=True)
    if max_entries is not None:
        max_entries = _checks.integer(max_entries, "max_entries", minimum=1)
    chosen = _selection(params, k, batch_norm)
    copies = {"W": [np.array(W, dtype=np.float64) for W in Ws], "b": [np.array(b, dtype=np.float64) for b in bs]}
    if batch_norm:
        # _network found batch norm: gammas and betas are lists
        copies["gamma"] = [np.array(g, dtype=np.float64) for g in cast(Sequence[ArrayLike], gammas)]
        copies["beta"] = [np.array(b, dtype=np.float64) for b in cast(Sequence[ArrayLike], betas)]
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y)
    if Y.ndim == 2:
        Y = Y.astype(np.float64)

    def cost():
        return compute_cost(X, Y, copies["W"], copies["b"], lam, copies.get("gamma"), copies.get("beta"),
                            activation=activation, eps=eps, backend=backend)[0]

    grads = {kind: [np.full(p.shape, np.nan) for p in arrays] for kind, arrays in copies.items()}
    for kind, l in chosen:
        flat = copies[kind][l].reshape(-1)  # a view of the contiguous copy
        out = grads[kind][l].reshape(-1)
        count = flat.size if max_entries is None else min(max_entries, flat.size)
        for i in range(count):
            original = flat[i]
            flat[i] = original + h
            plus = cost()
            flat[i] = original - h
            minus = cost()
            flat[i] = original
            out[i] = (plus - minus) / (2 * h)
    return grads


def relative_errors(analytic: Mapping[str, Sequence[ArrayLike]], numerical: Mapping[str, Sequence[ArrayLike]],
                    floor: float = 1e-6) -> dict[str, float]:
    """The largest elementwise relative error ``|g_a - g_n| / max(floor, |g_a| + |g_n|)`` per parameter.

    Parameters
    ----------
    analytic : dict
        From :func:`compute_gradients`.
    numerical : dict
        From :func:`compute_gradients_numerical` (its NaN entries, not computed, are left out).
    floor : float, optional
        The denominator's lower bound, > 0.

    Returns
    -------
    dict
        {"W[0]": error, ...} for every parameter with at least one entry computed.

    Raises
    ------
    ValueError
        The two do not hold the same parameters and shapes, or floor is not > 0.
    """
    if set(analytic) != set(numerical):
        raise ValueError(f"analytic and numerical must hold the same parameters, got {sorted(analytic)} "
                         f"and {sorted(numerical)}")
    errors = {}
    for kind in (k for k in _KINDS if k in analytic):
        if len(analytic[kind]) != len(numerical[kind]):
            raise ValueError(f"analytic and numerical must hold as many {kind!r} arrays, got "
                             f"{len(analytic[kind])} and {len(numerical[kind])}")
        for l, (a, n) in enumerate(zip(analytic[kind], numerical[kind])):
            n = np.asarray(n, dtype=np.float64)
            if np.all(np.isnan(n)):
                continue
            errors[f"{kind}[{l}]"] = relative_error(a, n, "elementwise", floor)
    return errors
