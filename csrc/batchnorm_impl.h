/*
 * Batch normalisation, instantiated per type by instantiate.h and per SIMD
 * level by batchnorm.c (generic, plus the entry points), batchnorm_avx2.c and
 * batchnorm_avx512.c.
 *
 * The columns are cut into fixed blocks of FNN_COLUMN_BLOCK; one thread takes a
 * whole block and sweeps its rows in order, so each column's statistics are
 * summed in the same order whatever the thread count. Forward and backward
 * each sweep a block twice (statistics, then the output); a block of a
 * 256-row batch stays in L2 between the sweeps, and within a row the columns
 * of a block are contiguous, so every sweep is vector code.
 */

/* A whole block's column statistics as NV vectors of 64 bytes (GCC vector extensions,
   lowered to what the target has): they stay in registers across the sweep over the
   rows. As plain arrays indexed by a variable width they went through memory each
   row, a store-to-load chain (0.16 ns per element for float32, one thread). */
#define BN_VLEN (64 / (int)sizeof(REAL))
#define BN_NV (FNN_COLUMN_BLOCK / BN_VLEN)
typedef REAL FN(bn_vec) __attribute__((vector_size(64)));
typedef REAL FN(bn_uvec) __attribute__((vector_size(64), aligned(sizeof(REAL))));

/* Welford's update, as below, on a whole block: mean and m2 of each column */
static void FN(batchnorm_welford_block)(fnn_index n, const REAL *restrict S, fnn_index lds,
                                        REAL *restrict mu_out, REAL *restrict m2_out)
{
    FN(bn_vec) mu[BN_NV], m2[BN_NV];
    FNN_UNROLL
    for (int v = 0; v < BN_NV; ++v) {
        mu[v] = *(const FN(bn_uvec) *)(S + v * BN_VLEN);
        m2[v] = (FN(bn_vec)){0};
    }
    for (fnn_index i = 1; i < n; ++i) {
        const REAL *restrict s = S + i * lds;
        const REAL inv_count = (REAL)1 / (REAL)(i + 1);
        FNN_UNROLL
        for (int v = 0; v < BN_NV; ++v) {
            const FN(bn_vec) x = *(const FN(bn_uvec) *)(s + v * BN_VLEN);
            const FN(bn_vec) delta = x - mu[v];
            mu[v] += delta * inv_count;
            m2[v] += delta * (x - mu[v]);
        }
    }
    FNN_UNROLL
    for (int v = 0; v < BN_NV; ++v) {
        *(FN(bn_uvec) *)(mu_out + v * BN_VLEN) = mu[v];
        *(FN(bn_uvec) *)(m2_out + v * BN_VLEN) = m2[v];
    }
}

/* column sums of dy and of dy (s - mu) over a whole block */
static void FN(batchnorm_dsums_block)(fnn_index n, const REAL *restrict dY, fnn_index lddy,
                                      const REAL *restrict S, fnn_index lds,
                                      const REAL *restrict mu_in, REAL *restrict sum_dy_out,
                                      REAL *restrict sum_dy_xc_out)
{
    FN(bn_vec) mu[BN_NV], sdy[BN_NV], sdyx[BN_NV];
    FNN_UNROLL
    for (int v = 0; v < BN_NV; ++v) {
        mu[v] = *(const FN(bn_uvec) *)(mu_in + v * BN_VLEN);
        sdy[v] = sdyx[v] = (FN(bn_vec)){0};
    }
    for (fnn_index i = 0; i < n; ++i) {
        const REAL *restrict dy = dY + i * lddy;
        const REAL *restrict s = S + i * lds;
        FNN_UNROLL
        for (int v = 0; v < BN_NV; ++v) {
            const FN(bn_vec) g = *(const FN(bn_uvec) *)(dy + v * BN_VLEN);
            sdy[v] += g;
            sdyx[v] += g * (*(const FN(bn_uvec) *)(s + v * BN_VLEN) - mu[v]);
        }
    }
    FNN_UNROLL
    for (int v = 0; v < BN_NV; ++v) {
        *(FN(bn_uvec) *)(sum_dy_out + v * BN_VLEN) = sdy[v];
        *(FN(bn_uvec) *)(sum_dy_xc_out + v * BN_VLEN) = sdyx[v];
    }
}

static void FN(batchnorm_forward_block)(fnn_index n, fnn_index w, const REAL *restrict S,
                                        fnn_index lds, const REAL *restrict gamma,
                                        const REAL *restrict beta, REAL eps,
                                        REAL *restrict Y, fnn_index ldy,
                                        REAL *restrict mean, REAL *restrict var)
{
    REAL mu[FNN_COLUMN_BLOCK], m2[FNN_COLUMN_BLOCK], scale[FNN_COLUMN_BLOCK];

    /* Welford's update: the mean and the centred sum of squares in one sweep,
       without the cancellation of sum(s^2) - n mean^2 */
    if (w == FNN_COLUMN_BLOCK) {
        FN(batchnorm_welford_block)(n, S, lds, mu, m2);
    } else {
        for (fnn_index j = 0; j < w; ++j) {
            mu[j] = S[j];
            m2[j] = 0;
        }
        for (fnn_index i = 1; i < n; ++i) {
            const REAL *restrict s = S + i * lds;
            const REAL inv_count = (REAL)1 / (REAL)(i + 1);
            for (fnn_index j = 0; j < w; ++j) {
                const REAL delta = s[j] - mu[j];
                mu[j] += delta * inv_count;
                m2[j] += delta * (s[j] - mu[j]);
            }
        }
    }
    for (fnn_index j = 0; j < w; ++j) {
        const REAL v = m2[j] / (REAL)n;
        mean[j] = mu[j];
        var[j] = v;
        scale[j] = gamma[j] / MATH(sqrt)(v + eps);
    }

    for (fnn_index i = 0; i < n; ++i) {
        const REAL *restrict s = S + i * lds;
        REAL *restrict y = Y + i * ldy;
        for (fnn_index j = 0; j < w; ++j) y[j] = (s[j] - mu[j]) * scale[j] + beta[j];
    }
}

static void FN(batchnorm_backward_block)(fnn_index n, fnn_index w, const REAL *restrict dY,
                                         fnn_index lddy, const REAL *restrict S, fnn_index lds,
                                         const REAL *restrict gamma, const REAL *restrict mean,
                                         const REAL *restrict var, REAL eps,
                                         REAL *restrict dS, fnn_index ldds,
                                         REAL *restrict dgamma, REAL *restrict dbeta)
{
    REAL sum_dy[FNN_COLUMN_BLOCK], sum_dy_xc[FNN_COLUMN_BLOCK], mu[FNN_COLUMN_BLOCK];
    REAL a[FNN_COLUMN_BLOCK], b[FNN_COLUMN_BLOCK], c[FNN_COLUMN_BLOCK];

    for (fnn_index j = 0; j < w; ++j) {
        sum_dy[j] = 0;
        sum_dy_xc[j] = 0;
        mu[j] = mean[j];
    }
    if (w == FNN_COLUMN_BLOCK) {
        FN(batchnorm_dsums_block)(n, dY, lddy, S, lds, mu, sum_dy, sum_dy_xc);
    } else {
        for (fnn_index i = 0; i < n; ++i) {
            const REAL *restrict dy = dY + i * lddy;
            const REAL *restrict s = S + i * lds;
            for (fnn_index j = 0; j < w; ++j) {
                sum_dy[j] += dy[j];
                sum_dy_xc[j] += dy[j] * (s[j] - mu[j]);
            }
        }
    }

    /* the three terms of dJ/ds_i, folded into a dy + b (s - mean) + c */
    for (fnn_index j = 0; j < w; ++j) {
        const REAL g = gamma[j];
        const REAL inv_std = (REAL)1 / MATH(sqrt)(var[j] + eps);
        const REAL dJ_dvar = (REAL)-0.5 * g * sum_dy_xc[j] * inv_std * inv_std * inv_std;
        const REAL dJ_dmean = -g * inv_std * sum_dy[j];
        a[j] = g * inv_std;
        b[j] = (REAL)2 / (REAL)n * dJ_dvar;
        c[j] = dJ_dmean / (REAL)n;
        dgamma[j] = sum_dy_xc[j] * inv_std;
        dbeta[j] = sum_dy[j];
    }

    for (fnn_index i = 0; i < n; ++i) {
        const REAL *restrict dy = dY + i * lddy;
        const REAL *restrict s = S + i * lds;
        REAL *restrict ds = dS + i * ldds;
        for (fnn_index j = 0; j < w; ++j) ds[j] = a[j] * dy[j] + b[j] * (s[j] - mu[j]) + c[j];
    }
}

#ifdef FNN_BATCHNORM_DRIVER
/* The public entry points (compiled once, in batchnorm.c): pick the level's table. */

typedef struct {
    const fnn_batchnorm_arch *arch;
    fnn_index n, d;
    const REAL *S, *dY, *gamma, *beta, *mean_in, *var_in;
    fnn_index lds, lddy, ldout;
    REAL eps, *out, *stat1, *stat2;
} FN(batchnorm_job);

/* column blocks [b0, b1) of the forward pass (stat1, stat2: mean, var) */
static void FN(batchnorm_forward_range)(void *ctx, fnn_index b0, fnn_index b1)
{
    const FN(batchnorm_job) *j = ctx;
    for (fnn_index blk = b0; blk < b1; ++blk) {
        const fnn_index j0 = blk * FNN_COLUMN_BLOCK;
        const fnn_index w = FNN_MIN((fnn_index)FNN_COLUMN_BLOCK, j->d - j0);
        FN(j->arch->forward)(j->n, w, j->S + j0, j->lds, j->gamma + j0, j->beta + j0, j->eps,
                             j->out + j0, j->ldout, j->stat1 + j0, j->stat2 + j0);
    }
}

/* ... of the backward pass (stat1, stat2: dgamma, dbeta) */
static void FN(batchnorm_backward_range)(void *ctx, fnn_index b0, fnn_index b1)
{
    const FN(batchnorm_job) *j = ctx;
    for (fnn_index blk = b0; blk < b1; ++blk) {
        const fnn_index j0 = blk * FNN_COLUMN_BLOCK;
        const fnn_index w = FNN_MIN((fnn_index)FNN_COLUMN_BLOCK, j->d - j0);
        FN(j->arch->backward)(j->n, w, j->dY + j0, j->lddy, j->S + j0, j->lds, j->gamma + j0,
                              j->mean_in + j0, j->var_in + j0, j->eps, j->out + j0, j->ldout,
                              j->stat1 + j0, j->stat2 + j0);
    }
}

int FN(fnn_batchnorm_forward)(fnn_index n, fnn_index d, const REAL *S, fnn_index lds,
                              const REAL *gamma, const REAL *beta, REAL eps,
                              REAL *Y, fnn_index ldy, REAL *mean, REAL *var)
{
    if (n < 2 || d < 0) return FNN_EINVAL;
    FN(batchnorm_job) job = {fnn_batchnorm_kernels(), n, d, S, NULL, gamma, beta, NULL, NULL,
                             lds, 0, ldy, eps, Y, mean, var};
    fnn_parallel_for(fnn_threads_for((double)n * (double)d * 4.0),
                     (d + FNN_COLUMN_BLOCK - 1) / FNN_COLUMN_BLOCK, 1,
                     FN(batchnorm_forward_range), &job);
    return FNN_OK;
}

int FN(fnn_batchnorm_backward)(fnn_index n, fnn_index d, const REAL *dY, fnn_index lddy,
                               const REAL *S, fnn_index lds, const REAL *gamma,
                               const REAL *mean, const REAL *var, REAL eps,
                               REAL *dS, fnn_index ldds, REAL *dgamma, REAL *dbeta)
{
    if (n < 2 || d < 0) return FNN_EINVAL;
    FN(batchnorm_job) job = {fnn_batchnorm_kernels(), n, d, S, dY, gamma, NULL, mean, var,
                             lds, lddy, ldds, eps, dS, dgamma, dbeta};
    fnn_parallel_for(fnn_threads_for((double)n * (double)d * 4.0),
                     (d + FNN_COLUMN_BLOCK - 1) / FNN_COLUMN_BLOCK, 1,
                     FN(batchnorm_backward_range), &job);
    return FNN_OK;
}
#endif
