/*
 * gemm_pack.c: packing of A and B slivers for the micro-kernels: a sliver of k x mr
 * holds, at each depth p, the mr elements the micro-kernel reads at step p.
 *
 * The per-type section is compiled for float and for double: this file includes
 * itself through instantiate.h.
 */
#ifndef REAL
#include "gemm.h"

/* depth steps per block when the sliver's rows are read along their own streams:
   the block of the destination (PACK_DEPTH x mr) stays in L1 while every row fills it */
#define PACK_DEPTH 16

#define FNN_TEMPLATE "gemm_pack.c"
#include "instantiate.h"

#else /* ---- once per type: REAL, FN() ---- */

/* the portable packing of one sliver, for any strides */
static void FN(pack_sliver)(fnn_index k, int mr, int mr_cur, int mr_fill, const REAL *A,
                            fnn_index rs, fnn_index cs, REAL *restrict dst)
{
    if (cs == 1 || rs != 1) {
        for (fnn_index p0 = 0; p0 < k; p0 += PACK_DEPTH) {
            const fnn_index p1 = FNN_MIN(k, p0 + PACK_DEPTH);
            for (int i = 0; i < mr_cur; ++i) {
                const REAL *src = A + i * rs;
                if (cs == 1) {
                    for (fnn_index p = p0; p < p1; ++p) dst[p * mr + i] = src[p];
                } else {
                    for (fnn_index p = p0; p < p1; ++p) dst[p * mr + i] = src[p * cs];
                }
            }
        }
    } else {
        /* rows are contiguous at each depth: copy mr_cur elements per step */
        for (fnn_index p = 0; p < k; ++p) {
            const REAL *src = A + p * cs;
            REAL *out = dst + p * mr;
            for (int i = 0; i < mr_cur; ++i) out[i] = src[i];
        }
    }
    if (mr_cur < mr_fill) {
        /* zero rows make the edge tile's extra outputs harmless */
        for (fnn_index p = 0; p < k; ++p)
            for (int i = mr_cur; i < mr_fill; ++i) dst[p * mr + i] = 0;
    }
}

void FN(fnn_gemm_pack)(const fnn_gemm_arch *arch, fnn_index k, int mr, int mr_cur, int mr_fill,
                       const REAL *A, fnn_index rs, fnn_index cs, REAL *dst)
{
    if (cs == 1 && arch->FN(pack_rows))
        arch->FN(pack_rows)(k, mr, mr_cur, mr_fill, A, rs, dst);
    else if (rs == 1 && arch->FN(pack_cols))
        arch->FN(pack_cols)(k, mr, mr_cur, mr_fill, A, cs, dst);
    else
        FN(pack_sliver)(k, mr, mr_cur, mr_fill, A, rs, cs, dst);
}

#endif /* REAL */
