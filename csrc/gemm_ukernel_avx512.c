/*
 * gemm_ukernel_avx512.c: the registry's AVX-512F entry (32 zmm registers: a tile of
 * 8 x 3 vectors of accumulators, 3 for the B row, 1 for the broadcast), with its
 * packers by register transposes. Only entered after fnn_simd_supported(FNN_SIMD_AVX512)
 * said yes.
 */
#include "gemm.h"

#ifdef FNN_HAVE_X86_SIMD
#include <immintrin.h>
#endif

#ifdef FNN_HAVE_X86_SIMD
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma")
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#endif

/* the small-batch dot kernels: DOT_R rows x DOT_C columns */
#define DOT_R 4
#define DOT_C 4
/* the short micro-kernels: half the rows */
#define UKR_SHORT_MR 4

#define REAL float
#define VLEN 16
#define UKR_HALF_VLEN 8
#define UKR_MR 8
#define UKR_NR 48
#define FAMILY avx512_ukernel_f32
#include "gemm_ukernel_family.h"
#undef REAL
#undef VLEN
#undef UKR_MR
#undef UKR_HALF_VLEN
#undef UKR_NR
#undef FAMILY

#define REAL double
#define VLEN 8
#define UKR_HALF_VLEN 4
#define UKR_MR 8
#define UKR_NR 24
#define FAMILY avx512_ukernel_f64
#include "gemm_ukernel_family.h"
#undef REAL
#undef VLEN
#undef UKR_MR
#undef UKR_HALF_VLEN
#undef UKR_NR
#undef FAMILY

/* packing by register transposes */
static inline __m512i fnn_idx_set(const int *v) { return _mm512_loadu_si512((const void *)v); }
static inline __m512i fnn_idx_set64(const int *v)
{
    long long w[8];
    for (int i = 0; i < 8; ++i) w[i] = v[i];
    return _mm512_loadu_si512((const void *)w);
}

#define REAL float
#define VLEN 16
#define PACK_NAME avx512_pack_rows_f32
#define PACK_COLS_NAME avx512_pack_cols_f32
#define STOREU _mm512_storeu_ps
#define MASKZ_LOADU _mm512_maskz_loadu_ps
#define VEC __m512
#define MASK __mmask16
#define IDX __m512i
#define IDX_SET fnn_idx_set
#define LOADU _mm512_loadu_ps
#define ZERO _mm512_setzero_ps
#define MASK_STOREU _mm512_mask_storeu_ps
#define PERMUTE2 _mm512_permutex2var_ps
#include "gemm_pack_avx512.h"
#undef REAL
#undef VLEN
#undef PACK_NAME
#undef PACK_COLS_NAME
#undef STOREU
#undef MASKZ_LOADU
#undef VEC
#undef MASK
#undef IDX_SET
#undef LOADU
#undef ZERO
#undef MASK_STOREU
#undef PERMUTE2

#define REAL double
#define VLEN 8
#define PACK_NAME avx512_pack_rows_f64
#define PACK_COLS_NAME avx512_pack_cols_f64
#define STOREU _mm512_storeu_pd
#define MASKZ_LOADU _mm512_maskz_loadu_pd
#define VEC __m512d
#define MASK __mmask8
#define IDX_SET fnn_idx_set64
#define LOADU _mm512_loadu_pd
#define ZERO _mm512_setzero_pd
#define MASK_STOREU _mm512_mask_storeu_pd
#define PERMUTE2 _mm512_permutex2var_pd
#include "gemm_pack_avx512.h"
#undef REAL
#undef VLEN
#undef PACK_NAME
#undef PACK_COLS_NAME
#undef STOREU
#undef MASKZ_LOADU
#undef VEC
#undef MASK
#undef IDX
#undef IDX_SET
#undef LOADU
#undef ZERO
#undef MASK_STOREU
#undef PERMUTE2

#if defined(__clang__)
#pragma clang attribute pop
#endif
#pragma GCC pop_options

const fnn_gemm_arch fnn_gemm_arch_avx512 = {
    .name = "avx512",
    /* a deep KC: fewer passes over C, while the slivers stream well from L2 */
    .blocking_f32 = {.mr = 8, .nr = 48, .vlen = 16, .kc = 1024, .mc = 64, .nc = 3072},
    .blocking_f64 = {.mr = 8, .nr = 24, .vlen = 8, .kc = 512, .mc = 64, .nc = 3072},
    .ukr_f32 = {avx512_ukernel_f32_nv1, avx512_ukernel_f32_nv2, avx512_ukernel_f32_nv3},
    .ukr_f64 = {avx512_ukernel_f64_nv1, avx512_ukernel_f64_nv2, avx512_ukernel_f64_nv3},
    .half_f32 = avx512_ukernel_f32_half,
    .half_f64 = avx512_ukernel_f64_half,
    .short_mr = UKR_SHORT_MR,
    .short_f32 = {avx512_ukernel_f32_short_nv1, avx512_ukernel_f32_short_nv2,
                  avx512_ukernel_f32_short_nv3},
    .short_f64 = {avx512_ukernel_f64_short_nv1, avx512_ukernel_f64_short_nv2,
                  avx512_ukernel_f64_short_nv3},
    .dot_r = DOT_R,
    .dot_c = DOT_C,
    .dot_f32 = {avx512_ukernel_f32_dot, avx512_ukernel_f32_dot1},
    .dot_f64 = {avx512_ukernel_f64_dot, avx512_ukernel_f64_dot1},
    .tiny_f32 = avx512_ukernel_f32_tiny,
    .tiny_f64 = avx512_ukernel_f64_tiny,
    .pack_rows_f32 = avx512_pack_rows_f32,
    .pack_rows_f64 = avx512_pack_rows_f64,
    .pack_cols_f32 = avx512_pack_cols_f32,
    .pack_cols_f64 = avx512_pack_cols_f64,
};
#endif
