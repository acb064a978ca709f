/*
 * The blocked GEMM driver, instantiated per type by gemm.c (see instantiate.h).
 *
 * Loop nest (BLIS): jc over NC-column panels of B, pc over KC-deep slices,
 * ic over MC-row blocks of A, then the macro-kernel over MR x NR tiles.
 *
 * Threads: the work of each (jc, pc) step is a grid of units (column groups of
 * the B panel times row chunks of A) that the threads claim from counters; they
 * pack the step's B panel together, also by claiming pieces. No barrier: a
 * thread only ever waits for work that another has claimed and not finished
 * (see the driver), so a descheduled or late thread costs one unit, not a phase.
 * A tile of C is always computed by one thread, summing over p in the same
 * KC slices in the same order, so neither the number of threads nor which
 * thread computes a tile changes the result.
 */

/* the most threads whose own ranges the small-batch path keeps apart (more share them) */
#define FNN_MAX_RANGES 64

/* the least depth for the dot kernels to take a narrow last sliver of C (see fnn_gemm_fused) */
#ifndef FNN_DOT_EDGE_MIN_K
#define FNN_DOT_EDGE_MIN_K 256
#endif

/* depth steps of a B sliver packed as one piece of work */
#define FNN_PACK_PIECE 256

/* a B panel up to this size is assumed to stay in L2 while it is used */
#define FNN_PANEL_IN_L2 (512 * 1024)

/* with several threads, every (jc, pc) step gets its own B panel up to this total */
#define FNN_B_RING_BYTES (32 * 1024 * 1024)

/* at most this many NR-column slivers of C for A to be read in place */
#ifndef FNN_READ_A_MAX_SLIVERS
#define FNN_READ_A_MAX_SLIVERS 4
#endif

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

/* one sliver, by the architecture's transposing packer where it has one */
static void FN(pack)(const fnn_gemm_arch *arch, fnn_index k, int mr, int mr_cur, int mr_fill,
                     const REAL *A, fnn_index rs, fnn_index cs, REAL *dst)
{
    if (cs == 1 && arch->FN(pack_rows))
        arch->FN(pack_rows)(k, mr, mr_cur, mr_fill, A, rs, dst);
    else if (rs == 1 && arch->FN(pack_cols))
        arch->FN(pack_cols)(k, mr, mr_cur, mr_fill, A, cs, dst);
    else
        FN(fnn_pack_sliver)(k, mr, mr_cur, mr_fill, A, rs, cs, dst);
}

/* the epilogue on the finished block C[i0:i0+m_cur, j0:j0+n_cur] */
static void FN(finish_block)(const fnn_epilogue *ep, fnn_index i0, fnn_index j0,
                             fnn_index m_cur, fnn_index n_cur, const REAL *c, fnn_index ldc)
{
    REAL *h = (REAL *)ep->H + i0 * ep->ldh + j0;
    FN(fnn_activation_forward_block)(ep->activation, m_cur, n_cur, c, ldc, h, ep->ldh,
                                     (REAL)ep->alpha);
}

/* A product's operands, as fnn_gemm_fused received them; the jobs below start with them. */
typedef struct {
    const fnn_gemm_arch *arch;
    fnn_index m, n, k;
    const REAL *A;
    fnn_index rs_a, cs_a;
    const REAL *B;
    fnn_index rs_b, cs_b;
    REAL *C;
    fnn_index ldc;
    const REAL *bias;
    int accumulate;
    const fnn_epilogue *epilogue;
} FN(gemm_operands);

#ifndef FNN_GEMM_UNPACK
/* the operands of job->op as the locals the thread bodies use */
#define FNN_GEMM_UNPACK(op)                                                               \
    const fnn_gemm_arch *arch = (op).arch;                                                 \
    const fnn_index m = (op).m, n = (op).n, k = (op).k, rs_a = (op).rs_a, cs_a = (op).cs_a; \
    const fnn_index rs_b = (op).rs_b, cs_b = (op).cs_b, ldc = (op).ldc;                    \
    const REAL *A = (op).A, *B = (op).B, *bias = (op).bias;                                \
    REAL *C = (op).C;                                                                      \
    const int accumulate = (op).accumulate;                                                \
    const fnn_epilogue *epilogue = (op).epilogue
#endif

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

/* What every thread of a small-batch product reads (see FN(small_batch)). */
typedef struct {
    FN(gemm_operands) op;
    fnn_index chunk, n_chunks;
    fnn_index *next_chunk, *helped;
    int *failed;
} FN(small_batch_job);

/* One thread's part of a small-batch product: the body of its parallel region, or all
   of the work when one thread runs it (then no region is entered: libgomp makes and
   frees a team even for one thread, a cost the small products of a training step
   would pay several times per step). */
static void FN(small_batch_team)(const FN(small_batch_job) *job)
{
    FNN_GEMM_UNPACK(job->op);
    const fnn_index chunk = job->chunk, n_chunks = job->n_chunks;
    fnn_index *next_chunk = job->next_chunk;
    const int R = arch->dot_r, DC = arch->dot_c;
    const int copy_a = cs_a != 1, copy_b = rs_b != 1;
    {
        REAL *a_buf = copy_a ? (REAL *)fnn_scratch(0, (size_t)(m * k) * sizeof(REAL)) : NULL;
        REAL *b_buf = copy_b ? (REAL *)fnn_scratch(2, (size_t)(DC * k) * sizeof(REAL)) : NULL;
        if ((copy_a && !a_buf) || (copy_b && !b_buf)) {
#pragma omp atomic write
            *job->failed = 1;
        } else {
            const REAL *a_row[FNN_SMALL_BATCH];
            for (fnn_index i = 0; i < m; ++i) {
                const REAL *src = A + i * rs_a;
                if (copy_a) {
                    for (fnn_index p = 0; p < k; ++p) a_buf[i * k + p] = src[p * cs_a];
                    src = a_buf + i * k;
                }
                a_row[i] = src;
            }
            const int T = FNN_MIN(fnn_team_size(), FNN_MAX_RANGES), t = fnn_team_rank() % T;
            fnn_index mine = 0;
            for (int gi = 0; gi < T; ++gi) {
            const int g = (t + gi) % T;
            const fnn_index q0 = n_chunks * g / T, q1 = n_chunks * (g + 1) / T;
            for (fnn_index q = q0 + fnn_claim(next_chunk + g); q < q1; q = q0 + fnn_claim(next_chunk + g)) {
                ++mine;
                const fnn_index j_begin = q * chunk, j_end = FNN_MIN(n, j_begin + chunk);
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
                        FN(dot_store)(arch, k, rows, a_row + i0, b_col, n_cur, C + i0 * ldc + j0,
                                      ldc, bias ? bias + j0 : NULL, accumulate);
                        i0 += rows;
                    }
                }
                if (epilogue)
                    FN(finish_block)(epilogue, 0, j_begin, m, j_end - j_begin, C + j_begin, ldc);
            }
            }
            if (fnn_team_rank() != 0) {
#pragma omp atomic update
                *job->helped += mine;
            }
        }
    }
}

/*
 * A batch of at most FNN_SMALL_BATCH rows: dot products along p, A's rows and
 * B's columns read in place when contiguous along p (copied otherwise, one
 * column group at a time). Thread t claims chunks of columns from its own
 * range first (its part of B then stays in its cache from call to call) and
 * then from the others' (a thread that starts late just takes fewer). Each
 * element is one dot product computed by one thread in one order.
 */
static int FN(small_batch)(const fnn_gemm_arch *arch, fnn_index m, fnn_index n, fnn_index k,
                           const REAL *A, fnn_index rs_a, fnn_index cs_a,
                           const REAL *B, fnn_index rs_b, fnn_index cs_b,
                           REAL *C, fnn_index ldc, const REAL *bias, int accumulate,
                           const fnn_epilogue *epilogue)
{
    const fnn_index chunk = 4 * (fnn_index)arch->dot_c; /* columns per task */
    const fnn_index n_chunks = (n + chunk - 1) / chunk;
    /* each element of B serves only m multiply-adds: a B too large for one core's L2
       (1x784->512 float32: 1.6 MB) is read faster as two halves, each kept in its
       own core's cache, so then its size counts as the work */
    const double b_elements = (double)n * (double)k;
    const double macs = (double)m * b_elements / FNN_GEMM_MACS_PER_WORK;
    const int nthreads = fnn_threads_for(b_elements * sizeof(REAL) > FNN_PANEL_IN_L2
                                             ? FNN_MAX(b_elements, macs) : macs);
    int failed = 0;
    fnn_index next_chunk[FNN_MAX_RANGES] = {0}, helped = 0;

    FN(small_batch_job) job = {{arch, m, n, k, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, bias,
                                accumulate, epilogue}, chunk, n_chunks, next_chunk, &helped, &failed};
    if (nthreads > 1) {
#pragma omp parallel num_threads(nthreads)
        FN(small_batch_team)(&job);
    } else {
        FN(small_batch_team)(&job);
    }
    fnn_team_report(nthreads, helped, n_chunks);
    return failed ? FNN_ENOMEM : FNN_OK;
}

/* What every thread of a blocked product reads (see FN(fnn_gemm_fused)). */
typedef struct {
    FN(gemm_operands) op;
    fnn_index kc, groups, chunk_rows, m_chunks, units, ring, per_step;
    size_t a_bytes, panel;
    int read_a;
    fnn_index dot_j0, dot_n; /* columns left to the dot kernels (see FN(dot_edge)) */
    const REAL *const *dot_b; /* their columns of B, contiguous along p */
    REAL *b_ring;
    fnn_index *sync, *helped;
    int *failed, *team;
} FN(gemm_job);

/* The job's last dot_n columns of C, rows [ic, ic + mc) and depth [pc, pc + kcur), by the
   dot kernels (dot_r rows at a time, then single rows), just after the unit of those rows
   has read them: so each element is a chain of dot products, one per KC slice, in the
   slices' order. Rows of A not contiguous along p are first copied to a_buf (dot_r x kcur),
   so that the layout never changes the result. */
static void FN(dot_edge)(const FN(gemm_job) *job, fnn_index ic, fnn_index mc, fnn_index pc,
                         fnn_index kcur, int acc, const REAL *bias_now, int last, REAL *a_buf)
{
    FNN_GEMM_UNPACK(job->op);
    (void)m; (void)n; (void)k; (void)B; (void)rs_b; (void)cs_b; (void)bias; (void)accumulate;
    const int R = arch->dot_r;
    const fnn_index j0 = job->dot_j0;
    const REAL *a_row[FNN_SMALL_BATCH], *b_col[FNN_MAX_DOT_C];
    for (int c = 0; c < arch->dot_c; ++c) b_col[c] = job->dot_b[c] + pc;
    for (fnn_index i0 = ic; i0 < ic + mc;) {
        const int rows = ic + mc - i0 >= R ? R : 1;
        for (int r = 0; r < rows; ++r) {
            a_row[r] = A + (i0 + r) * rs_a + pc * cs_a;
            if (cs_a != 1) {
                for (fnn_index p = 0; p < kcur; ++p) a_buf[r * kcur + p] = a_row[r][p * cs_a];
                a_row[r] = a_buf + r * kcur;
            }
        }
        FN(dot_store)(arch, kcur, rows, a_row, b_col, (int)job->dot_n, C + i0 * ldc + j0, ldc,
                      bias_now ? bias_now + j0 : NULL, acc);
        i0 += rows;
    }
    if (last && epilogue) FN(finish_block)(epilogue, ic, j0, mc, job->dot_n, C + ic * ldc + j0, ldc);
}

/* One thread's part of a blocked product (all of it for one thread; see FN(small_batch_team)). */
static void FN(gemm_team)(const FN(gemm_job) *job)
{
    FNN_GEMM_UNPACK(job->op);
    const fnn_blocking bl = arch->FN(blocking);
    const FN(fnn_ukr) *ukr = arch->FN(ukr);
    const int MR = bl.mr, NR = bl.nr, VL = bl.vlen;
    const int read_a = job->read_a;
    const fnn_index kc = job->kc, groups = job->groups, chunk_rows = job->chunk_rows;
    const fnn_index m_chunks = job->m_chunks, units = job->units, ring = job->ring;
    const fnn_index per_step = job->per_step;
    const size_t a_bytes = job->a_bytes, panel = job->panel;
    REAL *b_ring = job->b_ring;
    fnn_index *sync = job->sync;
    {
        const int T = fnn_team_size(), t = fnn_team_rank();
        REAL *a_pack = (REAL *)fnn_scratch(0, a_bytes);
        if (t == 0) *job->team = T;
        if (!a_pack) {
            /* this thread takes no work; the others do it all (none left: ENOMEM) */
#pragma omp atomic update
            *job->failed += 1;
        }

        REAL tile[FNN_MAX_TILE] __attribute__((aligned(64)));
        fnn_index step = 0, mine = 0;

        for (fnn_index jc = 0; jc < n && a_pack; jc += bl.nc) {
            const fnn_index nc = FNN_MIN((fnn_index)bl.nc, n - jc);
            const fnn_index n_slivers = (nc + NR - 1) / NR;

            for (fnn_index pc = 0; pc < k; pc += kc, ++step) {
                const fnn_index kcur = FNN_MIN(kc, k - pc);
                /* only the first slice starts from the bias; later ones add on */
                const int acc = accumulate || pc > 0;
                const REAL *bias_now = (pc == 0 && !accumulate) ? bias : NULL;
                const int last = pc + kcur == k;
                REAL *b_pack = b_ring + (size_t)(step % ring) * panel;
                fnn_index *st = sync + step * per_step;
                fnn_index *done_flags = st + 1 + 3 * groups;
                /* the panel's buffer is free once every unit of its previous step is done */
                if (T > 1 && step >= ring) fnn_wait_at_least(sync + (step - ring) * per_step, units);

                /* Thread t begins with group t (its part of B, packed by itself, stays in
                   its own cache) and then helps with the other groups. A B sliver is NR
                   columns of B, packed as rows of B^T; the threads claim pieces of
                   PACK_PIECE depth steps, so one wide sliver next to a narrow one does not
                   leave a thread waiting. */
                const fnn_index pieces = (kcur + FNN_PACK_PIECE - 1) / FNN_PACK_PIECE;
                for (fnn_index gi = 0; gi < groups; ++gi) {
                    const fnn_index g = (gi + (fnn_index)t * groups / T) % groups;
                    fnn_index *gs = st + 1 + 3 * g;
                    const fnn_index sj0 = n_slivers * g / groups, sj1 = n_slivers * (g + 1) / groups;
                    const fnn_index g_pieces = (sj1 - sj0) * pieces;
                    for (;;) {
                        const fnn_index u = fnn_claim(gs + 0);
                        if (u >= g_pieces) break;
                        const fnn_index s = sj0 + u / pieces, p0 = u % pieces * FNN_PACK_PIECE;
                        const fnn_index j0 = jc + s * NR;
                        const int nr_cur = (int)FNN_MIN((fnn_index)NR, n - j0);
                        /* the micro-kernel reads whole vectors only */
                        const int nr_fill = (nr_cur + VL - 1) / VL * VL;
                        FN(pack)(arch, FNN_MIN((fnn_index)FNN_PACK_PIECE, kcur - p0), NR, nr_cur,
                                 nr_fill, B + (pc + p0) * rs_b + j0 * cs_b, cs_b, rs_b,
                                 b_pack + s * NR * kcur + p0 * NR);
                        fnn_claim(gs + 1);
                    }
                    if (T > 1) fnn_wait_at_least(gs + 1, g_pieces);

                    for (;;) {
                        const fnn_index r = fnn_claim(gs + 2);
                        if (r >= m_chunks) break;
                        const fnn_index u = g * m_chunks + r, ic = r * chunk_rows;
                        /* the same unit of the previous KC slice wrote the C tiles this one adds to */
                        if (T > 1 && pc > 0) fnn_wait_at_least(done_flags - per_step + u, 1);
                        const fnn_index mc = FNN_MIN(chunk_rows, m - ic);
                        const fnn_index m_slivers = (mc + MR - 1) / MR;
                        for (fnn_index s = 0; s < m_slivers; ++s) {
                            const fnn_index i0 = ic + s * MR;
                            const int mr_cur = (int)FNN_MIN((fnn_index)MR, m - i0);
                            if (read_a && mr_cur == MR) continue;
                            FN(pack)(arch, kcur, MR, mr_cur, MR, A + i0 * rs_a + pc * cs_a, rs_a,
                                     cs_a, a_pack + s * MR * kcur);
                        }

                        /* the macro-kernel: each B sliver meets every A sliver of the chunk */
                        for (fnn_index sj = sj0; sj < sj1; ++sj) {
                            const fnn_index j0 = jc + sj * NR;
                            const int n_cur = (int)FNN_MIN((fnn_index)NR, n - j0);
                            const int half = n_cur <= VL / 2 && arch->FN(half);
                            const int width = half ? VL / 2 : (n_cur + VL - 1) / VL * VL;
                            const FN(fnn_ukr) kernel = half ? arch->FN(half) : ukr[width / VL - 1];
                            /* a last sliver of few rows: the short kernel of the same width */
                            const int short_mr = half || !arch->short_mr ? MR : arch->short_mr;
                            const FN(fnn_ukr) short_kernel =
                                short_mr < MR ? arch->FN(short)[width / VL - 1] : kernel;
                            const REAL *bp = b_pack + sj * NR * kcur;
                            const REAL *bias_tile = bias_now ? bias_now + j0 : NULL;
                            for (fnn_index si = 0; si < m_slivers; ++si) {
                                const fnn_index i0 = ic + si * MR;
                                const int m_cur = (int)FNN_MIN((fnn_index)MR, m - i0);
                                const int in_place = read_a && m_cur == MR;
                                const REAL *ap = in_place ? A + i0 * rs_a + pc * cs_a
                                                          : a_pack + si * MR * kcur;
                                const fnn_index a_rs = in_place ? rs_a : 1;
                                const fnn_index a_cs = in_place ? cs_a : MR;
                                REAL *cp = C + i0 * ldc + j0;
                                const int rows = m_cur <= short_mr ? short_mr : MR;
                                const FN(fnn_ukr) kr = rows < MR ? short_kernel : kernel;
                                if (m_cur == rows && n_cur == width) {
                                    kr(kcur, ap, a_rs, a_cs, bp, cp, ldc, bias_tile, acc);
                                } else {
                                    kr(kcur, ap, a_rs, a_cs, bp, tile, NR, NULL, 0);
                                    FN(store_edge_tile)(m_cur, n_cur, tile, NR, cp, ldc, bias_tile,
                                                        acc);
                                }
                                if (last && epilogue)
                                    FN(finish_block)(epilogue, i0, j0, m_cur, n_cur, cp, ldc);
                            }
                        }
                        /* once per row chunk: by the group of the panel's last columns */
                        if (job->dot_n && jc + nc == n && g == groups - 1)
                            FN(dot_edge)(job, ic, mc, pc, kcur, acc, bias_now, last,
                                         a_pack + (size_t)(m_slivers * MR * kcur));
                        fnn_claim(done_flags + u);
                        fnn_claim(st);
                        ++mine;
                    }
                }
            }
        }
        if (t != 0) {
#pragma omp atomic update
            *job->helped += mine;
        }
    }
}

int FN(fnn_gemm_fused)(fnn_index m, fnn_index n, fnn_index k,
                       const REAL *A, fnn_index rs_a, fnn_index cs_a,
                       const REAL *B, fnn_index rs_b, fnn_index cs_b,
                       REAL *C, fnn_index ldc, const REAL *bias, int accumulate,
                       const fnn_epilogue *epilogue)
{
    if (m < 0 || n < 0 || k < 0) return FNN_EINVAL;
    if (m == 0 || n == 0) return FNN_OK;
    if (k == 0) {
        if (!accumulate) FN(fill_rows)(m, n, C, ldc, bias);
        if (epilogue) FN(finish_block)(epilogue, 0, 0, m, n, C, ldc);
        return FNN_OK;
    }

    const fnn_gemm_arch *arch = fnn_gemm_arch_current();
    if (m <= FNN_SMALL_BATCH && arch->FN(dot)[0])
        return FN(small_batch)(arch, m, n, k, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, bias,
                               accumulate, epilogue);
    const fnn_blocking bl = arch->FN(blocking);
    const int MR = bl.mr, NR = bl.nr;

    /* A last sliver of at most dot_c columns with a deep k goes to the dot kernels when
       A's rows and B's columns are contiguous along p: read in place, each A element
       loaded once per dot_r x dot_c block, where the micro-kernel would broadcast A for
       a mostly empty vector of B (100x3072 -> 50: 2 columns over all 3072 steps). */
    const fnn_index tail = n % NR;
    const fnn_index dot_n = arch->FN(dot)[0] && tail <= arch->dot_c && n > tail
                            && k >= FNN_DOT_EDGE_MIN_K ? tail : 0;
    const fnn_index n_blk = n - dot_n;
    /* the edge's columns of B (copied once when not contiguous), the last repeated */
    const REAL *dot_b[FNN_MAX_DOT_C];
    REAL *b_copy = dot_n && rs_b != 1
                       ? (REAL *)fnn_scratch(2, (size_t)(dot_n * k) * sizeof(REAL)) : NULL;
    if (dot_n && rs_b != 1 && !b_copy) return FNN_ENOMEM;
    for (int c = 0; dot_n && c < arch->dot_c; ++c) {
        const fnn_index cc = FNN_MIN((fnn_index)c, dot_n - 1);
        const REAL *src = B + (n_blk + cc) * cs_b;
        if (b_copy && c == cc)
            for (fnn_index p = 0; p < k; ++p) b_copy[c * k + p] = src[p * rs_b];
        dot_b[c] = b_copy ? b_copy + cc * k : src;
    }

    /* KC slices of equal depth: no thin last slice that reloads C for little work */
    const fnn_index k_slices = (k + bl.kc - 1) / bl.kc;
    const fnn_index kc = (k + k_slices - 1) / k_slices;
    const fnn_index m_sl = (m + MR - 1) / MR, n_sl = (n_blk + NR - 1) / NR;
    const fnn_index mc_max = FNN_MIN((fnn_index)bl.mc, m_sl * MR);
    const fnn_index nc_max = FNN_MIN((fnn_index)bl.nc, n_sl * NR);
    /* a thread's A block, then its copy of dot_r rows of A for the edge */
    const size_t a_bytes = (size_t)(mc_max * kc + (dot_n && cs_a != 1 ? arch->dot_r * kc : 0))
                           * sizeof(REAL);
    const size_t panel = (size_t)(nc_max * kc);

    /* Packing A pays when each A sliver meets many B slivers; with few, the
       micro-kernel reads full slivers of A in place when its rows or its
       columns are contiguous (the broadcasts then follow MR short streams). */
    const int read_a = n_sl <= FNN_READ_A_MAX_SLIVERS && (cs_a == 1 || rs_a == 1);
    const int nthreads = fnn_threads_for((double)m * (double)n * (double)k / FNN_GEMM_MACS_PER_WORK);

    /*
     * The work of one (jc, pc) step is a grid of units: column groups of the B
     * panel times row chunks of A (group-major). Threads claim B pieces to pack
     * and then units from counters of the step, and never wait at a barrier: a
     * thread waits only for work another thread has claimed and not finished
     * (a B piece of this step, or the same unit of the previous KC slice, whose
     * C tiles it adds to). So a thread that the OS deschedules (another process
     * on its core) holds up the others by at most one small unit, and a thread
     * that never starts leaves all the work to the others instead of stalling them.
     * Column groups: one, or one per thread when rows are few or C is much
     * wider than tall (each group's part of B then stays in L2 while the
     * threads sweep its rows). Chunks are single slivers when the B panel stays
     * in L2 anyway, larger (up to MC) when it does not; one thread takes MC.
     */
    const int split_cols = nthreads > 1 && n_sl > m_sl
                           && (m_sl <= 4 * (fnn_index)nthreads || n_sl >= 4 * m_sl);
    const fnn_index groups = split_cols ? nthreads : 1;
    fnn_index chunk_sl = mc_max / MR;
    if (nthreads > 1)
        chunk_sl = panel * sizeof(REAL) > FNN_PANEL_IN_L2
                       ? FNN_MAX(1, FNN_MIN(mc_max / MR, m_sl / (2 * (fnn_index)nthreads)))
                       : 1;
    const fnn_index chunk_rows = chunk_sl * MR;
    const fnn_index m_chunks = (m + chunk_rows - 1) / chunk_rows;
    const fnn_index units = groups * m_chunks;
    const fnn_index steps = (n_blk + bl.nc - 1) / bl.nc * k_slices;
    /* one B panel per step when they all fit, else two in turn (one thread: one) */
    const fnn_index ring = nthreads == 1 ? 1
                           : (size_t)steps * panel * sizeof(REAL) <= FNN_B_RING_BYTES ? steps
                                                                                     : 2;
    /* per step: units done; per group B pieces claimed, B pieces packed, row chunks
       claimed; then one done flag per unit */
    const fnn_index per_step = 1 + 3 * groups + units;
    REAL *b_ring = (REAL *)fnn_scratch(1, (size_t)ring * panel * sizeof(REAL));
    fnn_index *sync = (fnn_index *)fnn_scratch(3, (size_t)(steps * per_step) * sizeof(fnn_index));
    if (!b_ring || !sync) return FNN_ENOMEM;
    for (fnn_index q = 0; q < steps * per_step; ++q) sync[q] = 0;
    int failed = 0, team = 1;
    fnn_index helped = 0;

    FN(gemm_job) job = {{arch, m, n_blk, k, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, bias, accumulate,
                         epilogue}, kc, groups, chunk_rows, m_chunks, units, ring, per_step,
                        a_bytes, panel, read_a, n_blk, dot_n, dot_b, b_ring, sync, &helped,
                        &failed, &team};
    if (nthreads > 1) {
#pragma omp parallel num_threads(nthreads)
        FN(gemm_team)(&job);
    } else {
        FN(gemm_team)(&job);
    }
    fnn_team_report(nthreads, helped, steps * units);
    return failed >= team ? FNN_ENOMEM : FNN_OK;
}

int FN(fnn_gemm)(fnn_index m, fnn_index n, fnn_index k,
                 const REAL *A, fnn_index rs_a, fnn_index cs_a,
                 const REAL *B, fnn_index rs_b, fnn_index cs_b,
                 REAL *C, fnn_index ldc, const REAL *bias, int accumulate)
{
    return FN(fnn_gemm_fused)(m, n, k, A, rs_a, cs_a, B, rs_b, cs_b, C, ldc, bias, accumulate,
                              NULL);
}
