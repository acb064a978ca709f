/*
 * gemm_registry.c: the micro-kernel registry, the one place where the architectures
 * are registered: one entry per SIMD level, each filled by field name in its own
 * gemm_ukernel_<arch>.c (blocking, micro-kernels, dot kernels, packers).
 *
 * The generic entry is always present: the fallback for a level this build has no
 * entry for, and the oracle the others are tested against (FASTNN_SIMD=generic).
 */
#include "gemm.h"

static const fnn_gemm_arch *const registry[] = {
    [FNN_SIMD_GENERIC] = &fnn_gemm_arch_generic,
#ifdef FNN_HAVE_X86_SIMD
    [FNN_SIMD_AVX2] = &fnn_gemm_arch_avx2,
    [FNN_SIMD_AVX512] = &fnn_gemm_arch_avx512,
#endif
};

const fnn_gemm_arch *fnn_gemm_arch_for_level(int level)
{
    const int entries = (int)(sizeof registry / sizeof registry[0]);
    if (level < 0 || level >= entries || !registry[level]) return &fnn_gemm_arch_generic;
    return registry[level];
}

const fnn_gemm_arch *fnn_gemm_arch_current(void)
{
    return fnn_gemm_arch_for_level(fnn_simd_level());
}
