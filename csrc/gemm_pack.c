/* gemm_pack.c: packing of A and B slivers for the micro-kernels. */
#include "gemm_internal.h"

#define FNN_TEMPLATE "gemm_pack_impl.h"
#include "instantiate.h"
