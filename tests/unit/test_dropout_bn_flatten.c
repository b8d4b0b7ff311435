/*
 * test_dropout_bn_flatten.c - the dropout masks and the dropout layer, batch_norm and flatten
 * (the recurrent layers' dropout: test_recurrent_dropout.c; model-level tests: test_model.c).
 *
 * Dropout masks are pure functions of (seed, epoch, sample id, layer, unit), so a training-mode
 * forward is a fixed function of its inputs and the ordinary finite-difference check applies
 * to it unchanged. That purity is also what makes the masks independent of the number of
 * ranks: a row gets the same mask alone as inside any batch, which is tested directly.
 * batch_norm runs here on a one-rank "distribution" (its allreduce is the identity); the MPI
 * suite checks its shards against the whole batch.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer_impl.h"
#include "testutil.h"

/* ---- dropout masks ------------------------------------------------------------------------- */

START_TEST(mask_is_pure_and_rank_independent) {
    enum { N = 20000 };
    static float a[2 * N], b1[N], c[N];
    int64_t ids2[2] = {41, 7}, ids1[1] = {7};
    st_layer_in in2 = {.sample_ids = ids2, .seed = 42, .epoch = 3};
    st_layer_in in1 = {.sample_ids = ids1, .seed = 42, .epoch = 3};
    st_dropout_mask(a, 2, N, 0.25f, &in2, 1234);
    st_dropout_mask(b1, 1, N, 0.25f, &in1, 1234);
    /* sample 7 gets the same mask alone (a rank holding only it) as second row of a batch */
    ck_assert_int_eq(memcmp(a + N, b1, sizeof b1), 0);
    /* values are 0 or 1/(1-rate), about rate of them 0 */
    size_t zeros = 0;
    for (int i = 0; i < N; i++) {
        ck_assert(b1[i] == 0.0f || fabsf(b1[i] - 1.0f / 0.75f) < 1e-6f);
        zeros += b1[i] == 0.0f;
    }
    ck_assert_msg(fabs((double)zeros / N - 0.25) < 0.02, "drop fraction %g", (double)zeros / N);
    /* another epoch, sample, stream or seed: another mask */
    in1.epoch = 4;
    st_dropout_mask(c, 1, N, 0.25f, &in1, 1234);
    ck_assert_int_ne(memcmp(c, b1, sizeof c), 0);
    in1.epoch = 3;
    st_dropout_mask(c, 1, N, 0.25f, &in1, 1235);
    ck_assert_int_ne(memcmp(c, b1, sizeof c), 0);
    in1.seed = 43;
    st_dropout_mask(c, 1, N, 0.25f, &in1, 1234);
    ck_assert_int_ne(memcmp(c, b1, sizeof c), 0);
    ck_assert_int_ne(memcmp(a, a + N, N * sizeof(float)), 0);
}
END_TEST

/* ---- dropout layer ------------------------------------------------------------------------- */

START_TEST(dropout_layer) {
    const char *keys[] = {"rate", "0.4", NULL};
    for (int seq = 0; seq < 2; seq++) {
        st_shape in = {.seq = seq ? MAXT : 0, .feat = 3};
        st_test_layer t;
        st_test_layer_make(&t, &st_dropout_ops, keys, in, MAXB, MAXT, 1);
        int T = seq ? GT : 1;
        size_t n = (size_t)T * GB * 3;
        float x[MAXT * MAXB * 3];
        st_test_fill_uniform(x, n, -1, 1, 5);
        double e = st_test_gradcheck(&t, x, NULL, NULL, GB, GT, GC_EPS, GC_RTOL, GC_ATOL);
        ck_assert_msg(e <= 1, "dropout gradcheck seq=%d: %g", seq, e);
        /* training: every output is 0 or x / 0.6; inference: x */
        st_layer_in li = {.x = x, .seed = 1, .epoch = 0};
        t.L.ops->forward(&t.L, &li, GB, GT, 1);
        size_t zeros = 0;
        for (size_t i = 0; i < n; i++) {
            ck_assert(t.L.out[i] == 0.0f || fabsf(t.L.out[i] - x[i] / 0.6f) < 1e-6f);
            zeros += t.L.out[i] == 0.0f;
        }
        ck_assert(zeros > 0 && zeros < n);
        t.L.ops->forward(&t.L, &li, GB, GT, 0);
        ck_assert_int_eq(memcmp(t.L.out, x, n * sizeof(float)), 0);
        /* backward after an inference forward passes dout through */
        for (size_t i = 0; i < n; i++) t.L.dout[i] = 1.0f;
        memset(t.dx, 0, n * sizeof(float));
        t.L.ops->backward(&t.L, &li, t.dx, GB, GT);
        for (size_t i = 0; i < n; i++) ck_assert_float_eq(t.dx[i], 1.0f);
        st_test_layer_free(&t);
    }
}
END_TEST

/* ---- batch_norm ---------------------------------------------------------------------------- */

START_TEST(batch_norm_params_and_grad) {
    st_shape in = {.seq = 0, .feat = 3};
    st_test_layer t;
    st_test_layer_make(&t, &st_batch_norm_ops, NULL, in, MAXB, 1, 1);
    st_layer *L = &t.L;
    ck_assert_int_eq(L->nparam, 4);
    ck_assert_str_eq(L->param[0].name, "gamma");
    ck_assert_str_eq(L->param[1].name, "beta");
    ck_assert_str_eq(L->param[2].name, "moving_mean");
    ck_assert_str_eq(L->param[3].name, "moving_variance");
    ck_assert(!L->param[0].nontrainable && !L->param[1].nontrainable);
    ck_assert(L->param[2].nontrainable && L->param[3].nontrainable);
    ck_assert_int_eq(L->collective, 1);
    ck_assert_float_eq(L->param[0].w[1], 1.0f);
    ck_assert_float_eq(L->param[3].w[1], 1.0f);
    /* gamma, beta away from their defaults; x with a large mean (the shifted sums) */
    st_test_fill_uniform(L->param[0].w, 6, 0.5f, 1.5f, 3);
    float x[MAXB * 3];
    st_test_fill_uniform(x, sizeof x / sizeof x[0], 99, 101, 4);
    double e = st_test_gradcheck(&t, x, NULL, NULL, GB, 1, 1e-2f, GC_RTOL, 2e-3);
    ck_assert_msg(e <= 1, "batch_norm gradcheck: %g", e);

    /* forward values against the formulas, and one moving-statistics update */
    for (int f = 0; f < 3; f++) L->param[2].w[f] = 0, L->param[3].w[f] = 1;
    st_layer_in li = {.x = x};
    L->ops->forward(L, &li, GB, 1, 1);
    for (int f = 0; f < 3; f++) {
        double mu = 0, var = 0;
        for (int b = 0; b < GB; b++) mu += x[b * 3 + f];
        mu /= GB;
        for (int b = 0; b < GB; b++) var += (x[b * 3 + f] - mu) * (x[b * 3 + f] - mu);
        var /= GB; /* biased, as Keras */
        for (int b = 0; b < GB; b++) {
            double want = L->param[0].w[f] * (x[b * 3 + f] - mu) / sqrt(var + 1e-3) +
                          L->param[1].w[f];
            ck_assert_msg(fabs(L->out[b * 3 + f] - want) < 1e-4, "f=%d b=%d", f, b);
        }
        ck_assert(fabs(L->param[2].w[f] - 0.01 * mu) < 1e-4);
        ck_assert(fabs(L->param[3].w[f] - (0.99 + 0.01 * var)) < 1e-6);
    }
    /* inference uses the moving statistics */
    L->ops->forward(L, &li, GB, 1, 0);
    for (int f = 0; f < 3; f++)
        for (int b = 0; b < GB; b++) {
            double want = L->param[0].w[f] * (x[b * 3 + f] - L->param[2].w[f]) /
                              sqrt(L->param[3].w[f] + 1e-3) + L->param[1].w[f];
            ck_assert(fabs(L->out[b * 3 + f] - want) < 1e-3);
        }
    st_test_layer_free(&t);

    /* center / scale off: fewer parameters; a frozen layer needs no collectives */
    const char *k2[] = {"center", "false", "scale", "false", "trainable", "false", NULL};
    st_test_layer_make(&t, &st_batch_norm_ops, k2, in, MAXB, 1, 1);
    ck_assert_int_eq(t.L.nparam, 2);
    ck_assert_str_eq(t.L.param[0].name, "moving_mean");
    ck_assert_int_eq(t.L.collective, 0);
    st_test_layer_free(&t);
    /* sequences are refused with a hint */
    st_layer L2;
    st_layer_create(&L2, &st_batch_norm_ops, "bn");
    ck_assert_int_eq(st_batch_norm_ops.build(&L2, (st_shape){.seq = 4, .feat = 3}), ST_ERR);
}
END_TEST

/* ---- flatten ------------------------------------------------------------------------------- */

START_TEST(flatten_layout_and_grad) {
    st_shape in = {.seq = GT, .feat = 2};
    st_test_layer t;
    st_test_layer_make(&t, &st_flatten_ops, NULL, in, MAXB, GT, 1);
    ck_assert_int_eq(t.L.oshape.seq, 0);
    ck_assert_int_eq(t.L.oshape.feat, GT * 2);
    float x[GT * MAXB * 2];
    st_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1, 4);
    st_layer_in li = {.x = x};
    t.L.ops->forward(&t.L, &li, GB, GT, 0);
    /* Keras order: out[b, t*F + f] = x[b, t, f], our x is (T, B, F) */
    for (int b = 0; b < GB; b++)
        for (int tt = 0; tt < GT; tt++)
            for (int f = 0; f < 2; f++)
                ck_assert_float_eq(t.L.out[b * GT * 2 + tt * 2 + f], x[(tt * GB + b) * 2 + f]);
    double e = st_test_gradcheck(&t, x, NULL, NULL, GB, GT, GC_EPS, GC_RTOL, GC_ATOL);
    ck_assert_msg(e <= 1, "flatten gradcheck: %g", e);
    st_test_layer_free(&t);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("dropout_bn_flatten");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"dropout_mask", mask_is_pure_and_rank_independent},
        {"dropout_layer", dropout_layer},
        {"batch_norm", batch_norm_params_and_grad},
        {"flatten", flatten_layout_and_grad},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void) { return st_test_run(suite()); }
