/* gemm.c: the blocked, packed, threaded matrix product behind every dense layer. */
#include "gemm_internal.h"

#define FNN_TEMPLATE "gemm_impl.h"
#include "instantiate.h"
