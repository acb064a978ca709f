/* check.c: whole-array checks fit runs on its data before training. */
#include "internal.h"

#define FNN_TEMPLATE "check_impl.h"
#include "instantiate.h"
