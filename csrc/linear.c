/*
 * linear.c: the dense layer S = X W^T + b and its gradients, on top of the GEMM.
 *
 * The per-type section is compiled for float and for double: this file includes
 * itself through instantiate.h with REAL defined.
 */
#ifndef REAL
#include "gemm.h"

#define FNN_TEMPLATE "linear.c"
#include "instantiate.h"

#else /* ---- once per type: REAL, FN() ---- */

typedef struct {
    fnn_index n, d;
    const REAL *A;
    fnn_index rs, cs;
    REAL *out;
} FN(column_sum_job);

/*
 * out[j] = sum over rows of A[i, j] for `width` columns, in row order. Always inlined
 * with a constant width, so the sums stay in registers: with a run-time width GCC keeps
 * them in a stack array, and every row then waits for the previous row's store to forward.
 */
static inline __attribute__((always_inline)) void FN(sum_columns)(fnn_index n, const REAL *A,
                                                                  fnn_index rs, fnn_index cs,
                                                                  REAL *out, int width)
{
    REAL acc[16];
    for (int j = 0; j < width; ++j) acc[j] = 0;
    for (fnn_index i = 0; i < n; ++i) {
        const REAL *row = A + i * rs;
        for (int j = 0; j < width; ++j) acc[j] += row[j * cs];
    }
    for (int j = 0; j < width; ++j) out[j] = acc[j];
}

/* w columns in chunks of 16, then at most one each of 8, 4, 2 and 1 (constant widths) */
static inline __attribute__((always_inline)) void FN(sum_column_chunks)(fnn_index n, fnn_index w,
                                                                        const REAL *A,
                                                                        fnn_index rs,
                                                                        fnn_index cs, REAL *out)
{
    fnn_index j = 0;
    for (; j + 16 <= w; j += 16) FN(sum_columns)(n, A + j * cs, rs, cs, out + j, 16);
    if (w - j >= 8) { FN(sum_columns)(n, A + j * cs, rs, cs, out + j, 8); j += 8; }
    if (w - j >= 4) { FN(sum_columns)(n, A + j * cs, rs, cs, out + j, 4); j += 4; }
    if (w - j >= 2) { FN(sum_columns)(n, A + j * cs, rs, cs, out + j, 2); j += 2; }
    if (w - j >= 1) FN(sum_columns)(n, A + j * cs, rs, cs, out + j, 1);
}

/* each block of columns is summed over all rows, in row order, by one thread */
static void FN(column_sum_range)(void *ctx, fnn_index b0, fnn_index b1)
{
    const FN(column_sum_job) *job = ctx;
    for (fnn_index blk = b0; blk < b1; ++blk) {
        const fnn_index j0 = blk * FNN_COLUMN_BLOCK;
        const fnn_index w = FNN_MIN((fnn_index)FNN_COLUMN_BLOCK, job->d - j0);
        const REAL *A = job->A + j0 * job->cs;
        /* a literal unit stride lets the contiguous case load whole vectors */
        if (job->cs == 1)
            FN(sum_column_chunks)(job->n, w, A, job->rs, 1, job->out + j0);
        else
            FN(sum_column_chunks)(job->n, w, A, job->rs, job->cs, job->out + j0);
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
    if (activation < FNN_IDENTITY || activation >= FNN_ACTIVATION_COUNT) return FNN_EINVAL;
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
    /* dX = dS W, unless the caller needs no input gradient (a first layer) */
    if (dX) {
        status = FN(fnn_gemm)(n, d_in, d_out, dS, rs_ds, cs_ds, W, rs_w, cs_w, dX, d_in, NULL, 0);
        if (status != FNN_OK) return status;
    }
    /* dW = dS^T X: the sum over the batch is GEMM's k loop, in fixed slices */
    status = FN(fnn_gemm)(d_out, d_in, n, dS, cs_ds, rs_ds, X, rs_x, cs_x, dW, d_in, NULL, 0);
    if (status != FNN_OK) return status;
    /* db, unless the layer has no bias */
    return db ? FN(fnn_column_sum)(n, d_out, dS, rs_ds, cs_ds, db) : FNN_OK;
}

#endif /* REAL */
