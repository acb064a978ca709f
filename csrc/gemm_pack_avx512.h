/*
 * gemm_pack_avx512.h: packing of a sliver whose rows are contiguous along p
 * (X for the A slivers, W for the B slivers of X W^T), by transposing
 * VLEN x VLEN blocks in registers instead of storing one element at a time.
 * Included by gemm_ukernel_avx512.c under its target pragma.
 *
 * Needs: REAL, VLEN, PACK_NAME, and the intrinsics for REAL: VEC, LOADU,
 * MASK_STOREU, PERMUTE2 (two-source permute), IDX (index vector type), IDX_SET.
 *
 * The transpose swaps off-diagonal blocks of size d = VLEN/2, VLEN/4, ..., 1
 * between rows r and r + d: after all stages row p holds column p.
 */

static void PACK_NAME(fnn_index k, int mr, int mr_cur, int mr_fill, const REAL *A,
                      fnn_index rs, REAL *restrict dst)
{
    IDX lo[8], hi[8];
    int stages = 0;
    for (int d = VLEN / 2; d >= 1; d /= 2, ++stages) {
        int l[VLEN], h[VLEN];
        for (int j = 0; j < VLEN; ++j) {
            l[j] = (j & d) ? VLEN + j - d : j;
            h[j] = (j & d) ? VLEN + j : j + d;
        }
        lo[stages] = IDX_SET(l);
        hi[stages] = IDX_SET(h);
    }
    const fnn_index k_full = k / VLEN * VLEN;
    for (int i0 = 0; i0 < mr_fill; i0 += VLEN) {
        const int width = FNN_MIN(VLEN, mr - i0);
        const MASK store_mask = (MASK)((1u << width) - 1u);
        for (fnn_index p0 = 0; p0 < k_full; p0 += VLEN) {
            VEC r[VLEN];
            for (int ii = 0; ii < VLEN; ++ii)
                r[ii] = i0 + ii < mr_cur ? LOADU(A + (i0 + ii) * rs + p0) : ZERO();
            int s = 0;
            for (int d = VLEN / 2; d >= 1; d /= 2, ++s) {
                for (int a = 0; a < VLEN; ++a) {
                    if (a & d) continue;
                    const VEC x = r[a], y = r[a + d];
                    r[a] = PERMUTE2(x, lo[s], y);
                    r[a + d] = PERMUTE2(x, hi[s], y);
                }
            }
            for (int pp = 0; pp < VLEN; ++pp) MASK_STOREU(dst + (p0 + pp) * mr + i0, store_mask, r[pp]);
        }
        for (fnn_index p = k_full; p < k; ++p)
            for (int ii = 0; ii < width; ++ii)
                dst[p * mr + i0 + ii] = i0 + ii < mr_cur ? A[(i0 + ii) * rs + p] : (REAL)0;
    }
}

/*
 * The other easy layout: the sliver's rows are adjacent at each depth (rs == 1,
 * e.g. W for dS W or X for dS^T X), so each depth step is one masked vector
 * copy per VLEN rows; rows mr_cur .. mr - 1 come out as zeros.
 */
static void PACK_COLS_NAME(fnn_index k, int mr, int mr_cur, int mr_fill, const REAL *A,
                           fnn_index cs, REAL *restrict dst)
{
    (void)mr_fill; /* every row up to mr is written */
    MASK masks[FNN_MAX_NV + 1];
    const int groups = (mr + VLEN - 1) / VLEN;
    for (int g = 0; g < groups && g <= FNN_MAX_NV; ++g) {
        const int live = FNN_MAX(0, FNN_MIN(VLEN, mr_cur - g * VLEN));
        masks[g] = (MASK)((1u << live) - 1u);
    }
    for (fnn_index p = 0; p < k; ++p) {
        const REAL *src = A + p * cs;
        REAL *out = dst + p * mr;
        for (int g = 0; g < groups; ++g)
            STOREU(out + g * VLEN, MASKZ_LOADU(masks[g], src + g * VLEN));
    }
}
