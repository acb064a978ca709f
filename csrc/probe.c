/*
 * probe.c: the round trip of a cache line between two cores, as `fastnn info` reports it.
 *
 * Every synchronisation of a multi-threaded training step (a barrier, a counter two
 * threads claim work from, rows one thread writes and the other reads) costs at least
 * one such round trip. On one chip it takes about a hundred nanoseconds; between two
 * chiplets (multi-CCD parts) or two sockets, several hundred, and a training step with
 * many synchronisations can then be slower on two threads than on one.
 *
 * Two threads made for the probe, each pinned to its own CPU of the process's affinity
 * mask, pass a counter back and forth on one cache line: the first stores an odd value
 * and waits for the next even one, the second waits for the odd value and answers.
 * A run times `trips` such round trips; the result is the median of `runs` runs, so
 * that a run the scheduler interrupted does not decide it. A run also stops at a
 * deadline, so a loaded machine (where a waiting thread may be descheduled for a
 * time slice) cannot make the probe hang.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getaffinity, pthread_setaffinity_np */
#endif
#include "internal.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* the longest a run may take: on a loaded machine a trip may wait for a time slice */
#define FNN_PROBE_RUN_NS 20e6
/* how many trips between two looks at the clock */
#define FNN_PROBE_CLOCK_EVERY 64
/* the counter value that tells the answering thread to stop */
#define FNN_PROBE_STOP (-1L)

typedef struct {
    _Atomic long counter __attribute__((aligned(64)));
    char pad[64 - sizeof(long)];
    int cpu_first, cpu_second;
    long trips;
    double elapsed_ns;
    long done;
} fnn_probe_line;

static double fnn_probe_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* where the mask cannot be set (a restricted container), the probe runs unpinned */
static void fnn_probe_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* the answering side: odd values in, the next even value out, until told to stop */
static void *fnn_probe_answer(void *arg)
{
    fnn_probe_line *line = arg;
    fnn_probe_pin(line->cpu_second);
    for (long expect = 1;; expect += 2) {
        long seen;
        while ((seen = atomic_load_explicit(&line->counter, memory_order_acquire)) != expect)
            if (seen == FNN_PROBE_STOP) return NULL;
        atomic_store_explicit(&line->counter, expect + 1, memory_order_release);
    }
}

/* the asking side: times the round trips, then stops the answering side */
static void *fnn_probe_ask(void *arg)
{
    fnn_probe_line *line = arg;
    fnn_probe_pin(line->cpu_first);
    /* one trip untimed: both threads running and the line in place */
    atomic_store_explicit(&line->counter, 1, memory_order_release);
    while (atomic_load_explicit(&line->counter, memory_order_acquire) != 2) {}
    const double start = fnn_probe_now_ns();
    double now = start;
    long i = 1;
    for (; i <= line->trips; ++i) {
        atomic_store_explicit(&line->counter, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&line->counter, memory_order_acquire) != 2 * i + 2) {}
        if (i % FNN_PROBE_CLOCK_EVERY == 0) {
            now = fnn_probe_now_ns();
            if (now - start > FNN_PROBE_RUN_NS) break;
        }
    }
    if (i > line->trips) {
        i = line->trips;
        now = fnn_probe_now_ns();
    }
    line->elapsed_ns = now - start;
    line->done = i;
    atomic_store_explicit(&line->counter, FNN_PROBE_STOP, memory_order_release);
    return NULL;
}

static int fnn_probe_compare(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the first two CPUs of the process's affinity mask; 0 when it holds fewer than two */
static int fnn_probe_cpus(int *first, int *second)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
    int found = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; ++cpu) {
        if (!CPU_ISSET(cpu, &set)) continue;
        if (found == 0) *first = cpu; else *second = cpu;
        ++found;
    }
    return found == 2;
}

int fnn_probe_round_trip(int runs, long trips, double *median_ns, int *cpu_first, int *cpu_second)
{
    if (runs < 1 || runs > 1000 || trips < 1 || !median_ns || !cpu_first || !cpu_second)
        return FNN_EINVAL;
    *median_ns = 0.0;
    *cpu_first = *cpu_second = -1;
    int a = -1, b = -1;
    if (!fnn_probe_cpus(&a, &b)) return FNN_OK; /* one CPU: nothing to measure */
    fnn_probe_line *line = aligned_alloc(64, sizeof(fnn_probe_line));
    double *per_trip = malloc((size_t)runs * sizeof(double));
    if (!line || !per_trip) {
        free(line);
        free(per_trip);
        return FNN_ENOMEM;
    }
    int status = FNN_OK, measured = 0;
    for (int r = 0; r < runs; ++r) {
        atomic_init(&line->counter, 0);
        line->cpu_first = a;
        line->cpu_second = b;
        line->trips = trips;
        line->done = 0;
        pthread_t asker, answerer;
        if (pthread_create(&answerer, NULL, fnn_probe_answer, line) != 0) {
            status = FNN_ENOMEM;
            break;
        }
        if (pthread_create(&asker, NULL, fnn_probe_ask, line) != 0) {
            atomic_store_explicit(&line->counter, FNN_PROBE_STOP, memory_order_release);
            pthread_join(answerer, NULL);
            status = FNN_ENOMEM;
            break;
        }
        pthread_join(asker, NULL);
        pthread_join(answerer, NULL);
        if (line->done > 0) per_trip[measured++] = line->elapsed_ns / (double)line->done;
    }
    if (status == FNN_OK && measured > 0) {
        qsort(per_trip, (size_t)measured, sizeof(double), fnn_probe_compare);
        *median_ns = measured % 2 ? per_trip[measured / 2]
                                  : 0.5 * (per_trip[measured / 2 - 1] + per_trip[measured / 2]);
        *cpu_first = a;
        *cpu_second = b;
    }
    free(line);
    free(per_trip);
    return status;
}

#else /* no affinity masks here: the probe measures nothing (cpu_first stays -1) */

int fnn_probe_round_trip(int runs, long trips, double *median_ns, int *cpu_first, int *cpu_second)
{
    if (runs < 1 || runs > 1000 || trips < 1 || !median_ns || !cpu_first || !cpu_second)
        return FNN_EINVAL;
    *median_ns = 0.0;
    *cpu_first = *cpu_second = -1;
    return FNN_OK;
}

#endif
