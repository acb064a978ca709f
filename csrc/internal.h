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
#define FNN_CAT_(a, b) a##b
#define FNN_CAT(a, b) FNN_CAT_(a, b)

/*
 * Threads for a job of `work` element-operations: one thread below the point
 * where starting a team costs more than it saves. Only the speed depends on
 * this choice; every kernel's result is independent of it.
 */
int fnn_threads_for(double work);

/* Below this many element-operations a kernel runs on one thread. */
#define FNN_PARALLEL_MIN_WORK 32768.0

/*
 * A per-calling-thread scratch buffer of at least `bytes`, 64-byte aligned,
 * kept between calls so that hot paths never allocate. NULL when out of memory.
 * `slot` selects one of a few independent buffers.
 */
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

#endif
