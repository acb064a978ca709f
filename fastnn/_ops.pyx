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

import numpy as np

cdef extern from "fastnn.h" nogil:
    ctypedef ptrdiff_t fnn_index
    enum:
        FNN_OK
        FNN_ENOMEM
        FNN_EINVAL
        FNN_ENONFINITE

    int fnn_has_openmp()
    int fnn_get_num_threads()
    void fnn_set_num_threads(int n)
    int fnn_simd_supported(int level)
    int fnn_simd_level()
    int fnn_set_simd_level(int level)
    const char *fnn_simd_name(int level)
    const char *fnn_compiler()
    const char *fnn_build_cflags()

    int fnn_gemm_f32(fnn_index m, fnn_index n, fnn_index k,
                     const float *A, fnn_index rs_a, fnn_index cs_a,
                     const float *B, fnn_index rs_b, fnn_index cs_b,
                     float *C, fnn_index ldc, const float *bias, int accumulate)
    int fnn_gemm_f64(fnn_index m, fnn_index n, fnn_index k,
                     const double *A, fnn_index rs_a, fnn_index cs_a,
                     const double *B, fnn_index rs_b, fnn_index cs_b,
                     double *C, fnn_index ldc, const double *bias, int accumulate)

    int fnn_linear_forward_f32(fnn_index n, fnn_index d_in, fnn_index d_out,
                               const float *X, fnn_index rs_x, fnn_index cs_x,
                               const float *W, fnn_index rs_w, fnn_index cs_w,
                               const float *b, float *S, fnn_index lds)
    int fnn_linear_forward_f64(fnn_index n, fnn_index d_in, fnn_index d_out,
                               const double *X, fnn_index rs_x, fnn_index cs_x,
                               const double *W, fnn_index rs_w, fnn_index cs_w,
                               const double *b, double *S, fnn_index lds)
    int fnn_linear_backward_f32(fnn_index n, fnn_index d_in, fnn_index d_out,
                                const float *dS, fnn_index rs_ds, fnn_index cs_ds,
                                const float *X, fnn_index rs_x, fnn_index cs_x,
                                const float *W, fnn_index rs_w, fnn_index cs_w,
                                float *dX, float *dW, float *db)
    int fnn_linear_backward_f64(fnn_index n, fnn_index d_in, fnn_index d_out,
                                const double *dS, fnn_index rs_ds, fnn_index cs_ds,
                                const double *X, fnn_index rs_x, fnn_index cs_x,
                                const double *W, fnn_index rs_w, fnn_index cs_w,
                                double *dX, double *dW, double *db)

    int fnn_dense_forward_f32(fnn_index n, fnn_index d_in, fnn_index d_out,
                              const float *X, fnn_index rs_x, fnn_index cs_x,
                              const float *W, fnn_index rs_w, fnn_index cs_w,
                              const float *b, int activation, float alpha,
                              float *S, fnn_index lds, float *H, fnn_index ldh)
    int fnn_dense_forward_f64(fnn_index n, fnn_index d_in, fnn_index d_out,
                              const double *X, fnn_index rs_x, fnn_index cs_x,
                              const double *W, fnn_index rs_w, fnn_index cs_w,
                              const double *b, int activation, double alpha,
                              double *S, fnn_index lds, double *H, fnn_index ldh)

    int fnn_activation_forward_f32(int activation, fnn_index n, fnn_index d,
                                   const float *S, fnn_index lds, float *H, fnn_index ldh,
                                   float alpha)
    int fnn_activation_forward_f64(int activation, fnn_index n, fnn_index d,
                                   const double *S, fnn_index lds, double *H, fnn_index ldh,
                                   double alpha)
    int fnn_activation_backward_f32(int activation, fnn_index n, fnn_index d,
                                    const float *dH, fnn_index lddh, const float *H,
                                    fnn_index ldh, float *dS, fnn_index ldds, float alpha)
    int fnn_activation_backward_f64(int activation, fnn_index n, fnn_index d,
                                    const double *dH, fnn_index lddh, const double *H,
                                    fnn_index ldh, double *dS, fnn_index ldds, double alpha)

    int fnn_batchnorm_forward_f32(fnn_index n, fnn_index d, const float *S, fnn_index lds,
                                  const float *gamma, const float *beta, float eps,
                                  float *Y, fnn_index ldy, float *mean, float *var)
    int fnn_batchnorm_forward_f64(fnn_index n, fnn_index d, const double *S, fnn_index lds,
                                  const double *gamma, const double *beta, double eps,
                                  double *Y, fnn_index ldy, double *mean, double *var)
    int fnn_batchnorm_backward_f32(fnn_index n, fnn_index d, const float *dY, fnn_index lddy,
                                   const float *S, fnn_index lds, const float *gamma,
                                   const float *mean, const float *var, float eps,
                                   float *dS, fnn_index ldds, float *dgamma, float *dbeta)
    int fnn_batchnorm_backward_f64(fnn_index n, fnn_index d, const double *dY, fnn_index lddy,
                                   const double *S, fnn_index lds, const double *gamma,
                                   const double *mean, const double *var, double eps,
                                   double *dS, fnn_index ldds, double *dgamma, double *dbeta)

    int fnn_vmath_f32(int fn, fnn_index n, const float *x, float *y)
    int fnn_vmath_f64(int fn, fnn_index n, const double *x, double *y)

    int fnn_softmax_cross_entropy_f32(fnn_index n, fnn_index c, const float *S, fnn_index lds,
                                      const int64_t *y, float *dS, fnn_index ldds,
                                      float *row_loss, float *loss)
    int fnn_softmax_cross_entropy_f64(fnn_index n, fnn_index c, const double *S,
                                      fnn_index lds, const int64_t *y, double *dS,
                                      fnn_index ldds, double *row_loss, double *loss)

    ctypedef struct fnn_param:
        void *value
        fnn_index size
        int regularised
        int fresh
        void *state[3]

    ctypedef struct fnn_layer:
        int kind
        fnn_index in_features
        fnn_index out_features
        fnn_index pieces
        int activation
        double alpha
        double eps
        double momentum
        int unbiased_running_var
        double p
        uint64_t seed
        int64_t step
        int weight
        int bias
        int gamma
        int beta
        void *running_mean
        void *running_var

    ctypedef struct fnn_net:
        fnn_layer *layers
        int n_layers
        fnn_param *params
        int n_params
        int loss
        double l2
        fnn_index batch_max

    ctypedef struct fnn_optimizer:
        int kind
        double momentum
        double dampening
        int nesterov
        double eps
        double lr_decay
        double alpha
        int centered
        double beta1
        double beta2
        int64_t iterations

    int fnn_all_finite_f32(fnn_index n, const float *x)
    int fnn_all_finite_f64(fnn_index n, const double *x)

    size_t fnn_train_workspace_bytes_f32(const fnn_net *net)
    size_t fnn_train_workspace_bytes_f64(const fnn_net *net)
    int fnn_train_f32(fnn_net *net, fnn_optimizer *opt, const float *X, fnn_index n_samples,
                      const void *targets, fnn_index target_width,
                      const int64_t *order, const int64_t *bounds, const double *lr,
                      fnn_index n_steps, fnn_index checked_steps, void *workspace,
                      size_t workspace_bytes, double *step_loss, int64_t *step_correct)
    int fnn_train_f64(fnn_net *net, fnn_optimizer *opt, const double *X, fnn_index n_samples,
                      const void *targets, fnn_index target_width,
                      const int64_t *order, const int64_t *bounds, const double *lr,
                      fnn_index n_steps, fnn_index checked_steps, void *workspace,
                      size_t workspace_bytes, double *step_loss, int64_t *step_correct)
    int fnn_optimizer_update_f32(const fnn_optimizer *opt, fnn_param *param, const float *grad,
                                 double lr, double l2)
    int fnn_optimizer_update_f64(const fnn_optimizer *opt, fnn_param *param, const double *grad,
                                 double lr, double l2)
    void fnn_dropout_mask(uint64_t seed, int64_t step, fnn_index count, double p,
                          unsigned char *keep)

# Activation codes, in the order of fastnn.h's enum fnn_activation.
ACTIVATION_CODES = {
    "identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "elu": 5,
}
SIMD_LEVELS = ("generic", "avx2", "avx512")
# Functions of the vector math library, in the order of fastnn.h's enum fnn_vmath_function.
VMATH_FUNCTIONS = ("exp", "expm1", "log", "tanh", "sigmoid")

class NonFiniteBatch(ValueError):
    """A batch that TrainingEngine.run checked held a NaN or an infinity (fit then names it)."""


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


cdef extern from "threads.h" nogil:
    int fnn_solo_rule_replay(fnn_index count, const int *nthreads, const fnn_index *helped,
                             const fnn_index *pieces, int *alone)

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


# ---- kernels ----

def gemm(const floating[:, :] A, const floating[:, :] B):
    """C = A @ B through the blocked GEMM (any strides): a test hook for the driver."""
    cdef fnn_index m = A.shape[0], k = A.shape[1], n = B.shape[1]
    _need(B.shape[0] == k, f"inner dimensions differ: A is {A.shape[0]}x{k}, B is {B.shape[0]}x{n}")
    out = np.empty((m, n), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] C = out
    cdef int status
    with nogil:
        if floating is float:
            status = fnn_gemm_f32(m, n, k, &A[0, 0], _rs(A), _cs(A), &B[0, 0], _rs(B), _cs(B),
                                  &C[0, 0], n, NULL, 0)
        else:
            status = fnn_gemm_f64(m, n, k, &A[0, 0], _rs(A), _cs(A), &B[0, 0], _rs(B), _cs(B),
                                  &C[0, 0], n, NULL, 0)
    _check(status)
    return out


def linear_forward(const floating[:, :] X, const floating[:, :] W, const floating[::1] b):
    cdef fnn_index n = X.shape[0], d_in = X.shape[1], d_out = W.shape[0]
    _need(W.shape[1] == d_in and b.shape[0] == d_out, "X, W and b shapes do not fit")
    out = np.empty((n, d_out), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] S = out
    cdef int status
    with nogil:
        if floating is float:
            status = fnn_linear_forward_f32(n, d_in, d_out, &X[0, 0], _rs(X), _cs(X),
                                            &W[0, 0], _rs(W), _cs(W), &b[0], &S[0, 0], d_out)
        else:
            status = fnn_linear_forward_f64(n, d_in, d_out, &X[0, 0], _rs(X), _cs(X),
                                            &W[0, 0], _rs(W), _cs(W), &b[0], &S[0, 0], d_out)
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
    with nogil:
        if floating is float:
            status = fnn_dense_forward_f32(n, d_in, d_out, &X[0, 0], _rs(X), _cs(X),
                                           &W[0, 0], _rs(W), _cs(W), bias, code, <float>alpha,
                                           &S[0, 0], d_out, &H[0, 0], d_out)
        else:
            status = fnn_dense_forward_f64(n, d_in, d_out, &X[0, 0], _rs(X), _cs(X),
                                           &W[0, 0], _rs(W), _cs(W), bias, code, alpha,
                                           &S[0, 0], d_out, &H[0, 0], d_out)
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
    with nogil:
        if floating is float:
            status = fnn_linear_backward_f32(n, d_in, d_out, &dS[0, 0], _rs(dS), _cs(dS),
                                             &X[0, 0], _rs(X), _cs(X), &W[0, 0], _rs(W), _cs(W),
                                             &dX[0, 0], &dW[0, 0], &db[0])
        else:
            status = fnn_linear_backward_f64(n, d_in, d_out, &dS[0, 0], _rs(dS), _cs(dS),
                                             &X[0, 0], _rs(X), _cs(X), &W[0, 0], _rs(W), _cs(W),
                                             &dX[0, 0], &dW[0, 0], &db[0])
    _check(status)
    return dX_arr, dW_arr, db_arr


def activation_forward(int code, const floating[:, :] S, double alpha):
    """S must have contiguous columns (row stride is free)."""
    cdef fnn_index n = S.shape[0], d = S.shape[1]
    _need(d <= 1 or _cs(S) == 1, "S needs contiguous columns")
    out = np.empty((n, d), dtype=_dtype(<floating *>NULL))
    cdef floating[:, ::1] H = out
    cdef int status
    with nogil:
        if floating is float:
            status = fnn_activation_forward_f32(code, n, d, &S[0, 0], _rs(S), &H[0, 0], d,
                                                <float>alpha)
        else:
            status = fnn_activation_forward_f64(code, n, d, &S[0, 0], _rs(S), &H[0, 0], d, alpha)
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
    with nogil:
        if floating is float:
            status = fnn_activation_backward_f32(code, n, d, &dH[0, 0], _rs(dH), &H[0, 0], _rs(H),
                                                 &dS[0, 0], d, <float>alpha)
        else:
            status = fnn_activation_backward_f64(code, n, d, &dH[0, 0], _rs(dH), &H[0, 0], _rs(H),
                                                 &dS[0, 0], d, alpha)
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
    with nogil:
        if floating is float:
            status = fnn_batchnorm_forward_f32(n, d, &S[0, 0], _rs(S), &gamma[0], &beta[0],
                                               <float>eps, &Y[0, 0], d, &mean[0], &var[0])
        else:
            status = fnn_batchnorm_forward_f64(n, d, &S[0, 0], _rs(S), &gamma[0], &beta[0],
                                               eps, &Y[0, 0], d, &mean[0], &var[0])
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
    with nogil:
        if floating is float:
            status = fnn_batchnorm_backward_f32(n, d, &dY[0, 0], _rs(dY), &S[0, 0], _rs(S),
                                                &gamma[0], &mean[0], &var[0], <float>eps,
                                                &dS[0, 0], d, &dgamma[0], &dbeta[0])
        else:
            status = fnn_batchnorm_backward_f64(n, d, &dY[0, 0], _rs(dY), &S[0, 0], _rs(S),
                                                &gamma[0], &mean[0], &var[0], eps,
                                                &dS[0, 0], d, &dgamma[0], &dbeta[0])
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
    with nogil:
        if floating is float:
            status = fnn_softmax_cross_entropy_f32(n, c, &S[0, 0], _rs(S), &y[0], &dS[0, 0], c,
                                                   &row_loss[0], &loss)
        else:
            status = fnn_softmax_cross_entropy_f64(n, c, &S[0, 0], _rs(S), &y[0], &dS[0, 0], c,
                                                   &row_loss[0], &loss)
    _check(status)
    return dtype(loss), dS_arr


def vmath(str name, const floating[::1] x):
    """f(x) elementwise with the kernels' own vector math, at the SIMD level in use.

    A test hook: the activations and the loss compute exp, expm1, log, tanh and
    sigmoid with these functions. Float32 results are within 4 ulp of the exact
    value and float64 results within 1e-14 relative error, over each function's
    whole range: exp overflows to inf and underflows to 0 (through the
    subnormals), NaN gives NaN, tanh(+-inf) = +-1, sigmoid(-inf) = 0, and expm1,
    tanh and sigmoid keep their relative accuracy near 0.
    """
    if name not in VMATH_FUNCTIONS:
        raise ValueError(f"name must be one of {VMATH_FUNCTIONS}, got {name!r}")
    cdef int fn = VMATH_FUNCTIONS.index(name)
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

def dropout_mask(uint64_t seed, int64_t step, fnn_index count, double p):
    """The C twin of fastnn.layers.dropout_mask (flattened, bool)."""
    out = np.empty((count,), dtype=np.uint8)
    cdef unsigned char[::1] keep = out
    if count > 0:
        with nogil:
            fnn_dropout_mask(seed, step, count, p, &keep[0])
    return out.view(np.bool_)


cdef inline void *_data(object a) except? NULL:
    """Address of a C-contiguous array's first element (None -> NULL)."""
    if a is None:
        return NULL
    if not a.flags.c_contiguous:
        raise ValueError("fastnn._ops: engine arrays must be C-contiguous")
    return <void *><size_t>a.ctypes.data


cdef void _set_optimizer(fnn_optimizer *opt, dict spec):
    opt.kind = spec["kind"]
    opt.momentum = spec.get("momentum", 0.0)
    opt.dampening = spec.get("dampening", 0.0)
    opt.nesterov = spec.get("nesterov", False)
    opt.eps = spec.get("eps", 0.0)
    opt.lr_decay = spec.get("lr_decay", 0.0)
    opt.alpha = spec.get("alpha", 0.0)
    opt.centered = spec.get("centered", False)
    opt.beta1 = spec.get("beta1", 0.0)
    opt.beta2 = spec.get("beta2", 0.0)
    opt.iterations = spec["iterations"]


cdef class TrainingEngine:
    """A network described for fnn_train_*: parameter and state pointers, the workspace.

    Built by fastnn._engine from a model (that module documents the spec
    dictionaries); holds references to every array it points into, so none can
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

    def __init__(self, list layers, list params, int loss, double l2, fnn_index batch_max,
                 dict optimizer, X, targets):
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
        self.net.loss = loss
        self.net.l2 = l2
        self.net.batch_max = batch_max
        cdef int i, k
        cdef fnn_param *P
        cdef fnn_layer *L
        for i, spec in enumerate(params):
            P = &self.net.params[i]
            value = spec["value"]
            _need(value.dtype == dtype, "parameters must have the data's dtype")
            P.value = _data(value)
            P.size = value.size
            P.regularised = spec["regularised"]
            P.fresh = spec.get("fresh", False)
            self.arrays.append(value)
            for k, state in enumerate(spec.get("state", ())):
                if state is not None:
                    _need(state.dtype == dtype and state.size == value.size, "optimiser state must match its parameter")
                    P.state[k] = _data(state)
                    self.arrays.append(state)
        for i, spec in enumerate(layers):
            L = &self.net.layers[i]
            L.kind = spec["kind"]
            L.in_features = spec["in_features"]
            L.out_features = spec["out_features"]
            L.pieces = spec.get("pieces", 1)
            L.activation = spec.get("activation", 0)
            L.alpha = spec.get("alpha", 0.0)
            L.eps = spec.get("eps", 0.0)
            L.momentum = spec.get("momentum", 0.0)
            L.unbiased_running_var = spec.get("unbiased_running_var", False)
            L.p = spec.get("p", 0.0)
            L.seed = spec.get("seed", 0)
            L.step = spec.get("step", 0)
            L.weight = spec.get("weight", -1)
            L.bias = spec.get("bias", -1)
            L.gamma = spec.get("gamma", -1)
            L.beta = spec.get("beta", -1)
            for key in ("running_mean", "running_var"):
                if key in spec:
                    arr = spec[key]
                    _need(arr.dtype == dtype and arr.size == L.out_features, f"{key} must match the layer")
                    self.arrays.append(arr)
            L.running_mean = _data(spec.get("running_mean"))
            L.running_var = _data(spec.get("running_var"))
        _set_optimizer(&self.opt, optimizer)
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

    def set_optimizer(self, dict optimizer):
        """Refresh the optimiser's settings (and iteration count) between runs."""
        _set_optimizer(&self.opt, optimizer)

    @property
    def iterations(self):
        return self.opt.iterations

    def dropout_steps(self):
        return [self.net.layers[i].step for i in range(self.net.n_layers)]

    def fresh(self):
        return [bool(self.net.params[i].fresh) for i in range(self.net.n_params)]

    def run(self, const int64_t[::1] order, const int64_t[::1] bounds, const double[::1] lr,
            fnn_index checked_steps=0):
        """Train steps s = 0 .. len(lr)-1 on the rows order[bounds[s]:bounds[s+1]] of X.
        Returns (loss per step including the L2 term, correct predictions per step).
        The input rows of steps s < checked_steps are checked as they are gathered: a NaN or
        an infinity raises NonFiniteBatch before that step changes anything."""
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
        _check(status)
        return losses, correct


def optimizer_update(dict optimizer, value, grad, list state, bint fresh, double lr, double l2,
                     bint regularised):
    """One fnn_optimizer_update of ``value`` in place (a test hook); returns the new fresh flag."""
    cdef fnn_optimizer opt
    cdef fnn_param P
    _set_optimizer(&opt, optimizer)
    _need(value.flags.c_contiguous and grad.flags.c_contiguous and grad.dtype == value.dtype
          and grad.size == value.size, "value and grad must be C-contiguous and alike")
    P.value = _data(value)
    P.size = value.size
    P.regularised = regularised
    P.fresh = fresh
    P.state[0] = P.state[1] = P.state[2] = NULL
    for k in range(min(len(state), 3)):
        if state[k] is not None:
            _need(state[k].dtype == value.dtype and state[k].size == value.size
                  and state[k].flags.c_contiguous, "state arrays must match value")
            P.state[k] = _data(state[k])
    cdef void *g = _data(grad)
    cdef bint is_double = value.dtype == np.float64
    cdef int status
    with nogil:
        if is_double:
            status = fnn_optimizer_update_f64(&opt, &P, <const double *>g, lr, l2)
        else:
            status = fnn_optimizer_update_f32(&opt, &P, <const float *>g, lr, l2)
    _check(status)
    return bool(P.fresh)
