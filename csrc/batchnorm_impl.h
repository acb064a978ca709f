/*
 * Batch normalisation, instantiated per type by batchnorm.c (see instantiate.h).
 *
 * The columns are cut into fixed blocks of FNN_COLUMN_BLOCK; one thread takes a
 * whole block and sweeps its rows in order, so each column's statistics are
 * summed in the same order whatever the thread count. A block of a 256-row
 * batch stays in L2 between the sweeps.
 */

int FN(fnn_batchnorm_forward)(fnn_index n, fnn_index d, const REAL *S, fnn_index lds,
                              const REAL *gamma, const REAL *beta, REAL eps,
                              REAL *Y, fnn_index ldy, REAL *mean, REAL *var)
{
    if (n < 2 || d < 0) return FNN_EINVAL;
    const fnn_index n_blocks = (d + FNN_COLUMN_BLOCK - 1) / FNN_COLUMN_BLOCK;
    const int nthreads = fnn_threads_for((double)n * (double)d * 4.0);
    (void)nthreads;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
    for (fnn_index blk = 0; blk < n_blocks; ++blk) {
        const fnn_index j0 = blk * FNN_COLUMN_BLOCK;
        const fnn_index w = FNN_MIN((fnn_index)FNN_COLUMN_BLOCK, d - j0);
        REAL mu[FNN_COLUMN_BLOCK], sq[FNN_COLUMN_BLOCK];
        REAL scale[FNN_COLUMN_BLOCK], shift[FNN_COLUMN_BLOCK];

        for (fnn_index j = 0; j < w; ++j) mu[j] = 0;
        for (fnn_index i = 0; i < n; ++i) {
            const REAL *s = S + i * lds + j0;
            for (fnn_index j = 0; j < w; ++j) mu[j] += s[j];
        }
        for (fnn_index j = 0; j < w; ++j) mu[j] /= (REAL)n;

        /* second sweep over centred values: no cancellation in the variance */
        for (fnn_index j = 0; j < w; ++j) sq[j] = 0;
        for (fnn_index i = 0; i < n; ++i) {
            const REAL *s = S + i * lds + j0;
            for (fnn_index j = 0; j < w; ++j) {
                const REAL c = s[j] - mu[j];
                sq[j] += c * c;
            }
        }
        for (fnn_index j = 0; j < w; ++j) {
            const REAL v = sq[j] / (REAL)n;
            mean[j0 + j] = mu[j];
            var[j0 + j] = v;
            scale[j] = gamma[j0 + j] / MATH(sqrt)(v + eps);
            shift[j] = beta[j0 + j];
        }

        for (fnn_index i = 0; i < n; ++i) {
            const REAL *s = S + i * lds + j0;
            REAL *y = Y + i * ldy + j0;
            for (fnn_index j = 0; j < w; ++j) y[j] = (s[j] - mu[j]) * scale[j] + shift[j];
        }
    }
    return FNN_OK;
}

int FN(fnn_batchnorm_backward)(fnn_index n, fnn_index d, const REAL *dY, fnn_index lddy,
                               const REAL *S, fnn_index lds, const REAL *gamma,
                               const REAL *mean, const REAL *var, REAL eps,
                               REAL *dS, fnn_index ldds, REAL *dgamma, REAL *dbeta)
{
    if (n < 2 || d < 0) return FNN_EINVAL;
    const fnn_index n_blocks = (d + FNN_COLUMN_BLOCK - 1) / FNN_COLUMN_BLOCK;
    const int nthreads = fnn_threads_for((double)n * (double)d * 4.0);
    (void)nthreads;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
    for (fnn_index blk = 0; blk < n_blocks; ++blk) {
        const fnn_index j0 = blk * FNN_COLUMN_BLOCK;
        const fnn_index w = FNN_MIN((fnn_index)FNN_COLUMN_BLOCK, d - j0);
        REAL sum_dy[FNN_COLUMN_BLOCK], sum_dy_xc[FNN_COLUMN_BLOCK], mu[FNN_COLUMN_BLOCK];
        REAL a[FNN_COLUMN_BLOCK], b[FNN_COLUMN_BLOCK], c[FNN_COLUMN_BLOCK];

        for (fnn_index j = 0; j < w; ++j) {
            sum_dy[j] = 0;
            sum_dy_xc[j] = 0;
            mu[j] = mean[j0 + j];
        }
        for (fnn_index i = 0; i < n; ++i) {
            const REAL *dy = dY + i * lddy + j0;
            const REAL *s = S + i * lds + j0;
            for (fnn_index j = 0; j < w; ++j) {
                sum_dy[j] += dy[j];
                sum_dy_xc[j] += dy[j] * (s[j] - mu[j]);
            }
        }

        /* the three terms of dJ/ds_i, folded into a dy + b (s - mean) + c */
        for (fnn_index j = 0; j < w; ++j) {
            const REAL g = gamma[j0 + j];
            const REAL inv_std = (REAL)1 / MATH(sqrt)(var[j0 + j] + eps);
            const REAL dJ_dvar = (REAL)-0.5 * g * sum_dy_xc[j] * inv_std * inv_std * inv_std;
            const REAL dJ_dmean = -g * inv_std * sum_dy[j];
            a[j] = g * inv_std;
            b[j] = (REAL)2 / (REAL)n * dJ_dvar;
            c[j] = dJ_dmean / (REAL)n;
            dgamma[j0 + j] = sum_dy_xc[j] * inv_std;
            dbeta[j0 + j] = sum_dy[j];
        }

        for (fnn_index i = 0; i < n; ++i) {
            const REAL *dy = dY + i * lddy + j0;
            const REAL *s = S + i * lds + j0;
            REAL *ds = dS + i * ldds + j0;
            for (fnn_index j = 0; j < w; ++j) ds[j] = a[j] * dy[j] + b[j] * (s[j] - mu[j]) + c[j];
        }
    }
    return FNN_OK;
}
