/* engine.c: whole runs of training steps in one call (see fastnn.h). */
#include <math.h>
#include <string.h>

#include "internal.h"

/* Every workspace region starts on a cache line: no false sharing between the
   buffers two threads write, and aligned vector loads where kernels use them. */
#define FNN_WS_ALIGN 64

static size_t ws_round(size_t bytes)
{
    return (bytes + FNN_WS_ALIGN - 1) / FNN_WS_ALIGN * FNN_WS_ALIGN;
}

/* Carve `bytes` from the workspace cursor; with a NULL base only count. */
static void *ws_take(unsigned char *base, size_t *used, size_t bytes)
{
    void *p = base ? base + *used : NULL;
    *used += ws_round(bytes);
    return p;
}

#define FNN_TEMPLATE "engine_impl.h"
#include "instantiate.h"
