/* Activations, instantiated per type by activation.c (see instantiate.h). */

static void FN(activation_forward_row)(int activation, fnn_index d, const REAL *restrict s,
                                       REAL *restrict h, REAL alpha)
{
    switch (activation) {
    case FNN_IDENTITY:
        for (fnn_index j = 0; j < d; ++j) h[j] = s[j];
        break;
    case FNN_SIGMOID:
        for (fnn_index j = 0; j < d; ++j) h[j] = (REAL)1 / ((REAL)1 + MATH(exp)(-s[j]));
        break;
    case FNN_TANH:
        for (fnn_index j = 0; j < d; ++j) h[j] = MATH(tanh)(s[j]);
        break;
    case FNN_RELU:
        /* written so that NaN passes through */
        for (fnn_index j = 0; j < d; ++j) h[j] = s[j] < 0 ? (REAL)0 : s[j];
        break;
    case FNN_LEAKY_RELU:
        for (fnn_index j = 0; j < d; ++j) h[j] = s[j] > 0 ? s[j] : alpha * s[j];
        break;
    case FNN_ELU:
        for (fnn_index j = 0; j < d; ++j) h[j] = s[j] > 0 ? s[j] : alpha * MATH(expm1)(s[j]);
        break;
    }
}

/* f'(s) from h = f(s): the output is all the backward pass keeps */
static void FN(activation_backward_row)(int activation, fnn_index d, const REAL *restrict dh,
                                        const REAL *restrict h, REAL *restrict ds, REAL alpha)
{
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
    /* The slope multiplies dH (a product, not a select) so a NaN in dH survives where the
       unit is off; a NaN output has a NaN slope (h == h is false only for NaN). */
    case FNN_RELU:
        for (fnn_index j = 0; j < d; ++j) {
            const REAL slope = h[j] > 0 ? (REAL)1 : (REAL)0;
            ds[j] = dh[j] * (h[j] == h[j] ? slope : h[j]);
        }
        break;
    case FNN_LEAKY_RELU:
        for (fnn_index j = 0; j < d; ++j) {
            const REAL slope = h[j] > 0 ? (REAL)1 : alpha;
            ds[j] = dh[j] * (h[j] == h[j] ? slope : h[j]);
        }
        break;
    case FNN_ELU:
        for (fnn_index j = 0; j < d; ++j) ds[j] = dh[j] * (h[j] > 0 ? (REAL)1 : h[j] + alpha);
        break;
    }
}

void FN(fnn_activation_forward_block)(int activation, fnn_index m, fnn_index n, const REAL *S,
                                      fnn_index lds, REAL *H, fnn_index ldh, REAL alpha)
{
    for (fnn_index i = 0; i < m; ++i)
        FN(activation_forward_row)(activation, n, S + i * lds, H + i * ldh, alpha);
}

int FN(fnn_activation_forward)(int activation, fnn_index n, fnn_index d,
                               const REAL *S, fnn_index lds, REAL *H, fnn_index ldh, REAL alpha)
{
    if (activation < FNN_IDENTITY || activation > FNN_ELU || n < 0 || d < 0) return FNN_EINVAL;
    const int nthreads = fnn_threads_for((double)n * (double)d * 8.0);
    (void)nthreads;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
    for (fnn_index i = 0; i < n; ++i)
        FN(fnn_activation_forward_block)(activation, 1, d, S + i * lds, lds, H + i * ldh, ldh, alpha);
    return FNN_OK;
}

int FN(fnn_activation_backward)(int activation, fnn_index n, fnn_index d,
                                const REAL *dH, fnn_index lddh, const REAL *H, fnn_index ldh,
                                REAL *dS, fnn_index ldds, REAL alpha)
{
    if (activation < FNN_IDENTITY || activation > FNN_ELU || n < 0 || d < 0) return FNN_EINVAL;
    const int nthreads = fnn_threads_for((double)n * (double)d * 2.0);
    (void)nthreads;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
    for (fnn_index i = 0; i < n; ++i)
        FN(activation_backward_row)(activation, d, dH + i * lddh, H + i * ldh, dS + i * ldds,
                                    alpha);
    return FNN_OK;
}
