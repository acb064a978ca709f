/* The portable micro-kernel, instantiated per type by gemm_ukernel_generic.c (see instantiate.h). */

static void FN(generic_ukernel)(fnn_index k, const REAL *restrict a, fnn_index a_rs,
                                fnn_index a_cs, const REAL *restrict b, REAL *restrict c,
                                fnn_index ldc, const REAL *restrict bias, int accumulate)
{
    REAL acc[GENERIC_MR][GENERIC_NR] = {{0}};
    /* the same sums either way; a packed sliver gets the loop the compiler vectorises well */
    const fnn_index rs = (a_rs == 1 && a_cs == GENERIC_MR) ? 1 : a_rs;
    if (rs == 1 && a_cs == GENERIC_MR) {
        for (fnn_index p = 0; p < k; ++p) {
            const REAL *ap = a + p * GENERIC_MR;
            const REAL *bp = b + p * GENERIC_NR;
            for (int i = 0; i < GENERIC_MR; ++i)
                for (int j = 0; j < GENERIC_NR; ++j) acc[i][j] += ap[i] * bp[j];
        }
    } else {
        for (fnn_index p = 0; p < k; ++p) {
            const REAL *bp = b + p * GENERIC_NR;
            for (int i = 0; i < GENERIC_MR; ++i) {
                const REAL ai = a[p * a_cs + i * rs];
                for (int j = 0; j < GENERIC_NR; ++j) acc[i][j] += ai * bp[j];
            }
        }
    }
    for (int i = 0; i < GENERIC_MR; ++i) {
        REAL *ci = c + i * ldc;
        for (int j = 0; j < GENERIC_NR; ++j) {
            REAL base = accumulate ? ci[j] : (bias ? bias[j] : (REAL)0);
            ci[j] = base + acc[i][j];
        }
    }
}
