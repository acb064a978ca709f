/*
 * batchnorm.c: batch statistics, normalisation and the three-term gradient, eval mode
 * with the running statistics, and the running averages' update.
 *
 * Forward and backward each make two sweeps. The first computes each column's
 * statistics (mean and variance; the sums of the gradient): the columns are cut
 * into fixed blocks of FNN_COLUMN_BLOCK, and one thread takes a whole block and
 * sweeps its rows in order, so every column is summed in the same order
 * whatever the thread count. The second, elementwise, writes the output from
 * per-column coefficients, and threads take whole rows: a row is contiguous, so
 * the sweep streams through memory. Sweeping a block's rows instead jumps by the
 * row stride, and with rows of 4 KiB (512 float64) every row of every array
 * falls on the same cache sets and store addresses alias the next row's loads.
 *
 * setup.py compiles this file once per SIMD level (simd_level.h): each compile fills
 * the table LEVEL(fnn_batchnorm) with its block and row kernels, and the generic one
 * also holds the entry points, which use the table of the level in use. The per-type
 * section is compiled for float and for double: this file includes itself through
 * instantiate.h.
 */
#ifndef REAL /* ---- once per level: the per-type section, for both types ---- */
#include <math.h>

#include "simd_level.h"

FNN_TARGET_BEGIN
#define FNN_TEMPLATE "batchnorm.c"
#include "instantiate.h"
FNN_TARGET_END

#else /* ---- once per type: REAL, FN(), MATH() ---- */

/* A whole block's column statistics as NV vectors of 64 bytes (GCC vector extensions,
   lowered to what the target has): they stay in registers across the sweep over the
   rows. Plain arrays indexed by a variable width would go through memory each row,
   a store-to-load chain. */
#define BN_VLEN (64 / (int)sizeof(REAL))
#define BN_NV (FNN_COLUMN_BLOCK / BN_VLEN)
typedef REAL FN(bn_vec) __attribute__((vector_size(64)));
typedef REAL FN(bn_uvec) __attribute__((vector_size(64), aligned(sizeof(REAL))));

/* The per-column factor of the normalisation, gamma / sqrt(var + eps): y = (s - mean) scale + beta */
static inline REAL FN(batchnorm_scale)(REAL gamma, REAL var, REAL eps)
{
    return gamma / MATH(sqrt)(var + eps);
}

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

/* mean, var (biased) and scale = gamma / sqrt(var + eps) of a block of w columns */
static void FN(batchnorm_forward_stats)(fnn_index n, fnn_index w, const REAL *restrict S,
                                        fnn_index lds, const REAL *restrict gamma, REAL eps,
                                        REAL *restrict mean, REAL *restrict var,
                                        REAL *restrict scale)
{
    REAL mu[FNN_COLUMN_BLOCK], m2[FNN_COLUMN_BLOCK];

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
        scale[j] = FN(batchnorm_scale)(gamma[j], v, eps);
    }
}

/* Y = (S - mean) scale + beta on m whole rows of d columns */
static void FN(batchnorm_forward_rows)(fnn_index m, fnn_index d, const REAL *restrict S,
                                       fnn_index lds, const REAL *restrict mean,
                                       const REAL *restrict scale, const REAL *restrict beta,
                                       REAL *restrict Y, fnn_index ldy)
{
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *restrict s = S + i * lds;
        REAL *restrict y = Y + i * ldy;
        for (fnn_index j = 0; j < d; ++j) y[j] = (s[j] - mean[j]) * scale[j] + beta[j];
    }
}

/* The backward pass's sums over a block of w columns, dgamma and dbeta, and the
   coefficients of dJ/ds = a dy + b (s - mean) + c (the three terms, folded) */
static void FN(batchnorm_backward_sums)(fnn_index n, fnn_index w, const REAL *restrict dY,
                                        fnn_index lddy, const REAL *restrict S, fnn_index lds,
                                        const REAL *restrict gamma, const REAL *restrict mean,
                                        const REAL *restrict var, REAL eps,
                                        REAL *restrict a, REAL *restrict b, REAL *restrict c,
                                        REAL *restrict dgamma, REAL *restrict dbeta)
{
    REAL sum_dy[FNN_COLUMN_BLOCK], sum_dy_xc[FNN_COLUMN_BLOCK], mu[FNN_COLUMN_BLOCK];

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
}

/* dS = a dY + b (S - mean) + c on m whole rows of d columns */
static void FN(batchnorm_backward_rows)(fnn_index m, fnn_index d, const REAL *restrict dY,
                                        fnn_index lddy, const REAL *restrict S, fnn_index lds,
                                        const REAL *restrict mean, const REAL *restrict a,
                                        const REAL *restrict b, const REAL *restrict c,
                                        REAL *restrict dS, fnn_index ldds)
{
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *restrict dy = dY + i * lddy;
        const REAL *restrict s = S + i * lds;
        REAL *restrict ds = dS + i * ldds;
        for (fnn_index j = 0; j < d; ++j) ds[j] = a[j] * dy[j] + b[j] * (s[j] - mean[j]) + c[j];
    }
}

#if FNN_LEVEL == FNN_LEVEL_GENERIC
/* The public entry points (in the generic compile): they pick the level's table. */

typedef struct {
    const fnn_batchnorm_arch *arch;
    fnn_index n, d;
    const REAL *S, *dY, *gamma, *beta, *mean, *var;
    fnn_index lds, lddy, ldout;
    REAL eps, *out;
    REAL *coef;             /* d x 3 of scratch: scale (forward); a, b, c (backward) */
    REAL *stat1, *stat2;    /* mean, var (forward); dgamma, dbeta (backward) */
} FN(batchnorm_job);

#define FNN_BN_BLOCKS(d) (((d) + FNN_COLUMN_BLOCK - 1) / FNN_COLUMN_BLOCK)
/* block blk's first column and width */
#define FNN_BN_BLOCK(job, blk, j0, w)                                                       \
    const fnn_index j0 = (blk) * FNN_COLUMN_BLOCK,                                         \
                    w = FNN_MIN((fnn_index)FNN_COLUMN_BLOCK, (job)->d - j0)

static void FN(batchnorm_forward_stats_range)(void *ctx, fnn_index b0, fnn_index b1)
{
    const FN(batchnorm_job) *j = ctx;
    for (fnn_index blk = b0; blk < b1; ++blk) {
        FNN_BN_BLOCK(j, blk, j0, w);
        FN(j->arch->forward_stats)(j->n, w, j->S + j0, j->lds, j->gamma + j0, j->eps,
                                   j->stat1 + j0, j->stat2 + j0, j->coef + j0);
    }
}

static void FN(batchnorm_forward_rows_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(batchnorm_job) *j = ctx;
    FN(j->arch->forward_rows)(i1 - i0, j->d, j->S + i0 * j->lds, j->lds, j->stat1, j->coef,
                              j->beta, j->out + i0 * j->ldout, j->ldout);
}

static void FN(batchnorm_backward_sums_range)(void *ctx, fnn_index b0, fnn_index b1)
{
    const FN(batchnorm_job) *j = ctx;
    for (fnn_index blk = b0; blk < b1; ++blk) {
        FNN_BN_BLOCK(j, blk, j0, w);
        FN(j->arch->backward_sums)(j->n, w, j->dY + j0, j->lddy, j->S + j0, j->lds,
                                   j->gamma + j0, j->mean + j0, j->var + j0, j->eps,
                                   j->coef + j0, j->coef + j->d + j0, j->coef + 2 * j->d + j0,
                                   j->stat1 + j0, j->stat2 + j0);
    }
}

static void FN(batchnorm_backward_rows_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(batchnorm_job) *j = ctx;
    FN(j->arch->backward_rows)(i1 - i0, j->d, j->dY + i0 * j->lddy, j->lddy,
                               j->S + i0 * j->lds, j->lds, j->mean, j->coef, j->coef + j->d,
                               j->coef + 2 * j->d, j->out + i0 * j->ldout, j->ldout);
}

/* threads for a sweep of the n x d batch; every sweep is about this much work */
static int FN(batchnorm_threads)(fnn_index n, fnn_index d)
{
    return fnn_threads_for((double)n * (double)d * 2.0);
}

int FN(fnn_batchnorm_forward)(fnn_index n, fnn_index d, const REAL *S, fnn_index lds,
                              const REAL *gamma, const REAL *beta, REAL eps,
                              REAL *Y, fnn_index ldy, REAL *mean, REAL *var)
{
    if (n < 2 || d < 0) return FNN_EINVAL;
    if (d == 0) return FNN_OK;
    REAL *scale = (REAL *)fnn_scratch(FNN_SCRATCH_BATCHNORM, (size_t)d * sizeof(REAL));
    if (!scale) return FNN_ENOMEM;
    FN(batchnorm_job) job = {fnn_batchnorm_kernels(), n, d, S, NULL, gamma, beta, mean, var,
                             lds, 0, ldy, eps, Y, scale, mean, var};
    const int threads = FN(batchnorm_threads)(n, d);
    fnn_parallel_for(threads, FNN_BN_BLOCKS(d), 1, FN(batchnorm_forward_stats_range), &job);
    fnn_parallel_for(threads, n, FNN_ROWS_PER_CLAIM(d), FN(batchnorm_forward_rows_range), &job);
    return FNN_OK;
}

int FN(fnn_batchnorm_backward)(fnn_index n, fnn_index d, const REAL *dY, fnn_index lddy,
                               const REAL *S, fnn_index lds, const REAL *gamma,
                               const REAL *mean, const REAL *var, REAL eps,
                               REAL *dS, fnn_index ldds, REAL *dgamma, REAL *dbeta)
{
    if (n < 2 || d < 0) return FNN_EINVAL;
    if (d == 0) return FNN_OK;
    REAL *coef = (REAL *)fnn_scratch(FNN_SCRATCH_BATCHNORM, (size_t)(3 * d) * sizeof(REAL));
    if (!coef) return FNN_ENOMEM;
    FN(batchnorm_job) job = {fnn_batchnorm_kernels(), n, d, S, dY, gamma, NULL, mean, var,
                             lds, lddy, ldds, eps, dS, coef, dgamma, dbeta};
    const int threads = FN(batchnorm_threads)(n, d);
    fnn_parallel_for(threads, FNN_BN_BLOCKS(d), 1, FN(batchnorm_backward_sums_range), &job);
    fnn_parallel_for(threads, n, FNN_ROWS_PER_CLAIM(d), FN(batchnorm_backward_rows_range), &job);
    return FNN_OK;
}

/* ---- the engine's batch norm and activation in one region (internal.h) ----
   The column blocks of the statistics and the rows of the elementwise sweeps are
   split as fnn_parallel_for's static split would split them, with a barrier where a
   sweep needs the whole result of the one before. */

typedef struct {
    FN(batchnorm_job) bn;
    const fnn_activation_arch *act;
    int activation;
    REAL alpha;
    const REAL *dH, *H;     /* backward: the activation's gradient and output */
    REAL *Hout;             /* forward: the activation's output */
    REAL *dY;               /* backward: the batch norm's output gradient */
    fnn_index ld;           /* row stride of H, dH, dY (the layer's width) */
} FN(batchnorm_step_job);

static void FN(batchnorm_step_barrier)(int T, int t)
{
    if (T > 1) {
        FNN_COUNT_SYNC_ONCE(t, FNN_SYNC_BARRIERS);
#pragma omp barrier
    }
    (void)t;
}

static void FN(batchnorm_forward_step_team)(const FN(batchnorm_step_job) *s)
{
    const FN(batchnorm_job) *j = &s->bn;
    const int T = fnn_team_size(), t = fnn_team_rank();
    const fnn_index blocks = FNN_BN_BLOCKS(j->d);
    FN(batchnorm_forward_stats_range)((void *)j, blocks * t / T, blocks * (t + 1) / T);
    FN(batchnorm_step_barrier)(T, t);
    const fnn_index i0 = j->n * t / T, i1 = j->n * (t + 1) / T;
    if (i1 <= i0) return;
    FN(batchnorm_forward_rows_range)((void *)j, i0, i1);
    if (s->activation >= 0)
        FN(s->act->forward)(s->activation, i1 - i0, j->d, j->out + i0 * j->ldout, j->ldout,
                            s->Hout + i0 * s->ld, s->ld, s->alpha);
}

static void FN(batchnorm_backward_step_team)(const FN(batchnorm_step_job) *s)
{
    const FN(batchnorm_job) *j = &s->bn;
    const int T = fnn_team_size(), t = fnn_team_rank();
    const fnn_index i0 = j->n * t / T, i1 = j->n * (t + 1) / T;
    if (s->activation >= 0) {
        if (i1 > i0)
            FN(s->act->backward)(s->activation, i1 - i0, j->d, s->dH + i0 * s->ld, s->ld,
                                 s->H + i0 * s->ld, s->ld, s->dY + i0 * s->ld, s->ld, s->alpha);
        FN(batchnorm_step_barrier)(T, t);
    }
    const fnn_index blocks = FNN_BN_BLOCKS(j->d);
    FN(batchnorm_backward_sums_range)((void *)j, blocks * t / T, blocks * (t + 1) / T);
    FN(batchnorm_step_barrier)(T, t);
    if (i1 > i0) FN(batchnorm_backward_rows_range)((void *)j, i0, i1);
}

int FN(fnn_batchnorm_forward_step)(fnn_index n, fnn_index d, const REAL *S, fnn_index lds,
                                   const REAL *gamma, const REAL *beta, REAL eps, REAL *Y,
                                   fnn_index ldy, REAL *mean, REAL *var, int activation,
                                   REAL alpha, REAL *H, fnn_index ldh)
{
    if (n < 2 || d < 0 || activation >= FNN_ACTIVATION_COUNT) return FNN_EINVAL;
    if (d == 0) return FNN_OK;
    REAL *scale = (REAL *)fnn_scratch(FNN_SCRATCH_BATCHNORM, (size_t)d * sizeof(REAL));
    if (!scale) return FNN_ENOMEM;
    FN(batchnorm_step_job) job = {
        {fnn_batchnorm_kernels(), n, d, S, NULL, gamma, beta, mean, var, lds, 0, ldy, eps, Y,
         scale, mean, var},
        fnn_activation_kernels(), activation, alpha, NULL, NULL, H, NULL, ldh};
    const int threads = FN(batchnorm_threads)(n, d);
    if (threads > 1) {
        FNN_COUNT_SYNC(FNN_SYNC_REGIONS);
#pragma omp parallel num_threads(threads)
        FN(batchnorm_forward_step_team)(&job);
    } else {
        FN(batchnorm_forward_step_team)(&job);
    }
    return FNN_OK;
}

int FN(fnn_batchnorm_backward_step)(fnn_index n, fnn_index d, int activation, REAL alpha,
                                    const REAL *dH, const REAL *H, REAL *dY, const REAL *S,
                                    fnn_index lds, const REAL *gamma, const REAL *mean,
                                    const REAL *var, REAL eps, REAL *dS, REAL *dgamma,
                                    REAL *dbeta)
{
    if (n < 2 || d < 0 || activation >= FNN_ACTIVATION_COUNT) return FNN_EINVAL;
    if (d == 0) return FNN_OK;
    REAL *coef = (REAL *)fnn_scratch(FNN_SCRATCH_BATCHNORM, (size_t)(3 * d) * sizeof(REAL));
    if (!coef) return FNN_ENOMEM;
    const REAL *grad = activation >= 0 ? dY : dH;
    FN(batchnorm_step_job) job = {
        {fnn_batchnorm_kernels(), n, d, S, grad, gamma, NULL, mean, var, lds, d, d, eps, dS,
         coef, dgamma, dbeta},
        fnn_activation_kernels(), activation, alpha, dH, H, NULL, dY, d};
    const int threads = FN(batchnorm_threads)(n, d);
    if (threads > 1) {
        FNN_COUNT_SYNC(FNN_SYNC_REGIONS);
#pragma omp parallel num_threads(threads)
        FN(batchnorm_backward_step_team)(&job);
    } else {
        FN(batchnorm_backward_step_team)(&job);
    }
    return FNN_OK;
}

/* ---- eval mode: the running statistics in place of the batch's ----
   The same row kernels as the batch passes: Y = (S - running_mean) scale + beta, and the
   column sums of the backward pass with the running statistics; only dS differs, as
   the statistics do not depend on S: dS = dY gamma / sqrt(running_var + eps). */

static void FN(batchnorm_inference_rows_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(batchnorm_job) *j = ctx;
    FN(j->arch->forward_rows)(i1 - i0, j->d, j->S + i0 * j->lds, j->lds, j->mean, j->coef,
                              j->beta, j->out + i0 * j->ldout, j->ldout);
}

/* dS = a dY on whole rows, a = gamma / sqrt(running_var + eps) from the backward sums */
static void FN(batchnorm_inference_backward_rows_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(batchnorm_job) *j = ctx;
    const REAL *restrict a = j->coef;
    for (fnn_index i = i0; i < i1; ++i) {
        const REAL *restrict dy = j->dY + i * j->lddy;
        REAL *restrict ds = j->out + i * j->ldout;
        for (fnn_index c = 0; c < j->d; ++c) ds[c] = a[c] * dy[c];
    }
}

int FN(fnn_batchnorm_inference_forward)(fnn_index n, fnn_index d, const REAL *S, fnn_index lds,
                                        const REAL *gamma, const REAL *beta,
                                        const REAL *running_mean, const REAL *running_var,
                                        REAL eps, REAL *Y, fnn_index ldy)
{
    if (n < 0 || d < 0) return FNN_EINVAL;
    if (n == 0 || d == 0) return FNN_OK;
    REAL *scale = (REAL *)fnn_scratch(FNN_SCRATCH_BATCHNORM, (size_t)d * sizeof(REAL));
    if (!scale) return FNN_ENOMEM;
    for (fnn_index j = 0; j < d; ++j) scale[j] = FN(batchnorm_scale)(gamma[j], running_var[j], eps);
    FN(batchnorm_job) job = {fnn_batchnorm_kernels(), n, d, S, NULL, gamma, beta, running_mean,
                             running_var, lds, 0, ldy, eps, Y, scale, NULL, NULL};
    fnn_parallel_for(FN(batchnorm_threads)(n, d), n, FNN_ROWS_PER_CLAIM(d),
                     FN(batchnorm_inference_rows_range), &job);
    return FNN_OK;
}

int FN(fnn_batchnorm_inference_backward)(fnn_index n, fnn_index d, const REAL *dY,
                                         fnn_index lddy, const REAL *S, fnn_index lds,
                                         const REAL *gamma, const REAL *running_mean,
                                         const REAL *running_var, REAL eps, REAL *dS,
                                         fnn_index ldds, REAL *dgamma, REAL *dbeta)
{
    if (n < 0 || d < 0) return FNN_EINVAL;
    if (d == 0) return FNN_OK;
    REAL *coef = (REAL *)fnn_scratch(FNN_SCRATCH_BATCHNORM, (size_t)(3 * d) * sizeof(REAL));
    if (!coef) return FNN_ENOMEM;
    FN(batchnorm_job) job = {fnn_batchnorm_kernels(), n, d, S, dY, gamma, NULL, running_mean,
                             running_var, lds, lddy, ldds, eps, dS, coef, dgamma, dbeta};
    const int threads = FN(batchnorm_threads)(n, d);
    /* dgamma = sum dy (s - mean) / sqrt(var + eps), dbeta = sum dy, in fixed column blocks;
       of the coefficients only a = gamma / sqrt(var + eps) is used */
    fnn_parallel_for(threads, FNN_BN_BLOCKS(d), 1, FN(batchnorm_backward_sums_range), &job);
    fnn_parallel_for(threads, n, FNN_ROWS_PER_CLAIM(d), FN(batchnorm_inference_backward_rows_range),
                     &job);
    return FNN_OK;
}

/* The running averages that eval mode normalises with: a few operations per column,
   so one thread. */
int FN(fnn_batchnorm_running_update)(fnn_index d, REAL *running_mean, REAL *running_var,
                                     const REAL *mean, const REAL *var, fnn_index n,
                                     REAL momentum, int unbiased)
{
    if (d < 0 || n < (unbiased ? 2 : 1)) return FNN_EINVAL;
    const REAL keep = (REAL)1 - momentum;
    /* the unbiased variance of the batch is its biased variance times n / (n - 1) */
    const REAL correction = unbiased ? (REAL)((double)n / (double)(n - 1)) : (REAL)1;
    for (fnn_index j = 0; j < d; ++j) {
        running_mean[j] = keep * running_mean[j] + momentum * mean[j];
        running_var[j] = keep * running_var[j] + momentum * (var[j] * correction);
    }
    return FNN_OK;
}
#endif

#endif /* REAL */

#ifndef REAL /* ---- once per level: the table of this level's kernels ---- */

const fnn_batchnorm_arch LEVEL(fnn_batchnorm) = {
    .forward_stats_f32 = batchnorm_forward_stats_f32,
    .forward_stats_f64 = batchnorm_forward_stats_f64,
    .forward_rows_f32 = batchnorm_forward_rows_f32,
    .forward_rows_f64 = batchnorm_forward_rows_f64,
    .backward_sums_f32 = batchnorm_backward_sums_f32,
    .backward_sums_f64 = batchnorm_backward_sums_f64,
    .backward_rows_f32 = batchnorm_backward_rows_f32,
    .backward_rows_f64 = batchnorm_backward_rows_f64,
};

#if FNN_LEVEL == FNN_LEVEL_GENERIC
const fnn_batchnorm_arch *fnn_batchnorm_kernels(void)
{
    return FNN_ARCH_FOR_LEVEL(fnn_batchnorm_generic, fnn_batchnorm_avx2, fnn_batchnorm_avx512);
}
#endif

#endif /* REAL */
