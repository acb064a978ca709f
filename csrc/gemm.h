/*
 * gemm.h: the pieces of the GEMM, BLIS-style, and what they share.
 *
 *   gemm.c                   the entry points: checks, then the tiny, the small-batch or the
 *                            blocked path
 *   gemm_tiny.h              the tiny-product kernel, compiled per registry entry
 *   gemm_plan.c              the blocking plan: block sizes from the registry entry and the
 *                            operands, and the loops around the micro-kernel for one unit of
 *                            work (the macro-kernel, its edges, the epilogue, the dot kernels)
 *   gemm_team.c              the work distribution: how many threads, the grid of units they
 *                            claim, the counters they wait on, the parallel regions
 *   gemm_pack.c              packing of A blocks into MR-row slivers and of B panels into
 *                            NR-column slivers (portable; an entry may register its own)
 *   gemm_registry.c          the micro-kernel registry: one entry per SIMD level
 *   gemm_ukernel_generic.c   the portable entry: always present, the fallback and the oracle
 *   gemm_ukernel_avx2.c      the AVX2+FMA entry      } one template of micro-kernels,
 *   gemm_ukernel_avx512.c    the AVX-512 entry       } gemm_ukernel_vector.h
 *
 * Every registry entry provides one blocking table per type and micro-kernels with the
 * same signature. A micro-kernel computes one full MR x NR tile of C:
 *
 *   c[i, j] = (accumulate ? c[i, j] : (bias ? bias[j] : 0)) + sum_p a[i a_rs + p a_cs] b[p, j]
 *
 * where a is a packed sliver (k rows of MR: a_rs = 1, a_cs = MR) or MR rows of
 * A read in place (A's strides), b a packed sliver (k rows of NR),
 * and c has row stride ldc and contiguous columns. A tile whose width is a
 * whole number nv of vectors goes straight to the nv-vector kernel; other
 * partial tiles at the edges go through a temporary tile whose valid part is
 * then copied out.
 *
 * The per-type section at the end is compiled for float and for double: this file
 * includes itself through instantiate.h.
 */
#ifndef REAL /* ---- once ---- */
#ifndef FASTNN_GEMM_H
#define FASTNN_GEMM_H

#include "internal.h"

typedef void (*fnn_ukr_f32)(fnn_index k, const float *a, fnn_index a_rs, fnn_index a_cs,
                            const float *b, float *c, fnn_index ldc, const float *bias,
                            int accumulate);
typedef void (*fnn_ukr_f64)(fnn_index k, const double *a, fnn_index a_rs, fnn_index a_cs,
                            const double *b, double *c, fnn_index ldc, const double *bias,
                            int accumulate);

/* a whole tiny product, C = base + A B, on the calling thread (gemm_tiny.h) */
typedef void (*fnn_tiny_f32)(fnn_index m, fnn_index n, fnn_index k, const float *A,
                             fnn_index rs_a, fnn_index cs_a, const float *B, fnn_index rs_b,
                             fnn_index cs_b, float *C, fnn_index ldc, const float *bias,
                             int accumulate);
typedef void (*fnn_tiny_f64)(fnn_index m, fnn_index n, fnn_index k, const double *A,
                             fnn_index rs_a, fnn_index cs_a, const double *B, fnn_index rs_b,
                             fnn_index cs_b, double *C, fnn_index ldc, const double *bias,
                             int accumulate);

/* out[r * dot_c + c] = sum_p a[r][p] b[c][p] for dot_r (or 1) rows and dot_c columns */
typedef void (*fnn_dot_f32)(fnn_index k, const float *const *a, const float *const *b, float *out);
typedef void (*fnn_dot_f64)(fnn_index k, const double *const *a, const double *const *b,
                            double *out);

/* fnn_pack_sliver_* for the case cs == 1, same arguments without cs */
typedef void (*fnn_pack_rows_f32)(fnn_index k, int mr, int mr_cur, int mr_fill, const float *A,
                                  fnn_index rs, float *dst);
typedef void (*fnn_pack_rows_f64)(fnn_index k, int mr, int mr_cur, int mr_fill, const double *A,
                                  fnn_index rs, double *dst);

/* the most vectors in a micro-kernel's row (nr / vlen) */
#define FNN_MAX_NV 3

typedef struct {
    int mr, nr;   /* register tile of the micro-kernel */
    int vlen;     /* elements per vector: the micro-kernel for nv vectors is ukr[nv - 1] */
    int kc;       /* depth of a packed sliver: B sliver stays in L1 */
    int mc;       /* rows of the packed A block (multiple of mr): stays in L2 */
    int nc;       /* columns of the packed B panel (multiple of nr) */
} fnn_blocking;

/*
 * One entry of the micro-kernel registry (gemm_registry.c): an architecture's blocking
 * and kernels, filled by field name in its gemm_ukernel_<arch>.c. A field left out
 * (NULL or 0) means the architecture has no such kernel, and the driver takes the
 * portable way instead.
 */
typedef struct {
    const char *name;
    fnn_blocking blocking_f32, blocking_f64;
    /* ukr[nv - 1] computes nv of the tile's nr / vlen vector columns */
    fnn_ukr_f32 ukr_f32[FNN_MAX_NV];
    fnn_ukr_f64 ukr_f64[FNN_MAX_NV];
    /* one vector of vlen / 2 for a sliver at most that wide */
    fnn_ukr_f32 half_f32;
    fnn_ukr_f64 half_f64;
    /* short[nv - 1]: the micro-kernels for a last sliver of at most short_mr rows
       (without them the full-height ones compute it into a temporary tile) */
    int short_mr;
    fnn_ukr_f32 short_f32[FNN_MAX_NV];
    fnn_ukr_f64 short_f64[FNN_MAX_NV];
    /* the small-batch path: dot[0] takes dot_r rows, dot[1] one row, each dot_c columns */
    int dot_r, dot_c;
    fnn_dot_f32 dot_f32[2];
    fnn_dot_f64 dot_f64[2];
    /* packing of a sliver whose rows are contiguous along p (pack_rows), and of one
       whose rows are adjacent at each p, with cs in place of rs (pack_cols) */
    fnn_pack_rows_f32 pack_rows_f32;
    fnn_pack_rows_f64 pack_rows_f64;
    fnn_pack_rows_f32 pack_cols_f32;
    fnn_pack_rows_f64 pack_cols_f64;
    /* the tiny-product path: products of at most FNN_TINY_MACS multiply-adds */
    fnn_tiny_f32 tiny_f32;
    fnn_tiny_f64 tiny_f64;
} fnn_gemm_arch;

/* products of at most FNN_TINY_MACS multiply-adds (m n k) and a depth k of at most
   FNN_TINY_MAX_K take the tiny-product path where the entry has one: one thread, no packing */
#ifndef FNN_TINY_MACS
#define FNN_TINY_MACS 4096
#endif
#define FNN_TINY_MAX_K 128

/* batches of at most this many rows take the small-batch path where there is one */
#define FNN_SMALL_BATCH 8
/* the most columns a dot kernel takes */
#define FNN_MAX_DOT_C 8

/* the largest MR * NR of any architecture: size of the temporary edge tile */
#define FNN_MAX_TILE 512

/* the registry's entries (gemm_ukernel_<arch>.c) */
extern const fnn_gemm_arch fnn_gemm_arch_generic;
#ifdef FNN_HAVE_X86_SIMD
extern const fnn_gemm_arch fnn_gemm_arch_avx2;
extern const fnn_gemm_arch fnn_gemm_arch_avx512;
#endif

/* the registry's entry for a SIMD level; the generic one for a level it has none for */
const fnn_gemm_arch *fnn_gemm_arch_for_level(int level);
/* the entry for the SIMD level in use */
const fnn_gemm_arch *fnn_gemm_arch_current(void);

/*
 * What the GEMM does to each finished tile of C (after its last KC slice, while
 * the tile is still in cache): H = f(C) through the serial block activation.
 * H has the GEMM's element type, row stride ldh, and does not overlap C.
 * The activation runs in the middle of the GEMM's loops on every thread, while
 * the product holds the fnn_scratch buffers: it must not use fnn_scratch.
 */
typedef struct {
    int activation;   /* enum fnn_activation */
    double alpha;     /* leaky_relu slope or elu scale */
    void *H;
    fnn_index ldh;
} fnn_epilogue;

/* One unit of work of a blocked product: rows [ic, ic + mc) of C against the B slivers
   [sj0, sj1) of the panel at column jc, over depth [pc, pc + kcur). */
typedef struct {
    fnn_index ic, mc;
    fnn_index jc, sj0, sj1;
    fnn_index pc, kcur;
    int dot_edge;             /* also the dot kernels' columns of these rows */
} fnn_gemm_unit;

#define FNN_TEMPLATE "gemm.h"
#include "instantiate.h"

#endif /* FASTNN_GEMM_H */

#else /* ---- once per type: REAL, FN() ---- */

/* fnn_gemm_* with an optional epilogue (NULL: none) (gemm.c) */
int FN(fnn_gemm_fused)(fnn_index m, fnn_index n, fnn_index k,
                       const REAL *A, fnn_index rs_a, fnn_index cs_a,
                       const REAL *B, fnn_index rs_b, fnn_index cs_b,
                       REAL *C, fnn_index ldc, const REAL *bias, int accumulate,
                       const fnn_epilogue *epilogue);

/* A product's operands, as fnn_gemm_fused received them, with the registry entry it uses. */
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
} FN(fnn_gemm_operands);

/* The two paths of a product with m, n, k > 0 (gemm_team.c). */
int FN(fnn_gemm_small_batch)(const FN(fnn_gemm_operands) *op);
int FN(fnn_gemm_blocked)(const FN(fnn_gemm_operands) *op);

/*
 * The blocking plan of a blocked product (gemm_plan.c): what the block sizes of the
 * registry entry become for these operands. The team (gemm_team.c) cuts each (jc, pc)
 * step into units of rows x B slivers, and each unit goes through the macro-kernel.
 */
typedef struct {
    FN(fnn_gemm_operands) op; /* op.n: the columns of the blocked part (n_blk) */
    fnn_index kc;             /* depth of every KC slice: k cut into slices of equal depth */
    fnn_index k_slices;
    fnn_index m_slivers, n_slivers; /* MR-row slivers of A, NR-column slivers of B */
    fnn_index mc_max, nc_max; /* the largest A block and B panel */
    size_t a_bytes;           /* a thread's A block, and its copy of dot_r rows for the edge */
    size_t panel;             /* elements of one packed B panel */
    int read_a;               /* full slivers of A are read in place, not packed */
    fnn_index dot_n;          /* the last columns of C, left to the dot kernels (0: none) */
    const REAL *dot_b[FNN_MAX_DOT_C]; /* their columns of B, contiguous along p */
} FN(fnn_gemm_plan);

/* The plan for these operands; FNN_ENOMEM when the dot kernels' copy of B has no room. */
int FN(fnn_gemm_plan_make)(const FN(fnn_gemm_operands) *op, FN(fnn_gemm_plan) *plan);

/* The loops around the micro-kernel for one unit (fnn_gemm_unit; gemm_plan.c): pack the unit's A
   slivers into a_pack (a thread's A block), then multiply each B sliver of b_pack
   (the step's packed panel) by each of them into C; the epilogue after the last slice. */
void FN(fnn_gemm_macro_kernel)(const FN(fnn_gemm_plan) *plan, const fnn_gemm_unit *unit,
                               const REAL *b_pack, REAL *a_pack);

/* Columns [j_begin, j_end) of a small-batch product (gemm_plan.c): every row of C by the
   dot kernels, a_row[i] row i of A contiguous along p; b_buf (dot_c x k) takes columns of
   B that are not; then the epilogue. */
void FN(fnn_gemm_dot_columns)(const FN(fnn_gemm_operands) *op, const REAL *const *a_row,
                              fnn_index j_begin, fnn_index j_end, REAL *b_buf);

/* The epilogue on the finished block C[i0:i0+m_cur, j0:j0+n_cur] at c (gemm_plan.c). */
void FN(fnn_gemm_finish_block)(const fnn_epilogue *ep, fnn_index i0, fnn_index j0,
                               fnn_index m_cur, fnn_index n_cur, const REAL *c, fnn_index ldc);

/* Pack rows [0, mr_cur) x depth [0, k) of A (strides rs, cs) into one sliver of
 * k x mr, zero-filling rows mr_cur..mr_fill-1 (the rest is never read) (gemm_pack.c):
 * by the entry's own packer where it has one for these strides, else portably. */
void FN(fnn_gemm_pack)(const fnn_gemm_arch *arch, fnn_index k, int mr, int mr_cur, int mr_fill,
                       const REAL *A, fnn_index rs, fnn_index cs, REAL *dst);

#endif /* REAL */
