/* maxout.c: the max over each unit's linear pieces and the gradient routed back to the
   winning piece, rows split between threads. */
#include <string.h>

#include "internal.h"

#define FNN_TEMPLATE "maxout_impl.h"
#include "instantiate.h"
