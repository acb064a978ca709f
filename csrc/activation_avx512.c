/* activation_avx512.c: the activation kernels of activation_impl.h compiled for AVX512. */
#define FNN_LEVEL_AVX512
#define FNN_TEMPLATE "activation_impl.h"
#include "vmath_level.h"

#ifdef FNN_HAVE_X86_SIMD
FNN_ACTIVATION_ARCH(fnn_activation_avx512);
#endif
