/*
 * The blocked GEMM driver, instantiated per type by gemm.c (see instantiate.h).
 *
 * Loop nest (BLIS): jc over NC-column panels of B, pc over KC-deep slices,
 * ic over MC-row blocks of A, then the macro-kernel over MR x NR tiles.
 * All threads run the loop nest together; each packing step and each
 * macro-kernel is split between them by tile. A tile of C is always computed
 * by one thread, summing over p in the same KC slices in the same order, so
 * the result does not depend on how many threads there are.
 */

/* c[0:m_cur, 0:n_cur] = base + tile, for a tile that overhangs C's edge */
static void FN(store_edge_tile)(int m_cur, int n_cur, const REAL *tile, int nr,
                                REAL *c, fnn_index ldc, const REAL *bias, int accumulate)
{
    for (int i = 0; i < m_cur; ++i) {
        REAL *ci = c + i * ldc;
        for (int j = 0; j < n_cur; ++j) {
            REAL base = accumulate ? ci[j] : (bias ? bias[j] : (REAL)0);
            ci[j] = base + tile[i * nr + j];
        }
    }
}

static void FN(fill_rows)(fnn_index m, fnn_index n, REAL *C, fnn_index ldc, const REAL *bias)
{
    for (fnn_index i = 0; i < m; ++i)
        for (fnn_index j = 0; j < n; ++j) C[i * ldc + j] = bias ? bias[j] : (REAL)0;
}

int FN(fnn_gemm)(fnn_index m, fnn_index n, fnn_index k,
                 const REAL *A, fnn_index rs_a, fnn_index cs_a,
                 const REAL *B, fnn_index rs_b, fnn_index cs_b,
                 REAL *C, fnn_index ldc, const REAL *bias, int accumulate)
{
    if (m < 0 || n < 0 || k < 0) return FNN_EINVAL;
    if (m == 0 || n == 0) return FNN_OK;
    if (k == 0) {
        if (!accumulate) FN(fill_rows)(m, n, C, ldc, bias);
        return FNN_OK;
    }

    const fnn_gemm_arch *arch = fnn_gemm_arch_current();
    const fnn_blocking bl = arch->FN(blocking);
    const FN(fnn_ukr) ukr = arch->FN(ukr);
    const int MR = bl.mr, NR = bl.nr;

    const fnn_index kc_max = FNN_MIN((fnn_index)bl.kc, k);
    const fnn_index mc_max = FNN_MIN((fnn_index)bl.mc, (m + MR - 1) / MR * MR);
    const fnn_index nc_max = FNN_MIN((fnn_index)bl.nc, (n + NR - 1) / NR * NR);
    REAL *a_pack = (REAL *)fnn_scratch(0, (size_t)(mc_max * kc_max) * sizeof(REAL));
    REAL *b_pack = (REAL *)fnn_scratch(1, (size_t)(nc_max * kc_max) * sizeof(REAL));
    if (!a_pack || !b_pack) return FNN_ENOMEM;

    const int nthreads = fnn_threads_for((double)m * (double)n * (double)k);
    (void)nthreads;

#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
    {
        REAL tile[FNN_MAX_TILE] __attribute__((aligned(64)));

        for (fnn_index jc = 0; jc < n; jc += bl.nc) {
            const fnn_index nc = FNN_MIN((fnn_index)bl.nc, n - jc);
            const fnn_index n_slivers = (nc + NR - 1) / NR;

            for (fnn_index pc = 0; pc < k; pc += bl.kc) {
                const fnn_index kc = FNN_MIN((fnn_index)bl.kc, k - pc);
                /* only the first slice starts from the bias; later ones add on */
                const int acc = accumulate || pc > 0;
                const REAL *bias_now = (pc == 0 && !accumulate) ? bias : NULL;

#pragma omp for schedule(static)
                for (fnn_index s = 0; s < n_slivers; ++s) {
                    const fnn_index j0 = jc + s * NR;
                    const int nr_cur = (int)FNN_MIN((fnn_index)NR, n - j0);
                    /* a B sliver is NR columns of B: pack it as rows of B^T */
                    FN(fnn_pack_sliver)(kc, NR, nr_cur, B + pc * rs_b + j0 * cs_b, cs_b, rs_b,
                                        b_pack + s * NR * kc);
                }

                for (fnn_index ic = 0; ic < m; ic += bl.mc) {
                    const fnn_index mc = FNN_MIN((fnn_index)bl.mc, m - ic);
                    const fnn_index m_slivers = (mc + MR - 1) / MR;

#pragma omp for schedule(static)
                    for (fnn_index s = 0; s < m_slivers; ++s) {
                        const fnn_index i0 = ic + s * MR;
                        const int mr_cur = (int)FNN_MIN((fnn_index)MR, m - i0);
                        FN(fnn_pack_sliver)(kc, MR, mr_cur, A + i0 * rs_a + pc * cs_a, rs_a, cs_a,
                                            a_pack + s * MR * kc);
                    }

                    /* the macro-kernel: every MR x NR tile of this block */
#pragma omp for schedule(static)
                    for (fnn_index t = 0; t < n_slivers * m_slivers; ++t) {
                        const fnn_index sj = t / m_slivers, si = t % m_slivers;
                        const fnn_index i0 = ic + si * MR, j0 = jc + sj * NR;
                        const int m_cur = (int)FNN_MIN((fnn_index)MR, m - i0);
                        const int n_cur = (int)FNN_MIN((fnn_index)NR, n - j0);
                        const REAL *ap = a_pack + si * MR * kc;
                        const REAL *bp = b_pack + sj * NR * kc;
                        REAL *cp = C + i0 * ldc + j0;
                        const REAL *bias_tile = bias_now ? bias_now + j0 : NULL;
                        if (m_cur == MR && n_cur == NR) {
                            ukr(kc, ap, bp, cp, ldc, bias_tile, acc);
                        } else {
                            ukr(kc, ap, bp, tile, NR, NULL, 0);
                            FN(store_edge_tile)(m_cur, n_cur, tile, NR, cp, ldc, bias_tile, acc);
                        }
                    }
                }
            }
        }
    }
    return FNN_OK;
}
