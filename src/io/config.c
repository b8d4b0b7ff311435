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
 *   - the input is a stranger's: the file must be a regular file (opened without blocking, so
 *     a FIFO is refused, not waited on) of at most CONFIG_MAX_BYTES; a line is read into a
 *     fixed buffer, never more than LINE_READ_MAX bytes of it (/dev/zero-like input cannot
 *     grow memory); NUL, control characters but tab, and bytes that are not UTF-8 are refused
 *     with file:line:column. Text given as a string (a checkpoint's stored config) goes
 *     through the same reader and checks.
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
#include <unistd.h>

#include <ini.h>

#include "core/file.h"
#include "core/text.h"
#include "seqtrain/config.h"
#include "seqtrain/error.h"

/* The sections that describe the run rather than a layer. Everything else is a layer type. */
static const char *const k_meta[] = {"data", "train", "checkpoint", "callbacks"};


/* inih's line buffer in the Debian build (INI_MAX_LINE); a line needs room for '\n' and '\0'. */
#define LINE_MAX_CHARS 197
/* Bytes of one physical line as read, leading blanks included, before anything is allocated
 * for it: a file that never ends a line is refused here, not buffered. */
#define LINE_READ_MAX 4096
/* A whole config, file or stored text: configs are a few KiB; a bigger input is not one. */
#define CONFIG_MAX_BYTES (1 << 20)

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
    const char *end;   /* its end */
    size_t total;      /* bytes read from the file so far */
    int line;          /* number of the line last handed to inih */
    int err_line;      /* first line on which we noted an error; 0 if none */
    char err[1024];    /* its message */
    char buf[LINE_READ_MAX + 1]; /* one physical line of the file */
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
    rd->err_line = rd->line > 0 ? rd->line : 1; /* 0 means "no error" */
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
        if (a == b) {
            /* "[ ]" names nothing: inih would file the keys under a blank name and the
             * stored text ("[]") would read back as keys before any section. */
            note_error(rd, "%s:%d: syntax error: an empty section name", origin, rd->line);
            return;
        }
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

/* Checks the bytes of one physical line (without its line ending) for what a config cannot
 * hold: NUL (C string handling would drop the rest of the line silently), bytes that are not
 * UTF-8, and control characters other than tab (they would reach the terminal in messages
 * that quote the value, and '\r' inside a line is not what the user saw). ST_OK, or ST_ERR
 * with the error noted (file:line, the column of the byte, 1-based). */
static int check_bytes(reader *rd, const char *p, size_t len) {
    const char *origin = rd->c->origin;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == 0) {
            note_error(rd, "%s:%d: a NUL byte at column %zu: a config is text", origin,
                       rd->line, i + 1);
            return ST_ERR;
        }
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            note_error(rd, "%s:%d: control character 0x%02x at column %zu: a config is plain "
                       "text", origin, rd->line, ch, i + 1);
            return ST_ERR;
        }
    }
    size_t bad = st_utf8_check(p, len);
    if (bad < len) {
        note_error(rd, "%s:%d: byte 0x%02x at column %zu is not UTF-8", origin, rd->line,
                   (unsigned char)p[bad], bad + 1);
        return ST_ERR;
    }
    uint32_t cp = 0;
    bad = st_utf8_hidden(p, len, &cp);
    if (bad < len) {
        note_error(rd, "%s:%d: invisible control character U+%04X at column %zu: a config is "
                   "plain text", origin, rd->line, (unsigned)cp, bad + 1);
        return ST_ERR;
    }
    return ST_OK;
}

/* The next physical line of the file into rd->buf, without reading more than LINE_READ_MAX
 * bytes of it: *len gets its length (line ending included when there is one). 1: a line,
 * 0: the end of the file, -1: a line too long (error noted). */
static int file_line(reader *rd, size_t *len) {
    size_t n = 0;
    int ch;
    while ((ch = getc(rd->f)) != EOF) {
        if (++rd->total > CONFIG_MAX_BYTES) { /* it grew after the size was checked */
            note_error(rd, "%s: larger than a config may be (%d KiB)", rd->c->origin,
                       CONFIG_MAX_BYTES >> 10);
            return -1;
        }
        if (n == LINE_READ_MAX) {
            rd->line++;
            note_error(rd, "%s:%d: line is longer than %d characters", rd->c->origin, rd->line,
                       LINE_MAX_CHARS);
            return -1;
        }
        rd->buf[n++] = (char)ch;
        if (ch == '\n') break;
    }
    *len = n;
    return n > 0;
}

/* fgets-style reader for inih: one physical line per call, leading blanks removed, always
 * ending in '\n' and fitting in num bytes. Returns NULL at the end of the input, and after the
 * first error of the reader itself (so a bad file is not read to its end: the error noted is
 * the one reported, and inih's own errors can only be on earlier lines). Returning exactly one
 * physical line per call is what keeps our line count equal to inih's, so the line numbers in
 * both kinds of error agree. */
static char *reader_next(char *str, int num, void *stream) {
    reader *rd = stream;
    const char *p;
    size_t len;
    if (rd->err_line) return NULL;
    if (rd->f) {
        int got = file_line(rd, &len);
        if (got <= 0) return NULL;
        p = rd->buf;
    } else {
        if (rd->s == rd->end) return NULL;
        const char *nl = memchr(rd->s, '\n', (size_t)(rd->end - rd->s));
        len = nl ? (size_t)(nl - rd->s) + 1 : (size_t)(rd->end - rd->s);
        p = rd->s;
        rd->s += len;
    }
    rd->line++;
    /* One line ending ("\n" or "\r\n") belongs to the line; any other '\r' is refused. */
    if (len && p[len - 1] == '\n') len--;
    if (len && p[len - 1] == '\r') len--;
    /* A UTF-8 byte order mark (Windows editors) is not part of the first line. */
    if (rd->line == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        len -= 3;
    }
    if (check_bytes(rd, p, len) != ST_OK) return NULL;
    while (len && is_blank(*p)) {
        p++;
        len--;
    }
    size_t room = (size_t)num - 2; /* '\n' and '\0' */
    if (room > LINE_MAX_CHARS) room = LINE_MAX_CHARS;
    if (len > room) {
        note_error(rd, "%s:%d: line is longer than %zu characters", rd->c->origin, rd->line, room);
        return NULL;
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
    if (rd->f && ferror(rd->f)) {
        st_error_set("%s: cannot read the config: %s", c->origin, strerror(errno));
        return ST_ERR;
    }
    return ST_OK;
}

/* Opens the config as a regular file of at most CONFIG_MAX_BYTES (core/file.c: a FIFO is
 * refused instead of waiting for a writer; /dev/zero and its kind, never ending a line or never
 * ending, are refused before a byte is read). c is zeroed first so that the caller's
 * st_config_free is valid whatever happens next. */
int st_config_load(st_config *c, const char *path) {
    memset(c, 0, sizeof *c);
    snprintf(c->origin, sizeof c->origin, "%s", path);
    int fd = st_file_open_regular(path, "config", CONFIG_MAX_BYTES);
    if (fd < 0) return ST_ERR;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        st_error_set("%s: cannot open the config: %s", path, strerror(errno));
        close(fd);
        return ST_ERR;
    }
    /* The reader's line buffer is large: on the heap, not the stack. */
    reader *rd = st_malloc(sizeof *rd);
    rd->c = c;
    rd->f = f;
    int rc = parse(c, rd);
    st_free(rd);
    fclose(f);
    return rc;
}

int st_config_load_string(st_config *c, const char *text, const char *origin) {
    memset(c, 0, sizeof *c);
    snprintf(c->origin, sizeof c->origin, "%s", origin ? origin : "<config>");
    size_t n = strnlen(text, (size_t)CONFIG_MAX_BYTES + 1);
    if (n > CONFIG_MAX_BYTES) {
        st_error_set("%s: the config text is larger than a config may be (%d KiB)", c->origin,
                     CONFIG_MAX_BYTES >> 10);
        return ST_ERR;
    }
    reader *rd = st_malloc(sizeof *rd);
    rd->c = c;
    rd->s = text;
    rd->end = text + n;
    int rc = parse(c, rd);
    st_free(rd);
    return rc;
}

/* ---- layer names and --set ---------------------------------------------------------------- */

/* The section an override names (st_config_find_section: the one rule, shared with the
 * model's check that a layer's `name` can be addressed). NULL if nothing matches. */
static st_section *find_target(st_config *c, const char *target) {
    int i = st_config_find_section(c, target);
    return i < 0 ? NULL : &c->sec[i];
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
    /* The key and the value must survive st_config_text and a reparse (checkpoints store that
     * text, and a resumed or evaluated run reads it back). A key is a name: anything else
     * (':' would split it, '[', ';', '#' would start a section or a comment) could come back
     * as another key. A value: no line break or control character, no inline comment (a
     * blank then ';'), UTF-8 text, and "key=value" must fit inih's line. */
    for (const char *p = key; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-') {
            st_error_set("--set %s: a key is made of letters, digits, '_', '.' and '-'",
                         assignment);
            return ST_ERR;
        }
    }
    for (const char *p = val; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f ||
            (*p == ';' && p > val && isspace((unsigned char)p[-1]))) {
            st_error_set("--set %s: the value may not contain a control character or ' ;'",
                         assignment);
            return ST_ERR;
        }
    }
    if (st_utf8_check(val, strlen(val)) != strlen(val)) {
        st_error_set("--set %s: the value is not UTF-8 text", assignment);
        return ST_ERR;
    }
    if (st_utf8_hidden(val, strlen(val), NULL) != strlen(val)) {
        char esc[256];
        st_error_set("--set %s: the value holds an invisible control character",
                     st_escape(esc, sizeof esc, assignment, 80));
        return ST_ERR;
    }
    if (strlen(key) + strlen(val) + 1 > LINE_MAX_CHARS) {
        st_error_set("--set %s: 'key=value' must fit in %d characters", assignment,
                     LINE_MAX_CHARS);
        return ST_ERR;
    }
    st_section *s = find_target(c, target);
    if (!s && st_config_is_meta(target)) s = section_add(c, target, strlen(target), 0);
    if (!s) {
        char have[1024] = "", name[ST_CONFIG_NAME_MAX];
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
 * comments. Parsing this text gives the same sections, keys and values, which is what lets a
 * checkpoint carry its config and a resumed run rebuild the same model from it:
 *  - every value read from a file, or accepted by st_config_set, has no surrounding blanks,
 *    no line break or control character and no inline comment (inih strips a blank then ';');
 *  - a value that starts with ';' or '#' is written "key=;x": with the blank of "key = ;x"
 *    before it, inih would take the ';' for an inline comment and read an empty value (a '#'
 *    is kept by this inih, but is written the same way so that no comment prefix ever
 *    follows a blank);
 *  - a line that would not fit inih's buffer with " = " (a legal 196-character "key=value")
 *    is written without the blanks; without them it is never longer than the line it came
 *    from (or than st_config_set allows). */
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
        for (int j = 0; j < c->sec[i].nkv; j++) {
            const char *k = c->sec[i].kv[j].key, *v = c->sec[i].kv[j].val;
            int tight = v[0] == ';' || v[0] == '#' || strlen(k) + strlen(v) + 3 > LINE_MAX_CHARS;
            p += sprintf(p, tight ? "%s=%s\n" : "%s = %s\n", k, v);
        }
    }
    *p = 0;
    return out;
}
