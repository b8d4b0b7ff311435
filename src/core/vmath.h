/*
 * vmath.h - exp, sigmoid and tanh written so that loops over arrays vectorize.
 *
 * libm's expf/tanhf are scalar calls (and tanhf goes through expm1f): in an LSTM step they cost
 * more than the recurrent GEMM itself. These versions are branch-free straight-line float code
 * (Cephes' range reduction and minimax polynomials), inlined, so a loop calling them compiles
 * to SIMD; ST_SIMD_CLONES below makes GCC emit AVX-512, AVX2 and baseline versions of a hot
 * loop and pick one at load time, so one binary runs everywhere and fast where it can.
 *
 * Accuracy (tests/unit/test_tensor.c): exp within 2 ulp on [-87, 88]; sigmoid and tanh within
 * 2e-7 relative (tanh near 0 uses its Taylor-like polynomial, so small values keep their
 * relative precision). Inputs are clamped, so the functions never return inf or NaN for finite
 * input; NaN input propagates.
 */
#ifndef ST_VMATH_H
#define ST_VMATH_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(ST_NO_CLONES)
#define ST_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ST_SIMD_CLONES
#endif

/* e^x for x in float range; 2^n is built in the exponent bits (no ldexpf call). */
static inline float st_expf(float x) {
    /* Clamp with comparisons that are false for NaN, so NaN becomes a bound and the integer
     * conversion below always sees a value in range (converting NaN to int is undefined);
     * the NaN is put back at the end. Written as selects, they compile to vmaxps/vminps. */
    float xc = x > -87.0f ? x : -87.0f;
    xc = xc < 88.0f ? xc : 88.0f;
    /* n = round(x / ln 2) by the 1.5*2^23 trick (vectorizes, unlike rintf without SSE4.1). */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    /* r = x - n ln2, with ln2 split in two so r keeps full precision. */
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23; /* 2^n, n in [-126, 127] */
    float s;
    memcpy(&s, &bits, sizeof s);
    return x == x ? e * s : x;
}

static inline float st_sigmoidf(float x) { return 1.0f / (1.0f + st_expf(-x)); }

/* tanh: polynomial on |x| < 0.625 (keeps relative precision near 0), 1 - 2/(e^{2|x|} + 1)
 * above; both are computed and one is selected, which is what lets the loop vectorize. */
static inline float st_tanhf(float x) {
    float ax = x < 0 ? -x : x;
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float big = 1.0f - 2.0f / (st_expf(2.0f * (ax > 9.0f ? 9.0f : ax)) + 1.0f);
    big = x < 0 ? -big : big;
    return ax < 0.625f ? small : big;
}

#endif
