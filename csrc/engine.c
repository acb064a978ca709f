/*
 * engine.c: whole runs of training steps in one call (see fastnn.h).
 *
 * One step is what fastnn.Sequential.fit does for a mini-batch on the Python
 * side, in the same order: gather, forward in training mode (batch norm
 * running averages and dropout steps advance), loss plus the L2 penalty of the
 * weights before the update, backward, and each parameter's optimiser update
 * as soon as its gradient is complete (its layer's input gradient has been
 * computed from the old values by then). The first layers' input gradients,
 * which no parameter needs, are never computed. With gradient clipping
 * (opt->max_grad_norm > 0) the updates wait until every gradient is complete:
 * the L2 term is added to each, all are clipped together, then each is applied.
 *
 * The per-type section is compiled for float and for double: this file includes itself
 * through instantiate.h.
 */
#ifndef REAL /* ---- once: the per-type section, for both types ---- */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* A diagnostic build with -DFNN_ENGINE_CLAIMS runs each step's kernels with the work
   sharing of kernels called one by one (claimed pieces) instead of static splits: with
   -DFNN_COUNT_SYNCS it counts what the static splits save. */
#ifdef FNN_ENGINE_CLAIMS
#define FNN_ENGINE_STATIC 0
#else
#define FNN_ENGINE_STATIC 1
#endif

/* Every workspace region starts on a cache line: no false sharing between the
   buffers two threads write, and aligned vector loads where kernels use them. */
#define FNN_WS_ALIGN 64

static size_t ws_round(size_t bytes)
{
    return (bytes + FNN_WS_ALIGN - 1) / FNN_WS_ALIGN * FNN_WS_ALIGN;
}

/* Carve `bytes` from the workspace cursor; with a NULL base only count. */
static void *ws_take(unsigned char *base, size_t *used, size_t bytes)
{
    void *p = base ? base + *used : NULL;
    *used += ws_round(bytes);
    return p;
}

#define FNN_TEMPLATE "engine.c"
#include "instantiate.h"

#else /* ---- once per type: REAL, FN(), MATH() ---- */

/* Where a step keeps its arrays; every pointer lies in the caller's workspace. */
typedef struct {
    REAL *input;          /* the gathered batch, batch_max x in_features */
    REAL *targets;        /* gathered REAL targets (soft labels, BCE, MSE) */
    int64_t *labels;      /* gathered integer labels */
    REAL *row_loss;
    REAL *grad[2];        /* backward ping-pong, batch_max x widest layer */
    REAL *param_grad;     /* gradients of all parameters, back to back */
    REAL **grad_ptr;      /* where each parameter's gradient lies (for clipping) */
    fnn_index *grad_size; /* and its element count */
    int defer;            /* 1: FN(update) leaves the parameters alone (clipping first) */
} FN(engine_buffers);

typedef struct {
    REAL *out;            /* the layer's output, batch_max x out_features */
    REAL *mean, *var;     /* batch norm statistics of the step */
    int64_t dropout_step; /* dropout: the pass whose mask the step drew (its backward's too) */
    REAL *pieces;         /* maxout: all pieces (forward), their gradient (backward) */
    int64_t *winner;      /* maxout: index of the winning piece per output */
} FN(layer_buffers);

static fnn_index FN(widest)(const fnn_net *net)
{
    fnn_index w = net->layers[0].in_features;
    for (int l = 0; l < net->n_layers; ++l)
        w = FNN_MAX(w, FNN_MAX(net->layers[l].in_features, net->layers[l].out_features));
    return w;
}

/* Lay the workspace out (base NULL: only measure it). Returns the bytes used. */
static size_t FN(engine_layout)(const fnn_net *net, fnn_index target_width, unsigned char *base,
                                FN(engine_buffers) *eb, FN(layer_buffers) *lb)
{
    const size_t rows = (size_t)net->batch_max, r = sizeof(REAL);
    const size_t wide = (size_t)FN(widest)(net);
    size_t used = 0;
    FN(engine_buffers) tmp;
    if (!eb) eb = &tmp;
    eb->input = ws_take(base, &used, rows * (size_t)net->layers[0].in_features * r);
    eb->targets = ws_take(base, &used, rows * (size_t)(target_width > 0 ? target_width : 1) * r);
    eb->labels = ws_take(base, &used, rows * sizeof(int64_t));
    eb->row_loss = ws_take(base, &used, rows * r);
    eb->grad[0] = ws_take(base, &used, rows * wide * r);
    eb->grad[1] = ws_take(base, &used, rows * wide * r);
    size_t total = 0;
    for (int i = 0; i < net->n_params; ++i) total += ws_round((size_t)net->params[i].size * r);
    eb->param_grad = ws_take(base, &used, total);
    eb->grad_ptr = ws_take(base, &used, (size_t)net->n_params * sizeof(REAL *));
    eb->grad_size = ws_take(base, &used, (size_t)net->n_params * sizeof(fnn_index));
    for (int l = 0; l < net->n_layers; ++l) {
        const fnn_layer *L = &net->layers[l];
        FN(layer_buffers) one = {0}, *b = lb ? &lb[l] : &one;
        memset(b, 0, sizeof(*b));
        const size_t out = (size_t)L->out_features;
        b->out = ws_take(base, &used, rows * out * r);
        if (L->kind == FNN_LAYER_BATCHNORM) {
            b->mean = ws_take(base, &used, out * r);
            b->var = ws_take(base, &used, out * r);
        } else if (L->kind == FNN_LAYER_MAXOUT) {
            b->pieces = ws_take(base, &used, rows * out * (size_t)L->pieces * r);
            b->winner = ws_take(base, &used, rows * out * sizeof(int64_t));
        }
    }
    return used + FNN_WS_ALIGN; /* room to align the caller's base */
}

/* Layer tables of deep networks live after the buffers (short ones on the stack). */
#define FNN_STACK_LAYERS 16

static size_t FN(layer_table_bytes)(const fnn_net *net)
{
    return net->n_layers > FNN_STACK_LAYERS ? (size_t)net->n_layers * sizeof(FN(layer_buffers)) : 0;
}

size_t FN(fnn_train_workspace_bytes)(const fnn_net *net)
{
    if (!net || net->n_layers < 1) return 0;
    /* the REAL target rows are at most as wide as the network's output */
    const fnn_index width = net->layers[net->n_layers - 1].out_features;
    return FN(engine_layout)(net, width, NULL, NULL, NULL) + FN(layer_table_bytes)(net);
}

/* Gradient slot of parameter i inside eb->param_grad. */
static REAL *FN(grad_of)(const fnn_net *net, const FN(engine_buffers) *eb, int i)
{
    unsigned char *p = (unsigned char *)eb->param_grad;
    for (int k = 0; k < i; ++k) p += ws_round((size_t)net->params[k].size * sizeof(REAL));
    return (REAL *)p;
}

typedef struct {
    fnn_index width;
    const REAL *src;
    const int64_t *idx;
    REAL *dst;
    const fnn_check_arch *check; /* non-NULL: copy through its finiteness check */
    int bad;
} FN(gather_job);

static void FN(gather_range)(void *ctx, fnn_index begin, fnn_index end)
{
    FN(gather_job) *j = ctx;
    const size_t bytes = (size_t)j->width * sizeof(REAL);
    int finite = 1;
    for (fnn_index i = begin; i < end; ++i) {
        const REAL *row = j->src + (size_t)j->idx[i] * (size_t)j->width;
        if (j->check)
            finite &= FN(j->check->copy_finite)(j->width, row, j->dst + i * j->width);
        else
            memcpy(j->dst + i * j->width, row, bytes);
    }
    if (!finite) {
#pragma omp atomic write
        j->bad = 1;
    }
}

/* dst = the rows idx[0 .. rows) of src; with `check`, returns 0 when one of them is not finite */
static int FN(gather)(fnn_index rows, fnn_index width, const REAL *src, const int64_t *idx,
                      REAL *dst, int check)
{
    FN(gather_job) job = {width, src, idx, dst, check ? fnn_check_kernels() : NULL, 0};
    fnn_parallel_for(fnn_threads_for((double)rows * (double)width), rows, FNN_ROWS_PER_CLAIM(width),
                     FN(gather_range), &job);
    return !job.bad;
}

/* ---- the loss of the output O (n x c) and its gradient dO, from loss.c's kernels;
   the count of correctly classified samples ---- */

static fnn_index FN(argmax_row)(const REAL *o, fnn_index c)
{
    fnn_index best = 0;
    for (fnn_index j = 1; j < c; ++j)
        if (o[j] > o[best]) best = j; /* first maximum, as numpy.argmax */
    return best;
}

static int FN(engine_loss)(int kind, fnn_index n, fnn_index c, const REAL *O,
                           const FN(engine_buffers) *eb, REAL *dO, double *loss, int64_t *correct)
{
    REAL value = 0;
    int status;
    int64_t hits = 0;
    switch (kind) {
    case FNN_LOSS_SOFTMAX_CE:
        status = FN(fnn_softmax_cross_entropy)(n, c, O, c, eb->labels, dO, c, eb->row_loss, &value);
        for (fnn_index i = 0; i < n; ++i) hits += FN(argmax_row)(O + i * c, c) == eb->labels[i];
        break;
    case FNN_LOSS_SOFTMAX_CE_SOFT:
        status = FN(fnn_softmax_cross_entropy_soft)(n, c, O, c, eb->targets, c, dO, c,
                                                    eb->row_loss, &value);
        for (fnn_index i = 0; i < n; ++i)
            hits += FN(argmax_row)(O + i * c, c) == FN(argmax_row)(eb->targets + i * c, c);
        break;
    case FNN_LOSS_SIGMOID_BCE:
        status = FN(fnn_sigmoid_binary_cross_entropy)(n, c, O, c, eb->targets, c, dO, c,
                                                      eb->row_loss, &value);
        for (fnn_index i = 0; i < n; ++i) hits += (O[i * c] > 0) == (eb->targets[i] != 0);
        break;
    case FNN_LOSS_MSE:
        status = FN(fnn_mse)(n, c, O, c, eb->targets, c, dO, c, eb->row_loss, &value);
        break;
    default:
        return FNN_EINVAL;
    }
    *loss = (double)value;
    *correct = hits;
    return status;
}

/* ---- forward and backward of one layer ---- */

static int FN(layer_forward)(fnn_net *net, int l, fnn_index n, const REAL *X,
                             FN(layer_buffers) *lb, int *fused_next)
{
    fnn_layer *L = &net->layers[l];
    FN(layer_buffers) *b = &lb[l];
    const fnn_index d_in = L->in_features, d_out = L->out_features;
    *fused_next = 0;
    switch (L->kind) {
    case FNN_LAYER_DENSE: {
        const REAL *W = (const REAL *)net->params[L->weight].value;
        const REAL *bias = L->bias >= 0 ? (const REAL *)net->params[L->bias].value : NULL;
        if (l + 1 < net->n_layers && net->layers[l + 1].kind == FNN_LAYER_ACTIVATION) {
            /* the activation runs on each tile of S while it is in cache */
            const fnn_layer *A = &net->layers[l + 1];
            *fused_next = 1;
            return FN(fnn_dense_forward)(n, d_in, d_out, X, d_in, 1, W, d_in, 1, bias,
                                         A->activation, (REAL)A->alpha, b->out, d_out,
                                         lb[l + 1].out, d_out);
        }
        return FN(fnn_linear_forward)(n, d_in, d_out, X, d_in, 1, W, d_in, 1, bias, b->out, d_out);
    }
    case FNN_LAYER_BATCHNORM: {
        const REAL *gamma = (const REAL *)net->params[L->gamma].value;
        const REAL *beta = (const REAL *)net->params[L->beta].value;
        int status;
        if (FNN_ENGINE_STATIC && l + 1 < net->n_layers
            && net->layers[l + 1].kind == FNN_LAYER_ACTIVATION) {
            /* the activation on the rows each thread has just normalised */
            const fnn_layer *A = &net->layers[l + 1];
            *fused_next = 1;
            status = FN(fnn_batchnorm_forward_step)(n, d_out, X, d_in, gamma, beta, (REAL)L->eps,
                                                    b->out, d_out, b->mean, b->var, A->activation,
                                                    (REAL)A->alpha, lb[l + 1].out, d_out);
        } else {
            status = FN(fnn_batchnorm_forward)(n, d_out, X, d_in, gamma, beta, (REAL)L->eps,
                                               b->out, d_out, b->mean, b->var);
        }
        if (status != FNN_OK) return status;
        status = FN(fnn_batchnorm_running_update)(d_out, (REAL *)L->running_mean,
                                                  (REAL *)L->running_var, b->mean, b->var, n,
                                                  (REAL)L->momentum, L->unbiased_running_var);
        if (status == FNN_OK && net->stop_nonfinite > 1
            && !(FN(fnn_all_finite)(d_out, (const REAL *)L->running_mean)
                 && FN(fnn_all_finite)(d_out, (const REAL *)L->running_var)))
            return FNN_EDIVERGED;
        return status;
    }
    case FNN_LAYER_ACTIVATION:
        return FN(fnn_activation_forward)(L->activation, n, d_out, X, d_in, b->out, d_out,
                                          (REAL)L->alpha);
    case FNN_LAYER_DROPOUT: {
        b->dropout_step = L->step;
        int status = FN(fnn_dropout_forward)(n, d_out, X, d_in, L->p, L->seed, L->step, b->out,
                                             d_out);
        /* as fastnn.layers.Dropout: p == 0 draws no mask, and its step stays */
        if (status == FNN_OK && L->p != 0.0) L->step += 1;
        return status;
    }
    case FNN_LAYER_MAXOUT: {
        const fnn_index k = L->pieces, rows = d_out * k;
        const REAL *W = (const REAL *)net->params[L->weight].value;
        const REAL *bias = (const REAL *)net->params[L->bias].value;
        int status = FN(fnn_linear_forward)(n, d_in, rows, X, d_in, 1, W, d_in, 1, bias, b->pieces,
                                            rows);
        if (status != FNN_OK) return status;
        return FN(fnn_maxout_forward)(n, d_out, k, b->pieces, rows, b->out, d_out, b->winner,
                                      d_out);
    }
    default:
        return FNN_EINVAL;
    }
}

/* The optimiser update of parameter `index` (none for -1) from its gradient: the
   kernel of the optimiser's kind, given the L2 term of a regularised parameter (which a
   clipped gradient already holds). With net->stop_nonfinite > 1, FNN_EDIVERGED when the
   updated parameter is not finite (checked while it is still in cache). */
static int FN(update)(fnn_net *net, const fnn_optimizer *opt, const FN(engine_buffers) *eb,
                      int index, double lr)
{
    if (index < 0 || eb->defer) return FNN_OK;
    fnn_param *P = &net->params[index];
    REAL *w = (REAL *)P->value;
    const REAL *g = FN(grad_of)(net, eb, index);
    REAL *state[3] = {(REAL *)P->state[0], (REAL *)P->state[1], (REAL *)P->state[2]};
    const fnn_index n = P->size;
    const double l2 = P->regularised && !(opt->max_grad_norm > 0) ? net->l2 : 0.0;
    const int64_t step = opt->iterations + 1;
    int status;
    switch (opt->kind) {
    case FNN_OPT_SGD:
        status = FN(fnn_sgd_update)(1, n, w, n, g, n, state[0], n, lr, opt->momentum,
                                    opt->dampening, opt->nesterov, P->fresh, l2);
        break;
    case FNN_OPT_ADAGRAD:
        status = FN(fnn_adagrad_update)(1, n, w, n, g, n, state[0], n, lr, step, opt->lr_decay,
                                        opt->eps, l2);
        break;
    case FNN_OPT_RMSPROP:
        status = FN(fnn_rmsprop_update)(1, n, w, n, g, n, state[0], n, state[1], n, state[2], n,
                                        lr, opt->alpha, opt->eps, opt->momentum, opt->centered,
                                        l2);
        break;
    case FNN_OPT_ADAM:
        status = FN(fnn_adam_update)(1, n, w, n, g, n, state[0], n, state[1], n, lr, step,
                                     opt->beta1, opt->beta2, opt->eps, l2);
        break;
    default:
        return FNN_EINVAL;
    }
    if (status != FNN_OK) return status;
    P->fresh = 0;
    if (net->stop_nonfinite > 1 && !FN(fnn_all_finite)(n, w)) return FNN_EDIVERGED;
    return FNN_OK;
}

/* dOut -> dIn for layer l (dIn NULL: not needed), updating the layer's parameters. */
static int FN(layer_backward)(fnn_net *net, const fnn_optimizer *opt, int l, fnn_index n,
                              const REAL *X, FN(layer_buffers) *lb, const FN(engine_buffers) *eb,
                              const REAL *dOut, REAL *dIn, double lr)
{
    fnn_layer *L = &net->layers[l];
    FN(layer_buffers) *b = &lb[l];
    const fnn_index d_in = L->in_features, d_out = L->out_features;
    int status = FNN_OK;
    switch (L->kind) {
    case FNN_LAYER_DENSE: {
        const REAL *W = (const REAL *)net->params[L->weight].value;
        REAL *gb = L->bias >= 0 ? FN(grad_of)(net, eb, L->bias) : NULL;
        status = FN(fnn_linear_backward)(n, d_in, d_out, dOut, d_out, 1, X, d_in, 1, W, d_in, 1,
                                         dIn, FN(grad_of)(net, eb, L->weight), gb);
        if (status == FNN_OK) status = FN(update)(net, opt, eb, L->weight, lr);
        if (status == FNN_OK) status = FN(update)(net, opt, eb, L->bias, lr);
        return status;
    }
    case FNN_LAYER_BATCHNORM: {
        const REAL *gamma = (const REAL *)net->params[L->gamma].value;
        /* dS is needed for the dgamma/dbeta reductions even when dIn is not */
        REAL *dS = dIn ? dIn : b->out;
        status = FN(fnn_batchnorm_backward)(n, d_out, dOut, d_out, X, d_in, gamma, b->mean, b->var,
                                            (REAL)L->eps, dS, d_out,
                                            FN(grad_of)(net, eb, L->gamma),
                                            FN(grad_of)(net, eb, L->beta));
        if (status == FNN_OK) status = FN(update)(net, opt, eb, L->gamma, lr);
        if (status == FNN_OK) status = FN(update)(net, opt, eb, L->beta, lr);
        return status;
    }
    case FNN_LAYER_ACTIVATION:
        return dIn ? FN(fnn_activation_backward)(L->activation, n, d_out, dOut, d_out, b->out,
                                                 d_out, dIn, d_in, (REAL)L->alpha)
                   : FNN_OK;
    case FNN_LAYER_DROPOUT:
        return dIn ? FN(fnn_dropout_backward)(n, d_out, dOut, d_out, L->p, L->seed,
                                              b->dropout_step, dIn, d_in)
                   : FNN_OK;
    case FNN_LAYER_MAXOUT: {
        const fnn_index k = L->pieces, rows = d_out * k;
        const REAL *W = (const REAL *)net->params[L->weight].value;
        /* the gradient of every piece: dOut at the winner, zero elsewhere */
        status = FN(fnn_maxout_backward)(n, d_out, k, dOut, d_out, b->winner, d_out, b->pieces,
                                         rows);
        if (status == FNN_OK)
            status = FN(fnn_linear_backward)(n, d_in, rows, b->pieces, rows, 1, X, d_in, 1, W,
                                             d_in, 1, dIn, FN(grad_of)(net, eb, L->weight),
                                             FN(grad_of)(net, eb, L->bias));
        if (status == FNN_OK) status = FN(update)(net, opt, eb, L->weight, lr);
        if (status == FNN_OK) status = FN(update)(net, opt, eb, L->bias, lr);
        return status;
    }
    default:
        return FNN_EINVAL;
    }
}

/* The batch norm layer l and the activation after it, backward in one region: dY (a
   buffer) takes the activation's input gradient, dIn (NULL: not needed) the batch norm's;
   then the updates of gamma and beta. */
static int FN(batchnorm_activation_backward)(fnn_net *net, const fnn_optimizer *opt, int l,
                                             fnn_index n, const REAL *X, FN(layer_buffers) *lb,
                                             const FN(engine_buffers) *eb, const REAL *dOut,
                                             REAL *dY, REAL *dIn, double lr)
{
    fnn_layer *L = &net->layers[l];
    const fnn_layer *A = &net->layers[l + 1];
    FN(layer_buffers) *b = &lb[l];
    const REAL *gamma = (const REAL *)net->params[L->gamma].value;
    /* dS is needed for the dgamma/dbeta reductions even when dIn is not */
    REAL *dS = dIn ? dIn : b->out;
    int status = FN(fnn_batchnorm_backward_step)(
        n, L->out_features, A->activation, (REAL)A->alpha, dOut, lb[l + 1].out, dY, X,
        L->in_features, gamma, b->mean, b->var, (REAL)L->eps, dS, FN(grad_of)(net, eb, L->gamma),
        FN(grad_of)(net, eb, L->beta));
    if (status == FNN_OK) status = FN(update)(net, opt, eb, L->gamma, lr);
    if (status == FNN_OK) status = FN(update)(net, opt, eb, L->beta, lr);
    return status;
}

static int FN(has_params)(const fnn_layer *L)
{
    return L->kind == FNN_LAYER_DENSE || L->kind == FNN_LAYER_BATCHNORM
           || L->kind == FNN_LAYER_MAXOUT;
}

static int FN(check_net)(const fnn_net *net, fnn_index target_width)
{
    if (!net || net->n_layers < 1 || net->batch_max < 1 || net->n_params < 0) return FNN_EINVAL;
    for (int l = 0; l < net->n_layers; ++l) {
        const fnn_layer *L = &net->layers[l];
        const int idx[4] = {L->weight, L->bias, L->gamma, L->beta};
        for (int k = 0; k < 4; ++k)
            if (idx[k] >= net->n_params) return FNN_EINVAL;
        if (L->in_features < 1 || L->out_features < 1) return FNN_EINVAL;
        if (l > 0 && L->in_features != net->layers[l - 1].out_features) return FNN_EINVAL;
        switch (L->kind) {
        case FNN_LAYER_DENSE:
            if (L->weight < 0 || net->params[L->weight].size != L->in_features * L->out_features)
                return FNN_EINVAL;
            if (L->bias >= 0 && net->params[L->bias].size != L->out_features) return FNN_EINVAL;
            break;
        case FNN_LAYER_MAXOUT:
            if (L->pieces < 1 || L->weight < 0 || L->bias < 0
                || net->params[L->weight].size != L->in_features * L->out_features * L->pieces
                || net->params[L->bias].size != L->out_features * L->pieces)
                return FNN_EINVAL;
            break;
        case FNN_LAYER_BATCHNORM:
            if (L->gamma < 0 || L->beta < 0 || !L->running_mean || !L->running_var
                || net->params[L->gamma].size != L->out_features
                || net->params[L->beta].size != L->out_features || L->in_features != L->out_features)
                return FNN_EINVAL;
            break;
        case FNN_LAYER_ACTIVATION:
            if (L->activation < FNN_IDENTITY || L->activation >= FNN_ACTIVATION_COUNT) return FNN_EINVAL;
            /* an activation keeps the width, as dropout does */
            /* fall through */
        case FNN_LAYER_DROPOUT:
            if (L->in_features != L->out_features || (L->kind == FNN_LAYER_DROPOUT && !(L->p >= 0 && L->p < 1)))
                return FNN_EINVAL;
            break;
        default:
            return FNN_EINVAL;
        }
    }
    const fnn_index c = net->layers[net->n_layers - 1].out_features;
    switch (net->loss) {
    case FNN_LOSS_SOFTMAX_CE: return target_width == 0 ? FNN_OK : FNN_EINVAL;
    case FNN_LOSS_SIGMOID_BCE: return c == 1 && target_width == 1 ? FNN_OK : FNN_EINVAL;
    case FNN_LOSS_SOFTMAX_CE_SOFT:
    case FNN_LOSS_MSE: return target_width == c ? FNN_OK : FNN_EINVAL;
    default: return FNN_EINVAL;
    }
}

/* What every step of a run reads. */
typedef struct {
    fnn_net *net;
    fnn_optimizer *opt;
    const REAL *X;
    const void *targets;
    fnn_index target_width, checked_steps;
    const int64_t *order, *bounds;
    const double *lr;
    FN(engine_buffers) *eb;
    FN(layer_buffers) *lb;
    int first_param, clipping;
    double *step_loss;
    int64_t *step_correct;
} FN(engine_run);

/* Training step s of a run (see the top of this file). */
static int FN(train_step)(const FN(engine_run) *run, fnn_index s)
{
    fnn_net *net = run->net;
    fnn_optimizer *opt = run->opt;
    const REAL *X = run->X;
    const void *targets = run->targets;
    const fnn_index target_width = run->target_width, checked_steps = run->checked_steps;
    const int64_t *order = run->order, *bounds = run->bounds;
    const double *lr = run->lr;
    FN(engine_buffers) *eb = run->eb;
    FN(layer_buffers) *lb = run->lb;
    const int first_param = run->first_param, clipping = run->clipping;
    double *step_loss = run->step_loss;
    int64_t *step_correct = run->step_correct;
    const fnn_index d0 = net->layers[0].in_features;
    const fnn_index c = net->layers[net->n_layers - 1].out_features;
    int status;
    const fnn_index n = (fnn_index)(bounds[s + 1] - bounds[s]);
    const int64_t *idx = order + bounds[s];
    if (!FN(gather)(n, d0, X, idx, eb->input, s < checked_steps)) return FNN_ENONFINITE;
    if (net->loss == FNN_LOSS_SOFTMAX_CE) {
        const int64_t *labels = (const int64_t *)targets;
        for (fnn_index i = 0; i < n; ++i) eb->labels[i] = labels[idx[i]];
    } else {
        FN(gather)(n, target_width, (const REAL *)targets, idx, eb->targets, 0);
    }

    /* the sum over the regularised parameters in order, as Sequential.l2_penalty */
    double penalty = 0;
    if (net->l2 != 0.0) {
        for (int i = 0; i < net->n_params; ++i) {
            const fnn_param *P = &net->params[i];
            double term;
            if (!P->regularised) continue;
            status = FN(fnn_l2_penalty)(1, P->size, (const REAL *)P->value, P->size, net->l2,
                                        &term);
            if (status != FNN_OK) return status;
            penalty += term;
        }
    }

    const REAL *cur = eb->input;
    for (int l = 0; l < net->n_layers; ++l) {
        int fused = 0;
        status = FN(layer_forward)(net, l, n, cur, lb, &fused);
        if (status != FNN_OK) return status;
        if (fused) ++l;
        cur = lb[l].out;
    }

    double loss = 0;
    int64_t correct = 0;
    REAL *dOut = eb->grad[0];
    status = FN(engine_loss)(net->loss, n, c, cur, eb, dOut, &loss, &correct);
    if (status != FNN_OK) return status;
    step_loss[s] = loss + penalty;
    step_correct[s] = correct;
    if (net->stop_nonfinite && !isfinite(step_loss[s])) return FNN_EDIVERGED;

    int ping = 0;
    for (int l = net->n_layers - 1; l >= first_param; --l) {
        if (FNN_ENGINE_STATIC && net->layers[l].kind == FNN_LAYER_ACTIVATION && l - 1 >= first_param
            && net->layers[l - 1].kind == FNN_LAYER_BATCHNORM) {
            /* the activation's input gradient goes where its own backward would write it,
               the batch norm's where its own would: the buffers of the two steps */
            const REAL *bn_input = l - 1 > 0 ? lb[l - 2].out : eb->input;
            REAL *dIn = l - 1 > first_param ? eb->grad[ping] : NULL;
            status = FN(batchnorm_activation_backward)(net, opt, l - 1, n, bn_input, lb, eb, dOut,
                                                       eb->grad[1 - ping], dIn, lr[s]);
            if (status != FNN_OK) return status;
            if (dIn) dOut = dIn;
            --l;
            continue;
        }
        const REAL *input = l > 0 ? lb[l - 1].out : eb->input;
        REAL *dIn = l > first_param ? eb->grad[1 - ping] : NULL;
        status = FN(layer_backward)(net, opt, l, n, input, lb, eb, dOut, dIn, lr[s]);
        if (status != FNN_OK) return status;
        if (dIn) { dOut = dIn; ping = 1 - ping; }
    }
    if (clipping) {
        /* the gradients of J (L2 term included, as the layer-by-layer path's), clipped
           together, then applied */
        double norm;
        for (int i = 0; i < net->n_params; ++i) {
            const fnn_param *P = &net->params[i];
            if (!P->regularised || net->l2 == 0.0) continue;
            status = FN(fnn_l2_gradient)(1, P->size, eb->grad_ptr[i], P->size,
                                         (const REAL *)P->value, P->size, net->l2,
                                         eb->grad_ptr[i], P->size);
            if (status != FNN_OK) return status;
        }
        status = FN(fnn_clip_grad_norm)(net->n_params, eb->grad_ptr, eb->grad_size,
                                        opt->max_grad_norm, &norm);
        if (status != FNN_OK) return status;
        eb->defer = 0;
        for (int i = 0; i < net->n_params; ++i) {
            status = FN(update)(net, opt, eb, i, lr[s]);
            if (status != FNN_OK) return status;
        }
        eb->defer = 1;
    }
    opt->iterations += 1;
    return FNN_OK;
}

/* The key and the readable name of a network's thread chooser: the element type, the
   thread count, the batch, the loss, the optimiser and each layer's kind and width. */
static uint64_t FN(choice_key)(const fnn_net *net, const fnn_optimizer *opt, char *name,
                               size_t size)
{
    uint64_t h = FNN_CHOICE_KEY_START;
#define FNN_MIX(v) (h = fnn_choice_key_mix(h, (uint64_t)(v)))
    FNN_MIX(sizeof(REAL));
    FNN_MIX(fnn_get_num_threads());
    FNN_MIX(net->batch_max);
    FNN_MIX(net->loss);
    FNN_MIX(opt->kind);
    FNN_MIX(net->n_layers);
    size_t used = (size_t)snprintf(name, size, "%s on %d threads, batch %lld: %lld",
                                   sizeof(REAL) == 4 ? "float32" : "float64", fnn_get_num_threads(),
                                   (long long)net->batch_max, (long long)net->layers[0].in_features);
    static const char kinds[] = "DBADM"; /* dense, batch norm, activation, dropout, maxout */
    for (int l = 0; l < net->n_layers; ++l) {
        const fnn_layer *L = &net->layers[l];
        FNN_MIX(L->kind);
        FNN_MIX(L->out_features);
        FNN_MIX(L->pieces);
        const char kind = L->kind >= 0 && L->kind < 5 ? kinds[L->kind] : '?';
        if (used < size) {
            if (L->kind == FNN_LAYER_DENSE || L->kind == FNN_LAYER_MAXOUT)
                used += (size_t)snprintf(name + used, size - used, " %c%lld", kind,
                                         (long long)L->out_features);
            else
                used += (size_t)snprintf(name + used, size - used, " %c", kind);
        }
    }
#undef FNN_MIX
    return h;
}

int FN(fnn_train)(fnn_net *net, fnn_optimizer *opt, const REAL *X, fnn_index n_samples,
                  const void *targets, fnn_index target_width,
                  const int64_t *order, const int64_t *bounds, const double *lr,
                  fnn_index n_steps, fnn_index checked_steps, void *workspace,
                  size_t workspace_bytes, double *step_loss, int64_t *step_correct)
{
    int status = FN(check_net)(net, target_width);
    if (status != FNN_OK) return status;
    if (net->n_layers > 4096 || n_samples < 1 || n_steps < 0) return FNN_EINVAL;
    /* Every batch fits the workspace, indexes samples that exist and (integer labels)
       has labels the loss can take: refused before the first step changes anything. */
    const fnn_index classes = net->layers[net->n_layers - 1].out_features;
    for (fnn_index s = 0; s < n_steps; ++s) {
        const int64_t rows = bounds[s + 1] - bounds[s];
        if (bounds[s] < 0 || rows < 1 || rows > net->batch_max) return FNN_EINVAL;
        for (int64_t i = bounds[s]; i < bounds[s + 1]; ++i) {
            if (order[i] < 0 || order[i] >= n_samples) return FNN_EINVAL;
            if (net->loss == FNN_LOSS_SOFTMAX_CE) {
                const int64_t label = ((const int64_t *)targets)[order[i]];
                if (label < 0 || label >= classes) return FNN_EINVAL;
            }
        }
    }
    for (int l = 0; l < net->n_layers; ++l)
        if (net->layers[l].kind == FNN_LAYER_BATCHNORM)
            for (fnn_index s = 0; s < n_steps; ++s)
                if (bounds[s + 1] - bounds[s] < 2) return FNN_EINVAL;

    FN(layer_buffers) lb_stack[FNN_STACK_LAYERS];
    FN(layer_buffers) *lb = lb_stack;
    const size_t need = FN(engine_layout)(net, target_width, NULL, NULL, NULL);
    const size_t table = FN(layer_table_bytes)(net);
    if (!workspace || workspace_bytes < need + table) return FNN_EINVAL;
    unsigned char *base = (unsigned char *)workspace;
    base += (FNN_WS_ALIGN - (uintptr_t)base % FNN_WS_ALIGN) % FNN_WS_ALIGN;
    if (table) lb = (FN(layer_buffers) *)(void *)((unsigned char *)workspace + need);
    FN(engine_buffers) eb;
    FN(engine_layout)(net, target_width, base, &eb, lb);
    const int clipping = opt->max_grad_norm > 0;
    if (opt->max_grad_norm < 0 || isnan(opt->max_grad_norm)) return FNN_EINVAL;
    for (int i = 0; i < net->n_params; ++i) {
        eb.grad_ptr[i] = FN(grad_of)(net, &eb, i);
        eb.grad_size[i] = net->params[i].size;
    }
    eb.defer = clipping;

    /* the first layer whose input gradient some parameter needs */
    int first_param = net->n_layers;
    for (int l = 0; l < net->n_layers; ++l)
        if (FN(has_params)(&net->layers[l])) { first_param = l; break; }

    FN(engine_run) run = {net, opt, X, targets, target_width, checked_steps, order, bounds, lr,
                          &eb, lb, first_param, clipping, step_loss, step_correct};
    /* Each step runs on the threads the network's chooser gives it, with static splits
       (the same thread owns the same rows in every kernel of the step); the results do
       not depend on either. */
    char name[FNN_CHOICE_NAME];
    fnn_thread_choice choice;
    fnn_choice_load(FN(choice_key)(net, opt, name, sizeof name), name, &choice);
    for (fnn_index s = 0; s < n_steps; ++s) {
        const int threads = fnn_choice_threads(&choice);
        fnn_step_mode_set(FNN_ENGINE_STATIC, threads);
        const double started = fnn_seconds();
        status = FN(train_step)(&run, s);
        const double ended = fnn_seconds();
        fnn_step_mode_set(0, 0);
        if (status != FNN_OK) break;
        fnn_choice_record(&choice, threads, ended - started, (fnn_index)(bounds[s + 1] - bounds[s]),
                          ended);
    }
    fnn_choice_store(&choice);
    return status;
}

#endif /* REAL */