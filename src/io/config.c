/*
 * config.c - the INI run description: parsing, --set overrides, the typed [data] / [train] /
 * [checkpoint] settings, and the canonical text that checkpoints store.
 *
 * Layout: st_config keeps the file as an ordered list of sections (st_section), each with its
 * keys in file order and the line each key came from (0 for keys from --set). A section name
 * may repeat: two [lstm] sections are two stacked layers, so sections are never merged.
 *
 * Parsing is inih's (this is the only file that includes ini.h), driven through
 * ini_parse_stream with our own line reader. The reader is where the structure is seen:
 *   - Debian's libinih is built without INI_HANDLER_LINENO, so the handler cannot learn the
 *     line of a key; the reader counts lines and the handler (called synchronously for the line
 *     the reader just returned) reads the count.
 *   - inih reports a section only through the keys under it, so a repeated [lstm] would look
 *     like one section and a key-less [flatten] would vanish; the reader therefore opens a new
 *     st_section itself for every line whose first non-blank character is '['.
 *   - inih's multi-line values (an indented line continues the previous value) would turn an
 *     indented "units = 3" into part of the previous key's value; the reader strips leading
 *     blanks so that continuation never happens.
 *   - inih's line buffer is fixed (200 bytes in the Debian build); longer lines would be split
 *     into fragments, so the reader rejects them with a clear message instead.
 *
 * What this file does not do: interpret layer sections (the model does, with the lines kept
 * here) or touch the filesystem beyond reading the config.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "core/parse.h"
#include "seqtrain/config.h"
#include "seqtrain/error.h"
#include "seqtrain/layer.h"
#include "seqtrain/metrics.h"
#include "seqtrain/optim.h"

/* The sections that describe the run rather than a layer. Everything else is a layer type. */
static const char *const k_meta[] = {"data", "train", "checkpoint", "callbacks"};

/* The keys of each meta section, spelled out in "unknown key" messages so that a typo is
 * answered with the list to pick from. Keep in step with resolve_data/train/ckpt below. */
static const char k_data_keys[] =
    "path, validation_split, train_split, test_split, seq_len, features, bucket_by_length, "
    "bucket_batches";
static const char k_train_keys[] =
    "epochs, batch_size, optimizer, learning_rate, momentum, nesterov, rho, beta_1, beta_2, "
    "epsilon, clipnorm, global_clipnorm, clipvalue, loss, metrics, top_k, seed, shuffle, "
    "lr_schedule, decay_steps, decay_rate, alpha, staircase, warmup_steps, log_every_steps";
static const char k_ckpt_keys[] = "dir, every_steps, keep";
static const char k_cb_keys[] =
    "early_stopping, early_stopping.{monitor, mode, patience, min_delta, restore_best_weights}, "
    "model_checkpoint.{save_best_only, monitor, mode}, reduce_lr_on_plateau, "
    "reduce_lr_on_plateau.{monitor, mode, factor, patience, min_lr, cooldown, min_delta}, "
    "terminate_on_nan, attention_dump";
/* Loss names as Keras spells them; src/train/loss.c implements exactly these. */
static const char *const k_losses[] = {"binary_crossentropy", "sparse_categorical_crossentropy",
                                       "categorical_crossentropy", "mse"};

/* inih's line buffer in the Debian build (INI_MAX_LINE); a line needs room for '\n' and '\0'. */
#define LINE_MAX_CHARS 197

int st_config_is_meta(const char *section) {
    for (size_t i = 0; i < sizeof k_meta / sizeof *k_meta; i++)
        if (strcmp(section, k_meta[i]) == 0) return 1;
    return 0;
}

/* ---- storage ------------------------------------------------------------------------------ */

/* Arrays grow by doubling without a stored capacity: an array of n items has room for the
 * smallest power of two >= n, so it is full exactly when n is 0 or a power of two. */
static void *grow(void *arr, int n, size_t item) {
    if (n != 0 && (n & (n - 1)) != 0) return arr;
    size_t cap = n ? (size_t)n * 2 : 1;
    void *p = st_malloc(cap * item);
    if (n) memcpy(p, arr, (size_t)n * item);
    st_free(arr);
    return p;
}

/* A NUL-terminated copy of s[0..n), from st_malloc (freed with st_free). */
static char *strndup_st(const char *s, size_t n) {
    char *d = st_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Appends a section named name[0..len) to the config; the config owns the name. The returned
 * pointer is valid until the next section_add (the array may move). */
static st_section *section_add(st_config *c, const char *name, size_t len, int line) {
    c->sec = grow(c->sec, c->nsec, sizeof *c->sec);
    st_section *s = &c->sec[c->nsec++];
    memset(s, 0, sizeof *s);
    s->name = strndup_st(name, len);
    s->line = line;
    return s;
}

/* Appends key = val (copied; owned by the config) to a section. */
static void kv_add(st_section *s, const char *key, const char *val, int line) {
    s->kv = grow(s->kv, s->nkv, sizeof *s->kv);
    st_kv *kv = &s->kv[s->nkv++];
    kv->key = st_strdup(key);
    kv->val = st_strdup(val);
    kv->line = line;
}

/* The key in one section, or NULL. Keys are unique within a section (the parser rejects
 * duplicates and --set replaces), so the first match is the only one. */
static st_kv *kv_find(const st_section *s, const char *key) {
    for (int i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0) return &s->kv[i];
    return NULL;
}

/* Safe on a zeroed or half-built config: the loaders zero it before anything can fail. */
void st_config_free(st_config *c) {
    for (int i = 0; i < c->nsec; i++) {
        for (int j = 0; j < c->sec[i].nkv; j++) {
            st_free(c->sec[i].kv[j].key);
            st_free(c->sec[i].kv[j].val);
        }
        st_free(c->sec[i].kv);
        st_free(c->sec[i].name);
    }
    st_free(c->sec);
    memset(c, 0, sizeof *c);
}

/* ---- parsing ------------------------------------------------------------------------------ */

typedef struct reader {
    st_config *c;
    FILE *f;           /* the file, or NULL when reading from s */
    const char *s;     /* the remaining text */
    char *buf;         /* getline() buffer (libc-owned) */
    size_t cap;
    int line;          /* number of the line last handed to inih */
    int err_line;      /* first line on which we noted an error; 0 if none */
    char err[1024];    /* its message */
} reader;

/* Keeps the first error only: inih reports the first failing line, and the message we show
 * must be the one for that line. */
static void note_error(reader *rd, const char *fmt, ...) ST_PRINTF(2, 3);
static void note_error(reader *rd, const char *fmt, ...) {
    if (rd->err_line) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rd->err, sizeof rd->err, fmt, ap);
    va_end(ap);
    rd->err_line = rd->line;
}

/* Blanks as inih sees them inside a line ('\r' is stripped with the line ending). */
static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }

/* Looks at one line as inih will see it: opens a section for "[name]" and pre-diagnoses the
 * common syntax mistakes so the message can say more than "syntax error". */
static void reader_scan(reader *rd, const char *p, size_t len) {
    const char *origin = rd->c->origin;
    /* Blank lines and comments (inih's start-of-line prefixes) carry nothing. */
    if (len == 0 || *p == ';' || *p == '#') return;
    if (*p == '[') {
        const char *close = memchr(p, ']', len);
        if (!close) {
            note_error(rd, "%s:%d: syntax error: '%.*s' has no closing ']'", origin, rd->line,
                       (int)(len > 60 ? 60 : len), p);
            return;
        }
        /* Trimmed as inih trims it, so the two agree on the name. */
        const char *a = p + 1, *b = close;
        while (a < b && is_blank(*a)) a++;
        while (b > a && is_blank(b[-1])) b--;
        section_add(rd->c, a, (size_t)(b - a), rd->line);
        /* inih ignores anything after ']'; "[lstm] units = 3" is surely a mistake. */
        const char *rest = close + 1, *end = p + len;
        while (rest < end && is_blank(*rest)) rest++;
        if (rest < end && *rest != ';' && *rest != '#')
            note_error(rd, "%s:%d: syntax error: text after [%s]: '%.*s'", origin, rd->line,
                       rd->c->sec[rd->c->nsec - 1].name, (int)(end - rest > 60 ? 60 : end - rest),
                       rest);
        return;
    }
    /* inih also takes "key: value" (configparser style), so ':' counts as a separator. */
    if (!memchr(p, '=', len) && !memchr(p, ':', len))
        note_error(rd, "%s:%d: syntax error: expected 'key = value' or '[section]', got '%.*s'",
                   origin, rd->line, (int)(len > 60 ? 60 : len), p);
}

/* fgets-style reader for inih: one physical line per call, leading blanks removed, always
 * ending in '\n' and fitting in num bytes. Returns NULL at the end of the input. Returning
 * exactly one physical line per call is what keeps our line count equal to inih's, so the
 * line numbers in both kinds of error agree. */
static char *reader_next(char *str, int num, void *stream) {
    reader *rd = stream;
    const char *p;
    size_t len;
    /* Our own line buffer, so no line is ever split the way fgets into num bytes would. */
    if (rd->f) {
        ssize_t n = getline(&rd->buf, &rd->cap, rd->f);
        if (n < 0) return NULL;
        p = rd->buf;
        len = (size_t)n;
    } else {
        if (!*rd->s) return NULL;
        const char *nl = strchr(rd->s, '\n');
        len = nl ? (size_t)(nl - rd->s) + 1 : strlen(rd->s);
        p = rd->s;
        rd->s += len;
    }
    rd->line++;
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;
    /* A UTF-8 byte order mark (Windows editors) is not part of the first line. */
    if (rd->line == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        len -= 3;
    }
    while (len && is_blank(*p)) {
        p++;
        len--;
    }
    size_t room = (size_t)num - 2; /* '\n' and '\0' */
    if (room > LINE_MAX_CHARS) room = LINE_MAX_CHARS;
    if (len > room) {
        note_error(rd, "%s:%d: line is longer than %zu characters", rd->c->origin, rd->line, room);
        len = 0; /* inih sees an empty line; the error above is reported */
    }
    reader_scan(rd, p, len);
    memcpy(str, p, len);
    str[len] = '\n';
    str[len + 1] = 0;
    return str;
}

/* inih's handler: one key of the section the reader opened last. Returns 0 on error. */
static int on_key(void *user, const char *section, const char *name, const char *value) {
    reader *rd = user;
    st_config *c = rd->c;
    if (c->nsec == 0 || !section[0]) {
        note_error(rd, "%s:%d: key '%s' comes before any [section]", c->origin, rd->line, name);
        return 0;
    }
    /* `section` (inih's) names the same section as our last one, but only ours tells two
     * [lstm] sections apart. */
    st_section *s = &c->sec[c->nsec - 1];
    if (!name[0]) {
        note_error(rd, "%s:%d: [%s] a key name is missing before '='", c->origin, rd->line,
                   s->name);
        return 0;
    }
    const st_kv *old = kv_find(s, name);
    if (old) {
        note_error(rd, "%s:%d: [%s] duplicate key '%s' (first at line %d)", c->origin, rd->line,
                   s->name, name, old->line);
        return 0;
    }
    kv_add(s, name, value, rd->line);
    return 1;
}

/* Runs inih over the reader's input. inih keeps going after an error and returns the number
 * of the first failing line (0 if none, negative if it could not run at all); the reader and
 * the handler record their own first error with a better message. */
static int parse(st_config *c, reader *rd) {
    int rc = ini_parse_stream(reader_next, rd, on_key, rd);
    free(rd->buf);
    rd->buf = NULL;
    if (rc < 0) {
        st_error_set("%s: cannot read the config", c->origin);
        return ST_ERR;
    }
    /* inih and the reader count the same lines; whichever error comes first is the one. */
    if (rd->err_line && (rc == 0 || rd->err_line <= rc)) {
        st_error_set("%s", rd->err);
        return ST_ERR;
    }
    if (rc > 0) {
        st_error_set("%s:%d: syntax error", c->origin, rc);
        return ST_ERR;
    }
    return ST_OK;
}

/* c is zeroed first so that the caller's st_config_free is valid whatever happens next. */
int st_config_load(st_config *c, const char *path) {
    memset(c, 0, sizeof *c);
    snprintf(c->origin, sizeof c->origin, "%s", path);
    FILE *f = fopen(path, "r");
    if (!f) {
        st_error_set("%s: cannot open the config: %s", path, strerror(errno));
        return ST_ERR;
    }
    reader rd = {.c = c, .f = f};
    int rc = parse(c, &rd);
    fclose(f);
    return rc;
}

int st_config_load_string(st_config *c, const char *text, const char *origin) {
    memset(c, 0, sizeof *c);
    snprintf(c->origin, sizeof c->origin, "%s", origin ? origin : "<config>");
    reader rd = {.c = c, .s = text};
    return parse(c, &rd);
}

/* ---- layer names and --set ---------------------------------------------------------------- */

/* The name the model (model.c) gives layer section i: its `name` key, else "<type>_<k>" with
 * k counting the sections of that type from 1 in file order, named ones included, so that
 * naming one layer does not rename the others. */
static void layer_name(const st_config *c, int i, char *out, size_t outlen) {
    const st_kv *nk = kv_find(&c->sec[i], "name");
    if (nk) {
        snprintf(out, outlen, "%s", nk->val);
        return;
    }
    int k = 1;
    for (int j = 0; j < i; j++) k += strcmp(c->sec[j].name, c->sec[i].name) == 0;
    snprintf(out, outlen, "%s_%d", c->sec[i].name, k);
}

/* The section an override names: a section name first (meta sections, or the first [lstm]),
 * then a layer name (lstm_2, or a `name` key). NULL if nothing matches. */
static st_section *find_target(st_config *c, const char *target) {
    for (int i = 0; i < c->nsec; i++)
        if (strcmp(c->sec[i].name, target) == 0) return &c->sec[i];
    char name[ST_NAME_MAX + 32];
    for (int i = 0; i < c->nsec; i++) {
        if (st_config_is_meta(c->sec[i].name)) continue;
        layer_name(c, i, name, sizeof name);
        if (strcmp(name, target) == 0) return &c->sec[i];
    }
    return NULL;
}

/* Copies s[0..n) without surrounding blanks. Returns 0 if it does not fit. */
static int copy_trimmed(char *dst, size_t dstlen, const char *s, size_t n) {
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (n >= dstlen) return 0;
    memcpy(dst, s, n);
    dst[n] = 0;
    return 1;
}

/* "section.key=value": the section part ends at the FIRST dot and the key at the first '=', so
 * values may contain both ("data.path=../d/x.v2.h5"). Overridden keys get line 0, which makes
 * later messages say "--set section.key" instead of pointing at a line the user did not
 * write. */
int st_config_set(st_config *c, const char *assignment) {
    char target[128], key[128], val[LINE_MAX_CHARS + 1];
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    if (!eq || !dot || dot > eq) {
        st_error_set("--set %s: expected section.key=value (e.g. train.epochs=5 or "
                     "lstm_2.units=64)", assignment);
        return ST_ERR;
    }
    if (!copy_trimmed(target, sizeof target, assignment, (size_t)(dot - assignment)) ||
        !copy_trimmed(key, sizeof key, dot + 1, (size_t)(eq - dot - 1)) ||
        !copy_trimmed(val, sizeof val, eq + 1, strlen(eq + 1))) {
        st_error_set("--set %s: too long", assignment);
        return ST_ERR;
    }
    if (!target[0] || !key[0]) {
        st_error_set("--set %s: the section and the key must not be empty", assignment);
        return ST_ERR;
    }
    /* The value must survive st_config_text and a reparse (checkpoints store that text): no
     * line breaks, no inline comment, and the "key = value" line must fit inih's buffer. */
    for (const char *p = val; *p; p++) {
        if (*p == '\n' || *p == '\r' || (*p == ';' && (p == val || isspace((unsigned char)p[-1])))) {
            st_error_set("--set %s: the value may not contain a line break or ' ;'", assignment);
            return ST_ERR;
        }
    }
    if (strlen(key) + strlen(val) + 3 > LINE_MAX_CHARS) {
        st_error_set("--set %s: 'key = value' must fit in %d characters", assignment,
                     LINE_MAX_CHARS);
        return ST_ERR;
    }
    st_section *s = find_target(c, target);
    if (!s && st_config_is_meta(target)) s = section_add(c, target, strlen(target), 0);
    if (!s) {
        char have[1024] = "", name[ST_NAME_MAX + 32];
        size_t used = 0;
        for (int i = 0; i < c->nsec && used < sizeof have; i++) {
            if (st_config_is_meta(c->sec[i].name)) continue;
            layer_name(c, i, name, sizeof name);
            used += (size_t)snprintf(have + used, sizeof have - used, "%s%s", used ? ", " : "",
                                     name);
        }
        st_error_set("--set %s: no section or layer named '%s' (sections: data, train, "
                     "checkpoint, callbacks; layers: %s)", assignment, target, have[0] ? have : "none");
        return ST_ERR;
    }
    st_kv *kv = kv_find(s, key);
    if (kv) {
        st_free(kv->val);
        kv->val = st_strdup(val);
        kv->line = 0;
    } else {
        kv_add(s, key, val, 0);
    }
    return ST_OK;
}

/* ---- typed settings ------------------------------------------------------------------------- */

/* "config.ini:7" for a key from the file, "--set train.epochs" for an override. The string is
 * static: valid until the next call, which is all a message needs. */
static const char *where(const st_config *c, const st_section *s, const st_kv *kv) {
    static char buf[ST_PATH_MAX + 160];
    if (kv->line > 0)
        snprintf(buf, sizeof buf, "%s:%d", c->origin, kv->line);
    else
        snprintf(buf, sizeof buf, "--set %s.%s", s->name, kv->key);
    return buf;
}

/* Sets "where: [section] key = value: why" and returns ST_ERR, so callers can
 * `return bad_value(...)`. One format for every bad value keeps the messages predictable. */
static int bad_value(const st_config *c, const st_section *s, const st_kv *kv, const char *fmt,
                     ...) ST_PRINTF(4, 5);
static int bad_value(const st_config *c, const st_section *s, const st_kv *kv, const char *fmt,
                     ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    st_error_set("%s: [%s] %s = %s: %s", where(c, s, kv), s->name, kv->key, kv->val, why);
    return ST_ERR;
}

/* Puts "where: [section] " before the message of a failed core parser (core/parse.h), so a
 * bad value reads the same in every section and every layer. Returns ST_ERR. */
static int locate(const st_config *c, const st_section *s, const st_kv *kv) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", st_error_get());
    st_error_set("%s: [%s] %s", where(c, s, kv), s->name, msg);
    return ST_ERR;
}

/* An int >= lo; the whole value must be the number ("12abc" and "1e3" are rejected). */
static int get_int(const st_config *c, const st_section *s, const st_kv *kv, int lo, int *out) {
    if (st_parse_int(kv->key, kv->val, lo, INT_MAX, out) != ST_OK) return locate(c, s, kv);
    return ST_OK;
}

/* A finite number in the range given by lo/hi; lo_open/hi_open exclude the bound, hi = INFINITY
 * means unbounded. The message states the range. */
static int get_float(const st_config *c, const st_section *s, const st_kv *kv, float lo,
                     int lo_open, float hi, int hi_open, float *out) {
    int open = (lo_open ? ST_OPEN_LO : 0) | (hi_open ? ST_OPEN_HI : 0);
    if (st_parse_float(kv->key, kv->val, lo, hi, open, out) != ST_OK) return locate(c, s, kv);
    return ST_OK;
}

static int get_bool(const st_config *c, const st_section *s, const st_kv *kv, int *out) {
    if (st_parse_bool(kv->key, kv->val, out) != ST_OK) return locate(c, s, kv);
    return ST_OK;
}

/* Copies a value into a fixed field of the typed config; too long is an error, never a silent
 * truncation (a truncated path would name another file). */
static int get_string(const st_config *c, const st_section *s, const st_kv *kv, char *out,
                      size_t outlen) {
    if (strlen(kv->val) >= outlen)
        return bad_value(c, s, kv, "too long (at most %zu characters)", outlen - 1);
    memcpy(out, kv->val, strlen(kv->val) + 1);
    return ST_OK;
}

static int unknown_key(const st_config *c, const st_section *s, const st_kv *kv,
                       const char *known) {
    st_error_set("%s: [%s] unknown key '%s' (known: %s)", where(c, s, kv), s->name, kv->key,
                 known);
    return ST_ERR;
}

/* [data]: where the dataset is and which groups are which. Paths are kept as written
 * (relative to the working directory, as Keras would open them). */
static int resolve_data(st_config *c, const st_section *s) {
    st_data_cfg *d = &c->data;
    for (int i = 0; i < s->nkv; i++) {
        const st_kv *kv = &s->kv[i];
        const char *k = kv->key;
        int rc;
        if (strcmp(k, "path") == 0) {
            rc = get_string(c, s, kv, d->path, sizeof d->path);
            if (rc == ST_OK && !d->path[0]) rc = bad_value(c, s, kv, "must name a file");
        } else if (strcmp(k, "validation_split") == 0) {
            rc = get_float(c, s, kv, 0, 0, 1, 1, &d->validation_split);
        } else if (strcmp(k, "bucket_by_length") == 0) {
            rc = get_bool(c, s, kv, &d->bucket_by_length);
        } else if (strcmp(k, "bucket_batches") == 0) {
            rc = get_int(c, s, kv, 1, &d->bucket_batches);
        } else if (strcmp(k, "seq_len") == 0) {
            rc = get_int(c, s, kv, 1, &d->seq_len);
        } else if (strcmp(k, "features") == 0) {
            rc = get_int(c, s, kv, 0, &d->features);
        } else if (strcmp(k, "train_split") == 0 || strcmp(k, "test_split") == 0) {
            char *dst = k[1] == 'r' ? d->train_split : d->test_split;
            rc = get_string(c, s, kv, dst, sizeof d->train_split);
            if (rc == ST_OK && (!dst[0] || strchr(dst, '/')))
                rc = bad_value(c, s, kv, "must be a group name such as train (no '/')");
        } else {
            rc = unknown_key(c, s, kv, k_data_keys);
        }
        if (rc != ST_OK) return rc;
    }
    return ST_OK;
}

/* Which optimizers have a key; NULL for keys every optimizer has. */
static const char *optim_key_owner(const char *k, st_opt_kind kind, int *applies) {
    *applies = 1;
    if (strcmp(k, "momentum") == 0) {
        *applies = kind == ST_OPT_SGD || kind == ST_OPT_RMSPROP;
        return "sgd and rmsprop";
    }
    if (strcmp(k, "nesterov") == 0) {
        *applies = kind == ST_OPT_SGD;
        return "sgd";
    }
    if (strcmp(k, "rho") == 0) {
        *applies = kind == ST_OPT_RMSPROP;
        return "rmsprop";
    }
    if (strcmp(k, "beta_1") == 0 || strcmp(k, "beta_2") == 0) {
        *applies = kind == ST_OPT_ADAM;
        return "adam";
    }
    return NULL;
}

/* [train]: the arguments of Keras compile() and fit(). Ranges follow Keras's own checks
 * (learning_rate > 0, betas in [0, 1), ...); an option of another optimizer is an error rather
 * than ignored, since silently ignoring "momentum" under adam hides a real mistake. */
static int resolve_train(st_config *c, const st_section *s) {
    st_train_cfg *t = &c->train;
    st_optim_cfg *o = &t->optim;
    /* The optimizer's defaults replace everything optimizer-related, so the optimizer is
     * applied first whatever the order of the keys. */
    const st_kv *okv = kv_find(s, "optimizer");
    if (okv) {
        st_opt_kind kind;
        if (st_optim_parse(okv->val, &kind) != 0)
            return bad_value(c, s, okv, "must be one of sgd, rmsprop, adam");
        st_optim_cfg_defaults(o, kind);
    }
    for (int i = 0; i < s->nkv; i++) {
        const st_kv *kv = &s->kv[i];
        const char *k = kv->key;
        int rc = ST_OK, applies;
        const char *owner = optim_key_owner(k, o->kind, &applies);
        if (!applies)
            return bad_value(c, s, kv, "not an option of optimizer %s (only of %s)",
                             st_optim_name(o->kind), owner);
        if (strcmp(k, "optimizer") == 0) {
            continue;
        } else if (strcmp(k, "epochs") == 0) {
            rc = get_int(c, s, kv, 1, &t->epochs);
        } else if (strcmp(k, "batch_size") == 0) {
            rc = get_int(c, s, kv, 1, &t->batch_size);
        } else if (strcmp(k, "learning_rate") == 0) {
            rc = get_float(c, s, kv, 0, 1, INFINITY, 0, &o->learning_rate);
            o->lr_set = 1;
        } else if (strcmp(k, "momentum") == 0) {
            rc = get_float(c, s, kv, 0, 0, 1, 0, &o->momentum);
        } else if (strcmp(k, "nesterov") == 0) {
            rc = get_bool(c, s, kv, &o->nesterov);
        } else if (strcmp(k, "rho") == 0) {
            rc = get_float(c, s, kv, 0, 0, 1, 1, &o->rho);
        } else if (strcmp(k, "beta_1") == 0) {
            rc = get_float(c, s, kv, 0, 0, 1, 1, &o->beta_1);
        } else if (strcmp(k, "beta_2") == 0) {
            rc = get_float(c, s, kv, 0, 0, 1, 1, &o->beta_2);
        } else if (strcmp(k, "epsilon") == 0) {
            rc = get_float(c, s, kv, 0, 1, INFINITY, 0, &o->epsilon);
        } else if (strcmp(k, "clipnorm") == 0) {
            rc = get_float(c, s, kv, 0, 0, INFINITY, 0, &o->clipnorm);
        } else if (strcmp(k, "global_clipnorm") == 0) {
            rc = get_float(c, s, kv, 0, 0, INFINITY, 0, &o->global_clipnorm);
        } else if (strcmp(k, "clipvalue") == 0) {
            rc = get_float(c, s, kv, 0, 0, INFINITY, 0, &o->clipvalue);
        } else if (strcmp(k, "loss") == 0) {
            size_t j, n = sizeof k_losses / sizeof *k_losses;
            for (j = 0; j < n && strcmp(kv->val, k_losses[j]) != 0; j++) {}
            if (j == n)
                return bad_value(c, s, kv, "must be one of binary_crossentropy, "
                                 "sparse_categorical_crossentropy, categorical_crossentropy, mse");
            rc = get_string(c, s, kv, t->loss, sizeof t->loss);
        } else if (strcmp(k, "metrics") == 0) {
            st_metrics ms;
            if (st_metrics_parse(kv->val, 5, &ms) != ST_OK)
                return bad_value(c, s, kv, "%s", st_error_get());
            rc = get_string(c, s, kv, t->metrics, sizeof t->metrics);
        } else if (strcmp(k, "top_k") == 0) {
            rc = get_int(c, s, kv, 1, &t->top_k);
        } else if (strcmp(k, "lr_schedule") == 0) {
            static const char *const names[] = {"constant", "step", "exponential", "cosine"};
            int j;
            for (j = 0; j < 4 && strcmp(kv->val, names[j]) != 0; j++) {}
            if (j == 4)
                return bad_value(c, s, kv, "must be one of constant, step, exponential, cosine");
            t->lr_schedule = j;
        } else if (strcmp(k, "decay_steps") == 0) {
            rc = get_int(c, s, kv, 1, &t->decay_steps);
        } else if (strcmp(k, "decay_rate") == 0) {
            rc = get_float(c, s, kv, 0, 1, INFINITY, 0, &t->decay_rate);
        } else if (strcmp(k, "alpha") == 0) {
            rc = get_float(c, s, kv, 0, 0, 1, 0, &t->alpha);
        } else if (strcmp(k, "staircase") == 0) {
            rc = get_bool(c, s, kv, &t->staircase);
        } else if (strcmp(k, "warmup_steps") == 0) {
            rc = get_int(c, s, kv, 0, &t->warmup_steps);
        } else if (strcmp(k, "log_every_steps") == 0) {
            rc = get_int(c, s, kv, 0, &t->log_every_steps);
        } else if (strcmp(k, "seed") == 0) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(kv->val, &end, 10);
            if (end == kv->val || *end || errno || strchr(kv->val, '-'))
                return bad_value(c, s, kv, "must be an integer >= 0");
            t->seed = (uint64_t)v;
        } else if (strcmp(k, "shuffle") == 0) {
            rc = get_bool(c, s, kv, &t->shuffle);
        } else {
            rc = unknown_key(c, s, kv, k_train_keys);
        }
        if (rc != ST_OK) return rc;
    }
    if (o->clipnorm > 0 && o->global_clipnorm > 0) {
        const st_kv *kv = kv_find(s, "global_clipnorm");
        return bad_value(c, s, kv, "clipnorm and global_clipnorm cannot both be set (as in Keras)");
    }
    return ST_OK;
}

/* [checkpoint]: where and how often to save, and how many files to keep. */
static int resolve_ckpt(st_config *c, const st_section *s) {
    st_ckpt_cfg *k = &c->ckpt;
    for (int i = 0; i < s->nkv; i++) {
        const st_kv *kv = &s->kv[i];
        int rc;
        if (strcmp(kv->key, "dir") == 0)
            rc = get_string(c, s, kv, k->dir, sizeof k->dir);
        else if (strcmp(kv->key, "every_steps") == 0)
            rc = get_int(c, s, kv, 0, &k->every_steps);
        else if (strcmp(kv->key, "keep") == 0)
            rc = get_int(c, s, kv, 0, &k->keep);
        else
            rc = unknown_key(c, s, kv, k_ckpt_keys);
        if (rc != ST_OK) return rc;
    }
    return ST_OK;
}

/* auto | min | max, as Keras's `mode`. */
static int get_mode(const st_config *c, const st_section *s, const st_kv *kv, int *out) {
    static const char *const names[] = {"auto", "min", "max"};
    for (int j = 0; j < 3; j++)
        if (strcmp(kv->val, names[j]) == 0) return *out = j, ST_OK;
    return bad_value(c, s, kv, "must be auto, min or max");
}

/* A monitored quantity: a history column such as val_loss or accuracy. Whether the run has it
 * (validation data, the metric) is checked when training starts. */
static int get_monitor(const st_config *c, const st_section *s, const st_kv *kv, char *out,
                       size_t n) {
    if (!kv->val[0]) return bad_value(c, s, kv, "must name a metric such as val_loss");
    return get_string(c, s, kv, out, n);
}

/* [callbacks]: "<callback>.<argument>" keys. A callback's switch key (early_stopping = true)
 * turns it on or off; without the switch, giving any of its arguments turns it on. */
static int resolve_callbacks(st_config *c, const st_section *s) {
    st_callbacks_cfg *b = &c->cb;
    int es_switch = -1, rl_switch = -1, es_args = 0, rl_args = 0;
    for (int i = 0; i < s->nkv; i++) {
        const st_kv *kv = &s->kv[i];
        const char *k = kv->key;
        int rc;
        if (!strcmp(k, "early_stopping")) {
            rc = get_bool(c, s, kv, &es_switch);
        } else if (!strncmp(k, "early_stopping.", 15)) {
            const char *a = k + 15;
            es_args = 1;
            if (!strcmp(a, "monitor"))
                rc = get_monitor(c, s, kv, b->es_monitor, sizeof b->es_monitor);
            else if (!strcmp(a, "mode")) rc = get_mode(c, s, kv, &b->es_mode);
            else if (!strcmp(a, "patience")) rc = get_int(c, s, kv, 0, &b->es_patience);
            else if (!strcmp(a, "min_delta"))
                rc = get_float(c, s, kv, 0, 0, INFINITY, 0, &b->es_min_delta);
            else if (!strcmp(a, "restore_best_weights"))
                rc = get_bool(c, s, kv, &b->es_restore_best);
            else rc = unknown_key(c, s, kv, k_cb_keys);
        } else if (!strcmp(k, "model_checkpoint.save_best_only")) {
            rc = get_bool(c, s, kv, &b->save_best);
        } else if (!strcmp(k, "model_checkpoint.monitor")) {
            rc = get_monitor(c, s, kv, b->sb_monitor, sizeof b->sb_monitor);
        } else if (!strcmp(k, "model_checkpoint.mode")) {
            rc = get_mode(c, s, kv, &b->sb_mode);
        } else if (!strcmp(k, "reduce_lr_on_plateau")) {
            rc = get_bool(c, s, kv, &rl_switch);
        } else if (!strncmp(k, "reduce_lr_on_plateau.", 21)) {
            const char *a = k + 21;
            rl_args = 1;
            if (!strcmp(a, "monitor"))
                rc = get_monitor(c, s, kv, b->rl_monitor, sizeof b->rl_monitor);
            else if (!strcmp(a, "mode")) rc = get_mode(c, s, kv, &b->rl_mode);
            else if (!strcmp(a, "factor")) {
                rc = get_float(c, s, kv, 0, 0, 1, 1, &b->rl_factor);
                if (rc == ST_OK && b->rl_factor <= 0)
                    rc = bad_value(c, s, kv, "must be > 0 and < 1 (Keras: factor < 1.0)");
            } else if (!strcmp(a, "patience")) rc = get_int(c, s, kv, 0, &b->rl_patience);
            else if (!strcmp(a, "min_lr"))
                rc = get_float(c, s, kv, 0, 0, INFINITY, 0, &b->rl_min_lr);
            else if (!strcmp(a, "cooldown")) rc = get_int(c, s, kv, 0, &b->rl_cooldown);
            else if (!strcmp(a, "min_delta"))
                rc = get_float(c, s, kv, 0, 0, INFINITY, 0, &b->rl_min_delta);
            else rc = unknown_key(c, s, kv, k_cb_keys);
        } else if (!strcmp(k, "terminate_on_nan")) {
            rc = get_bool(c, s, kv, &b->terminate_on_nan);
        } else if (!strcmp(k, "attention_dump")) {
            rc = get_int(c, s, kv, 0, &b->attention_dump);
        } else {
            rc = unknown_key(c, s, kv, k_cb_keys);
        }
        if (rc != ST_OK) return rc;
    }
    b->early_stopping = es_switch >= 0 ? es_switch : es_args;
    b->reduce_lr = rl_switch >= 0 ? rl_switch : rl_args;
    return ST_OK;
}

/* Defaults are Keras's (fit: 1 epoch, batch 32, shuffle; compile: rmsprop), so a config that
 * names only a loss and a file behaves as the equivalent Keras script. Resolving twice is
 * fine: everything typed is recomputed from the sections. */
int st_config_resolve(st_config *c) {
    memset(&c->data, 0, sizeof c->data);
    memset(&c->train, 0, sizeof c->train);
    memset(&c->ckpt, 0, sizeof c->ckpt);
    memset(&c->cb, 0, sizeof c->cb);
    c->train.top_k = 5;
    c->train.decay_steps = 1000;
    c->train.decay_rate = 0.96f;
    strcpy(c->cb.es_monitor, "val_loss");
    strcpy(c->cb.sb_monitor, "val_loss");
    strcpy(c->cb.rl_monitor, "val_loss");
    c->cb.rl_factor = 0.1f;
    c->cb.rl_patience = 10;
    c->cb.rl_min_delta = 1e-4f;
    strcpy(c->data.train_split, "train");
    c->data.bucket_batches = 32;
    strcpy(c->data.test_split, "test");
    c->train.epochs = 1;
    c->train.batch_size = 32; /* Keras fit() */
    c->train.seed = 42;
    c->train.shuffle = 1;
    st_optim_cfg_defaults(&c->train.optim, ST_OPT_RMSPROP); /* Keras compile() */
    c->ckpt.keep = 3;

    /* File order, so the first problem in the file is the one reported. */
    for (int i = 0; i < c->nsec; i++) {
        const st_section *s = &c->sec[i];
        int rc = ST_OK;
        if (st_config_is_meta(s->name)) {
            for (int j = 0; j < i; j++) {
                if (strcmp(c->sec[j].name, s->name) == 0) {
                    st_error_set("%s:%d: duplicate section [%s] (first at line %d)", c->origin,
                                 s->line, s->name, c->sec[j].line);
                    return ST_ERR;
                }
            }
            if (strcmp(s->name, "data") == 0)
                rc = resolve_data(c, s);
            else if (strcmp(s->name, "train") == 0)
                rc = resolve_train(c, s);
            else if (strcmp(s->name, "callbacks") == 0)
                rc = resolve_callbacks(c, s);
            else
                rc = resolve_ckpt(c, s);
        } else if (!st_layer_find(s->name)) {
            st_error_set("%s:%d: unknown section [%s] (layer types: %s; other sections: data, "
                         "train, checkpoint, callbacks)", c->origin, s->line, s->name,
                         st_layer_types());
            rc = ST_ERR;
        }
        if (rc != ST_OK) return rc;
    }
    /* Without a file, seq_len (and features) describe generated data for --benchmark. */
    if (!c->data.path[0] && !c->data.seq_len) {
        st_error_set("%s: [data] path is required (the HDF5 dataset file)", c->origin);
        return ST_ERR;
    }
    if (!c->train.loss[0]) {
        st_error_set("%s: [train] loss is required (binary_crossentropy, "
                     "sparse_categorical_crossentropy, categorical_crossentropy or mse)",
                     c->origin);
        return ST_ERR;
    }
    return ST_OK;
}

/* ---- canonical text ----------------------------------------------------------------------- */

/* One "[name]" line per section, "key = value" per key, a blank line between sections; no
 * comments. Parsing this text gives the same sections, keys and values (st_config_set refuses
 * values that would not survive), which is what lets a checkpoint carry its config and a
 * resumed run rebuild the same model from it. */
char *st_config_text(const st_config *c) {
    /* Two passes: measure, then write; the text is small. */
    size_t n = 1;
    for (int i = 0; i < c->nsec; i++) {
        n += strlen(c->sec[i].name) + 4;
        for (int j = 0; j < c->sec[i].nkv; j++)
            n += strlen(c->sec[i].kv[j].key) + strlen(c->sec[i].kv[j].val) + 4;
    }
    char *out = st_malloc(n), *p = out;
    for (int i = 0; i < c->nsec; i++) {
        p += sprintf(p, "%s[%s]\n", i ? "\n" : "", c->sec[i].name);
        for (int j = 0; j < c->sec[i].nkv; j++)
            p += sprintf(p, "%s = %s\n", c->sec[i].kv[j].key, c->sec[i].kv[j].val);
    }
    *p = 0;
    return out;
}
