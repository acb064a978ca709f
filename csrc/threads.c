/*
 * threads.c: the thread-team runtime: the thread count, the solo rule that runs
 * jobs on the calling thread alone while helper threads come late, the waiting
 * of one thread for another's claimed work, and fnn_parallel_for (threads.h).
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_SET */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <pthread.h>

#include "internal.h"

/* ---- counting synchronisations (threads.h) ---- */

#ifdef FNN_COUNT_SYNCS
static int64_t sync_counts[FNN_SYNC_KINDS];

void fnn_count_sync(int kind)
{
    __atomic_fetch_add(&sync_counts[kind], 1, __ATOMIC_RELAXED);
}

int fnn_sync_counts(int64_t *out, int reset)
{
    for (int k = 0; k < FNN_SYNC_KINDS; ++k)
        out[k] = reset ? __atomic_exchange_n(&sync_counts[k], 0, __ATOMIC_RELAXED)
                       : __atomic_load_n(&sync_counts[k], __ATOMIC_RELAXED);
    return FNN_OK;
}
#else
int fnn_sync_counts(int64_t *out, int reset)
{
    (void)out;
    (void)reset;
    return FNN_EINVAL;
}
#endif

/* ---- the engine's step mode, per calling thread (threads.h) ---- */

static _Thread_local int step_static = 0, step_max_threads = 0;
/* the thread count a call chooser gave the running kernel call (0: none), and whether
   that call is one of its measurement */
static _Thread_local int call_max_threads = 0, call_measuring = 0;

void fnn_step_mode_set(int static_split, int max_threads)
{
    step_static = static_split;
    step_max_threads = max_threads < 0 ? 0 : max_threads;
}

int fnn_step_static(void)
{
    return step_static;
}

/* ---- the thread count ---- */

static int num_threads = 0; /* 0: not yet chosen */

int fnn_has_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fnn_default_threads(int allowed_cpus, int physical_cores, double cpu_quota)
{
    int n = allowed_cpus < 1 ? 1 : allowed_cpus;
    /* SMT siblings share one core's FMA units, which the kernels keep busy alone */
    if (physical_cores >= 1 && physical_cores < n) n = physical_cores;
    if (cpu_quota > 0.0) {
        /* a quota of 1.5 CPUs keeps two threads busy part of the time: round up */
        double q = cpu_quota < 1.0 ? 1.0 : cpu_quota;
        if (q < (double)n) {
            int qn = (int)q;
            if ((double)qn < q) qn += 1;
            if (qn < n) n = qn;
        }
    }
    return n;
}

/* The file system root under which the /sys and /proc files below are read: "" (the
   real one) unless FASTNN_SYSFS_ROOT names a directory that mirrors them, which is how
   tests fake a topology and a cgroup. */
static const char *sys_root(void)
{
    const char *root = getenv("FASTNN_SYSFS_ROOT");
    return root ? root : "";
}

/* Reads the first line of root + path into buf; 0 on success. */
static int read_line(const char *path, char *buf, size_t size)
{
    char full[4096];
    FILE *f;
    if ((size_t)snprintf(full, sizeof full, "%s%s", sys_root(), path) >= sizeof full) return -1;
    f = fopen(full, "r");
    if (!f) return -1;
    if (!fgets(buf, (int)size, f)) { fclose(f); return -1; }
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* The cgroup v2 quota in cpu.max ("max 100000" or "<quota> <period>") at cgroup path
   dir, or 0 without one. */
static double quota_v2(const char *dir)
{
    char path[2048], line[256];
    long long quota, period;
    if ((size_t)snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", dir) >= sizeof path) return 0.0;
    if (read_line(path, line, sizeof line) != 0) return 0.0;
    if (sscanf(line, "%lld %lld", &quota, &period) != 2 || quota <= 0 || period <= 0) return 0.0;
    return (double)quota / (double)period;
}

/* The cgroup v1 CFS quota under the cpu controller's mount, or 0 without one. */
static double quota_v1(const char *mount, const char *dir)
{
    char path[2048], line[256];
    long long quota, period;
    if ((size_t)snprintf(path, sizeof path, "/sys/fs/cgroup/%s%s/cpu.cfs_quota_us", mount, dir)
        >= sizeof path || read_line(path, line, sizeof line) != 0 || sscanf(line, "%lld", &quota) != 1
        || quota <= 0)
        return 0.0;
    if ((size_t)snprintf(path, sizeof path, "/sys/fs/cgroup/%s%s/cpu.cfs_period_us", mount, dir)
        >= sizeof path || read_line(path, line, sizeof line) != 0 || sscanf(line, "%lld", &period) != 1
        || period <= 0)
        return 0.0;
    return (double)quota / (double)period;
}

static double min_quota(double a, double b)
{
    if (a <= 0.0) return b;
    if (b <= 0.0) return a;
    return a < b ? a : b;
}

/* The CPU quota of the process's cgroup (v2 cpu.max, v1 cfs_quota_us / cfs_period_us),
   read at the path /proc/self/cgroup names and at the cgroup root (where a container
   sees its own cgroup); the smallest found, or 0 when none limits the process. */
static double cgroup_cpu_quota(void)
{
    char full[4096], line[2048];
    double q = 0.0;
    FILE *f;
    q = min_quota(q, quota_v2(""));
    q = min_quota(q, quota_v1("cpu", ""));
    q = min_quota(q, quota_v1("cpu,cpuacct", ""));
    if ((size_t)snprintf(full, sizeof full, "%s/proc/self/cgroup", sys_root()) >= sizeof full) return q;
    f = fopen(full, "r");
    if (!f) return q;
    while (fgets(line, sizeof line, f)) {
        char *controllers, *dir;
        line[strcspn(line, "\n")] = '\0';
        controllers = strchr(line, ':');
        if (!controllers) continue;
        controllers++;
        dir = strchr(controllers, ':');
        if (!dir) continue;
        *dir++ = '\0';
        if (strcmp(dir, "/") == 0) continue; /* read above */
        if (controllers[0] == '\0') {
            q = min_quota(q, quota_v2(dir));
        } else if (strcmp(controllers, "cpu") == 0 || strcmp(controllers, "cpu,cpuacct") == 0
                   || strcmp(controllers, "cpuacct,cpu") == 0) {
            q = min_quota(q, quota_v1("cpu", dir));
            q = min_quota(q, quota_v1(controllers, dir));
        }
    }
    fclose(f);
    return q;
}

/* The CPUs in the affinity mask and, where thread_siblings_list reports them, the
   physical cores among those (CPUs that share a first sibling share a core; 0 when
   any CPU's siblings are unknown). */
static int allowed_cpus_and_cores(int *cores)
{
#ifdef __linux__
    cpu_set_t mask;
    char path[256], line[256];
    int cpu, allowed = 0, ncores = 0, known = 1;
    int first_sibling[CPU_SETSIZE];
    *cores = 0;
    if (sched_getaffinity(0, sizeof mask, &mask) != 0) return 0;
    for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        int first, i, seen = 0;
        if (!CPU_ISSET(cpu, &mask)) continue;
        allowed++;
        if (!known) continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu);
        if (read_line(path, line, sizeof line) != 0 || sscanf(line, "%d", &first) != 1) {
            known = 0;
            continue;
        }
        for (i = 0; i < ncores; i++) seen |= first_sibling[i] == first;
        if (!seen) first_sibling[ncores++] = first;
    }
    *cores = known ? ncores : 0;
    return allowed;
#else
    *cores = 0;
    return 0;
#endif
}

int fnn_system_default_threads(void)
{
    int cores, allowed = allowed_cpus_and_cores(&cores);
    if (allowed < 1) {
#ifdef _OPENMP
        allowed = omp_get_num_procs();
#else
        allowed = 1;
#endif
    }
    return fnn_default_threads(allowed, cores, cgroup_cpu_quota());
}

int fnn_get_num_threads(void)
{
    if (num_threads <= 0) {
#ifdef _OPENMP
        const char *omp = getenv("OMP_NUM_THREADS");
        /* the user's OMP_NUM_THREADS, as the OpenMP runtime reads it, wins */
        num_threads = omp && omp[0] ? omp_get_max_threads() : fnn_system_default_threads();
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
    /* inside an engine step the measured choice stands in for the solo rule */
    if (step_max_threads > 0) n = FNN_MIN(n, step_max_threads);
    else if (call_max_threads > 0) n = FNN_MIN(n, call_max_threads);
    if (n <= 1 || work < FNN_PARALLEL_MIN_WORK) return 1;
    if (step_max_threads > 0 || call_measuring) return n;
    const int mode = fnn_get_thread_choice();
    if (mode == FNN_CHOICE_ONE) return 1;
    if (mode != FNN_CHOICE_ALL && solo_take()) return 1;
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
    FNN_COUNT_SYNC(FNN_SYNC_WAITS);
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
    FNN_COUNT_SYNC(FNN_SYNC_REGIONS);
    if (fnn_step_static()) {
        /* each thread its own range, the same rows as in the step's other kernels */
#pragma omp parallel num_threads(nthreads)
        {
            const int T = fnn_team_size(), t = fnn_team_rank();
            const fnn_index lo = n * t / T, hi = n * (t + 1) / T;
            for (fnn_index i = lo; i < hi; i += piece) body(ctx, i, FNN_MIN(hi, i + piece));
        }
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
            FNN_COUNT_SYNC(FNN_SYNC_ATOMICS);
#pragma omp atomic update
            helped += mine;
        }
    }
    fnn_team_report(nthreads, helped, n);
}

/* ---- the measured thread choice (threads.h) ---- */

/* choosers kept, the least recently used replaced first */
#define FNN_CHOICE_KEPT 16

/* A table of choosers, the least recently used replaced first. */
typedef struct {
    fnn_thread_choice *rows;
    int capacity, count;
} choice_table;

static pthread_mutex_t choice_lock = PTHREAD_MUTEX_INITIALIZER;
static fnn_thread_choice engine_rows[FNN_CHOICE_KEPT], call_rows[FNN_CALL_CHOICES_KEPT];
static choice_table engine_table = {engine_rows, FNN_CHOICE_KEPT, 0};
static choice_table call_table = {call_rows, FNN_CALL_CHOICES_KEPT, 0};
static int64_t choice_clock = 0;
/* enum fnn_thread_choice_mode, -1 before FASTNN_THREAD_CHOICE is read */
static int choice_mode = -1;

double fnn_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int fnn_get_thread_choice(void)
{
    int mode = __atomic_load_n(&choice_mode, __ATOMIC_RELAXED);
    if (mode < 0) {
        const char *value = getenv("FASTNN_THREAD_CHOICE");
        mode = FNN_CHOICE_MEASURE;
        if (value && strcmp(value, "1") == 0) mode = FNN_CHOICE_ONE;
        else if (value && strcmp(value, "all") == 0) mode = FNN_CHOICE_ALL;
        __atomic_store_n(&choice_mode, mode, __ATOMIC_RELAXED);
    }
    return mode;
}

int fnn_set_thread_choice(int mode)
{
    if (mode < FNN_CHOICE_MEASURE || mode > FNN_CHOICE_ALTERNATE) return FNN_EINVAL;
    pthread_mutex_lock(&choice_lock);
    __atomic_store_n(&choice_mode, mode, __ATOMIC_RELAXED);
    engine_table.count = 0;
    call_table.count = 0;
    pthread_mutex_unlock(&choice_lock);
    solo_reset();
    return FNN_OK;
}

/* the thread count of a chooser: it keeps its own (its key holds the count it measured) */
static void choice_apply_mode(fnn_thread_choice *c, int all)
{
    const int mode = fnn_get_thread_choice();
    if (all <= 1) {
        c->threads = 1;
        c->reason = FNN_WHY_ONE_THREAD;
        c->measuring = -1;
    } else if (mode == FNN_CHOICE_ONE || mode == FNN_CHOICE_ALL) {
        c->threads = mode == FNN_CHOICE_ONE ? 1 : all;
        c->reason = FNN_WHY_PINNED;
        c->measuring = -1;
    } else if (mode == FNN_CHOICE_ALTERNATE) {
        c->reason = FNN_WHY_ALTERNATE;
        c->measuring = -1;
    }
}

/* the row of `key` in t, or -1 (choice_lock held) */
static int table_find(const choice_table *t, uint64_t key)
{
    for (int i = 0; i < t->count; ++i)
        if (t->rows[i].key == key) return i;
    return -1;
}

/* the chooser of `key` from t, or a fresh one named `name` (choice_lock held) */
static void table_load(choice_table *t, uint64_t key, const char *name, int all,
                       fnn_thread_choice *c)
{
    const int found = table_find(t, key);
    if (found >= 0) {
        *c = t->rows[found];
    } else {
        memset(c, 0, sizeof *c);
        c->key = key;
        snprintf(c->name, sizeof c->name, "%s", name);
        c->all = all;
        c->threads = all;
        c->reason = FNN_WHY_MEASURING;
        c->measuring = 0;
        c->decided_at = fnn_seconds();
    }
    c->last_use = ++choice_clock;
}

/* keep *c in t, in place of the least recently used when t is full (choice_lock held) */
static void table_store(choice_table *t, const fnn_thread_choice *c)
{
    int slot = table_find(t, c->key);
    if (slot < 0 && t->count < t->capacity) slot = t->count++;
    if (slot < 0) {
        slot = 0;
        for (int i = 1; i < t->count; ++i)
            if (t->rows[i].last_use < t->rows[slot].last_use) slot = i;
    }
    t->rows[slot] = *c;
}

static int table_report(const choice_table *t, fnn_thread_choice *out, int capacity)
{
    pthread_mutex_lock(&choice_lock);
    const int count = t->count;
    fnn_thread_choice *sorted = malloc((size_t)(count > 0 ? count : 1) * sizeof *sorted);
    if (!sorted) {
        pthread_mutex_unlock(&choice_lock);
        return 0;
    }
    memcpy(sorted, t->rows, (size_t)count * sizeof *sorted);
    pthread_mutex_unlock(&choice_lock);
    for (int i = 1; i < count; ++i) /* most recently used first */
        for (int j = i; j > 0 && sorted[j].last_use > sorted[j - 1].last_use; --j) {
            fnn_thread_choice tmp = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = tmp;
        }
    for (int i = 0; i < count && i < capacity; ++i) out[i] = sorted[i];
    free(sorted);
    return count;
}

void fnn_choice_load(uint64_t key, const char *name, fnn_thread_choice *c)
{
    const int all = fnn_get_num_threads();
    pthread_mutex_lock(&choice_lock);
    table_load(&engine_table, key, name, all, c);
    pthread_mutex_unlock(&choice_lock);
    choice_apply_mode(c, all);
}

void fnn_choice_store(const fnn_thread_choice *c)
{
    pthread_mutex_lock(&choice_lock);
    table_store(&engine_table, c);
    pthread_mutex_unlock(&choice_lock);
}

int fnn_choice_report(fnn_thread_choice *out, int capacity)
{
    return table_report(&engine_table, out, capacity);
}

int fnn_call_choice_report(fnn_thread_choice *out, int capacity)
{
    return table_report(&call_table, out, capacity);
}

/* steps of a measurement: pairs on all threads and on one in turn (all first, so that a
   kernel called once runs as it would without a chooser), the first step of each pair
   (the one that moves the data between the cores) not counted */
#define FNN_CHOICE_STEPS (4 * FNN_CHOICE_SAMPLES)

int fnn_choice_threads(fnn_thread_choice *c)
{
    const int all = c->all;
    if (all <= 1 || c->reason == FNN_WHY_ONE_THREAD) return 1;
    if (c->reason == FNN_WHY_ALTERNATE) return c->steps % 2 ? all : 1;
    if (c->reason == FNN_WHY_PINNED) return c->threads > 1 ? all : 1;
    if (c->measuring >= 0) return c->measuring / 2 % 2 ? 1 : all;
    return c->threads > 1 ? all : 1;
}

static double median_of(double *v, int n)
{
    for (int i = 1; i < n; ++i)
        for (int j = i; j > 0 && v[j] < v[j - 1]; --j) {
            const double tmp = v[j];
            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void fnn_choice_record(fnn_thread_choice *c, int threads, double seconds, fnn_index rows,
                       double now)
{
    const double per_row = seconds / (double)(rows > 0 ? rows : 1);
    c->steps += 1;
    if (c->steps > 1 && threads != c->threads && c->measuring < 0) c->switches += 1;
    if (c->reason == FNN_WHY_ALTERNATE || c->reason == FNN_WHY_PINNED
        || c->reason == FNN_WHY_ONE_THREAD) {
        /* nothing to decide: the last step's time per row, for the report */
        if (threads > 1) c->seconds_all = per_row;
        else c->seconds_one = per_row;
        if (c->reason == FNN_WHY_ALTERNATE) c->threads = threads;
        return;
    }
    if (c->measuring >= 0) {
        const int i = c->measuring;
        if (i % 2 == 1) {
            if (i / 2 % 2) c->sample_one[i / 4] = per_row;
            else c->sample_all[i / 4] = per_row;
        }
        c->measuring += 1;
        if (c->measuring == FNN_CHOICE_STEPS) {
            c->seconds_one = median_of(c->sample_one, FNN_CHOICE_SAMPLES);
            c->seconds_all = median_of(c->sample_all, FNN_CHOICE_SAMPLES);
            const int before = c->threads;
            c->threads = c->seconds_all < c->seconds_one ? c->all : 1;
            if (c->measurements > 0 && (before > 1) != (c->threads > 1)) c->switches += 1;
            c->reason = FNN_WHY_MEASURED;
            c->measurements += 1;
            c->measuring = -1;
            c->slow_steps = 0;
            c->decided_at = now;
            c->run_since = 0.0;
            /* the steps of the slower setting in a measurement, each this much slower */
            const double lost = 2.0 * FNN_CHOICE_SAMPLES * (double)(rows > 0 ? rows : 1)
                                * (c->seconds_one > c->seconds_all ? c->seconds_one - c->seconds_all
                                                                   : c->seconds_all - c->seconds_one);
            c->recheck_after = FNN_MAX(c->threads > 1 ? FNN_CHOICE_RECHECK_SECONDS
                                                      : FNN_CHOICE_RECHECK_ONE_SECONDS,
                                       lost / FNN_CHOICE_MEASURING_SHARE);
        }
        return;
    }
    const double reference = threads > 1 ? c->seconds_all : c->seconds_one;
    c->slow_steps = per_row > FNN_CHOICE_JUMP * reference ? c->slow_steps + 1 : 0;
    const double since = now - c->decided_at;
    c->run_since += seconds;
    if ((c->slow_steps >= FNN_CHOICE_JUMP_STEPS && since >= FNN_CHOICE_MIN_SECONDS)
        || c->run_since > c->recheck_after) {
        c->measuring = 0;
        c->slow_steps = 0;
    }
}

int fnn_choice_replay(fnn_index count, int all, const double *one, const double *all_seconds,
                      int *threads)
{
    if (count < 0 || all < 1) return FNN_EINVAL;
    fnn_thread_choice c;
    memset(&c, 0, sizeof c);
    c.all = all;
    c.threads = all;
    c.reason = all > 1 ? FNN_WHY_MEASURING : FNN_WHY_ONE_THREAD;
    c.measuring = all > 1 ? 0 : -1;
    double now = 0.0;
    for (fnn_index i = 0; i < count; ++i) {
        threads[i] = fnn_choice_threads(&c);
        const double took = threads[i] > 1 ? all_seconds[i] : one[i];
        now += took;
        fnn_choice_record(&c, threads[i], took, 1, now);
    }
    return FNN_OK;
}

/* ---- the measured choice of kernels called one by one (threads.h) ---- */

void fnn_call_begin(fnn_call_choice *call, const char *name, int element_size, fnn_index a,
                    fnn_index b, fnn_index c, double work)
{
    call->key = 0;
    call->threads = 0;
    const int all = fnn_get_num_threads();
    if (all <= 1 || work < FNN_PARALLEL_MIN_WORK || step_max_threads > 0
        || fnn_get_thread_choice() != FNN_CHOICE_MEASURE)
        return;
    uint64_t h = FNN_CHOICE_KEY_START; /* over the name and the sizes */
    for (const char *p = name; *p; ++p) h = fnn_choice_key_mix(h, (unsigned char)*p);
    const int64_t fields[5] = {element_size, all, a, b, c};
    for (int i = 0; i < 5; ++i) h = fnn_choice_key_mix(h, (uint64_t)fields[i]);
    h |= 1; /* never 0, which means no chooser */
    fnn_thread_choice chooser;
    pthread_mutex_lock(&choice_lock);
    if (table_find(&call_table, h) < 0) {
        char label[FNN_CHOICE_NAME];
        snprintf(label, sizeof label, "%s %s %lldx%lldx%lld on %d threads", name,
                 element_size == 4 ? "float32" : "float64", (long long)a, (long long)b,
                 (long long)c, all);
        table_load(&call_table, h, label, all, &chooser);
    } else {
        table_load(&call_table, h, "", all, &chooser);
    }
    const int threads = fnn_choice_threads(&chooser);
    table_store(&call_table, &chooser);
    pthread_mutex_unlock(&choice_lock);
    call->key = h;
    call->threads = threads;
    call_max_threads = threads;
    call_measuring = chooser.measuring >= 0;
    call->start = fnn_seconds();
}

void fnn_call_end(fnn_call_choice *call)
{
    if (call->key == 0) return;
    const double now = fnn_seconds();
    call_max_threads = 0;
    call_measuring = 0;
    pthread_mutex_lock(&choice_lock);
    /* another calling thread may have made the table forget it: then the time is dropped */
    const int row = table_find(&call_table, call->key);
    if (row >= 0) {
        fnn_choice_record(&call_table.rows[row], call->threads, now - call->start, 1, now);
        call_table.rows[row].last_use = ++choice_clock;
    }
    pthread_mutex_unlock(&choice_lock);
}
