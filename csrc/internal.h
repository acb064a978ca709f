/*
 * internal.h: helpers shared by the kernel files, not part of the ABI.
 */
#ifndef FASTNN_INTERNAL_H
#define FASTNN_INTERNAL_H

#include "fastnn.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* x86-64 SIMD micro-kernels need GCC/Clang target attributes and cpu detection. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FNN_HAVE_X86_SIMD 1
#endif

#define FNN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FNN_MAX(a, b) ((a) > (b) ? (a) : (b))
/* fully unroll the loop that follows (a constant trip count) */
#if defined(__clang__)
#define FNN_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define FNN_UNROLL _Pragma("GCC unroll 64")
#else
#define FNN_UNROLL
#endif
#define FNN_CAT_(a, b) a##b
#define FNN_CAT(a, b) FNN_CAT_(a, b)

/*
 * Threads for a job of `work` element-operations: one thread below the point
 * where starting a team costs more than it saves. Only the speed depends on
 * this choice; every kernel's result is independent of it.
 */
int fnn_threads_for(double work);

/* inside a parallel region: how many threads, and which one this is */
static inline int fnn_team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

static inline int fnn_team_rank(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/*
 * After a parallel loop of `pieces` pieces of work, of which the team's helpers
 * (every thread but the caller) did `helped`: when the helpers or the caller did
 * less than half their fair share, the team did not run side by side (the
 * helpers' cores busy with other processes, so the caller did their work and
 * then waited for them at the end; or the threads sharing one core), and fnn_threads_for
 * answers 1 for the next few jobs (4, doubling after each late team in a row, at
 * most 32), before
 * trying the team again (the first team after such a run wakes the sleeping
 * workers and is not judged). Only the speed depends on this.
 */
void fnn_team_report(int nthreads, fnn_index helped, fnn_index pieces);

/* rows of a d-column elementwise kernel that a thread claims at a time (about 16K elements) */
#define FNN_ROWS_PER_CLAIM(d) FNN_MAX(1, 16384 / FNN_MAX((fnn_index)(d), 1))

/*
 * body(ctx, begin, end) over [0, n) on `nthreads` threads, in pieces of at most
 * `piece` items: thread t of T takes the pieces of its own range (what
 * schedule(static) would give it, so the same thread meets the same data call
 * after call) and then helps with the others' ranges; then fnn_team_report.
 * Each item is handled once, by one thread.
 */
typedef void (*fnn_range_body)(void *ctx, fnn_index begin, fnn_index end);
void fnn_parallel_for(int nthreads, fnn_index n, fnn_index piece, fnn_range_body body, void *ctx);

/* the most threads whose own ranges fnn_parallel_for keeps apart (more share them) */
#define FNN_MAX_RANGES 64

/* Work claiming between the threads of a team: fnn_claim returns *p and adds
   one (acquire and release: what the claimer wrote before is visible to whoever
   sees the new count); fnn_wait_at_least waits until *p >= target. */
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

/* Below this many element-operations a kernel runs on one thread. */
#define FNN_PARALLEL_MIN_WORK 32768.0

/* Multiply-adds of a GEMM that count as one element-operation: a vectorised
   multiply-add costs a small fraction of an elementwise kernel's load, math and
   store. With this ratio a product of about 2e5 multiply-adds (32x64->100) runs on
   one thread, and one of 6.4e5 (64x100->100), which a second thread speeds up, on two. */
#define FNN_GEMM_MACS_PER_WORK 16.0

/*
 * A per-calling-thread scratch buffer of at least `bytes`, 64-byte aligned,
 * kept between calls so that hot paths never allocate. NULL when out of memory.
 * `slot` selects one of a few independent buffers, named by their use in the GEMM,
 * which holds all of them during a product (a kernel that never runs inside a
 * product may borrow one).
 */
enum fnn_scratch_slot {
    FNN_SCRATCH_A_BLOCK = 0,   /* a thread's packed A block; small batch: A's rows made contiguous */
    FNN_SCRATCH_B_PANELS = 1,  /* the ring of packed B panels */
    FNN_SCRATCH_B_COLUMNS = 2, /* columns of B made contiguous along p for the dot kernels */
    FNN_SCRATCH_SYNC = 3,      /* the team's counters (gemm_team.c) */
    FNN_SCRATCH_SLOTS = 4
};
void *fnn_scratch(int slot, size_t bytes);

/* Column-block width of the reductions over the batch: a fixed partition of the
 * columns, each reduced over all rows in row order by one thread. */
#define FNN_COLUMN_BLOCK 64

/*
 * H = f(S) on an m x n block, serially: for callers that are already inside a
 * parallel region, such as the GEMM epilogue of a fused dense layer. H must not
 * overlap S.
 */
void fnn_activation_forward_block_f32(int activation, fnn_index m, fnn_index n, const float *S,
                                      fnn_index lds, float *H, fnn_index ldh, float alpha);
void fnn_activation_forward_block_f64(int activation, fnn_index m, fnn_index n, const double *S,
                                      fnn_index lds, double *H, fnn_index ldh, double alpha);

/* ---- per-SIMD-level kernels of the elementwise families ----
 * check.c is compiled by setup.py once per level (simd_level.h). activation.c,
 * batchnorm.c and loss.c compile their *_impl.h template for the portable target;
 * the *_avx2.c and *_avx512.c files compile the same template under their targets
 * (vmath_level.h). Each fills one table; the entry points pick the table of
 * fnn_simd_level() on every call (so fnn_set_simd_level takes effect at once).
 * Tables of levels this build has no code for are never named.
 */
#if defined(FNN_HAVE_X86_SIMD)
#define FNN_ARCH_FOR_LEVEL(generic, avx2, avx512)                                        \
    (fnn_simd_level() >= FNN_SIMD_AVX512 ? &(avx512)                                    \
     : fnn_simd_level() == FNN_SIMD_AVX2 ? &(avx2) : &(generic))
#else
#define FNN_ARCH_FOR_LEVEL(generic, avx2, avx512) (&(generic))
#endif

typedef struct {
    void (*forward_f32)(int activation, fnn_index m, fnn_index n, const float *S, fnn_index lds,
                        float *H, fnn_index ldh, float alpha);
    void (*forward_f64)(int activation, fnn_index m, fnn_index n, const double *S,
                        fnn_index lds, double *H, fnn_index ldh, double alpha);
    void (*backward_f32)(int activation, fnn_index m, fnn_index n, const float *dH,
                         fnn_index lddh, const float *H, fnn_index ldh, float *dS,
                         fnn_index ldds, float alpha);
    void (*backward_f64)(int activation, fnn_index m, fnn_index n, const double *dH,
                         fnn_index lddh, const double *H, fnn_index ldh, double *dS,
                         fnn_index ldds, double alpha);
    void (*vmath_f32)(int fn, fnn_index n, const float *x, float *y);
    void (*vmath_f64)(int fn, fnn_index n, const double *x, double *y);
} fnn_activation_arch;

#define FNN_ACTIVATION_ARCH(name)                                                       \
    const fnn_activation_arch name = {                                                  \
        activation_forward_rows_f32, activation_forward_rows_f64,                      \
        activation_backward_rows_f32, activation_backward_rows_f64,                    \
        activation_vmath_f32, activation_vmath_f64}

extern const fnn_activation_arch fnn_activation_generic, fnn_activation_avx2,
    fnn_activation_avx512;
const fnn_activation_arch *fnn_activation_kernels(void);

/* Batch norm: column statistics on one block of columns [j0, j0 + w) over all n rows,
   and the elementwise output on whole rows (batchnorm_impl.h) */
typedef struct {
    void (*forward_stats_f32)(fnn_index n, fnn_index w, const float *S, fnn_index lds,
                              const float *gamma, float eps, float *mean, float *var,
                              float *scale);
    void (*forward_stats_f64)(fnn_index n, fnn_index w, const double *S, fnn_index lds,
                              const double *gamma, double eps, double *mean, double *var,
                              double *scale);
    void (*forward_rows_f32)(fnn_index m, fnn_index d, const float *S, fnn_index lds,
                             const float *mean, const float *scale, const float *beta, float *Y,
                             fnn_index ldy);
    void (*forward_rows_f64)(fnn_index m, fnn_index d, const double *S, fnn_index lds,
                             const double *mean, const double *scale, const double *beta,
                             double *Y, fnn_index ldy);
    void (*backward_sums_f32)(fnn_index n, fnn_index w, const float *dY, fnn_index lddy,
                              const float *S, fnn_index lds, const float *gamma,
                              const float *mean, const float *var, float eps, float *a,
                              float *b, float *c, float *dgamma, float *dbeta);
    void (*backward_sums_f64)(fnn_index n, fnn_index w, const double *dY, fnn_index lddy,
                              const double *S, fnn_index lds, const double *gamma,
                              const double *mean, const double *var, double eps, double *a,
                              double *b, double *c, double *dgamma, double *dbeta);
    void (*backward_rows_f32)(fnn_index m, fnn_index d, const float *dY, fnn_index lddy,
                              const float *S, fnn_index lds, const float *mean, const float *a,
                              const float *b, const float *c, float *dS, fnn_index ldds);
    void (*backward_rows_f64)(fnn_index m, fnn_index d, const double *dY, fnn_index lddy,
                              const double *S, fnn_index lds, const double *mean,
                              const double *a, const double *b, const double *c, double *dS,
                              fnn_index ldds);
} fnn_batchnorm_arch;

#define FNN_BATCHNORM_ARCH(name)                                                        \
    const fnn_batchnorm_arch name = {                                                   \
        batchnorm_forward_stats_f32, batchnorm_forward_stats_f64,                       \
        batchnorm_forward_rows_f32, batchnorm_forward_rows_f64,                         \
        batchnorm_backward_sums_f32, batchnorm_backward_sums_f64,                       \
        batchnorm_backward_rows_f32, batchnorm_backward_rows_f64}

extern const fnn_batchnorm_arch fnn_batchnorm_generic, fnn_batchnorm_avx2, fnn_batchnorm_avx512;
const fnn_batchnorm_arch *fnn_batchnorm_kernels(void);

/* Softmax cross-entropy of rows [0, m): dS rows and the per-row losses. */
typedef struct {
    void (*rows_f32)(fnn_index m, fnn_index c, const float *S, fnn_index lds, const int64_t *y,
                     float *dS, fnn_index ldds, float *row_loss, float inv_n);
    void (*rows_f64)(fnn_index m, fnn_index c, const double *S, fnn_index lds,
                     const int64_t *y, double *dS, fnn_index ldds, double *row_loss,
                     double inv_n);
} fnn_loss_arch;

#define FNN_LOSS_ARCH(name) const fnn_loss_arch name = {softmax_ce_rows_f32, softmax_ce_rows_f64}

extern const fnn_loss_arch fnn_loss_generic, fnn_loss_avx2, fnn_loss_avx512;
const fnn_loss_arch *fnn_loss_kernels(void);

/* Finiteness of n values; the copying twin also writes them to dst (check.c, one
   table per SIMD level). */
typedef struct {
    int (*finite_f32)(fnn_index n, const float *x);
    int (*finite_f64)(fnn_index n, const double *x);
    int (*copy_finite_f32)(fnn_index n, const float *src, float *dst);
    int (*copy_finite_f64)(fnn_index n, const double *src, double *dst);
} fnn_check_arch;

extern const fnn_check_arch fnn_check_generic, fnn_check_avx2, fnn_check_avx512;
const fnn_check_arch *fnn_check_kernels(void);

#endif
