/*
 * optim.c: the optimiser updates and the L2 term, elementwise over a parameter;
 * fastnn.h states each update's equations.
 *
 * Every kernel is elementwise over an n x d array given by rows. Its elements,
 * counted in row-major order, are split into fixed pieces that threads claim;
 * no element depends on another, so the result does not depend on the thread
 * count. Each update is written in the parameter's type, with its
 * hyper-parameter scalars formed in double and rounded once, as
 * fastnn.reference and torch.optim compute them.
 *
 * The per-type section is compiled for float and for double: this file includes itself
 * through instantiate.h.
 */
#ifndef REAL /* ---- once: the per-type section, for both types ---- */
#include <math.h>

#include "internal.h"

/* Arrays an elementwise job of this file touches at most (RMSProp: param, grad and three states). */
#define FNN_OPTIM_ARRAYS 5
/* Elements a thread claims at a time; each element's update is independent of who runs it. */
#define FNN_OPTIM_PIECE 16384

#define FNN_TEMPLATE "optim.c"
#include "instantiate.h"

#else /* ---- once per type: REAL, FN(), MATH() ---- */

/* dJ/dw of J = L + l2 ||W||^2 for one weight: g + 2 l2 w (two_l2 is 2 l2 in REAL).
   fnn_l2_gradient and every update use it, so that an update given l2 sees exactly
   the gradient fnn_l2_gradient returns. */
static inline REAL FN(l2_gradient_element)(REAL g, REAL w, REAL two_l2)
{
    return g + two_l2 * w;
}

/* The arrays of an elementwise job: at most FNN_OPTIM_ARRAYS, each at its row 0
   with its row stride (NULL: not used by this call). */
typedef struct {
    fnn_index d;
    REAL *at[FNN_OPTIM_ARRAYS];
    fnn_index ld[FNN_OPTIM_ARRAYS];
} FN(optim_rows);

/* A kernel's loop over one stretch of `len` elements of one row; a[k] points at
   the stretch's first element in array k. */
typedef void (*FN(optim_segment))(const void *job, fnn_index len, REAL *const *a);

/* Rows of n x d arrays: when every used array stores its rows back to back (or
   there is one row), the job is one row of n d elements, the loops' best case. */
static FN(optim_rows) FN(optim_rows_of)(fnn_index n, fnn_index d, REAL *const *at,
                                        const fnn_index *ld)
{
    FN(optim_rows) rows;
    int packed = 1;
    for (int k = 0; k < FNN_OPTIM_ARRAYS; ++k) {
        rows.at[k] = at[k];
        rows.ld[k] = ld[k];
        if (at[k] && ld[k] != d) packed = 0;
    }
    rows.d = packed || n <= 1 ? n * d : d;
    return rows;
}

/* segment() over the elements [lo, hi) (row-major) of `rows`, a row's stretch at a time */
static void FN(optim_for_segments)(const FN(optim_rows) *rows, fnn_index lo, fnn_index hi,
                                   FN(optim_segment) segment, const void *job)
{
    const fnn_index d = rows->d;
    for (fnn_index r = lo / d; r * d < hi; ++r) {
        const fnn_index c0 = FNN_MAX(lo - r * d, 0), c1 = FNN_MIN(hi - r * d, d);
        REAL *a[FNN_OPTIM_ARRAYS];
        for (int k = 0; k < FNN_OPTIM_ARRAYS; ++k)
            a[k] = rows->at[k] ? rows->at[k] + r * rows->ld[k] + c0 : NULL;
        segment(job, c1 - c0, a);
    }
}

/* Runs range(job, lo, hi) over the n d elements, in fixed pieces. `cost` is the
   element-operations of one element (only the thread count depends on it). */
static int FN(optim_run)(fnn_index n, fnn_index d, double cost, fnn_range_body range, void *job)
{
    const fnn_index total = n * d;
    if (total == 0) return FNN_OK;
    fnn_parallel_for(total > FNN_OPTIM_PIECE ? fnn_threads_for((double)total * cost) : 1, total,
                     FNN_OPTIM_PIECE, range, job);
    return FNN_OK;
}

/* n, d and the arrays every call needs: FNN_EINVAL when one is missing or negative */
static int FN(optim_args_ok)(fnn_index n, fnn_index d, const REAL *const *needed, int count)
{
    if (n < 0 || d < 0) return 0;
    if (n == 0 || d == 0) return 1;
    for (int k = 0; k < count; ++k)
        if (!needed[k]) return 0;
    return 1;
}

/* g of element i: the gradient, with the L2 term when the call has one */
#define FNN_OPTIM_GRAD(i) (reg ? FN(l2_gradient_element)(grad[i], w[i], two_l2) : grad[i])

/* ---- SGD ---- */

typedef struct {
    FN(optim_rows) rows;      /* param, grad, momentum buffer (NULL without momentum) */
    REAL lr, momentum, keep, two_l2;
    int reg, first_step, nesterov;
} FN(sgd_job);

static void FN(sgd_segment)(const void *ctx, fnn_index len, REAL *const *a)
{
    const FN(sgd_job) *j = ctx;
    REAL *restrict w = a[0];
    const REAL *restrict grad = a[1];
    REAL *restrict buf = a[2];
    const REAL lr = j->lr, mom = j->momentum, keep = j->keep, two_l2 = j->two_l2;
    const int reg = j->reg, first = j->first_step, nesterov = j->nesterov;
    if (!buf) {
        for (fnn_index i = 0; i < len; ++i) w[i] -= lr * FNN_OPTIM_GRAD(i);
        return;
    }
    for (fnn_index i = 0; i < len; ++i) {
        const REAL g = FNN_OPTIM_GRAD(i);
        const REAL b = first ? g : buf[i] * mom + keep * g;
        buf[i] = b;
        w[i] -= lr * (nesterov ? g + mom * b : b);
    }
}

static void FN(sgd_range)(void *ctx, fnn_index lo, fnn_index hi)
{
    const FN(sgd_job) *j = ctx;
    FN(optim_for_segments)(&j->rows, lo, hi, FN(sgd_segment), j);
}

int FN(fnn_sgd_update)(fnn_index n, fnn_index d, REAL *param, fnn_index ldp,
                       const REAL *grad, fnn_index ldg, REAL *momentum_buffer, fnn_index ldm,
                       double lr, double momentum, double dampening, int nesterov,
                       int first_step, double l2)
{
    const int with_buffer = momentum != 0.0;
    const REAL *needed[3] = {param, grad, with_buffer ? momentum_buffer : param};
    if (!FN(optim_args_ok)(n, d, needed, 3)) return FNN_EINVAL;
    REAL *at[FNN_OPTIM_ARRAYS] = {param, (REAL *)grad, with_buffer ? momentum_buffer : NULL};
    const fnn_index ld[FNN_OPTIM_ARRAYS] = {ldp, ldg, ldm};
    FN(sgd_job) job = {FN(optim_rows_of)(n, d, at, ld), (REAL)lr, (REAL)momentum,
                       (REAL)(1.0 - dampening), (REAL)(2.0 * l2), l2 != 0.0, first_step != 0,
                       nesterov != 0};
    return FN(optim_run)(n, d, 4.0, FN(sgd_range), &job);
}

/* ---- AdaGrad ---- */

typedef struct {
    FN(optim_rows) rows;      /* param, grad, state_sum */
    REAL clr, eps, two_l2;
    int reg;
} FN(adagrad_job);

static void FN(adagrad_segment)(const void *ctx, fnn_index len, REAL *const *a)
{
    const FN(adagrad_job) *j = ctx;
    REAL *restrict w = a[0];
    const REAL *restrict grad = a[1];
    REAL *restrict sum = a[2];
    const REAL clr = j->clr, eps = j->eps, two_l2 = j->two_l2;
    const int reg = j->reg;
    for (fnn_index i = 0; i < len; ++i) {
        const REAL g = FNN_OPTIM_GRAD(i);
        sum[i] += g * g;
        w[i] -= clr * (g / (MATH(sqrt)(sum[i]) + eps));
    }
}

static void FN(adagrad_range)(void *ctx, fnn_index lo, fnn_index hi)
{
    const FN(adagrad_job) *j = ctx;
    FN(optim_for_segments)(&j->rows, lo, hi, FN(adagrad_segment), j);
}

int FN(fnn_adagrad_update)(fnn_index n, fnn_index d, REAL *param, fnn_index ldp,
                           const REAL *grad, fnn_index ldg, REAL *state_sum, fnn_index lds,
                           double lr, int64_t step, double lr_decay, double eps, double l2)
{
    const REAL *needed[3] = {param, grad, state_sum};
    if (!FN(optim_args_ok)(n, d, needed, 3) || step < 1) return FNN_EINVAL;
    REAL *at[FNN_OPTIM_ARRAYS] = {param, (REAL *)grad, state_sum};
    const fnn_index ld[FNN_OPTIM_ARRAYS] = {ldp, ldg, lds};
    const double clr = lr / (1.0 + (double)(step - 1) * lr_decay);
    FN(adagrad_job) job = {FN(optim_rows_of)(n, d, at, ld), (REAL)clr, (REAL)eps,
                           (REAL)(2.0 * l2), l2 != 0.0};
    return FN(optim_run)(n, d, 4.0, FN(adagrad_range), &job);
}

/* ---- RMSProp ---- */

typedef struct {
    FN(optim_rows) rows;      /* param, grad, square_avg, grad_avg (centered), momentum buffer */
    REAL lr, alpha, rest, eps, momentum, two_l2;
    int reg;
} FN(rmsprop_job);

static void FN(rmsprop_segment)(const void *ctx, fnn_index len, REAL *const *a)
{
    const FN(rmsprop_job) *j = ctx;
    REAL *restrict w = a[0];
    const REAL *restrict grad = a[1];
    REAL *restrict sq = a[2];
    REAL *restrict avg_g = a[3];
    REAL *restrict buf = a[4];
    const REAL lr = j->lr, alpha = j->alpha, rest = j->rest, eps = j->eps, mom = j->momentum;
    const REAL two_l2 = j->two_l2;
    const int reg = j->reg;
    for (fnn_index i = 0; i < len; ++i) {
        const REAL g = FNN_OPTIM_GRAD(i);
        sq[i] = sq[i] * alpha + rest * g * g;
        REAL denom;
        if (avg_g) {
            avg_g[i] = avg_g[i] * alpha + rest * g;
            denom = MATH(sqrt)(sq[i] - avg_g[i] * avg_g[i]) + eps;
        } else {
            denom = MATH(sqrt)(sq[i]) + eps;
        }
        if (buf) {
            buf[i] = buf[i] * mom + g / denom;
            w[i] -= lr * buf[i];
        } else {
            w[i] -= lr * (g / denom);
        }
    }
}

static void FN(rmsprop_range)(void *ctx, fnn_index lo, fnn_index hi)
{
    const FN(rmsprop_job) *j = ctx;
    FN(optim_for_segments)(&j->rows, lo, hi, FN(rmsprop_segment), j);
}

int FN(fnn_rmsprop_update)(fnn_index n, fnn_index d, REAL *param, fnn_index ldp,
                           const REAL *grad, fnn_index ldg, REAL *square_avg, fnn_index ldsq,
                           REAL *grad_avg, fnn_index ldga, REAL *momentum_buffer,
                           fnn_index ldm, double lr, double alpha, double eps, double momentum,
                           int centered, double l2)
{
    const int with_buffer = momentum > 0.0;
    const REAL *needed[5] = {param, grad, square_avg, centered ? grad_avg : param,
                             with_buffer ? momentum_buffer : param};
    if (!FN(optim_args_ok)(n, d, needed, 5)) return FNN_EINVAL;
    REAL *at[FNN_OPTIM_ARRAYS] = {param, (REAL *)grad, square_avg, centered ? grad_avg : NULL,
                                  with_buffer ? momentum_buffer : NULL};
    const fnn_index ld[FNN_OPTIM_ARRAYS] = {ldp, ldg, ldsq, ldga, ldm};
    FN(rmsprop_job) job = {FN(optim_rows_of)(n, d, at, ld), (REAL)lr, (REAL)alpha,
                           (REAL)(1.0 - alpha), (REAL)eps, (REAL)momentum, (REAL)(2.0 * l2),
                           l2 != 0.0};
    return FN(optim_run)(n, d, 4.0, FN(rmsprop_range), &job);
}

/* ---- Adam ---- */

typedef struct {
    FN(optim_rows) rows;      /* param, grad, m, v */
    REAL step_size, root_correction, beta1, beta2, rest1, rest2, eps, two_l2;
    int reg;
} FN(adam_job);

static void FN(adam_segment)(const void *ctx, fnn_index len, REAL *const *a)
{
    const FN(adam_job) *j = ctx;
    REAL *restrict w = a[0];
    const REAL *restrict grad = a[1];
    REAL *restrict m = a[2];
    REAL *restrict v = a[3];
    const REAL b1 = j->beta1, b2 = j->beta2, r1 = j->rest1, r2 = j->rest2, eps = j->eps;
    const REAL step_size = j->step_size, root_correction = j->root_correction;
    const REAL two_l2 = j->two_l2;
    const int reg = j->reg;
    for (fnn_index i = 0; i < len; ++i) {
        const REAL g = FNN_OPTIM_GRAD(i);
        m[i] = m[i] * b1 + r1 * g;
        v[i] = v[i] * b2 + r2 * g * g;
        const REAL denom = MATH(sqrt)(v[i]) / root_correction + eps;
        w[i] -= step_size * (m[i] / denom);
    }
}

static void FN(adam_range)(void *ctx, fnn_index lo, fnn_index hi)
{
    const FN(adam_job) *j = ctx;
    FN(optim_for_segments)(&j->rows, lo, hi, FN(adam_segment), j);
}

int FN(fnn_adam_update)(fnn_index n, fnn_index d, REAL *param, fnn_index ldp,
                        const REAL *grad, fnn_index ldg, REAL *m, fnn_index ldm,
                        REAL *v, fnn_index ldv, double lr, int64_t step, double beta1,
                        double beta2, double eps, double l2)
{
    const REAL *needed[4] = {param, grad, m, v};
    if (!FN(optim_args_ok)(n, d, needed, 4) || step < 1) return FNN_EINVAL;
    REAL *at[FNN_OPTIM_ARRAYS] = {param, (REAL *)grad, m, v};
    const fnn_index ld[FNN_OPTIM_ARRAYS] = {ldp, ldg, ldm, ldv};
    /* the bias corrections: m / (1 - beta1^step) over sqrt(v / (1 - beta2^step)) + eps,
       with the corrections moved onto the scalars as torch.optim.Adam moves them */
    const double k = (double)step;
    FN(adam_job) job = {FN(optim_rows_of)(n, d, at, ld), (REAL)(lr / (1.0 - pow(beta1, k))),
                        (REAL)sqrt(1.0 - pow(beta2, k)), (REAL)beta1, (REAL)beta2,
                        (REAL)(1.0 - beta1), (REAL)(1.0 - beta2), (REAL)eps, (REAL)(2.0 * l2),
                        l2 != 0.0};
    return FN(optim_run)(n, d, 4.0, FN(adam_range), &job);
}

/* ---- the L2 term ---- */

typedef struct {
    FN(optim_rows) rows;      /* out, dW, W */
    REAL two_l2;
    int reg;
} FN(l2_job);

static void FN(l2_gradient_segment)(const void *ctx, fnn_index len, REAL *const *a)
{
    const FN(l2_job) *j = ctx;
    /* out may be grad itself (the engine adds the L2 term in place before clipping) */
    REAL *out = a[0];
    const REAL *grad = a[1];
    const REAL *restrict w = a[2];
    const REAL two_l2 = j->two_l2;
    const int reg = j->reg;
    for (fnn_index i = 0; i < len; ++i) out[i] = FNN_OPTIM_GRAD(i);
}

static void FN(l2_gradient_range)(void *ctx, fnn_index lo, fnn_index hi)
{
    const FN(l2_job) *j = ctx;
    FN(optim_for_segments)(&j->rows, lo, hi, FN(l2_gradient_segment), j);
}

int FN(fnn_l2_gradient)(fnn_index n, fnn_index d, const REAL *dW, fnn_index lddw,
                        const REAL *W, fnn_index ldw, double l2, REAL *out, fnn_index ldo)
{
    const REAL *needed[3] = {out, dW, W};
    if (!FN(optim_args_ok)(n, d, needed, 3)) return FNN_EINVAL;
    REAL *at[FNN_OPTIM_ARRAYS] = {out, (REAL *)dW, (REAL *)W};
    const fnn_index ld[FNN_OPTIM_ARRAYS] = {ldo, lddw, ldw};
    FN(l2_job) job = {FN(optim_rows_of)(n, d, at, ld), (REAL)(2.0 * l2), l2 != 0.0};
    return FN(optim_run)(n, d, 1.0, FN(l2_gradient_range), &job);
}

#undef FNN_OPTIM_GRAD

/* The sum of squares in double: element i (row-major) goes to lane i % 8 while a
   whole group of 8 remains, the rest to a tail; then tail + lane 0 + ... + lane 7.
   One thread, one order, whatever the layout. */
static double FN(sum_squares)(fnn_index n, fnn_index d, const REAL *W, fnn_index ldw)
{
    const fnn_index total = n * d, full = total - total % 8;
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    double tail = 0;
    if (n <= 1 || ldw == d) {
        /* one run of elements: 8 lanes side by side, so that the loop vectorises */
        for (fnn_index i = 0; i < full; i += 8)
            for (int k = 0; k < 8; ++k) lane[k] += (double)W[i + k] * (double)W[i + k];
        for (fnn_index i = full; i < total; ++i) tail += (double)W[i] * (double)W[i];
    } else {
        fnn_index i = 0;
        for (fnn_index r = 0; r < n; ++r) {
            const REAL *row = W + r * ldw;
            for (fnn_index c = 0; c < d; ++c, ++i) {
                const double x = (double)row[c];
                if (i < full)
                    lane[i % 8] += x * x;
                else
                    tail += x * x;
            }
        }
    }
    double sum = tail;
    for (int k = 0; k < 8; ++k) sum += lane[k];
    return sum;
}

int FN(fnn_l2_penalty)(fnn_index n, fnn_index d, const REAL *W, fnn_index ldw, double l2,
                       double *penalty)
{
    const REAL *needed[1] = {W};
    if (!FN(optim_args_ok)(n, d, needed, 1) || !penalty) return FNN_EINVAL;
    *penalty = l2 * FN(sum_squares)(n, d, W, ldw);
    return FNN_OK;
}

/* ---- gradient clipping by global norm ---- */

int FN(fnn_clip_grad_norm)(int count, REAL *const *grads, const fnn_index *sizes, double max_norm,
                           double *total_norm)
{
    if (count < 0 || !(max_norm > 0) || !total_norm || (count > 0 && (!grads || !sizes)))
        return FNN_EINVAL;
    for (int k = 0; k < count; ++k)
        if (sizes[k] < 0 || (sizes[k] > 0 && !grads[k])) return FNN_EINVAL;
    /* the norm of all gradients as one vector, summed gradient by gradient in order */
    double sum = 0;
    for (int k = 0; k < count; ++k)
        if (sizes[k] > 0) sum += FN(sum_squares)(1, sizes[k], grads[k], sizes[k]);
    const double norm = sqrt(sum);
    /* min(1, max_norm / (norm + 1e-6)), a NaN norm giving NaN, as torch.nn.utils.clip_grad_norm_ */
    const double coef = max_norm / (norm + 1e-6);
    const double scale = isnan(coef) ? coef : fmin(coef, 1.0);
    if (scale != 1.0) {
        const REAL c = (REAL)scale;
        for (int k = 0; k < count; ++k) {
            REAL *g = grads[k];
            for (fnn_index i = 0; i < sizes[k]; ++i) g[i] *= c;
        }
    }
    *total_norm = norm;
    return FNN_OK;
}

#endif /* REAL */
