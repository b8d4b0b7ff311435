/*
 * test_config.c - the INI config (src/io/config.c): sections in file order with their lines,
 * --set overrides, the canonical text that checkpoints store; and the typed settings the
 * training code resolves from it (src/train/settings.c and each module's key table): values,
 * defaults, and every class of error message (each must name the place and the value).
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "train/settings.h"

static const char *k_good =
    "; a comment\n"
    "[data]\n"
    "path = data/imdb.h5\n"
    "validation_split = 0.2\n"
    "\n"
    "[train]\n"
    "epochs = 3\n"
    "batch_size = 64    ; inline comment\n"
    "optimizer = adam\n"
    "learning_rate = 0.002\n"
    "loss = binary_crossentropy\n"
    "metrics = accuracy\n"
    "\n"
    "[embedding]\n"
    "  input_dim = 100\n"
    "  output_dim = 8\n"
    "[lstm]\n"
    "units = 16\n"
    "return_sequences = true\n"
    "[lstm]\n"
    "units = 8\n"
    "[dense]\n"
    "[dense]\n"
    "units = 1\n"
    "activation = sigmoid\n";

/* Loads text; asserts success. */
static void load_ok(st_config *c, const char *text) {
    int rc = st_config_load_string(c, text, "config.ini");
    ck_assert_msg(rc == ST_OK, "load: %s", st_error_get());
}

/* Loads (and resolves, when the load succeeds) text that must fail; checks the message. */
static void expect_error(const char *text, const char *want) {
    st_config c;
    st_error_clear();
    int rc = st_config_load_string(&c, text, "config.ini");
    st_settings set;
    if (rc == ST_OK) rc = st_settings_resolve(&set, &c);
    ck_assert_msg(rc == ST_ERR, "accepted: %s", text);
    ck_assert_msg(strstr(st_error_get(), want), "message '%s' lacks '%s'", st_error_get(), want);
    st_config_free(&c);
}

static const char *val(const st_section *s, const char *key) {
    for (int i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0) return s->kv[i].val;
    return NULL;
}

START_TEST(parse_sections_in_order) {
    st_config c;
    load_ok(&c, k_good);
    ck_assert_int_eq(c.nsec, 7);
    const char *names[] = {"data", "train", "embedding", "lstm", "lstm", "dense", "dense"};
    const int lines[] = {2, 6, 14, 17, 20, 22, 23};
    for (int i = 0; i < 7; i++) {
        ck_assert_str_eq(c.sec[i].name, names[i]);
        ck_assert_int_eq(c.sec[i].line, lines[i]);
    }
    /* stacked [lstm] sections stay separate, each with its own keys */
    ck_assert_str_eq(val(&c.sec[3], "units"), "16");
    ck_assert_str_eq(val(&c.sec[4], "units"), "8");
    ck_assert_ptr_null(val(&c.sec[4], "return_sequences"));
    /* a key-less section is kept */
    ck_assert_int_eq(c.sec[5].nkv, 0);
    /* indented keys are keys, not continuations of the previous value */
    ck_assert_int_eq(c.sec[2].nkv, 2);
    ck_assert_str_eq(val(&c.sec[2], "input_dim"), "100");
    ck_assert_int_eq(c.sec[2].kv[1].line, 16);
    /* inline comment stripped; line of each key */
    ck_assert_str_eq(val(&c.sec[1], "batch_size"), "64");
    ck_assert_int_eq(c.sec[1].kv[1].line, 8);
    st_config_free(&c);
}
END_TEST

START_TEST(resolve_values_and_defaults) {
    st_settings S;
    st_config c;
    load_ok(&c, k_good);
    ck_assert_msg(st_settings_resolve(&S, &c) == ST_OK, "%s", st_error_get());
    ck_assert_str_eq(S.data.path, "data/imdb.h5");
    ck_assert_float_eq_tol(S.data.validation_split, 0.2f, 1e-7f);
    ck_assert_str_eq(S.data.train_split, "train");
    ck_assert_str_eq(S.data.test_split, "test");
    ck_assert_int_eq(S.train.epochs, 3);
    ck_assert_int_eq(S.train.batch_size, 64);
    ck_assert_int_eq(S.train.optim.kind, ST_OPT_ADAM);
    ck_assert_float_eq_tol(S.train.optim.learning_rate, 0.002f, 1e-9f);
    ck_assert_int_eq(S.train.optim.lr_set, 1);
    ck_assert_float_eq_tol(S.train.optim.beta_2, 0.999f, 1e-9f);
    ck_assert_int_eq(S.train.loss, ST_LOSS_BCE);
    ck_assert_int_eq(S.train.loss_set, 1);
    ck_assert_int_eq(S.train.metrics.n, 0); /* accuracy is always reported */
    ck_assert_uint_eq(S.train.seed, 42);
    ck_assert_int_eq(S.train.shuffle, 1);
    ck_assert_str_eq(S.ckpt.dir, "");
    ck_assert_int_eq(S.ckpt.keep, 3);
    ck_assert_int_eq(S.ckpt.every_steps, 0);
    st_config_free(&c);

    /* minimal: Keras defaults (rmsprop, batch 32, 1 epoch) */
    load_ok(&c, "[data]\npath=x.h5\n[train]\nloss=mse\n[dense]\nunits=1\n");
    ck_assert_msg(st_settings_resolve(&S, &c) == ST_OK, "%s", st_error_get());
    ck_assert_int_eq(S.train.epochs, 1);
    ck_assert_int_eq(S.train.batch_size, 32);
    ck_assert_int_eq(S.train.optim.kind, ST_OPT_RMSPROP);
    ck_assert_int_eq(S.train.optim.lr_set, 0);
    ck_assert_int_eq(S.train.metrics.n, 0);
    ck_assert_int_eq(S.train.loss, ST_LOSS_MSE);
    st_config_free(&c);
}
END_TEST

START_TEST(optimizer_applies_before_its_options) {
    st_settings S;
    /* learning_rate and momentum come before optimizer: they must survive its defaults */
    st_config c;
    load_ok(&c, "[data]\npath=x.h5\n[train]\nlearning_rate = 0.5\nmomentum = 0.9\n"
                "nesterov = true\noptimizer = sgd\nloss = mse\nseed = 18446744073709551615\n"
                "shuffle = no\n[checkpoint]\ndir = runs/a\nevery_steps = 100\nkeep = 0\n");
    ck_assert_msg(st_settings_resolve(&S, &c) == ST_OK, "%s", st_error_get());
    ck_assert_int_eq(S.train.optim.kind, ST_OPT_SGD);
    ck_assert_float_eq_tol(S.train.optim.learning_rate, 0.5f, 1e-9f);
    ck_assert_float_eq_tol(S.train.optim.momentum, 0.9f, 1e-9f);
    ck_assert_int_eq(S.train.optim.nesterov, 1);
    ck_assert_uint_eq(S.train.seed, UINT64_MAX);
    ck_assert_int_eq(S.train.shuffle, 0);
    ck_assert_str_eq(S.ckpt.dir, "runs/a");
    ck_assert_int_eq(S.ckpt.every_steps, 100);
    ck_assert_int_eq(S.ckpt.keep, 0);
    st_config_free(&c);
}
END_TEST

#define HEAD "[data]\npath = x.h5\n[train]\nloss = mse\n"

START_TEST(error_messages) {
    /* unknown key: line, section, key and the known keys */
    expect_error(HEAD "epoch = 3\n", "config.ini:5: [train] unknown key 'epoch' (known: epochs,");
    /* bad values: line, key, value, the rule */
    expect_error(HEAD "batch_size = -3\n",
                 "config.ini:5: [train] batch_size = -3: must be an integer >= 1");
    expect_error(HEAD "batch_size = 12abc\n", "batch_size = 12abc: must be an integer >= 1");
    expect_error(HEAD "learning_rate = 0\n", "config.ini:5: [train] learning_rate = 0: must be "
                                             "a number > 0");
    expect_error("[data]\npath = x.h5\nvalidation_split = 1\n[train]\nloss=mse\n",
                 "config.ini:3: [data] validation_split = 1: must be a number >= 0 and < 1");
    expect_error(HEAD "optimizer = adamw\n", "config.ini:5: [train] optimizer = adamw: must be "
                                             "one of sgd, rmsprop, adam");
    expect_error(HEAD "loss = hinge\n", "duplicate key 'loss' (first at line 4)");
    expect_error("[data]\npath=x.h5\n[train]\nloss = hinge\n",
                 "config.ini:4: [train] loss = hinge: must be one of binary_crossentropy");
    expect_error(HEAD "shuffle = maybe\n", "[train] shuffle = maybe: must be true or false");
    expect_error(HEAD "metrics = accuracy, f1\n",
                 "[train] metrics = accuracy, f1: unknown metric 'f1' (known: accuracy");
    expect_error(HEAD "optimizer = adam\nrho = 0.9\n",
                 "config.ini:6: [train] rho = 0.9: not an option of optimizer adam");
    expect_error(HEAD "clipnorm = 1\nglobal_clipnorm = 1\n", "cannot both be set");
    expect_error(HEAD "[checkpoint]\nkeep = -1\n",
                 "config.ini:6: [checkpoint] keep = -1: must be an integer >= 0");
    /* unknown section, with the layer types */
    expect_error(HEAD "[dense]\nunits=1\n\n[lstmm]\nunits = 3\n",
                 "config.ini:8: unknown section [lstmm] (layer types: ");
    expect_error(HEAD "[train]\n", "config.ini:5: duplicate section [train] (first at line 3)");
    /* required keys */
    expect_error("[data]\npath = x.h5\n[train]\nepochs = 2\n", "config.ini: [train] loss is "
                                                                "required");
    expect_error("[data]\n[train]\nloss = mse\n", "config.ini: [data] path is required");
    /* syntax */
    expect_error(HEAD "units 3\n", "config.ini:5: syntax error");
    expect_error(HEAD "[lstm\n", "config.ini:5: syntax error: '[lstm' has no closing ']'");
    expect_error("x = 1\n[data]\n", "config.ini:1: key 'x' comes before any [section]");
    /* duplicate key inside one section names both lines */
    expect_error(HEAD "[lstm]\nunits = 3\n\nunits = 4\n",
                 "config.ini:8: [lstm] duplicate key 'units' (first at line 6)");
    /* an over-long line is reported, not split into fragments */
    char big[400];
    snprintf(big, sizeof big, HEAD "[dense]\nname = %0300d\n", 7);
    expect_error(big, "config.ini:6: line is longer than");
}
END_TEST

START_TEST(load_file_and_missing_file) {
    const char *p = st_test_path("run.ini");
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(k_good, f);
    fclose(f);
    st_config c;
    ck_assert_msg(st_config_load(&c, p) == ST_OK, "%s", st_error_get());
    ck_assert_str_eq(c.origin, p);
    ck_assert_int_eq(c.nsec, 7);
    ck_assert_int_eq(c.sec[4].line, 20);
    st_config_free(&c);

    ck_assert_int_eq(st_config_load(&c, "/nonexistent/run.ini"), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "/nonexistent/run.ini: cannot open"), "%s",
                  st_error_get());
    st_config_free(&c);
}
END_TEST

START_TEST(set_overrides) {
    st_settings S;
    st_config c;
    load_ok(&c, k_good);
    /* layer name: the second lstm */
    ck_assert_msg(st_config_set(&c, "lstm_2.units=64") == ST_OK, "%s", st_error_get());
    ck_assert_str_eq(val(&c.sec[4], "units"), "64");
    ck_assert_str_eq(val(&c.sec[3], "units"), "16");
    /* section name: the first of that name; a new key is added with line 0 */
    ck_assert(st_config_set(&c, "lstm.dropout = 0.5") == ST_OK);
    ck_assert_str_eq(val(&c.sec[3], "dropout"), "0.5");
    ck_assert_int_eq(c.sec[3].kv[c.sec[3].nkv - 1].line, 0);
    ck_assert(st_config_set(&c, "dense_1.units=4") == ST_OK);
    ck_assert_str_eq(val(&c.sec[5], "units"), "4");
    /* meta: replaces the value, and a missing meta section is created */
    ck_assert(st_config_set(&c, "train.epochs=5") == ST_OK);
    ck_assert(st_config_set(&c, "checkpoint.dir=runs/x") == ST_OK);
    ck_assert_int_eq(c.nsec, 8);
    ck_assert_msg(st_settings_resolve(&S, &c) == ST_OK, "%s", st_error_get());
    ck_assert_int_eq(S.train.epochs, 5);
    ck_assert_str_eq(S.ckpt.dir, "runs/x");

    /* errors name the --set */
    ck_assert(st_config_set(&c, "lstm_3.units=1") == ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "no section or layer named 'lstm_3'") &&
                      strstr(st_error_get(), "lstm_1, lstm_2"), "%s", st_error_get());
    ck_assert(st_config_set(&c, "epochs=5") == ST_ERR);
    ck_assert(st_config_set(&c, "train.epochs") == ST_ERR);
    ck_assert(st_config_set(&c, "train.batch_size=0") == ST_OK);
    ck_assert(st_settings_resolve(&S, &c) == ST_ERR);
    ck_assert_str_eq(st_error_get(),
                     "--set train.batch_size: [train] batch_size = 0: must be an integer >= 1");
    st_config_free(&c);

    /* a named layer keeps its own name and does not rename the others */
    load_ok(&c, "[data]\npath=x\n[lstm]\nname = enc\nunits=3\n[lstm]\nunits = 2\n");
    ck_assert(st_config_set(&c, "enc.units=5") == ST_OK);
    ck_assert(st_config_set(&c, "lstm_2.units=7") == ST_OK);
    ck_assert_str_eq(val(&c.sec[1], "units"), "5");
    ck_assert_str_eq(val(&c.sec[2], "units"), "7");
    st_config_free(&c);
}
END_TEST

START_TEST(text_round_trip) {
    st_settings S;
    st_config a, b;
    load_ok(&a, k_good);
    ck_assert(st_config_set(&a, "lstm_2.units=64") == ST_OK);
    ck_assert(st_config_set(&a, "checkpoint.dir=runs/x") == ST_OK);
    char *t1 = st_config_text(&a);
    ck_assert_msg(st_config_load_string(&b, t1, "ckpt") == ST_OK, "%s\n%s", st_error_get(), t1);
    ck_assert_int_eq(a.nsec, b.nsec);
    for (int i = 0; i < a.nsec; i++) {
        ck_assert_str_eq(a.sec[i].name, b.sec[i].name);
        ck_assert_int_eq(a.sec[i].nkv, b.sec[i].nkv);
        for (int j = 0; j < a.sec[i].nkv; j++) {
            ck_assert_str_eq(a.sec[i].kv[j].key, b.sec[i].kv[j].key);
            ck_assert_str_eq(a.sec[i].kv[j].val, b.sec[i].kv[j].val);
        }
    }
    char *t2 = st_config_text(&b);
    ck_assert_str_eq(t1, t2);
    ck_assert(strstr(t1, "[lstm]\nunits = 64\n"));
    ck_assert_msg(st_settings_resolve(&S, &b) == ST_OK, "%s", st_error_get());
    ck_assert_str_eq(S.ckpt.dir, "runs/x");
    st_free(t1);
    st_free(t2);
    st_config_free(&a);
    st_config_free(&b);
}
END_TEST

static Suite *config_suite(void) {
    Suite *s = suite_create("config");
    TCase *tc;
    tc = tcase_create("parse");
    tcase_add_test(tc, parse_sections_in_order);
    tcase_add_test(tc, load_file_and_missing_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("resolve");
    tcase_add_test(tc, resolve_values_and_defaults);
    tcase_add_test(tc, optimizer_applies_before_its_options);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, error_messages);
    suite_add_tcase(s, tc);
    tc = tcase_create("set");
    tcase_add_test(tc, set_overrides);
    suite_add_tcase(s, tc);
    tc = tcase_create("text");
    tcase_add_test(tc, text_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(config_suite()); }
