/*
 * gemm_ukernel_vector.h: the SIMD micro-kernel, written once with GCC/Clang
 * vector extensions and compiled per target by the file that includes it
 * (under its own `#pragma GCC target`), the way NumPy compiles one source
 * per SIMD level.
 *
 * Needs: REAL, VLEN (elements per vector), UKR_MR, UKR_NR (a multiple of VLEN), UKR_NAME.
 *
 * Per step p it loads one row of the B sliver as UKR_NR / VLEN vectors and
 * broadcasts each of the UKR_MR elements of the A sliver into a fused
 * multiply-add, so the UKR_MR x UKR_NR accumulators never leave registers.
 */
#define UKR_NV (UKR_NR / VLEN)

static void UKR_NAME(fnn_index k, const REAL *restrict a, const REAL *restrict b,
                     REAL *restrict c, fnn_index ldc, const REAL *restrict bias,
                     int accumulate)
{
    typedef REAL vec __attribute__((vector_size(VLEN * sizeof(REAL))));
    /* C rows and the bias need not be vector-aligned */
    typedef REAL uvec __attribute__((vector_size(VLEN * sizeof(REAL)), aligned(sizeof(REAL))));

    vec acc[UKR_MR][UKR_NV];
    FNN_UNROLL
    for (int i = 0; i < UKR_MR; ++i) {
        FNN_UNROLL
        for (int v = 0; v < UKR_NV; ++v) acc[i][v] = (vec){0};
    }

    /* packed slivers are 64-byte aligned and rows are whole vectors */
    const vec *bv = (const vec *)b;
    for (fnn_index p = 0; p < k; ++p) {
        vec row[UKR_NV];
        FNN_UNROLL
        for (int v = 0; v < UKR_NV; ++v) row[v] = bv[v];
        FNN_UNROLL
        for (int i = 0; i < UKR_MR; ++i) {
            const REAL ai = a[i];
            FNN_UNROLL
            for (int v = 0; v < UKR_NV; ++v) acc[i][v] += ai * row[v];
        }
        a += UKR_MR;
        bv += UKR_NV;
    }

    if (accumulate) {
        FNN_UNROLL
        for (int i = 0; i < UKR_MR; ++i) {
            uvec *ci = (uvec *)(c + i * ldc);
            FNN_UNROLL
            for (int v = 0; v < UKR_NV; ++v) ci[v] = ci[v] + acc[i][v];
        }
    } else if (bias) {
        const uvec *bias_v = (const uvec *)bias;
        FNN_UNROLL
        for (int i = 0; i < UKR_MR; ++i) {
            uvec *ci = (uvec *)(c + i * ldc);
            FNN_UNROLL
            for (int v = 0; v < UKR_NV; ++v) ci[v] = bias_v[v] + acc[i][v];
        }
    } else {
        FNN_UNROLL
        for (int i = 0; i < UKR_MR; ++i) {
            uvec *ci = (uvec *)(c + i * ldc);
            FNN_UNROLL
            for (int v = 0; v < UKR_NV; ++v) ci[v] = acc[i][v];
        }
    }
}

#undef UKR_NV
