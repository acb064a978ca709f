/*
 * vmath_level.h: compile the template named by FNN_TEMPLATE (float and double,
 * through instantiate.h) for one SIMD level, chosen by defining FNN_LEVEL_AVX2
 * or FNN_LEVEL_AVX512 first. Used by the *_avx2.c / *_avx512.c files of the
 * elementwise families; those files then fill their table (see internal.h).
 * The kernels are only entered after fnn_simd_supported() said yes.
 */
#include <math.h>

#include "internal.h"

#ifdef FNN_HAVE_X86_SIMD
#pragma GCC push_options
#if defined(FNN_LEVEL_AVX512)
/* 512-bit vectors: GCC's generic tuning would otherwise stay at 256 bits */
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma,prefer-vector-width=512")
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#endif
#elif defined(FNN_LEVEL_AVX2)
#pragma GCC target("avx2,fma")
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#endif
#else
#error "define FNN_LEVEL_AVX2 or FNN_LEVEL_AVX512 before including vmath_level.h"
#endif

#include "instantiate.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
#pragma GCC pop_options
#else
#undef FNN_TEMPLATE
#endif
