/* check.c: finiteness checks of fit's data. This file holds the portable (generic)
   kernels and the entry point that dispatches to the kernels of the SIMD level in use. */
#include "internal.h"

#define FNN_CHECK_DRIVER
#define FNN_TEMPLATE "check_impl.h"
#include "instantiate.h"

FNN_CHECK_ARCH(fnn_check_generic);

const fnn_check_arch *fnn_check_kernels(void)
{
    return FNN_ARCH_FOR_LEVEL(fnn_check_generic, fnn_check_avx2, fnn_check_avx512);
}
