# cython: language_level=3
"""The C interface of fastnn's kernels, declared once for Cython: the enums, the
engine's structs and every function of csrc/fastnn.h (which documents them).

fastnn/_ops.pyx cimports it; the enum constants' values come from the header
when the extension is compiled, so no Python or Cython file repeats them. The
activations are not listed here: fastnn._ops reads them from fastnn.h's table
FNN_ACTIVATIONS through fnn_activation_info.
"""

from libc.stdint cimport int64_t, uint64_t

cdef extern from "fastnn.h" nogil:
    ctypedef ptrdiff_t fnn_index

    enum fnn_status:
        FNN_OK
        FNN_ENOMEM
        FNN_EINVAL
        FNN_ENONFINITE
        FNN_EDIVERGED

    # the codes of enum fnn_activation are 0 .. FNN_ACTIVATION_COUNT - 1, in the order
    # of fastnn.h's table FNN_ACTIVATIONS; fnn_activation_info reads that table
    enum:
        FNN_ACTIVATION_COUNT

    # enum fnn_simd_level (anonymous here: Cython would take its tag for the function's name)
    enum:
        FNN_SIMD_GENERIC
        FNN_SIMD_AVX2
        FNN_SIMD_AVX512

    enum fnn_vmath_function:
        FNN_VMATH_EXP
        FNN_VMATH_EXPM1
        FNN_VMATH_LOG
        FNN_VMATH_TANH
        FNN_VMATH_SIGMOID
        FNN_VMATH_LOG1P

    enum fnn_layer_kind:
        FNN_LAYER_DENSE
        FNN_LAYER_BATCHNORM
        FNN_LAYER_ACTIVATION
        FNN_LAYER_DROPOUT
        FNN_LAYER_MAXOUT

    enum fnn_loss_kind:
        FNN_LOSS_SOFTMAX_CE
        FNN_LOSS_SOFTMAX_CE_SOFT
        FNN_LOSS_SIGMOID_BCE
        FNN_LOSS_MSE

    enum fnn_optimizer_kind:
        FNN_OPT_SGD
        FNN_OPT_ADAGRAD
        FNN_OPT_RMSPROP
        FNN_OPT_ADAM

    int fnn_has_openmp()
    int fnn_get_num_threads()
    int fnn_default_threads(int allowed_cpus, int physical_cores, double cpu_quota)
    int fnn_system_default_threads()
    void fnn_set_num_threads(int n)
    int fnn_simd_supported(int level)
    int fnn_simd_level()
    int fnn_set_simd_level(int level)
    const char *fnn_simd_name(int level)
    const char *fnn_compiler()
    const char *fnn_build_cflags()
    int fnn_probe_round_trip(int runs, long trips, double *median_ns, int *cpu_first,
                             int *cpu_second)

    int fnn_gemm_f32(fnn_index m, fnn_index n, fnn_index k,
                     const float *A, fnn_index rs_a, fnn_index cs_a,
                     const float *B, fnn_index rs_b, fnn_index cs_b,
                     float *C, fnn_index ldc, const float *bias, int accumulate)
    int fnn_gemm_f64(fnn_index m, fnn_index n, fnn_index k,
                     const double *A, fnn_index rs_a, fnn_index cs_a,
                     const double *B, fnn_index rs_b, fnn_index cs_b,
                     double *C, fnn_index ldc, const double *bias, int accumulate)

    int fnn_linear_forward_f32(fnn_index n, fnn_index d_in, fnn_index d_out,
                               const float *X, fnn_index rs_x, fnn_index cs_x,
                               const float *W, fnn_index rs_w, fnn_index cs_w,
                               const float *b, float *S, fnn_index lds)
    int fnn_linear_forward_f64(fnn_index n, fnn_index d_in, fnn_index d_out,
                               const double *X, fnn_index rs_x, fnn_index cs_x,
                               const double *W, fnn_index rs_w, fnn_index cs_w,
                               const double *b, double *S, fnn_index lds)
    int fnn_linear_backward_f32(fnn_index n, fnn_index d_in, fnn_index d_out,
                                const float *dS, fnn_index rs_ds, fnn_index cs_ds,
                                const float *X, fnn_index rs_x, fnn_index cs_x,
                                const float *W, fnn_index rs_w, fnn_index cs_w,
                                float *dX, float *dW, float *db)
    int fnn_linear_backward_f64(fnn_index n, fnn_index d_in, fnn_index d_out,
                                const double *dS, fnn_index rs_ds, fnn_index cs_ds,
                                const double *X, fnn_index rs_x, fnn_index cs_x,
                                const double *W, fnn_index rs_w, fnn_index cs_w,
                                double *dX, double *dW, double *db)

    int fnn_dense_forward_f32(fnn_index n, fnn_index d_in, fnn_index d_out,
                              const float *X, fnn_index rs_x, fnn_index cs_x,
                              const float *W, fnn_index rs_w, fnn_index cs_w,
                              const float *b, int activation, float alpha,
                              float *S, fnn_index lds, float *H, fnn_index ldh)
    int fnn_dense_forward_f64(fnn_index n, fnn_index d_in, fnn_index d_out,
                              const double *X, fnn_index rs_x, fnn_index cs_x,
                              const double *W, fnn_index rs_w, fnn_index cs_w,
                              const double *b, int activation, double alpha,
                              double *S, fnn_index lds, double *H, fnn_index ldh)

    int fnn_activation_info(int code, const char **name, int *takes_alpha, double *default_alpha)
    int fnn_activation_forward_f32(int activation, fnn_index n, fnn_index d,
                                   const float *S, fnn_index lds, float *H, fnn_index ldh,
                                   float alpha)
    int fnn_activation_forward_f64(int activation, fnn_index n, fnn_index d,
                                   const double *S, fnn_index lds, double *H, fnn_index ldh,
                                   double alpha)
    int fnn_activation_backward_f32(int activation, fnn_index n, fnn_index d,
                                    const float *dH, fnn_index lddh, const float *H,
                                    fnn_index ldh, float *dS, fnn_index ldds, float alpha)
    int fnn_activation_backward_f64(int activation, fnn_index n, fnn_index d,
                                    const double *dH, fnn_index lddh, const double *H,
                                    fnn_index ldh, double *dS, fnn_index ldds, double alpha)

    int fnn_batchnorm_forward_f32(fnn_index n, fnn_index d, const float *S, fnn_index lds,
                                  const float *gamma, const float *beta, float eps,
                                  float *Y, fnn_index ldy, float *mean, float *var)
    int fnn_batchnorm_forward_f64(fnn_index n, fnn_index d, const double *S, fnn_index lds,
                                  const double *gamma, const double *beta, double eps,
                                  double *Y, fnn_index ldy, double *mean, double *var)
    int fnn_batchnorm_backward_f32(fnn_index n, fnn_index d, const float *dY, fnn_index lddy,
                                   const float *S, fnn_index lds, const float *gamma,
                                   const float *mean, const float *var, float eps,
                                   float *dS, fnn_index ldds, float *dgamma, float *dbeta)
    int fnn_batchnorm_backward_f64(fnn_index n, fnn_index d, const double *dY, fnn_index lddy,
                                   const double *S, fnn_index lds, const double *gamma,
                                   const double *mean, const double *var, double eps,
                                   double *dS, fnn_index ldds, double *dgamma, double *dbeta)

    int fnn_vmath_f32(int fn, fnn_index n, const float *x, float *y)
    int fnn_vmath_f64(int fn, fnn_index n, const double *x, double *y)

    int fnn_softmax_cross_entropy_f32(fnn_index n, fnn_index c, const float *S, fnn_index lds,
                                      const int64_t *y, float *dS, fnn_index ldds,
                                      float *row_loss, float *loss)
    int fnn_softmax_cross_entropy_f64(fnn_index n, fnn_index c, const double *S,
                                      fnn_index lds, const int64_t *y, double *dS,
                                      fnn_index ldds, double *row_loss, double *loss)

    int fnn_sgd_update_f32(fnn_index n, fnn_index d, float *param, fnn_index ldp,
                           const float *grad, fnn_index ldg, float *momentum_buffer, fnn_index ldm,
                           double lr, double momentum, double dampening, int nesterov,
                           int first_step, double l2)
    int fnn_sgd_update_f64(fnn_index n, fnn_index d, double *param, fnn_index ldp,
                           const double *grad, fnn_index ldg, double *momentum_buffer,
                           fnn_index ldm, double lr, double momentum, double dampening,
                           int nesterov, int first_step, double l2)
    int fnn_adagrad_update_f32(fnn_index n, fnn_index d, float *param, fnn_index ldp,
                               const float *grad, fnn_index ldg, float *state_sum, fnn_index lds,
                               double lr, int64_t step, double lr_decay, double eps, double l2)
    int fnn_adagrad_update_f64(fnn_index n, fnn_index d, double *param, fnn_index ldp,
                               const double *grad, fnn_index ldg, double *state_sum,
                               fnn_index lds, double lr, int64_t step, double lr_decay,
                               double eps, double l2)
    int fnn_rmsprop_update_f32(fnn_index n, fnn_index d, float *param, fnn_index ldp,
                               const float *grad, fnn_index ldg, float *square_avg,
                               fnn_index ldsq, float *grad_avg, fnn_index ldga,
                               float *momentum_buffer, fnn_index ldm, double lr, double alpha,
                               double eps, double momentum, int centered, double l2)
    int fnn_rmsprop_update_f64(fnn_index n, fnn_index d, double *param, fnn_index ldp,
                               const double *grad, fnn_index ldg, double *square_avg,
                               fnn_index ldsq, double *grad_avg, fnn_index ldga,
                               double *momentum_buffer, fnn_index ldm, double lr, double alpha,
                               double eps, double momentum, int centered, double l2)
    int fnn_adam_update_f32(fnn_index n, fnn_index d, float *param, fnn_index ldp,
                            const float *grad, fnn_index ldg, float *m, fnn_index ldm,
                            float *v, fnn_index ldv, double lr, int64_t step, double beta1,
                            double beta2, double eps, double l2)
    int fnn_adam_update_f64(fnn_index n, fnn_index d, double *param, fnn_index ldp,
                            const double *grad, fnn_index ldg, double *m, fnn_index ldm,
                            double *v, fnn_index ldv, double lr, int64_t step, double beta1,
                            double beta2, double eps, double l2)
    int fnn_l2_penalty_f32(fnn_index n, fnn_index d, const float *W, fnn_index ldw, double l2,
                           double *penalty)
    int fnn_l2_penalty_f64(fnn_index n, fnn_index d, const double *W, fnn_index ldw, double l2,
                           double *penalty)
    int fnn_l2_gradient_f32(fnn_index n, fnn_index d, const float *dW, fnn_index lddw,
                            const float *W, fnn_index ldw, double l2, float *out, fnn_index ldo)
    int fnn_l2_gradient_f64(fnn_index n, fnn_index d, const double *dW, fnn_index lddw,
                            const double *W, fnn_index ldw, double l2, double *out,
                            fnn_index ldo)
    int fnn_clip_grad_norm_f32(int count, float *const *grads, const fnn_index *sizes,
                               double max_norm, double *total_norm)
    int fnn_clip_grad_norm_f64(int count, double *const *grads, const fnn_index *sizes,
                               double max_norm, double *total_norm)

    ctypedef struct fnn_param:
        void *value
        fnn_index size
        int regularised
        int fresh
        void *state[3]

    ctypedef struct fnn_layer:
        int kind
        fnn_index in_features
        fnn_index out_features
        fnn_index pieces
        int activation
        double alpha
        double eps
        double momentum
        int unbiased_running_var
        double p
        uint64_t seed
        int64_t step
        int weight
        int bias
        int gamma
        int beta
        void *running_mean
        void *running_var

    ctypedef struct fnn_net:
        fnn_layer *layers
        int n_layers
        fnn_param *params
        int n_params
        int loss
        double l2
        fnn_index batch_max
        int stop_nonfinite

    ctypedef struct fnn_optimizer:
        int kind
        double momentum
        double dampening
        int nesterov
        double eps
        double lr_decay
        double alpha
        int centered
        double beta1
        double beta2
        double max_grad_norm
        int64_t iterations

    int fnn_all_finite_f32(fnn_index n, const float *x)
    int fnn_all_finite_f64(fnn_index n, const double *x)

    size_t fnn_train_workspace_bytes_f32(const fnn_net *net)
    size_t fnn_train_workspace_bytes_f64(const fnn_net *net)
    int fnn_train_f32(fnn_net *net, fnn_optimizer *opt, const float *X, fnn_index n_samples,
                      const void *targets, fnn_index target_width,
                      const int64_t *order, const int64_t *bounds, const double *lr,
                      fnn_index n_steps, fnn_index checked_steps, void *workspace,
                      size_t workspace_bytes, double *step_loss, int64_t *step_correct)
    int fnn_train_f64(fnn_net *net, fnn_optimizer *opt, const double *X, fnn_index n_samples,
                      const void *targets, fnn_index target_width,
                      const int64_t *order, const int64_t *bounds, const double *lr,
                      fnn_index n_steps, fnn_index checked_steps, void *workspace,
                      size_t workspace_bytes, double *step_loss, int64_t *step_correct)

    # ---- the losses and the softmax (loss.c) ----
    int fnn_softmax_cross_entropy_soft_f32(fnn_index n, fnn_index c, const float *S,
                                           fnn_index lds, const float *Y, fnn_index ldy,
                                           float *dS, fnn_index ldds, float *row_loss,
                                           float *loss)
    int fnn_softmax_cross_entropy_soft_f64(fnn_index n, fnn_index c, const double *S,
                                           fnn_index lds, const double *Y, fnn_index ldy,
                                           double *dS, fnn_index ldds, double *row_loss,
                                           double *loss)
    int fnn_sigmoid_binary_cross_entropy_f32(fnn_index n, fnn_index k, const float *S, fnn_index lds,
                                             const float *Y, fnn_index ldy, float *dS,
                                             fnn_index ldds, float *row_loss, float *loss)
    int fnn_sigmoid_binary_cross_entropy_f64(fnn_index n, fnn_index k, const double *S, fnn_index lds,
                                             const double *Y, fnn_index ldy, double *dS,
                                             fnn_index ldds, double *row_loss, double *loss)
    int fnn_mse_f32(fnn_index n, fnn_index d, const float *O, fnn_index ldo, const float *Y,
                    fnn_index ldy, float *dO, fnn_index lddo, float *row_loss, float *loss)
    int fnn_mse_f64(fnn_index n, fnn_index d, const double *O, fnn_index ldo, const double *Y,
                    fnn_index ldy, double *dO, fnn_index lddo, double *row_loss, double *loss)
    int fnn_softmax_f32(fnn_index n, fnn_index c, const float *S, fnn_index lds, float *P,
                        fnn_index ldp)
    int fnn_softmax_f64(fnn_index n, fnn_index c, const double *S, fnn_index lds, double *P,
                        fnn_index ldp)

    # ---- dropout, maxout, batch-norm running statistics and eval mode ----
    int fnn_dropout_forward_f32(fnn_index n, fnn_index d, const float *H, fnn_index ldh,
                                double p, uint64_t seed, int64_t step, float *Y, fnn_index ldy)
    int fnn_dropout_forward_f64(fnn_index n, fnn_index d, const double *H, fnn_index ldh,
                                double p, uint64_t seed, int64_t step, double *Y, fnn_index ldy)
    int fnn_dropout_backward_f32(fnn_index n, fnn_index d, const float *dY, fnn_index lddy,
                                 double p, uint64_t seed, int64_t step, float *dH,
                                 fnn_index lddh)
    int fnn_dropout_backward_f64(fnn_index n, fnn_index d, const double *dY, fnn_index lddy,
                                 double p, uint64_t seed, int64_t step, double *dH,
                                 fnn_index lddh)
    int fnn_maxout_forward_f32(fnn_index n, fnn_index d, fnn_index k, const float *S,
                               fnn_index lds, float *H, fnn_index ldh, int64_t *winner,
                               fnn_index ldw)
    int fnn_maxout_forward_f64(fnn_index n, fnn_index d, fnn_index k, const double *S,
                               fnn_index lds, double *H, fnn_index ldh, int64_t *winner,
                               fnn_index ldw)
    int fnn_maxout_backward_f32(fnn_index n, fnn_index d, fnn_index k, const float *dH,
                                fnn_index lddh, const int64_t *winner, fnn_index ldw,
                                float *dS, fnn_index ldds)
    int fnn_maxout_backward_f64(fnn_index n, fnn_index d, fnn_index k, const double *dH,
                                fnn_index lddh, const int64_t *winner, fnn_index ldw,
                                double *dS, fnn_index ldds)
    int fnn_batchnorm_running_update_f32(fnn_index d, float *running_mean, float *running_var,
                                         const float *mean, const float *var, fnn_index n,
                                         float momentum, int unbiased)
    int fnn_batchnorm_running_update_f64(fnn_index d, double *running_mean,
                                         double *running_var, const double *mean,
                                         const double *var, fnn_index n, double momentum,
                                         int unbiased)
    int fnn_batchnorm_inference_forward_f32(fnn_index n, fnn_index d, const float *S,
                                            fnn_index lds, const float *gamma, const float *beta,
                                            const float *running_mean, const float *running_var,
                                            float eps, float *Y, fnn_index ldy)
    int fnn_batchnorm_inference_forward_f64(fnn_index n, fnn_index d, const double *S,
                                            fnn_index lds, const double *gamma,
                                            const double *beta, const double *running_mean,
                                            const double *running_var, double eps, double *Y,
                                            fnn_index ldy)
    int fnn_batchnorm_inference_backward_f32(fnn_index n, fnn_index d, const float *dY,
                                             fnn_index lddy, const float *S, fnn_index lds,
                                             const float *gamma, const float *running_mean,
                                             const float *running_var, float eps, float *dS,
                                             fnn_index ldds, float *dgamma, float *dbeta)
    int fnn_batchnorm_inference_backward_f64(fnn_index n, fnn_index d, const double *dY,
                                             fnn_index lddy, const double *S, fnn_index lds,
                                             const double *gamma, const double *running_mean,
                                             const double *running_var, double eps, double *dS,
                                             fnn_index ldds, double *dgamma, double *dbeta)


# the thread-team runtime's test hook (threads.h, not part of the kernels' ABI)
cdef extern from "threads.h" nogil:
    int fnn_solo_rule_replay(fnn_index count, const int *nthreads, const fnn_index *helped,
                             const fnn_index *pieces, int *alone)
    int fnn_sync_counts(int64_t *out, int reset)
    int FNN_SYNC_KINDS
    int FNN_CHOICE_NAME
    int FNN_CHOICE_SAMPLES
    ctypedef struct fnn_thread_choice:
        uint64_t key
        char name[96]
        int threads
        int reason
        int measuring
        double seconds_one
        double seconds_all
        double decided_at
        int64_t steps
        int64_t measurements
        int64_t switches
    int fnn_choice_report(fnn_thread_choice *out, int capacity)
    ctypedef struct fnn_call_choice:
        uint64_t key
        int threads
        double start
    void fnn_call_begin(fnn_call_choice *call, const char *name, int element_size, fnn_index a,
                        fnn_index b, fnn_index c, double work) noexcept nogil
    void fnn_call_end(fnn_call_choice *call) noexcept nogil
    int fnn_call_choice_report(fnn_thread_choice *out, int capacity)
    enum: FNN_CALL_CHOICES_KEPT
    int fnn_choice_replay(fnn_index count, int all, const double *one, const double *all_seconds,
                          int *threads)
    int fnn_set_thread_choice(int mode)
    int fnn_get_thread_choice()
    double fnn_seconds()
