/*
 * parse.c - the one value parser (see parse.h): whole-string numbers with bounds, booleans,
 * enumerations and strings, and the key tables every module resolves its config keys from.
 *
 * Messages have one shape, "KEY = VALUE: must be ...", stating the accepted range or the known
 * values, so a user sees the same wording for a layer option as for a training key.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/parse.h"
#include "seqtrain/error.h"

/* True when only blanks follow p: "12 " is 12, "12x" is not a number. */
static int only_blanks(const char *p) {
    while (*p && isspace((unsigned char)*p)) p++;
    return *p == 0;
}

/* Writes "must be an integer >= lo" or "... from lo to hi" for the range. */
static void int_error(const char *key, const char *val, long lo, long hi) {
    if (hi >= INT_MAX)
        st_error_set("%s = %s: must be an integer >= %ld", key, val, lo);
    else
        st_error_set("%s = %s: must be an integer from %ld to %ld", key, val, lo, hi);
}

int st_parse_int(const char *key, const char *val, long lo, long hi, int *out) {
    char *end;
    if (hi > INT_MAX) hi = INT_MAX;
    errno = 0; /* strtol reports overflow only through errno */
    long v = strtol(val, &end, 10);
    if (end == val || !only_blanks(end) || errno == ERANGE || v < lo || v > hi) {
        int_error(key, val, lo, hi);
        return ST_ERR;
    }
    *out = (int)v;
    return ST_OK;
}

int st_parse_u64(const char *key, const char *val, uint64_t *out) {
    char *end;
    const char *p = val;
    while (isspace((unsigned char)*p)) p++;
    errno = 0;
    /* strtoull accepts "-1" as 2^64 - 1: refuse a sign explicitly. */
    unsigned long long v = *p == '-' ? 0 : strtoull(p, &end, 10);
    if (*p == '-' || end == p || !only_blanks(end) || errno == ERANGE) {
        st_error_set("%s = %s: must be an integer from 0 to %llu", key, val,
                     (unsigned long long)UINT64_MAX);
        return ST_ERR;
    }
    *out = (uint64_t)v;
    return ST_OK;
}

int st_parse_float(const char *key, const char *val, double lo, double hi, int open, float *out) {
    char *end;
    errno = 0;
    float v = strtof(val, &end);
    int ok = end != val && only_blanks(end) && errno != ERANGE && isfinite(v);
    if (ok) ok = (open & ST_OPEN_LO) ? v > lo : v >= lo;
    if (ok) ok = (open & ST_OPEN_HI) ? v < hi : v <= hi;
    if (ok) {
        *out = v;
        return ST_OK;
    }
    const char *lop = (open & ST_OPEN_LO) ? ">" : ">=", *hip = (open & ST_OPEN_HI) ? "<" : "<=";
    if (isinf(hi) && isinf(lo))
        st_error_set("%s = %s: must be a finite number", key, val);
    else if (isinf(hi))
        st_error_set("%s = %s: must be a number %s %g", key, val, lop, lo);
    else
        st_error_set("%s = %s: must be a number %s %g and %s %g", key, val, lop, lo, hip, hi);
    return ST_ERR;
}

int st_parse_bool(const char *key, const char *val, int *out) {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(val, yes[i]) == 0) return *out = 1, ST_OK;
        if (strcasecmp(val, no[i]) == 0) return *out = 0, ST_OK;
    }
    st_error_set("%s = %s: must be true or false (or yes/no, on/off, 1/0)", key, val);
    return ST_ERR;
}

/* "a, b, c" from a NULL-terminated list, truncated to size. */
static const char *join(const char *const *names, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; names[i] && used + 1 < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}

int st_parse_enum(const char *key, const char *val, const char *const *names, const char *what,
                  int *out) {
    for (int i = 0; names[i]; i++)
        if (strcmp(val, names[i]) == 0) return *out = i, ST_OK;
    char known[512];
    st_error_set("%s = %s: unknown %s (known: %s)", key, val, what ? what : "value",
                 join(names, known, sizeof known));
    return ST_ERR;
}

int st_parse_string(const char *key, const char *val, char *out, size_t size) {
    size_t n = strlen(val);
    if (n >= size) {
        st_error_set("%s = %s: too long (at most %zu characters)", key, val, size - 1);
        return ST_ERR;
    }
    memcpy(out, val, n + 1);
    return ST_OK;
}

const st_key *st_keys_find(const st_key *table, const char *key) {
    for (const st_key *k = table; k->name; k++)
        if (strcmp(k->name, key) == 0) return k;
    return NULL;
}

int st_keys_set(const st_key *table, void *settings, const char *key, const char *val) {
    const st_key *k = st_keys_find(table, key);
    if (!k) return ST_ENOKEY;
    void *field = (char *)settings + k->offset;
    switch (k->kind) {
    case ST_KEY_INT: return st_parse_int(key, val, (long)k->lo, (long)k->hi, field);
    case ST_KEY_U64: return st_parse_u64(key, val, field);
    case ST_KEY_FLOAT: return st_parse_float(key, val, k->lo, k->hi, k->open, field);
    case ST_KEY_BOOL: return st_parse_bool(key, val, field);
    case ST_KEY_ENUM: return st_parse_enum(key, val, k->names, k->what, field);
    case ST_KEY_STRING: return st_parse_string(key, val, field, k->size);
    case ST_KEY_FUNC: return k->parse(key, val, field);
    }
    ST_ASSERT(0, "key '%s': bad kind %d", key, (int)k->kind);
    return ST_ERR;
}

const char *st_keys_names(const st_key *table, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (const st_key *k = table; k->name && used + 1 < size; k++) {
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", k->name);
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}
