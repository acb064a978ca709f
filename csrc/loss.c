/*
 * loss.c: the losses with their gradients, and the softmax.
 *
 *   softmax cross-entropy, integer labels   fnn_softmax_cross_entropy
 *   softmax cross-entropy, soft targets     fnn_softmax_cross_entropy_soft
 *   sigmoid binary cross-entropy            fnn_sigmoid_binary_cross_entropy
 *   mean squared error (1/2 ||y - o||^2)    fnn_mse
 *   softmax probabilities                   fnn_softmax
 *
 * One row at a time, in L1. The softmax family takes the row maximum, writes
 * e = exp(s - max) (to the output row, or to a tile), sums it and finishes the
 * row its own way. Sums and maxima run in LOSS_LANES fixed lanes (combined in
 * a fixed order), so they vectorise without reassociating differently on
 * different levels or thread counts. Each loss writes its per-sample losses to
 * row_loss; the entry point sums them in a fixed pairwise order, so the mean
 * is the same for any thread count.
 *
 * setup.py compiles this file once per SIMD level (simd_level.h): each compile fills
 * the table LEVEL(fnn_loss) with its row kernels, and the generic one also holds the
 * entry points, which use the table of the level in use. The per-type section is
 * compiled for float and for double: this file includes itself through instantiate.h.
 */
#ifndef REAL /* ---- once per level: the per-type section, for both types ---- */
#include <math.h>

#include "simd_level.h"

FNN_TARGET_BEGIN
#define FNN_TEMPLATE "loss.c"
#include "instantiate.h"
FNN_TARGET_END

#else /* ---- once per type: REAL, FN(), MATH() ---- */

#include "vmath.h"

#ifndef LOSS_LANES
#define LOSS_LANES 16
#endif

/* Classes up to this many take the narrow path: LOSS_LANES rows side by side. */
#ifndef LOSS_NARROW_CLASSES
#define LOSS_NARROW_CLASSES 16
#endif
#if LOSS_NARROW_CLASSES < 10
#error "the softmax rows send 10 classes to the narrow path: LOSS_NARROW_CLASSES must be >= 10"
#endif

#define LOSS_INLINE static inline __attribute__((always_inline))

/* ---- the softmax of a row, shared by the softmax family ---- */

/* max_j s_j; a NaN never wins a comparison, and reaches the row through exp(NaN - max) */
LOSS_INLINE REAL FN(row_max)(fnn_index c, const REAL *restrict s)
{
    const fnn_index full = c - c % LOSS_LANES;
    REAL lane[LOSS_LANES];
    for (int k = 0; k < LOSS_LANES; ++k) lane[k] = s[0];
    for (fnn_index j = 0; j < full; j += LOSS_LANES)
        for (int k = 0; k < LOSS_LANES; ++k) lane[k] = FN(vm_select)(s[j + k] > lane[k], s[j + k], lane[k]);
    REAL top = s[0];
    for (int k = 0; k < LOSS_LANES; ++k) top = lane[k] > top ? lane[k] : top;
    for (fnn_index j = full; j < c; ++j) top = s[j] > top ? s[j] : top;
    return top;
}

/* sum_j x_j in the fixed lanes */
LOSS_INLINE REAL FN(row_sum)(fnn_index c, const REAL *restrict x)
{
    const fnn_index full = c - c % LOSS_LANES;
    REAL lane[LOSS_LANES];
    for (int k = 0; k < LOSS_LANES; ++k) lane[k] = 0;
    for (fnn_index j = 0; j < full; j += LOSS_LANES)
        for (int k = 0; k < LOSS_LANES; ++k) lane[k] += x[j + k];
    REAL total = 0;
    for (fnn_index j = full; j < c; ++j) total += x[j];
    for (int k = 0; k < LOSS_LANES; ++k) total += lane[k];
    return total;
}

/* e_j = exp(s_j - top) for a whole row; shifted by the maximum, every exponent is
   <= 0, so logits of any size (1e30 included) give finite results */
LOSS_INLINE void FN(row_exp)(fnn_index c, const REAL *restrict s, REAL top, REAL *restrict e)
{
    for (fnn_index j = 0; j < c; ++j) e[j] = FN(vm_exp)(s[j] - top);
}

/* What a softmax row computes: the gradient of the cross-entropy against a label or
   against class probabilities, or the probabilities themselves. */
#ifndef LOSS_LABELS
#define LOSS_LABELS 0
#define LOSS_SOFT 1
#define LOSS_PROBA 2
#endif

/*
 * A few classes (10, 2) leave a row too short for vectors, so LOSS_LANES rows
 * are transposed into a small tile and run side by side: every loop over the
 * tile runs over its rows and vectorises. Each row's arithmetic is the same
 * sequence as in the wide path (maxima and sums in class order), so results do
 * not depend on which rows share a tile. `kind` is a constant at every call, so
 * each caller gets only its own finishing step.
 */
LOSS_INLINE void FN(softmax_narrow)(int kind, fnn_index m, fnn_index c, const REAL *restrict S,
                                    fnn_index lds, const int64_t *restrict labels,
                                    const REAL *restrict Y, fnn_index ldy, REAL *restrict out,
                                    fnn_index ldo, REAL *restrict row_loss, REAL inv_n)
{
    for (fnn_index i0 = 0; i0 < m; i0 += LOSS_LANES) {
        const int rows = (int)FNN_MIN((fnn_index)LOSS_LANES, m - i0);
        REAL tile[LOSS_NARROW_CLASSES][LOSS_LANES], top[LOSS_LANES], total[LOSS_LANES];
        for (fnn_index j = 0; j < c; ++j) {
            for (int k = 0; k < rows; ++k) tile[j][k] = S[(i0 + k) * lds + j];
            for (int k = rows; k < LOSS_LANES; ++k) tile[j][k] = 0;
        }
        for (int k = 0; k < LOSS_LANES; ++k) top[k] = tile[0][k];
        for (fnn_index j = 1; j < c; ++j)
            for (int k = 0; k < LOSS_LANES; ++k) top[k] = FN(vm_select)(tile[j][k] > top[k], tile[j][k], top[k]);
        for (int k = 0; k < LOSS_LANES; ++k) total[k] = 0;
        for (fnn_index j = 0; j < c; ++j)
            for (int k = 0; k < LOSS_LANES; ++k) {
                tile[j][k] = FN(vm_exp)(tile[j][k] - top[k]);
                total[k] += tile[j][k];
            }
        if (kind == LOSS_PROBA) {
            REAL inv_total[LOSS_LANES];
            for (int k = 0; k < LOSS_LANES; ++k) inv_total[k] = (REAL)1 / total[k];
            for (int k = 0; k < rows; ++k) {
                REAL *restrict p = out + (i0 + k) * ldo;
                for (fnn_index j = 0; j < c; ++j) p[j] = tile[j][k] * inv_total[k];
            }
            continue;
        }
        REAL scale[LOSS_LANES], log_total[LOSS_LANES];
        for (int k = 0; k < LOSS_LANES; ++k) {
            scale[k] = inv_n / total[k];
            log_total[k] = FN(vm_log)(total[k]);
        }
        for (int k = 0; k < rows; ++k) {
            const fnn_index i = i0 + k;
            const REAL *restrict s = S + i * lds;
            REAL *restrict ds = out + i * ldo;
            if (kind == LOSS_LABELS) {
                /* -log p[y] = log(sum e) - (s[y] - max); dS = (p - onehot(y)) / n */
                const fnn_index label = (fnn_index)labels[i];
                for (fnn_index j = 0; j < c; ++j) ds[j] = tile[j][k] * scale[k];
                ds[label] -= inv_n;
                row_loss[i] = log_total[k] - (s[label] - top[k]);
            } else {
                /* -sum_j y_j log p_j, a sum of terms >= 0; dS = (p sum_j y_j - y) / n */
                const REAL *restrict y = Y + i * ldy;
                REAL y_sum = 0, loss = 0;
                for (fnn_index j = 0; j < c; ++j) {
                    y_sum += y[j];
                    loss += y[j] * (log_total[k] - (s[j] - top[k]));
                }
                const REAL p_scale = y_sum / total[k];
                for (fnn_index j = 0; j < c; ++j) ds[j] = (tile[j][k] * p_scale - y[j]) * inv_n;
                row_loss[i] = loss;
            }
        }
    }
}

/* ---- softmax cross-entropy, integer labels ----
 * row loss -log p[y] = log(sum e) - (s[y] - max); dS = (p - onehot(y)) / n */

static void FN(softmax_ce_rows)(fnn_index m, fnn_index c, const REAL *restrict S, fnn_index lds,
                                const int64_t *restrict y, REAL *restrict dS, fnn_index ldds,
                                REAL *restrict row_loss, REAL inv_n)
{
    /* the commonest counts, two (a binary problem through softmax, as the XOR network) and
       ten (digits, MNIST, CIFAR-10), as constants: the loops over the classes unroll and
       the tile's transposes lose their run-time trip counts */
    if (c == 2) {
        FN(softmax_narrow)(LOSS_LABELS, m, 2, S, lds, y, NULL, 0, dS, ldds, row_loss, inv_n);
        return;
    }
    if (c == 10) {
        FN(softmax_narrow)(LOSS_LABELS, m, 10, S, lds, y, NULL, 0, dS, ldds, row_loss, inv_n);
        return;
    }
    if (c <= LOSS_NARROW_CLASSES) {
        FN(softmax_narrow)(LOSS_LABELS, m, c, S, lds, y, NULL, 0, dS, ldds, row_loss, inv_n);
        return;
    }
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *restrict s = S + i * lds;
        REAL *restrict ds = dS + i * ldds;
        const REAL top = FN(row_max)(c, s);
        FN(row_exp)(c, s, top, ds);
        const REAL total = FN(row_sum)(c, ds);
        const REAL scale = inv_n / total;
        for (fnn_index j = 0; j < c; ++j) ds[j] *= scale;
        const fnn_index label = (fnn_index)y[i];
        ds[label] -= inv_n;
        row_loss[i] = FN(vm_log)(total) - (s[label] - top);
    }
}

/* ---- softmax cross-entropy, soft targets ----
 * with log p_j = (s_j - max) - log(sum e), row loss -sum_j y_j log p_j, a sum of terms
 * >= 0 (no cancellation); dS = (p sum_j y_j - y) / n. */

static void FN(softmax_ce_soft_rows)(fnn_index m, fnn_index c, const REAL *restrict S,
                                     fnn_index lds, const REAL *restrict Y, fnn_index ldy,
                                     REAL *restrict dS, fnn_index ldds, REAL *restrict row_loss,
                                     REAL inv_n)
{
    if (c == 2) {
        FN(softmax_narrow)(LOSS_SOFT, m, 2, S, lds, NULL, Y, ldy, dS, ldds, row_loss, inv_n);
        return;
    }
    if (c == 10) {
        FN(softmax_narrow)(LOSS_SOFT, m, 10, S, lds, NULL, Y, ldy, dS, ldds, row_loss, inv_n);
        return;
    }
    if (c <= LOSS_NARROW_CLASSES) {
        FN(softmax_narrow)(LOSS_SOFT, m, c, S, lds, NULL, Y, ldy, dS, ldds, row_loss, inv_n);
        return;
    }
    const fnn_index full = c - c % LOSS_LANES;
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *restrict s = S + i * lds, *restrict y = Y + i * ldy;
        REAL *restrict ds = dS + i * ldds;
        const REAL top = FN(row_max)(c, s);
        FN(row_exp)(c, s, top, ds);
        const REAL total = FN(row_sum)(c, ds);
        const REAL log_total = FN(vm_log)(total);
        REAL lane[LOSS_LANES];
        for (int k = 0; k < LOSS_LANES; ++k) lane[k] = 0;
        for (fnn_index j = 0; j < full; j += LOSS_LANES)
            for (int k = 0; k < LOSS_LANES; ++k)
                lane[k] += y[j + k] * (log_total - (s[j + k] - top));
        REAL loss = 0;
        for (fnn_index j = full; j < c; ++j) loss += y[j] * (log_total - (s[j] - top));
        for (int k = 0; k < LOSS_LANES; ++k) loss += lane[k];
        const REAL scale = FN(row_sum)(c, y) / total;
        for (fnn_index j = 0; j < c; ++j) ds[j] = (ds[j] * scale - y[j]) * inv_n;
        row_loss[i] = loss;
    }
}

/* ---- softmax probabilities: p = e / sum e ---- */

static void FN(softmax_rows)(fnn_index m, fnn_index c, const REAL *restrict S, fnn_index lds,
                             REAL *restrict P, fnn_index ldp)
{
    if (c == 2) {
        FN(softmax_narrow)(LOSS_PROBA, m, 2, S, lds, NULL, NULL, 0, P, ldp, NULL, 0);
        return;
    }
    if (c == 10) {
        FN(softmax_narrow)(LOSS_PROBA, m, 10, S, lds, NULL, NULL, 0, P, ldp, NULL, 0);
        return;
    }
    if (c <= LOSS_NARROW_CLASSES) {
        FN(softmax_narrow)(LOSS_PROBA, m, c, S, lds, NULL, NULL, 0, P, ldp, NULL, 0);
        return;
    }
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *restrict s = S + i * lds;
        REAL *restrict p = P + i * ldp;
        FN(row_exp)(c, s, FN(row_max)(c, s), p);
        const REAL inv_total = (REAL)1 / FN(row_sum)(c, p);
        for (fnn_index j = 0; j < c; ++j) p[j] *= inv_total;
    }
}

/* ---- sigmoid binary cross-entropy, one term per output unit ----
 * -[y log sigmoid(s) + (1 - y) log(1 - sigmoid(s))] = max(s, 0) - s y + log(1 + e^-|s|):
 * e^-|s| <= 1 never overflows, so any logit gives a finite loss. dS = (sigmoid(s) - y) / n.
 * A row's loss sums its k terms in column order. With one unit the rows run side by side
 * (one element each), so that loop vectorises. */

static inline REAL FN(sigmoid_bce_term)(REAL s, REAL t, REAL inv_n, REAL *grad)
{
    const REAL e = FN(vm_exp_nonpositive)(-MATH(fabs)(s));
    /* log1p(e) as log(u) e / (u - 1) with u = 1 + e: the rounding of 1 + e cancels
       between log(u) and u - 1; u == 1 means e is below half an ulp of 1, where
       log1p(e) rounds to e */
    const REAL u = (REAL)1 + e;
    const REAL log1p_e = FN(vm_select)(u == (REAL)1, e, FN(vm_log)(u) * (e / (u - (REAL)1)));
    *grad = (FN(vm_sigmoid)(s) - t) * inv_n;
    return FN(vm_select)(s > 0, s, (REAL)0) - s * t + log1p_e;
}

static void FN(sigmoid_bce_rows)(fnn_index m, fnn_index k, const REAL *restrict S,
                                 fnn_index lds, const REAL *restrict Y, fnn_index ldy,
                                 REAL *restrict dS, fnn_index ldds, REAL *restrict row_loss,
                                 REAL inv_n)
{
    if (k == 1) {
        for (fnn_index i = 0; i < m; ++i)
            row_loss[i] = FN(sigmoid_bce_term)(S[i * lds], Y[i * ldy], inv_n, &dS[i * ldds]);
        return;
    }
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *restrict s = S + i * lds, *restrict y = Y + i * ldy;
        REAL *restrict g = dS + i * ldds;
        REAL sum = 0;
        for (fnn_index j = 0; j < k; ++j) sum += FN(sigmoid_bce_term)(s[j], y[j], inv_n, &g[j]);
        row_loss[i] = sum;
    }
}

/* ---- mean squared error: row loss 1/2 sum_j (o_j - y_j)^2, dO = (O - Y) / n ---- */

static void FN(mse_rows)(fnn_index m, fnn_index d, const REAL *restrict O, fnn_index ldo,
                         const REAL *restrict Y, fnn_index ldy, REAL *restrict dO,
                         fnn_index lddo, REAL *restrict row_loss, REAL inv_n)
{
    const fnn_index full = d - d % LOSS_LANES;
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *restrict o = O + i * ldo, *restrict y = Y + i * ldy;
        REAL *restrict g = dO + i * lddo;
        REAL lane[LOSS_LANES];
        for (int k = 0; k < LOSS_LANES; ++k) lane[k] = 0;
        for (fnn_index j = 0; j < full; j += LOSS_LANES)
            for (int k = 0; k < LOSS_LANES; ++k) {
                const REAL diff = o[j + k] - y[j + k];
                lane[k] += diff * diff;
                g[j + k] = diff * inv_n;
            }
        REAL sum = 0;
        for (fnn_index j = full; j < d; ++j) {
            const REAL diff = o[j] - y[j];
            sum += diff * diff;
            g[j] = diff * inv_n;
        }
        for (int k = 0; k < LOSS_LANES; ++k) sum += lane[k];
        row_loss[i] = (REAL)0.5 * sum;
    }
}

#if FNN_LEVEL == FNN_LEVEL_GENERIC
/* The public entry points (in the generic compile): they pick the level's table. */

/* Sum in a fixed pairwise order: accurate, and the same for any thread count. */
static REAL FN(pairwise_sum)(const REAL *x, fnn_index n)
{
    if (n <= 16) {
        REAL s = 0;
        for (fnn_index i = 0; i < n; ++i) s += x[i];
        return s;
    }
    const fnn_index half = n / 2;
    return FN(pairwise_sum)(x, half) + FN(pairwise_sum)(x + half, n - half);
}

/* One call's arguments, read by the row ranges each thread runs. */
typedef struct {
    const fnn_loss_arch *arch;
    fnn_index c;
    const REAL *S;
    fnn_index lds;
    const int64_t *labels;
    const REAL *Y;
    fnn_index ldy;
    REAL *out;             /* dS, dO or P */
    fnn_index ldo;
    REAL *row_loss, inv_n;
} FN(loss_job);

static void FN(softmax_ce_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(loss_job) *j = ctx;
    FN(j->arch->softmax_ce_rows)(i1 - i0, j->c, j->S + i0 * j->lds, j->lds, j->labels + i0,
                                 j->out + i0 * j->ldo, j->ldo, j->row_loss + i0, j->inv_n);
}

static void FN(softmax_ce_soft_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(loss_job) *j = ctx;
    FN(j->arch->softmax_ce_soft_rows)(i1 - i0, j->c, j->S + i0 * j->lds, j->lds,
                                      j->Y + i0 * j->ldy, j->ldy, j->out + i0 * j->ldo, j->ldo,
                                      j->row_loss + i0, j->inv_n);
}

static void FN(sigmoid_bce_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(loss_job) *j = ctx;
    FN(j->arch->sigmoid_bce_rows)(i1 - i0, j->c, j->S + i0 * j->lds, j->lds, j->Y + i0 * j->ldy,
                                  j->ldy,
                                  j->out + i0 * j->ldo, j->ldo, j->row_loss + i0, j->inv_n);
}

static void FN(mse_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(loss_job) *j = ctx;
    FN(j->arch->mse_rows)(i1 - i0, j->c, j->S + i0 * j->lds, j->lds, j->Y + i0 * j->ldy, j->ldy,
                          j->out + i0 * j->ldo, j->ldo, j->row_loss + i0, j->inv_n);
}

static void FN(softmax_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(loss_job) *j = ctx;
    FN(j->arch->softmax_rows)(i1 - i0, j->c, j->S + i0 * j->lds, j->lds, j->out + i0 * j->ldo,
                              j->ldo);
}

/* Rows split between threads (`work` element-operations in all, `piece` rows a claim),
   then the mean of the per-sample losses. */
static REAL FN(mean_loss)(FN(loss_job) *job, fnn_index n, double work, fnn_index piece,
                          fnn_range_body body)
{
    fnn_parallel_for(fnn_threads_for(work), n, piece, body, job);
    return FN(pairwise_sum)(job->row_loss, n) / (REAL)n;
}

int FN(fnn_softmax_cross_entropy)(fnn_index n, fnn_index c, const REAL *S, fnn_index lds,
                                  const int64_t *y, REAL *dS, fnn_index ldds,
                                  REAL *row_loss, REAL *loss)
{
    if (n < 1 || c < 1) return FNN_EINVAL;
    /* A bad label would index outside the row: refuse it here, whatever the caller checked. */
    for (fnn_index i = 0; i < n; ++i)
        if (y[i] < 0 || y[i] >= c) return FNN_EINVAL;
    FN(loss_job) job = {fnn_loss_kernels(), c, S, lds, y, NULL, 0, dS, ldds, row_loss,
                        (REAL)1 / (REAL)n};
    *loss = FN(mean_loss)(&job, n, (double)n * (double)c * 8.0, FNN_ROWS_PER_CLAIM(c),
                          FN(softmax_ce_range));
    return FNN_OK;
}

int FN(fnn_softmax_cross_entropy_soft)(fnn_index n, fnn_index c, const REAL *S, fnn_index lds,
                                       const REAL *Y, fnn_index ldy, REAL *dS, fnn_index ldds,
                                       REAL *row_loss, REAL *loss)
{
    if (n < 1 || c < 1) return FNN_EINVAL;
    FN(loss_job) job = {fnn_loss_kernels(), c, S, lds, NULL, Y, ldy, dS, ldds, row_loss,
                        (REAL)1 / (REAL)n};
    *loss = FN(mean_loss)(&job, n, (double)n * (double)c * 10.0, FNN_ROWS_PER_CLAIM(c),
                          FN(softmax_ce_soft_range));
    return FNN_OK;
}

/* a term of the binary loss costs about as much as 8 elements of the softmax (an exp,
   a log, a sigmoid): claims sized by that keep a claim's work near the others' */
#define LOSS_BCE_ROW_COST 8

int FN(fnn_sigmoid_binary_cross_entropy)(fnn_index n, fnn_index k, const REAL *S,
                                         fnn_index lds, const REAL *Y, fnn_index ldy, REAL *dS,
                                         fnn_index ldds, REAL *row_loss, REAL *loss)
{
    if (n < 1 || k < 1) return FNN_EINVAL;
    FN(loss_job) job = {fnn_loss_kernels(), k, S, lds, NULL, Y, ldy, dS, ldds, row_loss,
                        (REAL)1 / (REAL)n};
    const fnn_index row_cost = LOSS_BCE_ROW_COST * k;
    *loss = FN(mean_loss)(&job, n, (double)n * (double)row_cost * 8.0,
                          FNN_ROWS_PER_CLAIM(row_cost), FN(sigmoid_bce_range));
    return FNN_OK;
}

int FN(fnn_mse)(fnn_index n, fnn_index d, const REAL *O, fnn_index ldo, const REAL *Y,
                fnn_index ldy, REAL *dO, fnn_index lddo, REAL *row_loss, REAL *loss)
{
    if (n < 1 || d < 1) return FNN_EINVAL;
    FN(loss_job) job = {fnn_loss_kernels(), d, O, ldo, NULL, Y, ldy, dO, lddo, row_loss,
                        (REAL)1 / (REAL)n};
    *loss = FN(mean_loss)(&job, n, (double)n * (double)d * 2.0, FNN_ROWS_PER_CLAIM(d),
                          FN(mse_range));
    return FNN_OK;
}

int FN(fnn_softmax)(fnn_index n, fnn_index c, const REAL *S, fnn_index lds, REAL *P,
                    fnn_index ldp)
{
    if (n < 0 || c < 1) return FNN_EINVAL;
    FN(loss_job) job = {fnn_loss_kernels(), c, S, lds, NULL, NULL, 0, P, ldp, NULL, 0};
    fnn_parallel_for(fnn_threads_for((double)n * (double)c * 8.0), n, FNN_ROWS_PER_CLAIM(c),
                     FN(softmax_range), &job);
    return FNN_OK;
}
#endif

#endif /* REAL */

#ifndef REAL /* ---- once per level: the table of this level's kernels ---- */

const fnn_loss_arch LEVEL(fnn_loss) = {
    .softmax_ce_rows_f32 = softmax_ce_rows_f32,
    .softmax_ce_rows_f64 = softmax_ce_rows_f64,
    .softmax_ce_soft_rows_f32 = softmax_ce_soft_rows_f32,
    .softmax_ce_soft_rows_f64 = softmax_ce_soft_rows_f64,
    .sigmoid_bce_rows_f32 = sigmoid_bce_rows_f32,
    .sigmoid_bce_rows_f64 = sigmoid_bce_rows_f64,
    .mse_rows_f32 = mse_rows_f32,
    .mse_rows_f64 = mse_rows_f64,
    .softmax_rows_f32 = softmax_rows_f32,
    .softmax_rows_f64 = softmax_rows_f64,
};

#if FNN_LEVEL == FNN_LEVEL_GENERIC
const fnn_loss_arch *fnn_loss_kernels(void)
{
    return FNN_ARCH_FOR_LEVEL(fnn_loss_generic, fnn_loss_avx2, fnn_loss_avx512);
}
#endif

#endif /* REAL */
