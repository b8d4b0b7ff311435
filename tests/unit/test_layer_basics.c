/*
 * test_layer_basics.c - what every layer shares: the activations (values and backward against
 * central differences), the registry and its defaults, config keys and build errors,
 * parameter counts against Keras' model.summary(), and the initializers (orthogonal,
 * distributions, LSTM's forget bias, per-tensor streams).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static const st_act all_acts[] = {ST_ACT_LINEAR, ST_ACT_RELU,    ST_ACT_SIGMOID,
                                  ST_ACT_TANH,   ST_ACT_SOFTMAX, ST_ACT_HARD_SIGMOID};
#define N_ACTS ((int)(sizeof all_acts / sizeof all_acts[0]))

/* ---------------------------------------------------------------------------------------- */
/* Activations                                                                              */
/* ---------------------------------------------------------------------------------------- */

START_TEST(test_act_names) {
    for (int i = 0; i < N_ACTS; i++) {
        st_act a;
        ck_assert_int_eq(st_act_parse(st_act_name(all_acts[i]), &a), 0);
        ck_assert_int_eq(a, all_acts[i]);
    }
    st_act a = ST_ACT_RELU;
    ck_assert_int_eq(st_act_parse("None", &a), 0);
    ck_assert_int_eq(a, ST_ACT_LINEAR);
    ck_assert_int_eq(st_act_parse("swishy", &a), -1);
}
END_TEST

START_TEST(test_act_values) {
    const float x[6] = {-8, -1, 0, 0.5f, 2, 9};
    float y[6];
    st_act_forward(ST_ACT_HARD_SIGMOID, x, y, 1, 6);
    const float hs[6] = {0, 1.0f / 3, 0.5f, 0.5f + 0.5f / 6, 0.5f + 2.0f / 6, 1};
    ck_assert(st_test_close("hard_sigmoid", y, hs, 6, 1e-6, 1e-7) <= 1);
    st_act_forward(ST_ACT_RELU, x, y, 1, 6);
    const float re[6] = {0, 0, 0, 0.5f, 2, 9};
    ck_assert(memcmp(y, re, sizeof y) == 0);
    st_act_forward(ST_ACT_SIGMOID, x, y, 1, 6);
    ck_assert(fabsf(y[2] - 0.5f) < 1e-7f && fabsf(y[4] - 0.880797078f) < 1e-6f);
    /* Softmax: rows sum to 1, stable for huge logits, invariant to a shift. */
    const float big[6] = {1000, 1001, 1002, -5, 0, 5};
    st_act_forward(ST_ACT_SOFTMAX, big, y, 2, 3);
    const float want[6] = {0.090030573f,    0.244728478f,    0.665240955f,
                           4.50940412e-05f, 6.69254912e-03f, 0.993262357f};
    ck_assert(st_test_close("softmax", y, want, 6, 1e-5, 1e-8) <= 1);
}
END_TEST

/* Each activation's backward (from its output) against central differences of its forward. */
START_TEST(test_act_backward) {
    enum { R = 3, C = 5, N = R * C };
    float x[N], y[N], dy[N], dx[N], num[N], yp[N], ym[N];
    st_test_fill_uniform(x, N, -4, 4, 11);
    st_test_fill_uniform(dy, N, -1, 1, 12);
    for (int k = 0; k < N_ACTS; k++) {
        st_act a = all_acts[k];
        st_act_forward(a, x, y, R, C);
        st_act_backward(a, y, dy, dx, R, C);
        for (int i = 0; i < N; i++) {
            float s = x[i], eps = 1e-3f;
            x[i] = s + eps;
            st_act_forward(a, x, yp, R, C);
            x[i] = s - eps;
            st_act_forward(a, x, ym, R, C);
            x[i] = s;
            double d = 0;
            for (int j = 0; j < N; j++)
                d += ((double)yp[j] - ym[j]) * dy[j];
            num[i] = (float)(d / (2 * eps));
        }
        ck_assert_msg(st_test_close(st_act_name(a), dx, num, N, 1e-2, 1e-3) <= 1, "%s",
                      st_act_name(a));
        /* dx may alias dy. */
        float d2[N];
        memcpy(d2, dy, sizeof d2);
        st_act_backward(a, y, d2, d2, R, C);
        ck_assert(memcmp(d2, dx, sizeof d2) == 0);
    }
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Registry, defaults, config parsing                                                       */
/* ---------------------------------------------------------------------------------------- */

START_TEST(test_registry_defaults) {
    ck_assert_ptr_eq(st_layer_find("lstm"), &st_lstm_ops);
    ck_assert_ptr_eq(st_layer_find("dense"), &st_dense_ops);
    ck_assert_ptr_eq(st_layer_find("simple_rnn"), &st_simple_rnn_ops);
    ck_assert_ptr_eq(st_layer_find("embedding"), &st_embedding_ops);
    ck_assert_ptr_null(st_layer_find("gru2"));
    /* The four first types keep their order; every registered type is listed. */
    ck_assert_msg(strncmp(st_layer_types(), "embedding, dense, simple_rnn, lstm", 34) == 0, "%s",
                  st_layer_types());
    ck_assert_msg(strstr(st_layer_types(), "dropout") && strstr(st_layer_types(), "batch_norm") &&
                      strstr(st_layer_types(), "flatten"),
                  "%s", st_layer_types());

    st_layer L;
    st_layer_create(&L, &st_dense_ops, "out");
    ck_assert_str_eq(L.name, "out");
    ck_assert_int_eq(L.opt.dense.activation, ST_ACT_LINEAR);
    ck_assert(L.opt.dense.use_bias && L.trainable);
    ck_assert_int_eq(L.opt.dense.kernel_init, ST_INIT_GLOROT_UNIFORM);
    ck_assert_int_eq(L.opt.dense.bias_init, ST_INIT_ZEROS);
    st_layer_create(&L, &st_lstm_ops, "lstm_1");
    ck_assert_int_eq(L.opt.rnn.activation, ST_ACT_TANH);
    ck_assert_int_eq(L.opt.rnn.recurrent_activation, ST_ACT_SIGMOID);
    ck_assert_int_eq(L.opt.rnn.recurrent_init, ST_INIT_ORTHOGONAL);
    ck_assert(L.opt.rnn.unit_forget_bias && !L.opt.rnn.return_sequences);
    st_layer_create(&L, &st_simple_rnn_ops, "r");
    ck_assert_int_eq(L.opt.rnn.activation, ST_ACT_TANH);
    st_layer_create(&L, &st_embedding_ops, "e");
    ck_assert_int_eq(L.opt.emb.embeddings_init, ST_INIT_UNIFORM);
}
END_TEST

START_TEST(test_layer_set) {
    st_layer L;
    st_layer_create(&L, &st_lstm_ops, "lstm_1");
    ck_assert_int_eq(st_layer_set(&L, "units", "16"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "name", "encoder"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "trainable", "false"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "recurrent_activation", "hard_sigmoid"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "return_sequences", "yes"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "unit_forget_bias", "0"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "kernel_initializer", "glorot_normal"), ST_OK);
    ck_assert_int_eq(L.opt.rnn.units, 16);
    ck_assert_str_eq(L.name, "encoder");
    ck_assert(!L.trainable && L.opt.rnn.return_sequences && !L.opt.rnn.unit_forget_bias);
    ck_assert_int_eq(L.opt.rnn.recurrent_activation, ST_ACT_HARD_SIGMOID);
    ck_assert_int_eq(L.opt.rnn.kernel_init, ST_INIT_GLOROT_NORMAL);
    ck_assert_int_eq(st_layer_set(&L, "activation", "bogus"), ST_ERR);
    ck_assert(strstr(st_error_get(), "activation = bogus") != NULL);
    ck_assert_int_eq(st_layer_set(&L, "units", "abc"), ST_ERR);
    ck_assert_str_eq(st_error_get(), "units = abc: must be an integer from 1 to 1048576");
    ck_assert_int_eq(st_layer_set(&L, "mask_zero", "true"), ST_ENOKEY);
    ck_assert_int_eq(st_layer_set(&L, "input_dim", "3"), ST_ENOKEY);
    st_layer_create(&L, &st_dense_ops, "d");
    ck_assert_int_eq(st_layer_set(&L, "return_sequences", "true"), ST_ENOKEY);
    ck_assert_int_eq(st_layer_set(&L, "recurrent_activation", "sigmoid"), ST_ENOKEY);
    st_layer_create(&L, &st_embedding_ops, "e");
    ck_assert_int_eq(st_layer_set(&L, "mask_zero", "true"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "units", "3"), ST_ENOKEY);
}
END_TEST

/* Build errors are user errors: ST_ERR with a message naming the problem. */
START_TEST(test_build_errors) {
    st_layer L;
    st_shape tokens = {.seq = 10, .feat = 0, .tokens = 1, .vocab = 500};
    st_shape seq = {.seq = 10, .feat = 8}, vec = {.seq = 0, .feat = 8};

    st_layer_create(&L, &st_embedding_ops, "e");
    st_layer_set(&L, "input_dim", "400");
    st_layer_set(&L, "output_dim", "4");
    ck_assert_int_eq(L.ops->build(&L, tokens), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "400") && strstr(st_error_get(), "500"), "%s",
                  st_error_get());
    st_layer_set(&L, "input_dim", "500");
    ck_assert_int_eq(L.ops->build(&L, tokens), ST_OK);
    ck_assert_int_eq(L.oshape.seq, 10);
    ck_assert_int_eq(L.oshape.feat, 4);
    ck_assert_int_eq(L.ops->build(&L, seq), ST_ERR);
    ck_assert(strstr(st_error_get(), "first layer") != NULL);

    st_layer_create(&L, &st_lstm_ops, "l");
    ck_assert_int_eq(L.ops->build(&L, seq), ST_ERR); /* no units */
    st_layer_set(&L, "units", "5");
    ck_assert_int_eq(L.ops->build(&L, vec), ST_ERR);
    ck_assert_int_eq(L.ops->build(&L, tokens), ST_ERR);
    ck_assert_int_eq(L.ops->build(&L, seq), ST_OK);
    ck_assert_int_eq(L.oshape.seq, 0);
    st_layer_set(&L, "return_sequences", "true");
    ck_assert_int_eq(L.ops->build(&L, seq), ST_OK);
    ck_assert_int_eq(L.oshape.seq, 10);
    ck_assert_int_eq(L.oshape.feat, 5);

    st_layer_create(&L, &st_dense_ops, "d");
    st_layer_set(&L, "units", "3");
    ck_assert_int_eq(L.ops->build(&L, tokens), ST_ERR);
    ck_assert_int_eq(L.ops->build(&L, seq), ST_OK);
    ck_assert_int_eq(L.oshape.seq, 10);
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Parameter counts (Keras model.summary numbers)                                           */
/* ---------------------------------------------------------------------------------------- */

static size_t count_params(const st_layer_ops *ops, const char *const *keys, st_shape in) {
    st_test_layer t;
    st_test_layer_make(&t, ops, keys, in, 2, in.seq ? 3 : 1, 1);
    size_t n = t.nparams;
    st_test_layer_free(&t);
    return n;
}

START_TEST(test_param_counts) {
    const char *emb[] = {"input_dim", "10000", "output_dim", "32", NULL};
    ck_assert_uint_eq(count_params(&st_embedding_ops, emb, (st_shape){100, 0, 1, 10000}), 320000);
    const char *rnn[] = {"units", "32", NULL};
    ck_assert_uint_eq(count_params(&st_simple_rnn_ops, rnn, (st_shape){100, 32, 0, 0}), 2080);
    const char *lstm[] = {"units", "64", NULL};
    ck_assert_uint_eq(count_params(&st_lstm_ops, lstm, (st_shape){100, 32, 0, 0}), 24832);
    const char *dense[] = {"units", "1", "activation", "sigmoid", NULL};
    ck_assert_uint_eq(count_params(&st_dense_ops, dense, (st_shape){0, 64, 0, 0}), 65);
    const char *nob[] = {"units", "10", "use_bias", "false", NULL};
    ck_assert_uint_eq(count_params(&st_dense_ops, nob, (st_shape){0, 64, 0, 0}), 640);
    ck_assert_uint_eq(count_params(&st_lstm_ops, nob, (st_shape){5, 8, 0, 0}), 4 * 10 * 18);
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Initializers                                                                             */
/* ---------------------------------------------------------------------------------------- */

/* max |A A^T - I| for A (r, c), or of A^T A when cols_orth. */
static double orth_err(const float *A, int r, int c, int cols_orth) {
    int n = cols_orth ? c : r, len = cols_orth ? r : c;
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < len; k++)
                s += cols_orth ? (double)A[k * c + i] * A[k * c + j]
                               : (double)A[i * c + k] * A[j * c + k];
            worst = fmax(worst, fabs(s - (i == j)));
        }
    return worst;
}

START_TEST(test_init_orthogonal) {
    const char *keys[] = {"units", "8", NULL};
    st_test_layer t;
    st_test_layer_make(&t, &st_simple_rnn_ops, keys, (st_shape){4, 5, 0, 0}, 2, 4, 3);
    ck_assert_str_eq(t.L.param[1].name, "recurrent_kernel");
    ck_assert(orth_err(t.L.param[1].w, 8, 8, 0) < 1e-5);
    ck_assert(orth_err(t.L.param[1].w, 8, 8, 1) < 1e-5);
    st_test_layer_free(&t);

    st_test_layer_make(&t, &st_lstm_ops, keys, (st_shape){4, 5, 0, 0}, 2, 4, 3);
    ck_assert(orth_err(t.L.param[1].w, 8, 32, 0) < 1e-5); /* (H, 4H): orthonormal rows */
    st_test_layer_free(&t);

    /* Tall (rows > cols): orthonormal columns; a 1000 x 300 one stresses Gram-Schmidt. */
    static float w[1000 * 300];
    st_dims d = st_dims2(12, 5);
    st_init_fill(ST_INIT_ORTHOGONAL, &d, w, 1, 2);
    ck_assert(orth_err(w, 12, 5, 1) < 1e-5);
    d = st_dims2(1000, 300);
    st_init_fill(ST_INIT_ORTHOGONAL, &d, w, 1, 2);
    ck_assert(orth_err(w, 1000, 300, 1) < 1e-4);
}
END_TEST

/* The blocked (BLAS) Gram-Schmidt at sizes with many blocks and a ragged last one (257 is
 * 8 blocks of 32 and 1): an LSTM's (H, 4H) recurrent kernel has orthonormal rows, a square
 * one is orthogonal both ways (W^T W = W W^T = I), all to float rounding; and the values are a
 * pure function of (seed, stream): the same bits on every call (every rank). */
START_TEST(test_init_orthogonal_blocked) {
    static float w[257 * 1028], v[257 * 1028];
    st_dims d = st_dims2(257, 1028);
    st_init_fill(ST_INIT_ORTHOGONAL, &d, w, 7, 3);
    ck_assert_msg(orth_err(w, 257, 1028, 0) < 2e-6, "rows: %g", orth_err(w, 257, 1028, 0));
    st_init_fill(ST_INIT_ORTHOGONAL, &d, v, 7, 3);
    ck_assert(memcmp(w, v, sizeof w) == 0);
    st_init_fill(ST_INIT_ORTHOGONAL, &d, v, 7, 4); /* another stream: other values */
    ck_assert(memcmp(w, v, sizeof w) != 0);
    d = st_dims2(300, 300);
    st_init_fill(ST_INIT_ORTHOGONAL, &d, w, 1, 9);
    ck_assert_msg(orth_err(w, 300, 300, 0) < 2e-6, "rows: %g", orth_err(w, 300, 300, 0));
    ck_assert_msg(orth_err(w, 300, 300, 1) < 2e-6, "cols: %g", orth_err(w, 300, 300, 1));
    /* Not a permutation or a sign pattern: entries spread like a Haar matrix's, |w| ~ 1/sqrt(n) */
    double ss = 0;
    for (int i = 0; i < 300; i++) ss += fabs(w[i]);
    ck_assert(ss / 300 > 0.5 / sqrt(300.0) && ss / 300 < 1.5 / sqrt(300.0));
}
END_TEST

START_TEST(test_init_distributions) {
    static float w[200 * 400];
    const size_t n = 200 * 400;
    st_dims d = st_dims2(200, 400);
    const struct {
        st_init k;
        double lim, sd;
    } cases[] = {
        {ST_INIT_GLOROT_UNIFORM, sqrt(6.0 / 600), sqrt(6.0 / 600) / sqrt(3.0)},
        {ST_INIT_HE_UNIFORM, sqrt(6.0 / 200), sqrt(6.0 / 200) / sqrt(3.0)},
        {ST_INIT_UNIFORM, 0.05, 0.05 / sqrt(3.0)},
        {ST_INIT_GLOROT_NORMAL, 2 * sqrt(2.0 / 600) / 0.87962566103423978, sqrt(2.0 / 600)},
        {ST_INIT_RANDOM_NORMAL, 1e9, 0.05},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        st_init_fill(cases[c].k, &d, w, 42, 7);
        double s = 0, s2 = 0, mx = 0;
        for (size_t i = 0; i < n; i++) {
            s += w[i];
            s2 += (double)w[i] * w[i];
            mx = fmax(mx, fabs(w[i]));
        }
        double mean = s / n, sd = sqrt(s2 / n - mean * mean);
        const char *nm = st_init_name(cases[c].k);
        ck_assert_msg(mx <= cases[c].lim * (1 + 1e-6), "%s: max %g > limit %g", nm, mx,
                      cases[c].lim);
        ck_assert_msg(fabs(sd / cases[c].sd - 1) < 0.02, "%s: sd %g want %g", nm, sd, cases[c].sd);
        ck_assert_msg(fabs(mean) < 0.05 * cases[c].sd, "%s: mean %g", nm, mean);
    }
    /* Uniform draws reach close to the limit (the limit is really the intended one). */
    st_init_fill(ST_INIT_GLOROT_UNIFORM, &d, w, 42, 7);
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(w[i]));
    ck_assert(mx > 0.999 * sqrt(6.0 / 600));
    st_init_fill(ST_INIT_ONES, &d, w, 0, 0);
    ck_assert(w[0] == 1 && w[n - 1] == 1);
    st_init_fill(ST_INIT_ZEROS, &d, w, 0, 0);
    ck_assert(w[0] == 0 && w[n - 1] == 0);
    /* Fans of a 1-D tensor are (n, n). */
    st_dims d1 = st_dims1(24);
    st_init_fill(ST_INIT_GLOROT_UNIFORM, &d1, w, 1, 1);
    for (int i = 0; i < 24; i++)
        ck_assert(fabsf(w[i]) <= sqrtf(6.0f / 48));
}
END_TEST

START_TEST(test_init_forget_bias_and_streams) {
    const char *keys[] = {"units", "5", NULL};
    st_test_layer t;
    st_test_layer_make(&t, &st_lstm_ops, keys, (st_shape){4, 3, 0, 0}, 2, 4, 9);
    const float *b = t.L.param[2].w;
    for (int j = 0; j < 20; j++)
        ck_assert_msg(b[j] == (j >= 5 && j < 10 ? 1.0f : 0.0f), "%d", j);
    /* Same seed and name: same values; another seed: different. */
    float k0[15];
    memcpy(k0, t.L.param[0].w, sizeof k0);
    st_layer_init_params(&t.L, 9);
    ck_assert(memcmp(k0, t.L.param[0].w, sizeof k0) == 0);
    st_layer_init_params(&t.L, 10);
    ck_assert(memcmp(k0, t.L.param[0].w, sizeof k0) != 0);
    /* Another layer name: another stream. */
    snprintf(t.L.name, sizeof t.L.name, "lstm_2");
    st_layer_init_params(&t.L, 9);
    ck_assert(memcmp(k0, t.L.param[0].w, sizeof k0) != 0);
    st_test_layer_free(&t);

    const char *nofb[] = {"units", "5", "unit_forget_bias", "false", "bias_initializer",
                          "ones",  NULL};
    st_test_layer_make(&t, &st_lstm_ops, nofb, (st_shape){4, 3, 0, 0}, 2, 4, 9);
    for (int j = 0; j < 20; j++)
        ck_assert(t.L.param[2].w[j] == 1.0f);
    st_test_layer_free(&t);
}
END_TEST

static Suite *basics_suite(void) {
    Suite *s = suite_create("layer_basics");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"act_names", test_act_names},
        {"act_values", test_act_values},
        {"act_backward", test_act_backward},
        {"registry_defaults", test_registry_defaults},
        {"layer_set", test_layer_set},
        {"build_errors", test_build_errors},
        {"param_counts", test_param_counts},
        {"init_orthogonal", test_init_orthogonal},
        {"init_orthogonal_blocked", test_init_orthogonal_blocked},
        {"init_distributions", test_init_distributions},
        {"init_forget_bias_streams", test_init_forget_bias_and_streams},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void) { return st_test_run(basics_suite()); }
