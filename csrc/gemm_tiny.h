/*
 * gemm_tiny.h: the tiny-product kernel, written once with vector extensions and
 * compiled per registry entry (under the entry's `#pragma GCC target`, like
 * gemm_ukernel_vector.h).
 *
 * Needs: REAL, VLEN, TINY_NAME.
 *
 * A product of at most FNN_TINY_MACS multiply-adds (the layers of a [2, 16, 2]
 * network) costs less than the blocked path's setup: the plan, the packing of A,
 * the team and its thread decision. This kernel runs on the calling thread: B is
 * read in place or copied to rows of whole vectors (zero-padded, on the stack), A is read in place,
 * and TINY_R rows of C by one vector of columns stay in registers over all of k
 * (TINY_R independent chains of multiply-adds keep the FMA units busy).
 *
 * Each element is formed by the micro-kernels' chain: acc = 0, then
 * acc += a[i, p] * b[p, j] for p = 0 .. k-1 in order (fused where the entry's
 * target has FMA, as in its micro-kernels), then c = base + acc. With k within one
 * KC slice that is the blocked path's result bit for bit, and no layout of A or B
 * changes it.
 */

#define TINY_R 8

static void TINY_NAME(fnn_index m, fnn_index n, fnn_index k, const REAL *restrict A,
                      fnn_index rs_a, fnn_index cs_a, const REAL *restrict B, fnn_index rs_b,
                      fnn_index cs_b, REAL *restrict C, fnn_index ldc, const REAL *restrict bias,
                      int accumulate)
{
    typedef REAL vec __attribute__((vector_size(VLEN * sizeof(REAL))));
    /* C rows and the bias need not be vector-aligned */
    typedef REAL uvec __attribute__((vector_size(VLEN * sizeof(REAL)), aligned(sizeof(REAL))));

    /* B's rows serve in place when they are whole vectors of contiguous columns; else
       they are copied to such rows, zero-padded: k (n + VLEN - 1) <= FNN_TINY_MACS +
       FNN_TINY_MAX_K (VLEN - 1) elements fit the stack copy */
    vec b_rows[(FNN_TINY_MACS + FNN_TINY_MAX_K * (VLEN - 1)) / VLEN + 1];
    const fnn_index nv = (n + VLEN - 1) / VLEN;
    const REAL *b = B;
    fnn_index ldb = rs_b;
    if (cs_b != 1 || n % VLEN) {
        for (fnn_index p = 0; p < k; ++p) {
            REAL *row = (REAL *)(b_rows + p * nv);
            b_rows[p * nv + nv - 1] = (vec){0};
            for (fnn_index j = 0; j < n; ++j) row[j] = B[p * rs_b + j * cs_b];
        }
        b = (const REAL *)b_rows;
        ldb = nv * VLEN;
    }

    for (fnn_index v = 0; v < nv; ++v) {
        const fnn_index j0 = v * VLEN;
        const int width = n - j0 < VLEN ? (int)(n - j0) : VLEN;
        vec base = {0};
        if (!accumulate && bias)
            for (int j = 0; j < width; ++j) base[j] = bias[j0 + j];
        /* TINY_R rows at a time, the chains of a last short block too: its missing rows
           repeat the last row, and their sums are dropped */
        for (fnn_index i = 0; i < m; i += TINY_R) {
            const int rows = m - i < TINY_R ? (int)(m - i) : TINY_R;
            const REAL *a[TINY_R];
            vec acc[TINY_R];
            FNN_UNROLL
            for (int r = 0; r < TINY_R; ++r) {
                a[r] = A + (r < rows ? i + r : m - 1) * rs_a;
                acc[r] = (vec){0};
            }
            for (fnn_index p = 0; p < k; ++p) {
                const vec bv = *(const uvec *)(b + p * ldb + j0);
                FNN_UNROLL
                for (int r = 0; r < TINY_R; ++r) acc[r] += a[r][p * cs_a] * bv;
            }
            for (int r = 0; r < rows; ++r) {
                REAL *c = C + (i + r) * ldc + j0;
                if (accumulate)
                    for (int j = 0; j < width; ++j) c[j] = c[j] + acc[r][j];
                else if (width == VLEN)
                    *(uvec *)c = base + acc[r];
                else
                    for (int j = 0; j < width; ++j) c[j] = base[j] + acc[r][j];
            }
        }
    }
}

#undef TINY_R
