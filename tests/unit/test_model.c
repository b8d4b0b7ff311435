/*
 * test_model.c - a whole model built from config text: Keras parameter counts and names, one
 * contiguous buffer, errors naming the config line, and an end-to-end finite-difference check
 * of loss gradients through embedding (masked) -> stacked recurrent layers -> dense head; the
 * per-step (many-to-many) loss of a sequence head, model shapes, pre-trained embedding vectors;
 * sizes: saturating size arithmetic, sizes beyond memory refused before allocation naming the
 * key and the bytes, flatten's int overflow, buffers for the rows that exist, an allocation
 * failure as exit status 1.
 */
#include <math.h>
#include <string.h>

#include <limits.h>
#include <stdint.h>

#include "core/mem.h"
#include "testutil.h"
#include "train/step.h"

static const char *k_meta =
    "[data]\npath = none.h5\n[train]\nloss = binary_crossentropy\nbatch_size = 4\n";

static int build(st_model *m, st_config *c, const char *layers, st_shape in, int maxB) {
    char text[2048];
    snprintf(text, sizeof text, "%s%s", k_meta, layers);
    memset(c, 0, sizeof *c);
    ck_assert_int_eq(st_config_load_string(c, text, "t.ini"), ST_OK);
    ck_assert_msg(st_train_config_check(c) == ST_OK, "%s", st_error_get());
    return st_model_build(m, c, in, maxB);
}

static const st_shape k_tokens = {.seq = 50, .feat = 1, .tokens = 1, .vocab = 10000};

START_TEST(keras_parameter_counts) {
    st_model m;
    st_config c;
    int rc = build(&m, &c,
                   "[embedding]\ninput_dim = 10000\noutput_dim = 32\nmask_zero = true\n"
                   "[lstm]\nunits = 64\n[dense]\nunits = 1\nactivation = sigmoid\n",
                   k_tokens, 8);
    ck_assert_msg(rc == ST_OK, "%s", st_error_get());
    ck_assert_uint_eq(m.nparams, 320000 + 24832 + 65);
    ck_assert_str_eq(m.layers[1].name, "lstm_1");
    ck_assert_int_eq(m.ntensors, 6);
    /* views are slices of the one buffer, in order, without gaps */
    size_t off = 0;
    for (int t = 0; t < m.ntensors; t++) {
        ck_assert_uint_eq(m.ranges[t].offset, off);
        ck_assert_ptr_eq(m.tensors[t]->w, m.params + off);
        off += m.ranges[t].count;
    }
    ck_assert_int_eq(m.head_act, ST_ACT_SIGMOID);
    ck_assert_ptr_nonnull(st_model_param(&m, "lstm_1", "recurrent_kernel"));
    st_model_free(&m);
    st_config_free(&c);
}
END_TEST

START_TEST(stacked_names_and_custom_name) {
    st_model m;
    st_config c;
    int rc = build(&m, &c,
                   "[embedding]\ninput_dim = 10000\noutput_dim = 8\n"
                   "[simple_rnn]\nunits = 64\nreturn_sequences = true\n"
                   "[simple_rnn]\nunits = 32\nreturn_sequences = true\n"
                   "[simple_rnn]\nunits = 32\nname = last_rnn\n[dense]\nunits = 1\n",
                   k_tokens, 4);
    ck_assert_msg(rc == ST_OK, "%s", st_error_get());
    ck_assert_str_eq(m.layers[1].name, "simple_rnn_1");
    ck_assert_str_eq(m.layers[2].name, "simple_rnn_2");
    ck_assert_str_eq(m.layers[3].name, "last_rnn");
    /* SimpleRNN(64) on 8 inputs: 8*64 + 64*64 + 64 */
    ck_assert_uint_eq(m.nparams, 80000 + (8 * 64 + 64 * 64 + 64) + (64 * 32 + 32 * 32 + 32) +
                                     (32 * 32 + 32 * 32 + 32) + 33);
    st_model_free(&m);
    st_config_free(&c);
}
END_TEST

START_TEST(errors_name_the_line) {
    st_model m;
    st_config c;
    /* line 6 is the [lstm] section, line 7 its bad key */
    int rc = build(&m, &c, "[embedding]\ninput_dim = 10000\noutput_dim = 8\n[lstm]\nunitz = 3\n",
                   k_tokens, 4);
    ck_assert_int_eq(rc, ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "t.ini:10:") && strstr(st_error_get(), "unitz"), "%s",
                  st_error_get());
    st_model_free(&m);
    st_config_free(&c);
    /* a recurrent layer after vectors cannot work */
    rc = build(&m, &c,
               "[embedding]\ninput_dim = 10000\noutput_dim = 8\n[lstm]\nunits = 3\n"
               "[lstm]\nunits = 3\n[dense]\nunits = 1\n",
               k_tokens, 4);
    ck_assert_int_eq(rc, ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "t.ini:11:") && strstr(st_error_get(), "lstm_2"), "%s",
                  st_error_get());
    st_model_free(&m);
    st_config_free(&c);
    /* last layer returning sequences: a many-to-many head, which only labels per step fit
     * (checked against the dataset by st_run_check_head) */
    rc = build(&m, &c,
               "[embedding]\ninput_dim = 10000\noutput_dim = 8\n[lstm]\nunits = 3\n"
               "return_sequences = true\n",
               k_tokens, 4);
    ck_assert_int_eq(rc, ST_OK);
    ck_assert_int_eq(m.seq_out, 1);
    ck_assert_int_eq(st_run_check_head(&m, ST_LOSS_MSE, 2, 0, "d.h5"), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "return_sequences"), "%s", st_error_get());
    ck_assert_int_eq(st_run_check_head(&m, ST_LOSS_MSE, -1, 5, "d.h5"), ST_OK);
    st_model_free(&m);
    st_config_free(&c);
}
END_TEST

/* Loss of the whole model on a fixed batch, summed (scale 1). */
static double model_loss(st_model *m, const st_batch *b, st_loss_kind lk, float *dz) {
    const float *z = st_model_forward(m, b, 1);
    return st_loss_compute(lk, m->head_act, z, b->y, b->B, m->num_outputs, 1.0f, dz, NULL);
}

static void whole_model_gradcheck(const char *layers, st_loss_kind lk, int K, int post) {
    enum { B = 3, T = 6, V = 12 };
    const st_shape in = {.seq = T, .feat = 1, .tokens = 1, .vocab = V};
    st_model m;
    st_config c;
    int rc = build(&m, &c, layers, in, B);
    ck_assert_msg(rc == ST_OK, "%s", st_error_get());
    st_model_init(&m, 5);
    for (size_t i = 0; i < m.nparams; i++) m.params[i] *= 1.5f; /* leave the linear regime */
    int32_t tok[B * T], y[B] = {1, 0, K > 2 ? 2 : 1};
    int len[B] = {T, 4, 1}; /* full, padded, a single real step */
    st_rng r = st_rng_make(3, 3);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int real = post ? t < len[b] : t >= T - len[b];
            tok[b * T + t] = real ? 1 + (int32_t)st_rng_below(&r, V - 1) : 0;
        }
    st_batch bt = {.B = B, .T = T, .F = 1, .tokens = 1, .maxB = B, .tok = tok, .y = y};
    float dz[B * 4];
    st_model_zero_grad(&m);
    model_loss(&m, &bt, lk, dz);
    st_model_backward(&m, &bt, dz);
    float *ga = st_malloc(m.nparams * sizeof(float)), *gn = st_malloc(m.nparams * sizeof(float));
    memcpy(ga, m.grads, m.nparams * sizeof(float));
    const float eps = 2e-3f;
    for (size_t i = 0; i < m.nparams; i++) {
        float s = m.params[i];
        m.params[i] = s + eps;
        double lp = model_loss(&m, &bt, lk, NULL);
        m.params[i] = s - eps;
        double lm = model_loss(&m, &bt, lk, NULL);
        m.params[i] = s;
        gn[i] = (float)((lp - lm) / (2 * eps));
    }
    ck_assert_msg(st_test_close("model", ga, gn, m.nparams, 3e-2, 2e-3) <= 1, "%s", layers);
    st_free(ga);
    st_free(gn);
    st_model_free(&m);
    st_config_free(&c);
}

START_TEST(gradcheck_embedding_lstm_dense) {
    const char *net = "[embedding]\ninput_dim = 12\noutput_dim = 3\nmask_zero = true\n"
                      "[lstm]\nunits = 4\n[dense]\nunits = 1\nactivation = sigmoid\n";
    whole_model_gradcheck(net, ST_LOSS_BCE, 1, 0);
    whole_model_gradcheck(net, ST_LOSS_BCE, 1, 1);
}
END_TEST

START_TEST(gradcheck_stacked_softmax) {
    const char *net = "[embedding]\ninput_dim = 12\noutput_dim = 3\nmask_zero = true\n"
                      "[simple_rnn]\nunits = 3\nreturn_sequences = true\n"
                      "[lstm]\nunits = 3\n[dense]\nunits = 4\nactivation = tanh\n"
                      "[dense]\nunits = 3\nactivation = softmax\n";
    whole_model_gradcheck(net, ST_LOSS_SPARSE_CCE, 3, 0);
    whole_model_gradcheck(net, ST_LOSS_SPARSE_CCE, 3, 1);
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
    st_test_make_mask(MASK_POST, lens, B, T, mask);
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

/* ---- sizes: checked arithmetic, the memory check, buffers for the rows that exist ---------- */

START_TEST(size_arithmetic_saturates) {
    size_t r;
    ck_assert_int_eq(st_size_mul((size_t)1 << 40, (size_t)1 << 20, &r), 0);
    ck_assert_uint_eq(r, (size_t)1 << 60);
    ck_assert_int_eq(st_size_mul((size_t)1 << 40, (size_t)1 << 24, &r), -1);
    ck_assert_uint_eq(r, SIZE_MAX); /* saturates: no later check can accept it */
    ck_assert_int_eq(st_size_add(SIZE_MAX - 1, 1, &r), 0);
    ck_assert_int_eq(st_size_add(SIZE_MAX, 1, &r), -1);
    ck_assert_uint_eq(r, SIZE_MAX);
    char h[32];
    ck_assert_str_eq(st_mem_human(12, h, sizeof h), "12 bytes");
    ck_assert_str_eq(st_mem_human((size_t)3 << 29, h, sizeof h), "1.5 GiB");
    const char *what = NULL;
    ck_assert_uint_gt(st_mem_available(&what), 0);
    ck_assert_ptr_nonnull(what);
}
END_TEST

START_TEST(max_rows_for_the_data) {
    ck_assert_int_eq(st_model_max_rows(64, 1000, 1), 64);
    ck_assert_int_eq(st_model_max_rows(64, 1000, 3), 22);      /* ceil(64 / 3) */
    ck_assert_int_eq(st_model_max_rows(INT_MAX, 300, 2), 150); /* batch_size > the data */
    ck_assert_int_eq(st_model_max_rows(INT_MAX, 1, 4), 1);
    ck_assert_int_eq(st_model_max_rows(100, 0, 2), 50); /* rows unknown (benchmark) */
}
END_TEST

/* The memory check and the optimizer agree on how many state buffers there are. */
START_TEST(optimizer_states_agree) {
    const st_opt_kind kinds[] = {ST_OPT_SGD, ST_OPT_RMSPROP, ST_OPT_ADAM};
    for (int k = 0; k < 3; k++)
        for (int mom = 0; mom < 2; mom++) {
            st_optim_cfg c;
            st_optim_cfg_defaults(&c, kinds[k]);
            c.momentum = mom ? 0.9f : 0.0f;
            st_optim o;
            st_optim_init(&o, &c, 10);
            ck_assert_int_eq(st_optim_cfg_states(&c), o.nstate);
            st_optim_free(&o);
        }
}
END_TEST

/* A model no machine can hold is refused before allocation, naming the key, its line and the
 * bytes; a (T, F) that flatten would wrap in an int is refused naming the layer. */
START_TEST(too_large_refused_up_front) {
    st_model m;
    st_config c;
    /* 2^20 units: 16 Ti floats of recurrent kernel alone. */
    int rc = build(&m, &c,
                   "[embedding]\ninput_dim = 10000\noutput_dim = 8\n[lstm]\nunits = 1048576\n"
                   "[dense]\nunits = 1\n",
                   k_tokens, 4);
    ck_assert_int_eq(rc, ST_ERR);
    const char *e = st_error_get();
    ck_assert_msg(strstr(e, "t.ini:10: [lstm] units = 1048576 (layer lstm_1): the run needs "),
                  "%s", e);
    ck_assert_msg(strstr(e, " bytes (") && strstr(e, "parameters ") && strstr(e, "available"),
                  "%s", e);
    ck_assert_ptr_null(m.params); /* nothing big was allocated */
    st_model_free(&m);
    st_config_free(&c);

    /* An embedding's input_dim is what is named when it dominates. */
    rc = build(&m, &c,
               "[embedding]\ninput_dim = 1073741824\noutput_dim = 1048576\n"
               "[lstm]\nunits = 4\n[dense]\nunits = 1\n",
               k_tokens, 4);
    ck_assert_int_eq(rc, ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "[embedding] input_dim = 1073741824 (layer "
                                         "embedding_1)"),
                  "%s", st_error_get());
    st_model_free(&m);
    st_config_free(&c);

    /* Optimizer state and per-row buffers are part of a run's need. */
    memset(&c, 0, sizeof c);
    char text[512];
    snprintf(text, sizeof text, "%s[lstm]\nunits = 4\n[dense]\nunits = 1\n", k_meta);
    ck_assert_int_eq(st_config_load_string(&c, text, "t.ini"), ST_OK);
    st_model_run_need need = {2, (size_t)1 << 50, 24, "training rows", 1};
    rc = st_model_build_run(&m, &c, (st_shape){.seq = 5, .feat = 3}, 4, &need);
    ck_assert_int_eq(rc, ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "t.ini: 1125899906842624 training rows: the run needs"),
                  "%s", st_error_get());
    ck_assert_msg(strstr(st_error_get(), "optimizer state "), "%s", st_error_get());
    st_model_free(&m);
    need.rows = 1000; /* the same model fits with a sane row count */
    ck_assert_int_eq(st_model_build_run(&m, &c, (st_shape){.seq = 5, .feat = 3}, 4, &need),
                     ST_OK);
    st_model_free(&m);
    st_config_free(&c);

    /* (T, F) = (65537, 65537): T*F wraps an int to 131073. */
    rc = build(&m, &c, "[flatten]\n[dense]\nunits = 1\n", (st_shape){.seq = 65537, .feat = 65537},
               4);
    ck_assert_int_eq(rc, ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "t.ini:6: [flatten] (flatten_1): flatten of (T, F) = "
                                         "(65537, 65537) gives 4295098369 features"),
                  "%s", st_error_get());
    st_model_free(&m);
    st_config_free(&c);

    /* Sizes whose products would wrap size_t itself: still one line, never a small number. */
    rc = build(&m, &c,
               "[lstm]\nunits = 1048576\nreturn_sequences = true\n"
               "[lstm]\nunits = 1048576\n[dense]\nunits = 1\n",
               (st_shape){.seq = 1 << 29, .feat = 1 << 29}, INT_MAX);
    ck_assert_int_eq(rc, ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "the run needs more than 18446744073709551615 bytes"),
                  "%s", st_error_get());
    st_model_free(&m);
    st_config_free(&c);

    /* T x rows per rank beyond an int (one BLAS dimension), though memory might suffice. */
    rc = build(&m, &c, "[dense]\nunits = 1\n", (st_shape){.seq = 1 << 20, .feat = 1}, 4096);
    ck_assert_int_eq(rc, ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "more than the 2147483647 rows") ||
                      strstr(st_error_get(), "the run needs"),
                  "%s", st_error_get());
    st_model_free(&m);
    st_config_free(&c);
}
END_TEST

/* AddressSanitizer aborts on an impossible allocation unless told to return NULL as libc does
 * (malloc_failure_exits_1 needs the failure itself). Unused without the sanitizer. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* An allocation that fails is one user-error line and exit status 1 (not st_fatal's 2). */
START_TEST(malloc_failure_exits_1) {
    st_malloc_for(SIZE_MAX / 2, "a test buffer");
}
END_TEST

int main(void) {
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, keras_parameter_counts);
    tcase_add_test(tc, stacked_names_and_custom_name);
    tcase_add_test(tc, errors_name_the_line);
    suite_add_tcase(s, tc);
    TCase *tg = tcase_create("gradients");
    tcase_set_timeout(tg, 120);
    tcase_add_test(tg, gradcheck_embedding_lstm_dense);
    tcase_add_test(tg, gradcheck_stacked_softmax);
    suite_add_tcase(s, tg);
    TCase *tz = tcase_create("sizes");
    tcase_add_test(tz, size_arithmetic_saturates);
    tcase_add_test(tz, max_rows_for_the_data);
    tcase_add_test(tz, optimizer_states_agree);
    tcase_add_test(tz, too_large_refused_up_front);
    tcase_add_exit_test(tz, malloc_failure_exits_1, 1);
    suite_add_tcase(s, tz);
    TCase *th = tcase_create("heads_and_vectors");
    tcase_add_test(th, per_step_loss);
    tcase_add_test(th, model_shapes);
    tcase_add_test(th, pretrained_vectors);
    suite_add_tcase(s, th);
    return st_test_run(s);
}
