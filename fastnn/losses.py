"""Losses: the mean over the batch of a per-sample loss of the network's output O (N, D_out).

=================================  ============================================================
name                               loss (mean over the N samples)
=================================  ============================================================
"softmax_cross_entropy"            -log softmax(o)[y] for integer labels y in [0, D_out);
                                   -sum_c y_c log softmax(o)_c for a 2-D float y (one-hot or
                                   soft labels; rows need not sum to 1, entries must be >= 0)
"sigmoid_binary_cross_entropy"     -[y log s(o) + (1 - y) log(1 - s(o))], s the logistic
                                   sigmoid, labels 0/1, one output unit (the lecture notes'
                                   log-loss)
"mse"                              1/2 ||y - o||^2 (the lecture's E_p; half the squared error,
                                   as scikit-learn's MLPRegressor)
=================================  ============================================================

The two cross-entropies take the network's raw scores (logits): the softmax
or sigmoid is part of the loss, computed stably (shifted by the row maximum;
``log(1 + e^-|o|)``). "mse" compares whatever the last layer outputs.

A loss holds its name and its checks of the targets; the maths is the
backend's kernels (``fastnn.ops`` or ``fastnn.reference``):
``softmax_cross_entropy``, ``sigmoid_binary_cross_entropy``, ``mse``, and for
the probabilities ``softmax`` and the "sigmoid" activation.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _checks

__all__ = ["Loss", "SoftmaxCrossEntropy", "SigmoidBinaryCrossEntropy", "MSE", "get", "NAMES", "r2_score"]


class Loss:
    """Base class of the losses: a name, the checks of the targets, and the kernel call.

    Attributes
    ----------
    name : str
        The name :func:`get` knows the loss by.
    classification : bool
        Whether the loss is a classifier's (accuracy is then reported).
    """
    name = ""
    classification = False

    def check_outputs(self, n_outputs: int) -> None:
        """Check that a network with ``n_outputs`` output units can use this loss.

        Parameters
        ----------
        n_outputs : int

        Raises
        ------
        ValueError
            The loss needs another number of output units.
        """

    def targets(self, y: ArrayLike, n: int, n_outputs: int, dtype: DTypeLike, name: str = "y") -> NDArray[Any]:
        """Check and convert the targets of ``n`` samples, before anything is trained.

        Parameters
        ----------
        y : array_like
            The targets.
        n : int
            The number of samples.
        n_outputs : int
            The network's output units.
        dtype : numpy.dtype
            The model's dtype.
        name : str, default "y"
            The argument's name in error messages.

        Returns
        -------
        numpy.ndarray
            The targets as the loss kernel takes them.

        Raises
        ------
        TypeError, ValueError
            Targets of the wrong kind, shape or range.
        """
        raise NotImplementedError

    def __call__(self, backend: ModuleType, O: NDArray[Any], y: NDArray[Any]) -> tuple[float, NDArray[Any]]:
        """The loss of a batch and its gradient, from the kernels of ``backend``.

        Parameters
        ----------
        backend : module
            :mod:`fastnn.ops` or :mod:`fastnn.reference`.
        O : numpy.ndarray of shape (N, D_out)
            The network's output.
        y : numpy.ndarray
            The targets, as :meth:`targets` returns them.

        Returns
        -------
        loss : scalar of O's dtype
            The mean over the batch.
        dO : numpy.ndarray of shape (N, D_out)
            Its gradient with respect to O.
        """
        raise NotImplementedError

    def correct(self, O: NDArray[Any], y: NDArray[Any]) -> int:
        """The number of samples of a batch classified correctly (classification losses only).

        Parameters
        ----------
        O : numpy.ndarray of shape (N, D_out)
            The network's output.
        y : numpy.ndarray
            The targets, as :meth:`targets` returns them.

        Returns
        -------
        int
        """
        raise NotImplementedError

    def __repr__(self):
        return f"fastnn.losses.get({self.name!r})"

    def __reduce__(self):
        return (get, (self.name,))


def _first_dimension(y, n, name):
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"{name} must have {n} rows to match X's {n} samples, got shape {y.shape}")


def _real_targets(y, dtype, name) -> NDArray[Any]:
    """y in the model's dtype, finite before and after the cast (1e39 is finite in float64
    but becomes inf in float32, which training would take)."""
    _checks.finite(y, name)
    with np.errstate(over="ignore"):  # an overflow is reported below, as a ValueError
        cast = y.astype(dtype)
    if cast.dtype != y.dtype:
        _checks.finite(cast, f"{name} in {cast.dtype.name}")
    return cast


class SoftmaxCrossEntropy(Loss):
    """Softmax cross-entropy on the network's scores: integer labels or class probabilities.

    Needs at least 2 output units. The targets are integer labels in
    [0, D_out), or a 2-D float array of class probabilities (one-hot or soft
    labels; entries >= 0). The kernel is ``softmax_cross_entropy``.
    """
    name = "softmax_cross_entropy"
    classification = True

    def check_outputs(self, n_outputs: int) -> None:
        if n_outputs < 2:
            raise ValueError("loss 'softmax_cross_entropy' needs at least 2 output units, got "
                             f"{n_outputs}; use 'sigmoid_binary_cross_entropy' for one unit")

    def targets(self, y: ArrayLike, n: int, n_outputs: int, dtype: DTypeLike, name: str = "y") -> NDArray[Any]:
        y = _checks.numeric_array(y, name)
        _first_dimension(y, n, name)
        if y.ndim == 2:
            if y.shape[1] != n_outputs:
                raise ValueError(f"{name} as a 2-D array of class probabilities must have shape "
                                 f"({n}, {n_outputs}), got shape {y.shape}")
            y = _real_targets(y, dtype, name)
            if y.size and y.min() < 0:
                raise ValueError(f"{name} as class probabilities must be >= 0, found {y.min()}")
            return y
        if y.ndim != 1:
            raise ValueError(f"{name} must be 1-D integer labels or 2-D class probabilities, got shape {y.shape}")
        if y.dtype.kind == "f":
            _checks.finite(y, name)
            if not np.array_equal(y, np.round(y)):
                raise ValueError(f"{name} must hold integer class labels, got non-integral values")
        if y.size and (y.min() < 0 or y.max() >= n_outputs):
            bad = y.min() if y.min() < 0 else y.max()
            raise ValueError(f"{name} must hold labels in [0, {n_outputs}) for a network with "
                             f"{n_outputs} outputs, found {bad}")
        return y.astype(np.intp)

    def __call__(self, backend: ModuleType, O: NDArray[Any], y: NDArray[Any]) -> tuple[float, NDArray[Any]]:
        return backend.softmax_cross_entropy(O, y)

    def proba(self, backend: ModuleType, O: NDArray[Any]) -> NDArray[Any]:
        """Class probabilities: the softmax of each row of O.

        Parameters
        ----------
        backend : module
            :mod:`fastnn.ops` or :mod:`fastnn.reference`.
        O : numpy.ndarray of shape (N, D_out)
            The network's output.

        Returns
        -------
        numpy.ndarray of shape (N, D_out)
        """
        return backend.softmax(O)

    def predict(self, O: NDArray[Any]) -> NDArray[Any]:
        """The predicted labels: the index of each row's largest score.

        Parameters
        ----------
        O : numpy.ndarray of shape (N, D_out)

        Returns
        -------
        numpy.ndarray of shape (N,)
        """
        return O.argmax(axis=1)

    def correct(self, O: NDArray[Any], y: NDArray[Any]) -> int:
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        return int((O.argmax(axis=1) == labels).sum())


class SigmoidBinaryCrossEntropy(Loss):
    """Binary cross-entropy (log-loss) of sigmoid output units on the network's scores.

    One output unit with labels 0/1 (or probabilities in [0, 1]), or K units
    with K such labels per sample (multilabel). The kernel is
    ``sigmoid_binary_cross_entropy``.
    """
    name = "sigmoid_binary_cross_entropy"
    classification = True

    def check_outputs(self, n_outputs: int) -> None:
        if n_outputs != 1:
            raise ValueError(f"loss 'sigmoid_binary_cross_entropy' needs exactly 1 output unit, got {n_outputs}")

    def targets(self, y: ArrayLike, n: int, n_outputs: int, dtype: DTypeLike, name: str = "y") -> NDArray[Any]:
        y = _checks.numeric_array(y, name)
        _first_dimension(y, n, name)
        if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            raise ValueError(f"{name} must have shape ({n},) or ({n}, 1), got shape {y.shape}")
        _checks.finite(y, name)
        if y.size and not np.isin(y, (0, 1)).all():
            bad = y[~np.isin(y, (0, 1))].flat[0]
            raise ValueError(f"{name} must hold binary labels 0 or 1, found {bad}")
        return y.reshape(n, 1).astype(dtype)

    def __call__(self, backend: ModuleType, O: NDArray[Any], y: NDArray[Any]) -> tuple[float, NDArray[Any]]:
        return backend.sigmoid_binary_cross_entropy(O, y)

    def proba(self, backend: ModuleType, O: NDArray[Any]) -> NDArray[Any]:
        """P(y = 1) of each unit: the sigmoid of the output.

        Parameters
        ----------
        backend : module
            :mod:`fastnn.ops` or :mod:`fastnn.reference`.
        O : numpy.ndarray of shape (N, K)

        Returns
        -------
        numpy.ndarray of shape (N, K)
        """
        # The reference's 1 / (1 + e^-o) overflows e^-o to inf for o below about -88 (float32)
        # or -710 (float64) and gives the right 0; NumPy's warning about it is noise here.
        with np.errstate(over="ignore"):
            return backend.activation_forward("sigmoid", O)

    def predict(self, O: NDArray[Any]) -> NDArray[Any]:
        """The predicted labels: 1 where the score is positive, else 0.

        Parameters
        ----------
        O : numpy.ndarray of shape (N, K)

        Returns
        -------
        numpy.ndarray
        """
        return (O[:, 0] > 0).astype(np.intp)

    def correct(self, O: NDArray[Any], y: NDArray[Any]) -> int:
        return int((self.predict(O) == y[:, 0]).sum())


class MSE(Loss):
    """Half the squared error, 1/2 ||y - o||^2, averaged over the samples (regression).

    The lecture notes' E_p, and scikit-learn's MLPRegressor loss. The targets are
    real numbers of shape (N, D_out), or (N,) for one output. The kernel is ``mse``.
    """
    name = "mse"

    def targets(self, y: ArrayLike, n: int, n_outputs: int, dtype: DTypeLike, name: str = "y") -> NDArray[Any]:
        y = _checks.numeric_array(y, name)
        _first_dimension(y, n, name)
        if y.ndim == 1 and n_outputs == 1:
            y = y.reshape(n, 1)
        if y.ndim != 2 or y.shape[1] != n_outputs:
            raise ValueError(f"{name} must have shape ({n}, {n_outputs}) to match the network's "
                             f"{n_outputs} outputs, got shape {y.shape}")
        return _real_targets(y, dtype, name)

    def __call__(self, backend: ModuleType, O: NDArray[Any], y: NDArray[Any]) -> tuple[float, NDArray[Any]]:
        return backend.mse(O, y)

    def predict(self, O: NDArray[Any]) -> NDArray[Any]:
        """The predictions: the output itself.

        Parameters
        ----------
        O : numpy.ndarray of shape (N, D_out)

        Returns
        -------
        numpy.ndarray of shape (N, D_out)
        """
        return O


def r2_score(y: ArrayLike, O: ArrayLike) -> float:
    """The coefficient of determination of outputs O for targets y.

    As :func:`sklearn.metrics.r2_score` (``multioutput="uniform_average"``)
    computes it. Per column j, R^2_j = 1 - sum_i (y_ij - o_ij)^2 /
    sum_i (y_ij - mean_i y_ij)^2, in float64; a constant column scores 1 when O
    matches it exactly and 0 otherwise.

    Parameters
    ----------
    y : array_like of shape (N, D)
        The targets.
    O : array_like of shape (N, D)
        The outputs.

    Returns
    -------
    float
        The mean of R^2_j over the columns.

    Examples
    --------
    >>> from fastnn.losses import r2_score
    >>> r2_score([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]])
    0.5
    """
    y = np.asarray(y, dtype=np.float64)
    O = np.asarray(O, dtype=np.float64)
    residual = ((y - O) ** 2).sum(axis=0)
    total = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(total != 0, 1.0 - residual / np.where(total != 0, total, 1.0), np.where(residual == 0, 1.0, 0.0))
    return float(r2.mean())


_LOSSES = {cls.name: cls for cls in (SoftmaxCrossEntropy, SigmoidBinaryCrossEntropy, MSE)}
NAMES = tuple(_LOSSES)


def get(spec: str | Loss, name: str = "loss") -> Loss:
    """A loss from its name or as given.

    Parameters
    ----------
    spec : str or Loss
        One of :data:`NAMES`, or a Loss instance, returned as it is.
    name : str, default "loss"
        The argument's name in error messages.

    Returns
    -------
    Loss

    Raises
    ------
    TypeError
        spec is neither a string nor a Loss.
    ValueError
        An unknown name.

    Examples
    --------
    >>> from fastnn import losses
    >>> losses.get("mse").name
    'mse'
    """
    return _checks.named(spec, name, _LOSSES, Loss)
