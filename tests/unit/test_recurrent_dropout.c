/*
 * test_recurrent_dropout.c - dropout and recurrent_dropout of the recurrent layers: simple_rnn,
 * lstm and gru, and bidirectional around each.
 *
 *   - gradient checks in training mode (the masks are pure functions of seed, epoch, sample id,
 *     stream and unit, so a training forward is a fixed function and finite differences apply);
 *   - gru against a hand-written reference (double precision, Keras GRUCell equations) given
 *     the same masks: one mask per sequence shared by the three gates and every step, the
 *     recurrent mask only on what feeds the recurrent projection, the carried state unmasked;
 *   - inference (train = 0) gives exactly the no-dropout layer's output, training does not;
 *     a row gives the same training output alone as inside a batch (masks keyed by sample id);
 *   - bidirectional: each direction equals a standalone layer named "<name>/forward" or
 *     "<name>/backward" (the backward one on the reversed sequence) with the same context, and
 *     the two directions draw different masks, also for a name of the maximum length.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/rnn.h"
#include "testutil.h"





static double gradcheck(const st_layer_ops *ops, const char *const *keys, int I, int masked,
                        uint64_t seed) {
    st_test_layer t;
    st_test_layer_make(&t, ops, keys, (st_shape){.seq = MAXT, .feat = I}, MAXB, MAXT, seed);
    st_test_scramble(&t, seed + 1);
    float x[MAXT * MAXB * 4];
    ck_assert(I <= 4);
    st_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1, seed + 2);
    uint8_t mask[MAXT * MAXB];
    st_test_make_mask(MASK_POST, st_test_gc_lens, GB, GT, mask);
    double e = st_test_gradcheck(&t, x, NULL, masked ? mask : NULL, GB, GT, GC_EPS, GC_RTOL,
                                 GC_ATOL);
    st_test_layer_free(&t);
    return e;
}

/* ---- gru: gradient checks ------------------------------------------------------------------ */

START_TEST(gru_dropout_gradcheck) {
    /* dropout only, recurrent_dropout only, both */
    static const char *const rates[3][2] = {{"0.3", "0"}, {"0", "0.4"}, {"0.3", "0.4"}};
    static const char *const acts[2][2] = {{"tanh", "sigmoid"},     /* the fused fast path */
                                           {"sigmoid", "sigmoid"}}; /* the general one */
    int n = 0;
    for (int r = 0; r < 3; r++)
        for (int a = 0; a < 2; a++)
            for (int rs = 0; rs < 2; rs++)
                for (int masked = 0; masked < 2; masked++) {
                    const char *keys[] = {"units", "3", "dropout", rates[r][0],
                                          "recurrent_dropout", rates[r][1], "activation",
                                          acts[a][0], "recurrent_activation", acts[a][1],
                                          "return_sequences", rs ? "true" : "false", NULL};
                    double e = gradcheck(&st_gru_ops, keys, 2, masked, 700 + 10 * n++);
                    ck_assert_msg(e <= 1, "gru dropout=%s rec=%s act=%s rs=%d mask=%d: %g",
                                  rates[r][0], rates[r][1], acts[a][0], rs, masked, e);
                }
    /* no bias */
    const char *nob[] = {"units", "3", "dropout", "0.3", "recurrent_dropout", "0.4", "use_bias",
                         "false", NULL};
    ck_assert(gradcheck(&st_gru_ops, nob, 2, 1, 900) <= 1);
}
END_TEST

/* ---- gru: against a reference -------------------------------------------------------------- */

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

/* Keras GRUCell (reset_after = True, tanh / sigmoid) for one row: x (T, I) row-major,
 * W (I, 3U), Uw (U, 3U), bias (2, 3U) or NULL, masks mx (I), mh (U) or NULL; writes the states
 * h_1..h_T to hs (T, U). */
static void ref_gru_row(const float *x, int T, int I, int U, const float *W, const float *Uw,
                        const float *bias, const float *mx, const float *mh, double *hs) {
    double h[16] = {0}, xd[16], hd[16], gx[48], gh[48];
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < I; i++) xd[i] = x[t * I + i] * (mx ? mx[i] : 1.0f);
        for (int j = 0; j < U; j++) hd[j] = h[j] * (mh ? mh[j] : 1.0f);
        for (int k = 0; k < 3 * U; k++) {
            gx[k] = bias ? bias[k] : 0;
            gh[k] = bias ? bias[3 * U + k] : 0;
            for (int i = 0; i < I; i++) gx[k] += xd[i] * W[i * 3 * U + k];
            for (int j = 0; j < U; j++) gh[k] += hd[j] * Uw[j * 3 * U + k];
        }
        for (int j = 0; j < U; j++) {
            double z = sigm(gx[j] + gh[j]), r = sigm(gx[U + j] + gh[U + j]);
            double hh = tanh(gx[2 * U + j] + r * gh[2 * U + j]);
            h[j] = z * h[j] + (1 - z) * hh; /* the carried state is not masked */
            hs[t * U + j] = h[j];
        }
    }
}

START_TEST(gru_dropout_reference) {
    enum { I = 3, U = 4, T = 5, B = 3 };
    static const char *const rates[3][2] = {{"0.5", "0"}, {"0", "0.5"}, {"0.4", "0.5"}};
    for (int r = 0; r < 3; r++) {
        const char *keys[] = {"name", "g", "units", "4", "dropout", rates[r][0],
                              "recurrent_dropout", rates[r][1], "return_sequences", "true", NULL};
        st_test_layer t;
        st_test_layer_make(&t, &st_gru_ops, keys, (st_shape){.seq = T, .feat = I}, B, T, 5);
        st_test_scramble(&t, 6);
        float x[T * B * I], xr[T * I], mx[B * I], mh[B * U];
        st_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1, 7);
        int64_t ids[B] = {101, 57, 3};
        st_layer_in li = {.x = x, .sample_ids = ids, .seed = 77, .epoch = 5};
        st_gru_ops.forward(&t.L, &li, B, T, 1);
        /* the masks the layer must have used: its name's streams */
        float rx = t.L.opt.rnn.dropout, rh = t.L.opt.rnn.recurrent_dropout;
        if (rx > 0) st_dropout_mask(mx, B, I, rx, &li, st_rnn_dropout_stream(&t.L, 0));
        if (rh > 0) st_dropout_mask(mh, B, U, rh, &li, st_rnn_dropout_stream(&t.L, 1));
        int dropped = 0;
        for (int k = 0; k < B * I; k++) dropped += rx > 0 && mx[k] == 0;
        for (int k = 0; k < B * U; k++) dropped += rh > 0 && mh[k] == 0;
        ck_assert_msg(dropped > 0, "no unit dropped: the test would prove nothing");
        for (int b = 0; b < B; b++) {
            double hs[T * U];
            for (int s = 0; s < T; s++) memcpy(xr + s * I, x + (s * B + b) * I, I * sizeof(float));
            ref_gru_row(xr, T, I, U, t.L.param[0].w, t.L.param[1].w, t.L.param[2].w,
                        rx > 0 ? mx + b * I : NULL, rh > 0 ? mh + b * U : NULL, hs);
            for (int s = 0; s < T; s++)
                for (int j = 0; j < U; j++)
                    ck_assert_msg(fabs(t.L.out[(s * B + b) * U + j] - hs[s * U + j]) < 2e-5,
                                  "rates %s/%s row %d step %d unit %d: %g vs %g", rates[r][0],
                                  rates[r][1], b, s, j, t.L.out[(s * B + b) * U + j],
                                  hs[s * U + j]);
        }
        st_test_layer_free(&t);
    }
}
END_TEST

/* ---- inference identity and batch independence --------------------------------------------- */

/* keys_plain: the layer without dropout; keys_drop: the same with dropout. Both built from the
 * same seed, so their parameters are equal (the dropout keys do not change the shapes). */
static void check_semantics(const st_layer_ops *ops, const char *const *keys_plain,
                            const char *const *keys_drop, int masked, const char *what) {
    enum { I = 2 };
    st_shape in = {.seq = MAXT, .feat = I};
    st_test_layer a, d;
    st_test_layer_make(&a, ops, keys_plain, in, MAXB, MAXT, 3);
    st_test_layer_make(&d, ops, keys_drop, in, MAXB, MAXT, 3);
    ck_assert_uint_eq(a.nparams, d.nparams);
    st_test_scramble(&a, 4);
    memcpy(d.params, a.params, a.nparams * sizeof(float));
    const int O = d.L.oshape.feat, rs = d.L.opt.rnn.return_sequences;
    float x[MAXT * MAXB * I];
    st_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1, 12);
    uint8_t mask[MAXT * MAXB];
    st_test_make_mask(MASK_POST, st_test_gc_lens, GB, GT, mask);
    int64_t ids[GB] = {10, 11, 12, 13};
    st_layer_in li = {.x = x, .mask = masked ? mask : NULL, .sample_ids = ids, .seed = 9,
                      .epoch = 2};
    size_t n = (size_t)(rs ? GT : 1) * GB * O;
    a.L.ops->forward(&a.L, &li, GB, GT, 1);
    d.L.ops->forward(&d.L, &li, GB, GT, 0);
    ck_assert_msg(memcmp(a.L.out, d.L.out, n * sizeof(float)) == 0, "%s: inference differs",
                  what);
    d.L.ops->forward(&d.L, &li, GB, GT, 1);
    ck_assert_msg(memcmp(a.L.out, d.L.out, n * sizeof(float)) != 0, "%s: training unchanged",
                  what);
    /* row 1 (sample 11) alone, as a rank holding only it would run it */
    float full[MAXT * MAXB * 8], xr[MAXT * I];
    uint8_t m1[MAXT];
    ck_assert(n <= sizeof full / sizeof full[0]);
    memcpy(full, d.L.out, n * sizeof(float));
    for (int t = 0; t < GT; t++) {
        memcpy(xr + t * I, x + ((size_t)t * GB + 1) * I, I * sizeof(float));
        m1[t] = mask[t * GB + 1];
    }
    int64_t id1 = 11;
    st_layer_in l1 = {.x = xr, .mask = masked ? m1 : NULL, .sample_ids = &id1, .seed = 9,
                      .epoch = 2};
    d.L.ops->forward(&d.L, &l1, 1, GT, 1);
    for (int t = 0; t < (rs ? GT : 1); t++)
        for (int j = 0; j < O; j++)
            ck_assert_msg(fabsf(d.L.out[t * O + j] - full[((size_t)t * GB + 1) * O + j]) < 1e-6f,
                          "%s: row alone differs at t=%d j=%d", what, t, j);
    st_test_layer_free(&a);
    st_test_layer_free(&d);
}

START_TEST(semantics_all) {
    static const char *const types[] = {"simple_rnn", "lstm", "gru"};
    char what[96];
    for (int rs = 0; rs < 2; rs++)
        for (int masked = 0; masked < 2; masked++) {
            const char *rss = rs ? "true" : "false";
            const char *gp[] = {"units", "3", "return_sequences", rss, NULL};
            const char *gd[] = {"units", "3", "return_sequences", rss, "dropout", "0.5",
                                "recurrent_dropout", "0.5", NULL};
            snprintf(what, sizeof what, "gru rs=%d mask=%d", rs, masked);
            check_semantics(&st_gru_ops, gp, gd, masked, what);
            for (int ty = 0; ty < 3; ty++) {
                const char *bp[] = {"layer", types[ty], "units", "3", "return_sequences", rss,
                                    NULL};
                const char *bd[] = {"layer", types[ty], "units", "3", "return_sequences", rss,
                                    "dropout", "0.5", "recurrent_dropout", "0.5", NULL};
                snprintf(what, sizeof what, "bidirectional(%s) rs=%d mask=%d", types[ty], rs,
                         masked);
                check_semantics(&st_bidirectional_ops, bp, bd, masked, what);
            }
        }
}
END_TEST

/* ---- bidirectional: gradient checks -------------------------------------------------------- */

START_TEST(bidi_dropout_gradcheck) {
    static const char *const types[] = {"simple_rnn", "lstm", "gru"};
    static const char *const merges[] = {"concat", "mul"};
    static const char *const rates[3][2] = {{"0.3", "0"}, {"0", "0.4"}, {"0.3", "0.4"}};
    int n = 0;
    for (int ty = 0; ty < 3; ty++)
        for (int r = 0; r < 3; r++)
            for (int rs = 0; rs < 2; rs++)
                for (int masked = 0; masked < 2; masked++) {
                    const char *keys[] = {"layer", types[ty], "units", "2", "merge_mode",
                                          merges[(r + rs) % 2], "return_sequences",
                                          rs ? "true" : "false", "dropout", rates[r][0],
                                          "recurrent_dropout", rates[r][1], NULL};
                    double e = gradcheck(&st_bidirectional_ops, keys, 2, masked, 1000 + 10 * n++);
                    ck_assert_msg(e <= 1, "bidirectional(%s) dropout=%s rec=%s rs=%d mask=%d: %g",
                                  types[ty], rates[r][0], rates[r][1], rs, masked, e);
                }
}
END_TEST

/* ---- bidirectional: each direction's masks ------------------------------------------------- */

/* Each direction of bidirectional(type) with dropout equals a standalone layer of the wrapped
 * type named "<name>/forward" / "<name>/backward" (same keys, same context; the backward one
 * on the time-reversed input): the wrapper applies the masks, from the directions' streams. */
static void check_bidi_directions(const char *type) {
    enum { I = 2, U = 3, T = 5, B = 3 };
    const st_layer_ops *ops = st_layer_find(type);
    const char *keys[] = {"name", "bd", "layer", type, "units", "3", "return_sequences", "true",
                          "dropout", "0.4", "recurrent_dropout", "0.4", NULL};
    const char *ik[] = {"units", "3", "return_sequences", "true", "dropout", "0.4",
                        "recurrent_dropout", "0.4", NULL};
    st_test_layer t, f, g;
    st_test_layer_make(&t, &st_bidirectional_ops, keys, (st_shape){.seq = T, .feat = I}, B, T, 1);
    /* a '/' is not allowed in a config name: set the standalone layers' names directly (the
     * streams are computed from the name at each forward) */
    st_test_layer_make(&f, ops, ik, (st_shape){.seq = T, .feat = I}, B, T, 1);
    st_test_layer_make(&g, ops, ik, (st_shape){.seq = T, .feat = I}, B, T, 1);
    strcpy(f.L.name, "bd/forward");
    strcpy(g.L.name, "bd/backward");
    st_test_scramble(&t, 2);
    memcpy(f.params, t.params, f.nparams * sizeof(float));
    memcpy(g.params, t.params + f.nparams, g.nparams * sizeof(float));
    float x[T * B * I], xrev[T * B * I];
    st_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1, 3);
    for (int s = 0; s < T; s++)
        memcpy(xrev + s * B * I, x + (T - 1 - s) * B * I, B * I * sizeof(float));
    int64_t ids[B] = {4, 40, 400};
    st_layer_in li = {.x = x, .sample_ids = ids, .seed = 21, .epoch = 1};
    st_layer_in lr = li;
    lr.x = xrev;
    st_bidirectional_ops.forward(&t.L, &li, B, T, 1);
    ops->forward(&f.L, &li, B, T, 1);
    ops->forward(&g.L, &lr, B, T, 1);
    for (int s = 0; s < T; s++)
        for (int b = 0; b < B; b++) {
            const float *o = t.L.out + (s * B + b) * 2 * U;
            const float *fo = f.L.out + (s * B + b) * U, *go = g.L.out + ((T - 1 - s) * B + b) * U;
            ck_assert_msg(st_test_close("forward", o, fo, U, 1e-6, 1e-7) <= 1, "%s s=%d b=%d",
                          type, s, b);
            ck_assert_msg(st_test_close("backward", o + U, go, U, 1e-6, 1e-7) <= 1,
                          "%s s=%d b=%d", type, s, b);
        }
    st_test_layer_free(&t);
    st_test_layer_free(&f);
    st_test_layer_free(&g);
}

/* With the backward direction's weights equal to the forward one's and an input symmetric in
 * time, the two directions' final states are equal unless their masks differ: so they must
 * differ in training and agree at inference. A name of the maximum length (63 characters)
 * leaves no room for "/backward" unless the wrapper makes some. */
static void check_bidi_independent(const char *type, const char *name) {
    enum { I = 3, U = 4, T = 5, B = 2 };
    const char *keys[] = {"name", name, "layer", type, "units", "4", "dropout", "0.5",
                          "recurrent_dropout", "0.5", NULL};
    st_test_layer t;
    st_test_layer_make(&t, &st_bidirectional_ops, keys, (st_shape){.seq = T, .feat = I}, B, T, 1);
    st_test_scramble(&t, 2);
    const size_t half = t.nparams / 2;
    memcpy(t.params + half, t.params, half * sizeof(float));
    float x[T * B * I];
    st_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1, 3);
    for (int s = 0; s < T / 2; s++)
        memcpy(x + (T - 1 - s) * B * I, x + s * B * I, B * I * sizeof(float));
    st_layer_in li = {.x = x, .seed = 5, .epoch = 0};
    st_bidirectional_ops.forward(&t.L, &li, B, T, 0);
    for (int b = 0; b < B; b++)
        ck_assert_msg(st_test_close("inference", t.L.out + b * 2 * U, t.L.out + b * 2 * U + U, U,
                                    1e-6, 1e-7) <= 1, "%s: directions differ at inference", type);
    st_bidirectional_ops.forward(&t.L, &li, B, T, 1);
    for (int b = 0; b < B; b++)
        ck_assert_msg(memcmp(t.L.out + b * 2 * U, t.L.out + b * 2 * U + U, U * sizeof(float)),
                      "%s name=%s row %d: both directions drew the same masks", type, name, b);
    st_test_layer_free(&t);
}

START_TEST(bidi_direction_masks) {
    static const char *const types[] = {"simple_rnn", "lstm", "gru"};
    char longname[ST_NAME_MAX];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    for (int ty = 0; ty < 3; ty++) {
        check_bidi_directions(types[ty]);
        check_bidi_independent(types[ty], "bd");
        check_bidi_independent(types[ty], longname);
    }
}
END_TEST

/* gru accepts the dropout keys now; bidirectional(gru) builds with them. */
START_TEST(keys_accepted) {
    st_layer L;
    st_layer_create(&L, &st_gru_ops, "g");
    ck_assert_int_eq(st_layer_set(&L, "units", "2"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "dropout", "0.2"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "recurrent_dropout", "0.3"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "recurrent_dropout", "1"), ST_ERR); /* rate in [0, 1) */
    ck_assert_int_eq(st_gru_ops.build(&L, (st_shape){.seq = 5, .feat = 3}), ST_OK);
    st_layer_create(&L, &st_bidirectional_ops, "b");
    ck_assert_int_eq(st_layer_set(&L, "dropout", "0.2"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "layer", "gru"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "units", "2"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "recurrent_dropout", "0.3"), ST_OK);
    ck_assert_int_eq(st_bidirectional_ops.build(&L, (st_shape){.seq = 5, .feat = 3}), ST_OK);
    ck_assert_int_eq(L.nparam, 6);
}
END_TEST

/* ---- recurrent dropout --------------------------------------------------------------------- */

static void rnn_dropout_case(const st_layer_ops *ops, const char *act, int rs, int masked) {
    const char *keys[] = {"units", "3", "dropout", "0.3", "recurrent_dropout", "0.4",
                          "return_sequences", rs ? "true" : "false", "activation", act, NULL};
    st_shape in = {.seq = MAXT, .feat = 2};
    st_test_layer t;
    st_test_layer_make(&t, ops, keys, in, MAXB, MAXT, 3);
    st_test_scramble(&t, 11);
    float x[MAXT * MAXB * 2];
    st_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1, 12);
    uint8_t mask[MAXT * MAXB];
    st_test_make_mask(MASK_POST, st_test_gc_lens, GB, GT, mask);
    double e = st_test_gradcheck(&t, x, NULL, masked ? mask : NULL, GB, GT, GC_EPS, GC_RTOL,
                                 GC_ATOL);
    ck_assert_msg(e <= 1, "%s act=%s rs=%d mask=%d: %g", ops->type, act, rs, masked, e);
    st_test_layer_free(&t);
}

START_TEST(rnn_dropout_gradcheck) {
    for (int rs = 0; rs < 2; rs++)
        for (int masked = 0; masked < 2; masked++) {
            rnn_dropout_case(&st_simple_rnn_ops, "tanh", rs, masked);
            rnn_dropout_case(&st_lstm_ops, "tanh", rs, masked);    /* the fused fast path */
            rnn_dropout_case(&st_lstm_ops, "sigmoid", rs, masked); /* the general path */
        }
}
END_TEST

/* Rates 0 change nothing; rates > 0 change the training output only; a row's output does not
 * depend on the other rows of its batch (the rank-independence of the masks). */
static void rnn_dropout_semantics(const st_layer_ops *ops) {
    const char *plain[] = {"units", "3", "return_sequences", "true", NULL};
    const char *drop[] = {"units", "3", "return_sequences", "true", "dropout", "0.5",
                          "recurrent_dropout", "0.5", NULL};
    st_shape in = {.seq = MAXT, .feat = 2};
    st_test_layer a, d;
    st_test_layer_make(&a, ops, plain, in, MAXB, MAXT, 3);
    st_test_layer_make(&d, ops, drop, in, MAXB, MAXT, 3);
    float x[MAXT * MAXB * 2];
    st_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1, 12);
    int64_t ids[GB] = {10, 11, 12, 13};
    st_layer_in li = {.x = x, .sample_ids = ids, .seed = 9, .epoch = 2};
    size_t n = (size_t)GT * GB * 3;
    a.L.ops->forward(&a.L, &li, GB, GT, 1);
    d.L.ops->forward(&d.L, &li, GB, GT, 0);
    ck_assert_int_eq(memcmp(a.L.out, d.L.out, n * sizeof(float)), 0);
    d.L.ops->forward(&d.L, &li, GB, GT, 1);
    ck_assert_int_ne(memcmp(a.L.out, d.L.out, n * sizeof(float)), 0);
    /* row 2 (sample 12) alone, as a rank holding only it would run it */
    float full[MAXT * MAXB * 3], xr[MAXT * 2];
    memcpy(full, d.L.out, n * sizeof(float));
    for (int t = 0; t < GT; t++) memcpy(xr + t * 2, x + ((size_t)t * GB + 2) * 2, 2 * sizeof(float));
    int64_t id1 = 12;
    st_layer_in l1 = {.x = xr, .sample_ids = &id1, .seed = 9, .epoch = 2};
    d.L.ops->forward(&d.L, &l1, 1, GT, 1);
    for (int t = 0; t < GT; t++)
        for (int j = 0; j < 3; j++)
            ck_assert_msg(fabsf(d.L.out[t * 3 + j] - full[((size_t)t * GB + 2) * 3 + j]) < 1e-6f,
                          "%s: row alone differs at t=%d j=%d", ops->type, t, j);
    st_test_layer_free(&a);
    st_test_layer_free(&d);
}

START_TEST(rnn_dropout_semantics_all) {
    rnn_dropout_semantics(&st_simple_rnn_ops);
    rnn_dropout_semantics(&st_lstm_ops);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("recurrent_dropout");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"rnn_dropout_gradcheck", rnn_dropout_gradcheck},
        {"rnn_dropout_semantics", rnn_dropout_semantics_all},
        {"keys_accepted", keys_accepted},
        {"gru_dropout_gradcheck", gru_dropout_gradcheck},
        {"gru_dropout_reference", gru_dropout_reference},
        {"semantics", semantics_all},
        {"bidi_dropout_gradcheck", bidi_dropout_gradcheck},
        {"bidi_direction_masks", bidi_direction_masks},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void) { return st_test_run(suite()); }
