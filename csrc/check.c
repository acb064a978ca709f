/*
 * check.c: finiteness checks of fit's data.
 *
 * fit checks its data before it trains: either in one threaded pass over the whole
 * set (fnn_all_finite), or, for a large set trained by the engine, row by row as the
 * first epoch gathers its batches (copy_finite_block), which saves a pass at memory
 * bandwidth. x * 0 is 0 for a finite x and NaN for an infinity or a NaN, so a sum of
 * such products in fixed lanes (which the compiler vectorises) is NaN exactly when
 * some element is not finite.
 *
 * setup.py compiles this file once per SIMD level (simd_level.h): each compile fills
 * the table LEVEL(fnn_check) with its kernels, and the generic one also holds the
 * entry points, which use the table of the level in use. The per-type section is
 * compiled for float and for double: this file includes itself through instantiate.h.
 */
#ifndef REAL /* ---- once per level: the per-type section, for both types ---- */
#include "simd_level.h"

/* independent running sums: enough for the compiler to fill whole vectors at any level */
#define FNN_CHECK_LANES 16

FNN_TARGET_BEGIN
#define FNN_TEMPLATE "check.c"
#include "instantiate.h"
FNN_TARGET_END

#else /* ---- once per type: REAL, FN() ---- */

/* 1 when x[0..n) holds no NaN and no infinity */
static int FN(finite_block)(fnn_index n, const REAL *restrict x)
{
    REAL lane[FNN_CHECK_LANES] = {0};
    fnn_index i = 0;
    for (; i + FNN_CHECK_LANES <= n; i += FNN_CHECK_LANES)
        for (int k = 0; k < FNN_CHECK_LANES; ++k) lane[k] += x[i + k] * (REAL)0;
    REAL total = 0;
    for (; i < n; ++i) total += x[i] * (REAL)0;
    for (int k = 0; k < FNN_CHECK_LANES; ++k) total += lane[k];
    return total == total;
}

/* dst[0..n) = src[0..n), and 1 when the values copied hold no NaN and no infinity:
   the check rides on the copy's loads instead of reading the data a second time */
static int FN(copy_finite_block)(fnn_index n, const REAL *restrict src, REAL *restrict dst)
{
    REAL lane[FNN_CHECK_LANES] = {0};
    fnn_index i = 0;
    for (; i + FNN_CHECK_LANES <= n; i += FNN_CHECK_LANES)
        for (int k = 0; k < FNN_CHECK_LANES; ++k) {
            const REAL v = src[i + k];
            dst[i + k] = v;
            lane[k] += v * (REAL)0;
        }
    REAL total = 0;
    for (; i < n; ++i) {
        dst[i] = src[i];
        total += src[i] * (REAL)0;
    }
    for (int k = 0; k < FNN_CHECK_LANES; ++k) total += lane[k];
    return total == total;
}

#if FNN_LEVEL == FNN_LEVEL_GENERIC
/* The public entry point: threads split the array, each checks its pieces at the
   level in use. */

typedef struct {
    const fnn_check_arch *arch;
    const REAL *x;
    int bad;
} FN(finite_job);

static void FN(finite_range)(void *ctx, fnn_index begin, fnn_index end)
{
    FN(finite_job) *job = ctx;
    if (!FN(job->arch->finite)(end - begin, job->x + begin)) {
#pragma omp atomic write
        job->bad = 1;
    }
}

int FN(fnn_all_finite)(fnn_index n, const REAL *x)
{
    if (n < 0) return FNN_EINVAL;
    FN(finite_job) job = {fnn_check_kernels(), x, 0};
    fnn_parallel_for(fnn_threads_for((double)n), n, 1 << 16, FN(finite_range), &job);
    return !job.bad;
}
#endif

#endif /* REAL */

#ifndef REAL /* ---- once per level: the table of this level's kernels ---- */

const fnn_check_arch LEVEL(fnn_check) = {
    .finite_f32 = finite_block_f32,
    .finite_f64 = finite_block_f64,
    .copy_finite_f32 = copy_finite_block_f32,
    .copy_finite_f64 = copy_finite_block_f64,
};

#if FNN_LEVEL == FNN_LEVEL_GENERIC
const fnn_check_arch *fnn_check_kernels(void)
{
    return FNN_ARCH_FOR_LEVEL(fnn_check_generic, fnn_check_avx2, fnn_check_avx512);
}
#endif

#endif /* REAL */
