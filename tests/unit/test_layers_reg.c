/*
 * test_layers_reg.c - dropout (the layer and the recurrent layers' dropout / recurrent_dropout),
 * batch_norm, flatten, the per-step (many-to-many) loss and pre-trained embedding vectors.
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
#include "train/step.h"

#define GC_EPS 3e-3f
#define GC_RTOL 2e-2
#define GC_ATOL 1e-3
#define GB 4
#define GT 4
#define MAXB 5
#define MAXT 6

static const int gc_lens[GB] = {4, 2, 1, 0};

/* 'post' padding mask (T, B) from lens */
static void post_mask(const int *lens, int B, int T, uint8_t *m) {
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) m[t * B + b] = t < lens[b];
}

/* Parameters drawn from U(-0.7, 0.7): out of the linear regime. */
static void scramble(st_test_layer *t, uint64_t seed) {
    st_test_fill_uniform(t->params, t->nparams, -0.7f, 0.7f, seed);
}

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

/* ---- recurrent dropout --------------------------------------------------------------------- */

static void rnn_dropout_case(const st_layer_ops *ops, const char *act, int rs, int masked) {
    const char *keys[] = {"units", "3", "dropout", "0.3", "recurrent_dropout", "0.4",
                          "return_sequences", rs ? "true" : "false", "activation", act, NULL};
    st_shape in = {.seq = MAXT, .feat = 2};
    st_test_layer t;
    st_test_layer_make(&t, ops, keys, in, MAXB, MAXT, 3);
    scramble(&t, 11);
    float x[MAXT * MAXB * 2];
    st_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1, 12);
    uint8_t mask[MAXT * MAXB];
    post_mask(gc_lens, GB, GT, mask);
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

/* ---- per-step loss ------------------------------------------------------------------------- */

START_TEST(per_step_loss) {
    enum { T = 3, B = 4, K = 5 };
    float z[T * B * K], dz[T * B * K];
    int32_t y[B * T];
    uint8_t mask[T * B];
    st_test_fill_uniform(z, T * B * K, -2, 2, 8);
    for (int i = 0; i < B * T; i++) y[i] = (i * 7) % K;
    const int lens[B] = {3, 1, 0, 2};
    post_mask(lens, B, T, mask);
    const st_loss_kind kinds[] = {ST_LOSS_SPARSE_CCE, ST_LOSS_MSE};
    const st_act acts[] = {ST_ACT_SOFTMAX, ST_ACT_SIGMOID};
    for (int k = 0; k < 2; k++) {
        double cnt = 0, correct = 0;
        double l = st_loss_compute_seq(kinds[k], acts[k], z, y, mask, B, T, K, 1.0f, dz,
                                       &correct, &cnt);
        ck_assert_int_eq((int)cnt, 6);
        /* the same as the row loss over the real (step, row) pairs gathered */
        double want = 0, wc = 0;
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                if (mask[t * B + b])
                    want += st_loss_compute(kinds[k], acts[k], z + (t * B + b) * K,
                                            &y[b * T + t], 1, K, 1.0f, NULL, &wc);
        ck_assert(fabs(l - want) < 1e-9);
        ck_assert(fabs(correct - wc) < 1e-9);
        /* padded steps: no gradient */
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                if (!mask[t * B + b])
                    for (int j = 0; j < K; j++) ck_assert_float_eq(dz[(t * B + b) * K + j], 0);
        /* finite differences of the sum */
        for (int i = 0; i < T * B * K; i++) {
            float s = z[i];
            z[i] = s + 1e-3f;
            double lp = st_loss_compute_seq(kinds[k], acts[k], z, y, mask, B, T, K, 1, NULL,
                                            NULL, NULL);
            z[i] = s - 1e-3f;
            double lm = st_loss_compute_seq(kinds[k], acts[k], z, y, mask, B, T, K, 1, NULL,
                                            NULL, NULL);
            z[i] = s;
            double num = (lp - lm) / 2e-3;
            ck_assert_msg(fabs(num - dz[i]) < 2e-3 + 1e-2 * fabs(num), "k=%d i=%d: %g vs %g", k,
                          i, dz[i], num);
        }
    }
}
END_TEST

/* ---- model: a sequence head; a dense model on vectors -------------------------------------- */

static int build_model(st_model *m, st_config *c, const char *text, st_shape in, int maxB) {
    memset(c, 0, sizeof *c);
    ck_assert_int_eq(st_config_load_string(c, text, "t.ini"), ST_OK);
    ck_assert_msg(st_train_config_check(c) == ST_OK, "%s", st_error_get());
    return st_model_build(m, c, in, maxB);
}

START_TEST(model_shapes) {
    st_model m;
    st_config c;
    /* many-to-many: embedding -> lstm(return_sequences) -> dense on every step */
    int rc = build_model(&m, &c,
                         "[data]\npath = x.h5\n[train]\nloss = sparse_categorical_crossentropy\n"
                         "[embedding]\ninput_dim = 10\noutput_dim = 4\nmask_zero = true\n"
                         "[lstm]\nunits = 5\nreturn_sequences = true\ndropout = 0.2\n"
                         "recurrent_dropout = 0.2\n[dense]\nunits = 10\nactivation = softmax\n",
                         (st_shape){.seq = 6, .feat = 1, .tokens = 1, .vocab = 10}, 4);
    ck_assert_msg(rc == ST_OK, "%s", st_error_get());
    ck_assert_int_eq(m.seq_out, 1);
    ck_assert_int_eq(st_run_check_head(&m, ST_LOSS_SPARSE_CCE, 10, 6, "d"), ST_OK);
    ck_assert_int_eq(st_run_check_head(&m, ST_LOSS_SPARSE_CCE, 10, 0, "d"), ST_ERR);
    st_model_free(&m);
    st_config_free(&c);
    /* dense-only on vectors, batch_norm first: moving statistics are not trainable */
    rc = build_model(&m, &c,
                     "[data]\npath = x.h5\n[train]\nloss = sparse_categorical_crossentropy\n"
                     "[batch_norm]\n[dense]\nunits = 10\nactivation = softmax\n",
                     (st_shape){.seq = 0, .feat = 784}, 4);
    ck_assert_msg(rc == ST_OK, "%s", st_error_get());
    ck_assert_int_eq(m.seq_out, 0);
    ck_assert_int_eq(m.collective, 1);
    ck_assert_int_eq(m.ntensors, 6);
    ck_assert_int_eq(m.trainable[0] + m.trainable[1] + m.trainable[2] + m.trainable[3], 2);
    ck_assert_int_eq(st_run_check_head(&m, ST_LOSS_SPARSE_CCE, 10, 0, "d"), ST_OK);
    ck_assert_int_eq(st_run_check_head(&m, ST_LOSS_SPARSE_CCE, 10, 5, "d"), ST_ERR);
    st_model_free(&m);
    st_config_free(&c);
    /* flatten on (T, F) rows */
    rc = build_model(&m, &c,
                     "[data]\npath = x.h5\n[train]\nloss = sparse_categorical_crossentropy\n"
                     "[flatten]\n[dense]\nunits = 10\nactivation = softmax\n",
                     (st_shape){.seq = 28, .feat = 28}, 4);
    ck_assert_msg(rc == ST_OK, "%s", st_error_get());
    ck_assert_int_eq(m.layers[1].ishape.feat, 784);
    ck_assert_uint_eq(m.nparams, 7850);
    st_model_free(&m);
    st_config_free(&c);
}
END_TEST

/* ---- pre-trained embeddings ---------------------------------------------------------------- */

START_TEST(pretrained_vectors) {
    char vocab[512], vec[512], text[2048];
    snprintf(vocab, sizeof vocab, "%s", st_test_path("v.vocab.txt"));
    snprintf(vec, sizeof vec, "%s", st_test_path("vec.txt"));
    FILE *f = fopen(vocab, "w");
    fputs("the\ncat\nsat\n", f); /* ids 1, 2, 3 */
    fclose(f);
    f = fopen(vec, "w");
    fputs("4 3\nsat 0.5 0.25 -1\nzebra 9 9 9\nthe 1 2 3\n\n", f); /* word2vec header */
    fclose(f);
    snprintf(text, sizeof text,
             "[data]\npath = x.h5\n[train]\nloss = binary_crossentropy\n"
             "[embedding]\ninput_dim = 5\noutput_dim = 3\nweights = %s\nvocab = %s\n"
             "trainable = false\n[lstm]\nunits = 2\n[dense]\nunits = 1\nactivation = sigmoid\n",
             vec, vocab);
    st_model m;
    st_config c;
    int rc = build_model(&m, &c, text, (st_shape){.seq = 4, .feat = 1, .tokens = 1, .vocab = 5},
                         2);
    ck_assert_msg(rc == ST_OK, "%s", st_error_get());
    st_model_init(&m, 1);
    float before[15];
    memcpy(before, m.layers[0].param[0].w, sizeof before);
    ck_assert_msg(st_model_load_pretrained(&m, NULL) == ST_OK, "%s", st_error_get());
    const float *W = m.layers[0].param[0].w;
    const float want1[3] = {1, 2, 3}, want3[3] = {0.5f, 0.25f, -1};
    ck_assert_int_eq(memcmp(W + 3, want1, sizeof want1), 0);
    ck_assert_int_eq(memcmp(W + 9, want3, sizeof want3), 0);
    ck_assert_int_eq(memcmp(W, before, 3 * sizeof(float)), 0);     /* padding row kept */
    ck_assert_int_eq(memcmp(W + 6, before + 6, 3 * sizeof(float)), 0); /* "cat": not in file */
    ck_assert_int_eq(m.trainable[0], 0); /* frozen */
    st_model_free(&m);
    st_config_free(&c);

    /* a vector of the wrong length names the file and line */
    f = fopen(vec, "w");
    fputs("the 1 2 3\ncat 1 2\n", f);
    fclose(f);
    rc = build_model(&m, &c, text, (st_shape){.seq = 4, .feat = 1, .tokens = 1, .vocab = 5}, 2);
    ck_assert_int_eq(rc, ST_OK);
    st_model_init(&m, 1);
    ck_assert_int_eq(st_model_load_pretrained(&m, NULL), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "vec.txt:2:") && strstr(st_error_get(), "output_dim"),
                  "%s", st_error_get());
    st_model_free(&m);
    st_config_free(&c);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("layers_reg");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"dropout_mask", mask_is_pure_and_rank_independent},
        {"dropout_layer", dropout_layer},
        {"rnn_dropout_gradcheck", rnn_dropout_gradcheck},
        {"rnn_dropout_semantics", rnn_dropout_semantics_all},
        {"batch_norm", batch_norm_params_and_grad},
        {"flatten", flatten_layout_and_grad},
        {"per_step_loss", per_step_loss},
        {"model_shapes", model_shapes},
        {"pretrained_vectors", pretrained_vectors},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void) { return st_test_run(suite()); }
