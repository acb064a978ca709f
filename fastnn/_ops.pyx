# cython: language_level=3
"""The only Cython in fastnn: take checked arrays, pick the dtype, drop the GIL, call C.

Arguments reaching these functions have been validated and, where the kernel
needs it, made contiguous along columns by :mod:`fastnn.ops`. Each function is
also callable directly (tests use them as the compiled twins of
:mod:`fastnn.reference`); called that way it still refuses shapes that would make
C read or write outside an array (ValueError), but gives terser messages.
"""

from cython cimport floating
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset

import enum

import numpy as np

from fastnn._fastnn cimport *


# ---- the C enums, for Python ----

class LayerKind(enum.IntEnum):
    """enum fnn_layer_kind: the kinds of layer the training engine runs."""
    DENSE = FNN_LAYER_DENSE
    BATCHNORM = FNN_LAYER_BATCHNORM
    ACTIVATION = FNN_LAYER_ACTIVATION
    DROPOUT = FNN_LAYER_DROPOUT
    MAXOUT = FNN_LAYER_MAXOUT


class LossKind(enum.IntEnum):
    """enum fnn_loss_kind: the losses the training engine computes."""
    SOFTMAX_CE = FNN_LOSS_SOFTMAX_CE
    SOFTMAX_CE_SOFT = FNN_LOSS_SOFTMAX_CE_SOFT
    SIGMOID_BCE = FNN_LOSS_SIGMOID_BCE
    MSE = FNN_LOSS_MSE


class OptimizerKind(enum.IntEnum):
    """enum fnn_optimizer_kind: the optimisers the training engine updates with."""
    SGD = FNN_OPT_SGD
    ADAGRAD = FNN_OPT_ADAGRAD
    RMSPROP = FNN_OPT_RMSPROP
    ADAM = FNN_OPT_ADAM


def _activation_table():
    """(names in code order, {name: default alpha} of those that take alpha), from fastnn.h's
    table FNN_ACTIVATIONS."""
    cdef const char *name
    cdef int takes_alpha
    cdef double default_alpha
    names, defaults = [], {}
    for code in range(FNN_ACTIVATION_COUNT):
        if fnn_activation_info(code, &name, &takes_alpha, &default_alpha) != FNN_OK:
            raise RuntimeError(f"fastnn: fnn_activation_info refused activation code {code}")
        text = name.decode()
        names.append(text)
        if takes_alpha:
            defaults[text] = default_alpha
    return tuple(names), defaults


#: the activations' names, in the order of their codes (fastnn.h's FNN_ACTIVATIONS); with
#: DEFAULT_ALPHA, alpha's default for those that take one. Every list of activations in
#: fastnn and its tests is this one.
ACTIVATIONS, DEFAULT_ALPHA = _activation_table()
#: name -> the code the kernels take
ACTIVATION_CODES = {name: code for code, name in enumerate(ACTIVATIONS)}
SIMD_LEVELS = tuple(fnn_simd_name(level).decode() for level in range(FNN_SIMD_AVX512 + 1))
_VMATH_CODES = {"exp": FNN_VMATH_EXP, "expm1": FNN_VMATH_EXPM1, "log": FNN_VMATH_LOG,
                "tanh": FNN_VMATH_TANH, "sigmoid": FNN_VMATH_SIGMOID, "log1p": FNN_VMATH_LOG1P}
#: the functions of the vector math library (fastnn.h's enum fnn_vmath_function)
VMATH_FUNCTIONS = tuple(_VMATH_CODES)

class NonFiniteBatch(ValueError):
    """A batch that TrainingEngine.run checked held a NaN or an infinity (fit then names it)."""


class NonFiniteStep(ArithmeticError):
    """TrainingEngine.run(stop_nonfinite=1 or 2) stopped at a step whose loss, updated parameter or
    batch-norm running statistic is not finite. ``losses`` and ``correct`` hold the run's steps
    up to that one (its loss included); the steps before it are done, that one is partly done."""

    def __init__(self, losses, correct):
        super().__init__("fastnn: a training step's loss or an updated parameter is not finite")
        self.losses, self.correct = losses, correct


cdef inline int _check(int status) except -1:
    if status == FNN_OK:
        return 0
    if status == FNN_ENONFINITE:
        raise NonFiniteBatch("fastnn: a checked batch of the data holds a NaN or an infinity")
    if status == FNN_ENOMEM:
        raise MemoryError("fastnn: a kernel workspace could not be allocated")
    if status == FNN_EINVAL:
        raise ValueError("fastnn: a kernel rejected its arguments (a label out of range, "
                         "or a size the kernel cannot take)")
    raise RuntimeError(f"fastnn: unexpected kernel status {status}")


cdef inline int _need(bint ok, str what) except -1:
    if not ok:
        raise ValueError(f"fastnn._ops: {what}")
    return 0


# The pointer argument only selects the fused specialisation; it is never read.
cdef inline object _dtype(floating *tag):
    if floating is float:
        return np.float32
    else:
        return np.float64


# Element strides of a memoryview (its byte strides divided by the item size;
# fastnn.ops hands over only views whose strides are whole elements).
cdef inline fnn_index _rs(const floating[:, :] a) noexcept nogil:
    return a.strides[0] // <fnn_index>sizeof(floating)

cdef inline fnn_index _cs(const floating[:, :] a) noexcept nogil:
    return a.strides[1] // <fnn_index>sizeof(floating)


# ---- runtime ----

def has_openmp():
    return bool(fnn_has_openmp())

def get_num_threads():
    return fnn_get_num_threads()

def set_num_threads(int n):
    fnn_set_num_threads(n)

def probe_round_trip(int runs, long trips):
    """(median ns, first CPU, second CPU) of a cache line's round trip between two pinned
    threads (fnn_probe_round_trip), or None when nothing was measured (fewer than two
    CPUs in the affinity mask, or no affinity masks on this platform)."""
    cdef double ns = 0
    cdef int first = -1, second = -1
    cdef int status
    with nogil:
        status = fnn_probe_round_trip(runs, trips, &ns, &first, &second)
    _check(status)
    if first < 0:
        return None
    return ns, first, second

def default_threads(int allowed_cpus, int physical_cores, double cpu_quota):
    """The default thread count from its facts (fnn_default_threads)."""
    return fnn_default_threads(allowed_cpus, physical_cores, cpu_quota)

def system_default_threads():
    """The default thread count on this machine, read now (fnn_system_default_threads)."""
    return fnn_system_default_threads()

def simd_level():
    """Name of the SIMD level the GEMM micro-kernels use."""
    return fnn_simd_name(fnn_simd_level()).decode()

def simd_supported():
    """Names of the SIMD levels this CPU can run, lowest first."""
    return [SIMD_LEVELS[i] for i in range(len(SIMD_LEVELS)) if fnn_simd_supported(i)]

def set_simd_level(str name):
    """Force a SIMD level (for tests and comparisons); ValueError if this CPU lacks it."""
    if name not in SIMD_LEVELS:
        raise ValueError(f"name must be one of {SIMD_LEVELS}, got {name!r}")
    if fnn_set_simd_level(SIMD_LEVELS.index(name)) != FNN_OK:
        raise ValueError(f"this CPU cannot run the {name!r} kernels; it supports {simd_supported()}")

def compiler():
    return fnn_compiler().decode()

def build_cflags():
    return fnn_build_cflags().decode()


def solo_rule_replay(reports):
    """Test hook for the rule that runs jobs alone while helper threads come late.

    Parameters
    ----------
    reports : sequence of (nthreads, helped, pieces)
        Reports of parallel jobs, in order: the team's size, the pieces of work its
        helper threads (every thread but the caller) did, and all its pieces.

    Returns
    -------
    list of int
        For each report, the number of jobs the rule then runs on the calling thread
        alone (0 when it keeps the team). The rule starts and ends in its fresh state.

    Raises
    ------
    ValueError
        If a report is not three integers, or its counts are out of range.
    """
    rows = [tuple(r) for r in reports]
    for r in rows:
        _need(len(r) == 3, f"each report is (nthreads, helped, pieces), got {r!r}")
        _need(r[0] >= 1 and 0 <= r[1] <= r[2], f"a report needs nthreads >= 1 and 0 <= helped <= pieces, got {r!r}")
    cdef fnn_index count = len(rows)
    cdef int[::1] nthreads = np.array([r[0] for r in rows] or [0], dtype=np.intc)
    cdef fnn_index[::1] helped = np.array([r[1] for r in rows] or [0], dtype=np.intp)
    cdef fnn_index[::1] pieces = np.array([r[2] for r in rows] or [0], dtype=np.intp)
    alone = np.zeros(max(count, 1), dtype=np.intc)
    cdef int[::1] out = alone
    _check(fnn_solo_rule_replay(count, &nthreads[0], &helped[0], &pieces[0], &out[0]))
    return [int(a) for a in alone[:count]]


_THREAD_CHOICES = ("measure", "1", "all", "alternate")
_CHOICE_REASONS = ("measuring", "measured", "pinned", "one thread", "alternate")


def thread_choice():
    """The thread choice in force: "measure", "1", "all" (FASTNN_THREAD_CHOICE, read once,
    unless set_thread_choice set it since) or "alternate" (a test hook)."""
    return _THREAD_CHOICES[fnn_get_thread_choice()]


def set_thread_choice(str mode):
    """Pin the thread choice ("1", "all"), free it ("measure"), or switch at every step
    ("alternate", a test hook); the engines' choosers start again. A test hook."""
    _need(mode in _THREAD_CHOICES, f"mode must be one of {_THREAD_CHOICES}, got {mode!r}")
    _check(fnn_set_thread_choice(_THREAD_CHOICES.index(mode)))


cdef list _choice_rows(fnn_thread_choice *out, int count, str label):
    cdef double now = fnn_seconds()
    rows = []
    for i in range(count):
        rows.append({
            label: out[i].name.decode(),
            "threads": out[i].threads,
            "reason": _CHOICE_REASONS[out[i].reason],
            "measuring": out[i].measuring >= 0,
            "seconds_per_row_one": out[i].seconds_one,
            "seconds_per_row_all": out[i].seconds_all,
            "steps": out[i].steps,
            "measurements": out[i].measurements,
            "switches": out[i].switches,
            "seconds_since_decision": now - out[i].decided_at,
        })
    return rows


def engine_choices():
    """The training engines' thread choosers, most recently used first: a list of dicts
    (network, threads, reason, measuring, seconds per row on one thread and on all,
    steps, measurements, switches, seconds since the last decision)."""
    cdef fnn_thread_choice out[16]
    cdef int count = fnn_choice_report(out, 16)
    return _choice_rows(out, min(count, 16), "network")


def call_choices():
    """The thread choosers of kernels called one by one, most recently used first: a list
    of dicts as engine_choices gives, with "call" (kernel, type, sizes and thread count)
    in place of "network"; the seconds are per call."""
    cdef fnn_thread_choice out[FNN_CALL_CHOICES_KEPT]
    cdef int count = fnn_call_choice_report(out, FNN_CALL_CHOICES_KEPT)
    return _choice_rows(out, min(count, FNN_CALL_CHOICES_KEPT), "call")


def choice_replay(one, all, int threads=2):
    """Test hook for the engine's thread chooser: a fresh chooser for ``threads`` threads
    fed one step per entry, a step taking one[i] seconds on one thread and all[i] on all
    of them. Returns the thread count it gave each step.

    Raises
    ------
    ValueError
        If ``one`` and ``all`` differ in length, or ``threads`` < 1.
    """
    cdef double[::1] one_v = np.ascontiguousarray(one, dtype=np.float64).reshape(-1)
    cdef double[::1] all_v = np.ascontiguousarray(all, dtype=np.float64).reshape(-1)
    _need(one_v.shape[0] == all_v.shape[0], "one and all must have the same length")
    _need(threads >= 1, f"threads must be >= 1, got {threads}")
    cdef fnn_index count = one_v.shape[0]
    out = np.zeros(max(count, 1), dtype=np.intc)
    cdef int[::1] out_v = out
    if count == 0:
        return []
    _check(fnn_choice_replay(count, threads, &one_v[0], &all_v[0], &out_v[0]))
    return [int(t) for t in out[:count]]


def sync_counts(bint reset=True):
    """The synchronisations counted since the last reset, as a dict (regions, barriers,
    atomics, waits), or None in a build without -DFNN_COUNT_SYNCS. A diagnostic hook."""
    cdef int64_t out[4]
    if fnn_sync_counts(out, reset) != FNN_OK:
        return None
    return {"regions": out[0], "barriers": out[1], "atomics": out[2], "waits": out[3]}


# ---- kernels ----

def gemm(const floating[:, :] A, const floating[:, :] B):
    """C = A @ B through the blocked GEMM (any strides): a test hook for the driver."""
    cdef fnn_index m = A.shape[0], k = A.shape[1], n = B.shape[1]
    _need(B.shape[0] == k, f"inner dimensions differ: A is {A.shape[0]}x{k}, B is {B.shape[0]}x{n}")
    out = np.empty((m, n), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] C = out
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"gemm", sizeof(floating), m, k, n, m * <double>k * n / 16)
    with nogil:
        if floating is float:
            status = fnn_gemm_f32(m, n, k, &A[0, 0], _rs(A), _cs(A), &B[0, 0], _rs(B), _cs(B),
                                  &C[0, 0], n, NULL, 0)
        else:
            status = fnn_gemm_f64(m, n, k, &A[0, 0], _rs(A), _cs(A), &B[0, 0], _rs(B), _cs(B),
                                  &C[0, 0], n, NULL, 0)
    fnn_call_end(&call)
    _check(status)
    return out


def linear_forward(const floating[:, :] X, const floating[:, :] W, const floating[::1] b):
    cdef fnn_index n = X.shape[0], d_in = X.shape[1], d_out = W.shape[0]
    _need(W.shape[1] == d_in and b.shape[0] == d_out, "X, W and b shapes do not fit")
    out = np.empty((n, d_out), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] S = out
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"linear_forward", sizeof(floating), n, d_in, d_out, n * <double>d_in * d_out / 16)
    with nogil:
        if floating is float:
            status = fnn_linear_forward_f32(n, d_in, d_out, &X[0, 0], _rs(X), _cs(X),
                                            &W[0, 0], _rs(W), _cs(W), &b[0], &S[0, 0], d_out)
        else:
            status = fnn_linear_forward_f64(n, d_in, d_out, &X[0, 0], _rs(X), _cs(X),
                                            &W[0, 0], _rs(W), _cs(W), &b[0], &S[0, 0], d_out)
    fnn_call_end(&call)
    _check(status)
    return out


def dense_forward(int code, const floating[:, :] X, const floating[:, :] W,
                  const floating[::1] b, double alpha):
    """(S, H) = (X W^T + b, f(S)) with f applied in the GEMM's epilogue; b may be None."""
    cdef fnn_index n = X.shape[0], d_in = X.shape[1], d_out = W.shape[0]
    _need(W.shape[1] == d_in, "X and W shapes do not fit")
    _need(b is None or b.shape[0] == d_out, "b must have W.shape[0] entries")
    _need(0 <= code < len(ACTIVATION_CODES), "unknown activation code")
    dtype = _dtype(<floating *>NULL)
    S_arr = np.empty((n, d_out), dtype=dtype)
    H_arr = np.empty((n, d_out), dtype=dtype)
    cdef floating[:, ::1] S = S_arr
    cdef floating[:, ::1] H = H_arr
    cdef const floating *bias = NULL
    if b is not None:
        bias = &b[0]
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"dense_forward", sizeof(floating), n, d_in, d_out, n * <double>d_in * d_out / 16)
    with nogil:
        if floating is float:
            status = fnn_dense_forward_f32(n, d_in, d_out, &X[0, 0], _rs(X), _cs(X),
                                           &W[0, 0], _rs(W), _cs(W), bias, code, <float>alpha,
                                           &S[0, 0], d_out, &H[0, 0], d_out)
        else:
            status = fnn_dense_forward_f64(n, d_in, d_out, &X[0, 0], _rs(X), _cs(X),
                                           &W[0, 0], _rs(W), _cs(W), bias, code, alpha,
                                           &S[0, 0], d_out, &H[0, 0], d_out)
    fnn_call_end(&call)
    _check(status)
    return S_arr, H_arr


def linear_backward(const floating[:, :] dS, const floating[:, :] X, const floating[:, :] W):
    cdef fnn_index n = X.shape[0], d_in = X.shape[1], d_out = W.shape[0]
    _need(W.shape[1] == d_in and dS.shape[0] == n and dS.shape[1] == d_out,
          "dS, X and W shapes do not fit")
    dtype = _dtype(<floating *>NULL)
    dX_arr = np.empty((n, d_in), dtype=dtype)
    dW_arr = np.empty((d_out, d_in), dtype=dtype)
    db_arr = np.empty((d_out,), dtype=dtype)
    cdef floating[:, ::1] dX = dX_arr
    cdef floating[:, ::1] dW = dW_arr
    cdef floating[::1] db = db_arr
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"linear_backward", sizeof(floating), n, d_in, d_out, n * <double>d_in * d_out / 8)
    with nogil:
        if floating is float:
            status = fnn_linear_backward_f32(n, d_in, d_out, &dS[0, 0], _rs(dS), _cs(dS),
                                             &X[0, 0], _rs(X), _cs(X), &W[0, 0], _rs(W), _cs(W),
                                             &dX[0, 0], &dW[0, 0], &db[0])
        else:
            status = fnn_linear_backward_f64(n, d_in, d_out, &dS[0, 0], _rs(dS), _cs(dS),
                                             &X[0, 0], _rs(X), _cs(X), &W[0, 0], _rs(W), _cs(W),
                                             &dX[0, 0], &dW[0, 0], &db[0])
    fnn_call_end(&call)
    _check(status)
    return dX_arr, dW_arr, db_arr


def activation_forward(int code, const floating[:, :] S, double alpha):
    """S must have contiguous columns (row stride is free)."""
    cdef fnn_index n = S.shape[0], d = S.shape[1]
    _need(d <= 1 or _cs(S) == 1, "S needs contiguous columns")
    out = np.empty((n, d), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] H = out
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"activation_forward", sizeof(floating), n, d, code, <double>n * d)
    with nogil:
        if floating is float:
            status = fnn_activation_forward_f32(code, n, d, &S[0, 0], _rs(S), &H[0, 0], d,
                                                <float>alpha)
        else:
            status = fnn_activation_forward_f64(code, n, d, &S[0, 0], _rs(S), &H[0, 0], d, alpha)
    fnn_call_end(&call)
    _check(status)
    return out


def activation_backward(int code, const floating[:, :] dH, const floating[:, :] H, double alpha):
    """dH and H must have contiguous columns (row strides are free)."""
    cdef fnn_index n = H.shape[0], d = H.shape[1]
    _need(dH.shape[0] == n and dH.shape[1] == d, "dH and H shapes differ")
    _need(d <= 1 or (_cs(dH) == 1 and _cs(H) == 1), "dH and H need contiguous columns")
    out = np.empty((n, d), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] dS = out
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"activation_backward", sizeof(floating), n, d, code, <double>n * d)
    with nogil:
        if floating is float:
            status = fnn_activation_backward_f32(code, n, d, &dH[0, 0], _rs(dH), &H[0, 0], _rs(H),
                                                 &dS[0, 0], d, <float>alpha)
        else:
            status = fnn_activation_backward_f64(code, n, d, &dH[0, 0], _rs(dH), &H[0, 0], _rs(H),
                                                 &dS[0, 0], d, alpha)
    fnn_call_end(&call)
    _check(status)
    return out


def batchnorm_forward(const floating[:, :] S, const floating[::1] gamma,
                      const floating[::1] beta, double eps):
    """S must have contiguous columns and at least two rows."""
    cdef fnn_index n = S.shape[0], d = S.shape[1]
    _need(n >= 2 and gamma.shape[0] == d and beta.shape[0] == d, "S, gamma and beta do not fit")
    _need(d <= 1 or _cs(S) == 1, "S needs contiguous columns")
    dtype = _dtype(<floating *>NULL)
    Y_arr = np.empty((n, d), dtype=dtype)
    mean_arr = np.empty((d,), dtype=dtype)
    var_arr = np.empty((d,), dtype=dtype)
    cdef floating[:, ::1] Y = Y_arr
    cdef floating[::1] mean = mean_arr
    cdef floating[::1] var = var_arr
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"batchnorm_forward", sizeof(floating), n, d, 0, <double>n * d)
    with nogil:
        if floating is float:
            status = fnn_batchnorm_forward_f32(n, d, &S[0, 0], _rs(S), &gamma[0], &beta[0],
                                               <float>eps, &Y[0, 0], d, &mean[0], &var[0])
        else:
            status = fnn_batchnorm_forward_f64(n, d, &S[0, 0], _rs(S), &gamma[0], &beta[0],
                                               eps, &Y[0, 0], d, &mean[0], &var[0])
    fnn_call_end(&call)
    _check(status)
    return Y_arr, mean_arr, var_arr


def batchnorm_backward(const floating[:, :] dY, const floating[:, :] S,
                       const floating[::1] gamma, const floating[::1] mean,
                       const floating[::1] var, double eps):
    """dY and S must have contiguous columns and at least two rows."""
    cdef fnn_index n = S.shape[0], d = S.shape[1]
    _need(n >= 2 and dY.shape[0] == n and dY.shape[1] == d, "dY and S shapes differ")
    _need(gamma.shape[0] == d and mean.shape[0] == d and var.shape[0] == d,
          "gamma, mean and var must have S.shape[1] entries")
    _need(d <= 1 or (_cs(dY) == 1 and _cs(S) == 1), "dY and S need contiguous columns")
    dtype = _dtype(<floating *>NULL)
    dS_arr = np.empty((n, d), dtype=dtype)
    dgamma_arr = np.empty((d,), dtype=dtype)
    dbeta_arr = np.empty((d,), dtype=dtype)
    cdef floating[:, ::1] dS = dS_arr
    cdef floating[::1] dgamma = dgamma_arr
    cdef floating[::1] dbeta = dbeta_arr
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"batchnorm_backward", sizeof(floating), n, d, 0, <double>n * d)
    with nogil:
        if floating is float:
            status = fnn_batchnorm_backward_f32(n, d, &dY[0, 0], _rs(dY), &S[0, 0], _rs(S),
                                                &gamma[0], &mean[0], &var[0], <float>eps,
                                                &dS[0, 0], d, &dgamma[0], &dbeta[0])
        else:
            status = fnn_batchnorm_backward_f64(n, d, &dY[0, 0], _rs(dY), &S[0, 0], _rs(S),
                                                &gamma[0], &mean[0], &var[0], eps,
                                                &dS[0, 0], d, &dgamma[0], &dbeta[0])
    fnn_call_end(&call)
    _check(status)
    return dS_arr, dgamma_arr, dbeta_arr


def softmax_cross_entropy(const floating[:, :] S, const int64_t[::1] y):
    """S must have contiguous columns; labels must lie in [0, S.shape[1])."""
    cdef fnn_index n = S.shape[0], c = S.shape[1]
    _need(n >= 1 and c >= 1 and y.shape[0] == n, "S and y shapes do not fit")
    _need(c <= 1 or _cs(S) == 1, "S needs contiguous columns")
    dtype = _dtype(<floating *>NULL)
    dS_arr = np.empty((n, c), dtype=dtype)
    row_loss_arr = np.empty((n,), dtype=dtype)
    cdef floating[:, ::1] dS = dS_arr
    cdef floating[::1] row_loss = row_loss_arr
    cdef floating loss = 0
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"softmax_cross_entropy", sizeof(floating), n, c, 0, <double>n * c)
    with nogil:
        if floating is float:
            status = fnn_softmax_cross_entropy_f32(n, c, &S[0, 0], _rs(S), &y[0], &dS[0, 0], c,
                                                   &row_loss[0], &loss)
        else:
            status = fnn_softmax_cross_entropy_f64(n, c, &S[0, 0], _rs(S), &y[0], &dS[0, 0], c,
                                                   &row_loss[0], &loss)
    fnn_call_end(&call)
    _check(status)
    return dtype(loss), dS_arr


# ---- the losses and the softmax (loss.c) ----


def softmax_cross_entropy_soft(const floating[:, :] S, const floating[:, :] Y):
    """S and Y (class probabilities) of one shape, with contiguous columns."""
    cdef fnn_index n = S.shape[0], c = S.shape[1]
    _need(n >= 1 and c >= 1 and Y.shape[0] == n and Y.shape[1] == c, "S and Y shapes differ")
    _need(c <= 1 or (_cs(S) == 1 and _cs(Y) == 1), "S and Y need contiguous columns")
    dtype = _dtype(<floating *>NULL)
    dS_arr = np.empty((n, c), dtype=dtype)
    row_loss_arr = np.empty((n,), dtype=dtype)
    cdef floating[:, ::1] dS = dS_arr
    cdef floating[::1] row_loss = row_loss_arr
    cdef floating loss = 0
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"softmax_cross_entropy_soft", sizeof(floating), n, c, 0, <double>n * c)
    with nogil:
        if floating is float:
            status = fnn_softmax_cross_entropy_soft_f32(n, c, &S[0, 0], _rs(S), &Y[0, 0], _rs(Y),
                                                        &dS[0, 0], c, &row_loss[0], &loss)
        else:
            status = fnn_softmax_cross_entropy_soft_f64(n, c, &S[0, 0], _rs(S), &Y[0, 0], _rs(Y),
                                                        &dS[0, 0], c, &row_loss[0], &loss)
    fnn_call_end(&call)
    _check(status)
    return dtype(loss), dS_arr


def sigmoid_binary_cross_entropy(const floating[:, :] S, const floating[:, :] Y):
    """S (n, k) logits and Y (n, k) targets, any row strides, contiguous columns when k > 1."""
    cdef fnn_index n = S.shape[0], k = S.shape[1]
    _need(n >= 1 and k >= 1 and Y.shape[0] == n and Y.shape[1] == k, "S and Y shapes differ")
    _need(k <= 1 or (_cs(S) == 1 and _cs(Y) == 1), "S and Y need contiguous columns")
    dtype = _dtype(<floating *>NULL)
    dS_arr = np.empty((n, k), dtype=dtype)
    row_loss_arr = np.empty((n,), dtype=dtype)
    cdef floating[:, ::1] dS = dS_arr
    cdef floating[::1] row_loss = row_loss_arr
    cdef floating loss = 0
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"sigmoid_binary_cross_entropy", sizeof(floating), n, k, 0, <double>n * k)
    with nogil:
        if floating is float:
            status = fnn_sigmoid_binary_cross_entropy_f32(n, k, &S[0, 0], _rs(S), &Y[0, 0], _rs(Y),
                                                          &dS[0, 0], k, &row_loss[0], &loss)
        else:
            status = fnn_sigmoid_binary_cross_entropy_f64(n, k, &S[0, 0], _rs(S), &Y[0, 0], _rs(Y),
                                                          &dS[0, 0], k, &row_loss[0], &loss)
    fnn_call_end(&call)
    _check(status)
    return dtype(loss), dS_arr


def mse(const floating[:, :] O, const floating[:, :] Y):
    """O and Y of one shape, with contiguous columns."""
    cdef fnn_index n = O.shape[0], d = O.shape[1]
    _need(n >= 1 and d >= 1 and Y.shape[0] == n and Y.shape[1] == d, "O and Y shapes differ")
    _need(d <= 1 or (_cs(O) == 1 and _cs(Y) == 1), "O and Y need contiguous columns")
    dtype = _dtype(<floating *>NULL)
    dO_arr = np.empty((n, d), dtype=dtype)
    row_loss_arr = np.empty((n,), dtype=dtype)
    cdef floating[:, ::1] dO = dO_arr
    cdef floating[::1] row_loss = row_loss_arr
    cdef floating loss = 0
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"mse", sizeof(floating), n, d, 0, <double>n * d)
    with nogil:
        if floating is float:
            status = fnn_mse_f32(n, d, &O[0, 0], _rs(O), &Y[0, 0], _rs(Y), &dO[0, 0], d,
                                 &row_loss[0], &loss)
        else:
            status = fnn_mse_f64(n, d, &O[0, 0], _rs(O), &Y[0, 0], _rs(Y), &dO[0, 0], d,
                                 &row_loss[0], &loss)
    fnn_call_end(&call)
    _check(status)
    return dtype(loss), dO_arr


def softmax(const floating[:, :] S):
    """S must have contiguous columns and at least one column."""
    cdef fnn_index n = S.shape[0], c = S.shape[1]
    _need(c >= 1, "S needs at least one column")
    _need(c <= 1 or _cs(S) == 1, "S needs contiguous columns")
    out = np.empty((n, c), dtype=_dtype(<floating *>NULL))
    if n == 0:
        return out
    cdef floating[:, ::1] P = out
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"softmax", sizeof(floating), n, c, 0, <double>n * c)
    with nogil:
        if floating is float:
            status = fnn_softmax_f32(n, c, &S[0, 0], _rs(S), &P[0, 0], c)
        else:
            status = fnn_softmax_f64(n, c, &S[0, 0], _rs(S), &P[0, 0], c)
    fnn_call_end(&call)
    _check(status)
    return out


# ---- optimiser updates and the L2 term ----
#
# Every array is (n, d) with contiguous columns and any row stride; fastnn.ops
# brings 1-D and transposed arrays to that form. Updates change param and the
# state arrays in place and return None.

cdef inline int _like(const floating[:, :] a, fnn_index n, fnn_index d, str name) except -1:
    _need(a.shape[0] == n and a.shape[1] == d,
          f"{name} must have shape ({n}, {d}), got ({a.shape[0]}, {a.shape[1]})")
    _need(d <= 1 or _cs(a) == 1, f"{name} needs contiguous columns")
    return 0


def sgd_update(floating[:, :] param, const floating[:, :] grad, floating[:, :] momentum_buffer,
               double lr, double momentum, double dampening, bint nesterov, bint first_step,
               double l2):
    """fnn_sgd_update in place; momentum_buffer may be None when momentum is 0."""
    cdef fnn_index n = param.shape[0], d = param.shape[1]
    cdef floating *buf = NULL
    cdef fnn_index ldm = 0
    _like(param, n, d, "param")
    _like(grad, n, d, "grad")
    _need(momentum == 0.0 or momentum_buffer is not None, "momentum needs a momentum_buffer")
    if momentum_buffer is not None:
        _like(momentum_buffer, n, d, "momentum_buffer")
    if n == 0 or d == 0:
        return
    if momentum_buffer is not None:
        buf, ldm = &momentum_buffer[0, 0], _rs(momentum_buffer)
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"sgd_update", sizeof(floating), n, d, 0, 4.0 * n * d)
    with nogil:
        if floating is float:
            status = fnn_sgd_update_f32(n, d, &param[0, 0], _rs(param), &grad[0, 0], _rs(grad),
                                        buf, ldm, lr, momentum, dampening, nesterov, first_step, l2)
        else:
            status = fnn_sgd_update_f64(n, d, &param[0, 0], _rs(param), &grad[0, 0], _rs(grad),
                                        buf, ldm, lr, momentum, dampening, nesterov, first_step, l2)
    fnn_call_end(&call)
    _check(status)


def adagrad_update(floating[:, :] param, const floating[:, :] grad, floating[:, :] state_sum,
                   double lr, int64_t step, double lr_decay, double eps, double l2):
    """fnn_adagrad_update in place (step >= 1)."""
    cdef fnn_index n = param.shape[0], d = param.shape[1]
    _like(param, n, d, "param")
    _like(grad, n, d, "grad")
    _need(state_sum is not None, "AdaGrad needs state_sum")
    _like(state_sum, n, d, "state_sum")
    _need(step >= 1, "step counts from 1")
    if n == 0 or d == 0:
        return
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"adagrad_update", sizeof(floating), n, d, 0, 4.0 * n * d)
    with nogil:
        if floating is float:
            status = fnn_adagrad_update_f32(n, d, &param[0, 0], _rs(param), &grad[0, 0], _rs(grad),
                                            &state_sum[0, 0], _rs(state_sum), lr, step, lr_decay,
                                            eps, l2)
        else:
            status = fnn_adagrad_update_f64(n, d, &param[0, 0], _rs(param), &grad[0, 0], _rs(grad),
                                            &state_sum[0, 0], _rs(state_sum), lr, step, lr_decay,
                                            eps, l2)
    fnn_call_end(&call)
    _check(status)


def rmsprop_update(floating[:, :] param, const floating[:, :] grad, floating[:, :] square_avg,
                   floating[:, :] grad_avg, floating[:, :] momentum_buffer, double lr,
                   double alpha, double eps, double momentum, bint centered, double l2):
    """fnn_rmsprop_update in place; grad_avg (not centered) and momentum_buffer (momentum 0)
    may be None."""
    cdef fnn_index n = param.shape[0], d = param.shape[1]
    cdef floating *avg = NULL
    cdef floating *buf = NULL
    cdef fnn_index ldga = 0, ldm = 0
    _like(param, n, d, "param")
    _like(grad, n, d, "grad")
    _need(square_avg is not None, "RMSProp needs square_avg")
    _like(square_avg, n, d, "square_avg")
    _need(not centered or grad_avg is not None, "centered RMSProp needs grad_avg")
    _need(momentum <= 0.0 or momentum_buffer is not None, "momentum needs a momentum_buffer")
    if grad_avg is not None:
        _like(grad_avg, n, d, "grad_avg")
    if momentum_buffer is not None:
        _like(momentum_buffer, n, d, "momentum_buffer")
    if n == 0 or d == 0:
        return
    if grad_avg is not None:
        avg, ldga = &grad_avg[0, 0], _rs(grad_avg)
    if momentum_buffer is not None:
        buf, ldm = &momentum_buffer[0, 0], _rs(momentum_buffer)
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"rmsprop_update", sizeof(floating), n, d, 0, 4.0 * n * d)
    with nogil:
        if floating is float:
            status = fnn_rmsprop_update_f32(n, d, &param[0, 0], _rs(param), &grad[0, 0], _rs(grad),
                                            &square_avg[0, 0], _rs(square_avg), avg, ldga, buf, ldm,
                                            lr, alpha, eps, momentum, centered, l2)
        else:
            status = fnn_rmsprop_update_f64(n, d, &param[0, 0], _rs(param), &grad[0, 0], _rs(grad),
                                            &square_avg[0, 0], _rs(square_avg), avg, ldga, buf, ldm,
                                            lr, alpha, eps, momentum, centered, l2)
    fnn_call_end(&call)
    _check(status)


def adam_update(floating[:, :] param, const floating[:, :] grad, floating[:, :] m,
                floating[:, :] v, double lr, int64_t step, double beta1, double beta2, double eps,
                double l2):
    """fnn_adam_update in place (step >= 1)."""
    cdef fnn_index n = param.shape[0], d = param.shape[1]
    _like(param, n, d, "param")
    _like(grad, n, d, "grad")
    _need(m is not None and v is not None, "Adam needs m and v")
    _like(m, n, d, "m")
    _like(v, n, d, "v")
    _need(step >= 1, "step counts from 1")
    if n == 0 or d == 0:
        return
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"adam_update", sizeof(floating), n, d, 0, 4.0 * n * d)
    with nogil:
        if floating is float:
            status = fnn_adam_update_f32(n, d, &param[0, 0], _rs(param), &grad[0, 0], _rs(grad),
                                         &m[0, 0], _rs(m), &v[0, 0], _rs(v), lr, step, beta1, beta2,
                                         eps, l2)
        else:
            status = fnn_adam_update_f64(n, d, &param[0, 0], _rs(param), &grad[0, 0], _rs(grad),
                                         &m[0, 0], _rs(m), &v[0, 0], _rs(v), lr, step, beta1, beta2,
                                         eps, l2)
    fnn_call_end(&call)
    _check(status)


def l2_penalty(const floating[:, :] W, double l2):
    """l2 ||W||^2 as a float, summed in double in row-major order of the elements."""
    cdef fnn_index n = W.shape[0], d = W.shape[1]
    _need(d <= 1 or _cs(W) == 1, "W needs contiguous columns")
    cdef double penalty = 0.0
    if n == 0 or d == 0:
        return l2 * 0.0
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"l2_penalty", sizeof(floating), n, d, 0, <double>n * d)
    with nogil:
        if floating is float:
            status = fnn_l2_penalty_f32(n, d, &W[0, 0], _rs(W), l2, &penalty)
        else:
            status = fnn_l2_penalty_f64(n, d, &W[0, 0], _rs(W), l2, &penalty)
    fnn_call_end(&call)
    _check(status)
    return penalty


def l2_gradient(const floating[:, :] dW, const floating[:, :] W, double l2):
    """A new C-ordered dW + 2 l2 W (a copy of dW when l2 is 0)."""
    cdef fnn_index n = W.shape[0], d = W.shape[1]
    _like(W, n, d, "W")
    _like(dW, n, d, "dW")
    out = np.empty((n, d), dtype=_dtype(<floating *>NULL))
    if n == 0 or d == 0:
        return out
    cdef floating[:, ::1] O = out
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"l2_gradient", sizeof(floating), n, d, 0, <double>n * d)
    with nogil:
        if floating is float:
            status = fnn_l2_gradient_f32(n, d, &dW[0, 0], _rs(dW), &W[0, 0], _rs(W), l2,
                                         &O[0, 0], d)
        else:
            status = fnn_l2_gradient_f64(n, d, &dW[0, 0], _rs(dW), &W[0, 0], _rs(W), l2,
                                         &O[0, 0], d)
    fnn_call_end(&call)
    _check(status)
    return out


cdef double _clip_grad_norm(list grads, double max_norm, floating *tag) except? -1:
    """Clip the C-contiguous arrays ``grads`` (all of floating's type) together, in place;
    returns their global norm (fnn_clip_grad_norm)."""
    cdef int count = len(grads), k
    cdef fnn_index *sizes = <fnn_index *>calloc(max(count, 1), sizeof(fnn_index))
    cdef floating **ptrs = <floating **>calloc(max(count, 1), sizeof(floating *))
    cdef floating[::1] view
    cdef double norm = 0.0
    cdef int status
    if sizes == NULL or ptrs == NULL:
        free(sizes)
        free(ptrs)
        raise MemoryError("fastnn: no memory for the gradient table")
    try:
        for k in range(count):
            view = grads[k].reshape(-1)
            sizes[k] = view.shape[0]
            ptrs[k] = &view[0] if view.shape[0] > 0 else NULL
        with nogil:
            if floating is float:
                status = fnn_clip_grad_norm_f32(count, ptrs, sizes, max_norm, &norm)
            else:
                status = fnn_clip_grad_norm_f64(count, ptrs, sizes, max_norm, &norm)
        _check(status)
    finally:
        free(sizes)
        free(ptrs)
    return norm


def clip_grad_norm(list grads, double max_norm, dtype):
    """Clip the C-contiguous, writable arrays ``grads`` of ``dtype`` (float32 or float64)
    together, in place; returns their global norm."""
    if np.dtype(dtype) == np.float32:
        return _clip_grad_norm(grads, max_norm, <float *>NULL)
    return _clip_grad_norm(grads, max_norm, <double *>NULL)


def vmath(str name, const floating[::1] x):
    """f(x) elementwise with the kernels' own vector math, at the SIMD level in use.

    A test hook: the activations and the loss compute exp, expm1, log, log1p, tanh
    and sigmoid with these functions. Float32 results are within 4 ulp of the exact
    value and float64 results within 1e-14 relative error, over each function's
    whole range: exp overflows to inf and underflows to 0 (through the
    subnormals), NaN gives NaN, tanh(+-inf) = +-1, sigmoid(-inf) = 0,
    log1p(-1) = -inf, and expm1, log1p, tanh and sigmoid keep their relative
    accuracy near 0.
    """
    if name not in VMATH_FUNCTIONS:
        raise ValueError(f"name must be one of {VMATH_FUNCTIONS}, got {name!r}")
    cdef int fn = _VMATH_CODES[name]
    cdef fnn_index n = x.shape[0]
    out = np.empty((n,), dtype=_dtype(<floating *>NULL))
    if n == 0:
        return out
    cdef floating[::1] y = out
    cdef int status
    with nogil:
        if floating is float:
            status = fnn_vmath_f32(fn, n, &x[0], &y[0])
        else:
            status = fnn_vmath_f64(fn, n, &x[0], &y[0])
    _check(status)
    return out


# ---- layer kernels: dropout, maxout, batch norm's running statistics and eval mode ----

cdef inline int _dropout_args(const floating[:, :] A, double p, int64_t step) except -1:
    _need(A.shape[1] <= 1 or _cs(A) == 1, "dropout arrays need contiguous columns")
    _need(0.0 <= p < 1.0, "p must lie in [0, 1)")
    _need(step >= 0, "step must be >= 0")
    return 0


def dropout_forward(const floating[:, :] H, double p, uint64_t seed, int64_t step):
    """Y = H * keep / (1 - p) with the mask of (seed, step); H must have contiguous columns."""
    _dropout_args(H, p, step)
    cdef fnn_index n = H.shape[0], d = H.shape[1]
    out = np.empty((n, d), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] Y = out
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"dropout_forward", sizeof(floating), n, d, 0, 4.0 * n * d)
    with nogil:
        if floating is float:
            status = fnn_dropout_forward_f32(n, d, &H[0, 0], _rs(H), p, seed, step, &Y[0, 0], d)
        else:
            status = fnn_dropout_forward_f64(n, d, &H[0, 0], _rs(H), p, seed, step, &Y[0, 0], d)
    fnn_call_end(&call)
    _check(status)
    return out


def dropout_backward(const floating[:, :] dY, double p, uint64_t seed, int64_t step):
    """dH = dY * keep / (1 - p) with the forward pass's (seed, step); contiguous columns."""
    _dropout_args(dY, p, step)
    cdef fnn_index n = dY.shape[0], d = dY.shape[1]
    out = np.empty((n, d), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] dH = out
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"dropout_backward", sizeof(floating), n, d, 0, 4.0 * n * d)
    with nogil:
        if floating is float:
            status = fnn_dropout_backward_f32(n, d, &dY[0, 0], _rs(dY), p, seed, step,
                                              &dH[0, 0], d)
        else:
            status = fnn_dropout_backward_f64(n, d, &dY[0, 0], _rs(dY), p, seed, step,
                                              &dH[0, 0], d)
    fnn_call_end(&call)
    _check(status)
    return out


def maxout_forward(const floating[:, :] S, fnn_index k):
    """(H, winner) of S (n, d k); S must have contiguous columns."""
    _need(k >= 1 and S.shape[1] % k == 0, "S must have a multiple of k >= 1 columns")
    _need(S.shape[1] <= 1 or _cs(S) == 1, "S needs contiguous columns")
    cdef fnn_index n = S.shape[0], d = S.shape[1] // k
    H_arr = np.empty((n, d), dtype=_dtype(<floating *>NULL))
    winner_arr = np.empty((n, d), dtype=np.int64)
    cdef floating[:, ::1] H = H_arr
    cdef int64_t[:, ::1] winner = winner_arr
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"maxout_forward", sizeof(floating), n, d, k, <double>n * d * k)
    with nogil:
        if floating is float:
            status = fnn_maxout_forward_f32(n, d, k, &S[0, 0], _rs(S), &H[0, 0], d,
                                            &winner[0, 0], d)
        else:
            status = fnn_maxout_forward_f64(n, d, k, &S[0, 0], _rs(S), &H[0, 0], d,
                                            &winner[0, 0], d)
    fnn_call_end(&call)
    _check(status)
    return H_arr, winner_arr


def maxout_backward(const floating[:, :] dH, const int64_t[:, :] winner, fnn_index k):
    """dS (n, d k): dH at each winner, 0 elsewhere. dH and winner need contiguous columns;
    a winner outside [0, k) raises ValueError (C skips it rather than write outside dS)."""
    cdef fnn_index n = dH.shape[0], d = dH.shape[1]
    _need(k >= 1, "k must be >= 1")
    _need(winner.shape[0] == n and winner.shape[1] == d, "dH and winner shapes differ")
    _need(d <= 1 or (_cs(dH) == 1 and winner.strides[1] == sizeof(int64_t)),
          "dH and winner need contiguous columns")
    _need(winner.strides[0] % sizeof(int64_t) == 0, "winner rows must lie whole elements apart")
    out = np.empty((n, d * k), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] dS = out
    cdef fnn_index ldw = winner.strides[0] // <fnn_index>sizeof(int64_t)
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"maxout_backward", sizeof(floating), n, d, k, <double>n * d * k)
    with nogil:
        if floating is float:
            status = fnn_maxout_backward_f32(n, d, k, &dH[0, 0], _rs(dH), &winner[0, 0], ldw,
                                             &dS[0, 0], d * k)
        else:
            status = fnn_maxout_backward_f64(n, d, k, &dH[0, 0], _rs(dH), &winner[0, 0], ldw,
                                             &dS[0, 0], d * k)
    fnn_call_end(&call)
    _check(status)
    return out


def batchnorm_running_update(floating[::1] running_mean, floating[::1] running_var,
                             const floating[::1] mean, const floating[::1] var, fnn_index n,
                             double momentum, bint unbiased):
    """running = (1 - momentum) running + momentum batch, in place (contiguous vectors)."""
    cdef fnn_index d = running_mean.shape[0]
    _need(running_var.shape[0] == d and mean.shape[0] == d and var.shape[0] == d,
          "running_mean, running_var, mean and var must have one length")
    _need(n >= (2 if unbiased else 1), "n must be >= 2 for the unbiased variance, else >= 1")
    cdef int status
    with nogil:
        if floating is float:
            status = fnn_batchnorm_running_update_f32(d, &running_mean[0], &running_var[0],
                                                      &mean[0], &var[0], n, <float>momentum,
                                                      unbiased)
        else:
            status = fnn_batchnorm_running_update_f64(d, &running_mean[0], &running_var[0],
                                                      &mean[0], &var[0], n, momentum, unbiased)
    _check(status)


def batchnorm_inference_forward(const floating[:, :] S, const floating[::1] gamma,
                                const floating[::1] beta, const floating[::1] running_mean,
                                const floating[::1] running_var, double eps):
    """Y of eval mode; S must have contiguous columns (any number of rows)."""
    cdef fnn_index n = S.shape[0], d = S.shape[1]
    _need(gamma.shape[0] == d and beta.shape[0] == d and running_mean.shape[0] == d
          and running_var.shape[0] == d, "gamma, beta and the running statistics must fit S")
    _need(d <= 1 or _cs(S) == 1, "S needs contiguous columns")
    out = np.empty((n, d), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] Y = out
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"batchnorm_inference_forward", sizeof(floating), n, d, 0, <double>n * d)
    with nogil:
        if floating is float:
            status = fnn_batchnorm_inference_forward_f32(n, d, &S[0, 0], _rs(S), &gamma[0],
                                                         &beta[0], &running_mean[0],
                                                         &running_var[0], <float>eps, &Y[0, 0], d)
        else:
            status = fnn_batchnorm_inference_forward_f64(n, d, &S[0, 0], _rs(S), &gamma[0],
                                                         &beta[0], &running_mean[0],
                                                         &running_var[0], eps, &Y[0, 0], d)
    fnn_call_end(&call)
    _check(status)
    return out


def batchnorm_inference_backward(const floating[:, :] dY, const floating[:, :] S,
                                 const floating[::1] gamma, const floating[::1] running_mean,
                                 const floating[::1] running_var, double eps):
    """(dS, dgamma, dbeta) of eval mode; dY and S must have contiguous columns."""
    cdef fnn_index n = S.shape[0], d = S.shape[1]
    _need(dY.shape[0] == n and dY.shape[1] == d, "dY and S shapes differ")
    _need(gamma.shape[0] == d and running_mean.shape[0] == d and running_var.shape[0] == d,
          "gamma and the running statistics must have S.shape[1] entries")
    _need(d <= 1 or (_cs(dY) == 1 and _cs(S) == 1), "dY and S need contiguous columns")
    dtype = _dtype(<floating *>NULL)
    dS_arr = np.empty((n, d), dtype=dtype)
    dgamma_arr = np.empty((d,), dtype=dtype)
    dbeta_arr = np.empty((d,), dtype=dtype)
    cdef floating[:, ::1] dS = dS_arr
    cdef floating[::1] dgamma = dgamma_arr
    cdef floating[::1] dbeta = dbeta_arr
    cdef int status
    cdef fnn_call_choice call
    fnn_call_begin(&call, b"batchnorm_inference_backward", sizeof(floating), n, d, 0, <double>n * d)
    with nogil:
        if floating is float:
            status = fnn_batchnorm_inference_backward_f32(
                n, d, &dY[0, 0], _rs(dY), &S[0, 0], _rs(S), &gamma[0], &running_mean[0],
                &running_var[0], <float>eps, &dS[0, 0], d, &dgamma[0], &dbeta[0])
        else:
            status = fnn_batchnorm_inference_backward_f64(
                n, d, &dY[0, 0], _rs(dY), &S[0, 0], _rs(S), &gamma[0], &running_mean[0],
                &running_var[0], eps, &dS[0, 0], d, &dgamma[0], &dbeta[0])
    fnn_call_end(&call)
    _check(status)
    return dS_arr, dgamma_arr, dbeta_arr


# ---- checks ----

def all_finite(a):
    """Are all elements of the C-contiguous float32/float64 array ``a`` finite? One pass,
    threaded, no temporary (fit checks its data with it)."""
    _need(a.dtype in (np.float32, np.float64) and a.flags.c_contiguous,
          "all_finite takes C-contiguous float32 or float64 arrays")
    cdef fnn_index n = a.size
    cdef void *x = <void *><size_t>a.ctypes.data
    cdef bint is_double = a.dtype == np.float64
    cdef int result
    if n == 0:
        return True
    with nogil:
        if is_double:
            result = fnn_all_finite_f64(n, <const double *>x)
        else:
            result = fnn_all_finite_f32(n, <const float *>x)
    return result == 1


# ---- training engine ----

cdef inline void *_data(object a) except? NULL:
    """Address of a C-contiguous array's first element (None -> NULL)."""
    if a is None:
        return NULL
    if not a.flags.c_contiguous:
        raise ValueError("fastnn._ops: engine arrays must be C-contiguous")
    return <void *><size_t>a.ctypes.data


def _fields(dict values):
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


cdef class LayerSpec:
    """One layer of the engine's network (an fnn_layer), made by the constructor of its kind.

    Each constructor takes, as keyword arguments, exactly the fields of fnn_layer that
    its kind uses, and all of them: a misspelt or a missing one is a TypeError, so no
    field is ever filled in by a default. ``weight``, ``bias``, ``gamma`` and ``beta``
    are indices into the engine's list of parameters (``bias=-1``: a dense layer
    without bias). Layers that keep their width take ``features`` (their in_features
    and out_features).
    """
    cdef fnn_layer layer
    cdef readonly object running_mean, running_var
    cdef dict _given

    def __init__(self):
        raise TypeError("a LayerSpec is made by LayerSpec.dense, .maxout, .batchnorm, .activation "
                        "or .dropout")

    @staticmethod
    cdef LayerSpec _new(int kind, fnn_index in_features, fnn_index out_features, dict given):
        _need(in_features >= 1 and out_features >= 1, "a layer needs at least one input and one output")
        cdef LayerSpec spec = LayerSpec.__new__(LayerSpec)
        memset(&spec.layer, 0, sizeof(fnn_layer))
        spec.layer.kind = kind
        spec.layer.in_features = in_features
        spec.layer.out_features = out_features
        spec.layer.weight = spec.layer.bias = spec.layer.gamma = spec.layer.beta = -1
        spec._given = given
        return spec

    @staticmethod
    def dense(*, fnn_index in_features, fnn_index out_features, int weight, int bias):
        """S = X W^T + b: W is parameter ``weight``, b parameter ``bias`` (-1: none)."""
        cdef LayerSpec spec = LayerSpec._new(FNN_LAYER_DENSE, in_features, out_features, dict(
            in_features=in_features, out_features=out_features, weight=weight, bias=bias))
        spec.layer.weight, spec.layer.bias = weight, bias
        return spec

    @staticmethod
    def maxout(*, fnn_index in_features, fnn_index out_features, fnn_index pieces, int weight,
               int bias):
        """The maximum over ``pieces`` linear pieces per output unit."""
        _need(pieces >= 1, "maxout needs at least one piece")
        cdef LayerSpec spec = LayerSpec._new(FNN_LAYER_MAXOUT, in_features, out_features, dict(
            in_features=in_features, out_features=out_features, pieces=pieces, weight=weight,
            bias=bias))
        spec.layer.pieces, spec.layer.weight, spec.layer.bias = pieces, weight, bias
        return spec

    @staticmethod
    def batchnorm(*, fnn_index features, int gamma, int beta, double eps, double momentum,
                  bint unbiased_running_var, running_mean, running_var):
        """Batch normalisation with batch statistics; the running averages (arrays of
        ``features`` values) are updated in place."""
        cdef LayerSpec spec = LayerSpec._new(FNN_LAYER_BATCHNORM, features, features, dict(
            features=features, gamma=gamma, beta=beta, eps=eps, momentum=momentum,
            unbiased_running_var=unbiased_running_var))
        spec.layer.gamma, spec.layer.beta = gamma, beta
        spec.layer.eps, spec.layer.momentum = eps, momentum
        spec.layer.unbiased_running_var = unbiased_running_var
        for name, arr in (("running_mean", running_mean), ("running_var", running_var)):
            _need(isinstance(arr, np.ndarray) and arr.size == features,
                  f"{name} must be an array of {features} values")
        spec.running_mean, spec.running_var = running_mean, running_var
        return spec

    @staticmethod
    def activation(*, fnn_index features, str activation, double alpha):
        """H = f(S) for the activation named ``activation`` (one of ACTIVATIONS)."""
        _need(activation in ACTIVATION_CODES, f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        cdef LayerSpec spec = LayerSpec._new(FNN_LAYER_ACTIVATION, features, features, dict(
            features=features, activation=activation, alpha=alpha))
        spec.layer.activation = ACTIVATION_CODES[activation]
        spec.layer.alpha = alpha
        return spec

    @staticmethod
    def dropout(*, fnn_index features, double p, uint64_t seed, int64_t step):
        """Inverted dropout with the masks of stream ``seed`` from pass ``step`` on."""
        _need(0.0 <= p < 1.0, "dropout needs 0 <= p < 1")
        cdef LayerSpec spec = LayerSpec._new(FNN_LAYER_DROPOUT, features, features, dict(
            features=features, p=p, seed=seed, step=step))
        spec.layer.p, spec.layer.seed, spec.layer.step = p, seed, step
        return spec

    @property
    def kind(self):
        return LayerKind(self.layer.kind)

    def __repr__(self):
        return f"LayerSpec.{self.kind.name.lower()}({_fields(self._given)})"


cdef class ParamSpec:
    """One trainable array of the engine (an fnn_param) and its optimiser state.

    ``state`` lists the state arrays in the optimiser's order (None for an unused
    one; at most three); ``regularised`` gives it the L2 term; ``fresh``: an SGD
    momentum buffer that the first update fills with the gradient.
    """
    cdef readonly object value
    cdef readonly tuple state
    cdef readonly bint regularised, fresh

    def __init__(self, value, *, bint regularised, state, bint fresh):
        state = tuple(state)
        _need(isinstance(value, np.ndarray), "a parameter must be a NumPy array")
        _need(len(state) <= 3, "a parameter has at most three state arrays")
        for arr in state:
            _need(arr is None or (isinstance(arr, np.ndarray) and arr.dtype == value.dtype
                                  and arr.size == value.size),
                  "optimiser state must match its parameter")
        self.value, self.state, self.regularised, self.fresh = value, state, regularised, fresh


cdef class OptimizerSpec:
    """The engine's optimiser (an fnn_optimizer), made by the constructor of its kind, whose
    keyword arguments are exactly the fields that kind uses, all required (a misspelt or a
    missing one is a TypeError). ``iterations``: the updates made so far."""
    cdef fnn_optimizer opt
    cdef dict _given

    def __init__(self):
        raise TypeError("an OptimizerSpec is made by OptimizerSpec.sgd, .adagrad, .rmsprop or .adam")

    @staticmethod
    cdef OptimizerSpec _new(int kind, int64_t iterations, dict given):
        _need(iterations >= 0, "iterations counts the updates made, from 0")
        cdef OptimizerSpec spec = OptimizerSpec.__new__(OptimizerSpec)
        memset(&spec.opt, 0, sizeof(fnn_optimizer))
        spec.opt.kind = kind
        spec.opt.iterations = iterations
        spec._given = given
        return spec

    @staticmethod
    def sgd(*, double momentum, double dampening, bint nesterov, int64_t iterations):
        cdef OptimizerSpec spec = OptimizerSpec._new(FNN_OPT_SGD, iterations, dict(
            momentum=momentum, dampening=dampening, nesterov=nesterov, iterations=iterations))
        spec.opt.momentum, spec.opt.dampening, spec.opt.nesterov = momentum, dampening, nesterov
        return spec

    @staticmethod
    def adagrad(*, double lr_decay, double eps, int64_t iterations):
        cdef OptimizerSpec spec = OptimizerSpec._new(FNN_OPT_ADAGRAD, iterations, dict(
            lr_decay=lr_decay, eps=eps, iterations=iterations))
        spec.opt.lr_decay, spec.opt.eps = lr_decay, eps
        return spec

    @staticmethod
    def rmsprop(*, double alpha, double eps, double momentum, bint centered, int64_t iterations):
        cdef OptimizerSpec spec = OptimizerSpec._new(FNN_OPT_RMSPROP, iterations, dict(
            alpha=alpha, eps=eps, momentum=momentum, centered=centered, iterations=iterations))
        spec.opt.alpha, spec.opt.eps = alpha, eps
        spec.opt.momentum, spec.opt.centered = momentum, centered
        return spec

    @staticmethod
    def adam(*, double beta1, double beta2, double eps, int64_t iterations):
        cdef OptimizerSpec spec = OptimizerSpec._new(FNN_OPT_ADAM, iterations, dict(
            beta1=beta1, beta2=beta2, eps=eps, iterations=iterations))
        spec.opt.beta1, spec.opt.beta2, spec.opt.eps = beta1, beta2, eps
        return spec

    def clip(self, double max_grad_norm):
        """Clip the gradients of each step by their global norm (0: no clipping); returns self."""
        _need(max_grad_norm >= 0, "max_grad_norm must be >= 0 (0: no clipping)")
        self.opt.max_grad_norm = max_grad_norm
        self._given["max_grad_norm"] = max_grad_norm if max_grad_norm > 0 else None
        return self

    @property
    def kind(self):
        return OptimizerKind(self.opt.kind)

    def __repr__(self):
        return f"OptimizerSpec.{self.kind.name.lower()}({_fields(self._given)})"


cdef class TrainingEngine:
    """A network described for fnn_train_*: parameter and state pointers, the workspace.

    Built by fastnn._engine from a model: ``layers`` are LayerSpec, ``params``
    ParamSpec (indexed by the layers), ``loss`` a LossKind, ``optimizer`` an
    OptimizerSpec. Holds references to every array it points into, so none can
    be freed while the engine lives. ``run`` trains a run of steps with the GIL
    released.
    """
    cdef fnn_net net
    cdef fnn_optimizer opt
    cdef object arrays        # everything C points into, kept alive
    cdef object workspace
    cdef object X
    cdef object targets
    cdef fnn_index target_width
    cdef bint is_double

    def __cinit__(self):
        self.net.layers = NULL
        self.net.params = NULL

    def __init__(self, list layers, list params, loss, double l2, fnn_index batch_max,
                 OptimizerSpec optimizer not None, X, targets):
        self.is_double = X.dtype == np.float64
        dtype = X.dtype
        self.arrays = []
        n_layers, n_params = len(layers), len(params)
        _need(n_layers >= 1, "a network needs at least one layer")
        self.net.layers = <fnn_layer *>calloc(n_layers, sizeof(fnn_layer))
        self.net.params = <fnn_param *>calloc(max(n_params, 1), sizeof(fnn_param))
        if self.net.layers == NULL or self.net.params == NULL:
            raise MemoryError("fastnn: no memory for the engine's tables")
        self.net.n_layers = n_layers
        self.net.n_params = n_params
        self.net.loss = LossKind(loss)
        self.net.l2 = l2
        self.net.batch_max = batch_max
        cdef int i, k
        cdef fnn_param *P
        cdef ParamSpec param
        cdef LayerSpec layer
        for i, param in enumerate(params):
            P = &self.net.params[i]
            _need(param.value.dtype == dtype, "parameters must have the data's dtype")
            P.value = _data(param.value)
            P.size = param.value.size
            P.regularised = param.regularised
            P.fresh = param.fresh
            self.arrays.append(param.value)
            for k, state in enumerate(param.state):
                if state is not None:
                    P.state[k] = _data(state)
                    self.arrays.append(state)
        for i, layer in enumerate(layers):
            self.net.layers[i] = layer.layer
            if layer.layer.kind == FNN_LAYER_BATCHNORM:
                for arr in (layer.running_mean, layer.running_var):
                    _need(arr.dtype == dtype, "batch-norm running statistics must have the data's dtype")
                    self.arrays.append(arr)
                self.net.layers[i].running_mean = _data(layer.running_mean)
                self.net.layers[i].running_var = _data(layer.running_var)
        self.opt = optimizer.opt
        _need(X.ndim == 2 and X.flags.c_contiguous and X.shape[1] == self.net.layers[0].in_features,
              "X must be C-contiguous with the first layer's width")
        self.X = X
        if targets.dtype == np.int64:
            _need(targets.ndim == 1 and targets.shape[0] == X.shape[0], "labels must be (n,) int64")
            self.target_width = 0
        else:
            _need(targets.dtype == dtype and targets.ndim == 2 and targets.shape[0] == X.shape[0],
                  "targets must be (n, width) of the data's dtype")
            self.target_width = targets.shape[1]
        _need(targets.flags.c_contiguous, "targets must be C-contiguous")
        self.targets = targets
        cdef size_t nbytes
        if self.is_double:
            nbytes = fnn_train_workspace_bytes_f64(&self.net)
        else:
            nbytes = fnn_train_workspace_bytes_f32(&self.net)
        _need(nbytes > 0, "the network description was refused")
        self.workspace = np.empty((nbytes,), dtype=np.uint8)

    def __dealloc__(self):
        free(self.net.layers)
        free(self.net.params)

    def set_optimizer(self, OptimizerSpec optimizer not None):
        """Refresh the optimiser's settings (and iteration count) between runs."""
        self.opt = optimizer.opt

    @property
    def iterations(self):
        return self.opt.iterations

    def dropout_steps(self):
        return [self.net.layers[i].step for i in range(self.net.n_layers)]

    def fresh(self):
        return [bool(self.net.params[i].fresh) for i in range(self.net.n_params)]

    def run(self, const int64_t[::1] order, const int64_t[::1] bounds, const double[::1] lr,
            fnn_index checked_steps=0, int stop_nonfinite=0):
        """Train steps s = 0 .. len(lr)-1 on the rows order[bounds[s]:bounds[s+1]] of X.
        Returns (loss per step including the L2 term, correct predictions per step).
        The input rows of steps s < checked_steps are checked as they are gathered: a NaN or
        an infinity raises NonFiniteBatch before that step changes anything. With
        ``stop_nonfinite`` 1, a step whose loss is not finite raises NonFiniteStep; with 2,
        also a step whose updated parameter or batch-norm running statistic is not finite."""
        cdef fnn_index steps = lr.shape[0]
        _need(bounds.shape[0] == steps + 1, "bounds must have one entry more than lr")
        if steps > 0:
            _need(bounds[0] >= 0 and bounds[steps] <= order.shape[0], "bounds must lie inside order")
        losses = np.zeros((steps,), dtype=np.float64)
        correct = np.zeros((steps,), dtype=np.int64)
        if steps == 0:
            return losses, correct
        cdef double[::1] loss_view = losses
        cdef int64_t[::1] correct_view = correct
        cdef unsigned char[::1] ws = self.workspace
        cdef void *X = _data(self.X)
        cdef void *targets = _data(self.targets)
        cdef fnn_index n_samples = self.X.shape[0]
        cdef int status
        self.net.stop_nonfinite = stop_nonfinite
        with nogil:
            if self.is_double:
                status = fnn_train_f64(&self.net, &self.opt, <const double *>X, n_samples, targets,
                                       self.target_width, &order[0], &bounds[0], &lr[0], steps,
                                       checked_steps, &ws[0], ws.shape[0], &loss_view[0],
                                       &correct_view[0])
            else:
                status = fnn_train_f32(&self.net, &self.opt, <const float *>X, n_samples, targets,
                                       self.target_width, &order[0], &bounds[0], &lr[0], steps,
                                       checked_steps, &ws[0], ws.shape[0], &loss_view[0],
                                       &correct_view[0])
        if status == FNN_EDIVERGED:
            raise NonFiniteStep(losses, correct)
        _check(status)
        return losses, correct

