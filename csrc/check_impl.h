/*
 * fnn_all_finite: does an array hold only finite values? Instantiated per type
 * by check.c (see instantiate.h).
 *
 * fit checks its whole data set once per call, before the first update; for a
 * data set larger than the caches that is a pass at memory bandwidth, so it is
 * split between threads and reads each element once without a temporary.
 * x * 0 is 0 for a finite x and NaN for an infinity or a NaN, so a sum of such
 * products in fixed lanes (which the compiler vectorises) is NaN exactly when
 * some element is not finite.
 */
#ifndef FNN_CHECK_LANES
#define FNN_CHECK_LANES 16
#endif

typedef struct {
    const REAL *x;
    int bad;
} FN(finite_job);

static void FN(finite_range)(void *ctx, fnn_index begin, fnn_index end)
{
    FN(finite_job) *job = ctx;
    const REAL *x = job->x;
    REAL lane[FNN_CHECK_LANES] = {0};
    fnn_index i = begin;
    for (; i + FNN_CHECK_LANES <= end; i += FNN_CHECK_LANES)
        for (int k = 0; k < FNN_CHECK_LANES; ++k) lane[k] += x[i + k] * (REAL)0;
    REAL total = 0;
    for (; i < end; ++i) total += x[i] * (REAL)0;
    for (int k = 0; k < FNN_CHECK_LANES; ++k) total += lane[k];
    if (total != total) {
#pragma omp atomic write
        job->bad = 1;
    }
}

int FN(fnn_all_finite)(fnn_index n, const REAL *x)
{
    if (n < 0) return FNN_EINVAL;
    FN(finite_job) job = {x, 0};
    fnn_parallel_for(fnn_threads_for((double)n), n, 1 << 16, FN(finite_range), &job);
    return !job.bad;
}
