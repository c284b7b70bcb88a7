/*
** A seeded pseudo-random generator (xoshiro256**, seeded through
** splitmix64), so that training with the same seed gives the same weights
** on every platform. Plain C with no SQLite calls.
*/
#ifndef CLAIM_RNG_H
#define CLAIM_RNG_H

#include <stdint.h>

typedef struct Rng {
  uint64_t s[4];
} Rng;

void rng_seed(Rng *rng, uint64_t seed);
uint64_t rng_next(Rng *rng);

/* Uniform in [0, 1), with 53 random bits. */
double rng_uniform(Rng *rng);

/* Uniform integer in [0, n), without modulo bias. n > 0. */
uint64_t rng_below(Rng *rng, uint64_t n);

/* Fisher-Yates shuffle of n ints. */
void rng_shuffle(Rng *rng, int *items, int n);

#endif
