/* activation.c: elementwise activations and their gradients, rows split between threads. */
#include <math.h>

#include "internal.h"

#define REAL float
#define FN(name) name##_f32
#define MATH(fn) fn##f
#include "activation_impl.h"
#undef REAL
#undef FN
#undef MATH

#define REAL double
#define FN(name) name##_f64
#define MATH(fn) fn
#include "activation_impl.h"
#undef REAL
#undef FN
#undef MATH
