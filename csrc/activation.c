/* activation.c: elementwise activations and their gradients, rows split between threads.
   This file holds the portable (generic) kernels and the entry points that dispatch to
   the kernels of the SIMD level in use. */
#include <math.h>

#include "internal.h"

#define FNN_ACTIVATION_DRIVER
#define FNN_TEMPLATE "activation_impl.h"
#include "instantiate.h"

FNN_ACTIVATION_ARCH(fnn_activation_generic);

const fnn_activation_arch *fnn_activation_kernels(void)
{
    return FNN_ARCH_FOR_LEVEL(fnn_activation_generic, fnn_activation_avx2,
                              fnn_activation_avx512);
}

int fnn_activation_info(int code, const char **name, int *takes_alpha, double *default_alpha)
{
    switch (code) {
#define FNN_ACTIVATION_INFO(c, n, t, a)                                                  \
    case c:                                                                             \
        *name = n;                                                                      \
        *takes_alpha = t;                                                               \
        *default_alpha = a;                                                             \
        return FNN_OK;
        FNN_ACTIVATIONS(FNN_ACTIVATION_INFO)
#undef FNN_ACTIVATION_INFO
    default:
        return FNN_EINVAL;
    }
}
