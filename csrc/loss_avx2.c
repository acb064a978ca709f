/* loss_avx2.c: the loss kernels of loss_impl.h compiled for AVX2. */
#define FNN_LEVEL_AVX2
#define FNN_TEMPLATE "loss_impl.h"
#include "vmath_level.h"

#ifdef FNN_HAVE_X86_SIMD
FNN_LOSS_ARCH(fnn_loss_avx2);
#endif
