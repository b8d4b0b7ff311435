/*
 * rng.c - counter-based random numbers (see rng.h for why counter-based).
 *
 * The generator is a hash: value = mix(seed, stream, counter). The mix is splitmix64's
 * finalizer applied over the three words; its avalanche is good enough for initialization,
 * shuffling and dropout masks, and it costs a few multiplies per draw.
 *
 * Data layout: st_rng is three words (seed, stream, counter) on the caller's stack; no global
 * state, so draws are reproducible for any number of ranks or threads. Not here: deciding
 * which stream a use gets (the callers name theirs: the shuffle, each layer's init, dropout).
 */
#include <math.h>

#include "seqtrain/rng.h"

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t st_rng_hash(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ (stream + 0x632be59bd9b4e019ULL));
    return mix64(h ^ (counter * 0x9e3779b97f4a7c15ULL + 0x8cb92ba72f3d8dd7ULL));
}

st_rng st_rng_make(uint64_t seed, uint64_t stream) {
    st_rng r = {seed, stream, 0};
    return r;
}

uint64_t st_rng_next(st_rng *r) { return st_rng_hash(r->seed, r->stream, r->counter++); }

float st_rng_uniform(st_rng *r) {
    /* 24 high bits: every float in [0, 1) with step 2^-24, never 1.0. */
    return (float)(st_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

float st_rng_normal(st_rng *r) {
    /* Box-Muller on 53-bit doubles; u1 in (0, 1] so log() is finite. */
    double u1 = ((double)(st_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(st_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t st_rng_below(st_rng *r, uint64_t n) {
    /* Lemire's multiply-shift; the bias (< n / 2^64) is irrelevant at our sizes. */
    return (uint64_t)(((__uint128_t)st_rng_next(r) * n) >> 64);
}

uint64_t st_rng_stream_of(const char *name) {
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}
