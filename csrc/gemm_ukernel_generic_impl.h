/* The portable micro-kernel, instantiated per type by gemm_ukernel_generic.c (see instantiate.h). */

static void FN(generic_ukernel)(fnn_index k, const REAL *restrict a, fnn_index a_rs,
                                fnn_index a_cs, const REAL *restrict b, REAL *restrict c,
                                fnn_index ldc, const REAL *restrict bias, int accumulate)
{
    REAL acc[GENERIC_MR][GENERIC_NR] = {{0}};
    for (fnn_index p = 0; p < k; ++p) {
        const REAL *ap = a + p * a_cs;
        const REAL *bp = b + p * GENERIC_NR;
        for (int i = 0; i < GENERIC_MR; ++i)
            for (int j = 0; j < GENERIC_NR; ++j) acc[i][j] += ap[i * a_rs] * bp[j];
    }
    for (int i = 0; i < GENERIC_MR; ++i) {
        REAL *ci = c + i * ldc;
        for (int j = 0; j < GENERIC_NR; ++j) {
            REAL base = accumulate ? ci[j] : (bias ? bias[j] : (REAL)0);
            ci[j] = base + acc[i][j];
        }
    }
}
