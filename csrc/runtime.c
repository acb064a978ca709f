/*
 * runtime.c: thread count, SIMD level detection and override, scratch buffers.
 */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <stdlib.h>
#include <string.h>
#include <sched.h>

#include "gemm.h"

#ifndef FNN_BUILD_COMPILER
#if defined(__clang__)
#define FNN_BUILD_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define FNN_BUILD_COMPILER "gcc " __VERSION__
#else
#define FNN_BUILD_COMPILER "unknown"
#endif
#endif

/* ---- threads ---- */

static int num_threads = 0; /* 0: not yet read from the OpenMP runtime */
/* jobs left to run on one thread, the length of the next such run, and whether
   the next team is not to be judged (its workers slept through the solo run, so
   they start late however free their cores are) */
static int solo_left = 0, solo_run = 0, solo_waking = 0;
/* late teams in a row: one alone is the normal cost of waking workers that slept
   while the process did other work (another library's product, Python), so only
   a second one in a row starts a solo run */
static int late_teams = 0;

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

void fnn_set_num_threads(int n)
{
    num_threads = n < 1 ? 1 : n;
    solo_left = solo_run = solo_waking = late_teams = 0;
#ifndef _OPENMP
    num_threads = 1;
#endif
}

#define FNN_SOLO_FIRST 4
#define FNN_SOLO_MAX 32

int fnn_threads_for(double work)
{
    int n = fnn_get_num_threads();
    if (n <= 1 || work < FNN_PARALLEL_MIN_WORK) return 1;
    /* racy between calling threads at worst: then a job more or less runs alone */
    if (__atomic_load_n(&solo_left, __ATOMIC_RELAXED) > 0) {
        if (__atomic_fetch_sub(&solo_left, 1, __ATOMIC_RELAXED) == 1)
            __atomic_store_n(&solo_waking, 1, __ATOMIC_RELAXED);
        return 1;
    }
    return n;
}

void fnn_team_report(int nthreads, fnn_index helped, fnn_index pieces)
{
    if (nthreads <= 1 || pieces < 4 * (fnn_index)nthreads) return; /* too few to tell */
    if (__atomic_exchange_n(&solo_waking, 0, __ATOMIC_RELAXED)) return;
    /* the helpers, or the caller, did less than half their share: the team did not
       run side by side (busy cores, or the threads time-sharing one core) */
    const fnn_index own = pieces - helped;
    if (2 * helped * nthreads < pieces * (nthreads - 1) || 2 * own * nthreads < pieces) {
        if (__atomic_add_fetch(&late_teams, 1, __ATOMIC_RELAXED) < 2) return;
        int run = __atomic_load_n(&solo_run, __ATOMIC_RELAXED);
        run = run ? FNN_MIN(2 * run, FNN_SOLO_MAX) : FNN_SOLO_FIRST;
        __atomic_store_n(&solo_run, run, __ATOMIC_RELAXED);
        __atomic_store_n(&solo_left, run, __ATOMIC_RELAXED);
    } else {
        __atomic_store_n(&solo_run, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&late_teams, 0, __ATOMIC_RELAXED);
    }
}

/* Spin briefly (the other thread is usually microseconds from done), then yield
   the core: the thread being waited for may be queued behind another process. */
void fnn_wait_at_least(const fnn_index *p, fnn_index target)
{
    for (unsigned spins = 0; fnn_load_acquire(p) < target; ++spins) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (spins >= 4096) sched_yield();
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

/* ---- SIMD level: detected once, cached, overridable ---- */

static int simd_level = -1;

int fnn_simd_supported(int level)
{
    switch (level) {
    case FNN_SIMD_GENERIC:
        return 1;
#if defined(FNN_HAVE_X86_SIMD)
    case FNN_SIMD_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case FNN_SIMD_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
               && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
#endif
    default:
        return 0;
    }
}

const char *fnn_simd_name(int level)
{
    switch (level) {
    case FNN_SIMD_GENERIC: return "generic";
    case FNN_SIMD_AVX2: return "avx2";
    case FNN_SIMD_AVX512: return "avx512";
    default: return "unknown";
    }
}

static int detect_simd_level(void)
{
    int best = FNN_SIMD_GENERIC;
    for (int level = FNN_SIMD_AVX512; level > FNN_SIMD_GENERIC; --level) {
        if (fnn_simd_supported(level)) { best = level; break; }
    }
    /* FASTNN_SIMD caps the level: a request above what the CPU has is ignored. */
    const char *forced = getenv("FASTNN_SIMD");
    if (forced && *forced) {
        for (int level = FNN_SIMD_GENERIC; level <= FNN_SIMD_AVX512; ++level) {
            if (strcmp(forced, fnn_simd_name(level)) == 0 && level < best) best = level;
        }
    }
    return best;
}

int fnn_simd_level(void)
{
    if (simd_level < 0) simd_level = detect_simd_level();
    return simd_level;
}

int fnn_set_simd_level(int level)
{
    if (level < FNN_SIMD_GENERIC || level > FNN_SIMD_AVX512 || !fnn_simd_supported(level))
        return FNN_EINVAL;
    simd_level = level;
    return FNN_OK;
}

const char *fnn_compiler(void) { return FNN_BUILD_COMPILER; }

#ifndef FNN_BUILD_CFLAGS
#define FNN_BUILD_CFLAGS "unknown"
#endif

const char *fnn_build_cflags(void) { return FNN_BUILD_CFLAGS; }

/* ---- scratch buffers ---- */

#if defined(__GNUC__) || defined(__clang__)
#define FNN_THREAD_LOCAL __thread
#else
#define FNN_THREAD_LOCAL _Thread_local
#endif

static FNN_THREAD_LOCAL void *scratch_ptr[FNN_SCRATCH_SLOTS];
static FNN_THREAD_LOCAL size_t scratch_size[FNN_SCRATCH_SLOTS];

void *fnn_scratch(int slot, size_t bytes)
{
    if (slot < 0 || slot >= FNN_SCRATCH_SLOTS) return NULL;
    if (bytes <= scratch_size[slot] && scratch_ptr[slot]) return scratch_ptr[slot];
    free(scratch_ptr[slot]);
    scratch_ptr[slot] = NULL;
    scratch_size[slot] = 0;
    /* grow geometrically so a sequence of growing calls reallocates rarely */
    size_t want = bytes + bytes / 2 + 4096;
    want = (want + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, want) != 0) return NULL;
    scratch_ptr[slot] = p;
    scratch_size[slot] = want;
    return p;
}
