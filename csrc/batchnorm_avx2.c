/* batchnorm_avx2.c: the batchnorm kernels of batchnorm_impl.h compiled for AVX2. */
#define FNN_LEVEL_AVX2
#define FNN_TEMPLATE "batchnorm_impl.h"
#include "vmath_level.h"

#ifdef FNN_HAVE_X86_SIMD
FNN_BATCHNORM_ARCH(fnn_batchnorm_avx2);
#endif
