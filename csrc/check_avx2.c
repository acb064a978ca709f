/* check_avx2.c: the finiteness checks of check_impl.h compiled for AVX2. */
#define FNN_LEVEL_AVX2
#define FNN_TEMPLATE "check_impl.h"
#include "vmath_level.h"

#ifdef FNN_HAVE_X86_SIMD
FNN_CHECK_ARCH(fnn_check_avx2);
#endif
