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
    FNN_ENONFINITE = -3 /* fnn_train: a checked batch holds a NaN or an infinity */
};

enum fnn_activation {
    FNN_IDENTITY = 0,
    FNN_SIGMOID = 1,
    FNN_TANH = 2,
    FNN_RELU = 3,
    FNN_LEAKY_RELU = 4,
    FNN_ELU = 5
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
/* Threads: OMP_NUM_THREADS, or all cores, unless set. A kernel runs on one thread when
 * its work is small, and for a few kernels after helper threads came late twice in a
 * row (threads.h, fnn_team_report); FASTNN_SOLO=0 in the environment, read once, turns
 * that rule off. Only the speed depends on the thread count, never a result. */
int fnn_get_num_threads(void);
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
 * forward:  S = X W^T + b            (S is n x d_out, row stride lds; b contiguous)
 * backward: dX = dS W, dW = dS^T X, db = column sums of dS
 *           (dX, dW, db are contiguous outputs)
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
 * alpha is the slope of leaky_relu or the scale of elu (ignored otherwise).
 * Rows have strides lds/ldh/lddh/ldds; columns are contiguous.
 */
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
    FNN_VMATH_SIGMOID = 4
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
   to the gradient, as torch.optim.SGD; the engine clears the flag. */
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
} fnn_net;

typedef struct {
    int kind;                  /* enum fnn_optimizer_kind */
    double momentum, dampening;
    int nesterov;
    double eps, lr_decay;      /* AdaGrad: lr / (1 + t lr_decay) */
    double alpha;              /* RMSProp smoothing */
    int centered;
    double beta1, beta2;       /* Adam */
    int64_t iterations;        /* updates made so far (advanced per step) */
} fnn_optimizer;

/* One optimiser update of `param` from its gradient (optim.c): the equations of
   torch.optim, in REAL arithmetic, with 2 l2 value added to the gradient of a
   regularised parameter. Uses opt->iterations (updates made before this one);
   the caller advances it once per step, after every parameter's update. */
int fnn_optimizer_update_f32(const fnn_optimizer *opt, fnn_param *param, const float *grad,
                             double lr, double l2);
int fnn_optimizer_update_f64(const fnn_optimizer *opt, fnn_param *param, const double *grad,
                             double lr, double l2);

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

/* The dropout keep-mask of fastnn.layers.dropout_mask, as 0/1 bytes: element i of
   a pass (row-major) is kept when u_i >= p, u_i from SplitMix64 of (seed, step, i). */
void fnn_dropout_mask(uint64_t seed, int64_t step, fnn_index count, double p, unsigned char *keep);

#ifdef __cplusplus
}
#endif

#endif /* FASTNN_H */
