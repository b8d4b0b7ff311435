/*
 * test_parse.c - the one value parser (src/core/parse.c): numbers with bounds, booleans,
 * enumerations, strings, and the key tables modules resolve their config keys from.
 */
#include <math.h>
#include <string.h>

#include "core/parse.h"
#include "testutil.h"

START_TEST(test_int) {
    int v = 7;
    ck_assert_int_eq(st_parse_int("units", "abc", 1, 100, &v), ST_ERR);
    ck_assert_str_eq(st_error_get(), "units = abc: must be an integer from 1 to 100");
    ck_assert_int_eq(v, 7); /* untouched: the default survives */
    ck_assert_int_eq(st_parse_int("units", "12x", 1, 100, &v), ST_ERR);
    ck_assert_int_eq(st_parse_int("units", "1e3", 1, 100, &v), ST_ERR);
    ck_assert_int_eq(st_parse_int("units", "", 1, 100, &v), ST_ERR);
    ck_assert_int_eq(st_parse_int("units", "0", 1, 100, &v), ST_ERR);
    ck_assert_int_eq(st_parse_int("units", "101", 1, 100, &v), ST_ERR);
    ck_assert_int_eq(st_parse_int("units", "99999999999999", 1, 100, &v), ST_ERR);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(st_parse_int("units", " 64 ", 1, 100, &v), ST_OK);
    ck_assert_int_eq(v, 64);
    ck_assert_int_eq(st_parse_int("units", "100", 1, 100, &v), ST_OK);
    ck_assert_int_eq(v, 100);
    /* unbounded above: the message says so */
    ck_assert_int_eq(st_parse_int("batch_size", "-3", 1, 1L << 40, &v), ST_ERR);
    ck_assert_str_eq(st_error_get(), "batch_size = -3: must be an integer >= 1");
    ck_assert_int_eq(st_parse_int("batch_size", "2147483648", 1, 1L << 40, &v), ST_ERR);

    uint64_t u = 5;
    ck_assert_int_eq(st_parse_u64("seed", "18446744073709551615", &u), ST_OK);
    ck_assert(u == UINT64_MAX);
    ck_assert_int_eq(st_parse_u64("seed", "-1", &u), ST_ERR);
    ck_assert_int_eq(st_parse_u64("seed", "18446744073709551616", &u), ST_ERR);
    ck_assert(u == UINT64_MAX);
}
END_TEST

START_TEST(test_float) {
    float f = 2;
    ck_assert_int_eq(st_parse_float("lr", "1e-3", 0, INFINITY, ST_OPEN_LO, &f), ST_OK);
    ck_assert(f == 1e-3f);
    ck_assert_int_eq(st_parse_float("lr", "fast", 0, INFINITY, ST_OPEN_LO, &f), ST_ERR);
    ck_assert_str_eq(st_error_get(), "lr = fast: must be a number > 0");
    ck_assert_int_eq(st_parse_float("lr", "0", 0, INFINITY, ST_OPEN_LO, &f), ST_ERR);
    ck_assert_int_eq(st_parse_float("lr", "nan", 0, INFINITY, 0, &f), ST_ERR);
    ck_assert_int_eq(st_parse_float("lr", "inf", 0, INFINITY, 0, &f), ST_ERR);
    ck_assert_int_eq(st_parse_float("lr", "1e39", 0, INFINITY, 0, &f), ST_ERR);
    ck_assert(f == 1e-3f);
    /* half-open [0, 1): the rate of a dropout */
    ck_assert_int_eq(st_parse_float("rate", "1", 0, 1, ST_OPEN_HI, &f), ST_ERR);
    ck_assert_str_eq(st_error_get(), "rate = 1: must be a number >= 0 and < 1");
    ck_assert_int_eq(st_parse_float("rate", "0", 0, 1, ST_OPEN_HI, &f), ST_OK);
    ck_assert(f == 0);
    ck_assert_int_eq(st_parse_float("x", "-1e30", -INFINITY, INFINITY, 0, &f), ST_OK);
    ck_assert(f == -1e30f);
}
END_TEST

START_TEST(test_bool) {
    /* every spelling configparser accepts: use_bias = on must work like shuffle = on */
    const char *yes[] = {"true", "TRUE", "1", "yes", "Yes", "on", "ON"};
    const char *no[] = {"false", "0", "no", "NO", "off", "Off"};
    int b;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        b = 0;
        ck_assert_int_eq(st_parse_bool("k", yes[i], &b), ST_OK);
        ck_assert_int_eq(b, 1);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        b = 1;
        ck_assert_int_eq(st_parse_bool("k", no[i], &b), ST_OK);
        ck_assert_int_eq(b, 0);
    }
    b = 5;
    ck_assert_int_eq(st_parse_bool("mask_zero", "maybe", &b), ST_ERR);
    ck_assert_str_eq(st_error_get(),
                     "mask_zero = maybe: must be true or false (or yes/no, on/off, 1/0)");
    ck_assert_int_eq(b, 5);
    ck_assert_int_eq(st_parse_bool("k", "2", &b), ST_ERR);
    ck_assert_int_eq(st_parse_bool("k", "", &b), ST_ERR);
}
END_TEST

START_TEST(test_enum_string) {
    static const char *const names[] = {"sgd", "rmsprop", "adam", NULL};
    int v = -1;
    ck_assert_int_eq(st_parse_enum("optimizer", "adam", names, "optimizer", &v), ST_OK);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(st_parse_enum("optimizer", "Adam", names, "optimizer", &v), ST_ERR);
    ck_assert_str_eq(st_error_get(),
                     "optimizer = Adam: unknown optimizer (known: sgd, rmsprop, adam)");
    ck_assert_int_eq(v, 2);

    char s[5] = "old";
    ck_assert_int_eq(st_parse_string("split", "abcd", s, sizeof s), ST_OK);
    ck_assert_str_eq(s, "abcd");
    ck_assert_int_eq(st_parse_string("split", "abcde", s, sizeof s), ST_ERR);
    ck_assert_str_eq(st_error_get(), "split = abcde: too long (at most 4 characters)");
    ck_assert_str_eq(s, "abcd");
}
END_TEST

typedef struct opts {
    int units, flag, kind;
    float rate;
    uint64_t seed;
    char path[8];
    int custom;
} opts;

static int parse_custom(const char *key, const char *val, void *field) {
    if (strcmp(val, "x") != 0) {
        st_error_set("%s = %s: must be x", key, val);
        return ST_ERR;
    }
    *(int *)field = 42;
    return ST_OK;
}

static const char *const k_kinds[] = {"a", "b", NULL};
static const st_key k_table[] = {
    ST_KEY_INT_ROW("units", opts, units, 1, 1 << 20),
    ST_KEY_BOOL_ROW("flag", opts, flag),
    ST_KEY_ENUM_ROW("kind", opts, kind, k_kinds, "kind"),
    ST_KEY_FLOAT_ROW("rate", opts, rate, 0, 1, ST_OPEN_HI),
    ST_KEY_U64_ROW("seed", opts, seed),
    ST_KEY_STRING_ROW("path", opts, path),
    ST_KEY_FUNC_ROW("custom", opts, custom, parse_custom),
    ST_KEY_END,
};

START_TEST(test_key_table) {
    opts o = {0};
    ck_assert_int_eq(st_keys_set(k_table, &o, "units", "16"), ST_OK);
    ck_assert_int_eq(st_keys_set(k_table, &o, "flag", "on"), ST_OK);
    ck_assert_int_eq(st_keys_set(k_table, &o, "kind", "b"), ST_OK);
    ck_assert_int_eq(st_keys_set(k_table, &o, "rate", "0.25"), ST_OK);
    ck_assert_int_eq(st_keys_set(k_table, &o, "seed", "123"), ST_OK);
    ck_assert_int_eq(st_keys_set(k_table, &o, "path", "a.h5"), ST_OK);
    ck_assert_int_eq(st_keys_set(k_table, &o, "custom", "x"), ST_OK);
    ck_assert_int_eq(o.units, 16);
    ck_assert_int_eq(o.flag, 1);
    ck_assert_int_eq(o.kind, 1);
    ck_assert(o.rate == 0.25f);
    ck_assert(o.seed == 123);
    ck_assert_str_eq(o.path, "a.h5");
    ck_assert_int_eq(o.custom, 42);
    /* errors come from the same parsers, with the table's bounds */
    ck_assert_int_eq(st_keys_set(k_table, &o, "units", "0"), ST_ERR);
    ck_assert_str_eq(st_error_get(), "units = 0: must be an integer from 1 to 1048576");
    ck_assert_int_eq(st_keys_set(k_table, &o, "rate", "1"), ST_ERR);
    ck_assert_int_eq(st_keys_set(k_table, &o, "path", "long/path.h5"), ST_ERR);
    ck_assert_int_eq(st_keys_set(k_table, &o, "custom", "y"), ST_ERR);
    ck_assert_str_eq(st_error_get(), "custom = y: must be x");
    ck_assert_int_eq(o.units, 16);
    /* unknown keys are the caller's to report, with the known names */
    ck_assert_int_eq(st_keys_set(k_table, &o, "unitz", "3"), ST_ENOKEY);
    ck_assert_ptr_null(st_keys_find(k_table, "unitz"));
    ck_assert_ptr_nonnull(st_keys_find(k_table, "seed"));
    char buf[128];
    ck_assert_str_eq(st_keys_names(k_table, buf, sizeof buf),
                     "units, flag, kind, rate, seed, path, custom");
    ck_assert_str_eq(st_keys_names(k_table, buf, 8), "units, ");
}
END_TEST

static Suite *parse_suite(void) {
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, test_int);
    tcase_add_test(tc, test_float);
    tcase_add_test(tc, test_bool);
    tcase_add_test(tc, test_enum_string);
    suite_add_tcase(s, tc);
    tc = tcase_create("tables");
    tcase_add_test(tc, test_key_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return st_test_run(parse_suite()); }
