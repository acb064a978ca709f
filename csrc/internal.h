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
 * `slot` selects one of a few independent buffers, each named by its one user, so
 * that no two users of a slot are ever live at once: the GEMM holds the first four
 * during a product, batch norm its per-column coefficients during one of its calls.
 */
enum fnn_scratch_slot {
    FNN_SCRATCH_A_BLOCK = 0,   /* a thread's packed A block; small batch: A's rows made contiguous */
    FNN_SCRATCH_B_PANELS = 1,  /* the ring of packed B panels */
    FNN_SCRATCH_B_COLUMNS = 2, /* columns of B made contiguous along p for the dot kernels */
    FNN_SCRATCH_SYNC = 3,      /* the team's counters (gemm_team.c) */
    FNN_SCRATCH_BATCHNORM = 4, /* batch norm's per-column coefficients (batchnorm.c) */
    FNN_SCRATCH_SLOTS = 5
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

/* ---- per-SIMD-level kernels ----
 * activation.c, batchnorm.c, check.c, dropout.c and loss.c are compiled by setup.py once
 * per SIMD level (simd_level.h); each compile fills its family's table, named
 * LEVEL(fnn_<family>), by field name. The entry points pick the table of
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

extern const fnn_activation_arch fnn_activation_generic, fnn_activation_avx2,
    fnn_activation_avx512;
const fnn_activation_arch *fnn_activation_kernels(void);

/* Batch norm: column statistics on one block of columns [j0, j0 + w) over all n rows,
   and the elementwise output on whole rows (batchnorm.c) */
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

extern const fnn_batchnorm_arch fnn_batchnorm_generic, fnn_batchnorm_avx2, fnn_batchnorm_avx512;
const fnn_batchnorm_arch *fnn_batchnorm_kernels(void);

/*
 * The training engine's batch norm with the activation that follows it (batchnorm.c),
 * in one parallel region instead of three. Forward: fnn_batchnorm_forward, then
 * (activation >= 0) H = f(Y) on the same rows by the same thread. Backward
 * (activation >= 0): dY = the activation's backward from dH and H, rows by the thread
 * that owns them, then fnn_batchnorm_backward from dY (dY may be NULL when activation
 * < 0: dH is then dY). The results are those of the separate kernels.
 */
int fnn_batchnorm_forward_step_f32(fnn_index n, fnn_index d, const float *S, fnn_index lds,
                                   const float *gamma, const float *beta, float eps, float *Y,
                                   fnn_index ldy, float *mean, float *var, int activation,
                                   float alpha, float *H, fnn_index ldh);
int fnn_batchnorm_forward_step_f64(fnn_index n, fnn_index d, const double *S, fnn_index lds,
                                   const double *gamma, const double *beta, double eps,
                                   double *Y, fnn_index ldy, double *mean, double *var,
                                   int activation, double alpha, double *H, fnn_index ldh);
int fnn_batchnorm_backward_step_f32(fnn_index n, fnn_index d, int activation, float alpha,
                                    const float *dH, const float *H, float *dY,
                                    const float *S, fnn_index lds, const float *gamma,
                                    const float *mean, const float *var, float eps, float *dS,
                                    float *dgamma, float *dbeta);
int fnn_batchnorm_backward_step_f64(fnn_index n, fnn_index d, int activation, double alpha,
                                    const double *dH, const double *H, double *dY,
                                    const double *S, fnn_index lds, const double *gamma,
                                    const double *mean, const double *var, double eps,
                                    double *dS, double *dgamma, double *dbeta);

/* The losses and the softmax on rows [0, m) (loss.c): the gradient (or probability)
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

extern const fnn_loss_arch fnn_loss_generic, fnn_loss_avx2, fnn_loss_avx512;
const fnn_loss_arch *fnn_loss_kernels(void);

/* Dropout on rows [i0, i1) of a job of dropout.c: the same loop compiled for each level,
   since the hash's 64-bit multiplies vectorise only where the target has them. */
typedef struct {
    fnn_range_body rows_f32, rows_f64;
} fnn_dropout_arch;

extern const fnn_dropout_arch fnn_dropout_generic, fnn_dropout_avx2, fnn_dropout_avx512;
const fnn_dropout_arch *fnn_dropout_kernels(void);

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
