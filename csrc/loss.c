/* loss.c: softmax cross-entropy and its gradient in one pass per row. */
#include <math.h>

#include "internal.h"

#define REAL float
#define FN(name) name##_f32
#define MATH(fn) fn##f
#include "loss_impl.h"
#undef REAL
#undef FN
#undef MATH

#define REAL double
#define FN(name) name##_f64
#define MATH(fn) fn
#include "loss_impl.h"
#undef REAL
#undef FN
#undef MATH
