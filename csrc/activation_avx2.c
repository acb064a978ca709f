/* activation_avx2.c: the activation kernels of activation_impl.h compiled for AVX2. */
#define FNN_LEVEL_AVX2
#define FNN_TEMPLATE "activation_impl.h"
#include "vmath_level.h"

#ifdef FNN_HAVE_X86_SIMD
FNN_ACTIVATION_ARCH(fnn_activation_avx2);
#endif
