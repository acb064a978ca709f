/*
 * gemm_dot_vector.h: the small-batch kernel, written once with vector
 * extensions and compiled per target like gemm_ukernel_vector.h.
 *
 * Needs: REAL, VLEN, DOT_ROWS, DOT_C, DOT_NAME.
 *
 * out[r * DOT_C + c] = sum_p a[r][p] b[c][p] for DOT_ROWS rows of A and DOT_C
 * columns of B, each contiguous along p: dot products, vectorised along p,
 * with the lanes summed in order at the end and the p % VLEN tail last. For
 * a batch of a few rows this reads B (the weights) once, where the packed
 * product would first copy all of it.
 */

static void DOT_NAME(fnn_index k, const REAL *const *a, const REAL *const *b, REAL *out)
{
    typedef REAL vec __attribute__((vector_size(VLEN * sizeof(REAL))));
    typedef REAL uvec __attribute__((vector_size(VLEN * sizeof(REAL)), aligned(sizeof(REAL))));

    vec acc[DOT_ROWS][DOT_C];
    FNN_UNROLL
    for (int r = 0; r < DOT_ROWS; ++r) {
        FNN_UNROLL
        for (int c = 0; c < DOT_C; ++c) acc[r][c] = (vec){0};
    }
    fnn_index p = 0;
    for (; p + VLEN <= k; p += VLEN) {
        vec bv[DOT_C];
        FNN_UNROLL
        for (int c = 0; c < DOT_C; ++c) bv[c] = *(const uvec *)(b[c] + p);
        FNN_UNROLL
        for (int r = 0; r < DOT_ROWS; ++r) {
            const vec av = *(const uvec *)(a[r] + p);
            FNN_UNROLL
            for (int c = 0; c < DOT_C; ++c) acc[r][c] += av * bv[c];
        }
    }
    for (int r = 0; r < DOT_ROWS; ++r) {
        for (int c = 0; c < DOT_C; ++c) {
            REAL s = 0;
            for (int l = 0; l < VLEN; ++l) s += acc[r][c][l];
            for (fnn_index q = p; q < k; ++q) s += a[r][q] * b[c][q];
            out[r * DOT_C + c] = s;
        }
    }
}
