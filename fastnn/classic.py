"""The classic single-unit learners of the lectures: the perceptron and ADALINE.

Both are linear, ``a = w . x + b``, and both learn one sample at a time; they
differ in when and how much they update:

* :class:`Perceptron` (Rosenblatt; the PERCEPTRONTRAIN algorithm of the
  lecture notes) changes w and b only on a mistake, by ``y x`` and ``y``. On
  linearly separable data it stops after a full pass without a mistake.
* :class:`Adaline` (Widrow and Hoff) changes them after every sample, in
  proportion to the error of the linear output: gradient descent, one sample
  at a time, on the squared error.

:func:`margin` is the lecture's margin of a data set for given (w, b).

These are NumPy, in float64: the updates are sequential by nature, and the
data sets they are taught on are small.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Perceptron", "Adaline", "margin"]


# ---------------------------------------------------------------- argument checks

def _check_X(X, name: str = "X") -> np.ndarray:
    """X as a 2-D float64 array of finite numbers, one sample per row."""
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a 2-D array of numbers: {exc}") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (samples x features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one sample and one feature, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite: it contains NaN or infinity")
    return arr


def _check_targets(y, n: int, name: str = "y") -> np.ndarray:
    """y as a 1-D float64 array of n finite numbers."""
    arr = np.asarray(y)
    if arr.dtype.kind not in "iufb":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have one entry per row of X ({n}), got {arr.shape[0]}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite: it contains NaN or infinity")
    return arr


def _check_labels(y, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two-class labels as (signs in {-1, +1}, the two labels in the caller's coding).

    Labels may be {-1, +1} or {0, 1}; 0 is mapped to -1. A y holding only 1s
    is read as {-1, +1}.
    """
    arr = _check_targets(y, n)
    values = set(np.unique(arr).tolist())
    if values <= {-1.0, 1.0}:
        classes = np.array([-1, 1])
    elif values <= {0.0, 1.0}:
        classes = np.array([0, 1])
    else:
        shown = sorted(values)[:6]
        raise ValueError(f"y must hold two-class labels, -1/+1 or 0/1, got the values {shown}")
    return np.where(arr > 0, 1.0, -1.0), classes


def _check_weights(w, b, d: int) -> tuple[np.ndarray, float]:
    w_arr = np.asarray(w)
    if w_arr.dtype.kind not in "iuf":
        raise TypeError(f"w must hold real numbers, got dtype {w_arr.dtype}")
    if w_arr.shape != (d,):
        raise ValueError(f"w must have shape ({d},) to match X's {d} features, got shape {w_arr.shape}")
    if isinstance(b, (bool, np.bool_)) or not isinstance(b, numbers.Real):
        raise TypeError(f"b must be a real number, got {type(b).__name__}")
    return w_arr.astype(np.float64), float(b)


def _positive_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _fitted_input(model, X) -> np.ndarray:
    """X checked for a fitted model: as many features as in fit."""
    if getattr(model, "w", None) is None:
        raise RuntimeError(f"this {type(model).__name__} is not fitted yet: call fit(X, y) first")
    X = _check_X(X)
    if X.shape[1] != model.w.shape[0]:
        raise ValueError(f"X must have {model.w.shape[0]} features, as in fit, got {X.shape[1]}")
    return X


# ---------------------------------------------------------------- margin

def margin(X: ArrayLike, y: ArrayLike, w: ArrayLike, b: float) -> float:
    """The lecture's margin of the data (X, y) for the boundary w . x + b = 0.

    ``min_i y_i (w . x_i + b)`` if (w, b) separates the data, that is if every
    sample is strictly on its own side (y_i (w . x_i + b) > 0), and ``-inf``
    otherwise. This margin is not divided by ||w||: it grows when w and b are
    scaled, as in the convergence theorem of the notes, which assumes ||x|| <= 1.

    Parameters
    ----------
    X : array_like of shape (N, D)
        The samples, as rows, finite.
    y : array_like of shape (N,)
        Labels, -1/+1 or 0/1.
    w : array_like of shape (D,)
        The weights.
    b : float
        The bias.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        Arrays of the wrong kind or shape, or labels that are not two classes.

    Examples
    --------
    >>> from fastnn.classic import margin
    >>> margin([[0.0, 0.0], [1.0, 1.0]], [-1, 1], [1.0, 1.0], -1.0)
    1.0
    """
    X = _check_X(X)
    signs, _ = _check_labels(y, X.shape[0])
    w, b = _check_weights(w, b, X.shape[1])
    products = signs * (X @ w + b)
    if np.all(products > 0):
        return float(products.min())
    return float("-inf")


# ---------------------------------------------------------------- perceptron

class Perceptron:
    """Rosenblatt's perceptron, trained by the lecture's PERCEPTRONTRAIN algorithm.

    ``fit`` starts from w = 0, b = 0 and passes over the samples in their order;
    on each sample with ``y (w . x + b) <= 0`` (a mistake, including a score of
    exactly 0) it updates ``w += y x`` and ``b += y``. It stops after a full pass
    without an update (``converged_ = True``) or after ``max_iter`` passes
    (``converged_ = False``: the data may not be linearly separable, as XOR is
    not). There is no learning rate: with a zero start, scaling the updates would
    only scale w and b, not move the boundary. Unlike scikit-learn's Perceptron,
    samples are not shuffled.

    Labels are -1/+1 or 0/1 (0 is treated as -1); ``predict`` answers in the
    coding it was fitted with, positive when ``w . x + b > 0``.

    Parameters
    ----------
    max_iter : int, default 100
        The most passes over the data, >= 1.
    record_updates : bool, default False
        Keep every update in ``updates_``, for drawing how the boundary moves.

    Attributes
    ----------
    w : numpy.ndarray of shape (D,)
        The weights after ``fit``.
    b : float
        The bias after ``fit``.
    converged_ : bool
        Whether the last pass made no update.
    n_updates_ : int
        The updates made.
    n_iter_ : int
        The passes made, the final clean pass included.
    updates_per_pass_ : list of int
        One count per pass.
    classes_ : numpy.ndarray of shape (2,)
        The two labels.
    updates_ : list of tuple
        With ``record_updates=True``: (index of the sample, w, b) after each update.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.classic import Perceptron
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> p = Perceptron().fit(X, [0, 0, 0, 1])
    >>> p.predict(X), p.converged_
    (array([0, 0, 0, 1]), True)
    """

    def __init__(self, max_iter: int = 100, record_updates: bool = False) -> None:
        self.max_iter = _positive_int(max_iter, "max_iter")
        self.record_updates = bool(record_updates)
        self.w: np.ndarray | None = None
        self.b: float | None = None

    def fit(self, X: ArrayLike, y: ArrayLike) -> Perceptron:
        """Train on (X, y) from w = 0, b = 0.

        Parameters
        ----------
        X : array_like of shape (N, D)
            The samples, as rows, finite.
        y : array_like of shape (N,)
            Labels, -1/+1 or 0/1.

        Returns
        -------
        Perceptron
            self.

        Raises
        ------
        TypeError, ValueError
            Arrays of the wrong kind or shape, or labels that are not two classes.
        """
        X = _check_X(X)
        signs, self.classes_ = _check_labels(y, X.shape[0])
        n = X.shape[0]
        w = np.zeros(X.shape[1])
        b = 0.0
        updates = []
        per_pass = []
        n_updates = 0
        converged = False
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 - n_iter_ after the loop is the last pass
            before = n_updates
            start = 0
            # The next mistake of this pass: the scores of the samples after the
            # last update are computed together (w and b are fixed until the next
            # mistake), which gives exactly the sample-by-sample algorithm.
            while start < n:
                mistakes = np.flatnonzero(signs[start:] * (X[start:] @ w + b) <= 0)
                if mistakes.size == 0:
                    break
                i = start + int(mistakes[0])
                w += signs[i] * X[i]
                b += signs[i]
                n_updates += 1
                if self.record_updates:
                    updates.append((i, w.copy(), b))
                start = i + 1
            per_pass.append(n_updates - before)
            if n_updates == before:
                converged = True
                break
        self.w, self.b = w, float(b)
        self.converged_ = converged
        self.n_updates_ = n_updates
        self.n_iter_ = n_iter
        self.updates_per_pass_ = per_pass
        if self.record_updates:
            self.updates_ = updates
        return self

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """The activation ``w . x + b`` of each sample (positive: the positive class).

        Parameters
        ----------
        X : array_like of shape (N, D)
            The samples, as rows, finite.

        Returns
        -------
        numpy.ndarray of shape (N,)

        Raises
        ------
        RuntimeError
            The model is not fitted.
        """
        return _fitted_input(self, X) @ self.w + self.b

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The label of each sample, in the coding of the labels given to ``fit``.

        Parameters
        ----------
        X : array_like of shape (N, D)
            The samples, as rows, finite.

        Returns
        -------
        numpy.ndarray of shape (N,)

        Raises
        ------
        RuntimeError
            The model is not fitted.
        """
        return np.where(self.decision_function(X) > 0, self.classes_[1], self.classes_[0])

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """The fraction of samples classified correctly.

        Parameters
        ----------
        X : array_like of shape (N, D)
            The samples, as rows, finite.
        y : array_like of shape (N,)
            Labels, -1/+1 or 0/1.

        Returns
        -------
        float
        """
        X = _check_X(X)
        signs, _ = _check_labels(y, X.shape[0])
        return float(np.mean(np.where(self.decision_function(X) > 0, 1.0, -1.0) == signs))


# ---------------------------------------------------------------- ADALINE

class Adaline:
    """ADALINE: a linear unit trained by the Widrow-Hoff (LMS) rule.

    For each sample in turn, ``e = y - (w . x + b)``, then ``w += lr e x`` and
    ``b += lr e``: stochastic gradient descent on the squared error
    ``(y - w . x - b)^2`` (the factor 2 of its gradient is folded into lr, as in
    the notes). w and b start at zero. Each epoch visits the samples in a new
    random order drawn from ``numpy.random.default_rng(seed)``, or in their given
    order with ``shuffle=False``.

    Targets are real numbers (it is a linear regression); to classify, train on
    -1/+1 labels and take the sign of ``predict``. With a small enough lr it
    approaches the least-squares solution; with a constant lr it keeps moving
    around it by an amount that shrinks with lr, unless the targets are exactly
    linear in X. Too large an lr (above about 2 / ||x||^2 for the largest sample)
    makes the updates diverge: ``fit`` then raises ValueError.

    Parameters
    ----------
    lr : float, default 0.01
        The learning rate, > 0.
    epochs : int, default 50
        Passes over the data, >= 1.
    shuffle : bool, default True
        Visit the samples in a new random order each epoch.
    seed : int or None, default 0
        The seed of the orders (the same seed gives the same run; None draws a
        fresh order each run).

    Attributes
    ----------
    w : numpy.ndarray of shape (D,)
        The weights after ``fit``.
    b : float
        The bias after ``fit``.
    loss_ : list of float
        The mean squared error over the training set after each epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.classic import Adaline
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Adaline(lr=0.1, epochs=100).fit(X, [1.0, 2.0, 3.0, 4.0]).predict(X).round(2)
    array([1., 2., 3., 4.])
    """

    def __init__(self, lr: float = 0.01, epochs: int = 50, shuffle: bool = True, seed: int | None = 0) -> None:
        if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, numbers.Real):
            raise TypeError(f"lr must be a real number, got {type(lr).__name__}")
        if not (lr > 0 and np.isfinite(lr)):
            raise ValueError(f"lr must be a finite number > 0, got {lr}")
        self.lr: float = float(lr)
        self.epochs: int = _positive_int(epochs, "epochs")
        self.shuffle: bool = bool(shuffle)
        self.seed: int | None = seed
        self.w: np.ndarray | None = None
        self.b: float | None = None

    def fit(self, X: ArrayLike, y: ArrayLike) -> Adaline:
        """Train on (X, y) from w = 0, b = 0.

        Parameters
        ----------
        X : array_like of shape (N, D)
            The samples, as rows, finite.
        y : array_like of shape (N,)
            Real-valued targets.

        Returns
        -------
        Adaline
            self.

        Raises
        ------
        TypeError
            Arrays of the wrong kind.
        ValueError
            Arrays of the wrong shape or not finite, or an lr that makes the updates
            diverge.
        """
        X = _check_X(X)
        y = _check_targets(y, X.shape[0])
        rng = np.random.default_rng(self.seed)
        n = X.shape[0]
        w = np.zeros(X.shape[1])
        b = 0.0
        lr = self.lr
        losses = []
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(1, self.epochs + 1):
                order = rng.permutation(n) if self.shuffle else range(n)
                for i in order:
                    error = y[i] - (X[i] @ w + b)
                    w += (lr * error) * X[i]
                    b += lr * error
                loss = float(np.mean((y - (X @ w + b)) ** 2))
                losses.append(loss)
                if not np.isfinite(loss):
                    raise ValueError(
                        f"lr={self.lr} makes the Widrow-Hoff updates diverge (the loss is {loss} after "
                        f"epoch {epoch}); use a smaller lr, below about "
                        f"{2 / float(np.max(np.sum(X * X, axis=1)) + 1):.3g} for this X"
                    )
        self.w, self.b, self.loss_ = w, float(b), losses
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The linear output ``w . x + b`` of each sample.

        Parameters
        ----------
        X : array_like of shape (N, D)
            The samples, as rows, finite.

        Returns
        -------
        numpy.ndarray of shape (N,)

        Raises
        ------
        RuntimeError
            The model is not fitted.
        """
        return _fitted_input(self, X) @ self.w + self.b
