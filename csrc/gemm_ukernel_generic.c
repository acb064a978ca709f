/*
 * gemm_ukernel_generic.c: the portable micro-kernel, plain C.
 * Always compiled, always available: the fallback on any CPU and the oracle
 * the SIMD kernels are tested against (FASTNN_SIMD=generic).
 */
#include "gemm_internal.h"

#define GENERIC_MR 4
#define GENERIC_NR 8

#define FNN_TEMPLATE "gemm_ukernel_generic_impl.h"
#include "instantiate.h"

const fnn_gemm_arch fnn_gemm_arch_generic = {
    "generic",
    /* mr, nr, vlen, kc, mc, nc: one kernel, as wide as its tile */
    {GENERIC_MR, GENERIC_NR, GENERIC_NR, 256, 128, 2048},
    {GENERIC_MR, GENERIC_NR, GENERIC_NR, 256, 64, 2048},
    {generic_ukernel_f32},
    {generic_ukernel_f64},
    NULL, NULL, /* no half-width kernel */
    0, 0, {NULL, NULL}, {NULL, NULL}, /* no small-batch path: the packed product serves */
    NULL, NULL, NULL, NULL, /* the portable packing */
};
