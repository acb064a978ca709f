/* gemm_config.c: which architecture's kernels and blocking serve the SIMD level in use. */
#include "gemm_internal.h"

const fnn_gemm_arch *fnn_gemm_arch_current(void)
{
    switch (fnn_simd_level()) {
#ifdef FNN_HAVE_X86_SIMD
    case FNN_SIMD_AVX512: return &fnn_gemm_arch_avx512;
    case FNN_SIMD_AVX2: return &fnn_gemm_arch_avx2;
#endif
    default: return &fnn_gemm_arch_generic;
    }
}
