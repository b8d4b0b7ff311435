/*
 * config.c - the INI run description: parsing, --set overrides, and the canonical text that
 * checkpoints store. INI syntax only: what the keys of [data], [train], [checkpoint] and
 * [callbacks] mean is resolved in src/train/ (settings.c), layer keys by the model.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "seqtrain/config.h"
#include "seqtrain/error.h"

/* The sections that describe the run rather than a layer. Everything else is a layer type. */
static const char *const k_meta[] = {"data", "train", "checkpoint", "callbacks"};

/* Room for a layer's name ("<type>_<k>" or its `name` key, which fits on one config line). */
#define LAYER_NAME_MAX 256

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

/* The section an override names: a section name first (meta sections, or the first [lstm]),
 * then a layer name (lstm_2, or a `name` key). NULL if nothing matches. */
static st_section *find_target(st_config *c, const char *target) {
    for (int i = 0; i < c->nsec; i++)
        if (strcmp(c->sec[i].name, target) == 0) return &c->sec[i];
    char name[LAYER_NAME_MAX];
    for (int i = 0; i < c->nsec; i++) {
        if (st_config_is_meta(c->sec[i].name)) continue;
        st_config_layer_name(c, i, name, sizeof name);
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
        char have[1024] = "", name[LAYER_NAME_MAX];
        size_t used = 0;
        for (int i = 0; i < c->nsec && used < sizeof have; i++) {
            if (st_config_is_meta(c->sec[i].name)) continue;
            st_config_layer_name(c, i, name, sizeof name);
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
