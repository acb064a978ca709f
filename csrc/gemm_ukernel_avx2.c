/*
 * gemm_ukernel_avx2.c: AVX2+FMA micro-kernels (16 ymm registers: a tile of
 * 6 x 2 vectors of accumulators, 2 for the B row, 1 for the broadcast).
 * Only entered after fnn_simd_supported(FNN_SIMD_AVX2) said yes.
 */
#include "gemm_internal.h"

#ifdef FNN_HAVE_X86_SIMD
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#endif

/* the small-batch dot kernels: DOT_R rows x DOT_C columns */
#define DOT_R 2
#define DOT_C 4
/* the short micro-kernels: half the rows */
#define UKR_SHORT_MR 3

#define REAL float
#define VLEN 8
#define UKR_MR 6
#define UKR_NR 16
#define FAMILY avx2_ukernel_f32
#include "gemm_ukernel_family.h"
#undef REAL
#undef VLEN
#undef UKR_MR
#undef UKR_NR
#undef FAMILY

#define REAL double
#define VLEN 4
#define UKR_MR 6
#define UKR_NR 8
#define FAMILY avx2_ukernel_f64
#include "gemm_ukernel_family.h"
#undef REAL
#undef VLEN
#undef UKR_MR
#undef UKR_NR
#undef FAMILY

#if defined(__clang__)
#pragma clang attribute pop
#endif
#pragma GCC pop_options

const fnn_gemm_arch fnn_gemm_arch_avx2 = {
    "avx2",
    /* mr, nr, vlen, kc, mc, nc */
    {6, 16, 8, 256, 120, 3072},
    {6, 8, 4, 256, 96, 3072},
    {avx2_ukernel_f32_nv1, avx2_ukernel_f32_nv2},
    {avx2_ukernel_f64_nv1, avx2_ukernel_f64_nv2},
    NULL, NULL, /* no half-width kernel */
    DOT_R, DOT_C, {avx2_ukernel_f32_dot, avx2_ukernel_f32_dot1},
    {avx2_ukernel_f64_dot, avx2_ukernel_f64_dot1},
    NULL, NULL, NULL, NULL, /* the portable packing */
    UKR_SHORT_MR, {avx2_ukernel_f32_short_nv1, avx2_ukernel_f32_short_nv2},
    {avx2_ukernel_f64_short_nv1, avx2_ukernel_f64_short_nv2},
};
#endif
