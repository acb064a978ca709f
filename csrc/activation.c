/* activation.c: elementwise activations and their gradients, rows split between threads. */
#include <math.h>

#include "internal.h"

#define FNN_TEMPLATE "activation_impl.h"
#include "instantiate.h"
