/*
 * gemm_ukernel_avx512.c: AVX-512F micro-kernels (32 zmm registers: a tile of
 * 8 x 3 vectors of accumulators, 3 for the B row, 1 for the broadcast).
 * Only entered after fnn_simd_supported(FNN_SIMD_AVX512) said yes.
 */
#include "gemm_internal.h"

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
    "avx512",
    /* mr, nr, vlen, kc, mc, nc */
    /* deep KC (measured on Zen 4, 1024^3, one core: f32 kc 256 -> 1024 is 90 -> 103
       GFLOP/s): fewer passes over C; the slivers stream well from L2 */
    {8, 48, 16, 1024, 64, 3072},
    {8, 24, 8, 512, 64, 3072},
    {avx512_ukernel_f32_nv1, avx512_ukernel_f32_nv2, avx512_ukernel_f32_nv3},
    {avx512_ukernel_f64_nv1, avx512_ukernel_f64_nv2, avx512_ukernel_f64_nv3},
    avx512_ukernel_f32_half, avx512_ukernel_f64_half,
    DOT_R, DOT_C, {avx512_ukernel_f32_dot, avx512_ukernel_f32_dot1},
    {avx512_ukernel_f64_dot, avx512_ukernel_f64_dot1},
    avx512_pack_rows_f32, avx512_pack_rows_f64,
    avx512_pack_cols_f32, avx512_pack_cols_f64,
    UKR_SHORT_MR,
    {avx512_ukernel_f32_short_nv1, avx512_ukernel_f32_short_nv2, avx512_ukernel_f32_short_nv3},
    {avx512_ukernel_f64_short_nv1, avx512_ukernel_f64_short_nv2, avx512_ukernel_f64_short_nv3},
};
#endif
