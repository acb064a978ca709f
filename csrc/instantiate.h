/*
 * instantiate.h: compile the file named by FNN_TEMPLATE twice, once for float and
 * once for double, so every kernel is written once. A kernel file names itself and
 * keeps its per-type section under #ifdef REAL.
 *
 * Inside a template: REAL is the element type, FN(name) appends _f32 or _f64,
 * MATH(fn) names the libm function of that type (expf or exp).
 */
#ifndef FNN_TEMPLATE
#error "define FNN_TEMPLATE before including instantiate.h"
#endif

#define REAL float
#define FN(name) name##_f32
#define MATH(fn) fn##f
#include FNN_TEMPLATE
#undef REAL
#undef FN
#undef MATH

#define REAL double
#define FN(name) name##_f64
#define MATH(fn) fn
#include FNN_TEMPLATE
#undef REAL
#undef FN
#undef MATH

#undef FNN_TEMPLATE
