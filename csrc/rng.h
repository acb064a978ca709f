/*
 * rng.h: the counter-based random numbers of dropout, the one definition of the
 * generator (fastnn.reference.dropout_mask writes the same arithmetic in NumPy).
 *
 * Element i (row-major in the (n, d) batch) of the pass `step` of a dropout
 * layer with seed `seed` draws
 *     key = mix64(seed + GOLDEN (step + 1)),   r = mix64(key + GOLDEN (i + 1)),
 *     u = (r >> 11) 2^-53, uniform in [0, 1),
 * with mix64 SplitMix64's finaliser and all arithmetic modulo 2^64. The element is
 * kept when u >= p. A pure function of (seed, step, i): any split of the rows
 * between threads, and any engine that repeats these lines, draws the same mask.
 */
#ifndef FASTNN_RNG_H
#define FASTNN_RNG_H

#include <math.h>
#include <stdint.h>

#define FNN_GOLDEN 0x9E3779B97F4A7C15ULL

/* SplitMix64's finaliser */
static inline uint64_t fnn_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* the key of one pass */
static inline uint64_t fnn_dropout_key(uint64_t seed, int64_t step)
{
    return fnn_mix64(seed + FNN_GOLDEN * ((uint64_t)step + 1));
}

/*
 * u >= p for p in [0, 1), as an integer comparison: u = (r >> 11) 2^-53 is exact,
 * and p 2^53 is exact (a power-of-two scaling below 2^53), so u >= p holds exactly
 * when the integer r >> 11 reaches ceil(p 2^53). This returns that threshold.
 */
static inline uint64_t fnn_dropout_threshold(double p)
{
    return (uint64_t)ceil(p * 0x1.0p53);
}

/* is element `index` of the pass with this key kept? */
static inline int fnn_dropout_keep(uint64_t key, uint64_t index, uint64_t threshold)
{
    return (fnn_mix64(key + FNN_GOLDEN * (index + 1)) >> 11) >= threshold;
}

#endif
