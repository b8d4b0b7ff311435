/*
 * xsum.c - exact, order-free sums (the why and the formats are in xsum.h).
 */
#include "core/xsum.h"
#include "core/vmath.h"

#include <math.h>
#include <string.h>

/* The clones: AVX-512 / AVX2 where the CPU has them. Every operation here is exact or
 * correctly rounded, so all three versions give the same bits. */
ST_SIMD_CLONES
int st_fx_exponent(const float *x, size_t n) {
    /* The largest magnitude through the bits: branch-free over the array, so it vectorizes.
     * Exponent bits all ones = inf or NaN; comparing the magnitudes' bit patterns as integers
     * orders them as floats. */
    uint32_t mx = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &x[i], sizeof b);
        b &= 0x7fffffffu;
        mx = b > mx ? b : mx;
    }
    if (mx == 0) return ST_FX_ZERO;
    if (mx >= 0x7f800000u) return ST_FX_NONFINITE;
    float m;
    memcpy(&m, &mx, sizeof m);
    int e;
    (void)frexpf(m, &e); /* m = f * 2^e, 0.5 <= f < 1: m < 2^e */
    return e;
}

/* rint through the double format: adding 1.5 * 2^52 leaves the rounded integer in the low
 * mantissa bits (round to nearest even, the default mode), exact for |v| < 2^51. Plain adds
 * and integer subtracts, so the loop vectorizes on AVX2, which has no double -> int64
 * conversion. */
static const double k_magic = 6755399441055744.0; /* 1.5 * 2^52 */

/* acc[i] += rint(x[i] 2^shift); x[i] = 0 after it is read when clear (a constant after
 * inlining, so each caller's loop vectorizes on its own). */
static inline void fx_add(float *x, size_t n, int shift, int64_t *acc, int clear) {
    const double s = ldexp(1.0, shift);
    int64_t mb;
    memcpy(&mb, &k_magic, sizeof mb);
    for (size_t i = 0; i < n; i++) {
        double t = (double)x[i] * s + k_magic;
        int64_t b;
        memcpy(&b, &t, sizeof b);
        acc[i] += b - mb;
        if (clear) x[i] = 0;
    }
}

ST_SIMD_CLONES
void st_fx_add(const float *x, size_t n, int shift, int64_t *acc) {
    fx_add((float *)x, n, shift, acc, 0); /* clear = 0: x is only read */
}

ST_SIMD_CLONES
void st_fx_add_clear(float *x, size_t n, int shift, int64_t *acc) {
    fx_add(x, n, shift, acc, 1);
}

ST_SIMD_CLONES
void st_fx_to_float(const int64_t *acc, size_t n, int shift, float *out) {
    const double s = ldexp(1.0, -shift);
    for (size_t i = 0; i < n; i++) out[i] = (float)((double)acc[i] * s);
}

/* ---- fixed window: limb i holds bits [32 i, 32 i + 32) of |v| * 2^112, with v's sign ---- */
enum { W_NAN = ST_XSUM_LIMBS, W_PINF, W_NINF };
#define XSUM_LOW 112 /* the window starts at 2^-112 */

void st_xsum_add(st_xsum *s, double v) {
    if (isnan(v)) {
        s->w[W_NAN]++;
        return;
    }
    if (fabs(v) >= 0x1p111) { /* inf, or finite beyond the window */
        s->w[v > 0 ? W_PINF : W_NINF]++;
        return;
    }
    if (v == 0) return;
    int e;
    double f = frexp(fabs(v), &e); /* |v| = f 2^e, 0.5 <= f < 1 */
    uint64_t m = (uint64_t)ldexp(f, 53); /* exact: |v| = m 2^(e - 53) */
    int p = e - 53 + XSUM_LOW;          /* |v| 2^112 = m 2^p */
    const int64_t sign = v < 0 ? -1 : 1;
    for (int i = 0; i < ST_XSUM_LIMBS; i++) {
        int sh = p - 32 * i; /* limb i = bits [0, 32) of m 2^sh */
        uint64_t d;
        if (sh >= 32 || sh <= -64)
            d = 0;
        else if (sh >= 0)
            d = (m << sh) & 0xffffffffu; /* bits above 64 fall off; the low 32 are right */
        else
            d = (m >> -sh) & 0xffffffffu;
        s->w[i] += sign * (int64_t)d;
    }
}

double st_xsum_value(const st_xsum *s) {
    if (s->w[W_NAN] > 0 || (s->w[W_PINF] > 0 && s->w[W_NINF] > 0)) return NAN;
    if (s->w[W_PINF] > 0) return INFINITY;
    if (s->w[W_NINF] > 0) return -INFINITY;
    /* Canonical limbs: every limb but the top in [0, 2^32), the top signed. */
    int64_t l[ST_XSUM_LIMBS];
    memcpy(l, s->w, sizeof l);
    for (int i = 0; i < ST_XSUM_LIMBS - 1; i++) {
        int64_t carry = l[i] >> 32; /* arithmetic shift: floor division */
        l[i] -= carry * ((int64_t)1 << 32);
        l[i + 1] += carry;
    }
    double v = (double)l[ST_XSUM_LIMBS - 1];
    for (int i = ST_XSUM_LIMBS - 2; i >= 0; i--) v = v * 0x1p32 + (double)l[i];
    return ldexp(v, -XSUM_LOW);
}
