/*
 * threads.c: the thread-team runtime: the thread count, the solo rule that runs
 * jobs on the calling thread alone while helper threads come late, the waiting
 * of one thread for another's claimed work, and fnn_parallel_for (threads.h).
 */
#define _POSIX_C_SOURCE 200112L
#include <stdlib.h>
#include <string.h>
#include <sched.h>

#include "internal.h"

/* ---- the thread count ---- */

static int num_threads = 0; /* 0: not yet read from the OpenMP runtime */

int fnn_has_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fnn_get_num_threads(void)
{
    if (num_threads <= 0) {
#ifdef _OPENMP
        /* honours OMP_NUM_THREADS */
        num_threads = omp_get_max_threads();
#else
        num_threads = 1;
#endif
        if (num_threads < 1) num_threads = 1;
    }
    return num_threads;
}

static void solo_reset(void);

void fnn_set_num_threads(int n)
{
    num_threads = n < 1 ? 1 : n;
    solo_reset();
#ifndef _OPENMP
    num_threads = 1;
#endif
}

/* ---- the solo rule (see fnn_team_report in threads.h) ---- */

/* a team is judged only with at least this many pieces per thread: with fewer, an
   uneven split says nothing about whether its threads ran side by side */
#define FNN_SOLO_MIN_PIECES 4
/* a side (the helpers together, or the caller) that did less than its fair share
   divided by this came late */
#define FNN_SOLO_LATE_SHARE 2
/* late teams in a row that start a run of jobs alone: one alone is the normal cost of
   waking workers that slept while the process did other work (another library's
   product, Python) */
#define FNN_SOLO_LATE_TEAMS 2
/* jobs in the first run alone; each further late team in a row doubles the run, up to
   the most */
#define FNN_SOLO_FIRST_RUN 4
#define FNN_SOLO_MAX_RUN 32

/* jobs left to run on one thread, the length of the last such run, and whether the
   next team is not to be judged (its workers slept through the run alone, so they
   start late however free their cores are) */
static int solo_left = 0, solo_run = 0, solo_waking = 0;
/* late teams in a row */
static int late_teams = 0;
/* 1 while the rule is on, 0 with FASTNN_SOLO=0, -1 before the variable is read */
static int solo_enabled = -1;

static void solo_reset(void)
{
    __atomic_store_n(&solo_left, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&solo_run, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&solo_waking, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&late_teams, 0, __ATOMIC_RELAXED);
}

static int solo_rule_on(void)
{
    int on = __atomic_load_n(&solo_enabled, __ATOMIC_RELAXED);
    if (on < 0) {
        const char *value = getenv("FASTNN_SOLO");
        on = !(value && strcmp(value, "0") == 0);
        __atomic_store_n(&solo_enabled, on, __ATOMIC_RELAXED);
    }
    return on;
}

/* 1 when the next job is to run alone (it is then counted off the run) */
static int solo_take(void)
{
    /* racy between calling threads at worst: then a job more or less runs alone */
    if (__atomic_load_n(&solo_left, __ATOMIC_RELAXED) <= 0) return 0;
    if (__atomic_fetch_sub(&solo_left, 1, __ATOMIC_RELAXED) == 1)
        __atomic_store_n(&solo_waking, 1, __ATOMIC_RELAXED);
    return 1;
}

int fnn_threads_for(double work)
{
    int n = fnn_get_num_threads();
    if (n <= 1 || work < FNN_PARALLEL_MIN_WORK) return 1;
    if (solo_take()) return 1;
    return n;
}

void fnn_team_report(int nthreads, fnn_index helped, fnn_index pieces)
{
    if (nthreads <= 1 || pieces < FNN_SOLO_MIN_PIECES * (fnn_index)nthreads) return;
    if (!solo_rule_on()) return;
    if (__atomic_exchange_n(&solo_waking, 0, __ATOMIC_RELAXED)) return;
    /* the helpers' fair share is pieces (nthreads - 1) / nthreads, the caller's
       pieces / nthreads: did either side do less than that divided by FNN_SOLO_LATE_SHARE? */
    const fnn_index own = pieces - helped;
    const int helpers_late = FNN_SOLO_LATE_SHARE * helped * nthreads < pieces * (nthreads - 1);
    const int caller_late = FNN_SOLO_LATE_SHARE * own * nthreads < pieces;
    if (helpers_late || caller_late) {
        if (__atomic_add_fetch(&late_teams, 1, __ATOMIC_RELAXED) < FNN_SOLO_LATE_TEAMS) return;
        int run = __atomic_load_n(&solo_run, __ATOMIC_RELAXED);
        run = run ? FNN_MIN(2 * run, FNN_SOLO_MAX_RUN) : FNN_SOLO_FIRST_RUN;
        __atomic_store_n(&solo_run, run, __ATOMIC_RELAXED);
        __atomic_store_n(&solo_left, run, __ATOMIC_RELAXED);
    } else {
        __atomic_store_n(&solo_run, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&late_teams, 0, __ATOMIC_RELAXED);
    }
}

int fnn_solo_rule_replay(fnn_index count, const int *nthreads, const fnn_index *helped,
                         const fnn_index *pieces, int *alone)
{
    if (count < 0) return FNN_EINVAL;
    solo_reset();
    for (fnn_index i = 0; i < count; ++i) {
        fnn_team_report(nthreads[i], helped[i], pieces[i]);
        alone[i] = 0;
        while (solo_take()) ++alone[i];
    }
    solo_reset();
    return FNN_OK;
}

/* ---- waiting and sharing ---- */

/* spins of a waiting thread before it starts yielding its core */
#define FNN_WAIT_SPINS 4096

/* Spin briefly (the other thread is usually microseconds from done), then yield
   the core: the thread being waited for may be queued behind another process. */
void fnn_wait_at_least(const fnn_index *p, fnn_index target)
{
    for (unsigned spins = 0; fnn_load_acquire(p) < target; ++spins) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (spins >= FNN_WAIT_SPINS) sched_yield();
    }
}

void fnn_parallel_for(int nthreads, fnn_index n, fnn_index piece, fnn_range_body body, void *ctx)
{
    if (nthreads <= 1) {
        if (n > 0) body(ctx, 0, n);
        return;
    }
    fnn_index next[FNN_MAX_RANGES] = {0}, helped = 0;
#pragma omp parallel num_threads(nthreads)
    {
        const int T = FNN_MIN(fnn_team_size(), FNN_MAX_RANGES), t = fnn_team_rank() % T;
        fnn_index mine = 0;
        for (int gi = 0; gi < T; ++gi) {
            const int g = (t + gi) % T;
            const fnn_index lo = n * g / T, hi = n * (g + 1) / T;
            for (fnn_index i = lo + fnn_claim(next + g) * piece; i < hi;
                 i = lo + fnn_claim(next + g) * piece) {
                const fnn_index end = FNN_MIN(hi, i + piece);
                body(ctx, i, end);
                mine += end - i;
            }
        }
        if (fnn_team_rank() != 0) {
#pragma omp atomic update
            helped += mine;
        }
    }
    fnn_team_report(nthreads, helped, n);
}
