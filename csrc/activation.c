/*
 * activation.c: elementwise activations and their gradients, rows split between threads,
 * and the vmath.h functions behind them (reachable for the ulp tests through fnn_vmath).
 *
 * Every loop is branch-free so that it vectorises: both sides of a select are computed
 * unconditionally (GCC does not if-convert a multiply it might not have executed), and
 * exp/expm1/log1p/tanh come from vmath.h rather than libm.
 *
 * setup.py compiles this file once per SIMD level (simd_level.h): each compile fills
 * the table LEVEL(fnn_activation) with its row kernels, and the generic one also holds
 * the entry points, which use the table of the level in use. The per-type section is
 * compiled for float and for double: this file includes itself through instantiate.h.
 */
#ifndef REAL /* ---- once per level: the per-type section, for both types ---- */
#include <math.h>

#include "simd_level.h"

FNN_TARGET_BEGIN
#define FNN_TEMPLATE "activation.c"
#include "instantiate.h"
FNN_TARGET_END

#else /* ---- once per type: REAL, FN(), MATH() ---- */

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
        case FNN_SOFTPLUS:
            /* max(s, 0) + log(1 + e^-|s|): the exponent is never positive, so nothing
               overflows, and e^-|s| <= 1 keeps log1p accurate (a NaN s reaches log1p) */
            for (fnn_index j = 0; j < d; ++j) {
                const REAL e = FN(vm_exp_nonpositive)(-MATH(fabs)(s[j]));
                h[j] = FN(vm_select)(s[j] > 0, s[j], (REAL)0) + FN(vm_log1p)(e);
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
        case FNN_SOFTPLUS:
            /* softplus'(s) = sigmoid(s) = 1 - e^-h; -expm1(-h) keeps it accurate where h,
               and so the slope, is small */
            for (fnn_index j = 0; j < d; ++j) ds[j] = dh[j] * -FN(vm_expm1)(-h[j]);
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
    case FNN_VMATH_LOG1P:
        for (fnn_index j = 0; j < n; ++j) y[j] = FN(vm_log1p)(x[j]);
        break;
    }
}

#if FNN_LEVEL == FNN_LEVEL_GENERIC
/* The public entry points (in the generic compile): they pick the level's table. */

void FN(fnn_activation_forward_block)(int activation, fnn_index m, fnn_index n, const REAL *S,
                                      fnn_index lds, REAL *H, fnn_index ldh, REAL alpha)
{
    FN(fnn_activation_kernels()->forward)(activation, m, n, S, lds, H, ldh, alpha);
}

typedef struct {
    const fnn_activation_arch *arch;
    int activation;
    fnn_index d;
    const REAL *S, *dH, *H;
    fnn_index lds, lddh, ldh, ldds;
    REAL *out, alpha;
} FN(activation_job);

static void FN(activation_forward_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(activation_job) *j = ctx;
    FN(j->arch->forward)(j->activation, i1 - i0, j->d, j->S + i0 * j->lds, j->lds,
                         j->out + i0 * j->ldh, j->ldh, j->alpha);
}

static void FN(activation_backward_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(activation_job) *j = ctx;
    FN(j->arch->backward)(j->activation, i1 - i0, j->d, j->dH + i0 * j->lddh, j->lddh,
                          j->H + i0 * j->ldh, j->ldh, j->out + i0 * j->ldds, j->ldds, j->alpha);
}

int FN(fnn_activation_forward)(int activation, fnn_index n, fnn_index d,
                               const REAL *S, fnn_index lds, REAL *H, fnn_index ldh, REAL alpha)
{
    if (activation < FNN_IDENTITY || activation >= FNN_ACTIVATION_COUNT || n < 0 || d < 0)
        return FNN_EINVAL;
    FN(activation_job) job = {fnn_activation_kernels(), activation, d, S, NULL, NULL,
                              lds, 0, ldh, 0, H, alpha};
    fnn_parallel_for(fnn_threads_for((double)n * (double)d * 8.0), n, FNN_ROWS_PER_CLAIM(d),
                     FN(activation_forward_range), &job);
    return FNN_OK;
}

int FN(fnn_activation_backward)(int activation, fnn_index n, fnn_index d,
                                const REAL *dH, fnn_index lddh, const REAL *H, fnn_index ldh,
                                REAL *dS, fnn_index ldds, REAL alpha)
{
    if (activation < FNN_IDENTITY || activation >= FNN_ACTIVATION_COUNT || n < 0 || d < 0)
        return FNN_EINVAL;
    FN(activation_job) job = {fnn_activation_kernels(), activation, d, NULL, dH, H,
                              0, lddh, ldh, ldds, dS, alpha};
    fnn_parallel_for(fnn_threads_for((double)n * (double)d * 2.0), n, FNN_ROWS_PER_CLAIM(d),
                     FN(activation_backward_range), &job);
    return FNN_OK;
}

int FN(fnn_vmath)(int fn, fnn_index n, const REAL *x, REAL *y)
{
    if (fn < FNN_VMATH_EXP || fn > FNN_VMATH_LOG1P || n < 0) return FNN_EINVAL;
    FN(fnn_activation_kernels()->vmath)(fn, n, x, y);
    return FNN_OK;
}
#endif

#endif /* REAL */

#ifndef REAL /* ---- once per level: the table of this level's kernels ---- */

const fnn_activation_arch LEVEL(fnn_activation) = {
    .forward_f32 = activation_forward_rows_f32,
    .forward_f64 = activation_forward_rows_f64,
    .backward_f32 = activation_backward_rows_f32,
    .backward_f64 = activation_backward_rows_f64,
    .vmath_f32 = activation_vmath_f32,
    .vmath_f64 = activation_vmath_f64,
};

#if FNN_LEVEL == FNN_LEVEL_GENERIC
const fnn_activation_arch *fnn_activation_kernels(void)
{
    return FNN_ARCH_FOR_LEVEL(fnn_activation_generic, fnn_activation_avx2,
                              fnn_activation_avx512);
}

int fnn_activation_info(int code, const char **name, int *takes_alpha, double *default_alpha)
{
    switch (code) {
#define FNN_ACTIVATION_INFO(c, n, t, a)                                                  \
    case c:                                                                             \
        *name = n;                                                                      \
        *takes_alpha = t;                                                               \
        *default_alpha = a;                                                             \
        return FNN_OK;
        FNN_ACTIVATIONS(FNN_ACTIVATION_INFO)
#undef FNN_ACTIVATION_INFO
    default:
        return FNN_EINVAL;
    }
}
#endif

#endif /* REAL */
