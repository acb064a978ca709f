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
log(1 + e^-|o|)). "mse" compares whatever the last layer outputs.

A loss holds its name and its checks of the targets; the maths is the
backend's kernels (``fastnn.ops`` or ``fastnn.reference``):
``softmax_cross_entropy``, ``sigmoid_binary_cross_entropy``, ``mse``, and for
the probabilities ``softmax`` and the "sigmoid" activation.
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["Loss", "SoftmaxCrossEntropy", "SigmoidBinaryCrossEntropy", "MSE", "get", "NAMES", "r2_score"]


class Loss:
    name = ""
    classification = False

    def check_outputs(self, n_outputs):
        """Raise ValueError if a network with ``n_outputs`` output units cannot use this loss."""

    def targets(self, y, n, n_outputs, dtype, name="y"):
        """Validate and convert targets for ``n`` samples; raise before anything is trained."""
        raise NotImplementedError

    def __call__(self, backend, O, y):
        """(loss as a scalar of O's dtype, dLoss/dO), from the kernels of ``backend``."""
        raise NotImplementedError

    def correct(self, O, y):
        """Number of correctly classified samples (classification losses only)."""
        raise NotImplementedError

    def __repr__(self):
        return f"fastnn.losses.get({self.name!r})"

    def __reduce__(self):
        return (get, (self.name,))


def _first_dimension(y, n, name):
    if y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"{name} must have {n} rows to match X's {n} samples, got shape {y.shape}")


def _real_targets(y, dtype, name):
    """y in the model's dtype, finite before and after the cast (1e39 is finite in float64
    but becomes inf in float32, which training would take)."""
    _checks.finite(y, name)
    with np.errstate(over="ignore"):  # an overflow is reported below, as a ValueError
        cast = y.astype(dtype)
    if cast.dtype != y.dtype:
        _checks.finite(cast, f"{name} in {cast.dtype.name}")
    return cast


class SoftmaxCrossEntropy(Loss):
    name = "softmax_cross_entropy"
    classification = True

    def check_outputs(self, n_outputs):
        if n_outputs < 2:
            raise ValueError("loss 'softmax_cross_entropy' needs at least 2 output units, got "
                             f"{n_outputs}; use 'sigmoid_binary_cross_entropy' for one unit")

    def targets(self, y, n, n_outputs, dtype, name="y"):
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

    def __call__(self, backend, O, y):
        return backend.softmax_cross_entropy(O, y)

    def proba(self, backend, O):
        """Class probabilities: the softmax of each row of O."""
        return backend.softmax(O)

    def predict(self, O):
        return O.argmax(axis=1)

    def correct(self, O, y):
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        return int((O.argmax(axis=1) == labels).sum())


class SigmoidBinaryCrossEntropy(Loss):
    name = "sigmoid_binary_cross_entropy"
    classification = True

    def check_outputs(self, n_outputs):
        if n_outputs != 1:
            raise ValueError(f"loss 'sigmoid_binary_cross_entropy' needs exactly 1 output unit, got {n_outputs}")

    def targets(self, y, n, n_outputs, dtype, name="y"):
        y = _checks.numeric_array(y, name)
        _first_dimension(y, n, name)
        if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            raise ValueError(f"{name} must have shape ({n},) or ({n}, 1), got shape {y.shape}")
        _checks.finite(y, name)
        if y.size and not np.isin(y, (0, 1)).all():
            bad = y[~np.isin(y, (0, 1))].flat[0]
            raise ValueError(f"{name} must hold binary labels 0 or 1, found {bad}")
        return y.reshape(n, 1).astype(dtype)

    def __call__(self, backend, O, y):
        return backend.sigmoid_binary_cross_entropy(O, y)

    def proba(self, backend, O):
        """P(y = 1) as (N, 1): the sigmoid of the output."""
        # The reference's 1 / (1 + e^-o) overflows e^-o to inf for o below about -88 (float32)
        # or -710 (float64) and gives the right 0; NumPy's warning about it is noise here.
        with np.errstate(over="ignore"):
            return backend.activation_forward("sigmoid", O)

    def predict(self, O):
        return (O[:, 0] > 0).astype(np.intp)

    def correct(self, O, y):
        return int((self.predict(O) == y[:, 0]).sum())


class MSE(Loss):
    name = "mse"

    def targets(self, y, n, n_outputs, dtype, name="y"):
        y = _checks.numeric_array(y, name)
        _first_dimension(y, n, name)
        if y.ndim == 1 and n_outputs == 1:
            y = y.reshape(n, 1)
        if y.ndim != 2 or y.shape[1] != n_outputs:
            raise ValueError(f"{name} must have shape ({n}, {n_outputs}) to match the network's "
                             f"{n_outputs} outputs, got shape {y.shape}")
        return _real_targets(y, dtype, name)

    def __call__(self, backend, O, y):
        return backend.mse(O, y)

    def predict(self, O):
        return O


def r2_score(y, O):
    """The coefficient of determination of outputs O for targets y, both (N, D), as
    :func:`sklearn.metrics.r2_score` (multioutput="uniform_average") computes it.

    Per column j: R^2_j = 1 - sum_i (y_ij - o_ij)^2 / sum_i (y_ij - mean_i y_ij)^2, in float64;
    a constant column scores 1 when O matches it exactly and 0 otherwise. Returns the mean
    over the columns.

    Parameters
    ----------
    y, O : ndarray, (N, D)

    Returns
    -------
    float
    """
    y = np.asarray(y, dtype=np.float64)
    O = np.asarray(O, dtype=np.float64)
    residual = ((y - O) ** 2).sum(axis=0)
    total = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(total != 0, 1.0 - residual / np.where(total != 0, total, 1.0), np.where(residual == 0, 1.0, 0.0))
    return float(r2.mean())


_LOSSES = {cls.name: cls for cls in (SoftmaxCrossEntropy, SigmoidBinaryCrossEntropy, MSE)}
NAMES = tuple(_LOSSES)


def get(spec, name="loss"):
    """A loss from its name (or a Loss instance, returned as is)."""
    return _checks.named(spec, name, _LOSSES, Loss)
