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

#include "internal.h"

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
