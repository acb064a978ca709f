/* batchnorm.c: batch statistics, normalisation and the three-term gradient. */
#include <math.h>

#include "internal.h"

#define REAL float
#define FN(name) name##_f32
#define MATH(fn) fn##f
#include "batchnorm_impl.h"
#undef REAL
#undef FN
#undef MATH

#define REAL double
#define FN(name) name##_f64
#define MATH(fn) fn
#include "batchnorm_impl.h"
#undef REAL
#undef FN
#undef MATH
