/*
 * gemm_team.c: the work distribution of the GEMM: how many threads a product
 * gets, how its work is cut into units, and how the threads share them.
 *
 * Two ways of sharing, chosen by the caller's step mode (threads.h). Inside a
 * training step of the engine the split is static (FN(blocked_team_static)): fixed
 * column groups or fixed row ranges per thread, one barrier per shared B panel, no
 * counters; one thread alone takes the same path. Kernels called one by one on
 * several threads claim their work instead, and never wait at a barrier:
 *
 * The work of each (jc, pc) step of a blocked
 * product is a grid of units (column groups of the B panel times row chunks of
 * A, group-major) that the threads claim from counters; they pack the step's B
 * panel together, also by claiming pieces. A thread waits only for work another
 * thread has claimed and not finished (a B piece of this step, or the same unit
 * of the previous KC slice, whose C tiles it adds to), so a thread that the OS
 * deschedules (another process on its core) holds up the others by at most one
 * small unit, and a thread that never starts leaves all the work to the others
 * instead of stalling them. Which thread runs a unit never changes the result
 * (see gemm.c).
 *
 * The per-type section is compiled for float and for double: this file includes
 * itself through instantiate.h.
 */
#ifndef REAL
#include "gemm.h"

/* depth steps of a B sliver packed as one piece of work */
#define FNN_PACK_PIECE 256

/* a B panel up to this size is assumed to stay in L2 while it is used */
#define FNN_PANEL_IN_L2 (512 * 1024)

/* with several threads, every (jc, pc) step gets its own B panel up to this total */
#define FNN_B_RING_BYTES (32 * 1024 * 1024)

/* In the static split, a product of at most this many row slivers (a mini-batch) gets one
   column group per thread when B has at least two slivers per thread: each thread then
   packs and reads only its own columns of B, and no packed panel crosses between cores. */
#define FNN_STATIC_COLUMNS_MAX_ROW_SLIVERS 16

/* In the static split with one column group, each thread packs the whole B panel for
   itself when the panel stays in L2 (FNN_PANEL_IN_L2) or the product has at most this
   many row slivers per thread: the duplicated packing then costs less than the barrier
   and than reading the other thread's half of the panel from its core. */
#define FNN_PRIVATE_PANEL_MAX_ROW_SLIVERS 16

/* columns of a small-batch product per claim, in dot kernel widths */
#define FNN_DOT_CHUNK_WIDTHS 4

/* One column group's counters in one (jc, pc) step. */
typedef struct {
    fnn_index b_claimed;    /* pieces of the group's B slivers claimed for packing */
    fnn_index b_packed;     /* ... of them packed: the group's units start at all */
    fnn_index rows_claimed; /* row chunks of the group claimed */
} fnn_gemm_group_sync;

/*
 * The counters of one (jc, pc) step, all starting at 0, in FNN_SCRATCH_SYNC: one
 * record per step, `per_step` fnn_index long, laid out as this struct followed by
 * one done flag per unit (fnn_gemm_unit_done).
 */
typedef struct {
    fnn_index units_done;   /* units of the step finished: its B buffer is free at all */
    fnn_gemm_group_sync group[]; /* one per column group */
} fnn_gemm_step_sync;

_Static_assert(sizeof(fnn_gemm_group_sync) == 3 * sizeof(fnn_index)
                   && sizeof(fnn_gemm_step_sync) == sizeof(fnn_index),
               "a step's record is counted in fnn_index slots");

/* fnn_index slots of one step's record */
static fnn_index fnn_gemm_step_slots(fnn_index groups, fnn_index units)
{
    return 1 + 3 * groups + units;
}

static inline fnn_gemm_step_sync *fnn_gemm_step(fnn_index *sync, fnn_index per_step,
                                                fnn_index step)
{
    return (fnn_gemm_step_sync *)(sync + step * per_step);
}

/* the flag unit u of a step sets when it is done: the same unit of the next KC slice waits for it */
static inline fnn_index *fnn_gemm_unit_done(fnn_gemm_step_sync *st, fnn_index groups, fnn_index u)
{
    return (fnn_index *)(st->group + groups) + u;
}

#define FNN_TEMPLATE "gemm_team.c"
#include "instantiate.h"

#else /* ---- once per type: REAL, FN() ---- */

/* ---- the small-batch path ---- */

/* What every thread of a small-batch product reads (see FN(fnn_gemm_small_batch)). */
typedef struct {
    const FN(fnn_gemm_operands) *op;
    fnn_index chunk, n_chunks;
    fnn_index *next_chunk, *helped;
    int *failed;
    int fixed;              /* static split (fnn_step_static) */
} FN(small_batch_job);

/* One thread's part of a small-batch product: the body of its parallel region, or all
   of the work when one thread runs it (then no region is entered: libgomp makes and
   frees a team even for one thread, a cost the small products of a training step
   would pay several times per step). */
static void FN(small_batch_team)(const FN(small_batch_job) *job)
{
    const FN(fnn_gemm_operands) *op = job->op;
    const fnn_index m = op->m, n = op->n, k = op->k, rs_a = op->rs_a, cs_a = op->cs_a;
    const REAL *A = op->A;
    const fnn_index chunk = job->chunk, n_chunks = job->n_chunks;
    fnn_index *next_chunk = job->next_chunk;
    const int DC = op->arch->dot_c;
    const int copy_a = cs_a != 1, copy_b = op->rs_b != 1;
    REAL *a_buf = copy_a ? (REAL *)fnn_scratch(FNN_SCRATCH_A_BLOCK, (size_t)(m * k) * sizeof(REAL))
                         : NULL;
    REAL *b_buf = copy_b ? (REAL *)fnn_scratch(FNN_SCRATCH_B_COLUMNS, (size_t)(DC * k) * sizeof(REAL))
                         : NULL;
    if ((copy_a && !a_buf) || (copy_b && !b_buf)) {
        FNN_COUNT_SYNC(FNN_SYNC_ATOMICS);
#pragma omp atomic write
        *job->failed = 1;
        return;
    }
    const REAL *a_row[FNN_SMALL_BATCH];
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *src = A + i * rs_a;
        if (copy_a) {
            for (fnn_index p = 0; p < k; ++p) a_buf[i * k + p] = src[p * cs_a];
            src = a_buf + i * k;
        }
        a_row[i] = src;
    }
    /* Thread t claims chunks of columns from its own range first (its part of B then
       stays in its cache from call to call) and then from the others' (a thread that
       starts late just takes fewer). */
    if (job->fixed) {
        /* the engine's static split: thread t's own range only, nothing claimed */
        const int T = fnn_team_size(), t = fnn_team_rank();
        for (fnn_index q = n_chunks * t / T; q < n_chunks * (t + 1) / T; ++q)
            FN(fnn_gemm_dot_columns)(op, a_row, q * chunk, FNN_MIN(n, (q + 1) * chunk), b_buf);
        return;
    }
    const int T = FNN_MIN(fnn_team_size(), FNN_MAX_RANGES), t = fnn_team_rank() % T;
    fnn_index mine = 0;
    for (int gi = 0; gi < T; ++gi) {
        const int g = (t + gi) % T;
        const fnn_index q0 = n_chunks * g / T, q1 = n_chunks * (g + 1) / T;
        for (fnn_index q = q0 + fnn_claim(next_chunk + g); q < q1;
             q = q0 + fnn_claim(next_chunk + g)) {
            ++mine;
            const fnn_index j_begin = q * chunk, j_end = FNN_MIN(n, j_begin + chunk);
            FN(fnn_gemm_dot_columns)(op, a_row, j_begin, j_end, b_buf);
        }
    }
    if (fnn_team_rank() != 0) {
        FNN_COUNT_SYNC(FNN_SYNC_ATOMICS);
#pragma omp atomic update
        *job->helped += mine;
    }
}

/*
 * A batch of at most FNN_SMALL_BATCH rows: dot products along p, A's rows and
 * B's columns read in place when contiguous along p (copied otherwise, one
 * column group at a time). Each element is one dot product computed by one
 * thread in one order.
 */
int FN(fnn_gemm_small_batch)(const FN(fnn_gemm_operands) *op)
{
    const fnn_index chunk = FNN_DOT_CHUNK_WIDTHS * (fnn_index)op->arch->dot_c;
    const fnn_index n_chunks = (op->n + chunk - 1) / chunk;
    /* each element of B serves only m multiply-adds: a B too large for one core's L2
       (1x784->512 float32: 1.6 MB) takes less time as two halves, each kept in its
       own core's cache, so then its size counts as the work */
    const double b_elements = (double)op->n * (double)op->k;
    const double macs = (double)op->m * b_elements / FNN_GEMM_MACS_PER_WORK;
    const int nthreads = fnn_threads_for(b_elements * sizeof(REAL) > FNN_PANEL_IN_L2
                                             ? FNN_MAX(b_elements, macs) : macs);
    int failed = 0;
    fnn_index next_chunk[FNN_MAX_RANGES] = {0}, helped = 0;

    /* one thread: its own range is everything, and nothing needs claiming */
    FN(small_batch_job) job = {op, chunk, n_chunks, next_chunk, &helped, &failed,
                               nthreads == 1 || fnn_step_static()};
    if (nthreads > 1) {
        FNN_COUNT_SYNC(FNN_SYNC_REGIONS);
#pragma omp parallel num_threads(nthreads)
        FN(small_batch_team)(&job);
    } else {
        FN(small_batch_team)(&job);
    }
    if (!job.fixed) fnn_team_report(nthreads, helped, n_chunks);
    return failed ? FNN_ENOMEM : FNN_OK;
}

/* ---- the blocked path ---- */

/* What every thread of a blocked product reads (see FN(fnn_gemm_blocked)). */
typedef struct {
    const FN(fnn_gemm_plan) *plan;
    fnn_index groups;       /* column groups of each B panel */
    fnn_index chunk_rows;   /* rows of C per unit */
    fnn_index m_chunks;     /* row chunks per group */
    fnn_index units;        /* units per step: groups x m_chunks */
    fnn_index ring;         /* B panel buffers, used by the steps in turn */
    int private_panels;     /* static split, one group: each thread packs all of B itself */
    fnn_index per_step;     /* fnn_index slots of a step's counters */
    REAL *b_ring;
    fnn_index *sync;        /* the steps' counters (fnn_gemm_step_sync) */
    fnn_index *helped;
    int *failed, *team;
} FN(blocked_job);

/* the panel buffer of a step */
static inline REAL *FN(b_ring_slot)(const FN(blocked_job) *job, fnn_index step)
{
    return job->b_ring + (size_t)(step % job->ring) * job->plan->panel;
}

/*
 * One thread's part of a blocked product split statically (fnn_step_static): with
 * column groups, thread t packs and computes the groups g with g % T == t, alone;
 * with one group, the threads pack fixed shares of each step's B panel, meet at one
 * barrier, and thread t computes the t-th of T fixed ranges of row chunks in every
 * step, so the C tiles a unit adds to were written by the same thread. A panel buffer
 * of column groups used again (ring shorter than the steps) waits for a barrier first. Every thread
 * passes every barrier, a thread without its A block too (the product then fails).
 * With private panels (job->private_panels) each thread packs every step's whole panel
 * into its own buffer, one panel long, and no barrier is passed at all.
 */
static void FN(blocked_team_static)(const FN(blocked_job) *job)
{
    const FN(fnn_gemm_plan) *plan = job->plan;
    const FN(fnn_gemm_operands) *op = &plan->op;
    const fnn_gemm_arch *arch = op->arch;
    const fnn_blocking bl = arch->FN(blocking);
    const int NR = bl.nr, VL = bl.vlen;
    const fnn_index m = op->m, n = op->n, k = op->k, rs_b = op->rs_b, cs_b = op->cs_b;
    const REAL *B = op->B;
    const fnn_index kc = plan->kc, groups = job->groups, chunk_rows = job->chunk_rows;
    const fnn_index m_chunks = job->m_chunks, ring = job->ring;
    const int T = fnn_team_size(), t = fnn_team_rank();
    const int shared = T > 1 && !job->private_panels;
    REAL *a_pack = (REAL *)fnn_scratch(FNN_SCRATCH_A_BLOCK, plan->a_bytes);
    /* the caller's private panel is the ring it took; another thread's is its own slot */
    REAL *own_panel = job->private_panels && t != 0
                          ? (REAL *)fnn_scratch(FNN_SCRATCH_B_PANELS, plan->panel * sizeof(REAL))
                          : job->b_ring;
    if (!a_pack || !own_panel) {
        FNN_COUNT_SYNC(FNN_SYNC_ATOMICS);
#pragma omp atomic update
        *job->failed += 1;
        a_pack = NULL;
    }
    fnn_index step = 0;
    for (fnn_index jc = 0; jc < n; jc += bl.nc) {
        const fnn_index nc = FNN_MIN((fnn_index)bl.nc, n - jc);
        const fnn_index n_slivers = (nc + NR - 1) / NR;
        for (fnn_index pc = 0; pc < k; pc += kc, ++step) {
            const fnn_index kcur = FNN_MIN(kc, k - pc);
            REAL *b_pack = shared ? FN(b_ring_slot)(job, step) : own_panel;
            /* one group: the previous step's barrier came after every unit of the step
               that used this buffer */
            if (shared && groups > 1 && step >= ring) {
                FNN_COUNT_SYNC_ONCE(t, FNN_SYNC_BARRIERS);
#pragma omp barrier
            }
            const fnn_index pieces = (kcur + FNN_PACK_PIECE - 1) / FNN_PACK_PIECE;
            for (fnn_index g = 0; g < groups; ++g) {
                const int own = groups > 1 ? (int)(g % T) == t : 1;
                if (!own) continue;
                if (!a_pack && !shared) continue;
                const fnn_index sj0 = n_slivers * g / groups, sj1 = n_slivers * (g + 1) / groups;
                const fnn_index g_pieces = (sj1 - sj0) * pieces;
                /* one shared group: thread t packs its fixed share of the panel's pieces */
                const int whole = groups > 1 || !shared;
                const fnn_index u0 = whole ? 0 : g_pieces * t / T;
                const fnn_index u1 = whole ? g_pieces : g_pieces * (t + 1) / T;
                for (fnn_index u = u0; u < u1; ++u) {
                    const fnn_index s = sj0 + u / pieces, p0 = u % pieces * FNN_PACK_PIECE;
                    const fnn_index j0 = jc + s * NR;
                    const int nr_cur = (int)FNN_MIN((fnn_index)NR, n - j0);
                    const int nr_fill = (nr_cur + VL - 1) / VL * VL;
                    FN(fnn_gemm_pack)(arch, FNN_MIN((fnn_index)FNN_PACK_PIECE, kcur - p0), NR,
                                      nr_cur, nr_fill, B + (pc + p0) * rs_b + j0 * cs_b, cs_b,
                                      rs_b, b_pack + s * NR * kcur + p0 * NR);
                }
                if (groups == 1 && shared) {
                    FNN_COUNT_SYNC_ONCE(t, FNN_SYNC_BARRIERS);
#pragma omp barrier
                }
                if (!a_pack) continue;
                const fnn_index r0 = groups > 1 ? 0 : m_chunks * t / T;
                const fnn_index r1 = groups > 1 ? m_chunks : m_chunks * (t + 1) / T;
                for (fnn_index r = r0; r < r1; ++r) {
                    const fnn_index ic = r * chunk_rows;
                    const fnn_gemm_unit unit = {
                        ic, FNN_MIN(chunk_rows, m - ic), jc, sj0, sj1, pc, kcur,
                        plan->dot_n && jc + nc == n && g == groups - 1};
                    FN(fnn_gemm_macro_kernel)(plan, &unit, b_pack, a_pack);
                }
            }
        }
    }
}

/* One thread's part of a blocked product whose threads claim their units (kernels called
   one by one, on several threads). */
static void FN(blocked_team)(const FN(blocked_job) *job)
{
    const FN(fnn_gemm_plan) *plan = job->plan;
    const FN(fnn_gemm_operands) *op = &plan->op;
    const fnn_gemm_arch *arch = op->arch;
    const fnn_blocking bl = arch->FN(blocking);
    const int NR = bl.nr, VL = bl.vlen;
    const fnn_index m = op->m, n = op->n, k = op->k, rs_b = op->rs_b, cs_b = op->cs_b;
    const REAL *B = op->B;
    const fnn_index kc = plan->kc, groups = job->groups, chunk_rows = job->chunk_rows;
    const fnn_index m_chunks = job->m_chunks, units = job->units, ring = job->ring;
    const fnn_index per_step = job->per_step;
    const size_t panel = plan->panel;
    REAL *b_ring = job->b_ring;
    fnn_index *sync = job->sync;

    const int T = fnn_team_size(), t = fnn_team_rank();
    REAL *a_pack = (REAL *)fnn_scratch(FNN_SCRATCH_A_BLOCK, plan->a_bytes);
    if (t == 0) *job->team = T;
    if (!a_pack) {
        /* this thread takes no work; the others do it all (none left: ENOMEM) */
        FNN_COUNT_SYNC(FNN_SYNC_ATOMICS);
#pragma omp atomic update
        *job->failed += 1;
    }

    fnn_index step = 0, mine = 0;
    for (fnn_index jc = 0; jc < n && a_pack; jc += bl.nc) {
        const fnn_index nc = FNN_MIN((fnn_index)bl.nc, n - jc);
        const fnn_index n_slivers = (nc + NR - 1) / NR;

        for (fnn_index pc = 0; pc < k; pc += kc, ++step) {
            const fnn_index kcur = FNN_MIN(kc, k - pc);
            REAL *b_pack = b_ring + (size_t)(step % ring) * panel;
            fnn_gemm_step_sync *st = fnn_gemm_step(sync, per_step, step);
            /* the panel's buffer is free once every unit of its previous step is done */
            if (T > 1 && step >= ring)
                fnn_wait_at_least(&fnn_gemm_step(sync, per_step, step - ring)->units_done, units);

            /* Thread t begins with group t (its part of B, packed by itself, stays in
               its own cache) and then helps with the other groups. A B sliver is NR
               columns of B, packed as rows of B^T; the threads claim pieces of
               FNN_PACK_PIECE depth steps, so one wide sliver next to a narrow one does
               not leave a thread waiting. */
            const fnn_index pieces = (kcur + FNN_PACK_PIECE - 1) / FNN_PACK_PIECE;
            for (fnn_index gi = 0; gi < groups; ++gi) {
                const fnn_index g = (gi + (fnn_index)t * groups / T) % groups;
                fnn_gemm_group_sync *gs = &st->group[g];
                const fnn_index sj0 = n_slivers * g / groups, sj1 = n_slivers * (g + 1) / groups;
                const fnn_index g_pieces = (sj1 - sj0) * pieces;
                for (;;) {
                    const fnn_index u = fnn_claim(&gs->b_claimed);
                    if (u >= g_pieces) break;
                    const fnn_index s = sj0 + u / pieces, p0 = u % pieces * FNN_PACK_PIECE;
                    const fnn_index j0 = jc + s * NR;
                    const int nr_cur = (int)FNN_MIN((fnn_index)NR, n - j0);
                    /* the micro-kernel reads whole vectors only */
                    const int nr_fill = (nr_cur + VL - 1) / VL * VL;
                    FN(fnn_gemm_pack)(arch, FNN_MIN((fnn_index)FNN_PACK_PIECE, kcur - p0), NR,
                                      nr_cur, nr_fill, B + (pc + p0) * rs_b + j0 * cs_b, cs_b,
                                      rs_b, b_pack + s * NR * kcur + p0 * NR);
                    fnn_claim(&gs->b_packed);
                }
                if (T > 1) fnn_wait_at_least(&gs->b_packed, g_pieces);

                for (;;) {
                    const fnn_index r = fnn_claim(&gs->rows_claimed);
                    if (r >= m_chunks) break;
                    const fnn_index u = g * m_chunks + r, ic = r * chunk_rows;
                    /* the same unit of the previous KC slice wrote the C tiles this one adds to */
                    if (T > 1 && pc > 0)
                        fnn_wait_at_least(
                            fnn_gemm_unit_done(fnn_gemm_step(sync, per_step, step - 1), groups, u), 1);
                    const fnn_gemm_unit unit = {
                        ic, FNN_MIN(chunk_rows, m - ic), jc, sj0, sj1, pc, kcur,
                        /* once per row chunk: by the group of the panel's last columns */
                        plan->dot_n && jc + nc == n && g == groups - 1};
                    FN(fnn_gemm_macro_kernel)(plan, &unit, b_pack, a_pack);
                    fnn_claim(fnn_gemm_unit_done(st, groups, u));
                    fnn_claim(&st->units_done);
                    ++mine;
                }
            }
        }
    }
    if (t != 0) {
        FNN_COUNT_SYNC(FNN_SYNC_ATOMICS);
#pragma omp atomic update
        *job->helped += mine;
    }
}

int FN(fnn_gemm_blocked)(const FN(fnn_gemm_operands) *op)
{
    FN(fnn_gemm_plan) plan;
    const int status = FN(fnn_gemm_plan_make)(op, &plan);
    if (status != FNN_OK) return status;
    const fnn_blocking bl = op->arch->FN(blocking);
    const int MR = bl.mr;
    const fnn_index m = op->m, n_blk = plan.op.n;
    const int nthreads = fnn_threads_for((double)op->m * (double)op->n * (double)op->k
                                         / FNN_GEMM_MACS_PER_WORK);

    /*
     * Column groups: one, or one per thread when rows are few or C is much
     * wider than tall (each group's part of B then stays in L2 while the
     * threads sweep its rows). Row chunks are single slivers when the B panel
     * stays in L2 anyway, larger (up to MC) when it does not; one thread takes MC.
     */
    const fnn_index m_sl = plan.m_slivers, n_sl = plan.n_slivers;
    const int fixed = nthreads > 1 && fnn_step_static();
    const int split_cols = nthreads > 1
                           && ((n_sl > m_sl && (m_sl <= 4 * (fnn_index)nthreads || n_sl >= 4 * m_sl))
                               || (fixed && m_sl <= FNN_STATIC_COLUMNS_MAX_ROW_SLIVERS
                                   && n_sl >= 2 * (fnn_index)nthreads));
    const fnn_index groups = split_cols ? nthreads : 1;
    fnn_index chunk_sl = plan.mc_max / MR;
    if (nthreads > 1)
        chunk_sl = plan.panel * sizeof(REAL) > FNN_PANEL_IN_L2
                       ? FNN_MAX(1, FNN_MIN(plan.mc_max / MR, m_sl / (2 * (fnn_index)nthreads)))
                       : 1;
    const fnn_index chunk_rows = chunk_sl * MR;
    const fnn_index m_chunks = (m + chunk_rows - 1) / chunk_rows;
    const fnn_index units = groups * m_chunks;
    const fnn_index steps = (n_blk + bl.nc - 1) / bl.nc * plan.k_slices;
    const int private_panels = fixed && groups == 1
                               && (m_sl <= FNN_PRIVATE_PANEL_MAX_ROW_SLIVERS * (fnn_index)nthreads
                                   || plan.panel * sizeof(REAL) <= FNN_PANEL_IN_L2);
    /* one B panel per step when they all fit, else two in turn (one thread, or private
       panels: one) */
    const fnn_index ring = nthreads == 1 || private_panels ? 1
                           : (size_t)steps * plan.panel * sizeof(REAL) <= FNN_B_RING_BYTES ? steps
                                                                                          : 2;
    const fnn_index per_step = fnn_gemm_step_slots(groups, units);
    REAL *b_ring = (REAL *)fnn_scratch(FNN_SCRATCH_B_PANELS, (size_t)ring * plan.panel * sizeof(REAL));
    fnn_index *sync = (fnn_index *)fnn_scratch(FNN_SCRATCH_SYNC,
                                               (size_t)(steps * per_step) * sizeof(fnn_index));
    if (!b_ring || !sync) return FNN_ENOMEM;
    for (fnn_index q = 0; q < steps * per_step; ++q) sync[q] = 0;
    int failed = 0, team = 1;
    fnn_index helped = 0;

    FN(blocked_job) job = {&plan, groups, chunk_rows, m_chunks, units, ring, private_panels,
                           per_step, b_ring, sync, &helped, &failed, &team};
    if (nthreads == 1) {
        /* one thread: the static split without barriers, nothing claimed */
        FN(blocked_team_static)(&job);
        return failed ? FNN_ENOMEM : FNN_OK;
    }
    if (fixed) {
        FNN_COUNT_SYNC(FNN_SYNC_REGIONS);
#pragma omp parallel num_threads(nthreads)
        FN(blocked_team_static)(&job);
        return failed ? FNN_ENOMEM : FNN_OK;
    }
    FNN_COUNT_SYNC(FNN_SYNC_REGIONS);
#pragma omp parallel num_threads(nthreads)
    FN(blocked_team)(&job);
    fnn_team_report(nthreads, helped, steps * units);
    return failed >= team ? FNN_ENOMEM : FNN_OK;
}

#endif /* REAL */
