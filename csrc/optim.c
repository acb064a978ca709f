/* optim.c: the optimiser updates and the L2 term, elementwise over a parameter (see fastnn.h). */
#include <math.h>

#include "internal.h"

/* Arrays an elementwise job of this file touches at most (RMSProp: param, grad and three states). */
#define FNN_OPTIM_ARRAYS 5
/* Elements a thread claims at a time; each element's update is independent of who runs it. */
#define FNN_OPTIM_PIECE 16384

#define FNN_TEMPLATE "optim_impl.h"
#include "instantiate.h"
