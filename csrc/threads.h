/*
 * threads.h: the thread-team runtime (threads.c): how many threads a job gets,
 * fnn_parallel_for, and the claiming and waiting that teams share work by.
 * Included by internal.h; not part of the ABI.
 */
#ifndef FASTNN_THREADS_H
#define FASTNN_THREADS_H

#include "fastnn.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/*
 * Threads for a job of `work` element-operations: one thread below the point
 * where starting a team costs more than it saves, and one while the solo rule
 * (fnn_team_report) holds. Only the speed depends on this choice; every kernel's
 * result is independent of it.
 */
int fnn_threads_for(double work);

/* Below this many element-operations a kernel runs on one thread. */
#define FNN_PARALLEL_MIN_WORK 32768.0

/* Multiply-adds of a GEMM that count as one element-operation: a vectorised
   multiply-add costs a small fraction of an elementwise kernel's load, math and
   store. With this ratio a product of about 2e5 multiply-adds (32x64->100) runs on
   one thread, and one of 6.4e5 (64x100->100), which a second thread speeds up, on two. */
#define FNN_GEMM_MACS_PER_WORK 16.0

/* inside a parallel region: how many threads, and which one this is */
static inline int fnn_team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

static inline int fnn_team_rank(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/*
 * The solo rule. After a parallel job of `pieces` pieces of work, of which the team's
 * helpers (every thread but the caller) did `helped`: when the helpers or the caller
 * did less than a fair share's 1 / FNN_SOLO_LATE_SHARE, the team did not run side by
 * side (the helpers' cores busy with other processes, so the caller did their work and
 * then waited for them at the end; or the threads sharing one core). After
 * FNN_SOLO_LATE_TEAMS such teams in a row, fnn_threads_for answers 1 for the next
 * FNN_SOLO_FIRST_RUN jobs, a run that doubles with each further late team, up to
 * FNN_SOLO_MAX_RUN, before the team is tried again; the first team after a run wakes
 * the sleeping workers and is not judged, and a team on time ends the doubling. Jobs
 * of fewer than FNN_SOLO_MIN_PIECES pieces per thread are not judged. The environment
 * variable FASTNN_SOLO=0, read once, turns the rule off. Only the speed depends on it.
 */
void fnn_team_report(int nthreads, fnn_index helped, fnn_index pieces);

/*
 * Test hook: the solo rule's decisions for `count` team reports (nthreads[i],
 * helped[i], pieces[i]) in order, from a fresh state. After report i the jobs that
 * the rule then runs alone are run (none of them reports) and counted in alone[i].
 * The rule's state is fresh again afterwards. FNN_EINVAL for count < 0.
 */
int fnn_solo_rule_replay(fnn_index count, const int *nthreads, const fnn_index *helped,
                         const fnn_index *pieces, int *alone);

/* rows of a d-column elementwise kernel that a thread claims at a time (about 16K elements) */
#define FNN_ROWS_PER_CLAIM(d) FNN_MAX(1, 16384 / FNN_MAX((fnn_index)(d), 1))

/*
 * body(ctx, begin, end) over [0, n) on `nthreads` threads, in pieces of at most
 * `piece` items: thread t of T takes the pieces of its own range (what
 * schedule(static) would give it, so the same thread meets the same data call
 * after call) and then helps with the others' ranges; then fnn_team_report.
 * Each item is handled once, by one thread.
 */
typedef void (*fnn_range_body)(void *ctx, fnn_index begin, fnn_index end);
void fnn_parallel_for(int nthreads, fnn_index n, fnn_index piece, fnn_range_body body, void *ctx);

/* the most threads whose own ranges fnn_parallel_for keeps apart (more share them) */
#define FNN_MAX_RANGES 64

/* Work claiming between the threads of a team: fnn_claim returns *p and adds
   one (acquire and release: what the claimer wrote before is visible to whoever
   sees the new count); fnn_wait_at_least waits until *p >= target. */
static inline fnn_index fnn_claim(fnn_index *p)
{
#if defined(__GNUC__) || defined(__clang__)
    return __atomic_fetch_add(p, 1, __ATOMIC_ACQ_REL);
#else
    fnn_index v;
#pragma omp atomic capture seq_cst
    v = (*p)++;
    return v;
#endif
}

static inline fnn_index fnn_load_acquire(const fnn_index *p)
{
#if defined(__GNUC__) || defined(__clang__)
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
#else
    fnn_index v;
#pragma omp atomic read seq_cst
    v = *p;
    return v;
#endif
}

void fnn_wait_at_least(const fnn_index *p, fnn_index target);

#endif
