/*
 * test_gru_bidi_attention.c - gru, bidirectional and attention: finite-difference gradient checks
 * (every activation path, merge mode, score, with no mask and 'post', 'pre' and 'holes' masks
 * that include a fully masked row), parameter counts against Keras, config keys and parameter
 * names, and mask semantics against the layers' definitions:
 *   - gru: a padded row gives what the row alone gives;
 *   - bidirectional: equals a forward and a backward layer of the wrapped type run by hand on
 *     each row's real steps (the backward one on them reversed), merged; masked steps output 0;
 *   - attention: a padded row gives what the row alone gives; the weights are a distribution
 *     over the real steps.
 * PyTorch parity of the same layers is tests/parity (through checkpoints and the CLI).
 *
 * Gradient checks use tiny shapes, parameters from U(-0.7, 0.7) so the gates leave their linear
 * regime, and calls with fewer rows and steps than the workspace was sized for.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* ---------------------------------------------------------------------------------------- */
/* Registry, keys, names, parameter counts                                                  */
/* ---------------------------------------------------------------------------------------- */

START_TEST(test_registry) {
    ck_assert_ptr_eq(st_layer_find("gru"), &st_gru_ops);
    ck_assert_ptr_eq(st_layer_find("GRU"), &st_gru_ops);
    ck_assert_ptr_eq(st_layer_find("bidirectional"), &st_bidirectional_ops);
    ck_assert_ptr_eq(st_layer_find("attention"), &st_attention_ops);
    ck_assert(strstr(st_layer_types(), "gru, bidirectional, attention") != NULL);
    st_layer L;
    st_layer_create(&L, &st_gru_ops, "g");
    ck_assert_int_eq(L.opt.rnn.activation, ST_ACT_TANH);
    ck_assert_int_eq(L.opt.rnn.recurrent_activation, ST_ACT_SIGMOID);
    ck_assert_int_eq(L.opt.rnn.recurrent_init, ST_INIT_ORTHOGONAL);
    st_layer_create(&L, &st_bidirectional_ops, "b");
    ck_assert_int_eq(L.opt.bidir.merge_mode, ST_MERGE_CONCAT);
    ck_assert_ptr_null(L.opt.bidir.wrapped);
    st_layer_create(&L, &st_attention_ops, "a");
    ck_assert_int_eq(L.opt.att.score, ST_SCORE_LUONG);
    ck_assert_ptr_null(st_attention_weights(&L)); /* no workspace bound yet */
    st_layer_create(&L, &st_lstm_ops, "l");
    ck_assert_ptr_null(st_attention_weights(&L));
}
END_TEST

START_TEST(test_keys_and_errors) {
    st_layer L;
    st_shape seq = {5, 3, 0, 0};
    /* gru */
    st_layer_create(&L, &st_gru_ops, "g");
    ck_assert_int_eq(st_layer_set(&L, "reset_after", "true"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "reset_after", "false"), ST_ERR);
    ck_assert(strstr(st_error_get(), "reset_after") != NULL);
    ck_assert_int_eq(st_layer_set(&L, "unit_forget_bias", "true"), ST_ENOKEY);
    ck_assert_int_eq(st_layer_set(&L, "recurrent_activation", "hard_sigmoid"), ST_OK);
    ck_assert_int_eq(L.opt.rnn.recurrent_activation, ST_ACT_HARD_SIGMOID);
    ck_assert_int_eq(st_gru_ops.build(&L, seq), ST_ERR); /* no units */
    ck_assert(strstr(st_error_get(), "units") != NULL);
    /* dropout is a shared recurrent key; gru implements it (test_recurrent_dropout.c) */
    ck_assert_int_eq(st_layer_set(&L, "units", "2"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "recurrent_dropout", "0.2"), ST_OK);
    ck_assert_int_eq(st_gru_ops.build(&L, seq), ST_OK);

    /* bidirectional: the wrapped type's keys may come before `layer` */
    st_layer_create(&L, &st_bidirectional_ops, "bidirectional_1");
    ck_assert_int_eq(st_layer_set(&L, "units", "4"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "recurrent_activation", "relu"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "layer", "lstm"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "merge_mode", "ave"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "merge_mode", "max"), ST_ERR);
    ck_assert(strstr(st_error_get(), "merge_mode = max") != NULL);
    ck_assert_int_eq(st_layer_set(&L, "layer", "dense"), ST_ERR);
    ck_assert(strstr(st_error_get(), "simple_rnn, lstm or gru") != NULL);
    ck_assert_int_eq(st_layer_set(&L, "score", "luong"), ST_ENOKEY);
    ck_assert_int_eq(st_bidirectional_ops.build(&L, seq), ST_OK);
    ck_assert_int_eq(L.oshape.feat, 4);
    ck_assert_int_eq(L.oshape.seq, 0);
    ck_assert_int_eq(L.nparam, 6);
    const char *names[6] = {"forward/kernel",  "forward/recurrent_kernel",  "forward/bias",
                            "backward/kernel", "backward/recurrent_kernel", "backward/bias"};
    for (int p = 0; p < 6; p++) ck_assert_str_eq(L.param[p].name, names[p]);
    ck_assert_uint_eq(L.param[4].dims.d[0], 4);
    ck_assert_uint_eq(L.param[4].dims.d[1], 16);
    /* simple_rnn has no recurrent_activation: refused at build when given before `layer` */
    st_layer_create(&L, &st_bidirectional_ops, "b");
    ck_assert_int_eq(st_layer_set(&L, "units", "4"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "recurrent_activation", "relu"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "layer", "simple_rnn"), ST_OK);
    ck_assert_int_eq(st_bidirectional_ops.build(&L, seq), ST_ERR);
    /* ... and when given after it, at once */
    ck_assert_int_eq(st_layer_set(&L, "unit_forget_bias", "true"), ST_ENOKEY);
    st_layer_create(&L, &st_bidirectional_ops, "b");
    ck_assert_int_eq(st_layer_set(&L, "units", "4"), ST_OK);
    ck_assert_int_eq(st_bidirectional_ops.build(&L, seq), ST_ERR); /* no layer */
    ck_assert(strstr(st_error_get(), "layer =") != NULL);
    st_layer_create(&L, &st_bidirectional_ops, "b");
    ck_assert_int_eq(st_layer_set(&L, "layer", "gru"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "units", "2"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "return_sequences", "true"), ST_OK);
    ck_assert_int_eq(st_bidirectional_ops.build(&L, seq), ST_OK);
    ck_assert_int_eq(L.oshape.feat, 4); /* concat */
    ck_assert_int_eq(L.oshape.seq, 5);
    ck_assert_uint_eq(L.param[2].dims.ndim, 2); /* gru bias (2, 3U) */
    ck_assert_uint_eq(L.param[2].dims.d[0], 2);
    ck_assert_uint_eq(L.param[2].dims.d[1], 6);
    /* needs a sequence of vectors */
    ck_assert_int_eq(st_bidirectional_ops.build(&L, (st_shape){0, 3, 0, 0}), ST_ERR);

    /* attention */
    st_layer_create(&L, &st_attention_ops, "a");
    ck_assert_int_eq(st_layer_set(&L, "units", "3"), ST_OK);
    ck_assert_int_eq(st_layer_set(&L, "score", "dot"), ST_ERR);
    ck_assert(strstr(st_error_get(), "score = dot") != NULL);
    ck_assert_int_eq(st_layer_set(&L, "score", "bahdanau"), ST_OK);
    ck_assert_int_eq(st_attention_ops.build(&L, (st_shape){0, 3, 0, 0}), ST_ERR);
    ck_assert(strstr(st_error_get(), "return_sequences = true") != NULL);
    ck_assert_int_eq(st_attention_ops.build(&L, seq), ST_OK);
    ck_assert_int_eq(L.oshape.seq, 0);
    ck_assert_int_eq(L.oshape.feat, 3);
    ck_assert_int_eq(L.nparam, 4);
    ck_assert_str_eq(L.param[0].name, "W1");
    ck_assert_str_eq(L.param[2].name, "v");
    ck_assert_str_eq(L.param[3].name, "Wc");
    ck_assert_uint_eq(L.param[3].dims.d[0], 6);
}
END_TEST

static size_t count_params(const st_layer_ops *ops, const char *const *keys, st_shape in) {
    st_test_layer t;
    st_test_layer_make(&t, ops, keys, in, 2, 3, 1);
    size_t n = t.nparams;
    st_test_layer_free(&t);
    return n;
}

/* Keras model.summary() numbers. */
START_TEST(test_param_counts) {
    const char *gru[] = {"units", "64", NULL};
    ck_assert_uint_eq(count_params(&st_gru_ops, gru, (st_shape){100, 32, 0, 0}),
                      3 * (32 * 64 + 64 * 64 + 2 * 64)); /* 18816 */
    const char *gru_nb[] = {"units", "64", "use_bias", "false", NULL};
    ck_assert_uint_eq(count_params(&st_gru_ops, gru_nb, (st_shape){100, 32, 0, 0}),
                      3 * (32 * 64 + 64 * 64));
    const char *bl[] = {"layer", "lstm", "units", "64", NULL};
    ck_assert_uint_eq(count_params(&st_bidirectional_ops, bl, (st_shape){100, 128, 0, 0}),
                      2 * (4 * (128 * 64 + 64 * 64 + 64))); /* 98816 */
    const char *bg[] = {"units", "32", "layer", "gru", "merge_mode", "sum", NULL};
    ck_assert_uint_eq(count_params(&st_bidirectional_ops, bg, (st_shape){100, 16, 0, 0}),
                      2 * 3 * (16 * 32 + 32 * 32 + 2 * 32));
    const char *bs[] = {"layer", "simple_rnn", "units", "8", NULL};
    ck_assert_uint_eq(count_params(&st_bidirectional_ops, bs, (st_shape){100, 5, 0, 0}),
                      2 * (5 * 8 + 8 * 8 + 8));
    const char *al[] = {"units", "64", NULL};
    ck_assert_uint_eq(count_params(&st_attention_ops, al, (st_shape){100, 128, 0, 0}),
                      128 * 128 + 256 * 64);
    const char *ab[] = {"units", "64", "score", "bahdanau", NULL};
    ck_assert_uint_eq(count_params(&st_attention_ops, ab, (st_shape){100, 128, 0, 0}),
                      2 * 128 * 128 + 128 + 256 * 64);
}
END_TEST

/* Initialization: streams per "layer/direction/param"; LSTM's unit_forget_bias reaches both
 * directions through post_init. */
START_TEST(test_bidi_init) {
    const char *keys[] = {"layer", "lstm", "units", "3", NULL};
    st_test_layer t;
    st_test_layer_make(&t, &st_bidirectional_ops, keys, (st_shape){4, 2, 0, 0}, 2, 4, 5);
    for (int d = 0; d < 2; d++) {
        const float *b = t.L.param[3 * d + 2].w;
        for (int j = 0; j < 12; j++) ck_assert(b[j] == (j >= 3 && j < 6 ? 1.0f : 0.0f));
    }
    /* The two kernels come from different streams. */
    ck_assert(memcmp(t.L.param[0].w, t.L.param[3].w, 2 * 12 * sizeof(float)) != 0);
    st_test_layer_free(&t);
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Gradient checks                                                                          */
/* ---------------------------------------------------------------------------------------- */

static void gradcheck_gru(st_act act, st_act ra, uint64_t seed) {
    uint8_t mask[GT * GB];
    for (int rs = 0; rs < 2; rs++)
        for (int mk = 0; mk < N_MASKS; mk++) {
            const char *keys[] = {"units", "3", "activation", st_act_name(act),
                                  "recurrent_activation", st_act_name(ra), "return_sequences",
                                  rs ? "true" : "false", NULL};
            if (mk != MASK_NONE) st_test_make_mask(mk, st_test_gc_lens, GB, GT, mask);
            double e = st_test_gradcheck_layer(&st_gru_ops, keys, (st_shape){MAXT, 3, 0, 0}, GB, GT,
                                       mk == MASK_NONE ? NULL : mask, 0, seed + rs * 10 + mk,
                                       st_test_eps_for(act, ra));
            ck_assert_msg(e <= 1, "gru act=%s ra=%s rs=%d mask=%s: err %g", st_act_name(act),
                          st_act_name(ra), rs, st_test_mask_names[mk], e);
        }
}

/* tanh/sigmoid runs the fused path, everything else the general one. */
START_TEST(test_grad_gru) {
    static const st_act acts[] = {ST_ACT_LINEAR, ST_ACT_RELU, ST_ACT_SIGMOID, ST_ACT_TANH,
                                  ST_ACT_SOFTMAX, ST_ACT_HARD_SIGMOID};
    for (int k = 0; k < 6; k++) gradcheck_gru(acts[k], ST_ACT_SIGMOID, 3000 + k * 100);
    for (int k = 0; k < 6; k++)
        if (acts[k] != ST_ACT_SIGMOID) gradcheck_gru(ST_ACT_TANH, acts[k], 4000 + k * 100);
    const char *nob[] = {"units", "3", "use_bias", "false", NULL};
    ck_assert(st_test_gradcheck_layer(&st_gru_ops, nob, (st_shape){MAXT, 3, 0, 0}, GB, GT, NULL, 0, 11,
                              GC_EPS) <= 1);
    /* One step: no recurrent GEMM, only the recurrent bias. */
    const char *rs[] = {"units", "3", "return_sequences", "true", NULL};
    ck_assert(st_test_gradcheck_layer(&st_gru_ops, rs, (st_shape){MAXT, 3, 0, 0}, GB, 1, NULL, 0, 12,
                              GC_EPS) <= 1);
}
END_TEST

/* Each wrapped type x merge mode x return_sequences x mask kind. */
START_TEST(test_grad_bidirectional) {
    static const char *const types[] = {"simple_rnn", "lstm", "gru"};
    static const char *const merges[] = {"concat", "sum", "mul", "ave"};
    uint8_t mask[GT * GB];
    int n = 0;
    for (int ty = 0; ty < 3; ty++)
        for (int mm = 0; mm < 4; mm++)
            for (int rs = 0; rs < 2; rs++)
                for (int mk = 0; mk < N_MASKS; mk++) {
                    const char *keys[] = {"units", "3", "return_sequences", rs ? "true" : "false",
                                          "merge_mode", merges[mm], "layer", types[ty], NULL};
                    if (mk != MASK_NONE) st_test_make_mask(mk, st_test_gc_lens, GB, GT, mask);
                    double e = st_test_gradcheck_layer(&st_bidirectional_ops, keys,
                                               (st_shape){MAXT, 2, 0, 0}, GB, GT,
                                               mk == MASK_NONE ? NULL : mask, 0, 5000 + n++, GC_EPS);
                    ck_assert_msg(e <= 1, "bidirectional(%s) merge=%s rs=%d mask=%s: err %g",
                                  types[ty], merges[mm], rs, st_test_mask_names[mk], e);
                }
    /* A non-default inner activation pair and no bias. */
    const char *keys[] = {"layer", "lstm", "units", "2", "recurrent_activation", "hard_sigmoid",
                          "activation", "relu", "use_bias", "false", NULL};
    st_test_make_mask(MASK_POST, st_test_gc_lens, GB, GT, mask);
    ck_assert(st_test_gradcheck_layer(&st_bidirectional_ops, keys, (st_shape){MAXT, 2, 0, 0}, GB, GT, mask, 0,
                              77, GC_EPS_KINK) <= 1);
}
END_TEST

START_TEST(test_grad_attention) {
    static const char *const scores[] = {"luong", "bahdanau"};
    uint8_t mask[GT * GB];
    for (int sc = 0; sc < 2; sc++)
        for (int mk = 0; mk < N_MASKS; mk++) {
            const char *keys[] = {"units", "3", "score", scores[sc], NULL};
            if (mk != MASK_NONE) st_test_make_mask(mk, st_test_gc_lens, GB, GT, mask);
            double e = st_test_gradcheck_layer(&st_attention_ops, keys, (st_shape){MAXT, 4, 0, 0}, GB, GT,
                                       mk == MASK_NONE ? NULL : mask, 0, 6000 + sc * 10 + mk, GC_EPS);
            ck_assert_msg(e <= 1, "attention %s mask=%s: err %g", scores[sc], st_test_mask_names[mk], e);
        }
    /* One step: softmax over a single score (α = 1, no gradient through the scores). */
    const char *keys[] = {"units", "2", "score", "bahdanau", NULL};
    ck_assert(st_test_gradcheck_layer(&st_attention_ops, keys, (st_shape){MAXT, 3, 0, 0}, GB, 1, NULL, 0, 61,
                              GC_EPS) <= 1);
}
END_TEST

/* A stack: bidirectional(gru, return_sequences) -> attention, checked through both layers
 * (attention's input gradient feeds the bidirectional's dout), with a 'post' mask. The test
 * layers are wired by hand, as the model would. */
START_TEST(test_grad_stack) {
    enum { I = 2, U = 2, N = 3 };
    uint8_t mask[GT * GB];
    for (int mk = MASK_NONE; mk < N_MASKS; mk++) {
        if (mk != MASK_NONE) st_test_make_mask(mk, st_test_gc_lens, GB, GT, mask);
        const uint8_t *m = mk == MASK_NONE ? NULL : mask;
        const char *kb[] = {"layer", "gru", "units", "2", "return_sequences", "true", NULL};
        const char *ka[] = {"units", "3", "score", "bahdanau", NULL};
        st_test_layer tb, ta;
        st_test_layer_make(&tb, &st_bidirectional_ops, kb, (st_shape){MAXT, I, 0, 0}, MAXB, MAXT, 1);
        st_test_layer_make(&ta, &st_attention_ops, ka, tb.L.oshape, MAXB, MAXT, 2);
        st_test_randomize(&tb, 0.7f, 3);
        st_test_randomize(&ta, 0.7f, 4);
        float x[GT * GB * I], R[GB * N];
        st_test_fill_uniform(x, sizeof x / sizeof x[0], -1, 1, 5);
        st_test_fill_uniform(R, GB * N, -1, 1, 6);
        st_layer_in in = {.x = x, .mask = m};
        st_layer_in ain = {.x = tb.L.out, .mask = m};
        /* loss = sum(R * attention(bidirectional(x))) */
#define STACK_LOSS(res)                                                                            \
    do {                                                                                           \
        st_bidirectional_ops.forward(&tb.L, &in, GB, GT, 1);                                       \
        st_attention_ops.forward(&ta.L, &ain, GB, GT, 1);                                          \
        double s_ = 0;                                                                             \
        for (int i_ = 0; i_ < GB * N; i_++) s_ += (double)ta.L.out[i_] * R[i_];                  \
        res = s_;                                                                                  \
    } while (0)
        double l0;
        STACK_LOSS(l0);
        (void)l0;
        memcpy(ta.L.dout, R, sizeof R);
        memset(ta.grads, 0, ta.nparams * sizeof(float));
        memset(tb.grads, 0, tb.nparams * sizeof(float));
        memset(tb.L.dout, 0, (size_t)GT * GB * 2 * U * sizeof(float));
        memset(tb.dx, 0, sizeof x);
        st_attention_ops.backward(&ta.L, &ain, tb.L.dout, GB, GT);
        st_bidirectional_ops.backward(&tb.L, &in, tb.dx, GB, GT);
        /* Numeric gradient of every bidirectional parameter and input. */
        size_t n = tb.nparams + sizeof x / sizeof x[0];
        float *ga = st_malloc(n * sizeof(float)), *gn = st_malloc(n * sizeof(float));
        memcpy(ga, tb.grads, tb.nparams * sizeof(float));
        memcpy(ga + tb.nparams, tb.dx, sizeof x);
        for (size_t i = 0; i < n; i++) {
            float *v = i < tb.nparams ? &tb.params[i] : &x[i - tb.nparams];
            float save = *v;
            double lp, lm;
            *v = save + GC_EPS;
            STACK_LOSS(lp);
            *v = save - GC_EPS;
            STACK_LOSS(lm);
            *v = save;
            gn[i] = (float)((lp - lm) / (2.0 * GC_EPS));
        }
#undef STACK_LOSS
        double e = st_test_close("stack", ga, gn, n, GC_RTOL, GC_ATOL);
        ck_assert_msg(e <= 1, "bidirectional(gru) -> attention mask=%s: err %g", st_test_mask_names[mk], e);
        st_free(ga);
        st_free(gn);
        st_test_layer_free(&tb);
        st_test_layer_free(&ta);
    }
}
END_TEST

/* Gradients add, with a padding mask; trainable = false freezes the parameters only
 * (helpers in testutil.c). */
START_TEST(test_grads_accumulate) {
    uint8_t mask[GT * GB];
    st_test_make_mask(MASK_PRE, st_test_gc_lens, GB, GT, mask);
    const char *gru[] = {"units", "3", "return_sequences", "true", NULL};
    const char *bidi[] = {"units", "3", "layer", "gru", "merge_mode", "mul", NULL};
    const char *att[] = {"units", "3", "score", "bahdanau", NULL};
    st_test_check_accumulates(&st_gru_ops, gru, mask);
    st_test_check_accumulates(&st_bidirectional_ops, bidi, mask);
    st_test_check_accumulates(&st_attention_ops, att, mask);
}
END_TEST

START_TEST(test_trainable_false) {
    const char *units[] = {"units", "3", NULL};
    const char *bidi[] = {"units", "3", "layer", "lstm", NULL};
    st_test_check_frozen(&st_gru_ops, units);
    st_test_check_frozen(&st_bidirectional_ops, bidi);
    st_test_check_frozen(&st_attention_ops, units);
}
END_TEST

/* ---------------------------------------------------------------------------------------- */
/* Mask semantics                                                                           */
/* ---------------------------------------------------------------------------------------- */

enum { MB = 4, MT = 5, MI = 3, MH = 4 };
static const int m_lens[MB] = {5, 3, 1, 0};

/* Row b's real steps of x (T, B, I), in order, into xr (n, I); returns n, steps[] their times. */
static int real_steps(const float *x, const uint8_t *mask, int b, int B, int T, int I, float *xr,
                      int *steps) {
    int n = 0;
    for (int s = 0; s < T; s++)
        if (mask[s * B + b]) {
            memcpy(xr + n * I, x + (s * B + b) * I, I * sizeof(float));
            steps[n++] = s;
        }
    return n;
}

/* GRU: a padded row gives what the row alone gives; padded steps output the carried state. */
START_TEST(test_gru_mask_semantics) {
    for (int rs = 0; rs < 2; rs++) {
        const char *keys[] = {"units", "4", "return_sequences", rs ? "true" : "false", NULL};
        st_test_layer t;
        st_test_layer_make(&t, &st_gru_ops, keys, (st_shape){MT, MI, 0, 0}, MB, MT, 21);
        st_test_randomize(&t, 0.7f, 22);
        float x[MT * MB * MI], xr[MT * MI], full[MT * MB * MH];
        uint8_t mask[MT * MB];
        st_test_fill_uniform(x, MT * MB * MI, -1, 1, 23);
        for (int kind = MASK_POST; kind < N_MASKS; kind++) {
            st_test_make_mask(kind, m_lens, MB, MT, mask);
            st_layer_in in = {.x = x, .mask = mask};
            st_gru_ops.forward(&t.L, &in, MB, MT, 1);
            memcpy(full, t.L.out, sizeof(float) * (rs ? MT * MB * MH : MB * MH));
            for (int b = 0; b < MB; b++) {
                int steps[MT], n = real_steps(x, mask, b, MB, MT, MI, xr, steps);
                const float *fin = rs ? full + ((MT - 1) * MB + b) * MH : full + b * MH;
                if (n == 0) {
                    for (int j = 0; j < MH; j++) ck_assert(fin[j] == 0);
                    continue;
                }
                st_layer_in one = {.x = xr};
                st_gru_ops.forward(&t.L, &one, 1, n, 1);
                const float *last = rs ? t.L.out + (n - 1) * MH : t.L.out;
                ck_assert_msg(st_test_close("final", fin, last, MH, 1e-5, 1e-6) <= 1,
                              "rs=%d %s row %d", rs, st_test_mask_names[kind], b);
                if (!rs) continue;
                for (int s = 0, k = -1; s < MT; s++) {
                    if (k + 1 < n && steps[k + 1] == s) k++;
                    const float *got = full + (s * MB + b) * MH;
                    if (k < 0)
                        for (int j = 0; j < MH; j++) ck_assert(got[j] == 0);
                    else
                        ck_assert(st_test_close("step", got, t.L.out + k * MH, MH, 1e-5, 1e-6) <= 1);
                }
            }
        }
        st_test_layer_free(&t);
    }
}
END_TEST

/* Bidirectional = a forward layer on each row's real steps and a backward one on them
 * reversed, merged; masked steps (return_sequences) output 0. The reference layers are plain
 * layers of the wrapped type holding the wrapper's two halves of parameters. */
static void check_bidi_semantics(const char *type, const char *merge, int rs) {
    const st_layer_ops *inner = st_layer_find(type);
    const char *keys[] = {"layer", type, "units", "4", "return_sequences", rs ? "true" : "false",
                          "merge_mode", merge, NULL};
    const char *ikeys[] = {"units", "4", "return_sequences", "true", NULL};
    st_test_layer t, f, g;
    st_test_layer_make(&t, &st_bidirectional_ops, keys, (st_shape){MT, MI, 0, 0}, MB, MT, 31);
    st_test_layer_make(&f, inner, ikeys, (st_shape){MT, MI, 0, 0}, 1, MT, 1);
    st_test_layer_make(&g, inner, ikeys, (st_shape){MT, MI, 0, 0}, 1, MT, 1);
    st_test_randomize(&t, 0.7f, 32);
    ck_assert_uint_eq(t.nparams, 2 * f.nparams);
    memcpy(f.params, t.params, f.nparams * sizeof(float));
    memcpy(g.params, t.params + f.nparams, g.nparams * sizeof(float));
    const int O = t.L.oshape.feat, mm = t.L.opt.bidir.merge_mode;
    float x[MT * MB * MI], xr[MT * MI], xrev[MT * MI], full[MT * MB * 2 * MH], want[2 * MH];
    uint8_t mask[MT * MB];
    st_test_fill_uniform(x, MT * MB * MI, -1, 1, 33);
    for (int kind = MASK_NONE; kind < N_MASKS; kind++) {
        st_test_make_mask(kind == MASK_NONE ? MASK_POST : kind, kind == MASK_NONE ? (int[]){5, 5, 5, 5}
                                                                           : m_lens,
                  MB, MT, mask);
        st_layer_in in = {.x = x, .mask = kind == MASK_NONE ? NULL : mask};
        st_bidirectional_ops.forward(&t.L, &in, MB, MT, 1);
        memcpy(full, t.L.out, sizeof(float) * (rs ? MT : 1) * MB * O);
        for (int b = 0; b < MB; b++) {
            int steps[MT], n = real_steps(x, mask, b, MB, MT, MI, xr, steps);
            if (n == 0) {
                for (int i = 0; i < (rs ? MT : 1); i++)
                    for (int j = 0; j < O; j++) ck_assert(full[(i * MB + b) * O + j] == 0);
                continue;
            }
            for (int k = 0; k < n; k++) memcpy(xrev + k * MI, xr + (n - 1 - k) * MI, MI * 4);
            st_layer_in fi = {.x = xr}, gi = {.x = xrev};
            inner->forward(&f.L, &fi, 1, n, 1);
            inner->forward(&g.L, &gi, 1, n, 1);
            for (int k = 0; k < (rs ? n : 1); k++) {
                /* real step k: forward output k, backward output n-1-k (flipped back) */
                const float *fo = f.L.out + (rs ? k : n - 1) * MH;
                const float *go = g.L.out + (rs ? n - 1 - k : n - 1) * MH;
                for (int j = 0; j < MH; j++) {
                    if (mm == ST_MERGE_CONCAT) want[j] = fo[j], want[MH + j] = go[j];
                    if (mm == ST_MERGE_SUM) want[j] = fo[j] + go[j];
                    if (mm == ST_MERGE_MUL) want[j] = fo[j] * go[j];
                    if (mm == ST_MERGE_AVE) want[j] = 0.5f * (fo[j] + go[j]);
                }
                const float *got = full + ((rs ? steps[k] : 0) * MB + b) * O;
                ck_assert_msg(st_test_close("bidi", got, want, O, 1e-5, 1e-6) <= 1,
                              "%s %s rs=%d %s row %d step %d", type, merge, rs, st_test_mask_names[kind],
                              b, k);
            }
            if (rs)
                for (int s = 0; s < MT; s++)
                    if (!mask[s * MB + b] && kind != MASK_NONE)
                        for (int j = 0; j < O; j++) ck_assert(full[(s * MB + b) * O + j] == 0);
        }
    }
    st_test_layer_free(&t);
    st_test_layer_free(&f);
    st_test_layer_free(&g);
}

START_TEST(test_bidi_semantics) {
    static const char *const types[] = {"simple_rnn", "lstm", "gru"};
    static const char *const merges[] = {"concat", "sum", "mul", "ave"};
    for (int ty = 0; ty < 3; ty++)
        for (int mm = 0; mm < 4; mm++)
            for (int rs = 0; rs < 2; rs++) check_bidi_semantics(types[ty], merges[mm], rs);
}
END_TEST

/* Attention: a padded row gives what the row alone (its real steps, no mask) gives, whatever
 * the padded steps hold; α is a distribution over the real steps; st_attention_weights is α. */
START_TEST(test_attention_semantics) {
    static const char *const scores[] = {"luong", "bahdanau"};
    for (int sc = 0; sc < 2; sc++) {
        const char *keys[] = {"units", "3", "score", scores[sc], NULL};
        st_test_layer t;
        st_test_layer_make(&t, &st_attention_ops, keys, (st_shape){MT, MI, 0, 0}, MB, MT, 41);
        st_test_randomize(&t, 0.7f, 42);
        float x[MT * MB * MI], xr[MT * MI], full[MB * 3], al[MT * MB];
        uint8_t mask[MT * MB];
        st_test_fill_uniform(x, MT * MB * MI, -2, 2, 43);
        for (int kind = MASK_POST; kind < N_MASKS; kind++) {
            st_test_make_mask(kind, m_lens, MB, MT, mask);
            st_layer_in in = {.x = x, .mask = mask};
            st_attention_ops.forward(&t.L, &in, MB, MT, 1);
            memcpy(full, t.L.out, sizeof full);
            const float *w = st_attention_weights(&t.L);
            ck_assert_ptr_nonnull(w);
            memcpy(al, w, sizeof al);
            for (int b = 0; b < MB; b++) {
                double sum = 0;
                for (int s = 0; s < MT; s++) {
                    float a = al[s * MB + b];
                    ck_assert(mask[s * MB + b] ? a > 0 : a == 0);
                    sum += a;
                }
                int steps[MT], n = real_steps(x, mask, b, MB, MT, MI, xr, steps);
                if (n == 0) {
                    ck_assert(sum == 0);
                    for (int j = 0; j < 3; j++) ck_assert(full[b * 3 + j] == 0);
                    continue;
                }
                ck_assert(fabs(sum - 1) < 1e-6);
                st_layer_in one = {.x = xr};
                st_attention_ops.forward(&t.L, &one, 1, n, 1);
                ck_assert_msg(st_test_close("att", full + b * 3, t.L.out, 3, 1e-5, 1e-6) <= 1,
                              "%s %s row %d", scores[sc], st_test_mask_names[kind], b);
                for (int k = 0; k < n; k++)
                    ck_assert(fabsf(st_attention_weights(&t.L)[k] - al[steps[k] * MB + b]) < 1e-6f);
            }
        }
        st_test_layer_free(&t);
    }
}
END_TEST

static Suite *gru_bidi_attention_suite(void) {
    Suite *s = suite_create("gru_bidi_attention");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"registry", test_registry},
        {"keys_and_errors", test_keys_and_errors},
        {"param_counts", test_param_counts},
        {"bidi_init", test_bidi_init},
        {"grad_gru", test_grad_gru},
        {"grad_bidirectional", test_grad_bidirectional},
        {"grad_attention", test_grad_attention},
        {"grad_stack", test_grad_stack},
        {"grads_accumulate", test_grads_accumulate},
        {"trainable_false", test_trainable_false},
        {"gru_mask_semantics", test_gru_mask_semantics},
        {"bidi_semantics", test_bidi_semantics},
        {"attention_semantics", test_attention_semantics},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void) { return st_test_run(gru_bidi_attention_suite()); }
