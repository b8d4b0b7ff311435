/*
 * rng.h - counter-based random numbers.
 *
 * Every random draw is a pure function of (seed, stream, counter), so a value never depends on
 * how many draws came before it on this process. That is what makes initialization identical on
 * every rank and shuffles identical for any number of ranks: the stream names the purpose
 * (a parameter tensor, an epoch's shuffle), the counter the position inside it.
 */
#ifndef SEQTRAIN_RNG_H
#define SEQTRAIN_RNG_H

#include <stdint.h>

typedef struct st_rng {
    uint64_t seed;
    uint64_t stream;
    uint64_t counter;
} st_rng;

/* A 64-bit hash of the three words (a splitmix64-style finalizer over a mix of them). */
uint64_t st_rng_hash(uint64_t seed, uint64_t stream, uint64_t counter);
st_rng st_rng_make(uint64_t seed, uint64_t stream);
uint64_t st_rng_next(st_rng *r);  /* next 64 random bits; advances counter */
float st_rng_uniform(st_rng *r);  /* [0, 1) */
float st_rng_normal(st_rng *r);   /* N(0, 1), Box-Muller */
/* Uniform integer in [0, n). */
uint64_t st_rng_below(st_rng *r, uint64_t n);
/* Stream id for a string (FNV-1a), e.g. a parameter's "lstm_1/kernel". */
uint64_t st_rng_stream_of(const char *name);

#endif
