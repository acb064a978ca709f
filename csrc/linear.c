/* linear.c: the dense layer S = X W^T + b and its gradients, on top of the GEMM. */
#include "internal.h"

#define REAL float
#define FN(name) name##_f32
#include "linear_impl.h"
#undef REAL
#undef FN

#define REAL double
#define FN(name) name##_f64
#include "linear_impl.h"
#undef REAL
#undef FN
