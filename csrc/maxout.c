/*
 * maxout.c: the max over each unit's linear pieces and the gradient routed back to the
 * winning piece, rows split between threads.
 *
 * S is (n, d k): the k pieces of unit j are the columns j k .. j k + k - 1.
 * H[i, j] is the largest of them and winner[i, j] its index in 0 .. k-1: the first
 * maximum on a tie, and the first NaN if a piece is NaN (H is then NaN), as
 * numpy.argmax picks. The backward pass gives each winning piece the upstream gradient
 * and every other piece 0: a piece that lost does not reach the output.
 *
 * The per-type section is compiled for float and for double: this file includes itself
 * through instantiate.h.
 */
#ifndef REAL /* ---- once: the per-type section, for both types ---- */
#include <string.h>

#include "internal.h"

#define FNN_TEMPLATE "maxout.c"
#include "instantiate.h"

#else /* ---- once per type: REAL, FN(), MATH() ---- */

typedef struct {
    fnn_index d, k;
    const REAL *A;          /* S (forward), dH (backward) */
    fnn_index lda;
    REAL *B;                /* H (forward), dS (backward) */
    fnn_index ldb;
    int64_t *winner;        /* written by the forward pass, read by the backward pass */
    const int64_t *winner_in;
    fnn_index ldw;
    int bad;                /* backward: a winner outside 0 .. k-1 was skipped */
} FN(maxout_job);

/*
 * One row of d units, in blocks of FNN_MAXOUT_BLOCK: each unit starts from its first
 * piece, then every further piece r is compared with the running maxima of the whole
 * block. The loop over the block's units reads its pieces with a constant stride, writes
 * contiguous outputs and has no branch, so it vectorises; a branch on which piece is
 * larger would be mispredicted about every other time on real data. Winners are counted
 * in int32 (vectors as wide as the REAL ones) and widened to int64 at the end.
 */
#define FNN_MAXOUT_BLOCK 256

static void FN(maxout_row)(fnn_index d, fnn_index k, const REAL *restrict s, REAL *restrict h,
                           int64_t *restrict w)
{
    int32_t won[FNN_MAXOUT_BLOCK];
    for (fnn_index j0 = 0; j0 < d; j0 += FNN_MAXOUT_BLOCK) {
        const fnn_index m = FNN_MIN((fnn_index)FNN_MAXOUT_BLOCK, d - j0);
        const REAL *restrict pieces = s + j0 * k;
        REAL *restrict top = h + j0;
        for (fnn_index j = 0; j < m; ++j) {
            top[j] = pieces[j * k];
            won[j] = 0;
        }
        for (fnn_index r = 1; r < k; ++r) {
            const int32_t piece = (int32_t)r;
            for (fnn_index j = 0; j < m; ++j) {
                const REAL x = pieces[j * k + r], t = top[j];
                /* a larger piece wins; a NaN wins over any number, and then nothing beats it */
                const int better = (x > t) | ((x != x) & (t == t));
                top[j] = better ? x : t;
                won[j] = better ? piece : won[j];
            }
        }
        for (fnn_index j = 0; j < m; ++j) w[j0 + j] = won[j];
    }
}

static void FN(maxout_forward_rows)(void *ctx, fnn_index i0, fnn_index i1)
{
    const FN(maxout_job) *job = ctx;
    for (fnn_index i = i0; i < i1; ++i)
        FN(maxout_row)(job->d, job->k, job->A + i * job->lda, job->B + i * job->ldb,
                       job->winner + i * job->ldw);
}

static void FN(maxout_backward_rows)(void *ctx, fnn_index i0, fnn_index i1)
{
    FN(maxout_job) *job = ctx;
    const fnn_index d = job->d, k = job->k;
    int bad = 0;
    for (fnn_index i = i0; i < i1; ++i) {
        const REAL *restrict dh = job->A + i * job->lda;
        REAL *restrict ds = job->B + i * job->ldb;
        const int64_t *restrict w = job->winner_in + i * job->ldw;
        memset(ds, 0, (size_t)(d * k) * sizeof(REAL));
        for (fnn_index j = 0; j < d; ++j) {
            /* never write outside the row, whatever the caller passed */
            if ((uint64_t)w[j] >= (uint64_t)k) {
                bad = 1;
                continue;
            }
            ds[j * k + w[j]] = dh[j];
        }
    }
    if (bad) {
#pragma omp atomic write
        job->bad = 1;
    }
}

static int FN(maxout_threads)(fnn_index n, fnn_index d, fnn_index k)
{
    return fnn_threads_for((double)n * (double)d * (double)k);
}

/* the rows a thread claims at a time: about 16K elements of the (n, d k) side */
#define FNN_MAXOUT_ROWS_PER_CLAIM(d, k) FNN_ROWS_PER_CLAIM((d) * (k))

int FN(fnn_maxout_forward)(fnn_index n, fnn_index d, fnn_index k, const REAL *S, fnn_index lds,
                           REAL *H, fnn_index ldh, int64_t *winner, fnn_index ldw)
{
    /* the winners are counted in int32 */
    if (n < 0 || d < 0 || k < 1 || (d > 0 && k > INT32_MAX)) return FNN_EINVAL;
    FN(maxout_job) job = {d, k, S, lds, H, ldh, winner, NULL, ldw, 0};
    fnn_parallel_for(FN(maxout_threads)(n, d, k), n, FNN_MAXOUT_ROWS_PER_CLAIM(d, k),
                     FN(maxout_forward_rows), &job);
    return FNN_OK;
}

int FN(fnn_maxout_backward)(fnn_index n, fnn_index d, fnn_index k, const REAL *dH,
                            fnn_index lddh, const int64_t *winner, fnn_index ldw, REAL *dS,
                            fnn_index ldds)
{
    if (n < 0 || d < 0 || k < 1) return FNN_EINVAL;
    FN(maxout_job) job = {d, k, dH, lddh, dS, ldds, NULL, winner, ldw, 0};
    fnn_parallel_for(FN(maxout_threads)(n, d, k), n, FNN_MAXOUT_ROWS_PER_CLAIM(d, k),
                     FN(maxout_backward_rows), &job);
    return job.bad ? FNN_EINVAL : FNN_OK;
}

#endif /* REAL */
