/* gemm.c: the blocked, packed, threaded matrix product behind every dense layer. */
#include "gemm_internal.h"

#define REAL float
#define FN(name) name##_f32
#define UKR ukr_f32
#define UKR_TYPE fnn_ukr_f32
#define BLOCKING f32
#include "gemm_impl.h"
#undef REAL
#undef FN
#undef UKR
#undef UKR_TYPE
#undef BLOCKING

#define REAL double
#define FN(name) name##_f64
#define UKR ukr_f64
#define UKR_TYPE fnn_ukr_f64
#define BLOCKING f64
#include "gemm_impl.h"
#undef REAL
#undef FN
#undef UKR
#undef UKR_TYPE
#undef BLOCKING
