/* gemm_pack.c: packing of A and B slivers for the micro-kernels. */
#include "gemm_internal.h"

#define REAL float
#define FN(name) name##_f32
#include "gemm_pack_impl.h"
#undef REAL
#undef FN

#define REAL double
#define FN(name) name##_f64
#include "gemm_pack_impl.h"
#undef REAL
#undef FN
