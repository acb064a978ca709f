/*
 * simd_level.h: the SIMD level a multi-level source is compiled for.
 *
 * setup.py compiles each file of its MULTI_LEVEL_SOURCES list once per level, with
 * -DFNN_LEVEL=FNN_LEVEL_GENERIC, FNN_LEVEL_AVX2 or FNN_LEVEL_AVX512 (only the generic
 * level where internal.h leaves FNN_HAVE_X86_SIMD undefined), each into its own
 * object file. Such a file:
 *  - names its per-level definitions LEVEL(name): name_generic, name_avx2, name_avx512;
 *  - puts its SIMD code between FNN_TARGET_BEGIN and FNN_TARGET_END, which compile the
 *    functions in between for the level's instruction set (nothing at the generic level);
 *  - defines its entry points in the generic compile only (#if FNN_LEVEL == FNN_LEVEL_GENERIC);
 *    they pick the table of fnn_simd_level() on every call (see FNN_ARCH_FOR_LEVEL).
 * Code compiled for a level is only entered after fnn_simd_supported(level) said yes.
 */
#ifndef FASTNN_SIMD_LEVEL_H
#define FASTNN_SIMD_LEVEL_H

#include "internal.h"

/* the values of enum fnn_simd_level, as numbers the preprocessor can compare */
#define FNN_LEVEL_GENERIC 0
#define FNN_LEVEL_AVX2 1
#define FNN_LEVEL_AVX512 2
_Static_assert(FNN_LEVEL_GENERIC == FNN_SIMD_GENERIC && FNN_LEVEL_AVX2 == FNN_SIMD_AVX2
                   && FNN_LEVEL_AVX512 == FNN_SIMD_AVX512,
               "FNN_LEVEL_* must follow enum fnn_simd_level");

/* a file compiled without -DFNN_LEVEL is the generic level */
#ifndef FNN_LEVEL
#define FNN_LEVEL FNN_LEVEL_GENERIC
#endif

#if FNN_LEVEL != FNN_LEVEL_GENERIC && !defined(FNN_HAVE_X86_SIMD)
#error "FNN_LEVEL names an x86 SIMD level, which this compiler cannot target"
#endif

#if FNN_LEVEL == FNN_LEVEL_GENERIC
#define LEVEL(name) name##_generic
#define FNN_TARGET_BEGIN
#define FNN_TARGET_END

#elif FNN_LEVEL == FNN_LEVEL_AVX2
#define LEVEL(name) name##_avx2
#if defined(__clang__)
#define FNN_TARGET_BEGIN                                                                      \
    _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")")                           \
    _Pragma("clang attribute push(__attribute__((target(\"avx2,fma\"))), apply_to = function)")
#define FNN_TARGET_END _Pragma("clang attribute pop") _Pragma("GCC pop_options")
#else
#define FNN_TARGET_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")")
#define FNN_TARGET_END _Pragma("GCC pop_options")
#endif

#elif FNN_LEVEL == FNN_LEVEL_AVX512
#define LEVEL(name) name##_avx512
/* 512-bit vectors: GCC's generic tuning would otherwise stay at 256 bits */
#if defined(__clang__)
#define FNN_TARGET_BEGIN                                                                      \
    _Pragma("GCC push_options")                                                               \
    _Pragma("GCC target(\"avx512f,avx512dq,avx512vl,avx2,fma,prefer-vector-width=512\")")     \
    _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512dq,avx512vl,avx2,fma\"))), apply_to = function)")
#define FNN_TARGET_END _Pragma("clang attribute pop") _Pragma("GCC pop_options")
#else
#define FNN_TARGET_BEGIN                                                                      \
    _Pragma("GCC push_options")                                                               \
    _Pragma("GCC target(\"avx512f,avx512dq,avx512vl,avx2,fma,prefer-vector-width=512\")")
#define FNN_TARGET_END _Pragma("GCC pop_options")
#endif

#else
#error "FNN_LEVEL must be FNN_LEVEL_GENERIC, FNN_LEVEL_AVX2 or FNN_LEVEL_AVX512"
#endif

#endif
