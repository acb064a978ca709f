/*
 * gemm_ukernel_avx2.c: the registry's AVX2+FMA entry (16 ymm registers: a tile of
 * 6 x 2 vectors of accumulators, 2 for the B row, 1 for the broadcast).
 * Only entered after fnn_simd_supported(FNN_SIMD_AVX2) said yes.
 */
#include "gemm.h"

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

/* no half-width kernel; the portable packing */
const fnn_gemm_arch fnn_gemm_arch_avx2 = {
    .name = "avx2",
    .blocking_f32 = {.mr = 6, .nr = 16, .vlen = 8, .kc = 256, .mc = 120, .nc = 3072},
    .blocking_f64 = {.mr = 6, .nr = 8, .vlen = 4, .kc = 256, .mc = 96, .nc = 3072},
    .ukr_f32 = {avx2_ukernel_f32_nv1, avx2_ukernel_f32_nv2},
    .ukr_f64 = {avx2_ukernel_f64_nv1, avx2_ukernel_f64_nv2},
    .short_mr = UKR_SHORT_MR,
    .short_f32 = {avx2_ukernel_f32_short_nv1, avx2_ukernel_f32_short_nv2},
    .short_f64 = {avx2_ukernel_f64_short_nv1, avx2_ukernel_f64_short_nv2},
    .dot_r = DOT_R,
    .dot_c = DOT_C,
    .dot_f32 = {avx2_ukernel_f32_dot, avx2_ukernel_f32_dot1},
    .dot_f64 = {avx2_ukernel_f64_dot, avx2_ukernel_f64_dot1},
    .tiny_f32 = avx2_ukernel_f32_tiny,
    .tiny_f64 = avx2_ukernel_f64_tiny,
};
#endif
