/*
 * Activations, instantiated per type by instantiate.h and per SIMD level by
 * activation.c (generic), activation_avx2.c and activation_avx512.c: each of
 * those compiles this file under its own target and fills one
 * fnn_activation_arch table with the static kernels below.
 *
 * Every loop is branch-free so that it vectorises: both sides of a select are
 * computed unconditionally (GCC does not if-convert a multiply it might not
 * have executed), and exp/expm1/tanh come from vmath.h rather than libm.
 */
#include "vmath.h"

static void FN(activation_forward_rows)(int activation, fnn_index m, fnn_index d,
                                        const REAL *restrict S, fnn_index lds,
                                        REAL *restrict H, fnn_index ldh, REAL alpha)
{
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *restrict s = S + i * lds;
        REAL *restrict h = H + i * ldh;
        switch (activation) {
        case FNN_IDENTITY:
            for (fnn_index j = 0; j < d; ++j) h[j] = s[j];
            break;
        case FNN_SIGMOID:
            for (fnn_index j = 0; j < d; ++j) h[j] = FN(vm_sigmoid)(s[j]);
            break;
        case FNN_TANH:
            for (fnn_index j = 0; j < d; ++j) h[j] = FN(vm_tanh)(s[j]);
            break;
        case FNN_RELU:
            /* written so that NaN passes through */
            for (fnn_index j = 0; j < d; ++j) h[j] = FN(vm_select)(s[j] < 0, (REAL)0, s[j]);
            break;
        case FNN_LEAKY_RELU:
            for (fnn_index j = 0; j < d; ++j) {
                const REAL below = alpha * s[j];
                h[j] = FN(vm_select)(s[j] > 0, s[j], below);
            }
            break;
        case FNN_ELU:
            for (fnn_index j = 0; j < d; ++j) {
                const REAL below = alpha * FN(vm_expm1)(s[j]);
                h[j] = FN(vm_select)(s[j] > 0, s[j], below);
            }
            break;
        }
    }
}

/* f'(s) from h = f(s): the output is all the backward pass keeps */
static void FN(activation_backward_rows)(int activation, fnn_index m, fnn_index d,
                                         const REAL *restrict dH, fnn_index lddh,
                                         const REAL *restrict H, fnn_index ldh,
                                         REAL *restrict dS, fnn_index ldds, REAL alpha)
{
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *restrict dh = dH + i * lddh;
        const REAL *restrict h = H + i * ldh;
        REAL *restrict ds = dS + i * ldds;
        switch (activation) {
        case FNN_IDENTITY:
            for (fnn_index j = 0; j < d; ++j) ds[j] = dh[j];
            break;
        case FNN_SIGMOID:
            for (fnn_index j = 0; j < d; ++j) ds[j] = dh[j] * (h[j] * ((REAL)1 - h[j]));
            break;
        case FNN_TANH:
            for (fnn_index j = 0; j < d; ++j) ds[j] = dh[j] * ((REAL)1 - h[j] * h[j]);
            break;
        /* The slope multiplies dH (a product, not a select) so a NaN in dH survives where
           the unit is off; a NaN output has a NaN slope (h == h is false only for NaN). */
        case FNN_RELU:
            for (fnn_index j = 0; j < d; ++j) {
                const REAL slope = FN(vm_select)(h[j] > 0, (REAL)1, (REAL)0);
                ds[j] = dh[j] * FN(vm_select)(h[j] == h[j], slope, h[j]);
            }
            break;
        case FNN_LEAKY_RELU:
            for (fnn_index j = 0; j < d; ++j) {
                const REAL slope = FN(vm_select)(h[j] > 0, (REAL)1, alpha);
                ds[j] = dh[j] * FN(vm_select)(h[j] == h[j], slope, h[j]);
            }
            break;
        case FNN_ELU:
            for (fnn_index j = 0; j < d; ++j) {
                const REAL below = h[j] + alpha;
                ds[j] = dh[j] * FN(vm_select)(h[j] > 0, (REAL)1, below);
            }
            break;
        }
    }
}

/* y = f(x) for one of the vmath.h functions: the hook tests measure ulp errors through */
static void FN(activation_vmath)(int fn, fnn_index n, const REAL *restrict x, REAL *restrict y)
{
    switch (fn) {
    case FNN_VMATH_EXP:
        for (fnn_index j = 0; j < n; ++j) y[j] = FN(vm_exp)(x[j]);
        break;
    case FNN_VMATH_EXPM1:
        for (fnn_index j = 0; j < n; ++j) y[j] = FN(vm_expm1)(x[j]);
        break;
    case FNN_VMATH_LOG:
        for (fnn_index j = 0; j < n; ++j) y[j] = FN(vm_log)(x[j]);
        break;
    case FNN_VMATH_TANH:
        for (fnn_index j = 0; j < n; ++j) y[j] = FN(vm_tanh)(x[j]);
        break;
    case FNN_VMATH_SIGMOID:
        for (fnn_index j = 0; j < n; ++j) y[j] = FN(vm_sigmoid)(x[j]);
        break;
    }
}

#ifdef FNN_ACTIVATION_DRIVER
/* The public entry points (compiled once, in activation.c): pick the level's table. */

void FN(fnn_activation_forward_block)(int activation, fnn_index m, fnn_index n, const REAL *S,
                                      fnn_index lds, REAL *H, fnn_index ldh, REAL alpha)
{
    FN(fnn_activation_kernels()->forward)(activation, m, n, S, lds, H, ldh, alpha);
}

int FN(fnn_activation_forward)(int activation, fnn_index n, fnn_index d,
                               const REAL *S, fnn_index lds, REAL *H, fnn_index ldh, REAL alpha)
{
    if (activation < FNN_IDENTITY || activation > FNN_ELU || n < 0 || d < 0) return FNN_EINVAL;
    const fnn_activation_arch *arch = fnn_activation_kernels();
    const int nthreads = fnn_threads_for((double)n * (double)d * 8.0);
    const int rows = FNN_ROWS_PER_CLAIM(d);
    fnn_index helped = 0;
    (void)nthreads;
    (void)rows;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(dynamic, rows) reduction(+ : helped)
    for (fnn_index i = 0; i < n; ++i) {
        helped += fnn_team_rank() != 0;
        FN(arch->forward)(activation, 1, d, S + i * lds, lds, H + i * ldh, ldh, alpha);
    }
    fnn_team_report(nthreads, helped, n);
    return FNN_OK;
}

int FN(fnn_activation_backward)(int activation, fnn_index n, fnn_index d,
                                const REAL *dH, fnn_index lddh, const REAL *H, fnn_index ldh,
                                REAL *dS, fnn_index ldds, REAL alpha)
{
    if (activation < FNN_IDENTITY || activation > FNN_ELU || n < 0 || d < 0) return FNN_EINVAL;
    const fnn_activation_arch *arch = fnn_activation_kernels();
    const int nthreads = fnn_threads_for((double)n * (double)d * 2.0);
    const int rows = FNN_ROWS_PER_CLAIM(d);
    fnn_index helped = 0;
    (void)nthreads;
    (void)rows;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(dynamic, rows) reduction(+ : helped)
    for (fnn_index i = 0; i < n; ++i) {
        helped += fnn_team_rank() != 0;
        FN(arch->backward)(activation, 1, d, dH + i * lddh, lddh, H + i * ldh, ldh,
                           dS + i * ldds, ldds, alpha);
    }
    fnn_team_report(nthreads, helped, n);
    return FNN_OK;
}

int FN(fnn_vmath)(int fn, fnn_index n, const REAL *x, REAL *y)
{
    if (fn < FNN_VMATH_EXP || fn > FNN_VMATH_SIGMOID || n < 0) return FNN_EINVAL;
    FN(fnn_activation_kernels()->vmath)(fn, n, x, y);
    return FNN_OK;
}
#endif
