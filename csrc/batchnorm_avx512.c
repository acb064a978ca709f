/* batchnorm_avx512.c: the batchnorm kernels of batchnorm_impl.h compiled for AVX512. */
#define FNN_LEVEL_AVX512
#define FNN_TEMPLATE "batchnorm_impl.h"
#include "vmath_level.h"

#ifdef FNN_HAVE_X86_SIMD
FNN_BATCHNORM_ARCH(fnn_batchnorm_avx512);
#endif
