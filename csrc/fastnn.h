/*
 * fastnn.h: the whole C ABI of fastnn's kernels.
 *
 * Conventions (the same for every kernel):
 *  - Samples are rows. X is (n, d_in), W is (d_out, d_in), S is (n, d_out).
 *  - Matrices are passed BLAS-style as a pointer plus strides counted in
 *    elements. GEMM operands take a row stride and a column stride (any
 *    view of a NumPy array, transposed ones included); elementwise kernels
 *    take a row stride and require unit column stride.
 *  - Every kernel exists for float (_f32) and double (_f64); both are
 *    instantiated from one source.
 *  - Names: FN(fnn_x) defines fnn_x_f32 and fnn_x_f64 (instantiate.h), LEVEL(x) defines
 *    x_generic, x_avx2 and x_avx512 (simd_level.h): grep fnn_x to find its definition.
 *  - Where each family is defined (the files marked * are compiled once per SIMD level):
 *      gemm.c (with gemm_plan.c, gemm_team.c, gemm_pack.c, gemm_registry.c and
 *        gemm_ukernel_*.c)          fnn_gemm, fnn_gemm_fused
 *      linear.c                     fnn_linear_*, fnn_dense_forward, fnn_column_sum
 *      activation.c *               fnn_activation_*, fnn_vmath
 *      batchnorm.c *                fnn_batchnorm_*
 *      dropout.c *                  fnn_dropout_*
 *      maxout.c                     fnn_maxout_*
 *      loss.c *                     fnn_softmax_cross_entropy(_soft), fnn_sigmoid_binary_cross_entropy,
 *                                   fnn_mse, fnn_softmax
 *      optim.c                      fnn_sgd_update, fnn_adagrad_update, fnn_rmsprop_update,
 *                                   fnn_adam_update, fnn_l2_penalty, fnn_l2_gradient
 *      engine.c                     fnn_train, fnn_train_workspace_bytes
 *      check.c *                    fnn_all_finite
 *      threads.c, runtime.c         threads, SIMD levels, build facts
 *  - Kernels return FNN_OK or a negative FNN_E* code; they never abort and
 *    never allocate inside their hot loops. Arguments are assumed to have
 *    been checked by the caller (fastnn/_validation.py).
 *  - Reductions over the batch are split into pieces that do not depend
 *    on the thread count, so results are bit-identical for any number of
 *    threads.
 */
#ifndef FASTNN_H
#define FASTNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef ptrdiff_t fnn_index;

enum fnn_status {
    FNN_OK = 0,
    FNN_ENOMEM = -1,   /* a workspace could not be allocated */
    FNN_EINVAL = -2,   /* an argument the caller should have rejected */
    FNN_ENONFINITE = -3, /* fnn_train: a checked batch holds a NaN or an infinity */
    FNN_EDIVERGED = -4   /* fnn_train: a step's loss or an updated parameter is not finite */
};

/*
 * The activations, defined once: X(code, name, takes_alpha, default_alpha) gives
 * each one's enum constant, its name in Python, whether it has a parameter alpha
 * and alpha's default. enum fnn_activation numbers them in this order, and
 * fnn_activation_info (activation.c) hands the table to Python (fastnn._ops
 * builds ACTIVATIONS and DEFAULT_ALPHA from it). A new activation is one line
 * at the end of this table plus its formulas: forward and backward in
 * activation.c, and in fastnn/reference.py.
 */
#define FNN_ACTIVATIONS(X)                     \
    X(FNN_IDENTITY, "identity", 0, 0.0)        \
    X(FNN_SIGMOID, "sigmoid", 0, 0.0)          \
    X(FNN_TANH, "tanh", 0, 0.0)                \
    X(FNN_RELU, "relu", 0, 0.0)                \
    X(FNN_LEAKY_RELU, "leaky_relu", 1, 0.01)   \
    X(FNN_ELU, "elu", 1, 1.0)                  \
    X(FNN_SOFTPLUS, "softplus", 0, 0.0)

enum fnn_activation {
#define FNN_ACTIVATION_ENUM(code, name, takes_alpha, default_alpha) code,
    FNN_ACTIVATIONS(FNN_ACTIVATION_ENUM)
#undef FNN_ACTIVATION_ENUM
    FNN_ACTIVATION_COUNT       /* how many there are; codes are 0 .. FNN_ACTIVATION_COUNT - 1 */
};

/* SIMD levels of the GEMM micro-kernels, lowest first. */
enum fnn_simd_level {
    FNN_SIMD_GENERIC = 0,
    FNN_SIMD_AVX2 = 1,
    FNN_SIMD_AVX512 = 2
};

/* ---- runtime: threads, SIMD dispatch, build facts (runtime.c) ----
 * The SIMD level in use is the best one this build has code for and this CPU runs,
 * detected at first use; the environment variable FASTNN_SIMD=generic|avx2|avx512,
 * read then, caps it (a level above the detected one, or an unknown name, is ignored).
 */
int fnn_has_openmp(void);
/* Threads: set_num_threads's number, else OMP_NUM_THREADS, else
 * fnn_system_default_threads(): the CPUs in the affinity mask, one per physical core
 * where sysfs reports SMT siblings, at most the cgroup CPU quota (rounded up).
 * fnn_default_threads is that decision from its three facts (physical_cores 0: not
 * known; cpu_quota 0: no quota). FASTNN_SYSFS_ROOT names a directory read in place of
 * / for the /sys and /proc files (tests fake a topology with it). A kernel runs on one thread when
 * its work is small, and for a few kernels after helper threads came late twice in a
 * row (threads.h, fnn_team_report); FASTNN_SOLO=0 in the environment, read once, turns
 * that rule off. The training engine (fnn_train_*) runs each step on one thread or on
 * all of them, whichever it measured faster for the network (threads.h,
 * fnn_thread_choice); FASTNN_THREAD_CHOICE=measure|1|all, read once, pins that choice.
 * Only the speed depends on the thread count, never a result. */
int fnn_get_num_threads(void);
int fnn_default_threads(int allowed_cpus, int physical_cores, double cpu_quota);
int fnn_system_default_threads(void);
void fnn_set_num_threads(int n);         /* n >= 1 */
int fnn_simd_supported(int level);       /* can this build run that level on this CPU? */
int fnn_simd_level(void);                /* the level in use (detected once, cached) */
int fnn_set_simd_level(int level);       /* force a level; FNN_EINVAL if unsupported */
const char *fnn_simd_name(int level);
const char *fnn_compiler(void);
const char *fnn_build_cflags(void);      /* the flags setup.py compiled the kernels with */

/* ---- GEMM (gemm.c and friends) ----
 * C[i, j] = (accumulate ? C[i, j] : (bias ? bias[j] : 0)) + sum_p A[i, p] B[p, j]
 * for an m x n result; C has row stride ldc and unit column stride.
 * The sum over p is always split into the same blocks in the same order.
 */
int fnn_gemm_f32(fnn_index m, fnn_index n, fnn_index k,
                 const float *A, fnn_index rs_a, fnn_index cs_a,
                 const float *B, fnn_index rs_b, fnn_index cs_b,
                 float *C, fnn_index ldc, const float *bias, int accumulate);
int fnn_gemm_f64(fnn_index m, fnn_index n, fnn_index k,
                 const double *A, fnn_index rs_a, fnn_index cs_a,
                 const double *B, fnn_index rs_b, fnn_index cs_b,
                 double *C, fnn_index ldc, const double *bias, int accumulate);

/* ---- dense layer (linear.c) ----
 * forward:  S = X W^T + b            (S is n x d_out, row stride lds; b contiguous,
 *                                     or NULL for no bias)
 * backward: dX = dS W, dW = dS^T X, db = column sums of dS
 *           (dX, dW, db are contiguous outputs; dX == NULL skips the input
 *           gradient and db == NULL the bias gradient)
 */
int fnn_linear_forward_f32(fnn_index n, fnn_index d_in, fnn_index d_out,
                           const float *X, fnn_index rs_x, fnn_index cs_x,
                           const float *W, fnn_index rs_w, fnn_index cs_w,
                           const float *b,
                           float *S, fnn_index lds);
int fnn_linear_forward_f64(fnn_index n, fnn_index d_in, fnn_index d_out,
                           const double *X, fnn_index rs_x, fnn_index cs_x,
                           const double *W, fnn_index rs_w, fnn_index cs_w,
                           const double *b,
                           double *S, fnn_index lds);
int fnn_linear_backward_f32(fnn_index n, fnn_index d_in, fnn_index d_out,
                            const float *dS, fnn_index rs_ds, fnn_index cs_ds,
                            const float *X, fnn_index rs_x, fnn_index cs_x,
                            const float *W, fnn_index rs_w, fnn_index cs_w,
                            float *dX, float *dW, float *db);
int fnn_linear_backward_f64(fnn_index n, fnn_index d_in, fnn_index d_out,
                            const double *dS, fnn_index rs_ds, fnn_index cs_ds,
                            const double *X, fnn_index rs_x, fnn_index cs_x,
                            const double *W, fnn_index rs_w, fnn_index cs_w,
                            double *dX, double *dW, double *db);

/* column sums of an n x d matrix with general strides, in a fixed order */
int fnn_column_sum_f32(fnn_index n, fnn_index d, const float *A, fnn_index rs, fnn_index cs,
                       float *out);
int fnn_column_sum_f64(fnn_index n, fnn_index d, const double *A, fnn_index rs, fnn_index cs,
                       double *out);

/* ---- activations (activation.c) ----
 * forward:  H = f(S)
 * backward: dS = dH * f'(S), with f' computed from the output H
 * alpha is the parameter of the activations that take one (leaky_relu's slope,
 * elu's scale) and is ignored by the others.
 * Rows have strides lds/ldh/lddh/ldds; columns are contiguous.
 */

/* Row `code` of FNN_ACTIVATIONS: its name, whether it takes alpha, alpha's default;
   FNN_EINVAL outside 0 .. FNN_ACTIVATION_COUNT - 1. */
int fnn_activation_info(int code, const char **name, int *takes_alpha, double *default_alpha);
int fnn_activation_forward_f32(int activation, fnn_index n, fnn_index d,
                               const float *S, fnn_index lds, float *H, fnn_index ldh,
                               float alpha);
int fnn_activation_forward_f64(int activation, fnn_index n, fnn_index d,
                               const double *S, fnn_index lds, double *H, fnn_index ldh,
                               double alpha);
int fnn_activation_backward_f32(int activation, fnn_index n, fnn_index d,
                                const float *dH, fnn_index lddh, const float *H, fnn_index ldh,
                                float *dS, fnn_index ldds, float alpha);
int fnn_activation_backward_f64(int activation, fnn_index n, fnn_index d,
                                const double *dH, fnn_index lddh, const double *H, fnn_index ldh,
                                double *dS, fnn_index ldds, double alpha);

/* ---- vector math (activation.c, vmath.h) ----
 * y = f(x) elementwise with the branch-free functions the kernels use, at the
 * SIMD level in use: float error <= 4 ulp, double relative error <= 1e-14.
 */
enum fnn_vmath_function {
    FNN_VMATH_EXP = 0,
    FNN_VMATH_EXPM1 = 1,
    FNN_VMATH_LOG = 2,
    FNN_VMATH_TANH = 3,
    FNN_VMATH_SIGMOID = 4,
    FNN_VMATH_LOG1P = 5
};
int fnn_vmath_f32(int fn, fnn_index n, const float *x, float *y);
int fnn_vmath_f64(int fn, fnn_index n, const double *x, double *y);

/* ---- batch normalisation (batchnorm.c) ----
 * forward: mean, biased var per column; Y = gamma (S - mean)/sqrt(var + eps) + beta
 * backward: the three-term gradient; dgamma, dbeta are column reductions.
 * n >= 2; rows strided, columns contiguous; vectors contiguous.
 */
int fnn_batchnorm_forward_f32(fnn_index n, fnn_index d, const float *S, fnn_index lds,
                              const float *gamma, const float *beta, float eps,
                              float *Y, fnn_index ldy, float *mean, float *var);
int fnn_batchnorm_forward_f64(fnn_index n, fnn_index d, const double *S, fnn_index lds,
                              const double *gamma, const double *beta, double eps,
                              double *Y, fnn_index ldy, double *mean, double *var);
int fnn_batchnorm_backward_f32(fnn_index n, fnn_index d, const float *dY, fnn_index lddy,
                               const float *S, fnn_index lds, const float *gamma,
                               const float *mean, const float *var, float eps,
                               float *dS, fnn_index ldds, float *dgamma, float *dbeta);
int fnn_batchnorm_backward_f64(fnn_index n, fnn_index d, const double *dY, fnn_index lddy,
                               const double *S, fnn_index lds, const double *gamma,
                               const double *mean, const double *var, double eps,
                               double *dS, fnn_index ldds, double *dgamma, double *dbeta);

/* ---- softmax cross-entropy (loss.c) ----
 * loss = mean_i (logsumexp(s_i) - s_i[y_i]); dS = (softmax(S) - onehot(y)) / n.
 * row_loss is a caller-owned workspace of n elements; labels lie in [0, c).
 */
int fnn_softmax_cross_entropy_f32(fnn_index n, fnn_index c, const float *S, fnn_index lds,
                                  const int64_t *y, float *dS, fnn_index ldds,
                                  float *row_loss, float *loss);
int fnn_softmax_cross_entropy_f64(fnn_index n, fnn_index c, const double *S, fnn_index lds,
                                  const int64_t *y, double *dS, fnn_index ldds,
                                  double *row_loss, double *loss);

/* ---- more losses, and the softmax (loss.c) ----
 * Each loss is the mean over the n samples (rows) of a per-sample loss, returned in *loss;
 * row_loss is a caller-owned workspace of n elements (the per-sample losses, summed in a
 * fixed pairwise order). The gradient is that of the mean. Rows have strides; columns are
 * contiguous. A NaN in a row reaches that row's gradient and the loss.
 *
 * soft cross-entropy: Y (n, c) holds class probabilities (rows need not sum to 1, >= 0);
 *   loss = mean_i -sum_j Y_ij log softmax(s_i)_j; dS = (softmax(S) sum_j Y_ij - Y) / n.
 * sigmoid binary cross-entropy of k output units: S (n, k) logits with row stride lds,
 *   targets Y (n, k) in [0, 1] with row stride ldy;
 *   loss = mean_i sum_j max(s_ij, 0) - s_ij y_ij + log(1 + e^-|s_ij|), finite for any logit;
 *   dS = (sigmoid(S) - y) / n.
 * mse: loss = mean_i 1/2 ||y_i - o_i||^2 over the d outputs; dO = (O - Y) / n.
 * softmax: P = exp(S - row max) / row sum (n >= 0 rows, c >= 1 classes).
 */
int fnn_softmax_cross_entropy_soft_f32(fnn_index n, fnn_index c, const float *S, fnn_index lds,
                                       const float *Y, fnn_index ldy, float *dS, fnn_index ldds,
                                       float *row_loss, float *loss);
int fnn_softmax_cross_entropy_soft_f64(fnn_index n, fnn_index c, const double *S,
                                       fnn_index lds, const double *Y, fnn_index ldy,
                                       double *dS, fnn_index ldds, double *row_loss,
                                       double *loss);
int fnn_sigmoid_binary_cross_entropy_f32(fnn_index n, fnn_index k, const float *S, fnn_index lds,
                                         const float *Y, fnn_index ldy, float *dS,
                                         fnn_index ldds, float *row_loss, float *loss);
int fnn_sigmoid_binary_cross_entropy_f64(fnn_index n, fnn_index k, const double *S, fnn_index lds,
                                         const double *Y, fnn_index ldy, double *dS,
                                         fnn_index ldds, double *row_loss, double *loss);
int fnn_mse_f32(fnn_index n, fnn_index d, const float *O, fnn_index ldo, const float *Y,
                fnn_index ldy, float *dO, fnn_index lddo, float *row_loss, float *loss);
int fnn_mse_f64(fnn_index n, fnn_index d, const double *O, fnn_index ldo, const double *Y,
                fnn_index ldy, double *dO, fnn_index lddo, double *row_loss, double *loss);
int fnn_softmax_f32(fnn_index n, fnn_index c, const float *S, fnn_index lds, float *P,
                    fnn_index ldp);
int fnn_softmax_f64(fnn_index n, fnn_index c, const double *S, fnn_index lds, double *P,
                    fnn_index ldp);

/* ---- fused dense layer (linear.c) ----
 * S = X W^T + b and H = f(S) in one pass: the activation is applied to each
 * tile of S in the GEMM's epilogue, while the tile is still in cache.
 * b may be NULL (no bias). activation is an enum fnn_activation, alpha as for
 * the activations. S and H have row strides lds and ldh, unit column stride,
 * and must not overlap.
 */
int fnn_dense_forward_f32(fnn_index n, fnn_index d_in, fnn_index d_out,
                          const float *X, fnn_index rs_x, fnn_index cs_x,
                          const float *W, fnn_index rs_w, fnn_index cs_w,
                          const float *b, int activation, float alpha,
                          float *S, fnn_index lds, float *H, fnn_index ldh);
int fnn_dense_forward_f64(fnn_index n, fnn_index d_in, fnn_index d_out,
                          const double *X, fnn_index rs_x, fnn_index cs_x,
                          const double *W, fnn_index rs_w, fnn_index cs_w,
                          const double *b, int activation, double alpha,
                          double *S, fnn_index lds, double *H, fnn_index ldh);

/* ---- optimiser updates and the L2 term (optim.c) ----
 * Elementwise over an n x d array given by rows: every array has its own row
 * stride (ld*) and unit column stride; param and the state arrays are updated
 * in place, grad is only read. No two arrays may overlap.
 * l2 adds the gradient of l2 ||param||^2 first: g = grad + 2 l2 param (l2 = 0
 * adds nothing). step is the 1-based count of updates, this one included.
 * Hyper-parameter scalars are formed in double and rounded to the element type
 * once; each update is the one torch.optim computes.
 *
 * SGD: b = g on the first step (first_step), else b = momentum b + (1 - dampening) g;
 *      param -= lr * (nesterov ? g + momentum b : b); without momentum (0) param -= lr g
 *      and momentum_buffer may be NULL.
 * AdaGrad: state_sum += g^2; param -= lr / (1 + (step - 1) lr_decay) * g / (sqrt(state_sum) + eps).
 * RMSProp: a = alpha a + (1 - alpha) g^2 (square_avg); centered: m = alpha m + (1 - alpha) g
 *      (grad_avg) and denom = sqrt(a - m^2) + eps, else sqrt(a) + eps; with momentum > 0
 *      b = momentum b + g / denom, param -= lr b, else param -= lr g / denom. grad_avg and
 *      momentum_buffer may be NULL when not used.
 * Adam: m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2,
 *      param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps).
 */
int fnn_sgd_update_f32(fnn_index n, fnn_index d, float *param, fnn_index ldp,
                       const float *grad, fnn_index ldg, float *momentum_buffer, fnn_index ldm,
                       double lr, double momentum, double dampening, int nesterov,
                       int first_step, double l2);
int fnn_sgd_update_f64(fnn_index n, fnn_index d, double *param, fnn_index ldp,
                       const double *grad, fnn_index ldg, double *momentum_buffer, fnn_index ldm,
                       double lr, double momentum, double dampening, int nesterov,
                       int first_step, double l2);
int fnn_adagrad_update_f32(fnn_index n, fnn_index d, float *param, fnn_index ldp,
                           const float *grad, fnn_index ldg, float *state_sum, fnn_index lds,
                           double lr, int64_t step, double lr_decay, double eps, double l2);
int fnn_adagrad_update_f64(fnn_index n, fnn_index d, double *param, fnn_index ldp,
                           const double *grad, fnn_index ldg, double *state_sum, fnn_index lds,
                           double lr, int64_t step, double lr_decay, double eps, double l2);
int fnn_rmsprop_update_f32(fnn_index n, fnn_index d, float *param, fnn_index ldp,
                           const float *grad, fnn_index ldg, float *square_avg, fnn_index ldsq,
                           float *grad_avg, fnn_index ldga, float *momentum_buffer,
                           fnn_index ldm, double lr, double alpha, double eps, double momentum,
                           int centered, double l2);
int fnn_rmsprop_update_f64(fnn_index n, fnn_index d, double *param, fnn_index ldp,
                           const double *grad, fnn_index ldg, double *square_avg, fnn_index ldsq,
                           double *grad_avg, fnn_index ldga, double *momentum_buffer,
                           fnn_index ldm, double lr, double alpha, double eps, double momentum,
                           int centered, double l2);
int fnn_adam_update_f32(fnn_index n, fnn_index d, float *param, fnn_index ldp,
                        const float *grad, fnn_index ldg, float *m, fnn_index ldm,
                        float *v, fnn_index ldv, double lr, int64_t step, double beta1,
                        double beta2, double eps, double l2);
int fnn_adam_update_f64(fnn_index n, fnn_index d, double *param, fnn_index ldp,
                        const double *grad, fnn_index ldg, double *m, fnn_index ldm,
                        double *v, fnn_index ldv, double lr, int64_t step, double beta1,
                        double beta2, double eps, double l2);

/* *penalty = l2 ||W||^2, the squares summed in double in one fixed order (that of the
   elements in row-major order, whatever ldw), on one thread. */
int fnn_l2_penalty_f32(fnn_index n, fnn_index d, const float *W, fnn_index ldw, double l2,
                       double *penalty);
int fnn_l2_penalty_f64(fnn_index n, fnn_index d, const double *W, fnn_index ldw, double l2,
                       double *penalty);
/* out = dW + 2 l2 W (out = dW when l2 = 0), the gradient every update above adds; out may
   be dW itself (in place). */
int fnn_l2_gradient_f32(fnn_index n, fnn_index d, const float *dW, fnn_index lddw,
                        const float *W, fnn_index ldw, double l2, float *out, fnn_index ldo);
int fnn_l2_gradient_f64(fnn_index n, fnn_index d, const double *dW, fnn_index lddw,
                        const double *W, fnn_index ldw, double l2, double *out, fnn_index ldo);
/* Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_): norm = the L2 norm of
   the `count` contiguous gradients grads[k] (sizes[k] elements) taken as one vector, sums
   of squares in double, gradient by gradient in order; every gradient is then multiplied
   in place by min(1, max_norm / (norm + 1e-6)) (NaN when norm is NaN). *total_norm gets
   norm. max_norm > 0. One thread. */
int fnn_clip_grad_norm_f32(int count, float *const *grads, const fnn_index *sizes,
                           double max_norm, double *total_norm);
int fnn_clip_grad_norm_f64(int count, double *const *grads, const fnn_index *sizes,
                           double max_norm, double *total_norm);
/* ---- inverted dropout (dropout.c) ----
 * forward:  Y = H * keep / (1 - p);  backward: dH = dY * keep / (1 - p).
 * keep is the mask of fastnn.reference.dropout_mask(seed, step, (n, d), p): element
 * (i, j) is kept when the counter-based uniform number of (seed, step, i d + j) is
 * >= p (rng.h). It is regenerated inside the kernel and never stored, so the backward
 * pass takes the (seed, step) of its forward pass. p in [0, 1) (p == 0: a copy),
 * step >= 0. Rows strided, columns contiguous.
 */
int fnn_dropout_forward_f32(fnn_index n, fnn_index d, const float *H, fnn_index ldh, double p,
                            uint64_t seed, int64_t step, float *Y, fnn_index ldy);
int fnn_dropout_forward_f64(fnn_index n, fnn_index d, const double *H, fnn_index ldh, double p,
                            uint64_t seed, int64_t step, double *Y, fnn_index ldy);
int fnn_dropout_backward_f32(fnn_index n, fnn_index d, const float *dY, fnn_index lddy,
                             double p, uint64_t seed, int64_t step, float *dH, fnn_index lddh);
int fnn_dropout_backward_f64(fnn_index n, fnn_index d, const double *dY, fnn_index lddy,
                             double p, uint64_t seed, int64_t step, double *dH, fnn_index lddh);

/* ---- maxout (maxout.c) ----
 * S is n x (d k): the k pieces of unit j are its columns j k .. j k + k - 1.
 * forward:  H[i, j] = max_r S[i, j k + r], winner[i, j] = the r that won (the first
 *           maximum on a tie; the first NaN if there is one, and H is then NaN).
 * backward: dS[i, j k + winner[i, j]] = dH[i, j], every other element of dS 0.
 *           A winner outside 0 .. k-1 is skipped and the call returns FNN_EINVAL.
 * Rows strided (lds, ldh, ldw, lddh, ldds), columns contiguous; k >= 1.
 */
int fnn_maxout_forward_f32(fnn_index n, fnn_index d, fnn_index k, const float *S, fnn_index lds,
                           float *H, fnn_index ldh, int64_t *winner, fnn_index ldw);
int fnn_maxout_forward_f64(fnn_index n, fnn_index d, fnn_index k, const double *S,
                           fnn_index lds, double *H, fnn_index ldh, int64_t *winner,
                           fnn_index ldw);
int fnn_maxout_backward_f32(fnn_index n, fnn_index d, fnn_index k, const float *dH,
                            fnn_index lddh, const int64_t *winner, fnn_index ldw, float *dS,
                            fnn_index ldds);
int fnn_maxout_backward_f64(fnn_index n, fnn_index d, fnn_index k, const double *dH,
                            fnn_index lddh, const int64_t *winner, fnn_index ldw, double *dS,
                            fnn_index ldds);

/* ---- batch normalisation in eval mode (batchnorm.c) ----
 * forward:  Y = gamma (S - running_mean) / sqrt(running_var + eps) + beta
 * backward: dS = dY gamma / sqrt(running_var + eps) (the statistics are constants),
 *           dgamma = column sums of dY (S - running_mean) / sqrt(running_var + eps),
 *           dbeta = column sums of dY, in the fixed column blocks of the batch pass.
 * n >= 0 (a single sample is fine); rows strided, columns contiguous; vectors contiguous.
 */
int fnn_batchnorm_inference_forward_f32(fnn_index n, fnn_index d, const float *S, fnn_index lds,
                                        const float *gamma, const float *beta,
                                        const float *running_mean, const float *running_var,
                                        float eps, float *Y, fnn_index ldy);
int fnn_batchnorm_inference_forward_f64(fnn_index n, fnn_index d, const double *S,
                                        fnn_index lds, const double *gamma, const double *beta,
                                        const double *running_mean, const double *running_var,
                                        double eps, double *Y, fnn_index ldy);
int fnn_batchnorm_inference_backward_f32(fnn_index n, fnn_index d, const float *dY,
                                         fnn_index lddy, const float *S, fnn_index lds,
                                         const float *gamma, const float *running_mean,
                                         const float *running_var, float eps, float *dS,
                                         fnn_index ldds, float *dgamma, float *dbeta);
int fnn_batchnorm_inference_backward_f64(fnn_index n, fnn_index d, const double *dY,
                                         fnn_index lddy, const double *S, fnn_index lds,
                                         const double *gamma, const double *running_mean,
                                         const double *running_var, double eps, double *dS,
                                         fnn_index ldds, double *dgamma, double *dbeta);

/* ---- batch-norm running statistics (batchnorm.c) ----
 * In place, per column j of d:
 *   running_mean = (1 - momentum) running_mean + momentum mean
 *   running_var  = (1 - momentum) running_var  + momentum var c,
 * with c = n / (n - 1) when `unbiased` (the batch of n samples' unbiased variance;
 * n >= 2), else c = 1 (n >= 1). All vectors contiguous.
 */
int fnn_batchnorm_running_update_f32(fnn_index d, float *running_mean, float *running_var,
                                     const float *mean, const float *var, fnn_index n,
                                     float momentum, int unbiased);
int fnn_batchnorm_running_update_f64(fnn_index d, double *running_mean, double *running_var,
                                     const double *mean, const double *var, fnn_index n,
                                     double momentum, int unbiased);

/* ---- checks (check.c) ----
 * 1 if the n contiguous elements of x are all finite, 0 if some is an infinity or
 * a NaN (FNN_EINVAL for n < 0).
 */
int fnn_all_finite_f32(fnn_index n, const float *x);
int fnn_all_finite_f64(fnn_index n, const double *x);

/* ---- training engine (engine.c) ----
 * Runs a sequence of mini-batch training steps of a layer stack in one call:
 * gather the batch by index, forward (training mode), loss, backward, L2 and
 * the optimiser update, for each step in turn. The caller describes the
 * network once (fnn_net), sizes and provides the workspace
 * (fnn_train_workspace_bytes), and owns every array; nothing is allocated.
 */
enum fnn_layer_kind {
    FNN_LAYER_DENSE = 0,       /* S = X W^T + b (b may be NULL) */
    FNN_LAYER_BATCHNORM = 1,   /* batch statistics, running averages updated */
    FNN_LAYER_ACTIVATION = 2,
    FNN_LAYER_DROPOUT = 3,     /* inverted dropout, counter-based masks */
    FNN_LAYER_MAXOUT = 4       /* max over `pieces` rows of W per output unit */
};

enum fnn_loss_kind {
    FNN_LOSS_SOFTMAX_CE = 0,        /* integer labels (int64) */
    FNN_LOSS_SOFTMAX_CE_SOFT = 1,   /* (n, c) class probabilities */
    FNN_LOSS_SIGMOID_BCE = 2,       /* one output unit, targets 0/1 */
    FNN_LOSS_MSE = 3                /* batch mean of 1/2 ||y - o||^2 */
};

enum fnn_optimizer_kind {
    FNN_OPT_SGD = 0, FNN_OPT_ADAGRAD = 1, FNN_OPT_RMSPROP = 2, FNN_OPT_ADAM = 3
};

/* A trainable array and its optimiser state (REAL arrays of `size` elements).
   state[]: SGD {momentum buffer}, AdaGrad {sum}, RMSProp {square_avg, grad_avg
   (centered), momentum buffer (momentum > 0)}, Adam {m, v}; unused entries NULL.
   `fresh` (SGD with momentum): the buffer is empty and the first update sets it
   to the gradient (fnn_sgd_update's first_step); the engine clears the flag. */
typedef struct {
    void *value;
    fnn_index size;
    int regularised;           /* gradient gains 2 l2 value; penalty l2 ||value||^2 */
    int fresh;
    void *state[3];
} fnn_param;

typedef struct {
    int kind;                  /* enum fnn_layer_kind */
    fnn_index in_features, out_features;
    fnn_index pieces;          /* maxout: linear pieces per unit */
    int activation;            /* enum fnn_activation */
    double alpha;
    double eps, momentum;      /* batch norm */
    int unbiased_running_var;  /* running_var is fed var * n / (n - 1) */
    double p;                  /* dropout probability */
    uint64_t seed;             /* dropout stream */
    int64_t step;              /* dropout: training passes so far (advanced) */
    int weight, bias;          /* dense, maxout: indices into fnn_net.params (-1: none) */
    int gamma, beta;           /* batch norm: indices into fnn_net.params */
    void *running_mean, *running_var;
} fnn_layer;

typedef struct {
    fnn_layer *layers;
    int n_layers;
    fnn_param *params;
    int n_params;
    int loss;                  /* enum fnn_loss_kind */
    double l2;
    fnn_index batch_max;       /* largest batch of any step */
    int stop_nonfinite;        /* stop with FNN_EDIVERGED at a step whose loss (1), or loss,
                                  updated parameter or batch-norm running statistic (2) is
                                  not finite; 0: never */
} fnn_net;

/* The optimiser of a training run: its kind picks the fnn_*_update kernel that
   the engine calls for each parameter, with these hyper-parameters. */
typedef struct {
    int kind;                  /* enum fnn_optimizer_kind */
    double momentum, dampening;
    int nesterov;
    double eps, lr_decay;      /* AdaGrad: lr / (1 + (step - 1) lr_decay) */
    double alpha;              /* RMSProp smoothing */
    int centered;
    double beta1, beta2;       /* Adam */
    double max_grad_norm;      /* > 0: clip all gradients of a step together by their global
                                  norm (fnn_clip_grad_norm) before any update; 0: no clipping */
    int64_t iterations;        /* updates made so far (advanced per step; step = iterations + 1) */
} fnn_optimizer;

/* Bytes of workspace fnn_train_* needs for `net` (its batch_max rows). */
size_t fnn_train_workspace_bytes_f32(const fnn_net *net);
size_t fnn_train_workspace_bytes_f64(const fnn_net *net);

/*
 * Steps s = 0 .. n_steps-1: batch s is the rows order[bounds[s]] ..
 * order[bounds[s+1] - 1] of X (bounds increasing, order at least bounds[n_steps]
 * long: several epochs' orders may follow one another) (n_samples x in_features, C order) and of the
 * targets (int64 labels, or REAL rows of `target_width`); lr[s] is its learning
 * rate. step_loss[s] gets the batch's loss plus l2 * sum ||W||^2 before the
 * update, step_correct[s] its correctly classified samples (classification
 * losses; 0 otherwise). Parameters, BN running statistics, optimiser state, the
 * dropout steps and the optimiser's iteration count are updated in place.
 * The gathered input rows of steps s < checked_steps are checked as they are
 * copied: a NaN or an infinity among them returns FNN_ENONFINITE before that
 * step changes anything (the steps before it are done; fit, which checks its
 * data this way during a first epoch, then restores what it saved).
 * With net->stop_nonfinite, a step whose loss (step_loss[s] is written) or, at level 2,
 * updated parameter or batch-norm running statistic is not finite returns
 * FNN_EDIVERGED at once: steps before it are done (opt->iterations counts them), that
 * step is partly applied (fit restores a saved state and replays the steps before it).
 * Level 1 costs nothing (the loss is computed anyway); level 2 reads every parameter
 * once more per step, so fit uses it only to find a step again in a replay.
 */
int fnn_train_f32(fnn_net *net, fnn_optimizer *opt, const float *X, fnn_index n_samples,
                  const void *targets, fnn_index target_width,
                  const int64_t *order, const int64_t *bounds, const double *lr,
                  fnn_index n_steps, fnn_index checked_steps, void *workspace,
                  size_t workspace_bytes, double *step_loss, int64_t *step_correct);
int fnn_train_f64(fnn_net *net, fnn_optimizer *opt, const double *X, fnn_index n_samples,
                  const void *targets, fnn_index target_width,
                  const int64_t *order, const int64_t *bounds, const double *lr,
                  fnn_index n_steps, fnn_index checked_steps, void *workspace,
                  size_t workspace_bytes, double *step_loss, int64_t *step_correct);

/*
 * The round trip of a cache line between two threads pinned to the first two CPUs of
 * the process's affinity mask (csrc/probe.c): the median over `runs` runs of up to
 * `trips` round trips each, in nanoseconds, and the two CPUs. With fewer than two
 * CPUs in the mask, or where affinity masks do not exist, nothing is measured:
 * *cpu_first and *cpu_second are -1 and *median_ns 0.
 */
int fnn_probe_round_trip(int runs, long trips, double *median_ns, int *cpu_first,
                         int *cpu_second);

#ifdef __cplusplus
}
#endif

#endif /* FASTNN_H */
