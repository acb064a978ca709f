/*
 * gemm_ukernel_avx512.c: AVX-512F micro-kernels (32 zmm registers: a tile of
 * 8 x 3 vectors of accumulators, 3 for the B row, 1 for the broadcast).
 * Only entered after fnn_simd_supported(FNN_SIMD_AVX512) said yes.
 */
#include "gemm_internal.h"

#ifdef FNN_HAVE_X86_SIMD
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma")
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#endif

#define REAL float
#define VLEN 16
#define UKR_MR 8
#define UKR_NR 48
#define UKR_NAME avx512_ukernel_f32
#include "gemm_ukernel_vector.h"
#undef REAL
#undef VLEN
#undef UKR_MR
#undef UKR_NR
#undef UKR_NAME

#define REAL double
#define VLEN 8
#define UKR_MR 8
#define UKR_NR 24
#define UKR_NAME avx512_ukernel_f64
#include "gemm_ukernel_vector.h"
#undef REAL
#undef VLEN
#undef UKR_MR
#undef UKR_NR
#undef UKR_NAME

#if defined(__clang__)
#pragma clang attribute pop
#endif
#pragma GCC pop_options

const fnn_gemm_arch fnn_gemm_arch_avx512 = {
    "avx512",
    /* mr, nr, kc, mc, nc */
    {8, 48, 256, 128, 3072},
    {8, 24, 256, 96, 3072},
    avx512_ukernel_f32,
    avx512_ukernel_f64,
};
#endif
