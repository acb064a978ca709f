/* batchnorm.c: batch statistics, normalisation and the three-term gradient. */
#include <math.h>

#include "internal.h"

#define FNN_TEMPLATE "batchnorm_impl.h"
#include "instantiate.h"
