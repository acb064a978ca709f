/*
 * dropout.c: inverted dropout, its mask regenerated from the counter (rng.h), rows split
 * between threads.
 *
 * Forward and backward are one map, Y = X * keep / (1 - p): the forward pass applies it
 * to the layer's input H, the backward pass to the upstream gradient dY, with the same
 * (seed, step) and so the same mask. The mask is drawn again element by element from
 * the counter and never stored. A dropped element is multiplied by 0 rather than set
 * to 0, so a NaN stays NaN.
 *
 * The hash is most of the work, and its 64-bit multiplies vectorise only where the
 * target has them (AVX-512DQ) or emulates them cheaply enough (AVX2), so setup.py
 * compiles this file once per SIMD level (simd_level.h): each compile fills the table
 * LEVEL(fnn_dropout) with its row loop, and the generic one also holds the entry
 * points, which use the table of the level in use. Integer arithmetic and one rounding
 * per element, so every level gives the same bits. The per-type section is compiled
 * for float and for double: this file includes itself through instantiate.h.
 */
#ifndef REAL /* ---- once per level: the per-type section, for both types ---- */
#include <string.h>

#include "simd_level.h"
#include "rng.h"

FNN_TARGET_BEGIN
#define FNN_TEMPLATE "dropout.c"
#include "instantiate.h"
FNN_TARGET_END

#else /* ---- once per type: REAL, FN(), MATH() ---- */

typedef struct {
    fnn_index d;
    const REAL *X;
    fnn_index ldx;
    REAL *Y;
    fnn_index ldy;
    uint64_t key, threshold;
    REAL scale;
} FN(dropout_job);

/* rows [i0, i1) of a job: y = x keep scale */
static void FN(dropout_rows)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(dropout_job) *job = ctx;
    const fnn_index d = job->d;
    for (fnn_index i = i0; i < i1; ++i) {
        const REAL *restrict x = job->X + i * job->ldx;
        REAL *restrict y = job->Y + i * job->ldy;
        const uint64_t first = (uint64_t)i * (uint64_t)d; /* row-major index of x[0] */
        for (fnn_index j = 0; j < d; ++j) {
            /* keep is 0 or 1: converted and multiplied rather than selected, so that no
               branch follows the random mask and the loop vectorises */
            const int keep = fnn_dropout_keep(job->key, first + (uint64_t)j, job->threshold);
            y[j] = x[j] * ((REAL)keep * job->scale);
        }
    }
}

#if FNN_LEVEL == FNN_LEVEL_GENERIC
/* The public entry points (in the generic compile): they pick the level's table. */

static void FN(dropout_copy_rows)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(dropout_job) *job = ctx;
    for (fnn_index i = i0; i < i1; ++i)
        memcpy(job->Y + i * job->ldy, job->X + i * job->ldx, (size_t)job->d * sizeof(REAL));
}

static int FN(dropout_apply)(fnn_index n, fnn_index d, const REAL *X, fnn_index ldx, double p,
                             uint64_t seed, int64_t step, REAL *Y, fnn_index ldy)
{
    if (n < 0 || d < 0 || !(p >= 0.0 && p < 1.0) || step < 0) return FNN_EINVAL;
    FN(dropout_job) job = {d, X, ldx, Y, ldy, fnn_dropout_key(seed, step),
                           fnn_dropout_threshold(p), (REAL)(1.0 / (1.0 - p))};
    /* p == 0 keeps every element and scales by 1: a copy */
    const double per_element = p == 0.0 ? 0.5 : 4.0;
    fnn_parallel_for(fnn_threads_for((double)n * (double)d * per_element), n,
                     FNN_ROWS_PER_CLAIM(d),
                     p == 0.0 ? FN(dropout_copy_rows) : FN(fnn_dropout_kernels()->rows), &job);
    return FNN_OK;
}

int FN(fnn_dropout_forward)(fnn_index n, fnn_index d, const REAL *H, fnn_index ldh, double p,
                            uint64_t seed, int64_t step, REAL *Y, fnn_index ldy)
{
    return FN(dropout_apply)(n, d, H, ldh, p, seed, step, Y, ldy);
}

int FN(fnn_dropout_backward)(fnn_index n, fnn_index d, const REAL *dY, fnn_index lddy, double p,
                             uint64_t seed, int64_t step, REAL *dH, fnn_index lddh)
{
    return FN(dropout_apply)(n, d, dY, lddy, p, seed, step, dH, lddh);
}
#endif

#endif /* REAL */

#ifndef REAL /* ---- once per level: the table of this level's kernels ---- */

const fnn_dropout_arch LEVEL(fnn_dropout) = {
    .rows_f32 = dropout_rows_f32,
    .rows_f64 = dropout_rows_f64,
};

#if FNN_LEVEL == FNN_LEVEL_GENERIC
const fnn_dropout_arch *fnn_dropout_kernels(void)
{
    return FNN_ARCH_FOR_LEVEL(fnn_dropout_generic, fnn_dropout_avx2, fnn_dropout_avx512);
}
#endif

#endif /* REAL */
