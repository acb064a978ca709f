/* batchnorm.c: batch statistics, normalisation and the three-term gradient.
   This file holds the portable (generic) kernels and the entry points that dispatch to
   the kernels of the SIMD level in use. */
#include <math.h>

#include "internal.h"

#define FNN_BATCHNORM_DRIVER
#define FNN_TEMPLATE "batchnorm_impl.h"
#include "instantiate.h"

FNN_BATCHNORM_ARCH(fnn_batchnorm_generic);

const fnn_batchnorm_arch *fnn_batchnorm_kernels(void)
{
    return FNN_ARCH_FOR_LEVEL(fnn_batchnorm_generic, fnn_batchnorm_avx2, fnn_batchnorm_avx512);
}
