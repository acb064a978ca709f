/*
 * gemm_ukernel_nvs.h: the micro-kernels UKR_PREFIX_nv1 .. _nvN (N = UKR_NR / VLEN, at
 * most 3) of gemm_ukernel_vector.h, for gemm_ukernel_family.h.
 */
#if UKR_NR / VLEN > 3
#error "gemm_ukernel_nvs.h instantiates at most 3 vectors per row"
#endif

#define UKR_NV 1
#define UKR_NAME FNN_CAT(UKR_PREFIX, _nv1)
#include "gemm_ukernel_vector.h"
#undef UKR_NV
#undef UKR_NAME

#if UKR_NR / VLEN >= 2
#define UKR_NV 2
#define UKR_NAME FNN_CAT(UKR_PREFIX, _nv2)
#include "gemm_ukernel_vector.h"
#undef UKR_NV
#undef UKR_NAME
#endif

#if UKR_NR / VLEN >= 3
#define UKR_NV 3
#define UKR_NAME FNN_CAT(UKR_PREFIX, _nv3)
#include "gemm_ukernel_vector.h"
#undef UKR_NV
#undef UKR_NAME
#endif
