/*
 * gemm_plan.c: the blocking plan of the GEMM, and the loops around the micro-kernel.
 *
 * The plan turns the registry entry's block sizes (mr, nr, kc, mc, nc) into the
 * blocks of one product: equal KC slices, the A block and B panel sizes, whether
 * A is read in place, and which last columns go to the dot kernels. The
 * macro-kernel runs one unit of work that gemm_team.c hands out: it packs the
 * unit's A slivers and multiplies them by the step's packed B slivers, with the
 * edge policy (narrow and short micro-kernels, a temporary tile for the rest)
 * and the epilogue after the last KC slice.
 *
 * The per-type section is compiled for float and for double: this file includes
 * itself through instantiate.h.
 */
#ifndef REAL
#include "gemm.h"

/* the least depth for the dot kernels to take a narrow last sliver of C */
#ifndef FNN_DOT_EDGE_MIN_K
#define FNN_DOT_EDGE_MIN_K 256
#endif

/* at most this many NR-column slivers of C for A to be read in place */
#ifndef FNN_READ_A_MAX_SLIVERS
#define FNN_READ_A_MAX_SLIVERS 4
#endif

#define FNN_TEMPLATE "gemm_plan.c"
#include "instantiate.h"

#else /* ---- once per type: REAL, FN() ---- */

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

void FN(fnn_gemm_finish_block)(const fnn_epilogue *ep, fnn_index i0, fnn_index j0,
                               fnn_index m_cur, fnn_index n_cur, const REAL *c, fnn_index ldc)
{
    REAL *h = (REAL *)ep->H + i0 * ep->ldh + j0;
    FN(fnn_activation_forward_block)(ep->activation, m_cur, n_cur, c, ldc, h, ep->ldh,
                                     (REAL)ep->alpha);
}

/* c[r * ldc + j] = base + sum_p a[r][p] b[j][p] for r < rows (the dot kernel's dot_r rows,
   or one) and j < n_cur (at most dot_c; b has dot_c columns, those past n_cur repeat one) */
static void FN(dot_store)(const fnn_gemm_arch *arch, fnn_index k, int rows, const REAL *const *a,
                          const REAL *const *b, int n_cur, REAL *c, fnn_index ldc, const REAL *bias,
                          int accumulate)
{
    REAL out[FNN_SMALL_BATCH * FNN_MAX_DOT_C];
    const int DC = arch->dot_c;
    arch->FN(dot)[rows == arch->dot_r ? 0 : 1](k, a, b, out);
    for (int r = 0; r < rows; ++r) {
        REAL *ci = c + r * ldc;
        for (int j = 0; j < n_cur; ++j) {
            const REAL base = accumulate ? ci[j] : (bias ? bias[j] : (REAL)0);
            ci[j] = base + out[r * DC + j];
        }
    }
}

int FN(fnn_gemm_plan_make)(const FN(fnn_gemm_operands) *op, FN(fnn_gemm_plan) *plan)
{
    const fnn_gemm_arch *arch = op->arch;
    const fnn_blocking bl = arch->FN(blocking);
    const int MR = bl.mr, NR = bl.nr;
    const fnn_index m = op->m, n = op->n, k = op->k;

    /* A last sliver of at most dot_c columns with a deep k goes to the dot kernels when
       A's rows and B's columns are contiguous along p: read in place, each A element
       loaded once per dot_r x dot_c block, where the micro-kernel would broadcast A for
       a mostly empty vector of B (100x3072 -> 50: 2 columns over all 3072 steps). */
    const fnn_index tail = n % NR;
    const fnn_index dot_n = arch->FN(dot)[0] && tail <= arch->dot_c && n > tail
                            && k >= FNN_DOT_EDGE_MIN_K ? tail : 0;
    const fnn_index n_blk = n - dot_n;
    /* the edge's columns of B (copied once when not contiguous), the last repeated */
    REAL *b_copy = dot_n && op->rs_b != 1
                       ? (REAL *)fnn_scratch(FNN_SCRATCH_B_COLUMNS, (size_t)(dot_n * k) * sizeof(REAL))
                       : NULL;
    if (dot_n && op->rs_b != 1 && !b_copy) return FNN_ENOMEM;
    for (int c = 0; dot_n && c < arch->dot_c; ++c) {
        const fnn_index cc = FNN_MIN((fnn_index)c, dot_n - 1);
        const REAL *src = op->B + (n_blk + cc) * op->cs_b;
        if (b_copy && c == cc)
            for (fnn_index p = 0; p < k; ++p) b_copy[c * k + p] = src[p * op->rs_b];
        plan->dot_b[c] = b_copy ? b_copy + cc * k : src;
    }

    plan->op = *op;
    plan->op.n = n_blk;
    plan->dot_n = dot_n;
    /* KC slices of equal depth: no thin last slice that reloads C for little work */
    plan->k_slices = (k + bl.kc - 1) / bl.kc;
    plan->kc = (k + plan->k_slices - 1) / plan->k_slices;
    plan->m_slivers = (m + MR - 1) / MR;
    plan->n_slivers = (n_blk + NR - 1) / NR;
    plan->mc_max = FNN_MIN((fnn_index)bl.mc, plan->m_slivers * MR);
    plan->nc_max = FNN_MIN((fnn_index)bl.nc, plan->n_slivers * NR);
    /* a thread's A block, then its copy of dot_r rows of A for the edge */
    plan->a_bytes = (size_t)(plan->mc_max * plan->kc
                             + (dot_n && op->cs_a != 1 ? arch->dot_r * plan->kc : 0))
                    * sizeof(REAL);
    plan->panel = (size_t)(plan->nc_max * plan->kc);
    /* Packing A pays when each A sliver meets many B slivers; with few, the
       micro-kernel reads full slivers of A in place when its rows or its
       columns are contiguous (the broadcasts then follow MR short streams). */
    plan->read_a = plan->n_slivers <= FNN_READ_A_MAX_SLIVERS && (op->cs_a == 1 || op->rs_a == 1);
    return FNN_OK;
}

/* The plan's last dot_n columns of C, rows [ic, ic + mc) and depth [pc, pc + kcur), by the
   dot kernels (dot_r rows at a time, then single rows), just after the unit of those rows
   has read them: so each element is a chain of dot products, one per KC slice, in the
   slices' order. Rows of A not contiguous along p are first copied to a_buf (dot_r x kcur),
   so that the layout never changes the result. */
static void FN(dot_edge)(const FN(fnn_gemm_plan) *plan, fnn_index ic, fnn_index mc, fnn_index pc,
                         fnn_index kcur, int acc, const REAL *bias_now, int last, REAL *a_buf)
{
    const FN(fnn_gemm_operands) *op = &plan->op;
    const fnn_gemm_arch *arch = op->arch;
    const REAL *A = op->A;
    const fnn_index rs_a = op->rs_a, cs_a = op->cs_a, ldc = op->ldc;
    REAL *C = op->C;
    const int R = arch->dot_r;
    const fnn_index j0 = op->n;
    const REAL *a_row[FNN_SMALL_BATCH], *b_col[FNN_MAX_DOT_C];
    for (int c = 0; c < arch->dot_c; ++c) b_col[c] = plan->dot_b[c] + pc;
    for (fnn_index i0 = ic; i0 < ic + mc;) {
        const int rows = ic + mc - i0 >= R ? R : 1;
        for (int r = 0; r < rows; ++r) {
            a_row[r] = A + (i0 + r) * rs_a + pc * cs_a;
            if (cs_a != 1) {
                for (fnn_index p = 0; p < kcur; ++p) a_buf[r * kcur + p] = a_row[r][p * cs_a];
                a_row[r] = a_buf + r * kcur;
            }
        }
        FN(dot_store)(arch, kcur, rows, a_row, b_col, (int)plan->dot_n, C + i0 * ldc + j0, ldc,
                      bias_now ? bias_now + j0 : NULL, acc);
        i0 += rows;
    }
    if (last && op->epilogue)
        FN(fnn_gemm_finish_block)(op->epilogue, ic, j0, mc, plan->dot_n, C + ic * ldc + j0, ldc);
}

void FN(fnn_gemm_macro_kernel)(const FN(fnn_gemm_plan) *plan, const fnn_gemm_unit *unit,
                               const REAL *b_pack, REAL *a_pack)
{
    const FN(fnn_gemm_operands) *op = &plan->op;
    const fnn_gemm_arch *arch = op->arch;
    const fnn_blocking bl = arch->FN(blocking);
    const FN(fnn_ukr) *ukr = arch->FN(ukr);
    const int MR = bl.mr, NR = bl.nr, VL = bl.vlen;
    const fnn_index m = op->m, n = op->n, k = op->k, rs_a = op->rs_a, cs_a = op->cs_a;
    const fnn_index ldc = op->ldc;
    const REAL *A = op->A;
    REAL *C = op->C;
    const fnn_epilogue *epilogue = op->epilogue;
    const int read_a = plan->read_a;
    const fnn_index ic = unit->ic, mc = unit->mc, jc = unit->jc, pc = unit->pc;
    const fnn_index kcur = unit->kcur;
    /* only the first slice starts from the bias; later ones add on */
    const int acc = op->accumulate || pc > 0;
    const REAL *bias_now = (pc == 0 && !op->accumulate) ? op->bias : NULL;
    const int last = pc + kcur == k;
    REAL tile[FNN_MAX_TILE] __attribute__((aligned(64)));

    const fnn_index m_slivers = (mc + MR - 1) / MR;
    for (fnn_index s = 0; s < m_slivers; ++s) {
        const fnn_index i0 = ic + s * MR;
        const int mr_cur = (int)FNN_MIN((fnn_index)MR, m - i0);
        if (read_a && mr_cur == MR) continue;
        FN(fnn_gemm_pack)(arch, kcur, MR, mr_cur, MR, A + i0 * rs_a + pc * cs_a, rs_a, cs_a,
                          a_pack + s * MR * kcur);
    }

    /* each B sliver meets every A sliver of the unit */
    for (fnn_index sj = unit->sj0; sj < unit->sj1; ++sj) {
        const fnn_index j0 = jc + sj * NR;
        const int n_cur = (int)FNN_MIN((fnn_index)NR, n - j0);
        const int half = n_cur <= VL / 2 && arch->FN(half);
        const int width = half ? VL / 2 : (n_cur + VL - 1) / VL * VL;
        const FN(fnn_ukr) kernel = half ? arch->FN(half) : ukr[width / VL - 1];
        /* a last sliver of few rows: the short kernel of the same width */
        const int short_mr = half || !arch->short_mr ? MR : arch->short_mr;
        const FN(fnn_ukr) short_kernel = short_mr < MR ? arch->FN(short)[width / VL - 1] : kernel;
        const REAL *bp = b_pack + sj * NR * kcur;
        const REAL *bias_tile = bias_now ? bias_now + j0 : NULL;
        for (fnn_index si = 0; si < m_slivers; ++si) {
            const fnn_index i0 = ic + si * MR;
            const int m_cur = (int)FNN_MIN((fnn_index)MR, m - i0);
            const int in_place = read_a && m_cur == MR;
            const REAL *ap = in_place ? A + i0 * rs_a + pc * cs_a : a_pack + si * MR * kcur;
            const fnn_index a_rs = in_place ? rs_a : 1;
            const fnn_index a_cs = in_place ? cs_a : MR;
            REAL *cp = C + i0 * ldc + j0;
            const int rows = m_cur <= short_mr ? short_mr : MR;
            const FN(fnn_ukr) kr = rows < MR ? short_kernel : kernel;
            if (m_cur == rows && n_cur == width) {
                kr(kcur, ap, a_rs, a_cs, bp, cp, ldc, bias_tile, acc);
            } else {
                kr(kcur, ap, a_rs, a_cs, bp, tile, NR, NULL, 0);
                FN(store_edge_tile)(m_cur, n_cur, tile, NR, cp, ldc, bias_tile, acc);
            }
            if (last && epilogue) FN(fnn_gemm_finish_block)(epilogue, i0, j0, m_cur, n_cur, cp, ldc);
        }
    }
    if (unit->dot_edge)
        FN(dot_edge)(plan, ic, mc, pc, kcur, acc, bias_now, last,
                     a_pack + (size_t)(m_slivers * MR * kcur));
}

void FN(fnn_gemm_dot_columns)(const FN(fnn_gemm_operands) *op, const REAL *const *a_row,
                              fnn_index j_begin, fnn_index j_end, REAL *b_buf)
{
    const fnn_gemm_arch *arch = op->arch;
    const fnn_index m = op->m, n = op->n, k = op->k, rs_b = op->rs_b, cs_b = op->cs_b;
    const fnn_index ldc = op->ldc;
    const REAL *B = op->B, *bias = op->bias;
    REAL *C = op->C;
    const int R = arch->dot_r, DC = arch->dot_c;
    const int copy_b = rs_b != 1;
    for (fnn_index j0 = j_begin; j0 < j_end; j0 += DC) {
        const int n_cur = (int)FNN_MIN((fnn_index)DC, n - j0);
        const REAL *b_col[FNN_MAX_DOT_C];
        for (int c = 0; c < DC; ++c) {
            /* columns past the edge repeat the last one; their sums are dropped */
            const int cc = c < n_cur ? c : n_cur - 1;
            const REAL *src = B + (j0 + cc) * cs_b;
            if (copy_b && c == cc) {
                for (fnn_index p = 0; p < k; ++p) b_buf[c * k + p] = src[p * rs_b];
            }
            b_col[c] = copy_b ? b_buf + cc * k : src;
        }
        for (fnn_index i0 = 0; i0 < m;) {
            const int rows = m - i0 >= R ? R : 1;
            FN(dot_store)(arch, k, rows, a_row + i0, b_col, n_cur, C + i0 * ldc + j0, ldc,
                          bias ? bias + j0 : NULL, op->accumulate);
            i0 += rows;
        }
    }
    if (op->epilogue)
        FN(fnn_gemm_finish_block)(op->epilogue, 0, j_begin, m, j_end - j_begin, C + j_begin, ldc);
}

#endif /* REAL */
