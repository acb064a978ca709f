/* optim.c: optimiser updates, elementwise over a parameter. */
#include <math.h>

#include "internal.h"

#define FNN_TEMPLATE "optim_impl.h"
#include "instantiate.h"
