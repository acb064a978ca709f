/* linear.c: the dense layer S = X W^T + b and its gradients, on top of the GEMM. */
#include "gemm_internal.h"

#define FNN_TEMPLATE "linear_impl.h"
#include "instantiate.h"
