/*
 * test_config.c - the INI config (src/io/config.c): sections in file order with their lines,
 * --set overrides, the canonical text that checkpoints store; and the typed settings the
 * training code resolves from it (src/train/settings.c and each module's key table): values,
 * defaults, and every class of error message (each must name the place and the value); the
 * stored text re-reading to the same config for tricky accepted values; hostile config files
 * (NUL, non-UTF-8, control bytes, endless lines, FIFOs, devices) and layer names --set cannot
 * address, each refused with its exact line.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/spec.h"
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
    ck_assert_msg(strstr(st_error_get(), "/nonexistent/run.ini: no such file"), "%s",
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

/* ---- the stored text re-reads to the same config ------------------------------------------- */

/* Both configs hold the same sections, keys and values, in the same order. */
static void assert_same(const st_config *a, const st_config *b, const char *text) {
    ck_assert_int_eq(a->nsec, b->nsec);
    for (int i = 0; i < a->nsec; i++) {
        ck_assert_str_eq(a->sec[i].name, b->sec[i].name);
        ck_assert_int_eq(a->sec[i].nkv, b->sec[i].nkv);
        for (int j = 0; j < a->sec[i].nkv; j++) {
            ck_assert_str_eq(a->sec[i].kv[j].key, b->sec[i].kv[j].key);
            ck_assert_msg(strcmp(a->sec[i].kv[j].val, b->sec[i].kv[j].val) == 0,
                          "[%s] %s: '%s' came back as '%s' from:\n%s", a->sec[i].name,
                          a->sec[i].kv[j].key, a->sec[i].kv[j].val, b->sec[i].kv[j].val, text);
        }
    }
}

/* text -> config -> text -> config: the configs are equal and the second text is the first. */
static void assert_round_trip(st_config *a) {
    st_config b;
    char *t1 = st_config_text(a);
    ck_assert_msg(st_config_load_string(&b, t1, "ckpt") == ST_OK, "%s\n%s", st_error_get(), t1);
    assert_same(a, &b, t1);
    char *t2 = st_config_text(&b);
    ck_assert_str_eq(t1, t2);
    st_free(t1);
    st_free(t2);
    st_config_free(&b);
}

START_TEST(text_round_trip_tricky_values) {
    char long_line[300], long_val[200];
    /* A legal line of the longest length: 197 characters, "k=" then 195. */
    memset(long_val, 'v', 195);
    long_val[195] = 0;
    snprintf(long_line, sizeof long_line, "[data]\nk=%s\n", long_val);
    const char *cases[] = {
        long_line,
        /* comment characters inside values (';' right after '=' is a value, not a comment) */
        "[data]\nk1 =;head\nk2=#x\nk3 = #x\nk4 = a #b\nk5 = a;b\nk6 = x ; a real comment\n",
        /* blanks: around the value, inside it (spaces and tabs), indented keys */
        "[data]\n   path   =    a  b\tc    \n\tk:v\n",
        /* '=', ':' and brackets inside values; an empty value; the colon form */
        "[train]\nexpr = a=b:c\nlist = [1, 2]\nempty =\nk: x = y\n",
        /* UTF-8 and a byte order mark; key-less and repeated sections */
        "\xEF\xBB\xBF[data]\npath = d\xc3\xa9j\xc3\xa0/\xe2\x9c\x93.h5\n[flatten]\n[lstm]\n[lstm]\n"
        "units=2\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        st_config a;
        load_ok(&a, cases[i]);
        assert_round_trip(&a);
        st_config_free(&a);
    }
    /* The values as inih gives them, which the round trip then keeps. */
    st_config a;
    load_ok(&a, cases[1]);
    ck_assert_str_eq(val(&a.sec[0], "k1"), ";head");
    ck_assert_str_eq(val(&a.sec[0], "k2"), "#x");
    ck_assert_str_eq(val(&a.sec[0], "k3"), "#x");
    ck_assert_str_eq(val(&a.sec[0], "k5"), "a;b");
    ck_assert_str_eq(val(&a.sec[0], "k6"), "x");
    char *t = st_config_text(&a);
    ck_assert_msg(strstr(t, "\nk1=;head\n") && strstr(t, "\nk5 = a;b\n"), "%s", t);
    st_free(t);
    st_config_free(&a);
    load_ok(&a, long_line);
    ck_assert_uint_eq(strlen(val(&a.sec[0], "k")), 195);
    st_config_free(&a);

    /* --set values at the limits: a leading ';', the longest line, trimmed blanks */
    load_ok(&a, "[data]\npath=x\n[lstm]\nunits=3\n");
    char set[300];
    ck_assert_msg(st_config_set(&a, "lstm.note=;x") == ST_OK, "%s", st_error_get());
    snprintf(set, sizeof set, "data.k=%s", long_val);
    ck_assert_msg(st_config_set(&a, set) == ST_OK, "%s", st_error_get());
    ck_assert(st_config_set(&a, "data.path =   spaced out  ") == ST_OK);
    ck_assert_str_eq(val(&a.sec[0], "path"), "spaced out");
    assert_round_trip(&a);
    st_config_free(&a);
}
END_TEST

START_TEST(set_refuses_what_would_not_survive) {
    st_config c;
    load_ok(&c, "[data]\npath=x\n[lstm]\nunits=3\n");
    static const struct {
        const char *set, *want;
    } bad[] = {
        {"lstm.a:b=1", "--set lstm.a:b=1: a key is made of letters, digits, '_', '.' and '-'"},
        {"lstm.[x=1", "--set lstm.[x=1: a key is made of letters, digits, '_', '.' and '-'"},
        {"lstm.k=a ;b", "--set lstm.k=a ;b: the value may not contain a control character or "
                        "' ;'"},
        {"lstm.k=a\x1b[2Jb", "the value may not contain a control character or ' ;'"},
        {"lstm.k=caf\xe9", "--set lstm.k=caf\xe9: the value is not UTF-8 text"},
        {"lstm.k=a\xe2\x80\xae" "b", "--set lstm.k=a\\u{202e}b: the value holds an invisible "
                                  "control character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(st_config_set(&c, bad[i].set), ST_ERR);
        ck_assert_msg(strstr(st_error_get(), bad[i].want), "%s: '%s'", bad[i].set,
                      st_error_get());
    }
    char big[300];
    snprintf(big, sizeof big, "data.k=%0196d", 0); /* "k=" + 196: one past the line */
    ck_assert_int_eq(st_config_set(&c, big), ST_ERR);
    ck_assert_msg(strstr(st_error_get(), "'key=value' must fit in 197 characters"), "%s",
                  st_error_get());
    ck_assert_int_eq(c.sec[1].nkv, 1); /* nothing was added */
    st_config_free(&c);
}
END_TEST

/* ---- hostile config files ------------------------------------------------------------------ */


/* Loads path (under an alarm: a blocking read fails the test) and checks the exact line. */
static void expect_load_error(const char *path, const char *rest) {
    char want[1024];
    snprintf(want, sizeof want, "%s%s", path, rest);
    st_config c;
    alarm(10);
    int rc = st_config_load(&c, path);
    alarm(0);
    ck_assert_int_eq(rc, ST_ERR);
    ck_assert_str_eq(st_error_get(), want);
    st_config_free(&c);
}

START_TEST(hostile_files_are_refused) {
    static const char nul[] = "[data]\npath = x.h5\0; hidden = 1\n";
    expect_load_error(st_test_write_file("nul.ini", nul, sizeof nul - 1),
                      ":2: a NUL byte at column 12: a config is text");
    static const char latin1[] = "[data]\n\npath = caf\xe9.h5\n";
    expect_load_error(st_test_write_file("latin1.ini", latin1, sizeof latin1 - 1),
                      ":3: byte 0xe9 at column 11 is not UTF-8");
    static const char esc[] = "[data]\npath = x\x1b[2J.h5\n";
    expect_load_error(st_test_write_file("esc.ini", esc, sizeof esc - 1),
                      ":2: control character 0x1b at column 9: a config is plain text");
    /* U+009B (CSI on some terminals) and U+202E (right-to-left override) are valid UTF-8
     * but act on the terminal when a message quotes the value. */
    static const char c1[] = "[data]\npath = x\xc2\x9b" "2J.h5\n";
    expect_load_error(st_test_write_file("c1.ini", c1, sizeof c1 - 1),
                      ":2: invisible control character U+009B at column 9: a config is plain text");
    static const char rlo[] = "[train]\nloss = sig\xe2\x80\xaemoid\n";
    expect_load_error(st_test_write_file("rlo.ini", rlo, sizeof rlo - 1),
                      ":2: invisible control character U+202E at column 11: a config is plain "
                      "text");
    static const char cr[] = "[data]\r\npath = x\rname = y\r\n";
    expect_load_error(st_test_write_file("cr.ini", cr, sizeof cr - 1),
                      ":2: control character 0x0d at column 9: a config is plain text");
    /* A blank section name (found by fuzz_config): its keys would be stored as "[]", which
     * reads back as keys before any section. */
    static const char blank[] = "[\t]\nbatch_size = 8\n";
    expect_load_error(st_test_write_file("blank.ini", blank, sizeof blank - 1),
                      ":1: syntax error: an empty section name");
    /* A line that never ends: refused after LINE_READ_MAX bytes, not buffered whole. */
    size_t n = 100000;
    char *endless = st_malloc(n);
    memset(endless, 'a', n);
    memcpy(endless, "[data]\n", 7);
    expect_load_error(st_test_write_file("endless.ini", endless, n),
                      ":2: line is longer than 197 characters");
    /* Over 1 MiB of short lines: not a config. */
    size_t big = (1 << 20) + 10;
    char *lines = st_malloc(big);
    for (size_t i = 0; i < big; i++) lines[i] = i % 8 == 7 ? '\n' : ';';
    expect_load_error(st_test_write_file("big.ini", lines, big),
                      ": 1048586 bytes: larger than a config may be (1048576)");
    st_free(endless);
    st_free(lines);
    /* Not regular files: no read at all (a FIFO would wait for a writer, /dev/zero never
     * ends a line). */
    expect_load_error("/dev/zero", ": is a character device: a config must be a regular file");
    const char *fifo = st_test_path("cfg.fifo");
    unlink(fifo);
    ck_assert(mkfifo(fifo, 0600) == 0);
    expect_load_error(fifo, ": is a FIFO (named pipe): a config must be a regular file");
    expect_load_error(st_test_path(""), ": is a directory: a config must be a regular file");

    /* The stored text (a checkpoint's config) gets the same checks. */
    st_config c;
    ck_assert_int_eq(st_config_load_string(&c, "[data]\npath = \xff\n", "ck.h5"), ST_ERR);
    ck_assert_str_eq(st_error_get(), "ck.h5:2: byte 0xff at column 8 is not UTF-8");
    st_config_free(&c);
    ck_assert_int_eq(st_config_load_string(&c, "[data]\n\x07\n", "ck.h5"), ST_ERR);
    ck_assert_str_eq(st_error_get(), "ck.h5:2: control character 0x07 at column 1: a config is "
                                     "plain text");
    st_config_free(&c);
}
END_TEST

/* ---- layer names are what --set can address ------------------------------------------------ */

/* Builds the spec of section s of text; returns the result, the message in st_error_get. */
static int spec_of(const char *text, int s) {
    st_config c;
    load_ok(&c, text);
    st_layer_spec spec;
    int rc = st_model_spec_make(&c, s, &spec);
    st_config_free(&c);
    return rc;
}

START_TEST(layer_names_are_addressable) {
    ck_assert_msg(spec_of("[data]\npath=x\n[lstm]\nname = enc_1\nunits=3\n", 1) == ST_OK, "%s",
                  st_error_get());
    /* the first [lstm] may be called lstm: --set lstm.x reaches it */
    ck_assert(spec_of("[lstm]\nname = lstm\nunits=3\n[lstm]\nunits=2\n", 0) == ST_OK);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[data]\npath=x\n[lstm]\nname = enc.v2\nunits=3\n",
         "config.ini:4: [lstm]: name = enc.v2: must be a letter then letters, digits or '_', at "
         "most 63 characters (--set NAME.key=value addresses the layer by it)"},
        {"[data]\npath=x\n[lstm]\nname = 2nd\nunits=3\n", "name = 2nd: must be a letter"},
        {"[data]\npath=x\n[lstm]\nname = a b\nunits=3\n", "name = a b: must be a letter"},
        {"[data]\npath=x\n[lstm]\nname = train\nunits=3\n",
         "config.ini:4: [lstm]: name = train: --set train.KEY would change the [train] section, "
         "not this layer: choose another name"},
        {"[data]\npath=x\n[dense]\nname = data\n",
         "config.ini:4: [dense]: name = data: --set data.KEY would change [data] at line 1, not "
         "this layer: choose another name"},
        {"[data]\npath=x\n[dense]\nname = lstm\n[lstm]\nunits = 2\n",
         "name = lstm: --set lstm.KEY would change [lstm] at line 5, not this layer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(spec_of(bad[i].text, 1), ST_ERR);
        ck_assert_msg(strstr(st_error_get(), bad[i].want), "'%s' lacks '%s'", st_error_get(),
                      bad[i].want);
    }
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
    tcase_add_test(tc, text_round_trip_tricky_values);
    tcase_add_test(tc, set_refuses_what_would_not_survive);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_add_test(tc, hostile_files_are_refused);
    tcase_add_test(tc, layer_names_are_addressable);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(config_suite()); }
