/* The dense layer, instantiated per type by linear.c (see instantiate.h). */

typedef struct {
    fnn_index n, d;
    const REAL *A;
    fnn_index rs, cs;
    REAL *out;
} FN(column_sum_job);

/* each block of columns is summed over all rows, in row order, by one thread */
static void FN(column_sum_range)(void *ctx, fnn_index b0, fnn_index b1)
{
    const FN(column_sum_job) *job = ctx;
    const fnn_index n = job->n, rs = job->rs, cs = job->cs;
    for (fnn_index blk = b0; blk < b1; ++blk) {
        const fnn_index j0 = blk * FNN_COLUMN_BLOCK;
        const fnn_index w = FNN_MIN((fnn_index)FNN_COLUMN_BLOCK, job->d - j0);
        REAL acc[FNN_COLUMN_BLOCK];
        for (fnn_index j = 0; j < w; ++j) acc[j] = 0;
        if (cs == 1) {
            for (fnn_index i = 0; i < n; ++i) {
                const REAL *row = job->A + i * rs + j0;
                for (fnn_index j = 0; j < w; ++j) acc[j] += row[j];
            }
        } else {
            for (fnn_index i = 0; i < n; ++i) {
                const REAL *row = job->A + i * rs + j0 * cs;
                for (fnn_index j = 0; j < w; ++j) acc[j] += row[j * cs];
            }
        }
        for (fnn_index j = 0; j < w; ++j) job->out[j0 + j] = acc[j];
    }
}

int FN(fnn_column_sum)(fnn_index n, fnn_index d, const REAL *A, fnn_index rs, fnn_index cs,
                       REAL *out)
{
    if (n < 0 || d < 0) return FNN_EINVAL;
    FN(column_sum_job) job = {n, d, A, rs, cs, out};
    fnn_parallel_for(fnn_threads_for((double)n * (double)d),
                     (d + FNN_COLUMN_BLOCK - 1) / FNN_COLUMN_BLOCK, 1, FN(column_sum_range), &job);
    return FNN_OK;
}

int FN(fnn_linear_forward)(fnn_index n, fnn_index d_in, fnn_index d_out,
                           const REAL *X, fnn_index rs_x, fnn_index cs_x,
                           const REAL *W, fnn_index rs_w, fnn_index cs_w,
                           const REAL *b, REAL *S, fnn_index lds)
{
    /* S = X B with B = W^T, read through W's strides swapped: no transposed copy */
    return FN(fnn_gemm)(n, d_out, d_in, X, rs_x, cs_x, W, cs_w, rs_w, S, lds, b, 0);
}

int FN(fnn_dense_forward)(fnn_index n, fnn_index d_in, fnn_index d_out,
                          const REAL *X, fnn_index rs_x, fnn_index cs_x,
                          const REAL *W, fnn_index rs_w, fnn_index cs_w,
                          const REAL *b, int activation, REAL alpha,
                          REAL *S, fnn_index lds, REAL *H, fnn_index ldh)
{
    if (activation < FNN_IDENTITY || activation > FNN_ELU) return FNN_EINVAL;
    /* H = f(S) tile by tile, inside the GEMM, right after each tile's last KC slice */
    const fnn_epilogue epilogue = {activation, (double)alpha, H, ldh};
    return FN(fnn_gemm_fused)(n, d_out, d_in, X, rs_x, cs_x, W, cs_w, rs_w, S, lds, b, 0,
                              &epilogue);
}

int FN(fnn_linear_backward)(fnn_index n, fnn_index d_in, fnn_index d_out,
                            const REAL *dS, fnn_index rs_ds, fnn_index cs_ds,
                            const REAL *X, fnn_index rs_x, fnn_index cs_x,
                            const REAL *W, fnn_index rs_w, fnn_index cs_w,
                            REAL *dX, REAL *dW, REAL *db)
{
    int status;
    /* dX = dS W */
    status = FN(fnn_gemm)(n, d_in, d_out, dS, rs_ds, cs_ds, W, rs_w, cs_w, dX, d_in, NULL, 0);
    if (status != FNN_OK) return status;
    /* dW = dS^T X: the sum over the batch is GEMM's k loop, in fixed slices */
    status = FN(fnn_gemm)(d_out, d_in, n, dS, cs_ds, rs_ds, X, rs_x, cs_x, dW, d_in, NULL, 0);
    if (status != FNN_OK) return status;
    return FN(fnn_column_sum)(n, d_out, dS, rs_ds, cs_ds, db);
}
