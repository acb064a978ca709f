"""Data utilities: scalers, one-hot labels, splits, mini-batches, and data-set loaders.

Loaders return raw arrays: X as uint8 (N, features) for the image sets (convert
with ``X.astype(np.float32) / 255`` or a scaler) and y as int64 labels.
"""

from __future__ import annotations

import gzip
import io as _io
import numbers
import os
import pickle
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _checks

if TYPE_CHECKING:
    from typing_extensions import Self

# what the image loaders return: uint8 pixels, one row per image, and int64 labels
_Images = tuple[NDArray[np.uint8], NDArray[np.int64]]

__all__ = [
    "Standardizer", "MinMaxScaler", "one_hot", "train_test_split", "batches", "batch_bounds",
    "load_cifar10_binary", "load_cifar10_python", "load_cifar10", "load_mnist", "load_digits",
]


# ------------------------------------------------------------------ scalers
class _Scaler:
    if TYPE_CHECKING:
        # what the subclasses define: their fit computes the statistics transform applies
        offset_: NDArray[Any]
        scale_: NDArray[Any]

        def fit(self, X: ArrayLike) -> Self: ...

    def _check(self, X, name="X", fitted=True) -> NDArray[Any]:
        X = _checks.numeric_array(X, name)
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-dimensional (samples are rows), got shape {X.shape}")
        _checks.finite(X, name)
        if fitted:
            if not hasattr(self, "scale_"):
                raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(X) first")
            if X.shape[1] != self.scale_.shape[0]:
                raise ValueError(f"{name} must have {self.scale_.shape[0]} columns as the data fitted, "
                                 f"got shape {X.shape}")
        return X

    def fit_transform(self, X: ArrayLike) -> NDArray[Any]:
        """Fit to X, then transform it.

        Parameters
        ----------
        X : array_like of shape (N, D)

        Returns
        -------
        numpy.ndarray of shape (N, D)
        """
        return self.fit(X).transform(X)

    def _out_dtype(self, X):
        return X.dtype if X.dtype.kind == "f" else np.float64

    def transform(self, X: ArrayLike) -> NDArray[Any]:
        """Scale X with the statistics of the fitted data.

        Parameters
        ----------
        X : array_like of shape (N, D)
            D must be the fitted data's number of columns.

        Returns
        -------
        numpy.ndarray of shape (N, D)
            Of X's dtype when X is float, else float64.

        Raises
        ------
        RuntimeError
            The scaler is not fitted.
        ValueError
            X has the wrong shape or is not finite.
        """
        X = self._check(X)
        return ((X - self.offset_) / self.scale_).astype(self._out_dtype(X), copy=False)

    def inverse_transform(self, Z: ArrayLike) -> NDArray[Any]:
        """Undo :meth:`transform`.

        Parameters
        ----------
        Z : array_like of shape (N, D)

        Returns
        -------
        numpy.ndarray of shape (N, D)

        Raises
        ------
        RuntimeError
            The scaler is not fitted.
        ValueError
            Z has the wrong shape or is not finite.
        """
        Z = self._check(Z, "Z")
        return (Z * self.scale_ + self.offset_).astype(self._out_dtype(Z), copy=False)


class Standardizer(_Scaler):
    """Standardise each column: z = (x - mean) / std, std the population standard deviation.

    The standard normalisation of the lecture notes on data normalisation. A
    constant column has std 0: it is divided by 1 instead (it becomes 0), as
    scikit-learn's StandardScaler does. Statistics are computed in float64.

    Attributes
    ----------
    mean_, std_ : numpy.ndarray of shape (D,)
        The fitted data's column means and standard deviations.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.data import Standardizer
    >>> X = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> Standardizer().fit(X).transform(X)
    array([[-1., -1.],
           [ 1.,  1.]])
    """

    def fit(self, X: ArrayLike) -> Self:
        """Compute each column's mean and standard deviation.

        Parameters
        ----------
        X : array_like of shape (N, D)
            The data, samples as rows, finite, N >= 1.

        Returns
        -------
        self
            The fitted scaler.

        Raises
        ------
        ValueError
            X is not 2-D, holds a NaN or an infinity, or has no sample.
        """
        X = self._check(X, fitted=False)
        if X.shape[0] == 0:
            raise ValueError("X must hold at least one sample to fit a Standardizer")
        X64 = X.astype(np.float64)
        self.mean_ = X64.mean(axis=0)
        self.std_ = X64.std(axis=0)
        self.offset_ = self.mean_
        self.scale_ = np.where(self.std_ > 0, self.std_, 1.0)
        return self


class MinMaxScaler(_Scaler):
    """Scale each column into ``feature_range``: z = (x - min) / (max - min), then stretched.

    A constant column has range 0: it is divided by 1 instead (it maps to the
    lower end of the range), as scikit-learn's MinMaxScaler does.

    Parameters
    ----------
    feature_range : tuple of float, default (0.0, 1.0)
        (low, high) with low < high.

    Attributes
    ----------
    min_, max_ : numpy.ndarray of shape (D,)
        The fitted data's column minima and maxima.

    Raises
    ------
    TypeError, ValueError
        feature_range is not two numbers with low < high.
    """

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        lo, hi = (_checks.real(v, "feature_range") for v in feature_range)
        if not lo < hi:
            raise ValueError(f"feature_range must be (low, high) with low < high, got {feature_range}")
        self.feature_range = (lo, hi)

    def fit(self, X: ArrayLike) -> Self:
        """Compute each column's minimum and maximum.

        Parameters
        ----------
        X : array_like of shape (N, D)
            The data, samples as rows, finite, N >= 1.

        Returns
        -------
        self
            The fitted scaler.

        Raises
        ------
        ValueError
            X is not 2-D, holds a NaN or an infinity, or has no sample.
        """
        X = self._check(X, fitted=False)
        if X.shape[0] == 0:
            raise ValueError("X must hold at least one sample to fit a MinMaxScaler")
        X64 = X.astype(np.float64)
        self.min_, self.max_ = X64.min(axis=0), X64.max(axis=0)
        data_range = self.max_ - self.min_
        lo, hi = self.feature_range
        # x -> (x - min) / range * (hi - lo) + lo, written as (x - offset) / scale
        self.scale_ = np.where(data_range > 0, data_range, 1.0) / (hi - lo)
        self.offset_ = self.min_ - lo * self.scale_
        return self


# ------------------------------------------------------------------ labels and splits
def one_hot(y: ArrayLike, num_classes: int | None = None, dtype: DTypeLike = np.float64) -> NDArray[Any]:
    """One-hot rows: a 1 in column y[i] of row i, 0 elsewhere.

    Parameters
    ----------
    y : array_like of shape (N,)
        Integer class labels (a float array of whole numbers is accepted).
    num_classes : int, optional
        The number of columns; by default max(y) + 1.
    dtype : dtype, default numpy.float64
        The result's dtype.

    Returns
    -------
    numpy.ndarray of shape (N, num_classes)

    Raises
    ------
    ValueError
        y is not 1-D, holds a non-integral value, or a label outside [0, num_classes).

    Examples
    --------
    >>> from fastnn.data import one_hot
    >>> one_hot([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    y = _checks.numeric_array(y, "y")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {y.shape}")
    if y.dtype.kind == "f":
        _checks.finite(y, "y")
        if not np.array_equal(y, np.round(y)):
            raise ValueError("y must hold integer class labels, got non-integral values")
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    num_classes = _checks.integer(num_classes, "num_classes", minimum=0)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y must hold labels in [0, {num_classes}), found {y.min() if y.min() < 0 else y.max()}")
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


def train_test_split(X: ArrayLike, y: ArrayLike, test_size: float = 0.25, stratify: bool = False, shuffle: bool = True,
                     seed: int | None = None) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Split samples into a training and a test set, in scikit-learn's order of results.

    Parameters
    ----------
    X : array_like of shape (N, ...)
        The samples, as rows.
    y : array_like of shape (N, ...)
        Their targets.
    test_size : float or int, default 0.25
        A fraction in (0, 1), of which the test set gets ceil(test_size * N)
        samples (as scikit-learn), or a number of samples.
    stratify : bool, default False
        Keep each class's share of y in both parts (per-class test counts by
        largest remainder).
    shuffle : bool, default True
        Draw the split at random; False takes the last samples as the test set.
    seed : int, optional
        The seed of the random split.

    Returns
    -------
    X_train, X_test, y_train, y_test : numpy.ndarray

    Raises
    ------
    TypeError, ValueError
        X and y of different lengths, or a test_size that leaves either part empty.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.data import train_test_split
    >>> X_tr, X_te, y_tr, y_te = train_test_split(np.zeros((10, 2)), np.arange(10), test_size=0.3, seed=0)
    >>> X_tr.shape, X_te.shape
    ((7, 2), (3, 2))
    """
    X = np.asarray(X)
    y = np.asarray(y)
    n = X.shape[0] if X.ndim else 0
    if X.ndim == 0 or y.ndim == 0 or y.shape[0] != n:
        raise ValueError(f"X and y must have the same number of rows, got shapes {X.shape} and {y.shape}")
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, (bool, np.bool_)):
        n_test = _checks.integer(test_size, "test_size", minimum=1)
    else:
        frac = _checks.real(test_size, "test_size", low=0.0, high=1.0, low_open=True, high_open=True)
        n_test = int(np.ceil(frac * n))
    if not 1 <= n_test < n:
        raise ValueError(f"test_size must leave at least one sample in each part, got {n_test} of {n} for testing")
    stratify = _checks.boolean(stratify, "stratify")
    shuffle = _checks.boolean(shuffle, "shuffle")
    rng = np.random.default_rng(_checks.seed(seed))
    if stratify:
        if not shuffle:
            raise ValueError("stratify=True needs shuffle=True")
        test = _stratified_test_indices(y, n_test, rng)
    else:
        order = rng.permutation(n) if shuffle else np.arange(n)
        test = order[n - n_test:]
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    train_idx, test_idx = np.flatnonzero(~mask), np.flatnonzero(mask)
    if shuffle:
        train_idx, test_idx = rng.permutation(train_idx), rng.permutation(test_idx)
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


def _stratified_test_indices(y, n_test, rng):
    if y.ndim != 1:
        raise ValueError(f"stratify=True needs 1-D class labels y, got shape {y.shape}")
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = counts * n_test / y.shape[0]
    per_class = np.floor(exact).astype(int)
    # hand out what flooring left over to the largest remainders (ties: the larger class first)
    left = n_test - per_class.sum()
    order = np.lexsort((-counts, -(exact - per_class)))
    per_class[order[:left]] += 1
    test = [rng.permutation(np.flatnonzero(inverse == c))[:k] for c, k in enumerate(per_class)]
    return np.concatenate(test)


# ------------------------------------------------------------------ mini-batches
def batch_bounds(n: int, batch_size: int, merge_last: bool = False) -> list[tuple[int, int]]:
    """The (start, stop) bounds of the mini-batches covering range(n).

    Parameters
    ----------
    n : int
        The number of samples.
    batch_size : int
        The batch size, >= 1.
    merge_last : bool, default False
        A short last batch joins the one before it, unless it is the only batch
        (models with batch norm use this, so that no batch is tiny).

    Returns
    -------
    list of tuple of int

    Examples
    --------
    >>> from fastnn.data import batch_bounds
    >>> batch_bounds(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    >>> batch_bounds(10, 4, merge_last=True)
    [(0, 4), (4, 10)]
    """
    starts = list(range(0, n, batch_size))
    bounds = [(s, min(s + batch_size, n)) for s in starts]
    if merge_last and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < batch_size:
        last = bounds.pop()
        bounds[-1] = (bounds[-1][0], last[1])
    return bounds


def batches(X: ArrayLike, y: ArrayLike | None = None, batch_size: int = 32, shuffle: bool = False,
            seed: int | None = None, drop_last: bool = False) -> Iterator[Any]:
    """Iterate over the rows of X (and y) in mini-batches.

    Parameters
    ----------
    X : array_like of shape (N, ...)
        The samples, as rows.
    y : array_like of shape (N, ...), optional
        Their targets.
    batch_size : int, default 32
        Rows per batch, >= 1.
    shuffle : bool, default False
        Visit the rows in an order drawn from ``seed`` (one permutation per call).
    seed : int, optional
        The seed of the order.
    drop_last : bool, default False
        Leave out a last batch shorter than batch_size.

    Yields
    ------
    X_batch or (X_batch, y_batch) : numpy.ndarray
        A tuple when y is given.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.data import batches
    >>> [len(xb) for xb in batches(np.zeros((5, 2)), batch_size=2)]
    [2, 2, 1]
    """
    X = np.asarray(X)
    batch_size = _checks.integer(batch_size, "batch_size", minimum=1)
    n = X.shape[0]
    if y is not None:
        y = np.asarray(y)
        if y.shape[:1] != (n,):
            raise ValueError(f"y must have {n} rows to match X, got shape {y.shape}")
    order = np.random.default_rng(_checks.seed(seed)).permutation(n) if _checks.boolean(shuffle, "shuffle") \
        else np.arange(n)
    for start, stop in batch_bounds(n, batch_size):
        if drop_last and stop - start < batch_size:
            return
        idx = order[start:stop]
        yield X[idx] if y is None else (X[idx], y[idx])


# ------------------------------------------------------------------ loaders
def _read_bytes(path):
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot be read: {exc}") from None


def _paths(paths):
    if isinstance(paths, (str, bytes, os.PathLike)):
        return [paths]
    paths = list(paths)
    if not paths:
        raise ValueError("paths must name at least one file")
    return paths


def load_cifar10_binary(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> _Images:
    """Read CIFAR-10 binary batches (data_batch_1.bin ...).

    Each record is 1 label byte and 3072 pixel bytes. Several files are
    concatenated in the order given.

    Parameters
    ----------
    paths : str or os.PathLike, or a list of them
        The batch files.

    Returns
    -------
    X : numpy.ndarray of shape (N, 3072), uint8
        The red, green and blue 32x32 planes of each image.
    y : numpy.ndarray of shape (N,), int64
        The labels.

    Raises
    ------
    ValueError
        A file is not a whole number of records, or holds a label above 9.
    OSError
        A file cannot be read.
    """
    Xs, ys = [], []
    for path in _paths(paths):
        raw = np.frombuffer(_read_bytes(path), dtype=np.uint8)
        if raw.size == 0 or raw.size % 3073:
            raise ValueError(f"{os.fspath(path)}: not a CIFAR-10 binary batch (size {raw.size} bytes is not a "
                             "positive multiple of 3073)")
        records = raw.reshape(-1, 3073)
        if records[:, 0].max() > 9:
            raise ValueError(f"{os.fspath(path)}: not a CIFAR-10 binary batch (label {records[:, 0].max()} > 9)")
        ys.append(records[:, 0].astype(np.int64))
        Xs.append(records[:, 1:].copy())
    return np.concatenate(Xs), np.concatenate(ys)


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Builds only NumPy arrays (and dtypes/scalars), lists, dicts, str, bytes and numbers."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),  # protocol 5
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in protocol 2 pickles
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only arrays, lists, dicts, "
                                     "str, bytes and numbers are allowed")


def load_cifar10_python(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> _Images:
    """Read CIFAR-10 "python version" batches (pickled dicts with data and labels).

    The pickle is read with a restricted unpickler that can build only NumPy
    arrays, lists, dicts, str, bytes and numbers: a file that asks for any other
    object is refused with a ValueError, so loading cannot run code.

    Parameters
    ----------
    paths : str or os.PathLike, or a list of them
        The batch files.

    Returns
    -------
    X : numpy.ndarray of shape (N, 3072), uint8
    y : numpy.ndarray of shape (N,), int64

    Raises
    ------
    ValueError
        A file is not such a batch, or asks for another kind of object.
    OSError
        A file cannot be read.
    """
    Xs, ys = [], []
    for path in _paths(paths):
        name = os.fspath(path)
        try:
            batch = _ArraysOnlyUnpickler(_io.BytesIO(_read_bytes(path)), encoding="bytes").load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise ValueError(f"{name}: not a CIFAR-10 python batch: {exc}") from None
        if not isinstance(batch, dict):
            raise ValueError(f"{name}: not a CIFAR-10 python batch (holds {type(batch).__name__}, not a dict)")
        batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
        if "data" not in batch or "labels" not in batch:
            raise ValueError(f"{name}: not a CIFAR-10 python batch (keys {sorted(map(str, batch))})")
        X = np.asarray(batch["data"])
        y = np.asarray(batch["labels"])
        if X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != 3072 or y.shape != (X.shape[0],) \
                or y.dtype.kind not in "iu":
            raise ValueError(f"{name}: not a CIFAR-10 python batch (data {X.dtype} {X.shape}, labels {y.shape})")
        Xs.append(X)
        ys.append(y.astype(np.int64))
    return np.concatenate(Xs), np.concatenate(ys)


CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"


def load_cifar10(directory: str | os.PathLike[str]) -> tuple[NDArray[np.uint8], NDArray[np.int64],
                                                           NDArray[np.uint8], NDArray[np.int64]]:
    """CIFAR-10 from the folder of its "python version": the five training batches and the test batch.

    Reads ``data_batch_1`` ... ``data_batch_5`` and ``test_batch`` in ``directory``
    (the files of ``cifar-10-batches-py``; each may also be gzipped, with ``.gz``
    appended) with :func:`load_cifar10_python`.

    Parameters
    ----------
    directory : str or os.PathLike
        The folder that holds the six batch files.

    Returns
    -------
    X_train : numpy.ndarray, uint8 (50000, 3072)
        The training images in file order, each row the red, green and blue 32x32 planes.
    y_train : numpy.ndarray, int64 (50000,)
    X_test : numpy.ndarray, uint8 (10000, 3072)
    y_test : numpy.ndarray, int64 (10000,)

    Raises
    ------
    FileNotFoundError
        ``directory`` is not a folder, or some of the six files are not in it (all are named).
    ValueError
        A file is not a CIFAR-10 python batch.

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = load_cifar10("cifar-10-batches-py")  # doctest: +SKIP
    >>> X_train.shape, X_test.shape  # doctest: +SKIP
    ((50000, 3072), (10000, 3072))
    """
    folder = os.fspath(directory)
    expected = ", ".join(CIFAR10_TRAIN_FILES + (CIFAR10_TEST_FILE,))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder!r} is not a folder; CIFAR-10's python version is a folder holding {expected} "
                                "(cifar-10-batches-py, unpacked from cifar-10-python.tar.gz)")

    def path(name):
        plain = os.path.join(folder, name)
        return plain if os.path.exists(plain) or not os.path.exists(plain + ".gz") else plain + ".gz"

    names = CIFAR10_TRAIN_FILES + (CIFAR10_TEST_FILE,)
    missing = [name for name in names if not os.path.isfile(path(name))]
    if missing:
        raise FileNotFoundError(f"{folder!r} lacks {', '.join(missing)}: CIFAR-10's python version is a folder holding "
                                f"{expected} (cifar-10-batches-py, unpacked from cifar-10-python.tar.gz)")
    X_train, y_train = load_cifar10_python([path(name) for name in CIFAR10_TRAIN_FILES])
    X_test, y_test = load_cifar10_python(path(CIFAR10_TEST_FILE))
    return X_train, y_train, X_test, y_test


def _read_idx(path, ndim):
    name = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4 + 4 * ndim or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != ndim:
        raise ValueError(f"{name}: not an IDX file of unsigned bytes with {ndim} dimension(s)")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{name}: IDX header says {dims} = {int(np.prod(dims))} values, the file holds {body.size}")
    return body.reshape(dims)


def load_mnist(images_path: str | os.PathLike[str],
               labels_path: str | os.PathLike[str]) -> _Images:
    """Read MNIST IDX files (optionally gzip-compressed).

    Parameters
    ----------
    images_path : str or os.PathLike
        The images file (train-images-idx3-ubyte[.gz] ...).
    labels_path : str or os.PathLike
        The labels file.

    Returns
    -------
    X : numpy.ndarray of shape (N, rows * cols), uint8
    y : numpy.ndarray of shape (N,), int64

    Raises
    ------
    ValueError
        A file is not an IDX file of the expected kind, or the counts differ.
    OSError
        A file cannot be read.
    """
    images = _read_idx(images_path, 3)
    labels = _read_idx(labels_path, 1)
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"{os.fspath(labels_path)}: {labels.shape[0]} labels for {images.shape[0]} images "
                         f"in {os.fspath(images_path)}")
    return images.reshape(images.shape[0], -1).copy(), labels.astype(np.int64)


def load_digits() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """scikit-learn's 8x8 handwritten digits.

    Needs scikit-learn (``pip install scikit-learn``, or ``pip install '.[datasets]'``
    in fastnn's source folder).

    Returns
    -------
    X : numpy.ndarray of shape (1797, 64), float64
        Pixel values 0..16.
    y : numpy.ndarray of shape (1797,), int64

    Raises
    ------
    ImportError
        scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError:
        raise ImportError("load_digits needs scikit-learn: pip install scikit-learn "
                          "(or, in fastnn's source folder, pip install '.[datasets]')") from None
    digits = _sk_load_digits()
    return digits.data.astype(np.float64), digits.target.astype(np.int64)
