/*
 * internal.h: helpers shared by the kernel files, not part of the ABI.
 */
#ifndef FASTNN_INTERNAL_H
#define FASTNN_INTERNAL_H

#include "fastnn.h"

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

/* the thread-team runtime: thread counts, fnn_parallel_for, claiming (threads.c) */
#include "threads.h"

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

/* The losses and the softmax on rows [0, m) (loss_impl.h): the gradient (or probability)
   rows and, for the losses, the per-sample losses. */
typedef struct {
    void (*softmax_ce_rows_f32)(fnn_index m, fnn_index c, const float *S, fnn_index lds,
                                const int64_t *y, float *dS, fnn_index ldds, float *row_loss,
                                float inv_n);
    void (*softmax_ce_rows_f64)(fnn_index m, fnn_index c, const double *S, fnn_index lds,
                                const int64_t *y, double *dS, fnn_index ldds, double *row_loss,
                                double inv_n);
    void (*softmax_ce_soft_rows_f32)(fnn_index m, fnn_index c, const float *S, fnn_index lds,
                                     const float *Y, fnn_index ldy, float *dS, fnn_index ldds,
                                     float *row_loss, float inv_n);
    void (*softmax_ce_soft_rows_f64)(fnn_index m, fnn_index c, const double *S, fnn_index lds,
                                     const double *Y, fnn_index ldy, double *dS, fnn_index ldds,
                                     double *row_loss, double inv_n);
    void (*sigmoid_bce_rows_f32)(fnn_index m, fnn_index k, const float *S, fnn_index lds,
                                 const float *Y, fnn_index ldy, float *dS, fnn_index ldds, float *row_loss,
                                 float inv_n);
    void (*sigmoid_bce_rows_f64)(fnn_index m, fnn_index k, const double *S, fnn_index lds,
                                 const double *Y, fnn_index ldy, double *dS, fnn_index ldds, double *row_loss,
                                 double inv_n);
    void (*mse_rows_f32)(fnn_index m, fnn_index d, const float *O, fnn_index ldo, const float *Y,
                         fnn_index ldy, float *dO, fnn_index lddo, float *row_loss, float inv_n);
    void (*mse_rows_f64)(fnn_index m, fnn_index d, const double *O, fnn_index ldo,
                         const double *Y, fnn_index ldy, double *dO, fnn_index lddo,
                         double *row_loss, double inv_n);
    void (*softmax_rows_f32)(fnn_index m, fnn_index c, const float *S, fnn_index lds, float *P,
                             fnn_index ldp);
    void (*softmax_rows_f64)(fnn_index m, fnn_index c, const double *S, fnn_index lds,
                             double *P, fnn_index ldp);
} fnn_loss_arch;

#define FNN_LOSS_ARCH(name)                                                             \
    const fnn_loss_arch name = {                                                        \
        softmax_ce_rows_f32, softmax_ce_rows_f64,                                       \
        softmax_ce_soft_rows_f32, softmax_ce_soft_rows_f64,                             \
        sigmoid_bce_rows_f32, sigmoid_bce_rows_f64,                                     \
        mse_rows_f32, mse_rows_f64,                                                     \
        softmax_rows_f32, softmax_rows_f64}

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
