/* loss.c: the losses (softmax and sigmoid cross-entropy, MSE) with their gradients, and
   the softmax. This file holds the portable (generic) kernels and the entry points that
   dispatch to the kernels of the SIMD level in use. */
#include <math.h>

#include "internal.h"

#define FNN_LOSS_DRIVER
#define FNN_TEMPLATE "loss_impl.h"
#include "instantiate.h"

FNN_LOSS_ARCH(fnn_loss_generic);

const fnn_loss_arch *fnn_loss_kernels(void)
{
    return FNN_ARCH_FOR_LEVEL(fnn_loss_generic, fnn_loss_avx2, fnn_loss_avx512);
}
