/* rng.c: the counter-based random numbers of dropout.
 *
 * A mask element is a pure function of (seed, step, element index), so a
 * pass can be recomputed anywhere (the NumPy reference, another thread count)
 * and gives the same bits. SplitMix64's finaliser is the mixing function;
 * fastnn.layers.dropout_mask writes the same arithmetic in NumPy.
 */
#include "internal.h"

#define FNN_GOLDEN 0x9E3779B97F4A7C15ULL

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct {
    uint64_t key;
    double p;
    unsigned char *keep;
} mask_job;

static void mask_range(void *ctx, fnn_index begin, fnn_index end)
{
    const mask_job *job = ctx;
    for (fnn_index i = begin; i < end; ++i) {
        const uint64_t r = mix64(job->key + FNN_GOLDEN * ((uint64_t)i + 1));
        /* the top 53 bits as a double in [0, 1): exact, as in NumPy */
        const double u = (double)(r >> 11) * 0x1.0p-53;
        job->keep[i] = u >= job->p;
    }
}

void fnn_dropout_mask(uint64_t seed, int64_t step, fnn_index count, double p, unsigned char *keep)
{
    mask_job job = {mix64(seed + FNN_GOLDEN * ((uint64_t)step + 1)), p, keep};
    fnn_parallel_for(fnn_threads_for((double)count * 4.0), count, 16384, mask_range, &job);
}
