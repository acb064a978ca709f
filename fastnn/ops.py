"""The compiled kernels: same names, signatures and results as :mod:`fastnn.reference`.

Each function checks its arguments (the same checks as the reference, from
:mod:`fastnn._validation`), hands NumPy views to C without copying where the
kernel can read them in place (any strides for the matrix products; any row
stride with contiguous columns for the elementwise kernels), copies once
otherwise, and runs the C kernel with the GIL released, its rows split over
OpenMP threads. Results are new C-ordered arrays of the input dtype; the
optimiser updates change their parameter and state arrays in place (through
views, never through copies) and return None.

The docstrings are shared: each kernel's is its twin's in :mod:`fastnn.reference`
(the maths, the arguments, the errors), with a note on the compiled version after
the summary.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

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


def linear_forward(X: ArrayLike, W: ArrayLike, b: ArrayLike) -> NDArray[Any]:
    """The compiled kernel: ``fnn_linear_forward`` (csrc/linear.c): the blocked, packed GEMM,
    with the bias added in its epilogue; X and W are read in place with any strides.
    """
    X, W, b = check.linear_forward_args(X, W, b)
    return _ops.linear_forward(_strided(X), _strided(W), _vector(b))


def linear_backward(dS: ArrayLike, X: ArrayLike, W: ArrayLike) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """The compiled kernel: ``fnn_linear_backward`` (csrc/linear.c): dX and dW by the GEMM,
    which reads the transposes in place; db by a column sum.
    """
    dS, X, W = check.linear_backward_args(dS, X, W)
    return _ops.linear_backward(_strided(dS), _strided(X), _strided(W))


def dense_forward(X: ArrayLike, W: ArrayLike, b: ArrayLike | None, activation: str,
                  alpha: float | None = None) -> tuple[NDArray[Any], NDArray[Any]]:
    """The compiled kernel: ``fnn_dense_forward`` (csrc/linear.c): f is applied to each tile of
    S in the GEMM's epilogue, while the tile is still in cache, instead of in a second sweep
    over S.
    """
    X, W, b, activation, alpha = check.dense_forward_args(X, W, b, activation, alpha)
    bias = None if b is None else _vector(b)
    return _ops.dense_forward(_ops.ACTIVATION_CODES[activation], _strided(X), _strided(W), bias, alpha)


def activation_forward(name: str, S: ArrayLike, alpha: float | None = None) -> NDArray[Any]:
    """The compiled kernel: ``fnn_activation_forward`` (csrc/activation.c), with fastnn's
    vector math for the exponentials and logarithms; S is read in place with any row stride.
    """
    name, S, alpha = check.activation_forward_args(name, S, alpha)
    return _ops.activation_forward(_ops.ACTIVATION_CODES[name], _rows(S), alpha)


def activation_backward(name: str, dH: ArrayLike, H: ArrayLike, alpha: float | None = None) -> NDArray[Any]:
    """The compiled kernel: ``fnn_activation_backward`` (csrc/activation.c); dH and H are read
    in place with any row stride.
    """
    name, dH, H, alpha = check.activation_backward_args(name, dH, H, alpha)
    return _ops.activation_backward(_ops.ACTIVATION_CODES[name], _rows(dH), _rows(H), alpha)


def batchnorm_forward(S: ArrayLike, gamma: ArrayLike, beta: ArrayLike,
                      eps: float = 1e-5) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """The compiled kernel: ``fnn_batchnorm_forward`` (csrc/batchnorm.c)."""
    S, gamma, beta, eps = check.batchnorm_forward_args(S, gamma, beta, eps)
    return _ops.batchnorm_forward(_rows(S), _vector(gamma), _vector(beta), eps)


def batchnorm_backward(dY: ArrayLike, S: ArrayLike, gamma: ArrayLike, mean: ArrayLike, var: ArrayLike,
                       eps: float = 1e-5) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """The compiled kernel: ``fnn_batchnorm_backward`` (csrc/batchnorm.c)."""
    dY, S, gamma, mean, var, eps = check.batchnorm_backward_args(dY, S, gamma, mean, var, eps)
    return _ops.batchnorm_backward(
        _rows(dY), _rows(S), _vector(gamma), _vector(mean), _vector(var), eps
    )


def softmax_cross_entropy(S: ArrayLike, y: ArrayLike) -> tuple[Any, NDArray[Any]]:
    """The compiled kernel: ``fnn_softmax_cross_entropy`` for labels,
    ``fnn_softmax_cross_entropy_soft`` for class probabilities (csrc/loss.c).
    """
    S, y = check.softmax_cross_entropy_args(S, y)
    if y.ndim == 2:
        return _ops.softmax_cross_entropy_soft(_rows(S), _rows(y))
    return _ops.softmax_cross_entropy(_rows(S), _contiguous(y, dtype=np.int64))


def dropout_forward(H: ArrayLike, p: float, seed: int, step: int) -> NDArray[Any]:
    """The compiled kernel: ``fnn_dropout_forward`` (csrc/dropout.c): the mask is drawn again
    inside the kernel from the counter, element by element, and never stored.
    """
    H, p, seed, step = check.dropout_args(H, p, seed, step, "H")
    return _ops.dropout_forward(_rows(H), p, seed, step)


def dropout_backward(dY: ArrayLike, p: float, seed: int, step: int) -> NDArray[Any]:
    """The compiled kernel: ``fnn_dropout_backward`` (csrc/dropout.c), the mask drawn again as
    in the forward pass.
    """
    dY, p, seed, step = check.dropout_args(dY, p, seed, step, "dY")
    return _ops.dropout_backward(_rows(dY), p, seed, step)


def maxout_forward(S: ArrayLike, k: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """The compiled kernel: ``fnn_maxout_forward`` (csrc/maxout.c)."""
    S, k = check.maxout_forward_args(S, k)
    return _ops.maxout_forward(_rows(S), k)


def maxout_backward(dH: ArrayLike, winner: ArrayLike, k: int) -> NDArray[Any]:
    """The compiled kernel: ``fnn_maxout_backward`` (csrc/maxout.c)."""
    dH, winner, k = check.maxout_backward_args(dH, winner, k)
    return _ops.maxout_backward(_rows(dH), _rows(winner), k)


def batchnorm_running_update(running_mean: NDArray[Any], running_var: NDArray[Any], mean: ArrayLike, var: ArrayLike,
                             n: int, momentum: float, unbiased: bool) -> None:
    """The compiled kernel: ``fnn_batchnorm_running_update`` (csrc/batchnorm.c); a strided view
    is updated through a contiguous copy.
    """
    running_mean, running_var, mean, var, n, momentum, unbiased = check.batchnorm_running_update_args(
        running_mean, running_var, mean, var, n, momentum, unbiased)
    live = (running_mean, running_var)
    work = tuple(_contiguous(a) for a in live)
    _ops.batchnorm_running_update(work[0], work[1], _vector(mean), _vector(var), n, momentum, unbiased)
    for target, result in zip(live, work):
        if result is not target:
            target[...] = result


def batchnorm_inference_forward(S: ArrayLike, gamma: ArrayLike, beta: ArrayLike, running_mean: ArrayLike,
                                running_var: ArrayLike, eps: float = 1e-5) -> NDArray[Any]:
    """The compiled kernel: ``fnn_batchnorm_inference_forward`` (csrc/batchnorm.c)."""
    S, gamma, beta, running_mean, running_var, eps = check.batchnorm_inference_forward_args(
        S, gamma, beta, running_mean, running_var, eps)
    return _ops.batchnorm_inference_forward(_rows(S), _vector(gamma), _vector(beta), _vector(running_mean),
                                            _vector(running_var), eps)


def batchnorm_inference_backward(dY: ArrayLike, S: ArrayLike, gamma: ArrayLike, running_mean: ArrayLike,
                                 running_var: ArrayLike,
                                 eps: float = 1e-5) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """The compiled kernel: ``fnn_batchnorm_inference_backward`` (csrc/batchnorm.c)."""
    dY, S, gamma, running_mean, running_var, eps = check.batchnorm_inference_backward_args(
        dY, S, gamma, running_mean, running_var, eps)
    return _ops.batchnorm_inference_backward(_rows(dY), _rows(S), _vector(gamma), _vector(running_mean),
                                             _vector(running_var), eps)


def sigmoid_binary_cross_entropy(S: ArrayLike, y: ArrayLike) -> tuple[Any, NDArray[Any]]:
    """The compiled kernel: ``fnn_sigmoid_binary_cross_entropy`` (csrc/loss.c)."""
    S, y = check.sigmoid_binary_cross_entropy_args(S, y)
    return _ops.sigmoid_binary_cross_entropy(_rows(S), _rows(y))


def mse(O: ArrayLike, Y: ArrayLike) -> tuple[Any, NDArray[Any]]:
    """The compiled kernel: ``fnn_mse`` (csrc/loss.c)."""
    O, Y = check.mse_args(O, Y)
    return _ops.mse(_rows(O), _rows(Y))


def softmax(S: ArrayLike) -> NDArray[Any]:
    """The compiled kernel: ``fnn_softmax`` (csrc/loss.c)."""
    S = check.softmax_args(S)
    return _ops.softmax(_rows(S))


# ---- optimiser updates and the L2 term: elementwise over a parameter, threads over fixed
# ranges of its elements. Parameters are 1- or 2-dimensional; the updates work in place. ----

def sgd_update(param: NDArray[Any], grad: ArrayLike, momentum_buffer: NDArray[Any] | None, lr: float,
               momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False, first_step: bool = False,
               l2: float = 0.0) -> None:
    """The compiled kernel: ``fnn_sgd_update`` (csrc/optim.c), through views of the arrays: an
    array updated in place must have one axis along which it is contiguous, the same for all
    of them, or a ValueError says so (it is never copied).
    """
    param, grad, buf, lr, momentum, dampening, nesterov, first_step, l2 = check.sgd_update_args(
        param, grad, momentum_buffer, lr, momentum, dampening, nesterov, first_step, l2)
    (p, b), g = _in_place(("param", "momentum_buffer"), (param, buf), grad)
    _ops.sgd_update(p, g, b, lr, momentum, dampening, nesterov, first_step, l2)


def adagrad_update(param: NDArray[Any], grad: ArrayLike, state_sum: NDArray[Any], lr: float, step: int,
                   lr_decay: float = 0.0, eps: float = 1e-10, l2: float = 0.0) -> None:
    """The compiled kernel: ``fnn_adagrad_update`` (csrc/optim.c), through views of the arrays,
    as :func:`sgd_update`.
    """
    param, grad, s, lr, step, lr_decay, eps, l2 = check.adagrad_update_args(
        param, grad, state_sum, lr, step, lr_decay, eps, l2)
    (p, s), g = _in_place(("param", "state_sum"), (param, s), grad)
    _ops.adagrad_update(p, g, s, lr, step, lr_decay, eps, l2)


def rmsprop_update(param: NDArray[Any], grad: ArrayLike, square_avg: NDArray[Any], grad_avg: NDArray[Any] | None,
                   momentum_buffer: NDArray[Any] | None, lr: float, alpha: float | None = 0.99, eps: float = 1e-8,
                   momentum: float = 0.0, centered: bool = False, l2: float = 0.0) -> None:
    """The compiled kernel: ``fnn_rmsprop_update`` (csrc/optim.c), through views of the arrays,
    as :func:`sgd_update`.
    """
    param, grad, a, m, b, lr, alpha, eps, momentum, centered, l2 = check.rmsprop_update_args(
        param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, momentum, centered, l2)
    (p, a, m, b), g = _in_place(("param", "square_avg", "grad_avg", "momentum_buffer"), (param, a, m, b), grad)
    _ops.rmsprop_update(p, g, a, m, b, lr, alpha, eps, momentum, centered, l2)


def adam_update(param: NDArray[Any], grad: ArrayLike, m: NDArray[Any], v: NDArray[Any], lr: float, step: int,
                beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, l2: float = 0.0) -> None:
    """The compiled kernel: ``fnn_adam_update`` (csrc/optim.c), through views of the arrays, as
    :func:`sgd_update`.
    """
    param, grad, m, v, lr, step, beta1, beta2, eps, l2 = check.adam_update_args(
        param, grad, m, v, lr, step, beta1, beta2, eps, l2)
    (p, m, v), g = _in_place(("param", "m", "v"), (param, m, v), grad)
    _ops.adam_update(p, g, m, v, lr, step, beta1, beta2, eps, l2)


def l2_penalty(W: ArrayLike, l2: float) -> float:
    """The compiled kernel: ``fnn_l2_penalty`` (csrc/optim.c): the squares are summed in double
    in the elements' row-major order, so any layout of the same values gives the same float.
    """
    W, l2 = check.l2_penalty_args(W, l2)
    return _ops.l2_penalty(_rows(_matrix(W)), l2)


def l2_gradient(dW: ArrayLike, W: ArrayLike, l2: float) -> NDArray[Any]:
    """The compiled kernel: ``fnn_l2_gradient`` (csrc/optim.c): element for element what the
    updates add when given l2; a copy of dW when l2 is 0.
    """
    dW, W, l2 = check.l2_gradient_args(dW, W, l2)
    return _ops.l2_gradient(_rows(_matrix(dW)), _rows(_matrix(W)), l2).reshape(W.shape)


def clip_grad_norm(grads: list[NDArray[Any]], max_norm: float) -> float:
    """The compiled kernel: ``fnn_clip_grad_norm`` (csrc/optim.c); an array that is not
    C-contiguous is copied, clipped and copied back.
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


def _share_docstring(kernel, twin) -> None:
    """Give ``kernel`` the docstring of its NumPy twin, with the kernel's own note.

    The maths, the arguments, the results and the errors of a kernel pair are
    described once, in fastnn/reference.py. Each function here keeps only a note
    on how the compiled version runs; it goes after the twin's summary, and the
    twin's examples import from fastnn.ops instead (the same results: the tests
    compare the pair).
    """
    if twin.__doc__ is None:  # python -OO: no docstrings to share
        return
    text = inspect.cleandoc(twin.__doc__)
    summary, _, rest = text.partition("\n\n")
    note = inspect.cleandoc(kernel.__doc__ or "")
    rest = rest.replace("from fastnn.reference import", "from fastnn.ops import")
    kernel.__doc__ = f"{summary}\n\n{note}\n\n{rest}" if rest else f"{summary}\n\n{note}"


for _name in __all__:
    _share_docstring(globals()[_name], getattr(reference, _name))
del _name
