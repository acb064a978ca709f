/* loss_avx512.c: the loss kernels of loss_impl.h compiled for AVX512. */
#define FNN_LEVEL_AVX512
#define FNN_TEMPLATE "loss_impl.h"
#include "vmath_level.h"

#ifdef FNN_HAVE_X86_SIMD
FNN_LOSS_ARCH(fnn_loss_avx512);
#endif
