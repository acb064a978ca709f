/*
 * gemm_ukernel_family.h: one micro-kernel per count of live vectors
 * (1 .. UKR_NR / VLEN) from gemm_ukernel_vector.h, named FAMILY_nv1, _nv2, _nv3.
 *
 * Needs: REAL, VLEN, UKR_MR, UKR_NR, FAMILY. UKR_NR / VLEN is at most 3.
 * With UKR_HALF_VLEN defined, also FAMILY_half: one vector of UKR_HALF_VLEN
 * (half the width) for a last sliver that narrow (50 = 48 + 2 columns).
 * With DOT_R and DOT_C defined, also the small-batch kernels FAMILY_dot
 * (DOT_R rows) and FAMILY_dot1 (one row) from gemm_dot_vector.h.
 */
#if UKR_NR / VLEN > 3
#error "gemm_ukernel_family.h instantiates at most 3 vectors per row"
#endif

#define UKR_NV 1
#define UKR_NAME FNN_CAT(FAMILY, _nv1)
#include "gemm_ukernel_vector.h"
#undef UKR_NV
#undef UKR_NAME

#if UKR_NR / VLEN >= 2
#define UKR_NV 2
#define UKR_NAME FNN_CAT(FAMILY, _nv2)
#include "gemm_ukernel_vector.h"
#undef UKR_NV
#undef UKR_NAME
#endif

#if UKR_NR / VLEN >= 3
#define UKR_NV 3
#define UKR_NAME FNN_CAT(FAMILY, _nv3)
#include "gemm_ukernel_vector.h"
#undef UKR_NV
#undef UKR_NAME
#endif

#ifdef UKR_HALF_VLEN
#pragma push_macro("VLEN")
#undef VLEN
#define VLEN UKR_HALF_VLEN
#define UKR_NV 1
#define UKR_NAME FNN_CAT(FAMILY, _half)
#include "gemm_ukernel_vector.h"
#undef UKR_NV
#undef UKR_NAME
#pragma pop_macro("VLEN")
#endif

#ifdef DOT_R
#define DOT_ROWS DOT_R
#define DOT_NAME FNN_CAT(FAMILY, _dot)
#include "gemm_dot_vector.h"
#undef DOT_ROWS
#undef DOT_NAME
#define DOT_ROWS 1
#define DOT_NAME FNN_CAT(FAMILY, _dot1)
#include "gemm_dot_vector.h"
#undef DOT_ROWS
#undef DOT_NAME
#endif
