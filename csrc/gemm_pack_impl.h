/* Packing of one sliver, instantiated per type by gemm_pack.c (see instantiate.h). */

/* depth steps per block when the sliver's rows are read along their own streams:
   the block of the destination (PACK_DEPTH x mr) stays in L1 while every row fills it */
#define PACK_DEPTH 16

void FN(fnn_pack_sliver)(fnn_index k, int mr, int mr_cur, int mr_fill, const REAL *A,
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

#undef PACK_DEPTH
