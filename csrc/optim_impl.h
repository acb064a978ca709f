/*
 * Optimiser updates, instantiated per type by optim.c (see instantiate.h).
 *
 * Each update is written as torch.optim (and fastnn/optim.py) write it, in the
 * parameter's type, so that the C engine and the NumPy path agree to rounding.
 * Elements are independent: threads take fixed ranges, and the result does not
 * depend on how many there are.
 */

/* g + 2 l2 w for a regularised parameter, g otherwise */
#define FNN_GRAD(i) (reg ? grad[i] + two_l2 * w[i] : grad[i])

static void FN(sgd_update)(const fnn_optimizer *opt, fnn_param *param, const REAL *restrict grad,
                           REAL lr, int reg, REAL two_l2, fnn_index lo, fnn_index hi)
{
    REAL *restrict w = (REAL *)param->value;
    if (opt->momentum == 0.0) {
        for (fnn_index i = lo; i < hi; ++i) w[i] -= lr * FNN_GRAD(i);
        return;
    }
    REAL *restrict buf = (REAL *)param->state[0];
    const REAL mom = (REAL)opt->momentum, keep = (REAL)(1.0 - opt->dampening);
    const int fresh = param->fresh, nesterov = opt->nesterov;
    for (fnn_index i = lo; i < hi; ++i) {
        const REAL g = FNN_GRAD(i);
        const REAL b = fresh ? g : buf[i] * mom + keep * g;
        buf[i] = b;
        w[i] -= lr * (nesterov ? g + mom * b : b);
    }
}

static void FN(adagrad_update)(const fnn_optimizer *opt, fnn_param *param,
                               const REAL *restrict grad, REAL clr, int reg, REAL two_l2,
                               fnn_index lo, fnn_index hi)
{
    REAL *restrict w = (REAL *)param->value;
    REAL *restrict sum = (REAL *)param->state[0];
    const REAL eps = (REAL)opt->eps;
    for (fnn_index i = lo; i < hi; ++i) {
        const REAL g = FNN_GRAD(i);
        sum[i] += g * g;
        w[i] -= clr * (g / (MATH(sqrt)(sum[i]) + eps));
    }
}

static void FN(rmsprop_update)(const fnn_optimizer *opt, fnn_param *param,
                               const REAL *restrict grad, REAL lr, int reg, REAL two_l2,
                               fnn_index lo, fnn_index hi)
{
    REAL *restrict w = (REAL *)param->value;
    REAL *restrict sq = (REAL *)param->state[0];
    REAL *restrict avg_g = (REAL *)param->state[1];
    REAL *restrict buf = (REAL *)param->state[2];
    const REAL alpha = (REAL)opt->alpha, rest = (REAL)1 - alpha;
    const REAL eps = (REAL)opt->eps, mom = (REAL)opt->momentum;
    const int centered = opt->centered, with_momentum = opt->momentum > 0.0;
    for (fnn_index i = lo; i < hi; ++i) {
        const REAL g = FNN_GRAD(i);
        sq[i] = sq[i] * alpha + rest * g * g;
        REAL denom;
        if (centered) {
            avg_g[i] = avg_g[i] * alpha + rest * g;
            denom = MATH(sqrt)(sq[i] - avg_g[i] * avg_g[i]) + eps;
        } else {
            denom = MATH(sqrt)(sq[i]) + eps;
        }
        if (with_momentum) {
            buf[i] = buf[i] * mom + g / denom;
            w[i] -= lr * buf[i];
        } else {
            w[i] -= lr * (g / denom);
        }
    }
}

static void FN(adam_update)(const fnn_optimizer *opt, fnn_param *param, const REAL *restrict grad,
                            REAL step_size, REAL root_correction, int reg, REAL two_l2,
                            fnn_index lo, fnn_index hi)
{
    REAL *restrict w = (REAL *)param->value;
    REAL *restrict m = (REAL *)param->state[0];
    REAL *restrict v = (REAL *)param->state[1];
    const REAL b1 = (REAL)opt->beta1, b2 = (REAL)opt->beta2, eps = (REAL)opt->eps;
    const REAL r1 = (REAL)1 - b1, r2 = (REAL)1 - b2;
    for (fnn_index i = lo; i < hi; ++i) {
        const REAL g = FNN_GRAD(i);
        m[i] = m[i] * b1 + r1 * g;
        v[i] = v[i] * b2 + r2 * g * g;
        const REAL denom = MATH(sqrt)(v[i]) / root_correction + eps;
        w[i] -= step_size * (m[i] / denom);
    }
}

#undef FNN_GRAD

/* Elements a thread claims at a time; each element's update is independent of who runs it. */
#define FNN_UPDATE_PIECE 16384

typedef struct {
    const fnn_optimizer *opt;
    fnn_param *param;
    const REAL *grad;
    REAL a, b, two_l2;
    int reg;
} FN(update_job);

static void FN(update_range)(void *ctx, fnn_index lo, fnn_index hi)
{
    const FN(update_job) *j = ctx;
    switch (j->opt->kind) {
    case FNN_OPT_SGD: FN(sgd_update)(j->opt, j->param, j->grad, j->a, j->reg, j->two_l2, lo, hi); break;
    case FNN_OPT_ADAGRAD: FN(adagrad_update)(j->opt, j->param, j->grad, j->a, j->reg, j->two_l2, lo, hi); break;
    case FNN_OPT_RMSPROP: FN(rmsprop_update)(j->opt, j->param, j->grad, j->a, j->reg, j->two_l2, lo, hi); break;
    default: FN(adam_update)(j->opt, j->param, j->grad, j->a, j->b, j->reg, j->two_l2, lo, hi); break;
    }
}

int FN(fnn_optimizer_update)(const fnn_optimizer *opt, fnn_param *param, const REAL *grad,
                             double lr, double l2)
{
    if (param->size < 0 || !param->value) return FNN_EINVAL;
    const int reg = param->regularised && l2 != 0.0;
    const REAL two_l2 = (REAL)(2.0 * l2);
    const fnn_index n = param->size;
    const double t = (double)opt->iterations; /* updates before this one */
    /* scalars computed once, in double, then rounded to REAL as optim.py does */
    REAL a = 0, b = 0;
    switch (opt->kind) {
    case FNN_OPT_SGD:
        if (opt->momentum != 0.0 && !param->state[0]) return FNN_EINVAL;
        a = (REAL)lr;
        break;
    case FNN_OPT_ADAGRAD:
        if (!param->state[0]) return FNN_EINVAL;
        a = (REAL)(lr / (1.0 + t * opt->lr_decay));
        break;
    case FNN_OPT_RMSPROP:
        if (!param->state[0] || (opt->centered && !param->state[1])
            || (opt->momentum > 0.0 && !param->state[2]))
            return FNN_EINVAL;
        a = (REAL)lr;
        break;
    case FNN_OPT_ADAM:
        if (!param->state[0] || !param->state[1]) return FNN_EINVAL;
        a = (REAL)(lr / (1.0 - pow(opt->beta1, t + 1.0)));
        b = (REAL)sqrt(1.0 - pow(opt->beta2, t + 1.0));
        break;
    default:
        return FNN_EINVAL;
    }
    FN(update_job) job = {opt, param, grad, a, b, two_l2, reg};
    fnn_parallel_for(n > FNN_UPDATE_PIECE ? fnn_threads_for((double)n * 4.0) : 1, n, FNN_UPDATE_PIECE,
                     FN(update_range), &job);
    param->fresh = 0;
    return FNN_OK;
}
