/*
 * Finiteness checks, instantiated per type by instantiate.h and per SIMD level by
 * check.c (generic), check_avx2.c and check_avx512.c: each fills one fnn_check_arch
 * table with the static kernels below.
 *
 * fit checks its data before it trains: either in one threaded pass over the whole
 * set (fnn_all_finite), or, for a large set trained by the engine, row by row as the
 * first epoch gathers its batches (copy_finite), which saves a pass at memory
 * bandwidth. x * 0 is 0 for a finite x and NaN for an infinity or a NaN, so a sum of
 * such products in fixed lanes (which the compiler vectorises) is NaN exactly when
 * some element is not finite.
 */
#ifndef FNN_CHECK_LANES
#define FNN_CHECK_LANES 16
#endif

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

#ifdef FNN_CHECK_DRIVER
/* The public entry point (compiled once, in check.c): threads split the array. */

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
