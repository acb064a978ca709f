/*
 * Softmax cross-entropy, instantiated per type by instantiate.h and per SIMD
 * level by loss.c (generic, plus the entry point), loss_avx2.c and
 * loss_avx512.c.
 *
 * One row at a time, in L1: the maximum, then e = exp(s - max) written to dS,
 * their sum, and the scaling of dS. Sums and maxima run in LOSS_LANES fixed
 * lanes (combined in a fixed order), so they vectorise without reassociating
 * differently on different levels or thread counts.
 */
#include "vmath.h"

#ifndef LOSS_LANES
#define LOSS_LANES 16
#endif

/* Classes up to this many take the narrow path: LOSS_LANES rows side by side. */
#ifndef LOSS_NARROW_CLASSES
#define LOSS_NARROW_CLASSES 16
#endif
#if LOSS_NARROW_CLASSES < 10
#error "softmax_ce_rows sends 10 classes to the narrow path: LOSS_NARROW_CLASSES must be >= 10"
#endif

/*
 * A few classes (10, 2) leave a row too short for vectors, so LOSS_LANES rows
 * are transposed into a small tile and run side by side: every loop below runs
 * over the rows of the tile and vectorises. Each row's arithmetic is the same
 * sequence as in the wide path (sums in class order), so results do not depend
 * on which rows share a tile.
 */
static inline __attribute__((always_inline)) void FN(softmax_ce_narrow)(
    fnn_index m, fnn_index c, const REAL *restrict S, fnn_index lds, const int64_t *restrict y,
    REAL *restrict dS, fnn_index ldds, REAL *restrict row_loss, REAL inv_n)
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
        REAL scale[LOSS_LANES], log_total[LOSS_LANES];
        for (int k = 0; k < LOSS_LANES; ++k) {
            scale[k] = inv_n / total[k];
            log_total[k] = FN(vm_log)(total[k]);
        }
        for (int k = 0; k < rows; ++k) {
            const fnn_index i = i0 + k, label = (fnn_index)y[i];
            REAL *restrict ds = dS + i * ldds;
            for (fnn_index j = 0; j < c; ++j) ds[j] = tile[j][k] * scale[k];
            ds[label] -= inv_n;
            row_loss[i] = log_total[k] - (S[i * lds + label] - top[k]);
        }
    }
}

static void FN(softmax_ce_rows)(fnn_index m, fnn_index c, const REAL *restrict S, fnn_index lds,
                                const int64_t *restrict y, REAL *restrict dS, fnn_index ldds,
                                REAL *restrict row_loss, REAL inv_n)
{
    /* the commonest counts, two (a binary problem through softmax, as the XOR network) and
       ten (digits, MNIST, CIFAR-10), as constants: the loops over the classes unroll and
       the tile's transposes lose their run-time trip counts */
    if (c == 2) {
        FN(softmax_ce_narrow)(m, 2, S, lds, y, dS, ldds, row_loss, inv_n);
        return;
    }
    if (c == 10) {
        FN(softmax_ce_narrow)(m, 10, S, lds, y, dS, ldds, row_loss, inv_n);
        return;
    }
    if (c <= LOSS_NARROW_CLASSES) {
        FN(softmax_ce_narrow)(m, c, S, lds, y, dS, ldds, row_loss, inv_n);
        return;
    }
    for (fnn_index i = 0; i < m; ++i) {
        const REAL *restrict s = S + i * lds;
        REAL *restrict ds = dS + i * ldds;
        const fnn_index full = c - c % LOSS_LANES;

        /* shift by the row maximum: every exponent is <= 0, so 1e30 is harmless */
        REAL lane[LOSS_LANES];
        for (int k = 0; k < LOSS_LANES; ++k) lane[k] = s[0];
        for (fnn_index j = 0; j < full; j += LOSS_LANES)
            for (int k = 0; k < LOSS_LANES; ++k) lane[k] = FN(vm_select)(s[j + k] > lane[k], s[j + k], lane[k]);
        REAL top = s[0];
        for (int k = 0; k < LOSS_LANES; ++k) top = lane[k] > top ? lane[k] : top;
        for (fnn_index j = full; j < c; ++j) top = s[j] > top ? s[j] : top;

        for (fnn_index j = 0; j < c; ++j) ds[j] = FN(vm_exp)(s[j] - top);

        for (int k = 0; k < LOSS_LANES; ++k) lane[k] = 0;
        for (fnn_index j = 0; j < full; j += LOSS_LANES)
            for (int k = 0; k < LOSS_LANES; ++k) lane[k] += ds[j + k];
        REAL total = 0;
        for (fnn_index j = full; j < c; ++j) total += ds[j];
        for (int k = 0; k < LOSS_LANES; ++k) total += lane[k];

        const REAL scale = inv_n / total;
        for (fnn_index j = 0; j < c; ++j) ds[j] *= scale;
        const fnn_index label = (fnn_index)y[i];
        ds[label] -= inv_n;
        /* -log p[y] = log(sum e) - (s[y] - max) */
        row_loss[i] = FN(vm_log)(total) - (s[label] - top);
    }
}

#ifdef FNN_LOSS_DRIVER
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

typedef struct {
    const fnn_loss_arch *arch;
    fnn_index c;
    const REAL *S;
    fnn_index lds;
    const int64_t *y;
    REAL *dS;
    fnn_index ldds;
    REAL *row_loss, inv_n;
} FN(loss_job);

static void FN(loss_range)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(loss_job) *j = ctx;
    FN(j->arch->rows)(i1 - i0, j->c, j->S + i0 * j->lds, j->lds, j->y + i0, j->dS + i0 * j->ldds,
                      j->ldds, j->row_loss + i0, j->inv_n);
}

int FN(fnn_softmax_cross_entropy)(fnn_index n, fnn_index c, const REAL *S, fnn_index lds,
                                  const int64_t *y, REAL *dS, fnn_index ldds,
                                  REAL *row_loss, REAL *loss)
{
    if (n < 1 || c < 1) return FNN_EINVAL;
    /* A bad label would index outside the row: refuse it here, whatever the caller checked. */
    for (fnn_index i = 0; i < n; ++i)
        if (y[i] < 0 || y[i] >= c) return FNN_EINVAL;
    const fnn_loss_arch *arch = fnn_loss_kernels();
    const REAL inv_n = (REAL)1 / (REAL)n;
    FN(loss_job) job = {arch, c, S, lds, y, dS, ldds, row_loss, inv_n};
    fnn_parallel_for(fnn_threads_for((double)n * (double)c * 8.0), n, FNN_ROWS_PER_CLAIM(c),
                     FN(loss_range), &job);
    *loss = FN(pairwise_sum)(row_loss, n) / (REAL)n;
    return FNN_OK;
}
#endif
