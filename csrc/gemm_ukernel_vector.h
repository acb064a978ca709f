/*
 * gemm_ukernel_vector.h: the SIMD micro-kernel, written once with GCC/Clang
 * vector extensions and compiled per target by the file that includes it
 * (under its own `#pragma GCC target`), the way NumPy compiles one source
 * per SIMD level.
 *
 * Needs: REAL, VLEN (elements per vector), UKR_MR, UKR_NR (the packed sliver
 * width, a multiple of VLEN), UKR_NV (how many of the sliver's NR / VLEN
 * vectors this variant computes), UKR_NAME.
 *
 * The A sliver is read with strides: (1, UKR_MR) when packed, or A's own
 * strides when A can be read in place (rows or columns contiguous).
 * Per step p it loads UKR_NV vectors of one row of the B sliver and
 * broadcasts each of the UKR_MR elements of the A sliver into a fused
 * multiply-add, so the UKR_MR x (UKR_NV * VLEN) accumulators never leave
 * registers. The narrower variants serve the last sliver of a matrix whose
 * width is not a multiple of NR (50 outputs with NR = 48 need 1 vector of the
 * second sliver, not 3). Every variant forms each output element by the same
 * chain of operations, so which one computes an element never changes it.
 */

static void UKR_NAME(fnn_index k, const REAL *restrict a, fnn_index a_rs, fnn_index a_cs,
                     const REAL *restrict b, REAL *restrict c, fnn_index ldc,
                     const REAL *restrict bias, int accumulate)
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

    /* the tile of C is needed only at the end, but it is usually far away in cache:
       ask for it now, so the stores do not wait for it */
    FNN_UNROLL
    for (int i = 0; i < UKR_MR; ++i) {
        FNN_UNROLL
        for (int v = 0; v < UKR_NV; ++v) __builtin_prefetch(c + i * ldc + v * VLEN, 1);
        __builtin_prefetch(c + i * ldc + UKR_NV * VLEN - 1, 1);
    }

    /* packed slivers are 64-byte aligned and rows are whole vectors */
    const vec *bv = (const vec *)b;
    for (fnn_index p = 0; p < k; ++p) {
        vec row[UKR_NV];
        FNN_UNROLL
        for (int v = 0; v < UKR_NV; ++v) row[v] = bv[v];
        FNN_UNROLL
        for (int i = 0; i < UKR_MR; ++i) {
            const REAL ai = a[i * a_rs];
            FNN_UNROLL
            for (int v = 0; v < UKR_NV; ++v) acc[i][v] += ai * row[v];
        }
        a += a_cs;
        bv += UKR_NR / VLEN;
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
