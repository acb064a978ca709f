/* Softmax cross-entropy, instantiated per type by loss.c (see instantiate.h). */

/* Sum in a fixed pairwise order: accurate, and the same for any thread count. */
static REAL FN(pairwise_sum)(const REAL *x, fnn_index n)
{
    if (n <= 16) {
        REAL s = 0;
        for (fnn_index i = 0; i < n; ++i) s += x[i];
        return s;
    }
    const fnn_index half = n / 2;
    return FN(pairwise_sum)(x, half) + FN(pairwise_sum)(x + half, n - half);
}

int FN(fnn_softmax_cross_entropy)(fnn_index n, fnn_index c, const REAL *S, fnn_index lds,
                                  const int64_t *y, REAL *dS, fnn_index ldds,
                                  REAL *row_loss, REAL *loss)
{
    if (n < 1 || c < 1) return FNN_EINVAL;
    /* A bad label would index outside the row: refuse it here, whatever the caller checked. */
    for (fnn_index i = 0; i < n; ++i)
        if (y[i] < 0 || y[i] >= c) return FNN_EINVAL;
    const REAL inv_n = (REAL)1 / (REAL)n;
    const int nthreads = fnn_threads_for((double)n * (double)c * 8.0);
    (void)nthreads;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
    for (fnn_index i = 0; i < n; ++i) {
        const REAL *s = S + i * lds;
        REAL *ds = dS + i * ldds;
        /* shift by the row maximum: every exponent is <= 0, so 1e30 is harmless */
        REAL top = s[0];
        for (fnn_index j = 1; j < c; ++j) top = s[j] > top ? s[j] : top;
        REAL total = 0;
        for (fnn_index j = 0; j < c; ++j) {
            const REAL e = MATH(exp)(s[j] - top);
            ds[j] = e;
            total += e;
        }
        const REAL scale = inv_n / total;
        for (fnn_index j = 0; j < c; ++j) ds[j] *= scale;
        const fnn_index label = (fnn_index)y[i];
        ds[label] -= inv_n;
        /* -log p[y] = log(sum e) - (s[y] - max) */
        row_loss[i] = MATH(log)(total) - (s[label] - top);
    }
    *loss = FN(pairwise_sum)(row_loss, n) / (REAL)n;
    return FNN_OK;
}
