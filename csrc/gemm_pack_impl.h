/* Packing of one sliver, instantiated per type by gemm_pack.c (see instantiate.h). */

void FN(fnn_pack_sliver)(fnn_index k, int mr, int mr_cur, const REAL *A,
                         fnn_index rs, fnn_index cs, REAL *restrict dst)
{
    if (cs == 1 || rs != 1) {
        /* each of the mr_cur rows is read along its own stream */
        for (int i = 0; i < mr_cur; ++i) {
            const REAL *src = A + i * rs;
            if (cs == 1) {
                for (fnn_index p = 0; p < k; ++p) dst[p * mr + i] = src[p];
            } else {
                for (fnn_index p = 0; p < k; ++p) dst[p * mr + i] = src[p * cs];
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
    if (mr_cur < mr) {
        /* zero rows make the edge tile's extra outputs harmless */
        for (fnn_index p = 0; p < k; ++p)
            for (int i = mr_cur; i < mr; ++i) dst[p * mr + i] = 0;
    }
}
