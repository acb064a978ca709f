/*
 * gemm_ukernel_generic.c: the registry's portable entry, plain C.
 * Always compiled, always available: the fallback on any CPU and the oracle
 * the SIMD kernels are tested against (FASTNN_SIMD=generic).
 *
 * The per-type section is compiled for float and for double: this file includes
 * itself through instantiate.h.
 */
#ifndef REAL
#include "gemm.h"

#define GENERIC_MR 4
#define GENERIC_NR 8

#define FNN_TEMPLATE "gemm_ukernel_generic.c"
#include "instantiate.h"

#else /* ---- once per type: REAL, FN() ---- */

static void FN(generic_ukernel)(fnn_index k, const REAL *restrict a, fnn_index a_rs,
                                fnn_index a_cs, const REAL *restrict b, REAL *restrict c,
                                fnn_index ldc, const REAL *restrict bias, int accumulate)
{
    REAL acc[GENERIC_MR][GENERIC_NR] = {{0}};
    /* the same sums either way; a packed sliver gets the loop the compiler vectorises well */
    const fnn_index rs = (a_rs == 1 && a_cs == GENERIC_MR) ? 1 : a_rs;
    if (rs == 1 && a_cs == GENERIC_MR) {
        for (fnn_index p = 0; p < k; ++p) {
            const REAL *ap = a + p * GENERIC_MR;
            const REAL *bp = b + p * GENERIC_NR;
            for (int i = 0; i < GENERIC_MR; ++i)
                for (int j = 0; j < GENERIC_NR; ++j) acc[i][j] += ap[i] * bp[j];
        }
    } else {
        for (fnn_index p = 0; p < k; ++p) {
            const REAL *bp = b + p * GENERIC_NR;
            for (int i = 0; i < GENERIC_MR; ++i) {
                const REAL ai = a[p * a_cs + i * rs];
                for (int j = 0; j < GENERIC_NR; ++j) acc[i][j] += ai * bp[j];
            }
        }
    }
    for (int i = 0; i < GENERIC_MR; ++i) {
        REAL *ci = c + i * ldc;
        for (int j = 0; j < GENERIC_NR; ++j) {
            REAL base = accumulate ? ci[j] : (bias ? bias[j] : (REAL)0);
            ci[j] = base + acc[i][j];
        }
    }
}

/* the same element chains as generic_ukernel's: the tiny path equals the blocked one */
#define VLEN GENERIC_NR
#define TINY_NAME FN(generic_tiny)
#include "gemm_tiny.h"
#undef TINY_NAME
#undef VLEN

#endif /* REAL */

#ifndef REAL /* ---- the registry entry ---- */

/* one kernel, as wide as its tile, and the tiny kernel; no small-batch path (the packed product serves),
   no narrow or short kernels (edges go through a temporary tile), portable packing */
const fnn_gemm_arch fnn_gemm_arch_generic = {
    .name = "generic",
    .blocking_f32 = {.mr = GENERIC_MR, .nr = GENERIC_NR, .vlen = GENERIC_NR,
                     .kc = 256, .mc = 128, .nc = 2048},
    .blocking_f64 = {.mr = GENERIC_MR, .nr = GENERIC_NR, .vlen = GENERIC_NR,
                     .kc = 256, .mc = 64, .nc = 2048},
    .ukr_f32 = {generic_ukernel_f32},
    .ukr_f64 = {generic_ukernel_f64},
    .tiny_f32 = generic_tiny_f32,
    .tiny_f64 = generic_tiny_f64,
};

#endif /* REAL */
