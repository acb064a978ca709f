/*
 * gemm_internal.h: the pieces of the GEMM, BLIS-style.
 *
 *   gemm.c                   the loops: jc (NC) -> pc (KC) -> ic (MC) -> macro-kernel
 *   gemm_pack.c              packing of A blocks into MR-row slivers and of
 *                            B panels into NR-column slivers
 *   gemm_ukernel_generic.c   portable micro-kernel: always present, the fallback and oracle
 *   gemm_ukernel_avx2.c      AVX2+FMA micro-kernels      } one template,
 *   gemm_ukernel_avx512.c    AVX-512 micro-kernels       } gemm_ukernel_vector.h
 *   gemm_config.c            picks the architecture for the SIMD level in use
 *
 * Every architecture provides one blocking table and micro-kernels with the
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
 */
#ifndef FASTNN_GEMM_INTERNAL_H
#define FASTNN_GEMM_INTERNAL_H

#include "internal.h"

typedef void (*fnn_ukr_f32)(fnn_index k, const float *a, fnn_index a_rs, fnn_index a_cs,
                            const float *b, float *c, fnn_index ldc, const float *bias,
                            int accumulate);
typedef void (*fnn_ukr_f64)(fnn_index k, const double *a, fnn_index a_rs, fnn_index a_cs,
                            const double *b, double *c, fnn_index ldc, const double *bias,
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

typedef struct {
    const char *name;
    fnn_blocking blocking_f32, blocking_f64;
    /* ukr[nv - 1] computes nv of the tile's nr / vlen vector columns */
    fnn_ukr_f32 ukr_f32[FNN_MAX_NV];
    fnn_ukr_f64 ukr_f64[FNN_MAX_NV];
    /* one vector of vlen / 2 for a sliver at most that wide (NULL: none) */
    fnn_ukr_f32 half_f32;
    fnn_ukr_f64 half_f64;
    /* the small-batch path (NULL: none): dot[0] takes dot_r rows, dot[1] one row */
    int dot_r, dot_c;
    fnn_dot_f32 dot_f32[2];
    fnn_dot_f64 dot_f64[2];
    /* packing of a sliver whose rows are contiguous along p, and of one whose rows
       are adjacent at each p, with cs in place of rs (NULL: the portable one) */
    fnn_pack_rows_f32 pack_rows_f32;
    fnn_pack_rows_f64 pack_rows_f64;
    fnn_pack_rows_f32 pack_cols_f32;
    fnn_pack_rows_f64 pack_cols_f64;
    /* short[nv - 1]: the micro-kernels for a last sliver of at most short_mr rows
       (0: none; the full-height ones then compute it into a temporary tile) */
    int short_mr;
    fnn_ukr_f32 short_f32[FNN_MAX_NV];
    fnn_ukr_f64 short_f64[FNN_MAX_NV];
} fnn_gemm_arch;

/* batches of at most this many rows take the small-batch path where there is one */
#define FNN_SMALL_BATCH 8
/* the most columns a dot kernel takes */
#define FNN_MAX_DOT_C 8

/* the largest MR * NR of any architecture: size of the temporary edge tile */
#define FNN_MAX_TILE 512

extern const fnn_gemm_arch fnn_gemm_arch_generic;
#ifdef FNN_HAVE_X86_SIMD
extern const fnn_gemm_arch fnn_gemm_arch_avx2;
extern const fnn_gemm_arch fnn_gemm_arch_avx512;
#endif

/*
 * What the GEMM does to each finished tile of C (after its last KC slice, while
 * the tile is still in cache): H = f(C) through the serial block activation.
 * H has the GEMM's element type, row stride ldh, and does not overlap C.
 * The activation runs in the middle of the GEMM's loops on every thread, while
 * the packed panels occupy fnn_scratch slots 0-3: it must not use fnn_scratch.
 */
typedef struct {
    int activation;   /* enum fnn_activation */
    double alpha;     /* leaky_relu slope or elu scale */
    void *H;
    fnn_index ldh;
} fnn_epilogue;

/* fnn_gemm_* with an optional epilogue (NULL: none) */
int fnn_gemm_fused_f32(fnn_index m, fnn_index n, fnn_index k,
                       const float *A, fnn_index rs_a, fnn_index cs_a,
                       const float *B, fnn_index rs_b, fnn_index cs_b,
                       float *C, fnn_index ldc, const float *bias, int accumulate,
                       const fnn_epilogue *epilogue);
int fnn_gemm_fused_f64(fnn_index m, fnn_index n, fnn_index k,
                       const double *A, fnn_index rs_a, fnn_index cs_a,
                       const double *B, fnn_index rs_b, fnn_index cs_b,
                       double *C, fnn_index ldc, const double *bias, int accumulate,
                       const fnn_epilogue *epilogue);

/* Work claiming between the threads of a team: fnn_claim returns *p and adds
   one (acquire and release: what the claimer wrote before is visible to whoever
   sees the new count); fnn_wait_at_least spins until *p >= target. */
static inline fnn_index fnn_claim(fnn_index *p)
{
#if defined(__GNUC__) || defined(__clang__)
    return __atomic_fetch_add(p, 1, __ATOMIC_ACQ_REL);
#else
    fnn_index v;
#pragma omp atomic capture seq_cst
    v = (*p)++;
    return v;
#endif
}

static inline fnn_index fnn_load_acquire(const fnn_index *p)
{
#if defined(__GNUC__) || defined(__clang__)
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
#else
    fnn_index v;
#pragma omp atomic read seq_cst
    v = *p;
    return v;
#endif
}

void fnn_wait_at_least(const fnn_index *p, fnn_index target);

/* the architecture for the SIMD level in use (cached in runtime.c) */
const fnn_gemm_arch *fnn_gemm_arch_current(void);

/* Pack rows [0, mr_cur) x depth [0, k) of A (strides rs, cs) into one sliver of
 * k x mr, zero-filling rows mr_cur..mr_fill-1 (the rest is never read). */
void fnn_pack_sliver_f32(fnn_index k, int mr, int mr_cur, int mr_fill, const float *A,
                         fnn_index rs, fnn_index cs, float *dst);
void fnn_pack_sliver_f64(fnn_index k, int mr, int mr_cur, int mr_fill, const double *A,
                         fnn_index rs, fnn_index cs, double *dst);


#endif
