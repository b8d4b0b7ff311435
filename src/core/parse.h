/*
 * parse.h - THE value parser: every config key (data, train, optimizer, callbacks, checkpoint,
 * every layer option) is turned from text into a typed value here, so `use_bias = on` and
 * `shuffle = on` mean the same thing and every bad value is worded the same way.
 *
 * Two levels:
 *  - st_parse_int / _float / _bool / _enum / _string: one value. On a bad value they
 *    st_error_set() "KEY = VALUE: why" (no location: the caller knows the file and line and
 *    prefixes it) and return ST_ERR, leaving *out untouched so a default survives.
 *  - st_key tables: a module lists its keys once, as rows {name, kind, offset into the
 *    module's settings struct, bounds}, and st_keys_set() applies one "key = value" to the
 *    struct. A new option is one row. Unknown keys return ST_ENOKEY so the caller can name
 *    the section and list the known keys (st_keys_names).
 *
 * What it does not do: read files, know sections or line numbers (src/io/config.c does).
 */
#ifndef SEQTRAIN_CORE_PARSE_H
#define SEQTRAIN_CORE_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Whole-string integer in [lo, hi] ("12 " is 12; "12abc", "1e3", "" are refused). */
int st_parse_int(const char *key, const char *val, long lo, long hi, int *out);
/* Whole-string unsigned 64-bit integer (seeds). */
int st_parse_u64(const char *key, const char *val, uint64_t *out);
/* Whole-string finite number in the range lo..hi; open: ST_OPEN_LO / ST_OPEN_HI exclude that
 * bound; hi = INFINITY is unbounded above. "nan", "inf" and overflow are refused. */
enum { ST_OPEN_LO = 1, ST_OPEN_HI = 2 };
int st_parse_float(const char *key, const char *val, double lo, double hi, int open, float *out);
/* The spellings Python's configparser accepts, case-insensitively: true/false, yes/no,
 * on/off, 1/0. Anything else is an error (a typo must not silently mean false). */
int st_parse_bool(const char *key, const char *val, int *out);
/* One of names[] (NULL-terminated), case-sensitive as Keras spells them; *out = its index.
 * what names the kind in the message: "unknown optimizer 'x' (known: sgd, rmsprop, adam)". */
int st_parse_enum(const char *key, const char *val, const char *const *names, const char *what,
                  int *out);
/* Copies val into out[size]; too long is an error, never a silent truncation (a truncated
 * path would name another file). */
int st_parse_string(const char *key, const char *val, char *out, size_t size);

/* ---- key tables ----------------------------------------------------------------------------- */

typedef enum st_key_kind {
    ST_KEY_INT,    /* int, bounds lo..hi */
    ST_KEY_U64,    /* uint64_t */
    ST_KEY_FLOAT,  /* float, bounds lo..hi, open */
    ST_KEY_BOOL,   /* int 0/1 */
    ST_KEY_ENUM,   /* int: index into names (what: the noun for messages) */
    ST_KEY_STRING, /* char[size] */
    ST_KEY_FUNC,   /* parse(key, val, field): anything else (activations, initializers, lists) */
} st_key_kind;

typedef int (*st_key_parse_fn)(const char *key, const char *val, void *field);

typedef struct st_key {
    const char *name;
    st_key_kind kind;
    size_t offset; /* offsetof(settings struct, field) */
    double lo, hi;
    int open;
    const char *const *names; /* ENUM */
    const char *what;         /* ENUM: "optimizer", "loss", ... */
    size_t size;              /* STRING: buffer size */
    st_key_parse_fn parse;    /* FUNC */
} st_key;

/* Table rows; S is the settings struct type, F its field. A table ends with ST_KEY_END. */
#define ST_KEY_INT_ROW(N, S, F, LO, HI) {N, ST_KEY_INT, offsetof(S, F), LO, HI, 0, 0, 0, 0, 0}
#define ST_KEY_U64_ROW(N, S, F) {N, ST_KEY_U64, offsetof(S, F), 0, 0, 0, 0, 0, 0, 0}
#define ST_KEY_FLOAT_ROW(N, S, F, LO, HI, OPEN)                                                   \
    {N, ST_KEY_FLOAT, offsetof(S, F), LO, HI, OPEN, 0, 0, 0, 0}
#define ST_KEY_BOOL_ROW(N, S, F) {N, ST_KEY_BOOL, offsetof(S, F), 0, 0, 0, 0, 0, 0, 0}
#define ST_KEY_ENUM_ROW(N, S, F, NAMES, WHAT)                                                     \
    {N, ST_KEY_ENUM, offsetof(S, F), 0, 0, 0, NAMES, WHAT, 0, 0}
#define ST_KEY_STRING_ROW(N, S, F)                                                                \
    {N, ST_KEY_STRING, offsetof(S, F), 0, 0, 0, 0, 0, sizeof(((S *)0)->F), 0}
#define ST_KEY_FUNC_ROW(N, S, F, FN) {N, ST_KEY_FUNC, offsetof(S, F), 0, 0, 0, 0, 0, 0, FN}
#define ST_KEY_END {0, ST_KEY_INT, 0, 0, 0, 0, 0, 0, 0, 0}

/* The row named key, or NULL. */
const st_key *st_keys_find(const st_key *table, const char *key);
/* Parses val into the field of settings that table's row `key` names. Returns ST_OK, ST_ERR
 * (message set, as the single-value parsers), or ST_ENOKEY when the table has no such key. */
int st_keys_set(const st_key *table, void *settings, const char *key, const char *val);
/* "a, b, c": the table's key names, for "unknown key (known: ...)". Written into buf. */
const char *st_keys_names(const st_key *table, char *buf, size_t size);

#endif
