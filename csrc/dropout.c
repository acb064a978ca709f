/* dropout.c: inverted dropout, its mask regenerated from the counter (rng.h), rows split
   between threads. */
#include <string.h>

#include "internal.h"
#include "rng.h"

#define FNN_TEMPLATE "dropout_impl.h"
#include "instantiate.h"
