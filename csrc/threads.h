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
 * Counting the synchronisations of a team, in a build compiled with -DFNN_COUNT_SYNCS
 * (a diagnostic build: the counting itself is a shared atomic): parallel regions
 * entered (each a fork and a join), explicit barriers inside them (counted once per
 * barrier), operations on counters the threads share (claims, flags, the totals of
 * helped work), and waits of one thread for another's claimed work.
 */
enum fnn_sync_kind {
    FNN_SYNC_REGIONS = 0,
    FNN_SYNC_BARRIERS = 1,
    FNN_SYNC_ATOMICS = 2,
    FNN_SYNC_WAITS = 3,
    FNN_SYNC_KINDS = 4
};
#ifdef FNN_COUNT_SYNCS
void fnn_count_sync(int kind);
#define FNN_COUNT_SYNC(kind) fnn_count_sync(kind)
#else
#define FNN_COUNT_SYNC(kind) ((void)0)
#endif
/* counted by thread 0 of a team only: a barrier is one synchronisation of the team */
#define FNN_COUNT_SYNC_ONCE(rank, kind)                                                    \
    do {                                                                                   \
        if ((rank) == 0) FNN_COUNT_SYNC(kind);                                             \
    } while (0)

/* The counts since the last reset into out[FNN_SYNC_KINDS], then (reset != 0) zero them.
   FNN_EINVAL in a build without FNN_COUNT_SYNCS (out is left alone). */
int fnn_sync_counts(int64_t *out, int reset);

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
    FNN_COUNT_SYNC(FNN_SYNC_ATOMICS);
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

/*
 * How the kernels called on this thread split their work, set by the training engine
 * around each step (fnn_step_mode_set) and read by the kernels before they start a
 * team. With static splits, thread t of T takes the t-th of T fixed parts of every
 * job, known in advance (the same batch rows, the same column groups, call after
 * call), and claims nothing; a product's threads share its packed B panels through
 * one barrier per panel. Outside a step (max_threads 0) the kernels claim pieces and
 * the solo rule holds. Only the speed depends on the mode.
 */
void fnn_step_mode_set(int static_split, int max_threads);
int fnn_step_static(void);

/*
 * The measured thread choice of the training engine (threads.c). A chooser per
 * network shape (key, with a readable name) times steps on one thread and on all of
 * them in alternating pairs, keeps the faster, and measures again after
 * FNN_CHOICE_RECHECK_SECONDS of its steps (FNN_CHOICE_RECHECK_ONE_SECONDS after choosing
 * one thread, longer when measuring costs more: FNN_CHOICE_MEASURING_SHARE),
 * or when FNN_CHOICE_JUMP_STEPS steps in a row take more than
 * FNN_CHOICE_JUMP times the chosen setting's measured time per row and the last decision
 * is at least FNN_CHOICE_MIN_SECONDS old (so that noise under load costs at most one
 * measurement per FNN_CHOICE_MIN_SECONDS). FASTNN_THREAD_CHOICE
 * (read once: measure, 1 or all) pins the choice; fnn_set_thread_choice overrides it.
 */
enum fnn_thread_choice_mode {
    FNN_CHOICE_MEASURE = 0,
    FNN_CHOICE_ONE = 1,
    FNN_CHOICE_ALL = 2,
    FNN_CHOICE_ALTERNATE = 3 /* test hook: switch at every step */
};
enum fnn_choice_reason {
    FNN_WHY_MEASURING = 0,  /* the first measurement is under way */
    FNN_WHY_MEASURED = 1,   /* the faster of the last measurement */
    FNN_WHY_PINNED = 2,     /* FASTNN_THREAD_CHOICE or fnn_set_thread_choice */
    FNN_WHY_ONE_THREAD = 3, /* one thread is all there is */
    FNN_WHY_ALTERNATE = 4   /* the switching test hook */
};

#define FNN_CHOICE_NAME 96
#define FNN_CHOICE_SAMPLES 3
#define FNN_CHOICE_RECHECK_SECONDS 3.0
/* ... and after a decision for one thread, which a passing disturbance of the other
   cores during the measurement can cause and which costs the most when wrong */
#define FNN_CHOICE_RECHECK_ONE_SECONDS 1.0
/* ... but never more often than keeps the time lost to measuring (the steps a
   measurement runs on the slower setting) under this share of the time between. These
   times count the chooser's own steps only, not the time the process spends elsewhere. */
#define FNN_CHOICE_MEASURING_SHARE 0.01
#define FNN_CHOICE_JUMP 1.5
#define FNN_CHOICE_JUMP_STEPS 3
#define FNN_CHOICE_MIN_SECONDS 1.0

typedef struct {
    uint64_t key;
    char name[FNN_CHOICE_NAME];
    int all;                /* all threads: the thread count when the chooser was made */
    int threads;            /* the threads of the next step outside a measurement */
    int reason;             /* enum fnn_choice_reason */
    int measuring;          /* steps of the running measurement so far, -1: none runs */
    double sample_one[FNN_CHOICE_SAMPLES], sample_all[FNN_CHOICE_SAMPLES]; /* its samples, seconds per row */
    double seconds_one, seconds_all; /* the last measurement's medians, seconds per row */
    double decided_at;      /* monotonic seconds of the last decision */
    double recheck_after;   /* seconds of steps after the decision before measuring again */
    double run_since;       /* seconds of steps recorded since the decision */
    int slow_steps;         /* chosen steps in a row slower than the jump */
    int64_t steps, measurements, switches;
    int64_t last_use;
} fnn_thread_choice;

/* The chooser of `key` (a fresh one, named `name`, when none is kept) into *c. */
void fnn_choice_load(uint64_t key, const char *name, fnn_thread_choice *c);
/* Keep *c for the next run of its key. */
void fnn_choice_store(const fnn_thread_choice *c);
/* The threads of the next step. */
int fnn_choice_threads(fnn_thread_choice *c);
/* A step of `rows` rows took `seconds` on `threads` threads, ending at `now` (fnn_seconds). */
void fnn_choice_record(fnn_thread_choice *c, int threads, double seconds, fnn_index rows,
                       double now);
/* Monotonic seconds. */
double fnn_seconds(void);

/* The choosers' keys: FNV-1a, started at FNN_CHOICE_KEY_START and fed one value at a time. */
#define FNN_CHOICE_KEY_START 1469598103934665603ULL
static inline uint64_t fnn_choice_key_mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 1099511628211ULL;
}

/*
 * Test hook: a fresh measuring chooser for `all` threads (whatever the pinned mode),
 * fed `count` steps of one row each: a step on one thread takes one[i] seconds, on all
 * threads all[i], on a clock that starts at 0 and advances by the steps' times only;
 * threads[i] receives the threads it gave step i. FNN_EINVAL for
 * count < 0 or all < 1.
 */
int fnn_choice_replay(fnn_index count, int all, const double *one, const double *all_seconds,
                      int *threads);

/* The kept choosers, most recent first, into out[0 .. capacity); returns how many are kept. */
int fnn_choice_report(fnn_thread_choice *out, int capacity);

/*
 * The same measured choice for a kernel called on its own (from Python, through
 * fastnn.ops): a chooser per call site and shape (key), its calls timed on one thread
 * and on all of them in alternating pairs like the engine's steps. fnn_call_begin
 * before the call sets the calling thread's thread count for the kernel's regions;
 * fnn_call_end after it records the call's time. A call whose work is below
 * FNN_PARALLEL_MIN_WORK, or made with one thread, inside an engine step or with the
 * choice pinned, has no chooser (call->key is 0) and follows fnn_threads_for's rules.
 * Outside a measurement, a call the chooser gives all threads still follows the solo
 * rule, which answers a late helper within a few calls.
 */
typedef struct {
    uint64_t key;     /* 0: no chooser for this call */
    int threads;      /* the threads the chooser gave it */
    double start;     /* fnn_seconds() at fnn_call_begin */
} fnn_call_choice;

/* `name` and the sizes a, b, c (with the element size) make the key and the chooser's
   readable name; `work` is the call's work in fnn_threads_for's units. */
void fnn_call_begin(fnn_call_choice *call, const char *name, int element_size, fnn_index a,
                    fnn_index b, fnn_index c, double work);
void fnn_call_end(fnn_call_choice *call);
/* The kept call choosers, most recent first (as fnn_choice_report). */
int fnn_call_choice_report(fnn_thread_choice *out, int capacity);
#define FNN_CALL_CHOICES_KEPT 64
/* Pin (or free, FNN_CHOICE_MEASURE) the choice and forget every chooser; FNN_EINVAL for an
   unknown mode. */
int fnn_set_thread_choice(int mode);
/* The mode in force (FASTNN_THREAD_CHOICE unless set since). */
int fnn_get_thread_choice(void);

#endif
