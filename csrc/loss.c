/* loss.c: softmax cross-entropy and its gradient in one pass per row. */
#include <math.h>

#include "internal.h"

#define FNN_TEMPLATE "loss_impl.h"
#include "instantiate.h"
