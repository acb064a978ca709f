/*
 * gemm_ukernel_family.h: one micro-kernel per count of live vectors
 * (1 .. UKR_NR / VLEN) from gemm_ukernel_vector.h, named FAMILY_nv1, _nv2, _nv3.
 *
 * Needs: REAL, VLEN, UKR_MR, UKR_NR, FAMILY. UKR_NR / VLEN is at most 3.
 * With UKR_SHORT_MR defined, also FAMILY_short_nv1 .. : the same for a last sliver
 * of at most UKR_SHORT_MR rows (100 = 12 x 8 + 4 rows, 50 = 6 x 8 + 2).
 * With UKR_HALF_VLEN defined, also FAMILY_half: one vector of UKR_HALF_VLEN
 * (half the width) for a last sliver that narrow (50 = 48 + 2 columns).
 * With DOT_R and DOT_C defined, also the small-batch kernels FAMILY_dot
 * (DOT_R rows) and FAMILY_dot1 (one row) from gemm_dot_vector.h.
 * Always FAMILY_tiny, the tiny-product kernel of gemm_tiny.h.
 */
#define UKR_PREFIX FAMILY
#include "gemm_ukernel_nvs.h"
#undef UKR_PREFIX

#ifdef UKR_SHORT_MR
#pragma push_macro("UKR_MR")
#undef UKR_MR
#define UKR_MR UKR_SHORT_MR
#define UKR_PREFIX FNN_CAT(FAMILY, _short)
#include "gemm_ukernel_nvs.h"
#undef UKR_PREFIX
#pragma pop_macro("UKR_MR")
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

#define TINY_NAME FNN_CAT(FAMILY, _tiny)
#include "gemm_tiny.h"
#undef TINY_NAME
