/*
 * Inverted dropout, instantiated per type by dropout.c (see instantiate.h).
 *
 * Forward and backward are one map, Y = X * keep / (1 - p): the forward pass applies it
 * to the layer's input H, the backward pass to the upstream gradient dY, with the same
 * (seed, step) and so the same mask. The mask is drawn again element by element from
 * the counter (rng.h) and never stored. A dropped element is multiplied by 0 rather
 * than set to 0, so a NaN stays NaN.
 */

typedef struct {
    fnn_index d;
    const REAL *X;
    fnn_index ldx;
    REAL *Y;
    fnn_index ldy;
    uint64_t key, threshold;
    REAL scale;
} FN(dropout_job);

/* rows [i0, i1): y = x keep scale. Always inlined into one copy per SIMD level below. */
static inline __attribute__((always_inline)) void FN(dropout_rows)(const FN(dropout_job) *job,
                                                                   fnn_index i0, fnn_index i1)
{
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

/*
 * The hash is most of the work, and its 64-bit multiplies vectorise only where the
 * target has them (AVX-512DQ) or emulates them cheaply enough (AVX2): the same loop is
 * compiled for each level here and picked by fnn_simd_level(). Integer arithmetic and one
 * rounding per element, so every level gives the same bits.
 */
static void FN(dropout_rows_generic)(void *ctx, fnn_index i0, fnn_index i1)
{
    FN(dropout_rows)(ctx, i0, i1);
}

#ifdef FNN_HAVE_X86_SIMD
__attribute__((target("avx2,fma"))) static void FN(dropout_rows_avx2)(void *ctx, fnn_index i0,
                                                                      fnn_index i1)
{
    FN(dropout_rows)(ctx, i0, i1);
}

__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma,prefer-vector-width=512"))) static void
FN(dropout_rows_avx512)(void *ctx, fnn_index i0, fnn_index i1)
{
    FN(dropout_rows)(ctx, i0, i1);
}
#endif

static fnn_range_body FN(dropout_rows_for_level)(void)
{
#ifdef FNN_HAVE_X86_SIMD
    const int level = fnn_simd_level();
    if (level >= FNN_SIMD_AVX512) return FN(dropout_rows_avx512);
    if (level == FNN_SIMD_AVX2) return FN(dropout_rows_avx2);
#endif
    return FN(dropout_rows_generic);
}

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
                     p == 0.0 ? FN(dropout_copy_rows) : FN(dropout_rows_for_level)(), &job);
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
