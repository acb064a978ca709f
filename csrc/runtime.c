/*
 * runtime.c: SIMD level detection and override, build facts, scratch buffers.
 * (The thread-team runtime is threads.c.)
 */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifndef FNN_BUILD_COMPILER
#if defined(__clang__)
#define FNN_BUILD_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define FNN_BUILD_COMPILER "gcc " __VERSION__
#else
#define FNN_BUILD_COMPILER "unknown"
#endif
#endif

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
