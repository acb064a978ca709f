/*
 * gemm.c: the entry points of the blocked, packed, threaded matrix product behind
 * every dense layer: argument checks, the empty cases, then one of three paths:
 *  - the tiny-product path (at most FNN_TINY_MACS multiply-adds and FNN_TINY_MAX_K
 *    deep, where the registry entry has a tiny kernel): the whole product on the calling
 *    thread with no packing (gemm_tiny.h), the micro-kernels' sums in their order;
 *  - the small-batch path (gemm_team.c; at most FNN_SMALL_BATCH rows, where the registry entry
 *    has dot kernels): dot products along p, B read in place;
 *  - the blocked path (gemm_team.c): BLIS's loops around the micro-kernel, jc over NC-column
 *    panels of B, pc over KC-deep slices, then units of rows through the
 *    macro-kernel (gemm_plan.c).
 * A tile of C is always computed by one thread, summing over p in the same KC
 * slices in the same order, so neither the number of threads nor which thread
 * computes a tile changes the result.
 *
 * The per-type section is compiled for float and for double: this file includes
 * itself through instantiate.h.
 */
#ifndef REAL
#include "gemm.h"

#define FNN_TEMPLATE "gemm.c"
#include "instantiate.h"

#else /* ---- once per type: REAL, FN() ---- */

static void FN(fill_rows)(fnn_index m, fnn_index n, REAL *C, fnn_index ldc, const REAL *bias)
{
    for (fnn_index i = 0; i < m; ++i)
        for (fnn_index j = 0; j < n; ++j) C[i * ldc + j] = bias ? bias[j] : (REAL)0;
}

int FN(fnn_gemm_fused)(fnn_index m, fnn_index n, fnn_index k,
                       const REAL *A, fnn_index rs_a, fnn_index cs_a,
                       const REAL *B, fnn_index rs_b, fnn_index cs_b,
                       REAL *C, fnn_index ldc, const REAL *bias, int accumulate,
                       const fnn_epilogue *epilogue)
{
    if (m < 0 || n < 0 || k < 0) return FNN_EINVAL;
    if (m == 0 || n == 0) return FNN_OK;
    if (k == 0) {
        if (!accumulate) FN(fill_rows)(m, n, C, ldc, bias);
        if (epilogue) FN(fnn_gemm_finish_block)(epilogue, 0, 0, m, n, C, ldc);
        return FNN_OK;
    }

    const fnn_gemm_arch *arch = fnn_gemm_arch_current();
    /* the choice depends on the shape alone, never on the thread count */
    if (arch->FN(tiny) && (double)m * (double)n * (double)k <= FNN_TINY_MACS
        && k <= FNN_TINY_MAX_K && k <= arch->FN(blocking).kc) {
        arch->FN(tiny)(m, n, k, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, bias, accumulate);
        if (epilogue) FN(fnn_gemm_finish_block)(epilogue, 0, 0, m, n, C, ldc);
        return FNN_OK;
    }
    const FN(fnn_gemm_operands) op = {arch, m, n, k, A, rs_a, cs_a, B, rs_b,
                                      cs_b, C, ldc, bias, accumulate, epilogue};
    if (m <= FNN_SMALL_BATCH && op.arch->FN(dot)[0]) return FN(fnn_gemm_small_batch)(&op);
    return FN(fnn_gemm_blocked)(&op);
}

int FN(fnn_gemm)(fnn_index m, fnn_index n, fnn_index k,
                 const REAL *A, fnn_index rs_a, fnn_index cs_a,
                 const REAL *B, fnn_index rs_b, fnn_index cs_b,
                 REAL *C, fnn_index ldc, const REAL *bias, int accumulate)
{
    return FN(fnn_gemm_fused)(m, n, k, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, bias, accumulate,
                              NULL);
}

#endif /* REAL */
