/*
 * test_xsum.c - the exact sums behind deterministic reduction (src/core/xsum.c): the same bits
 * for any order and any split of the terms (what makes 1, 2, 3 or 4 ranks agree), accuracy
 * against a reference, and the edge cases: zeros, NaN, infinities, denormals, the window's
 * ends, cancellation.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seqtrain/rng.h"
#include "core/xsum.h"
#include "testutil.h"

/* Values spanning many magnitudes and both signs, so float sums in different orders differ. */
static void fill(float *x, size_t n, uint64_t seed) {
    st_rng r = st_rng_make(seed, 7);
    for (size_t i = 0; i < n; i++) {
        double u = st_rng_normal(&r);
        int e = (int)st_rng_below(&r, 40) - 20;
        x[i] = (float)ldexp(u, e);
    }
}

START_TEST(fx_exponent_bounds) {
    float a[4] = {0.5f, -3.0f, 1e-3f, 0};
    ck_assert_int_eq(st_fx_exponent(a, 4), 2); /* 3 < 2^2 */
    float p2[1] = {4.0f};
    ck_assert_int_eq(st_fx_exponent(p2, 1), 3); /* 4 < 2^3, not 2^2 */
    float z[3] = {0, -0.0f, 0};
    ck_assert_int_eq(st_fx_exponent(z, 3), ST_FX_ZERO);
    float d[2] = {1e-45f, 0};
    ck_assert_int_eq(st_fx_exponent(d, 2), -148); /* the smallest denormal is 2^-149 */
    float bad[3] = {1, NAN, 2};
    ck_assert_int_eq(st_fx_exponent(bad, 3), ST_FX_NONFINITE);
    bad[1] = -INFINITY;
    ck_assert_int_eq(st_fx_exponent(bad, 3), ST_FX_NONFINITE);
}
END_TEST

/* 64 "blocks" of 257 values summed per element: one accumulator in block order, one in
 * reverse order split into 3 "ranks" added at the end: the same integers, the same floats,
 * and close to the exact (double) sum. */
START_TEST(fx_order_free) {
    enum { NB = 64, N = 257 };
    float *x = malloc(sizeof(float) * NB * N);
    fill(x, (size_t)NB * N, 3);
    int E = ST_FX_ZERO;
    for (int k = 0; k < NB; k++) {
        int e = st_fx_exponent(x + k * N, N);
        E = e > E ? e : E;
    }
    int64_t a[N] = {0}, r0[N] = {0}, r1[N] = {0}, r2[N] = {0};
    for (int k = 0; k < NB; k++) st_fx_add(x + k * N, N, st_fx_shift(E, NB), a);
    for (int k = NB - 1; k >= 0; k--) {
        int64_t *r = k < 20 ? r0 : k < 41 ? r1 : r2;
        st_fx_add(x + k * N, N, st_fx_shift(E, NB), r);
    }
    for (int i = 0; i < N; i++) ck_assert(r2[i] + r0[i] + r1[i] == a[i]);
    float fa[N], fb[N];
    st_fx_to_float(a, N, st_fx_shift(E, NB), fa);
    for (int i = 0; i < N; i++) a[i] = r1[i] + r2[i] + r0[i];
    st_fx_to_float(a, N, st_fx_shift(E, NB), fb);
    ck_assert(memcmp(fa, fb, sizeof fa) == 0);
    for (int i = 0; i < N; i++) {
        double ref = 0, mag = 0;
        for (int k = 0; k < NB; k++) ref += x[k * N + i], mag += fabs(x[k * N + i]);
        /* float rounding of the result plus 64 roundings at 2^(E-51) */
        ck_assert_msg(fabs(fa[i] - ref) <= 1e-7 * fabs(ref) + 64 * ldexp(1, E - 51) + 1e-12 * mag,
                      "element %d: %g vs %g", i, fa[i], ref);
    }
    free(x);
}
END_TEST

/* The largest value the format admits (just below 2^E) and ties round to even. */
START_TEST(fx_edges) {
    float m[2] = {nextafterf(8.0f, 0), -nextafterf(8.0f, 0)};
    int E = st_fx_exponent(m, 2);
    ck_assert_int_eq(E, 3);
    int64_t acc[2] = {0, 0};
    for (int k = 0; k < ST_FX_MAX_TERMS; k++) st_fx_add(m, 2, st_fx_shift(E, ST_FX_MAX_TERMS), acc);
    float out[2];
    st_fx_to_float(acc, 2, st_fx_shift(E, ST_FX_MAX_TERMS), out);
    ck_assert_float_eq(out[0], (float)(ST_FX_MAX_TERMS * (double)m[0]));
    ck_assert_float_eq(out[1], -out[0]);
    /* 2^-60 at E = 0 is half a unit of 2^-51... far below: rounds to 0; 1.5 units -> 2 */
    float t[2] = {0x1p-60f, 0x1.8p-51f};
    int64_t b[2] = {0, 0};
    st_fx_add(t, 2, st_fx_shift(0, 1), b);
    ck_assert(b[0] == 0 && b[1] == 2);
    /* More terms than ST_FX_MAX_TERMS: one bit of headroom per doubling, the sum still fits */
    ck_assert_int_eq(st_fx_shift(0, ST_FX_MAX_TERMS), 51);
    ck_assert_int_eq(st_fx_shift(0, ST_FX_MAX_TERMS + 1), 50);
    ck_assert_int_eq(st_fx_shift(3, 1 << 20), 40);
    /* add_clear: the same integers, and the input left zero */
    float c[3] = {1.5f, -2.25f, 0x1p-30f};
    int64_t u[3] = {0, 0, 0}, v[3] = {0, 0, 0};
    st_fx_add(c, 3, st_fx_shift(1, 1), u);
    st_fx_add_clear(c, 3, st_fx_shift(1, 1), v);
    ck_assert(memcmp(u, v, sizeof u) == 0);
    ck_assert(c[0] == 0 && c[1] == 0 && c[2] == 0);
}
END_TEST

/* The fixed window: any split, any order, the same double; exact cancellation. */
START_TEST(xsum_order_free) {
    enum { N = 5000 };
    double *v = malloc(sizeof(double) * N);
    st_rng r = st_rng_make(11, 1);
    for (int i = 0; i < N; i++) v[i] = ldexp(st_rng_normal(&r), (int)st_rng_below(&r, 120) - 60);
    st_xsum a = {{0}}, p[4];
    memset(p, 0, sizeof p);
    for (int i = 0; i < N; i++) st_xsum_add(&a, v[i]);
    for (int i = N - 1; i >= 0; i--) st_xsum_add(&p[i % 4], v[i]);
    st_xsum b = {{0}};
    for (int k = 3; k >= 0; k--)
        for (int w = 0; w < ST_XSUM_WORDS; w++) b.w[w] += p[k].w[w];
    double va = st_xsum_value(&a), vb = st_xsum_value(&b);
    ck_assert(memcmp(&va, &vb, sizeof va) == 0);
    long double ref = 0;
    for (int i = 0; i < N; i++) ref += v[i];
    ck_assert_msg(fabsl((long double)va - ref) <= 1e-15L * fabsl(ref) + 1e-30L, "%g vs %Lg", va,
                  ref);
    /* x + y - x - y is exactly 0, whatever the magnitudes */
    st_xsum c = {{0}};
    st_xsum_add(&c, 1e30);
    st_xsum_add(&c, 3e-20);
    st_xsum_add(&c, -1e30);
    st_xsum_add(&c, -3e-20);
    ck_assert(st_xsum_value(&c) == 0.0);
    free(v);
}
END_TEST

START_TEST(xsum_specials) {
    st_xsum s = {{0}};
    st_xsum_add(&s, 1.0);
    st_xsum_add(&s, INFINITY);
    ck_assert(isinf(st_xsum_value(&s)) && st_xsum_value(&s) > 0);
    st_xsum_add(&s, -INFINITY);
    ck_assert(isnan(st_xsum_value(&s)));
    st_xsum n = {{0}};
    st_xsum_add(&n, NAN);
    st_xsum_add(&n, 2.0);
    ck_assert(isnan(st_xsum_value(&n)));
    st_xsum big = {{0}};
    st_xsum_add(&big, -0x1p112); /* beyond the window: an infinity of its sign */
    ck_assert(isinf(st_xsum_value(&big)) && st_xsum_value(&big) < 0);
    st_xsum tiny = {{0}};
    st_xsum_add(&tiny, 0x1p-112);
    st_xsum_add(&tiny, 0x1p-113); /* below the window: cut */
    ck_assert(st_xsum_value(&tiny) == 0x1p-112);
    st_xsum neg = {{0}};
    st_xsum_add(&neg, -2.5);
    st_xsum_add(&neg, 1.25);
    ck_assert(st_xsum_value(&neg) == -1.25);
}
END_TEST

static Suite *xsum_suite(void) {
    Suite *s = suite_create("xsum");
    TCase *tc = tcase_create("fixed_point");
    tcase_add_test(tc, fx_exponent_bounds);
    tcase_add_test(tc, fx_order_free);
    tcase_add_test(tc, fx_edges);
    tcase_add_test(tc, xsum_order_free);
    tcase_add_test(tc, xsum_specials);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(xsum_suite()); }
