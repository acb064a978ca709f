/* check_avx512.c: the finiteness checks of check_impl.h compiled for AVX512. */
#define FNN_LEVEL_AVX512
#define FNN_TEMPLATE "check_impl.h"
#include "vmath_level.h"

#ifdef FNN_HAVE_X86_SIMD
FNN_CHECK_ARCH(fnn_check_avx512);
#endif
